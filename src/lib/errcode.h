/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One error convention for all of Vane: 0 is success, failures are negative
 * VANE_E* codes.  Where an errno fits, the code is its negation, so a failed
 * syscall maps with `-errno`.
 */
#pragma once

#include <errno.h>

#define VANE_WUR __attribute__((warn_unused_result))

enum {
	VANE_EOK = 0,
	VANE_ENOMEM = -ENOMEM,
	VANE_EINVAL = -EINVAL,
	VANE_ENOENT = -ENOENT,
	VANE_EEXIST = -EEXIST,
	VANE_ERANGE = -ERANGE,
	VANE_EAGAIN = -EAGAIN,
	VANE_EBUSY = -EBUSY,
	VANE_ENOTSUP = -ENOTSUP,
	VANE_ETIMEDOUT = -ETIMEDOUT,
	VANE_ECONNREFUSED = -ECONNREFUSED,

	/* Vane-specific codes start far below errno space. */
	VANE_ESPACE = -1000, /* output buffer too small */
	VANE_EMALF,          /* malformed wire data */
	VANE_ELABEL,         /* label longer than 63 bytes */
	VANE_ENAMELEN,       /* name longer than 255 bytes */
	VANE_ELOOP,          /* compression pointer loop */
	VANE_ESYNTAX,        /* config or zone syntax error */
	VANE_ESEMANTIC,      /* zone semantic error */
	VANE_ENOZONE,        /* name not in any served zone */
};

/* Human text for a VANE_E* or negated errno code.  Never NULL. */
const char *vane_strerror(int code);
