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

#include "daemon/export.h"
#include "daemon/snapshot.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "rt/clock.h"
#include "rt/log.h"

/* The journal of `xz` from its previous version `oxz` (may be NULL). */
static int build_journal(const struct conf_zone *cz, const struct xfr_zone *oxz,
			 struct xfr_zone *xz)
{
	const struct zone *oz = oxz ? oxz->zone : NULL, *nz = xz->zone;
	size_t max = (size_t)cz->journal_max_mb << 20;
	if (!oz || max == 0)
		return 0;
	uint32_t from = xfr_zone_serial(oxz), to = xfr_zone_serial(xz);
	if (from == to) {
		if (oz != nz || !export_extra_same(oxz->extra, oxz->nextra, xz->extra, xz->nextra))
			log_zone(LOG_WARNING, xz->name, "content changed but serial %u did not: "
				 "secondaries will not see the change", to);
		zjournal_ref(oxz->journal);
		xz->journal = oxz->journal;
		return 0;
	}
	if (!serial_lt(from, to)) {
		log_zone(LOG_WARNING, xz->name, "serial went from %u back to %u: journal "
			 "cleared, secondaries need a new serial above %u", from, to, from);
		return 0;
	}
	struct zversion o = { oz, xfr_zone_soa(oxz), from, oxz->extra, oxz->nextra };
	struct zversion n = { nz, xfr_zone_soa(xz), to, xz->extra, xz->nextra };
	struct zdiff *d = NULL;
	int ret = zdiff_versions(&o, &n, &d);
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
	const struct xfr_zone *oxz = old && old->xfr ? xfr_set_find(old->xfr, z->apex) : NULL;
	uint64_t now = rt_now_ms();
	xz->healthy = cz->export && strcmp(cz->export, "healthy") == 0;
	if (!cz->export || strcmp(cz->export, "none") != 0)
		ret = export_extra(snap, snap->live0, z, xz->healthy, now, &xz->extra, &xz->nextra);
	if (ret)
		return ret;
	/* Every version carries its own SOA: the zone's may be answering
	 * another version's serial (export: healthy) until this one serves. */
	uint32_t serial = z->serial, saved;
	if (xz->healthy && !oxz &&
	    export_saved_serial(snap->conf->state_dir, xz->name, &saved)) {
		/* A restart: secondaries may hold `saved` with other endpoints
		 * than now, so go past it (or to the file's, when ahead). */
		serial = export_next_serial(saved, z->serial);
		log_zone(LOG_INFO, xz->name, "export: healthy: serial %u, after %u before the "
			 "restart", serial, saved);
	} else if (xz->healthy && oxz) {
		/* The content moved (zone file or endpoints): a serial above
		 * both the last exported one and the file's. */
		serial = xfr_zone_serial(oxz);
		bool same = oxz->zone == z &&
			export_extra_same(oxz->extra, oxz->nextra, xz->extra, xz->nextra);
		if (!same)
			serial = export_next_serial(serial, z->serial);
		xz->exported_ms = same ? oxz->exported_ms : now;
	}
	if ((ret = export_set_soa(xz, serial)) != 0)
		return ret;
	return build_journal(cz, oxz, xz);
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
