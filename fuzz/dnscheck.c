/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>

#include "fuzz/dnscheck.h"
#include "lib/pkt.h"
#include "lib/wire.h"

/* A name inside RDATA: must decode and must not run past the RDATA. */
static const char *rdata_name(const uint8_t *msg, size_t rdend, size_t *off)
{
	uint8_t name[DNAME_MAXLEN];
	if (dname_unpack(msg, rdend, off, name, false) < 0)
		return "bad name in RDATA";
	return NULL;
}

/* Types whose RDATA holds compressible names (RFC 3597 4) get decoded. */
static const char *check_rdata(const uint8_t *msg, uint16_t type, size_t off,
			       uint16_t rdlen)
{
	size_t end = off + rdlen;
	const char *e = NULL;

	switch (type) {
	case DNS_A:
		return rdlen == 4 ? NULL : "A RDATA not 4 bytes";
	case DNS_AAAA:
		return rdlen == 16 ? NULL : "AAAA RDATA not 16 bytes";
	case DNS_NS:
	case DNS_CNAME:
	case DNS_PTR:
	case DNS_DNAME:
		e = rdata_name(msg, end, &off);
		break;
	case DNS_MX:
	case DNS_KX:
	case DNS_AFSDB:
		if (rdlen < 3)
			return "short MX RDATA";
		off += 2;
		e = rdata_name(msg, end, &off);
		break;
	case DNS_SRV:
		if (rdlen < 7)
			return "short SRV RDATA";
		off += 6;
		e = rdata_name(msg, end, &off);
		break;
	case DNS_SOA:
		e = rdata_name(msg, end, &off);
		if (!e)
			e = rdata_name(msg, end, &off);
		if (!e)
			off += 20;
		break;
	default:
		return NULL;
	}
	if (e)
		return e;
	return off == end ? NULL : "RDATA length does not match its names";
}

/* One RR at `*off`; `section` 0..2 is answer, authority, additional. */
static const char *check_rr(const uint8_t *msg, size_t len, size_t *off,
			    int section, struct dnscheck *c)
{
	uint8_t owner[DNAME_MAXLEN];
	int r = dname_unpack(msg, len, off, owner, false);
	if (r < 0)
		return "bad RR owner name";
	if (*off + 10 > len)
		return "RR header past the end";
	const uint8_t *h = msg + *off;
	uint16_t type = wire_get_u16(h);
	uint16_t rdlen = wire_get_u16(h + 8);
	*off += 10;
	if (*off + rdlen > len)
		return "RDATA past the end";
	if (type == DNS_OPT) {
		/* RFC 6891 6.1.1: one OPT, additional section, root owner. */
		if (section != 2)
			return "OPT outside the additional section";
		if (c->opt)
			return "two OPT records";
		if (r != 1)
			return "OPT owner is not the root";
		c->opt = true;
		c->opt_udp = wire_get_u16(h + 2);
		c->opt_ext_rcode = h[4];
		c->opt_version = h[5];
		c->opt_flags = wire_get_u16(h + 6);
		/* Options must tile the RDATA exactly. */
		size_t o = *off, end = *off + rdlen;
		while (o < end) {
			if (o + 4 > end)
				return "truncated EDNS option header";
			uint16_t olen = wire_get_u16(msg + o + 2);
			o += 4 + (size_t)olen;
		}
		if (o != end)
			return "EDNS option overruns the OPT RDATA";
	} else {
		const char *e = check_rdata(msg, type, *off, rdlen);
		if (e)
			return e;
	}
	*off += rdlen;
	return NULL;
}

const char *dnscheck_message(const uint8_t *msg, size_t len, struct dnscheck *c)
{
	memset(c, 0, sizeof(*c));
	if (len < DNS_HDRLEN)
		return "shorter than a header";
	if (len > DNS_MAXMSG)
		return "longer than 65535 bytes";
	c->id = wire_get_u16(msg);
	c->flags = wire_get_u16(msg + 2);
	c->qd = wire_get_u16(msg + 4);
	c->an = wire_get_u16(msg + 6);
	c->ns = wire_get_u16(msg + 8);
	c->ar = wire_get_u16(msg + 10);

	size_t off = DNS_HDRLEN;
	for (unsigned i = 0; i < c->qd; i++) {
		uint8_t name[DNAME_MAXLEN];
		int r = dname_unpack(msg, len, &off, name, false);
		if (r < 0)
			return "bad question name";
		if (off + 4 > len)
			return "question past the end";
		if (i == 0) {
			memcpy(c->qname, name, (size_t)r);
			c->qtype = wire_get_u16(msg + off);
			c->qclass = wire_get_u16(msg + off + 2);
		}
		off += 4;
	}
	const unsigned counts[3] = { c->an, c->ns, c->ar };
	for (int s = 0; s < 3; s++) {
		for (unsigned i = 0; i < counts[s]; i++) {
			const char *e = check_rr(msg, len, &off, s, c);
			if (e)
				return e;
		}
	}
	if (off != len)
		return "bytes after the last record";
	c->rcode = (c->flags & 0xF) | (unsigned)c->opt_ext_rcode << 4;
	return NULL;
}
