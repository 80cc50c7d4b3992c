/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Scenario files: YAML (libyaml's document API) into struct lab_scenario,
 * and the defaults and checks of a scenario.  The keys are listed in
 * docs/vane-lab.1; unknown keys are errors, so a typo does not silently
 * run a different experiment.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lab/scenario.h"

struct yp {
	yaml_document_t *doc;
	char *err;
	size_t errlen;
	int ret;
};

static yaml_node_t *node(struct yp *p, int id)
{
	return yaml_document_get_node(p->doc, id);
}

static int fail(struct yp *p, const yaml_node_t *n, const char *fmt, const char *what)
{
	if (p->ret == 0) {
		char msg[256];
		snprintf(msg, sizeof(msg), fmt, what);
		snprintf(p->err, p->errlen, "line %lu: %s",
			 n ? (unsigned long)n->start_mark.line + 1 : 0ul, msg);
		p->ret = VANE_EINVAL;
	}
	return p->ret;
}

static const char *scalar(struct yp *p, const yaml_node_t *n, const char *key)
{
	if (!n || n->type != YAML_SCALAR_NODE) {
		fail(p, n, "%s: expected a scalar", key);
		return "";
	}
	return (const char *)n->data.scalar.value;
}

static double num(struct yp *p, const yaml_node_t *n, const char *key, double lo, double hi)
{
	const char *s = scalar(p, n, key);
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < lo || v > hi) {
		fail(p, n, "%s: not a number in range", key);
		return lo;
	}
	return v;
}

static bool flag(struct yp *p, const yaml_node_t *n, const char *key)
{
	const char *s = scalar(p, n, key);
	if (!strcmp(s, "on") || !strcmp(s, "true") || !strcmp(s, "yes"))
		return true;
	if (!strcmp(s, "off") || !strcmp(s, "false") || !strcmp(s, "no"))
		return false;
	fail(p, n, "%s: expected on or off", key);
	return false;
}

static void text(struct yp *p, const yaml_node_t *n, const char *key, char *dst, size_t len)
{
	const char *s = scalar(p, n, key);
	if (strlen(s) >= len)
		fail(p, n, "%s: too long", key);
	else
		strcpy(dst, s);
}

/* Calls `fn` for each key/value of a mapping. */
typedef void (*pair_fn)(struct yp *p, const char *key, yaml_node_t *v, void *dst);

static void each_pair(struct yp *p, yaml_node_t *map, const char *what, pair_fn fn, void *dst)
{
	if (!map || map->type != YAML_MAPPING_NODE) {
		fail(p, map, "%s: expected a map", what);
		return;
	}
	for (yaml_node_pair_t *kv = map->data.mapping.pairs.start;
	     kv < map->data.mapping.pairs.top && p->ret == 0; kv++) {
		yaml_node_t *k = node(p, kv->key);
		fn(p, scalar(p, k, what), node(p, kv->value), dst);
	}
}

static yaml_node_item_t *items(struct yp *p, yaml_node_t *seq, const char *what, size_t *n)
{
	if (!seq || seq->type != YAML_SEQUENCE_NODE) {
		fail(p, seq, "%s: expected a list", what);
		*n = 0;
		return NULL;
	}
	*n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	return seq->data.sequence.items.start;
}

static void steps(struct yp *p, yaml_node_t *seq, uint8_t *out, uint8_t *n)
{
	size_t k;
	yaml_node_item_t *it = items(p, seq, "steps", &k);
	if (k == 0 || k > STEER_MAX_RAMP) {
		fail(p, seq, "%s: 1 to 8 percentages", "steps");
		return;
	}
	for (size_t i = 0; i < k; i++)
		out[i] = (uint8_t)num(p, node(p, it[i]), "steps", 0, 100);
	*n = (uint8_t)k;
}

static void country_pair(struct yp *p, const char *key, yaml_node_t *v, void *dst)
{
	struct lab_country *c = dst;
	if (!strcmp(key, "code"))
		text(p, v, key, c->code, sizeof(c->code));
	else if (!strcmp(key, "continent"))
		text(p, v, key, c->continent, sizeof(c->continent));
	else if (!strcmp(key, "share"))
		c->share = num(p, v, key, 0, 1e9);
	else
		fail(p, v, "countries: unknown key %s", key);
}

static void profile_pair(struct yp *p, const char *key, yaml_node_t *v, void *dst)
{
	struct lab_profile *r = dst;
	if (!strcmp(key, "name"))
		text(p, v, key, r->name, sizeof(r->name));
	else if (!strcmp(key, "share"))
		r->share = num(p, v, key, 0, 1e9);
	else if (!strcmp(key, "min-ttl"))
		r->min_ttl = (uint32_t)num(p, v, key, 0, 604800);
	else if (!strcmp(key, "max-ttl"))
		r->max_ttl = (uint32_t)num(p, v, key, 0, 604800);
	else if (!strcmp(key, "negative-max-ttl"))
		r->neg_max_ttl = (uint32_t)num(p, v, key, 0, 604800);
	else if (!strcmp(key, "ecs"))
		r->ecs = flag(p, v, key);
	else if (!strcmp(key, "software")) {
		text(p, v, key, r->software, sizeof(r->software));
		if (strcmp(r->software, "vane-resolver") && strcmp(r->software, "unbound"))
			fail(p, v, "%s: vane-resolver or unbound", key);
	} else
		fail(p, v, "population: unknown key %s", key);
}

static void endpoint_pair(struct yp *p, const char *key, yaml_node_t *v, void *dst)
{
	struct steer_endpoint *e = dst;
	if (!strcmp(key, "id"))
		text(p, v, key, e->id, sizeof(e->id));
	else if (!strcmp(key, "country"))
		text(p, v, key, e->country, sizeof(e->country));
	else if (!strcmp(key, "continent"))
		text(p, v, key, e->continent, sizeof(e->continent));
	else if (!strcmp(key, "weight"))
		e->weight = (uint32_t)num(p, v, key, 0, STEER_WEIGHT_MAX);
	else if (!strcmp(key, "priority"))
		e->priority = (uint8_t)num(p, v, key, 0, 255);
	else if (!strcmp(key, "standby")) {
		int s = steer_standby_from_name(scalar(p, v, key));
		if (s < 0)
			fail(p, v, "%s: auto or never", key);
		else
			e->standby = (uint8_t)s;
	} else
		fail(p, v, "endpoints: unknown key %s", key);
}

static int endpoint_index(struct lab_scenario *sc, const char *id)
{
	for (unsigned i = 0; i < sc->svc.n_ep; i++)
		if (!strcmp(sc->ep[i].id, id))
			return (int)i;
	return -1;
}

static void anycast_pair(struct yp *p, const char *key, yaml_node_t *v, void *dst)
{
	struct lab_scenario *sc = dst;
	struct lab_anycast *a = &sc->anycast;
	if (!strcmp(key, "convergence")) {
		a->convergence_ms = (uint32_t)(num(p, v, key, 0, 3600) * 1000);
	} else if (!strcmp(key, "sites")) {
		size_t n;
		yaml_node_item_t *it = items(p, v, key, &n);
		if (n == 0)
			fail(p, v, "%s: at least one endpoint", key);
		for (size_t i = 0; i < n && p->ret == 0; i++) {
			const char *id = scalar(p, node(p, it[i]), key);
			int e = endpoint_index(sc, id);
			if (e < 0)
				fail(p, node(p, it[i]), "sites: no endpoint %s", id);
			for (unsigned k = 0; k < a->n_site && p->ret == 0; k++)
				if (a->site[k] == e)
					fail(p, node(p, it[i]), "sites: %s twice", id);
			if (p->ret == 0)
				a->site[a->n_site++] = (uint8_t)e;
		}
	} else
		fail(p, v, "anycast: unknown key %s", key);
}

struct ev_ctx {
	struct lab_scenario *sc;
	struct lab_event *ev;
};

static void event_pair(struct yp *p, const char *key, yaml_node_t *v, void *dst)
{
	struct ev_ctx *c = dst;
	struct lab_event *ev = c->ev;
	if (!strcmp(key, "at"))
		ev->at = (uint32_t)num(p, v, key, 0, 30 * 86400);
	else if (!strcmp(key, "do")) {
		int k = lab_event_from_name(scalar(p, v, key));
		if (k < 0)
			fail(p, v, "do: unknown event %s", scalar(p, v, key));
		else
			ev->kind = (uint8_t)k;
	} else if (!strcmp(key, "endpoint")) {
		const char *id = scalar(p, v, key);
		ev->ep = -1;
		for (unsigned i = 0; i < c->sc->svc.n_ep; i++)
			if (!strcmp(c->sc->ep[i].id, id))
				ev->ep = (int)i;
		if (ev->ep < 0)
			fail(p, v, "endpoint: no endpoint %s (list endpoints first)", id);
	} else if (!strcmp(key, "weight") || !strcmp(key, "ttl"))
		ev->value = (uint32_t)num(p, v, key, 0, STEER_WEIGHT_MAX);
	else if (!strcmp(key, "steps"))
		steps(p, v, ev->steps, &ev->nsteps);
	else if (!strcmp(key, "every"))
		ev->every = (uint32_t)num(p, v, key, 1, 86400);
	else if (!strcmp(key, "force"))
		ev->unforced = !flag(p, v, key);
	else
		fail(p, v, "events: unknown key %s", key);
}

static void check_pair(struct yp *p, const char *key, yaml_node_t *v, void *dst)
{
	struct lab_scenario *sc = dst;
	if (!strcmp(key, "interval"))
		sc->interval_ms = (uint32_t)(num(p, v, key, 0.1, 3600) * 1000);
	else if (!strcmp(key, "timeout"))
		sc->timeout_ms = (uint32_t)(num(p, v, key, 0.001, 3600) * 1000);
	else if (!strcmp(key, "rise"))
		sc->rise = (uint32_t)num(p, v, key, 1, 100);
	else if (!strcmp(key, "fall"))
		sc->fall = (uint32_t)num(p, v, key, 1, 100);
	else
		fail(p, v, "check: unknown key %s", key);
}

static void soa_pair(struct yp *p, const char *key, yaml_node_t *v, void *dst)
{
	struct lab_scenario *sc = dst;
	if (!strcmp(key, "ttl"))
		sc->soa_ttl = (uint32_t)num(p, v, key, 0, 604800);
	else if (!strcmp(key, "minimum"))
		sc->soa_min = (uint32_t)num(p, v, key, 0, 604800);
	else
		fail(p, v, "soa: unknown key %s", key);
}

static void recovery_pair(struct yp *p, const char *key, yaml_node_t *v, void *dst)
{
	struct steer_service *svc = dst;
	if (!strcmp(key, "steps"))
		steps(p, v, svc->recovery_steps, &svc->recovery_nsteps);
	else if (!strcmp(key, "every"))
		svc->recovery_every_ms = (uint32_t)num(p, v, key, 1, 86400) * 1000;
	else
		fail(p, v, "recovery: unknown key %s", key);
	svc->recovery_ramp = true;
}

static void service_pair(struct yp *p, const char *key, yaml_node_t *v, void *dst)
{
	struct lab_scenario *sc = dst;
	struct steer_service *svc = &sc->svc;
	if (!strcmp(key, "ttl"))
		svc->ttl = (uint32_t)num(p, v, key, 0, 604800);
	else if (!strcmp(key, "answers"))
		svc->answers = (uint8_t)num(p, v, key, 0, STEER_MAX_ENDPOINTS);
	else if (!strcmp(key, "ecs"))
		svc->ecs = flag(p, v, key);
	else if (!strcmp(key, "negative-cap"))
		sc->neg_cap = flag(p, v, key);
	else if (!strcmp(key, "all-down")) {
		int m = steer_all_down_from_name(scalar(p, v, key));
		if (m < 0)
			fail(p, v, "%s: open, empty or servfail", key);
		else
			svc->all_down = (uint8_t)m;
	} else if (!strcmp(key, "policy")) {
		size_t n;
		yaml_node_item_t *it = items(p, v, key, &n);
		if (n > STEER_MAX_POLICY)
			fail(p, v, "%s: too many filters", key);
		for (size_t i = 0; i < n && p->ret == 0; i++) {
			int f = steer_filter_from_name(scalar(p, node(p, it[i]), key));
			if (f < 0)
				fail(p, node(p, it[i]), "policy: unknown filter %s",
				     scalar(p, node(p, it[i]), key));
			svc->policy[i] = (uint8_t)f;
		}
		svc->n_policy = (uint8_t)n;
	} else if (!strcmp(key, "recovery"))
		each_pair(p, v, key, recovery_pair, svc);
	else if (!strcmp(key, "check"))
		each_pair(p, v, key, check_pair, sc);
	else if (!strcmp(key, "soa"))
		each_pair(p, v, key, soa_pair, sc);
	else
		fail(p, v, "service: unknown key %s", key);
}

static void top_pair(struct yp *p, const char *key, yaml_node_t *v, void *dst)
{
	struct lab_scenario *sc = dst;
	size_t n;
	yaml_node_item_t *it;
	if (!strcmp(key, "name"))
		text(p, v, key, sc->name, sizeof(sc->name));
	else if (!strcmp(key, "description"))
		text(p, v, key, sc->description, sizeof(sc->description));
	else if (!strcmp(key, "duration"))
		sc->duration = (uint32_t)num(p, v, key, 1, 7 * 86400);
	else if (!strcmp(key, "clients"))
		sc->clients = (uint32_t)num(p, v, key, 1, 1e8);
	else if (!strcmp(key, "resolvers"))
		sc->resolvers = (uint32_t)num(p, v, key, 1, 16384);
	else if (!strcmp(key, "conn-interval"))
		sc->conn_interval = (uint32_t)num(p, v, key, 1, 86400);
	else if (!strcmp(key, "retry"))
		sc->retry = (uint32_t)num(p, v, key, 1, 3600);
	else if (!strcmp(key, "seed"))
		sc->seed = (uint64_t)num(p, v, key, 0, 1e18);
	else if (!strcmp(key, "price"))
		sc->price = num(p, v, key, 0, 1e6);
	else if (!strcmp(key, "window"))
		sc->window = (uint32_t)num(p, v, key, 1, 86400);
	else if (!strcmp(key, "live-clients"))
		sc->live_clients = (uint32_t)num(p, v, key, 1, 100000);
	else if (!strcmp(key, "measure"))
		sc->measure = (int)num(p, v, key, 0, LAB_MAX_EVENT - 1);
	else if (!strcmp(key, "service"))
		each_pair(p, v, key, service_pair, sc);
	else if (!strcmp(key, "countries")) {
		it = items(p, v, key, &n);
		if (n == 0 || n > LAB_MAX_COUNTRY)
			fail(p, v, "%s: 1 to 32 countries", key);
		sc->n_country = 0;
		for (size_t i = 0; i < n && p->ret == 0; i++)
			each_pair(p, node(p, it[i]), key, country_pair, &sc->country[sc->n_country++]);
	} else if (!strcmp(key, "population")) {
		it = items(p, v, key, &n);
		if (n == 0 || n > LAB_MAX_PROFILE)
			fail(p, v, "%s: 1 to 8 kinds of resolver", key);
		sc->n_profile = 0;
		for (size_t i = 0; i < n && p->ret == 0; i++) {
			struct lab_profile *r = &sc->profile[sc->n_profile++];
			memset(r, 0, sizeof(*r));
			each_pair(p, node(p, it[i]), key, profile_pair, r);
		}
	} else if (!strcmp(key, "endpoints")) {
		it = items(p, v, key, &n);
		if (n == 0 || n > LAB_MAX_EP)
			fail(p, v, "%s: 1 to 16 endpoints", key);
		for (size_t i = 0; i < n && p->ret == 0; i++) {
			struct steer_endpoint *e = &sc->ep[sc->svc.n_ep++];
			memset(e, 0, sizeof(*e));
			e->weight = 1;
			each_pair(p, node(p, it[i]), key, endpoint_pair, e);
		}
	} else if (!strcmp(key, "anycast")) {
		each_pair(p, v, key, anycast_pair, sc);
		/* No list: every endpoint is a site. */
		if (p->ret == 0 && sc->anycast.n_site == 0)
			for (unsigned i = 0; i < sc->svc.n_ep; i++)
				sc->anycast.site[sc->anycast.n_site++] = (uint8_t)i;
	} else if (!strcmp(key, "events")) {
		it = items(p, v, key, &n);
		if (n > LAB_MAX_EVENT)
			fail(p, v, "%s: at most 64 events", key);
		for (size_t i = 0; i < n && p->ret == 0; i++) {
			struct lab_event *ev = &sc->event[sc->n_event++];
			memset(ev, 0, sizeof(*ev));
			ev->ep = -1;
			ev->every = 60;
			struct ev_ctx c = { sc, ev };
			each_pair(p, node(p, it[i]), key, event_pair, &c);
		}
	} else
		fail(p, v, "unknown key %s", key);
}

int lab_scenario_load(const char *path, struct lab_scenario *sc, char *err, size_t errlen)
{
	lab_scenario_init(sc);
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return VANE_ENOENT;
	}
	yaml_parser_t parser;
	yaml_document_t doc;
	int ret = 0;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "%s:%lu: %s", path, (unsigned long)parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "YAML error");
		yaml_parser_delete(&parser);
		fclose(f);
		return VANE_EINVAL;
	}
	/* Events and anycast sites name endpoints, so endpoints are read first. */
	struct yp p = { .doc = &doc, .err = err, .errlen = errlen };
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root || root->type != YAML_MAPPING_NODE) {
		fail(&p, root, "%s", "a scenario is a map");
	} else {
		for (int pass = 0; pass < 2 && p.ret == 0; pass++) {
			for (yaml_node_pair_t *kv = root->data.mapping.pairs.start;
			     kv < root->data.mapping.pairs.top && p.ret == 0; kv++) {
				const char *k = scalar(&p, node(&p, kv->key), "key");
				bool late = !strcmp(k, "events") || !strcmp(k, "anycast");
				if ((pass == 0) == !late)
					top_pair(&p, k, node(&p, kv->value), sc);
			}
		}
	}
	ret = p.ret;
	if (ret < 0) {
		char tmp[512];
		snprintf(tmp, sizeof(tmp), "%s:%s", path, err);
		snprintf(err, errlen, "%s", tmp);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	if (ret == 0 && !sc->name[0]) {
		const char *base = strrchr(path, '/');
		base = base ? base + 1 : path;
		snprintf(sc->name, sizeof(sc->name), "%.*s", (int)strcspn(base, "."), base);
	}
	return ret ? ret : lab_scenario_prepare(sc, err, errlen);
}
