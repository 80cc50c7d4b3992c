/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include "health/health.h"
#include "lib/mnemonic.h"
#include "lib/rand.h"
#include "rt/clock.h"
#include "rt/log.h"

#define FIRST_SPREAD_MS 100   /* first probes: spread over this, not one burst */
#define INFLIGHT_MAX 1024     /* probes in flight at once; the rest wait in a queue */

const char *probe_type_name(enum probe_type t)
{
	static const char *const names[] = { "tcp", "http", "https", "dns", "exec" };
	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

/* ---- probe configuration from the config ---- */

static int type_from_name(const char *s)
{
	for (int t = PROBE_TCP; t <= PROBE_EXEC; t++)
		if (strcasecmp(s, probe_type_name((enum probe_type)t)) == 0)
			return t;
	return -1;
}

#define COPY(dst, src) snprintf((dst), sizeof(dst), "%s", (src) ? (src) : "")

/* Fill `pc` for health index `h` of `b`. */
static int probe_conf_make(const struct steer_build *b, const struct conf_check *checks,
			   uint32_t h, struct probe_conf *pc)
{
	memset(pc, 0, sizeof(*pc));   /* padding too: targets compare the bytes */
	const struct steer_health_target *ht = &b->target[h];
	const struct conf_check *ck = &checks[ht->check];
	const struct steer_service *svc = &b->set->svc[ht->svc];
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
	/* Only an exec command can name its endpoint: other types of the same
	 * check on the same address are one target. */
	if (type == PROBE_EXEC) {
		dname_to_str(svc->name, pc->service, sizeof(pc->service));
		size_t n = strlen(pc->service);
		if (n > 1 && pc->service[n - 1] == '.')
			pc->service[n - 1] = '\0';
		COPY(pc->endpoint, svc->ep[ht->ep].id);
	}
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
static uint64_t jittered(struct health_mon *mon, uint32_t interval)
{
	return interval - rand_below(&mon->rng, interval / 10u + 1);
}

/* Probes start on 10 ms ticks: thousands of targets then share a few
 * hundred loop wake-ups a second (and one hand-off to the probe thread
 * each) instead of one each.  Rounded down, so no interval grows. */
#define PROBE_TICK_MS 10

static void schedule_next(struct health_target *t)
{
	uint64_t now = uv_now(t->mon->loop);
	uint64_t at = t->started + jittered(t->mon, t->pc.interval_ms);
	if (at - t->started > PROBE_TICK_MS)
		at -= at % PROBE_TICK_MS;
	uv_timer_start(&t->timer, target_fire, at > now ? at - now : 0, 0);
}

/* A timeout that fires this much after it was due means the loop itself
 * stood still (vaned stopped by SIGSTOP, a debugger, a frozen VM): the
 * monotonic clock ran on while nothing was read. */
#define STALL_MS 1000

/* How long the loop waits for a probe.  http(s) probes time out on the
 * probe thread, whose loop knows when it was itself held up (http.c): a
 * probe thread starved of CPU while this loop runs must not fail every
 * probe in flight from here, so this loop only keeps a backstop. */
static uint32_t wait_ms(const struct health_target *t)
{
	if (t->pc.type == PROBE_HTTP || t->pc.type == PROBE_HTTPS)
		return probe_http_backstop_ms(&t->pc);
	return t->pc.timeout_ms;
}

static void target_timeout(uv_timer_t *timer)
{
	struct health_target *t = timer->data;
	if (!t->running)
		return;
	/* After a stall every probe in flight is past its deadline, but the
	 * answers that came meanwhile wait unread in their sockets: timers run
	 * before the poll phase.  Give each such probe one fresh timeout
	 * instead, so a pause of vaned is not an outage of every backend; one
	 * that really hangs still fails then. */
	uint64_t now = uv_now(timer->loop);
	if (!t->stall_grace && now >= t->deadline + STALL_MS) {
		t->stall_grace = true;
		t->deadline = now + wait_ms(t);
		uv_timer_start(&t->timer, target_timeout, wait_ms(t), 0);
		return;
	}
	char msg[64];
	snprintf(msg, sizeof(msg), "timeout after %u ms", wait_ms(t));
	probe_cancel(t);
	health_probe_done(t, false, msg);
}

/* ---- probes in flight: capped, so thousands of checks never exhaust fds ---- */

/* A quarter of the fd limit (sockets of clients, zones and logs need the
 * rest), at most INFLIGHT_MAX. */
static uint32_t inflight_max(struct health_mon *mon)
{
	if (mon->inflight_max == 0) {
		struct rlimit rl;
		rlim_t cap = INFLIGHT_MAX;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
		    rl.rlim_cur / 4 < cap)
			cap = rl.rlim_cur / 4 > 16 ? rl.rlim_cur / 4 : 16;
		mon->inflight_max = (uint32_t)cap;
	}
	return mon->inflight_max;
}

static void queue_push(struct health_target *t)
{
	struct health_mon *mon = t->mon;
	t->queued = true;
	t->qnext = NULL;
	t->qprev = mon->qtail;
	if (mon->qtail)
		mon->qtail->qnext = t;
	else
		mon->qhead = t;
	mon->qtail = t;
}

static void queue_unlink(struct health_target *t)
{
	struct health_mon *mon = t->mon;
	if (!t->queued)
		return;
	if (t->qprev)
		t->qprev->qnext = t->qnext;
	else
		mon->qhead = t->qnext;
	if (t->qnext)
		t->qnext->qprev = t->qprev;
	else
		mon->qtail = t->qprev;
	t->qnext = t->qprev = NULL;
	t->queued = false;
}

static void probe_start(struct health_target *t);

/* Start waiting probes while there is room.  A probe that fails to start
 * reports at once and re-enters here: the flag keeps that a loop. */
static void queue_drain(struct health_mon *mon)
{
	if (mon->draining)
		return;
	mon->draining = true;
	while (mon->qhead && mon->inflight < inflight_max(mon) && !mon->closing) {
		struct health_target *t = mon->qhead;
		queue_unlink(t);
		probe_start(t);
	}
	mon->draining = false;
}

static void target_fire(uv_timer_t *timer)
{
	struct health_target *t = timer->data;
	if (t->running || t->queued || t->removed || t->mon->closing)
		return;
	if (t->mon->inflight >= inflight_max(t->mon)) {
		queue_push(t);   /* started by queue_drain when a probe ends */
		return;
	}
	probe_start(t);
}

static void probe_start(struct health_target *t)
{
	t->started = uv_now(t->mon->loop);
	t->running = true;
	t->mon->inflight++;
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
	if (t->running) {
		t->stall_grace = false;
		t->deadline = t->started + wait_ms(t);
		uv_timer_start(&t->timer, target_timeout, wait_ms(t), 0);
	}
}

/* ---- results ---- */

void health_probe_done(struct health_target *t, bool ok, const char *err)
{
	struct health_mon *mon = t->mon;
	if (t->running)
		mon->inflight--;
	t->running = false;
	t->probe = NULL;
	mon->probes_total++;
	t->last_probe_ms = rt_now_ms();
	t->last_ms = (uint32_t)(uv_now(mon->loop) - t->started);
	bool err_changed = false;
	if (!ok) {
		COPY(t->last_fail, err);
		t->last_fail_ms = t->last_probe_ms;
		if (strcmp(t->err, err ? err : "") != 0) {
			COPY(t->err, err);
			err_changed = true;
		}
	}
	struct health_params p = { .rise = t->pc.rise, .fall = t->pc.fall };
	struct health_event ev;
	health_fold(&t->st, ok, &p, t->last_probe_ms, &ev);
	/* An up target has no current error: a stale one next to "up" reads
	 * as a fault; the record stays in last_fail. */
	if (ok && t->st.up && t->err[0]) {
		t->err[0] = '\0';
		err_changed = true;
	}
	if ((ev.decided || err_changed) && mon->hooks.changed)
		mon->hooks.changed(mon->hooks.ctx, t, &ev);
	if (t->removed || mon->closing)
		return;
	schedule_next(t);
	queue_drain(mon);
}

/* ---- lifecycle ---- */

int health_mon_init(struct health_mon *mon, uv_loop_t *loop, const struct health_hooks *hooks,
		    uint64_t seed)
{
	memset(mon, 0, sizeof(*mon));
	mon->loop = loop;
	mon->hooks = *hooks;
	mon->rng = seed;
	return health_http_init(mon);
}

static void target_closed(uv_handle_t *h)
{
	struct health_target *t = h->data;
	t->mon->handles_open--;
	free(t);
}

static void target_remove(struct health_target *t)
{
	if (t->running) {
		probe_cancel(t);
		t->mon->inflight--;
	}
	queue_unlink(t);
	probe_http_free(t);
	t->running = false;
	t->removed = true;
	if (!t->armed) {
		free(t);
		return;
	}
	uv_timer_stop(&t->timer);
	uv_close((uv_handle_t *)&t->timer, target_closed);
}

/* Spread first probes: ~5 per ms at most, within one interval. */
static void target_arm(struct health_target *t, uint32_t n)
{
	struct health_mon *mon = t->mon;
	uv_timer_init(mon->loop, &t->timer);
	t->timer.data = t;
	t->armed = true;
	mon->handles_open++;
	uint64_t spread = FIRST_SPREAD_MS + n / 5;
	if (spread > t->pc.interval_ms)
		spread = t->pc.interval_ms ? t->pc.interval_ms : FIRST_SPREAD_MS;
	uv_timer_start(&t->timer, target_fire, rand_below(&mon->rng, spread), 0);
}

static bool same_probe(const struct probe_conf *a, const struct probe_conf *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* The target among `list[0..n)` probing `pc`, or -1.  Targets are few per
 * sync (thousands at most) and syncs rare: a linear scan per index would
 * be quadratic, so callers search a hash of the bytes first. */
static uint64_t pc_hash(const struct probe_conf *pc)
{
	const uint8_t *p = (const uint8_t *)pc;
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < sizeof(*pc); i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

struct pc_table {
	uint32_t mask;
	struct health_target **slot;
};

static int pc_table_init(struct pc_table *tb, uint32_t n)
{
	uint32_t size = 16;
	while (size < n * 2u)
		size <<= 1;
	tb->mask = size - 1;
	tb->slot = calloc(size, sizeof(*tb->slot));
	return tb->slot ? 0 : VANE_ENOMEM;
}

/* Find `pc` in the table; returns the slot (empty or the match). */
static struct health_target **pc_table_find(struct pc_table *tb, const struct probe_conf *pc)
{
	for (uint32_t i = (uint32_t)pc_hash(pc) & tb->mask;; i = (i + 1) & tb->mask)
		if (tb->slot[i] == NULL || same_probe(&tb->slot[i]->pc, pc))
			return &tb->slot[i];
}

/*
 * Two passes: the first decides and allocates without touching the old
 * targets or the loop, so an allocation failure leaves nothing half-moved;
 * the second cannot fail.
 */
int health_mon_sync(struct health_mon *mon, const struct steer_build *b,
		    const struct conf_check *checks, const struct health_state *initial)
{
	uint32_t n = b->nhealth;
	struct health_target **by_index = calloc(n ? n : 1, sizeof(*by_index));
	struct health_target **list = calloc(n ? n : 1, sizeof(*list));
	struct pc_table old = { 0 }, now = { 0 };
	uint32_t nlist = 0, kept = 0, added = 0, removed = 0;
	int ret = VANE_ENOMEM;
	if (!by_index || !list || pc_table_init(&old, mon->ntargets) != 0 ||
	    pc_table_init(&now, n) != 0)
		goto fail;
	for (uint32_t i = 0; i < mon->ntargets; i++)
		*pc_table_find(&old, &mon->targets[i]->pc) = mon->targets[i];

	for (uint32_t h = 0; h < n; h++) {
		struct probe_conf pc;
		if (probe_conf_make(b, checks, h, &pc) != 0) {
			log_error("[%s] unknown check type; not probed", b->health_key[h]);
			continue;
		}
		struct health_target **slot = pc_table_find(&now, &pc);
		if (*slot == NULL) {
			struct health_target *t = *pc_table_find(&old, &pc);
			if (t == NULL) {
				/* New: allocated only; armed once nothing can fail. */
				if ((t = calloc(1, sizeof(*t))) == NULL)
					goto fail;
				t->mon = mon;
				memcpy(&t->pc, &pc, sizeof(pc));
				t->st = initial[h];
				if (t->st.origin == HEALTH_PROBED)
					t->st.origin = HEALTH_SAVED;
				t->st.ok_run = t->st.fail_run = 0;
				if (t->st.origin == HEALTH_ASSUMED)
					t->st.up = true;
			}
			*slot = t;
			list[nlist++] = t;
		}
		by_index[h] = *slot;
	}

	/* Nothing can fail from here on.  Endpoints are counted, as operators
	 * name them; targets too, since endpoints that share a check and an
	 * address share one probe. */
	for (uint32_t h = 0; h < n; h++) {
		if (by_index[h] && by_index[h]->armed)
			kept++;
		else if (by_index[h])
			added++;
	}
	for (uint32_t i = 0; i < nlist; i++)
		if (!list[i]->armed)
			target_arm(list[i], nlist);
	for (uint32_t i = 0; i < mon->ntargets; i++) {
		struct health_target *t = mon->targets[i];
		if (*pc_table_find(&now, &t->pc) != t) {
			target_remove(t);
			removed++;
		}
	}
	if (kept + added + removed)
		log_info("health checks: %u probed on %u targets, %u new, %u unchanged, "
			 "%u targets removed", kept + added, nlist, added, kept, removed);
	free(mon->targets);
	free(mon->by_index);
	mon->targets = list;
	mon->ntargets = nlist;
	mon->by_index = by_index;
	mon->nindex = n;
	free(old.slot);
	free(now.slot);
	queue_drain(mon);
	return 0;
fail:
	for (uint32_t i = 0; i < nlist; i++)
		if (!list[i]->armed && *pc_table_find(&old, &list[i]->pc) != list[i])
			free(list[i]);   /* new ones only */
	free(by_index);
	free(list);
	free(old.slot);
	free(now.slot);
	return ret;
}

void health_mon_close(struct health_mon *mon)
{
	if (mon->closing)
		return;
	for (uint32_t i = 0; i < mon->ntargets; i++)
		target_remove(mon->targets[i]);
	free(mon->targets);
	free(mon->by_index);
	mon->targets = NULL;
	mon->by_index = NULL;
	mon->ntargets = mon->nindex = 0;
	health_http_close(mon);
	mon->closing = true;
}
