/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Steering configuration (validation and the precomputed tables the query
 * path reads), admin summaries, ramps and the answer records of a result.
 * The decision itself is in chain.c.
 */
#include <string.h>

#include "steer/fixmath.h"
#include "steer/steer.h"

#define Q16 65536u

/* --- config -------------------------------------------------------------- */

void steer_service_init(struct steer_service *svc)
{
	memset(svc, 0, sizeof(*svc));
	svc->ttl = 30;
	svc->answers = 1;
	svc->all_down = STEER_DOWN_OPEN;
	svc->ecs = true;
	svc->sticky = STEER_STICKY_NONE;
	svc->sticky_v4 = 24;
	svc->sticky_v6 = 56;
	svc->latency_margin_ms = 10;
	svc->shed_low = 0.8;
	svc->shed_high = 1.0;
}

/* FNV-1a then a mixer: endpoint ids are short strings, hashed once. */
static uint64_t hash_id(const char *id)
{
	uint64_t h = 14695981039346656037ull;
	for (; *id; id++) {
		h ^= (unsigned char)*id;
		h *= 1099511628211ull;
	}
	return steer_mix64(h);
}

static int prepare_policy(struct steer_service *svc)
{
	unsigned seen = 0;
	if (svc->n_policy > STEER_MAX_POLICY)
		return VANE_ERANGE;
	for (unsigned i = 0; i < svc->n_policy; i++) {
		unsigned f = svc->policy[i];
		if (f >= STEER_F_FIRST_N || (seen & (1u << f)))
			return VANE_EINVAL;
		seen |= 1u << f;
	}
	return VANE_EOK;
}

/* Add endpoint `i` to the mask of `code` in a small (code, mask) table. */
static void add_code(struct steer_code_mask *tab, uint8_t *n, uint16_t code, unsigned i)
{
	unsigned k;
	if (!code)
		return;
	for (k = 0; k < *n && tab[k].code != code; k++)
		;
	if (k == *n) {
		tab[k].code = code;
		tab[k].mask = 0;
		(*n)++;
	}
	tab[k].mask |= 1ull << i;
}

/* Masks per country, continent and tier: the geo and priority filters then
 * narrow with one AND instead of a pass over the endpoints. */
static void build_tables(struct steer_service *svc)
{
	svc->n_country = svc->n_continent = svc->n_tier = 0;
	svc->all_mask = svc->n_ep >= 64 ? ~0ull : (1ull << svc->n_ep) - 1;
	for (unsigned i = 0; i < svc->n_ep; i++) {
		const struct steer_ep_hot *h = &svc->hot[i];
		add_code(svc->country, &svc->n_country, h->country, i);
		add_code(svc->continent, &svc->n_continent, h->continent, i);
		unsigned k = 0;
		while (k < svc->n_tier && svc->tier[k].tier < h->priority)
			k++;
		if (k == svc->n_tier || svc->tier[k].tier != h->priority) {
			memmove(&svc->tier[k + 1], &svc->tier[k],
				(svc->n_tier - k) * sizeof(svc->tier[0]));
			svc->tier[k].tier = h->priority;
			svc->tier[k].mask = 0;
			svc->n_tier++;
		}
		svc->tier[k].mask |= 1ull << i;
	}
}

int steer_service_prepare(struct steer_service *svc)
{
	if (svc->n_ep > STEER_MAX_ENDPOINTS)
		return VANE_ERANGE;
	int ret = prepare_policy(svc);
	if (ret != VANE_EOK)
		return ret;
	svc->uses_geo = svc->uses_latency = svc->geo_sort = false;
	for (unsigned k = 0; k < svc->n_policy; k++) {
		if (svc->policy[k] == STEER_F_GEO) {
			svc->uses_geo = true;
			svc->geo_sort = true;
		} else if (svc->policy[k] == STEER_F_LATENCY) {
			svc->uses_latency = true;
		} else if (svc->policy[k] == STEER_F_WEIGHTED) {
			/* Weighted picks its own order: sorting by distance
			 * before it would be work thrown away. */
			svc->geo_sort = false;
		}
	}
	if (svc->all_down > STEER_DOWN_SERVFAIL || svc->sticky > STEER_STICKY_SUBNET ||
	    svc->sticky_v4 > 32 || svc->sticky_v6 > 128)
		return VANE_EINVAL;
	if (!(svc->shed_low >= 0) || !(svc->shed_high >= svc->shed_low) ||
	    svc->shed_high > 1000)
		return VANE_EINVAL;
	svc->shed_low_q16 = (uint32_t)(svc->shed_low * Q16 + 0.5);
	svc->shed_high_q16 = (uint32_t)(svc->shed_high * Q16 + 0.5);

	for (unsigned i = 0; i < svc->n_ep; i++) {
		const struct steer_endpoint *ep = &svc->ep[i];
		struct steer_ep_hot *h = &svc->hot[i];
		if (ep->weight > STEER_WEIGHT_MAX || ep->n_v4 > STEER_MAX_ADDRS ||
		    ep->n_v6 > STEER_MAX_ADDRS)
			return VANE_ERANGE;
		if (ep->standby > STEER_STANDBY_NEVER)
			return VANE_EINVAL;
		if (memchr(ep->id, 0, sizeof(ep->id)) == NULL)
			return VANE_EINVAL;
		h->id_hash = hash_id(ep->id);
		h->weight = ep->weight;
		h->capacity = ep->capacity;
		h->health = ep->health;
		h->priority = ep->priority;
		h->country = steer_pack_code(ep->country);
		h->continent = steer_pack_code(ep->continent);
		h->has_coords = ep->has_coords;
		h->vx = h->vy = h->vz = 0;
		if (ep->has_coords)
			steer_unit_vector(ep->lat, ep->lon, &h->vx, &h->vy, &h->vz);
	}
	build_tables(svc);
	svc->never_mask = svc->zero_mask = 0;
	for (unsigned i = 0; i < svc->n_ep; i++) {
		if (svc->ep[i].standby == STEER_STANDBY_NEVER)
			svc->never_mask |= 1ull << i;
		if (svc->ep[i].weight == 0)
			svc->zero_mask |= 1ull << i;
	}
	return VANE_EOK;
}

/* --- ramp, client address, admin ------------------------------------------ */

uint32_t steer_ramp_weight(const uint8_t *steps, unsigned nsteps, uint64_t every_ms,
			   uint64_t started_ms, uint64_t now_ms, uint32_t base_weight)
{
	if (nsteps == 0 || every_ms == 0)
		return base_weight;
	uint64_t step = now_ms > started_ms ? (now_ms - started_ms) / every_ms : 0;
	if (step >= nsteps)
		return base_weight;
	/* Rounded up: 1% of weight 20 is a trickle, not nothing. */
	return (uint32_t)(((uint64_t)base_weight * steps[step] + 99) / 100);
}

unsigned steer_ramp_percent(const struct steer_ramp *ramp, uint64_t now_ms)
{
	if (!steer_ramp_running(ramp, now_ms))
		return 100;
	uint64_t step = now_ms > ramp->started_ms ?
			(now_ms - ramp->started_ms) / ramp->every_ms : 0;
	unsigned p = ramp->steps[step];
	return p < 100 ? p : 100;
}

bool steer_ramp_running(const struct steer_ramp *ramp, uint64_t now_ms)
{
	if (!ramp->active || ramp->nsteps == 0 || ramp->every_ms == 0)
		return false;
	return now_ms < ramp->started_ms ||
	       (now_ms - ramp->started_ms) / ramp->every_ms < ramp->nsteps;
}

uint8_t steer_client_addr(const struct steer_service *svc,
			  const struct steer_client *client,
			  uint16_t *family, const uint8_t **addr)
{
	if (svc->ecs && client->ecs.present) {
		*family = client->ecs.family;
		*addr = client->ecs.addr;
		return client->ecs.source;
	}
	*family = client->family;
	*addr = client->addr;
	return client->family == 2 ? 128 : 32;
}

uint32_t steer_shown_weight(const struct steer_endpoint *ep, const struct steer_admin_ep *a,
			    uint64_t now_ms)
{
	uint32_t w = a->weight_set ? a->weight : ep->weight;
	if (a->ramp.active && steer_ramp_running(&a->ramp, now_ms))
		w = steer_ramp_weight(a->ramp.steps, a->ramp.nsteps, a->ramp.every_ms,
				      a->ramp.started_ms, now_ms, w);
	return w;
}

void steer_admin_prepare(struct steer_admin *admin)
{
	admin->drained_mask = admin->special_mask = 0;
	for (unsigned i = 0; i < admin->n && i < STEER_MAX_ENDPOINTS; i++) {
		const struct steer_admin_ep *a = &admin->ep[i];
		if (a->drained)
			admin->drained_mask |= 1ull << i;
		if (a->weight_set || a->ramp.active)
			admin->special_mask |= 1ull << i;
	}
	admin->prepared = true;
}

/* --- answer records -------------------------------------------------------- */

const uint8_t *steer_result_cname(const struct steer_service *svc,
				  const struct steer_result *res, uint8_t *len)
{
	if (res->outcome != STEER_ANSWER || res->n == 0)
		return NULL;
	const struct steer_endpoint *ep = &svc->ep[res->ep[0]];
	if (!ep->cname_len)
		return NULL;
	*len = ep->cname_len;
	return ep->cname;
}

void steer_addr_begin(struct steer_addr_iter *it, const struct steer_service *svc,
		      const struct steer_result *res, uint16_t qtype)
{
	it->svc = svc;
	it->res = res;
	it->i = 0;
	it->j = 0;
	it->v6 = qtype == DNS_AAAA;
	if (res->outcome != STEER_ANSWER || (qtype != DNS_A && qtype != DNS_AAAA))
		it->i = res->n; /* nothing to iterate */
}

const uint8_t *steer_addr_next(struct steer_addr_iter *it, uint16_t *rdlen)
{
	while (it->i < it->res->n) {
		const struct steer_endpoint *ep = &it->svc->ep[it->res->ep[it->i]];
		unsigned count = ep->cname_len ? 0 : it->v6 ? ep->n_v6 : ep->n_v4;
		if (it->j < count) {
			unsigned j = it->j++;
			*rdlen = it->v6 ? 16 : 4;
			return it->v6 ? ep->v6[j] : ep->v4[j];
		}
		it->i++;
		it->j = 0;
	}
	return NULL;
}

unsigned steer_addr_count(const struct steer_service *svc,
			  const struct steer_result *res, uint16_t qtype)
{
	unsigned n = 0;
	if (res->outcome != STEER_ANSWER || (qtype != DNS_A && qtype != DNS_AAAA))
		return 0;
	for (unsigned k = 0; k < res->n; k++) {
		const struct steer_endpoint *ep = &svc->ep[res->ep[k]];
		if (!ep->cname_len)
			n += qtype == DNS_AAAA ? ep->n_v6 : ep->n_v4;
	}
	return n;
}
