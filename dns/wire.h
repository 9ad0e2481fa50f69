/* wire.h - DNS wire format for skydns's own answers: parse a query packet,
 * encode an answer (name compression, EDNS0, SkyDNS's truncation rule).
 * Pure, no sockets; hand-written for speed (ldns stays in dnssec/forward).
 */
#ifndef SKYDNS_WIRE_H
#define SKYDNS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "answer.h"
#include "resolve.h"

#define WIRE_MAX 65535

/* What the encoder needs back from the parse besides struct query. */
struct wire_question {
	uint16_t id;
	uint16_t flags;             /* header flags word as received */
	const uint8_t *qname;       /* the question name as received (into the packet) */
	size_t qname_len;           /* wire length incl. root label */
	size_t question_end;        /* offset just past QTYPE/QCLASS */
	uint8_t edns_version;
};

/* Parse a query. Returns:
 *   0             q and wq filled;
 *   SKY_EPARSE    malformed but a header could be read: reply FORMERR with
 *                 wire_encode_error();
 *   SKY_EINVAL    not even a header, or QR=1 (a response): drop silently.
 * Rules: exactly one question (QDCOUNT!=1 -> FORMERR), opcode QUERY only
 * (others NOTIMP via *rcode_hint), at most one OPT, EDNS version >0 ->
 * BADVERS via *rcode_hint. `rcode_hint` is set to the rcode to answer with
 * when the query is well-formed but cannot be served (0 otherwise).
 * wq->qname is NULL unless the question itself parsed (it may be set on
 * SKY_EPARSE when only a later section is bad); pass wq to
 * wire_encode_error() in every case. */
int wire_parse_query(const uint8_t *pkt, size_t len, struct query *q,
		     struct wire_question *wq, int *rcode_hint);

/* Encode `a` as the reply to (q, wq) into out[cap]. `limit` is the size the
 * reply must fit (UDP: client's buffer, >=512; TCP: 65535). SkyDNS's rule:
 * too big -> drop the whole additional section; still too big -> set TC and
 * keep the largest answer prefix that fits (UDP), or SERVFAIL (TCP).
 * Returns the reply length, or a negative SKY_E* code. */
int wire_encode(const struct query *q, const struct wire_question *wq, const struct answer *a,
		uint8_t *out, size_t cap, size_t limit);

/* A header-only (plus question when one was parsed) reply with `rcode`;
 * wq may be NULL or have qname NULL (then only the 12-byte header is echoed
 * from pkt). NOTIMP gets a clean header (no RD); rcode > 15 (BADVERS) adds
 * an OPT carrying the extended rcode. */
int wire_encode_error(const uint8_t *pkt, size_t len, const struct wire_question *wq, int rcode,
		      uint8_t *out, size_t cap);

/* Presentation name -> wire (handles \. and \DDD). Returns wire length or
 * SKY_EPARSE/SKY_ERANGE. */
int wire_name_from_str(const char *name, uint8_t *out, size_t cap);

/* Wire name (uncompressed, at p) -> lower-cased presentation. Returns length
 * of the text or SKY_EPARSE. */
int wire_name_to_str(const uint8_t *name, size_t len, char *out, size_t cap);

#endif
