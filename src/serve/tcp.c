/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "geo/geo.h"
#include "lib/pkt.h"
#include "lib/rand.h"
#include "rt/clock.h"
#include "rt/log.h"
#include "serve/dnstap.h"
#include "serve/tcp.h"

#define TCP_BUF_INIT 1024
#define TCP_FRAME_MAX (2 + DNS_MAXMSG)
/* Stop reading a client that does not read its answers (RFC 7766 6.2.4
 * leaves the limit to us). */
#define TCP_WQUEUE_MAX (256 * 1024)

struct tcp_conn {
	uv_tcp_t h;                  /* first: handle->data is not needed */
	struct tcp_server *ts;
	struct tcp_conn *prev, *next; /* by last activity, oldest first */
	uint64_t last_active;        /* uv_now() of the last complete query or write */
	uint8_t *buf;                /* received bytes not yet answered */
	size_t len, cap;
	size_t wqueued;              /* bytes of responses not yet written */
	struct sockaddr_storage peer; /* the client, read once at accept */
	struct xfr_stream *xfr;      /* a transfer being sent, or NULL */
	bool v6;
	bool reading;
	bool eof;
	bool closing;
};

struct tcp_write {
	uv_write_t req;
	struct tcp_conn *conn;
	size_t len;
	uint8_t data[];
};

struct tcp_server {
	struct srv_stats stats;      /* first: cache-line aligned */
	uv_loop_t *loop;
	struct serve_view *const *root; /* published on this loop's thread: read plainly */
	uv_tcp_t *listeners;
	unsigned nlisteners;
	uv_timer_t timer;
	struct tcp_conn *head, *tail;
	unsigned nconns;
	bool closing;
	uint64_t rng;                /* splitmix64 state for steering decisions */
	struct geo_cache *geo_cache; /* the loop thread's geo lookups */
	struct cookie_mac *cookie_mac; /* the loop thread's SipHash for DNS cookies */
	struct dnstap_tap tap;       /* dnstap: the last queue; off: dt NULL */
	uint8_t answer[TCP_FRAME_MAX];
};

static const struct serve_view *cur_view(const struct tcp_server *ts)
{
	/* The view is published on this loop's thread (see tcp.h). */
	return *ts->root;
}

static void list_unlink(struct tcp_server *ts, struct tcp_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		ts->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		ts->tail = c->prev;
	c->prev = c->next = NULL;
}

static void list_append(struct tcp_server *ts, struct tcp_conn *c)
{
	c->prev = ts->tail;
	c->next = NULL;
	if (ts->tail)
		ts->tail->next = c;
	else
		ts->head = c;
	ts->tail = c;
}

static void sweep_cb(uv_timer_t *timer);

/* Mark `c` active now: it moves to the young end of the idle list. */
static void conn_touch(struct tcp_conn *c)
{
	struct tcp_server *ts = c->ts;
	c->last_active = uv_now(ts->loop);
	list_unlink(ts, c);
	list_append(ts, c);
	if (!uv_is_active((uv_handle_t *)&ts->timer))
		uv_timer_start(&ts->timer, sweep_cb, cur_view(ts)->tcp_idle_timeout_ms, 0);
}

static void conn_close_cb(uv_handle_t *h)
{
	struct tcp_conn *c = (struct tcp_conn *)h;
	xfr_stream_free(c->xfr);
	free(c->buf);
	free(c);
}

static void conn_close(struct tcp_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	list_unlink(c->ts, c);
	c->ts->nconns--;
	uv_close((uv_handle_t *)&c->h, conn_close_cb);
}

/* Close every connection idle past the timeout (RFC 7766 6.2.3), then wait
 * for the next one to expire. */
static void sweep_cb(uv_timer_t *timer)
{
	struct tcp_server *ts = timer->data;
	uint64_t now = uv_now(timer->loop);
	uint64_t timeout = cur_view(ts)->tcp_idle_timeout_ms;
	while (ts->head && ts->head->last_active + timeout <= now) {
		log_debug("closing idle TCP client");
		conn_close(ts->head);
	}
	if (ts->head)
		uv_timer_start(timer, sweep_cb, ts->head->last_active + timeout - now, 0);
}

static void conn_process(struct tcp_conn *c);
static void conn_pump(struct tcp_conn *c);

static void write_cb(uv_write_t *req, int status)
{
	struct tcp_write *w = (struct tcp_write *)req;
	struct tcp_conn *c = w->conn;
	c->wqueued -= w->len;
	free(w);
	if (c->closing)
		return;
	if (status < 0) {
		conn_close(c);
		return;
	}
	conn_touch(c);
	conn_pump(c);
	/* Resume a client we stopped reading while its answers piled up. */
	if (c->wqueued < TCP_WQUEUE_MAX / 2 && !c->xfr && !c->closing)
		conn_process(c);
}

/* A sampled query for dnstap (tcp_start bound the tap to the last queue). */
static void tcp_tap(struct tcp_conn *c, const uint8_t *q, size_t qlen, const uint8_t *a,
		    size_t alen)
{
	struct sockaddr_storage peer, local;
	int plen = sizeof(peer), llen = sizeof(local);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	if (uv_tcp_getpeername(&c->h, (struct sockaddr *)&peer, &plen) != 0)
		peer.ss_family = 0;
	if (uv_tcp_getsockname(&c->h, (struct sockaddr *)&local, &llen) != 0)
		local.ss_family = 0;
	c->ts->tap.local = local;
	dnstap_log(&c->ts->tap, (const struct sockaddr *)&peer, q, qlen, a, alen, &now);
}

/* Queue one response (`len` bytes at `msg`) with its length prefix. */
static bool conn_send(struct tcp_conn *c, const uint8_t *msg, size_t len)
{
	struct tcp_write *w = malloc(sizeof(*w) + 2 + len);
	if (w == NULL) {
		c->ts->stats.dropped++;
		return false;
	}
	w->conn = c;
	w->len = 2 + len;
	w->data[0] = (uint8_t)(len >> 8);
	w->data[1] = (uint8_t)len;
	memcpy(w->data + 2, msg, len);
	uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);
	if (uv_write(&w->req, (uv_stream_t *)&c->h, &b, 1, write_cb) < 0) {
		free(w);
		conn_close(c);
		return false;
	}
	c->wqueued += w->len;
	return true;
}

/* Send the next messages of a transfer while the client keeps reading:
 * a large zone never sits in memory whole. */
static void conn_pump(struct tcp_conn *c)
{
	struct tcp_server *ts = c->ts;
	uint64_t now = (uint64_t)time(NULL);
	while (c->xfr && !c->closing && c->wqueued < TCP_WQUEUE_MAX / 2) {
		size_t len = xfr_next(c->xfr, ts->answer + 2, DNS_MAXMSG, now);
		if (len == 0) {
			xfr_stream_free(c->xfr);
			c->xfr = NULL;
			break;
		}
		if (!conn_send(c, ts->answer + 2, len))
			return;
		stats_size(&ts->stats, len);
	}
}

struct tcp_reanswer {
	struct tcp_conn *c;
	const struct auth_client *cl;
};

static size_t tcp_reanswer(void *ctx, const uint8_t *q, size_t qlen, uint8_t *out, size_t cap)
{
	struct tcp_reanswer *ra = ctx;
	const struct serve_view *view = cur_view(ra->c->ts);
	struct auth_result res;
	return auth_answer(view->db, view->auth, view->steer, ra->cl, q, qlen, true, out, cap,
			   &res);
}

/* A transfer or a signed query (serve/xfr.c).  Returns the length of the
 * reply now in the answer buffer, 0 when a stream started or nothing is
 * sent, or `len` to keep the ordinary answer. */
static size_t conn_xfr(struct tcp_conn *c, const struct auth_client *cl, const uint8_t *q,
		       size_t qlen, size_t len)
{
	struct tcp_server *ts = c->ts;
	struct sockaddr_storage peer;
	int plen = sizeof(peer);
	if (uv_tcp_getpeername(&c->h, (struct sockaddr *)&peer, &plen) != 0)
		peer.ss_family = 0;
	struct tcp_reanswer ra = { c, cl };
	uint8_t *buf = malloc(DNS_MAXMSG);
	if (!buf)
		return 0;
	size_t out = 0;
	struct xfr_stream *s = NULL;
	enum xfr_verdict v = xfr_request(cur_view(ts)->xfr, (const struct sockaddr *)&peer, q, qlen,
					 true, (uint64_t)time(NULL), tcp_reanswer, &ra, buf,
					 DNS_MAXMSG, &out, &s);
	if (v == XFR_REPLY)
		memcpy(ts->answer + 2, buf, out);
	free(buf);
	if (v == XFR_STREAM) {
		c->xfr = s;
		conn_pump(c);
		return 0;
	}
	return v == XFR_NONE ? len : v == XFR_REPLY ? out : 0;
}

static void conn_answer(struct tcp_conn *c, const uint8_t *q, size_t qlen)
{
	struct tcp_server *ts = c->ts;
	const struct serve_view *view = cur_view(ts);
	enum srv_transport tr = c->v6 ? TR_TCP6 : TR_TCP4;
	struct auth_result res;
	const struct auth_steer *st = view->steer;
	/* Cookies apply over TCP too (RFC 7873 5.2); RRL does not: a TCP
	 * client has proven its address. */
	struct auth_client cl = {
		.geo_cache = ts->geo_cache, .cookie_mac = ts->cookie_mac, .now_ms = rt_now_ms(),
		.src = c->peer.ss_family != AF_UNSPEC ? (const struct sockaddr *)&c->peer : NULL,
	};
	if (st)
		cl.rand = rand_next(&ts->rng);
	size_t len = auth_answer(view->db, view->auth, st, &cl, q, qlen, true,
				 ts->answer + 2, DNS_MAXMSG, &res);
	if (res.xfr && view->xfr && len) {
		len = conn_xfr(c, st ? &cl : NULL, q, qlen, len);
		if (len == 0 && c->xfr) {
			stats_count(&ts->stats, tr, &res);
			return;
		}
	}
	if (len == 0) {
		stats_drop(&ts->stats, tr);
		return;
	}
	stats_count(&ts->stats, tr, &res);
	stats_size(&ts->stats, len);
	if (res.service >= 0)
		stats_steered(&ts->stats, view->slots, &res);
	if (dnstap_tap_pick(&ts->tap))
		tcp_tap(c, q, qlen, ts->answer + 2, len);

	conn_send(c, ts->answer + 2, len);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct tcp_conn *c = (struct tcp_conn *)h;
	if (c->buf == NULL) {
		c->buf = malloc(TCP_BUF_INIT);
		c->cap = c->buf ? TCP_BUF_INIT : 0;
	}
	*buf = uv_buf_init((char *)c->buf + c->len, (unsigned)(c->cap - c->len));
}

/* Answer every complete frame in the buffer, in order; pipelined queries
 * (RFC 7766 6.2.1.1) are answered one after another as they arrive. */
static void conn_process(struct tcp_conn *c)
{
	size_t off = 0;
	/* A transfer in progress goes out whole before the next query. */
	while (c->len - off >= 2 && c->wqueued < TCP_WQUEUE_MAX && !c->closing && !c->xfr) {
		size_t flen = (size_t)c->buf[off] << 8 | c->buf[off + 1];
		if (c->len - off < 2 + flen)
			break;
		conn_answer(c, c->buf + off + 2, flen);
		off += 2 + flen;
		conn_touch(c);
	}
	if (c->closing)
		return;
	if (off > 0) {
		memmove(c->buf, c->buf + off, c->len - off);
		c->len -= off;
	}
	/* Make room for a frame longer than the buffer. */
	if (c->len >= 2) {
		size_t need = 2 + ((size_t)c->buf[0] << 8 | c->buf[1]);
		if (need > c->cap) {
			uint8_t *nb = realloc(c->buf, need);
			if (nb == NULL) {
				conn_close(c);
				return;
			}
			c->buf = nb;
			c->cap = need;
		}
	}

	bool want_read = !c->eof && c->wqueued < TCP_WQUEUE_MAX && !c->xfr;
	if (want_read && !c->reading) {
		if (uv_read_start((uv_stream_t *)&c->h, alloc_cb, read_cb) == 0)
			c->reading = true;
	} else if (!want_read && c->reading) {
		uv_read_stop((uv_stream_t *)&c->h);
		c->reading = false;
	}
	/* After EOF, close once every answer is out. */
	if (c->eof && c->wqueued == 0 && !c->xfr)
		conn_close(c);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct tcp_conn *c = (struct tcp_conn *)s;
	if (nread == UV_EOF) {
		c->eof = true;
		uv_read_stop(s);
		c->reading = false;
	} else if (nread < 0) {
		conn_close(c);
		return;
	} else {
		c->len += (size_t)nread;
	}
	conn_process(c);
}

static void accept_cb(uv_stream_t *server, int status)
{
	struct tcp_server *ts = server->data;
	if (status < 0 || ts->closing)
		return;

	struct tcp_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->ts = ts;
	if (uv_tcp_init(server->loop, &c->h) < 0) {
		free(c);
		return;
	}
	ts->nconns++;
	c->closing = false;
	list_append(ts, c);
	if (uv_accept(server, (uv_stream_t *)&c->h) < 0) {
		conn_close(c);
		return;
	}

	/* Over the limit: make room by closing the longest idle client. */
	unsigned max = cur_view(ts)->tcp_max_clients;
	while (ts->nconns > max && ts->head != c) {
		log_debug("TCP client limit %u reached, closing the oldest client", max);
		conn_close(ts->head);
	}

	struct sockaddr_storage ss;
	int sl = sizeof(ss);
	if (uv_tcp_getsockname(&c->h, (struct sockaddr *)&ss, &sl) == 0)
		c->v6 = ss.ss_family == AF_INET6;
	/* Cookies and steering need the client on every query: one syscall
	 * per connection, not per query. */
	sl = sizeof(c->peer);
	if (uv_tcp_getpeername(&c->h, (struct sockaddr *)&c->peer, &sl) != 0)
		c->peer.ss_family = AF_UNSPEC;
	uv_tcp_nodelay(&c->h, 1);
	conn_touch(c);
	conn_process(c);
}

int tcp_start(uv_loop_t *loop, struct serve_view *const *root, const struct vane_conf *conf,
	      struct tcp_server **out)
{
	int ret = VANE_ENOMEM;
	struct tcp_server *ts = aligned_alloc(64, (sizeof(*ts) + 63) & ~(size_t)63);
	if (ts == NULL)
		return ret;
	memset(ts, 0, sizeof(*ts));
	ts->loop = loop;
	ts->root = root;
	uv_timer_init(loop, &ts->timer);
	ts->timer.data = ts;
	ts->rng = rt_seed();
	ts->geo_cache = geo_cache_new(0);
	ts->cookie_mac = cookie_mac_new();
	dnstap_tap_init(&ts->tap, dnstap_current(), conf->nlisten * conf->udp_workers, -1, true);
	ts->listeners = calloc(conf->nlisten, sizeof(*ts->listeners));
	if (ts->listeners == NULL || ts->geo_cache == NULL || ts->cookie_mac == NULL)
		goto fail;

	for (unsigned i = 0; i < conf->nlisten; i++) {
		const struct conf_listen *l = &conf->listen[i];
		uv_tcp_t *h = &ts->listeners[i];
		ret = uv_tcp_init_ex(loop, h, l->addr.ss_family);
		if (ret < 0)
			goto fail;
		ts->nlisteners++;
		h->data = ts;
		unsigned flags = l->addr.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0;
		ret = uv_tcp_bind(h, (const struct sockaddr *)&l->addr, flags);
		if (ret == 0)
			ret = uv_listen((uv_stream_t *)h, 1024, accept_cb);
		if (ret < 0) {
			log_error("cannot listen on TCP %s: %s", l->text, uv_strerror(ret));
			goto fail;
		}
		log_info("listening on TCP %s", l->text);
	}
	*out = ts;
	return 0;
fail:
	/* Handles are closed by tcp_close; the caller still calls tcp_free. */
	*out = ts;
	return ret < 0 ? ret : VANE_EINVAL;
}

void tcp_close(struct tcp_server *ts)
{
	if (ts == NULL || ts->closing)
		return;
	ts->closing = true;
	for (unsigned i = 0; i < ts->nlisteners; i++)
		uv_close((uv_handle_t *)&ts->listeners[i], NULL);
	while (ts->head)
		conn_close(ts->head);
	uv_close((uv_handle_t *)&ts->timer, NULL);
}

void tcp_free(struct tcp_server *ts)
{
	if (ts == NULL)
		return;
	free(ts->listeners);
	geo_cache_free(ts->geo_cache);
	cookie_mac_free(ts->cookie_mac);
	free(ts);
}

struct srv_stats *tcp_stats(struct tcp_server *ts)
{
	return &ts->stats;
}

unsigned tcp_client_count(const struct tcp_server *ts)
{
	return ts ? ts->nconns : 0;
}
