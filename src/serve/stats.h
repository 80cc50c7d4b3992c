/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Query counters.  Each serving thread owns one `struct srv_stats` and bumps
 * it with plain increments (no atomics on the hot path); readers sum all
 * blocks.  A sum read while workers run may lag by a few queries, which is
 * fine for statistics.
 */
#pragma once

#include <stdint.h>

#include "auth/answer.h"
#include "serve/rrl.h"
#include "serve/view.h"

enum srv_transport { TR_UDP4 = 0, TR_UDP6, TR_TCP4, TR_TCP6, TR_COUNT };

#define STATS_RCODES 32       /* rcodes past this land in the last bucket */
#define STATS_HITYPES 32      /* distinct qtypes >= 256 tracked by value */
#define STATS_MAX_SERVICES 256 /* counter slots for steered services */
#define STATS_MAX_EPS 64      /* = STEER_MAX_ENDPOINTS */
#define STATS_SIZE_SHIFT 6    /* response sizes in 64-byte buckets */
#define STATS_SIZE_BUCKETS (65536 >> STATS_SIZE_SHIFT)
#define STATS_SCOPES 129      /* ECS scope 0..128 */

/* Joint query counter (metrics: vane_queries_total{qtype,rcode,transport}):
 * common qtypes get a class each, the rest share class 0; rcodes past
 * STATS_JRCODES - 2 share the last bucket.  Small enough per thread (8 KB). */
#define STATS_QCLASSES 16
#define STATS_JRCODES 16

static inline unsigned stats_qclass(uint16_t t)
{
	switch (t) {
	case 1: return 1;     /* A */
	case 2: return 2;     /* NS */
	case 5: return 3;     /* CNAME */
	case 6: return 4;     /* SOA */
	case 12: return 5;    /* PTR */
	case 15: return 6;    /* MX */
	case 16: return 7;    /* TXT */
	case 28: return 8;    /* AAAA */
	case 33: return 9;    /* SRV */
	case 43: return 10;   /* DS */
	case 48: return 11;   /* DNSKEY */
	case 64: return 12;   /* SVCB */
	case 65: return 13;   /* HTTPS */
	case 255: return 14;  /* ANY */
	case 257: return 15;  /* CAA */
	default: return 0;
	}
}


/* Steering counters of one thread, by the counter slots of
 * serve/view.h (stable across reloads by service name and endpoint id). */
struct srv_steer_stats {
	uint64_t steered[STATS_MAX_SERVICES];     /* A/AAAA answers decided */
	uint64_t fallbacks[STATS_MAX_SERVICES];   /* all-down handling fired */
	uint64_t all_drained[STATS_MAX_SERVICES]; /* all-down open, all drained: NODATA */
	uint64_t answers[STATS_MAX_SERVICES][STATS_MAX_EPS]; /* endpoint in an answer */
	uint64_t scope[STATS_SCOPES];             /* ECS scope of steered answers */
};

struct srv_stats {
	uint64_t queries;
	uint64_t dropped;         /* no response sent (malformed, QR=1, send failure) */
	uint64_t transport[TR_COUNT];
	uint64_t rcode[STATS_RCODES];
	uint64_t qtype[256];
	uint64_t qtype_other;     /* qtypes >= 256 once `hitype` is full */
	uint16_t hitype[STATS_HITYPES];   /* 0 = free slot */
	uint64_t hitype_count[STATS_HITYPES];
	uint64_t size[STATS_SIZE_BUCKETS];        /* responses by length / 64 */
	uint64_t joint[TR_COUNT][STATS_JRCODES][STATS_QCLASSES];
	struct srv_steer_stats steer;
	struct rrl_stats rrl;     /* UDP workers only (serve/rrl.h) */
} __attribute__((aligned(64)));

/* Count one answered query. */
static inline void stats_count(struct srv_stats *s, enum srv_transport tr,
			       const struct auth_result *res)
{
	s->queries++;
	s->transport[tr]++;
	s->rcode[res->rcode < STATS_RCODES ? res->rcode : STATS_RCODES - 1]++;
	s->joint[tr][res->rcode < STATS_JRCODES ? res->rcode : STATS_JRCODES - 1]
		[stats_qclass(res->qtype)]++;
	if (res->qtype < 256) {
		s->qtype[res->qtype]++;
		return;
	}
	for (unsigned i = 0; i < STATS_HITYPES; i++) {
		if (s->hitype[i] == res->qtype || s->hitype[i] == 0) {
			s->hitype[i] = res->qtype;
			s->hitype_count[i]++;
			return;
		}
	}
	s->qtype_other++;
}

/* Response length histogram; every response. */
static inline void stats_size(struct srv_stats *s, size_t len)
{
	s->size[(len >> STATS_SIZE_SHIFT) & (STATS_SIZE_BUCKETS - 1)]++;
}

/* Count one query that got no response. */
static inline void stats_drop(struct srv_stats *s, enum srv_transport tr)
{
	s->queries++;
	s->transport[tr]++;
	s->dropped++;
}

/* Per-slot sums of the steering counters and the histograms (large: put
 * it on the heap). */
struct stats_steer_sum {
	uint64_t steered[STATS_MAX_SERVICES];
	uint64_t fallbacks[STATS_MAX_SERVICES];
	uint64_t all_drained[STATS_MAX_SERVICES];
	uint64_t answers[STATS_MAX_SERVICES][STATS_MAX_EPS];
	uint64_t scope[STATS_SCOPES];
	uint64_t size[STATS_SIZE_BUCKETS];
};

/* Sum the steering counters and histograms of `n` blocks into `sum`. */
void stats_steer_sum(struct stats_steer_sum *sum, struct srv_stats *const *blocks, unsigned n);

/*
 * Rate-limited fallback log, for a timer on the loop thread (e.g. once per
 * second): logs each service whose fallback count moved since the last call
 * as "[svc] all-down: N fallbacks (mode)".  `last` is the caller's state,
 * STATS_MAX_SERVICES zeros at first.  Returns the total fallbacks.
 */
/* For each counter slot whose steered answers moved since `last`, set
 * `queried_ms[slot]` to `now_ms`; then remember the sums.  The deletion
 * guard learns from it which services clients still ask for, at no cost
 * on the query path. */
void stats_note_queried(struct srv_stats *const *blocks, unsigned n, uint64_t *last,
			uint64_t *queried_ms, uint64_t now_ms);

uint64_t stats_log_fallbacks(struct srv_stats *const *blocks, unsigned n,
			     const struct serve_view *view, uint64_t *last);

/* The same for all-down open answers that found every endpoint drained
 * (or standby: never) and said NODATA: an operator's doing, and the one
 * all-down case that answers nothing, so it gets its own line. */
uint64_t stats_log_all_drained(struct srv_stats *const *blocks, unsigned n,
			       const struct serve_view *view, uint64_t *last);


/* Count a steered answer (res->service >= 0) under the slots of the view
 * that answered.  Call only for steered answers. */
static inline void stats_steered(struct srv_stats *s, const struct serve_stat_slots *slots,
				 const struct auth_result *res)
{
	const struct serve_stat_slots *sl = &slots[res->service];
	if (sl->svc == SERVE_NO_SLOT)
		return;
	struct srv_steer_stats *st = &s->steer;
	st->steered[sl->svc]++;
	st->fallbacks[sl->svc] += res->fallback;
	st->all_drained[sl->svc] += res->all_drained;
	st->scope[res->scope < STATS_SCOPES ? res->scope : STATS_SCOPES - 1]++;
	for (unsigned i = 0; i < res->n_ep; i++)
		st->answers[sl->svc][sl->ep[res->ep[i] & (STATS_MAX_EPS - 1)]]++;
}
