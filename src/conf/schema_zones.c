/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The schema of zones: (files, transfers, NOTIFY, catalogs, export) and
 * keys: (TSIG); schema.c holds the rest of vaned.conf. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/schema.h"

#define S(field) offsetof(struct vane_conf, field)
#define Z(field) offsetof(struct conf_zone, field)
#define K(field) offsetof(struct conf_key, field)
#define ACL(field) offsetof(struct conf_acl, field)
#define NT(field) offsetof(struct conf_notify, field)

static const struct conf_item notify_items[] = {
	{ .name = "address", .type = CONF_LISTEN, .flags = CONF_REQUIRED | CONF_UNIQUE,
	  .offset = NT(address),
	  .help = "The secondary, \"ADDR@PORT\" or \"ADDR\" (port 53)." },
	{ .name = "key", .type = CONF_STR, .offset = NT(key),
	  .help = "Id of a key in keys: that signs the NOTIFY (TSIG, RFC 8945). Not given: the "
		  "key of the first allow-transfer entry that matches the address and names one, "
		  "else unsigned." },
	{ NULL },
};

/* A plain "ADDR@PORT" entry is the address alone (CONF_SHORT). */
static const struct conf_item notify_elem = {
	.name = "notify", .type = CONF_MAP, .flags = CONF_LINE | CONF_SHORT,
	.children = notify_items, .line_off = NT(line),
};

static const struct conf_item primary_elem = {
	.name = "primary", .type = CONF_LISTEN, .flags = CONF_UNIQUE,
};

static const struct conf_item acl_items[] = {
	{ .name = "address", .type = CONF_STR, .flags = CONF_REQUIRED, .offset = ACL(address),
	  .help = "An IPv4 or IPv6 address, or a prefix ADDR/LEN." },
	{ .name = "key", .type = CONF_STR, .offset = ACL(key),
	  .help = "Id of a key in keys:; requests must be signed with it." },
	{ NULL },
};

static const struct conf_item acl_elem = {
	.name = "allow-transfer", .type = CONF_MAP, .flags = CONF_LINE, .children = acl_items,
	.line_off = ACL(line),
};

static const char *const export_modes[] = { "open", "healthy", "none", NULL };
static const char *const catalog_roles[] = { "none", "generate", NULL };
static const char *const key_algs[] = { "hmac-sha256", "hmac-sha512", NULL };

static const struct conf_item key_items[] = {
	{ .name = "id", .type = CONF_DNAME, .flags = CONF_REQUIRED | CONF_UNIQUE, .offset = K(id),
	  .help = "The key's name, as it appears in TSIG records (a domain name)." },
	{ .name = "algorithm", .type = CONF_ENUM, .flags = CONF_REQUIRED, .offset = K(algorithm),
	  .values = key_algs, .help = "HMAC algorithm (RFC 8945 6)." },
	{ .name = "secret", .type = CONF_STR, .offset = K(secret),
	  .help = "The shared secret, base64, as keymgr or tsig-keygen print it." },
	{ .name = "secret-file", .type = CONF_PATH, .offset = K(secret_file),
	  .help = "A file holding the base64 secret, instead of secret." },
	{ NULL },
};

const struct conf_item conf_key_elem = {
	.name = "key", .type = CONF_MAP, .flags = CONF_LINE, .children = key_items,
	.line_off = K(line),
};

/* file: required, but for a catalog that vaned generates (no file at all)
 * and a secondary zone (primary:; conf/xfr.c checks it has no file). */
static bool check_zone_file(void *base, const struct conf_item *item, char *msg, size_t msgsize)
{
	const struct conf_zone *cz = base;
	bool generated = cz->catalog_role && strcmp(cz->catalog_role, "generate") == 0;
	if (!generated && !cz->file && !cz->nprimary)
		snprintf(msg, msgsize, ".file: missing required key");
	else if (generated && cz->file)
		snprintf(msg, msgsize, ".file: a generated catalog (catalog-role: generate) has "
			 "no file");
	else
		return true;
	return false;
}

static const struct conf_item zone_items[] = {
	{ .name = "name", .type = CONF_DNAME, .flags = CONF_REQUIRED | CONF_UNIQUE,
	  .offset = Z(name),
	  .help = "The zone's apex; each zone may appear once." },
	{ .name = "file", .type = CONF_PATH, .offset = Z(file),
	  .help = "Zone file in RFC 1035 master file format. Required, except for a zone "
		  "transferred from a primary (primary:) and for a catalog zone that vaned "
		  "generates (catalog-role: generate), which have none." },
	{ .name = "primary", .type = CONF_LIST, .offset = Z(primary), .count_off = Z(nprimary),
	  .elem = &primary_elem, .elem_size = sizeof(struct conf_listen), .max = 16,
	  .help = "Makes vaned a secondary for the zone: its primaries, each \"ADDR@PORT\" or "
		  "\"ADDR\" (port 53), tried in order. vaned follows the SOA refresh and retry "
		  "timers (RFC 1034 4.3.5), takes IXFR (RFC 1995) with AXFR (RFC 5936) as the "
		  "fallback, and refreshes at once on a NOTIFY (RFC 1996) from one of these "
		  "addresses; a NOTIFY from anyone else is REFUSED and logged. The transferred "
		  "zone is saved atomically under state-dir (secondary/NAME.zone) and served "
		  "from there at the next start, before the first refresh. When no refresh "
		  "succeeded for the SOA expire time, the zone answers SERVFAIL and an event is "
		  "raised until a refresh succeeds. Not together with file:." },
	{ .name = "key", .type = CONF_STR, .offset = Z(key),
	  .help = "With primary: the id (in keys:) of the TSIG key that signs the SOA queries "
		  "and transfers to the primaries and that a NOTIFY must be signed with." },
	{ .name = "notify", .type = CONF_LIST, .offset = Z(notify), .count_off = Z(nnotify),
	  .elem = &notify_elem, .elem_size = sizeof(struct conf_notify), .max = 64,
	  .help = "Secondaries told of every new serial by NOTIFY (RFC 1996) over UDP, each "
		  "\"ADDR@PORT\" or \"ADDR\" (port 53), or a map { address: \"ADDR@PORT\", key: "
		  "KEYID } to sign it with that key; retried with backoff until acknowledged, "
		  "for at most 5 tries (1+2+4+8 s). Without a key, the NOTIFY is signed with the key "
		  "of the first allow-transfer entry that matches the address and names a key. "
		  "vaned asks each "
		  "target for its SOA every 2 s, to show its serial and lag in zone-status and "
		  "/metrics, and notifies again a secondary still behind after two answers." },
	{ .name = "allow-transfer", .type = CONF_LIST, .offset = Z(allow_transfer),
	  .count_off = Z(nallow_transfer), .elem = &acl_elem,
	  .elem_size = sizeof(struct conf_acl), .max = 256,
	  .help = "Who may transfer the zone (AXFR, IXFR over TCP; IXFR over UDP gets the SOA): "
		  "a list of maps with address (an address or a prefix such as 192.0.2.0/24) and "
		  "key (an id in keys:). With a key, the request must be signed with it (TSIG, "
		  "RFC 8945). Anyone else is REFUSED and the refusal logged. Empty: no transfers." },
	{ .name = "export", .type = CONF_ENUM, .offset = Z(export), .values = export_modes,
	  .def = "open",
	  .help = "Steered names (services:) in transfers, as A and AAAA records in place of "
		  "any at that name in the zone file, with the service's TTL. open: every "
		  "endpoint; a change of endpoints reaches secondaries with the next serial of "
		  "the zone file. healthy: the endpoints up now, that is those that can be in "
		  "some answer: health up (or no check, or no health filter in the policy), not drained, and a weight above 0 "
		  "(a ramp at any step above 0% counts; weight-0 standby endpoints only when "
		  "no other endpoint is up). When every endpoint is down, what the service's "
		  "all-down mode answers: open exports every endpoint not drained, empty and "
		  "servfail export no address (a secondary cannot fail one name). vaned checks "
		  "the set four times per export-interval (at most every 5 s) and, when it "
		  "changed, gives the zone a new serial, at most once per interval "
		  "(max(file serial, last serial + 1), RFC 1982), keeps the difference in the "
		  "IXFR journal and sends NOTIFY (a reload that changes the zone or the set "
		  "exports at once). vaned answers that same serial itself, so "
		  "primary and secondaries agree on it; it can be above the zone file's. "
		  "The last exported serial is kept in server.state-dir (export-serials), and a "
		  "restart continues above it, so secondaries never see it go back; switching "
		  "the zone back to open or none returns to the zone file's serial, so raise that "
		  "above the exported one first. none: the zone file's records only. The "
		  "trade-off: a secondary without steering answers the exported set to everyone, "
		  "so at such a provider the name loses steering (geo, weights, latency), not "
		  "resolution. With open it also keeps answering endpoints that are down or "
		  "drained; with healthy it follows health and drains, but late: by up to "
		  "export-interval plus the transfer (immediate after NOTIFY; else the "
		  "secondary's SOA refresh), plus the record TTL in resolvers." },
	{ .name = "export-interval", .type = CONF_DURATION, .offset = Z(export_interval_ms),
	  .min = 0, .max = 86400 * 1000,
	  .help = "export: healthy only: this zone's interval; unset or 0, the server's "
		  "export-interval." },
	{ .name = "journal-max", .type = CONF_UINT, .offset = Z(journal_max_mb), .min = 0,
	  .max = 65536, .def = "64",
	  .help = "MiB of differences between zone versions kept for IXFR (RFC 1995), computed "
		  "at reload; the oldest go first, and at most 1000 versions are kept. A request "
		  "from a serial no longer kept gets the whole zone. 0: no journal." },
	{ .name = "catalog-role", .type = CONF_ENUM, .offset = Z(catalog_role),
	  .values = catalog_roles, .def = "none",
	  .help = "generate: this zone is a catalog zone (RFC 9432, schema version 2) that "
		  "vaned writes itself, without a file: an SOA and NS with \"invalid.\" names, "
		  "version TXT \"2\", and for every zone whose catalog-zone names it a record "
		  "\"ID.zones PTR member\", ID a hash of the member's name (so it stays the same "
		  "across reloads and restarts). Its serial is the Unix time at start and whenever "
		  "the set of members changes (at least one more than before); a reload that keeps "
		  "the members keeps it. Give it "
		  "notify and allow-transfer like any zone: a secondary that consumes catalogs "
		  "(Knot: catalog-role: interpret) then serves a new member after a reload, with "
		  "no change to its own configuration. Members need allow-transfer for it too. "
		  "A member is listed whether or not its file loads: a consumer keeps the copy it "
		  "has." },
	{ .name = "zonemd", .type = CONF_BOOL, .offset = Z(zonemd), .def = "false",
	  .help = "Put a ZONEMD record (RFC 8976: scheme SIMPLE, SHA-384) at the apex at each "
		  "load, in place of any in the file: a digest of every record of the zone, with "
		  "the SOA's serial and TTL, that secondaries and anyone with a copy of the zone "
		  "can check (Knot: zonemd-verify). zone-status shows it. It costs a pass over the "
		  "zone in canonical order at load (about a second of CPU per million records, "
		  "bench/zonemd.sh). The digest covers the zone as loaded: with export: open, "
		  "steered names reach secondaries as other records than the digest saw, so a "
		  "secondary that verifies it would refuse the zone; use export: none there. "
		  "A zone file signed with DNSSEC keeps its old RRSIG over the ZONEMD, which no "
		  "longer matches." },
	{ .name = "catalog-zone", .type = CONF_DNAME, .offset = Z(catalog_zone),
	  .help = "The catalog zone (a zone of this file with catalog-role: generate) that "
		  "lists this zone as a member." },
	{ NULL },
};

const struct conf_item conf_zone_elem = {
	.name = "zone", .type = CONF_MAP, .flags = CONF_LINE, .children = zone_items,
	.line_off = Z(line), .check = check_zone_file,
};
