/* api_int.h - internals shared by skydns-api's route files: api_routes.c
 * (replies, names, etcd reads, record JSON, /v1/records, dispatch),
 * api_seed.c (the ipdcode seed's /skydns/api calls) and api_explain.c
 * (GET /v1/explain). Not for use outside dns/api/.
 */
#ifndef SKYDNS_API_INT_H
#define SKYDNS_API_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "msg.h"

struct cJSON;

#define API_KEY_MAX (MSG_NAME_MAX + 128) /* a name's key plus a record label */
#define V2_HIDDEN "etcd v2 hides keys with a label starting with '_' (skydns would never see it); use etcd v3 (-etcd3)"

/* Replies: plain text, a cJSON document (freed), or 4xx/5xx with
 * {"error": msg, "field": field} (field omitted when NULL). */
void api_reply_text(struct api_reply *r, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void api_reply_json(struct api_reply *r, unsigned status, struct cJSON *j);
void api_reply_err(struct api_reply *r, unsigned status, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* `in` (relative to the domain or absolute, trailing dot optional) -> the
 * absolute lower-case name in out[MSG_NAME_MAX]. 0, or -1 with *why. */
int api_name_abs(const struct api *a, const char *in, char *out, const char **why);
/* A name's etcd key; the name of a full etcd key (absolute, trailing dot). */
int api_name_key(const struct api *a, const char *name, char *key, size_t cap);
void api_key_name(const struct api *a, const char *key, char *out, size_t cap);

/* Keys read from etcd, in key order, each with its mod revision. */
struct api_kvs {
	char **key, **val;
	uint64_t *rev;
	size_t n, cap;
};
void api_kvs_free(struct api_kvs *l);
/* The key and everything below it; *revision (may be NULL) gets the
 * revision of the read below it. */
int api_read_tree(struct api *a, const char *key, struct api_kvs *out, uint64_t *revision);
uint64_t api_max_rev(const struct api_kvs *l);
/* Key by key (the v2 path), then the v2 directory. */
int api_delete_tree(struct api *a, const char *key, const struct api_kvs *l);

/* The name a record answers for: an API-written child (a hex hash label) of
 * an address, SRV, TXT or mail (MX) record stands for its parent, else the
 * key's name. */
void api_owner_name(const struct api *a, const char *key, const struct cJSON *v, char *out,
		    size_t cap);

/* etcd v2 hides `key` (a '_' label below the prefix). */
bool api_v2_hidden(const struct api *a, const char *key);
/* 1 (zone in out) when `name` lies in a zone kube2sky manages (it has a
 * marker key /<prefix>/kube2sky/<zone>), 0 when not, -1 when etcd fails. */
int api_managed_zone(struct api *a, const char *name, char *out, size_t cap);

/* The routes of api_seed.c and api_explain.c (name checked, key its key). */
/* GET: body (len 0: none) may be the seed's {"type":T} filter. */
void api_seed_list(struct api *a, const char *name, const char *key, const char *body, size_t len,
		   struct api_reply *r);
void api_seed_post(struct api *a, const char *urlname, const char *name, const char *key,
		   const char *body, size_t len, struct api_reply *r);
void api_seed_delete(struct api *a, const char *key, struct api_reply *r);
/* api_seed_edit.c: POST of NS/MX/TXT, PUT (update), DELETE with a body. */
void api_seed_post_other(struct api *a, const char *urlname, const char *key,
			 const struct cJSON *doc, const char *type, struct api_reply *r);
void api_seed_put(struct api *a, const char *urlname, const char *key, const char *body,
		  size_t len, struct api_reply *r);
void api_seed_delete_body(struct api *a, const char *urlname, const char *key, const char *body,
			  size_t len, struct api_reply *r);
/* Shared by both seed files: keys under a free name (v3: one txn guarded
 * by "absent"), the seed's reply to its code, the URL's target name
 * (lowercase, no trailing dot, a host name) in out[MSG_NAME_MAX]. */
struct etcd_op;
int api_seed_put_new(struct api *a, const char *key, const struct etcd_op *ops, size_t n);
void api_seed_reply(struct api *a, int rc, const char *what, struct api_reply *r);
int api_seed_target(const char *urlname, char *out, const char **why);
void api_explain(struct api *a, const char *name, const char *key, const char *type,
		 struct api_reply *r);

#endif
