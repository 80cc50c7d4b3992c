/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * conf->services into a prepared steer_set (see build.h).
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/pkt.h"
#include "lib/report.h"
#include "steer/build.h"

void steer_ep_key(const struct steer_service *svc, const struct steer_endpoint *ep,
		  char *buf, size_t size)
{
	char name[DNAME_MAXSTR];
	dname_to_str(svc->name, name, sizeof(name));
	size_t n = strlen(name);
	if (n > 1 && name[n - 1] == '.')
		name[n - 1] = '\0';
	snprintf(buf, size, "%s/%s", name, ep->id);
}

/* A configured zone (served or not) that contains `name`. */
static bool in_configured_zone(const struct vane_conf *conf, const uint8_t *name)
{
	uint8_t apex[DNAME_MAXLEN];
	for (unsigned i = 0; i < conf->nzones; i++) {
		if (dname_from_str(conf->zones[i].name, NULL, apex) <= 0)
			continue;
		dname_lower(apex);
		if (dname_is_sub(name, apex))
			return true;
	}
	return false;
}

/* The zone rules of one service name (RFC 1034 4.3.2: data at or below a
 * cut is not ours to answer; a CNAME owner has no other data, RFC 2181 10.1). */
static void check_zone(struct report *b, const struct vane_conf *conf, const struct zone_db *db,
		       const struct conf_service *cs, unsigned s, const uint8_t *name)
{
	const struct zone *z = zone_db_find(db, name);
	if (!z) {
		if (!in_configured_zone(conf, name))
			report_error(b, cs->line, "services[%u].name: %s is not inside any served zone",
			     s, cs->name);
		return;
	}
	char cut[DNAME_MAXSTR];
	for (const uint8_t *n = name; dname_len(n) >= z->apex_len; n = dname_parent(n)) {
		const struct znode *node = zone_find(z, n, dname_len(n));
		if (!node) {
			if (n[0] == 0)
				break;
			continue;
		}
		if (node->cut) {
			report_error(b, cs->line, "services[%u].name: %s is at or below the delegation %s",
			     s, cs->name, dname_to_str(node->cut->name, cut, sizeof(cut)));
			return;
		}
		if (n == name && znode_rrset(node, DNS_CNAME))
			report_error(b, cs->line, "services[%u].name: %s has a CNAME in the zone", s, cs->name);
		break;
	}
}

static void fill_endpoint(const struct vane_conf *conf, const struct conf_endpoint *ce,
			  struct steer_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	snprintf(ep->id, sizeof(ep->id), "%s", ce->id);
	for (unsigned i = 0; i < ce->naddress; i++) {
		if (ep->n_v4 < STEER_MAX_ADDRS && inet_pton(AF_INET, ce->address[i], ep->v4[ep->n_v4]) == 1)
			ep->n_v4++;
		else if (ep->n_v6 < STEER_MAX_ADDRS &&
			 inet_pton(AF_INET6, ce->address[i], ep->v6[ep->n_v6]) == 1)
			ep->n_v6++;
	}
	if (ce->cname) {
		int len = dname_from_str(ce->cname, NULL, ep->cname);
		if (len > 0) {
			dname_lower(ep->cname);
			ep->cname_len = (uint8_t)len;
		}
	}
	if (ce->location.continent)
		snprintf(ep->continent, sizeof(ep->continent), "%s", ce->location.continent);
	if (ce->location.country)
		snprintf(ep->country, sizeof(ep->country), "%s", ce->location.country);
	ep->has_coords = ce->location.has_lat && ce->location.has_lon;
	ep->lat = ce->location.lat;
	ep->lon = ce->location.lon;
	ep->weight = ce->weight;
	ep->standby = ce->standby && strcmp(ce->standby, "never") == 0 ?
		      STEER_STANDBY_NEVER : STEER_STANDBY_AUTO;
	ep->priority = (uint8_t)ce->priority;
	ep->capacity = ce->capacity;
	ep->check = STEER_NONE;
	ep->health = STEER_NONE;
	for (unsigned i = 0; ce->check && i < conf->nchecks; i++)
		if (strcmp(conf->checks[i].id, ce->check) == 0)
			ep->check = i;
}

static void fill_service(const struct conf_service *cs, const uint8_t *name, int name_len,
			 struct steer_service *svc)
{
	steer_service_init(svc);
	svc->name_len = (uint8_t)name_len;
	memcpy(svc->name, name, (size_t)name_len);
	svc->ttl = cs->ttl;
	svc->ttl_degraded = cs->ttl_degraded;
	svc->recovery_ramp = cs->recovery == NULL || strcmp(cs->recovery, "instant") != 0;
	static const uint8_t recovery_default[] = { 10, 25, 50, 100 };
	if (cs->nrecovery_steps == 0) {
		memcpy(svc->recovery_steps, recovery_default, sizeof(recovery_default));
		svc->recovery_nsteps = sizeof(recovery_default);
	}
	for (unsigned i = 0; i < cs->nrecovery_steps && i < STEER_MAX_RAMP; i++)
		svc->recovery_steps[svc->recovery_nsteps++] = (uint8_t)cs->recovery_steps[i];
	svc->recovery_every_ms = cs->recovery_interval_ms ? cs->recovery_interval_ms : 30000;
	if (cs->npolicy == 0) {
		svc->policy[0] = STEER_F_HEALTH;
		svc->policy[1] = STEER_F_WEIGHTED;
		svc->n_policy = 2;
	}
	for (unsigned i = 0; i < cs->npolicy && i < STEER_MAX_POLICY; i++)
		svc->policy[svc->n_policy++] = (uint8_t)steer_filter_from_name(cs->policy[i]);
	svc->answers = (uint8_t)cs->answers;
	svc->all_down = (uint8_t)steer_all_down_from_name(cs->all_down);
	svc->ecs = cs->ecs;
	svc->sticky = strcmp(cs->sticky, "subnet") == 0 ? STEER_STICKY_SUBNET : STEER_STICKY_NONE;
	svc->sticky_v4 = (uint8_t)cs->sticky_prefix_v4;
	svc->sticky_v6 = (uint8_t)cs->sticky_prefix_v6;
	svc->latency_margin_ms = cs->latency_margin_ms;
	svc->shed_low = cs->shed_low;
	svc->shed_high = cs->shed_high;
	svc->n_ep = cs->nendpoints;
}

/* The address a check probes: check-address, else the first address, v4 first. */
static void probe_addr(const struct conf_endpoint *ce, const struct steer_endpoint *ep,
		       struct steer_health_target *t)
{
	if (ce->check_address) {
		if (inet_pton(AF_INET, ce->check_address, t->addr) == 1) {
			t->family = AF_INET;
			return;
		}
		if (inet_pton(AF_INET6, ce->check_address, t->addr) == 1) {
			t->family = AF_INET6;
			return;
		}
	}
	if (ep->n_v4) {
		t->family = AF_INET;
		memcpy(t->addr, ep->v4[0], 4);
	} else if (ep->n_v6) {
		t->family = AF_INET6;
		memcpy(t->addr, ep->v6[0], 16);
	}
}

static int add_targets(struct steer_build *out, const struct vane_conf *conf)
{
	struct steer_set *set = out->set;
	uint32_t n = 0;
	for (uint32_t k = 0; k < set->n_ep_total; k++)
		n += set->ep_store[k].check != STEER_NONE;
	if (n == 0)
		return 0;
	out->target = calloc(n, sizeof(*out->target));
	out->health_key = calloc(n, sizeof(*out->health_key));
	if (!out->target || !out->health_key)
		return VANE_ENOMEM;
	char key[DNAME_MAXSTR + STEER_ID_MAX + 2];
	for (uint32_t s = 0; s < set->n; s++) {
		struct steer_service *svc = &set->svc[s];
		const struct steer_endpoint *eps = svc->ep;
		for (uint32_t e = 0; e < svc->n_ep; e++) {
			if (eps[e].check == STEER_NONE)
				continue;
			/* Same order as build_service() numbered them. */
			struct steer_health_target *t = &out->target[out->nhealth];
			steer_ep_key(svc, &eps[e], key, sizeof(key));
			t->key = strdup(key);
			if (!t->key)
				return VANE_ENOMEM;
			t->svc = s;
			t->ep = e;
			t->check = eps[e].check;
			probe_addr(&conf->services[s].endpoints[e], &eps[e], t);
			out->health_key[out->nhealth++] = t->key;
		}
	}
	return 0;
}

/* Service `s`: endpoints, fields, zone rules, prepare. */
static void build_service(struct report *b, const struct vane_conf *conf, const struct zone_db *db,
			  unsigned s, struct steer_endpoint *eps, struct steer_service *svc,
			  uint32_t *nhealth)
{
	const struct conf_service *cs = &conf->services[s];
	uint8_t name[DNAME_MAXLEN];
	int len = dname_from_str(cs->name, NULL, name);
	if (len <= 0) {
		report_error(b, cs->line, "services[%u].name: invalid name", s);
		return;
	}
	dname_lower(name);
	if (db)
		check_zone(b, conf, db, cs, s, name);
	/* Health indices before prepare: it copies them into the hot data. */
	for (unsigned e = 0; e < cs->nendpoints; e++) {
		fill_endpoint(conf, &cs->endpoints[e], &eps[e]);
		if (eps[e].check != STEER_NONE)
			eps[e].health = (*nhealth)++;
	}
	fill_service(cs, name, len, svc);
	svc->ep = eps;
	int ret = steer_service_prepare(svc);
	if (ret != 0)
		report_error(b, cs->line, "services[%u]: %s", s, vane_strerror(ret));
}

int steer_build(const struct vane_conf *conf, const struct zone_db *db,
		vane_report_fn err, void *ctx, struct steer_build *out)
{
	struct report b = { .file = conf->path, .fn = err, .ctx = ctx };
	int ret = VANE_ENOMEM;

	memset(out, 0, sizeof(*out));
	if (conf->nservices == 0)
		return 0;
	struct steer_set *set = calloc(1, sizeof(*set));
	if (!set)
		goto fail;
	out->set = set;
	uint32_t total = 0;
	for (unsigned s = 0; s < conf->nservices; s++)
		total += conf->services[s].nendpoints;
	set->svc = calloc(conf->nservices, sizeof(*set->svc));
	set->ep_store = calloc(total ? total : 1, sizeof(*set->ep_store));
	if (!set->svc || !set->ep_store)
		goto fail;
	set->n = conf->nservices;
	set->n_ep_total = total;

	uint32_t off = 0, nhealth = 0;
	for (unsigned s = 0; s < conf->nservices; s++) {
		build_service(&b, conf, db, s, set->ep_store + off, &set->svc[s], &nhealth);
		off += conf->services[s].nendpoints;
	}
	ret = VANE_ESYNTAX;
	if (b.errors)
		goto fail;
	ret = steer_set_index(set);
	if (ret == VANE_EEXIST)
		report_error(&b, 0, "services: duplicate name");
	if (ret != 0)
		goto fail;
	ret = add_targets(out, conf);
	if (ret != 0)
		goto fail;
	return 0;
fail:
	if (ret == VANE_ENOMEM)
		report_error(&b, 0, "services: out of memory");
	steer_build_free(out);
	return ret;
}

void steer_build_free(struct steer_build *b)
{
	for (uint32_t i = 0; b->target && i < b->nhealth; i++)
		free(b->target[i].key);
	free(b->target);
	free(b->health_key);
	steer_set_free(b->set);
	memset(b, 0, sizeof(*b));
}
