/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/events.h"

/* Health transitions per endpoint, by name so they survive reloads.  A flat
 * array: endpoints are few and transitions rare. */
struct ev_trans {
	char service[256];
	char endpoint[64];
	uint64_t up, down;
};

struct events {
	struct event ring[EVENTS_RING];
	uint64_t next_id;                /* id of the next event */
	uint64_t count[EV_KINDS];
	struct ev_trans *trans;
	unsigned ntrans, captrans;
};

static const char *const kind_names[EV_KINDS] = {
	[EV_HEALTH_UP] = "health", [EV_HEALTH_DOWN] = "health", [EV_DRAIN] = "drain",
	[EV_UNDRAIN] = "undrain", [EV_WEIGHT] = "weight", [EV_RAMP] = "ramp",
	[EV_RAMP_STEP] = "ramp-step", [EV_RAMP_DONE] = "ramp-done",
	[EV_RAMP_ABORT] = "ramp-abort", [EV_LOAD] = "load", [EV_LATENCY] = "latency",
	[EV_FALLBACK] = "fallback", [EV_RELOAD] = "reload", [EV_RELOAD_FAILED] = "reload-failed",
	[EV_RECOVERY] = "recovery",
	[EV_ANYCAST] = "anycast",
	[EV_ZONE_EXPIRED] = "zone-expired",
	[EV_PROVIDER] = "provider", [EV_DRIFT] = "drift",
};

const char *event_kind_name(enum event_kind k)
{
	return k < EV_KINDS ? kind_names[k] : "unknown";
}

struct events *events_new(void)
{
	struct events *ev = calloc(1, sizeof(*ev));
	if (ev)
		ev->next_id = 1;
	return ev;
}

void events_free(struct events *ev)
{
	if (ev == NULL)
		return;
	free(ev->trans);
	free(ev);
}

static struct ev_trans *trans_find(const struct events *ev, const char *svc, const char *ep)
{
	for (unsigned i = 0; i < ev->ntrans; i++)
		if (strcmp(ev->trans[i].service, svc) == 0 && strcmp(ev->trans[i].endpoint, ep) == 0)
			return &ev->trans[i];
	return NULL;
}

static void count_transition(struct events *ev, const char *svc, const char *ep, bool up)
{
	struct ev_trans *t = trans_find(ev, svc, ep);
	if (t == NULL) {
		if (ev->ntrans == ev->captrans) {
			unsigned cap = ev->captrans ? ev->captrans * 2 : 16;
			struct ev_trans *n = realloc(ev->trans, cap * sizeof(*n));
			if (n == NULL)
				return;
			ev->trans = n;
			ev->captrans = cap;
		}
		t = &ev->trans[ev->ntrans++];
		memset(t, 0, sizeof(*t));
		snprintf(t->service, sizeof(t->service), "%s", svc);
		snprintf(t->endpoint, sizeof(t->endpoint), "%s", ep);
	}
	if (up)
		t->up++;
	else
		t->down++;
}

static void add_v(struct events *ev, enum event_kind kind, const char *svc, const char *ep,
		  const char *fmt, va_list ap)
{
	if (ev == NULL || kind >= EV_KINDS)
		return;
	struct event *e = &ev->ring[(ev->next_id - 1) % EVENTS_RING];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	e->id = ev->next_id++;
	e->time_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	e->kind = kind;
	snprintf(e->service, sizeof(e->service), "%s", svc ? svc : "");
	snprintf(e->endpoint, sizeof(e->endpoint), "%s", ep ? ep : "");
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	ev->count[kind]++;
	if ((kind == EV_HEALTH_UP || kind == EV_HEALTH_DOWN) && svc && ep)
		count_transition(ev, svc, ep, kind == EV_HEALTH_UP);
}

void events_add(struct events *ev, enum event_kind kind, const char *service,
		const char *endpoint, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	add_v(ev, kind, service, endpoint, fmt, ap);
	va_end(ap);
}

void events_add_key(struct events *ev, enum event_kind kind, const char *key,
		    const char *fmt, ...)
{
	/* Service names never contain '/', endpoint ids may not either:
	 * split at the last one. */
	char svc[256] = "";
	const char *slash = key ? strrchr(key, '/') : NULL;
	const char *ep = NULL;
	if (slash) {
		snprintf(svc, sizeof(svc), "%.*s", (int)(slash - key), key);
		ep = slash + 1;
	} else if (key) {
		snprintf(svc, sizeof(svc), "%s", key);
	}
	va_list ap;
	va_start(ap, fmt);
	add_v(ev, kind, key ? svc : NULL, ep, fmt, ap);
	va_end(ap);
}

uint64_t events_last_id(const struct events *ev)
{
	return ev ? ev->next_id - 1 : 0;
}

const struct event *events_get(const struct events *ev, uint64_t id)
{
	uint64_t last = events_last_id(ev);
	if (id == 0 || id > last || (last > EVENTS_RING && id <= last - EVENTS_RING))
		return NULL;
	return &ev->ring[(id - 1) % EVENTS_RING];
}

uint64_t events_count(const struct events *ev, enum event_kind k)
{
	return ev && k < EV_KINDS ? ev->count[k] : 0;
}

uint64_t events_transitions(const struct events *ev, const char *service,
			    const char *endpoint, bool up)
{
	const struct ev_trans *t = ev ? trans_find(ev, service, endpoint) : NULL;
	return t ? (up ? t->up : t->down) : 0;
}

void events_reload(struct events *ev, bool ok, const char *error)
{
	if (ok)
		events_add(ev, EV_RELOAD, NULL, NULL, "reloaded");
	else
		events_add(ev, EV_RELOAD_FAILED, NULL, NULL, "reload failed: %s",
			   error ? error : "error");
}
