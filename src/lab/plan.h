/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `vanectl plan-change`: the model (lab/model.h) run on a service of the
 * running config with a proposed change, before the operator makes it.
 *
 *   --new-ttl N   when every cache holds the new TTL (the old TTL as each
 *                 kind of resolver stores it, floors included), and the
 *                 failover a region would then see: RTO 95/99/100, the tail
 *                 and the authority's query rate at the new TTL;
 *   --drain EP    the share of the endpoint's traffic still arriving 1, 5
 *                 and 30 minutes after the drain, and its RTOs.
 *
 * The population is the brief's (70% compliant, 15% min-ttl 300, 10%
 * unbound-like, 5% min-ttl 3600); clients are split evenly between the
 * endpoints' countries.  Predictions, not measurements: vane-lab(1).
 */
#pragma once

#include <stdint.h>

#include "conf/conf.h"
#include "lab/model.h"

#define LAB_PLAN_CLIENTS 20000
#define LAB_PLAN_RESOLVERS 200

struct lab_plan_kind {
	char name[LAB_NAME_MAX];
	double share;
	uint32_t min_ttl;
	uint32_t old_held, new_held;   /* seconds a cache keeps the old/new TTL */
};

struct lab_plan {
	char service[256];
	char event[16];                /* "down" (TTL plan) or "drain" */
	char endpoint[64];
	uint32_t old_ttl, new_ttl;
	uint32_t safe_after;           /* s after the TTL change: every cache has it */
	double detect_bound;           /* interval x fall + timeout, s */
	unsigned n_kind;
	struct lab_plan_kind kind[LAB_MAX_PROFILE];
	/* The model run of the event (at the new TTL). */
	uint32_t clients, resolvers;
	double rto95, rto99, rto100, tail;   /* -1: not within the run */
	double left_1m, left_5m, left_30m;   /* share still on the endpoint, of before */
	double auth_qps, cost_month, price;
};

/*
 * Plan a change to `service` of `conf`: a TTL (new_ttl >= 0) or a drain of
 * endpoint `drain` (non-NULL); one of the two.  Returns 0, VANE_ENOENT (no
 * such service or endpoint) or VANE_EINVAL with a message in `err`.
 */
int lab_plan_change(const struct vane_conf *conf, const char *service, long new_ttl,
		    const char *drain, struct lab_plan *out, char *err, size_t errlen) VANE_WUR;
