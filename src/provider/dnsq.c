/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "lib/dname.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "provider/dnsq.h"

/* The ECS option: family, source prefix, scope 0, the address cut to the
 * prefix (RFC 7871 section 6). */
static void write_ecs(struct wire *w, const char *ecs)
{
	char addr[64];
	const char *slash = strchr(ecs, '/');
	size_t al = slash ? (size_t)(slash - ecs) : strlen(ecs);
	if (al >= sizeof(addr))
		return;
	memcpy(addr, ecs, al);
	addr[al] = '\0';
	uint8_t b[16] = { 0 };
	uint16_t family = 1;
	unsigned max = 32;
	if (inet_pton(AF_INET, addr, b) != 1) {
		if (inet_pton(AF_INET6, addr, b) != 1)
			return;
		family = 2;
		max = 128;
	}
	unsigned plen = slash ? (unsigned)atoi(slash + 1) : max;
	if (plen > max)
		plen = max;
	unsigned nb = (plen + 7) / 8;
	if (plen % 8)
		b[nb - 1] &= (uint8_t)(0xff << (8 - plen % 8));
	wire_write_u16(w, 8);
	wire_write_u16(w, (uint16_t)(4 + nb));
	wire_write_u16(w, family);
	wire_write_u8(w, (uint8_t)plen);
	wire_write_u8(w, 0);
	wire_write(w, b, nb);
}

static int build(uint8_t *buf, size_t size, uint16_t id, const char *name, uint16_t qtype,
		 const char *ecs, size_t *len)
{
	uint8_t wname[DNAME_MAXLEN];
	if (dname_from_str(name, NULL, wname) < 0)
		return VANE_EINVAL;
	struct wire w = wire_init(buf, size);
	wire_write_u16(&w, id);
	wire_write_u16(&w, 0);           /* no RD: authoritative servers */
	wire_write_u16(&w, 1);
	wire_write_u16(&w, 0);
	wire_write_u16(&w, 0);
	wire_write_u16(&w, 1);
	wire_write(&w, wname, dname_len(wname));
	wire_write_u16(&w, qtype);
	wire_write_u16(&w, DNS_IN);
	/* OPT (RFC 6891): root name, payload 1232, no flags. */
	size_t rdlen_at;
	wire_write_u8(&w, 0);
	wire_write_u16(&w, DNS_OPT);
	wire_write_u16(&w, 1232);
	wire_write_u32(&w, 0);
	rdlen_at = wire_offset(&w);
	wire_write_u16(&w, 0);
	if (ecs)
		write_ecs(&w, ecs);
	if (w.err)
		return VANE_ESPACE;
	wire_put_u16(buf + rdlen_at, (uint16_t)(wire_offset(&w) - rdlen_at - 2));
	*len = wire_offset(&w);
	return 0;
}

static int parse(const uint8_t *pkt, size_t n, uint16_t id, uint16_t qtype,
		 struct dnsq_reply *out)
{
	memset(out, 0, sizeof(*out));
	if (n < DNS_HDRLEN || wire_get_u16(pkt) != id || !(wire_get_u16(pkt + 2) & DNS_QR))
		return VANE_EMALF;
	out->rcode = wire_get_u16(pkt + 2) & 0xF;
	unsigned qd = wire_get_u16(pkt + 4), an = wire_get_u16(pkt + 6);
	size_t off = DNS_HDRLEN;
	uint8_t name[DNAME_MAXLEN];
	for (unsigned i = 0; i < qd; i++) {
		if (dname_unpack(pkt, n, &off, name, false) < 0 || off + 4 > n)
			return VANE_EMALF;
		off += 4;
	}
	for (unsigned i = 0; i < an; i++) {
		if (dname_unpack(pkt, n, &off, name, false) < 0 || off + 10 > n)
			return VANE_EMALF;
		uint16_t type = wire_get_u16(pkt + off);
		uint16_t rdlen = wire_get_u16(pkt + off + 8);
		off += 10;
		if (off + rdlen > n)
			return VANE_EMALF;
		if ((type == DNS_A && rdlen == 4) || (type == DNS_AAAA && rdlen == 16)) {
			if (out->naddrs < DNSQ_MAX_ADDRS)
				inet_ntop(type == DNS_A ? AF_INET : AF_INET6, pkt + off,
					  out->addrs[out->naddrs++], 46);
		} else if (type == DNS_SOA && qtype == DNS_SOA) {
			size_t o = off;
			if (dname_unpack(pkt, n, &o, name, false) < 0 ||
			    dname_unpack(pkt, n, &o, name, false) < 0 || o + 4 > off + rdlen)
				return VANE_EMALF;
			out->has_soa = true;
			out->soa_serial = wire_get_u32(pkt + o);
		}
		off += rdlen;
	}
	return 0;
}

int dnsq_ask(const struct sockaddr_storage *server, socklen_t len, const char *name,
	     uint16_t qtype, const char *ecs, unsigned timeout_ms, struct dnsq_reply *out)
{
	uint8_t q[512], r[4096];
	uint16_t id;
	size_t qlen;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint16_t)getpid();
	int ret = build(q, sizeof(q), id, name, qtype, ecs, &qlen);
	if (ret != 0)
		return ret;
	int fd = socket(server->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = VANE_ETIMEDOUT;
	if (connect(fd, (const struct sockaddr *)server, len) != 0 || send(fd, q, qlen, 0) < 0) {
		ret = -errno;
		goto out;
	}
	struct pollfd p = { .fd = fd, .events = POLLIN };
	while (poll(&p, 1, (int)timeout_ms) == 1) {
		ssize_t k = recv(fd, r, sizeof(r), 0);
		if (k < 0) {
			ret = -errno;
			break;
		}
		ret = parse(r, (size_t)k, id, qtype, out);
		if (ret == 0)
			break;
	}
out:
	close(fd);
	return ret;
}
