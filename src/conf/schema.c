/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The one configuration schema.  Parsing, validation, defaults, freeing and
 * vaned.conf(5) all come from these tables; a new setting is a new entry.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/schema.h"

#define S(field) offsetof(struct vane_conf, field)
#define Z(field) offsetof(struct conf_zone, field)

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

static const struct conf_item listen_elem = {
	.name = "listen", .type = CONF_LISTEN, .flags = CONF_UNIQUE,
};

static const struct conf_item server_items[] = {
	{ .name = "listen", .type = CONF_LIST, .offset = S(listen),
	  .count_off = S(nlisten), .elem = &listen_elem, .elem_size = sizeof(struct conf_listen),
	  .min = 1, .def = "127.0.0.1@53",
	  .help = "Addresses to serve DNS on (UDP and TCP), each \"ADDR@PORT\" or \"ADDR\" "
		  "for port 53. IPv6 addresses are written without brackets, e.g. \"::1@5300\". "
		  "A single address may be given without the list." },
	{ .name = "udp-workers", .type = CONF_UINT, .offset = S(udp_workers),
	  .min = 1, .max = 64, .def_fn = default_ncpu, .def_doc = "number of online CPUs",
	  .help = "UDP worker threads, each with its own SO_REUSEPORT socket." },
	{ .name = "tcp-max-clients", .type = CONF_UINT, .offset = S(tcp_max_clients),
	  .min = 1, .max = 100000, .def = "1000",
	  .help = "Most TCP connections open at once, so TCP clients cannot exhaust the "
		  "server (RFC 7766 section 6.2.2)." },
	{ .name = "tcp-idle-timeout", .type = CONF_DURATION, .offset = S(tcp_idle_timeout_ms),
	  .min = 100, .max = 86400 * 1000, .def = "10s",
	  .help = "Close a TCP connection idle for this long (RFC 7766 section 6.2.3)." },
	{ .name = "max-udp-payload", .type = CONF_UINT, .offset = S(max_udp_payload),
	  .min = 512, .max = 4096, .def = "1232",
	  .help = "Largest UDP response, whatever the client's EDNS buffer size says; "
		  "1232 avoids IP fragmentation (DNS flag day 2020)." },
	{ .name = "control", .type = CONF_PATH, .offset = S(control), .def = "run/vaned.sock",
	  .help = "Unix socket for vanectl. Its directory is created when missing." },
	{ .name = "state-dir", .type = CONF_PATH, .offset = S(state_dir), .def = "state",
	  .help = "Directory for state the daemon keeps between runs." },
	{ .name = "nsid", .type = CONF_STR, .offset = S(nsid), .check = check_nsid,
	  .help = "EDNS name server identifier (RFC 5001) returned when asked: text, or "
		  "\"hex:\" followed by the bytes in hex; at most 64 bytes. Off when not set." },
	{ .name = "identity", .type = CONF_STR, .offset = S(identity),
	  .help = "Answer to CH TXT id.server and hostname.bind queries. "
		  "Refused when not set." },
	{ .name = "version", .type = CONF_STR, .offset = S(version),
	  .help = "Answer to CH TXT version.server and version.bind queries. "
		  "Refused when not set." },
	{ .name = "log-level", .type = CONF_ENUM, .offset = S(log_level),
	  .values = log_levels, .def = "info",
	  .help = "Least severe message written to the log." },
	{ NULL },
};

static const struct conf_item zone_items[] = {
	{ .name = "name", .type = CONF_DNAME, .flags = CONF_REQUIRED | CONF_UNIQUE,
	  .offset = Z(name),
	  .help = "The zone's apex; each zone may appear once." },
	{ .name = "file", .type = CONF_PATH, .flags = CONF_REQUIRED, .offset = Z(file),
	  .help = "Zone file in RFC 1035 master file format." },
	{ NULL },
};

static const struct conf_item zone_elem = {
	.name = "zone", .type = CONF_MAP, .flags = CONF_LINE, .children = zone_items,
	.line_off = Z(line),
};

static const struct conf_item root_items[] = {
	{ .name = "server", .type = CONF_MAP, .children = server_items,
	  .help = "Settings of the vaned daemon." },
	{ .name = "zones", .type = CONF_LIST, .offset = S(zones), .count_off = S(nzones),
	  .elem = &zone_elem, .elem_size = sizeof(struct conf_zone),
	  .help = "Zones served authoritatively, a list of maps." },
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
	case CONF_LISTEN:
		snprintf(buf, size, "%saddress ADDR@PORT or ADDR", article ? "an " : "");
		break;
	case CONF_MAP:
		snprintf(buf, size, "%smap", article ? "a " : "");
		break;
	case CONF_LIST:
		if (item->elem->type == CONF_MAP) {
			snprintf(buf, size, "%slist of maps", article ? "a " : "");
		} else {
			char el[128];
			conf_type_desc(item->elem, false, el, sizeof(el));
			snprintf(buf, size, "%slist of: %s", article ? "a " : "", el);
		}
		break;
	}
}
