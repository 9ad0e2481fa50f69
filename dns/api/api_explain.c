/* api_explain.c - GET /v1/explain/<name>[?type=T], the "why does this name
 * not resolve" call: which etcd keys make up skydns's answer, which it skips
 * and why (the checks of mirror.c, through the same dname/msg functions),
 * which addresses a status key marks DOWN, and the answer itself.
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
#include "health.h"

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
	struct api_kvs l = { 0 };
	int rc = api_read_tree(a, a->monitor, &l, NULL);
	if (rc != 0) {
		api_kvs_free(&l);
		return rc;
	}
	size_t ml = strlen(a->monitor);
	d->addr = calloc(l.n + 1, sizeof *d->addr);
	d->key = calloc(l.n + 1, sizeof *d->key);
	if (!d->addr || !d->key) {
		api_kvs_free(&l);
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
	api_kvs_free(&l);
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
void api_explain(struct api *a, const char *name, const char *key, const char *type,
		       struct api_reply *r)
{
	struct api_kvs l = { 0 };
	struct downs dn = { 0 };
	if (api_read_tree(a, key, &l, NULL) != 0 || read_downs(a, &dn) != 0) {
		api_kvs_free(&l);
		downs_free(&dn);
		api_reply_err(r, 502, NULL, "etcd: %s", etcd_last_error(a->etcd));
		return;
	}
	struct expl_addr *ea = calloc(l.n + 1, sizeof *ea);
	if (!ea) {
		api_kvs_free(&l);
		downs_free(&dn);
		api_reply_err(r, 500, NULL, "out of memory");
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
	bool hidden_name = !a->v3 && api_v2_hidden(a, key);
	for (size_t i = 0; i < l.n; i++) {
		cJSON *k = cJSON_CreateObject();
		cJSON_AddStringToObject(k, "key", l.key[i]);
		cJSON_AddStringToObject(k, "value", l.val[i]);
		struct service svc = { 0 };
		char buf[256];
		const char *why = NULL;
		if (!a->v3 && api_v2_hidden(a, l.key[i]))
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
	api_kvs_free(&l);
	downs_free(&dn);
	api_reply_json(r, 200, j);
}
