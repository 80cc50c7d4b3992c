/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Configuration loader: values, defaults, paths, and every kind of error. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf/conf.h"
#include "conf/schema.h"
#include "steer/build.h"
#include "steer/latency_load.h"

static char tmpdir[] = "/tmp/vane-test-conf-XXXXXX";
static char path[512];

/* Every reported error, one "file:line: message\n" per error. */
static char errs[8192];
static unsigned nerrs;

static void collect(void *ctx, const char *file, unsigned long line, const char *msg)
{
	size_t n = strlen(errs);
	snprintf(errs + n, sizeof(errs) - n, "%s:%lu: %s\n", file, line, msg);
	nerrs++;
	(void)ctx;
}

static int setup(void **state)
{
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(path, sizeof(path), "%s/vaned.conf", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	return rmdir(tmpdir);
}

/* Write `text` as the config and load it, collecting errors. */
static int load(const char *text, struct vane_conf **conf)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	errs[0] = '\0';
	nerrs = 0;
	*conf = NULL;
	return conf_load(path, collect, NULL, conf);
}

/* The config must fail with exactly `count` errors, one of which is
 * "path:line: msg" (msg may be a prefix of the message). */
static void expect_error(const char *text, unsigned count, unsigned long line, const char *msg)
{
	struct vane_conf *conf;
	char want[1024];

	int ret = load(text, &conf);
	assert_int_equal(ret, VANE_ESYNTAX);
	assert_null(conf);
	snprintf(want, sizeof(want), "%s:%lu: %s", path, line, msg);
	if (!strstr(errs, want) || nerrs != count) {
		print_error("want %u errors including:\n  %s\ngot %u:\n%s", count, want, nerrs, errs);
		fail();
	}
}

static void test_good(void **state)
{
	struct vane_conf *conf;
	char want[600];
	const char *text =
		"# example\n"
		"server:\n"
		"  listen: [ \"127.0.0.1@5300\", \"::1@5300\" ]\n"
		"  udp-workers: 2\n"
		"  tcp-max-clients: 1000\n"
		"  tcp-idle-timeout: 10s\n"
		"  control: run/vaned.sock        # relative to the config file\n"
		"zones:\n"
		"  - name: example.com\n"
		"    file: zones/example.com.zone\n"
		"  - name: Example.NET.\n"
		"    file: /abs/../srv/./net.zone\n";

	assert_int_equal(load(text, &conf), 0);
	assert_int_equal(nerrs, 0);
	assert_string_equal(conf->path, path);
	assert_string_equal(conf->dir, tmpdir);

	assert_int_equal(conf->nlisten, 2);
	assert_string_equal(conf->listen[0].text, "127.0.0.1@5300");
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&conf->listen[0].addr;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 5300);
	assert_int_equal(sin->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	assert_int_equal(conf->listen[0].addrlen, sizeof(struct sockaddr_in));
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&conf->listen[1].addr;
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 5300);
	assert_memory_equal(&sin6->sin6_addr, &in6addr_loopback, sizeof(struct in6_addr));
	assert_int_equal(conf->listen[1].addrlen, sizeof(struct sockaddr_in6));

	assert_int_equal(conf->udp_workers, 2);
	assert_int_equal(conf->tcp_max_clients, 1000);
	assert_int_equal(conf->tcp_idle_timeout_ms, 10000);
	snprintf(want, sizeof(want), "%s/run/vaned.sock", tmpdir);
	assert_string_equal(conf->control, want);

	/* Defaults of keys not given. */
	assert_int_equal(conf->max_udp_payload, 1232);
	snprintf(want, sizeof(want), "%s/state", tmpdir);
	assert_string_equal(conf->state_dir, want);
	assert_string_equal(conf->log_level, "info");
	assert_null(conf->nsid);
	assert_int_equal(conf->nsid_len, 0);
	assert_null(conf->identity);
	assert_null(conf->version);

	assert_int_equal(conf->nzones, 2);
	assert_string_equal(conf->zones[0].name, "example.com.");
	snprintf(want, sizeof(want), "%s/zones/example.com.zone", tmpdir);
	assert_string_equal(conf->zones[0].file, want);
	assert_int_equal(conf->zones[0].line, 9);
	assert_string_equal(conf->zones[1].name, "example.net.");
	assert_string_equal(conf->zones[1].file, "/srv/net.zone");
	assert_int_equal(conf->zones[1].line, 11);
	conf_free(conf);
}

static void test_defaults_and_options(void **state)
{
	struct vane_conf *conf;

	assert_int_equal(load("zones: []\n", &conf), 0);
	assert_int_equal(conf->nlisten, 1);
	assert_string_equal(conf->listen[0].text, "127.0.0.1@53");
	assert_int_equal(ntohs(((struct sockaddr_in *)&conf->listen[0].addr)->sin_port), 53);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	assert_int_equal(conf->udp_workers, ncpu < 1 ? 1 : ncpu > 64 ? 64 : ncpu);
	assert_int_equal(conf->tcp_max_clients, 1000);
	assert_int_equal(conf->tcp_idle_timeout_ms, 10000);
	assert_int_equal(conf->nzones, 0);
	conf_free(conf);

	const char *text =
		"server:\n"
		"  listen: 192.0.2.1\n"          /* one address without a list */
		"  max-udp-payload: 4096\n"
		"  nsid: hex:0A0b\n"
		"  identity: ns1\n"
		"  version: \"\"\n"
		"  log-level: debug\n"
		"  state-dir: /var/lib/vane\n"
		"  tcp-idle-timeout: 1500\n";    /* bare number: seconds */
	assert_int_equal(load(text, &conf), 0);
	assert_int_equal(conf->nlisten, 1);
	assert_int_equal(ntohs(((struct sockaddr_in *)&conf->listen[0].addr)->sin_port), 53);
	assert_int_equal(conf->max_udp_payload, 4096);
	assert_string_equal(conf->nsid, "hex:0A0b");
	assert_int_equal(conf->nsid_len, 2);
	assert_int_equal(conf->nsid_data[0], 0x0a);
	assert_int_equal(conf->nsid_data[1], 0x0b);
	assert_string_equal(conf->identity, "ns1");
	assert_string_equal(conf->version, "");
	assert_string_equal(conf->log_level, "debug");
	assert_string_equal(conf->state_dir, "/var/lib/vane");
	assert_int_equal(conf->tcp_idle_timeout_ms, 1500000);
	conf_free(conf);

	assert_int_equal(load("server:\n  nsid: ns1.example\n", &conf), 0);
	assert_int_equal(conf->nsid_len, 11);
	assert_memory_equal(conf->nsid_data, "ns1.example", 11);
	conf_free(conf);

	/* An empty section means all defaults. */
	assert_int_equal(load("server:\n", &conf), 0);
	assert_int_equal(conf->max_udp_payload, 1232);
	conf_free(conf);
}

/* rrl: and cookies: are on by default; every key can be set. */
static void test_rrl_cookies(void **state)
{
	struct vane_conf *conf;

	assert_int_equal(load("zones: []\n", &conf), 0);
	assert_int_equal(conf->rrl_rate, 200);
	assert_int_equal(conf->rrl_slip, 2);
	assert_int_equal(conf->rrl_ipv4_prefix, 24);
	assert_int_equal(conf->rrl_ipv6_prefix, 56);
	assert_int_equal(conf->rrl_nexempt, 0);
	assert_int_equal(conf->rrl_table_size, 65536);
	assert_true(conf->cookies_enabled);
	assert_null(conf->cookie_secret);
	assert_false(conf->cookie_has_secret);
	assert_int_equal(conf->cookie_rotate_ms, 86400000);
	assert_false(conf->require_cookie);
	conf_free(conf);

	const char *text =
		"rrl:\n"
		"  rate: 0\n"
		"  slip: 1\n"
		"  ipv4-prefix: 32\n"
		"  ipv6-prefix: 64\n"
		"  exempt: [ 192.0.2.0/24, \"2001:db8::/32\", 198.51.100.7 ]\n"
		"  table-size: 4096\n"
		"cookies:\n"
		"  enabled: false\n"
		"  secret: E5E973E5A6B2A43F48E7DC849E37BFCF\n"
		"  rotate: 2h\n"
		"  require-cookie: true\n";
	assert_int_equal(load(text, &conf), 0);
	assert_int_equal(conf->rrl_rate, 0);
	assert_int_equal(conf->rrl_slip, 1);
	assert_int_equal(conf->rrl_ipv4_prefix, 32);
	assert_int_equal(conf->rrl_ipv6_prefix, 64);
	assert_int_equal(conf->rrl_nexempt, 3);
	assert_string_equal(conf->rrl_exempt[1], "2001:db8::/32");
	assert_int_equal(conf->rrl_table_size, 4096);
	assert_false(conf->cookies_enabled);
	assert_true(conf->cookie_has_secret);
	assert_int_equal(conf->cookie_secret_data[0], 0xe5);
	assert_int_equal(conf->cookie_secret_data[15], 0xcf);
	assert_int_equal(conf->cookie_rotate_ms, 7200000);
	assert_true(conf->require_cookie);
	conf_free(conf);

	expect_error("rrl:\n  exempt: [ 192.0.2.0/33 ]\n", 1, 2,
		     "rrl.exempt[0]: expected ADDR/LEN or ADDR");
	expect_error("rrl:\n  exempt: [ example.com ]\n", 1, 2,
		     "rrl.exempt[0]: expected ADDR/LEN or ADDR");
	expect_error("rrl:\n  ipv4-prefix: 4\n", 1, 2, "rrl.ipv4-prefix: expected an integer 8..32");
	expect_error("cookies:\n  secret: abcd\n", 1, 2, "cookies.secret: expected 32 hex digits");
	expect_error("cookies:\n  secret: zz3bdf9344b678b185a6f5cb60fca715\n", 1, 2,
		     "cookies.secret: invalid hex digit");
	expect_error("cookies:\n  rotate: 10m\n", 1, 2,
		     "cookies.rotate: expected 0 (never) or at least 1h");
	assert_int_equal(load("cookies:\n  rotate: 0\n", &conf), 0);
	assert_int_equal(conf->cookie_rotate_ms, 0);
	conf_free(conf);
}

static void test_value_errors(void **state)
{
	expect_error("server:\n  listen: 127.0.0.1@5300\n  udp-workers: 2\n  udp-workers: two\n",
		     1, 4, "server.udp-workers: duplicate key, first at line 3");
	expect_error("server:\n  listen: 127.0.0.1@5300\n\n  udp-workers: two\n",
		     1, 4, "server.udp-workers: expected an integer 1..64, got \"two\"");
	expect_error("server:\n  udp-workers: 65\n", 1, 2,
		     "server.udp-workers: expected an integer 1..64, got \"65\"");
	expect_error("server:\n  udp-workers: 0\n", 1, 2, "server.udp-workers: expected an integer");
	expect_error("server:\n  udp-workers: -1\n", 1, 2, "server.udp-workers: expected an integer");
	expect_error("server:\n  udp-workers: 99999999999999999999999\n", 1, 2,
		     "server.udp-workers: expected an integer");
	expect_error("server:\n  udp-workers:\n", 1, 2,
		     "server.udp-workers: expected an integer 1..64, got an empty value");
	expect_error("server:\n  udp-workers: [1]\n", 1, 2,
		     "server.udp-workers: expected an integer 1..64, got a list");
	expect_error("server:\n  max-udp-payload: 511\n", 1, 2,
		     "server.max-udp-payload: expected an integer 512..4096");
	expect_error("server:\n  max-udp-payload: 65535\n", 1, 2,
		     "server.max-udp-payload: expected an integer 512..4096");
	expect_error("server:\n  log-level: loud\n", 1, 2,
		     "server.log-level: expected one of error, warning, info, debug, got \"loud\"");
	expect_error("server:\n  control: \"\"\n", 1, 2, "server.control: expected a path");
	expect_error("server:\n  nsid: hex:0a0\n", 1, 2, "server.nsid: expected an even number");
	expect_error("server:\n  nsid: hex:zz\n", 1, 2, "server.nsid: invalid hex digit");
	expect_error("server:\n  nsid: 12345678901234567890123456789012345678901234567890123456789012345\n",
		     1, 2, "server.nsid: expected 1..64 bytes, got more");
	char longhex[200] = "server:\n  nsid: hex:";
	for (int i = 0; i < 65; i++)
		strcat(longhex, "ab");
	strcat(longhex, "\n");
	expect_error(longhex, 1, 2, "server.nsid: expected 1..64 bytes, got more");
	expect_error("server:\n  nsid: \"\"\n", 1, 2, "server.nsid: expected 1..64 bytes, got none");
	expect_error("server:\n  identity: {a: b}\n", 1, 2,
		     "server.identity: expected a string, got a map");
	expect_error("server: [1, 2]\n", 1, 1, "server: expected a map, got a list");
	expect_error("zones: example.com\n", 1, 1, "zones: expected a list of maps, got a scalar");
	expect_error("zones:\n  - example.com\n", 1, 2, "zones[0]: expected a map, got a scalar");
	expect_error("zones:\n  - name: \"bad..name\"\n    file: x\n", 1, 2,
		     "zones[0].name: expected a domain name, got \"bad..name\"");
	expect_error("zones:\n  - name: \"a b\"\n    file: x\n", 1, 2,
		     "zones[0].name: expected a domain name");
}

static void test_durations(void **state)
{
	struct vane_conf *conf;
	static const struct {
		const char *text;
		unsigned ms;
	} good[] = {
		{ "500ms", 500 }, { "10s", 10000 }, { "2m", 120000 }, { "1h", 3600000 },
		{ "1d", 86400000 }, { "30", 30000 }, { "\"7s\"", 7000 },
	};
	char text[128];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "server:\n  tcp-idle-timeout: %s\n", good[i].text);
		assert_int_equal(load(text, &conf), 0);
		assert_int_equal(conf->tcp_idle_timeout_ms, good[i].ms);
		conf_free(conf);
	}
	static const char *const bad[] = { "10x", "s", "1.5s", "-1s", "10 s", "99ms", "2d",
					   "99999999999999999999999h" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "server:\n  tcp-idle-timeout: %s\n", bad[i]);
		expect_error(text, 1, 2, "server.tcp-idle-timeout: expected a duration 100ms..1d");
	}

	uint64_t ms;
	assert_int_equal(conf_parse_duration("0", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_not_equal(conf_parse_duration("", &ms), 0);
	assert_int_not_equal(conf_parse_duration("5ms ", &ms), 0);
	char buf[32];
	conf_format_duration(90000, buf, sizeof(buf));
	assert_string_equal(buf, "90s");
	conf_format_duration(1500, buf, sizeof(buf));
	assert_string_equal(buf, "1500ms");
	conf_format_duration(7200000, buf, sizeof(buf));
	assert_string_equal(buf, "2h");

	bool b;
	assert_int_equal(conf_parse_bool("yes", &b), 0);
	assert_true(b);
	assert_int_equal(conf_parse_bool("False", &b), 0);
	assert_false(b);
	assert_int_not_equal(conf_parse_bool("1", &b), 0);
}

static void test_listen(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[80];
	static const struct {
		const char *in, *canon;
		int family;
	} good[] = {
		{ "127.0.0.1@5300", "127.0.0.1@5300", AF_INET },
		{ "127.0.0.1", "127.0.0.1@53", AF_INET },
		{ "0.0.0.0@1", "0.0.0.0@1", AF_INET },
		{ "::1@5300", "::1@5300", AF_INET6 },
		{ "::1", "::1@53", AF_INET6 },
		{ "[::1]@65535", "::1@65535", AF_INET6 },
		{ "[2001:db8::1]", "2001:db8::1@53", AF_INET6 },
		{ "::", "::@53", AF_INET6 },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(conf_parse_listen(good[i].in, &ss, &len), 0);
		assert_int_equal(ss.ss_family, good[i].family);
		assert_int_equal(len, good[i].family == AF_INET ? sizeof(struct sockaddr_in)
								 : sizeof(struct sockaddr_in6));
		conf_format_addr(&ss, buf, sizeof(buf));
		assert_string_equal(buf, good[i].canon);
	}
	static const char *const bad[] = {
		"", "127.0.0.1:5300", "127.0.0.1@", "127.0.0.1@0", "127.0.0.1@65536",
		"127.0.0.1@+53", "localhost@53", "[127.0.0.1]@53", "[::1", "::1]@53",
		"1.2.3.4@53@53", "256.0.0.1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (conf_parse_listen(bad[i], &ss, &len) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	expect_error("server:\n  listen:\n    - 127.0.0.1@5300\n    - \"127.0.0.1:5300\"\n", 1, 4,
		     "server.listen[1]: expected an address ADDR@PORT or ADDR, got \"127.0.0.1:5300\"");
	expect_error("server:\n  listen: []\n", 1, 2,
		     "server.listen: expected at least 1 entry, got 0");
}

static void test_unknown_keys(void **state)
{
	expect_error("server:\n  udp-worker: 2\n", 1, 2,
		     "server.udp-worker: unknown key (did you mean \"udp-workers\"?)");
	expect_error("servers:\n  udp-workers: 2\n", 1, 1,
		     "servers: unknown key (did you mean \"server\"?)");
	expect_error("zones:\n  - name: a.\n    file: a\n    master: 192.0.2.1\n", 1, 4,
		     "zones[0].master: unknown key");
	expect_error("frobnicate: 1\n", 1, 1, "frobnicate: unknown key\n");
	expect_error("? [a]\n: b\n", 1, 1, "keys must be plain names");
}

static void test_duplicates(void **state)
{
	const char *text =
		"zones:\n"
		"  - name: example.com\n"
		"    file: a.zone\n"
		"  - name: b.example\n"
		"    file: b.zone\n"
		"  - name: EXAMPLE.com.\n"
		"    file: c.zone\n";
	expect_error(text, 1, 6,
		     "zones[2].name: duplicate value \"example.com.\", first at line 2");
	expect_error("server:\n  listen: [ \"127.0.0.1@53\", \"::1\", \"127.0.0.1\" ]\n", 1, 2,
		     "server.listen[2]: duplicate value \"127.0.0.1@53\", first at line 2");
	expect_error("server:\n  log-level: info\nzones: []\nserver:\n  log-level: info\n", 1, 4,
		     "server: duplicate key, first at line 1");
}

static void test_all_errors_reported(void **state)
{
	const char *text =
		"server:\n"
		"  udp-workers: two\n"
		"  tcp-max-clients: 0\n"
		"  bogus: 1\n"
		"zones:\n"
		"  - name: example.com\n"
		"  - file: x.zone\n";
	expect_error(text, 5, 2, "server.udp-workers: expected an integer");
	assert_non_null(strstr(errs, ":3: server.tcp-max-clients: expected an integer 1..100000"));
	assert_non_null(strstr(errs, ":4: server.bogus: unknown key"));
	assert_non_null(strstr(errs, ":6: zones[0].file: missing required key"));
	assert_non_null(strstr(errs, ":7: zones[1].name: missing required key"));
}

static void test_file_errors(void **state)
{
	struct vane_conf *conf;
	char want[600];

	expect_error("", 1, 0, "no configuration");
	expect_error("# only a comment\n", 1, 0, "no configuration");
	expect_error("server:\n  listen: [ \"127.0.0.1@53\"\n  udp-workers: 2\n", 1, 3,
		     "YAML syntax error");
	expect_error("server:\n\tudp-workers: 2\n", 1, 2, "YAML syntax error");
	expect_error("- a\n- b\n", 1, 1, "expected a map of sections");
	expect_error("server: {}\n---\nzones: []\n", 1, 3, "only one YAML document is allowed");
	expect_error("server:\n  identity: \"a\\0b\"\n", 1, 2,
		     "server.identity: value contains a NUL character");

	errs[0] = '\0';
	nerrs = 0;
	snprintf(want, sizeof(want), "%s/missing.conf", tmpdir);
	conf = NULL;
	assert_int_equal(conf_load(want, collect, NULL, &conf), VANE_ENOENT);
	assert_null(conf);
	assert_int_equal(nerrs, 1);
	assert_non_null(strstr(errs, "missing.conf:0: cannot open"));

	errs[0] = '\0';
	nerrs = 0;
	assert_int_not_equal(conf_load(tmpdir, collect, NULL, &conf), 0);
	assert_non_null(strstr(errs, "not a regular file"));
}

static void test_paths(void **state)
{
	static const struct {
		const char *dir, *path, *out;
	} cases[] = {
		{ "/etc/vane", "zones/a.zone", "/etc/vane/zones/a.zone" },
		{ "/etc/vane", "../run/vaned.sock", "/etc/run/vaned.sock" },
		{ "/etc/vane", "./x//y/./z", "/etc/vane/x/y/z" },
		{ "/etc/vane", "/abs/path", "/abs/path" },
		{ "/", "a", "/a" },
		{ "/a", "../../..", "/" },
		{ "/a/b", "c/", "/a/b/c" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = conf_path_join(cases[i].dir, cases[i].path);
		assert_non_null(p);
		assert_string_equal(p, cases[i].out);
		free(p);
	}

	/* A config given by a relative path resolves against the cwd. */
	struct vane_conf *conf;
	char cwd[512];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(load("server:\n  control: ../run/vaned.sock\n", &conf), 0);
	conf_free(conf);
	assert_int_equal(chdir(tmpdir), 0);
	assert_int_equal(conf_load("./vaned.conf", collect, NULL, &conf), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_string_equal(conf->path, path);
	assert_string_equal(conf->control, "/tmp/run/vaned.sock"); /* tmpdir is in /tmp */
	conf_free(conf);
}

/* A later-issue style schema: a list of maps holding a nested map, a list of
 * strings and a list of maps, all from table entries alone. */
struct t_location {
	char *continent;
};

struct t_endpoint {
	char *name;
	unsigned weight;
	bool enabled;
	unsigned line;
};

struct t_service {
	char *name;
	struct t_location location;
	char **tags;
	unsigned ntags;
	struct t_endpoint *endpoints;
	unsigned nendpoints;
	unsigned line;
};

struct t_root {
	struct t_service *services;
	unsigned nservices;
};

static const char *const continents[] = { "AF", "AS", "EU", "NA", "OC", "SA", NULL };

static const struct conf_item t_location_items[] = {
	{ .name = "continent", .type = CONF_ENUM, .flags = CONF_REQUIRED, .values = continents,
	  .offset = offsetof(struct t_location, continent) },
	{ NULL },
};

static const struct conf_item t_endpoint_items[] = {
	{ .name = "name", .type = CONF_STR, .flags = CONF_REQUIRED | CONF_UNIQUE,
	  .offset = offsetof(struct t_endpoint, name) },
	{ .name = "weight", .type = CONF_UINT, .min = 0, .max = 100, .def = "1",
	  .offset = offsetof(struct t_endpoint, weight) },
	{ .name = "enabled", .type = CONF_BOOL, .def = "true",
	  .offset = offsetof(struct t_endpoint, enabled) },
	{ NULL },
};

static const struct conf_item t_endpoint_elem = {
	.name = "endpoint", .type = CONF_MAP, .flags = CONF_LINE, .children = t_endpoint_items,
	.line_off = offsetof(struct t_endpoint, line),
};

static const struct conf_item t_tag_elem = { .name = "tag", .type = CONF_STR };

static const struct conf_item t_service_items[] = {
	{ .name = "name", .type = CONF_DNAME, .flags = CONF_REQUIRED | CONF_UNIQUE,
	  .offset = offsetof(struct t_service, name) },
	{ .name = "location", .type = CONF_MAP, .children = t_location_items,
	  .offset = offsetof(struct t_service, location) },
	{ .name = "tags", .type = CONF_LIST, .elem = &t_tag_elem, .elem_size = sizeof(char *),
	  .offset = offsetof(struct t_service, tags),
	  .count_off = offsetof(struct t_service, ntags) },
	{ .name = "endpoints", .type = CONF_LIST, .elem = &t_endpoint_elem,
	  .elem_size = sizeof(struct t_endpoint), .min = 1,
	  .offset = offsetof(struct t_service, endpoints),
	  .count_off = offsetof(struct t_service, nendpoints) },
	{ NULL },
};

static const struct conf_item t_service_elem = {
	.name = "service", .type = CONF_MAP, .flags = CONF_LINE, .children = t_service_items,
	.line_off = offsetof(struct t_service, line),
};

static const struct conf_item t_root_items[] = {
	{ .name = "services", .type = CONF_LIST, .elem = &t_service_elem,
	  .elem_size = sizeof(struct t_service), .offset = offsetof(struct t_root, services),
	  .count_off = offsetof(struct t_root, nservices) },
	{ NULL },
};

static const struct conf_item t_root = { .name = "", .type = CONF_MAP, .children = t_root_items };

static int load_nested(const char *text, struct t_root *root)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	errs[0] = '\0';
	nerrs = 0;
	memset(root, 0, sizeof(*root));
	return conf_parse_schema(&t_root, path, tmpdir, collect, NULL, root);
}

static void test_nested_schema(void **state)
{
	struct t_root root;
	const char *good =
		"services:\n"
		"  - name: api.example.com\n"
		"    location: {continent: NA}\n"
		"    tags: [blue, green]\n"
		"    endpoints:\n"
		"      - name: us-east\n"
		"        weight: 10\n"
		"      - name: eu-west\n"
		"        enabled: off\n"
		"  - name: www.example.com\n"
		"    location:\n"
		"      continent: EU\n"
		"    endpoints:\n"
		"      - name: us-east\n";

	assert_int_equal(load_nested(good, &root), 0);
	assert_int_equal(root.nservices, 2);
	struct t_service *s = &root.services[0];
	assert_string_equal(s->name, "api.example.com.");
	assert_int_equal(s->line, 2);
	assert_string_equal(s->location.continent, "NA");
	assert_int_equal(s->ntags, 2);
	assert_string_equal(s->tags[1], "green");
	assert_int_equal(s->nendpoints, 2);
	assert_string_equal(s->endpoints[0].name, "us-east");
	assert_int_equal(s->endpoints[0].weight, 10);
	assert_true(s->endpoints[0].enabled);
	assert_int_equal(s->endpoints[0].line, 6);
	assert_int_equal(s->endpoints[1].weight, 1);
	assert_false(s->endpoints[1].enabled);
	/* Same endpoint name in another service is fine. */
	assert_string_equal(root.services[1].endpoints[0].name, "us-east");
	assert_int_equal(root.services[1].ntags, 0);
	conf_free_schema(&t_root, &root);

	/* The absent location map still has its required key checked. */
	assert_int_equal(load_nested("services:\n  - name: a.\n    endpoints:\n      - name: x\n",
				     &root), VANE_ESYNTAX);
	assert_int_equal(nerrs, 1);
	assert_non_null(strstr(errs, ":2: services[0].location.continent: missing required key"));
	conf_free_schema(&t_root, &root);

	const char *bad =
		"services:\n"
		"  - name: api.example.com\n"
		"    location: {continent: XX}\n"
		"    endpoints:\n"
		"      - name: us-east\n"
		"        wieght: 10\n"
		"      - name: us-east\n"
		"        weight: 101\n"
		"        enabled: maybe\n"
		"  - name: b.\n"
		"    location: {continent: EU}\n"
		"    endpoints: []\n";
	assert_int_equal(load_nested(bad, &root), VANE_ESYNTAX);
	static const char *const want[] = {
		":3: services[0].location.continent: expected one of AF, AS, EU, NA, OC, SA, got \"XX\"",
		":6: services[0].endpoints[0].wieght: unknown key (did you mean \"weight\"?)",
		":8: services[0].endpoints[1].weight: expected an integer 0..100, got \"101\"",
		":9: services[0].endpoints[1].enabled: expected a boolean (true or false), got \"maybe\"",
		":7: services[0].endpoints[1].name: duplicate value \"us-east\", first at line 5",
		":12: services[1].endpoints: expected at least 1 entry, got 0",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!strstr(errs, want[i]))
			fail_msg("missing %s in:\n%s", want[i], errs);
	}
	assert_int_equal(nerrs, sizeof(want) / sizeof(want[0]));
	conf_free_schema(&t_root, &root);
}


static const char svc_good[] =
	"zones: []\n"
	"geo:\n"
	"  nets: geo/nets.txt\n"
	"latency:\n"
	"  file: latency.txt\n"
	"checks:\n"
	"  - id: web\n"
	"    type: http\n"
	"    port: 8080\n"
	"    path: /health\n"
	"    expect: 200\n"
	"    interval: 2s\n"
	"    timeout: 1s\n"
	"  - id: resolver\n"
	"    type: dns\n"
	"    query: \"health.example.com A\"\n"
	"    expect: NXDOMAIN\n"
	"services:\n"
	"  - name: API.example.com\n"
	"    ttl: 60\n"
	"    ttl-degraded: 5\n"
	"    policy: [health, geo, weighted]\n"
	"    answers: 2\n"
	"    all-down: empty\n"
	"    ecs: off\n"
	"    sticky: subnet\n"
	"    sticky-prefix-v4: 20\n"
	"    latency-margin: 25ms\n"
	"    shed-low: 0.5\n"
	"    endpoints:\n"
	"      - id: us-east\n"
	"        address: [ 192.0.2.10, \"2001:db8::10\" ]\n"
	"        location: { continent: NA, country: us, lat: 40.7, lon: -74.0 }\n"
	"        weight: 80\n"
	"        priority: 1\n"
	"        capacity: 1000\n"
	"        check: web\n"
	"        check-address: 127.0.0.1\n"
	"      - id: edge\n"
	"        cname: edge.example.net\n"
	"  - name: www.example.com\n"
	"    endpoints:\n"
	"      - id: a\n"
	"        address: 198.51.100.1\n";

static void test_services_good(void **state)
{
	struct vane_conf *conf;
	char want[600];

	assert_int_equal(load(svc_good, &conf), 0);
	assert_int_equal(nerrs, 0);
	assert_null(conf->geo_database);
	snprintf(want, sizeof(want), "%s/geo/nets.txt", tmpdir);
	assert_string_equal(conf->geo_nets, want);
	snprintf(want, sizeof(want), "%s/latency.txt", tmpdir);
	assert_string_equal(conf->latency_file, want);

	assert_int_equal(conf->nchecks, 2);
	const struct conf_check *c = &conf->checks[0];
	assert_string_equal(c->id, "web");
	assert_string_equal(c->type, "http");
	assert_int_equal(c->port, 8080);
	assert_string_equal(c->path, "/health");
	assert_string_equal(c->expect, "200");
	assert_int_equal(c->interval_ms, 2000);
	assert_int_equal(c->timeout_ms, 1000);
	assert_int_equal(c->rise, 2);
	assert_int_equal(c->fall, 2);
	assert_false(c->insecure);
	assert_int_equal(c->line, 7);
	assert_string_equal(conf->checks[1].query, "health.example.com A");
	assert_int_equal(conf->checks[1].port, 0);   /* the type's default */

	assert_int_equal(conf->nservices, 2);
	const struct conf_service *s = &conf->services[0];
	assert_string_equal(s->name, "api.example.com.");
	assert_int_equal(s->line, 19);
	assert_int_equal(s->ttl, 60);
	assert_int_equal(s->ttl_degraded, 5);
	assert_int_equal(s->npolicy, 3);
	assert_string_equal(s->policy[1], "geo");
	assert_int_equal(s->answers, 2);
	assert_string_equal(s->all_down, "empty");
	assert_false(s->ecs);
	assert_string_equal(s->sticky, "subnet");
	assert_int_equal(s->sticky_prefix_v4, 20);
	assert_int_equal(s->sticky_prefix_v6, 56);
	assert_int_equal(s->latency_margin_ms, 25);
	assert_true(s->shed_low == 0.5);
	assert_true(s->shed_high == 1.0);
	assert_int_equal(s->nendpoints, 2);
	const struct conf_endpoint *e = &s->endpoints[0];
	assert_string_equal(e->id, "us-east");
	assert_int_equal(e->line, 31);
	assert_int_equal(e->naddress, 2);
	assert_string_equal(e->address[1], "2001:db8::10");
	assert_string_equal(e->location.continent, "NA");
	assert_string_equal(e->location.country, "US");
	assert_true(e->location.has_lat && e->location.has_lon);
	assert_true(e->location.lon == -74.0);
	assert_int_equal(e->weight, 80);
	assert_int_equal(e->priority, 1);
	assert_int_equal(e->capacity, 1000);
	assert_string_equal(e->check, "web");
	assert_string_equal(e->check_address, "127.0.0.1");
	assert_string_equal(s->endpoints[1].cname, "edge.example.net.");
	assert_int_equal(s->endpoints[1].naddress, 0);

	/* Defaults of the second service. */
	s = &conf->services[1];
	assert_int_equal(s->ttl, 30);
	assert_int_equal(s->ttl_degraded, 0);
	assert_int_equal(s->npolicy, 0);
	assert_int_equal(s->answers, 1);
	assert_string_equal(s->all_down, "open");
	assert_true(s->ecs);
	assert_string_equal(s->sticky, "none");
	assert_int_equal(s->latency_margin_ms, 10);
	assert_true(s->shed_low == 0.8);
	assert_int_equal(s->endpoints[0].weight, 1);
	assert_int_equal(s->endpoints[0].naddress, 1);
	assert_false(s->endpoints[0].location.has_lat);

	/* The builder: prepared services, health indices, keys. */
	struct steer_build b;
	assert_int_equal(steer_build(conf, NULL, collect, NULL, &b), 0);
	assert_int_equal(b.set->n, 2);
	assert_int_equal(b.set->n_ep_total, 3);
	const struct steer_service *svc = &b.set->svc[0];
	assert_int_equal(svc->n_policy, 3);
	assert_int_equal(svc->policy[1], STEER_F_GEO);
	assert_int_equal(svc->all_down, STEER_DOWN_EMPTY);
	assert_int_equal(svc->ep[0].n_v4, 1);
	assert_int_equal(svc->ep[0].n_v6, 1);
	assert_int_equal(svc->ep[0].health, 0);
	assert_int_equal(svc->hot[0].health, 0);
	assert_int_equal(svc->ep[1].health, STEER_NONE);
	assert_true(svc->ep[1].cname_len > 0);
	assert_int_equal(b.set->svc[1].n_policy, 2);   /* [health, weighted] */
	assert_int_equal(b.nhealth, 1);
	assert_string_equal(b.health_key[0], "api.example.com/us-east");
	assert_int_equal(b.target[0].family, AF_INET);
	assert_int_equal(b.target[0].addr[0], 127);
	uint8_t wire[DNAME_MAXLEN];
	int len = dname_from_str("www.example.com.", NULL, wire);
	assert_int_equal(steer_set_find(b.set, wire, (size_t)len, dname_hash(wire, (size_t)len)), 1);

	/* A latency file for these services. */
	char lpath[600];
	snprintf(lpath, sizeof(lpath), "%s/latency.txt", tmpdir);
	FILE *f = fopen(lpath, "w");
	assert_non_null(f);
	fputs("# comment\n"
	      "api.example.com us-east 198.51.100.0/24 12\n"
	      "api.example.com. edge 198.51.100.7/24 30   # same row\n"
	      "api.example.com edge DE 40.4\n"
	      "www.example.com a 2001:db8::/32 5\n", f);
	fclose(f);
	struct steer_latency_table *t = NULL;
	assert_int_equal(steer_latency_load(lpath, b.set, collect, NULL, &t), 0);
	assert_int_equal(t->nsvc, 2);
	assert_int_equal(t->svc[0].nrows, 2);
	assert_int_equal(t->svc[0].rows[0].prefix, 24);     /* network rows first */
	assert_int_equal(t->svc[0].rows[0].lat.rtt_ms[0], 12);
	assert_int_equal(t->svc[0].rows[0].lat.rtt_ms[1], 30);
	assert_string_equal(t->svc[0].rows[1].location, "DE");
	assert_int_equal(t->svc[0].rows[1].lat.rtt_ms[1], 40);
	assert_int_equal(t->svc[0].rows[1].lat.rtt_ms[0], STEER_RTT_UNKNOWN);
	assert_int_equal(steer_latency_cells(t), 4);
	struct steer_latency_table *t2 = NULL;
	assert_int_equal(steer_latency_set(t, b.set, 1, 0, "EU", 7, &t2), 0);
	assert_int_equal(steer_latency_cells(t2), 5);
	struct steer_latency_table *t3 = NULL;
	assert_int_equal(steer_latency_remap(t2, b.set, b.set, &t3), 0);
	assert_int_equal(steer_latency_cells(t3), 5);
	steer_latency_free(t);
	steer_latency_free(t2);
	steer_latency_free(t3);

	f = fopen(lpath, "w");
	fputs("api.example.com us-east 198.51.100.0/24\n"
	      "nope.example.com us-east DE 1\n"
	      "api.example.com nope DE 1\n"
	      "api.example.com us-east 10.0.0.0/33 1\n"
	      "api.example.com us-east DE fast\n", f);
	fclose(f);
	errs[0] = '\0';
	nerrs = 0;
	assert_int_equal(steer_latency_load(lpath, b.set, collect, NULL, &t), VANE_ESYNTAX);
	assert_int_equal(nerrs, 5);
	assert_non_null(strstr(errs, "latency.txt:2: unknown service \"nope.example.com\""));
	assert_non_null(strstr(errs, "latency.txt:3: service api.example.com has no endpoint"));
	assert_non_null(strstr(errs, "latency.txt:4: client \"10.0.0.0/33\""));
	unlink(lpath);
	steer_build_free(&b);
	conf_free(conf);
}

static void test_services_errors(void **state)
{
	const char *head = "checks:\n  - id: web\n    type: tcp\n    port: 80\nservices:\n";
	char text[8192];

#define SVC(body) (snprintf(text, sizeof(text), "%s%s", head, body), text)
	expect_error(SVC("  - name: a.example.\n    endpoints:\n      - id: x\n"), 1, 8,
		     "services[0].endpoints[0]: needs an address or a cname");
	expect_error(SVC("  - name: a.example.\n    endpoints:\n      - id: x\n"
			 "        address: 192.0.2.1\n        cname: b.example.\n"), 1, 8,
		     "services[0].endpoints[0]: give either address or cname, not both");
	expect_error(SVC("  - name: a.example.\n    endpoints:\n      - id: x\n"
			 "        address: 192.0.2.1\n        check: nope\n"), 1, 8,
		     "services[0].endpoints[0].check: unknown check \"nope\"");
	expect_error(SVC("  - name: a.example.\n    endpoints:\n      - id: x\n"
			 "        address: 192.0.2.1\n      - id: x\n        address: 192.0.2.2\n"),
		     1, 10, "services[0].endpoints[1].id: duplicate value \"x\", first at line 8");
	expect_error(SVC("  - name: a.example.\n    endpoints:\n      - id: x\n"
			 "        address: 192.0.2.300\n"), 1, 9,
		     "services[0].endpoints[0].address[0]: expected an IPv4 or IPv6 address");
	expect_error(SVC("  - name: a.example.\n    endpoints:\n      - id: x\n"
			 "        address: 192.0.2.1\n        location: { continent: XX }\n"), 1, 10,
		     "services[0].endpoints[0].location.continent: expected one of AF, AN");
	expect_error(SVC("  - name: a.example.\n    endpoints:\n      - id: x\n"
			 "        address: 192.0.2.1\n        location: { country: DEU }\n"), 1, 10,
		     "services[0].endpoints[0].location.country: expected a two-letter");
	expect_error(SVC("  - name: a.example.\n    endpoints:\n      - id: x\n"
			 "        address: 192.0.2.1\n        location: { lat: 91 }\n"), 1, 10,
		     "services[0].endpoints[0].location.lat: expected a number -90..90");
	expect_error(SVC("  - name: a.example.\n    endpoints:\n      - id: x\n"
			 "        address: 192.0.2.1\n        location: { lat: 50 }\n"), 1, 8,
		     "services[0].endpoints[0].location: lat and lon go together");
	expect_error(SVC("  - name: a.example.\n    policy: [health, geo, health]\n"
			 "    endpoints:\n      - id: x\n        address: 192.0.2.1\n"), 1, 7,
		     "services[0].policy[2]: duplicate value \"health\"");
	expect_error(SVC("  - name: a.example.\n    policy: [health, fastest]\n"
			 "    endpoints:\n      - id: x\n        address: 192.0.2.1\n"), 1, 7,
		     "services[0].policy[1]: expected one of health, geo");
	expect_error(SVC("  - name: a.example.\n    all-down: closed\n"
			 "    endpoints:\n      - id: x\n        address: 192.0.2.1\n"), 1, 7,
		     "services[0].all-down: expected one of open, empty, servfail");
	expect_error(SVC("  - name: a.example.\n    shed-low: 2\n"
			 "    endpoints:\n      - id: x\n        address: 192.0.2.1\n"), 1, 6,
		     "services[0].shed-low: above shed-high");
	expect_error(SVC("  - name: a.example.\n    endpoints:\n      - id: x\n"
			 "        address: 192.0.2.1\n        standby: sometimes\n"), 1, 10,
		     "services[0].endpoints[0].standby: expected one of auto, never");
	expect_error(SVC("  - name: a.example.\n    endpoints:\n      - id: x\n"
			 "        address: 192.0.2.1\n        standby: never\n"), 1, 6,
		     "services[0].endpoints: every endpoint has standby: never");
	expect_error(SVC("  - name: a.example.\n    endpoints:\n      - id: a/b\n"
			 "        address: 192.0.2.1\n"), 1, 8, "services[0].endpoints[0].id: \"a/b\"");
	expect_error(SVC("  - name: a.example.\n  - name: A.example\n    endpoints:\n      - id: x\n"
			 "        address: 192.0.2.1\n"), 2, 7,
		     "services[1].name: duplicate value \"a.example.\"");
	expect_error(SVC("  - name: a.example.\n    endpoints:\n      - id: x\n"
			 "        cname: c.example.\n        check: web\n"), 1, 8,
		     "services[0].endpoints[0].check-address: required for a cname endpoint");
	expect_error("checks:\n  - id: t\n    type: tcp\n", 1, 2, "checks[0].port: required for a tcp check");
	expect_error("checks:\n  - id: d\n    type: dns\n", 1, 2, "checks[0].query: a dns check needs");
	expect_error("checks:\n  - id: h\n    type: http\n    expect: ok\n", 1, 2,
		     "checks[0].expect: expected an HTTP status");
	expect_error("checks:\n  - id: h\n    type: http\n    interval: 1s\n    timeout: 2s\n", 1, 2,
		     "checks[0].timeout: longer than the interval");
	expect_error("checks:\n  - id: e\n    type: exec\n", 1, 2, "checks[0].command: required");

	/* 65 endpoints. */
	size_t n = (size_t)snprintf(text, sizeof(text), "services:\n  - name: a.\n    endpoints:\n");
	for (int i = 0; i < 65; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "      - {id: e%d, address: 192.0.2.1}\n", i);
	char *big = strdup(text);
	expect_error(big, 1, 4, "services[0].endpoints: expected 1..64 entries, got 65");
	free(big);
#undef SVC
}

static void test_reference(void **state)
{
	char *buf = NULL;
	size_t len = 0;

	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	conf_write_reference(f, "md");
	fclose(f);
	assert_non_null(strstr(buf, "## server"));
	assert_non_null(strstr(buf, "### `server.udp-workers`"));
	assert_non_null(strstr(buf, "integer 1..64"));
	assert_non_null(strstr(buf, "number of online CPUs"));
	assert_non_null(strstr(buf, "### `zones[].file`"));
	assert_non_null(strstr(buf, "- Required"));
	assert_non_null(strstr(buf, "`127.0.0.1@53`"));
	free(buf);

	f = open_memstream(&buf, &len);
	assert_non_null(f);
	conf_write_reference(f, "man");
	fclose(f);
	assert_non_null(strstr(buf, ".SH SERVER\n"));
	assert_non_null(strstr(buf, ".B server.tcp\\-idle\\-timeout\n"));
	assert_non_null(strstr(buf, ".B zones[].name\n"));
	/* No line may start with a stray '.' other than a request. */
	assert_null(strstr(buf, "\n.."));
	free(buf);
}

static void note_key(void *ctx, const char *key)
{
	char *buf = ctx;
	strcat(buf, key);
	strcat(buf, " ");
}

/* The restart-only keys a reload warns about are the schema's CONF_RESTART
 * items, compared by value; the reference says "Restart-only" for exactly
 * those. */
static void test_restart_changes(void **state)
{
	struct vane_conf *a, *b;
	char keys[512] = "";
	assert_int_equal(load("server:\n  listen: [ \"127.0.0.1@5300\" ]\n  udp-workers: 2\n"
			      "  tcp-idle-timeout: 5s\n", &a), 0);
	assert_int_equal(load("server:\n  listen: [ \"127.0.0.1@5300\" ]\n  udp-workers: 2\n"
			      "  tcp-idle-timeout: 9s\n", &b), 0);
	conf_restart_changes(&conf_schema_root, a, b, note_key, keys);
	assert_string_equal(keys, "");   /* tcp-idle-timeout applies at reload */
	conf_free(b);
	assert_int_equal(load("server:\n  listen: [ \"127.0.0.1@5300\", \"::1@5300\" ]\n"
			      "  udp-workers: 3\n  log: syslog\nhttp:\n  listen: \"127.0.0.1@8053\"\n",
			      &b), 0);
	conf_restart_changes(&conf_schema_root, a, b, note_key, keys);
	assert_string_equal(keys, "server.listen server.udp-workers server.log http.listen ");
	conf_free(a);
	conf_free(b);

	char *doc = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&doc, &len);
	conf_write_reference(f, "md");
	fclose(f);
	unsigned n = 0;
	for (const char *p = doc; (p = strstr(p, "Restart-only")); p++)
		n++;
	/* listen, udp-workers, control, log, user, http x3, dnstap, rrl x6, the
	 * 13 anycast keys (read once when the anycast runtime starts), and
	 * cluster name, node, etcd, lease, cert, key, ca, and the 11 keys of a
	 * provider (its thread holds a copy from the start). */
	assert_int_equal(n, 46);
	free(doc);
}

static void test_anycast(void **state)
{
	struct vane_conf *c;
	/* Off by default. */
	assert_int_equal(load("server:\n  listen: [ \"127.0.0.1@5300\" ]\n", &c), 0);
	assert_int_equal(c->nanycast_addr, 0);
	assert_int_equal(c->nlisten, 1);
	conf_free(c);
	assert_int_equal(load("server:\n  listen: [ \"127.0.0.1@5300\", \"203.0.113.54\" ]\n"
			      "anycast:\n  addresses: [ 203.0.113.53, 203.0.113.54 ]\n"
			      "  self-check: { name: whoami.example.com, interval: 200ms, rise: 3, "
			      "fall: 2 }\n  hold-down: 10s\n  drain-time: 2s\n"
			      "  peers: [ \"http://127.0.0.1:8053\" ]\n", &c), 0);
	assert_int_equal(c->nanycast_addr, 2);
	/* The anycast addresses join listen, once. */
	assert_int_equal(c->nlisten, 3);
	assert_string_equal(c->listen[2].text, "203.0.113.53");
	assert_string_equal(c->anycast_check_name, "whoami.example.com.");
	assert_int_equal(c->anycast_check_interval_ms, 200);
	assert_int_equal(c->anycast_hold_down_ms, 10000);
	assert_int_equal(c->anycast_drain_ms, 2000);
	assert_string_equal(c->anycast_protocol, "anycast");
	assert_string_equal(c->anycast_bird_socket, "/run/bird/bird.ctl");
	assert_null(c->anycast_uplink);
	assert_int_equal(c->nanycast_peers, 1);
	conf_free(c);
	/* The canary is required with addresses. */
	assert_int_not_equal(load("anycast:\n  addresses: [ 203.0.113.53 ]\n", &c), 0);
	assert_non_null(strstr(errs, "anycast.self-check.name"));
	assert_int_not_equal(load("anycast:\n  addresses: [ 203.0.113.53 ]\n"
				  "  self-check: { name: whoami.example.com, rise: 0 }\n", &c), 0);
	assert_int_not_equal(load("anycast:\n  addresses: [ 203.0.113.53 ]\n"
				  "  protocol: \"any\\\"cast\"\n"
				  "  self-check: { name: whoami.example.com }\n", &c), 0);
	assert_non_null(strstr(errs, "not a BIRD protocol name"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_defaults_and_options),
		cmocka_unit_test(test_rrl_cookies),
		cmocka_unit_test(test_value_errors),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_nested_schema),
		cmocka_unit_test(test_services_good),
		cmocka_unit_test(test_services_errors),
		cmocka_unit_test(test_reference),
		cmocka_unit_test(test_restart_changes),
		cmocka_unit_test(test_anycast),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
