/* mirror_table.c - the mirror's table (see mirror_int.h): every key under
 * the prefix by path in a hash, for the watcher's lookups, and the good
 * records in a persistent tree in path order (rtree.h), which is what a
 * snapshot publishes. A change is applied to both at once, so a publish
 * copies nothing. */
#include "mirror_int.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "health.h"
#include "record.h"
#include "rtree.h"



static size_t hash_path(const char *s)
{
	size_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void entry_free(struct entry *e)
{
	record_unref(e->rec);
	free(e->own_path);
	free(e);
}

/* The status list: table_health reads only these entries, so a status
 * change costs O(statuses), not a walk of 100k records. */
static int st_reserve(struct table *t)
{
	if (t->nst < t->stcap)
		return 0;
	size_t cap = t->stcap ? 2 * t->stcap : 16;
	struct entry **v = cap <= UINT32_MAX ? realloc(t->st, cap * sizeof *v) : NULL;
	if (!v)
		return SKY_ENOMEM;
	t->st = v;
	t->stcap = cap;
	return 0;
}

/* Unlink e from the table's bookkeeping before it is freed. */
static void st_forget(struct table *t, struct entry *e)
{
	if (!e->status)
		return;
	t->health_changed = true;
	struct entry *last = t->st[--t->nst];
	t->st[e->sidx] = last;
	last->sidx = e->sidx;
}

void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nb; i++)
		for (struct entry *e = t->b[i], *n; e; e = n) {
			n = e->next;
			entry_free(e);
		}
	free(t->b);
	free(t->st);
	rtree_release(t->tree);
	memset(t, 0, sizeof *t);
}

static int table_grow(struct table *t)
{
	size_t nb = t->nb ? t->nb * 2 : 1024;
	struct entry **b = calloc(nb, sizeof *b);
	if (!b)
		return SKY_ENOMEM;
	for (size_t i = 0; i < t->nb; i++)
		for (struct entry *e = t->b[i], *n; e; e = n) {
			n = e->next;
			size_t h = hash_path(e->path) & (nb - 1);
			e->next = b[h];
			b[h] = e;
		}
	free(t->b);
	t->b = b;
	t->nb = nb;
	return 0;
}

struct entry **table_slot(const struct table *t, const char *path)
{
	if (!t->nb)
		return NULL;
	struct entry **pp = &t->b[hash_path(path) & (t->nb - 1)];
	while (*pp && strcmp((*pp)->path, path) != 0)
		pp = &(*pp)->next;
	return pp;
}

const struct entry *table_get(const struct table *t, const char *path)
{
	struct entry **pp = table_slot(t, path);
	return pp ? *pp : NULL;
}

/* The tree's side of a put or delete at path; ENOTFOUND is no error. */
static int tree_set(struct table *t, const char *path, const struct record *rec)
{
	if (rec)
		return rtree_put(&t->tree, rec);
	int rc = rtree_del(&t->tree, path, strlen(path));
	return rc == SKY_ENOTFOUND ? 0 : rc;
}

/* Insert or replace; takes e (freed on failure, the table unchanged). */
int table_put(struct table *t, struct entry *e)
{
	if (((t->count + 1) * 4 > t->nb * 3 && table_grow(t) != 0) ||
	    (e->status && st_reserve(t) != 0) || tree_set(t, e->path, e->rec) != 0) {
		entry_free(e);
		return SKY_ENOMEM;
	}
	struct entry **pp = table_slot(t, e->path);
	if (*pp) {
		e->next = (*pp)->next;
		t->nbad -= !(*pp)->rec;
		st_forget(t, *pp);
		entry_free(*pp);
		t->count--;
	} else {
		e->next = NULL;
	}
	*pp = e;
	t->count++;
	t->nbad += !e->rec;
	if (e->status) {
		e->sidx = (uint32_t)t->nst;
		t->st[t->nst++] = e;
		t->health_changed = true;
	}
	if (e->rec && e->expires && (!t->next_expiry || e->expires < t->next_expiry))
		t->next_expiry = e->expires;
	return 0;
}

int table_del(struct table *t, const char *path)
{
	struct entry **pp = table_slot(t, path);
	if (!pp || !*pp)
		return 0;
	if (tree_set(t, path, NULL) != 0)
		return SKY_ENOMEM;
	struct entry *e = *pp;
	*pp = e->next;
	t->nbad -= !e->rec;
	st_forget(t, e);
	entry_free(e);
	t->count--;
	return 0;
}

/* The DOWN addresses of the status entries, when they changed. NULL with
 * *changed false when nothing changed; on ENOMEM the old set stays. */
struct health *table_health(struct table *t, bool *changed)
{
	*changed = false;
	if (!t->health_changed)
		return NULL;
	size_t n = 0, cap = 0;
	struct health_addr *v = NULL;
	for (size_t i = 0; i < t->nst; i++) {
		const struct entry *e = t->st[i];
		struct health_addr a;
		if (!e->down || health_key_addr(e->path, &a) != 0)
			continue;
		if (n == cap) {
			struct health_addr *nv = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof *v);
			if (!nv) {
				free(v);
				return NULL;
			}
			v = nv;
		}
		v[n++] = a;
	}
	struct health *h = health_new(v, n);
	free(v);
	if (h) {
		t->health_changed = false;
		*changed = true;
	}
	return h;
}

/* A refreshed TTL: the entry's record is replaced by one with the new expiry. */
int table_set_expires(struct table *t, struct entry *e, int64_t expires)
{
	struct record *r = record_with_expires(e->rec, expires);
	if (!r || rtree_put(&t->tree, r) != 0) {
		record_unref(r);
		return SKY_ENOMEM;
	}
	record_unref(e->rec);
	e->rec = r;
	e->path = r->path; /* the old record may go with the last snapshot holding it */
	e->expires = expires;
	if (expires && (!t->next_expiry || expires < t->next_expiry))
		t->next_expiry = expires;
	return 0;
}

/* The earliest expiry after now, by a walk (only when an expiry fired). */
void table_scan_expiry(struct table *t, int64_t now)
{
	t->next_expiry = 0;
	for (size_t i = 0; i < t->nb; i++)
		for (const struct entry *e = t->b[i]; e; e = e->next)
			if (e->rec && e->expires > now &&
			    (!t->next_expiry || e->expires < t->next_expiry))
				t->next_expiry = e->expires;
}

/* v2 directory delete/expire: everything at or below path ("" = all).
 * The records below come from the tree's ordered walk, so a leaf's delete
 * costs O(log n); only bad entries (rare, not in the tree) need the hash. */
int table_del_tree(struct table *t, const char *path)
{
	size_t n = strlen(path);
	int rc = table_del(t, path);
	for (const struct record *r; rc == 0;) {
		struct rtree_iter it;
		rtree_range(t->tree, path, n, &it);
		if (!(r = rtree_next(&it)))
			break;
		char *p = strdup(r->path); /* r goes with its entry */
		struct entry **pp = p ? table_slot(t, p) : NULL;
		rc = !p ? SKY_ENOMEM : pp && *pp ? table_del(t, p) : tree_set(t, p, NULL);
		free(p);
	}
	for (size_t i = 0; rc == 0 && t->nbad && i < t->nb; i++)
		for (struct entry **pp = &t->b[i]; *pp;) {
			const char *p = (*pp)->path;
			if (!(*pp)->rec &&
			    (n == 0 || (strncmp(p, path, n) == 0 && (p[n] == '\0' || p[n] == '/')))) {
				struct entry *e = *pp;
				*pp = e->next;
				st_forget(t, e);
				entry_free(e);
				t->count--;
				t->nbad--;
			} else {
				pp = &(*pp)->next;
			}
		}
	return rc;
}
