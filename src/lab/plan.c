/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `vanectl plan-change`: a scenario from the running config (plan.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lab/metrics.h"
#include "lab/plan.h"
#include "resolver/cache.h"

#define EVENT_AT 600              /* warm caches, and a baseline minute */
#define AFTER 1800                /* the 30 minutes the plan looks at */

static const struct conf_service *find_service(const struct vane_conf *conf, const char *name)
{
	size_t n = strlen(name);
	if (n && name[n - 1] == '.')
		n--;
	for (unsigned i = 0; i < conf->nservices; i++) {
		const char *s = conf->services[i].name;
		size_t k = strlen(s);
		if (k && s[k - 1] == '.')
			k--;
		if (k == n && !strncasecmp(s, name, n))
			return &conf->services[i];
	}
	return NULL;
}

static const struct conf_check *find_check(const struct vane_conf *conf, const char *id)
{
	for (unsigned i = 0; id && i < conf->nchecks; i++)
		if (!strcmp(conf->checks[i].id, id))
			return &conf->checks[i];
	return NULL;
}

/* The service as the model's scenario: its endpoints, policy and check;
 * countries from the endpoints' locations, evenly. */
static int scenario_from(const struct vane_conf *conf, const struct conf_service *cs,
			 struct lab_scenario *sc, char *err, size_t errlen)
{
	lab_scenario_init(sc);
	snprintf(sc->name, sizeof(sc->name), "plan");
	sc->clients = LAB_PLAN_CLIENTS;
	sc->resolvers = LAB_PLAN_RESOLVERS;
	sc->svc.ttl = cs->ttl;
	sc->svc.ttl_degraded = cs->ttl_degraded;
	sc->svc.answers = (uint8_t)cs->answers;
	sc->svc.ecs = cs->ecs;
	if (cs->all_down) {
		int m = steer_all_down_from_name(cs->all_down);
		if (m >= 0)
			sc->svc.all_down = (uint8_t)m;
	}
	for (unsigned i = 0; i < cs->npolicy && i < STEER_MAX_POLICY; i++) {
		int f = steer_filter_from_name(cs->policy[i]);
		if (f < 0) {
			snprintf(err, errlen, "policy filter %s: not in the model", cs->policy[i]);
			return VANE_EINVAL;
		}
		sc->svc.policy[sc->svc.n_policy++] = (uint8_t)f;
	}
	if (cs->recovery && !strcmp(cs->recovery, "ramp")) {
		sc->svc.recovery_ramp = true;
		sc->svc.recovery_every_ms = cs->recovery_interval_ms;
		for (unsigned i = 0; i < cs->nrecovery_steps && i < STEER_MAX_RAMP; i++)
			sc->svc.recovery_steps[sc->svc.recovery_nsteps++] = (uint8_t)cs->recovery_steps[i];
	}
	unsigned n_country = 0;
	for (unsigned e = 0; e < cs->nendpoints && e < LAB_MAX_EP; e++) {
		const struct conf_endpoint *ce = &cs->endpoints[e];
		struct steer_endpoint *ep = &sc->ep[sc->svc.n_ep++];
		memset(ep, 0, sizeof(*ep));
		snprintf(ep->id, sizeof(ep->id), "%s", ce->id);
		if (ce->location.country)
			snprintf(ep->country, sizeof(ep->country), "%s", ce->location.country);
		if (ce->location.continent)
			snprintf(ep->continent, sizeof(ep->continent), "%s", ce->location.continent);
		ep->weight = ce->weight;
		ep->priority = (uint8_t)ce->priority;
		if (ce->standby) {
			int s = steer_standby_from_name(ce->standby);
			if (s >= 0)
				ep->standby = (uint8_t)s;
		}
		const struct conf_check *ck = find_check(conf, ce->check);
		if (ck && e == 0) {
			sc->interval_ms = ck->interval_ms;
			sc->timeout_ms = ck->timeout_ms;
			sc->rise = ck->rise;
			sc->fall = ck->fall;
		}
		bool seen = !ep->country[0];
		for (unsigned c = 0; c < n_country && !seen; c++)
			seen = !strcmp(sc->country[c].code, ep->country);
		if (!seen && n_country < LAB_MAX_COUNTRY) {
			struct lab_country *c = &sc->country[n_country++];
			memcpy(c->code, ep->country, sizeof(c->code));
			memcpy(c->continent, ep->continent, sizeof(c->continent));
			c->share = 1;
		}
	}
	if (n_country)
		sc->n_country = n_country;
	if (sc->timeout_ms >= sc->interval_ms)
		sc->timeout_ms = sc->interval_ms / 2;
	return 0;
}

static int endpoint_index(const struct lab_scenario *sc, const char *id)
{
	for (unsigned e = 0; e < sc->svc.n_ep; e++)
		if (!strcmp(sc->ep[e].id, id))
			return (int)e;
	return -1;
}

/* The remaining share at `t` seconds after the event: a 30 s mean, as a
 * second alone is noisy. */
static double left_at(const double *rem, uint32_t n, uint32_t t)
{
	uint32_t from = t >= 15 ? t - 15 : 0, to = t + 15 < n ? t + 15 : n;
	double sum = 0;
	for (uint32_t i = from; i < to; i++)
		sum += rem[i];
	return to > from ? sum / (to - from) : 0;
}

int lab_plan_change(const struct vane_conf *conf, const char *service, long new_ttl,
		    const char *drain, struct lab_plan *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	const struct conf_service *cs = find_service(conf, service);
	if (!cs) {
		snprintf(err, errlen, "no service %s", service);
		return VANE_ENOENT;
	}
	if ((new_ttl >= 0) == (drain != NULL)) {
		snprintf(err, errlen, "give one change: --new-ttl SECONDS or --drain ENDPOINT");
		return VANE_EINVAL;
	}
	if (new_ttl > 604800) {
		snprintf(err, errlen, "--new-ttl: at most 604800");
		return VANE_EINVAL;
	}
	struct lab_scenario *sc = malloc(sizeof(*sc));
	if (!sc)
		return VANE_ENOMEM;
	int ret = scenario_from(conf, cs, sc, err, errlen);
	if (ret < 0)
		goto out;
	if (sc->svc.n_ep == 0) {
		snprintf(err, errlen, "service %s has no endpoints", cs->name);
		ret = VANE_EINVAL;
		goto out;
	}
	snprintf(out->service, sizeof(out->service), "%s", cs->name);
	out->old_ttl = cs->ttl;
	out->new_ttl = new_ttl >= 0 ? (uint32_t)new_ttl : cs->ttl;
	int ep = 0;
	if (drain) {
		ep = endpoint_index(sc, drain);
		if (ep < 0) {
			snprintf(err, errlen, "no endpoint %s in %s", drain, cs->name);
			ret = VANE_ENOENT;
			goto out;
		}
	}
	/* The TTL: every answer handed out before the change lives as long
	 * as the old TTL as each kind stores it (floors included). */
	out->n_kind = sc->n_profile;
	for (unsigned p = 0; p < sc->n_profile; p++) {
		const struct lab_profile *pr = &sc->profile[p];
		struct lab_plan_kind *k = &out->kind[p];
		snprintf(k->name, sizeof(k->name), "%s", pr->name);
		k->share = pr->share;
		k->min_ttl = pr->min_ttl;
		k->old_held = cache_ttl_positive(out->old_ttl, pr->min_ttl, pr->max_ttl);
		k->new_held = cache_ttl_positive(out->new_ttl, pr->min_ttl, pr->max_ttl);
		if (k->old_held > out->safe_after)
			out->safe_after = k->old_held;
	}
	/* The event at the new TTL, caches warm with it. */
	sc->svc.ttl = out->new_ttl;
	sc->duration = EVENT_AT + AFTER + 60;
	sc->n_event = 1;
	sc->event[0] = (struct lab_event){ .at = EVENT_AT, .kind = drain ? LAB_EV_DRAIN : LAB_EV_DOWN,
					   .ep = ep };
	snprintf(out->event, sizeof(out->event), "%s", drain ? "drain" : "down");
	snprintf(out->endpoint, sizeof(out->endpoint), "%s", sc->ep[ep].id);
	if ((ret = lab_scenario_prepare(sc, err, errlen)) < 0)
		goto out;
	struct lab_result r;
	if ((ret = lab_run(sc, &r, NULL, NULL)) < 0) {
		snprintf(err, errlen, "model: %s", vane_strerror(ret));
		goto out;
	}
	out->clients = sc->clients;
	out->resolvers = sc->resolvers;
	out->detect_bound = sc->interval_ms / 1000.0 * sc->fall + sc->timeout_ms / 1000.0;
	out->rto95 = r.rto95;
	out->rto99 = r.rto99;
	out->rto100 = r.rto100;
	out->tail = r.tail;
	out->auth_qps = r.auth_qps;
	out->cost_month = r.cost_month;
	out->price = sc->price;
	double *rem = malloc(sizeof(double) * r.s.n_sec);
	if (rem) {
		lab_remaining(sc, &r, rem);
		out->left_1m = left_at(rem, r.s.n_sec, EVENT_AT + 60);
		out->left_5m = left_at(rem, r.s.n_sec, EVENT_AT + 300);
		out->left_30m = left_at(rem, r.s.n_sec, EVENT_AT + AFTER - 15);
		free(rem);
	}
	lab_result_free(&r);
	ret = 0;
out:
	free(sc);
	return ret;
}
