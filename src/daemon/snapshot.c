/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/catalog.h"
#include "daemon/snapshot.h"
#include "zone/zonemd.h"
#include "lib/dname.h"
#include "rt/clock.h"
#include "rt/log.h"
#include "serve/protect.h"
#include "serve/stats.h"

const char *zone_load_status_name(enum zone_load_status st)
{
	static const char *const names[] = { "loaded", "unchanged", "failed", "pending" };
	return names[st];
}

/* The zone's name for log prefixes, as the contract shows it: no final dot. */
static const char *log_name(const char *name, char *buf, size_t size)
{
	size_t n = strlen(name);
	if (n > 1 && name[n - 1] == '.')
		n--;
	snprintf(buf, size, "%.*s", (int)n, name);
	return buf;
}

const char *snapshot_zone_fqdn(const struct zone_state *st, char *buf, size_t size)
{
	if (st->zone)
		return dname_to_str(st->zone->apex, buf, size);
	uint8_t apex[DNAME_MAXLEN];
	if (dname_from_str(st->name, NULL, apex) > 0)
		return dname_to_str(apex, buf, size);
	snprintf(buf, size, "%s", st->name);
	return buf;
}

/* Collects the first error of a config or zone load and reports every
 * one: to the caller's function, else to the log. */
struct err_sink {
	const char *zone;     /* NULL for config errors */
	const struct snapshot_opts *opts;
	char *first;
	unsigned count;
};

static void sink_err(void *ctx, const char *file, unsigned long line, const char *msg)
{
	struct err_sink *sink = ctx;
	char buf[1024];
	if (line > 0)
		snprintf(buf, sizeof(buf), "%s:%lu: %s", file ? file : "-", line, msg);
	else
		snprintf(buf, sizeof(buf), "%s: %s", file ? file : "-", msg);
	if (sink->opts && sink->opts->err)
		sink->opts->err(sink->opts->ctx, file, line, msg);
	else if (sink->zone)
		log_zone(LOG_ERROR, sink->zone, "%s", buf);
	else
		log_error("%s", buf);
	if (sink->first == NULL)
		sink->first = strdup(buf);
	sink->count++;
}

int snapshot_auth_conf(const struct vane_conf *conf, struct auth_conf *auth)
{
	memset(auth, 0, sizeof(*auth));
	auth->max_udp = conf->max_udp_payload ? conf->max_udp_payload : 1232;
	if (auth->max_udp < 512)
		auth->max_udp = 512;
	auth->identity = conf->identity;
	auth->version = conf->version;
	/* The config decodes "hex:..." already; the answer path carries less. */
	if (conf->nsid_len > sizeof(auth->nsid))
		return VANE_EINVAL;
	memcpy(auth->nsid, conf->nsid_data, conf->nsid_len);
	auth->nsid_len = (uint8_t)conf->nsid_len;
	return 0;
}

static const struct zone_state *old_state(const struct vane_snapshot *old,
					  const char *name, const char *file)
{
	if (old == NULL)
		return NULL;
	for (unsigned i = 0; i < old->nzones; i++)
		if (strcmp(old->zones[i].name, name) == 0 && strcmp(old->zones[i].file, file) == 0)
			return &old->zones[i];
	return NULL;
}

/* Whether `old` added a ZONEMD to zone `name`: a file unchanged since is
 * loaded again when the setting changed. */
static bool old_zonemd(const struct vane_snapshot *old, const char *name)
{
	for (unsigned i = 0; old && i < old->conf->nzones; i++)
		if (strcmp(old->conf->zones[i].name, name) == 0)
			return old->conf->zones[i].zonemd;
	return false;
}

/* The zone `apex` serves in `old`, to keep serving when a reload fails. */
static struct zone *old_zone(const struct vane_snapshot *old, const uint8_t *apex)
{
	if (old == NULL || old->db == NULL)
		return NULL;
	return zone_db_get(old->db, apex);
}

/* RFC 1982 section 3.2: s1 < s2 in serial number arithmetic (SERIAL_BITS
 * 32).  Serials 2^31 apart compare neither way: not lower. */
static bool serial_lower(uint32_t s1, uint32_t s2)
{
	return s1 != s2 && (uint32_t)(s2 - s1) < 0x80000000u;
}

/* A zone that loaded with a serial lower than the serving one: secondaries
 * would ignore it (they only transfer a higher serial), and caches would
 * mix both versions, so keep serving the old one and say why.  The file's
 * identity is not recorded: the next reload reads it again. */
static void refuse_lower(struct zone_state *st, const struct zone *z, const struct zone *prev,
			 const struct zone_state *ost, const char *zname)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s: serial %u is lower than the serving serial %u "
		 "(RFC 1982); keeping serial %u (vanectl reload --force loads it)",
		 st->file, z->serial, prev->serial, prev->serial);
	log_zone(LOG_ERROR, zname, "%s", buf);
	st->status = ZS_FAILED;
	st->error = strdup(buf);
	if (ost) {
		st->mtime = ost->mtime;
		st->size = ost->size;
		st->ino = ost->ino;
	}
}

/* One zone of a snapshot being built: opened and compared with the old
 * snapshot's on the building thread, then loaded on a loader thread, then
 * finished (messages, status, fallback) on the building thread again, in
 * config order, so logs and `--check` output do not depend on timing. */
struct zone_job {
	const struct vane_conf *conf;
	const struct conf_zone *cz;
	struct zone_state *st;
	const struct zone_state *ost;
	struct zone *prev;       /* the zone serving now, kept if the load fails */
	int fd;                  /* the file, opened once; -1 when not loading */
	int open_err;
	bool have_stat;
	struct stat sb;          /* of `fd`, so mtime/size/inode match what was read */
	struct zone *z;
	int ret;
	uint64_t zonemd_ms;      /* what computing the ZONEMD took */
	struct zmsg *msgs;       /* problems reported by the load, replayed later */
	size_t nmsgs, capmsgs;
};

struct zmsg {
	char *file;
	unsigned long line;
	char *msg;
};

static void job_err(void *ctx, const char *file, unsigned long line, const char *msg)
{
	struct zone_job *j = ctx;
	if (j->nmsgs == j->capmsgs) {
		size_t cap = j->capmsgs ? j->capmsgs * 2 : 8;
		struct zmsg *m = realloc(j->msgs, cap * sizeof(*m));
		if (!m)
			return;  /* the load fails anyway; the count is what matters */
		j->msgs = m;
		j->capmsgs = cap;
	}
	struct zmsg *m = &j->msgs[j->nmsgs];
	m->file = file ? strdup(file) : NULL;
	m->msg = strdup(msg);
	m->line = line;
	if (m->msg)
		j->nmsgs++;
	else
		free(m->file);
}

/* Open the zone file once and decide whether it needs loading at all. */
static void job_prepare(struct zone_job *j, const struct vane_snapshot *old)
{
	const struct conf_zone *cz = j->cz;
	uint8_t apex[DNAME_MAXLEN];
	j->fd = -1;
	if (dname_from_str(cz->name, NULL, apex) > 0) {
		dname_lower(apex);
		j->prev = old_zone(old, apex);
	}
	j->ost = old_state(old, cz->name, cz->file);
	if (cz->catalog) {
		/* Same members: keep serving the old version, serial and all. */
		j->fd = catalog_prepare(j->conf, cz, j->prev, &j->open_err);
		if (j->fd < 0 && j->open_err == 0)
			j->st->status = ZS_UNCHANGED;
		return;
	}
	j->fd = open(cz->file, O_RDONLY | O_CLOEXEC);
	if (j->fd < 0) {
		j->open_err = -errno;
		return;
	}
	j->have_stat = fstat(j->fd, &j->sb) == 0;
	const struct zone_state *ost = j->ost;
	const struct stat *sb = &j->sb;
	if (j->have_stat && j->prev && ost && ost->zone == j->prev &&
	    old_zonemd(old, cz->name) == cz->zonemd &&
	    ost->mtime.tv_sec == sb->st_mtim.tv_sec && ost->mtime.tv_nsec == sb->st_mtim.tv_nsec &&
	    ost->size == sb->st_size && ost->ino == sb->st_ino) {
		j->st->status = ZS_UNCHANGED;
		j->st->mtime = ost->mtime;
		j->st->size = ost->size;
		j->st->ino = ost->ino;
		close(j->fd);
		j->fd = -1;
	}
}

/* The deletion guard (daemon/guard.h) for one zone: a new version that
 * drops names clients asked for within the window is refused like a lower
 * serial, naming them. */
static bool refuse_deletion(struct zone_state *st, const struct zone_job *j, uint64_t now_ms,
			    bool force, const char *zname)
{
	char names[1024], buf[1536];
	unsigned n = guard_zone_removed(j->prev, j->z, j->conf, now_ms,
					j->conf->deletion_guard_ms, names, sizeof(names));
	if (n == 0)
		return false;
	if (force) {
		log_zone(LOG_WARNING, zname, "deleting %u name%s queried in the last %u s "
			 "(--force): %s%s", n, n == 1 ? "" : "s",
			 j->conf->deletion_guard_ms / 1000, names, n > 5 ? ", ..." : "");
		return false;
	}
	snprintf(buf, sizeof(buf), "%s: the new version deletes %u name%s queried in the last "
		 "%u s: %s%s; resolvers would cache NXDOMAIN for up to %u s (the negative TTL). "
		 "Keeping serial %u (vanectl reload --force deletes them)", st->file, n,
		 n == 1 ? "" : "s", j->conf->deletion_guard_ms / 1000, names, n > 5 ? ", ..." : "",
		 j->prev->neg_ttl, j->prev->serial);
	log_zone(LOG_ERROR, zname, "%s", buf);
	st->status = ZS_FAILED;
	st->error = strdup(buf);
	if (j->ost) {
		st->mtime = j->ost->mtime;
		st->size = j->ost->size;
		st->ino = j->ost->ino;
	}
	return true;
}

static void job_load(struct zone_job *j)
{
	if (j->fd < 0)
		return;
	j->ret = zone_load_fd(j->cz->name, j->cz->file, j->fd, job_err, j, &j->z);
	if (j->ret == 0 && j->cz->zonemd) {
		uint64_t t0 = rt_now_ms();
		j->ret = zonemd_add(j->z);
		j->zonemd_ms = rt_now_ms() - t0;
		if (j->ret) {
			zone_unref(j->z);
			j->z = NULL;
			job_err(j, j->cz->file, 0, "cannot compute the ZONEMD digest");
		}
	}
	close(j->fd);
	j->fd = -1;
}

struct loaders {
	struct zone_job *jobs;
	unsigned n;
	atomic_uint next;
};

static void *loader_thread(void *arg)
{
	struct loaders *l = arg;
	unsigned i;
	while ((i = atomic_fetch_add(&l->next, 1)) < l->n)
		job_load(&l->jobs[i]);
	return NULL;
}

/* Load every zone that needs it, in parallel: zones are independent, and a
 * big one should not wait behind the others.  Falls back to this thread
 * alone when threads cannot be made. */
static void load_parallel(struct zone_job *jobs, unsigned n)
{
	unsigned todo = 0;
	for (unsigned i = 0; i < n; i++)
		todo += jobs[i].fd >= 0;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned nthr = cpus > 1 ? (unsigned)(cpus < 16 ? cpus : 16) : 1;
	if (nthr > todo)
		nthr = todo;
	struct loaders l = { .jobs = jobs, .n = n };
	atomic_init(&l.next, 0);
	pthread_t tid[16];
	unsigned started = 0;
	/* This thread is one of the loaders. */
	while (started + 1 < nthr && pthread_create(&tid[started], NULL, loader_thread, &l) == 0)
		started++;
	loader_thread(&l);
	for (unsigned i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
}

/* The zone to serve for `j` after its load, or NULL; a zone returned with
 * `*fresh` set carries a reference for the caller. */
static struct zone *job_finish(struct zone_job *j, const struct snapshot_opts *opts, bool *fresh)
{
	const struct conf_zone *cz = j->cz;
	struct zone_state *st = j->st;
	*fresh = false;
	if (st->status == ZS_UNCHANGED)
		return j->prev;

	char lname[DNAME_MAXSTR];
	const char *zname = log_name(cz->name, lname, sizeof(lname));
	struct err_sink sink = { .zone = zname, .opts = opts };
	int ret = j->ret;
	if (j->open_err == VANE_ENOENT && cz->nprimary) {
		/* A secondary before its first transfer: not an error of the
		 * config; daemon/secondary.c transfers it and reloads. */
		st->status = ZS_PENDING;
		st->error = strdup("not transferred yet");
		free(j->msgs);
		j->msgs = NULL;
		return j->prev;
	}
	if (j->open_err) {
		char msg[256];
		snprintf(msg, sizeof(msg), "cannot open zone file: %s", vane_strerror(j->open_err));
		sink_err(&sink, cz->file, 0, msg);
		ret = VANE_ENOENT;
	}
	for (size_t i = 0; i < j->nmsgs; i++) {
		sink_err(&sink, j->msgs[i].file, j->msgs[i].line, j->msgs[i].msg);
		free(j->msgs[i].file);
		free(j->msgs[i].msg);
	}
	free(j->msgs);
	j->msgs = NULL;
	if (ret == 0 && j->prev && !(opts && opts->force) &&
	    serial_lower(j->z->serial, j->prev->serial)) {
		free(sink.first);
		refuse_lower(st, j->z, j->prev, j->ost, zname);
		zone_unref(j->z);
		j->z = NULL;
		return j->prev;
	}
	/* A secondary serves what its primary decided: no guard of its own. */
	if (ret == 0 && j->prev && opts && opts->guard && !cz->nprimary &&
	    refuse_deletion(st, j, opts->guard->now_ms, opts->force, zname)) {
		free(sink.first);
		zone_unref(j->z);
		j->z = NULL;
		return j->prev;
	}
	if (ret == 0) {
		struct zone *z = j->z;
		free(sink.first);
		st->status = ZS_LOADED;
		if (j->have_stat) {
			st->mtime = j->sb.st_mtim;
			st->size = j->sb.st_size;
			st->ino = j->sb.st_ino;
		}
		log_zone(LOG_INFO, zname, "loaded serial %u, %u records", z->serial, z->nrecords);
		if (cz->zonemd)
			log_zone(LOG_INFO, zname, "ZONEMD SIMPLE SHA-384 computed in %llu ms",
				 (unsigned long long)j->zonemd_ms);
		*fresh = true;
		return z;
	}

	st->status = ZS_FAILED;
	st->error = sink.first;
	if (st->error == NULL) {
		char buf[1024];
		snprintf(buf, sizeof(buf), "%s: %s", cz->file, vane_strerror(ret));
		if (opts && opts->err)
			opts->err(opts->ctx, cz->file, 0, vane_strerror(ret));
		else
			log_zone(LOG_ERROR, zname, "%s", buf);
		st->error = strdup(buf);
	}
	if (j->prev) {
		log_zone(LOG_WARNING, zname, "load failed, keeping serial %u", j->prev->serial);
		if (j->ost) {
			st->mtime = j->ost->mtime;
			st->size = j->ost->size;
			st->ino = j->ost->ino;
		}
	} else {
		log_zone(LOG_WARNING, zname, "load failed, zone not served");
	}
	return j->prev;
}


/* ---- steering: services, geo, latency, counter slots ---- */

static bool set_uses(const struct steer_set *set, unsigned filter)
{
	for (uint32_t s = 0; set && s < set->n; s++)
		for (unsigned i = 0; i < set->svc[s].n_policy; i++)
			if (set->svc[s].policy[i] == filter)
				return true;
	return false;
}

static int slot_of_name(const struct vane_snapshot *old, const struct steer_service *svc)
{
	if (!old || !old->steer || !old->stat_slots)
		return -1;
	int i = steer_set_find(old->steer, svc->name, svc->name_len,
			       dname_hash(svc->name, svc->name_len));
	return i;
}

/* Lowest slot below `n` free in `used`, preferring one `old_used` did not
 * have (a slot freed by this reload would mix a gone service's counts into
 * a new one's). */
static int free_slot(const uint8_t *used, const uint8_t *old_used, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (!used[i] && !old_used[i])
			return (int)i;
	for (unsigned i = 0; i < n; i++)
		if (!used[i])
			return (int)i;
	return -1;
}

/* Endpoint slots of new service `svc`; `osvc`/`oslots` its old version. */
static void endpoint_slots(const struct steer_service *svc, const struct steer_service *osvc,
			   const struct serve_stat_slots *oslots, struct serve_stat_slots *slots)
{
	uint8_t used[STEER_MAX_ENDPOINTS] = { 0 }, old_used[STEER_MAX_ENDPOINTS] = { 0 };
	bool have[STEER_MAX_ENDPOINTS] = { false };

	for (uint32_t k = 0; osvc && k < osvc->n_ep; k++)
		old_used[oslots->ep[k]] = 1;
	for (uint32_t e = 0; osvc && e < svc->n_ep; e++) {
		for (uint32_t k = 0; k < osvc->n_ep; k++) {
			if (strcmp(svc->ep[e].id, osvc->ep[k].id) == 0) {
				slots->ep[e] = oslots->ep[k];
				used[slots->ep[e]] = 1;
				have[e] = true;
				break;
			}
		}
	}
	for (uint32_t e = 0; e < svc->n_ep; e++) {
		if (have[e])
			continue;
		int f = free_slot(used, old_used, STEER_MAX_ENDPOINTS);
		slots->ep[e] = (uint8_t)(f < 0 ? 0 : f);
		used[slots->ep[e]] = 1;
	}
}

static int build_stat_slots(struct vane_snapshot *snap, const struct vane_snapshot *old)
{
	const struct steer_set *set = snap->steer;
	uint8_t used[STATS_MAX_SERVICES] = { 0 }, old_used[STATS_MAX_SERVICES] = { 0 };
	int *from = calloc(set->n, sizeof(*from));
	snap->stat_slots = calloc(set->n, sizeof(*snap->stat_slots));
	if (!from || !snap->stat_slots) {
		free(from);
		return VANE_ENOMEM;
	}
	for (uint32_t k = 0; old && old->steer && old->stat_slots && k < old->steer->n; k++)
		if (old->stat_slots[k].svc != SERVE_NO_SLOT)
			old_used[old->stat_slots[k].svc] = 1;
	for (uint32_t s = 0; s < set->n; s++) {
		from[s] = slot_of_name(old, &set->svc[s]);
		uint16_t slot = from[s] >= 0 ? old->stat_slots[from[s]].svc : SERVE_NO_SLOT;
		snap->stat_slots[s].svc = slot;
		if (slot != SERVE_NO_SLOT)
			used[slot] = 1;
	}
	for (uint32_t s = 0; s < set->n; s++) {
		struct serve_stat_slots *sl = &snap->stat_slots[s];
		const struct steer_service *osvc = NULL;
		const struct serve_stat_slots *oslots = NULL;
		if (sl->svc == SERVE_NO_SLOT) {
			int f = free_slot(used, old_used, STATS_MAX_SERVICES);
			if (f >= 0) {
				sl->svc = (uint16_t)f;
				used[f] = 1;
			}
		} else {
			osvc = &old->steer->svc[from[s]];
			oslots = &old->stat_slots[from[s]];
		}
		endpoint_slots(&set->svc[s], osvc, oslots, sl);
	}
	free(from);
	return 0;
}

/* The services, geo database and latency table of `snap` (zones and
 * config already in it), and its live layout. */
static int build_steer(struct vane_snapshot *snap, const struct vane_snapshot *old,
		       vane_report_fn err, void *ctx)
{
	const struct vane_conf *conf = snap->conf;
	int ret = steer_build(conf, snap->db, err, ctx, &snap->build);
	if (ret != 0)
		return ret;
	snap->steer = snap->build.set;
	snap->nhealth = snap->build.nhealth;

	/* Open the database only when something reads it: it is big. */
	if (conf->geo_database || conf->geo_nets || set_uses(snap->steer, STEER_F_GEO) ||
	    set_uses(snap->steer, STEER_F_LATENCY)) {
		ret = geo_open(conf->geo_database, conf->geo_nets, &snap->geo, err, ctx);
		if (ret != 0)
			return ret;
	}
	if (conf->latency_file) {
		ret = steer_latency_load(conf->latency_file, snap->steer, err, ctx, &snap->latency0);
		if (ret != 0)
			return ret;
	}
	snap->layout = (struct live_layout){
		.set = snap->steer, .build = &snap->build, .latency0 = snap->latency0,
		.checks = conf->checks, .nhealth = snap->nhealth,
	};
	if (snap->steer)
		return build_stat_slots(snap, old);
	return 0;
}

int snapshot_build(const char *path, const struct vane_snapshot *old,
		   const struct snapshot_opts *opts, struct vane_snapshot **out, char **conf_err)
{
	struct err_sink csink = { .opts = opts };
	struct zone **zones = NULL;
	bool *fresh = NULL;
	struct zone_job *jobs = NULL;
	struct vane_snapshot *snap = calloc(1, sizeof(*snap));
	int ret = VANE_ENOMEM;
	if (snap == NULL)
		goto fail;

	ret = conf_load(path, sink_err, &csink, &snap->conf);
	if (ret != 0)
		goto fail;
	ret = snapshot_auth_conf(snap->conf, &snap->auth);
	if (ret != 0) {
		sink_err(&csink, path, 0, "server.nsid: longer than 64 bytes");
		goto fail;
	}
	/* cookies: without a configured secret, the one made at the first
	 * build is kept, so a reload does not void every client's cookie. */
	ret = protect_cookie_conf(snap->conf, old ? old->auth.cookie_secret : NULL, &snap->auth);
	if (ret != 0) {
		sink_err(&csink, path, 0, "cookies: no randomness for a secret");
		goto fail;
	}

	unsigned n = snap->conf->nzones;
	ret = VANE_ENOMEM;
	snap->zones = calloc(n ? n : 1, sizeof(*snap->zones));
	zones = calloc(n ? n : 1, sizeof(*zones));
	fresh = calloc(n ? n : 1, sizeof(*fresh));
	if (!snap->zones || !zones || !fresh)
		goto fail;
	snap->nzones = n;

	jobs = calloc(n ? n : 1, sizeof(*jobs));
	if (!jobs)
		goto fail;
	for (unsigned i = 0; i < n; i++) {
		const struct conf_zone *cz = &snap->conf->zones[i];
		struct zone_state *st = &snap->zones[i];
		st->name = cz->name;  /* owned by conf, which lives as long */
		st->file = cz->file;
		jobs[i].conf = snap->conf;
		jobs[i].cz = cz;
		jobs[i].st = st;
		job_prepare(&jobs[i], old);
	}
	load_parallel(jobs, n);
	unsigned nz = 0;
	for (unsigned i = 0; i < n; i++) {
		struct zone_state *st = &snap->zones[i];
		struct zone *z = job_finish(&jobs[i], opts, &fresh[nz]);
		if (st->status == ZS_FAILED)
			snap->nfailed++;
		if (z) {
			st->zone = z;
			zones[nz++] = z;
		}
	}

	ret = zone_db_new(zones, nz, &snap->db);
	for (unsigned i = 0; i < nz; i++)
		if (fresh[i])
			zone_unref(zones[i]);   /* the db holds its own reference */
	if (ret != 0) {
		sink_err(&csink, path, 0, vane_strerror(ret));
		goto fail;
	}
	snap->nserving = nz;
	free(zones);
	free(fresh);
	free(jobs);
	zones = NULL;
	fresh = NULL;
	jobs = NULL;

	ret = build_steer(snap, old, sink_err, &csink);
	if (ret != 0)
		goto fail;
	if (opts && opts->guard && !opts->force) {
		char names[1024], msg[1536];
		unsigned k = guard_services_removed(old, snap, opts->guard, names, sizeof(names));
		if (k > 0) {
			snprintf(msg, sizeof(msg), "the new configuration deletes %u steered name%s "
				 "queried in the last %u s: %s%s; resolvers would cache NXDOMAIN "
				 "for them. Keeping the running configuration (vanectl reload "
				 "--force deletes them)", k, k == 1 ? "" : "s",
				 snap->conf->deletion_guard_ms / 1000, names, k > 5 ? ", ..." : "");
			sink_err(&csink, path, 0, msg);
			ret = VANE_EINVAL;
			goto fail;
		}
	}
	if (opts && opts->guard && guard_removed_services(old, snap, opts->guard->now_ms) != 0) {
		sink_err(&csink, path, 0, "out of memory");
		ret = VANE_ENOMEM;
		goto fail;
	}
	if (snap->removed) {
		char text[DNAME_MAXSTR];
		bool one = snap->removed->n == 1;
		log_info("%u deleted steered name%s (first %s) keep%s %s TTL as the negative TTL "
			 "for up to %u s (server.deletion-guard)", snap->removed->n, one ? "" : "s",
			 dname_to_str(snap->removed->svc[0].name, text, sizeof(text)),
			 one ? "s" : "", one ? "its" : "their", snap->conf->deletion_guard_ms / 1000);
	}
	ret = VANE_ENOMEM;
	snap->live0 = live_initial(&snap->layout, opts ? opts->prev : NULL,
				   (opts && opts->check) || !snap->steer ? NULL : snap->conf->state_dir);
	if (snap->live0 == NULL) {
		sink_err(&csink, path, 0, "cannot build the initial live state");
		goto fail;
	}
	/* After the live state: export: healthy exports what it says is up. */
	ret = snapshot_build_xfr(snap, old);
	if (ret != 0) {
		sink_err(&csink, path, 0, "cannot prepare zone transfers");
		goto fail;
	}
	if (snap->steer && !(opts && opts->check)) {
		log_info("%u services, %u endpoints, %u health checked%s%s", snap->steer->n,
			 snap->steer->n_ep_total, snap->nhealth, snap->geo ? ", geo " : "",
			 snap->geo ? geo_backend(snap->geo) : "");
	}
	*out = snap;
	return 0;
fail:
	free(zones);
	free(fresh);
	free(jobs);
	snapshot_free(snap);
	if (conf_err) {
		if (csink.first == NULL)
			csink.first = strdup(vane_strerror(ret));
		*conf_err = csink.first;
	} else {
		free(csink.first);
	}
	return ret < 0 ? ret : VANE_EINVAL;
}

void snapshot_free(struct vane_snapshot *snap)
{
	if (snap == NULL)
		return;
	if (snap->live0)
		live_free(snap->live0);
	steer_latency_free(snap->latency0);
	if (snap->geo)
		geo_close(snap->geo);
	steer_build_free(&snap->build);
	free(snap->stat_slots);
	xfr_set_free(snap->xfr);
	steer_set_free(snap->removed);
	free(snap->removed_until_ms);
	if (snap->db)
		zone_db_free(snap->db);
	for (unsigned i = 0; i < snap->nzones; i++)
		free(snap->zones[i].error);
	free(snap->zones);
	if (snap->conf)
		conf_free(snap->conf);
	free(snap);
}
