/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `explain NAME TYPE --client IP [--ecs PREFIX]`: build the query a resolver
 * at IP would send (with an ECS option when asked, RFC 7871 6), answer it
 * through the real query path (auth_answer) with a decision trace, and
 * return the trace (text and JSON) plus the answer records.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "lib/mnemonic.h"
#include "lib/dname.h"
#include "lib/pkt.h"
#include "server/admin.h"
#include "server/ctl.h"
#include "server/live.h"
#include "server/server.h"
#include "server/stats.h"

#define TRACE_BUF 16384

/* "192.0.2.0/24", "2001:db8::/56" or a bare address (full prefix). */
static bool ecs_parse(const char *s, struct dns_ecs *ecs)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (n >= sizeof(addr))
		return false;
	memcpy(addr, s, n);
	addr[n] = '\0';
	memset(ecs, 0, sizeof(*ecs));
	unsigned max;
	if (inet_pton(AF_INET, addr, ecs->addr) == 1) {
		ecs->family = 1;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, ecs->addr) == 1) {
		ecs->family = 2;
		max = 128;
	} else {
		return false;
	}
	unsigned prefix = max;
	if (slash) {
		char *end;
		prefix = (unsigned)strtoul(slash + 1, &end, 10);
		if (*end || slash[1] == '\0' || prefix > max)
			return false;
	}
	/* RFC 7871 6: bits past the source prefix must be zero. */
	for (unsigned b = prefix; b < max; b++)
		ecs->addr[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
	ecs->source = (uint8_t)prefix;
	ecs->present = true;
	return true;
}

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

/* One resource record of the answer, in presentation-like form. */
static json_t *rr_json(const uint8_t *pkt, size_t len, size_t *off)
{
	uint8_t name[DNAME_MAXLEN];
	char nbuf[DNAME_MAXSTR], tbuf[16], data[DNAME_MAXSTR + 64];
	if (dname_unpack(pkt, len, off, name, false) < 0 || *off + 10 > len)
		return NULL;
	const uint8_t *p = pkt + *off;
	uint16_t type = (uint16_t)(p[0] << 8 | p[1]);
	uint32_t ttl = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	uint16_t rdlen = (uint16_t)(p[8] << 8 | p[9]);
	size_t rd = *off + 10;
	if (rd + rdlen > len)
		return NULL;
	*off = rd + rdlen;
	if (type == DNS_A && rdlen == 4) {
		inet_ntop(AF_INET, pkt + rd, data, sizeof(data));
	} else if (type == DNS_AAAA && rdlen == 16) {
		inet_ntop(AF_INET6, pkt + rd, data, sizeof(data));
	} else if (type == DNS_CNAME || type == DNS_NS || type == DNS_PTR) {
		uint8_t target[DNAME_MAXLEN];
		size_t t = rd;
		if (dname_unpack(pkt, len, &t, target, false) < 0)
			return NULL;
		dname_to_str(target, data, sizeof(data));
	} else {
		snprintf(data, sizeof(data), "\\# %u", rdlen);
	}
	return json_pack("{s:s,s:I,s:s,s:s}", "name", dname_to_str(name, nbuf, sizeof(nbuf)),
			 "ttl", (json_int_t)ttl, "type", dns_type_name(type, tbuf, sizeof(tbuf)),
			 "data", data);
}

/* The answer section of `pkt` (a response auth_answer built). */
static json_t *answer_json(const uint8_t *pkt, size_t len)
{
	json_t *arr = json_array();
	if (len < DNS_HDRLEN)
		return arr;
	unsigned qd = (unsigned)(pkt[4] << 8 | pkt[5]), an = (unsigned)(pkt[6] << 8 | pkt[7]);
	size_t off = DNS_HDRLEN;
	uint8_t name[DNAME_MAXLEN];
	for (unsigned i = 0; i < qd; i++) {
		if (dname_unpack(pkt, len, &off, name, false) < 0)
			return arr;
		off += 4;
	}
	for (unsigned i = 0; i < an; i++) {
		json_t *rr = rr_json(pkt, len, &off);
		if (rr == NULL)
			break;
		json_array_append_new(arr, rr);
	}
	return arr;
}

static json_t *explain_run(struct server *srv, const uint8_t *qname, uint16_t qtype,
			   const struct sockaddr_storage *src, const struct dns_ecs *ecs)
{
	const struct vane_snapshot *snap = srv->snap;
	const struct live_state *live = server_live_for(srv, snap);
	struct auth_steer steer = {
		.set = snap->steer,
		.health = live ? &live->health : NULL,
		.admin = live ? live->admin : NULL,
		.geo = snap->geo,
		.latency = live ? live->latency : snap->latency0,
	};
	static struct steer_trace tr;
	memset(&tr, 0, sizeof(tr));
	uint64_t rnd;
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = live_now_ms();
	struct auth_client client = {
		.src = (const struct sockaddr *)src, .now_ms = live_now_ms(), .rand = rnd,
		.geo_cache = NULL, .trace = &tr,
	};
	uint8_t q[DNS_HDRLEN + DNAME_MAXLEN + 64];
	static uint8_t out[DNS_MAXMSG];
	size_t qlen = build_query(qname, qtype, ecs, q);
	struct auth_result res;
	memset(&res, 0, sizeof(res));
	size_t alen = auth_answer(snap->db, &snap->auth, &steer, &client, q, qlen, true, out,
				  sizeof(out), &res);
	if (alen == 0)
		return ctl_error("the query was dropped");

	char rc[16];
	json_t *reply = json_pack("{s:b,s:s,s:i,s:b}", "ok", 1, "rcode",
				  dns_rcode_name(res.rcode, rc, sizeof(rc)), "scope", res.scope,
				  "fallback", res.fallback);
	json_object_set_new(reply, "answer", answer_json(out, alen));
	if (res.service < 0 || snap->steer == NULL || (uint32_t)res.service >= snap->steer->n) {
		json_object_set_new(reply, "service", json_null());
		json_object_set_new(reply, "trace", json_null());
		json_object_set_new(reply, "trace_text",
				    json_string("not a steered name: answered from the zone\n"));
		return reply;
	}
	const struct steer_service *svc = &snap->steer->svc[res.service];
	char name[DNAME_MAXSTR];
	json_object_set_new(reply, "service", json_string(live_service_name(svc, name, sizeof(name))));
	char *buf = malloc(TRACE_BUF);
	if (buf == NULL)
		return reply;
	if (steer_trace_format(&tr, svc, buf, TRACE_BUF) >= 0)
		json_object_set_new(reply, "trace_text", json_string(buf));
	if (steer_trace_json(&tr, svc, buf, TRACE_BUF) >= 0) {
		json_error_t jerr;
		json_t *tj = json_loads(buf, 0, &jerr);
		json_object_set_new(reply, "trace", tj ? tj : json_string(buf));
	}
	free(buf);
	return reply;
}

json_t *admin_explain(struct server *srv, int argc, char **argv)
{
	static const char usage[] = "usage: explain NAME TYPE --client IP [--ecs PREFIX]";
	if (argc < 3)
		return ctl_error("%s", usage);
	const char *client = NULL, *ecs_text = NULL;
	for (int i = 3; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--client") == 0)
			client = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--ecs") == 0)
			ecs_text = argv[++i];
		else
			return ctl_error("%s", usage);
	}
	if (client == NULL)
		return ctl_error("%s", usage);
	uint8_t qname[DNAME_MAXLEN];
	if (dname_from_str(argv[1], NULL, qname) <= 0)
		return ctl_error("bad name: %s", argv[1]);
	int qtype = dns_type_from_name(argv[2]);
	if (qtype <= 0 || qtype > 65535)
		return ctl_error("bad type: %s", argv[2]);
	struct sockaddr_storage src;
	memset(&src, 0, sizeof(src));
	struct sockaddr_in *s4 = (struct sockaddr_in *)&src;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&src;
	if (inet_pton(AF_INET, client, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(53);
	} else if (inet_pton(AF_INET6, client, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(53);
	} else {
		return ctl_error("bad client address: %s", client);
	}
	struct dns_ecs ecs = { 0 };
	if (ecs_text && !ecs_parse(ecs_text, &ecs))
		return ctl_error("bad --ecs %s: want ADDRESS/PREFIX", ecs_text);
	return explain_run(srv, qname, (uint16_t)qtype, &src, &ecs);
}
