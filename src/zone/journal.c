/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdlib.h>
#include <string.h>

#include "lib/pkt.h"
#include "lib/wire.h"
#include "zone/journal.h"

static const struct xfr_extra *extra_find(const struct xfr_extra *extra, unsigned n,
					  const uint8_t *owner, size_t len, uint16_t type)
{
	for (unsigned i = 0; i < n; i++)
		if (extra[i].rs.type == type && extra[i].owner_len == len &&
		    memcmp(extra[i].owner, owner, len) == 0)
			return &extra[i];
	return NULL;
}

int zone_xfr_iter_init(struct zone_xfr_iter *it, const struct zone *z, bool ordered)
{
	memset(it, 0, sizeof(*it));
	it->node = z->nbuckets ? z->buckets[0] : NULL;
	if (ordered && z->order) {
		/* zone_build kept its order: nothing to collect or sort. */
		it->order = z->order;
		it->norder = z->norder;
		it->node = it->norder ? it->order[0] : NULL;
	}
	return 0;
}

void zone_xfr_iter_free(struct zone_xfr_iter *it)
{
	it->order = NULL;
}

bool zone_xfr_iter_next(struct zone_xfr_iter *it, const struct zone *z,
			const struct xfr_extra *extra, unsigned nextra, const uint8_t **owner,
			const uint8_t **lower, const struct rrset **rs)
{
	while (it->order ? it->pos < it->norder : it->bucket < z->nbuckets) {
		const struct znode *n = it->node;
		if (!n) {
			if (++it->bucket < z->nbuckets)
				it->node = z->buckets[it->bucket];
			it->idx = 0;
			continue;
		}
		if (it->idx >= n->rrset_count) {
			if (it->order)
				it->node = ++it->pos < it->norder ? it->order[it->pos] : NULL;
			else
				it->node = n->hnext;
			it->idx = 0;
			continue;
		}
		const struct rrset *r = &n->rrsets[it->idx++];
		if (r->type == DNS_SOA && (n->flags & ZNODE_APEX))
			continue;
		if (extra_find(extra, nextra, n->name, n->name_len, r->type))
			continue;
		*owner = n->name_orig;
		if (lower)
			*lower = n->name;
		*rs = r;
		return true;
	}
	if (it->extra < nextra) {
		*owner = extra[it->extra].owner;
		if (lower)
			*lower = extra[it->extra].owner;
		*rs = &extra[it->extra].rs;
		it->extra++;
		return true;
	}
	return false;
}

int zone_walk_xfr(const struct zone *z, const struct xfr_extra *extra, unsigned nextra,
		  zone_rrset_fn fn, void *ctx)
{
	struct zone_xfr_iter it;
	const uint8_t *owner, *lower;
	const struct rrset *rs;
	int ret = zone_xfr_iter_init(&it, z, true);
	while (ret == 0 && zone_xfr_iter_next(&it, z, extra, nextra, &owner, &lower, &rs))
		ret = fn(ctx, owner, lower, rs);
	zone_xfr_iter_free(&it);
	return ret;
}

/* ---- differences ---- */

/* One RR of a version, pointing into the zone (or extra) memory. */
struct rref {
	const uint8_t *owner;      /* as written */
	const uint8_t *lower;      /* lower-cased, for ordering */
	const uint8_t *rd;         /* RDLENGTH then RDATA */
	uint32_t ttl;
	uint16_t type;
	uint8_t owner_len;
};

struct rlist {
	struct rref *v;
	size_t n, cap;
	const uint8_t *lower;      /* the lower-cased owner of the RRset at hand */
};

static int collect_cb(void *ctx, const uint8_t *owner, const uint8_t *lower,
		      const struct rrset *rs)
{
	struct rlist *l = ctx;
	l->lower = lower;
	const uint8_t *p = rs->rdata;
	for (unsigned i = 0; i < rs->count; i++) {
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 1024;
			struct rref *nv = realloc(l->v, cap * sizeof(*nv));
			if (!nv)
				return VANE_ENOMEM;
			l->v = nv;
			l->cap = cap;
		}
		l->v[l->n++] = (struct rref){ owner, l->lower, p, rs->ttl, rs->type,
					      (uint8_t)dname_len(owner) };
		p += 2 + wire_get_u16(p);
	}
	return 0;
}

/* Owners compare case-insensitively; within an owner by type, RDATA, TTL. */
static int rref_cmp(const void *pa, const void *pb)
{
	const struct rref *a = pa, *b = pb;
	size_t l = a->owner_len < b->owner_len ? a->owner_len : b->owner_len;
	int c0 = a->lower == b->lower ? 0 : memcmp(a->lower, b->lower, l);
	if (c0)
		return c0;
	if (a->owner_len != b->owner_len)
		return a->owner_len < b->owner_len ? -1 : 1;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	size_t la = wire_get_u16(a->rd), lb = wire_get_u16(b->rd);
	int c = memcmp(a->rd + 2, b->rd + 2, la < lb ? la : lb);
	if (c)
		return c;
	if (la != lb)
		return la < lb ? -1 : 1;
	return a->ttl < b->ttl ? -1 : a->ttl > b->ttl;
}

static int zrrs_put(struct zrrs *z, size_t *cap, const uint8_t *owner, size_t olen,
		    uint16_t type, uint32_t ttl, const uint8_t *rd)
{
	size_t rdlen = wire_get_u16(rd);
	size_t need = olen + 10 + rdlen;
	if (z->len + need > *cap) {
		size_t nc = *cap ? *cap * 2 : 4096;
		while (nc < z->len + need)
			nc *= 2;
		uint8_t *nd = realloc(z->data, nc);
		if (!nd)
			return VANE_ENOMEM;
		z->data = nd;
		*cap = nc;
	}
	uint8_t *p = z->data + z->len;
	memcpy(p, owner, olen);
	p += olen;
	wire_put_u16(p, type);
	wire_put_u16(p + 2, DNS_IN);
	wire_put_u32(p + 4, ttl);
	memcpy(p + 8, rd, 2 + rdlen);
	z->len += need;
	z->count++;
	return 0;
}

static int soa_rr(const struct zversion *v, struct zrrs *out)
{
	size_t cap = 0;
	return zrrs_put(out, &cap, v->z->apex_node->name_orig, v->z->apex_len, DNS_SOA,
			v->soa->ttl, v->soa->rdata);
}

int zdiff_compute(const struct zone *oz, const struct xfr_extra *oextra, unsigned on,
		  const struct zone *nz, const struct xfr_extra *nextra, unsigned nn,
		  struct zdiff **out)
{
	struct zversion o = { oz, oz->soa, oz->serial, oextra, on };
	struct zversion n = { nz, nz->soa, nz->serial, nextra, nn };
	return zdiff_versions(&o, &n, out);
}

/* The RRs of `v` at the owners and types some extra of `o` or `n` names:
 * all that can differ between two versions of one zone. */
static int collect_extra_keys(const struct zversion *v, const struct zversion *o,
			      const struct zversion *n, struct rlist *l)
{
	int ret = 0;
	for (unsigned i = 0; ret == 0 && i < o->nextra + n->nextra; i++) {
		const struct xfr_extra *k = i < o->nextra ? &o->extra[i] : &n->extra[i - o->nextra];
		if (i >= o->nextra && extra_find(o->extra, o->nextra, k->owner, k->owner_len,
						 k->rs.type))
			continue;   /* named by both */
		const struct xfr_extra *x = extra_find(v->extra, v->nextra, k->owner, k->owner_len,
						       k->rs.type);
		if (x) {
			ret = collect_cb(l, x->owner, x->owner, &x->rs);
			continue;
		}
		/* No extra here: the zone's own RRset shows, as in the walk. */
		const struct znode *node = zone_find(v->z, k->owner, k->owner_len);
		const struct rrset *rs = node ? znode_rrset(node, k->rs.type) : NULL;
		if (rs && !(rs->type == DNS_SOA && (node->flags & ZNODE_APEX)))
			ret = collect_cb(l, node->name_orig, node->name, rs);
	}
	if (ret == 0 && l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), rref_cmp);
	return ret;
}

/* Owners in the order of z->order: lower-cased wire bytes, then length. */
static int node_cmp(const struct znode *a, const struct znode *b)
{
	size_t l = a->name_len < b->name_len ? a->name_len : b->name_len;
	int c = memcmp(a->name, b->name, l);
	if (c == 0 && a->name_len != b->name_len)
		c = a->name_len < b->name_len ? -1 : 1;
	return c;
}

/* Is the RRset at (`node`, `type`) part of the zone side of the
 * difference: not the apex SOA, not replaced by an extra of either side
 * (collect_extra_keys compares those). */
static bool zone_side(const struct zversion *o, const struct zversion *n,
		      const struct znode *node, uint16_t type)
{
	if (type == DNS_SOA && (node->flags & ZNODE_APEX))
		return false;
	if (o->nextra + n->nextra == 0)
		return true;
	return !extra_find(o->extra, o->nextra, node->name, node->name_len, type) &&
	       !extra_find(n->extra, n->nextra, node->name, node->name_len, type);
}

/* Every record of `rs` at `node` into `out`. */
static int put_rrset(struct zrrs *out, size_t *cap, const struct znode *node,
		     const struct rrset *rs)
{
	const uint8_t *p = rs->rdata;
	for (unsigned i = 0; i < rs->count; i++) {
		int ret = zrrs_put(out, cap, node->name_orig, node->name_len, rs->type, rs->ttl, p);
		if (ret)
			return ret;
		p += 2 + wire_get_u16(p);
	}
	return 0;
}

/* RDATA (RDLENGTH first) in the order of an RRset: bytes, then length. */
static int rdata_cmp(const uint8_t *a, const uint8_t *b)
{
	size_t la = wire_get_u16(a), lb = wire_get_u16(b);
	int c = memcmp(a + 2, b + 2, la < lb ? la : lb);
	if (c == 0 && la != lb)
		c = la < lb ? -1 : 1;
	return c;
}

/* Two RRsets of one owner and type.  A changed TTL changes every record
 * (RFC 1995 4 has no other way to say it). */
static int diff_rrset(struct zdiff *d, size_t *dcap, size_t *acap, const struct znode *on,
		      const struct rrset *ors, const struct znode *nn, const struct rrset *nrs)
{
	int ret;
	if (ors->ttl != nrs->ttl) {
		if ((ret = put_rrset(&d->del, dcap, on, ors)) != 0)
			return ret;
		return put_rrset(&d->add, acap, nn, nrs);
	}
	if (ors->rdata_len == nrs->rdata_len && ors->count == nrs->count &&
	    memcmp(ors->rdata, nrs->rdata, ors->rdata_len) == 0)
		return 0;
	const uint8_t *a = ors->rdata, *b = nrs->rdata;
	unsigned i = 0, j = 0;
	while (i < ors->count || j < nrs->count) {
		int c = i == ors->count ? 1 : j == nrs->count ? -1 : rdata_cmp(a, b);
		if (c == 0) {
			a += 2 + wire_get_u16(a);
			b += 2 + wire_get_u16(b);
			i++;
			j++;
		} else if (c < 0) {
			ret = zrrs_put(&d->del, dcap, on->name_orig, on->name_len, ors->type, ors->ttl, a);
			if (ret)
				return ret;
			a += 2 + wire_get_u16(a);
			i++;
		} else {
			ret = zrrs_put(&d->add, acap, nn->name_orig, nn->name_len, nrs->type, nrs->ttl, b);
			if (ret)
				return ret;
			b += 2 + wire_get_u16(b);
			j++;
		}
	}
	return 0;
}

/* Two nodes of one owner: their RRsets are sorted by type. */
static int diff_node(const struct zversion *o, const struct zversion *n, struct zdiff *d,
		     size_t *dcap, size_t *acap, const struct znode *on, const struct znode *nn)
{
	unsigned i = 0, j = 0;
	int ret = 0;
	while (ret == 0 && (i < on->rrset_count || j < nn->rrset_count)) {
		const struct rrset *a = i < on->rrset_count ? &on->rrsets[i] : NULL;
		const struct rrset *b = j < nn->rrset_count ? &nn->rrsets[j] : NULL;
		int c = !a ? 1 : !b ? -1 : a->type < b->type ? -1 : a->type > b->type;
		uint16_t type = c <= 0 ? a->type : b->type;
		i += c <= 0;
		j += c >= 0;
		if (!zone_side(o, n, c <= 0 ? on : nn, type))
			continue;
		if (c == 0)
			ret = diff_rrset(d, dcap, acap, on, a, nn, b);
		else if (c < 0)
			ret = put_rrset(&d->del, dcap, on, a);
		else
			ret = put_rrset(&d->add, acap, nn, b);
	}
	return ret;
}

/* The zone side of the difference of two versions of different zone
 * objects: one merge of the two zones' sorted node orders, record by
 * record only where an RRset's bytes differ, so a reload that changed one
 * name costs a sequential read of both zones, no collection or sort. */
static int diff_zones(const struct zversion *o, const struct zversion *n, struct zdiff *d,
		      size_t *dcap, size_t *acap)
{
	const struct zone *oz = o->z, *nz = n->z;
	uint32_t i = 0, j = 0;
	int ret = 0;
	while (ret == 0 && (i < oz->norder || j < nz->norder)) {
		const struct znode *a = i < oz->norder ? oz->order[i] : NULL;
		const struct znode *b = j < nz->norder ? nz->order[j] : NULL;
		int c = !a ? 1 : !b ? -1 : node_cmp(a, b);
		if (c == 0) {
			ret = diff_node(o, n, d, dcap, acap, a, b);
			i++;
			j++;
			continue;
		}
		const struct znode *x = c < 0 ? a : b;
		for (unsigned t = 0; ret == 0 && t < x->rrset_count; t++)
			if (zone_side(o, n, x, x->rrsets[t].type))
				ret = c < 0 ? put_rrset(&d->del, dcap, x, &x->rrsets[t])
					    : put_rrset(&d->add, acap, x, &x->rrsets[t]);
		i += c < 0;
		j += c > 0;
	}
	return ret;
}

int zdiff_versions(const struct zversion *o, const struct zversion *n, struct zdiff **out)
{
	struct rlist a = { 0 }, b = { 0 };
	size_t dcap = 0, acap = 0;
	struct zdiff *d = calloc(1, sizeof(*d));
	int ret = VANE_ENOMEM;
	if (!d)
		goto fail;
	d->refcount = 1;
	d->from = o->serial;
	d->to = n->serial;
	if ((ret = soa_rr(o, &d->soa_from)) != 0 || (ret = soa_rr(n, &d->soa_to)) != 0)
		goto fail;
	/* The zone's own RRsets first, unless both versions share the zone
	 * (only the extras moved, export: healthy), then the RRsets some
	 * extra names: a change of steered names costs their size, not the
	 * zone's. */
	if (o->z != n->z && (ret = diff_zones(o, n, d, &dcap, &acap)) != 0)
		goto fail;
	if ((ret = collect_extra_keys(o, o, n, &a)) != 0 ||
	    (ret = collect_extra_keys(n, o, n, &b)) != 0)
		goto fail;
	/* A merge of the two sorted lists: what only the old one has was
	 * deleted, what only the new one has was added.  A changed TTL is a
	 * deletion and an addition of the same record. */
	size_t i = 0, j = 0;
	while (i < a.n || j < b.n) {
		int c = i == a.n ? 1 : j == b.n ? -1 : rref_cmp(&a.v[i], &b.v[j]);
		if (c == 0) {
			i++;
			j++;
			continue;
		}
		const struct rref *r = c < 0 ? &a.v[i++] : &b.v[j++];
		ret = c < 0 ? zrrs_put(&d->del, &dcap, r->owner, r->owner_len, r->type, r->ttl, r->rd)
			    : zrrs_put(&d->add, &acap, r->owner, r->owner_len, r->type, r->ttl, r->rd);
		if (ret)
			goto fail;
	}
	free(a.v);
	free(b.v);
	*out = d;
	return 0;
fail:
	free(a.v);
	free(b.v);
	zdiff_unref(d);
	return ret;
}

void zdiff_ref(struct zdiff *d)
{
	__atomic_add_fetch(&d->refcount, 1, __ATOMIC_RELAXED);
}

void zdiff_unref(struct zdiff *d)
{
	if (!d || __atomic_sub_fetch(&d->refcount, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	free(d->soa_from.data);
	free(d->soa_to.data);
	free(d->del.data);
	free(d->add.data);
	free(d);
}

size_t zdiff_bytes(const struct zdiff *d)
{
	return sizeof(*d) + d->soa_from.len + d->soa_to.len + d->del.len + d->add.len;
}

/* ---- journal ---- */

int zjournal_next(const struct zjournal *old, struct zdiff *d, size_t max_bytes,
		  struct zjournal **out)
{
	*out = NULL;
	if (!d || max_bytes == 0 || zdiff_bytes(d) > max_bytes)
		return 0;
	unsigned first = 0, n = old ? old->n : 0;
	if (n && old->diffs[n - 1]->to != d->from)
		first = n;   /* not a continuation: start over */
	size_t bytes = zdiff_bytes(d);
	/* Keep the newest old differences that fit with `d`. */
	unsigned keep = n;
	for (unsigned i = n; i-- > first;) {
		if (bytes + zdiff_bytes(old->diffs[i]) > max_bytes ||
		    n - i + 1 > ZJOURNAL_MAX_VERSIONS)
			break;
		bytes += zdiff_bytes(old->diffs[i]);
		keep = i;
	}
	struct zjournal *j = calloc(1, sizeof(*j));
	unsigned cnt = n - keep + 1;
	if (j)
		j->diffs = calloc(cnt, sizeof(*j->diffs));
	if (!j || !j->diffs) {
		free(j);
		return VANE_ENOMEM;
	}
	j->refcount = 1;
	for (unsigned i = keep; i < n; i++) {
		zdiff_ref(old->diffs[i]);
		j->diffs[j->n++] = old->diffs[i];
	}
	zdiff_ref(d);
	j->diffs[j->n++] = d;
	j->bytes = bytes;
	*out = j;
	return 0;
}

void zjournal_ref(struct zjournal *j)
{
	if (j)
		__atomic_add_fetch(&j->refcount, 1, __ATOMIC_RELAXED);
}

void zjournal_unref(struct zjournal *j)
{
	if (!j || __atomic_sub_fetch(&j->refcount, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	for (unsigned i = 0; i < j->n; i++)
		zdiff_unref(j->diffs[i]);
	free(j->diffs);
	free(j);
}

int zjournal_find(const struct zjournal *j, uint32_t serial)
{
	for (unsigned i = 0; j && i < j->n; i++)
		if (j->diffs[i]->from == serial)
			return (int)i;
	return -1;
}
