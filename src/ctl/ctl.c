/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "rt/ctlsock.h"
#include "rt/log.h"

#define CTL_WORDS_MAX 16

static json_t *error_v(int vane_err, const char *fmt, va_list ap)
{
	char buf[1024];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	return json_pack("{s:b,s:s,s:s}", "ok", 0, "code",
			 ctl_status_name(ctl_status_of(vane_err ? vane_err : VANE_EINVAL)), "error", buf);
}

json_t *ctl_error_json(int vane_err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_t *res = error_v(vane_err, fmt, ap);
	va_end(ap);
	return res;
}

static void deliver(struct ctl_client *c, json_t *res, enum ctl_status st)
{
	if (c->replied) {
		json_decref(res);
		return;
	}
	c->replied = true;
	c->on_gone = NULL;
	if (res == NULL) {
		res = ctl_error_json(VANE_ENOMEM, "out of memory");
		st = CTL_INTERNAL;
	}
	c->deliver(c, res, st);
}

void ctl_reply(struct ctl_client *c, json_t *res)
{
	if (res && json_object_get(res, "ok") == NULL)
		json_object_set_new(res, "ok", json_true());
	enum ctl_status st = CTL_OK;
	if (res && !json_is_true(json_object_get(res, "ok")))
		st = ctl_status_from_name(json_string_value(json_object_get(res, "code")));
	deliver(c, res, st);
}

void ctl_reply_text(struct ctl_client *c, char *text)
{
	if (text == NULL) {
		ctl_fail(c, VANE_ENOMEM, "out of memory");
		return;
	}
	free(c->text);
	c->text = text;
	ctl_reply(c, json_object());
}

void ctl_fail(struct ctl_client *c, int vane_err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_t *res = error_v(vane_err, fmt, ap);
	va_end(ap);
	deliver(c, res, ctl_status_of(vane_err ? vane_err : VANE_EINVAL));
}

void ctl_run(struct ctl_client *c, const struct ctl_args *a)
{
	ctl_handler fn = c->host->fn[a->cmd->id];
	if (fn == NULL) {
		ctl_fail(c, VANE_ENOTSUP, "%s: not available here", a->cmd->name);
		return;
	}
	if (a->cmd->id == CMD_STOP)
		c->stop_after = true;
	log_debug("control: %s", a->cmd->name ? a->cmd->name : a->cmd->route);
	fn(c->host->ctx, c, a);
}

void ctl_run_argv(struct ctl_client *c, int argc, char **argv)
{
	char err[512];
	if (argc == 0) {
		ctl_fail(c, VANE_EINVAL, "empty command");
		return;
	}
	const struct ctl_cmd *cmd = ctl_cmd_by_name(argv[0]);
	if (cmd == NULL) {
		ctl_fail(c, VANE_ENOENT, "unknown command: %s", argv[0]);
		return;
	}
	struct ctl_args a;
	if (ctl_parse(cmd, argc, argv, &a, err, sizeof(err)) != 0) {
		ctl_fail(c, VANE_EINVAL, "%s", err);
		return;
	}
	ctl_run(c, &a);
}

void ctl_gone(struct ctl_client *c)
{
	if (!c->replied && c->on_gone)
		c->on_gone(c);
	c->on_gone = NULL;
	c->replied = true;
}

/* ---- the control socket ---- */

struct ctl_sock {
	struct rt_ctl *rt;
	const struct ctl_host *host;
};

/* One connection's client. */
struct sock_client {
	struct ctl_client cl;
	struct rt_ctl_conn *conn;
	struct ctl_sock *s;
};

static void sock_written(void *arg)
{
	struct sock_client *sc = arg;
	if (sc->cl.stop_after && sc->s->host->stop)
		sc->s->host->stop(sc->s->host->ctx);
}

static void sock_deliver(struct ctl_client *cl, json_t *res, enum ctl_status st)
{
	struct sock_client *sc = (struct sock_client *)cl;
	char *text = json_dumps(res, JSON_COMPACT);
	json_decref(res);
	if (st != CTL_OK)
		cl->stop_after = false;
	rt_ctl_reply(sc->conn, text ? text : "{\"ok\":false,\"code\":\"internal\",\"error\":\"out of memory\"}",
		     sock_written, sc);
	free(text);
}

static void sock_line(void *ctx, struct rt_ctl_conn *conn, char *line)
{
	struct ctl_sock *s = ctx;
	struct sock_client *sc = calloc(1, sizeof(*sc));
	if (sc == NULL) {
		rt_ctl_reply(conn, "{\"ok\":false,\"code\":\"internal\",\"error\":\"out of memory\"}",
			     NULL, NULL);
		return;
	}
	sc->cl.host = s->host;
	sc->cl.deliver = sock_deliver;
	sc->conn = conn;
	sc->s = s;
	rt_ctl_set_user(conn, sc);
	char *argv[CTL_WORDS_MAX];
	int argc = ctl_split_words(line, argv, CTL_WORDS_MAX);
	ctl_run_argv(&sc->cl, argc, argv);
}

static void sock_gone(void *ctx, struct rt_ctl_conn *conn)
{
	struct sock_client *sc = rt_ctl_user(conn);
	if (sc == NULL)
		return;
	ctl_gone(&sc->cl);
	free(sc->cl.text);
	free(sc);
}

int ctl_sock_start(uv_loop_t *loop, const char *path, const struct ctl_host *host,
		   struct ctl_sock **out)
{
	struct ctl_sock *s = calloc(1, sizeof(*s));
	*out = s;
	if (s == NULL)
		return VANE_ENOMEM;
	s->host = host;
	struct rt_ctl_handlers h = { .ctx = s, .line = sock_line, .gone = sock_gone };
	return rt_ctl_listen(loop, path, &h, &s->rt);
}

void ctl_sock_close(struct ctl_sock *s)
{
	if (s)
		rt_ctl_close(s->rt);
}

void ctl_sock_free(struct ctl_sock *s)
{
	if (s == NULL)
		return;
	rt_ctl_free(s->rt);
	free(s);
}
