/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Rules of `keys:` and the transfer keys of `zones:` that span several
 * keys: a secret given once and valid base64, allow-transfer addresses and
 * prefixes, key references that exist.  Runs after the schema parsed.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "conf/schema.h"
#include "lib/base64.h"
#include "lib/report.h"

/* Key ids are domain names: compare without the final dot, any case. */
static bool same_id(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 1 && a[la - 1] == '.')
		la--;
	if (lb > 1 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

int conf_key_find(const struct vane_conf *conf, const char *id)
{
	for (unsigned i = 0; i < conf->nkeys; i++)
		if (same_id(conf->keys[i].id, id))
			return (int)i;
	return -1;
}

static void check_key(struct report *v, struct conf_key *k, unsigned i)
{
	char buf[1024];
	const char *text = k->secret;
	if (!k->secret == !k->secret_file) {
		report_error(v, k->line, "keys[%u]: give either secret or secret-file", i);
		return;
	}
	if (k->secret_file) {
		FILE *f = fopen(k->secret_file, "r");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		if (f)
			fclose(f);
		if (!f) {
			report_error(v, k->line, "keys[%u].secret-file: cannot read %s", i,
				     k->secret_file);
			return;
		}
		buf[n] = 0;
		text = buf;
	}
	int n = base64_decode(text, k->secret_data, sizeof(k->secret_data));
	if (n <= 0)
		report_error(v, k->line, "keys[%u].secret: expected base64 of 1..%u bytes", i,
			     CONF_SECRET_MAX);
	else
		k->secret_len = (unsigned)n;
}

/* "ADDR" or "ADDR/LEN" into the entry. */
static bool parse_prefix(struct conf_acl *a)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(a->address, '/');
	size_t hl = slash ? (size_t)(slash - a->address) : strlen(a->address);
	if (hl >= sizeof(host))
		return false;
	memcpy(host, a->address, hl);
	host[hl] = 0;
	memset(&a->addr, 0, sizeof(a->addr));
	unsigned max;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&a->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->addr;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		max = 128;
	} else {
		return false;
	}
	a->prefix = max;
	if (slash) {
		uint64_t len;
		if (conf_parse_uint(slash + 1, &len) != 0 || len > max)
			return false;
		a->prefix = (unsigned)len;
	}
	return true;
}

/* Where a secondary zone's transferred copy lives: state-dir/secondary/
 * NAME.zone, the name without its final dot ("root" for the root zone). */
static char *secondary_path(const struct vane_conf *conf, const char *zname)
{
	char name[512];
	size_t n = strlen(zname);
	if (n > 1 && zname[n - 1] == '.')
		n--;
	if (n >= sizeof(name))
		return NULL;
	if (strcmp(zname, ".") == 0) {
		strcpy(name, "root");
	} else {
		for (size_t i = 0; i < n; i++)   /* a '/' in a label must not make a path */
			name[i] = zname[i] == '/' ? '_' : (char)tolower((unsigned char)zname[i]);
		name[n] = 0;
	}
	size_t len = strlen(conf->state_dir) + strlen(name) + 32;
	char *p = malloc(len);
	if (p)
		snprintf(p, len, "%s/secondary/%s.zone", conf->state_dir, name);
	return p;
}

/* file: or primary:, exactly one; the key of a secondary exists. */
static void check_secondary(struct report *v, struct vane_conf *conf, struct conf_zone *cz,
			    unsigned z)
{
	cz->key_index = -1;
	if (cz->nprimary && cz->file) {
		report_error(v, cz->line, "zones[%u]: give either file or primary, not both", z);
		return;
	}
	if (!cz->nprimary) {
		if (cz->key)
			report_error(v, cz->line, "zones[%u].key: only with primary:", z);
		return;
	}
	if (cz->key) {
		cz->key_index = conf_key_find(conf, cz->key);
		if (cz->key_index < 0)
			report_error(v, cz->line, "zones[%u].key: unknown key \"%.64s\"", z, cz->key);
	}
	if (!conf->state_dir || !(cz->file = secondary_path(conf, cz->name)))
		report_error(v, cz->line, "zones[%u]: no path for the transferred copy", z);
}

unsigned conf_check_xfr(struct vane_conf *conf, const char *file, vane_report_fn err,
			void *ctx)
{
	struct report v = { .file = file, .fn = err, .ctx = ctx };
	for (unsigned i = 0; i < conf->nkeys; i++)
		check_key(&v, &conf->keys[i], i);
	for (unsigned z = 0; z < conf->nzones; z++) {
		struct conf_zone *cz = &conf->zones[z];
		for (unsigned i = 0; i < cz->nnotify; i++) {
			struct conf_notify *t = &cz->notify[i];
			t->key_index = t->key ? conf_key_find(conf, t->key) : -1;
			if (t->key && t->key_index < 0)
				report_error(&v, t->line, "zones[%u].notify[%u].key: unknown key "
					     "\"%.64s\"", z, i, t->key);
		}
		check_secondary(&v, conf, cz, z);
		for (unsigned i = 0; i < cz->nallow_transfer; i++) {
			struct conf_acl *a = &cz->allow_transfer[i];
			a->key_index = -1;
			if (!parse_prefix(a))
				report_error(&v, a->line, "zones[%u].allow-transfer[%u].address: expected "
					     "an address or ADDR/LEN, got \"%.64s\"", z, i, a->address);
			if (a->key) {
				a->key_index = conf_key_find(conf, a->key);
				if (a->key_index < 0)
					report_error(&v, a->line, "zones[%u].allow-transfer[%u].key: "
						     "unknown key \"%.64s\"", z, i, a->key);
			}
		}
	}
	return v.errors;
}
