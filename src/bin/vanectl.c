/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * vanectl: send one command to vaned's control socket and show the reply.
 * Protocol: one line `VERB [ARG ...]\n`, answered by one JSON object and a
 * newline, then the server closes.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "conf/conf.h"
#include "ctl/cmd.h"
#include "vane_version.h"

#define DEFAULT_CONFIG "etc/vaned.conf"
#define REPLY_MAX (16 << 20)

/* The commands come from the table vaned runs (ctl/cmd.c). */
static void print_commands(FILE *out)
{
	char usage[256];
	for (const struct ctl_cmd *c = ctl_cmds; c->help; c++) {
		if (c->name == NULL)
			continue;
		const char *u = ctl_usage(c, usage, sizeof(usage)) + 7;
		if (strlen(u) <= 26)
			fprintf(out, "  %-26s %s\n", u, c->help);
		else
			fprintf(out, "  %s\n  %-26s %s\n", u, "", c->help);
	}
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: vanectl [-s SOCKET | -c CONFIG] [--json] COMMAND [ARGS]\n"
		"       vanectl --commands md|man\n"
		"\n"
		"  -s, --socket PATH  vaned control socket\n"
		"  -c, --config FILE  read the control socket path from this config\n"
		"                     (default: " DEFAULT_CONFIG " when it exists)\n"
		"  -j, --json         print the server's JSON reply as is\n"
		"      --commands F   print the command reference (md: docs/api.md, man: vanectl(8))\n"
		"  -h, --help         show this help\n"
		"  -V, --version      show the version\n"
		"\n"
		"Commands of vaned:\n");
	print_commands(out);
	fprintf(out,
		"\n"
		"Commands of vane-resolver: status, stats, flush NAME|all, cache-dump, reload, stop.\n"
		"\n"
		"Exit status: 0 when the server says ok; 1 when it refused the command\n"
		"or cannot be reached (`error: ...` on stderr); 3 when it cannot act now\n"
		"(stopping: try again); 2 for a usage error.\n");
}

static int fail(const char *fmt, const char *arg)
{
	fprintf(stderr, "error: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	return 1;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Send `line`, read the reply until the server closes. */
static char *transact(const char *path, const char *line)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fail("socket path too long: %s", path);
		return NULL;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		char msg[512];
		snprintf(msg, sizeof(msg), "cannot connect to %s: %s", path, strerror(errno));
		fail("%s", msg);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	char *buf = NULL;
	size_t len = 0, cap = 0;
	if (write_all(fd, line, strlen(line)) < 0) {
		fail("cannot send command: %s", strerror(errno));
		goto fail;
	}
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			char *nb = cap <= REPLY_MAX ? realloc(buf, cap) : NULL;
			if (nb == NULL) {
				fail("%s", "reply too large");
				goto fail;
			}
			buf = nb;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail("cannot read reply: %s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len == 0) {
		free(buf);
		fail("%s", "server closed the connection without a reply");
		return NULL;
	}
	buf[len] = '\0';
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}

/* ---- human-readable output ---- */

static void print_value(const json_t *v)
{
	if (json_is_string(v))
		printf("%s", json_string_value(v));
	else if (json_is_null(v))
		printf("-");
	else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		printf("%s", s ? s : "?");
		free(s);
	}
}

static void show_status(const json_t *res)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)res, key, v) {
		if (strcmp(key, "ok") == 0)
			continue;
		if (json_is_array(v)) {
			printf("%-14s ", key);
			size_t i;
			json_t *e;
			json_array_foreach(v, i, e) {
				printf(i ? ", " : "");
				print_value(e);
			}
			printf("\n");
			continue;
		}
		printf("%-14s ", key);
		print_value(v);
		printf("\n");
	}
}

/* One line per notify: target: its serial, lag and last NOTIFY ack. */
static void show_secondaries(const json_t *secs)
{
	size_t i;
	json_t *s;
	json_array_foreach(secs, i, s) {
		const char *t = json_string_value(json_object_get(s, "target"));
		const char *st = json_string_value(json_object_get(s, "notify"));
		const char *ack = json_string_value(json_object_get(s, "last_ack"));
		json_t *serial = json_object_get(s, "serial"), *lag = json_object_get(s, "lag");
		char sb[24] = "-", lb[24] = "-";
		if (json_is_integer(serial))
			snprintf(sb, sizeof(sb), "%lld", (long long)json_integer_value(serial));
		if (json_is_integer(lag))
			snprintf(lb, sizeof(lb), "%lld", (long long)json_integer_value(lag));
		printf("  secondary %-24s serial %-10s lag %-6s notify %-8s last-ack %s\n",
		       t ? t : "?", sb, lb, st ? st : "?", ack ? ack : "-");
	}
}

/* The apex ZONEMD (RFC 8976) under its zone's row. */
static void show_zonemd(const json_t *md)
{
	const char *digest = json_string_value(json_object_get(md, "digest"));
	if (!digest)
		return;
	printf("  zonemd scheme %lld hash %lld %s\n",
	       (long long)json_integer_value(json_object_get(md, "scheme")),
	       (long long)json_integer_value(json_object_get(md, "hash")), digest);
}

/* A secondary zone: where it comes from, when it last refreshed, expiry. */
static void show_primary(const json_t *z)
{
	const char *role = json_string_value(json_object_get(z, "role"));
	if (!role || strcmp(role, "secondary") != 0)
		return;
	const char *p = json_string_value(json_object_get(z, "primary"));
	const char *at = json_string_value(json_object_get(z, "last_refresh"));
	const char *err = json_string_value(json_object_get(z, "last_error"));
	json_t *exp = json_object_get(z, "expires_in");
	printf("  secondary of %s, last refresh %s, ", p ? p : "-", at ? at : "never");
	if (json_is_true(json_object_get(z, "expired")))
		printf("EXPIRED (answering SERVFAIL)");
	else if (json_is_integer(exp))
		printf("expires in %lld s", (long long)json_integer_value(exp));
	else
		printf("no copy yet");
	if (err)
		printf(", last error: %s", err);
	printf("\n");
}

static void show_zones(const json_t *res, bool full)
{
	const json_t *zones = json_object_get(res, "zones");
	if (full)
		printf("%-28s %-8s %-10s %-8s %-20s %s\n", "ZONE", "STATUS", "SERIAL",
		       "RECORDS", "LOADED", "ERROR");
	else
		printf("%-28s %-10s %-10s %s\n", "ZONE", "STATUS", "SERIAL", "ERROR");
	size_t i;
	json_t *z;
	json_array_foreach(zones, i, z) {
		const char *name = json_string_value(json_object_get(z, "name"));
		const char *st = json_string_value(json_object_get(z, "status"));
		json_t *serial = json_object_get(z, "serial");
		json_t *err = json_object_get(z, "error");
		char sbuf[24] = "-";
		if (json_is_integer(serial))
			snprintf(sbuf, sizeof(sbuf), "%lld", (long long)json_integer_value(serial));
		if (full) {
			json_t *rec = json_object_get(z, "records");
			char rbuf[24] = "-";
			if (json_is_integer(rec))
				snprintf(rbuf, sizeof(rbuf), "%lld", (long long)json_integer_value(rec));
			const char *at = json_string_value(json_object_get(z, "loaded_at"));
			printf("%-28s %-8s %-10s %-8s %-20s ", name ? name : "?", st ? st : "?",
			       sbuf, rbuf, at ? at : "-");
		} else {
			printf("%-28s %-10s %-10s ", name ? name : "?", st ? st : "?", sbuf);
		}
		print_value(json_is_string(err) ? err : json_null());
		printf("\n");
		if (full)
			show_zonemd(json_object_get(z, "zonemd"));
		if (full)
			show_secondaries(json_object_get(z, "secondaries"));
		if (full)
			show_primary(z);
	}
}

static void show_counters(const char *title, const json_t *obj)
{
	const char *key;
	json_t *v;
	printf("%s:\n", title);
	json_object_foreach((json_t *)obj, key, v)
		printf("  %-12s %lld\n", key, (long long)json_integer_value(v));
}

static void show_stats(const json_t *res)
{
	printf("queries        %lld\n", (long long)json_integer_value(json_object_get(res, "queries")));
	printf("dropped        %lld\n", (long long)json_integer_value(json_object_get(res, "dropped")));
	show_counters("transport", json_object_get(res, "transport"));
	show_counters("rcode", json_object_get(res, "rcode"));
	show_counters("qtype", json_object_get(res, "qtype"));
}

static const char *str_or(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : dflt;
}

/* Milliseconds since the epoch as ISO 8601 UTC, or "-". */
static const char *iso_ms(const json_t *v, char *buf, size_t size)
{
	if (!json_is_integer(v))
		return "-";
	time_t t = (time_t)(json_integer_value(v) / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static void ramp_text(const json_t *e, char *buf, size_t size)
{
	const json_t *r = json_object_get(e, "ramp");
	const json_t *ab = json_object_get(e, "ramp_aborted");
	if (!json_is_object(r) && json_is_object(ab)) {
		/* Drained by a failed ramp: `ramp --resume` continues it. */
		snprintf(buf, size, "aborted@%lld",
			 (long long)json_integer_value(json_object_get(ab, "step")));
		return;
	}
	if (!json_is_object(r)) {
		snprintf(buf, size, "-");
		return;
	}
	snprintf(buf, size, "%lld/%lld %lld%%", (long long)json_integer_value(json_object_get(r, "step")),
		 (long long)json_integer_value(json_object_get(r, "steps_total")),
		 (long long)json_integer_value(json_object_get(r, "percent")));
}

static void show_health(const json_t *res)
{
	printf("%-28s %-16s %-6s %-20s %-8s %-7s %-10s %s\n", "SERVICE", "ENDPOINT", "STATE",
	       "SINCE", "WEIGHT", "DRAINED", "RAMP", "LAST ERROR");
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(res, "endpoints"), i, e) {
		char since[32], ramp[32];
		const char *origin = str_or(e, "origin", "");
		char state[16];
		snprintf(state, sizeof(state), "%s%s", str_or(e, "state", "?"),
			 strcmp(origin, "assumed") == 0 ? "?" : strcmp(origin, "saved") == 0 ? "*" : "");
		ramp_text(e, ramp, sizeof(ramp));
		printf("%-28s %-16s %-6s %-20s %-8lld %-7s %-10s %s\n", str_or(e, "service", "?"),
		       str_or(e, "endpoint", "?"), state,
		       iso_ms(json_object_get(e, "since"), since, sizeof(since)),
		       (long long)json_integer_value(json_object_get(e, "weight")),
		       json_is_true(json_object_get(e, "drained")) ? "yes" : "no", ramp,
		       str_or(e, "last_error", "-"));
	}
	printf("(* saved state, not probed yet; ? no state: assumed up until a probe succeeds\n"
	       " or `fall` probes fail; aborted@N: a failed ramp drained it, ramp --resume goes on)\n");
}

static void show_endpoint(const json_t *res)
{
	const json_t *e = json_object_get(res, "endpoint");
	char ramp[32];
	ramp_text(e, ramp, sizeof(ramp));
	printf("%s: %s, weight %lld, %s, ramp %s, load %lld\n", str_or(res, "key", "?"),
	       str_or(e, "state", "?"), (long long)json_integer_value(json_object_get(e, "weight")),
	       json_is_true(json_object_get(e, "drained")) ? "drained" : "not drained", ramp,
	       (long long)json_integer_value(json_object_get(e, "load")));
}

static void show_explain(const json_t *res)
{
	fputs(str_or(res, "trace_text", ""), stdout);
	printf("rcode %s, ECS scope /%lld%s\n", str_or(res, "rcode", "?"),
	       (long long)json_integer_value(json_object_get(res, "scope")),
	       json_is_true(json_object_get(res, "fallback")) ? ", all-down fallback" : "");
	size_t i;
	json_t *rr;
	printf("answer:\n");
	json_array_foreach(json_object_get(res, "answer"), i, rr)
		printf("  %s %lld IN %s %s\n", str_or(rr, "name", "?"),
		       (long long)json_integer_value(json_object_get(rr, "ttl")),
		       str_or(rr, "type", "?"), str_or(rr, "data", "?"));
}

/* vane-resolver's stats: a flat object of counters (told apart from vaned's
 * by its "cache_entries"). */
static void show_resolver_stats(const json_t *res)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)res, key, v)
		if (json_is_integer(v))
			printf("%-18s %lld\n", key, (long long)json_integer_value(v));
}

static void show_cache_dump(const json_t *res)
{
	size_t i;
	json_t *e;
	printf("%-40s %5s %-10s %5s %8s %5s %6s %7s\n", "NAME", "TYPE", "KIND",
	       "RCODE", "TTL", "SCOPE", "HITS", "BYTES");
	json_array_foreach(json_object_get(res, "entries"), i, e)
		printf("%-40s %5lld %-10s %5lld %8lld %5lld %6lld %7lld\n",
		       str_or(e, "name", "?"),
		       (long long)json_integer_value(json_object_get(e, "type")),
		       str_or(e, "kind", "?"),
		       (long long)json_integer_value(json_object_get(e, "rcode")),
		       (long long)json_integer_value(json_object_get(e, "ttl")),
		       (long long)json_integer_value(json_object_get(e, "scope")),
		       (long long)json_integer_value(json_object_get(e, "hits")),
		       (long long)json_integer_value(json_object_get(e, "bytes")));
	printf("%zu entries\n", json_array_size(json_object_get(res, "entries")));
}

static bool is_admin_verb(const char *verb)
{
	static const char *const verbs[] = { "drain", "undrain", "weight", "ramp", "load", NULL };
	for (unsigned i = 0; verbs[i]; i++)
		if (strcmp(verb, verbs[i]) == 0)
			return true;
	return false;
}

/* `providers plan`: one line per feature; `providers`: one block per
 * provider. */
static void show_providers(const json_t *res)
{
	size_t i, k, n;
	json_t *p, *s, *it;
	if (json_array_size(json_object_get(res, "providers")) == 0)
		printf("no providers configured (providers: in the config)\n");
	json_array_foreach(json_object_get(res, "providers"), i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));
		json_t *svcs = json_object_get(p, "services");
		if (svcs) {
			json_array_foreach(svcs, k, s) {
				printf("%s  %s  (%s)\n", name,
				       json_string_value(json_object_get(s, "service")),
				       json_string_value(json_object_get(s, "overall")));
				json_array_foreach(json_object_get(s, "items"), n, it)
					printf("  %-12s %-12s %s\n",
					       json_string_value(json_object_get(it, "feature")),
					       json_string_value(json_object_get(it, "fidelity")),
					       json_string_value(json_object_get(it, "text")));
			}
			continue;
		}
		json_t *d = json_object_get(p, "drift");
		const char *err = json_string_value(json_object_get(p, "error"));
		printf("%s (%s) %s\n  last push: %s", name,
		       json_string_value(json_object_get(p, "type")),
		       json_string_value(json_object_get(p, "api")),
		       json_string_value(json_object_get(p, "last_result")));
		if (json_integer_value(json_object_get(p, "last_ok_ms")))
			printf(", %.1f s since the last success",
			       (double)json_integer_value(json_object_get(p, "since_ok_ms")) / 1000);
		else
			printf(", none succeeded yet");
		printf("%s\n", json_is_true(json_object_get(p, "pending")) ? ", change pending" : "");
		if (err)
			printf("  error: %s\n", err);
		json_array_foreach(json_object_get(p, "zones"), k, s) {
			printf("  zone %s: serial ", json_string_value(json_object_get(s, "zone")));
			print_value(json_object_get(s, "serial"));
			printf(", lag ");
			print_value(json_object_get(s, "serial_lag"));
			printf("\n");
		}
		const char *last = json_string_value(json_object_get(d, "last_mismatch"));
		printf("  drift: %s (%lld checks; mismatches: %lld api, %lld serial, %lld of %lld "
		       "ECS samples)%s%s\n", json_string_value(json_object_get(d, "state")),
		       (long long)json_integer_value(json_object_get(d, "checks")),
		       (long long)json_integer_value(json_object_get(d, "api_mismatches")),
		       (long long)json_integer_value(json_object_get(d, "serial_mismatches")),
		       (long long)json_integer_value(json_object_get(d, "ecs_mismatches")),
		       (long long)json_integer_value(json_object_get(d, "ecs_samples")),
		       last && *last ? "\n  last mismatch: " : "", last && *last ? last : "");
	}
}

/* `cluster`: one row per node, then what waits for etcd. */
static void show_cluster(const json_t *res)
{
	if (!json_is_string(json_object_get(res, "cluster"))) {
		printf("not in a cluster (no cluster: section)\n");
		return;
	}
	printf("cluster %s, node %s: etcd %s, state revision %lld%s\n",
	       str_or(res, "cluster", "?"), str_or(res, "node", "?"),
	       json_is_true(json_object_get(res, "available")) ? "reachable"
							       : "UNREACHABLE (serving the last state)",
	       (long long)json_integer_value(json_object_get(res, "revision")),
	       json_integer_value(json_object_get(res, "config_differs"))
	       ? "; ALERT: a node's config differs" : "");
	printf("%-16s %-10s %-9s %-6s %-8s %-12s %s\n", "NODE", "LAST SEEN", "LEASE", "REV",
	       "VERSION", "CONFIG", "STATE SOURCE");
	size_t i;
	json_t *n;
	json_array_foreach(json_object_get(res, "nodes"), i, n) {
		char seen[32] = "-", lease[32] = "-", node[80];
		json_t *ls = json_object_get(n, "last_seen_s");
		if (json_is_true(json_object_get(n, "self")))
			snprintf(seen, sizeof(seen), "(self)");
		else if (json_is_integer(ls))
			snprintf(seen, sizeof(seen), "%llds ago", (long long)json_integer_value(ls));
		if (json_is_integer(json_object_get(n, "lease_ttl_s")))
			snprintf(lease, sizeof(lease), "%llds",
				 (long long)json_integer_value(json_object_get(n, "lease_ttl_s")));
		snprintf(node, sizeof(node), "%s", str_or(n, "node", "?"));
		printf("%-16s %-10s %-9s %-6lld %-8s %-12.12s %s\n", node, seen, lease,
		       (long long)json_integer_value(json_object_get(n, "revision")),
		       str_or(n, "version", "?"),
		       json_is_true(json_object_get(n, "config_differs")) ? "DIFFERS"
									   : str_or(n, "config_digest", "?"),
		       str_or(n, "state_source", "?"));
	}
	json_array_foreach(json_object_get(res, "local_changes"), i, n)
		printf("--local, not yet reconciled: %s (for %llds)\n", str_or(n, "key", "?"),
		       (long long)json_integer_value(json_object_get(n, "age_s")));
}

static void show(const char *verb, const json_t *res)
{
	bool ok = json_is_true(json_object_get(res, "ok"));
	if (ok && strcmp(verb, "health") == 0) {
		show_health(res);
		return;
	}
	if (ok && is_admin_verb(verb)) {
		show_endpoint(res);
		return;
	}
	if (ok && strcmp(verb, "explain") == 0) {
		show_explain(res);
		return;
	}
	if (ok && strcmp(verb, "plan-change") == 0) {
		fputs(str_or(res, "text", ""), stdout);
		return;
	}
	if (ok && strcmp(verb, "providers") == 0) {
		show_providers(res);
		return;
	}
	if (ok && strcmp(verb, "cluster") == 0) {
		show_cluster(res);
		return;
	}
	if (ok && strncmp(verb, "latency", 7) == 0) {
		printf("ok: %lld latency cells\n", (long long)json_integer_value(json_object_get(res, "cells")));
		return;
	}
	/* vane-resolver verbs */
	if (ok && strcmp(verb, "stats") == 0 && json_object_get(res, "cache_entries")) {
		show_resolver_stats(res);
		return;
	}
	if (ok && strcmp(verb, "flush") == 0) {
		printf("flushed %lld entries\n",
		       (long long)json_integer_value(json_object_get(res, "removed")));
		return;
	}
	if (ok && strcmp(verb, "cache-dump") == 0) {
		show_cache_dump(res);
		return;
	}
	if (strcmp(verb, "status") == 0)
		show_status(res);
	else if (strcmp(verb, "zone-status") == 0)
		show_zones(res, true);
	else if (strcmp(verb, "reload") == 0)
		show_zones(res, false);
	else if (strcmp(verb, "stats") == 0)
		show_stats(res);
	else if (strcmp(verb, "stop") == 0)
		printf("stopping\n");
	else if (json_is_true(json_object_get(res, "ok"))) {
		char *s = json_dumps(res, JSON_INDENT(2));
		printf("%s\n", s ? s : "");
		free(s);
	}
}

static char *socket_from_config(const char *path)
{
	struct vane_conf *conf = NULL;
	if (conf_load(path, NULL, NULL, &conf) != 0) {
		fail("cannot read configuration %s", path);
		return NULL;
	}
	char *sock = strdup(conf->control);
	conf_free(conf);
	return sock;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "commands", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL, *config = NULL;
	bool json = false;
	int opt;
	/* '+': options stop at the verb, so verb arguments pass through. */
	while ((opt = getopt_long(argc, argv, "+s:c:jhV", opts, NULL)) != -1) {
		switch (opt) {
		case 's': sock = optarg; break;
		case 'c': config = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("vanectl %s\n", VANE_VERSION); return 0;
		case 'C':
			if (ctl_write_reference(stdout, optarg) != 0) {
				fprintf(stderr, "error: --commands takes md or man\n");
				return 2;
			}
			return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	/* help needs no server: the table is compiled in. */
	if (strcmp(argv[optind], "help") == 0 && optind + 1 == argc) {
		print_commands(stdout);
		return 0;
	}
	if (sock == NULL && config == NULL) {
		if (access(DEFAULT_CONFIG, R_OK) != 0)
			return fail("%s", "no control socket: give -s SOCKET or -c CONFIG");
		config = DEFAULT_CONFIG;
	}
	char *sock_alloc = NULL;
	if (sock == NULL) {
		sock = sock_alloc = socket_from_config(config);
		if (sock == NULL)
			return 1;
	}

	/* `--json` may also follow the verb (vanectl health --json). */
	int nargs = optind;
	for (int i = optind; i < argc; i++) {
		if (i > optind && (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0))
			json = true;
		else
			argv[nargs++] = argv[i];
	}
	argc = nargs;

	/* One line: the verb and its arguments, space separated. */
	size_t need = 2;
	for (int i = optind; i < argc; i++)
		need += strlen(argv[i]) + 1;
	char *line = malloc(need);
	int status = 1;
	char *reply = NULL;
	json_t *res = NULL;
	if (line == NULL)
		goto out;
	line[0] = '\0';
	for (int i = optind; i < argc; i++) {
		if (strpbrk(argv[i], " \t\r\n")) {
			fail("argument contains white space: %s", argv[i]);
			goto out;
		}
		strcat(line, argv[i]);
		strcat(line, i + 1 < argc ? " " : "\n");
	}

	reply = transact(sock, line);
	if (reply == NULL)
		goto out;
	json_error_t jerr;
	res = json_loads(reply, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!json_is_object(res)) {
		fail("bad reply from server: %s", jerr.text);
		goto out;
	}
	bool ok = json_is_true(json_object_get(res, "ok"));
	if (json)
		fputs(reply, stdout);
	else
		show(argv[optind], res);
	if (!ok) {
		const char *msg = json_string_value(json_object_get(res, "error"));
		const char *code = json_string_value(json_object_get(res, "code"));
		fail("%s", msg ? msg : "command failed");
		/* The one mapping of ctl/cmd.c; a reply without a class (an
		 * older server, vane-resolver) is a refusal. */
		status = code ? ctl_exit_code(ctl_status_from_name(code)) : 1;
		if (status == 0)
			status = 1;
	} else {
		status = 0;
	}
out:
	json_decref(res);
	free(reply);
	free(line);
	free(sock_alloc);
	return status;
}
