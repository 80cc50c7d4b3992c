/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What vanectl providers, providers plan and /metrics show (loop thread;
 * each provider's state is read under its lock).
 */
#include <stdio.h>
#include <string.h>

#include "provider/internal.h"
#include "provider/provider.h"
#include "provider/translate.h"
#include "rt/clock.h"

static json_t *zone_json(const struct prov_zone_st *z)
{
	json_t *j = json_pack("{s:s,s:I,s:I}", "zone", z->name, "serial_pushed",
			      (json_int_t)z->serial_pushed, "serial_api", (json_int_t)z->serial_api);
	if (z->has_dns) {
		json_object_set_new(j, "serial", json_integer(z->serial_dns));
		json_object_set_new(j, "serial_lag", json_integer(z->lag));
	} else {
		json_object_set_new(j, "serial", json_null());
		json_object_set_new(j, "serial_lag", json_null());
	}
	return j;
}

static json_t *one_status(struct prov *p, uint64_t now)
{
	pthread_mutex_lock(&p->lock);
	json_t *zones = json_array();
	int64_t lag = 0;
	for (unsigned z = 0; z < p->nzones; z++) {
		json_array_append_new(zones, zone_json(&p->zones[z]));
		if (p->zones[z].lag > lag)
			lag = p->zones[z].lag;
	}
	bool pending = p->want && p->want_gen != p->pushed_gen;
	json_t *j = json_pack(
		"{s:s,s:s,s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:o,s:I,s:I,s:o,s:{s:s,s:b,s:I,s:I,s:I,"
		"s:I,s:I,s:I,s:I,s:s}}",
		"name", p->conf.name, "type", p->conf.type, "api", p->conf.api,
		"last_result", p->last_push_ms == 0 ? "none" : p->failing ? "error" : "ok",
		"pending", pending,
		"last_push_ms", (json_int_t)p->last_push_ms,
		"last_ok_ms", (json_int_t)p->last_ok_ms,
		"since_ok_ms", (json_int_t)(p->last_ok_ms ? now - p->last_ok_ms : 0),
		"attempts", (json_int_t)p->attempts,
		"error", p->err[0] ? json_string(p->err) : json_null(),
		"pushes_ok", (json_int_t)p->pushes_ok, "pushes_failed", (json_int_t)p->pushes_failed,
		"zones", zones,
		"drift",
		"state", p->drift_checks == 0 ? "unknown" : p->drifted ? "drift" :
			 p->drift_rounds ? "mismatch" : "ok",
		"alert", p->drifted,
		"checks", (json_int_t)p->drift_checks,
		"last_check_ms", (json_int_t)p->drift_last_ms,
		"serial_lag", (json_int_t)lag,
		"api_mismatches", (json_int_t)p->mismatch_api,
		"serial_mismatches", (json_int_t)p->mismatch_serial,
		"ecs_mismatches", (json_int_t)p->mismatch_ecs,
		"ecs_samples", (json_int_t)p->ecs_samples,
		"last_mismatch", p->drift_text);
	json_t *names = json_array();
	for (unsigned i = 0; p->pushed && i < p->pushed->nnames; i++)
		json_array_append_new(names, json_string(p->pushed->names[i].name));
	json_object_set_new(j, "steered", names);
	pthread_mutex_unlock(&p->lock);
	return j;
}

json_t *provider_status_json(struct provider_set *ps)
{
	json_t *arr = json_array();
	uint64_t now = rt_now_ms();
	for (unsigned i = 0; ps && i < ps->n; i++)
		json_array_append_new(arr, one_status(&ps->p[i], now));
	return json_pack("{s:o,s:I}", "providers", arr, "now", (json_int_t)now);
}

json_t *provider_plan_json(const struct vane_conf *conf)
{
	json_t *arr = json_array();
	for (unsigned i = 0; i < conf->nproviders; i++) {
		const struct conf_provider *cp = &conf->providers[i];
		json_t *svcs = json_array();
		for (unsigned s = 0; s < conf->nservices; s++) {
			const struct conf_service *svc = &conf->services[s];
			const char *zone = prov_zone_of(cp->zones, cp->nzones, svc->name);
			if (!zone)
				continue;
			struct prov_plan_item items[PROV_PLAN_MAX];
			unsigned n = prov_plan(conf, svc, items, PROV_PLAN_MAX);
			json_t *ji = json_array();
			const char *worst = "exact";
			for (unsigned k = 0; k < n; k++) {
				json_array_append_new(ji, json_pack("{s:s,s:s,s:s}", "feature",
					items[k].feature, "fidelity",
					prov_fidelity_name(items[k].fidelity), "text", items[k].text));
				if (items[k].fidelity == PROV_LOST)
					worst = "lost";
				else if (items[k].fidelity == PROV_APPROX && strcmp(worst, "lost"))
					worst = "approximate";
			}
			json_array_append_new(svcs, json_pack("{s:s,s:s,s:s,s:o}", "service",
				svc->name, "zone", zone, "overall", worst, "items", ji));
		}
		json_array_append_new(arr, json_pack("{s:s,s:s,s:o}", "name", cp->name, "type",
						     cp->type, "services", svcs));
	}
	return json_pack("{s:o}", "providers", arr);
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void provider_metrics(struct provider_set *ps, FILE *f)
{
	if (!ps || ps->n == 0)
		return;
	uint64_t now = rt_now_ms();
	struct {
		const char *name, *type, *help;
	} m[] = {
		{ "vane_provider_pushes_total", "counter",
		  "Pushes to a second provider, by result." },
		{ "vane_provider_push_pending", "gauge",
		  "1 while a wanted change has not reached the provider." },
		{ "vane_provider_seconds_since_push", "gauge",
		  "Seconds since the last successful push (-1: none yet)." },
		{ "vane_provider_serial_lag", "gauge",
		  "The provider's API serial minus the SOA serial it answers (RFC 1982)." },
		{ "vane_provider_drift", "gauge",
		  "1 while the drift alert is on (drift-threshold checks with a mismatch)." },
		{ "vane_provider_drift_checks_total", "counter", "Drift checks run." },
		{ "vane_provider_drift_mismatches_total", "counter",
		  "Mismatches found by drift checks, by kind (api, serial, ecs)." },
		{ "vane_provider_ecs_samples_total", "counter",
		  "ECS queries compared between vaned and the provider." },
	};
	for (unsigned k = 0; k < sizeof(m) / sizeof(m[0]); k++) {
		head(f, m[k].name, m[k].type, m[k].help);
		for (unsigned i = 0; i < ps->n; i++) {
			struct prov *p = &ps->p[i];
			const char *n = p->conf.name;
			pthread_mutex_lock(&p->lock);
			int64_t lag = 0;
			for (unsigned z = 0; z < p->nzones; z++)
				if (p->zones[z].lag > lag)
					lag = p->zones[z].lag;
			switch (k) {
			case 0:
				fprintf(f, "%s{provider=\"%s\",result=\"ok\"} %llu\n", m[k].name, n,
					(unsigned long long)p->pushes_ok);
				fprintf(f, "%s{provider=\"%s\",result=\"error\"} %llu\n", m[k].name, n,
					(unsigned long long)p->pushes_failed);
				break;
			case 1:
				fprintf(f, "%s{provider=\"%s\"} %d\n", m[k].name, n,
					p->want && p->want_gen != p->pushed_gen);
				break;
			case 2:
				fprintf(f, "%s{provider=\"%s\"} %.3f\n", m[k].name, n,
					p->last_ok_ms ? (double)(now - p->last_ok_ms) / 1000 : -1.0);
				break;
			case 3:
				fprintf(f, "%s{provider=\"%s\"} %lld\n", m[k].name, n, (long long)lag);
				break;
			case 4:
				fprintf(f, "%s{provider=\"%s\"} %d\n", m[k].name, n, p->drifted);
				break;
			case 5:
				fprintf(f, "%s{provider=\"%s\"} %llu\n", m[k].name, n,
					(unsigned long long)p->drift_checks);
				break;
			case 6:
				fprintf(f, "%s{provider=\"%s\",kind=\"api\"} %llu\n", m[k].name, n,
					(unsigned long long)p->mismatch_api);
				fprintf(f, "%s{provider=\"%s\",kind=\"serial\"} %llu\n", m[k].name, n,
					(unsigned long long)p->mismatch_serial);
				fprintf(f, "%s{provider=\"%s\",kind=\"ecs\"} %llu\n", m[k].name, n,
					(unsigned long long)p->mismatch_ecs);
				break;
			default:
				fprintf(f, "%s{provider=\"%s\"} %llu\n", m[k].name, n,
					(unsigned long long)p->ecs_samples);
			}
			pthread_mutex_unlock(&p->lock);
		}
	}
}
