/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Names of steering enums, and rendering of a decision trace (`vanectl
 * explain`) as text or JSON.  Only the explain path comes here.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "steer/steer.h"

static const char *const filter_names[STEER_F_COUNT] = {
	[STEER_F_HEALTH] = "health",
	[STEER_F_GEO] = "geo",
	[STEER_F_LATENCY] = "latency",
	[STEER_F_WEIGHTED] = "weighted",
	[STEER_F_PRIORITY] = "priority",
	[STEER_F_SHED] = "shed",
	[STEER_F_FIRST_N] = "first-n",
	[STEER_F_RAMP] = "ramp",
};

static const char *const down_names[] = { "open", "empty", "servfail" };
static const char *const outcome_names[] = { "ANSWER", "NODATA", "SERVFAIL" };
static const char *const standby_names[] = { "auto", "never" };

const char *steer_filter_name(unsigned filter)
{
	return filter < STEER_F_COUNT ? filter_names[filter] : "?";
}

int steer_filter_from_name(const char *name)
{
	/* first-n is implicit (`answers`), not a policy entry. */
	for (unsigned i = 0; i < STEER_F_FIRST_N; i++)
		if (strcmp(name, filter_names[i]) == 0)
			return (int)i;
	return VANE_EINVAL;
}

const char *steer_all_down_name(unsigned mode)
{
	return mode <= STEER_DOWN_SERVFAIL ? down_names[mode] : "?";
}

int steer_all_down_from_name(const char *name)
{
	for (unsigned i = 0; i <= STEER_DOWN_SERVFAIL; i++)
		if (strcmp(name, down_names[i]) == 0)
			return (int)i;
	return VANE_EINVAL;
}

const char *steer_standby_name(unsigned standby)
{
	return standby <= STEER_STANDBY_NEVER ? standby_names[standby] : "?";
}

int steer_standby_from_name(const char *name)
{
	for (unsigned i = 0; i <= STEER_STANDBY_NEVER; i++)
		if (strcmp(name, standby_names[i]) == 0)
			return (int)i;
	return VANE_EINVAL;
}

const char *steer_outcome_name(unsigned outcome)
{
	return outcome <= STEER_SERVFAIL ? outcome_names[outcome] : "?";
}

/* An output buffer with a sticky overflow flag. */
struct out {
	char *buf;
	size_t len, used;
	bool full;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	if (o->full)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->used, o->len - o->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->used)
		o->full = true;
	else
		o->used += (size_t)n;
}

/* JSON string body: escapes quotes, backslashes and control bytes. */
static void put_json_str(struct out *o, const char *s)
{
	put(o, "\"");
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			put(o, "\\%c", ch);
		else if (ch < 0x20)
			put(o, "\\u%04x", ch);
		else
			put(o, "%c", ch);
	}
	put(o, "\"");
}

static int finish_out(struct out *o)
{
	if (o->full || o->len == 0)
		return VANE_ESPACE;
	o->buf[o->used] = '\0';
	return (int)o->used;
}

const char *steer_time_text(uint64_t at_ms, uint64_t now_ms, char *buf, size_t len)
{
	if (at_ms == 0) {
		snprintf(buf, len, "never");
		return buf;
	}
	/* gmtime_r converts a given time: no clock is read here. */
	time_t t = (time_t)(at_ms / 1000);
	struct tm tm;
	char iso[32] = "?";
	if (gmtime_r(&t, &tm))
		strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
	uint64_t ago = now_ms >= at_ms ? (now_ms - at_ms) / 1000 : 0;
	if (now_ms < at_ms)
		snprintf(buf, len, "%s (in the future)", iso);
	else if (ago < 120)
		snprintf(buf, len, "%s (%llu s ago)", iso, (unsigned long long)ago);
	else if (ago < 7200)
		snprintf(buf, len, "%s (%llu min ago)", iso, (unsigned long long)(ago / 60));
	else if (ago < 172800)
		snprintf(buf, len, "%s (%llu h ago)", iso, (unsigned long long)(ago / 3600));
	else
		snprintf(buf, len, "%s (%llu days ago)", iso, (unsigned long long)(ago / 86400));
	return buf;
}

static bool shed_in_policy(const struct steer_service *svc)
{
	for (unsigned k = 0; k < svc->n_policy; k++)
		if (svc->policy[k] == STEER_F_SHED)
			return true;
	return false;
}

const char *steer_trace_dropped(const struct steer_trace *tr, const struct steer_service *svc,
				unsigned i, char *buf, size_t len)
{
	const struct steer_result *r = &tr->result;
	for (unsigned k = 0; k < r->n; k++)
		if (r->ep[k] == i)
			return NULL;
	const struct steer_trace_ep *e = &tr->ep[i];
	const struct steer_endpoint *ep = &svc->ep[i];
	/* The operator's and the health's reasons first: they explain the
	 * filters' choices. */
	if (!e->up)
		snprintf(buf, len, "down");
	else if (e->drained)
		snprintf(buf, len, "drained");
	else if (e->weight == 0)
		snprintf(buf, len, "weight 0 (standby %s)", steer_standby_name(ep->standby));
	else if (e->ramping && e->held)
		snprintf(buf, len, "ramp at %u%%: this client's subnet not admitted yet",
			 e->ramp_percent);
	else if (shed_in_policy(svc) && ep->capacity &&
		 (double)e->load >= svc->shed_high * ep->capacity)
		snprintf(buf, len, "shed at load %u/%u", e->load, ep->capacity);
	else {
		/* The first filter that let it in and not out. */
		for (unsigned k = 0; k < tr->n_steps; k++) {
			const struct steer_trace_step *st = &tr->step[k];
			bool in = false, out = false;
			for (unsigned j = 0; j < st->n_in; j++)
				in |= st->in[j] == i;
			for (unsigned j = 0; j < st->n_out; j++)
				out |= st->out[j] == i;
			if (in && !out) {
				snprintf(buf, len, "not chosen by %s%s%s",
					 steer_filter_name(st->filter), st->why[0] ? ": " : "",
					 st->why);
				return buf;
			}
		}
		snprintf(buf, len, "not chosen");
	}
	return buf;
}

/* A trace whose decision was made (and not SERVFAIL'd before it). */
static bool r_ready(const struct steer_trace *tr)
{
	return tr->result.outcome == STEER_ANSWER || tr->result.outcome == STEER_NODATA;
}

static void addr_str(const struct steer_trace *tr, char *buf, size_t len)
{
	if (!inet_ntop(tr->family == 2 ? AF_INET6 : AF_INET, tr->addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

static void put_ids(struct out *o, const struct steer_service *svc,
		    const uint8_t *idx, unsigned n, bool json)
{
	put(o, "[");
	for (unsigned k = 0; k < n; k++) {
		if (k)
			put(o, json ? "," : " ");
		if (json)
			put_json_str(o, svc->ep[idx[k]].id);
		else
			put(o, "%s", svc->ep[idx[k]].id);
	}
	put(o, "]");
}

static void text_head(struct out *o, const struct steer_trace *tr,
		      const struct steer_service *svc)
{
	char name[DNAME_MAXSTR], addr[INET6_ADDRSTRLEN];
	dname_to_str(svc->name, name, sizeof(name));
	put(o, "service %s policy [", name);
	for (unsigned k = 0; k < svc->n_policy; k++)
		put(o, "%s%s", k ? ", " : "", steer_filter_name(svc->policy[k]));
	put(o, "] answers %u all-down %s ecs %s sticky %s\n", svc->answers,
	    steer_all_down_name(svc->all_down), svc->ecs ? "on" : "off",
	    svc->sticky == STEER_STICKY_SUBNET ? "subnet" : "none");
	addr_str(tr, addr, sizeof(addr));
	put(o, "client %s%s", addr, tr->ecs_used ? " (ecs)" : "");
	if (tr->has_geo) {
		put(o, " geo %s/%s /%u", tr->geo.continent[0] ? tr->geo.continent : "?",
		    tr->geo.country[0] ? tr->geo.country : "?", tr->geo.prefix);
		if (tr->geo.has_coords)
			put(o, " at %.2f,%.2f", tr->geo.lat, tr->geo.lon);
	}
	put(o, "\n");
}

int steer_trace_format(const struct steer_trace *tr, const struct steer_service *svc,
		       char *buf, size_t len)
{
	struct out o = { buf, len, 0, false };
	text_head(&o, tr, svc);
	char when[80], why[200];
	for (unsigned i = 0; i < tr->n_ep; i++) {
		const struct steer_trace_ep *e = &tr->ep[i];
		put(&o, "endpoint %s: %s since %s%s", svc->ep[i].id, e->up ? "up" : "DOWN",
		    e->since_ms ? steer_time_text(e->since_ms, tr->now_ms, when, sizeof(when))
				: "start", e->drained ? ", drained" : "");
		if (e->ramping)
			put(&o, ", ramping %u%%%s", e->ramp_percent,
			    e->held ? " (client held back)" : " (client admitted)");
		put(&o, ", weight %u%s, load %u/%u, tier %u\n", e->weight,
		    svc->ep[i].standby == STEER_STANDBY_NEVER ? " standby never" : "",
		    e->load, svc->ep[i].capacity, svc->ep[i].priority);
		if (r_ready(tr) && steer_trace_dropped(tr, svc, i, why, sizeof(why)))
			put(&o, "  dropped: %s\n", why);
	}
	for (unsigned k = 0; k < tr->n_steps; k++) {
		const struct steer_trace_step *st = &tr->step[k];
		put(&o, "%s: ", steer_filter_name(st->filter));
		put_ids(&o, svc, st->in, st->n_in, false);
		put(&o, " -> ");
		put_ids(&o, svc, st->out, st->n_out, false);
		put(&o, "%s%s\n", st->why[0] ? ": " : "", st->why);
	}
	const struct steer_result *r = &tr->result;
	put(&o, "result %s ", steer_outcome_name(r->outcome));
	put_ids(&o, svc, r->ep, r->n, false);
	put(&o, " %s %u scope %u (%s)%s%s%s%s\n",
	    r->outcome == STEER_NODATA ? "negative ttl cap" : "ttl", r->ttl, r->scope,
	    !tr->ecs_used ? "no ECS used" : tr->scope_why[0] ? tr->scope_why :
	    "nothing client-dependent", r->fallback ? " all-down fallback" : "",
	    r->open ? " open" : "", r->all_drained ? " all drained" : "",
	    r->degraded ? " degraded" : "");
	return finish_out(&o);
}

static void json_client(struct out *o, const struct steer_trace *tr)
{
	char addr[INET6_ADDRSTRLEN];
	addr_str(tr, addr, sizeof(addr));
	put(o, "\"client\":{\"address\":\"%s\",\"ecs\":%s", addr,
	    tr->ecs_used ? "true" : "false");
	if (tr->has_geo) {
		put(o, ",\"geo\":{\"continent\":");
		put_json_str(o, tr->geo.continent);
		put(o, ",\"country\":");
		put_json_str(o, tr->geo.country);
		put(o, ",\"prefix\":%u", tr->geo.prefix);
		if (tr->geo.has_coords)
			put(o, ",\"lat\":%.4f,\"lon\":%.4f", tr->geo.lat, tr->geo.lon);
		put(o, "}");
	}
	put(o, "}");
}

static void json_endpoints(struct out *o, const struct steer_trace *tr,
			   const struct steer_service *svc)
{
	char why[200];
	put(o, ",\"endpoints\":[");
	for (unsigned i = 0; i < tr->n_ep; i++) {
		const struct steer_trace_ep *e = &tr->ep[i];
		put(o, "%s{\"id\":", i ? "," : "");
		put_json_str(o, svc->ep[i].id);
		put(o, ",\"dropped\":");
		if (r_ready(tr) && steer_trace_dropped(tr, svc, i, why, sizeof(why)))
			put_json_str(o, why);
		else
			put(o, "null");
		put(o, ",\"up\":%s,\"since_ms\":%llu,\"drained\":%s,\"ramping\":%s,"
		    "\"ramp_percent\":%u,\"held\":%s,\"standby\":\"%s\","
		    "\"weight\":%u,\"load\":%u,\"capacity\":%u,\"priority\":%u}",
		    e->up ? "true" : "false", (unsigned long long)e->since_ms,
		    e->drained ? "true" : "false", e->ramping ? "true" : "false",
		    e->ramp_percent, e->held ? "true" : "false",
		    steer_standby_name(svc->ep[i].standby),
		    e->weight, e->load, svc->ep[i].capacity, svc->ep[i].priority);
	}
	put(o, "]");
}

int steer_trace_json(const struct steer_trace *tr, const struct steer_service *svc,
		     char *buf, size_t len)
{
	struct out o = { buf, len, 0, false };
	char name[DNAME_MAXSTR];
	dname_to_str(svc->name, name, sizeof(name));
	put(&o, "{\"service\":");
	put_json_str(&o, name);
	put(&o, ",\"now_ms\":%llu,\"policy\":[", (unsigned long long)tr->now_ms);
	for (unsigned k = 0; k < svc->n_policy; k++)
		put(&o, "%s\"%s\"", k ? "," : "", steer_filter_name(svc->policy[k]));
	put(&o, "],\"answers\":%u,\"all_down\":\"%s\",", svc->answers,
	    steer_all_down_name(svc->all_down));
	json_client(&o, tr);
	json_endpoints(&o, tr, svc);
	put(&o, ",\"steps\":[");
	for (unsigned k = 0; k < tr->n_steps; k++) {
		const struct steer_trace_step *st = &tr->step[k];
		put(&o, "%s{\"filter\":\"%s\",\"in\":", k ? "," : "",
		    steer_filter_name(st->filter));
		put_ids(&o, svc, st->in, st->n_in, true);
		put(&o, ",\"out\":");
		put_ids(&o, svc, st->out, st->n_out, true);
		put(&o, ",\"why\":");
		put_json_str(&o, st->why);
		put(&o, "}");
	}
	const struct steer_result *r = &tr->result;
	put(&o, "],\"result\":{\"outcome\":\"%s\",\"endpoints\":",
	    steer_outcome_name(r->outcome));
	put_ids(&o, svc, r->ep, r->n, true);
	put(&o, ",\"ttl\":%u,\"scope\":%u,\"scope_why\":", r->ttl, r->scope);
	put_json_str(&o, tr->scope_why);
	put(&o, ",\"fallback\":%s,\"open\":%s,\"all_drained\":%s,\"degraded\":%s}}",
	    r->fallback ? "true" : "false", r->open ? "true" : "false",
	    r->all_drained ? "true" : "false", r->degraded ? "true" : "false");
	return finish_out(&o);
}
