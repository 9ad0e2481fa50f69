/* wire.c - DNS wire format for skydns's own answers (RFC 1035 §4, RFC 6891).
 *
 * Parsing is strict where a reply would otherwise be wrong (question, OPT)
 * and tolerant where the reference servers are (trailing bytes after the
 * last counted RR are ignored, as NSD, BIND and PowerDNS do; see
 * reliability.md §1.2). The encoder writes straight into the caller's
 * buffer with a small name-compression table and applies SkyDNS's
 * truncation rule (skydns-features.md §14).
 */
#include "wire.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

#define HDR_LEN 12
#define NAME_MAX_WIRE 255
#define LABEL_MAX 63

#define F_QR 0x8000u
#define F_OPCODE 0x7800u
#define F_AA 0x0400u
#define F_TC 0x0200u
#define F_RD 0x0100u
#define F_RA 0x0080u
#define F_AD 0x0020u
#define F_CD 0x0010u
#define F_RCODE 0x000Fu

#define EDNS_DO 0x8000u
#define EDNS_OPT_STUB 65011 /* SkyDNS's stub-loop marker, value 0x01 */
#define EDNS_UDP_ADVERTISED 1232 /* DNS Flag Day 2020 */
#define OPT_RR_LEN 11

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static uint8_t lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c; }

/* ------------------------------------------------------------------ names */

int wire_name_to_str(const uint8_t *name, size_t len, char *out, size_t cap)
{
	size_t i = 0, o = 0;
	for (;;) {
		if (i >= len)
			return SKY_EPARSE;
		uint8_t l = name[i++];
		if (l == 0)
			break;
		if (l > LABEL_MAX || i + l > len || i + l > NAME_MAX_WIRE)
			return SKY_EPARSE;
		for (uint8_t k = 0; k < l; k++) {
			uint8_t c = lower(name[i++]);
			char buf[5];
			size_t n;
			/* miekg/dns presentation: '.' and '\' escaped by a
			 * backslash, anything not printable (space included) as
			 * \DDD, so msg_name_to_path() can split on plain dots. */
			if (c == '.' || c == '\\') {
				buf[0] = '\\'; buf[1] = (char)c; n = 2;
			} else if (c <= ' ' || c > '~') {
				n = (size_t)snprintf(buf, sizeof buf, "\\%03u", c);
			} else {
				buf[0] = (char)c; n = 1;
			}
			if (o + n + 1 >= cap)
				return SKY_ERANGE;
			memcpy(out + o, buf, n);
			o += n;
		}
		if (o + 2 > cap)
			return SKY_ERANGE;
		out[o++] = '.';
	}
	if (o == 0) {
		if (cap < 2)
			return SKY_ERANGE;
		out[o++] = '.';
	}
	out[o] = '\0';
	return (int)o;
}

/* One escaped presentation byte at s (after the backslash). Returns bytes
 * consumed or -1. */
static int unescape(const char *s, uint8_t *c)
{
	if (s[0] >= '0' && s[0] <= '9') {
		if (!(s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9'))
			return -1;
		int v = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
		if (v > 255)
			return -1;
		*c = (uint8_t)v;
		return 3;
	}
	if (s[0] == '\0')
		return -1;
	*c = (uint8_t)s[0];
	return 1;
}

int wire_name_from_str(const char *name, uint8_t *out, size_t cap)
{
	size_t o = 0;
	const char *s = name;
	if (s[0] == '.' && s[1] == '\0')
		s++;
	while (*s) {
		size_t lpos = o++;
		uint8_t l = 0;
		while (*s && *s != '.') {
			uint8_t c;
			if (*s == '\\') {
				int n = unescape(s + 1, &c);
				if (n < 0)
					return SKY_EPARSE;
				s += 1 + n;
			} else {
				c = (uint8_t)*s++;
			}
			if (l == LABEL_MAX)
				return SKY_EPARSE;
			if (o >= cap)
				return SKY_ERANGE;
			out[o++] = c;
			l++;
		}
		if (l == 0)
			return SKY_EPARSE; /* empty label: "a..b" or ".a" */
		if (lpos >= cap)
			return SKY_ERANGE;
		out[lpos] = l;
		if (*s == '.')
			s++;
		if (o + 1 > NAME_MAX_WIRE)
			return SKY_ERANGE;
	}
	if (o >= cap)
		return SKY_ERANGE;
	out[o++] = 0;
	return (int)o;
}

/* Length of a possibly compressed name at pkt[off] as it sits in the packet
 * (pointer = 2 bytes). Only used to skip RRs we do not care about; the
 * pointer target is not followed. Returns the length or -1. */
static int name_skip(const uint8_t *pkt, size_t len, size_t off)
{
	size_t i = off, total = 0;
	for (;;) {
		if (i >= len)
			return -1;
		uint8_t l = pkt[i];
		if ((l & 0xC0) == 0xC0)
			return i + 2 <= len ? (int)(i + 2 - off) : -1;
		if (l & 0xC0)
			return -1;
		i += 1u + l;
		total += 1u + l;
		if (total > NAME_MAX_WIRE)
			return -1;
		if (l == 0)
			return (int)(i - off);
	}
}

/* An owner name in the answer, authority or additional section, pointers
 * followed: each pointer must point before itself, so a loop cannot be
 * built, and the whole name fits NAME_MAX_WIRE (NSD answers FORMERR to
 * either). Returns 0 or -1. */
static int name_check(const uint8_t *pkt, size_t len, size_t off)
{
	size_t i = off, total = 0;
	for (;;) {
		if (i >= len)
			return -1;
		uint8_t l = pkt[i];
		if ((l & 0xC0) == 0xC0) {
			if (i + 2 > len)
				return -1;
			size_t to = ((size_t)(l & 0x3F) << 8) | pkt[i + 1];
			if (to >= i)
				return -1;
			i = to;
			continue;
		}
		if (l & 0xC0)
			return -1;
		i += 1u + l;
		total += 1u + l;
		if (total > NAME_MAX_WIRE)
			return -1;
		if (l == 0)
			return 0;
	}
}

/* ------------------------------------------------------------------ parse */

/* EDNS options (RFC 6891 §6.1.2): unknown ones are ignored, but their
 * framing must be intact. */
static int parse_opt_options(const uint8_t *p, size_t rdlen, struct query *q)
{
	size_t i = 0;
	while (i < rdlen) {
		if (i + 4 > rdlen)
			return SKY_EPARSE;
		uint16_t code = get16(p + i), olen = get16(p + i + 2);
		if (i + 4 + olen > rdlen)
			return SKY_EPARSE;
		if (code == EDNS_OPT_STUB && olen >= 1 && p[i + 4] == 0x01)
			q->stub_marker = true;
		i += 4u + olen;
	}
	return 0;
}

/* Walk the answer, authority and additional sections: counts must be
 * backed by data, OPT only once, only in the additional section, with the
 * root as owner (RFC 6891 §6.1.1). */
static int parse_rrs(const uint8_t *pkt, size_t len, size_t off, struct query *q,
		     struct wire_question *wq, bool *seen_opt)
{
	unsigned counts[3] = { get16(pkt + 6), get16(pkt + 8), get16(pkt + 10) };
	for (int sec = 0; sec < 3; sec++) {
		for (unsigned n = 0; n < counts[sec]; n++) {
			int nl = name_skip(pkt, len, off);
			if (nl < 0 || off + (size_t)nl + 10 > len || name_check(pkt, len, off) < 0)
				return SKY_EPARSE;
			const uint8_t *rr = pkt + off + nl;
			uint16_t type = get16(rr), rdlen = get16(rr + 8);
			if (off + (size_t)nl + 10 + rdlen > len)
				return SKY_EPARSE;
			if (type == T_OPT) {
				if (sec != 2 || *seen_opt || nl != 1)
					return SKY_EPARSE;
				*seen_opt = true;
				uint32_t ttl = get32(rr + 4);
				q->edns = true;
				q->udp_size = get16(rr + 2) < 512 ? 512 : get16(rr + 2);
				q->do_bit = (ttl & EDNS_DO) != 0;
				wq->edns_version = (uint8_t)(ttl >> 16);
				if (parse_opt_options(rr + 10, rdlen, q) < 0)
					return SKY_EPARSE;
			}
			off += (size_t)nl + 10 + rdlen;
		}
	}
	return 0;
}

/* The question name: plain labels only. A compression pointer in the
 * question of a one-question query can only point into the header, so it is
 * always malformed. Returns the wire length or -1. */
static int question_name(const uint8_t *pkt, size_t len, size_t off)
{
	size_t i = off;
	for (;;) {
		if (i >= len)
			return -1;
		uint8_t l = pkt[i];
		if (l & 0xC0)
			return -1;
		i += 1u + l;
		if (i - off > NAME_MAX_WIRE)
			return -1;
		if (l == 0)
			return (int)(i - off);
	}
}

int wire_parse_query(const uint8_t *pkt, size_t len, struct query *q,
		     struct wire_question *wq, int *rcode_hint)
{
	*rcode_hint = 0;
	memset(wq, 0, sizeof *wq);
	if (len < HDR_LEN)
		return SKY_EINVAL;
	uint16_t flags = get16(pkt + 2);
	if (flags & F_QR)
		return SKY_EINVAL; /* never answer a response: reflection loops */
	wq->id = get16(pkt);
	wq->flags = flags;
	wq->question_end = HDR_LEN;

	memset(q, 0, sizeof *q);
	q->udp_size = 512;
	q->rd = (flags & F_RD) != 0;
	q->cd = (flags & F_CD) != 0;

	if (get16(pkt + 4) != 1) {
		if ((flags & F_OPCODE) != 0) {
			*rcode_hint = RCODE_NOTIMP; /* e.g. UPDATE: zone section, not a question */
			return 0;
		}
		return SKY_EPARSE;
	}
	int nl = question_name(pkt, len, HDR_LEN);
	if (nl < 0 || HDR_LEN + (size_t)nl + 4 > len)
		return SKY_EPARSE;
	if (wire_name_to_str(pkt + HDR_LEN, (size_t)nl, q->name, sizeof q->name) < 0)
		return SKY_EPARSE;
	q->qtype = get16(pkt + HDR_LEN + nl);
	q->qclass = get16(pkt + HDR_LEN + nl + 2);
	wq->qname = pkt + HDR_LEN;
	wq->qname_len = (size_t)nl;
	wq->question_end = HDR_LEN + (size_t)nl + 4;

	if ((flags & F_OPCODE) != 0) {
		*rcode_hint = RCODE_NOTIMP; /* RFC 8906 §3.1.3; sections not parsed */
		return 0;
	}
	if ((flags & F_RCODE) != 0) {
		*rcode_hint = RCODE_FORMERR; /* a query carries no rcode (NSD) */
		return 0;
	}
	bool seen_opt = false;
	if (parse_rrs(pkt, len, wq->question_end, q, wq, &seen_opt) < 0)
		return SKY_EPARSE;
	if (seen_opt && wq->edns_version > 0)
		*rcode_hint = RCODE_BADVERS; /* RFC 6891 §6.1.3 */
	return 0;
}

/* ------------------------------------------------------------------ encode */

#define COMP_MAX 256

/* Offsets in the output where a (possibly compressed) name suffix starts. */
struct encoder {
	uint8_t *out;
	size_t cap, len;
	bool overflow;
	uint16_t comp[COMP_MAX];
	uint32_t comp_hash[COMP_MAX]; /* of the suffix, lower-cased: cheap reject */
	unsigned ncomp;
};

/* Does the uncompressed wire suffix `s` equal the name at out[off]
 * (following pointers, case-insensitively)? */
static bool name_eq_at(const struct encoder *e, size_t off, const uint8_t *s)
{
	for (int hops = 0; hops < 64;) {
		uint8_t l = e->out[off];
		if ((l & 0xC0) == 0xC0) {
			off = (size_t)(get16(e->out + off) & 0x3FFF);
			hops++;
			continue;
		}
		if (l != s[0])
			return false;
		if (l == 0)
			return true;
		for (uint8_t k = 1; k <= l; k++)
			if (lower(e->out[off + k]) != lower(s[k]))
				return false;
		off += 1u + l;
		s += 1u + l;
	}
	return false;
}

/* FNV-1a over an uncompressed wire suffix, lower-cased. */
static uint32_t suffix_hash(const uint8_t *s)
{
	uint32_t h = 2166136261u;
	for (;;) {
		uint8_t l = *s;
		for (unsigned k = 0; k <= l; k++)
			h = (h ^ lower(s[k])) * 16777619u;
		if (l == 0)
			return h;
		s += 1u + l;
	}
}

static int comp_find(const struct encoder *e, const uint8_t *s, uint32_t h)
{
	for (unsigned i = 0; i < e->ncomp; i++)
		if (e->comp_hash[i] == h && name_eq_at(e, e->comp[i], s))
			return e->comp[i];
	return -1;
}

static void comp_add(struct encoder *e, size_t off, uint32_t h)
{
	if (e->ncomp < COMP_MAX && off < 0x3FFF) {
		e->comp_hash[e->ncomp] = h;
		e->comp[e->ncomp++] = (uint16_t)off;
	}
}

static bool room(struct encoder *e, size_t n)
{
	if (e->len + n > e->cap) {
		e->overflow = true;
		return false;
	}
	return true;
}

static bool put_bytes(struct encoder *e, const void *p, size_t n)
{
	if (!room(e, n))
		return false;
	memcpy(e->out + e->len, p, n);
	e->len += n;
	return true;
}

static bool put_u16(struct encoder *e, uint16_t v)
{
	if (!room(e, 2))
		return false;
	put16(e->out + e->len, v);
	e->len += 2;
	return true;
}

static bool put_u32(struct encoder *e, uint32_t v)
{
	if (!room(e, 4))
		return false;
	put32(e->out + e->len, v);
	e->len += 4;
	return true;
}

/* Write a presentation name; `compress` allows pointers to earlier names
 * (RFC 1035 §4.1.4). Every label written becomes a compression target. */
static int put_name(struct encoder *e, const char *name, bool compress)
{
	uint8_t w[NAME_MAX_WIRE + 1];
	int wl = wire_name_from_str(name, w, sizeof w);
	if (wl < 0)
		return wl;
	size_t i = 0;
	while (w[i] != 0) {
		uint32_t h = suffix_hash(w + i);
		int ptr = compress ? comp_find(e, w + i, h) : -1;
		if (ptr >= 0)
			return put_u16(e, (uint16_t)(0xC000 | ptr)) ? 0 : SKY_ERANGE;
		comp_add(e, e->len, h);
		if (!put_bytes(e, w + i, 1u + w[i]))
			return SKY_ERANGE;
		i += 1u + w[i];
	}
	return put_bytes(e, "", 1) ? 0 : SKY_ERANGE;
}

static int put_txt(struct encoder *e, const char *text, size_t len)
{
	/* One empty string for empty text; 255-byte pieces otherwise (SkyDNS
	 * added an extra empty string at exactly 255 bytes: not copied). */
	size_t i = 0;
	do {
		size_t n = len - i > 255 ? 255 : len - i;
		uint8_t l = (uint8_t)n;
		if (!put_bytes(e, &l, 1) || !put_bytes(e, text + i, n))
			return SKY_ERANGE;
		i += n;
	} while (i < len);
	return 0;
}

static int put_rdata(struct encoder *e, const struct rr *r)
{
	switch (r->type) {
	case T_A:
		return put_bytes(e, r->d.a, 4) ? 0 : SKY_ERANGE;
	case T_AAAA:
		return put_bytes(e, r->d.aaaa, 16) ? 0 : SKY_ERANGE;
	case T_CNAME: case T_NS: case T_PTR:
		return put_name(e, r->d.name.target, true);
	case T_MX:
		if (!put_u16(e, r->d.mx.preference))
			return SKY_ERANGE;
		return put_name(e, r->d.mx.exchange, true);
	case T_SRV:
		/* RFC 2782: the target is not compressed. */
		if (!put_u16(e, r->d.srv.priority) || !put_u16(e, r->d.srv.weight) ||
		    !put_u16(e, r->d.srv.port))
			return SKY_ERANGE;
		return put_name(e, r->d.srv.target, false);
	case T_TXT:
		return put_txt(e, r->d.txt.text, r->d.txt.len);
	case T_SOA: {
		int rc = put_name(e, r->d.soa.mname, true);
		if (rc == 0)
			rc = put_name(e, r->d.soa.rname, true);
		if (rc == 0 && !(put_u32(e, r->d.soa.serial) && put_u32(e, r->d.soa.refresh) &&
				 put_u32(e, r->d.soa.retry) && put_u32(e, r->d.soa.expire) &&
				 put_u32(e, r->d.soa.minimum)))
			rc = SKY_ERANGE;
		return rc;
	}
	default:
		return put_bytes(e, r->d.raw.data, r->d.raw.len) ? 0 : SKY_ERANGE;
	}
}

/* One RR. On failure the encoder length is restored (the RR is not there). */
static int put_rr(struct encoder *e, const struct rr *r)
{
	size_t start = e->len;
	int rc;
	unsigned ncomp = e->ncomp;
	if (r->owner == NULL)
		rc = put_u16(e, 0xC000 | HDR_LEN) ? 0 : SKY_ERANGE;
	else
		rc = put_name(e, r->owner, true);
	if (rc == 0 && !(put_u16(e, r->type) && put_u16(e, r->rclass) && put_u32(e, r->ttl) &&
			 put_u16(e, 0)))
		rc = SKY_ERANGE;
	size_t rdstart = e->len;
	if (rc == 0)
		rc = put_rdata(e, r);
	if (rc == 0 && e->len - rdstart > 0xFFFF)
		rc = SKY_ERANGE;
	if (rc < 0) {
		e->len = start;
		e->ncomp = ncomp;
		return rc;
	}
	put16(e->out + rdstart - 2, (uint16_t)(e->len - rdstart));
	return 0;
}

static void put_opt(uint8_t *p, uint8_t ext_rcode, bool do_bit)
{
	p[0] = 0; /* root owner */
	put16(p + 1, T_OPT);
	put16(p + 3, EDNS_UDP_ADVERTISED);
	put32(p + 5, (uint32_t)ext_rcode << 24 | (do_bit ? EDNS_DO : 0));
	put16(p + 9, 0);
}

static uint16_t reply_flags(const struct wire_question *wq, const struct answer *a, bool tc)
{
	uint16_t f = F_QR | (wq->flags & (F_OPCODE | F_CD));
	if ((wq->flags & F_RD) && !a->rd_clear)
		f |= F_RD;
	if (a->aa)
		f |= F_AA;
	if (a->ra)
		f |= F_RA;
	if (a->ad)
		f |= F_AD;
	if (tc || a->tc)
		f |= F_TC;
	return (uint16_t)(f | (a->rcode & 0x0F));
}

/* Where the encoding stands after each section, for the truncation rule. */
struct cut {
	size_t len;
	unsigned nan, nns, nar;
};

static void write_header(uint8_t *out, const struct wire_question *wq, const struct answer *a,
			 bool tc, const struct cut *c, bool opt)
{
	put16(out, wq->id);
	put16(out + 2, reply_flags(wq, a, tc));
	put16(out + 4, 1);
	put16(out + 6, (uint16_t)c->nan);
	put16(out + 8, (uint16_t)c->nns);
	put16(out + 10, (uint16_t)(c->nar + (opt ? 1 : 0)));
}

/* Encode the sections into e, stopping at the first RR that takes the
 * reply past `limit` (the rest would be cut anyway: this keeps a 512-byte
 * reply to a 100-SRV question cheap). Fills noadd (answer + authority
 * complete and within limit; len SIZE_MAX otherwise) and prefix (the longest
 * answer prefix that fits with the OPT). Returns 1 when the reply did not fit
 * (limit or cap), 0 when it did, or a negative code for a name that does not
 * encode. */
static int encode_sections(struct encoder *e, const struct answer *a, size_t limit,
			   size_t optlen, struct cut *noadd, struct cut *prefix)
{
	struct cut cur = { e->len, 0, 0, 0 };
	*prefix = cur;
	noadd->len = SIZE_MAX;
	unsigned *counts[SEC_COUNT] = { &cur.nan, &cur.nns, &cur.nar };
	for (int sec = 0; sec < SEC_COUNT; sec++) {
		for (size_t i = 0; i < a->n[sec]; i++) {
			int rc = put_rr(e, &a->rrs[sec][i]);
			if (rc < 0)
				return e->overflow ? 1 : rc;
			(*counts[sec])++;
			cur.len = e->len;
			if (cur.len + optlen > limit)
				return 1;
			if (sec == SEC_ANSWER)
				*prefix = cur;
		}
		if (sec == SEC_AUTHORITY)
			*noadd = cur;
	}
	return 0;
}

int wire_encode(const struct query *q, const struct wire_question *wq, const struct answer *a,
		uint8_t *out, size_t cap, size_t limit)
{
	if (!wq->qname || cap < wq->question_end + OPT_RR_LEN || limit < 512)
		return SKY_EINVAL;
	bool opt = q->edns;
	size_t optlen = opt ? OPT_RR_LEN : 0;
	uint8_t ext_rcode = (uint8_t)(a->rcode >> 4);

	struct encoder e = { .out = out, .cap = cap - optlen, .len = HDR_LEN };
	memcpy(out + HDR_LEN, wq->qname, wq->question_end - HDR_LEN); /* 0x20 case kept */
	for (size_t i = 0; wq->qname[i] != 0; i += 1u + wq->qname[i])
		comp_add(&e, HDR_LEN + i, suffix_hash(wq->qname + i));
	e.len = wq->question_end;

	struct cut noadd = { 0 }, prefix = { 0 };
	int over = encode_sections(&e, a, limit, optlen, &noadd, &prefix);
	if (over < 0)
		return over;
	struct cut full = { e.len, (unsigned)a->n[SEC_ANSWER], (unsigned)a->n[SEC_AUTHORITY],
			    (unsigned)a->n[SEC_ADDITIONAL] };
	const struct cut *use = &full;
	bool tc = false;
	if (over || full.len + optlen > limit) {
		/* SkyDNS §14: first drop the whole additional section... */
		use = &noadd;
		if (noadd.len == SIZE_MAX || noadd.len + optlen > limit) {
			if (q->tcp)
				return SKY_ERANGE; /* caller answers SERVFAIL */
			/* ...then TC and the longest answer prefix (authority
			 * goes too: it was encoded after the dropped RRs). */
			use = &prefix;
			tc = true;
		}
	}
	size_t len = use->len;
	if (opt) {
		put_opt(out + len, ext_rcode, a->sign && q->do_bit);
		len += OPT_RR_LEN;
	}
	write_header(out, wq, a, tc, use, opt);
	return (int)len;
}

int wire_encode_error(const uint8_t *pkt, size_t len, const struct wire_question *wq, int rcode,
		      uint8_t *out, size_t cap)
{
	if (len < HDR_LEN || cap < HDR_LEN)
		return SKY_EINVAL;
	uint16_t in = get16(pkt + 2);
	uint16_t f = F_QR | (in & F_OPCODE) | (uint16_t)(rcode & 0x0F);
	/* NOTIMP: a clean header (RFC 8906, genreport "opcodeflg"); otherwise
	 * RD and CD are copied as for any answer. */
	if (rcode != RCODE_NOTIMP)
		f |= in & (F_RD | F_CD);
	size_t o = HDR_LEN;
	bool question = wq && wq->qname && wq->question_end <= len;
	if (question) {
		if (wq->question_end > cap)
			return SKY_ERANGE;
		memcpy(out + HDR_LEN, pkt + HDR_LEN, wq->question_end - HDR_LEN);
		o = wq->question_end;
	}
	bool opt = rcode > 15;
	if (opt) {
		if (o + OPT_RR_LEN > cap)
			return SKY_ERANGE;
		put_opt(out + o, (uint8_t)(rcode >> 4), false);
		o += OPT_RR_LEN;
	}
	memcpy(out, pkt, 2);
	put16(out + 2, f);
	put16(out + 4, question ? 1 : 0);
	put16(out + 6, 0);
	put16(out + 8, 0);
	put16(out + 10, opt ? 1 : 0);
	return (int)o;
}
