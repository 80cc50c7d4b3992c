/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The steering runtime's life cycle: start, adopt a reloaded snapshot,
 * publish live states (coalesced: one rebuild per loop iteration however
 * many probes finished), persist state.json (coalesced, written on the
 * threadpool), and the 1 s tick that logs ramp steps and ends ramps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu-qsbr.h>

#include "server/events.h"
#include "server/health.h"
#include "server/log.h"
#include "server/server.h"
#include "server/snapshot.h"
#include "steer/latency_load.h"

#define PERSIST_DELAY_MS 100

/* ---- latency: the config's table plus the runtime changes, replayed ---- */

static void lat_err(void *ctx, const char *file, unsigned long line, const char *msg)
{
	char *buf = ctx;
	if (buf[0] == '\0')
		snprintf(buf, 512, "%s:%lu: %s", file ? file : "-", line, msg);
}

int live_latency_apply(const struct vane_snapshot *snap, const struct latency_update *u,
		       const struct steer_latency_table *base, struct steer_latency_table **out,
		       char *err)
{
	struct steer_latency_table *nt = NULL;
	*out = NULL;
	const struct steer_set *set = snap->steer;
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
		ret = steer_latency_set(base ? base : snap->latency0, set, s, e, u->client,
					u->rtt_ms, &nt);
		if (ret != 0)
			snprintf(err, 512, "bad client: %s", u->client);
	}
	if (ret != 0)
		return ret;
	*out = nt;
	return 0;
}

/* Rebuild the runtime latency table for the working snapshot. */
static void latency_replay(struct live_rt *rt)
{
	struct steer_latency_table *t = NULL;
	char err[512];
	for (uint32_t i = 0; i < rt->nlat; i++) {
		struct steer_latency_table *nt;
		if (live_latency_apply(rt->snap, &rt->lat[i], t, &nt, err) != 0) {
			log_warning("latency change %u not applied: %s", i + 1, err);
			continue;
		}
		steer_latency_free(t);
		t = nt;
	}
	live_latency_unref(rt->work->lat);
	rt->work->lat = NULL;
	rt->work->latency = rt->snap->latency0;
	if (t)
		live_rt_set_latency(rt, t);
}

void live_rt_set_latency(struct live_rt *rt, struct steer_latency_table *t)
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

static void publish_now(struct live_rt *rt)
{
	rt->publish_pending = false;
	uv_timer_stop(&rt->publish_timer);
	struct live_state *l = live_clone(rt->work);
	if (l == NULL) {
		log_error("out of memory publishing steering state");
		return;
	}
	live_seal(l);
	server_live_publish(rt->srv, l);
}

static void publish_cb(uv_timer_t *h)
{
	publish_now(h->data);
}

/* ---- persistence ---- */

static char *persist_text(struct live_rt *rt)
{
	const struct steer_set *set = rt->snap->steer;
	const struct live_state *w = rt->work;
	json_t *eps = json_object();
	char key[LIVE_KEY_MAX];
	for (uint32_t s = 0; set && s < set->n; s++) {
		const struct steer_service *svc = &set->svc[s];
		uint32_t base = live_ep_base(set, s);
		for (uint32_t e = 0; e < svc->n_ep; e++) {
			json_t *o = json_object();
			uint32_t h = svc->ep[e].health;
			if (h < w->nhealth && w->origin[h] != LIVE_ASSUMED) {
				const struct health_target *t = h < rt->ntargets ? rt->targets[h] : NULL;
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

static void persist_start(struct live_rt *rt);
static void persist_cb(uv_timer_t *h);

static void persist_work(uv_work_t *req)
{
	struct live_rt *rt = req->data;
	int ret = state_write(rt->state_dir, rt->persist_text);
	if (ret != 0)
		log_error("%s/%s: %s", rt->state_dir, STATE_FILE, vane_strerror(ret));
}

static void persist_after(uv_work_t *req, int status)
{
	struct live_rt *rt = req->data;
	free(rt->persist_text);
	rt->persist_text = NULL;
	rt->persist_busy = false;
	if (rt->persist_dirty && !rt->closing)
		uv_timer_start(&rt->persist_timer, persist_cb, PERSIST_DELAY_MS, 0);
}

static void persist_start(struct live_rt *rt)
{
	if (rt->persist_busy || rt->closing)
		return;   /* persist_after starts the next write */
	rt->persist_dirty = false;
	rt->persist_text = persist_text(rt);
	if (rt->persist_text == NULL)
		return;
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

void live_rt_changed(struct live_rt *rt, bool persist)
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
	struct live_rt *rt = h->data;
	struct live_state *w = rt->work;
	const struct steer_set *set = rt->snap->steer;
	uint64_t now = live_now_ms();
	char key[LIVE_KEY_MAX];
	for (uint32_t s = 0; set && s < set->n; s++) {
		uint32_t base = live_ep_base(set, s);
		for (uint32_t e = 0; e < set->svc[s].n_ep; e++) {
			struct steer_admin_ep *a = &w->adm_ep[base + e];
			if (!a->ramp.active)
				continue;
			unsigned step = ramp_step(&a->ramp, now);
			uint8_t *logged = &rt->ramp_logged[base + e];
			if (step >= a->ramp.nsteps) {
				log_info("[%s] ramp complete", live_key(set, s, e, key, sizeof(key)));
				events_add_key(rt->srv->events, EV_RAMP_DONE, key, "ramp complete");
				memset(&a->ramp, 0, sizeof(a->ramp));
				*logged = 0;
				live_rt_changed(rt, true);
			} else if (*logged != step + 1) {
				*logged = (uint8_t)(step + 1);
				log_info("[%s] ramp step %u/%u: %u%%", live_key(set, s, e, key, sizeof(key)),
					 step + 1, a->ramp.nsteps, a->ramp.steps[step]);
				events_add_key(rt->srv->events, EV_RAMP_STEP, key, "ramp step %u/%u: %u%%",
					       step + 1, a->ramp.nsteps, a->ramp.steps[step]);
			}
		}
	}
}

void live_rt_target_down(struct live_rt *rt, struct health_target *t)
{
	const struct steer_health_target *ht = &rt->snap->htarget[t->hidx];
	uint32_t i = live_ep_base(rt->snap->steer, ht->svc) + ht->ep;
	struct steer_admin_ep *a = &rt->work->adm_ep[i];
	if (!a->ramp.active || !steer_ramp_running(&a->ramp, live_now_ms()))
		return;
	/* The safe way back failed: take the endpoint out until an operator acts. */
	memset(&a->ramp, 0, sizeof(a->ramp));
	a->weight_set = true;
	a->weight = 0;
	rt->ramp_logged[i] = 0;
	log_warning("[%s] ramp aborted: health down (%s); weight 0", t->key, t->err);
	events_add_key(rt->srv->events, EV_RAMP_ABORT, t->key, "ramp aborted: health down (%s); weight 0", t->err);
	live_rt_changed(rt, true);
}

/* ---- life cycle ---- */

static int work_from_snapshot(struct live_rt *rt, const struct vane_snapshot *snap,
			      const struct live_state *prev)
{
	struct live_state *w;
	if (prev)
		w = live_initial(snap, prev, NULL);
	else if (snap->live0) {
		w = live_clone(snap->live0);
		if (w && snap->live0->err) {
			w->err = malloc(w->nhealth * sizeof(*w->err) + 1);
			if (w->err)
				memcpy(w->err, snap->live0->err, w->nhealth * sizeof(*w->err));
		}
	} else {
		w = live_initial(snap, NULL, NULL);
	}
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
	rt->snap = snap;
	return 0;
}

int live_rt_start(struct server *srv, struct live_rt **out)
{
	struct live_rt *rt = calloc(1, sizeof(*rt));
	if (rt == NULL)
		return VANE_ENOMEM;
	*out = rt;
	rt->srv = srv;
	rt->loop = &srv->loop;
	rt->state_dir = strdup(srv->snap->conf->state_dir ? srv->snap->conf->state_dir : "state");
	uv_timer_init(rt->loop, &rt->publish_timer);
	uv_timer_init(rt->loop, &rt->persist_timer);
	uv_timer_init(rt->loop, &rt->tick);
	rt->publish_timer.data = rt->persist_timer.data = rt->tick.data = rt;
	rt->timers_on = true;
	int ret = work_from_snapshot(rt, srv->snap, NULL);
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

	if ((ret = health_http_init(rt)) != 0 || (ret = health_sync(rt, NULL, 0)) != 0)
		return ret;
	uv_timer_start(&rt->tick, tick_cb, 1000, 1000);
	publish_now(rt);
	return 0;
}

/* ---- a snapshot held after a failed adopt ---- */

static void held_free_work(uv_work_t *req)
{
	/* No UDP worker can still reach it once a grace period passed. */
	synchronize_rcu();
	snapshot_free(req->data);
}

static void held_free_after(uv_work_t *req, int status)
{
	free(req);
}

/* The runtime follows the serving snapshot again: let the held one go. */
static void held_release(struct live_rt *rt)
{
	struct vane_snapshot *held = rt->held;
	if (held == NULL || held == rt->snap)
		return;
	rt->held = NULL;
	uv_work_t *req = malloc(sizeof(*req));
	if (req == NULL)
		return;   /* leak rather than free in use */
	req->data = held;
	if (uv_queue_work(rt->loop, req, held_free_work, held_free_after) < 0)
		free(req);
}

void live_rt_adopt(struct live_rt *rt, const struct vane_snapshot *snap)
{
	struct health_target **old = rt->targets;
	uint32_t nold = rt->ntargets;
	/* Carry from the exact current state (snap->live0 may be a moment
	 * old): the working copy is a live state of the previous snapshot. */
	if (work_from_snapshot(rt, snap, rt->work) != 0) {
		/* Everything still runs on the previous snapshot, which the
		 * server frees after this reload: keep it until an adopt works. */
		log_error("out of memory adopting steering state; "
			  "health follows the previous configuration until the next reload");
		if (rt->srv->reload_old == rt->snap) {
			rt->held = rt->srv->reload_old;
			rt->srv->reload_old = NULL;
		}
		return;
	}
	held_release(rt);
	rt->targets = NULL;
	rt->ntargets = 0;
	latency_replay(rt);
	if (health_sync(rt, old, nold) != 0)
		log_error("out of memory re-syncing health checks; probes stopped until the next reload");
	publish_now(rt);
	live_rt_changed(rt, true);
}

void live_rt_close(struct live_rt *rt)
{
	if (rt == NULL || rt->closing)
		return;
	/* Last word, written by live_rt_free once no write is in flight. */
	if (rt->work && rt->snap)
		rt->final_text = persist_text(rt);
	health_close_all(rt);
	health_http_close(rt);
	rt->closing = true;
	if (rt->timers_on) {
		uv_close((uv_handle_t *)&rt->publish_timer, NULL);
		uv_close((uv_handle_t *)&rt->persist_timer, NULL);
		uv_close((uv_handle_t *)&rt->tick, NULL);
	}
}

void live_rt_free(struct live_rt *rt)
{
	if (rt == NULL)
		return;
	if (rt->final_text && state_write(rt->state_dir, rt->final_text) != 0)
		log_error("cannot write %s/%s", rt->state_dir, STATE_FILE);
	free(rt->final_text);
	for (uint32_t i = 0; i < rt->nlat; i++) {
		free(rt->lat[i].file);
		free(rt->lat[i].service);
		free(rt->lat[i].endpoint);
		free(rt->lat[i].client);
	}
	free(rt->lat);
	free(rt->ramp_logged);
	free(rt->targets);
	live_free(rt->work);
	snapshot_free(rt->held);   /* the loop ended: no reader left */
	free(rt->state_dir);
	free(rt);
}
