/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * --local changes on disk: STATE_DIR/cluster-local.json.  state.json
 * already keeps the working state they made; this file keeps the mark
 * (which endpoints are not the cluster's, and on which etcd revision of
 * the key they were based), so that after a restart the node neither
 * overwrites them with etcd's value nor forgets to reconcile them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fleet/internal.h"
#include "rt/file.h"
#include "rt/log.h"

int fleet_locals_save(struct fleet *f)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", f->state_dir, LOCALS_FILE);
	if (f->nlocals == 0) {
		if (unlink(path) < 0 && errno != ENOENT)
			return -errno;
		return 0;
	}
	json_t *changes = json_array();
	for (unsigned i = 0; changes && i < f->nlocals; i++) {
		const struct local_change *l = &f->locals[i];
		json_t *v = json_loads(l->value ? l->value : "{}", 0, NULL);
		json_array_append_new(changes, json_pack("{s:s,s:I,s:I,s:o}", "key", l->key,
			"base_revision", (json_int_t)l->base_rev, "since", (json_int_t)l->since,
			"state", v ? v : json_object()));
	}
	json_t *doc = json_pack("{s:i,s:s,s:s,s:o}", "version", 1, "cluster", f->name, "node",
				f->node, "changes", changes);
	char *text = doc ? json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
	json_decref(doc);
	if (text == NULL)
		return VANE_ENOMEM;
	int ret = rt_write_atomic(f->state_dir, LOCALS_FILE, text);
	free(text);
	return ret;
}

void fleet_locals_load(struct fleet *f)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", f->state_dir, LOCALS_FILE);
	json_error_t jerr;
	json_t *doc = json_load_file(path, 0, &jerr);
	if (doc == NULL) {
		if (access(path, F_OK) == 0)
			log_error("%s: unreadable (%s): --local changes from before are not marked",
				  path, jerr.text);
		return;
	}
	const char *cluster = json_string_value(json_object_get(doc, "cluster"));
	if (cluster == NULL || strcmp(cluster, f->name) != 0) {
		log_warning("%s: for cluster %s, not %s: ignored", path, cluster ? cluster : "?",
			    f->name);
		json_decref(doc);
		return;
	}
	json_t *changes = json_object_get(doc, "changes"), *c;
	size_t i;
	json_array_foreach(changes, i, c) {
		const char *key = json_string_value(json_object_get(c, "key"));
		json_t *state = json_object_get(c, "state");
		if (key == NULL || !json_is_object(state) || strlen(key) >= LIVE_KEY_MAX)
			continue;
		struct local_change *n = realloc(f->locals, (f->nlocals + 1) * sizeof(*n));
		if (n == NULL)
			break;
		f->locals = n;
		struct local_change *l = &f->locals[f->nlocals];
		memset(l, 0, sizeof(*l));
		snprintf(l->key, sizeof(l->key), "%s", key);
		l->value = json_dumps(state, JSON_COMPACT | JSON_SORT_KEYS);
		l->base_rev = json_integer_value(json_object_get(c, "base_revision"));
		l->since = (uint64_t)json_integer_value(json_object_get(c, "since"));
		if (l->value == NULL)
			break;
		f->nlocals++;
		log_warning("[%s] cluster: a --local change from before the restart, not yet "
			    "reconciled: kept here until etcd is back", key);
	}
	f->has_locals = f->nlocals > 0;
	f->nlocal_marks = f->nlocals;
	json_decref(doc);
}
