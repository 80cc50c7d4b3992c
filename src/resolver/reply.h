/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The client's answer once a resolution has ended: what vane-resolver sends
 * and what the replayer checks.  Pure: the caller supplies the bytes out.
 */
#pragma once

#include "resolver/msg.h"
#include "resolver/resolver.h"

/*!
 * \brief Build the answer to the client query `q` (its bytes `qpkt`,
 * `qlen`) after iter_resolve's `done` gave (rcode, m).
 *
 * Success is answered from the cache exactly as a hit would be (TTL clamps,
 * ECS scope, layout); an answer the cache would not keep (TTL 0, too large,
 * no SOA ...) is built from `m` with the clamps the cache would have
 * applied.  Failure (rcode < 0) is answered from a stale entry when
 * serve-stale allows (RFC 8767), else SERVFAIL.  Counts stale answers and
 * SERVFAILs in r->st.
 *
 * \param net    The client's network for ECS-scoped entries, or NULL.
 * \param limit  Largest answer (cache_udp_limit(q) over UDP); `out` holds
 *               at least this many bytes.
 * \return The answer's length, or < 0 when there is nothing to send.
 * The iterator's thread only (one scratch message per thread).
 */
int resolver_reply(struct resolver *r, const struct dns_query *q, const uint8_t *qpkt,
		   size_t qlen, const struct cache_net *net, int rcode,
		   const struct rmsg *m, uint8_t *out, size_t limit);
