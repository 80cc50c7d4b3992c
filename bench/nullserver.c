/*
 * nullserver: the ceiling for `make bench`.
 *
 * Returns every UDP packet unchanged to its sender, using the same I/O shape as
 * vaned (one thread per worker, each with its own SO_REUSEPORT socket, blocking
 * recvmmsg with MSG_WAITFORONE, sendmmsg back) but doing no DNS work at all.
 * Whatever qps this reaches is what the kernel and the load generator allow.
 *
 * Usage: nullserver PORT [WORKERS]    (binds 127.0.0.1:PORT, default 2 workers)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define BUFSZ 4096

static int port;

static void *worker(void *arg)
{
	static __thread char buf[BATCH][BUFSZ];
	static __thread struct sockaddr_in addr[BATCH];
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	int one = 1, fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("nullserver: socket");
		exit(1);
	}
	/* Same receive buffer as vaned asks for, so bursts are absorbed alike. */
	int rcvbuf = 4 << 20;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ buf[i], BUFSZ };
		msg[i].msg_hdr = (struct msghdr){ .msg_name = &addr[i],
			.msg_namelen = sizeof(addr[i]), .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	for (;;) {
		int n = recvmmsg(fd, msg, BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue;
		/* Echo: the reply is the query itself, same length. */
		for (int i = 0; i < n; i++)
			iov[i].iov_len = msg[i].msg_len;
		for (int sent = 0; sent < n; ) {
			int r = sendmmsg(fd, msg + sent, n - sent, 0);
			if (r <= 0)
				break;
			sent += r;
		}
		/* Re-arm only the entries this batch used. */
		for (int i = 0; i < n; i++) {
			iov[i].iov_len = BUFSZ;
			msg[i].msg_hdr.msg_namelen = sizeof(addr[i]);
		}
	}
	return arg;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s PORT [WORKERS]\n", argv[0]);
		return 2;
	}
	port = atoi(argv[1]);
	int n = argc > 2 ? atoi(argv[2]) : 2;
	pthread_t t[64];
	sigset_t stop;
	int sig;

	/* Workers inherit the blocked set; main exits cleanly on SIGTERM/SIGINT so
	 * that tools like callgrind see a normal exit and write their output. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	for (int i = 0; i < n && i < 64; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	sigwait(&stop, &sig);
	return 0;
}
