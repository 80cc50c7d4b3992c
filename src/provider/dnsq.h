/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A small blocking DNS client for the drift checks: one UDP question,
 * optionally with an EDNS Client Subnet option (RFC 7871), the answer's
 * addresses or SOA serial.  The provider's thread only.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/errcode.h"

#define DNSQ_MAX_ADDRS 16

struct dnsq_reply {
	int rcode;
	unsigned naddrs;
	char addrs[DNSQ_MAX_ADDRS][46];  /* A/AAAA in the answer, as text */
	bool has_soa;
	uint32_t soa_serial;             /* an SOA in the answer */
};

/*
 * Ask `server` for `name` (presentation form) of type `qtype` (1, 28, 6);
 * `ecs` is "ADDR/LEN" or NULL.  Returns 0, VANE_ETIMEDOUT, or another
 * VANE_E* code for a malformed or mismatched reply.
 */
int dnsq_ask(const struct sockaddr_storage *server, socklen_t len, const char *name,
	     uint16_t qtype, const char *ecs, unsigned timeout_ms, struct dnsq_reply *out) VANE_WUR;
