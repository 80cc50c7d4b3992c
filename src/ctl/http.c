/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libmicrohttpd front end: one internal polling thread; every call that
 * needs server state is suspended, queued to the loop thread and resumed
 * with the reply (see http.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "ctl/http.h"
#include "ctl/lab_reports.h"
#include "rt/log.h"

#define BODY_MAX (64 * 1024)
#define TOKEN_MAX 4096

struct http_server {
	const struct ctl_host *host;
	struct MHD_Daemon *d;
	uv_async_t async;
	bool async_on;
	pthread_mutex_t mu;              /* queue, closing, replies */
	struct http_req *head, *tail;
	bool closing;
	char *token;                     /* NULL: writes refused */
	char *lab_reports;               /* vane-lab's report directory; NULL: none */
};

/* One request; lives from MHD's first call to its completion callback. */
struct http_req {
	struct ctl_client cl;            /* the reply sink on the loop thread */
	struct http_server *hs;
	struct MHD_Connection *conn;
	struct http_req *next;
	struct http_call call;
	bool queued;                     /* suspended, waiting for the loop */
	bool stop_after;
	json_t *res;                     /* reply (under hs->mu) */
	enum ctl_status status;
	char *text;                      /* or a text reply: /metrics */
	char *body;
	size_t blen;
	bool too_big;
};

/* ---- responses ---- */

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type,
			       const void *data, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)data, mode);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"vaned\"");
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* `res` is stolen. */
static enum MHD_Result respond_json(struct MHD_Connection *conn, unsigned status, json_t *res)
{
	char *s = res ? json_dumps(res, JSON_COMPACT) : NULL;
	json_decref(res);
	if (s == NULL)
		return MHD_NO;
	size_t n = strlen(s);
	char *t = realloc(s, n + 2);   /* end with a newline, like vanectl */
	if (t == NULL) {
		free(s);
		return MHD_NO;
	}
	t[n] = '\n';
	return respond(conn, status, "application/json", t, n + 1, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result respond_error(struct MHD_Connection *conn, unsigned status, const char *msg)
{
	return respond_json(conn, status, json_pack("{s:b,s:s}", "ok", 0, "error", msg));
}

/* ---- the loop thread side ---- */

static void req_deliver(struct ctl_client *cl, json_t *res, enum ctl_status st)
{
	struct http_req *r = (struct http_req *)((char *)cl - offsetof(struct http_req, cl));
	struct http_server *hs = r->hs;
	bool stop = cl->stop_after && st == CTL_OK;
	pthread_mutex_lock(&hs->mu);
	r->res = res;
	r->status = st;
	r->text = cl->text;
	cl->text = NULL;
	r->stop_after = stop;
	pthread_mutex_unlock(&hs->mu);
	/* From here on `r` belongs to the HTTP thread again. */
	MHD_resume_connection(r->conn);
	if (stop && hs->host->stop)
		hs->host->stop(hs->host->ctx);
}

static void run_call(struct http_req *r)
{
	ctl_run(&r->cl, &r->call.args);
}

static void async_cb(uv_async_t *a)
{
	struct http_server *hs = a->data;
	pthread_mutex_lock(&hs->mu);
	struct http_req *r = hs->head;
	hs->head = hs->tail = NULL;
	pthread_mutex_unlock(&hs->mu);
	/* In arrival order: writers are applied in the order they came. */
	while (r) {
		struct http_req *next = r->next;
		run_call(r);
		r = next;
	}
}

/* ---- the HTTP thread side ---- */

static bool token_ok(struct http_server *hs, struct MHD_Connection *conn)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	if (hs->token == NULL || h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	size_t a = strlen(h), b = strlen(hs->token);
	/* Constant time in the token's content. */
	unsigned char diff = a != b;
	for (size_t i = 0; i < b; i++)
		diff |= (unsigned char)(hs->token[i] ^ (i < a ? h[i] : 0));
	return diff == 0;
}

static const char *query_arg(void *ctx, const char *name)
{
	return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

static void peer_text(struct MHD_Connection *conn, char *buf, size_t size)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(buf, size, "127.0.0.1");
	if (ci == NULL || ci->client_addr == NULL)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)size);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, (socklen_t)size);
}

static enum MHD_Result serve_asset(struct MHD_Connection *conn, const char *url)
{
	if (strcmp(url, "/index.html") == 0)
		url = "/";
	for (const struct http_asset *a = http_assets; a->path; a++)
		if (strcmp(a->path, url) == 0)
			return respond(conn, MHD_HTTP_OK, a->type, a->data, a->len,
				       MHD_RESPMEM_PERSISTENT);
	return respond_error(conn, MHD_HTTP_NOT_FOUND, "no such page");
}

/* The loop thread has replied: answer the request. */
static enum MHD_Result finish(struct http_req *r)
{
	pthread_mutex_lock(&r->hs->mu);
	json_t *res = r->res;
	r->res = NULL;
	pthread_mutex_unlock(&r->hs->mu);
	if (r->text) {
		json_decref(res);
		char *t = r->text;
		r->text = NULL;
		return respond(r->conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", t,
			       strlen(t), MHD_RESPMEM_MUST_FREE);
	}
	return respond_json(r->conn, ctl_http_status(r->status), res);
}

static enum MHD_Result respond_405(struct MHD_Connection *conn, const char *allow)
{
	json_t *res = ctl_error_json(VANE_EINVAL, "use %s", allow);
	char *t = res ? json_dumps(res, JSON_COMPACT) : NULL;
	json_decref(res);
	if (t == NULL)
		return MHD_NO;
	struct MHD_Response *rsp = MHD_create_response_from_buffer(strlen(t), t,
								    MHD_RESPMEM_MUST_FREE);
	if (rsp == NULL) {
		free(t);
		return MHD_NO;
	}
	MHD_add_response_header(rsp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	/* RFC 9110 15.5.6: a 405 names the methods the route takes. */
	MHD_add_response_header(rsp, MHD_HTTP_HEADER_ALLOW,
				strcmp(allow, "GET") == 0 ? "GET, HEAD" : allow);
	enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, rsp);
	MHD_destroy_response(rsp);
	return ret;
}

/* A report file of vane-lab, read-only.  The reports are HTML that anyone
 * who can run vane-lab writes: no script of theirs runs on the dashboard's
 * origin, where the bearer token lives (the reports need none). */
static enum MHD_Result serve_lab_file(struct http_server *hs, struct MHD_Connection *conn,
				      const char *rel)
{
	int fd;
	struct stat st;
	const char *type;
	int ret = lab_reports_open(hs->lab_reports, rel, &fd, &st, &type);
	if (ret == VANE_EINVAL)
		return respond_error(conn, MHD_HTTP_BAD_REQUEST, "not a report file name");
	if (ret != 0)
		return respond_error(conn, MHD_HTTP_NOT_FOUND, "no such report file");
	/* MHD owns the descriptor from here, also on failure. */
	struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (r == NULL) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Content-Security-Policy",
				"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
				"frame-ancestors 'self'");
	enum MHD_Result res = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return res;
}

/* GET /api/v1/lab-reports and /lab-reports/FILE: outside the command table,
 * since they read files, not server state, and run here on the HTTP thread. */
static enum MHD_Result serve_lab(struct http_server *hs, struct MHD_Connection *conn,
				 const char *url, bool get)
{
	if (!get)
		return respond_405(conn, "GET");
	bool file = strncmp(url, "/lab-reports/", 13) == 0;
	if (hs->lab_reports == NULL && file)
		return respond_error(conn, MHD_HTTP_NOT_FOUND, "no http.lab-reports configured");
	/* Not a 404: the dashboard asks on every server and hides its panel. */
	if (hs->lab_reports == NULL)
		return respond_json(conn, MHD_HTTP_OK, json_pack("{s:b,s:b,s:[]}", "ok", 1,
								 "enabled", 0, "reports"));
	if (file)
		return serve_lab_file(hs, conn, url + 13);
	const char *lim = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
	unsigned limit = LAB_REPORTS_DEFAULT;
	if (lim) {
		char *end;
		unsigned long v = strtoul(lim, &end, 10);
		if (*lim < '0' || *lim > '9' || *end || v == 0 || v > LAB_REPORTS_MAX)
			return respond_error(conn, MHD_HTTP_BAD_REQUEST, "limit: want 1 to 200");
		limit = (unsigned)v;
	}
	json_t *res = lab_reports_list(hs->lab_reports, limit);
	if (res == NULL || json_object_set_new(res, "ok", json_true()) != 0 ||
	    json_object_set_new(res, "enabled", json_true()) != 0) {
		json_decref(res);
		return respond_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	}
	return respond_json(conn, MHD_HTTP_OK, res);
}

static enum MHD_Result dispatch(struct http_req *r, const char *url, const char *method)
{
	struct http_server *hs = r->hs;
	struct MHD_Connection *conn = r->conn;
	char err[512], peer[64];
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	if (get && (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0 ||
		    strncmp(url, "/assets/", 8) == 0 || strcmp(url, "/favicon.ico") == 0))
		return serve_asset(conn, url);
	if (strcmp(url, "/api/v1/lab-reports") == 0 || strncmp(url, "/lab-reports/", 13) == 0)
		return serve_lab(hs, conn, url, get);
	unsigned st;
	const char *allow = NULL;
	const struct ctl_cmd *cmd = http_find(method, url, &st, &allow);
	if (cmd == NULL && st == 405)
		return respond_405(conn, allow);
	if (cmd == NULL)
		return respond_error(conn, MHD_HTTP_NOT_FOUND, "no such route");
	/* The token before the body: a caller without it learns nothing
	 * about what it sent. */
	if (cmd->writes && !token_ok(hs, conn)) {
		log_info("http: %s %s refused: %s", method, url,
			 hs->token ? "no or bad bearer token" : "no token-file configured");
		return respond_error(conn, MHD_HTTP_UNAUTHORIZED,
				     hs->token ? "missing or bad bearer token"
					       : "writes are disabled: no http.token-file");
	}
	if (r->too_big)
		return respond_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
	peer_text(conn, peer, sizeof(peer));
	int bst = http_bind(cmd, url, r->body, query_arg, conn, peer, &r->call, err, sizeof(err));
	if (bst != 200)
		return respond_error(conn, (unsigned)bst, err);
	pthread_mutex_lock(&hs->mu);
	if (hs->closing) {
		pthread_mutex_unlock(&hs->mu);
		return respond_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "server is stopping");
	}
	/* Suspend before the loop thread can see the request, so its resume
	 * always follows our suspend. */
	r->queued = true;
	MHD_suspend_connection(conn);
	if (hs->tail)
		hs->tail->next = r;
	else
		hs->head = r;
	hs->tail = r;
	/* Under the lock: http_close() closes the handle after setting closing. */
	uv_async_send(&hs->async);
	pthread_mutex_unlock(&hs->mu);
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct http_server *hs = cls;
	struct http_req *r = *con_cls;
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return MHD_NO;
		r->hs = hs;
		r->conn = conn;
		r->cl.host = hs->host;
		r->cl.deliver = req_deliver;
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_size) {
		if (r->blen + *upload_size > BODY_MAX) {
			r->too_big = true;
		} else {
			char *b = realloc(r->body, r->blen + *upload_size + 1);
			if (b == NULL)
				return MHD_NO;
			memcpy(b + r->blen, upload, *upload_size);
			r->blen += *upload_size;
			b[r->blen] = '\0';
			r->body = b;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->queued)
		return finish(r);
	return dispatch(r, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_req *r = *con_cls;
	if (r == NULL)
		return;
	http_call_clear(&r->call);
	json_decref(r->res);
	free(r->text);
	free(r->body);
	free(r);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	size_t n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	log_warning("http: %s", buf);
}

/* ---- life cycle ---- */

static int read_token(const char *path, char **out)
{
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return -errno;
	char buf[TOKEN_MAX];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
		     buf[n - 1] == '\t'))
		buf[--n] = '\0';
	if (n == 0 || strpbrk(buf, " \t\r\n"))
		return VANE_EINVAL;
	*out = strdup(buf);
	return *out ? 0 : VANE_ENOMEM;
}

int http_start(uv_loop_t *loop, const struct http_conf *conf, const struct ctl_host *host,
	       struct http_server **out)
{
	*out = NULL;
	struct http_server *hs = calloc(1, sizeof(*hs));
	if (hs == NULL)
		return VANE_ENOMEM;
	hs->host = host;
	pthread_mutex_init(&hs->mu, NULL);
	*out = hs;
	if (conf->lab_reports && (hs->lab_reports = strdup(conf->lab_reports)) == NULL)
		return VANE_ENOMEM;
	if (conf->token_file) {
		int ret = read_token(conf->token_file, &hs->token);
		if (ret != 0) {
			log_error("http.token-file %s: %s", conf->token_file,
				  ret == VANE_EINVAL ? "want one token, no spaces" : vane_strerror(ret));
			return ret;
		}
	} else {
		log_warning("http: no token-file: every write is refused");
	}
	uv_async_init(loop, &hs->async, async_cb);
	hs->async.data = hs;
	hs->async_on = true;
	const struct sockaddr *sa = (const struct sockaddr *)conf->addr;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_ERROR_LOG;
	if (sa->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	uint16_t port = ntohs(sa->sa_family == AF_INET6 ? ((const struct sockaddr_in6 *)sa)->sin6_port
							: ((const struct sockaddr_in *)sa)->sin_port);
	hs->d = MHD_start_daemon(flags, port, NULL, NULL, on_request, hs,
				 MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, hs,
				 MHD_OPTION_SOCK_ADDR, sa,
				 MHD_OPTION_NOTIFY_COMPLETED, on_completed, hs,
				 MHD_OPTION_CONNECTION_LIMIT, (unsigned)256,
				 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
				 MHD_OPTION_END);
	if (hs->d == NULL) {
		log_error("http: cannot listen on %s", conf->text);
		return -EADDRINUSE;
	}
	log_info("http API on %s%s", conf->text, hs->token ? "" : " (read-only)");
	return 0;
}

void http_close(struct http_server *hs)
{
	if (hs == NULL)
		return;
	pthread_mutex_lock(&hs->mu);
	hs->closing = true;
	struct http_req *r = hs->head;
	hs->head = hs->tail = NULL;
	pthread_mutex_unlock(&hs->mu);
	while (r) {
		struct http_req *next = r->next;
		ctl_fail(&r->cl, VANE_EAGAIN, "server is stopping");
		r = next;
	}
	if (hs->async_on)
		uv_close((uv_handle_t *)&hs->async, NULL);
}

void http_free(struct http_server *hs)
{
	if (hs == NULL)
		return;
	if (hs->d) {
		/* Give replies that were just resumed (e.g. `stop`) a moment to go out. */
		for (int i = 0; i < 50; i++) {
			const union MHD_DaemonInfo *di =
				MHD_get_daemon_info(hs->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
			if (di == NULL || di->num_connections == 0)
				break;
			usleep(10000);
		}
		MHD_stop_daemon(hs->d);
	}
	pthread_mutex_destroy(&hs->mu);
	free(hs->token);
	free(hs->lab_reports);
	free(hs);
}
