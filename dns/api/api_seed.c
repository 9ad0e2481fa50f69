/* api_seed.c - the ipdcode seed's calls, verbatim (issue 15):
 *
 *   GET    /skydns/api[/<name>]   a JSON map {name: {type, ips [ports] |
 *                                 alias-domain | mailHost | text | nsHost}};
 *                                 a body {"type":T} keeps T's entries only
 *   POST   /skydns/api/<name>     {"type":"A"|"AAAA","ips":[...]},
 *                                 {"type":"SRV","ips":[...],"ports":[...]} or
 *                                 {"type":"cname","alias":"<alias>"}: "OK"
 *                                 (NS, MX, TXT: api_seed_edit.c)
 *   DELETE /skydns/api/<name>     the name and everything below it: "OK"
 *                                 (with a typed body: api_seed_edit.c)
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

/* One record into the seed's listing: addresses (and SRV ports) merge into
 * the name's entry; an alias, MX, TXT or NS (an address under ns.dns.)
 * gives the name's entry if it has none yet (one type per name there). */
static void seed_list_add(const struct api *a, cJSON *map, const char *owner, const cJSON *v)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(v, "host");
	const cJSON *port = cJSON_GetObjectItemCaseSensitive(v, "port");
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(v, "text");
	const char *host = cJSON_IsString(h) ? h->valuestring : "";
	char nsdom[MSG_NAME_MAX + 8];
	snprintf(nsdom, sizeof nsdom, ".ns.dns.%s", a->domain);
	size_t nl = strlen(nsdom) - 1, ol = strlen(owner); /* owner has no trailing dot */
	bool ns = ol > nl && strncmp(owner + ol - nl, nsdom, nl) == 0;
	uint8_t ip[16];
	cJSON *e = cJSON_GetObjectItemCaseSensitive(map, owner);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "mail"))) {
		if (e)
			return;
		const cJSON *pr = cJSON_GetObjectItemCaseSensitive(v, "priority");
		e = cJSON_AddObjectToObject(map, owner);
		cJSON_AddStringToObject(e, "type", "MX");
		cJSON_AddStringToObject(e, "mailHost", host);
		cJSON_AddNumberToObject(e, "mailPriority", cJSON_IsNumber(pr) ? pr->valuedouble : 10);
	} else if (cJSON_IsString(text) && !*host) {
		if (e)
			return;
		e = cJSON_AddObjectToObject(map, owner);
		cJSON_AddStringToObject(e, "type", "TXT");
		cJSON_AddStringToObject(e, "text", text->valuestring);
	} else if (msg_parse_ip(host, ip) && ns) {
		if (e)
			return;
		e = cJSON_AddObjectToObject(map, owner);
		cJSON_AddStringToObject(e, "type", "NS");
		cJSON_AddStringToObject(e, "nsHost", host);
	} else if (msg_parse_ip(host, ip)) {
		bool srv = cJSON_IsNumber(port) && port->valueint > 0;
		if (!e) {
			e = cJSON_AddObjectToObject(map, owner);
			cJSON_AddStringToObject(e, "type", srv ? "SRV" : "A");
			cJSON_AddArrayToObject(e, "ips");
			if (srv)
				cJSON_AddArrayToObject(e, "ports");
		}
		cJSON *ips = cJSON_GetObjectItemCaseSensitive(e, "ips");
		cJSON *ports = cJSON_GetObjectItemCaseSensitive(e, "ports");
		if (cJSON_IsArray(ips))
			cJSON_AddItemToArray(ips, cJSON_CreateString(host));
		if (cJSON_IsArray(ports))
			cJSON_AddItemToArray(ports, cJSON_CreateNumber(srv ? port->valueint : 0));
	} else if (*host && !e) {
		e = cJSON_AddObjectToObject(map, owner);
		cJSON_AddStringToObject(e, "type", "CNAME");
		cJSON_AddStringToObject(e, "alias-domain", host);
	}
}

/* The seed's GET body {"type":"NS"|"MX"|"TXT"|...}: only entries of that type. */
static void seed_list_only(cJSON *map, const char *body, size_t len)
{
	cJSON *doc = len ? cJSON_ParseWithLength(body, len) : NULL;
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(doc, "type");
	for (cJSON *e = map->child, *next; cJSON_IsString(t) && e; e = next) {
		next = e->next;
		const cJSON *et = cJSON_GetObjectItemCaseSensitive(e, "type");
		if (!cJSON_IsString(et) || strcasecmp(et->valuestring, t->valuestring) != 0)
			cJSON_Delete(cJSON_DetachItemViaPointer(map, e));
	}
	cJSON_Delete(doc);
}

void api_seed_list(struct api *a, const char *name, const char *key, const char *body, size_t len,
		   struct api_reply *r)
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
		seed_list_add(a, map, owner, v);
		cJSON_Delete(v);
	}
	api_kvs_free(&l);
	seed_list_only(map, body, len);
	r->status = 200;
	r->body = cJSON_PrintUnformatted(map);
	r->ctype = "application/json";
	cJSON_Delete(map);
}

/* Write keys under a name that must not exist yet (the seed's POST). v3:
 * one txn guarded by "the key and everything under it absent", so of two
 * writers racing for a name one gets SKY_ECONFLICT; v2: key by key. */
int api_seed_put_new(struct api *a, const char *key, const struct etcd_op *ops, size_t n)
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

int api_seed_target(const char *urlname, char *out, const char **why)
{
	snprintf(out, MSG_NAME_MAX, "%s", urlname);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	size_t tn = strlen(out);
	if (tn > 1 && out[tn - 1] == '.')
		out[tn - 1] = 0;
	return dname_check_host(out, why) != 0 ? -1 : 0;
}

/* A port in a seed body: a number or a numeric string, 1..65535, else 0. */
static int seed_port(const cJSON *p)
{
	double d = cJSON_IsNumber(p) ? p->valuedouble
		   : cJSON_IsString(p) && *p->valuestring ? strtod(p->valuestring, NULL) : 0;
	return d >= 1 && d <= 65535 && d == (int)d ? (int)d : 0;
}

/* The seed's answer to seed_put_new's code; `what` is "domain" or "alias". */
void api_seed_reply(struct api *a, int rc, const char *what, struct api_reply *r)
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

/* POST {"type":"A"|"SRV","ips":[...]} (checked): one key per distinct
 * address; with ports (SRV) each address gets its port, as the seed pairs
 * them, and skydns answers SRV with the address as target. */
static void seed_post_ips(struct api *a, const char *key, const cJSON *ips, const cJSON *ports,
			  struct api_reply *r)
{
	size_t n = (size_t)cJSON_GetArraySize(ips), nop = 0;
	char (*k)[API_KEY_MAX] = calloc(n, sizeof *k);
	char (*v)[160] = calloc(n, sizeof *v);
	struct etcd_op *op = calloc(n, sizeof *op);
	if (!k || !v || !op) {
		api_reply_text(r, 500, "ERR, out of memory\n");
		goto out;
	}
	const cJSON *port = ports ? ports->child : NULL;
	for (const cJSON *ip = ips->child; ip; ip = ip->next, port = port ? port->next : NULL) {
		snprintf(k[nop], sizeof k[nop], "%s/%x", key, msg_label_hash(ip->valuestring));
		if (port)
			snprintf(v[nop], sizeof v[nop],
				 "{\"host\":\"%s\",\"port\":%d,\"priority\":10,\"weight\":10,\"ttl\":30}",
				 ip->valuestring, seed_port(port));
		else
			snprintf(v[nop], sizeof v[nop], "{\"host\":\"%s\",\"ttl\":30}", ip->valuestring);
		bool dup = false; /* an address listed twice: one key (etcd refuses two in a txn) */
		for (size_t i = 0; i < nop && !dup; i++)
			dup = strcmp(k[i], k[nop]) == 0;
		if (!dup) {
			op[nop] = (struct etcd_op){ .key = k[nop], .value = v[nop] };
			nop++;
		}
	}
	api_seed_reply(a, api_seed_put_new(a, key, op, nop), "domain", r);
out:
	free(k);
	free(v);
	free(op);
}

/* A, AAAA and SRV: checked (every address of the type; SRV: as many ports,
 * each 1..65535), then created if the name is free. */
static void seed_post_addr(struct api *a, const char *key, const cJSON *doc, const char *type,
			   struct api_reply *r)
{
	bool srv = strcasecmp(type, "SRV") == 0;
	int want = strcasecmp(type, "AAAA") == 0 ? 6 : 4;
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(doc, "ips");
	const cJSON *ports = srv ? cJSON_GetObjectItemCaseSensitive(doc, "ports") : NULL;
	if (!cJSON_IsArray(ips) || cJSON_GetArraySize(ips) == 0) {
		api_reply_text(r, 400, "ERR, no domain ips \n");
		return;
	}
	if (srv && (!cJSON_IsArray(ports) || cJSON_GetArraySize(ports) != cJSON_GetArraySize(ips))) {
		api_reply_text(r, 400, "ERR, ips and ports not match \n");
		return;
	}
	for (const cJSON *ip = ips->child; ip; ip = ip->next) {
		uint8_t b[16];
		int fam = cJSON_IsString(ip) ? msg_parse_ip(ip->valuestring, b) : 0;
		if (fam == 0 || (!srv && fam != want)) {
			api_reply_text(r, 400, "ERR, it is not  IP addr %s\n",
				   cJSON_IsString(ip) ? ip->valuestring : "(not a string)");
			return;
		}
	}
	for (const cJSON *p = srv ? ports->child : NULL; p; p = p->next) {
		if (seed_port(p) == 0) {
			api_reply_text(r, 400, "ERR, bad port (1..65535)\n");
			return;
		}
	}
	struct api_kvs l = { 0 };
	if (api_read_tree(a, key, &l, NULL) != 0)
		api_reply_text(r, 502, "ERR, etcd: %s\n", etcd_last_error(a->etcd));
	else if (l.n)
		api_reply_text(r, 409, "ERR, set domain name error  domain exists \n");
	else
		seed_post_ips(a, key, ips, ports, r);
	api_kvs_free(&l);
}

/* {"type":"cname","alias":A} at the URL's target: A -> target, A free. */
static void seed_post_cname(struct api *a, const char *urlname, const cJSON *doc,
			    struct api_reply *r)
{
	const cJSON *al = cJSON_GetObjectItemCaseSensitive(doc, "alias");
	char alias[MSG_NAME_MAX], akey[MSG_NAME_MAX + 64], target[MSG_NAME_MAX];
	const char *why = NULL;
	if (!cJSON_IsString(al) || api_name_abs(a, al->valuestring, alias, &why) != 0) {
		api_reply_text(r, 400, "ERR, bad alias: %s\n", why ? why : "no alias");
		return;
	}
	if (api_seed_target(urlname, target, &why) != 0) {
		api_reply_text(r, 400, "ERR, bad target: %s\n", why);
		return;
	}
	api_name_key(a, alias, akey, sizeof akey);
	char zone[MSG_NAME_MAX];
	if (api_managed_zone(a, alias, zone, sizeof zone) > 0) {
		api_reply_text(r, 409, "ERR, %s is in zone %s, which kube2sky manages: read-only here\n",
			   alias, zone);
		return;
	}
	if (!a->v3 && api_v2_hidden(a, akey)) {
		api_reply_text(r, 400, "ERR, alias %s: %s\n", alias, V2_HIDDEN);
		return;
	}
	struct api_kvs l = { 0 };
	if (api_read_tree(a, akey, &l, NULL) != 0) {
		api_reply_text(r, 502, "ERR, etcd: %s\n", etcd_last_error(a->etcd));
	} else if (l.n) {
		api_reply_text(r, 409, "ERR, set domain name error  alias exists \n");
	} else {
		cJSON *v = cJSON_CreateObject();
		cJSON_AddStringToObject(v, "host", target);
		cJSON_AddNumberToObject(v, "ttl", 30);
		char *vs = cJSON_PrintUnformatted(v);
		cJSON_Delete(v);
		struct etcd_op op = { .key = akey, .value = vs };
		api_seed_reply(a, api_seed_put_new(a, akey, &op, 1), "alias", r);
		free(vs);
	}
	api_kvs_free(&l);
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
	const char *type = cJSON_IsString(t) ? t->valuestring : NULL;
	if (!type)
		api_reply_text(r, 400, "ERR,type not support \n");
	else if (!strcasecmp(type, "A") || !strcasecmp(type, "AAAA") || !strcasecmp(type, "SRV"))
		seed_post_addr(a, key, doc, type, r);
	else if (strcasecmp(type, "cname") == 0)
		seed_post_cname(a, urlname, doc, r);
	else if (!strcasecmp(type, "NS") || !strcasecmp(type, "MX") || !strcasecmp(type, "TXT"))
		api_seed_post_other(a, urlname, key, doc, type, r);
	else
		api_reply_text(r, 400, "ERR, no type offered \n");
	(void)name;
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
