/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The syslog side of server/log.c, apart because <syslog.h> defines
 * LOG_INFO and friends, which server/log.h uses as enum names.
 */
#include <syslog.h>

void log_syslog_open(void);
void log_syslog_write(int level, const char *msg);

void log_syslog_open(void)
{
	openlog("vaned", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* `level` is enum log_level: error, warning, info, debug. */
void log_syslog_write(int level, const char *msg)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	syslog(prio[level < 0 ? 0 : level > 3 ? 3 : level], "%s", msg);
}
