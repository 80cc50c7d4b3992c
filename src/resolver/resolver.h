/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * vane-resolver's runtime: the shared state of the loop thread (iterator,
 * upstream I/O, TCP clients, control socket) and the UDP workers.
 */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "conf/resolver_conf.h"
#include "resolver/cache.h"

#define INFRA_SIZE 1024

/* Smoothed RTT per authority address (like Unbound's infra cache). */
struct infra_ent {
	uint8_t family;
	uint8_t addr[16];
	uint32_t srtt_ms;            /* 0 = unknown */
};

struct rworker;
struct rctl;

struct rstats {
	_Atomic uint64_t queries, cache_hits, cache_misses, upstream_queries,
		upstream_timeouts, upstream_tcp, servfail, refused, stale_answers,
		prefetches, resolutions;
};

struct resolver {
	struct resolver_conf *conf;
	char *conf_path;
	struct cache *cache;
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
	struct cache_deleg hints;    /* from root-hints */
	struct infra_ent infra[INFRA_SIZE];
	struct rstats st;
	unsigned inflight;           /* resolutions running (loop thread only) */
	unsigned inflight_max;       /* beyond it, misses get SERVFAIL at once */
	_Atomic int64_t fake_offset; /* fake-time: seconds added by `time +N` */
	uint64_t mono_base;
	bool stopping;
};

/* Now in seconds for the cache: monotonic, or the fake clock. */
uint64_t resolver_now(struct resolver *r);

/* Random bytes from the kernel CSPRNG (getrandom). */
void resolver_random(void *buf, size_t len);

/* ACL: may this client recurse? */
bool resolver_allowed(const struct resolver *r, const struct sockaddr *sa);

/* The client's network for ECS-scoped cache lookups and the upstream ECS option. */
void resolver_client_net(const struct resolver *r, const struct sockaddr *sa,
			 const struct dns_query *q, struct cache_net *net);

/* Load root hints (NS + A/AAAA in master format) into r->hints. */
int resolver_load_hints(struct resolver *r, const char *path) VANE_WUR;

/* RTT bookkeeping (loop thread only). */
uint32_t infra_rtt(struct resolver *r, uint8_t family, const uint8_t *addr);
void infra_update(struct resolver *r, uint8_t family, const uint8_t *addr,
		  uint32_t rtt_ms, bool timeout);

/* Start/stop the control socket (loop thread). */
int rctl_start(struct resolver *r, const char *path) VANE_WUR;
void rctl_close(struct resolver *r);

/* Run the resolver until stopped; returns the exit status. */
int resolver_run(const char *conf_path, struct resolver_conf *conf);
void resolver_stop(struct resolver *r);
