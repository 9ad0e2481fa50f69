#include "kstats.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define NRES 3

static const char *const res_names[NRES] = { "services", "endpointslices", "endpoints" };
static const char *const relist_names[KRELIST_COUNT] = { "start", "expired", "error" };
static const char *const rewatch_names[KREWATCH_COUNT] = { "closed", "error", "stalled" };
static const char *const api_names[KAPI_COUNT] = { "list", "watch" };
static const char *const etcd_names[KETCD_COUNT] = { "put", "delete" };

/* From a watch line to etcd is milliseconds when all is well; the upper
 * buckets catch etcd retries and backoff (up to --backoff-max). */
static const double latency_buckets[] = { .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5,
					  10, 30, 60 };

struct kstats {
	struct metrics *reg;
	struct series *objects[NRES];
	struct series *relists[NRES][KRELIST_COUNT];
	struct series *rewatch[NRES][KREWATCH_COUNT];
	struct series *api_err[NRES][KAPI_COUNT];
	struct series *writes[KETCD_COUNT], *failures[KETCD_COUNT];
	struct series *keys, *synced, *latency, *skipped, *lost;
	struct series *requests, *queue, *wait;
};

/* One metric per row, so names, types and help texts sit together. */
static const struct {
	const char *name, *help;
	enum metric_type type;
} defs[] = {
	{"objects_watched", "Objects in kube2sky's cache, by API resource.", METRIC_GAUGE},
	{"relists_total", "Full LISTs of an API resource, by reason (start, expired = 410 Gone, error).", METRIC_COUNTER},
	{"watch_restarts_total", "WATCH requests made again after a stream ended (closed), failed (error) or sent nothing for --watch-progress-timeout (stalled).", METRIC_COUNTER},
	{"api_errors_total", "Failed Kubernetes API requests, by resource and operation.", METRIC_COUNTER},
	{"etcd_writes_total", "Successful etcd writes, by operation.", METRIC_COUNTER},
	{"etcd_write_failures_total", "Failed etcd writes, by operation.", METRIC_COUNTER},
	{"keys_owned", "etcd keys kube2sky owns (its view of etcd).", METRIC_GAUGE},
	{"last_sync_timestamp_seconds", "Unix time at which etcd last held every record of every watched object.", METRIC_GAUGE},
	{"event_to_write_seconds", "Time from receiving a watch event to the etcd write it caused.", METRIC_HISTOGRAM},
	{"records_skipped_total", "Records not written because a name, port name or address in the object is invalid.", METRIC_COUNTER},
	{"etcd_store_lost_total", "Times the zone marker vanished from etcd (etcd wiped or replaced) and every record was rewritten.", METRIC_COUNTER},
	{"etcd_requests_total", "HTTP requests the writer sent to etcd (on v3 one transaction carries many writes).", METRIC_COUNTER},
	{"queue_length", "Services waiting to be written to etcd (changed since their last write).", METRIC_GAUGE},
	{"queue_wait_seconds", "Time a changed service waited in the queue before the writer took it.", METRIC_HISTOGRAM},
};
enum { D_OBJECTS, D_RELISTS, D_REWATCH, D_API, D_WRITES, D_FAILURES, D_KEYS, D_SYNCED, D_LATENCY, D_SKIPPED,
       D_LOST, D_REQUESTS, D_QUEUE, D_WAIT, D_COUNT };

static int add_series(struct kstats *st, struct metric *m[D_COUNT])
{
	char l[128];
	for (int r = 0; r < NRES; r++) {
		snprintf(l, sizeof l, "resource=\"%s\"", res_names[r]);
		if (!(st->objects[r] = metrics_series(m[D_OBJECTS], l)))
			return -1;
		for (int i = 0; i < KRELIST_COUNT; i++) {
			snprintf(l, sizeof l, "resource=\"%s\",reason=\"%s\"", res_names[r], relist_names[i]);
			if (!(st->relists[r][i] = metrics_series(m[D_RELISTS], l)))
				return -1;
		}
		for (int i = 0; i < KREWATCH_COUNT; i++) {
			snprintf(l, sizeof l, "resource=\"%s\",reason=\"%s\"", res_names[r], rewatch_names[i]);
			if (!(st->rewatch[r][i] = metrics_series(m[D_REWATCH], l)))
				return -1;
		}
		for (int i = 0; i < KAPI_COUNT; i++) {
			snprintf(l, sizeof l, "resource=\"%s\",op=\"%s\"", res_names[r], api_names[i]);
			if (!(st->api_err[r][i] = metrics_series(m[D_API], l)))
				return -1;
		}
	}
	for (int i = 0; i < KETCD_COUNT; i++) {
		snprintf(l, sizeof l, "op=\"%s\"", etcd_names[i]);
		if (!(st->writes[i] = metrics_series(m[D_WRITES], l)) ||
		    !(st->failures[i] = metrics_series(m[D_FAILURES], l)))
			return -1;
	}
	st->keys = metrics_series(m[D_KEYS], "");
	st->synced = metrics_series(m[D_SYNCED], "");
	st->latency = metrics_series(m[D_LATENCY], "");
	st->skipped = metrics_series(m[D_SKIPPED], "");
	st->lost = metrics_series(m[D_LOST], "");
	st->requests = metrics_series(m[D_REQUESTS], "");
	st->queue = metrics_series(m[D_QUEUE], "");
	st->wait = metrics_series(m[D_WAIT], "");
	return st->keys && st->synced && st->latency && st->skipped && st->lost && st->requests &&
			       st->queue && st->wait
		       ? 0
		       : -1;
}

struct kstats *kstats_new(const char *ns, const char *sub)
{
	struct kstats *st = calloc(1, sizeof *st);
	if (!st || !(st->reg = metrics_new(ns, sub))) {
		free(st);
		return NULL;
	}
	struct metric *m[D_COUNT];
	for (int i = 0; i < D_COUNT; i++) {
		bool h = defs[i].type == METRIC_HISTOGRAM;
		m[i] = metrics_add(st->reg, defs[i].type, defs[i].name, defs[i].help,
				   h ? latency_buckets : NULL, h ? N(latency_buckets) : 0);
		if (!m[i]) {
			kstats_free(st);
			return NULL;
		}
	}
	if (add_series(st, m)) {
		kstats_free(st);
		return NULL;
	}
	return st;
}

void kstats_free(struct kstats *st)
{
	if (!st)
		return;
	metrics_free(st->reg);
	free(st);
}

struct metrics *kstats_registry(struct kstats *st)
{
	return st ? st->reg : NULL;
}

static int res_index(const char *resource)
{
	for (int i = 0; i < NRES; i++)
		if (resource && !strcmp(resource, res_names[i]))
			return i;
	return -1;
}

void kstats_objects(struct kstats *st, const char *resource, size_t n)
{
	int r = res_index(resource);
	if (st && r >= 0)
		series_set(st->objects[r], (double)n);
}

void kstats_relist(struct kstats *st, const char *resource, enum kstats_relist why)
{
	int r = res_index(resource);
	if (st && r >= 0 && why < KRELIST_COUNT)
		series_add(st->relists[r][why], 1);
}

void kstats_rewatch(struct kstats *st, const char *resource, enum kstats_rewatch why)
{
	int r = res_index(resource);
	if (st && r >= 0 && why < KREWATCH_COUNT)
		series_add(st->rewatch[r][why], 1);
}

void kstats_api_error(struct kstats *st, const char *resource, enum kstats_api_op op)
{
	int r = res_index(resource);
	if (st && r >= 0 && op < KAPI_COUNT)
		series_add(st->api_err[r][op], 1);
}

void kstats_etcd(struct kstats *st, enum kstats_etcd_op op, unsigned long done, unsigned long failed)
{
	if (!st || op >= KETCD_COUNT)
		return;
	if (done)
		series_add(st->writes[op], done);
	if (failed)
		series_add(st->failures[op], failed);
}

void kstats_keys(struct kstats *st, size_t n)
{
	if (st)
		series_set(st->keys, (double)n);
}

void kstats_synced(struct kstats *st, double unix_time)
{
	if (st)
		series_set(st->synced, unix_time);
}

void kstats_event_to_write(struct kstats *st, double seconds)
{
	if (st)
		series_observe(st->latency, seconds < 0 ? 0 : seconds);
}

void kstats_store_lost(struct kstats *st)
{
	if (st)
		series_add(st->lost, 1);
}

void kstats_skipped(struct kstats *st, unsigned long n)
{
	if (st && n)
		series_add(st->skipped, n);
}

void kstats_etcd_requests(struct kstats *st, unsigned long n)
{
	if (st && n)
		series_add(st->requests, n);
}

void kstats_queue(struct kstats *st, size_t len)
{
	if (st)
		series_set(st->queue, (double)len);
}

void kstats_queue_wait(struct kstats *st, double seconds)
{
	if (st)
		series_observe(st->wait, seconds < 0 ? 0 : seconds);
}
