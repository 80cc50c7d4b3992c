/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for anycast/machine.c, the announcement state machine, and the
 * parser of BIRD's `show protocols` rows (anycast/bird.c).  Pure: fixed
 * times, no loop, no BIRD; the lab (tests/integration/test_anycast.py)
 * runs the same code against real BIRD.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "anycast/bird.h"
#include "anycast/machine.h"

static const struct anycast_params with_peers = {
	.fold = { .rise = 3, .fall = 2 }, .hold_down_ms = 10000, .peer_retry_ms = 1000,
	.have_peers = true,
};

struct rig {
	struct anycast_machine m;
	struct anycast_params p;
	uint64_t t;
	struct anycast_action a;
};

static void rig_init(struct rig *r, const struct anycast_params *p)
{
	anycast_machine_init(&r->m);
	r->p = *p;
	r->t = 100000;
}

/* One self-check 200 ms after the last event. */
static enum anycast_act check(struct rig *r, bool hard_ok, bool soft_ok)
{
	struct anycast_event ev = { .type = AC_EV_CHECK, .hard_ok = hard_ok, .soft_ok = soft_ok,
				    .why = hard_ok ? "zone example.com failed to load" : "no answer" };
	r->t += 200;
	anycast_step(&r->m, &r->p, &ev, r->t, &r->a);
	return r->a.act;
}

static enum anycast_act peers(struct rig *r, unsigned healthy)
{
	struct anycast_event ev = { .type = AC_EV_PEERS, .healthy_peers = healthy };
	r->t += 10;
	anycast_step(&r->m, &r->p, &ev, r->t, &r->a);
	return r->a.act;
}

static enum anycast_act tick_at(struct rig *r, uint64_t t)
{
	struct anycast_event ev = { .type = AC_EV_TICK };
	r->t = t;
	anycast_step(&r->m, &r->p, &ev, r->t, &r->a);
	return r->a.act;
}

/* Up and announced, then past the hold-down. */
static void announced(struct rig *r)
{
	check(r, true, true);
	check(r, true, true);
	assert_int_equal(check(r, true, true), AC_ACT_ANNOUNCE);
	assert_true(r->a.transition);
	r->t += r->p.hold_down_ms;
}

static void test_announces_after_rise(void **state)
{
	struct rig r;
	rig_init(&r, &with_peers);
	assert_int_equal(r.m.state, AC_WITHDRAWN);
	/* Starting up: nothing announced on the first passes. */
	assert_int_equal(check(&r, true, true), AC_ACT_NONE);
	assert_int_equal(check(&r, true, true), AC_ACT_NONE);
	assert_int_equal(check(&r, true, true), AC_ACT_ANNOUNCE);
	assert_int_equal(r.m.state, AC_ANNOUNCED);
	assert_int_equal(r.m.transitions, 1);
	assert_non_null(strstr(r.m.reason, "passed 3 times"));
	assert_true(anycast_healthy(&r.m));
	/* Steady: quiet. */
	assert_int_equal(check(&r, true, true), AC_ACT_NONE);
	assert_false(r.a.transition);
}

static void test_hard_failure_withdraws_at_once(void **state)
{
	struct rig r;
	rig_init(&r, &with_peers);
	check(&r, true, true);
	check(&r, true, true);
	check(&r, true, true);
	/* Inside the hold-down: a hard failure still withdraws after `fall`. */
	assert_int_equal(check(&r, false, true), AC_ACT_NONE);
	assert_int_equal(check(&r, false, true), AC_ACT_WITHDRAW);
	assert_true(r.a.transition);
	assert_int_equal(r.m.state, AC_WITHDRAWN);
	assert_non_null(strstr(r.m.reason, "no answer"));
	assert_false(anycast_healthy(&r.m));
}

static void test_reannounce_waits_for_hold_down(void **state)
{
	struct rig r;
	rig_init(&r, &with_peers);
	announced(&r);
	check(&r, false, true);
	assert_int_equal(check(&r, false, true), AC_ACT_WITHDRAW);
	uint64_t withdrawn_at = r.t;
	check(&r, true, true);
	check(&r, true, true);
	/* Risen, but hold-down keeps it withdrawn and asks for a wake-up. */
	assert_int_equal(check(&r, true, true), AC_ACT_NONE);
	assert_int_equal(r.a.wake_ms, withdrawn_at + r.p.hold_down_ms);
	assert_int_equal(tick_at(&r, withdrawn_at + r.p.hold_down_ms - 1), AC_ACT_NONE);
	assert_int_equal(tick_at(&r, withdrawn_at + r.p.hold_down_ms), AC_ACT_ANNOUNCE);
	assert_int_equal(r.m.transitions, 3);
}

static void test_soft_failure_hands_over_to_a_healthy_peer(void **state)
{
	struct rig r;
	rig_init(&r, &with_peers);
	announced(&r);
	assert_int_equal(check(&r, true, false), AC_ACT_NONE);
	/* Down for a soft reason: ask the peers before withdrawing. */
	assert_int_equal(check(&r, true, false), AC_ACT_ASK_PEERS);
	assert_int_equal(r.m.state, AC_ANNOUNCED);
	assert_true(r.m.peers_pending);
	/* Not asked twice while the answer is on its way. */
	assert_int_equal(check(&r, true, false), AC_ACT_NONE);
	assert_int_equal(peers(&r, 1), AC_ACT_WITHDRAW);
	assert_int_equal(r.m.state, AC_WITHDRAWN);
	assert_non_null(strstr(r.m.reason, "soft failure"));
	assert_non_null(strstr(r.m.reason, "1 healthy peer"));
}

static void test_last_healthy_site_keeps_announcing(void **state)
{
	struct rig r;
	rig_init(&r, &with_peers);
	announced(&r);
	check(&r, true, false);
	assert_int_equal(check(&r, true, false), AC_ACT_ASK_PEERS);
	assert_int_equal(peers(&r, 0), AC_ACT_NONE);
	assert_int_equal(r.m.state, AC_ANNOUNCED);
	assert_true(r.m.kept_last);
	assert_false(anycast_healthy(&r.m));   /* peers must not count it */
	/* Asked again, at most once per retry period. */
	assert_int_equal(check(&r, true, false), AC_ACT_NONE);
	r.t += r.p.peer_retry_ms;
	assert_int_equal(check(&r, true, false), AC_ACT_ASK_PEERS);
	/* A peer recovered: now hand over. */
	assert_int_equal(peers(&r, 1), AC_ACT_WITHDRAW);
	assert_false(r.m.kept_last);
	/* A hard failure on the last site withdraws anyway: the check is down
	 * already, so the first one does. */
	struct rig h;
	rig_init(&h, &with_peers);
	announced(&h);
	check(&h, true, false);
	check(&h, true, false);
	peers(&h, 0);
	assert_true(h.m.kept_last);
	assert_int_equal(check(&h, false, false), AC_ACT_WITHDRAW);
	assert_false(h.m.kept_last);
}

static void test_withdrawn_soft_site_returns_when_no_peer_is_left(void **state)
{
	struct rig r;
	rig_init(&r, &with_peers);
	announced(&r);
	check(&r, true, false);
	check(&r, true, false);
	assert_int_equal(peers(&r, 1), AC_ACT_WITHDRAW);
	r.t += r.p.hold_down_ms;
	/* The other site went soft too: nobody healthy announces; come back. */
	assert_int_equal(check(&r, true, false), AC_ACT_ASK_PEERS);
	assert_int_equal(peers(&r, 0), AC_ACT_ANNOUNCE);
	assert_int_equal(r.m.state, AC_ANNOUNCED);
	assert_true(r.m.kept_last);
	assert_non_null(strstr(r.m.reason, "last healthy site"));
}

static void test_simultaneous_soft_withdraws_come_back_at_once(void **state)
{
	/* Both sites failed softly and asked at once; each saw the other
	 * healthy and withdrew.  The next round finds nobody: back without
	 * waiting for the hold-down. */
	struct rig r;
	rig_init(&r, &with_peers);
	announced(&r);
	check(&r, true, false);
	check(&r, true, false);
	assert_int_equal(peers(&r, 1), AC_ACT_WITHDRAW);
	uint64_t at = r.t;
	r.t += r.p.peer_retry_ms;
	assert_int_equal(check(&r, true, false), AC_ACT_ASK_PEERS);
	assert_int_equal(peers(&r, 0), AC_ACT_ANNOUNCE);
	assert_true(r.t < at + r.p.hold_down_ms);
	/* A healthy return still waits for the hold-down. */
	struct rig h;
	rig_init(&h, &with_peers);
	announced(&h);
	check(&h, false, true);
	assert_int_equal(check(&h, false, true), AC_ACT_WITHDRAW);
	check(&h, true, true);
	check(&h, true, true);
	assert_int_equal(check(&h, true, true), AC_ACT_NONE);
}

static void test_without_peers_soft_failure_keeps_the_route(void **state)
{
	struct anycast_params p = with_peers;
	p.have_peers = false;
	struct rig r;
	rig_init(&r, &p);
	announced(&r);
	for (int i = 0; i < 10; i++)
		assert_int_equal(check(&r, true, false), AC_ACT_NONE);
	assert_int_equal(r.m.state, AC_ANNOUNCED);
	assert_true(r.m.kept_last);
	/* A site that starts with a broken zone and no peers still announces. */
	struct rig s;
	rig_init(&s, &p);
	check(&s, true, false);
	check(&s, true, false);
	assert_int_equal(check(&s, true, false), AC_ACT_ANNOUNCE);
}

static void test_soft_withdraw_respects_hold_down(void **state)
{
	struct rig r;
	rig_init(&r, &with_peers);
	check(&r, true, true);
	check(&r, true, true);
	check(&r, true, true);
	uint64_t at = r.t;
	check(&r, true, false);
	assert_int_equal(check(&r, true, false), AC_ACT_NONE);
	assert_int_equal(r.a.wake_ms, at + r.p.hold_down_ms);
	assert_int_equal(tick_at(&r, at + r.p.hold_down_ms), AC_ACT_ASK_PEERS);
}

static void test_stop_withdraws_for_good(void **state)
{
	struct rig r;
	rig_init(&r, &with_peers);
	announced(&r);
	struct anycast_event stop = { .type = AC_EV_STOP };
	anycast_step(&r.m, &r.p, &stop, r.t, &r.a);
	assert_int_equal(r.a.act, AC_ACT_WITHDRAW);
	assert_true(r.a.transition);
	assert_int_equal(r.m.state, AC_STOPPED);
	assert_false(anycast_healthy(&r.m));
	assert_int_equal(check(&r, true, true), AC_ACT_NONE);
	assert_int_equal(r.m.state, AC_STOPPED);
	/* BIRD still announcing after a stop: withdraw again. */
	struct anycast_event b = { .type = AC_EV_BIRD, .bird_up = true };
	anycast_step(&r.m, &r.p, &b, r.t, &r.a);
	assert_int_equal(r.a.act, AC_ACT_WITHDRAW);
	assert_false(r.a.transition);
}

static void test_bird_disagreeing_is_corrected(void **state)
{
	struct rig r;
	rig_init(&r, &with_peers);
	struct anycast_event b = { .type = AC_EV_BIRD, .bird_up = true };
	/* BIRD announces from its config while this site is not ready. */
	anycast_step(&r.m, &r.p, &b, r.t, &r.a);
	assert_int_equal(r.a.act, AC_ACT_WITHDRAW);
	announced(&r);
	/* BIRD restarted with the protocol disabled: enable it again. */
	b.bird_up = false;
	anycast_step(&r.m, &r.p, &b, r.t, &r.a);
	assert_int_equal(r.a.act, AC_ACT_ANNOUNCE);
	assert_false(r.a.transition);
	b.bird_up = true;
	anycast_step(&r.m, &r.p, &b, r.t, &r.a);
	assert_int_equal(r.a.act, AC_ACT_NONE);
	assert_true(r.m.bird_known && r.m.bird_up);
}

static void test_flapping_check_does_not_flap_the_route(void **state)
{
	struct rig r;
	rig_init(&r, &with_peers);
	announced(&r);
	unsigned acts = 0;
	/* Alternating results never make a run of `fall` failures. */
	for (int i = 0; i < 50; i++)
		acts += check(&r, i % 2 == 0, true) != AC_ACT_NONE;
	assert_int_equal(acts, 0);
	assert_int_equal(r.m.state, AC_ANNOUNCED);
}

static void test_bird_protocol_rows(void **state)
{
	const char *show = "2002-Name       Proto      Table      State  Since         Info\n"
			   "1002-anycast    Static     master4    up     17:08:39.275  \n"
			   "1002-anycast2   Static     master4    down   17:08:39.275  \n"
			   "0000 \n";
	assert_int_equal(bird_protocol_up(show, "anycast"), 1);
	assert_int_equal(bird_protocol_up(show, "anycast2"), 0);
	assert_int_equal(bird_protocol_up(show, "any"), VANE_ENOENT);
	const char *bgp = "2002-Name       Proto      Table      State  Since         Info\n"
			  "1002-router    BGP        ---        start  17:08:39.275  Active\n"
			  "0000 \n";
	assert_int_equal(bird_protocol_up(bgp, "router"), 0);
	assert_int_equal(bird_protocol_up("9001 syntax error\n", "router"), VANE_ENOENT);
	assert_string_equal(anycast_state_name(AC_ANNOUNCED), "announced");
	assert_string_equal(anycast_state_name(AC_STOPPED), "stopped");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_announces_after_rise),
		cmocka_unit_test(test_hard_failure_withdraws_at_once),
		cmocka_unit_test(test_reannounce_waits_for_hold_down),
		cmocka_unit_test(test_soft_failure_hands_over_to_a_healthy_peer),
		cmocka_unit_test(test_last_healthy_site_keeps_announcing),
		cmocka_unit_test(test_withdrawn_soft_site_returns_when_no_peer_is_left),
		cmocka_unit_test(test_simultaneous_soft_withdraws_come_back_at_once),
		cmocka_unit_test(test_without_peers_soft_failure_keeps_the_route),
		cmocka_unit_test(test_soft_withdraw_respects_hold_down),
		cmocka_unit_test(test_stop_withdraws_for_good),
		cmocka_unit_test(test_bird_disagreeing_is_corrected),
		cmocka_unit_test(test_flapping_check_does_not_flap_the_route),
		cmocka_unit_test(test_bird_protocol_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
