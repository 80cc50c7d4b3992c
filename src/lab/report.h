/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The lab's outputs: a text summary, a JSON file for scripts and tests, and
 * one self-contained HTML report with SVG plots. */
#pragma once

#include <stdio.h>

#include "lab/model.h"

/* A table header and one row per run, for the terminal. */
void lab_summary_header(FILE *f);
void lab_summary_row(FILE *f, const struct lab_scenario *sc, const struct lab_result *r);

/* A few lines on one run: the event, RTOs by resolver kind, the cost. */
void lab_summary_detail(FILE *f, const struct lab_scenario *sc, const struct lab_result *r);

/* Every number of the run as one JSON object.  0 or -EIO on a write error. */
int lab_write_json(FILE *f, const struct lab_scenario *sc, const struct lab_result *r) VANE_WUR;

/* The HTML report.  0, VANE_ENOMEM or -EIO on a write error. */
int lab_write_html(FILE *f, const struct lab_scenario *sc, const struct lab_result *r) VANE_WUR;
