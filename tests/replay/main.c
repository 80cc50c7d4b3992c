/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The replayer's command line (see replay.c for what it does). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replay.h"

struct names {
	char **v;
	unsigned n;
};

static void names_add(struct names *l, const char *s)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));
	char *d = strdup(s);
	if (!v || !d) {
		fprintf(stderr, "replay: out of memory\n");
		exit(2);
	}
	l->v = v;
	l->v[l->n++] = d;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The .rpl files of a folder, sorted; a folder of sets recurses one level. */
static void collect(struct names *out, const char *path)
{
	struct names found = { 0 };
	char buf[4096];
	DIR *d;
	if (!is_dir(path)) {
		names_add(out, path);
		return;
	}
	if (!(d = opendir(path)))
		return;
	for (struct dirent *e; (e = readdir(d));) {
		size_t n = strlen(e->d_name);
		if (e->d_name[0] == '.')
			continue;
		snprintf(buf, sizeof(buf), "%s/%s", path, e->d_name);
		if (n > 4 && !strcmp(e->d_name + n - 4, ".rpl"))
			names_add(&found, buf);
		else if (is_dir(buf))
			names_add(&found, buf);
	}
	closedir(d);
	if (found.n)
		qsort(found.v, found.n, sizeof(*found.v), cmp_str);
	for (unsigned i = 0; i < found.n; i++) {
		if (is_dir(found.v[i]))
			collect(out, found.v[i]);
		else
			names_add(out, found.v[i]);
		free(found.v[i]);
	}
	free(found.v);
}

/* "SET/FILE.rpl": the last two parts of the path. */
static const char *scenario_id(const char *path)
{
	const char *end = path + strlen(path), *p = end;
	int slashes = 0;
	while (p > path) {
		if (p[-1] == '/' && ++slashes == 2)
			break;
		p--;
	}
	return p;
}

static void load_list(struct names *l, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	if (!f) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		exit(2);
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "#\r\n")] = '\0';
		char *s = line, *e;
		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strlen(s);
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (*s)
			names_add(l, s);
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	struct names paths = { 0 }, required = { 0 }, passed = { 0 };
	const char *hints = NULL;
	unsigned npass = 0, nfail = 0, nunsup = 0;
	char tmpdir[] = "/tmp/vane-replay-XXXXXX";
	bool verbose = true;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--require") && i + 1 < argc)
			load_list(&required, argv[++i]);
		else if (!strcmp(argv[i], "--hints") && i + 1 < argc)
			hints = argv[++i];
		else if (!strcmp(argv[i], "--quiet"))
			verbose = false;
		else
			collect(&paths, argv[i]);
	}
	if (!paths.n) {
		fprintf(stderr, "usage: replay [--require LIST] [--hints FILE] [--quiet] PATH...\n");
		return 2;
	}
	if (!mkdtemp(tmpdir)) {
		perror("replay: mkdtemp");
		return 2;
	}
	for (unsigned i = 0; i < paths.n; i++) {
		char why[512];
		const char *id = scenario_id(paths.v[i]);
		int st = replay_run(paths.v[i], hints, tmpdir, why, sizeof(why));
		const char *word = st == REPLAY_PASS ? "pass" : st == REPLAY_UNSUPPORTED ?
				   "unsupported" : "fail";
		if (st == REPLAY_PASS) {
			npass++;
			names_add(&passed, id);
		} else if (st == REPLAY_UNSUPPORTED) {
			nunsup++;
		} else {
			nfail++;
		}
		if (verbose || st == REPLAY_FAIL)
			printf("%-55s %-11s %s\n", id, word, why);
		fflush(stdout);
	}
	rmdir(tmpdir);
	printf("replay: %u of %u scenarios pass (%u unsupported)\n", npass, paths.n, nunsup);
	int ret = 0;
	for (unsigned i = 0; i < required.n; i++) {
		bool ok = false;
		for (unsigned k = 0; k < passed.n && !ok; k++)
			ok = !strcmp(passed.v[k], required.v[i]);
		if (!ok) {
			printf("replay: required scenario %s did not pass\n", required.v[i]);
			ret = 1;
		}
	}
	for (unsigned i = 0; i < paths.n; i++)
		free(paths.v[i]);
	for (unsigned i = 0; i < required.n; i++)
		free(required.v[i]);
	for (unsigned i = 0; i < passed.n; i++)
		free(passed.v[i]);
	free(paths.v);
	free(required.v);
	free(passed.v);
	return ret;
}
