/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A small, independent DNS response checker for the fuzz targets: walks
 * every section of a message and verifies that counts, names (with
 * compression), RR headers and the RDATA of name-carrying types are
 * consistent with the message length.  Written separately from the answer
 * path so that it does not share that code's mistakes.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/dname.h"

struct dnscheck {
	uint16_t id, flags;
	uint16_t qd, an, ns, ar;
	uint8_t qname[DNAME_MAXLEN];  /* first question, case as sent */
	uint16_t qtype, qclass;
	bool opt;                     /* an OPT record was present */
	uint16_t opt_udp;
	uint8_t opt_ext_rcode;
	uint8_t opt_version;
	uint16_t opt_flags;
	unsigned rcode;               /* full rcode: header + OPT extension */
};

/*
 * Check `msg` (`len` bytes).  Returns NULL when it is a well-formed DNS
 * message and fills `out`, else a static text naming the first problem.
 */
const char *dnscheck_message(const uint8_t *msg, size_t len, struct dnscheck *out);
