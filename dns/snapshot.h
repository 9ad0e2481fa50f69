/* snapshot.h - an immutable, sorted view of every SkyDNS record in etcd plus
 * the effective configuration, as published by the mirror (etcd watcher).
 *
 * The read path (resolve) only ever sees a `const struct snapshot *`; nothing
 * in it changes after snapshot_builder_finish(). Records are addressed by
 * relative path (see msg.h). Paths are ordered so that a path and everything
 * below it form one contiguous range: '/' sorts before every other byte, so
 * "a/b" < "a/b/c" < "a/b-x".
 *
 * Records live in a persistent tree (rtree.h) shared with the mirror and with
 * other snapshots, so publishing a change costs O(log n), not a rebuild.
 *
 * Ownership: the builder copies what it is given; a snapshot holds one
 * reference to its tree and owns its config and zone list; it is freed with
 * snapshot_free() by whoever owns it (normally the snapstore, see
 * snapstore.h), on any thread.
 */
#ifndef SKYDNS_SNAPSHOT_H
#define SKYDNS_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "record.h"
#include "rtree.h"

struct config;
struct marker;


struct snapshot;
struct snapshot_builder;

struct snapshot_builder *snapshot_builder_new(void);

/* Copy (path, svc, expires) into the builder. A second add of the same path
 * replaces the first. SKY_ENOMEM on failure. */
int snapshot_builder_add(struct snapshot_builder *b, const char *path, size_t pathlen,
			 const struct service *svc, int64_t expires);

/* Record a zone kube2sky manages (its marker, see marker.h; copied). A
 * second marker for the same zone replaces the first. SKY_ENOMEM. */
int snapshot_builder_add_managed(struct snapshot_builder *b, const struct marker *m);

/* Sort and freeze. Takes ownership of cfg (a heap config, freed with the
 * snapshot; may be NULL in unit tests, then config_defaults() are used).
 * `prefix_depth` = number of '/' in "/<prefix>" (1 for "skydns"), used for
 * record.depth. The builder is consumed in all cases. NULL on ENOMEM. */
struct snapshot *snapshot_builder_finish(struct snapshot_builder *b, struct config *cfg,
					 uint64_t revision, unsigned prefix_depth);

void snapshot_builder_free(struct snapshot_builder *b);

/* A snapshot of an existing tree (the mirror's way): takes the reference
 * `root` (from rtree_share()) and cfg (a heap config, NULL = defaults);
 * copies the nmanaged markers. NULL on ENOMEM, and root and cfg are released
 * then too. */
struct snapshot *snapshot_new(struct rnode *root, struct config *cfg, uint64_t revision,
			      const struct marker *managed, size_t nmanaged);
void snapshot_free(struct snapshot *s);

/* Before publishing: the DOWN addresses (health.h) its answers leave out;
 * the snapshot takes its own reference. NULL (the default): none. */
struct health;
void snapshot_set_health(struct snapshot *s, const struct health *h);
const struct health *snapshot_health(const struct snapshot *s);

const struct config *snapshot_config(const struct snapshot *s);
uint64_t snapshot_revision(const struct snapshot *s);
/* A number no other snapshot of this process has (publish order): tells
 * two snapshots apart even when their revision is the same. */
uint64_t snapshot_serial(const struct snapshot *s);
size_t snapshot_count(const struct snapshot *s);
int64_t snapshot_created(const struct snapshot *s); /* unix seconds of finish() */

/* The zones kube2sky manages, sorted by zone name: how many, and the i-th
 * marker (owned by the snapshot). */
size_t snapshot_managed_count(const struct snapshot *s);
const struct marker *snapshot_managed_at(const struct snapshot *s, size_t i);

/* Walk the records whose path equals `path` or lies below it ("a/b" matches
 * "a/b" and "a/b/c", not "a/bc"), in path order: start with snapshot_range(),
 * then snapshot_next() until NULL. pathlen 0 walks the whole snapshot. `path`
 * must outlive the walk. */
void snapshot_range(const struct snapshot *s, const char *path, size_t pathlen,
		    struct rtree_iter *it);
const struct record *snapshot_next(struct rtree_iter *it);

/* The record at exactly `path`, or NULL. */
const struct record *snapshot_get(const struct snapshot *s, const char *path, size_t pathlen);

#endif
