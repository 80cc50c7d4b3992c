/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the control protocol and the HTTP API's request
 * decoding (ctl/cmd.c, ctl/routes.c), the code that turns what a client
 * sends into a command's typed arguments before any handler runs.
 *
 * First byte even: the rest (to the first newline) is one control-socket
 * line, split into words as the socket does and parsed by ctl_parse().
 * First byte odd: the second byte picks a command of the table, the rest is
 * "URL\nQUERY\nBODY": http_find() routes URL, http_bind() binds the picked
 * command from URL, the query string (name=value&...) and the JSON BODY.
 * Checked: a parse that succeeds has every required argument set and
 * numbers where the type says so; one that fails says why; a bind answers
 * 200 or 400 only, with a message on 400.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/cmd.h"
#include "ctl/http.h"
#include "fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WORDS_MAX 16   /* CTL_WORDS_MAX of ctl/ctl.c: what the socket splits */

static void check_args(const struct ctl_cmd *cmd, const struct ctl_args *a, const char *via)
{
	if (a->cmd != cmd)
		FUZZ_FAIL("%s: parsed args name another command", via);
	for (int j = 0; j < CTL_ARGS_MAX && cmd->args[j].name; j++) {
		const struct ctl_val *v = &a->v[j];
		if (!cmd->args[j].optional && !v->set)
			FUZZ_FAIL("%s %s: required \"%s\" not set", via, cmd->name ? cmd->name : cmd->route,
				  cmd->args[j].name);
		if (!v->set)
			continue;
		if (v->str == NULL)
			FUZZ_FAIL("%s: \"%s\" set without its text", via, cmd->args[j].name);
		if (v->nsteps > CTL_STEPS_MAX)
			FUZZ_FAIL("%s: %u steps", via, v->nsteps);
		for (unsigned s = 0; s < v->nsteps; s++)
			if (v->steps[s] > 100)
				FUZZ_FAIL("%s: step %u%%", via, v->steps[s]);
	}
}

static void control_line(char *line)
{
	char *argv[WORDS_MAX];
	int argc = ctl_split_words(line, argv, WORDS_MAX);
	if (argc == 0)
		return;
	const struct ctl_cmd *cmd = ctl_cmd_by_name(argv[0]);
	if (cmd == NULL)
		return;
	struct ctl_args a;
	char err[512] = "";
	if (ctl_parse(cmd, argc, argv, &a, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			FUZZ_FAIL("ctl_parse failed without a message");
		return;
	}
	check_args(cmd, &a, "control");
}

/* The query string as name=value pairs, for http_bind's lookups. */
struct query {
	char *name[16], *value[16];
	int n;
};

static const char *query_arg(void *ctx, const char *name)
{
	struct query *q = ctx;
	for (int i = 0; i < q->n; i++)
		if (strcmp(q->name[i], name) == 0)
			return q->value[i];
	return NULL;
}

static void split_query(char *s, struct query *q)
{
	q->n = 0;
	char *save = NULL;
	for (char *kv = strtok_r(s, "&", &save); kv && q->n < 16; kv = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(kv, '=');
		q->name[q->n] = kv;
		q->value[q->n] = eq ? (*eq = '\0', eq + 1) : (char *)"";
		q->n++;
	}
}

static void http_request(uint8_t pick, char *text)
{
	unsigned ncmds = 0;
	while (ctl_cmds[ncmds].help)
		ncmds++;
	const struct ctl_cmd *cmd = &ctl_cmds[pick % ncmds];

	char *url = text, *qs = "", *body = NULL;
	char *nl = strchr(url, '\n');
	if (nl) {
		*nl = '\0';
		qs = nl + 1;
		if ((nl = strchr(qs, '\n')) != NULL) {
			*nl = '\0';
			body = nl + 1;
		}
	}
	unsigned st = 0;
	const char *allow = NULL;
	const struct ctl_cmd *found = http_find(cmd->method, url, &st, &allow);
	if (found == NULL && st != 404 && st != 405)
		FUZZ_FAIL("http_find: status %u", st);
	if (found == NULL && st == 405 && allow == NULL)
		FUZZ_FAIL("http_find: 405 without the allowed method");
	if (cmd->route == NULL)
		return;   /* control socket only: HTTP never binds it */

	struct query q;
	split_query(qs, &q);
	struct http_call call;
	char err[512] = "";
	int bst = http_bind(cmd, url, body, query_arg, &q, "192.0.2.1", &call, err, sizeof(err));
	if (bst == 200) {
		check_args(cmd, &call.args, "http");
		http_call_clear(&call);
	} else if (bst != 400 || err[0] == '\0') {
		FUZZ_FAIL("http_bind: status %d, message \"%s\"", bst, err);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > 8192)
		return 0;
	/* Both front ends see NUL-terminated text: the control line from
	 * byte 1, the HTTP request from byte 2 (byte 1 picks the command). */
	bool http = data[0] & 1;
	size_t skip = http ? 2 : 1;
	char *text = malloc(size - skip + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data + skip, size - skip);
	text[size - skip] = '\0';
	if (http) {
		http_request(data[1], text);
	} else {
		char *nl = strchr(text, '\n');
		if (nl)
			*nl = '\0';
		control_line(text);
	}
	free(text);
	return 0;
}
