/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The iterator's transport on the loop thread: one connected UDP socket per
 * query from a random port (RFC 5452 9.2), or a TCP connection (RFC 7766),
 * with a timer.  It only moves bytes: the iterator built the query and
 * checks every packet that comes back (a connected socket already drops
 * other sources).  Also the iterator's clocks and randomness.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/wire.h"
#include "resolver/iter.h"
#include "resolverd/resolverd.h"
#include "rt/clock.h"

struct upq {
	struct upq *next, **pprev;       /* r->upqs until it ends */
	struct resolverd *r;
	struct itq *q;                   /* NULL once ended (cancel, timeout) */
	uv_udp_t udp;
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t conn;
	uv_write_t wreq;
	int open;                        /* handles still to close */
	bool use_tcp;
	struct sockaddr_storage ss;
	uint8_t lenbuf[2];
	size_t qlen;
	uint8_t qbuf[600];
	uint8_t *tbuf;                   /* TCP: what has been read */
	size_t tlen, tcap;
};

static void handle_closed(uv_handle_t *h)
{
	struct upq *u = h->data;
	if (--u->open == 0) {
		free(u->tbuf);
		free(u);
	}
}

/* End the send: no more callbacks into the iterator for it. */
static void upq_close(struct upq *u)
{
	u->q = NULL;
	*u->pprev = u->next;
	if (u->next)
		u->next->pprev = u->pprev;
	uv_close((uv_handle_t *)&u->timer, handle_closed);
	if (u->use_tcp)
		uv_close((uv_handle_t *)&u->tcp, handle_closed);
	else
		uv_close((uv_handle_t *)&u->udp, handle_closed);
}

static void up_cancel(void *ctx, struct itq *q, void *tx)
{
	struct upq *u = tx;
	if (u && u->q == q)
		upq_close(u);
}

static void finish_timeout(struct upq *u)
{
	struct itq *q = u->q;
	upq_close(u);
	iter_on_timeout(q);
}

static void on_timer(uv_timer_t *t)
{
	struct upq *u = t->data;
	if (u->q)
		finish_timeout(u);
}

static void udp_alloc(uv_handle_t *h, size_t sz, uv_buf_t *buf)
{
	static __thread char rbuf[65536];
	*buf = uv_buf_init(rbuf, sizeof(rbuf));
}

static void udp_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf,
		     const struct sockaddr *addr, unsigned flags)
{
	struct upq *u = h->data;
	if (n <= 0 || !u->q)
		return;
	/* Taken (the iterator cancelled this send) or dropped (keep waiting). */
	(void)!iter_on_packet(u->q, (const uint8_t *)buf->base, (size_t)n);
}

/* ---- TCP ---- */

static void tcp_alloc(uv_handle_t *h, size_t sz, uv_buf_t *buf)
{
	struct upq *u = h->data;
	if (u->tcap - u->tlen < 4096) {
		size_t cap = u->tcap ? u->tcap * 2 : 8192;
		uint8_t *p = cap <= 65537 * 2 ? realloc(u->tbuf, cap) : NULL;
		if (!p) {
			*buf = uv_buf_init(NULL, 0);
			return;
		}
		u->tbuf = p;
		u->tcap = cap;
	}
	*buf = uv_buf_init((char *)u->tbuf + u->tlen, (unsigned)(u->tcap - u->tlen));
}

static void tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct upq *u = s->data;
	if (!u->q)
		return;
	if (n < 0) {
		finish_timeout(u);
		return;
	}
	u->tlen += (size_t)n;
	while (u->q && u->tlen >= 2) {
		size_t need = wire_get_u16(u->tbuf);
		if (u->tlen < need + 2)
			return;
		if (iter_on_packet(u->q, u->tbuf + 2, need) == 0)
			return;         /* taken: u is closing */
		/* Dropped: skip that message and wait for the next. */
		memmove(u->tbuf, u->tbuf + 2 + need, u->tlen - 2 - need);
		u->tlen -= 2 + need;
	}
}

static void tcp_written(uv_write_t *w, int status)
{
	struct upq *u = w->data;
	if (status < 0 && u->q)
		finish_timeout(u);
}

static void tcp_connected(uv_connect_t *c, int status)
{
	struct upq *u = c->data;
	if (!u->q)
		return;
	if (status < 0) {
		finish_timeout(u);
		return;
	}
	wire_put_u16(u->lenbuf, (uint16_t)u->qlen);
	uv_buf_t bufs[2] = { uv_buf_init((char *)u->lenbuf, 2),
			     uv_buf_init((char *)u->qbuf, (unsigned)u->qlen) };
	u->wreq.data = u;
	if (uv_write(&u->wreq, (uv_stream_t *)&u->tcp, bufs, 2, tcp_written) != 0 ||
	    uv_read_start((uv_stream_t *)&u->tcp, tcp_alloc, tcp_read) != 0)
		finish_timeout(u);
}

/* ---- sending ---- */

static int bind_random_port(uv_udp_t *h, int family)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	for (int i = 0; i < 8; i++) {
		uint16_t port;
		resolverd_random(&port, sizeof(port));
		port = (uint16_t)(1024 + port % (65536 - 1024));
		if (family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
			s4->sin_family = AF_INET;
			s4->sin_port = htons(port);
		} else {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(port);
		}
		if (uv_udp_bind(h, (struct sockaddr *)&ss, 0) == 0)
			return 0;
	}
	return VANE_EAGAIN;
}

static int up_send(void *ctx, struct itq *q, const uint8_t *wire, size_t len,
		   const struct iter_addr *to, bool tcp, uint32_t timeout_ms, void **tx)
{
	struct resolverd *r = ctx;
	struct upq *u;

	if (r->draining)
		return VANE_EAGAIN;
	if (len > sizeof(u->qbuf) || !(u = calloc(1, sizeof(*u))))
		return VANE_ENOMEM;
	u->r = r;
	u->next = r->upqs;
	u->pprev = &r->upqs;
	if (r->upqs)
		r->upqs->pprev = &u->next;
	r->upqs = u;
	u->q = q;
	u->use_tcp = tcp;
	u->qlen = len;
	memcpy(u->qbuf, wire, len);
	if (to->family == 1) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&u->ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(to->port ? to->port : 53);
		memcpy(&s4->sin_addr, to->addr, 4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&u->ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(to->port ? to->port : 53);
		memcpy(&s6->sin6_addr, to->addr, 16);
	}
	uv_timer_init(&r->loop, &u->timer);
	u->timer.data = u;
	u->open = 2;
	*tx = u;
	/* Failures after this point end like a timeout, from the loop (the
	 * iterator must not be called back from inside send). */
	uv_timer_start(&u->timer, on_timer, timeout_ms, 0);
	if (tcp) {
		uv_tcp_init(&r->loop, &u->tcp);
		u->tcp.data = u;
		u->conn.data = u;
		if (uv_tcp_connect(&u->conn, &u->tcp, (struct sockaddr *)&u->ss,
				   tcp_connected) != 0)
			uv_timer_start(&u->timer, on_timer, 0, 0);
		return 0;
	}
	uv_udp_init(&r->loop, &u->udp);
	u->udp.data = u;
	if (bind_random_port(&u->udp, to->family == 1 ? AF_INET : AF_INET6) != 0 ||
	    uv_udp_connect(&u->udp, (struct sockaddr *)&u->ss) != 0 ||
	    uv_udp_recv_start(&u->udp, udp_alloc, udp_recv) != 0) {
		uv_timer_start(&u->timer, on_timer, 0, 0);
		return 0;
	}
	uv_buf_t b = uv_buf_init((char *)u->qbuf, (unsigned)u->qlen);
	if (uv_udp_try_send(&u->udp, &b, 1, NULL) < 0)
		uv_timer_start(&u->timer, on_timer, 0, 0);
	return 0;
}

void resolverd_upstream_drain(struct resolverd *r)
{
	/* Each timeout may make the iterator try another server; with
	 * `draining` that send fails at once, so the resolution moves on to
	 * its end without waiting, and the list empties. */
	r->draining = true;
	while (r->upqs)
		finish_timeout(r->upqs);
}

/* ---- clocks and randomness ---- */

static uint64_t up_now(void *ctx)
{
	struct resolverd *r = ctx;
	/* Fake time stands still except for `time +N` on the control socket,
	 * so tests see exact TTLs. */
	if (r->conf->fake_time)
		return r->mono_base + (uint64_t)atomic_load(&r->fake_offset);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

static uint64_t up_now_ms(void *ctx)
{
	struct resolverd *r = ctx;
	return uv_now(&r->loop);
}

static void up_random(void *ctx, void *buf, size_t len)
{
	resolverd_random(buf, len);
}

void resolverd_random(void *buf, size_t len)
{
	rt_random(buf, len);
}

void resolverd_env_init(struct resolverd *r)
{
	r->env = (struct iter_env){
		.ctx = r, .send = up_send, .cancel = up_cancel, .now = up_now,
		.now_ms = up_now_ms, .random = up_random,
	};
}
