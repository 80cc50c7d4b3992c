/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "rt/ctlsock.h"
#include "rt/log.h"

#define LINE_MAX_LEN 4096
#define LINE_TIMEOUT_MS 10000  /* a client must send its line within this */

struct rt_ctl_conn {
	uv_pipe_t h;                 /* first */
	struct rt_ctl *s;
	struct rt_ctl_conn *prev, *next;
	uv_timer_t timer;
	uv_write_t wreq;
	void *user;
	char *out;
	size_t len;
	bool dispatched;             /* the owner has the line */
	bool replying;
	bool closing;
	void (*written)(void *arg);
	void *warg;
	char line[LINE_MAX_LEN];
};

struct rt_ctl {
	uv_loop_t *loop;
	struct rt_ctl_handlers h;
	uv_pipe_t pipe;
	char *path;
	struct rt_ctl_conn *conns;
	bool listening;
	bool closing;
};

void rt_ctl_set_user(struct rt_ctl_conn *c, void *user)
{
	c->user = user;
}

void *rt_ctl_user(const struct rt_ctl_conn *c)
{
	return c->user;
}

static void conn_closed(uv_handle_t *h)
{
	struct rt_ctl_conn *c = h->data;
	/* Two handles per connection: free when the second one is closed. */
	if (h == (uv_handle_t *)&c->h) {
		free(c->out);
		free(c);
	} else {
		uv_close((uv_handle_t *)&c->h, conn_closed);
	}
}

static void conn_close(struct rt_ctl_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	struct rt_ctl *s = c->s;
	if (c->dispatched && s->h.gone)
		s->h.gone(s->h.ctx, c);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	uv_close((uv_handle_t *)&c->timer, conn_closed);
}

static void reply_written(uv_write_t *req, int status)
{
	struct rt_ctl_conn *c = req->data;
	if (c->written)
		c->written(c->warg);
	conn_close(c);
}

void rt_ctl_reply(struct rt_ctl_conn *c, const char *text, void (*written)(void *arg), void *arg)
{
	if (c->closing || c->replying)
		return;
	size_t n = strlen(text);
	c->out = malloc(n + 2);
	if (c->out == NULL) {
		conn_close(c);
		return;
	}
	memcpy(c->out, text, n);
	c->out[n] = '\n';
	c->replying = true;
	c->written = written;
	c->warg = arg;
	uv_timer_stop(&c->timer);
	uv_buf_t b = uv_buf_init(c->out, (unsigned)n + 1);
	c->wreq.data = c;
	if (uv_write(&c->wreq, (uv_stream_t *)&c->h, &b, 1, reply_written) < 0)
		conn_close(c);
}

static void dispatch(struct rt_ctl_conn *c)
{
	/* The timer bounds sending the line; the answer may take as long as
	 * it needs (a reload). */
	uv_timer_stop(&c->timer);
	c->dispatched = true;
	c->s->h.line(c->s->h.ctx, c, c->line);
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct rt_ctl_conn *c = h->data;
	*buf = uv_buf_init(c->line + c->len, (unsigned)(LINE_MAX_LEN - 1 - c->len));
}

static void conn_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct rt_ctl_conn *c = st->data;
	if (nread < 0) {
		/* EOF without a newline: take what we have as the line. */
		uv_read_stop(st);
		if (nread == UV_EOF && c->len > 0 && !c->dispatched) {
			c->line[c->len] = '\0';
			dispatch(c);
		} else if (!c->dispatched) {
			conn_close(c);
		}
		return;
	}
	c->len += (size_t)nread;
	c->line[c->len] = '\0';
	char *nl = memchr(c->line, '\n', c->len);
	if (nl) {
		*nl = '\0';
		if (nl > c->line && nl[-1] == '\r')
			nl[-1] = '\0';
		uv_read_stop(st);
		dispatch(c);
	} else if (c->len >= LINE_MAX_LEN - 1) {
		uv_read_stop(st);
		rt_ctl_reply(c, "{\"ok\":false,\"code\":\"bad_input\",\"error\":\"command line too long\"}",
			     NULL, NULL);
	}
}

static void conn_timeout(uv_timer_t *t)
{
	struct rt_ctl_conn *c = t->data;
	if (!c->dispatched)
		conn_close(c);
}

static void on_accept(uv_stream_t *server, int status)
{
	struct rt_ctl *s = server->data;
	if (status < 0 || s->closing)
		return;
	struct rt_ctl_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->s = s;
	uv_pipe_init(s->loop, &c->h, 0);
	uv_timer_init(s->loop, &c->timer);
	c->h.data = c;
	c->timer.data = c;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	if (uv_accept(server, (uv_stream_t *)&c->h) < 0 ||
	    uv_read_start((uv_stream_t *)&c->h, conn_alloc, conn_read) < 0) {
		conn_close(c);
		return;
	}
	uv_timer_start(&c->timer, conn_timeout, LINE_TIMEOUT_MS, 0);
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

/* Remove a socket file left by a dead process; refuse if one answers. */
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
			return VANE_EEXIST;   /* a live process owns it */
	}
	return unlink(path) < 0 ? -errno : 0;
}

int rt_ctl_listen(uv_loop_t *loop, const char *path, const struct rt_ctl_handlers *h,
		  struct rt_ctl **out)
{
	int ret = VANE_ENOMEM;
	struct rt_ctl *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return ret;
	*out = s;
	s->loop = loop;
	s->h = *h;
	if ((s->path = strdup(path)) == NULL)
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
	uv_pipe_init(loop, &s->pipe, 0);
	s->pipe.data = s;
	s->listening = true;
	ret = uv_pipe_bind(&s->pipe, path);
	if (ret == 0) {
		chmod(path, 0660);
		ret = uv_listen((uv_stream_t *)&s->pipe, 64, on_accept);
	}
	if (ret < 0) {
		log_error("control socket %s: %s", path, uv_strerror(ret));
		return ret;
	}
	log_info("control socket %s", path);
	return 0;
}

void rt_ctl_close(struct rt_ctl *s)
{
	if (s == NULL || s->closing)
		return;
	s->closing = true;
	if (s->listening)
		uv_close((uv_handle_t *)&s->pipe, NULL);
	/* Let a reply on its way (`stop`) finish; close the rest now. */
	struct rt_ctl_conn *c = s->conns;
	while (c) {
		struct rt_ctl_conn *next = c->next;
		if (!c->replying)
			conn_close(c);
		c = next;
	}
}

void rt_ctl_free(struct rt_ctl *s)
{
	if (s == NULL)
		return;
	if (s->listening && s->path)
		unlink(s->path);
	free(s->path);
	free(s);
}
