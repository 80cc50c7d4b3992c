/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The operator runtime's life cycle (ops/ops.h): start, adopt a reloaded
 * layout, fold health decisions into the working state, publish live
 * states (coalesced), persist state.json (coalesced, written on the
 * threadpool), and the 1 s tick that logs ramp steps and ends ramps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "rt/clock.h"
#include "rt/log.h"
#include "steer/latency_load.h"

#define PERSIST_DELAY_MS 100

/* ---- latency: the config's table plus the runtime changes, replayed ---- */

static void lat_err(void *ctx, const char *file, unsigned long line, const char *msg)
{
	char *buf = ctx;
	if (buf[0] == '\0')
		snprintf(buf, 512, "%s:%lu: %s", file ? file : "-", line, msg);
}

int live_latency_apply(const struct live_layout *lay, const struct latency_update *u,
		       const struct steer_latency_table *base, struct steer_latency_table **out,
		       char *err)
{
	struct steer_latency_table *nt = NULL;
	*out = NULL;
	const struct steer_set *set = lay->set;
	int ret;
	err[0] = '\0';
	if (set == NULL) {
		snprintf(err, 512, "no services configured");
		return VANE_ENOENT;
	}
	if (u->file) {
		ret = steer_latency_load(u->file, set, lat_err, err, &nt);
	} else {
		char key[LIVE_KEY_MAX];
		uint32_t s, e;
		snprintf(key, sizeof(key), "%s/%s", u->service, u->endpoint);
		if (live_find(set, key, &s, &e) != 0) {
			snprintf(err, 512, "no such service/endpoint: %.400s", key);
			return VANE_ENOENT;
		}
		ret = steer_latency_set(base ? base : lay->latency0, set, s, e, u->client,
					u->rtt_ms, &nt);
		if (ret != 0)
			snprintf(err, 512, "bad client: %s", u->client);
	}
	if (ret != 0)
		return ret;
	*out = nt;
	return 0;
}

/* Rebuild the runtime latency table for the working layout. */
static void latency_replay(struct ops_rt *rt)
{
	struct steer_latency_table *t = NULL;
	char err[512];
	for (uint32_t i = 0; i < rt->nlat; i++) {
		struct steer_latency_table *nt;
		if (live_latency_apply(rt->lay, &rt->lat[i], t, &nt, err) != 0) {
			log_warning("latency change %u not applied: %s", i + 1, err);
			continue;
		}
		steer_latency_free(t);
		t = nt;
	}
	live_latency_unref(rt->work->lat);
	rt->work->lat = NULL;
	rt->work->latency = rt->lay->latency0;
	if (t)
		ops_set_latency(rt, t);
}

void ops_set_latency(struct ops_rt *rt, struct steer_latency_table *t)
{
	struct live_latency *ll = calloc(1, sizeof(*ll));
	if (ll == NULL) {
		steer_latency_free(t);
		return;
	}
	ll->refs = 1;
	ll->t = t;
	live_latency_unref(rt->work->lat);
	rt->work->lat = ll;
	rt->work->latency = t;
}

/* ---- publication ---- */

static void publish_now(struct ops_rt *rt)
{
	rt->publish_pending = false;
	uv_timer_stop(&rt->publish_timer);
	struct live_state *l = live_clone(rt->work);
	if (l == NULL) {
		log_error("out of memory publishing steering state");
		return;
	}
	live_seal(l);
	rt->hooks.publish(rt->hooks.ctx, l);
}

static void publish_cb(uv_timer_t *h)
{
	publish_now(h->data);
}

/* ---- persistence ---- */

static char *persist_text(struct ops_rt *rt)
{
	const struct steer_set *set = rt->lay->set;
	const struct live_state *w = rt->work;
	json_t *eps = json_object();
	char key[LIVE_KEY_MAX];
	for (uint32_t s = 0; set && s < set->n; s++) {
		const struct steer_service *svc = &set->svc[s];
		uint32_t base = live_ep_base(set, s);
		for (uint32_t e = 0; e < svc->n_ep; e++) {
			json_t *o = json_object();
			uint32_t h = svc->ep[e].health;
			if (h < w->nhealth && w->origin[h] != HEALTH_ASSUMED) {
				const struct health_target *t = health_mon_target(&rt->mon, h);
				json_object_set_new(o, "health", json_string(w->hs[h].up ? "up" : "down"));
				json_object_set_new(o, "since", json_integer((json_int_t)w->hs[h].since_ms));
				json_object_set_new(o, "error", json_string(t ? t->err : ""));
			}
			state_admin_to_json(o, &w->adm_ep[base + e]);
			json_object_set_new(eps, live_key(set, s, e, key, sizeof(key)), o);
		}
	}
	json_t *lat = json_array();
	for (uint32_t i = 0; i < rt->nlat; i++) {
		const struct latency_update *u = &rt->lat[i];
		if (u->file)
			json_array_append_new(lat, json_pack("{s:s}", "file", u->file));
		else
			json_array_append_new(lat, json_pack("{s:s,s:s,s:s,s:I}", "service", u->service,
							     "endpoint", u->endpoint, "client", u->client,
							     "rtt", (json_int_t)u->rtt_ms));
	}
	json_t *root = json_pack("{s:i,s:o,s:o}", "version", 1, "endpoints", eps, "latency", lat);
	char *text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(root);
	return text;
}

static void persist_start(struct ops_rt *rt);
static void persist_cb(uv_timer_t *h);

/* Write text number `seq` unless a newer one is on disk already: a
 * synchronous write for a verb may overtake a coalesced one in flight. */
static int persist_write(struct ops_rt *rt, const char *text, uint64_t seq)
{
	int ret = 0;
	uv_mutex_lock(&rt->persist_lock);
	if (seq > rt->persist_written) {
		ret = state_write(rt->state_dir, text);
		if (ret == 0)
			rt->persist_written = seq;
	}
	uv_mutex_unlock(&rt->persist_lock);
	return ret;
}

static void persist_work(uv_work_t *req)
{
	struct ops_rt *rt = req->data;
	int ret = persist_write(rt, rt->persist_text, rt->persist_seq);
	if (ret != 0)
		log_error("%s/%s: %s", rt->state_dir, STATE_FILE, vane_strerror(ret));
}

int ops_persist_now(struct ops_rt *rt, char *err, size_t errsize)
{
	/* In effect on the next query, before the reply says so. */
	if (rt->publish_pending)
		publish_now(rt);
	char *text = persist_text(rt);
	if (text == NULL) {
		snprintf(err, errsize, "not persisted: out of memory");
		return VANE_ENOMEM;
	}
	/* This text holds every change so far: a pending coalesced write has
	 * nothing more to add. */
	rt->persist_dirty = false;
	uv_timer_stop(&rt->persist_timer);
	int ret = persist_write(rt, text, ++rt->persist_next);
	free(text);
	if (ret != 0) {
		snprintf(err, errsize, "not persisted: %s/%s: %s (the change is in effect until "
			 "vaned restarts)", rt->state_dir, STATE_FILE, vane_strerror(ret));
		log_error("%s", err);
	}
	return ret;
}

static void persist_after(uv_work_t *req, int status)
{
	struct ops_rt *rt = req->data;
	free(rt->persist_text);
	rt->persist_text = NULL;
	rt->persist_busy = false;
	if (rt->persist_dirty && !rt->closing)
		uv_timer_start(&rt->persist_timer, persist_cb, PERSIST_DELAY_MS, 0);
}

static void persist_start(struct ops_rt *rt)
{
	if (rt->persist_busy || rt->closing)
		return;   /* persist_after starts the next write */
	rt->persist_dirty = false;
	rt->persist_text = persist_text(rt);
	if (rt->persist_text == NULL)
		return;
	rt->persist_seq = ++rt->persist_next;
	rt->persist_busy = true;
	rt->persist_work.data = rt;
	if (uv_queue_work(rt->loop, &rt->persist_work, persist_work, persist_after) < 0) {
		free(rt->persist_text);
		rt->persist_text = NULL;
		rt->persist_busy = false;
	}
}

static void persist_cb(uv_timer_t *h)
{
	persist_start(h->data);
}

void ops_changed(struct ops_rt *rt, bool persist)
{
	if (rt->closing)
		return;
	if (!rt->publish_pending) {
		rt->publish_pending = true;
		uv_timer_start(&rt->publish_timer, publish_cb, 0, 0);
	}
	if (persist && !rt->persist_dirty) {
		rt->persist_dirty = true;
		if (!rt->persist_busy)
			uv_timer_start(&rt->persist_timer, persist_cb, PERSIST_DELAY_MS, 0);
	}
}

/* ---- ramps ---- */

static unsigned ramp_step(const struct steer_ramp *r, uint64_t now)
{
	if (now < r->started_ms || r->every_ms == 0)
		return 0;
	uint64_t i = (now - r->started_ms) / r->every_ms;
	return i < r->nsteps ? (unsigned)i : r->nsteps;
}

/* Log each step and end finished ramps.  Ramps are rare, the scan is over
 * a flat array once a second. */
static void tick_cb(uv_timer_t *h)
{
	struct ops_rt *rt = h->data;
	struct live_state *w = rt->work;
	const struct steer_set *set = rt->lay->set;
	uint64_t now = rt_now_ms();
	char key[LIVE_KEY_MAX];
	for (uint32_t s = 0; set && s < set->n; s++) {
		uint32_t base = live_ep_base(set, s);
		for (uint32_t e = 0; e < set->svc[s].n_ep; e++) {
			struct steer_admin_ep *a = &w->adm_ep[base + e];
			if (!a->ramp.active)
				continue;
			unsigned step = ramp_step(&a->ramp, now);
			uint8_t *logged = &rt->ramp_logged[base + e];
			const char *kind = a->ramp.kind == STEER_RAMP_RECOVERY ? "recovery ramp" : "ramp";
			if (step >= a->ramp.nsteps) {
				log_info("[%s] %s complete", live_key(set, s, e, key, sizeof(key)), kind);
				events_add_key(rt->events, EV_RAMP_DONE, key, "%s complete", kind);
				memset(&a->ramp, 0, sizeof(a->ramp));
				*logged = 0;
				ops_changed(rt, true);
			} else if (*logged != step + 1) {
				*logged = (uint8_t)(step + 1);
				log_info("[%s] %s step %u/%u: %u%%", live_key(set, s, e, key, sizeof(key)),
					 kind, step + 1, a->ramp.nsteps, a->ramp.steps[step]);
				events_add_key(rt->events, EV_RAMP_STEP, key, "%s step %u/%u: %u%%",
					       kind, step + 1, a->ramp.nsteps, a->ramp.steps[step]);
			}
		}
	}
}

/* The safe way back failed.  An operator ramp leaves the endpoint
 * drained, remembering the ramp so that `ramp --resume` continues it from
 * the step it reached (or `undrain` gives the full weight): the operator
 * decides when to try again, and every row says which state it is in.  A
 * recovery ramp just stops: the endpoint is down as usual, and its next
 * down->up starts a new one. */
static void ramp_abort(struct ops_rt *rt, uint32_t i, const char *key, const char *why)
{
	struct steer_admin_ep *a = &rt->work->adm_ep[i];
	uint64_t now = rt_now_ms();
	if (!a->ramp.active || !steer_ramp_running(&a->ramp, now))
		return;
	struct steer_ramp r = a->ramp;
	unsigned step = ramp_step(&r, now);
	memset(&a->ramp, 0, sizeof(a->ramp));
	rt->ramp_logged[i] = 0;
	if (r.kind == STEER_RAMP_RECOVERY) {
		log_info("[%s] recovery ramp stopped at step %u/%u: health down (%s)", key,
			 step + 1, r.nsteps, why);
		events_add_key(rt->events, EV_RECOVERY, key,
			       "recovery ramp stopped at step %u/%u: health down (%s)",
			       step + 1, r.nsteps, why);
		ops_changed(rt, true);
		return;
	}
	a->drained = true;
	a->aborted = (struct steer_ramp_aborted){
		.set = true, .step = (uint8_t)step, .nsteps = r.nsteps, .every_ms = r.every_ms,
		.at_ms = now,
	};
	memcpy(a->aborted.steps, r.steps, sizeof(r.steps));
	log_warning("[%s] ramp aborted at step %u/%u (%u%%): health down (%s); drained "
		    "until `ramp --resume` or `undrain`", key, step + 1, r.nsteps, r.steps[step], why);
	events_add_key(rt->events, EV_RAMP_ABORT, key,
		       "ramp aborted at step %u/%u: health down (%s); drained", step + 1,
		       r.nsteps, why);
	ops_changed(rt, true);
}

/* Slow start (`recovery: ramp`): an endpoint back from down would get its
 * full share at once, and a cold one (empty caches, cold pools) may fall
 * over again under it.  An operator's ramp, weight 0 or drain is left
 * alone: the operator already said what they want. */
static void recovery_start(struct ops_rt *rt, uint32_t s, uint32_t e, const char *key)
{
	const struct steer_service *svc = &rt->lay->set->svc[s];
	uint32_t i = live_ep_base(rt->lay->set, s) + e;
	struct steer_admin_ep *a = &rt->work->adm_ep[i];
	uint64_t now = rt_now_ms();
	if (!svc->recovery_ramp || svc->recovery_nsteps == 0 || a->drained ||
	    (a->weight_set && a->weight == 0) ||
	    (a->ramp.active && steer_ramp_running(&a->ramp, now)))
		return;
	struct steer_ramp r = { .active = true, .kind = STEER_RAMP_RECOVERY,
				.nsteps = svc->recovery_nsteps, .every_ms = svc->recovery_every_ms,
				.started_ms = now };
	memcpy(r.steps, svc->recovery_steps, svc->recovery_nsteps);
	a->ramp = r;
	rt->ramp_logged[i] = 1;
	log_info("[%s] recovery ramp: step 1/%u: %u%% every %u ms", key, r.nsteps, r.steps[0],
		 svc->recovery_every_ms);
	events_add_key(rt->events, EV_RECOVERY, key, "recovery ramp: step 1/%u: %u%%", r.nsteps,
		       r.steps[0]);
}

/* ---- health: the monitor decided a target; update every endpoint on it ---- */

/* Health index `h` became `up` for this node's answers: log, record, and
 * abort or start ramps.  `why`: the failure when down. */
static void health_flip(struct ops_rt *rt, uint32_t h, bool up, const char *why)
{
	const struct steer_build *b = rt->lay->build;
	const char *key = b->health_key[h];
	const struct steer_health_target *ht = &b->target[h];
	if (up) {
		rt->went_up++;
		log_info("[%s] health down->up", key);
		events_add_key(rt->events, EV_HEALTH_UP, key, "health down->up");
		recovery_start(rt, ht->svc, ht->ep, key);
	} else {
		rt->went_down++;
		log_warning("[%s] health up->down: %s", key, why);
		events_add_key(rt->events, EV_HEALTH_DOWN, key, "health up->down: %s", why);
		ramp_abort(rt, live_ep_base(rt->lay->set, ht->svc) + ht->ep, key, why);
	}
}

/* With votes: what the fleet says, else what this node's probes say. */
static void vote_apply(struct ops_rt *rt, uint32_t h, const char *why)
{
	struct live_state *w = rt->work;
	struct ops_vote *v = &rt->votes[h];
	bool up = v->verdict >= 0 ? v->verdict == 1 : rt->local_up[h];
	bool disagree = v->verdict == 1 && !rt->local_up[h];
	if (disagree != v->disagree)
		log_info("[%s] %s", rt->lay->build->health_key[h], disagree
			 ? "local view disagrees: this node sees it down, the fleet keeps it in service"
			 : "local view agrees with the fleet again");
	v->disagree = disagree;
	if (w->hs[h].up == up)
		return;
	w->hs[h].up = up;
	w->hs[h].since_ms = rt_now_ms();
	health_flip(rt, h, up, up ? "" : rt->local_up[h] ? "down for the fleet" : why);
}

static void health_changed(void *ctx, struct health_target *t, const struct health_event *ev)
{
	struct ops_rt *rt = ctx;
	struct live_state *w = rt->work;
	const struct steer_build *b = rt->lay->build;
	for (uint32_t h = 0; h < w->nhealth; h++) {
		if (health_mon_target(&rt->mon, h) != t)
			continue;
		const char *key = b->health_key[h];
		if (rt->votes) {
			/* The fleet decides: publish this node's vote, then fold. */
			bool was = rt->local_up[h];
			rt->local_up[h] = t->st.up;
			w->origin[h] = t->st.origin;
			if (was != t->st.up && rt->vote_fn)
				rt->vote_fn(rt->vote_ctx, h, t->st.up);
			vote_apply(rt, h, t->err);
			continue;
		}
		w->hs[h].up = t->st.up;
		w->hs[h].since_ms = t->st.since_ms;
		w->origin[h] = t->st.origin;
		if (ev->overturned)
			log_info("[%s] probes overturn the saved state: %s", key, t->st.up ? "up" : "down");
		if (ev->flipped)
			health_flip(rt, h, t->st.up, t->err);
	}
	ops_changed(rt, true);
}

/* Lay the vote arrays out for the current layout: no verdicts yet, own
 * probes as they stand, each told to the fleet. */
static int votes_relayout(struct ops_rt *rt)
{
	uint32_t n = rt->work->nhealth;
	struct ops_vote *v = calloc(n ? n : 1, sizeof(*v));
	bool *l = calloc(n ? n : 1, sizeof(*l));
	if (v == NULL || l == NULL) {
		free(v);
		free(l);
		return VANE_ENOMEM;
	}
	free(rt->votes);
	free(rt->local_up);
	rt->votes = v;
	rt->local_up = l;
	for (uint32_t h = 0; h < n; h++) {
		v[h].verdict = -1;
		l[h] = rt->work->hs[h].up;
	}
	/* Only once every entry is set: the fleet may count them at once. */
	for (uint32_t h = 0; h < n && rt->vote_fn; h++)
		rt->vote_fn(rt->vote_ctx, h, l[h]);
	return 0;
}

int ops_votes_enable(struct ops_rt *rt, ops_vote_fn fn, void *ctx)
{
	rt->vote_fn = fn;
	rt->vote_ctx = ctx;
	return votes_relayout(rt);
}

void ops_vote_set(struct ops_rt *rt, uint32_t h, const struct ops_vote *v)
{
	if (rt->votes == NULL || h >= rt->work->nhealth)
		return;
	struct ops_vote *cur = &rt->votes[h];
	if (cur->verdict == v->verdict && cur->down == v->down && cur->vantages == v->vantages)
		return;
	cur->verdict = v->verdict;
	cur->down = v->down;
	cur->vantages = v->vantages;
	vote_apply(rt, h, "down for the fleet");
	ops_changed(rt, true);
}

const char *ops_health_target(const struct ops_rt *rt, uint32_t h, const char **address)
{
	const struct health_target *t = health_mon_target(&rt->mon, h);
	if (t == NULL || rt->lay->build == NULL || rt->lay->checks == NULL)
		return NULL;
	*address = t->pc.address;
	return rt->lay->checks[rt->lay->build->target[h].check].id;
}

/* Map the layout's checks to targets, starting new ones from what the
 * working state knows, then take every target's state (shared targets
 * decide for every endpoint on them). */
static int health_resync(struct ops_rt *rt)
{
	struct live_state *w = rt->work;
	uint32_t n = w->nhealth;
	struct health_state *init = calloc(n ? n : 1, sizeof(*init));
	if (init == NULL)
		return VANE_ENOMEM;
	for (uint32_t h = 0; h < n; h++) {
		init[h].up = w->hs[h].up;
		init[h].since_ms = w->hs[h].since_ms;
		init[h].origin = w->origin[h];
	}
	int ret = 0;
	if (rt->lay->build)
		ret = health_mon_sync(&rt->mon, rt->lay->build, rt->lay->checks, init);
	free(init);
	if (ret != 0)
		return ret;
	for (uint32_t h = 0; h < n; h++) {
		const struct health_target *t = health_mon_target(&rt->mon, h);
		if (t == NULL)
			continue;
		struct health_target *tw = (struct health_target *)t;
		if (t->st.probes == 0 && w->origin[h] == HEALTH_ASSUMED)
			log_info("[%s] no saved state: assumed up until a probe succeeds or `fall` fail",
				 rt->lay->build->health_key[h]);
		if (t->st.probes == 0 && w->err && w->err[h][0] && !t->err[0])
			snprintf(tw->err, sizeof(tw->err), "%s", w->err[h]);
		w->hs[h].up = t->st.up;
		w->hs[h].since_ms = t->st.since_ms;
		w->origin[h] = t->st.origin;
	}
	return 0;
}

/* ---- life cycle ---- */

/* The working state for `lay`: carried by name from `prev` (a reload), or
 * a copy of `live0` (the start). */
static int work_for(struct ops_rt *rt, const struct live_layout *lay, const struct live_state *prev,
		    const struct live_state *live0)
{
	struct live_state *w;
	if (prev)
		w = live_initial(lay, prev, NULL);
	else if (live0) {
		w = live_clone(live0);
		/* Saved errors show until the first probe says otherwise. */
		if (w && live0->err && (w->err = malloc(w->nhealth * sizeof(*w->err) + 1)))
			memcpy(w->err, live0->err, w->nhealth * sizeof(*w->err));
	} else
		w = live_initial(lay, NULL, NULL);
	uint8_t *logged = calloc(w && w->nep ? w->nep : 1, 1);
	if (w == NULL || logged == NULL) {
		live_free(w);
		free(logged);
		return VANE_ENOMEM;
	}
	live_free(rt->work);
	free(rt->ramp_logged);
	rt->work = w;
	rt->ramp_logged = logged;
	rt->lay = lay;
	return 0;
}

int ops_start(uv_loop_t *loop, const struct live_layout *lay, const struct live_state *live0,
	      const char *state_dir, const struct ops_hooks *hooks, struct ops_rt **out)
{
	struct ops_rt *rt = calloc(1, sizeof(*rt));
	if (rt == NULL)
		return VANE_ENOMEM;
	*out = rt;
	rt->loop = loop;
	rt->hooks = *hooks;
	rt->events = events_new();
	rt->state_dir = strdup(state_dir ? state_dir : "state");
	if (rt->state_dir == NULL || uv_mutex_init(&rt->persist_lock) != 0)
		return VANE_ENOMEM;
	rt->lock_on = true;
	uv_timer_init(loop, &rt->publish_timer);
	uv_timer_init(loop, &rt->persist_timer);
	uv_timer_init(loop, &rt->tick);
	rt->publish_timer.data = rt->persist_timer.data = rt->tick.data = rt;
	rt->timers_on = true;
	int ret = work_for(rt, lay, NULL, live0);
	if (ret != 0)
		return ret;

	/* Runtime latency changes survive restarts: replay them. */
	struct saved_state *st = NULL;
	char *err = NULL;
	if (state_load(rt->state_dir, &st, &err) == 0 && st->nlat) {
		rt->lat = st->lat;
		rt->nlat = st->nlat;
		st->lat = NULL;
		st->nlat = 0;
		latency_replay(rt);
	}
	free(err);
	state_free(st);

	struct health_hooks hh = { .ctx = rt, .changed = health_changed };
	if ((ret = health_mon_init(&rt->mon, loop, &hh, rt_seed())) != 0 ||
	    (ret = health_resync(rt)) != 0)
		return ret;
	uv_timer_start(&rt->tick, tick_cb, 1000, 1000);
	publish_now(rt);
	return 0;
}

int ops_adopt(struct ops_rt *rt, const struct live_layout *lay)
{
	/* Carry from the exact working state: the snapshot's initial state
	 * may be a moment old. */
	const struct live_layout *was = rt->lay;
	struct live_state *prev = rt->work;
	rt->work = NULL;
	uint8_t *prev_logged = rt->ramp_logged;
	rt->ramp_logged = NULL;
	if (work_for(rt, lay, prev, NULL) != 0) {
		rt->work = prev;
		rt->ramp_logged = prev_logged;
		rt->lay = was;
		log_error("out of memory adopting steering state; "
			  "health follows the previous configuration until the next reload");
		return VANE_ENOMEM;
	}
	live_free(prev);
	free(prev_logged);
	latency_replay(rt);
	if (health_resync(rt) != 0)
		log_error("out of memory re-syncing health checks; probes keep the previous checks");
	if (rt->votes && votes_relayout(rt) != 0)
		log_error("out of memory laying out health votes; this node's probes decide");
	publish_now(rt);
	ops_changed(rt, true);
	return 0;
}

void ops_close(struct ops_rt *rt)
{
	if (rt == NULL || rt->closing)
		return;
	/* Last word, written by ops_free once no write is in flight. */
	if (rt->work && rt->lay)
		rt->final_text = persist_text(rt);
	health_mon_close(&rt->mon);
	rt->closing = true;
	if (rt->timers_on) {
		uv_close((uv_handle_t *)&rt->publish_timer, NULL);
		uv_close((uv_handle_t *)&rt->persist_timer, NULL);
		uv_close((uv_handle_t *)&rt->tick, NULL);
	}
}

void ops_free(struct ops_rt *rt)
{
	if (rt == NULL)
		return;
	if (rt->final_text && state_write(rt->state_dir, rt->final_text) != 0)
		log_error("cannot write %s/%s", rt->state_dir, STATE_FILE);
	if (rt->lock_on)
		uv_mutex_destroy(&rt->persist_lock);
	free(rt->final_text);
	for (uint32_t i = 0; i < rt->nlat; i++) {
		free(rt->lat[i].file);
		free(rt->lat[i].service);
		free(rt->lat[i].endpoint);
		free(rt->lat[i].client);
	}
	free(rt->lat);
	free(rt->ramp_logged);
	free(rt->votes);
	free(rt->local_up);
	live_free(rt->work);
	events_free(rt->events);
	free(rt->state_dir);
	free(rt);
}
