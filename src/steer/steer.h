/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Traffic steering: the pure decision core.
 *
 *   steer_decide(service, client, health, admin, now, rand)
 *       -> chosen endpoints, outcome, TTL, ECS scope, (optional) trace
 *
 * No I/O, no clock reads, no locks, no malloc: time and randomness are
 * inputs, so the same code runs in the server, in unit tests with a fake
 * clock and in the lab's simulated time.  Everything read here is an
 * immutable snapshot (service config, health, admin state) owned by the
 * caller; several threads may call steer_decide() on the same snapshots.
 *
 * Limits: at most STEER_MAX_ENDPOINTS endpoints per service (candidate sets
 * are small index arrays on the stack), STEER_MAX_ADDRS addresses per family
 * per endpoint, STEER_MAX_POLICY filters per chain, weights up to
 * STEER_WEIGHT_MAX.  steer_service_prepare() rejects anything larger.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/dname.h"
#include "lib/errcode.h"
#include "lib/pkt.h"
#include "geo/geo.h"

#define STEER_MAX_ENDPOINTS 64
#define STEER_MAX_ADDRS 8
#define STEER_MAX_POLICY 8
#define STEER_MAX_RAMP 8
#define STEER_ID_MAX 64            /* endpoint id, including the NUL */
#define STEER_WEIGHT_MAX (1u << 24) /* keeps weight sums and products in 64 bits */
#define STEER_NONE UINT32_MAX      /* "no check" / "no health state" */
#define STEER_RTT_UNKNOWN UINT32_MAX

/* Filters, applied in the order of the service's policy. */
enum steer_filter {
	STEER_F_HEALTH = 0,  /* drop endpoints that are down or drained */
	STEER_F_GEO,         /* same country, else continent, else all; nearest first */
	STEER_F_LATENCY,     /* best RTT and those within the margin */
	STEER_F_WEIGHTED,    /* weighted order (random or sticky per subnet) */
	STEER_F_PRIORITY,    /* lowest tier that has endpoints */
	STEER_F_SHED,        /* load vs capacity with low/high watermarks */
	STEER_F_FIRST_N,     /* implicit last step ("answers"); not for policies */
	STEER_F_RAMP,        /* implicit first step: ramp admission; trace only */
	STEER_F_COUNT
};

enum steer_all_down {
	STEER_DOWN_OPEN = 0, /* every endpoint not drained nor standby never, all
			      * of them whatever `answers` says */
	STEER_DOWN_EMPTY,    /* NODATA, negative TTL capped at the service TTL */
	STEER_DOWN_SERVFAIL,
};

enum steer_sticky {
	STEER_STICKY_NONE = 0, /* weighted random from the `rand` input */
	STEER_STICKY_SUBNET,   /* weighted rendezvous hash of the client subnet */
};

/* What a weight-0 endpoint is for (`standby:`). */
enum steer_standby {
	STEER_STANDBY_AUTO = 0, /* weight 0: answers only when nothing with weight > 0
				 * is eligible (Route 53's rule) */
	STEER_STANDBY_NEVER,    /* weight 0: never answers; weight > 0: never more
				 * than its configured share (a canary) */
};

enum steer_outcome {
	STEER_ANSWER = 0,
	STEER_NODATA,
	STEER_SERVFAIL,
};


/* One endpoint as configured.  Built by the snapshot builder. */
struct steer_endpoint {
	char id[STEER_ID_MAX];
	uint8_t n_v4, n_v6;
	uint8_t v4[STEER_MAX_ADDRS][4];
	uint8_t v6[STEER_MAX_ADDRS][16];
	uint8_t cname_len;              /* 0 = no CNAME target */
	uint8_t cname[DNAME_MAXLEN];    /* wire form, lower-case */
	char continent[3], country[3];  /* "" when not given */
	bool has_coords;
	double lat, lon;
	uint32_t weight;                /* 0..STEER_WEIGHT_MAX */
	uint8_t standby;                /* enum steer_standby */
	uint8_t priority;               /* tier; lower is preferred */
	uint32_t capacity;              /* for shed; 0 = unlimited */
	uint32_t check;                 /* check template index, or STEER_NONE */
	uint32_t health;                /* index into steer_health, or STEER_NONE (always up) */
};

/* Per-endpoint constants derived by steer_service_prepare(); the query path
 * reads only these and the small runtime arrays. */
struct steer_ep_hot {
	uint64_t id_hash;               /* seeds the sticky rendezvous hash */
	double vx, vy, vz;              /* unit vector of lat/lon, for nearest-first */
	uint32_t weight;
	uint32_t capacity;
	uint32_t health;
	uint16_t country, continent;    /* two upper-case letters packed; 0 = unknown */
	uint8_t priority;
	bool has_coords;
};

struct steer_service {
	uint8_t name_len;
	uint8_t name[DNAME_MAXLEN];     /* wire form, lower-case */
	uint32_t ttl;
	uint32_t ttl_degraded;          /* 0 = off */
	bool recovery_ramp;             /* `recovery: ramp`: slow start after down->up */
	uint8_t recovery_nsteps;
	uint8_t recovery_steps[STEER_MAX_RAMP];
	uint32_t recovery_every_ms;
	uint8_t n_policy;
	uint8_t policy[STEER_MAX_POLICY]; /* enum steer_filter, in order */
	uint8_t answers;                /* first N; 0 = all */
	uint8_t all_down;               /* enum steer_all_down */
	bool ecs;                       /* false: ignore ECS (`ecs: off`) */
	uint8_t sticky;                 /* enum steer_sticky */
	uint8_t sticky_v4, sticky_v6;   /* sticky subnet prefixes, default 24/56 */
	uint32_t latency_margin_ms;
	double shed_low, shed_high;     /* fractions of capacity, e.g. 0.8 / 1.0 */
	uint32_t n_ep;
	const struct steer_endpoint *ep; /* owned by the snapshot builder */

	/* Derived by steer_service_prepare(); do not set by hand. */
	uint32_t shed_low_q16, shed_high_q16;
	uint64_t all_mask;              /* one bit per endpoint */
	uint64_t never_mask;            /* standby: never */
	uint64_t zero_mask;             /* configured weight 0 */
	uint8_t n_country, n_continent, n_tier;
	bool uses_geo, uses_latency;    /* the policy has these filters */
	bool geo_sort;                  /* nearest-first order can reach the answer:
					 * no weighted filter reorders after geo */
	struct steer_code_mask {
		uint16_t code;
		uint64_t mask;
	} country[STEER_MAX_ENDPOINTS], continent[STEER_MAX_ENDPOINTS];
	struct steer_tier_mask {
		uint8_t tier;
		uint64_t mask;
	} tier[STEER_MAX_ENDPOINTS];   /* ascending by tier */
	struct steer_ep_hot hot[STEER_MAX_ENDPOINTS];
};

/* Health snapshot, indexed by steer_endpoint.health.  Indices past `n` and a
 * NULL snapshot count as up: the runtime decides initial state (persisted). */
struct steer_health_state {
	bool up;
	uint64_t since_ms;              /* time of the last change */
};

struct steer_health {
	uint32_t n;
	const struct steer_health_state *state;
};

/* A ramp in progress: during step i, where i = (now - started) / every,
 * steps[i] percent of the client subnets that would choose the endpoint are
 * admitted (sticky per subnet, so a step only adds subnets); the others go
 * to their next choice.  Past the last step the ramp is over. */
enum steer_ramp_kind {
	STEER_RAMP_OPERATOR = 0,        /* `vanectl ramp` */
	STEER_RAMP_RECOVERY,            /* slow start after down->up (`recovery: ramp`) */
};

struct steer_ramp {
	bool active;
	uint8_t nsteps;
	uint8_t steps[STEER_MAX_RAMP];  /* percent of the base weight */
	uint64_t every_ms;
	uint64_t started_ms;
	uint8_t kind;                   /* enum steer_ramp_kind */
};

/* An operator ramp that health aborted: the endpoint is drained, and this
 * is what `ramp --resume` continues.  Not read by the query path. */
struct steer_ramp_aborted {
	bool set;
	uint8_t step;                   /* index of the step in force at the abort */
	uint8_t nsteps;
	uint8_t steps[STEER_MAX_RAMP];
	uint64_t every_ms;
	uint64_t at_ms;                 /* wall clock of the abort */
};

/* Operator state of one endpoint. */
struct steer_admin_ep {
	bool drained;
	bool weight_set;                /* `weight` overrides the configured weight */
	uint32_t weight;
	struct steer_ramp ramp;
	uint32_t load;                  /* pushed load, same unit as capacity */
	struct steer_ramp_aborted aborted;
};

/* Admin snapshot of one service, indexed like service->ep.  NULL = defaults.
 * Call steer_admin_prepare() after filling `n` and `ep`: the query path then
 * reads two masks instead of every entry. */
struct steer_admin {
	uint32_t n;
	const struct steer_admin_ep *ep;

	/* Derived by steer_admin_prepare(). */
	bool prepared;
	uint64_t drained_mask;          /* bit i: endpoint i drained */
	uint64_t special_mask;          /* bit i: weight override or ramp active */
};

/* One latency table row: RTT from the client's network (or location) to each
 * endpoint of the service, indexed like service->ep. */
struct steer_latency {
	uint32_t n;
	const uint32_t *rtt_ms;         /* STEER_RTT_UNKNOWN where not measured */
	uint8_t prefix;                 /* prefix of the row's network, or STEER_LAT_SCOPE_GEO */
};

/* steer_latency.prefix of a country or continent row: the decision holds
 * for the client's geo network, so that prefix is the ECS scope. */
#define STEER_LAT_SCOPE_GEO 0xFF

/* Who asks.  `geo` describes the address steer_client_addr() returns. */
struct steer_client {
	uint16_t family;                /* 1 = IPv4, 2 = IPv6 (ECS family numbers) */
	uint8_t addr[16];               /* source address of the query */
	struct dns_ecs ecs;             /* as parsed by dns_query_parse */
	bool has_geo;
	struct geo_info geo;
	const struct steer_latency *latency; /* NULL: no row for this client */
};

struct steer_result {
	uint8_t outcome;                /* enum steer_outcome */
	bool open;                      /* all-down open: every endpoint not drained,
					 * `answers` ignored; send as many as fit */
	bool all_drained;               /* all-down open found every endpoint drained
					 * (or standby: never) and answered as empty
					 * (log it) */
	uint8_t n;                      /* endpoints chosen */
	uint8_t ep[STEER_MAX_ENDPOINTS]; /* indices into service->ep, answer order */
	uint32_t ttl;                   /* answer TTL; for NODATA the cap of the negative TTL */
	uint8_t scope;                  /* ECS SCOPE PREFIX-LENGTH to echo */
	bool fallback;                  /* all-down handling fired (count and log it) */
	bool degraded;                  /* some endpoint down, drained or ramping */
};

/* Explain: each filter's input and output, and why.  Filled only when a trace
 * is passed to steer_decide(); costs nothing otherwise. */
struct steer_trace_step {
	uint8_t filter;                 /* enum steer_filter */
	uint8_t n_in, n_out;
	uint8_t in[STEER_MAX_ENDPOINTS];
	uint8_t out[STEER_MAX_ENDPOINTS];
	char why[160];
};

struct steer_trace_ep {
	bool up, drained, ramping;
	bool held;                      /* ramping and this client not admitted */
	uint8_t ramp_percent;           /* current step while ramping, else 100 */
	uint64_t since_ms;
	uint32_t weight;                /* effective: override and ramp applied */
	uint32_t load;
};

struct steer_trace {
	uint64_t now_ms;
	uint8_t n_steps;
	struct steer_trace_step step[STEER_MAX_POLICY + 2]; /* + ramp, first N */
	uint8_t n_ep;
	struct steer_trace_ep ep[STEER_MAX_ENDPOINTS];
	uint16_t family;                /* client address used for geo/sticky */
	uint8_t addr[16];
	bool ecs_used;
	bool has_geo;
	struct geo_info geo;
	char scope_why[160];
	struct steer_result result;
};

/*
 * Fill `svc` with defaults: ttl 30, answers 1, all-down open, ECS on, no
 * sticky (prefixes 24/56), latency margin 10 ms, shed watermarks 0.8/1.0.
 * The caller then sets name, policy, endpoints and overrides.
 */
void steer_service_init(struct steer_service *svc);

/*
 * Validate `svc` and derive the per-endpoint constants the query path uses
 * (hashes, unit vectors, fixed-point watermarks).  Call once when building a
 * snapshot, after every config field is set and before publishing it.
 * Returns 0, VANE_ERANGE (too many endpoints/filters/addresses, weight too
 * big) or VANE_EINVAL (bad watermarks, duplicate filter, bad code).
 */
int steer_service_prepare(struct steer_service *svc) VANE_WUR;

/* Summarise `admin` into its masks (entries past STEER_MAX_ENDPOINTS are
 * ignored).  An admin snapshot that was not prepared still works, slower. */
void steer_admin_prepare(struct steer_admin *admin);

/*
 * Decide the answer for one query.  `health`, `admin` and `trace` may be
 * NULL.  `rand` is a fresh random 64-bit value per query (unused by sticky
 * decisions).  Always fills `res`.  Thread-safe: reads its inputs only.
 */
void steer_decide(const struct steer_service *svc, const struct steer_client *client,
		  const struct steer_health *health, const struct steer_admin *admin,
		  uint64_t now_ms, uint64_t rand, struct steer_result *res,
		  struct steer_trace *trace);

/*
 * The address geo lookup (and the sticky hash) should use: the ECS address
 * when present and the service honours ECS, else the source address.  Sets
 * `*family`, `*addr` (16 bytes) and returns the usable prefix length
 * (ECS source prefix, or 32/128).
 */
uint8_t steer_client_addr(const struct steer_service *svc,
			  const struct steer_client *client,
			  uint16_t *family, const uint8_t **addr);

/* Current weight of a ramp (pure), for display: base * steps[i] / 100
 * rounded up, so that a step above 0% of a weight above 0 is never 0; step
 * i from (now - started) / every, clamped to the first step before
 * `started` and to `base_weight` after the last step.  The decision itself
 * admits steps[i] percent of the endpoint's clients (steer_ramp_percent).
 * Aborts are the runtime's business. */
uint32_t steer_ramp_weight(const uint8_t *steps, unsigned nsteps, uint64_t every_ms,
			   uint64_t started_ms, uint64_t now_ms, uint32_t base_weight);

/* The weight an operator sees for `ep` at `now_ms`: the override if set,
 * scaled by the step of a running ramp (health rows, metrics; the query
 * path admits a ramp's share of clients instead). */
uint32_t steer_shown_weight(const struct steer_endpoint *ep, const struct steer_admin_ep *a,
			    uint64_t now_ms);

/* Percent of its clients a ramp admits at `now_ms`: the current step, 100
 * when the ramp is not running. */
unsigned steer_ramp_percent(const struct steer_ramp *ramp, uint64_t now_ms);

/* True while a ramp is still stepping at `now_ms`. */
bool steer_ramp_running(const struct steer_ramp *ramp, uint64_t now_ms);

/*
 * Answer records for a result.  If the first chosen endpoint has a CNAME
 * target, the answer is that CNAME (as gdnsd's DYNC): steer_result_cname()
 * returns it, else NULL.  Otherwise A/AAAA RDATA come from every chosen
 * endpoint's addresses of the family, in answer order; endpoints without an
 * address of the family (or with a CNAME) contribute nothing, and a count of
 * 0 means NODATA.
 */
const uint8_t *steer_result_cname(const struct steer_service *svc,
				  const struct steer_result *res, uint8_t *len);

struct steer_addr_iter {
	const struct steer_service *svc;
	const struct steer_result *res;
	uint8_t i, j;                   /* position: chosen endpoint, address */
	bool v6;
};

/* Start iterating RDATA of `qtype` (DNS_A or DNS_AAAA). */
void steer_addr_begin(struct steer_addr_iter *it, const struct steer_service *svc,
		      const struct steer_result *res, uint16_t qtype);

/* Next RDATA (4 or 16 bytes) or NULL at the end. */
const uint8_t *steer_addr_next(struct steer_addr_iter *it, uint16_t *rdlen);

/* Number of RDATA steer_addr_next() will return for `qtype`. */
unsigned steer_addr_count(const struct steer_service *svc,
			  const struct steer_result *res, uint16_t qtype);

/* Names for config and traces: "health", "geo", ...; "open", "empty", ... */
const char *steer_filter_name(unsigned filter);
int steer_filter_from_name(const char *name);          /* enum or VANE_EINVAL */
const char *steer_all_down_name(unsigned mode);
const char *steer_standby_name(unsigned standby);
int steer_standby_from_name(const char *name);         /* enum or VANE_EINVAL */
int steer_all_down_from_name(const char *name);        /* enum or VANE_EINVAL */
const char *steer_outcome_name(unsigned outcome);

/* "2026-12-04T17:03:41Z (12 s ago)" for wall clock `at_ms` seen at
 * `now_ms`; "never" for 0.  Pure (no clock read).  Returns `buf`. */
const char *steer_time_text(uint64_t at_ms, uint64_t now_ms, char *buf, size_t len);

/* Why endpoint `i` is not in the trace's answer: down, drained, weight 0
 * (standby), ramp at p%, shed at load L, or the filter that dropped it.
 * NULL when it is in the answer. */
const char *steer_trace_dropped(const struct steer_trace *tr, const struct steer_service *svc,
				unsigned i, char *buf, size_t len);

/*
 * Render a trace as text (one line per fact) or JSON (one object).
 * Returns the length written (NUL-terminated) or VANE_ESPACE.
 */
int steer_trace_format(const struct steer_trace *tr, const struct steer_service *svc,
		       char *buf, size_t len) VANE_WUR;
int steer_trace_json(const struct steer_trace *tr, const struct steer_service *svc,
		     char *buf, size_t len) VANE_WUR;
