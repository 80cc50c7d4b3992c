/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Client TCP on the loop thread (RFC 7766): 2-byte framing, pipelined
 * queries answered as they resolve (out of order allowed, 6.2.1.1), idle
 * timeout.  A connection stays allocated while queries on it are pending.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/wire.h"
#include "resolverd/rserver_int.h"
#include "rt/log.h"

struct rtcp_conn {
	struct rtcp_conn *next, **pprev; /* r->conns while open */
	uv_tcp_t h;
	uv_timer_t idle;
	struct resolverd *r;
	unsigned refs;                   /* handles + pending queries */
	bool closed;
	size_t len, cap;
	uint8_t *buf;
};

struct rtcp_write {
	uv_write_t req;
	uint8_t data[];
};

void rtcp_unref(struct rtcp_conn *t)
{
	if (--t->refs == 0) {
		free(t->buf);
		free(t);
	}
}

static void closed_cb(uv_handle_t *h)
{
	rtcp_unref(h->data);
}

static void conn_close(struct rtcp_conn *t)
{
	if (t->closed)
		return;
	t->closed = true;
	*t->pprev = t->next;
	if (t->next)
		t->next->pprev = t->pprev;
	uv_close((uv_handle_t *)&t->h, closed_cb);
	uv_close((uv_handle_t *)&t->idle, closed_cb);
}

static void written(uv_write_t *req, int status)
{
	free(req);
}

void rtcp_send(struct rtcp_conn *t, const uint8_t *msg, size_t len)
{
	if (t->closed)
		return;
	struct rtcp_write *w = malloc(sizeof(*w) + len + 2);
	if (!w)
		return;
	wire_put_u16(w->data, (uint16_t)len);
	memcpy(w->data + 2, msg, len);
	uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)len + 2);
	if (uv_write(&w->req, (uv_stream_t *)&t->h, &b, 1, written) != 0) {
		free(w);
		conn_close(t);
	}
}

static void on_idle(uv_timer_t *tm)
{
	conn_close(tm->data);
}

static void alloc_cb(uv_handle_t *h, size_t sz, uv_buf_t *buf)
{
	struct rtcp_conn *t = h->data;
	if (t->cap - t->len < 4096) {
		size_t cap = t->cap ? t->cap * 2 : 8192;
		uint8_t *p = cap <= 4 * 65536 ? realloc(t->buf, cap) : NULL;
		if (!p) {
			*buf = uv_buf_init(NULL, 0);
			return;
		}
		t->buf = p;
		t->cap = cap;
	}
	*buf = uv_buf_init((char *)t->buf + t->len, (unsigned)(t->cap - t->len));
}

static void handle_msg(struct rtcp_conn *t, const uint8_t *msg, size_t len)
{
	static uint8_t out[DNS_MAXMSG];
	struct creq *c = calloc(1, sizeof(*c) + len);
	if (!c)
		return;
	c->r = t->r;
	c->tcp = t;
	t->refs++;
	c->len = len;
	memcpy(c->pkt, msg, len);
	int namelen = sizeof(c->ss);
	uv_tcp_getpeername(&t->h, (struct sockaddr *)&c->ss, &namelen);
	c->sslen = (socklen_t)namelen;
	int n = creq_fast(t->r, c, out, sizeof(out));
	if (n > 0) {
		rtcp_send(t, out, (size_t)n);
		if (c->prefetch)
			creq_resolve(t->r, c);
		else
			creq_free(c);
	} else if (n == 0) {
		creq_resolve(t->r, c);
	} else {
		creq_free(c);
	}
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct rtcp_conn *t = s->data;
	if (n < 0) {
		conn_close(t);
		return;
	}
	t->len += (size_t)n;
	uv_timer_again(&t->idle);
	t->refs++; /* handle_msg may close the connection */
	size_t off = 0;
	while (!t->closed && t->len - off >= 2) {
		size_t mlen = wire_get_u16(t->buf + off);
		if (t->len - off < mlen + 2)
			break;
		handle_msg(t, t->buf + off + 2, mlen);
		off += mlen + 2;
	}
	memmove(t->buf, t->buf + off, t->len - off);
	t->len -= off;
	rtcp_unref(t);
}

static void on_conn(uv_stream_t *srv, int status)
{
	struct resolverd *r = srv->data;
	if (status < 0)
		return;
	struct rtcp_conn *t = calloc(1, sizeof(*t));
	if (!t)
		return;
	t->r = r;
	t->refs = 2;
	t->next = r->conns;
	t->pprev = &r->conns;
	if (r->conns)
		r->conns->pprev = &t->next;
	r->conns = t;
	uv_tcp_init(&r->loop, &t->h);
	uv_timer_init(&r->loop, &t->idle);
	t->h.data = t;
	t->idle.data = t;
	if (uv_accept(srv, (uv_stream_t *)&t->h) != 0) {
		conn_close(t);
		return;
	}
	uv_timer_start(&t->idle, on_idle, r->conf->tcp_idle_timeout_ms,
		       r->conf->tcp_idle_timeout_ms);
	uv_read_start((uv_stream_t *)&t->h, alloc_cb, read_cb);
}

int rtcp_start(struct resolverd *r)
{
	r->ntcp = 0;
	r->tcp = calloc(r->conf->nlisten, sizeof(*r->tcp));
	if (!r->tcp)
		return VANE_ENOMEM;
	for (unsigned i = 0; i < r->conf->nlisten; i++) {
		const struct conf_listen *l = &r->conf->listen[i];
		uv_tcp_init(&r->loop, &r->tcp[i]);
		r->ntcp = i + 1;      /* initialised: rtcp_close closes it */
		r->tcp[i].data = r;
		int ret = uv_tcp_bind(&r->tcp[i], (const struct sockaddr *)&l->addr,
				      l->addr.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
		if (ret == 0)
			ret = uv_listen((uv_stream_t *)&r->tcp[i], 128, on_conn);
		if (ret != 0) {
			log_error("cannot listen on %s (TCP): %s", l->text, uv_strerror(ret));
			return VANE_EINVAL;
		}
	}
	return 0;
}

void rtcp_close(struct resolverd *r)
{
	for (unsigned i = 0; i < r->ntcp; i++)
		if (!uv_is_closing((uv_handle_t *)&r->tcp[i]))
			uv_close((uv_handle_t *)&r->tcp[i], NULL);
	while (r->conns)
		conn_close(r->conns);
}
