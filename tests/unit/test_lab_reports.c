/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for the dashboard's view of vane-lab's reports (ctl/lab_reports.h):
 * the listing's order, limit and summary fields, and the guard on the files
 * served (names, types, symlinks), on a directory built here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl/lab_reports.h"

static char root[256], dir[300];

static void put(const char *name, const char *text, long age)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	struct timeval tv[2];
	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= age;
	tv[1] = tv[0];
	assert_int_equal(utimes(path, tv), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/vane-lab-reports-XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(dir, sizeof(dir), "%s/lab", root);
	assert_int_equal(mkdir(dir, 0755), 0);
	put("old.html", "<p>old</p>", 300);
	put("old.json", "{\"scenario\": \"old\", \"rto95\": 12, \"rto99\": -1}", 300);
	put("new-live.html", "<p>new</p>", 10);    /* no summary: mode from the name */
	put("mid.html", "<p>mid</p>", 100);
	put("mid.json", "{\"scenario\": \"mid\", \"mode\": \"live\", \"rto95\": 3.5", 100);  /* cut short */
	put(".hidden.html", "<p>hidden</p>", 0);
	char out[512], link[512];
	snprintf(out, sizeof(out), "%s/outside.html", root);
	FILE *f = fopen(out, "w");
	assert_non_null(f);
	fputs("outside", f);
	fclose(f);
	snprintf(link, sizeof(link), "%s/link.html", dir);
	assert_int_equal(symlink(out, link), 0);
	snprintf(link, sizeof(link), "%s/up", dir);
	assert_int_equal(symlink(root, link), 0);
	snprintf(link, sizeof(link), "%s/sub", dir);
	assert_int_equal(mkdir(link, 0755), 0);
	put("sub/plot.svg", "<svg/>", 0);
	snprintf(link, sizeof(link), "%s/dir.html", dir);
	assert_int_equal(mkdir(link, 0755), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *str(json_t *row, const char *key)
{
	return json_string_value(json_object_get(row, key));
}

static void test_list(void **state)
{
	(void)state;
	json_t *res = lab_reports_list(dir, 0);
	assert_non_null(res);
	json_t *rows = json_object_get(res, "reports");
	/* Newest first; hidden files, symlinks and directories left out. */
	assert_int_equal(json_array_size(rows), 3);
	json_t *a = json_array_get(rows, 0), *b = json_array_get(rows, 1), *c = json_array_get(rows, 2);
	assert_string_equal(str(a, "name"), "new-live");
	assert_string_equal(str(a, "mode"), "live");
	assert_string_equal(str(a, "report"), "new-live.html");
	assert_null(json_object_get(a, "data"));
	assert_null(json_object_get(a, "rto95"));
	/* A summary that does not parse is no summary. */
	assert_string_equal(str(b, "name"), "mid");
	assert_string_equal(str(b, "mode"), "model");
	assert_null(json_object_get(b, "rto95"));
	assert_string_equal(str(c, "scenario"), "old");
	assert_string_equal(str(c, "mode"), "model");
	assert_string_equal(str(c, "data"), "old.json");
	assert_int_equal(json_integer_value(json_object_get(c, "rto95")), 12);
	assert_int_equal(json_integer_value(json_object_get(c, "rto99")), -1);
	assert_true(json_integer_value(json_object_get(a, "time")) >
		    json_integer_value(json_object_get(c, "time")));
	json_decref(res);

	res = lab_reports_list(dir, 1);
	assert_int_equal(json_array_size(json_object_get(res, "reports")), 1);
	json_decref(res);
	/* Not there yet: the lab has not run. */
	res = lab_reports_list("/nonexistent/lab", 5);
	assert_non_null(res);
	assert_int_equal(json_array_size(json_object_get(res, "reports")), 0);
	json_decref(res);
}

static int open_rel(const char *rel)
{
	int fd;
	struct stat st;
	const char *type;
	int ret = lab_reports_open(dir, rel, &fd, &st, &type);
	if (ret == 0) {
		assert_true(fd >= 0);
		assert_true(S_ISREG(st.st_mode));
		close(fd);
	} else {
		assert_int_equal(fd, -1);
	}
	return ret;
}

static void test_open(void **state)
{
	(void)state;
	assert_int_equal(open_rel("old.html"), 0);
	assert_int_equal(open_rel("old.json"), 0);
	assert_int_equal(open_rel("sub/plot.svg"), 0);
	int fd;
	struct stat st;
	const char *type;
	assert_int_equal(lab_reports_open(dir, "old.html", &fd, &st, &type), 0);
	assert_string_equal(type, "text/html; charset=utf-8");
	close(fd);
	/* Names that could climb out, hidden files, types not served. */
	static const char *const bad[] = {
		"", "/", "..", "../outside.html", "sub/../old.html", "./old.html", "/etc/passwd.txt",
		"sub//plot.svg", "sub/", ".hidden.html", "old", "old.conf", "sub\\..\\x.html",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(open_rel(bad[i]), VANE_EINVAL);
	/* Symlinks (to a file or a directory) are not followed; a directory
	 * is not a file. */
	assert_int_equal(open_rel("link.html"), VANE_ENOENT);
	assert_int_equal(open_rel("up/outside.html"), VANE_ENOENT);
	assert_int_equal(open_rel("dir.html"), VANE_ENOENT);
	assert_int_equal(open_rel("missing.html"), VANE_ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_open),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
