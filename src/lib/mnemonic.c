/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/mnemonic.h"

static const struct { uint16_t type; const char *name; } type_names[] = {
	{ 1, "A" }, { 2, "NS" }, { 5, "CNAME" }, { 6, "SOA" }, { 12, "PTR" },
	{ 13, "HINFO" }, { 15, "MX" }, { 16, "TXT" }, { 17, "RP" }, { 18, "AFSDB" },
	{ 24, "SIG" }, { 25, "KEY" }, { 28, "AAAA" }, { 29, "LOC" }, { 33, "SRV" },
	{ 35, "NAPTR" }, { 36, "KX" }, { 37, "CERT" }, { 39, "DNAME" }, { 41, "OPT" },
	{ 42, "APL" }, { 43, "DS" }, { 44, "SSHFP" }, { 45, "IPSECKEY" },
	{ 46, "RRSIG" }, { 47, "NSEC" }, { 48, "DNSKEY" }, { 49, "DHCID" },
	{ 50, "NSEC3" }, { 51, "NSEC3PARAM" }, { 52, "TLSA" }, { 53, "SMIMEA" },
	{ 55, "HIP" }, { 59, "CDS" }, { 60, "CDNSKEY" }, { 61, "OPENPGPKEY" },
	{ 62, "CSYNC" }, { 63, "ZONEMD" }, { 64, "SVCB" }, { 65, "HTTPS" },
	{ 99, "SPF" }, { 108, "EUI48" }, { 109, "EUI64" }, { 249, "TKEY" },
	{ 250, "TSIG" }, { 251, "IXFR" }, { 252, "AXFR" }, { 253, "MAILB" },
	{ 254, "MAILA" }, { 255, "ANY" }, { 256, "URI" }, { 257, "CAA" },
};

static const char *const rcode_names[] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
	[16] = "BADVERS", [23] = "BADCOOKIE",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* "TYPE65280" / "RCODE12": a decimal number after the prefix, in range. */
static int numeric(const char *name, const char *prefix, unsigned long max)
{
	size_t pl = strlen(prefix);
	char *end;
	if (strncasecmp(name, prefix, pl) != 0 || name[pl] < '0' || name[pl] > '9')
		return -1;
	unsigned long v = strtoul(name + pl, &end, 10);
	return (*end || v > max) ? -1 : (int)v;
}

const char *dns_type_name(uint16_t type, char *buf, unsigned size)
{
	for (size_t i = 0; i < COUNT(type_names); i++)
		if (type_names[i].type == type)
			return type_names[i].name;
	snprintf(buf, size, "TYPE%u", type);
	return buf;
}

int dns_type_from_name(const char *name)
{
	for (size_t i = 0; i < COUNT(type_names); i++)
		if (strcasecmp(name, type_names[i].name) == 0)
			return type_names[i].type;
	return numeric(name, "TYPE", 65535);
}

const char *dns_rcode_name(unsigned rcode, char *buf, unsigned size)
{
	if (rcode < COUNT(rcode_names) && rcode_names[rcode])
		return rcode_names[rcode];
	snprintf(buf, size, "RCODE%u", rcode);
	return buf;
}

int dns_rcode_from_name(const char *name)
{
	for (size_t i = 0; i < COUNT(rcode_names); i++)
		if (rcode_names[i] && strcasecmp(name, rcode_names[i]) == 0)
			return (int)i;
	return numeric(name, "RCODE", 4095);
}
