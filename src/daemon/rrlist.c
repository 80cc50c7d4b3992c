/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/rrlist.h"
#include "lib/dname.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "zone/journal.h"

void rrlist_init(struct rrlist *l)
{
	memset(l, 0, sizeof(*l));
}

void rrlist_free(struct rrlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->rec[i].owner);
		free(l->rec[i].rdata);
	}
	free(l->rec);
	free(l->slot);
	memset(l, 0, sizeof(*l));
}

static uint32_t rec_hash(const uint8_t *owner, uint16_t type, const uint8_t *rd, uint16_t rdlen)
{
	uint32_t h = dname_hash(owner, dname_len(owner)) ^ (uint32_t)type * 0x9E3779B1u;
	for (uint16_t i = 0; i < rdlen; i++)   /* FNV-1a over the RDATA */
		h = (h ^ rd[i]) * 16777619u;
	/* murmur3's finaliser: linear probing uses the low bits, which
	 * FNV leaves clustered for addresses differing in the last byte. */
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	return h ^ (h >> 16);
}

static bool rec_equal(const struct rrl_rec *r, const uint8_t *owner, uint16_t type,
		      const uint8_t *rd, uint16_t rdlen)
{
	return !r->gone && r->type == type && r->rdlen == rdlen && dname_equal(r->owner, owner) &&
	       memcmp(r->rdata, rd, rdlen) == 0;
}

/* Keep the index at most half full; rebuilt from the live records. */
static int index_grow(struct rrlist *l)
{
	size_t ns = l->nslot ? l->nslot * 2 : 1024;
	while (ns < l->live * 2 + 2)
		ns *= 2;
	uint32_t *slot = calloc(ns, sizeof(*slot));
	if (!slot)
		return VANE_ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		const struct rrl_rec *r = &l->rec[i];
		if (r->gone)
			continue;
		size_t s = rec_hash(r->owner, r->type, r->rdata, r->rdlen) & (ns - 1);
		while (slot[s])
			s = (s + 1) & (ns - 1);
		slot[s] = (uint32_t)(i + 1);
	}
	free(l->slot);
	l->slot = slot;
	l->nslot = ns;
	return 0;
}

int rrlist_add(struct rrlist *l, const uint8_t *owner_any, uint16_t type, uint32_t ttl,
	       const uint8_t *rdata, uint16_t rdlen)
{
	uint8_t owner[DNAME_MAXLEN];
	memcpy(owner, owner_any, dname_len(owner_any));
	dname_lower(owner);
	/* Deleted records keep their slots until the next rebuild, so count
	 * every record ever added against the load factor. */
	if ((l->n + 1) * 2 > l->nslot && index_grow(l) != 0)
		return VANE_ENOMEM;
	size_t s = rec_hash(owner, type, rdata, rdlen) & (l->nslot - 1);
	for (; l->slot[s]; s = (s + 1) & (l->nslot - 1))
		if (rec_equal(&l->rec[l->slot[s] - 1], owner, type, rdata, rdlen))
			return 0;   /* a duplicate: RRsets are sets (RFC 2181 5) */
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		struct rrl_rec *rec = realloc(l->rec, cap * sizeof(*rec));
		if (!rec)
			return VANE_ENOMEM;
		l->rec = rec;
		l->cap = cap;
	}
	struct rrl_rec *r = &l->rec[l->n];
	size_t ol = dname_len(owner);
	r->owner = malloc(ol);
	r->rdata = malloc(rdlen ? rdlen : 1);
	if (!r->owner || !r->rdata) {
		free(r->owner);
		free(r->rdata);
		return VANE_ENOMEM;
	}
	memcpy(r->owner, owner, ol);
	memcpy(r->rdata, rdata, rdlen);
	r->ttl = ttl;
	r->type = type;
	r->rdlen = rdlen;
	r->gone = false;
	l->slot[s] = (uint32_t)(l->n + 1);
	l->n++;
	l->live++;
	return 0;
}

int rrlist_del(struct rrlist *l, const uint8_t *owner, uint16_t type, const uint8_t *rdata,
	       uint16_t rdlen)
{
	if (!l->nslot)
		return VANE_ENOENT;
	uint8_t lower[DNAME_MAXLEN];
	memcpy(lower, owner, dname_len(owner));
	dname_lower(lower);
	size_t s = rec_hash(lower, type, rdata, rdlen) & (l->nslot - 1);
	for (; l->slot[s]; s = (s + 1) & (l->nslot - 1)) {
		struct rrl_rec *r = &l->rec[l->slot[s] - 1];
		if (rec_equal(r, lower, type, rdata, rdlen)) {
			/* The slot stays (a tombstone), so later probes pass it. */
			r->gone = true;
			l->live--;
			return 0;
		}
	}
	return VANE_ENOENT;
}

static int add_rrset(struct rrlist *l, const uint8_t *owner, const struct rrset *rs)
{
	const uint8_t *p = rs->rdata;
	for (unsigned i = 0; i < rs->count; i++) {
		uint16_t len = wire_get_u16(p);
		int ret = rrlist_add(l, owner, rs->type, rs->ttl, p + 2, len);
		if (ret != 0)
			return ret;
		p += 2 + len;
	}
	return 0;
}

int rrlist_from_zone(struct rrlist *l, const struct zone *z)
{
	int ret = add_rrset(l, z->apex, z->soa);
	struct zone_xfr_iter it;
	const uint8_t *owner, *lower;
	const struct rrset *rs;
	if (ret != 0 || (ret = zone_xfr_iter_init(&it, z, false)) != 0)
		return ret;
	while (ret == 0 && zone_xfr_iter_next(&it, z, NULL, 0, &owner, &lower, &rs))
		ret = add_rrset(l, owner, rs);
	zone_xfr_iter_free(&it);
	return ret;
}

static int write_rec(FILE *f, const struct rrl_rec *r)
{
	static const char hex[] = "0123456789abcdef";
	char name[DNAME_MAXSTR], buf[512];
	dname_to_str(r->owner, name, sizeof(name));
	if (fprintf(f, "%s %u IN TYPE%u \\# %u ", name, r->ttl, r->type, r->rdlen) < 0)
		return -1;
	/* Hex in chunks: one fprintf per byte was most of the save's time. */
	for (uint16_t i = 0; i < r->rdlen;) {
		size_t n = 0;
		for (; i < r->rdlen && n + 2 <= sizeof(buf); i++) {
			buf[n++] = hex[r->rdata[i] >> 4];
			buf[n++] = hex[r->rdata[i] & 15];
		}
		if (fwrite(buf, 1, n, f) != n)
			return -1;
	}
	return fputc('\n', f) == EOF ? -1 : 0;
}

static int mkdir_parent(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return VANE_ENOMEM;
	char *dir = dirname(copy);
	int ret = mkdir(dir, 0750) == 0 || errno == EEXIST ? 0 : -errno;
	if (ret == -ENOENT) {
		/* state-dir itself may not exist yet: one level up, then again. */
		char *up = strdup(dir);
		if (up && (mkdir(dirname(up), 0750) == 0 || errno == EEXIST))
			ret = mkdir(dir, 0750) == 0 || errno == EEXIST ? 0 : -errno;
		free(up);
	}
	free(copy);
	return ret;
}

int rrlist_save(const struct rrlist *l, const char *path, const char *origin)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return VANE_EINVAL;
	int ret = mkdir_parent(path);
	if (ret != 0)
		return ret;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		ret = -errno;
		close(fd);
		unlink(tmp);
		return ret;
	}
	fprintf(f, "; %s, transferred by vaned (a secondary); RDATA in RFC 3597 form\n", origin);
	/* The SOA first: zone files start with it (RFC 1035 5.2). */
	for (int pass = 0; pass < 2 && ret == 0; pass++)
		for (size_t i = 0; i < l->n && ret == 0; i++)
			if (!l->rec[i].gone && (l->rec[i].type == DNS_SOA) == (pass == 0))
				ret = write_rec(f, &l->rec[i]);
	if (ret == 0 && (fflush(f) != 0 || fsync(fd) != 0))
		ret = -1;
	if (ret != 0)
		ret = errno ? -errno : VANE_EINVAL;
	if (fclose(f) != 0 && ret == 0)
		ret = -errno;
	if (ret == 0 && rename(tmp, path) != 0)
		ret = -errno;
	if (ret != 0) {
		unlink(tmp);
		return ret;
	}
	/* The rename itself survives a crash once the directory is synced. */
	char *copy = strdup(path);
	if (copy) {
		int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
		free(copy);
	}
	return 0;
}
