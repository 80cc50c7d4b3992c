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
/* Chunks double up to this, so a big zone is a few mappings, and those
 * from HUGE_MIN on ask for transparent huge pages: a million-record zone
 * is hundreds of megabytes, and faulting it in 4 KiB pages was a fifth of
 * its load time.  At most one partly used huge page per zone is wasted. */
#define CHUNK_MAX (64u * 1024 * 1024)
#define HUGE_MIN (4u * 1024 * 1024)

struct chunk {
	struct chunk *next;
	size_t used, size;
	_Alignas(8) unsigned char data[];
};

struct zone_mem {
	struct chunk *head;
	size_t next_size;
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
		size_t want = m->next_size ? m->next_size : CHUNK_MIN;
		size_t csize = size > want ? size : want;
		csize = (sizeof(*c) + csize + 4095) & ~(size_t)4095;
		void *map = mmap(NULL, csize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				 -1, 0);
		if (map == MAP_FAILED)
			return NULL;
		if (csize >= HUGE_MIN)
			madvise(map, csize, MADV_HUGEPAGE);   /* a hint; fine if refused */
		if (want < CHUNK_MAX)
			m->next_size = want * 2;
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
