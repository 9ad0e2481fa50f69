#include "writer.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "etcd.h"
#include "strmap.h"

struct writer {
	struct etcd_client *etcd;
	struct translate_opts opts;
	char *prefix, *zone;
	struct strmap *value;   /* key -> value in etcd (char *) */
	struct strmap *owner;   /* key -> service whose value it is (char *) */
	struct strmap *claims;  /* service -> strmap set of keys it wants/has */
	struct strmap *nclaims; /* key -> number of services claiming it (intptr_t) */
	struct strmap *orphans; /* keys whose owner let go while others claim them */
	struct writer_stats st;
	bool batching;          /* between writer_begin and writer_flush */
	struct etcd_op *ops;    /* the batch's writes, key and value malloc'd */
	size_t nops, capops;
};

static void free_set(void *p)
{
	strmap_free(p);
}

static int new_maps(struct strmap **value, struct strmap **owner, struct strmap **claims,
		    struct strmap **nclaims)
{
	*value = strmap_new(free);
	*owner = strmap_new(free);
	*claims = strmap_new(free_set);
	*nclaims = strmap_new(NULL);
	if (*value && *owner && *claims && *nclaims)
		return 0;
	strmap_free(*value);
	strmap_free(*owner);
	strmap_free(*claims);
	strmap_free(*nclaims);
	return SKY_ENOMEM;
}

int writer_new(struct etcd_client *etcd, const struct translate_opts *opts, struct writer **out)
{
	struct writer *w = calloc(1, sizeof *w);
	if (!w)
		return SKY_ENOMEM;
	w->etcd = etcd;
	w->opts = *opts;
	w->prefix = strdup(opts->prefix);
	w->zone = strdup(opts->zone);
	w->opts.prefix = w->prefix;
	w->opts.zone = w->zone;
	w->orphans = strmap_new(NULL);
	if (!w->prefix || !w->zone || !w->orphans ||
	    new_maps(&w->value, &w->owner, &w->claims, &w->nclaims)) {
		strmap_free(w->orphans);
		free(w->prefix);
		free(w->zone);
		free(w);
		return SKY_ENOMEM;
	}
	*out = w;
	return 0;
}

static void drop_ops(struct writer *w)
{
	for (size_t i = 0; i < w->nops; i++) {
		free((char *)w->ops[i].key);
		free((char *)w->ops[i].value);
	}
	w->nops = 0;
}

void writer_free(struct writer *w)
{
	if (!w)
		return;
	drop_ops(w);
	free(w->ops);
	strmap_free(w->value);
	strmap_free(w->owner);
	strmap_free(w->claims);
	strmap_free(w->nclaims);
	strmap_free(w->orphans);
	free(w->prefix);
	free(w->zone);
	free(w);
}

static int claim(struct writer *w, const char *svc, const char *key)
{
	struct strmap *set = strmap_get(w->claims, svc);
	if (!set) {
		if (!(set = strmap_new(NULL)) || strmap_put(w->claims, svc, set)) {
			strmap_free(set);
			return SKY_ENOMEM;
		}
	}
	if (strmap_has(set, key))
		return 0;
	int rc = strmap_put(set, key, NULL);
	if (!rc)
		rc = strmap_put(w->nclaims, key, (void *)((intptr_t)strmap_get(w->nclaims, key) + 1));
	return rc;
}

static void unclaim(struct writer *w, const char *svc, const char *key)
{
	struct strmap *set = strmap_get(w->claims, svc);
	if (!set || !strmap_has(set, key))
		return;
	strmap_del(set, key);
	intptr_t n = (intptr_t)strmap_get(w->nclaims, key) - 1;
	if (n > 0)
		strmap_put(w->nclaims, key, (void *)n);
	else
		strmap_del(w->nclaims, key);
}

/* Record one key found in etcd in a fresh view (a struct writer copy
 * whose maps are new). */
static int record_loaded(struct writer *w, const char *key, const char *value)
{
	char owner[512];
	if (translate_owner(&w->opts, key, value, owner, sizeof owner) != 0)
		return 0; /* not kube2sky's */
	char *v = strdup(value), *o = strdup(owner);
	if (!v || !o) {
		free(v);
		free(o);
		return SKY_ENOMEM;
	}
	int rc = strmap_put(w->value, key, v);
	if (rc)
		free(v);
	if (!rc && (rc = strmap_put(w->owner, key, o)))
		free(o);
	if (rc)
		return rc;
	return claim(w, owner, key);
}

static int load_cb(void *arg, const struct etcd_kv *kv)
{
	return record_loaded(arg, kv->key, kv->value ? kv->value : "");
}

int writer_load(struct writer *w)
{
	struct writer tmp = *w;
	if (new_maps(&tmp.value, &tmp.owner, &tmp.claims, &tmp.nclaims))
		return SKY_ENOMEM;
	char pre[3][512];
	int n = translate_owned_prefixes(&w->opts, pre, 3), rc = n < 0 ? n : 0;
	for (int i = 0; i < n && !rc; i++) {
		uint64_t rev;
		rc = etcd_get_prefix(w->etcd, pre[i], load_cb, &tmp, &rev);
		if (rc == SKY_ENOTFOUND)
			rc = 0;
	}
	struct k2s_recset glob = {0};
	if (!rc)
		rc = translate_global(&w->opts, &glob);
	for (int i = 0; i < glob.n && !rc; i++) {
		char *v = NULL;
		rc = etcd_get(w->etcd, glob.recs[i].key, &v, NULL);
		if (rc == SKY_ENOTFOUND)
			rc = 0;
		else if (!rc)
			rc = record_loaded(&tmp, glob.recs[i].key, v);
		free(v);
	}
	recset_clear(&glob);
	if (rc) {
		strmap_free(tmp.value);
		strmap_free(tmp.owner);
		strmap_free(tmp.claims);
		strmap_free(tmp.nclaims);
		w->st.errors++;
		return rc;
	}
	strmap_free(w->value);
	strmap_free(w->owner);
	strmap_free(w->claims);
	strmap_free(w->nclaims);
	w->value = tmp.value;
	w->owner = tmp.owner;
	w->claims = tmp.claims;
	w->nclaims = tmp.nclaims;
	return 0;
}

/* Another live claimant holds the key's current value: leave it alone. */
static bool held_by_other(struct writer *w, const char *svc, const char *key)
{
	const char *o = strmap_get(w->owner, key);
	if (!o || strcmp(o, svc) == 0)
		return false;
	struct strmap *set = strmap_get(w->claims, o);
	return set && strmap_has(set, key);
}

/* Batch mode: remember a write (value NULL: a delete) for writer_flush. */
static int queue_op(struct writer *w, const char *key, const char *value)
{
	if (w->nops == w->capops) {
		size_t cap = w->capops ? w->capops * 2 : 256;
		struct etcd_op *n = realloc(w->ops, cap * sizeof *n);
		if (!n)
			return SKY_ENOMEM;
		w->ops = n;
		w->capops = cap;
	}
	char *k = strdup(key), *v = value ? strdup(value) : NULL;
	if (!k || (value && !v)) {
		free(k);
		free(v);
		return SKY_ENOMEM;
	}
	w->ops[w->nops++] = (struct etcd_op){.key = k, .value = v};
	return 0;
}

static int put_one(struct writer *w, const char *svc, const struct k2s_rec *r)
{
	int rc = claim(w, svc, r->key);
	if (rc || held_by_other(w, svc, r->key))
		return rc;
	const char *cur = strmap_get(w->value, r->key), *o = strmap_get(w->owner, r->key);
	if (cur && strcmp(cur, r->value) == 0 && o && strcmp(o, svc) == 0)
		return 0;
	if (w->batching)
		rc = queue_op(w, r->key, r->value);
	else if ((rc = etcd_put(w->etcd, r->key, r->value, 0))) {
		w->st.errors++;
		w->st.put_errors++;
	} else
		w->st.puts++;
	if (rc)
		return rc;
	char *v = strdup(r->value), *no = strdup(svc);
	if (!v || !no) {
		free(v);
		free(no);
		return SKY_ENOMEM;
	}
	strmap_put(w->value, r->key, v);
	strmap_put(w->owner, r->key, no);
	return 0;
}

/* Drop svc's claim on key; delete it from etcd when nobody else wants it.
 * When another service still claims it, the old value stays (no gap) until
 * that service rewrites it: the key is remembered as an orphan. */
static int release_one(struct writer *w, const char *svc, const char *key, bool *deleted)
{
	const char *o = strmap_get(w->owner, key);
	bool mine = o && strcmp(o, svc) == 0;
	intptr_t others = (intptr_t)strmap_get(w->nclaims, key) - 1;
	*deleted = false;
	if (mine && others <= 0) {
		int rc = w->batching ? queue_op(w, key, NULL) : etcd_delete(w->etcd, key);
		if (rc && !w->batching) {
			w->st.errors++;
			w->st.delete_errors++;
		}
		if (rc)
			return rc;
		*deleted = !w->batching; /* v3 (batches): no directories to tidy */
		w->st.deletes += !w->batching;
		strmap_del(w->value, key);
		strmap_del(w->owner, key);
	} else if (mine) {
		strmap_del(w->owner, key);
		strmap_put(w->orphans, key, NULL);
	}
	unclaim(w, svc, key);
	return 0;
}

static size_t depth(const char *key)
{
	size_t n = 0;
	for (; *key; key++)
		n += *key == '/';
	return n;
}

static int deeper_first(const void *a, const void *b)
{
	size_t da = depth(*(char *const *)a), db = depth(*(char *const *)b);
	return da < db ? 1 : da > db ? -1 : strcmp(*(char *const *)a, *(char *const *)b);
}

/* Parent directories of `key` strictly below the owned root it lies in
 * ("/skydns/local/cluster/svc/" is kept, ".../svc/prod/web/_tcp/_http" and
 * up to ".../svc/prod" are candidates), added to `dirs`. */
static int add_parents(struct writer *w, const char *key, struct strmap *dirs)
{
	char pre[3][512];
	int n = translate_owned_prefixes(&w->opts, pre, 3);
	for (int i = 0; i < n; i++) {
		size_t pl = strlen(pre[i]);
		if (strncmp(key, pre[i], pl) != 0)
			continue;
		char dir[1024];
		snprintf(dir, sizeof dir, "%s", key);
		for (char *slash; (slash = strrchr(dir, '/')) && (size_t)(slash - dir) >= pl;) {
			*slash = '\0';
			if (strmap_has(dirs, dir))
				break; /* its parents are in already */
			if (strmap_put(dirs, dir, NULL))
				return SKY_ENOMEM;
		}
		return 0;
	}
	return 0;
}

/* etcd v2 keeps a directory after its last key is deleted. An empty one
 * answers like a missing name, but one that still holds a hidden ("_")
 * child does not go away, and the tree grows with every service ever seen:
 * remove the directories the deletes emptied, deepest first (no-op on v3). */
static int tidy_dirs(struct writer *w, char **deleted, size_t n)
{
	struct strmap *dirs = strmap_new(NULL);
	int rc = dirs ? 0 : SKY_ENOMEM;
	for (size_t i = 0; i < n && !rc; i++)
		rc = add_parents(w, deleted[i], dirs);
	size_t nd = 0, it = 0;
	const char *d;
	char **list = rc ? NULL : malloc(sizeof *list * (strmap_len(dirs) + 1));
	if (!rc && !list)
		rc = SKY_ENOMEM;
	while (!rc && strmap_next(dirs, &it, &d, NULL))
		list[nd++] = (char *)d;
	if (!rc)
		qsort(list, nd, sizeof *list, deeper_first);
	for (size_t i = 0; i < nd && !rc; i++)
		if ((rc = etcd_delete_dir(w->etcd, list[i], false))) {
			w->st.errors++;
			w->st.delete_errors++;
		}
	free(list);
	strmap_free(dirs);
	return rc;
}

/* A service left with no key: remove its directory "<svc/ tree>/<ns>/<name>"
 * whole. Every key there is the service's (translate_owner goes by path),
 * and on v2 this is the only way to remove hidden "_" keys that writer_load
 * could not list (written before a restart, say). */
static int drop_service_dir(struct writer *w, const char *svc)
{
	char pre[3][512], dir[1024];
	if (translate_owned_prefixes(&w->opts, pre, 3) < 0 ||
	    (size_t)snprintf(dir, sizeof dir, "%s%s", pre[0], svc) >= sizeof dir)
		return SKY_ERANGE;
	int rc = etcd_delete_dir(w->etcd, dir, true);
	if (rc) {
		w->st.errors++;
		w->st.delete_errors++;
	}
	return rc;
}

int writer_sync(struct writer *w, const char *svc, const struct k2s_recset *desired)
{
	int rc = 0;
	for (int i = 0; i < desired->n && !rc; i++)
		rc = put_one(w, svc, &desired->recs[i]);
	if (rc)
		return rc;
	struct strmap *set = strmap_get(w->claims, svc);
	if (!set)
		return 0;
	/* Collect first: release_one() changes the set being iterated. */
	size_t n = 0, it = 0;
	char **gone = malloc(sizeof *gone * (strmap_len(set) + 1));
	if (!gone)
		return SKY_ENOMEM;
	const char *key;
	while (strmap_next(set, &it, &key, NULL)) {
		if (recset_find(desired, key))
			continue;
		if (!(gone[n] = strdup(key)))
			break; /* out of memory: release what was collected */
		n++;
	}
	size_t nd = 0;
	for (size_t i = 0; i < n; i++) {
		bool deleted = false;
		if (!rc)
			rc = release_one(w, svc, gone[i], &deleted);
		if (deleted)
			gone[nd++] = gone[i]; /* nd <= i: the kept ones stay in front */
		else
			free(gone[i]);
	}
	bool emptied = !rc && (set = strmap_get(w->claims, svc)) && strmap_len(set) == 0;
	if (emptied && *svc && !w->batching) /* v3 (batches) has no directories */
		rc = drop_service_dir(w, svc); /* before tidy_dirs: then <ns>/ can go */
	if (!rc && nd)
		rc = tidy_dirs(w, gone, nd);
	for (size_t i = 0; i < nd; i++)
		free(gone[i]);
	free(gone);
	if (!rc && emptied)
		strmap_del(w->claims, svc); /* kept on error: a retry drops the directory */
	return rc;
}

void writer_begin(struct writer *w)
{
	drop_ops(w);
	w->batching = true;
}

int writer_flush(struct writer *w, size_t *ops)
{
	size_t done = 0, n = w->nops;
	int rc = n ? etcd_batch(w->etcd, w->ops, n, &done) : 0;
	for (size_t i = 0; i < done; i++) {
		if (w->ops[i].value)
			w->st.puts++;
		else
			w->st.deletes++;
	}
	if (rc) {
		w->st.errors++;
		if (w->ops[done].value)
			w->st.put_errors++;
		else
			w->st.delete_errors++;
	}
	drop_ops(w);
	w->batching = false;
	if (ops)
		*ops = n;
	return rc;
}

size_t writer_queued(const struct writer *w)
{
	return w->nops;
}

int writer_stale_owners(struct writer *w, writer_live_fn live, void *arg, char ***owners, int *n)
{
	*owners = NULL;
	*n = 0;
	char **list = malloc(sizeof *list * (strmap_len(w->claims) + 1));
	if (!list)
		return SKY_ENOMEM;
	size_t it = 0;
	const char *svc;
	while (strmap_next(w->claims, &it, &svc, NULL)) {
		if (*svc && !live(arg, svc)) {
			if (!(list[*n] = strdup(svc)))
				break;
			(*n)++;
		}
	}
	*owners = list;
	return 0;
}

void writer_take_orphans(struct writer *w, void (*cb)(void *arg, const char *svc), void *arg)
{
	if (!strmap_len(w->orphans))
		return;
	size_t it = 0;
	const char *svc;
	void *set;
	while (strmap_next(w->claims, &it, &svc, &set)) {
		size_t jt = 0;
		const char *key;
		while (strmap_next(w->orphans, &jt, &key, NULL)) {
			if (strmap_has(set, key)) {
				cb(arg, svc);
				break;
			}
		}
	}
	strmap_clear(w->orphans);
}

void writer_get_stats(const struct writer *w, struct writer_stats *st)
{
	*st = w->st;
	st->keys = strmap_len(w->value);
}
