#include "pktwalk.h"

#include <string.h>

#include "answer.h"
#include "err.h"

/* Bounded so a pointer loop cannot spin: a name has at most 127 labels. */
#define MAX_LABELS 128

int pktwalk_skip_name(const uint8_t *p, size_t len, size_t off, size_t *end)
{
	for (int n = 0; n < MAX_LABELS; n++) {
		if (off >= len)
			return SKY_EPARSE;
		uint8_t c = p[off];
		if (c == 0) {
			*end = off + 1;
			return 0;
		}
		if ((c & 0xc0) == 0xc0) {
			if (off + 2 > len)
				return SKY_EPARSE;
			*end = off + 2;
			return 0;
		}
		if (c & 0xc0)
			return SKY_EPARSE; /* 0x40/0x80: extended label types (RFC 6891 §5) */
		off += 1u + c;
	}
	return SKY_EPARSE;
}

int pktwalk_question(const uint8_t *p, size_t len, size_t *qend, uint16_t *qtype,
		     uint16_t *qclass)
{
	if (len < PKT_HDR || pkt_get16(p + 4) != 1)
		return SKY_EPARSE;
	size_t end;
	if (pktwalk_skip_name(p, len, PKT_HDR, &end) < 0 || end + 4 > len)
		return SKY_EPARSE;
	if (qtype)
		*qtype = pkt_get16(p + end);
	if (qclass)
		*qclass = pkt_get16(p + end + 2);
	*qend = end + 4;
	return 0;
}

int pktwalk_begin(struct pkt_iter *it, const uint8_t *p, size_t len)
{
	memset(it, 0, sizeof *it);
	if (len < PKT_HDR)
		return SKY_EPARSE;
	it->p = p;
	it->len = len;
	it->off = PKT_HDR;
	for (unsigned q = pkt_get16(p + 4); q > 0; q--) {
		size_t end;
		if (pktwalk_skip_name(p, len, it->off, &end) < 0 || end + 4 > len)
			return SKY_EPARSE;
		it->off = end + 4;
	}
	it->left[SEC_ANSWER] = pkt_get16(p + 6);
	it->left[SEC_AUTHORITY] = pkt_get16(p + 8);
	it->left[SEC_ADDITIONAL] = pkt_get16(p + 10);
	it->sec = SEC_ANSWER;
	return 0;
}

int pktwalk_next(struct pkt_iter *it, struct pkt_rr *rr)
{
	while (it->sec < SEC_COUNT && it->left[it->sec] == 0)
		it->sec++;
	if (it->sec >= SEC_COUNT)
		return 0;
	size_t end;
	if (pktwalk_skip_name(it->p, it->len, it->off, &end) < 0 || end + 10 > it->len)
		return SKY_EPARSE;
	rr->section = it->sec;
	rr->owner = it->off;
	rr->type = pkt_get16(it->p + end);
	rr->rclass = pkt_get16(it->p + end + 2);
	rr->ttl_off = end + 4;
	rr->ttl = pkt_get32(it->p + end + 4);
	rr->rdlen = pkt_get16(it->p + end + 8);
	rr->rdata = end + 10;
	rr->end = rr->rdata + rr->rdlen;
	if (rr->end > it->len)
		return SKY_EPARSE;
	it->off = rr->end;
	it->left[it->sec]--;
	return 1;
}

bool pktwalk_same_question(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t ea, eb;
	if (pktwalk_question(a, alen, &ea, NULL, NULL) < 0 ||
	    pktwalk_question(b, blen, &eb, NULL, NULL) < 0 || ea != eb)
		return false;
	/* The question is the first name of a message, so it is never
	 * compressed: compare bytes, folding ASCII case (length octets are
	 * below 64 and unaffected). */
	for (size_t i = PKT_HDR; i < ea; i++) {
		uint8_t x = a[i], y = b[i];
		if (x >= 'A' && x <= 'Z')
			x = (uint8_t)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (uint8_t)(y + 32);
		if (x != y)
			return false;
	}
	return true;
}

/* RFC 2308 §5: a negative answer lives min(SOA TTL, SOA MINIMUM). */
static int64_t negative_ttl(const uint8_t *p, size_t len)
{
	struct pkt_iter it;
	struct pkt_rr rr;
	if (pktwalk_begin(&it, p, len) < 0)
		return -1;
	int r;
	while ((r = pktwalk_next(&it, &rr)) == 1) {
		if (rr.section != SEC_AUTHORITY || rr.type != T_SOA || rr.rdlen < 22)
			continue;
		uint32_t minimum = pkt_get32(p + rr.end - 4);
		return rr.ttl < minimum ? rr.ttl : minimum;
	}
	return -1;
}

int64_t pktwalk_cache_ttl(const uint8_t *p, size_t len, uint32_t cap)
{
	if (len < PKT_HDR || (p[2] & 0x02))
		return -1;
	int rcode = p[3] & 0x0f;
	if (rcode != RCODE_NOERROR && rcode != RCODE_NXDOMAIN)
		return -1;
	int64_t ttl = cap;
	if (rcode == RCODE_NXDOMAIN || pkt_get16(p + 6) == 0) {
		int64_t neg = negative_ttl(p, len);
		if (neg < 0)
			return -1;
		if (neg < ttl)
			ttl = neg;
	}
	struct pkt_iter it;
	struct pkt_rr rr;
	if (pktwalk_begin(&it, p, len) < 0)
		return -1;
	int r;
	while ((r = pktwalk_next(&it, &rr)) == 1) {
		if (rr.type != T_OPT && rr.ttl < ttl)
			ttl = rr.ttl;
	}
	if (r < 0 || ttl <= 0)
		return -1;
	return ttl;
}

void pktwalk_age(uint8_t *p, size_t len, uint32_t secs)
{
	struct pkt_iter it;
	struct pkt_rr rr;
	if (secs == 0 || pktwalk_begin(&it, p, len) < 0)
		return;
	while (pktwalk_next(&it, &rr) == 1) {
		if (rr.type == T_OPT)
			continue;
		pkt_put32(p + rr.ttl_off, rr.ttl > secs ? rr.ttl - secs : 0);
	}
}

/* The OPT RR (1, *out filled; 0 none) and where the last counted RR ends,
 * in *msg_end: bytes after it are trailing garbage, which wire_parse_query
 * tolerates (as NSD and BIND do) but nothing may be appended behind. */
static int find_opt_end(const uint8_t *p, size_t len, struct pkt_rr *out, size_t *msg_end)
{
	struct pkt_iter it;
	struct pkt_rr rr;
	int found = 0, r;
	if (pktwalk_begin(&it, p, len) < 0)
		return SKY_EPARSE;
	while ((r = pktwalk_next(&it, &rr)) == 1) {
		if (!found && rr.section == SEC_ADDITIONAL && rr.type == T_OPT) {
			*out = rr;
			found = 1;
		}
	}
	*msg_end = it.off;
	return r < 0 ? SKY_EPARSE : found;
}

int pktwalk_find_opt(const uint8_t *p, size_t len, struct pkt_rr *out)
{
	struct pkt_iter it;
	struct pkt_rr rr;
	if (pktwalk_begin(&it, p, len) < 0)
		return SKY_EPARSE;
	int r;
	while ((r = pktwalk_next(&it, &rr)) == 1) {
		if (rr.section == SEC_ADDITIONAL && rr.type == T_OPT) {
			*out = rr;
			return 1;
		}
	}
	return r < 0 ? SKY_EPARSE : 0;
}

int pktwalk_add_option(const uint8_t *p, size_t len, uint16_t code, const uint8_t *data,
		       uint16_t dlen, uint16_t udp_size, uint8_t *out, size_t cap)
{
	struct pkt_rr opt;
	size_t msg_end;
	int r = find_opt_end(p, len, &opt, &msg_end);
	if (r < 0)
		return r;
	if (!r)
		len = msg_end; /* a new OPT goes right after the last RR, not after garbage */
	size_t add = 4u + dlen + (r ? 0 : 11u);
	if (len + add > cap || (r && opt.rdlen + 4u + dlen > 0xffff))
		return SKY_ERANGE;
	size_t at = r ? opt.end : len;
	memcpy(out, p, at);
	uint8_t *o = out + at;
	if (r) {
		pkt_put16(out + opt.rdata - 2, (uint16_t)(opt.rdlen + 4 + dlen));
	} else {
		/* root owner, TYPE OPT, CLASS = UDP size, TTL = ext-rcode/version/flags 0 */
		*o++ = 0;
		pkt_put16(o, T_OPT);
		pkt_put16(o + 2, udp_size);
		pkt_put32(o + 4, 0);
		pkt_put16(o + 8, (uint16_t)(4 + dlen));
		o += 10;
		pkt_put16(out + 10, (uint16_t)(pkt_get16(p + 10) + 1));
	}
	pkt_put16(o, code);
	pkt_put16(o + 2, dlen);
	if (dlen)
		memcpy(o + 4, data, dlen);
	o += 4 + dlen;
	memcpy(o, p + at, len - at);
	return (int)(len + add);
}

size_t pktwalk_strip_opt(uint8_t *p, size_t len)
{
	struct pkt_rr opt;
	size_t msg_end;
	if (find_opt_end(p, len, &opt, &msg_end) != 1 || opt.end != msg_end)
		return len;
	pkt_put16(p + 10, (uint16_t)(pkt_get16(p + 10) - 1));
	return opt.owner;
}
