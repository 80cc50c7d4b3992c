/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Upstream queries out and responses in, without I/O: a random ID and 0x20
 * case in the name (RFC 5452 9), EDNS with the client's ECS option; a
 * response whose ID, question or case differ is dropped (RFC 5452 9.1),
 * so the transport only moves bytes.  TC=1 over UDP retries over TCP
 * (RFC 7766 5).  Round-trip times go into the RTT table.
 */
#include <stdlib.h>
#include <string.h>

#include "resolver/iter_int.h"

static void randomise_case(const struct resolver *r, uint8_t *name)
{
	uint8_t bits[32];
	unsigned k = 0;
	r->env->random(r->env->ctx, bits, sizeof(bits));
	for (uint8_t *p = name; *p; p += *p + 1)
		for (unsigned i = 1; i <= *p; i++, k++)
			if ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z' &&
			    bits[(k / 8) % 32] >> (k % 8) & 1)
				p[i] ^= 0x20;
}

static void build_ecs(const struct itq *q, struct dns_ecs *ecs)
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

/* Hand the built query to the transport.  Returns 0 or < 0. */
static int transmit(struct itq *q, bool tcp)
{
	struct resolver *r = q->r;
	const struct iter_env *env = r->env;
	struct itq_send *s = &q->out;
	uint32_t timeout = r->conf->upstream_timeout_ms;

	if (tcp) {
		atomic_fetch_add(&r->st.upstream_tcp, 1);
		timeout *= 2;   /* connect + write + read */
	}
	s->tcp = tcp;
	s->sent_ms = env->now_ms(env->ctx);
	s->busy = true;
	s->tx = NULL;
	int ret = env->send(env->ctx, q, s->wire, s->len, &s->to, tcp, timeout, &s->tx);
	if (ret != 0)
		s->busy = false;
	return ret;
}

int iter_send(struct itq *q, const uint8_t *sname, uint16_t stype,
	      unsigned ns_i, unsigned addr_i)
{
	struct resolver *r = q->r;
	struct itq_send *s = &q->out;
	struct dns_ecs ecs;

	s->ns_i = ns_i;
	s->addr_i = addr_i;
	s->to.family = q->cut.ns[ns_i].addr[addr_i].family;
	memcpy(s->to.addr, q->cut.ns[ns_i].addr[addr_i].addr, 16);
	/* Configured servers carry their port; authorities found by
	 * iteration share upstream-port. */
	s->to.port = q->pin ? q->pin->port[ns_i] : (uint16_t)r->conf->upstream_port;
	memcpy(s->sname, sname, dname_len(sname));
	randomise_case(r, s->sname);
	s->stype = stype;
	r->env->random(r->env->ctx, &s->id, sizeof(s->id));
	build_ecs(q, &ecs);
	int len = rquery_build(s->wire, sizeof(s->wire), s->id, s->sname, stype, true, &ecs);
	s->len = len > 0 ? (size_t)len : 0;
	/* A forwarder recurses for us (RFC 1034 4.3.1: RD asks for it). */
	if (len > 0 && q->pin && q->pin->kind == RZONE_FORWARD)
		s->wire[2] |= DNS_RD >> 8;
	atomic_fetch_add(&r->st.upstream_queries, 1);
	if (len < 0 || transmit(q, false) != 0) {
		/* Counted as a timeout of the address, as a send that never
		 * left would end. */
		atomic_fetch_add(&r->st.upstream_timeouts, 1);
		infra_update(r, s->to.family, s->to.addr, 0, true);
		return len < 0 ? len : VANE_EAGAIN;
	}
	return 0;
}

void iter_send_cancel(struct itq *q)
{
	if (!q->out.busy)
		return;
	q->out.busy = false;
	q->r->env->cancel(q->r->env->ctx, q, q->out.tx);
}

int iter_on_packet(struct itq *q, const uint8_t *pkt, size_t len)
{
	/* One parsed message per thread: responses are handled one at a time
	 * and the iterator copies what it keeps. */
	static __thread struct rmsg *m;
	struct itq_send *s = &q->out;
	struct resolver *r = q->r;

	if (!s->busy || len < DNS_HDRLEN || wire_get_u16(pkt) != s->id)
		return VANE_EAGAIN;
	if (!m && !(m = malloc(sizeof(*m))))
		return VANE_EAGAIN;
	if (rmsg_parse(pkt, len, m) != 0 || !m->has_question || m->qtype != s->stype ||
	    dname_len(m->qname) != dname_len(s->sname) ||
	    memcmp(m->qname, s->sname, dname_len(s->sname)) != 0)
		return VANE_EAGAIN;
	uint64_t rtt = r->env->now_ms(r->env->ctx) - s->sent_ms;
	infra_update(r, s->to.family, s->to.addr, (uint32_t)rtt + 1, false);
	iter_send_cancel(q);
	if ((m->flags & DNS_TC) && s->tcp) {
		/* Truncated over TCP is broken: there is nothing more to get. */
		iter_lame(q, s->ns_i, s->addr_i);
		return 0;
	}
	if (m->flags & DNS_TC) {
		if (transmit(q, true) != 0) {
			atomic_fetch_add(&r->st.upstream_timeouts, 1);
			infra_update(r, s->to.family, s->to.addr, 0, true);
			iter_no_answer(q, s->ns_i, s->addr_i);
		}
		return 0;
	}
	uint8_t sname[DNAME_MAXLEN];
	memcpy(sname, s->sname, dname_len(s->sname));
	dname_lower(sname);
	iter_answer(q, m, sname, s->ns_i, s->addr_i);
	return 0;
}

void iter_on_timeout(struct itq *q)
{
	struct itq_send *s = &q->out;
	if (!s->busy)
		return;
	s->busy = false;
	atomic_fetch_add(&q->r->st.upstream_timeouts, 1);
	infra_update(q->r, s->to.family, s->to.addr, 0, true);
	iter_no_answer(q, s->ns_i, s->addr_i);
}
