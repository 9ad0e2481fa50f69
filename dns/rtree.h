/* rtree.h - a persistent B+tree of records in path order (record.h).
 *
 * A tree is a root pointer (NULL = empty). The writer changes its tree with
 * rtree_put()/rtree_del(), which copy only the nodes on the path they touch
 * when those nodes are shared with another tree (copy-on-write, as Knot's
 * qp-trie does): a change costs O(log n) whatever the size. rtree_share()
 * takes a reference on a root for a reader-visible version that then never
 * changes; the writer's next change copies what it needs. Nodes and records
 * are reference-counted atomically, so a version may be released on any
 * thread. Only one thread at a time may change a given writer root.
 *
 * Ownership: rtree_put() takes its own reference on the record; the caller
 * keeps its own. Every root obtained (the writer's, or rtree_share()'s) is
 * released with rtree_release().
 */
#ifndef SKYDNS_RTREE_H
#define SKYDNS_RTREE_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

struct rnode;

#define RTREE_MAX_HEIGHT 12

/* A walk over the records of one subtree (see rtree_range). A value type:
 * a copy restarts from the copy's position. */
struct rtree_iter {
	const struct rnode *node[RTREE_MAX_HEIGHT];
	uint16_t idx[RTREE_MAX_HEIGHT];
	int height; /* 0: the walk is over */
	const char *path;
	size_t pathlen;
};

/* Insert r, or replace the record with r's path. 0 or SKY_ENOMEM (then the
 * tree holds what it held before). */
int rtree_put(struct rnode **root, const struct record *r);

/* Remove the record at path. 0, SKY_ENOTFOUND (tree unchanged) or
 * SKY_ENOMEM (tree unchanged). */
int rtree_del(struct rnode **root, const char *path, size_t pathlen);

/* Another reference to the version `root` is now: the writer's later
 * changes never show through it. NULL stays NULL. */
struct rnode *rtree_share(struct rnode *root);
void rtree_release(struct rnode *root);

size_t rtree_count(const struct rnode *root);

/* The record at exactly path, or NULL. */
const struct record *rtree_get(const struct rnode *root, const char *path, size_t pathlen);

/* Start a walk over the records at or below path ("a/b" matches "a/b" and
 * "a/b/c", not "a/bc"; pathlen 0: every record), in path order. `path` must
 * stay valid while the walk runs; the tree must outlive it. */
void rtree_range(const struct rnode *root, const char *path, size_t pathlen,
		 struct rtree_iter *it);
/* The next record of the walk, or NULL at its end. */
const struct record *rtree_next(struct rtree_iter *it);

/* For tests: check order, counts, separators and fill; 0 or SKY_EINVAL. */
int rtree_check(const struct rnode *root);

#endif
