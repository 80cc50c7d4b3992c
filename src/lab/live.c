/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Live mode's run (live.h): build the private internet, start the
 * endpoints and clients, drive the timeline for `duration` seconds of
 * real time, stop everything, and measure the series as the model does.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include "lab/live_int.h"
#include "lab/metrics.h"

#define DEFAULT_CLIENTS 200
#define DEFAULT_PORT 8080
#define WARM_DEADLINE_MS 60000

/* Ctrl-C or a TERM ends the run early, and the servers with it: they
 * must not outlive the lab. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

bool live_interrupted(void)
{
	return interrupted != 0;
}

const char *lab_live_software(const struct lab_profile *p)
{
	if (p->software[0])
		return p->software;
	return strncmp(p->name, "unbound", 7) ? "vane-resolver" : "unbound";
}

static int series_alloc(const struct lab_scenario *sc, struct lab_series *s)
{
	size_t n = (size_t)sc->duration + 1;
	s->n_sec = (uint32_t)n;
	s->n_ep = sc->svc.n_ep;
	s->n_prof = sc->n_profile;
	s->conn = calloc(n * s->n_ep, sizeof(uint32_t));
	s->conn_prof = calloc(n * s->n_ep * s->n_prof, sizeof(uint32_t));
	s->nx = calloc(n * s->n_prof, sizeof(uint32_t));
	s->fail = calloc(n, sizeof(uint32_t));
	s->total = calloc(n, sizeof(uint32_t));
	s->auth = calloc(n, sizeof(uint32_t));
	s->ramp_pct = malloc(n);
	if (!s->conn || !s->conn_prof || !s->nx || !s->fail || !s->total || !s->auth ||
	    !s->ramp_pct)
		return VANE_ENOMEM;
	memset(s->ramp_pct, 100, n);
	return 0;
}

/* The ramp step of the measured endpoint each second, from the events
 * (vaned steps the weight on its own clock from the ramp command). */
static void ramp_series(const struct lab_scenario *sc, struct lab_series *s)
{
	int mep = sc->measure >= 0 ? sc->event[sc->measure].ep : -1;
	for (unsigned i = 0; i < sc->n_event && mep >= 0; i++) {
		const struct lab_event *ev = &sc->event[i];
		if (ev->kind != LAB_EV_RAMP || ev->ep != mep || !ev->every)
			continue;
		for (uint32_t t = ev->at; t < s->n_sec; t++) {
			uint32_t k = (t - ev->at) / ev->every;
			if (k >= ev->nsteps)
				break;
			s->ramp_pct[t] = ev->steps[k];
		}
	}
}

static int find_programs(struct live *lv)
{
	const char *bin = lv->o->bindir;
	char self[PATH_MAX];
	/* The servers start in their own directories: absolute paths. */
	if (bin && realpath(bin, self))
		bin = self;
	else if (!bin) {
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			return VANE_ENOENT;
		self[n] = 0;
		char *slash = strrchr(self, '/');
		if (slash)
			*slash = 0;
		bin = self;
	}
	snprintf(lv->vaned, sizeof(lv->vaned), "%s/vaned", bin);
	snprintf(lv->resolver, sizeof(lv->resolver), "%s/vane-resolver", bin);
	snprintf(lv->vanectl, sizeof(lv->vanectl), "%s/vanectl", bin);
	snprintf(lv->unbound, sizeof(lv->unbound), "%s",
		 lv->o->unbound ? lv->o->unbound : "/usr/sbin/unbound");
	const char *need[3] = { lv->vaned, lv->resolver, lv->vanectl };
	for (unsigned i = 0; i < 3; i++)
		if (access(need[i], X_OK) != 0) {
			snprintf(lv->err, lv->errlen, "%s: %s", need[i], strerror(errno));
			return VANE_ENOENT;
		}
	for (unsigned p = 0; p < lv->sc->n_profile; p++)
		if (!strcmp(lab_live_software(&lv->sc->profile[p]), "unbound") &&
		    access(lv->unbound, X_OK) != 0) {
			snprintf(lv->err, lv->errlen, "%s: %s (resolver kind %s)", lv->unbound,
				 strerror(errno), lv->sc->profile[p].name);
			return VANE_ENOENT;
		}
	return 0;
}

static void on_tick(uv_timer_t *t)
{
	struct live *lv = t->data;
	uint64_t now = uv_now(&lv->loop);
	lv->now_s = (uint32_t)((now - lv->t0_ms) / 1000);
	if (lv->progress)
		lv->progress(lv->pctx, lv->now_s >= lv->sc->duration ? 1.0
					: (double)lv->now_s / lv->sc->duration);
	if (lv->now_s > lv->sc->duration || interrupted) {
		lv->stopping = true;
		uv_stop(&lv->loop);
		return;
	}
	live_timeline_second(lv);
	/* The next whole second of the run, not 1 s from now: a late tick
	 * does not shift the timeline. */
	uint64_t next = lv->t0_ms + (uint64_t)(lv->now_s + 1) * 1000;
	uv_timer_start(&lv->tick, on_tick, next > now ? next - now : 1, 0);
}

/* Second 0 is steady state, as in the model: the operator has probed
 * every endpoint `rise` times (each probe is a hit), so all are up. */
static int wait_healthy(struct live *lv)
{
	uint64_t end = uv_now(&lv->loop) + WARM_DEADLINE_MS;
	for (;;) {
		bool all = true;
		for (unsigned e = 0; e < lv->sc->svc.n_ep; e++)
			all = all && lv->ep[e].hits >= lv->sc->rise + 1;
		if (all)
			return 0;
		if (interrupted) {
			snprintf(lv->err, lv->errlen, "interrupted");
			return VANE_EAGAIN;
		}
		if (uv_now(&lv->loop) > end) {
			snprintf(lv->err, lv->errlen, "the operator did not probe every endpoint "
				 "%u times within %d s", lv->sc->rise + 1, WARM_DEADLINE_MS / 1000);
			return VANE_ETIMEDOUT;
		}
		uv_run(&lv->loop, UV_RUN_NOWAIT);
		usleep(5000);
		uv_update_time(&lv->loop);
	}
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* When the operator's health flipped for the measured endpoint, from
 * `vanectl health` at the end of the run: the row's `since` against the
 * reply's `now` (both the operator's clock) dates the flip on ours. */
static double live_detect(struct live *lv)
{
	const struct lab_scenario *sc = lv->sc;
	if (sc->measure < 0)
		return -1;
	const struct lab_event *m = &sc->event[sc->measure];
	if ((m->kind != LAB_EV_DOWN && m->kind != LAB_EV_UP) || m->ep < 0)
		return -1;
	char cmd[8400];
	snprintf(cmd, sizeof(cmd), "'%s' -s '%s/operator.sock' --json health 2>/dev/null",
		 lv->vanectl, lv->sockdir);
	FILE *f = popen(cmd, "r");
	if (!f)
		return -1;
	json_error_t jerr;
	json_t *res = json_loadf(f, 0, &jerr);
	uint64_t got = uv_hrtime() / 1000000;
	pclose(f);
	double detect = -1;
	json_t *row;
	size_t i;
	int64_t now = json_integer_value(json_object_get(res, "now"));
	json_array_foreach(json_object_get(res, "endpoints"), i, row) {
		const char *id = json_string_value(json_object_get(row, "endpoint"));
		const char *state = json_string_value(json_object_get(row, "state"));
		json_t *since = json_object_get(row, "since");
		if (!id || !state || !json_is_integer(since) || strcmp(id, sc->ep[m->ep].id))
			continue;
		if (strcmp(state, m->kind == LAB_EV_DOWN ? "down" : "up"))
			break;
		double flip = (double)(got - lv->t0_ms) / 1000.0 -
			      (double)(now - json_integer_value(since)) / 1000.0;
		if (flip >= m->at)
			detect = flip - m->at;
		break;
	}
	json_decref(res);
	return detect;
}

/* The socket directory and the sockets the servers left in it. */
static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char p[512];
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static void more_files(unsigned want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int lab_live_run(const struct lab_scenario *sc, const struct lab_live_opts *o,
		 struct lab_result *res, lab_progress_fn progress, void *ctx, char *err,
		 size_t errlen)
{
	memset(res, 0, sizeof(*res));
	res->detect = -1;
	struct live *lv = calloc(1, sizeof(*lv));
	if (!lv)
		return VANE_ENOMEM;
	lv->sc = sc;
	lv->o = o;
	lv->s = &res->s;
	lv->err = err;
	lv->errlen = errlen;
	lv->progress = progress;
	lv->pctx = ctx;
	lv->ttl = sc->svc.ttl;
	lv->stat_pending = -1;
	lv->ep_port = o->ep_port ? o->ep_port : DEFAULT_PORT;
	lv->n_cli = o->clients ? o->clients : sc->live_clients ? sc->live_clients : DEFAULT_CLIENTS;
	if (lv->n_cli > LIVE_MAX_CLIENTS)
		lv->n_cli = LIVE_MAX_CLIENTS;
	snprintf(lv->dir, sizeof(lv->dir), "%s", o->workdir);
	int ret = find_programs(lv);
	if (ret < 0)
		goto out;
	if (mkdir(lv->dir, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", lv->dir, strerror(errno));
		ret = -errno;
		goto out;
	}
	lv->n_res = sc->n_profile * sc->n_country;
	if (lv->n_res > 150) {
		snprintf(err, errlen, "live mode runs at most 150 resolvers (kinds x countries)");
		ret = VANE_ERANGE;
		goto out;
	}
	snprintf(lv->sockdir, sizeof(lv->sockdir), "/tmp/vane-lab-XXXXXX");
	if (!mkdtemp(lv->sockdir)) {
		snprintf(err, errlen, "%s: %s", lv->sockdir, strerror(errno));
		lv->sockdir[0] = 0;
		ret = -errno;
		goto out;
	}
	if ((ret = series_alloc(sc, &res->s)) < 0 || (ret = live_net_pick(lv)) < 0)
		goto out;
	for (unsigned r = 0; r < lv->n_res; r++) {
		struct live_res *rs = &lv->res[r];
		rs->prof = r / sc->n_country;
		rs->country = r % sc->n_country;
		snprintf(rs->addr, sizeof(rs->addr), "%s.%u", lv->pfx, 100 + r);
		uv_ip4_addr(rs->addr, 53, &rs->sa);
	}
	if ((ret = live_net_write(lv)) < 0) {
		if (!err[0])
			snprintf(err, errlen, "%s: cannot write the configs: %s", lv->dir,
				 vane_strerror(ret));
		goto out;
	}
	more_files(lv->n_cli * 3 + 256);
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term;
	sigemptyset(&sa.sa_mask);
	interrupted = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	uv_loop_init(&lv->loop);
	/* Endpoints first: the operator's first probes find them up. */
	for (unsigned e = 0; e < sc->svc.n_ep && ret == 0; e++)
		ret = live_ep_start(lv, e);
	if (ret == 0)
		ret = live_net_start(lv);
	if (ret == 0)
		ret = wait_healthy(lv);
	if (ret == 0) {
		uv_update_time(&lv->loop);
		lv->t0_ms = uv_now(&lv->loop);
		ret = live_clients_start(lv);
	}
	if (ret == 0) {
		uv_timer_init(&lv->loop, &lv->tick);
		lv->tick.data = lv;
		uv_timer_start(&lv->tick, on_tick, 0, 0);
		uv_run(&lv->loop, UV_RUN_DEFAULT);
		res->detect = live_detect(lv);
	}
	lv->stopping = true;
	live_ep_close_all(lv);
	uv_walk(&lv->loop, close_walk, NULL);
	while (uv_run(&lv->loop, UV_RUN_NOWAIT))
		;
	live_net_stop(lv);
	uv_loop_close(&lv->loop);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (ret == 0 && interrupted) {
		snprintf(err, errlen, "interrupted");
		ret = VANE_EAGAIN;
	}
	if (ret == 0) {
		ramp_series(sc, &res->s);
		double detect = res->detect;
		ret = lab_measure(sc, res);
		res->detect = detect;
	}
out:
	if (lv->sockdir[0])
		remove_dir(lv->sockdir);
	free(lv->cli);
	free(lv);
	return ret;
}
