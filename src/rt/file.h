/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * Replace `dir`/`name` with `text` so that a crash leaves the old file or
 * the new one, never a torn one: write a temporary file beside it, fsync,
 * rename over the old one, fsync the directory (created if missing).
 * 0 or -errno.  When only the directory's fsync failed the new file is
 * in place; the error says its durability is in doubt.
 */
int rt_write_atomic(const char *dir, const char *name, const char *text);
