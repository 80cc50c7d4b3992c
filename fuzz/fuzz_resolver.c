/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the resolver's response parsing (resolver/msg.c):
 * arbitrary bytes are an authority's response to rmsg_parse().  When it is
 * accepted, checked: every record's owner and rdata lie inside the parsed
 * buffer, owners are valid lower-cased names, the names rr_target() returns
 * are whole inside their rdata, and the records survive rmsg_copy_rr(),
 * rmsg_encode() (a well-formed message that parses back to the same
 * records) and ranswer_build() to a fixed client query (a well-formed
 * answer, TC when it does not fit).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/dnscheck.h"
#include "fuzz/fuzz_common.h"
#include "lib/dname.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "resolver/msg.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Big: kept off the stack (one input at a time). */
static struct rmsg parsed, again, copy;
static uint8_t out[65535];

/* A client query for www.example.com. A with EDNS 1232, to answer. */
static const uint8_t client_query[] = {
	0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1,
	3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
	0, 1, 0, 1,
	0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0,
};
static struct dns_query cq;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (dns_query_parse(client_query, sizeof(client_query), &cq) != DNS_V_OK) {
		fprintf(stderr, "fuzz_resolver: the fixed client query does not parse\n");
		exit(1);
	}
	return 0;
}

/* A wire name of `n` bytes at most starting at `p`: its length, or 0. */
static size_t name_within(const uint8_t *p, size_t n)
{
	size_t o = 0;
	while (o < n) {
		uint8_t l = p[o];
		if (l == 0)
			return o + 1 <= DNAME_MAXLEN ? o + 1 : 0;
		if (l > 63)
			return 0;
		o += 1u + l;
	}
	return 0;
}

static void check_records(const struct rmsg *m)
{
	if (m->used > RMSG_BUFSIZE || m->nrr > RMSG_MAXRR)
		FUZZ_FAIL("used %zu / nrr %u out of bounds", m->used, m->nrr);
	for (unsigned i = 0; i < m->nrr; i++) {
		const struct rrec *r = &m->rr[i];
		if (r->sec > RSEC_AR)
			FUZZ_FAIL("record %u: section %u", i, r->sec);
		if ((size_t)r->rdata + r->rdlen > m->used || r->owner >= m->used)
			FUZZ_FAIL("record %u lies outside the buffer", i);
		size_t olen = name_within(rr_owner(m, r), m->used - r->owner);
		if (olen == 0)
			FUZZ_FAIL("record %u: owner is not a name", i);
		const uint8_t *o = rr_owner(m, r);
		for (size_t k = 0; k < olen; k += 1u + o[k])
			for (unsigned j = 1; j <= o[k]; j++)
				if (o[k + j] >= 'A' && o[k + j] <= 'Z')
					FUZZ_FAIL("record %u: owner not lower-cased", i);
		const uint8_t *t = rr_target(m, r);
		if (t && name_within(t, r->rdlen) == 0)
			FUZZ_FAIL("record %u: target name overruns its rdata", i);
		(void)rr_soa_minimum(m, r);
	}
}

static void same_records(const struct rmsg *a, const struct rmsg *b, const char *what)
{
	if (a->nrr != b->nrr)
		FUZZ_FAIL("%s: %u records became %u", what, a->nrr, b->nrr);
	for (unsigned i = 0; i < a->nrr; i++) {
		const struct rrec *x = &a->rr[i], *y = &b->rr[i];
		if (x->type != y->type || x->cls != y->cls || x->ttl != y->ttl ||
		    x->rdlen != y->rdlen || x->sec != y->sec ||
		    !dname_equal(rr_owner(a, x), rr_owner(b, y)) ||
		    memcmp(rr_rdata(a, x), rr_rdata(b, y), x->rdlen) != 0)
			FUZZ_FAIL("%s: record %u differs", what, i);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (rmsg_parse(data, size, &parsed) != 0)
		return 0;
	check_records(&parsed);

	rmsg_clear(&copy);
	for (unsigned i = 0; i < parsed.nrr; i++)
		if (rmsg_copy_rr(&copy, (enum rsec)parsed.rr[i].sec, &parsed, &parsed.rr[i]) != 0)
			FUZZ_FAIL("rmsg_copy_rr failed on record %u", i);
	same_records(&parsed, &copy, "copy");

	/* Re-encoded for the cache: well-formed, and parses back to the same
	 * records (names are already decompressed and lower-cased).  The OPT
	 * is not a record of rmsg, so it is not encoded. */
	static const uint8_t qname[] = { 3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
					 3, 'c', 'o', 'm', 0 };
	parsed.rcode &= 0xF;
	int n = rmsg_encode(&parsed, qname, DNS_A, out, sizeof(out));
	if (n > 0) {
		struct dnscheck chk;
		const char *why = dnscheck_message(out, (size_t)n, &chk);
		if (why)
			FUZZ_FAIL("rmsg_encode: %s", why);
		if (rmsg_parse(out, (size_t)n, &again) != 0)
			FUZZ_FAIL("rmsg_encode's output does not parse back");
		same_records(&parsed, &again, "encode");
	}

	/* The client answer, with the TTLs lowered by an age; within 512 and
	 * within the whole buffer. */
	size_t limits[2] = { 512, sizeof(out) };
	for (int k = 0; k < 2; k++) {
		n = ranswer_build(out, limits[k], &cq, client_query, parsed.rcode, &parsed,
				  size & 0xff, 0, 0);
		if (n < 0)
			continue;
		if ((size_t)n > limits[k])
			FUZZ_FAIL("ranswer_build wrote %d bytes past its limit %zu", n, limits[k]);
		struct dnscheck chk;
		const char *why = dnscheck_message(out, (size_t)n, &chk);
		if (why)
			FUZZ_FAIL("ranswer_build: %s", why);
		if (wire_get_u16(out) != cq.id)
			FUZZ_FAIL("ranswer_build: the id is not the query's");
	}
	return 0;
}
