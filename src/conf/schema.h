/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The configuration schema: one table of items (conf/schema.c) that drives
 * parsing, validation, defaults, freeing and the reference documentation.
 *
 * Each item names a key, its type and where the value lands (an offset into
 * the struct that holds it).  A map item (CONF_MAP) has a child table whose
 * offsets are relative to the map's own struct; a list item (CONF_LIST) has
 * an element item whose offset is 0 within each element.  Maps and lists
 * nest freely, so a later section such as `services:` (a list of maps with
 * `endpoints:` lists and `location:` maps inside) is only new table entries.
 * Internal to src/conf.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf/conf.h"
#include "lib/report.h"

enum conf_type {
	CONF_STR,      /* char *, any string */
	CONF_PATH,     /* char *, resolved against the config file's directory */
	CONF_UINT,     /* unsigned, min..max */
	CONF_DURATION, /* unsigned milliseconds, min..max (ms); "10s", "500ms", "2m", "1h", "1d", bare = s */
	CONF_BOOL,     /* bool */
	CONF_ENUM,     /* char *, one of values[] */
	CONF_DNAME,    /* char *, canonical presentation form: lower case, final dot */
	CONF_FLOAT,    /* double, fmin..fmax; a finite decimal number */
	CONF_LISTEN,   /* struct conf_listen: "ADDR@PORT" or "ADDR" (port 53) */
	CONF_MAP,      /* nested map: children[] fill the struct at offset */
	CONF_LIST,     /* array of `elem` at offset, unsigned count at count_off */
};

enum conf_flag {
	CONF_REQUIRED = 1 << 0, /* must be given (no default) */
	CONF_UNIQUE = 1 << 1,   /* no two entries of the enclosing list may share it */
	CONF_LINE = 1 << 2,     /* map in a list: store the entry's line at line_off */
	CONF_RESTART = 1 << 3,  /* bound at start: a reload keeps the old value and warns */
	CONF_NODE = 1 << 4,     /* differs between the nodes of a fleet: not in the digest */
	CONF_SHORT = 1 << 5,    /* map in a list: a scalar entry is the value of its first child */
};

struct conf_item;

/* Extra validation after a value converted; the value is already stored at
 * base + item->offset.  Returns false and writes a message on failure.  On
 * a CONF_MAP it runs once the children parsed, with `base` the map's struct,
 * and its message follows the map's key directly: start it with ".child: ". */
typedef bool (*conf_check_fn)(void *base, const struct conf_item *item,
			      char *msg, size_t msgsize);

/* A default computed at load time (e.g. the number of CPUs), as config text. */
typedef const char *(*conf_default_fn)(char *buf, size_t size);

struct conf_item {
	const char *name;                 /* NULL terminates a table */
	enum conf_type type;
	unsigned flags;
	size_t offset;                    /* into the enclosing struct */
	uint64_t min, max;                /* UINT, DURATION (ms); LIST: entry count (max 0 = any) */
	double fmin, fmax;                /* FLOAT */
	const char *const *values;        /* ENUM: NULL-terminated */
	const struct conf_item *children; /* MAP */
	const struct conf_item *elem;     /* LIST: element (offset 0 within an element) */
	size_t count_off;                 /* LIST: offset of the unsigned count */
	size_t elem_size;                 /* LIST: size of one element */
	size_t line_off;                  /* MAP with CONF_LINE: unsigned line number */
	const char *def;                  /* default as config text; a list takes one entry */
	conf_default_fn def_fn;           /* computed default, wins over def */
	const char *def_doc;              /* how the docs describe def_fn's value */
	conf_check_fn check;
	const char *help;
};

/* The root map: top-level sections of struct vane_conf. */
extern const struct conf_item conf_schema_root;

/*
 * Parse the YAML file `file` against the map item `root` into `base` (zeroed
 * by the caller); relative paths resolve against `dir`.  conf_load() is this
 * with the vaned schema; tests use it with their own tables.  Returns 0 or a
 * negative VANE_E* code after reporting every problem to `err`.  Free the
 * values with conf_free_schema() whatever the result.
 */
int conf_parse_schema(const struct conf_item *root, const char *file, const char *dir,
		      vane_report_fn err, void *ctx, void *base);
/* The same from `len` bytes of YAML in memory, as if read from `file`. */
int conf_parse_schema_text(const struct conf_item *root, const char *file, const char *dir,
			   const char *text, size_t len, vane_report_fn err, void *ctx,
			   void *base);
/* The whole of the regular file `file` into `*text` (malloc'd, not
 * NUL-terminated) and `*len`; or a negative VANE_E* code, reported. */
int conf_read_file(const char *file, vane_report_fn err, void *ctx, char **text, size_t *len);
void conf_free_schema(const struct conf_item *root, void *base);

/* Type description, e.g. "an integer 1..64" (article) or "integer 1..64". */
void conf_type_desc(const struct conf_item *item, bool article, char *buf, size_t size);

/*
 * Call `fn` with the dotted key ("server.listen") of every CONF_RESTART
 * item under `root` whose value differs between `a` and `b` (two structs
 * parsed against it).  This list is the one the docs print as
 * "Restart-only".
 */
void conf_restart_changes(const struct conf_item *root, const void *a, const void *b,
			  void (*fn)(void *ctx, const char *key), void *ctx);

/* Scalar conversions (conf/values.c).  Return 0 or a VANE_E* code. */
int conf_parse_uint(const char *s, uint64_t *out);
int conf_parse_duration(const char *s, uint64_t *ms);
int conf_parse_bool(const char *s, bool *out);
int conf_parse_float(const char *s, double *out);
int conf_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len);
int conf_parse_dname(const char *s, char **out);
void conf_format_duration(uint64_t ms, char *buf, size_t size);
void conf_format_addr(const struct sockaddr_storage *ss, char *buf, size_t size);

/* Cross-field checks of checks: and services: (conf/services.c), after the
 * schema parsed without errors.  Returns the number of errors reported. */
unsigned conf_check_services(struct vane_conf *conf, const char *file,
			     vane_report_fn err, void *ctx);

/* Cross-field checks of keys: and the transfer settings of zones:
 * (conf/xfr.c): secrets decoded, prefixes parsed, key ids resolved. */
unsigned conf_check_xfr(struct vane_conf *conf, const char *file, vane_report_fn err,
			void *ctx);

/* Cross-field checks of catalog zones (conf/catalog.c): a file for every
 * zone but generated catalogs, members naming a catalog that exists. */
unsigned conf_check_catalog(struct vane_conf *conf, const char *file, vane_report_fn err,
			    void *ctx);

/* `path` joined to `dir` when relative, with "." and ".." folded lexically.
 * Returns a malloc'd string or NULL (out of memory). */
char *conf_path_join(const char *dir, const char *path);

/* One entry of `zones:` and of `keys:` (conf/schema_zones.c). */
extern const struct conf_item conf_zone_elem;
extern const struct conf_item conf_key_elem;

/* `providers:` (conf/providers.c): one entry of the list, and the
 * cross-field checks run after the schema parsed (zones served here). */
extern const struct conf_item conf_provider_elem;
unsigned conf_check_providers(struct vane_conf *conf, const char *file, vane_report_fn err,
			      void *ctx);
