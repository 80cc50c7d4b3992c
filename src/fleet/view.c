/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the fleet shows (loop thread): `cluster`, the votes behind an
 * endpoint's health in `explain`, and the vane_fleet_* metrics.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/internal.h"
#include "rt/clock.h"

/* `cluster` asks for how long ago each node renewed its lease for this
 * long after each call (it costs one etcd call per node and second). */
#define LAST_SEEN_WANTED_MS 30000

static const char *state_source(bool self_available, bool self, const json_t *rec, char *buf,
				size_t size)
{
	if (json_is_true(json_object_get(rec, "lease_expired")))
		return "gone (lease expired)";
	json_int_t locals = json_integer_value(json_object_get(rec, "local_changes"));
	const char *base = self && !self_available ? "state file (etcd unreachable)" : "etcd";
	if (locals > 0)
		snprintf(buf, size, "%s + %d --local change%s", base, (int)locals,
			 locals > 1 ? "s" : "");
	else
		snprintf(buf, size, "%s", base);
	return buf;
}

json_t *fleet_status_json(struct fleet *f)
{
	json_t *nodes = json_array(), *locals = json_array();
	uv_mutex_lock(&f->lock);
	f->want_last_seen_until = rt_mono_ms() + LAST_SEEN_WANTED_MS;
	json_t *recs = json_deep_copy(f->nodes);
	char digest[65];
	memcpy(digest, f->digest, sizeof(digest));
	bool avail = f->available;
	int64_t applied = f->applied;
	uv_mutex_unlock(&f->lock);
	const char *name;
	json_t *rec;
	unsigned differ = 0;
	bool self_listed = false;
	char src[96];
	json_object_foreach(recs, name, rec) {
		const char *d = json_string_value(json_object_get(rec, "config_digest"));
		bool same = d && strcmp(d, digest) == 0, self = strcmp(name, f->node) == 0;
		if (self) {
			/* This node knows its own state better than its record. */
			json_object_set_new(rec, "local_changes", json_integer(f->nlocals));
			self_listed = true;
		}
		json_object_set_new(rec, "config_differs", json_boolean(!same));
		json_object_set_new(rec, "self", json_boolean(self));
		json_object_set_new(rec, "state_source",
				    json_string(state_source(avail, self, rec, src, sizeof(src))));
		differ += !same;
		json_array_append(nodes, rec);
	}
	json_decref(recs);
	/* Cut off from etcd, this node still lists itself. */
	if (!self_listed) {
		json_t *me = json_pack("{s:s,s:s,s:s,s:I,s:i,s:b,s:b}", "node", f->node, "version",
				       f->version, "config_digest", digest, "revision",
				       (json_int_t)applied, "local_changes", (int)f->nlocals,
				       "config_differs", 0, "self", 1);
		if (me)
			json_object_set_new(me, "state_source", json_string(
				state_source(avail, true, me, src, sizeof(src))));
		json_array_append_new(nodes, me);
	}
	uint64_t now = rt_now_ms();
	for (unsigned i = 0; i < f->nlocals; i++) {
		json_t *v = json_loads(f->locals[i].value ? f->locals[i].value : "{}", 0, NULL);
		json_array_append_new(locals, json_pack("{s:s,s:o,s:I,s:I}", "key", f->locals[i].key,
			"state", v ? v : json_object(), "base_revision",
			(json_int_t)f->locals[i].base_rev, "age_s",
			(json_int_t)(now > f->locals[i].since ? (now - f->locals[i].since) / 1000 : 0)));
	}
	return json_pack("{s:s,s:s,s:b,s:I,s:s,s:o,s:i,s:o,s:i}", "cluster", f->name, "node",
			 f->node, "available", avail, "revision", (json_int_t)applied,
			 "config_digest", digest, "nodes", nodes, "config_differs", (int)differ,
			 "local_changes", locals, "writes_pending", (int)f->writes_queued);
}

/* ---- explain ---- */

/* "up@1733380000123" -> up, and the wall ms (0 when not given). */
static bool vote_of(const char *value, uint64_t *since)
{
	const char *at = strchr(value, '@');
	*since = at ? strtoull(at + 1, NULL, 10) : 0;
	return strncmp(value, "down", 4) != 0;
}

static json_t *vantage(const char *node, bool up, uint64_t since, uint64_t now, bool self)
{
	json_t *o = json_pack("{s:s,s:s,s:b}", "node", node, "verdict", up ? "up" : "down",
			      "self", self);
	if (o)
		json_object_set_new(o, "age_s", since && now >= since
				    ? json_integer((json_int_t)((now - since) / 1000)) : json_null());
	return o;
}

/* The votes on health index `h`: every live vantage's verdict and age,
 * and the rule that decided (as fold_votes in fleet.c counts them). */
static json_t *votes_of(struct fleet *f, uint32_t h, uint64_t now, char *text, size_t size)
{
	struct ops_rt *rt = f->ops;
	const char *addr, *check = ops_health_target(rt, h, &addr);
	if (check == NULL || rt->votes == NULL)
		return NULL;
	char target[192], prefix[KEY_MAX];
	size_t pl = (size_t)snprintf(prefix, sizeof(prefix), "%shealth/", f->prefix);
	size_t tl = (size_t)snprintf(target, sizeof(target), "%s@%s/", check, addr);
	json_t *arr = json_array();
	uint64_t mine_since = 0;
	uv_mutex_lock(&f->lock);
	for (unsigned i = 0; i < f->nmine; i++)
		if (strncmp(f->mine[i].target, target, tl - 1) == 0 && f->mine[i].target[tl - 1] == 0)
			mine_since = f->mine[i].since;
	uv_mutex_unlock(&f->lock);
	bool own_up = rt->local_up[h];
	json_array_append_new(arr, vantage(f->node, own_up, mine_since, now, true));
	size_t used = (size_t)snprintf(text, size, "%s %s %s", f->node, own_up ? "up" : "down",
				       "(this node)");
	unsigned live = 1, down = !own_up;
	for (unsigned i = 0; i < f->vote_seen.n; i++) {
		const struct etcd_kv *kv = &f->vote_seen.kv[i];
		if (strncmp(kv->key, prefix, pl) != 0 || strncmp(kv->key + pl, target, tl) != 0 ||
		    strcmp(kv->key + pl + tl, f->node) == 0)
			continue;
		uint64_t since;
		bool up = vote_of(kv->value, &since);
		live++;
		down += !up;
		json_array_append_new(arr, vantage(kv->key + pl + tl, up, since, now, false));
		if (used < size)
			used += (size_t)snprintf(text + used, size - used, ", %s %s", kv->key + pl + tl,
						 up ? "up" : "down");
		if (since && now >= since && used < size)
			used += (size_t)snprintf(text + used, size - used, " for %" PRIu64 " s",
						 (now - since) / 1000);
	}
	unsigned q = f->quorum ? f->quorum : live / 2 + 1;
	char rule[200], qname[16] = "majority";
	const struct ops_vote *v = &rt->votes[h];
	if (f->quorum)
		snprintf(qname, sizeof(qname), "%u", f->quorum);
	if (f->own_probes)
		snprintf(rule, sizeof(rule), "cut off from etcd for longer than the lease: this "
			 "node's probes decide");
	else if (live <= 1)
		snprintf(rule, sizeof(rule), "no other live vantage: this node's probes decide");
	else
		snprintf(rule, sizeof(rule), "down for the fleet when at least %u of the %u live "
			 "vantages see it down (health-quorum: %s): %u do, so %s%s", q, live,
			 qname, down, down >= q ? "down" : "up",
			 v->disagree ? "; local view disagrees" : "");
	if (used < size)
		snprintf(text + used, size - used, "; %s", rule);
	return json_pack("{s:s,s:i,s:i,s:i,s:o}", "rule", rule, "needed", (int)q, "live",
			 (int)live, "down", (int)down, "vantages", arr);
}

void fleet_explain(struct fleet *f, uint32_t s, json_t *reply)
{
	const struct steer_set *set = f->ops->lay->set;
	json_t *rows = json_object_get(reply, "endpoints");
	if (set == NULL || s >= set->n || !json_is_array(rows))
		return;
	uint64_t now = rt_now_ms();
	const char *trace = json_string_value(json_object_get(reply, "trace_text"));
	size_t cap = (trace ? strlen(trace) : 0) + 1;
	char *out = malloc(cap);
	if (out == NULL)
		return;
	snprintf(out, cap, "%s", trace ? trace : "");
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row) {
		const char *id = json_string_value(json_object_get(row, "endpoint"));
		json_t *votes = json_object_get(row, "votes");
		for (uint32_t e = 0; id && votes && e < set->svc[s].n_ep; e++) {
			uint32_t h = set->svc[s].ep[e].health;
			if (strcmp(set->svc[s].ep[e].id, id) != 0 || h >= f->ops->work->nhealth)
				continue;
			char text[1024];
			json_t *detail = votes_of(f, h, now, text, sizeof(text));
			if (detail == NULL)
				break;
			json_object_update(votes, detail);
			json_decref(detail);
			size_t need = strlen(out) + strlen(id) + strlen(text) + 16;
			char *grown = realloc(out, need);
			if (grown) {
				out = grown;
				snprintf(out + strlen(out), need - strlen(out), "%s: votes: %s\n", id, text);
			}
			break;
		}
	}
	json_object_set_new(reply, "trace_text", json_string(out));
	free(out);
}

/* ---- metrics ---- */

char *fleet_metrics_append(struct fleet *f, char *text)
{
	if (text == NULL)
		return NULL;
	uv_mutex_lock(&f->lock);
	bool avail = f->available;
	int64_t store = f->store_rev, latest = f->latest_admin_rev, applied = f->applied;
	uint64_t last_ok = f->last_ok_ms, writes = f->vote_writes;
	unsigned nodes = (unsigned)json_object_size(f->nodes);
	uv_mutex_unlock(&f->lock);
	unsigned up = 0, down = 0, disagree = 0;
	for (unsigned i = 0; i < f->vote_seen.n; i++) {
		uint64_t since;
		if (vote_of(f->vote_seen.kv[i].value, &since))
			up++;
		else
			down++;
	}
	for (uint32_t h = 0; f->ops->votes && h < f->ops->work->nhealth; h++)
		disagree += f->ops->votes[h].disagree;
	uint64_t now = rt_now_ms();
	char *add = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&add, &len);
	if (m == NULL)
		return text;
	fprintf(m, "# HELP vane_fleet_etcd_reachable 1 when etcd answered the last linearizable "
		"read (it has quorum).\n# TYPE vane_fleet_etcd_reachable gauge\n"
		"vane_fleet_etcd_reachable %d\n", avail);
	fprintf(m, "# HELP vane_fleet_etcd_last_answer_seconds Since etcd last answered this "
		"node.\n# TYPE vane_fleet_etcd_last_answer_seconds gauge\n"
		"vane_fleet_etcd_last_answer_seconds %.3f\n",
		last_ok && now >= last_ok ? (double)(now - last_ok) / 1000 : -1.0);
	fprintf(m, "# HELP vane_fleet_store_revision etcd's revision at the last read.\n"
		"# TYPE vane_fleet_store_revision gauge\nvane_fleet_store_revision %" PRId64 "\n",
		store);
	fprintf(m, "# HELP vane_fleet_applied_revision The newest operator change (mod "
		"revision) in force here.\n# TYPE vane_fleet_applied_revision gauge\n"
		"vane_fleet_applied_revision %" PRId64 "\n", applied);
	fprintf(m, "# HELP vane_fleet_revision_lag Operator changes read from etcd but not yet "
		"in force here (revisions).\n# TYPE vane_fleet_revision_lag gauge\n"
		"vane_fleet_revision_lag %" PRId64 "\n", latest > applied ? latest - applied : 0);
	fprintf(m, "# HELP vane_fleet_nodes Nodes with a live record in etcd.\n"
		"# TYPE vane_fleet_nodes gauge\nvane_fleet_nodes %u\n", nodes);
	fprintf(m, "# HELP vane_fleet_votes Health votes of other nodes seen in etcd, by "
		"verdict.\n# TYPE vane_fleet_votes gauge\nvane_fleet_votes{verdict=\"up\"} %u\n"
		"vane_fleet_votes{verdict=\"down\"} %u\n", up, down);
	fprintf(m, "# HELP vane_fleet_vote_writes_total Votes this node wrote to etcd (changes "
		"and lease renewals only).\n# TYPE vane_fleet_vote_writes_total counter\n"
		"vane_fleet_vote_writes_total %" PRIu64 "\n", writes);
	fprintf(m, "# HELP vane_fleet_local_view_disagrees Targets this node alone sees down.\n"
		"# TYPE vane_fleet_local_view_disagrees gauge\n"
		"vane_fleet_local_view_disagrees %u\n", disagree);
	fprintf(m, "# HELP vane_fleet_local_changes --local changes waiting for etcd.\n"
		"# TYPE vane_fleet_local_changes gauge\nvane_fleet_local_changes %u\n", f->nlocals);
	fprintf(m, "# HELP vane_fleet_writes_pending Operator writes waiting for etcd.\n"
		"# TYPE vane_fleet_writes_pending gauge\nvane_fleet_writes_pending %u\n",
		f->writes_queued);
	fprintf(m, "# HELP vane_fleet_own_probes 1 when cut off past the lease: this node's "
		"probes decide.\n# TYPE vane_fleet_own_probes gauge\nvane_fleet_own_probes %d\n",
		f->own_probes);
	if (fclose(m) != 0) {
		free(add);
		return text;
	}
	size_t tl = strlen(text);
	char *out = realloc(text, tl + len + 1);
	if (out == NULL) {
		free(add);
		return text;
	}
	memcpy(out + tl, add, len + 1);
	free(add);
	return out;
}
