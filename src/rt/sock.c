/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <netinet/in.h>
#include <unistd.h>

#include "rt/sock.h"

bool rt_addr_is_any(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

int rt_udp_socket(const struct sockaddr_storage *addr, socklen_t len, bool *pktinfo)
{
	int on = 1;
	int fd = socket(addr->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) < 0)
		goto fail;
	if (addr->ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0)
		goto fail;
	/* Absorb bursts; the kernel caps this at rmem_max, which is fine. */
	int rcvbuf = 4 << 20;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));

	*pktinfo = rt_addr_is_any(addr);
	if (*pktinfo) {
		int r = addr->ss_family == AF_INET
			? setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on))
			: setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
		if (r < 0)
			goto fail;
	}
	if (bind(fd, (const struct sockaddr *)addr, len) < 0)
		goto fail;
	return fd;
fail:;
	int err = -errno;
	close(fd);
	return err;
}
