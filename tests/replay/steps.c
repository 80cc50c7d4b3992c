/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The steps of a scenario: client queries answered the way vane-resolver
 * answers them (cache hit, else iter_resolve then resolver_reply), the
 * CHECK_ANSWER comparison (rcode, answer RRsets as sets, TTLs when MATCH
 * has ttl), CHECK_OUT_QUERY against the log of upstream queries, REPLY,
 * TIMEOUT and TIME_PASSES on the fake clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mnemonic.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "replay.h"
#include "resolver/iter.h"
#include "resolver/reply.h"

struct client {
	struct client *next;
	struct run *run;
	bool answered, prefetch;
	struct dns_query q;
	size_t len;
	uint8_t pkt[512];
	size_t alen;
	uint8_t *ans;
};

int replay_fail(struct run *run, const char *fmt, const char *arg)
{
	snprintf(run->why, run->whylen, fmt, arg);
	return REPLAY_FAIL;
}

int replay_unsupported(struct run *run, const char *fmt, const char *arg)
{
	snprintf(run->why, run->whylen, fmt, arg);
	return REPLAY_UNSUPPORTED;
}

void replay_conf_err(void *ctx, const char *file, unsigned long line, const char *msg)
{
	struct run *run = ctx;
	snprintf(run->why, run->whylen, "%s", msg);
}

/* ---- the log of upstream queries ---- */

void sent_log_add(struct run *run, const uint8_t *wire, size_t len,
		  const struct iter_addr *to, bool tcp)
{
	struct dns_query q;
	if (dns_query_parse(wire, len, &q) != DNS_V_OK)
		return;
	struct sent *n = realloc(run->sent, (run->nsent + 1) * sizeof(*n));
	if (!n)
		return;
	run->sent = n;
	n += run->nsent++;
	memcpy(n->qname, q.qname, q.qname_len);
	n->qtype = q.qtype;
	n->tcp = tcp;
	n->to = *to;
}

void sent_log_free(struct run *run)
{
	free(run->sent);
	run->sent = NULL;
	run->nsent = 0;
}

/* ---- root hints from a master file ---- */

int replay_hints_file(struct run *run, const char *path, struct cache_deleg *d)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t cap = 0;
	struct rpl_rr *rrs = NULL;
	unsigned nrr = 0;
	if (!f)
		return replay_fail(run, "cannot read hints %s", path);
	ssize_t n = getdelim(&text, &cap, '\0', f);
	fclose(f);
	if (n < 0 || rpl_parse_rrs(text, &rrs, &nrr) < 0) {
		free(text);
		return replay_fail(run, "bad hints %s", path);
	}
	free(text);
	for (unsigned i = 0; i < nrr; i++)
		if (rrs[i].type == DNS_NS && d->nns < CACHE_DELEG_MAXNS) {
			memcpy(d->ns[d->nns].name, rrs[i].rdata, rrs[i].rdlen);
			dname_lower(d->ns[d->nns++].name);
		}
	for (unsigned i = 0; i < nrr; i++) {
		bool v4 = rrs[i].type == DNS_A && rrs[i].rdlen == 4;
		bool v6 = rrs[i].type == DNS_AAAA && rrs[i].rdlen == 16;
		if (!v4 && !v6)
			continue;
		dname_lower(rrs[i].owner);
		for (unsigned k = 0; k < d->nns; k++) {
			struct cache_deleg_ns *ns = &d->ns[k];
			if (!dname_equal(ns->name, rrs[i].owner) || ns->naddr >= CACHE_DELEG_MAXADDR)
				continue;
			ns->addr[ns->naddr].family = v4 ? 1 : 2;
			memset(ns->addr[ns->naddr].addr, 0, 16);
			memcpy(ns->addr[ns->naddr].addr, rrs[i].rdata, rrs[i].rdlen);
			ns->naddr++;
		}
	}
	for (unsigned i = 0; i < nrr; i++)
		free(rrs[i].rdata);
	free(rrs);
	return 0;
}

/* ---- client queries ---- */

static void client_answer(struct client *c, const uint8_t *ans, size_t len)
{
	c->ans = malloc(len);
	if (c->ans) {
		memcpy(c->ans, ans, len);
		c->alen = len;
	}
	c->answered = true;
}

static void resolved(void *ctx, int rcode, const struct rmsg *m)
{
	static uint8_t out[DNS_MAXMSG];
	struct client *c = ctx;
	if (c->prefetch) {
		free(c);
		return;
	}
	/* TCP-sized, as the Python replayer retries truncated answers over TCP. */
	int n = resolver_reply(&c->run->r, &c->q, c->pkt, c->len, NULL, rcode, m, out,
			       sizeof(out));
	client_answer(c, out, n > 0 ? (size_t)n : 0);
}

/* The query of a QUERY step, as a stub resolver sends it. */
static size_t client_query(struct run *run, const struct rpl_entry *e, uint8_t *buf,
			   size_t cap)
{
	struct wire w = wire_init(buf, cap);
	uint16_t id;
	run->env.random(run->env.ctx, &id, sizeof(id));
	wire_write_u16(&w, id);
	wire_write_u16(&w, (uint16_t)(e->flags & (DNS_RD | DNS_CD)));
	wire_write_u16(&w, 1);
	wire_write_u16(&w, 0);
	wire_write_u16(&w, 0);
	wire_write_u16(&w, 1);
	wire_write(&w, e->qname, dname_len(e->qname));
	wire_write_u16(&w, e->qtype);
	wire_write_u16(&w, e->qclass);
	wire_write_u8(&w, 0);
	wire_write_u16(&w, DNS_OPT);
	wire_write_u16(&w, DNS_EDNS_DEFAULT);
	wire_write_u32(&w, e->do_bit ? 0x8000 : 0);
	wire_write_u16(&w, 0);
	return w.err ? 0 : wire_offset(&w);
}

static int step_query(struct run *run, const struct rpl_entry *e)
{
	static uint8_t out[DNS_MAXMSG];
	struct client *c = calloc(1, sizeof(*c));
	struct client **pp;
	if (!c)
		return replay_fail(run, "%s", "out of memory");
	c->run = run;
	for (pp = &run->clients; *pp; pp = &(*pp)->next)
		;
	*pp = c;
	if (!e || !e->has_q)
		return replay_fail(run, "%s", "QUERY without a question");
	c->len = client_query(run, e, c->pkt, sizeof(c->pkt));
	enum dns_verdict v = dns_query_parse(c->pkt, c->len, &c->q);
	if (v != DNS_V_OK || c->q.qclass != DNS_IN) {
		int n = ranswer_error(out, sizeof(out), &c->q, c->pkt, c->len,
				      v == DNS_V_OK ? DNS_REFUSED : DNS_FORMERR);
		client_answer(c, out, n > 0 ? (size_t)n : 0);
		return 0;
	}
	/* As rserver.c: a fresh hit is answered at once (and may ask for a
	 * prefetch); a miss is resolved. */
	struct cache_hit hit;
	int n = cache_answer(run->cache, &c->q, c->pkt, NULL, run->now, 0, out, sizeof(out), &hit);
	if (n > 0) {
		client_answer(c, out, (size_t)n);
		if (!(hit.prefetch && run->conf->prefetch))
			return 0;
		struct client *pf = calloc(1, sizeof(*pf));
		if (!pf)
			return 0;
		*pf = *c;
		pf->next = NULL;
		pf->ans = NULL;
		pf->prefetch = true;
		if (iter_resolve(&run->r, pf->q.qname, pf->q.qtype, NULL, resolved, pf) != 0)
			free(pf);
		return 0;
	}
	if (iter_resolve(&run->r, c->q.qname, c->q.qtype, NULL, resolved, c) != 0)
		return replay_fail(run, "%s", "iter_resolve failed");
	return 0;
}

void replay_clients_free(struct run *run)
{
	while (run->clients) {
		struct client *c = run->clients;
		run->clients = c->next;
		if (!c->answered) {
			/* The resolution still holds it; it cannot, once every
			 * upstream query has ended, so this is a leak to report. */
			fprintf(stderr, "replay: a client query never got an answer\n");
			continue;
		}
		free(c->ans);
		free(c);
	}
}

/* ---- CHECK_ANSWER ---- */

/* Canonical rdata: names inside lower-cased (RFC 4034 6.2 types we meet). */
static void canon_rdata(uint16_t type, uint8_t *rd, size_t len)
{
	size_t skip;
	unsigned names = 1;
	switch (type) {
	case DNS_NS: case DNS_CNAME: case DNS_PTR: case 39 /* DNAME */:
		skip = 0;
		break;
	case DNS_MX: case 18 /* AFSDB */: case 21 /* RT */:
		skip = 2;
		break;
	case DNS_SOA:
		skip = 0;
		names = 2;
		break;
	case DNS_SRV:
		skip = 6;
		break;
	default:
		return;
	}
	uint8_t *p = rd + skip;
	for (unsigned i = 0; i < names && p < rd + len; i++) {
		size_t n = dname_len(p);
		if (p + n > rd + len)
			return;
		dname_lower(p);
		p += n;
	}
}

struct crr {
	uint8_t owner[DNAME_MAXLEN];
	uint16_t type;
	uint32_t ttl;
	uint16_t rdlen;
	uint8_t rd[512];
};

static bool crr_equal(const struct crr *a, const struct crr *b, bool ttl)
{
	return a->type == b->type && a->rdlen == b->rdlen && dname_equal(a->owner, b->owner) &&
	       memcmp(a->rd, b->rd, a->rdlen) == 0 && (!ttl || a->ttl == b->ttl);
}

/* Add to a set (duplicates dropped). */
static void crr_add(struct crr *set, unsigned *n, unsigned max, const uint8_t *owner,
		    uint16_t type, uint32_t ttl, const uint8_t *rd, size_t rdlen, bool with_ttl)
{
	struct crr c;
	if (*n >= max || rdlen > sizeof(c.rd))
		return;
	memset(&c, 0, sizeof(c));
	memcpy(c.owner, owner, dname_len(owner));
	dname_lower(c.owner);
	c.type = type;
	c.ttl = ttl;
	c.rdlen = (uint16_t)rdlen;
	memcpy(c.rd, rd, rdlen);
	canon_rdata(type, c.rd, rdlen);
	for (unsigned i = 0; i < *n; i++)
		if (crr_equal(&set[i], &c, with_ttl))
			return;
	set[(*n)++] = c;
}

#define SET_MAX 64

/* Does the answer match the entry?  Fills `why` when not. */
static bool answer_matches(const struct client *c, const struct rpl_entry *e, char *why,
			   size_t whylen)
{
	static struct rmsg m;
	static struct crr want[SET_MAX], have[SET_MAX];
	unsigned nw = 0, nh = 0;
	bool ttl = e->match & RM_TTL;
	char a[32], b[32];

	if (!c->ans || c->alen == 0 || rmsg_parse(c->ans, c->alen, &m) != 0) {
		snprintf(why, whylen, "no answer");
		return false;
	}
	if (m.rcode != e->rcode) {
		snprintf(why, whylen, "rcode %s, want %s", dns_rcode_name(m.rcode, a, sizeof(a)),
			 dns_rcode_name(e->rcode, b, sizeof(b)));
		return false;
	}
	for (unsigned i = 0; i < e->nrr[RS_AN]; i++) {
		const struct rpl_rr *rr = &e->rr[RS_AN][i];
		crr_add(want, &nw, SET_MAX, rr->owner, rr->type, rr->ttl, rr->rdata, rr->rdlen, ttl);
	}
	for (unsigned i = 0; i < m.nrr; i++) {
		const struct rrec *rr = &m.rr[i];
		if (rr->sec == RSEC_AN)
			crr_add(have, &nh, SET_MAX, rr_owner(&m, rr), rr->type, rr->ttl,
				rr_rdata(&m, rr), rr->rdlen, ttl);
	}
	bool ok = nw == nh;
	for (unsigned i = 0; ok && i < nw; i++) {
		bool found = false;
		for (unsigned k = 0; k < nh && !found; k++)
			found = crr_equal(&want[i], &have[k], ttl);
		ok = found;
	}
	if (!ok) {
		/* The first record that differs, to show what went wrong. */
		const struct crr *x = NULL;
		const char *side = "extra";
		for (unsigned k = 0; k < nh && !x; k++) {
			bool found = false;
			for (unsigned i = 0; i < nw && !found; i++)
				found = crr_equal(&want[i], &have[k], ttl);
			if (!found)
				x = &have[k];
		}
		for (unsigned i = 0; i < nw && !x; i++) {
			bool found = false;
			for (unsigned k = 0; k < nh && !found; k++)
				found = crr_equal(&want[i], &have[k], ttl);
			if (!found) {
				x = &want[i];
				side = "missing";
			}
		}
		char name[DNAME_MAXSTR];
		snprintf(why, whylen, "answer has %u RRs, want %u", nh, nw);
		if (x)
			snprintf(why + strlen(why), whylen - strlen(why), "; %s %s %s ttl %u",
				 side, dname_to_str(x->owner, name, sizeof(name)),
				 dns_type_name(x->type, a, sizeof(a)), x->ttl);
	}
	return ok;
}

static int step_check_answer(struct run *run, const struct rpl_step *st)
{
	char why[256] = "no answer from the resolver";
	if (!st->entry)
		return replay_fail(run, "%s", "CHECK_ANSWER without an entry");
	/* Answers match in any order, like testbound's answer list. */
	for (struct client **pp = &run->clients; *pp; pp = &(*pp)->next) {
		struct client *c = *pp;
		if (!c->answered)
			continue;
		if (answer_matches(c, st->entry, why, sizeof(why))) {
			*pp = c->next;
			free(c->ans);
			free(c);
			return 0;
		}
	}
	snprintf(run->why, run->whylen, "step %u: %s", st->num, why);
	return REPLAY_FAIL;
}

/* ---- CHECK_OUT_QUERY, REPLY, TIMEOUT ---- */

static bool sent_matches(const struct sent *s, const struct rpl_entry *e)
{
	uint8_t want[DNAME_MAXLEN];
	if (!e->has_q)
		return true;
	memcpy(want, e->qname, dname_len(e->qname));
	dname_lower(want);
	if (e->match & RM_SUBDOMAIN ? !dname_is_sub(s->qname, want) : !dname_equal(s->qname, want))
		return false;
	if ((e->match & RM_TCP) && !s->tcp)
		return false;
	return e->qtype == s->qtype;
}

static int step_check_out(struct run *run, const struct rpl_step *st)
{
	if (!st->entry)
		return replay_fail(run, "%s", "CHECK_OUT_QUERY without an entry");
	for (unsigned i = run->sent_cursor; i < run->nsent; i++)
		if (sent_matches(&run->sent[i], st->entry)) {
			run->sent_cursor = i + 1;
			return 0;
		}
	char name[DNAME_MAXSTR], t[32];
	snprintf(run->why, run->whylen, "step %u: no upstream query %s %s", st->num,
		 dname_to_str(st->entry->qname, name, sizeof(name)),
		 dns_type_name(st->entry->qtype, t, sizeof(t)));
	return REPLAY_FAIL;
}

static int step_reply(struct run *run, const struct rpl_step *st)
{
	struct pend *p = replay_oldest(run), *pick = NULL;
	if (!st->entry)
		return replay_fail(run, "%s", "REPLY without an entry");
	for (struct pend *x = p; x && !pick; x = replay_next(x))
		if (replay_entry_accepts(st->entry, x))
			pick = x;
	if (!pick)
		pick = p;
	if (!pick) {
		snprintf(run->why, run->whylen, "step %u: REPLY with no query outstanding", st->num);
		return REPLAY_FAIL;
	}
	replay_deliver(run, pick, st->entry);
	return 0;
}

/* ---- the steps ---- */

static bool holds(const struct rpl *s, unsigned i)
{
	if (i + 1 >= s->nsteps)
		return false;
	enum rpl_step_kind k = s->steps[i + 1].kind;
	return k == RPL_CHECK_OUT_QUERY || k == RPL_REPLY || k == RPL_TIMEOUT;
}

int replay_steps(struct run *run)
{
	const struct rpl *s = run->s;
	for (unsigned i = 0; i < s->nsteps; i++) {
		const struct rpl_step *st = &s->steps[i];
		int ret = 0;
		run->stepnum = st->num;
		switch (st->kind) {
		case RPL_QUERY:
			ret = step_query(run, st->entry);
			break;
		case RPL_CHECK_ANSWER:
			if (!replay_settle(run, false))
				return replay_fail(run, "%s", "no progress (event limit)");
			ret = step_check_answer(run, st);
			break;
		case RPL_TIME_PASSES:
			run->now += (uint64_t)(st->elapse + 0.5);
			break;
		case RPL_CHECK_OUT_QUERY:
			ret = step_check_out(run, st);
			break;
		case RPL_REPLY:
			ret = step_reply(run, st);
			break;
		case RPL_TIMEOUT:
			if (replay_oldest(run))
				replay_time_out(run, replay_oldest(run));
			break;
		case RPL_NOTHING:
			break;
		default:
			return replay_unsupported(run, "step %s", st->kind_text);
		}
		if (ret != 0)
			return ret;
		if (!replay_settle(run, holds(s, i)))
			return replay_fail(run, "%s", "no progress (event limit)");
	}
	return 0;
}
