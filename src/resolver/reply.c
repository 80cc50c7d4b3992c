/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The client's answer once a resolution has ended (reply.h). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "resolver/reply.h"

/*
 * The TTLs the cache would give `m` (cache.h, cache_store.c clamp_ttls):
 * max-ttl on every RR and min-ttl (per zone: zones-ttl) on positive ones; for a negative answer
 * the SOA at min(SOA TTL, SOA MINIMUM) capped by negative-max-ttl (RFC 2308 5).
 */
static void clamp_ttls(const struct resolver *r, const uint8_t *qname, struct rmsg *m)
{
	const struct resolver_conf *cf = r->conf;
	uint32_t min = resolver_min_ttl(r, qname), max = cf->max_ttl_ms / 1000;
	uint32_t negmax = cf->neg_max_ttl_ms / 1000;
	bool negative = m->rcode == DNS_NXDOMAIN;
	if (m->rcode == DNS_NOERROR) {
		negative = true;
		for (unsigned i = 0; i < m->nrr; i++)
			if (m->rr[i].sec == RSEC_AN && m->rr[i].type != DNS_CNAME)
				negative = false;
	}
	for (unsigned i = 0; i < m->nrr; i++) {
		struct rrec *rr = &m->rr[i];
		if (negative && rr->sec == RSEC_NS && rr->type == DNS_SOA) {
			uint32_t soamin = rr_soa_minimum(m, rr);
			if (soamin < rr->ttl)
				rr->ttl = soamin;
			if (negmax && rr->ttl > negmax)
				rr->ttl = negmax;
			continue;
		}
		if (max && rr->ttl > max)
			rr->ttl = max;
		if (!negative && rr->ttl < min)  /* min-ttl is for positive data */
			rr->ttl = min;
	}
}

/* Answer from the cache, as a hit would be.  Returns the length or < 0. */
static int from_cache(struct resolver *r, const struct dns_query *q, const uint8_t *qpkt,
		      const struct cache_net *net, unsigned flags, uint8_t *out, size_t limit)
{
	struct cache_hit hit;
	int n = cache_answer(r->cache, q, qpkt, net, resolver_now(r), flags, out, limit, &hit);
	if (n > 0 && hit.stale)
		atomic_fetch_add(&r->st.stale_answers, 1);
	return n;
}

int resolver_reply(struct resolver *r, const struct dns_query *q, const uint8_t *qpkt,
		   size_t qlen, const struct cache_net *net, int rcode,
		   const struct rmsg *m, uint8_t *out, size_t limit)
{
	static __thread struct rmsg *cm;
	int n;

	if (rcode < 0 || !m) {
		/* RFC 8767: every authority failed; a stale answer beats SERVFAIL. */
		if (r->conf->serve_stale &&
		    (n = from_cache(r, q, qpkt, net, CACHE_STALE_OK, out, limit)) > 0)
			return n;
		atomic_fetch_add(&r->st.servfail, 1);
		return ranswer_error(out, limit, q, qpkt, qlen, DNS_SERVFAIL);
	}
	/* The iterator has stored the answer: answer from the cache, exactly as
	 * a hit would be (TTL clamps, ECS scope, layout). */
	n = from_cache(r, q, qpkt, net, 0, out, limit);
	if (n > 0)
		return n;
	/* Not cacheable (TTL 0, too large, no SOA ...): build it directly,
	 * with the clamps the cache would have applied. */
	if (!cm && !(cm = malloc(sizeof(*cm))))
		return ranswer_error(out, limit, q, qpkt, qlen, DNS_SERVFAIL);
	memcpy(cm, m, offsetof(struct rmsg, buf) + m->used);
	clamp_ttls(r, q->qname, cm);
	return ranswer_build(out, limit, q, qpkt, cm->rcode, cm, 0, 0, net ? net->bits : 0);
}
