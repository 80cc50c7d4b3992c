/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for EDNS with DNS cookies: arbitrary bytes go through
 * dns_query_parse() and auth_answer() with cookies on (and, by the last
 * input byte, require-cookie, TCP, an IPv4 or IPv6 client), then through
 * RRL's slip cut.  Checked: the COOKIE option's lengths (RFC 7873 5.2.2),
 * the server cookie in the answer (client cookie echoed, version 1, and
 * valid when sent back), BADCOOKIE only for UDP under require-cookie, and
 * that every response and every slip answer is a well-formed message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "auth/answer.h"
#include "fuzz/dnscheck.h"
#include "fuzz/fuzz_common.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "serve/rrl.h"

static struct zone_db *db;
static struct cookie_mac *mac;
static const uint64_t now_ms = 1700000000000ull;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	db = fuzz_load_fixture();
	mac = cookie_mac_new();
	if (!mac) {
		fprintf(stderr, "fuzz_edns: no SipHash in OpenSSL\n");
		exit(1);
	}
	return 0;
}

/* The COOKIE option of the response's OPT, or NULL. */
static const uint8_t *response_cookie(const uint8_t *out, size_t n,
				      const struct auth_result *res, uint16_t *len)
{
	if (!res->opt_off)
		return NULL;
	if (res->opt_off + 11u > n || wire_get_u16(out + res->opt_off + 1) != DNS_OPT)
		FUZZ_FAIL("opt_off %u does not point at the OPT", res->opt_off);
	size_t rdlen = wire_get_u16(out + res->opt_off + 9);
	if (res->opt_off + 11u + rdlen != n)
		FUZZ_FAIL("the OPT is not the last record");
	const uint8_t *p = out + res->opt_off + 11, *end = p + rdlen;
	while (end - p >= 4) {
		uint16_t code = wire_get_u16(p), l = wire_get_u16(p + 2);
		if (l > end - p - 4)
			FUZZ_FAIL("OPT option overruns the record");
		if (code == EDNS_COOKIE) {
			*len = l;
			return p + 4;
		}
		p += 4u + l;
	}
	return NULL;
}

static void run(const uint8_t *data, size_t size, uint8_t mode)
{
	bool tcp = mode & 1, v6 = mode & 2;
	struct auth_conf conf = {
		.max_udp = DNS_EDNS_DEFAULT, .cookies = true, .require_cookie = (mode & 4) != 0,
		.cookie_rotate_s = (mode & 8) ? 0 : 3600,
	};
	memcpy(conf.cookie_secret, "fuzz-secret-0123", 16);
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, "2001:db8::1", &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		inet_pton(AF_INET, "192.0.2.1", &s4->sin_addr);
	}
	struct auth_client cl = { .src = (struct sockaddr *)&ss, .now_ms = now_ms,
				  .cookie_mac = mac };

	struct dns_query q;
	enum dns_verdict v = dns_query_parse(data, size, &q);
	if (v == DNS_V_OK && q.cookie.present && q.cookie.server_len != 0 &&
	    (q.cookie.server_len < COOKIE_SERVER_MIN || q.cookie.server_len > COOKIE_SERVER_MAX))
		FUZZ_FAIL("server cookie of %u bytes accepted", q.cookie.server_len);

	size_t outcap = tcp ? DNS_MAXMSG : DNS_EDNS_DEFAULT;
	uint8_t *out = malloc(outcap);
	if (!out)
		abort();
	struct auth_result res;
	memset(&res, 0, sizeof(res));
	size_t n = auth_answer(db, &conf, NULL, &cl, data, size, tcp, out, outcap, &res);
	if (n == 0) {
		free(out);
		return;
	}
	struct dnscheck c;
	const char *err = dnscheck_message(out, n, &c);
	if (err)
		FUZZ_FAIL("malformed response: %s", err);
	if (c.rcode != res.rcode)
		FUZZ_FAIL("auth_result rcode %u, message %u", res.rcode, c.rcode);
	if (c.rcode == DNS_BADCOOKIE && (tcp || !conf.require_cookie))
		FUZZ_FAIL("BADCOOKIE without require-cookie over UDP");
	if (c.rcode == DNS_BADCOOKIE && (c.an || c.ns))
		FUZZ_FAIL("BADCOOKIE with records");
	if (res.cookie == COOKIE_VALID && q.cookie.server_len != COOKIE_SERVER_LEN)
		FUZZ_FAIL("a %u-byte server cookie counted as valid", q.cookie.server_len);

	uint16_t clen = 0;
	const uint8_t *ck = response_cookie(out, n, &res, &clen);
	bool want = v != DNS_V_FORMERR && v != DNS_V_NOTIMP && q.edns && q.cookie.present;
	if (want != (ck != NULL))
		FUZZ_FAIL("server cookie %s", ck ? "sent unasked" : "missing");
	if (ck) {
		if (clen != COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN || ck[8] != COOKIE_VERSION ||
		    memcmp(ck, q.cookie.client, COOKIE_CLIENT_LEN) != 0)
			FUZZ_FAIL("bad server cookie in the answer");
		/* What we hand out, we accept back. */
		struct dns_cookie back = { .present = true, .server_len = COOKIE_SERVER_LEN };
		struct cookie_addr ca;
		memcpy(back.client, ck, COOKIE_CLIENT_LEN);
		memcpy(back.server, ck + COOKIE_CLIENT_LEN, COOKIE_SERVER_LEN);
		if (cookie_addr_from_sa(&ss, &ca) < 0 ||
		    cookie_check(mac, conf.cookie_secret, conf.cookie_rotate_s, &back, &ca,
				 now_ms / 1000) != COOKIE_VALID)
			FUZZ_FAIL("our own server cookie does not validate");
	}

	/* RRL's slip answer: well formed, no larger, TC set, OPT kept. */
	size_t m = rrl_slip(out, n, &res);
	if (m > n)
		FUZZ_FAIL("slip answer grew from %zu to %zu", n, m);
	struct dnscheck s;
	err = dnscheck_message(out, m, &s);
	if (err)
		FUZZ_FAIL("malformed slip answer: %s", err);
	if (!(s.flags & DNS_TC) || s.an || s.ns || s.ar > 1 || s.opt != c.opt)
		FUZZ_FAIL("slip answer is not TC with at most the OPT");
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	/* The last byte picks the mode; the whole input is still the query,
	 * so corpus seeds need no extra byte. */
	uint8_t mode = size ? copy[size - 1] : 0;
	run(copy, size, mode);
	run(copy, size, (uint8_t)(mode ^ 5));  /* the other transport and policy */
	free(copy);
	return 0;
}
