/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anycast/anycast.h"
#include "anycast/bird.h"
#include "anycast/machine.h"
#include "anycast/peers.h"
#include "lib/dname.h"
#include "ops/events.h"
#include "rt/clock.h"
#include "rt/log.h"

#define AC_ADDR_MAX 16
#define AC_PEER_RETRY_MS 1000
#define AC_PEER_TIMEOUT_MS 500

struct anycast_rt {
	uv_loop_t *loop;
	struct anycast_hooks hooks;
	const struct vane_conf *conf;    /* the config as started (outlives us) */
	struct anycast_params params;
	struct anycast_machine m;
	struct bird_client *bird;
	char cmd_show[160], cmd_show_uplink[160], cmd_enable[160], cmd_disable[160];

	/* The self-check: one query per address, answered or timed out. */
	uv_timer_t check_timer, query_timer, wake_timer, drain_timer;
	uv_udp_t udp;
	uint8_t query[12 + DNAME_MAXLEN + 4];
	size_t qlen;
	uint16_t qid;
	unsigned naddr;
	bool in_flight;
	bool answered[AC_ADDR_MAX];
	char fail[AC_ADDR_MAX][96];      /* why an address failed; "" = passed */
	uint64_t checks, check_failures;
	bool uplink_known, uplink_up;
	bool proto_missing;              /* logged that BIRD lacks the protocol */

	/* Peers (threadpool). */
	uv_work_t peer_work;
	bool peer_busy;
	int peer_result;                 /* healthy peers; -1: the cluster cannot tell */
	bool peers_known;
	unsigned healthy_peers;

	/* Stop. */
	bool stopping;
	void (*done)(void *ctx);
	void *done_ctx;

	long long changed_wall_ms;
	bool closing;
	unsigned handles;                /* open libuv handles */
};

static void act(struct anycast_rt *rt, const struct anycast_action *a);

static void step(struct anycast_rt *rt, const struct anycast_event *ev)
{
	struct anycast_action a;
	anycast_step(&rt->m, &rt->params, ev, rt_mono_ms(), &a);
	act(rt, &a);
	if (rt->hooks.state_changed && !rt->closing)
		rt->hooks.state_changed(rt->hooks.ctx, rt->m.state == AC_ANNOUNCED,
					anycast_healthy(&rt->m));
}

/* ---- BIRD ---- */

static void bird_done(void *ctx, int err, int code, const char *text)
{
	struct anycast_rt *rt = ctx;
	if (err != 0)
		log_warning("anycast: BIRD command failed: %s", vane_strerror(err));
	else if (code >= 8000)
		log_error("anycast: BIRD refused a command (protocol %s): %s",
			  rt->conf->anycast_protocol, text);
}

/* The withdraw of a stop went out (or failed): serve for drain-time. */
static void drain_cb(uv_timer_t *t)
{
	struct anycast_rt *rt = t->data;
	log_info("anycast: drained; stopping");
	if (rt->done) {
		void (*done)(void *) = rt->done;
		rt->done = NULL;
		done(rt->done_ctx);
	}
}

static void stop_withdrawn(void *ctx, int err, int code, const char *text)
{
	struct anycast_rt *rt = ctx;
	bird_done(ctx, err, code, text);
	if (rt->closing)
		return;
	log_info("anycast: withdrawn (%s); answering for %u ms more", err == 0 && code < 8000 ?
		 "BIRD confirmed" : "BIRD did not confirm", rt->conf->anycast_drain_ms);
	uv_timer_start(&rt->drain_timer, drain_cb, rt->conf->anycast_drain_ms, 0);
}

static void show_done(void *ctx, int err, int code, const char *text)
{
	struct anycast_rt *rt = ctx;
	if (err != 0 || code >= 8000 || rt->closing)
		return;
	int up = bird_protocol_up(text, rt->conf->anycast_protocol);
	if (up < 0) {
		/* Once per spell, not every interval. */
		if (!rt->proto_missing)
			log_error("anycast: BIRD has no protocol %s", rt->conf->anycast_protocol);
		rt->proto_missing = true;
		return;
	}
	rt->proto_missing = false;
	struct anycast_event ev = { .type = AC_EV_BIRD, .bird_up = up == 1 };
	step(rt, &ev);
}

static void uplink_done(void *ctx, int err, int code, const char *text)
{
	struct anycast_rt *rt = ctx;
	if (rt->closing)
		return;
	int up = err == 0 && code < 8000 ? bird_protocol_up(text, rt->conf->anycast_uplink) : 0;
	rt->uplink_known = err == 0;
	rt->uplink_up = up == 1;
}

static void bird_conn(void *ctx, bool up)
{
	struct anycast_rt *rt = ctx;
	if (!up)
		rt->uplink_known = false;
}

/* ---- peers ---- */

static void peer_work_cb(uv_work_t *req)
{
	struct anycast_rt *rt = req->data;
	if (rt->conf->nanycast_peers > 0) {
		rt->peer_result = (int)anycast_peers_healthy(rt->conf->anycast_peers,
							     rt->conf->nanycast_peers,
							     AC_PEER_TIMEOUT_MS);
		return;
	}
	/* The other nodes' records in the cluster, read now (stale records
	 * could hand over to a node that withdrew a moment ago). */
	rt->peer_result = rt->hooks.cluster_peers(rt->hooks.ctx);
}

static void maybe_free(struct anycast_rt *rt)
{
	if (rt->closing && rt->handles == 0 && !rt->peer_busy)
		free(rt);
}

static void peer_after_cb(uv_work_t *req, int status)
{
	struct anycast_rt *rt = req->data;
	rt->peer_busy = false;
	if (rt->closing) {
		maybe_free(rt);
		return;
	}
	/* A cluster that cannot tell counts as no healthy peer: a soft failure
	 * then keeps this site announced, never leaves nobody announcing. */
	if (rt->peer_result < 0)
		log_info("anycast: the cluster cannot tell the peers' state; counting none healthy");
	rt->peers_known = rt->peer_result >= 0;
	rt->healthy_peers = rt->peer_result > 0 ? (unsigned)rt->peer_result : 0;
	struct anycast_event ev = { .type = AC_EV_PEERS, .healthy_peers = rt->healthy_peers };
	step(rt, &ev);
}

/* ---- actions ---- */

static void wake_cb(uv_timer_t *t)
{
	struct anycast_rt *rt = t->data;
	struct anycast_event ev = { .type = AC_EV_TICK };
	step(rt, &ev);
}

static void act(struct anycast_rt *rt, const struct anycast_action *a)
{
	if (rt->closing)
		return;
	if (a->transition) {
		rt->changed_wall_ms = (long long)rt_now_ms();
		log_info("anycast: %s: %s", anycast_state_name(rt->m.state), rt->m.reason);
		struct events *ev = rt->hooks.events_of ? rt->hooks.events_of(rt->hooks.ctx) : NULL;
		events_add(ev, EV_ANYCAST, NULL, NULL, "%s: %s", anycast_state_name(rt->m.state),
			   rt->m.reason);
	}
	switch (a->act) {
	case AC_ACT_ANNOUNCE:
		bird_send(rt->bird, rt->cmd_enable, bird_done, rt);
		break;
	case AC_ACT_WITHDRAW:
		bird_send(rt->bird, rt->cmd_disable,
			  a->transition && rt->m.state == AC_STOPPED ? stop_withdrawn : bird_done, rt);
		break;
	case AC_ACT_ASK_PEERS:
		if (rt->peer_busy)
			break;
		rt->peer_busy = true;
		rt->peer_work.data = rt;
		if (uv_queue_work(rt->loop, &rt->peer_work, peer_work_cb, peer_after_cb) < 0) {
			rt->peer_busy = false;
			struct anycast_event ev = { .type = AC_EV_PEERS, .healthy_peers = 0 };
			step(rt, &ev);
		}
		break;
	case AC_ACT_NONE:
		break;
	}
	if (a->wake_ms) {
		uint64_t now = rt_mono_ms();
		uv_timer_start(&rt->wake_timer, wake_cb, a->wake_ms > now ? a->wake_ms - now : 0, 0);
	}
}

/* ---- the self-check ---- */

static void check_done(struct anycast_rt *rt)
{
	char why[ANYCAST_REASON_MAX] = "";
	bool hard_ok = true;
	rt->in_flight = false;
	uv_timer_stop(&rt->query_timer);
	for (unsigned i = 0; i < rt->naddr; i++) {
		if (rt->fail[i][0] && hard_ok) {
			hard_ok = false;
			snprintf(why, sizeof(why), "%s", rt->fail[i]);
		}
	}
	if (hard_ok && rt->conf->anycast_uplink && !(rt->uplink_known && rt->uplink_up)) {
		hard_ok = false;
		snprintf(why, sizeof(why), "uplink %s is %s", rt->conf->anycast_uplink,
			 rt->uplink_known ? "not up" : "unknown (BIRD not answering)");
	}
	bool soft_ok = true;
	if (hard_ok && rt->hooks.zones_ok)
		soft_ok = rt->hooks.zones_ok(rt->hooks.ctx, why, sizeof(why));
	rt->checks++;
	if (!hard_ok || !soft_ok)
		rt->check_failures++;
	if (rt->stopping)
		return;
	struct anycast_event ev = { .type = AC_EV_CHECK, .hard_ok = hard_ok, .soft_ok = soft_ok,
				    .why = why };
	step(rt, &ev);
}

static void query_timeout_cb(uv_timer_t *t)
{
	struct anycast_rt *rt = t->data;
	for (unsigned i = 0; i < rt->naddr; i++)
		if (!rt->answered[i])
			snprintf(rt->fail[i], sizeof(rt->fail[i]), "no answer from %s in %u ms",
				 rt->conf->anycast_addr[i].text, rt->conf->anycast_check_timeout_ms);
	check_done(rt);
}

static void udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char rbuf[4096];   /* loop thread only */
	buf->base = rbuf;
	buf->len = sizeof(rbuf);
}

/* The answer must come from the address asked (and its port): anything
 * else is not vaned's listener answering through the anycast address. */
static bool same_addr(const struct anycast_rt *rt, unsigned i, const struct sockaddr *from)
{
	const struct sockaddr_storage *want = &rt->conf->anycast_addr[i].addr;
	if (from == NULL || from->sa_family != want->ss_family)
		return false;
	if (from->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)from, *b = (const void *)want;
		return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *a = (const void *)from, *b = (const void *)want;
	return a->sin6_port == b->sin6_port &&
	       memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0;
}

static void udp_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
		     unsigned flags)
{
	struct anycast_rt *rt = h->data;
	if (n < 12 || !rt->in_flight)
		return;
	const uint8_t *p = (const uint8_t *)buf->base;
	uint16_t id = (uint16_t)(p[0] << 8 | p[1]);
	unsigned i = (uint16_t)(id - rt->qid);   /* one id per address: qid + i */
	if (i >= rt->naddr || rt->answered[i] || !(p[2] & 0x80) || !same_addr(rt, i, from))
		return;
	unsigned rcode = p[3] & 0x0f, ancount = (unsigned)(p[6] << 8 | p[7]);
	rt->answered[i] = true;
	if (rcode != 0)
		snprintf(rt->fail[i], sizeof(rt->fail[i]), "%s answered rcode %u",
			 rt->conf->anycast_addr[i].text, rcode);
	else if (ancount == 0)
		snprintf(rt->fail[i], sizeof(rt->fail[i]), "%s answered no records for %s",
			 rt->conf->anycast_addr[i].text, rt->conf->anycast_check_name);
	for (unsigned k = 0; k < rt->naddr; k++)
		if (!rt->answered[k])
			return;
	check_done(rt);
}

static void check_cb(uv_timer_t *t)
{
	struct anycast_rt *rt = t->data;
	if (rt->in_flight || rt->stopping)
		return;   /* the timeout ends the one in flight */
	if (bird_connected(rt->bird)) {
		bird_send(rt->bird, rt->cmd_show, show_done, rt);
		if (rt->conf->anycast_uplink)
			bird_send(rt->bird, rt->cmd_show_uplink, uplink_done, rt);
	} else {
		rt->uplink_known = false;
	}
	uint16_t id;
	rt_random(&id, sizeof(id));
	rt->qid = id;
	rt->in_flight = true;
	for (unsigned i = 0; i < rt->naddr; i++) {
		uint16_t qi = (uint16_t)(rt->qid + i);
		rt->query[0] = (uint8_t)(qi >> 8);
		rt->query[1] = (uint8_t)qi;
		rt->answered[i] = false;
		rt->fail[i][0] = '\0';
		uv_buf_t b = uv_buf_init((char *)rt->query, (unsigned)rt->qlen);
		const struct sockaddr *sa = (const struct sockaddr *)&rt->conf->anycast_addr[i].addr;
		int r = uv_udp_try_send(&rt->udp, &b, 1, sa);
		if (r < 0) {
			rt->answered[i] = true;
			snprintf(rt->fail[i], sizeof(rt->fail[i]), "cannot send to %s: %s",
				 rt->conf->anycast_addr[i].text, uv_strerror(r));
		}
	}
	uv_timer_start(&rt->query_timer, query_timeout_cb, rt->conf->anycast_check_timeout_ms, 0);
	bool all = true;
	for (unsigned i = 0; i < rt->naddr; i++)
		all = all && rt->answered[i];
	if (all)
		check_done(rt);
}

/* The canary query: type A, class IN, no recursion wanted. */
static int build_query(struct anycast_rt *rt)
{
	memset(rt->query, 0, 12);
	rt->query[5] = 1;   /* QDCOUNT */
	int n = dname_from_str(rt->conf->anycast_check_name, NULL, rt->query + 12);
	if (n <= 0)
		return n < 0 ? n : VANE_EINVAL;
	uint8_t *q = rt->query + 12 + n;
	q[0] = 0, q[1] = 1, q[2] = 0, q[3] = 1;
	rt->qlen = 12 + (size_t)n + 4;
	return 0;
}

static void timer_init(struct anycast_rt *rt, uv_timer_t *t)
{
	uv_timer_init(rt->loop, t);
	t->data = rt;
	rt->handles++;
}

int anycast_start(uv_loop_t *loop, const struct vane_conf *conf, const struct anycast_hooks *h,
		  struct anycast_rt **out)
{
	*out = NULL;
	if (conf->nanycast_addr == 0)
		return 0;
	if (conf->nanycast_addr > AC_ADDR_MAX) {
		log_error("anycast: at most %d addresses", AC_ADDR_MAX);
		return VANE_EINVAL;
	}
	/* One self-check socket: one address family. */
	for (unsigned i = 1; i < conf->nanycast_addr; i++) {
		if (conf->anycast_addr[i].addr.ss_family != conf->anycast_addr[0].addr.ss_family) {
			log_error("anycast: addresses must be all IPv4 or all IPv6");
			return VANE_EINVAL;
		}
	}
	struct anycast_rt *rt = calloc(1, sizeof(*rt));
	if (rt == NULL)
		return VANE_ENOMEM;
	rt->loop = loop;
	rt->hooks = *h;
	rt->conf = conf;
	rt->naddr = conf->nanycast_addr;
	rt->params.fold.rise = conf->anycast_check_rise;
	rt->params.fold.fall = conf->anycast_check_fall;
	rt->params.hold_down_ms = conf->anycast_hold_down_ms;
	rt->params.peer_retry_ms = AC_PEER_RETRY_MS;
	rt->params.have_peers = conf->nanycast_peers > 0 || h->cluster_peers != NULL;
	anycast_machine_init(&rt->m);
	snprintf(rt->cmd_show, sizeof(rt->cmd_show), "show protocols \"%s\"", conf->anycast_protocol);
	snprintf(rt->cmd_enable, sizeof(rt->cmd_enable), "enable \"%s\"", conf->anycast_protocol);
	snprintf(rt->cmd_disable, sizeof(rt->cmd_disable), "disable \"%s\"", conf->anycast_protocol);
	if (conf->anycast_uplink)
		snprintf(rt->cmd_show_uplink, sizeof(rt->cmd_show_uplink), "show protocols \"%s\"",
			 conf->anycast_uplink);
	int ret = build_query(rt);
	if (ret != 0) {
		free(rt);
		return ret;
	}
	timer_init(rt, &rt->check_timer);
	timer_init(rt, &rt->query_timer);
	timer_init(rt, &rt->wake_timer);
	timer_init(rt, &rt->drain_timer);
	uv_udp_init(loop, &rt->udp);
	rt->udp.data = rt;
	rt->handles++;
	struct sockaddr_storage any;
	memset(&any, 0, sizeof(any));
	any.ss_family = conf->anycast_addr[0].addr.ss_family;
	if ((ret = uv_udp_bind(&rt->udp, (const struct sockaddr *)&any, 0)) < 0 ||
	    (ret = uv_udp_recv_start(&rt->udp, udp_alloc, udp_recv)) < 0 ||
	    (ret = bird_open(loop, conf->anycast_bird_socket, conf->anycast_bird_timeout_ms,
			     bird_conn, rt, &rt->bird)) != 0) {
		log_error("anycast: cannot start: %s", vane_strerror(ret));
		anycast_close(rt);
		return VANE_EINVAL;
	}
	/* Withdrawn until the self-check has passed `rise` times: a restart
	 * announces only once this process answers. */
	bird_send(rt->bird, rt->cmd_disable, bird_done, rt);
	uv_timer_start(&rt->check_timer, check_cb, 0, conf->anycast_check_interval_ms);
	log_info("anycast: %u address%s through BIRD protocol %s (%s)", rt->naddr,
		 rt->naddr == 1 ? "" : "es", conf->anycast_protocol, conf->anycast_bird_socket);
	*out = rt;
	return 0;
}

void anycast_stop(struct anycast_rt *rt, void (*done)(void *ctx), void *ctx)
{
	if (rt->stopping)
		return;
	rt->stopping = true;
	rt->done = done;
	rt->done_ctx = ctx;
	uv_timer_stop(&rt->check_timer);
	uv_timer_stop(&rt->wake_timer);
	struct anycast_event ev = { .type = AC_EV_STOP };
	step(rt, &ev);
}

void anycast_get_status(const struct anycast_rt *rt, struct anycast_status *st)
{
	memset(st, 0, sizeof(*st));
	st->state = "off";
	st->reason = st->last_error = "";
	if (rt == NULL)
		return;
	const struct anycast_machine *m = &rt->m;
	st->enabled = true;
	st->state = anycast_state_name(m->state);
	st->announced = m->state == AC_ANNOUNCED;
	st->healthy = anycast_healthy(m);
	st->kept_last = m->kept_last;
	st->reason = m->reason;
	st->last_error = m->last_error;
	st->transitions = m->transitions;
	st->changed_at_ms = rt->changed_wall_ms;
	st->ok_run = m->check.ok_run;
	st->fail_run = m->check.fail_run;
	st->checks = rt->checks;
	st->check_failures = rt->check_failures;
	st->bird_connected = bird_connected(rt->bird);
	st->bird_known = m->bird_known;
	st->bird_up = m->bird_up;
	st->uplink_known = rt->uplink_known;
	st->uplink_up = rt->uplink_up;
	st->peers_known = rt->peers_known;
	st->healthy_peers = rt->healthy_peers;
	st->protocol = rt->conf->anycast_protocol;
	st->uplink = rt->conf->anycast_uplink;
	st->addresses = rt->conf->anycast_addr;
	st->naddresses = rt->naddr;
}

static void closed_cb(uv_handle_t *h)
{
	struct anycast_rt *rt = h->data;
	rt->handles--;
	maybe_free(rt);
}

void anycast_close(struct anycast_rt *rt)
{
	if (rt == NULL || rt->closing)
		return;
	rt->closing = true;
	bird_close(rt->bird);
	rt->bird = NULL;
	uv_handle_t *hs[] = { (uv_handle_t *)&rt->check_timer, (uv_handle_t *)&rt->query_timer,
			      (uv_handle_t *)&rt->wake_timer, (uv_handle_t *)&rt->drain_timer,
			      (uv_handle_t *)&rt->udp };
	for (unsigned i = 0; i < sizeof(hs) / sizeof(hs[0]); i++)
		if (!uv_is_closing(hs[i]))
			uv_close(hs[i], closed_cb);
}
