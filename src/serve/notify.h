/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * NOTIFY out (RFC 1996) and a watch on the secondaries, on the loop thread.
 * After every new serial of a zone each `notify:` target gets a NOTIFY over
 * UDP, retried with exponential backoff (1 s, 2 s, 4 s, ...) until it is
 * acknowledged or NOTIFY_MAX_TRIES were sent; signed with TSIG when the
 * target's address has a key in allow-transfer.  Each target is also asked
 * for its SOA every NOTIFY_POLL_MS, so zone-status and /metrics show the
 * serial each secondary serves; a secondary still behind after two polls
 * is notified again.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "lib/tsig.h"

#define NOTIFY_MAX_TRIES 5
#define NOTIFY_POLL_MS 2000

struct notify_target {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	const char *text;              /* "ADDR@PORT", copied */
	const struct tsig_key *key;    /* copied; NULL: unsigned */
};

/* What zone-status shows for one target. */
struct notify_peer_info {
	const char *target;
	bool pending;                  /* a NOTIFY not yet acknowledged */
	bool failed;                   /* the last NOTIFY got no ack or an error */
	const char *error;             /* why, or NULL */
	long long last_ack;            /* Unix time, 0: never */
	bool have_serial;
	uint32_t serial;               /* what the secondary last reported */
	long long serial_at;           /* Unix time of that report */
};

struct notifier;

int notifier_start(uv_loop_t *loop, struct notifier **out) VANE_WUR;
void notifier_close(struct notifier *n);   /* loop thread: closes the handles */
void notifier_free(struct notifier *n);    /* after the loop closed them */

/* A new round of zone updates: zones not named before notifier_end are
 * forgotten (removed from the config). */
void notifier_begin(struct notifier *n);
/* Zone `name` (apex `apex`, wire) serves `serial` with these targets;
 * targets whose last notified serial differs get a NOTIFY now. */
void notifier_zone(struct notifier *n, const char *name, const uint8_t *apex, uint32_t serial,
		   const struct notify_target *t, unsigned nt);
void notifier_end(struct notifier *n);

/* The targets of zone `name`; returns how many (at most `max`). */
unsigned notifier_peers(const struct notifier *n, const char *name,
			struct notify_peer_info *out, unsigned max);
