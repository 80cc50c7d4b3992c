/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Response rate limiting (RRL), with the semantics of BIND, Knot's mod-rrl
 * and NSD: a token bucket per (client prefix, response class) refilled at
 * `rate` answers per second; an answer over the limit is dropped, except
 * every `slip`-th one, which goes out truncated (TC=1, no records) so that a
 * real client behind a spoofed flood retries over TCP, where RRL does not
 * apply.  The bound: a spoofed flood of any size from one prefix draws at
 * most `rate` full answers per second and per class, plus slipped answers
 * about the size of the queries; limited answers count too (up to a second
 * of debt, as in BIND and NSD), so a flood that stays above the rate draws
 * no full answers at all.
 *
 * Pure: no threads, no clock reads; `now` is passed in.  The bucket table is
 * one fixed array, allocated once by rrl_new(), shared by all UDP workers
 * and updated lock-free (one 64-bit load and store per answer).  Shared
 * rather than per worker because SO_REUSEPORT spreads a spoofed flood (random
 * source ports) over every worker: per-worker buckets would let N workers
 * answer N times the rate.  Counters are per worker (struct rrl_stats),
 * summed on read, so the only shared write is the bucket itself.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "auth/answer.h"
#include "lib/errcode.h"

/* Response classes; each has its own bucket per prefix. */
enum rrl_class {
	RRL_POSITIVE = 0,  /* NOERROR with an answer */
	RRL_NODATA,        /* NOERROR, empty answer (RFC 2308 NODATA) */
	RRL_NXDOMAIN,
	RRL_REFERRAL,      /* delegation to a child zone */
	RRL_ERROR,         /* REFUSED, SERVFAIL, FORMERR, NOTIMP, ... */
	RRL_WILDCARD,      /* synthesised from a wildcard (RFC 4592) */
	RRL_NCLASS,
};

enum rrl_action {
	RRL_PASS = 0,      /* send the answer as built */
	RRL_SLIP,          /* send rrl_slip() of it instead */
	RRL_DROP,          /* send nothing */
};

/* A prefix exempt from limiting (e.g. a monitoring host, a known resolver). */
struct rrl_prefix {
	uint8_t family;            /* AF_INET or AF_INET6 */
	uint8_t len;               /* prefix length in bits */
	uint8_t addr[16];          /* bits past len are zero */
};

struct rrl_conf {
	unsigned rate;             /* answers per second per bucket; 0 = RRL off */
	unsigned slip;             /* 0 = drop all limited, 1 = truncate all, N = every Nth */
	unsigned v4_prefix;        /* 1..32, default 24 */
	unsigned v6_prefix;        /* 1..128, default 56 */
	unsigned table_size;       /* buckets, rounded up to a power of two */
	const struct rrl_prefix *exempt;
	unsigned nexempt;
	uint64_t seed;             /* keys the bucket hash; random in the server */
};

/* Per-worker counters, summed for /metrics. */
struct rrl_stats {
	uint64_t limited[RRL_NCLASS];  /* answers over the limit (slipped + dropped) */
	uint64_t slipped[RRL_NCLASS];
	uint64_t dropped[RRL_NCLASS];
	uint64_t exempt;               /* passed unchecked: exempt prefix or valid cookie */
	uint64_t evicted;              /* a busy bucket was recycled: table too small */
};

struct rrl;

/*
 * Build the limiter; copies what it needs from `conf`.  Returns 0 and
 * `*out` (NULL when conf->rate is 0: RRL off, and rrl_check passes all), or
 * VANE_EINVAL / VANE_ENOMEM.
 */
int rrl_new(const struct rrl_conf *conf, struct rrl **out) VANE_WUR;
void rrl_free(struct rrl *r);

/* The class an answer belongs to. */
enum rrl_class rrl_classify(const struct auth_result *res);

/*
 * Account one UDP answer to `src` described by `res` at `now_ms`.  An
 * exempt prefix or a valid server cookie (res->cookie) always passes.  When
 * the answer is limited, `*log_it` is set at most once a minute per client
 * prefix, so the caller can log one line about it.  `r` NULL passes all.
 * Safe to call from several threads at once on the same `r`; `st` is the
 * caller's own.
 */
enum rrl_action rrl_check(struct rrl *r, const struct sockaddr *src,
			  const struct auth_result *res, uint64_t now_ms,
			  struct rrl_stats *st, bool *log_it);

/*
 * Cut the response `pkt` (`len` bytes, as built by auth_answer with `res`)
 * down to a slip answer in place: header with TC=1, the question, and the
 * OPT record if there was one (it may carry a server cookie the client can
 * use to pass next time).  Returns the new length.
 */
size_t rrl_slip(uint8_t *pkt, size_t len, const struct auth_result *res);

/* "192.0.2.0/24" style text of the prefix `src` falls in, for the log. */
void rrl_prefix_text(const struct rrl *r, const struct sockaddr *src, char *buf, size_t size);

/* Parse "ADDR/LEN" (or a bare address: a host prefix).  Returns 0 or
 * VANE_EINVAL. */
int rrl_prefix_parse(const char *text, struct rrl_prefix *p) VANE_WUR;
