/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the YAML config loaders: the input (less its first
 * byte) is written to a file in a private temporary directory, then loaded
 * by conf_load() (vaned.conf) or, when the first byte is odd,
 * resolver_conf_load() (vane-resolver.conf).  The loaders read a path, not
 * memory, so each input costs one small write.  Checked: a failed load
 * reports at least one problem, a good one reports none and writes its
 * shared settings (conf_write_shared, the fleet digest's text); ASan finds
 * what leaks on either path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/resolver_conf.h"
#include "fuzz/fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/vane-fuzz-conf-XXXXXX";
static char path[256];

static void remove_files(void)
{
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (!mkdtemp(dir)) {
		perror("fuzz_conf: mkdtemp");
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/vaned.conf", dir);
	atexit(remove_files);
	return 0;
}

/* Problems are counted, not printed: the fuzzer's output stays readable. */
static void count_problem(void *ctx, const char *file, unsigned long line, const char *msg)
{
	(void)file;
	(void)line;
	if (msg == NULL || *msg == '\0')
		FUZZ_FAIL("a problem reported without a message");
	(*(unsigned *)ctx)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool resolver = data[0] & 1;
	FILE *f = fopen(path, "w");
	if (!f || fwrite(data + 1, 1, size - 1, f) != size - 1 || fclose(f) != 0) {
		perror("fuzz_conf: writing the input");
		exit(1);
	}
	unsigned problems = 0;
	int rc;
	if (resolver) {
		struct resolver_conf *rc_conf = NULL;
		rc = resolver_conf_load(path, count_problem, &problems, &rc_conf);
		if (rc == 0)
			resolver_conf_free(rc_conf);
	} else {
		struct vane_conf *conf = NULL;
		rc = conf_load(path, count_problem, &problems, &conf);
		if (rc == 0) {
			char *text = NULL;
			size_t len = 0;
			FILE *mem = open_memstream(&text, &len);
			if (mem) {
				conf_write_shared(mem, conf);
				fclose(mem);
			}
			free(text);
			conf_free(conf);
		}
	}
	if (rc != 0 && problems == 0)
		FUZZ_FAIL("load failed (%d) without reporting a problem", rc);
	if (rc == 0 && problems != 0)
		FUZZ_FAIL("load succeeded but reported %u problems", problems);
	return 0;
}
