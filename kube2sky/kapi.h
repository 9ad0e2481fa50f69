/* kapi.h - a small Kubernetes API client over libcurl: paginated LIST and
 * chunked WATCH of one collection, bearer token or client certificate, TLS
 * with a given CA.
 *
 * Configuration comes from (in this order) a kubeconfig, a master URL, or
 * the in-cluster service account (kapi_config_resolve). A token file is
 * re-read on every request, so a rotated projected token is picked up by the
 * next LIST or WATCH (watches last at most timeoutSeconds).
 * A struct kapi may be shared by threads: every call uses its own handle.
 */
#ifndef K2S_KAPI_H
#define K2S_KAPI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "watchline.h"

struct cJSON;

struct kapi_config {
	char *server;          /* "https://10.0.0.1:443" (no trailing slash) */
	char *ca_file;         /* CA bundle path, or NULL */
	char *ca_pem;          /* CA bundle in memory (kubeconfig -data), or NULL */
	size_t ca_pem_len;
	char *cert_file, *key_file;
	char *cert_pem, *key_pem;
	size_t cert_pem_len, key_pem_len;
	char *token;           /* static token, or NULL */
	char *token_file;      /* re-read per request, or NULL */
	bool insecure;         /* skip server certificate verification */
	char *tls_server_name; /* verify the certificate against this name */
	char source[512];      /* "kubeconfig /x (context prod)", "in-cluster", "--kube-master-url" */
};

/* Build the configuration like kube2sky: with kubecfg, read it (master_url,
 * when set, overrides its server); else with master_url, use it with no
 * credentials; else the in-cluster config (KUBERNETES_SERVICE_HOST/PORT,
 * <sa_dir>/token, <sa_dir>/ca.crt). Environment variables ($VAR, ${VAR}) in
 * master_url are expanded. Every file named is checked for readability now.
 * On error writes one line to err naming the setting and where it came from,
 * e.g. "in-cluster config: /var/run/secrets/.../token: No such file or directory". */
int kapi_config_resolve(const char *master_url, const char *kubecfg, const char *sa_dir,
			struct kapi_config *out, char *err, size_t errcap);
void kapi_config_clear(struct kapi_config *c);

struct kapi;

int kapi_new(const struct kapi_config *cfg, struct kapi **out); /* copies cfg */
void kapi_free(struct kapi *k);

/* GET path?limit=N[&continue=...] until metadata.continue is empty; cb gets
 * each item (borrowed). rv receives the list's metadata.resourceVersion.
 * stop (may be NULL) aborts a request in progress within about a second.
 * Returns 0; SKY_ESTOPPED (stop), SKY_ENOTFOUND (404: resource not served), SKY_ECOMPACTED (410:
 * continue token expired; start over), SKY_EAUTH (401/403), SKY_ETLS,
 * SKY_EIO (connection), SKY_EPROTO (bad body), or cb's non-zero return.
 * err gets a one-line description on failure, *status (if non-NULL) the
 * last HTTP status (0 when no answer came). */
typedef int (*kapi_item_cb)(void *arg, const struct cJSON *item);
int kapi_list(struct kapi *k, const char *path, int limit, kapi_item_cb cb, void *arg,
	      char *rv, size_t rvcap, long *status, const atomic_bool *stop, char *err, size_t errcap);

/* GET path?watch=1&resourceVersion=rv&allowWatchBookmarks=true&timeoutSeconds=t
 * and call cb for each event until the stream ends (returns 0: re-watch from
 * the last RV), an ERROR event or HTTP status 410 (SKY_ECOMPACTED: relist),
 * *stop (SKY_ESTOPPED), another ERROR event (SKY_EPROTO), cb's non-zero
 * return, or a transport error (a connect timeout is SKY_EIO).
 * SKY_ETIMEDOUT means exactly one thing: the stream stalled, no byte (event,
 * BOOKMARK or whitespace) for idle_s seconds since the request or the last
 * byte; it is detected within about a second. Lines that do not parse are
 * skipped and counted in *garbage. */
typedef int (*kapi_event_cb)(void *arg, const struct watch_event *ev);
int kapi_watch(struct kapi *k, const char *path, const char *rv, int timeout_s, int idle_s,
	       kapi_event_cb cb, void *arg, const atomic_bool *stop, int *garbage, char *err,
	       size_t errcap);

#endif
