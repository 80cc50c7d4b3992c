/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `providers:`: second DNS providers that vaned keeps in step (issue 12,
 * docs/providers.md).  Only PowerDNS Authoritative so far: its HTTP API
 * takes the LUA records that vaned's steering translates into.  Providers
 * are bound at start (CONF_RESTART): the pusher owns a copy of them.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "conf/schema.h"
#include "lib/report.h"

#define PV(field) offsetof(struct conf_provider, field)

static const char *const provider_types[] = { "powerdns", NULL };

static bool check_api(void *base, const struct conf_item *item, char *msg, size_t msgsize)
{
	const char *url = *(char **)((char *)base + item->offset);
	if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0)
		return true;
	snprintf(msg, msgsize, "expected an http:// or https:// URL, got \"%.64s\"", url);
	return false;
}

/* An element of drift-subnets: "ADDR/LEN" with LEN within the family. */
static bool check_subnet(void *base, const struct conf_item *item, char *msg, size_t msgsize)
{
	const char *s = *(char **)base;
	char addr[64];
	const char *slash = strchr(s, '/');
	uint8_t buf[16];
	if (slash && (size_t)(slash - s) < sizeof(addr)) {
		memcpy(addr, s, (size_t)(slash - s));
		addr[slash - s] = '\0';
		char *end;
		unsigned long len = strtoul(slash + 1, &end, 10);
		if (*end == '\0' && slash[1] != '\0' &&
		    ((inet_pton(AF_INET, addr, buf) == 1 && len <= 32) ||
		     (inet_pton(AF_INET6, addr, buf) == 1 && len <= 128)))
			return true;
	}
	snprintf(msg, msgsize, "expected ADDR/LEN, got \"%.64s\"", s);
	return false;
}

static const struct conf_item zone_name_elem = {
	.name = "zones", .type = CONF_DNAME, .flags = CONF_UNIQUE,
};

static const struct conf_item subnet_elem = {
	.name = "drift-subnets", .type = CONF_STR, .flags = CONF_UNIQUE, .check = check_subnet,
};

static const struct conf_item provider_items[] = {
	{ .name = "name", .type = CONF_STR, .flags = CONF_REQUIRED | CONF_UNIQUE | CONF_RESTART,
	  .offset = PV(name),
	  .help = "The provider's name in vanectl providers, events and metrics." },
	{ .name = "type", .type = CONF_ENUM, .offset = PV(type), .values = provider_types,
	  .def = "powerdns", .flags = CONF_RESTART,
	  .help = "powerdns: PowerDNS Authoritative 4.2 or later with enable-lua-records, "
		  "the HTTP API on, and the geoip backend launched for geo services." },
	{ .name = "api", .type = CONF_STR, .flags = CONF_REQUIRED | CONF_RESTART,
	  .offset = PV(api), .check = check_api,
	  .help = "Base URL of the provider's HTTP API, e.g. \"http://127.0.0.1:8081\"." },
	{ .name = "api-key-file", .type = CONF_PATH, .flags = CONF_REQUIRED | CONF_RESTART,
	  .offset = PV(api_key_file),
	  .help = "File holding the API key (sent as X-API-Key), read at every push so a "
		  "rotated key needs no reload." },
	{ .name = "server-id", .type = CONF_STR, .offset = PV(server_id), .def = "localhost",
	  .flags = CONF_RESTART,
	  .help = "The server id in the API's paths (/api/v1/servers/ID/zones)." },
	{ .name = "zones", .type = CONF_LIST, .flags = CONF_REQUIRED | CONF_RESTART,
	  .offset = PV(zones), .count_off = PV(nzones), .elem = &zone_name_elem,
	  .elem_size = sizeof(char *), .min = 1, .max = 256,
	  .help = "Zones of this server whose steered names the provider serves too; the "
		  "zones must exist at the provider (vaned writes only the steered names)." },
	{ .name = "dns", .type = CONF_LISTEN, .offset = PV(dns), .flags = CONF_RESTART,
	  .help = "Where the provider answers DNS (ADDR@PORT), for the drift checks: its SOA "
		  "serial and ECS samples of every steered name. Without it only the API's "
		  "view of the records is checked." },
	{ .name = "drift-interval", .type = CONF_DURATION, .offset = PV(drift_interval_ms),
	  .min = 200, .max = 24 * 3600 * 1000, .def = "30s", .flags = CONF_RESTART,
	  .help = "Time between drift checks." },
	{ .name = "drift-subnets", .type = CONF_LIST, .offset = PV(drift_subnets),
	  .count_off = PV(ndrift_subnets), .elem = &subnet_elem, .elem_size = sizeof(char *),
	  .max = 1024, .flags = CONF_RESTART,
	  .help = "Client subnets sent as ECS in the drift samples, taken in turn; none: "
		  "random IPv4 /24s." },
	{ .name = "drift-samples", .type = CONF_UINT, .offset = PV(drift_samples), .min = 0,
	  .max = 256, .def = "8", .flags = CONF_RESTART,
	  .help = "ECS queries per steered name per drift check; 0: none." },
	{ .name = "drift-threshold", .type = CONF_UINT, .offset = PV(drift_threshold), .min = 1,
	  .max = 1000, .def = "1", .flags = CONF_RESTART,
	  .help = "Consecutive drift checks with a mismatch before the drift alert fires." },
	{ NULL },
};

const struct conf_item conf_provider_elem = {
	.name = "provider", .type = CONF_MAP, .flags = CONF_LINE, .children = provider_items,
	.line_off = PV(line),
};

static bool zone_served(const struct vane_conf *conf, const char *name)
{
	for (unsigned i = 0; i < conf->nzones; i++)
		if (strcasecmp(conf->zones[i].name, name) == 0)
			return true;
	return false;
}

unsigned conf_check_providers(struct vane_conf *conf, const char *file, vane_report_fn err,
			      void *ctx)
{
	struct report v = { .file = file, .fn = err, .ctx = ctx };
	for (unsigned p = 0; p < conf->nproviders; p++) {
		struct conf_provider *pv = &conf->providers[p];
		for (unsigned z = 0; z < pv->nzones; z++)
			if (!zone_served(conf, pv->zones[z]))
				report_error(&v, pv->line, "providers[%u].zones: %s is not one of "
					     "this server's zones", p, pv->zones[z]);
	}
	return v.errors;
}
