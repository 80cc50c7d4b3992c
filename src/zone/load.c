/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Zone file parsing with libzscanner ($ORIGIN, $TTL, $INCLUDE, $GENERATE,
 * every type it knows, RFC 3597 generic data), collecting records for
 * zone_build().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libzscanner/error.h>
#include <libzscanner/scanner.h>

#include "lib/pkt.h"
#include "zone/build.h"
#include "zone/generate.h"

#define DEFAULT_TTL 3600 /* as Knot and NSD use without $TTL */

void zbuild_error(struct zbuild *b, const struct zrec *r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	b->errors++;
	if (b->err)
		b->err(b->ctx, r ? b->files[r->file] : b->files[0],
		       r ? r->line : 0, msg);
}

static int pool_put(struct zbuild *b, const void *data, size_t len, uint32_t *off)
{
	if (b->pool_len + len > UINT32_MAX)
		return VANE_ENOMEM;
	if (b->pool_len + len > b->pool_cap) {
		size_t cap = b->pool_cap ? b->pool_cap * 2 : 65536;
		while (cap < b->pool_len + len)
			cap *= 2;
		uint8_t *p = realloc(b->pool, cap);
		if (!p)
			return VANE_ENOMEM;
		b->pool = p;
		b->pool_cap = cap;
	}
	memcpy(b->pool + b->pool_len, data, len);
	*off = (uint32_t)b->pool_len;
	b->pool_len += len;
	return 0;
}

/* $INCLUDE'd files get their own name in messages. */
static uint16_t file_index(struct zbuild *b, const char *name)
{
	if (!name)
		return 0;
	for (unsigned i = 0; i < b->nfiles; i++)
		if (strcmp(b->files[i], name) == 0)
			return (uint16_t)i;
	char **f = realloc(b->files, (b->nfiles + 1) * sizeof(*f));
	char *dup = strdup(name);
	if (!f || !dup || b->nfiles >= UINT16_MAX) {
		free(dup);
		if (f)
			b->files = f;
		return 0;
	}
	b->files = f;
	b->files[b->nfiles] = dup;
	return (uint16_t)b->nfiles++;
}

/* Line of the current record in the file as written. */
static uint32_t source_line(const struct zbuild *b, const zs_scanner_t *s, uint16_t file)
{
	uint64_t line = s->line_counter;
	if (file == 0 && b->linemap && line >= 1 && line <= b->nlines)
		return b->linemap[line - 1];
	return (uint32_t)line;
}

static bool has_upper(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] >= 'A' && p[i] <= 'Z')
			return true;
	return false;
}

/* Ask for transparent huge pages on the whole pages inside [p, p + len):
 * the buffers of a big zone are filled front to back once, and 4 KiB page
 * faults were a good part of its load time.  Only a hint. */
static void want_huge(void *p, size_t len)
{
	const uintptr_t page = 4096;
	uintptr_t a = ((uintptr_t)p + page - 1) & ~(page - 1);
	uintptr_t e = ((uintptr_t)p + len) & ~(page - 1);
	if (len >= 4u << 20 && e > a)
		madvise((void *)a, e - a, MADV_HUGEPAGE);
}

/* Room for the records of a file of `len` bytes, reserved up front: growing
 * a pool of tens of megabytes by doubling copies it each time.  Pages never
 * written cost address space only. */
static void reserve(struct zbuild *b, size_t len)
{
	size_t pool = len * 2, recs = len / 16;
	if (pool > UINT32_MAX)
		pool = UINT32_MAX;
	if (pool > b->pool_cap) {
		uint8_t *p = realloc(b->pool, pool);
		if (p) {
			b->pool = p;
			b->pool_cap = pool;
			want_huge(p, pool);
		}
	}
	if (recs > b->caprecs) {
		struct zrec *r = realloc(b->recs, recs * sizeof(*r));
		if (r) {
			b->recs = r;
			b->caprecs = recs;
			want_huge(r, recs * sizeof(*r));
		}
	}
}

static void on_record(zs_scanner_t *s)
{
	struct zbuild *b = s->process.data;
	uint16_t file = file_index(b, s->file.name);
	struct zrec r = {
		.ttl = s->r_ttl,
		.line = source_line(b, s, file),
		.seq = (uint32_t)b->nrecs,
		.type = s->r_type,
		.rdlen = (uint16_t)s->r_data_length,
		.file = file,
		.owner_len = (uint8_t)s->r_owner_length,
	};
	if (s->r_class != DNS_IN) {
		zbuild_error(b, &r, "only class IN is supported");
		return;
	}
	if (b->nrecs == b->caprecs) {
		size_t cap = b->caprecs ? b->caprecs * 2 : 1024;
		struct zrec *n = realloc(b->recs, cap * sizeof(*n));
		if (!n)
			goto nomem;
		b->recs = n;
		b->caprecs = cap;
	}
	/* Records of one owner come in a row, and owners are mostly lower
	 * case already: share the bytes rather than copy them again. */
	const struct zrec *last = b->nrecs ? &b->recs[b->nrecs - 1] : NULL;
	if (last && last->owner_len == r.owner_len &&
	    memcmp(b->pool + last->owner, s->r_owner, r.owner_len) == 0) {
		r.owner = last->owner;
		r.lowner = last->lowner;
	} else {
		if (pool_put(b, s->r_owner, s->r_owner_length, &r.owner) != 0)
			goto nomem;
		r.lowner = r.owner;
		if (has_upper(s->r_owner, s->r_owner_length)) {
			if (pool_put(b, s->r_owner, s->r_owner_length, &r.lowner) != 0)
				goto nomem;
			dname_lower(b->pool + r.lowner);
		}
	}
	if (pool_put(b, s->r_data, s->r_data_length, &r.rdata) != 0)
		goto nomem;
	b->recs[b->nrecs++] = r;
	return;
nomem:
	zbuild_error(b, &r, "out of memory");
	s->state = ZS_STATE_STOP;
}

static void on_error(zs_scanner_t *s)
{
	struct zbuild *b = s->process.data;
	/* The include's own error was already reported where it happened. */
	if (s->error.code == ZS_UNPROCESSED_INCLUDE && b->errors > 0)
		return;
	uint16_t file = file_index(b, s->file.name);
	struct zrec r = { .line = source_line(b, s, file), .file = file };
	zbuild_error(b, &r, "%s", zs_strerror(s->error.code));
}

/* The whole file from `fd`, sized by fstat so a big zone is one read. */
static int read_fd(int fd, char **text, size_t *len)
{
	struct stat sb;
	size_t cap = 65536, n = 0;
	if (fstat(fd, &sb) == 0 && sb.st_size > 0)
		cap = (size_t)sb.st_size + 1;
	char *buf = malloc(cap);
	if (!buf)
		return VANE_ENOMEM;
	want_huge(buf, cap);
	for (;;) {
		if (n == cap) {
			char *p = realloc(buf, cap * 2);
			if (!p) {
				free(buf);
				return VANE_ENOMEM;
			}
			buf = p;
			cap *= 2;
		}
		ssize_t got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int err = -errno;
			free(buf);
			return err;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	*text = buf;
	*len = n;
	return 0;
}

/* Feed `text` to the scanner directly, or through $GENERATE expansion
 * when it has that directive.  `text` stays the caller's until the scanner
 * is done with it. */
static int set_input(struct zbuild *b, zs_scanner_t *s, const char *file, const char *text,
		     size_t len, struct gen_text *gen)
{
	const char *in = text;
	if (gen_needed(text, len)) {
		uint32_t line = 0;
		char msg[128] = "";
		int r = gen_expand(text, len, gen, &line, msg);
		if (r != 0) {
			struct zrec at = { .line = line };
			zbuild_error(b, &at, "%s", r == VANE_ESYNTAX ? msg : vane_strerror(r));
			return r;
		}
		b->linemap = gen->linemap;
		b->nlines = gen->nlines;
		in = gen->text;
		len = gen->len;
	}
	reserve(b, len);
	if (zs_set_input_string(s, in, len) != 0)
		return VANE_ENOMEM;
	/* $INCLUDE paths stay relative to the zone file's folder. */
	char *copy = strdup(file);
	if (!copy)
		return VANE_ENOMEM;
	free(s->path);
	s->path = strdup(dirname(copy));
	free(copy);
	return s->path ? 0 : VANE_ENOMEM;
}

int zone_load(const char *origin, const char *file, vane_report_fn err, void *ctx,
	      struct zone **out)
{
	*out = NULL;
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		char msg[DNAME_MAXSTR + 64];
		snprintf(msg, sizeof(msg), "cannot open zone file: %s", vane_strerror(-errno));
		if (err)
			err(ctx, file, 0, msg);
		return VANE_ENOENT;
	}
	int ret = zone_load_fd(origin, file, fd, err, ctx, out);
	close(fd);
	return ret;
}

int zone_load_fd(const char *origin, const char *file, int fd, vane_report_fn err,
		 void *ctx, struct zone **out)
{
	char *text = NULL;
	size_t len = 0;

	*out = NULL;
	int r = read_fd(fd, &text, &len);
	if (r != 0) {
		char msg[128];
		snprintf(msg, sizeof(msg), "cannot read zone file: %s", vane_strerror(r));
		if (err)
			err(ctx, file, 0, msg);
		return r == VANE_ENOMEM ? r : VANE_ENOENT;
	}
	r = zone_load_text(origin, file, text, len, err, ctx, out);
	free(text);
	return r;
}

struct zone_scanner {
	zs_scanner_t s;
};

struct zone_scanner *zone_scanner_new(void)
{
	return malloc(sizeof(struct zone_scanner));
}

void zone_scanner_free(struct zone_scanner *sc)
{
	free(sc);
}

int zone_load_text(const char *origin, const char *file, const char *text, size_t len,
		   vane_report_fn err, void *ctx, struct zone **out)
{
	return zone_load_text_with(NULL, origin, file, text, len, err, ctx, out);
}

int zone_load_text_with(struct zone_scanner *sc, const char *origin, const char *file,
			const char *text, size_t len, vane_report_fn err, void *ctx,
			struct zone **out)
{
	struct zbuild b = { .err = err, .ctx = ctx };
	struct gen_text gen = { 0 };
	struct zone_scanner *own = NULL;
	zs_scanner_t *s = NULL;
	int ret = VANE_ENOMEM;

	*out = NULL;
	b.files = calloc(1, sizeof(char *));
	if (!b.files || !(b.files[0] = strdup(file)))
		goto done;
	b.nfiles = 1;

	int apex_len = dname_from_str(origin, NULL, b.apex);
	if (apex_len < 0) {
		zbuild_error(&b, NULL, "invalid zone name '%s': %s", origin,
			     vane_strerror(apex_len));
		ret = apex_len;
		goto done;
	}
	b.apex_len = (size_t)apex_len;
	dname_lower(b.apex);

	if (!sc && !(sc = own = zone_scanner_new()))
		goto done;
	char origin_abs[DNAME_MAXSTR];
	dname_to_str(b.apex, origin_abs, sizeof(origin_abs));
	if (zs_init(&sc->s, origin_abs, DNS_IN, DEFAULT_TTL) != 0)
		goto done;
	s = &sc->s;   /* initialised: zs_deinit() at the end */
	if ((ret = set_input(&b, s, file, text, len, &gen)) != 0)
		goto done;
	ret = VANE_ENOMEM;
	if (zs_set_processing(s, on_record, on_error, &b) != 0)
		goto done;
	if (zs_parse_all(s) != 0 && b.errors == 0)
		zbuild_error(&b, NULL, "%s", zs_strerror(s->error.code));
	if (b.errors) {
		ret = VANE_ESYNTAX;
		goto done;
	}
	ret = zone_build(&b, out);
done:
	if (s)
		zs_deinit(s);
	zone_scanner_free(own);
	gen_free(&gen);
	free(b.recs);
	free(b.pool);
	for (unsigned i = 0; i < b.nfiles; i++)
		free(b.files[i]);
	free(b.files);
	return ret;
}
