/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Internal to the iterator: iter.c (logic) and iter_io.c (upstream I/O). */
#pragma once

#include "resolver/iter.h"

struct upq;

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
	uint8_t tries[CACHE_DELEG_MAXNS][CACHE_DELEG_MAXADDR];
	bool ns_tried[CACHE_DELEG_MAXNS];
	unsigned ns_resolves, nsub;
	unsigned minlab;                 /* QNAME minimisation: labels to send */
	bool nomin;
	struct upq *up;                  /* the query in flight */
};

struct itq_sub {
	struct itq *parent;
	unsigned ns;
};

/* Send `sname`/`stype` to the address; calls iter_on_response or
 * iter_on_timeout later (never from inside this call). */
void iter_io_send(struct itq *q, const uint8_t *sname, uint16_t stype,
		  const void *addr, unsigned ns_i, unsigned addr_i);
void iter_io_cancel(struct itq *q);

void iter_on_response(struct itq *q, const struct rmsg *m, const uint8_t *sname,
		      unsigned ns_i, unsigned addr_i);
void iter_on_timeout(struct itq *q, unsigned ns_i, unsigned addr_i);
