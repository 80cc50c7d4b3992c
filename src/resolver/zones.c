/* SPDX-License-Identifier: GPL-3.0-or-later */
/* forward:, stub: and zones-ttl: compiled for the iterator (zones.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dname.h"
#include "resolver/zones.h"

static int zone_name(const char *text, uint8_t *out)
{
	if (dname_from_str(text, NULL, out) < 0)
		return VANE_EINVAL;
	dname_lower(out);
	return 0;
}

static int build_zone(const struct rconf_zone *cz, enum rzone_kind kind, struct rzone *z)
{
	memset(z, 0, sizeof(*z));
	z->kind = kind;
	if (zone_name(cz->zone, z->cut.zone) != 0)
		return VANE_EINVAL;
	for (unsigned i = 0; i < cz->nto && z->cut.nns < CACHE_DELEG_MAXNS; i++) {
		const struct sockaddr_storage *ss = &cz->to[i].addr;
		struct cache_deleg_ns *ns = &z->cut.ns[z->cut.nns];
		memcpy(ns->name, z->cut.zone, dname_len(z->cut.zone));
		if (ss->ss_family == AF_INET) {
			const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
			ns->addr[0].family = 1;
			memcpy(ns->addr[0].addr, &s4->sin_addr, 4);
			z->port[z->cut.nns] = ntohs(s4->sin_port);
		} else if (ss->ss_family == AF_INET6) {
			const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
			ns->addr[0].family = 2;
			memcpy(ns->addr[0].addr, &s6->sin6_addr, 16);
			z->port[z->cut.nns] = ntohs(s6->sin6_port);
		} else {
			return VANE_EINVAL;
		}
		ns->naddr = 1;
		z->cut.nns++;
	}
	/* The configured servers never expire; the TTL is only what a glue
	 * answer from the cut would carry, which the iterator never builds. */
	z->cut.ttl = 0;
	return z->cut.nns ? 0 : VANE_EINVAL;
}

int rzones_build(const struct resolver_conf *c, struct rzones *out)
{
	memset(out, 0, sizeof(*out));
	unsigned n = c->nforward + c->nstub;
	if (n && !(out->zone = calloc(n, sizeof(*out->zone))))
		return VANE_ENOMEM;
	if (c->nzones_ttl && !(out->ttl = calloc(c->nzones_ttl, sizeof(*out->ttl)))) {
		rzones_free(out);
		return VANE_ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		bool fwd = i < c->nforward;
		const struct rconf_zone *cz = fwd ? &c->forward[i] : &c->stub[i - c->nforward];
		if (build_zone(cz, fwd ? RZONE_FORWARD : RZONE_STUB, &out->zone[i]) != 0) {
			rzones_free(out);
			return VANE_EINVAL;
		}
		out->nzone++;
	}
	for (unsigned i = 0; i < c->nzones_ttl; i++) {
		if (zone_name(c->zones_ttl[i].zone, out->ttl[i].zone) != 0) {
			rzones_free(out);
			return VANE_EINVAL;
		}
		out->ttl[i].min_ttl = c->zones_ttl[i].min_ttl_ms / 1000;
		out->nttl++;
	}
	return 0;
}

void rzones_free(struct rzones *z)
{
	free(z->zone);
	free(z->ttl);
	memset(z, 0, sizeof(*z));
}

const struct rzone *rzones_match(const struct rzones *z, const uint8_t *qname)
{
	const struct rzone *best = NULL;
	unsigned best_labels = 0;
	for (unsigned i = 0; i < z->nzone; i++) {
		const uint8_t *zone = z->zone[i].cut.zone;
		unsigned labels = dname_labels(zone);
		if ((!best || labels > best_labels) && dname_is_sub(qname, zone)) {
			best = &z->zone[i];
			best_labels = labels;
		}
	}
	return best;
}

uint32_t rzones_min_ttl(const struct rzones *z, const uint8_t *name, uint32_t global)
{
	int best = -1;
	unsigned best_labels = 0;
	for (unsigned i = 0; i < z->nttl; i++) {
		unsigned labels = dname_labels(z->ttl[i].zone);
		if ((best < 0 || labels > best_labels) && dname_is_sub(name, z->ttl[i].zone)) {
			best = (int)i;
			best_labels = labels;
		}
	}
	return best < 0 ? global : z->ttl[best].min_ttl;
}
