/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Compile collected records into the immutable zone the answer path reads,
 * and run the semantic checks that decide whether the zone may be served.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/pkt.h"
#include "lib/wire.h"
#include "zone/build.h"
#include "zone/mem.h"

static bool same_owner(const struct zbuild *b, const struct zrec *x, const struct zrec *y)
{
	return x->owner_len == y->owner_len &&
	       memcmp(b->pool + x->lowner, b->pool + y->lowner, x->owner_len) == 0;
}

static bool same_rdata(const struct zbuild *b, const struct zrec *x, const struct zrec *y)
{
	return x->rdlen == y->rdlen &&
	       memcmp(b->pool + x->rdata, b->pool + y->rdata, x->rdlen) == 0;
}

static struct znode *node_find(struct zone *z, const uint8_t *name, size_t len)
{
	return (struct znode *)zone_find(z, name, len);
}

static struct znode *node_add(struct zbuild *b, struct zone *z, const uint8_t *lname,
			      const uint8_t *oname, size_t len)
{
	if (b->nnodes == b->capnodes) {
		size_t cap = b->capnodes ? b->capnodes * 2 : 1024;
		struct znode **nodes = realloc(b->nodes, cap * sizeof(*nodes));
		if (!nodes)
			return NULL;
		b->nodes = nodes;
		b->capnodes = cap;
	}
	struct znode *n = zone_mem_alloc(z->mem, sizeof(*n));
	if (!n)
		return NULL;
	b->nodes[b->nnodes++] = n;
	memset(n, 0, sizeof(*n));
	n->name = zone_mem_dup(z->mem, lname, len);
	/* Most owners are written in lower case: one copy serves both. */
	n->name_orig = lname == oname || memcmp(lname, oname, len) == 0 ? n->name :
		       zone_mem_dup(z->mem, oname, len);
	if (!n->name || !n->name_orig)
		return NULL;
	n->name_len = (uint8_t)len;
	n->hash = dname_hash(lname, len);
	uint32_t i = n->hash & (z->nbuckets - 1);
	n->hnext = z->buckets[i];
	z->buckets[i] = n;
	z->nnodes++;
	return n;
}

/* Offset of the name inside RDATA that additional processing follows. */
static int addl_name_offset(uint16_t type)
{
	switch (type) {
	case DNS_NS: return 0;
	case DNS_MX: return 2;
	case DNS_SRV: return 6;
	default: return -1;
	}
}

/* Build nodes and RRsets from the sorted records. */
static int build_nodes(struct zbuild *b, struct zone *z)
{
	size_t i = 0;
	while (i < b->nrecs) {
		const struct zrec *first = &b->recs[i];
		size_t j = i, ntypes = 0;
		while (j < b->nrecs && same_owner(b, first, &b->recs[j])) {
			if (j == i || b->recs[j].type != b->recs[j - 1].type)
				ntypes++;
			j++;
		}
		struct znode *n = node_add(b, z, b->pool + first->lowner,
					   b->pool + first->owner, first->owner_len);
		if (!n)
			return VANE_ENOMEM;
		n->rrsets = zone_mem_alloc(z->mem, ntypes * sizeof(struct rrset));
		if (!n->rrsets)
			return VANE_ENOMEM;
		n->rrset_count = (uint16_t)ntypes;
		size_t k = i;
		for (size_t t = 0; t < ntypes; t++) {
			struct rrset *rs = &n->rrsets[t];
			size_t e = k, bytes = 0;
			uint32_t ttl_seq = UINT32_MAX;
			memset(rs, 0, sizeof(*rs));
			rs->type = b->recs[k].type;
			while (e < b->nrecs && e < j && b->recs[e].type == rs->type) {
				if (e == k || !same_rdata(b, &b->recs[e], &b->recs[e - 1])) {
					bytes += 2 + b->recs[e].rdlen;
					rs->count++;
				}
				/* RFC 2181 5.2: one TTL per RRset; take the first written. */
				if (b->recs[e].seq < ttl_seq) {
					ttl_seq = b->recs[e].seq;
					rs->ttl = b->recs[e].ttl;
				}
				e++;
			}
			rs->rdata = zone_mem_alloc(z->mem, bytes);
			if (!rs->rdata)
				return VANE_ENOMEM;
			uint8_t *p = rs->rdata;
			for (size_t r = k; r < e; r++) {
				if (r != k && same_rdata(b, &b->recs[r], &b->recs[r - 1]))
					continue; /* duplicate RR, merged as Knot does */
				wire_put_u16(p, b->recs[r].rdlen);
				memcpy(p + 2, b->pool + b->recs[r].rdata, b->recs[r].rdlen);
				p += 2 + b->recs[r].rdlen;
				z->nrecords++;
			}
			rs->rdata_len = (uint32_t)bytes;
			k = e;
		}
		i = j;
	}
	return 0;
}

/* The nodes with RRsets in the order of the sorted records (and of their
 * allocation, so mostly of memory): transfers walk it without sorting, and the
 * difference of two versions is one merge of their orders (journal.c). */
static int keep_order(struct zbuild *b, struct zone *z)
{
	z->order = zone_mem_alloc(z->mem, (b->nnodes ? b->nnodes : 1) * sizeof(*z->order));
	if (!z->order)
		return VANE_ENOMEM;
	memcpy(z->order, b->nodes, b->nnodes * sizeof(*z->order));
	z->norder = (uint32_t)b->nnodes;
	return 0;
}

/* Every ancestor up to the apex gets a node: empty non-terminals exist
 * (RFC 4592 2.2.2), so closest-encloser search is a series of lookups. */
static int add_empty_nonterminals(struct zbuild *b, struct zone *z)
{
	/* Walk nodes in memory order, not bucket order: a million nodes visited
	 * through the buckets is a cache miss each.  Nodes added here are
	 * appended and visited too; their ancestors are already done. */
	for (size_t k = 0; k < b->nnodes; k++) {
		const struct znode *n = b->nodes[k];
		const uint8_t *p = n->name;
		const uint8_t *op = n->name_orig;
		while (p[0] && (size_t)(n->name_len - (p - n->name)) > z->apex_len) {
			op = dname_parent(op);
			p = dname_parent(p);
			size_t len = n->name_len - (size_t)(p - n->name);
			if (node_find(z, p, len))
				break;
			struct znode *ent = node_add(b, z, p, op, len);
			if (!ent)
				return VANE_ENOMEM;
		}
	}
	return 0;
}

/* The topmost delegation at or above `name`, or NULL. */
static const struct znode *find_cut(struct zone *z, const uint8_t *name, size_t len)
{
	const struct znode *cut = NULL;
	const uint8_t *p = name;
	while (len > z->apex_len) {
		const struct znode *n = zone_find(z, p, len);
		if (n && (n->flags & ZNODE_CUT))
			cut = n;
		len -= 1 + p[0];
		p += 1 + p[0];
	}
	return cut;
}

static void set_flags(struct zbuild *b, struct zone *z)
{
	bool any_cut = false;
	for (size_t k = 0; k < b->nnodes; k++) {
		struct znode *n = b->nodes[k];
		if (n->name_len == z->apex_len)
			n->flags |= ZNODE_APEX;
		else if (znode_rrset(n, DNS_NS))
			n->flags |= ZNODE_CUT;
		if (znode_rrset(n, DNS_DNAME))
			n->flags |= ZNODE_DNAME;
		any_cut |= (n->flags & ZNODE_CUT) != 0;
	}
	for (size_t k = 0; k < b->nnodes; k++) {
		struct znode *n = b->nodes[k];
		/* Without delegations there is no cut to look for. */
		n->cut = any_cut ? find_cut(z, n->name, n->name_len) : NULL;
		if (n->cut && n->cut != n)
			n->flags |= ZNODE_NONAUTH;
		if (dname_is_wildcard(n->name) && !(n->flags & ZNODE_APEX)) {
			const uint8_t *parent = dname_parent(n->name);
			struct znode *pn = node_find(z, parent, n->name_len - 2u);
			if (pn)
				pn->flags |= ZNODE_WILDCARD_CHILD;
		}
	}
}

static int link_additionals(struct zbuild *b, struct zone *z)
{
	for (size_t k = 0; k < b->nnodes; k++) {
		struct znode *n = b->nodes[k];
		for (unsigned t = 0; t < n->rrset_count; t++) {
			struct rrset *rs = &n->rrsets[t];
			int off = addl_name_offset(rs->type);
			if (off < 0)
				continue;
			rs->addl = zone_mem_alloc(z->mem, rs->count * sizeof(*rs->addl));
			if (!rs->addl)
				return VANE_ENOMEM;
			const uint8_t *p = rs->rdata;
			for (unsigned r = 0; r < rs->count; r++) {
				uint16_t rdlen = wire_get_u16(p);
				uint8_t target[DNAME_MAXLEN];
				size_t toff = (size_t)off;
				int len = rdlen > off ? dname_unpack(p + 2, rdlen, &toff, target, true) : -1;
				rs->addl[r] = len > 0 ? zone_find(z, target, (size_t)len) : NULL;
				p += 2 + rdlen;
			}
		}
	}
	return 0;
}

static uint32_t next_pow2(size_t n)
{
	uint32_t p = 64;
	while (p < n && p < (1u << 30))
		p <<= 1;
	return p;
}

/* End offset of an uncompressed name at `off` in RDATA, or -1. */
static int rdata_name_end(const uint8_t *rd, size_t rdlen, size_t off)
{
	size_t start = off;
	while (off < rdlen) {
		uint8_t l = rd[off];
		if (l & 0xC0)
			return -1;
		off += 1 + (size_t)l;
		if (off - start > DNAME_MAXLEN)
			return -1;
		if (l == 0)
			return off <= rdlen ? (int)off : -1;
	}
	return -1;
}

/* The answer path parses names inside RDATA of these types; generic
 * (RFC 3597) data for them must hold well-formed, uncompressed names. */
static bool rdata_ok(uint16_t type, const uint8_t *rd, size_t rdlen)
{
	int e;
	switch (type) {
	case DNS_NS:
	case DNS_CNAME:
	case DNS_PTR:
		return rdata_name_end(rd, rdlen, 0) == (int)rdlen;
	case DNS_MX:
		return rdlen > 2 && rdata_name_end(rd, rdlen, 2) == (int)rdlen;
	case DNS_SRV:
		return rdlen > 6 && rdata_name_end(rd, rdlen, 6) == (int)rdlen;
	case DNS_SOA:
		e = rdata_name_end(rd, rdlen, 0);
		e = e < 0 ? -1 : rdata_name_end(rd, rdlen, (size_t)e);
		return e >= 0 && (size_t)e + 20 == rdlen;
	default:
		return true;
	}
}

/*
 * For RRsets that must hold one record (SOA, CNAME): is record i a
 * different second one?  Records are sorted by RDATA, so the original is
 * the one written first (lowest seq); each other distinct RDATA is blamed
 * once, at the line where it first appears.
 */
static bool is_extra_record(const struct zbuild *b, size_t i)
{
	const struct zrec *r = &b->recs[i];
	size_t gs = i, ge = i;
	while (gs > 0 && b->recs[gs - 1].type == r->type && same_owner(b, &b->recs[gs - 1], r))
		gs--;
	while (ge < b->nrecs && b->recs[ge].type == r->type && same_owner(b, &b->recs[ge], r))
		ge++;
	const struct zrec *orig = &b->recs[gs];
	for (size_t k = gs; k < ge; k++)
		if (b->recs[k].seq < orig->seq)
			orig = &b->recs[k];
	bool first_of_rdata = i == gs || !same_rdata(b, r, r - 1);
	return first_of_rdata && !same_rdata(b, r, orig);
}

/* Semantic checks (errors make the zone unservable), per record line. */
static void check_records(struct zbuild *b, struct zone *z)
{
	bool apex_soa = false, apex_ns = false;
	for (size_t i = 0; i < b->nrecs; i++) {
		const struct zrec *r = &b->recs[i];
		const uint8_t *owner = b->pool + r->lowner;
		char name[DNAME_MAXSTR];
		/* Only CNAME and NS checks need the node: a lookup per record
		 * is a cache miss per record on a big zone. */
		const struct znode *n = r->type == DNS_CNAME || r->type == DNS_NS ?
			zone_find(z, owner, r->owner_len) : NULL;
		bool apex = r->owner_len == z->apex_len;

		if (r->type == DNS_SOA) {
			if (!apex)
				zbuild_error(b, r, "%s: SOA outside the zone apex",
					     dname_to_str(owner, name, sizeof(name)));
			else if (is_extra_record(b, i))
				zbuild_error(b, r, "more than one SOA at the zone apex");
			apex_soa |= apex;
		}
		if (r->type == DNS_NS && apex)
			apex_ns = true;
		if (r->type == DNS_CNAME && n) {
			/* RFC 1034 3.6.2 / RFC 2181 10.1: CNAME stands alone. */
			for (unsigned t = 0; t < n->rrset_count; t++) {
				uint16_t ty = n->rrsets[t].type;
				if (ty != DNS_CNAME && ty != DNS_RRSIG && ty != DNS_NSEC) {
					zbuild_error(b, r, "%s: CNAME and other data at the same name",
						     dname_to_str(owner, name, sizeof(name)));
					break;
				}
			}
			if (is_extra_record(b, i))
				zbuild_error(b, r, "%s: more than one CNAME record",
					     dname_to_str(owner, name, sizeof(name)));
		}
		if (r->type == DNS_NS && n && (n->flags & ZNODE_CUT) && n->cut == n) {
			uint8_t target[DNAME_MAXLEN];
			size_t off = 0;
			int len = dname_unpack(b->pool + r->rdata, r->rdlen, &off, target, true);
			if (len <= 0 || !dname_is_sub(target, z->apex))
				continue;
			/* In-bailiwick name server below a cut: it needs glue. */
			if (!find_cut(z, target, (size_t)len))
				continue;
			const struct znode *tn = zone_find(z, target, (size_t)len);
			if (!tn || (!znode_rrset(tn, DNS_A) && !znode_rrset(tn, DNS_AAAA))) {
				char tname[DNAME_MAXSTR];
				zbuild_error(b, r, "%s: missing glue for name server %s",
					     dname_to_str(owner, name, sizeof(name)),
					     dname_to_str(target, tname, sizeof(tname)));
			}
		}
	}
	const struct zrec *first = b->nrecs ? &b->recs[0] : NULL;
	if (!apex_soa)
		zbuild_error(b, first, "no SOA record at the zone apex");
	if (!apex_ns)
		zbuild_error(b, first, "no NS records at the zone apex");
}

/* SOA fields after the two names: serial refresh retry expire minimum. */
static void read_soa(struct zone *z)
{
	const struct rrset *soa = z->soa;
	const uint8_t *rd = soa->rdata + 2;
	size_t off = dname_len(rd);
	off += dname_len(rd + off);
	z->serial = wire_get_u32(rd + off);
	uint32_t minimum = wire_get_u32(rd + off + 16);
	z->neg_ttl = soa->ttl < minimum ? soa->ttl : minimum;
}

int zone_build(struct zbuild *b, struct zone **out)
{
	int ret = VANE_ENOMEM;
	struct zone *z = calloc(1, sizeof(*z));
	if (!z)
		return VANE_ENOMEM;
	z->refcount = 1;
	z->mem = zone_mem_new();
	z->file = strdup(b->files[0]);
	if (!z->mem || !z->file)
		goto fail;
	memcpy(z->apex, b->apex, b->apex_len);
	z->apex_len = (uint8_t)b->apex_len;
	z->apex_labels = dname_labels(z->apex);

	/* Out-of-zone data is an error, reported where it was written. */
	for (size_t i = 0; i < b->nrecs; i++) {
		const struct zrec *r = &b->recs[i];
		if (!rdata_ok(r->type, b->pool + r->rdata, r->rdlen))
			zbuild_error(b, r, "malformed RDATA for type %u", r->type);
		if (!dname_is_sub(b->pool + r->lowner, z->apex)) {
			char name[DNAME_MAXSTR], apex[DNAME_MAXSTR];
			zbuild_error(b, r, "%s: out of zone %s",
				     dname_to_str(b->pool + r->owner, name, sizeof(name)),
				     dname_to_str(z->apex, apex, sizeof(apex)));
		}
	}
	if (b->errors) {
		ret = VANE_ESEMANTIC;
		goto fail;
	}

	if (b->nrecs == 0) {
		zbuild_error(b, NULL, "no records: a zone needs at least SOA and NS at the apex");
		ret = VANE_ESEMANTIC;
		goto fail;
	}
	if ((ret = zrec_sort(b)) != 0)
		goto fail;
	ret = VANE_ENOMEM;

	z->nbuckets = next_pow2(b->nrecs);
	z->buckets = zone_mem_alloc(z->mem, z->nbuckets * sizeof(*z->buckets));
	if (!z->buckets)
		goto fail;
	memset(z->buckets, 0, z->nbuckets * sizeof(*z->buckets));

	if ((ret = build_nodes(b, z)) != 0 || (ret = keep_order(b, z)) != 0 ||
	    (ret = add_empty_nonterminals(b, z)) != 0)
		goto fail;
	set_flags(b, z);
	if ((ret = link_additionals(b, z)) != 0)
		goto fail;
	z->apex_node = zone_find(z, z->apex, z->apex_len);
	check_records(b, z);
	if (b->errors) {
		ret = VANE_ESEMANTIC;
		goto fail;
	}
	z->soa = znode_rrset(z->apex_node, DNS_SOA);
	read_soa(z);
	z->loaded_at = time(NULL);
	free(b->nodes);
	b->nodes = NULL;
	*out = z;
	return 0;
fail:
	free(b->nodes);
	b->nodes = NULL;
	zone_unref(z);
	return ret;
}

void zone_ref(struct zone *z)
{
	__atomic_add_fetch(&z->refcount, 1, __ATOMIC_RELAXED);
}

void zone_unref(struct zone *z)
{
	if (!z || __atomic_sub_fetch(&z->refcount, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	zone_mem_free(z->mem);
	free(z->soa_heap);
	free(z->file);
	free(z);
}
