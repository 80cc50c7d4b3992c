/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for zone/zonemd: the SIMPLE SHA-384 digest against the
 * examples of RFC 8976 Appendix A (the digests printed there), and the
 * apex ZONEMD that zonemd_add puts in place of any in the file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/pkt.h"
#include "zone/zone.h"
#include "zone/zonemd.h"

static struct zone *load_text(const char *origin, const char *text)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	fputs(text, f);
	fflush(f);
	rewind(f);
	struct zone *z = NULL;
	int ret = zone_load_fd(origin, "zonemd-test", fileno(f), NULL, NULL, &z);
	fclose(f);
	assert_int_equal(ret, 0);
	return z;
}

static void assert_digest(const struct zone *z, const char *want_hex)
{
	uint8_t d[ZONEMD_SHA384_LEN];
	char hex[2 * ZONEMD_SHA384_LEN + 1];
	assert_int_equal(zonemd_digest(z, d), 0);
	for (unsigned i = 0; i < ZONEMD_SHA384_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	assert_string_equal(hex, want_hex);
}

/* RFC 8976 A.1, the simple example zone. */
static const char simple_zone[] =
	"example.      86400  IN  SOA     ns1 admin 2018031900 (\n"
	"                                 1800 900 604800 86400 )\n"
	"              86400  IN  NS      ns1\n"
	"              86400  IN  NS      ns2\n"
	"              86400  IN  ZONEMD  2018031900 1 1 (\n"
	"                                 c68090d90a7aed71\n"
	"                                 6bc459f9340e3d7c\n"
	"                                 1370d4d24b7e2fc3\n"
	"                                 a1ddc0b9a87153b9\n"
	"                                 a9713b3c9ae5cc27\n"
	"                                 777f98b8e730044c )\n"
	"ns1           3600   IN  A       203.0.113.63\n"
	"ns2           3600   IN  AAAA    2001:db8::63\n";
#define SIMPLE_DIGEST "c68090d90a7aed716bc459f9340e3d7c1370d4d24b7e2fc3" \
		      "a1ddc0b9a87153b9a9713b3c9ae5cc27777f98b8e730044c"

/* RFC 8976 A.2, the complex example zone, less its one out-of-zone record
 * ("foo.test. TXT"): vaned refuses to load out-of-zone data, and the RFC
 * leaves it out of the digest anyway (3.3.1), so the digest is the same.
 * It has occluded data, duplicates, an upper-case owner, names to
 * lower-case in MX RDATA, a wildcard, RDATA to sort and a non-apex ZONEMD. */
static const char complex_zone[] =
	"example.      86400  IN  SOA     ns1 admin 2018031900 (\n"
	"                                 1800 900 604800 86400 )\n"
	"              86400  IN  NS      ns1\n"
	"              86400  IN  NS      ns2\n"
	"              86400  IN  ZONEMD  2018031900 1 1 (\n"
	"                                 a3b69bad980a3504\n"
	"                                 e1cffcb0fd6397f9\n"
	"                                 3848071c93151f55\n"
	"                                 2ae2f6b1711d4bd2\n"
	"                                 d8b39808226d7b9d\n"
	"                                 b71e34b72077f8fe )\n"
	"ns1           3600   IN  A       203.0.113.63\n"
	"NS2           3600   IN  AAAA    2001:db8::63\n"
	"occluded.sub  7200   IN  TXT     \"I'm occluded but must be digested\"\n"
	"sub           7200   IN  NS      ns1\n"
	"duplicate     300    IN  TXT     \"I must be digested just once\"\n"
	"duplicate     300    IN  TXT     \"I must be digested just once\"\n"
	"UPPERCASE     3600   IN  TXT     \"canonicalize uppercase owner names\"\n"
	"*             777    IN  PTR     dont-forget-about-wildcards\n"
	"mail          3600   IN  MX      20 MAIL1\n"
	"mail          3600   IN  MX      10 Mail2.Example.\n"
	"sortme        3600   IN  AAAA    2001:db8::5:61\n"
	"sortme        3600   IN  AAAA    2001:db8::3:62\n"
	"sortme        3600   IN  AAAA    2001:db8::4:63\n"
	"sortme        3600   IN  AAAA    2001:db8::1:65\n"
	"sortme        3600   IN  AAAA    2001:db8::2:64\n"
	"non-apex      900    IN  ZONEMD  2018031900 1 1 (\n"
	"                                 616c6c6f77656420\n"
	"                                 6275742069676e6f\n"
	"                                 7265642e20616c6c\n"
	"                                 6f77656420627574\n"
	"                                 2069676e6f726564\n"
	"                                 2e20616c6c6f7765 )\n";
#define COMPLEX_DIGEST "a3b69bad980a3504e1cffcb0fd6397f93848071c93151f55" \
		       "2ae2f6b1711d4bd2d8b39808226d7b9db71e34b72077f8fe"

/* RFC 8976 A.3: several apex ZONEMDs, all left out; the SHA-384 one. */
static const char multiple_zone[] =
	"example.      86400  IN  SOA     ns1 admin 2018031900 (\n"
	"                                 1800 900 604800 86400 )\n"
	"example.      86400  IN  NS      ns1.example.\n"
	"example.      86400  IN  NS      ns2.example.\n"
	"example.      86400  IN  ZONEMD  2018031900 1 1 (\n"
	"                                 62e6cf51b02e54b9\n"
	"                                 b5f967d547ce4313\n"
	"                                 6792901f9f88e637\n"
	"                                 493daaf401c92c27\n"
	"                                 9dd10f0edb1c56f8\n"
	"                                 080211f8480ee306 )\n"
	"example.      86400  IN  ZONEMD  2018031900 1 240 (\n"
	"                                 e2d523f654b9422a\n"
	"                                 96c5a8f44607bbee )\n"
	"ns1.example.  3600   IN  A       203.0.113.63\n"
	"ns2.example.  86400  IN  TXT     \"This example has multiple digests\"\n"
	"NS2.EXAMPLE.  3600   IN  AAAA    2001:db8::63\n";
#define MULTIPLE_DIGEST "62e6cf51b02e54b9b5f967d547ce43136792901f9f88e637" \
			"493daaf401c92c279dd10f0edb1c56f8080211f8480ee306"

static void test_rfc8976_vectors(void **state)
{
	struct zone *z = load_text("example.", simple_zone);
	assert_digest(z, SIMPLE_DIGEST);
	zone_unref(z);
	z = load_text("example.", complex_zone);
	assert_digest(z, COMPLEX_DIGEST);
	zone_unref(z);
	z = load_text("example.", multiple_zone);
	assert_digest(z, MULTIPLE_DIGEST);
	zone_unref(z);
}

/* Any change to the data changes the digest; a change to the apex ZONEMD
 * alone does not (it is left out). */
static void test_digest_moves(void **state)
{
	char text[sizeof(simple_zone) + 64];
	snprintf(text, sizeof(text), "%s", simple_zone);
	char *p = strstr(text, "203.0.113.63");
	p[11] = '4';
	struct zone *z = load_text("example.", text);
	uint8_t d[ZONEMD_SHA384_LEN];
	assert_int_equal(zonemd_digest(z, d), 0);
	zone_unref(z);
	uint8_t want[ZONEMD_SHA384_LEN];
	z = load_text("example.", simple_zone);
	assert_int_equal(zonemd_digest(z, want), 0);
	zone_unref(z);
	assert_memory_not_equal(d, want, sizeof(d));

	snprintf(text, sizeof(text), "%s", simple_zone);
	p = strstr(text, "c68090d90a7aed71");
	memcpy(p, "0000000000000000", 16);
	z = load_text("example.", text);
	assert_digest(z, SIMPLE_DIGEST);
	zone_unref(z);
}

/* zonemd_add: one apex ZONEMD, SIMPLE/SHA-384, in place of the file's
 * (the A.3 zone has two), with the SOA serial and TTL. */
static void test_add(void **state)
{
	struct zone *z = load_text("example.", multiple_zone);
	unsigned before = z->nrecords;
	assert_int_equal(zonemd_add(z), 0);
	assert_int_equal(z->nrecords, before - 1);
	const struct rrset *md = znode_rrset(z->apex_node, ZONEMD_TYPE);
	assert_non_null(md);
	assert_int_equal(md->count, 1);
	assert_int_equal(md->ttl, 86400);
	assert_int_equal(md->rdata_len, 2 + 6 + ZONEMD_SHA384_LEN);
	static const uint8_t head[] = { 0, 54, 0x78, 0x48, 0xb9, 0x1c, 1, 1, 0x62, 0xe6 };
	assert_memory_equal(md->rdata, head, sizeof(head));
	/* The SOA moved with the array and the digest still covers the rest. */
	assert_int_equal(z->soa->type, DNS_SOA);
	assert_int_equal(z->serial, 2018031900);
	assert_digest(z, MULTIPLE_DIGEST);
	/* Types stay in order: NS, SOA, ZONEMD. */
	for (unsigned i = 1; i < z->apex_node->rrset_count; i++)
		assert_true(z->apex_node->rrsets[i - 1].type < z->apex_node->rrsets[i].type);
	zone_unref(z);

	/* A zone without one gets one. */
	z = load_text("example.", "example. 300 IN SOA ns1 admin 7 1 1 1 1\n"
			"example. 300 IN NS ns1\nns1 300 IN A 192.0.2.1\n");
	assert_null(znode_rrset(z->apex_node, ZONEMD_TYPE));
	assert_int_equal(zonemd_add(z), 0);
	assert_non_null(znode_rrset(z->apex_node, ZONEMD_TYPE));
	assert_int_equal(z->nrecords, 4);
	zone_unref(z);
}

/* Names whose sort keys run past the inline prefix, and labels holding a
 * 0 byte (which take the exact comparison): digests from dnspython 2.3's
 * Zone.compute_digest over the same text, an independent implementation. */
static const char order_zone[] =
	"example. 300 IN SOA ns1 admin 7 1 1 1 1\n"
	"example. 300 IN NS ns1\n"
	"ns1 300 IN A 192.0.2.1\n"
	"ab 300 IN TXT \"plain\"\n"
	"a 300 IN TXT \"short\"\n"
	"averyveryverylonglabelname.deeper 300 IN TXT \"long\"\n"
	"averyveryverylonglabelnamf 300 IN TXT \"long2\"\n";
static const char zero_label_lines[] =
	"a\\000b 300 IN TXT \"zero byte label\"\n"
	"z\\000 300 IN A 192.0.2.2\n";

static void test_canonical_order(void **state)
{
	struct zone *z = load_text("example.", order_zone);
	assert_digest(z, "8386b6d93e85a278bc5a9c245fcca47bfa3d8acf3aad9c95"
			 "b4c55404d27d3c6529cf6cc6eaf2fcd246dff980863c2cbe");
	zone_unref(z);
	char text[sizeof(order_zone) + sizeof(zero_label_lines)];
	snprintf(text, sizeof(text), "%s%s", order_zone, zero_label_lines);
	z = load_text("example.", text);
	assert_digest(z, "848c21c602366340ffcd0cd1459a6db864f5dd385140b197"
			 "05ffa739c052645b7d2159c9efa6a5a860c7e32e5827ea66");
	zone_unref(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8976_vectors),
		cmocka_unit_test(test_digest_moves),
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_canonical_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
