/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The steering runtime on the loop thread: health probes (tcp, http, https,
 * dns, exec), operator changes, latency updates, publication of live states
 * and persistence.  Everything here runs on the loop thread only.
 *
 * Probes: one libuv timer per target drives "wait -> probe -> wait".  The
 * next probe starts one jittered interval after the previous one *started*,
 * so a probe that times out does not add a whole interval; the jitter is
 * downward only (-10%..0), so an endpoint that dies is marked down within
 * interval x fall + timeout + 1 s whatever `fall` is.  The first probe of
 * every target runs at once (spread over 100 ms + 1 ms per 5 checks, at
 * most one interval, to avoid a burst).  With no saved state its result
 * decides directly; a saved state is overturned only by rise/fall probes.
 * At most 1024 probes (and a quarter of RLIMIT_NOFILE) are in flight; the
 * others wait in a FIFO and start as probes finish.  Probe events touch
 * only their own target: no scans.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include <jansson.h>

#include "server/live.h"
#include "server/state.h"

struct server;
struct vane_snapshot;
struct health_http;

enum probe_type { PROBE_TCP = 0, PROBE_HTTP, PROBE_HTTPS, PROBE_DNS, PROBE_EXEC };

/* What and how to probe; copied out of the snapshot so a target outlives it. */
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
	char service[DNAME_MAXSTR];
	char endpoint[STEER_ID_MAX];
};

struct health_target {
	struct live_rt *rt;
	char key[LIVE_KEY_MAX];
	uint32_t hidx;                   /* health index in the current snapshot */
	struct probe_conf pc;
	uv_timer_t timer;                /* next probe, or the timeout of this one */
	bool running;                    /* a probe is in flight */
	bool queued;                     /* due, waiting for room in flight */
	struct health_target *qnext, *qprev;
	bool removed;                    /* freed once the timer handle is closed */
	void *probe;                     /* type-specific probe in flight */
	uint64_t started;                /* uv_now when the probe started */
	uint8_t origin;                  /* enum live_origin */
	bool up;
	uint64_t since_ms;
	uint32_t ok_run, fail_run;
	char err[LIVE_ERR_MAX];
	uint64_t probes, failures, transitions;
	uint64_t last_probe_ms;
	uint32_t last_ms;                /* duration of the last probe */
};

struct live_rt {
	struct server *srv;
	uv_loop_t *loop;
	const struct vane_snapshot *snap;
	struct live_state *work;         /* mutable working copy, never published */
	struct vane_snapshot *held;      /* previous snapshot kept alive after a failed adopt */
	struct health_target **targets;  /* per health index; NULL = no check */
	uint32_t ntargets;
	struct health_target *qhead, *qtail; /* due probes waiting, oldest first */
	uint32_t inflight, inflight_max;
	bool draining;
	struct health_http *http;
	bool closing;

	uv_timer_t publish_timer;        /* coalesces republication */
	bool publish_pending;
	uv_timer_t tick;                 /* 1 s: ramp steps */
	uv_timer_t persist_timer;        /* coalesces writes */
	bool persist_dirty, persist_busy;
	uv_work_t persist_work;
	char *persist_text;
	char *state_dir;

	struct latency_update *lat;      /* runtime latency updates, in order */
	uint32_t nlat;
	uint64_t went_down, went_up;     /* transitions since start */
	uint64_t probes_total;
	unsigned handles_open;
	bool timers_on;
	uint8_t *ramp_logged;            /* per endpoint: last ramp step logged + 1 */
	char *final_text;                /* state written by live_rt_free */
};

/* ---- runtime (admin.c) ---- */

/* Start the runtime for the serving snapshot (and its live0). */
int live_rt_start(struct server *srv, struct live_rt **out) VANE_WUR;
/* A new snapshot was swapped in: carry state by name, re-sync probes, publish. */
void live_rt_adopt(struct live_rt *rt, const struct vane_snapshot *snap);
/* Stop probes and timers (loop thread); the loop then closes the handles. */
void live_rt_close(struct live_rt *rt);
/* Free after the loop ended; writes a final state file synchronously. */
void live_rt_free(struct live_rt *rt);

/* Something changed: publish soon (coalesced), persist soon. */
void live_rt_changed(struct live_rt *rt, bool persist);

/* Replace the runtime latency table (stolen) in the working state. */
void live_rt_set_latency(struct live_rt *rt, struct steer_latency_table *t);
/* Apply one latency change on top of `base` (NULL = the snapshot's table)
 * into a new table `*out`; `err` holds at least 512 bytes. */
int live_latency_apply(const struct vane_snapshot *snap, const struct latency_update *u,
		       const struct steer_latency_table *base, struct steer_latency_table **out,
		       char *err) VANE_WUR;

/* Control verbs; reply objects with "ok". */
json_t *live_rt_admin(struct live_rt *rt, const char *verb, int argc, char **argv);
json_t *live_rt_health_json(struct live_rt *rt);
json_t *live_rt_latency(struct live_rt *rt, int argc, char **argv);
json_t *live_rt_latency_load(struct live_rt *rt, const char *path);


/* ---- health (health.c) ---- */

/* Create, keep or remove targets for `rt->snap`; `old` are the targets of
 * the previous snapshot (consumed).  On VANE_ENOMEM nothing new is kept and
 * the old targets are stopped (they index the previous snapshot): no
 * probes run until the next successful sync. */
int health_sync(struct live_rt *rt, struct health_target **old, uint32_t nold) VANE_WUR;
/* Stop every target. */
void health_close_all(struct live_rt *rt);
/* A probe finished (called by the probe types, at most once per probe). */
void health_probe_done(struct health_target *t, bool ok, const char *err);
/* Ramp abort hook: called when a target goes down. */
void live_rt_target_down(struct live_rt *rt, struct health_target *t);

/* ---- probe types (health_probe.c, health_http.c) ---- */

int probe_tcp_start(struct health_target *t) VANE_WUR;
int probe_dns_start(struct health_target *t) VANE_WUR;
int probe_exec_start(struct health_target *t) VANE_WUR;
/* Abandon the probe in flight: no completion will be reported. */
void probe_cancel(struct health_target *t);

int health_http_init(struct live_rt *rt) VANE_WUR;
int probe_http_start(struct health_target *t) VANE_WUR;
void probe_http_cancel(struct health_target *t);
void health_http_close(struct live_rt *rt);
