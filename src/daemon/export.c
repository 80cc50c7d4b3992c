/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "daemon/export.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "rt/clock.h"
#include "rt/log.h"
#include "steer/export.h"

#define EXPORT_MAX_RDATA (STEER_MAX_ENDPOINTS * STEER_MAX_ADDRS)

static int rd_cmp(const void *a, const void *b)
{
	/* Fixed-size address RDATA: byte order is the zone's canonical order. */
	return memcmp(a, b, 18);
}

/* An A or AAAA RRset of the addresses of the endpoints in `mask`; count 0
 * when there are none. */
static int extra_rrset(const struct steer_service *svc, uint64_t mask, bool v6,
		       struct xfr_extra *x)
{
	size_t alen = v6 ? 16 : 4;
	uint8_t (*rd)[18] = calloc(EXPORT_MAX_RDATA, sizeof(*rd));
	unsigned n = 0;
	if (!rd)
		return VANE_ENOMEM;
	for (uint32_t e = 0; e < svc->n_ep && e < STEER_MAX_ENDPOINTS; e++) {
		if (!(mask & (1ull << e)))
			continue;
		const struct steer_endpoint *ep = &svc->ep[e];
		unsigned na = v6 ? ep->n_v6 : ep->n_v4;
		for (unsigned a = 0; a < na && n < EXPORT_MAX_RDATA; a++, n++) {
			wire_put_u16(rd[n], (uint16_t)alen);
			memcpy(rd[n] + 2, v6 ? ep->v6[a] : ep->v4[a], alen);
		}
	}
	qsort(rd, n, sizeof(*rd), rd_cmp);
	x->rs.type = v6 ? DNS_AAAA : DNS_A;
	x->rs.ttl = svc->ttl;
	x->rs.rdata = malloc(n * (2 + alen) + 1);
	if (!x->rs.rdata) {
		free(rd);
		return VANE_ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		if (i && memcmp(rd[i], rd[i - 1], 18) == 0)
			continue;   /* one record per address */
		memcpy(x->rs.rdata + x->rs.rdata_len, rd[i], 2 + alen);
		x->rs.rdata_len += (uint32_t)(2 + alen);
		x->rs.count++;
	}
	free(rd);
	return 0;
}

void export_extra_free(struct xfr_extra *x, unsigned n)
{
	for (unsigned i = 0; x && i < n; i++)
		free(x[i].rs.rdata);
	free(x);
}

int export_extra(const struct vane_snapshot *snap, const struct live_state *live,
		 const struct zone *z, bool healthy, uint64_t now_ms, struct xfr_extra **out,
		 unsigned *nout)
{
	const struct steer_set *set = snap->steer;
	unsigned nsvc = set ? set->n : 0, n = 0;
	struct xfr_extra *x = calloc(2 * nsvc + 1, sizeof(*x));
	*out = NULL;
	*nout = 0;
	if (!x)
		return VANE_ENOMEM;
	for (unsigned s = 0; s < nsvc; s++) {
		const struct steer_service *svc = &set->svc[s];
		if (zone_db_find(snap->db, svc->name) != z)
			continue;
		uint64_t mask = svc->all_mask;
		if (healthy)
			mask = steer_export_set(svc, live ? &live->health : NULL,
						live && live->admin ? live->admin[s] : NULL, now_ms);
		for (int v6 = 0; v6 < 2; v6++) {
			struct xfr_extra *e = &x[n];
			memcpy(e->owner, svc->name, svc->name_len);
			e->owner_len = svc->name_len;
			if (extra_rrset(svc, mask, v6, e) != 0) {
				export_extra_free(x, n);
				return VANE_ENOMEM;
			}
			if (e->rs.count)
				n++;
			else
				free(e->rs.rdata);
		}
	}
	*out = x;
	*nout = n;
	return 0;
}

bool export_extra_same(const struct xfr_extra *a, unsigned na, const struct xfr_extra *b,
		       unsigned nb)
{
	if (na != nb)
		return false;
	for (unsigned i = 0; i < na; i++) {
		const struct xfr_extra *x = &a[i], *y = &b[i];
		if (x->owner_len != y->owner_len || memcmp(x->owner, y->owner, x->owner_len) ||
		    x->rs.type != y->rs.type || x->rs.ttl != y->rs.ttl ||
		    x->rs.rdata_len != y->rs.rdata_len ||
		    memcmp(x->rs.rdata, y->rs.rdata, x->rs.rdata_len))
			return false;
	}
	return true;
}

uint32_t export_next_serial(uint32_t last, uint32_t file)
{
	return serial_lt(last, file) ? file : last + 1;
}

int export_set_soa(struct xfr_zone *xz, uint32_t serial)
{
	const struct rrset *zsoa = xz->zone->soa;
	/* The zone file's SOA, not the one served (which may carry an older
	 * exported serial). */
	const uint8_t *file = xz->zone->soa_file ? xz->zone->soa_file : zsoa->rdata;
	uint8_t *rd = malloc(zsoa->rdata_len);
	if (!rd)
		return VANE_ENOMEM;
	memcpy(rd, file, zsoa->rdata_len);
	size_t off = 2 + dname_len(rd + 2);
	off += dname_len(rd + off);
	wire_put_u32(rd + off, serial);
	free(xz->soa_rdata);
	xz->soa_rdata = rd;
	xz->soa = *zsoa;
	xz->soa.rdata = rd;
	xz->soa.addl = NULL;
	xz->serial = serial;
	return 0;
}

unsigned export_interval_ms(const struct vane_conf *conf, const struct conf_zone *cz)
{
	return cz->export_interval_ms ? cz->export_interval_ms : conf->export_interval_ms;
}

/* ---- what readers may still hold goes after a grace period ---- */

struct retire {
	uv_work_t work;
	struct xfr_zone *xz;
	uint8_t *rdata;
};

static void retire_work(uv_work_t *req)
{
	synchronize_rcu();
}

static void retire_after(uv_work_t *req, int status)
{
	struct retire *r = req->data;
	xfr_zone_unref(r->xz);   /* a transfer in progress holds its own */
	free(r->rdata);
	free(r);
}

static void retire(uv_loop_t *loop, struct xfr_zone *xz, uint8_t *rdata)
{
	if (!xz && !rdata)
		return;
	struct retire *r = malloc(sizeof(*r));
	if (!r)
		return;   /* leak rather than free in use */
	*r = (struct retire){ .xz = xz, .rdata = rdata };
	r->work.data = r;
	if (uv_queue_work(loop, &r->work, retire_work, retire_after) < 0)
		free(r);
}

void export_serve(uv_loop_t *loop, const struct vane_snapshot *snap)
{
	for (unsigned i = 0; i < snap->nzones; i++) {
		struct zone *z = snap->zones[i].zone;
		if (!z)
			continue;
		const struct xfr_zone *xz = xfr_set_find(snap->xfr, z->apex);
		uint8_t *old = NULL;
		if (zone_serve_serial(z, xz ? xfr_zone_serial(xz) : z->serial, &old) != 0)
			log_zone(LOG_WARNING, snap->zones[i].name, "out of memory: the SOA keeps its serial %u",
				 zone_served_serial(z));
		retire(loop, NULL, old);
	}
}

/* ---- export: healthy, as health and operators change the endpoints ---- */

/* The next version of `oxz` with `extra` (taken over): its serial, SOA,
 * and journal.  NULL without memory (`extra` is then freed). */
static struct xfr_zone *next_version(const struct conf_zone *cz, const struct xfr_zone *oxz,
				     struct xfr_extra *extra, unsigned nextra, uint64_t now_ms)
{
	struct xfr_zone *xz = calloc(1, sizeof(*xz));
	if (!xz) {
		export_extra_free(extra, nextra);
		return NULL;
	}
	xz->refcount = 1;
	zone_ref(oxz->zone);
	xz->zone = oxz->zone;
	xz->extra = extra;
	xz->nextra = nextra;
	xz->healthy = true;
	xz->exported_ms = now_ms;
	memcpy(xz->name, oxz->name, sizeof(xz->name));
	xz->acl = calloc(oxz->nacl + 1, sizeof(*xz->acl));
	if (!xz->acl || export_set_soa(xz, export_next_serial(xfr_zone_serial(oxz),
								xz->zone->serial)) != 0)
		goto fail;
	memcpy(xz->acl, oxz->acl, oxz->nacl * sizeof(*xz->acl));
	xz->nacl = oxz->nacl;
	size_t max = (size_t)cz->journal_max_mb << 20;
	if (max == 0)
		return xz;
	struct zversion o = { oxz->zone, xfr_zone_soa(oxz), xfr_zone_serial(oxz), oxz->extra,
			      oxz->nextra };
	struct zversion n = { xz->zone, &xz->soa, xz->serial, xz->extra, xz->nextra };
	struct zdiff *d = NULL;
	if (zdiff_versions(&o, &n, &d) != 0 || zjournal_next(oxz->journal, d, max,
							     &xz->journal) != 0) {
		zdiff_unref(d);
		goto fail;
	}
	log_zone(LOG_INFO, xz->name, "export: healthy: serial %u -> %u, %u deleted, %u added, "
		 "%llu ms", d->from, d->to, d->del.count, d->add.count,
		 (unsigned long long)(rt_now_ms() - now_ms));
	zdiff_unref(d);
	return xz;
fail:
	xfr_zone_unref(xz);
	return NULL;
}

unsigned export_refresh(uv_loop_t *loop, const struct vane_snapshot *snap,
			const struct live_state *live, uint64_t now_ms)
{
	struct xfr_set *set = snap->xfr;
	unsigned moved = 0;
	for (unsigned i = 0; set && i < snap->nzones; i++) {
		const struct conf_zone *cz = &snap->conf->zones[i];
		struct zone *z = snap->zones[i].zone;
		struct xfr_zone *oxz = z ? xfr_set_find(set, z->apex) : NULL;
		if (!oxz || !oxz->healthy ||
		    now_ms - oxz->exported_ms < export_interval_ms(snap->conf, cz))
			continue;
		struct xfr_extra *x = NULL;
		unsigned nx = 0;
		if (export_extra(snap, live, z, true, now_ms, &x, &nx) != 0)
			continue;
		if (export_extra_same(x, nx, oxz->extra, oxz->nextra)) {
			export_extra_free(x, nx);
			continue;
		}
		struct xfr_zone *xz = next_version(cz, oxz, x, nx, now_ms);
		if (!xz) {
			log_zone(LOG_WARNING, oxz->name, "export: healthy: out of memory, "
				 "secondaries keep serial %u", xfr_zone_serial(oxz));
			continue;
		}
		for (unsigned j = 0; j < set->nzones; j++) {
			if (set->zones[j] == oxz)
				__atomic_store_n(&set->zones[j], xz, __ATOMIC_RELEASE);
		}
		uint8_t *old = NULL;
		if (zone_serve_serial(z, xz->serial, &old) != 0)
			log_zone(LOG_WARNING, xz->name, "out of memory: the SOA answered keeps "
				 "serial %u, transfers send %u", zone_served_serial(z), xz->serial);
		retire(loop, oxz, old);
		moved++;
	}
	return moved;
}

uint64_t export_tick_ms(const struct vane_snapshot *snap)
{
	uint64_t least = 0;
	for (unsigned i = 0; snap->xfr && i < snap->nzones; i++) {
		const struct zone *z = snap->zones[i].zone;
		const struct xfr_zone *xz = z ? xfr_set_find(snap->xfr, z->apex) : NULL;
		if (!xz || !xz->healthy)
			continue;
		uint64_t ms = export_interval_ms(snap->conf, &snap->conf->zones[i]);
		if (!least || ms < least)
			least = ms;
	}
	if (!least)
		return 0;
	least /= 4;
	return least < 250 ? 250 : least > 5000 ? 5000 : least;
}

/* ---- the exported serials, kept across restarts ---- */

#define SERIALS_FILE "export-serials"

bool export_saved_serial(const char *state_dir, const char *zone, uint32_t *serial)
{
	char path[4096], line[DNAME_MAXSTR + 32];
	if (!state_dir)
		return false;
	snprintf(path, sizeof(path), "%s/%s", state_dir, SERIALS_FILE);
	FILE *f = fopen(path, "re");
	bool found = false;
	size_t zlen = strlen(zone);
	/* Lines "NAME SERIAL". */
	while (f && !found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, zone, zlen) != 0 || line[zlen] != ' ')
			continue;
		char *end;
		errno = 0;
		unsigned long v = strtoul(line + zlen + 1, &end, 10);
		if (errno == 0 && end != line + zlen + 1 && v <= UINT32_MAX) {
			*serial = (uint32_t)v;
			found = true;
		}
	}
	if (f)
		fclose(f);
	return found;
}

void export_save(const struct vane_snapshot *snap)
{
	char path[4096], tmp[4200];
	const char *dir = snap->conf->state_dir;
	size_t cap = 64, len = 0;
	char *text = malloc(cap);
	unsigned n = 0;
	for (unsigned i = 0; text && snap->xfr && i < snap->xfr->nzones; i++) {
		const struct xfr_zone *xz = snap->xfr->zones[i];
		if (!xz->healthy)
			continue;
		if (cap - len < DNAME_MAXSTR + 16) {
			cap = cap * 2 + DNAME_MAXSTR;
			char *t = realloc(text, cap);
			if (!t)
				break;
			text = t;
		}
		len += (size_t)snprintf(text + len, cap - len, "%s %" PRIu32 "\n", xz->name,
					xfr_zone_serial(xz));
		n++;
	}
	if (!text || n == 0 || !dir) {
		free(text);
		return;
	}
	/* No fsync: this runs on the loop thread, at most once per
	 * export-interval; a crash that loses the last serial makes the next
	 * start reuse it, which the next change of endpoints moves past. */
	snprintf(path, sizeof(path), "%s/%s", dir, SERIALS_FILE);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	bool ok = false;
	if (mkdir(dir, 0755) == 0 || errno == EEXIST) {
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			ok = write(fd, text, len) == (ssize_t)len;
			ok = close(fd) == 0 && ok;
			ok = ok && rename(tmp, path) == 0;
		}
	}
	if (!ok) {
		log_warning("%s: cannot keep the exported serials (%s): after a restart, "
			    "secondaries follow once the zone file's serial passes theirs", path,
			    strerror(errno));
		unlink(tmp);
	}
	free(text);
}
