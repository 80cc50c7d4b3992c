/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * RFC 1034 4.3.2 for one zone: exact match, CNAME chains, delegations,
 * wildcards (RFC 4592) and negative answers (RFC 2308), with the choices
 * Knot DNS makes where the RFCs leave room.
 */
#include <string.h>
#include <netinet/in.h>

#include "auth/answer.h"
#include "auth/resp.h"

#define CNAME_CHAIN_MAX 16 /* loops and long chains stop here */

/* Additional-section addresses for NS/MX/SRV targets (RFC 1034 4.3.2 step 6). */
static void put_additionals(struct resp *r, const struct rrset *rs)
{
	if (!rs->addl)
		return;
	for (unsigned i = 0; i < rs->count; i++) {
		const struct znode *t = rs->addl[i];
		if (!t)
			continue;
		const struct rrset *a = znode_rrset(t, DNS_A);
		const struct rrset *aaaa = znode_rrset(t, DNS_AAAA);
		if (a)
			resp_put_rrset(r, SEC_AR, t->name_orig, a, a->ttl);
		if (aaaa)
			resp_put_rrset(r, SEC_AR, t->name_orig, aaaa, aaaa->ttl);
	}
}

/* RFC 2308 3: SOA in authority, TTL = min(SOA TTL, SOA MINIMUM). */
static void put_negative(struct resp *r, const struct zone *z, uint32_t ttl)
{
	resp_put_rrset(r, SEC_NS, z->apex_node->name_orig, z->soa, ttl);
}

/* RFC 1034 4.3.2 step 3b: NS of the cut in authority, glue in additional. */
static void put_referral(struct resp *r, const struct znode *cut)
{
	const struct rrset *ns = znode_rrset(cut, DNS_NS);
	if (resp_put_rrset(r, SEC_NS, cut->name_orig, ns, ns->ttl))
		put_additionals(r, ns);
}

/* A lower-cased name to look up, with the offsets and hashes of all its
 * suffixes (computed once per name, see dname_suffix_hashes). */
struct lookup {
	const uint8_t *name;
	size_t len;
	const uint8_t *offs;
	unsigned n;
	const uint32_t *h;
};

/* `ttl` lowered to the TTL of every name of `set` at or above `ln`. */
static uint32_t cap_at_services(const struct steer_set *set, const struct zone *z,
				const struct lookup *ln, uint32_t ttl)
{
	if (!set || set->n == 0)
		return ttl;
	for (unsigned i = 0; i < ln->n && ln->len - ln->offs[i] >= z->apex_len; i++) {
		int k = steer_set_find(set, ln->name + ln->offs[i], ln->len - ln->offs[i],
				       ln->h[i]);
		if (k >= 0 && set->svc[k].ttl < ttl)
			ttl = set->svc[k].ttl;
	}
	return ttl;
}

/*
 * The negative TTL for `ln` (RFC 2308 sections 3 and 5: min(SOA TTL, SOA
 * MINIMUM)), capped at the TTL of every steered name at or above it.  A
 * steered name's answers change within its TTL; a NODATA or NXDOMAIN there
 * cached for the SOA minimum would outlive the fix by that much (the zombie
 * outage), whatever the type asked.  A service deleted by a recent reload
 * keeps that cap for the deletion-guard window, so undoing the deletion
 * takes effect within the service TTL too.  Only negative answers pay for
 * the lookups, one per label inside the zone.
 */
static uint32_t negative_ttl(const struct zone *z, const struct auth_steer *st,
			     const struct lookup *ln)
{
	uint32_t ttl = z->neg_ttl;
	if (!st)
		return ttl;
	return cap_at_services(st->removed, z, ln, cap_at_services(st->set, z, ln, ttl));
}

/* The closest encloser: the deepest existing ancestor (the apex at least).
 * Sets `*label` to its label index in `ln`. */
static const struct znode *closest_encloser(const struct zone *z,
					    const struct lookup *ln, unsigned *label)
{
	for (unsigned i = 1;; i++) {
		const struct znode *n = zone_find_h(z, ln->name + ln->offs[i],
						    ln->len - ln->offs[i], ln->h[i]);
		if (n) {
			*label = i;
			return n;
		}
	}
}

static const struct znode *wildcard_child(const struct zone *z, const struct znode *ce,
					  uint32_t ce_hash)
{
	static const uint8_t star[2] = { 1, '*' };
	uint8_t wc[DNAME_MAXLEN + 2];
	if (ce->name_len + 2u > DNAME_MAXLEN)
		return NULL;
	wc[0] = 1;
	wc[1] = '*';
	memcpy(wc + 2, ce->name, ce->name_len);
	return zone_find_h(z, wc, ce->name_len + 2u, dname_hash_label(ce_hash, star));
}

static bool seen_before(const uint8_t *const *seen, unsigned n, const uint8_t *name)
{
	for (unsigned i = 0; i < n; i++)
		if (dname_equal(seen[i], name))
			return true;
	return false;
}

/* Answer from the data at `node` for owner `owner`.  Returns the CNAME
 * target to follow next, or NULL when the answer is complete. */
static const uint8_t *answer_node(struct resp *r, const struct zone *z,
				  const struct znode *node, const uint8_t *owner,
				  uint16_t qtype, bool tcp, const struct auth_steer *st,
				  const struct lookup *ln)
{
	if (qtype == DNS_ANY && node->rrset_count > 0) {
		/* RFC 8482 4.1 over UDP: one RRset is enough; Knot picks the
		 * first by type and does the same over TCP. */
		const struct rrset *rs = &node->rrsets[0];
		(void)tcp;
		resp_put_rrset(r, SEC_AN, owner, rs, rs->ttl);
		return NULL;
	}
	const struct rrset *rs = znode_rrset(node, qtype);
	if (rs) {
		if (resp_put_rrset(r, SEC_AN, owner, rs, rs->ttl))
			put_additionals(r, rs);
		return NULL;
	}
	const struct rrset *cn = znode_rrset(node, DNS_CNAME);
	if (cn) {
		if (!resp_put_rrset(r, SEC_AN, owner, cn, cn->ttl))
			return NULL;
		return cn->rdata + 2;
	}
	put_negative(r, z, negative_ttl(z, st, ln)); /* NODATA */
	return NULL;
}

/* The resolver's address in ECS family terms (RFC 7871 6: 1 = IPv4,
 * 2 = IPv6); IPv4-mapped IPv6 sources count as IPv4. */
static void client_source(const struct sockaddr *sa, struct steer_client *c)
{
	c->family = 0;
	memset(c->addr, 0, sizeof(c->addr));
	if (!sa)
		return;
	if (sa->sa_family == AF_INET) {
		c->family = 1;
		memcpy(c->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			c->family = 1;
			memcpy(c->addr, a6->s6_addr + 12, 4);
		} else {
			c->family = 2;
			memcpy(c->addr, a6->s6_addr, 16);
		}
	}
}

/* Who is asking, with geo and latency facts only when the policy needs them. */
static void steer_client_fill(struct steer_client *c, const struct steer_service *svc,
			      uint32_t idx, const struct dns_query *q,
			      const struct auth_steer *st, const struct auth_client *cl)
{
	client_source(cl ? cl->src : NULL, c);
	c->ecs = q->ecs;
	c->has_geo = false;
	c->latency = NULL;
	bool geo = svc->uses_geo;
	bool lat = st->latency && svc->uses_latency;
	if (st->geo && (geo || lat)) {
		uint16_t family;
		const uint8_t *addr;
		steer_client_addr(svc, c, &family, &addr);
		if (family == 1 || family == 2)
			c->has_geo = geo_lookup(st->geo, cl ? cl->geo_cache : NULL,
						family == 1 ? AF_INET : AF_INET6, addr,
						&c->geo) == 0;
	}
	if (lat)
		c->latency = steer_latency_lookup(st->latency, svc, idx, c);
}

/*
 * `all-down: open`: every chosen endpoint, as many whole endpoints as fit.
 * Any subset is a valid steering answer, so what does not fit is left out
 * rather than truncated (TC only when not even the first fits).
 */
static void put_open(struct resp *r, const struct steer_service *svc,
		     const struct steer_result *sr, const uint8_t *owner, uint16_t qtype)
{
	bool tc = r->tc, wrote = false;
	for (unsigned k = 0; k < sr->n; k++) {
		const struct steer_endpoint *ep = &svc->ep[sr->ep[k]];
		unsigned count = ep->cname_len ? 0 : qtype == DNS_AAAA ? ep->n_v6 : ep->n_v4;
		struct resp_mark m = resp_mark(r);
		for (unsigned j = 0; j < count; j++) {
			const uint8_t *rd = qtype == DNS_AAAA ? ep->v6[j] : ep->v4[j];
			if (!resp_put_rr(r, SEC_AN, owner, qtype, DNS_IN, sr->ttl, rd,
					 qtype == DNS_AAAA ? 16 : 4)) {
				resp_rewind(r, &m);
				r->tc = tc || !wrote;
				return;
			}
		}
		wrote |= count > 0;
	}
}

/*
 * A/AAAA at a steered name: run the service's filter chain and answer from
 * the chosen endpoints.  Returns a CNAME target to follow (an endpoint given
 * as `cname:`, as gdnsd's DYNC), or NULL when the answer is complete.
 */
static const uint8_t *answer_steered(struct resp *r, const struct zone *z,
				     const struct dns_query *q, uint32_t idx,
				     const struct auth_steer *st,
				     const struct auth_client *cl, const struct lookup *ln,
				     const uint8_t *owner, struct auth_result *res)
{
	const struct steer_service *svc = &st->set->svc[idx];
	const struct steer_admin *admin = st->admin ? st->admin[idx] : NULL;
	struct steer_client c;
	struct steer_result sr;
	uint16_t qtype = q->qtype == DNS_AAAA ? DNS_AAAA : DNS_A; /* ANY: A */

	steer_client_fill(&c, svc, idx, q, st, cl);
	steer_decide(svc, &c, st->health, admin, cl ? cl->now_ms : 0,
		     cl ? cl->rand : 0, &sr, cl ? cl->trace : NULL);
	res->service = (int32_t)idx;
	res->fallback = sr.fallback;
	res->all_drained = sr.all_drained;
	/* Along a CNAME chain of steered names the answer holds only as
	 * widely as its narrowest decision: keep the longest scope. */
	if (sr.scope > r->ecs_scope)
		r->ecs_scope = sr.scope;
	res->scope = r->ecs_scope;
	res->n_ep = sr.n < AUTH_RESULT_EPS ? sr.n : AUTH_RESULT_EPS;
	memcpy(res->ep, sr.ep, res->n_ep);

	if (sr.outcome == STEER_SERVFAIL) {
		uint8_t *hdr = r->w.start;
		hdr[2] &= (uint8_t)~(DNS_AA >> 8);
		hdr[3] = (uint8_t)((hdr[3] & 0xF0) | DNS_SERVFAIL);
		return NULL;
	}
	uint8_t clen;
	const uint8_t *cname = sr.outcome == STEER_ANSWER ? steer_result_cname(svc, &sr, &clen) : NULL;
	if (cname) {
		struct resp_mark m = resp_mark(r);
		if (!resp_put_rr(r, SEC_AN, owner, DNS_CNAME, DNS_IN, sr.ttl, cname, clen)) {
			resp_rewind(r, &m);
			return NULL;
		}
		return cname;
	}
	if (sr.outcome == STEER_ANSWER && sr.open && steer_addr_count(svc, &sr, qtype) > 0) {
		put_open(r, svc, &sr, owner, qtype);
		return NULL;
	}
	if (sr.outcome == STEER_ANSWER && steer_addr_count(svc, &sr, qtype) > 0) {
		struct steer_addr_iter it;
		const uint8_t *rd;
		uint16_t rdlen;
		struct resp_mark m = resp_mark(r);
		steer_addr_begin(&it, svc, &sr, qtype);
		while ((rd = steer_addr_next(&it, &rdlen)) != NULL)
			if (!resp_put_rr(r, SEC_AN, owner, qtype, DNS_IN, sr.ttl, rd, rdlen)) {
				resp_rewind(r, &m);
				break;
			}
		return NULL;
	}
	/* NODATA: no endpoint of this family, or all down.  Either can change
	 * within the service TTL (ttl-degraded included), so the negative TTL
	 * is capped by it as well. */
	uint32_t ttl = negative_ttl(z, st, ln);
	if (sr.ttl < ttl)
		ttl = sr.ttl;
	put_negative(r, z, ttl);
	return NULL;
}

/*
 * RFC 6672 2.2: a name below a DNAME owner is answered with the DNAME and a
 * CNAME synthesised from it (TTL of the DNAME), then the new name is looked
 * up as with any CNAME.  Returns the synthesised target (in `synth`), or
 * NULL when the answer ends here (YXDOMAIN when the new name is too long).
 */
static const uint8_t *answer_dname(struct resp *r, const struct znode *ce,
				   const struct rrset *dn, const uint8_t *owner,
				   const struct lookup *ln, unsigned ce_label,
				   uint8_t *synth)
{
	const uint8_t *target = dn->rdata + 2;
	size_t prefix = ln->offs[ce_label];     /* labels of `owner` below ce */
	size_t tlen = dname_len(target);
	if (!resp_put_rrset(r, SEC_AN, ce->name_orig, dn, dn->ttl))
		return NULL;
	if (prefix + tlen > DNAME_MAXLEN) {
		uint8_t *hdr = r->w.start;
		hdr[3] = (uint8_t)((hdr[3] & 0xF0) | DNS_YXDOMAIN);
		return NULL;
	}
	memcpy(synth, owner, prefix);
	memcpy(synth + prefix, target, tlen);
	if (!resp_put_rr(r, SEC_AN, owner, DNS_CNAME, DNS_IN, dn->ttl, synth,
			 (uint16_t)(prefix + tlen)))
		return NULL;
	return synth;
}

static void answer_zone(struct resp *r, const struct zone *z,
			const struct dns_query *q, const struct lookup *qn, bool tcp,
			const struct auth_steer *st, const struct auth_client *cl,
			struct auth_result *res)
{
	const uint8_t *seen[CNAME_CHAIN_MAX];
	unsigned nseen = 0;
	uint8_t lbuf[DNAME_MAXLEN], loffs[DNAME_MAXLABELS];
	uint8_t synth[4][DNAME_MAXLEN];   /* DNAME targets stay valid for compression */
	unsigned nsynth = 0;
	uint32_t lh[DNAME_MAXLABELS];
	struct lookup tn;
	const struct lookup *ln = qn;     /* lower-cased, for lookups */
	const uint8_t *owner = q->qname;  /* as written into the answer */
	uint8_t *hdr = r->w.start;

	hdr[2] |= DNS_AA >> 8;
	seen[nseen++] = q->qname;
	for (;;) {
		const struct znode *node = zone_find_h(z, ln->name, ln->len, ln->h[0]);
		const uint8_t *next;
		int svc = st ? steer_set_find(st->set, ln->name, ln->len, ln->h[0]) : -1;

		if (svc >= 0 && (q->qtype == DNS_A || q->qtype == DNS_AAAA || q->qtype == DNS_ANY)) {
			if (nseen == 1)
				res->node = node;
			next = answer_steered(r, z, q, (uint32_t)svc, st, cl, ln, owner, res);
		} else if (svc >= 0 && !node) {
			/* The name exists as a service; other types have no data. */
			put_negative(r, z, negative_ttl(z, st, ln));
			return;
		} else if (node) {
			/* DS belongs to the parent side of a cut (RFC 4035 3.1.4.1). */
			bool ds_here = q->qtype == DNS_DS && node->cut == node;
			if (node->cut && !ds_here) {
				if (nseen == 1)
					hdr[2] &= (uint8_t)~(DNS_AA >> 8);
				put_referral(r, node->cut);
				return;
			}
			if (nseen == 1)
				res->node = node;
			next = answer_node(r, z, node, owner, q->qtype, tcp, st, ln);
		} else {
			unsigned ce_label;
			const struct znode *ce = closest_encloser(z, ln, &ce_label);
			if (ce->cut) {
				if (nseen == 1)
					hdr[2] &= (uint8_t)~(DNS_AA >> 8);
				put_referral(r, ce->cut);
				return;
			}
			const struct rrset *dn = (ce->flags & ZNODE_DNAME) ?
						 znode_rrset(ce, DNS_DNAME) : NULL;
			const struct znode *wc = (!dn && (ce->flags & ZNODE_WILDCARD_CHILD)) ?
						 wildcard_child(z, ce, ln->h[ce_label]) : NULL;
			if (dn) {
				if (nsynth == 4)
					return;
				next = answer_dname(r, ce, dn, owner, ln, ce_label, synth[nsynth++]);
			} else if (!wc) {
				/* RFC 6604 2.1: the rcode describes the last name. */
				hdr[3] = (uint8_t)((hdr[3] & 0xF0) | DNS_NXDOMAIN);
				put_negative(r, z, negative_ttl(z, st, ln));
				return;
			} else {
				/* RFC 4592 3.3.1: synthesise with the query's owner name. */
				res->wildcard = true;
				if (nseen == 1)
					res->node = wc;
				next = answer_node(r, z, wc, owner, q->qtype, tcp, st, ln);
			}
		}
		/* Follow CNAMEs inside this zone only, as Knot does; a loop or
		 * an over-long chain ends with what is already in the answer. */
		if (!next || nseen == CNAME_CHAIN_MAX || !dname_is_sub(next, z->apex) ||
		    seen_before(seen, nseen, next))
			return;
		seen[nseen++] = next;
		owner = next;
		tn.len = dname_len(next);
		memcpy(lbuf, next, tn.len);
		dname_lower(lbuf);
		tn.name = lbuf;
		tn.n = dname_label_offsets(lbuf, loffs);
		tn.offs = loffs;
		dname_suffix_hashes(lbuf, loffs, tn.n, lh);
		tn.h = lh;
		ln = &tn;
	}
}

/* CH TXT id.server/hostname.bind and version.server/version.bind, as Knot
 * and NSD answer them (no AA); anything else in CH is refused. */
static uint8_t answer_chaos(struct resp *r, const struct auth_conf *conf,
			    const struct dns_query *q)
{
	static const uint8_t id_server[] = "\2id\6server";
	static const uint8_t hostname_bind[] = "\10hostname\4bind";
	static const uint8_t version_server[] = "\7version\6server";
	static const uint8_t version_bind[] = "\7version\4bind";
	const char *text = NULL;

	if (q->qtype != DNS_TXT && q->qtype != DNS_ANY)
		return DNS_REFUSED;
	if (dname_equal(q->qname, id_server) || dname_equal(q->qname, hostname_bind))
		text = conf->identity;
	else if (dname_equal(q->qname, version_server) || dname_equal(q->qname, version_bind))
		text = conf->version;
	if (!text || !*text)
		return DNS_REFUSED;
	uint8_t rd[256];
	size_t tl = strlen(text);
	if (tl > 255)
		tl = 255;
	rd[0] = (uint8_t)tl;
	memcpy(rd + 1, text, tl);
	resp_put_rr(r, SEC_AN, q->qname, DNS_TXT, DNS_CH, 0, rd, (uint16_t)(tl + 1));
	return DNS_NOERROR;
}

/* Space the OPT record will need, reserved before the sections. */
static size_t opt_size(const struct auth_conf *conf, const struct dns_query *q,
		       const uint8_t *scookie)
{
	size_t n = 11;
	if (scookie)
		n += 4u + COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN;
	if (q->nsid && conf->nsid_len)
		n += 4u + conf->nsid_len;
	if (q->ecs.present)
		n += 8u + ecs_addr_bytes(q->ecs.source);
	return n;
}

/* RFC 6891 6.1: one OPT, our payload size, extended rcode, DO echoed;
 * `scookie` (NULL = none) is the server cookie to send back. */
static void put_opt(struct resp *r, const struct auth_conf *conf,
		    const struct dns_query *q, unsigned rcode, const uint8_t *scookie)
{
	struct wire *w = &r->w;
	wire_write_u8(w, 0);
	wire_write_u16(w, DNS_OPT);
	wire_write_u16(w, conf->max_udp);
	wire_write_u8(w, (uint8_t)(rcode >> 4));
	wire_write_u8(w, 0);
	wire_write_u16(w, q->edns_do ? 0x8000 : 0);
	uint8_t *lenpos = w->pos;
	wire_write_u16(w, 0);
	if (q->nsid && conf->nsid_len) {
		wire_write_u16(w, EDNS_NSID);
		wire_write_u16(w, conf->nsid_len);
		wire_write(w, conf->nsid, conf->nsid_len);
	}
	if (q->ecs.present) {
		/* RFC 7871 7.2.1: echo the option with the widest prefix over
		 * which the answer holds: 0 for static data, the steering
		 * decision's scope otherwise. */
		unsigned nb = ecs_addr_bytes(q->ecs.source);
		wire_write_u16(w, EDNS_ECS);
		wire_write_u16(w, (uint16_t)(4 + nb));
		wire_write_u16(w, q->ecs.family);
		wire_write_u8(w, q->ecs.source);
		wire_write_u8(w, r->ecs_scope);
		wire_write(w, q->ecs.addr, nb);
	}
	if (scookie) {
		/* RFC 7873 5.2.3-5.2.5: the client cookie echoed, then ours. */
		wire_write_u16(w, EDNS_COOKIE);
		wire_write_u16(w, COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN);
		wire_write(w, q->cookie.client, COOKIE_CLIENT_LEN);
		wire_write(w, scookie, COOKIE_SERVER_LEN);
	}
	if (!w->err) {
		wire_put_u16(lenpos, (uint16_t)(w->pos - lenpos - 2));
		r->counts[SEC_AR]++;
	}
}

/*
 * RFC 7873 5.2 with RFC 9018 server cookies: note what the query's COOKIE
 * option proves in `res->cookie` and make the server cookie to return.
 * Returns false when no cookie goes back (cookies off, no option, no
 * per-thread MAC, or an address family a cookie cannot cover).
 */
static bool cookie_process(const struct auth_conf *conf, const struct auth_client *cl,
			   const struct dns_query *q, struct auth_result *res,
			   uint8_t scookie[COOKIE_SERVER_LEN])
{
	struct cookie_addr ca;
	if (!conf->cookies || !q->edns || !q->cookie.present || !cl || !cl->cookie_mac ||
	    cookie_addr_from_sa(cl->src, &ca) < 0)
		return false;
	uint64_t now_s = cl->now_ms / 1000;
	enum cookie_status st = cookie_check(cl->cookie_mac, conf->cookie_secret,
					     conf->cookie_rotate_s, &q->cookie, &ca, now_s);
	res->cookie = (uint8_t)st;
	return cookie_answer(cl->cookie_mac, conf->cookie_secret, conf->cookie_rotate_s,
			     &q->cookie, st, &ca, now_s, scookie) == 0;
}

/* What kind of answer the finished response is, for rate limiting. */
static uint8_t answer_kind(const struct resp *r, unsigned rcode)
{
	const uint8_t *hdr = r->w.start;
	if (rcode == DNS_NXDOMAIN)
		return AUTH_NXDOMAIN;
	if (rcode != DNS_NOERROR)
		return AUTH_ERROR;
	if (r->counts[SEC_AN] > 0)
		return AUTH_ANSWER;
	/* Authoritative data clears AA only at a delegation. */
	if (!(hdr[2] & (DNS_AA >> 8)) && r->counts[SEC_NS] > 0)
		return AUTH_REFERRAL;
	return AUTH_NODATA;
}

static size_t udp_limit(const struct auth_conf *conf, const struct dns_query *q)
{
	if (!q->edns)
		return DNS_UDP_MIN;
	return q->edns_udp < conf->max_udp ? q->edns_udp : conf->max_udp;
}

size_t auth_answer(const struct zone_db *db, const struct auth_conf *conf,
		   const struct auth_steer *steer, const struct auth_client *client,
		   const uint8_t *query, size_t qlen, bool tcp,
		   uint8_t *out, size_t outcap, struct auth_result *res)
{
	struct dns_query q;
	struct resp r;
	unsigned rcode = DNS_NOERROR;
	uint8_t scookie_buf[COOKIE_SERVER_LEN];
	const uint8_t *scookie = NULL;
	enum dns_verdict v = dns_query_parse(query, qlen, &q);

	res->qtype = q.qtype;
	res->tc = false;
	res->service = -1;
	res->fallback = false;
	res->all_drained = false;
	res->scope = 0;
	res->n_ep = 0;
	res->kind = AUTH_ERROR;
	res->wildcard = false;
	res->cookie = COOKIE_NONE;
	res->qend = DNS_HDRLEN;
	res->opt_off = 0;
	res->node = NULL;
	res->xfr = (v == DNS_V_OK && (q.tsig || q.qtype == DNS_AXFR || q.qtype == DNS_IXFR)) ||
		   (v == DNS_V_NOTIMP && DNS_OPCODE(q.flags) == DNS_OP_NOTIFY); /* to a secondary */
	if (v == DNS_V_DROP || outcap < DNS_UDP_MIN) {
		res->rcode = 0;
		return 0;
	}
	size_t limit = tcp ? DNS_MAXMSG : udp_limit(conf, &q);
	if (limit > outcap)
		limit = outcap;

	/* Header: ID, opcode, RD and CD from the query; the question echoed
	 * only when it parsed (RFC 1035 4.1.1). */
	bool echo_q = q.qname_len > 0;
	resp_init(&r, out, limit, query, echo_q ? q.question_end : DNS_HDRLEN, &q);
	res->qend = (uint16_t)(echo_q ? q.question_end : DNS_HDRLEN);
	if (DNS_OPCODE(q.flags) == DNS_OP_QUERY) {
		out[2] = (uint8_t)(0x80 | (query[2] & 0x79)); /* QR, opcode, RD */
		out[3] = query[3] & 0x10;                      /* CD */
	} else {
		/* RD and CD mean something only in a QUERY (RFC 1035 4.1.1,
		 * RFC 4035 3.2.2); BIND clears them for other opcodes and
		 * ISC's EDNS compliance test (opcodeflg) expects that. */
		out[2] = (uint8_t)(0x80 | (query[2] & 0x78)); /* QR, opcode */
		out[3] = 0;
	}
	wire_put_u16(out + 4, echo_q ? 1 : 0);

	if (v != DNS_V_FORMERR && cookie_process(conf, client, &q, res, scookie_buf))
		scookie = scookie_buf;

	switch (v) {
	case DNS_V_FORMERR:
		rcode = DNS_FORMERR;
		q.edns = false; /* the OPT itself may be what was wrong */
		goto finish;
	case DNS_V_NOTIMP:
		rcode = DNS_NOTIMP;
		goto finish;
	case DNS_V_BADVERS:
		rcode = DNS_BADVERS;
		goto finish;
	default:
		break;
	}
	/* RFC 7873 5.2.3/5.2.4: a server that requires cookies answers a UDP
	 * query from a cookie-aware client without a valid server cookie with
	 * BADCOOKIE and a fresh cookie; over TCP the address is proven. */
	if (conf->require_cookie && scookie && !tcp && res->cookie != COOKIE_VALID) {
		rcode = DNS_BADCOOKIE;
		goto finish;
	}

	size_t reserve = q.edns ? opt_size(conf, &q, scookie) : 0;
	r.w.end -= reserve;

	if (q.qclass == DNS_CH) {
		rcode = answer_chaos(&r, conf, &q);
	} else if (q.qclass != DNS_IN && q.qclass != DNS_ANYCLASS) {
		rcode = DNS_REFUSED;
	} else if (q.qtype == DNS_AXFR || q.qtype == DNS_IXFR) {
		/* Transfers are serve/xfr.c's (res->xfr); without transfer
		 * settings: NOTIMP over UDP, NOTAUTH over TCP (Knot). */
		rcode = (tcp || q.qtype == DNS_IXFR) ? DNS_NOTAUTH : DNS_NOTIMP;
	} else {
		uint32_t qh[DNAME_MAXLABELS];
		unsigned zl;
		struct lookup qn = { q.qname, q.qname_len, q.qname_offs, q.qname_labels, qh };
		dname_suffix_hashes(q.qname, q.qname_offs, q.qname_labels, qh);
		const struct zone *z = zone_db_find_h(db, q.qname, q.qname_offs,
						      q.qname_labels, qh, &zl);
		/* DS at a zone apex lives in the parent zone, if we serve it. */
		if (z && q.qtype == DNS_DS && zl == 0 && q.qname_labels > 0) {
			unsigned pl;
			const struct zone *pz = zone_db_find_h(db, q.qname,
							       q.qname_offs + 1, q.qname_labels - 1u,
							       qh + 1, &pl);
			if (pz)
				z = pz;
		}
		if (!z)
			rcode = DNS_REFUSED;
		else if (__builtin_expect(__atomic_load_n(&z->expired, __ATOMIC_RELAXED), 0))
			rcode = DNS_SERVFAIL;   /* an expired secondary (RFC 1034 4.3.5) */
		else
			answer_zone(&r, z, &q, &qn, tcp, steer, client, res);
	}
	r.w.end += reserve;
finish:
	out[3] = (uint8_t)((out[3] & 0xF0) | (out[3] & 0x0F) | (rcode & 0x0F));
	res->rcode = (uint8_t)((out[3] & 0x0F) | (rcode & 0xFF0));
	res->kind = answer_kind(&r, res->rcode);
	if (q.edns) {
		size_t opt_at = wire_offset(&r.w);
		uint16_t ar = r.counts[SEC_AR];
		put_opt(&r, conf, &q, rcode, scookie);
		if (r.counts[SEC_AR] != ar)
			res->opt_off = (uint16_t)opt_at;
	}
	size_t n = resp_finish(&r);
	res->tc = r.tc;
	return n;
}
