/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Presentation names of RR types and rcodes (RFC 3597 TYPEnnn for the
 * rest), for statistics, metrics, control replies and config parsing.
 */
#pragma once

#include <stdint.h>

/* "AAAA", or "TYPE65280" written into `buf` (at least 12 bytes). */
const char *dns_type_name(uint16_t type, char *buf, unsigned size);

/* The type for "AAAA" or "TYPE65280" (any case), or -1. */
int dns_type_from_name(const char *name);

/* "NXDOMAIN", or "RCODE12" written into `buf` (at least 12 bytes). */
const char *dns_rcode_name(unsigned rcode, char *buf, unsigned size);

/* The rcode for "NXDOMAIN" (any case), or -1. */
int dns_rcode_from_name(const char *name);
