/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The `stats` reply: the per-thread query counters (serve/stats.h) summed
 * and written as JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/encode.h"
#include "lib/dname.h"
#include "lib/mnemonic.h"

static int add_count(json_t *obj, const char *key, uint64_t n)
{
	if (n == 0)
		return 0;
	json_t *old = json_object_get(obj, key);
	uint64_t base = old ? (uint64_t)json_integer_value(old) : 0;
	return json_object_set_new(obj, key, json_integer((json_int_t)(base + n)));
}

json_t *stats_to_json(struct srv_stats *const *blocks, unsigned n)
{
	/* Only the fields summed here: the whole block is large. */
	struct {
		uint64_t queries, dropped, qtype_other;
		uint64_t transport[TR_COUNT], rcode[STATS_RCODES], qtype[256];
	} sum;
	memset(&sum, 0, sizeof(sum));
	json_t *hitypes = json_object();
	char buf[32];

	for (unsigned b = 0; b < n; b++) {
		/* Volatile reads: the owner keeps counting while we sum. */
		const volatile struct srv_stats *s = blocks[b];
		sum.queries += s->queries;
		sum.dropped += s->dropped;
		for (int i = 0; i < TR_COUNT; i++)
			sum.transport[i] += s->transport[i];
		for (int i = 0; i < STATS_RCODES; i++)
			sum.rcode[i] += s->rcode[i];
		for (int i = 0; i < 256; i++)
			sum.qtype[i] += s->qtype[i];
		sum.qtype_other += s->qtype_other;
		for (int i = 0; i < STATS_HITYPES && s->hitype[i]; i++)
			add_count(hitypes, dns_type_name(s->hitype[i], buf, sizeof(buf)),
				  s->hitype_count[i]);
	}

	json_t *rcode = json_object(), *qtype = json_object(), *tr = json_object();
	json_t *out = json_object();
	if (!hitypes || !rcode || !qtype || !tr || !out)
		goto fail;

	for (unsigned i = 0; i < STATS_RCODES; i++)
		add_count(rcode, dns_rcode_name(i, buf, sizeof(buf)), sum.rcode[i]);
	for (unsigned i = 0; i < 256; i++)
		add_count(qtype, dns_type_name(i, buf, sizeof(buf)), sum.qtype[i]);
	json_object_update(qtype, hitypes);
	add_count(qtype, "OTHER", sum.qtype_other);

	static const char *const tr_names[TR_COUNT] = { "udp4", "udp6", "tcp4", "tcp6" };
	for (int i = 0; i < TR_COUNT; i++)
		json_object_set_new(tr, tr_names[i], json_integer((json_int_t)sum.transport[i]));

	json_object_set_new(out, "ok", json_true());
	json_object_set_new(out, "queries", json_integer((json_int_t)sum.queries));
	json_object_set_new(out, "rcode", rcode);
	json_object_set_new(out, "qtype", qtype);
	json_object_set_new(out, "transport", tr);
	json_object_set_new(out, "dropped", json_integer((json_int_t)sum.dropped));
	json_decref(hitypes);
	return out;
fail:
	json_decref(hitypes);
	json_decref(rcode);
	json_decref(qtype);
	json_decref(tr);
	json_decref(out);
	return NULL;
}

static json_t *service_json(const struct stats_steer_sum *sum, const struct steer_service *svc,
			    const struct serve_stat_slots *sl)
{
	json_t *o = json_object(), *eps = json_object();
	if (!o || !eps) {
		json_decref(o);
		json_decref(eps);
		return NULL;
	}
	uint16_t k = sl->svc;
	json_object_set_new(o, "answers", json_integer((json_int_t)sum->steered[k]));
	json_object_set_new(o, "fallbacks", json_integer((json_int_t)sum->fallbacks[k]));
	json_object_set_new(o, "all_drained", json_integer((json_int_t)sum->all_drained[k]));
	for (uint32_t e = 0; e < svc->n_ep; e++)
		json_object_set_new(eps, svc->ep[e].id,
				    json_integer((json_int_t)sum->answers[k][sl->ep[e]]));
	json_object_set_new(o, "endpoints", eps);
	return o;
}

int stats_steer_json(json_t *out, struct srv_stats *const *blocks, unsigned n,
		     const struct serve_view *view)
{
	struct stats_steer_sum *sum = malloc(sizeof(*sum));
	json_t *svcs = json_object(), *scope = json_object(), *size = json_object();
	uint64_t fallbacks = 0;
	char key[32], name[DNAME_MAXSTR];
	int ret = VANE_ENOMEM;

	if (!sum || !svcs || !scope || !size)
		goto out;
	stats_steer_sum(sum, blocks, n);
	const struct steer_set *set = view && view->steer ? view->steer->set : NULL;
	for (uint32_t s = 0; set && s < set->n; s++) {
		const struct serve_stat_slots *sl = &view->slots[s];
		if (sl->svc == SERVE_NO_SLOT)
			continue;
		dname_to_str(set->svc[s].name, name, sizeof(name));
		size_t len = strlen(name);
		if (len > 1)
			name[len - 1] = '\0';   /* "api.example.com", as in keys */
		json_t *o = service_json(sum, &set->svc[s], sl);
		if (!o)
			goto out;
		json_object_set_new(svcs, name, o);
		fallbacks += sum->fallbacks[sl->svc];
	}
	for (unsigned i = 0; i < STATS_SCOPES; i++) {
		snprintf(key, sizeof(key), "%u", i);
		add_count(scope, key, sum->scope[i]);
	}
	for (unsigned i = 0; i < STATS_SIZE_BUCKETS; i++) {
		snprintf(key, sizeof(key), "%u", (i + 1) << STATS_SIZE_SHIFT);
		add_count(size, key, sum->size[i]);
	}
	json_object_set(out, "services", svcs);
	json_object_set_new(out, "fallbacks", json_integer((json_int_t)fallbacks));
	json_object_set(out, "ecs_scope", scope);
	json_object_set(out, "response_size", size);
	ret = 0;
out:
	json_decref(svcs);
	json_decref(scope);
	json_decref(size);
	free(sum);
	return ret;
}

