/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for lib/dname: wire unpacking with compression (RFC 1035 4.1.4),
 * presentation form in both directions, and the name predicates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/dname.h"

/* Assert that `str` parses (absolute, no origin) to exactly `wire`. */
#define assert_from_str(str, wire)                                          \
	do {                                                                \
		uint8_t out_[DNAME_MAXLEN];                                 \
		int r_ = dname_from_str((str), NULL, out_);                 \
		assert_int_equal(r_, (int)sizeof(wire) - 1);                \
		assert_memory_equal(out_, (wire), sizeof(wire) - 1);        \
	} while (0)

/* Build a wire name of `nlabels` labels of `llen` 'a' bytes each. */
static size_t make_long_name(uint8_t *out, unsigned nlabels, uint8_t llen)
{
	size_t o = 0;
	for (unsigned i = 0; i < nlabels; i++) {
		out[o++] = llen;
		memset(out + o, 'a', llen);
		o += llen;
	}
	out[o++] = 0;
	return o;
}

/* --- dname_unpack ------------------------------------------------------- */

static void unpack_plain(void **state)
{
	const uint8_t pkt[] = "\x03www\x07" "example\x03" "com\x00" "XY";
	uint8_t out[DNAME_MAXLEN];
	size_t off = 0;
	int r = dname_unpack(pkt, sizeof(pkt) - 1, &off, out, false);
	assert_int_equal(r, 17);
	assert_int_equal(off, 17);
	assert_memory_equal(out, pkt, 17);
}

static void unpack_root(void **state)
{
	const uint8_t pkt[] = { 0 };
	uint8_t out[DNAME_MAXLEN];
	size_t off = 0;
	assert_int_equal(dname_unpack(pkt, 1, &off, out, true), 1);
	assert_int_equal(off, 1);
	assert_int_equal(out[0], 0);
}

static void unpack_lowercases(void **state)
{
	const uint8_t pkt[] = "\x03WwW\x07" "ExAmPlE\x03" "COM\x00";
	const uint8_t want[] = "\x03www\x07" "example\x03" "com\x00";
	uint8_t out[DNAME_MAXLEN];
	size_t off = 0;
	assert_int_equal(dname_unpack(pkt, sizeof(pkt) - 1, &off, out, true), 17);
	assert_memory_equal(out, want, 17);

	/* Without `lower` the case is preserved. */
	off = 0;
	assert_int_equal(dname_unpack(pkt, sizeof(pkt) - 1, &off, out, false), 17);
	assert_memory_equal(out, pkt, 17);

	/* Only ASCII letters fold (RFC 4343 2). */
	const uint8_t bin[] = "\x03\xC4@[\x00";
	off = 0;
	assert_int_equal(dname_unpack(bin, 5, &off, out, true), 5);
	assert_memory_equal(out, bin, 5);
}

static void unpack_compressed(void **state)
{
	/* offset 0: example.com.  offset 13: www + ptr(0)  offset 19: ptr(13) */
	const uint8_t pkt[] = "\x07" "example\x03" "com\x00"
			      "\x03" "www\xC0\x00"
			      "\xC0\x0D" "Z";
	const uint8_t want[] = "\x03www\x07" "example\x03" "com\x00";
	uint8_t out[DNAME_MAXLEN];

	size_t off = 13;
	int r = dname_unpack(pkt, sizeof(pkt) - 1, &off, out, false);
	assert_int_equal(r, 17);
	assert_memory_equal(out, want, 17);
	assert_int_equal(off, 19); /* just past the pointer, not the target */

	/* A chain of two backward pointers. */
	off = 19;
	r = dname_unpack(pkt, sizeof(pkt) - 1, &off, out, false);
	assert_int_equal(r, 17);
	assert_memory_equal(out, want, 17);
	assert_int_equal(off, 21);
}

static void unpack_forward_pointer(void **state)
{
	/* ptr at 0 -> 2 (forward) */
	const uint8_t pkt[] = "\xC0\x02\x03" "com\x00";
	uint8_t out[DNAME_MAXLEN];
	size_t off = 0;
	assert_int_equal(dname_unpack(pkt, sizeof(pkt) - 1, &off, out, false),
			 VANE_ELOOP);
	assert_int_equal(off, 0); /* untouched on error */
}

static void unpack_self_pointer(void **state)
{
	const uint8_t pkt[] = "\x01" "a\xC0\x00"; /* "a" + pointer to itself */
	uint8_t out[DNAME_MAXLEN];
	size_t off = 0;
	assert_int_equal(dname_unpack(pkt, 4, &off, out, false), VANE_ELOOP);

	const uint8_t self[] = "\xC0\x00";
	off = 0;
	assert_int_equal(dname_unpack(self, 2, &off, out, false), VANE_ELOOP);
}

static void unpack_pointer_loop(void **state)
{
	/* 0: ptr->2; 2: ptr->0.  Starting at 2 the first jump is backwards,
	 * the second goes forward again and must be refused. */
	const uint8_t pkt[] = "\xC0\x02\xC0\x00";
	uint8_t out[DNAME_MAXLEN];
	size_t off = 2;
	assert_int_equal(dname_unpack(pkt, 4, &off, out, false), VANE_ELOOP);
}

static void unpack_pointer_into_own_name(void **state)
{
	/* "x" label then a pointer back to the start of the same name. */
	const uint8_t pkt[] = "\x00\x01x\xC0\x01";
	uint8_t out[DNAME_MAXLEN];
	size_t off = 1;
	assert_int_equal(dname_unpack(pkt, 5, &off, out, false), VANE_ELOOP);
}

static void unpack_truncated(void **state)
{
	uint8_t out[DNAME_MAXLEN];
	size_t off;

	const uint8_t nolabel[] = "\x03" "www\x03" "co"; /* label runs off */
	off = 0;
	assert_int_equal(dname_unpack(nolabel, 7, &off, out, false), VANE_EMALF);

	const uint8_t noroot[] = "\x03" "www"; /* missing root label */
	off = 0;
	assert_int_equal(dname_unpack(noroot, 4, &off, out, false), VANE_EMALF);

	const uint8_t halfptr[] = "\x03" "www\xC0"; /* pointer cut in half */
	off = 0;
	assert_int_equal(dname_unpack(halfptr, 5, &off, out, false), VANE_EMALF);

	off = 0;
	assert_int_equal(dname_unpack(noroot, 0, &off, out, false), VANE_EMALF);

	off = 5; /* start past the end */
	assert_int_equal(dname_unpack(noroot, 4, &off, out, false), VANE_EMALF);
}

static void unpack_label_too_long(void **state)
{
	/* 64..191 as a length byte sets the 01 or 10 type bits: not a label. */
	uint8_t pkt[80] = { 64 };
	memset(pkt + 1, 'a', 64);
	pkt[65] = 0;
	uint8_t out[DNAME_MAXLEN];
	size_t off = 0;
	assert_int_equal(dname_unpack(pkt, 66, &off, out, false), VANE_EMALF);

	pkt[0] = 0x80;
	off = 0;
	assert_int_equal(dname_unpack(pkt, 66, &off, out, false), VANE_EMALF);

	/* 63 is the longest legal label. */
	pkt[0] = 63;
	pkt[64] = 0;
	off = 0;
	assert_int_equal(dname_unpack(pkt, 65, &off, out, false), 65);
}

static void unpack_name_too_long(void **state)
{
	uint8_t pkt[600];
	uint8_t out[DNAME_MAXLEN];
	size_t off;

	/* 4 x 63-byte labels = 256 bytes + root = 257: too long. */
	size_t n = make_long_name(pkt, 4, 63);
	off = 0;
	assert_int_equal(dname_unpack(pkt, n, &off, out, false), VANE_ENAMELEN);

	/* 3 x 63 + 1 x 61 = 254 + root = 255: exactly the maximum. */
	n = make_long_name(pkt, 3, 63);
	pkt[n - 1] = 61;
	memset(pkt + n, 'b', 61);
	n += 61;
	pkt[n++] = 0;
	assert_int_equal(n, 255);
	off = 0;
	assert_int_equal(dname_unpack(pkt, n, &off, out, false), 255);
	assert_memory_equal(out, pkt, 255);

	/* One more byte in the last label: 256. */
	n = make_long_name(pkt, 3, 63);
	pkt[n - 1] = 62;
	memset(pkt + n, 'b', 62);
	n += 62;
	pkt[n++] = 0;
	off = 0;
	assert_int_equal(dname_unpack(pkt, n, &off, out, false), VANE_ENAMELEN);

	/* Too long only once pointers are followed. */
	n = make_long_name(pkt, 2, 63);       /* 129 bytes at 0 */
	size_t second = n;
	n += make_long_name(pkt + n, 2, 63) - 1; /* 2 more labels ... */
	pkt[n++] = 0xC0;                      /* ... then ptr -> 0 */
	pkt[n++] = 0x00;
	off = second;
	assert_int_equal(dname_unpack(pkt, n, &off, out, false), VANE_ENAMELEN);
}

static void unpack_many_pointers(void **state)
{
	/* Each name "a" + pointer to the previous one; long chains of
	 * backward pointers are fine until the name itself gets too long. */
	uint8_t pkt[1024];
	uint8_t out[DNAME_MAXLEN];
	size_t n = 0, prev = 0;
	pkt[n++] = 0;
	for (int i = 0; i < 127; i++) {
		size_t here = n;
		pkt[n++] = 1;
		pkt[n++] = 'a';
		pkt[n++] = (uint8_t)(0xC0 | prev >> 8);
		pkt[n++] = (uint8_t)prev;
		prev = here;
	}
	size_t off = prev;
	assert_int_equal(dname_unpack(pkt, n, &off, out, false), 127 * 2 + 1);
	assert_int_equal(off, n);
	assert_int_equal(dname_labels(out), 127);

	/* One more label would make 257 bytes. */
	size_t here = n;
	pkt[n++] = 1;
	pkt[n++] = 'a';
	pkt[n++] = (uint8_t)(0xC0 | prev >> 8);
	pkt[n++] = (uint8_t)prev;
	off = here;
	assert_int_equal(dname_unpack(pkt, n, &off, out, false), VANE_ENAMELEN);
}

/* --- dname_from_str / dname_to_str ---------------------------------- */

static void from_str_absolute(void **state)
{
	assert_from_str("www.example.com.", "\x03www\x07" "example\x03" "com\x00");
	assert_from_str(".", "\x00");
	/* Case is preserved; lower-casing is a separate step. */
	assert_from_str("WwW.Com.", "\x03WwW\x03" "Com\x00");
}

static void from_str_relative(void **state)
{
	const uint8_t origin[] = "\x07" "example\x03" "com";
	uint8_t out[DNAME_MAXLEN];

	int r = dname_from_str("www", origin, out);
	assert_int_equal(r, 17);
	assert_memory_equal(out, "\x03www\x07" "example\x03" "com", 17);

	r = dname_from_str("a.b", origin, out);
	assert_int_equal(r, 17);
	assert_memory_equal(out, "\x01" "a\x01" "b\x07" "example\x03" "com", 17);

	/* An absolute name ignores the origin. */
	r = dname_from_str("www.org.", origin, out);
	assert_int_equal(r, 9);
	assert_memory_equal(out, "\x03www\x03org", 9);

	/* "@" and "" are the origin itself. */
	assert_int_equal(dname_from_str("@", origin, out), 13);
	assert_memory_equal(out, origin, 13);
	assert_int_equal(dname_from_str("", origin, out), 13);
	assert_memory_equal(out, origin, 13);

	/* Without an origin, relative names are relative to the root. */
	r = dname_from_str("www", NULL, out);
	assert_int_equal(r, 5);
	assert_memory_equal(out, "\x03www", 5);
	assert_int_equal(dname_from_str("@", NULL, out), 1);
	assert_int_equal(out[0], 0);
}

static void from_str_escapes(void **state)
{
	/* \. is a dot inside a label, \\ a backslash, \DDD a decimal byte. */
	assert_from_str("a\\.b.com.", "\x03" "a.b\x03" "com\x00");
	assert_from_str("a\\\\b.", "\x03" "a\\b\x00");
	assert_from_str("\\065\\000\\255.", "\x03" "A\x00\xFF\x00");
	assert_from_str("\\032x.", "\x02 x\x00");
	assert_from_str("\\@.", "\x01@\x00");
}

static void from_str_errors(void **state)
{
	uint8_t out[DNAME_MAXLEN];
	char buf[600];

	assert_int_equal(dname_from_str("a..b.", NULL, out), VANE_EMALF);
	assert_int_equal(dname_from_str(".a.", NULL, out), VANE_EMALF);
	assert_int_equal(dname_from_str("..", NULL, out), VANE_EMALF);
	assert_int_equal(dname_from_str("a\\", NULL, out), VANE_EMALF);
	assert_int_equal(dname_from_str("\\256.", NULL, out), VANE_EMALF);
	assert_int_equal(dname_from_str("\\999.", NULL, out), VANE_EMALF);

	/* 63-byte label fine, 64 not. */
	memset(buf, 'a', 63);
	strcpy(buf + 63, ".");
	assert_int_equal(dname_from_str(buf, NULL, out), 65);
	memset(buf, 'a', 64);
	strcpy(buf + 64, ".");
	assert_int_equal(dname_from_str(buf, NULL, out), VANE_ELABEL);

	/* Name length: 4 x 63 labels is 257 bytes in wire form. */
	size_t o = 0;
	for (int i = 0; i < 4; i++) {
		memset(buf + o, 'a', 63);
		o += 63;
		buf[o++] = '.';
	}
	buf[o] = '\0';
	assert_int_equal(dname_from_str(buf, NULL, out), VANE_ENAMELEN);

	/* 3 x 63 + 61 = 255 exactly. */
	o = 0;
	for (int i = 0; i < 3; i++) {
		memset(buf + o, 'a', 63);
		o += 63;
		buf[o++] = '.';
	}
	memset(buf + o, 'b', 61);
	o += 61;
	strcpy(buf + o, ".");
	assert_int_equal(dname_from_str(buf, NULL, out), 255);
	/* The same name, relative to the root, is also 255. */
	buf[o] = '\0';
	assert_int_equal(dname_from_str(buf, NULL, out), 255);
	/* One byte more: too long either way. */
	strcpy(buf + o, "b.");
	assert_int_equal(dname_from_str(buf, NULL, out), VANE_ENAMELEN);
	buf[o + 1] = '\0';
	assert_int_equal(dname_from_str(buf, NULL, out), VANE_ENAMELEN);

	/* A relative name that becomes too long with its origin. */
	uint8_t origin[DNAME_MAXLEN];
	make_long_name(origin, 3, 63); /* 193 bytes */
	memset(buf, 'c', 62);
	buf[62] = '\0';                /* 63 bytes + 193 = 256 */
	assert_int_equal(dname_from_str(buf, origin, out), VANE_ENAMELEN);
	buf[61] = '\0';                /* 62 + 193 = 255 */
	assert_int_equal(dname_from_str(buf, origin, out), 255);
}

static void to_str(void **state)
{
	char buf[DNAME_MAXSTR];

	assert_string_equal(dname_to_str((const uint8_t *)"\x00", buf, sizeof(buf)), ".");
	assert_string_equal(dname_to_str((const uint8_t *)"\x03www\x07" "Example\x03" "com",
					 buf, sizeof(buf)), "www.Example.com.");
	/* Special and non-printable bytes are escaped. */
	assert_string_equal(dname_to_str((const uint8_t *)"\x03" "a.b\x02\\\x01\x03" "com",
					 buf, sizeof(buf)), "a\\.b.\\\\\\001.com.");
	assert_string_equal(dname_to_str((const uint8_t *)"\x02 \xFF", buf, sizeof(buf)),
			    "\\032\\255.");

	/* A tiny buffer truncates but stays terminated. */
	char small[6];
	dname_to_str((const uint8_t *)"\x07" "example\x03" "com", small, sizeof(small));
	assert_true(strlen(small) < sizeof(small));
}

static void str_round_trip(void **state)
{
	/* Mostly bytes that need escaping, up to 4 presentation bytes each. */
	uint8_t name[DNAME_MAXLEN];
	size_t o = 0;
	unsigned c = 0;
	while (o + 64 <= 254) {
		name[o++] = 63;
		for (int i = 0; i < 63; i++)
			name[o++] = (uint8_t)(c++ % 256);
	}
	name[o++] = 0;
	char buf[DNAME_MAXSTR];
	dname_to_str(name, buf, sizeof(buf));
	uint8_t back[DNAME_MAXLEN];
	assert_int_equal(dname_from_str(buf, NULL, back), (int)o);
	assert_memory_equal(back, name, o);

	const char *plain = "MiXeD.case.Example.";
	assert_int_equal(dname_from_str(plain, NULL, back), 20);
	assert_string_equal(dname_to_str(back, buf, sizeof(buf)), plain);
}

/* --- predicates ------------------------------------------------------- */

static void labels_and_len(void **state)
{
	assert_int_equal(dname_labels((const uint8_t *)"\x00"), 0);
	assert_int_equal(dname_labels((const uint8_t *)"\x03" "com"), 1);
	assert_int_equal(dname_labels((const uint8_t *)"\x03www\x07" "example\x03" "com"), 3);
	assert_int_equal(dname_len((const uint8_t *)"\x00"), 1);
	assert_int_equal(dname_len((const uint8_t *)"\x03www\x07" "example\x03" "com"), 17);
}

static void lower(void **state)
{
	uint8_t name[] = "\x03WwW\x03" "C\xC4M";
	dname_lower(name);
	assert_memory_equal(name, "\x03www\x03" "c\xC4m", 9);
}

static void equal(void **state)
{
	const uint8_t *a = (const uint8_t *)"\x03www\x07" "example\x03" "com";
	assert_true(dname_equal(a, (const uint8_t *)"\x03WWW\x07" "ExAmple\x03" "COM"));
	assert_true(dname_equal((const uint8_t *)"", (const uint8_t *)""));
	assert_false(dname_equal(a, (const uint8_t *)"\x07" "example\x03" "com"));
	assert_false(dname_equal(a, (const uint8_t *)"\x03wwx\x07" "example\x03" "com"));
	/* Same bytes, different label boundaries. */
	assert_false(dname_equal((const uint8_t *)"\x02" "ab\x01" "c",
				 (const uint8_t *)"\x01" "a\x02" "bc"));
	/* Only ASCII letters are folded: '@' (0x40) vs '`' (0x60). */
	assert_false(dname_equal((const uint8_t *)"\x01@", (const uint8_t *)"\x01`"));
}

static void is_sub(void **state)
{
	const uint8_t *com = (const uint8_t *)"\x03" "com";
	const uint8_t *ex = (const uint8_t *)"\x07" "example\x03" "com";
	const uint8_t *www = (const uint8_t *)"\x03www\x07" "example\x03" "com";
	const uint8_t *root = (const uint8_t *)"";

	assert_true(dname_is_sub(www, ex));
	assert_true(dname_is_sub(www, com));
	assert_true(dname_is_sub(www, root));
	assert_true(dname_is_sub(ex, ex));
	assert_true(dname_is_sub(root, root));
	assert_false(dname_is_sub(ex, www));
	assert_false(dname_is_sub(root, com));
	/* A suffix of the text is not a parent: "notexample.com" vs "example.com". */
	assert_false(dname_is_sub((const uint8_t *)"\x0a" "notexample\x03" "com", ex));
	assert_false(dname_is_sub(www, (const uint8_t *)"\x03" "org"));
}

static void parent_and_wildcard(void **state)
{
	const uint8_t *www = (const uint8_t *)"\x03www\x07" "example\x03" "com";
	assert_memory_equal(dname_parent(www), "\x07" "example\x03" "com", 13);
	const uint8_t *root = (const uint8_t *)"";
	assert_ptr_equal(dname_parent(root), root);
	assert_true(dname_is_wildcard((const uint8_t *)"\x01*\x03" "com"));
	assert_false(dname_is_wildcard((const uint8_t *)"\x02*a\x03" "com"));
	assert_false(dname_is_wildcard(www));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unpack_plain),
		cmocka_unit_test(unpack_root),
		cmocka_unit_test(unpack_lowercases),
		cmocka_unit_test(unpack_compressed),
		cmocka_unit_test(unpack_forward_pointer),
		cmocka_unit_test(unpack_self_pointer),
		cmocka_unit_test(unpack_pointer_loop),
		cmocka_unit_test(unpack_pointer_into_own_name),
		cmocka_unit_test(unpack_truncated),
		cmocka_unit_test(unpack_label_too_long),
		cmocka_unit_test(unpack_name_too_long),
		cmocka_unit_test(unpack_many_pointers),
		cmocka_unit_test(from_str_absolute),
		cmocka_unit_test(from_str_relative),
		cmocka_unit_test(from_str_escapes),
		cmocka_unit_test(from_str_errors),
		cmocka_unit_test(to_str),
		cmocka_unit_test(str_round_trip),
		cmocka_unit_test(labels_and_len),
		cmocka_unit_test(lower),
		cmocka_unit_test(equal),
		cmocka_unit_test(is_sub),
		cmocka_unit_test(parent_and_wildcard),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
