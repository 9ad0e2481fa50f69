/* scache.h - the DNSSEC signature cache: a fixed-size table from a 32-byte
 * digest of everything an RRSIG covers (the whole canonical RRset, its TTL,
 * algorithm, key tag and signer) to the RRSIG rdata made for it.
 *
 * Not thread-safe on purpose: dnssec.c gives every worker thread its own
 * scache, so the query path never takes a lock (see dnssec.c for why).
 *
 * Ownership: the cache owns copies of the stored values; a pointer returned by
 * scache_get() stays valid until the next scache_put() on the same cache.
 */
#ifndef SKYDNS_SCACHE_H
#define SKYDNS_SCACHE_H

#include <stddef.h>
#include <stdint.h>

#define SCACHE_KEY 32

struct scache;

/* A cache holding at most `capacity` entries (rounded up to a multiple of
 * the bucket size; at least one bucket). NULL on ENOMEM or capacity 0. */
struct scache *scache_new(size_t capacity);
void scache_free(struct scache *c);

/* The value stored under key, or NULL. *len and *expire (absolute unix time
 * the caller stored with it) are filled on a hit. Counts a hit or a miss. */
const uint8_t *scache_get(struct scache *c, const uint8_t key[SCACHE_KEY], size_t *len,
			  int64_t *expire);

/* Store a copy of val under key, replacing an entry with the same key, else
 * an empty slot of its bucket, else the bucket's entry expiring first.
 * Returns 0 or SKY_ENOMEM (the cache is unchanged then). */
int scache_put(struct scache *c, const uint8_t key[SCACHE_KEY], const uint8_t *val, size_t len,
	       int64_t expire);

/* Counters since scache_new (for tests and metrics). */
struct scache_stats {
	uint64_t hits, misses, inserts, evictions;
	size_t entries, capacity;
};
void scache_stats(const struct scache *c, struct scache_stats *out);

#endif
