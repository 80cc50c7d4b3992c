/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Parser for .rpl scenarios (rpl.h).  Line oriented, as the format is; the
 * records inside SECTIONs go to libzscanner, so every type it knows parses.
 * Anything the replayer cannot honour (RAW packets, EDNS data, MATCH
 * keywords it does not implement) marks the scenario unsupported rather
 * than being skipped silently.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libzscanner/scanner.h>

#include "lib/mnemonic.h"
#include "lib/pkt.h"
#include "rpl.h"

#define LINE_MAX_LEN 4096

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q) {
		fprintf(stderr, "replay: out of memory\n");
		abort();
	}
	return q;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d) {
		fprintf(stderr, "replay: out of memory\n");
		abort();
	}
	return d;
}

static void set_unsupported(struct rpl *s, const char *fmt, const char *arg)
{
	char buf[256];
	if (s->unsupported)
		return;
	snprintf(buf, sizeof(buf), fmt, arg);
	s->unsupported = xstrdup(buf);
}

bool rpl_parse_addr(const char *text, struct iter_addr *out)
{
	char buf[64];
	size_t n = strcspn(text, "@# \t");
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, text, n);
	buf[n] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = 1;
		return true;
	}
	if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = 2;
		return true;
	}
	return false;
}

/* ---- records ---- */

struct rr_sink {
	struct rpl_rr **rrs;
	unsigned *nrr;
	int err;
};

static void on_record(zs_scanner_t *z)
{
	struct rr_sink *k = z->process.data;
	struct rpl_rr *rr;
	*k->rrs = xrealloc(*k->rrs, (*k->nrr + 1) * sizeof(**k->rrs));
	rr = &(*k->rrs)[(*k->nrr)++];
	memset(rr, 0, sizeof(*rr));
	memcpy(rr->owner, z->r_owner, z->r_owner_length);
	rr->type = z->r_type;
	rr->cls = z->r_class;
	rr->ttl = z->r_ttl;
	rr->rdlen = (uint16_t)z->r_data_length;
	rr->rdata = xrealloc(NULL, z->r_data_length);
	memcpy(rr->rdata, z->r_data, z->r_data_length);
}

static void on_error(zs_scanner_t *z)
{
	struct rr_sink *k = z->process.data;
	k->err = -1;
	z->state = ZS_STATE_STOP;
}

int rpl_parse_rrs(const char *text, struct rpl_rr **rrs, unsigned *nrr)
{
	zs_scanner_t *z = calloc(1, sizeof(*z));
	struct rr_sink k = { rrs, nrr, 0 };
	unsigned before = *nrr;
	if (!z)
		return -1;
	/* testbound's default TTL is 3600, like ldns. */
	if (zs_init(z, ".", DNS_IN, 3600) != 0 ||
	    zs_set_input_string(z, text, strlen(text)) != 0 ||
	    zs_set_processing(z, on_record, on_error, &k) != 0 ||
	    (zs_parse_all(z) != 0 && k.err == 0))
		k.err = -1;
	zs_deinit(z);
	free(z);
	return k.err ? k.err : (int)(*nrr - before);
}

/* ---- entries ---- */

struct parser {
	struct rpl *s;
	struct rpl_entry *e;          /* open entry */
	int section;                  /* -1 none, 0 question, 1 + RS_* */
	char *text[RS_COUNT + 1];     /* section lines, joined */
	size_t textlen[RS_COUNT + 1];
	struct rpl_range *range;      /* open range */
	struct rpl_step *step;        /* last step */
};

static void add_text(struct parser *p, const char *line)
{
	int i = p->section;
	size_t n = strlen(line);
	p->text[i] = xrealloc(p->text[i], p->textlen[i] + n + 2);
	memcpy(p->text[i] + p->textlen[i], line, n);
	p->textlen[i] += n;
	p->text[i][p->textlen[i]++] = '\n';
	p->text[i][p->textlen[i]] = '\0';
}

static const struct { const char *name; unsigned bit; } match_words[] = {
	{ "opcode", RM_OPCODE }, { "qtype", RM_QTYPE }, { "qname", RM_QNAME },
	{ "subdomain", RM_SUBDOMAIN }, { "all", RM_ALL }, { "ttl", RM_TTL },
	{ "TCP", RM_TCP }, { "UDP", RM_UDP }, { "flags", RM_FLAGS },
	{ "rcode", RM_RCODE }, { "answer", RM_ANSWER }, { "question", RM_QUESTION },
	{ NULL, 0 },
};

static const struct { const char *name; uint16_t bit; } flag_words[] = {
	{ "QR", DNS_QR }, { "AA", DNS_AA }, { "TC", DNS_TC }, { "RD", DNS_RD },
	{ "RA", DNS_RA }, { "AD", DNS_AD }, { "CD", DNS_CD }, { NULL, 0 },
};

static const char *opcodes[] = { "QUERY", "IQUERY", "STATUS", "", "NOTIFY", "UPDATE", NULL };

static void entry_word(struct parser *p, const char *kw, const char *w)
{
	struct rpl_entry *e = p->e;
	if (!strcmp(kw, "MATCH")) {
		for (unsigned i = 0; match_words[i].name; i++)
			if (!strcmp(w, match_words[i].name)) {
				e->match |= match_words[i].bit;
				return;
			}
		set_unsupported(p->s, "MATCH %s", w);
	} else if (!strcmp(kw, "ADJUST")) {
		if (!strcmp(w, "copy_id"))
			e->adjust |= RA_COPY_ID;
		else if (!strcmp(w, "copy_query"))
			e->adjust |= RA_COPY_QUERY;
		else
			set_unsupported(p->s, "ADJUST %s", w);
	} else if (!strcmp(kw, "REPLY")) {
		for (unsigned i = 0; flag_words[i].name; i++)
			if (!strcasecmp(w, flag_words[i].name)) {
				e->flags |= flag_words[i].bit;
				return;
			}
		if (!strcasecmp(w, "DO")) {
			e->do_bit = true;
			return;
		}
		for (unsigned i = 0; opcodes[i]; i++)
			if (opcodes[i][0] && !strcasecmp(w, opcodes[i])) {
				e->opcode = (uint8_t)i;
				return;
			}
		int rc = dns_rcode_from_name(w);
		if (rc < 0 || rc > 15)
			set_unsupported(p->s, "REPLY %s", w);
		else
			e->rcode = (uint16_t)rc;
	}
}

/* "name [class] [type]" of a QUESTION line. */
static void parse_question(struct parser *p, char *line)
{
	struct rpl_entry *e = p->e;
	char *tok[4];
	unsigned n = 0;
	for (char *t = strtok(line, " \t\r\n"); t && n < 4; t = strtok(NULL, " \t\r\n"))
		tok[n++] = t;
	if (n == 0 || e->has_q)
		return;
	if (dname_from_str(tok[0], NULL, e->qname) < 0) {
		set_unsupported(p->s, "question name %s", tok[0]);
		return;
	}
	e->qclass = DNS_IN;
	e->qtype = DNS_A;
	for (unsigned i = 1; i < n; i++) {
		if (!strcasecmp(tok[i], "IN"))
			continue;
		if (!strcasecmp(tok[i], "CH") || !strcasecmp(tok[i], "CLASS3")) {
			e->qclass = 3;
			continue;
		}
		int t = dns_type_from_name(tok[i]);
		if (t < 0) {
			set_unsupported(p->s, "question type %s", tok[i]);
			return;
		}
		e->qtype = (uint16_t)t;
	}
	e->has_q = true;
}

static void entry_end(struct parser *p, unsigned lineno)
{
	struct rpl_entry *e = p->e;
	if (p->text[0]) {
		char *save = NULL;
		for (char *l = strtok_r(p->text[0], "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			parse_question(p, l);
	}
	for (unsigned i = 0; i < RS_COUNT; i++)
		if (p->text[i + 1] && rpl_parse_rrs(p->text[i + 1], &e->rr[i], &e->nrr[i]) < 0) {
			char where[32];
			snprintf(where, sizeof(where), "%u", e->lineno);
			set_unsupported(p->s, "records in the entry at line %s", where);
		}
	for (unsigned i = 0; i <= RS_COUNT; i++) {
		free(p->text[i]);
		p->text[i] = NULL;
		p->textlen[i] = 0;
	}
	if (p->range) {
		struct rpl_range *r = p->range;
		r->entries = xrealloc(r->entries, (r->nentries + 1) * sizeof(*r->entries));
		r->entries[r->nentries++] = e;
	} else if (p->step && !p->step->entry) {
		p->step->entry = e;
	} else {
		free(e);   /* an entry outside a range or step: nothing uses it */
	}
	(void)lineno;
	p->e = NULL;
	p->section = -1;
}

/* ---- lines ---- */

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Cut a ';' comment that is not inside quotes. */
static void cut_comment(char *s, char c)
{
	bool q = false;
	for (; *s; s++) {
		if (*s == '"')
			q = !q;
		else if (*s == c && !q) {
			*s = '\0';
			return;
		}
	}
}

static const struct { const char *name; enum rpl_step_kind kind; } step_kinds[] = {
	{ "QUERY", RPL_QUERY }, { "CHECK_ANSWER", RPL_CHECK_ANSWER },
	{ "TIME_PASSES", RPL_TIME_PASSES }, { "CHECK_OUT_QUERY", RPL_CHECK_OUT_QUERY },
	{ "REPLY", RPL_REPLY }, { "TIMEOUT", RPL_TIMEOUT }, { "NOTHING", RPL_NOTHING },
	{ "TRAFFIC", RPL_NOTHING }, { NULL, RPL_OTHER },
};

static void body_line(struct parser *p, char *line, unsigned lineno)
{
	struct rpl *s = p->s;
	char copy[LINE_MAX_LEN];
	char *w[8];
	unsigned n = 0;

	snprintf(copy, sizeof(copy), "%s", line);
	for (char *t = strtok(copy, " \t\r\n"); t && n < 8; t = strtok(NULL, " \t\r\n"))
		w[n++] = t;
	if (n == 0)
		return;
	if (p->e) {
		if (!strcmp(w[0], "ENTRY_END")) {
			entry_end(p, lineno);
		} else if (!strcmp(w[0], "MATCH") || !strcmp(w[0], "ADJUST") ||
			   !strcmp(w[0], "REPLY")) {
			for (unsigned i = 1; i < n; i++)
				entry_word(p, w[0], w[i]);
		} else if (!strcmp(w[0], "SECTION") && n > 1) {
			if (!strcasecmp(w[1], "QUESTION"))
				p->section = 0;
			else if (!strcasecmp(w[1], "ANSWER"))
				p->section = 1 + RS_AN;
			else if (!strcasecmp(w[1], "AUTHORITY"))
				p->section = 1 + RS_NS;
			else if (!strcasecmp(w[1], "ADDITIONAL"))
				p->section = 1 + RS_AR;
			else
				set_unsupported(s, "SECTION %s", w[1]);
		} else if (!strcmp(w[0], "RAW") || !strncmp(w[0], "HEX_", 4) ||
			   !strncmp(w[0], "EDNS", 4)) {
			set_unsupported(s, "%s in an entry", w[0]);
			p->section = -1;
		} else if (p->section >= 0) {
			add_text(p, line);
		}
		return;
	}
	if (!strcmp(w[0], "ENTRY_BEGIN")) {
		p->e = xrealloc(NULL, sizeof(*p->e));
		memset(p->e, 0, sizeof(*p->e));
		p->e->lineno = lineno;
		p->section = -1;
	} else if (!strcmp(w[0], "RANGE_BEGIN") && n >= 3) {
		s->ranges = xrealloc(s->ranges, (s->nranges + 1) * sizeof(*s->ranges));
		p->range = &s->ranges[s->nranges++];
		memset(p->range, 0, sizeof(*p->range));
		p->range->start = (unsigned)strtoul(w[1], NULL, 10);
		p->range->end = (unsigned)strtoul(w[2], NULL, 10);
	} else if (!strcmp(w[0], "RANGE_END")) {
		p->range = NULL;
	} else if (!strcmp(w[0], "ADDRESS") && n >= 2 && p->range) {
		struct rpl_range *r = p->range;
		r->addrs = xrealloc(r->addrs, (r->naddrs + 1) * sizeof(*r->addrs));
		if (rpl_parse_addr(w[1], &r->addrs[r->naddrs]))
			r->naddrs++;
		else
			set_unsupported(s, "ADDRESS %s", w[1]);
	} else if (!strcmp(w[0], "STEP") && n >= 3) {
		s->steps = xrealloc(s->steps, (s->nsteps + 1) * sizeof(*s->steps));
		struct rpl_step *st = &s->steps[s->nsteps++];
		memset(st, 0, sizeof(*st));
		st->num = (unsigned)strtoul(w[1], NULL, 10);
		snprintf(st->kind_text, sizeof(st->kind_text), "%s", w[2]);
		st->kind = RPL_OTHER;
		for (unsigned i = 0; step_kinds[i].name; i++)
			if (!strcmp(w[2], step_kinds[i].name))
				st->kind = step_kinds[i].kind;
		for (unsigned i = 3; i + 1 < n; i++)
			if (!strcmp(w[i], "ELAPSE"))
				st->elapse = strtod(w[i + 1], NULL);
		if (st->kind == RPL_OTHER)
			set_unsupported(s, "step %s", w[2]);
		p->step = st;
		p->range = NULL;
	}
	/* SCENARIO_BEGIN/END and unknown lines carry nothing we use. */
}

/* ---- config ---- */

static const char *block_keys[] = {
	"server", "stub-zone", "forward-zone", "auth-zone", "remote-control", "view",
	"rpz", "python", "dynlib", "cachedb", "dnstap", NULL,
};

static void config_line(struct parser *p, char *line, bool *in_stub, bool *stub_root)
{
	struct rpl *s = p->s;
	char *colon = strchr(line, ':');
	if (!colon)
		return;
	*colon = '\0';
	char *key = trim(line), *val = trim(colon + 1);
	size_t vl = strlen(val);
	if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
		val[vl - 1] = '\0';
		val++;
	}
	for (unsigned i = 0; block_keys[i]; i++)
		if (!strcmp(key, block_keys[i]) && !*val) {
			*in_stub = !strcmp(key, "stub-zone");
			*stub_root = false;
		}
	s->config = xrealloc(s->config, (s->nconfig + 1) * sizeof(*s->config));
	s->config[s->nconfig++] = (struct rpl_kv){ xstrdup(key), xstrdup(val), *in_stub };
	if (*in_stub && !strcmp(key, "name")) {
		*stub_root = !strcmp(val, ".");
		if (!*stub_root)
			set_unsupported(s, "stub-zone %s", val);
	} else if (!strcmp(key, "stub-addr") && (*stub_root || !*in_stub)) {
		if (s->nroot < 16 && rpl_parse_addr(val, &s->root[s->nroot]))
			s->nroot++;
	}
}

struct rpl *rpl_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[LINE_MAX_LEN];
	unsigned lineno = 0;
	bool config = true, in_stub = false, stub_root = false;
	struct parser p;
	struct rpl *s;

	if (!f) {
		snprintf(err, errlen, "cannot open %s", path);
		return NULL;
	}
	s = xrealloc(NULL, sizeof(*s));
	memset(s, 0, sizeof(*s));
	memset(&p, 0, sizeof(p));
	p.s = s;
	p.section = -1;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (config) {
			char *l = trim(line);
			if (*l == ';')
				continue;
			cut_comment(l, '#');
			if (!strncmp(l, "CONFIG_END", 10))
				config = false;
			else
				config_line(&p, l, &in_stub, &stub_root);
			continue;
		}
		cut_comment(line, ';');
		char *l = trim(line);
		if (!strncmp(l, "SCENARIO_END", 12))
			break;
		body_line(&p, l, lineno);
	}
	fclose(f);
	if (p.e)
		entry_end(&p, lineno);
	for (unsigned i = 0; i <= RS_COUNT; i++)
		free(p.text[i]);
	return s;
}

static void entry_free(struct rpl_entry *e)
{
	if (!e)
		return;
	for (unsigned i = 0; i < RS_COUNT; i++) {
		for (unsigned k = 0; k < e->nrr[i]; k++)
			free(e->rr[i][k].rdata);
		free(e->rr[i]);
	}
	free(e);
}

void rpl_free(struct rpl *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->nranges; i++) {
		for (unsigned k = 0; k < s->ranges[i].nentries; k++)
			entry_free(s->ranges[i].entries[k]);
		free(s->ranges[i].entries);
		free(s->ranges[i].addrs);
	}
	free(s->ranges);
	for (unsigned i = 0; i < s->nsteps; i++)
		entry_free(s->steps[i].entry);
	free(s->steps);
	for (unsigned i = 0; i < s->nconfig; i++) {
		free(s->config[i].key);
		free(s->config[i].value);
	}
	free(s->config);
	free(s->unsupported);
	free(s);
}
