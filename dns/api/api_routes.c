/* api_routes.c - the requests skydns-api answers, and what the route files
 * share (api_int.h: replies, names, etcd reads, record JSON).
 *
 *   /skydns/api[/<name>]      the ipdcode seed's calls (api_seed.c)
 *   /v1/records/<name>        GET / PUT / DELETE the SkyDNS records of a name
 *   /v1/records?prefix=NAME   list every record under NAME (default: the domain)
 *   /v1/explain/<name>        which keys make up the answer (api_explain.c)
 *
 * The records of a name (GET, PUT, DELETE on /v1) are its own: its etcd key
 * and the keys below it with a hex hash label (<= 8 hex digits) holding an
 * address, SRV or TXT, as the seed and this API write them. Names further
 * below are theirs (skydns still answers a name with everything below it;
 * ?prefix= lists the whole subtree). The seed's DELETE removes the subtree.
 *
 * Writes on etcd v3 are one guarded transaction per request (etcd_txn): the
 * compares say the name is still as it was read (the If-Match check was made
 * on that read), so two skydns-api daemons or an etcdctl user racing for a
 * name cannot interleave: one wins, the other gets 412 (the seed's POST:
 * 409, "exists") with nothing written, and the etcd revision advances by
 * exactly one per write. etcd v2 has no transactions: writes go key by key,
 * which is safe against other API writes only while one daemon serves the
 * name (it handles one request at a time). Everything is validated before
 * anything is written.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "api_int.h"
#include "dname.h"
#include "err.h"
#include "marker.h"
#include "msg.h"


/* ------------------------------------------------------------ replies */

void api_reply_text(struct api_reply *r, unsigned status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	r->status = status;
	r->body = s;
	r->ctype = "text/plain; charset=utf-8";
}

void api_reply_json(struct api_reply *r, unsigned status, cJSON *j)
{
	r->status = status;
	r->body = cJSON_PrintUnformatted(j);
	r->ctype = "application/json";
	cJSON_Delete(j);
}

/* 4xx/5xx with {"error": msg, "field": field} (field omitted when NULL). */
void api_reply_err(struct api_reply *r, unsigned status, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "error", msg);
	if (field)
		cJSON_AddStringToObject(j, "field", field);
	api_reply_json(r, status, j);
}

/* ------------------------------------------------------------ names */

/* `in` (relative to the domain or absolute, trailing dot optional) -> the
 * absolute lower-case name in out[MSG_NAME_MAX]. 0, or -1 with *why. */
int api_name_abs(const struct api *a, const char *in, char *out, const char **why)
{
	return dname_in_domain(a->domain, in, out, MSG_NAME_MAX, why) != 0 ? -1 : 0;
}

int api_name_key(const struct api *a, const char *name, char *key, size_t cap)
{
	return msg_name_to_key(a->prefix, name, key, cap);
}

/* Name of a full etcd key (absolute, with the trailing dot). */
void api_key_name(const struct api *a, const char *key, char *out, size_t cap)
{
	const char *p = msg_key_to_path(a->prefix, key);
	if (!p || msg_path_to_name(p, strlen(p), out, cap) < 0)
		snprintf(out, cap, "%s", key);
}

/* ------------------------------------------------------------ etcd reads */

void api_kvs_free(struct api_kvs *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->key[i]);
		free(l->val[i]);
	}
	free(l->key);
	free(l->val);
	free(l->rev);
	memset(l, 0, sizeof *l);
}

static int kvs_add(void *arg, const struct etcd_kv *kv)
{
	struct api_kvs *l = arg; /* duplicates are dropped by api_read_tree after sorting */
	if (l->n == l->cap) {
		size_t c = l->cap ? l->cap * 2 : 16;
		char **k = realloc(l->key, c * sizeof *k);
		if (k)
			l->key = k;
		char **v = realloc(l->val, c * sizeof *v);
		if (v)
			l->val = v;
		uint64_t *r = realloc(l->rev, c * sizeof *r);
		if (r)
			l->rev = r;
		if (!k || !v || !r)
			return SKY_ENOMEM;
		l->cap = c;
	}
	l->key[l->n] = strdup(kv->key);
	l->val[l->n] = strdup(kv->value ? kv->value : "");
	if (!l->key[l->n] || !l->val[l->n]) {
		free(l->key[l->n]);
		free(l->val[l->n]);
		return SKY_ENOMEM;
	}
	l->rev[l->n] = kv->mod_revision;
	l->n++;
	return 0;
}

struct kv1 {
	char *key, *val;
	uint64_t rev;
};

static int kv1_cmp(const void *x, const void *y)
{
	return strcmp(((const struct kv1 *)x)->key, ((const struct kv1 *)y)->key);
}

/* The key and everything below it. */
int api_read_tree(struct api *a, const char *key, struct api_kvs *out, uint64_t *revision)
{
	uint64_t rev = 0;
	int rc = etcd_get_kv(a->etcd, key, kvs_add, out);
	if (rc != 0 && rc != SKY_ENOTFOUND)
		return rc;
	rc = etcd_get_prefix(a->etcd, key, kvs_add, out, &rev);
	if (rc == SKY_ENOTFOUND)
		rc = 0;
	/* in key order (etcd v2 lists a directory in no fixed order) */
	if (out->n > 1) {
		size_t n = out->n;
		struct kv1 *t = malloc(n * sizeof *t);
		if (!t)
			return SKY_ENOMEM;
		for (size_t i = 0; i < n; i++)
			t[i] = (struct kv1){ out->key[i], out->val[i], out->rev[i] };
		qsort(t, n, sizeof *t, kv1_cmp);
		size_t m = 0;
		for (size_t i = 0; i < n; i++) {
			if (m && strcmp(out->key[m - 1], t[i].key) == 0) { /* read twice */
				free(t[i].key);
				free(t[i].val);
				continue;
			}
			out->key[m] = t[i].key;
			out->val[m] = t[i].val;
			out->rev[m] = t[i].rev;
			m++;
		}
		out->n = m;
		free(t);
	}
	if (revision)
		*revision = rev;
	return rc;
}

uint64_t api_max_rev(const struct api_kvs *l)
{
	uint64_t m = 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->rev[i] > m)
			m = l->rev[i];
	return m;
}

int api_delete_tree(struct api *a, const char *key, const struct api_kvs *l)
{
	bool below = false;
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->key[i], key) != 0)
			below = true;
		int rc = etcd_delete(a->etcd, l->key[i]);
		if (rc != 0)
			return rc;
	}
	if (below) /* v2: the key is a directory; drop it (a no-op on v3) */
		return etcd_delete_dir(a->etcd, key, true);
	return 0;
}

/* The store revision now (for write replies). */
static uint64_t store_revision(struct api *a, const char *key)
{
	struct api_kvs l = { 0 };
	uint64_t rev = 0;
	api_read_tree(a, key, &l, &rev);
	uint64_t m = api_max_rev(&l);
	api_kvs_free(&l);
	return rev > m ? rev : m;
}

/* ------------------------------------------------------------ record JSON */

/* The name a record answers for: an API-written child (a hex hash label) of
 * an address, SRV or TXT record stands for its parent, else the key's name. */
void api_owner_name(const struct api *a, const char *key, const cJSON *v, char *out, size_t cap)
{
	api_key_name(a, key, out, cap);
	const char *last = strrchr(key, '/');
	last = last ? last + 1 : key;
	size_t ll = strlen(last);
	bool hash = ll >= 1 && ll <= 8;
	for (size_t i = 0; i < ll && hash; i++)
		hash = isxdigit((unsigned char)last[i]) && !isupper((unsigned char)last[i]);
	if (!hash)
		return;
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(v, "host");
	const cJSON *port = cJSON_GetObjectItemCaseSensitive(v, "port");
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(v, "text");
	uint8_t ip[16];
	bool isip = cJSON_IsString(h) && msg_parse_ip(h->valuestring, ip) != 0;
	bool mail = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "mail"));
	if (!isip && !(cJSON_IsNumber(port) && port->valuedouble > 0) && !cJSON_IsString(text) && !mail)
		return; /* a CNAME owns its own key */
	char *dot = strchr(out, '.');
	if (dot && dot[1])
		memmove(out, dot + 1, strlen(dot + 1) + 1);
}

/* One record of a listing: its stored JSON plus "key" and "name". */
static cJSON *record_json(const struct api *a, const char *key, const char *val, uint64_t rev)
{
	cJSON *v = cJSON_Parse(val);
	if (!cJSON_IsObject(v)) {
		cJSON_Delete(v);
		v = cJSON_CreateObject();
		cJSON_AddStringToObject(v, "invalid", val);
	}
	char name[MSG_NAME_MAX];
	api_owner_name(a, key, v, name, sizeof name);
	cJSON_DeleteItemFromObjectCaseSensitive(v, "key");
	cJSON_DeleteItemFromObjectCaseSensitive(v, "name");
	cJSON_AddStringToObject(v, "key", key);
	cJSON_AddStringToObject(v, "name", name);
	cJSON_AddNumberToObject(v, "revision", (double)rev);
	return v;
}

/* An IPv6 literal has a ':'; a name of digits and dots only is meant as IPv4. */
static bool looks_like_ip(const char *h)
{
	if (strchr(h, ':'))
		return true;
	for (; *h; h++)
		if (!(isdigit((unsigned char)*h) || *h == '.'))
			return false;
	return true;
}

static const char *const known_fields[] = { "host", "port", "priority", "weight", "text", "ttl",
					    "mail", "group", "targetstrip", "key", "name",
					    "revision", NULL };

/* Check one record of a PUT body and turn it into the JSON to store.
 * 0, or -1 with field/why set. */
static int record_check(const cJSON *item, char **json, char *field, size_t fcap, int idx,
			const char **why)
{
	if (!cJSON_IsObject(item)) {
		snprintf(field, fcap, "records[%d]", idx);
		*why = "not a JSON object";
		return -1;
	}
	for (const cJSON *c = item->child; c; c = c->next) {
		bool ok = false;
		for (int i = 0; known_fields[i]; i++)
			ok |= strcasecmp(c->string, known_fields[i]) == 0;
		if (!ok) {
			snprintf(field, fcap, "records[%d].%s", idx, c->string);
			*why = "unknown field";
			return -1;
		}
	}
	cJSON *copy = cJSON_Duplicate(item, 1);
	cJSON_DeleteItemFromObject(copy, "key");
	cJSON_DeleteItemFromObject(copy, "name");
	cJSON_DeleteItemFromObject(copy, "revision");
	char *s = cJSON_PrintUnformatted(copy);
	cJSON_Delete(copy);
	struct service svc = { 0 };
	const char *pwhy = NULL;
	if (!s || msg_service_parse(s, strlen(s), &svc, &pwhy) != 0) {
		free(s);
		snprintf(field, fcap, "records[%d]", idx);
		/* pwhy names the field: "field \"port\": not a number" */
		*why = pwhy ? pwhy : "not a SkyDNS record";
		return -1;
	}
	free(s);
	uint8_t ipb[16];
	if ((!svc.host || !svc.host[0]) && !svc.text) {
		msg_service_clear(&svc);
		snprintf(field, fcap, "records[%d].host", idx);
		*why = "a record needs a host (or a text)";
		return -1;
	}
	if (svc.host && svc.host[0] && looks_like_ip(svc.host) && !msg_parse_ip(svc.host, ipb)) {
		msg_service_clear(&svc);
		snprintf(field, fcap, "records[%d].host", idx);
		*why = "address does not parse";
		return -1;
	}
	if (svc.host && svc.host[0] && dname_check_host(svc.host, why) != 0) {
		msg_service_clear(&svc);
		snprintf(field, fcap, "records[%d].host", idx);
		return -1;
	}
	*json = msg_service_json(&svc);
	msg_service_clear(&svc);
	return *json ? 0 : -1;
}

/* ------------------------------------------------------------ /v1 */

static int if_match(const char *hdr, uint64_t *want)
{
	if (!hdr)
		return 0;
	while (*hdr == ' ' || *hdr == '"' || *hdr == 'W' || *hdr == '/')
		hdr++;
	char *end;
	unsigned long long v = strtoull(hdr, &end, 10);
	if (end == hdr)
		return -1;
	*want = v;
	return 1;
}

const char *api_if_match;

/* Keep only the records of `name` itself (its key, and the hash-labelled
 * children that stand for it); names below it are theirs. *others gets how
 * many were dropped. */
static void kvs_own(const struct api *a, const char *name, struct api_kvs *l, size_t *others)
{
	size_t m = 0;
	for (size_t i = 0; i < l->n; i++) {
		cJSON *v = cJSON_Parse(l->val[i]);
		char owner[MSG_NAME_MAX];
		api_owner_name(a, l->key[i], v, owner, sizeof owner);
		cJSON_Delete(v);
		if (strcmp(owner, name) != 0) {
			free(l->key[i]);
			free(l->val[i]);
			continue;
		}
		l->key[m] = l->key[i];
		l->val[m] = l->val[i];
		l->rev[m] = l->rev[i];
		m++;
	}
	if (others)
		*others = l->n - m;
	l->n = m;
}

static void v1_get(struct api *a, const char *name, const char *key, struct api_reply *r)
{
	struct api_kvs l = { 0 };
	int rc = api_read_tree(a, key, &l, NULL);
	if (rc != 0) {
		api_reply_err(r, 502, NULL, "etcd: %s", etcd_last_error(a->etcd));
		api_kvs_free(&l);
		return;
	}
	kvs_own(a, name, &l, NULL);
	if (l.n == 0) {
		api_kvs_free(&l);
		api_reply_err(r, 404, "name", "no records for %s", name);
		return;
	}
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "name", name);
	cJSON_AddNumberToObject(j, "revision", (double)api_max_rev(&l));
	cJSON *arr = cJSON_AddArrayToObject(j, "records");
	for (size_t i = 0; i < l.n; i++)
		cJSON_AddItemToArray(arr, record_json(a, l.key[i], l.val[i], l.rev[i]));
	api_kvs_free(&l);
	api_reply_json(r, 200, j);
}

/* The records of a PUT body as the JSON to store: 0, or -1 with r set. */
static int v1_parse_body(const char *body, size_t len, char ***jsons, int *njson,
			 struct api_reply *r)
{
	cJSON *doc = cJSON_ParseWithLength(body, len);
	cJSON *list = doc;
	if (cJSON_IsObject(doc))
		list = cJSON_GetObjectItemCaseSensitive(doc, "records");
	if (!cJSON_IsArray(list)) {
		cJSON_Delete(doc);
		api_reply_err(r, 400, "records",
			  "body must be a JSON list of SkyDNS records (or {\"records\": [...]})");
		return -1;
	}
	int n = cJSON_GetArraySize(list);
	if (n == 0) {
		cJSON_Delete(doc);
		api_reply_err(r, 400, "records", "empty list (use DELETE to remove a name)");
		return -1;
	}
	char **js = calloc((size_t)n, sizeof *js);
	if (!js) {
		cJSON_Delete(doc);
		api_reply_err(r, 500, NULL, "out of memory");
		return -1;
	}
	int i = 0;
	for (const cJSON *it = list->child; it; it = it->next, i++) {
		char field[128];
		const char *why = NULL;
		if (record_check(it, &js[i], field, sizeof field, i, &why) != 0) {
			for (int k = 0; k < i; k++)
				free(js[k]);
			free(js);
			cJSON_Delete(doc);
			api_reply_err(r, 400, field, "%s: %s", field, why ? why : "invalid");
			return -1;
		}
	}
	cJSON_Delete(doc);
	*jsons = js;
	*njson = n;
	return 0;
}

/* The keys of a new record set: one CNAME-like record (a name host, no
 * port, no text) sits at the name's own key, as the seed writes aliases;
 * the rest below it at <key>/<msg_label_hash of the JSON>. *at_key says which. */
static void v1_new_keys(const char *key, char **jsons, int njson, char (*nk)[API_KEY_MAX],
			bool *at_key)
{
	*at_key = false;
	if (njson == 1) {
		cJSON *v = cJSON_Parse(jsons[0]);
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(v, "host");
		uint8_t ipb[16];
		*at_key = cJSON_IsString(h) && !msg_parse_ip(h->valuestring, ipb) &&
			  !cJSON_GetObjectItemCaseSensitive(v, "port") &&
			  !cJSON_GetObjectItemCaseSensitive(v, "text");
		cJSON_Delete(v);
	}
	for (int i = 0; i < njson; i++)
		if (*at_key)
			snprintf(nk[i], sizeof nk[i], "%s", key);
		else
			snprintf(nk[i], sizeof nk[i], "%s/%x", key, msg_label_hash(jsons[i]));
}

/* etcd v2 (no transactions): key by key. Safe against other API writes
 * only while one skydns-api serves the name (it handles one request at a
 * time); a second daemon or an etcdctl user can interleave. */
static int v1_apply_keys(struct api *a, const char *key, const struct api_kvs *l, char **jsons,
			 int njson, char (*nk)[API_KEY_MAX], bool at_key, bool del,
			 uint64_t *revision)
{
	bool had_below = false;
	for (size_t i = 0; i < l->n; i++)
		had_below |= strcmp(l->key[i], key) != 0;
	int rc = 0;
	for (size_t i = 0; i < l->n && !rc; i++) { /* drop what the new set does not keep */
		bool keep = false;
		for (int k = 0; k < njson && !keep; k++)
			keep = strcmp(l->key[i], nk[k]) == 0 && strcmp(l->val[i], jsons[k]) == 0;
		if (!keep)
			rc = etcd_delete(a->etcd, l->key[i]);
	}
	if (!rc && (del || (at_key && had_below))) /* the name's directory, when now empty */
		etcd_delete_dir(a->etcd, key, false);
	for (int i = 0; i < njson && !rc; i++)
		rc = etcd_put(a->etcd, nk[i], jsons[i], 0);
	if (!rc)
		*revision = store_revision(a, key);
	return rc;
}

/* etcd v3: the whole change in one guarded txn (the revision advances by
 * one). The guard, from the read at revision `read_rev`: each own key still
 * at the mod_revision read (not changed or deleted since), the name's own
 * key as read (`exact_rev`, 0 = absent) when it is not one of them, and no
 * key under the name written after the read (a record another writer
 * added). Names below that change meanwhile make the txn fail too: a
 * needless 412 at worst, never a lost write. Deletes leave out keys the
 * new set puts again (etcd refuses a key twice in one txn). */
static int v1_apply_txn(struct api *a, const char *key, const struct api_kvs *l, uint64_t exact_rev,
			uint64_t read_rev, char **jsons, int njson, char (*nk)[API_KEY_MAX],
			uint64_t *revision, struct api_reply *r)
{
	struct etcd_cmp *cmp = calloc(l->n + 2, sizeof *cmp);
	struct etcd_op *op = calloc(l->n + (size_t)njson + 1, sizeof *op);
	size_t ncmp = 0, nop = 0;
	int rc = cmp && op ? 0 : SKY_ENOMEM;
	bool exact_own = false;
	for (size_t i = 0; i < l->n && !rc; i++) {
		cmp[ncmp++] = (struct etcd_cmp){ .key = l->key[i], .value = l->rev[i] };
		exact_own |= strcmp(l->key[i], key) == 0;
		bool again = false;
		for (int k = 0; k < njson && !again; k++)
			again = strcmp(l->key[i], nk[k]) == 0;
		if (!again)
			op[nop++] = (struct etcd_op){ .key = l->key[i] };
	}
	if (!rc && !exact_own)
		cmp[ncmp++] = (struct etcd_cmp){ .key = key, .value = exact_rev };
	if (!rc)
		cmp[ncmp++] = (struct etcd_cmp){ .key = key, .below = true,
						 .result = ETCD_CMP_LESS, .value = read_rev + 1 };
	for (int i = 0; i < njson && !rc; i++) {
		bool dup = false; /* two equal records in the body: one key */
		for (int k = 0; k < i && !dup; k++)
			dup = strcmp(nk[k], nk[i]) == 0;
		if (!dup)
			op[nop++] = (struct etcd_op){ .key = nk[i], .value = jsons[i] };
	}
	size_t lim = (size_t)etcd_txn_limit(a->etcd);
	if (!rc && (nop > lim || ncmp > lim)) {
		api_reply_err(r, 413, "records",
			  "this write needs %zu operations and %zu compares in one etcd transaction; "
			  "the limit is %zu (etcd's --max-txn-ops): it is not split, so that it stays "
			  "atomic", nop, ncmp, lim);
		rc = SKY_ERANGE;
	} else if (!rc) {
		rc = etcd_txn(a->etcd, cmp, ncmp, op, nop, revision);
	}
	free(cmp);
	free(op);
	return rc;
}

static void v1_write(struct api *a, const char *name, const char *key, const char *body,
		     size_t len, bool del, struct api_reply *r)
{
	char **jsons = NULL;
	int njson = 0;
	if (!del && v1_parse_body(body, len, &jsons, &njson, r) != 0)
		return;
	struct api_kvs l = { 0 };
	uint64_t read_rev = 0, exact_rev = 0, revision = 0;
	char (*nk)[API_KEY_MAX] = NULL;
	int rc = api_read_tree(a, key, &l, &read_rev);
	if (rc != 0)
		goto etcd_fail;
	for (size_t i = 0; i < l.n; i++)
		if (strcmp(l.key[i], key) == 0)
			exact_rev = l.rev[i];
	size_t others = 0;
	kvs_own(a, name, &l, &others);
	uint64_t want;
	int im = if_match(api_if_match, &want);
	if (im < 0) {
		api_reply_err(r, 400, "If-Match", "If-Match must be an etcd revision (a number)");
		goto out;
	}
	if (im > 0 && want != api_max_rev(&l)) {
		api_reply_err(r, 412, "If-Match", "%s changed: revision %" PRIu64 ", If-Match %" PRIu64,
			  name, api_max_rev(&l), want);
		goto out;
	}
	if (del && l.n == 0) {
		api_reply_err(r, 404, "name", "no records for %s", name);
		goto out;
	}
	nk = calloc((size_t)njson + 1, sizeof *nk);
	if (!nk) {
		api_reply_err(r, 500, NULL, "out of memory");
		goto out;
	}
	bool at_key = false;
	v1_new_keys(key, jsons, njson, nk, &at_key);
	if (at_key && others && !a->v3) {
		api_reply_err(r, 409, "records",
			  "%s has names below it: on etcd v2 its key is a directory and cannot hold "
			  "a CNAME", name);
		goto out;
	}
	if (a->v3)
		rc = v1_apply_txn(a, key, &l, exact_rev, read_rev, jsons, njson, nk, &revision, r);
	else
		rc = v1_apply_keys(a, key, &l, jsons, njson, nk, at_key, del, &revision);
	if (rc == SKY_ECONFLICT) {
		api_reply_err(r, 412, "If-Match",
			  "%s changed while this write was made (etcd revision now %" PRIu64
			  "): nothing written; read it again and retry", name, revision);
		goto out;
	}
	if (rc == SKY_ERANGE && r->body)
		goto out; /* over the txn limit: already answered */
	if (rc == SKY_ERANGE) {
		api_reply_err(r, 413, "records", "etcd refused the transaction for its size: %s",
			  etcd_last_error(a->etcd));
		goto out;
	}
	if (rc != 0)
		goto etcd_fail;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "name", name);
	cJSON_AddNumberToObject(j, del ? "deleted" : "records", del ? (double)l.n : njson);
	cJSON_AddNumberToObject(j, "revision", (double)revision);
	api_reply_json(r, 200, j);
	goto out;
etcd_fail:
	api_reply_err(r, 502, NULL, "etcd: %s", etcd_last_error(a->etcd));
out:
	free(nk);
	api_kvs_free(&l);
	for (int i = 0; i < njson; i++)
		free(jsons[i]);
	free(jsons);
}

static void v1_list(struct api *a, const char *prefix, struct api_reply *r)
{
	char name[MSG_NAME_MAX], key[MSG_NAME_MAX + 64];
	const char *why = NULL;
	if (api_name_abs(a, prefix && *prefix ? prefix : a->domain, name, &why) != 0) {
		api_reply_err(r, 400, "prefix", "prefix: %s", why);
		return;
	}
	if (api_name_key(a, name, key, sizeof key) < 0) {
		api_reply_err(r, 400, "prefix", "prefix: name too long");
		return;
	}
	struct api_kvs l = { 0 };
	if (api_read_tree(a, key, &l, NULL) != 0) {
		api_kvs_free(&l);
		api_reply_err(r, 502, NULL, "etcd: %s", etcd_last_error(a->etcd));
		return;
	}
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "prefix", name);
	cJSON *arr = cJSON_AddArrayToObject(j, "records");
	for (size_t i = 0; i < l.n; i++)
		cJSON_AddItemToArray(arr, record_json(a, l.key[i], l.val[i], l.rev[i]));
	api_kvs_free(&l);
	api_reply_json(r, 200, j);
}

bool api_v2_hidden(const struct api *a, const char *key)
{
	char pre[300];
	snprintf(pre, sizeof pre, "/%s", a->prefix);
	return etcd_v2_hidden(pre, key);
}

/* 1 (zone in out) when `name` lies in a zone kube2sky manages (it has a
 * marker key /<prefix>/kube2sky/<zone>), 0 when not, -1 when etcd fails. */
struct mz {
	const char *name;
	char *out;
	size_t cap;
	int found;
};

static int mz_cb(void *arg, const struct etcd_kv *kv)
{
	struct mz *m = arg;
	const char *z = strrchr(kv->key, '/');
	if (!z || !z[1])
		return 0;
	z++;
	size_t zl = strlen(z), nl = strlen(m->name) - 1; /* without the dot */
	if (zl > 0 && z[zl - 1] == '.')
		zl--;
	bool in = (nl == zl && strncasecmp(m->name, z, zl) == 0) ||
		  (nl > zl && m->name[nl - zl - 1] == '.' && strncasecmp(m->name + nl - zl, z, zl) == 0);
	if (in) {
		snprintf(m->out, m->cap, "%.*s.", (int)zl, z);
		m->found = 1;
	}
	return 0;
}

int api_managed_zone(struct api *a, const char *name, char *out, size_t cap)
{
	char dir[300];
	snprintf(dir, sizeof dir, "/%s/%s", a->prefix, MARKER_DIR);
	struct mz m = { name, out, cap, 0 };
	uint64_t rev;
	int rc = etcd_get_prefix(a->etcd, dir, mz_cb, &m, &rev);
	if (rc != 0 && rc != SKY_ENOTFOUND)
		return -1;
	return m.found;
}

/* ------------------------------------------------------------ dispatch */

void api_handle(struct api *a, const char *method, const char *url, const char *query_prefix,
		const char *body, size_t body_len, struct api_reply *r)
{
	memset(r, 0, sizeof *r);
	bool seed = strncmp(url, "/skydns/api", 11) == 0 && (url[11] == 0 || url[11] == '/');
	bool v1 = strncmp(url, "/v1/records", 11) == 0 && (url[11] == 0 || url[11] == '/');
	bool explain = strncmp(url, "/v1/explain/", 12) == 0;
	if (!seed && !v1 && !explain) {
		api_reply_err(r, 404, NULL, "no such endpoint: %s", url);
		return;
	}
	const char *rest = url + (explain ? 12 : 11);
	if (*rest == '/')
		rest++;
	char name[MSG_NAME_MAX], key[MSG_NAME_MAX + 64];
	const char *why = NULL;
	if (*rest) {
		if (api_name_abs(a, rest, name, &why) != 0) {
			if (seed)
				api_reply_text(r, 400, "ERR, bad domain name %s: %s\n", rest, why);
			else
				api_reply_err(r, 400, "name", "name %s: %s", rest, why);
			return;
		}
		if (api_name_key(a, name, key, sizeof key) < 0) {
			api_reply_err(r, 400, "name", "name too long");
			return;
		}
	}
	if (explain) {
		if (!*rest || strcmp(method, "GET") != 0)
			api_reply_err(r, 400, "name", "GET /v1/explain/<name>[?type=TYPE]");
		else
			api_explain(a, name, key, query_prefix, r);
		return;
	}
	if (*rest && !a->v3 && strcmp(method, "GET") != 0 && strcmp(method, "DELETE") != 0 &&
	    api_v2_hidden(a, key)) {
		if (seed)
			api_reply_text(r, 400, "ERR, %s: %s\n", name, V2_HIDDEN);
		else
			api_reply_err(r, 400, "name", "name %s: %s", name, V2_HIDDEN);
		return;
	}
	if (*rest && strcmp(method, "GET") != 0) {
		char zone[MSG_NAME_MAX];
		int mz = api_managed_zone(a, name, zone, sizeof zone);
		if (mz < 0) {
			if (seed)
				api_reply_text(r, 502, "ERR, etcd: %s\n", etcd_last_error(a->etcd));
			else
				api_reply_err(r, 502, NULL, "etcd: %s", etcd_last_error(a->etcd));
			return;
		}
		if (mz > 0) {
			if (seed)
				api_reply_text(r, 409, "ERR, %s is in zone %s, which kube2sky manages: read-only here\n",
					   name, zone);
			else
				api_reply_err(r, 409, "name",
					  "%s is in zone %s, which kube2sky manages (marker /%s/" MARKER_DIR
					  "/...): change the Kubernetes objects instead",
					  name, zone, a->prefix);
			return;
		}
	}
	if (v1) {
		if (!*rest) {
			if (strcmp(method, "GET") == 0)
				v1_list(a, query_prefix, r);
			else
				api_reply_err(r, 405, NULL, "%s /v1/records: use GET (list) or /v1/records/<name>",
					  method);
			return;
		}
		if (strcmp(method, "GET") == 0)
			v1_get(a, name, key, r);
		else if (strcmp(method, "PUT") == 0)
			v1_write(a, name, key, body, body_len, false, r);
		else if (strcmp(method, "DELETE") == 0)
			v1_write(a, name, key, NULL, 0, true, r);
		else
			api_reply_err(r, 405, NULL, "%s: use GET, PUT or DELETE", method);
		return;
	}
	if (!*rest) {
		if (strcmp(method, "GET") == 0) {
			api_name_abs(a, a->domain, name, &why);
			api_name_key(a, name, key, sizeof key);
			api_seed_list(a, NULL, key, body, body_len, r);
		} else {
			api_reply_text(r, 405, "ERR, %s needs a domain name\n", method);
		}
		return;
	}
	if (strcmp(method, "GET") == 0)
		api_seed_list(a, name, key, body, body_len, r);
	else if (strcmp(method, "POST") == 0)
		api_seed_post(a, rest, name, key, body, body_len, r);
	else if (strcmp(method, "PUT") == 0)
		api_seed_put(a, rest, key, body, body_len, r);
	else if (strcmp(method, "DELETE") == 0 && body_len > 0)
		api_seed_delete_body(a, rest, key, body, body_len, r);
	else if (strcmp(method, "DELETE") == 0)
		api_seed_delete(a, key, r);
	else
		api_reply_text(r, 405, "ERR, method %s not supported\n", method);
}
