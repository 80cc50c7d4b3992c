/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The glue between the configuration and the two abuse protections of the
 * UDP path, so that the workers need only a few lines each:
 *   - RRL (serve/rrl.h): built from `rrl:`, applied to each UDP answer;
 *   - DNS cookies (lib/cookie.h): `cookies:` copied into struct auth_conf,
 *     which auth_answer() uses with the worker's struct cookie_mac.
 * Also the /metrics text of the RRL counters.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "auth/answer.h"
#include "conf/conf.h"
#include "serve/rrl.h"

/*
 * Build the limiter from `conf` (rrl: section); `seed` keys its hash and
 * should be random.  `*out` is NULL when rate is 0.  Returns 0 or a VANE_E*
 * code.  The table is sized at start: on reload, keep the old limiter
 * unless rrl: changed (its state is worth keeping).
 */
int protect_rrl_new(const struct vane_conf *conf, uint64_t seed, struct rrl **out) VANE_WUR;

/*
 * Copy `cookies:` into `auth`.  Without a configured secret the master
 * secret is `prev` (the previous snapshot's, so that a reload does not
 * invalidate every client's cookie), or a random one when `prev` is NULL
 * (the first build).  Returns 0 or VANE_EAGAIN (no randomness yet).
 */
int protect_cookie_conf(const struct vane_conf *conf, const uint8_t *prev,
			struct auth_conf *auth) VANE_WUR;

/*
 * RRL for one UDP answer of `len` bytes in `pkt`, as auth_answer built it
 * with `res`: returns the length to send, cut to a slip answer in place
 * when slipped, or 0 when the answer is dropped.  `*log_it` as rrl_check.
 */
static inline size_t protect_udp(struct rrl *r, const struct sockaddr *src,
				 const struct auth_result *res, uint64_t now_ms, uint8_t *pkt,
				 size_t len, struct rrl_stats *st, bool *log_it)
{
	/* Inline: it runs for every UDP answer. */
	switch (rrl_check(r, src, res, now_ms, st, log_it)) {
	case RRL_PASS:
		return len;
	case RRL_SLIP:
		return rrl_slip(pkt, len, res);
	default:
		return 0;
	}
}

/* Add one worker's counters (read while it runs: torn reads of single
 * counters are acceptable for metrics) into `sum`. */
void protect_stats_add(struct rrl_stats *sum, const volatile struct rrl_stats *st);

/* Prometheus text for the summed counters: vane_rrl_{limited,slipped,
 * dropped}_total{class="..."}, vane_rrl_exempt_total, vane_rrl_evicted_total. */
void protect_metrics(FILE *f, const struct rrl_stats *sum);

/* "positive", "nodata", "nxdomain", "referral", "error", "wildcard". */
const char *rrl_class_name(enum rrl_class c);
