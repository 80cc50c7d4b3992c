/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Operator verbs on the steering runtime (loop thread): drain, undrain,
 * weight, ramp, load, health, latency, latency-load.  Each change is logged,
 * published at once (effective on the next query) and persisted.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/ctl.h"
#include "server/events.h"
#include "server/health.h"
#include "server/log.h"
#include "server/snapshot.h"
#include "steer/latency_load.h"

static const char *const check_type_names[] = { "tcp", "http", "https", "dns", "exec" };

static bool parse_u32(const char *s, uint64_t max, uint32_t *out)
{
	char *end;
	if (s == NULL || !isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* "60s", "500ms", "2m", "1h", "90" (seconds). */
static bool parse_duration_ms(const char *s, uint64_t *out)
{
	char *end;
	if (s == NULL || !isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	uint64_t mul = 1000;
	if (strcmp(end, "ms") == 0)
		mul = 1;
	else if (strcmp(end, "s") == 0 || *end == '\0')
		mul = 1000;
	else if (strcmp(end, "m") == 0)
		mul = 60000;
	else if (strcmp(end, "h") == 0)
		mul = 3600000;
	else
		return false;
	if (errno || v == 0 || v > UINT64_MAX / mul / 2)
		return false;
	*out = v * mul;
	return true;
}

/* "5,25,50,100": 1..STEER_MAX_RAMP percentages. */
static bool parse_steps(const char *s, struct steer_ramp *r)
{
	char buf[128];
	char *save = NULL;
	snprintf(buf, sizeof(buf), "%s", s);
	r->nsteps = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint32_t v;
		if (r->nsteps >= STEER_MAX_RAMP || !parse_u32(tok, 100, &v))
			return false;
		r->steps[r->nsteps++] = (uint8_t)v;
	}
	return r->nsteps > 0;
}

/* Weight in effect now: override and running ramp applied. */
static uint32_t eff_weight(const struct steer_endpoint *ep, const struct steer_admin_ep *a,
			   uint64_t now)
{
	uint32_t w = a->weight_set ? a->weight : ep->weight;
	if (a->ramp.active && steer_ramp_running(&a->ramp, now))
		w = steer_ramp_weight(a->ramp.steps, a->ramp.nsteps, a->ramp.every_ms,
				      a->ramp.started_ms, now, w);
	return w;
}

static json_t *ramp_json(const struct steer_ramp *r, uint64_t now)
{
	if (!r->active || !steer_ramp_running(r, now))
		return json_null();
	uint64_t i = now >= r->started_ms ? (now - r->started_ms) / r->every_ms : 0;
	json_t *steps = json_array();
	for (unsigned k = 0; k < r->nsteps; k++)
		json_array_append_new(steps, json_integer(r->steps[k]));
	return json_pack("{s:I,s:I,s:i,s:o,s:I,s:I}", "step", (json_int_t)i + 1,
			 "steps_total", (json_int_t)r->nsteps, "percent", (int)r->steps[i],
			 "steps", steps, "every_ms", (json_int_t)r->every_ms,
			 "started_ms", (json_int_t)r->started_ms);
}

/* One endpoint's row of `health` and of the verbs' replies. */
static json_t *endpoint_json(struct live_rt *rt, uint32_t s, uint32_t e, uint64_t now)
{
	const struct steer_set *set = rt->snap->steer;
	const struct steer_service *svc = &set->svc[s];
	const struct steer_endpoint *ep = &svc->ep[e];
	const struct live_state *w = rt->work;
	const struct steer_admin_ep *a = &w->adm_ep[live_ep_base(set, s) + e];
	char name[DNAME_MAXSTR];
	json_t *o = json_pack("{s:s,s:s}", "service", live_service_name(svc, name, sizeof(name)),
			      "endpoint", ep->id);
	uint32_t h = ep->health;
	const struct health_target *t = h < rt->ntargets ? rt->targets[h] : NULL;
	if (h < w->nhealth) {
		static const char *const origin[] = { "assumed", "saved", "probed" };
		json_object_set_new(o, "state", json_string(w->hs[h].up ? "up" : "down"));
		json_object_set_new(o, "since", w->hs[h].since_ms ? json_integer((json_int_t)w->hs[h].since_ms)
								  : json_null());
		json_object_set_new(o, "origin", json_string(origin[w->origin[h] % 3]));
	} else {
		json_object_set_new(o, "state", json_string("up"));
		json_object_set_new(o, "since", json_null());
		json_object_set_new(o, "origin", json_string("unchecked"));
	}
	json_object_set_new(o, "last_error", t && t->err[0] ? json_string(t->err) : json_null());
	json_object_set_new(o, "check", t ? json_string(check_type_names[t->pc.type]) : json_null());
	if (t) {
		json_object_set_new(o, "address", json_string(t->pc.address));
		json_object_set_new(o, "probes", json_integer((json_int_t)t->probes));
		json_object_set_new(o, "failures", json_integer((json_int_t)t->failures));
		json_object_set_new(o, "transitions", json_integer((json_int_t)t->transitions));
		json_object_set_new(o, "last_probe", t->last_probe_ms ? json_integer((json_int_t)t->last_probe_ms)
								      : json_null());
	}
	json_object_set_new(o, "weight", json_integer(eff_weight(ep, a, now)));
	json_object_set_new(o, "config_weight", json_integer(ep->weight));
	json_object_set_new(o, "weight_override", a->weight_set ? json_integer(a->weight) : json_null());
	json_object_set_new(o, "drained", json_boolean(a->drained));
	json_t *ramp = ramp_json(&a->ramp, now);
	json_object_set_new(o, "ramp_step", json_is_null(ramp) ? json_null()
				: json_incref(json_object_get(ramp, "step")));
	json_object_set_new(o, "ramp", ramp);
	json_object_set_new(o, "load", json_integer(a->load));
	json_object_set_new(o, "capacity", json_integer(ep->capacity));
	return o;
}

json_t *live_rt_health_json(struct live_rt *rt)
{
	const struct steer_set *set = rt->snap->steer;
	json_t *arr = json_array();
	uint64_t now = live_now_ms();
	for (uint32_t s = 0; set && s < set->n; s++)
		for (uint32_t e = 0; e < set->svc[s].n_ep; e++)
			json_array_append_new(arr, endpoint_json(rt, s, e, now));
	return json_pack("{s:b,s:I,s:o,s:I,s:I,s:I}", "ok", 1, "now", (json_int_t)now,
			 "endpoints", arr, "went_down", (json_int_t)rt->went_down,
			 "went_up", (json_int_t)rt->went_up, "probes", (json_int_t)rt->probes_total);
}

/* ---- admin verbs ---- */

static json_t *verb_ramp(struct live_rt *rt, struct steer_admin_ep *a, const char *key,
			 int argc, char **argv)
{
	struct steer_ramp r = { 0 };
	bool have_steps = false, have_every = false;
	for (int i = 2; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--steps") == 0 && v) {
			if (!parse_steps(v, &r))
				return ctl_error("bad --steps %s: want up to %d percentages like 5,25,50,100",
						 v, STEER_MAX_RAMP);
			have_steps = true;
			i++;
		} else if (strcmp(argv[i], "--every") == 0 && v) {
			if (!parse_duration_ms(v, &r.every_ms))
				return ctl_error("bad --every %s: want a duration like 60s", v);
			have_every = true;
			i++;
		} else {
			return ctl_error("usage: ramp SERVICE/ENDPOINT --steps 5,25,50,100 --every 60s");
		}
	}
	if (!have_steps || !have_every)
		return ctl_error("usage: ramp SERVICE/ENDPOINT --steps 5,25,50,100 --every 60s");
	uint32_t s, e;
	if (live_find(rt->snap->steer, key, &s, &e) == 0) {
		uint32_t h = rt->snap->steer->svc[s].ep[e].health;
		if (h < rt->work->nhealth && !rt->work->hs[h].up)
			return ctl_error("%s is down; a ramp would abort at once", key);
	}
	r.active = true;
	r.started_ms = live_now_ms();
	a->ramp = r;
	a->drained = false;
	/* A weight of 0 (an aborted ramp) would ramp nothing: ramp to the
	 * configured weight instead. */
	if (a->weight_set && a->weight == 0)
		a->weight_set = false;
	char steps[64] = "";
	for (unsigned k = 0; k < r.nsteps; k++)
		snprintf(steps + strlen(steps), sizeof(steps) - strlen(steps), "%s%u", k ? "," : "",
			 r.steps[k]);
	log_info("[%s] ramp started: steps %s every %llu ms; step 1/%u: %u%%", key, steps,
		 (unsigned long long)r.every_ms, r.nsteps, r.steps[0]);
	return NULL;
}

json_t *live_rt_admin(struct live_rt *rt, const char *verb, int argc, char **argv)
{
	const struct steer_set *set = rt->snap->steer;
	uint32_t s, e;
	if (argc < 2)
		return ctl_error("usage: %s SERVICE/ENDPOINT%s", verb,
				 strcmp(verb, "weight") == 0 ? " N" : strcmp(verb, "load") == 0 ? " VALUE"
				 : strcmp(verb, "ramp") == 0 ? " --steps 5,25,50,100 --every 60s" : "");
	const char *key = argv[1];
	if (live_find(set, key, &s, &e) != 0)
		return ctl_error("no such service/endpoint: %s", key);
	char canon[LIVE_KEY_MAX];
	live_key(set, s, e, canon, sizeof(canon));
	struct steer_admin_ep *a = &rt->work->adm_ep[live_ep_base(set, s) + e];
	struct steer_admin_ep before = *a;
	uint32_t v;

	if (strcmp(verb, "drain") == 0 || strcmp(verb, "undrain") == 0) {
		if (argc != 2)
			return ctl_error("usage: %s SERVICE/ENDPOINT", verb);
		a->drained = verb[0] == 'd';
		log_info("[%s] %s", canon, a->drained ? "drained" : "undrained");
	} else if (strcmp(verb, "weight") == 0) {
		if (argc != 3 || !parse_u32(argv[2], STEER_WEIGHT_MAX, &v))
			return ctl_error("usage: weight SERVICE/ENDPOINT N (0..%u)", STEER_WEIGHT_MAX);
		a->weight_set = true;
		a->weight = v;
		if (a->ramp.active)
			log_info("[%s] ramp cancelled by weight", canon);
		memset(&a->ramp, 0, sizeof(a->ramp));
		log_info("[%s] weight %u (configured %u)", canon, v, set->svc[s].ep[e].weight);
	} else if (strcmp(verb, "load") == 0) {
		if (argc != 3 || !parse_u32(argv[2], UINT32_MAX, &v))
			return ctl_error("usage: load SERVICE/ENDPOINT VALUE (a non-negative integer)");
		a->load = v;
		log_info("[%s] load %u (capacity %u)", canon, v, set->svc[s].ep[e].capacity);
	} else if (strcmp(verb, "ramp") == 0) {
		json_t *err = verb_ramp(rt, a, canon, argc, argv);
		if (err)
			return err;
	} else {
		return ctl_error("unknown admin verb: %s", verb);
	}
	if (strcmp(verb, "ramp") == 0)
		rt->ramp_logged[live_ep_base(set, s) + e] = 1;
	bool changed = memcmp(&before, a, sizeof(*a)) != 0;
	if (changed) {
		live_rt_changed(rt, true);
		events_admin(rt->srv->events, canon, argc, argv);
	}
	json_t *res = json_pack("{s:b,s:s,s:b}", "ok", 1, "key", canon, "changed", changed);
	json_object_set_new(res, "endpoint", endpoint_json(rt, s, e, live_now_ms()));
	return res;
}

/* ---- latency ---- */

static void lat_update_free(struct latency_update *u)
{
	free(u->file);
	free(u->service);
	free(u->endpoint);
	free(u->client);
}

/* Same cell: the later update overwrites the earlier one entirely. */
static bool lat_same_cell(const struct latency_update *a, const struct latency_update *b)
{
	return !a->file && !b->file && strcasecmp(a->service, b->service) == 0 &&
	       strcmp(a->endpoint, b->endpoint) == 0 && strcasecmp(a->client, b->client) == 0;
}

/* The log replayed at reload and restart, and persisted on every change:
 * at most one file (a load resets it) and one value per (service,
 * endpoint, client), so it stays as small as the table it rebuilds.  Cells
 * are independent, so replacing in place replays to the same table. */
static void lat_updates_push(struct live_rt *rt, struct latency_update *u, bool reset)
{
	if (reset) {
		for (uint32_t i = 0; i < rt->nlat; i++)
			lat_update_free(&rt->lat[i]);
		rt->nlat = 0;
	}
	for (uint32_t i = 0; i < rt->nlat; i++) {
		if (lat_same_cell(&rt->lat[i], u)) {
			lat_update_free(&rt->lat[i]);
			rt->lat[i] = *u;
			return;
		}
	}
	struct latency_update *nl = realloc(rt->lat, (rt->nlat + 1) * sizeof(*nl));
	if (nl == NULL) {
		lat_update_free(u);   /* applied but not persisted */
		return;
	}
	rt->lat = nl;
	rt->lat[rt->nlat++] = *u;
}

static json_t *latency_change(struct live_rt *rt, struct latency_update *u, bool reset)
{
	char err[512];
	struct steer_latency_table *t = NULL;
	const struct steer_latency_table *base = !reset && rt->work->lat ? rt->work->lat->t : NULL;
	int ret = live_latency_apply(rt->snap, u, base, &t, err);
	if (ret != 0) {
		steer_latency_free(t);
		free(u->file);
		free(u->service);
		free(u->endpoint);
		free(u->client);
		return ctl_error("%s", err);
	}
	uint64_t cells = steer_latency_cells(t);
	live_rt_set_latency(rt, t);
	lat_updates_push(rt, u, reset);
	live_rt_changed(rt, true);
	return json_pack("{s:b,s:I}", "ok", 1, "cells", (json_int_t)cells);
}

json_t *live_rt_latency(struct live_rt *rt, int argc, char **argv)
{
	uint32_t rtt;
	if (argc != 5)
		return ctl_error("usage: latency SERVICE ENDPOINT CLIENT RTT_MS");
	const char *r = argv[4];
	size_t rl = strlen(r);
	char num[32];
	snprintf(num, sizeof(num), "%.*s", (int)(rl > 2 && strcmp(r + rl - 2, "ms") == 0 ? rl - 2 : rl), r);
	if (strcmp(r, "unknown") == 0 || strcmp(r, "-") == 0)
		rtt = STEER_RTT_UNKNOWN;
	else if (!parse_u32(num, UINT32_MAX - 1, &rtt))
		return ctl_error("bad RTT %s: want milliseconds", r);
	struct latency_update u = {
		.service = strdup(argv[1]), .endpoint = strdup(argv[2]),
		.client = strdup(argv[3]), .rtt_ms = rtt,
	};
	json_t *res = latency_change(rt, &u, false);
	if (json_is_true(json_object_get(res, "ok")))
	{
		log_info("latency %s %s %s: %s ms", argv[1], argv[2], argv[3], r);
		events_add(rt->srv->events, EV_LATENCY, argv[1], argv[2], "latency %s: %s ms", argv[3], r);
	}
	return res;
}

json_t *live_rt_latency_load(struct live_rt *rt, const char *path)
{
	char *abs = realpath(path, NULL);
	if (abs == NULL)
		return ctl_error("%s: %s", path, strerror(errno));
	struct latency_update u = { .file = abs };
	json_t *res = latency_change(rt, &u, true);
	if (json_is_true(json_object_get(res, "ok")))
	{
		log_info("latency table loaded from %s", abs);
		events_add(rt->srv->events, EV_LATENCY, NULL, NULL, "latency table loaded from %s", abs);
	}
	return res;
}
