/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libloc backend.
 *
 * libloc opens and validates the file and supplies the country -> continent
 * table, but lookups walk the database's network tree (format v1, declared in
 * the installed <libloc/format.h>) directly over our own read-only mapping:
 *
 * - loc_database_lookup() is not safe for concurrent readers in libloc
 *   0.9.16: every lookup allocates a loc_network that takes a reference on
 *   the shared loc_ctx with a plain, non-atomic `refcount++` (loc_ref is a bare
 *   `addl $1,(%rdi)`), and loc_unref frees the context when a racing
 *   decrement reads zero.  It would need a global mutex.
 * - It allocates twice per lookup; the walk below allocates nothing.
 * - It returns only the matched network, not where the tree path ended, and
 *   the latter is what gives a correct ECS scope (see geo.h).
 * - It returns the deepest network even when that network carries only an
 *   ASN and no country; we want the deepest one that has a country.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIBLOC_PRIVATE /* for the on-disk structures in format.h */
#include <libloc/libloc.h>
#include <libloc/database.h>
#include <libloc/country.h>
#include <libloc/format.h>

#include "geo/internal.h"

typedef struct loc_database_network_node_v1 loc_node_t;
typedef struct loc_database_network_v1 loc_net_t;

#define NO_NETWORK 0xffffffffu

struct walk {
	const loc_node_t *node; /* last node reached */
	unsigned depth;         /* its depth */
	uint32_t best;          /* deepest network with a country, or NO_NETWORK */
	bool ended;             /* the path ended at `node` */
	uint8_t scope;          /* valid when ended */
};

struct geo_loc {
	void *map;
	size_t map_len;
	const loc_node_t *nodes;
	uint32_t nnodes;
	const loc_net_t *nets;
	uint32_t nnets;
	char continent[26 * 26][2]; /* by country code; "\0\0" = unknown */
	struct walk v4;             /* state after ::ffff:0:0/96, see below */
};

static void walk_v4_prefix(struct geo_loc *l);

static int cc_index(const char cc[2])
{
	if (cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z')
		return -1;
	return (cc[0] - 'A') * 26 + (cc[1] - 'A');
}

/* Check that a section lies inside the file and holds whole records. */
static int section(struct geo_loc *l, const char *path, struct geo_report *rep,
		   uint32_t off_be, uint32_t len_be, size_t recsize,
		   const void **base, uint32_t *count, const char *what)
{
	uint64_t off = be32toh(off_be), len = be32toh(len_be);
	if (off + len > l->map_len || len % recsize != 0) {
		geo_error(rep, path, 0, "corrupt libloc database: %s section "
			  "outside the file (truncated?)", what);
		return VANE_EMALF;
	}
	*base = (const uint8_t *)l->map + off;
	*count = len / recsize;
	return 0;
}

static int map_file(struct geo_loc *l, const char *path, struct geo_report *rep)
{
	int ret = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		geo_error(rep, path, 0, "cannot open geo database: %s%s", strerror(errno),
			  errno == ENOENT ? " (install libloc-database or set "
			  "geo.database)" : "");
		return ret;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		ret = -errno;
		geo_error(rep, path, 0, "cannot stat geo database: %s", strerror(errno));
		goto out;
	}
	l->map_len = st.st_size;
	const size_t hlen = sizeof(struct loc_database_magic) +
			    sizeof(struct loc_database_header_v1);
	if (l->map_len < hlen) {
		geo_error(rep, path, 0, "not a libloc database: file too short");
		ret = VANE_EMALF;
		goto out;
	}
	l->map = mmap(NULL, l->map_len, PROT_READ, MAP_SHARED, fd, 0);
	if (l->map == MAP_FAILED) {
		ret = -errno;
		l->map = NULL;
		geo_error(rep, path, 0, "cannot map geo database: %s", strerror(errno));
	}
out:
	close(fd);
	return ret;
}

static int parse_header(struct geo_loc *l, const char *path, struct geo_report *rep)
{
	const struct loc_database_magic *magic = l->map;
	if (memcmp(magic->magic, LOC_DATABASE_MAGIC, strlen(LOC_DATABASE_MAGIC)) != 0) {
		geo_error(rep, path, 0, "not a libloc database (bad magic)");
		return VANE_EMALF;
	}
	if (magic->version != LOC_DATABASE_VERSION_1) {
		geo_error(rep, path, 0, "unsupported libloc database version %u",
			  magic->version);
		return VANE_ENOTSUP;
	}
	struct loc_database_header_v1 h;
	memcpy(&h, magic + 1, sizeof(h));
	const void *p;
	int ret = section(l, path, rep, h.network_tree_offset, h.network_tree_length,
			  sizeof(loc_node_t), &p, &l->nnodes, "network tree");
	if (ret != 0)
		return ret;
	l->nodes = p;
	ret = section(l, path, rep, h.network_data_offset, h.network_data_length,
		      sizeof(loc_net_t), &p, &l->nnets, "network data");
	if (ret != 0)
		return ret;
	l->nets = p;
	if (l->nnodes == 0) {
		geo_error(rep, path, 0, "corrupt libloc database: empty network tree");
		return VANE_EMALF;
	}
	return 0;
}

/* Let libloc itself validate the file, and copy its continent table. */
static int load_countries(struct geo_loc *l, const char *path, struct geo_report *rep)
{
	struct loc_ctx *ctx = NULL;
	struct loc_database *db = NULL;
	int ret = 0;
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		ret = -errno;
		geo_error(rep, path, 0, "cannot open geo database: %s", strerror(errno));
		return ret;
	}
	if (loc_new(&ctx) != 0) {
		ret = VANE_ENOMEM;
		goto out;
	}
	loc_set_log_priority(ctx, 0); /* we report errors ourselves */
	if (loc_database_new(ctx, &db, f) != 0) {
		geo_error(rep, path, 0, "libloc cannot read this database (corrupt?)");
		ret = VANE_EMALF;
		goto out;
	}
	for (int i = 0; i < 26 * 26; i++) {
		char cc[3] = { 'A' + i / 26, 'A' + i % 26, 0 };
		struct loc_country *c = NULL;
		if (loc_database_get_country(db, &c, cc) != 0 || c == NULL)
			continue;
		const char *cont = loc_country_get_continent_code(c);
		if (cont != NULL && cont[0] && cont[1])
			memcpy(l->continent[i], cont, 2);
		loc_country_unref(c);
	}
out:
	if (db != NULL)
		loc_database_unref(db);
	if (ctx != NULL)
		loc_unref(ctx);
	fclose(f);
	return ret;
}

int geo_loc_open(const char *path, struct geo_report *rep, struct geo_loc **out)
{
	struct geo_loc *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return VANE_ENOMEM;
	int ret = map_file(l, path, rep);
	if (ret == 0)
		ret = parse_header(l, path, rep);
	if (ret == 0)
		ret = load_countries(l, path, rep);
	if (ret == 0)
		walk_v4_prefix(l);
	if (ret != 0) {
		geo_loc_close(l);
		return ret;
	}
	*out = l;
	return 0;
}

void geo_loc_close(struct geo_loc *l)
{
	if (l == NULL)
		return;
	if (l->map != NULL)
		munmap(l->map, l->map_len);
	free(l);
}

/*
 * Longest-prefix match along the address's path, as loc_database_lookup()
 * does, but keeping the deepest network that has a country.  The scope is
 * where the path ends: every address that follows the same path to the last
 * node ends with the same answer (RFC 7871 section 7.2.1 asks for the widest
 * such prefix we can tell).  Walks from `w` down to depth `stop`.
 */
static void walk(const struct geo_loc *l, const uint8_t a[16], struct walk *w,
		 unsigned stop)
{
	const loc_node_t *n = w->node;
	unsigned depth = w->depth;

	for (;;) {
		uint32_t net = be32toh(n->network);
		if (net != NO_NETWORK && net < l->nnets && l->nets[net].country_code[0])
			w->best = net;
		if (depth == 128) {
			w->ended = true;
			w->scope = 128;
			break;
		}
		if (depth == stop)
			break;
		uint32_t zero = be32toh(n->zero), one = be32toh(n->one);
		uint32_t next = geo_bit(a, depth) ? one : zero;
		if (next == 0 || next >= l->nnodes) {
			/* Leaving this node the other way could change the answer
			 * only if there is another way. */
			w->ended = true;
			w->scope = (zero || one) ? depth + 1 : depth;
			break;
		}
		n = &l->nodes[next];
		depth++;
	}
	w->node = n;
	w->depth = depth;
}

/* Every IPv4 address shares the first 96 bits (::ffff:0:0/96): walk them
 * once at open, so IPv4 lookups start 96 levels down. */
static void walk_v4_prefix(struct geo_loc *l)
{
	static const uint8_t v4[16] = { [10] = 0xff, [11] = 0xff };
	l->v4 = (struct walk){ .node = &l->nodes[0], .best = NO_NETWORK };
	walk(l, v4, &l->v4, GEO_V4_DEPTH);
}

void geo_loc_lookup(const struct geo_loc *l, const uint8_t a[16], struct geo_hit *hit)
{
	struct walk w = { .node = &l->nodes[0], .best = NO_NETWORK };
	static const uint8_t v4map[12] = { [10] = 0xff, [11] = 0xff };

	if (memcmp(a, v4map, sizeof(v4map)) == 0)
		w = l->v4;
	if (!w.ended)
		walk(l, a, &w, 128);

	memset(hit, 0, sizeof(*hit));
	hit->scope = w.scope;
	if (w.best == NO_NETWORK)
		return;
	const char *cc = l->nets[w.best].country_code;
	memcpy(hit->country, cc, 2);
	int i = cc_index(cc);
	if (i >= 0)
		memcpy(hit->continent, l->continent[i], 2);
}
