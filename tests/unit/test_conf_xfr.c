/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Transfer settings in the configuration (conf/xfr.c): keys and their
 * secrets, allow-transfer prefixes and key references, notify, export. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf/conf.h"

static char tmpdir[] = "/tmp/vane-test-confxfr-XXXXXX";
static char path[512], keyfile[512];
static char errs[8192];
static unsigned nerrs;

static void collect(void *ctx, const char *file, unsigned long line, const char *msg)
{
	size_t n = strlen(errs);
	snprintf(errs + n, sizeof(errs) - n, "%lu: %s\n", line, msg);
	nerrs++;
}

static int setup(void **state)
{
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(path, sizeof(path), "%s/vaned.conf", tmpdir);
	snprintf(keyfile, sizeof(keyfile), "%s/key.b64", tmpdir);
	FILE *f = fopen(keyfile, "w");
	fputs("c2VjcmV0LWZyb20tYS1maWxl\n", f);
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	unlink(keyfile);
	return rmdir(tmpdir);
}

static int load(const char *text, struct vane_conf **conf)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	errs[0] = '\0';
	nerrs = 0;
	*conf = NULL;
	return conf_load(path, collect, NULL, conf);
}

#define ZONE_HEAD "zones:\n  - name: example.com\n    file: z.zone\n"

static void test_good(void **state)
{
	struct vane_conf *c;
	int ret = load("keys:\n"
		       "  - id: xfr-key\n    algorithm: hmac-sha256\n    secret: \"aGVsbG8=\"\n"
		       "  - id: Other.Key.\n    algorithm: hmac-sha512\n    secret-file: key.b64\n"
		       ZONE_HEAD
		       "    notify: [ \"192.0.2.53@5353\", \"2001:db8::53\" ]\n"
		       "    allow-transfer: [ { address: 192.0.2.0/24, key: xfr-key },\n"
		       "                      { address: \"2001:db8::/32\", key: other.key },\n"
		       "                      { address: 198.51.100.7 } ]\n"
		       "    export: none\n    journal-max: 8\n", &c);
	if (ret != 0)
		print_error("%s", errs);
	assert_int_equal(ret, 0);
	assert_int_equal(c->nkeys, 2);
	assert_int_equal(c->keys[0].secret_len, 5);
	assert_memory_equal(c->keys[0].secret_data, "hello", 5);
	assert_int_equal(c->keys[1].secret_len, 18);
	assert_memory_equal(c->keys[1].secret_data, "secret-from-a-file", 18);
	assert_int_equal(conf_key_find(c, "OTHER.key"), 1);
	const struct conf_zone *z = &c->zones[0];
	assert_int_equal(z->nnotify, 2);
	assert_int_equal(ntohs(((struct sockaddr_in *)&z->notify[0].address.addr)->sin_port), 5353);
	assert_int_equal(z->notify[0].key_index, -1);
	assert_int_equal(z->nallow_transfer, 3);
	assert_int_equal(z->allow_transfer[0].prefix, 24);
	assert_int_equal(z->allow_transfer[0].key_index, 0);
	assert_int_equal(z->allow_transfer[1].addr.ss_family, AF_INET6);
	assert_int_equal(z->allow_transfer[1].key_index, 1);
	assert_int_equal(z->allow_transfer[2].prefix, 32);
	assert_int_equal(z->allow_transfer[2].key_index, -1);
	assert_string_equal(z->export, "none");
	assert_int_equal(z->journal_max_mb, 8);
	conf_free(c);

	/* Defaults: export open, a 64 MiB journal, no transfers. */
	assert_int_equal(load(ZONE_HEAD, &c), 0);
	assert_string_equal(c->zones[0].export, "open");
	assert_int_equal(c->zones[0].journal_max_mb, 64);
	assert_int_equal(c->zones[0].nallow_transfer, 0);
	conf_free(c);
}

/* notify: a map entry names the key that signs the NOTIFY; the plain
 * string form stays, and both forms mix in one list. */
static void test_notify_key(void **state)
{
	struct vane_conf *c;
	int ret = load("keys:\n"
		       "  - id: xfr-key\n    algorithm: hmac-sha256\n    secret: \"aGVsbG8=\"\n"
		       "  - id: notify-key\n    algorithm: hmac-sha512\n    secret: \"aGVsbG8=\"\n"
		       ZONE_HEAD
		       "    notify:\n"
		       "      - \"192.0.2.53@5353\"\n"
		       "      - { address: \"192.0.2.54@53\", key: Notify-Key. }\n"
		       "      - address: \"2001:db8::53\"\n", &c);
	if (ret != 0)
		print_error("%s", errs);
	assert_int_equal(ret, 0);
	const struct conf_zone *z = &c->zones[0];
	assert_int_equal(z->nnotify, 3);
	assert_string_equal(z->notify[0].address.text, "192.0.2.53@5353");
	assert_null(z->notify[0].key);
	assert_int_equal(z->notify[0].key_index, -1);
	assert_string_equal(z->notify[1].address.text, "192.0.2.54@53");
	assert_int_equal(z->notify[1].key_index, 1);
	assert_int_equal(z->notify[1].line, z->notify[0].line + 1);
	assert_int_equal(z->notify[2].address.addr.ss_family, AF_INET6);
	assert_int_equal(z->notify[2].key_index, -1);
	conf_free(c);

	/* A single string is still a list of one. */
	assert_int_equal(load(ZONE_HEAD "    notify: \"192.0.2.53\"\n", &c), 0);
	assert_int_equal(c->zones[0].nnotify, 1);
	assert_int_equal(ntohs(((struct sockaddr_in *)&c->zones[0].notify[0].address.addr)
			       ->sin_port), 53);
	conf_free(c);
}

/* Catalog zones: a generated catalog has no file; members name it. */
static void test_catalog(void **state)
{
	struct vane_conf *c;
	int ret = load("zones:\n"
		       "  - name: catalog.vane\n    catalog-role: generate\n"
		       "  - name: a.test\n    file: a.zone\n    catalog-zone: Catalog.Vane.\n"
		       "  - name: b.test\n    file: b.zone\n", &c);
	if (ret != 0)
		print_error("%s", errs);
	assert_int_equal(ret, 0);
	assert_true(c->zones[0].catalog);
	assert_string_equal(c->zones[0].file, CONF_CATALOG_FILE);
	assert_false(c->zones[1].catalog);
	assert_string_equal(c->zones[1].catalog_zone, "catalog.vane.");
	assert_string_equal(c->zones[2].catalog_role, "none");
	assert_null(c->zones[2].catalog_zone);
	conf_free(c);
}

static void expect(const char *text, const char *msg)
{
	struct vane_conf *c;
	assert_int_not_equal(load(text, &c), 0);
	assert_null(c);
	if (!strstr(errs, msg)) {
		print_error("want \"%s\" in:\n%s", msg, errs);
		fail();
	}
}

static void test_errors(void **state)
{
	expect("keys:\n  - id: k\n    algorithm: hmac-sha256\n    secret: \"not base64!\"\n",
	       "2: keys[0].secret: expected base64");
	expect("keys:\n  - id: k\n    algorithm: hmac-sha256\n",
	       "2: keys[0]: give either secret or secret-file");
	expect("keys:\n  - id: k\n    algorithm: hmac-sha256\n    secret: aGVsbG8=\n"
	       "    secret-file: key.b64\n", "keys[0]: give either secret or secret-file");
	expect("keys:\n  - id: k\n    algorithm: hmac-md5\n    secret: aGVsbG8=\n",
	       "algorithm");
	expect("keys:\n  - id: k\n    algorithm: hmac-sha256\n    secret-file: nope.b64\n",
	       "keys[0].secret-file: cannot read");
	expect(ZONE_HEAD "    allow-transfer: [ { address: 192.0.2.0/33 } ]\n",
	       "zones[0].allow-transfer[0].address: expected an address or ADDR/LEN");
	expect(ZONE_HEAD "    allow-transfer: [ { address: 192.0.2.1, key: missing } ]\n",
	       "zones[0].allow-transfer[0].key: unknown key \"missing\"");
	expect(ZONE_HEAD "    notify: [ \"not an address\" ]\n", "notify");
	expect(ZONE_HEAD "    export: sometimes\n", "export");
	expect(ZONE_HEAD "    export-interval: 2d\n", "export-interval");
	expect(ZONE_HEAD "    notify: [ { address: \"192.0.2.1\", key: missing } ]\n",
	       "zones[0].notify[0].key: unknown key \"missing\"");
	expect(ZONE_HEAD "    notify: [ { key: k } ]\n", "zones[0].notify[0].address: missing");
	expect(ZONE_HEAD "    notify: [ \"192.0.2.1@53\", { address: 192.0.2.1 } ]\n",
	       "zones[0].notify[1].address");
	expect("zones:\n  - name: c.vane\n    catalog-role: generate\n    file: c.zone\n",
	       "zones[0].file: a generated catalog (catalog-role: generate) has no file");
	expect("zones:\n  - name: a.test\n", "zones[0].file: missing required key");
	expect(ZONE_HEAD "    catalog-zone: nowhere.vane\n",
	       "zones[0].catalog-zone: \"nowhere.vane.\" is not a zone with catalog-role: "
	       "generate");
	expect(ZONE_HEAD "  - name: b.test\n    file: b.zone\n    catalog-zone: example.com\n",
	       "zones[1].catalog-zone: \"example.com.\" is not a zone with catalog-role");
	expect("zones:\n  - name: c.vane\n    catalog-role: generate\n    catalog-zone: c.vane\n",
	       "zones[0].catalog-zone: a catalog is not a member");
	expect(ZONE_HEAD "    catalog-role: consume\n", "catalog-role");
	expect(ZONE_HEAD "    notify: [ { address: 192.0.2.1, port: 5 } ]\n",
	       "zones[0].notify[0].port: unknown key");
}

/* A secondary zone: primaries, key, and its copy in state-dir. */
static void test_secondary(void **state)
{
	struct vane_conf *c;
	int ret = load("server:\n  state-dir: st\n"
		       "keys:\n  - id: xfr-key\n    algorithm: hmac-sha256\n    secret: \"aGVsbG8=\"\n"
		       "zones:\n  - name: Sec.Example.\n"
		       "    primary: [ \"192.0.2.1@5300\", \"2001:db8::1\" ]\n    key: xfr-key\n",
		       &c);
	if (ret != 0)
		print_error("%s", errs);
	assert_int_equal(ret, 0);
	assert_int_equal(c->zones[0].nprimary, 2);
	assert_int_equal(c->zones[0].key_index, 0);
	const struct sockaddr_in *in = (const struct sockaddr_in *)&c->zones[0].primary[0].addr;
	assert_int_equal(ntohs(in->sin_port), 5300);
	char want[600];
	snprintf(want, sizeof(want), "%s/st/secondary/sec.example.zone", tmpdir);
	assert_string_equal(c->zones[0].file, want);
	conf_free(c);

	expect("zones:\n  - name: a.example\n", "zones[0].file: missing required key");
	expect("zones:\n  - name: a.example\n    file: z.zone\n    primary: [ \"192.0.2.1\" ]\n",
	       "zones[0]: give either file or primary, not both");
	expect("zones:\n  - name: a.example\n    primary: [ \"192.0.2.1\" ]\n    key: nope\n",
	       "zones[0].key: unknown key \"nope\"");
	expect(ZONE_HEAD "    key: xfr-key\n", "zones[0].key: only with primary:");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_notify_key),
		cmocka_unit_test(test_catalog),
		cmocka_unit_test(test_secondary),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
