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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_journal),
		cmocka_unit_test(test_walk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
