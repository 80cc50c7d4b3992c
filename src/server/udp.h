/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * UDP serving: for each listen address, `udp_workers` threads, each with its
 * own SO_REUSEPORT socket (the kernel spreads flows across them), blocking
 * recvmmsg(MSG_WAITFORONE) in batches and answering with one sendmmsg.
 * No allocation, locks or atomics per packet.
 */
#pragma once

#include "conf/conf.h"
#include "server/stats.h"

struct server;
struct udp_group;

/* Bind every socket (errors are logged) and start the threads.
 * Returns 0 or a negative VANE_E* code. */
int udp_start(struct server *srv, const struct vane_conf *conf,
	      struct udp_group **out) VANE_WUR;

/* Stop and join every thread, close the sockets, free the group. */
void udp_stop(struct udp_group *g);

/* Each thread's counters, for summing. */
unsigned udp_stats(struct udp_group *g, struct srv_stats **blocks, unsigned max);
unsigned udp_thread_count(const struct udp_group *g);

/* Wall clock in ms (CLOCK_REALTIME, as health `since` times), read once per
 * batch for steering decisions. */
uint64_t srv_now_ms(void);

/* A random 64-bit seed (getrandom, else time and address bits) for a
 * thread's steering PRNG. */
uint64_t srv_seed(void);
