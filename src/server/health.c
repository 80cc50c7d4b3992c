/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/resource.h>

#include "lib/mnemonic.h"
#include "server/events.h"
#include "server/health.h"
#include "server/log.h"
#include "server/server.h"
#include "server/snapshot.h"
#include "steer/build.h"

#define FIRST_SPREAD_MS 100   /* first probes: spread over this, not one burst */
#define INFLIGHT_MAX 1024     /* probes in flight at once; the rest wait in a queue */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	if (rng_state == 0 && getrandom(&rng_state, sizeof(rng_state), 0) != sizeof(rng_state))
		rng_state = (uint64_t)uv_hrtime() | 1;
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* ---- probe configuration from the snapshot ---- */

static int type_from_name(const char *s)
{
	if (strcasecmp(s, "tcp") == 0) return PROBE_TCP;
	if (strcasecmp(s, "http") == 0) return PROBE_HTTP;
	if (strcasecmp(s, "https") == 0) return PROBE_HTTPS;
	if (strcasecmp(s, "dns") == 0) return PROBE_DNS;
	if (strcasecmp(s, "exec") == 0) return PROBE_EXEC;
	return -1;
}

#define COPY(dst, src) snprintf((dst), sizeof(dst), "%s", (src) ? (src) : "")

/* Fill `pc` for health index `h` of `snap`. */
static int probe_conf_make(const struct vane_snapshot *snap, uint32_t h, struct probe_conf *pc)
{
	memset(pc, 0, sizeof(*pc));
	const struct steer_health_target *ht = &snap->htarget[h];
	const struct conf_check *ck = &snap->conf->checks[ht->check];
	const struct steer_service *svc = &snap->steer->svc[ht->svc];
	int type = type_from_name(ck->type);
	if (type < 0)
		return VANE_EINVAL;
	pc->type = (enum probe_type)type;
	static const uint16_t dport[] = { 0, 80, 443, 53, 0 };
	pc->port = (uint16_t)(ck->port ? ck->port : dport[type]);
	COPY(pc->path, ck->path ? ck->path : "/");
	COPY(pc->host, ck->host);
	COPY(pc->body, ck->body);
	COPY(pc->query, ck->query);
	COPY(pc->command, ck->command);
	if (type == PROBE_DNS)
		pc->expect = ck->expect ? dns_rcode_from_name(ck->expect) : 0;
	else
		pc->expect = ck->expect ? atoi(ck->expect) : 200;
	pc->interval_ms = ck->interval_ms ? ck->interval_ms : 2000;
	pc->timeout_ms = ck->timeout_ms ? ck->timeout_ms : 1000;
	pc->rise = ck->rise ? ck->rise : 1;
	pc->fall = ck->fall ? ck->fall : 1;
	pc->insecure = ck->insecure;
	live_service_name(svc, pc->service, sizeof(pc->service));
	COPY(pc->endpoint, svc->ep[ht->ep].id);
	if (ht->family == AF_INET6) {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&pc->addr;
		sa->sin6_family = AF_INET6;
		sa->sin6_port = htons(pc->port);
		memcpy(&sa->sin6_addr, ht->addr, 16);
		pc->addrlen = sizeof(*sa);
		inet_ntop(AF_INET6, ht->addr, pc->address, sizeof(pc->address));
	} else {
		struct sockaddr_in *sa = (struct sockaddr_in *)&pc->addr;
		sa->sin_family = AF_INET;
		sa->sin_port = htons(pc->port);
		memcpy(&sa->sin_addr, ht->addr, 4);
		pc->addrlen = sizeof(*sa);
		inet_ntop(AF_INET, ht->addr, pc->address, sizeof(pc->address));
	}
	return 0;
}

/* ---- scheduling ---- */

static void target_fire(uv_timer_t *timer);

/* Jittered interval: -10%..0, never longer than configured, so `fall`
 * failures in a row always fit in interval x fall (see health.h). */
static uint64_t jittered(uint32_t interval)
{
	uint64_t span = interval / 10u;
	return interval - rng_next() % (span + 1);
}

static void schedule_next(struct health_target *t)
{
	uint64_t now = uv_now(t->rt->loop);
	uint64_t at = t->started + jittered(t->pc.interval_ms);
	uv_timer_start(&t->timer, target_fire, at > now ? at - now : 0, 0);
}

static void target_timeout(uv_timer_t *timer)
{
	struct health_target *t = timer->data;
	if (!t->running)
		return;
	char msg[64];
	snprintf(msg, sizeof(msg), "timeout after %u ms", t->pc.timeout_ms);
	probe_cancel(t);
	health_probe_done(t, false, msg);
}

/* ---- probes in flight: capped, so thousands of checks never exhaust fds ---- */

/* A quarter of the fd limit (sockets of clients, zones and logs need the
 * rest), at most INFLIGHT_MAX. */
static uint32_t inflight_max(struct live_rt *rt)
{
	if (rt->inflight_max == 0) {
		struct rlimit rl;
		rlim_t cap = INFLIGHT_MAX;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
		    rl.rlim_cur / 4 < cap)
			cap = rl.rlim_cur / 4 > 16 ? rl.rlim_cur / 4 : 16;
		rt->inflight_max = (uint32_t)cap;
	}
	return rt->inflight_max;
}

static void queue_push(struct health_target *t)
{
	struct live_rt *rt = t->rt;
	t->queued = true;
	t->qnext = NULL;
	t->qprev = rt->qtail;
	if (rt->qtail)
		rt->qtail->qnext = t;
	else
		rt->qhead = t;
	rt->qtail = t;
}

static void queue_unlink(struct health_target *t)
{
	struct live_rt *rt = t->rt;
	if (!t->queued)
		return;
	if (t->qprev)
		t->qprev->qnext = t->qnext;
	else
		rt->qhead = t->qnext;
	if (t->qnext)
		t->qnext->qprev = t->qprev;
	else
		rt->qtail = t->qprev;
	t->qnext = t->qprev = NULL;
	t->queued = false;
}

static void probe_start(struct health_target *t);

/* Start waiting probes while there is room.  A probe that fails to start
 * reports at once and re-enters here: the flag keeps that a loop. */
static void queue_drain(struct live_rt *rt)
{
	if (rt->draining)
		return;
	rt->draining = true;
	while (rt->qhead && rt->inflight < inflight_max(rt) && !rt->closing) {
		struct health_target *t = rt->qhead;
		queue_unlink(t);
		probe_start(t);
	}
	rt->draining = false;
}

static void target_fire(uv_timer_t *timer)
{
	struct health_target *t = timer->data;
	if (t->running || t->queued || t->removed || t->rt->closing)
		return;
	if (t->rt->inflight >= inflight_max(t->rt)) {
		queue_push(t);   /* started by queue_drain when a probe ends */
		return;
	}
	probe_start(t);
}

static void probe_start(struct health_target *t)
{
	t->started = uv_now(t->rt->loop);
	t->running = true;
	t->rt->inflight++;
	int ret;
	switch (t->pc.type) {
	case PROBE_TCP: ret = probe_tcp_start(t); break;
	case PROBE_HTTP:
	case PROBE_HTTPS: ret = probe_http_start(t); break;
	case PROBE_DNS: ret = probe_dns_start(t); break;
	case PROBE_EXEC: ret = probe_exec_start(t); break;
	default: ret = VANE_EINVAL; break;
	}
	if (ret != 0) {
		char msg[96];
		snprintf(msg, sizeof(msg), "cannot start probe: %s", vane_strerror(ret));
		health_probe_done(t, false, msg);
		return;
	}
	if (t->running)
		uv_timer_start(&t->timer, target_timeout, t->pc.timeout_ms, 0);
}

/* ---- results ---- */

static void set_state(struct health_target *t, bool up, const char *err)
{
	struct live_rt *rt = t->rt;
	bool was = t->up;
	bool changed = was != up || t->origin == LIVE_ASSUMED;
	t->up = up;
	t->origin = LIVE_PROBED;
	if (was != up) {
		t->since_ms = live_now_ms();
		t->transitions++;
		if (up)
			rt->went_up++;
		else
			rt->went_down++;
		if (up)
			log_info("[%s] health down->up", t->key);
		else
			log_warning("[%s] health up->down: %s", t->key, err);
		events_add_key(rt->srv->events, up ? EV_HEALTH_UP : EV_HEALTH_DOWN, t->key,
			       "health %s%s", up ? "down->up" : "up->down: ", up || !err ? "" : err);
	} else if (t->since_ms == 0) {
		t->since_ms = live_now_ms();   /* first probe confirmed the assumption */
	}
	struct live_state *w = rt->work;
	if (t->hidx < w->nhealth) {
		w->hs[t->hidx].up = up;
		w->hs[t->hidx].since_ms = t->since_ms;
		w->origin[t->hidx] = LIVE_PROBED;
	}
	if (changed)
		live_rt_changed(rt, true);
	if (was != up && !up)
		live_rt_target_down(rt, t);
}

void health_probe_done(struct health_target *t, bool ok, const char *err)
{
	struct live_rt *rt = t->rt;
	if (t->running)
		rt->inflight--;
	t->running = false;
	t->probe = NULL;
	t->probes++;
	rt->probes_total++;
	t->last_probe_ms = live_now_ms();
	t->last_ms = (uint32_t)(uv_now(rt->loop) - t->started);
	if (ok) {
		t->fail_run = 0;
		t->ok_run++;
	} else {
		t->failures++;
		t->ok_run = 0;
		t->fail_run++;
		if (strcmp(t->err, err ? err : "") != 0) {
			COPY(t->err, err);
			live_rt_changed(rt, true);
		}
	}
	if (t->origin == LIVE_ASSUMED) {
		/* Nothing was known: the first probe decides. */
		set_state(t, ok, err);
	} else if (t->origin == LIVE_SAVED) {
		/* A saved state is real knowledge: it is confirmed by the first
		 * probe that agrees, and overturned only by the usual rise/fall
		 * run, so one slow probe after a restart flips nothing. */
		if (ok == t->up) {
			set_state(t, ok, err);
		} else if (ok ? t->ok_run >= t->pc.rise : t->fail_run >= t->pc.fall) {
			log_info("[%s] probes overturn the saved state: %s", t->key,
				 ok ? "up" : "down");
			set_state(t, ok, err);
		}
	} else if (ok && !t->up && t->ok_run >= t->pc.rise) {
		set_state(t, true, NULL);
	} else if (!ok && t->up && t->fail_run >= t->pc.fall) {
		set_state(t, false, err);
	}
	if (t->removed || rt->closing)
		return;
	schedule_next(t);
	queue_drain(rt);
}

/* ---- lifecycle ---- */

static void target_closed(uv_handle_t *h)
{
	struct health_target *t = h->data;
	t->rt->handles_open--;
	free(t);
}

static void target_remove(struct health_target *t)
{
	if (t->running) {
		probe_cancel(t);
		t->rt->inflight--;
	}
	queue_unlink(t);
	t->running = false;
	t->removed = true;
	uv_timer_stop(&t->timer);
	uv_close((uv_handle_t *)&t->timer, target_closed);
}

/* Allocated only: the timer starts in target_arm, once nothing can fail. */
static struct health_target *target_new(struct live_rt *rt, uint32_t h,
					const struct probe_conf *pc, const char *key)
{
	struct health_target *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->rt = rt;
	t->hidx = h;
	memcpy(&t->pc, pc, sizeof(*pc));   /* padding too: same_probe compares bytes */
	COPY(t->key, key);
	return t;
}

/* Spread first probes: ~5 per ms at most, within one interval. */
static void target_arm(struct health_target *t, uint32_t n)
{
	struct live_rt *rt = t->rt;
	uv_timer_init(rt->loop, &t->timer);
	t->timer.data = t;
	rt->handles_open++;
	uint64_t spread = FIRST_SPREAD_MS + n / 5;
	if (spread > t->pc.interval_ms)
		spread = t->pc.interval_ms ? t->pc.interval_ms : FIRST_SPREAD_MS;
	uv_timer_start(&t->timer, target_fire, rng_next() % spread, 0);
}

static bool same_probe(const struct probe_conf *a, const struct probe_conf *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* Take the state the working copy holds for `h` (saved, carried or assumed). */
static void target_init_state(struct health_target *t, const struct live_state *w)
{
	uint32_t h = t->hidx;
	t->up = w->hs[h].up;
	t->since_ms = w->hs[h].since_ms;
	t->origin = w->origin[h] == LIVE_PROBED ? LIVE_SAVED : w->origin[h];
	if (w->err && w->err[h][0])
		COPY(t->err, w->err[h]);
	if (t->origin == LIVE_ASSUMED) {
		log_info("[%s] no saved state, up until the first probe", t->key);
		t->up = true;
	}
}

/* Stop and free every target of `old` (and the array). */
static void targets_remove(struct health_target **old, uint32_t nold)
{
	for (uint32_t i = 0; i < nold; i++)
		if (old[i])
			target_remove(old[i]);
	free(old);
}

/*
 * Two passes: the first decides and allocates without touching `old` or
 * the loop, so an allocation failure leaves nothing half-moved; the second
 * cannot fail.  `okeys` stays as the map was built over it: a slot taken
 * by a kept target is marked in `taken`, never nulled (the map still
 * probes through it).
 */
int health_sync(struct live_rt *rt, struct health_target **old, uint32_t nold)
{
	const struct vane_snapshot *snap = rt->snap;
	uint32_t n = snap->nhealth;
	const char **okeys = calloc(nold ? nold : 1, sizeof(*okeys));
	bool *taken = calloc(nold ? nold : 1, sizeof(*taken));
	int64_t *from = malloc((n ? n : 1) * sizeof(*from));
	struct health_target **nt = calloc(n ? n : 1, sizeof(*nt));
	struct live_map omap = { 0 };
	int ret = VANE_ENOMEM;
	if (!okeys || !taken || !from || !nt)
		goto fail;
	for (uint32_t i = 0; i < nold; i++)
		okeys[i] = old[i] ? old[i]->key : NULL;
	if (live_map_init(&omap, okeys, nold) != 0)
		goto fail;

	for (uint32_t h = 0; h < n; h++) {
		struct probe_conf pc;
		const char *key = snap->health_key[h];
		from[h] = -1;
		if (probe_conf_make(snap, h, &pc) != 0) {
			log_error("[%s] unknown check type; not probed", key);
			continue;
		}
		int64_t oi = live_map_get(&omap, key);
		if (oi >= 0 && old[oi] == NULL)
			oi = -1;
		if (oi >= 0 && !taken[oi] && same_probe(&old[oi]->pc, &pc)) {
			/* Unchanged: keep state, counters and the timer. */
			taken[oi] = true;
			from[h] = oi;
			continue;
		}
		struct health_target *t = target_new(rt, h, &pc, key);
		if (t == NULL)
			goto fail;
		target_init_state(t, rt->work);
		if (oi >= 0) {
			/* Same endpoint, new check: keep what is known until probed. */
			t->up = old[oi]->up;
			t->since_ms = old[oi]->since_ms;
			t->origin = old[oi]->origin == LIVE_ASSUMED ? LIVE_ASSUMED : LIVE_SAVED;
		}
		nt[h] = t;
	}

	uint32_t kept = 0, added = 0, removed = 0;
	struct live_state *w = rt->work;
	for (uint32_t h = 0; h < n; h++) {
		if (from[h] >= 0) {
			nt[h] = old[from[h]];
			old[from[h]] = NULL;
			nt[h]->hidx = h;
			w->hs[h].up = nt[h]->up;
			w->hs[h].since_ms = nt[h]->since_ms;
			w->origin[h] = nt[h]->origin;
			kept++;
		} else if (nt[h]) {
			target_arm(nt[h], n);
			added++;
		}
	}
	for (uint32_t i = 0; i < nold; i++)
		removed += old[i] != NULL;
	targets_remove(old, nold);
	if (kept + added + removed)
		log_info("health checks: %u probed, %u new, %u unchanged, %u removed",
			 kept + added, added, kept, removed);
	free(okeys);
	free(taken);
	free(from);
	live_map_free(&omap);
	rt->targets = nt;
	rt->ntargets = n;
	queue_drain(rt);
	return 0;
fail:
	/* Nothing was moved out of `old`, but its targets are laid out for the
	 * previous snapshot: stop them rather than let them index this one. */
	for (uint32_t h = 0; nt && h < n; h++)
		free(nt[h]);   /* new targets only: kept ones are not set yet */
	targets_remove(old, nold);
	rt->targets = NULL;
	rt->ntargets = 0;
	live_map_free(&omap);
	free(okeys);
	free(taken);
	free(from);
	free(nt);
	return ret;
}

void health_close_all(struct live_rt *rt)
{
	for (uint32_t i = 0; i < rt->ntargets; i++)
		if (rt->targets[i])
			target_remove(rt->targets[i]);
	free(rt->targets);
	rt->targets = NULL;
	rt->ntargets = 0;
}
