/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The cache table: shards of chained hash tables keyed by the lower-cased
 * name (all types of a name share a bucket, so flushing a name is one
 * bucket walk), an LRU list per shard, and the ready-to-send answer path.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/wire.h"
#include "resolver/cache_int.h"

#define DEFAULT_SIZE (64u << 20)
#define DEFAULT_SHARDS 16
#define INITIAL_BUCKETS 64

struct cache_shard {
	pthread_mutex_t lock;
	struct cache_entry **bucket;
	uint32_t nbucket;                /* power of two */
	uint32_t nentry;
	size_t bytes;
	size_t budget;                   /* max_bytes / shards */
	struct cache_conf conf;          /* copy, read under the lock */
	struct cache_entry lru;          /* sentinel: lru_next = most recent */
	uint64_t hits, stale_hits, misses, prefetches, inserts, evictions;
} __attribute__((aligned(64)));

struct cache {
	unsigned nshard;
	uint32_t seed;
	struct cache_shard *shard;
};

static void conf_defaults(struct cache_conf *dst, const struct cache_conf *src)
{
	if (src)
		*dst = *src;
	else
		memset(dst, 0, sizeof(*dst));
	if (!dst->max_bytes)
		dst->max_bytes = DEFAULT_SIZE;
	if (!dst->max_ttl)
		dst->max_ttl = 86400;
	if (!dst->neg_max_ttl)
		dst->neg_max_ttl = 3600;
	if (!dst->shards || (dst->shards & (dst->shards - 1)) || dst->shards > 256)
		dst->shards = DEFAULT_SHARDS;
}

/*
 * Seeded hash of a lower-cased wire name, eight bytes per multiply: the
 * cache never needs per-suffix hashes on the hot path, so it does not use
 * dname_hash's label-by-label scheme (three times the instructions).
 */
static uint32_t key_hash(const struct cache *c, const uint8_t *name, size_t len)
{
	const uint64_t mul = 0x9E3779B97F4A7C15ull;
	uint64_t h = (c->seed ^ len) * mul;
	for (; len >= 8; len -= 8, name += 8) {
		uint64_t v;
		memcpy(&v, name, 8);
		h = (h ^ v) * mul;
		h ^= h >> 29;
	}
	uint64_t v = 0;
	for (unsigned i = 0; i < len; i++)
		v |= (uint64_t)name[i] << (8 * i);
	h = (h ^ v) * mul;
	h ^= h >> 32;
	return (uint32_t)h;
}

static struct cache_shard *shard_of(struct cache *c, uint32_t h)
{
	return &c->shard[(h >> 24) & (c->nshard - 1)];
}

/* --- LRU ---------------------------------------------------------------- */

static void lru_unlink(struct cache_entry *e)
{
	e->lru_prev->lru_next = e->lru_next;
	e->lru_next->lru_prev = e->lru_prev;
}

static void lru_push(struct cache_shard *s, struct cache_entry *e)
{
	e->lru_next = s->lru.lru_next;
	e->lru_prev = &s->lru;
	s->lru.lru_next->lru_prev = e;
	s->lru.lru_next = e;
}

/* --- lifecycle ---------------------------------------------------------- */

struct cache *cache_new(const struct cache_conf *conf)
{
	struct cache_conf cf;
	conf_defaults(&cf, conf);
	struct cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->nshard = cf.shards;
	c->seed = cf.hash_seed;
	if (posix_memalign((void **)&c->shard, 64, c->nshard * sizeof(*c->shard))) {
		free(c);
		return NULL;
	}
	memset(c->shard, 0, c->nshard * sizeof(*c->shard));
	for (unsigned i = 0; i < c->nshard; i++) {
		struct cache_shard *s = &c->shard[i];
		pthread_mutex_init(&s->lock, NULL);
		s->conf = cf;
		s->budget = cf.max_bytes / cf.shards;
		s->lru.lru_next = s->lru.lru_prev = &s->lru;
		s->nbucket = INITIAL_BUCKETS;
		s->bucket = calloc(s->nbucket, sizeof(*s->bucket));
		if (!s->bucket) {
			c->nshard = i + 1;
			cache_free(c);
			return NULL;
		}
	}
	return c;
}

/* Unlink `e` (found through the chain link `*link`) and free it. */
static void entry_remove(struct cache_shard *s, struct cache_entry **link)
{
	struct cache_entry *e = *link;
	*link = e->next;
	lru_unlink(e);
	s->nentry--;
	s->bytes -= e->bytes;
	free(e);
}

static void shard_clear(struct cache_shard *s)
{
	for (uint32_t b = 0; b < s->nbucket; b++)
		while (s->bucket[b])
			entry_remove(s, &s->bucket[b]);
}

void cache_free(struct cache *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->nshard; i++) {
		struct cache_shard *s = &c->shard[i];
		if (s->bucket)
			shard_clear(s);
		free(s->bucket);
		pthread_mutex_destroy(&s->lock);
	}
	free(c->shard);
	free(c);
}

void cache_set_conf(struct cache *c, const struct cache_conf *conf)
{
	struct cache_conf cf;
	conf_defaults(&cf, conf);
	for (unsigned i = 0; i < c->nshard; i++) {
		struct cache_shard *s = &c->shard[i];
		pthread_mutex_lock(&s->lock);
		s->conf = cf;
		s->budget = cf.max_bytes / c->nshard;
		pthread_mutex_unlock(&s->lock);
	}
}

/* --- matching ----------------------------------------------------------- */

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;
	if (memcmp(a, b, bytes) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xFF << (8 - rest));
	return ((a[bytes] ^ b[bytes]) & mask) == 0;
}

/* RFC 7871 7.3.1: a scoped entry serves clients inside its scope whose
 * source prefix is at least as long. */
static bool scope_match(const struct cache_entry *e, const struct cache_net *cl)
{
	if (e->scope.bits == 0)
		return true;
	if (!cl || cl->family != e->scope.family || cl->bits < e->scope.bits)
		return false;
	return prefix_equal(e->scope.addr, cl->addr, e->scope.bits);
}

/* Masked copy; bits 0 means shared (family forgotten). */
static void net_normalise(struct cache_net *dst, const struct cache_net *src)
{
	memset(dst, 0, sizeof(*dst));
	if (!src || src->bits == 0 || (src->family != 1 && src->family != 2))
		return;
	unsigned max = src->family == 1 ? 32 : 128;
	dst->family = src->family;
	dst->bits = (uint8_t)(src->bits < max ? src->bits : max);
	memcpy(dst->addr, src->addr, (dst->bits + 7u) / 8u);
	if (dst->bits % 8)
		dst->addr[dst->bits / 8] &= (uint8_t)(0xFF << (8 - dst->bits % 8));
}

static bool key_equal(const struct cache_entry *e, uint32_t h, const uint8_t *name,
		      size_t name_len, uint16_t qtype, uint16_t qclass, bool deleg)
{
	return e->hash == h && e->qtype == qtype && e->qclass == qclass &&
	       (e->kind == CACHE_DELEG) == deleg && e->name_len == name_len &&
	       memcmp(entry_name(e), name, name_len) == 0;
}

/* Entries past expiry and past the stale window are dead. */
static bool entry_dead(const struct cache_shard *s, const struct cache_entry *e,
		       uint64_t now)
{
	uint64_t keep = s->conf.serve_stale ? s->conf.stale_max_age : 0;
	return now >= e->expire + keep;
}

/*
 * Find the best entry for a key: the longest matching scope among fresh
 * entries, else (stale_ok) among stale ones.  Dead entries met on the way
 * are removed.
 */
static struct cache_entry *lookup(struct cache_shard *s, uint32_t h, const uint8_t *name,
				  size_t name_len, uint16_t qtype, uint16_t qclass,
				  bool deleg, const struct cache_net *cl, uint64_t now,
				  bool stale_ok)
{
	struct cache_entry *fresh = NULL, *stale = NULL;
	struct cache_entry **link = &s->bucket[h & (s->nbucket - 1)];
	while (*link) {
		struct cache_entry *e = *link;
		if (!key_equal(e, h, name, name_len, qtype, qclass, deleg) ||
		    !scope_match(e, cl)) {
			link = &e->next;
			continue;
		}
		if (now < e->expire) {
			if (!fresh || e->scope.bits > fresh->scope.bits)
				fresh = e;
		} else if (entry_dead(s, e, now)) {
			entry_remove(s, link);
			continue;
		} else if (stale_ok && (!stale || e->scope.bits > stale->scope.bits)) {
			stale = e;
		}
		link = &e->next;
	}
	return fresh ? fresh : stale;
}

/* --- answering ---------------------------------------------------------- */

/* OPT record (RFC 6891 6.1.2) with the query's ECS echoed (RFC 7871 7.2.1). */
static size_t opt_len(const struct dns_query *q)
{
	if (!q->edns)
		return 0;
	return 11 + (q->ecs.present ? 8 + ecs_addr_bytes(q->ecs.source) : 0);
}

static void write_opt(uint8_t *p, const struct dns_query *q, uint8_t scope)
{
	p[0] = 0;
	wire_put_u16(p + 1, DNS_OPT);
	wire_put_u16(p + 3, DNS_EDNS_DEFAULT);
	wire_put_u32(p + 5, 0);
	if (!q->ecs.present) {
		wire_put_u16(p + 9, 0);
		return;
	}
	unsigned ab = ecs_addr_bytes(q->ecs.source);
	wire_put_u16(p + 9, (uint16_t)(8 + ab));
	wire_put_u16(p + 11, EDNS_ECS);
	wire_put_u16(p + 13, (uint16_t)(4 + ab));
	wire_put_u16(p + 15, q->ecs.family);
	p[17] = q->ecs.source;
	p[18] = scope;
	memcpy(p + 19, q->ecs.addr, ab);
}

static void write_header(uint8_t *out, const struct dns_query *q, uint16_t flags,
			 uint16_t an, uint16_t ns, uint16_t ar)
{
	wire_put_u16(out, q->id);
	wire_put_u16(out + 2, (uint16_t)(DNS_QR | DNS_RA | (q->flags & (DNS_RD | DNS_CD)) | flags));
	wire_put_u16(out + 4, 1);
	wire_put_u16(out + 6, an);
	wire_put_u16(out + 8, ns);
	wire_put_u16(out + 10, ar);
}

/* Write the response for entry `e`; TTLs counted down, or 30 when stale. */
static int write_answer(const struct cache_entry *ce, const struct dns_query *q,
			const uint8_t *query, bool stale, uint64_t now,
			uint8_t *out, size_t outcap, struct cache_hit *hit)
{
	struct cache_entry *e = (struct cache_entry *)ce;
	size_t qend = q->question_end;
	size_t olen = opt_len(q);
	size_t need = qend + e->wire_len + olen;
	uint16_t ar_opt = olen ? 1 : 0;
	if (need > outcap) {
		if (qend + olen > outcap)
			return VANE_ESPACE;
		write_header(out, q, DNS_TC | e->rcode, 0, 0, ar_opt);
		memcpy(out + DNS_HDRLEN, query + DNS_HDRLEN, qend - DNS_HDRLEN);
		if (olen)
			write_opt(out + qend, q, e->scope.bits);
		hit->tc = true;
		return (int)(qend + olen);
	}
	write_header(out, q, e->rcode, e->count[0], e->count[1],
		     (uint16_t)(e->count[2] + ar_opt));
	memcpy(out + DNS_HDRLEN, query + DNS_HDRLEN, qend - DNS_HDRLEN);
	uint8_t *w = out + qend;
	memcpy(w, entry_wire(e), e->wire_len);
	const uint32_t *ttl = entry_ttls(e);
	const uint16_t *off = entry_offs(e);
	uint32_t age = (uint32_t)(now - e->stored);
	for (unsigned i = 0; i < e->nrr; i++) {
		uint32_t t = stale ? CACHE_STALE_TTL : ttl[i] > age ? ttl[i] - age : 0;
		wire_put_u32(w + off[i], t);
	}
	if (olen)
		write_opt(w + e->wire_len, q, e->scope.bits);
	hit->tc = false;
	return (int)need;
}

/* Prefetch when under 10% of the TTL is left on a popular entry. */
static bool want_prefetch(const struct cache_shard *s, struct cache_entry *e,
			  uint64_t now)
{
	if (!s->conf.prefetch || e->prefetched || e->hits < s->conf.prefetch_min_hits)
		return false;
	if ((e->expire - now) * 10 >= e->ttl)
		return false;
	e->prefetched = true;
	return true;
}

int cache_answer(struct cache *c, const struct dns_query *q, const uint8_t *query,
		 const struct cache_net *client, uint64_t now, unsigned flags,
		 uint8_t *out, size_t outcap, struct cache_hit *hit)
{
	struct cache_hit dummy;
	if (!hit)
		hit = &dummy;
	uint32_t h = key_hash(c, q->qname, q->qname_len);
	struct cache_shard *s = shard_of(c, h);
	pthread_mutex_lock(&s->lock);
	bool stale_ok = (flags & CACHE_STALE_OK) && s->conf.serve_stale;
	struct cache_entry *e = lookup(s, h, q->qname, q->qname_len, q->qtype, q->qclass,
				       false, client, now, stale_ok);
	if (!e) {
		s->misses++;
		pthread_mutex_unlock(&s->lock);
		return VANE_ENOENT;
	}
	bool stale = now >= e->expire;
	int ret = write_answer(e, q, query, stale, now, out, outcap, hit);
	if (ret > 0) {
		hit->kind = e->kind;
		hit->rcode = e->rcode;
		hit->scope = e->scope.bits;
		hit->stale = stale;
		hit->ttl = stale ? CACHE_STALE_TTL : (uint32_t)(e->expire - now);
		hit->prefetch = !stale && want_prefetch(s, e, now);
		s->prefetches += hit->prefetch;
		s->hits++;
		s->stale_hits += stale;
		e->hits++;
		lru_unlink(e);
		lru_push(s, e);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* --- storing ------------------------------------------------------------ */

static void grow(struct cache_shard *s)
{
	uint32_t n = s->nbucket * 2;
	struct cache_entry **nb = calloc(n, sizeof(*nb));
	if (!nb)
		return;                  /* longer chains, still correct */
	for (uint32_t b = 0; b < s->nbucket; b++) {
		struct cache_entry *e = s->bucket[b];
		while (e) {
			struct cache_entry *next = e->next;
			e->next = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
			e = next;
		}
	}
	free(s->bucket);
	s->bucket = nb;
	s->nbucket = n;
}

/* Remove `victim` by finding its chain link. */
static void remove_entry(struct cache_shard *s, struct cache_entry *victim)
{
	struct cache_entry **link = &s->bucket[victim->hash & (s->nbucket - 1)];
	while (*link != victim)
		link = &(*link)->next;
	entry_remove(s, link);
}

/* Insert `e` (key, scope and hash set) replacing the same key and scope. */
static int insert(struct cache *c, struct cache_entry *e)
{
	struct cache_shard *s = shard_of(c, e->hash);
	pthread_mutex_lock(&s->lock);
	if (e->bytes > s->budget) {
		pthread_mutex_unlock(&s->lock);
		free(e);
		return VANE_ENOTSUP;
	}
	struct cache_entry **link = &s->bucket[e->hash & (s->nbucket - 1)];
	while (*link) {
		struct cache_entry *o = *link;
		if (key_equal(o, e->hash, entry_name(e), e->name_len, e->qtype, e->qclass,
			      e->kind == CACHE_DELEG) &&
		    memcmp(&o->scope, &e->scope, sizeof(e->scope)) == 0) {
			entry_remove(s, link);
			continue;
		}
		link = &o->next;
	}
	while (s->bytes + e->bytes > s->budget && s->lru.lru_prev != &s->lru) {
		remove_entry(s, s->lru.lru_prev);
		s->evictions++;
	}
	if (s->nentry >= s->nbucket)
		grow(s);
	link = &s->bucket[e->hash & (s->nbucket - 1)];
	e->next = *link;
	*link = e;
	lru_push(s, e);
	s->nentry++;
	s->bytes += e->bytes;
	s->inserts++;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void limits_of(struct cache *c, uint32_t h, struct cache_limits *lim)
{
	struct cache_shard *s = shard_of(c, h);
	pthread_mutex_lock(&s->lock);
	lim->min_ttl = s->conf.min_ttl;
	lim->max_ttl = s->conf.max_ttl;
	lim->neg_max_ttl = s->conf.neg_max_ttl;
	pthread_mutex_unlock(&s->lock);
}

static int put_with(struct cache *c, const uint8_t *qname, uint16_t qtype,
		    uint16_t qclass, const struct cache_net *scope, const uint8_t *msg,
		    size_t len, uint64_t now, int64_t min_ttl)
{
	uint32_t h = key_hash(c, qname, dname_len(qname));
	struct cache_limits lim;
	limits_of(c, h, &lim);
	if (min_ttl >= 0)
		lim.min_ttl = (uint32_t)min_ttl;
	struct cache_entry *e = NULL;
	int ret = cache_entry_from_msg(&lim, qname, qtype, qclass, msg, len, now, &e);
	if (ret < 0)
		return ret;
	e->hash = h;
	net_normalise(&e->scope, scope);
	return insert(c, e);
}

int cache_put(struct cache *c, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
	      const struct cache_net *scope, const uint8_t *msg, size_t len,
	      uint64_t now)
{
	return put_with(c, qname, qtype, qclass, scope, msg, len, now, -1);
}

int cache_put_floor(struct cache *c, const uint8_t *qname, uint16_t qtype,
		    uint16_t qclass, const struct cache_net *scope, const uint8_t *msg,
		    size_t len, uint64_t now, uint32_t min_ttl)
{
	return put_with(c, qname, qtype, qclass, scope, msg, len, now, min_ttl);
}

int cache_put_deleg(struct cache *c, const struct cache_deleg *d, uint32_t ttl,
		    uint64_t now)
{
	if (d->nns == 0)
		return VANE_EINVAL;
	uint32_t h = key_hash(c, d->zone, dname_len(d->zone));
	struct cache_limits lim;
	limits_of(c, h, &lim);
	if (ttl > lim.max_ttl)
		ttl = lim.max_ttl;
	if (ttl < lim.min_ttl)
		ttl = lim.min_ttl;
	if (ttl == 0)
		return VANE_ENOTSUP;
	struct cache_entry *e = NULL;
	int ret = cache_entry_from_deleg(d, ttl, now, &e);
	if (ret < 0)
		return ret;
	e->hash = h;
	return insert(c, e);
}

int cache_get_deleg(struct cache *c, const uint8_t *qname, uint64_t now,
		    unsigned flags, struct cache_deleg *out)
{
	uint8_t offs[DNAME_MAXLABELS];
	unsigned n = dname_label_offsets(qname, offs);
	for (unsigned i = 0; i <= n; i++) {
		const uint8_t *zone = qname + offs[i];
		uint32_t h = key_hash(c, zone, offs[n] - offs[i] + 1u);
		struct cache_shard *s = shard_of(c, h);
		pthread_mutex_lock(&s->lock);
		bool stale_ok = (flags & CACHE_STALE_OK) && s->conf.serve_stale;
		struct cache_entry *e = lookup(s, h, zone, offs[n] - offs[i] + 1u, DNS_NS,
					       DNS_IN, true, NULL, now, stale_ok);
		if (e) {
			cache_entry_to_deleg(e, out);
			out->stale = now >= e->expire;
			out->ttl = out->stale ? CACHE_STALE_TTL : (uint32_t)(e->expire - now);
			lru_unlink(e);
			lru_push(s, e);
		}
		pthread_mutex_unlock(&s->lock);
		if (e)
			return 0;
	}
	return VANE_ENOENT;
}

/* --- flush, dump, stats ------------------------------------------------- */

static size_t flush_shard(struct cache_shard *s, const uint8_t *name, bool subtree,
			  uint32_t only_bucket_hash, bool one_bucket)
{
	size_t removed = 0;
	uint32_t first = 0, last = s->nbucket;
	if (one_bucket) {
		first = only_bucket_hash & (s->nbucket - 1);
		last = first + 1;
	}
	for (uint32_t b = first; b < last; b++) {
		struct cache_entry **link = &s->bucket[b];
		while (*link) {
			struct cache_entry *e = *link;
			bool hit = !name || (subtree ? dname_is_sub(entry_name(e), name) :
					     dname_equal(entry_name(e), name));
			if (hit) {
				entry_remove(s, link);
				removed++;
			} else {
				link = &e->next;
			}
		}
	}
	return removed;
}

size_t cache_flush(struct cache *c, const uint8_t *name, bool subtree)
{
	size_t removed = 0;
	if (name && !subtree) {
		uint32_t h = key_hash(c, name, dname_len(name));
		struct cache_shard *s = shard_of(c, h);
		pthread_mutex_lock(&s->lock);
		removed = flush_shard(s, name, false, h, true);
		pthread_mutex_unlock(&s->lock);
		return removed;
	}
	for (unsigned i = 0; i < c->nshard; i++) {
		struct cache_shard *s = &c->shard[i];
		pthread_mutex_lock(&s->lock);
		removed += flush_shard(s, name, subtree, 0, false);
		pthread_mutex_unlock(&s->lock);
	}
	return removed;
}

static void entry_info(struct cache_entry *e, uint64_t now, struct cache_info *in)
{
	in->name = entry_name(e);
	in->qtype = e->qtype;
	in->qclass = e->qclass;
	in->kind = e->kind;
	in->rcode = e->rcode;
	in->scope = e->scope;
	in->ttl = (int64_t)e->expire - (int64_t)now;
	in->orig_ttl = e->ttl;
	in->hits = e->hits;
	in->ancount = e->count[0];
	in->nscount = e->count[1];
	in->arcount = e->count[2];
	in->bytes = e->bytes;
}

int cache_dump(struct cache *c, uint64_t now,
	       int (*cb)(const struct cache_info *info, void *ctx), void *ctx)
{
	int ret = 0;
	for (unsigned i = 0; i < c->nshard && ret == 0; i++) {
		struct cache_shard *s = &c->shard[i];
		pthread_mutex_lock(&s->lock);
		for (struct cache_entry *e = s->lru.lru_next; e != &s->lru && ret == 0;
		     e = e->lru_next) {
			struct cache_info in;
			entry_info(e, now, &in);
			ret = cb(&in, ctx);
		}
		pthread_mutex_unlock(&s->lock);
	}
	return ret;
}

void cache_stats(struct cache *c, struct cache_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned i = 0; i < c->nshard; i++) {
		struct cache_shard *s = &c->shard[i];
		pthread_mutex_lock(&s->lock);
		st->entries += s->nentry;
		st->bytes += s->bytes;
		st->max_bytes += s->budget;
		st->hits += s->hits;
		st->stale_hits += s->stale_hits;
		st->misses += s->misses;
		st->prefetches += s->prefetches;
		st->inserts += s->inserts;
		st->evictions += s->evictions;
		pthread_mutex_unlock(&s->lock);
	}
}
