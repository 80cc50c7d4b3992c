/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The health fold: (state, probe result, now) -> (new state, event).  Pure:
 * no clock, no I/O, no allocation, so the rules are unit-tested on their own
 * (tests/unit/test_health.c) and run the same in the daemon and the lab.
 *
 * Rules, as gdnsd, Knot's and HAProxy's checks have them:
 *  - `rise` successes in a row take a down target up, `fall` failures in a
 *    row take an up target down;
 *  - a target nothing is known about (ASSUMED: no saved state) counts as
 *    up: its first success confirms that, and only `fall` failures in a
 *    row take it down, as for any up target;
 *  - a SAVED state (from state.json, or carried over a reload) is real
 *    knowledge: the first probe that agrees confirms it, and only a full
 *    rise/fall run overturns it, so one slow probe after a restart flips
 *    nothing.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Room for the text of a probe failure. */
#define HEALTH_ERR_MAX 160

/* Where a health state came from. */
enum health_origin {
	HEALTH_ASSUMED = 0,   /* nothing known: up until a success or `fall` failures */
	HEALTH_SAVED,         /* persisted, or carried from a reload */
	HEALTH_PROBED,        /* decided by a probe of this process */
};

struct health_state {
	bool up;
	uint8_t origin;               /* enum health_origin */
	uint64_t since_ms;            /* last change (wall clock), 0 = never decided */
	uint32_t ok_run, fail_run;    /* consecutive results */
	uint64_t probes, failures, transitions;
};

struct health_params {
	uint32_t rise, fall;          /* >= 1 */
};

struct health_event {
	bool decided;                 /* the state became (or stayed) probed: publish */
	bool flipped;                 /* up changed */
	bool overturned;              /* a saved state was overturned by probes */
};

/* Fold one probe result (`ok`) at `now_ms` into `s` (in place). */
void health_fold(struct health_state *s, bool ok, const struct health_params *p,
		 uint64_t now_ms, struct health_event *ev);

/* "assumed", "saved" or "probed". */
const char *health_origin_name(uint8_t origin);
