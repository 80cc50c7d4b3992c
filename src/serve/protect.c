/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdlib.h>
#include <string.h>

#include "serve/protect.h"

int protect_rrl_new(const struct vane_conf *conf, uint64_t seed, struct rrl **out)
{
	struct rrl_prefix *ex = NULL;
	int ret;

	*out = NULL;
	if (conf->rrl_nexempt) {
		ex = calloc(conf->rrl_nexempt, sizeof(*ex));
		if (!ex)
			return VANE_ENOMEM;
	}
	for (unsigned i = 0; i < conf->rrl_nexempt; i++) {
		/* The schema checked the text; this cannot fail for it. */
		ret = rrl_prefix_parse(conf->rrl_exempt[i], &ex[i]);
		if (ret < 0)
			goto done;
	}
	struct rrl_conf rc = {
		.rate = conf->rrl_rate, .slip = conf->rrl_slip,
		.v4_prefix = conf->rrl_ipv4_prefix, .v6_prefix = conf->rrl_ipv6_prefix,
		.table_size = conf->rrl_table_size, .exempt = ex, .nexempt = conf->rrl_nexempt,
		.seed = seed,
	};
	ret = rrl_new(&rc, out);
done:
	free(ex);
	return ret;
}

int protect_cookie_conf(const struct vane_conf *conf, const uint8_t *prev,
			struct auth_conf *auth)
{
	auth->cookies = conf->cookies_enabled;
	auth->require_cookie = conf->cookies_enabled && conf->require_cookie;
	auth->cookie_rotate_s = conf->cookie_rotate_ms / 1000;
	if (conf->cookie_has_secret) {
		memcpy(auth->cookie_secret, conf->cookie_secret_data, COOKIE_SECRET_LEN);
		return 0;
	}
	if (prev) {
		memcpy(auth->cookie_secret, prev, COOKIE_SECRET_LEN);
		return 0;
	}
	return cookie_secret_random(auth->cookie_secret);
}

void protect_stats_add(struct rrl_stats *sum, const volatile struct rrl_stats *st)
{
	for (int c = 0; c < RRL_NCLASS; c++) {
		sum->limited[c] += st->limited[c];
		sum->slipped[c] += st->slipped[c];
		sum->dropped[c] += st->dropped[c];
	}
	sum->exempt += st->exempt;
	sum->evicted += st->evicted;
}

const char *rrl_class_name(enum rrl_class c)
{
	static const char *const names[RRL_NCLASS] = {
		"positive", "nodata", "nxdomain", "referral", "error", "wildcard",
	};
	return (unsigned)c < RRL_NCLASS ? names[c] : "?";
}

static void per_class(FILE *f, const char *name, const char *help, const uint64_t *v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (int c = 0; c < RRL_NCLASS; c++)
		fprintf(f, "%s{class=\"%s\"} %llu\n", name, rrl_class_name(c),
			(unsigned long long)v[c]);
}

void protect_metrics(FILE *f, const struct rrl_stats *sum)
{
	per_class(f, "vane_rrl_limited_total",
		  "UDP answers over the rate limit, by response class.", sum->limited);
	per_class(f, "vane_rrl_slipped_total",
		  "Limited answers sent truncated (TC=1) instead.", sum->slipped);
	per_class(f, "vane_rrl_dropped_total", "Limited answers not sent.", sum->dropped);
	fprintf(f, "# HELP vane_rrl_exempt_total UDP answers not limited: exempt prefix or "
		   "valid server cookie.\n# TYPE vane_rrl_exempt_total counter\n"
		   "vane_rrl_exempt_total %llu\n", (unsigned long long)sum->exempt);
	fprintf(f, "# HELP vane_rrl_evicted_total Busy rate-limit buckets recycled: "
		   "rrl.table-size is too small.\n# TYPE vane_rrl_evicted_total counter\n"
		   "vane_rrl_evicted_total %llu\n", (unsigned long long)sum->evicted);
}
