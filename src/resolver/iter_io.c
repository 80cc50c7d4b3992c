/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Upstream queries on the loop thread: one connected UDP socket per query
 * from a random port (RFC 5452 9.2), a random ID and 0x20 case in the name;
 * answers whose ID, question or case differ are dropped (a connected socket
 * already drops other sources).  TC=1 retries over TCP (RFC 7766 5).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "resolver/iter_int.h"
#include "rt/log.h"

struct upq {
	struct itq *q;                   /* NULL once cancelled */
	uv_udp_t udp;
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t conn;
	uv_write_t wreq;
	int open;                        /* handles still to close */
	bool use_tcp;
	struct sockaddr_storage ss;
	uint8_t family, addr[16];
	unsigned ns_i, addr_i;
	uint64_t sent_ms;
	uint8_t sname[DNAME_MAXLEN];     /* sent, with its case */
	uint16_t stype;
	uint16_t id;
	uint8_t qbuf[600];
	int qlen;
	uint8_t lenbuf[2];
	uint8_t *tbuf;                   /* TCP: length + message */
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

static void upq_close(struct upq *u)
{
	if (u->q)
		u->q->up = NULL;
	u->q = NULL;
	uv_close((uv_handle_t *)&u->timer, handle_closed);
	if (u->use_tcp)
		uv_close((uv_handle_t *)&u->tcp, handle_closed);
	else
		uv_close((uv_handle_t *)&u->udp, handle_closed);
}

void iter_io_cancel(struct itq *q)
{
	if (q->up)
		upq_close(q->up);
}

static void finish_timeout(struct upq *u)
{
	struct itq *q = u->q;
	atomic_fetch_add(&q->r->st.upstream_timeouts, 1);
	infra_update(q->r, u->family, u->addr, 0, true);
	unsigned ns_i = u->ns_i, addr_i = u->addr_i;
	upq_close(u);
	iter_on_timeout(q, ns_i, addr_i);
}

static void on_timer(uv_timer_t *t)
{
	struct upq *u = t->data;
	if (u->q)
		finish_timeout(u);
}

static void tcp_start(struct upq *u);

/* Checks of RFC 5452 9.1: ID, question name (with its 0x20 case) and type. */
static void got_packet(struct upq *u, const uint8_t *pkt, size_t len)
{
	static __thread struct rmsg *m;
	struct itq *q = u->q;

	if (!q || len < DNS_HDRLEN || wire_get_u16(pkt) != u->id)
		return;
	if (!m && !(m = malloc(sizeof(*m))))
		return;
	if (rmsg_parse(pkt, len, m) != 0 || !m->has_question || m->qtype != u->stype ||
	    dname_len(m->qname) != dname_len(u->sname) ||
	    memcmp(m->qname, u->sname, dname_len(u->sname)) != 0) {
		log_debug("dropped a mismatched upstream answer");
		return;
	}
	uint64_t rtt = uv_now(&q->r->loop) - u->sent_ms;
	infra_update(q->r, u->family, u->addr, (uint32_t)rtt + 1, false);
	if ((m->flags & DNS_TC) && !u->use_tcp) {
		uv_close((uv_handle_t *)&u->udp, handle_closed);
		tcp_start(u);
		return;
	}
	unsigned ns_i = u->ns_i, addr_i = u->addr_i;
	uint8_t sname[DNAME_MAXLEN];
	memcpy(sname, u->sname, dname_len(u->sname));
	dname_lower(sname);
	upq_close(u);
	iter_on_response(q, m, sname, ns_i, addr_i);
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
	got_packet(u, (const uint8_t *)buf->base, (size_t)n);
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
	if (u->tlen >= 2) {
		size_t need = wire_get_u16(u->tbuf);
		if (u->tlen >= need + 2)
			got_packet(u, u->tbuf + 2, need);
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

static void tcp_start(struct upq *u)
{
	struct itq *q = u->q;
	atomic_fetch_add(&q->r->st.upstream_tcp, 1);
	u->use_tcp = true;
	uv_tcp_init(&q->r->loop, &u->tcp);
	u->tcp.data = u;
	u->open++;
	u->conn.data = u;
	uv_timer_start(&u->timer, on_timer, q->r->conf->upstream_timeout_ms * 2u, 0);
	if (uv_tcp_connect(&u->conn, &u->tcp, (struct sockaddr *)&u->ss, tcp_connected) != 0)
		uv_timer_start(&u->timer, on_timer, 0, 0);
}

/* ---- sending ---- */

static void randomise_case(uint8_t *name)
{
	uint8_t bits[32];
	unsigned k = 0;
	resolver_random(bits, sizeof(bits));
	for (uint8_t *p = name; *p; p += *p + 1)
		for (unsigned i = 1; i <= *p; i++, k++)
			if ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z' &&
			    bits[(k / 8) % 32] >> (k % 8) & 1)
				p[i] ^= 0x20;
}

static int bind_random_port(uv_udp_t *h, int family)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	for (int i = 0; i < 8; i++) {
		uint16_t port;
		resolver_random(&port, sizeof(port));
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

static void build_ecs(struct itq *q, struct dns_ecs *ecs)
{
	memset(ecs, 0, sizeof(*ecs));
	if (!q->client.bits)
		return;
	ecs->present = true;
	ecs->family = q->client.family;
	ecs->source = q->client.bits;
	memcpy(ecs->addr, q->client.addr, ecs_addr_bytes(ecs->source));
	if (ecs->source % 8)
		ecs->addr[ecs->source / 8] &= (uint8_t)(0xFF00 >> (ecs->source % 8));
}

void iter_io_send(struct itq *q, const uint8_t *sname, uint16_t stype,
		  const void *addrp, unsigned ns_i, unsigned addr_i)
{
	const struct cache_deleg_ns *ns = &q->cut.ns[ns_i];
	struct upq *u = calloc(1, sizeof(*u));
	struct dns_ecs ecs;

	(void)addrp;
	if (!u) {
		q->tries[ns_i][addr_i] = 255;
		return;
	}
	u->q = q;
	u->ns_i = ns_i;
	u->addr_i = addr_i;
	u->family = ns->addr[addr_i].family;
	memcpy(u->addr, ns->addr[addr_i].addr, 16);
	memcpy(u->sname, sname, dname_len(sname));
	randomise_case(u->sname);
	u->stype = stype;
	resolver_random(&u->id, sizeof(u->id));
	build_ecs(q, &ecs);
	u->qlen = rquery_build(u->qbuf, sizeof(u->qbuf), u->id, u->sname, stype, true, &ecs);
	if (u->family == 1) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&u->ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(53);
		memcpy(&s4->sin_addr, u->addr, 4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&u->ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(53);
		memcpy(&s6->sin6_addr, u->addr, 16);
	}
	uv_timer_init(&q->r->loop, &u->timer);
	u->timer.data = u;
	uv_udp_init(&q->r->loop, &u->udp);
	u->udp.data = u;
	u->open = 2;
	q->up = u;
	u->sent_ms = uv_now(&q->r->loop);
	atomic_fetch_add(&q->r->st.upstream_queries, 1);
	uv_timer_start(&u->timer, on_timer, q->r->conf->upstream_timeout_ms, 0);
	if (u->qlen < 0 ||
	    bind_random_port(&u->udp, u->family == 1 ? AF_INET : AF_INET6) != 0 ||
	    uv_udp_connect(&u->udp, (struct sockaddr *)&u->ss) != 0 ||
	    uv_udp_recv_start(&u->udp, udp_alloc, udp_recv) != 0) {
		uv_timer_start(&u->timer, on_timer, 0, 0);
		return;
	}
	uv_buf_t b = uv_buf_init((char *)u->qbuf, (unsigned)u->qlen);
	if (uv_udp_try_send(&u->udp, &b, 1, NULL) < 0)
		uv_timer_start(&u->timer, on_timer, 0, 0);
}
