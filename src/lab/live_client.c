/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Live mode's clients (libuv): each asks its resolver for www.lab.example,
 * then connects to the first address over HTTP.  They count exactly as the
 * model's clients do (model.c, client_step): an attempt is traffic of the
 * second it starts, a retry of a failed connection counts as a failure but
 * as traffic only once per conn-interval, and a negative answer (or none)
 * is a failure with no connection.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "lab/live_int.h"

#define QUERY_TIMEOUT_MS 3000    /* a miss walks root, TLD and operator */
#define CONNECT_TIMEOUT_MS 2000

static const char request[] = "GET / HTTP/1.0\r\nHost: www.lab.example\r\n\r\n";

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return n ? (uint32_t)(rng_state % n) : 0;
}

static uint32_t second(const struct live *lv)
{
	uint64_t now = uv_now((uv_loop_t *)&lv->loop);
	return now > lv->t0_ms ? (uint32_t)((now - lv->t0_ms) / 1000) : 0;
}

static void start_attempt(uv_timer_t *t);

static void schedule(struct live_client *c, uint64_t ms)
{
	if (c->lv->stopping)
		return;
	uv_timer_start(&c->timer, start_attempt, ms ? ms : 1, 0);
}

/* The attempt's end: count it and plan the next one. */
static void finish(struct live_client *c, bool ok)
{
	struct live *lv = c->lv;
	const struct lab_scenario *sc = lv->sc;
	struct lab_series *s = lv->s;
	c->busy = false;
	uint64_t delay;
	if (ok) {
		delay = (uint64_t)sc->conn_interval * 500 + rnd(sc->conn_interval * 1000);
		c->retry = false;
	} else {
		if (c->tick < s->n_sec)
			s->fail[c->tick]++;
		delay = (uint64_t)sc->retry * 1000 + rnd(2000);
		if (c->counted)
			c->due = c->tick + sc->conn_interval;
		c->retry = true;
	}
	schedule(c, delay);
}

static void tcp_closed(uv_handle_t *h)
{
	struct live_client *c = h->data;
	finish(c, c->buf[0] == 'Y');
}

static void tcp_end(struct live_client *c, bool ok)
{
	uv_timer_stop(&c->timer);
	c->buf[0] = ok ? 'Y' : 'N';
	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, tcp_closed);
}

static void tcp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	(void)hint;
	struct live_client *c = h->data;
	b->base = c->buf + 1;
	b->len = sizeof(c->buf) - 1;
}

static void tcp_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	struct live_client *c = st->data;
	/* The status line is enough: the endpoint served the request. */
	if (n > 12 && !memcmp(b->base, "HTTP/1.0 200", 12))
		tcp_end(c, true);
	else if (n != 0)
		tcp_end(c, false);
}

static void tcp_written(uv_write_t *w, int status)
{
	struct live_client *c = w->data;
	if (status < 0)
		tcp_end(c, false);
}

static void tcp_connected(uv_connect_t *req, int status)
{
	struct live_client *c = req->data;
	if (status < 0 || uv_read_start((uv_stream_t *)&c->tcp, tcp_alloc, tcp_read) != 0) {
		tcp_end(c, false);
		return;
	}
	uv_buf_t b = uv_buf_init((char *)request, sizeof(request) - 1);
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, tcp_written) != 0)
		tcp_end(c, false);
}

static void tcp_timeout(uv_timer_t *t)
{
	tcp_end(t->data, false);
}

static void connect_to(struct live_client *c, unsigned e)
{
	struct live *lv = c->lv;
	char a[32];
	snprintf(a, sizeof(a), "%s.%u", lv->pfx, 10 + e);
	struct sockaddr_in sa;
	uv_ip4_addr(a, lv->ep_port, &sa);
	uv_tcp_init(&lv->loop, &c->tcp);
	c->tcp.data = c;
	c->conn.data = c;
	uv_timer_start(&c->timer, tcp_timeout, CONNECT_TIMEOUT_MS, 0);
	if (uv_tcp_connect(&c->conn, &c->tcp, (struct sockaddr *)&sa, tcp_connected) != 0)
		tcp_end(c, false);
}

/* The first A record of a response: the endpoint it names, -1 for a
 * negative or unusable answer. */
static int answer_ep(const struct live *lv, const uint8_t *p, size_t n, uint16_t id)
{
	if (n < 12 || p[0] != (id >> 8) || p[1] != (uint8_t)id || (p[3] & 15) != 0)
		return -1;
	unsigned an = (unsigned)p[6] << 8 | p[7];
	size_t off = 12;
	/* One question: its name, type and class. */
	while (off < n && p[off] && (p[off] & 0xc0) != 0xc0)
		off += 1u + p[off];
	off += off < n && (p[off] & 0xc0) == 0xc0 ? 2 : 1;
	off += 4;
	for (unsigned i = 0; i < an && off < n; i++) {
		while (off < n && p[off] && (p[off] & 0xc0) != 0xc0)
			off += 1u + p[off];
		off += off < n && (p[off] & 0xc0) == 0xc0 ? 2 : 1;
		if (off + 10 > n)
			return -1;
		unsigned type = (unsigned)p[off] << 8 | p[off + 1];
		unsigned len = (unsigned)p[off + 8] << 8 | p[off + 9];
		off += 10;
		if (off + len > n)
			return -1;
		if (type == 1 && len == 4) {
			if (p[off] != 127 || p[off + 1] != lv->x || p[off + 2] != lv->y ||
			    p[off + 3] < 10 || p[off + 3] >= 10 + lv->sc->svc.n_ep)
				return -1;
			return p[off + 3] - 10;
		}
		off += len;
	}
	return -1;
}

static void answered(struct live_client *c, int e)
{
	struct live *lv = c->lv;
	struct lab_series *s = lv->s;
	uv_timer_stop(&c->timer);
	uv_udp_recv_stop(&c->udp);
	unsigned prof = lv->res[c->res].prof;
	bool in_run = c->tick < s->n_sec;
	if (e >= 0) {
		if (c->counted && in_run) {
			s->total[c->tick]++;
			s->conn[(size_t)c->tick * s->n_ep + (unsigned)e]++;
			s->conn_prof[((size_t)c->tick * s->n_prof + prof) * s->n_ep + (unsigned)e]++;
		}
		connect_to(c, (unsigned)e);
		return;
	}
	if (c->counted && in_run) {
		s->total[c->tick]++;
		s->nx[(size_t)c->tick * s->n_prof + prof]++;
	}
	finish(c, false);
}

static void udp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	(void)hint;
	struct live_client *c = h->data;
	b->base = c->buf;
	b->len = sizeof(c->buf);
}

static void udp_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *b, const struct sockaddr *from,
		     unsigned flags)
{
	(void)flags;
	struct live_client *c = u->data;
	if (n <= 0 || !from || !c->busy)
		return;
	/* Only the reply to the query in flight (same id) ends it; a late
	 * reply to a timed-out query is dropped. */
	if (n < 12 || (uint8_t)b->base[0] != (c->qid >> 8) || (uint8_t)b->base[1] != (uint8_t)c->qid)
		return;
	answered(c, answer_ep(c->lv, (const uint8_t *)b->base, (size_t)n, c->qid));
}

static void query_timeout(uv_timer_t *t)
{
	answered(t->data, -1);
}

static void start_attempt(uv_timer_t *t)
{
	struct live_client *c = t->data;
	struct live *lv = c->lv;
	if (lv->stopping)
		return;
	c->tick = second(lv);
	c->counted = !(c->retry && c->tick < c->due);
	c->busy = true;
	c->qid = (uint16_t)rnd(65536);
	static const uint8_t qname[] = "\3www\3lab\7example";
	uint8_t *q = (uint8_t *)c->buf;
	size_t n = 0;
	q[n++] = (uint8_t)(c->qid >> 8);
	q[n++] = (uint8_t)c->qid;
	q[n++] = 1; /* RD */
	q[n++] = 0;
	memcpy(q + n, "\0\1\0\0\0\0\0\0", 8);
	n += 8;
	memcpy(q + n, qname, sizeof(qname));
	n += sizeof(qname);
	memcpy(q + n, "\0\1\0\1", 4);
	n += 4;
	uv_buf_t b = uv_buf_init(c->buf, (unsigned)n);
	uv_timer_start(&c->timer, query_timeout, QUERY_TIMEOUT_MS, 0);
	uv_udp_recv_start(&c->udp, udp_alloc, udp_recv);
	if (uv_udp_try_send(&c->udp, &b, 1, (struct sockaddr *)&lv->res[c->res].sa) < 0)
		answered(c, -1);
}

/* Client i's resolver: kinds and countries by their shares, the clients
 * shuffled so that neither follows the index. */
static unsigned pick(uint64_t *x, const double *share, unsigned n, size_t stride)
{
	double sum = 0;
	for (unsigned i = 0; i < n; i++)
		sum += *(const double *)((const char *)share + i * stride);
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	double u = (double)(*x >> 11) / 9007199254740992.0 * sum;
	for (unsigned i = 0; i < n; i++) {
		u -= *(const double *)((const char *)share + i * stride);
		if (u < 0)
			return i;
	}
	return n - 1;
}

int live_clients_start(struct live *lv)
{
	const struct lab_scenario *sc = lv->sc;
	rng_state = sc->seed ? sc->seed * 0x9e3779b97f4a7c15ull : 1;
	lv->cli = calloc(lv->n_cli, sizeof(*lv->cli));
	if (!lv->cli)
		return VANE_ENOMEM;
	uint64_t x = rng_state | 1;
	for (unsigned i = 0; i < lv->n_cli; i++) {
		struct live_client *c = &lv->cli[i];
		unsigned prof = pick(&x, &sc->profile[0].share, sc->n_profile, sizeof(sc->profile[0]));
		unsigned ctry = pick(&x, &sc->country[0].share, sc->n_country, sizeof(sc->country[0]));
		c->lv = lv;
		c->idx = i;
		c->res = prof * sc->n_country + ctry;
		uv_timer_init(&lv->loop, &c->timer);
		c->timer.data = c;
		uv_udp_init(&lv->loop, &c->udp);
		c->udp.data = c;
		/* The client's address in its country's /24: the country the
		 * operator's geo nets (and ECS) see. */
		char a[32];
		snprintf(a, sizeof(a), "127.%u.%u.%u", lv->x,
			 live_subnet(lv, ctry, i / lv->sc->n_country % lv->spread), 1 + i % 250);
		struct sockaddr_in sa;
		uv_ip4_addr(a, 0, &sa);
		int ret = uv_udp_bind(&c->udp, (struct sockaddr *)&sa, 0);
		if (ret != 0) {
			snprintf(lv->err, lv->errlen, "client %s: %s", a, uv_strerror(ret));
			return VANE_EBUSY;
		}
	}
	for (unsigned i = 0; i < lv->n_cli; i++)
		schedule(&lv->cli[i], 1 + rnd(sc->conn_interval * 1000));
	return 0;
}
