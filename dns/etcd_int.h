/* etcd_int.h - internals shared by etcd.c (transport: members, TLS, auth,
 * plain and streaming requests), etcd_v2.c (keys API) and etcd_v3.c (JSON
 * gateway). Not for use outside the etcd module.
 */
#ifndef SKYDNS_ETCD_INT_H
#define SKYDNS_ETCD_INT_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etcd.h"

struct cJSON;

struct etcd_buf {
	char *data; /* always NUL-terminated when non-NULL */
	size_t len, cap;
};

struct etcd_client {
	char **machines;
	char **shown; /* the same URLs with credentials redacted, for messages */
	int nmachines;
	int cur; /* index of the member requests go to */
	bool v3;
	char *ca_cert, *tls_pem, *tls_key, *username, *password;
	int timeout_ms;
	char *token; /* v3 auth token, NULL until authenticated */
	uint64_t cluster_id; /* from the last answer that carried one; 0 = none */
	bool in_auth; /* inside /v3/auth/authenticate: no token, no retry */
	bool auth_off; /* v3: the server said auth is not enabled; go without */
	int txn_limit; /* v3: ops per txn (etcd_batch); halved on "too many operations" */
	unsigned long requests; /* requests sent (etcd_request_count) */
	char *fence_key;        /* v3 write fence (etcd_set_fence), NULL = none */
	uint64_t fence_lease;
	CURL *easy;  /* reused for plain requests */
	char err[512];
};

struct etcd_resp {
	long status;
	struct etcd_buf body;
	uint64_t index; /* X-Etcd-Index (v2), 0 if absent */
	uint64_t cluster_id; /* X-Etcd-Cluster-Id (v2, hex), 0 if absent */
};

/* Callback for a streaming request: one complete line (without '\n'), or,
 * when lines is false, nothing until the end. Non-zero stops the stream. */
typedef int (*etcd_line_fn)(void *arg, const char *line, size_t len);

struct etcd_stream {
	const char *method, *path, *body; /* body: JSON (v3) or NULL */
	volatile bool *stop;
	int idle_ms;         /* no byte for this long => SKY_ETIMEDOUT */
	etcd_line_fn line;   /* NULL: collect the whole body into resp */
	void *arg;
};

int etcd_buf_add(struct etcd_buf *b, const char *p, size_t n);
void etcd_buf_free(struct etcd_buf *b);
void etcd_resp_free(struct etcd_resp *r);

/* A request with member failover (and v3 re-authentication on 401).
 * 0 with r->status set for any HTTP answer below 500; SKY_EIO / SKY_ETLS /
 * SKY_ETIMEDOUT when no member answered. */
int etcd_request(struct etcd_client *c, const char *method, const char *path,
		 const char *body, struct etcd_resp *r);

/* A long request driven by a multi handle so *stop is seen within 100 ms.
 * Lines are handed to s->line as they arrive (only for HTTP 200); the rest
 * of the body is collected in r. Returns 0 when the server ended the
 * response, the line callback's code, SKY_ESTOPPED, SKY_ETIMEDOUT (idle) or
 * a transport error (the client has then moved to the next member). */
int etcd_stream_run(struct etcd_client *c, const struct etcd_stream *s, struct etcd_resp *r);

/* Set c->err from printf arguments. */
void etcd_set_error(struct etcd_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* v3: (re)authenticate when a username is configured. */
int etcd_v3_authenticate(struct etcd_client *c);

/* base64 (RFC 4648, padded). Results malloc'd and NUL-terminated;
 * decode returns SKY_EPARSE on bad input. */
char *etcd_b64_encode(const char *p, size_t n);
int etcd_b64_decode(const char *s, size_t n, char **out, size_t *outlen);

/* JSON helpers: a member that may be a number or a decimal string (v3
 * int64s are strings); def when absent, not a number, or outside int64. */
int64_t etcd_json_int(const struct cJSON *obj, const char *name, int64_t def);
const char *etcd_json_str(const struct cJSON *obj, const char *name);
bool etcd_json_true(const struct cJSON *obj, const char *name);

/* The backends. */
int etcd_v2_get_prefix(struct etcd_client *c, const char *prefix, etcd_kv_cb cb, void *arg,
		       uint64_t *revision);
int etcd_v2_get_kv(struct etcd_client *c, const char *key, etcd_kv_cb cb, void *arg);
int etcd_v2_get(struct etcd_client *c, const char *key, char **value, uint64_t *mod_revision);
int etcd_v2_put(struct etcd_client *c, const char *key, const char *value, unsigned ttl);
int etcd_v2_delete(struct etcd_client *c, const char *key);
int etcd_v2_delete_dir(struct etcd_client *c, const char *key, bool recursive);
int etcd_v2_watch(struct etcd_client *c, const char *prefix, uint64_t after, etcd_event_cb cb,
		  void *arg, volatile bool *stop, uint64_t *last);

/* One /v3/kv/range reply body (pure): cb gets each kv with kv.lease as sent
 * (expires 0; the reader turns leases into expiries). pg->revision is set
 * from the header unless already non-zero (later pages keep the first
 * page's), pg->more from "more", pg->last to the last key decoded
 * (malloc'd, the caller frees; the previous one is freed). SKY_EPARSE when
 * the body is not a JSON object or a kv's base64 is bad; cb's non-zero
 * return stops the walk and is returned. */
struct etcd_v3_page {
	uint64_t revision;
	uint64_t cluster_id; /* header.cluster_id, 0 if absent */
	bool more;
	char *last;
	size_t lastlen;
};
int etcd_v3_parse_range(const char *body, size_t len, etcd_kv_cb cb, void *arg,
			struct etcd_v3_page *pg);

int etcd_v3_get_prefix(struct etcd_client *c, const char *prefix, etcd_kv_cb cb, void *arg,
		       uint64_t *revision);
int etcd_v3_get_kv(struct etcd_client *c, const char *key, etcd_kv_cb cb, void *arg);
int etcd_v3_get(struct etcd_client *c, const char *key, char **value, uint64_t *mod_revision);
int etcd_v3_put(struct etcd_client *c, const char *key, const char *value, unsigned ttl);
int etcd_v3_delete(struct etcd_client *c, const char *key);
int etcd_v3_batch(struct etcd_client *c, const struct etcd_op *ops, size_t n, size_t *done);
/* etcd_txn's request body (pure; malloc'd JSON, NULL on ENOMEM) and the
 * parse of its reply: 0 with *succeeded and *revision (header.revision),
 * SKY_EPARSE when the body is not a JSON object. */
char *etcd_v3_txn_body(const struct etcd_cmp *cmps, size_t ncmp, const struct etcd_op *ops,
		       size_t nops);
int etcd_v3_parse_txn(const char *body, size_t len, bool *succeeded, uint64_t *revision);
int etcd_v3_txn(struct etcd_client *c, const struct etcd_cmp *cmps, size_t ncmp,
		const struct etcd_op *ops, size_t nops, uint64_t *revision);
int etcd_v3_watch(struct etcd_client *c, const char *prefix, uint64_t after, etcd_event_cb cb,
		  void *arg, volatile bool *stop, uint64_t *last);

#endif
