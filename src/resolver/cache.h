/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The resolver's cache: answers, negative answers and delegations.
 *
 * Pure: no I/O and no clock reads; every call takes `now` (seconds, any
 * monotonic origin, the same one for all calls).  Thread-safe: the cache is
 * split into shards by name hash, each with its own mutex; every call holds
 * at most one shard lock at a time (except cache_set_conf, cache_flush(all),
 * cache_stats and cache_dump, which visit shards one by one) and copies data
 * out under the lock, so callers never hold pointers into the cache.
 *
 * Answers are stored ready to send: the answer, authority and additional
 * sections as wire RRs laid out exactly where they sit in a response to the
 * same question (header 12 bytes, question qname_len + 4 bytes), with name
 * compression resolved at store time and the offset of every RR's TTL field
 * recorded.  A hit is therefore a header write, a copy of the client's
 * question, one memcpy of the sections, a TTL patch per RR and an optional
 * OPT record: no malloc and one lock hold (cache_answer).
 *
 * Semantics:
 *  - TTLs count down: each RR is emitted with its stored TTL minus the time
 *    since it was stored.  The entry lives for the smallest TTL of its RRs.
 *  - min-ttl / max-ttl clamp every positive RR's TTL at store time (so
 *    min-ttl holds a record past its TTL, as "rogue ISP" resolvers do).
 *  - Negative answers (NXDOMAIN, NODATA; RFC 2308 5) need an SOA in the
 *    authority section and live min(SOA TTL, SOA MINIMUM), capped by
 *    negative-max-ttl (min-ttl is not applied).  Without an SOA they are not
 *    cached.  The SOA's TTL is emitted as the remaining negative TTL.
 *  - Serve-stale (RFC 8767): expired entries are kept stale-max-age longer
 *    and are returned, with every TTL set to 30 (RFC 8767 4), only when the
 *    caller passes CACHE_STALE_OK.
 *  - Prefetch: a hit with less than 10% of the entry's TTL left, on an entry
 *    that had at least `prefetch_min_hits` earlier hits, sets hit->prefetch
 *    once per stored entry; the caller refreshes it in the background.
 *  - ECS (RFC 7871 7.3): an entry carries the scope the authority returned.
 *    Scope 0 (or no ECS) is shared by all clients.  Scope S is valid for
 *    clients of the same family whose address shares the first S bits and
 *    whose source prefix is at least S bits.  A lookup takes the longest
 *    matching scope.  Stale and prefetch work the same for scoped entries.
 *  - LRU eviction per shard, bounded by max_bytes / shards; the accounted
 *    bytes are the entries' allocations (header, name, TTL table, wire).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/errcode.h"
#include "lib/pkt.h"

#define CACHE_STALE_TTL 30      /* RFC 8767 4: TTL of stale answers */
#define CACHE_DELEG_MAXNS 13    /* NS names kept per zone cut */
#define CACHE_DELEG_MAXADDR 4   /* addresses kept per NS name */

struct cache;

/* Settings; copied by cache_new and cache_set_conf. */
struct cache_conf {
	size_t max_bytes;           /* cache-size; 0 = 64 MiB */
	uint32_t min_ttl;           /* min-ttl */
	uint32_t max_ttl;           /* max-ttl; 0 = 86400 */
	uint32_t neg_max_ttl;       /* negative-max-ttl; 0 = 3600 */
	bool serve_stale;           /* serve-stale */
	uint32_t stale_max_age;     /* seconds kept past expiry when serve_stale */
	bool prefetch;              /* prefetch */
	uint32_t prefetch_min_hits; /* earlier hits needed for a prefetch signal */
	unsigned shards;            /* power of two; 0 = 16 (cache_new only) */
	uint32_t hash_seed;         /* random, against hash flooding (cache_new only) */
};

/* A network: client address + source prefix on lookup, entry scope on store. */
struct cache_net {
	uint8_t family;             /* 0 = unknown, 1 = IPv4, 2 = IPv6 (ECS numbering) */
	uint8_t bits;               /* prefix length; 0 = shared / no ECS */
	uint8_t addr[16];           /* bits past `bits` are ignored */
};

/* Kinds of entries. */
enum cache_kind {
	CACHE_POSITIVE = 0,
	CACHE_NXDOMAIN,
	CACHE_NODATA,
	CACHE_DELEG,                /* zone cut for the iterator (cache_put_deleg) */
};

/* Flags for cache_answer. */
enum cache_flags {
	CACHE_STALE_OK = 1 << 0,    /* return an expired entry within stale-max-age */
};

/* What a hit was, filled by cache_answer. */
struct cache_hit {
	uint8_t kind;               /* enum cache_kind */
	uint8_t rcode;              /* rcode written in the response */
	uint8_t scope;              /* ECS scope of the entry (0 = shared) */
	bool stale;                 /* served past expiry (TTLs are 30) */
	bool prefetch;              /* refresh this entry now, in the background */
	bool tc;                    /* did not fit: header + question with TC=1 */
	uint32_t ttl;               /* remaining entry TTL (CACHE_STALE_TTL when stale) */
};

/* A zone cut for the iterator: NS names with the addresses known for them. */
struct cache_deleg_ns {
	uint8_t name[DNAME_MAXLEN]; /* lower-cased wire name */
	uint8_t naddr;
	struct {
		uint8_t family;     /* 1 = IPv4, 2 = IPv6 */
		uint8_t addr[16];
	} addr[CACHE_DELEG_MAXADDR];
};

struct cache_deleg {
	uint8_t zone[DNAME_MAXLEN]; /* lower-cased wire name of the cut */
	uint8_t nns;
	bool stale;                 /* set by cache_get_deleg */
	uint32_t ttl;               /* set by cache_get_deleg: remaining TTL */
	struct cache_deleg_ns ns[CACHE_DELEG_MAXNS];
};

/* One entry as cache_dump shows it; pointers are valid during the callback only. */
struct cache_info {
	const uint8_t *name;
	uint16_t qtype;
	uint16_t qclass;
	uint8_t kind;
	uint8_t rcode;
	struct cache_net scope;
	int64_t ttl;                /* remaining; negative when stale */
	uint32_t orig_ttl;
	uint32_t hits;
	uint16_t ancount, nscount, arcount;
	size_t bytes;
};

struct cache_stats {
	uint64_t entries;
	uint64_t bytes;             /* accounted bytes of all entries */
	uint64_t max_bytes;
	uint64_t hits;              /* answers returned (fresh or stale) */
	uint64_t stale_hits;
	uint64_t misses;
	uint64_t prefetches;        /* prefetch signals given */
	uint64_t inserts;
	uint64_t evictions;         /* LRU evictions for space */
};

/*!
 * \brief Create a cache.
 * \param conf  Settings (copied); NULL = defaults.
 * \return The cache (owned by the caller, release with cache_free), or NULL on ENOMEM.
 */
struct cache *cache_new(const struct cache_conf *conf);

/*! \brief Free the cache and all entries.  No other call may be running. */
void cache_free(struct cache *c);

/*!
 * \brief Replace the TTL/stale/prefetch/size settings (on reload).
 * Entries already stored keep their clamped TTLs; a smaller max_bytes is
 * enforced by evicting on the next insert into each shard.  Thread-safe.
 */
void cache_set_conf(struct cache *c, const struct cache_conf *conf);

/*!
 * \brief Answer a query from the cache: the UDP hot path.
 *
 * Writes a complete response into `out`: the query's ID, QR RA, RD and CD
 * copied from the query, the entry's rcode, the question copied from
 * `query` (keeping the client's case), the stored sections with counted-down
 * TTLs, and when the query had EDNS an OPT record (payload 1232) echoing
 * the query's ECS option with the entry's scope (RFC 7871 7.2.1).  If the
 * response is longer than `outcap`, a header + question (+ OPT) with TC=1 is
 * written instead (hit->tc); pass cache_udp_limit(q) for UDP.
 *
 * \param q       The parsed query (dns_query_parse gave DNS_V_OK); its
 *                lower-cased qname, qtype, qclass are the key.
 * \param query   The query's bytes (the question is copied from offset 12).
 * \param client  The client's network for ECS-scoped entries: the query's
 *                ECS option (family, source, address) or the source address
 *                with the configured ecs-prefix; NULL or bits 0 = shared only.
 * \param now     Current time in seconds.
 * \param flags   CACHE_STALE_OK to accept an entry within stale-max-age.
 * \param hit     Filled on success; may be NULL.
 * \retval >0           Response length.
 * \retval VANE_ENOENT  Miss (also: expired, unless stale allowed).
 * \retval VANE_ESPACE  `outcap` cannot even hold header + question + OPT.
 * Thread-safe; one shard lock hold, no allocation.
 */
int cache_answer(struct cache *c, const struct dns_query *q, const uint8_t *query,
		 const struct cache_net *client, uint64_t now, unsigned flags,
		 uint8_t *out, size_t outcap, struct cache_hit *hit) VANE_WUR;

/*! \brief Largest UDP response for `q`: its EDNS payload (max 1232) or 512. */
static inline size_t cache_udp_limit(const struct dns_query *q)
{
	if (!q->edns)
		return DNS_UDP_MIN;
	return q->edns_udp < DNS_EDNS_DEFAULT ? q->edns_udp : DNS_EDNS_DEFAULT;
}

/*!
 * \brief Store a response for (qname, qtype, qclass) at ECS scope `scope`.
 *
 * `msg` is a complete DNS message (as received from an authority, or as
 * assembled by the iterator for the client, e.g. a CNAME chain): its rcode
 * and its answer, authority and additional sections are stored (OPT, TSIG
 * and SIG(0) records are dropped; names are decompressed and recompressed
 * for the cached layout).  The question section of `msg` is skipped, not
 * checked: the caller has already matched it.  NOERROR with an RR of qtype
 * (or a CNAME for any qtype) in the answer is positive; NXDOMAIN, and NOERROR
 * without such RR, are negative and need an SOA in the authority section.
 * An entry with the same key and scope is replaced (its prefetch flag and
 * hit count reset).
 *
 * \param qname  Lower-cased wire name.
 * \param scope  The ECS scope the authority returned (family, scope bits,
 *               address); NULL or bits 0 = shared by all clients.
 * \retval 0             Stored.
 * \retval VANE_ENOTSUP  Not cacheable (other rcode, negative without SOA,
 *                       TTL 0 after clamping, or larger than the shard budget).
 * \retval VANE_EMALF    `msg` does not parse.
 * \retval VANE_ENOMEM
 * Thread-safe; copies `msg`.
 */
int cache_put(struct cache *c, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
	      const struct cache_net *scope, const uint8_t *msg, size_t len,
	      uint64_t now) VANE_WUR;

/* cache_put with `min_ttl` (seconds) as the floor for positive TTLs instead
 * of the configured min-ttl: the per-zone min-ttl (resolver/zones.h). */
int cache_put_floor(struct cache *c, const uint8_t *qname, uint16_t qtype,
		    uint16_t qclass, const struct cache_net *scope, const uint8_t *msg,
		    size_t len, uint64_t now, uint32_t min_ttl) VANE_WUR;

/*!
 * \brief Store a zone cut (NS names and the addresses known for them).
 * TTL is clamped by min-ttl/max-ttl.  Replaces an earlier cut for the zone.
 * \retval 0, VANE_EINVAL (no NS), VANE_ENOTSUP (TTL 0), VANE_ENOMEM.
 */
int cache_put_deleg(struct cache *c, const struct cache_deleg *d, uint32_t ttl,
		    uint64_t now) VANE_WUR;

/*!
 * \brief Find the deepest cached zone cut at or above `qname` (lower-cased).
 * Copies the cut into `out` (caller-owned).  An expired cut is returned (with
 * out->stale) only when `flags` has CACHE_STALE_OK and it is within
 * stale-max-age.  Zone cuts do not count in hits/misses.
 * \retval 0, VANE_ENOENT (no cut: start from the root hints).
 */
int cache_get_deleg(struct cache *c, const uint8_t *qname, uint64_t now,
		    unsigned flags, struct cache_deleg *out) VANE_WUR;

/*!
 * \brief Remove entries.
 * \param name     Lower-cased wire name; NULL = everything.
 * \param subtree  Also remove every name below `name`.
 * \return Number of entries removed.
 */
size_t cache_flush(struct cache *c, const uint8_t *name, bool subtree);

/*!
 * \brief Call `cb` for every entry, shard by shard, under that shard's lock:
 * `cb` must not call into the cache.  Stops early when `cb` returns non-zero
 * and returns that value; else 0.
 */
int cache_dump(struct cache *c, uint64_t now,
	       int (*cb)(const struct cache_info *info, void *ctx), void *ctx);

/*! \brief Sum the shards' counters into `st`. */
void cache_stats(struct cache *c, struct cache_stats *st);

/*
 * The TTL rules of the cache, pure, so the lab's resolver population caches
 * exactly as vane-resolver does (cache_put applies the same functions).
 * Zeros in `max_ttl` / `neg_max_ttl` mean the defaults (86400 / 3600).
 */

/*! \brief TTL a positive RR is stored with: `ttl` capped by max-ttl, then
 * raised to min-ttl (but not above max-ttl): a floor holds a record past
 * the TTL its owner gave. */
static inline uint32_t cache_ttl_positive(uint32_t ttl, uint32_t min_ttl, uint32_t max_ttl)
{
	if (!max_ttl)
		max_ttl = 86400;
	uint32_t t = ttl < max_ttl ? ttl : max_ttl;
	if (t < min_ttl)
		t = min_ttl < max_ttl ? min_ttl : max_ttl;
	return t;
}

/*! \brief Lifetime of a negative answer (RFC 2308 5): min(SOA TTL, SOA
 * MINIMUM) capped by negative-max-ttl; min-ttl does not apply. */
static inline uint32_t cache_ttl_negative(uint32_t soa_ttl, uint32_t soa_min,
					  uint32_t neg_max_ttl)
{
	if (!neg_max_ttl)
		neg_max_ttl = 3600;
	uint32_t t = soa_ttl < soa_min ? soa_ttl : soa_min;
	return t < neg_max_ttl ? t : neg_max_ttl;
}
