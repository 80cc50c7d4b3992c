/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * MaxMind DB backend (GeoIP2/GeoLite2 Country or City, DB-IP and other files
 * with the same schema).  libmaxminddb documents lookups on an MMDB_s opened
 * with MMDB_MODE_MMAP as thread-safe; nothing here writes shared state.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <maxminddb.h>

#include "geo/internal.h"

struct geo_mmdb {
	MMDB_s db;
	unsigned v4_base; /* depth where IPv4 starts in this tree's netmasks */
};

int geo_mmdb_open(const char *path, struct geo_report *rep, struct geo_mmdb **out)
{
	struct geo_mmdb *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return VANE_ENOMEM;
	int r = MMDB_open(path, MMDB_MODE_MMAP, &m->db);
	if (r != MMDB_SUCCESS) {
		int ret = VANE_EMALF;
		if (r == MMDB_FILE_OPEN_ERROR) {
			ret = errno ? -errno : VANE_ENOENT;
			geo_error(rep, path, 0, "cannot open geo database: %s",
				  strerror(-ret));
		} else {
			geo_error(rep, path, 0, "not a valid MaxMind DB: %s",
				  MMDB_strerror(r));
		}
		free(m);
		return ret;
	}
	/* An IPv6 tree reports netmasks of IPv4 lookups in IPv6 terms
	 * (::ffff:0:0/96 or ::/96 subtree); an IPv4 tree in IPv4 terms. */
	m->v4_base = m->db.metadata.ip_version == 6 ? GEO_V4_DEPTH : 0;
	/* Older libmaxminddb finds the IPv4 start node lazily on the first
	 * IPv4 lookup; do that here, before readers share the handle. */
	struct sockaddr_in sin = { .sin_family = AF_INET };
	(void)MMDB_lookup_sockaddr(&m->db, (struct sockaddr *)&sin, &r);
	*out = m;
	return 0;
}

void geo_mmdb_close(struct geo_mmdb *m)
{
	if (m == NULL)
		return;
	MMDB_close(&m->db);
	free(m);
}

static void get_code(MMDB_entry_s *e, char out[2], const char *k1, const char *k2)
{
	MMDB_entry_data_s d;
	if (MMDB_get_value(e, &d, k1, k2, NULL) == MMDB_SUCCESS && d.has_data &&
	    d.type == MMDB_DATA_TYPE_UTF8_STRING && d.data_size == 2)
		memcpy(out, d.utf8_string, 2);
}

static bool get_double(MMDB_entry_s *e, const char *k1, const char *k2, double *out)
{
	MMDB_entry_data_s d;
	if (MMDB_get_value(e, &d, k1, k2, NULL) != MMDB_SUCCESS || !d.has_data)
		return false;
	if (d.type == MMDB_DATA_TYPE_DOUBLE)
		*out = d.double_value;
	else if (d.type == MMDB_DATA_TYPE_FLOAT)
		*out = d.float_value;
	else
		return false;
	return true;
}

void geo_mmdb_lookup(const struct geo_mmdb *m, const uint8_t a[16], struct geo_hit *hit)
{
	static const uint8_t v4map[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} sa;
	bool v4 = memcmp(a, v4map, 12) == 0;
	int err = 0;

	memset(hit, 0, sizeof(*hit));
	memset(&sa, 0, sizeof(sa));
	if (v4) {
		sa.in.sin_family = AF_INET;
		memcpy(&sa.in.sin_addr, a + 12, 4);
	} else {
		sa.in6.sin6_family = AF_INET6;
		memcpy(&sa.in6.sin6_addr, a, 16);
	}
	MMDB_lookup_result_s res = MMDB_lookup_sockaddr(&m->db, &sa.sa, &err);
	if (err != MMDB_SUCCESS) {
		/* IPv6 address in an IPv4-only file: unknown, scope ::/0 is
		 * wrong, the file says nothing about any IPv6 address though. */
		hit->scope = 0;
		return;
	}
	/* The netmask is the depth where the tree walk ended, the same scope
	 * notion as the libloc walk; move it into IPv6 terms. */
	unsigned scope = res.netmask + (v4 ? GEO_V4_DEPTH - m->v4_base : 0);
	hit->scope = scope > 128 ? 128 : scope;
	if (!res.found_entry)
		return;
	get_code(&res.entry, hit->country, "country", "iso_code");
	if (!hit->country[0])
		get_code(&res.entry, hit->country, "registered_country", "iso_code");
	get_code(&res.entry, hit->continent, "continent", "code");
	double lat, lon;
	if (get_double(&res.entry, "location", "latitude", &lat) &&
	    get_double(&res.entry, "location", "longitude", &lon)) {
		geo_hit_set_coords(hit, lat, lon);
	}
}
