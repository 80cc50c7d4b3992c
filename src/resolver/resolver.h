/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The pure core of the resolver: what the iterator and the cache need
 * (configuration, cache, root hints, RTT table, counters) and the small
 * environment it runs in.  No threads, no clock reads, no I/O: time,
 * randomness and the upstream transport come in through `struct iter_env`,
 * so the same code runs in vane-resolver (src/resolverd, libuv), in the
 * in-process replayer (tests/replay) and in unit tests.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/resolver_conf.h"
#include "resolver/cache.h"
#include "resolver/zones.h"

#define INFRA_SIZE 1024

struct itq;

/* A server's address: an authority (or a forwarder) and its port. */
struct iter_addr {
	uint8_t family;              /* 1 = IPv4, 2 = IPv6 (as in cache_deleg_ns) */
	uint8_t addr[16];
	uint16_t port;               /* 0 = 53 */
};

/*
 * What the iterator needs from the world.  All callbacks are called on the
 * thread that drives the iterator (vane-resolver: the loop thread).
 *
 * Every successful `send` for a query ends in exactly one of:
 *  - the iterator calls `cancel` for it (it took a response through
 *    iter_on_packet, or it no longer needs one), or
 *  - the transport calls iter_on_timeout (it has then released the send
 *    itself, and the iterator will not cancel it).
 * A query has at most one send outstanding, so `q` identifies it.
 */
struct iter_env {
	void *ctx;
	/*
	 * Send `wire` (a complete DNS message, built and owned by the iterator,
	 * valid during this call only) to `to` (its port, 0 = 53), over TCP (RFC 7766
	 * framing) when `tcp`; report packets with iter_on_packet and give up
	 * with iter_on_timeout after `timeout_ms`.  `*tx` may be set to the
	 * transport's state for this send; `cancel` gets it back.  Never calls
	 * back from inside this call.  Returns 0, or < 0 when nothing was sent
	 * (the iterator then treats the address as timed out).
	 */
	int (*send)(void *ctx, struct itq *q, const uint8_t *wire, size_t len,
		    const struct iter_addr *to, bool tcp, uint32_t timeout_ms,
		    void **tx);
	/* Forget the outstanding send of `q` (`tx`: what send stored there):
	 * no more callbacks for it. */
	void (*cancel)(void *ctx, struct itq *q, void *tx);
	/* Seconds on the cache's clock (any origin; fake time in tests). */
	uint64_t (*now)(void *ctx);
	/* Milliseconds on a monotonic clock, for round-trip times. */
	uint64_t (*now_ms)(void *ctx);
	/* Fill `buf` with unpredictable bytes (query IDs, 0x20 case). */
	void (*random)(void *ctx, void *buf, size_t len);
};

/* Smoothed RTT per authority address (like Unbound's infra cache). */
struct infra_ent {
	uint8_t family;
	uint8_t addr[16];
	uint32_t srtt_ms;            /* 0 = unknown */
};

/* Counters: the UDP workers add to the client-side ones concurrently. */
struct rstats {
	_Atomic uint64_t queries, cache_hits, cache_misses, upstream_queries,
		upstream_timeouts, upstream_tcp, servfail, refused, stale_answers,
		prefetches, resolutions,
		merged;   /* misses that waited for an identical one (resolverd) */
};

struct resolver {
	const struct resolver_conf *conf; /* owned by the caller */
	struct cache *cache;              /* owned by the caller */
	const struct iter_env *env;
	struct cache_deleg hints;         /* the root zone cut to start from */
	struct rzones zones;              /* forward:, stub:, zones-ttl: (resolver_zones_init) */
	struct infra_ent infra[INFRA_SIZE];
	struct rstats st;
};

/*!
 * \brief Set up `r` (zeroed here) over `conf`, `cache` and `env` (all
 * borrowed: they must outlive `r`).  Root hints are left empty for the
 * caller to fill (resolverd reads a file, the replayer the scenario).
 */
void resolver_init(struct resolver *r, const struct resolver_conf *conf,
		   struct cache *cache, const struct iter_env *env);

/* Compile conf's forward:, stub: and zones-ttl: into r->zones (after
 * resolver_init); resolver_zones_free releases them.  Returns 0 or < 0. */
int resolver_zones_init(struct resolver *r) VANE_WUR;
void resolver_zones_free(struct resolver *r);

/* The min-ttl (seconds) for cached data of `name` (lower-cased wire). */
uint32_t resolver_min_ttl(const struct resolver *r, const uint8_t *name);

/* The cache settings that `conf` asks for; `seed` is the hash seed. */
void resolver_cache_conf(const struct resolver_conf *conf, uint32_t seed,
			 struct cache_conf *cc);

/* Now in seconds on the cache's clock. */
static inline uint64_t resolver_now(const struct resolver *r)
{
	return r->env->now(r->env->ctx);
}

/* RTT bookkeeping (the iterator's thread only). */
uint32_t infra_rtt(const struct resolver *r, uint8_t family, const uint8_t *addr);
void infra_update(struct resolver *r, uint8_t family, const uint8_t *addr,
		  uint32_t rtt_ms, bool timeout);
