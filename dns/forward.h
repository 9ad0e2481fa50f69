/* forward.h - everything skydns answers by asking other servers: proxying
 * queries outside the domain (RESOLVE_FORWARD), stub zones (RESOLVE_STUB),
 * PTR misses, and the forwarder lookups of external CNAME/SRV/MX targets
 * (answers carrying ext lookups); plus the response cache for forwarded
 * answers.
 *
 * The forwarder runs its own thread(s) so a slow or dead upstream never
 * stalls the workers that answer from the snapshot. It holds its own reader
 * slot in the snapstore. Replies go back through the caller's fwd_reply.
 */
#ifndef SKYDNS_FORWARD_H
#define SKYDNS_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct snapstore;
struct forwarder;

/* A reply channel owned by the caller. The forwarder calls send() exactly
 * once per accepted submit, from its own thread: len 0 means "send nothing"
 * (dropped, e.g. stub loop). send() must free/release r itself if needed. */
struct fwd_reply {
	void (*send)(struct fwd_reply *r, const uint8_t *pkt, size_t len);
};

/* reader_slot: a snapstore reader index reserved for the forwarder (it
 * re-resolves the query against the current snapshot to get ext lookups and
 * stub servers, and the current config for nameservers/timeouts/rcache). */
int forwarder_new(struct snapstore *st, unsigned reader_slot, struct forwarder **out);
void forwarder_free(struct forwarder *f);

/* Sign the answers the forwarder completes (external-name lookups) with d,
 * as the server signs its own (dnssec.h); NULL = no key. d must outlive f.
 * Call before the server starts submitting. */
struct dnssec;
void forwarder_set_dnssec(struct forwarder *f, struct dnssec *d);

/* Report to st (stats.h): replies sent by the forwarder (system recursive,
 * stub, cache, or auth for completed external-name answers), response-cache
 * misses, upstream attempt failures. NULL = off. st must outlive f. */
struct stats;
void forwarder_set_stats(struct forwarder *f, struct stats *st);

/* Hand over a client query (pkt copied) that resolve() answered with
 * RESOLVE_FORWARD or RESOLVE_STUB, or RESOLVE_ANSWER with ext lookups.
 * tcp: the client's transport (kept upstream). Returns 0, or SKY_ERANGE when
 * the queue is full / SKY_ENOMEM: then r is not used and the caller answers
 * SERVFAIL itself. */
int forwarder_submit(struct forwarder *f, const uint8_t *pkt, size_t len, bool tcp,
		     struct fwd_reply *r);

#endif
