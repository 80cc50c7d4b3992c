/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The configuration reference, generated from the schema table, so the
 * documentation cannot drift from what the parser accepts.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/schema.h"

struct doc_fmt {
	void (*section)(FILE *out, const struct conf_item *item);
	/* `def` is config text, or prose when `literal` is false */
	void (*entry)(FILE *out, const char *key, const char *type, const char *def,
		      bool literal, bool required, const char *help);
};

/* roff: escape backslashes, and lines must not start with '.' or '\''. */
static void roff_text(FILE *out, const char *s)
{
	bool bol = true;

	for (; *s; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", out);
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-')
			fputs("\\-", out);
		else
			fputc(*s, out);
		bol = *s == '\n';
	}
}

static void man_section(FILE *out, const struct conf_item *item)
{
	fputs(".SH ", out);
	for (const char *c = item->name; *c; c++)
		fputc(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c, out);
	fputs("\n", out);
	roff_text(out, item->help ? item->help : "");
	fputs("\n", out);
}

static void man_entry(FILE *out, const char *key, const char *type, const char *def,
		      bool literal, bool required, const char *help)
{
	fputs(".TP\n.B ", out);
	roff_text(out, key);
	fputs("\n.RI ( ", out);
	fputs("\"", out);
	roff_text(out, type);
	if (required)
		fputs("; required", out);
	if (def) {
		fputs("; default: ", out);
		roff_text(out, def);
	}
	fputs("\" )\n.br\n", out);
	roff_text(out, help ? help : "");
	fputs("\n", out);
}

static void md_section(FILE *out, const struct conf_item *item)
{
	fprintf(out, "## %s\n\n%s\n\n", item->name, item->help ? item->help : "");
}

static void md_entry(FILE *out, const char *key, const char *type, const char *def,
		     bool literal, bool required, const char *help)
{
	fprintf(out, "### `%s`\n\n- Type: %s\n", key, type);
	if (required)
		fputs("- Required\n", out);
	if (def)
		fprintf(out, literal ? "- Default: `%s`\n" : "- Default: %s\n", def);
	fprintf(out, "\n%s\n\n", help ? help : "");
}

static const struct doc_fmt fmt_man = { man_section, man_entry };
static const struct doc_fmt fmt_md = { md_section, md_entry };

static void write_items(FILE *out, const struct doc_fmt *fmt, const struct conf_item *children,
			const char *prefix);

static void write_item(FILE *out, const struct doc_fmt *fmt, const struct conf_item *it,
		       const char *prefix)
{
	char key[256], type[256], def[128];
	const char *defp = NULL;

	snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", it->name);
	conf_type_desc(it, false, type, sizeof(type));
	if (it->def_doc) {
		defp = it->def_doc;
	} else if (it->def) {
		snprintf(def, sizeof(def), "%s", it->def);
		defp = def;
	}
	/* Restart-only comes from the flag that reloads check (CONF_RESTART). */
	char help[2048];
	snprintf(help, sizeof(help), "%s%s", it->help ? it->help : "",
		 it->flags & CONF_RESTART ? " Restart-only: a reload keeps the value vaned "
					    "started with, and warns." : "");
	if (*prefix)
		fmt->entry(out, key, type, defp, !it->def_doc, it->flags & CONF_REQUIRED, help);
	else
		fmt->section(out, it);

	if (it->type == CONF_MAP) {
		write_items(out, fmt, it->children, key);
	} else if (it->type == CONF_LIST && it->elem->type == CONF_MAP) {
		strncat(key, "[]", sizeof(key) - strlen(key) - 1);
		write_items(out, fmt, it->elem->children, key);
	}
}

static void write_items(FILE *out, const struct doc_fmt *fmt, const struct conf_item *children,
			const char *prefix)
{
	for (const struct conf_item *it = children; it->name; it++)
		write_item(out, fmt, it, prefix);
}

void conf_write_reference(FILE *out, const char *format)
{
	const struct doc_fmt *fmt = format && strcmp(format, "man") == 0 ? &fmt_man : &fmt_md;

	if (fmt == &fmt_md)
		fputs("# vaned.conf reference\n\n"
		      "YAML. Relative paths are relative to the configuration file's directory.\n"
		      "Durations take a unit: `ms`, `s`, `m`, `h` or `d`; a bare number means seconds.\n"
		      "Unknown keys, duplicate keys and bad values are errors.\n\n", out);
	write_items(out, fmt, conf_schema_root.children, "");
}
