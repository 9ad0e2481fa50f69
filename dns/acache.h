/* acache.h - a worker's cache of finished reply wire for the snapshot it
 * answers from.
 *
 * An entry is keyed by everything that shapes the reply: the snapshot's
 * serial (a publish makes every entry stale: nothing can be older than the
 * published data), the transport, the client policy verdicts (reply size cap,
 * recursion allowed), and the query's bytes after its ID (question with its
 * case, flags, EDNS and its options). A hit is that reply with the query's
 * ID, if the clock is inside the time window the reply was stored with
 * (a TTL counting down is valid for its second, an SOA serial for its hour,
 * most replies for ever). The caller stores only replies that do not depend
 * on chance (no shuffled RRset).
 *
 * One cache per thread, no locks. Ownership: the cache copies what it is
 * given.
 */
#ifndef SKYDNS_ACACHE_H
#define SKYDNS_ACACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct acache;

struct acache_key {
	uint64_t serial;   /* snapshot_serial() */
	uint16_t udp_size; /* the reply size limit after the server's cap */
	bool tcp;
	bool recursion_denied;
};

/* A cache of `slots` entries (rounded up to a power of two). NULL on ENOMEM. */
struct acache *acache_new(unsigned slots);
void acache_free(struct acache *c);

/* The cached reply to pkt (len bytes) valid at `now` (unix seconds), with
 * pkt's ID, written to out; its length, or 0 on a miss (or when it does not
 * fit in cap). */
int acache_get(struct acache *c, const struct acache_key *k, int64_t now, const uint8_t *pkt,
	       size_t len, uint8_t *out, size_t cap);

/* Remember reply (n bytes) as the answer to pkt from unix second `from`
 * to `to` (both included). Replies over ACACHE_MAX_REPLY bytes are not
 * kept; ENOMEM just skips the store. */
#define ACACHE_MAX_REPLY 4096
void acache_put(struct acache *c, const struct acache_key *k, int64_t from, int64_t to,
		const uint8_t *pkt, size_t len, const uint8_t *reply, size_t n);

/* For tests and metrics: lookups that hit / missed. */
void acache_counts(const struct acache *c, uint64_t *hits, uint64_t *misses);

#endif
