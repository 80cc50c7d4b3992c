/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The provider runtime: wanted state (loop thread) -> pushes and drift
 * checks (one thread per provider).  See provider.h.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "conf/conf.h"
#include "geo/geo.h"
#include "lib/dname.h"
#include "lib/pkt.h"
#include "lib/rand.h"
#include "ops/ops.h"
#include "provider/dnsq.h"
#include "provider/internal.h"
#include "provider/pdns.h"
#include "provider/provider.h"
#include "provider/translate.h"
#include "rt/clock.h"
#include "rt/log.h"

#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 30000
#define API_TIMEOUT_MS 3000
#define DNS_TIMEOUT_MS 1000

/* ---- wanted state ---- */

void prov_want_unref(struct prov_want *w)
{
	if (!w || --w->refs > 0)
		return;
	json_decref(w->zones);
	free(w->names);
	free(w->text);
	free(w);
}

/* ---- loop side: translate ---- */

static void fill_name(struct prov_name *pn, const struct conf_service *svc,
		      const struct prov_ep_state *st, const struct prov_records *rec,
		      const char *zone)
{
	uint32_t w[64];
	bool all_down;
	prov_eligible(svc, st, w, &all_down);
	pn->all_down = all_down;
	snprintf(pn->name, sizeof(pn->name), "%s", svc->name);
	snprintf(pn->zone, sizeof(pn->zone), "%s", zone);
	pn->geo = prov_policy_has(svc, "geo");
	pn->has_v4 = rec->content[0] != NULL;
	pn->naddr = 0;
	for (unsigned e = 0; e < svc->nendpoints && e < 64; e++) {
		const struct conf_endpoint *ep = &svc->endpoints[e];
		for (unsigned a = 0; a < ep->naddress && pn->naddr < PROV_NAME_ADDRS; a++) {
			struct prov_addr *pa = &pn->addr[pn->naddr++];
			snprintf(pa->addr, sizeof(pa->addr), "%s", ep->address[a]);
			snprintf(pa->endpoint, sizeof(pa->endpoint), "%s", ep->id);
			snprintf(pa->continent, sizeof(pa->continent), "%s",
				 ep->location.continent ? ep->location.continent : "");
			snprintf(pa->country, sizeof(pa->country), "%s",
				 ep->location.country ? ep->location.country : "");
			pa->eligible = w[e] != 0;
		}
	}
}

/* The service's state from ops/: services and endpoints by name, since
 * the layout is ordered as the config. */
/* Names equal but for case and a final dot. */
static bool same_name(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 1 && a[la - 1] == '.')
		la--;
	if (lb > 1 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

static bool service_state(const struct ops_rt *ops, const struct conf_service *svc,
			  struct prov_ep_state *st)
{
	uint64_t now = rt_now_ms();
	for (uint32_t s = 0; s < ops_services(ops); s++) {
		struct ops_ep_view v;
		if (ops_endpoints(ops, s) == 0)
			continue;
		ops_endpoint_view(ops, s, 0, now, &v);
		if (!same_name(v.service, svc->name))
			continue;
		for (unsigned e = 0; e < svc->nendpoints; e++) {
			st[e] = (struct prov_ep_state){ .up = true, .weight = svc->endpoints[e].weight };
			for (uint32_t k = 0; k < ops_endpoints(ops, s); k++) {
				ops_endpoint_view(ops, s, k, now, &v);
				if (strcmp(v.endpoint, svc->endpoints[e].id) != 0)
					continue;
				st[e].up = v.up;
				st[e].drained = v.drained;
				st[e].weight = v.weight;
				st[e].ramping = v.ramp.active;
			}
		}
		return true;
	}
	return false;
}

static json_t *rrset_json(const char *name, const struct prov_records *rec)
{
	json_t *records = json_array();
	for (int f = 0; f < 2; f++)
		if (rec->content[f])
			json_array_append_new(records, json_pack("{s:s,s:b}", "content",
								 rec->content[f], "disabled", 0));
	return json_pack("{s:s,s:s,s:i,s:s,s:o}", "name", name, "type", "LUA", "ttl",
			 (json_int_t)rec->ttl, "changetype", "REPLACE", "records", records);
}

/* The wanted state of provider `p`: per zone, the rrsets to PATCH (the
 * LUA rrset of each steered name, and its plain A and AAAA deleted: LUA
 * records answer for them). */
static struct prov_want *want_build(const struct conf_provider *cp, const struct vane_conf *conf,
				    const struct ops_rt *ops, bool *ramping)
{
	struct prov_want *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->refs = 1;
	w->zones = json_object();
	w->names = calloc(conf->nservices ? conf->nservices : 1, sizeof(*w->names));
	if (!w->zones || !w->names) {
		prov_want_unref(w);
		return NULL;
	}
	for (unsigned s = 0; s < conf->nservices; s++) {
		const struct conf_service *svc = &conf->services[s];
		const char *zone = prov_zone_of(cp->zones, cp->nzones, svc->name);
		struct prov_ep_state st[64];
		struct prov_records rec;
		if (!zone || svc->nendpoints > 64 || !service_state(ops, svc, st) ||
		    prov_translate(conf, svc, st, &rec) != 0)
			continue;
		for (unsigned e = 0; e < svc->nendpoints; e++)
			*ramping |= st[e].ramping;
		json_t *rrsets = json_object_get(w->zones, zone);
		if (!rrsets) {
			rrsets = json_array();
			json_object_set_new(w->zones, zone, rrsets);
		}
		json_array_append_new(rrsets, rrset_json(svc->name, &rec));
		const char *plain[] = { "A", "AAAA" };
		for (int f = 0; f < 2; f++)
			json_array_append_new(rrsets, json_pack("{s:s,s:s,s:s}", "name", svc->name,
								"type", plain[f], "changetype",
								"DELETE"));
		fill_name(&w->names[w->nnames++], svc, st, &rec, zone);
		prov_records_free(&rec);
	}
	w->text = json_dumps(w->zones, JSON_COMPACT | JSON_SORT_KEYS);
	return w;
}

/* Names the previous state steered and `w` does not (a service removed by
 * a reload): their LUA rrsets are deleted in the same PATCH. */
static void carry_deletes(struct prov_want *w, const struct prov_want *prev)
{
	for (unsigned i = 0; prev && i < prev->nnames; i++) {
		const struct prov_name *pn = &prev->names[i];
		bool kept = false;
		for (unsigned k = 0; k < w->nnames && !kept; k++)
			kept = !strcasecmp(w->names[k].name, pn->name);
		json_t *rrsets = json_object_get(w->zones, pn->zone);
		size_t j;
		json_t *rr;
		json_array_foreach(rrsets, j, rr) {
			const char *n = json_string_value(json_object_get(rr, "name"));
			const char *t = json_string_value(json_object_get(rr, "type"));
			kept |= n && t && !strcasecmp(n, pn->name) && !strcmp(t, "LUA");
		}
		if (kept)
			continue;
		if (!rrsets) {
			rrsets = json_array();
			json_object_set_new(w->zones, pn->zone, rrsets);
		}
		json_array_append_new(rrsets, json_pack("{s:s,s:s,s:s}", "name", pn->name, "type",
							"LUA", "changetype", "DELETE"));
	}
}

void provider_update(struct provider_set *ps, const struct vane_conf *conf,
		     const struct ops_rt *ops)
{
	if (!ps)
		return;
	ps->conf = conf;
	ps->ramping = false;
	for (unsigned i = 0; i < ps->n; i++) {
		struct prov *p = &ps->p[i];
		struct prov_want *w = want_build(&p->conf, conf, ops, &ps->ramping);
		if (w && w->text) {
			pthread_mutex_lock(&p->lock);
			/* From the newest wanted and the last pushed: a delete
			 * still unpushed when this state replaces it is kept. */
			carry_deletes(w, p->want);
			if (p->pushed != p->want)
				carry_deletes(w, p->pushed);
			pthread_mutex_unlock(&p->lock);
			free(w->text);
			w->text = json_dumps(w->zones, JSON_COMPACT | JSON_SORT_KEYS);
		}
		if (!w || !w->text) {
			log_error("provider %s: out of memory translating services", p->conf.name);
			prov_want_unref(w);
			continue;
		}
		pthread_mutex_lock(&p->lock);
		bool same = p->want && !strcmp(p->want->text, w->text);
		if (!same) {
			prov_want_unref(p->want);
			p->want = w;
			p->want_gen++;
			p->retry_at = 0;     /* a new state is pushed at once */
			pthread_cond_signal(&p->cond);
		}
		pthread_mutex_unlock(&p->lock);
		if (same)
			prov_want_unref(w);
	}
}

static void tick_cb(uv_timer_t *t)
{
	struct provider_set *ps = t->data;
	if (ps->ramping && ps->conf)
		provider_update(ps, ps->conf, ps->ops);
}

/* ---- events to the loop ---- */

void prov_post_event(struct prov *p, int kind, const char *fmt, ...)
{
	char text[EVENTS_TEXT_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* Locked by the caller. */
	if (p->nev < PROV_EVQ) {
		p->evq[p->nev].kind = kind;
		snprintf(p->evq[p->nev].text, sizeof(p->evq[p->nev].text), "%.180s", text);
		p->nev++;
	}
	uv_async_send(&p->set->async);
}

static void async_cb(uv_async_t *a)
{
	struct provider_set *ps = a->data;
	for (unsigned i = 0; i < ps->n; i++) {
		struct prov *p = &ps->p[i];
		struct prov_event q[PROV_EVQ];
		pthread_mutex_lock(&p->lock);
		unsigned n = p->nev;
		memcpy(q, p->evq, n * sizeof(q[0]));
		p->nev = 0;
		pthread_mutex_unlock(&p->lock);
		for (unsigned k = 0; k < n; k++) {
			events_add(ps->ops->events, (enum event_kind)q[k].kind, NULL, NULL,
				   "provider %s: %s", p->conf.name, q[k].text);
			/* The alerts warn; their all-clear is news. */
			if (strstr(q[k].text, "drift:") || strstr(q[k].text, "push failed"))
				log_warning("provider %s: %s", p->conf.name, q[k].text);
			else
				log_info("provider %s: %s", p->conf.name, q[k].text);
		}
	}
}

/* ---- the provider's thread: pushes ---- */

static struct pdns_api api_of(const struct prov *p)
{
	return (struct pdns_api){ .base = p->conf.api, .server_id = p->conf.server_id,
				  .key_file = p->conf.api_key_file, .timeout_ms = API_TIMEOUT_MS };
}

/* The API's serial of `zone` now (0 when unknown). */
static uint32_t api_serial(const struct pdns_api *api, const char *zone, json_t **zone_out)
{
	char err[512];
	json_t *z = NULL;
	if (pdns_get_zone(api, zone, &z, err, sizeof(err)) != 0)
		return 0;
	uint32_t serial = (uint32_t)json_integer_value(json_object_get(z, "serial"));
	if (zone_out)
		*zone_out = z;
	else
		json_decref(z);
	return serial;
}

static void push(struct prov *p, struct prov_want *w, uint64_t gen)
{
	struct pdns_api api = api_of(p);
	char err[512] = "";
	int ret = 0;
	const char *zone;
	json_t *rrsets;
	uint32_t serials[PROV_MAX_ZONES] = { 0 };
	unsigned nz = 0;
	json_object_foreach(w->zones, zone, rrsets) {
		ret = pdns_patch_rrsets(&api, zone, rrsets, err, sizeof(err));
		if (ret != 0)
			break;
		if (nz < PROV_MAX_ZONES)
			serials[nz++] = api_serial(&api, zone, NULL);
	}
	uint64_t now = rt_now_ms(), mono = rt_mono_ms();
	pthread_mutex_lock(&p->lock);
	p->last_push_ms = now;
	if (ret == 0) {
		p->pushes_ok++;
		p->last_ok_ms = now;
		p->pushed_gen = gen;
		p->err[0] = '\0';
		if (p->failing)
			prov_post_event(p, EV_PROVIDER, "push succeeded again after %u attempts",
					p->attempts);
		p->failing = false;
		p->attempts = 0;
		p->retry_at = 0;
		/* The serials the API reported just after our push: the SOA the
		 * provider should serve, and the mark of an edit behind our back. */
		nz = 0;
		json_object_foreach(w->zones, zone, rrsets) {
			struct prov_zone_st *zs = prov_zone_find(p, zone);
			if (zs && nz < PROV_MAX_ZONES)
				zs->serial_pushed = serials[nz];
			nz++;
		}
		prov_want_unref(p->pushed);
		p->pushed = w;
		w->refs++;
	} else {
		p->pushes_failed++;
		p->attempts++;
		snprintf(p->err, sizeof(p->err), "%s", err);
		unsigned shift = p->attempts < 8 ? p->attempts - 1 : 7;
		uint64_t back = (uint64_t)BACKOFF_MIN_MS << shift;
		if (back > BACKOFF_MAX_MS)
			back = BACKOFF_MAX_MS;
		p->retry_at = mono + back;
		if (!p->failing)
			prov_post_event(p, EV_PROVIDER, "push failed, retrying with backoff: %s",
					err);
		p->failing = true;
	}
	pthread_mutex_unlock(&p->lock);
}

static void *prov_thread(void *arg)
{
	struct prov *p = arg;
	pthread_mutex_lock(&p->lock);
	p->drift_at = rt_mono_ms() + p->conf.drift_interval_ms;
	while (!p->stop) {
		uint64_t now = rt_mono_ms();
		if (p->want && p->want_gen != p->pushed_gen && now >= p->retry_at) {
			struct prov_want *w = p->want;
			uint64_t gen = p->want_gen;
			w->refs++;
			pthread_mutex_unlock(&p->lock);
			push(p, w, gen);
			pthread_mutex_lock(&p->lock);
			prov_want_unref(w);
			continue;
		}
		if (now >= p->drift_at) {
			struct prov_want *w = p->pushed;
			if (w)
				w->refs++;
			pthread_mutex_unlock(&p->lock);
			prov_drift_check(p, w);
			pthread_mutex_lock(&p->lock);
			prov_want_unref(w);
			p->drift_at = rt_mono_ms() + p->conf.drift_interval_ms;
			continue;
		}
		uint64_t until = p->drift_at;
		if (p->want && p->want_gen != p->pushed_gen && p->retry_at < until)
			until = p->retry_at;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t wait = until > now ? until - now : 0;
		ts.tv_sec += (time_t)(wait / 1000);
		ts.tv_nsec += (long)(wait % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->cond, &p->lock, &ts);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* ---- start and stop ---- */

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* A private copy of the provider's settings: the thread outlives reloads. */
static int copy_conf(struct conf_provider *d, const struct conf_provider *s)
{
	*d = *s;
	d->name = dup_or_null(s->name);
	d->type = dup_or_null(s->type);
	d->api = dup_or_null(s->api);
	d->api_key_file = dup_or_null(s->api_key_file);
	d->server_id = dup_or_null(s->server_id);
	d->dns.text = dup_or_null(s->dns.text);
	d->zones = calloc(s->nzones ? s->nzones : 1, sizeof(char *));
	d->drift_subnets = calloc(s->ndrift_subnets ? s->ndrift_subnets : 1, sizeof(char *));
	if (!d->zones || !d->drift_subnets)
		return VANE_ENOMEM;
	for (unsigned i = 0; i < s->nzones; i++)
		if (!(d->zones[i] = strdup(s->zones[i])))
			return VANE_ENOMEM;
	for (unsigned i = 0; i < s->ndrift_subnets; i++)
		if (!(d->drift_subnets[i] = strdup(s->drift_subnets[i])))
			return VANE_ENOMEM;
	return d->name && d->api && d->api_key_file && d->server_id ? 0 : VANE_ENOMEM;
}

static void free_conf(struct conf_provider *c)
{
	free(c->name);
	free(c->type);
	free(c->api);
	free(c->api_key_file);
	free(c->server_id);
	free(c->dns.text);
	for (unsigned i = 0; c->zones && i < c->nzones; i++)
		free(c->zones[i]);
	for (unsigned i = 0; c->drift_subnets && i < c->ndrift_subnets; i++)
		free(c->drift_subnets[i]);
	free(c->zones);
	free(c->drift_subnets);
}

/* Where vaned itself answers, for the ECS comparison: its first listen
 * address, loopback for a wildcard. */
static void self_addr(const struct vane_conf *conf, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	*len = 0;
	if (conf->nlisten == 0)
		return;
	*ss = conf->listen[0].addr;
	*len = conf->listen[0].addrlen;
	if (ss->ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		if (in->sin_addr.s_addr == htonl(INADDR_ANY))
			in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else if (ss->ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
			in6->sin6_addr = in6addr_loopback;
	}
}

/* A geo service under some provider's zones. */
static bool uses_geo(const struct vane_conf *conf)
{
	for (unsigned s = 0; s < conf->nservices; s++)
		for (unsigned i = 0; i < conf->nproviders; i++)
			if (prov_policy_has(&conf->services[s], "geo") &&
			    prov_zone_of(conf->providers[i].zones, conf->providers[i].nzones,
					 conf->services[s].name))
				return true;
	return false;
}

static void geo_err(void *ctx, const char *file, unsigned long line, const char *msg)
{
	log_warning("providers: geo database %s: %s; drift checks compare continents", file,
		    msg);
}

int provider_start(uv_loop_t *loop, const struct vane_conf *conf, struct ops_rt *ops,
		   struct provider_set **out)
{
	*out = NULL;
	if (conf->nproviders == 0)
		return 0;
	struct provider_set *ps = calloc(1, sizeof(*ps) + conf->nproviders * sizeof(struct prov));
	if (!ps)
		return VANE_ENOMEM;
	ps->ops = ops;
	if (uses_geo(conf) && geo_open(conf->geo_database, conf->geo_nets, &ps->geo, geo_err,
				       NULL) != 0)
		ps->geo = NULL;      /* the ECS checks compare continents instead */
	if (uv_async_init(loop, &ps->async, async_cb) != 0) {
		free(ps);
		return VANE_ENOMEM;
	}
	ps->async.data = ps;
	ps->async_on = true;
	if (uv_timer_init(loop, &ps->tick) == 0) {
		ps->tick.data = ps;
		ps->tick_on = uv_timer_start(&ps->tick, tick_cb, 1000, 1000) == 0;
		if (!ps->tick_on)
			uv_close((uv_handle_t *)&ps->tick, NULL);
	}
	*out = ps;
	for (unsigned i = 0; i < conf->nproviders; i++) {
		struct prov *p = &ps->p[i];
		p->set = ps;
		pthread_mutex_init(&p->lock, NULL);
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&p->cond, &ca);
		pthread_condattr_destroy(&ca);
		ps->n++;
		if (copy_conf(&p->conf, &conf->providers[i]) != 0)
			return VANE_ENOMEM;
		p->nzones = p->conf.nzones < PROV_MAX_ZONES ? p->conf.nzones : PROV_MAX_ZONES;
		for (unsigned z = 0; z < p->nzones; z++)
			snprintf(p->zones[z].name, sizeof(p->zones[z].name), "%s", p->conf.zones[z]);
		self_addr(conf, &p->self, &p->self_len);
		p->rng = rt_seed() ^ i;
		if (pthread_create(&p->thread, NULL, prov_thread, p) != 0)
			return VANE_ENOMEM;
		p->started = true;
		log_info("provider %s: %s at %s, %u zones", p->conf.name, p->conf.type, p->conf.api,
			 p->conf.nzones);
	}
	provider_update(ps, conf, ops);
	return 0;
}

void provider_close(struct provider_set *ps)
{
	if (!ps)
		return;
	for (unsigned i = 0; i < ps->n; i++) {
		struct prov *p = &ps->p[i];
		if (!p->started)
			continue;
		pthread_mutex_lock(&p->lock);
		p->stop = true;
		pthread_cond_signal(&p->cond);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
		p->started = false;
	}
	if (ps->async_on)
		uv_close((uv_handle_t *)&ps->async, NULL);
	ps->async_on = false;
	if (ps->tick_on)
		uv_close((uv_handle_t *)&ps->tick, NULL);
	ps->tick_on = false;
}

void provider_free(struct provider_set *ps)
{
	if (!ps)
		return;
	provider_close(ps);
	for (unsigned i = 0; i < ps->n; i++) {
		struct prov *p = &ps->p[i];
		prov_want_unref(p->want);
		prov_want_unref(p->pushed);
		free_conf(&p->conf);
		pthread_mutex_destroy(&p->lock);
		pthread_cond_destroy(&p->cond);
	}
	if (ps->geo)
		geo_close(ps->geo);
	free(ps);
}

struct prov_zone_st *prov_zone_find(struct prov *p, const char *zone)
{
	for (unsigned z = 0; z < p->nzones; z++)
		if (!strcasecmp(p->zones[z].name, zone))
			return &p->zones[z];
	return NULL;
}
