/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The fleet: vaned nodes sharing operator state through etcd (cluster:).
 *
 * Keys under /vane/NAME/:
 *   admin/SERVICE/ENDPOINT  one endpoint's operator state (JSON: drained,
 *                           weight, load, an operator ramp by its start
 *                           time and steps, so every node computes the same
 *                           step from the clock)
 *   nodes/NODE              a node's record under its lease: version,
 *                           config digest, applied state revision, and
 *                           its anycast state (the peers of anycast:)
 *   health/CHECK@ADDR/NODE  a node's verdict under its lease ("down@MS")
 *
 * Reads: a watch stream on the admin prefix (a thread of its own, blocking
 * libcurl) is the doorbell: each event triggers a fresh linearizable range
 * of the prefix, handed to the loop with uv_async.  A second thread polls
 * every 200 ms as the fallback (a broken stream, missed events after
 * compaction) and as the quorum probe (etcd answers no linearizable read
 * without quorum): a count for the store revision, and the admin and vote
 * ranges only when it moved (votes once a second at most); it also writes
 * the node record and this node's changed votes (batched txns).  A third
 * renews the lease, so that nothing else can make it late.  Threads rather
 * than the loop's curl multi:
 * every call here blocks for up to the timeout when etcd has no quorum,
 * and the loop must keep answering meanwhile.
 *
 * Writes (operator verbs) never block the loop: a writer thread with a
 * queue makes the etcd calls, and the loop takes each result through
 * uv_async.  A write reads the key, the loop applies the verb to what etcd
 * holds, the thread puts it back in a txn on the key's mod_revision, and a
 * conflict starts over, so two operators never lose each other's change.
 * The working state changes only once etcd has taken the write.  Without
 * quorum a write is refused (VANE_EAGAIN) unless local: then it applies on
 * this node only, is kept in STATE_DIR/cluster-local.json and stays
 * marked until etcd is back.  Then it is pushed if nobody changed the key
 * in etcd meanwhile (the local change wins), else dropped for the
 * cluster's value (the cluster wins); either way it is logged.
 *
 * The loop applies etcd's state to the working state of ops/, which
 * persists it in state.json as usual: a node that starts without etcd
 * serves that last state and says so in the log.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "ops/ops.h"

struct fleet;

struct fleet_conf {
	const char *name;                /* cluster name */
	const char *node;
	char *const *etcd;
	unsigned netcd;
	unsigned lease_ms;
	const struct vane_conf *conf;    /* its shared settings make the config digest */
	const char *version;
	const char *state_dir;           /* where --local changes are kept */
	const char *cert, *key, *ca;     /* TLS to etcd (NULL: none) */
};

/* Start on the loop (the thread starts polling at once).  `ops` must
 * outlive the fleet. */
int fleet_start(uv_loop_t *loop, const struct fleet_conf *conf, struct ops_rt *ops,
		struct fleet **out) VANE_WUR;

/* Stop the threads (joins them; unfinished writes are told VANE_EAGAIN)
 * and close the loop handles. */
void fleet_close(struct fleet *f);
/* After the loop ended. */
void fleet_free(struct fleet *f);

/* The config was reloaded: publish the new digest. */
void fleet_config_changed(struct fleet *f, const struct vane_conf *conf);

/* A verb on endpoint `s`/`e`, run against the working state of ops/ (it
 * returns 0 or a VANE_E* code with a message, and sets `*changed`). */
typedef int (*fleet_verb_fn)(void *arg, uint32_t s, uint32_t e, bool *changed, char *err,
			     size_t errsize);

/* The end of a change (loop thread): 0 or a VANE_E* code with `err`;
 * `was_local`: applied on this node only. */
typedef void (*fleet_done_fn)(void *arg, int ret, bool changed, bool was_local,
			      const char *err);

/*
 * Apply `verb` to endpoint `key` ("service/endpoint") through etcd (see
 * above); `done` is called later, once, on the loop.  `local`: if etcd is
 * unavailable, apply on this node only.  Errors given to `done`:
 * VANE_EAGAIN "cluster unavailable: change not applied"; VANE_EBUSY when
 * concurrent writers kept winning; VANE_ENOENT when a reload removed the
 * endpoint meanwhile; the verb's own.  Returns VANE_ENOMEM (and `done` is
 * not called) or 0.
 */
int fleet_change(struct fleet *f, const char *key, bool local, fleet_verb_fn verb,
		 fleet_done_fn done, void *arg) VANE_WUR;

/* The reply of `cluster`: this node, etcd's availability, every node's
 * record (a differing config digest flagged), local changes. */
json_t *fleet_status_json(struct fleet *f);

/* Add to an explain reply, on each endpoint of service `s` under a
 * fleet's vote, the verdict of every live vantage (node, up or down, for
 * how long) and the quorum rule that decided, in "votes" and as lines of
 * "trace_text". */
void fleet_explain(struct fleet *f, uint32_t s, json_t *reply);

/* `text` (a metrics exposition, malloc'd) with the vane_fleet_* metrics
 * appended; `text` as it was when out of memory. */
char *fleet_metrics_append(struct fleet *f, char *text);

/* True while a local change to this endpoint waits for etcd. */
bool fleet_is_local(const struct fleet *f, uint32_t s, uint32_t e);

/* This node's anycast state (announced, self-check passing), published in
 * its node record; nodes/NODE then carries "anycast": {announced, healthy}. */
void fleet_set_anycast(struct fleet *f, bool announced, bool healthy);

/* How many other nodes' records say announced and healthy, read from etcd
 * now (linearizable; blocks up to 500 ms: call it off the loop); -1 when
 * etcd does not answer.  A node's record goes with its lease, so a dead
 * node stops counting within the lease time. */
int fleet_anycast_peers(struct fleet *f);
