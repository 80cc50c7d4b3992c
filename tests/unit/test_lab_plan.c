/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for plan-change's model runs (lab/plan.h) on a config built
 * here, and for what live mode asks of the model: its layout (one resolver
 * per kind and country) and the software of each kind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lab/live.h"
#include "lab/plan.h"

static struct conf_check check = {
	.id = "conn", .type = "tcp", .interval_ms = 5000, .timeout_ms = 2000, .rise = 2, .fall = 3,
};
static struct conf_endpoint eps[2] = {
	{ .id = "us-east", .location = { .continent = "NA", .country = "US" }, .weight = 1,
	  .check = "conn" },
	{ .id = "eu-west", .location = { .continent = "EU", .country = "DE" }, .weight = 1,
	  .check = "conn" },
};
static char *policy[] = { "health", "geo" };

static void make_conf(struct vane_conf *conf, struct conf_service *svc, unsigned ttl)
{
	memset(conf, 0, sizeof(*conf));
	memset(svc, 0, sizeof(*svc));
	svc->name = "api.example.com.";
	svc->ttl = ttl;
	svc->policy = policy;
	svc->npolicy = 2;
	svc->ecs = true;
	svc->endpoints = eps;
	svc->nendpoints = 2;
	conf->services = svc;
	conf->nservices = 1;
	conf->checks = &check;
	conf->nchecks = 1;
}

static void test_plan_ttl(void **unused)
{
	(void)unused;
	struct vane_conf conf;
	struct conf_service svc;
	struct lab_plan p;
	char err[256];
	make_conf(&conf, &svc, 300);
	assert_int_equal(lab_plan_change(&conf, "API.example.com", 30, NULL, &p, err, sizeof(err)), 0);
	assert_int_equal(p.old_ttl, 300);
	assert_int_equal(p.new_ttl, 30);
	/* The brief's population: the hour floor holds the old answer longest. */
	assert_int_equal(p.safe_after, 3600);
	assert_int_equal(p.n_kind, 4);
	assert_int_equal(p.kind[0].old_held, 300);
	assert_int_equal(p.kind[0].new_held, 30);
	assert_int_equal(p.kind[1].new_held, 300);           /* rogue-isp, min-ttl 300 */
	assert_true(p.detect_bound == 17.0);
	assert_string_equal(p.event, "down");
	assert_string_equal(p.endpoint, "us-east");
	/* Nothing moves before detection, and 5% of resolvers hold an hour. */
	assert_true(p.rto95 < 0 || p.rto95 >= 17);
	assert_true(p.rto100 < 0);
	assert_true(p.auth_qps > 0);
}

static void test_plan_drain(void **unused)
{
	(void)unused;
	struct vane_conf conf;
	struct conf_service svc;
	struct lab_plan p;
	char err[256];
	make_conf(&conf, &svc, 60);
	assert_int_equal(lab_plan_change(&conf, "api.example.com.", -1, "us-east", &p, err,
					 sizeof(err)), 0);
	assert_string_equal(p.event, "drain");
	/* A drain needs no detection: after a minute compliant caches have
	 * moved; the floors (300 s, 3600 s) keep some for 5 and 30 minutes. */
	assert_true(p.left_1m > p.left_5m);
	assert_true(p.left_5m >= p.left_30m);
	assert_true(p.left_30m > 0 && p.left_30m < 0.15);
	assert_true(p.left_5m < 0.5);
}

static void test_plan_errors(void **unused)
{
	(void)unused;
	struct vane_conf conf;
	struct conf_service svc;
	struct lab_plan p;
	char err[256];
	make_conf(&conf, &svc, 60);
	assert_int_equal(lab_plan_change(&conf, "nope.example.com", 30, NULL, &p, err, sizeof(err)),
			 VANE_ENOENT);
	assert_int_equal(lab_plan_change(&conf, "api.example.com", -1, "nope", &p, err, sizeof(err)),
			 VANE_ENOENT);
	assert_int_equal(lab_plan_change(&conf, "api.example.com", -1, NULL, &p, err, sizeof(err)),
			 VANE_EINVAL);
	assert_int_equal(lab_plan_change(&conf, "api.example.com", 30, "us-east", &p, err,
					 sizeof(err)), VANE_EINVAL);
}

static void test_live_layout(void **unused)
{
	(void)unused;
	struct lab_scenario *sc = malloc(sizeof(*sc));
	char err[256];
	lab_scenario_init(sc);
	sc->clients = 2000;
	sc->resolvers = 1000;            /* ignored in the live layout */
	sc->duration = 300;
	sc->live_layout = true;
	sc->svc.ttl = 30;
	sc->svc.n_ep = 2;
	snprintf(sc->ep[0].id, sizeof(sc->ep[0].id), "us-east");
	snprintf(sc->ep[0].country, sizeof(sc->ep[0].country), "US");
	snprintf(sc->ep[0].continent, sizeof(sc->ep[0].continent), "NA");
	snprintf(sc->ep[1].id, sizeof(sc->ep[1].id), "eu-west");
	snprintf(sc->ep[1].country, sizeof(sc->ep[1].country), "DE");
	snprintf(sc->ep[1].continent, sizeof(sc->ep[1].continent), "EU");
	sc->ep[0].weight = sc->ep[1].weight = 1;
	sc->n_event = 1;
	sc->event[0] = (struct lab_event){ .at = 100, .kind = LAB_EV_DOWN, .ep = 0 };
	assert_int_equal(lab_scenario_prepare(sc, err, sizeof(err)), 0);
	struct lab_result r;
	assert_int_equal(lab_run(sc, &r, NULL, NULL), 0);
	/* Geo splits the countries' clients; every kind of resolver got some. */
	assert_true(r.baseline > 0.35 && r.baseline < 0.65);
	for (unsigned p = 0; p < sc->n_profile; p++) {
		uint64_t n = 0;
		for (uint32_t t = 0; t < r.s.n_sec; t++)
			for (unsigned e = 0; e < r.s.n_ep; e++)
				n += r.s.conn_prof[(t * r.s.n_prof + p) * r.s.n_ep + e];
		assert_true(n > 0);
	}
	lab_result_free(&r);
	/* Kinds run as vane-resolver unless named unbound* or told. */
	assert_string_equal(lab_live_software(&sc->profile[0]), "vane-resolver");
	assert_string_equal(lab_live_software(&sc->profile[2]), "unbound");   /* unbound-like */
	snprintf(sc->profile[0].software, sizeof(sc->profile[0].software), "unbound");
	assert_string_equal(lab_live_software(&sc->profile[0]), "unbound");
	free(sc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_ttl),
		cmocka_unit_test(test_plan_drain),
		cmocka_unit_test(test_plan_errors),
		cmocka_unit_test(test_live_layout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
