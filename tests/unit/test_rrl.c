/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for serve/rrl over a fake clock: bucket refill, slip every Nth,
 * exempt prefixes and cookies, /24 and /56 aggregation, one bucket per
 * class, the once-a-minute log flag, a full table, the slip answer's shape,
 * and the amplification bound of a spoofed flood from one prefix.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "lib/wire.h"
#include "serve/protect.h"
#include "serve/rrl.h"

static struct sockaddr_storage sa_of(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &s4->sin_addr), 1);
	}
	return ss;
}

static struct auth_result result(uint8_t rcode, uint8_t kind)
{
	struct auth_result res;
	memset(&res, 0, sizeof(res));
	res.rcode = rcode;
	res.kind = kind;
	res.service = -1;
	return res;
}

static struct rrl *make(unsigned rate, unsigned slip, unsigned table,
			const struct rrl_prefix *exempt, unsigned nexempt)
{
	struct rrl_conf c = {
		.rate = rate, .slip = slip, .v4_prefix = 24, .v6_prefix = 56,
		.table_size = table, .exempt = exempt, .nexempt = nexempt, .seed = 42,
	};
	struct rrl *r;
	assert_int_equal(rrl_new(&c, &r), 0);
	assert_non_null(r);
	return r;
}

static enum rrl_action check(struct rrl *r, const char *ip, const struct auth_result *res,
			     uint64_t now, struct rrl_stats *st)
{
	struct sockaddr_storage ss = sa_of(ip);
	bool log_it;
	return rrl_check(r, (struct sockaddr *)&ss, res, now, st, &log_it);
}

/* How many of `n` answers at `now` pass. */
static unsigned passes(struct rrl *r, const char *ip, const struct auth_result *res,
		       uint64_t now, unsigned n)
{
	unsigned ok = 0;
	for (unsigned i = 0; i < n; i++)
		ok += check(r, ip, res, now, NULL) == RRL_PASS;
	return ok;
}

static const uint64_t T0 = 1700000000000ull;

static void refill(void **state)
{
	struct rrl *r = make(10, 0, 1024, NULL, 0);
	struct auth_result pos = result(DNS_NOERROR, AUTH_ANSWER);
	/* A burst of one second's worth, then nothing. */
	assert_int_equal(passes(r, "192.0.2.1", &pos, T0, 15), 10);
	/* The 5 limited count as debt (100 ms each): 500 ms later the bucket
	 * is still empty, and that query adds to the debt too... */
	assert_int_equal(passes(r, "192.0.2.1", &pos, T0 + 500, 1), 0);
	/* ...so one answer is due at 700 ms, not at 100 ms. */
	assert_int_equal(passes(r, "192.0.2.1", &pos, T0 + 650, 1), 0);
	assert_int_equal(passes(r, "192.0.2.1", &pos, T0 + 800, 5), 1);
	/* A flood above the rate gets nothing: debt stops at one second past
	 * an empty bucket, and every query keeps it there. */
	for (uint64_t ms = 1000; ms < 5000; ms += 10)
		assert_int_equal(passes(r, "192.0.2.1", &pos, T0 + ms, 1), 0);
	/* The debt is a second past empty: a second after the flood the
	 * bucket is still empty; two seconds refill it. */
	assert_int_equal(passes(r, "192.0.2.1", &pos, T0 + 6000, 1), 0);
	assert_int_equal(passes(r, "192.0.2.1", &pos, T0 + 9000, 15), 10);
	/* A long pause refills to the burst size, not beyond. */
	assert_int_equal(passes(r, "192.0.2.1", &pos, T0 + 60000, 50), 10);
	/* The clock read by another worker may lag: no refill, no harm. */
	assert_int_equal(passes(r, "192.0.2.1", &pos, T0 + 59990, 5), 0);
	rrl_free(r);
}

static void slip_every_nth(void **state)
{
	struct auth_result pos = result(DNS_NOERROR, AUTH_ANSWER);
	struct rrl_stats st;
	static const struct { unsigned slip; const char *want; } cases[] = {
		{ 0, "DDDDDD" }, { 1, "SSSSSS" }, { 2, "DSDSDS" }, { 3, "DDSDDS" },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct rrl *r = make(1, cases[c].slip, 1024, NULL, 0);
		memset(&st, 0, sizeof(st));
		assert_int_equal(check(r, "198.51.100.7", &pos, T0, &st), RRL_PASS);
		char got[7] = { 0 };
		for (int i = 0; i < 6; i++) {
			enum rrl_action a = check(r, "198.51.100.7", &pos, T0, &st);
			got[i] = a == RRL_SLIP ? 'S' : a == RRL_DROP ? 'D' : 'P';
		}
		assert_string_equal(got, cases[c].want);
		assert_int_equal(st.limited[RRL_POSITIVE], 6);
		assert_int_equal(st.slipped[RRL_POSITIVE] + st.dropped[RRL_POSITIVE], 6);
		rrl_free(r);
	}
}

static void exempt(void **state)
{
	struct rrl_prefix ex[2];
	assert_int_equal(rrl_prefix_parse("192.0.2.0/24", &ex[0]), 0);
	assert_int_equal(rrl_prefix_parse("2001:db8:1::/48", &ex[1]), 0);
	struct rrl *r = make(1, 2, 1024, ex, 2);
	struct auth_result pos = result(DNS_NOERROR, AUTH_ANSWER);
	struct rrl_stats st = { 0 };
	for (int i = 0; i < 100; i++) {
		assert_int_equal(check(r, "192.0.2.77", &pos, T0, &st), RRL_PASS);
		assert_int_equal(check(r, "2001:db8:1:ffff::1", &pos, T0, &st), RRL_PASS);
		assert_int_equal(check(r, "::ffff:192.0.2.9", &pos, T0, &st), RRL_PASS);
	}
	assert_int_equal(st.exempt, 300);
	assert_int_equal(passes(r, "192.0.3.1", &pos, T0, 5), 1);
	assert_int_equal(passes(r, "2001:db8:2::1", &pos, T0, 5), 1);

	/* A valid server cookie proves the source address (RFC 7873). */
	struct auth_result ck = pos;
	ck.cookie = COOKIE_VALID;
	assert_int_equal(passes(r, "203.0.113.5", &ck, T0, 50), 50);
	ck.cookie = COOKIE_BAD;
	assert_int_equal(passes(r, "203.0.113.5", &ck, T0, 50), 1);

	/* Prefix text: masked, a bare address is a host prefix, bad ones fail. */
	struct rrl_prefix p;
	assert_int_equal(rrl_prefix_parse("10.1.2.3/8", &p), 0);
	assert_int_equal(p.len, 8);
	assert_int_equal(p.addr[1], 0);
	assert_int_equal(rrl_prefix_parse("10.1.2.3", &p), 0);
	assert_int_equal(p.len, 32);
	assert_int_equal(rrl_prefix_parse("10.1.2.3/33", &p), VANE_EINVAL);
	assert_int_equal(rrl_prefix_parse("10.1.2.3/", &p), VANE_EINVAL);
	assert_int_equal(rrl_prefix_parse("nonsense/8", &p), VANE_EINVAL);
	rrl_free(r);
}

static void aggregation(void **state)
{
	struct rrl *r = make(5, 0, 1024, NULL, 0);
	struct auth_result pos = result(DNS_NOERROR, AUTH_ANSWER);
	/* One /24 shares one bucket, whatever the host part. */
	assert_int_equal(passes(r, "192.0.2.1", &pos, T0, 3), 3);
	assert_int_equal(passes(r, "192.0.2.254", &pos, T0, 3), 2);
	assert_int_equal(passes(r, "::ffff:192.0.2.10", &pos, T0, 3), 0);
	assert_int_equal(passes(r, "192.0.3.1", &pos, T0, 3), 3);
	/* IPv6 /56: 2001:db8:0:00xx::/56 is one client. */
	assert_int_equal(passes(r, "2001:db8:0:1::1", &pos, T0, 3), 3);
	assert_int_equal(passes(r, "2001:db8:0:ff:1:2:3:4", &pos, T0, 3), 2);
	assert_int_equal(passes(r, "2001:db8:0:100::1", &pos, T0, 3), 3);

	char buf[64];
	struct sockaddr_storage ss = sa_of("2001:db8:0:ff:1:2:3:4");
	rrl_prefix_text(r, (struct sockaddr *)&ss, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::/56");
	ss = sa_of("192.0.2.254");
	rrl_prefix_text(r, (struct sockaddr *)&ss, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.0/24");
	rrl_free(r);
}

static void classes(void **state)
{
	struct rrl *r = make(2, 0, 1024, NULL, 0);
	struct auth_result res[RRL_NCLASS];
	res[RRL_POSITIVE] = result(DNS_NOERROR, AUTH_ANSWER);
	res[RRL_NODATA] = result(DNS_NOERROR, AUTH_NODATA);
	res[RRL_NXDOMAIN] = result(DNS_NXDOMAIN, AUTH_NXDOMAIN);
	res[RRL_REFERRAL] = result(DNS_NOERROR, AUTH_REFERRAL);
	res[RRL_ERROR] = result(DNS_REFUSED, AUTH_ERROR);
	res[RRL_WILDCARD] = result(DNS_NOERROR, AUTH_ANSWER);
	res[RRL_WILDCARD].wildcard = true;
	for (int c = 0; c < RRL_NCLASS; c++)
		assert_int_equal(rrl_classify(&res[c]), c);
	struct auth_result sf = result(DNS_SERVFAIL, AUTH_ERROR);
	assert_int_equal(rrl_classify(&sf), RRL_ERROR);
	struct auth_result bc = result(DNS_BADCOOKIE, AUTH_ERROR);
	assert_int_equal(rrl_classify(&bc), RRL_ERROR);

	/* Exhausting one class leaves the next ones whole. */
	for (int c = 0; c < RRL_NCLASS; c++)
		assert_int_equal(passes(r, "192.0.2.1", &res[c], T0, 5), 2);
	rrl_free(r);
}

static void log_once_a_minute(void **state)
{
	struct rrl *r = make(1, 0, 1024, NULL, 0);
	struct auth_result pos = result(DNS_NOERROR, AUTH_ANSWER);
	struct auth_result nx = result(DNS_NXDOMAIN, AUTH_NXDOMAIN);
	struct sockaddr_storage a = sa_of("192.0.2.1"), b = sa_of("192.0.2.99");
	struct sockaddr_storage other = sa_of("198.51.100.1");
	bool log_it;
	unsigned logs = 0;

	/* Passed answers never ask for a log line. */
	assert_int_equal(rrl_check(r, (struct sockaddr *)&a, &pos, T0, NULL, &log_it), RRL_PASS);
	assert_false(log_it);
	/* Limited for two minutes, 10 answers a second, two classes, two
	 * hosts of the prefix: one line per minute. */
	for (uint64_t t = T0; t < T0 + 120000; t += 100) {
		rrl_check(r, (struct sockaddr *)&a, &pos, t, NULL, &log_it);
		logs += log_it;
		rrl_check(r, (struct sockaddr *)&b, &nx, t, NULL, &log_it);
		logs += log_it;
	}
	assert_int_equal(logs, 2);
	/* Another prefix has its own minute. */
	rrl_check(r, (struct sockaddr *)&other, &pos, T0 + 5, NULL, &log_it);
	rrl_check(r, (struct sockaddr *)&other, &pos, T0 + 6, NULL, &log_it);
	assert_true(log_it);
	rrl_free(r);
}

static void table_full(void **state)
{
	/* One set of four buckets: a fifth busy prefix recycles the least
	 * recently used bucket and says so; memory never grows. */
	struct rrl *r = make(1, 0, 4, NULL, 0);
	struct auth_result pos = result(DNS_NOERROR, AUTH_ANSWER);
	struct rrl_stats st = { 0 };
	char ip[32];
	for (int i = 0; i < 4; i++) {
		snprintf(ip, sizeof(ip), "10.0.%d.1", i);
		assert_int_equal(check(r, ip, &pos, T0 + (uint64_t)i, &st), RRL_PASS);
		assert_int_equal(check(r, ip, &pos, T0 + (uint64_t)i, &st), RRL_DROP);
	}
	assert_int_equal(st.evicted, 0);
	assert_int_equal(check(r, "10.0.9.1", &pos, T0 + 10, &st), RRL_PASS);
	assert_int_equal(st.evicted, 1);
	/* The oldest (10.0.0.0/24) lost its state and starts full again;
	 * the others are still limited. */
	assert_int_equal(check(r, "10.0.3.1", &pos, T0 + 10, &st), RRL_DROP);
	assert_int_equal(check(r, "10.0.0.1", &pos, T0 + 10, &st), RRL_PASS);
	/* Idle buckets are recycled without counting as evictions. */
	memset(&st, 0, sizeof(st));
	assert_int_equal(check(r, "10.0.20.1", &pos, T0 + 5000, &st), RRL_PASS);
	assert_int_equal(st.evicted, 0);
	rrl_free(r);
}

static void off_and_bad_conf(void **state)
{
	struct rrl_conf c = { .rate = 0, .v4_prefix = 24, .v6_prefix = 56, .table_size = 16 };
	struct rrl *r = (struct rrl *)1;
	assert_int_equal(rrl_new(&c, &r), 0);
	assert_null(r);
	struct auth_result pos = result(DNS_NOERROR, AUTH_ANSWER);
	assert_int_equal(passes(NULL, "192.0.2.1", &pos, T0, 1000), 1000);
	c.rate = 10;
	c.v4_prefix = 33;
	assert_int_equal(rrl_new(&c, &r), VANE_EINVAL);
	c.v4_prefix = 24;
	c.table_size = 0;
	assert_int_equal(rrl_new(&c, &r), VANE_EINVAL);
}

/* A response shaped as auth_answer builds it: question, one answer, OPT. */
static size_t fake_response(uint8_t *p, struct auth_result *res)
{
	static const uint8_t hdr[] = { 0x12, 0x34, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 1 };
	static const uint8_t q[] = { 3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
				     0, 0, 1, 0, 1 };
	static const uint8_t an[] = { 0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1 };
	static const uint8_t opt[] = { 0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 0 };
	size_t n = 0;
	memcpy(p + n, hdr, sizeof(hdr));
	n += sizeof(hdr);
	memcpy(p + n, q, sizeof(q));
	n += sizeof(q);
	res->qend = (uint16_t)n;
	memcpy(p + n, an, sizeof(an));
	n += sizeof(an);
	res->opt_off = (uint16_t)n;
	memcpy(p + n, opt, sizeof(opt));
	return n + sizeof(opt);
}

static void slip_answer(void **state)
{
	uint8_t p[128];
	struct auth_result res = result(DNS_NOERROR, AUTH_ANSWER);
	size_t n = fake_response(p, &res);
	size_t m = rrl_slip(p, n, &res);
	assert_int_equal(m, 12 + 17 + 11);
	assert_true(wire_get_u16(p + 2) & DNS_TC);
	assert_int_equal(wire_get_u16(p + 4), 1);
	assert_int_equal(wire_get_u16(p + 6), 0);
	assert_int_equal(wire_get_u16(p + 8), 0);
	assert_int_equal(wire_get_u16(p + 10), 1);
	assert_int_equal(wire_get_u16(p + 29 + 1), 41); /* the OPT follows the question */

	/* No OPT: header and question only. */
	n = fake_response(p, &res);
	res.opt_off = 0;
	m = rrl_slip(p, n - 11, &res);
	assert_int_equal(m, 29);
	assert_int_equal(wire_get_u16(p + 10), 0);
}

/*
 * The target: a spoofed flood from one /24 at 20,000 queries a
 * second for 10 s, default settings (200/s, slip 2), 40-byte queries and
 * 500-byte answers (a large positive answer; slips are query-sized).
 * Bytes out over bytes in must stay at or below 2.0 (it is about 0.6),
 * while a client in another prefix gets every answer.
 */
static void amplification(void **state)
{
	struct rrl *r = make(200, 2, 65536, NULL, 0);
	struct auth_result pos = result(DNS_NOERROR, AUTH_ANSWER);
	const uint64_t qsize = 40, asize = 500, slipsize = 40;
	uint64_t in = 0, out = 0;
	unsigned other_ok = 0, other_n = 0;
	char ip[32];
	for (uint64_t ms = 0; ms < 10000; ms++) {
		for (int i = 0; i < 20; i++) {
			snprintf(ip, sizeof(ip), "203.0.113.%d", (int)((ms * 20 + (uint64_t)i) % 256));
			enum rrl_action a = check(r, ip, &pos, T0 + ms, NULL);
			in += qsize;
			out += a == RRL_PASS ? asize : a == RRL_SLIP ? slipsize : 0;
		}
		if (ms % 20 == 0) {
			other_n++;
			other_ok += check(r, "198.51.100.53", &pos, T0 + ms, NULL) == RRL_PASS;
		}
	}
	double factor = (double)out / (double)in;
	print_message("amplification %.3f (%llu bytes in, %llu out)\n", factor,
		      (unsigned long long)in, (unsigned long long)out);
	assert_true(factor <= 2.0);
	assert_int_equal(other_ok, other_n);
	rrl_free(r);
}

/*
 * The same at 2,000 queries a second, ten times the rate: Knot passes the
 * rate (200 full answers a second, 4.3x with big answers); debt makes the
 * flood get slips only, as NSD does (1.6x), so the factor stays near half.
 */
static void amplification_2000qps(void **state)
{
	struct rrl *r = make(200, 2, 65536, NULL, 0);
	struct auth_result pos = result(DNS_NOERROR, AUTH_ANSWER);
	const uint64_t qsize = 40, asize = 500, slipsize = 40;
	uint64_t in = 0, out = 0, full = 0;
	char ip[32];
	for (uint64_t ms = 0; ms < 10000; ms++) {
		if (ms % 2)
			continue;   /* 2 queries every 2 ms... */
		for (int i = 0; i < 4; i++) {   /* ...and 2 more: 2,000/s */
			snprintf(ip, sizeof(ip), "203.0.113.%d", (int)((ms + (uint64_t)i) % 256));
			enum rrl_action a = check(r, ip, &pos, T0 + ms, NULL);
			in += qsize;
			out += a == RRL_PASS ? asize : a == RRL_SLIP ? slipsize : 0;
			full += a == RRL_PASS;
		}
	}
	double factor = (double)out / (double)in;
	print_message("amplification at 2,000 q/s %.3f (%llu full answers in 10 s)\n", factor,
		      (unsigned long long)full);
	/* The burst (200 answers, and 20 more refilled in the 110 ms it
	 * takes to drain), then slips only. */
	assert_true(full <= 250);
	assert_true(factor <= 1.0);
	rrl_free(r);
}

/* The glue: config to limiter and cookie settings, one UDP answer, the
 * metrics text. */
static void protect_glue(void **state)
{
	char *exempt[] = { "192.0.2.0/24" };
	struct vane_conf conf;
	memset(&conf, 0, sizeof(conf));
	conf.rrl_rate = 1;
	conf.rrl_slip = 2;
	conf.rrl_ipv4_prefix = 24;
	conf.rrl_ipv6_prefix = 56;
	conf.rrl_table_size = 1024;
	conf.rrl_exempt = exempt;
	conf.rrl_nexempt = 1;
	struct rrl *r;
	assert_int_equal(protect_rrl_new(&conf, 7, &r), 0);
	assert_non_null(r);

	uint8_t p[128];
	struct auth_result res = result(DNS_NOERROR, AUTH_ANSWER);
	struct rrl_stats st = { 0 };
	struct sockaddr_storage ss = sa_of("198.51.100.1");
	bool log_it;
	size_t n = fake_response(p, &res);
	assert_int_equal(protect_udp(r, (struct sockaddr *)&ss, &res, T0, p, n, &st, &log_it), n);
	assert_int_equal(protect_udp(r, (struct sockaddr *)&ss, &res, T0, p, n, &st, &log_it), 0);
	assert_true(log_it);
	assert_int_equal(protect_udp(r, (struct sockaddr *)&ss, &res, T0, p, n, &st, &log_it),
			 12 + 17 + 11);
	ss = sa_of("192.0.2.200");
	n = fake_response(p, &res);
	assert_int_equal(protect_udp(r, (struct sockaddr *)&ss, &res, T0, p, n, &st, &log_it), n);
	rrl_free(r);

	struct rrl_stats sum = { 0 };
	protect_stats_add(&sum, &st);
	protect_stats_add(&sum, &st);
	char *text = NULL;
	size_t tlen = 0;
	FILE *f = open_memstream(&text, &tlen);
	assert_non_null(f);
	protect_metrics(f, &sum);
	fclose(f);
	assert_non_null(strstr(text, "vane_rrl_limited_total{class=\"positive\"} 4\n"));
	assert_non_null(strstr(text, "vane_rrl_slipped_total{class=\"positive\"} 2\n"));
	assert_non_null(strstr(text, "vane_rrl_dropped_total{class=\"nxdomain\"} 0\n"));
	assert_non_null(strstr(text, "vane_rrl_exempt_total 2\n"));
	free(text);

	conf.rrl_rate = 0;
	assert_int_equal(protect_rrl_new(&conf, 7, &r), 0);
	assert_null(r);

	/* Cookies: a configured secret wins; else the previous snapshot's;
	 * else a random one. */
	uint8_t prev[16] = "previous-secret";
	struct auth_conf auth = { .max_udp = 1232 }, auth2 = auth;
	conf.cookies_enabled = true;
	conf.require_cookie = true;
	conf.cookie_rotate_ms = 7200000;
	assert_int_equal(protect_cookie_conf(&conf, prev, &auth), 0);
	assert_true(auth.cookies && auth.require_cookie);
	assert_int_equal(auth.cookie_rotate_s, 7200);
	assert_memory_equal(auth.cookie_secret, prev, 16);
	assert_int_equal(protect_cookie_conf(&conf, NULL, &auth), 0);
	assert_int_equal(protect_cookie_conf(&conf, NULL, &auth2), 0);
	assert_memory_not_equal(auth.cookie_secret, auth2.cookie_secret, 16);
	conf.cookie_has_secret = true;
	memset(conf.cookie_secret_data, 0xAB, 16);
	conf.cookies_enabled = false;
	assert_int_equal(protect_cookie_conf(&conf, prev, &auth), 0);
	assert_false(auth.cookies || auth.require_cookie);
	assert_int_equal(auth.cookie_secret[15], 0xAB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(refill),
		cmocka_unit_test(slip_every_nth),
		cmocka_unit_test(exempt),
		cmocka_unit_test(aggregation),
		cmocka_unit_test(classes),
		cmocka_unit_test(log_once_a_minute),
		cmocka_unit_test(table_full),
		cmocka_unit_test(off_and_bad_conf),
		cmocka_unit_test(slip_answer),
		cmocka_unit_test(amplification),
		cmocka_unit_test(amplification_2000qps),
		cmocka_unit_test(protect_glue),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
