/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Persisted steering state: `state-dir/state.json` holds the last known
 * health (up/down, since, last error) and every operator change per
 * "service/endpoint", plus runtime latency updates.  Written atomically
 * (temporary file, fsync, rename, fsync of the directory), so a crash leaves
 * either the old or the new file.
 *
 *   {"version":1,"endpoints":{"api.example.com/us-east":{
 *       "health":"up","since":1700000000000,"error":"...",
 *       "drained":false,"weight":80,"load":0,
 *       "ramp":{"steps":[5,25,50,100],"every_ms":60000,"started_ms":...,
 *                "kind":"operator"},
 *       "ramp_aborted":{"steps":[...],"every_ms":60000,"step":1,"at_ms":...}}},
 *    "latency":[{"file":"/etc/vane/latency.txt"},
 *               {"service":"api.example.com","endpoint":"us-east",
 *                "client":"192.0.2.0/24","rtt":12}]}
 *
 * "weight" is present only when overridden, "ramp" only while active,
 * "health" only for endpoints with a check.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "ops/live.h"

#define STATE_FILE "state.json"

struct saved_ep {
	char *key;
	bool has_health;
	bool up;
	uint64_t since_ms;
	char err[LIVE_ERR_MAX];
	struct steer_admin_ep admin;
};

/* One runtime latency change: `latency-load FILE` (file set) or one cell
 * ("SERVICE ENDPOINT CLIENT RTT").  Replayed in order over the config's
 * table at start and after a reload. */
struct latency_update {
	char *file;
	char *service;
	char *endpoint;
	char *client;
	uint32_t rtt_ms;
};

struct saved_state {
	struct saved_ep *ep;
	uint32_t n;
	const char **keys;            /* ep[i].key, for the map */
	struct strmap map;
	struct latency_update *lat;
	uint32_t nlat;
};

/*
 * Read `dir`/state.json.  A missing file gives an empty state (returns 0);
 * a corrupt one is reported with `*err` (malloc'd) and gives VANE_EINVAL.
 */
int state_load(const char *dir, struct saved_state **out, char **err) VANE_WUR;
void state_free(struct saved_state *st);

/* Write `text` to `dir`/state.json atomically and durably (creates `dir`;
 * the previous file stays as state.json.bak).  0 only once the directory
 * is synced too.  Blocking: a few ms on a local disk. */
int state_write(const char *dir, const char *text) VANE_WUR;

/* One endpoint's admin state from `obj` (fields absent: defaults; `a`
 * must start zeroed). */
void state_admin_from_json(const json_t *obj, struct steer_admin_ep *a);

/* JSON of one endpoint's admin state, merged into `obj`. */
void state_admin_to_json(json_t *obj, const struct steer_admin_ep *a);
