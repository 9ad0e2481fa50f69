/* snapshot.c - sorted, immutable record set.
 *
 * Layout: one array of struct record sorted by path, and one string pool that
 * holds every path and every service string, so a snapshot is four
 * allocations (records, pool, config, managed zones) however many records it
 * has, and freeing it is O(1) in calls to free().
 *
 * Order: bytes compare as unsigned, except that '/' sorts below every other
 * byte. Then a path and its subtree are one contiguous run ("a/b", "a/b/c"
 * come before "a/b-x" and "a/bc"), and both ends of the run can be found by
 * binary search.
 */
#include "snapshot.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "err.h"
#include "marker.h"

struct entry {
	char *path;
	uint32_t pathlen;
	size_t seq; /* insertion order: the last add of a path wins */
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
	struct record *rec;
	size_t n;
	char *pool;
	struct config *cfg;
	uint64_t revision;
	int64_t created;
	struct marker *managed;
	size_t nmanaged;
};

static inline unsigned key_byte(unsigned char c)
{
	return c == '/' ? 0u : (unsigned)c + 1u;
}

static int path_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	for (size_t i = 0; i < n; i++) {
		unsigned x = key_byte((unsigned char)a[i]), y = key_byte((unsigned char)b[i]);
		if (x != y)
			return x < y ? -1 : 1;
	}
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

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
	e->seq = b->n;
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

static int entry_cmp(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	int c = path_cmp(a->path, a->pathlen, b->path, b->pathlen);
	if (c != 0)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq ? 1 : 0;
}

static int marker_cmp(const void *pa, const void *pb)
{
	return strcmp(((const struct marker *)pa)->zone, ((const struct marker *)pb)->zone);
}

static size_t slen(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

/* Copy s (len bytes) into the pool at *pos; NULL stays NULL. */
static char *pool_put(char *pool, size_t *pos, const char *s, size_t len)
{
	if (!s)
		return NULL;
	char *d = pool + *pos;
	memcpy(d, s, len);
	d[len] = '\0';
	*pos += len + 1;
	return d;
}

static char *pool_str(char *pool, size_t *pos, const char *s)
{
	return s ? pool_put(pool, pos, s, strlen(s)) : NULL;
}

static uint32_t path_depth(const char *p, uint32_t len, unsigned prefix_depth)
{
	if (len == 0)
		return prefix_depth;
	uint32_t d = prefix_depth + 1;
	for (uint32_t i = 0; i < len; i++)
		d += p[i] == '/';
	return d;
}

/* Sort, drop all but the last add of each path, and size the pool. */
static size_t builder_dedup(struct snapshot_builder *b, size_t *poolsize)
{
	if (b->n > 1)
		qsort(b->e, b->n, sizeof(*b->e), entry_cmp);
	size_t out = 0, pool = 0;
	for (size_t i = 0; i < b->n; i++) {
		struct entry *e = &b->e[i];
		if (i + 1 < b->n && path_cmp(e->path, e->pathlen, b->e[i + 1].path,
					     b->e[i + 1].pathlen) == 0) {
			free(e->path);
			msg_service_clear(&e->svc);
			continue;
		}
		pool += e->pathlen + 1 + slen(e->svc.host) + slen(e->svc.text) +
			slen(e->svc.group);
		b->e[out++] = *e;
	}
	b->n = out;
	*poolsize = pool;
	return out;
}

struct snapshot *snapshot_builder_finish(struct snapshot_builder *b, struct config *cfg,
					 uint64_t revision, unsigned prefix_depth)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	if (!s || !b)
		goto fail;
	size_t poolsize;
	size_t n = builder_dedup(b, &poolsize);
	s->rec = calloc(n ? n : 1, sizeof(*s->rec));
	s->pool = malloc(poolsize ? poolsize : 1);
	if (!cfg) {
		cfg = malloc(sizeof(*cfg));
		if (cfg)
			config_defaults(cfg);
	}
	if (!s->rec || !s->pool || !cfg)
		goto fail;
	size_t pos = 0;
	for (size_t i = 0; i < n; i++) {
		const struct entry *e = &b->e[i];
		struct record *r = &s->rec[i];
		r->path = pool_put(s->pool, &pos, e->path, e->pathlen);
		r->pathlen = e->pathlen;
		r->depth = path_depth(e->path, e->pathlen, prefix_depth);
		r->expires = e->expires;
		r->svc = e->svc;
		r->svc.host = pool_str(s->pool, &pos, e->svc.host);
		r->svc.text = pool_str(s->pool, &pos, e->svc.text);
		r->svc.group = pool_str(s->pool, &pos, e->svc.group);
	}
	if (b->nmanaged > 1)
		qsort(b->managed, b->nmanaged, sizeof *b->managed, marker_cmp);
	s->managed = b->managed;
	s->nmanaged = b->nmanaged;
	b->managed = NULL;
	s->n = n;
	s->cfg = cfg;
	s->revision = revision;
	s->created = (int64_t)time(NULL);
	snapshot_builder_free(b);
	return s;
fail:
	/* Ownership of b and cfg passed to us even on failure: no leak either way. */
	snapshot_builder_free(b);
	free(cfg);
	if (s) {
		free(s->rec);
		free(s->pool);
		free(s);
	}
	return NULL;
}

void snapshot_free(struct snapshot *s)
{
	if (!s)
		return;
	free(s->rec);
	free(s->pool);
	free(s->cfg);
	free(s->managed);
	free(s);
}

const struct config *snapshot_config(const struct snapshot *s)
{
	return s->cfg;
}

uint64_t snapshot_revision(const struct snapshot *s)
{
	return s->revision;
}

size_t snapshot_count(const struct snapshot *s)
{
	return s->n;
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

/* Where record r lies relative to the subtree of p: -1 before, 0 inside
 * (r == p or r starts with p + '/'), 1 after. Monotone over the sort order. */
static int subtree_cmp(const struct record *r, const char *p, size_t plen)
{
	if (r->pathlen < plen) {
		int c = path_cmp(r->path, r->pathlen, p, plen);
		return c < 0 ? -1 : 1;
	}
	int c = path_cmp(r->path, plen, p, plen);
	if (c != 0)
		return c;
	if (r->pathlen == plen || r->path[plen] == '/')
		return 0;
	return 1;
}

/* First index whose subtree_cmp is >= want (want 0: lower end, 1: upper end). */
static size_t bsearch_first(const struct snapshot *s, const char *p, size_t plen, int want)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (subtree_cmp(&s->rec[mid], p, plen) < want)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t snapshot_range(const struct snapshot *s, const char *path, size_t pathlen,
		      const struct record **first)
{
	if (pathlen == 0) {
		*first = s->rec;
		return s->n;
	}
	size_t lo = bsearch_first(s, path, pathlen, 0);
	size_t hi = bsearch_first(s, path, pathlen, 1);
	*first = s->rec + lo;
	return hi - lo;
}

const struct record *snapshot_get(const struct snapshot *s, const char *path, size_t pathlen)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = path_cmp(s->rec[mid].path, s->rec[mid].pathlen, path, pathlen);
		if (c == 0)
			return &s->rec[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
