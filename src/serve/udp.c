/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "geo/geo.h"
#include "lib/pkt.h"
#include "lib/rand.h"
#include "rt/clock.h"
#include "rt/log.h"
#include "rt/sock.h"
#include "serve/dnstap.h"
#include "serve/protect.h"
#include "serve/udp.h"

#define UDP_BATCH 64
#define UDP_QBUF 4096    /* larger queries are truncated and dropped */
#define UDP_ABUF 4096    /* max-udp-payload is at most 4096 */
#define UDP_CTRL RT_PKTINFO_SPACE

/* One thread serving one socket.  Buffers live here so the hot path never
 * allocates. */
struct udp_thread {
	struct srv_stats stats;          /* first: cache-line aligned */
	struct serve_view *const *root;  /* RCU-published by the daemon */
	struct udp_group *group;
	pthread_t tid;
	bool started;
	int fd;
	bool v6;
	bool pktinfo;                    /* wildcard bind: answer from the query's address */
	uint64_t rng;                    /* splitmix64 state for steering decisions */
	struct geo_cache *geo_cache;     /* this thread's geo lookups */
	struct dnstap_tap tap;           /* dnstap queue and sampling; off: dt NULL */
	struct cookie_mac *cookie_mac;   /* this thread's SipHash for DNS cookies */
	struct mmsghdr in[UDP_BATCH];
	struct mmsghdr out[UDP_BATCH];
	struct iovec iov_in[UDP_BATCH];
	struct iovec iov_out[UDP_BATCH];
	struct sockaddr_storage peer[UDP_BATCH];
	uint8_t ctrl[UDP_BATCH][UDP_CTRL];
	uint8_t qbuf[UDP_BATCH][UDP_QBUF];
	uint8_t abuf[UDP_BATCH][UDP_ABUF];
};

struct udp_group {
	struct udp_thread **threads;
	unsigned count;
	atomic_bool stop;
	/* One limiter for all workers: SO_REUSEPORT spreads a spoofed flood
	 * over them, so per-worker buckets would multiply the rate.  Built
	 * from the config at start (rrl: is restart-only); NULL = off. */
	struct rrl *rrl;
};

static void udp_prepare(struct udp_thread *t)
{
	for (unsigned i = 0; i < UDP_BATCH; i++) {
		t->iov_in[i] = (struct iovec){ t->qbuf[i], UDP_QBUF };
		t->in[i].msg_hdr = (struct msghdr){
			.msg_name = &t->peer[i], .msg_namelen = sizeof(t->peer[i]),
			.msg_iov = &t->iov_in[i], .msg_iovlen = 1,
		};
	}
}

/* Off the common path: only the sampled queries with dnstap on get here. */
static __attribute__((noinline, cold)) void udp_tap(struct udp_thread *t, unsigned i, size_t len)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	dnstap_log(&t->tap, (const struct sockaddr *)&t->peer[i], t->qbuf[i], t->in[i].msg_len,
		   t->abuf[i], len, &now);
}

/* One line a minute per limited prefix (serve/rrl.c decides when). */
static __attribute__((noinline, cold)) void udp_rrl_log(const struct udp_thread *t,
							 const struct sockaddr *src,
							 const struct auth_result *res)
{
	char pfx[64];
	rrl_prefix_text(t->group->rrl, src, pfx, sizeof(pfx));
	log_info("rrl: limiting %s (%s answers over the rate)", pfx,
		 rrl_class_name(rrl_classify(res)));
}

/* IXFR over UDP and signed queries (serve/xfr.c): rare, off the hot path.
 * Returns the length of the answer now in abuf[i] (0: drop). */
static __attribute__((noinline, cold)) size_t udp_xfr(struct udp_thread *t,
						      const struct serve_view *view,
						      const struct auth_client *cl, unsigned i,
						      size_t len)
{
	struct serve_reanswer ra = { view, cl, false };
	struct xfr_stream *s = NULL;
	size_t out = 0;
	uint8_t *ans = malloc(UDP_ABUF);
	if (!ans)
		return 0;
	enum xfr_verdict v = xfr_request(view->xfr, (const struct sockaddr *)&t->peer[i],
					 t->qbuf[i], t->in[i].msg_len, false,
					 (uint64_t)time(NULL), serve_reanswer, &ra, ans, UDP_ABUF,
					 &out, &s);
	xfr_stream_free(s);   /* never a stream over UDP */
	if (v == XFR_REPLY)
		memcpy(t->abuf[i], ans, out);
	free(ans);
	return v == XFR_NONE ? len : v == XFR_REPLY ? out : 0;
}

/* Answer the `n` received packets into the `out` vector; returns how many
 * responses to send. */
static unsigned udp_answer(struct udp_thread *t, const struct serve_view *view, unsigned n)
{
	unsigned nout = 0;
	enum srv_transport tr = t->v6 ? TR_UDP6 : TR_UDP4;
	struct auth_client cl = { .geo_cache = t->geo_cache, .cookie_mac = t->cookie_mac };
	/* Once per batch: the time, which cookies and RRL need even when
	 * nothing is steered. */
	const struct auth_steer *st = view->steer;
	cl.now_ms = rt_now_ms();
	for (unsigned i = 0; i < n; i++) {
		struct msghdr *mh = &t->in[i].msg_hdr;
		size_t len = 0;
		struct auth_result res;
		cl.src = (const struct sockaddr *)&t->peer[i];
		if (st)
			cl.rand = rand_next(&t->rng);
		if (!(mh->msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
			len = auth_answer(view->db, view->auth, st, &cl, t->qbuf[i], t->in[i].msg_len,
					  false, t->abuf[i], UDP_ABUF, &res);
		if (res.xfr && view->xfr && len)
			len = udp_xfr(t, view, &cl, i, len);
		if (len == 0) {
			stats_drop(&t->stats, tr);
			continue;
		}
		stats_count(&t->stats, tr, &res);
		if (res.node)
			znode_mark_queried(res.node, (uint32_t)(cl.now_ms / 1000));
		/* RRL: pass, cut to a TC=1 slip answer, or drop (counted in
		 * stats.rrl, not as dropped queries). */
		bool log_it;
		len = protect_udp(t->group->rrl, cl.src, &res, cl.now_ms, t->abuf[i], len,
				  &t->stats.rrl, &log_it);
		if (log_it)
			udp_rrl_log(t, cl.src, &res);
		if (len == 0)
			continue;
		stats_size(&t->stats, len);
		if (res.service >= 0)
			stats_steered(&t->stats, view->slots, &res);
		if (dnstap_tap_pick(&t->tap))
			udp_tap(t, i, len);
		t->iov_out[nout] = (struct iovec){ t->abuf[i], len };
		t->out[nout].msg_hdr = (struct msghdr){
			.msg_name = &t->peer[i], .msg_namelen = mh->msg_namelen,
			.msg_iov = &t->iov_out[nout], .msg_iovlen = 1,
			/* Echoing IP_PKTINFO makes the reply leave from the address
			 * the query came to. */
			.msg_control = t->pktinfo ? t->ctrl[i] : NULL,
			.msg_controllen = t->pktinfo ? mh->msg_controllen : 0,
		};
		nout++;
	}
	return nout;
}

/* recvmmsg and sendmmsg without libc's wrappers: those are pthread
 * cancellation points, and switching asynchronous cancellation on and off
 * around each call cost about 60 instructions per query with one packet
 * per batch.  Workers are never cancelled (udp_stop uses shutdown()). */
static inline int udp_recvmmsg(int fd, struct mmsghdr *v, unsigned n, int flags)
{
	return (int)syscall(SYS_recvmmsg, fd, v, n, flags, NULL);
}

static inline int udp_sendmmsg(int fd, struct mmsghdr *v, unsigned n, int flags)
{
	return (int)syscall(SYS_sendmmsg, fd, v, n, flags);
}

static void udp_send(struct udp_thread *t, unsigned nout)
{
	unsigned sent = 0;
	while (sent < nout) {
		int r = udp_sendmmsg(t->fd, t->out + sent, nout - sent, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* Skip the packet that failed (e.g. unreachable peer). */
			t->stats.dropped++;
			sent++;
			continue;
		}
		sent += (unsigned)r;
	}
}

static void *udp_thread_run(void *arg)
{
	struct udp_thread *t = arg;
	rcu_register_thread();
	udp_prepare(t);
	t->rng = rt_seed();

	/* The kernel rewrites the name and control lengths of the slots it
	 * filled; only those need resetting before the next call. */
	unsigned used = UDP_BATCH;
	for (;;) {
		for (unsigned i = 0; i < used; i++) {
			t->in[i].msg_hdr.msg_namelen = sizeof(t->peer[i]);
			if (t->pktinfo) {
				t->in[i].msg_hdr.msg_control = t->ctrl[i];
				t->in[i].msg_hdr.msg_controllen = UDP_CTRL;
			}
		}
		used = 0;

		/* Blocked in the kernel we hold no snapshot: tell RCU so a
		 * reload never waits for an idle worker. */
		rcu_thread_offline();
		int n = udp_recvmmsg(t->fd, t->in, UDP_BATCH, MSG_WAITFORONE);
		rcu_thread_online();

		if (atomic_load_explicit(&t->group->stop, memory_order_relaxed))
			break;
		if (n <= 0) {
			if (n == 0 || errno == EINTR || errno == EAGAIN || errno == ENOMEM ||
			    errno == ECONNREFUSED)
				continue;
			if (errno == EBADF || errno == EINVAL || errno == ENOTSOCK)
				break;
			continue;
		}

		used = (unsigned)n;
		const struct serve_view *view = rcu_dereference(*t->root);
		unsigned nout = udp_answer(t, view, (unsigned)n);
		rcu_quiescent_state();   /* done with `view` */
		udp_send(t, nout);
	}

	rcu_unregister_thread();
	return NULL;
}

int udp_start(struct serve_view *const *root, const struct vane_conf *conf, struct udp_group **out)
{
	int ret = VANE_ENOMEM;
	struct udp_group *g = calloc(1, sizeof(*g));
	unsigned total = conf->nlisten * conf->udp_workers;
	if (g == NULL || (g->threads = calloc(total, sizeof(*g->threads))) == NULL)
		goto fail;
	atomic_init(&g->stop, false);
	ret = protect_rrl_new(conf, rt_seed(), &g->rrl);
	if (ret != 0) {
		log_error("cannot set up response rate limiting: %s", vane_strerror(ret));
		goto fail;
	}
	ret = VANE_ENOMEM;

	for (unsigned l = 0; l < conf->nlisten; l++) {
		for (unsigned w = 0; w < conf->udp_workers; w++) {
			struct udp_thread *t = aligned_alloc(64, (sizeof(*t) + 63) & ~(size_t)63);
			if (t == NULL) {
				ret = VANE_ENOMEM;
				goto fail;
			}
			memset(t, 0, sizeof(*t));
			t->fd = -1;
			t->root = root;
			t->geo_cache = geo_cache_new(0);
			t->cookie_mac = cookie_mac_new();
			if (t->geo_cache == NULL || t->cookie_mac == NULL) {
				geo_cache_free(t->geo_cache);
				cookie_mac_free(t->cookie_mac);
				free(t);
				ret = VANE_ENOMEM;
				goto fail;
			}
			t->group = g;
			g->threads[g->count++] = t;
			t->v6 = conf->listen[l].addr.ss_family == AF_INET6;
			t->fd = rt_udp_socket(&conf->listen[l].addr, conf->listen[l].addrlen, &t->pktinfo);
			if (t->fd < 0) {
				ret = t->fd;
				log_error("cannot listen on UDP %s: %s", conf->listen[l].text,
					  vane_strerror(ret));
				goto fail;
			}
			dnstap_tap_init(&t->tap, dnstap_current(), g->count - 1, t->fd, false);
		}
		log_info("listening on UDP %s with %u workers", conf->listen[l].text,
			 conf->udp_workers);
	}

	for (unsigned i = 0; i < g->count; i++) {
		int r = pthread_create(&g->threads[i]->tid, NULL, udp_thread_run, g->threads[i]);
		if (r != 0) {
			ret = -r;
			log_error("cannot start UDP worker: %s", vane_strerror(ret));
			goto fail;
		}
		g->threads[i]->started = true;
	}
	*out = g;
	return 0;
fail:
	udp_stop(g);
	return ret;
}

void udp_stop(struct udp_group *g)
{
	if (g == NULL)
		return;
	atomic_store(&g->stop, true);
	/* shutdown() wakes a thread blocked in recvmmsg on Linux. */
	for (unsigned i = 0; i < g->count; i++)
		if (g->threads[i]->fd >= 0)
			shutdown(g->threads[i]->fd, SHUT_RDWR);
	for (unsigned i = 0; i < g->count; i++) {
		struct udp_thread *t = g->threads[i];
		if (t->started)
			pthread_join(t->tid, NULL);
		if (t->fd >= 0)
			close(t->fd);
		geo_cache_free(t->geo_cache);
		cookie_mac_free(t->cookie_mac);
		free(t);
	}
	free(g->threads);
	rrl_free(g->rrl);
	free(g);
}

unsigned udp_stats(struct udp_group *g, struct srv_stats **blocks, unsigned max)
{
	unsigned n = 0;
	for (unsigned i = 0; g && i < g->count && n < max; i++)
		blocks[n++] = &g->threads[i]->stats;
	return n;
}

unsigned udp_thread_count(const struct udp_group *g)
{
	return g ? g->count : 0;
}
