/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Rules of `checks:` and `services:` that span several keys, run after the
 * schema table parsed every value.  Each problem names the key and the line
 * of the entry, like the schema's own errors.  Rules that need the zones
 * (the name is in a served zone, not below a cut, no CNAME there) run when
 * the snapshot is built (steer/build.c).
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "conf/schema.h"

#define MAX_ADDRS_PER_FAMILY 8   /* STEER_MAX_ADDRS */

struct vctx {
	const char *file;
	conf_err_fn err;
	void *ctx;
	unsigned nerr;
};

__attribute__((format(printf, 3, 4)))
static void verr(struct vctx *v, unsigned long line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	v->nerr++;
	v->err(v->ctx, v->file, line, msg);
}

static const char *const rcodes[] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", NULL,
};

static void check_one(struct vctx *v, struct conf_check *c, unsigned i)
{
	const char *t = c->type;
	bool http = !strcmp(t, "http") || !strcmp(t, "https");

	if (!strcmp(t, "tcp") && c->port == 0)
		verr(v, c->line, "checks[%u].port: required for a tcp check", i);
	if (http && c->expect) {
		uint64_t st;
		if (conf_parse_uint(c->expect, &st) != 0 || st < 100 || st > 599)
			verr(v, c->line, "checks[%u].expect: expected an HTTP status 100..599, "
			     "got \"%.32s\"", i, c->expect);
	}
	if (!strcmp(t, "dns")) {
		if (c->expect) {
			bool ok = false;
			for (unsigned r = 0; rcodes[r]; r++)
				ok = ok || strcasecmp(c->expect, rcodes[r]) == 0;
			if (!ok)
				verr(v, c->line, "checks[%u].expect: expected an rcode name such as "
				     "NOERROR or NXDOMAIN, got \"%.32s\"", i, c->expect);
		}
		char name[256], type[32], extra[2];
		if (!c->query || sscanf(c->query, "%255s %31s %1s", name, type, extra) != 2)
			verr(v, c->line, "checks[%u].query: a dns check needs \"NAME TYPE\"", i);
	}
	if (!strcmp(t, "exec") && (!c->command || !*c->command))
		verr(v, c->line, "checks[%u].command: required for an exec check", i);
	if (c->timeout_ms > c->interval_ms)
		verr(v, c->line, "checks[%u].timeout: longer than the interval", i);
}

static int find_check(const struct vane_conf *conf, const char *id)
{
	for (unsigned i = 0; i < conf->nchecks; i++)
		if (strcmp(conf->checks[i].id, id) == 0)
			return (int)i;
	return -1;
}

static void check_endpoint(struct vctx *v, const struct vane_conf *conf,
			   const struct conf_endpoint *ep, unsigned s, unsigned e)
{
	unsigned n4 = 0, n6 = 0;
	uint8_t a[16];

	for (unsigned i = 0; i < ep->naddress; i++) {
		if (inet_pton(AF_INET, ep->address[i], a) == 1)
			n4++;
		else
			n6++;
	}
	if (ep->naddress && ep->cname)
		verr(v, ep->line, "services[%u].endpoints[%u]: give either address or cname, "
		     "not both", s, e);
	if (!ep->naddress && !ep->cname)
		verr(v, ep->line, "services[%u].endpoints[%u]: needs an address or a cname", s, e);
	if (n4 > MAX_ADDRS_PER_FAMILY || n6 > MAX_ADDRS_PER_FAMILY)
		verr(v, ep->line, "services[%u].endpoints[%u].address: at most %u addresses per "
		     "family", s, e, MAX_ADDRS_PER_FAMILY);
	if (ep->check && find_check(conf, ep->check) < 0)
		verr(v, ep->line, "services[%u].endpoints[%u].check: unknown check \"%.64s\"",
		     s, e, ep->check);
	if (ep->check_address && !ep->check)
		verr(v, ep->line, "services[%u].endpoints[%u].check-address: given without a check",
		     s, e);
	if (ep->check && ep->cname && !ep->check_address)
		verr(v, ep->line, "services[%u].endpoints[%u].check-address: required for a "
		     "cname endpoint with a check", s, e);
	if (ep->location.has_lat != ep->location.has_lon)
		verr(v, ep->line, "services[%u].endpoints[%u].location: lat and lon go together",
		     s, e);
}

static void check_service(struct vctx *v, const struct vane_conf *conf,
			  const struct conf_service *svc, unsigned s)
{
	if (svc->shed_low > svc->shed_high)
		verr(v, svc->line, "services[%u].shed-low: above shed-high", s);
	if (svc->ttl_degraded && svc->ttl_degraded > svc->ttl)
		verr(v, svc->line, "services[%u].ttl-degraded: longer than ttl", s);
	for (unsigned e = 0; e < svc->nendpoints; e++)
		check_endpoint(v, conf, &svc->endpoints[e], s, e);
}

unsigned conf_check_services(struct vane_conf *conf, const char *file,
			     conf_err_fn err, void *ctx)
{
	struct vctx v = { .file = file, .err = err, .ctx = ctx };

	for (unsigned i = 0; i < conf->nchecks; i++)
		check_one(&v, &conf->checks[i], i);
	for (unsigned s = 0; s < conf->nservices; s++)
		check_service(&v, conf, &conf->services[s], s);
	return v.nerr;
}
