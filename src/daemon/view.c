/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdlib.h>
#include <urcu-qsbr.h>

#include "daemon/view.h"
#include "rt/log.h"

static void view_free(struct daemon_view *v)
{
	if (v == NULL)
		return;
	live_free(v->live);
	free(v);
}

struct view_retire {
	uv_work_t work;
	struct daemon_view *v;
};

static void retire_work(uv_work_t *req)
{
	/* Waits for the UDP workers only; the loop thread is not blocked. */
	synchronize_rcu();
}

static void retire_after(uv_work_t *req, int status)
{
	struct view_retire *r = req->data;
	view_free(r->v);
	free(r);
}

static void view_retire(struct view_root *root, struct daemon_view *v)
{
	if (v == NULL)
		return;
	struct view_retire *r = malloc(sizeof(*r));
	if (r == NULL)
		return;   /* leak rather than free in use */
	r->v = v;
	r->work.data = r;
	if (uv_queue_work(root->loop, &r->work, retire_work, retire_after) < 0)
		free(r);
}

int view_publish(struct view_root *root, const struct vane_snapshot *snap,
		 struct live_state *live)
{
	struct daemon_view *v = calloc(1, sizeof(*v));
	if (v == NULL) {
		log_error("out of memory publishing a view; the previous one keeps serving");
		live_free(live);
		return VANE_ENOMEM;
	}
	const struct live_state *l = live ? live : snap->live0;
	v->snap = snap;
	v->live = live;
	v->sv.db = snap->db;
	v->sv.auth = &snap->auth;
	v->sv.slots = snap->stat_slots;
	v->sv.xfr = snap->xfr;
	v->sv.tcp_idle_timeout_ms = snap->conf->tcp_idle_timeout_ms;
	v->sv.tcp_max_clients = snap->conf->tcp_max_clients;
	v->sv.tcp_max_per_addr = snap->conf->tcp_max_per_addr;
	v->sv.tcp_first_query_ms = snap->conf->tcp_first_query_ms;
	v->sv.tcp_buffer_limit = snap->conf->tcp_buffer_limit;
	if (snap->steer || snap->removed) {
		v->steer = (struct auth_steer){
			.set = snap->steer,
			.removed = snap->removed,
			.health = l ? &l->health : NULL,
			.admin = l ? l->admin : NULL,
			.geo = snap->geo,
			.latency = l ? l->latency : snap->latency0,
		};
		v->sv.steer = &v->steer;
	}
	struct daemon_view *old = root->cur;
	root->cur = v;
	rcu_assign_pointer(root->rcu, &v->sv);
	view_retire(root, old);
	return 0;
}

void view_root_free(struct view_root *root)
{
	view_free(root->cur);
	root->cur = NULL;
	root->rcu = NULL;
}
