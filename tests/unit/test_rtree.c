/* test_rtree.c - the persistent record tree against a plain sorted array:
 * random puts/deletes, subtree walks, and old versions that must never see
 * a later change. */
#include "rtree.h"
#include "err.h"
#include "check.h"

#include <stdlib.h>

#define POOL 4000

static char *names[POOL];
static size_t nnames;

/* Reference model: present[i] = value (port) of names[i], or -1. */
struct model {
	int v[POOL];
};

static uint32_t rng = 12345;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* Paths that stress the order: shared prefixes, '-' (sorts after '/'),
 * one-letter segments, deep and shallow. */
static void make_names(void)
{
	static const char *seg[] = { "a", "b", "ab", "a-", "x", "b0", "zz", "c" };
	while (nnames < POOL) {
		char buf[64] = "";
		int depth = 1 + (int)(rnd() % 4);
		for (int d = 0; d < depth; d++) {
			if (d)
				strcat(buf, "/");
			strcat(buf, seg[rnd() % 8]);
		}
		char num[16];
		snprintf(num, sizeof num, "%u", rnd() % 97);
		if (rnd() % 2) {
			strcat(buf, "/");
			strcat(buf, num);
		}
		bool dup = false;
		for (size_t i = 0; i < nnames && !dup; i++)
			dup = strcmp(names[i], buf) == 0;
		if (!dup)
			names[nnames++] = strdup(buf);
	}
}

static const struct record *mk(size_t i, int port)
{
	struct service s = { .host = "10.0.0.1", .port = (uint16_t)port };
	return record_new(names[i], strlen(names[i]), &s, 0, 1);
}

static int in_subtree(const char *path, const char *p)
{
	size_t n = strlen(p);
	return n == 0 || (strncmp(path, p, n) == 0 && (path[n] == '\0' || path[n] == '/'));
}

/* Every record of the walk below p, in order, is exactly the model's. */
static bool walk_matches(const struct rnode *t, const struct model *m, const char *p)
{
	struct rtree_iter it;
	rtree_range(t, p, strlen(p), &it);
	size_t want = 0, got = 0;
	for (size_t i = 0; i < nnames; i++)
		want += m->v[i] >= 0 && in_subtree(names[i], p);
	const struct record *r, *prev = NULL;
	while ((r = rtree_next(&it))) {
		got++;
		if (!in_subtree(r->path, p))
			return false;
		if (prev && record_path_cmp(prev->path, prev->pathlen, r->path, r->pathlen) >= 0)
			return false;
		size_t i = 0;
		while (i < nnames && strcmp(names[i], r->path) != 0)
			i++;
		if (i == nnames || m->v[i] != r->svc.port)
			return false;
		prev = r;
	}
	return got == want;
}

static bool tree_matches(const struct rnode *t, const struct model *m)
{
	size_t n = 0;
	for (size_t i = 0; i < nnames; i++) {
		const struct record *r = rtree_get(t, names[i], strlen(names[i]));
		if (m->v[i] >= 0) {
			n++;
			if (!r || r->svc.port != m->v[i])
				return false;
		} else if (r) {
			return false;
		}
	}
	return n == rtree_count(t) && rtree_check(t) == 0 && walk_matches(t, m, "");
}

TEST(random_ops_match_a_sorted_array)
{
	struct rnode *t = NULL;
	static struct model m, saved[8];
	struct rnode *ver[8] = { 0 };
	for (size_t i = 0; i < POOL; i++)
		m.v[i] = -1;
	for (int op = 0; op < 60000; op++) {
		size_t i = rnd() % nnames;
		/* phases: grow, churn, shrink to empty, grow again */
		int phase = op / 15000, put = phase == 0 || phase == 3 ? rnd() % 4 != 0
					      : phase == 1 ? rnd() % 2 : rnd() % 8 == 0;
		if (put) {
			int port = (int)(rnd() % 60000) + 1;
			const struct record *r = mk(i, port);
			CHECK_INT(rtree_put(&t, r), 0);
			record_unref(r);
			m.v[i] = port;
		} else {
			int rc = rtree_del(&t, names[i], strlen(names[i]));
			CHECK_INT(rc, m.v[i] >= 0 ? 0 : SKY_ENOTFOUND);
			m.v[i] = -1;
		}
		if (op % 2500 == 0) {
			/* keep a version; later changes must not show through it */
			int k = (op / 2500) % 8;
			if (ver[k]) {
				CHECK(tree_matches(ver[k], &saved[k]));
				rtree_release(ver[k]);
			}
			ver[k] = rtree_share(t);
			saved[k] = m;
			CHECK(tree_matches(t, &m));
		}
	}
	for (int k = 0; k < 8; k++) {
		if (ver[k])
			CHECK(tree_matches(ver[k], &saved[k]));
		rtree_release(ver[k]);
	}
	CHECK(tree_matches(t, &m));
	static const char *pre[] = { "a", "a/b", "ab", "a-", "x/zz", "b0/c/a", "zz/zz/zz/zz", "q" };
	for (int k = 0; k < 8; k++)
		CHECK(walk_matches(t, &m, pre[k]));
	rtree_release(t);
}

TEST(drain_to_empty_and_walks_of_empty)
{
	struct rnode *t = NULL;
	struct rtree_iter it;
	rtree_range(t, "", 0, &it);
	CHECK(rtree_next(&it) == NULL);
	for (size_t i = 0; i < nnames; i++) {
		const struct record *r = mk(i, 1);
		CHECK_INT(rtree_put(&t, r), 0);
		record_unref(r);
	}
	CHECK_INT((int)rtree_count(t), (int)nnames);
	CHECK_INT(rtree_check(t), 0);
	struct rnode *full = rtree_share(t);
	for (size_t i = 0; i < nnames; i++)
		CHECK_INT(rtree_del(&t, names[i], strlen(names[i])), 0);
	CHECK(t == NULL);
	CHECK_INT((int)rtree_count(full), (int)nnames);
	CHECK_INT(rtree_check(full), 0);
	CHECK_INT(rtree_del(&t, "a", 1), SKY_ENOTFOUND);
	rtree_release(full);
}

TEST(subtree_walk_stops_at_siblings)
{
	struct rnode *t = NULL;
	static const char *p[] = { "a/b", "a/b/c", "a/b-x", "a/bc", "a/b/c/d", "a", "b" };
	for (int i = 0; i < 7; i++) {
		struct service s = { .host = "h", .port = (uint16_t)i };
		const struct record *r = record_new(p[i], strlen(p[i]), &s, 0, 1);
		CHECK_INT(rtree_put(&t, r), 0);
		record_unref(r);
	}
	struct rtree_iter it;
	rtree_range(t, "a/b", 3, &it);
	const char *want[] = { "a/b", "a/b/c", "a/b/c/d" };
	for (int i = 0; i < 3; i++) {
		const struct record *r = rtree_next(&it);
		CHECK(r && strcmp(r->path, want[i]) == 0);
	}
	CHECK(rtree_next(&it) == NULL);
	CHECK(rtree_next(&it) == NULL);
	CHECK_INT(rtree_get(t, "a/b", 3)->depth, 3);
	CHECK(rtree_get(t, "a/b/", 4) == NULL);
	rtree_release(t);
}

int main(void)
{
	make_names();
	RUN(random_ops_match_a_sorted_array);
	RUN(drain_to_empty_and_walks_of_empty);
	RUN(subtree_walk_stops_at_siblings);
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	return CHECK_DONE();
}
