/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A GET over a kept-alive HTTP/1.1 connection (RFC 9112): the response is
 * framed by Content-Length, chunked transfer coding (RFC 9112 7.1) or the
 * end of the connection (RFC 9112 6.3), and the connection is kept unless
 * the server says "Connection: close", answers HTTP/1.0 without
 * keep-alive, or framed the body by closing.  A kept connection that the
 * server closed while idle is noticed (it becomes readable) and dropped;
 * one that turns out dead on the next probe (nothing read before EOF or a
 * reset) is retried once on a new connection, as curl does.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sys/socket.h>

#include "health/http_plain.h"

#define PLAIN_HDR_MAX 16384           /* response head */
#define PLAIN_BODY_MAX 65536          /* body kept for the substring check */
#define PLAIN_BUF_MAX (PLAIN_HDR_MAX + PLAIN_BODY_MAX)

enum framing { FRAME_LENGTH, FRAME_CHUNKED, FRAME_CLOSE };
enum parsed { P_MORE, P_DONE, P_BAD };

struct plain_conn {
	uv_poll_t poll;
	int fd;
	int watching;                 /* UV_READABLE / UV_WRITABLE now started */
	bool connecting;
	struct plain_probe *pp;       /* NULL once closing */
};

struct plain_probe {
	plain_done_fn done;
	void *ctx;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char *req;
	size_t reqlen;
	/* Probe thread only from here on. */
	uv_loop_t *loop;
	struct plain_conn *conn;      /* kept between probes, or NULL */
	bool busy, reused, retried;
	char *buf;
	size_t len, cap;              /* cap is kept between probes */
	size_t hdr_end;               /* 0 until the head is complete */
	long status;
	enum framing framing;
	size_t clen;
	bool keep;
	char err[128];
};

struct plain_probe *plain_new(const struct probe_conf *pc, plain_done_fn done, void *ctx)
{
	struct plain_probe *pp = calloc(1, sizeof(*pp));
	if (pp == NULL)
		return NULL;
	char host[300];
	if (pc->host[0])
		snprintf(host, sizeof(host), "%s", pc->host);
	else
		snprintf(host, sizeof(host), pc->addr.ss_family == AF_INET6 ? "[%s]" : "%s",
			 pc->address);
	const char *path = pc->path[0] == '/' ? pc->path + 1 : pc->path;
	size_t cap = strlen(path) + strlen(host) + 128;
	pp->req = malloc(cap);
	if (pp->req == NULL) {
		free(pp);
		return NULL;
	}
	/* The port goes into Host unless it is http's default (RFC 9110 7.2). */
	char port[8] = "";
	if (pc->port != 80)
		snprintf(port, sizeof(port), ":%u", pc->port);
	pp->reqlen = (size_t)snprintf(pp->req, cap,
				      "GET /%s HTTP/1.1\r\nHost: %s%s\r\n"
				      "User-Agent: vaned-health/1\r\nAccept: */*\r\n\r\n",
				      path, host, port);
	memcpy(&pp->addr, &pc->addr, sizeof(pp->addr));
	pp->addrlen = pc->addrlen;
	pp->done = done;
	pp->ctx = ctx;
	return pp;
}

/* ---- connection ---- */

static void conn_closed(uv_handle_t *h)
{
	struct plain_conn *c = h->data;
	close(c->fd);
	free(c);
}

/* uv_close takes the fd out of epoll at once; it is closed after. */
static void conn_close(struct plain_probe *pp)
{
	struct plain_conn *c = pp->conn;
	if (c == NULL)
		return;
	pp->conn = NULL;
	c->pp = NULL;
	uv_close((uv_handle_t *)&c->poll, conn_closed);
}

static void on_poll(uv_poll_t *h, int status, int events);

/* Start watching `events` unless already: re-arming costs epoll calls. */
static void conn_watch(struct plain_conn *c, int events)
{
	if (c->watching == events)
		return;
	c->watching = events;
	uv_poll_start(&c->poll, events, on_poll);
}

/* ---- results ---- */

static void finish(struct plain_probe *pp, const char *err, const char *body, size_t blen)
{
	pp->busy = false;
	pp->done(pp->ctx, err, pp->status, body, blen);
}

static void fail(struct plain_probe *pp, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pp->err, sizeof(pp->err), fmt, ap);
	va_end(ap);
	conn_close(pp);
	finish(pp, pp->err, NULL, 0);
}

/* ---- request ---- */

static void connect_new(struct plain_probe *pp);

/* A kept connection that died while idle fails on first use: once per
 * probe, try again on a new one. */
static bool retry(struct plain_probe *pp)
{
	if (!pp->reused || pp->retried || pp->len != 0)
		return false;
	pp->retried = true;
	pp->reused = false;
	conn_close(pp);
	connect_new(pp);
	return true;
}

static void send_request(struct plain_probe *pp)
{
	struct plain_conn *c = pp->conn;
	ssize_t n = send(c->fd, pp->req, pp->reqlen, MSG_NOSIGNAL);
	if (n == (ssize_t)pp->reqlen) {
		conn_watch(c, UV_READABLE);
		return;
	}
	if (n < 0 && (errno == EPIPE || errno == ECONNRESET) && retry(pp))
		return;
	/* A fresh socket takes a few hundred bytes at once: short is broken. */
	fail(pp, "http: send: %s", n < 0 ? strerror(errno) : "short write");
}

static void connect_new(struct plain_probe *pp)
{
	int fd = socket(pp->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fail(pp, "http: socket: %s", strerror(errno));
		return;
	}
	struct plain_conn *c = calloc(1, sizeof(*c));
	if (c == NULL || uv_poll_init_socket(pp->loop, &c->poll, fd) < 0) {
		free(c);
		close(fd);
		fail(pp, "http: out of memory");
		return;
	}
	c->fd = fd;
	c->pp = pp;
	c->poll.data = c;
	pp->conn = c;
	if (connect(fd, (const struct sockaddr *)&pp->addr, pp->addrlen) == 0) {
		send_request(pp);
	} else if (errno == EINPROGRESS) {
		c->connecting = true;
		conn_watch(c, UV_WRITABLE);
	} else {
		fail(pp, "http: connect: %s", strerror(errno));
	}
}

void plain_start(struct plain_probe *pp, uv_loop_t *loop)
{
	pp->loop = loop;
	pp->busy = true;
	pp->retried = false;
	pp->len = 0;
	pp->hdr_end = 0;
	pp->status = 0;
	if (pp->conn) {
		pp->reused = true;
		send_request(pp);
	} else {
		pp->reused = false;
		connect_new(pp);
	}
}

/* ---- response ---- */

/* Value of header line [p, end) if its name is `name`, else NULL. */
static const char *header_value(const char *p, const char *end, const char *name)
{
	size_t n = strlen(name);
	if ((size_t)(end - p) <= n || strncasecmp(p, name, n) != 0 || p[n] != ':')
		return NULL;
	p += n + 1;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static bool value_has(const char *v, const char *end, const char *token)
{
	size_t n = strlen(token);
	for (; v && v + n <= end; v++)
		if (strncasecmp(v, token, n) == 0)
			return true;
	return false;
}

/* The head: status line and the headers that frame the body. */
static enum parsed parse_head(struct plain_probe *pp)
{
	for (;;) {
		const char *b = pp->buf;
		const char *e = memmem(b, pp->len, "\r\n\r\n", 4);
		if (e == NULL)
			return pp->len >= PLAIN_HDR_MAX ? P_BAD : P_MORE;
		if (pp->len < 12 || memcmp(b, "HTTP/1.", 7) != 0 || b[8] != ' ')
			return P_BAD;
		long st = strtol(b + 9, NULL, 10);
		if (st < 100 || st > 999)
			return P_BAD;
		size_t head = (size_t)(e - b) + 4;
		if (st < 200) {   /* interim (RFC 9110 15.2): the real one follows */
			memmove(pp->buf, pp->buf + head, pp->len - head);
			pp->len -= head;
			continue;
		}
		pp->status = st;
		pp->keep = b[7] != '0';
		pp->framing = FRAME_CLOSE;
		pp->clen = 0;
		const char *line = (const char *)memchr(b, '\n', (size_t)(e - b) + 2) + 1;
		while (line < e) {
			const char *end = memchr(line, '\r', (size_t)(e + 2 - line));
			const char *v;
			if (end == NULL)
				break;
			if ((v = header_value(line, end, "content-length")) &&
			    pp->framing != FRAME_CHUNKED) {
				pp->framing = FRAME_LENGTH;
				pp->clen = strtoul(v, NULL, 10);
			} else if ((v = header_value(line, end, "transfer-encoding")) &&
				   value_has(v, end, "chunked")) {
				pp->framing = FRAME_CHUNKED;  /* wins over a length (RFC 9112 6.3) */
			} else if ((v = header_value(line, end, "connection"))) {
				if (value_has(v, end, "close"))
					pp->keep = false;
				else if (value_has(v, end, "keep-alive"))
					pp->keep = true;
			}
			line = end + 2;
		}
		if (st == 204 || st == 304) {
			pp->framing = FRAME_LENGTH;
			pp->clen = 0;
		}
		if (pp->framing == FRAME_CLOSE)
			pp->keep = false;
		pp->hdr_end = head;
		return P_DONE;
	}
}

/* Chunked body in b[0, n): P_DONE once the last chunk and the trailer
 * section are in, with the data moved to the front and *out its length. */
static enum parsed parse_chunked(char *b, size_t n, size_t *out)
{
	size_t p = 0, w = 0;
	bool decode = false;
	for (int pass = 0; pass < 2; pass++, p = 0, w = 0) {
		for (;;) {
			const char *eol = memmem(b + p, n - p, "\r\n", 2);
			if (eol == NULL)
				return P_MORE;
			char *endp;
			unsigned long size = strtoul(b + p, &endp, 16);
			if (endp == b + p)
				return P_BAD;
			p = (size_t)(eol - b) + 2;
			if (size == 0) {
				/* Trailer fields, then an empty line (RFC 9112 7.1.2). */
				if (!(n - p >= 2 && b[p] == '\r' && b[p + 1] == '\n') &&
				    !memmem(b + p - 2, n - p + 2, "\r\n\r\n", 4))
					return P_MORE;
				break;
			}
			if (size > n || p + size + 2 > n)
				return P_MORE;
			if (decode)
				memmove(b + w, b + p, size);
			w += size;
			p += size + 2;
		}
		if (decode) {
			*out = w;
			return P_DONE;
		}
		decode = true;
	}
	return P_BAD;
}

static void complete(struct plain_probe *pp, const char *body, size_t blen)
{
	if (!pp->keep)
		conn_close(pp);
	finish(pp, NULL, body, blen > PLAIN_BODY_MAX ? PLAIN_BODY_MAX : blen);
}

/* Whole response in?  Completes (or fails) the probe when it is. */
static bool try_complete(struct plain_probe *pp, bool eof)
{
	if (pp->hdr_end == 0) {
		enum parsed r = parse_head(pp);
		if (r == P_BAD) {
			fail(pp, "http: malformed response");
			return true;
		}
		if (r == P_MORE)
			return false;
	}
	char *body = pp->buf + pp->hdr_end;
	size_t blen = pp->len - pp->hdr_end;
	switch (pp->framing) {
	case FRAME_LENGTH:
		if (blen < pp->clen)
			return false;
		if (blen > pp->clen)
			pp->keep = false;   /* more than framed: do not trust the rest */
		complete(pp, body, pp->clen);
		return true;
	case FRAME_CHUNKED: {
		size_t out = 0;
		enum parsed r = parse_chunked(body, blen, &out);
		if (r == P_BAD) {
			fail(pp, "http: malformed chunked body");
			return true;
		}
		if (r == P_MORE)
			return false;
		complete(pp, body, out);
		return true;
	}
	case FRAME_CLOSE:
		if (!eof)
			return false;
		complete(pp, body, blen);
		return true;
	}
	return false;
}

static void read_response(struct plain_probe *pp)
{
	struct plain_conn *c = pp->conn;
	for (;;) {
		if (pp->len == pp->cap) {
			if (pp->cap >= PLAIN_BUF_MAX) {
				/* Longer than we keep: judge it on what came, and
				 * drop the connection with the rest unread. */
				if (pp->hdr_end) {
					pp->keep = false;
					complete(pp, pp->buf + pp->hdr_end, pp->len - pp->hdr_end);
				} else {
					fail(pp, "http: response head too large");
				}
				return;
			}
			size_t cap = pp->cap ? pp->cap * 2 : 4096;
			char *nb = realloc(pp->buf, cap < PLAIN_BUF_MAX ? cap : PLAIN_BUF_MAX);
			if (nb == NULL) {
				fail(pp, "http: out of memory");
				return;
			}
			pp->buf = nb;
			pp->cap = cap < PLAIN_BUF_MAX ? cap : PLAIN_BUF_MAX;
		}
		ssize_t n = recv(c->fd, pp->buf + pp->len, pp->cap - pp->len, 0);
		if (n > 0) {
			pp->len += (size_t)n;
			if (try_complete(pp, false))
				return;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 && pp->hdr_end && pp->framing == FRAME_CLOSE) {
			try_complete(pp, true);
			return;
		}
		if (retry(pp))
			return;
		if (n < 0)
			fail(pp, "http: recv: %s", strerror(errno));
		else
			fail(pp, pp->len ? "http: connection closed before the response ended"
				 : "http: empty reply from server");
		return;
	}
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct plain_conn *c = h->data;
	struct plain_probe *pp = c->pp;
	if (pp == NULL)
		return;
	if (!pp->busy) {
		/* Idle and readable: the server closed it (or sent what we did
		 * not ask for).  Either way it is not reusable. */
		conn_close(pp);
		return;
	}
	if (c->connecting) {
		/* libuv reports any POLLERR as UV_EBADF: the socket knows why. */
		int err = 0;
		socklen_t el = sizeof(err);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
			err = errno;
		else if (err == 0 && status < 0)
			err = -status;
		if (err) {
			fail(pp, "http: connect: %s", strerror(err));
			return;
		}
		c->connecting = false;
		send_request(pp);
		return;
	}
	read_response(pp);
}

void plain_cancel(struct plain_probe *pp)
{
	if (!pp->busy)
		return;
	pp->busy = false;
	conn_close(pp);
}

void plain_close(struct plain_probe *pp)
{
	pp->busy = false;
	conn_close(pp);
}

void plain_destroy(struct plain_probe *pp)
{
	if (pp == NULL)
		return;
	free(pp->buf);
	free(pp->req);
	free(pp);
}
