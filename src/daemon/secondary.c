/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/secondary.h"
#include "daemon/xfrin.h"
#include "lib/wire.h"
#include "rt/log.h"
#include "serve/xfr.h"

#define SEC_MAX_PENDING 64
#define SEC_MIN_TIMER_S 1           /* no refresh loop faster than this */
#define SEC_DEFAULT_RETRY_S 10      /* before any SOA told us its retry */
#define SEC_STEP_TIMEOUT_MS 5000

struct sec_zone {
	struct secondaries *owner;
	struct sec_zone *next;
	uint8_t apex[DNAME_MAXLEN];
	char name[DNAME_MAXSTR];        /* no final dot, for the log */
	struct xfrin_req cfg;           /* primaries, key, path: the inputs of a run */
	char *path;
	uv_timer_t refresh_timer, expire_timer;
	unsigned open_handles;
	bool seen, removed, started, busy, again, expired;
	struct zone *serving;           /* in the serving snapshot (no reference) */
	bool have_serial;
	uint32_t serial, refresh, retry, expire;
	time_t last_refresh;            /* 0: never */
	unsigned last_primary;
	char error[256];                /* "" when the last attempt worked */
	unsigned long transfers, failures;
	uv_work_t work;
	struct xfrin_req *req;          /* the run in progress */
	struct zone *req_zone;          /* its reference to the serving version */
};

struct secondaries {
	uv_loop_t *loop;
	struct events *ev;
	void (*reload)(void *ctx);
	void *reload_ctx;
	struct sec_zone *zones;
	uv_async_t async;
	bool closing;
	pthread_mutex_t lock;           /* guards pending: written by query threads */
	uint8_t pending[SEC_MAX_PENDING][DNAME_MAXLEN];
	unsigned npending;
};

static void start_refresh(struct sec_zone *sz, const char *why);

static uint64_t clamp_ms(uint32_t s)
{
	return (uint64_t)(s < SEC_MIN_TIMER_S ? SEC_MIN_TIMER_S : s) * 1000u;
}

static void refresh_cb(uv_timer_t *t)
{
	start_refresh(t->data, NULL);
}

static void set_expired(struct sec_zone *sz, bool expired)
{
	if (sz->serving)
		__atomic_store_n(&sz->serving->expired, (uint8_t)expired, __ATOMIC_RELAXED);
	if (sz->expired == expired)
		return;
	sz->expired = expired;
	if (expired) {
		log_zone(LOG_ERROR, sz->name, "expired: no successful refresh for %u s (SOA "
			 "expire); answering SERVFAIL until a primary answers", sz->expire);
		events_add(sz->owner->ev, EV_ZONE_EXPIRED, NULL, NULL, "zone %s expired: no "
			   "refresh for %u s, answering SERVFAIL", sz->name, sz->expire);
	} else {
		log_zone(LOG_INFO, sz->name, "refreshed after expiry, serving again");
		events_add(sz->owner->ev, EV_ZONE_EXPIRED, NULL, NULL, "zone %s refreshed, "
			   "serving again", sz->name);
	}
}

static void expire_cb(uv_timer_t *t)
{
	set_expired(t->data, true);
}

/* After a success: expire `expire` s from now, refresh in `refresh` s. */
static void arm_after_success(struct sec_zone *sz)
{
	uv_timer_start(&sz->expire_timer, expire_cb, (uint64_t)sz->expire * 1000u, 0);
	uv_timer_start(&sz->refresh_timer, refresh_cb, clamp_ms(sz->refresh), 0);
}

static void take_soa(struct sec_zone *sz, const struct xfrin_req *r)
{
	sz->refresh = r->refresh;
	sz->retry = r->retry;
	sz->expire = r->expire;
}

static void work_cb(uv_work_t *w)
{
	struct sec_zone *sz = w->data;
	xfrin_run(sz->req);
}

static void zone_gone(struct sec_zone *sz);

static void after_cb(uv_work_t *w, int status)
{
	struct sec_zone *sz = w->data;
	struct xfrin_req *r = sz->req;
	struct secondaries *s = sz->owner;
	sz->req = NULL;
	sz->busy = false;
	zone_unref(sz->req_zone);
	sz->req_zone = NULL;
	if (sz->removed || s->closing || status != 0) {
		free((char *)r->path);
		free(r);
		if (sz->removed)
			zone_gone(sz);
		return;
	}
	sz->last_primary = r->from;
	if (r->outcome == XFRIN_FAILED) {
		sz->failures++;
		snprintf(sz->error, sizeof(sz->error), "%s", r->error);
		log_zone(LOG_WARNING, sz->name, "refresh failed: %s; retrying in %u s", r->error,
			 (unsigned)(clamp_ms(sz->retry ? sz->retry : SEC_DEFAULT_RETRY_S) / 1000));
		uv_timer_start(&sz->refresh_timer, refresh_cb,
			       clamp_ms(sz->retry ? sz->retry : SEC_DEFAULT_RETRY_S), 0);
	} else {
		sz->error[0] = 0;
		sz->last_refresh = time(NULL);
		take_soa(sz, r);
		if (r->outcome == XFRIN_SAVED) {
			sz->transfers++;
			log_zone(LOG_INFO, sz->name, "%s from %s: serial %u, %u records", r->kind,
				 r->primary_text[r->from], r->serial, r->records);
			/* The reload that loads it adopts the new zone (sync). */
			s->reload(s->reload_ctx);
		} else {
			/* Current: the saved copy's mtime is the last refresh. */
			if (utimensat(AT_FDCWD, sz->path, NULL, 0) != 0)
				log_zone(LOG_WARNING, sz->name, "cannot touch %s", sz->path);
			log_zone(LOG_DEBUG, sz->name, "serial %u is current at %s", r->serial,
				 r->primary_text[r->from]);
		}
		set_expired(sz, false);
		arm_after_success(sz);
	}
	free((char *)r->path);
	free(r);
	if (sz->again) {
		sz->again = false;
		start_refresh(sz, "NOTIFY during a refresh");
	}
}

static void start_refresh(struct sec_zone *sz, const char *why)
{
	struct secondaries *s = sz->owner;
	if (s->closing || sz->removed)
		return;
	if (sz->busy) {
		sz->again = true;   /* once more when this one ends: it may predate the change */
		return;
	}
	struct xfrin_req *r = malloc(sizeof(*r));
	if (!r) {
		uv_timer_start(&sz->refresh_timer, refresh_cb, clamp_ms(SEC_DEFAULT_RETRY_S), 0);
		return;
	}
	*r = sz->cfg;
	/* Its own copy: a reload may change the path while the run uses it. */
	r->path = sz->path ? strdup(sz->path) : NULL;
	if (!r->path) {
		free(r);
		uv_timer_start(&sz->refresh_timer, refresh_cb, clamp_ms(SEC_DEFAULT_RETRY_S), 0);
		return;
	}
	r->cur = sz->serving;
	if (sz->serving)
		zone_ref(sz->serving);
	sz->req_zone = sz->serving;
	sz->req = r;
	sz->busy = true;
	sz->work.data = sz;
	if (why)
		log_zone(LOG_INFO, sz->name, "refresh: %s", why);
	if (uv_queue_work(s->loop, &sz->work, work_cb, after_cb) != 0) {
		sz->busy = false;
		sz->req = NULL;
		zone_unref(sz->req_zone);
		sz->req_zone = NULL;
		free((char *)r->path);
		free(r);
		uv_timer_start(&sz->refresh_timer, refresh_cb, clamp_ms(SEC_DEFAULT_RETRY_S), 0);
	}
}

/* ---- zones come and go with the config ---- */

static void handle_closed(uv_handle_t *h)
{
	struct sec_zone *sz = h->data;
	if (--sz->open_handles == 0 && !sz->busy) {
		free(sz->path);
		free(sz);
	}
}

/* Unlinked from the list already: close its timers; freed when closed and
 * no run holds it. */
static void zone_gone(struct sec_zone *sz)
{
	if (sz->busy)
		return;   /* after_cb calls again */
	if (sz->open_handles == 0) {
		free(sz->path);
		free(sz);
		return;
	}
	if (!uv_is_closing((uv_handle_t *)&sz->refresh_timer)) {
		uv_close((uv_handle_t *)&sz->refresh_timer, handle_closed);
		uv_close((uv_handle_t *)&sz->expire_timer, handle_closed);
	}
}

static struct sec_zone *sec_find(struct secondaries *s, const uint8_t *apex)
{
	for (struct sec_zone *sz = s->zones; sz; sz = sz->next)
		if (dname_equal(sz->apex, apex))
			return sz;
	return NULL;
}

static struct sec_zone *zone_new(struct secondaries *s, const uint8_t *apex)
{
	struct sec_zone *sz = calloc(1, sizeof(*sz));
	if (!sz)
		return NULL;
	sz->owner = s;
	memcpy(sz->apex, apex, dname_len(apex));
	dname_to_str(apex, sz->name, sizeof(sz->name));
	size_t nl = strlen(sz->name);
	if (nl > 1)
		sz->name[nl - 1] = 0;
	uv_timer_init(s->loop, &sz->refresh_timer);
	uv_timer_init(s->loop, &sz->expire_timer);
	sz->refresh_timer.data = sz;
	sz->expire_timer.data = sz;
	sz->open_handles = 2;
	sz->next = s->zones;
	s->zones = sz;
	return sz;
}

/* The inputs of a run from the zone's config. */
static void set_config(struct sec_zone *sz, const struct conf_zone *cz,
		       const struct vane_snapshot *snap)
{
	struct xfrin_req *c = &sz->cfg;
	memset(c, 0, sizeof(*c));
	memcpy(c->apex, sz->apex, dname_len(sz->apex));
	snprintf(c->name, sizeof(c->name), "%s", sz->name);
	for (unsigned i = 0; i < cz->nprimary && i < XFRIN_MAX_PRIMARIES; i++) {
		c->primary[i] = cz->primary[i].addr;
		c->primary_len[i] = cz->primary[i].addrlen;
		snprintf(c->primary_text[i], sizeof(c->primary_text[i]), "%s",
			 cz->primary[i].text);
		c->nprimary++;
	}
	if (cz->key_index >= 0 && snap->xfr && (unsigned)cz->key_index < snap->xfr->nkeys) {
		c->have_key = true;
		c->key = snap->xfr->keys[cz->key_index];
	}
	c->timeout_ms = SEC_STEP_TIMEOUT_MS;
	if (!sz->path || strcmp(sz->path, cz->file) != 0) {
		free(sz->path);
		sz->path = strdup(cz->file);
	}
}

/* A version the snapshot serves that we have not seen: its serial and
 * timers; at the first sight after start, its age from the file. */
static void adopt(struct sec_zone *sz, struct zone *z)
{
	sz->serving = z;
	if (!z)
		return;
	__atomic_store_n(&z->expired, (uint8_t)sz->expired, __ATOMIC_RELAXED);
	const struct rrset *soa = z->soa;
	const uint8_t *rd = soa->rdata + 2;
	uint16_t rdlen = wire_get_u16(soa->rdata);
	size_t o = dname_len(rd);
	o += dname_len(rd + o);
	if (o + 20 <= rdlen) {
		sz->serial = wire_get_u32(rd + o);
		sz->refresh = wire_get_u32(rd + o + 4);
		sz->retry = wire_get_u32(rd + o + 8);
		sz->expire = wire_get_u32(rd + o + 12);
		sz->have_serial = true;
	}
	if (sz->started)
		return;
	/* The saved copy from an earlier run: the last refresh was its mtime. */
	struct stat sb;
	time_t now = time(NULL);
	if (sz->path && stat(sz->path, &sb) == 0)
		sz->last_refresh = sb.st_mtime;
	time_t expires_at = sz->last_refresh + (time_t)sz->expire;
	log_zone(LOG_INFO, sz->name, "serving the saved copy, serial %u, refreshed %lld s ago",
		 sz->serial, (long long)(now - sz->last_refresh));
	if (expires_at <= now)
		set_expired(sz, true);
	else
		uv_timer_start(&sz->expire_timer, expire_cb, (uint64_t)(expires_at - now) * 1000u,
			       0);
}

void secondaries_sync(struct secondaries *s, const struct vane_snapshot *snap)
{
	for (struct sec_zone *sz = s->zones; sz; sz = sz->next)
		sz->seen = false;
	for (unsigned i = 0; i < snap->nzones; i++) {
		const struct conf_zone *cz = &snap->conf->zones[i];
		uint8_t apex[DNAME_MAXLEN];
		if (!cz->nprimary || dname_from_str(cz->name, NULL, apex) <= 0)
			continue;
		dname_lower(apex);
		struct sec_zone *sz = sec_find(s, apex);
		if (!sz && !(sz = zone_new(s, apex)))
			continue;
		sz->seen = true;
		set_config(sz, cz, snap);
		struct zone *z = snap->zones[i].zone;
		if (z != sz->serving)
			adopt(sz, z);
		if (!sz->started) {
			sz->started = true;
			start_refresh(sz, z ? "at start" : "first transfer");
		}
	}
	for (struct sec_zone **p = &s->zones; *p;) {
		struct sec_zone *sz = *p;
		if (sz->seen) {
			p = &sz->next;
			continue;
		}
		*p = sz->next;
		sz->removed = true;
		sz->serving = NULL;
		zone_gone(sz);
	}
}

/* ---- NOTIFY: from query threads to the loop ---- */

static void notify_hook(void *ctx, const uint8_t *apex)
{
	struct secondaries *s = ctx;
	pthread_mutex_lock(&s->lock);
	/* Under the lock: secondaries_close sets closing under it before it
	 * closes the async handle, so no send reaches a closed handle. */
	if (!s->closing) {
		bool have = false;
		for (unsigned i = 0; i < s->npending && !have; i++)
			have = dname_equal(s->pending[i], apex);
		if (!have && s->npending < SEC_MAX_PENDING)
			memcpy(s->pending[s->npending++], apex, dname_len(apex));
		uv_async_send(&s->async);
	}
	pthread_mutex_unlock(&s->lock);
}

static void async_cb(uv_async_t *a)
{
	struct secondaries *s = a->data;
	uint8_t pending[SEC_MAX_PENDING][DNAME_MAXLEN];
	pthread_mutex_lock(&s->lock);
	unsigned n = s->npending;
	memcpy(pending, s->pending, sizeof(pending[0]) * n);
	s->npending = 0;
	pthread_mutex_unlock(&s->lock);
	for (unsigned i = 0; i < n; i++) {
		struct sec_zone *sz = sec_find(s, pending[i]);
		if (sz)
			start_refresh(sz, "NOTIFY");
	}
}

struct secondaries *secondaries_new(uv_loop_t *loop, struct events *ev,
				    void (*reload)(void *ctx), void *ctx)
{
	struct secondaries *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->loop = loop;
	s->ev = ev;
	s->reload = reload;
	s->reload_ctx = ctx;
	pthread_mutex_init(&s->lock, NULL);
	if (uv_async_init(loop, &s->async, async_cb) != 0) {
		pthread_mutex_destroy(&s->lock);
		free(s);
		return NULL;
	}
	s->async.data = s;
	xfr_notify_hook(notify_hook, s);
	return s;
}

void secondaries_close(struct secondaries *s)
{
	if (!s || s->closing)
		return;
	pthread_mutex_lock(&s->lock);
	s->closing = true;
	pthread_mutex_unlock(&s->lock);
	xfr_notify_hook(NULL, NULL);
	uv_close((uv_handle_t *)&s->async, NULL);
	while (s->zones) {
		struct sec_zone *sz = s->zones;
		s->zones = sz->next;
		if (sz->req)   /* a run in progress ends at its next wait */
			__atomic_store_n(&sz->req->cancel, 1, __ATOMIC_RELAXED);
		sz->removed = true;
		sz->serving = NULL;
		zone_gone(sz);
	}
}

void secondaries_free(struct secondaries *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

bool secondaries_info(const struct secondaries *s, const char *name,
		      struct secondary_info *out)
{
	uint8_t apex[DNAME_MAXLEN];
	if (!s || dname_from_str(name, NULL, apex) <= 0)
		return false;
	dname_lower(apex);
	const struct sec_zone *sz = sec_find((struct secondaries *)s, apex);
	if (!sz)
		return false;
	memset(out, 0, sizeof(*out));
	out->primary = sz->cfg.nprimary ? sz->cfg.primary_text[sz->last_primary] : NULL;
	out->have_serial = sz->have_serial;
	out->serial = sz->serial;
	out->last_refresh = sz->last_refresh;
	if (sz->have_serial)
		out->expires_in = sz->expired ? -1 :
				  (long long)sz->last_refresh + sz->expire - (long long)time(NULL);
	out->expired = sz->expired;
	out->refreshing = sz->busy;
	out->last_error = sz->error[0] ? sz->error : NULL;
	out->transfers = sz->transfers;
	out->failures = sz->failures;
	return true;
}
