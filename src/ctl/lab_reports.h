/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * vane-lab's reports, served read-only next to the dashboard
 * (http.lab-reports).  vane-lab writes NAME.html and NAME.json into one
 * directory (vane-lab(1)); this lists the newest and opens one file of it
 * for the HTTP thread.  Pure file system work: no server state.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "lib/errcode.h"

#define LAB_REPORTS_DEFAULT 20     /* reports listed when no limit is asked */
#define LAB_REPORTS_MAX 200

/* {"reports": [...]}: the last `limit` HTML reports of `dir`, newest first
 * (by modification time), each with its scenario, time, mode and RTOs from
 * NAME.json when there is one.  A missing directory is an empty list (the
 * lab has not run yet).  NULL only when out of memory. */
json_t *lab_reports_list(const char *dir, unsigned limit);

/*
 * Open the file `rel` (a path relative to `dir`, as in the URL) for reading.
 * Refused (VANE_EINVAL) unless every component is a plain name (no "", ".",
 * "..", no leading dot, no leading "/") and the file has one of the report
 * types; every component is opened without following symlinks, so nothing
 * outside `dir` is reachable.  On success *fd is open, *st its stat (a
 * regular file) and *type its Content-Type.  Otherwise VANE_EINVAL,
 * VANE_ENOENT (absent, a symlink, not a regular file) or -errno.
 */
int lab_reports_open(const char *dir, const char *rel, int *fd, struct stat *st,
		     const char **type) VANE_WUR;
