/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The plan: per service, what a PowerDNS provider keeps of vaned's
 * steering.  The lowest common denominator, written down instead of
 * discovered in an incident.  Each line matches what translate.c does.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "provider/translate.h"

const char *prov_fidelity_name(enum prov_fidelity f)
{
	switch (f) {
	case PROV_EXACT: return "exact";
	case PROV_APPROX: return "approximate";
	default: return "lost";
	}
}

struct plan {
	struct prov_plan_item *items;
	unsigned n, max;
};

static void add(struct plan *p, const char *feature, enum prov_fidelity f, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void add(struct plan *p, const char *feature, enum prov_fidelity f, const char *fmt, ...)
{
	if (p->n >= p->max)
		return;
	struct prov_plan_item *it = &p->items[p->n++];
	it->feature = feature;
	it->fidelity = f;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(it->text, sizeof(it->text), fmt, ap);
	va_end(ap);
}

/* The check shared by every endpoint, when ifportup/ifurlup can run it. */
static const char *probe_kind(const struct vane_conf *conf, const struct conf_service *svc,
			      bool *weights_equal)
{
	const char *id = NULL;
	*weights_equal = true;
	for (unsigned e = 0; e < svc->nendpoints; e++) {
		const struct conf_endpoint *ep = &svc->endpoints[e];
		if (ep->weight != svc->endpoints[0].weight)
			*weights_equal = false;
		if (!ep->check || ep->check_address || (id && strcmp(id, ep->check)))
			return NULL;
		id = ep->check;
	}
	for (unsigned i = 0; id && i < conf->nchecks; i++) {
		const struct conf_check *c = &conf->checks[i];
		if (strcmp(c->id, id))
			continue;
		if (!strcmp(c->type, "tcp"))
			return "ifportup";
		if (!strcmp(c->type, "http") && !c->body && !c->expect)
			return "ifurlup";
	}
	return NULL;
}

unsigned prov_plan(const struct vane_conf *conf, const struct conf_service *svc,
		   struct prov_plan_item *items, unsigned max)
{
	struct plan p = { .items = items, .max = max };
	bool geo = prov_policy_has(svc, "geo"), weighted = prov_policy_has(svc, "weighted");
	bool equal, coords = false, cname = false;
	const char *probe = probe_kind(conf, svc, &equal);
	for (unsigned e = 0; e < svc->nendpoints; e++) {
		coords |= svc->endpoints[e].location.has_lat;
		cname |= svc->endpoints[e].cname != NULL;
	}

	if (prov_policy_has(svc, "health")) {
		if (probe && svc->answers == 1 && equal)
			add(&p, "health", PROV_EXACT, "%s, as vaned's check; vaned's verdict also "
			    "removes a failed endpoint at once (push)", probe);
		else
			add(&p, "health", PROV_APPROX, "applied by vaned's pushes: a failed endpoint "
			    "leaves the record on the next push; the provider does not probe%s",
			    probe ? " (weights differ: pickwrandom cannot probe)" :
				    " (only tcp and plain http checks map to ifportup/ifurlup)");
	}
	if (geo) {
		if (coords && svc->answers != 1)
			add(&p, "geo", PROV_APPROX, "country() then continent(), as vaned; nearest "
			    "first by coordinates: not supported, the order is lost");
		else
			add(&p, "geo", PROV_EXACT, "country() then continent(), as vaned (exact when "
			    "the provider's geoip backend uses the same database)");
	}
	if (weighted) {
		if (svc->answers == 1)
			add(&p, "weighted", PROV_EXACT, "pickwrandom with vaned's weights");
		else
			add(&p, "weighted", PROV_APPROX, "answers %u: every eligible address, "
			    "weights not applied", svc->answers);
	}
	if (svc->sticky && !strcmp(svc->sticky, "subnet"))
		add(&p, "sticky", PROV_LOST, "sticky: not kept; pickwrandom draws per query");
	if (prov_policy_has(svc, "latency"))
		add(&p, "latency", PROV_LOST, "latency: not supported, falls back to %s",
		    geo ? "geo" : weighted ? "weights" : "all eligible endpoints");
	if (prov_policy_has(svc, "priority"))
		add(&p, "priority", PROV_EXACT, "the best live tier, chosen by vaned at each push");
	if (prov_policy_has(svc, "shed"))
		add(&p, "shed", PROV_LOST, "shed: not supported (load reports are not pushed)");
	add(&p, "drain", PROV_EXACT, "a drain or undrain is a record update");
	add(&p, "ramp", PROV_APPROX, "ramp: applied as weight steps, one push per step");
	if (svc->ecs)
		add(&p, "ecs", PROV_APPROX, "ECS scope: provider's own");
	if (svc->ttl_degraded)
		add(&p, "ttl-degraded", PROV_EXACT, "pushed as the record's TTL while degraded");
	if (svc->all_down && strcmp(svc->all_down, "open"))
		add(&p, "all-down", PROV_LOST, "all-down %s: the provider answers every endpoint "
		    "that is not drained instead", svc->all_down);
	if (cname)
		add(&p, "cname", PROV_LOST, "cname endpoints: not translated, left out");
	return p.n;
}
