/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "fleet/etcd.h"

struct etcd {
	char **urls;
	unsigned n, cur;                 /* cur: the member that answered last */
	long timeout_ms;
	char *cert, *key, *ca;
	CURL *h;
};

struct buf {
	char *p;
	size_t len, cap;
};

/* Replies are small (a few KB); more than this is not an etcd we know. */
#define REPLY_MAX (16u << 20)

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct buf *b = ud;
	size_t n = size * nmemb;
	if (b->len + n + 1 > REPLY_MAX)
		return 0;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);
		if (p == NULL)
			return 0;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, ptr, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

static bool dup_or_null(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return src == NULL || *dst != NULL;
}

struct etcd *etcd_new(char *const *urls, unsigned n, long timeout_ms,
		      const struct etcd_tls *tls)
{
	struct etcd *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->urls = calloc(n ? n : 1, sizeof(char *));
	e->h = curl_easy_init();
	if (e->urls == NULL || e->h == NULL)
		goto fail;
	for (unsigned i = 0; i < n; i++) {
		/* Tolerate a final slash: the paths below start with one. */
		size_t l = strlen(urls[i]);
		while (l > 0 && urls[i][l - 1] == '/')
			l--;
		e->urls[i] = strndup(urls[i], l);
		if (e->urls[i] == NULL)
			goto fail;
		e->n++;
	}
	e->timeout_ms = timeout_ms;
	if (tls && (!dup_or_null(&e->cert, tls->cert) || !dup_or_null(&e->key, tls->key) ||
		    !dup_or_null(&e->ca, tls->ca)))
		goto fail;
	return e;
fail:
	etcd_free(e);
	return NULL;
}

void etcd_free(struct etcd *e)
{
	if (e == NULL)
		return;
	for (unsigned i = 0; i < e->n; i++)
		free(e->urls[i]);
	free(e->urls);
	free(e->cert);
	free(e->key);
	free(e->ca);
	if (e->h)
		curl_easy_cleanup(e->h);
	free(e);
}

/* The options every request shares: the body, threads, TLS. */
static void setup(struct etcd *e, const char *url, const char *body)
{
	curl_easy_reset(e->h);
	curl_easy_setopt(e->h, CURLOPT_URL, url);
	curl_easy_setopt(e->h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e->h, CURLOPT_CONNECTTIMEOUT_MS, e->timeout_ms);
	/* Threads: no SIGALRM for timeouts. */
	curl_easy_setopt(e->h, CURLOPT_NOSIGNAL, 1L);
	/* libcurl verifies the peer and its name by default; these only say
	 * with what, and who this node is. */
	if (e->cert) {
		curl_easy_setopt(e->h, CURLOPT_SSLCERT, e->cert);
		curl_easy_setopt(e->h, CURLOPT_SSLKEY, e->key);
	}
	if (e->ca)
		curl_easy_setopt(e->h, CURLOPT_CAINFO, e->ca);
}

/* POST `req` to `path` on one member after another until one answers
 * 200 with JSON.  `*resp` is the parsed body (the first line for a
 * streamed reply). */
static int call(struct etcd *e, const char *path, json_t *req, json_t **resp)
{
	*resp = NULL;
	char *body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (body == NULL)
		return VANE_ENOMEM;
	int ret = VANE_EAGAIN;
	for (unsigned k = 0; k < e->n && *resp == NULL; k++) {
		unsigned m = (e->cur + k) % e->n;
		char url[512];
		snprintf(url, sizeof(url), "%s%s", e->urls[m], path);
		struct buf b = { 0 };
		setup(e, url, body);
		curl_easy_setopt(e->h, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(e->h, CURLOPT_WRITEDATA, &b);
		curl_easy_setopt(e->h, CURLOPT_TIMEOUT_MS, e->timeout_ms);
		long status = 0;
		if (curl_easy_perform(e->h) == CURLE_OK)
			curl_easy_getinfo(e->h, CURLINFO_RESPONSE_CODE, &status);
		if (status == 200 && b.p) {
			json_error_t jerr;
			*resp = json_loadb(b.p, strcspn(b.p, "\n"), 0, &jerr);
			if (*resp) {
				e->cur = m;
				ret = 0;
			}
		} else if (status >= 400 && status < 500) {
			ret = VANE_EINVAL;   /* our request is wrong: another member would say the same */
			free(b.p);
			break;
		}
		free(b.p);
	}
	free(body);
	return ret;
}

static int64_t i64_of(const json_t *o, const char *key)
{
	/* The gateway writes int64 as strings (proto3 JSON). */
	const json_t *v = json_object_get(o, key);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static json_t *b64_json(const char *s)
{
	char *t = etcd_b64_encode(s, strlen(s));
	json_t *j = t ? json_string(t) : NULL;
	free(t);
	return j;
}

static char *b64_field(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	size_t len;
	return etcd_b64_decode(v ? v : "", &len);
}

void etcd_range_free(struct etcd_range *r)
{
	for (unsigned i = 0; i < r->n; i++) {
		free(r->kv[i].key);
		free(r->kv[i].value);
	}
	free(r->kv);
	memset(r, 0, sizeof(*r));
}

static int range(struct etcd *e, const char *key, bool prefix, struct etcd_range *out)
{
	memset(out, 0, sizeof(*out));
	json_t *req = json_pack("{s:o}", "key", b64_json(key));
	if (req == NULL)
		return VANE_ENOMEM;
	if (prefix) {
		/* range_end: the prefix with its last byte plus one. */
		char end[512];
		size_t l = strlen(key);
		if (l == 0 || l >= sizeof(end)) {
			json_decref(req);
			return VANE_EINVAL;
		}
		memcpy(end, key, l + 1);
		end[l - 1]++;
		json_object_set_new(req, "range_end", b64_json(end));
	}
	json_t *resp;
	int ret = call(e, "/v3/kv/range", req, &resp);
	if (ret != 0)
		return ret;
	out->revision = i64_of(json_object_get(resp, "header"), "revision");
	json_t *kvs = json_object_get(resp, "kvs");
	size_t n = json_array_size(kvs);
	out->kv = calloc(n ? n : 1, sizeof(*out->kv));
	if (out->kv == NULL) {
		json_decref(resp);
		return VANE_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *kv = json_array_get(kvs, i);
		struct etcd_kv *o = &out->kv[out->n];
		o->key = b64_field(kv, "key");
		o->value = b64_field(kv, "value");
		o->mod_revision = i64_of(kv, "mod_revision");
		out->n++;
		if (o->key == NULL || o->value == NULL) {
			ret = VANE_ENOMEM;
			break;
		}
	}
	json_decref(resp);
	if (ret != 0)
		etcd_range_free(out);
	return ret;
}

int etcd_get_prefix(struct etcd *e, const char *prefix, struct etcd_range *out)
{
	return range(e, prefix, true, out);
}

int etcd_changed_since(struct etcd *e, const char *prefix, int64_t since, unsigned *changed,
		       int64_t *count)
{
	char end[512];
	size_t l = strlen(prefix);
	if (l == 0 || l >= sizeof(end))
		return VANE_EINVAL;
	memcpy(end, prefix, l + 1);
	end[l - 1]++;
	char min[32];
	snprintf(min, sizeof(min), "%" PRId64, since + 1);
	json_t *req = json_pack("{s:o,s:o,s:b,s:s}", "key", b64_json(prefix), "range_end",
				b64_json(end), "keys_only", 1, "min_mod_revision", min);
	if (req == NULL)
		return VANE_ENOMEM;
	json_t *resp;
	int ret = call(e, "/v3/kv/range", req, &resp);
	if (ret != 0)
		return ret;
	*changed = (unsigned)json_array_size(json_object_get(resp, "kvs"));
	*count = i64_of(resp, "count");
	json_decref(resp);
	return 0;
}

int etcd_revision(struct etcd *e, const char *key, int64_t *revision)
{
	json_t *req = json_pack("{s:o,s:b}", "key", b64_json(key), "count_only", 1);
	if (req == NULL)
		return VANE_ENOMEM;
	json_t *resp;
	int ret = call(e, "/v3/kv/range", req, &resp);
	if (ret != 0)
		return ret;
	*revision = i64_of(json_object_get(resp, "header"), "revision");
	json_decref(resp);
	return 0;
}

int etcd_get(struct etcd *e, const char *key, char **value, int64_t *mod_rev)
{
	struct etcd_range r;
	*value = NULL;
	*mod_rev = 0;
	int ret = range(e, key, false, &r);
	if (ret != 0)
		return ret;
	if (r.n > 0) {
		*value = r.kv[0].value;
		r.kv[0].value = NULL;
		*mod_rev = r.kv[0].mod_revision;
	}
	etcd_range_free(&r);
	return 0;
}

static json_t *put_req(const char *key, const char *value, int64_t lease)
{
	json_t *req = json_pack("{s:o,s:o}", "key", b64_json(key), "value", b64_json(value));
	if (req && lease) {
		char id[32];
		snprintf(id, sizeof(id), "%" PRId64, lease);
		json_object_set_new(req, "lease", json_string(id));
	}
	return req;
}

int etcd_put_if(struct etcd *e, const char *key, const char *value, int64_t mod_rev,
		int64_t lease, bool *ok, int64_t *revision)
{
	*ok = false;
	char rev[32];
	snprintf(rev, sizeof(rev), "%" PRId64, mod_rev);
	json_t *put = put_req(key, value, lease);
	json_t *req = json_pack("{s:[{s:o,s:s,s:s,s:s}],s:[{s:o}]}",
				"compare", "key", b64_json(key), "result", "EQUAL",
				"target", "MOD", "mod_revision", rev,
				"success", "request_put", put);
	if (req == NULL)
		return VANE_ENOMEM;
	json_t *resp;
	int ret = call(e, "/v3/kv/txn", req, &resp);
	if (ret != 0)
		return ret;
	/* proto3 JSON leaves out a false "succeeded". */
	*ok = json_is_true(json_object_get(resp, "succeeded"));
	if (revision)
		*revision = i64_of(json_object_get(resp, "header"), "revision");
	json_decref(resp);
	return 0;
}

int etcd_put(struct etcd *e, const char *key, const char *value, int64_t lease)
{
	json_t *req = put_req(key, value, lease);
	if (req == NULL)
		return VANE_ENOMEM;
	json_t *resp;
	int ret = call(e, "/v3/kv/put", req, &resp);
	json_decref(resp);
	return ret;
}

int etcd_put_many(struct etcd *e, const char *const *keys, const char *const *values, unsigned n,
		  int64_t lease)
{
	json_t *ops = json_array();
	for (unsigned i = 0; ops && i < n; i++) {
		json_t *put = put_req(keys[i], values[i], lease);
		if (put == NULL || json_array_append_new(ops, json_pack("{s:o}", "request_put", put))) {
			json_decref(ops);
			ops = NULL;
		}
	}
	json_t *req = ops ? json_pack("{s:o}", "success", ops) : NULL;
	if (req == NULL)
		return VANE_ENOMEM;
	json_t *resp;
	int ret = call(e, "/v3/kv/txn", req, &resp);
	json_decref(resp);
	return ret;
}

int etcd_lease_grant(struct etcd *e, unsigned ttl_s, int64_t *id)
{
	json_t *req = json_pack("{s:i}", "TTL", (int)ttl_s);
	if (req == NULL)
		return VANE_ENOMEM;
	json_t *resp;
	int ret = call(e, "/v3/lease/grant", req, &resp);
	if (ret != 0)
		return ret;
	*id = i64_of(resp, "ID");
	json_decref(resp);
	return *id ? 0 : VANE_EAGAIN;
}

int etcd_lease_keepalive(struct etcd *e, int64_t id)
{
	char s[32];
	snprintf(s, sizeof(s), "%" PRId64, id);
	json_t *req = json_pack("{s:s}", "ID", s);
	if (req == NULL)
		return VANE_ENOMEM;
	json_t *resp;
	int ret = call(e, "/v3/lease/keepalive", req, &resp);
	if (ret != 0)
		return ret;
	/* A stream of {"result": {...}}; a TTL of 0 (left out) means gone. */
	json_t *r = json_object_get(resp, "result");
	ret = i64_of(r ? r : resp, "TTL") > 0 ? 0 : VANE_ENOENT;
	json_decref(resp);
	return ret;
}

int etcd_lease_ttl(struct etcd *e, int64_t id, int64_t *ttl, int64_t *granted)
{
	char s[32];
	snprintf(s, sizeof(s), "%" PRId64, id);
	json_t *req = json_pack("{s:s}", "ID", s);
	if (req == NULL)
		return VANE_ENOMEM;
	json_t *resp;
	int ret = call(e, "/v3/lease/timetolive", req, &resp);
	if (ret != 0)
		return ret;
	/* An expired lease says TTL -1 (a number or a string, by version). */
	*ttl = i64_of(resp, "TTL");
	*granted = i64_of(resp, "grantedTTL");
	json_decref(resp);
	return 0;
}

struct watch {
	struct buf line;
	void (*on_event)(void *ctx);
	bool (*keep_going)(void *ctx);
	void *ctx;
};

/* The stream is one JSON object per line; only "are there events" matters
 * here: the caller reads the keys again, which also covers what a watch
 * can miss (compaction, a member restarting). */
static size_t on_watch_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct watch *w = ud;
	size_t n = size * nmemb;
	for (size_t i = 0; i < n; i++) {
		if (ptr[i] != '\n') {
			char c = ptr[i];
			if (on_data(&c, 1, 1, &w->line) != 1)
				return 0;
			continue;
		}
		if (w->line.p && strstr(w->line.p, "\"events\""))
			w->on_event(w->ctx);
		w->line.len = 0;
	}
	return n;
}

static int on_watch_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct watch *w = ud;
	return w->keep_going(w->ctx) ? 0 : 1;
}

int etcd_watch(struct etcd *e, const char *prefix, void (*on_event)(void *ctx),
	       bool (*keep_going)(void *ctx), void *ctx)
{
	char end[512];
	size_t l = strlen(prefix);
	if (l == 0 || l >= sizeof(end))
		return VANE_EINVAL;
	memcpy(end, prefix, l + 1);
	end[l - 1]++;
	json_t *req = json_pack("{s:{s:o,s:o}}", "create_request", "key", b64_json(prefix),
				"range_end", b64_json(end));
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (body == NULL)
		return VANE_ENOMEM;
	struct watch w = { .on_event = on_event, .keep_going = keep_going, .ctx = ctx };
	unsigned m = e->cur % (e->n ? e->n : 1);
	char url[512];
	snprintf(url, sizeof(url), "%s/v3/watch", e->urls[m]);
	e->cur = (e->cur + 1) % (e->n ? e->n : 1);   /* the next attempt tries another member */
	setup(e, url, body);
	curl_easy_setopt(e->h, CURLOPT_WRITEFUNCTION, on_watch_data);
	curl_easy_setopt(e->h, CURLOPT_WRITEDATA, &w);
	curl_easy_setopt(e->h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e->h, CURLOPT_XFERINFOFUNCTION, on_watch_progress);
	curl_easy_setopt(e->h, CURLOPT_XFERINFODATA, &w);
	CURLcode rc = curl_easy_perform(e->h);
	free(body);
	free(w.line.p);
	return rc == CURLE_ABORTED_BY_CALLBACK ? 0 : VANE_EAGAIN;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *etcd_b64_encode(const void *data, size_t len)
{
	const uint8_t *p = data;
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = i + 1 < len ? b64[v >> 6 & 63] : '=';
		*o++ = i + 2 < len ? b64[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

char *etcd_b64_decode(const char *text, size_t *len)
{
	size_t n = strlen(text);
	char *out = malloc(n / 4 * 3 + 1);
	if (out == NULL)
		return NULL;
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < n && text[i] != '='; i++) {
		const char *c = strchr(b64, text[i]);
		if (c == NULL || text[i] == '\0') {
			free(out);
			return NULL;
		}
		acc = acc << 6 | (uint32_t)(c - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)(acc >> bits & 0xff);
		}
	}
	out[o] = '\0';
	*len = o;
	return out;
}
