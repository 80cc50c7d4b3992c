/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The report's numbers from a run's series (pure).
 *
 * Shift (down, drain, restore): the share of connections still sent to the
 * old answer (the endpoint, or a negative answer after a restore) relative
 * to its share in the minute before the event; RTO p is the time after
 * which it stays at or below 1 - p; the tail is RTO 100 - RTO 95.
 * Return (up, undrain): the share of the endpoint's old traffic not yet
 * back; the herd peak is the highest 5-second mean of its connections per
 * second within `window`, against its load in the minute before it went.
 */
#pragma once

#include "lab/model.h"

/* Fill the metrics of `r` from its series.  0 or VANE_ENOMEM. */
int lab_measure(const struct lab_scenario *sc, struct lab_result *r) VANE_WUR;

/* Connections per second to endpoint `e`, the mean of the 5 s up to `t`. */
double lab_smooth_load(const struct lab_series *s, uint32_t t, unsigned e);

/* The remaining-share curve the RTO was read from (n_sec values). */
void lab_remaining(const struct lab_scenario *sc, const struct lab_result *r, double *rem);
