/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * http and https probes: one libcurl multi handle driven by the libuv loop
 * (CURLMOPT_SOCKETFUNCTION -> uv_poll per socket, CURLMOPT_TIMERFUNCTION ->
 * one uv_timer), as curl's multi-uv example does.  No thread per probe; a
 * socket event costs one curl_multi_socket_action on that socket, and
 * finished transfers are picked up from curl_multi_info_read's queue.
 *
 * Each target keeps its easy handle from one probe to the next (created at
 * its first probe, freed with the target), so a probe every 2 s reuses the
 * kept-alive connection (and TLS session) from the multi handle's cache
 * and allocates nothing of ours in steady state.  The endpoint's address is
 * pinned with CURLOPT_CONNECT_TO rather than CURLOPT_RESOLVE: endpoints of
 * one service share a Host name, and curl matches cached connections (and
 * its shared DNS cache) by host name, but connect-to targets by address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/resource.h>

#include <curl/curl.h>

#include "health/health.h"
#include "rt/log.h"

#define HTTP_BODY_MAX 65536   /* body kept for the substring check */

struct http_sock {
	uv_poll_t poll;
	curl_socket_t fd;
	struct http_shard *hh;
	struct http_sock *prev, *next;
};

/* One multi handle and what drives it.  libcurl 7.88 keeps its connection
 * and DNS caches in fixed-size hash tables per multi handle, walked on every
 * transfer; a few hundred targets per multi keep those walks short. */
struct http_shard {
	struct health_mon *mon;
	struct health_http *all;
	CURLM *multi;
	uv_timer_t timer;
	struct http_sock *socks;      /* every poll handle, to close them at the end */
};

#define HTTP_SHARDS 16

struct health_http {
	unsigned next;                /* shard of the next new target */
	unsigned open_timers;         /* freed when the last timer has closed */
	struct http_shard shard[HTTP_SHARDS];
};

struct probe_http {
	struct health_target *t;
	struct http_shard *shard;
	CURL *easy;
	struct curl_slist *connect_to;
	char *body;
	size_t len, cap;              /* cap is kept between probes */
	bool want_body;
	bool busy;                    /* added to the multi handle */
	char errbuf[CURL_ERROR_SIZE];
};

static void sock_closed(uv_handle_t *h)
{
	free(h->data);
}

static void sock_close(struct http_sock *s)
{
	struct http_shard *hh = s->hh;
	if (s->prev)
		s->prev->next = s->next;
	else
		hh->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	uv_poll_stop(&s->poll);
	uv_close((uv_handle_t *)&s->poll, sock_closed);
}

static void http_finish(struct http_shard *hh, CURL *easy, CURLcode result)
{
	struct probe_http *p = NULL;
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&p);
	curl_multi_remove_handle(hh->multi, easy);
	p->busy = false;
	struct health_target *t = p->t;
	char msg[HEALTH_ERR_MAX];
	bool ok = false;
	if (result != CURLE_OK) {
		snprintf(msg, sizeof(msg), "%s: %.140s", t->pc.type == PROBE_HTTPS ? "https" : "http",
			 p->errbuf[0] ? p->errbuf : curl_easy_strerror(result));
	} else {
		long status = 0;
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
		if (status != t->pc.expect)
			snprintf(msg, sizeof(msg), "http status %ld, expected %d", status,
				 t->pc.expect);
		else if (p->want_body && (!p->body || !memmem(p->body, p->len, t->pc.body,
							      strlen(t->pc.body))))
			snprintf(msg, sizeof(msg), "http body does not contain \"%.64s\"",
				 t->pc.body);
		else
			ok = true;
	}
	t->probe = NULL;
	health_probe_done(t, ok, ok ? NULL : msg);
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

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http_shard *hh = userp;
	struct http_sock *s = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			curl_multi_assign(hh->multi, fd, NULL);
			sock_close(s);
		}
		return 0;
	}
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL || uv_poll_init_socket(hh->mon->loop, &s->poll, fd) < 0) {
			free(s);
			return -1;
		}
		s->fd = fd;
		s->hh = hh;
		s->poll.data = s;
		s->next = hh->socks;
		if (hh->socks)
			hh->socks->prev = s;
		hh->socks = s;
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

static void timer_closed(uv_handle_t *h)
{
	struct http_shard *hh = h->data;
	if (--hh->all->open_timers == 0)
		free(hh->all);
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
	/* Keep one idle connection per target (curl's default keeps four per
	 * transfer in flight, so most of 5,000 would be closed), within the
	 * open files limit. */
	struct rlimit rl;
	long maxconn = 65536;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 2 < (rlim_t)maxconn)
		maxconn = (long)(rl.rlim_cur / 2);
	maxconn /= HTTP_SHARDS;
	for (unsigned i = 0; i < HTTP_SHARDS; i++) {
		struct http_shard *hh = &all->shard[i];
		hh->mon = mon;
		hh->all = all;
		hh->multi = curl_multi_init();
		if (hh->multi == NULL) {
			while (i-- > 0) {
				curl_multi_cleanup(all->shard[i].multi);
				uv_close((uv_handle_t *)&all->shard[i].timer, timer_closed);
			}
			if (all->open_timers == 0)
				free(all);
			return VANE_ENOMEM;
		}
		uv_timer_init(mon->loop, &hh->timer);
		hh->timer.data = hh;
		all->open_timers++;
		curl_multi_setopt(hh->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
		curl_multi_setopt(hh->multi, CURLMOPT_SOCKETDATA, hh);
		curl_multi_setopt(hh->multi, CURLMOPT_TIMERFUNCTION, timer_fn);
		curl_multi_setopt(hh->multi, CURLMOPT_TIMERDATA, hh);
		curl_multi_setopt(hh->multi, CURLMOPT_MAXCONNECTS, maxconn);
	}
	mon->http = all;
	return 0;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct probe_http *p = userp;
	size_t n = size * nmemb;
	if (!p->want_body || p->len >= HTTP_BODY_MAX)
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
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROXY, "");   /* never through an env proxy */
	/* Nothing is resolved (the address is pinned), but curl still keeps a
	 * DNS cache entry per host, shared by the multi handle in a tiny hash
	 * table that it prunes by walking every entry: with 5,000 targets that
	 * walk was most of the probes' CPU.  Keep no entries. */
	curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
	/* The check's timeout is the target's timer (health.c), which knows a
	 * stall of vaned from a slow backend; curl's own limit is only a
	 * backstop, or a pause would fail every probe in flight from inside
	 * curl before their answers are read. */
	long backstop = (long)pc->timeout_ms * 4 + 60000;
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

static void http_free(struct probe_http *p)
{
	if (p->easy)
		curl_easy_cleanup(p->easy);
	curl_slist_free_all(p->connect_to);
	free(p->body);
	free(p);
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
		p->want_body = t->pc.body[0] != '\0';
		p->easy = curl_easy_init();
		int ret = p->easy ? http_setup(p, &t->pc) : VANE_ENOMEM;
		if (ret != 0) {
			http_free(p);
			return ret;
		}
		t->http = p;
	}
	p->len = 0;
	p->errbuf[0] = '\0';
	if (curl_multi_add_handle(p->shard->multi, p->easy) != CURLM_OK)
		return VANE_ENOMEM;
	p->busy = true;
	t->probe = p;
	return 0;
}

void probe_http_cancel(struct health_target *t)
{
	struct probe_http *p = t->http;
	if (p && p->busy && t->mon->http)
		curl_multi_remove_handle(p->shard->multi, p->easy);
	if (p)
		p->busy = false;
	t->probe = NULL;
}

void probe_http_free(struct health_target *t)
{
	struct probe_http *p = t->http;
	if (p == NULL)
		return;
	probe_http_cancel(t);
	http_free(p);
	t->http = NULL;
}

void health_http_close(struct health_mon *mon)
{
	struct health_http *all = mon->http;
	if (all == NULL)
		return;
	mon->http = NULL;
	for (unsigned i = 0; i < HTTP_SHARDS; i++) {
		struct http_shard *hh = &all->shard[i];
		curl_multi_cleanup(hh->multi);
		while (hh->socks)
			sock_close(hh->socks);
		uv_close((uv_handle_t *)&hh->timer, timer_closed);
	}
}
