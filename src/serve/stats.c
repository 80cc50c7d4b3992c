/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dname.h"
#include "rt/log.h"
#include "serve/stats.h"

/* ---- steering counters ---- */

void stats_steer_sum(struct stats_steer_sum *sum, struct srv_stats *const *blocks, unsigned n)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned b = 0; b < n; b++) {
		const volatile struct srv_stats *s = blocks[b];
		const volatile struct srv_steer_stats *st = &s->steer;
		for (unsigned i = 0; i < STATS_MAX_SERVICES; i++) {
			sum->steered[i] += st->steered[i];
			sum->fallbacks[i] += st->fallbacks[i];
			sum->all_drained[i] += st->all_drained[i];
			if (st->steered[i] == 0)
				continue; /* answers only move with steered */
			for (unsigned e = 0; e < STATS_MAX_EPS; e++)
				sum->answers[i][e] += st->answers[i][e];
		}
		for (unsigned i = 0; i < STATS_SCOPES; i++)
			sum->scope[i] += st->scope[i];
		for (unsigned i = 0; i < STATS_SIZE_BUCKETS; i++)
			sum->size[i] += s->size[i];
	}
}

void stats_note_queried(struct srv_stats *const *blocks, unsigned n, uint64_t *last,
			uint64_t *queried_ms, uint64_t now_ms)
{
	uint64_t cur[STATS_MAX_SERVICES] = { 0 };
	for (unsigned b = 0; b < n; b++) {
		const volatile struct srv_steer_stats *st = &blocks[b]->steer;
		for (unsigned i = 0; i < STATS_MAX_SERVICES; i++)
			cur[i] += st->steered[i];
	}
	for (unsigned i = 0; i < STATS_MAX_SERVICES; i++) {
		if (cur[i] != last[i])
			queried_ms[i] = now_ms;
		last[i] = cur[i];
	}
}

/* Log each service whose per-slot counter (fallbacks, or all-drained
 * answers) moved since `last`, then remember the sums.  Returns the total. */
static uint64_t log_moved(struct srv_stats *const *blocks, unsigned n,
			  const struct serve_view *view, uint64_t *last, bool drained)
{
	uint64_t cur[STATS_MAX_SERVICES] = { 0 }, total = 0;
	char name[DNAME_MAXSTR];

	for (unsigned b = 0; b < n; b++) {
		const volatile struct srv_steer_stats *st = &blocks[b]->steer;
		for (unsigned i = 0; i < STATS_MAX_SERVICES; i++)
			cur[i] += drained ? st->all_drained[i] : st->fallbacks[i];
	}
	const struct steer_set *set = view && view->steer ? view->steer->set : NULL;
	for (uint32_t s = 0; set && s < set->n; s++) {
		uint16_t k = view->slots[s].svc;
		if (k == SERVE_NO_SLOT || cur[k] <= last[k])
			continue;
		dname_to_str(set->svc[s].name, name, sizeof(name));
		if (strlen(name) > 1)
			name[strlen(name) - 1] = '\0';
		unsigned long long moved = cur[k] - last[k];
		if (drained)
			log_warning("[%s] all-down open: every endpoint drained or standby never, "
				    "answered NODATA (%llu answers)", name, moved);
		else
			log_warning("[%s] all-down: %llu fallbacks (%s)", name, moved,
				    steer_all_down_name(set->svc[s].all_down));
	}
	for (unsigned i = 0; i < STATS_MAX_SERVICES; i++) {
		total += cur[i];
		last[i] = cur[i];
	}
	return total;
}

uint64_t stats_log_fallbacks(struct srv_stats *const *blocks, unsigned n,
			     const struct serve_view *view, uint64_t *last)
{
	return log_moved(blocks, n, view, last, false);
}

uint64_t stats_log_all_drained(struct srv_stats *const *blocks, unsigned n,
			       const struct serve_view *view, uint64_t *last)
{
	return log_moved(blocks, n, view, last, true);
}
