/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The iterator: resolves one (name, type) from the root hints or the
 * deepest cached zone cut.  The final message (CNAME chain + answer, or the
 * negative answer with its SOA) is handed to `done` and stored in the cache.
 *
 * Pure: it builds every upstream query itself (random ID, 0x20 case, QNAME
 * minimisation, ECS) and checks every response (ID, question, case); the
 * transport in r->env only moves bytes and reports packets and timeouts
 * back through iter_on_packet / iter_on_timeout.  Single-threaded: all
 * calls for one `struct resolver` come from one thread.
 */
#pragma once

#include "resolver/msg.h"
#include "resolver/resolver.h"

struct itq;

/* rcode < 0: resolution failed (SERVFAIL); `m` is NULL then. */
typedef void (*itq_done_fn)(void *ctx, int rcode, const struct rmsg *m);

/*
 * Start resolving `qname` (lower-cased) / `qtype` for a client in `client`
 * (ECS: NULL or bits 0 = none).  `done` is called exactly once, possibly
 * before this returns; `m` is valid during the call only.
 * Returns 0 or VANE_ENOMEM (done not called).
 */
int iter_resolve(struct resolver *r, const uint8_t *qname, uint16_t qtype,
		 const struct cache_net *client, itq_done_fn done, void *ctx) VANE_WUR;

/*
 * The transport received `pkt` for the outstanding send of `q`.  The
 * iterator checks it (RFC 5452 9.1: ID, question name with its 0x20 case,
 * type) and either drops it (VANE_EAGAIN: keep waiting, the send stays
 * outstanding) or takes it (0: env->cancel has been called for the send
 * before the iterator moved on; `q` may be freed by the time this returns).
 */
int iter_on_packet(struct itq *q, const uint8_t *pkt, size_t len) VANE_WUR;

/* The outstanding send of `q` got no usable answer in time (or its
 * connection failed); the transport has already released it. */
void iter_on_timeout(struct itq *q);
