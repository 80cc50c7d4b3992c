/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Live mode's private internet (layout in live.h): a free 127.X.Y.0/24,
 * the zones and configs of the root, the TLD, the operator and the
 * resolvers, and their processes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab/live_int.h"

#define START_DEADLINE_MS 60000   /* a loaded machine starts slowly */
#define STOP_DEADLINE_MS 10000

extern char **environ;

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool bindable(const char *addr, uint16_t port)
{
	static const int kinds[] = { SOCK_DGRAM, SOCK_STREAM };
	for (unsigned i = 0; i < 2; i++) {
		int fd = socket(AF_INET, kinds[i], 0);
		if (fd < 0)
			return false;
		int one = 1;
		if (kinds[i] == SOCK_STREAM)
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
		inet_pton(AF_INET, addr, &sa.sin_addr);
		int ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
		if (ret < 0)
			return false;
	}
	return true;
}

static void host(const struct live *lv, unsigned h, char *buf)
{
	snprintf(buf, 32, "%s.%u", lv->pfx, h);
}

/* A 127.X.Y.0/24 whose servers' addresses are all free: other labs and
 * tests on this machine pick theirs the same way. */
int live_net_pick(struct live *lv)
{
	srand((unsigned)(mono_ms() ^ (uint64_t)getpid() << 16));
	for (int tries = 0; tries < 200; tries++) {
		lv->x = 50 + (unsigned)rand() % 200;
		lv->y = (unsigned)rand() % 20;
		snprintf(lv->pfx, sizeof(lv->pfx), "127.%u.%u", lv->x, lv->y);
		/* As many /24s per country as fit above Y (117 with two
		 * countries): a ramp step admits each /24 or not (sticky per
		 * subnet), so the share it admits is a sample of the layout's
		 * subnets.  With 16 per country a 25% step admitted 7 of 16
		 * (44%) in one layout; with one client or so per /24 the
		 * sample is the clients themselves. */
		lv->spread = (254 - lv->y) / (lv->sc->n_country ? lv->sc->n_country : 1);
		char a[32];
		bool ok = true;
		for (unsigned h = 1; h <= 3 && ok; h++) {
			host(lv, h, a);
			ok = bindable(a, 53);
		}
		for (unsigned e = 0; e < lv->sc->svc.n_ep && ok; e++) {
			host(lv, 10 + e, a);
			ok = bindable(a, lv->ep_port);
		}
		for (unsigned r = 0; r < lv->n_res && ok; r++) {
			host(lv, 100 + r, a);
			ok = bindable(a, 53);
		}
		if (ok)
			return 0;
		if (tries == 0 && !bindable("127.0.0.1", 0))
			break;
	}
	snprintf(lv->err, lv->errlen, "no free 127.X.Y.0/24 on port 53 (live mode needs root)");
	return VANE_EBUSY;
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -EIO;
}

static int sub(struct live *lv, const char *name, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", lv->dir, name);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	char run[4200];
	snprintf(run, sizeof(run), "%s/run", path);
	if (mkdir(run, 0755) < 0 && errno != EEXIST)
		return -errno;
	/* A run in the directory of an earlier one starts fresh: no saved
	 * health or drains, a new log (not the rewrites during the run). */
	static const char *const stale[] = { "state/state.json", "state/state.json.bak",
					     "stderr.log" };
	for (unsigned i = 0; i < 3 && lv->auth[2].pid == 0; i++) {
		snprintf(run, sizeof(run), "%s/%s", path, stale[i]);
		unlink(run);
	}
	return 0;
}

/* An authority for one zone: `body` are the zone's records after the SOA,
 * `server` more lines for its server: section, `extra` more sections. */
static int write_authority(struct live *lv, const char *role, unsigned h, const char *zone,
			   uint32_t soa_ttl, uint32_t soa_min, const char *body, const char *server,
			   const char *extra)
{
	char d[4096], path[4300], a[16], text[16384];
	int ret = sub(lv, role, d, sizeof(d));
	if (ret < 0)
		return ret;
	host(lv, h, a);
	bool root = !strcmp(zone, ".");
	snprintf(text, sizeof(text),
		 "$TTL 86400\n"
		 "%s%s %u IN SOA %s%s%s hostmaster.invalid. 1 1800 900 604800 %u\n%s",
		 zone, root ? "" : ".", soa_ttl, root ? "lab-root" : "ns.", root ? "" : zone, ".",
		 soa_min, body);
	snprintf(path, sizeof(path), "%s/zone", d);
	if ((ret = write_text(path, text)) < 0)
		return ret;
	snprintf(text, sizeof(text),
		 "server:\n"
		 "  listen: [ \"%s@53\" ]\n"
		 "  udp-workers: 1\n"
		 "  control: %s/%s.sock\n"
		 "  state-dir: %s/state\n%s"
		 "rrl:\n"
		 "  exempt: [ 127.0.0.0/8 ]\n"
		 "zones:\n"
		 "  - name: \"%s\"\n"
		 "    file: %s/zone\n%s",
		 a, lv->sockdir, role, d, server ? server : "", zone, d, extra ? extra : "");
	snprintf(path, sizeof(path), "%s/vaned.yaml", d);
	return write_text(path, text);
}

static size_t cat(char *buf, size_t len, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static size_t cat(char *buf, size_t len, size_t n, const char *fmt, ...)
{
	if (n >= len)
		return n;
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
	return k < 0 ? n : n + (size_t)k;
}

/* The operator's steering: the scenario's service as vaned's config. */
int live_net_write_operator(struct live *lv)
{
	const struct lab_scenario *sc = lv->sc;
	const struct steer_service *svc = &sc->svc;
	char a[32], text[32768], d[4096], path[4300];
	size_t n = 0;
	int ret = sub(lv, "operator", d, sizeof(d));
	if (ret < 0)
		return ret;
	snprintf(path, sizeof(path), "%s/geo.nets", d);
	for (unsigned c = 0; c < sc->n_country; c++)
		for (unsigned k = 0; k < lv->spread; k++)
			n = cat(text, sizeof(text), n, "127.%u.%u.0/24 %s %s\n", lv->x,
				live_subnet(lv, c, k), sc->country[c].continent, sc->country[c].code);
	ret = write_text(path, text);
	if (ret < 0)
		return ret;
	n = 0;
	struct stat st;
	n = cat(text, sizeof(text), n, "geo:\n%s  nets: %s/geo.nets\n",
		stat("/var/lib/location/database.db", &st) == 0
			? "  database: /var/lib/location/database.db\n" : "", d);
	n = cat(text, sizeof(text), n,
		"checks:\n"
		"  - { id: web, type: http, port: %u, path: /health, expect: 200, "
		"interval: %ums, timeout: %ums, rise: %u, fall: %u }\n",
		lv->ep_port, sc->interval_ms, sc->timeout_ms, sc->rise, sc->fall);
	n = cat(text, sizeof(text), n, "services:\n");
	if (!lv->deleted) {
		n = cat(text, sizeof(text), n, "  - name: www.lab.example\n    ttl: %u\n", lv->ttl);
		if (svc->answers)
			n = cat(text, sizeof(text), n, "    answers: %u\n", svc->answers);
		n = cat(text, sizeof(text), n, "    all-down: %s\n    ecs: %s\n    policy: [",
			steer_all_down_name(svc->all_down), svc->ecs ? "on" : "off");
		for (unsigned i = 0; i < svc->n_policy; i++)
			n = cat(text, sizeof(text), n, "%s%s", i ? ", " : "",
				steer_filter_name(svc->policy[i]));
		n = cat(text, sizeof(text), n, "]\n");
		if (svc->recovery_ramp) {
			n = cat(text, sizeof(text), n, "    recovery: ramp\n    recovery-interval: %ums\n",
				svc->recovery_every_ms);
			if (svc->recovery_nsteps) {
				n = cat(text, sizeof(text), n, "    recovery-steps: [");
				for (unsigned i = 0; i < svc->recovery_nsteps; i++)
					n = cat(text, sizeof(text), n, "%s%u", i ? ", " : "",
						svc->recovery_steps[i]);
				n = cat(text, sizeof(text), n, "]\n");
			}
		} else {
			n = cat(text, sizeof(text), n, "    recovery: instant\n");
		}
		n = cat(text, sizeof(text), n, "    endpoints:\n");
		for (unsigned e = 0; e < svc->n_ep; e++) {
			const struct steer_endpoint *ep = &sc->ep[e];
			host(lv, 10 + e, a);
			n = cat(text, sizeof(text), n,
				"      - id: %s\n        address: %s\n        check: web\n"
				"        weight: %u\n        priority: %u\n        standby: %s\n",
				ep->id, a, ep->weight, ep->priority, steer_standby_name(ep->standby));
			if (ep->continent[0] || ep->country[0]) {
				n = cat(text, sizeof(text), n, "        location: {");
				if (ep->continent[0])
					n = cat(text, sizeof(text), n, " continent: %s%s", ep->continent,
						ep->country[0] ? "," : "");
				if (ep->country[0])
					n = cat(text, sizeof(text), n, " country: %s", ep->country);
				n = cat(text, sizeof(text), n, " }\n");
			}
		}
	}
	if (n >= sizeof(text))
		return VANE_ERANGE;
	char body[1024];
	host(lv, 3, a);
	snprintf(body, sizeof(body),
		 "lab.example. 3600 IN NS ns.lab.example.\n"
		 "ns.lab.example. 3600 IN A %s\n", a);
	/* negative-cap: off is a server without vaned's cap: with the guard
	 * off, vaned keeps no memory of the deleted service, and its NXDOMAIN
	 * carries the zone's negative TTL.  With it on (the default window),
	 * the forced deletion's NXDOMAIN is capped at the service TTL. */
	return write_authority(lv, "operator", 3, "lab.example", sc->soa_ttl, sc->soa_min, body,
			       sc->neg_cap ? NULL : "  deletion-guard: 0\n", text);
}

static int write_resolver(struct live *lv, unsigned r)
{
	struct live_res *rs = &lv->res[r];
	const struct lab_profile *p = &lv->sc->profile[rs->prof];
	char name[32], d[4096], path[4300], text[8192], a[16];
	snprintf(name, sizeof(name), "resolver%u", r);
	int ret = sub(lv, name, d, sizeof(d));
	if (ret < 0)
		return ret;
	host(lv, 1, a);
	snprintf(text, sizeof(text), ". 3600000 IN NS lab-root.\nlab-root. 3600000 IN A %s\n", a);
	snprintf(path, sizeof(path), "%s/root.hints", d);
	if ((ret = write_text(path, text)) < 0)
		return ret;
	uint32_t max_ttl = p->max_ttl ? p->max_ttl : 86400;
	uint32_t neg_max = p->neg_max_ttl ? p->neg_max_ttl : 3600;
	if (!strcmp(lab_live_software(p), "unbound")) {
		snprintf(text, sizeof(text),
			 "server:\n"
			 "  interface: %s@53\n  port: 53\n  do-ip6: no\n  num-threads: 1\n"
			 "  username: \"\"\n  chroot: \"\"\n  directory: \"%s\"\n  pidfile: \"\"\n"
			 "  use-syslog: no\n  logfile: \"\"\n  verbosity: 0\n"
			 "  root-hints: \"%s/root.hints\"\n"
			 "  do-not-query-localhost: no\n"
			 "  access-control: 127.0.0.0/8 allow\n"
			 "  module-config: \"iterator\"\n"
			 /* The country's source address: the operator's geo
			  * nets place this resolver. */
			 "  outgoing-interface: 127.%u.%u.254\n"
			 "  cache-min-ttl: %u\n  cache-max-ttl: %u\n  cache-max-negative-ttl: %u\n"
			 "remote-control:\n  control-enable: no\n",
			 rs->addr, d, d, lv->x, live_subnet(lv, rs->country, 0), p->min_ttl, max_ttl, neg_max);
		snprintf(path, sizeof(path), "%s/unbound.conf", d);
	} else {
		/* ECS carries the client's country to the operator (each
		 * resolver serves one country's /24, so its cache holds one
		 * entry, as without ECS); serve-stale and prefetch off, as
		 * the model's resolvers. */
		snprintf(text, sizeof(text),
			 "server:\n"
			 "  listen: [ \"%s@53\" ]\n  udp-workers: 1\n  control: %s/%s.sock\n"
			 "resolver:\n"
			 "  root-hints: %s/root.hints\n  cache-size: 16M\n"
			 "  min-ttl: %us\n  max-ttl: %us\n  negative-max-ttl: %us\n"
			 "  serve-stale: off\n  prefetch: off\n  ecs: on\n  ecs-prefix-v4: 24\n"
			 "  allow: [ \"127.0.0.0/8\" ]\n",
			 rs->addr, lv->sockdir, name, d, p->min_ttl, max_ttl, neg_max);
		snprintf(path, sizeof(path), "%s/resolver.yaml", d);
	}
	return write_text(path, text);
}

int live_net_write(struct live *lv)
{
	char a1[32], a2[32], a3[32], body[2048];
	host(lv, 1, a1);
	host(lv, 2, a2);
	host(lv, 3, a3);
	snprintf(body, sizeof(body),
		 ". 518400 IN NS lab-root.\n"
		 "lab-root. 518400 IN A %s\n"
		 "example. 172800 IN NS ns.example.\n"
		 "ns.example. 172800 IN A %s\n", a1, a2);
	int ret = write_authority(lv, "root", 1, ".", 86400, 86400, body, NULL, NULL);
	if (ret < 0)
		return ret;
	snprintf(body, sizeof(body),
		 "example. 86400 IN NS ns.example.\n"
		 "ns.example. 86400 IN A %s\n"
		 "lab.example. 86400 IN NS ns.lab.example.\n"
		 "ns.lab.example. 86400 IN A %s\n", a2, a3);
	if ((ret = write_authority(lv, "tld", 2, "example", 86400, 3600, body, NULL, NULL)) < 0)
		return ret;
	if ((ret = live_net_write_operator(lv)) < 0)
		return ret;
	for (unsigned r = 0; r < lv->n_res; r++)
		if ((ret = write_resolver(lv, r)) < 0)
			return ret;
	return 0;
}

static int spawn(struct live *lv, struct live_proc *p, const char *dir, char *const argv[])
{
	char log[4300];
	snprintf(log, sizeof(log), "%s/stderr.log", dir);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	posix_spawn_file_actions_addchdir_np(&fa, dir);
	int ret = posix_spawn(&p->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (ret != 0) {
		p->pid = 0;
		snprintf(lv->err, lv->errlen, "%s: %s", argv[0], strerror(ret));
		return -ret;
	}
	return 0;
}

/* One DNS query over UDP; true when any response came back with `rcode`
 * (or any rcode when rcode < 0). */
static bool probe(const char *addr, const char *qname, uint16_t qtype, bool rd, int rcode,
		  int timeout_ms)
{
	uint8_t q[512], r[1500];
	size_t n = 0;
	uint16_t id = (uint16_t)rand();
	q[n++] = (uint8_t)(id >> 8);
	q[n++] = (uint8_t)id;
	q[n++] = rd ? 1 : 0;
	q[n++] = 0;
	memcpy(q + n, "\0\1\0\0\0\0\0\0", 8);
	n += 8;
	const char *s = qname;
	while (*s) {
		size_t l = strcspn(s, ".");
		q[n++] = (uint8_t)l;
		memcpy(q + n, s, l);
		n += l;
		s += l;
		if (*s == '.')
			s++;
	}
	q[n++] = 0;
	q[n++] = (uint8_t)(qtype >> 8);
	q[n++] = (uint8_t)qtype;
	q[n++] = 0;
	q[n++] = 1;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	inet_pton(AF_INET, addr, &sa.sin_addr);
	bool ok = false;
	if (sendto(fd, q, n, 0, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)n) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, timeout_ms) == 1) {
			ssize_t k = recv(fd, r, sizeof(r), 0);
			ok = k >= 12 && r[0] == q[0] && r[1] == q[1] &&
			     (rcode < 0 || (r[3] & 15) == rcode);
		}
	}
	close(fd);
	return ok;
}

/* Wait `ms` while the lab's loop runs: the endpoints answer the
 * operator's health probes while the servers start. */
static void pump(struct live *lv, unsigned ms)
{
	uint64_t end = mono_ms() + ms;
	do {
		uv_run(&lv->loop, UV_RUN_NOWAIT);
		usleep(2000);
	} while (mono_ms() < end);
}

static int wait_ready(struct live *lv, struct live_proc *p, const char *addr, const char *qname,
		      bool rd)
{
	uint64_t end = mono_ms() + START_DEADLINE_MS;
	while (mono_ms() < end) {
		int st;
		if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
			p->pid = 0;
			snprintf(lv->err, lv->errlen, "%s exited at start; see %s/%s/stderr.log",
				 p->name, lv->dir, p->name);
			return VANE_EINVAL;
		}
		if (probe(addr, qname, 6, rd, rd ? -1 : 0, 100))
			return 0;
		if (live_interrupted()) {
			snprintf(lv->err, lv->errlen, "interrupted");
			return VANE_EAGAIN;
		}
		pump(lv, 50);
	}
	snprintf(lv->err, lv->errlen, "%s did not answer within %d s", p->name,
		 START_DEADLINE_MS / 1000);
	return VANE_ETIMEDOUT;
}

int live_net_start(struct live *lv)
{
	static const char *roles[3] = { "root", "tld", "operator" };
	static const char *zones[3] = { "", "example", "lab.example" };
	for (unsigned i = 0; i < 3; i++) {
		char d[4096], conf[4300], a[16];
		struct live_proc *p = &lv->auth[i];
		snprintf(p->name, sizeof(p->name), "%s", roles[i]);
		snprintf(d, sizeof(d), "%s/%s", lv->dir, roles[i]);
		snprintf(conf, sizeof(conf), "%s/vaned.yaml", d);
		char *argv[] = { lv->vaned, "-c", conf, NULL };
		int ret = spawn(lv, p, d, argv);
		host(lv, i + 1, a);
		if (ret < 0 || (ret = wait_ready(lv, p, a, zones[i], false)) < 0)
			return ret;
	}
	/* The resolvers start together: a loaded machine takes seconds each. */
	for (unsigned r = 0; r < lv->n_res; r++) {
		struct live_res *rs = &lv->res[r];
		char d[4096], conf[4300];
		bool ub = !strcmp(lab_live_software(&lv->sc->profile[rs->prof]), "unbound");
		snprintf(rs->proc.name, sizeof(rs->proc.name), "resolver%u", r);
		snprintf(d, sizeof(d), "%s/resolver%u", lv->dir, r);
		snprintf(conf, sizeof(conf), "%s/%s", d, ub ? "unbound.conf" : "resolver.yaml");
		char *uargv[] = { lv->unbound, "-d", "-c", conf, NULL };
		char *vargv[] = { lv->resolver, "-c", conf, NULL };
		int ret = spawn(lv, &rs->proc, d, ub ? uargv : vargv);
		if (ret < 0)
			return ret;
	}
	/* Ready when it resolves the operator's zone from the root. */
	for (unsigned r = 0; r < lv->n_res; r++) {
		int ret = wait_ready(lv, &lv->res[r].proc, lv->res[r].addr, "lab.example", true);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static void stop_all(struct live_proc **p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (p[i]->pid > 0)
			kill(p[i]->pid, SIGTERM);
	uint64_t end = mono_ms() + STOP_DEADLINE_MS;
	for (unsigned i = 0; i < n; i++) {
		while (p[i]->pid > 0) {
			int st;
			pid_t w = waitpid(p[i]->pid, &st, WNOHANG);
			if (w == p[i]->pid || w < 0) {
				p[i]->pid = 0;
				break;
			}
			if (mono_ms() > end) {
				kill(p[i]->pid, SIGKILL);
				waitpid(p[i]->pid, &st, 0);
				p[i]->pid = 0;
				break;
			}
			usleep(20000);
		}
	}
}

void live_net_stop(struct live *lv)
{
	struct live_proc *all[3 + LIVE_MAX_RES];
	unsigned n = 0;
	for (unsigned r = 0; r < lv->n_res; r++)
		all[n++] = &lv->res[r].proc;
	for (unsigned i = 0; i < 3; i++)
		all[n++] = &lv->auth[i];
	stop_all(all, n);
}
