/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * plan-change: vane-lab's model on a service of the running config, on the
 * loop thread.  A plan runs 20,000 model clients for 41 simulated minutes,
 * a fraction of a second; the UDP and TCP workers answer meanwhile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/plan_cmd.h"
#include "daemon/server.h"
#include "daemon/snapshot.h"
#include "lab/plan.h"

static const char *secs(double v, char *buf, size_t len)
{
	if (v < 0)
		snprintf(buf, len, "not within 30 min");
	else
		snprintf(buf, len, "%.0f s", v);
	return buf;
}

/* The plan as an operator reads it. */
static char *plan_text(const struct lab_plan *p)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	char b1[32], b2[32], b3[32];
	if (!strcmp(p->event, "down")) {
		fprintf(f, "%s: TTL %u -> %u\n", p->service, p->old_ttl, p->new_ttl);
		fprintf(f, "  %-16s %6s %12s %12s\n", "resolver kind", "share", "old TTL held",
			"new TTL held");
		for (unsigned k = 0; k < p->n_kind; k++)
			fprintf(f, "  %-16s %5.0f%% %10u s %10u s\n", p->kind[k].name,
				100 * p->kind[k].share, p->kind[k].old_held, p->kind[k].new_held);
		fprintf(f, "  safe to rely on the new TTL %u s after the change (the longest old TTL "
			"as caches hold it)\n", p->safe_after);
		fprintf(f, "  then a failover of %s (detection bound %.1f s) moves 95%% in %s, "
			"99%% in %s, 100%% in %s\n", p->endpoint, p->detect_bound,
			secs(p->rto95, b1, sizeof(b1)), secs(p->rto99, b2, sizeof(b2)),
			secs(p->rto100, b3, sizeof(b3)));
	} else {
		fprintf(f, "%s: drain %s at TTL %u\n", p->service, p->endpoint, p->new_ttl);
		fprintf(f, "  share of its traffic still arriving: %.1f%% after 1 min, %.1f%% after "
			"5 min, %.1f%% after 30 min\n", 100 * p->left_1m, 100 * p->left_5m,
			100 * p->left_30m);
		fprintf(f, "  95%% moved in %s, 99%% in %s, 100%% in %s\n",
			secs(p->rto95, b1, sizeof(b1)), secs(p->rto99, b2, sizeof(b2)),
			secs(p->rto100, b3, sizeof(b3)));
	}
	fprintf(f, "  authority: %.1f q/s for %u model clients (%.2f per month at %.2f per "
		"million)\n", p->auth_qps, p->clients, p->cost_month, p->price);
	fprintf(f, "  (model: the brief's resolver population; see vane-lab(1))\n");
	fclose(f);
	return text;
}

void cmd_plan_change(void *ctx, struct ctl_client *c, const struct ctl_args *a)
{
	struct server *srv = ctx;
	struct lab_plan *p = malloc(sizeof(*p));
	if (!p) {
		ctl_fail(c, VANE_ENOMEM, "out of memory");
		return;
	}
	char err[256] = "";
	int ret = lab_plan_change(srv->snap->conf, a->v[0].str, a->v[1].set ? (long)a->v[1].u : -1,
				  a->v[2].set ? a->v[2].str : NULL, p, err, sizeof(err));
	if (ret < 0) {
		ctl_fail(c, ret, "%s", err[0] ? err : vane_strerror(ret));
		free(p);
		return;
	}
	json_t *kinds = json_array();
	for (unsigned k = 0; k < p->n_kind; k++)
		json_array_append_new(kinds, json_pack("{s:s,s:f,s:I,s:I,s:I}",
			"name", p->kind[k].name, "share", p->kind[k].share,
			"min_ttl", (json_int_t)p->kind[k].min_ttl,
			"old_held", (json_int_t)p->kind[k].old_held,
			"new_held", (json_int_t)p->kind[k].new_held));
	char *text = plan_text(p);
	json_t *res = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:f,s:o,s:f,s:f,s:f,s:f,s:f,s:f,s:f,"
				"s:f,s:f,s:I,s:I,s:s}",
		"service", p->service, "event", p->event, "endpoint", p->endpoint,
		"old_ttl", (json_int_t)p->old_ttl, "new_ttl", (json_int_t)p->new_ttl,
		"safe_after", (json_int_t)p->safe_after, "detect_bound", p->detect_bound,
		"kinds", kinds, "rto95", p->rto95, "rto99", p->rto99, "rto100", p->rto100,
		"tail", p->tail, "left_1m", p->left_1m, "left_5m", p->left_5m,
		"left_30m", p->left_30m, "auth_qps", p->auth_qps, "cost_month", p->cost_month,
		"clients", (json_int_t)p->clients, "resolvers", (json_int_t)p->resolvers,
		"text", text ? text : "");
	free(text);
	free(p);
	if (!res) {
		ctl_fail(c, VANE_ENOMEM, "out of memory");
		return;
	}
	ctl_reply(c, res);
}
