/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * NOTIFY in (RFC 1996) for the zones vaned is a secondary for.  Only a
 * configured primary may notify (RFC 1996 3.10 leaves the check to the
 * secondary; Knot and NSD accept from their primaries only), signed with
 * the zone's key when it has one.  An accepted NOTIFY is answered at once
 * (3.7) and the refresh it asks for runs on the daemon's loop, never here.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "lib/pkt.h"
#include "lib/wire.h"
#include "rt/log.h"
#include "serve/xfr.h"

static xfr_notify_fn hook_fn;
static void *hook_ctx;

/* Set by the loop thread while query threads may read it: the context
 * first, published by the release store of the function. */
void xfr_notify_hook(xfr_notify_fn fn, void *ctx)
{
	if (fn)
		__atomic_store_n(&hook_ctx, ctx, __ATOMIC_RELAXED);
	__atomic_store_n(&hook_fn, fn, __ATOMIC_RELEASE);
}

static bool same_host(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (b->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			      &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
	return false;
}

static void peer_text(const struct sockaddr *sa, char *buf, size_t size)
{
	const void *a = sa->sa_family == AF_INET6 ?
			(const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr :
			(const void *)&((const struct sockaddr_in *)sa)->sin_addr;
	if (!inet_ntop(sa->sa_family, a, buf, (socklen_t)size))
		snprintf(buf, size, "?");
}

/* Header and question of the answer: QR, AA, the NOTIFY opcode, `rcode`. */
static size_t reply(const uint8_t *q, size_t qend, uint8_t *out, size_t cap, unsigned rcode)
{
	if (qend > cap)
		return 0;
	memcpy(out, q, qend);
	out[2] = (uint8_t)(0x80 | (DNS_OP_NOTIFY << 3) | 0x04);
	out[3] = (uint8_t)(rcode & 0x0F);
	wire_put_u16(out + 4, qend > DNS_HDRLEN ? 1 : 0);
	memset(out + 6, 0, 6);
	return qend;
}

static size_t sign(uint8_t *out, size_t len, size_t cap, const struct tsig_key *k,
		   const struct tsig_rr *t, uint16_t error, uint64_t now)
{
	struct tsig_sign s = { .key = k, .prior = t->mac, .prior_len = t->mac_len,
			       .time_signed = now, .error = error };
	if (error == TSIG_BADKEY || error == TSIG_BADSIG) {
		s.unsigned_error = true;   /* RFC 8945 5.3.2 */
		s.prior = NULL;
		s.prior_len = 0;
		s.time_signed = t->time_signed;
	}
	return tsig_append(out, &len, cap, &s, NULL, NULL) == 0 ? len : 0;
}

enum xfr_verdict xfr_notify_in(const struct xfr_set *set, const struct sockaddr *peer,
			       const uint8_t *q, size_t qlen, uint64_t now, uint8_t *out,
			       size_t cap, size_t *outlen)
{
	char pstr[INET6_ADDRSTRLEN], zname[DNAME_MAXSTR];
	uint8_t apex[DNAME_MAXLEN];
	size_t off = DNS_HDRLEN;
	*outlen = 0;
	peer_text(peer, pstr, sizeof(pstr));
	if (wire_get_u16(q + 4) != 1 || dname_unpack(q, qlen, &off, apex, true) < 0 ||
	    off + 4 > qlen) {
		*outlen = reply(q, DNS_HDRLEN, out, cap, DNS_FORMERR);
		return *outlen ? XFR_REPLY : XFR_DROP;
	}
	size_t qend = off + 4;
	dname_to_str(apex, zname, sizeof(zname));
	const struct xfr_secondary *sz = NULL;
	for (unsigned i = 0; i < set->nsecondaries && !sz; i++)
		if (dname_equal(set->secondaries[i].apex, apex))
			sz = &set->secondaries[i];
	if (!sz) {
		log_info("NOTIFY for %s from %s refused: not a secondary zone here", zname, pstr);
		*outlen = reply(q, qend, out, cap, DNS_REFUSED);
		return *outlen ? XFR_REPLY : XFR_DROP;
	}
	bool known = false;
	for (unsigned i = 0; i < sz->nprimary && !known; i++)
		known = same_host(&sz->primary[i], peer);
	struct tsig_rr t;
	int tf = tsig_find(q, qlen, &t);
	const struct tsig_key *k = sz->key >= 0 ? &set->keys[sz->key] : NULL;
	if (!known || (k && tf != 0)) {
		log_zone(LOG_WARNING, sz->name, "NOTIFY from %s refused: %s", pstr,
			 !known ? "not a primary of the zone" : "not signed with the zone's key");
		*outlen = reply(q, qend, out, cap, DNS_REFUSED);
		return *outlen ? XFR_REPLY : XFR_DROP;
	}
	if (k) {
		enum tsig_error e = tsig_verify(q, qlen, &t, k, NULL, 0, false, now);
		if (e != TSIG_OK) {
			log_zone(LOG_WARNING, sz->name, "NOTIFY from %s refused: TSIG %s", pstr,
				 e == TSIG_BADKEY ? "BADKEY" : e == TSIG_BADTIME ? "BADTIME" :
				 "BADSIG");
			size_t len = reply(q, qend, out, cap, DNS_NOTAUTH);
			struct tsig_key echo = *k;
			if (e == TSIG_BADKEY) {
				/* Echo the request's key name (RFC 8945 5.3.2). */
				memcpy(echo.name, t.name, t.name_len);
				echo.name_len = t.name_len;
				echo.alg = t.alg ? t.alg : k->alg;
			}
			*outlen = len ? sign(out, len, cap, &echo, &t, (uint16_t)e, now) : 0;
			return *outlen ? XFR_REPLY : XFR_DROP;
		}
	}
	log_zone(LOG_INFO, sz->name, "NOTIFY from %s accepted", pstr);
	xfr_notify_fn fn = __atomic_load_n(&hook_fn, __ATOMIC_ACQUIRE);
	if (fn)
		fn(__atomic_load_n(&hook_ctx, __ATOMIC_RELAXED), sz->apex);
	size_t len = reply(q, qend, out, cap, DNS_NOERROR);
	*outlen = k && len ? sign(out, len, cap, k, &t, 0, now) : len;
	return *outlen ? XFR_REPLY : XFR_DROP;
}
