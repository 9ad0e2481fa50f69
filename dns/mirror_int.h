/* mirror_int.h - the mirror's internals shared by mirror.c, mirror_marks.c
 * (kube2sky zone markers: keys under /<prefix>/kube2sky/, see marker.h) and
 * mirror_table.c (every other key). Only the mirror's watcher thread writes
 * a `struct marks` or a `struct table`; the publisher reads them under the
 * mirror's lock. */
#ifndef SKYDNS_MIRROR_INT_H
#define SKYDNS_MIRROR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "marker.h"

struct etcd_kv;
struct health;
struct record;
struct rnode;

/* kube2sky's zone markers (keys under kube2sky/, see marker.h): not records,
 * a few at most, so a plain array. */
struct mark {
	char *path;
	struct marker m;
	uint64_t mod_revision;
	bool bad; /* value did not parse: kept only to log it once */
};

struct marks {
	struct mark *v;
	size_t n;
};

/* Free every mark (ms is left empty and reusable). */
void marks_free(struct marks *ms);
/* The mark at path, or NULL; valid until the next put/del. */
struct mark *marks_get(const struct marks *ms, const char *path);
/* Parse kv into *out (out->path malloc'd); a value that does not parse
 * gives a `bad` mark, logged once per modification (`old`: the mark it
 * replaces). 0 or SKY_ENOMEM. */
int mark_make(const char *path, const struct etcd_kv *kv, const struct mark *old,
	      struct mark *out);
/* Insert or replace; takes mk (freed on failure). With `log`, says when a
 * zone starts or stops being managed. 0 or SKY_ENOMEM. */
int marks_put(struct marks *ms, struct mark *mk, bool log);
/* Remove the mark at path, or with `tree` (a v2 directory delete) every
 * mark at or below it ("" = all). */
void marks_del(struct marks *ms, const char *path, bool tree);
/* True if any mark parsed: kube2sky's sync is in this store. */
bool marks_valid(const struct marks *ms);
/* After a full read: one log line per zone that started or stopped being
 * managed between `before` and `after`. */
void marks_log_changes(const struct marks *before, const struct marks *after);

/* ------------------------------------------------------------ table
 * (mirror_table.c) Only the watcher thread changes a table; the publisher
 * reads it under the mirror's lock. */
/* The table maps every key under the prefix to its entry (hash, for the
 * watcher's lookups) and keeps the good records in a persistent tree in
 * path order (rtree.h): the tree is what a snapshot publishes, so a change
 * is applied to both at once and a publish copies nothing. */
struct entry {
	struct entry *next;
	const char *path;    /* relative path: rec->path, or own_path */
	char *own_path;      /* only for entries without a record */
	struct record *rec;  /* the published record; NULL when bad or a status */
	int64_t expires;
	uint64_t mod_revision;
	bool bad;         /* skipped (see check_entry): kept only to log it once */
	bool down;        /* a status key (is_status) saying DOWN */
	bool status;      /* a health status key: no record, read by table_health */
	bool exp_checked; /* expiry passed and etcd confirmed it (or was down) */
	uint32_t sidx;    /* a status entry's index in table.st (fits the padding) */
};

struct table {
	struct entry **b;
	size_t nb, count, nbad; /* nbad: entries without a record (bad, status) */
	bool health_changed;    /* a status entry came or went since table_health */
	struct entry **st;      /* the status entries, so table_health need not walk */
	size_t nst, stcap;      /* every key (statuses are few, records many) */
	struct rnode *tree;  /* the good records, in path order */
	int64_t next_expiry; /* a lower bound of the earliest future expiry; 0 = none */
};

/* Free every entry and the tree (t is left empty and reusable). */
void table_free(struct table *t);
/* The link that holds (or would hold) path's entry; NULL when empty. */
struct entry **table_slot(const struct table *t, const char *path);
const struct entry *table_get(const struct table *t, const char *path);
/* Insert or replace; takes e (freed on failure, the table unchanged). */
int table_put(struct table *t, struct entry *e);
/* Remove path's entry and its record; 0 or SKY_ENOMEM. */
int table_del(struct table *t, const char *path);
/* The DOWN set of the status entries when they changed since the last
 * call (*changed), else NULL; one reference to the caller. */
struct health *table_health(struct table *t, bool *changed);
/* A refreshed TTL: the entry's record is replaced by one with the new expiry. */
int table_set_expires(struct table *t, struct entry *e, int64_t expires);
/* Recompute next_expiry by a walk (only when an expiry fired). */
void table_scan_expiry(struct table *t, int64_t now);
/* v2 directory delete: everything at or below path ("" = all). */
int table_del_tree(struct table *t, const char *path);

#endif
