/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/events.h"

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

json_t *events_json(const struct events *ev, uint64_t since, unsigned limit)
{
	json_t *arr = json_array();
	uint64_t last = ev ? ev->next_id - 1 : 0;
	uint64_t first = last > EVENTS_RING ? last - EVENTS_RING + 1 : 1;
	if (since >= last)
		first = last + 1;           /* nothing newer (and no wrap at UINT64_MAX) */
	else if (since + 1 > first)
		first = since + 1;
	if (limit && last >= first && last - first + 1 > limit)
		first = last - limit + 1;   /* the newest `limit` */
	for (uint64_t id = first; ev && id <= last; id++) {
		const struct event *e = &ev->ring[(id - 1) % EVENTS_RING];
		json_t *o = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)e->id,
				      "time", (json_int_t)e->time_ms, "kind", kind_names[e->kind],
				      "service", e->service, "endpoint", e->endpoint, "text", e->text);
		if (e->kind == EV_HEALTH_UP || e->kind == EV_HEALTH_DOWN)
			json_object_set_new(o, "to", json_string(e->kind == EV_HEALTH_UP ? "up" : "down"));
		json_array_append_new(arr, o);
	}
	return json_pack("{s:b,s:I,s:o}", "ok", 1, "last_id", (json_int_t)last, "events", arr);
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

void events_admin(struct events *ev, const char *key, int argc, char **argv)
{
	static const struct { const char *verb; enum event_kind kind; } verbs[] = {
		{ "drain", EV_DRAIN }, { "undrain", EV_UNDRAIN }, { "weight", EV_WEIGHT },
		{ "ramp", EV_RAMP }, { "load", EV_LOAD },
	};
	if (argc < 1)
		return;
	char text[EVENTS_TEXT_MAX];
	size_t n = (size_t)snprintf(text, sizeof(text), "%s", argv[0]);
	for (int i = 2; i < argc && n < sizeof(text); i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, " %s", argv[i]);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(verbs[i].verb, argv[0]) == 0)
			events_add_key(ev, verbs[i].kind, key, "%s", text);
}

void events_reload(struct events *ev, json_t *res)
{
	if (json_is_true(json_object_get(res, "ok")))
		events_add(ev, EV_RELOAD, NULL, NULL, "reloaded");
	else
		events_add(ev, EV_RELOAD_FAILED, NULL, NULL, "reload failed: %s",
			   json_string_value(json_object_get(res, "error")) ?: "error");
}
