/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * vane-resolver's control socket: vaned's line protocol (one line
 * `VERB ARGS`, one JSON object back, close), so vanectl works unchanged.
 * Verbs: status, stats, flush NAME|all, cache-dump, reload, stop, and
 * `time +N` under fake-time.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "resolverd/rserver_int.h"
#include "rt/log.h"

#define LINE_MAX_LEN 4096

struct rctl {
	uv_pipe_t pipe;
	char *path;
};

struct rctl_client {
	uv_pipe_t h;
	struct resolverd *r;
	uv_write_t wreq;
	char *out;
	size_t len;
	bool stop_after;
	char line[LINE_MAX_LEN];
};

static json_t *err_reply(const char *msg)
{
	return json_pack("{s:b,s:s}", "ok", 0, "error", msg);
}

static json_t *cmd_stats(struct resolverd *r, int argc, char **argv)
{
	struct cache_stats cs;
	cache_stats(r->core.cache, &cs);
	return json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
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

static json_t *cmd_reload(struct resolverd *r, int argc, char **argv)
{
	struct resolver_conf *nc;
	if (resolver_conf_load(r->conf_path, NULL, NULL, &nc) != 0)
		return err_reply("configuration has errors; see the log");
	/* TTL and cache knobs apply now; listeners and workers need a restart. */
	struct cache_conf cc;
	resolver_cache_conf(nc, 0, &cc);   /* the hash seed stays (cache_new only) */
	cache_set_conf(r->core.cache, &cc);
	r->conf->min_ttl_ms = nc->min_ttl_ms;
	r->conf->max_ttl_ms = nc->max_ttl_ms;
	r->conf->neg_max_ttl_ms = nc->neg_max_ttl_ms;
	r->conf->serve_stale = nc->serve_stale;
	r->conf->prefetch = nc->prefetch;
	r->conf->qname_min = nc->qname_min;
	r->conf->max_upstream = nc->max_upstream;
	resolver_conf_free(nc);
	return json_pack("{s:b}", "ok", 1);
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

static void client_closed(uv_handle_t *h)
{
	struct rctl_client *c = h->data;
	free(c->out);
	free(c);
}

static void written(uv_write_t *w, int status)
{
	struct rctl_client *c = w->data;
	struct resolverd *r = c->r;
	bool stop = c->stop_after;
	uv_close((uv_handle_t *)&c->h, client_closed);
	if (stop)
		resolver_stop(r);
}

static void reply(struct rctl_client *c, json_t *res)
{
	c->out = json_dumps(res, JSON_COMPACT);
	json_decref(res);
	if (!c->out) {
		uv_close((uv_handle_t *)&c->h, client_closed);
		return;
	}
	size_t n = strlen(c->out);
	c->out[n] = '\0';
	char *p = realloc(c->out, n + 2);
	if (p) {
		c->out = p;
		strcpy(c->out + n, "\n");
		n++;
	}
	uv_buf_t b = uv_buf_init(c->out, (unsigned)n);
	c->wreq.data = c;
	if (uv_write(&c->wreq, (uv_stream_t *)&c->h, &b, 1, written) != 0)
		uv_close((uv_handle_t *)&c->h, client_closed);
}

static void dispatch(struct rctl_client *c)
{
	char *argv[16];
	int argc = 0;
	for (char *s = strtok(c->line, " \t\r\n"); s && argc < 16; s = strtok(NULL, " \t\r\n"))
		argv[argc++] = s;
	if (argc == 0) {
		reply(c, err_reply("empty command"));
		return;
	}
	if (strcmp(argv[0], "stop") == 0) {
		c->stop_after = true;
		reply(c, json_pack("{s:b}", "ok", 1));
		return;
	}
	for (unsigned i = 0; verbs[i].name; i++)
		if (strcmp(verbs[i].name, argv[0]) == 0) {
			reply(c, verbs[i].fn(c->r, argc, argv));
			return;
		}
	reply(c, err_reply("unknown command"));
}

static void alloc_cb(uv_handle_t *h, size_t sz, uv_buf_t *buf)
{
	struct rctl_client *c = h->data;
	size_t used = c->len;
	*buf = uv_buf_init(c->line + used, (unsigned)(LINE_MAX_LEN - 1 - used));
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct rctl_client *c = s->data;
	if (n < 0) {
		uv_close((uv_handle_t *)&c->h, client_closed);
		return;
	}
	c->len += (size_t)n;
	c->line[c->len] = '\0';
	if (strchr(c->line, '\n') || c->len >= LINE_MAX_LEN - 1) {
		uv_read_stop(s);
		dispatch(c);
	}
}

static void on_conn(uv_stream_t *srv, int status)
{
	struct resolverd *r = srv->data;
	if (status < 0)
		return;
	struct rctl_client *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->r = r;
	uv_pipe_init(&r->loop, &c->h, 0);
	c->h.data = c;
	if (uv_accept(srv, (uv_stream_t *)&c->h) != 0) {
		uv_close((uv_handle_t *)&c->h, client_closed);
		return;
	}
	uv_read_start((uv_stream_t *)&c->h, alloc_cb, read_cb);
}

static void make_parent(const char *path)
{
	char *dir = strdup(path);
	if (!dir)
		return;
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(dir, 0755);
		*p = '/';
	}
	free(dir);
}

int rctl_start(struct resolverd *r, const char *path)
{
	struct rctl *ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return VANE_ENOMEM;
	ctl->path = strdup(path);
	make_parent(path);
	unlink(path);
	uv_pipe_init(&r->loop, &ctl->pipe, 0);
	ctl->pipe.data = r;
	int ret = uv_pipe_bind(&ctl->pipe, path);
	if (ret == 0)
		ret = uv_listen((uv_stream_t *)&ctl->pipe, 16, on_conn);
	r->ctl = ctl;
	if (ret != 0) {
		log_error("control socket %s: %s", path, uv_strerror(ret));
		return VANE_EINVAL;
	}
	return 0;
}

void rctl_close(struct resolverd *r)
{
	if (!r->ctl)
		return;
	uv_close((uv_handle_t *)&r->ctl->pipe, NULL);
	unlink(r->ctl->path);
}
