/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The zone text of a generated catalog (zone/catalog.h) for the snapshot
 * build, handed to the zone loader as a memory file so the catalog takes
 * the same path as every zone file.
 */
#pragma once

#include "conf/conf.h"
#include "zone/zone.h"

/*
 * For catalog `cz` of `conf`, whose serving version is `prev` (or NULL):
 * returns -1 with `*err` 0 when `prev` lists the same members (nothing to
 * load), else a readable descriptor at offset 0 holding the new catalog
 * text, its serial the Unix time or prev's plus one, whichever is later in
 * serial arithmetic (RFC 1982).  On failure, -1 and `*err` a VANE_E* code.
 */
int catalog_prepare(const struct vane_conf *conf, const struct conf_zone *cz,
		    const struct zone *prev, int *err);
