/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * GET /metrics: Prometheus text exposition format 0.0.4, written from the
 * per-thread query counters (summed here), the endpoint rows and event
 * counters of the operator runtime, and the zones.  Loop thread only.
 */
#pragma once

#include <stdint.h>

#include "ctl/encode.h"
#include "serve/tcp.h"

/* What a scrape reads. */
struct ctl_metrics_in {
	long long started;                   /* Unix time */
	struct srv_stats *const *blocks;     /* every serving thread's counters */
	unsigned nblocks;
	const struct serve_view *view;       /* services and counter slots */
	const struct ops_rt *ops;            /* endpoint rows and events (may be NULL) */
	const struct ctl_zone_row *zones;
	unsigned nzones;
	unsigned tcp_clients;
	const struct anycast_status *anycast;   /* NULL or not enabled: no anycast metrics */
	const struct tcp_counters *tcp;      /* NULL: no TCP server */
	uint64_t tcp_buffer_bytes;
};

/* The whole exposition (malloc'd), or NULL when out of memory. */
char *metrics_render(const struct ctl_metrics_in *in);
