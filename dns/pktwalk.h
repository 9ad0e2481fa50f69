/* pktwalk.h - reading and patching DNS messages in wire form, for the
 * forwarder and its response cache. Upstream replies are relayed almost
 * unchanged (new ID, TTLs aged, an OPT removed), so they are walked and
 * patched in place rather than decoded and re-encoded. Pure, no I/O.
 *
 * Offsets are into the caller's buffer; nothing here allocates.
 */
#ifndef SKYDNS_PKTWALK_H
#define SKYDNS_PKTWALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_HDR 12

/* One resource record as found by pktwalk_next(). */
struct pkt_rr {
	int section;      /* SEC_ANSWER, SEC_AUTHORITY or SEC_ADDITIONAL */
	size_t owner;     /* offset of the owner name (may be compressed) */
	uint16_t type, rclass;
	uint32_t ttl;
	size_t ttl_off;   /* offset of the 32-bit TTL field */
	size_t rdata;     /* offset of the rdata */
	uint16_t rdlen;
	size_t end;       /* offset just past the record */
};

struct pkt_iter {
	const uint8_t *p;
	size_t len, off;
	unsigned left[3];
	int sec;
};

/* Offset just past the (possibly compressed) name at off, in *end.
 * 0 or SKY_EPARSE. */
int pktwalk_skip_name(const uint8_t *p, size_t len, size_t off, size_t *end);

/* Position the iterator after the question section. 0 or SKY_EPARSE. */
int pktwalk_begin(struct pkt_iter *it, const uint8_t *p, size_t len);

/* Next RR: 1 (rr filled), 0 at the end, SKY_EPARSE on a malformed record. */
int pktwalk_next(struct pkt_iter *it, struct pkt_rr *rr);

/* The single question: offset past QTYPE/QCLASS in *qend, type and class.
 * SKY_EPARSE unless QDCOUNT is 1 and the question is whole. */
int pktwalk_question(const uint8_t *p, size_t len, size_t *qend, uint16_t *qtype,
		     uint16_t *qclass);

/* True when both messages carry one question with the same name
 * (ASCII case-insensitive: 0x20 spellings match), type and class. */
bool pktwalk_same_question(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* How long a reply may be cached, in seconds, capped at `cap`: the minimum
 * TTL of its records (OPT excluded); for NXDOMAIN/NODATA the negative TTL of
 * RFC 2308 §5 (min of the SOA's TTL and its MINIMUM field). -1 when it must
 * not be cached: TC set, rcode other than NOERROR/NXDOMAIN, negative without
 * SOA, malformed, or a TTL of 0. */
int64_t pktwalk_cache_ttl(const uint8_t *p, size_t len, uint32_t cap);

/* Subtract `secs` from every TTL (OPT excluded), flooring at 0. */
void pktwalk_age(uint8_t *p, size_t len, uint32_t secs);

/* Find the OPT RR; 1 (rr filled), 0 none, SKY_EPARSE. */
int pktwalk_find_opt(const uint8_t *p, size_t len, struct pkt_rr *rr);

/* Copy p into out[cap] adding EDNS option (code, data[dlen]) to the OPT RR,
 * or appending an OPT with UDP size `udp_size` when there is none (right
 * after the last counted RR: trailing bytes are dropped then).
 * Returns the new length, SKY_ERANGE if out is too small, SKY_EPARSE. */
int pktwalk_add_option(const uint8_t *p, size_t len, uint16_t code, const uint8_t *data,
		       uint16_t dlen, uint16_t udp_size, uint8_t *out, size_t cap);

/* Remove the OPT RR when it is the last record (where RFC 6891 places it),
 * and any trailing bytes after it. Returns the new length (unchanged when
 * the last record is not an OPT). */
size_t pktwalk_strip_opt(uint8_t *p, size_t len);

static inline uint16_t pkt_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t pkt_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void pkt_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void pkt_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

#endif
