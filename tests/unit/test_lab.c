/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the lab's pure pieces: the RTO metric, the resolver TTL
 * rules it models with, scenario checks, small model runs on the
 * simulated clock (bounds, reproducibility) and the SVG writer's ticks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lab/metrics.h"
#include "lab/model.h"
#include "lab/route.h"
#include "lab/svg.h"
#include "resolver/cache.h"

static void test_shift_time(void **unused)
{
	(void)unused;
	/* Old share over time: the event at 2, mostly gone at 5, all at 8. */
	double rem[10] = { 1, 1, 1, 0.6, 0.2, 0.04, 0.02, 0.005, 0, 0 };
	assert_true(lab_shift_time(rem, 2, 10, 0.95) == 3);    /* from 5 on <= 5% */
	assert_true(lab_shift_time(rem, 2, 10, 0.99) == 5);    /* from 7 on <= 1% */
	assert_true(lab_shift_time(rem, 2, 10, 1.0) == 6);     /* from 8 on 0 */
	/* A bump back above the limit resets the clock: the RTO is when it
	 * stays below. */
	rem[6] = 0.3;
	assert_true(lab_shift_time(rem, 2, 10, 0.95) == 5);
	/* Never settles within the window. */
	rem[9] = 0.5;
	assert_true(lab_shift_time(rem, 2, 10, 1.0) == -1);
	/* Already gone at the event. */
	double zero[4] = { 0 };
	assert_true(lab_shift_time(zero, 0, 4, 1.0) == 0);
}

static void test_ttl_rules(void **unused)
{
	(void)unused;
	assert_int_equal(cache_ttl_positive(30, 0, 0), 30);
	assert_int_equal(cache_ttl_positive(30, 300, 0), 300);       /* the rogue-ISP floor */
	assert_int_equal(cache_ttl_positive(100000, 0, 0), 86400);   /* default max-ttl */
	assert_int_equal(cache_ttl_positive(30, 3600, 600), 600);    /* floor above ceiling */
	assert_int_equal(cache_ttl_negative(3600, 900, 0), 900);     /* RFC 2308: min(TTL, MINIMUM) */
	assert_int_equal(cache_ttl_negative(60, 900, 0), 60);        /* vaned's cap on the SOA TTL */
	assert_int_equal(cache_ttl_negative(86400, 86400, 0), 3600); /* negative-max-ttl default */
}

static void two_regions(struct lab_scenario *sc)
{
	lab_scenario_init(sc);
	sc->clients = 5000;
	sc->resolvers = 50;
	sc->duration = 400;
	sc->n_profile = 1;
	memset(&sc->profile[0], 0, sizeof(sc->profile[0]));
	strcpy(sc->profile[0].name, "compliant");
	sc->profile[0].share = 1;
	sc->svc.n_ep = 2;
	strcpy(sc->ep[0].id, "us-east");
	strcpy(sc->ep[0].country, "US");
	strcpy(sc->ep[0].continent, "NA");
	strcpy(sc->ep[1].id, "eu-west");
	strcpy(sc->ep[1].country, "DE");
	strcpy(sc->ep[1].continent, "EU");
	sc->ep[0].weight = sc->ep[1].weight = 1;
	sc->n_event = 1;
	sc->event[0] = (struct lab_event){ .at = 100, .kind = LAB_EV_DOWN, .ep = 0 };
}

static void test_prepare_checks(void **unused)
{
	(void)unused;
	struct lab_scenario *sc = malloc(sizeof(*sc));
	char err[256];
	lab_scenario_init(sc);
	assert_int_equal(lab_scenario_prepare(sc, err, sizeof(err)), VANE_EINVAL);  /* no endpoints */
	two_regions(sc);
	sc->event[0].ep = -1;
	assert_int_equal(lab_scenario_prepare(sc, err, sizeof(err)), VANE_EINVAL);
	assert_non_null(strstr(err, "endpoint"));
	two_regions(sc);
	sc->timeout_ms = sc->interval_ms;
	assert_int_equal(lab_scenario_prepare(sc, err, sizeof(err)), VANE_EINVAL);
	two_regions(sc);
	assert_int_equal(lab_scenario_prepare(sc, err, sizeof(err)), 0);
	assert_int_equal(sc->measure, 0);        /* the down is what is measured */
	free(sc);
}

static void test_evacuation_bound(void **unused)
{
	(void)unused;
	struct lab_scenario *sc = malloc(sizeof(*sc));
	char err[256];
	two_regions(sc);
	assert_int_equal(lab_scenario_prepare(sc, err, sizeof(err)), 0);
	struct lab_result r, r2;
	assert_int_equal(lab_run(sc, &r, NULL, NULL), 0);
	double detect = 5.0 * 3 + 2;
	assert_true(r.detect >= 0 && r.detect <= detect);
	assert_true(r.rto100 >= r.detect);
	assert_true(r.rto100 <= 30 + detect + 2);
	assert_true(r.rto95 <= r.rto99 && r.rto99 <= r.rto100);
	assert_true(r.baseline > 0.3 && r.baseline < 0.7);   /* half the clients are in the US */
	/* Every connection went somewhere; the series add up. */
	uint64_t sum = 0;
	for (uint32_t t = 0; t < r.s.n_sec; t++)
		for (unsigned e = 0; e < r.s.n_ep; e++)
			sum += r.s.conn[t * r.s.n_ep + e];
	assert_true(sum == r.conn_total);
	assert_true(r.fail_total > 0);                       /* until the move, us-east fails */
	assert_true(r.cost_month > 0);
	/* Same seed, same run. */
	assert_int_equal(lab_run(sc, &r2, NULL, NULL), 0);
	assert_true(r2.auth_total == r.auth_total && r2.fail_total == r.fail_total);
	assert_true(r2.rto100 == r.rto100);
	lab_result_free(&r);
	lab_result_free(&r2);
	free(sc);
}

static void test_floor_holds_the_old_answer(void **unused)
{
	(void)unused;
	struct lab_scenario *sc = malloc(sizeof(*sc));
	char err[256];
	two_regions(sc);
	sc->duration = 700;
	sc->profile[0].min_ttl = 300;
	assert_int_equal(lab_scenario_prepare(sc, err, sizeof(err)), 0);
	struct lab_result r;
	assert_int_equal(lab_run(sc, &r, NULL, NULL), 0);
	assert_true(r.rto100 > 30 + 17 + 2);
	assert_true(r.rto100 <= 300 + 17 + 2);
	lab_result_free(&r);
	free(sc);
}

static void test_no_event(void **unused)
{
	(void)unused;
	struct lab_scenario *sc = malloc(sizeof(*sc));
	char err[256];
	two_regions(sc);
	sc->n_event = 0;
	assert_int_equal(lab_scenario_prepare(sc, err, sizeof(err)), 0);
	assert_int_equal(sc->measure, -1);
	struct lab_result r;
	assert_int_equal(lab_run(sc, &r, NULL, NULL), 0);
	assert_true(r.rto100 == -1 && r.fail_total == 0);
	/* 50 resolvers, TTL 30: about 50/30 queries a second. */
	assert_true(r.auth_qps > 1.0 && r.auth_qps < 2.0);
	lab_result_free(&r);
	free(sc);
}

static void anycast_regions(struct lab_scenario *sc, uint32_t conv_ms)
{
	two_regions(sc);
	sc->anycast.n_site = 2;
	sc->anycast.site[0] = 0;
	sc->anycast.site[1] = 1;
	sc->anycast.convergence_ms = conv_ms;
}

/* A withdrawn route moves every client at convergence, whatever the TTL
 * and the resolvers' floors; announcing it again brings them back. */
static void test_anycast_withdraw_moves_at_convergence(void **unused)
{
	(void)unused;
	struct lab_scenario *sc = malloc(sizeof(*sc));
	char err[256];
	anycast_regions(sc, 7000);
	sc->svc.ttl = 3600;
	sc->profile[0].min_ttl = 3600;
	sc->event[0].kind = LAB_EV_WITHDRAW;
	assert_int_equal(lab_scenario_prepare(sc, err, sizeof(err)), 0);
	struct lab_result r;
	assert_int_equal(lab_run(sc, &r, NULL, NULL), 0);
	/* Whole seconds: the first second with no old traffic is 7 after. */
	assert_true(r.rto95 == 7 && r.rto100 == 7);
	assert_true(r.route_change == 0);
	assert_true(r.baseline > 0.3 && r.baseline < 0.7);
	/* The site itself stayed up: no connection failed. */
	assert_true(r.fail_total == 0);
	/* The DNS twin has no withdraw: nothing to measure. */
	assert_true(r.dns.have && r.dns.rto100 == -1);
	lab_result_free(&r);
	/* Announced again at 200: back after convergence. */
	sc->n_event = 2;
	sc->event[1] = (struct lab_event){ .at = 200, .kind = LAB_EV_ANNOUNCE, .ep = 0 };
	sc->measure = -2;
	assert_int_equal(lab_scenario_prepare(sc, err, sizeof(err)), 0);
	assert_int_equal(sc->measure, 1);
	assert_int_equal(lab_run(sc, &r, NULL, NULL), 0);
	/* Per second, from the series: the return RTO (share back within 5%)
	 * is noisy with this few clients. */
	for (uint32_t t = 201; t < 207; t++)
		assert_int_equal(r.s.conn[t * r.s.n_ep + 0], 0);
	for (uint32_t t = 208; t < 230; t++)
		assert_true(r.s.conn[t * r.s.n_ep + 0] > r.s.total[t] / 4);
	lab_result_free(&r);
	free(sc);
}

/* The same site failure: anycast moves at detection + convergence, DNS at
 * detection + TTL (compliant resolvers). */
static void test_anycast_down_against_dns(void **unused)
{
	(void)unused;
	struct lab_scenario *sc = malloc(sizeof(*sc));
	char err[256];
	anycast_regions(sc, 3000);
	assert_int_equal(lab_scenario_prepare(sc, err, sizeof(err)), 0);
	struct lab_result r;
	assert_int_equal(lab_run(sc, &r, NULL, NULL), 0);
	double detect = 5.0 * 3 + 2;
	assert_true(r.route_change > 0 && r.route_change <= detect);
	assert_true(r.rto100 >= r.route_change + 3 && r.rto100 <= r.route_change + 3 + 1);
	assert_true(r.rto95 == r.rto100);       /* no tail: routers are not caches */
	assert_true(r.dns.have);
	assert_true(r.dns.detect == r.route_change);   /* one seed, one fold */
	assert_true(r.dns.rto100 > r.dns.detect && r.dns.rto100 <= 30 + detect + 2);
	assert_true(r.dns.rto95 > r.rto95);
	assert_true(r.dns.fail_total > r.fail_total);
	lab_result_free(&r);
	free(sc);
}

/* Routing alone: nearest site by country, changes seen after convergence. */
static void test_route(void **unused)
{
	(void)unused;
	struct lab_scenario *sc = malloc(sizeof(*sc));
	struct lab_route rt;
	anycast_regions(sc, 2000);
	lab_route_init(&rt, sc);
	assert_int_equal(lab_route_pick(&rt, 0, 0), 0);        /* US -> us-east */
	assert_int_equal(lab_route_pick(&rt, 1, 0), 1);        /* DE -> eu-west */
	lab_route_set(&rt, 0, false, 10000);
	assert_false(lab_route_on(&rt, 0));
	assert_int_equal(lab_route_pick(&rt, 0, 11999), 0);    /* not converged yet */
	assert_int_equal(lab_route_pick(&rt, 0, 12000), 1);
	lab_route_set(&rt, 1, false, 13000);                   /* no site left */
	assert_int_equal(lab_route_pick(&rt, 0, 15000), -1);
	/* Back within convergence of a change: the old state until it converges. */
	lab_route_set(&rt, 0, true, 20000);
	lab_route_set(&rt, 0, false, 21000);
	assert_int_equal(lab_route_pick(&rt, 0, 22500), -1);
	free(sc);
}

static void test_anycast_checks(void **unused)
{
	(void)unused;
	struct lab_scenario *sc = malloc(sizeof(*sc));
	char err[256];
	two_regions(sc);
	sc->event[0].kind = LAB_EV_WITHDRAW;     /* no anycast layout */
	assert_int_equal(lab_scenario_prepare(sc, err, sizeof(err)), VANE_EINVAL);
	assert_non_null(strstr(err, "not an anycast site"));
	anycast_regions(sc, 1000);
	sc->anycast.n_site = 1;
	sc->anycast.site[0] = 1;
	sc->event[0].kind = LAB_EV_WITHDRAW;     /* us-east is not a site */
	assert_int_equal(lab_scenario_prepare(sc, err, sizeof(err)), VANE_EINVAL);
	free(sc);
}

static void test_event_names(void **unused)
{
	(void)unused;
	for (unsigned k = 0; k < LAB_EV_COUNT; k++)
		assert_int_equal(lab_event_from_name(lab_event_name(k)), (int)k);
	assert_int_equal(lab_event_from_name("explode"), -1);
}

static void test_svg(void **unused)
{
	(void)unused;
	assert_true(svg_tick_step(100, 5) == 20);
	assert_true(svg_tick_step(3600, 8) == 500);
	assert_true(svg_tick_step(1, 5) == 0.2);
	double y[2000];
	for (int i = 0; i < 2000; i++)
		y[i] = i % 7;
	struct svg_series s = { "a<b", y, 2000 };
	struct svg_plot p = { .title = "t&t", .xlabel = "x", .ylabel = "y", .dx = 1,
			      .series = &s, .n_series = 1 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(svg_plot_write(f, &p), 0);
	fclose(f);
	assert_non_null(strstr(buf, "<svg"));
	assert_non_null(strstr(buf, "a&lt;b"));
	assert_non_null(strstr(buf, "t&amp;t"));
	assert_null(strstr(buf, "a<b"));
	/* At most SVG_MAX_POINTS points: count the pairs. */
	const char *pts = strstr(buf, "points=\"");
	assert_non_null(pts);
	unsigned n = 0;
	for (const char *c = pts; *c && *c != '/'; c++)
		n += *c == ',';
	assert_true(n > 100 && n <= SVG_MAX_POINTS);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shift_time),
		cmocka_unit_test(test_ttl_rules),
		cmocka_unit_test(test_prepare_checks),
		cmocka_unit_test(test_evacuation_bound),
		cmocka_unit_test(test_floor_holds_the_old_answer),
		cmocka_unit_test(test_no_event),
		cmocka_unit_test(test_anycast_withdraw_moves_at_convergence),
		cmocka_unit_test(test_anycast_down_against_dns),
		cmocka_unit_test(test_route),
		cmocka_unit_test(test_anycast_checks),
		cmocka_unit_test(test_event_names),
		cmocka_unit_test(test_svg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
