/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The vaned runtime.  Threads:
 *  - N UDP workers per listen address (udp.c), QSBR readers of `snap`;
 *  - the libuv loop thread: TCP (tcp.c), the control socket (ctl.c), signals
 *    and reload orchestration (this file);
 *  - libuv's threadpool: building a new snapshot and freeing an old one
 *    after an RCU grace period.
 * `snap` is written only on the loop thread, so the loop thread reads it
 * without RCU; every other reader goes through rcu_dereference.
 */
#pragma once

#include <stdbool.h>
#include <time.h>
#include <uv.h>

#include <jansson.h>

#include "server/snapshot.h"
#include "server/stats.h"

struct udp_group;
struct tcp_server;
struct ctl_server;
struct http_server;
struct events;
struct live_state;
struct live_rt;

/* A party waiting for a reload to finish (a control client). */
struct reload_waiter {
	struct reload_waiter *next;
	/* Called on the loop thread with the reload reply; `res` is borrowed. */
	void (*done)(struct reload_waiter *w, json_t *res);
};

struct server {
	char *conf_path;                 /* absolute */
	struct vane_snapshot *snap;      /* RCU-published, see above */
	/* Health, admin and latency state, RCU-published like `snap` and
	 * written only on the loop thread (server/live.h).  Readers use it
	 * only when live->snap == snap, else snap->live0. */
	struct live_state *live;
	struct live_rt *rt;              /* probes and operator state (server/health.h) */
	const struct live_state *live_pinned; /* read by a reload build: not freed */
	bool pinned_retired;
	uv_loop_t loop;
	time_t started;

	/* Settings bound at start; a reload that changes them only warns. */
	struct vane_conf *boot_conf;     /* a private copy loaded at start */

	struct udp_group *udp;
	struct tcp_server *tcp;
	struct ctl_server *ctl;
	struct http_server *http;        /* NULL: no http: section */
	struct events *events;           /* recent events (server/events.h), loop thread */

	uv_signal_t sig_hup, sig_term, sig_int;
	uv_timer_t fallback_timer;       /* rate-limited all-down log */
	uint64_t fallback_last[STATS_MAX_SERVICES];
	bool signals_on;
	bool stopping;

	/* Reload state machine, loop thread only. */
	bool reload_busy;
	bool reload_again;
	struct reload_waiter *waiting;   /* for the reload in progress */
	struct reload_waiter *queued;    /* for the next one */
	uv_work_t reload_work;
	struct vane_snapshot *reload_new;
	struct vane_snapshot *reload_old;
	char *reload_err;
	json_t *reload_res;
};

/* Run vaned with the config at `path` until stopped.  Returns the process
 * exit status. */
int server_main(const char *path);

/* Start a reload (loop thread); `w` (may be NULL) is told when it is done. */
void server_reload(struct server *srv, struct reload_waiter *w);
/* Forget a waiter whose client went away. */
void server_reload_cancel(struct server *srv, struct reload_waiter *w);

/* Begin a clean shutdown (loop thread): close handles, let the loop end. */
void server_stop(struct server *srv);

/* Publish `l` as srv->live (loop thread); the previous state is freed after
 * a grace period, off the loop thread. */
void server_live_publish(struct server *srv, struct live_state *l);

/* The live state to use with `snap` (loop thread). */
const struct live_state *server_live_for(const struct server *srv,
					 const struct vane_snapshot *snap);

/* Sum every thread's counters into a `stats` reply.  */
json_t *server_stats_json(struct server *srv);

/* The zone's apex as "example.com." */
const char *server_zone_fqdn(const struct zone_state *st, char *buf, size_t size);
