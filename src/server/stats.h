/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Query counters.  Each serving thread owns one `struct srv_stats` and bumps
 * it with plain increments (no atomics on the hot path); readers sum all
 * blocks.  A sum read while workers run may lag by a few queries, which is
 * fine for statistics.
 */
#pragma once

#include <stdint.h>

#include <jansson.h>

#include "auth/answer.h"

enum srv_transport { TR_UDP4 = 0, TR_UDP6, TR_TCP4, TR_TCP6, TR_COUNT };

#define STATS_RCODES 32       /* rcodes past this land in the last bucket */
#define STATS_HITYPES 32      /* distinct qtypes >= 256 tracked by value */

struct srv_stats {
	uint64_t queries;
	uint64_t dropped;         /* no response sent (malformed, QR=1, send failure) */
	uint64_t transport[TR_COUNT];
	uint64_t rcode[STATS_RCODES];
	uint64_t qtype[256];
	uint64_t qtype_other;     /* qtypes >= 256 once `hitype` is full */
	uint16_t hitype[STATS_HITYPES];   /* 0 = free slot */
	uint64_t hitype_count[STATS_HITYPES];
} __attribute__((aligned(64)));

/* Count one answered query. */
static inline void stats_count(struct srv_stats *s, enum srv_transport tr,
			       const struct auth_result *res)
{
	s->queries++;
	s->transport[tr]++;
	s->rcode[res->rcode < STATS_RCODES ? res->rcode : STATS_RCODES - 1]++;
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

/* Count one query that got no response. */
static inline void stats_drop(struct srv_stats *s, enum srv_transport tr)
{
	s->queries++;
	s->transport[tr]++;
	s->dropped++;
}

/* Sum `n` blocks into a new JSON object with the `stats` reply fields
 * (queries, rcode, qtype, transport, dropped); zero counters are left out
 * of the rcode and qtype maps.  Returns NULL on allocation failure. */
json_t *stats_to_json(struct srv_stats *const *blocks, unsigned n);

/* Mnemonic for an RR type ("A", "TYPE65280"). */
const char *stats_type_name(uint16_t type, char *buf, unsigned size);
/* Mnemonic for an rcode ("NXDOMAIN", "RCODE12"). */
const char *stats_rcode_name(unsigned rcode, char *buf, unsigned size);
