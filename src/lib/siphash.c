/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <endian.h>
#include <string.h>

#include "lib/siphash.h"

static inline uint64_t rotl64(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

/* memcpy and a byte-order conversion compile to one move on little-endian
 * machines; the hash is defined on little-endian words everywhere. */
static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return le64toh(v);
}

static inline void store_le64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

struct sip_state {
	uint64_t v0, v1, v2, v3;
};

/* One SipRound (section 2 of the paper). */
static inline void sip_round(struct sip_state *s)
{
	s->v0 += s->v1;
	s->v1 = rotl64(s->v1, 13) ^ s->v0;
	s->v0 = rotl64(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl64(s->v3, 16) ^ s->v2;
	s->v0 += s->v3;
	s->v3 = rotl64(s->v3, 21) ^ s->v0;
	s->v2 += s->v1;
	s->v1 = rotl64(s->v1, 17) ^ s->v2;
	s->v2 = rotl64(s->v2, 32);
}

static inline void sip_compress(struct sip_state *s, uint64_t m)
{
	s->v3 ^= m;
	sip_round(s);
	sip_round(s);   /* c = 2 */
	s->v0 ^= m;
}

/* Inlined so the four words stay in registers. */
#define SIP_INLINE static inline __attribute__((always_inline))

/* Initialisation and compression of every message word, the last one
 * carrying the length in its top byte; `wide` selects the 128-bit variant,
 * which differs from the start (v1 ^= 0xee). */
SIP_INLINE void sip_absorb(struct sip_state *s, const uint8_t key[SIPHASH_KEY_LEN],
			   const uint8_t *msg, size_t len, int wide)
{
	uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
	s->v0 = k0 ^ 0x736f6d6570736575ull;   /* "somepseu" */
	s->v1 = k1 ^ 0x646f72616e646f6dull;   /* "dorandom" */
	s->v2 = k0 ^ 0x6c7967656e657261ull;   /* "lygenera" */
	s->v3 = k1 ^ 0x7465646279746573ull;   /* "tedbytes" */
	if (wide)
		s->v1 ^= 0xee;
	size_t whole = len & ~(size_t)7;
	for (size_t i = 0; i < whole; i += 8)
		sip_compress(s, load_le64(msg + i));
	/* The last word: the 0..7 bytes left, little-endian, and the length
	 * mod 256 in the top byte.  Shifts, not a memcpy of variable size. */
	uint64_t last = (uint64_t)len << 56;
	const uint8_t *tail = msg + whole;
	switch (len & 7) {
	case 7: last |= (uint64_t)tail[6] << 48; /* fall through */
	case 6: last |= (uint64_t)tail[5] << 40; /* fall through */
	case 5: last |= (uint64_t)tail[4] << 32; /* fall through */
	case 4: last |= (uint64_t)tail[3] << 24; /* fall through */
	case 3: last |= (uint64_t)tail[2] << 16; /* fall through */
	case 2: last |= (uint64_t)tail[1] << 8;  /* fall through */
	case 1: last |= tail[0];                 /* fall through */
	default: break;
	}
	sip_compress(s, last);
}

/* Four rounds (d = 4) and the output word. */
SIP_INLINE uint64_t sip_squeeze(struct sip_state *s)
{
	for (int i = 0; i < 4; i++)   /* d = 4 */
		sip_round(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

void siphash24_64(const uint8_t key[SIPHASH_KEY_LEN], const void *msg, size_t len,
		  uint8_t out[8])
{
	struct sip_state s;
	sip_absorb(&s, key, msg, len, 0);
	s.v2 ^= 0xff;
	store_le64(out, sip_squeeze(&s));
}

void siphash24_128(const uint8_t key[SIPHASH_KEY_LEN], const void *msg, size_t len,
		   uint8_t out[16])
{
	struct sip_state s;
	sip_absorb(&s, key, msg, len, 1);
	s.v2 ^= 0xee;
	store_le64(out, sip_squeeze(&s));
	s.v1 ^= 0xdd;   /* the second half is four more rounds, marked in v1 */
	store_le64(out + 8, sip_squeeze(&s));
}
