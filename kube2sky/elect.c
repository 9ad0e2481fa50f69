/* elect.c - the writer election (see elect.h). One thread per process,
 * with its own etcd client: an etcd_client is used by one thread at a
 * time, and a keepalive must not wait behind a long batch of the writer. */
#include "elect.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "etcd.h"
#include "log.h"
#include "marker.h"
#include "metrics.h"

struct elect {
	struct etcd_client *etcd; /* the election thread's own */
	char key[1024], id[64];
	unsigned ttl_s;
	const atomic_bool *stop;
	pthread_t th;
	bool started;
	pthread_mutex_t mu;
	bool leading;             /* mu */
	bool follows;             /* mu: another kube2sky's leader key was seen */
	uint64_t lease;           /* mu: the lease the leader key is on while leading */
	uint64_t refused;         /* mu: a lease the writer saw refused (0 = none) */
	uint64_t fenced;          /* writer thread only: its client's fence lease */
	uint64_t held;            /* the lease still led on at stop (elect_stop revokes it) */
	char following[64];       /* election thread only: the leader last logged */
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep up to ms, in steps short enough to see a stop at once. */
static void nap(const struct elect *e, int ms)
{
	int64_t until = now_ms() + ms;
	while (!atomic_load(e->stop) && now_ms() < until) {
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
}

static void set_role(struct elect *e, bool leading, uint64_t lease)
{
	pthread_mutex_lock(&e->mu);
	e->leading = leading;
	e->lease = leading ? lease : 0;
	if (leading)
		e->follows = false;
	if (!leading)
		e->refused = 0;
	pthread_mutex_unlock(&e->mu);
}

static bool was_refused(struct elect *e, uint64_t lease)
{
	pthread_mutex_lock(&e->mu);
	bool r = e->refused == lease;
	pthread_mutex_unlock(&e->mu);
	return r;
}

/* Lead until the lease is lost or a stop: keepalive every TTL/3. The
 * lease is known to last until the send time of the last answered
 * keepalive plus the TTL (etcd restarts its clock when it gets the
 * request, later than we sent it): past that, stop claiming to lead. */
static void lead(struct elect *e, uint64_t lease)
{
	int period = (int)e->ttl_s * 1000 / 3;
	int64_t ok_at = now_ms(), next = ok_at + period;
	const char *why = NULL;
	while (!atomic_load(e->stop) && !why) {
		if (was_refused(e, lease)) {
			why = "a fenced write was refused (another kube2sky holds the leader key)";
			break;
		}
		if (now_ms() >= next) {
			int64_t sent = now_ms(), ttl = 0;
			int rc = etcd_lease_keepalive(e->etcd, lease, &ttl);
			if (rc == 0) {
				ok_at = sent;
				next = sent + period;
			} else if (rc == SKY_ENOTFOUND) {
				why = "the lease is gone (expired or revoked)";
			} else if (now_ms() - ok_at >= (int64_t)e->ttl_s * 1000) {
				why = "lease keepalives failed for longer than its TTL";
			} else {
				log_warn("elect", "lease keepalive failed, retrying: %s etcd=%s",
					 err_str(rc), etcd_last_error(e->etcd));
				next = now_ms() + 300;
			}
		}
		nap(e, 50);
	}
	if (!why) {
		/* Stopping: still the leader until the writer has finished the
		 * batch in flight (revoking now would fail its later txns and
		 * leave a service half written); elect_stop revokes. */
		e->held = lease;
		return;
	}
	set_role(e, false, 0);
	log_warn("elect", "stepped down: %s key=%s lease=%" PRIx64, why, e->key, lease);
	/* Gone or not, revoking removes the leader key if it is still ours:
	 * a follower takes over at once instead of after the TTL. */
	etcd_lease_revoke(e->etcd, lease);
}

/* Campaign: CREATE(key) == 0 -> put key=id on a fresh lease. */
static void campaign(struct elect *e)
{
	uint64_t lease = 0;
	int rc = etcd_lease_grant(e->etcd, e->ttl_s, &lease);
	if (rc) {
		log_warn("elect", "cannot grant a lease to campaign, retrying: %s etcd=%s",
			 err_str(rc), etcd_last_error(e->etcd));
		nap(e, 1000);
		return;
	}
	struct etcd_cmp cmp = { .key = e->key, .target = ETCD_CMP_CREATE, .value = 0 };
	struct etcd_op op = { .key = e->key, .value = e->id, .lease = lease };
	rc = etcd_txn(e->etcd, &cmp, 1, &op, 1, NULL);
	if (rc) {
		if (rc != SKY_ECONFLICT)
			log_warn("elect", "campaign failed, retrying: %s etcd=%s", err_str(rc),
				 etcd_last_error(e->etcd));
		etcd_lease_revoke(e->etcd, lease);
		return; /* another won (the next look shows whom) or etcd failed */
	}
	log_info("elect", "became leader key=%s id=%s lease=%" PRIx64 " ttl_s=%u", e->key, e->id,
		 lease, e->ttl_s);
	e->following[0] = '\0';
	set_role(e, true, lease);
	lead(e, lease);
}

static void *elect_main(void *arg)
{
	struct elect *e = arg;
	int poll = (int)e->ttl_s * 1000 / 6;
	poll = poll < 200 ? 200 : poll > 1000 ? 1000 : poll;
	bool warned = false;
	while (!atomic_load(e->stop)) {
		char *v = NULL;
		int rc = etcd_get(e->etcd, e->key, &v, NULL);
		if (rc == SKY_ENOTFOUND) {
			campaign(e);
			continue;
		}
		if (rc == 0 && strcmp(v, e->following) != 0) {
			log_info("elect", "following %s key=%s", v, e->key);
			snprintf(e->following, sizeof e->following, "%s", v);
			pthread_mutex_lock(&e->mu);
			e->follows = strcmp(v, e->id) != 0;
			pthread_mutex_unlock(&e->mu);
		} else if (rc && !warned) {
			log_warn("elect", "cannot read the leader key, retrying: %s etcd=%s",
				 err_str(rc), etcd_last_error(e->etcd));
		}
		warned = rc != 0;
		free(v);
		nap(e, rc ? 1000 : poll);
	}
	return NULL;
}

static double gauge_leader(void *arg)
{
	return elect_leading(arg) ? 1 : 0;
}

int elect_start(const struct etcd_opts *eo, const char *prefix, const char *zone,
		const char *id, unsigned ttl_s, const atomic_bool *stop, struct metrics *reg,
		struct elect **out)
{
	if (!eo->v3) {
		log_info("elect", "etcd v2 has no leases or transactions here: no election; run one "
			 "kube2sky only against this etcd");
		*out = NULL;
		return metrics_add_gauge_fn(reg, "leader", "1 while this kube2sky is the elected "
					    "writer (etcd v3); always 1 on v2.", gauge_leader, NULL);
	}
	struct elect *e = calloc(1, sizeof *e);
	if (!e)
		return SKY_ENOMEM;
	int rc = marker_leader_key(prefix, zone, e->key, sizeof e->key);
	/* A request must not outlast a keepalive period, or one hung member
	 * would cost the lease; failover to the next member is per request. */
	struct etcd_opts o = *eo;
	o.timeout_ms = (int)ttl_s * 1000 / 3;
	if (o.timeout_ms > 5000)
		o.timeout_ms = 5000;
	if (rc >= 0)
		rc = etcd_new(&o, &e->etcd);
	if (rc < 0) {
		free(e);
		return rc;
	}
	snprintf(e->id, sizeof e->id, "%s", id);
	e->ttl_s = ttl_s;
	e->stop = stop;
	pthread_mutex_init(&e->mu, NULL);
	metrics_add_gauge_fn(reg, "leader",
			     "1 while this kube2sky is the elected writer (etcd v3); always 1 on v2.",
			     gauge_leader, e);
	if (pthread_create(&e->th, NULL, elect_main, e) != 0) {
		etcd_free(e->etcd);
		free(e);
		return SKY_ENOMEM;
	}
	e->started = true;
	*out = e;
	return 0;
}

void elect_stop(struct elect *e)
{
	if (!e)
		return;
	if (e->started)
		pthread_join(e->th, NULL);
	if (e->held) {
		/* The writer has stopped: hand over at once instead of after the TTL. */
		int rc = etcd_lease_revoke(e->etcd, e->held);
		set_role(e, false, 0);
		log_info("elect", "leader lease revoked for a fast hand-over key=%s: %s", e->key,
			 rc == 0 ? "ok" : err_str(rc));
	}
	etcd_free(e->etcd);
	pthread_mutex_destroy(&e->mu);
	free(e);
}

bool elect_fence(struct elect *e, struct etcd_client *etcd, bool *fresh)
{
	*fresh = false;
	if (!e)
		return true;
	pthread_mutex_lock(&e->mu);
	uint64_t lease = e->leading && e->refused != e->lease ? e->lease : 0;
	pthread_mutex_unlock(&e->mu);
	if (lease != e->fenced) {
		if (etcd_set_fence(etcd, lease ? e->key : NULL, lease) != 0)
			return false;
		*fresh = lease != 0;
		e->fenced = lease;
	}
	return lease != 0;
}

bool elect_refused(struct elect *e)
{
	if (!e || !e->fenced)
		return false;
	pthread_mutex_lock(&e->mu);
	e->refused = e->fenced;
	pthread_mutex_unlock(&e->mu);
	return true;
}

bool elect_leading(struct elect *e)
{
	if (!e)
		return true;
	pthread_mutex_lock(&e->mu);
	bool l = e->leading;
	pthread_mutex_unlock(&e->mu);
	return l;
}

bool elect_following(struct elect *e)
{
	if (!e)
		return false;
	pthread_mutex_lock(&e->mu);
	bool f = e->follows && !e->leading;
	pthread_mutex_unlock(&e->mu);
	return f;
}
