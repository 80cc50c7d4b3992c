/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Domain names in uncompressed wire form (RFC 1035 3.1): length-prefixed
 * labels ending with the root label.  At most 255 bytes, labels at most 63.
 * Names used as keys are lower-cased (RFC 4343: case-insensitive, ASCII only).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/errcode.h"

#define DNAME_MAXLEN 255
#define DNAME_MAXLABEL 63
#define DNAME_MAXSTR 1024 /* enough for any name in presentation form, escaped */

/*
 * Read a possibly compressed name at `*off` of the packet `pkt` (length
 * `pktlen`) into `out` (DNAME_MAXLEN bytes), lower-cased when `lower` is set.
 * On success `*off` moves past the name as it sits in the packet and the name
 * length is returned.  Compression pointers must point strictly backwards
 * (RFC 1035 4.1.4 only allows prior occurrences), which also rules out loops.
 * Returns > 0 length, or VANE_EMALF/ELABEL/ENAMELEN/ELOOP.
 */
int dname_unpack(const uint8_t *pkt, size_t pktlen, size_t *off, uint8_t *out,
		 bool lower) VANE_WUR;

/* Length of an uncompressed, already validated wire name. */
size_t dname_len(const uint8_t *name);

/* Number of labels, not counting the root label. */
unsigned dname_labels(const uint8_t *name);

/* ASCII lower-case of every byte value (RFC 4343). */
extern const uint8_t dname_lower_tab[256];

/* Lower-case `name` in place (ASCII only, as RFC 4343 requires). */
void dname_lower(uint8_t *name);

/* True when both names are equal ignoring ASCII case. */
bool dname_equal(const uint8_t *a, const uint8_t *b);

/* True when `name` equals `parent` or lies below it (both lower-cased). */
bool dname_is_sub(const uint8_t *name, const uint8_t *parent);

/* Pointer to the name with the first label removed; the root returns itself. */
static inline const uint8_t *dname_parent(const uint8_t *name)
{
	return name[0] ? name + 1 + name[0] : name;
}

/* True when the first label is "*" (RFC 4592 wildcard owner). */
static inline bool dname_is_wildcard(const uint8_t *name)
{
	return name[0] == 1 && name[1] == '*';
}

#define DNAME_MAXLABELS 128 /* 255 bytes hold at most 127 labels and the root */

/*
 * Start offset of each label of an uncompressed name; offs[n] is the root
 * label.  Returns n, the number of labels before the root.
 */
static inline unsigned dname_label_offsets(const uint8_t *name, uint8_t *offs)
{
	unsigned n = 0;
	uint8_t o = 0;
	while (name[o]) {
		offs[n++] = o;
		o = (uint8_t)(o + 1 + name[o]);
	}
	offs[n] = o;
	return n;
}

/* Exact-match tables hash names label by label from the root leftwards
 * (each label with its length), so one pass over a query name yields the
 * hash of every suffix, for zone and closest-encloser lookups alike.  Four
 * bytes per multiply; names are lower-cased first. */
#define DNAME_HASH_ROOT 0x050c5d1fu

static inline uint32_t dname_hash_mix(uint32_t h, uint32_t v)
{
	h = (h ^ v) * 0x9E3779B1u;
	return h ^ (h >> 15);
}

static inline uint32_t dname_hash_label(uint32_t h, const uint8_t *label)
{
	unsigned n = label[0];
	const uint8_t *p = label + 1;
	h = dname_hash_mix(h, n);
	for (; n >= 4; n -= 4, p += 4) {
		uint32_t v;
		memcpy(&v, p, 4);
		h = dname_hash_mix(h, v);
	}
	if (n) {
		uint32_t v = p[0];
		if (n > 1)
			v |= (uint32_t)p[1] << 8;
		if (n > 2)
			v |= (uint32_t)p[2] << 16;
		h = dname_hash_mix(h, v);
	}
	return h;
}

/* hashes[i] = hash of the suffix at offs[i], for i = 0..n (n = the root). */
static inline void dname_suffix_hashes(const uint8_t *name, const uint8_t *offs,
				       unsigned n, uint32_t *hashes)
{
	hashes[n] = DNAME_HASH_ROOT;
	for (unsigned i = n; i-- > 0;)
		hashes[i] = dname_hash_label(hashes[i + 1], name + offs[i]);
}

static inline uint32_t dname_hash(const uint8_t *name, size_t len)
{
	uint8_t offs[DNAME_MAXLABELS];
	uint32_t h = DNAME_HASH_ROOT;
	unsigned n = dname_label_offsets(name, offs);
	(void)len;
	while (n-- > 0)
		h = dname_hash_label(h, name + offs[n]);
	return h;
}

/*
 * Parse presentation form ("www.Example.com." or relative to `origin` when
 * not ending in a dot; origin may be NULL meaning the root) into `out`.
 * Handles \DDD and \X escapes.  Returns length > 0 or a VANE_E* code.
 */
int dname_from_str(const char *str, const uint8_t *origin, uint8_t *out) VANE_WUR;

/* Presentation form into `buf` (DNAME_MAXSTR bytes), always dot-terminated. */
char *dname_to_str(const uint8_t *name, char *buf, size_t bufsize);
