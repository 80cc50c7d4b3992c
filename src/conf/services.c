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
#include "lib/mnemonic.h"
#include "lib/report.h"
#include "conf/schema.h"

#define MAX_ADDRS_PER_FAMILY 8   /* STEER_MAX_ADDRS */

static void check_one(struct report *v, struct conf_check *c, unsigned i)
{
	const char *t = c->type;
	bool http = !strcmp(t, "http") || !strcmp(t, "https");

	if (!strcmp(t, "tcp") && c->port == 0)
		report_error(v, c->line, "checks[%u].port: required for a tcp check", i);
	if (http && c->expect) {
		uint64_t st;
		if (conf_parse_uint(c->expect, &st) != 0 || st < 100 || st > 599)
			report_error(v, c->line, "checks[%u].expect: expected an HTTP status 100..599, "
			     "got \"%.32s\"", i, c->expect);
	}
	if (!strcmp(t, "dns")) {
		if (c->expect) {
			/* A dns check expects one of the plain rcodes (0..5). */
			int rc = dns_rcode_from_name(c->expect);
			if (rc < 0 || rc > 5)
				report_error(v, c->line, "checks[%u].expect: expected an rcode name such as "
				     "NOERROR or NXDOMAIN, got \"%.32s\"", i, c->expect);
		}
		char name[256], type[32], extra[2];
		if (!c->query || sscanf(c->query, "%255s %31s %1s", name, type, extra) != 2)
			report_error(v, c->line, "checks[%u].query: a dns check needs \"NAME TYPE\"", i);
	}
	if (!strcmp(t, "exec") && (!c->command || !*c->command))
		report_error(v, c->line, "checks[%u].command: required for an exec check", i);
	if (c->timeout_ms > c->interval_ms)
		report_error(v, c->line, "checks[%u].timeout: longer than the interval", i);
}

static int find_check(const struct vane_conf *conf, const char *id)
{
	for (unsigned i = 0; i < conf->nchecks; i++)
		if (strcmp(conf->checks[i].id, id) == 0)
			return (int)i;
	return -1;
}

static void check_endpoint(struct report *v, const struct vane_conf *conf,
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
		report_error(v, ep->line, "services[%u].endpoints[%u]: give either address or cname, "
		     "not both", s, e);
	if (!ep->naddress && !ep->cname)
		report_error(v, ep->line, "services[%u].endpoints[%u]: needs an address or a cname", s, e);
	if (n4 > MAX_ADDRS_PER_FAMILY || n6 > MAX_ADDRS_PER_FAMILY)
		report_error(v, ep->line, "services[%u].endpoints[%u].address: at most %u addresses per "
		     "family", s, e, MAX_ADDRS_PER_FAMILY);
	if (ep->check && find_check(conf, ep->check) < 0)
		report_error(v, ep->line, "services[%u].endpoints[%u].check: unknown check \"%.64s\"",
		     s, e, ep->check);
	if (ep->check_address && !ep->check)
		report_error(v, ep->line, "services[%u].endpoints[%u].check-address: given without a check",
		     s, e);
	if (ep->check && ep->cname && !ep->check_address)
		report_error(v, ep->line, "services[%u].endpoints[%u].check-address: required for a "
		     "cname endpoint with a check", s, e);
	if (ep->location.has_lat != ep->location.has_lon)
		report_error(v, ep->line, "services[%u].endpoints[%u].location: lat and lon go together",
		     s, e);
}

static void check_service(struct report *v, const struct vane_conf *conf,
			  const struct conf_service *svc, unsigned s)
{
	if (svc->shed_low > svc->shed_high)
		report_error(v, svc->line, "services[%u].shed-low: above shed-high", s);
	if (svc->ttl_degraded && svc->ttl_degraded > svc->ttl)
		report_error(v, svc->line, "services[%u].ttl-degraded: longer than ttl", s);
	unsigned never = 0;
	for (unsigned e = 0; e < svc->nendpoints; e++) {
		check_endpoint(v, conf, &svc->endpoints[e], s, e);
		never += svc->endpoints[e].standby && strcmp(svc->endpoints[e].standby, "never") == 0;
	}
	/* Canaries hold to a share of the others: with no others the service
	 * could only ever answer through all-down. */
	if (svc->nendpoints && never == svc->nendpoints)
		report_error(v, svc->line, "services[%u].endpoints: every endpoint has standby: never, "
			     "so none could answer", s);
}

unsigned conf_check_services(struct vane_conf *conf, const char *file,
			     vane_report_fn err, void *ctx)
{
	struct report v = { .file = file, .fn = err, .ctx = ctx };

	for (unsigned i = 0; i < conf->nchecks; i++)
		check_one(&v, &conf->checks[i], i);
	for (unsigned s = 0; s < conf->nservices; s++)
		check_service(&v, conf, &conf->services[s], s);
	return v.errors;
}
