/* etcd_v3.c - the etcd v3 JSON gateway (/v3/kv/range, /v3/watch, leases,
 * auth). Keys and values travel base64-encoded, int64s come back as strings
 * and zero/false/empty fields are left out (reliability.md §4).
 *
 * "Everything under prefix" is the range ["<prefix>/", "<prefix>0"): '0' is
 * '/' + 1, so "dom" never matches "dom1" (SkyDNS's v3 backend did, #349).
 */
#include "etcd_int.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"

#define V3_PAGE 1000
/* Progress notifications keep a healthy watch talking (every 10 min by
 * default on the server); re-create a silent stream well before that so a
 * hung member is noticed. Resuming is free: we restart from last + 1. */
#define V3_WATCH_IDLE_MS 60000
#define LEASE_CACHE 32

/* Remaining lifetimes of the leases seen in one read or one watch line. */
struct lease_cache {
	struct {
		uint64_t id;
		int64_t expires;
	} e[LEASE_CACHE];
	int n;
};

/* ------------------------------------------------------------ errors */

static int v3_fail(struct etcd_client *c, const struct etcd_resp *r, const char *what)
{
	cJSON *root = cJSON_ParseWithLength(r->body.data ? r->body.data : "", r->body.len);
	const char *msg = etcd_json_str(root, "message");
	if (!msg)
		msg = etcd_json_str(root, "error");
	int64_t code = etcd_json_int(root, "code", -1);
	etcd_set_error(c, "%s %s: HTTP %ld%s%s", c->shown[c->cur], what, r->status,
		       msg ? ": " : "", msg ? msg : (r->body.data ? r->body.data : ""));
	int rc = SKY_EPROTO;
	if (code == 11 && msg && strstr(msg, "compacted"))
		rc = SKY_ECOMPACTED;
	else if (code == 16 || code == 7 || r->status == 401 || r->status == 403 ||
		 (msg && strstr(msg, "user name is empty")))
		rc = SKY_EAUTH;
	else if (code == 5 || r->status == 404)
		rc = SKY_ENOTFOUND;
	cJSON_Delete(root);
	return rc;
}

/* POST a cJSON body; frees it. */
static int v3_post(struct etcd_client *c, const char *path, cJSON *req, struct etcd_resp *r)
{
	char *body = req ? cJSON_PrintUnformatted(req) : NULL;
	cJSON_Delete(req);
	if (!body)
		return SKY_ENOMEM;
	int rc = etcd_request(c, "POST", path, body, r);
	free(body);
	return rc;
}

static bool add_b64(cJSON *obj, const char *name, const char *p, size_t n)
{
	char *s = etcd_b64_encode(p, n);
	bool ok = s && cJSON_AddStringToObject(obj, name, s);
	free(s);
	return ok;
}

static bool add_u64(cJSON *obj, const char *name, uint64_t v)
{
	char s[24];
	snprintf(s, sizeof s, "%" PRIu64, v);
	return cJSON_AddStringToObject(obj, name, s) != NULL;
}

/* Body of a request that covers the range under prefix. */
static cJSON *range_req(const char *prefix, const char *start, size_t startlen)
{
	size_t n = strlen(prefix);
	char *k = malloc(n + 2);
	cJSON *req = cJSON_CreateObject();
	bool ok = k && req;
	if (ok) {
		memcpy(k, prefix, n);
		k[n] = '/';
		k[n + 1] = '\0';
		ok = start ? add_b64(req, "key", start, startlen) : add_b64(req, "key", k, n + 1);
		k[n] = '0';
		ok = ok && add_b64(req, "range_end", k, n + 1);
	}
	free(k);
	if (!ok) {
		cJSON_Delete(req);
		return NULL;
	}
	return req;
}

int etcd_v3_authenticate(struct etcd_client *c)
{
	cJSON *req = cJSON_CreateObject();
	if (!req || !cJSON_AddStringToObject(req, "name", c->username) ||
	    !cJSON_AddStringToObject(req, "password", c->password ? c->password : "")) {
		cJSON_Delete(req);
		return SKY_ENOMEM;
	}
	struct etcd_resp r = { 0 };
	c->in_auth = true;
	int rc = v3_post(c, "/v3/auth/authenticate", req, &r);
	c->in_auth = false;
	if (rc == 0 && r.status == 412 && r.body.data &&
	    strstr(r.body.data, "authentication is not enabled")) {
		/* Credentials configured but auth off (SkyDNS never sent them to
		 * v3 at all): carry on without a token until a 401 says otherwise. */
		c->auth_off = true;
		etcd_resp_free(&r);
		return 0;
	}
	if (rc == 0 && r.status != 200) {
		v3_fail(c, &r, "authenticate");
		rc = SKY_EAUTH;
	}
	if (rc == 0) {
		cJSON *root = cJSON_ParseWithLength(r.body.data, r.body.len);
		const char *tok = etcd_json_str(root, "token");
		free(c->token);
		c->token = tok ? strdup(tok) : NULL;
		if (!c->token) {
			etcd_set_error(c, "%s: authenticate gave no token", c->shown[c->cur]);
			rc = SKY_EAUTH;
		}
		cJSON_Delete(root);
	}
	etcd_resp_free(&r);
	return rc;
}

/* ------------------------------------------------------------ leases */

/* SkyDNS's v3 backend used the lease ID as the TTL; what a record needs is
 * the lease's remaining time (/v3/lease/timetolive). */
static int lease_expires(struct etcd_client *c, uint64_t id, int64_t now, struct lease_cache *lc,
			 int64_t *out)
{
	for (int i = 0; i < lc->n; i++)
		if (lc->e[i].id == id) {
			*out = lc->e[i].expires;
			return 0;
		}
	cJSON *req = cJSON_CreateObject();
	if (!req || !add_u64(req, "ID", id)) {
		cJSON_Delete(req);
		return SKY_ENOMEM;
	}
	struct etcd_resp r = { 0 };
	int rc = v3_post(c, "/v3/lease/timetolive", req, &r);
	if (rc == 0) {
		int64_t ttl = -1;
		bool known = true;
		if (r.status == 200) {
			cJSON *root = cJSON_ParseWithLength(r.body.data, r.body.len);
			ttl = etcd_json_int(root, "TTL", -1);
			cJSON_Delete(root);
		} else if (v3_fail(c, &r, "lease") != SKY_ENOTFOUND) {
			/* Not allowed to look (a read-only role) or some other refusal:
			 * serve the key without an expiry rather than not at all. */
			known = false;
		}
		/* TTL is whole seconds, truncated: the lease ends somewhere in
		 * [t+TTL, t+TTL+1); aim at the middle (etcd's DELETE event at the
		 * real end removes the key anyway). An expired or unknown lease:
		 * the key is about to be deleted. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		double t = (double)ts.tv_sec + ts.tv_nsec / 1e9;
		*out = !known ? 0 : ttl > 0 ? (int64_t)(t + (double)ttl + 0.5) : now;
	}
	etcd_resp_free(&r);
	if (rc == 0 && lc->n < LEASE_CACHE) {
		lc->e[lc->n].id = id;
		lc->e[lc->n].expires = *out;
		lc->n++;
	}
	return rc;
}

/* ------------------------------------------------------------ kvs */

struct v3kv {
	char *key, *value;
	size_t keylen, valuelen;
};

static void v3kv_free(struct v3kv *k)
{
	free(k->key);
	free(k->value);
}

/* Decode kv; fill e (pointing into k). */
static int v3_decode_kv(const cJSON *o, struct v3kv *k, struct etcd_kv *e)
{
	memset(k, 0, sizeof *k);
	memset(e, 0, sizeof *e);
	const char *key = etcd_json_str(o, "key");
	const char *val = etcd_json_str(o, "value");
	if (!key)
		return SKY_EPARSE;
	int rc = etcd_b64_decode(key, strlen(key), &k->key, &k->keylen);
	if (rc == 0)
		rc = etcd_b64_decode(val ? val : "", val ? strlen(val) : 0, &k->value, &k->valuelen);
	if (rc != 0) {
		v3kv_free(k);
		return rc;
	}
	e->key = k->key;
	e->value = k->value;
	e->value_len = k->valuelen;
	e->mod_revision = (uint64_t)etcd_json_int(o, "mod_revision", 0);
	e->lease = (uint64_t)etcd_json_int(o, "lease", 0);
	return 0;
}

int etcd_v3_parse_range(const char *body, size_t len, etcd_kv_cb cb, void *arg,
			struct etcd_v3_page *pg)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return SKY_EPARSE;
	}
	const cJSON *hdr = cJSON_GetObjectItemCaseSensitive(root, "header");
	if (!pg->revision)
		pg->revision = (uint64_t)etcd_json_int(hdr, "revision", 0);
	/* cluster_id is a uint64 and may not fit etcd_json_int's int64. */
	const char *cid = etcd_json_str(hdr, "cluster_id");
	if (cid && *cid)
		pg->cluster_id = strtoull(cid, NULL, 10);
	pg->more = etcd_json_true(root, "more");
	int rc = 0;
	const cJSON *o;
	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(root, "kvs"))
	{
		struct v3kv k;
		struct etcd_kv e;
		if ((rc = v3_decode_kv(o, &k, &e)) != 0)
			break;
		rc = cb(arg, &e);
		free(pg->last);
		pg->last = k.key;
		pg->lastlen = k.keylen;
		free(k.value);
		if (rc != 0)
			break;
	}
	cJSON_Delete(root);
	return rc;
}

/* etcd_v3_parse_range()'s callback on a live read: the kv's lease becomes
 * its expiry before the caller sees it. */
struct range_read {
	struct etcd_client *c;
	struct lease_cache *lc;
	int64_t now;
	etcd_kv_cb cb;
	void *arg;
};

static int range_kv(void *arg, const struct etcd_kv *kv)
{
	struct range_read *rr = arg;
	struct etcd_kv e = *kv;
	int rc = e.lease ? lease_expires(rr->c, e.lease, rr->now, rr->lc, &e.expires) : 0;
	return rc ? rc : rr->cb(rr->arg, &e);
}

static int parse_page(struct etcd_client *c, const struct etcd_resp *r, etcd_kv_cb cb, void *arg,
		      struct lease_cache *lc, struct etcd_v3_page *pg)
{
	struct range_read rr = { .c = c, .lc = lc, .now = (int64_t)time(NULL), .cb = cb, .arg = arg };
	int rc = etcd_v3_parse_range(r->body.data ? r->body.data : "", r->body.len, range_kv, &rr,
				     pg);
	if (rc == SKY_EPARSE)
		etcd_set_error(c, "%s: unparsable range reply", c->shown[c->cur]);
	if (pg->cluster_id)
		c->cluster_id = pg->cluster_id;
	return rc;
}

int etcd_v3_get_prefix(struct etcd_client *c, const char *prefix, etcd_kv_cb cb, void *arg,
		       uint64_t *revision)
{
	struct etcd_v3_page pg = { 0 };
	struct lease_cache lc = { .n = 0 };
	int rc = 0;
	do {
		char *start = NULL;
		if (pg.last) { /* the next page starts just after the last key */
			start = malloc(pg.lastlen + 1);
			if (!start) {
				rc = SKY_ENOMEM;
				break;
			}
			memcpy(start, pg.last, pg.lastlen);
			start[pg.lastlen] = '\0';
		}
		cJSON *req = range_req(prefix, start, pg.lastlen + 1);
		free(start);
		/* Later pages read at the first page's revision: one consistent view. */
		if (!req || !add_u64(req, "limit", V3_PAGE) ||
		    (pg.revision && !add_u64(req, "revision", pg.revision))) {
			cJSON_Delete(req);
			rc = SKY_ENOMEM;
			break;
		}
		struct etcd_resp r = { 0 };
		rc = v3_post(c, "/v3/kv/range", req, &r);
		if (rc == 0 && r.status != 200)
			rc = v3_fail(c, &r, "range");
		if (rc == 0)
			rc = parse_page(c, &r, cb, arg, &lc, &pg);
		etcd_resp_free(&r);
	} while (rc == 0 && pg.more && pg.last);
	free(pg.last);
	if (rc == 0)
		*revision = pg.revision;
	return rc;
}

int etcd_v3_get_kv(struct etcd_client *c, const char *key, etcd_kv_cb cb, void *arg)
{
	cJSON *req = cJSON_CreateObject();
	if (!req || !add_b64(req, "key", key, strlen(key))) {
		cJSON_Delete(req);
		return SKY_ENOMEM;
	}
	struct etcd_resp r = { 0 };
	struct etcd_v3_page pg = { 0 };
	struct lease_cache lc = { .n = 0 };
	int rc = v3_post(c, "/v3/kv/range", req, &r);
	if (rc == 0 && r.status != 200)
		rc = v3_fail(c, &r, key);
	if (rc == 0)
		rc = parse_page(c, &r, cb, arg, &lc, &pg);
	if (rc == 0 && !pg.last) {
		etcd_set_error(c, "%s %s: key not found", c->shown[c->cur], key);
		rc = SKY_ENOTFOUND;
	}
	free(pg.last);
	etcd_resp_free(&r);
	return rc;
}

int etcd_v3_get(struct etcd_client *c, const char *key, char **value, uint64_t *mod_revision)
{
	cJSON *req = cJSON_CreateObject();
	if (!req || !add_b64(req, "key", key, strlen(key))) {
		cJSON_Delete(req);
		return SKY_ENOMEM;
	}
	struct etcd_resp r = { 0 };
	int rc = v3_post(c, "/v3/kv/range", req, &r);
	if (rc == 0 && r.status != 200)
		rc = v3_fail(c, &r, key);
	if (rc == 0) {
		cJSON *root = cJSON_ParseWithLength(r.body.data, r.body.len);
		const cJSON *o = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "kvs"), 0);
		struct v3kv k;
		struct etcd_kv e;
		if (!o) {
			rc = root ? SKY_ENOTFOUND : SKY_EPARSE;
			etcd_set_error(c, "%s %s: %s", c->shown[c->cur], key,
				       root ? "key not found" : "unparsable range reply");
		} else if ((rc = v3_decode_kv(o, &k, &e)) == 0) {
			*value = k.value;
			k.value = NULL;
			if (mod_revision)
				*mod_revision = e.mod_revision;
			v3kv_free(&k);
		}
		cJSON_Delete(root);
	}
	etcd_resp_free(&r);
	return rc;
}

static int lease_grant(struct etcd_client *c, unsigned ttl, char *id, size_t cap)
{
	cJSON *req = cJSON_CreateObject();
	if (!req || !cJSON_AddNumberToObject(req, "TTL", ttl)) {
		cJSON_Delete(req);
		return SKY_ENOMEM;
	}
	struct etcd_resp r = { 0 };
	int rc = v3_post(c, "/v3/lease/grant", req, &r);
	if (rc == 0 && r.status != 200)
		rc = v3_fail(c, &r, "lease grant");
	if (rc == 0) {
		cJSON *root = cJSON_ParseWithLength(r.body.data, r.body.len);
		int64_t v = etcd_json_int(root, "ID", 0);
		if (v)
			snprintf(id, cap, "%" PRId64, v);
		else
			rc = SKY_EPROTO;
		cJSON_Delete(root);
	}
	etcd_resp_free(&r);
	return rc;
}

static int txn_post(struct etcd_client *c, const struct etcd_cmp *cmps, size_t ncmp,
		    const struct etcd_op *ops, size_t nops, uint64_t *revision, int *why);

/* A write while fenced (etcd_set_fence): one op in a txn guarded by the
 * fence, so it lands only while the fence holds. */
static int fenced_op(struct etcd_client *c, const char *key, const char *value, uint64_t lease)
{
	struct etcd_op op = { .key = key, .value = value, .lease = lease };
	int why;
	return txn_post(c, NULL, 0, &op, 1, NULL, &why);
}

int etcd_v3_put(struct etcd_client *c, const char *key, const char *value, unsigned ttl)
{
	char lease[32] = "";
	int rc = ttl ? lease_grant(c, ttl, lease, sizeof lease) : 0;
	if (rc != 0)
		return rc;
	if (c->fence_key)
		return fenced_op(c, key, value, lease[0] ? strtoull(lease, NULL, 10) : 0);
	cJSON *req = cJSON_CreateObject();
	if (!req || !add_b64(req, "key", key, strlen(key)) ||
	    !add_b64(req, "value", value, strlen(value)) ||
	    (lease[0] && !cJSON_AddStringToObject(req, "lease", lease))) {
		cJSON_Delete(req);
		return SKY_ENOMEM;
	}
	struct etcd_resp r = { 0 };
	rc = v3_post(c, "/v3/kv/put", req, &r);
	if (rc == 0 && r.status != 200)
		rc = v3_fail(c, &r, key);
	etcd_resp_free(&r);
	return rc;
}

int etcd_v3_delete(struct etcd_client *c, const char *key)
{
	if (c->fence_key)
		return fenced_op(c, key, NULL, 0);
	cJSON *req = cJSON_CreateObject();
	if (!req || !add_b64(req, "key", key, strlen(key))) {
		cJSON_Delete(req);
		return SKY_ENOMEM;
	}
	struct etcd_resp r = { 0 };
	int rc = v3_post(c, "/v3/kv/deleterange", req, &r);
	if (rc == 0 && r.status != 200)
		rc = v3_fail(c, &r, key);
	etcd_resp_free(&r);
	return rc;
}

/* ------------------------------------------------------------ txn */

/* How many of ops[0..n) go in the next txn: at most `limit`, stopping
 * before a key already in it (etcd: "duplicate key given in txn request"). */
static size_t txn_span(const struct etcd_op *ops, size_t n, size_t limit)
{
	size_t k = 0;
	for (; k < n && k < limit; k++)
		for (size_t j = 0; j < k; j++)
			if (strcmp(ops[j].key, ops[k].key) == 0 && ops[j].below == ops[k].below)
				return k;
	return k;
}

/* One op of a txn: {"requestPut": {key, value}} or {"requestDeleteRange":
 * {key[, range_end]}}. */
static cJSON *txn_op(const struct etcd_op *o)
{
	cJSON *item = cJSON_CreateObject(), *op = NULL;
	bool ok = item != NULL;
	if (ok && o->below && !o->value) { /* ["<key>/", "<key>0") */
		op = range_req(o->key, NULL, 0);
		ok = op && cJSON_AddItemToObject(item, "requestDeleteRange", op);
		if (!ok)
			cJSON_Delete(op);
	} else if (ok) {
		op = cJSON_AddObjectToObject(item, o->value ? "requestPut" : "requestDeleteRange");
		ok = op && add_b64(op, "key", o->key, strlen(o->key));
		if (ok && o->value)
			ok = add_b64(op, "value", o->value, strlen(o->value));
		if (ok && o->value && o->lease)
			ok = add_u64(op, "lease", o->lease);
	}
	if (!ok) {
		cJSON_Delete(item);
		return NULL;
	}
	return item;
}

static cJSON *txn_req(const struct etcd_op *ops, size_t n)
{
	cJSON *req = cJSON_CreateObject(), *arr = req ? cJSON_AddArrayToObject(req, "success") : NULL;
	bool ok = arr != NULL;
	for (size_t i = 0; i < n && ok; i++) {
		cJSON *item = txn_op(&ops[i]);
		ok = item && cJSON_AddItemToArray(arr, item);
		if (!ok)
			cJSON_Delete(item);
	}
	if (!ok) {
		cJSON_Delete(req);
		return NULL;
	}
	return req;
}

enum txn_refusal { TXN_OK, TXN_TOO_MANY, TXN_TOO_LARGE };

static enum txn_refusal txn_refused(const struct etcd_resp *r)
{
	if (r->status < 400 || !r->body.data)
		return TXN_OK;
	if (strstr(r->body.data, "too many operations in txn"))
		return TXN_TOO_MANY;
	return strstr(r->body.data, "request is too large") ? TXN_TOO_LARGE : TXN_OK;
}

/* One txn of n ops (under the fence, if any); *why says when etcd
 * refused it for its size. */
static int txn_once(struct etcd_client *c, const struct etcd_op *ops, size_t n,
		    enum txn_refusal *why)
{
	int w = TXN_OK;
	int rc = txn_post(c, NULL, 0, ops, n, NULL, &w);
	*why = (enum txn_refusal)w;
	return rc;
}

/* A txn with too many ops halves the limit for good (etcd's --max-txn-ops
 * does not change); one too large (--max-request-bytes) is sent again in
 * halves, the limit kept for the next txns (one large value is rare). */
int etcd_v3_batch(struct etcd_client *c, const struct etcd_op *ops, size_t n, size_t *done)
{
	int rc = 0;
	size_t cap = (size_t)c->txn_limit;
	*done = 0;
	while (*done < n && !rc) {
		size_t k = txn_span(ops + *done, n - *done, cap);
		enum txn_refusal why = TXN_OK;
		rc = txn_once(c, ops + *done, k, &why);
		if (why != TXN_OK && k > 1) {
			cap = k / 2;
			if (why == TXN_TOO_MANY)
				c->txn_limit = (int)cap;
			rc = 0; /* the same ops again, in smaller txns */
			continue;
		}
		if (!rc) {
			*done += k;
			cap = (size_t)c->txn_limit;
		}
	}
	return rc;
}

/* ------------------------------------------------------------ guarded txn */

static bool add_cmp(cJSON *arr, const struct etcd_cmp *cmp)
{
	static const char *const target[] = { "MOD", "CREATE", "VERSION", "LEASE" };
	static const char *const field[] = { "mod_revision", "create_revision", "version",
					     "lease" };
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		return false;
	}
	size_t n = strlen(cmp->key);
	bool ok = true;
	if (cmp->below) { /* ["<key>/", "<key>0"), as range_req */
		char *k = malloc(n + 2);
		ok = k != NULL;
		if (ok) {
			memcpy(k, cmp->key, n);
			k[n] = '/';
			k[n + 1] = '\0';
			ok = add_b64(o, "key", k, n + 1);
			k[n] = '0';
			ok = ok && add_b64(o, "range_end", k, n + 1);
		}
		free(k);
	} else {
		ok = add_b64(o, "key", cmp->key, n);
	}
	return ok && cJSON_AddStringToObject(o, "target", target[cmp->target]) &&
	       cJSON_AddStringToObject(o, "result",
				       cmp->result == ETCD_CMP_LESS ? "LESS" : "EQUAL") &&
	       add_u64(o, field[cmp->target], cmp->value);
}

char *etcd_v3_txn_body(const struct etcd_cmp *cmps, size_t ncmp, const struct etcd_op *ops,
		       size_t nops)
{
	cJSON *req = txn_req(ops, nops);
	cJSON *arr = req ? cJSON_AddArrayToObject(req, "compare") : NULL;
	bool ok = arr != NULL;
	for (size_t i = 0; i < ncmp && ok; i++)
		ok = cmps[i].target <= ETCD_CMP_LEASE && add_cmp(arr, &cmps[i]);
	char *out = ok ? cJSON_PrintUnformatted(req) : NULL;
	cJSON_Delete(req);
	return out;
}

int etcd_v3_parse_txn(const char *body, size_t len, bool *succeeded, uint64_t *revision)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return SKY_EPARSE;
	}
	/* "succeeded" is left out when false (a compare failed) */
	*succeeded = etcd_json_true(root, "succeeded");
	*revision = (uint64_t)etcd_json_int(cJSON_GetObjectItemCaseSensitive(root, "header"),
					    "revision", 0);
	cJSON_Delete(root);
	return 0;
}

/* The compares plus the fence's LEASE(key) == lease, when one is set. */
static struct etcd_cmp *fence_cmps(const struct etcd_client *c, const struct etcd_cmp *cmps,
				   size_t ncmp, size_t *n)
{
	struct etcd_cmp *all = malloc((ncmp + 1) * sizeof *all);
	if (!all)
		return NULL;
	if (ncmp)
		memcpy(all, cmps, ncmp * sizeof *all);
	*n = ncmp;
	if (c->fence_key)
		all[(*n)++] = (struct etcd_cmp){ .key = c->fence_key, .target = ETCD_CMP_LEASE,
						 .result = ETCD_CMP_EQUAL, .value = c->fence_lease };
	return all;
}

/* Send one guarded txn: 0, SKY_ECONFLICT (a compare or the fence failed),
 * an HTTP refusal (*why = TXN_TOO_MANY / TXN_TOO_LARGE for its size) or a
 * transport error. */
static int txn_post(struct etcd_client *c, const struct etcd_cmp *cmps, size_t ncmp,
		    const struct etcd_op *ops, size_t nops, uint64_t *revision, int *why)
{
	size_t n = 0;
	struct etcd_cmp *all = fence_cmps(c, cmps, ncmp, &n);
	char *body = all ? etcd_v3_txn_body(all, n, ops, nops) : NULL;
	free(all);
	if (!body)
		return SKY_ENOMEM;
	struct etcd_resp r = { 0 };
	int rc = etcd_request(c, "POST", "/v3/kv/txn", body, &r);
	free(body);
	bool ok = false;
	uint64_t rev = 0;
	*why = rc == 0 ? (int)txn_refused(&r) : TXN_OK;
	if (rc == 0 && r.status != 200) {
		rc = v3_fail(c, &r, nops ? ops[0].key : "txn");
	} else if (rc == 0 && etcd_v3_parse_txn(r.body.data, r.body.len, &ok, &rev) != 0) {
		etcd_set_error(c, "%s: unparsable txn reply", c->shown[c->cur]);
		rc = SKY_EPROTO;
	} else if (rc == 0 && !ok) {
		etcd_set_error(c, "%s: txn compare failed at revision %" PRIu64 "%s",
			       c->shown[c->cur], rev, c->fence_key ? " (fenced write)" : "");
		rc = SKY_ECONFLICT;
	}
	if (revision && (rc == 0 || rc == SKY_ECONFLICT))
		*revision = rev;
	etcd_resp_free(&r);
	return rc;
}

int etcd_v3_txn(struct etcd_client *c, const struct etcd_cmp *cmps, size_t ncmp,
		const struct etcd_op *ops, size_t nops, uint64_t *revision)
{
	size_t dup = txn_span(ops, nops, nops);
	if (dup < nops) {
		etcd_set_error(c, "txn: key %s given twice", ops[dup].key);
		return SKY_EINVAL;
	}
	int why = TXN_OK;
	int rc = txn_post(c, cmps, ncmp, ops, nops, revision, &why);
	return why != TXN_OK ? SKY_ERANGE : rc;
}

/* ------------------------------------------------------------ watch */

static int v3_stream_error(const cJSON *err)
{
	/* {"error":{"grpc_code":14,"http_code":503,"message":"transport is closing"}}
	 * (shutdown) or {"error":"...","code":16} (a plain gateway error). */
	int64_t code = cJSON_IsObject(err) ? etcd_json_int(err, "grpc_code", -1) : -1;
	return (code == 16 || code == 7) ? SKY_EAUTH : SKY_EIO;
}

static int deliver_events(const cJSON *events, etcd_event_cb cb, void *arg, uint64_t *revision)
{
	int n = cJSON_GetArraySize(events), i = 0, rc = 0;
	uint64_t rev = *revision;
	const cJSON *ev;
	cJSON_ArrayForEach(ev, events)
	{
		struct v3kv k;
		struct etcd_event e = { 0 };
		const char *type = etcd_json_str(ev, "type");
		if ((rc = v3_decode_kv(cJSON_GetObjectItemCaseSensitive(ev, "kv"), &k, &e.kv)) != 0)
			return rc;
		/* PUT is enum value 0, which the gateway leaves out. */
		e.type = (type && strcmp(type, "DELETE") == 0) ? ETCD_EV_DELETE : ETCD_EV_PUT;
		if (e.type == ETCD_EV_DELETE) {
			e.kv.value = NULL;
			e.kv.value_len = 0;
		}
		if (e.kv.mod_revision > rev)
			rev = e.kv.mod_revision;
		rc = cb(arg, &e, ++i == n);
		v3kv_free(&k);
		if (rc != 0)
			return rc;
	}
	*revision = rev;
	return 0;
}

int etcd_parse_v3_watch_line(const char *line, size_t len, etcd_event_cb cb, void *arg,
			     uint64_t *revision, int64_t now)
{
	(void)now;
	cJSON *root = cJSON_ParseWithLength(line, len);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return SKY_EPARSE;
	}
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "result");
	int rc = 0;
	if (err) {
		rc = v3_stream_error(err);
		if (rc == SKY_EIO && etcd_json_int(root, "code", -1) == 16)
			rc = SKY_EAUTH;
	} else if (!cJSON_IsObject(res)) {
		rc = SKY_EPROTO;
	} else if (etcd_json_int(res, "compact_revision", 0) > 0) {
		rc = SKY_ECOMPACTED; /* not resumable: relist (etcd #8668) */
	} else if (etcd_json_true(res, "canceled")) {
		const char *why = etcd_json_str(res, "cancel_reason");
		rc = (why && strstr(why, "ermission")) ? SKY_EAUTH : SKY_EIO;
	} else {
		const cJSON *events = cJSON_GetObjectItemCaseSensitive(res, "events");
		uint64_t hrev = (uint64_t)etcd_json_int(
			cJSON_GetObjectItemCaseSensitive(res, "header"), "revision", 0);
		if (cJSON_GetArraySize(events) > 0)
			rc = deliver_events(events, cb, arg, revision);
		else if (!etcd_json_true(res, "created") && hrev > *revision)
			*revision = hrev; /* progress notification: nothing up to hrev */
	}
	cJSON_Delete(root);
	return rc;
}

struct v3watch {
	struct etcd_client *c;
	etcd_event_cb cb;
	void *arg;
	uint64_t *last;
	uint64_t created_rev;
	struct lease_cache lc;
};

static int watch_event(void *arg, const struct etcd_event *ev, bool last)
{
	struct v3watch *w = arg;
	if (ev->type == ETCD_EV_PUT && ev->kv.lease) {
		struct etcd_event e = *ev;
		int rc = lease_expires(w->c, ev->kv.lease, (int64_t)time(NULL), &w->lc, &e.kv.expires);
		return rc ? rc : w->cb(w->arg, &e, last);
	}
	return w->cb(w->arg, ev, last);
}

static int watch_line(void *arg, const char *line, size_t len)
{
	struct v3watch *w = arg;
	w->lc.n = 0;
	static const char created[] = "\"created\":true";
	if (!w->created_rev && memmem(line, len, created, sizeof created - 1)) {
		cJSON *root = cJSON_ParseWithLength(line, len);
		const cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "result");
		w->created_rev = (uint64_t)etcd_json_int(
			cJSON_GetObjectItemCaseSensitive(res, "header"), "revision", 0);
		cJSON_Delete(root);
	}
	int rc = etcd_parse_v3_watch_line(line, len, watch_event, w, w->last, (int64_t)time(NULL));
	if (rc == SKY_EPARSE)
		etcd_set_error(w->c, "%s: unparsable watch line", w->c->shown[w->c->cur]);
	else if (rc == SKY_ECOMPACTED)
		etcd_set_error(w->c, "%s: watch revision %" PRIu64 " compacted",
			       w->c->shown[w->c->cur], *w->last + 1);
	else if (rc == SKY_EIO || rc == SKY_EAUTH)
		etcd_set_error(w->c, "%s: watch ended: %.*s", w->c->shown[w->c->cur],
			       (int)(len > 200 ? 200 : len), line);
	return rc;
}

static char *watch_body(const char *prefix, uint64_t start)
{
	cJSON *cr = range_req(prefix, NULL, 0);
	cJSON *req = cJSON_CreateObject();
	char *out = NULL;
	if (cr && req && add_u64(cr, "start_revision", start) &&
	    cJSON_AddTrueToObject(cr, "progress_notify") &&
	    cJSON_AddItemToObject(req, "create_request", cr)) {
		cr = NULL;
		out = cJSON_PrintUnformatted(req);
	}
	cJSON_Delete(cr);
	cJSON_Delete(req);
	return out;
}

int etcd_v3_watch(struct etcd_client *c, const char *prefix, uint64_t after, etcd_event_cb cb,
		  void *arg, volatile bool *stop, uint64_t *last)
{
	struct v3watch w = { .c = c, .cb = cb, .arg = arg, .last = last };
	struct etcd_resp r = { 0 };
	bool reauthed = false;
	int rc = 0;
	(void)after;
	while (rc == 0) {
		if (c->username && !c->token && !c->auth_off &&
		    (rc = etcd_v3_authenticate(c)) != 0)
			break;
		char *body = watch_body(prefix, *last + 1);
		if (!body) {
			rc = SKY_ENOMEM;
			break;
		}
		struct etcd_stream s = {
			.method = "POST", .path = "/v3/watch", .body = body, .stop = stop,
			.idle_ms = V3_WATCH_IDLE_MS, .line = watch_line, .arg = &w,
		};
		w.created_rev = 0;
		rc = etcd_stream_run(c, &s, &r);
		free(body);
		if (rc == SKY_ETIMEDOUT && r.status == 200) {
			/* Quiet for a whole idle period after "created": every event up
			 * to the creation revision has been delivered. */
			if (w.created_rev > *last)
				*last = w.created_rev;
			reauthed = false; /* the token worked; it may expire again */
			rc = 0;
		} else if ((rc == SKY_EAUTH || (rc == 0 && r.status == 401)) && c->username &&
			   !reauthed) {
			/* An expired token, either as HTTP 401 or as a stream error
			 * line: authenticate again once, then resume. */
			reauthed = true;
			free(c->token);
			c->token = NULL;
			c->auth_off = false;
			rc = 0;
		} else if (rc == 0 && r.status != 200) {
			rc = v3_fail(c, &r, "watch");
		} else if (rc == 0) {
			etcd_set_error(c, "%s: watch stream closed", c->shown[c->cur]);
			rc = SKY_EIO;
		}
	}
	etcd_resp_free(&r);
	return rc;
}

/* ------------------------------------------------------------ leases (public) */

/* Used by skydns-check: one lease held for the process's lifetime, kept
 * alive, with the keys it writes attached to it. v3 only (SKY_EINVAL on v2). */

int etcd_lease_grant(struct etcd_client *c, unsigned ttl, uint64_t *id)
{
	if (!c->v3 || ttl == 0)
		return SKY_EINVAL;
	char s[32] = "";
	int rc = lease_grant(c, ttl, s, sizeof s);
	if (rc == 0)
		*id = strtoull(s, NULL, 10);
	return rc;
}

int etcd_lease_keepalive(struct etcd_client *c, uint64_t id, int64_t *ttl)
{
	if (!c->v3)
		return SKY_EINVAL;
	cJSON *req = cJSON_CreateObject();
	if (!req || !add_u64(req, "ID", id)) {
		cJSON_Delete(req);
		return SKY_ENOMEM;
	}
	struct etcd_resp r = { 0 };
	int rc = v3_post(c, "/v3/lease/keepalive", req, &r);
	if (rc == 0 && r.status != 200)
		rc = v3_fail(c, &r, "lease keepalive");
	if (rc == 0) {
		/* One JSON object per stream message: {"result":{"ID":..,"TTL":..}};
		 * a lease that is gone comes back without TTL (0). */
		cJSON *root = cJSON_ParseWithLength(r.body.data, r.body.len);
		const cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "result");
		if (!root) {
			etcd_set_error(c, "%s lease keepalive: bad reply", c->shown[c->cur]);
			rc = SKY_EPROTO;
		} else {
			*ttl = etcd_json_int(res ? res : root, "TTL", 0);
			if (*ttl <= 0)
				rc = SKY_ENOTFOUND;
		}
		cJSON_Delete(root);
	}
	etcd_resp_free(&r);
	return rc;
}

int etcd_lease_revoke(struct etcd_client *c, uint64_t id)
{
	if (!c->v3)
		return SKY_EINVAL;
	cJSON *req = cJSON_CreateObject();
	if (!req || !add_u64(req, "ID", id)) {
		cJSON_Delete(req);
		return SKY_ENOMEM;
	}
	struct etcd_resp r = { 0 };
	int rc = v3_post(c, "/v3/lease/revoke", req, &r);
	if (rc == 0 && r.status != 200)
		rc = v3_fail(c, &r, "lease revoke");
	etcd_resp_free(&r);
	return rc;
}

int etcd_put_lease(struct etcd_client *c, const char *key, const char *value, uint64_t lease)
{
	if (!c->v3)
		return SKY_EINVAL;
	if (c->fence_key)
		return fenced_op(c, key, value, lease);
	cJSON *req = cJSON_CreateObject();
	if (!req || !add_b64(req, "key", key, strlen(key)) ||
	    !add_b64(req, "value", value, strlen(value)) || (lease && !add_u64(req, "lease", lease))) {
		cJSON_Delete(req);
		return SKY_ENOMEM;
	}
	struct etcd_resp r = { 0 };
	int rc = v3_post(c, "/v3/kv/put", req, &r);
	if (rc == 0 && r.status != 200)
		rc = v3_fail(c, &r, key);
	etcd_resp_free(&r);
	return rc;
}
