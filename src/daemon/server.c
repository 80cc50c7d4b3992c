/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "conf/schema.h"
#include "ctl/http.h"
#include "daemon/export.h"
#include "daemon/secondary.h"
#include "daemon/server.h"
#include "ops/state.h"
#include "lib/dname.h"
#include "rt/clock.h"
#include "rt/log.h"
#include "rt/notify.h"
#include "rt/privdrop.h"
#include "serve/dnstap.h"
#include "serve/notify.h"
#include "serve/tcp.h"
#include "serve/udp.h"
#include "lib/wire.h"
#include "zone/zonemd.h"
#include "vane_version.h"

unsigned server_stat_blocks(struct server *srv, struct srv_stats **blocks, unsigned max)
{
	unsigned n = udp_stats(srv->udp, blocks, max - 1);
	if (srv->tcp)
		blocks[n++] = tcp_stats(srv->tcp);
	return n;
}

/* The apex ZONEMD (RFC 8976), vaned's own or the zone file's, for zone-status. */
static void zone_row_zonemd(const struct zone *z, struct ctl_zone_row *r)
{
	const struct rrset *md = znode_rrset(z->apex_node, ZONEMD_TYPE);
	if (!md || md->count < 1 || md->rdata_len < 8)
		return;
	unsigned len = wire_get_u16(md->rdata);
	if (len < 6 || 2u + len > md->rdata_len)
		return;
	r->zonemd_scheme = md->rdata[6];
	r->zonemd_hash = md->rdata[7];
	for (unsigned i = 0; i < len - 6 && 2 * i + 2 < sizeof(r->zonemd); i++)
		snprintf(r->zonemd + 2 * i, 3, "%02x", md->rdata[8 + i]);
}

void server_zone_rows(const struct server *srv, struct ctl_zone_row *rows,
		      char (*names)[DNAME_MAXSTR])
{
	const struct vane_snapshot *snap = srv->snap;
	for (unsigned i = 0; i < snap->nzones; i++) {
		const struct zone_state *st = &snap->zones[i];
		struct ctl_zone_row *r = &rows[i];
		memset(r, 0, sizeof(*r));
		r->name = snapshot_zone_fqdn(st, names[i], DNAME_MAXSTR);
		r->file = st->file;
		r->load = zone_load_status_name(st->status);
		r->failed = st->status == ZS_FAILED;
		r->serving = st->zone != NULL;
		r->error = st->error;
		struct secondary_info si;
		if (secondaries_info(srv->secondaries, st->name, &si)) {
			r->secondary = true;
			r->primary = si.primary;
			r->sec_have_serial = si.have_serial;
			r->sec_serial = si.serial;
			r->last_refresh = si.last_refresh;
			r->expires_in = si.expires_in;
			r->expired = si.expired;
			r->last_error = si.last_error;
			r->transfers = si.transfers;
			r->refresh_failures = si.failures;
		} else if (snap->conf->zones[i].nprimary) {
			r->secondary = true;   /* at start, before the first sync */
		}
		if (st->zone) {
			const struct xfr_zone *xz = xfr_set_find(snap->xfr, st->zone->apex);
			/* The serial answered and transferred (export: healthy moves
			 * it past the file's). */
			r->serial = xz ? xfr_zone_serial(xz) : st->zone->serial;
			r->file_serial = st->zone->serial;
			r->records = st->zone->nrecords;
			r->loaded_at = st->zone->loaded_at;
			zone_row_zonemd(st->zone, r);
			if (xz)
				r->nsec = notifier_peers(srv->notifier, xz->name, r->sec,
							 CTL_MAX_SECONDARIES);
		}
	}
}

/* All-down fallbacks are counted per thread on the query path and logged
 * here, at most once a second per service, so an outage cannot flood the
 * log from the hot path. */
static void fallback_log_cb(uv_timer_t *t)
{
	struct server *srv = t->data;
	struct srv_stats *blocks[1 + 64 * 64];
	unsigned n = server_stat_blocks(srv, blocks, sizeof(blocks) / sizeof(blocks[0]));
	uint64_t before[STATS_MAX_SERVICES];
	memcpy(before, srv->fallback_last, sizeof(before));
	const struct serve_view *view = &srv->view.cur->sv;
	stats_log_fallbacks(blocks, n, view, srv->fallback_last);
	stats_log_all_drained(blocks, n, view, srv->all_drained_last);
	stats_note_queried(blocks, n, srv->steered_last, srv->svc_queried_ms, rt_now_ms());
	const struct steer_set *set = srv->snap->steer;
	char name[DNAME_MAXSTR];
	for (uint32_t s = 0; set && s < set->n; s++) {
		uint16_t k = srv->snap->stat_slots[s].svc;
		if (k == SERVE_NO_SLOT || srv->fallback_last[k] <= before[k])
			continue;
		events_add(srv->ops->events, EV_FALLBACK, live_service_name(&set->svc[s], name,
									    sizeof(name)),
			   NULL, "all-down: %llu fallbacks (%s)",
			   (unsigned long long)(srv->fallback_last[k] - before[k]),
			   steer_all_down_name(set->svc[s].all_down));
	}
}

/* ops/ published a new live state: pair it with the serving snapshot. */
static void ops_publish(void *ctx, struct live_state *l)
{
	struct server *srv = ctx;
	if (view_publish(&srv->view, srv->snap, l) != 0)
		log_error("steering state not published: out of memory");
	/* Every published change (health, verbs, ramp steps, reloads) is one
	 * for the second providers too: translated here, pushed off the loop. */
	provider_update(srv->providers, srv->snap->conf, srv->ops);
}

/* Tell the notifier the serial and targets of every zone now serving; it
 * sends a NOTIFY where the serial moved (RFC 1996). */
static void server_notify(struct server *srv)
{
	const struct vane_snapshot *snap = srv->snap;
	if (!srv->notifier)
		return;
	notifier_begin(srv->notifier);
	for (unsigned i = 0; i < snap->nzones; i++) {
		const struct conf_zone *cz = &snap->conf->zones[i];
		const struct zone *z = snap->zones[i].zone;
		const struct xfr_zone *xz = z ? xfr_set_find(snap->xfr, z->apex) : NULL;
		if (!xz || !cz->nnotify)
			continue;
		struct notify_target t[64];
		unsigned nt = 0;
		for (unsigned j = 0; j < cz->nnotify && nt < 64; j++) {
			const struct conf_listen *l = &cz->notify[j].address;
			t[nt] = (struct notify_target){ .addr = l->addr, .addrlen = l->addrlen,
							.text = l->text };
			if (cz->notify[j].key_index >= 0)
				t[nt].key = &snap->xfr->keys[cz->notify[j].key_index];
			/* Else the key this secondary transfers with signs its NOTIFY. */
			for (unsigned a = 0; a < xz->nacl && !t[nt].key; a++) {
				if (xz->acl[a].key >= 0 &&
				    xfr_acl_match(&xz->acl[a], (const struct sockaddr *)&l->addr)) {
					t[nt].key = &snap->xfr->keys[xz->acl[a].key];
					break;
				}
			}
			nt++;
		}
		notifier_zone(srv->notifier, xz->name, z->apex, xfr_zone_serial(xz), t, nt);
	}
	notifier_end(srv->notifier);
}

/* export: healthy: a new version of each zone whose exported endpoints
 * changed, at most once per export-interval; never while a reload builds
 * from the serving snapshot (it reads the same transfer entries). */
static void export_cb(uv_timer_t *t)
{
	struct server *srv = t->data;
	const struct daemon_view *v = srv->view.cur;
	if (srv->reload_busy || srv->stopping || !v || v->snap != srv->snap)
		return;
	const struct live_state *live = v->live ? v->live : srv->snap->live0;
	if (export_refresh(&srv->loop, srv->snap, live, rt_now_ms()) > 0) {
		export_save(srv->snap);
		server_notify(srv);
	}
}

/* (Re)start the export timer for the serving snapshot's zones. */
static void export_timer_set(struct server *srv)
{
	uint64_t ms = export_tick_ms(srv->snap);
	if (ms)
		uv_timer_start(&srv->export_timer, export_cb, ms, ms);
	else
		uv_timer_stop(&srv->export_timer);
}

/* ---- reload: build (threadpool) -> swap (loop) -> free old (threadpool) ---- */

/* What the deletion guard needs from the loop thread: when each serving
 * service was last answered, sampled now so the window is up to date. */
static void guard_prepare(struct server *srv)
{
	const struct vane_snapshot *old = srv->snap;
	uint64_t now = rt_now_ms();
	struct srv_stats *blocks[1 + 64 * 64];
	unsigned n = server_stat_blocks(srv, blocks, sizeof(blocks) / sizeof(blocks[0]));
	stats_note_queried(blocks, n, srv->steered_last, srv->svc_queried_ms, now);
	free(srv->reload_queried);
	srv->reload_queried = NULL;
	if (old->steer && old->stat_slots && old->steer->n > 0 &&
	    (srv->reload_queried = calloc(old->steer->n, sizeof(uint64_t))) != NULL) {
		for (uint32_t s = 0; s < old->steer->n; s++) {
			uint16_t k = old->stat_slots[s].svc;
			srv->reload_queried[s] = k == SERVE_NO_SLOT ? 0 : srv->svc_queried_ms[k];
		}
	}
	srv->reload_guard = (struct guard_ctx){ .now_ms = now,
						.svc_queried_ms = srv->reload_queried };
}

static void reload_start(struct server *srv);

static void restart_warn(void *ctx, const char *key)
{
	log_warning("%s changed; restart vaned to apply it", key);
}

/* Warn about settings that only take effect on restart (CONF_RESTART in
 * the schema: the same list vaned.conf(5) shows). */
static void warn_restart(const struct vane_conf *boot, const struct vane_conf *now)
{
	conf_restart_changes(&conf_schema_root, boot, now, restart_warn, NULL);
}

/* Answer the waiters of the reload that just ended with `res` (borrowed). */
static void reload_answer(struct reload_waiter *w, json_t *res)
{
	while (w) {
		struct reload_waiter *next = w->next;
		w->client->on_gone = NULL;
		w->client->pending = NULL;
		ctl_reply(w->client, json_deep_copy(res));
		free(w);
		w = next;
	}
}

static void reload_finish(struct server *srv, const char *conf_err)
{
	struct ctl_zone_row *rows = calloc(srv->snap->nzones + 1, sizeof(*rows));
	char (*names)[DNAME_MAXSTR] = calloc(srv->snap->nzones + 1, DNAME_MAXSTR);
	json_t *res = NULL;
	if (rows && names) {
		server_zone_rows(srv, rows, names);
		res = encode_reload(rows, srv->snap->nzones, conf_err);
	}
	free(rows);
	free(names);
	if (res == NULL)
		res = ctl_error_json(VANE_ENOMEM, "out of memory");
	bool ok = json_is_true(json_object_get(res, "ok"));
	events_reload(srv->ops->events, ok, json_string_value(json_object_get(res, "error")));
	struct reload_waiter *w = srv->waiting;
	srv->waiting = NULL;
	srv->reload_busy = false;
	if (!srv->stopping)
		notify_ready(ok ? "serving, reloaded" : "serving, reload failed");
	reload_answer(w, res);
	json_decref(res);
	if (srv->reload_again && !srv->stopping)
		reload_start(srv);
}

static void free_work(uv_work_t *req)
{
	struct server *srv = req->data;
	/* Wait until no UDP worker can still see a view of the old snapshot. */
	synchronize_rcu();
	snapshot_free(srv->reload_old);
	/* Zone data lives in mmap'd chunks (zone/mem.c) and is unmapped
	 * above; what the rest of the snapshot freed (indexes, services, the
	 * config) sits in malloc's arenas until trimmed, so RSS after many
	 * reloads stays where it was after the first (tests/integration/
	 * test_memory.py). */
	malloc_trim(0);
}

static void free_after(uv_work_t *req, int status)
{
	struct server *srv = req->data;
	srv->reload_old = NULL;
	reload_finish(srv, NULL);
}

static void build_work(uv_work_t *req)
{
	struct server *srv = req->data;
	/* srv->snap changes only on the loop thread after this work ends. */
	struct snapshot_opts opts = { .prev = srv->reload_prev, .force = srv->reload_force,
				      .guard = &srv->reload_guard };
	if (snapshot_build(srv->conf_path, srv->snap, &opts, &srv->reload_new, &srv->reload_err) != 0)
		srv->reload_new = NULL;
}

static void build_after(uv_work_t *req, int status)
{
	struct server *srv = req->data;
	struct vane_snapshot *snap = srv->reload_new;
	srv->reload_new = NULL;
	live_free(srv->reload_prev);
	srv->reload_prev = NULL;
	free(srv->reload_queried);
	srv->reload_queried = NULL;

	if (snap == NULL) {
		log_error("reload failed, keeping the running configuration: %s",
			  srv->reload_err ? srv->reload_err : "error");
		char *err = srv->reload_err;
		srv->reload_err = NULL;
		reload_finish(srv, err ? err : "reload failed");
		free(err);
		return;
	}

	/* The operator runtime follows first; it publishes the new view
	 * (this snapshot with the state carried by name) before returning. */
	struct vane_snapshot *old = srv->snap;
	srv->snap = snap;
	export_serve(&srv->loop, snap);   /* the SOA serial of the new versions */
	if (ops_adopt(srv->ops, &snap->layout) != 0) {
		srv->snap = old;
		export_serve(&srv->loop, old);
		snapshot_free(snap);   /* nobody saw it */
		reload_finish(srv, "out of memory adopting the new configuration");
		return;
	}
	log_set_level_name(snap->conf->log_level);
	if (srv->fleet)
		fleet_config_changed(srv->fleet, snap->conf);
	warn_restart(srv->boot_conf, snap->conf);
	log_info("reloaded: %u zones serving, %u failed", snap->nserving, snap->nfailed);
	server_notify(srv);
	export_save(snap);
	if (srv->signals_on)
		export_timer_set(srv);
	secondaries_sync(srv->secondaries, snap);
	srv->reload_old = old;
	srv->reload_work.data = srv;
	if (uv_queue_work(&srv->loop, &srv->reload_work, free_work, free_after) < 0) {
		/* Cannot happen with a live loop; leak rather than free in use. */
		srv->reload_old = NULL;
		reload_finish(srv, NULL);
	}
}

static void reload_start(struct server *srv)
{
	srv->reload_busy = true;
	srv->reload_again = false;
	srv->reload_force = srv->force_next;
	srv->force_next = false;
	srv->waiting = srv->queued;
	srv->queued = NULL;
	log_info("reloading %s", srv->conf_path);
	notify_reloading();
	/* The build carries state from a private copy: the live state in
	 * service may be replaced while it runs. */
	srv->reload_prev = live_clone(srv->ops->work);
	guard_prepare(srv);
	srv->reload_work.data = srv;
	if (srv->reload_prev == NULL ||
	    uv_queue_work(&srv->loop, &srv->reload_work, build_work, build_after) < 0) {
		live_free(srv->reload_prev);
		srv->reload_prev = NULL;
		free(srv->reload_queried);
		srv->reload_queried = NULL;
		reload_finish(srv, "cannot start the reload: out of memory");
	}
}

/* The client went away while waiting: forget it. */
static void waiter_gone(struct ctl_client *c)
{
	struct server *srv = c->pending;
	struct reload_waiter **lists[] = { &srv->queued, &srv->waiting };
	for (unsigned i = 0; i < 2; i++) {
		for (struct reload_waiter **p = lists[i]; *p; p = &(*p)->next) {
			if ((*p)->client == c) {
				struct reload_waiter *w = *p;
				*p = w->next;
				free(w);
				return;
			}
		}
	}
}

void server_reload(struct server *srv, struct ctl_client *c, bool force)
{
	if (srv->stopping) {
		if (c)
			ctl_fail(c, VANE_EAGAIN, "server is stopping");
		return;
	}
	/* A reload asked for during another one reads the config again after
	 * it, so it sees every change made before it was asked. */
	if (c) {
		struct reload_waiter *w = calloc(1, sizeof(*w));
		if (w == NULL) {
			ctl_fail(c, VANE_ENOMEM, "out of memory");
			return;
		}
		w->client = c;
		w->next = srv->queued;
		srv->queued = w;
		c->pending = srv;
		c->on_gone = waiter_gone;
	}
	/* A forced reload merged with others forces the one they share. */
	srv->force_next |= force;
	if (srv->reload_busy)
		srv->reload_again = true;
	else
		reload_start(srv);
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
		json_t *res = ctl_error_json(VANE_EAGAIN, "server is stopping");
		reload_answer(w, res);
		json_decref(res);
	}
	anycast_close(srv->anycast);
	srv->anycast = NULL;
	tcp_close(srv->tcp);
	notifier_close(srv->notifier);
	secondaries_close(srv->secondaries);
	ctl_sock_close(srv->ctl);
	http_close(srv->http);
	fleet_close(srv->fleet);   /* joins its thread: no change arrives after this */
	provider_close(srv->providers);
	ops_close(srv->ops);
	if (srv->signals_on) {
		uv_close((uv_handle_t *)&srv->fallback_timer, NULL);
		uv_close((uv_handle_t *)&srv->export_timer, NULL);
		uv_close((uv_handle_t *)&srv->sig_hup, NULL);
		uv_close((uv_handle_t *)&srv->sig_term, NULL);
		uv_close((uv_handle_t *)&srv->sig_int, NULL);
	}
}

/* A secondary zone saved a new version: load it like any zone change. */
static void reload_cb(void *ctx)
{
	server_reload(ctx, NULL, false);
}

static void drained_cb(void *ctx)
{
	server_stop(ctx);
}

void server_request_stop(struct server *srv)
{
	if (srv->stopping)
		return;
	if (srv->anycast == NULL || srv->draining) {
		server_stop(srv);
		return;
	}
	/* Withdraw first and keep answering while the routers converge: the
	 * queries already on their way here still get answers. */
	srv->draining = true;
	notify_stopping();
	anycast_stop(srv->anycast, drained_cb, srv);
}

static void signal_cb(uv_signal_t *h, int signum)
{
	struct server *srv = h->data;
	if (signum == SIGHUP) {
		log_info("SIGHUP: reload");
		server_reload(srv, NULL, false);
	} else {
		log_info("%s: stop", signum == SIGTERM ? "SIGTERM" : "SIGINT");
		server_request_stop(srv);
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
	uv_timer_init(&srv->loop, &srv->export_timer);
	srv->export_timer.data = srv;
	export_timer_set(srv);
	srv->signals_on = true;
}

/* ---- main ---- */

/* A corrupt state.json would start every endpoint undrained, silently
 * undoing the operators' drains: refuse, unless told to (--ignore-state),
 * and then keep the corrupt file aside as state.json.corrupt so that
 * state.json.bak (the previous state) is not overwritten by it. */
static int state_check(const char *dir, bool ignore_state)
{
	struct saved_state *st = NULL;
	char *err = NULL, path[4096], aside[4200];
	int ret = state_load(dir, &st, &err);
	state_free(st);
	if (ret == 0)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE);
	if (!ignore_state) {
		log_error("cannot start: %s: %s; the operators' drains and weights would be lost. "
			  "Fix or remove it (%s.bak holds the previous state), or start with "
			  "--ignore-state", path, err ? err : vane_strerror(ret), path);
		free(err);
		return ret;
	}
	snprintf(aside, sizeof(aside), "%s.corrupt", path);
	log_warning("%s: %s; --ignore-state: starting without saved state, the file is kept "
		    "as %s", path, err ? err : vane_strerror(ret), aside);
	free(err);
	if (rename(path, aside) < 0) {
		log_error("%s: cannot move it aside: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int server_init(struct server *srv, const char *path, bool ignore_state)
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
	int ret = state_check(srv->boot_conf->state_dir, ignore_state);
	if (ret != 0)
		return ret;
	ret = snapshot_build(srv->conf_path, NULL, NULL, &srv->snap, &err);
	if (ret != 0) {
		log_error("cannot start: %s", err ? err : vane_strerror(ret));
		free(err);
		return ret;
	}
	log_set_level_name(srv->snap->conf->log_level);
	export_serve(&srv->loop, srv->snap);
	log_info("loaded %s: %u zones serving, %u failed", srv->conf_path,
		 srv->snap->nserving, srv->snap->nfailed);
	return 0;
}

static void stop_cb(void *ctx)
{
	server_request_stop(ctx);
}

static struct events *ops_events(void *ctx)
{
	struct server *srv = ctx;
	return srv->ops ? srv->ops->events : NULL;
}

/* The anycast soft check: every zone of the serving snapshot loaded. */
static bool zones_ok(void *ctx, char *why, size_t size)
{
	struct server *srv = ctx;
	const struct vane_snapshot *snap = srv->snap;
	if (snap->nfailed == 0)
		return true;
	char name[DNAME_MAXSTR];
	for (unsigned i = 0; i < snap->nzones; i++) {
		if (snap->zones[i].status == ZS_FAILED) {
			snprintf(why, size, "zone %s failed to load%s%s",
				 snapshot_zone_fqdn(&snap->zones[i], name, sizeof(name)),
				 snap->zones[i].error ? ": " : "",
				 snap->zones[i].error ? snap->zones[i].error : "");
			return false;
		}
	}
	snprintf(why, size, "%u zones failed to load", snap->nfailed);
	return false;
}

static int cluster_peers(void *ctx)
{
	struct server *srv = ctx;
	return srv->fleet ? fleet_anycast_peers(srv->fleet) : -1;
}

static void anycast_state_changed(void *ctx, bool announced, bool healthy)
{
	struct server *srv = ctx;
	if (srv->fleet)
		fleet_set_anycast(srv->fleet, announced, healthy);
}

static int start_fleet(struct server *srv)
{
	const struct vane_conf *conf = srv->boot_conf;
	struct fleet_conf fc = {
		.name = conf->cluster_name, .node = conf->cluster_node, .etcd = conf->cluster_etcd,
		.netcd = conf->ncluster_etcd, .lease_ms = conf->cluster_lease_ms,
		.conf = srv->snap->conf, .version = VANE_VERSION, .state_dir = conf->state_dir,
		.cert = conf->cluster_cert, .key = conf->cluster_key, .ca = conf->cluster_ca,
	};
	return fleet_start(&srv->loop, &fc, srv->ops, &srv->fleet);
}

int server_main(const char *path, bool ignore_state, void (*commands)(struct server *srv))
{
	struct server srv_storage;
	struct server *srv = &srv_storage;
	memset(srv, 0, sizeof(*srv));
	srv->started = time(NULL);
	rt_malloc_arenas();
	signal(SIGPIPE, SIG_IGN);
	int status = 1;
	struct dnstap *dt = NULL;
	notify_init();

	if (uv_loop_init(&srv->loop) < 0)
		return 1;
	srv->view.loop = &srv->loop;
	if (server_init(srv, path, ignore_state) != 0)
		goto out;
	rt_nofile_raise();   /* after server_init: the log goes to its target */

	const struct vane_conf *conf = srv->boot_conf;
	commands(srv);
	srv->host.stop = stop_cb;
	struct ops_hooks oh = { .ctx = srv, .publish = ops_publish };
	struct anycast_hooks ah = { .ctx = srv, .events_of = ops_events, .zones_ok = zones_ok };
	if (conf->cluster_name) {   /* the peers come from the cluster */
		ah.cluster_peers = cluster_peers;
		ah.state_changed = anycast_state_changed;
	}
	/* One dnstap queue per UDP worker, and the last one for TCP. */
	if (dnstap_open(conf, conf->nlisten * conf->udp_workers + 1, &dt) != 0)
		goto out;
	dnstap_set_current(dt);
	struct http_conf hc = { .addr = &conf->http_listen.addr, .text = conf->http_listen.text,
				.token_file = conf->http_token_file,
				.lab_reports = conf->http_lab_reports };
	/* Probes start now (first probe at once); the first view is published
	 * before any worker starts.  The privileges go once every socket is
	 * bound (server.user). */
	if (view_publish(&srv->view, srv->snap, NULL) != 0 ||
	    ops_start(&srv->loop, &srv->snap->layout, srv->snap->live0, srv->snap->conf->state_dir,
		      &oh, &srv->ops) != 0 ||
	    (conf->cluster_name && start_fleet(srv) != 0) ||
	    provider_start(&srv->loop, conf, srv->ops, &srv->providers) != 0 ||
	    ctl_sock_start(&srv->loop, conf->control, &srv->host, &srv->ctl) != 0 ||
	    (conf->http_listen.text && http_start(&srv->loop, &hc, &srv->host, &srv->http) != 0) ||
	    tcp_start(&srv->view.rcu, conf, &srv->tcp) != 0 ||
	    notifier_start(&srv->loop, &srv->notifier) != 0 ||
	    !(srv->secondaries = secondaries_new(&srv->loop, srv->ops->events, reload_cb, srv)) ||
	    udp_start(&srv->view.rcu, conf, &srv->udp) != 0 ||
	    anycast_start(&srv->loop, conf, &ah, &srv->anycast) != 0 ||
	    (conf->user && privdrop(conf->user, conf->control, conf->state_dir) != 0)) {
		server_stop(srv);   /* srv->stopping is set: signals unused */
		uv_run(&srv->loop, UV_RUN_DEFAULT);
		goto out;
	}
	signals_init(srv);
	export_save(srv->snap);
	server_notify(srv);
	secondaries_sync(srv->secondaries, srv->snap);
	log_info("vaned started, pid %d", (int)getpid());
	notify_ready("serving");

	uv_run(&srv->loop, UV_RUN_DEFAULT);
	status = 0;
	log_info("stopped");
out:
	udp_stop(srv->udp);      /* joins every worker */
	srv->udp = NULL;
	http_free(srv->http);    /* joins the HTTP thread */
	tcp_free(srv->tcp);      /* joins the TCP thread */
	srv->tcp = NULL;
	notifier_free(srv->notifier);
	secondaries_free(srv->secondaries);
	dnstap_set_current(NULL);
	dnstap_close(dt);        /* after every tap stopped */
	ctl_sock_free(srv->ctl);
	fleet_free(srv->fleet);
	provider_free(srv->providers);
	ops_free(srv->ops);
	/* Views retired on the threadpool are freed by then: uv_run ended. */
	view_root_free(&srv->view);
	if (uv_loop_close(&srv->loop) != 0)
		log_debug("loop closed with handles open");
	snapshot_free(srv->snap);
	if (srv->boot_conf)
		conf_free(srv->boot_conf);
	free(srv->conf_path);
	return status;
}
