/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "anycast/machine.h"

const char *anycast_state_name(enum anycast_state s)
{
	static const char *const names[] = { "withdrawn", "announced", "stopped" };
	return (unsigned)s <= AC_STOPPED ? names[s] : "withdrawn";
}

void anycast_machine_init(struct anycast_machine *m)
{
	memset(m, 0, sizeof(*m));
	/* Probed down, not assumed: the first announce needs `rise` passes. */
	m->check.origin = HEALTH_PROBED;
	m->check.up = false;
	snprintf(m->reason, sizeof(m->reason), "starting: no self-check yet");
}

bool anycast_healthy(const struct anycast_machine *m)
{
	return m->state != AC_STOPPED && m->check.up;
}

static void go(struct anycast_machine *m, enum anycast_state to, uint64_t now,
	       struct anycast_action *out, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void go(struct anycast_machine *m, enum anycast_state to, uint64_t now,
	       struct anycast_action *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->reason, sizeof(m->reason), fmt, ap);
	va_end(ap);
	out->act = to == AC_ANNOUNCED ? AC_ACT_ANNOUNCE : AC_ACT_WITHDRAW;
	out->transition = m->state != to;
	if (out->transition) {
		m->transitions++;
		m->changed = true;
		m->changed_ms = now;
	}
	m->state = to;
}

/* Whether hold-down allows a change now; else ask to be woken at its end. */
static bool held(const struct anycast_machine *m, const struct anycast_params *p, uint64_t now,
		 struct anycast_action *out)
{
	if (!m->changed || now >= m->changed_ms + p->hold_down_ms)
		return false;
	out->wake_ms = m->changed_ms + p->hold_down_ms;
	return true;
}

/* Down for soft reasons only: the canary query has passed `rise` times in a
 * row, so this site can answer; only an optional check fails. */
static bool soft_down(const struct anycast_machine *m, const struct anycast_params *p,
		      uint32_t hard_ok_run)
{
	uint32_t rise = p->fold.rise ? p->fold.rise : 1;
	return !m->check.up && hard_ok_run >= rise;
}

static void ask_peers(struct anycast_machine *m, const struct anycast_params *p, uint64_t now,
		      struct anycast_action *out)
{
	if (m->peers_pending)
		return;
	if (m->peers_asked_ms && now < m->peers_asked_ms + p->peer_retry_ms) {
		out->wake_ms = m->peers_asked_ms + p->peer_retry_ms;
		return;
	}
	m->peers_pending = true;
	m->peers_asked_ms = now ? now : 1;
	out->act = AC_ACT_ASK_PEERS;
}

/* Decide from the folded check; `peers` < 0: no peer answer in hand. */
static void decide(struct anycast_machine *m, const struct anycast_params *p, uint64_t now,
		   long peers, struct anycast_action *out)
{
	bool soft = m->soft_down;
	if (m->check.up) {
		m->kept_last = false;
		if (m->state == AC_WITHDRAWN && !held(m, p, now, out))
			go(m, AC_ANNOUNCED, now, out, "self-check passed %u times in a row",
			   m->check.ok_run);
		return;
	}
	if (m->state == AC_ANNOUNCED && !soft) {
		/* Hard: this site cannot answer; hold-down does not apply. */
		m->kept_last = false;
		go(m, AC_WITHDRAWN, now, out, "self-check failed: %s", m->last_error);
		return;
	}
	if (!soft)
		return;   /* withdrawn, and cannot answer: stay */
	/* Soft: hand over only to a healthy peer.  Hold-down damps a soft
	 * withdraw, not the return of the last site: two sites that withdrew
	 * at the same moment (each saw the other healthy) must not stay dark
	 * for a hold-down. */
	if (m->state == AC_ANNOUNCED && held(m, p, now, out))
		return;
	if (!p->have_peers)
		peers = 0;   /* nobody to hand over to: this is the last site */
	if (peers < 0) {
		ask_peers(m, p, now, out);
		return;
	}
	if (m->state == AC_ANNOUNCED) {
		if (peers > 0) {
			m->kept_last = false;
			go(m, AC_WITHDRAWN, now, out, "soft failure (%s); %ld healthy peer%s announce",
			   m->last_error, peers, peers == 1 ? "" : "s");
		} else {
			m->kept_last = true;
		}
	} else if (peers == 0) {
		m->kept_last = true;
		go(m, AC_ANNOUNCED, now, out,
		   "last healthy site: no healthy peer announces; announcing despite soft failure (%s)",
		   m->last_error);
	}
}

void anycast_step(struct anycast_machine *m, const struct anycast_params *p,
		  const struct anycast_event *ev, uint64_t now_ms, struct anycast_action *out)
{
	memset(out, 0, sizeof(*out));
	if (ev->type == AC_EV_BIRD) {
		m->bird_known = true;
		m->bird_up = ev->bird_up;
		/* BIRD is the truth about the route: set it again when it
		 * disagrees (a BIRD restart, an operator's birdc). */
		bool want = m->state == AC_ANNOUNCED;
		if (ev->bird_up != want)
			out->act = want ? AC_ACT_ANNOUNCE : AC_ACT_WITHDRAW;
		return;
	}
	if (m->state == AC_STOPPED)
		return;
	switch (ev->type) {
	case AC_EV_STOP:
		m->kept_last = false;
		go(m, AC_STOPPED, now_ms, out, "stopping: withdrawn before the server stops");
		out->act = AC_ACT_WITHDRAW;
		return;
	case AC_EV_CHECK: {
		bool ok = ev->hard_ok && ev->soft_ok;
		struct health_event hev;
		if (!ok)
			snprintf(m->last_error, sizeof(m->last_error), "%s",
				 ev->why ? ev->why : "failed");
		if (!ev->hard_ok)
			m->hard_ok_run = 0;
		else if (m->hard_ok_run < UINT32_MAX)
			m->hard_ok_run++;
		health_fold(&m->check, ok, &p->fold, now_ms, &hev);
		m->soft_down = soft_down(m, p, m->hard_ok_run);
		decide(m, p, now_ms, -1, out);
		return;
	}
	case AC_EV_PEERS:
		m->peers_pending = false;
		decide(m, p, now_ms, (long)ev->healthy_peers, out);
		return;
	case AC_EV_TICK:
		decide(m, p, now_ms, -1, out);
		return;
	default:
		return;
	}
}
