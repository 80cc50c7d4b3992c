/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Server logging: one line per message on stderr,
 * `2026-11-25T22:00:00Z info: message`.  Safe to call from any thread (each
 * line goes out with one write(2)).  Only server code logs; src/lib never does.
 */
#pragma once

enum log_level { LOG_ERROR = 0, LOG_WARNING, LOG_INFO, LOG_DEBUG };

/* Set the threshold by name ("error", "warning", "info", "debug").
 * Unknown or NULL names leave it unchanged.  Returns 0 or VANE_EINVAL. */
int log_set_level_name(const char *name);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Where lines go: "stderr" (the default) or "syslog" (facility daemon,
 * ident vaned; the timestamp is then syslog's).  Returns 0 or VANE_EINVAL.
 * Call before starting threads. */
int log_set_target(const char *name);

/* Internal to log.c / log_syslog.c (apart because <syslog.h> clashes with
 * the names above). */
void log_syslog_open(void);
void log_syslog_write(int level, const char *msg);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...)   log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)    log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)   log_msg(LOG_DEBUG, __VA_ARGS__)

/* Zone messages carry the zone name: `[example.com] message`. */
#define log_zone(level, zone, fmt, ...) \
	log_msg(level, "[%s] " fmt, (zone), ##__VA_ARGS__)

/* Endpoint messages carry service and endpoint: `[api.example.com/fra] message`. */
#define log_endpoint(level, service, endpoint, fmt, ...) \
	log_msg(level, "[%s/%s] " fmt, (service), (endpoint), ##__VA_ARGS__)

/* Format `t` as ISO 8601 UTC (`2026-11-25T22:00:00Z`) into `buf` (>= 21 bytes). */
void log_iso8601(long long t, char *buf, unsigned long size);
