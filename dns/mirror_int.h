/* mirror_int.h - the mirror's table of kube2sky zone markers (keys under
 * /<prefix>/kube2sky/, see marker.h), shared by mirror.c and
 * mirror_marks.c. Only the mirror's watcher thread writes a `struct marks`;
 * the publisher reads it under the mirror's lock. */
#ifndef SKYDNS_MIRROR_INT_H
#define SKYDNS_MIRROR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "marker.h"

struct etcd_kv;

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

#endif
