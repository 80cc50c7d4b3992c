/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdlib.h>

#include "steer/set.h"

int steer_set_index(struct steer_set *set)
{
	uint32_t size = 16;
	while (size < set->n * 2u)
		size <<= 1;
	free(set->table);
	set->table = calloc(size, sizeof(*set->table));
	if (!set->table)
		return VANE_ENOMEM;
	set->tmask = size - 1;
	for (uint32_t k = 0; k < set->n; k++) {
		const struct steer_service *s = &set->svc[k];
		uint32_t h = dname_hash(s->name, s->name_len);
		if (steer_set_find(set, s->name, s->name_len, h) >= 0)
			return VANE_EEXIST;
		uint32_t i = h & set->tmask;
		while (set->table[i])
			i = (i + 1) & set->tmask;
		set->table[i] = k + 1;
	}
	return 0;
}

void steer_set_free(struct steer_set *set)
{
	if (!set)
		return;
	free(set->svc);
	free(set->ep_store);
	free(set->table);
	free(set);
}
