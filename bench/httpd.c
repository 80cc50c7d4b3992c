/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A tiny HTTP responder for the health-check scale benchmark (bench/steer.sh).
 *
 *     httpd PORT[,PORT...]
 *
 * Listens on every address on each port (the checks probe 5,000 loopback
 * addresses 127.x.y.z, one per endpoint); one thread, epoll, non-blocking.  Every
 * request (counted by its "\r\n\r\n") gets "HTTP/1.1 200 OK" with body "ok";
 * connections are kept alive until the client closes them.  "GET /count"
 * answers the number of requests served so far (so the benchmark can compute
 * probes/s), and is not itself counted.  Prints "ready" once listening.
 * Deliberately minimal: no request parsing beyond that.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXL 64

static const char OK[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
			 "Content-Type: text/plain\r\n\r\nok";

static int listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	a.sin_addr.s_addr = htonl(INADDR_ANY);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4096) < 0) {
		perror("httpd: listen");
		exit(1);
	}
	return fd;
}

/* Answer every complete request in buf; returns requests answered. */
static unsigned long answer(int fd, const char *buf, ssize_t n, unsigned long count)
{
	unsigned long reqs = 0;
	const char *p = buf, *end = buf + n;
	char out[4096], body[32];
	size_t len = 0;

	while (p < end) {
		const char *e = memmem(p, end - p, "\r\n\r\n", 4);
		if (e == NULL)
			break;
		if (end - p >= 10 && memcmp(p, "GET /count", 10) == 0) {
			int bl = snprintf(body, sizeof(body), "%lu", count + reqs);
			len += snprintf(out + len, sizeof(out) - len,
					"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", bl, body);
		} else {
			memcpy(out + len, OK, sizeof(OK) - 1);
			len += sizeof(OK) - 1;
			reqs++;
		}
		p = e + 4;
		if (len > sizeof(out) - 256)
			break;	/* a client pipelining this much is not a health checker */
	}
	if (len > 0 && write(fd, out, len) < 0)
		return reqs;
	return reqs;
}

int main(int argc, char **argv)
{
	int lfd[MAXL], nl = 0, ep;
	unsigned long count = 0;
	struct epoll_event ev, evs[256];
	char buf[8192];

	if (argc != 2) {
		fprintf(stderr, "usage: httpd PORT[,PORT...]\n");
		return 2;
	}
	ep = epoll_create1(0);
	for (char *s = strtok(argv[1], ","); s != NULL && nl < MAXL; s = strtok(NULL, ",")) {
		lfd[nl] = listen_on(atoi(s));
		ev.events = EPOLLIN;
		ev.data.u64 = (1ULL << 32) | (unsigned)lfd[nl];
		epoll_ctl(ep, EPOLL_CTL_ADD, lfd[nl], &ev);
		nl++;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		for (int i = 0; i < n; i++) {
			int fd = (int)(evs[i].data.u64 & 0xffffffff);
			if (evs[i].data.u64 >> 32) {
				int c;
				while ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					ev.events = EPOLLIN;
					ev.data.u64 = (unsigned)c;
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				}
				continue;
			}
			ssize_t r = read(fd, buf, sizeof(buf));
			if (r > 0) {
				count += answer(fd, buf, r, count);
			} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				close(fd);	/* also removes it from the epoll set */
			}
		}
	}
}
