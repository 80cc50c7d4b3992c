/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt/file.h"
#include "rt/log.h"
#include "ops/state.h"

static int64_t int_of(const json_t *o, const char *key, int64_t dflt)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

static void parse_ramp(const json_t *r, struct steer_ramp *ramp)
{
	const json_t *steps = json_object_get(r, "steps");
	size_t n = json_array_size(steps);
	if (!json_is_object(r) || n == 0 || n > STEER_MAX_RAMP)
		return;
	for (size_t i = 0; i < n; i++) {
		json_int_t v = json_integer_value(json_array_get(steps, i));
		ramp->steps[i] = (uint8_t)(v < 0 ? 0 : v > 100 ? 100 : v);
	}
	ramp->nsteps = (uint8_t)n;
	ramp->every_ms = (uint64_t)int_of(r, "every_ms", 60000);
	ramp->started_ms = (uint64_t)int_of(r, "started_ms", 0);
	ramp->active = ramp->every_ms > 0;
	const char *kind = json_string_value(json_object_get(r, "kind"));
	ramp->kind = kind && strcmp(kind, "recovery") == 0 ? STEER_RAMP_RECOVERY : STEER_RAMP_OPERATOR;
}

static void parse_aborted(const json_t *r, struct steer_ramp_aborted *ab)
{
	struct steer_ramp tmp = { 0 };
	parse_ramp(r, &tmp);
	if (!tmp.active)
		return;
	ab->set = true;
	ab->nsteps = tmp.nsteps;
	memcpy(ab->steps, tmp.steps, sizeof(ab->steps));
	ab->every_ms = tmp.every_ms;
	int64_t step = int_of(r, "step", 0);
	ab->step = (uint8_t)(step < 0 ? 0 : step >= tmp.nsteps ? tmp.nsteps - 1 : step);
	ab->at_ms = (uint64_t)int_of(r, "at_ms", 0);
}

static void parse_ep(const char *key, const json_t *o, struct saved_ep *e)
{
	e->key = strdup(key);
	const char *h = json_string_value(json_object_get(o, "health"));
	if (h) {
		e->has_health = true;
		e->up = strcmp(h, "up") == 0;
		e->since_ms = (uint64_t)int_of(o, "since", 0);
		const char *err = json_string_value(json_object_get(o, "error"));
		snprintf(e->err, sizeof(e->err), "%s", err ? err : "");
	}
	state_admin_from_json(o, &e->admin);
}

void state_admin_from_json(const json_t *o, struct steer_admin_ep *a)
{
	a->drained = json_is_true(json_object_get(o, "drained"));
	json_t *w = json_object_get(o, "weight");
	if (json_is_integer(w) && json_integer_value(w) >= 0) {
		a->weight_set = true;
		json_int_t v = json_integer_value(w);
		a->weight = v > STEER_WEIGHT_MAX ? STEER_WEIGHT_MAX : (uint32_t)v;
	}
	int64_t load = int_of(o, "load", 0);
	a->load = load < 0 ? 0 : load > UINT32_MAX ? UINT32_MAX : (uint32_t)load;
	parse_ramp(json_object_get(o, "ramp"), &a->ramp);
	parse_aborted(json_object_get(o, "ramp_aborted"), &a->aborted);
}

static int parse_latency(const json_t *arr, struct saved_state *st)
{
	size_t n = json_array_size(arr);
	if (n == 0)
		return 0;
	st->lat = calloc(n, sizeof(*st->lat));
	if (st->lat == NULL)
		return VANE_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const json_t *o = json_array_get(arr, i);
		const char *f = json_string_value(json_object_get(o, "file"));
		if (f) {
			st->lat[st->nlat++].file = strdup(f);
			continue;
		}
		const char *s = json_string_value(json_object_get(o, "service"));
		const char *e = json_string_value(json_object_get(o, "endpoint"));
		const char *c = json_string_value(json_object_get(o, "client"));
		int64_t rtt = int_of(o, "rtt", -1);
		if (!s || !e || !c || rtt < 0)
			continue;
		struct latency_update *u = &st->lat[st->nlat++];
		u->service = strdup(s);
		u->endpoint = strdup(e);
		u->client = strdup(c);
		u->rtt_ms = rtt > UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)rtt;
	}
	return 0;
}

int state_load(const char *dir, struct saved_state **out, char **err)
{
	char path[4096];
	json_error_t jerr;
	*out = NULL;
	*err = NULL;
	struct saved_state *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return VANE_ENOMEM;
	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE);
	if (access(path, F_OK) != 0) {
		*out = st;
		return 0;
	}
	json_t *root = json_load_file(path, 0, &jerr);
	if (!json_is_object(root)) {
		char buf[512];
		snprintf(buf, sizeof(buf), "line %d: %s", jerr.line, root ? "not an object" : jerr.text);
		*err = strdup(buf);
		json_decref(root);
		state_free(st);
		return VANE_EINVAL;
	}
	json_t *eps = json_object_get(root, "endpoints");
	size_t n = json_object_size(eps);
	st->ep = calloc(n ? n : 1, sizeof(*st->ep));
	st->keys = calloc(n ? n : 1, sizeof(*st->keys));
	int ret = VANE_ENOMEM;
	if (!st->ep || !st->keys)
		goto fail;
	const char *key;
	json_t *v;
	json_object_foreach(eps, key, v) {
		if (!json_is_object(v))
			continue;
		parse_ep(key, v, &st->ep[st->n]);
		if (st->ep[st->n].key == NULL)
			goto fail;
		st->keys[st->n] = st->ep[st->n].key;
		st->n++;
	}
	if ((ret = strmap_init(&st->map, st->keys, st->n)) != 0 ||
	    (ret = parse_latency(json_object_get(root, "latency"), st)) != 0)
		goto fail;
	json_decref(root);
	*out = st;
	return 0;
fail:
	json_decref(root);
	state_free(st);
	return ret;
}

void state_free(struct saved_state *st)
{
	if (st == NULL)
		return;
	for (uint32_t i = 0; i < st->n; i++)
		free(st->ep[i].key);
	for (uint32_t i = 0; i < st->nlat; i++) {
		free(st->lat[i].file);
		free(st->lat[i].service);
		free(st->lat[i].endpoint);
		free(st->lat[i].client);
	}
	free(st->lat);
	free(st->ep);
	free(st->keys);
	strmap_free(&st->map);
	free(st);
}

void state_admin_to_json(json_t *obj, const struct steer_admin_ep *a)
{
	json_object_set_new(obj, "drained", json_boolean(a->drained));
	if (a->weight_set)
		json_object_set_new(obj, "weight", json_integer(a->weight));
	if (a->load)
		json_object_set_new(obj, "load", json_integer(a->load));
	if (a->ramp.active) {
		json_t *steps = json_array();
		for (unsigned i = 0; i < a->ramp.nsteps; i++)
			json_array_append_new(steps, json_integer(a->ramp.steps[i]));
		json_object_set_new(obj, "ramp", json_pack("{s:o,s:I,s:I,s:s}", "steps", steps,
							   "every_ms", (json_int_t)a->ramp.every_ms,
							   "started_ms", (json_int_t)a->ramp.started_ms,
							   "kind", a->ramp.kind == STEER_RAMP_RECOVERY
								   ? "recovery" : "operator"));
	}
	if (a->aborted.set) {
		json_t *steps = json_array();
		for (unsigned i = 0; i < a->aborted.nsteps; i++)
			json_array_append_new(steps, json_integer(a->aborted.steps[i]));
		json_object_set_new(obj, "ramp_aborted", json_pack("{s:o,s:I,s:i,s:I}", "steps", steps,
			"every_ms", (json_int_t)a->aborted.every_ms, "step", (int)a->aborted.step,
			"at_ms", (json_int_t)a->aborted.at_ms));
	}
}

int state_write(const char *dir, const char *text)
{
	/* The previous state stays as state.json.bak (a hard link, so the
	 * rename of the new file still replaces state.json atomically): a bad
	 * change can be undone by hand. */
	char path[4096], bak[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE);
	snprintf(bak, sizeof(bak), "%s.bak", path);
	if ((unlink(bak) < 0 && errno != ENOENT) || (link(path, bak) < 0 && errno != ENOENT))
		log_warning("%s: cannot keep the previous state: %s", bak, strerror(errno));
	return rt_write_atomic(dir, STATE_FILE, text);
}
