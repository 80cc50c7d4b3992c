/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `explain`: answer one query as a resolver at a given address would send
 * it (with an ECS option when asked, RFC 7871 6), through the real query
 * path (auth_answer) with a decision trace.  The result is plain data; the
 * control edge (ctl/) turns it into text and JSON.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/pkt.h"
#include "serve/view.h"
#include "steer/steer.h"

struct serve_explain {
	struct auth_result res;
	struct steer_trace trace;
	const struct steer_service *svc;   /* the steered service, or NULL */
	size_t len;                        /* of `pkt` */
	uint8_t pkt[DNS_MAXMSG];           /* the response */
};

/* Answer `qname` (wire) / `qtype` from `src` with optional `ecs` against
 * `view` at `now_ms` with randomness `rnd`.  Returns 0, or VANE_EINVAL when
 * the query path dropped the query. */
int serve_explain(const struct serve_view *view, const uint8_t *qname, uint16_t qtype,
		  const struct sockaddr *src, const struct dns_ecs *ecs, uint64_t now_ms,
		  uint64_t rnd, struct serve_explain *out) VANE_WUR;
