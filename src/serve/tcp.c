/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "geo/geo.h"
#include "lib/cookie.h"
#include "lib/pkt.h"
#include "lib/rand.h"
#include "rt/clock.h"
#include "rt/log.h"
#include "serve/dnstap.h"
#include "serve/tcp.h"
#include "serve/xfr.h"

#define TCP_BUF_INIT 1024
#define TCP_FRAME_MAX (2 + DNS_MAXMSG)
/* Stop reading a client whose answers wait for their write callbacks;
 * past TCP_OUT_MAX not taken by the kernel the client is dropped anyway. */
#define TCP_WQUEUE_MAX (256 * 1024)
/* Queries are read only while the answers the kernel has not taken stay
 * under this: a client that pipelines and never reads then parks its
 * queries in its own socket buffers, not answers in our memory (each
 * answer waits with a uv_write_t, several times its size).  A client that
 * reads never gets near it: the kernel takes its answers at once. */
#define TCP_READ_PAUSE (4 * 1024)
#define TCP_ADDR_BUCKETS 1024   /* per-address counts; chains stay short */
/* The kernel's send buffer per connection (Linux doubles it: 64 KiB, the
 * TCP_OUT_MAX of unread answers).  Bounded so that a client that never
 * reads fills it soon and is dropped (conn_stalled), instead of parking
 * hundreds of KiB of answers in an autotuned buffer while it holds a slot
 * of the table.  A transfer gets TCP_SNDBUF_XFR when it starts, so that a
 * secondary far away is not held to 64 KiB per round trip. */
#define TCP_SNDBUF (32 * 1024)
#define TCP_SNDBUF_XFR (1024 * 1024)

/* Connections open from one client address (tcp-max-per-address). */
struct tcp_addr {
	struct tcp_addr *next;
	uint8_t key[17];             /* family (4 or 6), then the address */
	unsigned n;
};

/* A list of connections by deadline, oldest first. */
struct tcp_list {
	struct tcp_conn *head, *tail;
};

struct tcp_conn {
	uv_tcp_t h;                  /* first: handle->data is not needed */
	struct tcp_server *ts;
	struct tcp_conn *prev, *next; /* in ts->fresh or ts->live */
	struct tcp_addr *addr;       /* its per-address count; NULL: none */
	uint64_t last_active;        /* uv_now() of accept, the last query or write */
	uint8_t *buf;                /* received bytes not yet answered */
	size_t len, cap;
	size_t wqueued;              /* bytes of responses not yet written */
	uint64_t stalled_since;      /* uv_now() when the kernel last refused
				      * answers and has not taken all since; 0 */
	struct sockaddr_storage peer; /* the client, read once at accept */
	struct xfr_stream *xfr;      /* a transfer being sent, or NULL */
	bool v6;
	bool queried;                /* a query came: in ts->live, idle timeout */
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

/* The settings a reload may change, copied from the view when read. */
struct tcp_limits {
	uint32_t idle_ms, first_ms, max_clients, max_per_addr;
	uint64_t buffer_limit;
};

struct tcp_server {
	struct srv_stats stats;      /* first: cache-line aligned */
	struct tcp_counters cnt;
	uv_loop_t loop;              /* this server's own loop and thread */
	uv_thread_t thread;
	bool thread_on;
	bool stop_sent;              /* atomic: tcp_close sends `stop` once */
	uv_async_t stop;
	struct serve_view *const *root;
	struct tcp_limits lim;
	uv_tcp_t *listeners;
	unsigned nlisteners;
	uv_timer_t timer;
	struct tcp_list fresh;       /* no query yet: first-query deadline */
	struct tcp_list live;        /* by last activity: idle timeout */
	unsigned nconns;             /* atomic: read by the main thread */
	uint64_t mem;                /* atomic: bytes held in buffers */
	bool closing;
	uint64_t rng;                /* splitmix64 state for steering decisions */
	uint64_t hash_seed;          /* per-address table: not predictable */
	struct tcp_addr *addrs[TCP_ADDR_BUCKETS];
	struct geo_cache *geo_cache; /* this thread's geo lookups */
	struct cookie_mac *cookie_mac; /* this thread's SipHash for DNS cookies */
	struct dnstap_tap tap;       /* dnstap: the last queue; off: dt NULL */
	uint8_t answer[TCP_FRAME_MAX];
};

/*
 * QSBR: the thread is offline except while it reads the view, so neither
 * a blocked poll nor a callback that does not touch the view can hold a
 * grace period.  uv_prepare/uv_check hooks would not do: libuv runs the
 * I/O callbacks inside the poll phase, between those two hooks.
 */
static void limits_copy(struct tcp_server *ts, const struct serve_view *v)
{
	ts->lim = (struct tcp_limits){
		.idle_ms = v->tcp_idle_timeout_ms, .first_ms = v->tcp_first_query_ms,
		.max_clients = v->tcp_max_clients, .max_per_addr = v->tcp_max_per_addr,
		.buffer_limit = v->tcp_buffer_limit,
	};
}

static const struct serve_view *view_enter(struct tcp_server *ts)
{
	rcu_thread_online();
	const struct serve_view *v = rcu_dereference(*ts->root);
	limits_copy(ts, v);
	return v;
}

static void view_leave(void)
{
	rcu_thread_offline();
}

static void limits_refresh(struct tcp_server *ts)
{
	view_enter(ts);
	view_leave();
}

/* ---- memory accounting (tcp-buffer-limit) ---- */

static bool mem_take(struct tcp_server *ts, size_t n)
{
	if (ts->mem + n > ts->lim.buffer_limit)
		return false;
	__atomic_store_n(&ts->mem, ts->mem + n, __ATOMIC_RELAXED);
	return true;
}

static void mem_give(struct tcp_server *ts, size_t n)
{
	__atomic_store_n(&ts->mem, ts->mem - n, __ATOMIC_RELAXED);
}

/* ---- per-address counts (tcp-max-per-address) ---- */

static size_t addr_key(const struct sockaddr_storage *ss, uint8_t key[17])
{
	memset(key, 0, 17);
	if (ss->ss_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		key[0] = 6;
		memcpy(key + 1, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	} else {
		return 0;
	}
	return 17;
}

static unsigned addr_bucket(const struct tcp_server *ts, const uint8_t key[17])
{
	uint64_t h = ts->hash_seed ^ 0xcbf29ce484222325ULL;
	for (unsigned i = 0; i < 17; i++)
		h = (h ^ key[i]) * 0x100000001b3ULL;
	h ^= h >> 29;
	return (unsigned)(h & (TCP_ADDR_BUCKETS - 1));
}

/* The count of `key`, made when missing; NULL when out of memory. */
static struct tcp_addr *addr_get(struct tcp_server *ts, const uint8_t key[17])
{
	unsigned b = addr_bucket(ts, key);
	for (struct tcp_addr *a = ts->addrs[b]; a; a = a->next)
		if (memcmp(a->key, key, 17) == 0)
			return a;
	struct tcp_addr *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	memcpy(a->key, key, 17);
	a->next = ts->addrs[b];
	ts->addrs[b] = a;
	return a;
}

static void addr_put(struct tcp_server *ts, struct tcp_addr *a)
{
	if (--a->n > 0)
		return;
	for (struct tcp_addr **p = &ts->addrs[addr_bucket(ts, a->key)]; *p; p = &(*p)->next) {
		if (*p == a) {
			*p = a->next;
			free(a);
			return;
		}
	}
}

/* ---- connection lists and deadlines (RFC 7766 section 6.2.3) ---- */

static void list_unlink(struct tcp_list *l, struct tcp_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->prev = c->next = NULL;
}

static void list_append(struct tcp_list *l, struct tcp_conn *c)
{
	c->prev = l->tail;
	c->next = NULL;
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
}

static struct tcp_list *conn_list(struct tcp_server *ts, struct tcp_conn *c)
{
	return c->queried ? &ts->live : &ts->fresh;
}

static uint64_t conn_deadline(const struct tcp_server *ts, const struct tcp_conn *c)
{
	return c->last_active + (c->queried ? ts->lim.idle_ms : ts->lim.first_ms);
}

static void sweep_cb(uv_timer_t *timer);

/* Run the sweep when the earliest deadline of both lists passes. */
static void timer_arm(struct tcp_server *ts)
{
	uint64_t now = uv_now(&ts->loop), due = UINT64_MAX;
	if (ts->fresh.head)
		due = conn_deadline(ts, ts->fresh.head);
	if (ts->live.head && conn_deadline(ts, ts->live.head) < due)
		due = conn_deadline(ts, ts->live.head);
	if (due == UINT64_MAX || ts->closing)
		uv_timer_stop(&ts->timer);
	else
		uv_timer_start(&ts->timer, sweep_cb, due > now ? due - now : 0, 0);
}

/* Mark `c` active now: a query or a write.  It moves to the young end of
 * the live list, out of the first-query deadline. */
static void conn_touch(struct tcp_conn *c, bool query)
{
	struct tcp_server *ts = c->ts;
	list_unlink(conn_list(ts, c), c);
	c->queried |= query;
	c->last_active = uv_now(&ts->loop);
	list_append(conn_list(ts, c), c);
	if (!uv_is_active((uv_handle_t *)&ts->timer))
		timer_arm(ts);
}

static void conn_close_cb(uv_handle_t *h)
{
	struct tcp_conn *c = (struct tcp_conn *)h;
	mem_give(c->ts, c->cap + sizeof(*c));
	xfr_stream_free(c->xfr);
	free(c->buf);
	free(c);
}

static void conn_close(struct tcp_conn *c)
{
	struct tcp_server *ts = c->ts;
	if (c->closing)
		return;
	c->closing = true;
	list_unlink(conn_list(ts, c), c);
	if (c->addr)
		addr_put(ts, c->addr);
	c->addr = NULL;
	__atomic_store_n(&ts->nconns, ts->nconns - 1, __ATOMIC_RELAXED);
	uv_close((uv_handle_t *)&c->h, conn_close_cb);
}

/* Close every connection past its deadline, then wait for the next one. */
static void sweep_cb(uv_timer_t *timer)
{
	struct tcp_server *ts = timer->data;
	uint64_t now = uv_now(&ts->loop);
	limits_refresh(ts);
	while (ts->fresh.head && conn_deadline(ts, ts->fresh.head) <= now) {
		ts->cnt.closed_first_query++;
		conn_close(ts->fresh.head);
	}
	while (ts->live.head && conn_deadline(ts, ts->live.head) <= now) {
		struct tcp_conn *c = ts->live.head;
		/* Answers still unsent at its deadline: with its reads paused,
		 * no write completes to find it stalled, so it is the same
		 * client that does not read its answers. */
		if (!c->xfr && uv_stream_get_write_queue_size((uv_stream_t *)&c->h) > 0)
			ts->cnt.dropped_output++;
		else
			ts->cnt.closed_idle++;
		conn_close(c);
	}
	timer_arm(ts);
}

/* ---- queries and answers ---- */

static void conn_process(struct tcp_conn *c);
static void conn_pump(struct tcp_conn *c);

/* A client whose answers the kernel keeps refusing for longer than the
 * first-query deadline is not reading them, even if it takes a few bytes
 * now and then: each trickle would otherwise count as activity and keep it
 * past the idle timeout, holding a slot of the table.  True: closed. */
static bool conn_stalled(struct tcp_conn *c)
{
	if (c->xfr)
		return false;   /* a transfer paces itself on the queue */
	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->h) == 0) {
		c->stalled_since = 0;
		return false;
	}
	uint64_t now = uv_now(&c->ts->loop);
	if (c->stalled_since == 0) {
		c->stalled_since = now;
		return false;
	}
	if (now - c->stalled_since < c->ts->lim.first_ms)
		return false;
	c->ts->cnt.dropped_output++;
	conn_close(c);
	return true;
}

static void write_cb(uv_write_t *req, int status)
{
	struct tcp_write *w = (struct tcp_write *)req;
	struct tcp_conn *c = w->conn;
	c->wqueued -= w->len;
	mem_give(c->ts, sizeof(*w) + w->len);
	free(w);
	if (c->closing)
		return;
	if (status < 0) {
		conn_close(c);
		return;
	}
	if (conn_stalled(c))
		return;
	conn_touch(c, false);
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

/* Queue one response (`len` bytes at `msg`) with its length prefix.  Every
 * answer held counts against tcp-buffer-limit: past it this connection
 * goes, the others keep theirs.  `paced`: a transfer's message, sent only
 * when the kernel took the last one, so it is never a reader's backlog. */
static bool conn_send(struct tcp_conn *c, const uint8_t *msg, size_t len, bool paced)
{
	struct tcp_server *ts = c->ts;
	struct tcp_write *w = NULL;
	if (!mem_take(ts, sizeof(*w) + 2 + len)) {
		ts->cnt.dropped_memory++;
		conn_close(c);
		return false;
	}
	w = malloc(sizeof(*w) + 2 + len);
	if (w == NULL) {
		mem_give(ts, sizeof(*w) + 2 + len);
		ts->stats.dropped++;
		return false;
	}
	w->conn = c;
	w->len = 2 + len;
	w->data[0] = (uint8_t)(len >> 8);
	w->data[1] = (uint8_t)len;
	memcpy(w->data + 2, msg, len);
	uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);
	if (uv_write(&w->req, (uv_stream_t *)&c->h, &b, 1, write_cb) < 0) {
		mem_give(ts, sizeof(*w) + w->len);
		free(w);
		conn_close(c);
		return false;
	}
	c->wqueued += w->len;
	if (!paced && conn_stalled(c))
		return false;
	/* What the kernel would not take is what the client has not read:
	 * a client that sends and never reads is dropped, not buffered.  The
	 * kernel holds TCP_SNDBUF (doubled by Linux) before it refuses, so
	 * anything left in our queue means over TCP_OUT_MAX unread already. */
	if (!paced && uv_stream_get_write_queue_size((uv_stream_t *)&c->h) > TCP_READ_PAUSE) {
		ts->cnt.dropped_output++;
		conn_close(c);
		return false;
	}
	return true;
}

/* Send the next messages of a transfer while the client keeps reading:
 * a large zone never sits in memory whole.  The stream holds its zone
 * version by reference, so this needs no RCU read side. */
static void conn_pump(struct tcp_conn *c)
{
	struct tcp_server *ts = c->ts;
	uint64_t now = (uint64_t)time(NULL);
	while (c->xfr && !c->closing && c->wqueued < TCP_WQUEUE_MAX / 2 &&
	       uv_stream_get_write_queue_size((uv_stream_t *)&c->h) == 0) {
		size_t len = xfr_next(c->xfr, ts->answer + 2, DNS_MAXMSG, now);
		if (len == 0) {
			xfr_stream_free(c->xfr);
			c->xfr = NULL;
			break;
		}
		if (!conn_send(c, ts->answer + 2, len, true))
			return;
		stats_size(&ts->stats, len);
	}
}

/* A transfer or a signed query (serve/xfr.c), inside the view's read
 * side.  Returns the length of the reply now in the answer buffer, 0 when
 * a stream started or nothing is sent, or `len` to keep the answer. */
static size_t conn_xfr(struct tcp_conn *c, const struct serve_view *view,
		       const struct auth_client *cl, const uint8_t *q, size_t qlen, size_t len)
{
	struct tcp_server *ts = c->ts;
	struct serve_reanswer ra = { view, cl, true };
	uint8_t *buf = malloc(DNS_MAXMSG);
	if (!buf)
		return 0;
	size_t out = 0;
	struct xfr_stream *s = NULL;
	enum xfr_verdict v = xfr_request(view->xfr, (const struct sockaddr *)&c->peer, q, qlen,
					 true, (uint64_t)time(NULL), serve_reanswer, &ra, buf,
					 DNS_MAXMSG, &out, &s);
	if (v == XFR_REPLY)
		memcpy(ts->answer + 2, buf, out);
	free(buf);
	if (v == XFR_STREAM) {
		c->xfr = s;
		int sndbuf = TCP_SNDBUF_XFR;
		(void)uv_send_buffer_size((uv_handle_t *)&c->h, &sndbuf);
		conn_pump(c);
		return 0;
	}
	return v == XFR_NONE ? len : v == XFR_REPLY ? out : 0;
}

static void conn_answer(struct tcp_conn *c, const struct serve_view *view, const uint8_t *q,
			size_t qlen)
{
	struct tcp_server *ts = c->ts;
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
		len = conn_xfr(c, view, st ? &cl : NULL, q, qlen, len);
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
	if (res.node)
		znode_mark_queried(res.node, (uint32_t)(cl.now_ms / 1000));
	if (res.service >= 0)
		stats_steered(&ts->stats, view->slots, &res);
	if (dnstap_tap_pick(&ts->tap))
		tcp_tap(c, q, qlen, ts->answer + 2, len);
	conn_send(c, ts->answer + 2, len, false);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct tcp_conn *c = (struct tcp_conn *)h;
	if (c->buf == NULL && mem_take(c->ts, TCP_BUF_INIT)) {
		c->buf = malloc(TCP_BUF_INIT);
		if (c->buf)
			c->cap = TCP_BUF_INIT;
		else
			mem_give(c->ts, TCP_BUF_INIT);
	}
	/* An empty buffer makes libuv report UV_ENOBUFS to read_cb. */
	*buf = uv_buf_init((char *)c->buf + c->len, (unsigned)(c->cap - c->len));
}

/* Make room for the frame at the start of the buffer; false: close. */
static bool conn_room(struct tcp_conn *c)
{
	if (c->len < 2)
		return true;
	size_t need = 2 + ((size_t)c->buf[0] << 8 | c->buf[1]);
	if (need <= c->cap)
		return true;
	if (!mem_take(c->ts, need - c->cap)) {
		c->ts->cnt.dropped_memory++;
		return false;
	}
	uint8_t *nb = realloc(c->buf, need);
	if (nb == NULL) {
		mem_give(c->ts, need - c->cap);
		return false;
	}
	c->buf = nb;
	c->cap = need;
	return true;
}

/* Answer every complete frame in the buffer, in order; pipelined queries
 * (RFC 7766 section 6.2.1.1) are answered one after another as they arrive. */
static void conn_process(struct tcp_conn *c)
{
	size_t off = 0;
	const struct serve_view *view = view_enter(c->ts);
	/* A transfer in progress goes out whole before the next query. */
	while (c->len - off >= 2 && c->wqueued < TCP_READ_PAUSE && !c->closing && !c->xfr) {
		size_t flen = (size_t)c->buf[off] << 8 | c->buf[off + 1];
		if (c->len - off < 2 + flen)
			break;
		conn_answer(c, view, c->buf + off + 2, flen);
		off += 2 + flen;
		if (!c->closing)
			conn_touch(c, true);
	}
	view_leave();
	if (c->closing)
		return;
	if (off > 0) {
		memmove(c->buf, c->buf + off, c->len - off);
		c->len -= off;
	}
	if (!conn_room(c)) {
		conn_close(c);
		return;
	}

	bool want_read = !c->eof && c->wqueued < TCP_READ_PAUSE && !c->xfr;
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
	} else if (nread == UV_ENOBUFS) {
		c->ts->cnt.dropped_memory++;
		conn_close(c);
		return;
	} else if (nread < 0) {
		conn_close(c);
		return;
	} else {
		c->len += (size_t)nread;
	}
	conn_process(c);
}

/* ---- accepting ---- */

static void refuse_close_cb(uv_handle_t *h)
{
	free(h);
}

/* Take the connection off the backlog and close it at once: refusing
 * costs the client its attempt, not a live client its connection. */
static void refuse(uv_stream_t *server)
{
	uv_tcp_t *h = malloc(sizeof(*h));
	if (h == NULL || uv_tcp_init(server->loop, h) < 0) {
		free(h);
		return;
	}
	(void)uv_accept(server, (uv_stream_t *)h);
	uv_close((uv_handle_t *)h, refuse_close_cb);
}

/* How far into the live list (oldest activity first) a full table looks
 * for a client that does not read: those stop counting as active, so they
 * sink to the head.  Bounded: a full table of readers costs little. */
#define TCP_EVICT_SCAN 64
/* A client whose answers waited this long in our queue has stopped reading
 * (a reader on a slow path drains within a few round trips); knotd's
 * tcp-io-timeout drops such clients after the same 500 ms, table full or
 * not. */
#define TCP_EVICT_STALL_MS 500

/*
 * The table is full: close the client whose answers the kernel has
 * refused the longest, if for TCP_EVICT_STALL_MS at least, so that a
 * newcomer is answered at once.  With its reads paused,
 * no write completes for conn_stalled to find it, and it would hold its
 * slot until its idle timeout.  Clients that read are never closed to make
 * room (RFC 7766 section 6.2.2 lets a server close idle connections; one
 * that does not take its answers is no live client).  True: room made.
 */
static bool evict_stalled(struct tcp_server *ts)
{
	uint64_t now = uv_now(&ts->loop);
	struct tcp_conn *victim = NULL;
	unsigned looked = 0;
	for (struct tcp_conn *c = ts->live.head; c && looked < TCP_EVICT_SCAN;
	     c = c->next, looked++) {
		if (c->xfr || c->stalled_since == 0 || now - c->stalled_since < TCP_EVICT_STALL_MS ||
		    uv_stream_get_write_queue_size((uv_stream_t *)&c->h) == 0)
			continue;
		if (!victim || c->stalled_since < victim->stalled_since)
			victim = c;
	}
	if (!victim)
		return false;
	ts->cnt.dropped_output++;
	conn_close(victim);
	return true;
}

static void accept_cb(uv_stream_t *server, int status)
{
	struct tcp_server *ts = server->data;
	if (status < 0 || ts->closing)
		return;
	limits_refresh(ts);
	if (ts->nconns >= ts->lim.max_clients && !evict_stalled(ts)) {
		ts->cnt.refused_full++;
		refuse(server);
		return;
	}

	struct tcp_conn *c = calloc(1, sizeof(*c));
	if (c == NULL || !mem_take(ts, sizeof(*c))) {
		if (c)
			ts->cnt.dropped_memory++;
		free(c);
		refuse(server);
		return;
	}
	c->ts = ts;
	if (uv_tcp_init(server->loop, &c->h) < 0) {
		mem_give(ts, sizeof(*c));
		free(c);
		/* libuv stops accepting until this one is taken: take it. */
		refuse(server);
		return;
	}
	__atomic_store_n(&ts->nconns, ts->nconns + 1, __ATOMIC_RELAXED);
	c->last_active = uv_now(&ts->loop);
	list_append(&ts->fresh, c);
	if (uv_accept(server, (uv_stream_t *)&c->h) < 0) {
		conn_close(c);
		return;
	}

	struct sockaddr_storage ss;
	int sl = sizeof(ss);
	uint8_t key[17];
	/* The client is read once per connection: cookies, steering and
	 * transfers need it on every query. */
	if (uv_tcp_getpeername(&c->h, (struct sockaddr *)&ss, &sl) != 0)
		ss.ss_family = AF_UNSPEC;
	c->peer = ss;
	if (ss.ss_family != AF_UNSPEC && addr_key(&ss, key)) {
		c->v6 = ss.ss_family == AF_INET6;
		/* max_per_addr >= 1: a count at the limit is never empty. */
		struct tcp_addr *a = addr_get(ts, key);
		if (a == NULL || a->n >= ts->lim.max_per_addr) {
			ts->cnt.refused_per_address++;
			conn_close(c);
			return;
		}
		a->n++;
		c->addr = a;
	}
	ts->cnt.accepted++;
	uv_tcp_nodelay(&c->h, 1);
	int sndbuf = TCP_SNDBUF;
	(void)uv_send_buffer_size((uv_handle_t *)&c->h, &sndbuf);
	timer_arm(ts);
	conn_process(c);
}

/* ---- the thread ---- */

static void close_all(struct tcp_server *ts)
{
	ts->closing = true;
	for (unsigned i = 0; i < ts->nlisteners; i++)
		uv_close((uv_handle_t *)&ts->listeners[i], NULL);
	while (ts->fresh.head)
		conn_close(ts->fresh.head);
	while (ts->live.head)
		conn_close(ts->live.head);
	uv_close((uv_handle_t *)&ts->timer, NULL);
	uv_close((uv_handle_t *)&ts->stop, NULL);
}

static void stop_cb(uv_async_t *a)
{
	close_all(a->data);
}

/* Under a TCP flood that saturates the CPU, the control socket, the HTTP
 * API, health probes and UDP must still get it: the TCP loop yields to
 * them (a nice of its own; Linux applies it per thread). */
#define TCP_THREAD_NICE 5

static void tcp_thread(void *arg)
{
	struct tcp_server *ts = arg;
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), TCP_THREAD_NICE);
	rcu_register_thread();
	rcu_thread_offline();
	uv_run(&ts->loop, UV_RUN_DEFAULT);
	rcu_thread_online();
	rcu_unregister_thread();
}

static void tcp_destroy(struct tcp_server *ts)
{
	/* Every handle is closed: let the loop finish the close callbacks. */
	uv_run(&ts->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&ts->loop) != 0)
		log_debug("TCP loop closed with handles open");
	for (unsigned i = 0; i < TCP_ADDR_BUCKETS; i++) {
		while (ts->addrs[i]) {
			struct tcp_addr *a = ts->addrs[i];
			ts->addrs[i] = a->next;
			free(a);
		}
	}
	free(ts->listeners);
	geo_cache_free(ts->geo_cache);
	cookie_mac_free(ts->cookie_mac);
	free(ts);
}

int tcp_start(struct serve_view *const *root, const struct vane_conf *conf,
	      struct tcp_server **out)
{
	int ret = VANE_ENOMEM;
	*out = NULL;
	struct tcp_server *ts = aligned_alloc(64, (sizeof(*ts) + 63) & ~(size_t)63);
	if (ts == NULL)
		return ret;
	memset(ts, 0, sizeof(*ts));
	if (uv_loop_init(&ts->loop) < 0) {
		free(ts);
		return ret;
	}
	ts->root = root;
	uv_timer_init(&ts->loop, &ts->timer);
	ts->timer.data = ts;
	uv_async_init(&ts->loop, &ts->stop, stop_cb);
	ts->stop.data = ts;
	ts->rng = rt_seed();
	ts->hash_seed = rt_seed();
	/* The calling thread publishes the views, and has published the
	 * first: it reads the limits plainly. */
	limits_copy(ts, *root);
	ts->geo_cache = geo_cache_new(0);
	/* Made here, used by the TCP thread alone from now on. */
	ts->cookie_mac = cookie_mac_new();
	dnstap_tap_init(&ts->tap, dnstap_current(), conf->nlisten * conf->udp_workers, -1, true);
	ts->listeners = calloc(conf->nlisten, sizeof(*ts->listeners));
	if (ts->listeners == NULL || ts->geo_cache == NULL || ts->cookie_mac == NULL)
		goto fail;

	for (unsigned i = 0; i < conf->nlisten; i++) {
		const struct conf_listen *l = &conf->listen[i];
		uv_tcp_t *h = &ts->listeners[i];
		ret = uv_tcp_init_ex(&ts->loop, h, l->addr.ss_family);
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
	ret = uv_thread_create(&ts->thread, tcp_thread, ts);
	if (ret < 0)
		goto fail;
	ts->thread_on = true;
	*out = ts;
	return 0;
fail:
	close_all(ts);
	tcp_destroy(ts);
	return ret < 0 ? ret : VANE_EINVAL;
}

void tcp_close(struct tcp_server *ts)
{
	/* Once only: the TCP thread closes `stop` when it gets it. */
	if (ts != NULL && !__atomic_exchange_n(&ts->stop_sent, true, __ATOMIC_ACQ_REL))
		uv_async_send(&ts->stop);
}

void tcp_free(struct tcp_server *ts)
{
	if (ts == NULL)
		return;
	if (ts->thread_on) {
		tcp_close(ts);   /* in case nobody did */
		uv_thread_join(&ts->thread);
	}
	tcp_destroy(ts);
}

struct srv_stats *tcp_stats(struct tcp_server *ts)
{
	return &ts->stats;
}

const struct tcp_counters *tcp_counters(const struct tcp_server *ts)
{
	return &ts->cnt;
}

unsigned tcp_client_count(const struct tcp_server *ts)
{
	return ts ? __atomic_load_n(&ts->nconns, __ATOMIC_RELAXED) : 0;
}

uint64_t tcp_buffer_bytes(const struct tcp_server *ts)
{
	return ts ? __atomic_load_n(&ts->mem, __ATOMIC_RELAXED) : 0;
}
