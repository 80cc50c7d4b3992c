/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Start-up and shutdown of vane-resolver. */
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <string.h>
#include <unistd.h>

#include "resolverd/rserver_int.h"
#include "rt/log.h"

void resolver_stop(struct resolverd *r)
{
	if (r->stopping)
		return;
	r->stopping = true;
	uv_stop(&r->loop);
}

static void on_signal(uv_signal_t *s, int sig)
{
	resolver_stop(s->data);
}

int resolver_run(const char *conf_path, struct resolver_conf *conf)
{
	struct resolverd *r = calloc(1, sizeof(*r));
	struct cache_conf cc;
	int ret = VANE_ENOMEM;

	if (!r)
		return 1;
	r->conf = conf;
	r->conf_path = strdup(conf_path);
	r->mono_base = 1000000; /* fake clock origin; any origin works for the cache */
	pthread_mutex_init(&r->qlock, NULL);
	log_set_level_name(conf->log_level);
	signal(SIGPIPE, SIG_IGN);
	uv_loop_init(&r->loop);
	/* Upstream queries use one socket each: raise the descriptor limit,
	 * and keep in-flight resolutions well within it. */
	struct rlimit rl;
	r->inflight_max = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		if (rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
		}
		if (rl.rlim_cur / 4 < r->inflight_max)
			r->inflight_max = (unsigned)(rl.rlim_cur / 4);
	}
	uint32_t seed;
	resolverd_random(&seed, sizeof(seed));
	resolver_cache_conf(conf, seed, &cc);
	struct cache *cache = cache_new(&cc);
	if (!cache) {
		ret = VANE_ENOMEM;
		goto out;
	}
	resolverd_env_init(r);
	resolver_init(&r->core, conf, cache, &r->env);
	ret = resolverd_load_hints(r, conf->root_hints);
	if (ret != 0)
		goto out;
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
	if (r->ctl)
		rctl_close(r);
	/* Workers sit in recvmmsg; the process exit ends them. */
	fflush(stderr);
	_exit(ret == 0 ? 0 : 1);
}
