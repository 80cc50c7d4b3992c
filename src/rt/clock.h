/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Time, seeds and process limits for both daemons.  The pure layers never
 * read a clock or draw randomness: the runtime reads them here and passes
 * them in (DESIGN.md).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Wall clock in milliseconds (CLOCK_REALTIME): health `since` times, ramp
 * starts and event times, which survive a restart in the state file. */
uint64_t rt_now_ms(void);

/* Monotonic milliseconds: intervals that must not jump with the wall clock. */
uint64_t rt_mono_ms(void);

/* A random 64-bit seed for a lib/rand.h stream (getrandom, else time and
 * address bits: a poor seed only makes jitter less random). */
uint64_t rt_seed(void);

/* `len` bytes from the kernel CSPRNG; blocks only before it is seeded. */
void rt_random(void *buf, size_t len);

/* Raise the open files soft limit to the hard limit (probes, TCP clients
 * and upstream queries all hold descriptors) and log the result.  Returns
 * the limit in force (RLIM_INFINITY as UINT64_MAX). */
uint64_t rt_nofile_raise(void);

/* Cap glibc's malloc arenas at two unless MALLOC_ARENA_MAX is set.  The
 * answer paths do not allocate, so the arenas buy no speed; but every libuv
 * pool thread that builds or frees a reload's snapshot otherwise gets an
 * arena of its own (up to 8 per core), each keeping slack after
 * malloc_trim, and RSS creeps up by megabytes over hundreds of reloads
 * (tests/integration/test_memory.py).  Call before any thread starts. */
void rt_malloc_arenas(void);
