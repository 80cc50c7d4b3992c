/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Per-zone settings of the resolver, compiled from the configuration:
 * `forward:` and `stub:` zones (where resolution starts for names at or
 * below them) and `zones-ttl:` (a min-ttl for names at or below a zone).
 * Pure: lookups are a walk over a short table, longest match first.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "conf/resolver_conf.h"
#include "resolver/cache.h"

enum rzone_kind {
	RZONE_FORWARD,   /* RD=1 to resolvers; their answer is final */
	RZONE_STUB,      /* RD=0 to authorities; referrals followed from there */
};

struct rzone {
	enum rzone_kind kind;
	/* The servers as a zone cut: NS entry i has one address, its port
	 * in port[i]; each NS is named by the zone (there is no real name). */
	struct cache_deleg cut;
	uint16_t port[CACHE_DELEG_MAXNS];
};

struct rzone_ttl {
	uint8_t zone[DNAME_MAXLEN];
	uint32_t min_ttl;            /* seconds */
};

struct rzones {
	struct rzone *zone;
	unsigned nzone;
	struct rzone_ttl *ttl;
	unsigned nttl;
};

/* Build from `conf` (forward:, stub:, zones-ttl:).  Returns 0 or VANE_ENOMEM
 * or VANE_EINVAL (a name or address the schema should have refused). */
int rzones_build(const struct resolver_conf *conf, struct rzones *out) VANE_WUR;
void rzones_free(struct rzones *z);

/* The forward or stub zone with the most labels at or above `qname`
 * (lower-cased wire), or NULL. */
const struct rzone *rzones_match(const struct rzones *z, const uint8_t *qname);

/* The min-ttl for `name` (lower-cased wire): the longest zones-ttl match,
 * else `global`. */
uint32_t rzones_min_ttl(const struct rzones *z, const uint8_t *name, uint32_t global);
