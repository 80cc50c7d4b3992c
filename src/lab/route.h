/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The model's anycast routing (see struct lab_anycast in model.h): which
 * site a client's packets reach at a given time.  Each site's route is on
 * or off; a change reaches every router `convergence` after it happens.
 * A site that changes twice within one convergence time is seen in its
 * older state until the later change has converged (the middle state is
 * skipped): flaps shorter than convergence are not modelled.  Pure.
 */
#pragma once

#include "lab/model.h"

struct lab_route {
	uint32_t convergence_ms;
	unsigned n_site;
	struct {
		unsigned ep;
		bool on, prev;             /* announced now, and before the last change */
		uint64_t changed_ms;
	} site[LAB_MAX_EP];
	/* Per country, the sites in the order a client there prefers them. */
	uint8_t pref[LAB_MAX_COUNTRY][LAB_MAX_EP];
};

/* Every site announced since time 0. */
void lab_route_init(struct lab_route *rt, const struct lab_scenario *sc);

/* Site of endpoint `ep` announces (`on`) from `ms`; no-op when unchanged. */
void lab_route_set(struct lab_route *rt, unsigned ep, bool on, uint64_t ms);

/* Whether endpoint `ep`'s route is announced (as its site last decided). */
bool lab_route_on(const struct lab_route *rt, unsigned ep);

/* The endpoint a client in `country` reaches at `ms`, -1 when no route. */
int lab_route_pick(const struct lab_route *rt, unsigned country, uint64_t ms);
