/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Second providers kept in step with vaned (issue 12, docs/providers.md).
 *
 * The loop thread turns every published change (reload, health flip,
 * operator verb, ramp step) into the records each provider should serve
 * (provider_update): pure translation, no I/O.  One thread per provider
 * pushes them through the provider's HTTP API, off the query path and off
 * the loop, retrying with exponential backoff (200 ms doubling to 30 s)
 * until it succeeds; only the newest wanted state is ever pushed.
 *
 * The same thread checks for drift every drift-interval: the records the
 * API holds against those pushed, the SOA serial the provider answers
 * against the one its API reported after the push, and a sample of ECS
 * queries to the provider and to vaned itself.  Events and alerts go to
 * the loop through a uv_async (events are loop-thread only).
 */
#pragma once

#include <jansson.h>
#include <stdio.h>
#include <uv.h>

#include "conf/conf.h"
#include "ops/ops.h"

struct provider_set;

/* Start a thread per provider of `conf` (none: `*out` NULL, returns 0).
 * `conf` is copied; providers are bound at start.  `ops` must outlive the
 * set. */
int provider_start(uv_loop_t *loop, const struct vane_conf *conf, struct ops_rt *ops,
		   struct provider_set **out) VANE_WUR;

/* Something changed (loop thread): translate every service under the
 * providers' zones from `conf` and `ops`'s working state; push if it
 * differs from what was last wanted. */
void provider_update(struct provider_set *ps, const struct vane_conf *conf,
		     const struct ops_rt *ops);

/* Stop the threads (joins them) and close the loop handle. */
void provider_close(struct provider_set *ps);
/* After the loop ended. */
void provider_free(struct provider_set *ps);

/* `vanectl providers`: per provider, push and drift state. */
json_t *provider_status_json(struct provider_set *ps);

/* `vanectl providers plan`: per provider and service, what translates. */
json_t *provider_plan_json(const struct vane_conf *conf);

/* Append the vane_provider_* metrics (Prometheus text). */
void provider_metrics(struct provider_set *ps, FILE *f);
