/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * PowerDNS Authoritative's HTTP API (api=yes, webserver on), as much of it
 * as a provider needs: replace rrsets of a zone, read a zone back.  Blocking
 * libcurl calls with short timeouts: only the provider's own thread calls
 * these, never the loop or the query path.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lib/errcode.h"

struct pdns_api {
	const char *base;                /* "http://127.0.0.1:8081" */
	const char *server_id;           /* "localhost" */
	const char *key_file;            /* read at each call: a rotated key needs no reload */
	unsigned timeout_ms;
};

/* PATCH the zone with `{"rrsets": rrsets}` (borrowed).  Returns 0, or a
 * negative VANE_E* code with the reason (HTTP status and PowerDNS's
 * "error" text) in `err`. */
int pdns_patch_rrsets(const struct pdns_api *api, const char *zone, json_t *rrsets, char *err,
		      size_t errsize) VANE_WUR;

/* GET the zone: `*out` is PowerDNS's JSON (serial, rrsets, ...), owned by
 * the caller. */
int pdns_get_zone(const struct pdns_api *api, const char *zone, json_t **out, char *err,
		  size_t errsize) VANE_WUR;
