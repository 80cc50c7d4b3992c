/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The iterator: resolves one (name, type) from the root hints or the
 * deepest cached zone cut, on the loop thread.  The final message (CNAME
 * chain + answer, or the negative answer with its SOA) is handed to `done`
 * and stored in the cache.
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
 * before this returns.  Returns 0 or VANE_ENOMEM (done not called).
 */
int iter_resolve(struct resolver *r, const uint8_t *qname, uint16_t qtype,
		 const struct cache_net *client, itq_done_fn done, void *ctx) VANE_WUR;
