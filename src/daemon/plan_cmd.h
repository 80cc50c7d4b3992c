/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The plan-change command (lab/plan.h) on the running config. */
#pragma once

#include "ctl/ctl.h"

/* ctx is the struct server. */
void cmd_plan_change(void *ctx, struct ctl_client *c, const struct ctl_args *a);
