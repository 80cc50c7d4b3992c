/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The operator runtime of vaned (loop thread): the working copy of the
 * live state (health of every endpoint, drains, weights, ramps, loads,
 * runtime latency changes), the health monitor that feeds it, the verbs
 * that change it, its persistence in state.json and the events it records.
 *
 * Every change is published through one hook, coalesced to one live state
 * per loop iteration however many probes finished; the owner (daemon/)
 * pairs it with its config snapshot into the view the query path reads.
 * Writes to state.json are coalesced too and run on the threadpool.
 *
 * Verbs return 0 or a negative VANE_E* code (VANE_ENOENT: no such
 * endpoint; VANE_EINVAL: a bad value; VANE_EBUSY: the state forbids it)
 * with a message in `err`; the control edge (ctl/) maps them once.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "health/health.h"
#include "ops/events.h"
#include "ops/live.h"
#include "ops/state.h"

#define OPS_ERR_MAX 512

struct ops_hooks {
	void *ctx;
	/* A new live state to serve (ownership passes). */
	void (*publish)(void *ctx, struct live_state *l);
};

/* The fleet's word on one health index (fleet/ counts the votes). */
struct ops_vote {
	int8_t verdict;                  /* -1: none, own probes decide; 0 down; 1 up */
	uint8_t down, vantages;          /* live vantages, and those that see it down */
	bool disagree;                   /* own probes say down, the fleet keeps it up */
};

/* Told of this node's own verdict on health index `h` (loop thread). */
typedef void (*ops_vote_fn)(void *ctx, uint32_t h, bool up);

struct ops_rt {
	uv_loop_t *loop;
	struct ops_hooks hooks;
	const struct live_layout *lay;
	struct live_state *work;         /* mutable working copy, never published */
	struct health_mon mon;
	struct events *events;           /* recent events, owned */

	uv_timer_t publish_timer;        /* coalesces republication */
	bool publish_pending;
	uv_timer_t tick;                 /* 1 s: ramp steps */
	uv_timer_t persist_timer;        /* coalesces writes */
	bool persist_dirty, persist_busy;
	uv_work_t persist_work;
	char *persist_text;
	uint64_t persist_seq;            /* of persist_text */
	uv_mutex_t persist_lock;         /* one writer of state.json at a time */
	uint64_t persist_next;           /* sequence of the next text made (loop thread) */
	uint64_t persist_written;        /* newest text on disk (under persist_lock) */
	char *state_dir;

	struct latency_update *lat;      /* runtime latency updates, in order */
	uint32_t nlat;
	uint64_t went_down, went_up;     /* transitions since start */
	bool timers_on, closing, lock_on;
	uint8_t *ramp_logged;            /* per endpoint: last ramp step logged + 1 */
	char *final_text;                /* state written by ops_free */

	/* Health votes (a fleet): NULL when this node decides alone. */
	struct ops_vote *votes;          /* per health index */
	bool *local_up;                  /* per health index: own probes */
	ops_vote_fn vote_fn;
	void *vote_ctx;
};

/*
 * Start on `loop` for layout `lay`, from `live0` (the initial state built
 * with the snapshot: saved state applied); probes start at once and a first
 * live state is published through `hooks` before this returns.
 */
int ops_start(uv_loop_t *loop, const struct live_layout *lay, const struct live_state *live0,
	      const char *state_dir, const struct ops_hooks *hooks, struct ops_rt **out) VANE_WUR;

/* A reload swapped in layout `lay`: carry state by name, re-sync probes,
 * publish.  VANE_ENOMEM: nothing changed (still on the old layout, which
 * the caller must then keep alive). */
int ops_adopt(struct ops_rt *rt, const struct live_layout *lay) VANE_WUR;

/* Stop probes and timers; the loop then closes the handles. */
void ops_close(struct ops_rt *rt);
/* Free after the loop ended; writes a final state file synchronously. */
void ops_free(struct ops_rt *rt);

/* Something changed: publish soon (coalesced), persist soon. */
void ops_changed(struct ops_rt *rt, bool persist);

/* Publish a pending change at once (the next query sees it), then write
 * the working state to state.json now, durably (written, fsynced,
 * renamed, directory fsynced), before an operator verb is acknowledged:
 * an acknowledged drain must survive kill -9.  Blocks the loop thread for
 * the write (a few ms).  Returns 0 or the VANE_E* code of the failure,
 * with its text in `err`; the change stays in memory either way. */
int ops_persist_now(struct ops_rt *rt, char *err, size_t errsize) VANE_WUR;

/* Internal to ops/: replace the runtime latency table (stolen), and apply
 * one latency change on top of `base` (NULL = the layout's table) into a
 * new table `*out`; `err` holds OPS_ERR_MAX bytes. */
void ops_set_latency(struct ops_rt *rt, struct steer_latency_table *t);
int live_latency_apply(const struct live_layout *lay, const struct latency_update *u,
		       const struct steer_latency_table *base, struct steer_latency_table **out,
		       char *err) VANE_WUR;

/* Let a fleet's votes decide health from now on: `fn` hears this node's
 * own verdicts (every index at once now and after a reload, then each
 * change), ops_vote_set() brings the fleet's.  VANE_ENOMEM. */
int ops_votes_enable(struct ops_rt *rt, ops_vote_fn fn, void *ctx) VANE_WUR;

/* The fleet's verdict on health index `h`; the endpoint flips (logged,
 * ramps aborted or started as for a probe) when the effective state
 * changes. */
void ops_vote_set(struct ops_rt *rt, uint32_t h, const struct ops_vote *v);

/* The check id and address that health index `h` is probed at (NULL when
 * it has no target). */
const char *ops_health_target(const struct ops_rt *rt, uint32_t h, const char **address);

/* ---- verbs (ops/verbs.c) ---- */

/* Find "service/endpoint" (service case-insensitive, final dot optional);
 * `canon` (LIVE_KEY_MAX) gets the canonical key.  VANE_ENOENT. */
int ops_find(const struct ops_rt *rt, const char *key, uint32_t *svc, uint32_t *ep,
	     char *canon) VANE_WUR;

int ops_drain(struct ops_rt *rt, uint32_t s, uint32_t e, bool drained, bool *changed) VANE_WUR;
int ops_weight(struct ops_rt *rt, uint32_t s, uint32_t e, uint32_t weight, bool *changed) VANE_WUR;
int ops_load(struct ops_rt *rt, uint32_t s, uint32_t e, uint32_t load, bool *changed) VANE_WUR;
/* VANE_EBUSY when the endpoint is down (the ramp would abort at once). */
int ops_ramp(struct ops_rt *rt, uint32_t s, uint32_t e, const uint8_t *steps, unsigned nsteps,
	     uint64_t every_ms, bool *changed, char *err, size_t errsize) VANE_WUR;

/* Continue the operator ramp that health aborted, from the step it had
 * reached.  VANE_EBUSY: nothing to resume, or the endpoint is down. */
int ops_ramp_resume(struct ops_rt *rt, uint32_t s, uint32_t e, bool *changed, char *err,
		    size_t errsize) VANE_WUR;

/* One latency cell (rtt STEER_RTT_UNKNOWN clears it), or a whole table from
 * a file; `*cells` is the table's size after the change. */
int ops_latency_set(struct ops_rt *rt, const char *service, const char *endpoint,
		    const char *client, uint32_t rtt_ms, uint64_t *cells, char *err,
		    size_t errsize) VANE_WUR;
int ops_latency_load(struct ops_rt *rt, const char *path, uint64_t *cells, char *err,
		     size_t errsize) VANE_WUR;

/* A running ramp as the operator sees it. */
struct ops_ramp_view {
	bool active;
	unsigned step, steps_total, percent;
	uint8_t steps[STEER_MAX_RAMP];
	uint64_t every_ms, started_ms;
	bool recovery;                   /* a recovery ramp (slow start), not an operator's */
};

/* One endpoint's row of `health` and of the verbs' replies. */
struct ops_ep_view {
	char service[DNAME_MAXSTR];
	const char *endpoint;
	bool checked;                    /* has a health check */
	bool up;
	uint64_t since_ms;               /* 0 = unknown */
	uint8_t origin;                  /* enum health_origin, when checked */
	const char *last_error;          /* NULL = none (cleared when up again) */
	const char *last_failure;        /* the last failed probe, kept; NULL = none */
	uint64_t last_failure_ms;
	const char *check;               /* type name, NULL = none */
	const char *address;
	uint64_t probes, failures, transitions, last_probe_ms;
	uint32_t weight, config_weight, weight_override;
	bool weight_set, drained;
	struct ops_ramp_view ramp;
	struct steer_ramp_aborted aborted; /* .set: drained by an aborted ramp */
	uint8_t standby;                 /* enum steer_standby */
	uint32_t load, capacity;
	bool voted;                      /* a fleet votes on its health */
	bool local_up;                   /* when voted: this node's own probes */
	struct ops_vote vote;
};

void ops_endpoint_view(const struct ops_rt *rt, uint32_t s, uint32_t e, uint64_t now,
		       struct ops_ep_view *v);

/* Endpoints in order, for iteration: service count and endpoints of one. */
uint32_t ops_services(const struct ops_rt *rt);
uint32_t ops_endpoints(const struct ops_rt *rt, uint32_t s);

/* Probes run since start (all targets). */
static inline uint64_t ops_probes_total(const struct ops_rt *rt)
{
	return rt->mon.probes_total;
}
