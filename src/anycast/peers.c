/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <jansson.h>

#include "anycast/peers.h"
#include "rt/log.h"

#define PEER_BODY_MAX 16384

struct body {
	char buf[PEER_BODY_MAX];
	size_t len;
};

static size_t body_cb(char *p, size_t size, size_t n, void *ctx)
{
	struct body *b = ctx;
	size_t k = size * n;
	if (b->len + k >= sizeof(b->buf))
		return 0;   /* too big for this small reply: fail the transfer */
	memcpy(b->buf + b->len, p, k);
	b->len += k;
	return k;
}

/* One peer: 1 when it answers announced and healthy. */
static int ask_one(CURL *h, const char *base, unsigned timeout_ms)
{
	char url[512];
	struct body *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return 0;
	size_t bl = strlen(base);
	snprintf(url, sizeof(url), "%.*s/api/v1/anycast", (int)(bl && base[bl - 1] == '/' ? bl - 1 : bl),
		 base);
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);   /* threadpool: no SIGALRM */
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	long status = 0;
	int healthy = 0;
	CURLcode rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_OK && status == 200) {
		json_t *j = json_loadb(b->buf, b->len, 0, NULL);
		healthy = json_is_true(json_object_get(j, "announced")) &&
			  json_is_true(json_object_get(j, "healthy"));
		json_decref(j);
	} else {
		log_info("anycast: peer %s: %s", url,
			 rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP status not 200");
	}
	free(b);
	return healthy;
}

unsigned anycast_peers_healthy(char *const *urls, unsigned n, unsigned timeout_ms)
{
	CURL *h = curl_easy_init();
	unsigned healthy = 0;
	if (h == NULL)
		return 0;
	for (unsigned i = 0; i < n; i++)
		healthy += (unsigned)ask_one(h, urls[i], timeout_ms);
	curl_easy_cleanup(h);
	return healthy;
}
