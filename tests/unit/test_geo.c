/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for geo/: a small libloc database built here with libloc's own
 * writer, a small MaxMind DB written here byte by byte (Debian has no C
 * writer), nets overrides, the per-thread cache, error reporting, and the
 * real Debian database (skipped only when /var/lib/location/database.db is
 * absent), including a differential check against loc_database_lookup().
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libloc/libloc.h>
#include <libloc/database.h>
#include <libloc/network.h>
#include <libloc/writer.h>

#include "geo/geo.h"

static char tmpdir[] = "/tmp/vane-geo-XXXXXX";
static char loc_path[256], nets_path[256], mmdb_path[256];

/* --- error collection ---------------------------------------------------- */

struct errs {
	unsigned n;
	unsigned long lines[16];
	char msgs[16][256];
};

static void collect(void *ctx, const char *file, unsigned long line, const char *msg)
{
	struct errs *e = ctx;
	if (e->n < 16) {
		e->lines[e->n] = line;
		snprintf(e->msgs[e->n], sizeof(e->msgs[0]), "%s:%lu: %s", file, line, msg);
	}
	e->n++;
}

/* --- fixtures ------------------------------------------------------------ */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void add_net(struct loc_writer *w, const char *cidr, const char *cc, uint32_t asn)
{
	struct loc_network *n = NULL;
	assert_int_equal(loc_writer_add_network(w, &n, cidr), 0);
	if (cc != NULL)
		assert_int_equal(loc_network_set_country_code(n, cc), 0);
	if (asn)
		assert_int_equal(loc_network_set_asn(n, asn), 0);
	loc_network_unref(n);
}

static void add_country(struct loc_writer *w, const char *cc, const char *cont)
{
	struct loc_country *c = NULL;
	assert_int_equal(loc_writer_add_country(w, &c, cc), 0);
	assert_int_equal(loc_country_set_continent_code(c, cont), 0);
	loc_country_unref(c);
}

/* A libloc database with nested networks, an ASN-only network, IPv6. */
static void build_loc_db(void)
{
	struct loc_ctx *ctx = NULL;
	struct loc_writer *w = NULL;
	assert_int_equal(loc_new(&ctx), 0);
	loc_set_log_priority(ctx, 0);
	assert_int_equal(loc_writer_new(ctx, &w, NULL, NULL), 0);
	add_net(w, "10.0.0.0/8", "DE", 0);
	add_net(w, "10.1.0.0/16", "FR", 0);
	add_net(w, "10.1.2.0/24", "US", 0);
	add_net(w, "10.2.0.0/16", NULL, 64500);     /* ASN only, no country */
	add_net(w, "192.0.2.0/24", "JP", 0);
	add_net(w, "198.51.100.0/24", "CA", 0);
	add_net(w, "198.51.100.128/25", "MX", 0);   /* longer than the cache /24 */
	add_net(w, "2001:db8::/32", "NL", 0);
	add_net(w, "2001:db8:1::/48", "BR", 0);
	static const char *const countries[][2] = {
		{ "BR", "SA" }, { "CA", "NA" }, { "DE", "EU" }, { "FR", "EU" },
		{ "JP", "AS" }, { "MX", "NA" }, { "NL", "EU" }, { "US", "NA" },
	};
	for (size_t i = 0; i < sizeof(countries) / sizeof(countries[0]); i++)
		add_country(w, countries[i][0], countries[i][1]);
	FILE *f = fopen(loc_path, "w");
	assert_non_null(f);
	assert_int_equal(loc_writer_write(w, f, LOC_DATABASE_VERSION_1), 0);
	fclose(f);
	loc_writer_unref(w);
	loc_unref(ctx);
}

/* --- a minimal MaxMind DB writer (format spec 2.0) ------------------------ */

struct buf {
	uint8_t b[8192];
	size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void put_u8(struct buf *b, uint8_t v) { put(b, &v, 1); }

static void put_str(struct buf *b, const char *s)
{
	put_u8(b, 0x40 | strlen(s)); /* type 2, short length */
	put(b, s, strlen(s));
}

static void put_uint(struct buf *b, unsigned type, uint64_t v, unsigned bytes)
{
	if (type <= 7) {
		put_u8(b, type << 5 | bytes);
	} else {
		put_u8(b, bytes);     /* extended type */
		put_u8(b, type - 7);
	}
	for (int i = bytes - 1; i >= 0; i--)
		put_u8(b, v >> (8 * i));
}

static void put_map(struct buf *b, unsigned pairs) { put_u8(b, 0xe0 | pairs); }

static void put_double(struct buf *b, double d)
{
	uint64_t v;
	memcpy(&v, &d, 8);
	put_u8(b, 3 << 5 | 8);
	for (int i = 7; i >= 0; i--)
		put_u8(b, v >> (8 * i));
}

struct mm_net {
	const char *addr;  /* IPv6, IPv4 at ::a.b.c.d */
	unsigned len;      /* IPv6 terms */
	const char *cont, *cc;
	double lat, lon;
};

/* Non-overlapping networks only, so no data needs pushing down the tree. */
static const struct mm_net mm_nets[] = {
	{ "::192.0.2.0", 120, "EU", "DE", 52.5, 13.4 },
	{ "::198.51.100.0", 118, "OC", "AU", -33.9, 151.2 },
	{ "2001:db8::", 32, "NA", "US", 0, 0 },
};

struct mm_node { uint32_t rec[2]; }; /* child + 1, or ~data index, or 0 */

static void build_mmdb(void)
{
	struct mm_node nodes[1024] = { 0 };
	uint32_t nn = 1;
	size_t nnets = sizeof(mm_nets) / sizeof(mm_nets[0]);
	uint32_t data_off[8];
	struct buf data = { .n = 0 }, out = { .n = 0 };

	for (size_t i = 0; i < nnets; i++) {
		data_off[i] = data.n;
		bool coords = mm_nets[i].lat != 0;
		put_map(&data, coords ? 3 : 2);
		put_str(&data, "continent");
		put_map(&data, 1);
		put_str(&data, "code");
		put_str(&data, mm_nets[i].cont);
		put_str(&data, "country");
		put_map(&data, 1);
		put_str(&data, "iso_code");
		put_str(&data, mm_nets[i].cc);
		if (coords) {
			put_str(&data, "location");
			put_map(&data, 2);
			put_str(&data, "latitude");
			put_double(&data, mm_nets[i].lat);
			put_str(&data, "longitude");
			put_double(&data, mm_nets[i].lon);
		}
		uint8_t a[16];
		assert_int_equal(inet_pton(AF_INET6, mm_nets[i].addr, a), 1);
		uint32_t cur = 0;
		for (unsigned d = 0; d < mm_nets[i].len; d++) {
			int bit = (a[d / 8] >> (7 - d % 8)) & 1;
			if (d == mm_nets[i].len - 1) {
				nodes[cur].rec[bit] = ~(uint32_t)i;
				break;
			}
			if (nodes[cur].rec[bit] == 0) {
				assert_true(nn < 1024);
				nodes[cur].rec[bit] = ++nn - 1 + 1;
			}
			cur = nodes[cur].rec[bit] - 1;
		}
	}
	/* Serialize the tree: 24-bit records; node_count = empty. */
	for (uint32_t i = 0; i < nn; i++) {
		for (int r = 0; r < 2; r++) {
			uint32_t v = nodes[i].rec[r], rec;
			if (v == 0)
				rec = nn;
			else if (v > 0x80000000u)
				rec = nn + 16 + data_off[~v];
			else
				rec = v - 1;
			put_u8(&out, rec >> 16);
			put_u8(&out, rec >> 8);
			put_u8(&out, rec);
		}
	}
	static const uint8_t zero16[16];
	put(&out, zero16, 16);
	put(&out, data.b, data.n);
	put(&out, "\xab\xcd\xefMaxMind.com", 14);
	put_map(&out, 9);
	put_str(&out, "node_count");
	put_uint(&out, 6, nn, 4);
	put_str(&out, "record_size");
	put_uint(&out, 5, 24, 2);
	put_str(&out, "ip_version");
	put_uint(&out, 5, 6, 2);
	put_str(&out, "database_type");
	put_str(&out, "Vane-Test");
	put_str(&out, "languages");
	put_u8(&out, 0);          /* array of 0 entries: extended type 11 */
	put_u8(&out, 11 - 7);
	put_str(&out, "binary_format_major_version");
	put_uint(&out, 5, 2, 2);
	put_str(&out, "binary_format_minor_version");
	put_uint(&out, 5, 0, 2);
	put_str(&out, "build_epoch");
	put_uint(&out, 9, 1700000000, 8);
	put_str(&out, "description");
	put_map(&out, 0);
	FILE *f = fopen(mmdb_path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(out.b, 1, out.n, f), out.n);
	fclose(f);
}

static int setup(void **state)
{
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(loc_path, sizeof(loc_path), "%s/test.db", tmpdir);
	snprintf(nets_path, sizeof(nets_path), "%s/nets.txt", tmpdir);
	snprintf(mmdb_path, sizeof(mmdb_path), "%s/test.mmdb", tmpdir);
	build_loc_db();
	build_mmdb();
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* --- helpers ------------------------------------------------------------- */

static struct geo_info lookup(const struct geo_db *db, struct geo_cache *c, const char *ip)
{
	uint8_t a[16];
	struct geo_info gi;
	int fam = strchr(ip, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(fam, ip, a), 1);
	assert_int_equal(geo_lookup(db, c, fam, a, &gi), 0);
	return gi;
}

#define assert_geo(gi, cont, cc, pfx)                        \
	do {                                                 \
		assert_string_equal((gi).continent, (cont)); \
		assert_string_equal((gi).country, (cc));     \
		assert_int_equal((gi).prefix, (pfx));        \
	} while (0)

static struct geo_db *open_ok(const char *path, const char *nets)
{
	struct errs e = { 0 };
	struct geo_db *db = NULL;
	int r = geo_open(path, nets, &db, collect, &e);
	if (r != 0)
		fail_msg("geo_open: %s (%s)", vane_strerror(r), e.n ? e.msgs[0] : "");
	assert_int_equal(e.n, 0);
	return db;
}

/* --- libloc backend ------------------------------------------------------ */

static void loc_basic(void **state)
{
	struct geo_db *db = open_ok(loc_path, NULL);
	assert_string_equal(geo_backend(db), "libloc");
	/* 10.4.0.0/14 is the widest block around 10.5.5.5 free of the more
	 * specific 10.1/16 and 10.2/16, so that is the scope, not /8. */
	assert_geo(lookup(db, NULL, "10.5.5.5"), "EU", "DE", 14);
	assert_geo(lookup(db, NULL, "10.1.3.3"), "EU", "FR", 24);
	assert_geo(lookup(db, NULL, "10.1.2.3"), "NA", "US", 24);
	assert_geo(lookup(db, NULL, "192.0.2.77"), "AS", "JP", 24);
	assert_geo(lookup(db, NULL, "198.51.100.5"), "NA", "CA", 25);
	assert_geo(lookup(db, NULL, "198.51.100.200"), "NA", "MX", 25);
	/* The ASN-only 10.2.0.0/16 has no country: the /8 answers. */
	struct geo_info gi = lookup(db, NULL, "10.2.3.4");
	assert_string_equal(gi.country, "DE");
	assert_true(gi.prefix >= 8 && gi.prefix <= 16);
	assert_false(gi.has_coords);
	geo_close(db);
}

static void loc_ipv6(void **state)
{
	struct geo_db *db = open_ok(loc_path, NULL);
	assert_geo(lookup(db, NULL, "2001:db8:1::5"), "SA", "BR", 48);
	/* 2001:db8:2::/47 is free of the BR /48. */
	assert_geo(lookup(db, NULL, "2001:db8:2::1"), "EU", "NL", 47);
	/* ...and 2001:db8:8000::/33 of everything below it. */
	assert_geo(lookup(db, NULL, "2001:db8:ffff::1"), "EU", "NL", 33);
	geo_close(db);
}

static void loc_not_found(void **state)
{
	struct geo_db *db = open_ok(loc_path, NULL);
	/* Unknown: empty info, and a scope that covers no known network. */
	struct geo_info gi = lookup(db, NULL, "203.0.113.1");
	assert_string_equal(gi.country, "");
	assert_string_equal(gi.continent, "");
	assert_true(gi.prefix <= 8);
	gi = lookup(db, NULL, "2001:db9::1");
	assert_string_equal(gi.country, "");
	assert_true(gi.prefix > 0 && gi.prefix <= 32);
	uint8_t a[16] = { 0 };
	assert_int_equal(geo_lookup(db, NULL, 12345, a, &gi), VANE_EINVAL);
	geo_close(db);
}

/* Cached and uncached answers agree, including across the /25 split that
 * must not be cached per /24, and a new db generation misses. */
static void loc_cache(void **state)
{
	struct geo_db *db = open_ok(loc_path, NULL);
	struct geo_cache *c = geo_cache_new(4);
	assert_non_null(c);
	static const char *const ips[] = {
		"10.5.5.5", "10.5.5.6", "198.51.100.5", "198.51.100.200", "198.51.100.6",
		"10.1.2.3", "10.1.2.200", "2001:db8:1::5", "2001:db8:1:ffff::1",
		"2001:db8:2::1", "203.0.113.1",
	};
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
			struct geo_info a = lookup(db, c, ips[i]), b = lookup(db, NULL, ips[i]);
			assert_memory_equal(&a, &b, sizeof(a));
		}
	uint64_t hits, misses;
	geo_cache_stats(c, &hits, &misses);
	assert_true(hits > 0);
	assert_true(misses >= 5);

	/* Same cache, new database with an override: no stale answer. */
	write_file(nets_path, "10.5.0.0/16 OC AU\n");
	struct geo_db *db2 = open_ok(loc_path, nets_path);
	assert_geo(lookup(db2, c, "10.5.5.5"), "OC", "AU", 16);
	assert_geo(lookup(db, c, "10.5.5.5"), "EU", "DE", 14);
	geo_close(db2);
	geo_cache_free(c);
	geo_close(db);
}

/* --- nets overrides ------------------------------------------------------ */

static void nets_override(void **state)
{
	write_file(nets_path,
		   "# operator overrides\n"
		   "\n"
		   "10.1.2.128/25  OC AU  -33.87 151.21   # Sydney office\n"
		   "2001:db8:1::/48 AF ZA\n"
		   "192.0.2.0/24 eu de\n"
		   "203.0.113.0/24 AS SG 1.29 103.85\n");
	struct geo_db *db = open_ok(loc_path, nets_path);
	struct geo_cache *c = geo_cache_new(0);
	for (int round = 0; round < 2; round++) {
		struct geo_info gi = lookup(db, c, "10.1.2.200");
		assert_geo(gi, "OC", "AU", 25);
		assert_true(gi.has_coords);
		assert_true(gi.lat < -33.8 && gi.lat > -33.9 && gi.lon > 151.2);
		/* The override punches a hole into the db's /24. */
		assert_geo(lookup(db, c, "10.1.2.5"), "NA", "US", 25);
		assert_geo(lookup(db, c, "2001:db8:1::1"), "AF", "ZA", 48);
		assert_geo(lookup(db, c, "192.0.2.1"), "EU", "DE", 24);
		assert_geo(lookup(db, c, "203.0.113.9"), "AS", "SG", 24);
		assert_geo(lookup(db, c, "10.5.5.5"), "EU", "DE", 14);
	}
	geo_cache_free(c);
	geo_close(db);

	/* Longest override wins over a shorter one. */
	write_file(nets_path, "10.0.0.0/8 AS JP\n10.9.0.0/16 SA BR\n");
	db = open_ok(loc_path, nets_path);
	assert_geo(lookup(db, NULL, "10.9.1.1"), "SA", "BR", 16);
	assert_geo(lookup(db, NULL, "10.1.2.3"), "AS", "JP", 13);
	geo_close(db);
}

static void nets_errors(void **state)
{
	write_file(nets_path,
		   "10.0.0.0/8 EU DE\n"
		   "10.0.0.1/8 EU DE\n"          /* 2: host bits */
		   "10.0.0.0/33 EU DE\n"         /* 3: prefix */
		   "10.9.0.0/16 XX DE\n"         /* 4: continent */
		   "10.8.0.0/16 EU DEU\n"        /* 5: country */
		   "10.7.0.0/16 EU DE 91 0\n"    /* 6: latitude */
		   "10.6.0.0/16 EU DE 1\n"       /* 7: field count */
		   "10.0.0.0/8 EU FR\n"          /* 8: duplicate */
		   "not-an-ip/8 EU FR\n");       /* 9: address */
	struct errs e = { 0 };
	struct geo_db *db = NULL;
	assert_int_equal(geo_open(loc_path, nets_path, &db, collect, &e), VANE_ESYNTAX);
	assert_null(db);
	assert_int_equal(e.n, 8);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(e.lines[i], i + 2);
	assert_non_null(strstr(e.msgs[0], "nets.txt:2: "));
	assert_non_null(strstr(e.msgs[6], "duplicate network (first on line 1)"));

	e.n = 0;
	assert_int_equal(geo_open(loc_path, "/nonexistent/nets.txt", &db, collect, &e),
			 VANE_ENOENT);
	assert_int_equal(e.n, 1);
}

/* --- database errors ----------------------------------------------------- */

static void db_errors(void **state)
{
	struct errs e = { 0 };
	struct geo_db *db = NULL;
	assert_int_equal(geo_open("/nonexistent/location.db", NULL, &db, collect, &e),
			 VANE_ENOENT);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msgs[0], "/nonexistent/location.db"));
	assert_non_null(strstr(e.msgs[0], "No such file"));

	char bad[300];
	snprintf(bad, sizeof(bad), "%s/garbage.db", tmpdir);
	write_file(bad, "this is not a database at all, not even close....\n");
	e.n = 0;
	assert_true(geo_open(bad, NULL, &db, collect, &e) < 0);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msgs[0], "not a libloc database"));

	/* A truncated copy of a valid database. */
	FILE *in = fopen(loc_path, "r"), *out = fopen(bad, "w");
	assert_non_null(in);
	assert_non_null(out);
	char chunk[5000];
	size_t n = fread(chunk, 1, sizeof(chunk), in);
	assert_true(n > 4200);
	fwrite(chunk, 1, 4200, out);
	fclose(in);
	fclose(out);
	e.n = 0;
	assert_true(geo_open(bad, NULL, &db, collect, &e) < 0);
	assert_true(e.n >= 1);
	assert_non_null(strstr(e.msgs[0], "corrupt"));

	e.n = 0;
	assert_int_equal(geo_open("/nonexistent/x.mmdb", NULL, &db, collect, &e),
			 VANE_ENOENT);
	assert_int_equal(e.n, 1);
	snprintf(bad, sizeof(bad), "%s/garbage.mmdb", tmpdir);
	write_file(bad, "not a maxmind db\n");
	e.n = 0;
	assert_true(geo_open(bad, NULL, &db, collect, &e) < 0);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msgs[0], "not a valid MaxMind DB"));
}

/* --- mmdb backend -------------------------------------------------------- */

static void mmdb_basic(void **state)
{
	struct geo_db *db = open_ok(mmdb_path, NULL);
	assert_string_equal(geo_backend(db), "mmdb");
	struct geo_cache *c = geo_cache_new(0);
	for (int round = 0; round < 2; round++) {
		struct geo_info gi = lookup(db, c, "192.0.2.1");
		assert_geo(gi, "EU", "DE", 24);
		assert_true(gi.has_coords);
		assert_true(gi.lat == 52.5 && gi.lon == 13.4);
		gi = lookup(db, c, "198.51.100.77");
		assert_geo(gi, "OC", "AU", 22);
		assert_true(gi.lat == -33.9);
		gi = lookup(db, c, "2001:db8:5::1");
		assert_geo(gi, "NA", "US", 32);
		assert_false(gi.has_coords);
		gi = lookup(db, c, "203.0.113.1");
		assert_string_equal(gi.country, "");
		assert_true(gi.prefix <= 8);
	}
	geo_cache_free(c);
	geo_close(db);

	/* Overrides work over mmdb too. */
	write_file(nets_path, "192.0.2.128/25 NA US\n");
	db = open_ok(mmdb_path, nets_path);
	assert_geo(lookup(db, NULL, "192.0.2.129"), "NA", "US", 25);
	assert_geo(lookup(db, NULL, "192.0.2.1"), "EU", "DE", 25);
	geo_close(db);
}

/* --- the real Debian database -------------------------------------------- */

static bool have_real_db(void)
{
	if (access(GEO_DEFAULT_DB, R_OK) == 0)
		return true;
	print_message("skipping: %s absent (libloc-database)\n", GEO_DEFAULT_DB);
	return false;
}

static void real_db(void **state)
{
	if (!have_real_db())
		skip();
	struct geo_db *db = open_ok(NULL, NULL);
	struct geo_info gi = lookup(db, NULL, "8.8.8.8");
	assert_string_equal(gi.country, "US");
	assert_string_equal(gi.continent, "NA");
	assert_true(gi.prefix >= 8 && gi.prefix <= 24);
	gi = lookup(db, NULL, "193.0.6.139");      /* RIPE NCC */
	assert_string_equal(gi.country, "NL");
	assert_string_equal(gi.continent, "EU");
	gi = lookup(db, NULL, "2001:67c:2e8::1");  /* RIPE NCC */
	assert_string_equal(gi.country, "NL");
	assert_string_equal(gi.continent, "EU");
	assert_true(gi.prefix >= 29 && gi.prefix <= 48);
	gi = lookup(db, NULL, "1.1.1.1");
	print_message("1.1.1.1 -> %s/%s /%u\n", gi.continent, gi.country, gi.prefix);
	gi = lookup(db, NULL, "8.8.8.8");
	print_message("8.8.8.8 -> %s/%s /%u\n", gi.continent, gi.country, gi.prefix);
	geo_close(db);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A random address sharing the first `prefix` bits of `a` (16 bytes). */
static void random_in_block(const uint8_t a[16], unsigned prefix, uint8_t out[16])
{
	for (int i = 0; i < 16; i++)
		out[i] = rnd();
	for (unsigned i = 0; i < prefix; i++) {
		uint8_t m = 0x80 >> (i % 8);
		out[i / 8] = (out[i / 8] & ~m) | (a[i / 8] & m);
	}
}

/*
 * Against libloc's own lookup on random addresses: where libloc's network
 * has a country we must agree, and our scope must be at least that network's
 * prefix; every other address in our scope block must get the same country
 * from libloc too (the scope never spans a different answer).
 */
static void real_db_differential(void **state)
{
	if (!have_real_db())
		skip();
	struct geo_db *db = open_ok(NULL, NULL);
	struct loc_ctx *ctx = NULL;
	struct loc_database *ldb = NULL;
	FILE *f = fopen(GEO_DEFAULT_DB, "r");
	assert_non_null(f);
	assert_int_equal(loc_new(&ctx), 0);
	loc_set_log_priority(ctx, 0);
	assert_int_equal(loc_database_new(ctx, &ldb, f), 0);

	unsigned agree = 0, blocks = 0;
	for (int i = 0; i < 20000; i++) {
		bool v4 = i % 2 == 0;
		struct in6_addr a = { 0 };
		for (int j = 0; j < 16; j++)
			a.s6_addr[j] = rnd();
		if (v4) {
			memset(a.s6_addr, 0, 10);
			a.s6_addr[10] = a.s6_addr[11] = 0xff;
		} else {
			a.s6_addr[0] = 0x20 | (a.s6_addr[0] & 0x1f);  /* 2000::/3 */
		}
		struct geo_info gi;
		assert_int_equal(geo_lookup(db, NULL, v4 ? AF_INET : AF_INET6,
					    v4 ? a.s6_addr + 12 : a.s6_addr, &gi), 0);
		struct loc_network *n = NULL;
		int r = loc_database_lookup(ldb, &a, &n);
		const char *cc = (r == 0 && n) ? loc_network_get_country_code(n) : NULL;
		if (cc != NULL && cc[0]) {
			assert_string_equal(gi.country, cc);
			/* libloc reports IPv4 prefixes in IPv4 terms. */
			unsigned np = loc_network_prefix(n);
			if (gi.prefix < np)
				fail_msg("%s: scope /%u narrower than network %s",
					 loc_network_str(n), gi.prefix, loc_network_str(n));
			agree++;
		}
		if (n != NULL)
			loc_network_unref(n);

		/* Another address inside our scope block. */
		struct in6_addr b;
		unsigned depth = gi.prefix + (v4 ? 96 : 0);
		random_in_block(a.s6_addr, depth, b.s6_addr);
		n = NULL;
		r = loc_database_lookup(ldb, &b, &n);
		cc = (r == 0 && n) ? loc_network_get_country_code(n) : NULL;
		if (cc != NULL && cc[0]) {
			assert_string_equal(gi.country, cc);
			blocks++;
		}
		if (n != NULL)
			loc_network_unref(n);
	}
	print_message("differential: %u country matches, %u block checks\n", agree, blocks);
	assert_true(agree > 5000);
	loc_database_unref(ldb);
	loc_unref(ctx);
	fclose(f);
	geo_close(db);
}

/* --- concurrency ---------------------------------------------------------- */

struct thr {
	const struct geo_db *db;
	unsigned seed;
	unsigned mismatches;
};

static void *reader(void *arg)
{
	struct thr *t = arg;
	struct geo_cache *c = geo_cache_new(8);
	uint64_t s = t->seed;
	for (int i = 0; i < 200000; i++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		uint8_t a[4] = { 10, (s >> 40) & 3, (s >> 48) & 3, s >> 56 };
		if (i & 1)
			a[0] = 198, a[1] = 51, a[2] = 100;
		struct geo_info x, y;
		if (geo_lookup(t->db, c, AF_INET, a, &x) != 0 ||
		    geo_lookup(t->db, NULL, AF_INET, a, &y) != 0 ||
		    memcmp(&x, &y, sizeof(x)) != 0)
			t->mismatches++;
	}
	geo_cache_free(c);
	return NULL;
}

static void concurrent_readers(void **state)
{
	write_file(nets_path, "10.3.0.0/16 AS JP\n");
	struct geo_db *db = open_ok(loc_path, nets_path);
	pthread_t th[4];
	struct thr t[4];
	for (int i = 0; i < 4; i++) {
		t[i] = (struct thr){ .db = db, .seed = i + 1 };
		assert_int_equal(pthread_create(&th[i], NULL, reader, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(t[i].mismatches, 0);
	}
	geo_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(loc_basic),
		cmocka_unit_test(loc_ipv6),
		cmocka_unit_test(loc_not_found),
		cmocka_unit_test(loc_cache),
		cmocka_unit_test(nets_override),
		cmocka_unit_test(nets_errors),
		cmocka_unit_test(db_errors),
		cmocka_unit_test(mmdb_basic),
		cmocka_unit_test(real_db),
		cmocka_unit_test(real_db_differential),
		cmocka_unit_test(concurrent_readers),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
