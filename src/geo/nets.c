/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Operator overrides ("nets" file): "CIDR CONTINENT COUNTRY [LAT LON]" per
 * line, '#' starts a comment.  Kept in a binary trie over 128-bit keys (IPv4
 * mapped), one small node per bit: lookups are a bounded walk with no
 * allocation, and the place where the walk ends gives the ECS scope.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geo/internal.h"

struct nets_node {
	uint32_t child[2];  /* 0 = none (the root is never a child) */
	int32_t ov;         /* index into ovs, -1 = none */
};

struct nets_ov {
	struct geo_hit hit; /* scope unused */
	unsigned long line;
};

struct nets_walk {
	uint32_t node;
	unsigned depth;
	int32_t best;
	bool ended;
	uint8_t scope;
};

struct geo_nets {
	struct nets_node *nodes;
	uint32_t nnodes, cap;
	struct nets_ov *ovs;
	uint32_t novs, ovcap;
	struct nets_walk v4;  /* state after ::ffff:0:0/96 */
};

static void nets_walk_v4_prefix(struct geo_nets *n);

static const char *const continents[] = { "AF", "AN", "AS", "EU", "NA", "OC", "SA" };

static int node_new(struct geo_nets *n, uint32_t *idx)
{
	if (n->nnodes == n->cap) {
		uint32_t cap = n->cap ? n->cap * 2 : 64;
		void *p = realloc(n->nodes, cap * sizeof(*n->nodes));
		if (p == NULL)
			return VANE_ENOMEM;
		n->nodes = p;
		n->cap = cap;
	}
	*idx = n->nnodes++;
	n->nodes[*idx] = (struct nets_node){ .ov = -1 };
	return 0;
}

/* Parse "addr/len" into a mapped 16-byte key and a depth; checks host bits. */
static const char *parse_cidr(const char *s, uint8_t key[16], unsigned *depth)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	if (slash == NULL)
		return "expected CIDR (address/prefix)";
	size_t alen = slash - s;
	if (alen >= sizeof(buf))
		return "invalid address";
	memcpy(buf, s, alen);
	buf[alen] = 0;
	char *end;
	errno = 0;
	unsigned long len = strtoul(slash + 1, &end, 10);
	if (*end || end == slash + 1 || errno)
		return "invalid prefix length";

	memset(key, 0, 16);
	if (inet_pton(AF_INET, buf, key + 12) == 1) {
		if (len > 32)
			return "IPv4 prefix length over 32";
		key[10] = key[11] = 0xff;
		*depth = GEO_V4_DEPTH + len;
	} else if (inet_pton(AF_INET6, buf, key) == 1) {
		if (len > 128)
			return "IPv6 prefix length over 128";
		*depth = len;
	} else {
		return "invalid address";
	}
	for (unsigned i = *depth; i < 128; i++)
		if (geo_bit(key, i))
			return "address has bits set past the prefix length";
	return NULL;
}

static const char *parse_code(const char *s, char out[2], bool continent)
{
	if (strlen(s) != 2 || !isalpha((unsigned char)s[0]) || !isalpha((unsigned char)s[1]))
		return continent ? "continent must be a two-letter code"
				 : "country must be a two-letter ISO 3166 code";
	out[0] = toupper((unsigned char)s[0]);
	out[1] = toupper((unsigned char)s[1]);
	if (!continent)
		return NULL;
	for (size_t i = 0; i < sizeof(continents) / sizeof(continents[0]); i++)
		if (memcmp(out, continents[i], 2) == 0)
			return NULL;
	return "unknown continent (AF AN AS EU NA OC SA)";
}

static const char *parse_coord(const char *s, double lim, double *out)
{
	char *end;
	errno = 0;
	*out = strtod(s, &end);
	if (*end || end == s || errno || *out < -lim || *out > lim)
		return lim == 90 ? "latitude must be a number in -90..90"
				 : "longitude must be a number in -180..180";
	return NULL;
}

/* Insert one override; reports duplicates.  Returns 0, 1 (reported) or
 * VANE_ENOMEM. */
static int insert(struct geo_nets *n, const uint8_t key[16], unsigned depth,
		  const struct nets_ov *ov, const char *path, struct geo_report *rep)
{
	uint32_t cur = 0;
	for (unsigned i = 0; i < depth; i++) {
		int b = geo_bit(key, i);
		if (n->nodes[cur].child[b] == 0) {
			uint32_t idx;
			if (node_new(n, &idx) != 0)
				return VANE_ENOMEM;
			n->nodes[cur].child[b] = idx;
		}
		cur = n->nodes[cur].child[b];
	}
	if (n->nodes[cur].ov >= 0) {
		geo_error(rep, path, ov->line, "duplicate network (first on line %lu)",
			  n->ovs[n->nodes[cur].ov].line);
		return 1;
	}
	if (n->novs == n->ovcap) {
		uint32_t cap = n->ovcap ? n->ovcap * 2 : 16;
		void *p = realloc(n->ovs, cap * sizeof(*n->ovs));
		if (p == NULL)
			return VANE_ENOMEM;
		n->ovs = p;
		n->ovcap = cap;
	}
	n->ovs[n->novs] = *ov;
	n->nodes[cur].ov = n->novs++;
	return 0;
}

/* One non-empty line, already split into fields. */
static int parse_line(struct geo_nets *n, char **f, int nf, unsigned long line,
		      const char *path, struct geo_report *rep)
{
	struct nets_ov ov = { .line = line };
	uint8_t key[16];
	unsigned depth;
	const char *msg = NULL;

	if (nf != 3 && nf != 5)
		msg = "expected: CIDR CONTINENT COUNTRY [LAT LON]";
	if (msg == NULL)
		msg = parse_cidr(f[0], key, &depth);
	if (msg == NULL)
		msg = parse_code(f[1], ov.hit.continent, true);
	if (msg == NULL)
		msg = parse_code(f[2], ov.hit.country, false);
	if (msg == NULL && nf == 5) {
		msg = parse_coord(f[3], 90, &ov.hit.lat);
		if (msg == NULL)
			msg = parse_coord(f[4], 180, &ov.hit.lon);
		geo_hit_set_coords(&ov.hit, ov.hit.lat, ov.hit.lon);
	}
	if (msg != NULL) {
		geo_error(rep, path, line, "%s", msg);
		return 1;
	}
	return insert(n, key, depth, &ov, path, rep);
}

int geo_nets_load(const char *path, struct geo_report *rep, struct geo_nets **out)
{
	struct geo_nets *n = calloc(1, sizeof(*n));
	char *buf = NULL;
	size_t cap = 0;
	unsigned long line = 0;
	int ret = 0;
	uint32_t root;

	if (n == NULL || node_new(n, &root) != 0) {
		ret = VANE_ENOMEM;
		goto fail;
	}
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		ret = -errno;
		geo_error(rep, path, 0, "cannot open geo nets file: %s", strerror(errno));
		goto fail;
	}
	unsigned bad = 0;
	while (getline(&buf, &cap, f) > 0) {
		line++;
		char *hash = strchr(buf, '#');
		if (hash != NULL)
			*hash = 0;
		char *fields[6], *save = NULL, *tok;
		int nf = 0;
		for (tok = strtok_r(buf, " \t\r\n", &save); tok != NULL && nf < 6;
		     tok = strtok_r(NULL, " \t\r\n", &save))
			fields[nf++] = tok;
		if (nf == 0)
			continue;
		int r = parse_line(n, fields, nf, line, path, rep);
		if (r < 0) {
			ret = r;
			break;
		}
		bad += r;
	}
	if (ret == 0 && ferror(f)) {
		ret = VANE_EINVAL;
		geo_error(rep, path, line, "read error");
	}
	fclose(f);
	if (ret == 0 && bad > 0)
		ret = VANE_ESYNTAX;
	if (ret != 0)
		goto fail;
	free(buf);
	nets_walk_v4_prefix(n);
	*out = n;
	return 0;
fail:
	free(buf);
	geo_nets_free(n);
	return ret;
}

void geo_nets_free(struct geo_nets *n)
{
	if (n == NULL)
		return;
	free(n->nodes);
	free(n->ovs);
	free(n);
}

/* Walk from `w` down to depth `stop` (see walk() in loc.c). */
static void nets_walk(const struct geo_nets *n, const uint8_t a[16],
		      struct nets_walk *w, unsigned stop)
{
	const struct nets_node *nd = &n->nodes[w->node];
	unsigned depth = w->depth;

	for (;;) {
		if (nd->ov >= 0)
			w->best = nd->ov;
		if (depth == 128) {
			w->ended = true;
			w->scope = 128;
			break;
		}
		if (depth == stop)
			break;
		uint32_t next = nd->child[geo_bit(a, depth)];
		if (next == 0) {
			w->ended = true;
			w->scope = (nd->child[0] || nd->child[1]) ? depth + 1 : depth;
			break;
		}
		nd = &n->nodes[next];
		depth++;
	}
	w->node = nd - n->nodes;
	w->depth = depth;
}

static const uint8_t v4map[16] = { [10] = 0xff, [11] = 0xff };

/* IPv4 lookups start below ::ffff:0:0/96, walked once at load. */
static void nets_walk_v4_prefix(struct geo_nets *n)
{
	n->v4 = (struct nets_walk){ .best = -1 };
	nets_walk(n, v4map, &n->v4, GEO_V4_DEPTH);
}

/* Longest match along the path; the scope is where the path ends, as in the
 * libloc walk (see loc.c). */
bool geo_nets_lookup(const struct geo_nets *n, const uint8_t a[16],
		     struct geo_hit *hit, uint8_t *scope)
{
	struct nets_walk w = { .best = -1 };

	if (memcmp(a, v4map, 12) == 0)
		w = n->v4;
	if (!w.ended)
		nets_walk(n, a, &w, 128);
	*scope = w.scope;
	if (w.best < 0)
		return false;
	*hit = n->ovs[w.best].hit;
	return true;
}
