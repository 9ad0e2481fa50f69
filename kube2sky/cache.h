/* cache.h - kube2sky's local copy of the watched objects and the set of
 * services whose records must be recomputed. Shared by the informer threads
 * (which fill it from LIST/WATCH) and the writer loop (which drains it);
 * every function locks internally.
 *
 * Records are level-triggered: an event only marks a service dirty; the
 * writer later translates the service from whatever the cache holds then, so
 * the order in which Service and EndpointSlice events arrive does not matter.
 */
#ifndef K2S_CACHE_H
#define K2S_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "translate.h"

struct cJSON;
struct strmap;

enum cache_kind { CACHE_SERVICES, CACHE_ENDPOINTS, CACHE_NKINDS };
enum eps_flavor { EPS_SLICES, EPS_V1 }; /* how CACHE_ENDPOINTS objects are decoded */

struct cache;

int cache_new(struct cache **out);
void cache_free(struct cache *c);

/* Decode an API object of `kind` (the flavor picks the EndpointSlice or the v1
 * Endpoints decoder) and add it to `batch`, a map being built from a LIST
 * (create it with cache_batch_new). SKY_EPARSE + *why for bad objects. */
struct strmap *cache_batch_new(enum cache_kind kind);
int cache_batch_add(struct strmap *batch, enum cache_kind kind, enum eps_flavor fl,
		    const struct cJSON *obj, const char **why);

/* Replace everything of `kind` by batch (consumed): objects missing from it
 * are deleted (the deletions a broken watch missed), changed ones updated;
 * their services are marked dirty. Marks `kind` synced. */
void cache_replace(struct cache *c, enum cache_kind kind, struct strmap *batch);

/* Apply one watch event object: upsert (deleted=false) or delete. The
 * service is marked dirty with the event's time (CLOCK_MONOTONIC ns, taken
 * here, right after the watch line was read and decoded). */
int cache_apply(struct cache *c, enum cache_kind kind, enum eps_flavor fl, bool deleted,
		const struct cJSON *obj, const char **why);

bool cache_synced(struct cache *c);

/* A LIST of `kind` began (the informer relists); cache_replace ends it. A
 * failed one leaves it begun: the cache may be stale until a LIST lands.
 * cache_relists: how many LISTs have replaced the cache so far; *relisting
 * true while any kind is in that state. */
void cache_relist_begin(struct cache *c, enum cache_kind kind);
uint64_t cache_relists(struct cache *c, bool *relisting);

/* Mark every known service (and the global records, key "") dirty. */
void cache_mark_all(struct cache *c);
void cache_mark(struct cache *c, const char *svc);
/* Mark dirty keeping an event time (CLOCK_MONOTONIC ns, 0 = none): the
 * earliest time of a still dirty service wins. For re-marking a service
 * whose write failed. */
void cache_mark_since(struct cache *c, const char *svc, int64_t since);

/* Take up to max dirty service keys, oldest first, for which skip(arg, key) is false
 * (malloc'd strings into keys[]); returns the count. since (NULL or max
 * entries) gets each key's oldest unwritten event time, 0 if it was marked
 * by no watch event (a relist, cache_mark_all, cache_mark). */
int cache_take_dirty(struct cache *c, char **keys, int64_t *since, int max,
		     bool (*skip)(void *, const char *), void *arg);

/* The same, oldest first: services are queued in the order they became
 * dirty (marked again while queued, one keeps its place and is taken once);
 * queued (NULL or max entries) gets when each became dirty (monotonic ns). */
int cache_take_queued(struct cache *c, char **keys, int64_t *since, int64_t *queued, int max,
		      bool (*skip)(void *, const char *), void *arg);
/* Services waiting to be taken. */
size_t cache_queue_len(struct cache *c);

/* Translate one service ("" = global records) from the cache. A service not
 * in the cache gives an empty set (its records are to be removed). */
int cache_translate(struct cache *c, const struct translate_opts *o, const char *svc,
		    struct k2s_recset *out);

/* True when the service is in the cache. */
bool cache_has_service(struct cache *c, const char *svc);
int cache_nservices(struct cache *c);
/* Objects of one kind in the cache. */
size_t cache_count(struct cache *c, enum cache_kind kind);

/* Wait until something is marked dirty, or timeout_ms passes, or
 * cache_wake() is called. */
void cache_wait(struct cache *c, int timeout_ms);
void cache_wake(struct cache *c);

#endif
