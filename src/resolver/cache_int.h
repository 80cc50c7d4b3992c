/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Internals shared by cache.c (table, locking, answers) and cache_store.c
 * (turning a DNS message into the stored, ready-to-send layout).
 */
#pragma once

#include <pthread.h>

#include "resolver/cache.h"

/*
 * One cached entry, a single allocation:
 *   struct cache_entry | uint32_t ttl[nrr] | uint16_t off[nrr] | wire | name
 * `wire` holds the answer, authority and additional RRs exactly as they sit
 * in a response after a question of `name_len + 4` bytes; compression
 * pointers in it are absolute response offsets.  ttl[i] is RR i's clamped
 * TTL and off[i] the offset of its TTL field inside `wire`.
 */
struct cache_entry {
	struct cache_entry *next;        /* hash chain */
	struct cache_entry *lru_prev;
	struct cache_entry *lru_next;
	uint64_t stored;                 /* `now` at store time */
	uint64_t expire;                 /* stored + ttl */
	uint32_t ttl;                    /* entry TTL: smallest RR TTL */
	uint32_t hits;
	uint32_t hash;
	uint32_t bytes;                  /* accounted size of this allocation */
	uint16_t qtype;
	uint16_t qclass;
	uint16_t count[3];               /* ANCOUNT, NSCOUNT, ARCOUNT */
	uint16_t wire_len;
	uint16_t nrr;
	uint8_t kind;
	uint8_t rcode;
	uint8_t name_len;
	bool prefetched;                 /* prefetch signal already given */
	struct cache_net scope;          /* normalised: masked, bits 0 => family 0 */
	uint8_t data[];
};

static inline uint32_t *entry_ttls(struct cache_entry *e)
{
	return (uint32_t *)(void *)e->data;
}

static inline uint16_t *entry_offs(struct cache_entry *e)
{
	return (uint16_t *)(void *)(e->data + 4u * e->nrr);
}

static inline uint8_t *entry_wire(struct cache_entry *e)
{
	return e->data + 6u * e->nrr;
}

static inline uint8_t *entry_name(const struct cache_entry *e)
{
	return (uint8_t *)e->data + 6u * e->nrr + e->wire_len;
}

/* Settings as the store code needs them. */
struct cache_limits {
	uint32_t min_ttl, max_ttl, neg_max_ttl;
};

/*
 * Build an entry (malloc'd, key fields, wire and TTL table filled, `bytes`
 * set, stored/expire from `now`) from the message `msg`.  Returns 0 or a
 * VANE_E* code; see cache_put.
 */
int cache_entry_from_msg(const struct cache_limits *lim, const uint8_t *qname,
			 uint16_t qtype, uint16_t qclass, const uint8_t *msg,
			 size_t len, uint64_t now, struct cache_entry **out);

/* Build a delegation entry from `d`. */
int cache_entry_from_deleg(const struct cache_deleg *d, uint32_t ttl, uint64_t now,
			   struct cache_entry **out);

/* Decode a delegation entry's wire into `d`. */
void cache_entry_to_deleg(struct cache_entry *e, struct cache_deleg *d);
