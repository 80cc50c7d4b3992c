/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dnstap query logging (https://dnstap.info): AUTH_QUERY and AUTH_RESPONSE
 * messages in Frame Streams (libfstrm) to a unix socket, as Knot, NSD and
 * Unbound write them.
 *
 * One process-wide writer: an fstrm I/O thread with one lock-free SPSC input
 * queue per serving thread, so a UDP worker never blocks on the collector;
 * when a queue is full the message is dropped and counted.  Each serving
 * thread holds a `struct dnstap_tap`; with dnstap off the only cost on the
 * query path is dnstap_tap_pick() reading one NULL pointer.
 *
 * Built only with -Ddnstap (libfstrm + protobuf-c); otherwise dnstap_open()
 * fails when a socket is configured and taps stay off.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "conf/conf.h"

struct dnstap;

/* A serving thread's handle: its queue, sampling counter and local address. */
struct dnstap_tap {
	struct dnstap *dt;               /* NULL: off */
	void *queue;                     /* struct fstrm_iothr_queue * */
	uint32_t sample, left;           /* log when `left` counts down to 0 */
	bool tcp;
	struct sockaddr_storage local;   /* response_address; family 0 = unknown */
	uint64_t dropped;                /* queue full or no memory */
};

/* Start the writer for `nqueues` serving threads when conf->dnstap_socket is
 * set (else *out = NULL, returns 0).  The collector need not be up yet: the
 * I/O thread connects and reconnects by itself.  Returns 0 or VANE_E*. */
int dnstap_open(const struct vane_conf *conf, unsigned nqueues, struct dnstap **out) VANE_WUR;

/* Flush what is queued (briefly) and stop.  After every tap is done. */
void dnstap_close(struct dnstap *dt);

/* Bind `tap` to queue `idx` of `dt` (NULL: off).  `fd` >= 0 is the socket
 * whose local address becomes response_address. */
void dnstap_tap_init(struct dnstap_tap *tap, struct dnstap *dt, unsigned idx, int fd, bool tcp);

/* True for the 1-in-N queries that are logged. */
static inline bool dnstap_tap_pick(struct dnstap_tap *tap)
{
	if (__builtin_expect(tap->dt == NULL, 1))
		return false;
	if (--tap->left != 0)
		return false;
	tap->left = tap->sample;
	return true;
}

/* Log one query and its response (either may be skipped by configuration;
 * `resp` NULL = no response was sent).  `qtime` is when the query arrived.
 * Never blocks. */
void dnstap_log(struct dnstap_tap *tap, const struct sockaddr *peer,
		const uint8_t *query, size_t qlen, const uint8_t *resp, size_t rlen,
		const struct timespec *qtime);

/* The process's writer (NULL: off).  vaned serves one configuration per
 * process; server_main sets it before any serving thread starts and clears
 * it after they stopped, so readers need no synchronisation. */
void dnstap_set_current(struct dnstap *dt);
struct dnstap *dnstap_current(void);

/* Whether this build can log dnstap. */
bool dnstap_available(void);
