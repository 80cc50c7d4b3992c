/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Operator writes through etcd, off the loop.  A write is a small state
 * machine of jobs: the writer thread makes one etcd call per job (a read
 * of the key, or a txn put on its mod_revision) and hands the job back to
 * the loop through uv_async; the loop decides the next step.  Without
 * quorum etcd answers nothing until the call times out (a second per
 * member), and the loop must keep answering queries meanwhile.
 *
 * The verb runs on the loop against what etcd holds (so another node's
 * change not yet seen here is kept), and the working state takes the
 * result only once etcd has: a refused write changes nothing anywhere.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/internal.h"
#include "rt/clock.h"
#include "rt/log.h"

/* Conflicts in a row before a write gives up (EBUSY): only a key that
 * changes every few ms on other nodes gets there. */
#define WRITE_TRIES 5

/* ---- the writer thread ---- */

static void writer_thread(void *arg)
{
	struct fleet *f = arg;
	uv_mutex_lock(&f->lock);
	for (;;) {
		while (!f->stop && f->todo == NULL)
			uv_cond_wait(&f->wjob, &f->lock);
		if (f->stop)
			break;
		struct fleet_job *j = f->todo;
		f->todo = j->next;
		if (f->todo == NULL)
			f->todo_tail = &f->todo;
		uv_mutex_unlock(&f->lock);

		if (j->op == JOB_GET) {
			free(j->value);
			j->value = NULL;
			j->ret = etcd_get(f->w, j->key, &j->value, &j->rev);
		} else {
			j->ret = etcd_put_if(f->w, j->key, j->value, j->rev, 0, &j->ok, &j->wrote);
		}

		uv_mutex_lock(&f->lock);
		j->next = NULL;
		*f->done_tail = j;
		f->done_tail = &j->next;
		uv_async_send(&f->wasync);
	}
	uv_mutex_unlock(&f->lock);
}

static void queue(struct fleet *f, struct fleet_job *j, enum job_op op)
{
	j->op = op;
	j->next = NULL;
	uv_mutex_lock(&f->lock);
	*f->todo_tail = j;
	f->todo_tail = &j->next;
	uv_cond_signal(&f->wjob);
	uv_mutex_unlock(&f->lock);
}

/* ---- --local marks ---- */

struct local_change *fleet_find_local(const struct fleet *f, const char *key)
{
	for (unsigned i = 0; i < f->nlocals; i++)
		if (strcmp(f->locals[i].key, key) == 0)
			return &f->locals[i];
	return NULL;
}

static void locals_changed(struct fleet *f)
{
	uv_mutex_lock(&f->lock);
	f->has_locals = f->nlocals > 0;
	f->nlocal_marks = f->nlocals;
	uv_mutex_unlock(&f->lock);
	int ret = fleet_locals_save(f);
	if (ret != 0)
		log_error("cluster: cannot keep the --local changes in %s/%s: %s", f->state_dir,
			  LOCALS_FILE, vane_strerror(ret));
}

void fleet_drop_local(struct fleet *f, struct local_change *l)
{
	free(l->value);
	*l = f->locals[--f->nlocals];
	locals_changed(f);
}

/* The change only here, marked until etcd is back. */
static int change_local(struct fleet *f, const char *lkey, const char *key, uint32_t s,
			uint32_t e, struct fleet_job *j, char *err, size_t errsize)
{
	int ret = j->verb(j->arg, s, e, &j->changed, err, errsize);
	if (ret != 0)
		return ret;
	struct local_change *l = fleet_find_local(f, lkey);
	if (l == NULL) {
		struct local_change *n = realloc(f->locals, (f->nlocals + 1) * sizeof(*n));
		if (n == NULL)
			return VANE_ENOMEM;
		f->locals = n;
		l = &f->locals[f->nlocals++];
		memset(l, 0, sizeof(*l));
		snprintf(l->key, sizeof(l->key), "%s", lkey);
		const struct etcd_kv *kv = fleet_find_kv(&f->seen, key);
		l->base_rev = kv ? kv->mod_revision : 0;
	}
	free(l->value);
	l->value = fleet_admin_value(fleet_work_ep(f, s, e));
	l->since = rt_now_ms();
	log_warning("[%s] cluster: changed on this node only (--local), until etcd is back", lkey);
	/* Kept on disk before it is acknowledged, like state.json: a restart
	 * must not forget that this endpoint's state is not the cluster's. */
	ret = fleet_locals_save(f);
	uv_mutex_lock(&f->lock);
	f->has_locals = true;
	f->nlocal_marks = f->nlocals;
	uv_mutex_unlock(&f->lock);
	if (ret != 0)
		snprintf(err, errsize, "applied on this node, but not kept in %s/%s: %s",
			 f->state_dir, LOCALS_FILE, vane_strerror(ret));
	return ret;
}

/* ---- operator writes (loop side) ---- */

static void finish(struct fleet *f, struct fleet_job *j, int ret, bool was_local,
		   const char *err)
{
	f->writes_queued--;
	j->done(j->arg, ret, j->changed, was_local, err ? err : "");
	free(j->value);
	free(j);
}

/* etcd did not answer: --local, or refused. */
static void unavailable(struct fleet *f, struct fleet_job *j, uint32_t s, uint32_t e)
{
	char err[256] = "";
	if (j->local) {
		int ret = change_local(f, j->lkey, j->key, s, e, j, err, sizeof(err));
		finish(f, j, ret, ret == 0 || j->changed, err);
		return;
	}
	log_warning("[%s] cluster: etcd unavailable, change refused after %" PRIu64 " ms", j->lkey,
		    rt_mono_ms() - j->queued_ms);
	finish(f, j, VANE_EAGAIN, false, "cluster unavailable: change not applied (--local "
	       "applies it on this node only)");
}

/* What etcd holds of the key is in: run the verb on it, put the result. */
static void after_get(struct fleet *f, struct fleet_job *j, uint32_t s, uint32_t e)
{
	struct steer_admin_ep *a = fleet_work_ep(f, s, e), saved = *a, c;
	char err[256] = "";
	fleet_admin_parse(j->value, &c);
	fleet_admin_merge(a, &c);
	j->changed = false;
	j->before = *a;
	int ret = j->verb(j->arg, s, e, &j->changed, err, sizeof(err));
	j->after = *a;
	char *value = ret == 0 ? fleet_admin_value(a) : NULL;
	/* Back to what is in force until etcd takes the write (the verb
	 * only asked for a publish, which happens later on this loop). */
	*a = saved;
	if (ret == 0 && value == NULL)
		ret = VANE_ENOMEM;
	if (ret != 0) {
		finish(f, j, ret, false, err);
		return;
	}
	free(j->value);
	j->value = value;
	queue(f, j, JOB_PUT);
}

static void after_put(struct fleet *f, struct fleet_job *j, uint32_t s, uint32_t e)
{
	if (!j->ok) {
		if (++j->attempt >= WRITE_TRIES) {
			char err[LIVE_KEY_MAX + 64];
			snprintf(err, sizeof(err), "conflict: %s kept changing under this write; "
				 "try again", j->lkey);
			finish(f, j, VANE_EBUSY, false, err);
			return;
		}
		log_info("[%s] cluster: concurrent change, reading again", j->lkey);
		queue(f, j, JOB_GET);
		return;
	}
	/* What etcd now holds, over the entry as it is now: health may have
	 * started or ended a recovery ramp meanwhile, which stays.  The
	 * aborted ramp is local too, but the verb may have ended it. */
	struct steer_admin_ep *a = fleet_work_ep(f, s, e), c;
	fleet_admin_parse(j->value, &c);
	fleet_admin_merge(a, &c);
	if (memcmp(&j->before.aborted, &j->after.aborted, sizeof(j->after.aborted)) != 0)
		a->aborted = j->after.aborted;
	if (j->wrote > f->wrote_rev)
		f->wrote_rev = j->wrote;
	ops_changed(f->ops, true);
	/* A --local mark on this key is settled by the operator now. */
	struct local_change *l = fleet_find_local(f, j->lkey);
	if (l)
		fleet_drop_local(f, l);
	finish(f, j, 0, false, NULL);
}

/* ---- reconciliation of --local changes ---- */

/* A local change gave way to the cluster's value: show that value here. */
static void cluster_wins(struct fleet *f, struct local_change *l, const char *why)
{
	log_warning("[%s] cluster: the --local change is dropped, the cluster's value wins: %s",
		    l->key, why);
	fleet_drop_local(f, l);
	fleet_apply_seen(f);
}

static void reconcile_step(struct fleet *f, struct fleet_job *j)
{
	struct local_change *l = fleet_find_local(f, j->lkey);
	if (l == NULL || j->ret != 0) {
		/* Settled by an operator meanwhile, or etcd went away again: the
		 * next round tries again. */
		if (l)
			l->inflight = false;
		free(j->value);
		free(j);
		return;
	}
	if (j->op == JOB_GET) {
		if (j->rev != l->base_rev) {
			char why[96];
			snprintf(why, sizeof(why), "the key changed in etcd meanwhile (revision %" PRId64
				 " > %" PRId64 ")", j->rev, l->base_rev);
			cluster_wins(f, l, why);
			free(j->value);
			free(j);
			return;
		}
		free(j->value);
		j->value = strdup(l->value ? l->value : "{}");
		if (j->value == NULL) {
			l->inflight = false;
			free(j);
			return;
		}
		queue(f, j, JOB_PUT);
		return;
	}
	if (!j->ok) {
		cluster_wins(f, l, "another write reached etcd first");
	} else if (strcmp(j->value, l->value ? l->value : "{}") != 0) {
		/* Changed again with --local while this went out: push that too. */
		l->base_rev = j->wrote;
		l->inflight = false;
		if (j->wrote > f->wrote_rev)
			f->wrote_rev = j->wrote;
	} else {
		log_warning("[%s] cluster: the --local change wins (nobody changed the key in etcd "
			    "meanwhile): now the cluster's", l->key);
		if (j->wrote > f->wrote_rev)
			f->wrote_rev = j->wrote;
		fleet_drop_local(f, l);
	}
	free(j->value);
	free(j);
}

void fleet_reconcile(struct fleet *f)
{
	for (unsigned i = 0; i < f->nlocals; i++) {
		struct local_change *l = &f->locals[i];
		if (l->inflight)
			continue;
		struct fleet_job *j = calloc(1, sizeof(*j));
		if (j == NULL)
			return;
		j->reconcile = true;
		snprintf(j->lkey, sizeof(j->lkey), "%s", l->key);
		fleet_etcd_key(f, "admin", l->key, j->key, sizeof(j->key));
		l->inflight = true;
		queue(f, j, JOB_GET);
	}
}

/* A job is back from the writer thread. */
static void step(struct fleet *f, struct fleet_job *j)
{
	if (j->reconcile) {
		reconcile_step(f, j);
		return;
	}
	uint32_t s, e;
	char canon[LIVE_KEY_MAX];
	/* A reload may have moved or removed the endpoint meanwhile. */
	if (ops_find(f->ops, j->lkey, &s, &e, canon) != 0) {
		char err[LIVE_KEY_MAX + 64];
		snprintf(err, sizeof(err), "no such service/endpoint: %s (removed by a reload)",
			 j->lkey);
		finish(f, j, VANE_ENOENT, false, err);
		return;
	}
	if (j->ret != 0)
		unavailable(f, j, s, e);
	else if (j->op == JOB_GET)
		after_get(f, j, s, e);
	else
		after_put(f, j, s, e);
}

static void on_done(uv_async_t *h)
{
	struct fleet *f = h->data;
	uv_mutex_lock(&f->lock);
	struct fleet_job *list = f->done;
	f->done = NULL;
	f->done_tail = &f->done;
	uv_mutex_unlock(&f->lock);
	while (list) {
		struct fleet_job *j = list;
		list = j->next;
		step(f, j);
	}
}

int fleet_change(struct fleet *f, const char *key, bool local, fleet_verb_fn verb,
		 fleet_done_fn done, void *arg)
{
	struct fleet_job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return VANE_ENOMEM;
	snprintf(j->lkey, sizeof(j->lkey), "%s", key);
	fleet_etcd_key(f, "admin", key, j->key, sizeof(j->key));
	j->local = local;
	j->verb = verb;
	j->done = done;
	j->arg = arg;
	j->queued_ms = rt_mono_ms();
	f->writes_queued++;
	queue(f, j, JOB_GET);
	return 0;
}

bool fleet_is_local(const struct fleet *f, uint32_t s, uint32_t e)
{
	char lkey[LIVE_KEY_MAX];
	live_key(f->ops->lay->set, s, e, lkey, sizeof(lkey));
	return fleet_find_local(f, lkey) != NULL;
}

int fleet_writer_start(struct fleet *f)
{
	if (uv_async_init(f->loop, &f->wasync, on_done) != 0)
		return VANE_ENOMEM;
	f->wasync.data = f;
	if (uv_thread_create(&f->writer, writer_thread, f) != 0)
		return VANE_ENOMEM;
	f->writer_on = true;
	return 0;
}

static void fail_list(struct fleet *f, struct fleet_job *list)
{
	while (list) {
		struct fleet_job *j = list;
		list = j->next;
		if (j->reconcile) {
			free(j->value);
			free(j);
		} else {
			finish(f, j, VANE_EAGAIN, false, "server is stopping");
		}
	}
}

void fleet_writer_stop(struct fleet *f)
{
	if (f->writer_on) {
		uv_mutex_lock(&f->lock);
		f->stop = true;
		uv_cond_broadcast(&f->wjob);
		uv_mutex_unlock(&f->lock);
		uv_thread_join(&f->writer);
		f->writer_on = false;
	}
	if (f->wasync.loop == NULL)
		return;
	/* Everything is in one list or the other now. */
	fail_list(f, f->done);
	fail_list(f, f->todo);
	f->done = f->todo = NULL;
	f->done_tail = &f->done;
	f->todo_tail = &f->todo;
	if (!uv_is_closing((uv_handle_t *)&f->wasync))
		uv_close((uv_handle_t *)&f->wasync, NULL);
}
