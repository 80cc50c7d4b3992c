/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for what src/auth tells the rate limiter and the client about
 * abuse: the kind of each answer (auth_result), DNS cookies in answers
 * (RFC 7873 5.2 with RFC 9018 server cookies), BADCOOKIE for require-cookie,
 * FORMERR for malformed cookies, and RRL's slip answer cut from a real one.
 * (test_answer.c covers the answers themselves.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "auth/answer.h"
#include "lib/wire.h"
#include "serve/rrl.h"
#include "zone/zonedb.h"

static const char zone_text[] =
	"$ORIGIN example.com.\n"
	"$TTL 3600\n"
	"@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
	"@ NS ns1\n"
	"ns1 A 192.0.2.53\n"
	"www A 192.0.2.80\n"
	"*.wild A 192.0.2.99\n"
	"sub NS ns.sub\n"
	"ns.sub A 192.0.2.100\n";

static struct zone_db *db;
static struct zone *zone;
static char tmpdir[64];
static struct cookie_mac *mac;

static int group_setup(void **state)
{
	char path[128];
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vane-test-answer-rrl-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(path, sizeof(path), "%s/example.com.zone", tmpdir);
	FILE *fp = fopen(path, "w");
	if (!fp)
		return -1;
	fputs(zone_text, fp);
	fclose(fp);
	if (zone_load("example.com", path, NULL, NULL, &zone) != 0 ||
	    zone_db_new(&zone, 1, &db) != 0)
		return -1;
	mac = cookie_mac_new();
	return mac ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[128];
	cookie_mac_free(mac);
	zone_db_free(db);
	zone_unref(zone);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A query for `name`/`type`; `cookie` (`clen` bytes, NULL = none) goes in
 * an OPT when `edns`. */
static size_t query(uint8_t *buf, const char *name, uint16_t type, bool edns,
		    const uint8_t *cookie, size_t clen)
{
	uint8_t wname[DNAME_MAXLEN];
	assert_true(dname_from_str(name, NULL, wname) > 0);
	struct wire w = wire_init(buf, 512);
	wire_write_u16(&w, 0x4242);
	wire_write_u16(&w, DNS_RD);
	wire_write_u16(&w, 1);
	wire_write_u16(&w, 0);
	wire_write_u16(&w, 0);
	wire_write_u16(&w, edns ? 1 : 0);
	wire_write(&w, wname, dname_len(wname));
	wire_write_u16(&w, type);
	wire_write_u16(&w, DNS_IN);
	if (edns) {
		wire_write_u8(&w, 0);
		wire_write_u16(&w, DNS_OPT);
		wire_write_u16(&w, 1232);
		wire_write_u32(&w, 0);
		wire_write_u16(&w, cookie ? (uint16_t)(4 + clen) : 0);
		if (cookie) {
			wire_write_u16(&w, EDNS_COOKIE);
			wire_write_u16(&w, (uint16_t)clen);
			wire_write(&w, cookie, clen);
		}
	}
	assert_int_equal(w.err, 0);
	return wire_offset(&w);
}

struct answer {
	uint8_t buf[1232];
	size_t len;
	struct auth_result res;
	const uint8_t *cookie;    /* the COOKIE option's payload in the OPT */
	uint16_t cookie_len;
	unsigned rcode;           /* full, with the OPT's extended bits */
};

static const uint64_t NOW_MS = 1700000000123ull;

static void answer(struct answer *a, const struct auth_conf *conf, const uint8_t *q,
		   size_t qlen, bool tcp)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	assert_int_equal(inet_pton(AF_INET, "192.0.2.1", &src.sin_addr), 1);
	struct auth_client cl = { .src = (struct sockaddr *)&src, .now_ms = NOW_MS,
				  .cookie_mac = mac };
	a->len = auth_answer(db, conf, NULL, &cl, q, qlen, tcp, a->buf, sizeof(a->buf), &a->res);
	assert_true(a->len >= DNS_HDRLEN);
	a->cookie = NULL;
	a->cookie_len = 0;
	a->rcode = a->buf[3] & 0x0F;
	assert_int_equal(a->res.qend >= DNS_HDRLEN, true);
	if (a->res.opt_off) {
		/* The OPT is the last RR; its options follow the fixed part. */
		const uint8_t *o = a->buf + a->res.opt_off;
		assert_int_equal(wire_get_u16(o + 1), DNS_OPT);
		a->rcode |= (unsigned)o[5] << 4;
		size_t rdlen = wire_get_u16(o + 9);
		assert_int_equal(a->res.opt_off + 11 + rdlen, a->len);
		for (size_t i = 0; i + 4 <= rdlen;) {
			uint16_t code = wire_get_u16(o + 11 + i), l = wire_get_u16(o + 13 + i);
			if (code == EDNS_COOKIE) {
				a->cookie = o + 15 + i;
				a->cookie_len = l;
			}
			i += 4u + l;
		}
	}
	assert_int_equal(a->res.rcode, a->rcode);
}

static struct auth_conf cookie_conf(void)
{
	struct auth_conf c = { .max_udp = 1232, .cookies = true, .cookie_rotate_s = 86400 };
	memcpy(c.cookie_secret, "0123456789abcdef", 16);
	return c;
}

static void kinds(void **state)
{
	static const struct {
		const char *name;
		uint16_t type;
		uint8_t kind;
		bool wildcard;
		enum rrl_class cls;
	} cases[] = {
		{ "www.example.com.", DNS_A, AUTH_ANSWER, false, RRL_POSITIVE },
		{ "www.example.com.", DNS_TXT, AUTH_NODATA, false, RRL_NODATA },
		{ "nothere.example.com.", DNS_A, AUTH_NXDOMAIN, false, RRL_NXDOMAIN },
		{ "x.sub.example.com.", DNS_A, AUTH_REFERRAL, false, RRL_REFERRAL },
		{ "a.wild.example.com.", DNS_A, AUTH_ANSWER, true, RRL_WILDCARD },
		{ "a.wild.example.com.", DNS_MX, AUTH_NODATA, true, RRL_WILDCARD },
		{ "www.example.net.", DNS_A, AUTH_ERROR, false, RRL_ERROR },
	};
	struct auth_conf conf = { .max_udp = 1232 };
	uint8_t q[512];
	struct answer *a = calloc(1, sizeof(*a));
	assert_non_null(a);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = query(q, cases[i].name, cases[i].type, i % 2 == 0, NULL, 0);
		answer(a, &conf, q, n, false);
		assert_int_equal(a->res.kind, cases[i].kind);
		assert_int_equal(a->res.wildcard, cases[i].wildcard);
		assert_int_equal(rrl_classify(&a->res), cases[i].cls);
		assert_int_equal(a->res.cookie, COOKIE_NONE);
		assert_int_equal(a->res.qend, DNS_HDRLEN + dname_len(q + DNS_HDRLEN) + 4);
		assert_int_equal(a->res.opt_off != 0, i % 2 == 0);
	}
	free(a);
}

static void cookies(void **state)
{
	static const uint8_t cc[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct auth_conf conf = cookie_conf();
	uint8_t q[512], full[24];
	struct answer *a = calloc(1, sizeof(*a));
	assert_non_null(a);

	/* Client cookie only: a normal answer with a fresh server cookie,
	 * version 1, stamped now (RFC 7873 5.2.3, RFC 9018 4.2). */
	size_t n = query(q, "www.example.com.", DNS_A, true, cc, 8);
	answer(a, &conf, q, n, false);
	assert_int_equal(a->rcode, DNS_NOERROR);
	assert_int_equal(wire_get_u16(a->buf + 6), 1);
	assert_int_equal(a->res.cookie, COOKIE_CLIENT_ONLY);
	assert_int_equal(a->cookie_len, 24);
	assert_memory_equal(a->cookie, cc, 8);
	assert_int_equal(a->cookie[8], 1);
	assert_int_equal(wire_get_u32(a->cookie + 12), (uint32_t)(NOW_MS / 1000));
	memcpy(full, a->cookie, 24);

	/* Sent back: valid, echoed unchanged (less than 30 minutes old). */
	n = query(q, "www.example.com.", DNS_A, true, full, 24);
	answer(a, &conf, q, n, false);
	assert_int_equal(a->res.cookie, COOKIE_VALID);
	assert_memory_equal(a->cookie, full, 24);

	/* A server cookie that is not ours: answered, with a fresh one. */
	full[20] ^= 1;
	n = query(q, "www.example.com.", DNS_A, true, full, 24);
	answer(a, &conf, q, n, false);
	assert_int_equal(a->rcode, DNS_NOERROR);
	assert_int_equal(a->res.cookie, COOKIE_BAD);
	assert_int_equal(a->cookie_len, 24);
	assert_memory_not_equal(a->cookie, full, 24);

	/* Malformed length: FORMERR without OPT (RFC 7873 5.2.2). */
	n = query(q, "www.example.com.", DNS_A, true, full, 9);
	answer(a, &conf, q, n, false);
	assert_int_equal(a->rcode, DNS_FORMERR);
	assert_int_equal(a->res.opt_off, 0);
	assert_int_equal(a->res.kind, AUTH_ERROR);

	/* Cookies off: the option is ignored (RFC 7873 5.2.1 for servers
	 * without cookie support). */
	conf.cookies = false;
	n = query(q, "www.example.com.", DNS_A, true, cc, 8);
	answer(a, &conf, q, n, false);
	assert_int_equal(a->rcode, DNS_NOERROR);
	assert_null(a->cookie);
	assert_int_equal(a->res.cookie, COOKIE_NONE);
	free(a);
}

static void require_cookie(void **state)
{
	static const uint8_t cc[8] = { 8, 7, 6, 5, 4, 3, 2, 1 };
	struct auth_conf conf = cookie_conf();
	conf.require_cookie = true;
	uint8_t q[512], full[24];
	struct answer *a = calloc(1, sizeof(*a));
	assert_non_null(a);

	/* UDP, client cookie only: BADCOOKIE (23) with a fresh cookie, no
	 * records (RFC 7873 5.2.3). */
	size_t n = query(q, "www.example.com.", DNS_A, true, cc, 8);
	answer(a, &conf, q, n, false);
	assert_int_equal(a->rcode, DNS_BADCOOKIE);
	assert_int_equal(a->buf[3] & 0x0F, DNS_BADCOOKIE & 0x0F);
	assert_int_equal(wire_get_u16(a->buf + 6) + wire_get_u16(a->buf + 8), 0);
	assert_int_equal(a->cookie_len, 24);
	assert_int_equal(a->res.kind, AUTH_ERROR);
	memcpy(full, a->cookie, 24);

	/* The same over TCP: the address is proven, a full answer. */
	answer(a, &conf, q, n, true);
	assert_int_equal(a->rcode, DNS_NOERROR);
	assert_int_equal(wire_get_u16(a->buf + 6), 1);

	/* With the cookie it was given: a full answer over UDP. */
	n = query(q, "www.example.com.", DNS_A, true, full, 24);
	answer(a, &conf, q, n, false);
	assert_int_equal(a->rcode, DNS_NOERROR);
	assert_int_equal(a->res.cookie, COOKIE_VALID);
	assert_int_equal(wire_get_u16(a->buf + 6), 1);

	/* No COOKIE option at all: answered as if cookies did not exist. */
	n = query(q, "www.example.com.", DNS_A, true, NULL, 0);
	answer(a, &conf, q, n, false);
	assert_int_equal(a->rcode, DNS_NOERROR);
	n = query(q, "www.example.com.", DNS_A, false, NULL, 0);
	answer(a, &conf, q, n, false);
	assert_int_equal(a->rcode, DNS_NOERROR);
	free(a);
}

/* RRL's slip answer cut from a real answer keeps the question and the OPT
 * with the server cookie, so the client can come back with it. */
static void slip_keeps_cookie(void **state)
{
	static const uint8_t cc[8] = { 9, 9, 9, 9, 9, 9, 9, 9 };
	struct auth_conf conf = cookie_conf();
	uint8_t q[512], cookie[24];
	struct answer *a = calloc(1, sizeof(*a));
	assert_non_null(a);
	size_t n = query(q, "ns.sub.example.com.", DNS_A, true, cc, 8);
	answer(a, &conf, q, n, false);
	assert_int_equal(a->res.kind, AUTH_REFERRAL);
	assert_true(wire_get_u16(a->buf + 10) > 1); /* glue and OPT */
	memcpy(cookie, a->cookie, 24);

	size_t m = rrl_slip(a->buf, a->len, &a->res);
	assert_int_equal(m, n + 16);  /* the query sent 8 cookie bytes, we send 24 */
	assert_true(a->buf[2] & (DNS_TC >> 8));
	assert_int_equal(wire_get_u16(a->buf + 4), 1);
	assert_int_equal(wire_get_u16(a->buf + 6), 0);
	assert_int_equal(wire_get_u16(a->buf + 8), 0);
	assert_int_equal(wire_get_u16(a->buf + 10), 1);
	assert_memory_equal(a->buf + m - 24, cookie, 24);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kinds),
		cmocka_unit_test(cookies),
		cmocka_unit_test(require_cookie),
		cmocka_unit_test(slip_keeps_cookie),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
