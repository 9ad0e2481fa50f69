/* informer.h - one thread per watched collection: paginated LIST into the
 * cache, then WATCH from the list's resourceVersion with bookmarks, re-watch
 * when the stream ends or stalls (no byte for progress_timeout_s), relist on
 * 410 (ERROR event inside the 200 stream or HTTP 410), jittered exponential
 * backoff on failures. Never gives up: the
 * state is reported through informer_status() and the log.
 *
 * The endpoints informer starts on discovery.k8s.io/v1 EndpointSlices and
 * falls back to v1 Endpoints when the API answers 404 for slices.
 */
#ifndef K2S_INFORMER_H
#define K2S_INFORMER_H

#include <stdatomic.h>
#include <stdbool.h>

#include "cache.h"

struct kapi;
struct kstats;
struct informer;

struct informer_opts {
	struct kapi *api;         /* borrowed */
	struct cache *cache;      /* borrowed */
	enum cache_kind kind;
	int page_limit;           /* LIST limit (500) */
	int watch_timeout_s;      /* timeoutSeconds; randomised in [t, 2t) as client-go does */
	int progress_timeout_s;   /* no byte for this long: re-watch from the last RV (0: only t + 30 s) */
	int backoff_min_ms, backoff_max_ms; /* 800, 30000 */
	const atomic_bool *stop;  /* set to end the thread */
	struct kstats *stats;     /* borrowed; NULL = no metrics */
};

int informer_start(const struct informer_opts *o, struct informer **out);
/* Joins the thread (*stop must be true already). */
void informer_join(struct informer *in);

/* Healthy = the last LIST/WATCH attempt succeeded. last_error is copied into
 * buf (cap bytes) when not healthy. */
bool informer_status(struct informer *in, char *buf, unsigned cap);
const char *informer_name(const struct informer *in);

#endif
