/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/errcode.h"
#include "rt/log.h"
#include "rt/notify.h"

static struct sockaddr_un notify_addr;
static socklen_t notify_len;        /* 0: no service manager */

void notify_init(void)
{
	const char *env = getenv("NOTIFY_SOCKET");
	notify_len = 0;
	if (env == NULL || env[0] == '\0')
		return;
	size_t n = strlen(env);
	if ((env[0] != '/' && env[0] != '@') || n >= sizeof(notify_addr.sun_path)) {
		log_warning("ignoring NOTIFY_SOCKET %s: not a unix socket path", env);
	} else {
		memset(&notify_addr, 0, sizeof(notify_addr));
		notify_addr.sun_family = AF_UNIX;
		memcpy(notify_addr.sun_path, env, n);
		if (env[0] == '@')
			notify_addr.sun_path[0] = '\0';   /* abstract namespace */
		notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	}
	unsetenv("NOTIFY_SOCKET");
}

int notify_send(const char *text)
{
	if (notify_len == 0)
		return 0;
	int ret = 0;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (sendto(fd, text, strlen(text), MSG_NOSIGNAL, (struct sockaddr *)&notify_addr,
		   notify_len) < 0) {
		ret = -errno;
		log_debug("notify: %s", vane_strerror(ret));
	}
	close(fd);
	return ret;
}

void notify_ready(const char *status)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "READY=1\nSTATUS=%s\nMAINPID=%d", status ? status : "serving",
		 (int)getpid());
	(void)notify_send(buf);
}

void notify_reloading(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	char buf[128];
	snprintf(buf, sizeof(buf), "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
		 (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
	(void)notify_send(buf);
}

void notify_stopping(void)
{
	(void)notify_send("STOPPING=1\nSTATUS=stopping");
}
