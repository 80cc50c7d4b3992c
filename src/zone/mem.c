/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "zone/mem.h"

/* Chunks come straight from mmap and go straight back with munmap: freeing
 * an old zone version after a reload returns its memory to the system at
 * once, instead of leaving it in malloc's arenas (issue 16).  Only touched
 * pages count in RSS, so a small zone does not pay for a whole chunk. */
#define CHUNK_MIN (1024 * 1024)

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
		csize = (sizeof(*c) + csize + 4095) & ~(size_t)4095;
		void *map = mmap(NULL, csize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				 -1, 0);
		if (map == MAP_FAILED)
			return NULL;
		c = map;
		csize -= sizeof(*c);
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
		munmap(c, sizeof(*c) + c->size);
	}
	free(m);
}
