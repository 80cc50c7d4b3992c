/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * GET /metrics: Prometheus text exposition format 0.0.4, written from the
 * per-thread query counters (summed here), the live health and operator
 * state, the event counters (server/events.h) and the serving snapshot.
 * Loop thread only.
 */
#pragma once

#include <stdint.h>

struct server;

/* The whole exposition (malloc'd), or NULL when out of memory. */
char *metrics_render(struct server *srv);

/* Fallback-log timer hook: record a `fallback` event for each service whose
 * all-down counter moved since `before` (server->fallback_last before the
 * stats_log_fallbacks() call). */
void metrics_fallback_events(struct server *srv, const uint64_t *before);
