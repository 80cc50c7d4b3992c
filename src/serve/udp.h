/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * UDP serving: for each listen address, `udp_workers` threads, each with its
 * own SO_REUSEPORT socket (the kernel spreads flows across them), blocking
 * recvmmsg(MSG_WAITFORONE) in batches and answering with one sendmmsg.
 * No allocation, locks or atomics per packet.
 */
#pragma once

#include "conf/conf.h"
#include "serve/stats.h"
#include "serve/view.h"

struct udp_group;

/* Bind every socket (errors are logged) and start the threads, which read
 * the view `*root` (published with RCU by the caller; QSBR readers).
 * Returns 0 or a negative VANE_E* code. */
int udp_start(struct serve_view *const *root, const struct vane_conf *conf,
	      struct udp_group **out) VANE_WUR;

/* Stop and join every thread, close the sockets, free the group. */
void udp_stop(struct udp_group *g);

/* Each thread's counters, for summing. */
unsigned udp_stats(struct udp_group *g, struct srv_stats **blocks, unsigned max);
unsigned udp_thread_count(const struct udp_group *g);
