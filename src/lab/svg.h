/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A small SVG line-plot writer for the lab's report: axes with round
 * ticks, one polyline per series, a legend and marker lines for events.
 * No dependencies, so the report is one self-contained HTML file.
 */
#pragma once

#include <stddef.h>
#include <stdio.h>

#include "lib/errcode.h"

#define SVG_MAX_POINTS 720        /* per series: more are averaged into buckets */

struct svg_series {
	const char *name;
	const double *y;              /* n values at x = x0 + i * dx */
	size_t n;
};

struct svg_mark {
	double x;
	const char *label;
};

struct svg_plot {
	const char *title, *xlabel, *ylabel;
	double x0, dx;
	const struct svg_series *series;
	unsigned n_series;
	double ymin, ymax;            /* equal: from the data (ymin 0 unless negative) */
	const struct svg_mark *marks;
	unsigned n_marks;
};

/* Write `p` as one <svg> element.  Returns 0 or -EIO on a write error. */
int svg_plot_write(FILE *f, const struct svg_plot *p) VANE_WUR;

/* Write `s` with HTML/XML special characters escaped. */
void svg_escape(FILE *f, const char *s);

/* A round tick step for a span of `span` with about `n` ticks. */
double svg_tick_step(double span, unsigned n);
