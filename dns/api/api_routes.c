/* api_routes.c - the requests skydns-api answers.
 *
 *   /skydns/api[/<name>]      the ipdcode seed's calls (POST A ips / cname
 *                             alias, GET listing, DELETE), answering "OK",
 *                             a JSON map or an "ERR, ..." line
 *   /v1/records/<name>        GET / PUT / DELETE the SkyDNS records of a name
 *   /v1/records?prefix=NAME   list every record under NAME (default: the domain)
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

#include "api.h"
#include "dname.h"
#include "err.h"
#include "health.h"
#include "marker.h"
#include "msg.h"

static bool v2_hidden(const struct api *a, const char *key);
static int managed_zone(struct api *a, const char *name, char *out, size_t cap);
#define API_KEY_MAX (MSG_NAME_MAX + 128)
#define V2_HIDDEN "etcd v2 hides keys with a label starting with '_' (skydns would never see it); use etcd v3 (-etcd3)"

/* ------------------------------------------------------------ replies */

static void reply_text(struct api_reply *r, unsigned status, const char *fmt, ...)
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

static void reply_json(struct api_reply *r, unsigned status, cJSON *j)
{
	r->status = status;
	r->body = cJSON_PrintUnformatted(j);
	r->ctype = "application/json";
	cJSON_Delete(j);
}

/* 4xx/5xx with {"error": msg, "field": field} (field omitted when NULL). */
static void reply_err(struct api_reply *r, unsigned status, const char *field, const char *fmt, ...)
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
	reply_json(r, status, j);
}

/* ------------------------------------------------------------ names */

/* `in` (relative to the domain or absolute, trailing dot optional) -> the
 * absolute lower-case name in out[MSG_NAME_MAX]. 0, or -1 with *why. */
static int name_abs(const struct api *a, const char *in, char *out, const char **why)
{
	char tmp[MSG_NAME_MAX];
	size_t n = strlen(in);
	if (n == 0) {
		*why = "empty name";
		return -1;
	}
	if (n >= sizeof tmp - 1) {
		*why = "name over 255 bytes";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c <= ' ' || c >= 0x7f || c == '/' || c == '"') {
			*why = "name has a character that is not allowed (space, control, '/', '\"' or non-ASCII)";
			return -1;
		}
		tmp[i] = (char)tolower(c);
	}
	tmp[n] = 0;
	bool absolute = tmp[n - 1] == '.';
	size_t dl = strlen(a->domain) - 1; /* domain without its dot */
	bool inside = (n - absolute == dl && memcmp(tmp, a->domain, dl) == 0) ||
		      (n - absolute > dl && tmp[n - absolute - dl - 1] == '.' &&
		       memcmp(tmp + n - absolute - dl, a->domain, dl) == 0);
	if (absolute && !inside && !(n == 1)) {
		*why = "outside the domain";
		return -1;
	}
	if (absolute)
		tmp[--n] = 0;
	int w = inside ? snprintf(out, MSG_NAME_MAX, "%s.", tmp)
		       : snprintf(out, MSG_NAME_MAX, "%s.%s", tmp, a->domain);
	if (w < 0 || w >= MSG_NAME_MAX) {
		*why = "name over 255 bytes";
		return -1;
	}
	if (dname_check(out, why) != 0)
		return -1;
	return 0;
}

static int name_key(const struct api *a, const char *name, char *key, size_t cap)
{
	return msg_name_to_key(a->prefix, name, key, cap);
}

/* Name of a full etcd key (absolute, with the trailing dot). */
static void key_name(const struct api *a, const char *key, char *out, size_t cap)
{
	const char *p = msg_key_to_path(a->prefix, key);
	if (!p || msg_path_to_name(p, strlen(p), out, cap) < 0)
		snprintf(out, cap, "%s", key);
}

static uint32_t fnv1a32(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* ------------------------------------------------------------ etcd reads */

struct kvs {
	char **key, **val;
	uint64_t *rev;
	size_t n, cap;
};

static void kvs_free(struct kvs *l)
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
	struct kvs *l = arg; /* duplicates are dropped by read_tree after sorting */
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
static int read_tree(struct api *a, const char *key, struct kvs *out, uint64_t *revision)
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

static uint64_t max_rev(const struct kvs *l)
{
	uint64_t m = 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->rev[i] > m)
			m = l->rev[i];
	return m;
}

static int delete_tree(struct api *a, const char *key, const struct kvs *l)
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
	struct kvs l = { 0 };
	uint64_t rev = 0;
	read_tree(a, key, &l, &rev);
	uint64_t m = max_rev(&l);
	kvs_free(&l);
	return rev > m ? rev : m;
}

/* ------------------------------------------------------------ record JSON */

/* The name a record answers for: an API-written child (a hex hash label) of
 * an address, SRV or TXT record stands for its parent, else the key's name. */
static void owner_name(const struct api *a, const char *key, const cJSON *v, char *out, size_t cap)
{
	key_name(a, key, out, cap);
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
	if (!isip && !(cJSON_IsNumber(port) && port->valuedouble > 0) && !cJSON_IsString(text))
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
	owner_name(a, key, v, name, sizeof name);
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
static void kvs_own(const struct api *a, const char *name, struct kvs *l, size_t *others)
{
	size_t m = 0;
	for (size_t i = 0; i < l->n; i++) {
		cJSON *v = cJSON_Parse(l->val[i]);
		char owner[MSG_NAME_MAX];
		owner_name(a, l->key[i], v, owner, sizeof owner);
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
	struct kvs l = { 0 };
	int rc = read_tree(a, key, &l, NULL);
	if (rc != 0) {
		reply_err(r, 502, NULL, "etcd: %s", etcd_last_error(a->etcd));
		kvs_free(&l);
		return;
	}
	kvs_own(a, name, &l, NULL);
	if (l.n == 0) {
		kvs_free(&l);
		reply_err(r, 404, "name", "no records for %s", name);
		return;
	}
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "name", name);
	cJSON_AddNumberToObject(j, "revision", (double)max_rev(&l));
	cJSON *arr = cJSON_AddArrayToObject(j, "records");
	for (size_t i = 0; i < l.n; i++)
		cJSON_AddItemToArray(arr, record_json(a, l.key[i], l.val[i], l.rev[i]));
	kvs_free(&l);
	reply_json(r, 200, j);
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
		reply_err(r, 400, "records",
			  "body must be a JSON list of SkyDNS records (or {\"records\": [...]})");
		return -1;
	}
	int n = cJSON_GetArraySize(list);
	if (n == 0) {
		cJSON_Delete(doc);
		reply_err(r, 400, "records", "empty list (use DELETE to remove a name)");
		return -1;
	}
	char **js = calloc((size_t)n, sizeof *js);
	if (!js) {
		cJSON_Delete(doc);
		reply_err(r, 500, NULL, "out of memory");
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
			reply_err(r, 400, field, "%s: %s", field, why ? why : "invalid");
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
 * the rest below it at <key>/<fnv1a32 of the JSON>. *at_key says which. */
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
			snprintf(nk[i], sizeof nk[i], "%s/%x", key, fnv1a32(jsons[i]));
}

/* etcd v2 (no transactions): key by key. Safe against other API writes
 * only while one skydns-api serves the name (it handles one request at a
 * time); a second daemon or an etcdctl user can interleave. */
static int v1_apply_keys(struct api *a, const char *key, const struct kvs *l, char **jsons,
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
static int v1_apply_txn(struct api *a, const char *key, const struct kvs *l, uint64_t exact_rev,
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
		reply_err(r, 413, "records",
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
	struct kvs l = { 0 };
	uint64_t read_rev = 0, exact_rev = 0, revision = 0;
	char (*nk)[API_KEY_MAX] = NULL;
	int rc = read_tree(a, key, &l, &read_rev);
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
		reply_err(r, 400, "If-Match", "If-Match must be an etcd revision (a number)");
		goto out;
	}
	if (im > 0 && want != max_rev(&l)) {
		reply_err(r, 412, "If-Match", "%s changed: revision %" PRIu64 ", If-Match %" PRIu64,
			  name, max_rev(&l), want);
		goto out;
	}
	if (del && l.n == 0) {
		reply_err(r, 404, "name", "no records for %s", name);
		goto out;
	}
	nk = calloc((size_t)njson + 1, sizeof *nk);
	if (!nk) {
		reply_err(r, 500, NULL, "out of memory");
		goto out;
	}
	bool at_key = false;
	v1_new_keys(key, jsons, njson, nk, &at_key);
	if (at_key && others && !a->v3) {
		reply_err(r, 409, "records",
			  "%s has names below it: on etcd v2 its key is a directory and cannot hold "
			  "a CNAME", name);
		goto out;
	}
	if (a->v3)
		rc = v1_apply_txn(a, key, &l, exact_rev, read_rev, jsons, njson, nk, &revision, r);
	else
		rc = v1_apply_keys(a, key, &l, jsons, njson, nk, at_key, del, &revision);
	if (rc == SKY_ECONFLICT) {
		reply_err(r, 412, "If-Match",
			  "%s changed while this write was made (etcd revision now %" PRIu64
			  "): nothing written; read it again and retry", name, revision);
		goto out;
	}
	if (rc == SKY_ERANGE && r->body)
		goto out; /* over the txn limit: already answered */
	if (rc == SKY_ERANGE) {
		reply_err(r, 413, "records", "etcd refused the transaction for its size: %s",
			  etcd_last_error(a->etcd));
		goto out;
	}
	if (rc != 0)
		goto etcd_fail;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "name", name);
	cJSON_AddNumberToObject(j, del ? "deleted" : "records", del ? (double)l.n : njson);
	cJSON_AddNumberToObject(j, "revision", (double)revision);
	reply_json(r, 200, j);
	goto out;
etcd_fail:
	reply_err(r, 502, NULL, "etcd: %s", etcd_last_error(a->etcd));
out:
	free(nk);
	kvs_free(&l);
	for (int i = 0; i < njson; i++)
		free(jsons[i]);
	free(jsons);
}

static void v1_list(struct api *a, const char *prefix, struct api_reply *r)
{
	char name[MSG_NAME_MAX], key[MSG_NAME_MAX + 64];
	const char *why = NULL;
	if (name_abs(a, prefix && *prefix ? prefix : a->domain, name, &why) != 0) {
		reply_err(r, 400, "prefix", "prefix: %s", why);
		return;
	}
	if (name_key(a, name, key, sizeof key) < 0) {
		reply_err(r, 400, "prefix", "prefix: name too long");
		return;
	}
	struct kvs l = { 0 };
	if (read_tree(a, key, &l, NULL) != 0) {
		kvs_free(&l);
		reply_err(r, 502, NULL, "etcd: %s", etcd_last_error(a->etcd));
		return;
	}
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "prefix", name);
	cJSON *arr = cJSON_AddArrayToObject(j, "records");
	for (size_t i = 0; i < l.n; i++)
		cJSON_AddItemToArray(arr, record_json(a, l.key[i], l.val[i], l.rev[i]));
	kvs_free(&l);
	reply_json(r, 200, j);
}

/* ------------------------------------------------------------ explain */

/* Why skydns's mirror would skip this key (the checks of mirror.c's
 * check_entry, through the same dname/msg functions), or NULL when it
 * publishes it; *svc filled when NULL is returned. */
static const char *skip_reason(const struct api *a, const char *key, const char *val,
			       struct service *svc, char *buf, size_t cap)
{
	const char *path = msg_key_to_path(a->prefix, key);
	const char *why = NULL;
	char name[MSG_NAME_MAX];
	size_t n = path ? strlen(path) : 0;
	if (!path || !n || path[0] == '/' || path[n - 1] == '/' || strstr(path, "//"))
		why = "empty label";
	else if (msg_path_to_name(path, n, name, sizeof name) < 0)
		why = "name over 255 bytes";
	else if (dname_check(name, &why) != 0)
		;
	else
		why = NULL;
	if (why) {
		snprintf(buf, cap, "bad name: %s", why);
		return buf;
	}
	if (msg_service_parse(val, strlen(val), svc, &why) != 0) {
		snprintf(buf, cap, "bad JSON: %s", why ? why : "not a service");
		return buf;
	}
	if (svc->host && svc->host[0] && dname_check_host(svc->host, &why) != 0) {
		msg_service_clear(svc);
		snprintf(buf, cap, "bad host: %s", why);
		return buf;
	}
	return NULL;
}

/* The status keys under a->monitor that mark an address DOWN (skydns's
 * health marks: {"status":"DOWN"}); keys that are no address or whose value
 * is no status are left out, as skydns skips them. */
struct downs {
	struct health_addr *addr;
	char **key;
	size_t n;
};

static void downs_free(struct downs *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->key[i]);
	free(d->key);
	free(d->addr);
	memset(d, 0, sizeof *d);
}

static int read_downs(struct api *a, struct downs *d)
{
	if (!a->monitor[0])
		return 0;
	struct kvs l = { 0 };
	int rc = read_tree(a, a->monitor, &l, NULL);
	if (rc != 0) {
		kvs_free(&l);
		return rc;
	}
	size_t ml = strlen(a->monitor);
	d->addr = calloc(l.n + 1, sizeof *d->addr);
	d->key = calloc(l.n + 1, sizeof *d->key);
	if (!d->addr || !d->key) {
		kvs_free(&l);
		return SKY_ENOMEM;
	}
	for (size_t i = 0; i < l.n; i++) {
		bool down = false;
		const char *why = NULL;
		struct health_addr ha;
		if (strncmp(l.key[i], a->monitor, ml) != 0 || l.key[i][ml] != '/' ||
		    health_key_addr(l.key[i], &ha) != 0 ||
		    health_parse_status(l.val[i], strlen(l.val[i]), &down, &why) != 0 || !down)
			continue;
		d->addr[d->n] = ha;
		d->key[d->n] = l.key[i];
		l.key[i] = strdup(""); /* moved */
		d->n++;
	}
	kvs_free(&l);
	return 0;
}

/* The status key marking fam/ip DOWN, or NULL. */
static const char *down_key(const struct downs *d, int fam, const uint8_t ip[16])
{
	for (size_t i = 0; i < d->n; i++)
		if (d->addr[i].fam == fam && memcmp(d->addr[i].ip, ip, fam == 4 ? 4 : 16) == 0)
			return d->key[i];
	return NULL;
}

/* One used address record while explaining: answered unless DOWN (and not
 * every address of its family is DOWN). */
struct expl_addr {
	cJSON *k;
	int fam;
	const char *status_key;
	char *rr;  /* the answer line, NULL when the type asked for leaves it out */
};

/* GET /v1/explain/<name>[?type=T]: the keys that make up the answer, the ones
 * skipped and why, the addresses a status key marks DOWN (left out, or served
 * because every address of that family is DOWN: skydns fails open), and the
 * records skydns would build from the rest. */
static void v1_explain(struct api *a, const char *name, const char *key, const char *type,
		       struct api_reply *r)
{
	struct kvs l = { 0 };
	struct downs dn = { 0 };
	if (read_tree(a, key, &l, NULL) != 0 || read_downs(a, &dn) != 0) {
		kvs_free(&l);
		downs_free(&dn);
		reply_err(r, 502, NULL, "etcd: %s", etcd_last_error(a->etcd));
		return;
	}
	struct expl_addr *ea = calloc(l.n + 1, sizeof *ea);
	if (!ea) {
		kvs_free(&l);
		downs_free(&dn);
		reply_err(r, 500, NULL, "out of memory");
		return;
	}
	size_t nea = 0;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "name", name);
	cJSON_AddStringToObject(j, "key", key);
	cJSON_AddStringToObject(j, "etcd", a->v3 ? "v3" : "v2");
	if (type && *type)
		cJSON_AddStringToObject(j, "type", type);
	cJSON_AddStringToObject(j, "status_keys", a->monitor);
	cJSON *keys = cJSON_AddArrayToObject(j, "keys");
	cJSON *ans = cJSON_AddArrayToObject(j, "answers");
	bool hidden_name = !a->v3 && v2_hidden(a, key);
	for (size_t i = 0; i < l.n; i++) {
		cJSON *k = cJSON_CreateObject();
		cJSON_AddStringToObject(k, "key", l.key[i]);
		cJSON_AddStringToObject(k, "value", l.val[i]);
		struct service svc = { 0 };
		char buf[256];
		const char *why = NULL;
		if (!a->v3 && v2_hidden(a, l.key[i]))
			why = "hidden: etcd v2 leaves keys with a '_' label out of the reads skydns makes";
		else
			why = skip_reason(a, l.key[i], l.val[i], &svc, buf, sizeof buf);
		cJSON_AddBoolToObject(k, "used", why == NULL);
		if (why) {
			cJSON_AddStringToObject(k, "skipped", why);
		} else {
			char rr[1200];
			uint8_t ip[16];
			int fam = svc.host ? msg_parse_ip(svc.host, ip) : 0;
			const char *t = NULL;
			if (svc.text) {
				t = "TXT";
				snprintf(rr, sizeof rr, "TXT \"%s\"", svc.text);
			} else if (fam) {
				t = fam == 4 ? "A" : "AAAA";
				snprintf(rr, sizeof rr, "%s %s", t, svc.host);
			} else if (svc.host && svc.port) {
				t = "SRV";
				snprintf(rr, sizeof rr, "SRV %d %d %u %s", svc.priority ? svc.priority : 10,
					 svc.weight ? svc.weight : 100, svc.port, svc.host);
			} else if (svc.host) {
				t = "CNAME";
				snprintf(rr, sizeof rr, "CNAME %s.", svc.host);
			}
			if (t) {
				cJSON_AddStringToObject(k, "gives", rr);
				bool wanted = !type || !*type || strcasecmp(type, t) == 0 ||
					      (strcasecmp(type, "SRV") == 0 && (fam || !strcmp(t, "CNAME"))) ||
					      ((!strcasecmp(type, "A") || !strcasecmp(type, "AAAA")) &&
					       !strcmp(t, "CNAME"));
				if (fam && !svc.text) {
					/* answered after the loop, once the family's DOWN count is known */
					ea[nea] = (struct expl_addr){ k, fam, down_key(&dn, fam, ip),
								      wanted ? strdup(rr) : NULL };
					nea++;
				} else if (wanted) {
					cJSON_AddItemToArray(ans, cJSON_CreateString(rr));
				}
			}
			msg_service_clear(&svc);
		}
		cJSON_AddItemToArray(keys, k);
	}
	/* health marks: a DOWN address is left out unless every address of its
	 * family is DOWN (then all are served: fail open) */
	size_t total[2] = { 0, 0 }, down[2] = { 0, 0 }, left_out = 0, fail_open = 0;
	for (size_t i = 0; i < nea; i++) {
		total[ea[i].fam == 6]++;
		down[ea[i].fam == 6] += ea[i].status_key != NULL;
	}
	for (size_t i = 0; i < nea; i++) {
		int f = ea[i].fam == 6;
		bool open = down[f] == total[f];
		if (ea[i].status_key) {
			char msg[1400];
			cJSON_AddStringToObject(ea[i].k, "status_key", ea[i].status_key);
			cJSON_AddStringToObject(ea[i].k, "status", "DOWN");
			if (open)
				snprintf(msg, sizeof msg,
					 "DOWN (status key %s), but every %s address of this name is DOWN: "
					 "skydns serves them all (fail open)", ea[i].status_key,
					 f ? "IPv6" : "IPv4");
			else
				snprintf(msg, sizeof msg,
					 "DOWN (status key %s): skydns leaves this address out of its answers",
					 ea[i].status_key);
			cJSON_AddStringToObject(ea[i].k, "health", msg);
			cJSON_AddBoolToObject(ea[i].k, "answered", open);
			if (ea[i].rr)
				open ? fail_open++ : left_out++;
		}
		if (ea[i].rr && (!ea[i].status_key || open))
			cJSON_AddItemToArray(ans, cJSON_CreateString(ea[i].rr));
		free(ea[i].rr);
	}
	free(ea);
	char verdict[512];
	if (hidden_name)
		snprintf(verdict, sizeof verdict, "the name has a label starting with '_': etcd v2 hides its keys from skydns (use etcd v3)");
	else if (l.n == 0)
		snprintf(verdict, sizeof verdict, "no etcd key at or below this name: skydns answers NXDOMAIN (unless a wildcard or forwarding applies)");
	else if (cJSON_GetArraySize(ans) == 0)
		snprintf(verdict, sizeof verdict, "no usable record of this type: skydns answers NODATA or NXDOMAIN");
	else if (left_out)
		snprintf(verdict, sizeof verdict, "skydns answers from the used keys, leaving out %zu DOWN address%s",
			 left_out, left_out == 1 ? "" : "es");
	else if (fail_open)
		snprintf(verdict, sizeof verdict, "skydns answers from the used keys; every address is DOWN, so all are served (fail open)");
	else
		snprintf(verdict, sizeof verdict, "skydns answers from the used keys");
	cJSON_AddStringToObject(j, "verdict", verdict);
	kvs_free(&l);
	downs_free(&dn);
	reply_json(r, 200, j);
}

/* ------------------------------------------------------------ seed API */

static void seed_list(struct api *a, const char *name, const char *key, struct api_reply *r)
{
	struct kvs l = { 0 };
	if (read_tree(a, key, &l, NULL) != 0) {
		kvs_free(&l);
		reply_text(r, 502, "ERR, etcd: %s\n", etcd_last_error(a->etcd));
		return;
	}
	if (l.n == 0 && name) {
		kvs_free(&l);
		reply_text(r, 404, "ERR, no find  domain name \n");
		return;
	}
	cJSON *map = cJSON_CreateObject();
	for (size_t i = 0; i < l.n; i++) {
		cJSON *v = cJSON_Parse(l.val[i]);
		if (!cJSON_IsObject(v)) {
			cJSON_Delete(v);
			continue;
		}
		char owner[MSG_NAME_MAX];
		owner_name(a, l.key[i], v, owner, sizeof owner);
		size_t on = strlen(owner);
		if (on > 1 && owner[on - 1] == '.')
			owner[on - 1] = 0;
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(v, "host");
		const char *host = cJSON_IsString(h) ? h->valuestring : "";
		uint8_t ip[16];
		cJSON *e = cJSON_GetObjectItemCaseSensitive(map, owner);
		if (msg_parse_ip(host, ip)) {
			if (!e) {
				e = cJSON_AddObjectToObject(map, owner);
				cJSON_AddStringToObject(e, "type", "A");
				cJSON_AddArrayToObject(e, "ips");
			}
			cJSON *ips = cJSON_GetObjectItemCaseSensitive(e, "ips");
			if (cJSON_IsArray(ips))
				cJSON_AddItemToArray(ips, cJSON_CreateString(host));
		} else if (*host && !e) {
			e = cJSON_AddObjectToObject(map, owner);
			cJSON_AddStringToObject(e, "type", "CNAME");
			cJSON_AddStringToObject(e, "alias-domain", host);
		}
		cJSON_Delete(v);
	}
	kvs_free(&l);
	r->status = 200;
	r->body = cJSON_PrintUnformatted(map);
	r->ctype = "application/json";
	cJSON_Delete(map);
}

/* Write keys under a name that must not exist yet (the seed's POST). v3:
 * one txn guarded by "the key and everything under it absent", so of two
 * writers racing for a name one gets SKY_ECONFLICT; v2: key by key. */
static int seed_put_new(struct api *a, const char *key, const struct etcd_op *ops, size_t n)
{
	if (!a->v3) {
		int rc = 0;
		for (size_t i = 0; i < n && !rc; i++)
			rc = etcd_put(a->etcd, ops[i].key, ops[i].value, 0);
		return rc;
	}
	struct etcd_cmp cmp[2] = {
		{ .key = key, .target = ETCD_CMP_CREATE },
		{ .key = key, .below = true, .target = ETCD_CMP_CREATE },
	};
	if (n > (size_t)etcd_txn_limit(a->etcd))
		return SKY_ERANGE;
	return etcd_txn(a->etcd, cmp, 2, ops, n, NULL);
}

/* The seed's answer to seed_put_new's code; `what` is "domain" or "alias". */
static void seed_reply(struct api *a, int rc, const char *what, struct api_reply *r)
{
	if (rc == 0)
		reply_text(r, 200, "OK");
	else if (rc == SKY_ECONFLICT)
		reply_text(r, 409, "ERR, set domain name error  %s exists \n", what);
	else if (rc == SKY_ERANGE)
		reply_text(r, 413, "ERR, more records than one etcd transaction takes (limit %d)\n",
			   etcd_txn_limit(a->etcd));
	else
		reply_text(r, 502, "ERR, etcd: %s\n", etcd_last_error(a->etcd));
}

/* POST {"type":"A","ips":[...]} (checked): one key per distinct address. */
static void seed_post_ips(struct api *a, const char *key, const cJSON *ips, struct api_reply *r)
{
	size_t n = (size_t)cJSON_GetArraySize(ips), nop = 0;
	char (*k)[API_KEY_MAX] = calloc(n, sizeof *k);
	char (*v)[128] = calloc(n, sizeof *v);
	struct etcd_op *op = calloc(n, sizeof *op);
	if (!k || !v || !op) {
		reply_text(r, 500, "ERR, out of memory\n");
		goto out;
	}
	for (const cJSON *ip = ips->child; ip; ip = ip->next) {
		snprintf(k[nop], sizeof k[nop], "%s/%x", key, fnv1a32(ip->valuestring));
		snprintf(v[nop], sizeof v[nop], "{\"host\":\"%s\",\"ttl\":30}", ip->valuestring);
		bool dup = false; /* an address listed twice: one key (etcd refuses two in a txn) */
		for (size_t i = 0; i < nop && !dup; i++)
			dup = strcmp(k[i], k[nop]) == 0;
		if (!dup) {
			op[nop] = (struct etcd_op){ .key = k[nop], .value = v[nop] };
			nop++;
		}
	}
	seed_reply(a, seed_put_new(a, key, op, nop), "domain", r);
out:
	free(k);
	free(v);
	free(op);
}

static void seed_post(struct api *a, const char *urlname, const char *name, const char *key,
		      const char *body, size_t len, struct api_reply *r)
{
	cJSON *doc = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		reply_text(r, 400, "ERR, body is not a JSON object\n");
		return;
	}
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(doc, "type");
	if (!cJSON_IsString(t)) {
		cJSON_Delete(doc);
		reply_text(r, 400, "ERR,type not support \n");
		return;
	}
	struct kvs l = { 0 };
	if (strcasecmp(t->valuestring, "A") == 0 || strcasecmp(t->valuestring, "AAAA") == 0) {
		int want = strcasecmp(t->valuestring, "A") == 0 ? 4 : 6;
		const cJSON *ips = cJSON_GetObjectItemCaseSensitive(doc, "ips");
		if (!cJSON_IsArray(ips) || cJSON_GetArraySize(ips) == 0) {
			reply_text(r, 400, "ERR, no domain ips \n");
			goto out;
		}
		for (const cJSON *ip = ips->child; ip; ip = ip->next) {
			uint8_t b[16];
			if (!cJSON_IsString(ip) || msg_parse_ip(ip->valuestring, b) != want) {
				reply_text(r, 400, "ERR, it is not  IP addr %s\n",
					   cJSON_IsString(ip) ? ip->valuestring : "(not a string)");
				goto out;
			}
		}
		if (read_tree(a, key, &l, NULL) != 0)
			goto etcd_fail;
		if (l.n) {
			reply_text(r, 409, "ERR, set domain name error  domain exists \n");
			goto out;
		}
		seed_post_ips(a, key, ips, r);
	} else if (strcasecmp(t->valuestring, "cname") == 0) {
		const cJSON *al = cJSON_GetObjectItemCaseSensitive(doc, "alias");
		char alias[MSG_NAME_MAX], akey[MSG_NAME_MAX + 64], target[MSG_NAME_MAX];
		const char *why = NULL;
		if (!cJSON_IsString(al) || name_abs(a, al->valuestring, alias, &why) != 0) {
			reply_text(r, 400, "ERR, bad alias: %s\n", why ? why : "no alias");
			goto out;
		}
		snprintf(target, sizeof target, "%s", urlname);
		for (char *p = target; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		size_t tn = strlen(target);
		if (tn > 1 && target[tn - 1] == '.')
			target[tn - 1] = 0;
		if (dname_check_host(target, &why) != 0) {
			reply_text(r, 400, "ERR, bad target: %s\n", why);
			goto out;
		}
		name_key(a, alias, akey, sizeof akey);
		char zone[MSG_NAME_MAX];
		if (managed_zone(a, alias, zone, sizeof zone) > 0) {
			reply_text(r, 409, "ERR, %s is in zone %s, which kube2sky manages: read-only here\n",
				   alias, zone);
			goto out;
		}
		if (!a->v3 && v2_hidden(a, akey)) {
			reply_text(r, 400, "ERR, alias %s: %s\n", alias, V2_HIDDEN);
			goto out;
		}
		if (read_tree(a, akey, &l, NULL) != 0)
			goto etcd_fail;
		if (l.n) {
			reply_text(r, 409, "ERR, set domain name error  alias exists \n");
			goto out;
		}
		cJSON *v = cJSON_CreateObject();
		cJSON_AddStringToObject(v, "host", target);
		cJSON_AddNumberToObject(v, "ttl", 30);
		char *vs = cJSON_PrintUnformatted(v);
		cJSON_Delete(v);
		struct etcd_op op = { .key = akey, .value = vs };
		seed_reply(a, seed_put_new(a, akey, &op, 1), "alias", r);
		free(vs);
	} else {
		reply_text(r, 400, "ERR, no type offered \n");
	}
	(void)name;
	goto out;
etcd_fail:
	reply_text(r, 502, "ERR, etcd: %s\n", etcd_last_error(a->etcd));
out:
	kvs_free(&l);
	cJSON_Delete(doc);
}

/* The seed's DELETE: the key and its subtree. v3: one txn of two deletes
 * (the key, the range under it), unguarded: a key added under the name
 * meanwhile goes too, as if the delete came after it. v2: key by key. */
static int seed_delete_tree(struct api *a, const char *key, const struct kvs *l)
{
	if (!a->v3)
		return delete_tree(a, key, l);
	struct etcd_op op[2] = { { .key = key }, { .key = key, .below = true } };
	return etcd_txn(a->etcd, NULL, 0, op, 2, NULL);
}

static void seed_delete(struct api *a, const char *key, struct api_reply *r)
{
	struct kvs l = { 0 };
	if (read_tree(a, key, &l, NULL) != 0) {
		reply_text(r, 502, "ERR, etcd: %s\n", etcd_last_error(a->etcd));
	} else if (l.n == 0) {
		reply_text(r, 404, "ERR, no find  domain name \n");
	} else if (seed_delete_tree(a, key, &l) != 0) {
		reply_text(r, 502, "ERR, etcd: %s\n", etcd_last_error(a->etcd));
	} else {
		reply_text(r, 200, "OK");
	}
	kvs_free(&l);
}

static bool v2_hidden(const struct api *a, const char *key)
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

static int managed_zone(struct api *a, const char *name, char *out, size_t cap)
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
		reply_err(r, 404, NULL, "no such endpoint: %s", url);
		return;
	}
	const char *rest = url + (explain ? 12 : 11);
	if (*rest == '/')
		rest++;
	char name[MSG_NAME_MAX], key[MSG_NAME_MAX + 64];
	const char *why = NULL;
	if (*rest) {
		if (name_abs(a, rest, name, &why) != 0) {
			if (seed)
				reply_text(r, 400, "ERR, bad domain name %s: %s\n", rest, why);
			else
				reply_err(r, 400, "name", "name %s: %s", rest, why);
			return;
		}
		if (name_key(a, name, key, sizeof key) < 0) {
			reply_err(r, 400, "name", "name too long");
			return;
		}
	}
	if (explain) {
		if (!*rest || strcmp(method, "GET") != 0)
			reply_err(r, 400, "name", "GET /v1/explain/<name>[?type=TYPE]");
		else
			v1_explain(a, name, key, query_prefix, r);
		return;
	}
	if (*rest && !a->v3 && strcmp(method, "GET") != 0 && strcmp(method, "DELETE") != 0 &&
	    v2_hidden(a, key)) {
		if (seed)
			reply_text(r, 400, "ERR, %s: %s\n", name, V2_HIDDEN);
		else
			reply_err(r, 400, "name", "name %s: %s", name, V2_HIDDEN);
		return;
	}
	if (*rest && strcmp(method, "GET") != 0) {
		char zone[MSG_NAME_MAX];
		int mz = managed_zone(a, name, zone, sizeof zone);
		if (mz < 0) {
			if (seed)
				reply_text(r, 502, "ERR, etcd: %s\n", etcd_last_error(a->etcd));
			else
				reply_err(r, 502, NULL, "etcd: %s", etcd_last_error(a->etcd));
			return;
		}
		if (mz > 0) {
			if (seed)
				reply_text(r, 409, "ERR, %s is in zone %s, which kube2sky manages: read-only here\n",
					   name, zone);
			else
				reply_err(r, 409, "name",
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
				reply_err(r, 405, NULL, "%s /v1/records: use GET (list) or /v1/records/<name>",
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
			reply_err(r, 405, NULL, "%s: use GET, PUT or DELETE", method);
		return;
	}
	if (!*rest) {
		if (strcmp(method, "GET") == 0) {
			name_abs(a, a->domain, name, &why);
			name_key(a, name, key, sizeof key);
			seed_list(a, NULL, key, r);
		} else {
			reply_text(r, 405, "ERR, %s needs a domain name\n", method);
		}
		return;
	}
	if (strcmp(method, "GET") == 0)
		seed_list(a, name, key, r);
	else if (strcmp(method, "POST") == 0)
		seed_post(a, rest, name, key, body, body_len, r);
	else if (strcmp(method, "DELETE") == 0)
		seed_delete(a, key, r);
	else
		reply_text(r, 405, "ERR, method %s not supported\n", method);
}
