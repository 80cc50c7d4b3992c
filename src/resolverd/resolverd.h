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

struct rworker;
struct rctl;

struct resolverd {
	struct resolver core;        /* iterator and cache state (loop thread) */
	struct iter_env env;         /* core's clock, randomness and transport */
	struct resolver_conf *conf;
	char *conf_path;
	uv_loop_t loop;
	uv_async_t async;            /* workers hand misses over */
	uv_signal_t sigint, sigterm, sighup;
	pthread_mutex_t qlock;
	struct creq *qhead, *qtail;  /* misses waiting for the loop */
	struct rworker *workers;
	unsigned nworkers;
	uv_tcp_t *tcp;               /* client listeners */
	unsigned ntcp;
	struct rctl *ctl;
	unsigned inflight;           /* resolutions running (loop thread only) */
	unsigned inflight_max;       /* beyond it, misses get SERVFAIL at once */
	_Atomic int64_t fake_offset; /* fake-time: seconds added by `time +N` */
	uint64_t mono_base;
	bool stopping;
};

/* The iterator's environment over the loop (upstream.c, util.c). */
void resolverd_env_init(struct resolverd *r);

/* Random bytes from the kernel CSPRNG (getrandom). */
void resolverd_random(void *buf, size_t len);

/* ACL: may this client recurse? */
bool resolverd_allowed(const struct resolverd *r, const struct sockaddr *sa);

/* The client's network for ECS-scoped cache lookups and the upstream ECS option. */
void resolverd_client_net(const struct resolverd *r, const struct sockaddr *sa,
			  const struct dns_query *q, struct cache_net *net);

/* Load root hints (NS + A/AAAA in master format) into r->core.hints. */
int resolverd_load_hints(struct resolverd *r, const char *path) VANE_WUR;

/* Start/stop the control socket (loop thread). */
int rctl_start(struct resolverd *r, const char *path) VANE_WUR;
void rctl_close(struct resolverd *r);

/* Run the resolver until stopped; returns the exit status. */
int resolver_run(const char *conf_path, struct resolver_conf *conf);
void resolver_stop(struct resolverd *r);
