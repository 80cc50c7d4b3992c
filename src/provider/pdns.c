/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider/pdns.h"

struct body {
	char *p;
	size_t n;
	bool too_big;
};

#define BODY_MAX (16u << 20)

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ctx)
{
	struct body *b = ctx;
	size_t len = size * nmemb;
	if (b->n + len > BODY_MAX) {
		b->too_big = true;
		return 0;
	}
	char *q = realloc(b->p, b->n + len + 1);
	if (!q)
		return 0;
	memcpy(q + b->n, ptr, len);
	b->p = q;
	b->n += len;
	b->p[b->n] = '\0';
	return len;
}

/* The key file's first line. */
static int read_key(const char *path, char *key, size_t size, char *err, size_t errsize)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errsize, "api-key-file %s: cannot read", path);
		return VANE_EAGAIN;
	}
	if (!fgets(key, (int)size, f))
		key[0] = '\0';
	fclose(f);
	key[strcspn(key, "\r\n")] = '\0';
	if (!key[0]) {
		snprintf(err, errsize, "api-key-file %s: empty", path);
		return VANE_EINVAL;
	}
	return 0;
}

/* One request; `*reply` gets the parsed body when there is one. */
static int request(const struct pdns_api *api, const char *method, const char *zone,
		   const char *payload, json_t **reply, char *err, size_t errsize)
{
	char key[512], url[1024], hdr[600];
	int ret = read_key(api->key_file, key, sizeof(key), err, errsize);
	if (ret != 0)
		return ret;
	snprintf(url, sizeof(url), "%s/api/v1/servers/%s/zones/%s", api->base, api->server_id,
		 zone);
	snprintf(hdr, sizeof(hdr), "X-API-Key: %s", key);
	CURL *c = curl_easy_init();
	if (!c)
		return VANE_ENOMEM;
	struct curl_slist *h = curl_slist_append(NULL, hdr);
	h = curl_slist_append(h, "Content-Type: application/json");
	struct body b = { 0 };
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)api->timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (payload)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
	CURLcode rc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	json_t *j = b.p ? json_loads(b.p, 0, NULL) : NULL;
	if (rc != CURLE_OK) {
		snprintf(err, errsize, "%s %s: %s", method, url, curl_easy_strerror(rc));
		ret = VANE_EAGAIN;
	} else if (status < 200 || status > 299) {
		const char *why = json_string_value(json_object_get(j, "error"));
		snprintf(err, errsize, "%s %s: HTTP %ld%s%s", method, url, status, why ? ": " : "",
			 why ? why : "");
		ret = status == 404 ? VANE_ENOENT : VANE_EAGAIN;
	}
	free(b.p);
	if (ret == 0 && reply)
		*reply = j;
	else
		json_decref(j);
	return ret;
}

int pdns_patch_rrsets(const struct pdns_api *api, const char *zone, json_t *rrsets, char *err,
		      size_t errsize)
{
	json_t *doc = json_pack("{s:O}", "rrsets", rrsets);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text)
		return VANE_ENOMEM;
	int ret = request(api, "PATCH", zone, text, NULL, err, errsize);
	free(text);
	return ret;
}

int pdns_get_zone(const struct pdns_api *api, const char *zone, json_t **out, char *err,
		  size_t errsize)
{
	*out = NULL;
	int ret = request(api, "GET", zone, NULL, out, err, errsize);
	if (ret == 0 && !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		snprintf(err, errsize, "GET zone %s: not a JSON object", zone);
		return VANE_EAGAIN;
	}
	return ret;
}
