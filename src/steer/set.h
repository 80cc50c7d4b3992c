/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The steered names of one configuration snapshot: services (prepared, see
 * steer.h) and an exact-match table from lower-cased wire name to service.
 * Immutable once built; owned by the snapshot.
 */
#pragma once

#include <string.h>

#include "steer/steer.h"

struct steer_set {
	struct steer_service *svc;       /* `n` prepared services */
	uint32_t n;
	struct steer_endpoint *ep_store; /* endpoints of every service, one block */
	uint32_t n_ep_total;
	uint32_t *table;                 /* open addressing: service index + 1, 0 = empty */
	uint32_t tmask;
};

/* Build the name table over `set->svc[0..n)`; VANE_EEXIST on a duplicate
 * name, VANE_ENOMEM. */
int steer_set_index(struct steer_set *set) VANE_WUR;

/* Index of the service named `lname` (lower-cased wire, `len` bytes), or -1. */
static inline int steer_set_find(const struct steer_set *set, const uint8_t *lname,
				 size_t len, uint32_t hash)
{
	if (!set || set->n == 0)
		return -1;
	for (uint32_t i = hash & set->tmask;; i = (i + 1) & set->tmask) {
		uint32_t v = set->table[i];
		if (v == 0)
			return -1;
		const struct steer_service *s = &set->svc[v - 1];
		if (s->name_len == len && memcmp(s->name, lname, len) == 0)
			return (int)(v - 1);
	}
}

/* Free everything the set owns (services, endpoints, table) and the set. */
void steer_set_free(struct steer_set *set);
