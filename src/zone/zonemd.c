/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "lib/pkt.h"
#include "lib/wire.h"
#include "zone/mem.h"
#include "zone/zonemd.h"

/* RFC 4034 6.1: names compare label by label from the root, each label
 * as lower-case bytes, a label that is a prefix of the other first.
 * Node names are lower case already. */
static int canon_cmp(const uint8_t *a, const uint8_t *b)
{
	uint8_t oa[DNAME_MAXLABELS + 1], ob[DNAME_MAXLABELS + 1];
	unsigned na = dname_label_offsets(a, oa), nb = dname_label_offsets(b, ob);
	while (na > 0 && nb > 0) {
		const uint8_t *la = a + oa[--na], *lb = b + ob[--nb];
		unsigned l = la[0] < lb[0] ? la[0] : lb[0];
		int c = memcmp(la + 1, lb + 1, l);
		if (c)
			return c;
		if (la[0] != lb[0])
			return la[0] < lb[0] ? -1 : 1;
	}
	return na == nb ? 0 : na < nb ? -1 : 1;
}

/*
 * Sorting a million nodes by comparing their names chases two pointers per
 * comparison, each a cache miss.  Instead each node gets a key: the labels
 * below the apex from the right, each followed by a 0 byte, whose bytewise
 * order is the canonical order (names are lower case) as long as no label
 * holds a 0 byte itself; the first KEY_PRE bytes sit in the sort entry, so
 * most comparisons never leave the array.  A zone with a 0 byte in a label
 * falls back to canon_cmp.
 */
#define KEY_PRE 16

struct sortent {
	uint8_t pre[KEY_PRE];
	const uint8_t *key;            /* the whole key, in `keys` */
	uint16_t len;
	const struct znode *node;
};

static int ent_cmp(const void *pa, const void *pb)
{
	const struct sortent *a = pa, *b = pb;
	int c = memcmp(a->pre, b->pre, KEY_PRE);
	if (c || (a->len <= KEY_PRE && b->len <= KEY_PRE))
		return c ? c : (a->len > b->len) - (a->len < b->len);
	unsigned l = a->len < b->len ? a->len : b->len;
	c = memcmp(a->key, b->key, l);
	return c ? c : (a->len > b->len) - (a->len < b->len);
}

static int ent_cmp_exact(const void *pa, const void *pb)
{
	return canon_cmp(((const struct sortent *)pa)->node->name,
			 ((const struct sortent *)pb)->node->name);
}

/* The key of `name` below an apex of `apex_labels` labels into `out`
 * (DNAME_MAXLEN bytes); returns its length, or -1 when a label holds 0. */
static int node_key(const uint8_t *name, unsigned apex_labels, uint8_t *out)
{
	uint8_t offs[DNAME_MAXLABELS + 1];
	unsigned n = dname_label_offsets(name, offs);
	int len = 0, zero = 0;
	for (unsigned i = n - apex_labels; i-- > 0;) {
		const uint8_t *l = name + offs[i];
		memcpy(out + len, l + 1, l[0]);
		zero |= memchr(l + 1, 0, l[0]) != NULL;
		len += l[0];
		out[len++] = 0;
	}
	return zero ? -1 : len;
}

/* Lower-case the uncompressed name at `off`; returns the offset after it,
 * or `len` when it runs off the end (the rest is left alone). */
static size_t lower_name(uint8_t *rd, size_t len, size_t off)
{
	while (off < len) {
		uint8_t l = rd[off];
		if (l == 0)
			return off + 1;
		if (l & 0xC0 || off + 1 + l > len)
			return len;
		for (size_t i = off + 1; i <= off + l; i++)
			if (rd[i] >= 'A' && rd[i] <= 'Z')
				rd[i] = (uint8_t)(rd[i] + 32);
		off += 1u + l;
	}
	return len;
}

/* Skip a <character-string>; `len` when it runs off the end. */
static size_t skip_string(const uint8_t *rd, size_t len, size_t off)
{
	return off < len && off + 1 + rd[off] <= len ? off + 1 + rd[off] : len;
}

/*
 * RFC 4034 6.2 item 3, as RFC 6840 5.1 leaves it (NSEC out): the types
 * whose RDATA names are lower-cased in canonical form.  Types after
 * RFC 3597 keep their case, as Knot and Unbound do.
 */
static void canon_rdata(uint16_t type, uint8_t *rd, size_t len)
{
	size_t o;
	switch (type) {
	case DNS_NS: case 3 /* MD */: case 4 /* MF */: case DNS_CNAME: case 7 /* MB */:
	case 8 /* MG */: case 9 /* MR */: case DNS_PTR: case DNS_DNAME: case 30 /* NXT */:
		lower_name(rd, len, 0);
		break;
	case DNS_SOA: case 14 /* MINFO */: case DNS_RP:
		lower_name(rd, len, lower_name(rd, len, 0));
		break;
	case DNS_MX: case DNS_AFSDB: case 21 /* RT */: case DNS_KX:
		if (len > 2)
			lower_name(rd, len, 2);
		break;
	case 26 /* PX */:
		if (len > 2)
			lower_name(rd, len, lower_name(rd, len, 2));
		break;
	case DNS_SRV:
		if (len > 6)
			lower_name(rd, len, 6);
		break;
	case DNS_NAPTR:
		o = skip_string(rd, len, 4);
		o = skip_string(rd, len, o);
		o = skip_string(rd, len, o);
		lower_name(rd, len, o);
		break;
	case 24 /* SIG */: case DNS_RRSIG:
		if (len > 18)
			lower_name(rd, len, 18);
		break;
	case 38 /* A6 */:
		if (len > 0 && rd[0] > 0 && rd[0] <= 128) {
			o = 1 + (size_t)(128 - rd[0] + 7) / 8;
			if (o < len)
				lower_name(rd, len, o);
		}
		break;
	default:
		break;
	}
}

struct rec {
	uint8_t *rd;
	uint16_t len;
};

/* Hash input gathered in one buffer: one EVP call per 64 KiB rather than
 * three per record. */
struct hbuf {
	EVP_MD_CTX *md;
	uint8_t buf[65536];
	size_t len;
	bool err;
	uint8_t *copy;                 /* scratch for one RRset's RDATA */
	size_t copy_cap;
	struct rec *recs;
	size_t recs_cap;
};

static void hb_flush(struct hbuf *h)
{
	if (h->len && !EVP_DigestUpdate(h->md, h->buf, h->len))
		h->err = true;
	h->len = 0;
}

static void hb_put(struct hbuf *h, const void *p, size_t n)
{
	if (h->len + n > sizeof(h->buf))
		hb_flush(h);
	if (n > sizeof(h->buf)) {
		if (!EVP_DigestUpdate(h->md, p, n))
			h->err = true;
		return;
	}
	memcpy(h->buf + h->len, p, n);
	h->len += n;
}

/* RFC 4034 6.3: RDATA as left-justified octet strings, shorter first. */
static int rec_cmp(const void *pa, const void *pb)
{
	const struct rec *a = pa, *b = pb;
	int c = memcmp(a->rd, b->rd, a->len < b->len ? a->len : b->len);
	return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* One RRset in canonical form into the digest; `skip_covering_zonemd`
 * drops RRSIGs over ZONEMD (at the apex). */
static int digest_rrset(struct hbuf *h, const struct znode *node, const struct rrset *rs,
			bool skip_covering_zonemd)
{
	if (rs->rdata_len + 1 > h->copy_cap) {
		free(h->copy);
		h->copy_cap = rs->rdata_len + 1 > 4096 ? rs->rdata_len + 1 : 4096;
		if (!(h->copy = malloc(h->copy_cap)))
			return VANE_ENOMEM;
	}
	if (rs->count + 1u > h->recs_cap) {
		free(h->recs);
		h->recs_cap = rs->count + 1u > 256 ? rs->count + 1u : 256;
		if (!(h->recs = malloc(h->recs_cap * sizeof(*h->recs))))
			return VANE_ENOMEM;
	}
	uint8_t *copy = h->copy;
	struct rec *recs = h->recs;
	memcpy(copy, rs->rdata, rs->rdata_len);
	unsigned n = 0;
	for (size_t off = 0; off + 2 <= rs->rdata_len && n < rs->count;) {
		uint16_t len = wire_get_u16(copy + off);
		recs[n] = (struct rec){ .rd = copy + off + 2, .len = len };
		off += 2u + len;
		if (skip_covering_zonemd && rs->type == DNS_RRSIG && len >= 2 &&
		    wire_get_u16(recs[n].rd) == ZONEMD_TYPE)
			continue;
		canon_rdata(rs->type, recs[n].rd, len);
		n++;
	}
	if (n > 1)
		qsort(recs, n, sizeof(*recs), rec_cmp);
	uint8_t head[10];
	wire_put_u16(head, rs->type);
	wire_put_u16(head + 2, DNS_IN);
	wire_put_u32(head + 4, rs->ttl);
	for (unsigned i = 0; i < n; i++) {
		/* RFC 8976 3.3.1.1: duplicates (after canonicalization) once. */
		if (i > 0 && rec_cmp(&recs[i], &recs[i - 1]) == 0)
			continue;
		wire_put_u16(head + 8, recs[i].len);
		hb_put(h, node->name, node->name_len);
		hb_put(h, head, sizeof(head));
		hb_put(h, recs[i].rd, recs[i].len);
	}
	return 0;
}

/* Every node with data, in canonical order (RFC 4034 6.1). */
static int sorted_nodes(const struct zone *z, struct sortent **out, size_t *count)
{
	struct sortent *e = malloc((z->nnodes + 1) * sizeof(*e));
	uint8_t *keys = malloc((size_t)z->nnodes * 32 + DNAME_MAXLEN);
	size_t n = 0, used = 0, cap = (size_t)z->nnodes * 32 + DNAME_MAXLEN;
	bool exact = false;
	if (!e || !keys)
		goto nomem;
	for (uint32_t b = 0; b < z->nbuckets; b++) {
		for (const struct znode *node = z->buckets[b]; node; node = node->hnext) {
			if (node->rrset_count == 0 || n >= z->nnodes)
				continue;
			if (used + DNAME_MAXLEN > cap) {
				/* Keys point into `keys`: start another block instead of moving it. */
				*out = NULL;
				goto slow;
			}
			int len = node_key(node->name, z->apex_labels, keys + used);
			if (len < 0) {
				exact = true;
				len = 0;
			}
			struct sortent *s = &e[n++];
			memset(s->pre, 0, KEY_PRE);
			memcpy(s->pre, keys + used, (size_t)len < KEY_PRE ? (size_t)len : KEY_PRE);
			s->key = keys + used;
			s->len = (uint16_t)len;
			s->node = node;
			used += (size_t)len;
		}
	}
	qsort(e, n, sizeof(*e), exact ? ent_cmp_exact : ent_cmp);
	free(keys);
	*out = e;
	*count = n;
	return 0;
slow:
	/* Names longer than 32 bytes on average: sort by name directly. */
	n = 0;
	for (uint32_t b = 0; b < z->nbuckets; b++)
		for (const struct znode *node = z->buckets[b]; node; node = node->hnext)
			if (node->rrset_count > 0 && n < z->nnodes)
				e[n++].node = node;
	qsort(e, n, sizeof(*e), ent_cmp_exact);
	free(keys);
	*out = e;
	*count = n;
	return 0;
nomem:
	free(e);
	free(keys);
	return VANE_ENOMEM;
}

int zonemd_digest(const struct zone *z, uint8_t out[ZONEMD_SHA384_LEN])
{
	struct sortent *nodes = NULL;
	size_t n = 0;
	struct hbuf *h = calloc(1, sizeof(*h));
	int ret = VANE_ENOMEM;
	if (!h || !(h->md = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(h->md, EVP_sha384(), NULL))
		goto out;
	if ((ret = sorted_nodes(z, &nodes, &n)) != 0)
		goto out;
	for (size_t i = 0; i < n && ret == 0; i++) {
		const struct znode *node = nodes[i].node;
		bool apex = node == z->apex_node;
		/* RRsets are kept sorted by type: canonical order already. */
		for (unsigned t = 0; t < node->rrset_count && ret == 0; t++) {
			const struct rrset *rs = &node->rrsets[t];
			if (apex && rs->type == ZONEMD_TYPE)
				continue;
			ret = digest_rrset(h, node, rs, apex);
		}
	}
	hb_flush(h);
	unsigned len = 0;
	if (ret == 0 && (h->err || !EVP_DigestFinal_ex(h->md, out, &len) ||
			 len != ZONEMD_SHA384_LEN))
		ret = VANE_ENOMEM;
out:
	if (h) {
		EVP_MD_CTX_free(h->md);
		free(h->copy);
		free(h->recs);
	}
	free(h);
	free(nodes);
	return ret;
}

int zonemd_add(struct zone *z)
{
	uint8_t digest[ZONEMD_SHA384_LEN];
	int ret = zonemd_digest(z, digest);
	if (ret)
		return ret;
	struct znode *apex = (struct znode *)z->apex_node;
	const struct rrset *old = znode_rrset(apex, ZONEMD_TYPE);
	unsigned count = apex->rrset_count + (old ? 0u : 1u);
	struct rrset *sets = zone_mem_alloc(z->mem, count * sizeof(*sets));
	uint8_t *rd = zone_mem_alloc(z->mem, 2 + 6 + ZONEMD_SHA384_LEN);
	if (!sets || !rd)
		return VANE_ENOMEM;
	wire_put_u16(rd, 6 + ZONEMD_SHA384_LEN);
	wire_put_u32(rd + 2, z->serial);
	rd[6] = ZONEMD_SCHEME_SIMPLE;
	rd[7] = ZONEMD_HASH_SHA384;
	memcpy(rd + 8, digest, ZONEMD_SHA384_LEN);
	struct rrset md = { .type = ZONEMD_TYPE, .count = 1, .ttl = z->soa->ttl,
			    .rdata_len = 8 + ZONEMD_SHA384_LEN, .rdata = rd };
	/* Keep the type order: the new RRset goes before the first higher type. */
	unsigned k = 0;
	bool placed = false;
	for (unsigned i = 0; i < apex->rrset_count; i++) {
		const struct rrset *rs = &apex->rrsets[i];
		if (rs->type == ZONEMD_TYPE) {
			z->nrecords -= rs->count;
			continue;
		}
		if (!placed && rs->type > ZONEMD_TYPE) {
			sets[k++] = md;
			placed = true;
		}
		sets[k++] = *rs;
	}
	if (!placed)
		sets[k++] = md;
	/* The old array stays in the arena until the zone goes; nothing has
	 * read it yet, as the zone is not published. */
	apex->rrsets = sets;
	apex->rrset_count = (uint16_t)k;
	z->nrecords++;
	z->soa = znode_rrset(apex, DNS_SOA);
	return 0;
}
