/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/schema.h"
#include "ctl/cmd.h"
#include "lib/dname.h"
#include "lib/mnemonic.h"

#define KEY { "key", CA_KEY, NULL, false, false, NULL }
/* In a fleet without etcd quorum: change this node only, for an emergency. */
#define LOCAL { "local", CA_FLAG, "--local", true, false, NULL }

const struct ctl_cmd ctl_cmds[] = {
	{ "status", CMD_STATUS, false, "GET", "/api/v1/status", NULL, { { 0 } },
	  "Server version, uptime, zones, listeners.",
	  "version, pid, uptime_s, zones, zones_serving, zones_failed, udp_workers, listen, config, tcp_clients" },
	{ "reload", CMD_RELOAD, true, "POST", "/api/v1/reload", NULL,
	  { { "force", CA_FLAG, "--force", true, false, NULL } },
	  "Reload the config and every zone; replies when done. Zones that fail keep serving "
	  "their old version, and so does a zone whose new serial is lower than the serving "
	  "one (RFC 1982), or that deletes a name queried within server.deletion-guard, "
	  "unless --force.",
	  "zones: [{name, status, serial[, error]}]" },
	{ "zone-status", CMD_ZONE_STATUS, false, "GET", "/api/v1/zones", NULL,
	  { { "zone", CA_NAME, NULL, true, true, NULL } },
	  "Serial (answered and transferred; with export: healthy it can be above the "
	  "zone file's, file_serial), records, load time and last load error of each "
	  "zone; each notify: secondary with the serial it serves, its lag and the last "
	  "NOTIFY ack; for a zone vaned is a secondary for, its primary, last refresh, "
	  "expiry and last refresh error.",
	  "zones: [{name, file, status, serving, error, serial, file_serial, records, loaded_at, "
	  "zonemd: {scheme, hash, digest} or null, role, "
	  "secondaries: [{target, serial, lag, notify, last_ack, error}]; role secondary: "
	  "primary, last_refresh, expires_in, expired, last_error}]" },
	{ "stats", CMD_STATS, false, "GET", "/api/v1/stats", NULL, { { 0 } },
	  "Query counters by rcode, qtype and transport.",
	  "queries, rcode, qtype, transport, dropped, services, fallbacks, ecs_scope, response_size" },
	{ "drain", CMD_DRAIN, true, "POST", "/api/v1/drain", "/api/v1/endpoints/{service}/{endpoint}/drain",
	  { KEY, LOCAL }, "Take an endpoint out of answers (health filter). In a cluster the "
	  "change goes through etcd to every node; --local applies it on this node only when "
	  "etcd has no quorum.", "key, changed, endpoint: row" },
	{ "undrain", CMD_UNDRAIN, true, "POST", "/api/v1/undrain",
	  "/api/v1/endpoints/{service}/{endpoint}/undrain",
	  { KEY, LOCAL }, "Put a drained endpoint back.", "key, changed, endpoint: row" },
	{ "weight", CMD_WEIGHT, true, "POST", "/api/v1/weight",
	  "/api/v1/endpoints/{service}/{endpoint}/weight",
	  { KEY, { "weight", CA_UINT, NULL, false, false, NULL }, LOCAL },
	  "Override an endpoint's weight.", "key, changed, endpoint: row" },
	{ "ramp", CMD_RAMP, true, "POST", "/api/v1/ramp", "/api/v1/endpoints/{service}/{endpoint}/ramp",
	  { KEY, { "steps", CA_STEPS, "--steps", true, false, NULL },
	    { "every", CA_DURATION, "--every", true, false, NULL },
	    { "resume", CA_FLAG, "--resume", true, false, NULL }, LOCAL },
	  "Bring an endpoint back in weight steps (--steps and --every); if it fails health "
	  "the ramp aborts and leaves it drained; --resume continues that ramp from the step "
	  "it had reached (undrain gives the full weight instead).",
	  "key, changed, endpoint: row" },
	{ "load", CMD_LOAD, true, "POST", "/api/v1/load", "/api/v1/endpoints/{service}/{endpoint}/load",
	  { KEY, { "value", CA_UINT, NULL, false, false, NULL }, LOCAL },
	  "Push an endpoint's current load (shed).", "key, changed, endpoint: row" },
	{ "health", CMD_HEALTH, false, "GET", "/api/v1/health", NULL, { { 0 } },
	  "Health and operator state of every endpoint: state (up, down, unknown), since, "
	  "last error and failure, weight, drained, ramp step, aborted ramp.",
	  "endpoints: [row], now, went_down, went_up, probes" },
	{ "explain", CMD_EXPLAIN, false, "GET", "/api/v1/explain", NULL,
	  { { "name", CA_NAME, NULL, false, false, NULL },
	    { "type", CA_TYPE, NULL, false, false, "A" },
	    { "client", CA_ADDR, "--client", false, false, "@peer" },
	    { "ecs", CA_PREFIX, "--ecs", true, false, NULL } },
	  "Answer a query as from CLIENT and show the steering decision trace; in a cluster, "
	  "also each endpoint's health votes per vantage and the quorum rule that decided.",
	  "rcode, scope, ttl, negative_ttl, soa, fallback, all_drained, answer, authority, "
	  "service, endpoints (in a cluster with votes: {rule, needed, live, down, vantages: "
	  "[{node, verdict, age_s, self}]}), trace, trace_text" },
	{ "plan-change", CMD_PLAN_CHANGE, false, "GET", "/api/v1/plan-change", NULL,
	  { { "service", CA_NAME, NULL, false, false, NULL },
	    { "new_ttl", CA_UINT, "--new-ttl", true, false, NULL },
	    { "drain", CA_STR, "--drain", true, false, NULL } },
	  "Predict a change before making it (vane-lab's model on the running config, the "
	  "brief's resolver population): --new-ttl says when every cache holds the new TTL "
	  "and the RTO of a failover then; --drain the share still on the endpoint after "
	  "1, 5 and 30 minutes.",
	  "service, event, endpoint, old_ttl, new_ttl, safe_after, detect_bound, kinds: "
	  "[{name, share, min_ttl, old_held, new_held}], rto95, rto99, rto100, tail, left_1m, "
	  "left_5m, left_30m, auth_qps, cost_month, clients, resolvers, text" },
	{ "latency", CMD_LATENCY, true, "POST", "/api/v1/latency", NULL,
	  { { "service", CA_NAME, NULL, false, false, NULL },
	    { "endpoint", CA_STR, NULL, false, false, NULL },
	    { "client", CA_STR, NULL, false, false, NULL },
	    { "rtt_ms", CA_RTT, NULL, false, false, NULL } },
	  "Set one latency table cell (CLIENT: CIDR, country or continent).", "cells" },
	{ "latency-load", CMD_LATENCY_LOAD, true, "POST", "/api/v1/latency-load", NULL,
	  { { "file", CA_FILE, NULL, false, false, NULL } },
	  "Replace the latency table from a file.", "cells" },
	{ "anycast", CMD_ANYCAST, false, "GET", "/api/v1/anycast", NULL, { { 0 } },
	  "Anycast announcement through BIRD: state, last transition and why, self-check, "
	  "BIRD and peers (docs/anycast.md).",
	  "enabled, state, announced, healthy, kept_last_site, reason, last_error, transitions, "
	  "changed_at_ms, checks, addresses, protocol, bird_connected, bird_protocol_up, "
	  "healthy_peers" },
	{ "stop", CMD_STOP, true, "POST", "/api/v1/stop", NULL, { { 0 } },
	  "Stop the server cleanly; with anycast: withdraw, keep answering for drain-time, "
	  "then stop.", "ok" },
	{ "cluster", CMD_CLUSTER, false, "GET", "/api/v1/cluster", NULL, { { 0 } },
	  "The fleet as etcd sees it: every node's version, config digest (a differing one is "
	  "flagged), applied state revision, how long ago it renewed its lease and where its "
	  "state comes from; whether etcd is reachable; changes made with --local that wait "
	  "for it; operator writes waiting for etcd.",
	  "cluster, node, available, revision, config_digest, nodes: [{node, version, "
	  "config_digest, revision, lease, lease_ttl_s, last_seen_s, local_changes, "
	  "state_source, config_differs, self}], config_differs, local_changes: [{key, state, "
	  "base_revision, age_s}], writes_pending" },
	{ "providers", CMD_PROVIDERS, false, "GET", "/api/v1/providers", NULL,
	  { { "view", CA_STR, NULL, true, false, NULL } },
	  "Second providers (docs/providers.md): per provider, the last push and its "
	  "result, pending changes, the SOA serial lag and drift. `providers plan`: per "
	  "provider and service, what translates exactly, approximately, and what is lost.",
	  "providers: [{name, type, api, last_result, pending, last_push_ms, last_ok_ms, "
	  "since_ok_ms, attempts, error, steered, pushes_ok, pushes_failed, zones: [{zone, "
	  "serial, serial_api, serial_pushed, serial_lag}], drift: {state, alert, checks, "
	  "serial_lag, api_mismatches, serial_mismatches, ecs_mismatches, ecs_samples, "
	  "last_mismatch}}]; plan: providers: [{name, type, services: [{service, zone, "
	  "overall, items: [{feature, fidelity, text}]}]}]" },
	{ "help", CMD_HELP, false, "GET", "/api/v1/commands", NULL, { { 0 } },
	  "List the commands.", "commands: [{name, args, writes, method, route, help}]" },
	{ NULL, CMD_SERVICES, false, "GET", "/api/v1/services", NULL, { { 0 } },
	  "Services with their endpoint rows and answer counts.",
	  "services: [{name, answers, fallbacks, endpoints: [row + answers, share]}], now" },
	{ NULL, CMD_EVENTS, false, "GET", "/api/v1/events", NULL,
	  { { "since", CA_UINT, NULL, true, false, "0" } },
	  "Recent events with an id above SINCE, oldest first.",
	  "last_id, events: [{id, time, kind, service, endpoint, text[, to]}]" },
	{ NULL, CMD_METRICS, false, "GET", "/metrics", NULL, { { 0 } },
	  "Prometheus text format 0.0.4.", "text" },
	{ NULL, CMD_COUNT, false, NULL, NULL, NULL, { { 0 } }, NULL, NULL },
};

int ctl_split_words(char *line, char **argv, int max)
{
	int argc = 0;
	char *save = NULL;
	for (char *tok = strtok_r(line, " \t", &save); tok && argc < max;
	     tok = strtok_r(NULL, " \t", &save))
		argv[argc++] = tok;
	return argc;
}

const struct ctl_cmd *ctl_cmd_by_name(const char *name)
{
	for (const struct ctl_cmd *c = ctl_cmds; c->help; c++)
		if (c->name && strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

const struct ctl_cmd *ctl_cmd_by_id(enum ctl_cmd_id id)
{
	for (const struct ctl_cmd *c = ctl_cmds; c->help; c++)
		if (c->id == id)
			return c;
	return NULL;
}

/* ---- arguments ---- */

static const char *placeholder(const struct ctl_arg *a, char *buf, size_t size)
{
	if (a->type == CA_KEY)
		return "SERVICE/ENDPOINT";
	if (a->type == CA_FLAG)
		return "";
	size_t i = 0;
	for (; a->name[i] && i + 1 < size; i++)
		buf[i] = a->name[i] == '-' ? '_' : (char)toupper((unsigned char)a->name[i]);
	buf[i] = '\0';
	return buf;
}

const char *ctl_usage(const struct ctl_cmd *cmd, char *buf, size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "usage: %s", cmd->name ? cmd->name : "");
	for (unsigned i = 0; i < CTL_ARGS_MAX && cmd->args[i].name && n < size; i++) {
		const struct ctl_arg *a = &cmd->args[i];
		char ph[32];
		n += (size_t)snprintf(buf + n, size - n, " %s%s%s%s%s%s", a->optional ? "[" : "",
				      a->flag ? a->flag : "", a->flag && a->type != CA_FLAG ? " " : "",
				      placeholder(a, ph, sizeof(ph)),
				      a->repeat ? "..." : "", a->optional ? "]" : "");
	}
	return buf;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	if (s == NULL || !isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

int ctl_value(enum ctl_arg_type type, const char *s, struct ctl_val *v)
{
	uint8_t buf[DNAME_MAXLEN];
	v->set = true;
	v->str = s;
	switch (type) {
	case CA_STR:
	case CA_FILE:
		return s[0] ? 0 : VANE_EINVAL;
	case CA_FLAG:
		/* HTTP sends true or false; `false` is the same as absent. */
		v->u = strcmp(s, "true") == 0 || strcmp(s, "1") == 0;
		v->set = v->u != 0;
		return v->u || strcmp(s, "false") == 0 || strcmp(s, "0") == 0 ? 0 : VANE_EINVAL;
	case CA_KEY: {
		const char *slash = strrchr(s, '/');
		return slash && slash != s && slash[1] ? 0 : VANE_EINVAL;
	}
	case CA_UINT:
		return parse_u64(s, &v->u) ? 0 : VANE_EINVAL;
	case CA_DURATION:
		return conf_parse_duration(s, &v->u) == 0 && v->u > 0 ? 0 : VANE_EINVAL;
	case CA_RTT: {
		if (strcmp(s, "unknown") == 0 || strcmp(s, "-") == 0) {
			v->u = UINT32_MAX;
			return 0;
		}
		char num[32];
		size_t l = strlen(s);
		if (l > 2 && strcmp(s + l - 2, "ms") == 0)
			l -= 2;
		if (l >= sizeof(num))
			return VANE_EINVAL;
		memcpy(num, s, l);
		num[l] = '\0';
		return parse_u64(num, &v->u) && v->u < UINT32_MAX ? 0 : VANE_EINVAL;
	}
	case CA_STEPS: {
		char tmp[128], *save = NULL;
		if (strlen(s) >= sizeof(tmp))
			return VANE_EINVAL;
		snprintf(tmp, sizeof(tmp), "%s", s);
		v->nsteps = 0;
		for (char *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			uint64_t p;
			if (v->nsteps >= CTL_STEPS_MAX || !parse_u64(t, &p) || p > 100)
				return VANE_EINVAL;
			v->steps[v->nsteps++] = (uint8_t)p;
		}
		return v->nsteps ? 0 : VANE_EINVAL;
	}
	case CA_NAME:
		return dname_from_str(s, NULL, buf) > 0 ? 0 : VANE_EINVAL;
	case CA_TYPE: {
		int t = dns_type_from_name(s);
		v->u = (uint64_t)t;
		return t > 0 && t <= 65535 ? 0 : VANE_EINVAL;
	}
	case CA_ADDR: {
		uint8_t a[16];
		return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1 ? 0
										      : VANE_EINVAL;
	}
	case CA_PREFIX: {
		char addr[64];
		uint8_t a[16];
		const char *slash = strchr(s, '/');
		size_t n = slash ? (size_t)(slash - s) : strlen(s);
		if (n >= sizeof(addr))
			return VANE_EINVAL;
		memcpy(addr, s, n);
		addr[n] = '\0';
		unsigned max = inet_pton(AF_INET, addr, a) == 1 ? 32
			       : inet_pton(AF_INET6, addr, a) == 1 ? 128 : 0;
		if (max == 0)
			return VANE_EINVAL;
		if (slash && (!parse_u64(slash + 1, &v->u) || v->u > max))
			return VANE_EINVAL;
		return 0;
	}
	}
	return VANE_EINVAL;
}

static const char *const what[] = {
	[CA_STR] = "a word", [CA_KEY] = "SERVICE/ENDPOINT", [CA_UINT] = "a non-negative integer",
	[CA_DURATION] = "a duration like 60s", [CA_STEPS] = "percentages like 5,25,50,100",
	[CA_NAME] = "a domain name", [CA_TYPE] = "a record type", [CA_ADDR] = "an IP address",
	[CA_PREFIX] = "ADDRESS/PREFIX", [CA_RTT] = "milliseconds", [CA_FILE] = "a path",
	[CA_FLAG] = "true or false",
};

int ctl_parse(const struct ctl_cmd *cmd, int argc, char **argv, struct ctl_args *out,
	      char *err, size_t errsize)
{
	char usage[256];
	memset(out, 0, sizeof(*out));
	out->cmd = cmd;
	unsigned pos = 0;   /* next positional argument */
	for (int i = 1; i < argc; i++) {
		const char *w = argv[i];
		int k = -1;
		for (int j = 0; j < CTL_ARGS_MAX && cmd->args[j].name; j++)
			if (cmd->args[j].flag && strcmp(cmd->args[j].flag, w) == 0)
				k = j;
		if (k >= 0 && cmd->args[k].type == CA_FLAG) {
			w = "true";   /* a bare option takes no word */
		} else if (k >= 0) {
			if (++i >= argc)
				goto usage;
			w = argv[i];
		} else {
			while (pos < CTL_ARGS_MAX && cmd->args[pos].name &&
			       (cmd->args[pos].flag || (out->v[pos].set && !cmd->args[pos].repeat)))
				pos++;
			if (pos >= CTL_ARGS_MAX || cmd->args[pos].name == NULL)
				goto usage;
			k = (int)pos;
		}
		const struct ctl_arg *a = &cmd->args[k];
		struct ctl_val *v = &out->v[k];
		if (a->repeat) {
			if (v->rest == NULL)
				v->rest = &argv[i];
			v->nrest++;
		}
		if (ctl_value(a->type, w, v) != 0) {
			char ph[32];
			snprintf(err, errsize, "bad %s %s: want %s", placeholder(a, ph, sizeof(ph)), w,
				 what[a->type]);
			return VANE_EINVAL;
		}
	}
	for (int j = 0; j < CTL_ARGS_MAX && cmd->args[j].name; j++)
		if (!cmd->args[j].optional && !out->v[j].set)
			goto usage;
	return 0;
usage:
	snprintf(err, errsize, "%s", ctl_usage(cmd, usage, sizeof(usage)));
	return VANE_EINVAL;
}

/* ---- errors: the one mapping ---- */

enum ctl_status ctl_status_of(int vane_err)
{
	switch (vane_err) {
	case 0: return CTL_OK;
	case VANE_ENOENT: return CTL_NOT_FOUND;
	case VANE_EINVAL: case VANE_ESYNTAX: case VANE_ERANGE: case VANE_ENAMELEN:
	case VANE_ESEMANTIC:
		return CTL_BAD_INPUT;
	case VANE_EBUSY: case VANE_EEXIST: return CTL_CONFLICT;
	case VANE_EAGAIN: return CTL_UNAVAILABLE;
	default: return CTL_INTERNAL;
	}
}

static const struct {
	const char *name;
	unsigned http;
	int exit;
} statuses[CTL_STATUS_COUNT] = {
	/* vanectl: 1 for anything the server refused, 3 when it cannot
	 * act now (stopping), so scripts can retry on 3 only. */
	[CTL_OK] = { "ok", 200, 0 },
	[CTL_NOT_FOUND] = { "not_found", 404, 1 },
	[CTL_BAD_INPUT] = { "bad_input", 400, 1 },
	[CTL_CONFLICT] = { "conflict", 409, 1 },
	[CTL_UNAVAILABLE] = { "unavailable", 503, 3 },
	[CTL_INTERNAL] = { "internal", 500, 1 },
};

const char *ctl_status_name(enum ctl_status st)
{
	return st < CTL_STATUS_COUNT ? statuses[st].name : "internal";
}

enum ctl_status ctl_status_from_name(const char *name)
{
	for (int i = 0; name && i < CTL_STATUS_COUNT; i++)
		if (strcmp(statuses[i].name, name) == 0)
			return (enum ctl_status)i;
	return CTL_INTERNAL;
}

unsigned ctl_http_status(enum ctl_status st)
{
	return st < CTL_STATUS_COUNT ? statuses[st].http : 500;
}

int ctl_exit_code(enum ctl_status st)
{
	return st < CTL_STATUS_COUNT ? statuses[st].exit : 1;
}

/* ---- documentation ---- */

static void md_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputc('\\', f);
		fputc(*s, f);
	}
}

int ctl_write_reference(void *file, const char *format)
{
	FILE *f = file;
	char usage[256];
	bool man = strcmp(format, "man") == 0;
	if (!man && strcmp(format, "md") != 0)
		return VANE_EINVAL;
	if (!man)
		fprintf(f, "| Command | vanectl | HTTP | Writes | What | Reply |\n"
			   "| --- | --- | --- | --- | --- | --- |\n");
	for (const struct ctl_cmd *c = ctl_cmds; c->help; c++) {
		const char *u = c->name ? ctl_usage(c, usage, sizeof(usage)) + 7 : "";
		if (man) {
			if (c->name == NULL)
				continue;
			fprintf(f, ".TP\n.B %s\n%s", u, c->help);
			if (c->route)
				fprintf(f, "  HTTP: %s %s%s%s", c->method, c->route,
					c->route2 ? " or " : "", c->route2 ? c->route2 : "");
			fputc('\n', f);
			continue;
		}
		fprintf(f, "| %s | ", c->name ? c->name : "—");
		if (c->name)
			fprintf(f, "`%s`", u);
		else
			fputs("—", f);
		fprintf(f, " | `%s %s`", c->method, c->route);
		if (c->route2)
			fprintf(f, ", `%s %s`", c->method, c->route2);
		fprintf(f, " | %s | ", c->writes ? "yes" : "no");
		md_escape(f, c->help);
		fputs(" | ", f);
		md_escape(f, c->reply);
		fputs(" |\n", f);
	}
	return 0;
}
