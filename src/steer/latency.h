/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Latency tables: measured RTT from client networks (or locations) to the
 * endpoints of each service.  Immutable once built; the runtime replaces the
 * whole table when an operator pushes updates.  Pure lookups.
 */
#pragma once

#include "steer/steer.h"

/* One row: a client network (family + prefix) or a location (country or
 * continent code, prefix 0 with family 0), with one RTT per endpoint. */
struct steer_latency_row {
	uint16_t family;                /* 1 = IPv4, 2 = IPv6, 0 = location row */
	uint8_t prefix;
	uint8_t addr[16];               /* network, bits past prefix zero */
	char location[3];               /* "DE" or "EU" for location rows */
	struct steer_latency lat;       /* rtt_ms[] indexed like service->ep */
};

struct steer_latency_svc {
	uint32_t nrows;
	struct steer_latency_row *rows; /* network rows, longest prefix first */
};

struct steer_latency_table {
	uint32_t nsvc;                  /* indexed like steer_set.svc */
	struct steer_latency_svc *svc;
};

/*
 * The row for this client: the longest network row containing the client
 * address (ECS address when the service honours ECS), else the row for its
 * country, else for its continent, else NULL.
 */
const struct steer_latency *steer_latency_lookup(const struct steer_latency_table *t,
						 const struct steer_service *svc,
						 uint32_t svc_index,
						 const struct steer_client *client);
