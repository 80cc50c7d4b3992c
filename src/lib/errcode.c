/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>

#include "lib/errcode.h"

const char *vane_strerror(int code)
{
	switch (code) {
	case VANE_EOK:       return "ok";
	case VANE_ESPACE:    return "not enough space";
	case VANE_EMALF:     return "malformed data";
	case VANE_ELABEL:    return "label longer than 63 bytes";
	case VANE_ENAMELEN:  return "name longer than 255 bytes";
	case VANE_ELOOP:     return "compression pointer loop";
	case VANE_ESYNTAX:   return "syntax error";
	case VANE_ESEMANTIC: return "semantic error";
	case VANE_ENOZONE:   return "name not in any served zone";
	}
	if (code < 0 && code > -4096)
		return strerror(-code);
	return "unknown error";
}
