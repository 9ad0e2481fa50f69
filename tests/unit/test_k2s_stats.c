/* kube2sky's metrics (kstats) render under the kube2sky_ prefix with the
 * documented labels, and the cache keeps the time of a service's oldest
 * unwritten watch event across re-marks (the event-to-write histogram's
 * start time). */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "check.h"
#include "kstats.h"
#include "metrics.h"

static char *render(struct kstats *st)
{
	size_t len = 0;
	char *out = metrics_render(kstats_registry(st), &len);
	CHECK(out != NULL);
	CHECK_INT(strlen(out ? out : ""), len);
	return out;
}

#define HAS(text, line) CHECK(strstr((text), (line)) != NULL)

TEST(metrics_render_with_labels)
{
	struct kstats *st = kstats_new("kube2sky", "");
	CHECK(st != NULL);
	kstats_objects(st, "services", 7);
	kstats_relist(st, "services", KRELIST_START);
	kstats_relist(st, "endpointslices", KRELIST_EXPIRED);
	kstats_relist(st, "endpointslices", KRELIST_EXPIRED);
	kstats_rewatch(st, "endpoints", KREWATCH_CLOSED);
	kstats_rewatch(st, "services", KREWATCH_STALLED);
	kstats_api_error(st, "services", KAPI_WATCH);
	kstats_etcd(st, KETCD_PUT, 5, 1);
	kstats_etcd(st, KETCD_DELETE, 2, 0);
	kstats_keys(st, 42);
	kstats_synced(st, 1700000000);
	kstats_event_to_write(st, 0.004);
	kstats_event_to_write(st, 3);
	kstats_event_to_write(st, -1); /* a clock step: counted as 0, not lost */
	kstats_skipped(st, 2);
	kstats_skipped(st, 1);
	char *t = render(st);
	HAS(t, "# TYPE kube2sky_objects_watched gauge\n");
	HAS(t, "kube2sky_objects_watched{resource=\"services\"} 7\n");
	HAS(t, "kube2sky_objects_watched{resource=\"endpoints\"} 0\n");
	HAS(t, "# TYPE kube2sky_relists_total counter\n");
	HAS(t, "kube2sky_relists_total{resource=\"services\",reason=\"start\"} 1\n");
	HAS(t, "kube2sky_relists_total{resource=\"endpointslices\",reason=\"expired\"} 2\n");
	HAS(t, "kube2sky_relists_total{resource=\"services\",reason=\"error\"} 0\n");
	HAS(t, "kube2sky_watch_restarts_total{resource=\"endpoints\",reason=\"closed\"} 1\n");
	HAS(t, "kube2sky_watch_restarts_total{resource=\"services\",reason=\"stalled\"} 1\n");
	HAS(t, "kube2sky_watch_restarts_total{resource=\"endpoints\",reason=\"stalled\"} 0\n");
	HAS(t, "kube2sky_api_errors_total{resource=\"services\",op=\"watch\"} 1\n");
	HAS(t, "kube2sky_etcd_writes_total{op=\"put\"} 5\n");
	HAS(t, "kube2sky_etcd_writes_total{op=\"delete\"} 2\n");
	HAS(t, "kube2sky_etcd_write_failures_total{op=\"put\"} 1\n");
	HAS(t, "kube2sky_keys_owned 42\n");
	HAS(t, "kube2sky_last_sync_timestamp_seconds 1700000000\n");
	HAS(t, "# TYPE kube2sky_event_to_write_seconds histogram\n");
	HAS(t, "kube2sky_event_to_write_seconds_bucket{le=\"0.005\"} 2\n");
	HAS(t, "kube2sky_event_to_write_seconds_bucket{le=\"+Inf\"} 3\n");
	HAS(t, "kube2sky_event_to_write_seconds_count 3\n");
	HAS(t, "# TYPE kube2sky_records_skipped_total counter\n");
	HAS(t, "kube2sky_records_skipped_total 3\n");
	free(t);
	kstats_free(st);
}

TEST(metrics_unknown_resource_and_null)
{
	struct kstats *st = kstats_new("ops", "k2s");
	kstats_relist(st, "pods", KRELIST_START); /* not a watched resource: ignored */
	kstats_relist(NULL, "services", KRELIST_START);
	kstats_event_to_write(NULL, 1);
	kstats_free(NULL);
	char *t = render(st);
	CHECK(strstr(t, "pods") == NULL);
	HAS(t, "ops_k2s_relists_total{resource=\"services\",reason=\"start\"} 0\n");
	free(t);
	kstats_free(st);
}

static cJSON *svc(const char *name, const char *rv)
{
	char buf[512];
	snprintf(buf, sizeof buf, "{\"metadata\":{\"namespace\":\"default\",\"name\":\"%s\",\"resourceVersion\":\"%s\"},"
		 "\"spec\":{\"clusterIP\":\"10.96.0.1\",\"ports\":[{\"name\":\"http\",\"port\":80}]}}", name, rv);
	return cJSON_Parse(buf);
}

static int64_t take_one(struct cache *c, const char *want)
{
	char *keys[8];
	int64_t since[8] = {0};
	int n = cache_take_dirty(c, keys, since, 8, NULL, NULL);
	int64_t t = -1;
	for (int i = 0; i < n; i++) {
		if (!strcmp(keys[i], want))
			t = since[i];
		free(keys[i]);
	}
	return t;
}

TEST(cache_keeps_oldest_event_time)
{
	struct cache *c;
	CHECK_INT(cache_new(&c), 0);
	const char *why = "";
	/* A relist is no watch event: no time. */
	cache_replace(c, CACHE_SERVICES, cache_batch_new(CACHE_SERVICES));
	cache_mark(c, "default/a");
	CHECK_INT(take_one(c, "default/a"), 0);
	/* A watch event stamps the service. */
	cJSON *o = svc("a", "1");
	CHECK_INT(cache_apply(c, CACHE_SERVICES, EPS_SLICES, false, o, &why), 0);
	cJSON_Delete(o);
	cache_mark_all(c); /* must not drop the stamp */
	cache_mark(c, "default/a");
	int64_t t1 = take_one(c, "default/a");
	CHECK(t1 > 0);
	/* Re-marked after a failed write with its old time: a later event
	 * keeps the older time. */
	cache_mark_since(c, "default/a", t1);
	o = svc("a", "2");
	CHECK_INT(cache_apply(c, CACHE_SERVICES, EPS_SLICES, false, o, &why), 0);
	cJSON_Delete(o);
	CHECK_INT(take_one(c, "default/a"), t1);
	/* An older time given later wins too; a delete event stamps. */
	cache_mark_since(c, "default/a", t1 + 1000);
	cache_mark_since(c, "default/a", t1 - 5);
	CHECK_INT(take_one(c, "default/a"), t1 - 5);
	o = svc("a", "3");
	CHECK_INT(cache_apply(c, CACHE_SERVICES, EPS_SLICES, true, o, &why), 0);
	cJSON_Delete(o);
	CHECK(take_one(c, "default/a") > t1);
	cache_free(c);
}

int main(void)
{
	RUN(metrics_render_with_labels);
	RUN(metrics_unknown_resource_and_null);
	RUN(cache_keeps_oldest_event_time);
	return CHECK_DONE();
}
