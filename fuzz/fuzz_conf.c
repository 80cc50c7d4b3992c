/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the YAML config loaders: the input (less its first
 * byte) is loaded from memory by conf_load_text() (vaned.conf) or, when the
 * first byte is odd, resolver_conf_load_text() (vane-resolver.conf): the
 * code conf_load() and resolver_conf_load() end in once they have read the
 * file, without a file per input.  Checked: a failed load reports at least
 * one problem, a good one reports none and writes its shared settings
 * (conf_write_shared, the fleet digest's text); ASan finds what leaks on
 * either path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/resolver_conf.h"
#include "fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where the input is said to come from: relative paths in it resolve
 * against this folder, which need not exist. */
#define CONF_PATH "/nonexistent/vane-fuzz/vaned.conf"

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
	const char *text = (const char *)data + 1;
	unsigned problems = 0;
	int rc;
	if (resolver) {
		struct resolver_conf *rc_conf = NULL;
		rc = resolver_conf_load_text(CONF_PATH, text, size - 1, count_problem, &problems,
					     &rc_conf);
		if (rc == 0)
			resolver_conf_free(rc_conf);
	} else {
		struct vane_conf *conf = NULL;
		rc = conf_load_text(CONF_PATH, text, size - 1, count_problem, &problems, &conf);
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
