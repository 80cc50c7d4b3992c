/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Live mode's parts (live.h): the private internet, the endpoints, the
 * clients and the timeline, sharing one libuv loop. */
#pragma once

#include <stdio.h>
#include <sys/types.h>
#include <uv.h>

#include "lab/live.h"

#define LIVE_MAX_RES (LAB_MAX_PROFILE * LAB_MAX_COUNTRY)
#define LIVE_MAX_CLIENTS 20000

struct live_proc {
	char name[64];
	pid_t pid;                 /* 0 = not running */
};

struct live_ep {
	struct live *lv;
	unsigned idx;
	uv_tcp_t listener;
	bool up;
	uint64_t hits;             /* HTTP requests answered, probes included */
};

struct live_res {
	unsigned prof, country;
	char addr[32];             /* listens on addr@53 */
	struct sockaddr_in sa;
	struct live_proc proc;
};

struct live_client {
	struct live *lv;
	unsigned idx, res;         /* its resolver (live_res index) */
	uint16_t qid;
	bool retry;                /* the last connection failed */
	uint32_t due;              /* second its next counted connection is due */
	int ep;                    /* endpoint of the answer in flight */
	uint32_t tick;             /* second the attempt started (counted there) */
	bool counted;              /* this attempt counts as traffic */
	uv_udp_t udp;
	uv_timer_t timer;
	uv_tcp_t tcp;
	uv_connect_t conn;
	uv_write_t wr;
	char buf[512];
	bool busy;                 /* a query or connection is in flight */
};

struct live {
	const struct lab_scenario *sc;
	const struct lab_live_opts *o;
	struct lab_series *s;
	uv_loop_t loop;
	char dir[4096];
	char sockdir[64];          /* control sockets: a short path under /tmp,
				    * as sun_path holds 108 bytes */
	char pfx[16];              /* "127.X.Y" */
	unsigned x, y;
	unsigned spread;           /* /24s per country: 127.X.(Y+1+c*spread+k) */
	uint16_t ep_port;
	char vaned[4096], resolver[4096], vanectl[4096], unbound[4096];

	struct live_proc auth[3];  /* root, TLD, operator */
	unsigned n_res;
	struct live_res res[LIVE_MAX_RES];
	struct live_ep ep[LAB_MAX_EP];
	void *conns;               /* the endpoints' open connections (live_ep.c) */
	unsigned n_cli;
	struct live_client *cli;

	uint64_t t0_ms;            /* loop time of second 0 */
	uint32_t now_s;            /* the current second of the run */
	bool stopping;
	uv_timer_t tick;
	unsigned next_ev;
	uint64_t auth_last;        /* the operator's last `queries` counter */
	bool auth_known;
	uv_process_t ctl_proc;     /* at most one vanectl at a time */
	bool ctl_busy;
	const struct lab_event *ctl_ev; /* the event vanectl runs for, or NULL */
	uv_pipe_t ctl_out;
	char ctl_buf[8192];
	size_t ctl_len;
	int stat_pending;          /* a stats call's second, -1 = none */
	unsigned q_ev[LAB_MAX_EVENT], n_q;   /* events waiting for vanectl */
	uint32_t ttl;              /* the service TTL now (TTL events) */
	bool deleted;              /* the name is deleted now */
	lab_progress_fn progress;
	void *pctx;
	char *err;
	size_t errlen;
};

/* The third octet of country c's k-th /24 (k < spread).  A country's
 * clients are spread over several /24s: vaned's ramps admit client subnets
 * (sticky per /24), so with one /24 per country a ramp would move a whole
 * country at once. */
static inline unsigned live_subnet(const struct live *lv, unsigned c, unsigned k)
{
	return lv->y + 1 + c * lv->spread + k;
}

/* live.c: a SIGINT or SIGTERM asked the run to end. */
bool live_interrupted(void);

/* live_net.c: configs, zones and the server processes. */
int live_net_pick(struct live *lv);
int live_net_write(struct live *lv);
int live_net_start(struct live *lv);
void live_net_stop(struct live *lv);
/* Rewrite the operator's config (TTL, deleted name) for a reload. */
int live_net_write_operator(struct live *lv);

/* live_ep.c: the endpoints. */
int live_ep_start(struct live *lv, unsigned e);
void live_ep_stop(struct live *lv, unsigned e);
/* Close the endpoints' open connections (at the end of a run). */
void live_ep_close_all(struct live *lv);

/* live_client.c: the clients. */
int live_clients_start(struct live *lv);

/* live_timeline.c: the events, through vanectl and reloads; the
 * operator's query counter once a second. */
void live_timeline_second(struct live *lv);
