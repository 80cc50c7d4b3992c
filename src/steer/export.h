/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Which endpoints of a service a zone transfer exports with `export:
 * healthy` (pure: health, admin state and time are inputs).
 *
 * A secondary without steering answers every exported address to every
 * client, so the question is not "which endpoint for this client" but
 * "which endpoints can be in some answer now".  That is an endpoint that
 * is up (health up or no check) and not drained, with a weight above 0 (a
 * ramp at any step above 0% counts: it answers some clients).  Weight-0
 * standby endpoints (standby: auto) stand in only when no weighted one is
 * up, as in steer_decide.  With none up, the service's all-down mode
 * decides, as it does for queries: open exports every endpoint not drained
 * and not standby: never; empty and servfail export nothing (a secondary
 * cannot fail one name; NODATA is the nearest it serves).  A policy
 * without the health filter answers endpoints that are down: so does its
 * export (drained ones stay out).
 */
#pragma once

#include <stdint.h>

#include "steer/steer.h"

/* Bit i set: endpoint i of `svc` is exported.  `health` and `admin` may be
 * NULL (everything up, no operator state). */
uint64_t steer_export_set(const struct steer_service *svc, const struct steer_health *health,
			  const struct steer_admin *admin, uint64_t now_ms);
