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

static int node_cmp(const void *pa, const void *pb)
{
	const struct znode *a = *(const struct znode *const *)pa;
	const struct znode *b = *(const struct znode *const *)pb;
	return canon_cmp(a->name, b->name);
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

/* RFC 4034 6.3: RDATA as left-justified octet strings, shorter first. */
static int rec_cmp(const void *pa, const void *pb)
{
	const struct rec *a = pa, *b = pb;
	int c = memcmp(a->rd, b->rd, a->len < b->len ? a->len : b->len);
	return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* One RRset in canonical form into the digest; `skip_covering_zonemd`
 * drops RRSIGs over ZONEMD (at the apex). */
static int digest_rrset(EVP_MD_CTX *md, const struct znode *node, const struct rrset *rs,
			bool skip_covering_zonemd)
{
	uint8_t *copy = malloc(rs->rdata_len + 1);
	struct rec *recs = calloc(rs->count + 1u, sizeof(*recs));
	int ret = 0;
	if (!copy || !recs) {
		ret = VANE_ENOMEM;
		goto out;
	}
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
		if (!EVP_DigestUpdate(md, node->name, node->name_len) ||
		    !EVP_DigestUpdate(md, head, sizeof(head)) ||
		    !EVP_DigestUpdate(md, recs[i].rd, recs[i].len)) {
			ret = VANE_ENOMEM;
			break;
		}
	}
out:
	free(copy);
	free(recs);
	return ret;
}

int zonemd_digest(const struct zone *z, uint8_t out[ZONEMD_SHA384_LEN])
{
	const struct znode **nodes = malloc((z->nnodes + 1) * sizeof(*nodes));
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t n = 0;
	int ret = VANE_ENOMEM;
	if (!nodes || !md || !EVP_DigestInit_ex(md, EVP_sha384(), NULL))
		goto out;
	for (uint32_t b = 0; b < z->nbuckets; b++)
		for (const struct znode *node = z->buckets[b]; node; node = node->hnext)
			if (node->rrset_count > 0 && n < z->nnodes)
				nodes[n++] = node;
	qsort(nodes, n, sizeof(*nodes), node_cmp);
	ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++) {
		const struct znode *node = nodes[i];
		bool apex = node == z->apex_node;
		/* RRsets are kept sorted by type: canonical order already. */
		for (unsigned t = 0; t < node->rrset_count && ret == 0; t++) {
			const struct rrset *rs = &node->rrsets[t];
			if (apex && rs->type == ZONEMD_TYPE)
				continue;
			ret = digest_rrset(md, node, rs, apex);
		}
	}
	unsigned len = 0;
	if (ret == 0 && (!EVP_DigestFinal_ex(md, out, &len) || len != ZONEMD_SHA384_LEN))
		ret = VANE_ENOMEM;
out:
	EVP_MD_CTX_free(md);
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
