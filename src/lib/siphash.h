/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012), with the 64-bit output RFC 9018 server cookies use and the 128-bit
 * variant lib/cookie uses to derive rotating secrets.  Native rather than
 * OpenSSL's EVP_MAC: a cookie hashes 28 or 40 bytes, and the EVP layer
 * (context re-keying, parameter lookups) costs several times the hash.
 * Outputs are little-endian bytes, as the reference implementation and
 * OpenSSL write them, so cookies stay interoperable with both.
 * Pure and thread-safe: no state outside the arguments.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16

/* SipHash-2-4 of `len` bytes at `msg` under `key`: 8 bytes into `out`. */
void siphash24_64(const uint8_t key[SIPHASH_KEY_LEN], const void *msg, size_t len,
		  uint8_t out[8]);

/* The 128-bit output variant (the "siphash128" of the reference code):
 * 16 bytes into `out`. */
void siphash24_128(const uint8_t key[SIPHASH_KEY_LEN], const void *msg, size_t len,
		   uint8_t out[16]);
