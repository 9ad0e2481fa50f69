/* dnssec.h - online DNSSEC signing of skydns's own answers (SkyDNS -dnssec).
 *
 * One key (no KSK/ZSK split, no DS, no rollover), made by dnssec-keygen:
 * <basename>.key holds the DNSKEY RR, <basename>.private the BIND private key.
 * Supported algorithms: RSASHA1 (5) and NSEC3RSASHA1 (7) for SkyDNS's keys
 * (deprecated for signing, RFC 8624: dnssec_deprecated() says so),
 * RSASHA256 (8), RSASHA512 (10), ECDSAP256SHA256 (13), ECDSAP384SHA384 (14),
 * ED25519 (15), ED448 (16).
 *
 * Place in the query path: after resolve() (and the server's external
 * lookups), before wire_encode():
 *
 *     resolve(q, snap, cfg, a) == RESOLVE_ANSWER
 *       -> dnssec_sign_answer(d, q, cfg, a)   (every RESOLVE_ANSWER when d != NULL)
 *       -> wire_encode(...)                   (emits OPT with DO when a->sign)
 *
 * What dnssec_sign_answer() does to `a`:
 *  - apex DNSKEY query (class IN or CH, with or without DO): the answer becomes
 *    the DNSKEY RRset (TTL config ttl, NOERROR, AA), whatever the resolver put;
 *  - a->sign false: nothing else (no DNSSEC records without DO);
 *  - a->sign true: AD=1; NXDOMAIN gets three NSEC3 white lies in authority,
 *    NODATA (NOERROR, empty answer, SOA in authority) one (SHA-1, 0
 *    iterations, empty salt, flags 0, TTL min_ttl, lower-case owners
 *    <base32hex>.<domain>); then one RRSIG per RRset (owner+type+class) of every
 *    section whose owner is the domain or under it, appended to that section.
 *    RRSIG: original TTL = header TTL = the RRset's TTL (members are set to
 *    the RRset's minimum TTL, RFC 2181 §5.2), inception now-3h, expiration
 *    now+7d, signer = domain. Records outside the domain (forwarder lookups)
 *    and existing RRSIG/OPT records are left unsigned.
 * New records are T_RRSIG / T_NSEC3 / T_DNSKEY with raw rdata allocated in the
 * answer's arena; their owners point at the covered RRset's owner (NULL stays
 * NULL = the question name), the answer's arena, or d (DNSKEY owner), so the
 * answer must not outlive d.
 *
 * Signature cache: each thread that signs gets its own cache of config
 * `scache` entries (0 = no cache; the size is taken at the thread's first
 * signed answer, switching to 0 live bypasses it), keyed on a SHA-256 of the whole canonical
 * RRset (RFC 4034 §6) plus original TTL, algorithm, key tag and signer; a
 * cached RRSIG is reused while its expiration is more than 48h away.
 *
 * Thread safety: dnssec_load/dnssec_free are not; everything else may be
 * called by any number of threads at once without a shared lock (per-thread
 * key copy and cache; a mutex is taken once per thread, at its first call).
 */
#ifndef SKYDNS_DNSSEC_H
#define SKYDNS_DNSSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "answer.h"
#include "resolve.h"

struct config;
struct dnssec;

#define DNSSEC_NSEC3_HASH 20   /* SHA-1 */

/* Load <basename>.key and <basename>.private (a trailing ".key"/".private"
 * on basename is accepted; spaces are turned back into '+', SkyDNS's fix for
 * form-encoded etcd config). domain: the zone, absolute ("skydns.local.").
 * Returns 0 and *out (owned by the caller, dnssec_free), or:
 *   SKY_ENOTFOUND  a file is missing;  SKY_EIO  unreadable;
 *   SKY_EPARSE     not a DNSKEY / not a BIND private key;
 *   SKY_EINVAL     DNSKEY owner != domain, or .key and .private do not match;
 *   SKY_ERANGE     unsupported algorithm;  SKY_ENOMEM.
 * On error why[cap] says which file and what is wrong. */
int dnssec_load(const char *basename, const char *domain, struct dnssec **out, char *why,
		size_t cap);

/* Free d and every per-thread cache. Call after all signing threads stopped. */
void dnssec_free(struct dnssec *d);

/* See the top of this file. d may be NULL (no key): then a->sign is cleared
 * and nothing else happens. Returns 0, or SKY_ENOMEM / SKY_ERANGE (a record
 * could not be encoded) / SKY_EIO (the signing primitive failed); on error
 * the answer may be partly signed and the caller should reply SERVFAIL. */
int dnssec_sign_answer(struct dnssec *d, const struct query *q, const struct config *c,
		       struct answer *a);

/* The loaded key: algorithm number, key tag, zone ("skydns.local."). */
uint8_t dnssec_algorithm(const struct dnssec *d);
uint16_t dnssec_key_tag(const struct dnssec *d);
/* True when the key's algorithm is NOT RECOMMENDED for signing (RFC 8624 §3.1:
 * RSASHA1, NSEC3RSASHA1): still validated everywhere, but worth replacing. */
bool dnssec_deprecated(const struct dnssec *d);
const char *dnssec_domain(const struct dnssec *d);

/* Signature cache counters of the calling thread (zeros before its first
 * signing). */
void dnssec_cache_counters(struct dnssec *d, uint64_t *hits, uint64_t *misses);

/* NSEC3 hash (SHA-1, 0 iterations, empty salt; RFC 5155 §5) of an absolute
 * presentation name, case-insensitive. Returns 0 or SKY_EPARSE. */
int dnssec_nsec3_hash(const char *name, uint8_t out[DNSSEC_NSEC3_HASH]);

/* Lower-case base32hex without padding (RFC 4648 §7) of a hash into
 * out[cap >= 33]. Returns the text length or SKY_ERANGE. */
int dnssec_base32hex(const uint8_t hash[DNSSEC_NSEC3_HASH], char *out, size_t cap);

#endif
