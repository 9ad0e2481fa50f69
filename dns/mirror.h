/* mirror.h - the in-memory mirror of etcd: a thread that reads the whole
 * prefix, follows the watch, and publishes a new immutable snapshot (records
 * + effective config) to a snapstore after each batch of changes.
 *
 * - A key that cannot be answered is skipped with one log line naming the
 *   key and the reason, once per version of the key, and counted in stats
 *   (stats.h, enum stat_skip): a value that is not service JSON, a key
 *   whose name is not a DNS name (dname.h: a label over 63 bytes, an empty
 *   label, a name over 255 bytes), a host that is neither an address nor a
 *   name. Everything else is published, so one bad key does not fail the
 *   answers of its directories.
 * - /<prefix>/config is applied on top of the base config (flags/env) on
 *   every change; a bad document is logged and the previous config kept.
 * - Keys under /<prefix>/kube2sky/ are kube2sky's zone markers (marker.h),
 *   never records: each one that parses goes into the snapshot as a managed
 *   zone (snapshot_managed_at); a bad one is logged once and ignored; a
 *   deleted one stops managing its zone.
 * - Key TTLs/leases become record.expires; a record past its expiry is not
 *   answered (the resolver checks it per query) even before etcd reports the
 *   delete; when the earliest expiry passes, the mirror asks etcd whether
 *   the key was refreshed without an event (v3 keepalive, v2 refresh).
 * - Each batch of changes is published as soon as it is applied: the
 *   records live in a persistent tree (rtree.h) that a change copies
 *   O(log n) nodes of and a publish shares, at any number of records.
 * - On compaction / v2 "index cleared": re-read and carry on.
 * - While etcd is unreachable, the last snapshot stays published; the thread
 *   reconnects with jittered exponential backoff (100 ms .. 5 s).
 * - A new store (revision backwards, cluster ID changed, kube2sky's sync
 *   marker /<prefix>/kube2sky/<zone> gone) is not published until it holds
 *   a marker again or new_store_grace passes; the old snapshot stays.
 */
#ifndef SKYDNS_MIRROR_H
#define SKYDNS_MIRROR_H

#include <stdbool.h>
#include <stdint.h>

struct config;
struct snapstore;
struct stats;
struct mirror;

/* Start the thread. `base` is copied; `stats` (may be NULL) is borrowed
 * and must outlive mirror_stop(). Returns SKY_* code. */
int mirror_start(const struct config *base, struct snapstore *store, struct stats *stats,
		 struct mirror **out);

/* Block until the first snapshot is published or timeout_ms passes; true if
 * published. */
bool mirror_wait_ready(struct mirror *m, int timeout_ms);

/* Health: is the watch connected right now; unix time of the last successful
 * contact with etcd. */
bool mirror_connected(const struct mirror *m);
int64_t mirror_last_contact(const struct mirror *m);

/* How many times etcd turned out to be a new store (see above). */
uint64_t mirror_new_stores(const struct mirror *m);

/* Ask to re-read the config key now (SIGHUP). Thread-safe. */
void mirror_reload(struct mirror *m);

/* Stop the thread and join it. The published snapshot stays in the store. */
void mirror_stop(struct mirror *m);

#endif
