/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Sockets both daemons serve DNS on. */
#pragma once

#include <stdbool.h>
#include <sys/socket.h>

#include "lib/errcode.h"

/*
 * A UDP socket bound to `addr`, one per worker: SO_REUSEPORT (the kernel
 * spreads flows over the workers' sockets), IPV6_V6ONLY for IPv6, a 4 MiB
 * receive buffer for bursts, and, on a wildcard address, IP_PKTINFO or
 * IPV6_RECVPKTINFO: `*pktinfo` is then true and the caller echoes each
 * query's control data in its reply, so that a host with several addresses
 * answers from the one the query came to (RFC 1123 6.1.3.5 in spirit: the
 * client matches the reply's source).  Returns the descriptor or a
 * negative VANE_E* code.
 */
int rt_udp_socket(const struct sockaddr_storage *addr, socklen_t len, bool *pktinfo) VANE_WUR;

/* Room for one IP_PKTINFO or IPV6_PKTINFO control message. */
#define RT_PKTINFO_SPACE 64

/* True for 0.0.0.0 and ::. */
bool rt_addr_is_any(const struct sockaddr_storage *ss);
