/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for lib/siphash: the reference vectors (key 00..0f, message
 * 00 01 02 ... of each length, as in the paper's appendix and the reference
 * code's vectors), and agreement with OpenSSL's SipHash (the MAC lib/cookie
 * used before) for every length 0..64 at both output sizes, so cookies and
 * derived secrets made by older builds are still accepted.  The RFC 9018
 * vectors run through lib/cookie in test_cookie.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "lib/siphash.h"

static void seq(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)i;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* SipHash-2-4, 64-bit output, key 00..0f, message of `len` bytes 00 01 ...
 * (the reference vectors; length 15 is the paper's Appendix A example). */
static void test_reference_64(void **state)
{
	static const struct { size_t len; uint64_t h; } v[] = {
		{ 0, 0x726fdb47dd0e0e31ull },  { 1, 0x74f839c593dc67fdull },
		{ 7, 0xab0200f58b01d137ull },  { 8, 0x93f5f5799a932462ull },
		{ 15, 0xa129ca6149be45e5ull }, { 16, 0x3f2acc7f57c29bdbull },
		{ 31, 0x32d892fad841c342ull }, { 63, 0x958a324ceb064572ull },
	};
	uint8_t key[16], msg[64], out[8];
	(void)state;
	seq(key, sizeof(key));
	seq(msg, sizeof(msg));
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		siphash24_64(key, msg, v[i].len, out);
		assert_true(le64(out) == v[i].h);
	}
}

/* The 128-bit variant, empty message (first of the reference 128 vectors). */
static void test_reference_128(void **state)
{
	static const uint8_t want[16] = { 0xa3, 0x81, 0x7f, 0x04, 0xba, 0x25, 0xa8, 0xe6,
					  0x6d, 0xf6, 0x72, 0x14, 0xc7, 0x55, 0x02, 0x93 };
	uint8_t key[16], out[16];
	(void)state;
	seq(key, sizeof(key));
	siphash24_128(key, "", 0, out);
	assert_memory_equal(out, want, 16);
}

static void openssl_siphash(const uint8_t *key, const uint8_t *msg, size_t len, uint8_t *out,
			    size_t outlen)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
	assert_non_null(mac);
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
	assert_non_null(ctx);
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &outlen),
		OSSL_PARAM_construct_end(),
	};
	size_t got = 0;
	assert_true(EVP_MAC_CTX_set_params(ctx, params));
	assert_true(EVP_MAC_init(ctx, key, 16, NULL));
	assert_true(EVP_MAC_update(ctx, msg, len));
	assert_true(EVP_MAC_final(ctx, out, &got, outlen));
	assert_int_equal(got, outlen);
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
}

static void test_matches_openssl(void **state)
{
	uint8_t key[16], msg[65], a[16], b[16];
	(void)state;
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(0xA5 ^ (i * 29));
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 131 + 7);
	for (size_t len = 0; len <= 64; len++) {
		siphash24_64(key, msg, len, a);
		openssl_siphash(key, msg, len, b, 8);
		assert_memory_equal(a, b, 8);
		siphash24_128(key, msg, len, a);
		openssl_siphash(key, msg, len, b, 16);
		assert_memory_equal(a, b, 16);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_64),
		cmocka_unit_test(test_reference_128),
		cmocka_unit_test(test_matches_openssl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
