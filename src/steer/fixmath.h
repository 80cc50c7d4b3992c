/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Internal numeric helpers of steer/; see fixmath.c. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/rand.h"

#define STEER_PI 3.14159265358979323846

extern const uint32_t steer_log2_tab[257];

/* The steering names of lib/rand.h's mixer and stream. */
static inline uint64_t steer_mix64(uint64_t x)
{
	return rand_mix64(x);
}

static inline uint64_t steer_next_rand(uint64_t *state)
{
	return rand_next(state);
}

/*
 * -log2(u) in Q24 for u = x / 2^64, x uniform in [1, 2^64): the exponential
 * variate of weighted rendezvous hashing (score = -ln(u) / w, smallest wins;
 * the constant ln 2 does not change the order).  Table with linear
 * interpolation: absolute error about 3e-6, far below what weights resolve.
 * Result is at most 64 << 24, so result * weight (< 2^24) fits 64 bits.
 */
static inline uint64_t steer_neglog2_q24(uint64_t x)
{
	x |= 1;
	unsigned lz = (unsigned)__builtin_clzll(x);
	uint64_t f = (x << lz) << 1;            /* fraction bits below the leading 1 */
	unsigned idx = (unsigned)(f >> 56);
	uint64_t rem = (f >> 32) & 0xffffff;
	uint64_t lo = steer_log2_tab[idx], hi = steer_log2_tab[idx + 1];
	uint64_t frac = lo + (((hi - lo) * rem) >> 24);  /* Q30 */
	uint64_t log2x = ((uint64_t)(63 - lz) << 30) + frac;
	return ((64ull << 30) - log2x) >> 6;
}

/* sin and cos of an angle in degrees, without libm. */
void steer_sincos_deg(double deg, double *s, double *c);

/* Unit vector on the sphere for lat/lon in degrees; the dot product of two
 * is monotonic in great-circle distance, so ordering needs no acos. */
void steer_unit_vector(double lat, double lon, double *x, double *y, double *z);

/* Two-letter code ("de", "EU") packed upper-case into 16 bits; 0 if empty. */
static inline uint16_t steer_pack_code(const char *s)
{
	if (!s[0] || !s[1])
		return 0;
	unsigned a = (unsigned char)s[0], b = (unsigned char)s[1];
	if (a >= 'a' && a <= 'z')
		a -= 32;
	if (b >= 'a' && b <= 'z')
		b -= 32;
	return (uint16_t)(a << 8 | b);
}
