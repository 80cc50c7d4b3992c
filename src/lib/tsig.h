/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * TSIG (RFC 8945): transaction signatures with HMAC-SHA256 and HMAC-SHA512,
 * computed with OpenSSL 3 (EVP_MAC "HMAC").  Finding the TSIG record of a
 * message, verifying a request or a response, and signing a message,
 * including the later messages of a multi-message transfer (RFC 8945
 * 5.3.1: the previous MAC plus "TSIG timers only").  Pure: the time is an
 * argument.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/dname.h"
#include "lib/errcode.h"

#define TSIG_FUDGE 300          /* seconds, RFC 8945 10 recommends 300 */
#define TSIG_MAX_MAC 64         /* HMAC-SHA512 */
#define TSIG_MAX_SECRET 256

/* TSIG error codes (RFC 8945 3, the Error field); the rcode is NOTAUTH. */
enum tsig_error {
	TSIG_OK = 0,
	TSIG_BADSIG = 16,
	TSIG_BADKEY = 17,
	TSIG_BADTIME = 18,
	TSIG_BADTRUNC = 22,
};

enum tsig_alg { TSIG_ALG_NONE = 0, TSIG_HMAC_SHA256, TSIG_HMAC_SHA512 };

struct tsig_key {
	uint8_t name[DNAME_MAXLEN];  /* lower-cased wire name */
	uint8_t name_len;
	enum tsig_alg alg;
	uint8_t secret[TSIG_MAX_SECRET];
	uint16_t secret_len;
};

/* The TSIG record of a message, as found by tsig_find (fields point into
 * the message or are copied out of it). */
struct tsig_rr {
	size_t off;                  /* where the TSIG RR starts */
	uint8_t name[DNAME_MAXLEN];  /* key name, lower-cased */
	uint8_t name_len;
	enum tsig_alg alg;           /* NONE: an algorithm we do not know */
	uint64_t time_signed;        /* 48 bits */
	uint16_t fudge;
	uint16_t mac_len;
	const uint8_t *mac;
	uint16_t orig_id;
	uint16_t error;
	uint16_t other_len;
	const uint8_t *other;
};

/* Algorithm from its name ("hmac-sha256"), NONE when unknown. */
enum tsig_alg tsig_alg_from_str(const char *s);
const char *tsig_alg_str(enum tsig_alg alg);
size_t tsig_mac_size(enum tsig_alg alg);

/* Fill a key from presentation form name, algorithm and secret bytes.
 * Returns 0 or VANE_EINVAL. */
int tsig_key_init(struct tsig_key *k, const char *name, enum tsig_alg alg,
		  const uint8_t *secret, size_t secret_len) VANE_WUR;

/*
 * Find the TSIG record: it must be the last record of the additional
 * section (RFC 8945 5.1); a TSIG anywhere else is malformed.  Returns 0,
 * VANE_ENOENT when there is none, or VANE_EMALF.
 */
int tsig_find(const uint8_t *msg, size_t len, struct tsig_rr *t) VANE_WUR;

/*
 * Verify the TSIG `t` of `msg` with `key` at time `now` (seconds).  For a
 * response, `prior` is the MAC of the request or of the previous message
 * (`timers_only` for the later messages of a transfer).  Returns TSIG_OK or
 * the TSIG error to answer (RFC 8945 5.2): BADKEY when the key name or
 * algorithm differ, BADSIG, BADTRUNC, BADTIME (checked after the MAC).
 */
enum tsig_error tsig_verify(const uint8_t *msg, size_t len, const struct tsig_rr *t,
			    const struct tsig_key *key, const uint8_t *prior,
			    size_t prior_len, bool timers_only, uint64_t now);

/* How to sign one message. */
struct tsig_sign {
	const struct tsig_key *key;
	const uint8_t *prior;        /* request MAC or the previous message's; NULL: none */
	size_t prior_len;
	bool timers_only;            /* later messages of a transfer (RFC 8945 5.3.1) */
	uint64_t time_signed;
	uint16_t error;
	const uint8_t *other;        /* BADTIME: the server's time, 6 bytes */
	uint16_t other_len;
	bool unsigned_error;         /* BADKEY/BADSIG answers carry no MAC (RFC 8945 5.3.2) */
};

/*
 * Append a TSIG record to the message `msg` of `*len` bytes (buffer `cap`)
 * and count it in ARCOUNT.  The MAC goes to `mac_out` (TSIG_MAX_MAC bytes,
 * may be NULL) and its length to `*mac_len`.  Returns 0 or VANE_ESPACE
 * (the message is then unchanged), VANE_EINVAL.
 */
int tsig_append(uint8_t *msg, size_t *len, size_t cap, const struct tsig_sign *s,
		uint8_t *mac_out, size_t *mac_len) VANE_WUR;

/* Bytes a TSIG record with `key` adds, to reserve room for it. */
size_t tsig_rr_size(const struct tsig_key *key);
