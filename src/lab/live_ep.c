/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Live mode's endpoints: one HTTP/1.0 server per endpoint on its loopback
 * address, in the lab's loop.  Every request (a client's or a health
 * probe's) gets "200 ok" and counts.  Down closes the listener, so
 * connections are refused as after the process was killed; up listens
 * again.
 */
#include <stdlib.h>
#include <string.h>

#include "lab/live_int.h"

struct http_conn {
	struct http_conn *next, **pprev;   /* lv->conns: closed at the end */
	uv_tcp_t tcp;
	uv_write_t wr;
	struct live_ep *ep;
	size_t got;
	char buf[1024];
	bool answered;
};

static const char reply[] = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";

static void conn_closed(uv_handle_t *h)
{
	struct http_conn *c = h->data;
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	free(c);
}

static void conn_close(struct http_conn *c)
{
	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void written(uv_write_t *w, int status)
{
	(void)status;
	conn_close(w->data);
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	(void)hint;
	struct http_conn *c = h->data;
	b->base = c->buf + c->got;
	b->len = sizeof(c->buf) - 1 - c->got;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	(void)b;
	struct http_conn *c = s->data;
	if (n < 0 || c->got + (size_t)n >= sizeof(c->buf) - 1) {
		conn_close(c);
		return;
	}
	c->got += (size_t)n;
	c->buf[c->got] = 0;
	/* The end of the request's head: one request per connection. */
	if (c->answered || !strstr(c->buf, "\r\n\r\n"))
		return;
	c->answered = true;
	c->ep->hits++;
	uv_read_stop(s);
	uv_buf_t out = uv_buf_init((char *)reply, sizeof(reply) - 1);
	c->wr.data = c;
	if (uv_write(&c->wr, s, &out, 1, written) != 0)
		conn_close(c);
}

static void on_conn(uv_stream_t *srv, int status)
{
	struct live_ep *ep = srv->data;
	if (status < 0)
		return;
	struct http_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->ep = ep;
	c->next = ep->lv->conns;
	c->pprev = (struct http_conn **)&ep->lv->conns;
	if (c->next)
		c->next->pprev = &c->next;
	ep->lv->conns = c;
	uv_tcp_init(&ep->lv->loop, &c->tcp);
	c->tcp.data = c;
	if (uv_accept(srv, (uv_stream_t *)&c->tcp) != 0 ||
	    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) != 0)
		conn_close(c);
}

int live_ep_start(struct live *lv, unsigned e)
{
	struct live_ep *ep = &lv->ep[e];
	if (ep->up)
		return 0;
	char a[32];
	snprintf(a, sizeof(a), "%s.%u", lv->pfx, 10 + e);
	struct sockaddr_in sa;
	uv_ip4_addr(a, lv->ep_port, &sa);
	ep->lv = lv;
	ep->idx = e;
	uv_tcp_init(&lv->loop, &ep->listener);
	ep->listener.data = ep;
	int ret = uv_tcp_bind(&ep->listener, (struct sockaddr *)&sa, 0);
	if (ret == 0)
		ret = uv_listen((uv_stream_t *)&ep->listener, 1024, on_conn);
	if (ret != 0) {
		snprintf(lv->err, lv->errlen, "endpoint %s at %s:%u: %s", lv->sc->ep[e].id, a,
			 lv->ep_port, uv_strerror(ret));
		uv_close((uv_handle_t *)&ep->listener, NULL);
		return VANE_EBUSY;
	}
	ep->up = true;
	return 0;
}

void live_ep_stop(struct live *lv, unsigned e)
{
	struct live_ep *ep = &lv->ep[e];
	if (!ep->up)
		return;
	ep->up = false;
	uv_close((uv_handle_t *)&ep->listener, NULL);
}

void live_ep_close_all(struct live *lv)
{
	for (struct http_conn *c = lv->conns; c; c = c->next)
		conn_close(c);
}
