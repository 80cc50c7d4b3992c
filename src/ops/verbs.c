/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Operator verbs on the working state (loop thread): drain, undrain,
 * weight, ramp, load, latency, latency-load, and the endpoint rows that
 * `health` and the verbs' replies show.  Each change is logged, recorded as
 * an event, published at once (effective on the next query) and persisted.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ops/ops.h"
#include "rt/clock.h"
#include "rt/log.h"
#include "steer/latency_load.h"

int ops_find(const struct ops_rt *rt, const char *key, uint32_t *svc, uint32_t *ep, char *canon)
{
	if (live_find(rt->lay->set, key, svc, ep) != 0)
		return VANE_ENOENT;
	live_key(rt->lay->set, *svc, *ep, canon, LIVE_KEY_MAX);
	return 0;
}

static struct steer_admin_ep *adm(struct ops_rt *rt, uint32_t s, uint32_t e)
{
	return &rt->work->adm_ep[live_ep_base(rt->lay->set, s) + e];
}

/* Publish, persist and record a change that changed something: the log
 * line is `fmt`, the event text `ev` (the verb as typed: "weight 80"). */
static void changed(struct ops_rt *rt, uint32_t s, uint32_t e, enum event_kind kind,
		    const struct steer_admin_ep *before, bool *out, const char *ev,
		    const char *fmt, ...) __attribute__((format(printf, 8, 9)));

static void changed(struct ops_rt *rt, uint32_t s, uint32_t e, enum event_kind kind,
		    const struct steer_admin_ep *before, bool *out, const char *ev,
		    const char *fmt, ...)
{
	char key[LIVE_KEY_MAX], text[EVENTS_TEXT_MAX];
	live_key(rt->lay->set, s, e, key, sizeof(key));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_info("[%s] %s", key, text);
	*out = memcmp(before, adm(rt, s, e), sizeof(*before)) != 0;
	if (*out) {
		ops_changed(rt, true);
		events_add_key(rt->events, kind, key, "%s", ev);
	}
}

int ops_drain(struct ops_rt *rt, uint32_t s, uint32_t e, bool drained, bool *out)
{
	struct steer_admin_ep *a = adm(rt, s, e), before = *a;
	a->drained = drained;
	/* Undrain is the other way out of an aborted ramp: full weight now. */
	if (!drained)
		memset(&a->aborted, 0, sizeof(a->aborted));
	changed(rt, s, e, drained ? EV_DRAIN : EV_UNDRAIN, &before, out,
		drained ? "drain" : "undrain", "%s", drained ? "drained" : "undrained");
	return 0;
}

int ops_weight(struct ops_rt *rt, uint32_t s, uint32_t e, uint32_t weight, bool *out)
{
	if (weight > STEER_WEIGHT_MAX)
		return VANE_EINVAL;
	struct steer_admin_ep *a = adm(rt, s, e), before = *a;
	if (a->ramp.active) {
		char key[LIVE_KEY_MAX];
		log_info("[%s] ramp cancelled by weight", live_key(rt->lay->set, s, e, key, sizeof(key)));
	}
	a->weight_set = true;
	a->weight = weight;
	memset(&a->ramp, 0, sizeof(a->ramp));
	char ev[32];
	snprintf(ev, sizeof(ev), "weight %u", weight);
	changed(rt, s, e, EV_WEIGHT, &before, out, ev, "weight %u (configured %u)", weight,
		rt->lay->set->svc[s].ep[e].weight);
	return 0;
}

int ops_load(struct ops_rt *rt, uint32_t s, uint32_t e, uint32_t load, bool *out)
{
	struct steer_admin_ep *a = adm(rt, s, e), before = *a;
	a->load = load;
	char ev[32];
	snprintf(ev, sizeof(ev), "load %u", load);
	changed(rt, s, e, EV_LOAD, &before, out, ev, "load %u (capacity %u)", load,
		rt->lay->set->svc[s].ep[e].capacity);
	return 0;
}

/* VANE_EBUSY when endpoint `s`/`e` is down: a ramp would abort at once. */
static int ramp_refused_down(struct ops_rt *rt, uint32_t s, uint32_t e, char *err, size_t errsize)
{
	uint32_t h = rt->lay->set->svc[s].ep[e].health;
	if (h < rt->work->nhealth && !rt->work->hs[h].up) {
		char key[LIVE_KEY_MAX];
		snprintf(err, errsize, "%s is down; a ramp would abort at once",
			 live_key(rt->lay->set, s, e, key, sizeof(key)));
		return VANE_EBUSY;
	}
	return 0;
}

static const char *steps_text(const uint8_t *steps, unsigned n, char *buf, size_t size)
{
	buf[0] = '\0';
	for (unsigned k = 0; k < n; k++)
		snprintf(buf + strlen(buf), size - strlen(buf), "%s%u", k ? "," : "", steps[k]);
	return buf;
}

/* Start operator ramp `r` on endpoint `s`/`e` (undrains it; an aborted
 * ramp on record is replaced). */
static void ramp_set(struct ops_rt *rt, uint32_t s, uint32_t e, const struct steer_ramp *r)
{
	struct steer_admin_ep *a = adm(rt, s, e);
	a->ramp = *r;
	a->drained = false;
	memset(&a->aborted, 0, sizeof(a->aborted));
	/* A weight of 0 would ramp nothing: ramp to the configured weight. */
	if (a->weight_set && a->weight == 0)
		a->weight_set = false;
	rt->ramp_logged[live_ep_base(rt->lay->set, s) + e] = 1;   /* step 1 logged below */
}

int ops_ramp(struct ops_rt *rt, uint32_t s, uint32_t e, const uint8_t *steps, unsigned nsteps,
	     uint64_t every_ms, bool *out, char *err, size_t errsize)
{
	if (nsteps == 0 || nsteps > STEER_MAX_RAMP || every_ms == 0) {
		snprintf(err, errsize, "want 1 to %d steps and an interval", STEER_MAX_RAMP);
		return VANE_EINVAL;
	}
	int ret = ramp_refused_down(rt, s, e, err, errsize);
	if (ret != 0)
		return ret;
	struct steer_admin_ep before = *adm(rt, s, e);
	struct steer_ramp r = { .active = true, .kind = STEER_RAMP_OPERATOR,
				.nsteps = (uint8_t)nsteps, .every_ms = every_ms,
				.started_ms = rt_now_ms() };
	memcpy(r.steps, steps, nsteps);
	ramp_set(rt, s, e, &r);
	char text[64];
	steps_text(steps, nsteps, text, sizeof(text));
	char ev[128];
	snprintf(ev, sizeof(ev), "ramp --steps %s --every %llums", text, (unsigned long long)every_ms);
	changed(rt, s, e, EV_RAMP, &before, out, ev,
		"ramp started: steps %s every %llu ms; step 1/%u: %u%%", text,
		(unsigned long long)every_ms, nsteps, steps[0]);
	return 0;
}

int ops_ramp_resume(struct ops_rt *rt, uint32_t s, uint32_t e, bool *out, char *err,
		    size_t errsize)
{
	struct steer_admin_ep *a = adm(rt, s, e), before = *a;
	char key[LIVE_KEY_MAX];
	live_key(rt->lay->set, s, e, key, sizeof(key));
	if (!a->aborted.set) {
		snprintf(err, errsize, "%s has no aborted ramp to resume", key);
		return VANE_EBUSY;
	}
	int ret = ramp_refused_down(rt, s, e, err, errsize);
	if (ret != 0)
		return ret;
	const struct steer_ramp_aborted *ab = &a->aborted;
	unsigned step = ab->step < ab->nsteps ? ab->step : ab->nsteps - 1u;
	uint64_t now = rt_now_ms();
	/* Back-date the start so that the step reached is in force now and
	 * lasts a full interval. */
	struct steer_ramp r = { .active = true, .kind = STEER_RAMP_OPERATOR, .nsteps = ab->nsteps,
				.every_ms = ab->every_ms,
				.started_ms = now - (uint64_t)step * ab->every_ms };
	memcpy(r.steps, ab->steps, sizeof(r.steps));
	ramp_set(rt, s, e, &r);
	rt->ramp_logged[live_ep_base(rt->lay->set, s) + e] = (uint8_t)(step + 1);
	char text[64];
	steps_text(r.steps, r.nsteps, text, sizeof(text));
	changed(rt, s, e, EV_RAMP, &before, out, "ramp --resume",
		"ramp resumed: steps %s every %llu ms; step %u/%u: %u%%", text,
		(unsigned long long)r.every_ms, step + 1, r.nsteps, r.steps[step]);
	return 0;
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
static void lat_updates_push(struct ops_rt *rt, struct latency_update *u, bool reset)
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

/* Apply `u` (consumed) to the runtime table; `reset` starts from the
 * layout's table. */
static int latency_change(struct ops_rt *rt, struct latency_update *u, bool reset,
			  uint64_t *cells, char *err, size_t errsize)
{
	char buf[OPS_ERR_MAX];
	struct steer_latency_table *t = NULL;
	const struct steer_latency_table *base = !reset && rt->work->lat ? rt->work->lat->t : NULL;
	int ret = live_latency_apply(rt->lay, u, base, &t, buf);
	if (ret != 0) {
		steer_latency_free(t);
		lat_update_free(u);
		snprintf(err, errsize, "%s", buf);
		return ret;
	}
	*cells = steer_latency_cells(t);
	ops_set_latency(rt, t);
	lat_updates_push(rt, u, reset);
	ops_changed(rt, true);
	return 0;
}

int ops_latency_set(struct ops_rt *rt, const char *service, const char *endpoint,
		    const char *client, uint32_t rtt_ms, uint64_t *cells, char *err, size_t errsize)
{
	struct latency_update u = {
		.service = strdup(service), .endpoint = strdup(endpoint),
		.client = strdup(client), .rtt_ms = rtt_ms,
	};
	if (!u.service || !u.endpoint || !u.client) {
		lat_update_free(&u);
		return VANE_ENOMEM;
	}
	int ret = latency_change(rt, &u, false, cells, err, errsize);
	if (ret != 0)
		return ret;
	char rtt[16];
	if (rtt_ms == STEER_RTT_UNKNOWN)
		snprintf(rtt, sizeof(rtt), "unknown");
	else
		snprintf(rtt, sizeof(rtt), "%u", rtt_ms);
	log_info("latency %s %s %s: %s ms", service, endpoint, client, rtt);
	events_add(rt->events, EV_LATENCY, service, endpoint, "latency %s: %s ms", client, rtt);
	return 0;
}

int ops_latency_load(struct ops_rt *rt, const char *path, uint64_t *cells, char *err,
		     size_t errsize)
{
	char *abs = realpath(path, NULL);
	if (abs == NULL) {
		int ret = -errno;
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return ret == VANE_ENOENT ? VANE_EINVAL : ret;
	}
	struct latency_update u = { .file = abs };
	int ret = latency_change(rt, &u, true, cells, err, errsize);
	if (ret != 0)
		return ret;
	log_info("latency table loaded from %s", abs);
	events_add(rt->events, EV_LATENCY, NULL, NULL, "latency table loaded from %s", abs);
	return 0;
}

/* ---- rows ---- */

uint32_t ops_services(const struct ops_rt *rt)
{
	return rt->lay->set ? rt->lay->set->n : 0;
}

uint32_t ops_endpoints(const struct ops_rt *rt, uint32_t s)
{
	return rt->lay->set->svc[s].n_ep;
}

static void ramp_view(const struct steer_ramp *r, uint64_t now, struct ops_ramp_view *v)
{
	memset(v, 0, sizeof(*v));
	if (!r->active || !steer_ramp_running(r, now))
		return;
	uint64_t i = now >= r->started_ms ? (now - r->started_ms) / r->every_ms : 0;
	v->active = true;
	v->step = (unsigned)i + 1;
	v->steps_total = r->nsteps;
	v->percent = r->steps[i];
	memcpy(v->steps, r->steps, r->nsteps);
	v->every_ms = r->every_ms;
	v->started_ms = r->started_ms;
	v->recovery = r->kind == STEER_RAMP_RECOVERY;
}

void ops_endpoint_view(const struct ops_rt *rt, uint32_t s, uint32_t e, uint64_t now,
		       struct ops_ep_view *v)
{
	const struct steer_set *set = rt->lay->set;
	const struct steer_service *svc = &set->svc[s];
	const struct steer_endpoint *ep = &svc->ep[e];
	const struct live_state *w = rt->work;
	const struct steer_admin_ep *a = &w->adm_ep[live_ep_base(set, s) + e];
	memset(v, 0, sizeof(*v));
	live_service_name(svc, v->service, sizeof(v->service));
	v->endpoint = ep->id;
	uint32_t h = ep->health;
	const struct health_target *t = health_mon_target(&rt->mon, h);
	v->up = true;
	if (h < w->nhealth) {
		v->checked = true;
		v->up = w->hs[h].up;
		v->since_ms = w->hs[h].since_ms;
		v->origin = w->origin[h];
		if (rt->votes) {
			v->voted = true;
			v->local_up = rt->local_up[h];
			v->vote = rt->votes[h];
		}
	}
	if (t) {
		v->last_error = t->err[0] ? t->err : NULL;
		v->last_failure = t->last_fail[0] ? t->last_fail : NULL;
		v->last_failure_ms = t->last_fail_ms;
		v->check = probe_type_name(t->pc.type);
		v->address = t->pc.address;
		v->probes = t->st.probes;
		v->failures = t->st.failures;
		v->transitions = t->st.transitions;
		v->last_probe_ms = t->last_probe_ms;
	}
	v->weight = steer_shown_weight(ep, a, now);
	v->config_weight = ep->weight;
	v->weight_set = a->weight_set;
	v->weight_override = a->weight;
	v->drained = a->drained;
	ramp_view(&a->ramp, now, &v->ramp);
	v->aborted = a->aborted;
	v->standby = ep->standby;
	v->load = a->load;
	v->capacity = ep->capacity;
}
