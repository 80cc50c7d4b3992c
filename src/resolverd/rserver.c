/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Client side: UDP workers answer cache hits themselves (recvmmsg/sendmmsg
 * batches) and hand misses to the loop thread through a mutex queue and a
 * uv_async; the loop resolves and answers with sendto on the worker's
 * socket.  TCP clients (RFC 7766 framing) are served on the loop.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/dname.h"
#include "lib/pkt.h"
#include "resolver/iter.h"
#include "resolver/reply.h"
#include "resolverd/rserver_int.h"
#include "rt/log.h"

#define BATCH 32
#define PKT_MAX 4096

struct rworker {
	struct resolverd *r;
	pthread_t tid;
	bool started;
	bool pktinfo;                    /* wildcard bind: echo each query's PKTINFO */
	int fd;
};

static void answer_error(struct creq *c, uint8_t rcode);

/* ---- answering ---- */

static void creq_send(struct creq *c, const uint8_t *ans, size_t len)
{
	if (c->tcp) {
		rtcp_send(c->tcp, ans, len);
		return;
	}
	struct iovec iov = { (void *)ans, len };
	/* The query's PKTINFO, echoed: the reply leaves from the address the
	 * query came to (wildcard listeners on multi-address hosts). */
	struct msghdr mh = { .msg_name = &c->ss, .msg_namelen = c->sslen,
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = c->ctrllen ? c->ctrl : NULL, .msg_controllen = c->ctrllen };
	(void)!sendmsg(c->fd, &mh, 0);
}

void creq_free(struct creq *c)
{
	if (c->tcp)
		rtcp_unref(c->tcp);
	free(c);
}

static size_t creq_limit(const struct creq *c)
{
	return c->tcp ? DNS_MAXMSG : cache_udp_limit(&c->q);
}

/* Answer from the cache; returns true when sent. */
static bool answer_cached(struct resolverd *r, struct creq *c, unsigned flags)
{
	static __thread uint8_t out[DNS_MAXMSG];
	struct cache_hit hit;
	int n = cache_answer(r->core.cache, &c->q, c->pkt, c->net.bits ? &c->net : NULL,
			     resolver_now(&r->core), flags, out, creq_limit(c), &hit);
	if (n <= 0)
		return false;
	if (hit.stale)
		atomic_fetch_add(&r->core.st.stale_answers, 1);
	creq_send(c, out, (size_t)n);
	return true;
}

/* ---- identical misses share one resolution ----
 *
 * A burst of clients asking the same uncached name (a popular name whose
 * TTL ran out, or an attacker's random burst of one name) would otherwise
 * start one resolution each, multiplying the upstream queries and the
 * chances of a spoofed answer being accepted (RFC 5452 section 5).  The
 * first miss resolves; the others wait for its answer, each answered with
 * its own ID, case and EDNS by resolver_reply.  The key is the question
 * and the ECS network the cache would store it under. */

static bool same_question(const struct creq *a, const struct creq *b)
{
	return a->q.qtype == b->q.qtype && a->net.family == b->net.family &&
	       a->net.bits == b->net.bits &&
	       memcmp(a->net.addr, b->net.addr, sizeof(a->net.addr)) == 0 &&
	       dname_equal(a->q.qname, b->q.qname);
}

static unsigned running_bucket(const struct creq *c)
{
	/* The names are lower-cased (dns_query_parse): hash the bytes. */
	uint32_t h = 2166136261u ^ c->q.qtype;
	for (const uint8_t *p = c->q.qname; p < c->q.qname + dname_len(c->q.qname); p++)
		h = (h ^ *p) * 16777619u;
	return h & (RESOLVERD_RUNNING_BUCKETS - 1);
}

static struct creq *running_find(struct resolverd *r, const struct creq *c)
{
	for (struct creq *p = r->running[running_bucket(c)]; p; p = p->rnext)
		if (same_question(p, c))
			return p;
	return NULL;
}

static void running_add(struct resolverd *r, struct creq *c)
{
	struct creq **head = &r->running[running_bucket(c)];
	c->rnext = *head;
	*head = c;
}

static void running_del(struct resolverd *r, struct creq *c)
{
	for (struct creq **p = &r->running[running_bucket(c)]; *p; p = &(*p)->rnext) {
		if (*p == c) {
			*p = c->rnext;
			c->rnext = NULL;
			return;
		}
	}
}

static void reply_one(struct resolverd *r, struct creq *c, int rcode, const struct rmsg *m)
{
	static __thread uint8_t out[DNS_MAXMSG];
	int n = resolver_reply(&r->core, &c->q, c->pkt, c->len, c->net.bits ? &c->net : NULL,
			       rcode, m, out, creq_limit(c));
	if (n > 0)
		creq_send(c, out, (size_t)n);
	creq_free(c);
}

static void resolved(void *ctx, int rcode, const struct rmsg *m)
{
	struct creq *c = ctx;
	struct resolverd *r = c->r;

	r->inflight--;
	running_del(r, c);
	struct creq *w = c->waiters;
	c->waiters = NULL;
	if (c->prefetch)
		creq_free(c);
	else
		reply_one(r, c, rcode, m);
	while (w) {
		struct creq *next = w->next;
		reply_one(r, w, rcode, m);
		w = next;
	}
}

static void answer_error(struct creq *c, uint8_t rcode)
{
	uint8_t out[PKT_MAX];
	int n = ranswer_error(out, sizeof(out), &c->q, c->pkt, c->len, rcode);
	if (n > 0)
		creq_send(c, out, (size_t)n);
	creq_free(c);
}

/* Loop thread: a miss (or a TCP query). */
void creq_resolve(struct resolverd *r, struct creq *c)
{
	if (!c->prefetch && answer_cached(r, c, 0)) {
		creq_free(c);
		return;
	}
	if (c->q.qclass != DNS_IN) {
		answer_error(c, DNS_REFUSED);
		return;
	}
	struct creq *first = c->prefetch ? NULL : running_find(r, c);
	if (first) {
		c->next = first->waiters;
		first->waiters = c;
		atomic_fetch_add(&r->core.st.merged, 1);
		return;
	}
	/* Each resolution holds sockets and state until it ends (up to the work
	 * limit x the upstream timeout for dead servers): a cap keeps a flood
	 * of misses from exhausting descriptors for every other name. */
	if (r->inflight >= r->inflight_max) {
		if (c->prefetch)
			creq_free(c);
		else
			answer_error(c, DNS_SERVFAIL);
		return;
	}
	r->inflight++;
	c->waiters = NULL;
	running_add(r, c);    /* before: `resolved` may come from inside */
	if (iter_resolve(&r->core, c->q.qname, c->q.qtype, &c->net, resolved, c) != 0) {
		r->inflight--;
		running_del(r, c);
		answer_error(c, DNS_SERVFAIL);
	}
}

/* Any thread: parse, check the ACL; returns false when dropped/answered. */
static bool creq_prepare(struct resolverd *r, struct creq *c, uint8_t *out, int *outlen)
{
	enum dns_verdict v = dns_query_parse(c->pkt, c->len, &c->q);
	uint8_t rcode;
	*outlen = 0;
	atomic_fetch_add(&r->core.st.queries, 1);
	switch (v) {
	case DNS_V_OK:
		break;
	case DNS_V_DROP:
		return false;
	case DNS_V_FORMERR: rcode = DNS_FORMERR; goto err;
	case DNS_V_NOTIMP: rcode = DNS_NOTIMP; goto err;
	default: rcode = DNS_BADVERS; goto err;
	}
	if (!resolverd_allowed(r, (struct sockaddr *)&c->ss)) {
		atomic_fetch_add(&r->core.st.refused, 1);
		rcode = DNS_REFUSED;
		goto err;
	}
	resolverd_client_net(r, (struct sockaddr *)&c->ss, &c->q, &c->net);
	return true;
err:
	*outlen = ranswer_error(out, PKT_MAX, &c->q, c->pkt, c->len, rcode);
	return false;
}

/* Hit path shared by UDP workers and TCP: returns the answer length, 0 on a
 * miss (c must then be resolved), < 0 to drop. */
int creq_fast(struct resolverd *r, struct creq *c, uint8_t *out, size_t cap)
{
	int n;
	if (!creq_prepare(r, c, out, &n))
		return n > 0 ? n : -1;
	struct cache_hit hit;
	size_t lim = c->tcp ? cap : cache_udp_limit(&c->q);
	n = cache_answer(r->core.cache, &c->q, c->pkt, c->net.bits ? &c->net : NULL,
			 resolver_now(&r->core), 0, out, lim < cap ? lim : cap, &hit);
	if (n > 0) {
		atomic_fetch_add(&r->core.st.cache_hits, 1);
		if (hit.prefetch && atomic_load_explicit(&r->prefetch, memory_order_relaxed))
			c->prefetch = true; /* answered; refresh in the background */
		return n;
	}
	atomic_fetch_add(&r->core.st.cache_misses, 1);
	return 0;
}

void creq_enqueue(struct resolverd *r, struct creq *c)
{
	pthread_mutex_lock(&r->qlock);
	c->next = NULL;
	if (r->qtail)
		r->qtail->next = c;
	else
		r->qhead = c;
	r->qtail = c;
	pthread_mutex_unlock(&r->qlock);
	uv_async_send(&r->async);
}

static void on_async(uv_async_t *a)
{
	struct resolverd *r = a->data;
	pthread_mutex_lock(&r->qlock);
	struct creq *c = r->qhead;
	r->qhead = r->qtail = NULL;
	pthread_mutex_unlock(&r->qlock);
	while (c) {
		struct creq *next = c->next;
		if (c->prefetch)
			atomic_fetch_add(&r->core.st.prefetches, 1);
		creq_resolve(r, c);
		c = next;
	}
}

/* ---- UDP workers ---- */

static void *worker_main(void *arg)
{
	struct rworker *w = arg;
	struct resolverd *r = w->r;
	static __thread uint8_t in[BATCH][PKT_MAX], out[BATCH][PKT_MAX];
	static __thread uint8_t ctrl[BATCH][RT_PKTINFO_SPACE];
	struct mmsghdr rm[BATCH], sm[BATCH];
	struct iovec riov[BATCH], siov[BATCH];
	struct sockaddr_storage from[BATCH];
	/* Hits are answered from this scratch request; only a miss (or a
	 * prefetch) is copied to the heap for the loop thread. */
	static __thread struct {
		struct creq c;
		uint8_t pkt[PKT_MAX];
	} scratch;
	int n = BATCH;

	for (unsigned i = 0; i < BATCH; i++) {
		riov[i] = (struct iovec){ in[i], PKT_MAX };
		rm[i].msg_hdr = (struct msghdr){ .msg_name = &from[i],
			.msg_iov = &riov[i], .msg_iovlen = 1 };
	}
	for (;;) {
		/* recvmmsg changes msg_len, msg_namelen and msg_controllen:
		 * re-arm just the entries the last call filled. */
		for (int i = 0; i < n; i++) {
			rm[i].msg_hdr.msg_namelen = sizeof(from[i]);
			rm[i].msg_hdr.msg_control = w->pktinfo ? ctrl[i] : NULL;
			rm[i].msg_hdr.msg_controllen = w->pktinfo ? RT_PKTINFO_SPACE : 0;
		}
		n = recvmmsg(w->fd, rm, BATCH, MSG_WAITFORONE, NULL);
		/* rworkers_stop sets the flag, then shutdown() wakes us. */
		if (atomic_load_explicit(&r->stopping, memory_order_acquire))
			break;
		if (n <= 0) {
			n = 0;
			continue;
		}
		unsigned ns = 0;
		for (int i = 0; i < n; i++) {
			struct creq *c = &scratch.c;
			c->next = NULL;
			c->r = r;
			c->fd = w->fd;
			c->tcp = NULL;
			c->prefetch = false;
			c->len = rm[i].msg_len;
			memcpy(c->pkt, in[i], c->len);
			memcpy(&c->ss, &from[i], rm[i].msg_hdr.msg_namelen);
			c->sslen = rm[i].msg_hdr.msg_namelen;
			c->ctrllen = w->pktinfo ? rm[i].msg_hdr.msg_controllen : 0;
			if (c->ctrllen > sizeof(c->ctrl))
				c->ctrllen = 0;
			memcpy(c->ctrl, ctrl[i], c->ctrllen);
			int len = creq_fast(r, c, out[ns], PKT_MAX);
			if (len > 0) {
				siov[ns] = (struct iovec){ out[ns], (size_t)len };
				sm[ns].msg_hdr = (struct msghdr){ .msg_name = &from[i],
					.msg_namelen = c->sslen, .msg_iov = &siov[ns],
					.msg_iovlen = 1,
					.msg_control = c->ctrllen ? ctrl[i] : NULL,
					.msg_controllen = c->ctrllen };
				ns++;
			}
			/* A miss, or a hit that wants a background refresh, goes to
			 * the loop thread on a heap copy. */
			if (len < 0 || (len > 0 && !c->prefetch))
				continue;
			struct creq *h = malloc(sizeof(*h) + c->len);
			if (!h)
				continue;
			memcpy(h, c, sizeof(*h) + c->len);
			creq_enqueue(r, h);
		}
		if (ns)
			(void)!sendmmsg(w->fd, sm, ns, 0);
	}
	return NULL;
}

int rworkers_start(struct resolverd *r)
{
	const struct resolver_conf *cf = r->conf;
	r->nworkers = cf->udp_workers * cf->nlisten;
	r->workers = calloc(r->nworkers, sizeof(*r->workers));
	if (!r->workers)
		return VANE_ENOMEM;
	for (unsigned i = 0; i < r->nworkers; i++)
		r->workers[i].fd = -1;
	for (unsigned i = 0; i < r->nworkers; i++) {
		const struct conf_listen *l = &cf->listen[i % cf->nlisten];
		struct rworker *w = &r->workers[i];
		w->r = r;
		w->fd = rt_udp_socket(&l->addr, l->addrlen, &w->pktinfo);
		if (w->fd < 0) {
			log_error("cannot listen on %s (UDP): %s", l->text, vane_strerror(w->fd));
			return w->fd;
		}
	}
	r->async.data = r;
	int ret = uv_async_init(&r->loop, &r->async, on_async);
	if (ret != 0)
		return VANE_ENOMEM;
	for (unsigned i = 0; i < r->nworkers; i++) {
		if (pthread_create(&r->workers[i].tid, NULL, worker_main, &r->workers[i]) != 0)
			return VANE_ENOMEM;
		r->workers[i].started = true;
	}
	return 0;
}

void rworkers_stop(struct resolverd *r)
{
	atomic_store_explicit(&r->stopping, true, memory_order_release);
	for (unsigned i = 0; i < r->nworkers; i++)
		if (r->workers[i].fd >= 0)
			shutdown(r->workers[i].fd, SHUT_RDWR);  /* wakes recvmmsg */
	for (unsigned i = 0; i < r->nworkers; i++)
		if (r->workers[i].started) {
			pthread_join(r->workers[i].tid, NULL);
			r->workers[i].started = false;
		}
	/* Misses handed over after the loop stopped: nobody will answer. */
	pthread_mutex_lock(&r->qlock);
	struct creq *c = r->qhead;
	r->qhead = r->qtail = NULL;
	pthread_mutex_unlock(&r->qlock);
	while (c) {
		struct creq *next = c->next;
		creq_free(c);
		c = next;
	}
}

void rworkers_free(struct resolverd *r)
{
	for (unsigned i = 0; i < r->nworkers; i++)
		if (r->workers[i].fd >= 0)
			close(r->workers[i].fd);
	free(r->workers);
	r->workers = NULL;
	r->nworkers = 0;
}
