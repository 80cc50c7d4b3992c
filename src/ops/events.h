/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Recent operational events for the HTTP API and the dashboard: health
 * flips, drains, weight changes, ramps, all-down fallbacks, reloads,
 * anycast announce and withdraw.  A
 * fixed ring (the oldest event is overwritten) with ids that only grow, so
 * a poller asks for `since=LAST_ID` and never misses an event that is still
 * in the ring.  Also keeps the counters /metrics reports for these events.
 * Loop thread only, like every state change (HTTP reads it through jobs
 * run on the loop thread).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define EVENTS_RING 1024
#define EVENTS_TEXT_MAX 256

enum event_kind {
	EV_HEALTH_UP = 0, EV_HEALTH_DOWN, EV_DRAIN, EV_UNDRAIN, EV_WEIGHT, EV_RAMP,
	EV_RAMP_STEP, EV_RAMP_DONE, EV_RAMP_ABORT, EV_LOAD, EV_LATENCY, EV_FALLBACK,
	EV_RELOAD, EV_RELOAD_FAILED,
	EV_RECOVERY,     /* a recovery ramp started or stopped: health's doing, no operator's */
	EV_ANYCAST,      /* announced or withdrawn */
	EV_ZONE_EXPIRED, /* a secondary zone expired (SERVFAIL) or came back */
	EV_PROVIDER,     /* a push to a second provider failed or recovered (provider/) */
	EV_DRIFT,        /* a provider's answers or serial drifted from vaned's, or came back */
	EV_KINDS
};

struct event {
	uint64_t id;                     /* 1, 2, ... */
	uint64_t time_ms;                /* Unix time */
	enum event_kind kind;
	char service[256];
	char endpoint[64];
	char text[EVENTS_TEXT_MAX];
};

struct events;

/* Create the ring; NULL when out of memory (events are then dropped). */
struct events *events_new(void);
void events_free(struct events *ev);

/*
 * Record an event (loop thread).  `service` and `endpoint` may be NULL;
 * `key` forms "service/endpoint" are split by events_add_key().  A NULL
 * ring ignores the call, so hooks need no checks.
 */
void events_add(struct events *ev, enum event_kind kind, const char *service,
		const char *endpoint, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void events_add_key(struct events *ev, enum event_kind kind, const char *key,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The id of the newest event (0: none yet). */
uint64_t events_last_id(const struct events *ev);
/* Event `id` while it is still in the ring, else NULL. */
const struct event *events_get(const struct events *ev, uint64_t id);

/* Stable name of a kind ("health", "drain", ...) and, for health, the
 * direction ("up" or "down"; NULL otherwise). */
const char *event_kind_name(enum event_kind k);

/* Counters for /metrics since start. */
uint64_t events_count(const struct events *ev, enum event_kind k);
/* Health transitions of one endpoint to `up` or down, by "service/endpoint". */
uint64_t events_transitions(const struct events *ev, const char *service,
			    const char *endpoint, bool up);

/* A reload finished: `ok`, else `error` says why. */
void events_reload(struct events *ev, bool ok, const char *error);
