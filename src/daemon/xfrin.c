/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "daemon/rrlist.h"
#include "daemon/xfrin.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "rt/clock.h"

/* ---- messages ---- */

static void fail(struct xfrin_req *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
}

/* A query for the apex: SOA, AXFR, or IXFR with the serving SOA in the
 * authority section (RFC 1995 3); signed when the zone has a key.  Returns
 * the length, the MAC in `mac`. */
static size_t build_query(const struct xfrin_req *r, uint16_t qtype, uint8_t *buf, size_t cap,
			  uint8_t *mac, size_t *mac_len)
{
	uint16_t id;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint16_t)rt_now_ms();
	size_t alen = dname_len(r->apex);
	size_t len = DNS_HDRLEN;
	memset(buf, 0, DNS_HDRLEN);
	wire_put_u16(buf, id);
	wire_put_u16(buf + 4, 1);
	memcpy(buf + len, r->apex, alen);
	len += alen;
	wire_put_u16(buf + len, qtype);
	wire_put_u16(buf + len + 2, DNS_IN);
	len += 4;
	if (qtype == DNS_IXFR) {
		const struct rrset *soa = r->cur->soa;
		uint16_t rdlen = wire_get_u16(soa->rdata);
		memcpy(buf + len, r->apex, alen);
		len += alen;
		wire_put_u16(buf + len, DNS_SOA);
		wire_put_u16(buf + len + 2, DNS_IN);
		wire_put_u32(buf + len + 4, soa->ttl);
		memcpy(buf + len + 8, soa->rdata, 2u + rdlen);
		len += 10u + rdlen;
		wire_put_u16(buf + 8, 1);
	}
	*mac_len = 0;
	if (r->have_key) {
		struct tsig_sign s = { .key = &r->key, .time_signed = (uint64_t)time(NULL) };
		if (tsig_append(buf, &len, cap, &s, mac, mac_len) != 0)
			return 0;
	}
	return len;
}

/* Names inside RDATA that a sender may compress (RFC 1035 3.3, RFC 3597
 * 4): `pre` bytes, then `names` names, then the rest as is. */
static const struct { uint16_t type; uint8_t pre, names; } comp_types[] = {
	{ 2, 0, 1 }, { 3, 0, 1 }, { 4, 0, 1 }, { 5, 0, 1 }, { 6, 0, 2 }, { 7, 0, 1 },
	{ 8, 0, 1 }, { 9, 0, 1 }, { 12, 0, 1 }, { 14, 0, 2 }, { 15, 2, 1 }, { 17, 0, 2 },
	{ 18, 2, 1 }, { 21, 2, 1 }, { 26, 2, 2 }, { 33, 6, 1 }, { 36, 2, 1 }, { 39, 0, 1 },
};

/* RDATA at `off` (`rdlen` bytes) into `out` with names decompressed;
 * returns the new length or < 0. */
static int rdata_unpack(const uint8_t *pkt, size_t len, size_t off, uint16_t type,
			uint16_t rdlen, uint8_t *out, size_t cap)
{
	size_t end = off + rdlen;
	unsigned pre = 0, names = 0;
	for (size_t i = 0; i < sizeof(comp_types) / sizeof(comp_types[0]); i++)
		if (comp_types[i].type == type) {
			pre = comp_types[i].pre;
			names = comp_types[i].names;
		}
	if (end > len || pre > rdlen)
		return VANE_EMALF;
	size_t o = pre;
	memcpy(out, pkt + off, pre);
	off += pre;
	for (unsigned n = 0; n < names; n++) {
		uint8_t name[DNAME_MAXLEN];
		int nl = dname_unpack(pkt, end, &off, name, false);
		if (nl < 0 || o + (size_t)nl > cap)
			return VANE_EMALF;
		memcpy(out + o, name, (size_t)nl);
		o += (size_t)nl;
	}
	if (off > end || o + (end - off) > cap)
		return VANE_EMALF;
	memcpy(out + o, pkt + off, end - off);
	o += end - off;
	return o > 65535 ? VANE_EMALF : (int)o;
}

/* Serial and timers of SOA RDATA (uncompressed). */
static bool soa_fields(const uint8_t *rd, uint16_t rdlen, uint32_t v[5])
{
	size_t o = 0;
	for (int n = 0; n < 2; n++) {
		while (o < rdlen && rd[o])
			o += rd[o] + 1u;
		o++;
	}
	if (o + 20 > rdlen)
		return false;
	for (int i = 0; i < 5; i++)
		v[i] = wire_get_u32(rd + o + 4 * i);
	return true;
}

/* One record of an answer section, decompressed. */
struct xrec {
	uint8_t owner[DNAME_MAXLEN];
	uint16_t type, rdlen;
	uint32_t ttl;
	uint8_t rdata[65536];
};

/* Header checks and TSIG of one response; `*an` its answer count and
 * `*off` where the answer section starts.  `prior`/`timers_only` as in
 * tsig_verify; the message's MAC is copied to `prior` for the next one. */
static int check_response(struct xfrin_req *r, const uint8_t *q, const uint8_t *m, size_t len,
			  uint8_t *prior, size_t *prior_len, bool timers_only, unsigned *an,
			  size_t *off)
{
	if (len < DNS_HDRLEN || wire_get_u16(m) != wire_get_u16(q) || !(m[2] & 0x80)) {
		fail(r, "malformed or unexpected response");
		return -1;
	}
	struct tsig_rr t;
	int tf = tsig_find(m, len, &t);
	if (r->have_key) {
		if (tf != 0) {
			fail(r, "response %s (rcode %u)", tf == VANE_ENOENT ? "not signed" :
			     "with a malformed TSIG", m[3] & 0x0F);
			return -1;
		}
		if (t.error) {
			fail(r, "refused: TSIG error %u (%s)", t.error, t.error == TSIG_BADKEY ?
			     "BADKEY, wrong key name or algorithm" : t.error == TSIG_BADSIG ?
			     "BADSIG, wrong secret" : t.error == TSIG_BADTIME ? "BADTIME" : "?");
			return -1;
		}
		enum tsig_error e = tsig_verify(m, len, &t, &r->key, prior, *prior_len, timers_only,
						(uint64_t)time(NULL));
		if (e != TSIG_OK) {
			fail(r, "response TSIG does not verify (error %u)", e);
			return -1;
		}
		memcpy(prior, t.mac, t.mac_len);
		*prior_len = t.mac_len;
	}
	unsigned rcode = m[3] & 0x0F;
	if (rcode != DNS_NOERROR) {
		fail(r, "rcode %u (%s)", rcode, rcode == DNS_REFUSED ? "REFUSED" :
		     rcode == DNS_NOTAUTH ? "NOTAUTH" : rcode == DNS_NOTIMP ? "NOTIMP" :
		     rcode == DNS_SERVFAIL ? "SERVFAIL" : rcode == DNS_FORMERR ? "FORMERR" : "error");
		return -(int)rcode - 1;
	}
	size_t o = DNS_HDRLEN;
	for (unsigned i = 0; i < wire_get_u16(m + 4); i++) {
		uint8_t name[DNAME_MAXLEN];
		if (dname_unpack(m, len, &o, name, false) < 0 || o + 4 > len) {
			fail(r, "malformed question in the response");
			return -1;
		}
		o += 4;
	}
	*an = wire_get_u16(m + 6);
	*off = o;
	return 0;
}

static int next_rec(const uint8_t *m, size_t len, size_t *off, struct xrec *x)
{
	if (dname_unpack(m, len, off, x->owner, false) < 0 || *off + 10 > len)
		return VANE_EMALF;
	x->type = wire_get_u16(m + *off);
	x->ttl = wire_get_u32(m + *off + 4);
	uint16_t rdlen = wire_get_u16(m + *off + 8);
	*off += 10;
	int n = rdata_unpack(m, len, *off, x->type, rdlen, x->rdata, sizeof(x->rdata));
	if (n < 0)
		return n;
	x->rdlen = (uint16_t)n;
	*off += rdlen;
	return 0;
}

/* ---- sockets with deadlines ---- */

/* Wait for `ev` until `deadline`, in slices so that a stopping daemon
 * (`*cancel` set) does not wait for a slow primary. */
static int wait_fd(int fd, short ev, uint64_t deadline, const int *cancel)
{
	for (;;) {
		uint64_t now = rt_now_ms();
		if (__atomic_load_n(cancel, __ATOMIC_RELAXED))
			return VANE_EAGAIN;
		if (now >= deadline)
			return VANE_ETIMEDOUT;
		struct pollfd p = { .fd = fd, .events = ev };
		uint64_t slice = deadline - now < 100 ? deadline - now : 100;
		int n = poll(&p, 1, (int)slice);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int read_full(int fd, uint8_t *buf, size_t n, unsigned timeout_ms, const int *cancel)
{
	size_t got = 0;
	while (got < n) {
		int ret = wait_fd(fd, POLLIN, rt_now_ms() + timeout_ms, cancel);
		if (ret != 0)
			return ret;
		ssize_t k = read(fd, buf + got, n - got);
		if (k == 0)
			return VANE_EMALF;   /* closed mid-message */
		if (k < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (k > 0)
			got += (size_t)k;
	}
	return 0;
}

static int open_socket(const struct xfrin_req *r, unsigned p, int type)
{
	int fd = socket(r->primary[p].ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&r->primary[p], r->primary_len[p]) != 0 &&
	    errno != EINPROGRESS) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (type == SOCK_STREAM) {
		int ret = wait_fd(fd, POLLOUT, rt_now_ms() + r->timeout_ms, &r->cancel);
		int err = 0;
		socklen_t el = sizeof(err);
		if (ret == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err)
			ret = -err;
		if (ret != 0) {
			close(fd);
			return ret;
		}
	}
	return fd;
}

/* ---- SOA query (UDP) ---- */

static int query_soa(struct xfrin_req *r, unsigned p)
{
	uint8_t q[512], m[4096], mac[TSIG_MAX_MAC];
	size_t mac_len;
	size_t qlen = build_query(r, DNS_SOA, q, sizeof(q), mac, &mac_len);
	int fd = open_socket(r, p, SOCK_DGRAM);
	if (fd < 0 || qlen == 0) {
		fail(r, "SOA query: %s", vane_strerror(fd < 0 ? fd : VANE_ENOMEM));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int ret = -1;
	if (send(fd, q, qlen, 0) != (ssize_t)qlen) {
		fail(r, "SOA query: %s", strerror(errno));
		goto out;
	}
	uint64_t deadline = rt_now_ms() + r->timeout_ms;
	for (;;) {
		if (wait_fd(fd, POLLIN, deadline, &r->cancel) != 0) {
			fail(r, "SOA query: no answer in %u ms", r->timeout_ms);
			goto out;
		}
		ssize_t n = recv(fd, m, sizeof(m), 0);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			/* ICMP port unreachable and the like: no primary there. */
			fail(r, "SOA query: %s", strerror(errno));
			goto out;
		}
		if (n < DNS_HDRLEN || wire_get_u16(m) != wire_get_u16(q))
			continue;   /* a stray datagram: keep waiting */
		unsigned an;
		size_t off;
		if (check_response(r, q, m, (size_t)n, mac, &mac_len, false, &an, &off) != 0)
			goto out;
		struct xrec *x = malloc(sizeof(*x));
		if (!x)
			goto out;
		for (unsigned i = 0; i < an; i++) {
			uint32_t v[5];
			if (next_rec(m, (size_t)n, &off, x) != 0)
				break;
			if (x->type == DNS_SOA && dname_equal(x->owner, r->apex) &&
			    soa_fields(x->rdata, x->rdlen, v)) {
				r->serial = v[0];
				r->refresh = v[1];
				r->retry = v[2];
				r->expire = v[3];
				ret = 0;
				break;
			}
		}
		free(x);
		if (ret != 0)
			fail(r, "SOA query: no SOA for the zone in the answer");
		goto out;
	}
out:
	close(fd);
	return ret;
}

/* ---- transfer (TCP) ---- */

/* Where a transfer is in its stream of records (RFC 1995 4, RFC 5936 2.2). */
enum xphase { XP_FIRST, XP_SECOND, XP_AXFR, XP_DELS, XP_ADDS, XP_DONE };

struct xfer {
	struct xfrin_req *r;
	enum xphase phase;
	uint32_t serial;             /* of the first SOA: the version being sent */
	struct xrec first;           /* that SOA, added once the style is known */
	struct rrlist *out;          /* AXFR: a new list; IXFR: the serving version */
	bool incremental;
	unsigned count;
};

static int soa_serial(const struct xrec *x, uint32_t *serial)
{
	uint32_t v[5];
	if (!soa_fields(x->rdata, x->rdlen, v))
		return VANE_EMALF;
	*serial = v[0];
	return 0;
}

static int take(struct xfer *x, const struct xrec *rec, bool ixfr)
{
	bool soa = rec->type == DNS_SOA && dname_equal(rec->owner, x->r->apex);
	uint32_t serial = 0;
	if (soa && soa_serial(rec, &serial) != 0)
		return VANE_EMALF;
	x->count++;
	switch (x->phase) {
	case XP_FIRST:
		if (!soa)
			return VANE_EMALF;   /* a transfer starts with the SOA */
		x->serial = serial;
		x->first = *rec;
		x->phase = XP_SECOND;
		return 0;
	case XP_SECOND:
		if (soa && ixfr) {
			/* RFC 1995 4: the old SOA of the first difference. */
			x->incremental = true;
			x->phase = XP_DELS;
			return rrlist_del(x->out, rec->owner, rec->type, rec->rdata, rec->rdlen);
		}
		if (soa)
			return VANE_EMALF;   /* SOA, SOA: a zone without NS */
		x->phase = XP_AXFR;
		if (ixfr) {
			/* RFC 1995 4: the whole zone in reply to an IXFR (no
			 * journal at the primary): it replaces the serving records. */
			rrlist_free(x->out);
			rrlist_init(x->out);
		}
		{
			int ret = rrlist_add(x->out, x->first.owner, DNS_SOA, x->first.ttl,
					     x->first.rdata, x->first.rdlen);
			if (ret != 0)
				return ret;
		}
		return rrlist_add(x->out, rec->owner, rec->type, rec->ttl, rec->rdata, rec->rdlen);
	case XP_AXFR:
		if (soa) {
			x->phase = XP_DONE;
			return serial == x->serial ? 0 : VANE_EMALF;
		}
		return rrlist_add(x->out, rec->owner, rec->type, rec->ttl, rec->rdata, rec->rdlen);
	case XP_DELS:
		if (soa) {
			x->phase = XP_ADDS;   /* the new SOA of this difference */
			return rrlist_add(x->out, rec->owner, rec->type, rec->ttl, rec->rdata,
					  rec->rdlen);
		}
		return rrlist_del(x->out, rec->owner, rec->type, rec->rdata, rec->rdlen);
	case XP_ADDS:
		if (soa && serial == x->serial) {
			x->phase = XP_DONE;
			return 0;
		}
		if (soa) {
			x->phase = XP_DELS;   /* the old SOA of the next difference */
			return rrlist_del(x->out, rec->owner, rec->type, rec->rdata, rec->rdlen);
		}
		return rrlist_add(x->out, rec->owner, rec->type, rec->ttl, rec->rdata, rec->rdlen);
	case XP_DONE:
		return VANE_EMALF;   /* records after the final SOA */
	}
	return VANE_EMALF;
}

/* One transfer from primary `p` into `out`.  Returns 0 (done), 1 (an IXFR
 * answered with the SOA alone: nothing newer after all) or -1, with
 * `*refused` set when the primary said no (then AXFR may still work). */
static int transfer(struct xfrin_req *r, unsigned p, bool ixfr, struct rrlist *out,
		    bool *refused)
{
	uint8_t q[1024], mac[TSIG_MAX_MAC];
	size_t mac_len;
	*refused = false;
	size_t qlen = build_query(r, ixfr ? DNS_IXFR : DNS_AXFR, q + 2, sizeof(q) - 2, mac,
				  &mac_len);
	if (qlen == 0) {
		fail(r, "cannot build the query");
		return -1;
	}
	wire_put_u16(q, (uint16_t)qlen);
	int fd = open_socket(r, p, SOCK_STREAM);
	if (fd < 0) {
		fail(r, "%s connect: %s", ixfr ? "IXFR" : "AXFR", vane_strerror(fd));
		return -1;
	}
	uint8_t *m = malloc(DNS_MAXMSG);
	struct xfer *x = calloc(1, sizeof(*x));
	struct xrec *rec = malloc(sizeof(*rec));
	int ret = -1;
	if (!m || !x || !rec) {
		fail(r, "out of memory");
		goto out;
	}
	x->r = r;
	x->out = out;
	if (write(fd, q, qlen + 2) != (ssize_t)(qlen + 2)) {
		fail(r, "send: %s", strerror(errno));
		goto out;
	}
	for (unsigned msgs = 0; x->phase != XP_DONE; msgs++) {
		uint8_t lb[2];
		int e = read_full(fd, lb, 2, r->timeout_ms, &r->cancel);
		size_t len = wire_get_u16(lb);
		if (e == 0)
			e = read_full(fd, m, len, r->timeout_ms, &r->cancel);
		if (e != 0) {
			if (e == VANE_EMALF && msgs == 1 && x->phase == XP_SECOND && ixfr) {
				ret = 1;   /* the SOA alone: up to date (RFC 1995 2) */
				goto out;
			}
			fail(r, "%s: %s after %u messages", ixfr ? "IXFR" : "AXFR",
			     e == VANE_EMALF ? "connection closed" : vane_strerror(e), msgs);
			goto out;
		}
		unsigned an;
		size_t off;
		int c = check_response(r, q + 2, m, len, mac, &mac_len, msgs > 0, &an, &off);
		if (c != 0) {
			*refused = c < -1;
			goto out;
		}
		for (unsigned i = 0; i < an; i++) {
			if (next_rec(m, len, &off, rec) != 0 || (e = take(x, rec, ixfr)) != 0) {
				fail(r, "%s: %s at record %u", ixfr ? "IXFR" : "AXFR",
				     e == VANE_ENOENT ? "deletes a record this version lacks" :
				     "malformed transfer", x->count);
				*refused = ixfr;   /* AXFR may still work */
				goto out;
			}
		}
		/* An IXFR answered with the one SOA (not newer after all). */
		if (ixfr && x->phase == XP_SECOND && an == 1 && msgs == 0) {
			ret = 1;
			goto out;
		}
	}
	r->serial = x->serial;
	{
		uint32_t v[5];
		if (soa_fields(x->first.rdata, x->first.rdlen, v)) {
			r->refresh = v[1];
			r->retry = v[2];
			r->expire = v[3];
		}
	}
	r->kind = x->incremental ? "IXFR" : "AXFR";
	ret = 0;
out:
	free(m);
	free(x);
	free(rec);
	close(fd);
	return ret;
}

/* RFC 1982 3.2 */
static bool serial_newer(uint32_t s1, uint32_t s2)
{
	return s1 != s2 && (uint32_t)(s1 - s2) < 0x80000000u;
}

static bool try_primary(struct xfrin_req *r, unsigned p)
{
	if (query_soa(r, p) != 0)
		return false;
	r->from = p;
	if (r->cur && !serial_newer(r->serial, r->cur->serial)) {
		r->outcome = XFRIN_UPTODATE;
		r->kind = "SOA";
		return true;
	}
	struct rrlist l;
	bool refused = false;
	int ret = -1;
	if (r->cur) {
		rrlist_init(&l);
		ret = rrlist_from_zone(&l, r->cur);
		if (ret == 0)
			ret = transfer(r, p, true, &l, &refused);
		if (ret == 1) {
			rrlist_free(&l);
			r->outcome = XFRIN_UPTODATE;
			r->kind = "SOA";
			return true;
		}
		if (ret != 0)
			rrlist_free(&l);
	}
	if (ret != 0) {
		/* No serving version, or the IXFR failed: the whole zone. */
		rrlist_init(&l);
		ret = transfer(r, p, false, &l, &refused);
	}
	if (ret == 0) {
		int e = rrlist_save(&l, r->path, r->name);
		if (e != 0) {
			fail(r, "saving %s: %s", r->path, vane_strerror(e));
			ret = -1;
		} else {
			r->records = (unsigned)l.live;
			r->outcome = XFRIN_SAVED;
		}
	}
	rrlist_free(&l);
	return ret == 0;
}

void xfrin_run(struct xfrin_req *r)
{
	r->outcome = XFRIN_FAILED;
	r->error[0] = 0;
	r->kind = "SOA";
	for (unsigned p = 0; p < r->nprimary; p++) {
		char why[256];
		if (try_primary(r, p))
			return;
		snprintf(why, sizeof(why), "%s", r->error);
		fail(r, "%s: %s", r->primary_text[p], why);
	}
}
