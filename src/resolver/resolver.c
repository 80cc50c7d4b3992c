/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Set-up of the pure core and the RTT table of authority addresses. */
#include <string.h>

#include "resolver/resolver.h"

void resolver_init(struct resolver *r, const struct resolver_conf *conf,
		   struct cache *cache, const struct iter_env *env)
{
	memset(r, 0, sizeof(*r));
	r->conf = conf;
	r->cache = cache;
	r->env = env;
}

int resolver_zones_init(struct resolver *r)
{
	return rzones_build(r->conf, &r->zones);
}

void resolver_zones_free(struct resolver *r)
{
	rzones_free(&r->zones);
}

uint32_t resolver_min_ttl(const struct resolver *r, const uint8_t *name)
{
	return rzones_min_ttl(&r->zones, name, r->conf->min_ttl_ms / 1000);
}

void resolver_cache_conf(const struct resolver_conf *c, uint32_t seed,
			 struct cache_conf *cc)
{
	memset(cc, 0, sizeof(*cc));
	cc->max_bytes = c->cache_size;
	cc->min_ttl = c->min_ttl_ms / 1000;
	cc->max_ttl = c->max_ttl_ms / 1000;
	cc->neg_max_ttl = c->neg_max_ttl_ms / 1000;
	cc->serve_stale = c->serve_stale;
	cc->stale_max_age = c->stale_max_age_ms / 1000;
	cc->prefetch = c->prefetch;
	cc->prefetch_min_hits = 2;
	cc->hash_seed = seed;
}

/* ---- RTT ---- */

static size_t infra_index(uint8_t family, const uint8_t *addr)
{
	uint32_t h = family;
	for (unsigned i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 16777619u;
	return h % INFRA_SIZE;
}

uint32_t infra_rtt(const struct resolver *r, uint8_t family, const uint8_t *addr)
{
	const struct infra_ent *e = &r->infra[infra_index(family, addr)];
	if (e->family != family || memcmp(e->addr, addr, 16) != 0)
		return 0;
	return e->srtt_ms;
}

void infra_update(struct resolver *r, uint8_t family, const uint8_t *addr,
		  uint32_t rtt_ms, bool timeout)
{
	struct infra_ent *e = &r->infra[infra_index(family, addr)];
	if (e->family != family || memcmp(e->addr, addr, 16) != 0) {
		e->family = family;
		memcpy(e->addr, addr, 16);
		e->srtt_ms = 0;
	}
	if (timeout) {
		/* Back off like Unbound: double, bounded. */
		uint32_t v = e->srtt_ms ? e->srtt_ms * 2 : r->conf->upstream_timeout_ms;
		e->srtt_ms = v > 120000 ? 120000 : v;
		return;
	}
	/* RFC 6298-style smoothing, 1/8 gain. */
	e->srtt_ms = e->srtt_ms ? (e->srtt_ms * 7 + rtt_ms) / 8 : rtt_ms;
	if (e->srtt_ms == 0)
		e->srtt_ms = 1;
}
