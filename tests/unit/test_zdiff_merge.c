/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Properties of the reload's fast paths (zone/recsort.c, the merge in
 * zone/journal.c), on random zones:
 * - the record sort gives the same zone whatever order the file is in:
 *   z->order holds every node with RRsets, in owner order;
 * - a difference applied to the old version's RRs gives exactly the new
 *   version's: every deleted RR was there, every added one was not, with
 *   changed TTLs, owner case, duplicates, and export extras on either side.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/pkt.h"
#include "lib/wire.h"
#include "zone/journal.h"

static uint32_t rng = 12345;

static uint32_t rnd(uint32_t n)
{
	rng = rng * 1103515245u + 12345u;
	return (rng >> 8) % n;
}

static struct zone *load_lines(char **lines, unsigned n, uint32_t serial)
{
	char path[] = "/tmp/vane-test-zdiff-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fprintf(f, "$ORIGIN example.com.\n$TTL 300\n@ IN SOA ns hm %u 1 1 1 1\n@ NS ns\n"
		"ns A 192.0.2.53\n", serial);
	for (unsigned i = 0; i < n; i++)
		fputs(lines[i], f);
	fclose(f);
	struct zone *z = NULL;
	assert_int_equal(zone_load("example.com", path, NULL, NULL, &z), 0);
	unlink(path);
	return z;
}

/* Random record lines over a small name space, so that versions share
 * most names and RRsets.  Never CNAME (it must stand alone). */
static unsigned random_lines(char **lines, unsigned max)
{
	static const char *const owners[] = { "a", "B", "b", "host1", "host10", "host2", "x.y",
					      "X.y", "deep.x.y", "mail", "www", "WWW", "z" };
	unsigned n = 1 + rnd(max);
	for (unsigned i = 0; i < n; i++) {
		const char *o = owners[rnd(sizeof(owners) / sizeof(owners[0]))];
		unsigned ttl = rnd(4) ? 300 : 60;
		lines[i] = malloc(96);
		switch (rnd(3)) {
		case 0:
			snprintf(lines[i], 96, "%s %u A 192.0.2.%u\n", o, ttl, rnd(4));
			break;
		case 1:
			snprintf(lines[i], 96, "%s %u TXT \"%.*s\"\n", o, ttl, (int)rnd(4),
				 "abcd");
			break;
		default:
			snprintf(lines[i], 96, "%s %u MX %u mx%u\n", o, ttl, rnd(2), rnd(2));
			break;
		}
	}
	return n;
}

/* The RRs of a version as comparable strings: lower-cased owner, type,
 * TTL and RDATA, hex.  Sorted. */
struct rrbag {
	char **v;
	size_t n, cap;
};

static void bag_put(struct rrbag *b, const uint8_t *owner, size_t olen, uint16_t type,
		    uint32_t ttl, const uint8_t *rd)
{
	char s[1024];
	size_t k = 0;
	for (size_t i = 0; i < olen; i++)
		k += (size_t)snprintf(s + k, sizeof(s) - k, "%02x",
				      owner[i] >= 'A' && owner[i] <= 'Z' ? owner[i] + 32 : owner[i]);
	k += (size_t)snprintf(s + k, sizeof(s) - k, " %u %u ", type, ttl);
	for (size_t i = 0; i < 2u + wire_get_u16(rd); i++)
		k += (size_t)snprintf(s + k, sizeof(s) - k, "%02x", rd[i]);
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->v = realloc(b->v, b->cap * sizeof(*b->v));
	}
	b->v[b->n++] = strdup(s);
}

static int bag_cb(void *ctx, const uint8_t *owner, const uint8_t *lower, const struct rrset *rs)
{
	const uint8_t *p = rs->rdata;
	for (unsigned i = 0; i < rs->count; i++) {
		bag_put(ctx, lower, dname_len(lower), rs->type, rs->ttl, p);
		p += 2 + wire_get_u16(p);
	}
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void bag_of(const struct zversion *v, struct rrbag *b)
{
	memset(b, 0, sizeof(*b));
	assert_int_equal(zone_walk_xfr(v->z, v->extra, v->nextra, bag_cb, b), 0);
	qsort(b->v, b->n, sizeof(*b->v), str_cmp);
}

static void bag_free(struct rrbag *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i]);
	free(b->v);
}

/* Apply `r` to `b`: each RR removed (must be there) or added (must not). */
static void bag_apply(struct rrbag *b, const struct zrrs *r, bool add)
{
	size_t off = 0;
	while (off < r->len) {
		const uint8_t *p = r->data + off;
		size_t ol = dname_len(p);
		struct rrbag one = { 0 };
		bag_put(&one, p, ol, wire_get_u16(p + ol), wire_get_u32(p + ol + 4), p + ol + 8);
		char **hit = b->n ? bsearch(&one.v[0], b->v, b->n, sizeof(*b->v), str_cmp) : NULL;
		if (add) {
			assert_null(hit);
			b->v = realloc(b->v, (b->n + 1) * sizeof(*b->v));
			b->v[b->n++] = one.v[0];
			qsort(b->v, b->n, sizeof(*b->v), str_cmp);
		} else {
			assert_non_null(hit);
			free(*hit);
			memmove(hit, hit + 1, (size_t)(b->v + b->n - hit - 1) * sizeof(*b->v));
			b->n--;
			free(one.v[0]);
		}
		free(one.v);
		off += ol + 10 + wire_get_u16(p + ol + 8);
	}
}

static void check_order(const struct zone *z)
{
	unsigned with_rrsets = 0;
	for (uint32_t i = 0; i < z->nbuckets; i++)
		for (const struct znode *n = z->buckets[i]; n; n = n->hnext)
			with_rrsets += n->rrset_count > 0;
	assert_int_equal(z->norder, with_rrsets);
	for (uint32_t i = 1; i < z->norder; i++) {
		const struct znode *a = z->order[i - 1], *b = z->order[i];
		size_t l = a->name_len < b->name_len ? a->name_len : b->name_len;
		int c = memcmp(a->name, b->name, l);
		assert_true(c < 0 || (c == 0 && a->name_len < b->name_len));
	}
}

/* The same records in reverse order build the same zone (same RRsets in
 * the same order at every node). */
static void test_sort_any_order(void **state)
{
	for (unsigned round = 0; round < 50; round++) {
		char *lines[64], *rev[64];
		unsigned n = random_lines(lines, 64);
		for (unsigned i = 0; i < n; i++)
			rev[i] = lines[n - 1 - i];
		struct zone *a = load_lines(lines, n, 1), *b = load_lines(rev, n, 1);
		check_order(a);
		check_order(b);
		assert_int_equal(a->norder, b->norder);
		for (uint32_t i = 0; i < a->norder; i++) {
			const struct znode *x = a->order[i], *y = b->order[i];
			assert_int_equal(x->name_len, y->name_len);
			assert_memory_equal(x->name, y->name, x->name_len);
			assert_int_equal(x->rrset_count, y->rrset_count);
			for (unsigned t = 0; t < x->rrset_count; t++) {
				assert_int_equal(x->rrsets[t].type, y->rrsets[t].type);
				assert_int_equal(x->rrsets[t].rdata_len, y->rrsets[t].rdata_len);
				assert_memory_equal(x->rrsets[t].rdata, y->rrsets[t].rdata,
						    x->rrsets[t].rdata_len);
			}
		}
		zone_unref(a);
		zone_unref(b);
		for (unsigned i = 0; i < n; i++)
			free(lines[i]);
	}
}

static void random_extra(struct xfr_extra *x, uint8_t *rd)
{
	static const char *const owners[] = { "\x01" "a", "\x03" "www", "\x01" "q", "\x01" "b" };
	const char *o = owners[rnd(4)];
	memset(x, 0, sizeof(*x));
	x->owner_len = (uint8_t)(o[0] + 1 + 13);
	memcpy(x->owner, o, (size_t)o[0] + 1);
	memcpy(x->owner + o[0] + 1, "\x07" "example\x03" "com", 13);
	unsigned n = 1 + rnd(2);
	for (unsigned i = 0; i < n; i++) {
		uint8_t r[] = { 0, 4, 198, 51, 100, (uint8_t)(i * 2 + rnd(2)) };
		memcpy(rd + 6 * i, r, 6);
	}
	x->rs = (struct rrset){ .type = rnd(2) ? DNS_A : DNS_TXT, .count = (uint16_t)n,
				.ttl = 30, .rdata_len = 6 * n, .rdata = rd };
	if (x->rs.type == DNS_TXT)   /* a 4-byte TXT: length 3, "abc" */
		for (unsigned i = 0; i < n; i++)
			memcpy(rd + 6 * i + 2, i ? "\x03" "abd" : "\x03" "abc", 4);
}

static void test_diff_applies(void **state)
{
	for (unsigned round = 0; round < 300; round++) {
		char *la[48], *lb[48];
		unsigned na = random_lines(la, 48), nb;
		/* Half the time the new version is the old one with a few
		 * lines changed, as a reload usually is. */
		if (rnd(2)) {
			nb = na;
			for (unsigned i = 0; i < na; i++)
				lb[i] = strdup(la[i]);
			for (unsigned k = rnd(3); k-- > 0;) {
				unsigned i = rnd(nb);
				free(lb[i]);
				char *one[1];
				random_lines(one, 1);
				lb[i] = one[0];
			}
		} else {
			nb = random_lines(lb, 48);
		}
		struct zone *a = load_lines(la, na, 1), *b = load_lines(lb, nb, 2);
		struct xfr_extra xa[2], xb[2];
		uint8_t rda[2][12], rdb[2][12];
		unsigned nxa = rnd(3), nxb = rnd(3);
		for (unsigned i = 0; i < nxa; i++)
			random_extra(&xa[i], rda[i]);
		for (unsigned i = 0; i < nxb; i++)
			random_extra(&xb[i], rdb[i]);
		/* One extra per owner and type, as export: makes them. */
		if (nxa == 2 && xa[1].rs.type == xa[0].rs.type && xa[1].owner_len == xa[0].owner_len &&
		    !memcmp(xa[1].owner, xa[0].owner, xa[0].owner_len))
			nxa = 1;
		if (nxb == 2 && xb[1].rs.type == xb[0].rs.type && xb[1].owner_len == xb[0].owner_len &&
		    !memcmp(xb[1].owner, xb[0].owner, xb[0].owner_len))
			nxb = 1;
		struct zversion o = { a, a->soa, 1, xa, nxa };
		/* Now and then the zone stays and only the extras move. */
		struct zone *nz = rnd(8) ? b : a;
		struct zversion n = { nz, nz->soa, 2, xb, nxb };
		struct zdiff *d = NULL;
		assert_int_equal(zdiff_versions(&o, &n, &d), 0);
		struct rrbag bo, bn;
		bag_of(&o, &bo);
		bag_of(&n, &bn);
		bag_apply(&bo, &d->del, false);
		bag_apply(&bo, &d->add, true);
		assert_int_equal(bo.n, bn.n);
		for (size_t i = 0; i < bo.n; i++)
			assert_string_equal(bo.v[i], bn.v[i]);
		bag_free(&bo);
		bag_free(&bn);
		zdiff_unref(d);
		zone_unref(a);
		zone_unref(b);
		for (unsigned i = 0; i < na; i++)
			free(la[i]);
		for (unsigned i = 0; i < nb; i++)
			free(lb[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sort_any_order),
		cmocka_unit_test(test_diff_applies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
