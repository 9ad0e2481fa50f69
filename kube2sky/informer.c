#include "informer.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "kapi.h"
#include "kobj.h"
#include "kstats.h"
#include "log.h"
#include "strmap.h"

static const struct {
	const char *name, *path;
	enum cache_kind kind;
	enum eps_flavor fl;
} resources[] = {
	{"services", "/api/v1/services", CACHE_SERVICES, EPS_SLICES},
	{"endpointslices", "/apis/discovery.k8s.io/v1/endpointslices", CACHE_ENDPOINTS, EPS_SLICES},
	{"endpoints", "/api/v1/endpoints", CACHE_ENDPOINTS, EPS_V1},
};

struct informer {
	struct informer_opts o;
	pthread_t thread;
	int res;                 /* index into resources[] */
	pthread_mutex_t mu;
	bool healthy;
	char last_error[512];
	char rv[256];
	unsigned seed;
	int backoff_ms;
};

const char *informer_name(const struct informer *in)
{
	return resources[in->res].name;
}

bool informer_status(struct informer *in, char *buf, unsigned cap)
{
	pthread_mutex_lock(&in->mu);
	bool h = in->healthy;
	if (!h)
		snprintf(buf, cap, "%s", in->last_error);
	pthread_mutex_unlock(&in->mu);
	return h;
}

static void set_status(struct informer *in, bool healthy, const char *err)
{
	pthread_mutex_lock(&in->mu);
	bool was = in->healthy;
	in->healthy = healthy;
	if (err)
		snprintf(in->last_error, sizeof in->last_error, "%s", err);
	pthread_mutex_unlock(&in->mu);
	if (healthy && !was)
		log_info("api", "%s: connected", informer_name(in));
}

/* Sleep up to ms, waking early on stop. */
static void nap(struct informer *in, int ms)
{
	for (int slept = 0; slept < ms && !atomic_load(in->o.stop); slept += 100) {
		struct timespec ts = {0, 100 * 1000000L};
		nanosleep(&ts, NULL);
	}
}

/* Full jitter over [backoff/2, backoff), then double up to the max. */
static void backoff(struct informer *in, const char *what, int rc, const char *err)
{
	set_status(in, false, err);
	int b = in->backoff_ms, wait = b / 2 + (int)(rand_r(&in->seed) % (unsigned)(b / 2 + 1));
	log_warn("api", "%s failed, retrying: %s code=%s resource=%s retry_ms=%d", what, err,
		 err_str(rc), informer_name(in), wait);
	nap(in, wait);
	in->backoff_ms = b * 2 > in->o.backoff_max_ms ? in->o.backoff_max_ms : b * 2;
}

struct list_ctx {
	struct informer *in;
	struct strmap *batch;
	int bad;
};

static int list_item(void *arg, const cJSON *item)
{
	struct list_ctx *l = arg;
	const char *why = "";
	int rc = cache_batch_add(l->batch, resources[l->in->res].kind, resources[l->in->res].fl, item, &why);
	if (rc == SKY_EPARSE) {
		l->bad++;
		log_warn("api", "skipping an object that does not decode: %s resource=%s", why,
			 informer_name(l->in));
		return 0;
	}
	return rc;
}

static void count_objects(struct informer *in)
{
	kstats_objects(in->o.stats, informer_name(in), cache_count(in->o.cache, resources[in->res].kind));
}

/* LIST everything into the cache. Returns 0 or the error (logged by caller). */
static int relist(struct informer *in, enum kstats_relist why, char *err, size_t errcap)
{
	for (;;) {
		kstats_relist(in->o.stats, informer_name(in), why);
		struct list_ctx l = {.in = in, .batch = cache_batch_new(resources[in->res].kind)};
		if (!l.batch)
			return SKY_ENOMEM;
		long status = 0;
		cache_relist_begin(in->o.cache, resources[in->res].kind);
		int rc = kapi_list(in->o.api, resources[in->res].path, in->o.page_limit, list_item, &l,
				   in->rv, sizeof in->rv, &status, in->o.stop, err, errcap);
		if (rc) {
			strmap_free(l.batch);
			/* 404: an API before 1.21; 403: RBAC without endpointslices. */
			if ((status == 404 || status == 403) && in->res == 1) {
				log_warn("api", "cannot list EndpointSlices (discovery.k8s.io/v1, HTTP %ld); "
					 "watching v1 Endpoints instead", status);
				in->res = 2;
				why = KRELIST_START;
				continue;
			}
			return rc;
		}
		log_info("api", "listed %s count=%zu rv=%s", informer_name(in), strmap_len(l.batch), in->rv);
		cache_replace(in->o.cache, resources[in->res].kind, l.batch);
		count_objects(in);
		return 0;
	}
}

static const char *const event_names[] = {
	[WATCH_ADDED] = "ADDED", [WATCH_MODIFIED] = "MODIFIED", [WATCH_DELETED] = "DELETED",
	[WATCH_BOOKMARK] = "BOOKMARK", [WATCH_ERROR] = "ERROR",
};

static int on_event(void *arg, const struct watch_event *ev)
{
	struct informer *in = arg;
	if (log_enabled(LOG_LVL_DEBUG)) {
		char key[512] = "";
		if (ev->type != WATCH_BOOKMARK)
			kobj_key(ev->object, key, sizeof key);
		log_debug("api", "watch event type=%s resource=%s object=%s rv=%s", event_names[ev->type],
			  informer_name(in), key, ev->rv);
	}
	if (!in->healthy)
		set_status(in, true, NULL);
	in->backoff_ms = in->o.backoff_min_ms;
	if (ev->type != WATCH_BOOKMARK) {
		const char *why = "";
		int rc = cache_apply(in->o.cache, resources[in->res].kind, resources[in->res].fl,
				     ev->type == WATCH_DELETED, ev->object, &why);
		if (rc == SKY_EPARSE)
			log_warn("api", "skipping a watch event that does not decode: %s resource=%s", why,
				 informer_name(in));
		else if (rc)
			return rc;
		count_objects(in);
	}
	if (*ev->rv)
		snprintf(in->rv, sizeof in->rv, "%s", ev->rv);
	return 0;
}

/* Watch until the stream needs a relist (returns) or stop. */
static void watch_loop(struct informer *in)
{
	char err[768];
	int again = -1; /* why the previous watch ended (-1: none yet, first watch after a list) */
	while (!atomic_load(in->o.stop)) {
		if (again >= 0)
			kstats_rewatch(in->o.stats, informer_name(in), (enum kstats_rewatch)again);
		int garbage = 0, t = in->o.watch_timeout_s;
		t += (int)(rand_r(&in->seed) % (unsigned)(t > 0 ? t : 1));
		/* A live stream ends by itself at timeoutSeconds, so t + 30 s of
		 * silence is a dead one even without a progress deadline. */
		int idle = t + 30, p = in->o.progress_timeout_s;
		if (p > 0 && p < idle)
			idle = p;
		err[0] = '\0';
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int rc = kapi_watch(in->o.api, resources[in->res].path, in->rv, t, idle, on_event, in,
				    in->o.stop, &garbage, err, sizeof err);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (garbage)
			log_warn("api", "ignored undecodable watch lines count=%d resource=%s", garbage,
				 informer_name(in));
		if (rc == 0) {
			again = KREWATCH_CLOSED;
			set_status(in, true, NULL);
			/* Stream ended normally: re-watch from the last RV, but a
			 * server that closes every watch at once must not make
			 * this loop spin. */
			if (t1.tv_sec - t0.tv_sec < 1) {
				nap(in, in->backoff_ms);
				in->backoff_ms = in->backoff_ms * 2 > in->o.backoff_max_ms ? in->o.backoff_max_ms
											   : in->backoff_ms * 2;
			}
			continue;
		}
		if (rc == SKY_ESTOPPED)
			return;
		if (rc == SKY_ECOMPACTED) {
			log_info("api", "watch expired, relisting: %s resource=%s", err, informer_name(in));
			return;
		}
		if (rc == SKY_ETIMEDOUT) {
			/* A stalled stream (a half-open connection, a hung API
			 * server or proxy) loses nothing but time: resume from
			 * the last RV, no relist and no backoff (the stall
			 * itself took idle seconds). */
			log_warn("api", "watch %s: no progress for %ds, reconnecting rv=%s", informer_name(in),
				 idle, in->rv);
			again = KREWATCH_STALLED;
			continue;
		}
		again = KREWATCH_ERROR;
		kstats_api_error(in->o.stats, informer_name(in), KAPI_WATCH);
		backoff(in, "watch", rc, err);
	}
}

static void *run(void *arg)
{
	struct informer *in = arg;
	char err[768];
	enum kstats_relist why = KRELIST_START;
	while (!atomic_load(in->o.stop)) {
		err[0] = '\0';
		int rc = relist(in, why, err, sizeof err);
		if (rc == SKY_ESTOPPED)
			break;
		if (rc) {
			kstats_api_error(in->o.stats, informer_name(in), KAPI_LIST);
			backoff(in, "list", rc, err);
			/* 410 on a list: its continue token expired. */
			why = rc == SKY_ECOMPACTED ? KRELIST_EXPIRED : KRELIST_ERROR;
			continue;
		}
		set_status(in, true, NULL);
		in->backoff_ms = in->o.backoff_min_ms;
		watch_loop(in);
		why = KRELIST_EXPIRED; /* watch_loop returns on 410 (or stop) */
	}
	return NULL;
}

int informer_start(const struct informer_opts *o, struct informer **out)
{
	struct informer *in = calloc(1, sizeof *in);
	if (!in)
		return SKY_ENOMEM;
	in->o = *o;
	in->res = o->kind == CACHE_SERVICES ? 0 : 1;
	in->backoff_ms = o->backoff_min_ms;
	in->seed = (unsigned)time(NULL) ^ (unsigned)getpid() ^ (unsigned)(o->kind * 7919);
	snprintf(in->last_error, sizeof in->last_error, "not listed yet");
	pthread_mutex_init(&in->mu, NULL);
	if (pthread_create(&in->thread, NULL, run, in) != 0) {
		pthread_mutex_destroy(&in->mu);
		free(in);
		return SKY_ENOMEM;
	}
	*out = in;
	return 0;
}

void informer_join(struct informer *in)
{
	if (!in)
		return;
	pthread_join(in->thread, NULL);
	pthread_mutex_destroy(&in->mu);
	free(in);
}
