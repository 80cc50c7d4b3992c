/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/resp.h"
#include "rt/clock.h"
#include "rt/log.h"
#include "serve/view.h"
#include "serve/xfr.h"

enum stream_mode { MODE_SOA, MODE_AXFR, MODE_IXFR };

struct xfr_stream {
	struct xfr_zone *xz;           /* a reference: a reload cannot free it */
	struct zjournal *journal;      /* a reference, IXFR only */
	enum stream_mode mode;
	bool is_ixfr;                  /* the question's type, for the log */
	bool done, complete;
	/* TSIG: the request's key, then each message's MAC (RFC 8945 5.3.1). */
	bool sign;
	bool first;
	struct tsig_key key;
	uint8_t mac[TSIG_MAX_MAC];
	size_t mac_len;
	/* The question, echoed in every message and the first compression
	 * targets (resp_init points into `q`). */
	struct dns_query q;
	uint8_t question[DNS_HDRLEN + DNAME_MAXLEN + 4];
	size_t qlen;
	/* AXFR: 0 the first SOA, 1 the records, 2 the last SOA, 3 done. */
	int phase;
	struct zone_xfr_iter it;
	const uint8_t *pend_owner;
	const struct rrset *pend_rs;
	/* IXFR: RRs from segments of the journal, in order. */
	const struct zrrs **segs;
	unsigned nsegs, seg;
	size_t segoff;
	unsigned long msgs, rrs;
	uint64_t started_ms;
	uint32_t serial;
	char peer[INET6_ADDRSTRLEN];
};

void xfr_zone_ref(struct xfr_zone *xz)
{
	__atomic_add_fetch(&xz->refcount, 1, __ATOMIC_RELAXED);
}

void xfr_zone_unref(struct xfr_zone *xz)
{
	if (!xz || __atomic_sub_fetch(&xz->refcount, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	zone_unref(xz->zone);
	free(xz->soa_rdata);
	for (unsigned i = 0; i < xz->nextra; i++)
		free(xz->extra[i].rs.rdata);
	free(xz->extra);
	zjournal_unref(xz->journal);
	free(xz->acl);
	free(xz);
}

void xfr_set_free(struct xfr_set *set)
{
	if (!set)
		return;
	for (unsigned i = 0; i < set->nzones; i++)
		xfr_zone_unref(set->zones[i]);
	for (unsigned i = 0; i < set->nsecondaries; i++)
		free(set->secondaries[i].primary);
	free(set->secondaries);
	free(set->zones);
	free(set->keys);
	free(set);
}

struct xfr_zone *xfr_set_find(const struct xfr_set *set, const uint8_t *apex)
{
	for (unsigned i = 0; set && i < set->nzones; i++) {
		/* export: healthy replaces a zone's entry while it serves
		 * (daemon/export.c): read the pointer once. */
		struct xfr_zone *xz = __atomic_load_n(&set->zones[i], __ATOMIC_ACQUIRE);
		if (dname_equal(xz->zone->apex, apex))
			return xz;
	}
	return NULL;
}

const char *xfr_stream_kind(const struct xfr_stream *s)
{
	return s->is_ixfr ? "IXFR" : "AXFR";
}

static void peer_str(const struct sockaddr *sa, char *buf, size_t size)
{
	buf[0] = 0;
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)size);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
			  (socklen_t)size);
	if (!buf[0])
		snprintf(buf, size, "?");
}

bool xfr_acl_match(const struct xfr_acl *a, const struct sockaddr *sa)
{
	const uint8_t *x, *y;
	if (!sa || sa->sa_family != a->addr.ss_family)
		return false;
	if (sa->sa_family == AF_INET) {
		x = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		y = (const uint8_t *)&((const struct sockaddr_in *)&a->addr)->sin_addr;
	} else {
		x = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		y = (const uint8_t *)&((const struct sockaddr_in6 *)&a->addr)->sin6_addr;
	}
	unsigned bytes = a->prefix / 8, bits = a->prefix % 8;
	if (memcmp(x, y, bytes) != 0)
		return false;
	if (bits) {
		uint8_t m = (uint8_t)(0xFF << (8 - bits));
		return (x[bytes] & m) == (y[bytes] & m);
	}
	return true;
}

/* NULL when allowed, else why not (for the log). `key`: the request's
 * verified key index, or -1 when unsigned. */
static const char *acl_check(const struct xfr_zone *xz, const struct sockaddr *peer, int key)
{
	const char *why = "no ACL match";
	for (unsigned i = 0; i < xz->nacl; i++) {
		const struct xfr_acl *a = &xz->acl[i];
		if (!xfr_acl_match(a, peer))
			continue;
		if (a->key < 0 || a->key == key)
			return NULL;
		why = key < 0 ? "no key" : "bad key";
	}
	return why;
}

/* ---- messages ---- */

/* Header and question of a reply to `q` with `rcode`; 0 if no room. */
static size_t reply_rcode(const uint8_t *q, const struct dns_query *dq, uint8_t *out,
			  size_t cap, unsigned rcode)
{
	size_t qend = dq->qname_len ? dq->question_end : DNS_HDRLEN;
	if (qend > cap)
		return 0;
	memcpy(out, q, qend);
	out[2] = (uint8_t)(0x80 | (q[2] & 0x79));
	out[3] = (uint8_t)(rcode & 0x0F);
	wire_put_u16(out + 4, dq->qname_len ? 1 : 0);
	memset(out + 6, 0, 6);
	return qend;
}

/* Sign a single reply with the request's key and MAC. */
static size_t reply_sign(uint8_t *out, size_t len, size_t cap, const struct tsig_key *key,
			 const struct tsig_rr *t, uint16_t error, uint64_t now)
{
	uint8_t other[6];
	struct tsig_sign s = { .key = key, .prior = t->mac, .prior_len = t->mac_len,
			       .time_signed = now, .error = error };
	if (error == TSIG_BADKEY || error == TSIG_BADSIG) {
		/* RFC 8945 5.3.2: unsigned, and so without the request MAC. */
		s.unsigned_error = true;
		s.prior = NULL;
		s.time_signed = t->time_signed;
	} else if (error == TSIG_BADTIME) {
		/* RFC 8945 5.2.3: signed, with our time in Other Data. */
		wire_put_u16(other, (uint16_t)(now >> 32));
		wire_put_u32(other + 2, (uint32_t)now);
		s.other = other;
		s.other_len = 6;
		s.time_signed = t->time_signed;
	}
	if (tsig_append(out, &len, cap, &s, NULL, NULL) != 0)
		return 0;
	return len;
}

static void msg_begin(struct xfr_stream *s, struct resp *r, uint8_t *out, size_t cap)
{
	size_t limit = cap < DNS_MAXMSG ? cap : DNS_MAXMSG;
	resp_init(r, out, limit, s->question, s->qlen, &s->q);
	out[2] = (uint8_t)(0x84 | (s->question[2] & 0x01));  /* QR, AA, RD */
	out[3] = 0;
	if (s->sign)
		r->w.end -= tsig_rr_size(&s->key);
}

static size_t msg_end(struct xfr_stream *s, struct resp *r, uint8_t *out, size_t cap,
		      uint64_t now)
{
	r->tc = false;
	size_t len = resp_finish(r);
	s->msgs++;
	if (!s->sign)
		return len;
	struct tsig_sign ts = { .key = &s->key, .prior = s->mac, .prior_len = s->mac_len,
				.timers_only = !s->first, .time_signed = now };
	if (tsig_append(out, &len, cap, &ts, s->mac, &s->mac_len) != 0)
		return 0;
	s->first = false;
	return len;
}

static void put_soa(struct xfr_stream *s, struct resp *r)
{
	const struct xfr_zone *xz = s->xz;
	const struct rrset *soa = xfr_zone_soa(xz);
	if (resp_put_rrset(r, SEC_AN, xz->zone->apex_node->name_orig, soa, soa->ttl))
		s->rrs++;
}

/* AXFR (and IXFR answered as a whole zone, RFC 1995 4): the SOA, every
 * RRset, the SOA again (RFC 5936 2.2), in as many messages as needed. */
static size_t next_axfr(struct xfr_stream *s, struct resp *r)
{
	const struct xfr_zone *xz = s->xz;
	const struct zone *z = xz->zone;
	for (;;) {
		if (!s->pend_rs) {
			if (s->phase == 0 || s->phase == 2) {
				s->pend_owner = z->apex_node->name_orig;
				s->pend_rs = xfr_zone_soa(xz);
			} else if (s->phase == 1) {
				if (!zone_xfr_iter_next(&s->it, z, xz->extra, xz->nextra,
							&s->pend_owner, NULL, &s->pend_rs)) {
					s->phase = 2;
					continue;
				}
			} else {
				break;
			}
		}
		if (!resp_put_rrset(r, SEC_AN, s->pend_owner, s->pend_rs, s->pend_rs->ttl)) {
			if (r->counts[SEC_AN] == 0) {
				log_zone(LOG_ERROR, xz->name, "%s to %s: an RRset does not fit in "
					 "a message", xfr_stream_kind(s), s->peer);
				return 0;
			}
			break;
		}
		s->rrs += s->pend_rs->count;
		s->pend_rs = NULL;
		if (s->phase == 0)
			s->phase = 1;
		else if (s->phase == 2)
			s->phase = 3;
	}
	if (s->phase == 3)
		s->done = true;
	return 1;
}

/* IXFR (RFC 1995 4): the new SOA, then per difference the old SOA, the
 * deletions, the new SOA, the additions; the new SOA last. */
static size_t next_ixfr(struct xfr_stream *s, struct resp *r)
{
	while (s->seg < s->nsegs) {
		const struct zrrs *z = s->segs[s->seg];
		if (s->segoff >= z->len) {
			s->seg++;
			s->segoff = 0;
			continue;
		}
		const uint8_t *p = z->data + s->segoff;
		size_t olen = dname_len(p);
		const uint8_t *h = p + olen;
		uint16_t rdlen = wire_get_u16(h + 8);
		if (!resp_put_rr(r, SEC_AN, p, wire_get_u16(h), DNS_IN, wire_get_u32(h + 4),
				 h + 10, rdlen)) {
			if (r->counts[SEC_AN] == 0) {
				log_zone(LOG_ERROR, s->xz->name, "IXFR to %s: a record does not fit",
					 s->peer);
				return 0;
			}
			return 1;
		}
		s->rrs++;
		s->segoff += olen + 10 + rdlen;
	}
	s->done = true;
	return 1;
}

size_t xfr_next(struct xfr_stream *s, uint8_t *out, size_t cap, uint64_t now)
{
	if (s->done)
		return 0;
	struct resp r;
	msg_begin(s, &r, out, cap);
	size_t ok;
	if (s->mode == MODE_SOA) {
		put_soa(s, &r);
		s->done = true;
		ok = r.counts[SEC_AN] == 1;
	} else if (s->mode == MODE_AXFR) {
		ok = next_axfr(s, &r);
	} else {
		ok = next_ixfr(s, &r);
	}
	if (!ok) {
		s->done = true;
		return 0;
	}
	size_t len = msg_end(s, &r, out, cap, now);
	if (s->done && len)
		s->complete = true;
	return len;
}

void xfr_stream_free(struct xfr_stream *s)
{
	if (!s)
		return;
	if (s->mode != MODE_SOA) {
		uint64_t ms = rt_now_ms() - s->started_ms;
		if (s->complete)
			log_zone(LOG_INFO, s->xz->name, "%s to %s finished, serial %u, %lu messages, "
				 "%lu records, %llu ms", xfr_stream_kind(s), s->peer, s->serial,
				 s->msgs, s->rrs, (unsigned long long)ms);
		else
			log_zone(LOG_WARNING, s->xz->name, "%s to %s aborted after %lu messages",
				 xfr_stream_kind(s), s->peer, s->msgs);
	}
	zjournal_unref(s->journal);
	zone_xfr_iter_free(&s->it);
	xfr_zone_unref(s->xz);
	free(s->segs);
	free(s);
}

/* Segments of an IXFR from journal index `from` to the end. */
static int ixfr_segments(struct xfr_stream *s, int from)
{
	const struct zjournal *j = s->journal;
	unsigned n = j->n - (unsigned)from;
	s->segs = calloc(2 + 4 * n, sizeof(*s->segs));
	if (!s->segs)
		return VANE_ENOMEM;
	const struct zrrs *last = &j->diffs[j->n - 1]->soa_to;
	s->segs[s->nsegs++] = last;
	for (unsigned i = (unsigned)from; i < j->n; i++) {
		const struct zdiff *d = j->diffs[i];
		s->segs[s->nsegs++] = &d->soa_from;
		s->segs[s->nsegs++] = &d->del;
		s->segs[s->nsegs++] = &d->soa_to;
		s->segs[s->nsegs++] = &d->add;
	}
	s->segs[s->nsegs++] = last;
	return 0;
}

static struct xfr_stream *stream_new(struct xfr_zone *xz, const uint8_t *q,
				     const struct dns_query *dq, const struct tsig_key *key,
				     const struct tsig_rr *t, const struct sockaddr *peer)
{
	struct xfr_stream *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	xfr_zone_ref(xz);
	s->xz = xz;
	s->q = *dq;
	s->qlen = dq->question_end;
	memcpy(s->question, q, s->qlen);
	s->is_ixfr = dq->qtype == DNS_IXFR;
	s->serial = xfr_zone_serial(xz);
	s->first = true;
	s->started_ms = rt_now_ms();
	(void)zone_xfr_iter_init(&s->it, xz->zone, false);
	peer_str(peer, s->peer, sizeof(s->peer));
	if (key) {
		s->sign = true;
		s->key = *key;
		memcpy(s->mac, t->mac, t->mac_len);
		s->mac_len = t->mac_len;
	}
	return s;
}

static int key_find(const struct xfr_set *set, const struct tsig_rr *t)
{
	for (unsigned i = 0; i < set->nkeys; i++)
		if (set->keys[i].name_len == t->name_len &&
		    memcmp(set->keys[i].name, t->name, t->name_len) == 0)
			return (int)i;
	return -1;
}

enum xfr_verdict xfr_request(const struct xfr_set *set, const struct sockaddr *peer,
			     const uint8_t *q, size_t qlen, bool tcp, uint64_t now,
			     xfr_answer_fn answer, void *actx, uint8_t *out, size_t cap,
			     size_t *outlen, struct xfr_stream **stream)
{
	struct dns_query dq;
	struct tsig_rr t;
	int key = -1;
	const struct tsig_key *k = NULL;
	char pstr[INET6_ADDRSTRLEN];
	*stream = NULL;
	*outlen = 0;
	if (set && qlen >= DNS_HDRLEN && DNS_OPCODE(wire_get_u16(q + 2)) == DNS_OP_NOTIFY)
		return xfr_notify_in(set, peer, q, qlen, now, out, cap, outlen);
	if (!set || dns_query_parse(q, qlen, &dq) != DNS_V_OK)
		return XFR_NONE;
	bool xfr = (dq.qtype == DNS_AXFR || dq.qtype == DNS_IXFR) && dq.qclass == DNS_IN;
	if (!xfr && !dq.tsig)
		return XFR_NONE;
	/* AXFR over UDP keeps the ordinary answer (NOTIMP, as Knot). */
	if (dq.qtype == DNS_AXFR && !tcp && !dq.tsig)
		return XFR_NONE;
	peer_str(peer, pstr, sizeof(pstr));

	if (dq.tsig) {
		if (tsig_find(q, qlen, &t) != 0) {
			*outlen = reply_rcode(q, &dq, out, cap, DNS_FORMERR);
			return XFR_REPLY;
		}
		key = key_find(set, &t);
		enum tsig_error err = TSIG_BADKEY;
		struct tsig_key unknown;
		if (key >= 0)
			err = tsig_verify(q, qlen, &t, &set->keys[key], NULL, 0, false, now);
		if (err != TSIG_OK) {
			char kname[DNAME_MAXSTR];
			log_warning("query from %s refused: TSIG %s with key %s", pstr,
				    err == TSIG_BADKEY ? "BADKEY" : err == TSIG_BADTIME ? "BADTIME" :
				    err == TSIG_BADTRUNC ? "BADTRUNC" : "BADSIG",
				    dname_to_str(t.name, kname, sizeof(kname)));
			if (key >= 0) {
				k = &set->keys[key];
			} else {
				/* Echo the request's key name (RFC 8945 5.3.2). */
				memset(&unknown, 0, sizeof(unknown));
				memcpy(unknown.name, t.name, t.name_len);
				unknown.name_len = t.name_len;
				unknown.alg = t.alg ? t.alg : TSIG_HMAC_SHA256;
				k = &unknown;
			}
			size_t len = reply_rcode(q, &dq, out, cap, DNS_NOTAUTH);
			*outlen = len ? reply_sign(out, len, cap, k, &t, (uint16_t)err, now) : 0;
			return *outlen ? XFR_REPLY : XFR_DROP;
		}
		k = &set->keys[key];
		if (!xfr || (dq.qtype == DNS_AXFR && !tcp)) {
			/* A signed ordinary query: answer it as if unsigned, then sign
			 * the answer with the request's MAC (RFC 8945 5.3). */
			uint8_t bare[DNS_MAXMSG];
			memcpy(bare, q, t.off);
			wire_put_u16(bare + 10, (uint16_t)(wire_get_u16(bare + 10) - 1));
			size_t reserve = tsig_rr_size(k);
			size_t len = answer(actx, bare, t.off, out, cap - reserve);
			if (len == 0)
				return XFR_DROP;
			/* Over UDP the signed answer must fit what the client takes;
			 * else it goes out truncated, signed (RFC 8945 5.3). */
			size_t limit = dq.edns && dq.edns_udp > DNS_UDP_MIN ? dq.edns_udp : DNS_UDP_MIN;
			if (!tcp && len + reserve > limit && len >= dq.question_end) {
				len = dq.question_end;
				out[2] |= DNS_TC >> 8;
				memset(out + 6, 0, 6);
			}
			*outlen = reply_sign(out, len, cap, k, &t, 0, now);
			return *outlen ? XFR_REPLY : XFR_DROP;
		}
	}

	const char *kind = dq.qtype == DNS_IXFR ? "IXFR" : "AXFR";
	struct xfr_zone *xz = xfr_set_find(set, dq.qname);
	unsigned rcode = 0;
	if (!xz) {
		char zname[DNAME_MAXSTR];
		log_info("%s of %s from %s refused: not a zone with transfers", kind,
			 dname_to_str(dq.qname, zname, sizeof(zname)), pstr);
		rcode = DNS_NOTAUTH;
	} else {
		const char *why = acl_check(xz, peer, key);
		if (why) {
			log_zone(LOG_WARNING, xz->name, "%s to %s refused: %s", kind, pstr, why);
			rcode = DNS_REFUSED;
		} else if (dq.qtype == DNS_IXFR && !dq.ixfr_soa) {
			rcode = DNS_FORMERR;   /* RFC 1995 3: the SOA is required */
		}
	}
	if (rcode) {
		size_t len = reply_rcode(q, &dq, out, cap, rcode);
		*outlen = k && len ? reply_sign(out, len, cap, k, &t, 0, now) : len;
		return *outlen ? XFR_REPLY : XFR_DROP;
	}

	struct xfr_stream *s = stream_new(xz, q, &dq, k, &t, peer);
	if (!s)
		return XFR_DROP;
	uint32_t cur = xfr_zone_serial(xz);
	int from = dq.qtype == DNS_IXFR ? zjournal_find(xz->journal, dq.ixfr_serial) : -1;
	bool have_diff = from >= 0 && xz->journal->diffs[xz->journal->n - 1]->to == cur;
	if (dq.qtype == DNS_IXFR && (!serial_lt(dq.ixfr_serial, cur) || (!tcp && !have_diff))) {
		/* Up to date (RFC 1995 4), or over UDP without a difference to
		 * send: the SOA alone (RFC 1995 2). */
		s->mode = MODE_SOA;
	} else if (have_diff) {
		s->mode = MODE_IXFR;
		zjournal_ref(xz->journal);
		s->journal = xz->journal;
		if (ixfr_segments(s, from) != 0) {
			xfr_stream_free(s);
			return XFR_DROP;
		}
		if (!tcp) {
			/* RFC 1995 2: the differences when they fit in one UDP
			 * message, else the SOA alone (the client then uses TCP). */
			size_t limit = dq.edns && dq.edns_udp > DNS_UDP_MIN ? dq.edns_udp : DNS_UDP_MIN;
			*outlen = xfr_next(s, out, limit < cap ? limit : cap, now);
			bool whole = s->done && *outlen;
			s->complete = false;   /* no "finished" log line for UDP */
			s->mode = MODE_SOA;
			if (!whole) {
				s->done = false;
				s->first = true;
				s->msgs = 0;
				if (s->sign) {
					memcpy(s->mac, t.mac, t.mac_len);
					s->mac_len = t.mac_len;
				}
				*outlen = xfr_next(s, out, cap, now);
			}
			xfr_stream_free(s);
			return *outlen ? XFR_REPLY : XFR_DROP;
		}
		log_zone(LOG_INFO, xz->name, "IXFR to %s started, serial %u -> %u", pstr,
			 dq.ixfr_serial, cur);
	} else if (dq.qtype == DNS_IXFR) {
		s->mode = MODE_AXFR;
		log_zone(LOG_INFO, xz->name, "IXFR to %s from serial %u not in the journal, "
			 "sending the whole zone, serial %u", pstr, dq.ixfr_serial, cur);
	} else {
		s->mode = MODE_AXFR;
		log_zone(LOG_INFO, xz->name, "AXFR to %s started, serial %u", pstr, cur);
	}
	if (s->mode == MODE_AXFR) {
		/* The walk follows the order zone_build kept (no allocation);
		 * a zone without it is walked bucket by bucket. */
		zone_xfr_iter_free(&s->it);
		(void)zone_xfr_iter_init(&s->it, xz->zone, true);
	}
	if (s->mode == MODE_SOA) {
		*outlen = xfr_next(s, out, cap, now);
		xfr_stream_free(s);
		return *outlen ? XFR_REPLY : XFR_DROP;
	}
	*stream = s;
	return XFR_STREAM;
}

size_t serve_reanswer(void *ctx, const uint8_t *q, size_t qlen, uint8_t *out, size_t cap)
{
	struct serve_reanswer *ra = ctx;
	struct auth_result res;
	return auth_answer(ra->view->db, ra->view->auth, ra->view->steer, ra->cl, q, qlen, ra->tcp,
			   out, cap, &res);
}
