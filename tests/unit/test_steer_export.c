/* SPDX-License-Identifier: GPL-3.0-or-later */
/* steer_export_set: which endpoints export: healthy hands to secondaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "steer/export.h"

static struct steer_endpoint eps[4];
static struct steer_service svc;
static struct steer_health_state hstate[4];
static struct steer_health health;
static struct steer_admin_ep aeps[4];
static struct steer_admin admin;

/* Four endpoints of weight 1, each with its own health index, all up. */
static int setup(void **state)
{
	memset(eps, 0, sizeof(eps));
	for (unsigned i = 0; i < 4; i++) {
		eps[i].id[0] = (char)('a' + i);
		eps[i].weight = 1;
		eps[i].check = 0;
		eps[i].health = i;
		eps[i].n_v4 = 1;
		eps[i].v4[0][3] = (uint8_t)i;
	}
	steer_service_init(&svc);
	assert_int_equal(dname_from_str("api.example.com.", NULL, svc.name), 17);
	svc.name_len = 17;
	svc.ep = eps;
	svc.n_ep = 4;
	svc.n_policy = 1;
	svc.policy[0] = STEER_F_HEALTH;
	assert_int_equal(steer_service_prepare(&svc), 0);
	for (unsigned i = 0; i < 4; i++)
		hstate[i] = (struct steer_health_state){ .up = true };
	health = (struct steer_health){ .n = 4, .state = hstate };
	memset(aeps, 0, sizeof(aeps));
	admin = (struct steer_admin){ .n = 4, .ep = aeps };
	steer_admin_prepare(&admin);
	return 0;
}

static uint64_t set_at(uint64_t now)
{
	steer_admin_prepare(&admin);
	return steer_export_set(&svc, &health, &admin, now);
}

static void test_up_and_not_drained(void **state)
{
	assert_int_equal(set_at(0), 0xF);
	assert_int_equal(steer_export_set(&svc, NULL, NULL, 0), 0xF);
	hstate[1].up = false;
	aeps[2].drained = true;
	assert_int_equal(set_at(0), 0x9);
	/* A health index past the snapshot is not decided yet: up. */
	health.n = 1;
	assert_int_equal(set_at(0), 0xB);
	/* No health filter: answers ignore health, so does the export. */
	svc.policy[0] = STEER_F_WEIGHTED;
	assert_int_equal(set_at(0), 0xB);
}

static void test_weights_and_ramps(void **state)
{
	/* Weight 0 by override: in no answer while others are up. */
	aeps[0].weight_set = true;
	aeps[0].weight = 0;
	assert_int_equal(set_at(0), 0xE);
	/* A ramp at 0% answers nobody; at 10% some clients: exported. */
	aeps[1].ramp = (struct steer_ramp){ .active = true, .nsteps = 2, .steps = { 0, 10 },
					    .every_ms = 1000, .started_ms = 0 };
	assert_int_equal(set_at(500), 0xC);
	assert_int_equal(set_at(1500), 0xE);
}

static void test_standby(void **state)
{
	eps[3].weight = 0;                      /* standby: auto */
	assert_int_equal(steer_service_prepare(&svc), 0);
	assert_int_equal(set_at(0), 0x7);
	hstate[0].up = hstate[1].up = hstate[2].up = false;
	assert_int_equal(set_at(0), 0x8);       /* stands in */
	eps[3].standby = STEER_STANDBY_NEVER;
	assert_int_equal(steer_service_prepare(&svc), 0);
	/* Nothing up: all-down open, every endpoint not drained nor never. */
	aeps[0].drained = true;
	assert_int_equal(set_at(0), 0x6);
}

static void test_all_down_modes(void **state)
{
	for (unsigned i = 0; i < 4; i++)
		hstate[i].up = false;
	aeps[1].drained = true;
	assert_int_equal(set_at(0), 0xD);
	svc.all_down = STEER_DOWN_EMPTY;
	assert_int_equal(set_at(0), 0);
	svc.all_down = STEER_DOWN_SERVFAIL;
	assert_int_equal(set_at(0), 0);
	hstate[2].up = true;
	assert_int_equal(set_at(0), 0x4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_up_and_not_drained, setup),
		cmocka_unit_test_setup(test_weights_and_ramps, setup),
		cmocka_unit_test_setup(test_standby, setup),
		cmocka_unit_test_setup(test_all_down_modes, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
