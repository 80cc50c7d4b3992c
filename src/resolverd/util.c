/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ACL, client networks and root hints. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "resolverd/resolverd.h"
#include "rt/log.h"

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rem = bits % 8;
	if (memcmp(a, b, bytes) != 0)
		return false;
	if (!rem)
		return true;
	uint8_t mask = (uint8_t)(0xFF00 >> rem);
	return (a[bytes] & mask) == (b[bytes] & mask);
}

/* The address of a socket, v4-mapped v6 unwrapped. */
static int sa_addr(const struct sockaddr *sa, uint8_t *addr)
{
	if (sa->sa_family == AF_INET) {
		memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return AF_INET;
	}
	const uint8_t *a6 = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (memcmp(a6, mapped, 12) == 0) {
		memcpy(addr, a6 + 12, 4);
		return AF_INET;
	}
	memcpy(addr, a6, 16);
	return AF_INET6;
}

bool resolverd_allowed(const struct resolverd *r, const struct sockaddr *sa)
{
	uint8_t addr[16];
	int fam = sa_addr(sa, addr);
	for (unsigned i = 0; i < r->conf->nnets; i++) {
		const struct rconf_net *n = &r->conf->nets[i];
		if (n->family == fam && prefix_match(addr, n->addr, n->prefix))
			return true;
	}
	return false;
}

void resolverd_client_net(const struct resolverd *r, const struct sockaddr *sa,
			 const struct dns_query *q, struct cache_net *net)
{
	memset(net, 0, sizeof(*net));
	if (!r->conf->ecs)
		return;
	if (q && q->ecs.present) {
		/* RFC 7871 7.1.1: a client-supplied option is used, but never
		 * with more bits than we would send ourselves. */
		unsigned max = q->ecs.family == 1 ? r->conf->ecs_prefix_v4 : r->conf->ecs_prefix_v6;
		net->family = (uint8_t)q->ecs.family;
		net->bits = q->ecs.source < max ? q->ecs.source : (uint8_t)max;
		memcpy(net->addr, q->ecs.addr, 16);
		return;
	}
	int fam = sa_addr(sa, net->addr);
	net->family = fam == AF_INET ? 1 : 2;
	/* `ecs: on` is the operator's choice: every client address is sent,
	 * loopback included (the private test internet lives on 127/8). */
	net->bits = (uint8_t)(fam == AF_INET ? r->conf->ecs_prefix_v4 : r->conf->ecs_prefix_v6);
}

/* ---- root hints: "NAME [TTL] [IN] TYPE RDATA" lines ---- */

static struct cache_deleg_ns *hint_ns(struct cache_deleg *d, const uint8_t *name)
{
	for (unsigned i = 0; i < d->nns; i++)
		if (dname_equal(d->ns[i].name, name))
			return &d->ns[i];
	return NULL;
}

static int hints_line(struct cache_deleg *d, char *line)
{
	char *tok[8];
	unsigned n = 0;
	char *c = strchr(line, ';');
	if (c)
		*c = '\0';
	if (line[0] == '$')
		return 0;
	for (char *s = strtok(line, " \t\r\n"); s && n < 8; s = strtok(NULL, " \t\r\n"))
		tok[n++] = s;
	if (n == 0)
		return 0;
	unsigned t = 1;
	while (t < n && (isdigit((unsigned char)tok[t][0]) || !strcasecmp(tok[t], "IN")))
		t++;
	if (t + 1 >= n)
		return VANE_ESYNTAX;
	uint8_t owner[DNAME_MAXLEN], target[DNAME_MAXLEN];
	if (dname_from_str(tok[0], NULL, owner) < 0)
		return VANE_ESYNTAX;
	dname_lower(owner);
	const char *type = tok[t], *rd = tok[t + 1];
	if (!strcasecmp(type, "NS")) {
		if (dname_from_str(rd, NULL, target) < 0 || owner[0] != 0)
			return VANE_ESYNTAX;
		dname_lower(target);
		if (d->nns < CACHE_DELEG_MAXNS && !hint_ns(d, target))
			memcpy(d->ns[d->nns++].name, target, dname_len(target));
		return 0;
	}
	bool v4 = !strcasecmp(type, "A");
	if (!v4 && strcasecmp(type, "AAAA"))
		return 0;
	struct cache_deleg_ns *ns = hint_ns(d, owner);
	uint8_t addr[16] = { 0 };
	if (inet_pton(v4 ? AF_INET : AF_INET6, rd, addr) != 1)
		return VANE_ESYNTAX;
	if (!ns || ns->naddr >= CACHE_DELEG_MAXADDR)
		return 0;
	ns->addr[ns->naddr].family = v4 ? 1 : 2;
	memcpy(ns->addr[ns->naddr].addr, addr, 16);
	ns->naddr++;
	return 0;
}

int resolverd_load_hints(struct resolverd *r, const char *path)
{
	char line[1024];
	unsigned lineno = 0, naddr = 0;
	FILE *f = fopen(path, "r");
	if (!f) {
		log_error("root hints %s: %s", path, strerror(errno));
		return -errno;
	}
	memset(&r->core.hints, 0, sizeof(r->core.hints));
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (hints_line(&r->core.hints, line) != 0) {
			log_error("%s:%u: cannot parse the root hint", path, lineno);
			fclose(f);
			return VANE_ESYNTAX;
		}
	}
	fclose(f);
	for (unsigned i = 0; i < r->core.hints.nns; i++)
		naddr += r->core.hints.ns[i].naddr;
	if (naddr == 0) {
		log_error("%s: no root server addresses", path);
		return VANE_ESYNTAX;
	}
	return 0;
}
