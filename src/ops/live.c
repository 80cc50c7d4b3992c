/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/dname.h"
#include "ops/live.h"
#include "rt/clock.h"
#include "rt/log.h"
#include "ops/state.h"
#include "steer/latency_load.h"

/* ---- names ---- */

const char *live_service_name(const struct steer_service *s, char *buf, size_t size)
{
	dname_to_str(s->name, buf, size);
	size_t n = strlen(buf);
	if (n > 1 && buf[n - 1] == '.')
		buf[n - 1] = '\0';
	return buf;
}

const char *live_key(const struct steer_set *set, uint32_t svc, uint32_t ep,
		     char *buf, size_t size)
{
	char name[DNAME_MAXSTR];
	const struct steer_service *s = &set->svc[svc];
	snprintf(buf, size, "%s/%s", live_service_name(s, name, sizeof(name)), s->ep[ep].id);
	return buf;
}

int live_find(const struct steer_set *set, const char *key, uint32_t *svc, uint32_t *ep)
{
	const char *slash = key ? strrchr(key, '/') : NULL;
	if (set == NULL || slash == NULL || slash == key)
		return VANE_ENOENT;
	char name[DNAME_MAXSTR];
	size_t n = (size_t)(slash - key);
	if (n >= sizeof(name))
		return VANE_ENOENT;
	memcpy(name, key, n);
	name[n] = '\0';
	uint8_t wire[DNAME_MAXLEN];
	if (dname_from_str(name, NULL, wire) <= 0)
		return VANE_ENOENT;
	dname_lower(wire);
	size_t wl = dname_len(wire);
	int si = steer_set_find(set, wire, wl, dname_hash(wire, wl));
	if (si < 0)
		return VANE_ENOENT;
	const struct steer_service *s = &set->svc[si];
	for (uint32_t i = 0; i < s->n_ep; i++) {
		if (strcmp(s->ep[i].id, slash + 1) == 0) {
			*svc = (uint32_t)si;
			*ep = i;
			return 0;
		}
	}
	return VANE_ENOENT;
}

/* ---- latency references ---- */

struct live_latency *live_latency_ref(struct live_latency *lat)
{
	if (lat)
		__atomic_add_fetch(&lat->refs, 1, __ATOMIC_RELAXED);
	return lat;
}

void live_latency_unref(struct live_latency *lat)
{
	if (lat == NULL || __atomic_sub_fetch(&lat->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	steer_latency_free(lat->t);
	free(lat);
}

/* ---- states ---- */

struct live_state *live_alloc(const struct live_layout *lay)
{
	struct live_state *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	const struct steer_set *set = lay->set;
	l->lay = lay;
	l->nhealth = lay->nhealth;
	l->nsvc = set ? set->n : 0;
	l->nep = set ? set->n_ep_total : 0;
	l->hs = calloc(l->nhealth ? l->nhealth : 1, sizeof(*l->hs));
	l->origin = calloc(l->nhealth ? l->nhealth : 1, 1);
	l->adm = calloc(l->nsvc ? l->nsvc : 1, sizeof(*l->adm));
	l->adm_ep = calloc(l->nep ? l->nep : 1, sizeof(*l->adm_ep));
	l->admin = calloc(l->nsvc ? l->nsvc : 1, sizeof(*l->admin));
	if (!l->hs || !l->origin || !l->adm || !l->adm_ep || !l->admin) {
		live_free(l);
		return NULL;
	}
	for (uint32_t i = 0; i < l->nhealth; i++)
		l->hs[i].up = true;
	l->health.n = l->nhealth;
	l->health.state = l->hs;
	l->latency = lay->latency0;
	return l;
}

struct live_state *live_clone(const struct live_state *src)
{
	struct live_state *l = live_alloc(src->lay);
	if (l == NULL)
		return NULL;
	memcpy(l->hs, src->hs, l->nhealth * sizeof(*l->hs));
	memcpy(l->origin, src->origin, l->nhealth);
	memcpy(l->adm_ep, src->adm_ep, l->nep * sizeof(*l->adm_ep));
	l->lat = live_latency_ref(src->lat);
	l->latency = src->latency;
	return l;
}

void live_seal(struct live_state *l)
{
	const struct steer_set *set = l->lay->set;
	for (uint32_t s = 0; s < l->nsvc; s++) {
		struct steer_admin *a = &l->adm[s];
		a->n = set->svc[s].n_ep;
		a->ep = &l->adm_ep[live_ep_base(set, s)];
		steer_admin_prepare(a);
		l->admin[s] = a;
	}
	if (l->nsvc == 0) {
		free(l->admin);
		l->admin = NULL;
	}
	l->health.n = l->nhealth;
	l->health.state = l->hs;
}

void live_free(struct live_state *l)
{
	if (l == NULL)
		return;
	free(l->hs);
	free(l->origin);
	free(l->err);
	free(l->adm);
	free(l->adm_ep);
	free(l->admin);
	live_latency_unref(l->lat);
	free(l);
}

/* ---- initial state ---- */

/* Name of every endpoint of `set` (flat, like ep_store) and the health
 * index of each; keys are malloc'd into one block. */
struct ep_names {
	char **keys;
	char *block;
	uint32_t n;
};

static int ep_names_build(const struct steer_set *set, struct ep_names *out)
{
	memset(out, 0, sizeof(*out));
	uint32_t n = set ? set->n_ep_total : 0;
	out->keys = calloc(n ? n : 1, sizeof(*out->keys));
	out->block = malloc((size_t)(n ? n : 1) * LIVE_KEY_MAX);
	if (!out->keys || !out->block)
		return VANE_ENOMEM;
	out->n = n;
	for (uint32_t s = 0; set && s < set->n; s++) {
		uint32_t base = live_ep_base(set, s);
		for (uint32_t e = 0; e < set->svc[s].n_ep; e++) {
			char *k = out->block + (size_t)(base + e) * LIVE_KEY_MAX;
			live_key(set, s, e, k, LIVE_KEY_MAX);
			out->keys[base + e] = k;
		}
	}
	return 0;
}

static void ep_names_free(struct ep_names *n)
{
	free(n->keys);
	free(n->block);
}

/* A ramp restored from a previous state is dropped once it is over. */
static void admin_carry(struct steer_admin_ep *dst, const struct steer_admin_ep *src,
			uint64_t now)
{
	*dst = *src;
	if (dst->ramp.active && !steer_ramp_running(&dst->ramp, now))
		memset(&dst->ramp, 0, sizeof(dst->ramp));
}

static void carry_from_live(struct live_state *l, const struct live_state *prev,
			    const struct ep_names *names, uint64_t now)
{
	const struct steer_set *pset = prev->lay->set;
	struct ep_names pnames;
	struct strmap pmap = { 0 };
	if (ep_names_build(pset, &pnames) != 0 ||
	    strmap_init(&pmap, (const char *const *)pnames.keys, pnames.n) != 0)
		goto out;
	const struct steer_set *set = l->lay->set;
	for (uint32_t s = 0; s < l->nsvc; s++) {
		const struct steer_service *svc = &set->svc[s];
		uint32_t base = live_ep_base(set, s);
		for (uint32_t e = 0; e < svc->n_ep; e++) {
			int64_t pi = strmap_get(&pmap, names->keys[base + e]);
			if (pi < 0)
				continue;
			admin_carry(&l->adm_ep[base + e], &prev->adm_ep[pi], now);
			uint32_t h = svc->ep[e].health;
			uint32_t ph = pset->ep_store[pi].health;
			if (h < l->nhealth && ph < prev->nhealth) {
				l->hs[h] = prev->hs[ph];
				l->origin[h] = prev->origin[ph] == HEALTH_ASSUMED ? HEALTH_ASSUMED
										: HEALTH_SAVED;
			}
		}
	}
out:
	strmap_free(&pmap);
	ep_names_free(&pnames);
}

static void carry_from_file(struct live_state *l, const char *state_dir,
			    const struct ep_names *names, uint64_t now)
{
	struct saved_state *st = NULL;
	char *err = NULL;
	if (state_dir == NULL)
		return;
	if (state_load(state_dir, &st, &err) != 0) {
		log_warning("%s/%s: %s; starting without saved state", state_dir, STATE_FILE,
			    err ? err : "unreadable");
		free(err);
		return;
	}
	l->err = calloc(l->nhealth ? l->nhealth : 1, sizeof(*l->err));
	const struct steer_set *set = l->lay->set;
	for (uint32_t s = 0; s < l->nsvc; s++) {
		const struct steer_service *svc = &set->svc[s];
		uint32_t base = live_ep_base(set, s);
		for (uint32_t e = 0; e < svc->n_ep; e++) {
			int64_t i = strmap_get(&st->map, names->keys[base + e]);
			if (i < 0)
				continue;
			const struct saved_ep *se = &st->ep[i];
			admin_carry(&l->adm_ep[base + e], &se->admin, now);
			uint32_t h = svc->ep[e].health;
			if (h < l->nhealth && se->has_health) {
				l->hs[h].up = se->up;
				l->hs[h].since_ms = se->since_ms;
				l->origin[h] = HEALTH_SAVED;
				if (l->err)
					memcpy(l->err[h], se->err, LIVE_ERR_MAX);
			}
		}
	}
	state_free(st);
}

struct live_state *live_initial(const struct live_layout *lay,
				const struct live_state *prev, const char *state_dir)
{
	struct live_state *l = live_alloc(lay);
	struct ep_names names;
	if (l == NULL)
		return NULL;
	if (ep_names_build(lay->set, &names) != 0) {
		ep_names_free(&names);
		live_free(l);
		return NULL;
	}
	uint64_t now = rt_now_ms();
	if (prev && prev->lay && prev->lay->set)
		carry_from_live(l, prev, &names, now);
	else if (prev == NULL)
		carry_from_file(l, state_dir, &names, now);
	ep_names_free(&names);
	live_seal(l);
	return l;
}
