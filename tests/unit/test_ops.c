/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for ops/: the operator verbs on a real steering layout (built
 * from a config by the snapshot builder), what they publish and record,
 * the state file they persist, and state carried across a reload by name.
 * A private libuv loop runs the runtime; no sockets, no probes (no checks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "daemon/snapshot.h"
#include "ops/ops.h"
#include "rt/clock.h"

static char dir[] = "/tmp/vane-test-ops-XXXXXX";

static const char zone[] =
	"$ORIGIN example.com.\n$TTL 300\n"
	"@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n";

static void write_file(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A config with service api.example.com and endpoints `eps` ("id addr" per
 * line). */
static void write_conf(const char *eps)
{
	char buf[2048], list[1024] = "";
	char copy[512];
	snprintf(copy, sizeof(copy), "%s", eps);
	for (char *save = NULL, *e = strtok_r(copy, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
		char id[64], addr[64];
		assert_int_equal(sscanf(e, "%63s %63s", id, addr), 2);
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
			 "      - { id: %s, address: %s, weight: 10 }\n", id, addr);
	}
	snprintf(buf, sizeof(buf),
		 "server:\n  listen: [ \"127.0.0.1@5399\" ]\n  control: run/ctl.sock\n"
		 "  state-dir: state\n"
		 "zones:\n  - name: example.com\n    file: example.com.zone\n"
		 "services:\n  - name: api.example.com\n    ttl: 30\n    policy: [health, weighted]\n"
		 "    answers: 2\n    endpoints:\n%s", list);
	write_file("vaned.yaml", buf);
}

struct fixture {
	uv_loop_t loop;
	struct vane_snapshot *snap;
	struct ops_rt *rt;
	struct live_state *last;      /* last published */
	unsigned published;
};

static void publish(void *ctx, struct live_state *l)
{
	struct fixture *fx = ctx;
	live_free(fx->last);
	fx->last = l;
	fx->published++;
}

static struct vane_snapshot *build(void)
{
	char path[256], *err = NULL;
	struct vane_snapshot *snap = NULL;
	snprintf(path, sizeof(path), "%s/vaned.yaml", dir);
	int ret = snapshot_build(path, NULL, NULL, &snap, &err);
	if (ret != 0)
		fail_msg("snapshot: %s", err ? err : "?");
	return snap;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	assert_non_null(mkdtemp(dir));
	write_file("example.com.zone", zone);
	write_conf("a 192.0.2.10,b 192.0.2.11,c 192.0.2.12");
	assert_int_equal(uv_loop_init(&fx->loop), 0);
	fx->snap = build();
	struct ops_hooks h = { .ctx = fx, .publish = publish };
	char sd[256];
	snprintf(sd, sizeof(sd), "%s/state", dir);
	assert_int_equal(ops_start(&fx->loop, &fx->snap->layout, fx->snap->live0, sd, &h, &fx->rt), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	ops_close(fx->rt);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	ops_free(fx->rt);
	live_free(fx->last);
	snapshot_free(fx->snap);
	assert_int_equal(uv_loop_close(&fx->loop), 0);
	free(fx);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	snprintf(dir, sizeof(dir), "/tmp/vane-test-ops-XXXXXX");
	return 0;
}

/* Run the loop until `path` exists with `needle` in it (the coalesced
 * write lands within ~100 ms), at most 5 s. */
static bool wait_file(struct fixture *fx, const char *needle)
{
	char path[256], buf[8192];
	snprintf(path, sizeof(path), "%s/state/state.json", dir);
	uint64_t end = rt_mono_ms() + 5000;
	while (rt_mono_ms() < end) {
		uv_run(&fx->loop, UV_RUN_NOWAIT);
		FILE *f = fopen(path, "r");
		if (f) {
			size_t n = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
			buf[n] = '\0';
			if (strstr(buf, needle))
				return true;
		}
		usleep(5000);
	}
	return false;
}

/* ---- with a real health check: a TCP listener the test opens and closes ---- */

/* Listen on 127.0.0.1:`*port` (0: any; set to the port used). */
static int listener(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(*port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 64), 0);
	socklen_t len = sizeof(sa);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* A fixture whose endpoint a is probed (tcp, 100 ms, rise 1, fall 1) on
 * a listener the test controls; `recovery` is the service's setting. */
static void checked_setup(struct fixture *fx, int *lfd, uint16_t *port, const char *recovery)
{
	char buf[2048];
	*port = 0;
	*lfd = listener(port);
	snprintf(buf, sizeof(buf),
		 "server:\n  listen: [ \"127.0.0.1@5399\" ]\n  control: run/ctl.sock\n"
		 "  state-dir: state\n"
		 "zones:\n  - name: example.com\n    file: example.com.zone\n"
		 "checks:\n  - { id: t, type: tcp, port: %u, interval: 100ms, timeout: 100ms, "
		 "rise: 1, fall: 1 }\n"
		 "services:\n  - name: api.example.com\n    recovery: %s\n"
		 "    recovery-steps: [20, 100]\n    recovery-interval: 60s\n"
		 "    endpoints:\n"
		 "      - { id: a, address: 192.0.2.10, weight: 10, check: t, "
		 "check-address: 127.0.0.1 }\n"
		 "      - { id: b, address: 192.0.2.11, weight: 10 }\n", *port, recovery);
	write_file("vaned.yaml", buf);
	/* Replace the plain fixture's runtime with one on this config. */
	ops_close(fx->rt);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	ops_free(fx->rt);
	live_free(fx->last);
	fx->last = NULL;
	snapshot_free(fx->snap);
	fx->snap = build();
	struct ops_hooks h = { .ctx = fx, .publish = publish };
	char sd[256];
	snprintf(sd, sizeof(sd), "%s/state", dir);
	assert_int_equal(ops_start(&fx->loop, &fx->snap->layout, fx->snap->live0, sd, &h, &fx->rt), 0);
}

/* Run the loop until endpoint a's row satisfies `cond`, at most 5 s. */
static bool wait_row(struct fixture *fx, bool (*cond)(const struct ops_ep_view *))
{
	struct ops_ep_view v;
	uint64_t end = rt_mono_ms() + 5000;
	while (rt_mono_ms() < end) {
		uv_run(&fx->loop, UV_RUN_NOWAIT);
		ops_endpoint_view(fx->rt, 0, 0, rt_now_ms(), &v);
		if (cond(&v))
			return true;
		usleep(5000);
	}
	return false;
}

static bool probed_up(const struct ops_ep_view *v)
{
	return v->up && v->origin == HEALTH_PROBED;
}

static bool is_down(const struct ops_ep_view *v)
{
	return !v->up;
}

static const struct steer_admin_ep *published_admin(struct fixture *fx, uint32_t s, uint32_t e)
{
	assert_non_null(fx->last);
	return &fx->last->admin[s]->ep[e];
}

static void test_find(void **state)
{
	struct fixture *fx = *state;
	uint32_t s, e;
	char key[LIVE_KEY_MAX];
	assert_int_equal(ops_find(fx->rt, "API.example.com./b", &s, &e, key), 0);
	assert_string_equal(key, "api.example.com/b");
	assert_int_equal(e, 1);
	assert_int_equal(ops_find(fx->rt, "api.example.com/zz", &s, &e, key), VANE_ENOENT);
	assert_int_equal(ops_find(fx->rt, "nope.example.com/a", &s, &e, key), VANE_ENOENT);
	assert_int_equal(ops_find(fx->rt, "no-slash", &s, &e, key), VANE_ENOENT);
}

static void test_drain_publishes_records_and_persists(void **state)
{
	struct fixture *fx = *state;
	bool changed;
	unsigned before = fx->published;
	assert_int_equal(ops_drain(fx->rt, 0, 1, true, &changed), 0);
	assert_true(changed);
	assert_int_equal(events_count(fx->rt->events, EV_DRAIN), 1);
	/* Published on the next loop turn, coalesced. */
	uv_run(&fx->loop, UV_RUN_NOWAIT);
	assert_true(fx->published > before);
	assert_true(published_admin(fx, 0, 1)->drained);
	assert_false(published_admin(fx, 0, 0)->drained);
	/* The same again changes nothing and records nothing. */
	assert_int_equal(ops_drain(fx->rt, 0, 1, true, &changed), 0);
	assert_false(changed);
	assert_int_equal(events_count(fx->rt->events, EV_DRAIN), 1);
	assert_true(wait_file(fx, "\"drained\": true"));

	char sd[256], *err = NULL;
	struct saved_state *st = NULL;
	snprintf(sd, sizeof(sd), "%s/state", dir);
	assert_int_equal(state_load(sd, &st, &err), 0);
	int64_t i = strmap_get(&st->map, "api.example.com/b");
	assert_true(i >= 0);
	assert_true(st->ep[i].admin.drained);
	assert_false(st->ep[strmap_get(&st->map, "api.example.com/a")].admin.drained);
	state_free(st);
}

static void test_weight_and_load(void **state)
{
	struct fixture *fx = *state;
	bool changed;
	assert_int_equal(ops_weight(fx->rt, 0, 2, STEER_WEIGHT_MAX + 1, &changed), VANE_EINVAL);
	assert_int_equal(ops_weight(fx->rt, 0, 2, 3, &changed), 0);
	assert_true(changed);
	struct ops_ep_view v;
	ops_endpoint_view(fx->rt, 0, 2, rt_now_ms(), &v);
	assert_int_equal(v.weight, 3);
	assert_int_equal(v.config_weight, 10);
	assert_true(v.weight_set);
	assert_false(v.checked);
	assert_null(v.check);
	assert_int_equal(ops_load(fx->rt, 0, 2, 77, &changed), 0);
	ops_endpoint_view(fx->rt, 0, 2, rt_now_ms(), &v);
	assert_int_equal(v.load, 77);
	assert_int_equal(events_count(fx->rt->events, EV_WEIGHT), 1);
	assert_int_equal(events_count(fx->rt->events, EV_LOAD), 1);
}

static void test_ramp(void **state)
{
	struct fixture *fx = *state;
	bool changed;
	char err[OPS_ERR_MAX];
	const uint8_t steps[] = { 10, 50, 100 };
	assert_int_equal(ops_weight(fx->rt, 0, 0, 0, &changed), 0);
	assert_int_equal(ops_ramp(fx->rt, 0, 0, steps, 0, 1000, &changed, err, sizeof(err)),
			 VANE_EINVAL);
	assert_int_equal(ops_ramp(fx->rt, 0, 0, steps, 3, 60000, &changed, err, sizeof(err)), 0);
	assert_true(changed);
	struct ops_ep_view v;
	ops_endpoint_view(fx->rt, 0, 0, rt_now_ms(), &v);
	assert_true(v.ramp.active);
	assert_int_equal(v.ramp.step, 1);
	assert_int_equal(v.ramp.percent, 10);
	/* An aborted ramp's weight 0 does not pin the ramp at 0. */
	assert_false(v.weight_set);
	assert_int_equal(v.weight, 1);   /* 10% of 10 */
	assert_int_equal(events_count(fx->rt->events, EV_RAMP), 1);
}

/* Defect 4: a ramp health aborts leaves the endpoint drained with the
 * ramp on record; --resume continues it from the step it reached. */
static void test_ramp_abort_drains_and_resumes(void **state)
{
	struct fixture *fx = *state;
	int lfd;
	uint16_t port;
	bool changed;
	char err[OPS_ERR_MAX];
	checked_setup(fx, &lfd, &port, "instant");
	assert_true(wait_row(fx, probed_up));
	assert_int_equal(ops_ramp_resume(fx->rt, 0, 0, &changed, err, sizeof(err)), VANE_EBUSY);
	assert_non_null(strstr(err, "no aborted ramp"));

	const uint8_t steps[] = { 10, 50, 100 };
	assert_int_equal(ops_ramp(fx->rt, 0, 0, steps, 3, 60000, &changed, err, sizeof(err)), 0);
	close(lfd);
	assert_true(wait_row(fx, is_down));
	struct ops_ep_view v;
	ops_endpoint_view(fx->rt, 0, 0, rt_now_ms(), &v);
	assert_true(v.drained);
	assert_false(v.ramp.active);
	assert_false(v.weight_set);             /* not pinned at weight 0 */
	assert_true(v.aborted.set);
	assert_int_equal(v.aborted.step, 0);
	assert_int_equal(v.aborted.nsteps, 3);
	assert_int_equal(v.aborted.every_ms, 60000);
	assert_int_equal(events_count(fx->rt->events, EV_RAMP_ABORT), 1);
	assert_true(wait_file(fx, "ramp_aborted"));
	/* Down: a resumed ramp would abort at once. */
	assert_int_equal(ops_ramp_resume(fx->rt, 0, 0, &changed, err, sizeof(err)), VANE_EBUSY);

	lfd = listener(&port);
	assert_true(wait_row(fx, probed_up));
	ops_endpoint_view(fx->rt, 0, 0, rt_now_ms(), &v);
	assert_true(v.drained);                 /* until the operator acts */
	assert_int_equal(ops_ramp_resume(fx->rt, 0, 0, &changed, err, sizeof(err)), 0);
	assert_true(changed);
	ops_endpoint_view(fx->rt, 0, 0, rt_now_ms(), &v);
	assert_false(v.drained);
	assert_false(v.aborted.set);
	assert_true(v.ramp.active);
	assert_false(v.ramp.recovery);
	assert_int_equal(v.ramp.step, 1);
	assert_int_equal(v.ramp.percent, 10);
	close(lfd);
}

/* Defect 8: down->up starts a recovery ramp; a failure stops it without
 * a drain; `recovery: instant` starts none. */
static void test_recovery_ramp(void **state)
{
	struct fixture *fx = *state;
	int lfd;
	uint16_t port;
	checked_setup(fx, &lfd, &port, "ramp");
	assert_true(wait_row(fx, probed_up));
	struct ops_ep_view v;
	ops_endpoint_view(fx->rt, 0, 0, rt_now_ms(), &v);
	assert_false(v.ramp.active);            /* assumed up, confirmed: no slow start */
	close(lfd);
	assert_true(wait_row(fx, is_down));
	lfd = listener(&port);
	assert_true(wait_row(fx, probed_up));
	ops_endpoint_view(fx->rt, 0, 0, rt_now_ms(), &v);
	assert_true(v.ramp.active);
	assert_true(v.ramp.recovery);
	assert_int_equal(v.ramp.percent, 20);
	assert_int_equal(v.weight, 2);          /* 20% of 10 */
	/* Health's doing, not an operator's: no admin change counted. */
	assert_int_equal(events_count(fx->rt->events, EV_RECOVERY), 1);
	assert_int_equal(events_count(fx->rt->events, EV_RAMP), 0);
	close(lfd);
	assert_true(wait_row(fx, is_down));
	ops_endpoint_view(fx->rt, 0, 0, rt_now_ms(), &v);
	assert_false(v.ramp.active);
	assert_false(v.drained);
	assert_false(v.aborted.set);
	/* An operator weight replaces a recovery ramp. */
	lfd = listener(&port);
	assert_true(wait_row(fx, probed_up));
	bool changed;
	assert_int_equal(ops_weight(fx->rt, 0, 0, 7, &changed), 0);
	ops_endpoint_view(fx->rt, 0, 0, rt_now_ms(), &v);
	assert_false(v.ramp.active);
	assert_int_equal(v.weight, 7);
	close(lfd);
}

static void test_recovery_instant(void **state)
{
	struct fixture *fx = *state;
	int lfd;
	uint16_t port;
	checked_setup(fx, &lfd, &port, "instant");
	assert_true(wait_row(fx, probed_up));
	close(lfd);
	assert_true(wait_row(fx, is_down));
	lfd = listener(&port);
	assert_true(wait_row(fx, probed_up));
	struct ops_ep_view v;
	ops_endpoint_view(fx->rt, 0, 0, rt_now_ms(), &v);
	assert_false(v.ramp.active);
	assert_int_equal(v.weight, 10);
	close(lfd);
}

/* Defect 10: ops_persist_now is on disk when it returns (no loop turn),
 * and the previous file stays as state.json.bak. */
static void test_persist_now_is_synchronous(void **state)
{
	struct fixture *fx = *state;
	bool changed;
	char err[OPS_ERR_MAX], path[256];
	assert_int_equal(ops_drain(fx->rt, 0, 0, true, &changed), 0);
	assert_int_equal(ops_persist_now(fx->rt, err, sizeof(err)), 0);
	char sd[256], *lerr = NULL;
	struct saved_state *st = NULL;
	snprintf(sd, sizeof(sd), "%s/state", dir);
	assert_int_equal(state_load(sd, &st, &lerr), 0);
	assert_true(st->ep[strmap_get(&st->map, "api.example.com/a")].admin.drained);
	state_free(st);
	assert_int_equal(ops_drain(fx->rt, 0, 1, true, &changed), 0);
	assert_int_equal(ops_persist_now(fx->rt, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/state/state.json.bak", dir);
	assert_int_equal(access(path, F_OK), 0);
	/* A write that cannot happen says so and keeps the change. */
	snprintf(path, sizeof(path), "%s/state/state.json.tmp", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(ops_drain(fx->rt, 0, 2, true, &changed), 0);
	assert_true(ops_persist_now(fx->rt, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "not persisted"));
	struct ops_ep_view v;
	ops_endpoint_view(fx->rt, 0, 2, rt_now_ms(), &v);
	assert_true(v.drained);
	assert_int_equal(rmdir(path), 0);
}

static void test_reload_carries_by_name(void **state)
{
	struct fixture *fx = *state;
	bool changed;
	assert_int_equal(ops_drain(fx->rt, 0, 0, true, &changed), 0);    /* a */
	assert_int_equal(ops_weight(fx->rt, 0, 2, 4, &changed), 0);      /* c */
	/* b goes away, d comes, a and c swap places. */
	write_conf("c 192.0.2.12,d 192.0.2.13,a 192.0.2.10");
	struct vane_snapshot *next = build();
	assert_int_equal(ops_adopt(fx->rt, &next->layout), 0);
	snapshot_free(fx->snap);
	fx->snap = next;
	uint32_t s, e;
	char key[LIVE_KEY_MAX];
	assert_int_equal(ops_find(fx->rt, "api.example.com/a", &s, &e, key), 0);
	assert_int_equal(e, 2);
	assert_true(published_admin(fx, s, e)->drained);
	assert_int_equal(ops_find(fx->rt, "api.example.com/c", &s, &e, key), 0);
	assert_true(published_admin(fx, s, e)->weight_set);
	assert_int_equal(published_admin(fx, s, e)->weight, 4);
	assert_int_equal(ops_find(fx->rt, "api.example.com/d", &s, &e, key), 0);
	assert_false(published_admin(fx, s, e)->drained);
	assert_int_equal(ops_find(fx->rt, "api.example.com/b", &s, &e, key), VANE_ENOENT);
}

static void test_latency_errors(void **state)
{
	struct fixture *fx = *state;
	uint64_t cells;
	char err[OPS_ERR_MAX];
	assert_int_equal(ops_latency_set(fx->rt, "api.example.com", "zz", "FR", 10, &cells, err,
					 sizeof(err)), VANE_ENOENT);
	assert_non_null(strstr(err, "no such service/endpoint"));
	assert_int_equal(ops_latency_set(fx->rt, "api.example.com", "a", "198.51.100.0/24", 12,
					 &cells, err, sizeof(err)), 0);
	assert_int_equal(cells, 1);
	assert_int_equal(ops_latency_load(fx->rt, "/nonexistent/latency.txt", &cells, err,
					  sizeof(err)), VANE_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_find, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_publishes_records_and_persists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_weight_and_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ramp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ramp_abort_drains_and_resumes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recovery_ramp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recovery_instant, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persist_now_is_synchronous, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_carries_by_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_latency_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
