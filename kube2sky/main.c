/* kube2sky - publish Kubernetes Services as SkyDNS records in etcd.
 *
 * Threads: one informer per watched collection (services, endpointslices or
 * endpoints) filling the cache; the main thread is the writer loop, turning
 * dirty services into etcd diffs; an httpd thread serves /healthz and
 * /readyz. Nothing here exits because the API or etcd is unavailable: the
 * loops retry with backoff and /readyz reports it.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "config.h"
#include "elect.h"
#include "err.h"
#include "etcd.h"
#include "httpd.h"
#include "netaddr.h"
#include "pemfile.h"
#include "informer.h"
#include "kapi.h"
#include "kstats.h"
#include "log.h"
#include "marker.h"
#include "metrics.h"
#include "msg.h"
#include "opts.h"
#include "strmap.h"
#include "writer.h"

#define MAX_MACHINES 16
#define MARKER_CHECK_MS 5000 /* how often the zone marker is looked at */
#define BATCH_SERVICES 256   /* dirty services taken (and, on v3, written) together */

static atomic_bool stopping;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stopping, true);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct retry {
	int64_t next;
	int delay;
};

/* The writer loop's state; the ready fields are also read by /readyz. */
struct run {
	struct opts *o;
	struct cache *cache;
	struct writer *w;
	struct etcd_client *etcd;
	struct elect *el;            /* the writer election (NULL on v2: always leads) */
	struct translate_opts topts;
	struct informer *inf[CACHE_NKINDS];
	struct strmap *retry;        /* service -> struct retry */
	struct strmap *skipped;      /* service -> "\nreason\n..." last logged (note_skips) */
	struct kstats *stats;
	struct writer_stats seen;    /* writer counters already added to stats */
	unsigned long seen_requests; /* etcd_request_count already added to stats */
	pthread_mutex_t mu;
	bool loaded, first_done, etcd_ok, need_gc;
	bool ready;                  /* /readyz said ok once (it stays ok) */
	bool marker_due;             /* a full sync finished: write the zone marker */
	int64_t synced_at;           /* unix seconds of the last full sync */
	int64_t marker_retry_at;     /* monotonic ms */
	char marker_id[MARKER_ID_LEN + 1];
	char marker_at[1024];        /* key of the marker last written, "" = none */
	int64_t marker_check_at;     /* monotonic ms of the next look at it */
	char etcd_err[512];
	int64_t next_resync, etcd_backoff_until;
	int etcd_backoff;
	unsigned seed;
};

/* etcd state for /readyz; a failure is logged by etcd_failed() with its
 * retry delay, a recovery here. */
static void set_etcd(struct run *r, bool ok, int rc)
{
	pthread_mutex_lock(&r->mu);
	bool was = r->etcd_ok;
	r->etcd_ok = ok;
	if (!ok)
		snprintf(r->etcd_err, sizeof r->etcd_err, "%s (%s)", etcd_last_error(r->etcd), err_str(rc));
	pthread_mutex_unlock(&r->mu);
	if (!was && ok)
		log_info("etcd", "etcd reachable");
}

static bool connectivity_error(int rc)
{
	return rc == SKY_EIO || rc == SKY_ETIMEDOUT || rc == SKY_ETLS || rc == SKY_EAUTH;
}

/* Is etcd reachable? A read of the dns-version key (present or not). */
static bool etcd_answers(struct run *r)
{
	char key[1024], name[600], *v = NULL;
	snprintf(name, sizeof name, "dns-version.%s", r->topts.zone);
	if (msg_name_to_key(r->topts.prefix, name, key, sizeof key) < 0)
		return false;
	int rc = etcd_get(r->etcd, key, &v, NULL);
	free(v);
	return rc == 0 || rc == SKY_ENOTFOUND;
}

static bool skip_retrying(void *arg, const char *svc)
{
	struct run *r = arg;
	struct retry *t = strmap_get(r->retry, svc);
	return t && t->next > now_ms();
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Add the writer's counters since the last call to the metrics; returns
 * how many etcd writes succeeded in between. */
static unsigned long account(struct run *r)
{
	struct writer_stats st;
	writer_get_stats(r->w, &st);
	unsigned long puts = st.puts - r->seen.puts, dels = st.deletes - r->seen.deletes;
	kstats_etcd(r->stats, KETCD_PUT, puts, st.put_errors - r->seen.put_errors);
	kstats_etcd(r->stats, KETCD_DELETE, dels, st.delete_errors - r->seen.delete_errors);
	kstats_keys(r->stats, st.keys);
	r->seen = st;
	unsigned long req = etcd_request_count(r->etcd);
	kstats_etcd_requests(r->stats, req - r->seen_requests);
	r->seen_requests = req;
	return puts + dels;
}

static void schedule_retry(struct run *r, const char *svc, int rc, int64_t since)
{
	struct retry *t = strmap_get(r->retry, svc);
	if (!t && (t = calloc(1, sizeof *t)) && strmap_put(r->retry, svc, t)) {
		free(t);
		t = NULL;
	}
	int d = t ? (t->delay ? t->delay * 2 : 500) : 1000;
	if (d > r->o->backoff_max_ms)
		d = r->o->backoff_max_ms;
	if (t) {
		t->delay = d;
		t->next = now_ms() + d / 2 + (int)(rand_r(&r->seed) % (unsigned)(d / 2 + 1));
	}
	log_warn("writer", "cannot write records, retrying: %s service=%s etcd=%s retry_ms=%d",
		 err_str(rc), *svc ? svc : "(global)", etcd_last_error(r->etcd), d);
	cache_mark_since(r->cache, svc, since);
}

/* Log what translate left out of a service, `skip <ns>/<name>: <reason>`,
 * and count it, once: resyncs translate the same object again and must not
 * repeat themselves. r->skipped keeps the last reasons of each service. */
static void note_skips(struct run *r, const char *svc, const struct k2s_recset *rs)
{
	const char *old = strmap_get(r->skipped, svc);
	size_t len = 1;
	unsigned long fresh = 0;
	for (int i = 0; i < rs->nskips; i++) {
		len += strlen(rs->skips[i]) + 1;
		char line[1300];
		snprintf(line, sizeof line, "\n%s\n", rs->skips[i]);
		if (old && strstr(old, line))
			continue;
		log_warn("writer", "skip %s: %s", svc, rs->skips[i]);
		fresh++;
	}
	kstats_skipped(r->stats, fresh);
	char *now = rs->nskips ? malloc(len + 1) : NULL;
	if (!now) {
		strmap_del(r->skipped, svc);
		return;
	}
	char *p = now;
	*p++ = '\n';
	for (int i = 0; i < rs->nskips; i++)
		p += sprintf(p, "%s\n", rs->skips[i]);
	if (strmap_put(r->skipped, svc, now))
		free(now);
}

/* One service: translate, diff, write. since: its oldest unwritten watch
 * event (0 = none). Returns a connectivity error (the whole view must be
 * reloaded), else 0. */
static int sync_one(struct run *r, const char *svc, int64_t since)
{
	struct k2s_recset rs = {0};
	int rc = cache_translate(r->cache, &r->topts, svc, &rs);
	if (rc)
		return rc;
	note_skips(r, svc, &rs);
	rc = writer_sync(r->w, svc, &rs);
	int nrec = rs.n;
	recset_clear(&rs);
	unsigned long writes = account(r);
	if (!rc) {
		strmap_del(r->retry, svc);
		/* An event that changed no record caused no write to time. */
		if (since && writes)
			kstats_event_to_write(r->stats, (double)(now_ns() - since) / 1e9);
		log_debug("writer", "service synced service=%s writes=%lu records=%d", *svc ? svc : "(global)",
			  writes, nrec);
		return 0;
	}
	if ((rc == SKY_ECONFLICT && elect_refused(r->el)) ||
	    (connectivity_error(rc) && !etcd_answers(r))) {
		cache_mark_since(r->cache, svc, since); /* refused: the fence, not this service */
		return rc;
	}
	/* etcd is up but refused this service's records (a request too large,
	 * a permission): retry it alone, the others go on. */
	schedule_retry(r, svc, rc, since);
	return 0;
}

/* etcd v3: translate and plan a whole take of services, then write it in
 * as few transactions as etcd allows (writer_flush). When that fails the
 * view is re-read and the services are written one by one (sync_one), so a
 * service etcd refuses is retried alone and the others go on. Returns a
 * connectivity error (the whole view must be reloaded), else 0. */
static int sync_batch(struct run *r, char **keys, const int64_t *since, int n)
{
	size_t wrote[BATCH_SERVICES] = {0};
	int rc = 0;
	writer_begin(r->w);
	for (int i = 0; i < n && !rc; i++) {
		struct k2s_recset rs = {0};
		size_t before = writer_queued(r->w);
		if (!(rc = cache_translate(r->cache, &r->topts, keys[i], &rs))) {
			note_skips(r, keys[i], &rs);
			rc = writer_sync(r->w, keys[i], &rs);
		}
		wrote[i] = writer_queued(r->w) - before;
		recset_clear(&rs);
	}
	size_t nops = 0;
	int frc = writer_flush(r->w, &nops);
	account(r);
	if (!rc && !frc) {
		for (int i = 0; i < n; i++) {
			strmap_del(r->retry, keys[i]);
			if (since[i] && wrote[i])
				kstats_event_to_write(r->stats, (double)(now_ns() - since[i]) / 1e9);
			log_debug("writer", "service synced service=%s writes=%zu", *keys[i] ? keys[i] : "(global)",
				  wrote[i]);
		}
		log_debug("writer", "batch written services=%d writes=%zu", n, nops);
		return 0;
	}
	if (!rc)
		rc = frc;
	int lrc = rc == SKY_ECONFLICT && elect_refused(r->el) ? rc : writer_load(r->w);
	account(r);
	if (lrc || (connectivity_error(rc) && !etcd_answers(r))) {
		for (int i = 0; i < n; i++)
			cache_mark_since(r->cache, keys[i], since[i]);
		return lrc ? lrc : rc;
	}
	log_warn("writer", "a batched write failed, writing its services one by one: %s etcd=%s",
		 err_str(rc), etcd_last_error(r->etcd));
	int out = 0;
	for (int i = 0; i < n; i++) {
		if (!out && !atomic_load(&stopping))
			out = sync_one(r, keys[i], since[i]);
		else
			cache_mark_since(r->cache, keys[i], since[i]); /* not done: keep it dirty */
	}
	return out;
}

static int process_dirty(struct run *r)
{
	char *keys[BATCH_SERVICES];
	int64_t since[BATCH_SERVICES], queued[BATCH_SERVICES];
	int n, rc = 0;
	while (!rc && !atomic_load(&stopping) &&
	       (n = cache_take_queued(r->cache, keys, since, queued, BATCH_SERVICES, skip_retrying, r)) > 0) {
		int64_t t = now_ns();
		for (int i = 0; i < n; i++)
			kstats_queue_wait(r->stats, (double)(t - queued[i]) / 1e9);
		kstats_queue(r->stats, cache_queue_len(r->cache));
		if (r->o->etcd3) {
			rc = sync_batch(r, keys, since, n);
			for (int i = 0; i < n; i++)
				free(keys[i]);
			continue;
		}
		for (int i = 0; i < n; i++) {
			if (!rc && !atomic_load(&stopping))
				rc = sync_one(r, keys[i], since[i]);
			else
				cache_mark_since(r->cache, keys[i], since[i]); /* not done: keep it dirty */
			free(keys[i]);
		}
	}
	kstats_queue(r->stats, cache_queue_len(r->cache));
	return rc;
}

static bool live(void *arg, const char *owner)
{
	return cache_has_service(arg, owner);
}

/* Remove records of services that no longer exist (kube2sky restarted
 * with stale keys; objects deleted while nobody watched). */
static int collect_garbage(struct run *r)
{
	char **owners;
	int n, rc = writer_stale_owners(r->w, live, r->cache, &owners, &n);
	if (rc)
		return rc;
	struct k2s_recset empty = {0};
	bool batch = r->o->etcd3 && n;
	if (batch)
		writer_begin(r->w); /* v3: every removal in as few txns as etcd takes */
	for (int i = 0; i < n && !rc; i++) {
		rc = writer_sync(r->w, owners[i], &empty);
		account(r);
		if (!rc && !batch)
			log_info("writer", "removed records of a service that no longer exists service=%s", owners[i]);
	}
	if (batch) {
		int frc = writer_flush(r->w, NULL); /* failed: the caller reloads the view */
		account(r);
		rc = rc ? rc : frc;
	}
	for (int i = 0; i < n; i++) {
		if (!rc && batch)
			log_info("writer", "removed records of a service that no longer exists service=%s", owners[i]);
		free(owners[i]);
	}
	free(owners);
	return rc;
}

static void mark_service(void *arg, const char *svc)
{
	cache_mark(arg, svc);
}

static void etcd_failed(struct run *r, int rc)
{
	if (rc == SKY_ECONFLICT && elect_refused(r->el)) {
		log_warn("writer", "a fenced write was refused: no longer the leader, writing nothing");
		r->loaded = false;
		return;
	}
	set_etcd(r, false, rc);
	r->loaded = false;
	int d = r->etcd_backoff ? r->etcd_backoff * 2 : 500;
	r->etcd_backoff = d > r->o->backoff_max_ms ? r->o->backoff_max_ms : d;
	int wait = d / 2 + (int)(rand_r(&r->seed) % (unsigned)(d / 2 + 1));
	r->etcd_backoff_until = now_ms() + wait;
	log_error("etcd", "cannot use etcd, retrying: %s retry_ms=%d", r->etcd_err, wait);
}

/* The zone marker (marker.h) tells skydns that this zone follows the
 * Kubernetes DNS spec, so names above a service stop answering with other
 * namespaces' records. Written after every full sync, with the time of the
 * sync. It is no record: readiness does not wait for it and the record
 * metrics do not count it; a failed write is retried every 5 s, and until
 * it lands skydns keeps SkyDNS's directory answers for the zone. */
static void write_marker(struct run *r)
{
	if (now_ms() < r->marker_retry_at)
		return;
	struct marker m = {.synced = r->synced_at};
	char key[1024], val[1024];
	snprintf(m.zone, sizeof m.zone, "%s", r->topts.zone);
	snprintf(m.schema, sizeof m.schema, "%s", K2S_SCHEMA_VERSION);
	memcpy(m.id, r->marker_id, sizeof m.id);
	int rc = marker_key(r->topts.prefix, m.zone, key, sizeof key);
	if (rc >= 0)
		rc = marker_format(&m, val, sizeof val);
	if (rc < 0) {
		log_error("writer", "cannot build the zone marker: %s zone=%s", err_str(rc), m.zone);
		r->marker_due = false;
		return;
	}
	rc = etcd_put(r->etcd, key, val, 0);
	if (rc == SKY_ECONFLICT)
		elect_refused(r->el);
	if (rc) {
		r->marker_retry_at = now_ms() + 5000;
		log_warn("writer", "cannot write the zone marker, retrying in 5 s; skydns keeps SkyDNS "
			 "directory answers for the zone until then: %s key=%s etcd=%s",
			 err_str(rc), key, etcd_last_error(r->etcd));
		return;
	}
	r->marker_due = false;
	snprintf(r->marker_at, sizeof r->marker_at, "%s", key);
	r->marker_check_at = now_ms() + MARKER_CHECK_MS;
	log_debug("writer", "zone marker written key=%s synced=%lld", key, (long long)m.synced);
}

/* etcd restarted empty (or replaced by a new cluster) answers kube2sky's
 * requests as if nothing happened, and the writer's view still lists every
 * key, so nothing would be rewritten until the next resync. The marker is
 * the canary: when it is gone, so is everything else; re-read and rewrite
 * at once (skydns keeps answering from its last snapshot meanwhile). */
static void check_marker(struct run *r)
{
	if (!r->marker_at[0] || r->marker_due || now_ms() < r->marker_check_at)
		return;
	r->marker_check_at = now_ms() + MARKER_CHECK_MS;
	char *v = NULL;
	int rc = etcd_get(r->etcd, r->marker_at, &v, NULL);
	free(v);
	if (rc != SKY_ENOTFOUND)
		return; /* there, or etcd is away (the next write reports that) */
	log_warn("writer", "zone marker key=%s is gone: etcd lost kube2sky's records (wiped or "
		 "replaced); re-reading and rewriting everything", r->marker_at);
	kstats_store_lost(r->stats);
	r->loaded = false;
}

/* 16 hex digits, one value per process, so a reader of the marker can tell
 * a restarted kube2sky (or a second one) from the same one resyncing. */
static void make_marker_id(char out[MARKER_ID_LEN + 1])
{
	uint8_t b[MARKER_ID_LEN / 2];
	if (getrandom(b, sizeof b, GRND_NONBLOCK) != (ssize_t)sizeof b) {
		uint64_t x = (uint64_t)time(NULL) * 6364136223846793005ULL ^ (uint64_t)getpid() ^
			     (uint64_t)now_ms() << 20;
		memcpy(b, &x, sizeof b);
	}
	for (size_t i = 0; i < sizeof b; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void writer_step(struct run *r)
{
	kstats_queue(r->stats, cache_queue_len(r->cache)); /* also while etcd is away */
	bool fresh, leading = elect_fence(r->el, r->etcd, &fresh);
	if (fresh && r->marker_at[0] && !r->marker_due) {
		/* elected again (the lease was lost): was the store wiped meanwhile? */
		r->marker_check_at = 0;
		check_marker(r);
	}
	if (fresh)
		r->loaded = false; /* just elected: a fresh view, then every service */
	if (!r->loaded) {
		if (now_ms() < r->etcd_backoff_until) {
			cache_wait(r->cache, 100);
			return;
		}
		int rc = writer_load(r->w);
		account(r);
		if (rc) {
			etcd_failed(r, rc);
			return;
		}
		set_etcd(r, true, 0);
		r->etcd_backoff = 0;
		r->loaded = r->need_gc = true;
		r->next_resync = now_ms() + (int64_t)r->o->resync_s * 1000;
		cache_mark_all(r->cache);
	}
	if (!leading) {
		/* following: caches warm, etcd read (and its errors reported), nothing written */
		cache_wait(r->cache, 100);
		return;
	}
	if (!cache_synced(r->cache)) {
		cache_wait(r->cache, 200);
		return;
	}
	bool relisting;
	uint64_t relists = cache_relists(r->cache, &relisting);
	int rc = process_dirty(r);
	if (!rc && r->need_gc)
		rc = collect_garbage(r);
	writer_take_orphans(r->w, mark_service, r->cache);
	if (rc) {
		etcd_failed(r, rc);
		return;
	}
	if (r->need_gc) {
		r->need_gc = false;
		struct writer_stats st;
		writer_get_stats(r->w, &st);
		if (!r->first_done)
			log_info("writer", "initial sync done services=%d puts=%lu deletes=%lu",
				 cache_nservices(r->cache), st.puts, st.deletes);
		pthread_mutex_lock(&r->mu);
		r->first_done = true;
		pthread_mutex_unlock(&r->mu);
		r->synced_at = (int64_t)time(NULL);
		r->marker_due = true;
		r->marker_retry_at = 0;
	}
	if (r->marker_due)
		write_marker(r);
	else
		check_marker(r);
	/* Only when no relist runs and the last one to land was written by
	 * the process_dirty above: while one runs, or before its changes are
	 * written, etcd may hold what the API server no longer has. */
	bool now_relisting;
	if (!rc && !strmap_len(r->retry) && !relisting &&
	    cache_relists(r->cache, &now_relisting) == relists && !now_relisting)
		kstats_synced(r->stats, (double)time(NULL));
	if (r->o->resync_s > 0 && now_ms() >= r->next_resync)
		r->loaded = false; /* re-read etcd: repairs keys lost or changed behind our back */
	cache_wait(r->cache, 250);
}

static int healthz(void *arg, char **body, size_t *len, const char **ctype)
{
	*body = strdup("ok\n");
	*len = *body ? 3 : 0;
	*ctype = "text/plain";
	return 200;
}

/* Ready once the first full sync is written: from then on skydns answers
 * from etcd whether or not the API server or etcd is reachable, so an
 * outage of either (a control-plane upgrade) must not take every replica
 * out of the Service at once. It shows in the body, the *_connected gauges
 * and the log instead. */
static int readyz(void *arg, char **body, size_t *len, const char **ctype)
{
	struct run *r = arg;
	char msg[2048] = "", api[600];
	pthread_mutex_lock(&r->mu);
	/* With an election a follower (another kube2sky leads) is ready once
	 * its caches synced and it has read etcd (it could take over). */
	bool ok = r->ready = r->first_done || r->ready ||
			     (r->etcd_ok && elect_following(r->el) && cache_synced(r->cache));
	if (!r->etcd_ok)
		snprintf(msg, sizeof msg, "etcd: %s\n", r->etcd_err[0] ? r->etcd_err : "not reached yet");
	pthread_mutex_unlock(&r->mu);
	for (int i = 0; i < CACHE_NKINDS; i++) {
		if (!informer_status(r->inf[i], api, sizeof api)) {
			size_t l = strlen(msg);
			snprintf(msg + l, sizeof msg - l, "api %s: %s\n", informer_name(r->inf[i]), api);
		}
	}
	char out[2100];
	snprintf(out, sizeof out, "%s%s", ok ? (msg[0] ? "ok, serving the last sync; degraded:\n" : "ok\n")
					     : "first sync not done\n", msg);
	*body = strdup(out);
	*len = *body ? strlen(*body) : 0;
	*ctype = "text/plain";
	return ok ? 200 : 503;
}

static double gauge_api(void *arg)
{
	struct run *r = arg;
	char why[8];
	for (int i = 0; i < CACHE_NKINDS; i++)
		if (!r->inf[i] || !informer_status(r->inf[i], why, sizeof why))
			return 0;
	return 1;
}

static double gauge_etcd(void *arg)
{
	struct run *r = arg;
	pthread_mutex_lock(&r->mu);
	bool ok = r->etcd_ok;
	pthread_mutex_unlock(&r->mu);
	return ok ? 1 : 0;
}

static int metrics(void *arg, char **body, size_t *len, const char **ctype)
{
	struct run *r = arg;
	*body = metrics_render(kstats_registry(r->stats), len);
	*ctype = "text/plain; version=0.0.4; charset=utf-8";
	return *body ? 200 : 500;
}

/* Start the listeners: health (and metrics, unless --metrics-addr) on
 * --health-addr, metrics alone on --metrics-addr. Logs and returns -1 when
 * an address cannot be used. */
static int start_http(struct run *r, struct httpd **health, struct httpd **metr)
{
	const struct opts *o = r->o;
	struct httpd_route routes[] = {
		{"/healthz", healthz, r}, {"/readyz", readyz, r}, {o->metrics_path, metrics, r},
	};
	bool apart = *o->metrics_addr != '\0';
	if (*o->health_addr && httpd_start(o->health_addr, routes, apart ? 2 : 3, health)) {
		log_error("kube2sky", "cannot listen for health checks health-addr=%s", o->health_addr);
		return -1;
	}
	if (*health)
		log_info("kube2sky", "health endpoints on /healthz and /readyz port=%u%s%s", httpd_port(*health),
			 apart ? "" : " metrics=", apart ? "" : o->metrics_path);
	if (apart && httpd_start(o->metrics_addr, routes + 2, 1, metr)) {
		log_error("kube2sky", "cannot listen for metrics metrics-addr=%s", o->metrics_addr);
		return -1;
	}
	if (*metr)
		log_info("kube2sky", "metrics endpoint port=%u path=%s", httpd_port(*metr), o->metrics_path);
	return 0;
}

/* After SIGTERM the loops end within about a second, but the etcd request
 * in flight is waited for (up to its 5 s timeout, longer with several
 * members): the shutdown is bounded here, from the signal on. */
static void *shutdown_guard(void *arg)
{
	int secs = *(int *)arg;
	struct timespec tick = {0, 100 * 1000000L};
	while (!atomic_load(&stopping))
		nanosleep(&tick, NULL);
	log_info("kube2sky", "stop requested; finishing the etcd request in flight timeout_s=%d", secs);
	struct timespec ts = {secs, 0};
	while (nanosleep(&ts, &ts) != 0)
		;
	log_error("kube2sky", "shutdown did not finish in time; exiting timeout_s=%d", secs);
	_exit(1);
	return NULL;
}

/* *eo (pointing at static storage) is kept for the election's client. */
static int open_etcd(struct opts *o, struct etcd_client **out, struct etcd_opts *eo_out)
{
	static char buf[4096];
	static const char *machines[MAX_MACHINES];
	int n = 0;
	snprintf(buf, sizeof buf, "%s", o->etcd_server);
	for (char *save, *tok = strtok_r(buf, ",", &save); tok && n < MAX_MACHINES; tok = strtok_r(NULL, ",", &save))
		if (*tok)
			machines[n++] = tok;
	struct etcd_opts eo = {
		.machines = machines, .nmachines = n, .v3 = o->etcd3, .ca_cert = o->etcd_cafile,
		.tls_pem = o->etcd_certfile, .tls_key = o->etcd_keyfile, .username = o->etcd_username,
		.password = o->etcd_password,
	};
	*eo_out = eo;
	int rc = etcd_new(&eo, out);
	if (rc) {
		char shown[1024];
		etcd_url_redact(o->etcd_server, shown, sizeof shown);
		fprintf(stderr, "kube2sky: --etcd-server \"%s\": %s\n", shown, err_str(rc));
	}
	return rc;
}

/* etcd's TLS files, read once now: libcurl would only report a bad one as
 * a failed connection, retried for ever. */
static int check_etcd_tls(const struct opts *o)
{
	char why[1024];
	static const char *const tls_flags[3] = { "--etcd-cafile", "--etcd-certfile",
						  "--etcd-keyfile" };
	int rc = pem_check_tls(o->etcd_cafile, o->etcd_certfile, o->etcd_keyfile, tls_flags, why,
			       sizeof why);
	if (rc)
		fprintf(stderr, "kube2sky: %s\n", why);
	return rc;
}

/* Each etcd endpoint needs its scheme; curl alone would fail later with
 * "invalid argument" and kube2sky would retry for ever. */
static int check_etcd_urls(const struct opts *o)
{
	const char *p = o->etcd_server;
	int n = 0;
	while (*p) {
		size_t len = strcspn(p, ",");
		if (len) {
			size_t skip = !strncasecmp(p, "http://", 7) ? 7 : !strncasecmp(p, "https://", 8) ? 8 : 0;
			const char *why = !skip ? "an endpoint without http:// or https:// (like http://127.0.0.1:2379)"
					  : (len == skip || p[skip] == '/' || p[skip] == ':') ? "an endpoint without a host" : NULL;
			if (why) {
				fprintf(stderr, "kube2sky: invalid value \"%s\" for %s: %s\n",
					o->etcd_server, o->etcd_from_env ? "ETCD_MACHINES" : "flag -etcd-server", why);
				return SKY_EINVAL;
			}
			n++;
		}
		p += len + (p[len] == ',');
	}
	if (!n) {
		fprintf(stderr, "kube2sky: invalid value \"\" for flag -etcd-server: empty (give an endpoint like http://127.0.0.1:2379)\n");
		return SKY_EINVAL;
	}
	return 0;
}

static int make_zone(const char *domain, char *zone, size_t cap)
{
	size_t l = strlen(domain);
	if (!l || l + 2 > cap || domain[0] == '.' || strstr(domain, ".."))
		return SKY_EINVAL;
	for (const char *p = domain, *dot; *p; p = dot + 1) {
		dot = strchr(p, '.');
		if ((dot ? (size_t)(dot - p) : strlen(p)) > 63)
			return SKY_EINVAL;
		if (!dot)
			break;
	}
	for (size_t i = 0; i <= l; i++)
		zone[i] = (char)tolower((unsigned char)domain[i]);
	if (zone[l - 1] != '.')
		strcat(zone, ".");
	return 0;
}

static int run_daemon(struct run *r, struct kapi *api)
{
	struct httpd *h = NULL, *hm = NULL;
	for (int k = 0; k < CACHE_NKINDS; k++) {
		struct informer_opts io = {
			.api = api, .cache = r->cache, .kind = (enum cache_kind)k, .page_limit = 500,
			.watch_timeout_s = r->o->watch_timeout_s, .progress_timeout_s = r->o->progress_timeout_s,
			.backoff_min_ms = 800,
			.backoff_max_ms = r->o->backoff_max_ms, .stop = &stopping, .stats = r->stats,
		};
		if (informer_start(&io, &r->inf[k])) {
			log_error("kube2sky", "cannot start a watch thread");
			atomic_store(&stopping, true);
			for (int j = 0; j < k; j++)
				informer_join(r->inf[j]);
			return 1;
		}
	}
	pthread_t guard;
	if (r->o->shutdown_s > 0 && pthread_create(&guard, NULL, shutdown_guard, &r->o->shutdown_s) == 0)
		pthread_detach(guard);
	int bad = start_http(r, &h, &hm);
	if (bad)
		atomic_store(&stopping, true);
	while (!atomic_load(&stopping))
		writer_step(r); /* returns between etcd writes, never inside one */
	log_info("kube2sky", "shutting down");
	if (h)
		httpd_stop(h); /* first: /readyz reads the informers */
	if (hm)
		httpd_stop(hm);
	for (int k = 0; k < CACHE_NKINDS; k++)
		informer_join(r->inf[k]);
	elect_stop(r->el); /* revokes the lease: a follower leads at once */
	log_info("kube2sky", "stopped");
	return bad ? 1 : 0;
}

/* Listener settings are configuration: a typo exits 2 at start rather
 * than leaving a daemon without probes. The names that go into keys and
 * metric names are checked here too. */
static int check_listeners(const struct opts *o)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char *pp = o->path_prefix;
	size_t pl = strlen(pp);
	if (!pl || pp[0] == '/' || pp[pl - 1] == '/' || strstr(pp, "//") || strpbrk(pp, " \t\n")) {
		fprintf(stderr, "kube2sky: invalid value \"%s\" for flag -path-prefix: %s\n", pp,
			pl ? "an etcd path without spaces or leading, trailing or doubled '/' (like skydns)"
			   : "empty (the default is skydns)");
		return SKY_EINVAL;
	}
	const struct { const char *flag, *val; } names[] = {
		{"metrics-namespace", o->metrics_ns}, {"metrics-subsystem", o->metrics_sub},
	};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		for (const char *p = names[i].val; *p; p++)
			if (!(isalpha((unsigned char)*p) || *p == '_' ||
			      (p > names[i].val && isdigit((unsigned char)*p)))) {
				fprintf(stderr, "kube2sky: invalid value \"%s\" for flag -%s: not a "
						"Prometheus name part (letters, digits, '_'; no leading digit)\n",
					names[i].val, names[i].flag);
				return SKY_EINVAL;
			}
	if (o->metrics_path[0] != '/') {
		fprintf(stderr, "kube2sky: --metrics-path \"%s\" must start with /\n", o->metrics_path);
		return SKY_EINVAL;
	}
	const struct { const char *flag, *val; } addrs[] = {
		{"health-addr", o->health_addr}, {"metrics-addr", o->metrics_addr},
	};
	for (size_t i = 0; i < sizeof addrs / sizeof *addrs; i++) {
		if (*addrs[i].val && netaddr_parse(addrs[i].val, NETADDR_LISTEN, &ss, &len)) {
			fprintf(stderr, "kube2sky: --%s \"%s\" is not host:port\n", addrs[i].flag, addrs[i].val);
			return SKY_EINVAL;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	if (opts_parse(&o, argc, argv))
		return 2;
	if (o.help) {
		opts_usage(stdout);
		return 0;
	}
	if (o.version) {
		printf("kube2sky %s\n", SKY_PROJECT_VERSION);
		return 0;
	}
	log_set_level(o.verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	log_set_journal(o.log_journal);
	if (check_listeners(&o) || check_etcd_urls(&o) || check_etcd_tls(&o))
		return 2;
	char zone[512], err[1024];
	if (make_zone(o.domain, zone, sizeof zone)) {
		fprintf(stderr, "kube2sky: invalid value \"%s\" for flag -domain: %s\n", o.domain,
			*o.domain ? "not a domain name (empty label or label over 63 characters)"
				  : "empty (give a domain such as cluster.local)");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct kapi_config kc;
	if (kapi_config_resolve(o.kube_master_url, o.kubecfg_file, o.sa_dir, &kc, err, sizeof err)) {
		fprintf(stderr, "kube2sky: %s\n", err);
		return 2;
	}
	struct run r = {.o = &o, .seed = (unsigned)time(NULL)};
	make_marker_id(r.marker_id);
	r.topts = (struct translate_opts){.prefix = o.path_prefix, .zone = zone, .ttl = (uint32_t)o.ttl,
					  .priority = 10, .weight = 10};
	struct kapi *api = NULL;
	int rc = kapi_new(&kc, &api);
	char etcd_shown[1024];
	etcd_url_redact(o.etcd_server, etcd_shown, sizeof etcd_shown);
	log_info("kube2sky", "starting domain=%s api=%s credentials=%s etcd=%s%s", zone, kc.server,
		 kc.source, etcd_shown, o.etcd3 ? " (v3)" : " (v2)");
	kapi_config_clear(&kc);
	struct etcd_opts eo;
	if (rc || open_etcd(&o, &r.etcd, &eo) || cache_new(&r.cache) || writer_new(r.etcd, &r.topts, &r.w) ||
	    !(r.retry = strmap_new(free)) || !(r.skipped = strmap_new(free)) || !(r.stats = kstats_new(o.metrics_ns, o.metrics_sub)))
		return 2;
	pthread_mutex_init(&r.mu, NULL);
	struct metrics *reg = kstats_registry(r.stats);
	if (o.etcd3 && o.leader_ttl_s < 1) {
		fprintf(stderr, "kube2sky: invalid value for flag -leader-ttl: at least 1s\n");
		return 2;
	}
	if (elect_start(&eo, o.path_prefix, zone, r.marker_id, (unsigned)o.leader_ttl_s, &stopping,
			reg, &r.el))
		return 2;
	metrics_add_gauge_fn(reg, "api_connected",
			     "1 while every watch of the API server is connected.", gauge_api, &r);
	metrics_add_gauge_fn(reg, "etcd_connected", "1 while etcd answers kube2sky's writes.",
			     gauge_etcd, &r);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = run_daemon(&r, api);
	writer_free(r.w);
	cache_free(r.cache);
	strmap_free(r.retry);
	strmap_free(r.skipped);
	kstats_free(r.stats);
	etcd_free(r.etcd);
	kapi_free(api);
	curl_global_cleanup();
	return rc;
}
