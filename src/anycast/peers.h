/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Asking the other sites before a withdraw for a soft reason: GET
 * BASE/api/v1/anycast on each peer (blocking libcurl, run on libuv's
 * threadpool), counting those that answer announced and healthy.  A peer
 * that does not answer in time counts as not healthy: when in doubt, this
 * site keeps announcing (a soft failure still answers; a withdrawn last
 * site answers nobody).
 */
#pragma once

/* How many of `urls` (base URLs, "http://ADDR:PORT") say they are
 * announced and healthy; each asked for at most `timeout_ms`. */
unsigned anycast_peers_healthy(char *const *urls, unsigned n, unsigned timeout_ms);
