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
 *
 * Reads: a watch stream on the admin prefix (a thread of its own, blocking
 * libcurl) is the doorbell: each event triggers a fresh linearizable range
 * of the prefix, handed to the loop with uv_async.  A second thread polls
 * the same range every 200 ms as the fallback (a broken stream, missed
 * events after compaction) and as the quorum probe (etcd answers no
 * linearizable read without quorum); it also keeps the lease, the node
 * record and the health votes.  Threads rather than the loop's curl multi:
 * every call here blocks for up to the timeout when etcd has no quorum,
 * and the loop must keep answering meanwhile.
 *
 * Writes (operator verbs, loop thread): read the key, apply the verb to
 * what etcd holds, put it back in a txn on the key's mod_revision, retry
 * on conflict, so two operators never lose each other's change.  They
 * block the loop for one round trip (a few ms; up to the 1 s timeout when
 * etcd has no quorum), like the synchronous state.json write beside them.
 * Without quorum a write is refused (VANE_EAGAIN) unless local: then it
 * applies on this node only and stays marked until etcd is back, when it
 * is pushed if nobody changed the key meanwhile, else dropped for the
 * cluster's value (and logged).
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
};

/* Start on the loop (the thread starts polling at once).  `ops` must
 * outlive the fleet. */
int fleet_start(uv_loop_t *loop, const struct fleet_conf *conf, struct ops_rt *ops,
		struct fleet **out) VANE_WUR;

/* Stop the thread (joins it) and close the loop handle. */
void fleet_close(struct fleet *f);
/* After the loop ended. */
void fleet_free(struct fleet *f);

/* The config was reloaded: publish the new digest. */
void fleet_config_changed(struct fleet *f, const struct vane_conf *conf);

/* A verb on endpoint `s`/`e`, run against the working state of ops/ (it
 * returns 0 or a VANE_E* code with a message, and sets `*changed`). */
typedef int (*fleet_verb_fn)(void *arg, bool *changed, char *err, size_t errsize);

/*
 * Apply `verb` to endpoint `s`/`e` through etcd (see above).  `local`: if
 * etcd is unavailable, apply on this node only (`*was_local` true).
 * VANE_EAGAIN "cluster unavailable: change not applied"; VANE_EBUSY when
 * concurrent writers kept winning; the verb's own errors.
 */
int fleet_change(struct fleet *f, uint32_t s, uint32_t e, bool local, fleet_verb_fn verb,
		 void *arg, bool *changed, bool *was_local, char *err, size_t errsize) VANE_WUR;

/* The reply of `cluster`: this node, etcd's availability, every node's
 * record (a differing config digest flagged), local changes. */
json_t *fleet_status_json(struct fleet *f);

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
