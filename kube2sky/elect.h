/* elect.h - one elected writer among kube2sky replicas sharing an etcd v3
 * cluster (issue 18).
 *
 * The leader holds /<prefix>/kube2sky/<zone>/leader (marker_leader_key),
 * value its marker id, attached to its lease of --leader-ttl seconds. The
 * election thread (its own etcd client) campaigns (txn: CREATE(leader) == 0
 * -> put leader with a fresh lease), keeps the lease alive every TTL/3 while
 * leading, and while following polls the key until it is gone (lease
 * expired, revoked, deleted) to campaign again. It steps down when the
 * lease is gone, when keepalives fail for longer than the lease lasts, or
 * when the writer reports a refused fenced write (elect_refused). On stop
 * it revokes its lease (elect_stop, after the writer stopped), so a
 * follower takes over at once.
 *
 * The writer thread asks elect_fence() before each step: it sets the
 * writer's client fence (etcd_set_fence: LEASE(leader) == lease) on every
 * change of role, so a writer that lost the lease can write nothing.
 * Owned by main.c; an elect is shared by the election and writer threads.
 */
#ifndef K2S_ELECT_H
#define K2S_ELECT_H

#include <stdatomic.h>
#include <stdbool.h>

struct etcd_opts;
struct etcd_client;
struct metrics;
struct elect;

/* Start the election thread: own client from eo, key from prefix and zone,
 * `id` the value written (the marker id). Registers the gauge "leader" in
 * reg. *stop ends the thread (the lease is revoked then). */
int elect_start(const struct etcd_opts *eo, const char *prefix, const char *zone,
		const char *id, unsigned ttl_s, const atomic_bool *stop, struct metrics *reg,
		struct elect **out);
/* Joins the thread (*stop must be true already) and frees. NULL is fine. */
void elect_stop(struct elect *e);

/* For the writer thread: is this process the leader now? Keeps the
 * writer's client `etcd` fenced on the current lease (cleared when
 * following). *fresh is true on the first call after becoming leader (the
 * caller re-reads etcd and syncs everything). e NULL (etcd v2: no
 * election) always leads, unfenced. */
bool elect_fence(struct elect *e, struct etcd_client *etcd, bool *fresh);

/* The writer got SKY_ECONFLICT from a fenced write: another kube2sky leads.
 * Stops writing at once (the next elect_fence says false) and has the
 * election thread step down. Returns true when e was fencing (false: v2,
 * not an election matter). */
bool elect_refused(struct elect *e);

/* For /readyz and the gauge. */
bool elect_leading(struct elect *e);
/* True while another kube2sky is seen to lead (not before the first look,
 * so a lone kube2sky is not ready before its first sync). */
bool elect_following(struct elect *e);

#endif
