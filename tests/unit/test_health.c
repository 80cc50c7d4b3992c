/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for health/fold.c: how probe results become states (rise,
 * fall, flapping, a hung probe, saved and assumed states).  Pure: fixed
 * times, no loop, no sockets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "health/fold.h"

static const struct health_params rise2fall3 = { .rise = 2, .fall = 3 };

/* Fold `n` results of `ok` one second apart from `t`; returns how many
 * folds flipped the state. */
static unsigned run(struct health_state *s, bool ok, unsigned n, uint64_t *t,
		    const struct health_params *p)
{
	unsigned flips = 0;
	struct health_event ev;
	for (unsigned i = 0; i < n; i++) {
		*t += 1000;
		health_fold(s, ok, p, *t, &ev);
		flips += ev.flipped;
	}
	return flips;
}

static struct health_state probed(bool up, uint64_t since)
{
	struct health_state s = { .up = up, .origin = HEALTH_PROBED, .since_ms = since };
	return s;
}

static void test_fall_needs_a_run(void **unused)
{
	struct health_state s = probed(true, 1000);
	uint64_t t = 10000;
	/* Two failures are not enough with fall 3; a success resets the run. */
	assert_int_equal(run(&s, false, 2, &t, &rise2fall3), 0);
	assert_true(s.up);
	assert_int_equal(run(&s, true, 1, &t, &rise2fall3), 0);
	assert_int_equal(run(&s, false, 2, &t, &rise2fall3), 0);
	assert_true(s.up);
	assert_int_equal(run(&s, false, 1, &t, &rise2fall3), 1);
	assert_false(s.up);
	assert_int_equal(s.since_ms, t);
	assert_int_equal(s.transitions, 1);
	assert_int_equal(s.failures, 5);
	assert_int_equal(s.probes, 6);
}

static void test_rise_needs_a_run(void **unused)
{
	struct health_state s = probed(false, 1000);
	uint64_t t = 10000;
	assert_int_equal(run(&s, true, 1, &t, &rise2fall3), 0);
	assert_false(s.up);
	assert_int_equal(run(&s, false, 1, &t, &rise2fall3), 0);
	assert_int_equal(run(&s, true, 1, &t, &rise2fall3), 0);
	assert_false(s.up);
	assert_int_equal(run(&s, true, 1, &t, &rise2fall3), 1);
	assert_true(s.up);
	assert_int_equal(s.origin, HEALTH_PROBED);
}

/* A backend that answers every other probe never completes a run: the
 * state holds instead of flapping with it. */
static void test_flapping_backend_holds(void **unused)
{
	struct health_state s = probed(true, 1000);
	uint64_t t = 10000;
	unsigned flips = 0;
	for (unsigned i = 0; i < 50; i++)
		flips += run(&s, i % 2 == 0, 1, &t, &rise2fall3);
	assert_int_equal(flips, 0);
	assert_true(s.up);
	assert_int_equal(s.transitions, 0);
	/* With rise = fall = 1 the same backend flips on every result. */
	const struct health_params one = { .rise = 1, .fall = 1 };
	flips = 0;
	for (unsigned i = 0; i < 10; i++)
		flips += run(&s, i % 2 == 0, 1, &t, &one);
	assert_int_equal(flips, 9);
}

/* A hung probe ends in a timeout, which the scheduler folds as a failure:
 * `fall` timeouts take the target down, like any failure. */
static void test_hung_probe_counts_as_failure(void **unused)
{
	struct health_state s = probed(true, 1000);
	uint64_t t = 10000;
	const struct health_params p = { .rise = 1, .fall = 2 };
	assert_int_equal(run(&s, false, 1, &t, &p), 0);
	assert_int_equal(run(&s, false, 1, &t, &p), 1);
	assert_false(s.up);
	assert_int_equal(s.fail_run, 2);
}

static void test_assumed_first_probe_decides(void **unused)
{
	/* Assumed up needs `fall` failures in a row, like any up target:
	 * one lost first probe takes nothing out (defect 9). */
	struct health_state s = { .up = true, .origin = HEALTH_ASSUMED };
	struct health_event ev;
	health_fold(&s, false, &rise2fall3, 5000, &ev);
	assert_false(ev.decided);
	assert_true(s.up);
	assert_int_equal(s.origin, HEALTH_ASSUMED);
	health_fold(&s, false, &rise2fall3, 6000, &ev);
	assert_false(ev.decided);
	assert_true(s.up);
	health_fold(&s, false, &rise2fall3, 7000, &ev);
	assert_true(ev.decided);
	assert_true(ev.flipped);
	assert_false(s.up);
	assert_int_equal(s.origin, HEALTH_PROBED);
	assert_int_equal(s.since_ms, 7000);

	/* A failure then a success: the success confirms up, the failed
	 * run is forgotten. */
	struct health_state f = { .up = true, .origin = HEALTH_ASSUMED };
	health_fold(&f, false, &rise2fall3, 5000, &ev);
	health_fold(&f, true, &rise2fall3, 6000, &ev);
	assert_true(ev.decided);
	assert_false(ev.flipped);
	assert_true(f.up);
	assert_int_equal(f.origin, HEALTH_PROBED);
	assert_int_equal(f.fail_run, 0);

	/* fall: 1 still means one failure. */
	const struct health_params p11 = { .rise = 1, .fall = 1 };
	struct health_state g = { .up = true, .origin = HEALTH_ASSUMED };
	health_fold(&g, false, &p11, 5000, &ev);
	assert_true(ev.flipped);
	assert_false(g.up);

	/* Confirming the assumption is a decision but not a flip: `since`
	 * becomes the first probe's time. */
	struct health_state u = { .up = true, .origin = HEALTH_ASSUMED };
	health_fold(&u, true, &rise2fall3, 7000, &ev);
	assert_true(ev.decided);
	assert_false(ev.flipped);
	assert_true(u.up);
	assert_int_equal(u.since_ms, 7000);
	assert_int_equal(u.transitions, 0);
}

/* A saved state is confirmed by one probe that agrees and overturned only
 * by a full run: one slow probe after a restart flips nothing. */
static void test_saved_state_needs_a_run_to_overturn(void **unused)
{
	struct health_state s = { .up = false, .origin = HEALTH_SAVED, .since_ms = 100 };
	struct health_event ev;
	health_fold(&s, true, &rise2fall3, 5000, &ev);
	assert_false(ev.decided);
	assert_false(s.up);
	assert_int_equal(s.origin, HEALTH_SAVED);
	health_fold(&s, true, &rise2fall3, 6000, &ev);
	assert_true(ev.decided && ev.flipped && ev.overturned);
	assert_true(s.up);
	assert_int_equal(s.origin, HEALTH_PROBED);

	struct health_state c = { .up = true, .origin = HEALTH_SAVED, .since_ms = 100 };
	health_fold(&c, true, &rise2fall3, 5000, &ev);
	assert_true(ev.decided);
	assert_false(ev.flipped);
	assert_int_equal(c.origin, HEALTH_PROBED);
	assert_int_equal(c.since_ms, 100);   /* the saved time stands */
}

/* Once decided, results that agree change nothing a publisher must see. */
static void test_steady_state_is_quiet(void **unused)
{
	struct health_state s = probed(true, 1000);
	struct health_event ev;
	for (unsigned i = 0; i < 5; i++) {
		health_fold(&s, true, &rise2fall3, 2000 + i, &ev);
		assert_false(ev.decided);
		assert_false(ev.flipped);
	}
	assert_int_equal(s.ok_run, 5);
	assert_int_equal(s.since_ms, 1000);
}

static void test_origin_names(void **unused)
{
	assert_string_equal(health_origin_name(HEALTH_ASSUMED), "assumed");
	assert_string_equal(health_origin_name(HEALTH_SAVED), "saved");
	assert_string_equal(health_origin_name(HEALTH_PROBED), "probed");
	assert_string_equal(health_origin_name(200), "assumed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fall_needs_a_run),
		cmocka_unit_test(test_rise_needs_a_run),
		cmocka_unit_test(test_flapping_backend_holds),
		cmocka_unit_test(test_hung_probe_counts_as_failure),
		cmocka_unit_test(test_assumed_first_probe_decides),
		cmocka_unit_test(test_saved_state_needs_a_run_to_overturn),
		cmocka_unit_test(test_steady_state_is_quiet),
		cmocka_unit_test(test_origin_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
