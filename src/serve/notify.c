/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/pkt.h"
#include "lib/rand.h"
#include "lib/wire.h"
#include "rt/clock.h"
#include "rt/log.h"
#include "serve/notify.h"
#include "zone/journal.h"

#define NOTIFY_TICK_MS 100
#define SOA_TIMEOUT_MS 1000

struct npeer {
	struct npeer *next;
	char zone[DNAME_MAXSTR];
	uint8_t apex[DNAME_MAXLEN];
	uint8_t apex_len;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char text[64];
	bool has_key;
	struct tsig_key key;
	bool seen;                     /* named in this round */

	uint32_t serial;               /* ours */
	bool notified;                 /* `serial` was notified at least once */
	bool pending;
	unsigned tries;
	uint16_t notify_id;
	uint8_t mac[TSIG_MAX_MAC];
	size_t mac_len;
	uint64_t next_try;             /* uv_now */
	bool failed;
	char error[64];
	long long last_ack;

	bool soa_pending;
	uint16_t soa_id;
	uint64_t soa_sent, next_poll;
	bool have_serial;
	uint32_t sec_serial;
	long long sec_at;
	unsigned lag_polls;
};

struct notifier {
	uv_loop_t *loop;
	uv_udp_t udp4, udp6;
	bool have4, have6;
	uv_timer_t timer;
	struct npeer *peers;
	uint64_t rng;
	bool closing;
};

static void peer_send(struct notifier *n, struct npeer *p, uint8_t *msg, size_t len)
{
	uv_udp_t *h = p->addr.ss_family == AF_INET6 ? &n->udp6 : &n->udp4;
	if ((p->addr.ss_family == AF_INET6 ? !n->have6 : !n->have4))
		return;
	uv_buf_t b = uv_buf_init((char *)msg, (unsigned)len);
	int r = uv_udp_try_send(h, &b, 1, (const struct sockaddr *)&p->addr);
	if (r < 0)
		log_debug("[%s] send to %s: %s", p->zone, p->text, uv_strerror(r));
}

/* A query for the apex with `opcode` and `qtype`; returns its length. */
static size_t build_query(struct npeer *p, uint16_t id, unsigned opcode, uint16_t qtype,
			  uint8_t *buf, size_t cap)
{
	struct wire w = wire_init(buf, cap);
	wire_write_u16(&w, id);
	/* RFC 1996 3.7: a NOTIFY is sent with AA set. */
	wire_write_u16(&w, (uint16_t)(opcode << 11 | (opcode == DNS_OP_NOTIFY ? DNS_AA : 0)));
	wire_write_u16(&w, 1);
	wire_write_u16(&w, 0);
	wire_write_u16(&w, 0);
	wire_write_u16(&w, 0);
	wire_write(&w, p->apex, p->apex_len);
	wire_write_u16(&w, qtype);
	wire_write_u16(&w, DNS_IN);
	return w.err ? 0 : wire_offset(&w);
}

static void send_notify(struct notifier *n, struct npeer *p)
{
	uint8_t buf[1024];
	p->notify_id = (uint16_t)rand_next(&n->rng);
	size_t len = build_query(p, p->notify_id, DNS_OP_NOTIFY, DNS_SOA, buf, sizeof(buf));
	if (len && p->has_key) {
		struct tsig_sign s = { .key = &p->key, .time_signed = (uint64_t)time(NULL) };
		if (tsig_append(buf, &len, sizeof(buf), &s, p->mac, &p->mac_len) != 0)
			len = 0;
	}
	if (len)
		peer_send(n, p, buf, len);
	p->tries++;
	p->next_try = uv_now(n->loop) + (1000ull << (p->tries - 1));
	log_debug("[%s] NOTIFY serial %u to %s, try %u", p->zone, p->serial, p->text, p->tries);
}

static void send_soa(struct notifier *n, struct npeer *p)
{
	uint8_t buf[512];
	p->soa_id = (uint16_t)rand_next(&n->rng);
	size_t len = build_query(p, p->soa_id, DNS_OP_QUERY, DNS_SOA, buf, sizeof(buf));
	if (len)
		peer_send(n, p, buf, len);
	p->soa_pending = true;
	p->soa_sent = uv_now(n->loop);
	p->next_poll = p->soa_sent + NOTIFY_POLL_MS;
}

static void start_notify(struct notifier *n, struct npeer *p)
{
	p->pending = true;
	p->notified = true;
	p->tries = 0;
	p->lag_polls = 0;
	send_notify(n, p);
}

static void tick_cb(uv_timer_t *t)
{
	struct notifier *n = t->data;
	uint64_t now = uv_now(n->loop);
	for (struct npeer *p = n->peers; p; p = p->next) {
		if (p->pending && now >= p->next_try) {
			if (p->tries >= NOTIFY_MAX_TRIES) {
				p->pending = false;
				p->failed = true;
				snprintf(p->error, sizeof(p->error), "no answer after %u tries",
					 p->tries);
				log_zone(LOG_WARNING, p->zone, "NOTIFY serial %u to %s: %s", p->serial,
					 p->text, p->error);
			} else {
				send_notify(n, p);
			}
		}
		if (p->soa_pending && now >= p->soa_sent + SOA_TIMEOUT_MS)
			p->soa_pending = false;
		if (!p->soa_pending && now >= p->next_poll)
			send_soa(n, p);
	}
}

static struct npeer *peer_by_id(struct notifier *n, const struct sockaddr *from, uint16_t id,
				bool notify)
{
	for (struct npeer *p = n->peers; p; p = p->next) {
		if (p->addr.ss_family != from->sa_family ||
		    memcmp(&p->addr, from, p->addrlen) != 0)
			continue;
		if (notify ? p->pending && p->notify_id == id : p->soa_pending && p->soa_id == id)
			return p;
	}
	return NULL;
}

static void on_notify_reply(struct npeer *p, const uint8_t *msg, size_t len)
{
	unsigned rcode = msg[3] & 0x0F;
	const char *err = NULL;
	if (rcode != DNS_NOERROR) {
		err = rcode == DNS_NOTAUTH ? "NOTAUTH (key?)" : rcode == DNS_REFUSED ? "REFUSED" :
		      rcode == DNS_NOTIMP ? "NOTIMP" : rcode == DNS_SERVFAIL ? "SERVFAIL" : "error";
	} else if (p->has_key) {
		struct tsig_rr t;
		if (tsig_find(msg, len, &t) != 0)
			err = "reply not signed";
		else if (tsig_verify(msg, len, &t, &p->key, p->mac, p->mac_len, false,
				     (uint64_t)time(NULL)) != TSIG_OK)
			err = "reply TSIG does not verify";
	}
	if (err) {
		/* An answer that is an error will not change on a retry. */
		p->pending = false;
		p->failed = true;
		snprintf(p->error, sizeof(p->error), "%s", err);
		log_zone(LOG_WARNING, p->zone, "NOTIFY serial %u to %s failed: %s", p->serial,
			 p->text, err);
		return;
	}
	p->pending = false;
	p->failed = false;
	p->error[0] = 0;
	p->last_ack = (long long)time(NULL);
	log_zone(LOG_INFO, p->zone, "NOTIFY serial %u acknowledged by %s", p->serial, p->text);
}

/* The serial of the first answer record, if it is an SOA. */
static bool soa_serial(const uint8_t *msg, size_t len, uint32_t *serial)
{
	uint8_t name[DNAME_MAXLEN];
	size_t off = DNS_HDRLEN;
	if (wire_get_u16(msg + 4) != 1 || wire_get_u16(msg + 6) < 1 ||
	    dname_unpack(msg, len, &off, name, false) < 0 || off + 4 > len)
		return false;
	off += 4;
	if (dname_unpack(msg, len, &off, name, false) < 0 || off + 10 > len ||
	    wire_get_u16(msg + off) != DNS_SOA)
		return false;
	size_t end = off + 10 + wire_get_u16(msg + off + 8);
	off += 10;
	if (end > len || dname_unpack(msg, end, &off, name, false) < 0 ||
	    dname_unpack(msg, end, &off, name, false) < 0 || off + 20 > end)
		return false;
	*serial = wire_get_u32(msg + off);
	return true;
}

static void on_soa_reply(struct notifier *n, struct npeer *p, const uint8_t *msg, size_t len)
{
	uint32_t serial;
	p->soa_pending = false;
	if ((msg[3] & 0x0F) != DNS_NOERROR || !soa_serial(msg, len, &serial))
		return;
	if (!p->have_serial || serial != p->sec_serial)
		log_zone(LOG_INFO, p->zone, "secondary %s serves serial %u", p->text, serial);
	p->have_serial = true;
	p->sec_serial = serial;
	p->sec_at = (long long)time(NULL);
	/* Behind for two polls with no NOTIFY in flight: it missed one (it
	 * was down, or a transfer broke off); tell it again. */
	if (serial_lt(serial, p->serial) && !p->pending) {
		if (++p->lag_polls >= 2)
			start_notify(n, p);
	} else {
		p->lag_polls = 0;
	}
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static __thread uint8_t rbuf[65536];   /* loop thread only */
	*buf = uv_buf_init((char *)rbuf, sizeof(rbuf));
}

static void recv_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
		    const struct sockaddr *from, unsigned flags)
{
	struct notifier *n = h->data;
	if (nread < DNS_HDRLEN || !from)
		return;
	const uint8_t *msg = (const uint8_t *)buf->base;
	uint16_t f = wire_get_u16(msg + 2);
	if (!(f & DNS_QR))
		return;
	bool notify = DNS_OPCODE(f) == DNS_OP_NOTIFY;
	struct npeer *p = peer_by_id(n, from, wire_get_u16(msg), notify);
	if (!p)
		return;
	if (notify) {
		on_notify_reply(p, msg, (size_t)nread);
		/* Ask for its serial soon: it is transferring now. */
		p->next_poll = uv_now(n->loop) + 200;
	} else {
		on_soa_reply(n, p, msg, (size_t)nread);
	}
}

static bool udp_open(uv_loop_t *loop, uv_udp_t *h, int af, void *data)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)af;
	if (uv_udp_init_ex(loop, h, (unsigned)af) != 0)
		return false;
	h->data = data;
	if (uv_udp_bind(h, (const struct sockaddr *)&ss,
			af == AF_INET6 ? UV_UDP_IPV6ONLY : 0) != 0 ||
	    uv_udp_recv_start(h, alloc_cb, recv_cb) != 0) {
		uv_close((uv_handle_t *)h, NULL);
		return false;
	}
	return true;
}

int notifier_start(uv_loop_t *loop, struct notifier **out)
{
	struct notifier *n = calloc(1, sizeof(*n));
	if (!n)
		return VANE_ENOMEM;
	n->loop = loop;
	n->rng = rt_seed();
	n->have4 = udp_open(loop, &n->udp4, AF_INET, n);
	n->have6 = udp_open(loop, &n->udp6, AF_INET6, n);
	uv_timer_init(loop, &n->timer);
	n->timer.data = n;
	uv_timer_start(&n->timer, tick_cb, NOTIFY_TICK_MS, NOTIFY_TICK_MS);
	*out = n;
	return 0;
}

void notifier_close(struct notifier *n)
{
	if (!n || n->closing)
		return;
	n->closing = true;
	if (n->have4)
		uv_close((uv_handle_t *)&n->udp4, NULL);
	if (n->have6)
		uv_close((uv_handle_t *)&n->udp6, NULL);
	uv_close((uv_handle_t *)&n->timer, NULL);
}

void notifier_free(struct notifier *n)
{
	if (!n)
		return;
	while (n->peers) {
		struct npeer *p = n->peers;
		n->peers = p->next;
		free(p);
	}
	free(n);
}

void notifier_begin(struct notifier *n)
{
	for (struct npeer *p = n->peers; p; p = p->next)
		p->seen = false;
}

void notifier_zone(struct notifier *n, const char *name, const uint8_t *apex, uint32_t serial,
		   const struct notify_target *t, unsigned nt)
{
	for (unsigned i = 0; i < nt; i++) {
		struct npeer *p = n->peers;
		for (; p; p = p->next)
			if (strcmp(p->zone, name) == 0 && strcmp(p->text, t[i].text) == 0)
				break;
		if (!p) {
			p = calloc(1, sizeof(*p));
			if (!p)
				continue;
			snprintf(p->zone, sizeof(p->zone), "%s", name);
			snprintf(p->text, sizeof(p->text), "%s", t[i].text);
			p->next_poll = uv_now(n->loop) + NOTIFY_POLL_MS;
			p->next = n->peers;
			n->peers = p;
		}
		p->seen = true;
		p->apex_len = (uint8_t)dname_len(apex);
		memcpy(p->apex, apex, p->apex_len);
		p->addr = t[i].addr;
		p->addrlen = t[i].addrlen;
		p->has_key = t[i].key != NULL;
		if (t[i].key)
			p->key = *t[i].key;
		if (!p->notified || p->serial != serial) {
			p->serial = serial;
			start_notify(n, p);
		}
	}
}

void notifier_end(struct notifier *n)
{
	for (struct npeer **pp = &n->peers; *pp;) {
		struct npeer *p = *pp;
		if (!p->seen) {
			*pp = p->next;
			free(p);
		} else {
			pp = &p->next;
		}
	}
}

unsigned notifier_peers(const struct notifier *n, const char *name,
			struct notify_peer_info *out, unsigned max)
{
	unsigned k = 0;
	for (const struct npeer *p = n ? n->peers : NULL; p && k < max; p = p->next) {
		if (strcmp(p->zone, name) != 0)
			continue;
		out[k++] = (struct notify_peer_info){
			.target = p->text, .pending = p->pending, .failed = p->failed,
			.error = p->error[0] ? p->error : NULL, .last_ack = p->last_ack,
			.have_serial = p->have_serial, .serial = p->sec_serial,
			.serial_at = p->sec_at,
		};
	}
	return k;
}
