#include "writer.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "etcd.h"
#include "strmap.h"

/* The view keeps each key once. At 10k Services (5.5 keys each) the
 * earlier layout (one map each for value, owner, claims and claim counts,
 * and a 16-slot hash set per Service) held every key four times: ~4.8 KB
 * per Service. Now a key is one map entry (struct kent) and a Service's
 * claims are a sorted array of pointers to those entries. */
struct svcent;

struct kent {
	const char *key;             /* the keys map's copy */
	char *value;                 /* in etcd, NULL when not (yet) there */
	const struct svcent *owner;  /* whose value it is; it claims the key */
	uint32_t nclaims;            /* services wanting it; entry freed at 0 without value */
};

struct svcent {
	struct kent **claims;        /* sorted by address: binary search */
	uint32_t n, cap;
	char name[];                 /* "ns/name", "" = the global records */
};

struct view {
	struct strmap *keys;         /* key -> struct kent * */
	struct strmap *svcs;         /* service -> struct svcent * */
	size_t nvalues;              /* keys with a value (owned in etcd) */
};

struct writer {
	struct etcd_client *etcd;
	struct translate_opts opts;
	char *prefix, *zone;
	struct view v;
	struct strmap *orphans; /* keys whose owner let go while others claim them */
	struct writer_stats st;
	bool batching;          /* between writer_begin and writer_flush */
	struct etcd_op *ops;    /* the batch's writes, key and value malloc'd */
	size_t nops, capops;
};

static void kent_free(void *p)
{
	struct kent *k = p;
	if (k)
		free(k->value);
	free(k);
}

static void svcent_free(void *p)
{
	struct svcent *s = p;
	if (s)
		free(s->claims);
	free(s);
}

static int view_new(struct view *v)
{
	v->keys = strmap_new(kent_free);
	v->svcs = strmap_new(svcent_free);
	v->nvalues = 0;
	if (v->keys && v->svcs)
		return 0;
	strmap_free(v->keys);
	strmap_free(v->svcs);
	return SKY_ENOMEM;
}

static void view_free(struct view *v)
{
	strmap_free(v->keys);
	strmap_free(v->svcs);
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
	if (!w->prefix || !w->zone || !w->orphans || view_new(&w->v)) {
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
	view_free(&w->v);
	strmap_free(w->orphans);
	free(w->prefix);
	free(w->zone);
	free(w);
}

/* Index of k in s->claims, or where it would go (*found false). */
static uint32_t claim_pos(const struct svcent *s, const struct kent *k, bool *found)
{
	uint32_t lo = 0, hi = s->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if ((uintptr_t)s->claims[mid] < (uintptr_t)k)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < s->n && s->claims[lo] == k;
	return lo;
}

static bool claims_key(const struct svcent *s, const struct kent *k)
{
	bool found = false;
	if (s && k)
		claim_pos(s, k, &found);
	return found;
}

static struct kent *key_get(const struct view *v, const char *key)
{
	return strmap_get(v->keys, key);
}

/* The entry for key, made when missing. NULL on ENOMEM. */
static struct kent *key_make(struct view *v, const char *key)
{
	struct kent *k = strmap_get(v->keys, key);
	if (k)
		return k;
	if (!(k = calloc(1, sizeof *k)))
		return NULL;
	if (strmap_put(v->keys, key, k)) {
		free(k);
		return NULL;
	}
	k->key = strmap_key(v->keys, key);
	return k;
}

/* Drop the entry once nothing refers to it: no value, no claim. */
static void key_gc(struct view *v, struct kent *k)
{
	if (!k->value && k->nclaims == 0)
		strmap_del(v->keys, k->key); /* frees k and k->key */
}

static void key_set(struct view *v, struct kent *k, char *value, const struct svcent *owner)
{
	v->nvalues += !k->value && value;
	v->nvalues -= k->value && !value;
	free(k->value);
	k->value = value;
	k->owner = value ? owner : NULL;
}

static struct svcent *svc_make(struct view *v, const char *svc)
{
	struct svcent *s = strmap_get(v->svcs, svc);
	if (s)
		return s;
	size_t len = strlen(svc);
	if (!(s = calloc(1, sizeof *s + len + 1)))
		return NULL;
	memcpy(s->name, svc, len + 1);
	if (strmap_put(v->svcs, svc, s)) {
		free(s);
		return NULL;
	}
	return s;
}

/* svc wants key: *kp gets its entry. */
static int claim(struct view *v, const char *svc, const char *key, struct svcent **sp,
		 struct kent **kp)
{
	struct svcent *s = svc_make(v, svc);
	struct kent *k = s ? key_make(v, key) : NULL;
	if (!k)
		return SKY_ENOMEM;
	*sp = s;
	*kp = k;
	bool found;
	uint32_t at = claim_pos(s, k, &found);
	if (found)
		return 0;
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 4;
		struct kent **n = realloc(s->claims, cap * sizeof *n);
		if (!n) {
			key_gc(v, k);
			return SKY_ENOMEM;
		}
		s->claims = n;
		s->cap = cap;
	}
	memmove(s->claims + at + 1, s->claims + at, (s->n - at) * sizeof *s->claims);
	s->claims[at] = k;
	s->n++;
	k->nclaims++;
	return 0;
}

static void unclaim(struct view *v, struct svcent *s, struct kent *k)
{
	bool found;
	uint32_t at = claim_pos(s, k, &found);
	if (!found)
		return;
	memmove(s->claims + at, s->claims + at + 1, (s->n - at - 1) * sizeof *s->claims);
	s->n--;
	k->nclaims--;
	if (k->owner == s)
		k->owner = NULL; /* an owner always claims its key */
	key_gc(v, k);
}

/* Record one key found in etcd in a fresh view. */
static int record_loaded(struct view *v, const struct translate_opts *opts, const char *key,
			 const char *value)
{
	char owner[512];
	if (translate_owner(opts, key, value, owner, sizeof owner) != 0)
		return 0; /* not kube2sky's */
	struct svcent *s;
	struct kent *k;
	char *val = strdup(value);
	int rc = val ? claim(v, owner, key, &s, &k) : SKY_ENOMEM;
	if (rc) {
		free(val);
		return rc;
	}
	key_set(v, k, val, s);
	return 0;
}

struct load_arg {
	struct view *v;
	const struct translate_opts *opts;
};

static int load_cb(void *arg, const struct etcd_kv *kv)
{
	struct load_arg *a = arg;
	return record_loaded(a->v, a->opts, kv->key, kv->value ? kv->value : "");
}

int writer_load(struct writer *w)
{
	struct view tmp;
	if (view_new(&tmp))
		return SKY_ENOMEM;
	struct load_arg la = { &tmp, &w->opts };
	char pre[3][512];
	int n = translate_owned_prefixes(&w->opts, pre, 3), rc = n < 0 ? n : 0;
	for (int i = 0; i < n && !rc; i++) {
		uint64_t rev;
		rc = etcd_get_prefix(w->etcd, pre[i], load_cb, &la, &rev);
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
			rc = record_loaded(&tmp, &w->opts, glob.recs[i].key, v);
		free(v);
	}
	recset_clear(&glob);
	if (rc) {
		view_free(&tmp);
		w->st.errors++;
		return rc;
	}
	view_free(&w->v);
	w->v = tmp;
	return 0;
}

/* Another live claimant holds the key's current value: leave it alone. */
static bool held_by_other(const struct svcent *s, const struct kent *k)
{
	return k->owner && k->owner != s && claims_key(k->owner, k);
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
	struct svcent *s;
	struct kent *k;
	int rc = claim(&w->v, svc, r->key, &s, &k);
	if (rc || held_by_other(s, k))
		return rc;
	if (k->value && strcmp(k->value, r->value) == 0 && k->owner == s)
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
	char *v = strdup(r->value);
	if (!v)
		return SKY_ENOMEM;
	key_set(&w->v, k, v, s);
	return 0;
}

/* Drop svc's claim on key; delete it from etcd when nobody else wants it.
 * When another service still claims it, the old value stays (no gap) until
 * that service rewrites it: the key is remembered as an orphan. */
static int release_one(struct writer *w, struct svcent *s, const char *key, bool *deleted)
{
	struct kent *k = key_get(&w->v, key);
	*deleted = false;
	if (!k || !claims_key(s, k))
		return 0;
	bool mine = k->value && k->owner == s;
	if (mine && k->nclaims <= 1) {
		int rc = w->batching ? queue_op(w, key, NULL) : etcd_delete(w->etcd, key);
		if (rc && !w->batching) {
			w->st.errors++;
			w->st.delete_errors++;
		}
		if (rc)
			return rc;
		*deleted = !w->batching; /* v3 (batches): no directories to tidy */
		w->st.deletes += !w->batching;
		key_set(&w->v, k, NULL, NULL);
	} else if (mine) {
		k->owner = NULL;
		if (strmap_put(w->orphans, key, NULL))
			return SKY_ENOMEM;
	}
	unclaim(&w->v, s, k);
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

/* Copies of the keys s claims that desired does not hold. */
static int gone_keys(const struct svcent *s, const struct k2s_recset *desired, char ***out,
		     size_t *n)
{
	*n = 0;
	if (!(*out = malloc(sizeof **out * (s->n + 1))))
		return SKY_ENOMEM;
	for (uint32_t i = 0; i < s->n; i++) {
		if (recset_find(desired, s->claims[i]->key))
			continue;
		if (!((*out)[*n] = strdup(s->claims[i]->key)))
			return SKY_ENOMEM; /* release what was collected */
		(*n)++;
	}
	return 0;
}

int writer_sync(struct writer *w, const char *svc, const struct k2s_recset *desired)
{
	int rc = 0;
	for (int i = 0; i < desired->n && !rc; i++)
		rc = put_one(w, svc, &desired->recs[i]);
	if (rc)
		return rc;
	struct svcent *s = strmap_get(w->v.svcs, svc);
	if (!s)
		return 0;
	/* Collect first: release_one() changes the claims being walked. */
	char **gone;
	size_t n;
	int grc = gone_keys(s, desired, &gone, &n); /* ENOMEM: release what was collected */
	if (!gone)
		return grc;
	size_t nd = 0;
	for (size_t i = 0; i < n; i++) {
		bool deleted = false;
		if (!rc)
			rc = release_one(w, s, gone[i], &deleted);
		if (deleted)
			gone[nd++] = gone[i]; /* nd <= i: the kept ones stay in front */
		else
			free(gone[i]);
	}
	if (!rc)
		rc = grc;
	bool emptied = !rc && s->n == 0;
	if (emptied && *svc && !w->batching) /* v3 (batches) has no directories */
		rc = drop_service_dir(w, svc); /* before tidy_dirs: then <ns>/ can go */
	if (!rc && nd)
		rc = tidy_dirs(w, gone, nd);
	for (size_t i = 0; i < nd; i++)
		free(gone[i]);
	free(gone);
	if (!rc && emptied)
		strmap_del(w->v.svcs, svc); /* kept on error: a retry drops the directory */
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
	char **list = malloc(sizeof *list * (strmap_len(w->v.svcs) + 1));
	if (!list)
		return SKY_ENOMEM;
	size_t it = 0;
	const char *svc;
	while (strmap_next(w->v.svcs, &it, &svc, NULL)) {
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
	void *s;
	while (strmap_next(w->v.svcs, &it, &svc, &s)) {
		size_t jt = 0;
		const char *key;
		while (strmap_next(w->orphans, &jt, &key, NULL)) {
			if (claims_key(s, key_get(&w->v, key))) {
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
	st->keys = w->v.nvalues;
}
