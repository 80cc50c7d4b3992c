/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/dname.h"
#include "server/log.h"
#include "server/snapshot.h"

const char *zone_load_status_name(enum zone_load_status st)
{
	static const char *const names[] = { "loaded", "unchanged", "failed" };
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

/* Collects the first error of a config or zone load and logs every one. */
struct err_sink {
	const char *zone;     /* NULL for config errors */
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
	if (sink->zone)
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

/* The zone `apex` serves in `old`, to keep serving when a reload fails. */
static struct zone *old_zone(const struct vane_snapshot *old, const uint8_t *apex)
{
	if (old == NULL || old->db == NULL)
		return NULL;
	return zone_db_get(old->db, apex);
}

/* Load (or carry over) one zone into `st`.  Returns the zone to serve or NULL;
 * a zone returned with `*fresh` set carries a reference for the caller. */
static struct zone *build_zone(const struct conf_zone *cz, const struct vane_snapshot *old,
			       struct zone_state *st, bool *fresh)
{
	*fresh = false;
	uint8_t apex[DNAME_MAXLEN];
	struct zone *prev = NULL;
	if (dname_from_str(cz->name, NULL, apex) > 0) {
		dname_lower(apex);
		prev = old_zone(old, apex);
	}

	struct stat sb;
	bool have_stat = stat(cz->file, &sb) == 0;
	const struct zone_state *ost = old_state(old, cz->name, cz->file);
	if (have_stat && prev && ost && ost->zone == prev &&
	    ost->mtime.tv_sec == sb.st_mtim.tv_sec && ost->mtime.tv_nsec == sb.st_mtim.tv_nsec &&
	    ost->size == sb.st_size && ost->ino == sb.st_ino) {
		st->status = ZS_UNCHANGED;
		st->mtime = ost->mtime;
		st->size = ost->size;
		st->ino = ost->ino;
		return prev;
	}

	char lname[DNAME_MAXSTR];
	const char *zname = log_name(cz->name, lname, sizeof(lname));
	struct err_sink sink = { .zone = zname };
	struct zone *z = NULL;
	int ret = zone_load(cz->name, cz->file, sink_err, &sink, &z);
	if (ret == 0) {
		free(sink.first);
		st->status = ZS_LOADED;
		if (have_stat) {
			st->mtime = sb.st_mtim;
			st->size = sb.st_size;
			st->ino = sb.st_ino;
		}
		log_zone(LOG_INFO, zname, "loaded serial %u, %u records", z->serial, z->nrecords);
		*fresh = true;
		return z;
	}

	st->status = ZS_FAILED;
	st->error = sink.first;
	if (st->error == NULL) {
		char buf[1024];
		snprintf(buf, sizeof(buf), "%s: %s", cz->file, vane_strerror(ret));
		log_zone(LOG_ERROR, zname, "%s", buf);
		st->error = strdup(buf);
	}
	if (prev) {
		log_zone(LOG_WARNING, zname, "load failed, keeping serial %u", prev->serial);
		if (ost) {
			st->mtime = ost->mtime;
			st->size = ost->size;
			st->ino = ost->ino;
		}
	} else {
		log_zone(LOG_WARNING, zname, "load failed, zone not served");
	}
	return prev;
}

int snapshot_build(const char *path, const struct vane_snapshot *old,
		   struct vane_snapshot **out, char **conf_err)
{
	struct err_sink csink = { 0 };
	struct zone **zones = NULL;
	bool *fresh = NULL;
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

	unsigned n = snap->conf->nzones;
	ret = VANE_ENOMEM;
	snap->zones = calloc(n ? n : 1, sizeof(*snap->zones));
	zones = calloc(n ? n : 1, sizeof(*zones));
	fresh = calloc(n ? n : 1, sizeof(*fresh));
	if (!snap->zones || !zones || !fresh)
		goto fail;
	snap->nzones = n;

	unsigned nz = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct conf_zone *cz = &snap->conf->zones[i];
		struct zone_state *st = &snap->zones[i];
		st->name = cz->name;  /* owned by conf, which lives as long */
		st->file = cz->file;
		struct zone *z = build_zone(cz, old, st, &fresh[nz]);
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
	*out = snap;
	return 0;
fail:
	free(zones);
	free(fresh);
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
	if (snap->db)
		zone_db_free(snap->db);
	for (unsigned i = 0; i < snap->nzones; i++)
		free(snap->zones[i].error);
	free(snap->zones);
	if (snap->conf)
		conf_free(snap->conf);
	free(snap);
}
