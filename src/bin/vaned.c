/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vaned: the Vane authoritative DNS server.  Option parsing only. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "daemon/server.h"
#include "vane_version.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: vaned -c FILE [--check] [--ignore-state]\n"
		"\n"
		"Vane authoritative DNS server; runs in the foreground, logs to stderr.\n"
		"\n"
		"  -c, --config FILE  configuration file (YAML)\n"
		"      --check        validate the configuration and every zone, then exit\n"
		"      --ignore-state start even if state-dir/state.json is corrupt (it is\n"
		"                     kept as state.json.corrupt; drains and weights saved\n"
		"                     in it are lost); without it vaned refuses to start\n"
		"      --config-reference man|md\n"
		"                     print the configuration reference (vaned.conf(5))\n"
		"  -h, --help         show this help\n"
		"  -V, --version      show the version\n"
		"\n"
		"Signals: SIGHUP reloads the configuration and zones; SIGTERM/SIGINT stop.\n");
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
		{ "ignore-state", no_argument, NULL, 'I' },
		{ "config-reference", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL;
	int do_check = 0, ignore_state = 0, opt;
	while ((opt = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'C': do_check = 1; break;
		case 'I': ignore_state = 1; break;
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
	return do_check ? server_check(config)
			: server_main(config, ignore_state != 0, server_commands);
}
