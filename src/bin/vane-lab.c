/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * vane-lab: failover through real resolver behaviour, on a simulated clock
 * (model mode).  See vane-lab(1).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lab/live.h"
#include "lab/model.h"
#include "lab/report.h"
#include "lab/scenario.h"
#include "resolver/cache.h"
#include "vane_version.h"

static const char usage[] =
	"usage: vane-lab run [options] SCENARIO...\n"
	"       vane-lab list\n"
	"       vane-lab run --live [options] SCENARIO...\n"
	"       vane-lab plan --old-ttl SECONDS --new-ttl SECONDS [SCENARIO]\n"
	"\n"
	"Model mode: millions of clients behind a population of caching resolvers,\n"
	"vaned's steering and health fold on a simulated clock.  Live mode (--live):\n"
	"real vaned, vane-resolver and unbound processes on loopback, in real time\n"
	"(needs root for port 53), then the model on the same scenario to compare.\n"
	"SCENARIO is a bundled name (vane-lab list) or a YAML file.\n"
	"\n"
	"run options:\n"
	"  -o, --out DIR        where reports go (default: lab-out)\n"
	"  -p, --price USD      price per million authoritative queries\n"
	"      --clients N      override the scenario's client count\n"
	"      --resolvers N    override the scenario's resolver count\n"
	"      --duration S     override the simulated time, seconds\n"
	"      --seed N         override the random seed\n"
	"      --live           run with real processes (see LIVE MODE in vane-lab(1))\n"
	"      --live-clients N override the scenario's live-clients\n"
	"      --bindir DIR     where vaned, vane-resolver and vanectl are\n"
	"                       (default: next to vane-lab)\n"
	"  -q, --quiet          no progress bar\n"
	"  -h, --help           this text\n"
	"  -V, --version\n";

/* Bundled scenarios: $VANE_LAB_DIR, the source tree, the installed copy. */
static const char *scenario_dir(void)
{
	const char *env = getenv("VANE_LAB_DIR");
	if (env && *env)
		return env;
	struct stat st;
	if (stat(VANE_LAB_DIR, &st) == 0 && S_ISDIR(st.st_mode))
		return VANE_LAB_DIR;
	return VANE_LAB_DATADIR;
}

static int resolve(const char *arg, char *path, size_t len)
{
	struct stat st;
	if (strchr(arg, '/') || stat(arg, &st) == 0) {
		snprintf(path, len, "%s", arg);
		return 0;
	}
	snprintf(path, len, "%s/%s.yaml", scenario_dir(), arg);
	return 0;
}

static int names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmd_list(void)
{
	const char *dir = scenario_dir();
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "vane-lab: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	char *names[256];
	unsigned n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < 256) {
		size_t l = strlen(de->d_name);
		if (l > 5 && strcmp(de->d_name + l - 5, ".yaml") == 0)
			names[n++] = strndup(de->d_name, l - 5);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), names_cmp);
	for (unsigned i = 0; i < n; i++) {
		char path[4096], err[512];
		struct lab_scenario *sc = malloc(sizeof(*sc));
		snprintf(path, sizeof(path), "%s/%s.yaml", dir, names[i]);
		if (sc && lab_scenario_load(path, sc, err, sizeof(err)) == 0)
			printf("%-24s %.*s\n", names[i], (int)strcspn(sc->description, ".\n"),
			       sc->description);
		else
			printf("%-24s (does not load: %s)\n", names[i], sc ? err : "no memory");
		free(sc);
		free(names[i]);
	}
	return 0;
}

struct bar {
	const char *name;
	int last;
};

static void progress(void *ctx, double done)
{
	struct bar *b = ctx;
	int pct = (int)(done * 100);
	if (pct == b->last)
		return;
	b->last = pct;
	char cells[41];
	int full = pct * 40 / 100;
	for (int i = 0; i < 40; i++)
		cells[i] = i < full ? '#' : '.';
	cells[40] = 0;
	fprintf(stderr, "\r%-22s [%s] %3d%%", b->name, cells, pct);
	if (pct >= 100)
		fputc('\n', stderr);
	fflush(stderr);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int write_file(const char *dir, const char *name, const char *ext,
		      const struct lab_scenario *sc, const struct lab_result *r, char *path,
		      size_t len)
{
	snprintf(path, len, "%s/%s.%s", dir, name, ext);
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "vane-lab: %s: %s\n", path, strerror(errno));
		return -1;
	}
	int ret = strcmp(ext, "html") == 0 ? lab_write_html(f, sc, r) : lab_write_json(f, sc, r);
	if (fclose(f) != 0 || ret != 0) {
		fprintf(stderr, "vane-lab: %s: write failed\n", path);
		return -1;
	}
	return 0;
}

/* The measures read the series from each event on: an event at or past the
 * end (a short --duration, or the scenario's own) has no series to read. */
static int events_in_run(const struct lab_scenario *sc)
{
	if (sc->n_event == 0 || sc->event[sc->n_event - 1].at < sc->duration)
		return 0;
	fprintf(stderr, "vane-lab: %s: the run ends at %u s, not after its last event at %u s "
		"(--duration)\n", sc->name, sc->duration, sc->event[sc->n_event - 1].at);
	return -1;
}

struct overrides {
	const char *out;
	double price;
	long clients, resolvers, duration, seed, live_clients;
	bool quiet, live;
	const char *bindir;
};

static int run_one(const char *arg, const struct overrides *o, struct lab_scenario *sc,
		   struct lab_result *r, double *took)
{
	char path[4096], err[1024];
	resolve(arg, path, sizeof(path));
	if (lab_scenario_load(path, sc, err, sizeof(err)) < 0) {
		fprintf(stderr, "vane-lab: %s\n", err);
		return -1;
	}
	if (o->price >= 0)
		sc->price = o->price;
	if (o->clients > 0)
		sc->clients = (uint32_t)o->clients;
	if (o->resolvers > 0)
		sc->resolvers = (uint32_t)o->resolvers;
	if (o->duration > 0)
		sc->duration = (uint32_t)o->duration;
	if (o->seed >= 0)
		sc->seed = (uint64_t)o->seed;
	if (events_in_run(sc) < 0)
		return -1;
	struct bar b = { sc->name, -1 };
	double t0 = now_s();
	int ret = lab_run(sc, r, o->quiet ? NULL : progress, &b);
	*took = now_s() - t0;
	if (ret < 0) {
		fprintf(stderr, "vane-lab: %s: %s\n", sc->name, vane_strerror(ret));
		lab_result_free(r);
		return -1;
	}
	return 0;
}

/* Live mode: the scenario with real processes, then the model on it; both
 * reports side by side ("NAME-live" and "NAME-model"). */
static int run_live(const char *arg, const struct overrides *o, struct lab_scenario *sc,
		    struct lab_result *r, struct lab_scenario *msc, struct lab_result *model)
{
	char path[4096], err[1024] = "", dir[4096];
	resolve(arg, path, sizeof(path));
	if (lab_scenario_load(path, sc, err, sizeof(err)) < 0) {
		fprintf(stderr, "vane-lab: %s\n", err);
		return -1;
	}
	if (sc->anycast.n_site) {
		fprintf(stderr, "vane-lab: %s: live mode does not drive anycast; run it in model "
			"mode (vane-lab(1))\n", sc->name);
		return -1;
	}
	if (o->duration > 0)
		sc->duration = (uint32_t)o->duration;
	if (o->seed >= 0)
		sc->seed = (uint64_t)o->seed;
	if (o->price >= 0)
		sc->price = o->price;
	if (events_in_run(sc) < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s/%s-live.d", o->out, sc->name);
	struct lab_live_opts lo = {
		.workdir = dir, .bindir = o->bindir,
		.clients = o->live_clients > 0 ? (uint32_t)o->live_clients : 0,
	};
	/* What the live run has: its clients, one resolver per kind and country. */
	sc->clients = lo.clients ? lo.clients : sc->live_clients ? sc->live_clients : 200;
	sc->resolvers = sc->n_profile * sc->n_country;
	struct bar b = { sc->name, -1 };
	int ret = lab_live_run(sc, &lo, r, o->quiet ? NULL : progress, &b, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "vane-lab: %s (live): %s\n", sc->name,
			err[0] ? err : vane_strerror(ret));
		lab_result_free(r);
		return ret == VANE_EBUSY ? -2 : -1;
	}
	/* The model of the same run: as many clients as there were live. */
	*msc = *sc;
	msc->svc.ep = msc->ep;
	msc->live_layout = true;
	sc->live = true;
	ret = lab_run(msc, model, NULL, NULL);
	if (ret < 0) {
		fprintf(stderr, "vane-lab: %s (model): %s\n", sc->name, vane_strerror(ret));
		lab_result_free(r);
		lab_result_free(model);
		return -1;
	}
	return 0;
}

static void name_as(struct lab_scenario *sc, const char *base, const char *suffix)
{
	char n[LAB_NAME_MAX];
	snprintf(n, sizeof(n), "%.*s-%s", (int)(LAB_NAME_MAX - 8), base, suffix);
	memcpy(sc->name, n, sizeof(n));
}

static int cmd_run_live(int n, char **args, const struct overrides *o)
{
	int status = 0;
	for (int i = 0; i < n; i++) {
		struct lab_scenario *sc = malloc(2 * sizeof(*sc)), *msc = sc + 1;
		struct lab_result r, m;
		if (!sc)
			return 1;
		int ret = run_live(args[i], o, sc, &r, msc, &m);
		if (ret < 0) {
			free(sc);
			status = ret == -2 ? 77 : 1;
			continue;
		}
		char base[LAB_NAME_MAX], html[4096], json[4096];
		memcpy(base, sc->name, sizeof(base));
		name_as(sc, base, "live");
		lab_summary_detail(stdout, sc, &r);
		if (write_file(o->out, sc->name, "json", sc, &r, json, sizeof(json)) < 0 ||
		    write_file(o->out, sc->name, "html", sc, &r, html, sizeof(html)) < 0)
			status = 1;
		else
			printf("  report: %s\n  data: %s\n\n", html, json);
		name_as(msc, base, "model");
		lab_summary_detail(stdout, msc, &m);
		if (write_file(o->out, msc->name, "json", msc, &m, json, sizeof(json)) < 0 ||
		    write_file(o->out, msc->name, "html", msc, &m, html, sizeof(html)) < 0)
			status = 1;
		else
			printf("  report: %s\n  data: %s\n\n", html, json);
		lab_summary_header(stdout);
		lab_summary_row(stdout, sc, &r);
		lab_summary_row(stdout, msc, &m);
		lab_result_free(&r);
		lab_result_free(&m);
		free(sc);
	}
	return status;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "price", required_argument, NULL, 'p' },
		{ "clients", required_argument, NULL, 'c' },
		{ "resolvers", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 's' },
		{ "live", no_argument, NULL, 'L' },
		{ "live-clients", required_argument, NULL, 'C' },
		{ "bindir", required_argument, NULL, 'B' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct overrides o = { .out = "lab-out", .price = -1, .seed = -1 };
	int c;
	while ((c = getopt_long(argc, argv, "o:p:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'o': o.out = optarg; break;
		case 'p': o.price = strtod(optarg, NULL); break;
		case 'c': o.clients = strtol(optarg, NULL, 10); break;
		case 'r': o.resolvers = strtol(optarg, NULL, 10); break;
		case 'd': o.duration = strtol(optarg, NULL, 10); break;
		case 's': o.seed = strtol(optarg, NULL, 10); break;
		case 'L': o.live = true; break;
		case 'C': o.live_clients = strtol(optarg, NULL, 10); break;
		case 'B': o.bindir = optarg; break;
		case 'q': o.quiet = true; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (mkdir(o.out, 0777) < 0 && errno != EEXIST) {
		fprintf(stderr, "vane-lab: %s: %s\n", o.out, strerror(errno));
		return 1;
	}
	if (o.live)
		return cmd_run_live(argc - optind, argv + optind, &o);
	int n = argc - optind;
	struct lab_scenario *sc = calloc((size_t)n, sizeof(*sc));
	struct lab_result *res = calloc((size_t)n, sizeof(*res));
	bool *ok = calloc((size_t)n, sizeof(bool));
	int status = 0;
	if (!sc || !res || !ok) {
		fprintf(stderr, "vane-lab: out of memory\n");
		status = 1;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		double took;
		char html[4096], json[4096];
		if (run_one(argv[optind + i], &o, &sc[i], &res[i], &took) < 0) {
			status = 1;
			continue;
		}
		ok[i] = true;
		lab_summary_detail(stdout, &sc[i], &res[i]);
		if (write_file(o.out, sc[i].name, "json", &sc[i], &res[i], json, sizeof(json)) < 0 ||
		    write_file(o.out, sc[i].name, "html", &sc[i], &res[i], html, sizeof(html)) < 0) {
			status = 1;
			continue;
		}
		printf("  model time: %.2f s\n  report: %s\n  data: %s\n\n", took, html, json);
		/* The report holds what the plots need; the series go. */
		lab_result_free(&res[i]);
	}
	lab_summary_header(stdout);
	for (int i = 0; i < n; i++)
		if (ok[i])
			lab_summary_row(stdout, &sc[i], &res[i]);
out:
	free(sc);
	free(res);
	free(ok);
	return status;
}

/*
 * When is it safe to rely on a lower TTL?  Every answer handed out before
 * the change may live as long as the old TTL as each kind of resolver
 * stores it (floors included); only after the longest of those has every
 * cache taken the new TTL.  After that, a switch reaches each kind within
 * the new TTL as it stores that.
 */
static int cmd_plan(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "old-ttl", required_argument, NULL, 'o' },
		{ "new-ttl", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long old_ttl = -1, new_ttl = -1;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': old_ttl = strtol(optarg, NULL, 10); break;
		case 'n': new_ttl = strtol(optarg, NULL, 10); break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (old_ttl < 0 || new_ttl < 0) {
		fputs(usage, stderr);
		return 2;
	}
	struct lab_scenario *sc = malloc(sizeof(*sc));
	if (!sc)
		return 1;
	char err[1024];
	if (optind < argc) {
		char path[4096];
		resolve(argv[optind], path, sizeof(path));
		if (lab_scenario_load(path, sc, err, sizeof(err)) < 0) {
			fprintf(stderr, "vane-lab: %s\n", err);
			free(sc);
			return 1;
		}
	} else {
		lab_scenario_init(sc);
	}
	uint32_t wait = 0, reach = 0;
	printf("%-16s %6s %12s %12s\n", "resolver kind", "share", "old TTL held", "new TTL held");
	for (unsigned p = 0; p < sc->n_profile; p++) {
		const struct lab_profile *pr = &sc->profile[p];
		uint32_t o = cache_ttl_positive((uint32_t)old_ttl, pr->min_ttl, pr->max_ttl);
		uint32_t nn = cache_ttl_positive((uint32_t)new_ttl, pr->min_ttl, pr->max_ttl);
		printf("%-16s %5.0f%% %10u s %10u s\n", pr->name, 100 * pr->share, o, nn);
		if (o > wait)
			wait = o;
		if (nn > reach)
			reach = nn;
	}
	double detect = sc->interval_ms / 1000.0 * sc->fall + sc->timeout_ms / 1000.0;
	printf("\nLower the TTL from %ld to %ld at T.  Every cache holds the new TTL from\n"
	       "T + %u s (the longest old TTL as resolvers store it); switch no earlier.\n"
	       "After that a failover reaches every kind within %u s + detection (%.0f s);\n"
	       "compliant resolvers within %ld s + detection.\n",
	       old_ttl, new_ttl, wait, reach, detect, new_ttl);
	if (reach > (uint32_t)new_ttl)
		printf("Floors above %ld s keep part of the traffic on the old answer for up to "
		       "%u s whatever the TTL.\n", new_ttl, reach);
	free(sc);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("vane-lab %s\n", VANE_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "list"))
		return cmd_list();
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "plan"))
		return cmd_plan(argc - 1, argv + 1);
	fprintf(stderr, "vane-lab: unknown command %s\n", cmd);
	fputs(usage, stderr);
	return 2;
}
