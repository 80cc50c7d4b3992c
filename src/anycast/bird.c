/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anycast/bird.h"
#include "rt/log.h"

#define BIRD_QUEUE 8
#define BIRD_CMD_MAX 256
#define BIRD_REPLY_MAX 65536
#define BIRD_BACKOFF_MIN_MS 100
#define BIRD_BACKOFF_MAX_MS 2000

struct bird_cmd {
	char line[BIRD_CMD_MAX];
	bird_reply_fn fn;
	void *ctx;
};

enum bird_conn { B_DOWN = 0, B_CONNECTING, B_GREETING, B_READY, B_CLOSING };

struct bird_client {
	uv_loop_t *loop;
	char *path;
	unsigned timeout_ms, backoff_ms;
	bird_conn_fn on_conn;
	void *ctx;
	enum bird_conn conn;
	bool closing;                  /* bird_close() was called */
	unsigned open_handles;
	uv_pipe_t pipe;
	bool pipe_open;
	uv_connect_t connect_req;
	uv_timer_t timer;              /* the command's timeout, or the reconnect */
	struct bird_cmd queue[BIRD_QUEUE];
	unsigned head, count;          /* queue[head] is in flight when busy */
	bool busy;
	uv_write_t write_req;
	char wbuf[BIRD_CMD_MAX + 1];
	char *reply;                   /* this reply's lines so far */
	size_t rlen;
	char line[1024];               /* a partial line */
	size_t llen;
};

static void connect_now(struct bird_client *b);
static void pump(struct bird_client *b);

bool bird_connected(const struct bird_client *b)
{
	return b && b->conn == B_READY;
}

static void handle_closed(uv_handle_t *h)
{
	struct bird_client *b = h->data;
	if (h == (uv_handle_t *)&b->pipe)
		b->pipe_open = false;
	if (--b->open_handles == 0 && b->closing) {
		free(b->reply);
		free(b->path);
		free(b);
	}
}

/* Answer the command in flight (if any) and take it off the queue. */
static void finish(struct bird_client *b, int err, int code)
{
	if (!b->busy)
		return;
	struct bird_cmd c = b->queue[b->head];
	b->head = (b->head + 1) % BIRD_QUEUE;
	b->count--;
	b->busy = false;
	uv_timer_stop(&b->timer);
	if (b->reply)
		b->reply[b->rlen] = '\0';
	if (c.fn)
		c.fn(c.ctx, err, code, err == 0 && b->reply ? b->reply : "");
	b->rlen = 0;
}

static void retry_cb(uv_timer_t *t)
{
	connect_now(t->data);
}

/* Drop the connection: fail what is queued, reconnect after a backoff. */
static void drop(struct bird_client *b, int err)
{
	bool was_up = b->conn == B_READY;
	if (b->pipe_open && !uv_is_closing((uv_handle_t *)&b->pipe))
		uv_close((uv_handle_t *)&b->pipe, handle_closed);
	b->conn = B_DOWN;
	b->llen = 0;
	finish(b, err, 0);
	/* Callbacks may queue again; those wait for the next connection. */
	for (unsigned n = b->count; n > 0 && b->count > 0; n--) {
		b->busy = true;
		finish(b, err, 0);
	}
	if (was_up && b->on_conn)
		b->on_conn(b->ctx, false);
	if (b->closing)
		return;
	uv_timer_stop(&b->timer);
	uv_timer_start(&b->timer, retry_cb, b->backoff_ms, 0);
	b->backoff_ms = b->backoff_ms * 2 > BIRD_BACKOFF_MAX_MS ? BIRD_BACKOFF_MAX_MS
								 : b->backoff_ms * 2;
}

static void timeout_cb(uv_timer_t *t)
{
	struct bird_client *b = t->data;
	log_warning("anycast: BIRD at %s did not answer in %u ms; reconnecting", b->path,
		    b->timeout_ms);
	drop(b, VANE_ETIMEDOUT);
}

static bool append_reply(struct bird_client *b, const char *s, size_t n)
{
	if (b->reply == NULL && (b->reply = malloc(BIRD_REPLY_MAX)) == NULL)
		return false;
	if (b->rlen + n + 2 >= BIRD_REPLY_MAX)
		return true;   /* a huge listing: keep the head, the end still ends it */
	memcpy(b->reply + b->rlen, s, n);
	b->rlen += n;
	b->reply[b->rlen++] = '\n';
	return true;
}

/* One complete line from BIRD. */
static void on_line(struct bird_client *b, const char *s, size_t n)
{
	bool coded = n >= 5 && isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
		     isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3]);
	bool last = coded && s[4] == ' ';
	int code = coded ? atoi((char[5]){ s[0], s[1], s[2], s[3], 0 }) : 0;
	if (b->conn == B_GREETING) {
		if (last && code == 1) {
			b->conn = B_READY;
			b->backoff_ms = BIRD_BACKOFF_MIN_MS;
			uv_timer_stop(&b->timer);
			log_info("anycast: connected to BIRD at %s", b->path);
			if (b->on_conn)
				b->on_conn(b->ctx, true);
			pump(b);
		} else if (last) {
			drop(b, VANE_ECONNREFUSED);
		}
		return;
	}
	if (!b->busy)
		return;   /* nothing asked: an unsolicited line */
	if (!append_reply(b, s, n)) {
		drop(b, VANE_ENOMEM);
		return;
	}
	if (last) {
		finish(b, 0, code);
		pump(b);
	}
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char rbuf[4096];   /* loop thread only; consumed before the next read */
	buf->base = rbuf;
	buf->len = sizeof(rbuf);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct bird_client *b = s->data;
	if (nread < 0) {
		log_warning("anycast: BIRD at %s closed the connection: %s", b->path,
			    uv_strerror((int)nread));
		drop(b, VANE_ECONNREFUSED);
		return;
	}
	for (ssize_t i = 0; i < nread && b->conn != B_DOWN; i++) {
		char ch = buf->base[i];
		if (ch == '\n') {
			on_line(b, b->line, b->llen);
			b->llen = 0;
		} else if (b->llen + 1 < sizeof(b->line)) {
			b->line[b->llen++] = ch;
		}
	}
}

static void write_cb(uv_write_t *req, int status)
{
	struct bird_client *b = req->data;
	if (status < 0 && status != UV_ECANCELED && b->conn != B_DOWN)
		drop(b, VANE_ECONNREFUSED);
}

/* Send the next queued command when idle. */
static void pump(struct bird_client *b)
{
	if (b->busy || b->count == 0 || b->conn != B_READY)
		return;
	struct bird_cmd *c = &b->queue[b->head];
	size_t n = (size_t)snprintf(b->wbuf, sizeof(b->wbuf), "%s\n", c->line);
	uv_buf_t buf = uv_buf_init(b->wbuf, (unsigned)n);
	b->busy = true;
	b->rlen = 0;
	b->write_req.data = b;
	if (uv_write(&b->write_req, (uv_stream_t *)&b->pipe, &buf, 1, write_cb) < 0) {
		drop(b, VANE_ECONNREFUSED);
		return;
	}
	uv_timer_start(&b->timer, timeout_cb, b->timeout_ms, 0);
}

static void connect_cb(uv_connect_t *req, int status)
{
	struct bird_client *b = req->data;
	if (b->closing)
		return;
	if (status < 0) {
		log_debug("anycast: cannot connect to BIRD at %s: %s", b->path, uv_strerror(status));
		drop(b, VANE_ECONNREFUSED);
		return;
	}
	b->conn = B_GREETING;
	b->pipe.data = b;
	if (uv_read_start((uv_stream_t *)&b->pipe, alloc_cb, read_cb) < 0) {
		drop(b, VANE_ECONNREFUSED);
		return;
	}
	/* The greeting must come within the timeout too. */
	uv_timer_start(&b->timer, timeout_cb, b->timeout_ms, 0);
}

static void connect_now(struct bird_client *b)
{
	if (b->closing || b->conn != B_DOWN)
		return;
	if (b->pipe_open) {
		/* The old pipe is still closing: try again shortly. */
		uv_timer_start(&b->timer, retry_cb, 10, 0);
		return;
	}
	if (uv_pipe_init(b->loop, &b->pipe, 0) < 0) {
		uv_timer_start(&b->timer, retry_cb, b->backoff_ms, 0);
		return;
	}
	b->pipe_open = true;
	b->open_handles++;
	b->pipe.data = b;
	b->conn = B_CONNECTING;
	b->connect_req.data = b;
	uv_pipe_connect(&b->connect_req, &b->pipe, b->path, connect_cb);
}

int bird_open(uv_loop_t *loop, const char *path, unsigned timeout_ms, bird_conn_fn on_conn,
	      void *ctx, struct bird_client **out)
{
	struct bird_client *b = calloc(1, sizeof(*b));
	if (b == NULL || (b->path = strdup(path)) == NULL) {
		free(b);
		return VANE_ENOMEM;
	}
	b->loop = loop;
	b->timeout_ms = timeout_ms;
	b->backoff_ms = BIRD_BACKOFF_MIN_MS;
	b->on_conn = on_conn;
	b->ctx = ctx;
	uv_timer_init(loop, &b->timer);
	b->timer.data = b;
	b->open_handles = 1;
	connect_now(b);
	*out = b;
	return 0;
}

void bird_send(struct bird_client *b, const char *cmd, bird_reply_fn fn, void *ctx)
{
	if (b->count >= BIRD_QUEUE || strlen(cmd) >= BIRD_CMD_MAX) {
		if (fn)
			fn(ctx, VANE_EBUSY, 0, "");
		return;
	}
	struct bird_cmd *c = &b->queue[(b->head + b->count) % BIRD_QUEUE];
	snprintf(c->line, sizeof(c->line), "%s", cmd);
	c->fn = fn;
	c->ctx = ctx;
	b->count++;
	pump(b);
}

int bird_protocol_up(const char *text, const char *name)
{
	size_t nl = strlen(name);
	for (const char *s = text; s && *s; s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL) {
		/* "1002-anycast    Static     master4    up     17:08:39.275" */
		if (strncmp(s, "1002", 4) != 0 || (s[4] != '-' && s[4] != ' '))
			continue;
		const char *p = s + 5;
		if (strncmp(p, name, nl) != 0 || !isspace((unsigned char)p[nl]))
			continue;
		char proto[32], table[64], state[32];
		if (sscanf(p + nl, "%31s %63s %31s", proto, table, state) != 3)
			return VANE_EINVAL;
		return strcmp(state, "up") == 0;
	}
	return VANE_ENOENT;
}

void bird_close(struct bird_client *b)
{
	if (b == NULL)
		return;
	b->closing = true;
	b->count = 0;
	b->busy = false;
	if (b->pipe_open && !uv_is_closing((uv_handle_t *)&b->pipe))
		uv_close((uv_handle_t *)&b->pipe, handle_closed);
	uv_close((uv_handle_t *)&b->timer, handle_closed);
}
