/* snapshot.c - a published version of the records: a shared tree root
 * (rtree.h) plus the config and kube2sky's zones of that moment.
 *
 * The builder (tests, fuzzers) collects adds and makes a fresh tree at
 * finish(); the mirror keeps its tree across publishes and hands a shared
 * root to snapshot_new(), so a publish copies nothing but the config.
 */
#include "snapshot.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "err.h"
#include "health.h"
#include "marker.h"

struct entry {
	char *path;
	uint32_t pathlen;
	int64_t expires;
	struct service svc;
};

struct snapshot_builder {
	struct entry *e;
	size_t n, cap;
	struct marker *managed;
	size_t nmanaged;
};

struct snapshot {
	struct rnode *root;
	struct config *cfg;
	uint64_t revision, serial;
	int64_t created;
	struct marker *managed;
	size_t nmanaged;
	const struct health *health; /* NULL: every address is up */
};

struct snapshot_builder *snapshot_builder_new(void)
{
	return calloc(1, sizeof(struct snapshot_builder));
}

int snapshot_builder_add(struct snapshot_builder *b, const char *path, size_t pathlen,
			 const struct service *svc, int64_t expires)
{
	if (pathlen > UINT32_MAX)
		return SKY_ERANGE;
	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 64;
		struct entry *ne = realloc(b->e, ncap * sizeof(*ne));
		if (!ne)
			return SKY_ENOMEM;
		b->e = ne;
		b->cap = ncap;
	}
	struct entry *e = &b->e[b->n];
	e->path = malloc(pathlen + 1);
	if (!e->path)
		return SKY_ENOMEM;
	memcpy(e->path, path, pathlen);
	e->path[pathlen] = '\0';
	if (msg_service_copy(&e->svc, svc) != 0) {
		free(e->path);
		return SKY_ENOMEM;
	}
	e->pathlen = (uint32_t)pathlen;
	e->expires = expires;
	b->n++;
	return 0;
}

int snapshot_builder_add_managed(struct snapshot_builder *b, const struct marker *m)
{
	for (size_t i = 0; i < b->nmanaged; i++) {
		if (strcmp(b->managed[i].zone, m->zone) == 0) {
			b->managed[i] = *m;
			return 0;
		}
	}
	struct marker *nm = realloc(b->managed, (b->nmanaged + 1) * sizeof *nm);
	if (!nm)
		return SKY_ENOMEM;
	b->managed = nm;
	b->managed[b->nmanaged++] = *m;
	return 0;
}

void snapshot_builder_free(struct snapshot_builder *b)
{
	if (!b)
		return;
	free(b->managed);
	for (size_t i = 0; i < b->n; i++) {
		free(b->e[i].path);
		msg_service_clear(&b->e[i].svc);
	}
	free(b->e);
	free(b);
}

static _Atomic uint64_t next_serial = 1;

static int marker_cmp(const void *pa, const void *pb)
{
	return strcmp(((const struct marker *)pa)->zone, ((const struct marker *)pb)->zone);
}

struct snapshot *snapshot_new(struct rnode *root, struct config *cfg, uint64_t revision,
			      const struct marker *managed, size_t nmanaged)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	if (!cfg && (cfg = malloc(sizeof(*cfg))))
		config_defaults(cfg);
	if (s && nmanaged && (s->managed = malloc(nmanaged * sizeof *managed))) {
		memcpy(s->managed, managed, nmanaged * sizeof *managed);
		qsort(s->managed, nmanaged, sizeof *managed, marker_cmp);
		s->nmanaged = nmanaged;
	}
	if (!s || !cfg || s->nmanaged != nmanaged) {
		rtree_release(root);
		free(cfg);
		if (s)
			free(s->managed);
		free(s);
		return NULL;
	}
	s->root = root;
	s->cfg = cfg;
	s->revision = revision;
	s->serial = atomic_fetch_add(&next_serial, 1);
	s->created = (int64_t)time(NULL);
	return s;
}

struct snapshot *snapshot_builder_finish(struct snapshot_builder *b, struct config *cfg,
					 uint64_t revision, unsigned prefix_depth)
{
	struct rnode *root = NULL;
	bool ok = b != NULL;
	/* In add order: a later add of a path replaces the earlier one. */
	for (size_t i = 0; ok && i < b->n; i++) {
		const struct entry *e = &b->e[i];
		struct record *r = record_new(e->path, e->pathlen, &e->svc, e->expires, prefix_depth);
		ok = r && rtree_put(&root, r) == 0;
		record_unref(r);
	}
	if (!ok) {
		/* Ownership of b and cfg passed to us even on failure. */
		rtree_release(root);
		snapshot_builder_free(b);
		free(cfg);
		return NULL;
	}
	struct snapshot *s = snapshot_new(root, cfg, revision, b->managed, b->nmanaged);
	snapshot_builder_free(b);
	return s;
}

void snapshot_free(struct snapshot *s)
{
	if (!s)
		return;
	rtree_release(s->root);
	health_unref(s->health);
	free(s->cfg);
	free(s->managed);
	free(s);
}

void snapshot_set_health(struct snapshot *s, const struct health *h)
{
	health_ref(h);
	health_unref(s->health);
	s->health = h;
}

const struct health *snapshot_health(const struct snapshot *s) { return s->health; }

const struct config *snapshot_config(const struct snapshot *s)
{
	return s->cfg;
}

uint64_t snapshot_revision(const struct snapshot *s)
{
	return s->revision;
}

uint64_t snapshot_serial(const struct snapshot *s)
{
	return s->serial;
}

size_t snapshot_count(const struct snapshot *s)
{
	return rtree_count(s->root);
}

int64_t snapshot_created(const struct snapshot *s)
{
	return s->created;
}

size_t snapshot_managed_count(const struct snapshot *s)
{
	return s->nmanaged;
}

const struct marker *snapshot_managed_at(const struct snapshot *s, size_t i)
{
	return i < s->nmanaged ? &s->managed[i] : NULL;
}

void snapshot_range(const struct snapshot *s, const char *path, size_t pathlen,
		    struct rtree_iter *it)
{
	rtree_range(s->root, path, pathlen, it);
}

const struct record *snapshot_next(struct rtree_iter *it)
{
	return rtree_next(it);
}

const struct record *snapshot_get(const struct snapshot *s, const char *path, size_t pathlen)
{
	return rtree_get(s->root, path, pathlen);
}
