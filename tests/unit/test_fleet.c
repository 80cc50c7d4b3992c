/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fleet/: etcd's base64 and the digest text of the shared settings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "fleet/etcd.h"

static void test_b64_round_trip(void **unused)
{
	static const char *const cases[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "/vane/prod/admin/", "L3ZhbmUvcHJvZC9hZG1pbi8=" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *enc = etcd_b64_encode(cases[i][0], strlen(cases[i][0]));
		assert_string_equal(enc, cases[i][1]);
		size_t len;
		char *dec = etcd_b64_decode(enc, &len);
		assert_int_equal(len, strlen(cases[i][0]));
		assert_string_equal(dec, cases[i][0]);
		free(enc);
		free(dec);
	}
	size_t len;
	assert_null(etcd_b64_decode("no*pe", &len));
}

/* Two nodes' files differ in their name and addresses, not in what they
 * serve: the shared text (what the digest is taken over) is the same. */
static void test_shared_settings_ignore_node_keys(void **unused)
{
	const char *fmt = "server:\n  listen: [ \"127.0.0.1@%d\" ]\n  state-dir: st%d\n"
			  "cluster:\n  name: prod\n  node: ns%d\n  etcd: [ \"http://127.0.0.1:%d\" ]\n"
			  "%s";
	char *text[3];
	for (int i = 0; i < 3; i++) {
		char path[] = "/tmp/vane-test-fleet-XXXXXX";
		int fd = mkstemp(path);
		assert_true(fd >= 0);
		FILE *f = fdopen(fd, "w");
		fprintf(f, fmt, 5300 + i, i, i, 2379 + i, i == 2 ? "  health-quorum: 2\n" : "");
		fclose(f);
		struct vane_conf *c = NULL;
		assert_int_equal(conf_load(path, NULL, NULL, &c), 0);
		size_t len;
		FILE *m = open_memstream(&text[i], &len);
		conf_write_shared(m, c);
		fclose(m);
		conf_free(c);
		unlink(path);
	}
	assert_non_null(strstr(text[0], "cluster.name=prod\n"));
	assert_null(strstr(text[0], "ns0"));
	assert_string_equal(text[0], text[1]);
	assert_string_not_equal(text[0], text[2]);
	for (int i = 0; i < 3; i++)
		free(text[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_round_trip),
		cmocka_unit_test(test_shared_settings_ignore_node_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
