/* mirror_marks.c - kube2sky's zone markers as the mirror keeps them: a
 * few at most, so a plain array (see mirror_int.h). */
#include "mirror_int.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "etcd.h"
#include "log.h"

void marks_free(struct marks *ms)
{
	for (size_t i = 0; i < ms->n; i++)
		free(ms->v[i].path);
	free(ms->v);
	memset(ms, 0, sizeof *ms);
}

struct mark *marks_get(const struct marks *ms, const char *path)
{
	for (size_t i = 0; i < ms->n; i++)
		if (strcmp(ms->v[i].path, path) == 0)
			return &ms->v[i];
	return NULL;
}

/* Parse kv into a mark; a bad value is logged once per modification (`old`
 * is the mark it replaces). */
int mark_make(const char *path, const struct etcd_kv *kv, const struct mark *old,
		     struct mark *out)
{
	const char *why = NULL;
	memset(out, 0, sizeof *out);
	if (!(out->path = strdup(path)))
		return SKY_ENOMEM;
	out->mod_revision = kv->mod_revision;
	if (marker_parse(path, kv->value, kv->value_len, &out->m, &why) != 0) {
		out->bad = true;
		if (!(old && old->bad && old->mod_revision == kv->mod_revision && kv->mod_revision))
			log_warn("mirror", "ignoring zone marker key=%s: %s", kv->key, why);
	}
	return 0;
}

static void log_managed(const struct mark *mk, bool managed)
{
	if (managed)
		log_info("mirror", "zone managed by kube2sky: answers follow the Kubernetes DNS spec zone=%s",
			 mk->m.zone);
	else
		log_info("mirror", "zone marker gone: SkyDNS directory answers again zone=%s", mk->m.zone);
}

/* Insert or replace; takes mk (freed on failure). With `log`, says when a
 * zone starts or stops being managed (not on every resync's update). */
int marks_put(struct marks *ms, struct mark *mk, bool log)
{
	struct mark *old = marks_get(ms, mk->path);
	if (log && !mk->bad && (!old || old->bad))
		log_managed(mk, true);
	else if (log && mk->bad && old && !old->bad)
		log_managed(old, false);
	if (old) {
		free(old->path);
		*old = *mk;
		return 0;
	}
	struct mark *nv = realloc(ms->v, (ms->n + 1) * sizeof *nv);
	if (!nv) {
		free(mk->path);
		return SKY_ENOMEM;
	}
	ms->v = nv;
	ms->v[ms->n++] = *mk;
	return 0;
}

/* Remove the mark at path, or with `tree` (a v2 directory delete) every
 * mark at or below it ("" = all). */
void marks_del(struct marks *ms, const char *path, bool tree)
{
	size_t n = strlen(path), k = 0;
	for (size_t i = 0; i < ms->n; i++) {
		const char *p = ms->v[i].path;
		bool hit = strcmp(p, path) == 0 ||
			   (tree && (n == 0 || (strncmp(p, path, n) == 0 && p[n] == '/')));
		if (!hit) {
			ms->v[k++] = ms->v[i];
			continue;
		}
		if (!ms->v[i].bad)
			log_managed(&ms->v[i], false);
		free(ms->v[i].path);
	}
	ms->n = k;
}

/* Markers that parsed: kube2sky's sync is in this store. */
bool marks_valid(const struct marks *ms)
{
	for (size_t i = 0; i < ms->n; i++)
		if (!ms->v[i].bad)
			return true;
	return false;
}

/* After a full read: one line per zone that started or stopped being
 * managed. */
void marks_log_changes(const struct marks *before, const struct marks *after)
{
	for (size_t i = 0; i < after->n; i++) {
		const struct mark *a = &after->v[i], *b = marks_get(before, a->path);
		if (!a->bad && (!b || b->bad))
			log_managed(a, true);
	}
	for (size_t i = 0; i < before->n; i++) {
		const struct mark *b = &before->v[i], *a = marks_get(after, b->path);
		if (!b->bad && (!a || a->bad))
			log_managed(b, false);
	}
}
