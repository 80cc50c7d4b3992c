/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "lib/dname.h"

#define L4(x) x, x + 1, x + 2, x + 3
#define L16(x) L4(x), L4(x + 4), L4(x + 8), L4(x + 12)
#define L64(x) L16(x), L16(x + 16), L16(x + 32), L16(x + 48)

/* ASCII lower-casing as a table: one load per byte on the hot path. */
const uint8_t dname_lower_tab[256] = {
	L64(0),
	'@', L16('a'), L4('q'), L4('u'), 'y', 'z', '[', '\\', ']', '^', '_',
	L16(96), L16(112),
	L64(128), L64(192),
};

static inline uint8_t ascii_lower(uint8_t c)
{
	return dname_lower_tab[c];
}

int dname_unpack(const uint8_t *pkt, size_t pktlen, size_t *off, uint8_t *out,
		 bool lower)
{
	size_t pos = *off;
	size_t len = 0;
	size_t after = 0;      /* where the caller's cursor resumes */
	bool jumped = false;
	size_t limit = pos;    /* pointers must go strictly below this */

	for (;;) {
		if (pos >= pktlen)
			return VANE_EMALF;
		uint8_t l = pkt[pos];
		if ((l & 0xC0) == 0xC0) {
			if (pos + 1 >= pktlen)
				return VANE_EMALF;
			size_t target = (size_t)(l & 0x3F) << 8 | pkt[pos + 1];
			if (!jumped)
				after = pos + 2;
			if (target >= limit)
				return VANE_ELOOP;
			jumped = true;
			limit = target;
			pos = target;
			continue;
		}
		if (l & 0xC0)
			return VANE_EMALF; /* 01/10 label types are obsolete (RFC 6891 5) */
		if (len + 1 + l > DNAME_MAXLEN)
			return VANE_ENAMELEN;
		if (pos + 1 + l > pktlen)
			return VANE_EMALF;
		out[len++] = l;
		if (l == 0)
			break;
		if (lower) {
			for (size_t i = 0; i < l; i++)
				out[len + i] = ascii_lower(pkt[pos + 1 + i]);
		} else {
			memcpy(out + len, pkt + pos + 1, l);
		}
		len += l;
		pos += 1 + (size_t)l;
	}
	*off = jumped ? after : pos + 1;
	return (int)len;
}

size_t dname_len(const uint8_t *name)
{
	const uint8_t *p = name;
	while (*p)
		p += 1 + *p;
	return (size_t)(p - name) + 1;
}

unsigned dname_labels(const uint8_t *name)
{
	unsigned n = 0;
	while (*name) {
		n++;
		name += 1 + *name;
	}
	return n;
}

void dname_lower(uint8_t *name)
{
	while (*name) {
		uint8_t l = *name++;
		for (uint8_t i = 0; i < l; i++, name++)
			*name = ascii_lower(*name);
	}
}

bool dname_equal(const uint8_t *a, const uint8_t *b)
{
	for (;;) {
		uint8_t l = *a;
		if (l != *b)
			return false;
		if (l == 0)
			return true;
		/* Names are mostly already in the same case: try bytes first. */
		if (memcmp(a + 1, b + 1, l) != 0)
			for (uint8_t i = 1; i <= l; i++)
				if (ascii_lower(a[i]) != ascii_lower(b[i]))
					return false;
		a += 1 + l;
		b += 1 + l;
	}
}

bool dname_is_sub(const uint8_t *name, const uint8_t *parent)
{
	unsigned n = dname_labels(name), p = dname_labels(parent);
	if (n < p)
		return false;
	while (n-- > p)
		name = dname_parent(name);
	return dname_equal(name, parent);
}

int dname_from_str(const char *str, const uint8_t *origin, uint8_t *out)
{
	size_t len = 0;
	const char *s = str;

	if (strcmp(str, ".") == 0) {
		out[0] = 0;
		return 1;
	}
	if (strcmp(str, "@") == 0 || *str == '\0') {
		if (!origin) {
			out[0] = 0;
			return 1;
		}
		size_t ol = dname_len(origin);
		memcpy(out, origin, ol);
		return (int)ol;
	}
	while (*s) {
		size_t lpos = len++;
		uint8_t llen = 0;
		if (*s == '.')
			return VANE_EMALF; /* empty label */
		while (*s && *s != '.') {
			int c = (unsigned char)*s++;
			if (c == '\\') {
				if (isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
				    isdigit((unsigned char)s[2])) {
					c = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
					if (c > 255)
						return VANE_EMALF;
					s += 3;
				} else if (*s) {
					c = (unsigned char)*s++;
				} else {
					return VANE_EMALF;
				}
			}
			if (llen == DNAME_MAXLABEL)
				return VANE_ELABEL;
			if (len >= DNAME_MAXLEN)
				return VANE_ENAMELEN;
			out[len++] = (uint8_t)c;
			llen++;
		}
		out[lpos] = llen;
		if (*s == '.') {
			s++;
			if (*s == '\0') { /* absolute */
				if (len >= DNAME_MAXLEN)
					return VANE_ENAMELEN;
				out[len++] = 0;
				return (int)len;
			}
		}
	}
	/* Relative: append origin (or the root). */
	if (origin) {
		size_t ol = dname_len(origin);
		if (len + ol > DNAME_MAXLEN)
			return VANE_ENAMELEN;
		memcpy(out + len, origin, ol);
		return (int)(len + ol);
	}
	if (len >= DNAME_MAXLEN)
		return VANE_ENAMELEN;
	out[len++] = 0;
	return (int)len;
}

char *dname_to_str(const uint8_t *name, char *buf, size_t bufsize)
{
	size_t o = 0;
	if (bufsize == 0)
		return buf;
	if (*name == 0) {
		snprintf(buf, bufsize, ".");
		return buf;
	}
	while (*name && o + 5 < bufsize) {
		uint8_t l = *name++;
		for (uint8_t i = 0; i < l && o + 5 < bufsize; i++) {
			uint8_t c = *name++;
			if (c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' ||
			    c == ';' || c == '@' || c == '$') {
				buf[o++] = '\\';
				buf[o++] = (char)c;
			} else if (c <= ' ' || c >= 0x7f) {
				o += (size_t)snprintf(buf + o, bufsize - o, "\\%03u", c);
			} else {
				buf[o++] = (char)c;
			}
		}
		buf[o++] = '.';
	}
	buf[o < bufsize ? o : bufsize - 1] = '\0';
	return buf;
}
