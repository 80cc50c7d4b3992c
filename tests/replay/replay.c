/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * In-process replay of .rpl scenarios (Unbound testbound / Deckard) against
 * the real iterator, cache and client answer code of src/resolver, through
 * a fake transport and a fake clock: no sockets, no root, no threads.
 *
 *   replay [--require LIST] [--hints FILE] PATH...
 *
 * PATH is a scenario, a folder of them, or a folder holding the sets
 * (unbound-testbound-rpl/, deckard-rpl/).  One line per scenario, then
 * `replay: N of M scenarios pass (K unsupported)`.  Exit status 1 when a
 * scenario named in LIST (lines SET/FILE.rpl, `#` comments) did not pass.
 *
 * The fake network: a query the iterator sends is answered by the first
 * entry of a RANGE that covers the current step, lists the query's address
 * (or none) and whose MATCH accepts it; a REPLY step answers it with the
 * step's entry.  A query nothing answers times out when the scenario moves
 * on, except that queries are held for a following CHECK_OUT_QUERY, REPLY
 * or TIMEOUT step.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/resolver_conf.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "replay.h"
#include "resolver/iter.h"
#include "resolver/reply.h"
#include "rpl.h"

#define MAX_EVENTS 100000      /* per scenario: a loop guard, not a timing */

/* ---- the fake transport ---- */

struct pend {
	struct pend *next;
	struct itq *q;
	bool tcp;
	struct iter_addr to;
	size_t len;
	uint8_t wire[600];
};

static void pend_unlink(struct run *run, struct pend *p)
{
	for (struct pend **pp = &run->pend; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			return;
		}
}

/* REPLAY_TRACE=1: each upstream query and its fate on stderr. */
static void trace(const struct run *run, const char *what, const struct pend *p)
{
	struct dns_query q;
	char name[DNAME_MAXSTR], addr[64];
	if (dns_query_parse(p->wire, p->len, &q) != DNS_V_OK)
		return;
	inet_ntop(p->to.family == 1 ? AF_INET : AF_INET6, p->to.addr, addr, sizeof(addr));
	fprintf(stderr, "  step %u %-7s %s %s type %u%s\n", run->stepnum, what,
		dname_to_str(q.qname, name, sizeof(name)), addr, q.qtype, p->tcp ? " tcp" : "");
}

static int fake_send(void *ctx, struct itq *q, const uint8_t *wire, size_t len,
		     const struct iter_addr *to, bool tcp, uint32_t timeout_ms, void **tx)
{
	struct run *run = ctx;
	struct pend *p = calloc(1, sizeof(*p));
	if (!p || len > sizeof(p->wire)) {
		free(p);
		return VANE_ENOMEM;
	}
	p->q = q;
	p->tcp = tcp;
	p->to = *to;
	p->len = len;
	memcpy(p->wire, wire, len);
	struct pend **pp = &run->pend;
	while (*pp)
		pp = &(*pp)->next;
	*pp = p;
	*tx = p;
	sent_log_add(run, p->wire, len, to, tcp);
	if (getenv("REPLAY_TRACE"))
		trace(run, "send", p);
	return 0;
}

static void fake_cancel(void *ctx, struct itq *q, void *tx)
{
	struct run *run = ctx;
	pend_unlink(run, tx);
	free(tx);
}

static uint64_t fake_now(void *ctx)
{
	return ((struct run *)ctx)->now;
}

static uint64_t fake_now_ms(void *ctx)
{
	return ((struct run *)ctx)->now * 1000;
}

/* Deterministic, so a failing scenario fails the same way every run. */
static void fake_random(void *ctx, void *buf, size_t len)
{
	struct run *run = ctx;
	uint8_t *p = buf;
	for (size_t i = 0; i < len; i++) {
		run->rnd ^= run->rnd << 13;
		run->rnd ^= run->rnd >> 7;
		run->rnd ^= run->rnd << 17;
		p[i] = (uint8_t)(run->rnd >> 24);
	}
}

/* ---- answering upstream queries ---- */

/* Does `e` accept the query `q` (parsed) sent over `tcp`? */
static bool entry_accepts(const struct rpl_entry *e, const struct dns_query *q, bool tcp)
{
	unsigned m = e->match;
	if ((m & RM_OPCODE) && ((q->flags >> 11) & 0xF) != e->opcode)
		return false;
	if ((m & (RM_QTYPE | RM_QUESTION | RM_ALL)) && (!e->has_q || e->qtype != q->qtype))
		return false;
	if (m & (RM_QNAME | RM_QUESTION | RM_ALL | RM_SUBDOMAIN)) {
		uint8_t want[DNAME_MAXLEN];
		if (!e->has_q)
			return false;
		memcpy(want, e->qname, dname_len(e->qname));
		dname_lower(want);
		if ((m & RM_SUBDOMAIN) ? !dname_is_sub(q->qname, want)
				       : !dname_equal(q->qname, want))
			return false;
	}
	if ((m & RM_TCP) && !tcp)
		return false;
	if ((m & RM_UDP) && tcp)
		return false;
	return true;
}

static bool range_has(const struct rpl_range *r, const struct iter_addr *a)
{
	if (r->naddrs == 0)
		return true;
	for (unsigned i = 0; i < r->naddrs; i++)
		if (r->addrs[i].family == a->family &&
		    memcmp(r->addrs[i].addr, a->addr, a->family == 1 ? 4 : 16) == 0)
			return true;
	return false;
}

/* The range entry that answers `p` at the current step, or NULL. */
static const struct rpl_entry *range_answer(struct run *run, const struct pend *p)
{
	struct dns_query q;
	if (dns_query_parse(p->wire, p->len, &q) != DNS_V_OK)
		return NULL;
	for (unsigned i = 0; i < run->s->nranges; i++) {
		const struct rpl_range *r = &run->s->ranges[i];
		if (run->stepnum < r->start || run->stepnum > r->end || !range_has(r, &p->to))
			continue;
		for (unsigned k = 0; k < r->nentries; k++)
			if (entry_accepts(r->entries[k], &q, p->tcp))
				return r->entries[k];
	}
	return NULL;
}

static void write_rrs(struct wire *w, const struct rpl_entry *e, unsigned sec)
{
	for (unsigned i = 0; i < e->nrr[sec]; i++) {
		const struct rpl_rr *rr = &e->rr[sec][i];
		wire_write(w, rr->owner, dname_len(rr->owner));
		wire_write_u16(w, rr->type);
		wire_write_u16(w, rr->cls);
		wire_write_u32(w, rr->ttl);
		wire_write_u16(w, rr->rdlen);
		wire_write(w, rr->rdata, rr->rdlen);
	}
}

/* The response of entry `e` to the query in `qwire`; returns the length.
 * The ID is the query's whatever ADJUST says: testbound hands a reply to
 * the pending query it answers without any ID check, so scenarios leave
 * copy_id out freely.  The question is the query's own (its 0x20 case
 * kept, as a real server echoes it) with copy_query or when the entry
 * asks the same; else the entry's, or none when the entry has none. */
static size_t build_response(const struct rpl_entry *e, const uint8_t *qwire, size_t qlen,
			     bool tcp, uint8_t *out, size_t cap)
{
	struct dns_query q;
	bool edns = dns_query_parse(qwire, qlen, &q) == DNS_V_OK && q.edns;
	size_t qend = dns_query_parse(qwire, qlen, &q) == DNS_V_OK ? q.question_end : DNS_HDRLEN;
	const uint8_t *qsec = qwire + DNS_HDRLEN;
	size_t qseclen = qend - DNS_HDRLEN;
	uint8_t own[DNAME_MAXLEN + 4];
	if (!(e->adjust & RA_COPY_QUERY) && qseclen) {
		uint8_t low[DNAME_MAXLEN];
		memcpy(low, e->qname, dname_len(e->qname));
		dname_lower(low);
		if (!e->has_q) {
			qseclen = 0;
		} else if (!dname_equal(low, q.qname) || e->qtype != q.qtype) {
			size_t n = dname_len(e->qname);
			memcpy(own, e->qname, n);
			wire_put_u16(own + n, e->qtype);
			wire_put_u16(own + n + 2, e->qclass);
			qsec = own;
			qseclen = n + 4;
		}
	}
	size_t limit = tcp ? cap : (edns ? q.edns_udp : 512);
	uint16_t flags = (uint16_t)(e->flags | (e->opcode & 0xF) << 11 | (e->rcode & 0xF));

	for (int pass = 0; pass < 2; pass++) {
		struct wire w = wire_init(out, cap);
		bool full = pass == 0;
		wire_write_u16(&w, wire_get_u16(qwire));
		wire_write_u16(&w, full ? flags : (uint16_t)(flags | DNS_TC));
		wire_write_u16(&w, qseclen ? 1 : 0);
		wire_write_u16(&w, full ? (uint16_t)e->nrr[RS_AN] : 0);
		wire_write_u16(&w, full ? (uint16_t)e->nrr[RS_NS] : 0);
		wire_write_u16(&w, (uint16_t)((full ? e->nrr[RS_AR] : 0) + (edns ? 1 : 0)));
		wire_write(&w, qsec, qseclen);
		if (full)
			for (unsigned s = 0; s < RS_COUNT; s++)
				write_rrs(&w, e, s);
		if (edns) {
			wire_write_u8(&w, 0);
			wire_write_u16(&w, DNS_OPT);
			wire_write_u16(&w, DNS_EDNS_DEFAULT);
			wire_write_u32(&w, e->do_bit ? 0x8000 : 0);
			wire_write_u16(&w, 0);
		}
		if (!w.err && wire_offset(&w) <= limit)
			return wire_offset(&w);
	}
	return 0;
}

/* Answer the pending query `p` with `e` (the iterator decides whether it
 * takes it; one it drops ends as a timeout, as on a real network). */
static void deliver(struct run *run, struct pend *p, const struct rpl_entry *e)
{
	static uint8_t buf[65535];
	struct itq *q = p->q;
	size_t n = build_response(e, p->wire, p->len, p->tcp, buf, sizeof(buf));
	if (getenv("REPLAY_TRACE"))
		trace(run, "answer", p);
	if (n > 0 && iter_on_packet(q, buf, n) == 0)
		return;   /* taken: the iterator cancelled (freed) p */
	pend_unlink(run, p);
	free(p);
	iter_on_timeout(q);
}

static void time_out(struct run *run, struct pend *p)
{
	struct itq *q = p->q;
	if (getenv("REPLAY_TRACE"))
		trace(run, "timeout", p);
	pend_unlink(run, p);
	free(p);
	iter_on_timeout(q);
}

/*
 * Let the network run: answer what the ranges answer; when nothing more
 * can be answered, time the oldest query out unless `hold`.  Returns false
 * when the loop guard trips.
 */
static bool settle(struct run *run, bool hold)
{
	while (run->pend) {
		if (++run->events > MAX_EVENTS)
			return false;
		struct pend *p;
		const struct rpl_entry *e = NULL;
		for (p = run->pend; p && !(e = range_answer(run, p)); p = p->next)
			;
		if (p) {
			deliver(run, p, e);
			continue;
		}
		if (hold)
			break;
		time_out(run, run->pend);
	}
	return true;
}

/* ---- config ---- */

static bool yes(const char *v)
{
	return !strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcasecmp(v, "true") ||
	       !strcmp(v, "1");
}

static const char *dnssec_keys[] = {
	"trust-anchor", "trust-anchor-file", "auto-trust-anchor-file", "trusted-keys-file",
	"domain-insecure", "dlv-anchor", "dlv-anchor-file", NULL,
};

static const char *unsupported_keys[] = {
	"forward-zone", "auth-zone", "rpz", "view", "local-zone", "local-data",
	"dns64-prefix", "do-not-query-address", "private-address", "ede", "nat64-prefix",
	"feature-list",  /* Deckard: Knot Resolver modules (policy, hints ...) */
	NULL,
};

/* Map the scenario's config onto vane-resolver's keys, through the real
 * config loader (schema defaults and checks included). */
static int load_conf(struct run *run, const char *tmpdir)
{
	const struct rpl *s = run->s;
	char path[4096];
	const char *qmin = "on", *prefetch = "off", *stale = "off";
	long min_ttl = -1, max_ttl = -1, neg_ttl = -1;

	for (unsigned i = 0; i < s->nconfig; i++) {
		const char *k = s->config[i].key, *v = s->config[i].value;
		for (unsigned d = 0; dnssec_keys[d]; d++)
			if (!strcmp(k, dnssec_keys[d]))
				return replay_unsupported(run, "DNSSEC config (%s)", k);
		if (!strncmp(k, "val-", 4))
			return replay_unsupported(run, "DNSSEC config (%s)", k);
		for (unsigned d = 0; unsupported_keys[d]; d++)
			if (!strcmp(k, unsupported_keys[d]))
				return replay_unsupported(run, "config %s", k);
		if (!strcmp(k, "module-config") && strcmp(v, "iterator") != 0)
			return replay_unsupported(run, "module-config %s", v);
		if (!strcmp(k, "qname-minimisation") || !strcmp(k, "query-minimization"))
			qmin = yes(v) ? "on" : "off";
		else if (!strcmp(k, "prefetch"))
			prefetch = yes(v) ? "on" : "off";
		else if (!strcmp(k, "serve-expired"))
			stale = yes(v) ? "on" : "off";
		else if (!strcmp(k, "cache-min-ttl"))
			min_ttl = strtol(v, NULL, 10);
		else if (!strcmp(k, "cache-max-ttl"))
			max_ttl = strtol(v, NULL, 10);
		else if (!strcmp(k, "cache-max-negative-ttl"))
			neg_ttl = strtol(v, NULL, 10);
		/* target-fetch-policy and the rest: tuning vane-resolver has no
		 * knob for; they change effort, not the answers checked. */
	}
	snprintf(path, sizeof(path), "%s/resolver.yaml", tmpdir);
	FILE *f = fopen(path, "w");
	if (!f)
		return replay_fail(run, "cannot write %s", path);
	fprintf(f, "resolver:\n  qname-minimisation: %s\n  prefetch: %s\n"
		"  serve-stale: %s\n  ecs: off\n", qmin, prefetch, stale);
	if (min_ttl >= 0)
		fprintf(f, "  min-ttl: %ld\n", min_ttl);
	if (max_ttl >= 0)
		fprintf(f, "  max-ttl: %ld\n", max_ttl);
	if (neg_ttl >= 0)
		fprintf(f, "  negative-max-ttl: %ld\n", neg_ttl);
	fclose(f);
	int ret = resolver_conf_load(path, replay_conf_err, run, &run->conf);
	unlink(path);
	if (ret != 0)
		return replay_unsupported(run, "config not expressible (%s)", run->why);
	return 0;
}

/* ---- root hints ---- */

static void hint_add(struct cache_deleg *d, const uint8_t *name, const struct iter_addr *a)
{
	struct cache_deleg_ns *ns = NULL;
	for (unsigned i = 0; i < d->nns; i++)
		if (dname_equal(d->ns[i].name, name))
			ns = &d->ns[i];
	if (!ns) {
		if (d->nns >= CACHE_DELEG_MAXNS)
			return;
		ns = &d->ns[d->nns++];
		memcpy(ns->name, name, dname_len(name));
	}
	if (a && ns->naddr < CACHE_DELEG_MAXADDR) {
		ns->addr[ns->naddr].family = a->family;
		memcpy(ns->addr[ns->naddr].addr, a->addr, 16);
		ns->naddr++;
	}
}

/* The scenario's stub-addr list for ".", else the IANA hints file. */
static int load_hints(struct run *run, const char *hints_file)
{
	struct cache_deleg *d = &run->r.hints;
	memset(d, 0, sizeof(*d));
	if (run->s->nroot) {
		for (unsigned i = 0; i < run->s->nroot; i++) {
			uint8_t name[DNAME_MAXLEN];
			char text[32];
			snprintf(text, sizeof(text), "hint%u.rpl-root.", i);
			if (dname_from_str(text, NULL, name) < 0)
				return replay_fail(run, "hint name %s", text);
			hint_add(d, name, &run->s->root[i]);
		}
		return 0;
	}
	if (!hints_file)
		return replay_unsupported(run, "%s", "no root hints");
	return replay_hints_file(run, hints_file, d);
}

/* ---- one scenario ---- */

int replay_run(const char *path, const char *hints_file, const char *tmpdir,
	       char *why, size_t whylen)
{
	struct run run;
	char err[256];
	int status;

	memset(&run, 0, sizeof(run));
	run.why = why;
	run.whylen = whylen;
	why[0] = '\0';
	run.s = rpl_load(path, err, sizeof(err));
	if (!run.s) {
		snprintf(why, whylen, "%s", err);
		return REPLAY_FAIL;
	}
	if (run.s->unsupported) {
		snprintf(why, whylen, "%s", run.s->unsupported);
		rpl_free(run.s);
		return REPLAY_UNSUPPORTED;
	}
	run.now = 1000000;   /* any origin works for the cache */
	run.rnd = 0x9e3779b97f4a7c15ull;
	run.env = (struct iter_env){
		.ctx = &run, .send = fake_send, .cancel = fake_cancel, .now = fake_now,
		.now_ms = fake_now_ms, .random = fake_random,
	};
	status = load_conf(&run, tmpdir);
	if (status == 0) {
		struct cache_conf cc;
		resolver_cache_conf(run.conf, 1, &cc);
		run.cache = cache_new(&cc);
		if (!run.cache)
			status = replay_fail(&run, "%s", "out of memory");
	}
	if (status == 0) {
		resolver_init(&run.r, run.conf, run.cache, &run.env);
		status = load_hints(&run, hints_file);
	}
	if (status == 0)
		status = replay_steps(&run);
	/* Whatever is still running ends now, so nothing leaks. */
	run.stepnum = ~0u;
	while (run.pend)
		time_out(&run, run.pend);
	replay_clients_free(&run);
	sent_log_free(&run);
	if (run.cache)
		cache_free(run.cache);
	if (run.conf)
		resolver_conf_free(run.conf);
	rpl_free(run.s);
	return status == 0 ? REPLAY_PASS : status;
}

/* Exposed for steps.c. */
struct pend *replay_oldest(struct run *run)
{
	return run->pend;
}

struct pend *replay_next(struct pend *p)
{
	return p->next;
}

bool replay_settle(struct run *run, bool hold)
{
	return settle(run, hold);
}

void replay_deliver(struct run *run, struct pend *p, const struct rpl_entry *e)
{
	deliver(run, p, e);
}

void replay_time_out(struct run *run, struct pend *p)
{
	time_out(run, p);
}

bool replay_entry_accepts(const struct rpl_entry *e, const struct pend *p)
{
	struct dns_query q;
	return dns_query_parse(p->wire, p->len, &q) == DNS_V_OK && entry_accepts(e, &q, p->tcp);
}
