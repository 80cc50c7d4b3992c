/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Internal to the resolver's client side (rserver.c, rtcp.c, rctl.c, run.c). */
#pragma once

#include "lib/pkt.h"
#include "rt/sock.h"
#include "resolverd/resolverd.h"

struct rtcp_conn;

/* One client query, from a UDP worker or a TCP connection. */
struct creq {
	struct creq *next;
	struct resolverd *r;
	int fd;                          /* UDP: the worker's socket */
	struct rtcp_conn *tcp;           /* TCP: the connection (referenced) */
	struct sockaddr_storage ss;
	socklen_t sslen;
	size_t ctrllen;                  /* UDP: the query's PKTINFO, echoed */
	uint8_t ctrl[RT_PKTINFO_SPACE];
	struct dns_query q;
	struct cache_net net;
	bool prefetch;                   /* already answered: only refresh */
	struct creq *rnext;              /* in r->running (a resolution's first) */
	struct creq *waiters;            /* identical misses answered with it */
	size_t len;
	uint8_t pkt[];
};

int creq_fast(struct resolverd *r, struct creq *c, uint8_t *out, size_t cap);
void creq_resolve(struct resolverd *r, struct creq *c);
void creq_enqueue(struct resolverd *r, struct creq *c);
void creq_free(struct creq *c);

int rworkers_start(struct resolverd *r) VANE_WUR;
/* Wake every worker and join it; then free the misses still queued.  The
 * sockets stay open for answers of resolutions still running.  Loop
 * thread, after the loop has stopped. */
void rworkers_stop(struct resolverd *r);
/* Close the workers' sockets (after rworkers_stop). */
void rworkers_free(struct resolverd *r);
int rtcp_start(struct resolverd *r) VANE_WUR;
/* Close the listeners and every client connection. */
void rtcp_close(struct resolverd *r);
void rtcp_send(struct rtcp_conn *t, const uint8_t *msg, size_t len);
void rtcp_unref(struct rtcp_conn *t);
