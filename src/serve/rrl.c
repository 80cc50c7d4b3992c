/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The bucket table is set-associative: a keyed hash of (prefix, class)
 * picks a set of four 32-byte slots (two cache lines); a key not in its set
 * takes the empty or the most refilled slot.  Memory is fixed at start
 * (table-size slots), nothing is allocated per query, and the seed keeps an
 * attacker from aiming many prefixes at one set to recycle a victim's
 * bucket.
 *
 * Each bucket is one word: a GCRA "theoretical arrival time" (the generic
 * cell rate algorithm of ATM, ITU-T I.371, equivalent to a token bucket of
 * `rate` tokens refilled at `rate` per second).  Time counts in ticks of
 * 1/rate ms, so one answer costs RRL_TICKS and a full bucket is
 * 1000 * rate ticks: no division, no multiplication but the clock's.  An
 * answer passes when tat + RRL_TICKS - now <= one second; then tat moves
 * by RRL_TICKS.  Answers over the limit move it too, up to RRL_DEBT_MS of
 * debt beyond a full second, as BIND's and NSD's limiters count every
 * response: a flood that keeps above the rate gets no full answer at all
 * (only slips), instead of `rate` a second as Knot gives it.  That is what
 * keeps the reflection factor below 1 at 2,000 queries/s (bench/attack).
 *
 * Under the limit an answer is one relaxed load and one relaxed store, no
 * compare-and-swap: the only lost update is two workers passing the same
 * bucket at the same instant, which lets one extra answer through per
 * such race.  A flood above the rate sits in debt, where every store caps
 * tat at the same bound, so the races cannot accumulate into a higher rate.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "lib/cookie.h"
#include "lib/wire.h"
#include "serve/rrl.h"

#define RRL_WAYS 4
#define RRL_TICKS 1000u          /* one answer, in ticks of 1/rate ms */
#define RRL_RATE_MAX 1000000u    /* ms * rate stays in 64 bits until 2554 */
#define RRL_DEBT_MS 1000u        /* how far over the limit answers still count */
#define RRL_LOG_EVERY_S 60u

struct rrl_slot {
	_Atomic uint64_t key;        /* keyed hash of (prefix, class); 0 = empty */
	_Atomic uint64_t tat;        /* GCRA theoretical arrival time, in ticks */
	_Atomic uint32_t limited;    /* answers limited so far, for every-Nth slip */
	uint32_t pad[3];
};

struct rrl {
	unsigned rate, slip, v4_prefix, v6_prefix;
	uint64_t burst;              /* one second, in ticks: the bucket size */
	uint64_t debt_cap;           /* burst + RRL_DEBT_MS, in ticks */
	uint64_t seed;
	uint64_t v4_mask, v6_mask0, v6_mask1;   /* the prefixes as word masks */
	size_t set_mask;
	struct rrl_slot *slots;
	/* When each prefix was last reported: (32-bit prefix tag << 32) |
	 * (second + 1); direct-mapped, a collision costs an extra log line. */
	_Atomic uint64_t *logged;
	size_t log_mask;
	struct rrl_prefix *exempt;
	unsigned nexempt;
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static void mask_bits(uint8_t *addr, unsigned nbytes, unsigned len)
{
	for (unsigned i = 0; i < nbytes; i++) {
		if (len >= 8) {
			len -= 8;
			continue;
		}
		addr[i] &= (uint8_t)(0xFF << (8 - len));
		len = 0;
	}
}

/* Keep the first `bits` of the 128-bit value w0:w1. */
static inline void mask_words(unsigned bits, uint64_t *w0, uint64_t *w1)
{
	if (bits < 64) {
		*w0 = bits ? *w0 & ~(UINT64_MAX >> bits) : 0;
		*w1 = 0;
	} else if (bits < 128) {
		*w1 = bits > 64 ? *w1 & ~(UINT64_MAX >> (bits - 64)) : 0;
	}
}

static size_t pow2_at_least(size_t n)
{
	size_t p = 1;
	while (p < n)
		p <<= 1;
	return p;
}

int rrl_new(const struct rrl_conf *conf, struct rrl **out)
{
	*out = NULL;
	if (conf->rate == 0)
		return 0;
	if (conf->rate > RRL_RATE_MAX || conf->v4_prefix < 1 || conf->v4_prefix > 32 ||
	    conf->v6_prefix < 1 || conf->v6_prefix > 128 || conf->table_size == 0)
		return VANE_EINVAL;
	struct rrl *r = calloc(1, sizeof(*r));
	if (!r)
		return VANE_ENOMEM;
	r->rate = conf->rate;
	r->slip = conf->slip;
	r->v4_prefix = conf->v4_prefix;
	r->v6_prefix = conf->v6_prefix;
	r->burst = (uint64_t)conf->rate * 1000u;
	r->debt_cap = r->burst + (uint64_t)conf->rate * RRL_DEBT_MS;
	r->seed = conf->seed;
	uint64_t ones = UINT64_MAX, zero = 0;
	mask_words(r->v4_prefix, &ones, &zero);
	r->v4_mask = ones;
	r->v6_mask0 = r->v6_mask1 = UINT64_MAX;
	mask_words(r->v6_prefix, &r->v6_mask0, &r->v6_mask1);
	size_t nslots = pow2_at_least(conf->table_size < RRL_WAYS ? RRL_WAYS : conf->table_size);
	r->set_mask = nslots / RRL_WAYS - 1;
	size_t nlog = pow2_at_least(nslots / 8 < 64 ? 64 : nslots / 8);
	r->log_mask = nlog - 1;
	r->slots = aligned_alloc(64, nslots * sizeof(*r->slots));
	r->logged = calloc(nlog, sizeof(*r->logged));
	if (conf->nexempt)
		r->exempt = calloc(conf->nexempt, sizeof(*r->exempt));
	if (!r->slots || !r->logged || (conf->nexempt && !r->exempt)) {
		rrl_free(r);
		return VANE_ENOMEM;
	}
	memset(r->slots, 0, nslots * sizeof(*r->slots));
	if (conf->nexempt)
		memcpy(r->exempt, conf->exempt, conf->nexempt * sizeof(*r->exempt));
	r->nexempt = conf->nexempt;
	*out = r;
	return 0;
}

void rrl_free(struct rrl *r)
{
	if (!r)
		return;
	free(r->slots);
	free(r->logged);
	free(r->exempt);
	free(r);
}

static inline enum rrl_class classify(const struct auth_result *res)
{
	/* NOERROR without a wildcard, the common case, by table. */
	static const uint8_t by_kind[] = {
		[AUTH_ANSWER] = RRL_POSITIVE, [AUTH_NODATA] = RRL_NODATA,
		[AUTH_NXDOMAIN] = RRL_POSITIVE, [AUTH_REFERRAL] = RRL_REFERRAL,
		[AUTH_ERROR] = RRL_ERROR,
	};
	if (__builtin_expect(res->rcode == DNS_NOERROR && !res->wildcard &&
			     res->kind < sizeof(by_kind), 1))
		return (enum rrl_class)by_kind[res->kind];
	if (res->rcode == DNS_NXDOMAIN)
		return res->wildcard ? RRL_WILDCARD : RRL_NXDOMAIN;
	if (res->rcode != DNS_NOERROR)
		return RRL_ERROR;
	/* BIND and Knot count wildcard answers by their source, so that
	 * random names under one wildcard share a bucket. */
	if (res->wildcard)
		return RRL_WILDCARD;
	return RRL_POSITIVE;
}

enum rrl_class rrl_classify(const struct auth_result *res)
{
	return classify(res);
}

/* The client's address as a family and two big-endian words; IPv4-mapped
 * IPv6 is IPv4, so a dual-stack socket cannot double a client's rate.
 * Words, not bytes: this runs for every UDP answer. */
static inline bool client_words(const struct sockaddr *sa, uint8_t *family, uint64_t *w0,
				uint64_t *w1)
{
	if (!sa)
		return false;
	if (sa->sa_family == AF_INET) {
		uint32_t a;
		memcpy(&a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		*w0 = (uint64_t)ntohl(a) << 32;
		*w1 = 0;
		*family = AF_INET;
		return true;
	}
	if (sa->sa_family != AF_INET6)
		return false;
	const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	uint64_t hi, lo;
	memcpy(&hi, b, 8);
	memcpy(&lo, b + 8, 8);
	hi = be64toh(hi);
	lo = be64toh(lo);
	if (hi == 0 && (lo >> 32) == 0xFFFF) {
		*w0 = lo << 32;
		*w1 = 0;
		*family = AF_INET;
	} else {
		*w0 = hi;
		*w1 = lo;
		*family = AF_INET6;
	}
	return true;
}

static void words_bytes(uint64_t w0, uint64_t w1, uint8_t out[16])
{
	w0 = htobe64(w0);
	w1 = htobe64(w1);
	memcpy(out, &w0, 8);
	memcpy(out + 8, &w1, 8);
}

/* The client's prefix as family, masked bytes and length, for the log. */
static bool client_prefix(const struct rrl *r, const struct sockaddr *sa, uint8_t *family,
			  uint8_t addr[16], unsigned *plen)
{
	uint64_t w0, w1;
	if (!client_words(sa, family, &w0, &w1))
		return false;
	*plen = *family == AF_INET ? r->v4_prefix : r->v6_prefix;
	mask_words(*plen, &w0, &w1);
	words_bytes(w0, w1, addr);
	return true;
}

static bool prefix_match(const struct rrl_prefix *p, uint8_t family, const uint8_t *addr)
{
	if (p->family != family)
		return false;
	unsigned full = p->len / 8, rest = p->len % 8;
	if (memcmp(p->addr, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t m = (uint8_t)(0xFF << (8 - rest));
	return (addr[full] & m) == p->addr[full];
}

static bool is_exempt(const struct rrl *r, uint8_t family, const uint8_t *addr)
{
	for (unsigned i = 0; i < r->nexempt; i++)
		if (prefix_match(&r->exempt[i], family, addr))
			return true;
	return false;
}

/* The bucket for `key`: its own slot, else an empty or the most refilled
 * slot of its set (smallest tat), taken over with a full bucket. */
static inline struct rrl_slot *bucket(struct rrl *r, uint64_t key, uint64_t now,
				      struct rrl_stats *st)
{
	struct rrl_slot *set = &r->slots[(size_t)(key >> 7 & r->set_mask) * RRL_WAYS];
	if (atomic_load_explicit(&set[0].key, memory_order_relaxed) == key)
		return &set[0];   /* the common case, one compare */
	struct rrl_slot *victim = NULL;
	uint64_t least = 0;
	for (unsigned i = 0; i < RRL_WAYS; i++) {
		uint64_t k = atomic_load_explicit(&set[i].key, memory_order_relaxed);
		if (k == key)
			return &set[i];
		uint64_t tat = k ? atomic_load_explicit(&set[i].tat, memory_order_relaxed) : 0;
		if (!victim || tat < least) {
			victim = &set[i];
			least = tat;
		}
	}
	/* A bucket not yet refilled still limits someone: the table is too
	 * small for the number of active prefixes. */
	if (least > now && st)
		st->evicted++;
	atomic_store_explicit(&victim->key, key, memory_order_relaxed);
	atomic_store_explicit(&victim->tat, now, memory_order_relaxed);
	atomic_store_explicit(&victim->limited, 0, memory_order_relaxed);
	return victim;
}

/* At most one log line a minute per prefix. */
static bool log_due(struct rrl *r, uint64_t pkey, uint64_t now_ms)
{
	_Atomic uint64_t *e = &r->logged[pkey & r->log_mask];
	uint64_t tag = (pkey >> 32) << 32;
	uint32_t now_s = (uint32_t)(now_ms / 1000) + 1;
	uint64_t old = atomic_load_explicit(e, memory_order_relaxed);
	if ((old & 0xFFFFFFFF00000000ull) == tag && old != 0 &&
	    now_s - (uint32_t)old < RRL_LOG_EVERY_S)
		return false;
	return atomic_compare_exchange_strong_explicit(e, &old, tag | now_s,
						       memory_order_relaxed,
						       memory_order_relaxed);
}

/* The per-prefix key of the log table (class left out). */
static uint64_t prefix_key(const struct rrl *r, uint8_t family, uint64_t w0, uint64_t w1)
{
	return mix64(w0 ^ r->seed ^ w1 * 0x9e3779b97f4a7c15ull ^ family);
}

/* Where an answer is accounted. */
struct rrl_where {
	struct rrl_slot *slot;       /* NULL: pass unchecked */
	enum rrl_class cls;
	uint8_t family;
	uint64_t w0, w1;             /* the client's prefix */
	uint64_t now;                /* in ticks */
};

/* Find the bucket of an answer, or say it passes unchecked: no address,
 * an exempt prefix, or a valid server cookie (RFC 7873 1: it proves the
 * address is not spoofed, so the answer cannot be reflected). */
static inline void locate(struct rrl *r, const struct sockaddr *src,
			  const struct auth_result *res, uint64_t now_ms, struct rrl_stats *st,
			  struct rrl_where *w)
{
	w->slot = NULL;
	if (!client_words(src, &w->family, &w->w0, &w->w1))
		return;
	if (res->cookie == COOKIE_VALID)
		goto exempt;
	if (r->nexempt) {
		uint8_t addr[16];
		words_bytes(w->w0, w->w1, addr);
		if (is_exempt(r, w->family, addr))
			goto exempt;
	}
	if (w->family == AF_INET) {
		w->w0 &= r->v4_mask;
	} else {
		w->w0 &= r->v6_mask0;
		w->w1 &= r->v6_mask1;
	}
	w->cls = classify(res);
	/* Hashed once: the class and family go in the low bits, which the
	 * prefix mask cleared (IPv4 keeps 32 of 64 bits, IPv6 at most 60 of
	 * the first word by the schema's default of /56). */
	uint64_t key = mix64(w->w0 ^ r->seed ^ w->w1 * 0x9e3779b97f4a7c15ull ^
			     ((uint64_t)w->cls << 1 | (w->family == AF_INET6))) | 1;
	w->now = now_ms * r->rate;
	w->slot = bucket(r, key, w->now, st);
	return;
exempt:
	if (st)
		st->exempt++;
}

/* The next tat if this answer is taken; it passes when within a second. */
static inline uint64_t next_tat(struct rrl_slot *s, uint64_t now)
{
	uint64_t tat = atomic_load_explicit(&s->tat, memory_order_relaxed);
	/* Workers read the clock once per batch, so another may have stored
	 * a slightly later time: max() never moves tat backwards. */
	return (tat > now ? tat : now) + RRL_TICKS;
}

/* Over the limit (rrl_check's fast path found it so): count the debt,
 * slip or drop, maybe log.  Locates the bucket again rather than taking
 * it as arguments, so the fast path keeps nothing live across the call. */
static __attribute__((noinline)) enum rrl_action
rrl_check_limited(struct rrl *r, const struct sockaddr *src, const struct auth_result *res,
		  uint64_t now_ms, struct rrl_stats *st, bool *log_it)
{
	struct rrl_where w;
	locate(r, src, res, now_ms, NULL, &w);
	if (!w.slot)
		return RRL_PASS;   /* cannot happen: the fast path found one */
	uint64_t next = next_tat(w.slot, w.now);
	if (next - w.now <= r->burst) {   /* another worker's refill won the race */
		atomic_store_explicit(&w.slot->tat, next, memory_order_relaxed);
		return RRL_PASS;
	}
	uint64_t cap = w.now + r->debt_cap;
	atomic_store_explicit(&w.slot->tat, next < cap ? next : cap, memory_order_relaxed);
	uint32_t n = atomic_fetch_add_explicit(&w.slot->limited, 1, memory_order_relaxed) + 1;
	enum rrl_action a = (r->slip && n % r->slip == 0) ? RRL_SLIP : RRL_DROP;
	if (st) {
		st->limited[w.cls]++;
		if (a == RRL_SLIP)
			st->slipped[w.cls]++;
		else
			st->dropped[w.cls]++;
	}
	*log_it = log_due(r, prefix_key(r, w.family, w.w0, w.w1), now_ms);
	return a;
}

enum rrl_action rrl_check(struct rrl *r, const struct sockaddr *src,
			  const struct auth_result *res, uint64_t now_ms,
			  struct rrl_stats *st, bool *log_it)
{
	struct rrl_where w;

	*log_it = false;
	if (!r)
		return RRL_PASS;
	locate(r, src, res, now_ms, st, &w);
	if (!w.slot)
		return RRL_PASS;
	uint64_t next = next_tat(w.slot, w.now);
	if (__builtin_expect(next - w.now <= r->burst, 1)) {
		atomic_store_explicit(&w.slot->tat, next, memory_order_relaxed);
		return RRL_PASS;
	}
	return rrl_check_limited(r, src, res, now_ms, st, log_it);
}

size_t rrl_slip(uint8_t *pkt, size_t len, const struct auth_result *res)
{
	if (len < DNS_HDRLEN)
		return len;
	size_t qend = res->qend >= DNS_HDRLEN && res->qend <= len ? res->qend : DNS_HDRLEN;
	size_t n = qend;
	uint16_t ar = 0;
	if (res->opt_off >= qend && res->opt_off < len) {
		memmove(pkt + qend, pkt + res->opt_off, len - res->opt_off);
		n += len - res->opt_off;
		ar = 1;
	}
	if (qend == DNS_HDRLEN)
		wire_put_u16(pkt + 4, 0);
	wire_put_u16(pkt + 6, 0);
	wire_put_u16(pkt + 8, 0);
	wire_put_u16(pkt + 10, ar);
	pkt[2] |= DNS_TC >> 8;
	return n;
}

void rrl_prefix_text(const struct rrl *r, const struct sockaddr *src, char *buf, size_t size)
{
	uint8_t family, addr[16];
	unsigned plen;
	char a[INET6_ADDRSTRLEN];

	if (!r || !client_prefix(r, src, &family, addr, &plen)) {
		snprintf(buf, size, "?");
		return;
	}
	inet_ntop(family, addr, a, sizeof(a));
	snprintf(buf, size, "%s/%u", a, plen);
}

int rrl_prefix_parse(const char *text, struct rrl_prefix *p)
{
	char a[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	if (alen == 0 || alen >= sizeof(a))
		return VANE_EINVAL;
	memcpy(a, text, alen);
	a[alen] = '\0';
	memset(p, 0, sizeof(*p));
	unsigned max;
	if (inet_pton(AF_INET, a, p->addr) == 1) {
		p->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, a, p->addr) == 1) {
		p->family = AF_INET6;
		max = 128;
	} else {
		return VANE_EINVAL;
	}
	unsigned len = max;
	if (slash) {
		char *end;
		unsigned long v = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end || v > max)
			return VANE_EINVAL;
		len = (unsigned)v;
	}
	p->len = (uint8_t)len;
	mask_bits(p->addr, 16, len);
	return 0;
}
