/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The anycast runtime of vaned: every self-check interval it asks vaned's
 * own listener for the canary name through each anycast address (a real
 * DNS query over UDP), asks the host whether every zone is loaded, polls
 * BIRD for the real state of the protocol (and of the uplink), feeds the
 * results to the pure state machine (anycast/machine.h) and carries out
 * its actions: enable or disable the BIRD protocol (anycast/bird.h), or ask
 * the peers' HTTP APIs (GET /api/v1/anycast, on libuv's threadpool).
 *
 * On stop it withdraws first, keeps the server answering for drain-time,
 * then lets the daemon stop.  Loop thread only.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "conf/conf.h"
#include "lib/errcode.h"

struct anycast_rt;

struct events;

struct anycast_hooks {
	void *ctx;
	/* The event ring transitions also go to (NULL: none). */
	struct events *(*events_of)(void *ctx);
	/* The soft check: true when every zone of the serving snapshot is
	 * loaded; else false with the reason in `why`. */
	bool (*zones_ok)(void *ctx, char *why, size_t size);
	/* With a cluster (NULL: none) and no anycast.peers: how many other
	 * nodes announce and pass their self-check, or -1 when the cluster
	 * cannot tell. */
	int (*cluster_peers)(void *ctx);
	/* This node's state after every step, for the cluster to publish. */
	void (*state_changed)(void *ctx, bool announced, bool healthy);
};

/* What `vanectl anycast`, the peers and /metrics see.  Strings are
 * borrowed from the runtime until the next turn of the loop. */
struct anycast_status {
	bool enabled;                    /* anycast: configured */
	const char *state;               /* withdrawn | announced | stopped */
	bool announced, healthy, kept_last;
	const char *reason;              /* why the last transition */
	const char *last_error;          /* the last failed self-check, "" if none */
	uint64_t transitions;
	long long changed_at_ms;         /* wall clock of the last transition, 0 never */
	uint32_t ok_run, fail_run;
	uint64_t checks, check_failures;
	bool bird_connected, bird_known, bird_up;
	bool uplink_known, uplink_up;
	bool peers_known;
	unsigned healthy_peers;
	const char *protocol, *uplink;   /* uplink may be NULL */
	const struct conf_listen *addresses;
	unsigned naddresses;
};

/* Start when `conf` has anycast addresses (else *out = NULL, 0).  The
 * listeners must already be up: the first check runs at once. */
int anycast_start(uv_loop_t *loop, const struct vane_conf *conf, const struct anycast_hooks *h,
		  struct anycast_rt **out) VANE_WUR;

/* Withdraw, wait for BIRD's answer (or its timeout), keep serving for
 * drain-time, then call `done(ctx)` once. */
void anycast_stop(struct anycast_rt *rt, void (*done)(void *ctx), void *ctx);

/* The state now (rt may be NULL: not enabled). */
void anycast_get_status(const struct anycast_rt *rt, struct anycast_status *st);

/* Close every handle; frees itself once libuv and the threadpool are done. */
void anycast_close(struct anycast_rt *rt);
