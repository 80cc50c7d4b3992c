/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A small open-addressing map from borrowed strings to their index, for
 * carrying state by name ("service/endpoint") across reloads and restarts.
 */
#pragma once

#include <stdint.h>

#include "lib/errcode.h"

struct strmap {
	uint32_t mask;
	uint32_t *slot;          /* index + 1, 0 = empty */
	const char *const *keys; /* borrowed */
};

/* Index `keys[0..n)` (NULL entries skipped; the first of equal keys wins). */
int strmap_init(struct strmap *m, const char *const *keys, uint32_t n) VANE_WUR;
/* Index of `key`, or -1. */
int64_t strmap_get(const struct strmap *m, const char *key);
void strmap_free(struct strmap *m);
