/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The .rpl scenario format of Unbound's testbound and CZ.NIC's Deckard, as
 * far as the in-process replayer uses it: CONFIG lines up to CONFIG_END,
 * RANGE_BEGIN a b with ADDRESS lines and ENTRYs, and STEP n KIND [ELAPSE s]
 * with an optional ENTRY.  Record text is parsed with libzscanner.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/dname.h"
#include "resolver/resolver.h"

/* MATCH keywords. */
enum {
	RM_OPCODE = 1 << 0, RM_QTYPE = 1 << 1, RM_QNAME = 1 << 2,
	RM_SUBDOMAIN = 1 << 3, RM_ALL = 1 << 4, RM_TTL = 1 << 5,
	RM_TCP = 1 << 6, RM_UDP = 1 << 7, RM_FLAGS = 1 << 8, RM_RCODE = 1 << 9,
	RM_ANSWER = 1 << 10, RM_QUESTION = 1 << 11,
};

/* ADJUST keywords. */
enum { RA_COPY_ID = 1 << 0, RA_COPY_QUERY = 1 << 1 };

/* Sections of an entry. */
enum { RS_AN = 0, RS_NS = 1, RS_AR = 2, RS_COUNT = 3 };

struct rpl_rr {
	uint8_t owner[DNAME_MAXLEN];     /* as written */
	uint16_t type, cls;
	uint32_t ttl;
	uint16_t rdlen;
	uint8_t *rdata;
};

struct rpl_entry {
	unsigned match, adjust;
	unsigned lineno;
	uint16_t flags;                  /* DNS header bits: QR AA TC RD RA AD CD */
	bool do_bit;
	uint8_t opcode;
	uint16_t rcode;
	bool has_q;
	uint8_t qname[DNAME_MAXLEN];
	uint16_t qtype, qclass;
	struct rpl_rr *rr[RS_COUNT];
	unsigned nrr[RS_COUNT];
};

struct rpl_range {
	unsigned start, end;
	struct iter_addr *addrs;
	unsigned naddrs;
	struct rpl_entry **entries;
	unsigned nentries;
};

enum rpl_step_kind {
	RPL_QUERY, RPL_CHECK_ANSWER, RPL_TIME_PASSES, RPL_CHECK_OUT_QUERY,
	RPL_REPLY, RPL_TIMEOUT, RPL_NOTHING, RPL_OTHER,
};

struct rpl_step {
	unsigned num;
	enum rpl_step_kind kind;
	char kind_text[32];
	double elapse;
	struct rpl_entry *entry;
};

struct rpl_kv {
	char *key, *value;
	bool in_stub;                    /* inside a stub-zone: block */
};

struct rpl {
	char *unsupported;               /* why it cannot run here, or NULL */
	struct rpl_kv *config;
	unsigned nconfig;
	struct rpl_range *ranges;
	unsigned nranges;
	struct rpl_step *steps;
	unsigned nsteps;
	struct iter_addr root[16];       /* stub-zone "." addresses */
	unsigned nroot;
};

/* Parse `path`.  Returns the scenario (rpl_free it) or NULL with a message
 * in `err`.  A scenario that uses what the replayer lacks parses with
 * `unsupported` set. */
struct rpl *rpl_load(const char *path, char *err, size_t errlen);
void rpl_free(struct rpl *s);

/* Parse "1.2.3.4" or an IPv6 address (an "@port" suffix is ignored). */
bool rpl_parse_addr(const char *text, struct iter_addr *out);

/* Parse master-format records in `text` (one or more lines) into `*rrs`.
 * Returns the number parsed or < 0 on a syntax error. */
int rpl_parse_rrs(const char *text, struct rpl_rr **rrs, unsigned *nrr);
