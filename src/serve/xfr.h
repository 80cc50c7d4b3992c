/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Zone transfers out: AXFR (RFC 5936) and IXFR (RFC 1995) over TCP, IXFR
 * over UDP (the SOA only), access control by address and TSIG key, and
 * TSIG (RFC 8945) on every message, including signed ordinary queries (a
 * secondary signs its SOA refresh queries).
 *
 * The daemon builds one `xfr_zone` per served zone with transfer settings;
 * a transfer in progress holds a reference, so a reload during it neither
 * frees nor changes what it sends.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/pkt.h"
#include "lib/tsig.h"
#include "zone/journal.h"

/* An allow-transfer entry. */
struct xfr_acl {
	struct sockaddr_storage addr;
	unsigned prefix;
	int key;                       /* index into xfr_set.keys, or -1 */
};

struct xfr_zone {
	int refcount;
	struct zone *zone;             /* a reference */
	/* The SOA transfers send, when it is not the zone file's (export:
	 * healthy moves the serial on its own): `soa.rdata` is `soa_rdata`,
	 * owned.  soa.count 0: the zone's. */
	struct rrset soa;
	uint8_t *soa_rdata;
	uint32_t serial;               /* exported serial, with `soa` */
	bool healthy;                  /* export: healthy */
	uint64_t exported_ms;          /* healthy: when `extra` was last computed */
	struct xfr_extra *extra;       /* export: records, owned */
	unsigned nextra;
	struct zjournal *journal;      /* a reference, or NULL */
	struct xfr_acl *acl;           /* owned */
	unsigned nacl;
	char name[DNAME_MAXSTR];       /* for the log, no final dot */
};

/* A zone vaned is a secondary for: who may NOTIFY it (serve/notify_in.c). */
struct xfr_secondary {
	uint8_t apex[DNAME_MAXLEN];    /* lower-cased */
	char name[DNAME_MAXSTR];       /* for the log, no final dot */
	struct sockaddr_storage *primary; /* owned; ports ignored */
	unsigned nprimary;
	int key;                       /* index into xfr_set.keys, or -1 */
};

/* The transfer settings of a view: keys and zones; owned by the daemon's
 * snapshot. */
struct xfr_set {
	struct tsig_key *keys;
	unsigned nkeys;
	struct xfr_zone **zones;       /* references; an entry may be replaced while
					* serving (release store; readers load once) */
	unsigned nzones;
	struct xfr_secondary *secondaries; /* owned */
	unsigned nsecondaries;
};

/* The SOA and serial a transfer of `xz` sends. */
static inline const struct rrset *xfr_zone_soa(const struct xfr_zone *xz)
{
	return xz->soa.count ? &xz->soa : xz->zone->soa;
}

static inline uint32_t xfr_zone_serial(const struct xfr_zone *xz)
{
	return xz->soa.count ? xz->serial : xz->zone->serial;
}

/*
 * Who hears of an accepted NOTIFY (the daemon's secondary zones): called
 * on a query thread with the zone's apex, so it must only post the news
 * (thread-safe, non-blocking).  Set once before the workers start.
 */
typedef void (*xfr_notify_fn)(void *ctx, const uint8_t *apex);
void xfr_notify_hook(xfr_notify_fn fn, void *ctx);


/* True when `sa` is inside the entry's prefix (the port is ignored). */
bool xfr_acl_match(const struct xfr_acl *a, const struct sockaddr *sa);

void xfr_zone_ref(struct xfr_zone *xz);
/* Frees at zero, with its zone reference, extras, journal and ACL. */
void xfr_zone_unref(struct xfr_zone *xz);
void xfr_set_free(struct xfr_set *set);

/* The zone whose apex is exactly `apex` (lower-cased), or NULL. */
struct xfr_zone *xfr_set_find(const struct xfr_set *set, const uint8_t *apex);

/* Re-answer a query (`q`, `qlen`: the request without its TSIG) into
 * `out`; the transport's ordinary answer path. */
typedef size_t (*xfr_answer_fn)(void *ctx, const uint8_t *q, size_t qlen, uint8_t *out,
				size_t cap);

struct xfr_stream;

enum xfr_verdict {
	XFR_NONE = 0,    /* keep the ordinary answer */
	XFR_REPLY,       /* `out` holds the one response to send */
	XFR_STREAM,      /* send what xfr_next writes until it returns 0 */
	XFR_DROP,        /* send nothing */
};

/* A NOTIFY (RFC 1996) for a secondary zone, from `peer`: accepted from a
 * primary (signed with the zone's key when it has one) and answered, or
 * REFUSED and logged.  Returns XFR_REPLY with the answer in `out`, or
 * XFR_DROP. */
enum xfr_verdict xfr_notify_in(const struct xfr_set *set, const struct sockaddr *peer,
			       const uint8_t *q, size_t qlen, uint64_t now, uint8_t *out,
			       size_t cap, size_t *outlen);

/*
 * A query the ordinary path flagged as a transfer or as signed.  `now` is
 * the time in seconds.  Decides, logs refusals, and writes the reply or
 * starts a stream (TCP only).
 */
enum xfr_verdict xfr_request(const struct xfr_set *set, const struct sockaddr *peer,
			     const uint8_t *q, size_t qlen, bool tcp, uint64_t now,
			     xfr_answer_fn answer, void *actx, uint8_t *out, size_t cap,
			     size_t *outlen, struct xfr_stream **stream);

/* The next message of a stream into `out` (DNS_MAXMSG bytes); returns its
 * length, or 0 at the end (or on an error, logged). */
size_t xfr_next(struct xfr_stream *s, uint8_t *out, size_t cap, uint64_t now);

void xfr_stream_free(struct xfr_stream *s);

/* Zone and kind of a stream, for the log: "AXFR" or "IXFR". */
const char *xfr_stream_kind(const struct xfr_stream *s);
