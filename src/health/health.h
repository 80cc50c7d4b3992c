/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Health probes (tcp, http, https, dns, exec) on one libuv loop.  Probes do
 * I/O and report; the pure fold (health/fold.h) turns results into states;
 * the owner (ops/) is told of every decision through one hook and maps a
 * target to the endpoints that use it.
 *
 * Targets are distinct (check, address) pairs: two services that point at
 * the same backend with the same check share one probe and one state, so
 * they never disagree about it.  `health_mon_sync` maps each health index
 * of a steering build (steer/build.h: one per endpoint with a check) to its
 * target.
 *
 * Scheduling: one libuv timer per target drives "wait -> probe -> wait".
 * The next probe starts one jittered interval after the previous one
 * *started*, so a probe that times out does not add a whole interval; the
 * jitter is downward only (-10%..0), so an endpoint that dies is marked
 * down within interval x fall + timeout + 1 s whatever `fall` is.  The
 * first probe of every target runs at once (spread over 100 ms + 1 ms per 5
 * checks, at most one interval, to avoid a burst).  At most 1024 probes
 * (and a quarter of RLIMIT_NOFILE) are in flight; the others wait in a FIFO
 * and start as probes finish.  Loop thread only: the http(s) probes' I/O
 * runs on a probe thread of its own (http.c), which reports each result
 * back to the loop thread, so targets and states are only ever touched
 * there.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "conf/conf.h"
#include "health/fold.h"
#include "lib/dname.h"
#include "steer/build.h"


struct health_mon;
struct health_http;

enum probe_type { PROBE_TCP = 0, PROBE_HTTP, PROBE_HTTPS, PROBE_DNS, PROBE_EXEC };

/* What and how to probe; copied out of the config so a target outlives it.
 * Two checks are the same target when their probe_conf bytes are equal. */
struct probe_conf {
	enum probe_type type;
	uint16_t port;
	char path[512];
	char host[256];
	char body[256];
	char query[300];
	char command[1024];
	int expect;                      /* http status, or dns rcode */
	uint32_t interval_ms, timeout_ms, rise, fall;
	bool insecure;
	char address[64];                /* text */
	struct sockaddr_storage addr;    /* address and port */
	socklen_t addrlen;
	/* exec only (its command may name them); empty for shared types. */
	char service[DNAME_MAXSTR];
	char endpoint[STEER_ID_MAX];
};

struct health_target {
	struct health_mon *mon;
	struct probe_conf pc;
	struct health_state st;          /* folded state */
	char err[HEALTH_ERR_MAX];        /* current error: cleared when the target comes up */
	char last_fail[HEALTH_ERR_MAX];  /* the last failure, kept for the record */
	uint64_t last_fail_ms;           /* its wall clock time, 0 = none */
	uint64_t last_probe_ms;          /* wall clock of the last result */
	uint32_t last_ms;                /* duration of the last probe */

	/* Scheduling, private to health.c. */
	uv_timer_t timer;                /* next probe, or the timeout of this one */
	bool running, queued, removed, armed;
	struct health_target *qnext, *qprev;
	void *probe;                     /* type-specific probe in flight */
	void *http;                      /* http(s): kept between probes (http.c) */
	uint64_t started;                /* uv_now when the probe started */
	uint64_t deadline;               /* uv_now when its timeout is due */
	bool stall_grace;                /* the timeout was re-armed after a stall */
};

/* Told of every decision of a target (loop thread). */
struct health_hooks {
	void *ctx;
	/* `t` was decided (ev->decided) or its error text changed. */
	void (*changed)(void *ctx, struct health_target *t, const struct health_event *ev);
};

struct health_mon {
	uv_loop_t *loop;
	struct health_hooks hooks;
	struct health_target **targets;  /* distinct targets */
	uint32_t ntargets;
	struct health_target **by_index; /* health index -> target (NULL: none) */
	uint32_t nindex;
	struct health_target *qhead, *qtail; /* due probes waiting, oldest first */
	uint32_t inflight, inflight_max;
	uint64_t rng;                    /* jitter stream (lib/rand.h) */
	uint64_t probes_total;
	unsigned handles_open;
	bool draining, closing;
	struct health_http *http;
};

/* Start an empty monitor on `loop`. */
int health_mon_init(struct health_mon *mon, uv_loop_t *loop, const struct health_hooks *hooks,
		    uint64_t seed) VANE_WUR;

/*
 * Map the health indices of `b` (checks from `checks`) to targets: a
 * target whose probe_conf is unchanged keeps its state, counters and timer;
 * new targets start from `initial[h]` (the state the owner knows for index
 * h: saved, carried or assumed) and probe at once; targets no index uses
 * any more are stopped.  On VANE_ENOMEM nothing changed.
 */
int health_mon_sync(struct health_mon *mon, const struct steer_build *b,
		    const struct conf_check *checks, const struct health_state *initial) VANE_WUR;

/* The target of health index `h`, or NULL. */
static inline struct health_target *health_mon_target(const struct health_mon *mon, uint32_t h)
{
	return h < mon->nindex ? mon->by_index[h] : NULL;
}

/* Stop every probe and timer; the loop then closes the handles. */
void health_mon_close(struct health_mon *mon);

/* "tcp", "http", ... */
const char *probe_type_name(enum probe_type t);

/* ---- for the probe types (probe.c, http.c) ---- */

/* A probe finished (called at most once per probe). */
void health_probe_done(struct health_target *t, bool ok, const char *err);

int probe_tcp_start(struct health_target *t) VANE_WUR;
int probe_dns_start(struct health_target *t) VANE_WUR;
int probe_exec_start(struct health_target *t) VANE_WUR;
/* Abandon the probe in flight: no completion will be reported. */
void probe_cancel(struct health_target *t);

int health_http_init(struct health_mon *mon) VANE_WUR;
int probe_http_start(struct health_target *t) VANE_WUR;
void probe_http_cancel(struct health_target *t);
/* The loop thread's own limit for an http(s) probe: the probe thread
 * applies the check's timeout (http.c). */
uint32_t probe_http_backstop_ms(const struct probe_conf *pc);
/* Free what http.c keeps for `t` between probes (its easy handle). */
void probe_http_free(struct health_target *t);
void health_http_close(struct health_mon *mon);
