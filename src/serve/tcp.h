/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * DNS over TCP (RFC 7766) on its own thread and libuv loop: 2-byte length
 * framing, partial reads and writes, pipelined queries answered as each
 * completes.  It faces the internet, so every resource a client can hold
 * is bounded (RFC 7766 section 6.2.2 leaves the limits to the server):
 * connections in all and per client address (a full table refuses new
 * connections, it never closes live ones), a short deadline for the first
 * query and then the idle timeout, unread answers per connection, and the
 * bytes of every TCP buffer together.  Its own thread, so that a TCP flood
 * slows neither the control socket, the HTTP API nor the health probes on
 * the main loop.
 */
#pragma once

#include "conf/conf.h"
#include <stdint.h>
#include <uv.h>

#include "serve/stats.h"
#include "serve/view.h"

struct tcp_server;

/* Why connections were refused or closed (tcp_counters). */
struct tcp_counters {
	uint64_t accepted;
	uint64_t refused_full;        /* tcp-max-clients open: accepted and closed at once */
	uint64_t refused_per_address; /* tcp-max-per-address from that address */
	uint64_t closed_first_query;  /* no query within tcp-first-query-timeout */
	uint64_t closed_idle;         /* tcp-idle-timeout after the last query */
	uint64_t dropped_output;      /* over TCP_OUT_MAX of answers not read */
	uint64_t dropped_memory;      /* tcp-buffer-limit reached */
};

/* Unread answers a connection may hold before it is dropped. */
#define TCP_OUT_MAX (64 * 1024)

/* Bind and listen on every address (calling thread, so that binding
 * errors are reported before the daemon starts), then serve on a thread of
 * its own.  The connections read the view `*root` with rcu_dereference;
 * that thread is a QSBR reader.  On failure nothing is left running and
 * *out is NULL.  Returns 0 or a negative VANE_E* code. */
int tcp_start(struct serve_view *const *root, const struct vane_conf *conf,
	      struct tcp_server **out) VANE_WUR;

/* Ask the TCP thread to close the listeners and every connection; it then
 * ends.  Any thread; returns at once.  NULL: nothing. */
void tcp_close(struct tcp_server *ts);

/* Join the TCP thread (after tcp_close) and free everything. NULL: nothing. */
void tcp_free(struct tcp_server *ts);

/* The TCP thread's query counters: one block, written by that thread only. */
struct srv_stats *tcp_stats(struct tcp_server *ts);

/* Connection counters, written by the TCP thread only (reads may lag). */
const struct tcp_counters *tcp_counters(const struct tcp_server *ts);

/* Open connections, and bytes held in TCP buffers now (any thread). */
unsigned tcp_client_count(const struct tcp_server *ts);
uint64_t tcp_buffer_bytes(const struct tcp_server *ts);
