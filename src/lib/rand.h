/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The one pseudo-random interface of Vane: a 64-bit mixer and a splitmix64
 * stream.  Pure: the caller owns the state and seeds it (rt_seed() in the
 * daemons, a fixed value in tests and the lab's model), so the same code
 * decides the same way given the same seed.  Not for secrets: cookies and
 * query IDs take bytes from rt_random().
 */
#pragma once

#include <stdint.h>

/* Murmur3's 64-bit finaliser: a fast, well-mixing integer hash. */
static inline uint64_t rand_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* One step of splitmix64: the next value of the stream seeded in *state. */
static inline uint64_t rand_next(uint64_t *state)
{
	*state += 0x9e3779b97f4a7c15ull;
	return rand_mix64(*state);
}

/* Uniform in [0, n) for n > 0 (Lemire's multiply-shift; the bias is far
 * below anything a jitter or a sample can see). */
static inline uint64_t rand_below(uint64_t *state, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rand_next(state) * n) >> 64);
}
