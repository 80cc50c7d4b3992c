/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * vane-lab's model: failover through a population of caching resolvers on
 * a simulated clock, decided by the same code as vaned.
 *
 *   scenario (service, endpoints, resolvers, clients, timeline)
 *       -> per-second series (connections per endpoint and resolver kind,
 *          failures, auth queries) -> RTO, tail, query rate, cost
 *
 * What runs for real: steer_decide() (src/steer) picks every answer,
 * health_fold() (src/health/fold.h) turns probe results into the health
 * state steer reads, and the resolvers store answers with the TTL rules of
 * vane-resolver's cache (cache_ttl_positive / cache_ttl_negative).  What is
 * modelled: clients connect every `conn-interval` seconds (uniform jitter
 * of +-50%) through one resolver and connect to the first address of the
 * answer; a failed connection is retried after `retry` seconds; a resolver
 * asks the authority when its entry for the client has expired; a probe of
 * a down endpoint fails after `timeout`, of an up one at once.  Time is
 * whole seconds for clients and milliseconds for probes and decisions.
 *
 * No clock reads, no threads; the only randomness is the scenario's seed,
 * so a run is reproducible.  Not thread-safe per run; runs are independent.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/errcode.h"
#include "steer/steer.h"

#define LAB_MAX_EP 16          /* endpoints per scenario */
#define LAB_MAX_PROFILE 8      /* resolver kinds */
#define LAB_MAX_COUNTRY 32
#define LAB_MAX_EVENT 64
#define LAB_NAME_MAX 64

/* One kind of resolver and its share of the population. */
struct lab_profile {
	char name[LAB_NAME_MAX];
	double share;              /* of the resolvers */
	uint32_t min_ttl;          /* cache-min-ttl: a floor over the TTL */
	uint32_t max_ttl;          /* 0 = 86400 */
	uint32_t neg_max_ttl;      /* 0 = 3600 */
	bool ecs;                  /* sends the client subnet (RFC 7871) */
	char software[16];         /* live mode: vane-resolver or unbound, "" = by name */
};

struct lab_country {
	char code[3], continent[3];
	double share;              /* of the clients (and of the resolvers) */
};

enum lab_event_kind {
	LAB_EV_DOWN = 0,           /* the endpoint stops accepting connections */
	LAB_EV_UP,
	LAB_EV_DRAIN,              /* operator drain (vanectl drain) */
	LAB_EV_UNDRAIN,
	LAB_EV_WEIGHT,             /* operator weight override */
	LAB_EV_RAMP,               /* operator ramp: steps every N seconds */
	LAB_EV_DELETE,             /* the name is deleted: NXDOMAIN */
	LAB_EV_RESTORE,
	LAB_EV_TTL,                /* the service TTL changes */
	LAB_EV_RELOAD,             /* the operator reloads; the model: no change, as
				    * vaned keeps health and operator state */
	LAB_EV_WITHDRAW,           /* anycast: the site's route is withdrawn */
	LAB_EV_ANNOUNCE,           /* anycast: ... and announced again */
	LAB_EV_COUNT
};

struct lab_event {
	uint32_t at;               /* seconds from the start */
	uint8_t kind;              /* enum lab_event_kind */
	int ep;                    /* endpoint index, -1 when none */
	uint32_t value;            /* weight or TTL */
	uint8_t nsteps;
	uint8_t steps[STEER_MAX_RAMP];
	uint32_t every;            /* ramp step length, seconds */
	bool unforced;             /* delete: a reload without --force, which
				    * the deletion guard refuses (the name is
				    * being asked for) when negative-cap is on */
};

/*
 * An anycast layout (`anycast:` in a scenario): the service's address is
 * announced from the endpoints listed as sites, and a client reaches the
 * nearest site whose route its router has (same country, then continent,
 * then list order).  A site announces while its self-check (the scenario's
 * check, folded as vaned folds it) passes, it is not drained and no
 * `withdraw` event holds its route back; every router sees a change
 * `convergence` after it (BFD detection plus BGP propagation).  The DNS
 * answer is the same address throughout, so caches and resolver floors do
 * not decide where clients go.
 */
struct lab_anycast {
	uint8_t n_site;            /* 0 = no anycast: DNS steering */
	uint8_t site[LAB_MAX_EP];  /* endpoint indexes, in preference order */
	uint32_t convergence_ms;
};

struct lab_scenario {
	char name[LAB_NAME_MAX];
	char description[512];
	uint32_t duration;         /* seconds simulated */
	uint32_t clients, resolvers;
	uint32_t conn_interval;    /* mean seconds between a client's connections */
	uint32_t retry;            /* seconds before a failed client tries again */
	uint64_t seed;
	double price;              /* per million authoritative queries */
	uint32_t window;           /* seconds the herd peak is measured over */
	uint32_t live_clients;     /* live mode's clients, 0 = 200 */
	bool live;                 /* the result is a live run's (reports say so) */
	bool live_layout;          /* resolvers as live mode runs them: one per kind
				    * and country, each client picking a kind by
				    * share (set by vane-lab run --live) */

	unsigned n_country, n_profile, n_event;
	struct lab_country country[LAB_MAX_COUNTRY];
	struct lab_profile profile[LAB_MAX_PROFILE];
	struct lab_event event[LAB_MAX_EVENT];
	int measure;               /* index of the event the RTO is measured from */

	/* The steered name as vaned would have it configured. */
	struct steer_service svc;
	struct steer_endpoint ep[LAB_MAX_EP];
	uint32_t interval_ms, timeout_ms, rise, fall; /* the health check */
	uint32_t soa_ttl, soa_min; /* the zone's SOA, for negative answers */
	bool neg_cap;              /* vaned caps negative TTLs at the service TTL */
	struct lab_anycast anycast;
};

/* Whether event `ev` of `sc` is a delete that vaned's deletion guard
 * refuses: without --force, the guard on (negative-cap: on; with it off the
 * lab's vaned runs with deletion-guard: 0), and the lab's clients always
 * ask for the name. */
static inline bool lab_delete_refused(const struct lab_scenario *sc, const struct lab_event *ev)
{
	return ev->kind == LAB_EV_DELETE && ev->unforced && sc->neg_cap;
}

/* Fill `sc` with defaults (one service, no endpoints, a default population). */
void lab_scenario_init(struct lab_scenario *sc);

/* Check and prepare `sc` (steer_service_prepare included).  Returns 0 or
 * VANE_EINVAL / VANE_ERANGE with a message in `err`. */
int lab_scenario_prepare(struct lab_scenario *sc, char *err, size_t errlen) VANE_WUR;

/* Per-second series of one run; arrays have n_sec entries (x n_ep or n_prof). */
struct lab_series {
	uint32_t n_sec, n_ep, n_prof;
	uint32_t *conn;            /* [t * n_ep + e]: connections to endpoint e */
	uint32_t *conn_prof;       /* [(t * n_prof + p) * n_ep + e] */
	uint32_t *nx;              /* [t * n_prof + p]: negative answers, no connection */
	uint32_t *fail;            /* [t]: failed connections + negative answers */
	uint32_t *total;           /* [t]: connection attempts */
	uint32_t *auth;            /* [t]: queries at the authority */
	uint8_t *ramp_pct;         /* [t]: ramp step of the measured endpoint, 100 = none */
};

/* Results of one run.  Times are seconds after the measured event, -1 when
 * the shift did not happen within the run. */
struct lab_result {
	struct lab_series s;
	int measure_kind;          /* enum lab_event_kind, -1 when none */
	uint32_t measure_at;
	double baseline;           /* share (or load) the measure compares with */
	double rto95, rto99, rto100;
	double tail;               /* rto100 - rto95 */
	double prof_rto100[LAB_MAX_PROFILE]; /* last old traffic per resolver kind */
	double detect;             /* health flip after the event (s), -1 = none */
	double auth_qps;           /* mean over the run */
	double auth_peak;          /* highest second */
	double cost_month;         /* auth_qps * 30 days / 1e6 * price */
	uint64_t auth_total, conn_total, fail_total;
	double share[LAB_MAX_EP];  /* mean share of connections over the run */
	double herd_base;          /* conn/s of the returning endpoint before it went */
	double herd_peak;          /* highest 5 s mean within `window` after up */
	double ramp_over;          /* worst (load / base - step) while ramping */
	double outage;             /* seconds of negative answers after a restore */
	/* Anycast scenarios only: the route change of the measured site after
	 * the event (s, -1 = none), and the same scenario run without anycast
	 * (DNS failover: withdraw and announce events dropped) for comparison. */
	double route_change;
	struct {
		bool have;
		double rto95, rto99, rto100, tail, detect, auth_qps, cost_month;
		uint64_t fail_total;
	} dns;
};

/* Progress: called with the fraction done, a few hundred times per run. */
typedef void (*lab_progress_fn)(void *ctx, double done);

/*
 * Run `sc` (prepared).  Fills `res` (free with lab_result_free).
 * Returns 0 or VANE_ENOMEM.
 */
int lab_run(const struct lab_scenario *sc, struct lab_result *res,
	    lab_progress_fn progress, void *ctx) VANE_WUR;

void lab_result_free(struct lab_result *res);

/*
 * The seconds after `from` until `rem` (remaining share of the old answer,
 * 1 = all of it) stays at or below `1 - p` up to `to` (exclusive): the RTO
 * for p = 0.95, 0.99, 1.0 (1.0 needs exactly 0).  -1 if it never does.
 * Pure; the metric of every run.
 */
double lab_shift_time(const double *rem, uint32_t from, uint32_t to, double p);

/* Mean of `v[from..to)` with stride `stride` and offset `off`; 0 if empty. */
double lab_mean_u32(const uint32_t *v, uint32_t from, uint32_t to, unsigned stride,
		    unsigned off);

/* Names of event kinds for scenarios: "down", "up", ...; -1 if unknown. */
const char *lab_event_name(unsigned kind);
int lab_event_from_name(const char *name);
