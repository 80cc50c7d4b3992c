/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Plain http probes without libcurl: one kept-alive HTTP/1.1 connection per
 * target, a GET written with one send() and its answer read as it comes,
 * on the probe thread's loop (http.c).  libcurl spent most of a probe's
 * CPU on its own bookkeeping (a walk and a poll() of every cached
 * connection each second, allocations per transfer); this costs a send and
 * a recv per probe in steady state and allocates nothing.  https stays
 * with libcurl.
 *
 * Private to health/: made on the loop thread (plain_new copies what it
 * needs from the check), used only on the probe thread from then on, and
 * destroyed on the loop thread once the probe thread has closed it.
 */
#pragma once

#include <stdbool.h>
#include <uv.h>

#include "health/health.h"

struct plain_probe;

/* Told once per plain_start, unless cancelled first (probe thread): `err`
 * when no whole response came, else its status and (up to 64 KiB of) its
 * body. */
typedef void (*plain_done_fn)(void *ctx, const char *err, long status, const char *body,
			      size_t len);

struct plain_probe *plain_new(const struct probe_conf *pc, plain_done_fn done, void *ctx);
/* Start one probe on `loop`, reusing the connection kept from the last. */
void plain_start(struct plain_probe *pp, uv_loop_t *loop);
/* Abandon the probe in flight; its connection is closed (its state is
 * unknown).  No completion follows. */
void plain_cancel(struct plain_probe *pp);
/* Close what the probe thread holds (asynchronously; nothing calls back). */
void plain_close(struct plain_probe *pp);
/* Free the memory (loop thread, after plain_close on the probe thread). */
void plain_destroy(struct plain_probe *pp);
