/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * API routes -> control-table command lines, and the builders that only
 * the HTTP API has (services).  Keep in step with docs/api.md.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/ctl.h"
#include "server/health.h"
#include "server/http.h"
#include "server/server.h"

#define API "/api/v1/"

void http_call_clear(struct http_call *call)
{
	for (int i = 0; i < call->argc; i++)
		free(call->argv[i]);
	call->argc = 0;
}

static int push(struct http_call *call, const char *s)
{
	if (call->argc >= HTTP_ARGS_MAX)
		return -1;
	char *d = strdup(s);
	if (d == NULL)
		return -1;
	call->argv[call->argc++] = d;
	return 0;
}

#define FAIL(code, ...) do { snprintf(err, errsize, __VA_ARGS__); return (code); } while (0)

/* A body field as text: strings as is, integers in decimal. */
static int field(json_t *body, const char *name, bool required, char *out, size_t size,
		 char *err, size_t errsize)
{
	json_t *v = json_object_get(body, name);
	if (v == NULL || json_is_null(v)) {
		if (required)
			FAIL(400, "missing \"%s\"", name);
		out[0] = '\0';
		return 0;
	}
	if (json_is_string(v)) {
		if (json_string_length(v) == 0 || json_string_length(v) >= size)
			FAIL(400, "\"%s\": bad length", name);
		snprintf(out, size, "%s", json_string_value(v));
	} else if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			FAIL(400, "\"%s\": must not be negative", name);
		snprintf(out, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	} else {
		FAIL(400, "\"%s\": expected a string or an integer", name);
	}
	return 0;
}

/* ramp steps: [5,25,50,100] or "5,25,50,100"; every: "60s" or seconds. */
static int ramp_args(json_t *body, struct http_call *call, char *err, size_t errsize)
{
	char steps[128] = "", every[64];
	json_t *st = json_object_get(body, "steps");
	if (json_is_array(st)) {
		size_t i;
		json_t *v;
		json_array_foreach(st, i, v) {
			if (!json_is_integer(v))
				FAIL(400, "\"steps\": expected integers");
			size_t n = strlen(steps);
			snprintf(steps + n, sizeof(steps) - n, "%s%" JSON_INTEGER_FORMAT, i ? "," : "",
				 json_integer_value(v));
		}
		if (steps[0] == '\0')
			FAIL(400, "\"steps\": empty");
	} else if (field(body, "steps", true, steps, sizeof(steps), err, errsize)) {
		return 400;
	}
	if (field(body, "every", true, every, sizeof(every), err, errsize))
		return 400;
	if (push(call, "--steps") || push(call, steps) || push(call, "--every") || push(call, every))
		FAIL(500, "out of memory");
	return 200;
}

/* Endpoint verbs: drain, undrain, weight, ramp, load. `svc`/`ep` from the
 * path, else from the body. */
static int endpoint_verb(const char *verb, json_t *body, const char *svc, const char *ep,
			 struct http_call *call, char *err, size_t errsize)
{
	char s[256], e[128], key[400], v[64];
	if (svc == NULL) {
		if (field(body, "service", true, s, sizeof(s), err, errsize) ||
		    field(body, "endpoint", true, e, sizeof(e), err, errsize))
			return 400;
		svc = s;
		ep = e;
	}
	snprintf(key, sizeof(key), "%s/%s", svc, ep);
	if (push(call, verb) || push(call, key))
		FAIL(500, "out of memory");
	if (strcmp(verb, "weight") == 0 || strcmp(verb, "load") == 0) {
		const char *name = verb[0] == 'w' ? "weight" : "value";
		if (field(body, name, true, v, sizeof(v), err, errsize))
			return 400;
		if (!isdigit((unsigned char)v[0]))
			FAIL(400, "\"%s\": expected a non-negative integer", name);
		if (push(call, v))
			FAIL(500, "out of memory");
	} else if (strcmp(verb, "ramp") == 0) {
		return ramp_args(body, call, err, errsize);
	}
	return 200;
}

static bool is_endpoint_verb(const char *v)
{
	return strcmp(v, "drain") == 0 || strcmp(v, "undrain") == 0 || strcmp(v, "weight") == 0 ||
	       strcmp(v, "ramp") == 0 || strcmp(v, "load") == 0;
}

/* POST /api/v1/endpoints/SVC/EP/VERB */
static int endpoint_path(const char *rest, json_t *body, struct http_call *call,
			 char *err, size_t errsize)
{
	char buf[512], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", rest);
	char *svc = strtok_r(buf, "/", &save);
	char *ep = strtok_r(NULL, "/", &save);
	char *verb = strtok_r(NULL, "/", &save);
	if (!svc || !ep || !verb || strtok_r(NULL, "/", &save) || !is_endpoint_verb(verb))
		FAIL(404, "no such route");
	return endpoint_verb(verb, body, svc, ep, call, err, errsize);
}

static int route_post(const char *r, json_t *body, struct http_call *call, char *err,
		      size_t errsize)
{
	char a[512];
	call->write = true;
	if (strncmp(r, "endpoints/", 10) == 0)
		return endpoint_path(r + 10, body, call, err, errsize);
	if (is_endpoint_verb(r))
		return endpoint_verb(r, body, NULL, NULL, call, err, errsize);
	if (strcmp(r, "reload") == 0 || strcmp(r, "stop") == 0)
		return push(call, r) ? 500 : 200;
	if (strcmp(r, "latency") == 0) {
		char svc[256], ep[128], rtt[32];
		if (field(body, "service", true, svc, sizeof(svc), err, errsize) ||
		    field(body, "endpoint", true, ep, sizeof(ep), err, errsize) ||
		    field(body, "client", true, a, sizeof(a), err, errsize) ||
		    field(body, "rtt_ms", true, rtt, sizeof(rtt), err, errsize))
			return 400;
		if (push(call, "latency") || push(call, svc) || push(call, ep) || push(call, a) ||
		    push(call, rtt))
			FAIL(500, "out of memory");
		return 200;
	}
	if (strcmp(r, "latency-load") == 0) {
		if (field(body, "file", true, a, sizeof(a), err, errsize))
			return 400;
		return push(call, "latency-load") || push(call, a) ? 500 : 200;
	}
	FAIL(404, "no such route: POST " API "%s", r);
}

static int route_get(const char *r, http_arg_fn arg, void *ctx, const char *peer,
		     struct http_call *call, char *err, size_t errsize)
{
	static const struct { const char *route, *cmd; } simple[] = {
		{ "status", "status" }, { "health", "health" }, { "stats", "stats" },
		{ "commands", "help" },
	};
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
		if (strcmp(r, simple[i].route) == 0)
			return push(call, simple[i].cmd) ? 500 : 200;
	if (strcmp(r, "services") == 0) {
		call->kind = HC_SERVICES;
		return 200;
	}
	if (strcmp(r, "zones") == 0) {
		const char *z = arg(ctx, "zone");
		if (push(call, "zone-status") || (z && *z && push(call, z)))
			FAIL(500, "out of memory");
		return 200;
	}
	if (strcmp(r, "events") == 0) {
		const char *since = arg(ctx, "since");
		char *end = NULL;
		errno = 0;
		if (since && *since && (strtoull(since, &end, 10), errno || *end || !isdigit((unsigned char)*since)))
			FAIL(400, "since: expected an event id");
		call->kind = HC_EVENTS;
		return push(call, since && *since ? since : "0") ? 500 : 200;
	}
	if (strcmp(r, "explain") == 0) {
		const char *name = arg(ctx, "name"), *type = arg(ctx, "type");
		const char *client = arg(ctx, "client"), *ecs = arg(ctx, "ecs");
		if (name == NULL || *name == '\0')
			FAIL(400, "missing name");
		if (client == NULL || *client == '\0')
			client = peer;   /* as asked from here */
		if (push(call, "explain") || push(call, name) || push(call, type && *type ? type : "A") ||
		    push(call, "--client") || push(call, client) ||
		    (ecs && *ecs && (push(call, "--ecs") || push(call, ecs))))
			FAIL(500, "out of memory");
		return 200;
	}
	FAIL(404, "no such route: GET " API "%s", r);
}

int http_route(const char *method, const char *url, const char *body, http_arg_fn arg,
	       void *ctx, const char *peer, struct http_call *call, char *err, size_t errsize)
{
	memset(call, 0, sizeof(*call));
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	bool post = strcmp(method, "POST") == 0;
	if (strcmp(url, "/metrics") == 0) {
		if (!get)
			FAIL(405, "use GET");
		call->kind = HC_METRICS;
		return 200;
	}
	if (strncmp(url, API, strlen(API)) != 0)
		FAIL(404, "no such route: %s", url);
	const char *r = url + strlen(API);
	if (get)
		return route_get(r, arg, ctx, peer, call, err, errsize);
	if (!post)
		FAIL(405, "use GET or POST");
	json_error_t jerr;
	json_t *j = body && *body ? json_loads(body, JSON_REJECT_DUPLICATES, &jerr) : json_object();
	if (j == NULL)
		FAIL(400, "malformed JSON: %s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
	if (!json_is_object(j)) {
		json_decref(j);
		FAIL(400, "malformed JSON: expected an object");
	}
	int ret = route_post(r, j, call, err, errsize);
	json_decref(j);
	if (ret != 200)
		http_call_clear(call);
	return ret;
}

/* ---- services: health rows grouped by service, with answer counts ---- */

json_t *http_services_json(struct server *srv)
{
	json_t *health = srv->rt ? live_rt_health_json(srv->rt) : NULL;
	json_t *stats = server_stats_json(srv);
	json_t *out = json_array();
	json_t *by_name = json_object();
	json_t *st_svcs = json_object_get(stats, "services");
	size_t i;
	json_t *row;
	json_array_foreach(json_object_get(health, "endpoints"), i, row) {
		const char *svc = json_string_value(json_object_get(row, "service"));
		const char *ep = json_string_value(json_object_get(row, "endpoint"));
		if (svc == NULL || ep == NULL)
			continue;
		json_t *s = json_object_get(by_name, svc);
		json_t *st = json_object_get(st_svcs, svc);
		if (s == NULL) {
			s = json_pack("{s:s,s:I,s:I,s:[]}", "name", svc,
				      "answers", json_integer_value(json_object_get(st, "answers")),
				      "fallbacks", json_integer_value(json_object_get(st, "fallbacks")),
				      "endpoints");
			json_object_set_new(by_name, svc, s);
			json_array_append(out, s);
		}
		json_t *e = json_deep_copy(row);
		json_t *n = json_object_get(json_object_get(st, "endpoints"), ep);
		json_int_t ans = n ? json_integer_value(n) : 0;
		json_int_t total = 0;
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(st, "endpoints"), k, v)
			total += json_integer_value(v);
		json_object_set_new(e, "answers", json_integer(ans));
		json_object_set_new(e, "share", json_real(total ? (double)ans / (double)total : 0.0));
		json_array_append_new(json_object_get(s, "endpoints"), e);
	}
	json_t *res = json_pack("{s:b,s:I,s:o}", "ok", 1, "now",
				json_integer_value(json_object_get(health, "now")), "services", out);
	json_decref(by_name);
	json_decref(health);
	json_decref(stats);
	return res;
}
