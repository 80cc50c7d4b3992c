/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A grow-only arena that owns every allocation of one zone, so a zone is
 * freed in one call and its nodes sit close together in memory.
 */
#pragma once

#include <stddef.h>

struct zone_mem;

struct zone_mem *zone_mem_new(void);
/* Aligned to 8 bytes; NULL on allocation failure. */
void *zone_mem_alloc(struct zone_mem *m, size_t size);
void *zone_mem_dup(struct zone_mem *m, const void *src, size_t size);
void zone_mem_free(struct zone_mem *m);
