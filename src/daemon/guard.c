/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/guard.h"
#include "daemon/snapshot.h"
#include "lib/dname.h"

/* Names shown in a refusal; the count says how many more. */
#define GUARD_SHOW 5

/* Whether a service of `conf` is named `name` (lower-cased wire form). */
static bool conf_has_service(const struct vane_conf *conf, const uint8_t *name, size_t len)
{
	uint8_t w[DNAME_MAXLEN];
	for (unsigned i = 0; i < conf->nservices; i++) {
		int n = dname_from_str(conf->services[i].name, NULL, w);
		if (n <= 0 || (size_t)n != len)
			continue;
		dname_lower(w);
		if (memcmp(w, name, len) == 0)
			return true;
	}
	return false;
}

/* Append "NAME (queried N s ago)" to `buf` as the `k`th name shown. */
static void show(char *buf, size_t cap, unsigned k, const uint8_t *name, uint64_t ago_ms)
{
	char text[DNAME_MAXSTR];
	size_t used = strlen(buf);
	if (k >= GUARD_SHOW || used >= cap)
		return;
	dname_to_str(name, text, sizeof(text));
	snprintf(buf + used, cap - used, "%s%s (queried %llu s ago)", k ? ", " : "", text,
		 (unsigned long long)(ago_ms / 1000));
}

unsigned guard_zone_removed(const struct zone *prev, const struct zone *z,
			    const struct vane_conf *conf, uint64_t now_ms, unsigned window_ms,
			    char *buf, size_t cap)
{
	unsigned count = 0;
	if (cap)
		buf[0] = '\0';
	if (window_ms == 0 || prev == NULL || z == NULL)
		return 0;
	uint64_t since_s = now_ms > window_ms ? (now_ms - window_ms) / 1000 : 0;
	/* One pass over the old zone reading one word per node; only names
	 * queried in the window are looked up in the new one. */
	for (uint32_t b = 0; b < prev->nbuckets; b++) {
		for (const struct znode *n = prev->buckets[b]; n; n = n->hnext) {
			uint32_t q = __atomic_load_n(&n->queried_s, __ATOMIC_RELAXED);
			if (q == 0 || q < since_s)
				continue;
			const struct znode *now = zone_find_h(z, n->name, n->name_len, n->hash);
			if (now) {
				/* The new version inherits the mark, or a name
				 * queried just before one reload could be deleted
				 * by the next. */
				znode_mark_queried(now, q);
				continue;
			}
			if (conf_has_service(conf, n->name, n->name_len))
				continue;
			uint64_t at = (uint64_t)q * 1000;
			show(buf, cap, count++, n->name, now_ms > at ? now_ms - at : 0);
		}
	}
	return count;
}

/* Whether `snap` still answers for `name`: a service, or a node in a zone. */
static bool still_there(const struct vane_snapshot *snap, const uint8_t *name, size_t len)
{
	if (snap->steer && steer_set_find(snap->steer, name, len, dname_hash(name, len)) >= 0)
		return true;
	const struct zone *z = snap->db ? zone_db_find(snap->db, name) : NULL;
	return z && zone_find(z, name, len);
}

unsigned guard_services_removed(const struct vane_snapshot *old, const struct vane_snapshot *snap,
				const struct guard_ctx *g, char *buf, size_t cap)
{
	unsigned count = 0;
	unsigned window = snap->conf->deletion_guard_ms;
	if (cap)
		buf[0] = '\0';
	if (!window || !old || !old->steer || !g || !g->svc_queried_ms)
		return 0;
	uint64_t since = g->now_ms > window ? g->now_ms - window : 0;
	for (uint32_t s = 0; s < old->steer->n; s++) {
		const struct steer_service *svc = &old->steer->svc[s];
		uint64_t at = g->svc_queried_ms[s];
		if (at == 0 || at < since || still_there(snap, svc->name, svc->name_len))
			continue;
		show(buf, cap, count++, svc->name, g->now_ms > at ? g->now_ms - at : 0);
	}
	return count;
}

/* Append `svc`'s name and TTL to `set` with its due time; the arrays have
 * room (sized for the most there can be). */
static void tombstone_add(struct steer_set *set, uint64_t *until, const struct steer_service *svc,
			  uint64_t due_ms)
{
	struct steer_service *t = &set->svc[set->n];
	memset(t, 0, sizeof(*t));
	memcpy(t->name, svc->name, svc->name_len);
	t->name_len = svc->name_len;
	t->ttl = svc->ttl;
	until[set->n++] = due_ms;
}

int guard_removed_services(const struct vane_snapshot *old, struct vane_snapshot *snap,
			   uint64_t now_ms)
{
	unsigned window = snap->conf->deletion_guard_ms;
	snap->removed = NULL;
	snap->removed_until_ms = NULL;
	if (!window || !old)
		return 0;
	uint32_t most = (old->steer ? old->steer->n : 0) + (old->removed ? old->removed->n : 0);
	if (most == 0)
		return 0;
	struct steer_set *set = calloc(1, sizeof(*set));
	uint64_t *until = calloc(most, sizeof(*until));
	if (set)
		set->svc = calloc(most, sizeof(*set->svc));
	if (!set || !until || !set->svc)
		goto nomem;
	for (uint32_t i = 0; old->steer && i < old->steer->n; i++) {
		const struct steer_service *svc = &old->steer->svc[i];
		if (!still_there(snap, svc->name, svc->name_len))
			tombstone_add(set, until, svc, now_ms + window);
	}
	/* Names in old->removed were gone from `old`, so not in old->steer:
	 * no name is added twice. */
	for (uint32_t i = 0; old->removed && i < old->removed->n; i++) {
		const struct steer_service *svc = &old->removed->svc[i];
		if (old->removed_until_ms[i] > now_ms && !still_there(snap, svc->name, svc->name_len))
			tombstone_add(set, until, svc, old->removed_until_ms[i]);
	}
	if (set->n == 0) {
		steer_set_free(set);
		free(until);
		return 0;
	}
	if (steer_set_index(set) != 0)
		goto nomem;
	snap->removed = set;
	snap->removed_until_ms = until;
	return 0;
nomem:
	steer_set_free(set);
	free(until);
	return VANE_ENOMEM;
}

unsigned guard_warn_negative_ttl(const struct vane_snapshot *snap, vane_report_fn warn, void *ctx)
{
	unsigned warnings = 0;
	const struct steer_set *set = snap->steer;
	for (unsigned i = 0; set && i < snap->nzones; i++) {
		const struct zone *z = snap->zones[i].zone;
		if (!z)
			continue;
		uint32_t min_ttl = UINT32_MAX;
		for (uint32_t s = 0; s < set->n; s++)
			if (dname_is_sub(set->svc[s].name, z->apex) && set->svc[s].ttl < min_ttl)
				min_ttl = set->svc[s].ttl;
		if (min_ttl == UINT32_MAX || (uint64_t)z->neg_ttl <= 10ull * min_ttl)
			continue;
		char names[512] = "", text[DNAME_MAXSTR], msg[1024];
		unsigned k = 0;
		for (uint32_t s = 0; s < set->n; s++) {
			const struct steer_service *svc = &set->svc[s];
			if (!dname_is_sub(svc->name, z->apex) || (uint64_t)z->neg_ttl <= 10ull * svc->ttl)
				continue;
			size_t used = strlen(names);
			if (k++ < GUARD_SHOW && used < sizeof(names))
				snprintf(names + used, sizeof(names) - used, "%s%s (TTL %u s)",
					 used ? ", " : "", dname_to_str(svc->name, text, sizeof(text)),
					 svc->ttl);
		}
		snprintf(msg, sizeof(msg),
			 "warning: negative TTL %u s (min of the SOA TTL and MINIMUM, RFC 2308 "
			 "section 5) is more than 10 times the TTL of %u service%s: %s%s. If one "
			 "is deleted, resolvers cache its NXDOMAIN for %u s; lower the SOA MINIMUM "
			 "to a few times the service TTL", z->neg_ttl, k, k == 1 ? "" : "s", names,
			 k > GUARD_SHOW ? ", ..." : "", z->neg_ttl);
		warn(ctx, snap->zones[i].file, 0, msg);
		warnings++;
	}
	return warnings;
}
