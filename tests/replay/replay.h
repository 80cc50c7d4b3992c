/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Internal to the replayer: replay.c (fake network, set-up), steps.c
 * (steps, client queries, checks) and main.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resolver/resolver.h"
#include "rpl.h"

enum { REPLAY_PASS = 0, REPLAY_FAIL = 1, REPLAY_UNSUPPORTED = 2 };

struct pend;
struct client;

/* A query the iterator sent, for CHECK_OUT_QUERY. */
struct sent {
	uint8_t qname[DNAME_MAXLEN];     /* lower-cased */
	uint16_t qtype;
	bool tcp;
	struct iter_addr to;
};

struct run {
	struct rpl *s;
	struct resolver_conf *conf;
	struct cache *cache;
	struct resolver r;
	struct iter_env env;
	uint64_t now;                    /* the fake clock, seconds */
	uint64_t rnd;
	unsigned stepnum;                /* the step ranges are matched against */
	unsigned events;
	struct pend *pend;               /* upstream queries in flight, oldest first */
	struct sent *sent;
	unsigned nsent, sent_cursor;
	struct client *clients;          /* client queries, in the order sent */
	char *why;
	size_t whylen;
};

/* Record the reason; return REPLAY_FAIL / REPLAY_UNSUPPORTED. */
int replay_fail(struct run *run, const char *fmt, const char *arg);
int replay_unsupported(struct run *run, const char *fmt, const char *arg);
void replay_conf_err(void *ctx, const char *file, unsigned long line, const char *msg);

int replay_run(const char *path, const char *hints_file, const char *tmpdir,
	       char *why, size_t whylen);
int replay_steps(struct run *run);
int replay_hints_file(struct run *run, const char *path, struct cache_deleg *d);
void replay_clients_free(struct run *run);
void sent_log_add(struct run *run, const uint8_t *wire, size_t len,
		  const struct iter_addr *to, bool tcp);
void sent_log_free(struct run *run);

bool replay_settle(struct run *run, bool hold);
void replay_deliver(struct run *run, struct pend *p, const struct rpl_entry *e);
void replay_time_out(struct run *run, struct pend *p);
bool replay_entry_accepts(const struct rpl_entry *e, const struct pend *p);
struct pend *replay_oldest(struct run *run);
struct pend *replay_next(struct pend *p);
