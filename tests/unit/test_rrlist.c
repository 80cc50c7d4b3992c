/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The record set a transfer edits (daemon/rrlist.c): from a loaded zone,
 * IXFR deletions and additions, and the saved zone file loading back to
 * the same records. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/rrlist.h"
#include "lib/dname.h"
#include "lib/pkt.h"
#include "zone/zone.h"

static char tmpdir[] = "/tmp/vane-test-rrlist-XXXXXX";

static struct zone *load_text(const char *text)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/in.zone", tmpdir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	int fd = open(p, O_RDONLY);
	struct zone *z = NULL;
	assert_int_equal(zone_load_fd("example.com.", p, fd, NULL, NULL, &z), 0);
	close(fd);
	unlink(p);
	return z;
}

static struct zone *load_file(const char *p)
{
	int fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	struct zone *z = NULL;
	assert_int_equal(zone_load_fd("example.com.", p, fd, NULL, NULL, &z), 0);
	close(fd);
	return z;
}

static const struct rrset *find(const struct zone *z, const char *name, uint16_t type)
{
	uint8_t w[DNAME_MAXLEN];
	assert_true(dname_from_str(name, NULL, w) > 0);
	dname_lower(w);
	const struct znode *n = zone_find(z, w, dname_len(w));
	return n ? znode_rrset(n, type) : NULL;
}

static void test_round_trip_and_ixfr(void **state)
{
	struct zone *z = load_text("$ORIGIN example.com.\n$TTL 300\n"
				   "@ SOA ns1 host 7 3600 600 86400 300\n@ NS ns1\n"
				   "ns1 A 192.0.2.53\nWWW A 192.0.2.80\nwww A 192.0.2.81\n"
				   "mail MX 10 www\nt TXT \"a b\" \"c\"\n"
				   "_s._tcp SRV 0 5 443 www\n");
	struct rrlist l;
	rrlist_init(&l);
	assert_int_equal(rrlist_from_zone(&l, z), 0);
	assert_int_equal(l.live, z->nrecords);

	/* IXFR: delete 192.0.2.80 (any owner case), add 192.0.2.82. */
	uint8_t www[DNAME_MAXLEN], a80[4] = { 192, 0, 2, 80 }, a82[4] = { 192, 0, 2, 82 };
	assert_true(dname_from_str("Www.Example.COM.", NULL, www) > 0);
	assert_int_equal(rrlist_del(&l, www, DNS_A, a80, 4), 0);
	assert_int_equal(rrlist_del(&l, www, DNS_A, a80, 4), VANE_ENOENT);
	assert_int_equal(rrlist_add(&l, www, DNS_A, 300, a82, 4), 0);
	assert_int_equal(rrlist_add(&l, www, DNS_A, 300, a82, 4), 0);   /* a set */
	assert_int_equal(l.live, z->nrecords);

	char p[600];
	snprintf(p, sizeof(p), "%s/sub/out.zone", tmpdir);
	assert_int_equal(rrlist_save(&l, p, "example.com"), 0);
	struct zone *y = load_file(p);
	assert_int_equal(y->serial, 7);
	assert_int_equal(y->nrecords, z->nrecords);
	const struct rrset *a = find(y, "www.example.com.", DNS_A);
	assert_non_null(a);
	assert_int_equal(a->count, 2);
	assert_non_null(find(y, "_s._tcp.example.com.", DNS_SRV));
	const struct rrset *t = find(y, "t.example.com.", DNS_TXT);
	assert_non_null(t);
	assert_memory_equal(t->rdata + 2, "\3a b\1c", 6);

	rrlist_free(&l);
	zone_unref(y);
	zone_unref(z);
	unlink(p);
	snprintf(p, sizeof(p), "%s/sub", tmpdir);
	rmdir(p);
}

static int setup(void **state)
{
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	return rmdir(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_and_ixfr),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
