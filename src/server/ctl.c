/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "server/admin.h"
#include "server/ctl.h"
#include "server/health.h"
#include "server/log.h"
#include "server/server.h"
#include "server/tcp.h"
#include "server/udp.h"
#include "server/vane_version.h"

#define CTL_LINE_MAX 4096
#define CTL_ARGS_MAX 16
#define CTL_TIMEOUT_MS 10000  /* a client must send its line within this */

/* A control-socket connection; `cl` is its reply sink. */
struct ctl_conn {
	uv_pipe_t h;                 /* first */
	struct ctl_client cl;
	struct ctl_server *cs;
	struct ctl_conn *prev, *next;
	uv_timer_t timer;
	uv_write_t wreq;
	char *out;
	size_t len;
	bool closing;
	char line[CTL_LINE_MAX];
};

struct ctl_server {
	struct server *srv;
	uv_pipe_t pipe;
	char *path;
	struct ctl_conn *clients;
	bool listening;
	bool closing;
};

json_t *ctl_error(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return json_pack("{s:b,s:s}", "ok", 0, "error", buf);
}

static struct server *client_srv(struct ctl_client *c)
{
	return c->srv;
}

/* ---- commands ---- */

static json_t *cmd_status(struct ctl_client *c, int argc, char **argv)
{
	struct server *srv = client_srv(c);
	const struct vane_conf *boot = srv->boot_conf;
	json_t *listen = json_array();
	for (unsigned i = 0; i < boot->nlisten; i++)
		json_array_append_new(listen, json_string(boot->listen[i].text));
	const struct vane_snapshot *snap = srv->snap;
	return json_pack("{s:b,s:s,s:I,s:I,s:i,s:i,s:i,s:i,s:o,s:s,s:i}",
			 "ok", 1, "version", VANE_VERSION,
			 "pid", (json_int_t)getpid(),
			 "uptime_s", (json_int_t)(time(NULL) - srv->started),
			 "zones", (int)snap->nzones,
			 "zones_serving", (int)snap->nserving,
			 "zones_failed", (int)snap->nfailed,
			 "udp_workers", (int)boot->udp_workers,
			 "listen", listen,
			 "config", srv->conf_path,
			 "tcp_clients", (int)tcp_client_count(srv->tcp));
}

static void reload_done(struct reload_waiter *w, json_t *res)
{
	struct ctl_client *c = (struct ctl_client *)((char *)w - offsetof(struct ctl_client, waiter));
	ctl_reply(c, json_incref(res));
}

static json_t *cmd_reload(struct ctl_client *c, int argc, char **argv)
{
	c->waiter.done = reload_done;
	server_reload(client_srv(c), &c->waiter);
	return NULL;
}

static json_t *zone_status_entry(const struct zone_state *st)
{
	char name[DNAME_MAXSTR], ts[32];
	json_t *e = json_pack("{s:s,s:s,s:s,s:b}",
			      "name", server_zone_fqdn(st, name, sizeof(name)),
			      "file", st->file,
			      "status", st->status == ZS_FAILED ? "failed" : "ok",
			      "serving", st->zone != NULL);
	json_object_set_new(e, "error", st->error ? json_string(st->error) : json_null());
	if (st->zone) {
		log_iso8601(st->zone->loaded_at, ts, sizeof(ts));
		json_object_set_new(e, "serial", json_integer(st->zone->serial));
		json_object_set_new(e, "records", json_integer(st->zone->nrecords));
		json_object_set_new(e, "loaded_at", json_string(ts));
	} else {
		json_object_set_new(e, "serial", json_null());
		json_object_set_new(e, "records", json_null());
		json_object_set_new(e, "loaded_at", json_null());
	}
	return e;
}

static json_t *cmd_zone_status(struct ctl_client *c, int argc, char **argv)
{
	const struct vane_snapshot *snap = client_srv(c)->snap;
	json_t *zones = json_array();
	char name[DNAME_MAXSTR];
	for (unsigned i = 0; i < snap->nzones; i++) {
		const struct zone_state *st = &snap->zones[i];
		/* Optional filter: zone-status NAME... */
		bool want = argc <= 1;
		for (int a = 1; a < argc && !want; a++) {
			const char *fq = server_zone_fqdn(st, name, sizeof(name));
			size_t al = strlen(argv[a]);
			want = strcasecmp(argv[a], fq) == 0 ||
			       (al + 1 == strlen(fq) && strncasecmp(argv[a], fq, al) == 0);
		}
		if (want)
			json_array_append_new(zones, zone_status_entry(st));
	}
	if (argc > 1 && json_array_size(zones) == 0) {
		json_decref(zones);
		return ctl_error("no such zone: %s", argv[1]);
	}
	return json_pack("{s:b,s:o}", "ok", 1, "zones", zones);
}

static json_t *cmd_stats(struct ctl_client *c, int argc, char **argv)
{
	json_t *res = server_stats_json(client_srv(c));
	return res ? res : ctl_error("out of memory");
}

static json_t *cmd_stop(struct ctl_client *c, int argc, char **argv)
{
	c->stop_after = true;
	return json_pack("{s:b}", "ok", 1);
}

/* ---- steering: operator changes, health, explain, latency ---- */

static json_t *cmd_admin(struct ctl_client *c, int argc, char **argv)
{
	struct live_rt *rt = client_srv(c)->rt;
	if (rt == NULL)
		return ctl_error("steering runtime not running");
	return live_rt_admin(rt, argv[0], argc, argv);
}

static json_t *cmd_health(struct ctl_client *c, int argc, char **argv)
{
	struct live_rt *rt = client_srv(c)->rt;
	if (rt == NULL)
		return ctl_error("steering runtime not running");
	return live_rt_health_json(rt);
}

static json_t *cmd_explain(struct ctl_client *c, int argc, char **argv)
{
	return admin_explain(client_srv(c), argc, argv);
}

static json_t *cmd_latency(struct ctl_client *c, int argc, char **argv)
{
	struct live_rt *rt = client_srv(c)->rt;
	if (rt == NULL)
		return ctl_error("steering runtime not running");
	if (strcmp(argv[0], "latency-load") == 0) {
		if (argc != 2)
			return ctl_error("usage: latency-load FILE");
		return live_rt_latency_load(rt, argv[1]);
	}
	return live_rt_latency(rt, argc, argv);
}

static json_t *cmd_help(struct ctl_client *c, int argc, char **argv)
{
	json_t *cmds = json_array();
	for (const struct ctl_cmd *cmd = ctl_commands; cmd->name; cmd++)
		json_array_append_new(cmds, json_pack("{s:s,s:s,s:s}", "name", cmd->name,
						      "args", cmd->args, "help", cmd->help));
	return json_pack("{s:b,s:o}", "ok", 1, "commands", cmds);
}

const struct ctl_cmd ctl_commands[] = {
	{ "status", cmd_status, "", "Server version, uptime, zones, listeners." },
	{ "reload", cmd_reload, "",
	  "Reload the config and every zone; replies when done. Zones that fail keep serving "
	  "their old version." },
	{ "zone-status", cmd_zone_status, "[ZONE...]",
	  "Serial, records, load time and last load error of each zone." },
	{ "stats", cmd_stats, "", "Query counters by rcode, qtype and transport." },
	{ "drain", cmd_admin, "SERVICE/ENDPOINT", "Take an endpoint out of answers (health filter)." },
	{ "undrain", cmd_admin, "SERVICE/ENDPOINT", "Put a drained endpoint back." },
	{ "weight", cmd_admin, "SERVICE/ENDPOINT N", "Override an endpoint's weight." },
	{ "ramp", cmd_admin, "SERVICE/ENDPOINT --steps 5,25,50,100 --every 60s",
	  "Bring an endpoint back in weight steps; aborts to weight 0 if it fails health." },
	{ "load", cmd_admin, "SERVICE/ENDPOINT VALUE", "Push an endpoint's current load (shed)." },
	{ "health", cmd_health, "",
	  "Health and operator state of every endpoint: state, since, last error, weight, "
	  "drained, ramp step." },
	{ "explain", cmd_explain, "NAME TYPE --client IP [--ecs PREFIX]",
	  "Answer a query as from IP and show the steering decision trace." },
	{ "latency", cmd_latency, "SERVICE ENDPOINT CLIENT RTT_MS",
	  "Set one latency table cell (CLIENT: CIDR, country or continent)." },
	{ "latency-load", cmd_latency, "FILE", "Replace the latency table from a file." },
	{ "stop", cmd_stop, "", "Stop the server cleanly." },
	{ "help", cmd_help, "", "List the commands." },
	{ NULL, NULL, NULL, NULL },
};

/* ---- running a command for any sink ---- */

void ctl_reply(struct ctl_client *c, json_t *res)
{
	if (c->replied) {
		json_decref(res);
		return;
	}
	c->replied = true;
	if (res == NULL)
		res = ctl_error("out of memory");
	c->deliver(c, res);
}

void ctl_run(struct ctl_client *c, int argc, char **argv)
{
	if (argc == 0) {
		ctl_reply(c, ctl_error("empty command"));
		return;
	}
	for (const struct ctl_cmd *cmd = ctl_commands; cmd->name; cmd++) {
		if (strcmp(cmd->name, argv[0]) == 0) {
			log_debug("control: %s", argv[0]);
			json_t *res = cmd->fn(c, argc, argv);
			if (res)
				ctl_reply(c, res);
			return;
		}
	}
	ctl_reply(c, ctl_error("unknown command: %s", argv[0]));
}

void ctl_cancel(struct ctl_client *c)
{
	if (!c->replied)
		server_reload_cancel(c->srv, &c->waiter);
}

/* ---- connections ---- */

static void client_close_cb(uv_handle_t *h)
{
	struct ctl_conn *c = h->data;
	/* Two handles per client: free when the second one is closed. */
	if (h == (uv_handle_t *)&c->h) {
		free(c->out);
		free(c);
	} else {
		uv_close((uv_handle_t *)&c->h, client_close_cb);
	}
}

static void client_close(struct ctl_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	struct ctl_server *cs = c->cs;
	ctl_cancel(&c->cl);
	if (c->prev)
		c->prev->next = c->next;
	else
		cs->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	uv_close((uv_handle_t *)&c->timer, client_close_cb);
}

static void reply_written(uv_write_t *req, int status)
{
	struct ctl_conn *c = req->data;
	struct server *srv = c->cs->srv;
	bool stop = c->cl.stop_after;
	client_close(c);
	if (stop)
		server_stop(srv);
}

/* The unix socket sink: one JSON line, then close. */
static void conn_deliver(struct ctl_client *cl, json_t *res)
{
	struct ctl_conn *c = (struct ctl_conn *)((char *)cl - offsetof(struct ctl_conn, cl));
	if (c->closing) {
		json_decref(res);
		return;
	}
	char *s = json_dumps(res, JSON_COMPACT);
	json_decref(res);
	if (s == NULL) {
		client_close(c);
		return;
	}
	size_t n = strlen(s);
	c->out = malloc(n + 2);
	if (c->out == NULL) {
		free(s);
		client_close(c);
		return;
	}
	memcpy(c->out, s, n);
	c->out[n] = '\n';
	free(s);
	uv_timer_stop(&c->timer);
	uv_buf_t b = uv_buf_init(c->out, (unsigned)n + 1);
	c->wreq.data = c;
	if (uv_write(&c->wreq, (uv_stream_t *)&c->h, &b, 1, reply_written) < 0)
		client_close(c);
}

static void client_dispatch(struct ctl_conn *c)
{
	char *argv[CTL_ARGS_MAX];
	int argc = 0;
	char *save = NULL;
	for (char *tok = strtok_r(c->line, " \t\r", &save); tok && argc < CTL_ARGS_MAX;
	     tok = strtok_r(NULL, " \t\r", &save))
		argv[argc++] = tok;
	/* The timer bounds sending the command line; a reload may then take
	 * as long as it needs. */
	uv_timer_stop(&c->timer);
	ctl_run(&c->cl, argc, argv);
}

static void client_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct ctl_conn *c = h->data;
	*buf = uv_buf_init(c->line + c->len, (unsigned)(CTL_LINE_MAX - 1 - c->len));
}

static void client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ctl_conn *c = s->data;
	if (nread < 0) {
		/* EOF without a newline: take what we have as the line. */
		uv_read_stop(s);
		if (nread == UV_EOF && c->len > 0 && !c->cl.replied) {
			c->line[c->len] = '\0';
			client_dispatch(c);
		} else if (!c->cl.replied) {
			client_close(c);
		}
		return;
	}
	c->len += (size_t)nread;
	c->line[c->len] = '\0';
	char *nl = memchr(c->line, '\n', c->len);
	if (nl) {
		*nl = '\0';
		uv_read_stop(s);
		client_dispatch(c);
	} else if (c->len >= CTL_LINE_MAX - 1) {
		uv_read_stop(s);
		ctl_reply(&c->cl, ctl_error("command line too long"));
	}
}

static void client_timeout(uv_timer_t *t)
{
	struct ctl_conn *c = t->data;
	if (!c->cl.replied)
		client_close(c);
}

static void ctl_accept(uv_stream_t *server, int status)
{
	struct ctl_server *cs = server->data;
	if (status < 0 || cs->closing)
		return;
	struct ctl_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->cs = cs;
	c->cl.srv = cs->srv;
	c->cl.deliver = conn_deliver;
	uv_pipe_init(server->loop, &c->h, 0);
	uv_timer_init(server->loop, &c->timer);
	c->h.data = c;
	c->timer.data = c;
	c->next = cs->clients;
	if (cs->clients)
		cs->clients->prev = c;
	cs->clients = c;
	if (uv_accept(server, (uv_stream_t *)&c->h) < 0 ||
	    uv_read_start((uv_stream_t *)&c->h, client_alloc, client_read) < 0) {
		client_close(c);
		return;
	}
	uv_timer_start(&c->timer, client_timeout, CTL_TIMEOUT_MS, 0);
}

/* mkdir -p for the socket's directory. */
static int make_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path) + 256];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Remove a socket file left by a dead server; refuse if one answers. */
static int remove_stale(const char *path)
{
	struct stat sb;
	if (lstat(path, &sb) < 0)
		return 0;
	if (!S_ISSOCK(sb.st_mode))
		return VANE_EEXIST;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
		if (r == 0)
			return VANE_EEXIST;   /* a live server owns it */
	}
	return unlink(path) < 0 ? -errno : 0;
}

int ctl_start(struct server *srv, const char *path, struct ctl_server **out)
{
	int ret = VANE_ENOMEM;
	struct ctl_server *cs = calloc(1, sizeof(*cs));
	if (cs == NULL)
		return ret;
	cs->srv = srv;
	*out = cs;
	if ((cs->path = strdup(path)) == NULL)
		return ret;
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		log_error("control socket path too long: %s", path);
		return VANE_ENAMELEN;
	}
	ret = make_parent(path);
	if (ret == 0)
		ret = remove_stale(path);
	if (ret < 0) {
		log_error("control socket %s: %s", path,
			  ret == VANE_EEXIST ? "in use by a running server" : vane_strerror(ret));
		return ret;
	}
	uv_pipe_init(&srv->loop, &cs->pipe, 0);
	cs->pipe.data = cs;
	cs->listening = true;
	ret = uv_pipe_bind(&cs->pipe, path);
	if (ret == 0) {
		chmod(path, 0660);
		ret = uv_listen((uv_stream_t *)&cs->pipe, 64, ctl_accept);
	}
	if (ret < 0) {
		log_error("control socket %s: %s", path, uv_strerror(ret));
		return ret;
	}
	log_info("control socket %s", path);
	return 0;
}

void ctl_close(struct ctl_server *cs)
{
	if (cs == NULL || cs->closing)
		return;
	cs->closing = true;
	if (cs->listening)
		uv_close((uv_handle_t *)&cs->pipe, NULL);
	/* Let a `stop` reply finish; close the rest now. */
	struct ctl_conn *c = cs->clients;
	while (c) {
		struct ctl_conn *next = c->next;
		if (!c->cl.replied)
			client_close(c);
		c = next;
	}
}

void ctl_free(struct ctl_server *cs)
{
	if (cs == NULL)
		return;
	if (cs->listening && cs->path)
		unlink(cs->path);
	free(cs->path);
	free(cs);
}
