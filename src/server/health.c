/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "server/events.h"
#include "server/health.h"
#include "server/log.h"
#include "server/server.h"
#include "server/snapshot.h"
#include "steer/build.h"

#define FIRST_SPREAD_MS 100   /* first probes: spread over this, not one burst */
#define JITTER_UP_MAX_MS 500  /* keeps interval x fall + timeout + 1 s */

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

static const char *const rcode_names[] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
};

static int rcode_from_name(const char *s)
{
	for (unsigned i = 0; i < sizeof(rcode_names) / sizeof(rcode_names[0]); i++)
		if (strcasecmp(s, rcode_names[i]) == 0)
			return (int)i;
	return -1;
}

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
		pc->expect = ck->expect ? rcode_from_name(ck->expect) : 0;
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

/* Jittered interval: -10%..+10%, the upper side capped (see health.h). */
static uint64_t jittered(uint32_t interval)
{
	uint64_t span = interval / 10u;
	uint64_t up = span < JITTER_UP_MAX_MS ? span : JITTER_UP_MAX_MS;
	uint64_t r = rng_next() % (span + up + 1);
	return interval - span + r;
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

static void target_fire(uv_timer_t *timer)
{
	struct health_target *t = timer->data;
	if (t->running || t->removed || t->rt->closing)
		return;
	t->started = uv_now(t->rt->loop);
	t->running = true;
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
		t->running = false;
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
	if (t->running)
		probe_cancel(t);
	t->running = false;
	t->removed = true;
	uv_timer_stop(&t->timer);
	uv_close((uv_handle_t *)&t->timer, target_closed);
}

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
	uv_timer_init(rt->loop, &t->timer);
	t->timer.data = t;
	rt->handles_open++;
	return t;
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

int health_sync(struct live_rt *rt, struct health_target **old, uint32_t nold)
{
	const struct vane_snapshot *snap = rt->snap;
	uint32_t n = snap->nhealth;
	const char **okeys = calloc(nold ? nold : 1, sizeof(*okeys));
	struct health_target **nt = calloc(n ? n : 1, sizeof(*nt));
	struct live_map omap = { 0 };
	int ret = VANE_ENOMEM;
	if (!okeys || !nt)
		goto fail;
	for (uint32_t i = 0; i < nold; i++)
		okeys[i] = old[i] ? old[i]->key : NULL;
	if (live_map_init(&omap, okeys, nold) != 0)
		goto fail;

	uint32_t kept = 0, added = 0;
	for (uint32_t h = 0; h < n; h++) {
		struct probe_conf pc;
		const char *key = snap->health_key[h];
		if (probe_conf_make(snap, h, &pc) != 0) {
			log_error("[%s] unknown check type; not probed", key);
			continue;
		}
		int64_t oi = live_map_get(&omap, key);
		if (oi >= 0 && same_probe(&old[oi]->pc, &pc)) {
			/* Unchanged: keep state, counters and the timer. */
			nt[h] = old[oi];
			nt[h]->hidx = h;
			old[oi] = NULL;
			okeys[oi] = NULL;
			struct live_state *w = rt->work;
			w->hs[h].up = nt[h]->up;
			w->hs[h].since_ms = nt[h]->since_ms;
			w->origin[h] = nt[h]->origin;
			kept++;
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
		added++;
		/* Spread first probes: ~5 per ms at most, within one interval. */
		uint64_t spread = FIRST_SPREAD_MS + n / 5;
		if (spread > pc.interval_ms)
			spread = pc.interval_ms ? pc.interval_ms : FIRST_SPREAD_MS;
		uv_timer_start(&t->timer, target_fire, rng_next() % spread, 0);
	}
	uint32_t removed = 0;
	for (uint32_t i = 0; i < nold; i++) {
		if (old[i]) {
			target_remove(old[i]);
			removed++;
		}
	}
	if (kept + added + removed)
		log_info("health checks: %u probed, %u new, %u unchanged, %u removed",
			 kept + added, added, kept, removed);
	free(old);
	free(okeys);
	live_map_free(&omap);
	rt->targets = nt;
	rt->ntargets = n;
	return 0;
fail:
	live_map_free(&omap);
	free(okeys);
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
