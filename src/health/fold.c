/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>

#include "health/fold.h"

const char *health_origin_name(uint8_t origin)
{
	static const char *const names[] = { "assumed", "saved", "probed" };
	return origin <= HEALTH_PROBED ? names[origin] : "assumed";
}

/* Take the probed state `up`; counts a transition when it flips. */
static void decide(struct health_state *s, bool up, uint64_t now_ms, struct health_event *ev)
{
	bool was = s->up;
	ev->decided = s->origin != HEALTH_PROBED || was != up;
	s->origin = HEALTH_PROBED;
	s->up = up;
	if (was != up) {
		ev->flipped = true;
		s->since_ms = now_ms;
		s->transitions++;
	} else if (s->since_ms == 0) {
		s->since_ms = now_ms;   /* the first probe confirmed the assumption */
	}
}

void health_fold(struct health_state *s, bool ok, const struct health_params *p,
		 uint64_t now_ms, struct health_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	uint32_t rise = p->rise ? p->rise : 1, fall = p->fall ? p->fall : 1;
	s->probes++;
	if (ok) {
		s->fail_run = 0;
		s->ok_run++;
	} else {
		s->failures++;
		s->ok_run = 0;
		s->fail_run++;
	}
	bool run_done = ok ? s->ok_run >= rise : s->fail_run >= fall;
	switch (s->origin) {
	case HEALTH_ASSUMED:
		/* Assumed up: a success confirms it at once, but failures must
		 * make a full `fall` run like any up target, or one lost first
		 * probe would take a healthy endpoint out (the operator asked
		 * for `fall` in a row). */
		if (ok || run_done)
			decide(s, ok, now_ms, ev);
		break;
	case HEALTH_SAVED:
		if (ok == s->up) {
			decide(s, ok, now_ms, ev);
		} else if (run_done) {
			ev->overturned = true;
			decide(s, ok, now_ms, ev);
		}
		break;
	default:
		if (ok != s->up && run_done)
			decide(s, ok, now_ms, ev);
		break;
	}
}
