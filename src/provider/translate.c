/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * LUA records for PowerDNS Authoritative (4.2+, "Lua Records" in its
 * documentation).  One record per family, of the form
 *   A ";if country('DE') then return ... end ... return ..."
 * The leading ';' makes PowerDNS run the text as a Lua block with its own
 * return statements.  Only single quotes appear inside, so the record's
 * double-quoted text needs no escapes.
 *
 * Order of the selection mirrors steer/chain.c's geo filter: the client's
 * country if an eligible endpoint is there, else its continent, else all.
 * Eligibility (health, drain, standby, priority tier) is decided here,
 * from vaned's own state, at every push.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provider/translate.h"

/* A growable string; `fail` is sticky, checked once at the end. */
struct sbuf {
	char *p;
	size_t n, cap;
	bool fail;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	if (b->fail)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
		va_end(ap);
		if (k < 0) {
			b->fail = true;
			return;
		}
		if (b->p && b->n + (size_t)k < b->cap) {
			b->n += (size_t)k;
			return;
		}
		size_t cap = (b->cap ? b->cap * 2 : 256) + (size_t)k;
		char *q = realloc(b->p, cap);
		if (!q) {
			b->fail = true;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
}

bool prov_policy_has(const struct conf_service *svc, const char *name)
{
	if (svc->npolicy == 0)
		return !strcmp(name, "health") || !strcmp(name, "weighted");
	for (unsigned i = 0; i < svc->npolicy; i++)
		if (!strcmp(svc->policy[i], name))
			return true;
	return false;
}

const char *prov_zone_of(char *const *zones, unsigned nzones, const char *name)
{
	size_t ln = strlen(name);
	const char *best = NULL;
	size_t best_len = 0;
	for (unsigned z = 0; z < nzones; z++) {
		size_t lz = strlen(zones[z]);
		/* "." is every name's zone; else a suffix on a label boundary. */
		bool in = !strcmp(zones[z], ".") ||
			  (ln >= lz && !strcasecmp(name + ln - lz, zones[z]) &&
			   (ln == lz || name[ln - lz - 1] == '.'));
		if (in && lz > best_len) {
			best = zones[z];
			best_len = lz;
		}
	}
	return best;
}

static const struct conf_check *check_of(const struct vane_conf *conf,
					 const struct conf_endpoint *ep)
{
	if (!ep->check)
		return NULL;
	for (unsigned i = 0; i < conf->nchecks; i++)
		if (!strcmp(conf->checks[i].id, ep->check))
			return &conf->checks[i];
	return NULL;
}

static bool is_family(const char *addr, int family)
{
	uint8_t b[16];
	return inet_pton(family, addr, b) == 1;
}

static bool never(const struct conf_endpoint *ep)
{
	return ep->standby && !strcmp(ep->standby, "never");
}

/*
 * Which endpoints the provider may answer now, and with what weight.
 * vaned's steering drops down and drained endpoints, then weight-0
 * standbys unless nothing else is left, then (priority) all but the best
 * tier.  With nothing left, all-down open answers every endpoint that is
 * not drained, whatever the geo or the answers count (`*all_down`).
 */
unsigned prov_eligible(const struct conf_service *svc, const struct prov_ep_state *st,
		       uint32_t *w, bool *all_down)
{
	*all_down = false;
	unsigned n = 0;
	for (unsigned e = 0; e < svc->nendpoints; e++) {
		w[e] = 0;
		const struct conf_endpoint *ep = &svc->endpoints[e];
		if (ep->cname || st[e].drained || !st[e].up || st[e].weight == 0)
			continue;
		w[e] = st[e].weight;
		n++;
	}
	if (n == 0) {
		for (unsigned e = 0; e < svc->nendpoints; e++) {
			const struct conf_endpoint *ep = &svc->endpoints[e];
			if (!ep->cname && !st[e].drained && st[e].up && !never(ep)) {
				w[e] = 1;
				n++;
			}
		}
	}
	if (n && prov_policy_has(svc, "priority")) {
		unsigned best = 256;
		for (unsigned e = 0; e < svc->nendpoints; e++)
			if (w[e] && svc->endpoints[e].priority < best)
				best = svc->endpoints[e].priority;
		n = 0;
		for (unsigned e = 0; e < svc->nendpoints; e++) {
			if (w[e] && svc->endpoints[e].priority != best)
				w[e] = 0;
			n += w[e] != 0;
		}
	}
	if (n == 0) {
		*all_down = true;
		for (unsigned e = 0; e < svc->nendpoints; e++) {
			const struct conf_endpoint *ep = &svc->endpoints[e];
			if (!ep->cname && !st[e].drained && !never(ep)) {
				w[e] = ep->weight ? ep->weight : 1;
				n++;
			}
		}
	}
	return n;
}

/* The one check every endpoint in `mask` shares, if it is tcp or http
 * (what ifportup and ifurlup can do), else NULL. */
static const struct conf_check *shared_probe(const struct vane_conf *conf,
					     const struct conf_service *svc, const uint32_t *w,
					     const bool *in)
{
	const struct conf_check *c = NULL;
	uint32_t weight = 0;
	for (unsigned e = 0; e < svc->nendpoints; e++) {
		if (!w[e] || !in[e])
			continue;
		const struct conf_check *ce = check_of(conf, &svc->endpoints[e]);
		if (!ce || (c && ce != c) || (weight && w[e] != weight) ||
		    svc->endpoints[e].check_address)
			return NULL;
		c = ce;
		weight = w[e];
	}
	if (c && (!strcmp(c->type, "tcp") || (!strcmp(c->type, "http") && !c->body && !c->expect)))
		return c;
	return NULL;
}

/* `return <selection>` over the endpoints in `in`. */
static void selection(struct sbuf *b, const struct vane_conf *conf,
		      const struct conf_service *svc, const uint32_t *w, const bool *in, int family,
		      bool all_down)
{
	const struct conf_check *probe = svc->answers == 1 && !all_down ?
					 shared_probe(conf, svc, w, in) : NULL;
	if (svc->answers != 1 || all_down || probe) {
		/* Every address, or ifportup/ifurlup: equal weights, so the
		 * provider's random pick among the live ones is the same share. */
		if (!probe)
			sb_printf(b, "return {");
		else if (!strcmp(probe->type, "tcp"))
			sb_printf(b, "return ifportup(%u, {", probe->port);
		else {
			/* The Host vaned's probe sends: the check's host, else the
			 * service name without its final dot. */
			const char *host = probe->host ? probe->host : svc->name;
			size_t hl = strlen(host);
			if (hl > 1 && host[hl - 1] == '.')
				hl--;
			sb_printf(b, "return ifurlup('http://%.*s:%u%s', {", (int)hl, host,
				  probe->port ? probe->port : 80, probe->path ? probe->path : "/");
		}
		bool first = true;
		for (unsigned e = 0; e < svc->nendpoints; e++) {
			const struct conf_endpoint *ep = &svc->endpoints[e];
			for (unsigned a = 0; w[e] && in[e] && a < ep->naddress; a++) {
				if (!is_family(ep->address[a], family))
					continue;
				sb_printf(b, "%s'%s'", first ? "" : ",", ep->address[a]);
				first = false;
			}
		}
		sb_printf(b, probe ? "})" : "}");
		return;
	}
	sb_printf(b, "return pickwrandom({");
	bool first = true;
	for (unsigned e = 0; e < svc->nendpoints; e++) {
		const struct conf_endpoint *ep = &svc->endpoints[e];
		unsigned na = 0;
		for (unsigned a = 0; a < ep->naddress; a++)
			na += is_family(ep->address[a], family);
		/* Several addresses of one endpoint share its weight. */
		for (unsigned a = 0; w[e] && in[e] && a < ep->naddress; a++) {
			if (!is_family(ep->address[a], family))
				continue;
			uint32_t wa = w[e] / na ? w[e] / na : 1;
			sb_printf(b, "%s{%u,'%s'}", first ? "" : ",", wa, ep->address[a]);
			first = false;
		}
	}
	sb_printf(b, "})");
}

static bool has_family(const struct conf_service *svc, const uint32_t *w, const bool *in,
		       int family)
{
	for (unsigned e = 0; e < svc->nendpoints; e++)
		for (unsigned a = 0; w[e] && in[e] && a < svc->endpoints[e].naddress; a++)
			if (is_family(svc->endpoints[e].address[a], family))
				return true;
	return false;
}

/* One `if country('XX') then ... end` per code that has an eligible
 * endpoint of this family; `continent` picks the level. */
static void geo_branches(struct sbuf *b, const struct vane_conf *conf,
			 const struct conf_service *svc, const uint32_t *w, int family,
			 bool continent)
{
	bool in[64], done[64] = { false };
	unsigned n = svc->nendpoints < 64 ? svc->nendpoints : 64;
	for (unsigned e = 0; e < n; e++) {
		const struct conf_location *l = &svc->endpoints[e].location;
		const char *code = continent ? l->continent : l->country;
		if (done[e] || !w[e] || !code)
			continue;
		for (unsigned k = 0; k < n; k++) {
			const struct conf_location *lk = &svc->endpoints[k].location;
			const char *ck = continent ? lk->continent : lk->country;
			in[k] = ck && !strcasecmp(ck, code);
			if (in[k])
				done[k] = true;
		}
		if (!has_family(svc, w, in, family))
			continue;
		sb_printf(b, "if %s('%s') then ", continent ? "continent" : "country", code);
		selection(b, conf, svc, w, in, family, false);
		sb_printf(b, " end ");
	}
}

static char *family_record(const struct vane_conf *conf, const struct conf_service *svc,
			   const uint32_t *w, bool all_down, int family, bool *oom)
{
	bool all[64];
	for (unsigned e = 0; e < 64; e++)
		all[e] = true;
	if (!has_family(svc, w, all, family))
		return NULL;
	struct sbuf b = { 0 };
	sb_printf(&b, "%s \";", family == AF_INET ? "A" : "AAAA");
	if (prov_policy_has(svc, "geo") && !all_down) {
		geo_branches(&b, conf, svc, w, family, false);
		geo_branches(&b, conf, svc, w, family, true);
	}
	selection(&b, conf, svc, w, all, family, all_down);
	sb_printf(&b, "\"");
	if (b.fail) {
		free(b.p);
		*oom = true;
		return NULL;
	}
	return b.p;
}

int prov_translate(const struct vane_conf *conf, const struct conf_service *svc,
		   const struct prov_ep_state *st, struct prov_records *out)
{
	uint32_t w[64];
	memset(out, 0, sizeof(*out));
	if (svc->nendpoints > 64)
		return VANE_EINVAL;
	bool all_down, degraded = false, oom = false;
	prov_eligible(svc, st, w, &all_down);
	for (unsigned e = 0; e < svc->nendpoints; e++)
		degraded |= !st[e].up || st[e].drained || st[e].ramping;
	out->ttl = degraded && svc->ttl_degraded ? svc->ttl_degraded : svc->ttl;
	out->content[0] = family_record(conf, svc, w, all_down, AF_INET, &oom);
	out->content[1] = family_record(conf, svc, w, all_down, AF_INET6, &oom);
	if (oom) {
		prov_records_free(out);
		return VANE_ENOMEM;
	}
	return 0;
}

void prov_records_free(struct prov_records *r)
{
	free(r->content[0]);
	free(r->content[1]);
	r->content[0] = r->content[1] = NULL;
}
