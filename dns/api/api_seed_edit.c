/* api_seed_edit.c - the rest of the ipdcode seed's /skydns/api calls
 * (issue 15 follow-up), as records skydns answers:
 *
 *   POST   /skydns/api/<n>    {"type":"NS","nsHost":IP}       ns.dns.<domain>
 *                             {"type":"MX","mailHost":H,"mailPriority":P}
 *                             {"type":"TXT","text":T}         at the name
 *   PUT    /skydns/api/<name> {"type":"A"|"AAAA","update":{"old":"new"}}
 *   PUT    /skydns/api/<tgt>  {"type":"CNAME","update":{"oldalias":"newalias"}}
 *   DELETE /skydns/api/<name> {"type":"A"|"SRV","ips":[..]} | {"type":"CNAME"}
 *                             | {"type":"NS"|"MX"|"TXT"}
 *
 * Every write is one etcd v3 txn guarded on the mod revisions of the keys
 * it read (a concurrent change: 409, nothing written); v2 writes key by key.
 * Status keys: this API's POST never creates /<prefix>/monitor/status/<ip>
 * (skydns takes an absent status as UP), so PUT and DELETE leave them too:
 * another name may use the address.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "api_int.h"
#include "dname.h"
#include "err.h"

/* Apply ops under cmps: v3 one txn, v2 key by key (no compares there). */
static int edit_write(struct api *a, const struct etcd_cmp *cmps, size_t ncmp,
		      const struct etcd_op *ops, size_t nops)
{
	if (a->v3) {
		if (nops > (size_t)etcd_txn_limit(a->etcd))
			return SKY_ERANGE;
		return etcd_txn(a->etcd, cmps, ncmp, ops, nops, NULL);
	}
	int rc = 0;
	for (size_t i = 0; i < nops && !rc; i++)
		rc = ops[i].value ? etcd_put(a->etcd, ops[i].key, ops[i].value, 0)
				  : etcd_delete(a->etcd, ops[i].key);
	return rc;
}

static void edit_reply(struct api *a, int rc, struct api_reply *r)
{
	if (rc == SKY_ECONFLICT)
		api_reply_text(r, 409, "ERR, changed meanwhile, nothing written: try again \n");
	else
		api_seed_reply(a, rc, "domain", r);
}

/* The index of the address record (not a mail host) whose host is the
 * address `host` in any spelling, below the name or at its key (/v1/records
 * may write one record there), or -1. */
static long edit_find_host(const struct api_kvs *l, const char *host)
{
	uint8_t want[16], got[16];
	int fam = msg_parse_ip(host, want);
	if (!fam) /* an alias's target is no address: never a hit */
		return -1;
	for (size_t i = 0; i < l->n; i++) {
		cJSON *v = cJSON_Parse(l->val[i]);
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(v, "host");
		bool hit = cJSON_IsString(h) && msg_parse_ip(h->valuestring, got) == fam &&
			   memcmp(got, want, fam == 4 ? 4 : 16) == 0 &&
			   !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "mail"));
		cJSON_Delete(v);
		if (hit)
			return (long)i;
	}
	return -1;
}

/* ------------------------------------------------------------ POST NS/MX/TXT */

/* NS: the seed's <n>.ns.dns.<domain> at its own key (no hash label), so
 * skydns's apex NS answer names it n.ns.dns.<domain>, glue nsHost. */
static void post_ns(struct api *a, const char *urlname, const cJSON *doc, struct api_reply *r)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(doc, "nsHost");
	uint8_t ip[16];
	char rel[MSG_NAME_MAX], name[MSG_NAME_MAX], key[API_KEY_MAX];
	const char *why = NULL;
	if (strchr(urlname, '.')) {
		api_reply_text(r, 400, "ERR,  domain name cant not contain dot \n");
		return;
	}
	if (!cJSON_IsString(h) || !msg_parse_ip(h->valuestring, ip)) {
		api_reply_text(r, 400, "ERR, it is not  IP addr %s\n",
			   cJSON_IsString(h) ? h->valuestring : "(no nsHost)");
		return;
	}
	snprintf(rel, sizeof rel, "%s.ns.dns", urlname);
	if (api_name_abs(a, rel, name, &why) != 0 || api_name_key(a, name, key, sizeof key) < 0) {
		api_reply_text(r, 400, "ERR, bad domain name %s: %s\n", rel, why ? why : "too long");
		return;
	}
	struct api_kvs l = { 0 };
	if (api_read_tree(a, key, &l, NULL) != 0) {
		api_reply_text(r, 502, "ERR, etcd: %s\n", etcd_last_error(a->etcd));
	} else if (l.n) {
		api_reply_text(r, 409, "ERR, set domain name error  domain exists \n");
	} else {
		char v[128];
		snprintf(v, sizeof v, "{\"host\":\"%s\",\"ttl\":30}", h->valuestring);
		struct etcd_op op = { .key = key, .value = v };
		api_seed_reply(a, api_seed_put_new(a, key, &op, 1), "domain", r);
	}
	api_kvs_free(&l);
}

/* MX and TXT at the name itself (the seed's <n>.mail.<d> / <n>.txt.<d>
 * would be answered for those names only): one child keyed by the hash of
 * the mail host or text. The name must not be an alias, the child new. */
void api_seed_post_other(struct api *a, const char *urlname, const char *key,
			 const cJSON *doc, const char *type, struct api_reply *r)
{
	if (strcasecmp(type, "NS") == 0) {
		post_ns(a, urlname, doc, r);
		return;
	}
	bool mx = strcasecmp(type, "MX") == 0;
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(doc, mx ? "mailHost" : "text");
	const char *why = NULL;
	uint8_t ip[16];
	if (!cJSON_IsString(f) || !*f->valuestring) {
		api_reply_text(r, 400, "ERR, no %s \n", mx ? "mailHost" : "text");
		return;
	}
	if (mx && !msg_parse_ip(f->valuestring, ip) && dname_check_host(f->valuestring, &why) != 0) {
		api_reply_text(r, 400, "ERR, bad mailHost %s: %s\n", f->valuestring, why);
		return;
	}
	const cJSON *pr = cJSON_GetObjectItemCaseSensitive(doc, "mailPriority");
	double prio = cJSON_IsNumber(pr) ? pr->valuedouble
		      : cJSON_IsString(pr) ? strtod(pr->valuestring, NULL) : 10;
	if (prio < 0 || prio > 65535 || prio != (int)prio) {
		api_reply_text(r, 400, "ERR, bad mailPriority (0..65535)\n");
		return;
	}
	char ckey[API_KEY_MAX];
	snprintf(ckey, sizeof ckey, "%s/%x", key, msg_label_hash(f->valuestring));
	cJSON *v = cJSON_CreateObject();
	if (mx) {
		cJSON_AddStringToObject(v, "host", f->valuestring);
		cJSON_AddBoolToObject(v, "mail", true);
		cJSON_AddNumberToObject(v, "priority", prio);
	} else {
		cJSON_AddStringToObject(v, "text", f->valuestring);
	}
	cJSON_AddNumberToObject(v, "ttl", 30);
	char *vs = cJSON_PrintUnformatted(v);
	cJSON_Delete(v);
	struct api_kvs l = { 0 };
	bool taken = false;
	if (api_read_tree(a, key, &l, NULL) != 0) {
		api_reply_text(r, 502, "ERR, etcd: %s\n", etcd_last_error(a->etcd));
		goto out;
	}
	size_t cl = strlen(ckey);
	for (size_t i = 0; i < l.n; i++)
		taken |= strcmp(l.key[i], key) == 0 ||
			 (strncmp(l.key[i], ckey, cl) == 0 && (!l.key[i][cl] || l.key[i][cl] == '/'));
	if (taken) {
		api_reply_text(r, 409, "ERR, set domain name error  domain exists \n");
		goto out;
	}
	struct etcd_cmp cmp[3] = {
		{ .key = key, .target = ETCD_CMP_CREATE },
		{ .key = ckey, .target = ETCD_CMP_CREATE },
		{ .key = ckey, .below = true, .target = ETCD_CMP_CREATE },
	};
	struct etcd_op op = { .key = ckey, .value = vs };
	int rc = edit_write(a, cmp, 3, &op, 1);
	api_seed_reply(a, rc, "domain", r);
out:
	api_kvs_free(&l);
	free(vs);
}

/* ------------------------------------------------------------ PUT */

/* {"type":"A","update":{"old":"new"}}: the old record moves to the new
 * address (its other fields kept). Guards: the old key unchanged, the new
 * key absent, nothing under the name written since the read. */
static void put_addr(struct api *a, const char *key, const cJSON *pair, int want,
		     struct api_reply *r)
{
	const char *oldip = pair->string, *newip = cJSON_IsString(pair) ? pair->valuestring : "";
	uint8_t b[16];
	if (msg_parse_ip(newip, b) != want) {
		api_reply_text(r, 400, "ERR, it is not  IP addr %s\n", newip);
		return;
	}
	struct api_kvs l = { 0 };
	long o, n;
	if (api_read_tree(a, key, &l, NULL) != 0) {
		api_reply_text(r, 502, "ERR, etcd: %s\n", etcd_last_error(a->etcd));
	} else if ((n = edit_find_host(&l, newip)) >= 0) {
		api_reply_text(r, 409, "ERR, ip %s exists \n", newip);
	} else if (l.n == 0) {
		api_reply_text(r, 404, "ERR, no find  domain name \n");
	} else if ((o = edit_find_host(&l, oldip)) < 0) {
		api_reply_text(r, 404, "ERR, no find ip %s \n", oldip);
	} else {
		char nkey[API_KEY_MAX];
		bool here = strcmp(l.key[o], key) == 0; /* at the name's key: rewritten in place */
		snprintf(nkey, sizeof nkey, "%s/%x", key, msg_label_hash(newip));
		cJSON *v = cJSON_Parse(l.val[o]);
		cJSON_ReplaceItemInObjectCaseSensitive(v, "host", cJSON_CreateString(newip));
		char *vs = cJSON_PrintUnformatted(v);
		cJSON_Delete(v);
		struct etcd_cmp cmp[3] = {
			{ .key = l.key[o], .target = ETCD_CMP_MOD, .value = l.rev[o] },
			{ .key = nkey, .target = ETCD_CMP_CREATE },
			{ .key = key, .below = true, .target = ETCD_CMP_MOD,
			  .result = ETCD_CMP_LESS, .value = api_max_rev(&l) + 1 },
		};
		struct etcd_op op[2] = { { .key = l.key[o] }, { .key = nkey, .value = vs } };
		if (here) {
			op[0] = (struct etcd_op){ .key = key, .value = vs };
			cmp[1] = cmp[2];
		}
		edit_reply(a, vs ? edit_write(a, cmp, here ? 2 : 3, op, here ? 1 : 2) : SKY_ENOMEM,
			   r);
		free(vs);
	}
	api_kvs_free(&l);
}

/* {"type":"CNAME","update":{"oldalias":"newalias"}} at the target: the old
 * alias must point to the target, the new one be free; the alias moves. */
static void put_cname(struct api *a, const char *urlname, const cJSON *pair, struct api_reply *r)
{
	char target[MSG_NAME_MAX], oname[MSG_NAME_MAX], nname[MSG_NAME_MAX], zone[MSG_NAME_MAX];
	char okey[API_KEY_MAX], nkey[API_KEY_MAX];
	const char *why = NULL;
	if (api_seed_target(urlname, target, &why) != 0 ||
	    api_name_abs(a, pair->string, oname, &why) != 0 || !cJSON_IsString(pair) ||
	    api_name_abs(a, pair->valuestring, nname, &why) != 0) {
		api_reply_text(r, 400, "ERR, bad alias: %s\n", why ? why : "not a string");
		return;
	}
	api_name_key(a, oname, okey, sizeof okey);
	api_name_key(a, nname, nkey, sizeof nkey);
	int mz = api_managed_zone(a, nname, zone, sizeof zone);
	if (mz == 0)
		mz = api_managed_zone(a, oname, zone, sizeof zone);
	if (mz < 0) {
		api_reply_text(r, 502, "ERR, etcd: %s\n", etcd_last_error(a->etcd));
		return;
	}
	if (mz > 0) {
		api_reply_text(r, 409, "ERR, alias in zone %s, which kube2sky manages: read-only here\n",
			   zone);
		return;
	}
	if (!a->v3 && api_v2_hidden(a, nkey)) {
		api_reply_text(r, 400, "ERR, alias %s: %s\n", nname, V2_HIDDEN);
		return;
	}
	struct api_kvs ol = { 0 }, nl = { 0 };
	cJSON *v = NULL;
	const cJSON *h = NULL;
	if (api_read_tree(a, okey, &ol, NULL) != 0 || api_read_tree(a, nkey, &nl, NULL) != 0) {
		api_reply_text(r, 502, "ERR, etcd: %s\n", etcd_last_error(a->etcd));
		goto out;
	}
	if (ol.n == 0 || strcmp(ol.key[0], okey) != 0) {
		api_reply_text(r, 404, "ERR, no find alias %s \n", pair->string);
		goto out;
	}
	v = cJSON_Parse(ol.val[0]);
	h = cJSON_GetObjectItemCaseSensitive(v, "host");
	if (!cJSON_IsString(h) || strcasecmp(h->valuestring, target) != 0) {
		api_reply_text(r, 409, "ERR, alias %s does not point to %s \n", pair->string, target);
	} else if (nl.n) {
		api_reply_text(r, 409, "ERR, set domain name error  alias exists \n");
	} else {
		struct etcd_cmp cmp[3] = {
			{ .key = okey, .target = ETCD_CMP_MOD, .value = ol.rev[0] },
			{ .key = nkey, .target = ETCD_CMP_CREATE },
			{ .key = nkey, .below = true, .target = ETCD_CMP_CREATE },
		};
		struct etcd_op op[2] = { { .key = okey }, { .key = nkey, .value = ol.val[0] } };
		edit_reply(a, edit_write(a, cmp, 3, op, 2), r);
	}
out:
	cJSON_Delete(v);
	api_kvs_free(&ol);
	api_kvs_free(&nl);
}

void api_seed_put(struct api *a, const char *urlname, const char *key, const char *body,
		  size_t len, struct api_reply *r)
{
	cJSON *doc = cJSON_ParseWithLength(body, len);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(doc, "type");
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(doc, "update");
	if (!cJSON_IsObject(doc))
		api_reply_text(r, 400, "ERR, body is not a JSON object\n");
	else if (!cJSON_IsString(t))
		api_reply_text(r, 400, "ERR,type not support \n");
	else if (!cJSON_IsObject(u))
		api_reply_text(r, 400, "ERR, no body update \n");
	else if (cJSON_GetArraySize(u) != 1)
		api_reply_text(r, 400, "ERR, put just support  one update one time\n");
	else if (strcasecmp(t->valuestring, "A") == 0)
		put_addr(a, key, u->child, 4, r);
	else if (strcasecmp(t->valuestring, "AAAA") == 0)
		put_addr(a, key, u->child, 6, r);
	else if (strcasecmp(t->valuestring, "CNAME") == 0)
		put_cname(a, urlname, u->child, r);
	else
		api_reply_text(r, 400, "ERR, no type offered \n");
	cJSON_Delete(doc);
}

/* ------------------------------------------------------------ DELETE with a body */

/* Which records below the name a typed DELETE takes. */
enum del_kind { DEL_IPS, DEL_MX, DEL_TXT };

static bool del_match(const char *val, enum del_kind k)
{
	cJSON *v = cJSON_Parse(val);
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(v, k == DEL_MX ? "mail" : "text");
	bool hit = k == DEL_MX ? cJSON_IsTrue(f) : cJSON_IsString(f);
	cJSON_Delete(v);
	return hit;
}

/* Delete the records chosen (ips listed, or MX/TXT ones), each guarded on
 * its mod revision; all listed addresses must exist. v2: then the name's
 * directory if it is empty. */
static void del_some(struct api *a, const char *key, const cJSON *ips, enum del_kind k,
		     struct api_reply *r)
{
	struct api_kvs l = { 0 };
	struct etcd_op *op = NULL;
	struct etcd_cmp *cmp = NULL;
	size_t n = 0;
	if (api_read_tree(a, key, &l, NULL) != 0) {
		api_reply_text(r, 502, "ERR, etcd: %s\n", etcd_last_error(a->etcd));
		goto out;
	}
	op = calloc(l.n + 1, sizeof *op);
	cmp = calloc(l.n + 1, sizeof *cmp);
	if (!op || !cmp) {
		api_reply_text(r, 500, "ERR, out of memory\n");
		goto out;
	}
	bool *take = (bool *)calloc(l.n + 1, sizeof *take);
	for (const cJSON *ip = ips ? ips->child : NULL; ip && take; ip = ip->next) {
		long i = cJSON_IsString(ip) ? edit_find_host(&l, ip->valuestring) : -1;
		if (i < 0) {
			api_reply_text(r, 404, "ERR, no find ip %s \n",
				   cJSON_IsString(ip) ? ip->valuestring : "(not a string)");
			free(take);
			goto out;
		}
		take[i] = true;
	}
	for (size_t i = 0; i < l.n && take; i++) {
		if (!ips && strcmp(l.key[i], key) != 0 && del_match(l.val[i], k))
			take[i] = true;
		if (take[i]) {
			op[n] = (struct etcd_op){ .key = l.key[i] };
			cmp[n] = (struct etcd_cmp){ .key = l.key[i], .target = ETCD_CMP_MOD,
						    .value = l.rev[i] };
			n++;
		}
	}
	free(take);
	if (n == 0) {
		api_reply_text(r, 404, "ERR, no find  domain name \n");
		goto out;
	}
	int rc = edit_write(a, cmp, n, op, n);
	if (rc == 0 && !a->v3 && n == l.n)
		(void)etcd_delete_dir(a->etcd, key, false); /* empty now; a key added meanwhile keeps it */
	edit_reply(a, rc, r);
out:
	free(op);
	free(cmp);
	api_kvs_free(&l);
}

/* {"type":"CNAME"}: the alias key at the URL's name (an alias: a host that
 * is not an address, at the name's own key). */
static void del_cname(struct api *a, const char *key, struct api_reply *r)
{
	struct api_kvs l = { 0 };
	uint8_t ip[16];
	if (api_read_tree(a, key, &l, NULL) != 0) {
		api_reply_text(r, 502, "ERR, etcd: %s\n", etcd_last_error(a->etcd));
	} else if (l.n == 0 || strcmp(l.key[0], key) != 0) {
		api_reply_text(r, 404, "ERR, no find  alias \n");
	} else {
		cJSON *v = cJSON_Parse(l.val[0]);
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(v, "host");
		bool alias = cJSON_IsString(h) && *h->valuestring && !msg_parse_ip(h->valuestring, ip);
		cJSON_Delete(v);
		struct etcd_cmp cmp = { .key = key, .target = ETCD_CMP_MOD, .value = l.rev[0] };
		struct etcd_op op = { .key = key };
		if (!alias)
			api_reply_text(r, 404, "ERR, no find  alias \n");
		else
			edit_reply(a, edit_write(a, &cmp, 1, &op, 1), r);
	}
	api_kvs_free(&l);
}

void api_seed_delete_body(struct api *a, const char *urlname, const char *key, const char *body,
			  size_t len, struct api_reply *r)
{
	cJSON *doc = cJSON_ParseWithLength(body, len);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(doc, "type");
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(doc, "ips");
	const char *type = cJSON_IsString(t) ? t->valuestring : NULL;
	if (!cJSON_IsObject(doc)) {
		api_reply_text(r, 400, "ERR, body is not a JSON object\n");
	} else if (!type || ((!strcasecmp(type, "A") || !strcasecmp(type, "AAAA") ||
			      !strcasecmp(type, "SRV")) && !cJSON_IsArray(ips))) {
		api_seed_delete(a, key, r); /* no type, or no ips: everything, as the seed */
	} else if (!strcasecmp(type, "A") || !strcasecmp(type, "AAAA") || !strcasecmp(type, "SRV")) {
		if (cJSON_GetArraySize(ips) == 0)
			api_reply_text(r, 400, "ERR, no domain ips \n");
		else
			del_some(a, key, ips, DEL_IPS, r);
	} else if (!strcasecmp(type, "CNAME")) {
		del_cname(a, key, r);
	} else if (!strcasecmp(type, "MX") || !strcasecmp(type, "TXT")) {
		del_some(a, key, NULL, strcasecmp(type, "MX") == 0 ? DEL_MX : DEL_TXT, r);
	} else if (!strcasecmp(type, "NS")) {
		char rel[MSG_NAME_MAX], name[MSG_NAME_MAX], nkey[API_KEY_MAX];
		const char *why = NULL;
		snprintf(rel, sizeof rel, "%s.ns.dns", urlname);
		if (strchr(urlname, '.') || api_name_abs(a, rel, name, &why) != 0 ||
		    api_name_key(a, name, nkey, sizeof nkey) < 0)
			api_reply_text(r, 400, "ERR,  domain name cant not contain dot \n");
		else
			api_seed_delete(a, nkey, r);
	} else {
		api_reply_text(r, 400, "ERR, no type offered \n");
	}
	cJSON_Delete(doc);
}
