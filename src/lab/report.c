/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lab/metrics.h"
#include "lab/report.h"
#include "lab/svg.h"

/* "-" for a time that did not happen within the run. */
static const char *secs(double v, char *buf, size_t len)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.0f s", v);
	return buf;
}

static const char *event_text(const struct lab_scenario *sc, const struct lab_result *r,
			      char *buf, size_t len)
{
	if (sc->measure < 0) {
		snprintf(buf, len, "none");
		return buf;
	}
	const struct lab_event *m = &sc->event[sc->measure];
	snprintf(buf, len, "%s%s%s at %u s", lab_event_name(m->kind), m->ep >= 0 ? " " : "",
		 m->ep >= 0 ? sc->ep[m->ep].id : "", m->at);
	return buf;
}

void lab_summary_header(FILE *f)
{
	fprintf(f, "%-22s %5s %-26s %7s %7s %7s %7s %9s %10s %8s\n", "scenario", "ttl", "event",
		"rto95", "rto99", "rto100", "tail", "auth q/s", "$/month", "failed");
	/* failed: connection attempts that failed, retries included. */
}

void lab_summary_row(FILE *f, const struct lab_scenario *sc, const struct lab_result *r)
{
	char ev[64], a[16], b[16], c[16], d[16];
	fprintf(f, "%-22s %5u %-26s %7s %7s %7s %7s %9.1f %10.2f %8llu\n", sc->name, sc->svc.ttl,
		event_text(sc, r, ev, sizeof(ev)), secs(r->rto95, a, sizeof(a)),
		secs(r->rto99, b, sizeof(b)), secs(r->rto100, c, sizeof(c)),
		secs(r->tail, d, sizeof(d)), r->auth_qps, r->cost_month,
		(unsigned long long)r->fail_total);
	if (!r->dns.have)
		return;
	/* An anycast scenario's DNS failover twin, on the row below. */
	char name[LAB_NAME_MAX + 8];
	snprintf(name, sizeof(name), "%.*s (dns)", LAB_NAME_MAX - 1, sc->name);
	/* A withdraw or announce is not in the DNS run: nothing was measured. */
	bool route_ev = r->measure_kind == LAB_EV_WITHDRAW || r->measure_kind == LAB_EV_ANNOUNCE;
	fprintf(f, "%-22s %5u %-26s %7s %7s %7s %7s %9.1f %10.2f %8llu\n", name, sc->svc.ttl,
		route_ev ? "none" : ev,
		secs(r->dns.rto95, a, sizeof(a)), secs(r->dns.rto99, b, sizeof(b)),
		secs(r->dns.rto100, c, sizeof(c)), secs(r->dns.tail, d, sizeof(d)),
		r->dns.auth_qps, r->dns.cost_month, (unsigned long long)r->dns.fail_total);
}

void lab_summary_detail(FILE *f, const struct lab_scenario *sc, const struct lab_result *r)
{
	char buf[64];
	fprintf(f, "%s: %u clients, %u resolvers, %u s %s, TTL %u\n", sc->name,
		sc->clients, sc->resolvers, sc->duration, sc->live ? "live" : "simulated",
		sc->svc.ttl);
	fprintf(f, "  event: %s", event_text(sc, r, buf, sizeof(buf)));
	if (r->detect >= 0 && (r->measure_kind == LAB_EV_UP))
		fprintf(f, "; health flip after %.1f s (bound: interval %.0f s x rise %u)",
			r->detect, sc->interval_ms / 1000.0, sc->rise);
	else if (r->detect >= 0)
		fprintf(f, "; health flip after %.1f s (bound: interval %.0f s x fall %u + timeout %.0f s)",
			r->detect, sc->interval_ms / 1000.0, sc->fall, sc->timeout_ms / 1000.0);
	fputc('\n', f);
	if (r->measure_kind == LAB_EV_DOWN || r->measure_kind == LAB_EV_DRAIN ||
	    r->measure_kind == LAB_EV_RESTORE) {
		fprintf(f, "  last old traffic by resolver kind:");
		for (unsigned p = 0; p < sc->n_profile; p++)
			fprintf(f, " %s %s%s", sc->profile[p].name,
				secs(r->prof_rto100[p], buf, sizeof(buf)),
				p + 1 < sc->n_profile ? "," : "\n");
	}
	if (r->measure_kind == LAB_EV_RESTORE)
		fprintf(f, "  outage after the restore: %s\n", secs(r->outage, buf, sizeof(buf)));
	if (sc->anycast.n_site) {
		fprintf(f, "  anycast: sites");
		for (unsigned i = 0; i < sc->anycast.n_site; i++)
			fprintf(f, " %s", sc->ep[sc->anycast.site[i]].id);
		fprintf(f, ", convergence %.1f s", sc->anycast.convergence_ms / 1000.0);
		if (r->route_change >= 0)
			fprintf(f, "; the measured site's route changed %.1f s after the event",
				r->route_change);
		fputc('\n', f);
	}
	if (r->dns.have) {
		char a[16], b[16], c[16];
		fprintf(f, "  DNS failover, same scenario without anycast: RTO 95%% %s, 99%% %s, "
			"100%% %s", secs(r->dns.rto95, a, sizeof(a)), secs(r->dns.rto99, b, sizeof(b)),
			secs(r->dns.rto100, c, sizeof(c)));
		if (r->dns.detect >= 0)
			fprintf(f, " (health flip after %.1f s)", r->dns.detect);
		fputc('\n', f);
	}
	if (r->measure_kind == LAB_EV_UP || r->measure_kind == LAB_EV_UNDRAIN) {
		fprintf(f, "  returning endpoint: %.0f conn/s before, peak %.0f conn/s (%.0f%%) "
			"in the first %u s", r->herd_base, r->herd_peak,
			r->herd_base > 0 ? 100 * r->herd_peak / r->herd_base : 0, sc->window);
		if (r->ramp_over > -1)
			fprintf(f, "; ramp: worst %+.1f points over the step", 100 * r->ramp_over);
		fputc('\n', f);
	}
	fprintf(f, "  auth: %.1f q/s mean, %.0f peak; %.1f M queries/month = %.2f/month at %.2f "
		"per million\n  shares:", r->auth_qps, r->auth_peak,
		r->auth_qps * 86400 * 30 / 1e6, r->cost_month, sc->price);
	for (unsigned e = 0; e < sc->svc.n_ep; e++)
		fprintf(f, " %s %.2f%%", sc->ep[e].id, 100 * r->share[e]);
	fputc('\n', f);
}

static void json_num(FILE *f, const char *key, double v, bool comma)
{
	fprintf(f, "\"%s\": %.10g%s", key, v, comma ? ", " : "");
}

int lab_write_json(FILE *f, const struct lab_scenario *sc, const struct lab_result *r)
{
	fprintf(f, "{\"scenario\": \"%s\", ", sc->name);
	fprintf(f, "\"mode\": \"%s\", ", sc->live ? "live" : "model");
	json_num(f, "ttl", sc->svc.ttl, true);
	json_num(f, "clients", sc->clients, true);
	json_num(f, "resolvers", sc->resolvers, true);
	json_num(f, "duration", sc->duration, true);
	fprintf(f, "\"event\": \"%s\", ", r->measure_kind >= 0 ? lab_event_name((unsigned)r->measure_kind) : "");
	json_num(f, "event_at", r->measure_at, true);
	json_num(f, "detect", r->detect, true);
	json_num(f, "detect_bound", sc->interval_ms / 1000.0 * sc->fall + sc->timeout_ms / 1000.0, true);
	json_num(f, "baseline", r->baseline, true);
	json_num(f, "rto95", r->rto95, true);
	json_num(f, "rto99", r->rto99, true);
	json_num(f, "rto100", r->rto100, true);
	json_num(f, "tail", r->tail, true);
	json_num(f, "outage", r->outage, true);
	json_num(f, "herd_base", r->herd_base, true);
	json_num(f, "herd_peak", r->herd_peak, true);
	json_num(f, "ramp_over", r->ramp_over, true);
	json_num(f, "auth_qps", r->auth_qps, true);
	json_num(f, "auth_peak", r->auth_peak, true);
	json_num(f, "auth_total", (double)r->auth_total, true);
	json_num(f, "price", sc->price, true);
	json_num(f, "cost_month", r->cost_month, true);
	json_num(f, "connections", (double)r->conn_total, true);
	json_num(f, "failed", (double)r->fail_total, true);
	if (sc->anycast.n_site) {
		fputs("\"anycast\": {", f);
		json_num(f, "convergence", sc->anycast.convergence_ms / 1000.0, true);
		json_num(f, "route_change", r->route_change, false);
		fputs("}, ", f);
	}
	if (r->dns.have) {
		fputs("\"dns\": {", f);
		json_num(f, "rto95", r->dns.rto95, true);
		json_num(f, "rto99", r->dns.rto99, true);
		json_num(f, "rto100", r->dns.rto100, true);
		json_num(f, "tail", r->dns.tail, true);
		json_num(f, "detect", r->dns.detect, true);
		json_num(f, "auth_qps", r->dns.auth_qps, true);
		json_num(f, "failed", (double)r->dns.fail_total, false);
		fputs("}, ", f);
	}
	fputs("\"by_kind\": {", f);
	for (unsigned p = 0; p < sc->n_profile; p++) {
		fprintf(f, "\"%s\": {", sc->profile[p].name);
		json_num(f, "share", sc->profile[p].share, true);
		json_num(f, "min_ttl", sc->profile[p].min_ttl, true);
		json_num(f, "rto100", r->prof_rto100[p], false);
		fprintf(f, "}%s", p + 1 < sc->n_profile ? ", " : "");
	}
	fputs("}, \"share\": {", f);
	for (unsigned e = 0; e < sc->svc.n_ep; e++)
		fprintf(f, "\"%s\": %.6g%s", sc->ep[e].id, r->share[e],
			e + 1 < sc->svc.n_ep ? ", " : "");
	fputs("}}\n", f);
	return ferror(f) ? -EIO : 0;
}

static const char *const style =
	"body{font-family:sans-serif;max-width:980px;margin:1em auto;color:#222}"
	"table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;"
	"text-align:right}th{background:#f4f4f4}td:first-child{text-align:left}"
	"pre{background:#f8f8f8;padding:8px}";

/* Event markers for every plot over time. */
static unsigned marks_of(const struct lab_scenario *sc, struct svg_mark *mk, char (*lbl)[96])
{
	unsigned n = 0;
	for (unsigned i = 0; i < sc->n_event; i++) {
		const struct lab_event *ev = &sc->event[i];
		snprintf(lbl[n], sizeof(lbl[n]), "%s%s%s", lab_event_name(ev->kind), ev->ep >= 0 ? " " : "",
			 ev->ep >= 0 ? sc->ep[ev->ep].id : "");
		mk[n].x = ev->at;
		mk[n].label = lbl[n];
		n++;
	}
	return n;
}

static int plots(FILE *f, const struct lab_scenario *sc, const struct lab_result *r, double *buf)
{
	const struct lab_series *s = &r->s;
	size_t n = s->n_sec;
	struct svg_series ser[LAB_MAX_EP > LAB_MAX_PROFILE ? LAB_MAX_EP + 1 : LAB_MAX_PROFILE + 1];
	struct svg_mark mk[LAB_MAX_EVENT];
	char lbl[LAB_MAX_EVENT][96];
	unsigned nm = marks_of(sc, mk, lbl);
	struct svg_plot p = { .x0 = 0, .dx = 1, .xlabel = "time (s)", .marks = mk, .n_marks = nm };
	int ret = 0;

	/* 1: traffic share per endpoint. */
	for (unsigned e = 0; e < s->n_ep; e++) {
		double *y = buf + e * n;
		for (size_t t = 0; t < n; t++)
			y[t] = s->total[t] ? 100.0 * s->conn[t * s->n_ep + e] / s->total[t] : 0;
		ser[e] = (struct svg_series){ sc->ep[e].id, y, n };
	}
	p.title = "Traffic share per endpoint";
	p.ylabel = "% of connections";
	p.series = ser;
	p.n_series = s->n_ep;
	p.ymin = 0;
	p.ymax = 100;
	ret |= svg_plot_write(f, &p);

	/* 2: failed connections (dead endpoint or negative answer). */
	double *y = buf;
	for (size_t t = 0; t < n; t++)
		y[t] = s->fail[t];
	ser[0] = (struct svg_series){ "failed", y, n };
	p.title = "Failed connections per second";
	p.ylabel = "failures / s";
	p.n_series = 1;
	p.ymin = p.ymax = 0;
	ret |= svg_plot_write(f, &p);

	/* 3: the authority's query rate. */
	for (size_t t = 0; t < n; t++)
		y[t] = s->auth[t];
	ser[0] = (struct svg_series){ "auth queries", y, n };
	p.title = "Queries per second at the authoritative server";
	p.ylabel = "queries / s";
	ret |= svg_plot_write(f, &p);

	/* 4: the long tail, overall and by kind of resolver. */
	if (sc->measure >= 0) {
		lab_remaining(sc, r, y);
		ser[0] = (struct svg_series){ "all", y, n };
		unsigned k = 1;
		const struct lab_event *m = &sc->event[sc->measure];
		bool shift = m->kind == LAB_EV_DOWN || m->kind == LAB_EV_DRAIN ||
			     m->kind == LAB_EV_RESTORE;
		for (unsigned pi = 0; shift && pi < s->n_prof && k <= LAB_MAX_PROFILE; pi++) {
			double *yp = buf + (size_t)k * n;
			for (size_t t = 0; t < n; t++) {
				double old = 0, tot = 0;
				for (unsigned e = 0; e < s->n_ep; e++) {
					uint32_t v = s->conn_prof[(t * s->n_prof + pi) * s->n_ep + e];
					tot += v;
					if ((int)e == m->ep)
						old += v;
				}
				uint32_t nx = s->nx[t * s->n_prof + pi];
				tot += nx;
				if (m->kind == LAB_EV_RESTORE)
					old = nx;
				yp[t] = tot > 0 && r->baseline > 0 ? old / tot / r->baseline : 0;
			}
			ser[k++] = (struct svg_series){ sc->profile[pi].name, yp, n };
		}
		for (unsigned i = 0; i < k; i++)
			for (size_t t = 0; t < n; t++)
				((double *)ser[i].y)[t] *= 100;
		p.title = m->kind == LAB_EV_UP || m->kind == LAB_EV_UNDRAIN
			  ? "Returning traffic not yet back"
			  : "Long tail: clients still on the old answer";
		p.ylabel = "% of the traffic before";
		p.xlabel = "seconds after the event";
		/* From the event to a little past the last old traffic: at a
		 * TTL of 30 the whole story is a minute of a long run. */
		size_t span = n - m->at;
		if (r->rto100 > 0 && (size_t)(r->rto100 * 1.25 + 30) < span)
			span = (size_t)(r->rto100 * 1.25 + 30);
		for (unsigned i = 0; i < k; i++) {
			ser[i].y += m->at;
			ser[i].n = span;
		}
		p.series = ser;
		p.n_series = k;
		p.n_marks = 0;
		p.ymin = 0;
		p.ymax = 100;
		ret |= svg_plot_write(f, &p);
	}
	return ret;
}

int lab_write_html(FILE *f, const struct lab_scenario *sc, const struct lab_result *r)
{
	size_t n = r->s.n_sec;
	unsigned width = (LAB_MAX_EP > LAB_MAX_PROFILE ? LAB_MAX_EP : LAB_MAX_PROFILE) + 1;
	double *buf = malloc(sizeof(double) * n * width);
	if (!buf)
		return VANE_ENOMEM;
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>vane-lab: ", f);
	svg_escape(f, sc->name);
	fprintf(f, "</title><style>%s</style></head><body>\n<h1>vane-lab: ", style);
	svg_escape(f, sc->name);
	fputs("</h1>\n<p>", f);
	svg_escape(f, sc->description);
	fputs("</p>\n<table id=\"summary\"><tr><th>scenario</th><th>TTL</th><th>RTO 95%</th>"
	      "<th>RTO 99%</th><th>RTO 100%</th><th>tail</th><th>auth q/s</th>"
	      "<th>cost/month</th></tr>\n", f);
	char a[16], b[16], c[16], d[16];
	fputs("<tr><td>", f);
	svg_escape(f, sc->name);
	fprintf(f, "</td><td>%u</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%.1f</td>"
		"<td>%.2f</td></tr>\n", sc->svc.ttl, secs(r->rto95, a, sizeof(a)),
		secs(r->rto99, b, sizeof(b)), secs(r->rto100, c, sizeof(c)),
		secs(r->tail, d, sizeof(d)), r->auth_qps, r->cost_month);
	if (r->dns.have) {
		/* The same failure as DNS failover: the comparison is the point. */
		fputs("<tr><td>", f);
		svg_escape(f, sc->name);
		fprintf(f, " (dns)</td><td>%u</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
			"<td>%.1f</td><td>%.2f</td></tr>\n", sc->svc.ttl,
			secs(r->dns.rto95, a, sizeof(a)), secs(r->dns.rto99, b, sizeof(b)),
			secs(r->dns.rto100, c, sizeof(c)), secs(r->dns.tail, d, sizeof(d)),
			r->dns.auth_qps, r->dns.cost_month);
	}
	fputs("</table>\n<pre>", f);
	/* The detail is plain text with ids that are ours; escape anyway. */
	char *txt = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&txt, &len);
	if (mem) {
		lab_summary_detail(mem, sc, r);
		fclose(mem);
		svg_escape(f, txt);
		free(txt);
	}
	fputs("</pre>\n", f);
	int ret = plots(f, sc, r, buf);
	if (sc->live)
		fputs("<p>Live: real vaned (root, TLD, operator), vane-resolver and unbound "
		      "processes on loopback; clients ask their resolver and connect over HTTP to "
		      "the first address. See LIVE MODE in vane-lab(1).</p>\n</body></html>\n", f);
	else
		fputs("<p>Model: clients connect through one resolver each to the first address of "
		      "the answer; resolvers cache with vane-resolver's TTL rules; answers come from "
		      "vaned's steering code, health from its fold. See vane-lab(1).</p>\n"
		      "</body></html>\n", f);
	free(buf);
	return ret || ferror(f) ? -EIO : 0;
}
