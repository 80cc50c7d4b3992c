/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Internal to the iterator: iter.c (logic) and iter_send.c (queries out,
 * responses in). */
#pragma once

#include "resolver/iter.h"

#define ITQ_WIRE_MAX 600         /* a query: header, name, OPT with ECS */

/* The one upstream query a resolution has outstanding. */
struct itq_send {
	bool busy;
	bool tcp;
	struct iter_addr to;
	unsigned ns_i, addr_i;
	uint64_t sent_ms;
	uint8_t sname[DNAME_MAXLEN];     /* sent, with its 0x20 case */
	uint16_t stype;
	uint16_t id;
	void *tx;                        /* the transport's, for cancel */
	size_t len;
	uint8_t wire[ITQ_WIRE_MAX];
};

struct itq {
	struct resolver *r;
	itq_done_fn done;
	void *ctx;
	uint8_t orig[DNAME_MAXLEN];
	uint8_t qname[DNAME_MAXLEN];     /* current name, after CNAMEs */
	uint16_t qtype;
	struct cache_net client;         /* ECS: the client's network, bits 0 = off */
	struct cache_net scope;          /* ECS scope the authority returned */
	unsigned *work;                  /* upstream queries, shared with sub-queries */
	unsigned work_own;
	unsigned depth, cnames, referrals;
	struct rmsg *res;                /* what the client gets */
	bool have_cut;
	struct cache_deleg cut;
	const struct rzone *pin;         /* cut is a forward: or stub: zone's servers */
	uint8_t tries[CACHE_DELEG_MAXNS][CACHE_DELEG_MAXADDR];
	bool ns_tried[CACHE_DELEG_MAXNS];
	unsigned ns_resolves, nsub;
	unsigned minlab;                 /* QNAME minimisation: labels to send */
	bool nomin;
	struct rmsg *deferred;           /* a doubtful answer, kept as a last resort */
	uint8_t deferred_sname[DNAME_MAXLEN];
	unsigned deferred_ns, deferred_addr;
	bool final;                      /* the deferred answer is being taken */
	struct itq_send out;
};

struct itq_sub {
	struct itq *parent;
	unsigned ns;
};

/* iter_send.c: send `sname`/`stype` (lower-cased) to address `addr_i` of
 * NS `ns_i` of the cut; the outcome comes back later through iter_answer
 * or iter_no_answer.  Returns 0, or < 0 when nothing went out (then no
 * callback comes; the caller moves on). */
int iter_send(struct itq *q, const uint8_t *sname, uint16_t stype,
	      unsigned ns_i, unsigned addr_i) VANE_WUR;
/* Drop the outstanding send, if any (no more callbacks for it). */
void iter_send_cancel(struct itq *q);

/* iter.c: a checked response to the query for `sname` (lower-cased). */
void iter_answer(struct itq *q, const struct rmsg *m, const uint8_t *sname,
		 unsigned ns_i, unsigned addr_i);
/* iter.c: the address answered nonsense; do not ask it again. */
void iter_lame(struct itq *q, unsigned ns_i, unsigned addr_i);
/* iter.c: the address did not answer (timeout, send or connect failure). */
void iter_no_answer(struct itq *q, unsigned ns_i, unsigned addr_i);
