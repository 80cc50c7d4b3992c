/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for lib/cookie: the RFC 9018 Appendix A known-answer vectors
 * (IPv4 and IPv6, a new cookie, a renewed one, reserved bytes set by the
 * client, a secret rollover), the RFC 7873 5.2.2 lengths, the RFC 9018 4.3
 * time window, and secret rotation with the previous epoch still accepted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "lib/cookie.h"

static void unhex(const char *s, uint8_t *out, size_t n)
{
	assert_int_equal(strlen(s), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static struct cookie_addr addr_of(const char *text)
{
	struct sockaddr_storage ss;
	struct cookie_addr a;
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
	assert_int_equal(cookie_addr_from_sa(&ss, &a), 0);
	return a;
}

static struct dns_cookie option_of(const char *hex)
{
	uint8_t buf[40];
	struct dns_cookie c;
	size_t n = strlen(hex) / 2;
	unhex(hex, buf, n);
	memset(&c, 0, sizeof(c));
	assert_int_equal(cookie_parse(buf, n, &c), 0);
	return c;
}

struct vector {
	const char *secret, *ip, *query, *reply;
	uint32_t now;
	enum cookie_status status;   /* what the query's cookie is under `secret` */
};

/* RFC 9018 Appendix A.1 to A.4 (A.4's query was made with the old secret
 * dd3bdf93..., the reply with the new one). */
static const struct vector vectors[] = {
	{ "e5e973e5a6b2a43f48e7dc849e37bfcf", "198.51.100.100", "2464c4abcf10c957",
	  "2464c4abcf10c957010000005cf79f111f8130c3eee29480", 1559731985, COOKIE_CLIENT_ONLY },
	{ "e5e973e5a6b2a43f48e7dc849e37bfcf", "198.51.100.100",
	  "2464c4abcf10c957010000005cf79f111f8130c3eee29480",
	  "2464c4abcf10c957010000005cf7a871d4a564a1442aca77", 1559734385, COOKIE_VALID },
	{ "e5e973e5a6b2a43f48e7dc849e37bfcf", "203.0.113.203",
	  "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5",
	  "fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e", 1559734700, COOKIE_BAD },
	{ "445536bcd2513298075a5d379663c962", "2001:db8:220:1:59de:d0f4:8769:82b8",
	  "22681ab97d52c298010000005cf7c57926556bd0934c72f8",
	  "22681ab97d52c298010000005cf7c609a6bb79d16625507a", 1559741961, COOKIE_BAD },
};

static void rfc9018_vectors(void **state)
{
	struct cookie_mac *m = cookie_mac_new();
	assert_non_null(m);
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *v = &vectors[i];
		uint8_t secret[16], want[24], got[16];
		struct cookie_addr a = addr_of(v->ip);
		struct dns_cookie c = option_of(v->query);
		unhex(v->secret, secret, 16);
		unhex(v->reply, want, 24);

		/* The reply is made fresh, reserved zero, at `now`; the client
		 * cookie is echoed as it came. */
		static const uint8_t zero[3];
		assert_int_equal(cookie_server_make(m, secret, c.client, &a, zero, v->now, got), 0);
		assert_memory_equal(got, want + 8, 16);
		assert_memory_equal(c.client, want, 8);

		/* A.3's and A.4's cookies were older than an hour (A.3) or
		 * made with another secret (A.4): not valid here. */
		assert_int_equal(cookie_check(m, secret, 0, &c, &a, v->now), v->status);
		assert_int_equal(cookie_answer(m, secret, 0, &c, v->status, &a, v->now, got), 0);
		assert_memory_equal(got, want + 8, 16);
	}
	cookie_mac_free(m);
}

/* A.3 and A.4 checked at the moment their server cookies were made. */
static void rfc9018_inbound(void **state)
{
	struct cookie_mac *m = cookie_mac_new();
	uint8_t secret[16];
	assert_non_null(m);

	/* A.3: the client set the reserved bytes; they are hashed as sent. */
	unhex("e5e973e5a6b2a43f48e7dc849e37bfcf", secret, 16);
	struct dns_cookie c = option_of("fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5");
	struct cookie_addr a = addr_of("203.0.113.203");
	assert_int_equal(cookie_check(m, secret, 0, &c, &a, 0x5cf78f71), COOKIE_VALID);
	/* The same cookie from another address is not ours. */
	struct cookie_addr other = addr_of("203.0.113.204");
	assert_int_equal(cookie_check(m, secret, 0, &c, &other, 0x5cf78f71), COOKIE_BAD);

	/* A.4: valid under the old secret, not under the new one. */
	c = option_of("22681ab97d52c298010000005cf7c57926556bd0934c72f8");
	a = addr_of("2001:db8:220:1:59de:d0f4:8769:82b8");
	unhex("dd3bdf9344b678b185a6f5cb60fca715", secret, 16);
	assert_int_equal(cookie_check(m, secret, 0, &c, &a, 0x5cf7c579), COOKIE_VALID);
	unhex("445536bcd2513298075a5d379663c962", secret, 16);
	assert_int_equal(cookie_check(m, secret, 0, &c, &a, 0x5cf7c579), COOKIE_BAD);
	cookie_mac_free(m);
}

static void lengths(void **state)
{
	uint8_t buf[41] = { 0 };
	struct dns_cookie c;
	for (size_t n = 0; n <= sizeof(buf); n++) {
		memset(&c, 0, sizeof(c));
		int r = cookie_parse(buf, n, &c);
		bool ok = n == 8 || (n >= 16 && n <= 40);
		assert_int_equal(r, ok ? 0 : VANE_EMALF);
		if (ok) {
			assert_true(c.present);
			assert_int_equal(c.server_len, n - 8);
		}
	}
	/* A server cookie of another size or version cannot be ours. */
	struct cookie_mac *m = cookie_mac_new();
	uint8_t secret[16] = { 1 };
	struct cookie_addr a = addr_of("192.0.2.1");
	c = option_of("0102030405060708" "0100000000000000");
	assert_int_equal(cookie_check(m, secret, 0, &c, &a, 0), COOKIE_BAD);
	c = option_of("0102030405060708" "02000000000000000000000000000000");
	assert_int_equal(cookie_check(m, secret, 0, &c, &a, 0), COOKIE_BAD);
	cookie_mac_free(m);
}

/* Make a cookie at `made`, check it at `now`. */
static enum cookie_status made_then_checked(struct cookie_mac *m, const uint8_t *master,
					    uint32_t rotate, uint64_t made, uint64_t now)
{
	struct dns_cookie c = option_of("0102030405060708");
	struct cookie_addr a = addr_of("2001:db8::1");
	uint8_t sc[16];
	assert_int_equal(cookie_answer(m, master, rotate, &c, COOKIE_CLIENT_ONLY, &a, made, sc), 0);
	c.server_len = 16;
	memcpy(c.server, sc, 16);
	return cookie_check(m, master, rotate, &c, &a, now);
}

static void time_window(void **state)
{
	struct cookie_mac *m = cookie_mac_new();
	uint8_t master[16] = "0123456789abcde";
	const uint64_t t = 1700000000;
	assert_int_equal(made_then_checked(m, master, 0, t, t), COOKIE_VALID);
	assert_int_equal(made_then_checked(m, master, 0, t, t + 3600), COOKIE_VALID);
	assert_int_equal(made_then_checked(m, master, 0, t, t + 3601), COOKIE_BAD);
	/* Five minutes of skew between anycast servers, no more. */
	assert_int_equal(made_then_checked(m, master, 0, t + 300, t), COOKIE_VALID);
	assert_int_equal(made_then_checked(m, master, 0, t + 301, t), COOKIE_BAD);
	/* Across the 2^32 wrap of the timestamp (RFC 9018 4.3 serial
	 * arithmetic): an hour old, not 136 years. */
	assert_int_equal(made_then_checked(m, master, 0, 0xFFFFFF00ull, 0x100000000ull + 100),
			 COOKIE_VALID);
	cookie_mac_free(m);
}

static void rotation(void **state)
{
	struct cookie_mac *m = cookie_mac_new();
	uint8_t master[16] = "0123456789abcde";
	uint8_t other[16] = "fedcba987654321";
	const uint32_t rot = 3600;
	const uint64_t e = 1700000000 / rot * rot; /* start of an epoch */

	/* Made at the end of one epoch, accepted early in the next under
	 * the previous secret. */
	assert_int_equal(made_then_checked(m, master, rot, e - 10, e + 10), COOKIE_VALID);
	/* Two epochs later the secret is gone (and the cookie too old). */
	assert_int_equal(made_then_checked(m, master, rot, e - 10, e + rot + 10), COOKIE_BAD);
	/* Within the time window but two epochs on: the secret it was made
	 * with is no longer accepted. */
	const uint64_t e10 = 1700000000 / 600 * 600;
	assert_int_equal(made_then_checked(m, master, 600, e10 - 10, e10 + 610), COOKIE_BAD);
	assert_int_equal(made_then_checked(m, master, 600, e10 - 10, e10 + 590), COOKIE_VALID);
	/* Another master secret shares nothing. */
	struct dns_cookie c = option_of("0102030405060708");
	struct cookie_addr a = addr_of("2001:db8::1");
	uint8_t sc[16];
	assert_int_equal(cookie_answer(m, master, rot, &c, COOKIE_CLIENT_ONLY, &a, e, sc), 0);
	c.server_len = 16;
	memcpy(c.server, sc, 16);
	assert_int_equal(cookie_check(m, other, rot, &c, &a, e), COOKIE_BAD);
	assert_int_equal(cookie_check(m, master, rot, &c, &a, e), COOKIE_VALID);

	/* Derived secrets differ per epoch and from the master. */
	uint8_t s1[16], s2[16];
	assert_int_equal(cookie_secret_derive(m, master, 5, s1), 0);
	assert_int_equal(cookie_secret_derive(m, master, 6, s2), 0);
	assert_memory_not_equal(s1, s2, 16);
	assert_memory_not_equal(s1, master, 16);

	/* A valid cookie younger than 30 minutes is echoed, an older one
	 * renewed. */
	uint8_t again[16];
	assert_int_equal(cookie_answer(m, master, rot, &c, COOKIE_VALID, &a, e + 60, again), 0);
	assert_memory_equal(again, sc, 16);
	assert_int_equal(cookie_answer(m, master, rot, &c, COOKIE_VALID, &a, e + 1801, again), 0);
	assert_memory_not_equal(again, sc, 16);
	cookie_mac_free(m);
}

static void mapped_v4(void **state)
{
	struct sockaddr_in6 s6;
	struct cookie_addr a;
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, "::ffff:198.51.100.100", &s6.sin6_addr), 1);
	assert_int_equal(cookie_addr_from_sa(&s6, &a), 0);
	assert_int_equal(a.len, 4);
	struct cookie_addr b = addr_of("198.51.100.100");
	assert_memory_equal(a.addr, b.addr, 4);
	struct sockaddr un = { .sa_family = AF_UNIX };
	assert_int_equal(cookie_addr_from_sa(&un, &a), VANE_EINVAL);
	uint8_t r1[16], r2[16];
	assert_int_equal(cookie_secret_random(r1), 0);
	assert_int_equal(cookie_secret_random(r2), 0);
	assert_memory_not_equal(r1, r2, 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc9018_vectors),
		cmocka_unit_test(rfc9018_inbound),
		cmocka_unit_test(lengths),
		cmocka_unit_test(time_window),
		cmocka_unit_test(rotation),
		cmocka_unit_test(mapped_v4),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
