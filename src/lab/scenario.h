/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Scenario files (YAML) for the lab; the keys are in docs/vane-lab.1. */
#pragma once

#include <stddef.h>

#include "lab/model.h"

/*
 * Read and prepare the scenario at `path` into `sc`.  A scenario without a
 * `name` is named after its file.  Returns 0, or VANE_ENOENT / VANE_EINVAL
 * with "file:line: why" in `err`.
 */
int lab_scenario_load(const char *path, struct lab_scenario *sc, char *err,
		      size_t errlen) VANE_WUR;
