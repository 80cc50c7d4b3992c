/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vaned: the Vane authoritative DNS server.  Option parsing only. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "server/server.h"
#include "server/vane_version.h"
#include "geo/geo.h"
#include "steer/build.h"
#include "steer/latency_load.h"
#include "zone/zone.h"
#include "zone/zonedb.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: vaned -c FILE [--check]\n"
		"\n"
		"Vane authoritative DNS server; runs in the foreground, logs to stderr.\n"
		"\n"
		"  -c, --config FILE  configuration file (YAML)\n"
		"      --check        validate the configuration and every zone, then exit\n"
		"      --config-reference man|md\n"
		"                     print the configuration reference (vaned.conf(5))\n"
		"  -h, --help         show this help\n"
		"  -V, --version      show the version\n"
		"\n"
		"Signals: SIGHUP reloads the configuration and zones; SIGTERM/SIGINT stop.\n");
}

struct check_ctx {
	unsigned errors;
};

static void print_err(void *ctx, const char *file, unsigned long line, const char *msg)
{
	struct check_ctx *c = ctx;
	if (line > 0)
		fprintf(stderr, "%s:%lu: %s\n", file ? file : "-", line, msg);
	else
		fprintf(stderr, "%s: %s\n", file ? file : "-", msg);
	c->errors++;
}

/* Services against the loaded zones, then the geo database and latency
 * table they need: the same checks a reload makes (see snapshot.c). */
static unsigned check_steering(const struct vane_conf *conf, struct zone **zones,
			       unsigned nz, struct check_ctx *ctx)
{
	struct zone_db *db = NULL;
	struct steer_build b = { 0 };
	unsigned failed = 0;
	if (zone_db_new(zones, nz, &db) != 0) {
		fprintf(stderr, "%s: cannot index the zones\n", conf->path);
		return 1;
	}
	if (steer_build(conf, db, print_err, ctx, &b) != 0) {
		fprintf(stderr, "%s: services failed to build\n", conf->path);
		failed = 1;
	} else {
		struct geo_db *geo = NULL;
		struct steer_latency_table *lat = NULL;
		if ((conf->geo_database || conf->geo_nets || b.set) &&
		    geo_open(conf->geo_database, conf->geo_nets, &geo, print_err, ctx) != 0) {
			fprintf(stderr, "%s: cannot open the geo database\n", conf->path);
			failed = 1;
		}
		if (conf->latency_file &&
		    steer_latency_load(conf->latency_file, b.set, print_err, ctx, &lat) != 0) {
			fprintf(stderr, "%s: cannot load the latency table\n", conf->latency_file);
			failed = 1;
		}
		geo_close(geo);
		steer_latency_free(lat);
	}
	steer_build_free(&b);
	zone_db_free(db);
	return failed;
}

/* --check: the config, then every zone, then services, reporting all problems. */
static int check(const char *path)
{
	struct check_ctx ctx = { 0 };
	struct vane_conf *conf = NULL;
	if (conf_load(path, print_err, &ctx, &conf) != 0) {
		if (ctx.errors == 0)
			fprintf(stderr, "%s: cannot load configuration\n", path);
		return 1;
	}
	struct zone **zones = calloc(conf->nzones ? conf->nzones : 1, sizeof(*zones));
	unsigned bad = 0, records = 0, nz = 0;
	if (!zones) {
		conf_free(conf);
		return 1;
	}
	for (unsigned i = 0; i < conf->nzones; i++) {
		struct zone *z = NULL;
		unsigned before = ctx.errors;
		int ret = zone_load(conf->zones[i].name, conf->zones[i].file, print_err, &ctx, &z);
		if (ret != 0) {
			if (ctx.errors == before)
				fprintf(stderr, "%s: %s\n", conf->zones[i].file, vane_strerror(ret));
			bad++;
			continue;
		}
		records += z->nrecords;
		zones[nz++] = z;
	}
	int status = 0;
	if (bad > 0) {
		fprintf(stderr, "%s: %u of %u zones failed\n", path, bad, conf->nzones);
		status = 1;
	} else if (check_steering(conf, zones, nz, &ctx) != 0) {
		status = 1;
	} else {
		printf("%s: configuration OK, %u zones, %u records, %u services\n", path,
		       conf->nzones, records, conf->nservices);
	}
	for (unsigned i = 0; i < nz; i++)
		zone_unref(zones[i]);
	free(zones);
	conf_free(conf);
	return status;
}

/* vaned.conf(5) comes from the schema table, so it cannot drift. */
static int config_reference(const char *format)
{
	if (strcmp(format, "man") == 0) {
		printf(".TH VANED.CONF 5 \"\" \"vane %s\" \"Vane\"\n"
		       ".SH NAME\nvaned.conf \\- configuration file of vaned(8)\n"
		       ".SH DESCRIPTION\n"
		       "vaned reads one YAML file given with \\fB-c\\fR.  Unknown keys and "
		       "bad values are errors that name the key and the line; nothing is "
		       "ignored.  Relative paths are relative to the directory of the "
		       "configuration file.  Durations take ms, s, m, h or d; a bare number "
		       "is seconds.  \\fBvaned --check -c FILE\\fR validates a file and every "
		       "zone it names.\n", VANE_VERSION);
		conf_write_reference(stdout, "man");
		printf(".SH SEE ALSO\nvaned(8), vanectl(8)\n");
		return 0;
	}
	if (strcmp(format, "md") == 0) {
		printf("# vaned.conf reference\n\n");
		conf_write_reference(stdout, "md");
		return 0;
	}
	fprintf(stderr, "error: --config-reference takes 'man' or 'md'\n");
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'C' },
		{ "config-reference", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL;
	int do_check = 0, opt;
	while ((opt = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'C': do_check = 1; break;
		case 'R': return config_reference(optarg);
		case 'h': usage(stdout); return 0;
		case 'V': printf("vaned %s\n", VANE_VERSION); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (config == NULL || optind != argc) {
		usage(stderr);
		return 1;
	}
	return do_check ? check(config) : server_main(config);
}
