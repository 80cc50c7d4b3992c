/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for zone/catalog: member ids (stable, case-blind, the value
 * SHA-256 gives), the generated catalog text loaded by the zone loader as
 * RFC 9432 describes it, and the "same members" test that keeps a serial.
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
#include "zone/catalog.h"
#include "zone/zone.h"

static void test_member_id(void **state)
{
	char a[CATALOG_ID_LEN + 1], b[CATALOG_ID_LEN + 1];
	/* SHA-256 of \007example\003com\000, first 8 bytes (hashlib). */
	assert_int_equal(catalog_member_id("example.com.", a), 0);
	assert_string_equal(a, "902e9c464fa43fca");
	assert_int_equal(catalog_member_id("Example.COM", b), 0);
	assert_string_equal(a, b);
	assert_int_equal(catalog_member_id("a.test.", b), 0);
	assert_string_equal(b, "22a4880d5f861991");
}

/* Load catalog text through the zone loader, from a temporary file. */
static struct zone *load_text(const char *origin, const char *text, size_t len)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fflush(f);
	rewind(f);
	struct zone *z = NULL;
	int ret = zone_load_fd(origin, "catalog", fileno(f), NULL, NULL, &z);
	fclose(f);
	assert_int_equal(ret, 0);
	return z;
}

static const struct rrset *rrset_at(const struct zone *z, const char *name, uint16_t type)
{
	uint8_t wire[DNAME_MAXLEN];
	int len = dname_from_str(name, NULL, wire);
	assert_true(len > 0);
	const struct znode *n = zone_find(z, wire, (size_t)len);
	return n ? znode_rrset(n, type) : NULL;
}

static void test_text(void **state)
{
	const char *members[] = { "a.test.", "example.com." };
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(catalog_text("catalog.vane.", members, 2, 1700000000, &text, &len), 0);
	struct zone *z = load_text("catalog.vane.", text, len);
	free(text);
	assert_int_equal(z->serial, 1700000000);
	assert_int_equal(z->nrecords, 5);
	/* RFC 9432 4.2: version TXT "2", at version.<catalog>. */
	const struct rrset *v = rrset_at(z, "version.catalog.vane.", DNS_TXT);
	assert_non_null(v);
	assert_int_equal(v->count, 1);
	assert_memory_equal(v->rdata, "\x00\x02\x01" "2", 4);
	/* RFC 9432 4.3: <unique-id>.zones.<catalog> PTR <member>. */
	const struct rrset *p = rrset_at(z, "902e9c464fa43fca.zones.catalog.vane.", DNS_PTR);
	assert_non_null(p);
	assert_memory_equal(p->rdata + 2, "\x07" "example\x03" "com\x00", 13);
	assert_non_null(rrset_at(z, "22a4880d5f861991.zones.catalog.vane.", DNS_PTR));
	/* RFC 9432 4: the SOA and NS exist and name nothing real; TTL 0. */
	assert_int_equal(z->soa->ttl, 0);
	assert_non_null(rrset_at(z, "catalog.vane.", DNS_NS));

	/* Same members, any order: keep the serial.  Any change: not same. */
	const char *swapped[] = { "example.com.", "a.test." };
	const char *more[] = { "a.test.", "example.com.", "b.test." };
	const char *other[] = { "a.test.", "example.net." };
	assert_true(catalog_same(z, swapped, 2));
	assert_false(catalog_same(z, more, 3));
	assert_false(catalog_same(z, members, 1));
	assert_false(catalog_same(z, other, 2));
	assert_false(catalog_same(NULL, members, 2));
	zone_unref(z);

	/* An empty catalog is still a valid zone (RFC 9432 4: SOA, NS, version). */
	assert_int_equal(catalog_text("catalog.vane.", NULL, 0, 7, &text, &len), 0);
	z = load_text("catalog.vane.", text, len);
	free(text);
	assert_int_equal(z->nrecords, 3);
	assert_true(catalog_same(z, NULL, 0));
	zone_unref(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_member_id),
		cmocka_unit_test(test_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
