/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * From a run's per-second series to the numbers of the report: RTO at 95,
 * 99 and 100%, the tail, detection, the herd's peak, the zombie outage, the
 * authority's query rate and its cost.  Pure.
 */
#include <stdlib.h>
#include <string.h>

#include "lab/metrics.h"

#define BASE_WINDOW 60            /* seconds before an event that set the baseline */
#define SMOOTH 5                  /* seconds in the herd's moving mean */

static uint32_t conn_at(const struct lab_series *s, uint32_t t, unsigned e)
{
	return s->conn[(size_t)t * s->n_ep + e];
}

static uint32_t nx_at(const struct lab_series *s, uint32_t t)
{
	uint32_t n = 0;
	for (unsigned p = 0; p < s->n_prof; p++)
		n += s->nx[(size_t)t * s->n_prof + p];
	return n;
}

static double share_mean(const struct lab_series *s, uint32_t from, uint32_t to, int e)
{
	double num = 0, den = 0;
	for (uint32_t t = from; t < to; t++) {
		num += e >= 0 ? conn_at(s, t, (unsigned)e) : nx_at(s, t);
		den += s->total[t];
	}
	return den > 0 ? num / den : 0;
}

/* End of the measured window: the next event that undoes the measured one. */
static uint32_t window_end(const struct lab_scenario *sc, const struct lab_event *m,
			   uint32_t n_sec)
{
	for (unsigned i = 0; i < sc->n_event; i++) {
		const struct lab_event *ev = &sc->event[i];
		if (ev->at <= m->at || ev == m)
			continue;
		bool undo = (m->kind == LAB_EV_DOWN && ev->kind == LAB_EV_UP && ev->ep == m->ep) ||
			    (m->kind == LAB_EV_DRAIN && ev->kind == LAB_EV_UNDRAIN && ev->ep == m->ep) ||
			    (m->kind == LAB_EV_UP && ev->kind == LAB_EV_DOWN && ev->ep == m->ep) ||
			    (m->kind == LAB_EV_RESTORE && ev->kind == LAB_EV_DELETE) ||
			    (m->kind == LAB_EV_WITHDRAW && ev->kind == LAB_EV_ANNOUNCE &&
			     ev->ep == m->ep) ||
			    (m->kind == LAB_EV_ANNOUNCE && ev->kind == LAB_EV_WITHDRAW &&
			     ev->ep == m->ep);
		if (undo)
			return ev->at < n_sec ? ev->at : n_sec;
	}
	return n_sec;
}

static uint32_t base_from(uint32_t at)
{
	return at > BASE_WINDOW ? at - BASE_WINDOW : 0;
}

double lab_smooth_load(const struct lab_series *s, uint32_t t, unsigned e)
{
	uint32_t from = t + 1 >= SMOOTH ? t + 1 - SMOOTH : 0;
	return lab_mean_u32(s->conn, from, t + 1, s->n_ep, e);
}

/* Traffic leaving an endpoint (down, drain) or negative answers leaving
 * after a restore: the share still on the old answer, relative to before. */
static void measure_shift(const struct lab_scenario *sc, struct lab_result *r,
			  const struct lab_event *m, int e, double *rem)
{
	const struct lab_series *s = &r->s;
	uint32_t end = window_end(sc, m, s->n_sec);
	r->baseline = m->kind == LAB_EV_RESTORE ? share_mean(s, base_from(m->at), m->at, -1)
						: share_mean(s, base_from(m->at), m->at, e);
	for (uint32_t t = 0; t < s->n_sec; t++) {
		double old = e >= 0 ? conn_at(s, t, (unsigned)e) : nx_at(s, t);
		double sh = s->total[t] ? old / s->total[t] : 0;
		rem[t] = r->baseline > 0 ? sh / r->baseline : 0;
	}
	r->rto95 = lab_shift_time(rem, m->at, end, 0.95);
	r->rto99 = lab_shift_time(rem, m->at, end, 0.99);
	r->rto100 = lab_shift_time(rem, m->at, end, 1.0);
	for (unsigned p = 0; p < s->n_prof; p++) {
		uint32_t last = UINT32_MAX;
		for (uint32_t t = m->at; t < end; t++) {
			uint32_t v = e >= 0
				? s->conn_prof[((size_t)t * s->n_prof + p) * s->n_ep + (unsigned)e]
				: s->nx[(size_t)t * s->n_prof + p];
			if (v)
				last = t;
		}
		r->prof_rto100[p] = last == UINT32_MAX ? 0
				    : last + 1 >= end ? -1 : (double)(last + 1 - m->at);
	}
	if (m->kind == LAB_EV_RESTORE)
		r->outage = r->rto100;
}

/* An endpoint coming back: how fast and how hard its traffic returns. */
static void measure_return(const struct lab_scenario *sc, struct lab_result *r,
			   const struct lab_event *m, double *rem)
{
	const struct lab_series *s = &r->s;
	unsigned e = (unsigned)m->ep;
	/* The load it had before it went away: the first down or drain since
	 * it last came back (a drain while down leaves nothing to measure). */
	uint32_t gone = 0;
	bool away = false;
	for (unsigned i = 0; i < sc->n_event && &sc->event[i] != m; i++) {
		const struct lab_event *ev = &sc->event[i];
		if (ev->ep != m->ep)
			continue;
		if ((ev->kind == LAB_EV_DOWN || ev->kind == LAB_EV_DRAIN ||
		     ev->kind == LAB_EV_WITHDRAW) && !away) {
			gone = ev->at;
			away = true;
		} else if (ev->kind == LAB_EV_UP || ev->kind == LAB_EV_UNDRAIN ||
			   ev->kind == LAB_EV_ANNOUNCE) {
			away = false;
		}
	}
	if (!gone)
		gone = m->at;
	r->herd_base = lab_mean_u32(s->conn, base_from(gone), gone, s->n_ep, e);
	double share0 = share_mean(s, base_from(gone), gone, (int)e);
	r->baseline = share0;
	uint32_t end = window_end(sc, m, s->n_sec);
	uint32_t wend = m->at + sc->window < end ? m->at + sc->window : end;
	r->herd_peak = 0;
	for (uint32_t t = m->at; t < wend; t++) {
		double l = lab_smooth_load(s, t, e);
		if (l > r->herd_peak)
			r->herd_peak = l;
	}
	r->ramp_over = -1;
	for (uint32_t t = m->at; t < end; t++) {
		if (s->ramp_pct[t] >= 100 || r->herd_base <= 0)
			continue;
		double over = lab_smooth_load(s, t, e) / r->herd_base - s->ramp_pct[t] / 100.0;
		if (over > r->ramp_over)
			r->ramp_over = over;
	}
	for (uint32_t t = 0; t < s->n_sec; t++) {
		double sh = s->total[t] ? (double)conn_at(s, t, e) / s->total[t] : 0;
		double back = share0 > 0 ? sh / share0 : 1;
		rem[t] = back >= 1 ? 0 : 1 - back;
	}
	r->rto95 = lab_shift_time(rem, m->at, end, 0.95);
	r->rto99 = lab_shift_time(rem, m->at, end, 0.99);
	r->rto100 = -1;  /* a share that hovers around its mean never settles at 100% */
}

int lab_measure(const struct lab_scenario *sc, struct lab_result *r)
{
	struct lab_series *s = &r->s;
	r->rto95 = r->rto99 = r->rto100 = r->tail = r->outage = -1;
	r->herd_peak = r->herd_base = 0;
	r->ramp_over = -1;
	r->measure_kind = -1;
	for (unsigned p = 0; p < LAB_MAX_PROFILE; p++)
		r->prof_rto100[p] = -1;
	r->auth_total = r->conn_total = r->fail_total = 0;
	r->auth_peak = 0;
	for (uint32_t t = 0; t < s->n_sec; t++) {
		r->auth_total += s->auth[t];
		r->conn_total += s->total[t];
		r->fail_total += s->fail[t];
		if (s->auth[t] > r->auth_peak)
			r->auth_peak = s->auth[t];
	}
	r->auth_qps = s->n_sec ? (double)r->auth_total / s->n_sec : 0;
	r->cost_month = r->auth_qps * 86400.0 * 30 / 1e6 * sc->price;
	for (unsigned e = 0; e < s->n_ep; e++)
		r->share[e] = share_mean(s, 0, s->n_sec, (int)e);
	if (sc->measure < 0)
		return 0;
	const struct lab_event *m = &sc->event[sc->measure];
	r->measure_kind = m->kind;
	r->measure_at = m->at;
	double *rem = malloc(sizeof(double) * s->n_sec);
	if (!rem)
		return VANE_ENOMEM;
	switch (m->kind) {
	case LAB_EV_DOWN:
	case LAB_EV_DRAIN:
	case LAB_EV_WITHDRAW:
		measure_shift(sc, r, m, m->ep, rem);
		break;
	case LAB_EV_RESTORE:
		measure_shift(sc, r, m, -1, rem);
		break;
	case LAB_EV_UP:
	case LAB_EV_UNDRAIN:
	case LAB_EV_ANNOUNCE:
		measure_return(sc, r, m, rem);
		break;
	default:
		break;
	}
	if (r->rto95 >= 0 && r->rto100 >= 0)
		r->tail = r->rto100 - r->rto95;
	free(rem);
	return 0;
}

void lab_remaining(const struct lab_scenario *sc, const struct lab_result *r, double *rem)
{
	const struct lab_series *s = &r->s;
	if (sc->measure < 0) {
		memset(rem, 0, sizeof(double) * s->n_sec);
		return;
	}
	const struct lab_event *m = &sc->event[sc->measure];
	int e = m->kind == LAB_EV_RESTORE ? -1 : m->ep;
	bool back = m->kind == LAB_EV_UP || m->kind == LAB_EV_UNDRAIN ||
		    m->kind == LAB_EV_ANNOUNCE;
	for (uint32_t t = 0; t < s->n_sec; t++) {
		double old = e >= 0 ? conn_at(s, t, (unsigned)e) : nx_at(s, t);
		double sh = s->total[t] ? old / s->total[t] : 0;
		double v = r->baseline > 0 ? sh / r->baseline : 0;
		rem[t] = back ? (v >= 1 ? 0 : 1 - v) : v;
	}
}
