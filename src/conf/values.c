/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Scalar conversions for configuration values.  Strict: no leading signs,
 * no trailing junk, no silent truncation.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/schema.h"
#include "lib/dname.h"
#include "lib/errcode.h"

int conf_parse_uint(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return VANE_EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return VANE_ERANGE;
		v = v * 10 + d;
	}
	if (*s != '\0')
		return VANE_EINVAL;
	*out = v;
	return 0;
}

static const struct {
	const char *suffix;
	uint64_t ms;
} duration_units[] = {
	{ "ms", 1 },
	{ "s", 1000 },
	{ "m", 60 * 1000 },
	{ "h", 3600 * 1000 },
	{ "d", 86400 * 1000 },
	{ "", 1000 }, /* a bare number means seconds */
};

int conf_parse_duration(const char *s, uint64_t *ms)
{
	char num[32];
	size_t n = 0;

	while (isdigit((unsigned char)s[n]))
		n++;
	if (n == 0 || n >= sizeof(num))
		return n == 0 ? VANE_EINVAL : VANE_ERANGE;
	memcpy(num, s, n);
	num[n] = '\0';

	uint64_t v;
	int ret = conf_parse_uint(num, &v);
	if (ret != 0)
		return ret;
	for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
		if (strcmp(s + n, duration_units[i].suffix) != 0)
			continue;
		if (v > UINT64_MAX / duration_units[i].ms)
			return VANE_ERANGE;
		*ms = v * duration_units[i].ms;
		return 0;
	}
	return VANE_EINVAL;
}

void conf_format_duration(uint64_t ms, char *buf, size_t size)
{
	/* Largest unit that divides exactly, so "90s" stays "90s". */
	static const struct { const char *s; uint64_t ms; } units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 },
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ms != 0 && ms % units[i].ms == 0) {
			snprintf(buf, size, "%llu%s", (unsigned long long)(ms / units[i].ms),
				 units[i].s);
			return;
		}
	}
	snprintf(buf, size, "%llums", (unsigned long long)ms);
}

int conf_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", NULL };
	static const char *const no[] = { "false", "no", "off", NULL };

	for (unsigned i = 0; yes[i]; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return VANE_EINVAL;
}

/* A plain decimal number: optional '-', digits, optional fraction.  No
 * exponents, hex, inf or nan, which strtod would take. */
int conf_parse_float(const char *s, double *out)
{
	const char *p = s;
	bool digits = false;

	if (*p == '-' || *p == '+')
		p++;
	for (; isdigit((unsigned char)*p); p++)
		digits = true;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			digits = true;
	if (!digits || *p != '\0')
		return VANE_EINVAL;
	*out = strtod(s, NULL);
	return 0;
}

/* Address text into `ss`; IPv6 with or without brackets. */
static int parse_addr(const char *a, size_t alen, uint16_t port,
		      struct sockaddr_storage *ss, socklen_t *len)
{
	char buf[INET6_ADDRSTRLEN + 2];

	if (alen >= 2 && a[0] == '[' && a[alen - 1] == ']') {
		a++;
		alen -= 2;
		if (alen == 0 || memchr(a, ':', alen) == NULL)
			return VANE_EINVAL; /* brackets only make sense around IPv6 */
	}
	if (alen == 0 || alen >= sizeof(buf))
		return VANE_EINVAL;
	memcpy(buf, a, alen);
	buf[alen] = '\0';

	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, buf, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return 0;
	}
	return VANE_EINVAL;
}

int conf_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	const char *at = strrchr(s, '@');
	uint64_t port = 53;

	if (at) {
		int ret = conf_parse_uint(at + 1, &port);
		if (ret != 0)
			return VANE_EINVAL;
		if (port == 0 || port > 65535)
			return VANE_ERANGE;
	}
	size_t alen = at ? (size_t)(at - s) : strlen(s);
	return parse_addr(s, alen, (uint16_t)port, ss, len);
}

void conf_format_addr(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];
	unsigned port = 0;

	a[0] = '\0';
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		port = ntohs(sin6->sin6_port);
	}
	snprintf(buf, size, "%s@%u", a, port);
}

int conf_parse_dname(const char *s, char **out)
{
	uint8_t wire[DNAME_MAXLEN];
	char buf[DNAME_MAXSTR];

	/* dname_from_str reads "" and "@" as names; in a config they are typos. */
	if (*s == '\0' || strcmp(s, "@") == 0)
		return VANE_EINVAL;
	for (const char *c = s; *c; c++) {
		if (isspace((unsigned char)*c) || iscntrl((unsigned char)*c))
			return VANE_EINVAL;
	}
	int ret = dname_from_str(s, NULL, wire);
	if (ret < 0)
		return ret;
	dname_lower(wire);
	if (!dname_to_str(wire, buf, sizeof(buf)))
		return VANE_EINVAL;
	*out = strdup(buf);
	return *out ? 0 : VANE_ENOMEM;
}

char *conf_path_join(const char *dir, const char *path)
{
	size_t dlen = path[0] == '/' ? 0 : strlen(dir);
	char *full = malloc(dlen + strlen(path) + 3);
	if (!full)
		return NULL;
	if (dlen)
		sprintf(full, "%s/%s", dir, path);
	else
		strcpy(full, path);
	if (full[0] != '/')
		return full; /* folding below assumes an absolute path */

	/* Fold "//", "/./" and "/x/../" in place; ".." above "/" stays at "/". */
	char *out = full, *in = full;
	while (*in) {
		while (*in == '/')
			in++;
		char *seg = in;
		while (*in && *in != '/')
			in++;
		size_t slen = (size_t)(in - seg);
		if (slen == 0 || (slen == 1 && seg[0] == '.'))
			continue;
		if (slen == 2 && seg[0] == '.' && seg[1] == '.') {
			while (out > full && *--out != '/')
				;
			continue;
		}
		*out++ = '/';
		memmove(out, seg, slen);
		out += slen;
	}
	if (out == full)
		*out++ = '/';
	*out = '\0';
	return full;
}
