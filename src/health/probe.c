/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Probe types that need only libuv: tcp (connect), dns (one UDP query that
 * must come back with the expected rcode) and exec (a command whose exit
 * status 0 means up; killed on timeout).  Each probe is a small object with
 * a back pointer to its target; cancelling clears the pointer, so a late
 * completion is dropped, and the object is freed when its handle closes.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "lib/mnemonic.h"
#include "lib/dname.h"
#include "lib/pkt.h"
#include "health/health.h"
#include "rt/clock.h"
#include "serve/stats.h"

struct probe_base {
	struct health_target *t;       /* NULL once cancelled or done */
	bool closing;
};

static void probe_free_cb(uv_handle_t *h)
{
	free(h->data);
}

static void probe_close(struct probe_base *p, uv_handle_t *h)
{
	if (p->closing)
		return;
	p->closing = true;
	uv_close(h, probe_free_cb);
}

/* Report once: the target forgets the probe before hearing the result. */
static void probe_report(struct probe_base *p, bool ok, const char *err)
{
	struct health_target *t = p->t;
	if (t == NULL)
		return;
	p->t = NULL;
	health_probe_done(t, ok, err);
}

/* ---- tcp ---- */

struct probe_tcp {
	struct probe_base b;
	uv_tcp_t h;
	uv_connect_t req;
};

static void tcp_connected(uv_connect_t *req, int status)
{
	struct probe_tcp *p = req->data;
	char msg[96];
	if (status < 0)
		snprintf(msg, sizeof(msg), "tcp connect: %s", uv_strerror(status));
	probe_report(&p->b, status == 0, status == 0 ? NULL : msg);
	probe_close(&p->b, (uv_handle_t *)&p->h);
}

int probe_tcp_start(struct health_target *t)
{
	struct probe_tcp *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return VANE_ENOMEM;
	int ret = uv_tcp_init(t->mon->loop, &p->h);
	if (ret < 0) {
		free(p);
		return ret;
	}
	p->h.data = p;
	p->req.data = p;
	ret = uv_tcp_connect(&p->req, &p->h, (const struct sockaddr *)&t->pc.addr, tcp_connected);
	if (ret < 0) {
		probe_close(&p->b, (uv_handle_t *)&p->h);
		return ret;
	}
	p->b.t = t;
	t->probe = p;
	return 0;
}

/* ---- dns ---- */

struct probe_dns {
	struct probe_base b;
	uv_udp_t h;
	uv_udp_send_t sreq;
	uint16_t id;
	uint8_t q[DNS_HDRLEN + DNAME_MAXLEN + 4];
	uint8_t rbuf[1500];
};

/* "health.example.com A" -> query packet; returns its length or 0. */
static size_t dns_build(const char *spec, uint16_t id, uint8_t *q)
{
	char name[DNAME_MAXSTR], type[16] = "A";
	if (sscanf(spec, "%1023s %15s", name, type) < 1)
		return 0;
	int qt = dns_type_from_name(type);
	uint8_t wire[DNAME_MAXLEN];
	int wl = dname_from_str(name, NULL, wire);
	if (qt <= 0 || qt > 65535 || wl <= 0)
		return 0;
	memset(q, 0, DNS_HDRLEN);
	q[0] = (uint8_t)(id >> 8);
	q[1] = (uint8_t)id;
	q[5] = 1;   /* QDCOUNT */
	size_t len = dname_len(wire);
	memcpy(q + DNS_HDRLEN, wire, len);
	uint8_t *p = q + DNS_HDRLEN + len;
	p[0] = (uint8_t)(qt >> 8);
	p[1] = (uint8_t)qt;
	p[2] = 0;
	p[3] = DNS_IN;
	return DNS_HDRLEN + len + 4;
}

static void dns_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct probe_dns *p = h->data;
	*buf = uv_buf_init((char *)p->rbuf, sizeof(p->rbuf));
}

static void dns_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
		     const struct sockaddr *from, unsigned flags)
{
	struct probe_dns *p = h->data;
	char msg[96];
	if (nread == 0 || p->b.t == NULL)
		return;
	if (nread < 0) {
		snprintf(msg, sizeof(msg), "dns: %s", uv_strerror((int)nread));
		probe_report(&p->b, false, msg);
	} else if (nread < DNS_HDRLEN || !(p->rbuf[2] & 0x80) ||
		   ((p->rbuf[0] << 8) | p->rbuf[1]) != p->id) {
		return;   /* not our answer: keep waiting until the timeout */
	} else {
		int rcode = p->rbuf[3] & 0xF;
		int want = p->b.t->pc.expect;
		char a[16], b[16];
		snprintf(msg, sizeof(msg), "dns: rcode %s, expected %s",
			 dns_rcode_name((unsigned)rcode, a, sizeof(a)),
			 dns_rcode_name((unsigned)want, b, sizeof(b)));
		probe_report(&p->b, rcode == want, rcode == want ? NULL : msg);
	}
	uv_udp_recv_stop(h);
	probe_close(&p->b, (uv_handle_t *)h);
}

static void dns_sent(uv_udp_send_t *req, int status)
{
	struct probe_dns *p = req->data;
	if (status == 0 || p->b.closing)
		return;
	char msg[96];
	snprintf(msg, sizeof(msg), "dns send: %s", uv_strerror(status));
	probe_report(&p->b, false, msg);
	probe_close(&p->b, (uv_handle_t *)&p->h);
}

int probe_dns_start(struct health_target *t)
{
	struct probe_dns *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return VANE_ENOMEM;
	uint16_t id;
	rt_random(&id, sizeof(id));
	p->id = id;
	size_t qlen = dns_build(t->pc.query, id, p->q);
	if (qlen == 0) {
		free(p);
		return VANE_EINVAL;
	}
	int ret = uv_udp_init(t->mon->loop, &p->h);
	if (ret < 0) {
		free(p);
		return ret;
	}
	p->h.data = p;
	p->sreq.data = p;
	uv_buf_t b = uv_buf_init((char *)p->q, (unsigned)qlen);
	ret = uv_udp_send(&p->sreq, &p->h, &b, 1, (const struct sockaddr *)&t->pc.addr, dns_sent);
	if (ret == 0)
		ret = uv_udp_recv_start(&p->h, dns_alloc, dns_recv);
	if (ret < 0) {
		probe_close(&p->b, (uv_handle_t *)&p->h);
		return ret;
	}
	p->b.t = t;
	t->probe = p;
	return 0;
}

/* ---- exec ---- */

struct probe_exec {
	struct probe_base b;
	uv_process_t h;
	bool exited;
};

static void exec_exit(uv_process_t *h, int64_t status, int sig)
{
	struct probe_exec *p = h->data;
	char msg[96];
	p->exited = true;
	if (sig)
		snprintf(msg, sizeof(msg), "exec: killed by signal %d", sig);
	else
		snprintf(msg, sizeof(msg), "exec: exit status %lld", (long long)status);
	bool ok = status == 0 && sig == 0;
	probe_report(&p->b, ok, ok ? NULL : msg);
	probe_close(&p->b, (uv_handle_t *)h);
}

/* Replace {address} {port} {endpoint} {service} in one word.  Words are
 * split before substitution and no shell runs, so values cannot inject. */
static void substitute(const char *in, const struct probe_conf *pc, char *out, size_t size)
{
	char port[8];
	snprintf(port, sizeof(port), "%u", pc->port);
	const struct { const char *k; const char *v; } vars[] = {
		{ "{address}", pc->address }, { "{port}", port },
		{ "{endpoint}", pc->endpoint }, { "{service}", pc->service },
	};
	size_t o = 0;
	while (*in && o + 1 < size) {
		bool done = false;
		for (unsigned i = 0; i < 4 && !done; i++) {
			size_t kl = strlen(vars[i].k);
			if (strncmp(in, vars[i].k, kl) == 0) {
				o += (size_t)snprintf(out + o, size - o, "%s", vars[i].v);
				if (o >= size)
					o = size - 1;
				in += kl;
				done = true;
			}
		}
		if (!done)
			out[o++] = *in++;
	}
	out[o] = '\0';
}

#define EXEC_ARGS 32

/* Next word of `*s`: blanks separate words, '...' and "..." quote (no
 * escapes, no shell).  Returns NULL at the end. */
static char *next_word(char **s)
{
	char *p = *s, *out;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return NULL;
	out = p;
	char *w = p;
	char quote = 0;
	for (; *p; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0;
			else
				*w++ = *p;
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
		} else if (*p == ' ' || *p == '\t') {
			p++;
			break;
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
	*s = p;
	return out;
}

int probe_exec_start(struct health_target *t)
{
	char words[sizeof(t->pc.command)];
	char sub[EXEC_ARGS][1024];
	char *args[EXEC_ARGS + 1];
	int argc = 0;
	char *cur = words;
	snprintf(words, sizeof(words), "%s", t->pc.command);
	for (char *w = next_word(&cur); w && argc < EXEC_ARGS; w = next_word(&cur)) {
		substitute(w, &t->pc, sub[argc], sizeof(sub[argc]));
		args[argc] = sub[argc];
		argc++;
	}
	args[argc] = NULL;
	if (argc == 0)
		return VANE_EINVAL;

	struct probe_exec *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return VANE_ENOMEM;
	uv_stdio_container_t stdio[3] = {
		{ .flags = UV_IGNORE }, { .flags = UV_IGNORE }, { .flags = UV_IGNORE },
	};
	uv_process_options_t opt = {
		.exit_cb = exec_exit, .file = args[0], .args = args,
		.stdio_count = 3, .stdio = stdio,
	};
	p->h.data = p;
	int ret = uv_spawn(t->mon->loop, &p->h, &opt);
	if (ret < 0) {
		probe_close(&p->b, (uv_handle_t *)&p->h);
		return ret;
	}
	p->b.t = t;
	t->probe = p;
	return 0;
}

/* ---- cancel ---- */

void probe_cancel(struct health_target *t)
{
	if (t->pc.type == PROBE_HTTP || t->pc.type == PROBE_HTTPS) {
		probe_http_cancel(t);
		t->probe = NULL;
		return;
	}
	void *probe = t->probe;
	t->probe = NULL;
	if (probe == NULL)
		return;
	struct probe_base *b = probe;
	b->t = NULL;
	switch (t->pc.type) {
	case PROBE_TCP:
		probe_close(b, (uv_handle_t *)&((struct probe_tcp *)probe)->h);
		break;
	case PROBE_DNS:
		probe_close(b, (uv_handle_t *)&((struct probe_dns *)probe)->h);
		break;
	case PROBE_EXEC: {
		struct probe_exec *p = probe;
		/* The exit callback closes the handle once the child is reaped. */
		if (!p->exited)
			uv_process_kill(&p->h, SIGKILL);
		break;
	}
	default:
		break;
	}
}
