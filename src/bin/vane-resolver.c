/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vane-resolver: a caching recursive resolver.  main() and options only. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "conf/resolver_conf.h"
#include "resolverd/resolverd.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: vane-resolver -c CONFIG [--check]\n"
		"  -c, --config FILE  YAML configuration (see vane-resolver(8))\n"
		"      --check        validate the configuration and exit\n"
		"  -h, --help         this text\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL;
	int check = 0, o;

	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': config = optarg; break;
		case 'k': check = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!config) {
		usage(stderr);
		return 2;
	}
	struct resolver_conf *conf;
	if (resolver_conf_load(config, NULL, NULL, &conf) != 0)
		return 1;
	if (check) {
		FILE *f = fopen(conf->root_hints, "r");
		if (!f) {
			fprintf(stderr, "%s: root-hints %s cannot be read\n", config,
				conf->root_hints);
			resolver_conf_free(conf);
			return 1;
		}
		fclose(f);
		printf("%s: OK\n", config);
		resolver_conf_free(conf);
		return 0;
	}
	return resolver_run(config, conf);
}
