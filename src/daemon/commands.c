/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The handlers of the command table (ctl/cmd.c) for vaned: each takes the
 * parsed arguments, calls the layer that owns the state, and answers with
 * the encoded result or a typed error.  Loop thread only.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ctl/encode.h"
#include "ctl/metrics.h"
#include "daemon/plan_cmd.h"
#include "daemon/server.h"
#include "lib/dname.h"
#include "lib/rand.h"
#include "rt/clock.h"
#include "rt/log.h"
#include "serve/tcp.h"
#include "serve/udp.h"
#include "vane_version.h"

#define MAX_BLOCKS (1 + 64 * 64)

static void cmd_status(void *ctx, struct ctl_client *c, const struct ctl_args *a)
{
	struct server *srv = ctx;
	const struct vane_conf *boot = srv->boot_conf;
	const char *listen[64];
	unsigned nl = 0;
	for (; nl < boot->nlisten && nl < 64; nl++)
		listen[nl] = boot->listen[nl].text;
	struct ctl_status_info st = {
		.version = VANE_VERSION, .config = srv->conf_path, .pid = getpid(),
		.uptime_s = time(NULL) - srv->started, .zones = srv->snap->nzones,
		.zones_serving = srv->snap->nserving, .zones_failed = srv->snap->nfailed,
		.udp_workers = boot->udp_workers, .tcp_clients = tcp_client_count(srv->tcp),
		.listen = listen, .nlisten = nl,
	};
	ctl_reply(c, encode_status(&st));
}

static void cmd_reload(void *ctx, struct ctl_client *c, const struct ctl_args *a)
{
	server_reload(ctx, c, a->v[0].set && a->v[0].u);
}

/* The serving zones as rows; NULL without memory (free both). */
static struct ctl_zone_row *zone_rows(struct server *srv, char (**names)[DNAME_MAXSTR])
{
	struct ctl_zone_row *rows = calloc(srv->snap->nzones + 1, sizeof(*rows));
	*names = calloc(srv->snap->nzones + 1, DNAME_MAXSTR);
	if (rows == NULL || *names == NULL) {
		free(rows);
		free(*names);
		*names = NULL;
		return NULL;
	}
	server_zone_rows(srv, rows, *names);
	return rows;
}

/* "example.com" or "example.com." names the zone "example.com.". */
static bool zone_named(const char *want, const char *fqdn)
{
	size_t wl = strlen(want);
	return strcasecmp(want, fqdn) == 0 ||
	       (wl + 1 == strlen(fqdn) && strncasecmp(want, fqdn, wl) == 0);
}

static void cmd_zone_status(void *ctx, struct ctl_client *c, const struct ctl_args *a)
{
	struct server *srv = ctx;
	char (*names)[DNAME_MAXSTR];
	struct ctl_zone_row *rows = zone_rows(srv, &names);
	if (rows == NULL) {
		ctl_fail(c, VANE_ENOMEM, "out of memory");
		return;
	}
	const struct ctl_val *want = &a->v[0];
	unsigned n = 0;
	for (unsigned i = 0; i < srv->snap->nzones; i++) {
		bool keep = !want->set;
		for (int k = 0; k < want->nrest && !keep; k++)
			keep = zone_named(want->rest[k], rows[i].name);
		if (keep)
			rows[n++] = rows[i];
	}
	if (want->set && n == 0)
		ctl_fail(c, VANE_ENOENT, "no such zone: %s", want->rest[0]);
	else
		ctl_reply(c, encode_zone_status_failed(encode_zone_status(rows, n), rows, n));
	free(rows);
	free(names);
}

static void cmd_stats(void *ctx, struct ctl_client *c, const struct ctl_args *a)
{
	struct server *srv = ctx;
	struct srv_stats *blocks[MAX_BLOCKS];
	unsigned n = server_stat_blocks(srv, blocks, MAX_BLOCKS);
	json_t *out = stats_to_json(blocks, n);
	if (out && stats_steer_json(out, blocks, n, &srv->view.cur->sv) != 0) {
		json_decref(out);
		out = NULL;
	}
	ctl_reply(c, out);
}

static void cmd_stop(void *ctx, struct ctl_client *c, const struct ctl_args *a)
{
	ctl_reply(c, json_object());
}

static void cmd_help(void *ctx, struct ctl_client *c, const struct ctl_args *a)
{
	char usage[256];
	json_t *cmds = json_array();
	for (const struct ctl_cmd *cmd = ctl_cmds; cmd->help; cmd++) {
		if (cmd->name == NULL)
			continue;
		json_array_append_new(cmds, json_pack("{s:s,s:s,s:b,s:s?,s:s?,s:s}", "name", cmd->name,
			"args", ctl_usage(cmd, usage, sizeof(usage)) + 7 + strlen(cmd->name),
			"writes", cmd->writes, "method", cmd->method, "route", cmd->route,
			"help", cmd->help));
	}
	ctl_reply(c, json_pack("{s:o}", "commands", cmds));
}

/* ---- steering ---- */

/* The endpoint named by argument 0, or a not_found reply. */
static bool find_ep(struct server *srv, struct ctl_client *c, const struct ctl_args *a,
		    uint32_t *s, uint32_t *e, char *key)
{
	if (ops_find(srv->ops, a->v[0].str, s, e, key) == 0)
		return true;
	ctl_fail(c, VANE_ENOENT, "no such service/endpoint: %s", a->v[0].str);
	return false;
}

static void reply_ep(struct server *srv, struct ctl_client *c, uint32_t s, uint32_t e,
		     const char *key, bool changed)
{
	struct ops_ep_view v;
	ops_endpoint_view(srv->ops, s, e, rt_now_ms(), &v);
	json_t *res = json_pack("{s:s,s:b}", "key", key, "changed", changed);
	/* A change that waits for etcd says so until reconciled. */
	if (res && srv->fleet && fleet_is_local(srv->fleet, s, e))
		json_object_set_new(res, "local", json_true());
	if (res)
		json_object_set_new(res, "endpoint", encode_endpoint(&v));
	ctl_reply(c, res);
}

/* ramp: --steps and --every start a ramp, --resume (alone) continues the
 * one health aborted. */
static int ramp(struct server *srv, const struct ctl_args *a, uint32_t s, uint32_t e,
		bool *changed, char *err, size_t errsize)
{
	bool steps = a->v[1].set, every = a->v[2].set, resume = a->v[3].set;
	if (resume && (steps || every)) {
		snprintf(err, errsize, "--resume continues the aborted ramp as it was: "
			 "no --steps or --every with it");
		return VANE_EINVAL;
	}
	if (resume)
		return ops_ramp_resume(srv->ops, s, e, changed, err, errsize);
	if (!steps || !every) {
		snprintf(err, errsize, "ramp needs --steps and --every, or --resume");
		return VANE_EINVAL;
	}
	return ops_ramp(srv->ops, s, e, a->v[1].steps, a->v[1].nsteps, a->v[2].u, changed, err,
			errsize);
}

struct verb_call {
	struct server *srv;
	const struct ctl_args *a;
};

/* The verb of `cmd_endpoint` on the working state (fleet_verb_fn). */
static int endpoint_verb(void *arg, uint32_t s, uint32_t e, bool *changed, char *err,
			 size_t errsize)
{
	struct verb_call *v = arg;
	struct server *srv = v->srv;
	const struct ctl_args *a = v->a;
	int ret;
	switch (a->cmd->id) {
	case CMD_DRAIN: return ops_drain(srv->ops, s, e, true, changed);
	case CMD_UNDRAIN: return ops_drain(srv->ops, s, e, false, changed);
	case CMD_WEIGHT:
		ret = a->v[1].u > STEER_WEIGHT_MAX ? VANE_EINVAL
			: ops_weight(srv->ops, s, e, (uint32_t)a->v[1].u, changed);
		if (ret != 0)
			snprintf(err, errsize, "bad weight %s: want 0..%u", a->v[1].str,
				 STEER_WEIGHT_MAX);
		return ret;
	case CMD_LOAD:
		ret = a->v[1].u > UINT32_MAX ? VANE_EINVAL
			: ops_load(srv->ops, s, e, (uint32_t)a->v[1].u, changed);
		if (ret != 0)
			snprintf(err, errsize, "bad load %s", a->v[1].str);
		return ret;
	case CMD_RAMP:
		return ramp(srv, a, s, e, changed, err, errsize);
	default: return VANE_ENOTSUP;
	}
}

/* The --local flag of a verb (wherever the table put it). */
static bool local_flag(const struct ctl_args *a)
{
	for (int i = 0; i < CTL_ARGS_MAX && a->cmd->args[i].name; i++)
		if (strcmp(a->cmd->args[i].name, "local") == 0)
			return a->v[i].set;
	return false;
}

/* Persist, then reply (the last step of a verb, alone or in a fleet). */
static void endpoint_reply(struct server *srv, struct ctl_client *c, const char *key, int ret,
			   bool changed, const char *why)
{
	char err[OPS_ERR_MAX] = "";
	uint32_t s, e;
	char canon[LIVE_KEY_MAX];
	snprintf(err, sizeof(err), "%s", why ? why : "");
	/* Durable before acknowledged: kill -9 after the reply keeps it. */
	if (ret == 0 && changed)
		ret = ops_persist_now(srv->ops, err, sizeof(err));
	if (ret == 0 && ops_find(srv->ops, key, &s, &e, canon) != 0)
		ret = VANE_ENOENT;
	if (ret != 0)
		ctl_fail(c, ret, "%s", err[0] ? err : vane_strerror(ret));
	else
		reply_ep(srv, c, s, e, canon, changed);
}

/* A verb waiting for etcd: its arguments outlive the command's argv. */
struct endpoint_write {
	struct server *srv;
	struct ctl_client *c;            /* NULL once the client went away */
	struct ctl_args a;
	struct verb_call call;
	char key[LIVE_KEY_MAX];
};

static void endpoint_write_free(struct endpoint_write *w)
{
	for (int i = 0; i < CTL_ARGS_MAX; i++)
		free((char *)w->a.v[i].str);
	free(w);
}

static void endpoint_write_gone(struct ctl_client *c)
{
	struct endpoint_write *w = c->pending;
	w->c = NULL;
}

static int endpoint_write_verb(void *arg, uint32_t s, uint32_t e, bool *changed, char *err,
			       size_t errsize)
{
	struct endpoint_write *w = arg;
	return endpoint_verb(&w->call, s, e, changed, err, errsize);
}

static void endpoint_written(void *arg, int ret, bool changed, bool was_local, const char *err)
{
	struct endpoint_write *w = arg;
	struct server *srv = w->srv;
	if (w->c) {
		w->c->on_gone = NULL;
		w->c->pending = NULL;
		/* Stopping: the sockets are closing under their clients. */
		if (!srv->stopping)
			endpoint_reply(srv, w->c, w->key, ret, changed, err);
	} else if (ret == 0 && changed) {
		char perr[OPS_ERR_MAX];
		if (ops_persist_now(srv->ops, perr, sizeof(perr)) != 0)
			log_error("state: %s", perr);
	}
	endpoint_write_free(w);
}

/* In a fleet: the change goes through etcd first, off the loop. */
static void endpoint_via_fleet(struct server *srv, struct ctl_client *c,
			       const struct ctl_args *a, const char *key)
{
	struct endpoint_write *w = calloc(1, sizeof(*w));
	bool nomem = w == NULL;
	if (w) {
		w->srv = srv;
		w->c = c;
		w->a = *a;
		for (int i = 0; i < CTL_ARGS_MAX; i++) {
			w->a.v[i].rest = NULL;
			w->a.v[i].nrest = 0;
			if (a->v[i].str && (w->a.v[i].str = strdup(a->v[i].str)) == NULL)
				nomem = true;
		}
		w->call = (struct verb_call){ .srv = srv, .a = &w->a };
		snprintf(w->key, sizeof(w->key), "%s", key);
	}
	if (nomem || fleet_change(srv->fleet, key, local_flag(a), endpoint_write_verb,
				  endpoint_written, w) != 0) {
		if (w)
			endpoint_write_free(w);
		ctl_fail(c, VANE_ENOMEM, "out of memory");
		return;
	}
	c->pending = w;
	c->on_gone = endpoint_write_gone;
}

static void cmd_endpoint(void *ctx, struct ctl_client *c, const struct ctl_args *a)
{
	struct server *srv = ctx;
	char key[LIVE_KEY_MAX], err[OPS_ERR_MAX] = "";
	uint32_t s, e;
	bool changed = false;
	if (!find_ep(srv, c, a, &s, &e, key))
		return;
	if (srv->fleet) {
		endpoint_via_fleet(srv, c, a, key);
		return;
	}
	struct verb_call call = { .srv = srv, .a = a };
	int ret = endpoint_verb(&call, s, e, &changed, err, sizeof(err));
	endpoint_reply(srv, c, key, ret, changed, err);
}

static void cmd_cluster(void *ctx, struct ctl_client *c, const struct ctl_args *a)
{
	struct server *srv = ctx;
	if (srv->fleet == NULL) {
		ctl_reply(c, json_pack("{s:b}", "cluster", 0));
		return;
	}
	ctl_reply(c, fleet_status_json(srv->fleet));
}

static void cmd_health(void *ctx, struct ctl_client *c, const struct ctl_args *a)
{
	struct server *srv = ctx;
	ctl_reply(c, encode_health(srv->ops, rt_now_ms()));
}

static void cmd_latency(void *ctx, struct ctl_client *c, const struct ctl_args *a)
{
	struct server *srv = ctx;
	char err[OPS_ERR_MAX] = "";
	uint64_t cells = 0;
	int ret = a->cmd->id == CMD_LATENCY_LOAD
		? ops_latency_load(srv->ops, a->v[0].str, &cells, err, sizeof(err))
		: ops_latency_set(srv->ops, a->v[0].str, a->v[1].str, a->v[2].str,
				  (uint32_t)a->v[3].u, &cells, err, sizeof(err));
	if (ret == 0)
		ret = ops_persist_now(srv->ops, err, sizeof(err));
	if (ret != 0)
		ctl_fail(c, ret, "%s", err[0] ? err : vane_strerror(ret));
	else
		ctl_reply(c, json_pack("{s:I}", "cells", (json_int_t)cells));
}

/* "192.0.2.0/24", "2001:db8::/56" or a bare address (full prefix); the
 * command table checked the syntax. */
static void ecs_from(const char *s, struct dns_ecs *ecs)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	snprintf(addr, sizeof(addr), "%.*s", (int)n, s);
	memset(ecs, 0, sizeof(*ecs));
	unsigned max = 32;
	if (inet_pton(AF_INET, addr, ecs->addr) == 1) {
		ecs->family = 1;
	} else {
		(void)inet_pton(AF_INET6, addr, ecs->addr);
		ecs->family = 2;
		max = 128;
	}
	unsigned prefix = slash ? (unsigned)strtoul(slash + 1, NULL, 10) : max;
	/* RFC 7871 6: bits past the source prefix must be zero. */
	for (unsigned b = prefix; b < max; b++)
		ecs->addr[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
	ecs->source = (uint8_t)prefix;
	ecs->present = true;
}

/* The explain reply, with the operator rows of the explained service. */
static void explain_reply(struct server *srv, struct ctl_client *c, const struct serve_explain *x)
{
	/* ~80 KB: on the heap, not the loop thread's stack. */
	struct ops_ep_view *rows = calloc(STEER_MAX_ENDPOINTS, sizeof(*rows));
	unsigned n = 0;
	uint32_t svc = 0;
	uint64_t now = rt_now_ms();
	if (rows == NULL) {
		ctl_fail(c, VANE_ENOMEM, "out of memory");
		return;
	}
	for (uint32_t s = 0; x->svc && s < ops_services(srv->ops) && n == 0; s++) {
		/* By name: a reload may have put the view on a newer set. */
		const struct steer_service *os = &srv->ops->lay->set->svc[s];
		if (os->name_len != x->svc->name_len || memcmp(os->name, x->svc->name, os->name_len))
			continue;
		for (uint32_t e = 0; e < ops_endpoints(srv->ops, s) && n < STEER_MAX_ENDPOINTS; e++)
			ops_endpoint_view(srv->ops, s, e, now, &rows[n++]);
		svc = s;
	}
	json_t *reply = encode_explain(x, rows, n, now);
	/* In a fleet, the votes behind each endpoint's health. */
	if (reply && srv->fleet && n > 0)
		fleet_explain(srv->fleet, svc, reply);
	ctl_reply(c, reply);
	free(rows);
}

static void cmd_explain(void *ctx, struct ctl_client *c, const struct ctl_args *a)
{
	struct server *srv = ctx;
	uint8_t qname[DNAME_MAXLEN];
	if (dname_from_str(a->v[0].str, NULL, qname) <= 0) {
		ctl_fail(c, VANE_EINVAL, "bad name: %s", a->v[0].str);
		return;
	}
	struct sockaddr_storage src;
	memset(&src, 0, sizeof(src));
	struct sockaddr_in *s4 = (struct sockaddr_in *)&src;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&src;
	if (inet_pton(AF_INET, a->v[2].str, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(53);
	} else if (inet_pton(AF_INET6, a->v[2].str, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(53);
	}
	struct dns_ecs ecs = { 0 };
	if (a->v[3].set)
		ecs_from(a->v[3].str, &ecs);
	struct serve_explain *x = malloc(sizeof(*x));
	if (x == NULL) {
		ctl_fail(c, VANE_ENOMEM, "out of memory");
		return;
	}
	uint64_t rnd;
	rt_random(&rnd, sizeof(rnd));
	if (serve_explain(&srv->view.cur->sv, qname, (uint16_t)a->v[1].u, (struct sockaddr *)&src,
			  &ecs, rt_now_ms(), rnd, x) != 0)
		ctl_fail(c, VANE_EINVAL, "the query was dropped");
	else
		explain_reply(srv, c, x);
	free(x);
}

/* ---- HTTP only ---- */

/* Health rows grouped by service, with answers and shares since start. */
static void cmd_services(void *ctx, struct ctl_client *c, const struct ctl_args *a)
{
	struct server *srv = ctx;
	struct srv_stats *blocks[MAX_BLOCKS];
	unsigned n = server_stat_blocks(srv, blocks, MAX_BLOCKS);
	struct stats_steer_sum *sum = malloc(sizeof(*sum));
	if (sum == NULL) {
		ctl_fail(c, VANE_ENOMEM, "out of memory");
		return;
	}
	stats_steer_sum(sum, blocks, n);
	const struct serve_stat_slots *slots = srv->snap->stat_slots;
	uint64_t now = rt_now_ms();
	json_t *out = json_array();
	struct ops_ep_view v;
	for (uint32_t s = 0; s < ops_services(srv->ops); s++) {
		const struct serve_stat_slots *sl = &slots[s];
		bool counted = sl->svc != SERVE_NO_SLOT;
		uint64_t total = 0;
		for (uint32_t e = 0; counted && e < ops_endpoints(srv->ops, s); e++)
			total += sum->answers[sl->svc][sl->ep[e]];
		json_t *eps = json_array();
		for (uint32_t e = 0; e < ops_endpoints(srv->ops, s); e++) {
			ops_endpoint_view(srv->ops, s, e, now, &v);
			uint64_t ans = counted ? sum->answers[sl->svc][sl->ep[e]] : 0;
			json_t *row = encode_endpoint(&v);
			json_object_set_new(row, "answers", json_integer((json_int_t)ans));
			json_object_set_new(row, "share", json_real(total ? (double)ans / (double)total
									  : 0.0));
			json_array_append_new(eps, row);
		}
		ops_endpoint_view(srv->ops, s, 0, now, &v);
		json_array_append_new(out, json_pack("{s:s,s:I,s:I,s:o}", "name", v.service,
			"answers", (json_int_t)(counted ? sum->steered[sl->svc] : 0),
			"fallbacks", (json_int_t)(counted ? sum->fallbacks[sl->svc] : 0),
			"endpoints", eps));
	}
	free(sum);
	ctl_reply(c, json_pack("{s:I,s:o}", "now", (json_int_t)now, "services", out));
}

static void cmd_events(void *ctx, struct ctl_client *c, const struct ctl_args *a)
{
	struct server *srv = ctx;
	ctl_reply(c, encode_events(srv->ops->events, a->v[0].set ? a->v[0].u : 0, 0));
}

/* The vane_provider_* lines after the rest (provider/status.c). */
static char *with_provider_metrics(struct server *srv, char *text)
{
	if (!text || !srv->providers)
		return text;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return text;
	fputs(text, f);
	provider_metrics(srv->providers, f);
	if (fclose(f) != 0) {
		free(buf);
		return text;
	}
	free(text);
	return buf;
}

static void cmd_providers(void *ctx, struct ctl_client *c, const struct ctl_args *a)
{
	struct server *srv = ctx;
	const char *view = a->v[0].set ? a->v[0].str : NULL;
	if (view && strcmp(view, "plan") != 0) {
		ctl_fail(c, VANE_EINVAL, "providers: unknown view \"%s\" (plan or none)", view);
		return;
	}
	if (view)
		ctl_reply(c, provider_plan_json(srv->snap->conf));
	else
		ctl_reply(c, provider_status_json(srv->providers));
}

static void cmd_metrics(void *ctx, struct ctl_client *c, const struct ctl_args *a)
{
	struct server *srv = ctx;
	struct srv_stats *blocks[MAX_BLOCKS];
	struct anycast_status ac;
	anycast_get_status(srv->anycast, &ac);
	char (*names)[DNAME_MAXSTR];
	struct ctl_zone_row *rows = zone_rows(srv, &names);
	if (rows == NULL) {
		ctl_fail(c, VANE_ENOMEM, "out of memory");
		return;
	}
	struct ctl_metrics_in in = {
		.started = srv->started, .blocks = blocks,
		.nblocks = server_stat_blocks(srv, blocks, MAX_BLOCKS),
		.view = &srv->view.cur->sv, .ops = srv->ops, .zones = rows,
		.nzones = srv->snap->nzones, .tcp_clients = tcp_client_count(srv->tcp),
		.anycast = &ac,
		.tcp = srv->tcp ? tcp_counters(srv->tcp) : NULL,
		.tcp_buffer_bytes = tcp_buffer_bytes(srv->tcp),
	};
	char *text = metrics_render(&in);
	if (srv->fleet)
		text = fleet_metrics_append(srv->fleet, text);
	ctl_reply_text(c, with_provider_metrics(srv, text));
	free(rows);
	free(names);
}

static void cmd_anycast(void *ctx, struct ctl_client *c, const struct ctl_args *a)
{
	struct server *srv = ctx;
	struct anycast_status st;
	anycast_get_status(srv->anycast, &st);
	ctl_reply(c, encode_anycast(&st));
}

void server_commands(struct server *srv)
{
	ctl_handler *fn = srv->host.fn;
	srv->host.ctx = srv;
	fn[CMD_STATUS] = cmd_status;
	fn[CMD_RELOAD] = cmd_reload;
	fn[CMD_ZONE_STATUS] = cmd_zone_status;
	fn[CMD_STATS] = cmd_stats;
	fn[CMD_DRAIN] = fn[CMD_UNDRAIN] = fn[CMD_WEIGHT] = fn[CMD_RAMP] = fn[CMD_LOAD] = cmd_endpoint;
	fn[CMD_HEALTH] = cmd_health;
	fn[CMD_CLUSTER] = cmd_cluster;
	fn[CMD_PROVIDERS] = cmd_providers;
	fn[CMD_EXPLAIN] = cmd_explain;
	fn[CMD_LATENCY] = fn[CMD_LATENCY_LOAD] = cmd_latency;
	fn[CMD_STOP] = cmd_stop;
	fn[CMD_HELP] = cmd_help;
	fn[CMD_SERVICES] = cmd_services;
	fn[CMD_EVENTS] = cmd_events;
	fn[CMD_METRICS] = cmd_metrics;
	fn[CMD_ANYCAST] = cmd_anycast;
	fn[CMD_PLAN_CHANGE] = cmd_plan_change;
}
