#include "cache.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "kobj.h"
#include "strmap.h"

/* A service waiting to be written: queued in the order it became dirty;
 * marked again while queued it keeps its place (it is written once, with
 * the state of the cache when the writer takes it). */
struct dirty {
	struct dirty *prev, *next;
	int64_t since;  /* oldest unwritten watch event (monotonic ns), 0 = none */
	int64_t queued; /* when it became dirty (monotonic ns) */
	char key[];     /* the service, "ns/name" */
};

struct cache {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct strmap *objs[CACHE_NKINDS]; /* "ns/name" -> ksvc* / keps* */
	struct strmap *by_svc;             /* "ns/svc" -> set of keps keys (non-owning values) */
	struct strmap *dirty;              /* "ns/svc" -> struct dirty * (in the FIFO below) */
	struct dirty *head, *tail;         /* the queue, oldest first */
	bool synced[CACHE_NKINDS];
	bool relisting[CACHE_NKINDS]; /* a LIST began and has not replaced the cache yet */
	uint64_t relists;             /* LISTs that replaced the cache */
	bool woken;
};

static void free_svc(void *p)
{
	ksvc_free(p);
}

static void free_eps(void *p)
{
	keps_free(p);
}

static void free_set(void *p)
{
	strmap_free(p);
}

int cache_new(struct cache **out)
{
	struct cache *c = calloc(1, sizeof *c);
	if (!c)
		return SKY_ENOMEM;
	pthread_mutex_init(&c->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &ca);
	pthread_condattr_destroy(&ca);
	c->objs[CACHE_SERVICES] = strmap_new(free_svc);
	c->objs[CACHE_ENDPOINTS] = strmap_new(free_eps);
	c->by_svc = strmap_new(free_set);
	c->dirty = strmap_new(NULL);
	if (!c->objs[0] || !c->objs[1] || !c->by_svc || !c->dirty) {
		cache_free(c);
		return SKY_ENOMEM;
	}
	*out = c;
	return 0;
}

void cache_free(struct cache *c)
{
	if (!c)
		return;
	for (int i = 0; i < CACHE_NKINDS; i++)
		strmap_free(c->objs[i]);
	strmap_free(c->by_svc);
	strmap_free(c->dirty);
	for (struct dirty *d = c->head, *nx; d; d = nx) {
		nx = d->next;
		free(d);
	}
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c);
}

struct strmap *cache_batch_new(enum cache_kind kind)
{
	return strmap_new(kind == CACHE_SERVICES ? free_svc : free_eps);
}

static int decode(enum cache_kind kind, enum eps_flavor fl, const cJSON *obj, void **out,
		  char *key, const char **why)
{
	int rc;
	if (kind == CACHE_SERVICES) {
		struct ksvc *s;
		if ((rc = ksvc_from_json(obj, &s, why)))
			return rc;
		snprintf(key, 512, "%s/%s", s->ns, s->name);
		*out = s;
	} else {
		struct keps *e;
		rc = fl == EPS_SLICES ? keps_from_slice_json(obj, &e, why) : keps_from_endpoints_json(obj, &e, why);
		if (rc)
			return rc;
		snprintf(key, 512, "%s/%s", e->ns, e->name);
		*out = e;
	}
	return 0;
}

int cache_batch_add(struct strmap *batch, enum cache_kind kind, enum eps_flavor fl,
		    const cJSON *obj, const char **why)
{
	void *o;
	char key[512];
	int rc = decode(kind, fl, obj, &o, key, why);
	if (rc)
		return rc;
	if ((rc = strmap_put(batch, key, o)))
		(kind == CACHE_SERVICES ? free_svc : free_eps)(o);
	return rc;
}

static void svc_of(enum cache_kind kind, const void *o, char *out)
{
	if (kind == CACHE_SERVICES) {
		const struct ksvc *s = o;
		snprintf(out, 512, "%s/%s", s->ns, s->name);
	} else {
		const struct keps *e = o;
		snprintf(out, 512, "%s/%s", e->ns, e->service);
	}
}

static int64_t clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A service stays dirty with the time of its oldest unwritten event, so
 * the event-to-write latency covers retries too. since = 0: no event (a
 * relist, a resync). An allocation failure loses the mark: the next resync
 * (cache_mark_all) brings it back. */
static void mark_locked(struct cache *c, const char *svc, int64_t since)
{
	struct dirty *d = strmap_get(c->dirty, svc);
	if (d) {
		if (since && (!d->since || since < d->since))
			d->since = since;
	} else if ((d = calloc(1, sizeof *d + strlen(svc) + 1))) {
		strcpy(d->key, svc);
		d->since = since;
		d->queued = clock_ns();
		if (strmap_put(c->dirty, svc, d)) {
			free(d);
		} else {
			d->prev = c->tail;
			if (c->tail)
				c->tail->next = d;
			else
				c->head = d;
			c->tail = d;
		}
	}
	pthread_cond_signal(&c->cv);
}

static void unlink_dirty(struct cache *c, struct dirty *d)
{
	if (d->prev)
		d->prev->next = d->next;
	else
		c->head = d->next;
	if (d->next)
		d->next->prev = d->prev;
	else
		c->tail = d->prev;
	free(d);
}

static void index_del(struct cache *c, const char *svc, const char *key)
{
	struct strmap *set = strmap_get(c->by_svc, svc);
	if (!set)
		return;
	strmap_del(set, key);
	if (!strmap_len(set))
		strmap_del(c->by_svc, svc);
}

static int index_add(struct cache *c, const char *svc, const char *key, void *eps)
{
	struct strmap *set = strmap_get(c->by_svc, svc);
	if (!set) {
		if (!(set = strmap_new(NULL)) || strmap_put(c->by_svc, svc, set)) {
			strmap_free(set);
			return SKY_ENOMEM;
		}
	}
	return strmap_put(set, key, eps);
}

/* Remove object `key` of kind; its service becomes dirty. */
static void remove_locked(struct cache *c, enum cache_kind kind, const char *key, int64_t since)
{
	void *old = strmap_get(c->objs[kind], key);
	if (!old)
		return;
	char svc[512];
	svc_of(kind, old, svc);
	if (kind == CACHE_ENDPOINTS)
		index_del(c, svc, key);
	strmap_del(c->objs[kind], key);
	mark_locked(c, svc, since);
}

/* Insert or replace; `o` is consumed. */
static int upsert_locked(struct cache *c, enum cache_kind kind, const char *key, void *o,
			 int64_t since)
{
	remove_locked(c, kind, key, since);
	char svc[512];
	svc_of(kind, o, svc);
	int rc = strmap_put(c->objs[kind], key, o);
	if (rc) {
		(kind == CACHE_SERVICES ? free_svc : free_eps)(o);
		return rc;
	}
	if (kind == CACHE_ENDPOINTS && (rc = index_add(c, svc, key, o)))
		return rc;
	mark_locked(c, svc, since);
	return 0;
}

static const char *rv_of(enum cache_kind kind, const void *o)
{
	return kind == CACHE_SERVICES ? ((const struct ksvc *)o)->rv : ((const struct keps *)o)->rv;
}

void cache_replace(struct cache *c, enum cache_kind kind, struct strmap *batch)
{
	pthread_mutex_lock(&c->mu);
	/* Collect vanished keys first: removal changes the map. */
	size_t n = 0, it = 0, cap = strmap_len(c->objs[kind]) + 1;
	char **gone = malloc(sizeof *gone * cap);
	const char *key;
	void *o;
	while (gone && strmap_next(c->objs[kind], &it, &key, NULL))
		if (!strmap_has(batch, key) && (gone[n] = strdup(key)))
			n++;
	for (size_t i = 0; i < n; i++) {
		remove_locked(c, kind, gone[i], 0);
		free(gone[i]);
	}
	free(gone);
	/* Upsert changed objects; equal resourceVersions mean unchanged. The
	 * keys are collected first since taking from the batch changes it. */
	it = 0;
	n = 0;
	char **changed = malloc(sizeof *changed * (strmap_len(batch) + 1));
	while (changed && strmap_next(batch, &it, &key, &o)) {
		void *cur = strmap_get(c->objs[kind], key);
		if (cur && *rv_of(kind, o) && strcmp(rv_of(kind, cur), rv_of(kind, o)) == 0)
			continue;
		if ((changed[n] = strdup(key)))
			n++;
	}
	for (size_t i = 0; i < n; i++) {
		upsert_locked(c, kind, changed[i], strmap_take(batch, changed[i]), 0);
		free(changed[i]);
	}
	free(changed);
	strmap_free(batch);
	c->synced[kind] = true;
	c->relisting[kind] = false;
	c->relists++;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

int cache_apply(struct cache *c, enum cache_kind kind, enum eps_flavor fl, bool deleted,
		const cJSON *obj, const char **why)
{
	char key[512];
	void *o = NULL;
	int rc = SKY_OK;
	if (deleted) {
		if (kobj_key(obj, key, sizeof key)) {
			*why = "metadata.name or metadata.namespace missing";
			return SKY_EPARSE;
		}
	} else if ((rc = decode(kind, fl, obj, &o, key, why))) {
		return rc;
	}
	int64_t now = clock_ns();
	pthread_mutex_lock(&c->mu);
	if (deleted)
		remove_locked(c, kind, key, now);
	else
		rc = upsert_locked(c, kind, key, o, now);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

void cache_relist_begin(struct cache *c, enum cache_kind kind)
{
	pthread_mutex_lock(&c->mu);
	c->relisting[kind] = true;
	pthread_mutex_unlock(&c->mu);
}

uint64_t cache_relists(struct cache *c, bool *relisting)
{
	pthread_mutex_lock(&c->mu);
	*relisting = c->relisting[CACHE_SERVICES] || c->relisting[CACHE_ENDPOINTS];
	uint64_t n = c->relists;
	pthread_mutex_unlock(&c->mu);
	return n;
}

bool cache_synced(struct cache *c)
{
	pthread_mutex_lock(&c->mu);
	bool s = c->synced[CACHE_SERVICES] && c->synced[CACHE_ENDPOINTS];
	pthread_mutex_unlock(&c->mu);
	return s;
}

void cache_mark(struct cache *c, const char *svc)
{
	cache_mark_since(c, svc, 0);
}

void cache_mark_since(struct cache *c, const char *svc, int64_t since)
{
	pthread_mutex_lock(&c->mu);
	mark_locked(c, svc, since);
	pthread_mutex_unlock(&c->mu);
}

void cache_mark_all(struct cache *c)
{
	pthread_mutex_lock(&c->mu);
	size_t it = 0;
	const char *key;
	mark_locked(c, "", 0);
	while (strmap_next(c->objs[CACHE_SERVICES], &it, &key, NULL))
		mark_locked(c, key, 0);
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

int cache_take_queued(struct cache *c, char **keys, int64_t *since, int64_t *queued, int max,
		      bool (*skip)(void *, const char *), void *arg)
{
	int n = 0;
	pthread_mutex_lock(&c->mu);
	for (struct dirty *d = c->head, *nx; d && n < max; d = nx) {
		nx = d->next;
		if (skip && skip(arg, d->key))
			continue;
		if (!(keys[n] = strdup(d->key)))
			break;
		if (since)
			since[n] = d->since;
		if (queued)
			queued[n] = d->queued;
		n++;
		strmap_del(c->dirty, d->key);
		unlink_dirty(c, d);
	}
	pthread_mutex_unlock(&c->mu);
	return n;
}

int cache_take_dirty(struct cache *c, char **keys, int64_t *since, int max,
		     bool (*skip)(void *, const char *), void *arg)
{
	return cache_take_queued(c, keys, since, NULL, max, skip, arg);
}

size_t cache_queue_len(struct cache *c)
{
	pthread_mutex_lock(&c->mu);
	size_t n = strmap_len(c->dirty);
	pthread_mutex_unlock(&c->mu);
	return n;
}

int cache_translate(struct cache *c, const struct translate_opts *o, const char *svc,
		    struct k2s_recset *out)
{
	if (!*svc)
		return translate_global(o, out);
	pthread_mutex_lock(&c->mu);
	int rc = 0;
	const struct ksvc *s = strmap_get(c->objs[CACHE_SERVICES], svc);
	struct strmap *set = strmap_get(c->by_svc, svc);
	if (s) {
		size_t n = set ? strmap_len(set) : 0, it = 0, i = 0;
		const struct keps **eps = malloc(sizeof *eps * (n + 1));
		void *v;
		while (eps && set && strmap_next(set, &it, NULL, &v))
			eps[i++] = v;
		rc = eps ? translate_service(o, s, eps, (int)i, out) : SKY_ENOMEM;
		free(eps);
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

bool cache_has_service(struct cache *c, const char *svc)
{
	pthread_mutex_lock(&c->mu);
	bool h = strmap_has(c->objs[CACHE_SERVICES], svc);
	pthread_mutex_unlock(&c->mu);
	return h;
}

size_t cache_count(struct cache *c, enum cache_kind kind)
{
	pthread_mutex_lock(&c->mu);
	size_t n = strmap_len(c->objs[kind]);
	pthread_mutex_unlock(&c->mu);
	return n;
}

int cache_nservices(struct cache *c)
{
	pthread_mutex_lock(&c->mu);
	int n = (int)strmap_len(c->objs[CACHE_SERVICES]);
	pthread_mutex_unlock(&c->mu);
	return n;
}

void cache_wait(struct cache *c, int timeout_ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->mu);
	while (!c->woken && strmap_len(c->dirty) == 0) {
		if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT)
			break;
	}
	c->woken = false;
	pthread_mutex_unlock(&c->mu);
}

void cache_wake(struct cache *c)
{
	pthread_mutex_lock(&c->mu);
	c->woken = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}
