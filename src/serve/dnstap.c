/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/errcode.h"
#include "serve/dnstap.h"
#include "rt/log.h"
#include "vane_version.h"

static struct dnstap *current;

void dnstap_set_current(struct dnstap *dt)
{
	current = dt;
}

struct dnstap *dnstap_current(void)
{
	return current;
}

#ifdef VANE_DNSTAP

#include <fstrm.h>
#include <protobuf-c/protobuf-c.h>

#include "serve/dnstap.pb-c.h"

#define DNSTAP_CONTENT_TYPE "protobuf:dnstap.Dnstap"
/* Per-queue slots (a power of two); at 100k logged queries a second this is
 * about 80 ms of buffering before messages are dropped. */
#define DNSTAP_QUEUE_SIZE 8192

struct dnstap {
	struct fstrm_iothr *iothr;
	char *identity, *version;
	bool log_queries, log_responses;
	unsigned sample;
};

bool dnstap_available(void)
{
	return true;
}

static struct fstrm_iothr *iothr_new(const char *path, unsigned nqueues)
{
	struct fstrm_unix_writer_options *uwopt = fstrm_unix_writer_options_init();
	struct fstrm_writer_options *wopt = fstrm_writer_options_init();
	struct fstrm_iothr_options *iopt = fstrm_iothr_options_init();
	struct fstrm_writer *w = NULL;
	struct fstrm_iothr *iothr = NULL;

	fstrm_unix_writer_options_set_socket_path(uwopt, path);
	fstrm_writer_options_add_content_type(wopt, DNSTAP_CONTENT_TYPE,
					      strlen(DNSTAP_CONTENT_TYPE));
	w = fstrm_unix_writer_init(uwopt, wopt);
	if (w == NULL)
		goto out;
	fstrm_iothr_options_set_num_input_queues(iopt, nqueues);
	fstrm_iothr_options_set_input_queue_size(iopt, DNSTAP_QUEUE_SIZE);
	/* One producer per queue: lock-free on the query path. */
	fstrm_iothr_options_set_queue_model(iopt, FSTRM_IOTHR_QUEUE_MODEL_SPSC);
	/* Reconnect soon after a collector (re)starts. */
	fstrm_iothr_options_set_reopen_interval(iopt, 1);
	iothr = fstrm_iothr_init(iopt, &w);   /* takes `w` on success */
	if (iothr == NULL)
		fstrm_writer_destroy(&w);
out:
	fstrm_iothr_options_destroy(&iopt);
	fstrm_writer_options_destroy(&wopt);
	fstrm_unix_writer_options_destroy(&uwopt);
	return iothr;
}

int dnstap_open(const struct vane_conf *conf, unsigned nqueues, struct dnstap **out)
{
	*out = NULL;
	if (conf->dnstap_socket == NULL)
		return 0;
	struct dnstap *dt = calloc(1, sizeof(*dt));
	if (dt == NULL)
		return VANE_ENOMEM;
	char host[256] = "";
	if (conf->dnstap_identity == NULL && gethostname(host, sizeof(host) - 1) != 0)
		host[0] = '\0';
	dt->identity = strdup(conf->dnstap_identity ? conf->dnstap_identity : host);
	dt->version = strdup(conf->dnstap_version ? conf->dnstap_version
						  : "vaned " VANE_VERSION);
	dt->log_queries = conf->dnstap_log_queries;
	dt->log_responses = conf->dnstap_log_responses;
	dt->sample = conf->dnstap_sample ? conf->dnstap_sample : 1;
	if (dt->identity == NULL || dt->version == NULL)
		goto fail;
	dt->iothr = iothr_new(conf->dnstap_socket, nqueues);
	if (dt->iothr == NULL) {
		log_error("dnstap: cannot start the writer for %s", conf->dnstap_socket);
		goto fail;
	}
	log_info("dnstap: logging 1 in %u queries to %s", dt->sample, conf->dnstap_socket);
	*out = dt;
	return 0;
fail:
	free(dt->identity);
	free(dt->version);
	free(dt);
	return VANE_ENOMEM;
}

void dnstap_close(struct dnstap *dt)
{
	if (dt == NULL)
		return;
	/* Flushes the queues to a connected collector, then joins. */
	fstrm_iothr_destroy(&dt->iothr);
	free(dt->identity);
	free(dt->version);
	free(dt);
}

void dnstap_tap_init(struct dnstap_tap *tap, struct dnstap *dt, unsigned idx, int fd, bool tcp)
{
	memset(tap, 0, sizeof(*tap));
	tap->tcp = tcp;
	if (dt == NULL)
		return;
	tap->queue = fstrm_iothr_get_input_queue_idx(dt->iothr, idx);
	if (tap->queue == NULL)
		return;
	tap->sample = tap->left = dt->sample;
	if (fd >= 0) {
		socklen_t len = sizeof(tap->local);
		if (getsockname(fd, (struct sockaddr *)&tap->local, &len) < 0)
			tap->local.ss_family = 0;
	}
	tap->dt = dt;
}

/* Address bytes and port of a sockaddr, as dnstap carries them. */
static bool sa_parts(const struct sockaddr *sa, ProtobufCBinaryData *addr, uint32_t *port,
		     Dnstap__SocketFamily *fam)
{
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
		*addr = (ProtobufCBinaryData){ 4, (uint8_t *)&s->sin_addr };
		*port = ntohs(s->sin_port);
		*fam = DNSTAP__SOCKET_FAMILY__INET;
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
		*addr = (ProtobufCBinaryData){ 16, (uint8_t *)&s->sin6_addr };
		*port = ntohs(s->sin6_port);
		*fam = DNSTAP__SOCKET_FAMILY__INET6;
		return true;
	}
	return false;
}

/* Pack one frame and hand it to the I/O thread, which frees it. */
static void submit(struct dnstap_tap *tap, Dnstap__Message *m)
{
	struct dnstap *dt = tap->dt;
	Dnstap__Dnstap d = DNSTAP__DNSTAP__INIT;
	d.type = DNSTAP__DNSTAP__TYPE__MESSAGE;
	d.identity = (ProtobufCBinaryData){ strlen(dt->identity), (uint8_t *)dt->identity };
	d.has_identity = true;
	d.version = (ProtobufCBinaryData){ strlen(dt->version), (uint8_t *)dt->version };
	d.has_version = true;
	d.message = m;

	size_t len = dnstap__dnstap__get_packed_size(&d);
	uint8_t *buf = malloc(len);
	if (buf == NULL) {
		tap->dropped++;
		return;
	}
	dnstap__dnstap__pack(&d, buf);
	if (fstrm_iothr_submit(dt->iothr, tap->queue, buf, len, fstrm_free_wrapper, NULL)
	    != fstrm_res_success) {
		free(buf);   /* queue full or collector gone: drop, never wait */
		tap->dropped++;
	}
}

void dnstap_log(struct dnstap_tap *tap, const struct sockaddr *peer,
		const uint8_t *query, size_t qlen, const uint8_t *resp, size_t rlen,
		const struct timespec *qtime)
{
	struct dnstap *dt = tap->dt;
	Dnstap__Message m = DNSTAP__MESSAGE__INIT;
	Dnstap__SocketFamily fam;

	m.has_socket_protocol = true;
	m.socket_protocol = tap->tcp ? DNSTAP__SOCKET_PROTOCOL__TCP : DNSTAP__SOCKET_PROTOCOL__UDP;
	if (sa_parts(peer, &m.query_address, &m.query_port, &fam)) {
		m.has_query_address = m.has_query_port = true;
		m.has_socket_family = true;
		m.socket_family = fam;
	}
	if (sa_parts((const struct sockaddr *)&tap->local, &m.response_address,
		     &m.response_port, &fam))
		m.has_response_address = m.has_response_port = true;
	m.query_time_sec = (uint64_t)qtime->tv_sec;
	m.query_time_nsec = (uint32_t)qtime->tv_nsec;
	m.has_query_time_sec = m.has_query_time_nsec = true;

	if (dt->log_queries) {
		m.type = DNSTAP__MESSAGE__TYPE__AUTH_QUERY;
		m.query_message = (ProtobufCBinaryData){ qlen, (uint8_t *)query };
		m.has_query_message = true;
		submit(tap, &m);
		m.has_query_message = false;
	}
	if (dt->log_responses && resp != NULL) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		m.type = DNSTAP__MESSAGE__TYPE__AUTH_RESPONSE;
		m.response_message = (ProtobufCBinaryData){ rlen, (uint8_t *)resp };
		m.has_response_message = true;
		m.response_time_sec = (uint64_t)now.tv_sec;
		m.response_time_nsec = (uint32_t)now.tv_nsec;
		m.has_response_time_sec = m.has_response_time_nsec = true;
		submit(tap, &m);
	}
}

#else /* !VANE_DNSTAP */

bool dnstap_available(void)
{
	return false;
}

int dnstap_open(const struct vane_conf *conf, unsigned nqueues, struct dnstap **out)
{
	*out = NULL;
	if (conf->dnstap_socket == NULL)
		return 0;
	log_error("dnstap: this vaned was built without dnstap support (-Ddnstap=enabled)");
	return VANE_ENOTSUP;
}

void dnstap_close(struct dnstap *dt)
{
}

void dnstap_tap_init(struct dnstap_tap *tap, struct dnstap *dt, unsigned idx, int fd, bool tcp)
{
	memset(tap, 0, sizeof(*tap));
}

void dnstap_log(struct dnstap_tap *tap, const struct sockaddr *peer,
		const uint8_t *query, size_t qlen, const uint8_t *resp, size_t rlen,
		const struct timespec *qtime)
{
}

#endif
