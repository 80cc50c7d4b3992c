/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Second providers (src/provider, conf/providers.c): the providers: keys,
 * services translated into PowerDNS LUA records, and the plan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf/conf.h"
#include "provider/translate.h"

static char tmpdir[] = "/tmp/vane-test-provider-XXXXXX";
static char path[512];
static char errs[8192];

static void collect(void *ctx, const char *file, unsigned long line, const char *msg)
{
	size_t n = strlen(errs);
	snprintf(errs + n, sizeof(errs) - n, "%lu: %s\n", line, msg);
}

static int setup(void **state)
{
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(path, sizeof(path), "%s/vaned.conf", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	return rmdir(tmpdir);
}

static int load(const char *text, struct vane_conf **conf)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	errs[0] = '\0';
	*conf = NULL;
	return conf_load(path, collect, NULL, conf);
}

#define HEAD "zones:\n  - name: example.com\n    file: z.zone\n"
#define PROVIDER "providers:\n  - name: pdns\n    api: http://127.0.0.1:8081\n" \
	"    api-key-file: key\n    zones: [ example.com ]\n"

static const char *const geo_conf = HEAD
	"checks:\n  - { id: web, type: tcp, port: 443 }\n"
	"services:\n"
	"  - name: api.example.com\n    policy: [ health, geo, weighted ]\n"
	"    endpoints:\n"
	"      - { id: us, address: 192.0.2.1, check: web, location: { continent: NA, country: US } }\n"
	"      - { id: de, address: 192.0.2.2, check: web, location: { continent: EU, country: DE } }\n"
	"      - { id: fr, address: 192.0.2.3, check: web, location: { continent: EU, country: FR } }\n"
	"  - name: w.example.com\n    policy: [ health, weighted, latency ]\n    sticky: subnet\n"
	"    endpoints:\n"
	"      - { id: a, address: [ 192.0.2.11, \"2001:db8::11\" ], weight: 1 }\n"
	"      - { id: b, address: 192.0.2.12, weight: 3 }\n"
	PROVIDER;

static void test_conf_providers(void **state)
{
	struct vane_conf *c;
	assert_int_equal(load(geo_conf, &c), 0);
	assert_int_equal(c->nproviders, 1);
	assert_string_equal(c->providers[0].type, "powerdns");
	assert_string_equal(c->providers[0].server_id, "localhost");
	assert_string_equal(c->providers[0].zones[0], "example.com.");
	assert_int_equal(c->providers[0].drift_interval_ms, 30000);
	assert_null(c->providers[0].dns.text);
	conf_free(c);

	/* A zone this server does not serve, a URL that is not one. */
	assert_int_not_equal(load(HEAD "providers:\n  - name: p\n    api: 127.0.0.1:8081\n"
				  "    api-key-file: k\n    zones: [ example.net ]\n", &c), 0);
	assert_non_null(strstr(errs, "http:// or https://"));
	assert_int_not_equal(load(HEAD "providers:\n  - name: p\n    api: http://x\n"
				  "    api-key-file: k\n    zones: [ example.net ]\n", &c), 0);
	assert_non_null(strstr(errs, "example.net. is not one of this server's zones"));
	assert_int_not_equal(load(HEAD "providers:\n  - name: p\n    api: http://x\n"
				  "    api-key-file: k\n    zones: [ example.com ]\n"
				  "    drift-subnets: [ 10.0.0.0/33 ]\n", &c), 0);
	assert_non_null(strstr(errs, "ADDR/LEN"));
}

static void all_up(const struct conf_service *svc, struct prov_ep_state *st)
{
	for (unsigned e = 0; e < svc->nendpoints; e++)
		st[e] = (struct prov_ep_state){ .up = true, .weight = svc->endpoints[e].weight };
}

static void test_translate_geo(void **state)
{
	struct vane_conf *c;
	assert_int_equal(load(geo_conf, &c), 0);
	const struct conf_service *svc = &c->services[0];
	struct prov_ep_state st[3];
	struct prov_records r;
	all_up(svc, st);
	assert_int_equal(prov_translate(c, svc, st, &r), 0);
	assert_int_equal(r.ttl, 30);
	assert_null(r.content[1]);
	/* Countries first, then continents, then everything; one tcp check and
	 * equal weights: PowerDNS probes too (ifportup). */
	assert_string_equal(r.content[0],
		"A \";if country('US') then return ifportup(443, {'192.0.2.1'}) end "
		"if country('DE') then return ifportup(443, {'192.0.2.2'}) end "
		"if country('FR') then return ifportup(443, {'192.0.2.3'}) end "
		"if continent('NA') then return ifportup(443, {'192.0.2.1'}) end "
		"if continent('EU') then return ifportup(443, {'192.0.2.2','192.0.2.3'}) end "
		"return ifportup(443, {'192.0.2.1','192.0.2.2','192.0.2.3'})\"");
	prov_records_free(&r);

	/* de down, fr drained: neither appears; Europe falls to all. */
	st[1].up = false;
	st[2].drained = true;
	assert_int_equal(prov_translate(c, svc, st, &r), 0);
	assert_null(strstr(r.content[0], "192.0.2.2"));
	assert_null(strstr(r.content[0], "192.0.2.3"));
	assert_null(strstr(r.content[0], "continent('EU')"));
	prov_records_free(&r);

	/* Everything down: all-down open answers every endpoint not drained,
	 * without geo. */
	st[0].up = false;
	assert_int_equal(prov_translate(c, svc, st, &r), 0);
	assert_string_equal(r.content[0], "A \";return {'192.0.2.1','192.0.2.2'}\"");
	prov_records_free(&r);
	conf_free(c);
}

static void test_translate_weights(void **state)
{
	struct vane_conf *c;
	assert_int_equal(load(geo_conf, &c), 0);
	const struct conf_service *svc = &c->services[1];
	struct prov_ep_state st[2];
	struct prov_records r;
	all_up(svc, st);
	assert_int_equal(prov_translate(c, svc, st, &r), 0);
	assert_string_equal(r.content[0],
			    "A \";return pickwrandom({{1,'192.0.2.11'},{3,'192.0.2.12'}})\"");
	assert_string_equal(r.content[1], "AAAA \";return pickwrandom({{1,'2001:db8::11'}})\"");
	prov_records_free(&r);
	/* A ramp step is a weight. */
	st[1].weight = 1;
	st[1].ramping = true;
	assert_int_equal(prov_translate(c, svc, st, &r), 0);
	assert_non_null(strstr(r.content[0], "{1,'192.0.2.12'}"));
	prov_records_free(&r);
	conf_free(c);
}

static void test_translate_ifurlup(void **state)
{
	struct vane_conf *c;
	assert_int_equal(load(HEAD "checks:\n  - { id: h, type: http, port: 8080, path: /health }\n"
			      "services:\n  - name: www.example.com\n    endpoints:\n"
			      "      - { id: a, address: 192.0.2.1, check: h }\n"
			      "      - { id: b, address: 192.0.2.2, check: h }\n" PROVIDER, &c), 0);
	struct prov_ep_state st[2];
	struct prov_records r;
	all_up(&c->services[0], st);
	assert_int_equal(prov_translate(c, &c->services[0], st, &r), 0);
	assert_string_equal(r.content[0], "A \";return ifurlup('http://www.example.com:8080/health', "
			    "{'192.0.2.1','192.0.2.2'})\"");
	prov_records_free(&r);
	/* Drained: out of the record; the plan says ifurlup is exact. */
	st[0].drained = true;
	assert_int_equal(prov_translate(c, &c->services[0], st, &r), 0);
	assert_null(strstr(r.content[0], "192.0.2.1"));
	prov_records_free(&r);
	struct prov_plan_item it[PROV_PLAN_MAX];
	unsigned n = prov_plan(c, &c->services[0], it, PROV_PLAN_MAX);
	assert_true(n > 0);
	assert_string_equal(it[0].feature, "health");
	assert_int_equal(it[0].fidelity, PROV_EXACT);
	assert_non_null(strstr(it[0].text, "ifurlup"));
	conf_free(c);
}

static const struct prov_plan_item *item(const struct prov_plan_item *it, unsigned n,
					 const char *feature)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(it[i].feature, feature))
			return &it[i];
	return NULL;
}

static void test_plan(void **state)
{
	struct vane_conf *c;
	assert_int_equal(load(geo_conf, &c), 0);
	struct prov_plan_item it[PROV_PLAN_MAX];
	unsigned n = prov_plan(c, &c->services[0], it, PROV_PLAN_MAX);
	assert_int_equal(item(it, n, "geo")->fidelity, PROV_EXACT);
	assert_int_equal(item(it, n, "health")->fidelity, PROV_EXACT);
	assert_null(item(it, n, "latency"));
	assert_string_equal(item(it, n, "ecs")->text, "ECS scope: provider's own");
	assert_int_equal(item(it, n, "ramp")->fidelity, PROV_APPROX);
	n = prov_plan(c, &c->services[1], it, PROV_PLAN_MAX);
	assert_string_equal(item(it, n, "latency")->text,
			    "latency: not supported, falls back to weights");
	assert_int_equal(item(it, n, "sticky")->fidelity, PROV_LOST);
	assert_int_equal(item(it, n, "health")->fidelity, PROV_APPROX);
	conf_free(c);
}

static void test_zone_of(void **state)
{
	char *zones[] = { "example.com.", "sub.example.com.", "ample.com." };
	assert_string_equal(prov_zone_of(zones, 3, "api.example.com."), "example.com.");
	assert_string_equal(prov_zone_of(zones, 3, "a.sub.example.com."), "sub.example.com.");
	assert_string_equal(prov_zone_of(zones, 3, "ample.com."), "ample.com.");
	assert_null(prov_zone_of(zones, 2, "xample.com."));
	assert_null(prov_zone_of(zones, 2, "example.org."));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_providers),
		cmocka_unit_test(test_translate_geo),
		cmocka_unit_test(test_translate_weights),
		cmocka_unit_test(test_translate_ifurlup),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_zone_of),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
