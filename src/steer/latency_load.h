/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Latency tables from text, and the copies the runtime makes to change them
 * (one cell, or a new set of services after a reload).  Tables are immutable
 * once returned; every change makes a new one, to publish with RCU.
 *
 * File format, one measurement per line, '#' starts a comment:
 *
 *     SERVICE ENDPOINT CLIENT RTT_MS
 *     api.example.com us-east 198.51.100.0/24 12
 *     api.example.com eu-west DE 25
 *     api.example.com eu-west EU 40
 *
 * CLIENT is a CIDR (a bare address is a host route), a country code or a
 * continent code.  A code is stored as written (upper-cased): the lookup
 * matches it against the client's country first, then its continent.
 */
#pragma once

#include "lib/report.h"
#include "steer/latency.h"
#include "steer/set.h"

/*
 * Read `path` for the services of `set`.  Unknown services or endpoints,
 * bad clients and bad numbers are errors reported as `file:line: message`
 * to `err`.  Returns 0 and `*out` (an empty table when the file has no
 * rows), or a negative VANE_E* code after reporting.
 */
int steer_latency_load(const char *path, const struct steer_set *set, vane_report_fn err,
		       void *ctx, struct steer_latency_table **out) VANE_WUR;

/* A copy of `old` (may be NULL) for `set`, with one cell set: service
 * `svc`, endpoint `ep`, client text `client` (as in the file), `rtt_ms`
 * (STEER_RTT_UNKNOWN clears it).  VANE_EINVAL for a bad client or index. */
int steer_latency_set(const struct steer_latency_table *old, const struct steer_set *set,
		      uint32_t svc, uint32_t ep, const char *client, uint32_t rtt_ms,
		      struct steer_latency_table **out) VANE_WUR;

/* `old`, built for `old_set`, mapped onto `new_set` by service name and
 * endpoint id (what a reload must carry over); cells of names gone are
 * dropped.  `old` NULL gives NULL and 0. */
int steer_latency_remap(const struct steer_latency_table *old, const struct steer_set *old_set,
			const struct steer_set *new_set, struct steer_latency_table **out) VANE_WUR;

/* Number of cells that hold a measurement (for messages and stats). */
uint64_t steer_latency_cells(const struct steer_latency_table *t);

void steer_latency_free(struct steer_latency_table *t);
