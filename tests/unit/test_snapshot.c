/* test_snapshot.c - sorting, subtree ranges, lookups, duplicates, ownership. */
#include "snapshot.h"
#include "config.h"
#include "err.h"
#include "marker.h"
#include "check.h"

#include <stdlib.h>

static void add(struct snapshot_builder *b, const char *path, const char *host, uint16_t port)
{
	struct service s = { 0 };
	char hostbuf[64];
	snprintf(hostbuf, sizeof hostbuf, "%s", host);
	s.host = hostbuf; /* the builder must copy: hostbuf dies with this frame */
	s.port = port;
	CHECK_INT(snapshot_builder_add(b, path, strlen(path), &s, 0), 0);
}

/* The walk below p, copied into an array (records stay owned by s). */
static size_t range(const struct snapshot *s, const char *p, const struct record **first)
{
	static struct record out[6000];
	struct rtree_iter it;
	size_t n = 0;
	snapshot_range(s, p, strlen(p), &it);
	for (const struct record *r; n < 6000 && (r = snapshot_next(&it));)
		out[n++] = *r;
	*first = out;
	return n;
}

static struct snapshot *sample(void)
{
	struct snapshot_builder *b = snapshot_builder_new();
	/* deliberately unsorted */
	add(b, "a/bc", "10.0.0.3", 3);
	add(b, "a/b/c", "10.0.0.2", 2);
	add(b, "a/b-x", "10.0.0.4", 4);
	add(b, "a/b", "10.0.0.1", 1);
	add(b, "a/b/c/d", "10.0.0.5", 5);
	add(b, "a", "10.0.0.0", 0);
	add(b, "b", "10.0.0.9", 9);
	add(b, "a/b.x", "10.0.0.6", 6);
	add(b, "a/b/", "ignored-slash", 0); /* distinct bytes: stored as given */
	return snapshot_builder_finish(b, NULL, 42, 1);
}

TEST(order_and_ranges)
{
	struct snapshot *s = sample();
	CHECK(s != NULL);
	CHECK_INT(snapshot_count(s), 9);
	CHECK_INT(snapshot_revision(s), 42);
	CHECK(snapshot_created(s) > 0);
	const struct record *r;
	size_t n = range(s, "", &r);
	CHECK_INT(n, 9);
	/* '/' sorts lowest: a, a/b, a/b/, a/b/c, a/b/c/d, a/b-x, a/b.x, a/bc, b */
	static const char *order[] = { "a", "a/b", "a/b/", "a/b/c", "a/b/c/d", "a/b-x", "a/b.x",
				       "a/bc", "b" };
	for (size_t i = 0; i < 9 && i < n; i++)
		CHECK_STR(r[i].path, order[i]);

	n = range(s, "a/b", &r);
	CHECK_INT(n, 4); /* a/b, a/b/, a/b/c, a/b/c/d: not a/b-x, a/b.x, a/bc */
	CHECK_STR(r[0].path, "a/b");
	CHECK_STR(r[n - 1].path, "a/b/c/d");
	n = range(s, "a/bc", &r);
	CHECK_INT(n, 1);
	CHECK_STR(r[0].path, "a/bc");
	CHECK_INT(r[0].svc.port, 3);
	n = range(s, "a/b/c", &r);
	CHECK_INT(n, 2);
	n = range(s, "a", &r);
	CHECK_INT(n, 8);
	n = range(s, "a/b-", &r);
	CHECK_INT(n, 0);
	n = range(s, "a/", &r); /* not a path anyone asks for; must not crash */
	CHECK(n <= 9);
	n = range(s, "c", &r);
	CHECK_INT(n, 0);
	n = range(s, "0", &r);
	CHECK_INT(n, 0);
	n = range(s, "zzz/y", &r);
	CHECK_INT(n, 0);

	const struct record *g = snapshot_get(s, "a/b/c", 5);
	CHECK(g != NULL);
	CHECK_STR(g->svc.host, "10.0.0.2");
	CHECK(snapshot_get(s, "a/b/c/d/e", 9) == NULL);
	CHECK(snapshot_get(s, "a/b-", 4) == NULL);
	/* pathlen, not NUL, ends the key */
	g = snapshot_get(s, "a/bcdef", 4);
	CHECK(g && strcmp(g->path, "a/bc") == 0);
	snapshot_free(s);
}

TEST(depth)
{
	struct snapshot_builder *b = snapshot_builder_new();
	add(b, "local/skydns/east/rails/1", "10.0.0.1", 0);
	add(b, "local", "10.0.0.1", 0);
	struct snapshot *s = snapshot_builder_finish(b, NULL, 1, 1);
	/* /skydns/local/skydns/east/rails/1 has 6 slashes */
	CHECK_INT(snapshot_get(s, "local/skydns/east/rails/1", 25)->depth, 6);
	CHECK_INT(snapshot_get(s, "local", 5)->depth, 2);
	snapshot_free(s);
	b = snapshot_builder_new();
	add(b, "local/a", "10.0.0.1", 0);
	s = snapshot_builder_finish(b, NULL, 1, 2); /* prefix "app1/skydns" */
	CHECK_INT(snapshot_get(s, "local/a", 7)->depth, 4);
	snapshot_free(s);
}

TEST(duplicate_add_replaces)
{
	struct snapshot_builder *b = snapshot_builder_new();
	add(b, "x/y", "first", 1);
	add(b, "x/z", "other", 2);
	add(b, "x/y", "second", 3);
	add(b, "x/y", "third", 4);
	struct snapshot *s = snapshot_builder_finish(b, NULL, 7, 1);
	CHECK_INT(snapshot_count(s), 2);
	const struct record *r = snapshot_get(s, "x/y", 3);
	CHECK(r != NULL);
	CHECK_STR(r->svc.host, "third");
	CHECK_INT(r->svc.port, 4);
	snapshot_free(s);
}

TEST(service_fields_and_config)
{
	struct snapshot_builder *b = snapshot_builder_new();
	struct service svc = { .host = "h.example", .text = "txt", .group = "g", .port = 53,
			       .priority = 5, .weight = 6, .mail = true, .ttl = 30,
			       .targetstrip = 1 };
	CHECK_INT(snapshot_builder_add(b, "p/q", 3, &svc, 1234), 0);
	struct service bare = { 0 };
	CHECK_INT(snapshot_builder_add(b, "p/r", 3, &bare, 0), 0);
	struct config *cfg = malloc(sizeof(*cfg));
	config_defaults(cfg);
	strcpy(cfg->domain, "example.org.");
	struct snapshot *s = snapshot_builder_finish(b, cfg, 9, 1);
	CHECK(snapshot_config(s) == cfg);
	CHECK_STR(snapshot_config(s)->domain, "example.org.");
	const struct record *r = snapshot_get(s, "p/q", 3);
	CHECK(msg_service_equal(&r->svc, &svc));
	CHECK(r->svc.host != svc.host);
	CHECK_INT(r->expires, 1234);
	r = snapshot_get(s, "p/r", 3);
	CHECK(r->svc.host == NULL && r->svc.text == NULL && r->svc.group == NULL);
	snapshot_free(s);

	/* NULL cfg: compiled defaults */
	s = snapshot_builder_finish(snapshot_builder_new(), NULL, 0, 1);
	CHECK_INT(snapshot_count(s), 0);
	CHECK_STR(snapshot_config(s)->domain, "skydns.local.");
	CHECK_INT(snapshot_config(s)->ttl, 3600);
	const struct record *first;
	CHECK_INT(range(s, "a", &first), 0);
	CHECK_INT(range(s, "", &first), 0);
	CHECK(snapshot_get(s, "a", 1) == NULL);
	snapshot_free(s);
	snapshot_free(NULL);
	snapshot_builder_free(NULL);
}

TEST(many_records)
{
	struct snapshot_builder *b = snapshot_builder_new();
	char p[64];
	for (int i = 0; i < 5000; i++) {
		snprintf(p, sizeof p, "local/skydns/svc%d/%d", i % 50, i);
		add(b, p, "10.1.1.1", (uint16_t)i);
	}
	struct snapshot *s = snapshot_builder_finish(b, NULL, 1, 1);
	CHECK_INT(snapshot_count(s), 5000);
	const struct record *r;
	CHECK_INT(range(s, "local/skydns/svc7", &r), 100);
	CHECK_INT(range(s, "local/skydns/svc4", &r), 100); /* not svc40..svc49 */
	CHECK_INT(range(s, "local/skydns", &r), 5000);
	snprintf(p, sizeof p, "local/skydns/svc%d/%d", 4999 % 50, 4999);
	CHECK(snapshot_get(s, p, strlen(p)) != NULL);
	snapshot_free(s);
}

TEST(managed_zones)
{
	struct snapshot_builder *b = snapshot_builder_new();
	struct marker m1 = {.zone = "cluster.local.", .synced = 10, .id = "aa"};
	struct marker m2 = {.zone = "alpha.local.", .synced = 20, .id = "bb"};
	struct marker m3 = {.zone = "cluster.local.", .synced = 30, .id = "cc"};
	CHECK_INT(snapshot_builder_add_managed(b, &m1), 0);
	CHECK_INT(snapshot_builder_add_managed(b, &m2), 0);
	CHECK_INT(snapshot_builder_add_managed(b, &m3), 0); /* a resync's newer marker */
	struct snapshot *s = snapshot_builder_finish(b, NULL, 1, 1);
	CHECK(s != NULL);
	CHECK_INT((int)snapshot_managed_count(s), 2);
	CHECK_STR(snapshot_managed_at(s, 0)->zone, "alpha.local.");
	CHECK_STR(snapshot_managed_at(s, 1)->zone, "cluster.local.");
	CHECK(snapshot_managed_at(s, 1)->synced == 30);
	CHECK_STR(snapshot_managed_at(s, 1)->id, "cc");
	CHECK(snapshot_managed_at(s, 2) == NULL);
	CHECK_INT((int)snapshot_count(s), 0);
	snapshot_free(s);
}

int main(void)
{
	RUN(order_and_ranges);
	RUN(depth);
	RUN(duplicate_add_replaces);
	RUN(service_fields_and_config);
	RUN(many_records);
	RUN(managed_zones);
	return CHECK_DONE();
}
