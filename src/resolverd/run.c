/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Start-up and shutdown of vane-resolver.  Shutdown is orderly: the loop
 * stops, every UDP worker is woken and joined, the resolutions still
 * running end (their upstream queries count as timed out), every handle
 * closes, and everything is freed before resolver_run returns.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resolverd/rserver_int.h"
#include "rt/clock.h"
#include "rt/ctlsock.h"
#include "rt/log.h"

void resolver_stop(struct resolverd *r)
{
	if (atomic_exchange(&r->stopping, true))
		return;
	uv_stop(&r->loop);
}

static void on_signal(uv_signal_t *s, int sig)
{
	resolver_stop(s->data);
}

static void close_if_open(uv_handle_t *h)
{
	if (h->loop && !uv_is_closing(h))
		uv_close(h, NULL);
}

/* After the loop stopped (or start-up failed): join, drain, close, free. */
static void shutdown_all(struct resolverd *r)
{
	rworkers_stop(r);
	resolverd_upstream_drain(r);
	rworkers_free(r);
	rtcp_close(r);
	rctl_close(r);
	close_if_open((uv_handle_t *)&r->async);
	close_if_open((uv_handle_t *)&r->sigint);
	close_if_open((uv_handle_t *)&r->sigterm);
	/* Run the close callbacks (connections, upstream sockets, timers). */
	uv_run(&r->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&r->loop) != 0)
		log_warning("libuv handles still open at exit");
	rt_ctl_free(r->ctl);
	free(r->tcp);
	if (r->core.cache)
		cache_free(r->core.cache);
	resolver_zones_free(&r->core);
	pthread_mutex_destroy(&r->qlock);
}

int resolver_run(const char *conf_path, struct resolver_conf *conf)
{
	struct resolverd *r = calloc(1, sizeof(*r));
	struct cache_conf cc;
	int ret = VANE_ENOMEM;

	if (!r) {
		resolver_conf_free(conf);
		return 1;
	}
	r->conf = conf;
	r->loop_conf = *conf;
	atomic_init(&r->prefetch, conf->prefetch);
	atomic_init(&r->stopping, false);
	r->conf_path = strdup(conf_path);
	r->mono_base = 1000000; /* fake clock origin; any origin works for the cache */
	pthread_mutex_init(&r->qlock, NULL);
	log_set_level_name(conf->log_level);
	signal(SIGPIPE, SIG_IGN);
	uv_loop_init(&r->loop);
	/* Upstream queries use one socket each: raise the descriptor limit,
	 * and keep in-flight resolutions well within it. */
	uint64_t nofile = rt_nofile_raise();
	r->inflight_max = 1024;
	if (nofile / 4 < r->inflight_max)
		r->inflight_max = (unsigned)(nofile / 4);
	uint32_t seed;
	rt_random(&seed, sizeof(seed));
	resolver_cache_conf(conf, seed, &cc);
	struct cache *cache = cache_new(&cc);
	if (!cache || !r->conf_path)
		goto out;
	resolverd_env_init(r);
	resolver_init(&r->core, &r->loop_conf, cache, &r->env);
	ret = resolverd_load_hints(r, conf->root_hints);
	if (ret == 0 && (ret = resolver_zones_init(&r->core)) != 0)
		log_error("forward:/stub:/zones-ttl: cannot be set up");
	if (ret == 0)
		ret = rtcp_start(r);
	if (ret == 0)
		ret = rctl_start(r, conf->control);
	if (ret == 0)
		ret = rworkers_start(r);
	if (ret != 0)
		goto out;
	uv_signal_init(&r->loop, &r->sigint);
	uv_signal_init(&r->loop, &r->sigterm);
	r->sigint.data = r->sigterm.data = r;
	uv_signal_start(&r->sigint, on_signal, SIGINT);
	uv_signal_start(&r->sigterm, on_signal, SIGTERM);
	log_info("vane-resolver serving on %s (%u UDP workers)%s", conf->listen[0].text,
		 conf->udp_workers, conf->fake_time ? ", fake time" : "");
	uv_run(&r->loop, UV_RUN_DEFAULT);
	log_info("stopping");
	ret = 0;
out:
	if (!r->core.cache && cache)
		cache_free(cache);
	shutdown_all(r);
	free(r->conf_path);
	resolver_conf_free(conf);
	free(r);
	fflush(stderr);
	return ret == 0 ? 0 : 1;
}
