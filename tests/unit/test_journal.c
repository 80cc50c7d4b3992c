/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for zone/journal: what a transfer carries (the zone with the
 * export records in place of the zone's), the difference of two versions
 * (RFC 1995 4: deletions and additions, a changed TTL as both), and the
 * journal chain with its bounds.
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

static struct zone *load(const char *text)
{
	char path[] = "/tmp/vane-test-journal-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct zone *z = NULL;
	assert_int_equal(zone_load("example.com", path, NULL, NULL, &z), 0);
	unlink(path);
	return z;
}

#define HEAD(serial) "$ORIGIN example.com.\n$TTL 300\n" \
	"@ IN SOA ns hm " #serial " 1 1 1 1\n@ NS ns\nns A 192.0.2.53\n"

/* Owner names and types of the RRs in `r`, as "name/type" lines. */
static void rr_list(const struct zrrs *r, char *buf, size_t size)
{
	size_t off = 0, n = 0;
	buf[0] = 0;
	while (off < r->len) {
		char name[DNAME_MAXSTR];
		const uint8_t *p = r->data + off;
		size_t ol = dname_len(p);
		dname_to_str(p, name, sizeof(name));
		n += (size_t)snprintf(buf + n, size - n, "%s/%u/%u ", name, wire_get_u16(p + ol),
				      wire_get_u32(p + ol + 4));
		off += ol + 10 + wire_get_u16(p + ol + 8);
	}
}

static void test_diff(void **state)
{
	struct zone *a = load(HEAD(1) "www A 192.0.2.1\nmail A 192.0.2.2\nx TXT \"a\"\n");
	struct zone *b = load(HEAD(2) "www A 192.0.2.9\nmail A 192.0.2.2\nx 60 TXT \"a\"\n"
				      "y TXT \"b\"\n");
	struct zdiff *d = NULL;
	assert_int_equal(zdiff_compute(a, NULL, 0, b, NULL, 0, &d), 0);
	assert_int_equal(d->from, 1);
	assert_int_equal(d->to, 2);
	assert_int_equal(d->soa_from.count, 1);
	assert_int_equal(d->soa_to.count, 1);
	char buf[1024];
	rr_list(&d->del, buf, sizeof(buf));
	/* In wire order: a shorter first label sorts first. */
	assert_string_equal(buf, "x.example.com./16/300 www.example.com./1/300 ");
	rr_list(&d->add, buf, sizeof(buf));
	assert_string_equal(buf, "x.example.com./16/60 y.example.com./16/300 www.example.com./1/300 ");
	zdiff_unref(d);

	/* Export records replace the zone's A at www: only they differ. */
	struct xfr_extra x = { .owner_len = 17 };
	memcpy(x.owner, "\x03www\x07" "example\x03" "com", 17);
	uint8_t rd[] = { 0, 4, 198, 51, 100, 1 };
	x.rs = (struct rrset){ .type = DNS_A, .count = 1, .ttl = 30, .rdata_len = 6, .rdata = rd };
	assert_int_equal(zdiff_compute(a, NULL, 0, a, &x, 1, &d), 0);
	rr_list(&d->del, buf, sizeof(buf));
	assert_string_equal(buf, "www.example.com./1/300 ");
	rr_list(&d->add, buf, sizeof(buf));
	assert_string_equal(buf, "www.example.com./1/30 ");
	zdiff_unref(d);
	zone_unref(a);
	zone_unref(b);
}

static struct zdiff *fake(uint32_t from, uint32_t to)
{
	struct zdiff *d = calloc(1, sizeof(*d));
	d->refcount = 1;
	d->from = from;
	d->to = to;
	return d;
}

static void test_journal(void **state)
{
	struct zjournal *j1 = NULL, *j2 = NULL, *j3 = NULL, *j4 = NULL;
	struct zdiff *d1 = fake(1, 2), *d2 = fake(2, 3), *d3 = fake(7, 8);
	assert_int_equal(zjournal_next(NULL, d1, 1 << 20, &j1), 0);
	assert_int_equal(zjournal_next(j1, d2, 1 << 20, &j2), 0);
	assert_int_equal(j2->n, 2);
	assert_int_equal(zjournal_find(j2, 1), 0);
	assert_int_equal(zjournal_find(j2, 2), 1);
	assert_int_equal(zjournal_find(j2, 3), -1);
	/* Room for one difference only: the oldest goes. */
	assert_int_equal(zjournal_next(j1, d2, zdiff_bytes(d2), &j3), 0);
	assert_int_equal(j3->n, 1);
	assert_int_equal(zjournal_find(j3, 2), 0);
	/* Not a continuation (serial jumped): the journal starts over. */
	assert_int_equal(zjournal_next(j2, d3, 1 << 20, &j4), 0);
	assert_int_equal(j4->n, 1);
	assert_int_equal(zjournal_find(j4, 7), 0);
	/* No journal wanted. */
	struct zjournal *none = (struct zjournal *)1;
	assert_int_equal(zjournal_next(j2, d3, 0, &none), 0);
	assert_null(none);
	zdiff_unref(d1);
	zdiff_unref(d2);
	zdiff_unref(d3);
	zjournal_unref(j1);
	zjournal_unref(j2);
	zjournal_unref(j3);
	zjournal_unref(j4);
	assert_true(serial_lt(1, 2));
	assert_true(serial_lt(0xFFFFFFF0u, 5));
	assert_false(serial_lt(5, 5));
}

static int count_cb(void *ctx, const uint8_t *owner, const uint8_t *lower,
		    const struct rrset *rs)
{
	*(unsigned *)ctx += rs->count;
	assert_int_not_equal(rs->type, DNS_SOA);
	return 0;
}

static void test_walk(void **state)
{
	struct zone *a = load(HEAD(1) "www A 192.0.2.1\nwww A 192.0.2.3\n");
	unsigned n = 0;
	assert_int_equal(zone_walk_xfr(a, NULL, 0, count_cb, &n), 0);
	assert_int_equal(n, 4);   /* NS, ns A, two www A; not the SOA */
	zone_unref(a);
}

/* An A (or AAAA, 16-byte) extra at api.example.com with `n` records. */
static void api_extra(struct xfr_extra *x, uint16_t type, const uint8_t *rd, unsigned n,
		      unsigned alen)
{
	memset(x, 0, sizeof(*x));
	x->owner_len = 17;
	memcpy(x->owner, "\x03" "api\x07" "example\x03" "com", 17);
	x->rs = (struct rrset){ .type = type, .count = (uint16_t)n, .ttl = 30,
				.rdata_len = n * (2 + alen), .rdata = (uint8_t *)rd };
}

/* Between two versions of one zone only the extras are compared; the
 * result is the one the whole-zone comparison gives. */
static void test_diff_extras_only(void **state)
{
	const char *text = HEAD(1) "www A 192.0.2.1\napi TXT \"steered\"\n";
	struct zone *a = load(text), *a2 = load(text);
	static const uint8_t two[] = { 0, 4, 198, 51, 100, 1, 0, 4, 198, 51, 100, 2 };
	static const uint8_t six[] = { 0, 16, 0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				       0, 2 };
	struct xfr_extra ox[2], nx[1];
	api_extra(&ox[0], DNS_A, two, 2, 4);
	api_extra(&ox[1], DNS_AAAA, six, 1, 16);
	api_extra(&nx[0], DNS_A, two + 6, 1, 4);
	struct zversion o = { a, a->soa, 5, ox, 2 }, n = { a, a->soa, 6, nx, 1 };
	struct zdiff *fast = NULL, *whole = NULL;
	assert_int_equal(zdiff_versions(&o, &n, &fast), 0);
	n.z = a2;   /* another zone object: the whole walk */
	assert_int_equal(zdiff_versions(&o, &n, &whole), 0);
	assert_int_equal(fast->from, 5);
	assert_int_equal(fast->to, 6);
	char buf[1024];
	rr_list(&fast->del, buf, sizeof(buf));
	assert_string_equal(buf, "api.example.com./1/30 api.example.com./28/30 ");
	assert_int_equal(fast->add.count, 0);
	assert_int_equal(fast->del.len, whole->del.len);
	assert_memory_equal(fast->del.data, whole->del.data, fast->del.len);
	assert_int_equal(whole->add.count, 0);
	zdiff_unref(fast);
	zdiff_unref(whole);
	zone_unref(a);
	zone_unref(a2);
}

/* The SOA answered can carry a serial of its own (export: healthy). */
static void test_serve_serial(void **state)
{
	struct zone *z = load(HEAD(7) "www A 192.0.2.1\n");
	uint8_t *old = NULL;
	const uint8_t *file = z->soa->rdata;
	assert_int_equal(zone_served_serial(z), 7);
	assert_int_equal(zone_serve_serial(z, 9, &old), 0);
	assert_null(old);
	assert_int_equal(zone_served_serial(z), 9);
	assert_int_equal(z->serial, 7);
	assert_ptr_not_equal(z->soa->rdata, file);
	assert_int_equal(zone_serve_serial(z, 10, &old), 0);
	assert_non_null(old);   /* the SOA of serial 9, for the caller to free */
	free(old);
	assert_int_equal(zone_serve_serial(z, 7, &old), 0);
	free(old);
	assert_ptr_equal(z->soa->rdata, file);
	assert_int_equal(zone_served_serial(z), 7);
	assert_int_equal(zone_serve_serial(z, 11, &old), 0);
	zone_unref(z);   /* frees the SOA in service */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_journal),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_diff_extras_only),
		cmocka_unit_test(test_serve_serial),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
