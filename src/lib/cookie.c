/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "lib/cookie.h"
#include "lib/siphash.h"
#include "lib/wire.h"

/* Per-thread state: only the derived secrets of the last epoch used, so a
 * query costs no derivation except once per epoch.  (The MAC itself is
 * lib/siphash, stateless.) */
struct cookie_mac {
	bool cached;
	uint64_t epoch;
	uint8_t master[COOKIE_SECRET_LEN];
	uint8_t cur[COOKIE_SECRET_LEN];
	uint8_t prev[COOKIE_SECRET_LEN];
};

int cookie_parse(const uint8_t *p, size_t len, struct dns_cookie *c)
{
	/* RFC 7873 5.2.2: 8 bytes, or 8 plus a server cookie of 8..32. */
	if (len != COOKIE_CLIENT_LEN &&
	    (len < COOKIE_CLIENT_LEN + COOKIE_SERVER_MIN ||
	     len > COOKIE_CLIENT_LEN + COOKIE_SERVER_MAX))
		return VANE_EMALF;
	memcpy(c->client, p, COOKIE_CLIENT_LEN);
	c->server_len = (uint8_t)(len - COOKIE_CLIENT_LEN);
	memcpy(c->server, p + COOKIE_CLIENT_LEN, c->server_len);
	c->present = true;
	return 0;
}

int cookie_addr_from_sa(const void *sockaddr, struct cookie_addr *a)
{
	const struct sockaddr *sa = sockaddr;
	if (!sa)
		return VANE_EINVAL;
	if (sa->sa_family == AF_INET) {
		a->len = 4;
		memcpy(a->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			a->len = 4;
			memcpy(a->addr, a6->s6_addr + 12, 4);
		} else {
			a->len = 16;
			memcpy(a->addr, a6->s6_addr, 16);
		}
		return 0;
	}
	return VANE_EINVAL;
}

struct cookie_mac *cookie_mac_new(void)
{
	return calloc(1, sizeof(struct cookie_mac));
}

void cookie_mac_free(struct cookie_mac *m)
{
	if (!m)
		return;
	OPENSSL_cleanse(m, sizeof(*m));
	free(m);
}

int cookie_server_make(struct cookie_mac *m, const uint8_t secret[COOKIE_SECRET_LEN],
		       const uint8_t client[COOKIE_CLIENT_LEN], const struct cookie_addr *addr,
		       const uint8_t reserved[3], uint32_t ts, uint8_t out[COOKIE_SERVER_LEN])
{
	/* RFC 9018 4.4: Client Cookie | Version | Reserved | Timestamp | Client-IP */
	uint8_t msg[COOKIE_CLIENT_LEN + 8 + 16];
	memcpy(msg, client, COOKIE_CLIENT_LEN);
	out[0] = COOKIE_VERSION;
	memcpy(out + 1, reserved, 3);
	wire_put_u32(out + 4, ts);
	memcpy(msg + COOKIE_CLIENT_LEN, out, 8);
	memcpy(msg + COOKIE_CLIENT_LEN + 8, addr->addr, addr->len);
	(void)m;
	siphash24_64(secret, msg, COOKIE_CLIENT_LEN + 8u + addr->len, out + 8);
	return 0;
}

int cookie_secret_derive(struct cookie_mac *m, const uint8_t master[COOKIE_SECRET_LEN],
			 uint64_t epoch, uint8_t out[COOKIE_SECRET_LEN])
{
	/* A label keeps derived secrets apart from any other use of the
	 * master; the epoch makes each interval's secret independent. */
	uint8_t msg[16] = "vane-cookie\0";
	wire_put_u32(msg + 8, (uint32_t)(epoch >> 32));
	wire_put_u32(msg + 12, (uint32_t)epoch);
	(void)m;
	siphash24_128(master, msg, sizeof(msg), out);
	return 0;
}

/* Point `cur` and `prev` at the secrets of the epoch of `now_s`. */
static int secrets_for(struct cookie_mac *m, const uint8_t master[COOKIE_SECRET_LEN],
		       uint32_t rotate_s, uint64_t now_s, const uint8_t **cur,
		       const uint8_t **prev)
{
	if (rotate_s == 0) {
		*cur = master;
		*prev = NULL;
		return 0;
	}
	uint64_t epoch = now_s / rotate_s;
	if (!m->cached || m->epoch != epoch ||
	    CRYPTO_memcmp(m->master, master, COOKIE_SECRET_LEN) != 0) {
		m->cached = false;
		if (cookie_secret_derive(m, master, epoch, m->cur) < 0 ||
		    cookie_secret_derive(m, master, epoch - 1, m->prev) < 0)
			return VANE_ENOMEM;
		memcpy(m->master, master, COOKIE_SECRET_LEN);
		m->epoch = epoch;
		m->cached = true;
	}
	*cur = m->cur;
	*prev = m->prev;
	return 0;
}

/* RFC 9018 4.3, in serial number arithmetic (the timestamp wraps in 2106). */
static bool in_window(uint32_t ts, uint64_t now_s)
{
	int32_t age = (int32_t)((uint32_t)now_s - ts);
	if (age >= 0)
		return (uint32_t)age <= COOKIE_MAX_AGE_S;
	return (uint32_t)-(int64_t)age <= COOKIE_MAX_SKEW_S;
}

static bool matches(struct cookie_mac *m, const uint8_t *secret, const struct dns_cookie *c,
		    const struct cookie_addr *addr)
{
	uint8_t want[COOKIE_SERVER_LEN];
	if (cookie_server_make(m, secret, c->client, addr, c->server + 1,
			       wire_get_u32(c->server + 4), want) < 0)
		return false;
	return CRYPTO_memcmp(want + 8, c->server + 8, 8) == 0;
}

enum cookie_status cookie_check(struct cookie_mac *m, const uint8_t master[COOKIE_SECRET_LEN],
				uint32_t rotate_s, const struct dns_cookie *c,
				const struct cookie_addr *addr, uint64_t now_s)
{
	const uint8_t *cur, *prev;
	if (!c->present)
		return COOKIE_NONE;
	if (c->server_len == 0)
		return COOKIE_CLIENT_ONLY;
	/* Only version 1 cookies of our size can be ours (RFC 9018 4.1);
	 * the reserved bytes are hashed, not checked, as the RFC says. */
	if (c->server_len != COOKIE_SERVER_LEN || c->server[0] != COOKIE_VERSION ||
	    !in_window(wire_get_u32(c->server + 4), now_s))
		return COOKIE_BAD;
	if (secrets_for(m, master, rotate_s, now_s, &cur, &prev) < 0)
		return COOKIE_BAD;
	if (matches(m, cur, c, addr) || (prev && matches(m, prev, c, addr)))
		return COOKIE_VALID;
	return COOKIE_BAD;
}

int cookie_answer(struct cookie_mac *m, const uint8_t master[COOKIE_SECRET_LEN],
		  uint32_t rotate_s, const struct dns_cookie *c, enum cookie_status st,
		  const struct cookie_addr *addr, uint64_t now_s, uint8_t out[COOKIE_SERVER_LEN])
{
	static const uint8_t zero[3];
	const uint8_t *cur, *prev;

	/* RFC 9018 4.3: a valid cookie less than half an hour old is echoed,
	 * which saves a MAC and keeps the client's cookie stable. */
	if (st == COOKIE_VALID) {
		int32_t age = (int32_t)((uint32_t)now_s - wire_get_u32(c->server + 4));
		if (age < (int32_t)COOKIE_RENEW_S) {
			memcpy(out, c->server, COOKIE_SERVER_LEN);
			return 0;
		}
	}
	int r = secrets_for(m, master, rotate_s, now_s, &cur, &prev);
	if (r < 0)
		return r;
	return cookie_server_make(m, cur, c->client, addr, zero, (uint32_t)now_s, out);
}

int cookie_secret_random(uint8_t out[COOKIE_SECRET_LEN])
{
	return RAND_bytes(out, COOKIE_SECRET_LEN) == 1 ? 0 : VANE_EAGAIN;
}
