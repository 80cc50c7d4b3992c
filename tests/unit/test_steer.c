/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for steer/: every filter alone and in chains, all-down modes,
 * ECS scope, ttl-degraded, ramps, answer RDATA and traces.  Fake clock and
 * fixed randomness: every run sees the same numbers.
 */
#include <arpa/inet.h>
#include <math.h> /* declarations only: frexp is in libc, nothing from libm is linked */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "steer/fixmath.h"
#include "steer/latency_load.h"
#include "steer/steer.h"

/* No libm in the test link: the few numeric references are built here. */
static double fabs_(double x)
{
	return x < 0 ? -x : x;
}
#define fabs fabs_

/* ln(x) by frexp (in libc) and the atanh series, a method independent of
 * steer's table: ln m = 2 atanh((m - 1) / (m + 1)). */
static double ln_ref(double x)
{
	int e;
	long double m = frexp(x, &e), z = (m - 1) / (m + 1), z2 = z * z, t = z, sum = 0;
	for (unsigned k = 1; k < 80; k += 2) {
		sum += t / k;
		t *= z2;
	}
	return (double)(2 * sum + e * 0.69314718055994530941723L);
}

static struct steer_endpoint eps[STEER_MAX_ENDPOINTS];
static struct steer_service svc;
static struct steer_health_state hstate[STEER_MAX_ENDPOINTS];
static struct steer_health health;
static struct steer_admin_ep aeps[STEER_MAX_ENDPOINTS];
static struct steer_admin admin;
static struct steer_client client;

/* Endpoint i: id, continent, country, weight, one v4 and one v6 address. */
static void ep(unsigned i, const char *id, const char *cont, const char *cc, uint32_t w)
{
	struct steer_endpoint *e = &eps[i];
	memset(e, 0, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "%s", id);
	snprintf(e->continent, sizeof(e->continent), "%s", cont);
	snprintf(e->country, sizeof(e->country), "%s", cc);
	e->weight = w;
	e->check = STEER_NONE;
	e->health = i;
	e->n_v4 = 1;
	uint8_t v4[4] = { 192, 0, 2, (uint8_t)(10 + i) };
	memcpy(e->v4[0], v4, 4);
	e->n_v6 = 1;
	inet_pton(AF_INET6, "2001:db8::", e->v6[0]);
	e->v6[0][15] = (uint8_t)(0x10 + i);
}

static void coords(unsigned i, double lat, double lon)
{
	eps[i].has_coords = true;
	eps[i].lat = lat;
	eps[i].lon = lon;
}

/* A service of `n` endpoints (already filled) with the given policy. */
static void service(unsigned n, unsigned answers, unsigned npol, ...)
{
	steer_service_init(&svc);
	assert_int_equal(dname_from_str("api.example.com.", NULL, svc.name), 17);
	svc.name_len = 17;
	svc.ep = eps;
	svc.n_ep = n;
	svc.answers = (uint8_t)answers;
	va_list ap;
	va_start(ap, npol);
	for (unsigned k = 0; k < npol; k++)
		svc.policy[k] = (uint8_t)va_arg(ap, int);
	va_end(ap);
	svc.n_policy = (uint8_t)npol;
	assert_int_equal(steer_service_prepare(&svc), 0);
	memset(hstate, 0, sizeof(hstate));
	for (unsigned i = 0; i < n; i++)
		hstate[i].up = true;
	health.n = n;
	health.state = hstate;
	memset(aeps, 0, sizeof(aeps));
	admin.n = n;
	admin.ep = aeps;
}

static void client_v4(const char *src)
{
	memset(&client, 0, sizeof(client));
	client.family = 1;
	assert_int_equal(inet_pton(AF_INET, src, client.addr), 1);
}

static void client_ecs(uint16_t family, const char *addr, uint8_t source)
{
	client.ecs.present = true;
	client.ecs.family = family;
	client.ecs.source = source;
	memset(client.ecs.addr, 0, 16);
	assert_int_equal(inet_pton(family == 2 ? AF_INET6 : AF_INET, addr, client.ecs.addr), 1);
}

static void client_geo(const char *cont, const char *cc, uint8_t prefix)
{
	client.has_geo = true;
	snprintf(client.geo.continent, 3, "%s", cont);
	snprintf(client.geo.country, 3, "%s", cc);
	client.geo.prefix = prefix;
}

/* Tests edit aeps between decisions, so the admin snapshot is summarised
 * again before each one, as the runtime does when it publishes one. */
static struct steer_result decide(uint64_t now, uint64_t rand)
{
	struct steer_result r;
	steer_admin_prepare(&admin);
	steer_decide(&svc, &client, &health, &admin, now, rand, &r, NULL);
	return r;
}

/* Index of the single chosen endpoint. */
static unsigned pick(uint64_t rand)
{
	struct steer_result r = decide(1000, rand);
	assert_int_equal(r.outcome, STEER_ANSWER);
	assert_true(r.n >= 1);
	return r.ep[0];
}

/* Fixed, well spread sequence of `rand` inputs. */
static uint64_t rnd(uint64_t i)
{
	return steer_mix64(i * 0x9e3779b97f4a7c15ull + 12345);
}

/* --- geo ---------------------------------------------------------------- */

static void geo_country_continent_fallback(void **state)
{
	ep(0, "us-east", "NA", "US", 1);
	ep(1, "eu-de", "EU", "DE", 1);
	ep(2, "eu-fr", "EU", "FR", 1);
	service(3, 0, 1, STEER_F_GEO);
	client_v4("198.51.100.7");

	client_geo("EU", "DE", 16);
	struct steer_result r = decide(0, 1);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ep[0], 1);

	client_geo("EU", "IT", 16);      /* no endpoint in IT: same continent */
	r = decide(0, 1);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ep[0], 1);
	assert_int_equal(r.ep[1], 2);

	client_geo("AS", "JP", 16);      /* nothing nearby: everything */
	r = decide(0, 1);
	assert_int_equal(r.n, 3);

	client_geo("na", "us", 16);      /* codes are case-insensitive */
	r = decide(0, 1);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ep[0], 0);

	client.has_geo = false;          /* unknown client: all kept */
	r = decide(0, 1);
	assert_int_equal(r.n, 3);
}

static void geo_nearest_first(void **state)
{
	ep(0, "virginia", "NA", "US", 1);
	coords(0, 38.9, -77.0);
	ep(1, "frankfurt", "EU", "DE", 1);
	coords(1, 50.1, 8.7);
	ep(2, "singapore", "AS", "SG", 1);
	coords(2, 1.35, 103.8);
	ep(3, "nowhere", "AF", "ZA", 1);  /* no coordinates: sorts last */
	service(4, 0, 1, STEER_F_GEO);
	client_v4("198.51.100.7");

	/* Sydney: no endpoint in AU or OC, so all, nearest first. */
	client_geo("OC", "AU", 12);
	client.geo.has_coords = true;
	client.geo.lat = -33.9;
	client.geo.lon = 151.2;
	struct steer_result r = decide(0, 1);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.ep[0], 2);
	assert_int_equal(r.ep[1], 0);    /* Virginia ~15,700 km */
	assert_int_equal(r.ep[2], 1);    /* Frankfurt ~16,500 km */
	assert_int_equal(r.ep[3], 3);    /* unknown position last */
}

/* Expected orders from haversine distances computed independently (Python's
 * math module); nearest-first must agree for clients all over the globe. */
static void geo_nearest_matches_oracle(void **state)
{
	static const double pts[][2] = {
		{ 38.9, -77.0 }, { 50.1, 8.7 }, { 1.35, 103.8 }, { -23.5, -46.6 },
		{ 35.7, 139.7 }, { 64.1, -21.9 }, { -33.9, 18.4 }, { 19.4, -99.1 },
	};
	static const double clients[][2] = {
		{ -33.9, 151.2 }, { 51.5, -0.1 }, { 40.7, -74.0 }, { 0, 179.9 },
		{ -89, 0 }, { 89, 0 }, { 28.6, 77.2 }, { -12.0, -77.0 },
	};
	static const uint8_t want[8][8] = {
		{ 2, 4, 6, 7, 3, 0, 1, 5 },  /* 6308 7830 11011 12975 ... km */
		{ 1, 5, 0, 7, 3, 4, 6, 2 },
		{ 0, 7, 5, 1, 3, 4, 6, 2 },
		{ 4, 2, 7, 0, 5, 3, 1, 6 },  /* across the antimeridian */
		{ 6, 3, 2, 7, 4, 0, 1, 5 },  /* near the south pole */
		{ 5, 1, 0, 4, 7, 2, 3, 6 },
		{ 2, 4, 1, 5, 6, 0, 3, 7 },
		{ 3, 7, 0, 5, 6, 1, 4, 2 },
	};
	for (unsigned i = 0; i < 8; i++) {
		char id[8];
		snprintf(id, sizeof(id), "p%u", i);
		ep(i, id, "", "", 1);
		coords(i, pts[i][0], pts[i][1]);
	}
	service(8, 0, 1, STEER_F_GEO);
	for (unsigned c = 0; c < 8; c++) {
		client_v4("198.51.100.7");
		client_geo("XX", "XX", 8);
		client.geo.has_coords = true;
		client.geo.lat = clients[c][0];
		client.geo.lon = clients[c][1];
		struct steer_result r = decide(0, 1);
		assert_int_equal(r.n, 8);
		assert_memory_equal(r.ep, want[c], 8);
	}
}

/* --- latency ------------------------------------------------------------ */

static void latency_margin(void **state)
{
	for (unsigned i = 0; i < 4; i++)
		ep(i, (const char *[]){ "a", "b", "c", "d" }[i], "EU", "DE", 1);
	service(4, 0, 1, STEER_F_LATENCY);
	svc.latency_margin_ms = 10;
	uint32_t rtt[4] = { 42, 30, 39, STEER_RTT_UNKNOWN };
	struct steer_latency row = { 4, rtt, 20 };
	client_v4("198.51.100.7");
	client.latency = &row;
	struct steer_result r = decide(0, 1);
	/* best 30 (b), 39 (c) within 10, 42 (a) not, unknown (d) dropped */
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ep[0], 1);
	assert_int_equal(r.ep[1], 2);

	svc.latency_margin_ms = 12;
	r = decide(0, 1);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.ep[2], 0);

	uint32_t none[4] = { STEER_RTT_UNKNOWN, STEER_RTT_UNKNOWN, STEER_RTT_UNKNOWN,
			     STEER_RTT_UNKNOWN };
	row.rtt_ms = none;
	r = decide(0, 1);
	assert_int_equal(r.n, 4);        /* nothing measured: all kept */
}

/* --- weighted ------------------------------------------------------------ */

static void weighted_distribution(void **state)
{
	ep(0, "a", "", "", 10);
	ep(1, "b", "", "", 20);
	ep(2, "c", "", "", 30);
	ep(3, "d", "", "", 40);
	service(4, 1, 1, STEER_F_WEIGHTED);
	client_v4("198.51.100.7");
	unsigned count[4] = { 0 };
	const unsigned N = 100000;
	for (unsigned i = 0; i < N; i++)
		count[pick(rnd(i))]++;
	for (unsigned i = 0; i < 4; i++) {
		double share = (double)count[i] / N, want = (i + 1) / 10.0;
		assert_true(fabs(share - want) < 0.01);
	}
	/* Same rand, same answer. */
	assert_int_equal(pick(77), pick(77));
}

static void weighted_order_distinct(void **state)
{
	ep(0, "a", "", "", 1);
	ep(1, "b", "", "", 1);
	ep(2, "c", "", "", 98);
	service(3, 2, 1, STEER_F_WEIGHTED);
	client_v4("198.51.100.7");
	unsigned first_c = 0;
	for (unsigned i = 0; i < 1000; i++) {
		struct steer_result r = decide(0, rnd(i));
		assert_int_equal(r.n, 2);
		assert_int_not_equal(r.ep[0], r.ep[1]);
		first_c += r.ep[0] == 2;
	}
	assert_true(first_c > 950);

	/* Weight 0 (e.g. an aborted ramp) never answers. */
	ep(0, "a", "", "", 0);
	ep(1, "b", "", "", 5);
	service(2, 0, 1, STEER_F_WEIGHTED);
	for (unsigned i = 0; i < 100; i++) {
		struct steer_result r = decide(0, rnd(i));
		assert_int_equal(r.n, 1);
		assert_int_equal(r.ep[0], 1);
	}
	/* All 0: equal weights rather than no answer. */
	ep(1, "b", "", "", 0);
	service(2, 1, 1, STEER_F_WEIGHTED);
	assert_int_equal(decide(0, 1).n, 1);
}

static void weighted_admin_override(void **state)
{
	ep(0, "a", "", "", 50);
	ep(1, "b", "", "", 50);
	service(2, 1, 1, STEER_F_WEIGHTED);
	client_v4("198.51.100.7");
	aeps[0].weight_set = true;
	aeps[0].weight = 0;
	for (unsigned i = 0; i < 200; i++)
		assert_int_equal(pick(rnd(i)), 1);
}

/* Choice of endpoint for v4 subnet number `s` (a /24). */
static unsigned sticky_pick(unsigned s, unsigned host, uint64_t rand)
{
	char a[32];
	snprintf(a, sizeof(a), "10.%u.%u.%u", (s >> 8) & 255, s & 255, host);
	client_v4(a);
	return pick(rand);
}

static void sticky_deterministic(void **state)
{
	ep(0, "a", "", "", 50);
	ep(1, "b", "", "", 30);
	ep(2, "c", "", "", 20);
	service(3, 1, 1, STEER_F_WEIGHTED);
	svc.sticky = STEER_STICKY_SUBNET;
	for (unsigned s = 0; s < 300; s++) {
		unsigned first = sticky_pick(s, 1, 1);
		/* Other hosts in the /24 and other rand values: same answer. */
		assert_int_equal(sticky_pick(s, 200, 999), first);
		assert_int_equal(sticky_pick(s, 7, rnd(s)), first);
	}
	/* Shares still follow the weights. */
	unsigned count[3] = { 0 };
	const unsigned N = 30000;
	for (unsigned s = 0; s < N; s++)
		count[sticky_pick(s, 1, 0)]++;
	assert_true(fabs(count[0] / (double)N - 0.5) < 0.015);
	assert_true(fabs(count[1] / (double)N - 0.3) < 0.015);
	assert_true(fabs(count[2] / (double)N - 0.2) < 0.015);

	/* v6: the /56 is the unit. */
	memset(&client, 0, sizeof(client));
	client.family = 2;
	inet_pton(AF_INET6, "2001:db8:1:200::1", client.addr);
	unsigned v = pick(3);
	inet_pton(AF_INET6, "2001:db8:1:2ff:ffff::9", client.addr);
	assert_int_equal(pick(5), v);
}

/* Change one weight; measure which subnets move. */
static void sticky_minimal_movement(void **state)
{
	enum { N = 20000 };
	static uint8_t before[N];
	ep(0, "a", "", "", 50);
	ep(1, "b", "", "", 30);
	ep(2, "c", "", "", 20);
	service(3, 1, 1, STEER_F_WEIGHTED);
	svc.sticky = STEER_STICKY_SUBNET;
	for (unsigned s = 0; s < N; s++)
		before[s] = (uint8_t)sticky_pick(s, 1, 0);

	/* c: 20 -> 40.  Its share goes 0.2 -> 0.4/1.2 = 0.333: 13.3% move, all to c. */
	aeps[2].weight_set = true;
	aeps[2].weight = 40;
	unsigned moved = 0;
	for (unsigned s = 0; s < N; s++) {
		unsigned now = sticky_pick(s, 1, 0);
		if (now != before[s]) {
			moved++;
			assert_int_equal(now, 2);
		}
	}
	double frac = (double)moved / N, want = 40.0 / 120 - 0.2;
	assert_true(fabs(frac - want) < 0.01);

	/* a: 50 -> 25 instead.  Share 0.5 -> 0.333: 16.7% move, all away from a. */
	aeps[2].weight_set = false;
	aeps[0].weight_set = true;
	aeps[0].weight = 25;
	moved = 0;
	for (unsigned s = 0; s < N; s++) {
		unsigned now = sticky_pick(s, 1, 0);
		if (now != before[s]) {
			moved++;
			assert_int_equal(before[s], 0);
		}
	}
	frac = (double)moved / N;
	assert_true(fabs(frac - (0.5 - 25.0 / 75)) < 0.01);
}

/* --- priority, shed, first N ------------------------------------------- */

static void priority_tiers(void **state)
{
	ep(0, "backup", "", "", 1);
	eps[0].priority = 2;
	ep(1, "main1", "", "", 1);
	eps[1].priority = 1;
	ep(2, "main2", "", "", 1);
	eps[2].priority = 1;
	service(3, 0, 2, STEER_F_HEALTH, STEER_F_PRIORITY);
	client_v4("198.51.100.7");
	struct steer_result r = decide(0, 1);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ep[0], 1);
	assert_int_equal(r.ep[1], 2);
	hstate[1].up = false;
	r = decide(0, 1);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ep[0], 2);
	hstate[2].up = false;
	r = decide(0, 1);                /* tier 1 empty: tier 2 */
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ep[0], 0);
}

static void shed_watermarks(void **state)
{
	ep(0, "a", "", "", 1);
	ep(1, "b", "", "", 1);
	eps[0].capacity = 100;
	eps[1].capacity = 100;
	service(2, 0, 1, STEER_F_SHED);
	client_v4("198.51.100.7");
	aeps[0].load = 79;               /* below low (0.8): full share */
	aeps[1].load = 100;              /* at high (1.0): removed */
	struct steer_result r = decide(0, 1);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ep[0], 0);
	/* explain says why b is out. */
	static struct steer_trace tr;
	char why[200];
	steer_admin_prepare(&admin);
	steer_decide(&svc, &client, &health, &admin, 9000, 7, &r, &tr);
	assert_string_equal(steer_trace_dropped(&tr, &svc, 1, why, sizeof(why)),
			    "shed at load 100/100");
	aeps[0].load = 150;              /* everyone above high: keep all */
	r = decide(0, 1);
	assert_int_equal(r.n, 2);

	/* Between the watermarks the share falls linearly: load 90 is halfway,
	 * so b gets half of a's share: 1/3 of the traffic. */
	service(2, 1, 2, STEER_F_SHED, STEER_F_WEIGHTED);
	aeps[0].load = 10;
	aeps[1].load = 90;
	unsigned count[2] = { 0 };
	const unsigned N = 60000;
	for (unsigned i = 0; i < N; i++)
		count[pick(rnd(i))]++;
	assert_true(fabs(count[1] / (double)N - 1.0 / 3) < 0.01);
	aeps[1].load = 95;               /* three quarters: share 1/4 of a's */
	count[0] = count[1] = 0;
	for (unsigned i = 0; i < N; i++)
		count[pick(rnd(i))]++;
	assert_true(fabs(count[1] / (double)N - 0.25 / 1.25) < 0.01);
}

static void first_n(void **state)
{
	for (unsigned i = 0; i < 5; i++)
		ep(i, (const char *[]){ "a", "b", "c", "d", "e" }[i], "", "", 1);
	service(5, 3, 1, STEER_F_HEALTH);
	client_v4("198.51.100.7");
	struct steer_result r = decide(0, 1);
	assert_int_equal(r.n, 3);
	for (unsigned k = 0; k < 3; k++)
		assert_int_equal(r.ep[k], k);
	hstate[0].up = false;
	hstate[3].up = false;
	r = decide(0, 1);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.ep[0], 1);
	assert_int_equal(r.ep[1], 2);
	assert_int_equal(r.ep[2], 4);
	svc.answers = 0;                 /* 0 = all */
	assert_int_equal(decide(0, 1).n, 3);
}

/* Filters compose in any order: an order imposed early (nearest first)
 * survives later narrowing, and 64 endpoints (the limit) work. */
static void chain_order_kept(void **state)
{
	ep(0, "far", "EU", "DE", 1);
	coords(0, 52.5, 13.4);
	ep(1, "near", "EU", "FR", 1);
	coords(1, 48.9, 2.35);
	ep(2, "mid", "EU", "NL", 1);
	coords(2, 52.4, 4.9);
	service(3, 0, 3, STEER_F_GEO, STEER_F_HEALTH, STEER_F_PRIORITY);
	client_v4("198.51.100.7");
	client_geo("EU", "ES", 16);          /* Madrid: Paris, Amsterdam, Berlin */
	client.geo.has_coords = true;
	client.geo.lat = 40.4;
	client.geo.lon = -3.7;
	struct steer_result r = decide(0, 1);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.ep[0], 1);
	assert_int_equal(r.ep[1], 2);
	assert_int_equal(r.ep[2], 0);
	hstate[1].up = false;
	r = decide(0, 1);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ep[0], 2);
	assert_int_equal(r.ep[1], 0);

	for (unsigned i = 0; i < STEER_MAX_ENDPOINTS; i++) {
		char id[8];
		snprintf(id, sizeof(id), "e%u", i);
		ep(i, id, "", "", 1);
		eps[i].priority = i == 63 ? 0 : 1;
	}
	service(STEER_MAX_ENDPOINTS, 0, 3, STEER_F_HEALTH, STEER_F_PRIORITY, STEER_F_WEIGHTED);
	r = decide(0, 9);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ep[0], 63);
	hstate[63].up = false;
	r = decide(0, 9);
	assert_int_equal(r.n, 63);
	uint64_t seen = 0;
	for (unsigned k = 0; k < r.n; k++)
		seen |= 1ull << r.ep[k];
	assert_true(seen == (~0ull >> 1));  /* distinct, every tier-1 endpoint */
}

/* --- all down, TTL, scope ----------------------------------------------- */

static void all_down_modes(void **state)
{
	ep(0, "a", "", "", 1);
	ep(1, "b", "", "", 1);
	service(2, 0, 2, STEER_F_HEALTH, STEER_F_WEIGHTED);
	svc.ttl = 60;
	client_v4("198.51.100.7");
	hstate[0].up = false;
	aeps[1].drained = true;
	struct steer_result r = decide(0, 1);
	assert_int_equal(r.outcome, STEER_ANSWER);
	assert_true(r.fallback);
	assert_true(r.open);
	assert_int_equal(r.n, 1);        /* open: every endpoint not drained */
	assert_int_equal(r.ep[0], 0);

	svc.all_down = STEER_DOWN_EMPTY;
	r = decide(0, 1);
	assert_int_equal(r.outcome, STEER_NODATA);
	assert_true(r.fallback);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.ttl, 60);     /* the cap for the negative TTL */

	svc.all_down = STEER_DOWN_SERVFAIL;
	r = decide(0, 1);
	assert_int_equal(r.outcome, STEER_SERVFAIL);
	assert_true(r.fallback);

	aeps[1].drained = false;         /* one healthy again: no fallback */
	r = decide(0, 1);
	assert_int_equal(r.outcome, STEER_ANSWER);
	assert_false(r.fallback);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ep[0], 1);
}

static void ttl_degraded(void **state)
{
	ep(0, "a", "", "", 1);
	ep(1, "b", "", "", 1);
	service(2, 1, 1, STEER_F_HEALTH);
	svc.ttl = 300;
	svc.ttl_degraded = 20;
	client_v4("198.51.100.7");
	assert_int_equal(decide(0, 1).ttl, 300);
	hstate[1].up = false;
	struct steer_result r = decide(0, 1);
	assert_int_equal(r.ttl, 20);
	assert_true(r.degraded);
	hstate[1].up = true;
	aeps[0].drained = true;
	assert_int_equal(decide(0, 1).ttl, 20);
	aeps[0].drained = false;
	aeps[1].ramp = (struct steer_ramp){ true, 3, { 10, 50, 100 }, 1000, 5000, STEER_RAMP_OPERATOR };
	assert_int_equal(decide(5500, 1).ttl, 20);   /* ramping */
	assert_int_equal(decide(8000, 1).ttl, 300);  /* ramp over */
	svc.ttl_degraded = 0;
	hstate[1].up = false;
	assert_int_equal(decide(0, 1).ttl, 300);     /* off */
}

static uint8_t scope_of(void)
{
	return decide(0, 1).scope;
}

static void scope_values(void **state)
{
	ep(0, "a", "EU", "DE", 1);
	ep(1, "b", "NA", "US", 1);
	service(2, 1, 2, STEER_F_HEALTH, STEER_F_WEIGHTED);
	client_v4("192.0.2.1");
	client_ecs(1, "203.0.113.0", 24);
	client_geo("EU", "DE", 16);
	assert_int_equal(scope_of(), 0);   /* nothing client-dependent */

	service(2, 1, 2, STEER_F_GEO, STEER_F_WEIGHTED);
	assert_int_equal(scope_of(), 16);  /* geo network /16 */
	client.geo.prefix = 28;
	assert_int_equal(scope_of(), 24);  /* never longer than the source */
	client.geo.prefix = 16;

	svc.sticky = STEER_STICKY_SUBNET;
	assert_int_equal(scope_of(), 24);  /* geo /16 and sticky /24: /24 */
	client_ecs(1, "203.0.0.0", 16);
	assert_int_equal(scope_of(), 16);

	client.has_geo = false;            /* unknown network: exact subnet */
	assert_int_equal(scope_of(), 16);

	svc.ecs = false;                   /* ecs off: ignore it, scope 0 */
	assert_int_equal(scope_of(), 0);
	svc.ecs = true;
	client.ecs.present = false;        /* no ECS at all */
	assert_int_equal(scope_of(), 0);

	/* latency network prefix */
	service(2, 1, 1, STEER_F_LATENCY);
	uint32_t rtt[2] = { 5, 50 };
	struct steer_latency row = { 2, rtt, 20 };
	client.latency = &row;
	client_ecs(1, "203.0.113.0", 24);
	assert_int_equal(scope_of(), 20);

	/* v6 sticky /56 clamped by an ECS /48 */
	service(2, 1, 1, STEER_F_WEIGHTED);
	svc.sticky = STEER_STICKY_SUBNET;
	client.latency = NULL;
	client_ecs(2, "2001:db8:1::", 48);
	assert_int_equal(scope_of(), 48);
	client_ecs(2, "2001:db8:1:200::", 64);
	assert_int_equal(scope_of(), 56);
}

/* Latency scope: a location row answers for the client's geo network, a
 * network row for the longest row nested inside it. */
static void latency_scope(void **state)
{
	ep(0, "a", "EU", "DE", 1);
	ep(1, "b", "NA", "US", 1);
	service(2, 1, 1, STEER_F_LATENCY);
	struct steer_set set = { .svc = &svc, .n = 1 };
	struct steer_latency_table *t1 = NULL, *t2 = NULL, *t3 = NULL;
	assert_int_equal(steer_latency_set(NULL, &set, 0, 0, "10.0.0.0/8", 5, &t1), 0);
	assert_int_equal(steer_latency_set(t1, &set, 0, 1, "10.1.0.0/16", 5, &t2), 0);
	assert_int_equal(steer_latency_set(t2, &set, 0, 1, "DE", 5, &t3), 0);

	/* In the /8 but not the /16: the /8 row, valid for the client's /16 only. */
	client_v4("192.0.2.1");
	client_ecs(1, "10.2.3.0", 24);
	client.latency = steer_latency_lookup(t3, &svc, 0, &client);
	assert_non_null(client.latency);
	assert_int_equal(client.latency->rtt_ms[0], 5);
	assert_int_equal(scope_of(), 16);
	/* In the /16: that row, /16. */
	client_ecs(1, "10.1.3.0", 24);
	client.latency = steer_latency_lookup(t3, &svc, 0, &client);
	assert_int_equal(client.latency->rtt_ms[1], 5);
	assert_int_equal(scope_of(), 16);
	/* Only the /8 row: /8. */
	client_ecs(1, "10.2.3.0", 24);
	client.latency = steer_latency_lookup(t1, &svc, 0, &client);
	assert_int_equal(scope_of(), 8);

	/* A country row: the geo network's prefix, never 0 (global). */
	client_ecs(1, "203.0.113.0", 24);
	client_geo("EU", "DE", 20);
	client.latency = steer_latency_lookup(t3, &svc, 0, &client);
	assert_non_null(client.latency);
	assert_int_equal(client.latency->rtt_ms[1], 5);
	assert_int_equal(scope_of(), 20);
	client.geo.prefix = 12;
	assert_int_equal(scope_of(), 12);

	client.latency = NULL;
	steer_latency_free(t1);
	steer_latency_free(t2);
	steer_latency_free(t3);
}

/* The ECS address, not the resolver's, drives sticky and geo. */
static void ecs_address_used(void **state)
{
	ep(0, "a", "", "", 1);
	ep(1, "b", "", "", 1);
	service(2, 1, 1, STEER_F_WEIGHTED);
	svc.sticky = STEER_STICKY_SUBNET;
	unsigned differ = 0;
	for (unsigned s = 0; s < 64; s++) {
		char a[32];
		client_v4("192.0.2.1");
		snprintf(a, sizeof(a), "10.1.%u.0", s);
		client_ecs(1, a, 24);
		unsigned with_ecs = pick(1);
		client_v4(a);
		assert_int_equal(pick(2), with_ecs);   /* same subnet, same answer */
		differ += with_ecs != 0;
	}
	assert_true(differ > 10 && differ < 54);       /* and it does vary */
	uint16_t fam;
	const uint8_t *addr;
	client_v4("192.0.2.1");
	client_ecs(1, "10.9.8.0", 24);
	assert_int_equal(steer_client_addr(&svc, &client, &fam, &addr), 24);
	assert_int_equal(addr[0], 10);
	svc.ecs = false;
	assert_int_equal(steer_client_addr(&svc, &client, &fam, &addr), 32);
	assert_int_equal(addr[0], 192);
}

/* An admin snapshot nobody prepared gives the same answers (slow path). */
static void admin_unprepared(void **state)
{
	ep(0, "a", "", "", 10);
	ep(1, "b", "", "", 10);
	ep(2, "c", "", "", 10);
	service(3, 0, 2, STEER_F_HEALTH, STEER_F_WEIGHTED);
	client_v4("198.51.100.7");
	aeps[0].drained = true;
	aeps[1].weight_set = true;
	aeps[1].weight = 0;
	aeps[2].ramp = (struct steer_ramp){ true, 2, { 50, 100 }, 1000, 0, STEER_RAMP_OPERATOR };
	struct steer_result fast = decide(100, 5), slow;
	assert_int_equal(fast.n, 1);
	assert_int_equal(fast.ep[0], 2);
	assert_true(fast.degraded);
	admin.prepared = false;
	steer_decide(&svc, &client, &health, &admin, 100, 5, &slow, NULL);
	assert_int_equal(slow.n, fast.n);
	assert_int_equal(slow.ep[0], fast.ep[0]);
	assert_true(slow.degraded);
	/* No admin snapshot at all: configured weights, nothing drained. */
	steer_decide(&svc, &client, &health, NULL, 100, 5, &slow, NULL);
	assert_int_equal(slow.n, 3);
	assert_false(slow.degraded);
}

/* --- ramp ---------------------------------------------------------------- */

static void ramp_weight(void **state)
{
	const uint8_t steps[] = { 5, 25, 50, 100 };
	assert_int_equal(steer_ramp_weight(steps, 4, 60000, 1000, 0, 200), 10);
	assert_int_equal(steer_ramp_weight(steps, 4, 60000, 1000, 1000, 200), 10);
	assert_int_equal(steer_ramp_weight(steps, 4, 60000, 1000, 60999, 200), 10);
	assert_int_equal(steer_ramp_weight(steps, 4, 60000, 1000, 61000, 200), 50);
	assert_int_equal(steer_ramp_weight(steps, 4, 60000, 1000, 121000, 200), 100);
	assert_int_equal(steer_ramp_weight(steps, 4, 60000, 1000, 181000, 200), 200);
	assert_int_equal(steer_ramp_weight(steps, 4, 60000, 1000, 10000000, 200), 200);
	assert_int_equal(steer_ramp_weight(steps, 0, 60000, 1000, 0, 200), 200);

	struct steer_ramp r = { true, 4, { 5, 25, 50, 100 }, 60000, 1000, STEER_RAMP_OPERATOR };
	assert_true(steer_ramp_running(&r, 1000));
	assert_true(steer_ramp_running(&r, 240999));
	assert_false(steer_ramp_running(&r, 241000));
	r.active = false;
	assert_false(steer_ramp_running(&r, 1000));

	/* In the chain: a ramping endpoint gets its step's share of the
	 * clients that would choose it, here 25% of its 50%. */
	ep(0, "old", "", "", 100);
	ep(1, "back", "", "", 100);
	service(2, 1, 1, STEER_F_WEIGHTED);
	aeps[1].ramp = (struct steer_ramp){ true, 2, { 25, 100 }, 1000, 0, STEER_RAMP_OPERATOR };
	unsigned back = 0;
	const unsigned N = 40000;
	for (unsigned i = 0; i < N; i++) {
		char a[32];
		snprintf(a, sizeof(a), "10.%u.%u.1", (i >> 8) & 255, i & 255);
		client_v4(a);
		back += decide(500, rnd(i)).ep[0] == 1;
	}
	assert_true(fabs(back / (double)N - 0.25 * 0.5) < 0.01);
}


/* --- standby, canaries, ramps under geo, all-down open -------------------- */

/* Share of endpoint `e` over `n` client subnets (ECS /24s), one query each. */
static double share_of(unsigned e, unsigned n, uint64_t now)
{
	unsigned hits = 0;
	for (unsigned s = 0; s < n; s++) {
		char a[32];
		snprintf(a, sizeof(a), "10.%u.%u.0", (s >> 8) & 255, s & 255);
		client_ecs(1, a, 24);
		struct steer_result r = decide(now, rnd(s));
		hits += r.outcome == STEER_ANSWER && r.n && r.ep[0] == e;
	}
	return hits / (double)n;
}

static bool trace_says(const char *what)
{
	static struct steer_trace tr;
	static char buf[8192];
	struct steer_result r;
	steer_admin_prepare(&admin);
	steer_decide(&svc, &client, &health, &admin, 0, 1, &r, &tr);
	return steer_trace_format(&tr, &svc, buf, sizeof(buf)) > 0 && strstr(buf, what);
}

/* A canary at weight 1 of 100 with `standby: never` keeps its 1% when its
 * peers fail, and never answers alone: the service goes all-down. */
static void canary_standby_never(void **state)
{
	ep(0, "main-a", "", "", 50);
	ep(1, "main-b", "", "", 49);
	ep(2, "canary", "", "", 1);
	eps[2].standby = STEER_STANDBY_NEVER;
	service(3, 1, 2, STEER_F_HEALTH, STEER_F_WEIGHTED);
	svc.all_down = STEER_DOWN_EMPTY;
	client_v4("192.0.2.1");
	const unsigned N = 40000;
	double sh = share_of(2, N, 0);
	assert_true(fabs(sh - 0.01) < 0.003);
	hstate[1].up = false;            /* half the pool down: still 1%, not 2% */
	sh = share_of(2, N, 0);
	assert_true(fabs(sh - 0.01) < 0.003);
	assert_true(trace_says("standby never: canary held to 1/100 of the pool"));
	aeps[1].drained = true;          /* drained counts as gone too */
	hstate[1].up = true;
	assert_true(fabs(share_of(2, N, 0) - 0.01) < 0.003);
	aeps[0].drained = true;          /* everything else gone: all-down, not 100% */
	struct steer_result r = decide(0, 1);
	assert_int_equal(r.outcome, STEER_NODATA);
	assert_true(r.fallback);
	assert_true(trace_says("only standby never left"));
	assert_int_equal(share_of(2, 1000, 0), 0);
	svc.all_down = STEER_DOWN_OPEN;  /* open leaves the canary out too */
	r = decide(0, 1);
	assert_int_equal(r.outcome, STEER_NODATA);
	assert_true(r.all_drained);
	aeps[0].drained = false;
	hstate[0].up = false;            /* down, not drained: open answers it */
	r = decide(0, 1);
	assert_true(r.open);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ep[0], 0);
	hstate[0].up = true;

	/* Same with the canary in its own country under geo: DE users do
	 * not all land on it when main-de fails. */
	ep(0, "main-de", "EU", "DE", 99);
	ep(1, "us", "NA", "US", 99);
	ep(2, "canary", "EU", "DE", 1);
	eps[2].standby = STEER_STANDBY_NEVER;
	service(3, 1, 3, STEER_F_HEALTH, STEER_F_GEO, STEER_F_WEIGHTED);
	client_v4("192.0.2.1");
	client_geo("EU", "DE", 8);
	assert_true(fabs(share_of(2, N, 0) - 0.01) < 0.003);
	hstate[0].up = false;
	assert_true(share_of(2, N, 0) < 0.013);

	/* Weight 0 with standby: never answers never, even alone. */
	ep(0, "main", "", "", 10);
	ep(1, "dark", "", "", 0);
	eps[1].standby = STEER_STANDBY_NEVER;
	service(2, 0, 2, STEER_F_HEALTH, STEER_F_WEIGHTED);
	client_v4("192.0.2.1");
	r = decide(0, 1);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ep[0], 0);
	hstate[0].up = false;
	r = decide(0, 1);
	assert_true(r.fallback);
	assert_true(r.open);             /* all-down open: main, never dark */
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ep[0], 0);
}

/* Weight 0 is a standby: used only when nothing with weight > 0 is up. */
static void standby_weight_zero(void **state)
{
	ep(0, "a", "", "", 10);
	ep(1, "b", "", "", 10);
	ep(2, "spare", "", "", 0);
	service(3, 0, 2, STEER_F_HEALTH, STEER_F_WEIGHTED);
	client_v4("192.0.2.1");
	for (unsigned i = 0; i < 200; i++) {
		struct steer_result r = decide(0, rnd(i));
		for (unsigned k = 0; k < r.n; k++)
			assert_int_not_equal(r.ep[k], 2);
	}
	assert_true(trace_says("standby: 1 with weight 0 held back"));
	hstate[0].up = false;
	aeps[1].drained = true;
	struct steer_result r = decide(0, 1);
	assert_int_equal(r.outcome, STEER_ANSWER);
	assert_false(r.fallback);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ep[0], 2);
	assert_true(trace_says("weight-0 standby used"));
	/* An operator's weight 0 makes a standby of its own. */
	hstate[0].up = true;
	aeps[1].drained = false;
	aeps[0].weight_set = true;
	aeps[0].weight = 0;
	for (unsigned i = 0; i < 100; i++)
		assert_int_equal(pick(rnd(i)), 1);
	hstate[1].up = false;
	r = decide(0, 1);
	assert_int_equal(r.n, 2);        /* a and spare, both standbys now */
}

/* Subnet s as ECS /24 from a DE resolver; endpoint chosen. */
static unsigned geo_pick(unsigned s, uint64_t now)
{
	char a[32];
	snprintf(a, sizeof(a), "10.%u.%u.0", (s >> 8) & 255, s & 255);
	client_v4("192.0.2.1");
	client_ecs(1, a, 24);
	client_geo("EU", "DE", 8);
	struct steer_result r = decide(now, rnd(s));
	assert_int_equal(r.outcome, STEER_ANSWER);
	assert_int_equal(r.n, 1);
	return r.ep[0];
}

/* A ramp under geo admits p% of the region's clients, sticky per subnet:
 * the subnets admitted at 10% are still admitted at 25%. */
static void ramp_under_geo(void **state)
{
	enum { N = 20000 };
	static uint8_t at10[N];
	ep(0, "eu-west", "EU", "DE", 20);
	ep(1, "us-east", "NA", "US", 20);
	ep(2, "us-west", "NA", "US", 20);
	service(3, 1, 3, STEER_F_HEALTH, STEER_F_GEO, STEER_F_WEIGHTED);
	/* Steps 10%, 25%, 100%, a minute each, from t = 0. */
	aeps[0].ramp = (struct steer_ramp){ true, 3, { 10, 25, 100 }, 60000, 0, STEER_RAMP_OPERATOR };
	unsigned eu = 0;
	for (unsigned s = 0; s < N; s++) {
		at10[s] = (uint8_t)geo_pick(s, 1000);
		eu += at10[s] == 0;
	}
	assert_true(fabs(eu / (double)N - 0.10) < 0.01);
	/* The held-back ones went to their next choice, not nowhere. */
	unsigned us = 0;
	for (unsigned s = 0; s < N; s++)
		us += at10[s] != 0;
	assert_int_equal(us, N - eu);
	/* 25%: every subnet in at 10% is still in; about 15% more join. */
	unsigned eu25 = 0;
	for (unsigned s = 0; s < N; s++) {
		unsigned now = geo_pick(s, 61000);
		if (at10[s] == 0)
			assert_int_equal(now, 0);
		eu25 += now == 0;
	}
	assert_true(fabs(eu25 / (double)N - 0.25) < 0.01);
	/* The decision depends on the subnet: the scope says so. */
	assert_int_equal(decide(61000, 1).scope, 24);
	assert_true(trace_says("eu-west 10%"));
	/* With no next choice up, a ramping endpoint beats no answer. */
	hstate[1].up = hstate[2].up = false;
	unsigned held = 0;
	for (unsigned s = 0; s < 200; s++) {
		assert_int_equal(geo_pick(s, 1000), 0);
		if (at10[s] != 0)
			held = s;
	}
	geo_pick(held, 1000);            /* a subnet held back at 10%, now let in */
	assert_true(trace_says("nothing else up, admitted"));
	hstate[1].up = hstate[2].up = true;
	/* Ramp over: everyone in DE. */
	for (unsigned s = 0; s < 200; s++)
		assert_int_equal(geo_pick(s, 200000), 0);
}

/* A step is a share of the endpoint's traffic: 1% of weight 20 is not 0. */
static void ramp_small_step(void **state)
{
	const uint8_t steps[] = { 1, 100 };
	assert_int_equal(steer_ramp_weight(steps, 2, 1000, 0, 0, 20), 1);
	assert_int_equal(steer_ramp_weight(steps, 2, 1000, 0, 0, 0), 0);
	ep(0, "back", "", "", 20);
	ep(1, "other", "", "", 20);
	service(2, 1, 2, STEER_F_HEALTH, STEER_F_WEIGHTED);
	aeps[0].ramp = (struct steer_ramp){ true, 2, { 1, 100 }, 1000, 0, STEER_RAMP_OPERATOR };
	client_v4("192.0.2.1");
	double sh = share_of(0, 40000, 500);
	assert_true(sh > 0.003 && sh < 0.008);   /* 1% of its 50% */
}

/* all-down open: every endpoint not drained, `answers` ignored; all
 * drained answers as empty and says so. */
static void all_down_open(void **state)
{
	for (unsigned i = 0; i < 5; i++) {
		char id[8];
		snprintf(id, sizeof(id), "e%u", i);
		ep(i, id, "EU", "DE", 1);
	}
	service(5, 1, 3, STEER_F_HEALTH, STEER_F_GEO, STEER_F_WEIGHTED);
	svc.ttl = 20;
	client_v4("192.0.2.1");
	for (unsigned i = 0; i < 5; i++)
		hstate[i].up = false;
	aeps[3].drained = true;
	struct steer_result r = decide(0, 1);
	assert_int_equal(r.outcome, STEER_ANSWER);
	assert_true(r.fallback);
	assert_true(r.open);
	assert_false(r.all_drained);
	assert_int_equal(r.n, 4);
	uint64_t seen = 0;
	for (unsigned k = 0; k < r.n; k++)
		seen |= 1ull << r.ep[k];
	assert_int_equal(seen, 0x17);            /* e0, e1, e2, e4 */
	assert_int_equal(steer_addr_count(&svc, &r, DNS_A), 4);
	assert_true(trace_says("answers ignored"));

	for (unsigned i = 0; i < 5; i++)
		aeps[i].drained = true;
	r = decide(0, 1);
	assert_int_equal(r.outcome, STEER_NODATA);
	assert_true(r.fallback);
	assert_true(r.all_drained);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.ttl, 20);
	assert_true(trace_says("all drained"));
}

/* --- answers ------------------------------------------------------------- */

static void answer_rdata(void **state)
{
	ep(0, "a", "", "", 1);
	ep(1, "b", "", "", 1);
	ep(2, "c", "", "", 1);
	eps[0].n_v4 = 2;
	eps[0].v4[1][3] = 99;
	eps[1].n_v6 = 0;                 /* v4 only */
	service(3, 2, 1, STEER_F_HEALTH);
	client_v4("198.51.100.7");
	struct steer_result r = decide(0, 1);
	assert_int_equal(r.n, 2);
	assert_int_equal(steer_addr_count(&svc, &r, DNS_A), 3);
	assert_int_equal(steer_addr_count(&svc, &r, DNS_AAAA), 1);
	assert_int_equal(steer_addr_count(&svc, &r, DNS_MX), 0);
	struct steer_addr_iter it;
	uint16_t len;
	steer_addr_begin(&it, &svc, &r, DNS_A);
	const uint8_t *a = steer_addr_next(&it, &len);
	assert_int_equal(len, 4);
	assert_int_equal(a[3], 10);
	assert_int_equal(steer_addr_next(&it, &len)[3], 99);
	assert_int_equal(steer_addr_next(&it, &len)[3], 11);
	assert_null(steer_addr_next(&it, &len));

	hstate[0].up = false;            /* b alone: no AAAA -> NODATA */
	svc.answers = 1;
	r = decide(0, 1);
	assert_int_equal(r.ep[0], 1);
	assert_int_equal(steer_addr_count(&svc, &r, DNS_AAAA), 0);
	uint8_t clen;
	assert_null(steer_result_cname(&svc, &r, &clen));

	eps[1].cname_len = (uint8_t)dname_from_str("b.cdn.example.net.", NULL, eps[1].cname);
	assert_non_null(steer_result_cname(&svc, &r, &clen));
	assert_int_equal(clen, eps[1].cname_len);
	assert_int_equal(steer_addr_count(&svc, &r, DNS_A), 0);
}

/* --- trace ---------------------------------------------------------------- */

static void time_text(void **state)
{
	char buf[80];
	/* 2026-12-04T17:03:41Z is 1796403821 s after the epoch. */
	uint64_t at = 1796403821000ull;
	assert_string_equal(steer_time_text(at, at + 12500, buf, sizeof(buf)),
			    "2026-12-04T17:03:41Z (12 s ago)");
	assert_string_equal(steer_time_text(at, at + 600000, buf, sizeof(buf)),
			    "2026-12-04T17:03:41Z (10 min ago)");
	assert_string_equal(steer_time_text(at, at + 3 * 3600000ull, buf, sizeof(buf)),
			    "2026-12-04T17:03:41Z (3 h ago)");
	assert_string_equal(steer_time_text(at, at + 5 * 86400000ull, buf, sizeof(buf)),
			    "2026-12-04T17:03:41Z (5 days ago)");
	assert_string_equal(steer_time_text(at, at - 1000, buf, sizeof(buf)),
			    "2026-12-04T17:03:41Z (in the future)");
	assert_string_equal(steer_time_text(0, at, buf, sizeof(buf)), "never");
}

static void trace_output(void **state)
{
	ep(0, "us-east", "NA", "US", 80);
	ep(1, "eu-west", "EU", "DE", 20);
	ep(2, "eu-\"x\"", "EU", "FR", 20);
	service(3, 1, 3, STEER_F_HEALTH, STEER_F_GEO, STEER_F_WEIGHTED);
	client_v4("192.0.2.1");
	client_ecs(1, "203.0.113.0", 24);
	client_geo("EU", "DE", 16);
	hstate[0].up = false;
	hstate[0].since_ms = 4242;
	static struct steer_trace tr;
	struct steer_result r, r2;
	steer_admin_prepare(&admin);
	steer_decide(&svc, &client, &health, &admin, 9000, 7, &r, &tr);
	steer_decide(&svc, &client, &health, &admin, 9000, 7, &r2, NULL);
	assert_memory_equal(r.ep, r2.ep, r.n);  /* tracing changes nothing */
	assert_int_equal(r.scope, r2.scope);
	assert_int_equal(tr.n_steps, 4);
	assert_int_equal(tr.step[0].filter, STEER_F_HEALTH);
	assert_int_equal(tr.step[0].n_in, 3);
	assert_int_equal(tr.step[0].n_out, 2);
	assert_int_equal(tr.step[1].n_out, 1);
	assert_int_equal(tr.step[1].out[0], 1);
	assert_int_equal(tr.step[3].filter, STEER_F_FIRST_N);

	char buf[8192];
	int n = steer_trace_format(&tr, &svc, buf, sizeof(buf));
	assert_true(n > 0);
	/* Times read as ISO 8601 UTC and an age (defect 11). */
	assert_non_null(strstr(buf, "endpoint us-east: DOWN since 1970-01-01T00:00:04Z (4 s ago)"));
	/* Why each endpoint left out was dropped. */
	assert_non_null(strstr(buf, "  dropped: down\n"));
	assert_non_null(strstr(buf, "  dropped: not chosen by geo: same country DE"));
	char why[200];
	assert_string_equal(steer_trace_dropped(&tr, &svc, 0, why, sizeof(why)), "down");
	assert_null(steer_trace_dropped(&tr, &svc, 1, why, sizeof(why)));
	assert_non_null(strstr(buf, "health: [us-east eu-west eu-\"x\"] -> [eu-west eu-\"x\"]"));
	assert_non_null(strstr(buf, "geo: [eu-west eu-\"x\"] -> [eu-west]: same country DE"));
	assert_non_null(strstr(buf, "result ANSWER [eu-west] ttl 30 scope 16 (geo network /16)"));
	assert_int_equal(steer_trace_format(&tr, &svc, buf, 40), VANE_ESPACE);

	n = steer_trace_json(&tr, &svc, buf, sizeof(buf));
	assert_true(n > 0);
	json_error_t err;
	json_t *j = json_loads(buf, 0, &err);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "service")),
			    "api.example.com.");
	json_t *res = json_object_get(j, "result");
	assert_int_equal(json_integer_value(json_object_get(res, "scope")), 16);
	assert_string_equal(json_string_value(json_array_get(json_object_get(res, "endpoints"), 0)),
			    "eu-west");
	json_t *steps = json_object_get(j, "steps");
	assert_int_equal(json_array_size(steps), 4);
	json_t *in0 = json_object_get(json_array_get(steps, 0), "in");
	assert_string_equal(json_string_value(json_array_get(in0, 2)), "eu-\"x\"");
	json_t *e0 = json_array_get(json_object_get(j, "endpoints"), 0);
	assert_true(json_is_false(json_object_get(e0, "up")));
	assert_int_equal(json_integer_value(json_object_get(e0, "weight")), 80);
	json_decref(j);
}

/* --- config and numerics ------------------------------------------------ */

static void prepare_rejects(void **state)
{
	ep(0, "a", "", "", 1);
	service(1, 1, 1, STEER_F_HEALTH);
	svc.policy[1] = STEER_F_HEALTH;
	svc.n_policy = 2;
	assert_int_equal(steer_service_prepare(&svc), VANE_EINVAL);
	svc.n_policy = 1;
	svc.shed_low = 0.9;
	svc.shed_high = 0.5;
	assert_int_equal(steer_service_prepare(&svc), VANE_EINVAL);
	svc.shed_high = 1.0;
	svc.n_ep = STEER_MAX_ENDPOINTS + 1;
	assert_int_equal(steer_service_prepare(&svc), VANE_ERANGE);
	svc.n_ep = 1;
	eps[0].weight = STEER_WEIGHT_MAX + 1;
	assert_int_equal(steer_service_prepare(&svc), VANE_ERANGE);

	assert_int_equal(steer_filter_from_name("geo"), STEER_F_GEO);
	assert_int_equal(steer_filter_from_name("first-n"), VANE_EINVAL);
	assert_int_equal(steer_all_down_from_name("servfail"), STEER_DOWN_SERVFAIL);
	assert_int_equal(steer_all_down_from_name("nope"), VANE_EINVAL);
}

static void neglog2_accuracy(void **state)
{
	for (uint64_t i = 1; i < 200000; i++) {
		uint64_t x = steer_mix64(i) | 1;
		double u = (double)x / 18446744073709551616.0;
		double want = -ln_ref(u) / 0.69314718055994530942;
		double got = (double)steer_neglog2_q24(x) / (1 << 24);
		assert_true(fabs(got - want) < 1e-5);
	}
	/* sin/cos: exact values every 30 and 45 degrees, any turn, and
	 * s^2 + c^2 = 1 in between. */
	static const struct { int deg; double s, c; } known[] = {
		{ 0, 0, 1 }, { 30, 0.5, 0.86602540378443865 },
		{ 45, 0.70710678118654752, 0.70710678118654752 },
		{ 60, 0.86602540378443865, 0.5 }, { 90, 1, 0 },
		{ 120, 0.86602540378443865, -0.5 }, { 180, 0, -1 },
		{ 210, -0.5, -0.86602540378443865 }, { 270, -1, 0 },
		{ -45, -0.70710678118654752, 0.70710678118654752 },
	};
	double sv, cv;
	for (unsigned k = 0; k < sizeof(known) / sizeof(known[0]); k++)
		for (int turn = -2; turn <= 2; turn++) {
			steer_sincos_deg(known[k].deg + 360 * turn, &sv, &cv);
			assert_true(fabs(sv - known[k].s) < 1e-9);
			assert_true(fabs(cv - known[k].c) < 1e-9);
		}
	for (double d = -400; d < 400; d += 0.37) {
		steer_sincos_deg(d, &sv, &cv);
		assert_true(fabs(sv * sv + cv * cv - 1) < 1e-9);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(geo_country_continent_fallback),
		cmocka_unit_test(geo_nearest_first),
		cmocka_unit_test(geo_nearest_matches_oracle),
		cmocka_unit_test(latency_margin),
		cmocka_unit_test(weighted_distribution),
		cmocka_unit_test(weighted_order_distinct),
		cmocka_unit_test(weighted_admin_override),
		cmocka_unit_test(sticky_deterministic),
		cmocka_unit_test(sticky_minimal_movement),
		cmocka_unit_test(priority_tiers),
		cmocka_unit_test(shed_watermarks),
		cmocka_unit_test(first_n),
		cmocka_unit_test(chain_order_kept),
		cmocka_unit_test(all_down_modes),
		cmocka_unit_test(ttl_degraded),
		cmocka_unit_test(scope_values),
		cmocka_unit_test(ecs_address_used),
		cmocka_unit_test(admin_unprepared),
		cmocka_unit_test(latency_scope),
		cmocka_unit_test(ramp_weight),
		cmocka_unit_test(canary_standby_never),
		cmocka_unit_test(standby_weight_zero),
		cmocka_unit_test(ramp_under_geo),
		cmocka_unit_test(ramp_small_step),
		cmocka_unit_test(all_down_open),
		cmocka_unit_test(answer_rdata),
		cmocka_unit_test(time_text),
		cmocka_unit_test(trace_output),
		cmocka_unit_test(prepare_rejects),
		cmocka_unit_test(neglog2_accuracy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
