/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the query path: arbitrary bytes go through
 * dns_query_parse() and auth_answer() (UDP and TCP) against a rich fixture
 * zone loaded once, and every response is checked by an independent parser
 * (fuzz/dnscheck.c) for the invariants below.  A broken invariant aborts,
 * which libFuzzer reports as a crash with the input saved.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/answer.h"
#include "fuzz/dnscheck.h"
#include "fuzz/fuzz_common.h"
#include "lib/pkt.h"
#include "lib/tsig.h"
#include "lib/wire.h"

static struct zone_db *db;
static struct auth_conf conf;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	db = fuzz_load_fixture();
	conf.max_udp = DNS_EDNS_DEFAULT;
	conf.nsid_len = 7;
	memcpy(conf.nsid, "fuzz-ns", 7);
	conf.identity = "fuzz-id";
	conf.version = "fuzz-version";
	return 0;
}

/* The largest UDP response allowed for this query (RFC 6891 6.2.5). */
static size_t udp_limit(const struct dns_query *q, size_t outcap)
{
	size_t lim = DNS_UDP_MIN;
	if (q->edns) {
		lim = q->edns_udp < conf.max_udp ? q->edns_udp : conf.max_udp;
		if (lim < DNS_UDP_MIN)
			lim = DNS_UDP_MIN;
	}
	return lim < outcap ? lim : outcap;
}

/* Invariants of one response to one query. */
static void check_answer(const uint8_t *query, size_t qlen, enum dns_verdict v,
			 const struct dns_query *q, bool tcp, const uint8_t *out,
			 size_t n, size_t outcap, const struct auth_result *res)
{
	if (n > outcap)
		FUZZ_FAIL("response length %zu > outcap %zu", n, outcap);
	if (v == DNS_V_DROP) {
		if (n != 0)
			FUZZ_FAIL("answered a packet that must be dropped (%zu bytes)", n);
		return;
	}
	if (n == 0)
		FUZZ_FAIL("dropped a query with verdict %d", v);

	struct dnscheck c;
	const char *err = dnscheck_message(out, n, &c);
	if (err)
		FUZZ_FAIL("malformed response: %s", err);
	if (c.id != q->id)
		FUZZ_FAIL("ID not echoed: %04x vs %04x", c.id, q->id);
	if (!(c.flags & DNS_QR))
		FUZZ_FAIL("QR not set");
	if (DNS_OPCODE(c.flags) != DNS_OPCODE(q->flags))
		FUZZ_FAIL("opcode not echoed");
	/* RD is copied in a QUERY (RFC 1035 4.1.1); other opcodes answer
	 * without it, as BIND does and ISC's opcodeflg test expects. */
	if ((c.flags & DNS_RD) !=
	    (DNS_OPCODE(q->flags) == DNS_OP_QUERY ? (q->flags & DNS_RD) : 0))
		FUZZ_FAIL("RD not copied (RFC 1035 4.1.1)");
	if (res->rcode != c.rcode)
		FUZZ_FAIL("auth_result rcode %u but message says %u", res->rcode, c.rcode);
	if (res->tc != !!(c.flags & DNS_TC))
		FUZZ_FAIL("auth_result tc disagrees with the TC bit");
	if (c.qd > 1)
		FUZZ_FAIL("more than one question in a response");

	if (!tcp && n > udp_limit(q, outcap))
		FUZZ_FAIL("UDP response %zu bytes over the limit %zu", n, udp_limit(q, outcap));
	if (tcp && (c.flags & DNS_TC))
		FUZZ_FAIL("TC set over TCP");
	/* The response has an OPT only when the query had one (RFC 6891 7). */
	if (c.opt && !q->edns)
		FUZZ_FAIL("OPT in a response to a query without EDNS");

	switch (v) {
	case DNS_V_FORMERR:
		if (c.rcode != DNS_FORMERR)
			FUZZ_FAIL("FORMERR verdict answered with rcode %u", c.rcode);
		break;
	case DNS_V_NOTIMP:
		if (c.rcode != DNS_NOTIMP)
			FUZZ_FAIL("NOTIMP verdict answered with rcode %u", c.rcode);
		break;
	case DNS_V_BADVERS:
		if (!c.opt || c.rcode != DNS_BADVERS)
			FUZZ_FAIL("BADVERS verdict answered with rcode %u opt %d", c.rcode, c.opt);
		break;
	case DNS_V_OK:
		if (q->edns && !c.opt)
			FUZZ_FAIL("EDNS query answered without OPT");
		if (c.opt && (c.opt_flags & 0x8000) != (q->edns_do ? 0x8000 : 0))
			FUZZ_FAIL("DO bit not echoed");
		if (c.qd != 1)
			FUZZ_FAIL("answer to a valid query has qdcount %u", c.qd);
		if (c.qtype != q->qtype || c.qclass != q->qclass)
			FUZZ_FAIL("question type/class not echoed");
		/* The question keeps the client's case (issue 2, 0x20 resolvers). */
		uint8_t orig[DNAME_MAXLEN];
		size_t off = DNS_HDRLEN;
		if (dname_unpack(query, qlen, &off, orig, false) < 0 ||
		    dname_len(orig) != dname_len(c.qname) ||
		    memcmp(orig, c.qname, dname_len(orig)) != 0)
			FUZZ_FAIL("question name not echoed byte for byte");
		break;
	case DNS_V_DROP:
		break;
	}
}

static void run_one(const uint8_t *data, size_t size, bool tcp, size_t outcap)
{
	struct dns_query q;
	enum dns_verdict v = dns_query_parse(data, size, &q);

	/* Exact-size heap buffers, so ASan sees any write past outcap. */
	uint8_t *out = malloc(outcap);
	uint8_t *again = malloc(outcap);
	if (!out || !again)
		abort();
	struct auth_result res, res2;
	memset(&res, 0, sizeof(res));
	size_t n = auth_answer(db, &conf, NULL, NULL, data, size, tcp, out, outcap, &res);
	check_answer(data, size, v, &q, tcp, out, n, outcap, &res);

	/* auth_answer is pure: the same input gives the same bytes. */
	memset(&res2, 0, sizeof(res2));
	size_t n2 = auth_answer(db, &conf, NULL, NULL, data, size, tcp, again, outcap, &res2);
	if (n2 != n || memcmp(out, again, n) != 0 || res.rcode != res2.rcode ||
	    res.tc != res2.tc)
		FUZZ_FAIL("auth_answer is not deterministic");
	free(out);
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The parser on its own, on an exact-size copy (no slack for overreads). */
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	struct dns_query q;
	enum dns_verdict v = dns_query_parse(copy, size, &q);
	if (v == DNS_V_OK && (q.qname_len == 0 || q.qname_len != dname_len(q.qname)))
		FUZZ_FAIL("qname_len inconsistent with qname");
	if (v == DNS_V_OK && q.question_end > size)
		FUZZ_FAIL("question_end past the packet");
	/* The TSIG finder reads the same untrusted bytes (serve/xfr.c). */
	struct tsig_rr t;
	int tr = tsig_find(copy, size, &t);
	if (tr == 0 && (t.off >= size || t.mac + t.mac_len > copy + size ||
			t.other + t.other_len > copy + size))
		FUZZ_FAIL("TSIG fields past the packet");

	/* UDP buffer sizes a server might use; TCP always has 64 KiB. */
	static const size_t udp_caps[] = { 512, 1232, 4096, 65535 };
	size_t cap = udp_caps[size ? copy[size - 1] % 4 : 0];
	run_one(copy, size, false, cap);
	run_one(copy, size, true, DNS_MAXMSG);
	free(copy);
	return 0;
}
