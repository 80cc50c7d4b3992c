/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * DNS over TCP (RFC 7766) on the loop thread: 2-byte length framing,
 * partial reads and writes, pipelined queries answered as each completes,
 * an idle timeout and a client limit.  UDP runs on its own threads, so a
 * flood of TCP clients cannot starve it.
 */
#pragma once

#include "conf/conf.h"
#include <uv.h>

#include "serve/stats.h"
#include "serve/view.h"

struct tcp_server;

/* Bind and listen on every address, on `loop`.  The connections read the
 * view `*root`, which must be published on the thread that runs `loop`.
 * Returns 0 or a negative VANE_E* code. */
int tcp_start(uv_loop_t *loop, struct serve_view *const *root, const struct vane_conf *conf,
	      struct tcp_server **out) VANE_WUR;

/* Close the listeners and every connection (loop thread). */
void tcp_close(struct tcp_server *ts);

/* Free after the loop has finished closing handles. */
void tcp_free(struct tcp_server *ts);

struct srv_stats *tcp_stats(struct tcp_server *ts);
unsigned tcp_client_count(const struct tcp_server *ts);
