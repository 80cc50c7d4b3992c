/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for src/zone: loading zone files with libzscanner, the compiled
 * node table (empty non-terminals, cuts, wildcards, merged duplicates), the
 * semantic checks with their file:line reports, and the zone_db longest
 * match.  Zone files are written to a fresh mkdtemp() directory per test.
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
#include "zone/zone.h"
#include "zone/zonedb.h"

/* --- fixture: a scratch directory and an error collector ---------------- */

#define MAX_ERRS 16

struct errs {
	unsigned n;
	struct {
		char file[512];
		unsigned long line;
		char msg[512];
	} e[MAX_ERRS];
};

struct fx {
	char dir[256];
	struct errs errs;
};

static void collect(void *ctx, const char *file, unsigned long line, const char *msg)
{
	struct errs *e = ctx;
	if (e->n < MAX_ERRS) {
		snprintf(e->e[e->n].file, sizeof(e->e[0].file), "%s", file ? file : "");
		e->e[e->n].line = line;
		snprintf(e->e[e->n].msg, sizeof(e->e[0].msg), "%s", msg ? msg : "");
	}
	e->n++;
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/vane-test-zone-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->dir);
	free(f);
	return 0;
}

/* Write `text` to `name` in the scratch dir; the full path goes to `path`. */
static void write_file(struct fx *f, const char *name, const char *text,
		       char *path, size_t pathsize)
{
	snprintf(path, pathsize, "%s/%s", f->dir, name);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

/* Load `text` as zone `origin` from file `name`; errors land in f->errs. */
static int load_text(struct fx *f, const char *origin, const char *name,
		     const char *text, char *path, struct zone **z)
{
	char buf[512];
	if (!path)
		path = buf;
	write_file(f, name, text, path, 512);
	memset(&f->errs, 0, sizeof(f->errs));
	return zone_load(origin, path, collect, &f->errs, z);
}

static const struct znode *find_str(const struct zone *z, const char *name)
{
	uint8_t wire[DNAME_MAXLEN];
	int len = dname_from_str(name, z->apex, wire);
	assert_true(len > 0);
	dname_lower(wire);
	return zone_find(z, wire, (size_t)len);
}

/* Expect exactly one error, at `file` (NULL = the main file) and `line`
 * (0 = any line), whose message contains `needle`. */
static void expect_one_error(struct fx *f, const char *path, unsigned long line,
			     const char *needle)
{
	if (f->errs.n != 1) {
		for (unsigned i = 0; i < f->errs.n && i < MAX_ERRS; i++)
			print_error("  error %u: %s:%lu: %s\n", i, f->errs.e[i].file,
				    f->errs.e[i].line, f->errs.e[i].msg);
	}
	assert_int_equal(f->errs.n, 1);
	assert_string_equal(f->errs.e[0].file, path);
	if (line)
		assert_int_equal(f->errs.e[0].line, line);
	if (!strstr(f->errs.e[0].msg, needle))
		print_error("message '%s' lacks '%s'\n", f->errs.e[0].msg, needle);
	assert_non_null(strstr(f->errs.e[0].msg, needle));
}

#define SOA_LINE "@ 7200 IN SOA ns1 hostmaster 2024010101 3600 900 604800 300\n"
#define HEAD "$ORIGIN example.com.\n$TTL 3600\n" SOA_LINE "@ NS ns1\nns1 A 192.0.2.1\n"
#define HEAD_LINES 5 /* the next line written after HEAD is line 6 */

/* --- a good zone --------------------------------------------------------- */

static const char good_zone[] =
	"$ORIGIN example.com.\n"                         /* 1 */
	"$TTL 3600\n"                                    /* 2 */
	SOA_LINE                                         /* 3 */
	"@ NS ns1\n"                                     /* 4 */
	"@ NS ns1.example.com.\n"                        /* 5 duplicate */
	"ns1 A 192.0.2.1\n"                              /* 6 */
	"WwW A 192.0.2.10\n"                             /* 7 */
	"www A 192.0.2.11\n"                             /* 8 */
	"www 60 A 192.0.2.10\n"                          /* 9 duplicate */
	"a.b.c A 192.0.2.20\n"                           /* 10: ENTs b.c, c */
	"*.wild A 192.0.2.30\n"                          /* 11: ENT wild */
	"sub NS ns.sub\n"                                /* 12 */
	"sub NS ns.elsewhere.net.\n"                     /* 13 */
	"ns.sub A 192.0.2.40\n"                          /* 14 glue */
	"deep.ns.sub TXT \"occluded\"\n"                 /* 15 */
	"@ MX 10 mail\n"                                 /* 16 */
	"$INCLUDE inc.zone\n"                            /* 17 */
	"after-include TXT \"back in the main file\"\n"; /* 18 */

static const char inc_zone[] =
	"mail A 192.0.2.25\n"
	"mail TXT \"from the include\"\n";

static void load_good(void **state)
{
	struct fx *f = *state;
	char path[512], inc[512];
	struct zone *z = NULL;

	write_file(f, "inc.zone", inc_zone, inc, sizeof(inc));
	int ret = load_text(f, "example.com", "good.zone", good_zone, path, &z);
	for (unsigned i = 0; i < f->errs.n && i < MAX_ERRS; i++)
		print_error("%s:%lu: %s\n", f->errs.e[i].file, f->errs.e[i].line,
			    f->errs.e[i].msg);
	assert_int_equal(ret, 0);
	assert_int_equal(f->errs.n, 0);
	assert_non_null(z);

	assert_int_equal(z->refcount, 1);
	assert_memory_equal(z->apex, "\7example\3com", 13);
	assert_int_equal(z->apex_len, 13);
	assert_int_equal(z->apex_labels, 2);
	assert_int_equal(z->serial, 2024010101u);
	/* RFC 2308 3: min(SOA TTL 7200, MINIMUM 300). */
	assert_int_equal(z->neg_ttl, 300);
	assert_string_equal(z->file, path);
	assert_non_null(z->soa);
	assert_int_equal(z->soa->type, DNS_SOA);
	assert_int_equal(z->soa->ttl, 7200);

	/* Nodes: apex ns1 www a.b.c b.c c *.wild wild sub ns.sub deep.ns.sub
	 * mail after-include. */
	assert_int_equal(z->nnodes, 13);
	/* Records: SOA NS(merged) MX, ns1 A, www A x2 (merged), a.b.c A,
	 * *.wild A, sub NS x2, ns.sub A, deep TXT, mail A TXT, after TXT. */
	assert_int_equal(z->nrecords, 15);

	const struct znode *apex = find_str(z, "example.com.");
	assert_ptr_equal(apex, z->apex_node);
	assert_true(apex->flags & ZNODE_APEX);
	assert_false(apex->flags & ZNODE_CUT);
	assert_null(apex->cut);
	const struct rrset *ns = znode_rrset(apex, DNS_NS);
	assert_non_null(ns);
	assert_int_equal(ns->count, 1); /* ns1 and ns1.example.com. are one RR */
	assert_non_null(ns->addl);
	assert_ptr_equal(ns->addl[0], find_str(z, "ns1"));
	const struct rrset *mx = znode_rrset(apex, DNS_MX);
	assert_non_null(mx);
	assert_ptr_equal(mx->addl[0], find_str(z, "mail"));
	/* RRsets sorted by type. */
	for (unsigned i = 1; i < apex->rrset_count; i++)
		assert_true(apex->rrsets[i - 1].type < apex->rrsets[i].type);

	/* Duplicates merged; the TTL is the first one written (RFC 2181 5.2). */
	const struct znode *www = find_str(z, "www");
	assert_non_null(www);
	assert_int_equal(www->rrset_count, 1);
	const struct rrset *a = znode_rrset(www, DNS_A);
	assert_int_equal(a->count, 2);
	assert_int_equal(a->ttl, 3600);
	assert_int_equal(a->rdata_len, 2 * (2 + 4));
	assert_memory_equal(a->rdata, "\0\4\xc0\0\2\x0a" "\0\4\xc0\0\2\x0b", 12);
	/* The lookup name is lower-case, the original keeps the file's case. */
	assert_memory_equal(www->name, "\3www", 4);
	assert_memory_equal(www->name_orig, "\3WwW", 4);

	/* Empty non-terminals exist, with no data. */
	const struct znode *ent = find_str(z, "b.c");
	assert_non_null(ent);
	assert_int_equal(ent->rrset_count, 0);
	assert_non_null(find_str(z, "c"));
	assert_int_equal(find_str(z, "c")->rrset_count, 0);
	assert_non_null(find_str(z, "a.b.c"));
	assert_null(find_str(z, "x.b.c"));

	/* Wildcard flag on the parent of "*.wild", which is itself an ENT. */
	const struct znode *wild = find_str(z, "wild");
	assert_non_null(wild);
	assert_int_equal(wild->rrset_count, 0);
	assert_true(wild->flags & ZNODE_WILDCARD_CHILD);
	assert_false(apex->flags & ZNODE_WILDCARD_CHILD);
	assert_non_null(find_str(z, "*.wild"));

	/* Cut, glue and occluded data. */
	const struct znode *sub = find_str(z, "sub");
	assert_non_null(sub);
	assert_true(sub->flags & ZNODE_CUT);
	assert_false(sub->flags & ZNODE_NONAUTH);
	assert_ptr_equal(sub->cut, sub);
	const struct znode *glue = find_str(z, "ns.sub");
	assert_non_null(glue);
	assert_true(glue->flags & ZNODE_NONAUTH);
	assert_false(glue->flags & ZNODE_CUT);
	assert_ptr_equal(glue->cut, sub);
	const struct znode *deep = find_str(z, "deep.ns.sub");
	assert_true(deep->flags & ZNODE_NONAUTH);
	assert_ptr_equal(deep->cut, sub);
	assert_null(www->cut);
	assert_false(www->flags & (ZNODE_NONAUTH | ZNODE_CUT));
	/* The in-zone NS target of the cut links to its glue node. */
	const struct rrset *subns = znode_rrset(sub, DNS_NS);
	assert_int_equal(subns->count, 2);
	bool linked = false;
	for (unsigned i = 0; i < subns->count; i++)
		linked |= subns->addl[i] == glue;
	assert_true(linked);

	/* $INCLUDE: records of the included file, then the main file again. */
	const struct znode *mail = find_str(z, "mail");
	assert_non_null(mail);
	assert_non_null(znode_rrset(mail, DNS_A));
	assert_non_null(znode_rrset(mail, DNS_TXT));
	assert_non_null(find_str(z, "after-include"));

	zone_unref(z);
}

/* $GENERATE (BIND extension, which load.c promises): host1..host3. */
static void load_generate(void **state)
{
	struct fx *f = *state;
	struct zone *z = NULL;
	int ret = load_text(f, "example.com", "gen.zone",
			    HEAD "$GENERATE 1-3 host$ A 192.0.2.$\n", NULL, &z);
	for (unsigned i = 0; i < f->errs.n && i < MAX_ERRS; i++)
		print_error("%s:%lu: %s\n", f->errs.e[i].file, f->errs.e[i].line,
			    f->errs.e[i].msg);
	assert_int_equal(ret, 0);
	assert_int_equal(f->errs.n, 0);
	for (int i = 1; i <= 3; i++) {
		char name[16];
		snprintf(name, sizeof(name), "host%d", i);
		const struct znode *h = find_str(z, name);
		assert_non_null(h);
		const struct rrset *ha = znode_rrset(h, DNS_A);
		assert_non_null(ha);
		assert_int_equal(ha->count, 1);
		assert_int_equal(ha->rdata[2 + 3], i);
	}
	assert_null(find_str(z, "host4"));
	zone_unref(z);
}

/* neg_ttl takes the SOA TTL when it is the smaller of the two. */
static void neg_ttl_soa_ttl(void **state)
{
	struct fx *f = *state;
	struct zone *z = NULL;
	int ret = load_text(f, "example.com.", "neg.zone",
			    "example.com. 60 IN SOA ns1.example.com. h.example.com. 7 1 1 1 86400\n"
			    "example.com. NS ns1.example.com.\n", NULL, &z);
	assert_int_equal(ret, 0);
	assert_int_equal(z->serial, 7);
	assert_int_equal(z->neg_ttl, 60);
	/* Default TTL without $TTL, for a record that gives none. */
	assert_int_equal(z->nrecords, 2);
	zone_unref(z);
}

/* --- semantic and syntax errors: reported once, with file and line ------ */

static void err_missing_soa(void **state)
{
	struct fx *f = *state;
	char path[512];
	struct zone *z = (struct zone *)0x1;
	int ret = load_text(f, "example.com", "nosoa.zone",
			    "$ORIGIN example.com.\n"
			    "@ 3600 NS ns1\n"
			    "ns1 3600 A 192.0.2.1\n", path, &z);
	assert_true(ret < 0);
	assert_null(z);
	expect_one_error(f, path, 0, "SOA");
}

static void err_soa_not_apex(void **state)
{
	struct fx *f = *state;
	char path[512];
	struct zone *z = NULL;
	int ret = load_text(f, "example.com", "soa2.zone",
			    HEAD
			    "www A 192.0.2.2\n"
			    "sub SOA ns1 hostmaster 1 2 3 4 5\n", path, &z);
	assert_int_equal(ret, VANE_ESEMANTIC);
	assert_null(z);
	expect_one_error(f, path, HEAD_LINES + 2, "SOA");
}

static void err_cname_and_other(void **state)
{
	struct fx *f = *state;
	char path[512];
	struct zone *z = NULL;
	int ret = load_text(f, "example.com", "cname1.zone",
			    HEAD
			    "www A 192.0.2.2\n"
			    "www CNAME ns1\n"
			    "ok CNAME ns1\n", path, &z);
	assert_int_equal(ret, VANE_ESEMANTIC);
	assert_null(z);
	expect_one_error(f, path, HEAD_LINES + 2, "CNAME");
}

/* The second CNAME written is the one in error, whatever its RDATA sorts as. */
static void err_two_cnames(void **state)
{
	struct fx *f = *state;
	char path[512];
	struct zone *z = NULL;
	int ret = load_text(f, "example.com", "cname2.zone",
			    HEAD
			    "alias CNAME zzz\n"
			    "alias CNAME aaa\n"
			    "alias CNAME zzz\n", path, &z);  /* a duplicate: merged */
	assert_int_equal(ret, VANE_ESEMANTIC);
	assert_null(z);
	expect_one_error(f, path, HEAD_LINES + 2, "CNAME");
}

static void err_out_of_zone(void **state)
{
	struct fx *f = *state;
	char path[512];
	struct zone *z = NULL;
	int ret = load_text(f, "example.com", "ooz.zone",
			    HEAD
			    "www A 192.0.2.2\n"
			    "www.example.org. A 192.0.2.3\n", path, &z);
	assert_int_equal(ret, VANE_ESEMANTIC);
	assert_null(z);
	expect_one_error(f, path, HEAD_LINES + 2, "out of zone");
}

static void err_missing_glue(void **state)
{
	struct fx *f = *state;
	char path[512];
	struct zone *z = NULL;
	int ret = load_text(f, "example.com", "glue.zone",
			    HEAD
			    "sub NS ns.sub\n"
			    "sub NS ns1\n"                      /* in zone, not below a cut */
			    "sub NS ns.example.net.\n"          /* out of zone */
			    "other NS ns.other\n"
			    "ns.other AAAA 2001:db8::1\n", path, &z);
	assert_int_equal(ret, VANE_ESEMANTIC);
	assert_null(z);
	expect_one_error(f, path, HEAD_LINES + 1, "glue");
}

/* Glue for a name server below a different cut is still glue. */
static void glue_ok_variants(void **state)
{
	struct fx *f = *state;
	struct zone *z = NULL;
	int ret = load_text(f, "example.com", "glue2.zone",
			    HEAD
			    "sub NS ns1\n"
			    "sub NS ns.example.net.\n"
			    "other NS ns.other\n"
			    "ns.other AAAA 2001:db8::1\n", NULL, &z);
	assert_int_equal(ret, 0);
	assert_int_equal(f->errs.n, 0);
	zone_unref(z);
}

static void err_syntax(void **state)
{
	struct fx *f = *state;
	char path[512];
	struct zone *z = NULL;
	int ret = load_text(f, "example.com", "syntax.zone",
			    HEAD
			    "www A 192.0.2.2\n"
			    "bad A 999.0.2.2\n"
			    "www AAAA 2001:db8::2\n", path, &z);
	assert_int_equal(ret, VANE_ESYNTAX);
	assert_null(z);
	expect_one_error(f, path, HEAD_LINES + 2, "");
}

/* A semantic error inside an $INCLUDE'd file names that file. */
static void err_in_include(void **state)
{
	struct fx *f = *state;
	char path[512], inc[512];
	struct zone *z = NULL;
	write_file(f, "bad-inc.zone", "\n\nfoo A 192.0.2.9\nfoo CNAME ns1\n",
		   inc, sizeof(inc));
	int ret = load_text(f, "example.com", "main.zone",
			    HEAD "$INCLUDE bad-inc.zone\n", path, &z);
	assert_int_equal(ret, VANE_ESEMANTIC);
	assert_null(z);
	expect_one_error(f, inc, 4, "CNAME");
}

/* A syntax error inside an $INCLUDE'd file names that file and line.
 * libzscanner then also fails the $INCLUDE line of the parent, as Knot
 * reports it; that second message is allowed but must point there. */
static void err_syntax_in_include(void **state)
{
	struct fx *f = *state;
	char path[512], inc[512];
	struct zone *z = NULL;
	write_file(f, "syn-inc.zone", "ok A 192.0.2.9\nbad A 1.2.3\n", inc, sizeof(inc));
	int ret = load_text(f, "example.com", "main2.zone",
			    HEAD "$INCLUDE syn-inc.zone\n", path, &z);
	assert_int_equal(ret, VANE_ESYNTAX);
	assert_null(z);
	assert_true(f->errs.n >= 1 && f->errs.n <= 2);
	assert_string_equal(f->errs.e[0].file, inc);
	assert_int_equal(f->errs.e[0].line, 2);
	if (f->errs.n == 2) {
		assert_string_equal(f->errs.e[1].file, path);
		assert_int_equal(f->errs.e[1].line, HEAD_LINES + 1);
	}
}

static void err_two_soas(void **state)
{
	struct fx *f = *state;
	char path[512];
	struct zone *z = NULL;
	int ret = load_text(f, "example.com", "soas.zone",
			    HEAD
			    "@ SOA ns1 hostmaster 2024010101 3600 900 604800 300\n" /* same: merged */
			    "@ SOA ns1 hostmaster 1 2 3 4 5\n", path, &z);
	assert_int_equal(ret, VANE_ESEMANTIC);
	assert_null(z);
	expect_one_error(f, path, HEAD_LINES + 2, "SOA");
}

static void err_generic_mx(void **state)
{
	struct fx *f = *state;
	char path[512];
	struct zone *z = NULL;
	int ret = load_text(f, "example.com", "mx.zone",
			    HEAD
			    "mx MX 10 mail\n"
			    "mx2 MX \\# 3 000102\n", path, &z);
	assert_true(ret < 0);
	assert_null(z);
	expect_one_error(f, path, HEAD_LINES + 2, "RDATA");
}

static void err_unreadable(void **state)
{
	struct fx *f = *state;
	char path[600];
	struct zone *z = (struct zone *)0x1;
	snprintf(path, sizeof(path), "%s/does-not-exist.zone", f->dir);
	memset(&f->errs, 0, sizeof(f->errs));
	int ret = zone_load("example.com", path, collect, &f->errs, &z);
	assert_true(ret < 0);
	assert_null(z);
	expect_one_error(f, path, 0, "");

	/* A NULL callback is allowed. */
	ret = zone_load("example.com", path, NULL, NULL, &z);
	assert_true(ret < 0);
	assert_null(z);
}

static void err_bad_origin(void **state)
{
	struct fx *f = *state;
	char path[512];
	struct zone *z = NULL;
	write_file(f, "o.zone", HEAD, path, sizeof(path));
	memset(&f->errs, 0, sizeof(f->errs));
	int ret = zone_load("a..b", path, collect, &f->errs, &z);
	assert_true(ret < 0);
	assert_null(z);
	assert_int_equal(f->errs.n, 1);
}

/* --- zone_db ------------------------------------------------------------ */

static struct zone *load_ok(struct fx *f, const char *origin, const char *name,
			    const char *text)
{
	struct zone *z = NULL;
	int ret = load_text(f, origin, name, text, NULL, &z);
	assert_int_equal(ret, 0);
	return z;
}

static const char sub_zone[] =
	"$ORIGIN sub.example.com.\n$TTL 300\n"
	"@ SOA ns hostmaster 5 1 1 1 60\n"
	"@ NS ns\n"
	"ns A 192.0.2.40\n";

static const struct zone *db_find_str(const struct zone_db *db, const char *name)
{
	uint8_t wire[DNAME_MAXLEN];
	assert_true(dname_from_str(name, NULL, wire) > 0);
	dname_lower(wire);
	return zone_db_find(db, wire);
}

static void db_longest_match(void **state)
{
	struct fx *f = *state;
	struct zone *parent = load_ok(f, "example.com", "p.zone",
				      HEAD "sub NS ns.sub\nns.sub A 192.0.2.40\n");
	struct zone *child = load_ok(f, "sub.example.com", "c.zone", sub_zone);
	struct zone *zones[2] = { parent, child };
	struct zone_db *db = NULL;

	assert_int_equal(zone_db_new(zones, 2, &db), 0);
	assert_non_null(db);
	assert_int_equal(db->count, 2);
	assert_int_equal(parent->refcount, 2);
	assert_int_equal(child->refcount, 2);

	assert_ptr_equal(db_find_str(db, "example.com."), parent);
	assert_ptr_equal(db_find_str(db, "www.example.com."), parent);
	assert_ptr_equal(db_find_str(db, "WWW.EXAMPLE.COM."), parent);
	assert_ptr_equal(db_find_str(db, "xsub.example.com."), parent);
	assert_ptr_equal(db_find_str(db, "sub.example.com."), child);
	assert_ptr_equal(db_find_str(db, "a.b.sub.example.com."), child);
	assert_null(db_find_str(db, "com."));
	assert_null(db_find_str(db, "."));
	assert_null(db_find_str(db, "example.org."));
	assert_null(db_find_str(db, "example.com.org."));

	uint8_t apex[DNAME_MAXLEN];
	assert_true(dname_from_str("sub.example.com.", NULL, apex) > 0);
	assert_ptr_equal(zone_db_get(db, apex), child);
	assert_true(dname_from_str("www.sub.example.com.", NULL, apex) > 0);
	assert_null(zone_db_get(db, apex));

	zone_db_free(db);
	assert_int_equal(parent->refcount, 1);
	assert_int_equal(child->refcount, 1);
	zone_unref(parent);
	zone_unref(child);
}

static void db_duplicate_apex(void **state)
{
	struct fx *f = *state;
	struct zone *a = load_ok(f, "example.com", "a.zone", HEAD);
	struct zone *b = load_ok(f, "EXAMPLE.com.", "b.zone", HEAD);
	struct zone *zones[2] = { a, b };
	struct zone_db *db = NULL;

	assert_int_equal(zone_db_new(zones, 2, &db), VANE_EEXIST);
	/* The failed build gave back every reference it took. */
	assert_int_equal(a->refcount, 1);
	assert_int_equal(b->refcount, 1);
	zone_unref(a);
	zone_unref(b);
}

static void db_empty_and_refs(void **state)
{
	struct fx *f = *state;
	struct zone_db *db = NULL;
	assert_int_equal(zone_db_new(NULL, 0, &db), 0);
	assert_null(db_find_str(db, "www.example.com."));
	zone_db_free(db);
	zone_db_free(NULL);
	zone_unref(NULL);

	/* A zone outlives the loader's reference while a db holds it: the
	 * reload pattern (two dbs sharing a zone). */
	struct zone *z = load_ok(f, "example.com", "r.zone", HEAD);
	struct zone_db *db1 = NULL, *db2 = NULL;
	assert_int_equal(zone_db_new(&z, 1, &db1), 0);
	assert_int_equal(zone_db_new(&z, 1, &db2), 0);
	assert_int_equal(z->refcount, 3);
	zone_unref(z);
	zone_db_free(db1);
	assert_int_equal(z->refcount, 1);
	assert_ptr_equal(db_find_str(db2, "example.com."), z);
	zone_ref(z);
	assert_int_equal(z->refcount, 2);
	zone_unref(z);
	zone_db_free(db2); /* last reference: ASan checks it is all freed */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
		T(load_good),
		T(load_generate),
		T(neg_ttl_soa_ttl),
		T(err_missing_soa),
		T(err_soa_not_apex),
		T(err_cname_and_other),
		T(err_two_cnames),
		T(err_out_of_zone),
		T(err_missing_glue),
		T(glue_ok_variants),
		T(err_syntax),
		T(err_in_include),
		T(err_syntax_in_include),
		T(err_two_soas),
		T(err_generic_mx),
		T(err_unreadable),
		T(err_bad_origin),
		T(db_longest_match),
		T(db_duplicate_apex),
		T(db_empty_and_refs),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
