/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mnemonic.h"
#include "server/events.h"
#include "server/health.h"
#include "server/metrics.h"
#include "server/server.h"
#include "server/tcp.h"
#include "server/udp.h"
#include "server/vane_version.h"

static const char *const transport_name[TR_COUNT] = { "udp", "udp", "tcp", "tcp" };
static const char *const family_name[TR_COUNT] = { "ipv4", "ipv6", "ipv4", "ipv6" };

/* Label values: escape backslash, quote and newline (exposition format). */
static void label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static unsigned blocks_of(struct server *srv, struct srv_stats **blocks, unsigned max)
{
	unsigned n = udp_stats(srv->udp, blocks, max - 1);
	if (srv->tcp)
		blocks[n++] = tcp_stats(srv->tcp);
	return n;
}

/* The qtype name of a class of stats_qclass(). */
static const char *qclass_name(unsigned k, char *buf, unsigned size)
{
	if (k == 0)
		return "other";
	for (unsigned t = 1; t < 300; t++)
		if (stats_qclass((uint16_t)t) == k)
			return dns_type_name((uint16_t)t, buf, size);
	return "other";
}

static void queries(FILE *f, struct srv_stats **blocks, unsigned n)
{
	static uint64_t sum[TR_COUNT][STATS_JRCODES][STATS_QCLASSES];
	char qb[32], rb[32];
	memset(sum, 0, sizeof(sum));
	for (unsigned b = 0; b < n; b++) {
		const volatile struct srv_stats *s = blocks[b];
		for (int t = 0; t < TR_COUNT; t++)
			for (int r = 0; r < STATS_JRCODES; r++)
				for (int q = 0; q < STATS_QCLASSES; q++)
					sum[t][r][q] += s->joint[t][r][q];
	}
	head(f, "vane_queries_total", "counter",
	     "Queries answered, by query type, response code and transport.");
	for (int t = 0; t < TR_COUNT; t++)
		for (int r = 0; r < STATS_JRCODES; r++)
			for (int q = 0; q < STATS_QCLASSES; q++) {
				if (sum[t][r][q] == 0)
					continue;
				fprintf(f, "vane_queries_total{qtype=\"%s\",rcode=\"%s\",transport=\"%s\",family=\"%s\"} %llu\n",
					qclass_name((unsigned)q, qb, sizeof(qb)),
					r == STATS_JRCODES - 1 ? "other" : dns_rcode_name((unsigned)r, rb, sizeof(rb)),
					transport_name[t], family_name[t], (unsigned long long)sum[t][r][q]);
			}
	uint64_t drop = 0;
	for (unsigned b = 0; b < n; b++)
		drop += ((const volatile struct srv_stats *)blocks[b])->dropped;
	head(f, "vane_queries_dropped_total", "counter",
	     "Queries that got no response (malformed, QR set, send failure).");
	fprintf(f, "vane_queries_dropped_total %llu\n", (unsigned long long)drop);
}

/* Per service and endpoint: answers, fallbacks, health, operator state. */
static void services(FILE *f, struct server *srv, json_t *stats)
{
	json_t *svcs = json_object_get(stats, "services");
	json_t *health = srv->rt ? live_rt_health_json(srv->rt) : NULL;
	json_t *rows = json_object_get(health, "endpoints");
	const char *name;
	json_t *v, *row;
	size_t i;

	head(f, "vane_service_answers_total", "counter", "Steered A/AAAA answers per service.");
	json_object_foreach(svcs, name, v) {
		fputs("vane_service_answers_total{service=\"", f);
		label(f, name);
		fprintf(f, "\"} %lld\n", (long long)json_integer_value(json_object_get(v, "answers")));
	}
	head(f, "vane_all_down_fallbacks_total", "counter",
	     "Answers given by the all-down policy because no endpoint was eligible.");
	json_object_foreach(svcs, name, v) {
		fputs("vane_all_down_fallbacks_total{service=\"", f);
		label(f, name);
		fprintf(f, "\"} %lld\n", (long long)json_integer_value(json_object_get(v, "fallbacks")));
	}
	head(f, "vane_endpoint_answers_total", "counter", "Answers that included the endpoint.");
	json_array_foreach(rows, i, row) {
		const char *s = json_string_value(json_object_get(row, "service"));
		const char *e = json_string_value(json_object_get(row, "endpoint"));
		json_t *n = json_object_get(json_object_get(json_object_get(svcs, s), "endpoints"), e);
		fputs("vane_endpoint_answers_total{service=\"", f);
		label(f, s);
		fputs("\",endpoint=\"", f);
		label(f, e);
		fprintf(f, "\"} %lld\n", (long long)json_integer_value(n));
	}
	static const struct { const char *name, *help; } gauges[] = {
		{ "vane_endpoint_up", "Endpoint health: 1 up, 0 down (no check: always 1)." },
		{ "vane_endpoint_drained", "1 when an operator drained the endpoint." },
		{ "vane_endpoint_weight", "Weight in effect (override and ramp applied)." },
	};
	for (unsigned g = 0; g < 3; g++) {
		head(f, gauges[g].name, "gauge", gauges[g].help);
		json_array_foreach(rows, i, row) {
			long long val;
			if (g == 0)
				val = strcmp(json_string_value(json_object_get(row, "state")) ?: "", "up") == 0;
			else if (g == 1)
				val = json_is_true(json_object_get(row, "drained"));
			else
				val = (long long)json_integer_value(json_object_get(row, "weight"));
			fprintf(f, "%s{service=\"", gauges[g].name);
			label(f, json_string_value(json_object_get(row, "service")));
			fputs("\",endpoint=\"", f);
			label(f, json_string_value(json_object_get(row, "endpoint")));
			fprintf(f, "\"} %lld\n", val);
		}
	}
	head(f, "vane_health_transitions_total", "counter",
	     "Health state changes since start, by the state changed to.");
	json_array_foreach(rows, i, row) {
		const char *s = json_string_value(json_object_get(row, "service"));
		const char *e = json_string_value(json_object_get(row, "endpoint"));
		for (int up = 1; up >= 0; up--) {
			fputs("vane_health_transitions_total{service=\"", f);
			label(f, s);
			fputs("\",endpoint=\"", f);
			label(f, e);
			fprintf(f, "\",to=\"%s\"} %llu\n", up ? "up" : "down",
				(unsigned long long)events_transitions(srv->events, s, e, up));
		}
	}
	json_decref(health);
}

/* A histogram from a JSON map bucket-key -> count, keys being the
 * inclusive upper bound of each bucket's values (`key_bias` is added). */
static void histogram(FILE *f, const char *name, const char *help, json_t *map,
		      const unsigned *le, unsigned nle, long key_bias, double mid_bias)
{
	head(f, name, "histogram", help);
	unsigned long long cum[32] = { 0 }, count = 0;
	double sum = 0;
	const char *k;
	json_t *v;
	json_object_foreach(map, k, v) {
		long key = strtol(k, NULL, 10) + key_bias;
		unsigned long long c = (unsigned long long)json_integer_value(v);
		count += c;
		sum += (double)c * ((double)key - mid_bias);
		for (unsigned i = 0; i < nle; i++)
			if (key <= (long)le[i])
				cum[i] += c;
	}
	for (unsigned i = 0; i < nle; i++)
		fprintf(f, "%s_bucket{le=\"%u\"} %llu\n", name, le[i], cum[i]);
	fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.17g\n%s_count %llu\n", name, count, name,
		sum, name, count);
}

static void events_metrics(FILE *f, struct server *srv)
{
	static const struct { enum event_kind k; const char *kind; } admin[] = {
		{ EV_DRAIN, "drain" }, { EV_UNDRAIN, "undrain" }, { EV_WEIGHT, "weight" },
		{ EV_RAMP, "ramp" }, { EV_RAMP_ABORT, "ramp_abort" }, { EV_LOAD, "load" },
		{ EV_LATENCY, "latency" },
	};
	head(f, "vane_admin_changes_total", "counter",
	     "Operator changes that changed state (drain, undrain, weight, ramp, ...).");
	for (unsigned i = 0; i < sizeof(admin) / sizeof(admin[0]); i++)
		fprintf(f, "vane_admin_changes_total{kind=\"%s\"} %llu\n", admin[i].kind,
			(unsigned long long)events_count(srv->events, admin[i].k));
	head(f, "vane_drains_total", "counter", "Endpoints drained by an operator.");
	fprintf(f, "vane_drains_total %llu\n", (unsigned long long)events_count(srv->events, EV_DRAIN));
	head(f, "vane_ramps_total", "counter", "Ramps started by an operator.");
	fprintf(f, "vane_ramps_total %llu\n", (unsigned long long)events_count(srv->events, EV_RAMP));
	head(f, "vane_reloads_total", "counter",
	     "Reloads by result (failed: config error or a zone failed to load).");
	fprintf(f, "vane_reloads_total{result=\"ok\"} %llu\nvane_reloads_total{result=\"failed\"} %llu\n",
		(unsigned long long)events_count(srv->events, EV_RELOAD),
		(unsigned long long)events_count(srv->events, EV_RELOAD_FAILED));
}

static void zones(FILE *f, struct server *srv)
{
	const struct vane_snapshot *snap = srv->snap;
	char name[DNAME_MAXSTR];
	head(f, "vane_zone_serial", "gauge", "SOA serial of the zone version being served.");
	for (unsigned i = 0; i < snap->nzones; i++) {
		const struct zone_state *st = &snap->zones[i];
		if (st->zone == NULL)
			continue;
		fputs("vane_zone_serial{zone=\"", f);
		label(f, server_zone_fqdn(st, name, sizeof(name)));
		fprintf(f, "\"} %u\n", (unsigned)st->zone->serial);
	}
	head(f, "vane_zone_load_failed", "gauge", "1 when the last load of the zone failed.");
	for (unsigned i = 0; i < snap->nzones; i++) {
		fputs("vane_zone_load_failed{zone=\"", f);
		label(f, server_zone_fqdn(&snap->zones[i], name, sizeof(name)));
		fprintf(f, "\"} %d\n", snap->zones[i].status == ZS_FAILED);
	}
}

char *metrics_render(struct server *srv)
{
	static struct srv_stats *blocks[1 + 64 * 64];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		return NULL;
	unsigned n = blocks_of(srv, blocks, sizeof(blocks) / sizeof(blocks[0]));
	json_t *stats = server_stats_json(srv);

	head(f, "vane_build_info", "gauge", "Always 1; the version in a label.");
	fprintf(f, "vane_build_info{version=\"%s\"} 1\n", VANE_VERSION);
	head(f, "vane_start_time_seconds", "gauge", "Start time of vaned, Unix seconds.");
	fprintf(f, "vane_start_time_seconds %lld\n", (long long)srv->started);
	queries(f, blocks, n);
	services(f, srv, stats);
	/* ECS scope 0..128 (RFC 7871 section 7.2.1): per-prefix-length buckets. */
	static const unsigned scope_le[] = { 0, 8, 16, 20, 24, 32, 40, 48, 56, 64, 128 };
	histogram(f, "vane_ecs_scope", "ECS scope prefix length of steered answers.",
		  json_object_get(stats, "ecs_scope"), scope_le, 11, 0, 0);
	/* Keys are bucket upper bounds in 64-byte steps: a bucket keyed K holds
	 * sizes K-64..K-1, so K-1 bounds it; the sum uses bucket middles. */
	static const unsigned size_le[] = { 63, 127, 255, 511, 1023, 1279, 1535, 2047, 4095, 65535 };
	histogram(f, "vane_response_size_bytes",
		  "Response sizes in bytes (sum approximated by 64-byte bucket middles).",
		  json_object_get(stats, "response_size"), size_le, 10, -1, 31.5);
	events_metrics(f, srv);
	zones(f, srv);
	head(f, "vane_tcp_clients", "gauge", "Open TCP connections.");
	fprintf(f, "vane_tcp_clients %u\n", srv->tcp ? tcp_client_count(srv->tcp) : 0);
	json_decref(stats);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

void metrics_fallback_events(struct server *srv, const uint64_t *before)
{
	const struct vane_snapshot *snap = srv->snap;
	const struct steer_set *set = snap ? snap->steer : NULL;
	char name[DNAME_MAXSTR];
	for (uint32_t s = 0; set && s < set->n; s++) {
		uint16_t k = snap->stat_slots[s].svc;
		if (k == SNAP_NO_SLOT || srv->fallback_last[k] <= before[k])
			continue;
		dname_to_str(set->svc[s].name, name, sizeof(name));
		if (strlen(name) > 1)
			name[strlen(name) - 1] = '\0';
		events_add(srv->events, EV_FALLBACK, name, NULL, "all-down: %llu fallbacks (%s)",
			   (unsigned long long)(srv->fallback_last[k] - before[k]),
			   steer_all_down_name(set->svc[s].all_down));
	}
}
