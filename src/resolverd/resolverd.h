/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * vane-resolver's runtime: the pure core (src/resolver) plus what runs it:
 * the libuv loop thread (iterator, upstream I/O, TCP clients, control
 * socket) and the UDP workers.
 */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "conf/resolver_conf.h"
#include "resolver/resolver.h"

#define RESOLVERD_RUNNING_BUCKETS 1024

struct rworker;
struct rt_ctl;
struct upq;
struct rtcp_conn;

struct resolverd {
	struct resolver core;        /* iterator and cache state (loop thread) */
	struct iter_env env;         /* core's clock, randomness and transport */
	/* As loaded at start and never written after: the UDP workers read
	 * it (ACL, ECS, fake-time) without locks. */
	struct resolver_conf *conf;
	/* The loop thread's copy (shallow: its pointers are conf's), which
	 * core.conf points to; `reload` updates its knobs in place. */
	struct resolver_conf loop_conf;
	atomic_bool prefetch;        /* the one reloadable knob workers read */
	char *conf_path;
	uv_loop_t loop;
	uv_async_t async;            /* workers hand misses over */
	uv_signal_t sigint, sigterm;
	pthread_mutex_t qlock;
	struct creq *qhead, *qtail;  /* misses waiting for the loop */
	struct rworker *workers;
	unsigned nworkers;
	uv_tcp_t *tcp;               /* client listeners */
	unsigned ntcp;
	struct rtcp_conn *conns;     /* open client connections (loop thread) */
	struct rt_ctl *ctl;
	struct upq *upqs;            /* upstream queries in flight (loop thread) */
	bool draining;               /* shutting down: no new upstream queries */
	unsigned inflight;           /* resolutions running (loop thread only) */
	unsigned inflight_max;       /* beyond it, misses get SERVFAIL at once */
	/* Resolutions running, by question (rserver.c): identical misses
	 * wait on the one already out instead of asking upstream again. */
	struct creq *running[RESOLVERD_RUNNING_BUCKETS];
	_Atomic int64_t fake_offset; /* fake-time: seconds added by `time +N` */
	uint64_t mono_base;
	atomic_bool stopping;
};

/* The iterator's environment over the loop (upstream.c). */
void resolverd_env_init(struct resolverd *r);

/* Shutting down: end every upstream query in flight (each reported as a
 * timeout, with no new ones sent), so every resolution finishes. */
void resolverd_upstream_drain(struct resolverd *r);

/* Random bytes from the kernel CSPRNG (getrandom). */
void resolverd_random(void *buf, size_t len);

/* ACL: may this client recurse? */
bool resolverd_allowed(const struct resolverd *r, const struct sockaddr *sa);

/* The client's network for ECS-scoped cache lookups and the upstream ECS option. */
void resolverd_client_net(const struct resolverd *r, const struct sockaddr *sa,
			  const struct dns_query *q, struct cache_net *net);

/* Load root hints (NS + A/AAAA in master format) into r->core.hints. */
int resolverd_load_hints(struct resolverd *r, const char *path) VANE_WUR;

/* Start/stop the control socket (loop thread; rt/ctlsock.h). */
int rctl_start(struct resolverd *r, const char *path) VANE_WUR;
void rctl_close(struct resolverd *r);

/* Run the resolver until stopped (takes `conf`); returns the exit status
 * after every thread has been joined and everything freed. */
int resolver_run(const char *conf_path, struct resolver_conf *conf);
/* Ask the loop to stop (loop thread). */
void resolver_stop(struct resolverd *r);
