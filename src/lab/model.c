/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The lab's simulation loop (see model.h for what is real and what is
 * modelled).  Clients sit in a time wheel of one-second buckets, so a run
 * costs one small step per connection; resolvers and client subnets hold
 * one cache entry each (shared and ECS-scoped), so the authority is asked
 * exactly when a real cache would ask it.
 */
#include <stdlib.h>
#include <string.h>

#include "health/fold.h"
#include "lab/metrics.h"
#include "lab/model.h"
#include "lab/route.h"
#include "lib/rand.h"
#include "resolver/cache.h"

#define SUBNET_CLIENTS 50         /* clients per /24, for ECS-scoped caching */
#define MAX_SUBNETS 65536         /* 10.0.0.0/8 in /24s */
#define NONE UINT32_MAX

enum { ENTRY_EMPTY = 0, ENTRY_POS, ENTRY_NEG };

/* One cached answer: enough to connect (the first address) or fail. */
struct entry {
	uint64_t expire_ms;
	uint8_t kind;
	uint8_t ep;
};

struct resolver {
	uint8_t prof, country;
	uint8_t addr[4];
	struct entry shared;
};

struct subnet {
	uint32_t res;
	uint8_t country;
	uint8_t addr[4];
	struct entry scoped;      /* answers with an ECS scope for this /24 */
};

/* A probe of one endpoint in flight. */
struct probe {
	uint64_t start_ms, done_ms;
	bool ok;
};

struct sim {
	const struct lab_scenario *sc;
	struct steer_service svc;         /* the copy events change (TTL) */
	uint64_t rng;
	uint32_t n_res, n_sub, n_cli;
	struct resolver *res;
	struct subnet *sub;
	uint32_t *cli_sub, *cli_next;     /* per client: subnet, wheel link */
	uint8_t *cli_retry;               /* per client: this step is a retry */
	uint32_t *cli_due;                /* per retrying client: next second it wants a connection */
	uint32_t *wheel;                  /* bucket heads */
	uint32_t wheel_mask;
	/* The world and what vaned knows of it. */
	bool up[LAB_MAX_EP];              /* really accepting connections */
	bool was_up[LAB_MAX_EP];          /* before the last change */
	uint64_t changed_ms[LAB_MAX_EP];
	bool deleted;
	struct health_state hs[LAB_MAX_EP];
	struct steer_health_state hv[LAB_MAX_EP];
	struct steer_health health;
	struct steer_admin_ep adm_ep[LAB_MAX_EP];
	struct steer_admin admin;
	struct probe probe[LAB_MAX_EP];
	uint64_t flip_ms[LAB_MAX_EP];     /* last health flip, 0 = none */
	/* Anycast scenarios: the routes, and which sites an event withdrew. */
	struct lab_route route;
	bool withdrawn[LAB_MAX_EP];
	uint64_t measure_ms;              /* the measured event's time, UINT64_MAX = none */
	uint64_t route_moved_ms;          /* its site's first route change from then */
	bool route_moved;
	struct lab_series *s;
};

static uint64_t probe_done(const struct sim *m, uint64_t start, bool ok)
{
	/* A refused or dead endpoint fails after the timeout; a good answer is
	 * as good as instant at this scale. */
	return start + (ok ? 1 : m->sc->timeout_ms);
}

static bool up_at(const struct sim *m, unsigned e, uint64_t ms)
{
	return ms >= m->changed_ms[e] ? m->up[e] : m->was_up[e];
}

/* What a probe started at `start` sees is decided when it is folded, after
 * every event up to then has been applied: scheduling it early must not
 * freeze the state it will see. */
static void probe_next(struct sim *m, unsigned e, uint64_t start)
{
	m->probe[e].start_ms = start;
}

/* vaned's ops runtime starts the same ramp when a flip up finds the service
 * configured for slow start and no operator intent in the way. */
static void recovery_start(struct sim *m, unsigned e, uint64_t now)
{
	struct steer_admin_ep *a = &m->adm_ep[e];
	if (!m->svc.recovery_ramp || m->svc.recovery_nsteps == 0 || a->drained ||
	    (a->weight_set && a->weight == 0) ||
	    (a->ramp.active && steer_ramp_running(&a->ramp, now)))
		return;
	struct steer_ramp r = { .active = true, .kind = STEER_RAMP_RECOVERY,
				.nsteps = m->svc.recovery_nsteps,
				.every_ms = m->svc.recovery_every_ms, .started_ms = now };
	memcpy(r.steps, m->svc.recovery_steps, m->svc.recovery_nsteps);
	a->ramp = r;
	steer_admin_prepare(&m->admin);
}

/* An anycast site announces while its self-check passes, the operator has
 * not drained it and no withdraw event holds it back, as vaned gates its
 * announcement (docs/anycast.md); the route changes when that does. */
static void route_update(struct sim *m, unsigned e, uint64_t ms)
{
	if (m->sc->anycast.n_site == 0)
		return;
	bool on = !m->withdrawn[e] && m->hs[e].up && !m->adm_ep[e].drained;
	if (on == lab_route_on(&m->route, e))
		return;
	lab_route_set(&m->route, e, on, ms);
	const struct lab_scenario *sc = m->sc;
	if (sc->measure >= 0 && sc->event[sc->measure].ep == (int)e && ms >= m->measure_ms &&
	    !m->route_moved) {
		m->route_moved = true;
		m->route_moved_ms = ms;
	}
}

/* Fold every probe result known by `now` with the daemon's own fold. */
static void health_advance(struct sim *m, uint64_t now)
{
	struct health_params hp = { .rise = m->sc->rise, .fall = m->sc->fall };
	for (unsigned e = 0; e < m->sc->svc.n_ep; e++) {
		struct probe *p = &m->probe[e];
		for (;;) {
			p->ok = up_at(m, e, p->start_ms);
			p->done_ms = probe_done(m, p->start_ms, p->ok);
			if (p->done_ms > now)
				break;
			struct health_event ev;
			health_fold(&m->hs[e], p->ok, &hp, p->done_ms, &ev);
			if (ev.flipped) {
				m->hv[e].up = m->hs[e].up;
				m->hv[e].since_ms = p->done_ms;
				m->flip_ms[e] = p->done_ms;
				if (m->hs[e].up)
					recovery_start(m, e, p->done_ms);
				route_update(m, e, p->done_ms);
			}
			probe_next(m, e, p->start_ms + m->sc->interval_ms);
		}
	}
}

static void apply_event(struct sim *m, const struct lab_event *ev, uint64_t now)
{
	struct steer_admin_ep *a = ev->ep >= 0 ? &m->adm_ep[ev->ep] : NULL;
	switch (ev->kind) {
	case LAB_EV_DOWN:
	case LAB_EV_UP:
		m->was_up[ev->ep] = m->up[ev->ep];
		m->up[ev->ep] = ev->kind == LAB_EV_UP;
		m->changed_ms[ev->ep] = now;
		/* A probe already in flight saw the old state; the next one
		 * starts on its schedule. */
		break;
	case LAB_EV_DRAIN:
		a->drained = true;
		break;
	case LAB_EV_UNDRAIN:
		a->drained = false;
		break;
	case LAB_EV_WEIGHT:
		a->weight_set = true;
		a->weight = ev->value;
		break;
	case LAB_EV_RAMP:
		a->ramp = (struct steer_ramp){ .active = true, .kind = STEER_RAMP_OPERATOR,
					       .nsteps = ev->nsteps,
					       .every_ms = (uint64_t)ev->every * 1000,
					       .started_ms = now };
		memcpy(a->ramp.steps, ev->steps, ev->nsteps);
		break;
	case LAB_EV_DELETE:
		m->deleted = !lab_delete_refused(m->sc, ev);
		break;
	case LAB_EV_RESTORE:
		m->deleted = false;
		break;
	case LAB_EV_TTL:
		m->svc.ttl = ev->value;
		break;
	case LAB_EV_WITHDRAW:
	case LAB_EV_ANNOUNCE:
		m->withdrawn[ev->ep] = ev->kind == LAB_EV_WITHDRAW;
		break;
	}
	steer_admin_prepare(&m->admin);
	if (ev->ep >= 0)
		route_update(m, (unsigned)ev->ep, now);
}

static void geo_of(const struct lab_country *c, struct geo_info *g)
{
	memset(g, 0, sizeof(*g));
	memcpy(g->country, c->code, 3);
	memcpy(g->continent, c->continent, 3);
}

/* The resolver asks the authority: vaned's decision, the resolver's TTL
 * rules.  Fills the entry the answer belongs in. */
static void ask_auth(struct sim *m, struct subnet *sn, struct resolver *r,
		     const struct lab_profile *prof, uint64_t now, uint32_t t)
{
	const struct lab_scenario *sc = m->sc;
	m->s->auth[t]++;
	if (m->deleted) {
		/* NXDOMAIN with the zone's SOA: vaned caps its TTL at the
		 * service TTL; a server without the cap hands out the SOA's. */
		uint32_t soa_ttl = sc->soa_ttl, soa_min = sc->soa_min;
		if (sc->neg_cap && m->svc.ttl < soa_ttl)
			soa_ttl = m->svc.ttl;
		uint32_t ttl = cache_ttl_negative(soa_ttl, soa_min, prof->neg_max_ttl);
		r->shared = (struct entry){ .expire_ms = now + (uint64_t)ttl * 1000,
					    .kind = ENTRY_NEG };
		return;
	}
	struct steer_client cl;
	memset(&cl, 0, sizeof(cl));
	cl.family = 1;
	memcpy(cl.addr, r->addr, 4);
	if (prof->ecs) {
		cl.ecs.present = true;
		cl.ecs.family = 1;
		cl.ecs.source = 24;
		memcpy(cl.ecs.addr, sn->addr, 4);
	}
	uint16_t fam;
	const uint8_t *addr;
	steer_client_addr(&m->svc, &cl, &fam, &addr);
	bool by_ecs = addr == cl.ecs.addr;
	cl.has_geo = true;
	geo_of(&sc->country[by_ecs ? sn->country : r->country], &cl.geo);
	cl.geo.prefix = 24;
	struct steer_result res;
	steer_decide(&m->svc, &cl, &m->health, &m->admin, now, rand_next(&m->rng), &res, NULL);
	struct entry e = { .kind = ENTRY_NEG };
	uint32_t ttl;
	if (res.outcome == STEER_ANSWER && res.n > 0) {
		e.kind = ENTRY_POS;
		e.ep = res.ep[0];
		ttl = cache_ttl_positive(res.ttl, prof->min_ttl, prof->max_ttl);
	} else if (res.outcome == STEER_NODATA) {
		ttl = cache_ttl_negative(res.ttl, res.ttl, prof->neg_max_ttl);
	} else {
		ttl = 0;  /* SERVFAIL is not cached */
	}
	e.expire_ms = now + (uint64_t)ttl * 1000;
	if (by_ecs && res.scope > 0)
		sn->scoped = e;
	else
		r->shared = e;
}

static void wheel_put(struct sim *m, uint32_t c, uint32_t t)
{
	uint32_t *head = &m->wheel[t & m->wheel_mask];
	m->cli_next[c] = *head;
	*head = c;
}

/* One client's connection at second `t`: through its resolver's cache to
 * the first address of the answer. */
static void client_step(struct sim *m, uint32_t c, uint32_t t)
{
	const struct lab_scenario *sc = m->sc;
	uint64_t now = (uint64_t)t * 1000;
	struct subnet *sn = &m->sub[m->cli_sub[c]];
	struct resolver *r = &m->res[sn->res];
	const struct lab_profile *prof = &sc->profile[r->prof];
	const struct entry *e = &sn->scoped;
	if (!prof->ecs || e->expire_ms <= now) {
		e = &r->shared;
		if (e->expire_ms <= now) {
			ask_auth(m, sn, r, prof, now, t);
			e = sn->scoped.expire_ms > now ? &sn->scoped : &r->shared;
		}
	}
	/* Retries of a failed connection count as failures, and as traffic
	 * only once per conn-interval: a client stuck on a dead answer wants
	 * one connection that often, however often it tries, so shares stay
	 * shares of clients' demand. */
	struct lab_series *s = m->s;
	bool retry = m->cli_retry[c] && t < m->cli_due[c];
	bool ok = false;
	/* Anycast: the answer is the service address; routing picks the site. */
	int ep = e->kind != ENTRY_POS ? -1
		 : sc->anycast.n_site ? lab_route_pick(&m->route, sn->country, now) : e->ep;
	if (ep >= 0) {
		if (!retry) {
			s->total[t]++;
			s->conn[(size_t)t * s->n_ep + (unsigned)ep]++;
			s->conn_prof[((size_t)t * s->n_prof + r->prof) * s->n_ep + (unsigned)ep]++;
		}
		ok = m->up[ep];
	} else if (e->kind == ENTRY_POS) {
		/* No route to any site: the packets go nowhere. */
		if (!retry)
			s->total[t]++;
	} else if (!retry) {
		s->total[t]++;
		s->nx[(size_t)t * s->n_prof + r->prof]++;
	}
	uint32_t delay;
	if (ok) {
		delay = sc->conn_interval / 2 + (uint32_t)rand_below(&m->rng, sc->conn_interval);
		m->cli_retry[c] = 0;
	} else {
		s->fail[t]++;
		delay = sc->retry + (uint32_t)rand_below(&m->rng, 2);
		if (!retry)
			m->cli_due[c] = t + sc->conn_interval;
		m->cli_retry[c] = 1;
	}
	wheel_put(m, c, t + (delay ? delay : 1));
}

/* Index drawn by shares (they need not sum to 1). */
static unsigned pick_share(uint64_t *rng, const double *share, unsigned n, size_t stride)
{
	double sum = 0;
	for (unsigned i = 0; i < n; i++)
		sum += *(const double *)((const char *)share + i * stride);
	double x = (double)(rand_next(rng) >> 11) / 9007199254740992.0 * sum;
	for (unsigned i = 0; i < n; i++) {
		x -= *(const double *)((const char *)share + i * stride);
		if (x < 0)
			return i;
	}
	return n - 1;
}

static int sim_alloc(struct sim *m, struct lab_series *s)
{
	const struct lab_scenario *sc = m->sc;
	size_t n = (size_t)sc->duration + 1;
	s->n_sec = (uint32_t)n;
	s->n_ep = sc->svc.n_ep;
	s->n_prof = sc->n_profile;
	s->conn = calloc(n * s->n_ep, sizeof(uint32_t));
	s->conn_prof = calloc(n * s->n_ep * s->n_prof, sizeof(uint32_t));
	s->nx = calloc(n * s->n_prof, sizeof(uint32_t));
	s->fail = calloc(n, sizeof(uint32_t));
	s->total = calloc(n, sizeof(uint32_t));
	s->auth = calloc(n, sizeof(uint32_t));
	s->ramp_pct = calloc(n, 1);
	m->n_cli = sc->clients;
	m->n_res = sc->live_layout ? sc->n_profile * sc->n_country : sc->resolvers;
	uint32_t want = sc->live_layout ? sc->clients : sc->clients / SUBNET_CLIENTS;
	m->n_sub = want < m->n_res ? m->n_res : want;
	if (m->n_sub > MAX_SUBNETS)
		m->n_sub = MAX_SUBNETS;
	uint32_t span = sc->conn_interval + sc->conn_interval / 2 + sc->retry + 4;
	uint32_t w = 1;
	while (w < span)
		w <<= 1;
	m->wheel_mask = w - 1;
	m->res = calloc(m->n_res, sizeof(*m->res));
	m->sub = calloc(m->n_sub, sizeof(*m->sub));
	m->cli_sub = malloc(sizeof(uint32_t) * m->n_cli);
	m->cli_next = malloc(sizeof(uint32_t) * m->n_cli);
	m->cli_retry = calloc(m->n_cli, 1);
	m->cli_due = calloc(m->n_cli, sizeof(uint32_t));
	m->wheel = malloc(sizeof(uint32_t) * w);
	if (!s->conn || !s->conn_prof || !s->nx || !s->fail || !s->total || !s->auth ||
	    !s->ramp_pct || !m->res || !m->sub || !m->cli_sub || !m->cli_next || !m->cli_retry || !m->cli_due || !m->wheel)
		return VANE_ENOMEM;
	memset(m->wheel, 0xff, sizeof(uint32_t) * w);
	return 0;
}

static void sim_free(struct sim *m)
{
	free(m->res);
	free(m->sub);
	free(m->cli_sub);
	free(m->cli_next);
	free(m->cli_retry);
	free(m->cli_due);
	free(m->wheel);
}

/* Resolvers get a country and a kind by share; each client subnet a
 * resolver of its own country (any, if that country has none). */
static void sim_populate(struct sim *m)
{
	const struct lab_scenario *sc = m->sc;
	uint32_t *by_country[LAB_MAX_COUNTRY] = { 0 };
	uint32_t n_by[LAB_MAX_COUNTRY] = { 0 };
	for (uint32_t i = 0; i < m->n_res; i++) {
		struct resolver *r = &m->res[i];
		if (sc->live_layout) {
			r->country = (uint8_t)(i % sc->n_country);
			r->prof = (uint8_t)(i / sc->n_country);
		} else {
			r->country = (uint8_t)pick_share(&m->rng, &sc->country[0].share,
							 sc->n_country, sizeof(sc->country[0]));
			r->prof = (uint8_t)pick_share(&m->rng, &sc->profile[0].share, sc->n_profile,
						      sizeof(sc->profile[0]));
		}
		/* 100.64.0.0/10, one /24 each: ramps admit resolvers one by one. */
		r->addr[0] = 100;
		r->addr[1] = (uint8_t)(64 + ((i >> 8) & 63));
		r->addr[2] = (uint8_t)i;
		r->addr[3] = 1;
		n_by[r->country]++;
	}
	for (unsigned c = 0; c < sc->n_country; c++)
		by_country[c] = malloc(sizeof(uint32_t) * (n_by[c] ? n_by[c] : 1));
	memset(n_by, 0, sizeof(n_by));
	for (uint32_t i = 0; i < m->n_res; i++) {
		uint8_t c = m->res[i].country;
		if (by_country[c])
			by_country[c][n_by[c]++] = i;
	}
	for (uint32_t i = 0; i < m->n_sub; i++) {
		struct subnet *sn = &m->sub[i];
		sn->country = (uint8_t)pick_share(&m->rng, &sc->country[0].share, sc->n_country,
						  sizeof(sc->country[0]));
		uint8_t c = sn->country;
		if (sc->live_layout)
			sn->res = pick_share(&m->rng, &sc->profile[0].share, sc->n_profile,
					     sizeof(sc->profile[0])) * sc->n_country + c;
		else if (n_by[c] && by_country[c])
			sn->res = by_country[c][rand_below(&m->rng, n_by[c])];
		else
			sn->res = (uint32_t)rand_below(&m->rng, m->n_res);
		sn->addr[0] = 10;
		sn->addr[1] = (uint8_t)(i >> 8);
		sn->addr[2] = (uint8_t)i;
	}
	for (unsigned c = 0; c < sc->n_country; c++)
		free(by_country[c]);
	for (uint32_t c = 0; c < m->n_cli; c++) {
		m->cli_sub[c] = (uint32_t)rand_below(&m->rng, m->n_sub);
		wheel_put(m, c, (uint32_t)rand_below(&m->rng, sc->conn_interval));
	}
}

static void sim_start(struct sim *m)
{
	const struct lab_scenario *sc = m->sc;
	m->svc = sc->svc;
	m->svc.ep = sc->ep;
	m->health.n = sc->svc.n_ep;
	m->health.state = m->hv;
	m->admin.n = sc->svc.n_ep;
	m->admin.ep = m->adm_ep;
	for (unsigned e = 0; e < sc->svc.n_ep; e++) {
		m->up[e] = m->was_up[e] = true;
		m->hs[e].up = true;   /* HEALTH_ASSUMED, as after a first start */
		m->hv[e].up = true;
		/* Checks of different endpoints are not in step. */
		probe_next(m, e, rand_below(&m->rng, sc->interval_ms));
	}
	steer_admin_prepare(&m->admin);
	lab_route_init(&m->route, sc);
}

/* A run starts from steady state, not from empty caches that would all
 * expire in step: every entry is as old as a random part of its TTL.
 * Except the model of a live run: live mode's real resolvers start cold
 * and fetch the name at its first client's query, at second 0, so their
 * entries do expire in step (one resolver per kind and country: a floored
 * kind's single entry decides its whole tail). */
static void warm_entry(struct sim *m, struct entry *e)
{
	if (m->sc->live_layout)
		return;
	if (e->expire_ms > 1)
		e->expire_ms = 1000 * (1 + rand_below(&m->rng, e->expire_ms / 1000));
}

static void sim_warm(struct sim *m)
{
	for (uint32_t i = 0; i < m->n_sub; i++) {
		struct subnet *sn = &m->sub[i];
		struct resolver *r = &m->res[sn->res];
		const struct lab_profile *prof = &m->sc->profile[r->prof];
		if (!prof->ecs || r->shared.expire_ms)
			continue;
		ask_auth(m, sn, r, prof, 0, 0);
		warm_entry(m, &sn->scoped);
		warm_entry(m, &r->shared);
	}
	for (uint32_t i = 0; i < m->n_res; i++) {
		struct resolver *r = &m->res[i];
		const struct lab_profile *prof = &m->sc->profile[r->prof];
		if (prof->ecs && m->svc.ecs)
			continue;
		struct subnet none = { .res = i, .country = r->country };
		ask_auth(m, &none, r, prof, 0, 0);
		warm_entry(m, &r->shared);
	}
	m->s->auth[0] = 0;
}

/* The anycast scenario as DNS failover: no anycast, the same events but
 * withdraw and announce (which only routes have), the same measured event
 * when it is still there.  Its figures go into res->dns. */
static int run_dns_twin(const struct lab_scenario *sc, struct lab_result *res)
{
	struct lab_scenario *tw = malloc(sizeof(*tw));
	if (!tw)
		return VANE_ENOMEM;
	*tw = *sc;
	tw->svc.ep = tw->ep;
	memset(&tw->anycast, 0, sizeof(tw->anycast));
	tw->n_event = 0;
	tw->measure = -1;
	for (unsigned i = 0; i < sc->n_event; i++) {
		unsigned k = sc->event[i].kind;
		if (k == LAB_EV_WITHDRAW || k == LAB_EV_ANNOUNCE)
			continue;
		if ((int)i == sc->measure)
			tw->measure = (int)tw->n_event;
		tw->event[tw->n_event++] = sc->event[i];
	}
	struct lab_result r;
	int ret = lab_run(tw, &r, NULL, NULL);
	if (ret == 0) {
		res->dns.have = true;
		res->dns.rto95 = r.rto95;
		res->dns.rto99 = r.rto99;
		res->dns.rto100 = r.rto100;
		res->dns.tail = r.tail;
		res->dns.detect = r.detect;
		res->dns.auth_qps = r.auth_qps;
		res->dns.cost_month = r.cost_month;
		res->dns.fail_total = r.fail_total;
	}
	lab_result_free(&r);
	free(tw);
	return ret;
}

int lab_run(const struct lab_scenario *sc, struct lab_result *res,
	    lab_progress_fn progress, void *ctx)
{
	struct sim *m = calloc(1, sizeof(*m));
	memset(res, 0, sizeof(*res));
	if (!m)
		return VANE_ENOMEM;
	m->sc = sc;
	m->s = &res->s;
	m->rng = sc->seed ? sc->seed : 1;
	m->measure_ms = sc->measure >= 0 ? (uint64_t)sc->event[sc->measure].at * 1000 : UINT64_MAX;
	int ret = sim_alloc(m, &res->s);
	if (ret < 0)
		goto out;
	sim_start(m);
	sim_populate(m);
	sim_warm(m);
	int mep = sc->measure >= 0 ? sc->event[sc->measure].ep : -1;
	unsigned next_ev = 0;
	for (uint32_t t = 0; t <= sc->duration; t++) {
		uint64_t now = (uint64_t)t * 1000;
		while (next_ev < sc->n_event && sc->event[next_ev].at <= t)
			apply_event(m, &sc->event[next_ev++], now);
		health_advance(m, now);
		res->s.ramp_pct[t] = mep >= 0 && m->adm_ep[mep].ramp.active &&
				     steer_ramp_running(&m->adm_ep[mep].ramp, now)
				     ? (uint8_t)steer_ramp_percent(&m->adm_ep[mep].ramp, now)
				     : 100;
		uint32_t *head = &m->wheel[t & m->wheel_mask];
		uint32_t c = *head;
		*head = NONE;
		while (c != NONE) {
			uint32_t next = m->cli_next[c];
			client_step(m, c, t);
			c = next;
		}
		if (progress && (t % 16 == 0 || t == sc->duration))
			progress(ctx, (double)t / sc->duration);
	}
	if (sc->measure >= 0 && mep >= 0 && m->flip_ms[mep] >= (uint64_t)sc->event[sc->measure].at * 1000)
		res->detect = (double)(m->flip_ms[mep] - (uint64_t)sc->event[sc->measure].at * 1000) / 1000;
	else
		res->detect = -1;
	res->route_change = -1;
	if (m->route_moved)
		res->route_change = (double)(m->route_moved_ms - m->measure_ms) / 1000;
	ret = lab_measure(sc, res);
	if (ret == 0 && sc->anycast.n_site)
		ret = run_dns_twin(sc, res);
out:
	sim_free(m);
	free(m);
	return ret;
}

void lab_result_free(struct lab_result *res)
{
	struct lab_series *s = &res->s;
	free(s->conn);
	free(s->conn_prof);
	free(s->nx);
	free(s->fail);
	free(s->total);
	free(s->auth);
	free(s->ramp_pct);
	memset(s, 0, sizeof(*s));
}

double lab_shift_time(const double *rem, uint32_t from, uint32_t to, double p)
{
	double limit = 1.0 - p;
	uint32_t last_bad = NONE;
	for (uint32_t t = from; t < to; t++) {
		bool bad = p >= 1.0 ? rem[t] > 0 : rem[t] > limit + 1e-9;
		if (bad)
			last_bad = t;
	}
	if (last_bad == NONE)
		return 0;
	if (last_bad + 1 >= to)
		return -1;
	return (double)(last_bad + 1 - from);
}

double lab_mean_u32(const uint32_t *v, uint32_t from, uint32_t to, unsigned stride,
		    unsigned off)
{
	if (to <= from)
		return 0;
	double sum = 0;
	for (uint32_t t = from; t < to; t++)
		sum += v[(size_t)t * stride + off];
	return sum / (to - from);
}

static const char *const event_names[LAB_EV_COUNT] = {
	[LAB_EV_DOWN] = "down", [LAB_EV_UP] = "up", [LAB_EV_DRAIN] = "drain",
	[LAB_EV_UNDRAIN] = "undrain", [LAB_EV_WEIGHT] = "weight", [LAB_EV_RAMP] = "ramp",
	[LAB_EV_DELETE] = "delete", [LAB_EV_RESTORE] = "restore", [LAB_EV_TTL] = "ttl",
	[LAB_EV_RELOAD] = "reload", [LAB_EV_WITHDRAW] = "withdraw",
	[LAB_EV_ANNOUNCE] = "announce",
};

const char *lab_event_name(unsigned kind)
{
	return kind < LAB_EV_COUNT ? event_names[kind] : "?";
}

int lab_event_from_name(const char *name)
{
	for (unsigned i = 0; i < LAB_EV_COUNT; i++)
		if (strcmp(name, event_names[i]) == 0)
			return (int)i;
	return -1;
}
