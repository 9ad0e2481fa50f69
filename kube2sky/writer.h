/* writer.h - applies translated records to etcd as a minimal diff against
 * what kube2sky owns there.
 *
 * The writer keeps a view of every owned key (read from etcd by
 * writer_load(): the zone's svc/ tree, PTRs in the reverse trees whose
 * target is inside it, dns-version) and which service each key belongs to.
 * writer_sync() brings one service's keys to a desired set: puts first
 * (new and changed values), then deletes (keys it no longer wants), so a
 * name never disappears while it is being updated; unchanged keys are not
 * touched. A key wanted by two services (a pod behind two headless
 * services gives two PTRs for one address) is written by the first and
 * rewritten by another only after the first lets it go (writer_take_orphans).
 * Not thread-safe: one writer thread.
 */
#ifndef K2S_WRITER_H
#define K2S_WRITER_H

#include <stdbool.h>
#include <stddef.h>

#include "translate.h"

struct etcd_client;
struct writer;

struct writer_stats {
	unsigned long puts, deletes, errors;  /* errors: every failed etcd request */
	unsigned long put_errors, delete_errors;
	unsigned long keys;                   /* keys in the view (owned in etcd) */
};

/* etcd is borrowed; opts is copied. */
int writer_new(struct etcd_client *etcd, const struct translate_opts *opts, struct writer **out);
void writer_free(struct writer *w);

/* (Re)read every owned key from etcd, replacing the view. On error the old
 * view is kept. Returns 0 or the etcd error. */
int writer_load(struct writer *w);

/* Bring service `svc` ("ns/name"; "" = the global records) to `desired`.
 * Stops at the first etcd error and returns it; what was applied before the
 * error is remembered, so a retry only does the rest. */
int writer_sync(struct writer *w, const char *svc, const struct k2s_recset *desired);

/* Batches (for etcd v3, where etcd_batch sends many writes per txn):
 * after writer_begin(), writer_sync() only plans: it updates the view as if
 * its writes had landed and queues them; writer_flush() sends the queue in
 * order (each service's puts before its deletes, so a name is never
 * missing) and returns 0 or the etcd error; *ops (may be NULL) gets how
 * many writes were queued. After a failed flush the view is ahead of etcd:
 * the caller must writer_load() before the next sync. writer_sync() errors
 * in batch mode are SKY_ENOMEM only. Batches skip the v2 directory tidying
 * (v3 has no directories): do not use them on v2. */
void writer_begin(struct writer *w);
int writer_flush(struct writer *w, size_t *ops);
/* Writes queued in the current batch so far. */
size_t writer_queued(const struct writer *w);

/* Owners ("ns/name") present in the view, for garbage collection: calls cb
 * for each owner that `live` does not know. live(arg, owner) returns true
 * for services that exist. Then writer_sync(owner, empty) removes them. */
typedef bool (*writer_live_fn)(void *arg, const char *owner);
int writer_stale_owners(struct writer *w, writer_live_fn live, void *arg,
			char ***owners, int *n);

/* Keys a removed service let go of while other services still want them
 * keep the old value until one of those services writes its own: cb gets
 * each such service once, so the caller can mark it for a sync. */
void writer_take_orphans(struct writer *w, void (*cb)(void *arg, const char *svc), void *arg);

void writer_get_stats(const struct writer *w, struct writer_stats *st);

#endif
