/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for zone loading: the input is zone file text for
 * example.com., handed to zone_load_text() (the path zone_load() ends in,
 * without a file per input).  A zone that loads
 * is checked for structural invariants, and (when the answer path is built
 * in) a few queries for its own names go through auth_answer() and the
 * response checker.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_common.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "zone/zone.h"
#ifdef FUZZ_HAVE_AUTH
#include "auth/answer.h"
#include "fuzz/dnscheck.h"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT 8192
#define MAX_GENERATE_SPAN 256
#define MAX_NODES_QUERIED 16

/*
 * Keep every run cheap and hermetic: no $INCLUDE (it would read arbitrary
 * files), and $GENERATE only over small ranges (libzscanner accepts ranges
 * of billions, which is a timeout, not a bug).
 */
static bool input_acceptable(const uint8_t *data, size_t size)
{
	if (size > MAX_INPUT)
		return false;
	char *text = malloc(size + 1);
	if (!text)
		abort();
	for (size_t i = 0; i < size; i++)
		text[i] = data[i] ? (char)tolower(data[i]) : ' ';
	text[size] = '\0';
	bool ok = strstr(text, "$include") == NULL;
	unsigned ngen = 0;
	for (const char *p = text; ok && (p = strstr(p, "$generate")); p += 9) {
		char *end;
		unsigned long lo = strtoul(p + 9, &end, 10);
		unsigned long hi = *end == '-' ? strtoul(end + 1, NULL, 10) : lo;
		if (++ngen > 4 || hi < lo || hi - lo > MAX_GENERATE_SPAN)
			ok = false;
	}
	free(text);
	return ok;
}

static void ignore_error(void *ctx, const char *file, unsigned long line,
			 const char *msg)
{
	unsigned *n = ctx;
	if (!file || !msg || !*msg)
		FUZZ_FAIL("error report without file or message");
	(*n)++;
}

/* Structural invariants of a compiled zone. */
static void check_zone(const struct zone *z)
{
	if (!z->apex_node || !z->soa || z->soa->count != 1)
		FUZZ_FAIL("zone without exactly one apex SOA");
	if (!dname_equal(z->apex, (const uint8_t *)"\x07" "example\x03" "com"))
		FUZZ_FAIL("apex is not the configured origin");
	unsigned nodes = 0, records = 0;
	for (uint32_t b = 0; b < z->nbuckets; b++) {
		for (const struct znode *n = z->buckets[b]; n; n = n->hnext) {
			nodes++;
			if (n->name_len != dname_len(n->name) ||
			    !dname_is_sub(n->name, z->apex))
				FUZZ_FAIL("node name bad or outside the zone");
			if (!dname_equal(n->name, n->name_orig))
				FUZZ_FAIL("node original-case name differs");
			if (zone_find(z, n->name, n->name_len) != n)
				FUZZ_FAIL("node not found by its own name");
			for (unsigned i = 0; i < n->rrset_count; i++) {
				const struct rrset *rs = &n->rrsets[i];
				if (i > 0 && rs->type <= n->rrsets[i - 1].type)
					FUZZ_FAIL("rrsets not sorted by type");
				size_t off = 0;
				for (unsigned k = 0; k < rs->count; k++) {
					if (off + 2 > rs->rdata_len)
						FUZZ_FAIL("rdata shorter than its count");
					off += 2 + wire_get_u16(rs->rdata + off);
				}
				if (off != rs->rdata_len || rs->count == 0)
					FUZZ_FAIL("rdata lengths do not add up");
				records += rs->count;
			}
		}
	}
	if (nodes != z->nnodes)
		FUZZ_FAIL("nnodes %u but %u nodes in the table", z->nnodes, nodes);
	if (records != z->nrecords)
		FUZZ_FAIL("nrecords %u but %u records in rrsets", z->nrecords, records);
}

#ifdef FUZZ_HAVE_AUTH
static void query_node(const struct zone_db *db, const struct znode *n,
		       uint16_t qtype, bool edns)
{
	static const struct auth_conf conf = { .max_udp = DNS_EDNS_DEFAULT };
	uint8_t q[DNS_HDRLEN + DNAME_MAXLEN + 4 + 11];
	struct wire w = wire_init(q, sizeof(q));
	wire_write_u16(&w, 0x1234);
	wire_write_u16(&w, DNS_RD);
	wire_write_u16(&w, 1);
	wire_write_u32(&w, 0);
	wire_write_u16(&w, edns ? 1 : 0);
	wire_write(&w, n->name_orig, n->name_len);
	wire_write_u16(&w, qtype);
	wire_write_u16(&w, DNS_IN);
	if (edns) {
		wire_write(&w, "\x00\x00\x29\x04\xD0\x00\x00\x80\x00\x00\x00", 11);
	}
	if (w.err)
		FUZZ_FAIL("query builder overflow");

	uint8_t *out = malloc(DNS_MAXMSG);
	if (!out)
		abort();
	for (int tcp = 0; tcp < 2; tcp++) {
		size_t cap = tcp ? DNS_MAXMSG : 512 + (size_t)edns * 720;
		struct auth_result res;
		size_t len = auth_answer(db, &conf, NULL, NULL, q, wire_offset(&w), tcp, out, cap, &res);
		if (len == 0 || len > cap)
			FUZZ_FAIL("answer length %zu (cap %zu)", len, cap);
		struct dnscheck c;
		const char *e = dnscheck_message(out, len, &c);
		if (e)
			FUZZ_FAIL("malformed response: %s", e);
		if (c.id != 0x1234 || !(c.flags & DNS_QR) || c.qd != 1 ||
		    c.qtype != qtype || c.rcode != res.rcode)
			FUZZ_FAIL("response header does not match the query");
		if (tcp && (c.flags & DNS_TC))
			FUZZ_FAIL("TC over TCP");
		if (edns != c.opt)
			FUZZ_FAIL("OPT presence does not follow the query");
	}
	free(out);
}

static void query_zone(struct zone *z)
{
	struct zone_db *db = NULL;
	if (zone_db_new(&z, 1, &db) != 0)
		abort();
	unsigned done = 0;
	for (uint32_t b = 0; b < z->nbuckets && done < MAX_NODES_QUERIED; b++) {
		for (const struct znode *n = z->buckets[b];
		     n && done < MAX_NODES_QUERIED; n = n->hnext, done++) {
			query_node(db, n, DNS_A, done & 1);
			query_node(db, n, DNS_ANY, !(done & 1));
			if (n->rrset_count)
				query_node(db, n, n->rrsets[0].type, true);
		}
	}
	zone_db_free(db);
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!input_acceptable(data, size))
		return -1; /* not added to the corpus */

	/* One scanner for the whole run (zone_scanner_new: its 200 KiB were
	 * most of an execution when allocated per input). */
	static struct zone_scanner *sc;
	if (!sc && !(sc = zone_scanner_new()))
		abort();
	struct zone *z = NULL;
	unsigned nerr = 0;
	int r = zone_load_text_with(sc, FUZZ_ORIGIN, "fuzz.zone", (const char *)data, size,
				    ignore_error, &nerr, &z);
	if (r == 0) {
		if (!z || nerr)
			FUZZ_FAIL("zone_load succeeded with %u errors reported", nerr);
		check_zone(z);
#ifdef FUZZ_HAVE_AUTH
		query_zone(z);
#endif
		zone_unref(z);
	} else {
		if (z)
			FUZZ_FAIL("zone_load failed but returned a zone");
		if (nerr == 0 && r != VANE_ENOMEM)
			FUZZ_FAIL("zone_load failed (%s) without reporting why",
				  vane_strerror(r));
	}
	return 0;
}
