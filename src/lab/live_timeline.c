/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Live mode's timeline: the scenario's events applied as an operator
 * would (vanectl against the operator's vaned, a reload for a changed TTL
 * or a deleted name), endpoints killed and restarted, and the operator's
 * `queries` counter read once a second for the authority's query rate.
 * One vanectl runs at a time; events wait their turn, a stats read that
 * would wait is skipped (its queries count in the next read).
 */
#include <stdlib.h>
#include <string.h>

#include "lab/live_int.h"

static void ctl_next(struct live *lv);

static void ctl_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	(void)hint;
	struct live *lv = h->data;
	b->base = lv->ctl_buf + lv->ctl_len;
	b->len = sizeof(lv->ctl_buf) - 1 - lv->ctl_len;
}

static void ctl_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	(void)b;
	struct live *lv = s->data;
	if (n > 0)
		lv->ctl_len += (size_t)n;
	else if (n < 0)
		uv_read_stop(s);
	lv->ctl_buf[lv->ctl_len] = 0;
}

static void stats_done(struct live *lv, int64_t status)
{
	const char *q = strstr(lv->ctl_buf, "\"queries\":");
	if (status != 0 || !q || lv->stat_pending < 0)
		return;
	uint64_t v = strtoull(q + 10, NULL, 10);
	uint32_t t = (uint32_t)lv->stat_pending;
	if (lv->auth_known && v >= lv->auth_last && t < lv->s->n_sec)
		lv->s->auth[t] += (uint32_t)(v - lv->auth_last);
	lv->auth_last = v;
	lv->auth_known = true;
}

static void pipe_closed(uv_handle_t *h)
{
	struct live *lv = h->data;
	lv->ctl_busy = false;
	lv->stat_pending = -1;
	ctl_next(lv);
}

static void proc_closed(uv_handle_t *h)
{
	struct live *lv = h->data;
	uv_close((uv_handle_t *)&lv->ctl_out, pipe_closed);
}

static void ctl_exit(uv_process_t *p, int64_t status, int sig)
{
	(void)sig;
	struct live *lv = p->data;
	if (lv->stat_pending >= 0)
		stats_done(lv, status);
	else if (status != 0 && lv->ctl_ev && lab_delete_refused(lv->sc, lv->ctl_ev))
		fprintf(stderr, "vane-lab: live: the deletion guard refused the delete at %u s, "
			"as it should\n", lv->ctl_ev->at);
	else if (status != 0)
		fprintf(stderr, "vane-lab: live: vanectl failed (%lld): %s\n", (long long)status,
			lv->ctl_buf);
	else if (lv->ctl_ev && lab_delete_refused(lv->sc, lv->ctl_ev))
		fprintf(stderr, "vane-lab: live: the delete at %u s was not refused by the "
			"deletion guard\n", lv->ctl_ev->at);
	lv->ctl_ev = NULL;
	uv_close((uv_handle_t *)p, proc_closed);
}

static int ctl_spawn(struct live *lv, char **args)
{
	char sock[4200];
	snprintf(sock, sizeof(sock), "%s/operator.sock", lv->sockdir);
	char *argv[16] = { lv->vanectl, "-s", sock };
	unsigned n = 3;
	for (unsigned i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	uv_pipe_init(&lv->loop, &lv->ctl_out, 0);
	lv->ctl_out.data = lv;
	uv_stdio_container_t io[3] = {
		{ .flags = UV_IGNORE },
		{ .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&lv->ctl_out },
		{ .flags = UV_INHERIT_FD, .data.fd = 2 },
	};
	uv_process_options_t po = {
		.exit_cb = ctl_exit, .file = lv->vanectl, .args = argv,
		.stdio_count = 3, .stdio = io,
	};
	lv->ctl_proc.data = lv;
	lv->ctl_len = 0;
	lv->ctl_buf[0] = 0;
	int ret = uv_spawn(&lv->loop, &lv->ctl_proc, &po);
	if (ret != 0) {
		fprintf(stderr, "vane-lab: live: %s: %s\n", lv->vanectl, uv_strerror(ret));
		uv_close((uv_handle_t *)&lv->ctl_out, NULL);
		return -1;
	}
	lv->ctl_busy = true;
	uv_read_start((uv_stream_t *)&lv->ctl_out, ctl_alloc, ctl_read);
	return 0;
}

/* The vanectl arguments of an operator event; false for none. */
static bool event_args(struct live *lv, const struct lab_event *ev, char *key, char *val,
		       char *steps, char *every, char **args)
{
	const struct lab_scenario *sc = lv->sc;
	if (ev->ep >= 0)
		snprintf(key, 128, "www.lab.example/%s", sc->ep[ev->ep].id);
	unsigned n = 0;
	switch (ev->kind) {
	case LAB_EV_DRAIN:
		args[n++] = "drain";
		args[n++] = key;
		break;
	case LAB_EV_UNDRAIN:
		args[n++] = "undrain";
		args[n++] = key;
		break;
	case LAB_EV_WEIGHT:
		snprintf(val, 32, "%u", ev->value);
		args[n++] = "weight";
		args[n++] = key;
		args[n++] = val;
		break;
	case LAB_EV_RAMP: {
		size_t k = 0;
		for (unsigned i = 0; i < ev->nsteps; i++)
			k += (size_t)snprintf(steps + k, 256 - k, "%s%u", i ? "," : "", ev->steps[i]);
		snprintf(every, 32, "%us", ev->every);
		args[n++] = "ramp";
		args[n++] = key;
		args[n++] = "--steps";
		args[n++] = steps;
		args[n++] = "--every";
		args[n++] = every;
		break;
	}
	case LAB_EV_TTL:
	case LAB_EV_DELETE:
	case LAB_EV_RESTORE:
	case LAB_EV_RELOAD:
		args[n++] = "reload";
		/* A deliberate deletion: past the guard that refuses to
		 * delete a name resolvers still ask for; `force: off`
		 * leaves the guard to refuse it. */
		if (ev->kind == LAB_EV_DELETE && !ev->unforced)
			args[n++] = "--force";
		break;
	default:
		return false;
	}
	args[n] = NULL;
	return true;
}

static void ctl_next(struct live *lv)
{
	if (lv->ctl_busy || lv->stopping || lv->n_q == 0)
		return;
	const struct lab_event *ev = &lv->sc->event[lv->q_ev[0]];
	memmove(lv->q_ev, lv->q_ev + 1, --lv->n_q * sizeof(lv->q_ev[0]));
	static char key[128], val[32], steps[256], every[32];
	char *args[12];
	if (event_args(lv, ev, key, val, steps, every, args)) {
		lv->stat_pending = -1;
		lv->ctl_ev = ev;
		ctl_spawn(lv, args);
	}
}

static void apply(struct live *lv, unsigned i)
{
	const struct lab_event *ev = &lv->sc->event[i];
	switch (ev->kind) {
	case LAB_EV_DOWN:
		live_ep_stop(lv, (unsigned)ev->ep);
		return;
	case LAB_EV_UP:
		if (live_ep_start(lv, (unsigned)ev->ep) < 0)
			fprintf(stderr, "vane-lab: live: %s\n", lv->err);
		return;
	case LAB_EV_TTL:
		lv->ttl = ev->value;
		break;
	case LAB_EV_DELETE:
		lv->deleted = true;
		break;
	case LAB_EV_RESTORE:
		lv->deleted = false;
		break;
	default:
		break;
	}
	if ((ev->kind == LAB_EV_TTL || ev->kind == LAB_EV_DELETE || ev->kind == LAB_EV_RESTORE) &&
	    live_net_write_operator(lv) < 0)
		fprintf(stderr, "vane-lab: live: cannot rewrite the operator's config\n");
	if (lv->n_q < LAB_MAX_EVENT)
		lv->q_ev[lv->n_q++] = i;
}

void live_timeline_second(struct live *lv)
{
	while (lv->next_ev < lv->sc->n_event && lv->sc->event[lv->next_ev].at <= lv->now_s)
		apply(lv, lv->next_ev++);
	ctl_next(lv);
	if (!lv->ctl_busy && !lv->stopping) {
		static char *stats[] = { "--json", "stats", NULL };
		lv->stat_pending = (int)lv->now_s;
		if (ctl_spawn(lv, stats) < 0)
			lv->stat_pending = -1;
	}
}
