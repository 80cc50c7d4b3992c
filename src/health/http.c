/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * http and https probes.  Plain http uses our own client (http_plain.c):
 * libcurl's bookkeeping was most of a probe's CPU.  https uses
 * libcurl multi handles driven by a libuv loop of
 * their own on one probe thread (CURLMOPT_SOCKETFUNCTION -> uv_poll per
 * socket, CURLMOPT_TIMERFUNCTION -> one uv_timer), as curl's multi-uv
 * example does.  A socket event costs one curl_multi_socket_action on that
 * socket, and finished transfers are picked up from curl_multi_info_read's
 * queue.
 *
 * The thread keeps thousands of probes every 2 s (libcurl's work and the
 * socket system calls: most of the probes' CPU) off the main loop, which
 * serves the control socket, reloads and the steering decisions.  The main
 * loop still owns the targets, their timers and their states (health.c);
 * the two talk through two queues under one mutex, each with a uv_async:
 * "start / cancel / free this probe" to the thread, "this probe finished"
 * back.  Queues are arrays that keep their capacity, so steady state
 * allocates nothing.  The probe thread never touches a target: what it
 * needs of the check is copied into the probe when it is made.
 *
 * Each target keeps its easy handle from one probe to the next (created at
 * its first probe, freed with the target), so a probe every 2 s reuses the
 * kept-alive connection (and TLS session) from the multi handle's cache
 * and allocates nothing of ours in steady state.  The endpoint's address is
 * pinned with CURLOPT_CONNECT_TO rather than CURLOPT_RESOLVE: endpoints of
 * one service share a Host name, and curl matches cached connections (and
 * its shared DNS cache) by host name, but connect-to targets by address.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/prctl.h>
#include <unistd.h>
#include <sys/resource.h>

#include <curl/curl.h>

#include "health/health.h"
#include "health/http_plain.h"
#include "rt/log.h"

#define HTTP_BODY_MAX 65536   /* body kept for the substring check */

/* A socket's poll handle.  Curl says "stop watching" (CURL_POLL_REMOVE)
 * after every transfer, and a kept-alive connection's next probe watches
 * it again: for the sockets curl opened through us (`kept`), the handle
 * lives until curl closes the socket, so a probe costs no allocation, no
 * FIONBIO and no epoll delete and add. */
struct http_sock {
	uv_poll_t poll;
	curl_socket_t fd;
	bool kept;                    /* opened by open_cb: closed by close_cb */
	struct http_shard *hh;
	struct http_sock *prev, *next;
};

/* One multi handle and what drives it.  libcurl 7.88 keeps its connection
 * and DNS caches in fixed-size hash tables per multi handle, walked on every
 * transfer; a few hundred targets per multi keep those walks short. */
struct http_shard {
	struct health_http *all;
	CURLM *multi;
	uv_timer_t timer;
	struct http_sock *socks;      /* every poll handle, to close them at the end */
};

#define HTTP_SHARDS 16

enum http_op { OP_START, OP_CANCEL, OP_FREE };

struct http_req {                     /* main loop -> probe thread */
	enum http_op op;
	uint32_t gen;                 /* OP_START: the probe's number */
	struct probe_http *p;
};

struct http_result {                  /* probe thread -> main loop */
	struct probe_http *p;
	uint32_t gen;                 /* of the probe that finished */
	bool ok, freed;               /* freed: the thread is done with p */
	char msg[HEALTH_ERR_MAX];
};

/* One uv_async_send per loop iteration, not one per message: 2,500 probes
 * a second would otherwise wake the other thread 2,500 times each way.
 * Messages queued in the timer phase go before the loop polls (prepare),
 * those queued by I/O callbacks after it (check). */
struct http_flush {
	uv_prepare_t prep;
	uv_check_t check;
	uv_async_t *to;
	bool due;
};

/* A queue that keeps its capacity (grown under the lock, never shrunk). */
struct http_queue {
	void *item;
	size_t n, cap, size;
};

struct health_http {
	struct health_mon *mon;       /* main loop side */
	uv_thread_t thread;
	bool thread_on, stop;         /* stop: under lock */
	uv_loop_t loop;               /* the probe thread's */
	uv_async_t wake;              /* probe thread: requests are waiting */
	uv_async_t done;              /* main loop: results are waiting */
	struct http_flush to_thread;  /* main loop's, sends `wake` */
	struct http_flush to_main;    /* probe thread's, sends `done` */
	unsigned main_open;           /* main loop handles not yet closed */
	uv_mutex_t lock;              /* both queues and stop */
	struct http_queue req, res;   /* under lock */
	struct http_queue req_run, res_run; /* swapped out, read unlocked */
	unsigned next;                /* shard of the next new target (main loop) */
	struct http_sock **byfd;      /* probe thread: open sockets' handles by fd */
	size_t nbyfd;
	struct http_shard shard[HTTP_SHARDS];
};

struct probe_http {
	struct health_target *t;      /* main loop only */
	struct plain_probe *plain;    /* plain http: our own client, no easy handle */
	uv_timer_t timer;             /* probe thread: the check's timeout */
	bool timer_on;                /* initialised on the probe thread */
	uint32_t timeout_ms;
	uint64_t deadline;            /* probe thread loop time */
	bool stall_grace;
	struct http_shard *shard;
	CURL *easy;
	struct curl_slist *connect_to;
	uint32_t gen;                 /* main loop: the probe in flight */
	uint32_t run_gen;             /* probe thread: the probe it runs */
	bool dead;                    /* main loop: freed by the target, thread told */
	/* Copied from the check for the probe thread, which never reads t. */
	bool https;
	int expect;
	char want[sizeof(((struct probe_conf *)0)->body)];
	char *body;                   /* probe thread only from here on */
	size_t len, cap;              /* cap is kept between probes */
	bool busy;                    /* added to the multi handle */
	char errbuf[CURL_ERROR_SIZE];
};

/* ---- the queues between the two threads ---- */

static int queue_push(struct http_queue *q, const void *item)
{
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		void *ni = realloc(q->item, cap * q->size);
		if (ni == NULL)
			return VANE_ENOMEM;
		q->item = ni;
		q->cap = cap;
	}
	memcpy((char *)q->item + q->n++ * q->size, item, q->size);
	return 0;
}

/* Swap the filled queue `q` (under the lock) with the drained `run`. */
static void queue_take(struct http_queue *q, struct http_queue *run)
{
	struct http_queue tmp = *run;
	*run = *q;
	*q = tmp;
	q->n = 0;
}

/* Main loop: ask the probe thread to do `op` on `p`. */
static int request(struct health_http *all, enum http_op op, struct probe_http *p)
{
	struct http_req r = { .op = op, .gen = p->gen, .p = p };
	uv_mutex_lock(&all->lock);
	int ret = queue_push(&all->req, &r);
	uv_mutex_unlock(&all->lock);
	if (ret == 0)
		all->to_thread.due = true;
	return ret;
}

/* Probe thread: hand a result to the main loop.  A result that cannot be
 * queued is dropped; the target's own timeout then fails that probe. */
static void respond(struct health_http *all, const struct http_result *r)
{
	uv_mutex_lock(&all->lock);
	int ret = queue_push(&all->res, r);
	uv_mutex_unlock(&all->lock);
	if (ret == 0)
		all->to_main.due = true;
}

static void flush_now(struct http_flush *f)
{
	if (f->due) {
		f->due = false;
		uv_async_send(f->to);
	}
}

static void flush_prep(uv_prepare_t *h)
{
	flush_now(h->data);
}

static void flush_check(uv_check_t *h)
{
	flush_now(h->data);
}

/* Unreferenced: they never keep a loop running on their own. */
static void flush_init(struct http_flush *f, uv_loop_t *loop, uv_async_t *to)
{
	f->to = to;
	uv_prepare_init(loop, &f->prep);
	uv_check_init(loop, &f->check);
	f->prep.data = f->check.data = f;
	uv_prepare_start(&f->prep, flush_prep);
	uv_check_start(&f->check, flush_check);
	uv_unref((uv_handle_t *)&f->prep);
	uv_unref((uv_handle_t *)&f->check);
}

static void flush_close(struct http_flush *f, uv_close_cb cb)
{
	uv_close((uv_handle_t *)&f->prep, cb);
	uv_close((uv_handle_t *)&f->check, cb);
}

/* ---- probe thread: libcurl on its own loop ---- */

static void sock_closed(uv_handle_t *h)
{
	free(h->data);
}

static void sock_close(struct http_sock *s)
{
	struct http_shard *hh = s->hh;
	struct health_http *all = hh->all;
	if ((size_t)s->fd < all->nbyfd && all->byfd[s->fd] == s)
		all->byfd[s->fd] = NULL;
	if (s->prev)
		s->prev->next = s->next;
	else
		hh->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	uv_poll_stop(&s->poll);
	uv_close((uv_handle_t *)&s->poll, sock_closed);
}

/* The check's verdict on a whole response (either client). */
static void judge(const struct probe_http *p, struct http_result *r, long status,
		  const char *body, size_t len)
{
	if (status != p->expect)
		snprintf(r->msg, sizeof(r->msg), "http status %ld, expected %d", status, p->expect);
	else if (p->want[0] && (!body || !memmem(body, len, p->want, strlen(p->want))))
		snprintf(r->msg, sizeof(r->msg), "http body does not contain \"%.64s\"", p->want);
	else
		r->ok = true;
}

static void http_finish(struct http_shard *hh, CURL *easy, CURLcode result)
{
	struct probe_http *p = NULL;
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&p);
	curl_multi_remove_handle(hh->multi, easy);
	p->busy = false;
	uv_timer_stop(&p->timer);
	struct http_result r = { .p = p, .gen = p->run_gen };
	if (result != CURLE_OK) {
		snprintf(r.msg, sizeof(r.msg), "%s: %.140s", p->https ? "https" : "http",
			 p->errbuf[0] ? p->errbuf : curl_easy_strerror(result));
	} else {
		long status = 0;
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
		judge(p, &r, status, p->body, p->len);
	}
	respond(hh->all, &r);
}

/* http_plain.c finished a probe (plain http). */
static void plain_done(void *ctx, const char *err, long status, const char *body, size_t len)
{
	struct probe_http *p = ctx;
	p->busy = false;
	uv_timer_stop(&p->timer);
	struct http_result r = { .p = p, .gen = p->run_gen };
	if (err)
		snprintf(r.msg, sizeof(r.msg), "%s", err);
	else
		judge(p, &r, status, body, len);
	respond(p->shard->all, &r);
}

static void check_done(struct http_shard *hh)
{
	CURLMsg *m;
	int pending;
	while ((m = curl_multi_info_read(hh->multi, &pending)))
		if (m->msg == CURLMSG_DONE)
			http_finish(hh, m->easy_handle, m->data.result);
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
	struct http_sock *s = h->data;
	struct http_shard *hh = s->hh;
	int flags = 0, running;
	if (status < 0)
		flags = CURL_CSELECT_ERR;
	else {
		if (events & UV_READABLE)
			flags |= CURL_CSELECT_IN;
		if (events & UV_WRITABLE)
			flags |= CURL_CSELECT_OUT;
	}
	curl_multi_socket_action(hh->multi, s->fd, flags, &running);
	check_done(hh);
}

static struct http_sock *sock_new(struct http_shard *hh, curl_socket_t fd, bool kept)
{
	struct health_http *all = hh->all;
	if (fd < 0)
		return NULL;
	if ((size_t)fd >= all->nbyfd) {
		size_t n = all->nbyfd ? all->nbyfd : 1024;
		while (n <= (size_t)fd)
			n *= 2;
		struct http_sock **nb = realloc(all->byfd, n * sizeof(*nb));
		if (nb == NULL)
			return NULL;
		memset(nb + all->nbyfd, 0, (n - all->nbyfd) * sizeof(*nb));
		all->byfd = nb;
		all->nbyfd = n;
	}
	struct http_sock *s = calloc(1, sizeof(*s));
	if (s == NULL || uv_poll_init_socket(&all->loop, &s->poll, fd) < 0) {
		free(s);
		return NULL;
	}
	s->fd = fd;
	s->kept = kept;
	s->hh = hh;
	s->poll.data = s;
	s->next = hh->socks;
	if (hh->socks)
		hh->socks->prev = s;
	hh->socks = s;
	all->byfd[fd] = s;
	return s;
}

/* CURLOPT_OPENSOCKETFUNCTION: the socket and its poll handle, made once
 * per connection. */
static curl_socket_t open_cb(void *userp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct http_shard *hh = userp;
	curl_socket_t fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (fd >= 0 && sock_new(hh, fd, true) == NULL) {
		close(fd);
		return CURL_SOCKET_BAD;
	}
	return fd;
}

/* CURLOPT_CLOSESOCKETFUNCTION: the handle leaves epoll before the fd is
 * closed (uv_poll's rule), so a new socket with the same number is new. */
static int close_cb(void *userp, curl_socket_t fd)
{
	struct http_shard *hh = userp;
	struct health_http *all = hh->all;
	struct http_sock *s = (size_t)fd < all->nbyfd ? all->byfd[fd] : NULL;
	if (s)
		sock_close(s);
	return close(fd);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http_shard *hh = userp;
	struct health_http *all = hh->all;
	struct http_sock *s = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			curl_multi_assign(hh->multi, fd, NULL);
			if (s->kept)
				uv_poll_stop(&s->poll);   /* until the next transfer */
			else
				sock_close(s);
		}
		return 0;
	}
	if (s == NULL) {
		s = (size_t)fd < all->nbyfd ? all->byfd[fd] : NULL;
		if (s == NULL && (s = sock_new(hh, fd, false)) == NULL)
			return -1;
		curl_multi_assign(hh->multi, fd, s);
	}
	int events = 0;
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	uv_poll_start(&s->poll, events, poll_cb);
	return 0;
}

static void timer_cb(uv_timer_t *h)
{
	struct http_shard *hh = h->data;
	int running;
	curl_multi_socket_action(hh->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(hh);
}

static int timer_fn(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_shard *hh = userp;
	if (timeout_ms < 0)
		uv_timer_stop(&hh->timer);
	else
		uv_timer_start(&hh->timer, timer_cb, (uint64_t)timeout_ms, 0);
	return 0;
}

uint32_t probe_http_backstop_ms(const struct probe_conf *pc)
{
	return pc->timeout_ms * 4 + 60000;
}

/* As health.c's target_timeout, on this thread's loop: a timer that fires
 * a second or more after it was due means this thread stood still (starved
 * of CPU, stopped); answers that came meanwhile wait unread in their
 * sockets, because timers run before the poll phase.  Such a probe gets one
 * fresh timeout; one that really hangs fails then. */
#define STALL_MS 1000

static void probe_timeout(uv_timer_t *h)
{
	struct probe_http *p = h->data;
	if (!p->busy)
		return;
	uint64_t now = uv_now(h->loop);
	if (!p->stall_grace && now >= p->deadline + STALL_MS) {
		p->stall_grace = true;
		p->deadline = now + p->timeout_ms;
		uv_timer_start(&p->timer, probe_timeout, p->timeout_ms, 0);
		return;
	}
	if (p->plain)
		plain_cancel(p->plain);
	else
		curl_multi_remove_handle(p->shard->multi, p->easy);
	p->busy = false;
	struct http_result r = { .p = p, .gen = p->run_gen };
	snprintf(r.msg, sizeof(r.msg), "timeout after %u ms", p->timeout_ms);
	respond(p->shard->all, &r);
}

static void op_start(struct probe_http *p, uint32_t gen)
{
	if (!p->timer_on) {
		uv_timer_init(&p->shard->all->loop, &p->timer);
		p->timer.data = p;
		p->timer_on = true;
	}
	p->run_gen = gen;
	p->len = 0;
	p->errbuf[0] = '\0';
	if (p->plain) {
		if (p->busy)
			plain_cancel(p->plain);
		/* Armed first: the probe may end inside plain_start. */
		p->busy = true;
		p->stall_grace = false;
		p->deadline = uv_now(&p->shard->all->loop) + p->timeout_ms;
		uv_timer_start(&p->timer, probe_timeout, p->timeout_ms, 0);
		plain_start(p->plain, &p->shard->all->loop);
		return;
	}
	if (p->busy) {   /* not cancelled first: cannot happen, but never add twice */
		curl_multi_remove_handle(p->shard->multi, p->easy);
		p->busy = false;
	}
	if (curl_multi_add_handle(p->shard->multi, p->easy) != CURLM_OK) {
		struct http_result r = { .p = p, .gen = gen };
		snprintf(r.msg, sizeof(r.msg), "cannot start probe: curl_multi_add_handle failed");
		respond(p->shard->all, &r);
		return;
	}
	p->busy = true;
	p->stall_grace = false;
	p->deadline = uv_now(&p->shard->all->loop) + p->timeout_ms;
	uv_timer_start(&p->timer, probe_timeout, p->timeout_ms, 0);
}

static void op_cancel(struct probe_http *p)
{
	if (p->timer_on)
		uv_timer_stop(&p->timer);
	if (p->busy && p->plain)
		plain_cancel(p->plain);
	else if (p->busy)
		curl_multi_remove_handle(p->shard->multi, p->easy);
	p->busy = false;
}

static void freed(struct probe_http *p)
{
	struct http_result r = { .p = p, .freed = true };
	respond(p->shard->all, &r);
}

static void timer_closed(uv_handle_t *h)
{
	freed(h->data);
}

/* The thread's last use of `p` (once its timer has closed): the main loop
 * frees the rest. */
static void op_free(struct probe_http *p)
{
	op_cancel(p);
	if (p->plain)
		plain_close(p->plain);   /* its memory goes with p, on the loop thread */
	if (p->easy)
		curl_easy_cleanup(p->easy);
	p->easy = NULL;
	free(p->body);
	p->body = NULL;
	if (p->timer_on)
		uv_close((uv_handle_t *)&p->timer, timer_closed);
	else
		freed(p);
}

static void shards_close(struct health_http *all)
{
	for (unsigned i = 0; i < HTTP_SHARDS; i++) {
		struct http_shard *hh = &all->shard[i];
		curl_multi_cleanup(hh->multi);
		hh->multi = NULL;
		while (hh->socks)
			sock_close(hh->socks);
		uv_close((uv_handle_t *)&hh->timer, NULL);
	}
	uv_close((uv_handle_t *)&all->wake, NULL);
	flush_close(&all->to_main, NULL);
}

static void wake_cb(uv_async_t *h)
{
	struct health_http *all = h->data;
	uv_mutex_lock(&all->lock);
	queue_take(&all->req, &all->req_run);
	bool stop = all->stop;
	uv_mutex_unlock(&all->lock);
	struct http_req *r = all->req_run.item;
	for (size_t i = 0; i < all->req_run.n; i++) {
		switch (r[i].op) {
		case OP_START: op_start(r[i].p, r[i].gen); break;
		case OP_CANCEL: op_cancel(r[i].p); break;
		case OP_FREE: op_free(r[i].p); break;
		}
	}
	all->req_run.n = 0;
	/* Requests before the stop were all run: every free was answered. */
	if (stop)
		shards_close(all);
}

static void probe_thread(void *arg)
{
	struct health_http *all = arg;
	prctl(PR_SET_NAME, "vane-probe");   /* its CPU shows apart in top -H, /proc */
	uv_run(&all->loop, UV_RUN_DEFAULT);
	uv_loop_close(&all->loop);
}

/* ---- main loop ---- */

static void http_free(struct probe_http *p)
{
	if (p->easy)
		curl_easy_cleanup(p->easy);
	curl_slist_free_all(p->connect_to);
	plain_destroy(p->plain);
	free(p->body);
	free(p);
}

/* Results of the probe thread: each finished probe that is still the one
 * in flight reports to its target. */
static void done_cb(uv_async_t *h)
{
	struct health_http *all = h->data;
	uv_mutex_lock(&all->lock);
	queue_take(&all->res, &all->res_run);
	uv_mutex_unlock(&all->lock);
	struct http_result *r = all->res_run.item;
	for (size_t i = 0; i < all->res_run.n; i++) {
		struct probe_http *p = r[i].p;
		if (r[i].freed) {
			http_free(p);
			continue;
		}
		struct health_target *t = p->t;
		if (p->dead || r[i].gen != p->gen || t->probe != p)
			continue;   /* cancelled: a timeout or a removal reported it */
		t->probe = NULL;
		health_probe_done(t, r[i].ok, r[i].ok ? NULL : r[i].msg);
	}
	all->res_run.n = 0;
}

static void all_free(struct health_http *all)
{
	free(all->req.item);
	free(all->req_run.item);
	free(all->res.item);
	free(all->res_run.item);
	free(all->byfd);
	uv_mutex_destroy(&all->lock);
	free(all);
}

static void main_closed(uv_handle_t *h)
{
	struct http_flush *f = h->data;
	struct health_http *all = (struct health_http *)((char *)f -
							  offsetof(struct health_http, to_thread));
	if (--all->main_open == 0)
		all_free(all);
}

static void done_closed(uv_handle_t *h)
{
	struct health_http *all = h->data;
	if (--all->main_open == 0)
		all_free(all);
}

int health_http_init(struct health_mon *mon)
{
	static bool global_done;
	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return VANE_ENOMEM;
		global_done = true;
	}
	struct health_http *all = calloc(1, sizeof(*all));
	if (all == NULL)
		return VANE_ENOMEM;
	all->mon = mon;
	all->req.size = all->req_run.size = sizeof(struct http_req);
	all->res.size = all->res_run.size = sizeof(struct http_result);
	if (uv_mutex_init(&all->lock) != 0) {
		free(all);
		return VANE_ENOMEM;
	}
	if (uv_loop_init(&all->loop) != 0) {
		all_free(all);
		return VANE_ENOMEM;
	}
	/* Keep one idle connection per target (curl's default keeps four per
	 * transfer in flight, so most of 5,000 would be closed), within the
	 * open files limit. */
	struct rlimit rl;
	long maxconn = 65536;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 2 < (rlim_t)maxconn)
		maxconn = (long)(rl.rlim_cur / 2);
	maxconn /= HTTP_SHARDS;
	unsigned made = 0;
	for (; made < HTTP_SHARDS; made++) {
		struct http_shard *hh = &all->shard[made];
		hh->all = all;
		if ((hh->multi = curl_multi_init()) == NULL)
			break;
		uv_timer_init(&all->loop, &hh->timer);
		hh->timer.data = hh;
		curl_multi_setopt(hh->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
		curl_multi_setopt(hh->multi, CURLMOPT_SOCKETDATA, hh);
		curl_multi_setopt(hh->multi, CURLMOPT_TIMERFUNCTION, timer_fn);
		curl_multi_setopt(hh->multi, CURLMOPT_TIMERDATA, hh);
		curl_multi_setopt(hh->multi, CURLMOPT_MAXCONNECTS, maxconn);
	}
	uv_async_init(&all->loop, &all->wake, wake_cb);
	all->wake.data = all;
	flush_init(&all->to_main, &all->loop, &all->done);
	if (made < HTTP_SHARDS || uv_thread_create(&all->thread, probe_thread, all) != 0) {
		for (unsigned i = 0; i < made; i++) {
			curl_multi_cleanup(all->shard[i].multi);
			uv_close((uv_handle_t *)&all->shard[i].timer, NULL);
		}
		uv_close((uv_handle_t *)&all->wake, NULL);
		flush_close(&all->to_main, NULL);
		uv_run(&all->loop, UV_RUN_DEFAULT);
		uv_loop_close(&all->loop);
		all_free(all);
		return VANE_ENOMEM;
	}
	all->thread_on = true;
	uv_async_init(mon->loop, &all->done, done_cb);
	all->done.data = all;
	flush_init(&all->to_thread, mon->loop, &all->wake);
	all->main_open = 3;
	mon->http = all;
	return 0;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct probe_http *p = userp;
	size_t n = size * nmemb;
	if (!p->want[0] || p->len >= HTTP_BODY_MAX)
		return n;
	size_t take = n < HTTP_BODY_MAX - p->len ? n : HTTP_BODY_MAX - p->len;
	if (p->len + take > p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 1024;
		while (cap < p->len + take)
			cap *= 2;
		if (cap > HTTP_BODY_MAX)
			cap = HTTP_BODY_MAX;
		char *nb = realloc(p->body, cap);
		if (nb == NULL)
			return 0;
		p->body = nb;
		p->cap = cap;
	}
	memcpy(p->body + p->len, data, take);
	p->len += take;
	return n;
}

/* URL and pinned address: the Host header / SNI is `host` when set, while
 * the connection always goes to the endpoint's address.  Set once per
 * target: the easy handle keeps its options between probes. */
static int http_setup(struct probe_http *p, const struct probe_conf *pc)
{
	char url[1024], addr[80];
	bool v6 = pc->addr.ss_family == AF_INET6;
	snprintf(addr, sizeof(addr), v6 ? "[%s]" : "%s", pc->address);
	const char *scheme = pc->type == PROBE_HTTPS ? "https" : "http";
	const char *path = pc->path[0] == '/' ? pc->path + 1 : pc->path;
	if (pc->host[0]) {
		char to[400];
		snprintf(to, sizeof(to), "%s:%u:%s:%u", pc->host, pc->port, addr, pc->port);
		p->connect_to = curl_slist_append(NULL, to);
		if (p->connect_to == NULL)
			return VANE_ENOMEM;
		snprintf(url, sizeof(url), "%s://%s:%u/%s", scheme, pc->host, pc->port, path);
	} else {
		snprintf(url, sizeof(url), "%s://%s:%u/%s", scheme, addr, pc->port, path);
	}
	CURL *e = p->easy;
	curl_easy_setopt(e, CURLOPT_URL, url);
	if (p->connect_to)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, p->connect_to);
	curl_easy_setopt(e, CURLOPT_PRIVATE, p);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_cb);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, p->shard);
	curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, close_cb);
	curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, p->shard);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROXY, "");   /* never through an env proxy */
	/* Nothing is resolved (the address is pinned), but curl still keeps a
	 * DNS cache entry per host, shared by the multi handle in a tiny hash
	 * table that it prunes by walking every entry: with 5,000 targets that
	 * walk was most of the probes' CPU.  Keep no entries. */
	curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
	/* The check's timeout is the probe's timer (probe_timeout), which
	 * knows a stall of this thread from a slow backend; curl's own limit
	 * is only a backstop, or a pause would fail every probe in flight from
	 * inside curl before their answers are read. */
	long backstop = (long)probe_http_backstop_ms(pc);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, backstop);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, backstop);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "vaned-health/1");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, p);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (pc->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	return 0;
}

int probe_http_start(struct health_target *t)
{
	struct health_http *all = t->mon->http;
	if (all == NULL)
		return VANE_EINVAL;
	struct probe_http *p = t->http;
	if (p == NULL) {
		p = calloc(1, sizeof(*p));
		if (p == NULL)
			return VANE_ENOMEM;
		p->t = t;
		p->shard = &all->shard[all->next++ % HTTP_SHARDS];
		p->https = t->pc.type == PROBE_HTTPS;
		p->expect = t->pc.expect;
		p->timeout_ms = t->pc.timeout_ms;
		memcpy(p->want, t->pc.body, sizeof(p->want));
		int ret;
		if (t->pc.type == PROBE_HTTP) {
			p->plain = plain_new(&t->pc, plain_done, p);
			ret = p->plain ? 0 : VANE_ENOMEM;
		} else {
			p->easy = curl_easy_init();
			ret = p->easy ? http_setup(p, &t->pc) : VANE_ENOMEM;
		}
		if (ret != 0) {
			http_free(p);
			return ret;
		}
		t->http = p;
	}
	p->gen++;
	int ret = request(all, OP_START, p);
	if (ret != 0)
		return ret;
	t->probe = p;
	return 0;
}

void probe_http_cancel(struct health_target *t)
{
	struct probe_http *p = t->http;
	/* A result already on its way carries the old number: dropped. */
	if (p && t->probe == p && t->mon->http && request(t->mon->http, OP_CANCEL, p) != 0)
		log_error("health: out of memory cancelling an http probe");
	if (p)
		p->gen++;
	t->probe = NULL;
}

void probe_http_free(struct health_target *t)
{
	struct probe_http *p = t->http;
	if (p == NULL)
		return;
	t->probe = NULL;
	t->http = NULL;
	p->dead = true;
	p->t = NULL;
	/* The thread cleans the easy handle up and answers "freed"; until then
	 * results of p may still come and are dropped (p->dead). */
	if (t->mon->http == NULL || request(t->mon->http, OP_FREE, p) != 0) {
		if (t->mon->http)
			log_error("health: out of memory freeing an http probe; kept");
		else
			http_free(p);
	}
}

void health_http_close(struct health_mon *mon)
{
	struct health_http *all = mon->http;
	if (all == NULL)
		return;
	mon->http = NULL;
	uv_mutex_lock(&all->lock);
	all->stop = true;
	uv_mutex_unlock(&all->lock);
	uv_async_send(&all->wake);
	uv_thread_join(&all->thread);
	/* The thread has answered every free: take those answers now. */
	done_cb(&all->done);
	uv_close((uv_handle_t *)&all->done, done_closed);
	flush_close(&all->to_thread, main_closed);
}
