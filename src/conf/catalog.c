/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Rules of catalog zones (RFC 9432) across `zones:` entries: a generated
 * catalog, which has no file, gets CONF_CATALOG_FILE for messages, and
 * catalog-zone names a catalog of this file.
 */
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/schema.h"
#include "lib/report.h"

static const struct conf_zone *zone_named(const struct vane_conf *conf, const char *name)
{
	for (unsigned i = 0; i < conf->nzones; i++)
		if (strcmp(conf->zones[i].name, name) == 0)
			return &conf->zones[i];
	return NULL;
}

unsigned conf_check_catalog(struct vane_conf *conf, const char *file, vane_report_fn err,
			    void *ctx)
{
	struct report v = { .file = file, .fn = err, .ctx = ctx };
	for (unsigned z = 0; z < conf->nzones; z++) {
		struct conf_zone *cz = &conf->zones[z];
		cz->catalog = cz->catalog_role && strcmp(cz->catalog_role, "generate") == 0;
		/* The schema checked that it has no file (check_zone_file). */
		if (cz->catalog && !cz->file && !(cz->file = strdup(CONF_CATALOG_FILE)))
			report_error(&v, cz->line, "out of memory");
	}
	for (unsigned z = 0; z < conf->nzones; z++) {
		const struct conf_zone *cz = &conf->zones[z];
		if (!cz->catalog_zone)
			continue;
		const struct conf_zone *cat = zone_named(conf, cz->catalog_zone);
		if (cz->catalog)
			report_error(&v, cz->line, "zones[%u].catalog-zone: a catalog is not a "
				     "member of a catalog here", z);
		else if (!cat || !cat->catalog)
			report_error(&v, cz->line, "zones[%u].catalog-zone: \"%.64s\" is not a zone "
				     "with catalog-role: generate", z, cz->catalog_zone);
	}
	return v.errors;
}
