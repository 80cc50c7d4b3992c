/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Scenario defaults and checks (pure). */
#include <stdio.h>
#include <string.h>

#include "lab/model.h"

#define MEASURE_AUTO (-2)

/* The brief's population: most resolvers honour TTLs; some ISPs hold every
 * record at least five minutes; a few hold them for an hour. */
static const struct lab_profile default_population[] = {
	{ .name = "compliant", .share = 0.70, .neg_max_ttl = 10800 },     /* BIND's max-ncache-ttl */
	{ .name = "rogue-isp", .share = 0.15, .min_ttl = 300 },
	{ .name = "unbound-like", .share = 0.10, .neg_max_ttl = 3600 },   /* cache-max-negative-ttl */
	{ .name = "floor-3600", .share = 0.05, .min_ttl = 3600 },
};

void lab_scenario_init(struct lab_scenario *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->duration = 1800;
	sc->clients = 100000;
	sc->resolvers = 1000;
	sc->conn_interval = 60;
	sc->retry = 5;
	sc->seed = 1;
	sc->price = 0.40;
	sc->window = 60;
	sc->measure = MEASURE_AUTO;
	sc->n_country = 2;
	sc->country[0] = (struct lab_country){ .code = "US", .continent = "NA", .share = 0.5 };
	sc->country[1] = (struct lab_country){ .code = "DE", .continent = "EU", .share = 0.5 };
	sc->n_profile = sizeof(default_population) / sizeof(default_population[0]);
	memcpy(sc->profile, default_population, sizeof(default_population));
	steer_service_init(&sc->svc);
	sc->interval_ms = 5000;
	sc->timeout_ms = 2000;
	sc->rise = 2;
	sc->fall = 3;
	sc->soa_ttl = 3600;
	sc->soa_min = 900;
	sc->neg_cap = true;
}

static bool measurable(unsigned kind)
{
	return kind == LAB_EV_DOWN || kind == LAB_EV_DRAIN || kind == LAB_EV_RESTORE ||
	       kind == LAB_EV_UP || kind == LAB_EV_UNDRAIN || kind == LAB_EV_WITHDRAW ||
	       kind == LAB_EV_ANNOUNCE;
}

static bool is_site(const struct lab_scenario *sc, int ep)
{
	for (unsigned i = 0; i < sc->anycast.n_site; i++)
		if (sc->anycast.site[i] == ep)
			return true;
	return false;
}

int lab_scenario_prepare(struct lab_scenario *sc, char *err, size_t errlen)
{
	if (sc->svc.n_ep == 0) {
		snprintf(err, errlen, "a scenario needs endpoints");
		return VANE_EINVAL;
	}
	if (sc->timeout_ms >= sc->interval_ms) {
		snprintf(err, errlen, "check: the timeout must be shorter than the interval");
		return VANE_EINVAL;
	}
	for (unsigned i = 0; i < sc->n_event; i++) {
		const struct lab_event *ev = &sc->event[i];
		bool route = ev->kind == LAB_EV_WITHDRAW || ev->kind == LAB_EV_ANNOUNCE;
		bool needs_ep = ev->kind <= LAB_EV_RAMP || route;
		if (needs_ep && ev->ep < 0) {
			snprintf(err, errlen, "event %u (%s): needs an endpoint", i + 1,
				 lab_event_name(ev->kind));
			return VANE_EINVAL;
		}
		if (route && !is_site(sc, ev->ep)) {
			snprintf(err, errlen, "event %u (%s): %s is not an anycast site", i + 1,
				 lab_event_name(ev->kind), sc->ep[ev->ep].id);
			return VANE_EINVAL;
		}
		if (ev->kind == LAB_EV_RAMP && ev->nsteps == 0) {
			snprintf(err, errlen, "event %u (ramp): needs steps", i + 1);
			return VANE_EINVAL;
		}
		if (i && ev->at < sc->event[i - 1].at) {
			snprintf(err, errlen, "event %u: events must be in time order", i + 1);
			return VANE_EINVAL;
		}
	}
	if (sc->measure == MEASURE_AUTO) {
		/* The last change of who answers: the evacuation, the restore
		 * after a delete, the return after an outage. */
		sc->measure = -1;
		for (unsigned i = 0; i < sc->n_event; i++)
			if (measurable(sc->event[i].kind))
				sc->measure = (int)i;
	} else if (sc->measure >= (int)sc->n_event || !measurable(sc->event[sc->measure].kind)) {
		snprintf(err, errlen, "measure: event %d is not a down, drain, up, undrain, restore, "
			 "withdraw or announce",
			 sc->measure);
		return VANE_EINVAL;
	}
	if (sc->svc.n_policy == 0) {
		sc->svc.policy[0] = STEER_F_HEALTH;
		sc->svc.policy[1] = STEER_F_GEO;
		sc->svc.n_policy = 2;
	}
	if (sc->svc.recovery_ramp && !sc->svc.recovery_every_ms)
		sc->svc.recovery_every_ms = 60000;
	for (unsigned i = 0; i < sc->svc.n_ep; i++) {
		struct steer_endpoint *e = &sc->ep[i];
		e->n_v4 = 1;
		e->v4[0][0] = 192;
		e->v4[0][1] = 0;
		e->v4[0][2] = 2;
		e->v4[0][3] = (uint8_t)(i + 1);
		e->health = i;
		e->check = 0;
	}
	sc->svc.ep = sc->ep;
	static const char n[] = "\x03" "lab" "\x07" "example" "\x00";
	sc->svc.name_len = 13;
	memcpy(sc->svc.name, n, 13);
	int ret = steer_service_prepare(&sc->svc);
	if (ret < 0)
		snprintf(err, errlen, "service: %s", vane_strerror(ret));
	return ret;
}
