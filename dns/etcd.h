/* etcd.h - a small etcd client over libcurl: the v2 keys API and the v3 JSON
 * gateway behind one interface. Used by skydns's mirror (read + watch) and by
 * kube2sky (read + put + delete).
 *
 * Keys are full etcd keys ("/skydns/local/skydns/x"). For v2 they map to
 * /v2/keys<key>; for v3 they are the literal key bytes. Directory semantics
 * are the same for both: "everything under <prefix>/" (v3 range
 * ["<prefix>/", "<prefix>0") — never a bare string prefix, so "dom" never
 * matches "dom1").
 *
 * Members: requests go to the current member; on a connection error or 5xx
 * the client moves to the next one and retries once per member.
 * An etcd_client is used by one thread at a time (make one per thread).
 */
#ifndef SKYDNS_ETCD_H
#define SKYDNS_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct etcd_opts {
	const char *const *machines; /* "http://127.0.0.1:2379", ... */
	int nmachines;
	bool v3;
	const char *ca_cert, *tls_pem, *tls_key; /* NULL/"" = none */
	const char *username, *password;        /* v2: basic auth; v3: /v3/auth/authenticate token */
	int timeout_ms;                          /* per request (not watches); 0 = 5000 */
};

struct etcd_kv {
	const char *key;      /* full key */
	const char *value;    /* NUL-terminated (values are text) */
	size_t value_len;
	int64_t expires;      /* unix seconds when the TTL/lease runs out; 0 = none */
	uint64_t mod_revision;
	uint64_t lease;       /* v3 lease ID (0 = none); etcd_watch/get_prefix turn it into expires */
};

enum etcd_event_type { ETCD_EV_PUT, ETCD_EV_DELETE };

struct etcd_event {
	enum etcd_event_type type; /* DELETE covers delete, expire, lease end */
	struct etcd_kv kv;         /* value NULL for DELETE */
};

struct etcd_client;

/* Copies opts. SKY_EINVAL (no members / bad URL), SKY_ENOMEM. */
int etcd_new(const struct etcd_opts *opts, struct etcd_client **out);
void etcd_free(struct etcd_client *c);

/* `url` (one URL or a comma list) with every "user:password@" replaced by
 * "***@", into out[cap]: what logs may show of an etcd endpoint. */
void etcd_url_redact(const char *url, char *out, size_t cap);

/* The etcd cluster ID of the last etcd_get_prefix answer (v2: the
 * X-Etcd-Cluster-Id header, v3: header.cluster_id); 0 if none seen. A new ID
 * means a different cluster (one recreated empty, say). */
uint64_t etcd_cluster_id(const struct etcd_client *c);

/* Describe the last failure ("http://127.0.0.1:2379: connection refused"),
 * valid until the next call on this client. */
const char *etcd_last_error(const struct etcd_client *c);

/* Read every key under `prefix` (recursively; v2 directories flattened to
 * leaves). cb is called once per key; a non-zero return from cb aborts with
 * that code. *revision gets the revision to watch from (v2: X-Etcd-Index,
 * v3: header.revision). Keys whose TTL/lease has an expiry get kv.expires. */
typedef int (*etcd_kv_cb)(void *arg, const struct etcd_kv *kv);
int etcd_get_prefix(struct etcd_client *c, const char *prefix, etcd_kv_cb cb, void *arg,
		    uint64_t *revision);

/* Read one key with its metadata (kv.expires from its TTL/lease, as in
 * etcd_get_prefix); cb is called for it (v2: for each leaf if it is a
 * directory). SKY_ENOTFOUND if absent. */
int etcd_get_kv(struct etcd_client *c, const char *key, etcd_kv_cb cb, void *arg);

/* Read one key: SKY_ENOTFOUND if absent. *value malloc'd (caller frees). */
int etcd_get(struct etcd_client *c, const char *key, char **value, uint64_t *mod_revision);

/* Write a key (ttl 0 = none; v3 grants a lease). */
int etcd_put(struct etcd_client *c, const char *key, const char *value, unsigned ttl);

/* Delete a key; deleting a missing key is not an error. */
int etcd_delete(struct etcd_client *c, const char *key);

/* v2: remove the directory `key` if it is empty (DELETE ?dir=true), so a
 * writer that deleted the last key below it leaves no empty directory
 * behind; with `recursive`, remove it with everything below it, hidden
 * ("_") keys included, which a v2 reader can neither list nor delete one by
 * one without knowing their names. A directory that is not empty (without
 * `recursive`) or missing is left alone and is not an error. Only for paths
 * known to be directories (the parent of a key): etcd v2 deletes a plain key
 * given ?dir=true too. v3 has no directories and no hidden keys: a no-op. */
int etcd_delete_dir(struct etcd_client *c, const char *key, bool recursive);

/* One write of etcd_batch or etcd_txn: value NULL deletes the key; with
 * `below` (a delete, etcd_txn only) every key under "<key>/" instead. */
struct etcd_op {
	const char *key;
	const char *value;
	bool below;
	uint64_t lease; /* a put: attach the key to this v3 lease (0 = none) */
};

/* Apply ops in order. v3: in as few /v3/kv/txn requests as the
 * transaction size limit allows, each one atomic. etcd refuses a key twice
 * in one txn, so a repeated key starts the next one. The limit starts at
 * ETCD_TXN_OPS (etcd's --max-txn-ops default); when etcd answers "too many
 * operations in txn request" it is halved (and kept halved for the client's
 * life) and the txn is sent again. v2 has no transactions: one request per
 * op, key by key. *done gets how many ops (a prefix of ops) were applied:
 * n on success. Returns 0 or the first error. */
#define ETCD_TXN_OPS 128
int etcd_batch(struct etcd_client *c, const struct etcd_op *ops, size_t n, size_t *done);

/* A guarded transaction (v3): every compare must hold, then every op is
 * applied, all in one /v3/kv/txn, so the store revision advances by exactly
 * one and no reader sees a part of it. A compare is on `key` itself, or with
 * `below` on every key under "<key>/" (the range ["<key>/", "<key>0"); it
 * holds when every key in the range does; an empty range is compared as one
 * absent key). An absent key has MOD, CREATE and VERSION 0, so
 * {CREATE, EQUAL, 0} means "absent" and {MOD, LESS, R + 1} on a range "no
 * key in it written after revision R" (a new key or a changed one; a deleted
 * key needs its own {MOD, EQUAL, rev}).
 * Returns 0 when applied, SKY_ECONFLICT when a compare failed (nothing
 * written), SKY_ERANGE when etcd refused the size (more than its
 * --max-txn-ops; never split: that would lose the atomicity), SKY_EINVAL for
 * a key twice in ops (etcd refuses it), SKY_ENOTSUP on v2 (no
 * transactions: callers keep their key-by-key path there), other codes on
 * error. *revision (may be NULL) gets the store revision after the txn: the
 * new one on success, the current one on a conflict. */
enum etcd_cmp_target { ETCD_CMP_MOD, ETCD_CMP_CREATE, ETCD_CMP_VERSION, ETCD_CMP_LEASE };
enum etcd_cmp_result { ETCD_CMP_EQUAL, ETCD_CMP_LESS };
struct etcd_cmp {
	const char *key;
	bool below;
	enum etcd_cmp_target target;
	enum etcd_cmp_result result;
	uint64_t value;
};
int etcd_txn(struct etcd_client *c, const struct etcd_cmp *cmps, size_t ncmp,
	     const struct etcd_op *ops, size_t nops, uint64_t *revision);

/* A write fence (v3; SKY_ENOTSUP on v2): while set, every write this
 * client makes (etcd_put, etcd_delete, etcd_put_lease, each txn of
 * etcd_batch, etcd_txn) carries the compare LEASE(key) == lease, so it lands
 * only while `key` is still attached to `lease` (an elected writer's leader
 * key: a writer that lost its lease writes nothing). A failed fence is
 * SKY_ECONFLICT with nothing written (etcd_batch: that txn and the rest).
 * Plain puts and deletes become one-op txns while fenced. key NULL clears.
 * Copies key; SKY_ENOMEM. */
int etcd_set_fence(struct etcd_client *c, const char *key, uint64_t lease);

/* The current txn size limit (ops per /v3/kv/txn). */
int etcd_txn_limit(const struct etcd_client *c);

/* HTTP requests this client sent (answered or not), for metrics and tests. */
unsigned long etcd_request_count(const struct etcd_client *c);

/* Watch everything under prefix from `after_revision + 1`, calling cb for
 * each event, until *stop becomes true (checked at least every 500 ms), an
 * error, or cb returns non-zero. Returns SKY_ECOMPACTED when the history is
 * gone (caller re-reads with etcd_get_prefix and watches again),
 * SKY_ESTOPPED when stopped, other codes on failure. *last_revision tracks
 * the newest revision seen (events and v3 progress headers), so a caller can
 * resume after a broken stream. cb gets batches: `last` is true on the final
 * event of a batch delivered together (publish after it). */
typedef int (*etcd_event_cb)(void *arg, const struct etcd_event *ev, bool last);
int etcd_watch(struct etcd_client *c, const char *prefix, uint64_t after_revision,
	       etcd_event_cb cb, void *arg, volatile bool *stop, uint64_t *last_revision);

/* Parsing helpers exposed for unit tests (pure): feed one v3 watch line or
 * one v2 watch body / GET body and get events or kvs back. */
int etcd_parse_v3_watch_line(const char *line, size_t len, etcd_event_cb cb, void *arg,
			     uint64_t *revision, int64_t now);
int etcd_parse_v2_node(const char *body, size_t len, etcd_kv_cb cb, void *arg, int64_t now);
/* etcd v2 "hidden" keys: true when `key` lies below `prefix` and some path
 * component after the prefix starts with '_' ("/skydns/a/_tcp/_http/x"
 * under "/skydns"). Such keys never reach etcd_get_prefix or etcd_watch
 * callbacks on v2: etcd leaves them out of recursive reads and live waits
 * but replays them from its event history, so they are dropped on every path
 * (etcd_get/etcd_get_kv of the exact key still read them). v3 has none. */
bool etcd_v2_hidden(const char *prefix, const char *key);
/* One v2 watch response: one event (set/create/update/compareAndSwap = PUT;
 * delete/expire/compareAndDelete = DELETE, also for directories, meaning
 * everything below the key). *index gets node.modifiedIndex; errorCode 401
 * ("outdated and cleared") is SKY_ECOMPACTED. */
int etcd_parse_v2_watch(const char *body, size_t len, etcd_event_cb cb, void *arg,
			uint64_t *index, int64_t now);

/* v3 leases (SKY_EINVAL on v2), for writers whose keys must vanish when they
 * die (skydns-check). Grant a lease of `ttl` seconds; keep it alive (*ttl
 * gets the renewed TTL; SKY_ENOTFOUND when the lease is gone: grant a new
 * one); revoke it (its keys go at once); put a key attached to `lease`
 * (0 = none). */
int etcd_lease_grant(struct etcd_client *c, unsigned ttl, uint64_t *id);
int etcd_lease_keepalive(struct etcd_client *c, uint64_t id, int64_t *ttl);
int etcd_lease_revoke(struct etcd_client *c, uint64_t id);
int etcd_put_lease(struct etcd_client *c, const char *key, const char *value, uint64_t lease);

#endif
