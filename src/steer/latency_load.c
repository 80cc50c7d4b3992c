/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Latency tables: the file parser and the copy-on-write changes the runtime
 * publishes (see latency_load.h).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/schema.h"
#include "lib/report.h"
#include "steer/latency_load.h"

/* A table under construction: row arrays grow, so keep their capacities. */
struct lbuild {
	struct steer_latency_table *t;
	const struct steer_set *set;
	uint32_t *cap;                  /* per service: rows allocated */
};

void steer_latency_free(struct steer_latency_table *t)
{
	if (!t)
		return;
	for (uint32_t s = 0; t->svc && s < t->nsvc; s++) {
		for (uint32_t r = 0; r < t->svc[s].nrows; r++)
			free((uint32_t *)t->svc[s].rows[r].lat.rtt_ms);
		free(t->svc[s].rows);
	}
	free(t->svc);
	free(t);
}

static int lbuild_init(struct lbuild *b, const struct steer_set *set)
{
	uint32_t n = set ? set->n : 0;
	memset(b, 0, sizeof(*b));
	b->set = set;
	b->t = calloc(1, sizeof(*b->t));
	if (!b->t)
		return VANE_ENOMEM;
	b->t->nsvc = n;
	b->t->svc = calloc(n ? n : 1, sizeof(*b->t->svc));
	b->cap = calloc(n ? n : 1, sizeof(*b->cap));
	return b->t->svc && b->cap ? 0 : VANE_ENOMEM;
}

static void lbuild_abort(struct lbuild *b)
{
	steer_latency_free(b->t);
	free(b->cap);
	b->t = NULL;
	b->cap = NULL;
}

/* Network rows longest prefix first (the lookup takes the first match),
 * location rows after them. */
static int row_cmp(const void *a, const void *b)
{
	const struct steer_latency_row *x = a, *y = b;
	int kx = x->family ? 256 - x->prefix : 1000, ky = y->family ? 256 - y->prefix : 1000;
	if (kx != ky)
		return kx - ky;
	if (x->family != y->family)
		return x->family - y->family;
	int c = memcmp(x->addr, y->addr, sizeof(x->addr));
	return c ? c : strcmp(x->location, y->location);
}

/* Network order: family, address, shorter prefix first, so the rows nested
 * inside a row follow it contiguously. */
static int row_net_cmp(const void *a, const void *b)
{
	const struct steer_latency_row *x = a, *y = b;
	if (x->family != y->family)
		return x->family - y->family;
	int c = memcmp(x->addr, y->addr, sizeof(x->addr));
	return c ? c : x->prefix - y->prefix;
}

static bool row_contains(const struct steer_latency_row *net, const struct steer_latency_row *r)
{
	if (r->family != net->family || r->prefix < net->prefix)
		return false;
	unsigned full = net->prefix / 8u, rest = net->prefix % 8u;
	if (memcmp(r->addr, net->addr, full) != 0)
		return false;
	uint8_t mask = (uint8_t)(0xFF << (8 - rest));
	return rest == 0 || (r->addr[full] & mask) == net->addr[full];
}

/*
 * The ECS scope of each row.  A network row's answer holds for its whole
 * network only if no longer row inside it answers differently, so its scope
 * is the longest prefix nested in it (RFC 7871 section 7.2.1: SCOPE must
 * cover every address the answer is valid for, no more).  Scanning the
 * nested run of each row costs rows x nesting depth (at most 129).
 * Location rows take the scope of the client's geo network at lookup.
 */
static void rows_scope(struct steer_latency_svc *ls)
{
	qsort(ls->rows, ls->nrows, sizeof(*ls->rows), row_net_cmp);
	for (uint32_t i = 0; i < ls->nrows; i++) {
		struct steer_latency_row *r = &ls->rows[i];
		if (r->family == 0) {
			r->lat.prefix = STEER_LAT_SCOPE_GEO;
			continue;
		}
		uint8_t scope = r->prefix;
		for (uint32_t j = i + 1; j < ls->nrows && row_contains(r, &ls->rows[j]); j++)
			if (ls->rows[j].prefix > scope)
				scope = ls->rows[j].prefix;
		r->lat.prefix = scope;
	}
}

static struct steer_latency_table *lbuild_finish(struct lbuild *b)
{
	struct steer_latency_table *t = b->t;
	for (uint32_t s = 0; s < t->nsvc; s++) {
		rows_scope(&t->svc[s]);
		if (t->svc[s].nrows > 1)
			qsort(t->svc[s].rows, t->svc[s].nrows, sizeof(*t->svc[s].rows), row_cmp);
	}
	free(b->cap);
	b->t = NULL;
	b->cap = NULL;
	return t;
}

/* CLIENT text into the key fields of `row`. */
static int parse_client(const char *s, struct steer_latency_row *row)
{
	char buf[64];
	memset(row, 0, sizeof(*row));
	if (strlen(s) == 2 && isalpha((unsigned char)s[0]) && isalpha((unsigned char)s[1])) {
		row->location[0] = (char)toupper((unsigned char)s[0]);
		row->location[1] = (char)toupper((unsigned char)s[1]);
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	unsigned max;
	if (inet_pton(AF_INET, buf, row->addr) == 1) {
		row->family = 1;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, row->addr) == 1) {
		row->family = 2;
		max = 128;
	} else {
		return VANE_EINVAL;
	}
	uint64_t prefix = max;
	if (slash && (conf_parse_uint(slash, &prefix) != 0 || prefix > max))
		return VANE_EINVAL;
	row->prefix = (uint8_t)prefix;
	/* Bits past the prefix would make the same network two rows. */
	for (unsigned bit = row->prefix; bit < 128; bit++)
		row->addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	return 0;
}

static bool same_key(const struct steer_latency_row *a, const struct steer_latency_row *b)
{
	return a->family == b->family && a->prefix == b->prefix &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0 &&
	       strcmp(a->location, b->location) == 0;
}

/* Set one cell, adding the row when it is new. */
static int lbuild_set(struct lbuild *b, uint32_t svc, const struct steer_latency_row *key,
		      uint32_t ep, uint32_t rtt)
{
	struct steer_latency_svc *ls = &b->t->svc[svc];
	uint32_t n_ep = b->set->svc[svc].n_ep;
	struct steer_latency_row *row = NULL;
	for (uint32_t r = 0; r < ls->nrows && !row; r++)
		if (same_key(&ls->rows[r], key))
			row = &ls->rows[r];
	if (!row) {
		if (ls->nrows == b->cap[svc]) {
			uint32_t cap = b->cap[svc] ? b->cap[svc] * 2 : 8;
			struct steer_latency_row *rows = realloc(ls->rows, cap * sizeof(*rows));
			if (!rows)
				return VANE_ENOMEM;
			ls->rows = rows;
			b->cap[svc] = cap;
		}
		uint32_t *rtt_ms = malloc((n_ep ? n_ep : 1) * sizeof(*rtt_ms));
		if (!rtt_ms)
			return VANE_ENOMEM;
		for (uint32_t i = 0; i < n_ep; i++)
			rtt_ms[i] = STEER_RTT_UNKNOWN;
		row = &ls->rows[ls->nrows++];
		*row = *key;
		row->lat.n = n_ep;
		row->lat.rtt_ms = rtt_ms;
		row->lat.prefix = key->prefix;   /* the scope: set by rows_scope */
	}
	((uint32_t *)row->lat.rtt_ms)[ep] = rtt;
	return 0;
}

static int find_service(const struct steer_set *set, const char *name)
{
	uint8_t wire[DNAME_MAXLEN];
	int len = dname_from_str(name, NULL, wire);
	if (len <= 0 || !set)
		return -1;
	dname_lower(wire);
	return steer_set_find(set, wire, (size_t)len, dname_hash(wire, (size_t)len));
}

static int find_endpoint(const struct steer_service *svc, const char *id)
{
	for (uint32_t e = 0; e < svc->n_ep; e++)
		if (strcmp(svc->ep[e].id, id) == 0)
			return (int)e;
	return -1;
}

/* One line of the file; problems are reported, not returned. */
static int load_line(struct report *f, struct lbuild *b, char *line, unsigned long lineno)
{
	char *hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	char *tok[5];
	unsigned n = 0;
	for (char *save = NULL, *t = strtok_r(line, " \t\r\n", &save); t;
	     t = strtok_r(NULL, " \t\r\n", &save))
		if (n < 5)
			tok[n++] = t;
		else
			n++;
	if (n == 0)
		return 0;
	if (n != 4) {
		report_error(f, lineno, "expected \"SERVICE ENDPOINT CLIENT RTT_MS\", got %u fields", n);
		return 0;
	}
	int s = find_service(b->set, tok[0]);
	if (s < 0) {
		report_error(f, lineno, "unknown service \"%.100s\"", tok[0]);
		return 0;
	}
	int e = find_endpoint(&b->set->svc[s], tok[1]);
	if (e < 0) {
		report_error(f, lineno, "service %.100s has no endpoint \"%.64s\"", tok[0], tok[1]);
		return 0;
	}
	struct steer_latency_row key;
	if (parse_client(tok[2], &key) != 0) {
		report_error(f, lineno, "client \"%.64s\": expected a CIDR, a country or a continent code",
		     tok[2]);
		return 0;
	}
	double ms;
	if (conf_parse_float(tok[3], &ms) != 0 || ms < 0 || ms >= 4e9) {
		report_error(f, lineno, "RTT \"%.32s\": expected milliseconds, e.g. 12 or 12.5", tok[3]);
		return 0;
	}
	return lbuild_set(b, (uint32_t)s, &key, (uint32_t)e, (uint32_t)(ms + 0.5));
}

int steer_latency_load(const char *path, const struct steer_set *set, vane_report_fn err,
		       void *ctx, struct steer_latency_table **out)
{
	struct report f = { .file = path, .fn = err, .ctx = ctx };
	struct lbuild b;
	char *line = NULL;
	size_t cap = 0;
	unsigned long lineno = 0;
	int ret = lbuild_init(&b, set);
	FILE *fp = NULL;

	if (ret != 0)
		goto fail;
	fp = fopen(path, "r");
	if (!fp) {
		ret = -errno;
		report_error(&f, 0, "cannot open: %s", strerror(errno));
		goto fail;
	}
	while (getline(&line, &cap, fp) >= 0) {
		ret = load_line(&f, &b, line, ++lineno);
		if (ret != 0)
			goto fail;
	}
	ret = f.errors ? VANE_ESYNTAX : 0;
	if (ret != 0)
		goto fail;
	fclose(fp);
	free(line);
	*out = lbuild_finish(&b);
	return 0;
fail:
	if (ret == VANE_ENOMEM)
		report_error(&f, lineno, "out of memory");
	if (fp)
		fclose(fp);
	free(line);
	lbuild_abort(&b);
	return ret;
}

/* Every known cell of `old` (for `old_set`) into `b`, mapped by names. */
static int copy_cells(struct lbuild *b, const struct steer_latency_table *old,
		      const struct steer_set *old_set)
{
	for (uint32_t s = 0; old && s < old->nsvc && s < old_set->n; s++) {
		const struct steer_service *os = &old_set->svc[s];
		int ns = b->set == old_set ? (int)s :
			 steer_set_find(b->set, os->name, os->name_len,
					dname_hash(os->name, os->name_len));
		if (ns < 0)
			continue;
		const struct steer_latency_svc *ls = &old->svc[s];
		for (uint32_t r = 0; r < ls->nrows; r++) {
			const struct steer_latency_row *row = &ls->rows[r];
			for (uint32_t e = 0; e < row->lat.n && e < os->n_ep; e++) {
				if (row->lat.rtt_ms[e] == STEER_RTT_UNKNOWN)
					continue;
				int ne = b->set == old_set ? (int)e :
					 find_endpoint(&b->set->svc[ns], os->ep[e].id);
				if (ne < 0)
					continue;
				int ret = lbuild_set(b, (uint32_t)ns, row, (uint32_t)ne,
						     row->lat.rtt_ms[e]);
				if (ret != 0)
					return ret;
			}
		}
	}
	return 0;
}

int steer_latency_set(const struct steer_latency_table *old, const struct steer_set *set,
		      uint32_t svc, uint32_t ep, const char *client, uint32_t rtt_ms,
		      struct steer_latency_table **out)
{
	struct steer_latency_row key;
	struct lbuild b;

	if (!set || svc >= set->n || ep >= set->svc[svc].n_ep || parse_client(client, &key) != 0)
		return VANE_EINVAL;
	int ret = lbuild_init(&b, set);
	if (ret == 0)
		ret = copy_cells(&b, old, set);
	if (ret == 0)
		ret = lbuild_set(&b, svc, &key, ep, rtt_ms);
	if (ret != 0) {
		lbuild_abort(&b);
		return ret;
	}
	*out = lbuild_finish(&b);
	return 0;
}

int steer_latency_remap(const struct steer_latency_table *old, const struct steer_set *old_set,
			const struct steer_set *new_set, struct steer_latency_table **out)
{
	struct lbuild b;

	*out = NULL;
	if (!old || !old_set)
		return 0;
	int ret = lbuild_init(&b, new_set);
	if (ret == 0)
		ret = copy_cells(&b, old, old_set);
	if (ret != 0) {
		lbuild_abort(&b);
		return ret;
	}
	*out = lbuild_finish(&b);
	return 0;
}

uint64_t steer_latency_cells(const struct steer_latency_table *t)
{
	uint64_t n = 0;
	for (uint32_t s = 0; t && s < t->nsvc; s++)
		for (uint32_t r = 0; r < t->svc[s].nrows; r++)
			for (uint32_t e = 0; e < t->svc[s].rows[r].lat.n; e++)
				n += t->svc[s].rows[r].lat.rtt_ms[e] != STEER_RTT_UNKNOWN;
	return n;
}
