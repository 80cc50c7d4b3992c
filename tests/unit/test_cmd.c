/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for ctl/: the command table (typed arguments, usage), the one
 * mapping of errors to HTTP status and vanectl exit codes, HTTP routing
 * (404, 405 with the allowed method, path and body fields), and the
 * generated reference.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl/cmd.h"
#include "ctl/http.h"

static int parse(const char *verb, const char *line, struct ctl_args *a, char *err)
{
	static char buf[512];
	char *argv[16];
	int argc = 0;
	snprintf(buf, sizeof(buf), "%s %s", verb, line);
	for (char *t = strtok(buf, " "); t && argc < 16; t = strtok(NULL, " "))
		argv[argc++] = t;
	const struct ctl_cmd *cmd = ctl_cmd_by_name(verb);
	assert_non_null(cmd);
	return ctl_parse(cmd, argc, argv, a, err, 256);
}

static void test_every_command_is_complete(void **unused)
{
	unsigned n = 0;
	bool seen[CMD_COUNT] = { false };
	for (const struct ctl_cmd *c = ctl_cmds; c->help; c++, n++) {
		assert_true(c->id < CMD_COUNT);
		assert_false(seen[c->id]);
		seen[c->id] = true;
		assert_non_null(c->reply);
		assert_true(c->name || c->route);   /* reachable somehow */
		if (c->route) {
			assert_true(strcmp(c->method, "GET") == 0 || strcmp(c->method, "POST") == 0);
			/* Writes are POSTs and reads GETs: a GET never changes state. */
			assert_int_equal(c->writes, strcmp(c->method, "POST") == 0);
		}
	}
	for (unsigned i = 0; i < CMD_COUNT; i++)
		assert_true(seen[i]);
	assert_int_equal(n, CMD_COUNT);
	assert_null(ctl_cmd_by_name("no-such-verb"));
	assert_ptr_equal(ctl_cmd_by_id(CMD_RAMP), ctl_cmd_by_name("ramp"));
}

static void test_typed_arguments(void **unused)
{
	struct ctl_args a;
	char err[256];
	assert_int_equal(parse("weight", "api.example.com/us-east 80", &a, err), 0);
	assert_string_equal(a.v[0].str, "api.example.com/us-east");
	assert_int_equal(a.v[1].u, 80);

	assert_int_equal(parse("ramp", "svc/ep --every 90s --steps 5,25,100", &a, err), 0);
	assert_int_equal(a.v[1].nsteps, 3);
	assert_int_equal(a.v[1].steps[2], 100);
	assert_int_equal(a.v[2].u, 90000);

	assert_int_equal(parse("explain", "www.example.com AAAA --client 2001:db8::1 --ecs 198.51.100.0/24",
			       &a, err), 0);
	assert_int_equal(a.v[1].u, 28);
	assert_true(a.v[3].set);
	assert_int_equal(a.v[3].u, 24);

	assert_int_equal(parse("latency", "api.example.com us-east FR 12ms", &a, err), 0);
	assert_int_equal(a.v[3].u, 12);
	assert_int_equal(parse("latency", "api.example.com us-east FR unknown", &a, err), 0);
	assert_int_equal(a.v[3].u, UINT32_MAX);

	assert_int_equal(parse("zone-status", "example.com example.org", &a, err), 0);
	assert_int_equal(a.v[0].nrest, 2);
	assert_string_equal(a.v[0].rest[1], "example.org");
	assert_int_equal(parse("zone-status", "", &a, err), 0);
	assert_false(a.v[0].set);
}

static void test_bad_arguments_say_what_is_wanted(void **unused)
{
	struct ctl_args a;
	char err[256];
	assert_int_equal(parse("weight", "svc/ep", &a, err), VANE_EINVAL);
	assert_string_equal(err, "usage: weight SERVICE/ENDPOINT WEIGHT [--local]");
	assert_int_equal(parse("weight", "svc/ep -3", &a, err), VANE_EINVAL);
	assert_non_null(strstr(err, "non-negative integer"));
	assert_int_equal(parse("ramp", "svc/ep --steps 5,250 --every 1m", &a, err), VANE_EINVAL);
	assert_int_equal(parse("ramp", "svc/ep --steps 5 --every soon", &a, err), VANE_EINVAL);
	assert_non_null(strstr(err, "duration"));
	/* steps and every are optional in the table (--resume needs neither);
	 * the handler checks the combination. */
	assert_int_equal(parse("ramp", "svc/ep --steps 5", &a, err), 0);
	assert_false(a.v[3].set);
	assert_int_equal(parse("ramp", "svc/ep --resume", &a, err), 0);
	assert_true(a.v[3].set);
	assert_int_equal(a.v[3].u, 1);
	assert_false(a.v[1].set);
	assert_int_equal(parse("drain", "nokey", &a, err), VANE_EINVAL);
	assert_int_equal(parse("drain", "a/b extra", &a, err), VANE_EINVAL);
	assert_int_equal(parse("explain", "x.example A --client 300.1.1.1", &a, err), VANE_EINVAL);
	assert_int_equal(parse("explain", "x.example NOTATYPE --client 192.0.2.1", &a, err),
			 VANE_EINVAL);
	assert_int_equal(parse("explain", "x.example A --client 192.0.2.1 --ecs 192.0.2.0/33", &a,
			       err), VANE_EINVAL);
	assert_int_equal(parse("status", "extra", &a, err), VANE_EINVAL);
}

/* One place maps errors: class, HTTP status, exit code. */
static void test_error_mapping(void **unused)
{
	static const struct { int err; enum ctl_status st; unsigned http; int exit; } cases[] = {
		{ 0, CTL_OK, 200, 0 },
		{ VANE_ENOENT, CTL_NOT_FOUND, 404, 1 },
		{ VANE_EINVAL, CTL_BAD_INPUT, 400, 1 },
		{ VANE_ESYNTAX, CTL_BAD_INPUT, 400, 1 },
		{ VANE_EBUSY, CTL_CONFLICT, 409, 1 },
		{ VANE_EAGAIN, CTL_UNAVAILABLE, 503, 3 },
		{ VANE_ENOMEM, CTL_INTERNAL, 500, 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum ctl_status st = ctl_status_of(cases[i].err);
		assert_int_equal(st, cases[i].st);
		assert_int_equal(ctl_http_status(st), cases[i].http);
		assert_int_equal(ctl_exit_code(st), cases[i].exit);
		assert_int_equal(ctl_status_from_name(ctl_status_name(st)), st);
	}
	assert_int_equal(ctl_status_from_name("gibberish"), CTL_INTERNAL);
}

static void test_http_find(void **unused)
{
	unsigned st;
	const char *allow = NULL;
	const struct ctl_cmd *c = http_find("GET", "/api/v1/status", &st, &allow);
	assert_non_null(c);
	assert_int_equal(c->id, CMD_STATUS);
	assert_non_null(http_find("HEAD", "/api/v1/health", &st, &allow));
	c = http_find("POST", "/api/v1/endpoints/api.example.com/us-east/drain", &st, &allow);
	assert_non_null(c);
	assert_int_equal(c->id, CMD_DRAIN);
	/* A known route with the wrong method: 405 and the method it takes. */
	assert_null(http_find("GET", "/api/v1/drain", &st, &allow));
	assert_int_equal(st, 405);
	assert_string_equal(allow, "POST");
	assert_null(http_find("DELETE", "/api/v1/status", &st, &allow));
	assert_int_equal(st, 405);
	assert_string_equal(allow, "GET");
	assert_null(http_find("GET", "/api/v1/nothing", &st, &allow));
	assert_int_equal(st, 404);
	assert_null(http_find("POST", "/api/v1/endpoints/only-one/drain", &st, &allow));
	assert_int_equal(st, 404);
}

static const char *no_args(void *ctx, const char *name)
{
	return NULL;
}

static const char *query(void *ctx, const char *name)
{
	return strcmp(name, "name") == 0 ? "api.example.com" : NULL;
}

static void test_http_bind(void **unused)
{
	struct http_call call;
	char err[256];
	const struct ctl_cmd *weight = ctl_cmd_by_name("weight");
	assert_int_equal(http_bind(weight, "/api/v1/weight",
				   "{\"service\":\"api.example.com\",\"endpoint\":\"eu\",\"weight\":\"7\"}",
				   no_args, NULL, "192.0.2.9", &call, err, sizeof(err)), 200);
	assert_string_equal(call.args.v[0].str, "api.example.com/eu");
	assert_int_equal(call.args.v[1].u, 7);
	http_call_clear(&call);

	/* The key from the path, the value from the body. */
	assert_int_equal(http_bind(weight, "/api/v1/endpoints/api.example.com/eu/weight",
				   "{\"weight\":12}", no_args, NULL, "192.0.2.9", &call, err,
				   sizeof(err)), 200);
	assert_string_equal(call.args.v[0].str, "api.example.com/eu");
	assert_int_equal(call.args.v[1].u, 12);
	http_call_clear(&call);

	const struct ctl_cmd *ramp = ctl_cmd_by_name("ramp");
	assert_int_equal(http_bind(ramp, "/api/v1/ramp",
				   "{\"service\":\"s\",\"endpoint\":\"e\",\"steps\":[10,50,100],\"every\":30}",
				   no_args, NULL, "", &call, err, sizeof(err)), 200);
	assert_int_equal(call.args.v[1].nsteps, 3);
	assert_int_equal(call.args.v[2].u, 30000);
	http_call_clear(&call);

	assert_int_equal(http_bind(weight, "/api/v1/weight", "{\"service\":\"s\"}", no_args, NULL,
				   "", &call, err, sizeof(err)), 400);
	assert_string_equal(err, "missing \"endpoint\"");
	assert_int_equal(http_bind(weight, "/api/v1/weight", "{\"service\":", no_args, NULL, "",
				   &call, err, sizeof(err)), 400);
	assert_non_null(strstr(err, "malformed JSON"));
	assert_int_equal(http_bind(weight, "/api/v1/weight",
				   "{\"service\":\"s\",\"endpoint\":\"e\",\"weight\":-1}", no_args,
				   NULL, "", &call, err, sizeof(err)), 400);

	/* Defaults that only HTTP has: explain's type and client. */
	/* resume: true in the body is the --resume flag; false is absent. */
	assert_int_equal(http_bind(ramp, "/api/v1/endpoints/a.example/x/ramp", "{\"resume\": true}",
				   query, NULL, "198.51.100.4", &call, err, sizeof(err)), 200);
	assert_true(call.args.v[3].set);
	http_call_clear(&call);
	assert_int_equal(http_bind(ramp, "/api/v1/endpoints/a.example/x/ramp",
				   "{\"resume\": false, \"steps\": [5, 100], \"every\": \"1m\"}",
				   query, NULL, "198.51.100.4", &call, err, sizeof(err)), 200);
	assert_false(call.args.v[3].set);
	assert_int_equal(call.args.v[1].nsteps, 2);
	http_call_clear(&call);
	assert_int_equal(http_bind(ramp, "/api/v1/endpoints/a.example/x/ramp", "{\"resume\": 7}",
				   query, NULL, "198.51.100.4", &call, err, sizeof(err)), 400);
	http_call_clear(&call);
	const struct ctl_cmd *explain = ctl_cmd_by_name("explain");
	assert_int_equal(http_bind(explain, "/api/v1/explain", NULL, query, NULL, "198.51.100.4",
				   &call, err, sizeof(err)), 200);
	assert_int_equal(call.args.v[1].u, 1);
	assert_string_equal(call.args.v[2].str, "198.51.100.4");
	assert_false(call.args.v[3].set);
	http_call_clear(&call);
}

static void test_reference_lists_every_command(void **unused)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(ctl_write_reference(f, "md"), 0);
	fclose(f);
	for (const struct ctl_cmd *c = ctl_cmds; c->help; c++)
		if (c->route)
			assert_non_null(strstr(buf, c->route));
	assert_non_null(strstr(buf, "`ramp SERVICE/ENDPOINT [--steps STEPS] [--every EVERY] "
				    "[--resume] [--local]`"));
	free(buf);
	assert_int_equal(ctl_write_reference(stdout, "pdf"), VANE_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_command_is_complete),
		cmocka_unit_test(test_typed_arguments),
		cmocka_unit_test(test_bad_arguments_say_what_is_wanted),
		cmocka_unit_test(test_error_mapping),
		cmocka_unit_test(test_http_find),
		cmocka_unit_test(test_http_bind),
		cmocka_unit_test(test_reference_lists_every_command),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
