/* The cache between the informers and the writer: a relist deletes what
 * vanished, events only mark services dirty, and a service's records are
 * computed from whatever Service and EndpointSlices are cached at that time
 * (in whichever order they arrived). */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "check.h"
#include "err.h"
#include "strmap.h"

static const struct translate_opts OPTS = {
	.prefix = "skydns", .zone = "cluster.local.", .ttl = 30, .priority = 10, .weight = 10,
};

static cJSON *svc(const char *ns, const char *name, const char *rv, const char *ip)
{
	char buf[512];
	snprintf(buf, sizeof buf, "{\"metadata\":{\"namespace\":\"%s\",\"name\":\"%s\",\"resourceVersion\":\"%s\"},"
		 "\"spec\":{\"clusterIP\":\"%s\",\"ports\":[{\"name\":\"http\",\"port\":80}]}}", ns, name, rv, ip);
	return cJSON_Parse(buf);
}

static cJSON *slice(const char *ns, const char *name, const char *svcname, const char *rv, const char *ip)
{
	char buf[512];
	snprintf(buf, sizeof buf, "{\"metadata\":{\"namespace\":\"%s\",\"name\":\"%s\",\"resourceVersion\":\"%s\","
		 "\"labels\":{\"kubernetes.io/service-name\":\"%s\"}},\"addressType\":\"IPv4\","
		 "\"endpoints\":[{\"addresses\":[\"%s\"],\"conditions\":{\"ready\":true}}],\"ports\":[]}",
		 ns, name, rv, svcname, ip);
	return cJSON_Parse(buf);
}

static int take_all(struct cache *c, char **keys)
{
	int n = cache_take_dirty(c, keys, NULL, 64, NULL, NULL);
	/* sort for stable checks */
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (strcmp(keys[i], keys[j]) > 0) {
				char *t = keys[i];
				keys[i] = keys[j];
				keys[j] = t;
			}
	return n;
}

static void free_keys(char **keys, int n)
{
	for (int i = 0; i < n; i++)
		free(keys[i]);
}

static int nrecs(struct cache *c, const char *svcname)
{
	struct k2s_recset rs = {0};
	int rc = cache_translate(c, &OPTS, svcname, &rs), n = rs.n;
	recset_clear(&rs);
	return rc ? -1 : n;
}

static void add_batch(struct strmap *b, enum cache_kind k, cJSON *o)
{
	const char *why;
	CHECK_INT(cache_batch_add(b, k, EPS_SLICES, o, &why), 0);
	cJSON_Delete(o);
}

TEST(relist_deletes_vanished_and_marks_dirty)
{
	struct cache *c;
	CHECK_INT(cache_new(&c), 0);
	CHECK(!cache_synced(c));
	struct strmap *b = cache_batch_new(CACHE_SERVICES);
	add_batch(b, CACHE_SERVICES, svc("default", "a", "1", "10.0.0.1"));
	add_batch(b, CACHE_SERVICES, svc("default", "b", "2", "10.0.0.2"));
	cache_replace(c, CACHE_SERVICES, b);
	CHECK(!cache_synced(c)); /* endpoints not listed yet */
	cache_replace(c, CACHE_ENDPOINTS, cache_batch_new(CACHE_ENDPOINTS));
	CHECK(cache_synced(c));
	char *keys[64];
	int n = take_all(c, keys);
	CHECK_INT(n, 2);
	CHECK_STR(keys[0], "default/a");
	CHECK_STR(keys[1], "default/b");
	free_keys(keys, n);
	/* Relist: b vanished (deleted while the watch was down), a unchanged
	 * (same resourceVersion: not dirty), c new. */
	b = cache_batch_new(CACHE_SERVICES);
	add_batch(b, CACHE_SERVICES, svc("default", "a", "1", "10.0.0.1"));
	add_batch(b, CACHE_SERVICES, svc("default", "c", "5", "10.0.0.3"));
	cache_replace(c, CACHE_SERVICES, b);
	n = take_all(c, keys);
	CHECK_INT(n, 2);
	CHECK_STR(keys[0], "default/b");
	CHECK_STR(keys[1], "default/c");
	free_keys(keys, n);
	CHECK(!cache_has_service(c, "default/b"));
	CHECK_INT(nrecs(c, "default/b"), 0); /* gone: its records are to be removed */
	CHECK_INT(nrecs(c, "default/a"), 3); /* A + PTR + SRV */
	CHECK_INT(cache_nservices(c), 2);
	cache_free(c);
}

TEST(slices_before_service_any_order)
{
	struct cache *c;
	CHECK_INT(cache_new(&c), 0);
	const char *why;
	/* The slice arrives first: its service is marked, but has no records. */
	cJSON *o = slice("db", "pg-1", "pg", "10", "10.1.0.1");
	CHECK_INT(cache_apply(c, CACHE_ENDPOINTS, EPS_SLICES, false, o, &why), 0);
	cJSON_Delete(o);
	char *keys[64];
	int n = take_all(c, keys);
	CHECK_INT(n, 1);
	CHECK_STR(keys[0], "db/pg");
	free_keys(keys, n);
	CHECK_INT(nrecs(c, "db/pg"), 0);
	o = cJSON_Parse("{\"metadata\":{\"namespace\":\"db\",\"name\":\"pg\",\"resourceVersion\":\"11\"},"
			"\"spec\":{\"clusterIP\":\"None\"}}");
	CHECK_INT(cache_apply(c, CACHE_SERVICES, EPS_SLICES, false, o, &why), 0);
	cJSON_Delete(o);
	CHECK_INT(nrecs(c, "db/pg"), 2); /* A + PTR from the earlier slice */
	/* A second slice adds an endpoint; deleting the first removes its. */
	o = slice("db", "pg-2", "pg", "12", "10.1.0.2");
	CHECK_INT(cache_apply(c, CACHE_ENDPOINTS, EPS_SLICES, false, o, &why), 0);
	cJSON_Delete(o);
	CHECK_INT(nrecs(c, "db/pg"), 4);
	o = slice("db", "pg-1", "pg", "13", "10.1.0.1");
	CHECK_INT(cache_apply(c, CACHE_ENDPOINTS, EPS_SLICES, true, o, &why), 0);
	cJSON_Delete(o);
	CHECK_INT(nrecs(c, "db/pg"), 2);
	/* A slice relabelled to another service leaves pg: both are marked. */
	n = take_all(c, keys);
	free_keys(keys, n);
	o = slice("db", "pg-2", "other", "14", "10.1.0.2");
	CHECK_INT(cache_apply(c, CACHE_ENDPOINTS, EPS_SLICES, false, o, &why), 0);
	cJSON_Delete(o);
	n = take_all(c, keys);
	CHECK_INT(n, 2);
	CHECK_STR(keys[0], "db/other");
	CHECK_STR(keys[1], "db/pg");
	free_keys(keys, n);
	CHECK_INT(nrecs(c, "db/pg"), 0);
	/* Garbage is refused with a reason and changes nothing. */
	o = cJSON_Parse("{\"metadata\":{\"name\":\"x\"}}");
	why = NULL;
	CHECK_INT(cache_apply(c, CACHE_SERVICES, EPS_SLICES, false, o, &why), SKY_EPARSE);
	CHECK(why != NULL);
	cJSON_Delete(o);
	CHECK_INT(cache_take_dirty(c, keys, NULL, 64, NULL, NULL), 0);
	cache_free(c);
}

static bool skip_a(void *arg, const char *key)
{
	return strcmp(key, "default/a") == 0;
}

TEST(mark_all_and_skip)
{
	struct cache *c;
	CHECK_INT(cache_new(&c), 0);
	struct strmap *b = cache_batch_new(CACHE_SERVICES);
	add_batch(b, CACHE_SERVICES, svc("default", "a", "1", "10.0.0.1"));
	add_batch(b, CACHE_SERVICES, svc("default", "b", "1", "10.0.0.2"));
	cache_replace(c, CACHE_SERVICES, b);
	char *keys[64];
	free_keys(keys, take_all(c, keys));
	cache_mark_all(c);
	int n = cache_take_dirty(c, keys, NULL, 64, skip_a, NULL);
	CHECK_INT(n, 2); /* "" (global records) and default/b; a is skipped but stays dirty */
	free_keys(keys, n);
	n = take_all(c, keys);
	CHECK_INT(n, 1);
	CHECK_STR(keys[0], "default/a");
	free_keys(keys, n);
	struct k2s_recset rs = {0};
	CHECK_INT(cache_translate(c, &OPTS, "", &rs), 0);
	CHECK_INT(rs.n, 1); /* dns-version */
	recset_clear(&rs);
	cache_free(c);
}

/* Oldest first: a service marked again while queued keeps its place and is
 * taken once; its oldest event time is kept; the queue time is when it
 * first became dirty. */
TEST(queue_oldest_first_once)
{
	struct cache *c;
	CHECK_INT(cache_new(&c), 0);
	const char *order[] = {"ns/z", "ns/a", "ns/m", "ns/b"};
	for (int i = 0; i < 4; i++)
		cache_mark_since(c, order[i], 0);
	cache_mark_since(c, "ns/a", 500); /* again, with an event time */
	cache_mark_since(c, "ns/z", 0);
	cache_mark_since(c, "ns/a", 900); /* a later event: 500 stays */
	CHECK_INT((int)cache_queue_len(c), 4);
	char *keys[8];
	int64_t since[8], queued[8];
	int n = cache_take_queued(c, keys, since, queued, 3, NULL, NULL);
	CHECK_INT(n, 3);
	for (int i = 0; i < n; i++)
		CHECK_STR(keys[i], order[i]);
	CHECK(since[1] == 500 && since[0] == 0 && since[2] == 0);
	CHECK(queued[0] > 0 && queued[0] <= queued[1] && queued[1] <= queued[2]);
	free_keys(keys, n);
	cache_mark(c, "ns/z"); /* after ns/b now */
	n = cache_take_queued(c, keys, NULL, NULL, 8, NULL, NULL);
	CHECK_INT(n, 2);
	CHECK_STR(keys[0], "ns/b");
	CHECK_STR(keys[1], "ns/z");
	free_keys(keys, n);
	CHECK_INT((int)cache_queue_len(c), 0);
	cache_mark(c, "ns/left"); /* freed with the cache */
	cache_free(c);
}

int main(void)
{
	RUN(queue_oldest_first_once);
	RUN(relist_deletes_vanished_and_marks_dirty);
	RUN(slices_before_service_any_order);
	RUN(mark_all_and_skip);
	return CHECK_DONE();
}
