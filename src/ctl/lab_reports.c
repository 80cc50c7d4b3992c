/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vane-lab's reports for the dashboard: a listing and a guarded open. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/lab_reports.h"

/* The summary next to a report is small (lab_write_json); anything larger
 * is not ours. */
#define SUMMARY_MAX (256 * 1024)
#define REL_MAX 1024

struct found {
	char *name;                      /* "evac-ttl30" of evac-ttl30.html */
	struct timespec mtime;
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int newest_first(const void *pa, const void *pb)
{
	const struct found *a = pa, *b = pb;
	if (a->mtime.tv_sec != b->mtime.tv_sec)
		return a->mtime.tv_sec < b->mtime.tv_sec ? 1 : -1;
	if (a->mtime.tv_nsec != b->mtime.tv_nsec)
		return a->mtime.tv_nsec < b->mtime.tv_nsec ? 1 : -1;
	return strcmp(a->name, b->name);
}

/* NAME.json parsed, or NULL: absent, a symlink, too big or not JSON (a run
 * that is still writing it, say). */
static json_t *summary_of(int dfd, const char *name)
{
	char file[NAME_MAX + 8];
	if (snprintf(file, sizeof(file), "%s.json", name) >= (int)sizeof(file))
		return NULL;
	int fd = openat(dfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > SUMMARY_MAX) {
		close(fd);
		return NULL;
	}
	/* One read: jansson's json_loadfd reads a byte per call. */
	char *buf = malloc((size_t)st.st_size + 1);
	ssize_t got = buf ? read(fd, buf, (size_t)st.st_size) : -1;
	close(fd);
	json_error_t err;
	json_t *j = got > 0 ? json_loadb(buf, (size_t)got, 0, &err) : NULL;
	free(buf);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* One row: what the dashboard shows and the files it links to. */
static json_t *row_of(int dfd, const struct found *f)
{
	json_t *sum = summary_of(dfd, f->name);
	json_t *row = json_object();
	if (row == NULL) {
		json_decref(sum);
		return NULL;
	}
	const char *scenario = json_string_value(json_object_get(sum, "scenario"));
	const char *mode = json_string_value(json_object_get(sum, "mode"));
	/* Reports written before the summary named its mode: live runs are
	 * "NAME-live" (vane-lab(1)). */
	if (mode == NULL)
		mode = ends_with(f->name, "-live") ? "live" : "model";
	char file[NAME_MAX + 8];
	snprintf(file, sizeof(file), "%s.html", f->name);
	json_object_set_new(row, "name", json_string(f->name));
	json_object_set_new(row, "scenario", json_string(scenario ? scenario : f->name));
	json_object_set_new(row, "time", json_integer((json_int_t)f->mtime.tv_sec));
	json_object_set_new(row, "mode", json_string(mode));
	json_object_set_new(row, "report", json_string(file));
	if (sum) {
		snprintf(file, sizeof(file), "%s.json", f->name);
		json_object_set_new(row, "data", json_string(file));
	}
	/* -1 in the summary: that share was never reached in the run. */
	static const char *const nums[] = { "rto95", "rto99", "rto100", "tail", "cost_month" };
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		json_t *v = json_object_get(sum, nums[i]);
		if (json_is_number(v))
			json_object_set(row, nums[i], v);
	}
	json_decref(sum);
	return row;
}

json_t *lab_reports_list(const char *dir, unsigned limit)
{
	if (limit == 0 || limit > LAB_REPORTS_MAX)
		limit = LAB_REPORTS_DEFAULT;
	json_t *list = json_array();
	json_t *out = json_pack("{s:o}", "reports", list);
	if (out == NULL)
		return NULL;
	DIR *d = opendir(dir);
	if (d == NULL)
		return out;
	struct found *f = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	bool oom = false;
	while (!oom && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !ends_with(de->d_name, ".html"))
			continue;
		struct stat st;
		/* Symlinks are not listed: lab_reports_open would refuse them. */
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 32;
			struct found *nf = realloc(f, ncap * sizeof(*f));
			if (nf == NULL) {
				oom = true;
				break;
			}
			f = nf;
			cap = ncap;
		}
		size_t len = strlen(de->d_name) - 5;
		if ((f[n].name = strndup(de->d_name, len)) == NULL) {
			oom = true;
			break;
		}
		f[n++].mtime = st.st_mtim;
	}
	if (n)
		qsort(f, n, sizeof(*f), newest_first);
	for (size_t i = 0; !oom && i < n && i < limit; i++) {
		json_t *row = row_of(dirfd(d), &f[i]);
		if (row == NULL || json_array_append_new(list, row) != 0)
			oom = true;
	}
	for (size_t i = 0; i < n; i++)
		free(f[i].name);
	free(f);
	closedir(d);
	if (oom) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* What a report directory holds and a browser may fetch: vane-lab's HTML,
 * JSON and plots.  Everything else there (a live run's work directory with
 * its configs and keys) is not served. */
static const struct {
	const char *ext, *type;
} types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".csv", "text/csv; charset=utf-8" },
	{ ".txt", "text/plain; charset=utf-8" },
};

static const char *type_of(const char *rel)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (ends_with(rel, types[i].ext))
			return types[i].type;
	return NULL;
}

/* Every component a plain name: not empty, no leading dot (".", "..",
 * hidden files), so the path cannot climb out of the directory. */
static bool plain_path(const char *rel)
{
	size_t len = strlen(rel);
	if (len == 0 || len > REL_MAX || rel[0] == '/')
		return false;
	const char *p = rel;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || n > NAME_MAX || p[0] == '.' || memchr(p, '\\', n))
			return false;
		if (slash == NULL)
			return true;
		p = slash + 1;
	}
}

int lab_reports_open(const char *dir, const char *rel, int *fd, struct stat *st,
		     const char **type)
{
	*fd = -1;
	if (!plain_path(rel) || (*type = type_of(rel)) == NULL)
		return VANE_EINVAL;
	/* The configured directory itself may be a symlink (the operator's
	 * choice); nothing below it is followed. */
	int cur = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return errno == ENOENT ? VANE_ENOENT : -errno;
	char part[NAME_MAX + 1];
	const char *p = rel;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		memcpy(part, p, n);
		part[n] = '\0';
		int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (slash ? O_DIRECTORY : O_NONBLOCK);
		int next = openat(cur, part, flags);
		int e = errno;
		close(cur);
		if (next < 0)
			/* ELOOP: a symlink; ENOTDIR: a symlink or file as a directory. */
			return e == ENOENT || e == ELOOP || e == ENOTDIR ? VANE_ENOENT : -e;
		cur = next;
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	if (fstat(cur, st) != 0 || !S_ISREG(st->st_mode)) {
		close(cur);
		return VANE_ENOENT;
	}
	*fd = cur;
	return 0;
}
