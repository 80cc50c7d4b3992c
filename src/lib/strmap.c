/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdlib.h>
#include <string.h>

#include "lib/strmap.h"

static uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u;  /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

int strmap_init(struct strmap *m, const char *const *keys, uint32_t n)
{
	uint32_t size = 16;
	while (size < n * 2u)
		size <<= 1;
	m->slot = calloc(size, sizeof(*m->slot));
	if (m->slot == NULL)
		return VANE_ENOMEM;
	m->mask = size - 1;
	m->keys = keys;
	for (uint32_t k = 0; k < n; k++) {
		if (keys[k] == NULL || strmap_get(m, keys[k]) >= 0)
			continue;   /* first one wins */
		uint32_t i = str_hash(keys[k]) & m->mask;
		while (m->slot[i])
			i = (i + 1) & m->mask;
		m->slot[i] = k + 1;
	}
	return 0;
}

int64_t strmap_get(const struct strmap *m, const char *key)
{
	if (m->slot == NULL)
		return -1;
	for (uint32_t i = str_hash(key) & m->mask;; i = (i + 1) & m->mask) {
		uint32_t v = m->slot[i];
		if (v == 0)
			return -1;
		if (strcmp(m->keys[v - 1], key) == 0)
			return v - 1;
	}
}

void strmap_free(struct strmap *m)
{
	free(m->slot);
	m->slot = NULL;
}
