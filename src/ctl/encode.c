/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/cmd.h"
#include "ctl/encode.h"
#include "lib/dname.h"
#include "lib/mnemonic.h"
#include "rt/log.h"

#define TRACE_BUF 16384

static json_t *ms_or_null(uint64_t ms)
{
	return ms ? json_integer((json_int_t)ms) : json_null();
}

json_t *encode_endpoint(const struct ops_ep_view *v)
{
	json_t *o = json_pack("{s:s,s:s}", "service", v->service, "endpoint", v->endpoint);
	if (o == NULL)
		return NULL;
	/* Never probed and nothing saved: it answers as up, but nobody has
	 * seen it up, and the row must not claim it. */
	bool unknown = v->checked && v->origin == HEALTH_ASSUMED && v->probes == 0;
	json_object_set_new(o, "state", json_string(unknown ? "unknown" : v->up ? "up" : "down"));
	json_object_set_new(o, "answers_as", json_string(v->up ? "up" : "down"));
	json_object_set_new(o, "since", v->checked ? ms_or_null(v->since_ms) : json_null());
	json_object_set_new(o, "origin", json_string(v->checked ? health_origin_name(v->origin)
								  : "unchecked"));
	json_object_set_new(o, "last_error", v->last_error ? json_string(v->last_error) : json_null());
	json_object_set_new(o, "last_failure", v->last_failure
			    ? json_pack("{s:s,s:I}", "error", v->last_failure,
					"at", (json_int_t)v->last_failure_ms)
			    : json_null());
	json_object_set_new(o, "standby", json_string(steer_standby_name(v->standby)));
	json_object_set_new(o, "check", v->check ? json_string(v->check) : json_null());
	if (v->check) {
		json_object_set_new(o, "address", json_string(v->address));
		json_object_set_new(o, "probes", json_integer((json_int_t)v->probes));
		json_object_set_new(o, "failures", json_integer((json_int_t)v->failures));
		json_object_set_new(o, "transitions", json_integer((json_int_t)v->transitions));
		json_object_set_new(o, "last_probe", ms_or_null(v->last_probe_ms));
	}
	json_object_set_new(o, "weight", json_integer(v->weight));
	json_object_set_new(o, "config_weight", json_integer(v->config_weight));
	json_object_set_new(o, "weight_override",
			    v->weight_set ? json_integer(v->weight_override) : json_null());
	json_object_set_new(o, "drained", json_boolean(v->drained));
	const struct ops_ramp_view *r = &v->ramp;
	if (r->active) {
		json_t *steps = json_array();
		for (unsigned k = 0; k < r->steps_total; k++)
			json_array_append_new(steps, json_integer(r->steps[k]));
		json_object_set_new(o, "ramp", json_pack("{s:I,s:I,s:i,s:o,s:I,s:I}",
			"step", (json_int_t)r->step, "steps_total", (json_int_t)r->steps_total,
			"percent", (int)r->percent, "steps", steps, "every_ms", (json_int_t)r->every_ms,
			"started_ms", (json_int_t)r->started_ms));
		json_object_set_new(json_object_get(o, "ramp"), "kind",
				    json_string(r->recovery ? "recovery" : "operator"));
		json_object_set_new(o, "ramp_step", json_integer(r->step));
	} else {
		json_object_set_new(o, "ramp", json_null());
		json_object_set_new(o, "ramp_step", json_null());
	}
	const struct steer_ramp_aborted *ab = &v->aborted;
	if (ab->set) {
		json_t *steps = json_array();
		for (unsigned k = 0; k < ab->nsteps; k++)
			json_array_append_new(steps, json_integer(ab->steps[k]));
		json_object_set_new(o, "ramp_aborted", json_pack("{s:i,s:i,s:i,s:o,s:I,s:I}",
			"step", ab->step + 1, "steps_total", (int)ab->nsteps,
			"percent", (int)ab->steps[ab->step < ab->nsteps ? ab->step : 0],
			"steps", steps, "every_ms", (json_int_t)ab->every_ms,
			"at", (json_int_t)ab->at_ms));
	} else {
		json_object_set_new(o, "ramp_aborted", json_null());
	}
	json_object_set_new(o, "load", json_integer(v->load));
	json_object_set_new(o, "capacity", json_integer(v->capacity));
	/* A fleet's votes: why this row is up or down when the local probes
	 * say otherwise. */
	if (v->voted)
		json_object_set_new(o, "votes", json_pack("{s:i,s:i,s:s,s:s,s:b}",
			"down", (int)v->vote.down, "vantages", (int)v->vote.vantages,
			"fleet", v->vote.verdict < 0 ? "none" : v->vote.verdict ? "up" : "down",
			"local", v->local_up ? "up" : "down",
			"local_view_disagrees", v->vote.disagree));
	return o;
}

json_t *encode_health(const struct ops_rt *rt, uint64_t now)
{
	json_t *arr = json_array();
	struct ops_ep_view v;
	for (uint32_t s = 0; rt && s < ops_services(rt); s++) {
		for (uint32_t e = 0; e < ops_endpoints(rt, s); e++) {
			ops_endpoint_view(rt, s, e, now, &v);
			json_array_append_new(arr, encode_endpoint(&v));
		}
	}
	return json_pack("{s:b,s:I,s:o,s:I,s:I,s:I}", "ok", 1, "now", (json_int_t)now,
			 "endpoints", arr, "went_down", (json_int_t)(rt ? rt->went_down : 0),
			 "went_up", (json_int_t)(rt ? rt->went_up : 0),
			 "probes", (json_int_t)(rt ? ops_probes_total(rt) : 0));
}

json_t *encode_events(const struct events *ev, uint64_t since, unsigned limit)
{
	json_t *arr = json_array();
	uint64_t last = events_last_id(ev);
	uint64_t first = last > EVENTS_RING ? last - EVENTS_RING + 1 : 1;
	if (since >= last)
		first = last + 1;           /* nothing newer (and no wrap at UINT64_MAX) */
	else if (since + 1 > first)
		first = since + 1;
	if (limit && last >= first && last - first + 1 > limit)
		first = last - limit + 1;   /* the newest `limit` */
	for (uint64_t id = first; id <= last; id++) {
		const struct event *e = events_get(ev, id);
		if (e == NULL)
			continue;
		json_t *o = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)e->id,
				      "time", (json_int_t)e->time_ms, "kind", event_kind_name(e->kind),
				      "service", e->service, "endpoint", e->endpoint, "text", e->text);
		if (e->kind == EV_HEALTH_UP || e->kind == EV_HEALTH_DOWN)
			json_object_set_new(o, "to", json_string(e->kind == EV_HEALTH_UP ? "up" : "down"));
		json_array_append_new(arr, o);
	}
	return json_pack("{s:b,s:I,s:o}", "ok", 1, "last_id", (json_int_t)last, "events", arr);
}

/* ---- explain ---- */

/* One resource record of the answer, in presentation-like form. */
static json_t *rr_json(const uint8_t *pkt, size_t len, size_t *off)
{
	uint8_t name[DNAME_MAXLEN];
	char nbuf[DNAME_MAXSTR], tbuf[16], data[DNAME_MAXSTR + 64];
	if (dname_unpack(pkt, len, off, name, false) < 0 || *off + 10 > len)
		return NULL;
	const uint8_t *p = pkt + *off;
	uint16_t type = (uint16_t)(p[0] << 8 | p[1]);
	uint32_t ttl = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	uint16_t rdlen = (uint16_t)(p[8] << 8 | p[9]);
	size_t rd = *off + 10;
	if (rd + rdlen > len)
		return NULL;
	*off = rd + rdlen;
	if (type == DNS_A && rdlen == 4) {
		inet_ntop(AF_INET, pkt + rd, data, sizeof(data));
	} else if (type == DNS_AAAA && rdlen == 16) {
		inet_ntop(AF_INET6, pkt + rd, data, sizeof(data));
	} else if (type == DNS_CNAME || type == DNS_NS || type == DNS_PTR) {
		uint8_t target[DNAME_MAXLEN];
		size_t t = rd;
		if (dname_unpack(pkt, len, &t, target, false) < 0)
			return NULL;
		dname_to_str(target, data, sizeof(data));
	} else if (type == DNS_SOA) {
		/* MNAME RNAME then five 32-bit numbers; the last is the minimum
		 * that, with the SOA TTL, bounds the negative TTL (RFC 2308 5). */
		uint8_t mname[DNAME_MAXLEN], rname[DNAME_MAXLEN];
		char m[DNAME_MAXSTR], r[DNAME_MAXSTR];
		size_t t = rd;
		if (dname_unpack(pkt, len, &t, mname, false) < 0 ||
		    dname_unpack(pkt, len, &t, rname, false) < 0 || t + 20 > rd + rdlen)
			return NULL;
		const uint8_t *n = pkt + t;
		uint32_t v[5];
		for (int k = 0; k < 5; k++)
			v[k] = (uint32_t)n[4 * k] << 24 | (uint32_t)n[4 * k + 1] << 16 |
			       (uint32_t)n[4 * k + 2] << 8 | n[4 * k + 3];
		snprintf(data, sizeof(data), "%.120s %.120s %u %u %u %u %u",
			 dname_to_str(mname, m, sizeof(m)), dname_to_str(rname, r, sizeof(r)),
			 v[0], v[1], v[2], v[3], v[4]);
	} else {
		snprintf(data, sizeof(data), "\\# %u", rdlen);
	}
	return json_pack("{s:s,s:I,s:s,s:s}", "name", dname_to_str(name, nbuf, sizeof(nbuf)),
			 "ttl", (json_int_t)ttl, "type", dns_type_name(type, tbuf, sizeof(tbuf)),
			 "data", data);
}

/* Section `which` (0 answer, 1 authority) of a response auth_answer built. */
static json_t *section_json(const uint8_t *pkt, size_t len, int which)
{
	json_t *arr = json_array();
	if (len < DNS_HDRLEN)
		return arr;
	unsigned qd = (unsigned)(pkt[4] << 8 | pkt[5]), an = (unsigned)(pkt[6] << 8 | pkt[7]);
	unsigned ns = (unsigned)(pkt[8] << 8 | pkt[9]);
	size_t off = DNS_HDRLEN;
	uint8_t name[DNAME_MAXLEN];
	for (unsigned i = 0; i < qd; i++) {
		if (dname_unpack(pkt, len, &off, name, false) < 0)
			return arr;
		off += 4;
	}
	for (unsigned i = 0; i < an + (which ? ns : 0); i++) {
		json_t *rr = rr_json(pkt, len, &off);
		if (rr == NULL)
			break;
		if ((i >= an) == (which == 1))
			json_array_append_new(arr, rr);
		else
			json_decref(rr);
	}
	return arr;
}

/* The row of the explained service's endpoint `id` among `rows`. */
static const struct ops_ep_view *row_of(const struct ops_ep_view *rows, unsigned n,
					const char *id)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(rows[i].endpoint, id) == 0)
			return &rows[i];
	return NULL;
}

/* What the trace cannot know (it is pure and sees only up/down): whether
 * a state is proven, and which ramp is in force or was aborted. */
static void explain_rows(json_t *reply, const struct steer_service *svc,
			 const struct ops_ep_view *rows, unsigned n, uint64_t now, char *text,
			 size_t size)
{
	char when[80];
	size_t used = strlen(text);
	json_t *arr = json_array();
	for (uint32_t i = 0; i < svc->n_ep; i++) {
		const struct ops_ep_view *v = row_of(rows, n, svc->ep[i].id);
		if (v == NULL)
			continue;
		json_array_append_new(arr, encode_endpoint(v));
		char line[512] = "";
		if (v->checked && v->origin == HEALTH_ASSUMED)
			snprintf(line, sizeof(line), "%s: health %s: assumed up, unproven "
				 "(no probe has succeeded yet)", v->endpoint,
				 v->probes ? "up" : "unknown");
		else if (v->checked && v->origin == HEALTH_SAVED)
			snprintf(line, sizeof(line), "%s: health %s from saved state, not probed yet",
				 v->endpoint, v->up ? "up" : "down");
		if (v->ramp.active)
			snprintf(line + strlen(line), sizeof(line) - strlen(line),
				 "%s%s: %s step %u/%u: %u%% since %s", line[0] ? "; " : "",
				 line[0] ? "" : v->endpoint,
				 v->ramp.recovery ? "recovery ramp" : "ramp", v->ramp.step,
				 v->ramp.steps_total, v->ramp.percent,
				 steer_time_text(v->ramp.started_ms + (uint64_t)(v->ramp.step - 1) *
						 v->ramp.every_ms, now, when, sizeof(when)));
		if (v->aborted.set)
			snprintf(line + strlen(line), sizeof(line) - strlen(line),
				 "%s%s: drained by a ramp aborted at step %u/%u at %s; "
				 "`ramp --resume` or `undrain`", line[0] ? "; " : "",
				 line[0] ? "" : v->endpoint, v->aborted.step + 1u, v->aborted.nsteps,
				 steer_time_text(v->aborted.at_ms, now, when, sizeof(when)));
		if (line[0] && used + strlen(line) + 2 < size) {
			snprintf(text + used, size - used, "%s\n", line);
			used += strlen(line) + 1;
		}
	}
	json_object_set_new(reply, "endpoints", arr);
}

/* The TTL the answer carries, or for NODATA/NXDOMAIN the negative TTL a
 * resolver will use: min(SOA TTL, SOA MINIMUM), RFC 2308 5. */
static void explain_ttl(json_t *reply, char *text, size_t size)
{
	json_t *ans = json_object_get(reply, "answer");
	json_t *auth = json_object_get(reply, "authority");
	size_t used = strlen(text);
	if (json_array_size(ans) > 0) {
		json_int_t ttl = json_integer_value(json_object_get(json_array_get(ans, 0), "ttl"));
		json_object_set_new(reply, "ttl", json_integer(ttl));
		snprintf(text + used, size - used, "sent: ttl %lld, ECS scope /%lld\n",
			 (long long)ttl, (long long)json_integer_value(json_object_get(reply, "scope")));
		return;
	}
	json_object_set_new(reply, "ttl", json_null());
	json_t *soa = NULL, *rr;
	size_t i;
	json_array_foreach(auth, i, rr)
		if (strcmp(json_string_value(json_object_get(rr, "type")), "SOA") == 0)
			soa = rr;
	if (soa == NULL) {
		json_object_set_new(reply, "negative_ttl", json_null());
		return;
	}
	json_int_t ttl = json_integer_value(json_object_get(soa, "ttl"));
	const char *data = json_string_value(json_object_get(soa, "data"));
	const char *sp = strrchr(data, ' ');
	long long minimum = sp ? strtoll(sp + 1, NULL, 10) : ttl;
	long long neg = ttl < minimum ? (long long)ttl : minimum;
	json_object_set_new(reply, "negative_ttl", json_integer(neg));
	json_object_set_new(reply, "soa", json_incref(soa));
	snprintf(text + used, size - used, "sent: no records; negative ttl %lld (SOA %s ttl %lld, "
		 "minimum %lld; RFC 2308 5)\n", neg, json_string_value(json_object_get(soa, "name")),
		 (long long)ttl, minimum);
}

json_t *encode_explain(const struct serve_explain *x, const struct ops_ep_view *rows,
		       unsigned nrows, uint64_t now)
{
	char rc[16], name[DNAME_MAXSTR];
	json_t *reply = json_pack("{s:b,s:s,s:i,s:b,s:b}", "ok", 1, "rcode",
				  dns_rcode_name(x->res.rcode, rc, sizeof(rc)), "scope", x->res.scope,
				  "fallback", x->res.fallback, "all_drained", x->res.all_drained);
	json_object_set_new(reply, "answer", section_json(x->pkt, x->len, 0));
	json_object_set_new(reply, "authority", section_json(x->pkt, x->len, 1));
	char *buf = malloc(TRACE_BUF);
	if (buf == NULL)
		return reply;
	buf[0] = '\0';
	if (x->svc == NULL) {
		json_object_set_new(reply, "service", json_null());
		json_object_set_new(reply, "trace", json_null());
		snprintf(buf, TRACE_BUF, "not a steered name: answered from the zone\n");
		explain_ttl(reply, buf, TRACE_BUF);
		json_object_set_new(reply, "trace_text", json_string(buf));
		free(buf);
		return reply;
	}
	live_service_name(x->svc, name, sizeof(name));
	json_object_set_new(reply, "service", json_string(name));
	if (steer_trace_format(&x->trace, x->svc, buf, TRACE_BUF) < 0)
		buf[0] = '\0';
	explain_rows(reply, x->svc, rows, nrows, now, buf, TRACE_BUF);
	explain_ttl(reply, buf, TRACE_BUF);
	if (x->res.all_drained && strlen(buf) + 120 < TRACE_BUF)
		strcat(buf, "all drained: every endpoint drained or standby never; answered NODATA\n");
	json_object_set_new(reply, "trace_text", json_string(buf));
	if (steer_trace_json(&x->trace, x->svc, buf, TRACE_BUF) >= 0) {
		json_error_t jerr;
		json_t *tj = json_loads(buf, 0, &jerr);
		json_object_set_new(reply, "trace", tj ? tj : json_string(buf));
	}
	free(buf);
	return reply;
}

/* ---- zones and status ---- */

/* What a secondary zone adds: its primary, refresh and expiry. */
static void zone_row_secondary(json_t *e, const struct ctl_zone_row *z)
{
	char ts[32];
	json_object_set_new(e, "primary", z->primary ? json_string(z->primary) : json_null());
	if (z->last_refresh) {
		log_iso8601(z->last_refresh, ts, sizeof(ts));
		json_object_set_new(e, "last_refresh", json_string(ts));
	} else {
		json_object_set_new(e, "last_refresh", json_null());
	}
	json_object_set_new(e, "expires_in", z->sec_have_serial && !z->expired ?
			    json_integer(z->expires_in) : json_null());
	json_object_set_new(e, "expired", json_boolean(z->expired));
	json_object_set_new(e, "last_error", z->last_error ? json_string(z->last_error) :
			    json_null());
}

static json_t *zone_row(const struct ctl_zone_row *z)
{
	char ts[32];
	json_t *e = json_pack("{s:s,s:s,s:s,s:b}", "name", z->name, "file", z->file,
			      "status", z->failed ? "failed" : "ok", "serving", z->serving);
	json_object_set_new(e, "error", z->error ? json_string(z->error) : json_null());
	if (z->serving) {
		log_iso8601(z->loaded_at, ts, sizeof(ts));
		json_object_set_new(e, "serial", json_integer(z->serial));
		json_object_set_new(e, "file_serial", json_integer(z->file_serial));
		json_object_set_new(e, "records", json_integer(z->records));
		json_object_set_new(e, "loaded_at", json_string(ts));
		json_object_set_new(e, "zonemd", z->zonemd[0] ?
				    json_pack("{s:i,s:i,s:s}", "scheme", z->zonemd_scheme,
					      "hash", z->zonemd_hash, "digest", z->zonemd) :
				    json_null());
	} else {
		json_object_set_new(e, "zonemd", json_null());
		json_object_set_new(e, "serial", json_null());
		json_object_set_new(e, "file_serial", json_null());
		json_object_set_new(e, "records", json_null());
		json_object_set_new(e, "loaded_at", json_null());
	}
	json_t *secs = json_array();
	for (unsigned i = 0; i < z->nsec; i++) {
		const struct notify_peer_info *p = &z->sec[i];
		json_t *o = json_pack("{s:s,s:s}", "target", p->target, "notify",
				      p->pending ? "pending" : p->failed ? "failed" :
				      p->last_ack ? "acked" : "none");
		json_object_set_new(o, "error", p->error ? json_string(p->error) : json_null());
		if (p->last_ack) {
			log_iso8601(p->last_ack, ts, sizeof(ts));
			json_object_set_new(o, "last_ack", json_string(ts));
		} else {
			json_object_set_new(o, "last_ack", json_null());
		}
		if (p->have_serial) {
			json_object_set_new(o, "serial", json_integer(p->serial));
			json_object_set_new(o, "lag", z->serving ? json_integer((uint32_t)(z->serial -
										      p->serial)) :
							      json_null());
		} else {
			json_object_set_new(o, "serial", json_null());
			json_object_set_new(o, "lag", json_null());
		}
		json_array_append_new(secs, o);
	}
	json_object_set_new(e, "secondaries", secs);
	json_object_set_new(e, "role", json_string(z->secondary ? "secondary" : "primary"));
	if (z->secondary)
		zone_row_secondary(e, z);
	return e;
}

json_t *encode_zone_status(const struct ctl_zone_row *rows, unsigned n)
{
	json_t *zones = json_array();
	for (unsigned i = 0; i < n; i++)
		json_array_append_new(zones, zone_row(&rows[i]));
	return json_pack("{s:b,s:o}", "ok", 1, "zones", zones);
}

json_t *encode_zone_status_failed(json_t *reply, const struct ctl_zone_row *rows, unsigned n)
{
	unsigned failed = 0, first = 0;
	for (unsigned i = 0; i < n; i++)
		if (rows[i].failed && failed++ == 0)
			first = i;
	if (reply == NULL || failed == 0)
		return reply;
	/* Scripts and monitoring read the exit code: a zone that failed to
	 * load is an error even though the old copy (or nothing) serves.  The
	 * zones stay in the reply, as with a failed reload. */
	char msg[1400];
	snprintf(msg, sizeof(msg), "%u zone%s failed to load; first: %s: %s", failed,
		 failed > 1 ? "s" : "", rows[first].name, rows[first].error ? rows[first].error : "");
	json_object_set_new(reply, "ok", json_false());
	json_object_set_new(reply, "code", json_string(ctl_status_name(CTL_INTERNAL)));
	json_object_set_new(reply, "error", json_string(msg));
	return reply;
}

json_t *encode_reload(const struct ctl_zone_row *rows, unsigned n, const char *conf_error)
{
	json_t *res = json_object();
	json_t *zones = json_array();
	char first[1200] = "";
	unsigned failed = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct ctl_zone_row *z = &rows[i];
		/* After a config failure nothing was reloaded: report what serves. */
		const char *load = conf_error && z->serving ? "unchanged" : z->load;
		json_t *e = json_pack("{s:s,s:s}", "name", z->name, "status", load);
		json_object_set_new(e, "serial", z->serving ? json_integer(z->serial) : json_null());
		if (strcmp(load, "failed") == 0) {
			json_object_set_new(e, "error", json_string(z->error ? z->error : ""));
			if (failed++ == 0)
				snprintf(first, sizeof(first), "%s: %s", z->name, z->error ? z->error : "");
		}
		json_array_append_new(zones, e);
	}
	json_object_set_new(res, "zones", zones);
	if (conf_error || failed) {
		char msg[1400];
		if (conf_error)
			snprintf(msg, sizeof(msg), "%s", conf_error);
		else if (failed > 1)
			snprintf(msg, sizeof(msg), "%u zones failed to load; first: %s", failed, first);
		else
			snprintf(msg, sizeof(msg), "zone failed to load: %s", first);
		json_object_set_new(res, "ok", json_false());
		/* The old configuration keeps serving: the server is fine, the
		 * input is not. */
		json_object_set_new(res, "code", json_string(ctl_status_name(CTL_INTERNAL)));
		json_object_set_new(res, "error", json_string(msg));
	} else {
		json_object_set_new(res, "ok", json_true());
	}
	return res;
}

json_t *encode_status(const struct ctl_status_info *s)
{
	json_t *listen = json_array();
	for (unsigned i = 0; i < s->nlisten; i++)
		json_array_append_new(listen, json_string(s->listen[i]));
	return json_pack("{s:b,s:s,s:I,s:I,s:i,s:i,s:i,s:i,s:o,s:s,s:i}",
			 "ok", 1, "version", s->version, "pid", (json_int_t)s->pid,
			 "uptime_s", (json_int_t)s->uptime_s, "zones", (int)s->zones,
			 "zones_serving", (int)s->zones_serving, "zones_failed", (int)s->zones_failed,
			 "udp_workers", (int)s->udp_workers, "listen", listen, "config", s->config,
			 "tcp_clients", (int)s->tcp_clients);
}

json_t *encode_anycast(const struct anycast_status *s)
{
	json_t *addrs = json_array();
	for (unsigned i = 0; i < s->naddresses; i++)
		json_array_append_new(addrs, json_string(s->addresses[i].text));
	json_t *o = json_pack("{s:b,s:s,s:b,s:b,s:b,s:s,s:s,s:I,s:I,s:i,s:i,s:I,s:I,s:o}",
			      "enabled", s->enabled, "state", s->state, "announced", s->announced,
			      "healthy", s->healthy, "kept_last_site", s->kept_last,
			      "reason", s->reason, "last_error", s->last_error,
			      "transitions", (json_int_t)s->transitions,
			      "changed_at_ms", (json_int_t)s->changed_at_ms,
			      "check_ok_run", (int)s->ok_run, "check_fail_run", (int)s->fail_run,
			      "checks", (json_int_t)s->checks,
			      "check_failures", (json_int_t)s->check_failures, "addresses", addrs);
	if (o == NULL || !s->enabled)
		return o;
	json_object_set_new(o, "protocol", json_string(s->protocol));
	json_object_set_new(o, "bird_connected", json_boolean(s->bird_connected));
	json_object_set_new(o, "bird_protocol_up", s->bird_known ? json_boolean(s->bird_up)
								  : json_null());
	if (s->uplink) {
		json_object_set_new(o, "uplink", json_string(s->uplink));
		json_object_set_new(o, "uplink_up", s->uplink_known ? json_boolean(s->uplink_up)
								    : json_null());
	}
	json_object_set_new(o, "healthy_peers", s->peers_known ? json_integer(s->healthy_peers)
							       : json_null());
	return o;
}
