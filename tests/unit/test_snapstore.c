/* test_snapstore.c - publication and reclamation under concurrent readers.
 * Meant to be run under ASan too (-DSKYDNS_SANITIZE=ON): a snapshot freed
 * while a reader still holds it shows up as a use-after-free, one never
 * freed as a leak. */
#include "snapstore.h"
#include "err.h"
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

/* A snapshot whose contents are a function of its revision, so a reader can
 * tell a torn or freed one from a good one. */
static struct snapshot *make(uint64_t rev)
{
	struct snapshot_builder *b = snapshot_builder_new();
	size_t n = 1 + rev % 7;
	for (size_t i = 0; i < n; i++) {
		char path[32], host[32];
		snprintf(path, sizeof path, "local/r%zu", i);
		snprintf(host, sizeof host, "rev-%llu", (unsigned long long)rev);
		struct service s = { .host = host, .port = (uint16_t)(rev & 0xffff) };
		snapshot_builder_add(b, path, strlen(path), &s, 0);
	}
	return snapshot_builder_finish(b, NULL, rev, 1);
}

static int check_snap(const struct snapshot *s)
{
	uint64_t rev = snapshot_revision(s);
	size_t n = snapshot_count(s);
	if (n != 1 + rev % 7)
		return 0;
	struct rtree_iter it;
	snapshot_range(s, "local", 5, &it);
	char host[32];
	snprintf(host, sizeof host, "rev-%llu", (unsigned long long)rev);
	size_t seen = 0;
	for (const struct record *r; (r = snapshot_next(&it)); seen++)
		if (strcmp(r->svc.host, host) != 0 || r->svc.port != (rev & 0xffff))
			return 0;
	return seen == n;
}

TEST(single_thread)
{
	struct snapstore *st = snapstore_new(2);
	CHECK(st != NULL);
	CHECK(snapstore_enter(st, 0) == NULL);
	snapstore_leave(st, 0);
	uint64_t rev = 99;
	int64_t created = 99;
	size_t count = 99;
	snapstore_info(st, &rev, &created, &count);
	CHECK_INT(rev, 0);
	CHECK_INT(created, 0);
	CHECK_INT(count, 0);

	snapstore_publish(st, make(1));
	const struct snapshot *held = snapstore_enter(st, 0);
	CHECK(held && snapshot_revision(held) == 1);
	/* reader 0 keeps revision 1 while several newer ones are published */
	for (uint64_t r = 2; r <= 6; r++)
		snapstore_publish(st, make(r));
	CHECK(check_snap(held));
	CHECK_INT(snapshot_revision(held), 1);
	const struct snapshot *other = snapstore_enter(st, 1);
	CHECK_INT(snapshot_revision(other), 6);
	snapstore_leave(st, 1);
	snapstore_leave(st, 0);
	snapstore_publish(st, make(7)); /* reclaims 1..6 */
	snapstore_info(st, &rev, &created, &count);
	CHECK_INT(rev, 7);
	CHECK(created > 0);
	CHECK_INT(count, 1 + 7 % 7);
	CHECK(snapstore_enter(st, 5) == NULL); /* out-of-range reader index */
	snapstore_leave(st, 5);
	snapstore_free(st);
}

enum { NREADERS = 3, NPUBLISH = 3000, MAX_READS = 2000000 };

struct rarg {
	struct snapstore *st;
	unsigned idx;
	atomic_int *done;
	long reads, bad, backwards;
};

static void *reader(void *p)
{
	struct rarg *a = p;
	uint64_t last = 0;
	for (long i = 0; i < MAX_READS && !atomic_load(a->done); i++) {
		const struct snapshot *s = snapstore_enter(a->st, a->idx);
		if (s) {
			if (!check_snap(s))
				a->bad++;
			if (snapshot_revision(s) < last)
				a->backwards++;
			last = snapshot_revision(s);
			a->reads++;
		}
		snapstore_leave(a->st, a->idx);
	}
	return NULL;
}

TEST(threads)
{
	struct snapstore *st = snapstore_new(NREADERS);
	atomic_int done = 0;
	struct rarg args[NREADERS];
	pthread_t th[NREADERS];
	snapstore_publish(st, make(1));
	for (unsigned i = 0; i < NREADERS; i++) {
		args[i] = (struct rarg){ .st = st, .idx = i, .done = &done };
		CHECK_INT(pthread_create(&th[i], NULL, reader, &args[i]), 0);
	}
	for (uint64_t r = 2; r <= NPUBLISH; r++) {
		snapstore_publish(st, make(r));
		if (r % 64 == 0)
			sched_yield();
	}
	atomic_store(&done, 1);
	long reads = 0;
	for (unsigned i = 0; i < NREADERS; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT(args[i].bad, 0);
		CHECK_INT(args[i].backwards, 0);
		reads += args[i].reads;
	}
	CHECK(reads > 0);
	uint64_t rev;
	snapstore_info(st, &rev, NULL, NULL);
	CHECK_INT(rev, NPUBLISH);
	snapstore_free(st);
}

/* The mirror's way: one persistent tree changed in place by the writer,
 * each version published as it is. Readers walk whole versions while the
 * writer copies paths and retires old versions (ASan sees any node or
 * record freed too early). */
static int check_tree_snap(const struct snapshot *s)
{
	struct rtree_iter it;
	const struct record *r, *prev = NULL;
	size_t n = 0;
	snapshot_range(s, "local", 5, &it);
	while ((r = snapshot_next(&it))) {
		unsigned long v;
		if (sscanf(r->svc.host, "r%lu", &v) != 1 || (v & 0xffff) != r->svc.port ||
		    v > snapshot_revision(s))
			return 0;
		if (prev && record_path_cmp(prev->path, prev->pathlen, r->path, r->pathlen) >= 0)
			return 0;
		prev = r;
		n++;
	}
	return n == snapshot_count(s);
}

static void *tree_reader(void *p)
{
	struct rarg *a = p;
	for (long i = 0; i < MAX_READS && !atomic_load(a->done); i++) {
		const struct snapshot *s = snapstore_enter(a->st, a->idx);
		if (s) {
			a->bad += !check_tree_snap(s);
			a->reads++;
		}
		snapstore_leave(a->st, a->idx);
	}
	return NULL;
}

TEST(shared_tree_threads)
{
	struct snapstore *st = snapstore_new(NREADERS);
	atomic_int done = 0;
	struct rarg args[NREADERS];
	pthread_t th[NREADERS];
	struct rnode *tree = NULL;
	for (unsigned i = 0; i < NREADERS; i++) {
		args[i] = (struct rarg){ .st = st, .idx = i, .done = &done };
		CHECK_INT(pthread_create(&th[i], NULL, tree_reader, &args[i]), 0);
	}
	char path[32], host[32];
	for (uint64_t r = 1; r <= 4 * NPUBLISH; r++) {
		snprintf(path, sizeof path, "local/k%llu", (unsigned long long)(r * 7919 % 3000));
		snprintf(host, sizeof host, "r%llu", (unsigned long long)r);
		struct service svc = { .host = host, .port = (uint16_t)(r & 0xffff) };
		struct record *rec = record_new(path, strlen(path), &svc, 0, 1);
		CHECK_INT(rtree_put(&tree, rec), 0);
		record_unref(rec);
		snprintf(path, sizeof path, "local/k%llu", (unsigned long long)(r * 104729 % 3000));
		int rc = rtree_del(&tree, path, strlen(path));
		CHECK(rc == 0 || rc == SKY_ENOTFOUND);
		snapstore_publish(st, snapshot_new(rtree_share(tree), NULL, r, NULL, 0));
	}
	atomic_store(&done, 1);
	long reads = 0;
	for (unsigned i = 0; i < NREADERS; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT(args[i].bad, 0);
		reads += args[i].reads;
	}
	CHECK(reads > 0);
	CHECK_INT(rtree_check(tree), 0);
	rtree_release(tree);
	snapstore_free(st);
}

int main(void)
{
	RUN(single_thread);
	RUN(threads);
	RUN(shared_tree_threads);
	return CHECK_DONE();
}
