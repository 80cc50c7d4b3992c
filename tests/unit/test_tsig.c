/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for lib/tsig (RFC 8945) and lib/base64 against vectors signed
 * by dnspython (data/gen_tsig_vectors.py), so that a mistake shared by our
 * signer and our verifier cannot pass.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/base64.h"
#include "lib/pkt.h"
#include "lib/tsig.h"
#include "lib/wire.h"

#include "data/tsig_vectors.h"

static void make_key(struct tsig_key *k, enum tsig_alg alg)
{
	uint8_t secret[64];
	int n = base64_decode(vec_secret_b64, secret, sizeof(secret));
	assert_int_equal(n, 32);
	assert_int_equal(tsig_key_init(k, "xfr-key", alg, secret, (size_t)n), 0);
}

static void test_base64(void **state)
{
	uint8_t out[16];
	assert_int_equal(base64_decode("aGVsbG8=", out, sizeof(out)), 5);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(base64_decode("aGVs\n bG8", out, sizeof(out)), 5);
	assert_int_equal(base64_decode("aGVsbG8*", out, sizeof(out)), VANE_EINVAL);
	assert_int_equal(base64_decode("aGVsbG9=", out, sizeof(out)), VANE_EINVAL);
	assert_int_equal(base64_decode("aGVsbG8=", out, 2), VANE_ESPACE);
}

static void verify_query(enum tsig_alg alg, const uint8_t *q, size_t qlen,
			 const uint8_t *qmac, size_t qmac_len)
{
	struct tsig_key k;
	struct tsig_rr t;
	make_key(&k, alg);
	assert_int_equal(tsig_find(q, qlen, &t), 0);
	assert_int_equal(t.alg, alg);
	assert_int_equal(t.time_signed, vec_time);
	assert_int_equal(t.mac_len, qmac_len);
	assert_memory_equal(t.mac, qmac, qmac_len);
	assert_int_equal(tsig_verify(q, qlen, &t, &k, NULL, 0, false, vec_time), TSIG_OK);
	assert_int_equal(tsig_verify(q, qlen, &t, &k, NULL, 0, false, vec_time + 300), TSIG_OK);
	assert_int_equal(tsig_verify(q, qlen, &t, &k, NULL, 0, false, vec_time + 301),
			 TSIG_BADTIME);
	assert_int_equal(tsig_verify(q, qlen, &t, &k, NULL, 0, false, vec_time - 301),
			 TSIG_BADTIME);

	/* Another secret: BADSIG; another name or algorithm: BADKEY. */
	struct tsig_key bad = k;
	bad.secret[0] ^= 1;
	assert_int_equal(tsig_verify(q, qlen, &t, &bad, NULL, 0, false, vec_time), TSIG_BADSIG);
	assert_int_equal(tsig_key_init(&bad, "other-key", alg, k.secret, k.secret_len), 0);
	assert_int_equal(tsig_verify(q, qlen, &t, &bad, NULL, 0, false, vec_time), TSIG_BADKEY);
	bad = k;
	bad.alg = alg == TSIG_HMAC_SHA256 ? TSIG_HMAC_SHA512 : TSIG_HMAC_SHA256;
	assert_int_equal(tsig_verify(q, qlen, &t, &bad, NULL, 0, false, vec_time), TSIG_BADKEY);

	/* A changed message byte (the question type) fails the MAC. */
	uint8_t copy[512];
	memcpy(copy, q, qlen);
	copy[DNS_HDRLEN + 13 + 1] ^= 1;
	assert_int_equal(tsig_find(copy, qlen, &t), 0);
	assert_int_equal(tsig_verify(copy, qlen, &t, &k, NULL, 0, false, vec_time), TSIG_BADSIG);
}

static void test_verify_query(void **state)
{
	verify_query(TSIG_HMAC_SHA256, vec_query_256, sizeof(vec_query_256), vec_query_mac_256,
		     sizeof(vec_query_mac_256));
	verify_query(TSIG_HMAC_SHA512, vec_query_512, sizeof(vec_query_512), vec_query_mac_512,
		     sizeof(vec_query_mac_512));
}

/* Re-signing dnspython's response (stripped of its TSIG) with the request
 * MAC must give the same bytes: the response digest of RFC 8945 4.3.1. */
static void sign_response(enum tsig_alg alg, const uint8_t *resp, size_t rlen,
			  const uint8_t *qmac, size_t qmac_len)
{
	struct tsig_key k;
	struct tsig_rr t;
	make_key(&k, alg);
	assert_int_equal(tsig_find(resp, rlen, &t), 0);
	assert_int_equal(tsig_verify(resp, rlen, &t, &k, qmac, qmac_len, false, vec_time + 1),
			 TSIG_OK);
	assert_int_equal(tsig_verify(resp, rlen, &t, &k, NULL, 0, false, vec_time + 1),
			 TSIG_BADSIG);

	uint8_t buf[1024];
	size_t len = t.off;
	memcpy(buf, resp, len);
	wire_put_u16(buf + 10, (uint16_t)(wire_get_u16(buf + 10) - 1));
	struct tsig_sign s = { .key = &k, .prior = qmac, .prior_len = qmac_len,
			       .time_signed = vec_time + 1 };
	uint8_t mac[TSIG_MAX_MAC];
	size_t mac_len = 0;
	assert_int_equal(tsig_append(buf, &len, sizeof(buf), &s, mac, &mac_len), 0);
	assert_int_equal(len, rlen);
	assert_memory_equal(buf, resp, rlen);
	assert_int_equal(mac_len, tsig_mac_size(alg));

	/* The next message of a transfer: previous MAC, timers only. */
	uint8_t next[1024];
	size_t nlen = t.off;
	memcpy(next, resp, nlen);
	wire_put_u16(next + 10, (uint16_t)(wire_get_u16(next + 10) - 1));
	struct tsig_sign s2 = { .key = &k, .prior = mac, .prior_len = mac_len,
				.timers_only = true, .time_signed = vec_time + 2 };
	assert_int_equal(tsig_append(next, &nlen, sizeof(next), &s2, NULL, NULL), 0);
	assert_int_equal(tsig_find(next, nlen, &t), 0);
	assert_int_equal(tsig_verify(next, nlen, &t, &k, mac, mac_len, true, vec_time + 2),
			 TSIG_OK);
	assert_int_equal(tsig_verify(next, nlen, &t, &k, mac, mac_len, false, vec_time + 2),
			 TSIG_BADSIG);
	/* No room: the message is left as it was. */
	size_t small = t.off;
	assert_int_equal(tsig_append(next, &small, small + 10, &s2, NULL, NULL), VANE_ESPACE);
	assert_int_equal(small, t.off);
}

static void test_sign_response(void **state)
{
	sign_response(TSIG_HMAC_SHA256, vec_resp_256, sizeof(vec_resp_256), vec_query_mac_256,
		      sizeof(vec_query_mac_256));
	sign_response(TSIG_HMAC_SHA512, vec_resp_512, sizeof(vec_resp_512), vec_query_mac_512,
		      sizeof(vec_query_mac_512));
}

static void test_find(void **state)
{
	struct tsig_rr t;
	/* Unsigned: header and question only. */
	assert_int_equal(tsig_find(vec_query_256, DNS_HDRLEN + 17, &t), VANE_EMALF);
	uint8_t q[64];
	memcpy(q, vec_query_256, DNS_HDRLEN + 17);
	wire_put_u16(q + 10, 0);
	assert_int_equal(tsig_find(q, DNS_HDRLEN + 17, &t), VANE_ENOENT);
	/* Cut inside the TSIG: malformed. */
	uint8_t cut[512];
	memcpy(cut, vec_query_256, sizeof(vec_query_256));
	assert_int_equal(tsig_find(cut, sizeof(vec_query_256) - 1, &t), VANE_EMALF);
	assert_int_equal(tsig_alg_from_str("HMAC-SHA256."), TSIG_HMAC_SHA256);
	assert_int_equal(tsig_alg_from_str("hmac-md5"), TSIG_ALG_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_verify_query),
		cmocka_unit_test(test_sign_response),
		cmocka_unit_test(test_find),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
