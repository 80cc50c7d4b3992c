/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Zone data compiled for the answer path.  A zone is an immutable hash table
 * of nodes keyed by lower-cased wire owner name; every empty non-terminal has
 * a node too, so the closest encloser of any name is found by stripping
 * labels and looking each ancestor up (no tree needed).  RRsets keep their
 * RDATA in wire form, so answering copies bytes instead of re-encoding.
 *
 * Zones are reference counted so that a reload can carry unchanged or failed
 * zones over to the next zone_db.  Refcounts move only on reload, never on
 * the query path.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "lib/dname.h"
#include "lib/errcode.h"
#include "lib/report.h"

struct znode;

/*
 * One RRset.  `rdata` holds `count` records, each as a 16-bit big-endian
 * RDLENGTH followed by the RDATA with uncompressed names, in zone-file order
 * minus duplicates.  `addl[i]`, when `addl` is set, is the in-zone node that
 * record i names for additional-section processing (NS, MX, SRV targets;
 * RFC 1034 4.3.2 step 6), or NULL.
 */
struct rrset {
	uint16_t type;
	uint16_t count;
	uint32_t ttl;
	uint32_t rdata_len;
	uint8_t *rdata;
	const struct znode **addl;
};

enum znode_flags {
	ZNODE_APEX = 1 << 0,
	ZNODE_CUT = 1 << 1,         /* NS below the apex: a delegation point */
	ZNODE_NONAUTH = 1 << 2,     /* strictly below a cut (glue or occluded) */
	ZNODE_WILDCARD_CHILD = 1 << 3, /* "*.<this>" exists */
	ZNODE_DNAME = 1 << 4,       /* has a DNAME: names below are redirected */
};

struct znode {
	struct znode *hnext;        /* hash chain */
	uint32_t hash;
	uint8_t name_len;
	uint8_t flags;
	uint16_t rrset_count;       /* 0 for an empty non-terminal */
	const struct znode *cut;    /* nearest cut at or above, else NULL */
	struct rrset *rrsets;       /* sorted by type */
	uint8_t *name;              /* lower-cased wire name */
	uint8_t *name_orig;         /* as written in the zone file */
	/* When a query last named this node (seconds, the runtime's clock;
	 * 0 = never): the one field written while the zone serves, so a
	 * reload can refuse to delete a name that clients still ask for
	 * (daemon/snapshot.c, the deletion guard).  See znode_mark_queried. */
	uint32_t queried_s;
};

struct zone {
	uint8_t apex[DNAME_MAXLEN];
	uint8_t apex_len;
	unsigned apex_labels;
	uint32_t serial;
	uint32_t neg_ttl;           /* min(SOA TTL, SOA MINIMUM), RFC 2308 3 */
	const struct znode *apex_node;
	const struct rrset *soa;
	struct znode **buckets;
	uint32_t nbuckets;          /* power of two */
	uint32_t nnodes;
	uint32_t nrecords;
	int refcount;
	char *file;                 /* source path, for messages */
	time_t loaded_at;
	struct zone_mem *mem;       /* owns every allocation of the zone */
	/* The SOA answered when its serial is not the zone file's (export:
	 * healthy, see zone_serve_serial): malloc'd, soa->rdata points to it. */
	uint8_t *soa_heap;
	uint8_t *soa_file;          /* the file's SOA rdata, once overridden */
	/* A secondary zone whose SOA expire time passed without a refresh
	 * (RFC 1034 4.3.5): answered SERVFAIL.  Set and cleared by the
	 * daemon's loop thread with a relaxed store, read the same way by
	 * the workers; a fresh transfer loads a new zone with it clear. */
	uint8_t expired;
	/* Every node with RRsets, sorted by lower-cased wire owner (memcmp,
	 * then length), the order zone_build allocated them in, so a walk
	 * reads memory sequentially.  Empty non-terminals are not here. */
	const struct znode **order;
	uint32_t norder;
};

/* Exact-match lookup of a lower-cased wire name whose dname_hash is known. */
static inline const struct znode *zone_find_h(const struct zone *z, const uint8_t *name,
					      size_t len, uint32_t h)
{
	for (const struct znode *n = z->buckets[h & (z->nbuckets - 1)]; n; n = n->hnext)
		if (n->hash == h && n->name_len == len && memcmp(n->name, name, len) == 0)
			return n;
	return NULL;
}

/* Exact-match lookup of a lower-cased wire name. */
static inline const struct znode *zone_find(const struct zone *z,
					    const uint8_t *name, size_t len)
{
	return zone_find_h(z, name, len, dname_hash(name, len));
}

/*
 * Note that a query named `node` at `now_s`.  The store happens at most once
 * a second per node, so a hot name shared by every worker costs a compare,
 * not a cache line bouncing between cores; relaxed is enough, the value is
 * a hint read by the reload (a racing store only moves it by a second).
 */
static inline void znode_mark_queried(const struct znode *node, uint32_t now_s)
{
	uint32_t *at = (uint32_t *)&node->queried_s;
	if (__atomic_load_n(at, __ATOMIC_RELAXED) != now_s)
		__atomic_store_n(at, now_s, __ATOMIC_RELAXED);
}

/* The RRset of `type` at `node`, or NULL. */
static inline const struct rrset *znode_rrset(const struct znode *node, uint16_t type)
{
	for (unsigned i = 0; i < node->rrset_count; i++)
		if (node->rrsets[i].type == type)
			return &node->rrsets[i];
	return NULL;
}

/*
 * Load and check a zone file.  `origin` is the zone apex in presentation
 * form.  Every error is passed to `err` (which may be NULL); the zone is
 * only returned when there were none.  Returns 0 and sets `*out` (refcount
 * 1), or a negative VANE_E* code.
 */
int zone_load(const char *origin, const char *file, vane_report_fn err, void *ctx,
	      struct zone **out) VANE_WUR;

/*
 * zone_load() from an open descriptor, read once from its current offset to
 * the end; `file` names it in messages and anchors relative $INCLUDEs.  The
 * caller keeps and closes `fd` (so it can fstat the very file it loads).
 * Thread safe: loads of different zones may run in parallel.
 */
int zone_load_fd(const char *origin, const char *file, int fd, vane_report_fn err,
		 void *ctx, struct zone **out) VANE_WUR;

/*
 * The same from `len` bytes of zone text in memory (not NUL-terminated),
 * as if read from `file`: the one path zone_load() and zone_load_fd() end
 * in, and what the fuzzer calls without a file per input.
 */
int zone_load_text(const char *origin, const char *file, const char *text, size_t len,
		   vane_report_fn err, void *ctx, struct zone **out) VANE_WUR;

/*
 * A scanner allocation to reuse across loads on one thread.  libzscanner's
 * scanner is 200 KiB that zs_init() clears; a fresh allocation per load
 * page-faults all of it in, which was 58% of a fuzz_zone execution.  Not
 * thread safe: one per thread.
 */
struct zone_scanner;
struct zone_scanner *zone_scanner_new(void);
void zone_scanner_free(struct zone_scanner *sc);

/* zone_load_text() on `sc`'s allocation (NULL: a fresh one for this load). */
int zone_load_text_with(struct zone_scanner *sc, const char *origin, const char *file,
			const char *text, size_t len, vane_report_fn err, void *ctx,
			struct zone **out) VANE_WUR;

/*
 * Answer `serial` in the zone's SOA from now on (export: healthy gives a
 * zone a serial of its own, above the file's; `serial` equal to z->serial
 * goes back to the file's SOA).  Only the SOA's RDATA pointer changes,
 * with one atomic store, so queries in flight see the old or the new SOA
 * whole; z->serial stays the file's.  One writer at a time.  Returns 0 and
 * `*retired`: the SOA RDATA replaced, to free once no query can hold it
 * (after an RCU grace period), or NULL; or VANE_ENOMEM (nothing changed).
 */
int zone_serve_serial(struct zone *z, uint32_t serial, uint8_t **retired) VANE_WUR;

/* The serial the zone answers in its SOA. */
uint32_t zone_served_serial(const struct zone *z);

void zone_ref(struct zone *z);
void zone_unref(struct zone *z); /* frees at zero */
