/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "lib/pkt.h"
#include "lib/tsig.h"
#include "lib/wire.h"

/* Algorithm names in wire form, as RFC 8945 6 lists them. */
static const uint8_t alg_sha256[] = "\x0bhmac-sha256";
static const uint8_t alg_sha512[] = "\x0bhmac-sha512";

enum tsig_alg tsig_alg_from_str(const char *s)
{
	size_t n = strlen(s);
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 11 && strncasecmp(s, "hmac-sha256", 11) == 0)
		return TSIG_HMAC_SHA256;
	if (n == 11 && strncasecmp(s, "hmac-sha512", 11) == 0)
		return TSIG_HMAC_SHA512;
	return TSIG_ALG_NONE;
}

const char *tsig_alg_str(enum tsig_alg alg)
{
	switch (alg) {
	case TSIG_HMAC_SHA256: return "hmac-sha256";
	case TSIG_HMAC_SHA512: return "hmac-sha512";
	default: return "unknown";
	}
}

size_t tsig_mac_size(enum tsig_alg alg)
{
	return alg == TSIG_HMAC_SHA256 ? 32 : alg == TSIG_HMAC_SHA512 ? 64 : 0;
}

static const uint8_t *alg_wire(enum tsig_alg alg)
{
	return alg == TSIG_HMAC_SHA256 ? alg_sha256 : alg_sha512;
}

static enum tsig_alg alg_from_wire(const uint8_t *name)
{
	if (dname_equal(name, alg_sha256))
		return TSIG_HMAC_SHA256;
	if (dname_equal(name, alg_sha512))
		return TSIG_HMAC_SHA512;
	return TSIG_ALG_NONE;
}

int tsig_key_init(struct tsig_key *k, const char *name, enum tsig_alg alg,
		  const uint8_t *secret, size_t secret_len)
{
	memset(k, 0, sizeof(*k));
	int n = dname_from_str(name, NULL, k->name);
	if (n <= 0 || alg == TSIG_ALG_NONE || secret_len > TSIG_MAX_SECRET)
		return VANE_EINVAL;
	dname_lower(k->name);
	k->name_len = (uint8_t)n;
	k->alg = alg;
	memcpy(k->secret, secret, secret_len);
	k->secret_len = (uint16_t)secret_len;
	return 0;
}

/* Skip one RR at `*off`; returns its type, or -1 when malformed. */
static int rr_skip(const uint8_t *msg, size_t len, size_t *off)
{
	uint8_t name[DNAME_MAXLEN];
	if (dname_unpack(msg, len, off, name, false) < 0 || *off + 10 > len)
		return -1;
	uint16_t type = wire_get_u16(msg + *off);
	size_t rdlen = wire_get_u16(msg + *off + 8);
	*off += 10;
	if (*off + rdlen > len)
		return -1;
	*off += rdlen;
	return type;
}

int tsig_find(const uint8_t *msg, size_t len, struct tsig_rr *t)
{
	if (len < DNS_HDRLEN)
		return VANE_EMALF;
	unsigned qd = wire_get_u16(msg + 4);
	unsigned rrs = (unsigned)wire_get_u16(msg + 6) + wire_get_u16(msg + 8);
	unsigned ar = wire_get_u16(msg + 10);
	size_t off = DNS_HDRLEN;
	uint8_t name[DNAME_MAXLEN];
	for (unsigned i = 0; i < qd; i++) {
		if (dname_unpack(msg, len, &off, name, false) < 0 || off + 4 > len)
			return VANE_EMALF;
		off += 4;
	}
	for (unsigned i = 0; i < rrs + ar; i++) {
		size_t start = off;
		int type = rr_skip(msg, len, &off);
		if (type < 0)
			return VANE_EMALF;
		if (type != DNS_TSIG)
			continue;
		/* RFC 8945 5.1: only as the last additional record. */
		if (i != rrs + ar - 1 || i < rrs)
			return VANE_EMALF;
		memset(t, 0, sizeof(*t));
		t->off = start;
		size_t p = start;
		int n = dname_unpack(msg, len, &p, t->name, true);
		if (n <= 0)
			return VANE_EMALF;
		t->name_len = (uint8_t)n;
		if (wire_get_u16(msg + p + 2) != DNS_ANYCLASS)
			return VANE_EMALF;
		size_t rdend = p + 10 + wire_get_u16(msg + p + 8);
		p += 10;
		uint8_t alg[DNAME_MAXLEN];
		if (dname_unpack(msg, rdend, &p, alg, true) <= 0)
			return VANE_EMALF;
		t->alg = alg_from_wire(alg);
		struct wire w = wire_init_ro(msg + p, rdend - p);
		t->time_signed = (uint64_t)wire_read_u16(&w) << 32;
		t->time_signed |= wire_read_u32(&w);
		t->fudge = wire_read_u16(&w);
		t->mac_len = wire_read_u16(&w);
		t->mac = w.pos;
		wire_skip(&w, t->mac_len);
		t->orig_id = wire_read_u16(&w);
		t->error = wire_read_u16(&w);
		t->other_len = wire_read_u16(&w);
		t->other = w.pos;
		wire_skip(&w, t->other_len);
		if (w.err || wire_avail(&w) != 0)
			return VANE_EMALF;
		return 0;
	}
	return off == len ? VANE_ENOENT : VANE_EMALF;
}

struct hmac {
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
};

static int hmac_init(struct hmac *h, const struct tsig_key *key)
{
	char digest[16];
	snprintf(digest, sizeof(digest), "%s", key->alg == TSIG_HMAC_SHA256 ? "SHA256" : "SHA512");
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};
	h->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	h->ctx = h->mac ? EVP_MAC_CTX_new(h->mac) : NULL;
	if (!h->ctx || EVP_MAC_init(h->ctx, key->secret, key->secret_len, params) != 1)
		return VANE_ENOMEM;
	return 0;
}

static void hmac_add(struct hmac *h, const void *p, size_t n)
{
	if (n)
		EVP_MAC_update(h->ctx, p, n);
}

static void hmac_u16(struct hmac *h, uint16_t v)
{
	uint8_t b[2];
	wire_put_u16(b, v);
	hmac_add(h, b, 2);
}

static void hmac_time(struct hmac *h, uint64_t t, uint16_t fudge)
{
	uint8_t b[8];
	wire_put_u16(b, (uint16_t)(t >> 32));
	wire_put_u32(b + 2, (uint32_t)t);
	wire_put_u16(b + 6, fudge);
	hmac_add(h, b, 8);
}

static size_t hmac_done(struct hmac *h, uint8_t *out)
{
	size_t n = 0;
	if (EVP_MAC_final(h->ctx, out, &n, TSIG_MAX_MAC) != 1)
		n = 0;
	EVP_MAC_CTX_free(h->ctx);
	EVP_MAC_free(h->mac);
	return n;
}

/*
 * The digest of RFC 8945 4.3: the prior MAC (responses), the message as it
 * was before the TSIG was added (`hdr` holds its header with the original
 * ID and ARCOUNT), and the TSIG variables, or the timers only (4.3.3).
 */
static size_t compute_mac(const struct tsig_key *key, const uint8_t *prior, size_t prior_len,
			  const uint8_t *hdr, const uint8_t *body, size_t body_len,
			  bool timers_only, uint64_t time_signed, uint16_t fudge, uint16_t error,
			  const uint8_t *other, uint16_t other_len, uint8_t *out)
{
	struct hmac h = { 0 };
	if (hmac_init(&h, key) != 0) {
		EVP_MAC_CTX_free(h.ctx);
		EVP_MAC_free(h.mac);
		return 0;
	}
	if (prior) {
		hmac_u16(&h, (uint16_t)prior_len);
		hmac_add(&h, prior, prior_len);
	}
	hmac_add(&h, hdr, DNS_HDRLEN);
	hmac_add(&h, body, body_len);
	if (!timers_only) {
		const uint8_t *alg = alg_wire(key->alg);
		hmac_add(&h, key->name, key->name_len);
		hmac_u16(&h, DNS_ANYCLASS);
		hmac_add(&h, "\0\0\0\0", 4);        /* TTL */
		hmac_add(&h, alg, dname_len(alg));
	}
	hmac_time(&h, time_signed, fudge);
	if (!timers_only) {
		hmac_u16(&h, error);
		hmac_u16(&h, other_len);
		hmac_add(&h, other, other_len);
	}
	return hmac_done(&h, out);
}

enum tsig_error tsig_verify(const uint8_t *msg, size_t len, const struct tsig_rr *t,
			    const struct tsig_key *key, const uint8_t *prior,
			    size_t prior_len, bool timers_only, uint64_t now)
{
	if (t->alg != key->alg || t->name_len != key->name_len ||
	    memcmp(t->name, key->name, key->name_len) != 0)
		return TSIG_BADKEY;
	size_t full = tsig_mac_size(key->alg);
	/* RFC 8945 5.2.2.1: shorter than half or 10 bytes is malformed; we
	 * accept no truncation at all, which 5.2.4 allows as local policy. */
	if (t->mac_len > full || t->mac_len < full / 2 || t->mac_len < 10)
		return TSIG_BADSIG;
	uint8_t hdr[DNS_HDRLEN], mac[TSIG_MAX_MAC];
	memcpy(hdr, msg, DNS_HDRLEN);
	wire_put_u16(hdr, t->orig_id);
	wire_put_u16(hdr + 10, (uint16_t)(wire_get_u16(msg + 10) - 1));
	size_t n = compute_mac(key, prior, prior_len, hdr, msg + DNS_HDRLEN,
			       t->off - DNS_HDRLEN, timers_only, t->time_signed, t->fudge,
			       t->error, t->other, t->other_len, mac);
	if (n != full || CRYPTO_memcmp(mac, t->mac, t->mac_len) != 0)
		return TSIG_BADSIG;
	if (t->mac_len < full)
		return TSIG_BADTRUNC;
	/* RFC 8945 5.2.3: the time is checked after the MAC. */
	uint64_t lo = t->time_signed > t->fudge ? t->time_signed - t->fudge : 0;
	if (now < lo || now > t->time_signed + t->fudge)
		return TSIG_BADTIME;
	return TSIG_OK;
}

size_t tsig_rr_size(const struct tsig_key *key)
{
	/* owner, type/class/ttl/rdlen, algorithm, time, fudge, MAC size, MAC,
	 * original ID, error, other length, other data (BADTIME: 6). */
	return key->name_len + 10 + dname_len(alg_wire(key->alg)) + 6 + 2 + 2 +
	       tsig_mac_size(key->alg) + 2 + 2 + 2 + 6;
}

int tsig_append(uint8_t *msg, size_t *len, size_t cap, const struct tsig_sign *s,
		uint8_t *mac_out, size_t *mac_len)
{
	const struct tsig_key *key = s->key;
	uint8_t mac[TSIG_MAX_MAC];
	size_t n = 0;
	if (*len < DNS_HDRLEN || key->alg == TSIG_ALG_NONE)
		return VANE_EINVAL;
	if (!s->unsigned_error) {
		n = compute_mac(key, s->prior, s->prior_len, msg, msg + DNS_HDRLEN,
				*len - DNS_HDRLEN, s->timers_only, s->time_signed, TSIG_FUDGE,
				s->error, s->other, s->other_len, mac);
		if (n == 0)
			return VANE_ENOMEM;
	}
	const uint8_t *alg = alg_wire(key->alg);
	size_t alg_len = dname_len(alg);
	struct wire w = wire_init(msg, cap);
	wire_seek(&w, *len);
	wire_write(&w, key->name, key->name_len);
	wire_write_u16(&w, DNS_TSIG);
	wire_write_u16(&w, DNS_ANYCLASS);
	wire_write_u32(&w, 0);
	wire_write_u16(&w, (uint16_t)(alg_len + 16 + n + s->other_len));
	wire_write(&w, alg, alg_len);
	wire_write_u16(&w, (uint16_t)(s->time_signed >> 32));
	wire_write_u32(&w, (uint32_t)s->time_signed);
	wire_write_u16(&w, TSIG_FUDGE);
	wire_write_u16(&w, (uint16_t)n);
	wire_write(&w, mac, n);
	wire_write_u16(&w, wire_get_u16(msg));   /* original ID */
	wire_write_u16(&w, s->error);
	wire_write_u16(&w, s->other_len);
	if (s->other_len)
		wire_write(&w, s->other, s->other_len);
	if (w.err)
		return VANE_ESPACE;
	*len = wire_offset(&w);
	wire_put_u16(msg + 10, (uint16_t)(wire_get_u16(msg + 10) + 1));
	if (mac_out)
		memcpy(mac_out, mac, n);
	if (mac_len)
		*mac_len = n;
	return 0;
}
