/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The wiring of vaned.  Threads:
 *  - N UDP workers per listen address (serve/udp.c), QSBR readers of the
 *    view (daemon/view.h);
 *  - the libuv loop thread: DNS over TCP (serve/tcp.c), the control socket
 *    (ctl/), health probes and operator state (ops/, health/), signals and
 *    reload orchestration (this file); it is the only writer of the view;
 *  - the HTTP API's thread (ctl/http.c), which queues calls to the loop;
 *  - libuv's threadpool: building a snapshot, writing state.json, freeing
 *    old views and snapshots after an RCU grace period.
 */
#pragma once

#include <stdbool.h>
#include <time.h>
#include <uv.h>

#include "anycast/anycast.h"
#include "ctl/ctl.h"
#include "ctl/encode.h"
#include "daemon/snapshot.h"
#include "daemon/view.h"
#include "fleet/fleet.h"
#include "ops/ops.h"
#include "provider/provider.h"

struct udp_group;
struct tcp_server;
struct http_server;

/* A party waiting for a reload to finish (a control client). */
struct reload_waiter {
	struct reload_waiter *next;
	struct ctl_client *client;
};

struct server {
	char *conf_path;                 /* absolute */
	uv_loop_t loop;
	time_t started;
	struct vane_conf *boot_conf;     /* as started: restart-only settings */
	struct vane_snapshot *snap;      /* serving (loop thread) */
	struct view_root view;           /* what the workers read */
	struct ops_rt *ops;              /* health and operator state */
	struct fleet *fleet;             /* NULL: no cluster: section */
	struct provider_set *providers;  /* NULL: no providers: section */
	struct ctl_host host;            /* the command handlers (commands.c) */

	struct udp_group *udp;
	struct tcp_server *tcp;
	struct ctl_sock *ctl;
	struct http_server *http;        /* NULL: no http: section */
	struct anycast_rt *anycast;      /* NULL: no anycast: addresses */
	struct notifier *notifier;       /* NOTIFY out and the secondaries' serials */
	struct secondaries *secondaries; /* zones with primary: (daemon/secondary.h) */

	uv_signal_t sig_hup, sig_term, sig_int;
	uv_timer_t fallback_timer;       /* rate-limited all-down log */
	uv_timer_t export_timer;         /* export: healthy (daemon/export.h) */
	uint64_t fallback_last[256];
	uint64_t all_drained_last[256];
	uint64_t steered_last[256];      /* by counter slot: the deletion guard's */
	uint64_t svc_queried_ms[256];    /* last answer seen (rt clock) */
	struct guard_ctx reload_guard;   /* for the reload in progress */
	uint64_t *reload_queried;        /* its svc_queried_ms, by old service */
	bool signals_on;
	bool draining;                   /* withdrawn, answering until drain-time ends */
	bool stopping;

	/* Reload state machine, loop thread only. */
	bool reload_busy;
	bool reload_again;
	bool force_next;                 /* a queued reload asked for --force */
	bool reload_force;               /* the reload in progress */
	struct reload_waiter *waiting;   /* for the reload in progress */
	struct reload_waiter *queued;    /* for the next one */
	uv_work_t reload_work;
	struct live_state *reload_prev;  /* a copy of the live state, for the build */
	struct vane_snapshot *reload_new;
	struct vane_snapshot *reload_old;
	char *reload_err;
};

/* Run vaned with the config at `path` until stopped; `commands` fills the
 * command handlers (server_commands).  A corrupt state.json stops the start
 * unless `ignore_state`.  Returns the process exit status. */
int server_main(const char *path, bool ignore_state, void (*commands)(struct server *srv));

/* Start a reload (loop thread); `c` (may be NULL) gets the reply.  `force`
 * loads zones whose serial went back (RFC 1982) instead of keeping the
 * serving version. */
void server_reload(struct server *srv, struct ctl_client *c, bool force);

/* Begin a clean shutdown (loop thread): close handles, let the loop end. */
void server_stop(struct server *srv);

/* A stop asked for (SIGTERM, `vanectl stop`): with anycast, withdraw and
 * drain first (anycast.drain-time), then server_stop(); a second request
 * during the drain stops at once. */
void server_request_stop(struct server *srv);

/* Every serving thread's counters, into `blocks`; returns how many. */
unsigned server_stat_blocks(struct server *srv, struct srv_stats **blocks, unsigned max);

/* The zones of the serving snapshot as control rows (`names` holds
 * DNAME_MAXSTR bytes per zone; rows and names: snap->nzones entries). */
void server_zone_rows(const struct server *srv, struct ctl_zone_row *rows,
		      char (*names)[DNAME_MAXSTR]);

/* Fill the command handlers (commands.c). */
void server_commands(struct server *srv);

/* vaned --check (check.c): validate the config, every zone and the
 * services exactly as a reload would build them; print problems as
 * `file:line: message`.  Returns the exit status. */
int server_check(const char *path);
