/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "lib/dname.h"
#include "server/ctl.h"
#include "server/dnstap.h"
#include "server/events.h"
#include "server/health.h"
#include "server/http.h"
#include "server/live.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/notify.h"
#include "server/privdrop.h"
#include "server/server.h"
#include "server/tcp.h"
#include "server/udp.h"

const char *server_zone_fqdn(const struct zone_state *st, char *buf, size_t size)
{
	if (st->zone)
		return dname_to_str(st->zone->apex, buf, size);
	uint8_t apex[DNAME_MAXLEN];
	if (dname_from_str(st->name, NULL, apex) > 0)
		return dname_to_str(apex, buf, size);
	snprintf(buf, size, "%s", st->name);
	return buf;
}

json_t *server_stats_json(struct server *srv)
{
	struct srv_stats *blocks[1 + 64 * 64];
	unsigned n = udp_stats(srv->udp, blocks, sizeof(blocks) / sizeof(blocks[0]) - 1);
	if (srv->tcp)
		blocks[n++] = tcp_stats(srv->tcp);
	json_t *out = stats_to_json(blocks, n);
	if (out && stats_steer_json(out, blocks, n, srv->snap) != 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* All-down fallbacks are counted per thread on the query path and logged
 * here, at most once a second per service, so an outage cannot flood the
 * log from the hot path. */
static void fallback_log_cb(uv_timer_t *t)
{
	struct server *srv = t->data;
	struct srv_stats *blocks[1 + 64 * 64];
	unsigned n = udp_stats(srv->udp, blocks, sizeof(blocks) / sizeof(blocks[0]) - 1);
	if (srv->tcp)
		blocks[n++] = tcp_stats(srv->tcp);
	uint64_t before[STATS_MAX_SERVICES];
	memcpy(before, srv->fallback_last, sizeof(before));
	stats_log_fallbacks(blocks, n, srv->snap, srv->fallback_last);
	metrics_fallback_events(srv, before);
}

/* ---- live states: publish (loop), free after a grace period (threadpool) ---- */

struct live_retire {
	uv_work_t work;
	struct live_state *l;
};

static void retire_work(uv_work_t *req)
{
	/* Waits for UDP workers only; the loop thread is not blocked. */
	synchronize_rcu();
}

static void retire_after(uv_work_t *req, int status)
{
	struct live_retire *r = req->data;
	live_free(r->l);
	free(r);
}

static void live_retire(struct server *srv, struct live_state *l)
{
	if (l == NULL)
		return;
	if (l == srv->live_pinned) {
		srv->pinned_retired = true;   /* a reload build still reads it */
		return;
	}
	struct live_retire *r = malloc(sizeof(*r));
	if (r == NULL)
		return;   /* leak rather than free in use */
	r->l = l;
	r->work.data = r;
	if (uv_queue_work(&srv->loop, &r->work, retire_work, retire_after) < 0)
		free(r);
}

void server_live_publish(struct server *srv, struct live_state *l)
{
	struct live_state *old = srv->live;
	rcu_assign_pointer(srv->live, l);
	live_retire(srv, old);
}

const struct live_state *server_live_for(const struct server *srv,
					 const struct vane_snapshot *snap)
{
	if (srv->live && srv->live->snap == snap)
		return srv->live;
	return snap->live0;
}

static void live_unpin(struct server *srv)
{
	struct live_state *l = (struct live_state *)srv->live_pinned;
	srv->live_pinned = NULL;
	if (srv->pinned_retired) {
		srv->pinned_retired = false;
		live_retire(srv, l);
	}
}

/* ---- reload: build (threadpool) -> swap (loop) -> free old (threadpool) ---- */

static void reload_start(struct server *srv);

static bool listen_changed(const struct vane_conf *a, const struct vane_conf *b)
{
	if (a->nlisten != b->nlisten)
		return true;
	for (unsigned i = 0; i < a->nlisten; i++)
		if (strcmp(a->listen[i].text, b->listen[i].text) != 0)
			return true;
	return false;
}

/* Warn about settings that only take effect on restart. */
static void warn_restart(const struct vane_conf *boot, const struct vane_conf *now)
{
	if (listen_changed(boot, now))
		log_warning("server.listen changed; restart vaned to apply it");
	if (boot->udp_workers != now->udp_workers)
		log_warning("server.udp-workers changed; restart vaned to apply it");
	if (strcmp(boot->control, now->control) != 0)
		log_warning("server.control changed; restart vaned to apply it");
}

static json_t *reload_result(const struct server *srv, const struct vane_snapshot *snap,
			     const char *conf_err)
{
	json_t *res = json_object();
	json_t *zones = json_array();
	char name[DNAME_MAXSTR];
	char first[1200] = "";
	unsigned failed = 0;
	for (unsigned i = 0; i < snap->nzones; i++) {
		const struct zone_state *st = &snap->zones[i];
		const char *fq = server_zone_fqdn(st, name, sizeof(name));
		/* After a config failure nothing was reloaded: report what serves. */
		enum zone_load_status zs = st->status;
		if (conf_err && st->zone)
			zs = ZS_UNCHANGED;
		json_t *e = json_pack("{s:s,s:s}", "name", fq, "status", zone_load_status_name(zs));
		json_object_set_new(e, "serial", st->zone ? json_integer(st->zone->serial)
							  : json_null());
		if (zs == ZS_FAILED) {
			json_object_set_new(e, "error", json_string(st->error));
			if (failed++ == 0)
				snprintf(first, sizeof(first), "%s: %s", fq, st->error);
		}
		json_array_append_new(zones, e);
	}
	json_object_set_new(res, "zones", zones);
	if (conf_err) {
		json_object_set_new(res, "ok", json_false());
		json_object_set_new(res, "error", json_string(conf_err));
	} else if (failed) {
		char msg[1400];
		if (failed > 1)
			snprintf(msg, sizeof(msg), "%u zones failed to load; first: %s", failed, first);
		else
			snprintf(msg, sizeof(msg), "zone failed to load: %s", first);
		json_object_set_new(res, "ok", json_false());
		json_object_set_new(res, "error", json_string(msg));
	} else {
		json_object_set_new(res, "ok", json_true());
	}
	return res;
}

static void reload_finish(struct server *srv)
{
	struct reload_waiter *w = srv->waiting;
	json_t *res = srv->reload_res;
	events_reload(srv->events, res);
	srv->waiting = NULL;
	srv->reload_res = NULL;
	srv->reload_busy = false;
	if (!srv->stopping)
		notify_ready(json_is_true(json_object_get(res, "ok")) ? "serving, reloaded"
									: "serving, reload failed");
	while (w) {
		struct reload_waiter *next = w->next;
		w->done(w, res);
		w = next;
	}
	json_decref(res);
	if (srv->reload_again && !srv->stopping)
		reload_start(srv);
}

static void free_work(uv_work_t *req)
{
	struct server *srv = req->data;
	/* Wait until no UDP worker can still see the old snapshot. */
	synchronize_rcu();
	snapshot_free(srv->reload_old);
}

static void free_after(uv_work_t *req, int status)
{
	struct server *srv = req->data;
	srv->reload_old = NULL;
	reload_finish(srv);
}

static void build_work(uv_work_t *req)
{
	struct server *srv = req->data;
	/* srv->snap changes only on the loop thread after this work ends. */
	if (snapshot_build_live(srv->conf_path, srv->snap, srv->live_pinned, &srv->reload_new,
				&srv->reload_err) != 0)
		srv->reload_new = NULL;
}

static void build_after(uv_work_t *req, int status)
{
	struct server *srv = req->data;
	struct vane_snapshot *snap = srv->reload_new;
	srv->reload_new = NULL;
	live_unpin(srv);

	if (snap == NULL) {
		log_error("reload failed, keeping the running configuration: %s",
			  srv->reload_err ? srv->reload_err : "error");
		srv->reload_res = reload_result(srv, srv->snap, srv->reload_err ? srv->reload_err
										 : "reload failed");
		free(srv->reload_err);
		srv->reload_err = NULL;
		reload_finish(srv);
		return;
	}

	log_set_level_name(snap->conf->log_level);
	warn_restart(srv->boot_conf, snap->conf);
	srv->reload_res = reload_result(srv, snap, NULL);
	srv->reload_old = srv->snap;
	rcu_assign_pointer(srv->snap, snap);
	log_info("reloaded: %u zones serving, %u failed", snap->nserving, snap->nfailed);
	/* Health and admin state follow by name; probes are re-synced. */
	if (srv->rt)
		live_rt_adopt(srv->rt, snap);

	srv->reload_work.data = srv;
	if (uv_queue_work(&srv->loop, &srv->reload_work, free_work, free_after) < 0) {
		/* Cannot happen with a live loop; leak rather than free in use. */
		srv->reload_old = NULL;
		reload_finish(srv);
	}
}

static void reload_start(struct server *srv)
{
	srv->reload_busy = true;
	srv->reload_again = false;
	srv->waiting = srv->queued;
	srv->queued = NULL;
	log_info("reloading %s", srv->conf_path);
	notify_reloading();
	srv->reload_work.data = srv;
	srv->live_pinned = srv->live;
	if (uv_queue_work(&srv->loop, &srv->reload_work, build_work, build_after) < 0) {
		live_unpin(srv);
		srv->reload_res = json_pack("{s:b,s:s}", "ok", 0, "error", "cannot queue reload");
		reload_finish(srv);
	}
}

void server_reload(struct server *srv, struct reload_waiter *w)
{
	if (srv->stopping) {
		if (w) {
			json_t *res = json_pack("{s:b,s:s}", "ok", 0, "error", "server is stopping");
			w->done(w, res);
			json_decref(res);
		}
		return;
	}
	/* A reload asked for during another one reads the config again after
	 * it, so it sees every change made before it was asked. */
	if (w) {
		w->next = srv->queued;
		srv->queued = w;
	}
	if (srv->reload_busy)
		srv->reload_again = true;
	else
		reload_start(srv);
}

static bool unlink_waiter(struct reload_waiter **list, struct reload_waiter *w)
{
	for (struct reload_waiter **p = list; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			return true;
		}
	}
	return false;
}

void server_reload_cancel(struct server *srv, struct reload_waiter *w)
{
	if (!unlink_waiter(&srv->queued, w))
		unlink_waiter(&srv->waiting, w);
}

/* ---- signals and stop ---- */

void server_stop(struct server *srv)
{
	if (srv->stopping)
		return;
	srv->stopping = true;
	log_info("stopping");
	notify_stopping();
	srv->reload_again = false;
	/* Reloads queued behind a running one will not start now: answer their
	 * waiters, or an HTTP request would stay suspended forever. */
	struct reload_waiter *w = srv->queued;
	srv->queued = NULL;
	if (w) {
		json_t *res = json_pack("{s:b, s:s}", "ok", 0, "error", "server is stopping");
		while (w) {
			struct reload_waiter *next = w->next;
			w->done(w, res);
			w = next;
		}
		json_decref(res);
	}
	tcp_close(srv->tcp);
	ctl_close(srv->ctl);
	http_close(srv->http);
	live_rt_close(srv->rt);
	if (srv->signals_on) {
		uv_close((uv_handle_t *)&srv->fallback_timer, NULL);
		uv_close((uv_handle_t *)&srv->sig_hup, NULL);
		uv_close((uv_handle_t *)&srv->sig_term, NULL);
		uv_close((uv_handle_t *)&srv->sig_int, NULL);
	}
}

static void signal_cb(uv_signal_t *h, int signum)
{
	struct server *srv = h->data;
	if (signum == SIGHUP) {
		log_info("SIGHUP: reload");
		server_reload(srv, NULL);
	} else {
		log_info("%s: stop", signum == SIGTERM ? "SIGTERM" : "SIGINT");
		server_stop(srv);
	}
}

static void signals_init(struct server *srv)
{
	uv_signal_init(&srv->loop, &srv->sig_hup);
	uv_signal_init(&srv->loop, &srv->sig_term);
	uv_signal_init(&srv->loop, &srv->sig_int);
	srv->sig_hup.data = srv->sig_term.data = srv->sig_int.data = srv;
	uv_signal_start(&srv->sig_hup, signal_cb, SIGHUP);
	uv_signal_start(&srv->sig_term, signal_cb, SIGTERM);
	uv_signal_start(&srv->sig_int, signal_cb, SIGINT);
	uv_timer_init(&srv->loop, &srv->fallback_timer);
	srv->fallback_timer.data = srv;
	uv_timer_start(&srv->fallback_timer, fallback_log_cb, 1000, 1000);
	srv->signals_on = true;
}

/* ---- main ---- */

/* Health probes, TCP clients and zone files all hold descriptors: take the
 * whole hard limit (the soft default, often 1024, is too small for
 * thousands of checks). */
static void nofile_raise(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur != rl.rlim_max) {
		rlim_t was = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			log_warning("cannot raise the open files limit from %llu: %s",
				    (unsigned long long)was, strerror(errno));
			return;
		}
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		log_info("open files limit: unlimited");
	else
		log_info("open files limit: %llu", (unsigned long long)rl.rlim_cur);
}

static int server_init(struct server *srv, const char *path)
{
	char *err = NULL;
	srv->conf_path = realpath(path, NULL);
	if (srv->conf_path == NULL) {
		int ret = -errno;
		log_error("%s: %s", path, vane_strerror(ret));
		return ret;
	}
	/* A private copy of the config as started, to detect restart-only
	 * changes; read first so the zone loads already log to server.log. */
	if (conf_load(srv->conf_path, NULL, NULL, &srv->boot_conf) != 0)
		return VANE_EINVAL;
	log_set_level_name(srv->boot_conf->log_level);
	log_set_target(srv->boot_conf->log_target);
	int ret = snapshot_build_live(srv->conf_path, NULL, NULL, &srv->snap, &err);
	if (ret != 0) {
		log_error("cannot start: %s", err ? err : vane_strerror(ret));
		free(err);
		return ret;
	}
	log_set_level_name(srv->snap->conf->log_level);
	log_info("loaded %s: %u zones serving, %u failed", srv->conf_path,
		 srv->snap->nserving, srv->snap->nfailed);
	return 0;
}

int server_main(const char *path)
{
	struct server srv_storage;
	struct server *srv = &srv_storage;
	memset(srv, 0, sizeof(*srv));
	srv->started = time(NULL);
	signal(SIGPIPE, SIG_IGN);
	int status = 1;
	struct dnstap *dt = NULL;
	notify_init();

	if (uv_loop_init(&srv->loop) < 0)
		return 1;
	if (server_init(srv, path) != 0)
		goto out;
	nofile_raise();   /* after server_init: the log goes to its target */

	const struct vane_conf *conf = srv->boot_conf;
	srv->events = events_new();
	/* One dnstap queue per UDP worker, and the last one for TCP. */
	if (dnstap_open(conf, conf->nlisten * conf->udp_workers + 1, &dt) != 0)
		goto out;
	dnstap_set_current(dt);
	/* Probes start now (first probe at once); publishes srv->live.  The
	 * privileges go once every socket is bound (server.user). */
	if (live_rt_start(srv, &srv->rt) != 0 ||
	    ctl_start(srv, conf->control, &srv->ctl) != 0 ||
	    http_start(srv, conf, &srv->http) != 0 ||
	    tcp_start(srv, conf, &srv->tcp) != 0 ||
	    udp_start(srv, conf, &srv->udp) != 0 ||
	    (conf->user && privdrop(conf->user, conf->control, conf->state_dir) != 0)) {
		server_stop(srv);   /* srv->stopping is set: signals unused */
		uv_run(&srv->loop, UV_RUN_DEFAULT);
		goto out;
	}
	signals_init(srv);
	log_info("vaned started, pid %d", (int)getpid());
	notify_ready("serving");

	uv_run(&srv->loop, UV_RUN_DEFAULT);
	status = 0;
	log_info("stopped");
out:
	udp_stop(srv->udp);
	srv->udp = NULL;
	http_free(srv->http);   /* joins the HTTP thread */
	tcp_free(srv->tcp);
	dnstap_set_current(NULL);
	dnstap_close(dt);   /* after every tap stopped */
	ctl_free(srv->ctl);
	live_rt_free(srv->rt);
	live_free(srv->live);   /* no reader left */
	events_free(srv->events);
	if (uv_loop_close(&srv->loop) != 0)
		log_debug("loop closed with handles open");
	snapshot_free(srv->snap);
	if (srv->boot_conf)
		conf_free(srv->boot_conf);
	free(srv->conf_path);
	return status;
}
