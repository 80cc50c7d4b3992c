/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Build the steered names of a configuration (`services:`) into a prepared
 * struct steer_set, with health indices for endpoints that have a check.
 * Runs off the query path when a snapshot is built, and in `vaned --check`.
 * No I/O: the zones are already loaded.
 */
#pragma once

#include "conf/conf.h"
#include "lib/report.h"
#include "steer/set.h"
#include "zone/zonedb.h"

/* One probe target: an endpoint with a `check:`.  Index = steer_endpoint.health. */
struct steer_health_target {
	char *key;                /* "service/endpoint", service without the final dot */
	uint32_t svc, ep;         /* indices into the set */
	uint32_t check;           /* index into conf->checks (= snapshot checks) */
	uint16_t family;          /* AF_INET or AF_INET6: the address to probe */
	uint8_t addr[16];
};

struct steer_build {
	struct steer_set *set;            /* NULL when nothing is steered */
	uint32_t nhealth;
	struct steer_health_target *target; /* nhealth entries */
	char **health_key;                /* nhealth pointers into target[i].key */
};

/*
 * Build `out` from conf->services.  `db` (may be NULL: skip the zone rules)
 * is the zone set the services must live in: the name must be inside a
 * served zone, not at or below a delegation, with no CNAME there.  A name
 * inside a configured zone that is not served (its load failed) passes.
 * Every problem goes to `err` as `file:line: services[i]...: message`.
 * Returns 0, VANE_ESYNTAX after reporting, or VANE_ENOMEM.  On failure
 * `out` is empty.
 */
int steer_build(const struct vane_conf *conf, const struct zone_db *db,
		vane_report_fn err, void *ctx, struct steer_build *out) VANE_WUR;

/* Free what steer_build() made (not `b` itself). */
void steer_build_free(struct steer_build *b);

/* Key of an endpoint, "api.example.com/us-east", into buf. */
void steer_ep_key(const struct steer_service *svc, const struct steer_endpoint *ep,
		  char *buf, size_t size);
