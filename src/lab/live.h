/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * vane-lab's live mode: the scenario run by real processes on a private
 * internet on loopback, in real time.
 *
 *   127.X.Y.1    vaned serving the root zone
 *   127.X.Y.2    vaned serving the TLD "example."
 *   127.X.Y.3    the operator's vaned: zone lab.example, the steered name
 *                www.lab.example built from the scenario's service
 *   127.X.Y.10+e endpoint e: an HTTP server in this process that counts
 *                hits; "down" closes its listener (refused, as after a kill)
 *   127.X.Y.100+r resolver r: vane-resolver or Debian's unbound, one per
 *                resolver kind and country, iterating from the root
 *   127.X.(Y+1+c).* the clients of country c (the operator's geo nets map
 *                these /24s to the countries; vane-resolver passes them on
 *                with ECS, unbound queries from one of them)
 *
 * Everything listens on port 53 (the resolvers follow delegations to port
 * 53 only), so live mode needs root; a run that cannot bind says so.
 *
 * Clients behave as in model mode (lab/model.h): every `conn-interval`
 * seconds (+-50%) a client asks its resolver for the name, then opens a TCP
 * connection to the first address and sends one HTTP request; a failure is
 * retried after `retry` seconds.  The counts fill the same per-second
 * series as the model, so the report and its metrics are the same code.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lab/model.h"

struct lab_live_opts {
	const char *workdir;       /* configs, zones, logs (created) */
	const char *bindir;        /* vaned, vane-resolver, vanectl */
	const char *unbound;       /* Debian's unbound, NULL = /usr/sbin/unbound */
	uint32_t clients;          /* 0 = the scenario's live-clients */
	uint16_t ep_port;          /* the endpoints' HTTP port, 0 = 8080 */
	bool keep;                 /* leave the processes' logs in workdir */
};

/* The resolver software of a kind: its `software:` key, else "unbound" for
 * kinds named unbound*, else "vane-resolver". */
const char *lab_live_software(const struct lab_profile *p);

/*
 * Run `sc` (prepared) live.  Fills `res` like lab_run (free with
 * lab_result_free).  Returns 0, or a negative error with a message in
 * `err` (VANE_EPERM when port 53 cannot be bound, VANE_ENOENT for a
 * missing program).
 */
int lab_live_run(const struct lab_scenario *sc, const struct lab_live_opts *o,
		 struct lab_result *res, lab_progress_fn progress, void *ctx, char *err,
		 size_t errlen) VANE_WUR;
