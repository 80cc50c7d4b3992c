/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The one thing the query workers read: an immutable view of zones,
 * answer settings, services with their health and operator state, and the
 * counter slots of the services.  The daemon builds a new view for every
 * change (a reload, a health flip, an operator verb) and publishes it by
 * one pointer with RCU (QSBR); the old view is freed after a grace period.
 * A view never mixes a config with the health of another: both are in it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/answer.h"
#include "serve/xfr.h"
#include "steer/steer.h"

/* Counter slots of one service (serve/stats.h): kept by name across reloads,
 * so counters stay with their service and endpoint. */
#define SERVE_NO_SLOT 0xFFFF
struct serve_stat_slots {
	uint16_t svc;                        /* SERVE_NO_SLOT: not counted */
	uint8_t ep[STEER_MAX_ENDPOINTS];     /* endpoint index -> slot */
};

struct serve_view {
	const struct zone_db *db;
	const struct auth_conf *auth;
	const struct auth_steer *steer;          /* NULL: nothing steered */
	const struct serve_stat_slots *slots;    /* [steer->set->n] */
	const struct xfr_set *xfr;               /* NULL: no transfers */
	uint32_t tcp_idle_timeout_ms;            /* TCP settings a reload may change */
	uint32_t tcp_max_clients;
	uint32_t tcp_max_per_addr;
	uint32_t tcp_first_query_ms;
	uint64_t tcp_buffer_limit;               /* bytes */
};

/* The ordinary answer path as serve/xfr.c's re-answer callback
 * (xfr_answer_fn): a signed query is answered as usual, then signed. */
struct serve_reanswer {
	const struct serve_view *view;
	const struct auth_client *cl;
	bool tcp;
};
size_t serve_reanswer(void *ctx, const uint8_t *q, size_t qlen, uint8_t *out, size_t cap);
