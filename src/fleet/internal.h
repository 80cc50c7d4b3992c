/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Inside the fleet: the state its files share (fleet.c: the etcd threads,
 * applying and voting; writes.c: operator writes off the loop; locals.c:
 * --local changes kept on disk).  Not for other layers.
 */
#pragma once

#include "fleet/etcd.h"
#include "fleet/fleet.h"

#define PREFIX_MAX 256
#define KEY_MAX (LIVE_KEY_MAX + PREFIX_MAX + 16)
#define LOCALS_FILE "cluster-local.json"

/* A change made with --local while etcd had no quorum. */
struct local_change {
	char key[LIVE_KEY_MAX];          /* "service/endpoint" */
	char *value;                     /* JSON as it would be in etcd */
	int64_t base_rev;                /* the key's mod_revision when last seen */
	bool inflight;                   /* a reconciliation is under way */
	uint64_t since;                  /* wall ms of the change */
};

/* This node's vote on one probe target ("CHECK@ADDRESS"), for the thread
 * to publish under the lease. */
struct my_vote {
	char target[192];
	bool up, dirty;
	uint64_t since;                  /* wall ms of the verdict */
};

enum job_op { JOB_GET, JOB_PUT };

/* One etcd call of an operator write or a reconciliation, made by the
 * writer thread and handed back to the loop (writes.c). */
struct fleet_job {
	struct fleet_job *next;
	enum job_op op;
	char lkey[LIVE_KEY_MAX], key[KEY_MAX];
	char *value;                     /* GET: what etcd holds (out); PUT: to write (in) */
	int64_t rev;                     /* GET: its mod_revision (out); PUT: compared (in) */
	int64_t wrote;                   /* PUT: the store's revision after it */
	bool ok;                         /* PUT: the compare held */
	int ret;                         /* the call's result */
	/* The loop's. */
	bool reconcile;
	bool local, changed;
	unsigned attempt;
	uint64_t queued_ms;
	struct steer_admin_ep before, after;   /* the working entry around the verb */
	fleet_verb_fn verb;
	fleet_done_fn done;
	void *arg;
};

struct fleet {
	uv_loop_t *loop;
	struct ops_rt *ops;
	char *name, *node, *version, *state_dir;
	char prefix[PREFIX_MAX];         /* "/vane/NAME/" */
	unsigned lease_ms;
	struct etcd *w;                  /* the writer thread's client */
	struct etcd *r;                  /* the poll thread's client */

	uv_thread_t thread, watch_thread, writer, keepalive;
	bool thread_on, watch_on, writer_on, keepalive_on;
	struct etcd *k;                  /* the keepalive thread's client */
	struct etcd *wr;                 /* the watch thread's client (reads after events) */
	struct etcd *ws;                 /* the watch stream's */
	struct etcd *peers;              /* anycast's peer reads (a worker thread) */
	uv_mutex_t peers_lock;
	uv_async_t async, wasync;
	uv_mutex_t lock;
	uv_cond_t wake, wjob;

	/* Under lock: the threads' findings and the loop's answers. */
	bool stop;
	int64_t lease;                   /* this node's, 0 = none (yet, or expired) */
	bool have_admin;                 /* admin holds a range not yet taken */
	struct etcd_range admin;
	int64_t admin_mark;              /* of the newest range handed over */
	bool available, avail_known;
	int64_t store_rev;               /* etcd's revision at the last poll */
	uint64_t last_ok_ms;             /* wall ms of the last answer from etcd */
	json_t *nodes;                   /* object: node -> record */
	char digest[65];
	int anycast;                     /* ANYCAST_* bits; -1: no anycast state told */
	int64_t applied;                 /* admin revision applied by the loop */
	struct my_vote *mine;            /* this node's votes */
	unsigned nmine;
	bool have_votes;
	struct etcd_range votes;         /* every node's votes, not yet taken */
	unsigned quorum;                 /* 0 = majority */
	bool has_locals;                 /* the poll keeps ringing while true */
	unsigned nlocal_marks;           /* copy of nlocals, for the node record */
	uint64_t want_last_seen_until;   /* monotonic ms: someone reads `cluster` */
	int64_t latest_admin_rev;        /* newest admin mod_revision read by a thread */
	struct fleet_job *todo, **todo_tail;   /* for the writer thread */
	struct fleet_job *done, **done_tail;   /* back to the loop */
	uint64_t vote_writes;            /* votes written to etcd */
	int64_t votes_rev, votes_count;  /* the poll thread's: of the last full vote read */

	/* Loop thread only. */
	bool loop_available, loop_avail_known, applied_once;
	struct etcd_range seen;          /* the admin range last applied */
	int64_t seen_rev;                /* its highest mod_revision */
	int64_t wrote_rev;               /* store revision of this node's last write */
	struct local_change *locals;
	unsigned nlocals;
	struct etcd_range vote_seen;     /* the votes last folded */
	uint64_t vote_seen_ms;           /* monotonic ms they arrived */
	uint64_t isolated_since;         /* monotonic ms etcd went away; 0: reachable */
	bool own_probes;                 /* isolated past the lease: own probes decide */
	unsigned writes_queued;          /* jobs not yet finished */
};

/* fleet.c */
char *fleet_admin_value(const struct steer_admin_ep *a);
void fleet_admin_parse(const char *value, struct steer_admin_ep *a);
void fleet_admin_merge(struct steer_admin_ep *dst, const struct steer_admin_ep *c);
struct steer_admin_ep *fleet_work_ep(struct fleet *f, uint32_t s, uint32_t e);
void fleet_etcd_key(const struct fleet *f, const char *what, const char *key, char *buf,
		    size_t size);
const struct etcd_kv *fleet_find_kv(const struct etcd_range *r, const char *key);
/* Apply the range last seen again (after a local mark was dropped). */
void fleet_apply_seen(struct fleet *f);

/* writes.c */
int fleet_writer_start(struct fleet *f) VANE_WUR;
/* Join the writer; every unfinished write is told VANE_EAGAIN. */
void fleet_writer_stop(struct fleet *f);
/* etcd is back: push or drop each --local change. */
void fleet_reconcile(struct fleet *f);
struct local_change *fleet_find_local(const struct fleet *f, const char *key);
void fleet_drop_local(struct fleet *f, struct local_change *l);

/* locals.c */
/* Write the --local changes to STATE_DIR/cluster-local.json (atomic,
 * durable; the file is removed when there are none). */
int fleet_locals_save(struct fleet *f) VANE_WUR;
/* Read them back at start (a missing file: none). */
void fleet_locals_load(struct fleet *f);
