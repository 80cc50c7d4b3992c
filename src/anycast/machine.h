/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The announcement state machine: (state, event, now) -> (state, action).
 * Pure: no clock, no I/O, no allocation; the runtime (anycast/anycast.c)
 * feeds it self-check results, peer answers, BIRD's view and the stop, and
 * carries out the action.  Unit-tested in tests/unit/test_anycast.c.
 *
 * Rules (docs/anycast.md):
 *  - the self-check result is folded by the health fold (health/fold.h):
 *    `rise` passes in a row announce, `fall` failures in a row withdraw;
 *  - a hard failure (the canary query through the anycast address got no
 *    good answer, or the uplink is down) withdraws at once: this site
 *    cannot serve, so keeping the route would black-hole its share;
 *  - a soft failure (a zone failed to load) withdraws only once a peer
 *    says it is healthy and announcing: the last healthy site never
 *    withdraws for a soft reason.  While withdrawn for a soft reason the
 *    peers are asked again, and the route comes back when none is left;
 *  - hold-down: no announce sooner than hold-down after a withdraw, and no
 *    soft withdraw sooner than hold-down after an announce, so a check on
 *    the edge does not flap the route through the Internet's routers; the
 *    one exception is the last site coming back (no healthy peer left):
 *    a dark service is worse than a flap;
 *  - stop withdraws at once and for good;
 *  - BIRD's real state is compared with the wanted one: a protocol that
 *    someone else (or a BIRD restart) turned the wrong way is set again.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "health/fold.h"

enum anycast_state {
	AC_WITHDRAWN = 0,
	AC_ANNOUNCED,
	AC_STOPPED,           /* withdrawn for good: stopping */
};

enum anycast_event_type {
	AC_EV_CHECK = 0,      /* one self-check result: hard_ok, soft_ok, why */
	AC_EV_PEERS,          /* the peers answered: healthy_peers */
	AC_EV_BIRD,           /* BIRD said whether the protocol is up: bird_up */
	AC_EV_TICK,           /* time passed (a wake-up asked for by an action) */
	AC_EV_STOP,           /* SIGTERM or `vanectl stop` */
};

enum anycast_act {
	AC_ACT_NONE = 0,
	AC_ACT_ANNOUNCE,      /* enable the BIRD protocol */
	AC_ACT_WITHDRAW,      /* disable it */
	AC_ACT_ASK_PEERS,     /* ask the peers, answer with AC_EV_PEERS */
};

struct anycast_params {
	struct health_params fold;    /* rise, fall */
	uint64_t hold_down_ms;
	uint64_t peer_retry_ms;       /* least time between two peer rounds */
	bool have_peers;
};

struct anycast_event {
	enum anycast_event_type type;
	bool hard_ok, soft_ok;        /* CHECK */
	const char *why;              /* CHECK: what failed (static or owned by the caller) */
	unsigned healthy_peers;       /* PEERS: peers healthy and announcing */
	bool bird_up;                 /* BIRD */
};

/* Room for a transition reason. */
#define ANYCAST_REASON_MAX 160

struct anycast_machine {
	enum anycast_state state;
	struct health_state check;    /* the folded self-check */
	bool last_hard_fail;          /* the failure run holds a hard failure */
	bool soft_down;               /* check down for soft reasons only */
	bool kept_last;               /* soft-down but announcing: no healthy peer */
	uint32_t hard_ok_run;         /* canary queries answered in a row */
	bool peers_pending;
	uint64_t peers_asked_ms;
	bool changed;                 /* changed_ms is valid */
	uint64_t changed_ms;          /* last announce or withdraw */
	uint64_t transitions;
	char reason[ANYCAST_REASON_MAX];   /* why the last transition */
	char last_error[ANYCAST_REASON_MAX]; /* the last failed check */
	bool bird_known, bird_up;
};

struct anycast_action {
	enum anycast_act act;
	bool transition;              /* state changed (count it, log it) */
	uint64_t wake_ms;             /* 0, or: send AC_EV_TICK at this time */
};

/* A new machine: withdrawn, nothing known (the first `rise` passes announce). */
void anycast_machine_init(struct anycast_machine *m);

/* Take `ev` at `now_ms` (monotonic) into `m` (in place); `out` says what to do. */
void anycast_step(struct anycast_machine *m, const struct anycast_params *p,
		  const struct anycast_event *ev, uint64_t now_ms, struct anycast_action *out);

/* "withdrawn", "announced", "stopped". */
const char *anycast_state_name(enum anycast_state s);

/* Whether this site counts as healthy for its peers: announced, or ready
 * to be, with the whole self-check passing. */
bool anycast_healthy(const struct anycast_machine *m);
