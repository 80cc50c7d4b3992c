/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Steering intent -> PowerDNS LUA records, and the plan that says what
 * translates exactly, approximately, or not at all (issue 12).
 *
 * Pure: no I/O, no clock.  The state of each endpoint (up, drained, its
 * weight now, ramp step included) is an input, so every push carries the
 * decision vaned would make now: a drain, a failed check or a ramp step is
 * a record update (docs/providers.md).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "conf/conf.h"

/* One endpoint as the operator state has it now. */
struct prov_ep_state {
	bool up, drained, ramping;
	uint32_t weight;                 /* effective: operator weight and ramp step */
};

/* The LUA rrset of one service (both families share the rrset). */
struct prov_records {
	unsigned ttl;
	char *content[2];                /* 0: "A \"...\"", 1: "AAAA \"...\""; NULL: none */
};

/*
 * Translate `svc` in the state `st` (one entry per endpoint, in config
 * order) into LUA records.  `conf` gives the checks.  Returns 0 or
 * VANE_ENOMEM; free with prov_records_free.
 */
int prov_translate(const struct vane_conf *conf, const struct conf_service *svc,
		   const struct prov_ep_state *st, struct prov_records *out) VANE_WUR;
void prov_records_free(struct prov_records *r);

/* The weight (0: not answered) each endpoint gets in the records of state
 * `st`: what prov_translate selects from.  `w` has one entry per endpoint
 * (at most 64); `*all_down`: nothing was eligible, so every endpoint that
 * is not drained is answered at once (all-down open).  Returns how many
 * are answered. */
unsigned prov_eligible(const struct conf_service *svc, const struct prov_ep_state *st,
		       uint32_t *w, bool *all_down);

enum prov_fidelity { PROV_EXACT = 0, PROV_APPROX, PROV_LOST };

#define PROV_PLAN_MAX 16
#define PROV_PLAN_TEXT 200

struct prov_plan_item {
	const char *feature;             /* "health", "geo", "weighted", ... */
	enum prov_fidelity fidelity;
	char text[PROV_PLAN_TEXT];
};

/* What `svc` keeps at a PowerDNS provider; returns the number of items. */
unsigned prov_plan(const struct vane_conf *conf, const struct conf_service *svc,
		   struct prov_plan_item *items, unsigned max);

/* "exact", "approximate", "lost". */
const char *prov_fidelity_name(enum prov_fidelity f);

/* True when `svc`'s policy has filter `name` ([health, weighted] when none
 * is given, as vaned reads it). */
bool prov_policy_has(const struct conf_service *svc, const char *name);

/* The provider zone (one of `zones`) that holds `name`, or NULL. */
const char *prov_zone_of(char *const *zones, unsigned nzones, const char *name);
