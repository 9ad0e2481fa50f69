/* rcache.h - the response cache for forwarded and stub answers (SkyDNS's
 * rcache / rcache_ttl). Only replies that came from other servers are kept:
 * skydns's own answers always come from the current snapshot, so a change
 * in etcd is visible at once whether the cache is on or not.
 *
 * Entries live min(rcache_ttl, the reply's own TTL; RFC 2308 negative TTL
 * for NXDOMAIN/NODATA) - see pktwalk_cache_ttl(). Served copies have their
 * TTLs aged by the time spent in the cache. Over capacity the least recently
 * used entry goes.
 *
 * Thread-safe: one mutex around each call (the forwarder thread is the only
 * user today; calls are short: a hash lookup and a memcpy).
 * Keys are opaque bytes built with rcache_key(); values are copied in and out.
 */
#ifndef SKYDNS_RCACHE_H
#define SKYDNS_RCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RCACHE_KEY_MAX 2200

struct rcache;

struct rcache *rcache_new(void); /* NULL on ENOMEM */
void rcache_free(struct rcache *c);

/* Key for a question: lower-cased presentation name, type, class, and the
 * request properties that change the reply (DO, CD, EDNS present, transport,
 * `kind` = which path answered: forward, stub, lookup). Returns the length
 * written to out (always < RCACHE_KEY_MAX for names from wire_parse_query),
 * or SKY_ERANGE. */
int rcache_key(char *out, size_t cap, const char *name, uint16_t qtype, uint16_t qclass,
	       bool do_bit, bool cd, bool edns, bool tcp, char kind);

/* Store a copy of reply for ttl seconds (now_ms: a monotonic clock). With
 * capacity 0 the cache is emptied and nothing is stored; over capacity the
 * least recently used entries are dropped. Replaces an entry with the same
 * key. SKY_ENOMEM (nothing stored) or 0. */
int rcache_put(struct rcache *c, const char *key, size_t klen, const uint8_t *reply, size_t len,
	       uint32_t ttl, int64_t now_ms, size_t capacity);

/* Copy a live entry into out[cap] with its TTLs aged. Returns the length,
 * 0 on a miss (expired entries are removed), SKY_ERANGE when it does not fit. */
int rcache_get(struct rcache *c, const char *key, size_t klen, int64_t now_ms, uint8_t *out,
	       size_t cap);

/* Drop least recently used entries until at most `capacity` remain (0
 * empties the cache: rcache switched off live). */
void rcache_trim(struct rcache *c, size_t capacity);

size_t rcache_count(struct rcache *c);

#endif
