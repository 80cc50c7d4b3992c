/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The transfer side of a snapshot (serve/xfr.h): keys, per-zone ACLs, the
 * records export: adds for steered names, and the IXFR journal, carried
 * from the previous snapshot and extended by the difference between the
 * old and the new version of each zone whose serial moved.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/snapshot.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "rt/log.h"

static int rd_cmp(const void *a, const void *b)
{
	/* Fixed-size address RDATA: byte order is the zone's canonical order. */
	return memcmp(a, b, 18);
}

/* An A or AAAA RRset of every address of the service's endpoints. */
static int extra_rrset(const struct conf_service *svc, int af, struct xfr_extra *x)
{
	size_t alen = af == AF_INET ? 4 : 16;
	uint8_t (*rd)[18] = calloc(STEER_MAX_ENDPOINTS * 8 + 1, sizeof(*rd));
	unsigned n = 0;
	if (!rd)
		return VANE_ENOMEM;
	for (unsigned e = 0; e < svc->nendpoints; e++) {
		const struct conf_endpoint *ep = &svc->endpoints[e];
		for (unsigned a = 0; a < ep->naddress && n < STEER_MAX_ENDPOINTS * 8; a++) {
			memset(rd[n], 0, sizeof(rd[n]));
			if (inet_pton(af, ep->address[a], rd[n] + 2) == 1) {
				wire_put_u16(rd[n], (uint16_t)alen);
				n++;
			}
		}
	}
	qsort(rd, n, sizeof(*rd), rd_cmp);
	x->rs.type = af == AF_INET ? DNS_A : DNS_AAAA;
	x->rs.ttl = svc->ttl;
	x->rs.rdata = malloc(n * (2 + alen) + 1);
	if (!x->rs.rdata) {
		free(rd);
		return VANE_ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		if (i && memcmp(rd[i], rd[i - 1], 18) == 0)
			continue;   /* one record per address */
		memcpy(x->rs.rdata + x->rs.rdata_len, rd[i], 2 + alen);
		x->rs.rdata_len += (uint32_t)(2 + alen);
		x->rs.count++;
	}
	free(rd);
	return 0;
}

/* export: open: the endpoints of services inside `z` as plain records. */
static int build_extra(const struct vane_snapshot *snap, const struct zone *z,
		       struct xfr_zone *xz)
{
	const struct vane_conf *conf = snap->conf;
	xz->extra = calloc(2 * conf->nservices + 1, sizeof(*xz->extra));
	if (!xz->extra)
		return VANE_ENOMEM;
	for (unsigned s = 0; s < conf->nservices; s++) {
		const struct conf_service *svc = &conf->services[s];
		uint8_t name[DNAME_MAXLEN];
		int len = dname_from_str(svc->name, NULL, name);
		if (len <= 0)
			continue;
		dname_lower(name);
		if (zone_db_find(snap->db, name) != z)
			continue;
		for (int f = 0; f < 2; f++) {
			struct xfr_extra *x = &xz->extra[xz->nextra];
			memcpy(x->owner, name, (size_t)len);
			x->owner_len = (uint8_t)len;
			int ret = extra_rrset(svc, f ? AF_INET6 : AF_INET, x);
			if (ret)
				return ret;
			if (x->rs.count)
				xz->nextra++;
			else
				free(x->rs.rdata);
		}
	}
	return 0;
}

static bool extra_same(const struct xfr_zone *a, const struct xfr_zone *b)
{
	if (a->nextra != b->nextra)
		return false;
	for (unsigned i = 0; i < a->nextra; i++) {
		const struct xfr_extra *x = &a->extra[i], *y = &b->extra[i];
		if (x->owner_len != y->owner_len || memcmp(x->owner, y->owner, x->owner_len) ||
		    x->rs.type != y->rs.type || x->rs.ttl != y->rs.ttl ||
		    x->rs.rdata_len != y->rs.rdata_len ||
		    memcmp(x->rs.rdata, y->rs.rdata, x->rs.rdata_len))
			return false;
	}
	return true;
}

/* The journal of `xz` from its previous version `oxz` (may be NULL). */
static int build_journal(const struct conf_zone *cz, const struct xfr_zone *oxz,
			 struct xfr_zone *xz)
{
	const struct zone *oz = oxz ? oxz->zone : NULL, *nz = xz->zone;
	size_t max = (size_t)cz->journal_max_mb << 20;
	if (!oz || max == 0)
		return 0;
	if (oz->serial == nz->serial) {
		if (oz != nz || !extra_same(oxz, xz))
			log_zone(LOG_WARNING, xz->name, "content changed but serial %u did not: "
				 "secondaries will not see the change", nz->serial);
		zjournal_ref(oxz->journal);
		xz->journal = oxz->journal;
		return 0;
	}
	if (!serial_lt(oz->serial, nz->serial)) {
		log_zone(LOG_WARNING, xz->name, "serial went from %u back to %u: journal "
			 "cleared, secondaries need a new serial above %u", oz->serial, nz->serial,
			 oz->serial);
		return 0;
	}
	struct zdiff *d = NULL;
	int ret = zdiff_compute(oz, oxz->extra, oxz->nextra, nz, xz->extra, xz->nextra, &d);
	if (ret)
		return ret;
	ret = zjournal_next(oxz->journal, d, max, &xz->journal);
	log_zone(LOG_INFO, xz->name, "journal: serial %u -> %u, %u deleted, %u added, %u versions",
		 d->from, d->to, d->del.count, d->add.count, xz->journal ? xz->journal->n : 0);
	zdiff_unref(d);
	return ret;
}

static int build_zone(struct vane_snapshot *snap, const struct vane_snapshot *old,
		      const struct conf_zone *cz, struct zone *z, struct xfr_zone **out)
{
	struct xfr_zone *xz = calloc(1, sizeof(*xz));
	if (!xz)
		return VANE_ENOMEM;
	xz->refcount = 1;
	zone_ref(z);
	xz->zone = z;
	char buf[DNAME_MAXSTR];
	dname_to_str(z->apex, buf, sizeof(buf));
	size_t n = strlen(buf);
	if (n > 1)
		buf[n - 1] = 0;
	snprintf(xz->name, sizeof(xz->name), "%s", buf);
	*out = xz;
	xz->acl = calloc(cz->nallow_transfer + 1, sizeof(*xz->acl));
	if (!xz->acl)
		return VANE_ENOMEM;
	for (unsigned i = 0; i < cz->nallow_transfer; i++) {
		const struct conf_acl *a = &cz->allow_transfer[i];
		xz->acl[i] = (struct xfr_acl){ .addr = a->addr, .prefix = a->prefix,
					       .key = a->key_index };
	}
	xz->nacl = cz->nallow_transfer;
	int ret = 0;
	if (!cz->export || strcmp(cz->export, "none") != 0)
		ret = build_extra(snap, z, xz);
	if (ret == 0)
		ret = build_journal(cz, old && old->xfr ? xfr_set_find(old->xfr, z->apex) : NULL,
				    xz);
	return ret;
}

/* Who may NOTIFY each secondary zone (serve/notify_in.c). */
static int build_secondaries(struct xfr_set *set, const struct vane_conf *conf)
{
	unsigned n = 0;
	for (unsigned i = 0; i < conf->nzones; i++)
		n += conf->zones[i].nprimary > 0;
	if (n == 0)
		return 0;
	set->secondaries = calloc(n, sizeof(*set->secondaries));
	if (!set->secondaries)
		return VANE_ENOMEM;
	for (unsigned i = 0; i < conf->nzones; i++) {
		const struct conf_zone *cz = &conf->zones[i];
		if (!cz->nprimary)
			continue;
		struct xfr_secondary *s = &set->secondaries[set->nsecondaries++];
		if (dname_from_str(cz->name, NULL, s->apex) <= 0)
			return VANE_EINVAL;
		dname_lower(s->apex);
		dname_to_str(s->apex, s->name, sizeof(s->name));
		size_t nl = strlen(s->name);
		if (nl > 1)
			s->name[nl - 1] = 0;
		s->key = cz->key_index;
		s->primary = calloc(cz->nprimary, sizeof(*s->primary));
		if (!s->primary)
			return VANE_ENOMEM;
		for (unsigned p = 0; p < cz->nprimary; p++)
			s->primary[p] = cz->primary[p].addr;
		s->nprimary = cz->nprimary;
	}
	return 0;
}

int snapshot_build_xfr(struct vane_snapshot *snap, const struct vane_snapshot *old)
{
	const struct vane_conf *conf = snap->conf;
	struct xfr_set *set = calloc(1, sizeof(*set));
	if (!set)
		return VANE_ENOMEM;
	snap->xfr = set;
	set->keys = calloc(conf->nkeys + 1, sizeof(*set->keys));
	set->zones = calloc(snap->nzones + 1, sizeof(*set->zones));
	if (!set->keys || !set->zones)
		return VANE_ENOMEM;
	for (unsigned i = 0; i < conf->nkeys; i++) {
		const struct conf_key *k = &conf->keys[i];
		if (tsig_key_init(&set->keys[i], k->id, tsig_alg_from_str(k->algorithm),
				  k->secret_data, k->secret_len) != 0)
			return VANE_EINVAL;
		set->nkeys++;
	}
	int ret = build_secondaries(set, conf);
	if (ret != 0)
		return ret;
	for (unsigned i = 0; i < snap->nzones; i++) {
		const struct conf_zone *cz = &conf->zones[i];
		struct zone *z = snap->zones[i].zone;
		if (!z || (!cz->nallow_transfer && !cz->nnotify))
			continue;
		ret = build_zone(snap, old, cz, z, &set->zones[set->nzones]);
		set->nzones++;
		if (ret)
			return ret;
	}
	return 0;
}
