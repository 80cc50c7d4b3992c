/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>

#include "steer/latency.h"

static bool prefix_match(const uint8_t *a, const uint8_t *net, uint8_t prefix)
{
	unsigned full = prefix / 8u, rest = prefix % 8u;
	if (memcmp(a, net, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xFF << (8 - rest));
	return (a[full] & mask) == (net[full] & mask);
}

const struct steer_latency *steer_latency_lookup(const struct steer_latency_table *t,
						 const struct steer_service *svc,
						 uint32_t svc_index,
						 const struct steer_client *client)
{
	if (!t || svc_index >= t->nsvc)
		return NULL;
	const struct steer_latency_svc *ls = &t->svc[svc_index];
	if (ls->nrows == 0)
		return NULL;
	uint16_t family;
	const uint8_t *addr;
	uint8_t usable = steer_client_addr(svc, client, &family, &addr);
	const struct steer_latency_row *country = NULL, *continent = NULL;
	for (uint32_t i = 0; i < ls->nrows; i++) {
		const struct steer_latency_row *r = &ls->rows[i];
		if (r->family == 0) {
			if (client->has_geo && !country &&
			    strcmp(r->location, client->geo.country) == 0)
				country = r;
			else if (client->has_geo && !continent &&
				 strcmp(r->location, client->geo.continent) == 0)
				continent = r;
			continue;
		}
		/* Rows are longest prefix first, so the first match wins; a row
		 * longer than the client's ECS prefix cannot be decided. */
		if (r->family == family && r->prefix <= usable &&
		    prefix_match(addr, r->addr, r->prefix))
			return &r->lat;
	}
	if (country)
		return &country->lat;
	return continent ? &continent->lat : NULL;
}
