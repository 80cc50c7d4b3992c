/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The one configuration schema.  Parsing, validation, defaults, freeing and
 * vaned.conf(5) all come from these tables; a new setting is a new entry.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/schema.h"

#define S(field) offsetof(struct vane_conf, field)
#define C(field) offsetof(struct conf_check, field)
#define SV(field) offsetof(struct conf_service, field)
#define EP(field) offsetof(struct conf_endpoint, field)
#define LOC(field) offsetof(struct conf_location, field)

/* udp-workers: one per online CPU, within the item's range. */
static const char *default_ncpu(char *buf, size_t size)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > 64)
		n = 64;
	snprintf(buf, size, "%ld", n);
	return buf;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* NSID (RFC 5001): "hex:0a0b..." for raw bytes, anything else as text. */
static bool check_nsid(void *base, const struct conf_item *item, char *msg, size_t msgsize)
{
	struct vane_conf *conf = base;
	const char *s = conf->nsid;
	size_t n = 0;

	if (strncmp(s, "hex:", 4) == 0) {
		s += 4;
		size_t len = strlen(s);
		if (len == 0 || len % 2 != 0) {
			snprintf(msg, msgsize, "expected an even number of hex digits after \"hex:\"");
			return false;
		}
		n = len / 2;
		for (size_t i = 0; i < n; i++, s += 2) {
			int hi = hexval((unsigned char)s[0]), lo = hexval((unsigned char)s[1]);
			if (hi < 0 || lo < 0) {
				snprintf(msg, msgsize, "invalid hex digit in \"%.2s\"", s);
				return false;
			}
			if (i < CONF_NSID_MAX)
				conf->nsid_data[i] = (uint8_t)(hi << 4 | lo);
		}
	} else {
		n = strlen(s);
		if (n <= CONF_NSID_MAX)
			memcpy(conf->nsid_data, s, n);
	}
	if (n == 0 || n > CONF_NSID_MAX) {
		snprintf(msg, msgsize, "expected 1..%u bytes, got %s", CONF_NSID_MAX,
			 n ? "more" : "none");
		return false;
	}
	conf->nsid_len = (unsigned)n;
	return true;
}

static const char *const log_levels[] = { "error", "warning", "info", "debug", NULL };
static const char *const log_targets[] = { "stderr", "syslog", NULL };

static const struct conf_item listen_elem = {
	.name = "listen", .type = CONF_LISTEN, .flags = CONF_UNIQUE,
};

static const struct conf_item server_items[] = {
	{ .name = "listen", .type = CONF_LIST, .offset = S(listen),
	  .count_off = S(nlisten), .elem = &listen_elem, .elem_size = sizeof(struct conf_listen),
	  .min = 1, .def = "127.0.0.1@53", .flags = CONF_RESTART | CONF_NODE,
	  .help = "Addresses to serve DNS on (UDP and TCP), each \"ADDR@PORT\" or \"ADDR\" "
		  "for port 53. IPv6 addresses are written without brackets, e.g. \"::1@5300\". "
		  "A single address may be given without the list." },
	{ .name = "udp-workers", .type = CONF_UINT, .offset = S(udp_workers), .flags = CONF_RESTART,
	  .min = 1, .max = 64, .def_fn = default_ncpu, .def_doc = "number of online CPUs",
	  .help = "UDP worker threads, each with its own SO_REUSEPORT socket." },
	{ .name = "tcp-max-clients", .type = CONF_UINT, .offset = S(tcp_max_clients),
	  .min = 1, .max = 100000, .def = "1000",
	  .help = "Most TCP connections open at once, so TCP clients cannot exhaust the "
		  "server (RFC 7766 section 6.2.2)." },
	{ .name = "tcp-idle-timeout", .type = CONF_DURATION, .offset = S(tcp_idle_timeout_ms),
	  .min = 100, .max = 86400 * 1000, .def = "10s",
	  .help = "Close a TCP connection idle for this long (RFC 7766 section 6.2.3)." },
	{ .name = "tcp-max-per-address", .type = CONF_UINT, .offset = S(tcp_max_per_addr),
	  .min = 1, .max = 100000, .def = "50",
	  .help = "Most TCP connections open at once from one client address, so that one "
		  "client cannot take the whole tcp-max-clients table (RFC 7766 section "
		  "6.2.2). Connections over either limit are refused; live ones are "
		  "never closed to make room." },
	{ .name = "tcp-first-query-timeout", .type = CONF_DURATION,
	  .offset = S(tcp_first_query_ms), .min = 100, .max = 86400 * 1000, .def = "2s",
	  .help = "Close a TCP connection that sends no complete query within this long "
		  "of connecting (slow clients hold no slot); after the first query the "
		  "idle timeout applies." },
	{ .name = "tcp-buffer-limit", .type = CONF_UINT, .offset = S(tcp_buffer_limit),
	  .min = 1048576, .max = 4000000000U, .def = "67108864",
	  .help = "Bytes that all TCP connections together may hold in buffers (queries "
		  "read, answers not yet written). A connection that needs more is closed; "
		  "one that holds more than 64 KiB of answers its client does not read is "
		  "closed too." },
	{ .name = "max-udp-payload", .type = CONF_UINT, .offset = S(max_udp_payload),
	  .min = 512, .max = 4096, .def = "1232",
	  .help = "Largest UDP response, whatever the client's EDNS buffer size says; "
		  "1232 avoids IP fragmentation (DNS flag day 2020)." },
	{ .name = "control", .type = CONF_PATH, .offset = S(control), .def = "run/vaned.sock",
	  .flags = CONF_RESTART | CONF_NODE,
	  .help = "Unix socket for vanectl. Its directory is created when missing." },
	{ .name = "state-dir", .type = CONF_PATH, .offset = S(state_dir), .flags = CONF_NODE,
	  .def = "state",
	  .help = "Directory for state the daemon keeps between runs." },
	{ .name = "deletion-guard", .type = CONF_DURATION, .offset = S(deletion_guard_ms),
	  .min = 0, .max = 7 * 86400 * 1000, .def = "15m",
	  .help = "A reload that would delete a name (from a zone, or a steered service "
		  "with no record left at its name) that a query named within this long is "
		  "refused, naming it: resolvers would cache its NXDOMAIN for the zone's "
		  "negative TTL, a \"zombie\" outage that outlives any undo. The zone (or, "
		  "for a service, the whole configuration) keeps serving as it was; "
		  "`vanectl reload --force` deletes anyway. A steered service deleted by a "
		  "reload keeps its TTL as the negative TTL at and below its name for this "
		  "long, so putting it back shows within the service TTL. 0 turns both off." },
	{ .name = "export-interval", .type = CONF_DURATION, .offset = S(export_interval_ms),
	  .min = 1000, .max = 86400 * 1000, .def = "30s",
	  .help = "For zones with export: healthy: the exported serial moves at most once "
		  "per interval, when the set of endpoints up changed, and the secondaries are "
		  "told (NOTIFY). A zone's own export-interval overrides it." },
	{ .name = "nsid", .type = CONF_STR, .offset = S(nsid), .flags = CONF_NODE, .check = check_nsid,
	  .help = "EDNS name server identifier (RFC 5001) returned when asked: text, or "
		  "\"hex:\" followed by the bytes in hex; at most 64 bytes. Off when not set." },
	{ .name = "identity", .type = CONF_STR, .offset = S(identity), .flags = CONF_NODE,
	  .help = "Answer to CH TXT id.server and hostname.bind queries. "
		  "Refused when not set." },
	{ .name = "version", .type = CONF_STR, .offset = S(version),
	  .help = "Answer to CH TXT version.server and version.bind queries. "
		  "Refused when not set." },
	{ .name = "log-level", .type = CONF_ENUM, .offset = S(log_level),
	  .values = log_levels, .def = "info",
	  .help = "Least severe message written to the log." },
	{ .name = "log", .type = CONF_ENUM, .offset = S(log_target),
	  .values = log_targets, .def = "stderr", .flags = CONF_RESTART,
	  .help = "Where log lines go: stderr, or syslog (facility daemon, ident vaned)." },
	{ .name = "user", .type = CONF_STR, .offset = S(user), .flags = CONF_RESTART | CONF_NODE,
	  .help = "After binding its sockets and creating the control socket and state "
		  "directory, vaned switches to this user and its primary group "
		  "(setgroups, setgid, setuid). Stays as started when not set." },
	{ NULL },
};

static const struct conf_item http_items[] = {
	{ .name = "listen", .type = CONF_LISTEN, .offset = S(http_listen),
	  .flags = CONF_RESTART | CONF_NODE,
	  .help = "Address of the HTTP API, metrics and dashboard, \"ADDR@PORT\". "
		  "The HTTP server is off when not set." },
	{ .name = "token-file", .type = CONF_PATH, .offset = S(http_token_file),
	  .flags = CONF_RESTART | CONF_NODE,
	  .help = "File holding the bearer token that POST requests must send "
		  "(Authorization: Bearer TOKEN). Without it every write is refused. "
		  "Read at start." },
	{ .name = "lab-reports", .type = CONF_PATH, .offset = S(http_lab_reports),
	  .flags = CONF_RESTART | CONF_NODE,
	  .help = "Directory where vane-lab writes its reports (vane-lab run --out DIR). "
		  "The dashboard then lists the newest at GET /api/v1/lab-reports and "
		  "serves their HTML and JSON read-only under /lab-reports/; nothing "
		  "outside the directory, no symlinks and no other file types. Not "
		  "served when not set." },
	{ NULL },
};

static const struct conf_item dnstap_items[] = {
	{ .name = "socket", .type = CONF_PATH, .offset = S(dnstap_socket),
	  .flags = CONF_RESTART | CONF_NODE,
	  .help = "Unix socket of a dnstap collector (Frame Streams, content type "
		  "protobuf:dnstap.Dnstap), e.g. fstrm_capture -u. dnstap is off when not set. "
		  "vaned reconnects when the collector goes away." },
	{ .name = "sample", .type = CONF_UINT, .offset = S(dnstap_sample),
	  .min = 1, .max = 1000000, .def = "1",
	  .help = "Log one query in this many, per UDP worker, to bound the cost." },
	{ .name = "log-queries", .type = CONF_BOOL, .offset = S(dnstap_log_queries),
	  .def = "true", .help = "Send AUTH_QUERY messages." },
	{ .name = "log-responses", .type = CONF_BOOL, .offset = S(dnstap_log_responses),
	  .def = "true", .help = "Send AUTH_RESPONSE messages." },
	{ .name = "identity", .type = CONF_STR, .offset = S(dnstap_identity), .flags = CONF_NODE,
	  .def_doc = "the host name", .help = "dnstap identity field." },
	{ .name = "version", .type = CONF_STR, .offset = S(dnstap_version),
	  .def_doc = "vaned and its version", .help = "dnstap version field." },
	{ NULL },
};

/* An element of rrl `exempt:`: "ADDR/LEN" or a bare address. */
static bool check_prefix(void *base, const struct conf_item *item, char *msg, size_t msgsize)
{
	const char *s = *(char **)base;
	const char *slash = strchr(s, '/');
	char a[64];
	uint8_t bytes[16];
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned max = 0;

	if (alen > 0 && alen < sizeof(a)) {
		memcpy(a, s, alen);
		a[alen] = '\0';
		if (inet_pton(AF_INET, a, bytes) == 1)
			max = 32;
		else if (inet_pton(AF_INET6, a, bytes) == 1)
			max = 128;
	}
	if (max && slash) {
		char *end;
		unsigned long v = strtoul(slash + 1, &end, 10);
		if (!isdigit((unsigned char)slash[1]) || *end || v > max)
			max = 0;
	}
	if (max)
		return true;
	snprintf(msg, msgsize, "expected ADDR/LEN or ADDR (IPv4 or IPv6), got \"%.64s\"", s);
	return false;
}

/* The cookie secret: 16 bytes in hex, shared by every server of an anycast
 * set so that each accepts the others' cookies (RFC 9018 3). */
static bool check_cookie_secret(void *base, const struct conf_item *item, char *msg,
				size_t msgsize)
{
	struct vane_conf *conf = base;
	const char *s = conf->cookie_secret;
	if (strlen(s) != 2 * CONF_COOKIE_SECRET_LEN) {
		snprintf(msg, msgsize, "expected %u hex digits (%u bytes)",
			 2 * CONF_COOKIE_SECRET_LEN, CONF_COOKIE_SECRET_LEN);
		return false;
	}
	for (unsigned i = 0; i < CONF_COOKIE_SECRET_LEN; i++, s += 2) {
		int hi = hexval((unsigned char)s[0]), lo = hexval((unsigned char)s[1]);
		if (hi < 0 || lo < 0) {
			snprintf(msg, msgsize, "invalid hex digit in \"%.2s\"", s);
			return false;
		}
		conf->cookie_secret_data[i] = (uint8_t)(hi << 4 | lo);
	}
	conf->cookie_has_secret = true;
	return true;
}

/* cookies.rotate: 0 (never), or at least the one-hour life of a cookie. */
static bool check_rotate(void *base, const struct conf_item *item, char *msg, size_t msgsize)
{
	unsigned ms = ((struct vane_conf *)base)->cookie_rotate_ms;
	if (ms == 0 || ms >= 3600 * 1000)
		return true;
	snprintf(msg, msgsize, "expected 0 (never) or at least 1h, the life of a cookie");
	return false;
}

static const struct conf_item exempt_elem = {
	.name = "exempt", .type = CONF_STR, .flags = CONF_UNIQUE, .check = check_prefix,
};

static const struct conf_item rrl_items[] = {
	{ .name = "rate", .type = CONF_UINT, .flags = CONF_RESTART, .offset = S(rrl_rate), .min = 0, .max = 1000000,
	  .def = "200",
	  .help = "Answers per second per client prefix and response class (positive, "
		  "NODATA, NXDOMAIN, referral, error, wildcard) over UDP, with bursts of one "
		  "second's worth; 0 turns rate limiting off. On by default so that a server "
		  "facing the internet cannot be used to amplify a spoofed flood: 200/s is "
		  "far above what one resolver network asks one authoritative server for, "
		  "while a flood from one prefix gets at most 200 answers a second per class. "
		  "Limited answers count too, up to one second of debt (as in BIND and NSD), "
		  "so a flood that stays above the rate gets slipped answers only. "
		  "TCP is never limited." },
	{ .name = "slip", .type = CONF_UINT, .flags = CONF_RESTART, .offset = S(rrl_slip), .min = 0, .max = 100,
	  .def = "2",
	  .help = "Every Nth limited answer is sent truncated (TC=1, no records), so a real "
		  "client whose address is being spoofed retries over TCP; the others are "
		  "dropped. 0 drops all, 1 truncates all. 2 keeps the reflected bytes below "
		  "the flood's own size (BIND and Knot use 2)." },
	{ .name = "ipv4-prefix", .type = CONF_UINT, .flags = CONF_RESTART, .offset = S(rrl_ipv4_prefix), .min = 8,
	  .max = 32, .def = "24",
	  .help = "IPv4 clients in one prefix of this length share their buckets." },
	{ .name = "ipv6-prefix", .type = CONF_UINT, .flags = CONF_RESTART, .offset = S(rrl_ipv6_prefix), .min = 32,
	  .max = 128, .def = "56",
	  .help = "IPv6 clients in one prefix of this length share their buckets." },
	{ .name = "exempt", .type = CONF_LIST, .flags = CONF_RESTART, .offset = S(rrl_exempt),
	  .count_off = S(rrl_nexempt), .elem = &exempt_elem, .elem_size = sizeof(char *),
	  .max = 256,
	  .help = "Prefixes never limited, \"ADDR/LEN\" or a single address, e.g. a "
		  "monitoring host. Clients with a valid DNS server cookie are never limited "
		  "either." },
	{ .name = "table-size", .type = CONF_UINT, .flags = CONF_RESTART, .offset = S(rrl_table_size), .min = 1024,
	  .max = 1 << 26, .def = "65536",
	  .help = "Buckets in the limiter's table (32 bytes each, rounded up to a power of "
		  "two), shared by all UDP workers. Should exceed the number of client prefixes "
		  "active in any one second; the rrl_evicted counter says when it does not." },
	{ NULL },
};

static const struct conf_item cookie_items[] = {
	{ .name = "enabled", .type = CONF_BOOL, .offset = S(cookies_enabled), .def = "true",
	  .help = "Answer a COOKIE option with a server cookie (RFC 7873, made as RFC 9018 "
		  "specifies). A valid server cookie proves the client's address, so its "
		  "answers are never rate limited." },
	{ .name = "secret", .type = CONF_STR, .offset = S(cookie_secret),
	  .check = check_cookie_secret, .def_doc = "random at each start",
	  .help = "Master secret, 32 hex digits. Give every server of an anycast set the "
		  "same one so that each accepts the others' cookies. Keep the file private." },
	{ .name = "rotate", .type = CONF_DURATION, .offset = S(cookie_rotate_ms),
	  .min = 0, .max = 30u * 86400 * 1000, .def = "1d", .check = check_rotate,
	  .help = "The secret in use changes this often (derived from the master secret by "
		  "SipHash over the interval's number); cookies made with the previous one "
		  "are accepted for one more interval. At least an hour, the life of a cookie "
		  "(RFC 9018 4.3). 0 uses the master secret itself and never rotates: set "
		  "that when other vendors' servers (BIND, Knot) share the secret, as RFC 9018 "
		  "cookies across vendors need the same key." },
	{ .name = "require-cookie", .type = CONF_BOOL, .offset = S(require_cookie),
	  .def = "false",
	  .help = "Answer UDP queries that carry a COOKIE option without a valid server "
		  "cookie with BADCOOKIE and a fresh cookie (RFC 7873 5.2.3), so only clients "
		  "that proved their address get full answers over UDP. Queries without any "
		  "COOKIE option and all TCP queries are answered as usual." },
	{ NULL },
};

/* ---- geo, latency, checks, services ---- */

static bool is_ip(const char *s)
{
	uint8_t a[16];
	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* An element of `address:`; `base` is the element itself. */
static bool check_ip(void *base, const struct conf_item *item, char *msg, size_t msgsize)
{
	if (is_ip(*(char **)base))
		return true;
	snprintf(msg, msgsize, "expected an IPv4 or IPv6 address, got \"%.64s\"", *(char **)base);
	return false;
}

static bool check_check_address(void *base, const struct conf_item *item, char *msg,
				size_t msgsize)
{
	struct conf_endpoint *ep = base;
	if (is_ip(ep->check_address))
		return true;
	snprintf(msg, msgsize, "expected an IPv4 or IPv6 address, got \"%.64s\"",
		 ep->check_address);
	return false;
}

/* Ids name endpoints in "service/endpoint" keys, logs and vanectl
 * arguments: keep them to a plain, short charset. */
static bool check_id(void *base, const struct conf_item *item, char *msg, size_t msgsize)
{
	const char *id = *(char **)((char *)base + item->offset);
	size_t n = strlen(id);
	if (n == 0 || n > 63) {
		snprintf(msg, msgsize, "expected 1..63 characters, got %zu", n);
		return false;
	}
	for (const char *c = id; *c; c++) {
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.') {
			snprintf(msg, msgsize, "\"%.63s\": only letters, digits, '-', '_' and '.' "
				 "are allowed", id);
			return false;
		}
	}
	return true;
}

static bool check_country(void *base, const struct conf_item *item, char *msg, size_t msgsize)
{
	char *cc = ((struct conf_location *)base)->country;
	if (strlen(cc) != 2 || !isalpha((unsigned char)cc[0]) || !isalpha((unsigned char)cc[1])) {
		snprintf(msg, msgsize, "expected a two-letter ISO 3166-1 code such as DE, got \"%.16s\"",
			 cc);
		return false;
	}
	cc[0] = (char)toupper((unsigned char)cc[0]);
	cc[1] = (char)toupper((unsigned char)cc[1]);
	return true;
}

static bool mark_lat(void *base, const struct conf_item *item, char *msg, size_t msgsize)
{
	((struct conf_location *)base)->has_lat = true;
	return true;
}

static bool mark_lon(void *base, const struct conf_item *item, char *msg, size_t msgsize)
{
	((struct conf_location *)base)->has_lon = true;
	return true;
}

static const struct conf_item geo_items[] = {
	{ .name = "database", .type = CONF_PATH, .offset = S(geo_database),
	  .def_doc = "/var/lib/location/database.db (Debian's libloc-database)",
	  .help = "Geo database: libloc format, or MaxMind DB when the name ends in .mmdb. "
		  "Opened when a service uses the geo or latency filter, or when this section "
		  "is given; a database that cannot be opened is a configuration error." },
	{ .name = "nets", .type = CONF_PATH, .offset = S(geo_nets),
	  .help = "Optional overrides, one per line: \"CIDR CONTINENT COUNTRY [LAT LON]\", "
		  "'#' comments. The longest matching override wins over the database." },
	{ NULL },
};

static const struct conf_item latency_items[] = {
	{ .name = "file", .type = CONF_PATH, .offset = S(latency_file),
	  .help = "Latency table loaded at start and on reload, one measurement per line: "
		  "\"SERVICE ENDPOINT CLIENT RTT_MS\", where CLIENT is a CIDR, a country code "
		  "(DE) or a continent code (EU); '#' comments. vanectl latency and "
		  "latency-load change it at runtime." },
	{ NULL },
};

static const struct conf_item anycast_addr_elem = {
	.name = "addresses", .type = CONF_LISTEN, .flags = CONF_UNIQUE,
};

static const struct conf_item anycast_peer_elem = {
	.name = "peers", .type = CONF_STR, .flags = CONF_UNIQUE,
};

static const struct conf_item anycast_check_items[] = {
	{ .name = "name", .type = CONF_DNAME, .offset = S(anycast_check_name),
	  .flags = CONF_RESTART,
	  .help = "Canary name asked (type A) through each anycast address; the check "
		  "passes on NOERROR with an answer. Required when anycast is on." },
	{ .name = "interval", .type = CONF_DURATION, .offset = S(anycast_check_interval_ms),
	  .flags = CONF_RESTART,
	  .min = 50, .max = 60000, .def = "1s", .help = "Time between self-checks." },
	{ .name = "timeout", .type = CONF_DURATION, .offset = S(anycast_check_timeout_ms),
	  .flags = CONF_RESTART,
	  .min = 10, .max = 10000, .def = "500ms",
	  .help = "A self-check query unanswered for this long fails." },
	{ .name = "rise", .type = CONF_UINT, .offset = S(anycast_check_rise),
	  .flags = CONF_RESTART, .min = 1, .max = 100,
	  .def = "3", .help = "Passing self-checks in a row before the address is announced." },
	{ .name = "fall", .type = CONF_UINT, .offset = S(anycast_check_fall),
	  .flags = CONF_RESTART, .min = 1, .max = 100,
	  .def = "2", .help = "Failing self-checks in a row before it is withdrawn." },
	{ NULL },
};

static const struct conf_item anycast_items[] = {
	{ .name = "addresses", .type = CONF_LIST, .offset = S(anycast_addr),
	  .count_off = S(nanycast_addr), .elem = &anycast_addr_elem,
	  .elem_size = sizeof(struct conf_listen), .flags = CONF_RESTART,
	  .help = "Service addresses announced through BIRD, \"ADDR\" (port 53) or "
		  "\"ADDR@PORT\"; they must be on a local interface (lo). vaned also listens "
		  "on them. Anycast is off when none is given." },
	{ .name = "bird-socket", .type = CONF_PATH, .offset = S(anycast_bird_socket),
	  .def = "/run/bird/bird.ctl", .flags = CONF_RESTART,
	  .help = "BIRD's control socket; vaned speaks the birdc line protocol on it." },
	{ .name = "protocol", .type = CONF_STR, .offset = S(anycast_protocol), .def = "anycast",
	  .flags = CONF_RESTART,
	  .help = "The BIRD protocol (a static protocol exported to BGP) that vaned enables "
		  "to announce and disables to withdraw." },
	{ .name = "uplink", .type = CONF_STR, .offset = S(anycast_uplink), .flags = CONF_RESTART,
	  .help = "A BIRD protocol (the BGP session to the router) that must be up for the "
		  "self-check to pass, so that after a link failure the route comes back "
		  "only through rise passing checks. None when not set." },
	{ .name = "self-check", .type = CONF_MAP, .children = anycast_check_items,
	  .help = "The check that gates the announcement: the canary query through the "
		  "anycast address (hard: cannot answer) and every zone loaded (soft)." },
	{ .name = "hold-down", .type = CONF_DURATION, .offset = S(anycast_hold_down_ms),
	  .flags = CONF_RESTART,
	  .min = 0, .max = 3600 * 1000, .def = "10s",
	  .help = "Least time between a withdraw and the next announce, and between an "
		  "announce and a withdraw for a soft reason, so the route does not flap. A "
		  "hard failure and a stop withdraw at once." },
	{ .name = "drain-time", .type = CONF_DURATION, .offset = S(anycast_drain_ms),
	  .flags = CONF_RESTART,
	  .min = 0, .max = 600 * 1000, .def = "2s",
	  .help = "On stop: keep answering this long after withdrawing, while routers "
		  "converge, so a planned restart loses no query." },
	{ .name = "bird-timeout", .type = CONF_DURATION, .offset = S(anycast_bird_timeout_ms),
	  .flags = CONF_RESTART,
	  .min = 100, .max = 60000, .def = "2s",
	  .help = "A BIRD command unanswered for this long fails and the connection is "
		  "made again." },
	{ .name = "peers", .type = CONF_LIST, .offset = S(anycast_peers),
	  .flags = CONF_RESTART,
	  .count_off = S(nanycast_peers), .elem = &anycast_peer_elem, .elem_size = sizeof(char *),
	  .help = "Other sites' HTTP APIs (\"http://ADDR:PORT\"), asked (GET /api/v1/anycast) "
		  "before a withdraw for a soft reason: the last healthy site never "
		  "withdraws for a soft reason.  Without peers, a node in a cluster (cluster:) "
		  "takes the other nodes' anycast state from their records in etcd." },
	{ NULL },
};

static const char *const check_types[] = { "tcp", "http", "https", "dns", "exec", NULL };

static const struct conf_item check_items[] = {
	{ .name = "id", .type = CONF_STR, .flags = CONF_REQUIRED | CONF_UNIQUE, .offset = C(id),
	  .check = check_id,
	  .help = "Name that endpoints use in their `check:` key." },
	{ .name = "type", .type = CONF_ENUM, .flags = CONF_REQUIRED, .offset = C(type),
	  .values = check_types,
	  .help = "tcp: connect; http, https: a GET whose status (and optionally body) is "
		  "checked; dns: a query that must get the expected rcode; exec: a command "
		  "whose exit status 0 means up." },
	{ .name = "port", .type = CONF_UINT, .offset = C(port), .min = 1, .max = 65535,
	  .def_doc = "80 for http, 443 for https, 53 for dns; required for tcp",
	  .help = "Port to probe." },
	{ .name = "path", .type = CONF_STR, .offset = C(path), .def = "/",
	  .help = "http(s): the path to GET." },
	{ .name = "host", .type = CONF_STR, .offset = C(host),
	  .help = "http(s): Host header and TLS server name; default: the address." },
	{ .name = "expect", .type = CONF_STR, .offset = C(expect),
	  .def_doc = "200 for http(s), NOERROR for dns",
	  .help = "http(s): the status code; dns: the rcode name." },
	{ .name = "body", .type = CONF_STR, .offset = C(body),
	  .help = "http(s): a string the response body must contain." },
	{ .name = "query", .type = CONF_STR, .offset = C(query),
	  .help = "dns: \"NAME TYPE\" to ask, e.g. \"health.example.com A\"; required for dns." },
	{ .name = "command", .type = CONF_STR, .offset = C(command),
	  .help = "exec: the command line, split on spaces; {address}, {port}, {endpoint} and "
		  "{service} are substituted. Required for exec." },
	{ .name = "interval", .type = CONF_DURATION, .offset = C(interval_ms),
	  .min = 100, .max = 86400 * 1000, .def = "2s",
	  .help = "Time between probes (jittered by 10%)." },
	{ .name = "timeout", .type = CONF_DURATION, .offset = C(timeout_ms),
	  .min = 10, .max = 3600 * 1000, .def = "1s",
	  .help = "A probe not done in this time fails; at most the interval." },
	{ .name = "rise", .type = CONF_UINT, .offset = C(rise), .min = 1, .max = 100, .def = "2",
	  .help = "Consecutive successes before a down endpoint counts as up." },
	{ .name = "fall", .type = CONF_UINT, .offset = C(fall), .min = 1, .max = 100, .def = "2",
	  .help = "Consecutive failures before an up endpoint counts as down." },
	{ .name = "insecure", .type = CONF_BOOL, .offset = C(insecure), .def = "false",
	  .help = "https: do not verify the certificate." },
	{ NULL },
};

static const struct conf_item check_elem = {
	.name = "check", .type = CONF_MAP, .flags = CONF_LINE, .children = check_items,
	.line_off = C(line),
};

static const char *const continents[] = { "AF", "AN", "AS", "EU", "NA", "OC", "SA", NULL };

static const struct conf_item location_items[] = {
	{ .name = "continent", .type = CONF_ENUM, .offset = LOC(continent), .values = continents,
	  .help = "Continent code." },
	{ .name = "country", .type = CONF_STR, .offset = LOC(country), .check = check_country,
	  .help = "ISO 3166-1 alpha-2 country code." },
	{ .name = "lat", .type = CONF_FLOAT, .offset = LOC(lat), .fmin = -90, .fmax = 90,
	  .check = mark_lat,
	  .help = "Latitude in degrees, for nearest-first ordering; needs lon." },
	{ .name = "lon", .type = CONF_FLOAT, .offset = LOC(lon), .fmin = -180, .fmax = 180,
	  .check = mark_lon,
	  .help = "Longitude in degrees; needs lat." },
	{ NULL },
};

static const struct conf_item address_elem = {
	.name = "address", .type = CONF_STR, .flags = CONF_UNIQUE, .check = check_ip,
};

static const char *const standby_modes[] = { "auto", "never", NULL };

static const struct conf_item endpoint_items[] = {
	{ .name = "id", .type = CONF_STR, .flags = CONF_REQUIRED | CONF_UNIQUE, .offset = EP(id),
	  .check = check_id,
	  .help = "Name of the endpoint within its service, as in \"api.example.com/us-east\"." },
	{ .name = "address", .type = CONF_LIST, .offset = EP(address),
	  .count_off = EP(naddress), .elem = &address_elem, .elem_size = sizeof(char *),
	  .help = "IPv4 and IPv6 addresses answered for this endpoint (at most 8 per family); "
		  "a single address may be given without the list. Either this or cname." },
	{ .name = "cname", .type = CONF_DNAME, .offset = EP(cname),
	  .help = "Answer a CNAME to this name instead of addresses (gdnsd DYNC style)." },
	{ .name = "location", .type = CONF_MAP, .offset = EP(location), .children = location_items,
	  .help = "Where the endpoint is, for the geo filter." },
	{ .name = "weight", .type = CONF_UINT, .offset = EP(weight), .min = 0, .max = 1 << 24,
	  .def = "1",
	  .help = "Share of traffic for the weighted filter, relative to the other endpoints. "
		  "Weight 0 makes a standby: it answers only when no endpoint with a weight "
		  "above 0 is up and not drained (see standby)." },
	{ .name = "standby", .type = CONF_ENUM, .offset = EP(standby), .values = standby_modes,
	  .def = "auto",
	  .help = "auto: at weight 0 the endpoint is a standby, used when nothing with a weight "
		  "above 0 is eligible; at a weight above 0 it takes over the share of peers that "
		  "fail. never: for a canary. At weight 0 it never answers; at a weight above 0 "
		  "it never gets more than its configured share of the endpoints it competes "
		  "with, counting those that are down or drained, and when only such endpoints "
		  "are left the service answers through all-down (where open leaves it out "
		  "too) instead of sending them all its traffic. Geo, priority and latency pass over a region, tier or margin "
		  "that only never endpoints would fill. `vanectl explain` names the rule that "
		  "fired. A service needs at least one endpoint that is not never." },
	{ .name = "priority", .type = CONF_UINT, .offset = EP(priority), .min = 0, .max = 255,
	  .def = "0",
	  .help = "Tier for the priority filter; lower is preferred." },
	{ .name = "capacity", .type = CONF_UINT, .offset = EP(capacity), .min = 0,
	  .max = 4000000000u, .def = "0",
	  .help = "Load at which the endpoint is full, for the shed filter; 0 = unlimited." },
	{ .name = "check", .type = CONF_STR, .offset = EP(check),
	  .help = "Id of the health check that probes this endpoint; none: always up." },
	{ .name = "check-address", .type = CONF_STR, .offset = EP(check_address),
	  .check = check_check_address,
	  .help = "Address to probe; default: the first address, IPv4 first. Required for a "
		  "cname endpoint with a check." },
	{ NULL },
};

static const struct conf_item endpoint_elem = {
	.name = "endpoint", .type = CONF_MAP, .flags = CONF_LINE, .children = endpoint_items,
	.line_off = EP(line),
};

static const char *const filters[] = {
	"health", "geo", "latency", "weighted", "priority", "shed", NULL,
};
static const char *const all_down_modes[] = { "open", "empty", "servfail", NULL };
static const char *const sticky_modes[] = { "none", "subnet", NULL };

static const char *const recovery_modes[] = { "ramp", "instant", NULL };

static const struct conf_item recovery_step_elem = {
	.name = "recovery-steps", .type = CONF_UINT, .min = 1, .max = 100,
};

static const struct conf_item policy_elem = {
	.name = "policy", .type = CONF_ENUM, .flags = CONF_UNIQUE, .values = filters,
};

static const struct conf_item service_items[] = {
	{ .name = "name", .type = CONF_DNAME, .flags = CONF_REQUIRED | CONF_UNIQUE,
	  .offset = SV(name),
	  .help = "The steered name: inside a served zone, not at or below a delegation, "
		  "with no CNAME there in the zone. A and AAAA queries are answered from the "
		  "endpoints; other types from the zone." },
	{ .name = "ttl", .type = CONF_UINT, .offset = SV(ttl), .min = 0, .max = 86400,
	  .def = "30",
	  .help = "TTL of steered answers. It also caps the negative TTL (the SOA TTL in the "
		  "authority section, RFC 2308 sections 3 and 5) of every NODATA and NXDOMAIN "
		  "answer at or below the name, whatever the type, so that a brief outage or a "
		  "missing family is not cached for the SOA minimum." },
	{ .name = "ttl-degraded", .type = CONF_UINT, .offset = SV(ttl_degraded), .min = 1,
	  .max = 86400,
	  .help = "Shorter TTL while any endpoint is down, drained or ramping; off when not set." },
	{ .name = "recovery", .type = CONF_ENUM, .offset = SV(recovery), .values = recovery_modes,
	  .def = "ramp",
	  .help = "What an endpoint that comes back up (health down to up) gets: ramp starts "
		  "a recovery ramp (recovery-steps, recovery-interval), so a cold endpoint is not "
		  "handed its full share at once; a failed check stops it (the endpoint is down "
		  "as usual), and an operator ramp or weight replaces it. instant gives the full "
		  "share at once." },
	{ .name = "recovery-steps", .type = CONF_LIST, .offset = SV(recovery_steps),
	  .count_off = SV(nrecovery_steps), .elem = &recovery_step_elem,
	  .elem_size = sizeof(unsigned), .min = 1, .max = 8, .def_doc = "[10, 25, 50, 100]",
	  .help = "recovery: ramp: the steps, percent of the endpoint's weight." },
	{ .name = "recovery-interval", .type = CONF_DURATION, .offset = SV(recovery_interval_ms),
	  .min = 100, .max = 24 * 3600 * 1000, .def = "30s",
	  .help = "recovery: ramp: how long each step lasts." },
	{ .name = "policy", .type = CONF_LIST, .offset = SV(policy), .count_off = SV(npolicy),
	  .elem = &policy_elem, .elem_size = sizeof(char *), .max = 6,
	  .def_doc = "[health, weighted]",
	  .help = "The filter chain, applied in order; first N (answers) comes last." },
	{ .name = "answers", .type = CONF_UINT, .offset = SV(answers), .min = 0, .max = 64,
	  .def = "1",
	  .help = "Endpoints returned (first N); 0 = all that pass the filters." },
	{ .name = "all-down", .type = CONF_ENUM, .offset = SV(all_down), .values = all_down_modes,
	  .def = "open",
	  .help = "When nothing eligible is left (every endpoint down or drained, or only "
		  "standby: never ones up): open answers every endpoint that is not drained and "
		  "not standby: never, as many as fit in the response, whatever answers says (a "
		  "drain still means never; when nothing else is left it answers as empty does); "
		  "empty "
		  "answers NODATA (negative TTL capped at ttl); servfail answers SERVFAIL. "
		  "Counted and logged each time." },
	{ .name = "ecs", .type = CONF_BOOL, .offset = SV(ecs), .def = "on",
	  .help = "Use the EDNS Client Subnet (RFC 7871) address for decisions and return a "
		  "scope; off ignores ECS." },
	{ .name = "sticky", .type = CONF_ENUM, .offset = SV(sticky), .values = sticky_modes,
	  .def = "none",
	  .help = "weighted: subnet makes the choice deterministic per client subnet "
		  "(weighted rendezvous hashing)." },
	{ .name = "sticky-prefix-v4", .type = CONF_UINT, .offset = SV(sticky_prefix_v4),
	  .min = 1, .max = 32, .def = "24",
	  .help = "IPv4 prefix length of a sticky subnet." },
	{ .name = "sticky-prefix-v6", .type = CONF_UINT, .offset = SV(sticky_prefix_v6),
	  .min = 1, .max = 128, .def = "56",
	  .help = "IPv6 prefix length of a sticky subnet." },
	{ .name = "latency-margin", .type = CONF_DURATION, .offset = SV(latency_margin_ms),
	  .min = 0, .max = 60 * 1000, .def = "10ms",
	  .help = "latency: keep endpoints within this much of the best RTT." },
	{ .name = "shed-low", .type = CONF_FLOAT, .offset = SV(shed_low), .fmin = 0, .fmax = 100,
	  .def = "0.8",
	  .help = "shed: load/capacity above which an endpoint's share falls." },
	{ .name = "shed-high", .type = CONF_FLOAT, .offset = SV(shed_high), .fmin = 0,
	  .fmax = 100, .def = "1.0",
	  .help = "shed: load/capacity above which an endpoint is removed (unless all are)." },
	{ .name = "endpoints", .type = CONF_LIST, .flags = CONF_REQUIRED, .offset = SV(endpoints),
	  .count_off = SV(nendpoints), .elem = &endpoint_elem,
	  .elem_size = sizeof(struct conf_endpoint), .min = 1, .max = 64,
	  .help = "The endpoints to choose from, a list of maps." },
	{ NULL },
};

static const struct conf_item service_elem = {
	.name = "service", .type = CONF_MAP, .flags = CONF_LINE, .children = service_items,
	.line_off = SV(line),
};

/* health-quorum: "majority" or a count of vantages. */
static bool check_quorum(void *base, const struct conf_item *item, char *msg, size_t msgsize)
{
	const char *v = *(char **)((char *)base + item->offset);
	char *end;
	if (v == NULL || strcmp(v, "majority") == 0)
		return true;
	unsigned long n = strtoul(v, &end, 10);
	if (*end == '\0' && n >= 1 && n <= 64)
		return true;
	snprintf(msg, msgsize, "want majority or a number of vantages (1..64), not %s", v);
	return false;
}

static const struct conf_item etcd_elem = {
	.name = "etcd", .type = CONF_STR, .flags = CONF_UNIQUE,
};

/* A cluster's identity and its etcd are bound at start: changing them
 * means leaving one cluster and joining another, which a restart does. */
static const struct conf_item cluster_items[] = {
	{ .name = "name", .type = CONF_STR, .offset = S(cluster_name),
	  .flags = CONF_RESTART, .check = check_id,
	  .help = "The cluster's name: its keys in etcd live under /vane/NAME/." },
	{ .name = "node", .type = CONF_STR, .offset = S(cluster_node),
	  .flags = CONF_RESTART | CONF_NODE, .check = check_id,
	  .help = "This node's name, unique in the cluster; required with name." },
	{ .name = "etcd", .type = CONF_LIST, .offset = S(cluster_etcd),
	  .count_off = S(ncluster_etcd), .elem = &etcd_elem, .elem_size = sizeof(char *),
	  .max = 16, .flags = CONF_RESTART | CONF_NODE,
	  .help = "Client URLs of the etcd members (v3 JSON gateway), e.g. "
		  "\"http://127.0.0.1:2379\"; vaned tries them in turn. Required with name." },
	{ .name = "health-quorum", .type = CONF_STR, .offset = S(cluster_quorum),
	  .def = "majority", .check = check_quorum,
	  .help = "How many live vantages must see an endpoint down for the fleet to take it "
		  "out: majority, or a number." },
	{ .name = "lease", .type = CONF_DURATION, .offset = S(cluster_lease_ms), .min = 2000,
	  .max = 600000, .def = "5s", .flags = CONF_RESTART,
	  .help = "TTL of the node's etcd lease: its node record and health votes vanish "
		  "this long after it stops." },
	{ .name = "cert", .type = CONF_PATH, .offset = S(cluster_cert),
	  .flags = CONF_RESTART | CONF_NODE,
	  .help = "PEM client certificate for etcd (https:// members started with "
		  "--client-cert-auth); needs key." },
	{ .name = "key", .type = CONF_PATH, .offset = S(cluster_key),
	  .flags = CONF_RESTART | CONF_NODE,
	  .help = "PEM private key of cert." },
	{ .name = "ca", .type = CONF_PATH, .offset = S(cluster_ca),
	  .flags = CONF_RESTART | CONF_NODE,
	  .help = "PEM CA bundle that etcd's server certificates are checked against "
		  "(https:// members); the system's CAs when not set." },
	{ NULL },
};

static const struct conf_item root_items[] = {
	{ .name = "server", .type = CONF_MAP, .children = server_items,
	  .help = "Settings of the vaned daemon." },
	{ .name = "http", .type = CONF_MAP, .children = http_items,
	  .help = "The HTTP API (JSON under /api/v1/), Prometheus metrics (/metrics) and "
		  "the web dashboard (/)." },
	{ .name = "dnstap", .type = CONF_MAP, .children = dnstap_items,
	  .help = "Query logging in dnstap format to a Frame Streams unix socket "
		  "(when vaned is built with dnstap support)." },
	{ .name = "rrl", .type = CONF_MAP, .children = rrl_items,
	  .help = "Response rate limiting of UDP answers, as in BIND, Knot and NSD: a token "
		  "bucket per client prefix and response class. The limiter is built at start." },
	{ .name = "cookies", .type = CONF_MAP, .children = cookie_items,
	  .help = "DNS cookies (RFC 7873) with interoperable server cookies (RFC 9018)." },
	{ .name = "zones", .type = CONF_LIST, .offset = S(zones), .count_off = S(nzones),
	  .elem = &conf_zone_elem, .elem_size = sizeof(struct conf_zone),
	  .help = "Zones served authoritatively, a list of maps." },
	{ .name = "keys", .type = CONF_LIST, .offset = S(keys), .count_off = S(nkeys),
	  .elem = &conf_key_elem, .elem_size = sizeof(struct conf_key),
	  .help = "TSIG keys (RFC 8945) for zone transfers and NOTIFY, a list of maps." },
	{ .name = "geo", .type = CONF_MAP, .children = geo_items,
	  .help = "Client location for the geo and latency filters." },
	{ .name = "latency", .type = CONF_MAP, .children = latency_items,
	  .help = "Measured RTT from client networks to endpoints, for the latency filter." },
	{ .name = "checks", .type = CONF_LIST, .offset = S(checks), .count_off = S(nchecks),
	  .elem = &check_elem, .elem_size = sizeof(struct conf_check),
	  .help = "Health check templates, a list of maps; endpoints name one by id." },
	{ .name = "services", .type = CONF_LIST, .offset = S(services), .count_off = S(nservices),
	  .elem = &service_elem, .elem_size = sizeof(struct conf_service),
	  .help = "Steered names, a list of maps, each with its filter chain and endpoints." },
	{ .name = "anycast", .type = CONF_MAP, .children = anycast_items,
	  .help = "Announce the service addresses through BIRD while vaned's own "
		  "self-check passes (docs/anycast.md)." },
	{ .name = "cluster", .type = CONF_MAP, .children = cluster_items,
	  .help = "A fleet of vaned nodes sharing operator state and health votes through "
		  "etcd. Without it vaned runs on its own." },
	{ .name = "providers", .type = CONF_LIST, .offset = S(providers),
	  .count_off = S(nproviders), .elem = &conf_provider_elem,
	  .elem_size = sizeof(struct conf_provider),
	  .help = "Second DNS providers that vaned keeps in step with its own steering "
		  "(PowerDNS LUA records through its HTTP API), a list of maps; "
		  "docs/providers.md. `vanectl providers plan` says what translates." },
	{ NULL },
};

const struct conf_item conf_schema_root = {
	.name = "", .type = CONF_MAP, .children = root_items,
};

void conf_type_desc(const struct conf_item *item, bool article, char *buf, size_t size)
{
	char lo[32], hi[32];
	size_t n;

	switch (item->type) {
	case CONF_STR:
		snprintf(buf, size, "%sstring", article ? "a " : "");
		break;
	case CONF_PATH:
		snprintf(buf, size, "%spath", article ? "a " : "");
		break;
	case CONF_UINT:
		snprintf(buf, size, "%sinteger %llu..%llu", article ? "an " : "",
			 (unsigned long long)item->min, (unsigned long long)item->max);
		break;
	case CONF_DURATION:
		conf_format_duration(item->min, lo, sizeof(lo));
		conf_format_duration(item->max, hi, sizeof(hi));
		snprintf(buf, size, "%sduration %s..%s (e.g. 10s, 500ms, 2m, 1h; bare number: seconds)",
			 article ? "a " : "", lo, hi);
		break;
	case CONF_BOOL:
		snprintf(buf, size, "%sboolean (true or false)", article ? "a " : "");
		break;
	case CONF_ENUM:
		n = (size_t)snprintf(buf, size, "one of");
		for (unsigned i = 0; item->values[i] && n < size; i++)
			n += (size_t)snprintf(buf + n, size - n, "%s %s", i ? "," : "",
					      item->values[i]);
		break;
	case CONF_DNAME:
		snprintf(buf, size, "%sdomain name", article ? "a " : "");
		break;
	case CONF_FLOAT:
		snprintf(buf, size, "%snumber %g..%g", article ? "a " : "", item->fmin, item->fmax);
		break;
	case CONF_LISTEN:
		snprintf(buf, size, "%saddress ADDR@PORT or ADDR", article ? "an " : "");
		break;
	case CONF_MAP:
		snprintf(buf, size, "%smap", article ? "a " : "");
		break;
	case CONF_LIST:
		if (item->elem->type == CONF_MAP && (item->elem->flags & CONF_SHORT)) {
			snprintf(buf, size, "%slist of maps or of %s values", article ? "a " : "",
				 item->elem->children[0].name);
		} else if (item->elem->type == CONF_MAP) {
			snprintf(buf, size, "%slist of maps", article ? "a " : "");
		} else {
			char el[128];
			conf_type_desc(item->elem, false, el, sizeof(el));
			snprintf(buf, size, "%slist of: %s", article ? "a " : "", el);
		}
		break;
	}
}
