/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A small blocking client of etcd's v3 JSON gateway (etcd 3.4: POST
 * /v3/kv/range, /v3/kv/txn, /v3/kv/put, /v3/lease/grant,
 * /v3/lease/keepalive) over libcurl, with keys and values base64 as the
 * gateway wants them.
 *
 * One `struct etcd` per thread (it owns a curl easy handle).  Each call
 * tries the members in turn, starting with the one that answered last,
 * within `timeout_ms` per member.  A call that no member answers in time
 * is VANE_EAGAIN: without quorum etcd does not answer a linearizable read
 * or a write at all, so a timeout is what "no quorum" looks like here.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "lib/errcode.h"

struct etcd;

/* TLS to https:// members: PEM files, each NULL when not used (`ca` NULL:
 * the system's CAs).  Peers are verified, host names included. */
struct etcd_tls {
	const char *cert, *key, *ca;
};

/* `urls` and `tls` (may be NULL) are copied.  NULL without memory. */
struct etcd *etcd_new(char *const *urls, unsigned n, long timeout_ms,
		      const struct etcd_tls *tls);
void etcd_free(struct etcd *e);

/* One key-value pair as read (strings decoded, NUL-terminated). */
struct etcd_kv {
	char *key;
	char *value;
	int64_t mod_revision;
};

struct etcd_range {
	struct etcd_kv *kv;
	unsigned n;
	int64_t revision;                /* of the store when read */
};

void etcd_range_free(struct etcd_range *r);

/* Every key under `prefix` (linearizable).  0, VANE_EAGAIN, or VANE_EINVAL when
 * etcd refused the request itself (4xx). */
int etcd_get_prefix(struct etcd *e, const char *prefix, struct etcd_range *out) VANE_WUR;

/* The store's revision, by a linearizable count of `key` (no values
 * read): cheap enough to ask every poll, to skip reading ranges that
 * cannot have changed. */
int etcd_revision(struct etcd *e, const char *key, int64_t *revision) VANE_WUR;

/* How many keys under `prefix` were modified after revision `since`
 * (their keys only are read) into `*changed`, and etcd's count of the
 * keys under it into `*count`: a deletion shows there. */
int etcd_changed_since(struct etcd *e, const char *prefix, int64_t since, unsigned *changed,
		       int64_t *count) VANE_WUR;

/* One key: `*value` malloc'd or NULL when absent, `*mod_rev` 0 when absent. */
int etcd_get(struct etcd *e, const char *key, char **value, int64_t *mod_rev) VANE_WUR;

/* Put `value` at `key` if its mod_revision is still `mod_rev` (0: the key
 * must not exist).  `*ok` false when another writer came first.  `lease`
 * 0 = none.  `*revision` (may be NULL): the store's revision after it. */
int etcd_put_if(struct etcd *e, const char *key, const char *value, int64_t mod_rev,
		int64_t lease, bool *ok, int64_t *revision) VANE_WUR;

/* Unconditional puts of `n` keys in one txn, all or none (`lease` 0 =
 * none).  etcd takes at most 128 operations per txn by default
 * (--max-txn-ops): keep `n` below that. */
int etcd_put_many(struct etcd *e, const char *const *keys, const char *const *values, unsigned n,
		  int64_t lease) VANE_WUR;

/* Unconditional put (`lease` 0 = none). */
int etcd_put(struct etcd *e, const char *key, const char *value, int64_t lease) VANE_WUR;

/*
 * Watch every key under `prefix` (POST /v3/watch, a stream that stays
 * open): `on_event` runs on this thread for each message that carries
 * events; `keep_going` is asked about once a second and ends the watch
 * when false.  Returns when the stream ends: 0 (stopped) or VANE_EAGAIN.
 */
int etcd_watch(struct etcd *e, const char *prefix, void (*on_event)(void *ctx),
	       bool (*keep_going)(void *ctx), void *ctx) VANE_WUR;

/* A lease of `ttl_s` seconds into `*id`. */
int etcd_lease_grant(struct etcd *e, unsigned ttl_s, int64_t *id) VANE_WUR;

/* Renew lease `id` once; VANE_ENOENT when it has expired. */
int etcd_lease_keepalive(struct etcd *e, int64_t id) VANE_WUR;

/* Lease `id`'s remaining and granted TTL in seconds (`*ttl` -1 when it
 * has expired): how long ago its holder last renewed it. */
int etcd_lease_ttl(struct etcd *e, int64_t id, int64_t *ttl, int64_t *granted) VANE_WUR;

/* Base64 (RFC 4648 with padding), malloc'd; NULL without memory or on bad
 * input. */
char *etcd_b64_encode(const void *data, size_t len);
char *etcd_b64_decode(const char *text, size_t *len);
