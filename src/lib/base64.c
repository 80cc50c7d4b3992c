/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <ctype.h>

#include "lib/base64.h"

static int b64_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_decode(const char *in, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	unsigned bits = 0, pad = 0;
	size_t n = 0;
	for (const char *p = in; *p; p++) {
		if (isspace((unsigned char)*p))
			continue;
		if (*p == '=') {
			pad++;
			continue;
		}
		int v = b64_val((unsigned char)*p);
		if (v < 0 || pad > 0)
			return VANE_EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= cap)
				return VANE_ESPACE;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	/* Leftover bits must be the zero padding of the last quantum. */
	if (bits >= 6 || pad > 2 || (acc & ((1u << bits) - 1)) != 0)
		return VANE_EINVAL;
	return (int)n;
}
