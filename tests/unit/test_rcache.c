/* test_rcache.c - the response cache and the wire walker it relies on:
 * cache TTLs (positive, RFC 2308 negative, not cacheable), aging, LRU
 * eviction, key folding, OPT add/strip for the stub marker. */
#include <stdint.h>
#include <string.h>

#include "answer.h"
#include "check.h"
#include "err.h"
#include "pktwalk.h"
#include "rcache.h"

struct pb {
	uint8_t p[1024];
	size_t n;
};

static void pb_name(struct pb *b, const char *labels)
{
	/* "www.example.com" -> wire */
	const char *s = labels;
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		b->p[b->n++] = (uint8_t)l;
		memcpy(b->p + b->n, s, l);
		b->n += l;
		s += l + (dot ? 1 : 0);
	}
	b->p[b->n++] = 0;
}

static void pb_header(struct pb *b, uint16_t id, uint8_t f2, uint8_t f3, uint16_t an, uint16_t ns,
		      uint16_t ar, const char *qname, uint16_t qtype)
{
	memset(b, 0, sizeof *b);
	pkt_put16(b->p, id);
	b->p[2] = f2;
	b->p[3] = f3;
	pkt_put16(b->p + 4, 1);
	pkt_put16(b->p + 6, an);
	pkt_put16(b->p + 8, ns);
	pkt_put16(b->p + 10, ar);
	b->n = PKT_HDR;
	pb_name(b, qname);
	pkt_put16(b->p + b->n, qtype);
	pkt_put16(b->p + b->n + 2, C_IN);
	b->n += 4;
}

/* An A record owned by a pointer to the question name. */
static void pb_a(struct pb *b, uint32_t ttl, uint8_t last)
{
	uint8_t *o = b->p + b->n;
	o[0] = 0xc0;
	o[1] = PKT_HDR;
	pkt_put16(o + 2, T_A);
	pkt_put16(o + 4, C_IN);
	pkt_put32(o + 6, ttl);
	pkt_put16(o + 10, 4);
	o[12] = 192, o[13] = 0, o[14] = 2, o[15] = last;
	b->n += 16;
}

static void pb_soa(struct pb *b, uint32_t ttl, uint32_t minimum)
{
	uint8_t *o = b->p + b->n;
	o[0] = 0xc0;
	o[1] = PKT_HDR;
	pkt_put16(o + 2, T_SOA);
	pkt_put16(o + 4, C_IN);
	pkt_put32(o + 6, ttl);
	pkt_put16(o + 10, 2 + 2 + 20);
	o[12] = 0xc0, o[13] = PKT_HDR; /* mname */
	o[14] = 0xc0, o[15] = PKT_HDR; /* rname */
	pkt_put32(o + 16, 1);
	pkt_put32(o + 20, 2);
	pkt_put32(o + 24, 3);
	pkt_put32(o + 28, 4);
	pkt_put32(o + 32, minimum);
	b->n += 36;
}

static void pb_opt(struct pb *b, uint16_t size)
{
	uint8_t *o = b->p + b->n;
	o[0] = 0;
	pkt_put16(o + 1, T_OPT);
	pkt_put16(o + 3, size);
	pkt_put32(o + 5, 0);
	pkt_put16(o + 9, 0);
	b->n += 11;
}

TEST(cache_ttl_positive)
{
	struct pb b;
	pb_header(&b, 1, 0x81, 0x80, 2, 0, 0, "www.example.com", T_A);
	pb_a(&b, 300, 1);
	pb_a(&b, 30, 2);
	CHECK_INT(pktwalk_cache_ttl(b.p, b.n, 60), 30);
	CHECK_INT(pktwalk_cache_ttl(b.p, b.n, 10), 10);
	b.p[2] |= 0x02; /* TC */
	CHECK_INT(pktwalk_cache_ttl(b.p, b.n, 60), -1);
}

TEST(cache_ttl_negative)
{
	struct pb b;
	pb_header(&b, 1, 0x81, 0x83, 0, 1, 0, "nope.example.com", T_A);
	pb_soa(&b, 3600, 45);
	CHECK_INT(pktwalk_cache_ttl(b.p, b.n, 60), 45); /* RFC 2308: SOA minimum */
	pb_header(&b, 1, 0x81, 0x83, 0, 1, 0, "nope.example.com", T_A);
	pb_soa(&b, 20, 45);
	CHECK_INT(pktwalk_cache_ttl(b.p, b.n, 60), 20); /* ... or the SOA's own TTL */
	pb_header(&b, 1, 0x81, 0x83, 0, 0, 0, "nope.example.com", T_A);
	CHECK_INT(pktwalk_cache_ttl(b.p, b.n, 60), -1); /* no SOA: not cached */
	pb_header(&b, 1, 0x81, 0x82, 0, 0, 0, "x.example.com", T_A);
	CHECK_INT(pktwalk_cache_ttl(b.p, b.n, 60), -1); /* SERVFAIL */
	pb_header(&b, 1, 0x81, 0x80, 1, 0, 0, "x.example.com", T_A);
	pb_a(&b, 0, 1);
	CHECK_INT(pktwalk_cache_ttl(b.p, b.n, 60), -1); /* TTL 0 */
}

TEST(malformed_is_safe)
{
	struct pb b;
	pb_header(&b, 1, 0x81, 0x80, 1, 0, 0, "www.example.com", T_A);
	pb_a(&b, 300, 1);
	for (size_t cut = 0; cut < b.n; cut++) {
		CHECK(pktwalk_cache_ttl(b.p, cut, 60) == -1);
		pktwalk_age(b.p, cut, 5); /* must not write out of bounds */
	}
	uint8_t loop[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
	size_t end;
	CHECK(pktwalk_question(loop, sizeof loop, &end, NULL, NULL) == 0); /* pointer skipped */
	uint8_t bad[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x40, 1, 0, 1};
	CHECK(pktwalk_question(bad, sizeof bad, &end, NULL, NULL) == SKY_EPARSE);
}

TEST(same_question_folds_case)
{
	struct pb a, b;
	pb_header(&a, 1, 0x01, 0, 0, 0, 0, "WwW.ExAmple.com", T_A);
	pb_header(&b, 2, 0x81, 0, 0, 0, 0, "www.example.COM", T_A);
	CHECK(pktwalk_same_question(a.p, a.n, b.p, b.n));
	pb_header(&b, 2, 0x81, 0, 0, 0, 0, "www.example.org", T_A);
	CHECK(!pktwalk_same_question(a.p, a.n, b.p, b.n));
	pb_header(&b, 2, 0x81, 0, 0, 0, 0, "www.example.com", T_AAAA);
	CHECK(!pktwalk_same_question(a.p, a.n, b.p, b.n));
}

TEST(age_and_get)
{
	struct rcache *c = rcache_new();
	struct pb b;
	pb_header(&b, 7, 0x81, 0x80, 1, 0, 1, "www.example.com", T_A);
	pb_a(&b, 300, 1);
	pb_opt(&b, 1232);
	char k[RCACHE_KEY_MAX];
	int kl = rcache_key(k, sizeof k, "WWW.example.com.", T_A, C_IN, false, false, true, false, 'F');
	CHECK(kl > 0);
	CHECK_INT(rcache_put(c, k, (size_t)kl, b.p, b.n, 60, 1000, 10), 0);
	uint8_t out[1024];
	CHECK_INT(rcache_get(c, k, (size_t)kl, 1500, out, sizeof out), (int)b.n);
	CHECK_INT(pkt_get32(out + 12 + 17 + 4 + 6), 300);
	CHECK_INT(rcache_get(c, k, (size_t)kl, 11000, out, sizeof out), (int)b.n);
	CHECK_INT(pkt_get32(out + 12 + 17 + 4 + 6), 290); /* aged by 10 s */
	CHECK_INT(pkt_get16(out + 12 + 17 + 4 + 16 + 3), 1232); /* OPT class untouched */
	CHECK_INT(rcache_get(c, k, (size_t)kl, 1000 + 60000, out, sizeof out), 0); /* expired */
	CHECK_INT(rcache_count(c), 0);
	/* key folds case and separates transport / DO / kind */
	char k2[RCACHE_KEY_MAX];
	int kl2 = rcache_key(k2, sizeof k2, "www.EXAMPLE.com.", T_A, C_IN, false, false, true, false, 'F');
	CHECK(kl2 == kl && memcmp(k, k2, (size_t)kl) == 0);
	kl2 = rcache_key(k2, sizeof k2, "www.example.com.", T_A, C_IN, false, false, true, true, 'F');
	CHECK(kl2 == kl && memcmp(k, k2, (size_t)kl) != 0);
	CHECK_INT(rcache_put(c, k, (size_t)kl, b.p, b.n, 60, 0, 10), 0);
	CHECK_INT(rcache_get(c, k, (size_t)kl, 0, out, 10), SKY_ERANGE);
	rcache_free(c);
}

TEST(lru_eviction)
{
	struct rcache *c = rcache_new();
	struct pb b;
	pb_header(&b, 7, 0x81, 0x80, 1, 0, 0, "a.example.com", T_A);
	pb_a(&b, 300, 1);
	uint8_t out[1024];
	char k[3][8] = {"k0", "k1", "k2"};
	CHECK_INT(rcache_put(c, k[0], 2, b.p, b.n, 60, 0, 2), 0);
	CHECK_INT(rcache_put(c, k[1], 2, b.p, b.n, 60, 0, 2), 0);
	CHECK(rcache_get(c, k[0], 2, 0, out, sizeof out) > 0); /* k0 now most recent */
	CHECK_INT(rcache_put(c, k[2], 2, b.p, b.n, 60, 0, 2), 0);
	CHECK_INT(rcache_count(c), 2);
	CHECK(rcache_get(c, k[0], 2, 0, out, sizeof out) > 0);
	CHECK_INT(rcache_get(c, k[1], 2, 0, out, sizeof out), 0); /* evicted */
	CHECK(rcache_get(c, k[2], 2, 0, out, sizeof out) > 0);
	/* capacity 0 (rcache switched off live) empties the cache */
	CHECK_INT(rcache_put(c, k[1], 2, b.p, b.n, 60, 0, 0), 0);
	CHECK_INT(rcache_count(c), 0);
	/* many entries: the table grows and everything stays reachable */
	char kk[16];
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(kk, sizeof kk, "key%d", i);
		CHECK_INT(rcache_put(c, kk, (size_t)n, b.p, b.n, 60, 0, 5000), 0);
	}
	CHECK_INT(rcache_count(c), 1000);
	int found = 0;
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(kk, sizeof kk, "key%d", i);
		found += rcache_get(c, kk, (size_t)n, 0, out, sizeof out) > 0;
	}
	CHECK_INT(found, 1000);
	rcache_trim(c, 10);
	CHECK_INT(rcache_count(c), 10);
	CHECK(rcache_get(c, "key999", 6, 0, out, sizeof out) > 0); /* most recent kept */
	rcache_trim(c, 0);
	CHECK_INT(rcache_count(c), 0);
	rcache_free(c);
}

TEST(stub_marker_option)
{
	struct pb q;
	uint8_t out[1024];
	static const uint8_t one = 1;
	/* no OPT: one is appended with the marker, ARCOUNT 1 */
	pb_header(&q, 9, 0x01, 0, 0, 0, 0, "x.stub.example", T_A);
	int n = pktwalk_add_option(q.p, q.n, 65011, &one, 1, 512, out, sizeof out);
	CHECK_INT(n, (int)q.n + 11 + 5);
	struct pkt_rr opt;
	CHECK_INT(pktwalk_find_opt(out, (size_t)n, &opt), 1);
	CHECK_INT(opt.rclass, 512);
	CHECK_INT(opt.rdlen, 5);
	CHECK_INT(pkt_get16(out + opt.rdata), 65011);
	CHECK_INT(out[opt.rdata + 4], 1);
	CHECK_INT(pkt_get16(out + 10), 1);
	/* existing OPT: the option is appended to its rdata */
	pb_header(&q, 9, 0x01, 0, 0, 0, 1, "x.stub.example", T_A);
	pb_opt(&q, 4096);
	n = pktwalk_add_option(q.p, q.n, 65011, &one, 1, 512, out, sizeof out);
	CHECK_INT(n, (int)q.n + 5);
	CHECK_INT(pktwalk_find_opt(out, (size_t)n, &opt), 1);
	CHECK_INT(opt.rclass, 4096);
	CHECK_INT(opt.rdlen, 5);
	CHECK_INT(pkt_get16(out + 10), 1);
	/* strip the trailing OPT again */
	size_t sl = pktwalk_strip_opt(out, (size_t)n);
	CHECK_INT(sl, q.n - 11);
	CHECK_INT(pkt_get16(out + 10), 0);
	CHECK_INT(pktwalk_add_option(q.p, q.n, 65011, &one, 1, 512, out, q.n), SKY_ERANGE);
}

/* Found by fuzz_query: a client query with bytes after its last record
 * (wire_parse_query ignores them, as NSD and BIND do) got the stub marker's
 * OPT appended behind those bytes, so the stub server read the garbage as
 * the additional record and never saw the marker. */
TEST(stub_marker_after_trailing_bytes)
{
	struct pb q;
	uint8_t out[1024];
	static const uint8_t one = 1;
	pb_header(&q, 9, 0x01, 0, 0, 0, 0, "x.stub.example", T_A);
	size_t qlen = q.n;
	memcpy(q.p + q.n, "\x00\xff\x07", 3);
	q.n += 3;
	int n = pktwalk_add_option(q.p, q.n, 65011, &one, 1, 512, out, sizeof out);
	CHECK_INT(n, (int)qlen + 11 + 5);
	struct pkt_rr opt = { 0 };
	if (n != (int)qlen + 11 + 5 || pktwalk_find_opt(out, (size_t)n, &opt) != 1) {
		CHECK(!"the marker's OPT is where a parser finds it");
		return;
	}
	CHECK_INT(opt.owner, qlen);
	CHECK_INT(opt.end, (size_t)n);
	CHECK_INT(pkt_get16(out + opt.rdata), 65011);
	CHECK_INT(out[opt.rdata + 4], 1);
	/* and a reply whose trailing OPT is followed by garbage loses both */
	memcpy(out + n, "\x01\x02", 2);
	CHECK_INT(pktwalk_strip_opt(out, (size_t)n + 2), qlen);
	CHECK_INT(pkt_get16(out + 10), 0);
}

/* Random and mutated packets through every walker: no crash, no
 * out-of-bounds access (run under ASan/valgrind), results within bounds. */
TEST(random_packets)
{
	uint64_t x = 0x2545f4914f6cdd1dull;
	uint8_t p[600], out[700];
	struct pb b;
	pb_header(&b, 1, 0x81, 0x80, 1, 1, 1, "www.example.com", T_A);
	pb_a(&b, 300, 1);
	pb_soa(&b, 60, 30);
	pb_opt(&b, 1232);
	for (int round = 0; round < 20000; round++) {
		size_t n;
		if (round % 2) { /* mutate a valid packet */
			n = b.n;
			memcpy(p, b.p, n);
			for (int k = 0; k < 3; k++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				p[x % n] = (uint8_t)(x >> 32);
			}
		} else {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			n = x % sizeof p;
			for (size_t i = 0; i < n; i++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				p[i] = (uint8_t)x;
			}
		}
		int64_t ttl = pktwalk_cache_ttl(p, n, 60);
		CHECK(ttl >= -1 && ttl <= 60);
		pktwalk_age(p, n, 7);
		struct pkt_rr rr;
		(void)pktwalk_find_opt(p, n, &rr);
		static const uint8_t one = 1;
		int m = pktwalk_add_option(p, n, 65011, &one, 1, 512, out, sizeof out);
		CHECK(m < 0 || (size_t)m <= sizeof out);
		if (m > 0)
			CHECK(pktwalk_strip_opt(out, (size_t)m) <= (size_t)m);
		(void)pktwalk_same_question(p, n, b.p, b.n);
	}
}

int main(void)
{
	RUN(cache_ttl_positive);
	RUN(cache_ttl_negative);
	RUN(malformed_is_safe);
	RUN(same_question_folds_case);
	RUN(age_and_get);
	RUN(lru_eviction);
	RUN(stub_marker_option);
	RUN(stub_marker_after_trailing_bytes);
	RUN(random_packets);
	return CHECK_DONE();
}
