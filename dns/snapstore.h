/* snapstore.h - atomic publication of snapshots to lock-free readers.
 *
 * One writer (the mirror) publishes; N readers (server workers, each with a
 * fixed reader index) enter/leave around each query. Readers never block and
 * never take a lock: enter is two atomic loads and a store. Old snapshots are
 * freed by the writer once no reader can still hold them (quiescent-state
 * reclamation on a global generation counter).
 *
 * Ownership: publish() takes the snapshot; the store frees it once it has
 * been replaced and no reader holds it, or in snapstore_free().
 */
#ifndef SKYDNS_SNAPSTORE_H
#define SKYDNS_SNAPSTORE_H

#include "snapshot.h"

struct snapstore;

/* nreaders: how many reader slots (indices 0..nreaders-1). NULL on ENOMEM. */
struct snapstore *snapstore_new(unsigned nreaders);
void snapstore_free(struct snapstore *st);

/* Writer side (one thread at a time). */
void snapstore_publish(struct snapstore *st, struct snapshot *snap);

/* Reader side: the current snapshot (NULL before the first publish). Valid
 * until snapstore_leave() with the same reader index. Not re-entrant per
 * reader index. */
const struct snapshot *snapstore_enter(struct snapstore *st, unsigned reader);
void snapstore_leave(struct snapstore *st, unsigned reader);

/* Any thread: a peek without a reader slot, for metrics/health only (returns
 * revision and created time of the current snapshot; 0/0 if none). */
void snapstore_info(struct snapstore *st, uint64_t *revision, int64_t *created, size_t *count);
/* Addresses marked DOWN in the latest published snapshot (health.h). */
size_t snapstore_down(struct snapstore *st);

#endif
