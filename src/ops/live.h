/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Live steering state: health, operator (admin) state and the latency table,
 * as one immutable object the query path reads in its view (serve/view.h).
 *
 * The loop thread owns the mutable runtime (health probes, admin verbs) and
 * publishes a fresh `struct live_state` in `srv->live` with RCU whenever
 * something changes; the old one is freed after a grace period on the
 * threadpool, so the loop thread never blocks in synchronize_rcu().
 *
 * A live state is laid out for one steering layout (`lay`, part of one
 * config snapshot): health indices and admin arrays follow it.  The daemon
 * publishes a view that pairs a snapshot with a live state of its layout,
 * so a query never mixes layouts.
 *
 * State is carried across reloads and restarts by name: "service/endpoint",
 * the service name without its final dot, e.g. "api.example.com/us-east".
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "conf/conf.h"
#include "health/fold.h"
#include "lib/errcode.h"
#include "lib/strmap.h"
#include "steer/build.h"
#include "steer/latency.h"
#include "steer/set.h"
#include "steer/steer.h"

/* What live states are laid out for: the steering part of one config
 * snapshot, which outlives every live state made for it. */
struct live_layout {
	const struct steer_set *set;           /* NULL when nothing is steered */
	const struct steer_build *build;       /* health keys and probe targets */
	const struct steer_latency_table *latency0; /* from latency.file, or NULL */
	const struct conf_check *checks;       /* check templates of the config */
	uint32_t nhealth;
};

#define LIVE_KEY_MAX (DNAME_MAXSTR + STEER_ID_MAX + 2)
#define LIVE_ERR_MAX HEALTH_ERR_MAX

/* A latency table shared by successive live states (refcounted, atomics:
 * the last reference may drop on the threadpool). */
struct live_latency {
	int refs;
	struct steer_latency_table *t;   /* owned (steer_latency_free) */
};

struct live_state {
	const struct live_layout *lay;         /* what this state is laid out for */
	struct steer_health health;            /* n = lay->nhealth */
	const struct steer_admin **admin;      /* n = lay->set->n; NULL when no services */
	const struct steer_latency_table *latency; /* NULL = none */

	/* Private to live.c and the runtime. */
	struct steer_health_state *hs;         /* health.state, owned */
	uint8_t *origin;                       /* per health index: enum health_origin */
	char (*err)[LIVE_ERR_MAX];             /* per health index: last error; initial states only */
	struct steer_admin *adm;               /* per service */
	struct steer_admin_ep *adm_ep;         /* per endpoint, laid out like set->ep_store */
	struct live_latency *lat;              /* reference held, or NULL */
	uint32_t nhealth, nsvc, nep;
};

/*
 * The initial live state of a new layout (called when a snapshot is built,
 * on any thread).  Health and admin state come from `prev` (the live state
 * serving before, may be NULL) matched by "service/endpoint"; when `prev` is
 * NULL, from `state_dir`/state.json (may be NULL or missing).  Endpoints with
 * a check and no state count as up (assumed) until probes decide.  The latency
 * table is the layout's own (lay->latency0).  `prev` must stay alive
 * during the call (the server pins it).  Returns NULL only without memory.
 */
struct live_state *live_initial(const struct live_layout *lay,
				const struct live_state *prev, const char *state_dir);

/* Allocate an empty state for `lay` (every endpoint up, default admin). */
struct live_state *live_alloc(const struct live_layout *lay);

/* Copy `src` (same layout) into a new state; NULL without memory. */
struct live_state *live_clone(const struct live_state *src);

/* Derive the admin masks and pointers; call before publishing. */
void live_seal(struct live_state *l);

/* Free a state no reader can see any more. */
void live_free(struct live_state *l);

/* Drop one reference to a latency table (frees it at zero). */
void live_latency_unref(struct live_latency *lat);
struct live_latency *live_latency_ref(struct live_latency *lat);

/* "service/endpoint" for endpoint `ep` of service `svc` of `set`. */
const char *live_key(const struct steer_set *set, uint32_t svc, uint32_t ep,
		     char *buf, size_t size);

/* Service name as text without the final dot. */
const char *live_service_name(const struct steer_service *s, char *buf, size_t size);

/* Find "service/endpoint" (service case-insensitive, final dot optional).
 * Returns 0 and the indices, VANE_ENOENT. */
int live_find(const struct steer_set *set, const char *key, uint32_t *svc, uint32_t *ep) VANE_WUR;

/* Offset of service `svc`'s first endpoint in the flat per-endpoint arrays. */
static inline uint32_t live_ep_base(const struct steer_set *set, uint32_t svc)
{
	return (uint32_t)(set->svc[svc].ep - set->ep_store);
}
