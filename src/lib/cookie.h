/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * DNS cookies (RFC 7873) with interoperable server cookies (RFC 9018).
 *
 * The option is a client cookie of 8 bytes, optionally followed by a server
 * cookie of 8..32 bytes (RFC 7873 section 4).  The server cookies made here
 * are RFC 9018 version 1: version (1), three reserved bytes, a 32-bit
 * timestamp in seconds, and SipHash-2-4 over client cookie | version |
 * reserved | timestamp | client IP, keyed with a 16-byte secret.
 *
 * Secrets rotate without shared state: the secret of rotation epoch
 * e = now / rotate is derived from the configured master secret, so every
 * server given the same master secret (an anycast set) makes and accepts the
 * same cookies, and the previous epoch's secret is still accepted for one
 * interval.  Everything takes `now` and the master secret as inputs; the only
 * state is a per-thread MAC handle (struct cookie_mac), which also caches the
 * two derived secrets of the current epoch.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/errcode.h"

#define COOKIE_CLIENT_LEN 8
#define COOKIE_SERVER_MIN 8
#define COOKIE_SERVER_MAX 32
#define COOKIE_SERVER_LEN 16     /* RFC 9018 version 1 */
#define COOKIE_SECRET_LEN 16     /* SipHash-2-4 key */
#define COOKIE_VERSION 1

/* RFC 9018 4.3: accept cookies at most an hour old and at most five minutes
 * in the future (clock skew inside an anycast set); re-issue after 30 min. */
#define COOKIE_MAX_AGE_S 3600u
#define COOKIE_MAX_SKEW_S 300u
#define COOKIE_RENEW_S 1800u

/* A parsed COOKIE option. */
struct dns_cookie {
	bool present;
	uint8_t server_len;                /* 0 = client cookie only */
	uint8_t client[COOKIE_CLIENT_LEN];
	uint8_t server[COOKIE_SERVER_MAX];
};

/* What a query's COOKIE option proves (RFC 7873 5.2). */
enum cookie_status {
	COOKIE_NONE = 0,     /* no option: answer as if cookies did not exist */
	COOKIE_CLIENT_ONLY,  /* client cookie alone (5.2.3) */
	COOKIE_BAD,          /* a server cookie that is not ours or too old (5.2.4) */
	COOKIE_VALID,        /* a server cookie we made, within the window (5.2.5) */
};

/*
 * Parse the payload of a COOKIE option (`len` bytes at `p`) into `c`.
 * Returns 0, or VANE_EMALF for a length RFC 7873 5.2.2 answers with FORMERR
 * (anything but 8 or 16..40 bytes).
 */
int cookie_parse(const uint8_t *p, size_t len, struct dns_cookie *c) VANE_WUR;

/* A client address as the hash takes it: 4 or 16 bytes (RFC 9018 4.2). */
struct cookie_addr {
	uint8_t len;
	uint8_t addr[16];
};

/* Fill `a` from a sockaddr; IPv4-mapped IPv6 counts as IPv4.  Returns 0 or
 * VANE_EINVAL for other families (no cookie can be made for them). */
int cookie_addr_from_sa(const void *sockaddr, struct cookie_addr *a) VANE_WUR;

/* Per-thread state: the derived secrets of the last epoch used.  Not
 * thread-safe: one per worker.  The MAC is lib/siphash (native SipHash-2-4,
 * checked against OpenSSL's in the unit test). */
struct cookie_mac;

/* Returns NULL when out of memory. */
struct cookie_mac *cookie_mac_new(void);
void cookie_mac_free(struct cookie_mac *m);

/*
 * RFC 9018 4.2: the 16-byte version 1 server cookie for `client` at `addr`,
 * timestamp `ts` and reserved bytes `reserved` (zero when we make one),
 * keyed with `secret` itself (no derivation).  Returns 0 (the int is kept
 * for callers written when the MAC was OpenSSL's and could fail).
 */
int cookie_server_make(struct cookie_mac *m, const uint8_t secret[COOKIE_SECRET_LEN],
		       const uint8_t client[COOKIE_CLIENT_LEN], const struct cookie_addr *addr,
		       const uint8_t reserved[3], uint32_t ts,
		       uint8_t out[COOKIE_SERVER_LEN]) VANE_WUR;

/* The secret of rotation epoch `epoch`, derived from `master` (SipHash-2-4
 * with a 128-bit output over a label and the epoch number). */
int cookie_secret_derive(struct cookie_mac *m, const uint8_t master[COOKIE_SECRET_LEN],
			 uint64_t epoch, uint8_t out[COOKIE_SECRET_LEN]) VANE_WUR;

/*
 * Check the server part of `c` against the secrets of the epoch of `now_s`
 * and the one before (`rotate_s` seconds each, 0 = never rotate: the master
 * is used directly).  Version, hash and the RFC 9018 time window must all
 * hold.  A MAC failure counts as COOKIE_BAD.
 */
enum cookie_status cookie_check(struct cookie_mac *m, const uint8_t master[COOKIE_SECRET_LEN],
				uint32_t rotate_s, const struct dns_cookie *c,
				const struct cookie_addr *addr, uint64_t now_s);

/*
 * The server cookie to send back for `c` (whose status is `st`): the one
 * the client sent when valid and younger than COOKIE_RENEW_S, else a fresh
 * one made with the current epoch's secret.  Returns 0 or VANE_ENOMEM.
 */
int cookie_answer(struct cookie_mac *m, const uint8_t master[COOKIE_SECRET_LEN],
		  uint32_t rotate_s, const struct dns_cookie *c, enum cookie_status st,
		  const struct cookie_addr *addr, uint64_t now_s,
		  uint8_t out[COOKIE_SERVER_LEN]) VANE_WUR;

/* 16 random bytes from OpenSSL's CSPRNG, for a secret not configured.
 * Returns 0 or VANE_EAGAIN (the generator is not seeded). */
int cookie_secret_random(uint8_t out[COOKIE_SECRET_LEN]) VANE_WUR;
