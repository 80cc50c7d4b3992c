/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The iterator (RFC 1034 5.3.3): find the deepest known zone cut, ask its
 * fastest server, follow referrals down, follow CNAMEs across zones, resolve
 * NS names without glue in sub-queries, and stop at a work limit.
 * Queries out and responses in live in iter_send.c; the bytes move through
 * the transport in r->env.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/pkt.h"
#include "resolver/iter.h"
#include "resolver/iter_int.h"

#define MAX_CNAMES 16
#define MAX_REFERRALS 32
#define MAX_DEPTH 4          /* nested NS-name resolutions */
#define MAX_NS_RESOLVE 4     /* NXNS defence: NS names resolved per cut */
#define MAX_TRIES 2          /* sends per address */

static void itq_step(struct itq *q);
static void drop_deferred(struct itq *q);
static void store(struct itq *q, const uint8_t *name, uint16_t type, const struct rmsg *m);

static struct itq *itq_new(struct resolver *r, const uint8_t *qname, uint16_t qtype)
{
	struct itq *q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->res = malloc(sizeof(*q->res));
	if (!q->res) {
		free(q);
		return NULL;
	}
	rmsg_clear(q->res);
	q->r = r;
	memcpy(q->qname, qname, dname_len(qname));
	memcpy(q->orig, qname, dname_len(qname));
	q->qtype = qtype;
	q->work = &q->work_own;
	return q;
}

static void itq_free(struct itq *q)
{
	free(q->deferred);
	free(q->res);
	free(q);
}

static void itq_finish(struct itq *q, int rcode)
{
	iter_send_cancel(q);
	if (rcode >= 0 && q->res->rcode == 0)
		q->res->rcode = (uint8_t)rcode;
	/* A chain across zones is stored whole under the name asked. */
	if (rcode >= 0 && q->cnames > 0)
		store(q, q->orig, q->qtype, q->res);
	q->done(q->ctx, rcode, rcode >= 0 ? q->res : NULL);
	itq_free(q);
}

/* Store (name, type) -> records of `m` in section order. */
static void store(struct itq *q, const uint8_t *name, uint16_t type, const struct rmsg *m)
{
	static __thread uint8_t wire[65536];
	int len = rmsg_encode(m, name, type, wire, sizeof(wire));
	if (len > 0) {
		const struct cache_net *scope = q->scope.bits ? &q->scope : NULL;
		/* The floor is the one of the name stored (zones-ttl:). */
		int ret = cache_put_floor(q->r->cache, name, type, DNS_IN, scope, wire,
					  (size_t)len, resolver_now(q->r),
					  resolver_min_ttl(q->r, name));
		(void)ret;
	}
}

/* Look (name, type) up in the cache as a client would; fills `out`. */
static bool cache_lookup(struct itq *q, const uint8_t *name, uint16_t type,
			 struct rmsg *out)
{
	uint8_t qbuf[512], abuf[65535];
	struct dns_query dq;
	int qlen = rquery_build(qbuf, sizeof(qbuf), 0, name, type, false, NULL);
	if (qlen < 0)
		return false;
	qbuf[2] |= DNS_RD >> 8;
	if (dns_query_parse(qbuf, (size_t)qlen, &dq) != DNS_V_OK)
		return false;
	int n = cache_answer(q->r->cache, &dq, qbuf, q->client.bits ? &q->client : NULL,
			     resolver_now(q->r), 0, abuf, sizeof(abuf), NULL);
	if (n <= 0)
		return false;
	return rmsg_parse(abuf, (size_t)n, out) == 0;
}

/* ---- choosing a server ---- */

static int pick_server(struct itq *q, unsigned *ns_i, unsigned *addr_i)
{
	uint32_t best = UINT32_MAX;
	int found = -1;
	for (unsigned i = 0; i < q->cut.nns; i++) {
		const struct cache_deleg_ns *ns = &q->cut.ns[i];
		for (unsigned a = 0; a < ns->naddr; a++) {
			if (q->tries[i][a] >= MAX_TRIES)
				continue;
			uint32_t rtt = infra_rtt(q->r, ns->addr[a].family, ns->addr[a].addr);
			/* Unknown servers get explored first, then the fastest wins;
			 * each try adds a penalty so retries rotate (RFC 1035 7.2). */
			uint32_t score = rtt + q->tries[i][a] * 1000u;
			if (score < best) {
				best = score;
				*ns_i = i;
				*addr_i = a;
				found = 0;
			}
		}
	}
	return found;
}

/* ---- sub-queries for NS names without (usable) addresses ---- */

static bool ns_has_addr(const struct cache_deleg_ns *ns, const uint8_t *a4)
{
	for (unsigned a = 0; a < ns->naddr; a++)
		if (ns->addr[a].family == 1 && memcmp(ns->addr[a].addr, a4, 4) == 0)
			return true;
	return false;
}

/* Every address known for NS `i` has failed (or there is none). */
static bool ns_exhausted(const struct itq *q, unsigned i)
{
	for (unsigned a = 0; a < q->cut.ns[i].naddr; a++)
		if (q->tries[i][a] < MAX_TRIES)
			return false;
	return true;
}

static void ns_resolved(void *ctx, int rcode, const struct rmsg *m)
{
	struct itq_sub *sub = ctx;
	struct itq *q = sub->parent;
	unsigned i = sub->ns;
	free(sub);
	q->nsub--;
	if (m) {
		struct cache_deleg_ns *ns = &q->cut.ns[i];
		const uint8_t *target = ns->name;
		/* Follow the chain to the last name, then take its A records. */
		for (unsigned k = 0; k < m->nrr; k++) {
			const struct rrec *r = &m->rr[k];
			if (r->sec != RSEC_AN)
				continue;
			if (r->type == DNS_CNAME && dname_equal(rr_owner(m, r), target))
				target = rr_rdata(m, r);
			else if (r->type == DNS_A && r->rdlen == 4 &&
				 ns->naddr < CACHE_DELEG_MAXADDR && !ns_has_addr(ns, rr_rdata(m, r))) {
				ns->addr[ns->naddr].family = 1;
				memset(ns->addr[ns->naddr].addr, 0, 16);
				memcpy(ns->addr[ns->naddr].addr, rr_rdata(m, r), 4);
				ns->naddr++;
			}
		}
	}
	if (q->nsub == 0)
		itq_step(q);
}

/* Start resolving NS names of the cut that have no address, or whose
 * addresses have all failed (glue can be stale, or of a family we cannot
 * reach: the name's own A records may lead elsewhere).  Returns the
 * number started. */
static unsigned resolve_ns_names(struct itq *q)
{
	unsigned started = 0;
	if (q->depth >= MAX_DEPTH)
		return 0;
	if (q->pin)
		return 0;       /* configured servers: their addresses are all there is */
	for (unsigned i = 0; i < q->cut.nns && q->ns_resolves < MAX_NS_RESOLVE; i++) {
		struct cache_deleg_ns *ns = &q->cut.ns[i];
		if (q->ns_tried[i] || !ns_exhausted(q, i))
			continue;
		/* An NS name under the cut is looked up from above the cut
		 * (load_cut goes up) when it has no glue; when its glue failed,
		 * the lookup would only reach the same servers again. */
		if (ns->naddr && dname_is_sub(ns->name, q->cut.zone))
			continue;
		q->ns_tried[i] = true;
		q->ns_resolves++;
		struct itq_sub *sub = calloc(1, sizeof(*sub));
		struct itq *c = sub ? itq_new(q->r, ns->name, DNS_A) : NULL;
		if (!c) {
			free(sub);
			break;
		}
		sub->parent = q;
		sub->ns = i;
		c->done = ns_resolved;
		c->ctx = sub;
		c->work = q->work;
		c->depth = q->depth + 1;
		q->nsub++;
		started++;
		itq_step(c);
		/* Only one at a time: the first usually suffices, and the
		 * callback re-enters itq_step when it finishes. */
		break;
	}
	return started;
}

/* ---- the main step ---- */

/* Can anything be asked at this cut: an address, or an NS name that can
 * be looked up elsewhere (outside the cut)? */
static bool cut_usable(const struct cache_deleg *d)
{
	for (unsigned i = 0; i < d->nns; i++)
		if (d->ns[i].naddr || !dname_is_sub(d->ns[i].name, d->zone))
			return true;
	return false;
}

/* A forward: zone always starts at its resolvers; a stub: zone at its
 * authorities unless the cache knows a cut below it (learned from them).
 * The longest matching forward: or stub: zone is the one considered. */
static void pin_zone(struct itq *q)
{
	const struct rzone *z = rzones_match(&q->r->zones, q->qname);
	q->pin = NULL;
	if (!z)
		return;
	if (z->kind == RZONE_STUB && dname_labels(q->cut.zone) > dname_labels(z->cut.zone) &&
	    dname_is_sub(q->cut.zone, z->cut.zone))
		return;
	q->cut = z->cut;
	q->pin = z;
}

static void load_cut(struct itq *q)
{
	uint64_t now = resolver_now(q->r);
	if (cache_get_deleg(q->r->cache, q->qname, now, 0, &q->cut) != 0)
		q->cut = q->r->hints;
	/* A cut whose servers are all in-bailiwick without glue is a dead
	 * end: start from the cut above it instead (Unbound does the same). */
	while (!cut_usable(&q->cut) && q->cut.zone[0] != 0) {
		uint8_t up[DNAME_MAXLEN];
		const uint8_t *p = dname_parent(q->cut.zone);
		memcpy(up, p, dname_len(p));
		if (cache_get_deleg(q->r->cache, up, now, 0, &q->cut) != 0) {
			q->cut = q->r->hints;
			break;
		}
	}
	pin_zone(q);
	memset(q->tries, 0, sizeof(q->tries));
	memset(q->ns_tried, 0, sizeof(q->ns_tried));
	q->ns_resolves = 0;
	drop_deferred(q);
	q->minlab = dname_labels(q->cut.zone) + 1;
}

static bool is_forward(const struct itq *q)
{
	return q->pin && q->pin->kind == RZONE_FORWARD;
}

/* The name to send: RFC 9156 minimised to one label below the cut. */
static const uint8_t *send_name(struct itq *q, uint16_t *type)
{
	unsigned labels = dname_labels(q->qname);
	*type = q->qtype;
	if (!q->r->conf->qname_min || q->nomin || q->minlab >= labels || is_forward(q))
		return q->qname;
	const uint8_t *p = q->qname;
	for (unsigned i = 0; i < labels - q->minlab; i++)
		p = dname_parent(p);
	*type = DNS_A; /* what Unbound sends; NS draws odd answers from some */
	return p;
}

/* Looking up an NS name that the cut itself lists with IPv4 addresses
 * (glue kept with the delegation): those are the answer.  Finishes and
 * returns true when so. */
static bool cut_knows(struct itq *q)
{
	for (unsigned i = 0; i < q->cut.nns; i++) {
		const struct cache_deleg_ns *ns = &q->cut.ns[i];
		bool found = false;
		if (!dname_equal(ns->name, q->qname))
			continue;
		for (unsigned a = 0; a < ns->naddr; a++)
			if (ns->addr[a].family == 1)
				found |= rmsg_add(q->res, RSEC_AN, q->qname, DNS_A, DNS_IN,
						  q->cut.ttl, ns->addr[a].addr, 4) == 0;
		if (found) {
			itq_finish(q, DNS_NOERROR);
			return true;
		}
	}
	return false;
}

static void drop_deferred(struct itq *q)
{
	free(q->deferred);
	q->deferred = NULL;
	q->final = false;
}

/*
 * A doubtful answer (empty with AA; RA without AA, i.e. a resolver that
 * recursed for us): keep it, mark the server lame and ask the others; it
 * stands only when nobody else answers (itq_step).  Returns false when it
 * must be taken now (it is the deferred one, or out of memory).
 */
static bool defer_answer(struct itq *q, const struct rmsg *m, const uint8_t *sname,
			 unsigned ns_i, unsigned addr_i)
{
	if (q->final)
		return false;
	if (!q->deferred) {
		q->deferred = malloc(sizeof(*q->deferred));
		if (!q->deferred)
			return false;
		memcpy(q->deferred, m, offsetof(struct rmsg, buf) + m->used);
		memcpy(q->deferred_sname, sname, dname_len(sname));
		q->deferred_ns = ns_i;
		q->deferred_addr = addr_i;
	}
	q->tries[ns_i][addr_i] = MAX_TRIES;
	itq_step(q);
	return true;
}

static void itq_step(struct itq *q)
{
	unsigned ns_i, addr_i;

	if (!q->have_cut) {
		/* A cached answer for a CNAME target ends the chain early. */
		if (q->cnames > 0) {
			struct rmsg *m = malloc(sizeof(*m));
			if (m && cache_lookup(q, q->qname, q->qtype, m)) {
				q->res->rcode = m->rcode;
				for (unsigned k = 0; k < m->nrr; k++)
					if (rmsg_copy_rr(q->res, (enum rsec)m->rr[k].sec, m,
							 &m->rr[k]) != 0)
						break;
				free(m);
				itq_finish(q, q->res->rcode);
				return;
			}
			free(m);
		}
		load_cut(q);
		q->have_cut = true;
		/* Configured servers have no NS names to answer for. */
		if (q->depth > 0 && q->qtype == DNS_A && !q->pin && cut_knows(q))
			return;
	}
	for (;;) {
		if (*q->work >= q->r->conf->max_upstream) {
			itq_finish(q, -1);      /* the work limit */
			return;
		}
		if (pick_server(q, &ns_i, &addr_i) != 0)
			break;
		uint16_t stype;
		const uint8_t *sname = send_name(q, &stype);
		(*q->work)++;
		if (iter_send(q, sname, stype, ns_i, addr_i) == 0)
			return;
		/* Nothing went out: as if it had timed out at once. */
		q->tries[ns_i][addr_i]++;
	}
	if (q->nsub > 0)
		return;
	if (resolve_ns_names(q) > 0)
		return;
	if (q->deferred) {
		/* Nobody better than the doubtful answer: it stands. */
		struct rmsg *m = q->deferred;
		q->deferred = NULL;
		q->final = true;
		iter_answer(q, m, q->deferred_sname, q->deferred_ns, q->deferred_addr);
		free(m);
		return;
	}
	itq_finish(q, -1);
}

/* ---- responses ---- */

static bool in_zone(const struct itq *q, const uint8_t *name)
{
	return dname_is_sub(name, q->cut.zone);
}

static void append_neg(struct itq *q, const struct rmsg *m, struct rmsg *step)
{
	for (unsigned k = 0; k < m->nrr; k++) {
		const struct rrec *r = &m->rr[k];
		if (r->sec == RSEC_NS && r->type == DNS_SOA && in_zone(q, rr_owner(m, r))) {
			if (rmsg_copy_rr(q->res, RSEC_NS, m, r) != 0 ||
			    rmsg_copy_rr(step, RSEC_NS, m, r) != 0)
				return;
			return;
		}
	}
}

/* Does the authority section carry the zone's SOA? */
static bool has_soa(const struct itq *q, const struct rmsg *m)
{
	for (unsigned k = 0; k < m->nrr; k++)
		if (m->rr[k].sec == RSEC_NS && m->rr[k].type == DNS_SOA &&
		    in_zone(q, rr_owner(m, &m->rr[k])))
			return true;
	return false;
}

/* Is this a referral to a zone below the cut and above (or at) qname? */
static int find_referral(struct itq *q, const struct rmsg *m, const uint8_t *sname)
{
	for (unsigned k = 0; k < m->nrr; k++) {
		const struct rrec *r = &m->rr[k];
		if (r->sec != RSEC_NS || r->type != DNS_NS)
			continue;
		const uint8_t *z = rr_owner(m, r);
		if (dname_labels(z) > dname_labels(q->cut.zone) && dname_is_sub(z, q->cut.zone) &&
		    dname_is_sub(sname, z))
			return (int)k;
	}
	return -1;
}

/* Does the answer section hold a record owned by `name`? */
static bool answers_name(const struct rmsg *m, const uint8_t *name)
{
	for (unsigned k = 0; k < m->nrr; k++)
		if (m->rr[k].sec == RSEC_AN && dname_equal(rr_owner(m, &m->rr[k]), name))
			return true;
	return false;
}

/* Copy the glue A records for q->qname out of referral `m` into the
 * result and finish.  Returns false when there are none. */
static bool glue_answer(struct itq *q, const struct rmsg *m)
{
	bool found = false;
	if (!in_zone(q, q->qname))
		return false;
	for (unsigned k = 0; k < m->nrr; k++) {
		const struct rrec *r = &m->rr[k];
		if (r->sec == RSEC_AR && r->type == DNS_A && r->rdlen == 4 &&
		    dname_equal(rr_owner(m, r), q->qname))
			found |= rmsg_copy_rr(q->res, RSEC_AN, m, r) == 0;
	}
	if (found)
		itq_finish(q, DNS_NOERROR);
	return found;
}

static void follow_referral(struct itq *q, const struct rmsg *m, const struct rrec *first)
{
	struct cache_deleg d;
	uint32_t ttl = first->ttl;
	const uint8_t *zone = rr_owner(m, first);

	memset(&d, 0, sizeof(d));
	memcpy(d.zone, zone, dname_len(zone));
	for (unsigned k = 0; k < m->nrr && d.nns < CACHE_DELEG_MAXNS; k++) {
		const struct rrec *r = &m->rr[k];
		if (r->sec != RSEC_NS || r->type != DNS_NS || !dname_equal(rr_owner(m, r), zone))
			continue;
		struct cache_deleg_ns *ns = &d.ns[d.nns++];
		memcpy(ns->name, rr_rdata(m, r), dname_len(rr_rdata(m, r)));
		dname_lower(ns->name);
		if (r->ttl < ttl)
			ttl = r->ttl;
		/* Glue only within the bailiwick of the server that sent it. */
		if (!in_zone(q, ns->name))
			continue;
		for (unsigned g = 0; g < m->nrr && ns->naddr < CACHE_DELEG_MAXADDR; g++) {
			const struct rrec *a = &m->rr[g];
			if (a->sec != RSEC_AR || !dname_equal(rr_owner(m, a), ns->name))
				continue;
			if (a->type == DNS_A && a->rdlen == 4) {
				ns->addr[ns->naddr].family = 1;
				memcpy(ns->addr[ns->naddr++].addr, rr_rdata(m, a), 4);
			} else if (a->type == DNS_AAAA && a->rdlen == 16) {
				ns->addr[ns->naddr].family = 2;
				memcpy(ns->addr[ns->naddr++].addr, rr_rdata(m, a), 16);
			}
		}
	}
	/* Not cacheable (TTL 0, no NS kept) still leads on for this query. */
	(void)!cache_put_deleg(q->r->cache, &d, ttl, resolver_now(q->r));
	/* Looking up an NS name, the referral's own glue for that name (in
	 * the bailiwick of the server that sent it) is what was sought: use
	 * it, as Unbound uses parent-side addresses, rather than asking the
	 * child, which may be the broken part.  Not cached as an answer. */
	if (q->depth > 0 && q->qtype == DNS_A && glue_answer(q, m))
		return;
	q->referrals++;
	if (q->referrals > MAX_REFERRALS) {
		itq_finish(q, -1);
		return;
	}
	q->cut = d;
	q->pin = NULL;  /* below a stub zone: its servers are found by iteration */
	memset(q->tries, 0, sizeof(q->tries));
	memset(q->ns_tried, 0, sizeof(q->ns_tried));
	q->ns_resolves = 0;
	drop_deferred(q);
	q->minlab = dname_labels(d.zone) + 1;
	itq_step(q);
}

/* The answer section for the full name: walk the CNAME chain (RFC 1034
 * 3.6.2), in-bailiwick records only.  Returns true when finished. */
static bool take_answer(struct itq *q, const struct rmsg *m)
{
	uint8_t name[DNAME_MAXLEN];
	struct rmsg *step = malloc(sizeof(*step));
	bool found = false, cname = false;

	if (!step)
		return false;
	rmsg_clear(step);
	/* Names already followed: a chain that comes back to one of them (or
	 * never ends) inside one answer is a loop, answered SERVFAIL and not
	 * cached, as Unbound does. */
	uint8_t seen[MAX_CNAMES + 1][DNAME_MAXLEN];
	unsigned nseen = 0;
	bool loop = false;
	memcpy(name, q->qname, dname_len(q->qname));
	dname_lower(name);
	for (unsigned hops = 0; hops <= MAX_CNAMES; hops++) {
		bool moved = false;
		for (unsigned i = 0; i < nseen && !loop; i++)
			loop = dname_equal(seen[i], name);
		if (loop)
			break;
		memcpy(seen[nseen++], name, dname_len(name));
		if (hops == MAX_CNAMES) {
			loop = true;    /* still moving after the last hop allowed */
			break;
		}
		if (!in_zone(q, name))
			break;
		for (unsigned k = 0; k < m->nrr; k++) {
			const struct rrec *r = &m->rr[k];
			if (r->sec != RSEC_AN || !dname_equal(rr_owner(m, r), name))
				continue;
			if (r->type == q->qtype || q->qtype == DNS_ANY) {
				found = true;
			} else if (r->type == DNS_CNAME && !moved) {
				moved = true;
				cname = true;
				(void)!rmsg_copy_rr(q->res, RSEC_AN, m, r);
				(void)!rmsg_copy_rr(step, RSEC_AN, m, r);
				memcpy(name, rr_rdata(m, r), dname_len(rr_rdata(m, r)));
				dname_lower(name);
				continue;
			} else {
				continue;
			}
			(void)!rmsg_copy_rr(q->res, RSEC_AN, m, r);
			(void)!rmsg_copy_rr(step, RSEC_AN, m, r);
		}
		if (found || !moved)
			break;
	}
	if (loop && !found) {
		free(step);
		itq_finish(q, DNS_SERVFAIL);
		return true;
	}
	if (!found && !cname) {
		free(step);
		return false;
	}
	if (found) {
		step->rcode = 0;
		store(q, q->qname, q->qtype, step);
		free(step);
		itq_finish(q, 0);
		return true;
	}
	/* The chain ends in the packet: the target does not exist, or the
	 * authority says it has no data of the type (NODATA needs its SOA,
	 * RFC 2308 2.2).  Otherwise it leaves the zone or the packet: chase
	 * the target from its own zone cut. */
	if (m->rcode == DNS_NXDOMAIN ||
	    (m->flags & DNS_AA && in_zone(q, name) && has_soa(q, m))) {
		step->rcode = m->rcode;
		append_neg(q, m, step);
		store(q, q->qname, q->qtype, step);
		free(step);
		itq_finish(q, m->rcode);
		return true;
	}
	free(step);
	q->cnames++;
	if (q->cnames > MAX_CNAMES) {
		itq_finish(q, -1);
		return true;
	}
	memcpy(q->qname, name, dname_len(name));
	q->have_cut = false;
	q->nomin = false;
	itq_step(q);
	return true;
}

static void finish_negative(struct itq *q, const struct rmsg *m)
{
	struct rmsg *step = malloc(sizeof(*step));
	if (step) {
		rmsg_clear(step);
		step->rcode = m->rcode;
		append_neg(q, m, step);
		store(q, q->qname, q->qtype, step);
		free(step);
	} else {
		append_neg(q, m, q->res);
	}
	q->res->rcode = m->rcode;
	itq_finish(q, m->rcode);
}

void iter_answer(struct itq *q, const struct rmsg *m, const uint8_t *sname,
		 unsigned ns_i, unsigned addr_i)
{
	bool minimised = dname_len(sname) != dname_len(q->qname);

	if (m->ecs && q->client.bits) {
		q->scope = q->client;
		q->scope.bits = m->ecs_scope < q->client.bits ? m->ecs_scope : q->client.bits;
	}
	if (m->rcode != DNS_NOERROR && m->rcode != DNS_NXDOMAIN && minimised) {
		/* RFC 9156 relaxed: some servers refuse or fail minimised
		 * queries; ask them the full name instead. */
		q->nomin = true;
		itq_step(q);
		return;
	}
	if (m->rcode != DNS_NOERROR && m->rcode != DNS_NXDOMAIN) {
		q->tries[ns_i][addr_i] = MAX_TRIES; /* lame: move on */
		itq_step(q);
		return;
	}
	/* NS records in the authority section make a referral only when the
	 * answer section has nothing for the name asked: a parent that also
	 * answers (as glue holders do) has answered. */
	int ref = find_referral(q, m, sname);
	if (ref >= 0 && !answers_name(m, sname)) {
		/* A forwarder that refers instead of recursing did not do
		 * what it is for: ask the next one. */
		if (is_forward(q)) {
			q->tries[ns_i][addr_i] = MAX_TRIES;
			itq_step(q);
			return;
		}
		follow_referral(q, m, &m->rr[ref]);
		return;
	}
	if (minimised) {
		/* RFC 9156 relaxed: an NXDOMAIN or oddity on the way down falls
		 * back to the full name; NODATA (an empty non-terminal or data at a
		 * name above) adds a label. */
		if (m->rcode == DNS_NXDOMAIN)
			q->nomin = true;
		else
			q->minlab++;
		itq_step(q);
		return;
	}
	/* RA without AA: a resolver answered from its cache, not the zone's
	 * server (Unbound's "recursive lame"). */
	if (!is_forward(q) && (m->flags & (DNS_RA | DNS_AA)) == DNS_RA &&
	    m->rcode == DNS_NOERROR && answers_name(m, sname) && defer_answer(q, m, sname, ns_i, addr_i))
		return;
	if (take_answer(q, m))
		return;
	bool soa = false, empty = true, upward = false;
	for (unsigned k = 0; k < m->nrr; k++) {
		const struct rrec *r = &m->rr[k];
		soa |= r->sec == RSEC_NS && r->type == DNS_SOA;
		empty &= r->sec == RSEC_AR;
		upward |= r->sec == RSEC_NS && r->type == DNS_NS && !in_zone(q, rr_owner(m, r));
	}
	/* A referral up or sideways (to the root, say), even with AA, is the
	 * mark of a lame server: it does not serve the zone. */
	if (m->rcode == DNS_NOERROR && upward && !soa) {
		q->tries[ns_i][addr_i] = MAX_TRIES;
		itq_step(q);
		return;
	}
	/* A NOERROR with AA and nothing at all in it says little: another
	 * server of the zone may know better (Unbound ignores such answers
	 * too); it stands only when no server is left. */
	if (m->rcode == DNS_NOERROR && (m->flags & DNS_AA) && empty &&
	    defer_answer(q, m, sname, ns_i, addr_i))
		return;
	/* NOERROR with SOA but no AA still means NODATA (RFC 2308 2.2). */
	if (m->rcode == DNS_NXDOMAIN || (m->flags & DNS_AA) || soa) {
		finish_negative(q, m);
		return;
	}
	/* Lame: no answer, no referral (RFC 2308 2.2 type 4 / lame delegation). */
	q->tries[ns_i][addr_i] = MAX_TRIES;
	itq_step(q);
}

void iter_lame(struct itq *q, unsigned ns_i, unsigned addr_i)
{
	q->tries[ns_i][addr_i] = MAX_TRIES;
	itq_step(q);
}

void iter_no_answer(struct itq *q, unsigned ns_i, unsigned addr_i)
{
	q->tries[ns_i][addr_i]++;
	itq_step(q);
}

int iter_resolve(struct resolver *r, const uint8_t *qname, uint16_t qtype,
		 const struct cache_net *client, itq_done_fn done, void *ctx)
{
	struct itq *q = itq_new(r, qname, qtype);
	if (!q)
		return VANE_ENOMEM;
	q->done = done;
	q->ctx = ctx;
	if (client && r->conf->ecs)
		q->client = *client;
	atomic_fetch_add(&r->st.resolutions, 1);
	itq_step(q);
	return 0;
}
