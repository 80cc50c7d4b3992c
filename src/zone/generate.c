/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "zone/generate.h"

#define GEN_MAX_RECORDS 1000000 /* per directive; a typo must not eat memory */

struct buf {
	char *p;
	size_t len, cap;
	uint32_t *map;
	size_t nlines, mapcap;
};

static int buf_put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return VANE_ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static int buf_line(struct buf *b, uint32_t orig)
{
	if (b->nlines == b->mapcap) {
		size_t cap = b->mapcap ? b->mapcap * 2 : 1024;
		uint32_t *m = realloc(b->map, cap * sizeof(*m));
		if (!m)
			return VANE_ENOMEM;
		b->map = m;
		b->mapcap = cap;
	}
	b->map[b->nlines++] = orig;
	return 0;
}

static bool is_generate(const char *line, size_t n)
{
	return n > 9 && strncasecmp(line, "$GENERATE", 9) == 0 &&
	       (line[9] == ' ' || line[9] == '\t');
}

int gen_needed(const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (is_generate(p, n))
			return 1;
		p += n + 1;
	}
	return 0;
}

/* Nibble form (base n/N): reversed hex digits separated by dots, as BIND
 * writes them for ip6.arpa names. */
static int put_nibbles(struct buf *b, long v, int width, bool upper)
{
	char tmp[64];
	int n = 0;
	do {
		int d = (int)(v & 0xF);
		tmp[n++] = (char)(d < 10 ? '0' + d : (upper ? 'A' : 'a') + d - 10);
		v >>= 4;
	} while ((v > 0 || n < width) && n < 32);
	for (int i = 0; i < n; i++) {
		char c[2] = { tmp[i], '.' };
		if (buf_put(b, c, i + 1 < n ? 2 : 1) != 0)
			return VANE_ENOMEM;
	}
	return 0;
}

/* One template with the iterator substituted. */
static int subst(struct buf *b, const char *t, size_t n, long value, char *err)
{
	for (size_t i = 0; i < n; i++) {
		if (t[i] == '\\' && i + 1 < n && t[i + 1] == '$') {
			if (buf_put(b, "$", 1) != 0)
				return VANE_ENOMEM;
			i++;
			continue;
		}
		if (t[i] != '$') {
			if (buf_put(b, &t[i], 1) != 0)
				return VANE_ENOMEM;
			continue;
		}
		long offset = 0;
		int width = 0;
		char base = 'd';
		if (i + 1 < n && t[i + 1] == '{') {
			const char *close = memchr(t + i, '}', n - i);
			char spec[64];
			size_t sl = close ? (size_t)(close - (t + i + 2)) : 0;
			if (!close || sl >= sizeof(spec)) {
				snprintf(err, 128, "$GENERATE: unterminated ${...} modifier");
				return VANE_ESYNTAX;
			}
			memcpy(spec, t + i + 2, sl);
			spec[sl] = '\0';
			char b0 = 'd';
			int got = sscanf(spec, "%ld,%d,%c", &offset, &width, &b0);
			if (got < 1 || width < 0 || width > 64 || !strchr("doxXnN", b0)) {
				snprintf(err, 128, "$GENERATE: bad modifier ${%s}", spec);
				return VANE_ESYNTAX;
			}
			base = b0;
			i = (size_t)(close - t);
		}
		long v = value + offset;
		char num[80];
		int len;
		if (base == 'n' || base == 'N') {
			if (put_nibbles(b, v, width, base == 'N') != 0)
				return VANE_ENOMEM;
			continue;
		}
		const char *fmt = base == 'o' ? "%0*lo" : base == 'x' ? "%0*lx" :
				  base == 'X' ? "%0*lX" : "%0*ld";
		len = snprintf(num, sizeof(num), fmt, width, v);
		if (buf_put(b, num, (size_t)len) != 0)
			return VANE_ENOMEM;
	}
	return 0;
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static const char *token_end(const char *p, const char *end)
{
	while (p < end && *p != ' ' && *p != '\t')
		p++;
	return p;
}

static int expand_line(struct buf *b, const char *line, size_t n, uint32_t lineno,
		       char *err)
{
	const char *end = line + n, *p = skip_ws(line + 9, end);
	const char *rend = token_end(p, end);
	long start, stop, step = 1;
	char range[64];
	size_t rl = (size_t)(rend - p);
	if (rl == 0 || rl >= sizeof(range)) {
		snprintf(err, 128, "$GENERATE: missing range");
		return VANE_ESYNTAX;
	}
	memcpy(range, p, rl);
	range[rl] = '\0';
	int got = sscanf(range, "%ld-%ld/%ld", &start, &stop, &step);
	if (got < 2 || start < 0 || stop < start || step < 1 ||
	    (stop - start) / step >= GEN_MAX_RECORDS) {
		snprintf(err, 128, "$GENERATE: bad range '%s'", range);
		return VANE_ESYNTAX;
	}
	const char *lhs = skip_ws(rend, end), *lend = token_end(lhs, end);
	const char *rest = skip_ws(lend, end);
	/* A comment ends the line; keep it out of every generated record. */
	const char *cend = rest;
	bool quoted = false;
	while (cend < end && (quoted || *cend != ';')) {
		if (*cend == '"')
			quoted = !quoted;
		cend++;
	}
	while (cend > rest && isspace((unsigned char)cend[-1]))
		cend--;
	if (lhs == lend || rest == cend) {
		snprintf(err, 128, "$GENERATE: expected 'range lhs [ttl] [class] type rhs'");
		return VANE_ESYNTAX;
	}
	for (long v = start; v <= stop; v += step) {
		int r;
		if ((r = subst(b, lhs, (size_t)(lend - lhs), v, err)) != 0 ||
		    (r = buf_put(b, " ", 1)) != 0 ||
		    (r = subst(b, rest, (size_t)(cend - rest), v, err)) != 0 ||
		    (r = buf_put(b, "\n", 1)) != 0 || (r = buf_line(b, lineno)) != 0)
			return r;
	}
	return 0;
}

int gen_expand(const char *text, size_t len, struct gen_text *out,
	       uint32_t *errline, char *errmsg)
{
	struct buf b = { 0 };
	const char *p = text, *end = text + len;
	uint32_t lineno = 0;
	int r = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		lineno++;
		if (is_generate(p, n)) {
			r = expand_line(&b, p, n, lineno, errmsg);
			if (r == VANE_ESYNTAX)
				*errline = lineno;
		} else if ((r = buf_put(&b, p, n)) == 0 && (r = buf_put(&b, "\n", 1)) == 0) {
			r = buf_line(&b, lineno);
		}
		if (r != 0)
			goto fail;
		p += n + 1;
	}
	if (!b.p && (r = buf_put(&b, "", 0)) != 0)
		goto fail;
	out->text = b.p;
	out->len = b.len;
	out->linemap = b.map;
	out->nlines = b.nlines;
	return 0;
fail:
	free(b.p);
	free(b.map);
	return r;
}

void gen_free(struct gen_text *g)
{
	free(g->text);
	free(g->linemap);
	g->text = NULL;
	g->linemap = NULL;
}
