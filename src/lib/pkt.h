/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * DNS message constants and query parsing (RFC 1035 4.1, RFC 6891 EDNS(0),
 * RFC 7871 Client Subnet).  Parsing validates the whole query once, so the
 * answer path can trust every field of `struct dns_query`.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/cookie.h"
#include "lib/dname.h"

#define DNS_HDRLEN 12
#define DNS_UDP_MIN 512         /* RFC 1035 4.2.1 */
#define DNS_EDNS_DEFAULT 1232   /* DNS flag day 2020 default */
#define DNS_MAXMSG 65535

/* Header flag bits in the 16-bit flags word (bytes 2-3). */
#define DNS_QR 0x8000
#define DNS_AA 0x0400
#define DNS_TC 0x0200
#define DNS_RD 0x0100
#define DNS_RA 0x0080
#define DNS_AD 0x0020
#define DNS_CD 0x0010
#define DNS_OPCODE(f) (((f) >> 11) & 0xF)

enum dns_opcode { DNS_OP_QUERY = 0, DNS_OP_NOTIFY = 4, DNS_OP_UPDATE = 5 };

enum dns_rcode {
	DNS_NOERROR = 0,
	DNS_FORMERR = 1,
	DNS_SERVFAIL = 2,
	DNS_NXDOMAIN = 3,
	DNS_NOTIMP = 4,
	DNS_REFUSED = 5,
	DNS_YXDOMAIN = 6,
	DNS_NOTAUTH = 9,
	DNS_BADVERS = 16, /* extended: needs OPT (RFC 6891 6.1.3) */
	DNS_BADCOOKIE = 23, /* extended (RFC 7873 8) */
};

enum dns_class { DNS_IN = 1, DNS_CH = 3, DNS_ANYCLASS = 255 };

enum dns_type {
	DNS_A = 1, DNS_NS = 2, DNS_CNAME = 5, DNS_SOA = 6, DNS_PTR = 12,
	DNS_HINFO = 13, DNS_MX = 15, DNS_TXT = 16, DNS_RP = 17, DNS_AFSDB = 18,
	DNS_AAAA = 28, DNS_SRV = 33, DNS_NAPTR = 35, DNS_KX = 36, DNS_DNAME = 39,
	DNS_OPT = 41, DNS_DS = 43, DNS_RRSIG = 46, DNS_NSEC = 47, DNS_DNSKEY = 48,
	DNS_NSEC3 = 50, DNS_NSEC3PARAM = 51, DNS_SVCB = 64, DNS_HTTPS = 65,
	DNS_TSIG = 250, DNS_IXFR = 251, DNS_AXFR = 252, DNS_MAILB = 253,
	DNS_MAILA = 254, DNS_ANY = 255,
};

enum edns_option {
	EDNS_NSID = 3,
	EDNS_ECS = 8,
	EDNS_COOKIE = 10,
};

/* A validated EDNS Client Subnet option (RFC 7871 6). */
struct dns_ecs {
	bool present;
	uint16_t family;      /* 1 = IPv4, 2 = IPv6 */
	uint8_t source;       /* SOURCE PREFIX-LENGTH */
	uint8_t scope;        /* SCOPE PREFIX-LENGTH (0 in valid queries) */
	uint8_t addr[16];     /* address, bits past `source` are zero */
};

struct dns_query {
	uint16_t id;
	uint16_t flags;               /* raw header flags word */
	uint16_t qtype;
	uint16_t qclass;
	uint8_t qname_len;
	uint8_t qname_labels;         /* labels before the root */
	uint16_t question_end;        /* offset just past the question */
	uint8_t qname[DNAME_MAXLEN];  /* lower-cased */
	uint8_t qname_offs[DNAME_MAXLABELS]; /* label starts; [labels] = root */

	bool edns;                    /* an OPT record was present */
	uint8_t edns_version;
	bool edns_do;                 /* DNSSEC OK */
	bool nsid;                    /* NSID requested */
	uint16_t edns_udp;            /* advertised payload, clamped to >= 512 */
	struct dns_ecs ecs;
	struct dns_cookie cookie;     /* the first COOKIE option (RFC 7873 5.2) */

	bool tsig;                    /* the last additional record is a TSIG */
	bool ixfr_soa;                /* IXFR: the authority section had an SOA */
	uint32_t ixfr_serial;         /* ... with this serial (RFC 1995 3) */
};

/* What to do with a packet after parsing it. */
enum dns_verdict {
	DNS_V_OK = 0,     /* a well-formed query; answer it */
	DNS_V_DROP,       /* not worth an answer: too short, or a response */
	DNS_V_FORMERR,    /* answer FORMERR */
	DNS_V_NOTIMP,     /* answer NOTIMP (opcode we do not implement) */
	DNS_V_BADVERS,    /* answer BADVERS (EDNS version > 0) */
};

/*
 * Parse and validate a query.  Always fills `id` and `flags` when at least a
 * header is present, and the question when it parsed, so that error answers
 * can echo what is known.
 */
enum dns_verdict dns_query_parse(const uint8_t *pkt, size_t len,
				 struct dns_query *q);

/* Number of address bytes an ECS option carries for `source` bits. */
static inline unsigned ecs_addr_bytes(uint8_t source)
{
	return (source + 7u) / 8u;
}
