/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * YAML (libyaml document API) into struct vane_conf, driven by the schema
 * table in conf/schema.c.  Every problem is reported with file and line and
 * loading goes on, so one run shows all errors.  Nothing is ignored: unknown
 * and duplicate keys, wrong types and values out of range are all errors.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "conf/conf.h"
#include "conf/schema.h"

#define PATH_MAX_KEY 256 /* "zones[3].name" and the like */

struct conf_parser {
	yaml_document_t doc;
	const char *file;   /* as given, for messages */
	const char *dir;    /* absolute, for relative paths */
	vane_report_fn err;
	void *ctx;
	unsigned nerr;
	bool nomem;
};

/* Values seen for a CONF_UNIQUE key within one list. */
struct seen {
	char *canon;
	char *key;          /* "zones[1].name" */
	unsigned long line;
};

struct seen_set {
	struct seen *v;
	size_t n, cap;
};

static void stderr_err(void *ctx, const char *file, unsigned long line, const char *msg)
{
	if (line)
		fprintf(stderr, "%s:%lu: %s\n", file, line, msg);
	else
		fprintf(stderr, "%s: %s\n", file, msg);
}

__attribute__((format(printf, 3, 4)))
static void perr(struct conf_parser *p, unsigned long line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->nerr++;
	p->err(p->ctx, p->file, line, msg);
}

static void nomem(struct conf_parser *p, unsigned long line)
{
	if (!p->nomem)
		perr(p, line, "out of memory");
	p->nomem = true;
}

static unsigned long node_line(const yaml_node_t *node)
{
	return node->start_mark.line + 1;
}

/* Quote a value for a message: printable, escaped, cut when long. */
static const char *quote(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	buf[n++] = '"';
	for (; *s && n + 8 < size; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
		else
			buf[n++] = (char)c;
	}
	if (*s)
		n += (size_t)snprintf(buf + n, size - n, "...");
	snprintf(buf + n, size - n, "\"");
	return buf;
}

static bool is_null(const yaml_node_t *node)
{
	if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *v = (const char *)node->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

static const char *node_kind(const yaml_node_t *node)
{
	if (is_null(node))
		return "an empty value";
	switch (node->type) {
	case YAML_MAPPING_NODE:  return "a map";
	case YAML_SEQUENCE_NODE: return "a list";
	default:                 return "a scalar";
	}
}

static void free_value(const struct conf_item *item, void *dst);

static void free_map(const struct conf_item *children, void *base)
{
	for (const struct conf_item *it = children; it->name; it++)
		free_value(it, (char *)base + it->offset);
}

static void free_value(const struct conf_item *item, void *dst)
{
	switch (item->type) {
	case CONF_STR:
	case CONF_PATH:
	case CONF_ENUM:
	case CONF_DNAME:
		free(*(char **)dst);
		*(char **)dst = NULL;
		break;
	case CONF_LISTEN:
		free(((struct conf_listen *)dst)->text);
		((struct conf_listen *)dst)->text = NULL;
		break;
	case CONF_MAP:
		free_map(item->children, dst);
		break;
	case CONF_LIST: {
		char *arr = *(char **)dst;
		unsigned *count = (unsigned *)((char *)dst - item->offset + item->count_off);
		for (unsigned i = 0; arr && i < *count; i++)
			free_value(item->elem, arr + i * item->elem_size);
		free(arr);
		*(char **)dst = NULL;
		*count = 0;
		break;
	}
	default:
		break;
	}
}

/* Canonical form of a stored scalar, for uniqueness checks.  Malloc'd. */
static char *canon_value(const struct conf_item *item, const void *dst)
{
	char buf[128];

	switch (item->type) {
	case CONF_LISTEN:
		conf_format_addr(&((const struct conf_listen *)dst)->addr, buf, sizeof(buf));
		return strdup(buf);
	case CONF_UINT:
	case CONF_DURATION:
		snprintf(buf, sizeof(buf), "%u", *(const unsigned *)dst);
		return strdup(buf);
	case CONF_BOOL:
		return strdup(*(const bool *)dst ? "true" : "false");
	case CONF_FLOAT:
		snprintf(buf, sizeof(buf), "%.17g", *(const double *)dst);
		return strdup(buf);
	case CONF_STR:
	case CONF_PATH:
	case CONF_ENUM:
	case CONF_DNAME:
		return *(char *const *)dst ? strdup(*(char *const *)dst) : NULL;
	default:
		return NULL;
	}
}

/* Whether two stored values of `item` are the same (scalars by their
 * canonical form, lists entry by entry). */
static bool same_value(const struct conf_item *item, const void *a, const void *b)
{
	if (item->type == CONF_LIST) {
		unsigned na = *(const unsigned *)((const char *)a - item->offset + item->count_off);
		unsigned nb = *(const unsigned *)((const char *)b - item->offset + item->count_off);
		const char *xa = *(char *const *)a, *xb = *(char *const *)b;
		if (na != nb)
			return false;
		for (unsigned i = 0; i < na; i++)
			if (!same_value(item->elem, xa + i * item->elem_size, xb + i * item->elem_size))
				return false;
		return true;
	}
	if (item->type == CONF_MAP) {
		for (const struct conf_item *it = item->children; it->name; it++)
			if (!same_value(it, (const char *)a + it->offset, (const char *)b + it->offset))
				return false;
		return true;
	}
	char *ca = canon_value(item, a), *cb = canon_value(item, b);
	bool same = (ca == NULL && cb == NULL) || (ca && cb && strcmp(ca, cb) == 0);
	free(ca);
	free(cb);
	return same;
}

static void restart_walk(const struct conf_item *children, const char *prefix, const void *a,
			 const void *b, void (*fn)(void *ctx, const char *key), void *ctx)
{
	char key[256];
	for (const struct conf_item *it = children; it->name; it++) {
		snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", it->name);
		const void *va = (const char *)a + it->offset, *vb = (const char *)b + it->offset;
		if (it->flags & CONF_RESTART) {
			if (!same_value(it, va, vb))
				fn(ctx, key);
		} else if (it->type == CONF_MAP) {
			restart_walk(it->children, key, va, vb, fn, ctx);
		}
	}
}

/* One value per line for conf_write_shared; paths relative to `dir` when
 * under it, so that two nodes laid out alike compare equal. */
static void shared_walk(FILE *out, const struct conf_item *children, const char *prefix,
			const void *base, const char *dir)
{
	char key[256];
	size_t dl = strlen(dir);
	for (const struct conf_item *it = children; it->name; it++) {
		if (it->flags & CONF_NODE)
			continue;
		snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", it->name);
		const char *v = (const char *)base + it->offset;
		if (it->type == CONF_MAP) {
			shared_walk(out, it->children, key, v, dir);
			continue;
		}
		if (it->type == CONF_LIST) {
			unsigned n = *(const unsigned *)((const char *)base + it->count_off);
			const char *arr = *(char *const *)v;
			for (unsigned i = 0; i < n; i++) {
				char ek[300];
				const char *el = arr + i * it->elem_size;
				snprintf(ek, sizeof(ek), "%s[%u]", key, i);
				if (it->elem->type == CONF_MAP) {
					shared_walk(out, it->elem->children, ek, el, dir);
				} else {
					char *c = canon_value(it->elem, el);
					fprintf(out, "%s=%s\n", ek, c ? c : "");
					free(c);
				}
			}
			continue;
		}
		char *c = canon_value(it, v);
		const char *shown = c ? c : "";
		if (c && it->type == CONF_PATH && strncmp(c, dir, dl) == 0 && c[dl] == '/')
			shown = c + dl + 1;
		fprintf(out, "%s=%s\n", key, shown);
		free(c);
	}
}

void conf_write_shared(FILE *out, const struct vane_conf *conf)
{
	shared_walk(out, conf_schema_root.children, "", conf, conf->dir ? conf->dir : "");
}

void conf_restart_changes(const struct conf_item *root, const void *a, const void *b,
			  void (*fn)(void *ctx, const char *key), void *ctx)
{
	restart_walk(root->children, "", a, b, fn, ctx);
}

static void seen_add(struct conf_parser *p, struct seen_set *set, const struct conf_item *item,
		     const void *dst, const char *key, unsigned long line)
{
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 16;
		struct seen *v = realloc(set->v, cap * sizeof(*v));
		if (!v) {
			nomem(p, line);
			return;
		}
		set->v = v;
		set->cap = cap;
	}
	struct seen *s = &set->v[set->n];
	s->canon = canon_value(item, dst);
	s->key = strdup(key);
	s->line = line;
	if (!s->canon || !s->key) {
		free(s->canon);
		free(s->key);
		nomem(p, line);
		return;
	}
	set->n++;
}

static int seen_cmp(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;
	int c = strcmp(x->canon, y->canon);
	if (c)
		return c;
	return (x->line > y->line) - (x->line < y->line);
}

/* Report every value seen more than once, naming the first occurrence. */
static void seen_report(struct conf_parser *p, struct seen_set *set)
{
	char q[160];

	if (set->n > 1)
		qsort(set->v, set->n, sizeof(*set->v), seen_cmp);
	for (size_t i = 1, first = 0; i < set->n; i++) {
		if (strcmp(set->v[i].canon, set->v[first].canon) != 0) {
			first = i;
			continue;
		}
		perr(p, set->v[i].line, "%s: duplicate value %s, first at line %lu",
		     set->v[i].key, quote(set->v[i].canon, q, sizeof(q)), set->v[first].line);
	}
	for (size_t i = 0; i < set->n; i++) {
		free(set->v[i].canon);
		free(set->v[i].key);
	}
	free(set->v);
}

static bool check_range(const struct conf_item *item, uint64_t v)
{
	return v >= item->min && v <= item->max;
}

/* Convert scalar `text` into dst (already empty).  Returns false after
 * reporting.  `base` is the struct holding dst, for the check hook. */
static bool set_scalar(struct conf_parser *p, const struct conf_item *item, const char *text,
		       void *base, void *dst, const char *key, unsigned long line)
{
	char desc[192], q[160], msg[256];
	uint64_t v = 0;
	int ret = 0;

	switch (item->type) {
	case CONF_STR:
		ret = (*(char **)dst = strdup(text)) ? 0 : VANE_ENOMEM;
		break;
	case CONF_PATH:
		if (!*text) {
			ret = VANE_EINVAL;
			break;
		}
		ret = (*(char **)dst = conf_path_join(p->dir, text)) ? 0 : VANE_ENOMEM;
		break;
	case CONF_UINT:
		ret = conf_parse_uint(text, &v);
		if (ret == 0 && !check_range(item, v))
			ret = VANE_ERANGE;
		if (ret == 0)
			*(unsigned *)dst = (unsigned)v;
		break;
	case CONF_DURATION:
		ret = conf_parse_duration(text, &v);
		if (ret == 0 && !check_range(item, v))
			ret = VANE_ERANGE;
		if (ret == 0)
			*(unsigned *)dst = (unsigned)v;
		break;
	case CONF_BOOL:
		ret = conf_parse_bool(text, (bool *)dst);
		break;
	case CONF_ENUM:
		ret = VANE_EINVAL;
		for (unsigned i = 0; item->values[i]; i++) {
			if (strcmp(text, item->values[i]) == 0) {
				ret = (*(char **)dst = strdup(text)) ? 0 : VANE_ENOMEM;
				break;
			}
		}
		break;
	case CONF_DNAME:
		ret = conf_parse_dname(text, (char **)dst);
		break;
	case CONF_FLOAT: {
		double d;
		ret = conf_parse_float(text, &d);
		if (ret == 0 && (d < item->fmin || d > item->fmax))
			ret = VANE_ERANGE;
		if (ret == 0)
			*(double *)dst = d;
		break;
	}
	case CONF_LISTEN: {
		struct conf_listen *l = dst;
		ret = conf_parse_listen(text, &l->addr, &l->addrlen);
		if (ret == 0)
			ret = (l->text = strdup(text)) ? 0 : VANE_ENOMEM;
		break;
	}
	default:
		ret = VANE_EINVAL;
		break;
	}
	if (ret == VANE_ENOMEM) {
		nomem(p, line);
		return false;
	}
	if (ret != 0) {
		conf_type_desc(item, true, desc, sizeof(desc));
		perr(p, line, "%s: expected %s, got %s", key, desc, quote(text, q, sizeof(q)));
		return false;
	}
	if (item->check && !item->check(base, item, msg, sizeof(msg))) {
		perr(p, line, "%s: %s", key, msg);
		free_value(item, dst);
		return false;
	}
	return true;
}

static bool parse_scalar(struct conf_parser *p, const struct conf_item *item,
			 const yaml_node_t *node, void *base, void *dst, const char *key)
{
	char desc[192];

	if (node->type != YAML_SCALAR_NODE || is_null(node)) {
		conf_type_desc(item, true, desc, sizeof(desc));
		perr(p, node_line(node), "%s: expected %s, got %s", key, desc, node_kind(node));
		return false;
	}
	const char *text = (const char *)node->data.scalar.value;
	if (strlen(text) != node->data.scalar.length) {
		perr(p, node_line(node), "%s: value contains a NUL character", key);
		return false;
	}
	return set_scalar(p, item, text, base, dst, key, node_line(node));
}

static void parse_value(struct conf_parser *p, const struct conf_item *item,
			const yaml_node_t *node, void *base, const char *key,
			unsigned long parent_line, struct seen_set *seen);

static void child_key(char *buf, const char *parent, const char *name)
{
	snprintf(buf, PATH_MAX_KEY, "%s%s%s", parent, *parent ? "." : "", name);
}

/* Levenshtein distance, capped: only to suggest a near key name. */
static unsigned edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned row[64];

	if (la >= 64 || lb >= 64)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned cost = a[i - 1] == b[j - 1] ? 0 : 1;
			unsigned best = diag + cost;
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static void report_unknown(struct conf_parser *p, const struct conf_item *children,
			   const char *key, const char *name, unsigned long line)
{
	const char *best = NULL;
	unsigned best_d = 3; /* suggest only close matches */

	for (const struct conf_item *it = children; it->name; it++) {
		unsigned d = edit_distance(name, it->name);
		if (d < best_d) {
			best_d = d;
			best = it->name;
		}
	}
	if (best)
		perr(p, line, "%s: unknown key (did you mean \"%s\"?)", key, best);
	else
		perr(p, line, "%s: unknown key", key);
}

/* A key that was not given: its default, or an error when required. */
static void apply_default(struct conf_parser *p, const struct conf_item *item, void *base,
			  const char *key, unsigned long line)
{
	char buf[64];
	void *dst = (char *)base + item->offset;
	const char *def = item->def_fn ? item->def_fn(buf, sizeof(buf)) : item->def;

	if (item->flags & CONF_REQUIRED) {
		perr(p, line, "%s: missing required key", key);
		return;
	}
	if (item->type == CONF_MAP) {
		/* Absent section: its children still get defaults and checks. */
		parse_value(p, item, NULL, base, key, line, NULL);
		return;
	}
	if (!def)
		return;
	if (item->type == CONF_LIST) {
		void *el = calloc(1, item->elem_size);
		if (!el) {
			nomem(p, line);
			return;
		}
		*(void **)dst = el;
		*(unsigned *)((char *)base + item->count_off) = 1;
		if (!set_scalar(p, item->elem, def, el, el, key, line))
			free_value(item, dst);
		return;
	}
	set_scalar(p, item, def, base, dst, key, line);
}

/* `node` NULL: the map was absent; only defaults and required checks run. */
static void parse_map(struct conf_parser *p, const struct conf_item *map,
		      const yaml_node_t *node, void *base, const char *key,
		      unsigned long line, struct seen_set *seen)
{
	size_t n = 0;
	char ckey[PATH_MAX_KEY];

	for (const struct conf_item *it = map->children; it->name; it++)
		n++;
	unsigned long *given = calloc(n + 1, sizeof(*given));
	if (!given) {
		nomem(p, line);
		return;
	}
	if (node && node->type == YAML_MAPPING_NODE) {
		yaml_document_t *doc = &p->doc;
		for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
		     pair < node->data.mapping.pairs.top; pair++) {
			yaml_node_t *k = yaml_document_get_node(doc, pair->key);
			yaml_node_t *v = yaml_document_get_node(doc, pair->value);
			if (k->type != YAML_SCALAR_NODE) {
				perr(p, node_line(k), "%s%skeys must be plain names, got %s",
				     key, *key ? ": " : "", node_kind(k));
				continue;
			}
			const char *name = (const char *)k->data.scalar.value;
			child_key(ckey, key, name);
			size_t i = 0;
			while (map->children[i].name && strcmp(map->children[i].name, name) != 0)
				i++;
			if (i == n) {
				report_unknown(p, map->children, ckey, name, node_line(k));
				continue;
			}
			if (given[i]) {
				perr(p, node_line(k), "%s: duplicate key, first at line %lu",
				     ckey, given[i]);
				continue;
			}
			given[i] = node_line(k);
			parse_value(p, &map->children[i], v, base, ckey, node_line(k), seen);
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (given[i])
			continue;
		child_key(ckey, key, map->children[i].name);
		apply_default(p, &map->children[i], base, ckey, line);
	}
	free(given);
}

/* A scalar standing for a CONF_SHORT map: the value of its first child;
 * the other children take their defaults. */
static void parse_short(struct conf_parser *p, const struct conf_item *map,
			const yaml_node_t *node, void *el, const char *key,
			struct seen_set *seen)
{
	const struct conf_item *first = &map->children[0];
	char ckey[PATH_MAX_KEY];

	/* `key` is a list entry ("zones[0].notify[1]"): keep room for the child. */
	snprintf(ckey, sizeof(ckey), "%.200s.%s", key, first->name);
	if (parse_scalar(p, first, node, el, (char *)el + first->offset, ckey) &&
	    (first->flags & CONF_UNIQUE))
		seen_add(p, seen, first, (char *)el + first->offset, ckey, node_line(node));
	for (const struct conf_item *it = first + 1; it->name; it++) {
		snprintf(ckey, sizeof(ckey), "%.200s.%s", key, it->name);
		apply_default(p, it, el, ckey, node_line(node));
	}
}

static void parse_list(struct conf_parser *p, const struct conf_item *item,
		       const yaml_node_t *node, void *base, const char *key)
{
	const struct conf_item *elem = item->elem;
	const yaml_node_t *single = NULL;
	size_t n = 0;
	char ekey[PATH_MAX_KEY], desc[192];
	struct seen_set seen = { 0 };

	if (node->type == YAML_SEQUENCE_NODE) {
		n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
	} else if (is_null(node)) {
		n = 0;
	} else if (node->type == YAML_SCALAR_NODE &&
		   (elem->type != CONF_MAP || (elem->flags & CONF_SHORT))) {
		single = node; /* `listen: 127.0.0.1` means a list of one */
		n = 1;
	} else {
		conf_type_desc(item, true, desc, sizeof(desc));
		perr(p, node_line(node), "%s: expected %s, got %s", key, desc, node_kind(node));
		return;
	}
	if (n < item->min || (item->max && n > item->max)) {
		if (item->max)
			perr(p, node_line(node), "%s: expected %llu..%llu entries, got %zu", key,
			     (unsigned long long)item->min, (unsigned long long)item->max, n);
		else
			perr(p, node_line(node), "%s: expected at least %llu %s, got %zu", key,
			     (unsigned long long)item->min, item->min == 1 ? "entry" : "entries", n);
		if (n < item->min)
			return;
	}
	char *arr = n ? calloc(n, item->elem_size) : NULL;
	if (n && !arr) {
		nomem(p, node_line(node));
		return;
	}
	*(char **)((char *)base + item->offset) = arr;
	*(unsigned *)((char *)base + item->count_off) = (unsigned)n;

	for (size_t i = 0; i < n; i++) {
		const yaml_node_t *en = single ? single :
			yaml_document_get_node(&p->doc, node->data.sequence.items.start[i]);
		char *el = arr + i * item->elem_size;
		snprintf(ekey, sizeof(ekey), "%s[%zu]", key, i);
		if (elem->type == CONF_MAP && (elem->flags & CONF_LINE))
			*(unsigned *)(el + elem->line_off) = (unsigned)node_line(en);
		if (elem->type == CONF_MAP && (elem->flags & CONF_SHORT) &&
		    en->type == YAML_SCALAR_NODE && !is_null(en)) {
			parse_short(p, elem, en, el, ekey, &seen);
		} else if (elem->type == CONF_MAP) {
			parse_value(p, elem, en, el, ekey, node_line(en), &seen);
		} else if (parse_scalar(p, elem, en, el, el, ekey) && (elem->flags & CONF_UNIQUE)) {
			seen_add(p, &seen, elem, el, ekey, node_line(en));
		}
	}
	seen_report(p, &seen);
}

/* Value of `item` in `base`; `seen` collects CONF_UNIQUE keys of the
 * innermost list entry being parsed. */
static void parse_value(struct conf_parser *p, const struct conf_item *item,
			const yaml_node_t *node, void *base, const char *key,
			unsigned long parent_line, struct seen_set *seen)
{
	void *dst = (char *)base + item->offset;

	switch (item->type) {
	case CONF_MAP:
		if (node && node->type != YAML_MAPPING_NODE && !is_null(node)) {
			perr(p, node_line(node), "%s: expected a map, got %s", key, node_kind(node));
			return;
		}
		parse_map(p, item, node, dst, key, node ? node_line(node) : parent_line, seen);
		if (item->check) {
			char msg[512];
			if (!item->check(dst, item, msg, sizeof(msg)))
				perr(p, node ? node_line(node) : parent_line, "%s%s", key, msg);
		}
		break;
	case CONF_LIST:
		parse_list(p, item, node, base, key);
		break;
	default:
		if (parse_scalar(p, item, node, base, dst, key) && (item->flags & CONF_UNIQUE) && seen)
			seen_add(p, seen, item, dst, key, node_line(node));
		break;
	}
}

static void report_yaml_error(struct conf_parser *p, const yaml_parser_t *parser)
{
	const yaml_mark_t *m = &parser->problem_mark;
	unsigned long line = m->line + 1;

	if (parser->error == YAML_MEMORY_ERROR) {
		nomem(p, 0);
		return;
	}
	if (parser->error == YAML_READER_ERROR)
		line = 0;
	if (parser->context)
		perr(p, line, "YAML syntax error: %s %s (line %lu)", parser->problem,
		     parser->context, (unsigned long)parser->context_mark.line + 1);
	else
		perr(p, line, "YAML syntax error: %s", parser->problem ? parser->problem : "unknown");
}

/* Absolute path of the config file and its directory, lexically folded. */
static int make_paths(struct vane_conf *conf, const char *path)
{
	char cwd[4096];

	if (path[0] != '/' && !getcwd(cwd, sizeof(cwd)))
		return -errno;
	conf->path = conf_path_join(path[0] == '/' ? "" : cwd, path);
	if (!conf->path)
		return VANE_ENOMEM;
	conf->dir = strdup(conf->path);
	if (!conf->dir)
		return VANE_ENOMEM;
	char *slash = strrchr(conf->dir, '/');
	if (slash == conf->dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	return 0;
}

/* Load the single YAML document of `text` into p->doc and walk it. */
static void parse_text(struct conf_parser *p, const char *text, size_t len,
		       const struct conf_item *root_item, void *base)
{
	yaml_parser_t parser;
	yaml_document_t extra;

	if (!yaml_parser_initialize(&parser)) {
		nomem(p, 0);
		return;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &p->doc)) {
		report_yaml_error(p, &parser);
		yaml_parser_delete(&parser);
		return;
	}
	yaml_node_t *root = yaml_document_get_root_node(&p->doc);
	if (!root) {
		perr(p, 0, "no configuration (the file is empty)");
	} else if (root->type != YAML_MAPPING_NODE) {
		perr(p, node_line(root), "expected a map of sections, got %s", node_kind(root));
	} else {
		/* A second document would be ignored silently: refuse it. */
		if (!yaml_parser_load(&parser, &extra)) {
			report_yaml_error(p, &parser);
		} else {
			yaml_node_t *r2 = yaml_document_get_root_node(&extra);
			if (r2)
				perr(p, node_line(r2), "only one YAML document is allowed");
			yaml_document_delete(&extra);
		}
		parse_map(p, root_item, root, base, "", node_line(root), NULL);
	}
	yaml_document_delete(&p->doc);
	yaml_parser_delete(&parser);
}

int conf_read_file(const char *file, vane_report_fn err, void *ctx, char **text, size_t *len)
{
	struct conf_parser p = { .file = file, .err = err ? err : stderr_err, .ctx = ctx };
	struct stat st;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int ret = 0;

	FILE *f = fopen(file, "r");
	if (!f || fstat(fileno(f), &st) != 0) {
		ret = -errno;
		perr(&p, 0, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = VANE_EINVAL;
		perr(&p, 0, "not a regular file");
		goto out;
	}
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : (size_t)st.st_size + 4096;
			char *nb = realloc(buf, cap);
			if (!nb) {
				ret = VANE_ENOMEM;
				nomem(&p, 0);
				goto out;
			}
			buf = nb;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		ret = -EIO;
		perr(&p, 0, "cannot read: %s", strerror(errno));
	}
out:
	if (f)
		fclose(f);
	if (ret != 0) {
		free(buf);
		return ret;
	}
	*text = buf;
	*len = n;
	return 0;
}

int conf_parse_schema_text(const struct conf_item *root, const char *file, const char *dir,
			   const char *text, size_t len, vane_report_fn err, void *ctx, void *base)
{
	struct conf_parser p = { .file = file, .dir = dir, .err = err ? err : stderr_err,
				 .ctx = ctx };

	parse_text(&p, text, len, root, base);
	if (p.nomem)
		return VANE_ENOMEM;
	return p.nerr ? VANE_ESYNTAX : 0;
}

int conf_parse_schema(const struct conf_item *root, const char *file, const char *dir,
		      vane_report_fn err, void *ctx, void *base)
{
	char *text = NULL;
	size_t len = 0;
	int ret = conf_read_file(file, err, ctx, &text, &len);
	if (ret != 0)
		return ret;
	ret = conf_parse_schema_text(root, file, dir, text, len, err, ctx, base);
	free(text);
	return ret;
}

void conf_free_schema(const struct conf_item *root, void *base)
{
	free_map(root->children, base);
}

/* anycast: needs its canary, and its addresses join `listen` (unless
 * listed there already): vaned must answer on what it announces, and the
 * UDP and TCP listeners then need no anycast knowledge. */
static int anycast_listen(struct vane_conf *conf, const char *path, vane_report_fn err, void *ctx)
{
	if (conf->nanycast_addr == 0)
		return 0;
	if (conf->anycast_check_name == NULL) {
		err(ctx, path, 0, "anycast.self-check.name: required when anycast.addresses is set");
		return VANE_ESYNTAX;
	}
	/* Protocol names go into BIRD command lines: BIRD symbols only. */
	const char *names[] = { conf->anycast_protocol, conf->anycast_uplink };
	for (unsigned i = 0; i < 2; i++) {
		const char *n = names[i];
		for (const char *c = n; c && *c; c++) {
			if (!isalnum((unsigned char)*c) && *c != '_') {
				char msg[160];
				snprintf(msg, sizeof(msg), "anycast.%s: \"%s\" is not a BIRD protocol "
					 "name (letters, digits, _)", i ? "uplink" : "protocol", n);
				err(ctx, path, 0, msg);
				return VANE_ESYNTAX;
			}
		}
	}
	for (unsigned i = 0; i < conf->nanycast_addr; i++) {
		const struct conf_listen *a = &conf->anycast_addr[i];
		bool have = false;
		for (unsigned j = 0; j < conf->nlisten && !have; j++)
			have = conf->listen[j].addrlen == a->addrlen &&
			       memcmp(&conf->listen[j].addr, &a->addr, a->addrlen) == 0;
		if (have)
			continue;
		struct conf_listen *l = realloc(conf->listen, (conf->nlisten + 1) * sizeof(*l));
		if (l == NULL)
			return VANE_ENOMEM;
		conf->listen = l;
		l[conf->nlisten] = *a;
		if ((l[conf->nlisten].text = strdup(a->text)) == NULL)
			return VANE_ENOMEM;
		conf->nlisten++;
	}
	return 0;
}

int conf_load(const char *path, vane_report_fn err, void *ctx, struct vane_conf **out)
{
	char *text = NULL;
	size_t len = 0;
	int ret = conf_read_file(path, err, ctx, &text, &len);
	if (ret != 0)
		return ret;
	ret = conf_load_text(path, text, len, err, ctx, out);
	free(text);
	return ret;
}

int conf_load_text(const char *path, const char *text, size_t len, vane_report_fn err,
		   void *ctx, struct vane_conf **out)
{
	int ret;

	struct vane_conf *conf = calloc(1, sizeof(*conf));
	if (!conf)
		return VANE_ENOMEM;
	ret = make_paths(conf, path);
	if (ret != 0) {
		(err ? err : stderr_err)(ctx, path, 0, vane_strerror(ret));
		goto fail;
	}
	ret = conf_parse_schema_text(&conf_schema_root, path, conf->dir, text, len, err, ctx,
				     conf);
	if (ret != 0)
		goto fail;
	/* Rules across keys (address or cname, known check ids, ...) only make
	 * sense once every value parsed. */
	if (conf_check_services(conf, path, err ? err : stderr_err, ctx) +
	    conf_check_xfr(conf, path, err ? err : stderr_err, ctx) +
	    conf_check_catalog(conf, path, err ? err : stderr_err, ctx) +
	    conf_check_providers(conf, path, err ? err : stderr_err, ctx) > 0) {
		ret = VANE_ESYNTAX;
		goto fail;
	}
	ret = anycast_listen(conf, path, err ? err : stderr_err, ctx);
	if (ret != 0)
		goto fail;
	/* The section may be absent (one node on its own), but half a
	 * cluster is a mistake, not a default. */
	if (conf->cluster_name && (conf->cluster_node == NULL || conf->ncluster_etcd == 0)) {
		(err ? err : stderr_err)(ctx, path, 0, "cluster: name needs node and etcd");
		ret = VANE_ESYNTAX;
		goto fail;
	}
	if (!conf->cluster_cert != !conf->cluster_key) {
		(err ? err : stderr_err)(ctx, path, 0, "cluster: cert and key go together");
		ret = VANE_ESYNTAX;
		goto fail;
	}
	*out = conf;
	return 0;
fail:
	conf_free(conf);
	return ret;
}

void conf_free(struct vane_conf *conf)
{
	if (!conf)
		return;
	conf_free_schema(&conf_schema_root, conf);
	free(conf->path);
	free(conf->dir);
	free(conf);
}
