/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fleet/internal.h"
#include "rt/clock.h"
#include "rt/log.h"

#define POLL_MS 200
#define NODES_EVERY_MS 1000
/* The votes are the big range (nodes x targets): health moves in seconds,
 * so once a second at most is soon enough. */
#define VOTES_EVERY_MS 1000
#define CALL_TIMEOUT_MS 1000
/* As long as anycast waits for a peer's HTTP API. */
#define PEERS_TIMEOUT_MS 500
#define ANYCAST_ANNOUNCED 1
#define ANYCAST_HEALTHY 2

/* As long as anycast waits for a peer's HTTP API. */
#define PEERS_TIMEOUT_MS 500
#define ANYCAST_ANNOUNCED 1
#define ANYCAST_HEALTHY 2

/* ---- config digest ---- */

/* SHA-256 of the settings the fleet shares (conf_write_shared): every
 * node's file differs at least by its node name and addresses. */
static void digest_conf(const struct vane_conf *conf, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char *text = NULL;
	size_t len = 0;
	strcpy(out, "unknown");
	FILE *mem = open_memstream(&text, &len);
	if (mem == NULL)
		return;
	conf_write_shared(mem, conf);
	if (fclose(mem) == 0 && EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL) == 1)
		for (unsigned i = 0; i < mdlen && i < 32; i++)
			sprintf(out + 2 * i, "%02x", md[i]);
	free(text);
}

/* health-quorum: 0 for a majority of the live vantages. */
static unsigned quorum_of(const struct vane_conf *conf)
{
	const char *q = conf->cluster_quorum;
	return q && strcmp(q, "majority") != 0 ? (unsigned)strtoul(q, NULL, 10) : 0;
}

/* ---- the admin value ---- */

/* What etcd holds of an endpoint: the operator's intent only.  Recovery
 * ramps and aborted ramps follow this node's own health, so they stay
 * local. */
char *fleet_admin_value(const struct steer_admin_ep *a)
{
	struct steer_admin_ep c = *a;
	memset(&c.aborted, 0, sizeof(c.aborted));
	if (c.ramp.active && c.ramp.kind != STEER_RAMP_OPERATOR)
		memset(&c.ramp, 0, sizeof(c.ramp));
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	state_admin_to_json(o, &c);
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

void fleet_admin_parse(const char *value, struct steer_admin_ep *a)
{
	memset(a, 0, sizeof(*a));
	if (value == NULL || value[0] == '\0')
		return;
	json_t *o = json_loads(value, 0, NULL);
	if (json_is_object(o))
		state_admin_from_json(o, a);
	json_decref(o);
}

/* The cluster's intent `c` over the working entry `dst`, keeping what is
 * this node's own (recovery and aborted ramps). */
void fleet_admin_merge(struct steer_admin_ep *dst, const struct steer_admin_ep *c)
{
	dst->drained = c->drained;
	dst->weight_set = c->weight_set;
	dst->weight = c->weight;
	dst->load = c->load;
	if (c->ramp.active)
		dst->ramp = c->ramp;
	else if (dst->ramp.active && dst->ramp.kind == STEER_RAMP_OPERATOR)
		memset(&dst->ramp, 0, sizeof(dst->ramp));
}

struct steer_admin_ep *fleet_work_ep(struct fleet *f, uint32_t s, uint32_t e)
{
	return &f->ops->work->adm_ep[live_ep_base(f->ops->lay->set, s) + e];
}

void fleet_etcd_key(const struct fleet *f, const char *what, const char *key, char *buf,
		     size_t size)
{
	snprintf(buf, size, "%s%s/%s", f->prefix, what, key);
}

const struct etcd_kv *fleet_find_kv(const struct etcd_range *r, const char *key)
{
	for (unsigned i = 0; i < r->n; i++)
		if (strcmp(r->kv[i].key, key) == 0)
			return &r->kv[i];
	return NULL;
}

/* ---- the polling thread ---- */

static int put_node(struct fleet *f, int64_t lease)
{
	char key[KEY_MAX], id[32];
	fleet_etcd_key(f, "nodes", f->node, key, sizeof(key));
	snprintf(id, sizeof(id), "%" PRId64, lease);
	uv_mutex_lock(&f->lock);
	json_t *rec = json_pack("{s:s,s:s,s:s,s:I,s:i,s:s,s:i,s:i}", "node", f->node,
				"version", f->version, "config_digest", f->digest,
				"revision", (json_int_t)f->applied, "pid", (int)getpid(),
				"lease", id, "lease_ttl_s", (int)((f->lease_ms + 999) / 1000),
				"local_changes", (int)f->nlocal_marks);
	if (rec && f->anycast >= 0)
		json_object_set_new(rec, "anycast",
				    json_pack("{s:b,s:b}", "announced", f->anycast & ANYCAST_ANNOUNCED,
					      "healthy", f->anycast & ANYCAST_HEALTHY));
	uv_mutex_unlock(&f->lock);
	char *text = rec ? json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(rec);
	if (text == NULL)
		return VANE_ENOMEM;
	int ret = etcd_put(f->r, key, text, lease);
	free(text);
	return ret;
}

/* How long ago a node renewed its lease (etcd counts in seconds): asked
 * only while someone reads `cluster`, as it costs a call per node. */
static void add_last_seen(struct fleet *f, json_t *rec)
{
	const char *id = json_string_value(json_object_get(rec, "lease"));
	int64_t ttl, granted;
	if (id == NULL || etcd_lease_ttl(f->r, strtoll(id, NULL, 10), &ttl, &granted) != 0)
		return;
	if (ttl < 0)
		json_object_set_new(rec, "lease_expired", json_true());
	else
		json_object_set_new(rec, "last_seen_s", json_integer(granted > ttl ? granted - ttl : 0));
}

/* Node records by name; NULL when etcd did not answer. */
static json_t *read_nodes(struct fleet *f, bool last_seen)
{
	char prefix[KEY_MAX];
	struct etcd_range r;
	snprintf(prefix, sizeof(prefix), "%snodes/", f->prefix);
	if (etcd_get_prefix(f->r, prefix, &r) != 0)
		return NULL;
	json_t *out = json_object();
	for (unsigned i = 0; out && i < r.n; i++) {
		json_t *rec = json_loads(r.kv[i].value, 0, NULL);
		if (json_is_object(rec)) {
			if (last_seen)
				add_last_seen(f, rec);
			json_object_set_new(out, r.kv[i].key + strlen(prefix), rec);
		} else {
			json_decref(rec);
		}
	}
	etcd_range_free(&r);
	return out;
}

/* A change of the admin range: its size or its newest key. */
static int64_t range_mark(const struct etcd_range *r)
{
	int64_t m = 0;
	for (unsigned i = 0; i < r->n; i++)
		if (r->kv[i].mod_revision > m)
			m = r->kv[i].mod_revision;
	return m * 4096 + r->n;
}

/* Votes per txn: well under etcd's default --max-txn-ops (128). */
#define VOTES_PER_TXN 64

/* Publish this node's changed votes (all of them: a new lease), a batch
 * per txn: one call per target would keep this thread from renewing the
 * lease when a node has hundreds of them. */
static bool put_votes(struct fleet *f, int64_t lease, bool all)
{
	static const size_t vsize = 48;
	char *keys[VOTES_PER_TXN], *values[VOTES_PER_TXN];
	unsigned idx[VOTES_PER_TXN];
	for (unsigned i = 0; i < VOTES_PER_TXN; i++) {
		keys[i] = malloc(KEY_MAX);
		values[i] = malloc(vsize);
	}
	unsigned next = 0;
	bool ok = true;
	for (bool more = true; more && ok;) {
		unsigned n = 0;
		uv_mutex_lock(&f->lock);
		for (; next < f->nmine && n < VOTES_PER_TXN; next++) {
			struct my_vote *v = &f->mine[next];
			if (!(all || v->dirty) || keys[n] == NULL || values[n] == NULL)
				continue;
			v->dirty = false;
			snprintf(keys[n], KEY_MAX, "%shealth/%s/%s", f->prefix, v->target, f->node);
			/* "down@MS": the verdict, and since when (wall ms) for explain. */
			snprintf(values[n], vsize, "%s@%" PRIu64, v->up ? "up" : "down", v->since);
			idx[n++] = next;
		}
		more = next < f->nmine;
		uv_mutex_unlock(&f->lock);
		if (n == 0)
			continue;
		int ret = etcd_put_many(f->r, (const char *const *)keys, (const char *const *)values,
					n, lease);
		uv_mutex_lock(&f->lock);
		if (ret == 0)
			f->vote_writes += n;
		else
			for (unsigned k = 0; k < n; k++)
				if (idx[k] < f->nmine)
					f->mine[idx[k]].dirty = true;   /* again on the next round */
		uv_mutex_unlock(&f->lock);
		ok = ret == 0;
	}
	for (unsigned i = 0; i < VOTES_PER_TXN; i++) {
		free(keys[i]);
		free(values[i]);
	}
	return ok;
}

/* Every node's votes: 1 when they changed since `*mark`, 0 when not, -1
 * when etcd did not answer. */
static int read_votes(struct fleet *f, int64_t *mark)
{
	char prefix[KEY_MAX];
	struct etcd_range r;
	snprintf(prefix, sizeof(prefix), "%shealth/", f->prefix);
	/* The votes are nodes x targets, megabytes at scale, and mostly
	 * unchanged: ask what changed (keys only) and how many there are
	 * (deletions by an expired lease), and read them all only then. */
	unsigned changed;
	int64_t count;
	if (etcd_changed_since(f->r, prefix, f->votes_rev, &changed, &count) != 0)
		return -1;
	if (changed == 0 && count == f->votes_count && *mark != -1)
		return 0;
	if (etcd_get_prefix(f->r, prefix, &r) != 0)
		return -1;
	f->votes_rev = r.revision;
	f->votes_count = r.n;
	if (range_mark(&r) == *mark) {
		etcd_range_free(&r);
		return 0;
	}
	*mark = range_mark(&r);
	uv_mutex_lock(&f->lock);
	etcd_range_free(&f->votes);
	f->votes = r;
	f->have_votes = true;
	uv_mutex_unlock(&f->lock);
	return 1;
}

/* etcd answered at store revision `rev`. */
static void note_answer(struct fleet *f, int64_t rev)
{
	uv_mutex_lock(&f->lock);
	if (rev > f->store_rev)
		f->store_rev = rev;
	f->last_ok_ms = rt_now_ms();
	uv_mutex_unlock(&f->lock);
}

/* Read the admin keys with `e` and hand them to the loop if they changed
 * (either thread: the poll, or the watch after an event).  false when
 * etcd did not answer. */
static bool read_admin(struct fleet *f, struct etcd *e)
{
	char prefix[KEY_MAX];
	struct etcd_range r;
	snprintf(prefix, sizeof(prefix), "%sadmin/", f->prefix);
	if (etcd_get_prefix(e, prefix, &r) != 0)
		return false;
	int64_t mark = range_mark(&r);
	bool send = false;
	uv_mutex_lock(&f->lock);
	if (r.revision > f->store_rev)
		f->store_rev = r.revision;
	if (mark / 4096 > f->latest_admin_rev)
		f->latest_admin_rev = mark / 4096;
	f->last_ok_ms = rt_now_ms();
	/* Each thread may read an older state than the other handed over. */
	if (mark != f->admin_mark && r.revision >= f->admin.revision) {
		etcd_range_free(&f->admin);
		f->admin = r;
		f->admin_mark = mark;
		f->have_admin = send = true;
	}
	uv_mutex_unlock(&f->lock);
	if (send)
		uv_async_send(&f->async);
	else
		etcd_range_free(&r);
	return true;
}

static void on_watch_event(void *ctx)
{
	struct fleet *f = ctx;
	(void)read_admin(f, f->wr);
}

static bool watch_going(void *ctx)
{
	struct fleet *f = ctx;
	uv_mutex_lock(&f->lock);
	bool go = !f->stop;
	uv_mutex_unlock(&f->lock);
	return go;
}

/* The change feed: a watch on the admin prefix; every event triggers a
 * fresh read.  When the stream breaks it is opened again (another member)
 * after a pause; the 200 ms poll covers the gap. */
static void watch_thread(void *arg)
{
	struct fleet *f = arg;
	char prefix[KEY_MAX];
	snprintf(prefix, sizeof(prefix), "%sadmin/", f->prefix);
	while (watch_going(f)) {
		if (etcd_watch(f->ws, prefix, on_watch_event, watch_going, f) == 0)
			break;
		uv_mutex_lock(&f->lock);
		if (!f->stop)
			(void)uv_cond_timedwait(&f->wake, &f->lock, 500 * 1000000ull);
		uv_mutex_unlock(&f->lock);
	}
}

/* Renew the lease every third of its TTL, on a thread of its own: the
 * poll's big reads and batched writes must never make it late (a late
 * renewal re-registers the node, which rewrites all its votes, which
 * loads etcd further). */
static void keepalive_thread(void *arg)
{
	struct fleet *f = arg;
	uv_mutex_lock(&f->lock);
	while (!f->stop) {
		int64_t lease = f->lease;
		uv_mutex_unlock(&f->lock);
		int k = lease ? etcd_lease_keepalive(f->k, lease) : 0;
		uv_mutex_lock(&f->lock);
		if (k == VANE_ENOENT && f->lease == lease)
			f->lease = 0;
		/* A new lease wakes this thread (broadcast on `wake`). */
		if (!f->stop)
			(void)uv_cond_timedwait(&f->wake, &f->lock,
						(uint64_t)(lease && k == 0 ? f->lease_ms / 3 : 200) *
						1000000ull);
	}
	uv_mutex_unlock(&f->lock);
}

static void poll_thread(void *arg)
{
	struct fleet *f = arg;
	int64_t lease = 0, node_rev = -1, vote_node_rev = 0, votes_mark = -1, read_rev = -1;
	bool nodes_read = false;
	uint64_t nodes_at = 0, votes_at = 0, node_put_at = 0;
	int node_anycast = -1;
	char node_digest[65] = "";
	unsigned node_locals = 0;
	unsigned ttl_s = (f->lease_ms + 999) / 1000;

	uv_mutex_lock(&f->lock);
	while (!f->stop) {
		uv_mutex_unlock(&f->lock);
		uint64_t t0 = rt_mono_ms();
		bool notify = false;

		/* The quorum probe: a linearizable count.  Unless the store moved
		 * on, the ranges below read what they read last time: with many
		 * nodes and targets the votes are megabytes, not worth re-reading
		 * five times a second for nothing (the watch stream still brings
		 * admin changes at once). */
		int64_t rev = 0;
		bool avail = etcd_revision(f->r, f->prefix, &rev) == 0;
		bool moved = avail && rev != read_rev;
		if (moved)
			avail = read_admin(f, f->r);
		else if (avail)
			note_answer(f, rev);

		/* The node's record lives under its lease: it vanishes with the
		 * node.  The keepalive thread renews it, and drops it when etcd
		 * says it expired. */
		uv_mutex_lock(&f->lock);
		if (lease && f->lease == 0)
			log_warning("cluster: lease expired, registering again");
		lease = f->lease;
		uv_mutex_unlock(&f->lock);
		if (avail && lease == 0 && etcd_lease_grant(f->r, ttl_s, &lease) == 0) {
			node_rev = -1;
			uv_mutex_lock(&f->lock);
			f->lease = lease;
			uv_cond_broadcast(&f->wake);
			uv_mutex_unlock(&f->lock);
		}
		uv_mutex_lock(&f->lock);
		bool dirty = f->applied != node_rev || strcmp(f->digest, node_digest) != 0 ||
			     f->nlocal_marks != node_locals ||
			     f->anycast != node_anycast;
		unsigned locals = f->nlocal_marks;
		bool last_seen = f->want_last_seen_until > t0;
		int64_t applied = f->applied;
		int anycast = f->anycast;
		char digest[65];
		memcpy(digest, f->digest, sizeof(digest));
		uv_mutex_unlock(&f->lock);
		/* Every vote again under a new lease, until one pass got through. */
		if (avail && lease && put_votes(f, lease, vote_node_rev != lease))
			vote_node_rev = lease;
		bool votes_due = moved && t0 >= votes_at;
		int votes = votes_due ? read_votes(f, &votes_mark) : 0;
		notify |= votes > 0;
		if (votes_due && votes >= 0)
			votes_at = t0 + VOTES_EVERY_MS;
		/* Only once both ranges were read at `rev` (or later). */
		if (moved && avail && votes_due && votes >= 0)
			read_rev = rev;
		/* At most once a second: each operator change moves every node's
		 * applied revision, and N records rewritten at once are N writes
		 * that every node then notices. */
		/* A new anycast state goes at once: a peer may be deciding a
		 * handover on it. */
		if (avail && lease && dirty &&
		    (node_rev == -1 || t0 >= node_put_at || anycast != node_anycast) &&
		    put_node(f, lease) == 0) {
			node_put_at = t0 + NODES_EVERY_MS;
			node_rev = applied;
			node_anycast = anycast;
			node_locals = locals;
			memcpy(node_digest, digest, sizeof(node_digest));
		}
		json_t *nodes = NULL;
		if (avail && t0 >= nodes_at && (moved || last_seen || !nodes_read)) {
			nodes_read = true;
			nodes = read_nodes(f, last_seen);
			nodes_at = t0 + NODES_EVERY_MS;
		}

		uv_mutex_lock(&f->lock);
		if (nodes) {
			json_decref(f->nodes);
			f->nodes = nodes;
		}
		/* While cut off, the loop keeps checking how long for; while
		 * --local changes wait, it keeps trying to reconcile them. */
		if (!f->avail_known || f->available != avail || !avail || f->has_locals) {
			f->available = avail;
			f->avail_known = true;
			notify = true;
		}
		uv_mutex_unlock(&f->lock);
		if (notify)
			uv_async_send(&f->async);

		uint64_t now = rt_mono_ms();
		uv_mutex_lock(&f->lock);
		if (!f->stop && now < t0 + POLL_MS)
			(void)uv_cond_timedwait(&f->wake, &f->lock, (t0 + POLL_MS - now) * 1000000ull);
	}
	uv_mutex_unlock(&f->lock);
}

/* ---- the loop side ---- */

/* Make the working state follow etcd's admin range `r`. */
static void apply(struct fleet *f, const struct etcd_range *r)
{
	const struct steer_set *set = f->ops->lay->set;
	unsigned nchanged = 0;
	for (uint32_t s = 0; set && s < set->n; s++) {
		for (uint32_t e = 0; e < set->svc[s].n_ep; e++) {
			char lkey[LIVE_KEY_MAX], key[KEY_MAX];
			live_key(set, s, e, lkey, sizeof(lkey));
			if (fleet_find_local(f, lkey))
				continue;   /* marked: this node's emergency change wins here */
			fleet_etcd_key(f, "admin", lkey, key, sizeof(key));
			const struct etcd_kv *kv = fleet_find_kv(r, key);
			struct steer_admin_ep c, *a = fleet_work_ep(f, s, e), before = *a;
			fleet_admin_parse(kv ? kv->value : NULL, &c);
			fleet_admin_merge(a, &c);
			if (memcmp(&before, a, sizeof(before)) != 0) {
				char *v = fleet_admin_value(a);
				log_info("[%s] cluster: %s", lkey, v ? v : "changed");
				free(v);
				nchanged++;
			}
		}
	}
	f->seen_rev = range_mark(r) / 4096;
	if (nchanged)
		ops_changed(f->ops, true);
	if (!f->applied_once || nchanged)
		log_info("cluster: applied state revision %" PRId64 " (%u endpoints changed)",
			 f->seen_rev, nchanged);
	f->applied_once = true;
	uv_mutex_lock(&f->lock);
	f->applied = f->seen_rev;
	uv_mutex_unlock(&f->lock);
}

void fleet_apply_seen(struct fleet *f)
{
	if (f->applied_once)
		apply(f, &f->seen);
}

static void fold_votes(struct fleet *f);

/* ops/ tells this node's own verdict on health index `h`. */
static void on_own_vote(void *ctx, uint32_t h, bool up)
{
	struct fleet *f = ctx;
	const char *addr, *check = ops_health_target(f->ops, h, &addr);
	if (check == NULL)
		return;
	char target[192];
	snprintf(target, sizeof(target), "%s@%s", check, addr);
	uv_mutex_lock(&f->lock);
	struct my_vote *v = NULL;
	for (unsigned i = 0; i < f->nmine && v == NULL; i++)
		if (strcmp(f->mine[i].target, target) == 0)
			v = &f->mine[i];
	if (v == NULL) {
		struct my_vote *n = realloc(f->mine, (f->nmine + 1) * sizeof(*n));
		if (n) {
			f->mine = n;
			v = &n[f->nmine++];
			snprintf(v->target, sizeof(v->target), "%s", target);
			v->up = !up;
		}
	}
	if (v && v->up != up) {
		v->up = up;
		v->dirty = true;
		v->since = rt_now_ms();
	}
	uv_mutex_unlock(&f->lock);
	/* Count again now with this node's new vote: the fleet's verdict must
	 * not wait for the vote's round trip through etcd. */
	fold_votes(f);
}

/* Count the votes on every health index: down for the fleet when at least
 * `health-quorum` of the live vantages (this node included, by its own
 * probes) see it down.  Votes live under their node's lease, so a node
 * that died stops counting when its lease expires. */
static void fold_votes(struct fleet *f)
{
	struct ops_rt *rt = f->ops;
	if (rt->votes == NULL)
		return;
	char prefix[KEY_MAX];
	size_t pl = (size_t)snprintf(prefix, sizeof(prefix), "%shealth/", f->prefix);
	for (uint32_t h = 0; h < rt->work->nhealth; h++) {
		const char *addr, *check = ops_health_target(rt, h, &addr);
		struct ops_vote v = { .verdict = -1 };
		if (check == NULL || f->own_probes) {
			ops_vote_set(rt, h, &v);
			continue;
		}
		char target[192];
		size_t tl = (size_t)snprintf(target, sizeof(target), "%s@%s/", check, addr);
		unsigned live = 1, down = !rt->local_up[h];
		for (unsigned i = 0; i < f->vote_seen.n; i++) {
			const struct etcd_kv *kv = &f->vote_seen.kv[i];
			if (strncmp(kv->key, prefix, pl) != 0 || strncmp(kv->key + pl, target, tl) != 0 ||
			    strcmp(kv->key + pl + tl, f->node) == 0)
				continue;
			live++;
			down += strncmp(kv->value, "down", 4) == 0;
		}
		unsigned q = f->quorum ? f->quorum : live / 2 + 1;
		v.vantages = (uint8_t)(live > 255 ? 255 : live);
		v.down = (uint8_t)(down > 255 ? 255 : down);
		v.verdict = live > 1 ? down < q : -1;
		ops_vote_set(rt, h, &v);
	}
}

/* Cut off from etcd for longer than the lease, this node's votes have
 * expired for everyone else: its own probes decide again.  Unless they
 * say every endpoint is down: that is this node's isolation speaking, and
 * the last fleet verdicts stay. */
static void isolation(struct fleet *f, bool avail)
{
	struct ops_rt *rt = f->ops;
	uint64_t now = rt_mono_ms();
	if (avail) {
		f->isolated_since = 0;
		if (f->own_probes) {
			f->own_probes = false;
			log_info("cluster: back in touch; health follows the fleet's votes again");
		}
		return;
	}
	if (f->isolated_since == 0)
		f->isolated_since = now;
	if (f->own_probes || rt->votes == NULL || now - f->isolated_since < f->lease_ms)
		return;
	uint32_t n = rt->work->nhealth, down = 0;
	for (uint32_t h = 0; h < n; h++)
		down += !rt->local_up[h];
	if (n > 0 && down == n) {
		static const uint64_t warn_every = 60000;
		static uint64_t warned;
		if (warned == 0 || now - warned >= warn_every) {
			log_warning("cluster: cut off and every endpoint looks down from here: "
				    "keeping the fleet's last verdicts");
			warned = now;
		}
		return;
	}
	f->own_probes = true;
	log_warning("cluster: cut off for longer than the lease; this node's probes decide");
	fold_votes(f);
}

static void on_async(uv_async_t *h)
{
	struct fleet *f = h->data;
	struct etcd_range r = { 0 }, votes = { 0 };
	uv_mutex_lock(&f->lock);
	bool have = f->have_admin, avail = f->available, known = f->avail_known;
	bool have_votes = f->have_votes;
	if (have_votes) {
		votes = f->votes;
		memset(&f->votes, 0, sizeof(f->votes));
		f->have_votes = false;
	}
	if (have) {
		r = f->admin;
		memset(&f->admin, 0, sizeof(f->admin));
		f->have_admin = false;
	}
	uv_mutex_unlock(&f->lock);

	if (known && (!f->loop_avail_known || avail != f->loop_available)) {
		if (avail)
			log_info("cluster: etcd reachable (%s/%s)", f->name, f->node);
		else
			log_warning("cluster: etcd unreachable or without quorum: serving the last "
				    "state seen (kept in state.json); writes need --local");
		f->loop_available = avail;
		f->loop_avail_known = true;
	}
	if (avail && f->nlocals)
		fleet_reconcile(f);
	/* A poll that started before this node's own write would undo it for
	 * a moment: wait for one that read after it. */
	if (have && (r.revision < f->wrote_rev || r.revision < f->seen.revision)) {
		etcd_range_free(&r);
		have = false;
	}
	if (have) {
		apply(f, &r);
		etcd_range_free(&f->seen);
		f->seen = r;
	}
	if (known)
		isolation(f, avail);
	if (have_votes) {
		etcd_range_free(&f->vote_seen);
		f->vote_seen = votes;
	}
	/* Also after a reload, which resets the verdicts of ops/. */
	if (have_votes || avail)
		fold_votes(f);
}

int fleet_start(uv_loop_t *loop, const struct fleet_conf *conf, struct ops_rt *ops,
		struct fleet **out)
{
	struct fleet *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return VANE_ENOMEM;
	f->loop = loop;
	f->ops = ops;
	f->lease_ms = conf->lease_ms;
	f->name = strdup(conf->name);
	f->node = strdup(conf->node);
	f->anycast = -1;
	f->version = strdup(conf->version);
	f->state_dir = strdup(conf->state_dir ? conf->state_dir : ".");
	snprintf(f->prefix, sizeof(f->prefix), "/vane/%s/", conf->name);
	const struct etcd_tls tls = { .cert = conf->cert, .key = conf->key, .ca = conf->ca };
	f->w = etcd_new(conf->etcd, conf->netcd, CALL_TIMEOUT_MS, &tls);
	f->r = etcd_new(conf->etcd, conf->netcd, CALL_TIMEOUT_MS, &tls);
	f->wr = etcd_new(conf->etcd, conf->netcd, CALL_TIMEOUT_MS, &tls);
	f->ws = etcd_new(conf->etcd, conf->netcd, CALL_TIMEOUT_MS, &tls);
	f->k = etcd_new(conf->etcd, conf->netcd, CALL_TIMEOUT_MS, &tls);
	f->peers = etcd_new(conf->etcd, conf->netcd, PEERS_TIMEOUT_MS, &tls);
	f->admin_mark = -1;
	if (!f->wr || !f->ws || !f->k || !f->peers || !f->name || !f->node || !f->version || !f->state_dir || !f->w || !f->r) {
		fleet_free(f);
		return VANE_ENOMEM;
	}
	digest_conf(conf->conf, f->digest);
	f->quorum = quorum_of(conf->conf);
	uv_mutex_init(&f->lock);
	uv_mutex_init(&f->peers_lock);
	uv_cond_init(&f->wake);
	uv_cond_init(&f->wjob);
	uv_async_init(loop, &f->async, on_async);
	f->async.data = f;
	f->todo_tail = &f->todo;
	f->done_tail = &f->done;
	/* --local changes from before a restart stay marked, and win over
	 * etcd here until they are reconciled. */
	fleet_locals_load(f);
	if (fleet_writer_start(f) != 0) {
		log_error("cluster: cannot start the etcd writer thread");
		fleet_close(f);
		*out = f;
		return VANE_ENOMEM;
	}
	if (ops_votes_enable(ops, on_own_vote, f) != 0) {
		fleet_close(f);
		*out = f;
		return VANE_ENOMEM;
	}
	if (uv_thread_create(&f->thread, poll_thread, f) != 0) {
		log_error("cluster: cannot start the etcd thread");
		fleet_close(f);
		*out = f;
		return VANE_ENOMEM;
	}
	f->thread_on = true;
	if (uv_thread_create(&f->keepalive, keepalive_thread, f) == 0)
		f->keepalive_on = true;
	else
		log_warning("cluster: no keepalive thread; the lease will expire");
	if (uv_thread_create(&f->watch_thread, watch_thread, f) == 0)
		f->watch_on = true;
	else
		log_warning("cluster: no watch thread; changes arrive by the 200 ms poll");
	log_info("cluster %s: node %s, %u etcd members, config digest %.12s", f->name, f->node,
		 conf->netcd, f->digest);
	*out = f;
	return 0;
}

void fleet_close(struct fleet *f)
{
	if (f == NULL)
		return;
	if (f->thread_on) {
		uv_mutex_lock(&f->lock);
		f->stop = true;
		uv_cond_broadcast(&f->wake);
		uv_mutex_unlock(&f->lock);
		uv_thread_join(&f->thread);
		f->thread_on = false;
	}
	if (f->watch_on) {
		uv_thread_join(&f->watch_thread);
		f->watch_on = false;
	}
	if (f->keepalive_on) {
		uv_thread_join(&f->keepalive);
		f->keepalive_on = false;
	}
	fleet_writer_stop(f);
	if (!uv_is_closing((uv_handle_t *)&f->async))
		uv_close((uv_handle_t *)&f->async, NULL);
}

void fleet_free(struct fleet *f)
{
	if (f == NULL)
		return;
	if (f->async.loop) {
		uv_mutex_destroy(&f->lock);
		uv_mutex_destroy(&f->peers_lock);
		uv_cond_destroy(&f->wake);
		uv_cond_destroy(&f->wjob);
	}
	etcd_range_free(&f->admin);
	etcd_range_free(&f->seen);
	etcd_range_free(&f->votes);
	etcd_range_free(&f->vote_seen);
	free(f->mine);
	json_decref(f->nodes);
	for (unsigned i = 0; i < f->nlocals; i++)
		free(f->locals[i].value);
	free(f->locals);
	etcd_free(f->w);
	etcd_free(f->r);
	etcd_free(f->wr);
	etcd_free(f->ws);
	etcd_free(f->peers);
	etcd_free(f->k);
	free(f->name);
	free(f->node);
	free(f->version);
	free(f->state_dir);
	free(f);
}

void fleet_config_changed(struct fleet *f, const struct vane_conf *conf)
{
	char d[65];
	digest_conf(conf, d);
	f->quorum = quorum_of(conf);   /* the loop's: only fold_votes reads it */
	uv_mutex_lock(&f->lock);
	memcpy(f->digest, d, sizeof(d));
	uv_mutex_unlock(&f->lock);
}

void fleet_set_anycast(struct fleet *f, bool announced, bool healthy)
{
	int v = (announced ? ANYCAST_ANNOUNCED : 0) | (healthy ? ANYCAST_HEALTHY : 0);
	uv_mutex_lock(&f->lock);
	bool changed = f->anycast != v;
	f->anycast = v;
	if (changed)
		uv_cond_signal(&f->wake);   /* a peer deciding a handover reads it */
	uv_mutex_unlock(&f->lock);
}

int fleet_anycast_peers(struct fleet *f)
{
	char prefix[KEY_MAX];
	struct etcd_range r;
	snprintf(prefix, sizeof(prefix), "%snodes/", f->prefix);
	uv_mutex_lock(&f->peers_lock);
	int ret = etcd_get_prefix(f->peers, prefix, &r);
	uv_mutex_unlock(&f->peers_lock);
	if (ret != 0)
		return -1;
	int n = 0;
	for (unsigned i = 0; i < r.n; i++) {
		json_t *rec = json_loads(r.kv[i].value, 0, NULL);
		json_t *a = json_object_get(rec, "anycast");
		if (strcmp(r.kv[i].key + strlen(prefix), f->node) != 0 &&
		    json_is_true(json_object_get(a, "announced")) &&
		    json_is_true(json_object_get(a, "healthy")))
			n++;
		json_decref(rec);
	}
	etcd_range_free(&r);
	return n;
}
