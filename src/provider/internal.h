/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Internal to src/provider: the state shared by the loop side
 * (provider.c), the provider's thread (provider.c pushes, drift.c checks)
 * and the readers (status.c).  Everything in `struct prov` below `lock` is
 * guarded by it.
 */
#pragma once

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <jansson.h>
#include <uv.h>

#include "conf/conf.h"
#include "lib/dname.h"
#include "ops/events.h"
#include "ops/ops.h"

#define PROV_MAX_ZONES 64
#define PROV_NAME_ADDRS 64
#define PROV_EVQ 32
#define PROV_MISMATCH_MAX 256

/* An endpoint address of a steered name, for reading answers back. */
struct prov_addr {
	char addr[46];
	char endpoint[64];
	char continent[3];
	char country[3];
	bool eligible;                   /* in the pushed records now */
};

/* A steered name as pushed. */
struct prov_name {
	char name[DNAME_MAXSTR];
	char zone[DNAME_MAXSTR];
	bool geo, has_v4;
	bool all_down;                   /* every eligible address answered at once */
	unsigned naddr;
	struct prov_addr addr[PROV_NAME_ADDRS];
};

/* One wanted state, shared by reference (under the provider's lock). */
struct prov_want {
	int refs;
	char *text;                      /* zones, serialized: what "changed" compares */
	json_t *zones;                   /* zone -> rrsets to PATCH */
	struct prov_name *names;
	unsigned nnames;
};

void prov_want_unref(struct prov_want *w);

struct prov_zone_st {
	char name[DNAME_MAXSTR];
	uint32_t serial_pushed;          /* API serial right after our last push; 0 unknown */
	uint32_t serial_api;             /* API serial at the last drift check */
	uint32_t serial_dns;             /* SOA serial the provider answered */
	bool has_dns;
	int64_t lag;                     /* serial_api - serial_dns (RFC 1982), >= 0 */
};

struct prov_event {
	int kind;                        /* enum event_kind */
	char text[EVENTS_TEXT_MAX - 64];
};

struct provider_set;

struct prov {
	struct provider_set *set;
	struct conf_provider conf;       /* owned copy */
	struct sockaddr_storage self;    /* vaned's own DNS address */
	socklen_t self_len;
	uint64_t rng;                    /* drift thread only */
	unsigned subnet_next;            /* drift thread only */
	pthread_t thread;
	bool started;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	struct prov_want *want;          /* newest wanted */
	uint64_t want_gen, pushed_gen;
	struct prov_want *pushed;        /* last pushed successfully */
	uint64_t retry_at;               /* monotonic ms; 0: now */
	uint64_t drift_at;
	unsigned attempts;               /* failed pushes in a row */
	bool failing;
	uint64_t pushes_ok, pushes_failed;
	uint64_t last_push_ms, last_ok_ms; /* Unix ms */
	char err[512];

	struct prov_zone_st zones[PROV_MAX_ZONES];
	unsigned nzones;
	uint64_t drift_checks;
	uint64_t drift_last_ms;          /* Unix ms of the last check */
	uint64_t mismatch_api, mismatch_ecs, mismatch_serial; /* totals */
	uint64_t ecs_samples;            /* totals */
	unsigned drift_rounds;           /* consecutive checks with a mismatch */
	bool drifted;                    /* the alert: drift_rounds >= threshold */
	char drift_text[512];            /* the last mismatch, "" none */

	struct prov_event evq[PROV_EVQ];
	unsigned nev;
};

struct geo_db;

struct provider_set {
	struct ops_rt *ops;
	/* vaned's geo database as it started, for the ECS drift checks: the
	 * region each sampled subnet must get (NULL: continents compared). */
	struct geo_db *geo;
	uv_async_t async;
	bool async_on;
	/* Ramp steps come from the clock, not from a publication: while an
	 * endpoint ramps, a 1 s tick translates again (loop thread). */
	uv_timer_t tick;
	bool tick_on;
	const struct vane_conf *conf;    /* of the last provider_update: the serving one */
	bool ramping;
	unsigned n;
	struct prov p[];
};

/* Queue an event for the loop (call with the lock held). */
void prov_post_event(struct prov *p, int kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

struct prov_zone_st *prov_zone_find(struct prov *p, const char *zone);

/* One drift check against the last pushed state `w` (may be NULL); the
 * provider's thread, without the lock. */
void prov_drift_check(struct prov *p, const struct prov_want *w);
