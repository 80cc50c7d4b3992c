/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>

#include "lib/dname.h"
#include "serve/explain.h"

static size_t build_query(const uint8_t *qname, uint16_t qtype, const struct dns_ecs *ecs,
			  uint8_t *q)
{
	size_t nl = dname_len(qname), o = DNS_HDRLEN;
	memset(q, 0, DNS_HDRLEN);
	q[0] = 0x4a;
	q[1] = 0x11;
	q[5] = 1;            /* QDCOUNT */
	q[11] = 1;           /* ARCOUNT: OPT */
	memcpy(q + o, qname, nl);
	o += nl;
	q[o++] = (uint8_t)(qtype >> 8);
	q[o++] = (uint8_t)qtype;
	q[o++] = 0;
	q[o++] = DNS_IN;
	/* OPT (RFC 6891 6.1.2): root owner, payload 1232, no flags. */
	q[o++] = 0;
	q[o++] = 0;
	q[o++] = DNS_OPT;
	q[o++] = DNS_EDNS_DEFAULT >> 8;
	q[o++] = DNS_EDNS_DEFAULT & 0xFF;
	q[o++] = 0; q[o++] = 0; q[o++] = 0; q[o++] = 0;
	unsigned ab = ecs->present ? ecs_addr_bytes(ecs->source) : 0;
	unsigned rdlen = ecs->present ? 4 + 4 + ab : 0;
	q[o++] = (uint8_t)(rdlen >> 8);
	q[o++] = (uint8_t)rdlen;
	if (ecs->present) {
		q[o++] = 0;
		q[o++] = EDNS_ECS;
		q[o++] = 0;
		q[o++] = (uint8_t)(4 + ab);
		q[o++] = 0;
		q[o++] = (uint8_t)ecs->family;
		q[o++] = ecs->source;
		q[o++] = 0;  /* SCOPE must be 0 in queries */
		memcpy(q + o, ecs->addr, ab);
		o += ab;
	}
	return o;
}

int serve_explain(const struct serve_view *view, const uint8_t *qname, uint16_t qtype,
		  const struct sockaddr *src, const struct dns_ecs *ecs, uint64_t now_ms,
		  uint64_t rnd, struct serve_explain *out)
{
	memset(&out->res, 0, sizeof(out->res));
	memset(&out->trace, 0, sizeof(out->trace));
	out->svc = NULL;
	struct auth_client client = {
		.src = src, .now_ms = now_ms, .rand = rnd, .geo_cache = NULL, .trace = &out->trace,
	};
	uint8_t q[DNS_HDRLEN + DNAME_MAXLEN + 64];
	size_t qlen = build_query(qname, qtype, ecs, q);
	out->len = auth_answer(view->db, view->auth, view->steer, &client, q, qlen, true, out->pkt,
			       sizeof(out->pkt), &out->res);
	if (out->len == 0)
		return VANE_EINVAL;
	const struct steer_set *set = view->steer ? view->steer->set : NULL;
	if (set && out->res.service >= 0 && (uint32_t)out->res.service < set->n)
		out->svc = &set->svc[out->res.service];
	return 0;
}
