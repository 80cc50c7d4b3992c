/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Bounds-checked wire cursor with a sticky error.  Every packet read and write
 * in Vane goes through this.  Once an operation fails, `err` is set and every
 * later operation is a no-op that returns zeros, so a parser checks `err` once
 * at the end instead of after each field (the pattern of Knot's wire_ctx_t).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/errcode.h"

struct wire {
	uint8_t *start; /* beginning of the buffer (for compression offsets) */
	uint8_t *pos;   /* next byte to read or write */
	uint8_t *end;   /* one past the last usable byte */
	int err;        /* 0 or the first VANE_E* code hit */
};

static inline struct wire wire_init(uint8_t *buf, size_t len)
{
	struct wire w = { buf, buf, buf + len, 0 };
	return w;
}

/* Read-only view; the const is dropped, but read functions never write. */
static inline struct wire wire_init_ro(const uint8_t *buf, size_t len)
{
	return wire_init((uint8_t *)buf, len);
}

static inline size_t wire_avail(const struct wire *w)
{
	return w->err ? 0 : (size_t)(w->end - w->pos);
}

static inline size_t wire_offset(const struct wire *w)
{
	return (size_t)(w->pos - w->start);
}

static inline bool wire_need(struct wire *w, size_t n)
{
	if (w->err)
		return false;
	if ((size_t)(w->end - w->pos) < n) {
		w->err = VANE_ESPACE;
		return false;
	}
	return true;
}

static inline void wire_fail(struct wire *w, int err)
{
	if (!w->err)
		w->err = err;
}

static inline void wire_seek(struct wire *w, size_t off)
{
	if (w->err)
		return;
	if (off > (size_t)(w->end - w->start)) {
		w->err = VANE_ERANGE;
		return;
	}
	w->pos = w->start + off;
}

static inline void wire_skip(struct wire *w, size_t n)
{
	if (wire_need(w, n))
		w->pos += n;
}

static inline uint8_t wire_read_u8(struct wire *w)
{
	if (!wire_need(w, 1))
		return 0;
	return *w->pos++;
}

static inline uint16_t wire_read_u16(struct wire *w)
{
	if (!wire_need(w, 2))
		return 0;
	uint16_t v = (uint16_t)(w->pos[0] << 8 | w->pos[1]);
	w->pos += 2;
	return v;
}

static inline uint32_t wire_read_u32(struct wire *w)
{
	if (!wire_need(w, 4))
		return 0;
	uint32_t v = (uint32_t)w->pos[0] << 24 | (uint32_t)w->pos[1] << 16 |
		     (uint32_t)w->pos[2] << 8 | w->pos[3];
	w->pos += 4;
	return v;
}

static inline void wire_read(struct wire *w, void *dst, size_t n)
{
	if (!wire_need(w, n)) {
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, w->pos, n);
	w->pos += n;
}

static inline void wire_write_u8(struct wire *w, uint8_t v)
{
	if (wire_need(w, 1))
		*w->pos++ = v;
}

static inline void wire_write_u16(struct wire *w, uint16_t v)
{
	if (!wire_need(w, 2))
		return;
	w->pos[0] = (uint8_t)(v >> 8);
	w->pos[1] = (uint8_t)v;
	w->pos += 2;
}

static inline void wire_write_u32(struct wire *w, uint32_t v)
{
	if (!wire_need(w, 4))
		return;
	w->pos[0] = (uint8_t)(v >> 24);
	w->pos[1] = (uint8_t)(v >> 16);
	w->pos[2] = (uint8_t)(v >> 8);
	w->pos[3] = (uint8_t)v;
	w->pos += 4;
}

static inline void wire_write(struct wire *w, const void *src, size_t n)
{
	if (wire_need(w, n)) {
		memcpy(w->pos, src, n);
		w->pos += n;
	}
}

/* Big-endian helpers for fixed offsets inside an already-sized buffer. */
static inline uint16_t wire_get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void wire_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint32_t wire_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void wire_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
