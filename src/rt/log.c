/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/errcode.h"
#include "rt/log.h"

static const char *const level_names[] = { "error", "warning", "info", "debug" };

/* Written by the loop thread on reload, read everywhere: a stale read only
 * means one message more or less, so no synchronisation is needed. */
static volatile int cur_level = LOG_INFO;
static bool to_syslog;

int log_set_target(const char *name)
{
	if (name == NULL)
		return VANE_EINVAL;
	if (strcmp(name, "syslog") == 0) {
		if (!to_syslog)
			log_syslog_open();
		to_syslog = true;
		return 0;
	}
	if (strcmp(name, "stderr") == 0) {
		to_syslog = false;
		return 0;
	}
	return VANE_EINVAL;
}

int log_set_level_name(const char *name)
{
	if (name == NULL)
		return VANE_EINVAL;
	for (int i = 0; i <= LOG_DEBUG; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			cur_level = i;
			return 0;
		}
	}
	return VANE_EINVAL;
}

void log_set_level(enum log_level level)
{
	cur_level = level;
}

enum log_level log_get_level(void)
{
	return cur_level;
}

void log_iso8601(long long t, char *buf, unsigned long size)
{
	time_t tt = t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Names and URLs in messages can come from clients: a control character
 * must not start a forged log line, so it becomes '?'. */
static void defang(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if ((int)level > cur_level)
		return;

	char line[2048];
	log_iso8601(time(NULL), line, sizeof(line));
	size_t len = strlen(line);
	len += snprintf(line + len, sizeof(line) - len, " %s: ", level_names[level]);

	va_list ap;
	if (to_syslog) {
		/* syslog adds time, host and ident; keep the level and prefixes. */
		char msg[2048];
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		defang(msg);
		log_syslog_write(level, msg);
		return;
	}
	va_start(ap, fmt);
	int n = vsnprintf(line + len, sizeof(line) - len - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	len += (size_t)n;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2; /* truncated message */
	line[len] = '\0';
	defang(line);
	line[len++] = '\n';

	/* One write per line keeps lines whole across threads. */
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}
