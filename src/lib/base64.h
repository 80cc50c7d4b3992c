/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Base64 (RFC 4648 4) decoding for key secrets in the configuration.
 * Whitespace is skipped so that secrets may be wrapped; padding is optional.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/errcode.h"

/* Decode `in` into `out` (`cap` bytes).  Returns the decoded length, or
 * VANE_EINVAL (bad character or length) or VANE_ESPACE. */
int base64_decode(const char *in, uint8_t *out, size_t cap) VANE_WUR;
