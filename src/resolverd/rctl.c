/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * vane-resolver's control socket: vaned's line protocol (one line
 * `VERB ARGS`, one JSON object back, close), so vanectl works unchanged.
 * Verbs: status, stats, flush NAME|all, cache-dump, reload, stop, and
 * `time +N` under fake-time.  The socket itself is rt/ctlsock's (it never
 * unlinks a socket a live process answers on).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "resolverd/rserver_int.h"
#include "rt/ctlsock.h"
#include "rt/log.h"

static json_t *err_reply(const char *msg)
{
	return json_pack("{s:b,s:s}", "ok", 0, "error", msg);
}

static json_t *cmd_stats(struct resolverd *r, int argc, char **argv)
{
	struct cache_stats cs;
	cache_stats(r->core.cache, &cs);
	return json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
		"ok", 1,
		"queries", (json_int_t)r->core.st.queries,
		"hits", (json_int_t)r->core.st.cache_hits,
		"misses", (json_int_t)r->core.st.cache_misses,
		"upstream_queries", (json_int_t)r->core.st.upstream_queries,
		"upstream_timeouts", (json_int_t)r->core.st.upstream_timeouts,
		"upstream_tcp", (json_int_t)r->core.st.upstream_tcp,
		"resolutions", (json_int_t)r->core.st.resolutions,
		"servfail", (json_int_t)r->core.st.servfail,
		"refused", (json_int_t)r->core.st.refused,
		"stale_answers", (json_int_t)r->core.st.stale_answers,
		"prefetches", (json_int_t)r->core.st.prefetches,
		"merged", (json_int_t)r->core.st.merged,
		"cache_entries", (json_int_t)cs.entries,
		"cache_bytes", (json_int_t)cs.bytes,
		"cache_max_bytes", (json_int_t)cs.max_bytes,
		"cache_evictions", (json_int_t)cs.evictions);
}

static json_t *cmd_flush(struct resolverd *r, int argc, char **argv)
{
	uint8_t name[DNAME_MAXLEN];
	if (argc != 2)
		return err_reply("usage: flush NAME|all");
	if (strcmp(argv[1], "all") == 0)
		return json_pack("{s:b,s:I}", "ok", 1, "removed",
				 (json_int_t)cache_flush(r->core.cache, NULL, true));
	if (dname_from_str(argv[1], NULL, name) < 0)
		return err_reply("invalid name");
	dname_lower(name);
	return json_pack("{s:b,s:I}", "ok", 1, "removed",
			 (json_int_t)cache_flush(r->core.cache, name, true));
}

static const char *kind_names[] = { "positive", "nxdomain", "nodata", "delegation" };

static int dump_one(const struct cache_info *ci, void *ctx)
{
	char name[DNAME_MAXSTR];
	json_t *e = json_pack("{s:s,s:i,s:s,s:i,s:I,s:I,s:i,s:i,s:i,s:i,s:I}",
		"name", dname_to_str(ci->name, name, sizeof(name)),
		"type", (int)ci->qtype,
		"kind", ci->kind < 4 ? kind_names[ci->kind] : "?",
		"rcode", (int)ci->rcode,
		"ttl", (json_int_t)ci->ttl,
		"orig_ttl", (json_int_t)ci->orig_ttl,
		"hits", (int)ci->hits,
		"scope", (int)ci->scope.bits,
		"ancount", (int)ci->ancount,
		"nscount", (int)ci->nscount,
		"bytes", (json_int_t)ci->bytes);
	json_array_append_new(ctx, e);
	return 0;
}

static json_t *cmd_dump(struct resolverd *r, int argc, char **argv)
{
	json_t *list = json_array();
	(void)cache_dump(r->core.cache, resolver_now(&r->core), dump_one, list);
	return json_pack("{s:b,s:o}", "ok", 1, "entries", list);
}

static json_t *cmd_time(struct resolverd *r, int argc, char **argv)
{
	if (!r->conf->fake_time)
		return err_reply("time needs resolver.fake-time: true");
	if (argc != 2 || argv[1][0] != '+')
		return err_reply("usage: time +SECONDS");
	char *end;
	long long n = strtoll(argv[1] + 1, &end, 10);
	if (*end || n < 0)
		return err_reply("usage: time +SECONDS");
	atomic_fetch_add(&r->fake_offset, n);
	return json_pack("{s:b,s:I}", "ok", 1, "now", (json_int_t)resolver_now(&r->core));
}

/* Collects what a reload cannot apply, for the log and the reply. */
static void restart_key(void *ctx, const char *key)
{
	log_warning("%s changed; restart vane-resolver to apply it", key);
	json_array_append_new(ctx, json_string(key));
}

static json_t *cmd_reload(struct resolverd *r, int argc, char **argv)
{
	struct resolver_conf *nc;
	if (resolver_conf_load(r->conf_path, NULL, NULL, &nc) != 0)
		return err_reply("configuration has errors; see the log");
	/* TTL and cache knobs apply now; listeners and workers need a restart. */
	struct cache_conf cc;
	resolver_cache_conf(nc, 0, &cc);   /* the hash seed stays (cache_new only) */
	cache_set_conf(r->core.cache, &cc);
	/* Only the loop thread's copy changes: the workers keep reading the
	 * conf loaded at start, which nobody writes, and the one knob they
	 * use goes through an atomic. */
	r->loop_conf.min_ttl_ms = nc->min_ttl_ms;
	r->loop_conf.max_ttl_ms = nc->max_ttl_ms;
	r->loop_conf.neg_max_ttl_ms = nc->neg_max_ttl_ms;
	r->loop_conf.serve_stale = nc->serve_stale;
	r->loop_conf.prefetch = nc->prefetch;
	r->loop_conf.qname_min = nc->qname_min;
	r->loop_conf.max_upstream = nc->max_upstream;
	atomic_store_explicit(&r->prefetch, nc->prefetch, memory_order_relaxed);
	/* forward:, stub: and zones-ttl: were compiled at start (r->core.zones). */
	json_t *restart = json_array();
	resolver_conf_restart_changes(r->conf, nc, restart_key, restart);
	resolver_conf_free(nc);
	return json_pack("{s:b,s:o}", "ok", 1, "restart_needed", restart);
}

static json_t *cmd_status(struct resolverd *r, int argc, char **argv)
{
	return json_pack("{s:b,s:s,s:I,s:b}", "ok", 1, "program", "vane-resolver",
			 "pid", (json_int_t)getpid(), "fake_time", r->conf->fake_time);
}

static const struct {
	const char *name;
	json_t *(*fn)(struct resolverd *r, int argc, char **argv);
} verbs[] = {
	{ "status", cmd_status }, { "stats", cmd_stats }, { "flush", cmd_flush },
	{ "cache-dump", cmd_dump }, { "time", cmd_time }, { "reload", cmd_reload },
	{ NULL, NULL },
};

static void stop_written(void *arg)
{
	resolver_stop(arg);
}

/* Reply with `res` (consumed): one JSON line; then stop when asked to. */
static void reply(struct resolverd *r, struct rt_ctl_conn *c, json_t *res, bool stop_after)
{
	char *out = json_dumps(res, JSON_COMPACT);
	json_decref(res);
	rt_ctl_reply(c, out ? out : "{\"ok\":false,\"error\":\"out of memory\"}",
		     stop_after ? stop_written : NULL, r);
	free(out);
}

static void on_line(void *ctx, struct rt_ctl_conn *c, char *line)
{
	struct resolverd *r = ctx;
	char *argv[16];
	int argc = 0;
	for (char *s = strtok(line, " \t\r\n"); s && argc < 16; s = strtok(NULL, " \t\r\n"))
		argv[argc++] = s;
	if (argc == 0) {
		reply(r, c, err_reply("empty command"), false);
		return;
	}
	if (strcmp(argv[0], "stop") == 0) {
		reply(r, c, json_pack("{s:b}", "ok", 1), true);
		return;
	}
	for (unsigned i = 0; verbs[i].name; i++)
		if (strcmp(verbs[i].name, argv[0]) == 0) {
			reply(r, c, verbs[i].fn(r, argc, argv), false);
			return;
		}
	reply(r, c, err_reply("unknown command"), false);
}

static void on_gone(void *ctx, struct rt_ctl_conn *c)
{
	/* Every line is answered at once: nothing is kept per connection. */
}

int rctl_start(struct resolverd *r, const char *path)
{
	const struct rt_ctl_handlers h = { .ctx = r, .line = on_line, .gone = on_gone };
	/* rt_ctl_listen logs its errors. */
	return rt_ctl_listen(&r->loop, path, &h, &r->ctl) == 0 ? 0 : VANE_EINVAL;
}

void rctl_close(struct resolverd *r)
{
	if (r->ctl)
		rt_ctl_close(r->ctl);
}
