/* api_seed.c - the ipdcode seed's calls, verbatim (issue 15):
 *
 *   GET    /skydns/api[/<name>]   a JSON map {name: {type, ips | alias-domain}}
 *   POST   /skydns/api/<name>     {"type":"A","ips":[...]} or
 *                                 {"type":"cname","alias":"<alias>"}: "OK"
 *   DELETE /skydns/api/<name>     the name and everything below it: "OK"
 *
 * answering "OK", a JSON map or an "ERR, ..." line as the seed does. POST
 * only creates (409 when the name exists); on etcd v3 the create is one
 * txn guarded by "absent", so of two racing writers one gets the 409.
 */
#include <ctype.h>
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

/* ------------------------------------------------------------ seed API */

void api_seed_list(struct api *a, const char *name, const char *key, struct api_reply *r)
{
	struct api_kvs l = { 0 };
	if (api_read_tree(a, key, &l, NULL) != 0) {
		api_kvs_free(&l);
		api_reply_text(r, 502, "ERR, etcd: %s\n", etcd_last_error(a->etcd));
		return;
	}
	if (l.n == 0 && name) {
		api_kvs_free(&l);
		api_reply_text(r, 404, "ERR, no find  domain name \n");
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
		api_owner_name(a, l.key[i], v, owner, sizeof owner);
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
	api_kvs_free(&l);
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
		api_reply_text(r, 200, "OK");
	else if (rc == SKY_ECONFLICT)
		api_reply_text(r, 409, "ERR, set domain name error  %s exists \n", what);
	else if (rc == SKY_ERANGE)
		api_reply_text(r, 413, "ERR, more records than one etcd transaction takes (limit %d)\n",
			   etcd_txn_limit(a->etcd));
	else
		api_reply_text(r, 502, "ERR, etcd: %s\n", etcd_last_error(a->etcd));
}

/* POST {"type":"A","ips":[...]} (checked): one key per distinct address. */
static void seed_post_ips(struct api *a, const char *key, const cJSON *ips, struct api_reply *r)
{
	size_t n = (size_t)cJSON_GetArraySize(ips), nop = 0;
	char (*k)[API_KEY_MAX] = calloc(n, sizeof *k);
	char (*v)[128] = calloc(n, sizeof *v);
	struct etcd_op *op = calloc(n, sizeof *op);
	if (!k || !v || !op) {
		api_reply_text(r, 500, "ERR, out of memory\n");
		goto out;
	}
	for (const cJSON *ip = ips->child; ip; ip = ip->next) {
		snprintf(k[nop], sizeof k[nop], "%s/%x", key, api_fnv1a32(ip->valuestring));
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

void api_seed_post(struct api *a, const char *urlname, const char *name, const char *key,
		      const char *body, size_t len, struct api_reply *r)
{
	cJSON *doc = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		api_reply_text(r, 400, "ERR, body is not a JSON object\n");
		return;
	}
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(doc, "type");
	if (!cJSON_IsString(t)) {
		cJSON_Delete(doc);
		api_reply_text(r, 400, "ERR,type not support \n");
		return;
	}
	struct api_kvs l = { 0 };
	if (strcasecmp(t->valuestring, "A") == 0 || strcasecmp(t->valuestring, "AAAA") == 0) {
		int want = strcasecmp(t->valuestring, "A") == 0 ? 4 : 6;
		const cJSON *ips = cJSON_GetObjectItemCaseSensitive(doc, "ips");
		if (!cJSON_IsArray(ips) || cJSON_GetArraySize(ips) == 0) {
			api_reply_text(r, 400, "ERR, no domain ips \n");
			goto out;
		}
		for (const cJSON *ip = ips->child; ip; ip = ip->next) {
			uint8_t b[16];
			if (!cJSON_IsString(ip) || msg_parse_ip(ip->valuestring, b) != want) {
				api_reply_text(r, 400, "ERR, it is not  IP addr %s\n",
					   cJSON_IsString(ip) ? ip->valuestring : "(not a string)");
				goto out;
			}
		}
		if (api_read_tree(a, key, &l, NULL) != 0)
			goto etcd_fail;
		if (l.n) {
			api_reply_text(r, 409, "ERR, set domain name error  domain exists \n");
			goto out;
		}
		seed_post_ips(a, key, ips, r);
	} else if (strcasecmp(t->valuestring, "cname") == 0) {
		const cJSON *al = cJSON_GetObjectItemCaseSensitive(doc, "alias");
		char alias[MSG_NAME_MAX], akey[MSG_NAME_MAX + 64], target[MSG_NAME_MAX];
		const char *why = NULL;
		if (!cJSON_IsString(al) || api_name_abs(a, al->valuestring, alias, &why) != 0) {
			api_reply_text(r, 400, "ERR, bad alias: %s\n", why ? why : "no alias");
			goto out;
		}
		snprintf(target, sizeof target, "%s", urlname);
		for (char *p = target; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		size_t tn = strlen(target);
		if (tn > 1 && target[tn - 1] == '.')
			target[tn - 1] = 0;
		if (dname_check_host(target, &why) != 0) {
			api_reply_text(r, 400, "ERR, bad target: %s\n", why);
			goto out;
		}
		api_name_key(a, alias, akey, sizeof akey);
		char zone[MSG_NAME_MAX];
		if (api_managed_zone(a, alias, zone, sizeof zone) > 0) {
			api_reply_text(r, 409, "ERR, %s is in zone %s, which kube2sky manages: read-only here\n",
				   alias, zone);
			goto out;
		}
		if (!a->v3 && api_v2_hidden(a, akey)) {
			api_reply_text(r, 400, "ERR, alias %s: %s\n", alias, V2_HIDDEN);
			goto out;
		}
		if (api_read_tree(a, akey, &l, NULL) != 0)
			goto etcd_fail;
		if (l.n) {
			api_reply_text(r, 409, "ERR, set domain name error  alias exists \n");
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
		api_reply_text(r, 400, "ERR, no type offered \n");
	}
	(void)name;
	goto out;
etcd_fail:
	api_reply_text(r, 502, "ERR, etcd: %s\n", etcd_last_error(a->etcd));
out:
	api_kvs_free(&l);
	cJSON_Delete(doc);
}

/* The seed's DELETE: the key and its subtree. v3: one txn of two deletes
 * (the key, the range under it), unguarded: a key added under the name
 * meanwhile goes too, as if the delete came after it. v2: key by key. */
static int seed_delete_tree(struct api *a, const char *key, const struct api_kvs *l)
{
	if (!a->v3)
		return api_delete_tree(a, key, l);
	struct etcd_op op[2] = { { .key = key }, { .key = key, .below = true } };
	return etcd_txn(a->etcd, NULL, 0, op, 2, NULL);
}

void api_seed_delete(struct api *a, const char *key, struct api_reply *r)
{
	struct api_kvs l = { 0 };
	if (api_read_tree(a, key, &l, NULL) != 0) {
		api_reply_text(r, 502, "ERR, etcd: %s\n", etcd_last_error(a->etcd));
	} else if (l.n == 0) {
		api_reply_text(r, 404, "ERR, no find  domain name \n");
	} else if (seed_delete_tree(a, key, &l) != 0) {
		api_reply_text(r, 502, "ERR, etcd: %s\n", etcd_last_error(a->etcd));
	} else {
		api_reply_text(r, 200, "OK");
	}
	api_kvs_free(&l);
}
