/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * HTTP routes -> commands of the table, and request fields -> their typed
 * arguments.  Every route, method and field name comes from ctl/cmd.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl/http.h"

#define FAIL(code, ...) do { snprintf(err, errsize, __VA_ARGS__); return (code); } while (0)

void http_call_clear(struct http_call *call)
{
	for (int i = 0; i < call->nstr; i++)
		free(call->str[i]);
	call->nstr = 0;
}

static const char *keep(struct http_call *call, const char *s)
{
	if (call->nstr >= HTTP_STR_MAX)
		return NULL;
	char *d = strdup(s);
	if (d)
		call->str[call->nstr++] = d;
	return d;
}

/* Match `url` against a route with {service}/{endpoint} holes; fills them. */
static bool route_match(const char *route, const char *url, char *svc, char *ep, size_t size)
{
	while (*route) {
		if (*route == '{') {
			const char *close = strchr(route, '}');
			const char *slash = strchr(url, '/');
			size_t n = slash ? (size_t)(slash - url) : strlen(url);
			if (close == NULL || n == 0 || n >= size)
				return false;
			char *dst = strncmp(route, "{service}", 9) == 0 ? svc : ep;
			memcpy(dst, url, n);
			dst[n] = '\0';
			route = close + 1;
			url += n;
			continue;
		}
		if (*route++ != *url++)
			return false;
	}
	return *url == '\0';
}

const struct ctl_cmd *http_find(const char *method, const char *url, unsigned *status,
				const char **allow)
{
	char s[256], e[128];
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	*status = 404;
	for (const struct ctl_cmd *c = ctl_cmds; c->help; c++) {
		if (c->route == NULL)
			continue;
		if (!route_match(c->route, url, s, e, sizeof(e)) &&
		    !(c->route2 && route_match(c->route2, url, s, e, sizeof(e))))
			continue;
		if (strcmp(c->method, method) == 0 || (get && strcmp(c->method, "GET") == 0))
			return c;
		/* A known route with the wrong method: RFC 9110 15.5.6. */
		*status = 405;
		*allow = c->method;
	}
	return NULL;
}

/* A body field as text: strings as is, integers in decimal, an array of
 * integers (steps) joined by commas. */
static int field_text(json_t *v, const char *name, char *out, size_t size, char *err,
		      size_t errsize)
{
	if (json_is_string(v)) {
		if (json_string_length(v) == 0 || json_string_length(v) >= size)
			FAIL(400, "\"%s\": bad length", name);
		snprintf(out, size, "%s", json_string_value(v));
	} else if (json_is_boolean(v)) {
		snprintf(out, size, "%s", json_is_true(v) ? "true" : "false");
	} else if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			FAIL(400, "\"%s\": must not be negative", name);
		snprintf(out, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	} else if (json_is_array(v) && json_array_size(v) > 0) {
		size_t i, n = 0;
		json_t *x;
		out[0] = '\0';
		json_array_foreach(v, i, x) {
			if (!json_is_integer(x) || n >= size)
				FAIL(400, "\"%s\": expected integers", name);
			n += (size_t)snprintf(out + n, size - n, "%s%" JSON_INTEGER_FORMAT, i ? "," : "",
					      json_integer_value(x));
		}
	} else {
		FAIL(400, "\"%s\": expected a string or an integer", name);
	}
	return 200;
}

static int set_arg(struct http_call *call, int k, const char *text, char *err, size_t errsize)
{
	const struct ctl_arg *a = &call->args.cmd->args[k];
	struct ctl_val *v = &call->args.v[k];
	const char *s = keep(call, text);
	if (s == NULL)
		FAIL(500, "out of memory");
	if (a->repeat) {
		call->words[k][0] = (char *)s;
		v->rest = call->words[k];
		v->nrest = 1;
	}
	if (ctl_value(a->type, s, v) != 0)
		FAIL(400, "\"%s\": bad value %s", a->name, s);
	return 200;
}

int http_bind(const struct ctl_cmd *cmd, const char *url, const char *body, http_arg_fn arg,
	      void *ctx, const char *peer, struct http_call *call, char *err, size_t errsize)
{
	char svc[256] = "", ep[128] = "", text[512];
	memset(call, 0, sizeof(*call));
	call->args.cmd = cmd;
	bool from_path = cmd->route2 && route_match(cmd->route2, url, svc, ep, sizeof(ep));
	bool post = strcmp(cmd->method, "POST") == 0;
	json_t *j = NULL;
	if (post) {
		json_error_t jerr;
		j = body && *body ? json_loads(body, JSON_REJECT_DUPLICATES, &jerr) : json_object();
		if (j == NULL)
			FAIL(400, "malformed JSON: %s (line %d, column %d)", jerr.text, jerr.line,
			     jerr.column);
		if (!json_is_object(j)) {
			json_decref(j);
			FAIL(400, "malformed JSON: expected an object");
		}
	}
	int st = 200;
	for (int k = 0; k < CTL_ARGS_MAX && cmd->args[k].name && st == 200; k++) {
		const struct ctl_arg *a = &cmd->args[k];
		const char *val = NULL;
		if (a->type == CA_KEY) {
			if (!from_path && post) {
				st = field_text(json_object_get(j, "service"), "service", svc, sizeof(svc),
						err, errsize);
				if (st == 200)
					st = field_text(json_object_get(j, "endpoint"), "endpoint", ep,
							sizeof(ep), err, errsize);
				if (st != 200) {
					if (json_object_get(j, "service") == NULL ||
					    json_object_get(j, "endpoint") == NULL)
						snprintf(err, errsize, "missing \"%s\"",
							 json_object_get(j, "service") ? "endpoint" : "service");
					break;
				}
			}
			snprintf(text, sizeof(text), "%s/%s", svc, ep);
			val = text;
		} else if (post) {
			json_t *v = json_object_get(j, a->name);
			if (json_is_array(v) && a->type != CA_STEPS) {
				snprintf(err, errsize, "\"%s\": expected a string or an integer", a->name);
				st = 400;
			} else if (v && !json_is_null(v)) {
				st = field_text(v, a->name, text, sizeof(text), err, errsize);
				val = text;
			}
		} else {
			val = arg(ctx, a->name);
			if (val && *val == '\0')
				val = NULL;
		}
		if (st != 200)
			break;
		if (val == NULL && a->http_default)
			val = strcmp(a->http_default, "@peer") == 0 ? peer : a->http_default;
		if (val == NULL) {
			if (!a->optional) {
				snprintf(err, errsize, "missing \"%s\"", a->name);
				st = 400;
			}
			continue;
		}
		st = set_arg(call, k, val, err, errsize);
	}
	json_decref(j);
	if (st != 200)
		http_call_clear(call);
	return st;
}
