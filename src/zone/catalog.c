/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "lib/pkt.h"
#include "zone/catalog.h"

int catalog_member_id(const char *member, char *out)
{
	uint8_t wire[DNAME_MAXLEN], md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int len = dname_from_str(member, NULL, wire);
	if (len <= 0)
		return len < 0 ? len : VANE_EINVAL;
	dname_lower(wire);
	if (!EVP_Digest(wire, (size_t)len, md, &mdlen, EVP_sha256(), NULL))
		return VANE_ENOMEM;
	for (unsigned i = 0; i < CATALOG_ID_LEN / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int catalog_text(const char *catalog, const char *const *members, unsigned n,
		 uint32_t serial, char **text, size_t *len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	if (!f)
		return VANE_ENOMEM;
	/* RFC 9432 4: the SOA and NS are only there to make a valid zone;
	 * "invalid." says no one should resolve through them.  TTL 0: the
	 * catalog is for transfers, never for caches (4, "should be 0"). */
	fprintf(f, "$ORIGIN %s\n"
		"@ 0 IN SOA invalid. invalid. %u 3600 600 2147483646 0\n"
		"@ 0 IN NS invalid.\n"
		"version 0 IN TXT \"2\"\n", catalog, serial);
	int ret = 0;
	for (unsigned i = 0; i < n && ret == 0; i++) {
		char id[CATALOG_ID_LEN + 1];
		ret = catalog_member_id(members[i], id);
		if (ret == 0)
			fprintf(f, "%s.zones 0 IN PTR %s\n", id, members[i]);
	}
	if (fclose(f) != 0 && ret == 0)
		ret = VANE_ENOMEM;
	if (ret != 0) {
		free(buf);
		return ret;
	}
	*text = buf;
	*len = size;
	return 0;
}

/* The member's PTR node in `z`, checked against the member's name. */
static bool has_member(const struct zone *z, const char *member)
{
	char id[CATALOG_ID_LEN + 1], owner[DNAME_MAXSTR + 32];
	uint8_t wire[DNAME_MAXLEN], target[DNAME_MAXLEN];
	char apex[DNAME_MAXSTR];
	if (catalog_member_id(member, id) != 0)
		return false;
	dname_to_str(z->apex, apex, sizeof(apex));
	snprintf(owner, sizeof(owner), "%s.zones.%s", id, apex);
	int len = dname_from_str(owner, NULL, wire);
	int tlen = dname_from_str(member, NULL, target);
	if (len <= 0 || tlen <= 0)
		return false;
	dname_lower(wire);
	dname_lower(target);
	const struct znode *node = zone_find(z, wire, (size_t)len);
	const struct rrset *ptr = node ? znode_rrset(node, DNS_PTR) : NULL;
	if (!ptr || ptr->count != 1 || ptr->rdata_len != 2u + (unsigned)tlen)
		return false;
	uint8_t got[DNAME_MAXLEN];
	memcpy(got, ptr->rdata + 2, (size_t)tlen);
	dname_lower(got);
	return memcmp(got, target, (size_t)tlen) == 0;
}

bool catalog_same(const struct zone *prev, const char *const *members, unsigned n)
{
	/* SOA, NS and version, then one PTR per member and nothing else. */
	if (!prev || prev->nrecords != n + 3)
		return false;
	for (unsigned i = 0; i < n; i++)
		if (!has_member(prev, members[i]))
			return false;
	return true;
}
