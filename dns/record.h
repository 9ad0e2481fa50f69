/* record.h - one SkyDNS record as the read path sees it: immutable, shared
 * by reference between snapshots, freed when the last holder lets go.
 *
 * A record is one allocation (header, path and service strings). Holders
 * (the mirror's table, every rtree node that lists it) take a reference with
 * record_ref() and drop it with record_unref(); counts are atomic, so a
 * snapshot retired on one thread may free records another thread shares.
 *
 * Path order: bytes compare as unsigned, except that '/' sorts below every
 * other byte. Then a path and its subtree are one contiguous run ("a/b",
 * "a/b/c" come before "a/b-x" and "a/bc").
 */
#ifndef SKYDNS_RECORD_H
#define SKYDNS_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"

struct record {
	const char *path;  /* relative path, e.g. "local/skydns/east/rails/1" */
	uint32_t pathlen;
	uint32_t depth;    /* number of '/' in the full etcd key (for groups) */
	int64_t expires;   /* unix seconds when the etcd key's TTL/lease ends; 0 = never */
	struct service svc;
};

/* A new record with one reference held by the caller; path and svc's
 * strings are copied. `prefix_depth` = number of '/' in "/<prefix>" (1 for
 * "skydns"), used for depth. NULL on ENOMEM or a path over 4 GiB. */
struct record *record_new(const char *path, size_t pathlen, const struct service *svc,
			  int64_t expires, unsigned prefix_depth);

/* The same record with another expiry (a refreshed TTL): a new record,
 * one reference to the caller. NULL on ENOMEM. */
struct record *record_with_expires(const struct record *r, int64_t expires);

void record_ref(const struct record *r);
/* Drop one reference; the last frees it. NULL is a no-op. */
void record_unref(const struct record *r);

/* The path order above: <0, 0, >0. */
int record_path_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* Where r lies relative to the subtree of p: -1 before, 0 inside (r == p or
 * r starts with p + '/'), 1 after. Monotone over the path order; plen 0
 * puts every record inside. */
int record_subtree_cmp(const struct record *r, const char *p, size_t plen);

#endif
