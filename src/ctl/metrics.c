/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/metrics.h"
#include "lib/dname.h"
#include "lib/mnemonic.h"
#include "rt/clock.h"
#include "serve/protect.h"
#include "vane_version.h"

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

static void queries(FILE *f, struct srv_stats *const *blocks, unsigned n)
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

	/* Response rate limiting, summed over the UDP workers. */
	struct rrl_stats rrl = { 0 };
	for (unsigned b = 0; b < n; b++)
		protect_stats_add(&rrl, &((const volatile struct srv_stats *)blocks[b])->rrl);
	protect_metrics(f, &rrl);
}

/* `metric{service="S",endpoint="E"EXTRA}` (EXTRA: more labels or ""). */
static void ep_labels(FILE *f, const char *metric, const char *svc, const char *ep,
		      const char *extra)
{
	fprintf(f, "%s{service=\"", metric);
	label(f, svc);
	fputs("\",endpoint=\"", f);
	label(f, ep);
	fprintf(f, "\"%s}", extra);
}

/* Per service and endpoint: answers, fallbacks, health, operator state. */
static void services(FILE *f, const struct ctl_metrics_in *in, const struct stats_steer_sum *sum)
{
	const struct steer_set *set = in->view && in->view->steer ? in->view->steer->set : NULL;
	const struct serve_stat_slots *slots = in->view ? in->view->slots : NULL;
	const struct ops_rt *rt = in->ops;
	char name[DNAME_MAXSTR];
	uint64_t now = rt_now_ms();
	struct ops_ep_view v;

	head(f, "vane_service_answers_total", "counter", "Steered A/AAAA answers per service.");
	for (uint32_t s = 0; set && s < set->n; s++) {
		if (slots[s].svc == SERVE_NO_SLOT)
			continue;
		fputs("vane_service_answers_total{service=\"", f);
		label(f, live_service_name(&set->svc[s], name, sizeof(name)));
		fprintf(f, "\"} %llu\n", (unsigned long long)sum->steered[slots[s].svc]);
	}
	head(f, "vane_all_down_fallbacks_total", "counter",
	     "Answers given by the all-down policy because no endpoint was eligible.");
	for (uint32_t s = 0; set && s < set->n; s++) {
		if (slots[s].svc == SERVE_NO_SLOT)
			continue;
		fputs("vane_all_down_fallbacks_total{service=\"", f);
		label(f, live_service_name(&set->svc[s], name, sizeof(name)));
		fprintf(f, "\"} %llu\n", (unsigned long long)sum->fallbacks[slots[s].svc]);
	}
	head(f, "vane_all_down_all_drained_total", "counter",
	     "All-down open answers that found every endpoint drained (or standby: never) "
	     "and answered NODATA.");
	for (uint32_t s = 0; set && s < set->n; s++) {
		if (slots[s].svc == SERVE_NO_SLOT)
			continue;
		fputs("vane_all_down_all_drained_total{service=\"", f);
		label(f, live_service_name(&set->svc[s], name, sizeof(name)));
		fprintf(f, "\"} %llu\n", (unsigned long long)sum->all_drained[slots[s].svc]);
	}
	head(f, "vane_endpoint_answers_total", "counter", "Answers that included the endpoint.");
	for (uint32_t s = 0; set && s < set->n; s++) {
		live_service_name(&set->svc[s], name, sizeof(name));
		for (uint32_t e = 0; e < set->svc[s].n_ep; e++) {
			uint64_t n = slots[s].svc == SERVE_NO_SLOT ? 0
				     : sum->answers[slots[s].svc][slots[s].ep[e]];
			ep_labels(f, "vane_endpoint_answers_total", name, set->svc[s].ep[e].id, "");
			fprintf(f, " %llu\n", (unsigned long long)n);
		}
	}
	static const struct { const char *name, *help; } gauges[] = {
		{ "vane_endpoint_up", "Endpoint health: 1 up, 0 down (no check: always 1)." },
		{ "vane_endpoint_drained", "1 when an operator drained the endpoint." },
		{ "vane_endpoint_weight", "Weight in effect (override and ramp applied)." },
	};
	for (unsigned g = 0; g < 3; g++) {
		head(f, gauges[g].name, "gauge", gauges[g].help);
		for (uint32_t s = 0; rt && s < ops_services(rt); s++) {
			for (uint32_t e = 0; e < ops_endpoints(rt, s); e++) {
				ops_endpoint_view(rt, s, e, now, &v);
				long long val = g == 0 ? v.up : g == 1 ? v.drained : (long long)v.weight;
				ep_labels(f, gauges[g].name, v.service, v.endpoint, "");
				fprintf(f, " %lld\n", val);
			}
		}
	}
	head(f, "vane_health_transitions_total", "counter",
	     "Health state changes since start, by the state changed to.");
	for (uint32_t s = 0; rt && s < ops_services(rt); s++) {
		for (uint32_t e = 0; e < ops_endpoints(rt, s); e++) {
			ops_endpoint_view(rt, s, e, now, &v);
			for (int up = 1; up >= 0; up--) {
				ep_labels(f, "vane_health_transitions_total", v.service, v.endpoint,
					  up ? ",to=\"up\"" : ",to=\"down\"");
				fprintf(f, " %llu\n",
					(unsigned long long)events_transitions(rt->events, v.service,
									     v.endpoint, up));
			}
		}
	}
}

/* A histogram of counts per bucket index; bucket i holds values up to
 * upper(i), and mid(i) is what the sum counts for it. */
static void histogram(FILE *f, const char *name, const char *help, const uint64_t *count,
		      unsigned n, long (*upper)(unsigned), double (*mid)(unsigned),
		      const unsigned *le, unsigned nle)
{
	head(f, name, "histogram", help);
	unsigned long long cum[32] = { 0 }, total = 0;
	double sum = 0;
	for (unsigned i = 0; i < n; i++) {
		if (count[i] == 0)
			continue;
		long key = upper(i);
		total += count[i];
		sum += (double)count[i] * mid(i);
		for (unsigned k = 0; k < nle; k++)
			if (key <= (long)le[k])
				cum[k] += count[i];
	}
	for (unsigned k = 0; k < nle; k++)
		fprintf(f, "%s_bucket{le=\"%u\"} %llu\n", name, le[k], cum[k]);
	fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.17g\n%s_count %llu\n", name, total, name,
		sum, name, total);
}

static long scope_upper(unsigned i)
{
	return (long)i;
}

static double scope_mid(unsigned i)
{
	return (double)i;
}

/* Sizes are counted in 64-byte buckets: bucket i holds 64i..64i+63. */
static long size_upper(unsigned i)
{
	return (long)((i + 1) << STATS_SIZE_SHIFT) - 1;
}

static double size_mid(unsigned i)
{
	return (double)((i + 1) << STATS_SIZE_SHIFT) - 32.5;
}

static void events_metrics(FILE *f, const struct events *ev)
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
			(unsigned long long)events_count(ev, admin[i].k));
	head(f, "vane_drains_total", "counter", "Endpoints drained by an operator.");
	fprintf(f, "vane_drains_total %llu\n", (unsigned long long)events_count(ev, EV_DRAIN));
	head(f, "vane_ramps_total", "counter", "Ramps started by an operator.");
	fprintf(f, "vane_ramps_total %llu\n", (unsigned long long)events_count(ev, EV_RAMP));
	head(f, "vane_reloads_total", "counter",
	     "Reloads by result (failed: config error or a zone failed to load).");
	fprintf(f, "vane_reloads_total{result=\"ok\"} %llu\nvane_reloads_total{result=\"failed\"} %llu\n",
		(unsigned long long)events_count(ev, EV_RELOAD),
		(unsigned long long)events_count(ev, EV_RELOAD_FAILED));
}

static void zones(FILE *f, const struct ctl_zone_row *z, unsigned n)
{
	head(f, "vane_zone_serial", "gauge", "SOA serial of the zone version being served.");
	for (unsigned i = 0; i < n; i++) {
		if (!z[i].serving)
			continue;
		fputs("vane_zone_serial{zone=\"", f);
		label(f, z[i].name);
		fprintf(f, "\"} %u\n", (unsigned)z[i].serial);
	}
	head(f, "vane_zone_load_failed", "gauge", "1 when the last load of the zone failed.");
	for (unsigned i = 0; i < n; i++) {
		fputs("vane_zone_load_failed{zone=\"", f);
		label(f, z[i].name);
		fprintf(f, "\"} %d\n", z[i].failed);
	}
	head(f, "vane_secondary_serial", "gauge",
	     "SOA serial a notify: target last reported (asked every 2 s).");
	for (unsigned i = 0; i < n; i++) {
		for (unsigned k = 0; k < z[i].nsec; k++) {
			if (!z[i].sec[k].have_serial)
				continue;
			fputs("vane_secondary_serial{zone=\"", f);
			label(f, z[i].name);
			fputs("\",secondary=\"", f);
			label(f, z[i].sec[k].target);
			fprintf(f, "\"} %u\n", (unsigned)z[i].sec[k].serial);
		}
	}
	head(f, "vane_secondary_serial_lag", "gauge",
	     "Our serial minus the secondary's (RFC 1982 arithmetic); 0 when in sync.");
	for (unsigned i = 0; i < n; i++) {
		for (unsigned k = 0; k < z[i].nsec; k++) {
			if (!z[i].sec[k].have_serial || !z[i].serving)
				continue;
			fputs("vane_secondary_serial_lag{zone=\"", f);
			label(f, z[i].name);
			fputs("\",secondary=\"", f);
			label(f, z[i].sec[k].target);
			fprintf(f, "\"} %u\n", (unsigned)(z[i].serial - z[i].sec[k].serial));
		}
	}
	head(f, "vane_secondary_last_ack_seconds", "gauge",
	     "Unix time of the last NOTIFY the secondary acknowledged; 0: never.");
	for (unsigned i = 0; i < n; i++) {
		for (unsigned k = 0; k < z[i].nsec; k++) {
			fputs("vane_secondary_last_ack_seconds{zone=\"", f);
			label(f, z[i].name);
			fputs("\",secondary=\"", f);
			label(f, z[i].sec[k].target);
			fprintf(f, "\"} %lld\n", z[i].sec[k].last_ack);
		}
	}
}

/* Zones vaned is a secondary for (daemon/secondary.h). */
static void secondary_zones(FILE *f, const struct ctl_zone_row *z, unsigned n)
{
	static const struct { const char *name, *help; } g[] = {
		{ "vane_zone_expired", "1 while a secondary zone is expired (SOA expire passed "
				       "without a refresh): it answers SERVFAIL." },
		{ "vane_zone_refresh_failing", "1 while the last refresh of a secondary zone "
					       "failed." },
		{ "vane_zone_last_refresh_seconds", "Unix time of the last successful refresh of "
						    "a secondary zone; 0: never." },
		{ "vane_zone_expires_in_seconds", "Seconds until a secondary zone expires without "
						  "a refresh (negative: expired)." },
	};
	for (unsigned k = 0; k < 4; k++) {
		head(f, g[k].name, "gauge", g[k].help);
		for (unsigned i = 0; i < n; i++) {
			if (!z[i].secondary || (k == 3 && !z[i].sec_have_serial))
				continue;
			fprintf(f, "%s{zone=\"", g[k].name);
			label(f, z[i].name);
			long long v = k == 0 ? z[i].expired : k == 1 ? z[i].last_error != NULL :
				      k == 2 ? z[i].last_refresh : z[i].expires_in;
			fprintf(f, "\"} %lld\n", v);
		}
	}
	head(f, "vane_zone_transfers_total", "counter",
	     "Versions of a secondary zone transferred (IXFR or AXFR) since start.");
	for (unsigned i = 0; i < n; i++) {
		if (!z[i].secondary)
			continue;
		fputs("vane_zone_transfers_total{zone=\"", f);
		label(f, z[i].name);
		fprintf(f, "\"} %lu\n", z[i].transfers);
	}
	head(f, "vane_zone_refresh_failures_total", "counter",
	     "Refreshes of a secondary zone that failed (no primary answered usably).");
	for (unsigned i = 0; i < n; i++) {
		if (!z[i].secondary)
			continue;
		fputs("vane_zone_refresh_failures_total{zone=\"", f);
		label(f, z[i].name);
		fprintf(f, "\"} %lu\n", z[i].refresh_failures);
	}
	head(f, "vane_zone_expiry_events_total", "counter",
	     "Secondary zones that expired or came back since start.");
}

static void anycast_metrics(FILE *f, const struct anycast_status *a)
{
	head(f, "vane_anycast_announced", "gauge",
	     "1 while vaned has BIRD announce its anycast addresses.");
	fprintf(f, "vane_anycast_announced %d\n", a->announced);
	head(f, "vane_anycast_healthy", "gauge", "1 while the anycast self-check passes.");
	fprintf(f, "vane_anycast_healthy %d\n", a->healthy);
	head(f, "vane_anycast_transitions_total", "counter",
	     "Announce and withdraw transitions since start.");
	fprintf(f, "vane_anycast_transitions_total %llu\n", (unsigned long long)a->transitions);
	head(f, "vane_anycast_last_transition_info", "gauge",
	     "Always 1; the state after the last transition and why, in labels.");
	fprintf(f, "vane_anycast_last_transition_info{state=\"%s\",reason=\"", a->state);
	label(f, a->reason);
	fputs("\"} 1\n", f);
	head(f, "vane_anycast_last_transition_timestamp_seconds", "gauge",
	     "Unix time of the last transition (0: none yet).");
	fprintf(f, "vane_anycast_last_transition_timestamp_seconds %.3f\n",
		(double)a->changed_at_ms / 1000.0);
	head(f, "vane_anycast_checks_total", "counter", "Anycast self-checks by result.");
	fprintf(f, "vane_anycast_checks_total{result=\"ok\"} %llu\n"
		   "vane_anycast_checks_total{result=\"failed\"} %llu\n",
		(unsigned long long)(a->checks - a->check_failures),
		(unsigned long long)a->check_failures);
	head(f, "vane_anycast_bird_connected", "gauge", "1 while BIRD's control socket is connected.");
	fprintf(f, "vane_anycast_bird_connected %d\n", a->bird_connected);
}

/* The TCP server's defences (RFC 7766 section 6.2.2): what it refused and
 * closed, and why, so an operator sees a flood being held off. */
static void tcp_metrics(FILE *f, const struct ctl_metrics_in *in)
{
	const volatile struct tcp_counters *t = in->tcp;
	if (t == NULL)
		return;
	head(f, "vane_tcp_connections_total", "counter",
	     "TCP connections by outcome at accept.");
	fprintf(f, "vane_tcp_connections_total{result=\"accepted\"} %llu\n",
		(unsigned long long)t->accepted);
	fprintf(f, "vane_tcp_connections_total{result=\"refused_full\"} %llu\n",
		(unsigned long long)t->refused_full);
	fprintf(f, "vane_tcp_connections_total{result=\"refused_per_address\"} %llu\n",
		(unsigned long long)t->refused_per_address);
	head(f, "vane_tcp_closed_total", "counter",
	     "TCP connections closed by the server, by reason.");
	fprintf(f, "vane_tcp_closed_total{reason=\"first_query_timeout\"} %llu\n",
		(unsigned long long)t->closed_first_query);
	fprintf(f, "vane_tcp_closed_total{reason=\"idle_timeout\"} %llu\n",
		(unsigned long long)t->closed_idle);
	fprintf(f, "vane_tcp_closed_total{reason=\"output_limit\"} %llu\n",
		(unsigned long long)t->dropped_output);
	fprintf(f, "vane_tcp_closed_total{reason=\"buffer_limit\"} %llu\n",
		(unsigned long long)t->dropped_memory);
	head(f, "vane_tcp_buffer_bytes", "gauge", "Bytes held in TCP buffers now.");
	fprintf(f, "vane_tcp_buffer_bytes %llu\n", (unsigned long long)in->tcp_buffer_bytes);
}

char *metrics_render(const struct ctl_metrics_in *in)
{
	char *buf = NULL;
	size_t len = 0;
	struct stats_steer_sum *sum = malloc(sizeof(*sum));
	FILE *f = sum ? open_memstream(&buf, &len) : NULL;
	if (f == NULL) {
		free(sum);
		return NULL;
	}
	stats_steer_sum(sum, in->blocks, in->nblocks);

	head(f, "vane_build_info", "gauge", "Always 1; the version in a label.");
	fprintf(f, "vane_build_info{version=\"%s\"} 1\n", VANE_VERSION);
	head(f, "vane_start_time_seconds", "gauge", "Start time of vaned, Unix seconds.");
	fprintf(f, "vane_start_time_seconds %lld\n", in->started);
	queries(f, in->blocks, in->nblocks);
	services(f, in, sum);
	/* ECS scope 0..128 (RFC 7871 section 7.2.1): per-prefix-length buckets. */
	static const unsigned scope_le[] = { 0, 8, 16, 20, 24, 32, 40, 48, 56, 64, 128 };
	histogram(f, "vane_ecs_scope", "ECS scope prefix length of steered answers.", sum->scope,
		  STATS_SCOPES, scope_upper, scope_mid, scope_le, 11);
	static const unsigned size_le[] = { 63, 127, 255, 511, 1023, 1279, 1535, 2047, 4095, 65535 };
	histogram(f, "vane_response_size_bytes",
		  "Response sizes in bytes (sum approximated by 64-byte bucket middles).",
		  sum->size, STATS_SIZE_BUCKETS, size_upper, size_mid, size_le, 10);
	events_metrics(f, in->ops ? in->ops->events : NULL);
	zones(f, in->zones, in->nzones);
	secondary_zones(f, in->zones, in->nzones);
	fprintf(f, "vane_zone_expiry_events_total %llu\n",
		(unsigned long long)events_count(in->ops ? in->ops->events : NULL, EV_ZONE_EXPIRED));
	head(f, "vane_tcp_clients", "gauge", "Open TCP connections.");
	fprintf(f, "vane_tcp_clients %u\n", in->tcp_clients);
	if (in->anycast && in->anycast->enabled)
		anycast_metrics(f, in->anycast);
	tcp_metrics(f, in);
	free(sum);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
