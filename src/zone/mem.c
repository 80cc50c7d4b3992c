/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdlib.h>
#include <string.h>

#include "zone/mem.h"

#define CHUNK_MIN (64 * 1024)

struct chunk {
	struct chunk *next;
	size_t used, size;
	_Alignas(8) unsigned char data[];
};

struct zone_mem {
	struct chunk *head;
};

struct zone_mem *zone_mem_new(void)
{
	return calloc(1, sizeof(struct zone_mem));
}

void *zone_mem_alloc(struct zone_mem *m, size_t size)
{
	size = (size + 7) & ~(size_t)7;
	struct chunk *c = m->head;
	if (!c || c->size - c->used < size) {
		size_t csize = size > CHUNK_MIN ? size : CHUNK_MIN;
		c = malloc(sizeof(*c) + csize);
		if (!c)
			return NULL;
		c->used = 0;
		c->size = csize;
		c->next = m->head;
		m->head = c;
	}
	void *p = c->data + c->used;
	c->used += size;
	return p;
}

void *zone_mem_dup(struct zone_mem *m, const void *src, size_t size)
{
	void *p = zone_mem_alloc(m, size ? size : 1);
	if (p && size)
		memcpy(p, src, size);
	return p;
}

void zone_mem_free(struct zone_mem *m)
{
	if (!m)
		return;
	for (struct chunk *c = m->head, *n; c; c = n) {
		n = c->next;
		free(c);
	}
	free(m);
}
