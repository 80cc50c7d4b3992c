/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Drift checks (the silently stale provider).  Three views, each compared
 * with what vaned pushed or would answer:
 *  - api: the records the provider's API holds for each steered name must
 *    be the LUA records vaned pushed last, with no plain A/AAAA beside
 *    them.  A mismatch is an edit behind vaned's back: reported, then
 *    repaired by pushing vaned's records again.
 *  - serial: the SOA serial the provider answers over DNS against the
 *    serial its API reports (the lag), and that API serial against the
 *    one right after vaned's last push (it moved: someone else edited).
 *  - ecs: a sample of queries with a client subnet (RFC 7871) to vaned and
 *    to the provider.  Every address the provider answers must be one that
 *    vaned's records answer now; for a geo service, both answers must lie
 *    on the same continent.  (Randomness in weighted picks makes equal
 *    addresses the wrong test; equal regions and eligible endpoints are
 *    what must hold.)
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "geo/geo.h"
#include "lib/pkt.h"
#include "lib/rand.h"
#include "provider/dnsq.h"
#include "provider/internal.h"
#include "provider/pdns.h"
#include "rt/clock.h"

#define API_TIMEOUT_MS 3000
#define DNS_TIMEOUT_MS 1000

struct round {
	unsigned api, ecs, serial, samples;
	char text[512];
};

static void note(struct round *r, unsigned *counter, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void note(struct round *r, unsigned *counter, const char *fmt, ...)
{
	(*counter)++;
	if (r->text[0])
		return;                  /* the first mismatch says enough */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

static json_t *find_rrset(json_t *rrsets, const char *name, const char *type)
{
	size_t i;
	json_t *rr;
	json_array_foreach(rrsets, i, rr) {
		const char *n = json_string_value(json_object_get(rr, "name"));
		const char *t = json_string_value(json_object_get(rr, "type"));
		const char *ct = json_string_value(json_object_get(rr, "changetype"));
		if (n && t && !strcasecmp(n, name) && !strcmp(t, type) &&
		    (!ct || strcmp(ct, "DELETE") != 0))
			return rr;
	}
	return NULL;
}

/* Every content of `a` is in `b` and the counts match. */
static bool same_records(json_t *a, json_t *b)
{
	json_t *ra = json_object_get(a, "records"), *rb = json_object_get(b, "records");
	if (json_array_size(ra) != json_array_size(rb))
		return false;
	size_t i, k;
	json_t *x, *y;
	json_array_foreach(ra, i, x) {
		bool found = false;
		const char *cx = json_string_value(json_object_get(x, "content"));
		json_array_foreach(rb, k, y) {
			const char *cy = json_string_value(json_object_get(y, "content"));
			if (cx && cy && !strcmp(cx, cy) &&
			    !json_is_true(json_object_get(y, "disabled")))
				found = true;
		}
		if (!found)
			return false;
	}
	return true;
}

static void check_api(struct prov *p, const struct prov_want *w, const char *zone,
		      json_t *api_zone, struct round *r)
{
	json_t *held = json_object_get(api_zone, "rrsets");
	json_t *pushed = json_object_get(w->zones, zone);
	for (unsigned i = 0; i < w->nnames; i++) {
		const struct prov_name *pn = &w->names[i];
		if (strcasecmp(pn->zone, zone) != 0)
			continue;
		json_t *mine = find_rrset(pushed, pn->name, "LUA");
		json_t *theirs = find_rrset(held, pn->name, "LUA");
		if (!theirs)
			note(r, &r->api, "%s: the provider has no LUA record (vaned pushed one)",
			     pn->name);
		else if (mine && !same_records(mine, theirs))
			note(r, &r->api, "%s: the provider's LUA record differs from vaned's push",
			     pn->name);
		else if (find_rrset(held, pn->name, "A") || find_rrset(held, pn->name, "AAAA"))
			note(r, &r->api, "%s: plain A/AAAA records beside the LUA record", pn->name);
	}
}

static const struct prov_addr *addr_of(const struct prov_name *pn, const char *addr)
{
	for (unsigned i = 0; i < pn->naddr; i++)
		if (!strcmp(pn->addr[i].addr, addr))
			return &pn->addr[i];
	return NULL;
}

static void next_subnet(struct prov *p, char *buf, size_t size)
{
	if (p->conf.ndrift_subnets) {
		snprintf(buf, size, "%s", p->conf.drift_subnets[p->subnet_next++ %
								 p->conf.ndrift_subnets]);
		return;
	}
	/* A random public-looking /24: 1.0.0.0 to 223.255.255.0. */
	uint32_t a = (uint32_t)(1 + rand_below(&p->rng, 223)) << 24 |
		     (uint32_t)rand_below(&p->rng, 1u << 16) << 8;
	snprintf(buf, size, "%u.%u.%u.0/24", a >> 24, (a >> 16) & 255, (a >> 8) & 255);
}

/*
 * Is the provider's endpoint `pa` one vaned's geo filter may pick for a
 * client in `subnet`?  The client's country if an eligible endpoint is
 * there, else its continent, else any (steer/chain.c).  `*region` names
 * the level that decided; NULL when there is no database (or the address
 * cannot be read): the caller then compares continents.
 */
static bool in_region(const struct geo_db *db, const struct prov_name *pn, const char *subnet,
		      const struct prov_addr *pa, const char **region)
{
	static __thread char buf[16];
	char addr[64];
	uint8_t a[16];
	struct geo_info gi;
	*region = NULL;
	size_t n = strcspn(subnet, "/");
	if (!db || n >= sizeof(addr))
		return true;
	memcpy(addr, subnet, n);
	addr[n] = '\0';
	int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, addr, a) != 1 || geo_lookup(db, NULL, family, a, &gi) != 0)
		return true;
	bool country = false, continent = false;
	for (unsigned i = 0; i < pn->naddr; i++) {
		const struct prov_addr *x = &pn->addr[i];
		country |= x->eligible && gi.country[0] && !strcasecmp(x->country, gi.country);
		continent |= x->eligible && gi.continent[0] && !strcasecmp(x->continent, gi.continent);
	}
	if (country) {
		snprintf(buf, sizeof(buf), "country %s", gi.country);
		*region = buf;
		return !strcasecmp(pa->country, gi.country);
	}
	if (continent) {
		snprintf(buf, sizeof(buf), "continent %s", gi.continent);
		*region = buf;
		return !strcasecmp(pa->continent, gi.continent);
	}
	*region = "no region with an endpoint";
	return true;
}

static void check_ecs(struct prov *p, const struct prov_name *pn, struct round *r)
{
	if (!pn->has_v4 || !p->self_len)
		return;
	for (unsigned k = 0; k < p->conf.drift_samples && !__atomic_load_n(&p->stop, __ATOMIC_RELAXED);
	     k++) {
		char subnet[64];
		next_subnet(p, subnet, sizeof(subnet));
		struct dnsq_reply mine, theirs;
		if (dnsq_ask(&p->self, p->self_len, pn->name, DNS_A, subnet, DNS_TIMEOUT_MS,
			     &mine) != 0 ||
		    dnsq_ask(&p->conf.dns.addr, p->conf.dns.addrlen, pn->name, DNS_A, subnet,
			     DNS_TIMEOUT_MS, &theirs) != 0)
			continue;        /* unanswered: the serial check says more */
		r->samples++;
		if (theirs.rcode != DNS_NOERROR || theirs.naddrs == 0) {
			if (mine.naddrs)
				note(r, &r->ecs, "%s ecs %s: the provider answers no address "
				     "(rcode %d)", pn->name, subnet, theirs.rcode);
			continue;
		}
		const struct prov_addr *pa = NULL;
		for (unsigned i = 0; i < theirs.naddrs; i++) {
			pa = addr_of(pn, theirs.addrs[i]);
			if (!pa || !pa->eligible) {
				note(r, &r->ecs, "%s ecs %s: the provider answers %s, %s", pn->name,
				     subnet, theirs.addrs[i], pa ? "an endpoint vaned does not answer "
				     "now" : "no endpoint of the service");
				pa = NULL;
				break;
			}
		}
		if (pa && mine.naddrs > 1) {
			/* vaned answered a set (answers 0, all-down open): the
			 * provider's addresses must be in it. */
			for (unsigned i = 0; i < theirs.naddrs; i++) {
				bool in = false;
				for (unsigned j = 0; j < mine.naddrs; j++)
					in |= !strcmp(theirs.addrs[i], mine.addrs[j]);
				if (!in) {
					note(r, &r->ecs, "%s ecs %s: the provider answers %s, not in "
					     "vaned's answer", pn->name, subnet, theirs.addrs[i]);
					break;
				}
			}
			continue;
		}
		const char *region = NULL;
		if (pn->geo && pa && !pn->all_down &&
		    !in_region(p->set->geo, pn, subnet, pa, &region)) {
			note(r, &r->ecs, "%s ecs %s: the client's region is %s, the provider "
			     "answers %s (%s/%s)", pn->name, subnet, region, pa->endpoint,
			     pa->continent, pa->country);
			continue;
		}
		if (region)
			continue;            /* decided by the geo database */
		const struct prov_addr *va = mine.naddrs ? addr_of(pn, mine.addrs[0]) : NULL;
		if (pn->geo && pa && va && va->continent[0] && pa->continent[0] &&
		    strcasecmp(pa->continent, va->continent) != 0)
			note(r, &r->ecs, "%s ecs %s: vaned answers %s (%s), the provider %s (%s)",
			     pn->name, subnet, va->endpoint, va->continent, pa->endpoint,
			     pa->continent);
	}
}

static int32_t serial_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);         /* RFC 1982 */
}

void prov_drift_check(struct prov *p, const struct prov_want *w)
{
	struct pdns_api api = { .base = p->conf.api, .server_id = p->conf.server_id,
				.key_file = p->conf.api_key_file, .timeout_ms = API_TIMEOUT_MS };
	struct round r = { 0 };
	bool repair = false;
	struct prov_zone_st zs[PROV_MAX_ZONES];
	pthread_mutex_lock(&p->lock);
	unsigned nz = p->nzones;
	memcpy(zs, p->zones, sizeof(zs[0]) * nz);
	pthread_mutex_unlock(&p->lock);

	for (unsigned z = 0; z < nz; z++) {
		char err[512];
		json_t *az = NULL;
		if (pdns_get_zone(&api, zs[z].name, &az, err, sizeof(err)) != 0)
			continue;        /* unreachable: the push state says so */
		zs[z].serial_api = (uint32_t)json_integer_value(json_object_get(az, "serial"));
		if (w) {
			unsigned before = r.api;
			check_api(p, w, zs[z].name, az, &r);
			repair |= r.api > before;
		}
		json_decref(az);
		if (zs[z].serial_pushed && zs[z].serial_api != zs[z].serial_pushed && w &&
		    json_object_get(w->zones, zs[z].name))
			note(&r, &r.serial, "%s: serial %u at the provider's API, %u after vaned's "
			     "last push: edited by someone else", zs[z].name, zs[z].serial_api,
			     zs[z].serial_pushed);
		struct dnsq_reply soa;
		if (p->conf.dns.text &&
		    dnsq_ask(&p->conf.dns.addr, p->conf.dns.addrlen, zs[z].name, DNS_SOA, NULL,
			     DNS_TIMEOUT_MS, &soa) == 0 && soa.has_soa) {
			zs[z].has_dns = true;
			zs[z].serial_dns = soa.soa_serial;
			int32_t d = serial_diff(zs[z].serial_api, soa.soa_serial);
			zs[z].lag = d > 0 ? d : 0;
			if (d > 0)
				note(&r, &r.serial, "%s: the provider serves serial %u, its API has %u",
				     zs[z].name, soa.soa_serial, zs[z].serial_api);
		}
	}
	for (unsigned i = 0; w && p->conf.dns.text && i < w->nnames; i++)
		check_ecs(p, &w->names[i], &r);

	pthread_mutex_lock(&p->lock);
	for (unsigned z = 0; z < nz; z++) {
		/* serial_pushed may have moved meanwhile (a push): keep it. */
		uint32_t pushed = p->zones[z].serial_pushed;
		p->zones[z] = zs[z];
		p->zones[z].serial_pushed = pushed;
	}
	p->drift_checks++;
	p->drift_last_ms = rt_now_ms();
	p->mismatch_api += r.api;
	p->mismatch_ecs += r.ecs;
	p->mismatch_serial += r.serial;
	p->ecs_samples += r.samples;
	bool mismatch = r.api + r.ecs + r.serial > 0;
	if (mismatch) {
		snprintf(p->drift_text, sizeof(p->drift_text), "%s", r.text);
		p->drift_rounds++;
		if (!p->drifted && p->drift_rounds >= p->conf.drift_threshold) {
			p->drifted = true;
			prov_post_event(p, EV_DRIFT, "drift: %s (%u api, %u serial, %u of %u ECS "
					"samples)", r.text, r.api, r.serial, r.ecs, r.samples);
		}
	} else {
		p->drift_rounds = 0;
		if (p->drifted)
			prov_post_event(p, EV_DRIFT, "in step again");
		p->drifted = false;
	}
	/* An edit behind vaned's back is undone: push vaned's records again. */
	if (repair && p->pushed_gen == p->want_gen) {
		p->pushed_gen = 0;
		p->retry_at = 0;
	}
	pthread_mutex_unlock(&p->lock);
}
