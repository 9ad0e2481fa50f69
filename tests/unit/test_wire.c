/* test_wire.c - query parsing, answer encoding, compression, truncation.
 * Encoded replies are decoded back with ldns (an independent parser), so
 * compression pointers are checked by something that is not our code. */
#include <ldns/ldns.h>
#include <stdlib.h>

#include "check.h"
#include "err.h"
#include "wire.h"

/* ------------------------------------------------------------ packet maker */

struct pkt {
	uint8_t b[4096];
	size_t len;
};

static void p16(struct pkt *p, uint16_t v) { p->b[p->len++] = (uint8_t)(v >> 8); p->b[p->len++] = (uint8_t)v; }
static void p32(struct pkt *p, uint32_t v) { p16(p, (uint16_t)(v >> 16)); p16(p, (uint16_t)v); }
static void pbytes(struct pkt *p, const void *d, size_t n) { if (n) memcpy(p->b + p->len, d, n); p->len += n; }
static void pname(struct pkt *p, const char *name)
{
	int n = wire_name_from_str(name, p->b + p->len, sizeof p->b - p->len);
	if (n > 0)
		p->len += (size_t)n;
}

static void header(struct pkt *p, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar)
{
	p->len = 0;
	p16(p, 0xBEEF); p16(p, flags); p16(p, qd); p16(p, an); p16(p, ns); p16(p, ar);
}

/* OPT RR: udp size, version, DO, options blob. */
static void popt(struct pkt *p, uint16_t udp, uint8_t version, int do_bit, const uint8_t *opts, uint16_t olen)
{
	p->b[p->len++] = 0;
	p16(p, T_OPT); p16(p, udp);
	p32(p, (uint32_t)version << 16 | (do_bit ? 0x8000u : 0));
	p16(p, olen);
	pbytes(p, opts, olen);
}

static void make_query(struct pkt *p, const char *name, uint16_t qtype, int edns, uint16_t udp)
{
	header(p, 0x0100, 1, 0, 0, edns ? 1 : 0);
	pname(p, name);
	p16(p, qtype); p16(p, C_IN);
	if (edns)
		popt(p, udp, 0, 0, NULL, 0);
}

static int parse(const struct pkt *p, struct query *q, struct wire_question *wq, int *hint)
{
	return wire_parse_query(p->b, p->len, q, wq, hint);
}

/* ------------------------------------------------------------ parse tests */

TEST(parse_basic)
{
	struct pkt p; struct query q; struct wire_question wq; int hint;
	make_query(&p, "WwW.SkYdNs.LoCaL.", T_SRV, 0, 0);
	CHECK_INT(parse(&p, &q, &wq, &hint), 0);
	CHECK_INT(hint, 0);
	CHECK_STR(q.name, "www.skydns.local.");
	CHECK_INT(q.qtype, T_SRV);
	CHECK_INT(q.qclass, C_IN);
	CHECK(q.rd);
	CHECK(!q.edns);
	CHECK_INT(q.udp_size, 512);
	CHECK_INT(wq.id, 0xBEEF);
	CHECK_INT(wq.qname_len, 18);
	CHECK_INT(wq.question_end, 12 + 18 + 4);
	CHECK(memcmp(wq.qname, "\x03WwW", 4) == 0);
}

TEST(parse_edns)
{
	struct pkt p; struct query q; struct wire_question wq; int hint;
	header(&p, 0x0010, 1, 0, 0, 1);
	pname(&p, "a.b.");
	p16(&p, T_A); p16(&p, C_IN);
	static const uint8_t opts[] = { 0xFD, 0xF3, 0, 1, 0x01, /* 65011 = 0x01 */
					0xFD, 0xE9, 0, 2, 'x', 'y' }; /* unknown 65001 */
	popt(&p, 4096, 0, 1, opts, sizeof opts);
	CHECK_INT(parse(&p, &q, &wq, &hint), 0);
	CHECK_INT(hint, 0);
	CHECK(q.edns);
	CHECK(q.do_bit);
	CHECK(q.cd);
	CHECK(!q.rd);
	CHECK(q.stub_marker);
	CHECK_INT(q.udp_size, 4096);

	make_query(&p, "a.b.", T_A, 1, 100); /* tiny buffers count as 512 */
	CHECK_INT(parse(&p, &q, &wq, &hint), 0);
	CHECK_INT(q.udp_size, 512);
	CHECK(!q.stub_marker);
}

TEST(parse_escapes)
{
	struct pkt p; struct query q; struct wire_question wq; int hint;
	header(&p, 0, 1, 0, 0, 0);
	static const uint8_t name[] = { 3, 'a', '.', 'B', 2, 0x01, ' ', 1, '\\', 0 };
	pbytes(&p, name, sizeof name);
	p16(&p, T_A); p16(&p, C_IN);
	CHECK_INT(parse(&p, &q, &wq, &hint), 0);
	CHECK_STR(q.name, "a\\.b.\\001\\032.\\\\.");
	uint8_t w[256];
	CHECK_INT(wire_name_from_str(q.name, w, sizeof w), (int)sizeof name);
	CHECK(memcmp(w, "\x03" "a.b\x02\x01 \x01\\", 9) == 0);

	header(&p, 0, 1, 0, 0, 0); /* the root */
	p.b[p.len++] = 0;
	p16(&p, T_NS); p16(&p, C_IN);
	CHECK_INT(parse(&p, &q, &wq, &hint), 0);
	CHECK_STR(q.name, ".");
}

TEST(name_from_str)
{
	uint8_t w[300];
	CHECK_INT(wire_name_from_str(".", w, sizeof w), 1);
	CHECK_INT(wire_name_from_str("a.b", w, sizeof w), 5); /* relative taken as absolute */
	CHECK_INT(wire_name_from_str("a..b.", w, sizeof w), SKY_EPARSE);
	CHECK_INT(wire_name_from_str("a\\2", w, sizeof w), SKY_EPARSE);
	CHECK_INT(wire_name_from_str("a\\999.", w, sizeof w), SKY_EPARSE);
	char big[80];
	memset(big, 'x', 64); strcpy(big + 64, ".");
	CHECK_INT(wire_name_from_str(big, w, sizeof w), SKY_EPARSE); /* 64-byte label */
	char longname[400] = "";
	for (int i = 0; i < 60; i++)
		strcat(longname, "abcd.");
	CHECK_INT(wire_name_from_str(longname, w, sizeof w), SKY_ERANGE); /* > 255 */
	CHECK_INT(wire_name_from_str("abc.", w, 3), SKY_ERANGE);
}

TEST(parse_drop)
{
	struct pkt p; struct query q; struct wire_question wq; int hint;
	make_query(&p, "a.b.", T_A, 0, 0);
	CHECK_INT(wire_parse_query(p.b, 0, &q, &wq, &hint), SKY_EINVAL);
	CHECK_INT(wire_parse_query(p.b, 5, &q, &wq, &hint), SKY_EINVAL);
	CHECK_INT(wire_parse_query(p.b, 11, &q, &wq, &hint), SKY_EINVAL);
	p.b[2] |= 0x80; /* QR */
	CHECK_INT(parse(&p, &q, &wq, &hint), SKY_EINVAL);
}

/* Each case: a packet that must give FORMERR, and the error reply must be a
 * 12-byte header (no question could be trusted) or echo the question. */
static void expect_formerr(struct pkt *p, int line)
{
	struct query q; struct wire_question wq; int hint;
	int rc = parse(p, &q, &wq, &hint);
	if (rc != SKY_EPARSE) {
		check_cur_failed = 1;
		printf("  line %d: parse = %d, expected FORMERR\n", line, rc);
		return;
	}
	uint8_t out[512];
	int n = wire_encode_error(p->b, p->len, &wq, RCODE_FORMERR, out, sizeof out);
	CHECK(n >= 12);
	CHECK_INT(out[0] << 8 | out[1], 0xBEEF);
	CHECK_INT(out[3] & 0x0F, RCODE_FORMERR);
	CHECK(out[2] & 0x80);
	CHECK_INT(out[4] << 8 | out[5], wq.qname ? 1 : 0);
	CHECK_INT(n, wq.qname ? (int)wq.question_end : 12);
}

TEST(parse_formerr)
{
	struct pkt p;
	header(&p, 0x0100, 0, 0, 0, 0); /* QDCOUNT 0 */
	expect_formerr(&p, __LINE__);
	header(&p, 0x0100, 0, 0, 0, 1); /* QDCOUNT 0 + OPT (cookie probe) */
	popt(&p, 1232, 0, 0, NULL, 0);
	expect_formerr(&p, __LINE__);
	make_query(&p, "a.b.", T_A, 0, 0); /* QDCOUNT 2 */
	p.b[5] = 2;
	expect_formerr(&p, __LINE__);
	make_query(&p, "a.b.", T_A, 0, 0); /* QDCOUNT 65535 */
	p.b[4] = p.b[5] = 0xFF;
	expect_formerr(&p, __LINE__);
	header(&p, 0, 1, 0, 0, 0); /* no question at all */
	expect_formerr(&p, __LINE__);
	make_query(&p, "abc.def.", T_A, 0, 0); /* truncated inside the name */
	p.len = 12 + 5;
	expect_formerr(&p, __LINE__);
	make_query(&p, "abc.def.", T_A, 0, 0); /* truncated type/class */
	p.len -= 2;
	expect_formerr(&p, __LINE__);

	static const uint8_t self_ptr[] = { 0xC0, 12, 0, 1, 0, 1 };
	static const uint8_t loop2[] = { 1, 'a', 0xC0, 12, 0, 1, 0, 1 };
	static const uint8_t fwd_ptr[] = { 0xC0, 14, 1, 'a', 0, 0, 1, 0, 1 };
	static const uint8_t hdr_ptr[] = { 1, 'a', 0xC0, 2, 0, 1, 0, 1 };
	static const uint8_t lbl40[] = { 0x41, 'a', 0, 0, 1, 0, 1 };
	static const uint8_t lbl80[] = { 0x81, 'a', 0, 0, 1, 0, 1 };
	const struct { const uint8_t *d; size_t n; } bad[] = {
		{ self_ptr, sizeof self_ptr }, { loop2, sizeof loop2 }, { fwd_ptr, sizeof fwd_ptr },
		{ hdr_ptr, sizeof hdr_ptr }, { lbl40, sizeof lbl40 }, { lbl80, sizeof lbl80 },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		header(&p, 0, 1, 0, 0, 0);
		pbytes(&p, bad[i].d, bad[i].n);
		expect_formerr(&p, __LINE__);
	}

	header(&p, 0, 1, 0, 0, 0); /* 256-octet name: 4 x 63-byte labels + 1 */
	for (int i = 0; i < 4; i++) {
		p.b[p.len++] = 63;
		memset(p.b + p.len, 'x', 63);
		p.len += 63;
	}
	p.b[p.len++] = 0;
	p16(&p, T_A); p16(&p, C_IN);
	expect_formerr(&p, __LINE__);
}

TEST(parse_formerr_sections)
{
	struct pkt p;
	make_query(&p, "a.b.", T_A, 0, 0); /* ARCOUNT claims an RR that is not there */
	p.b[11] = 1;
	expect_formerr(&p, __LINE__);
	make_query(&p, "a.b.", T_A, 0, 0);
	p.b[7] = 3; /* ANCOUNT 3 */
	expect_formerr(&p, __LINE__);

	make_query(&p, "a.b.", T_A, 1, 1232); /* two OPT */
	p.b[11] = 2;
	popt(&p, 1232, 0, 0, NULL, 0);
	expect_formerr(&p, __LINE__);

	header(&p, 0, 1, 1, 0, 0); /* OPT in the answer section */
	pname(&p, "a.b."); p16(&p, T_A); p16(&p, C_IN);
	popt(&p, 1232, 0, 0, NULL, 0);
	expect_formerr(&p, __LINE__);

	header(&p, 0, 1, 0, 0, 1); /* OPT with a non-root owner */
	pname(&p, "a.b."); p16(&p, T_A); p16(&p, C_IN);
	pname(&p, "x.");
	p16(&p, T_OPT); p16(&p, 1232); p32(&p, 0); p16(&p, 0);
	expect_formerr(&p, __LINE__);

	static const uint8_t overrun[] = { 0, 10, 0, 8, 1, 2 }; /* option longer than RDLEN */
	static const uint8_t short_hdr[] = { 0, 10, 0 };        /* 3-byte option header */
	header(&p, 0, 1, 0, 0, 1);
	pname(&p, "a.b."); p16(&p, T_A); p16(&p, C_IN);
	popt(&p, 1232, 0, 0, overrun, sizeof overrun);
	expect_formerr(&p, __LINE__);
	header(&p, 0, 1, 0, 0, 1);
	pname(&p, "a.b."); p16(&p, T_A); p16(&p, C_IN);
	popt(&p, 1232, 0, 0, short_hdr, sizeof short_hdr);
	expect_formerr(&p, __LINE__);
	header(&p, 0, 1, 0, 0, 1); /* RDLEN beyond the packet */
	pname(&p, "a.b."); p16(&p, T_A); p16(&p, C_IN);
	popt(&p, 1232, 0, 0, NULL, 0);
	p.b[p.len - 1] = 40;
	expect_formerr(&p, __LINE__);
}

TEST(parse_tolerant)
{
	struct pkt p; struct query q; struct wire_question wq; int hint;
	make_query(&p, "a.b.", T_A, 1, 1232); /* trailing garbage: ignored */
	pbytes(&p, "garbage", 7);
	CHECK_INT(parse(&p, &q, &wq, &hint), 0);
	CHECK(q.edns);

	header(&p, 0x0100, 1, 1, 0, 0); /* an answer RR with a compressed owner */
	pname(&p, "a.b."); p16(&p, T_A); p16(&p, C_IN);
	p16(&p, 0xC00C); p16(&p, T_A); p16(&p, C_IN); p32(&p, 60); p16(&p, 4); p32(&p, 0x7F000001);
	CHECK_INT(parse(&p, &q, &wq, &hint), 0);

	make_query(&p, "a.b.", T_A, 0, 0); /* Z, TC and AD in a query */
	p.b[2] |= 0x02;
	p.b[3] |= 0x70;
	CHECK_INT(parse(&p, &q, &wq, &hint), 0);
	CHECK_INT(hint, 0);
}

TEST(parse_formerr_as_nsd)
{
	struct pkt p; struct query q; struct wire_question wq; int hint;
	make_query(&p, "a.b.", T_A, 0, 0); /* an rcode in a query */
	p.b[3] |= 0x05;
	CHECK_INT(parse(&p, &q, &wq, &hint), 0);
	CHECK_INT(hint, RCODE_FORMERR);
	CHECK_STR(q.name, "a.b.");

	/* additional-section owners whose pointers loop or point forward */
	for (int i = 0; i < 3; i++) {
		header(&p, 0x0100, 1, 0, 0, 1);
		pname(&p, "a.b."); p16(&p, T_A); p16(&p, C_IN);
		uint16_t here = (uint16_t)p.len, to[] = { here, (uint16_t)(here + 2), 0xFFF };
		p16(&p, (uint16_t)(0xC000 | to[i]));
		p16(&p, T_A); p16(&p, C_IN); p32(&p, 60); p16(&p, 4); p32(&p, 0x7F000001);
		CHECK_INT(parse(&p, &q, &wq, &hint), SKY_EPARSE);
	}
}

TEST(notimp_and_badvers)
{
	struct pkt p; struct query q; struct wire_question wq; int hint;
	uint8_t out[512];
	for (unsigned opcode = 1; opcode < 16; opcode++) {
		make_query(&p, "a.b.", T_A, 0, 0);
		p.b[2] = (uint8_t)(0x01 | opcode << 3); /* RD set too */
		CHECK_INT(parse(&p, &q, &wq, &hint), 0);
		CHECK_INT(hint, RCODE_NOTIMP);
		int n = wire_encode_error(p.b, p.len, &wq, hint, out, sizeof out);
		CHECK_INT(n, (int)p.len);
		CHECK_INT(out[2], 0x80 | opcode << 3); /* QR + opcode, no RD/AA */
		CHECK_INT(out[3], RCODE_NOTIMP);
	}
	header(&p, 5 << 11, 1, 1, 1, 0); /* UPDATE with a zone section: still NOTIMP */
	pname(&p, "b."); p16(&p, T_SOA); p16(&p, C_IN);
	CHECK_INT(parse(&p, &q, &wq, &hint), 0);
	CHECK_INT(hint, RCODE_NOTIMP);
	header(&p, 4 << 11, 0, 0, 0, 0); /* NOTIFY without a question */
	CHECK_INT(parse(&p, &q, &wq, &hint), 0);
	CHECK_INT(hint, RCODE_NOTIMP);

	header(&p, 0x0100, 1, 0, 0, 1);
	pname(&p, "a.b."); p16(&p, T_A); p16(&p, C_IN);
	popt(&p, 1232, 1, 0, (const uint8_t *)"\xFD\xE9\0\0", 4);
	CHECK_INT(parse(&p, &q, &wq, &hint), 0);
	CHECK_INT(hint, RCODE_BADVERS);
	int n = wire_encode_error(p.b, p.len, &wq, hint, out, sizeof out);
	CHECK_INT(n, (int)wq.question_end + 11);
	CHECK_INT(out[3] & 0x0F, 0);            /* low bits of 16 */
	CHECK_INT(out[11], 1);                  /* ARCOUNT: the OPT */
	const uint8_t *opt = out + wq.question_end;
	CHECK_INT(opt[0], 0);
	CHECK_INT(opt[1] << 8 | opt[2], T_OPT);
	CHECK_INT(opt[5], 1);                   /* extended rcode 1 -> 16 */
	CHECK_INT(opt[6], 0);                   /* version 0 */
	CHECK_INT(opt[9] << 8 | opt[10], 0);    /* unknown option not echoed */
}

/* ------------------------------------------------------------ encode tests */

static ldns_pkt *decode(const uint8_t *b, int n)
{
	ldns_pkt *lp = NULL;
	if (n <= 0 || ldns_wire2pkt(&lp, b, (size_t)n) != LDNS_STATUS_OK)
		return NULL;
	return lp;
}

static char *rr_str(ldns_pkt *lp, ldns_pkt_section sec, size_t i)
{
	ldns_rr_list *l = ldns_pkt_get_section_clone(lp, sec);
	char *s = NULL;
	if (l && i < ldns_rr_list_rr_count(l))
		s = ldns_rr2str(ldns_rr_list_rr(l, i));
	ldns_rr_list_deep_free(l);
	if (s && strlen(s) && s[strlen(s) - 1] == '\n')
		s[strlen(s) - 1] = '\0';
	return s;
}

static void check_rr(ldns_pkt *lp, ldns_pkt_section sec, size_t i, const char *want, int line)
{
	char *s = lp ? rr_str(lp, sec, i) : NULL;
	if (!s || strcmp(s, want) != 0) {
		check_cur_failed = 1;
		printf("  line %d: rr %zu = \"%s\", expected \"%s\"\n", line, i, s ? s : "(null)", want);
	}
	free(s);
}

static struct rr rr_a(const char *owner, uint8_t last)
{
	struct rr r = { .owner = owner, .type = T_A, .rclass = C_IN, .ttl = 3600 };
	r.d.a[0] = 10; r.d.a[3] = last;
	return r;
}

static struct rr rr_srv(const char *owner, const char *target, uint16_t port)
{
	struct rr r = { .owner = owner, .type = T_SRV, .rclass = C_IN, .ttl = 3600 };
	r.d.srv.priority = 10; r.d.srv.weight = 50; r.d.srv.port = port; r.d.srv.target = target;
	return r;
}

TEST(encode_roundtrip)
{
	struct pkt p; struct query q; struct wire_question wq; int hint;
	make_query(&p, "WeB.SkYdNs.LoCaL.", T_SRV, 1, 4096);
	CHECK_INT(parse(&p, &q, &wq, &hint), 0);

	static char text[300];
	memset(text, 't', sizeof text);
	struct rr an[6] = {
		rr_srv(NULL, "x1.web.skydns.local.", 80),
		{ .owner = "web.skydns.local.", .type = T_CNAME, .rclass = C_IN, .ttl = 60,
		  .d.name.target = "x1.web.skydns.local." },
		{ .owner = NULL, .type = T_MX, .rclass = C_IN, .ttl = 60,
		  .d.mx = { 10, "mail.skydns.local." } },
		{ .owner = NULL, .type = T_TXT, .rclass = C_IN, .ttl = 60,
		  .d.txt = { text, sizeof text } },
		{ .owner = "1.0.0.10.in-addr.arpa.", .type = T_PTR, .rclass = C_IN, .ttl = 60,
		  .d.name.target = "web.skydns.local." },
		{ .owner = NULL, .type = T_HINFO, .rclass = C_IN, .ttl = 60,
		  .d.raw = { (const uint8_t *)"\x01" "a\x01" "b", 4 } },
	};
	struct rr ns[1] = { { .owner = "skydns.local.", .type = T_SOA, .rclass = C_IN, .ttl = 60,
			      .d.soa = { "ns.dns.skydns.local.", "hostmaster.skydns.local.",
					 2026112204, 28800, 7200, 604800, 60 } } };
	struct rr ar[1] = { rr_a("x1.web.skydns.local.", 1) };
	struct answer a = { .aa = true, .ra = true };
	a.rrs[0] = an; a.n[0] = 6;
	a.rrs[1] = ns; a.n[1] = 1;
	a.rrs[2] = ar; a.n[2] = 1;

	uint8_t out[WIRE_MAX];
	int n = wire_encode(&q, &wq, &a, out, sizeof out, q.udp_size);
	CHECK(n > 0);
	CHECK(memcmp(out + 12, p.b + 12, wq.question_end - 12) == 0); /* 0x20 echo */
	CHECK_INT(out[wq.question_end], 0xC0);                       /* owner NULL -> question */
	CHECK_INT(out[wq.question_end + 1], 12);
	ldns_pkt *lp = decode(out, n);
	CHECK(lp != NULL);
	if (!lp)
		return;
	CHECK_INT(ldns_pkt_id(lp), 0xBEEF);
	CHECK(ldns_pkt_qr(lp) && ldns_pkt_aa(lp) && ldns_pkt_ra(lp) && ldns_pkt_rd(lp));
	CHECK(!ldns_pkt_tc(lp));
	CHECK_INT(ldns_pkt_ancount(lp), 6);
	CHECK_INT(ldns_pkt_nscount(lp), 1);
	CHECK_INT(ldns_pkt_arcount(lp), 1);
	CHECK(ldns_pkt_edns(lp));
	CHECK_INT(ldns_pkt_edns_udp_size(lp), 1232);
	CHECK(!ldns_pkt_edns_do(lp));
	check_rr(lp, LDNS_SECTION_ANSWER, 0, "WeB.SkYdNs.LoCaL.\t3600\tIN\tSRV\t10 50 80 x1.web.skydns.local.", __LINE__);
	check_rr(lp, LDNS_SECTION_ANSWER, 1, "WeB.SkYdNs.LoCaL.\t60\tIN\tCNAME\tx1.web.skydns.local.", __LINE__);
	check_rr(lp, LDNS_SECTION_ANSWER, 2, "WeB.SkYdNs.LoCaL.\t60\tIN\tMX\t10 mail.SkYdNs.LoCaL.", __LINE__);
	check_rr(lp, LDNS_SECTION_ANSWER, 4, "1.0.0.10.in-addr.arpa.\t60\tIN\tPTR\tWeB.SkYdNs.LoCaL.", __LINE__);
	check_rr(lp, LDNS_SECTION_ANSWER, 5, "WeB.SkYdNs.LoCaL.\t60\tIN\tHINFO\t\"a\" \"b\"", __LINE__);
	check_rr(lp, LDNS_SECTION_AUTHORITY, 0, "SkYdNs.LoCaL.\t60\tIN\tSOA\tns.dns.SkYdNs.LoCaL. hostmaster.SkYdNs.LoCaL. 2026112204 28800 7200 604800 60", __LINE__);
	check_rr(lp, LDNS_SECTION_ADDITIONAL, 0, "x1.web.skydns.local.\t3600\tIN\tA\t10.0.0.1", __LINE__);
	ldns_rr *txt = ldns_rr_list_rr(ldns_pkt_answer(lp), 3);
	CHECK_INT(ldns_rr_rd_count(txt), 2); /* 255 + 45 */
	CHECK_INT(ldns_rdf_size(ldns_rr_rdf(txt, 0)), 256);
	CHECK_INT(ldns_rdf_size(ldns_rr_rdf(txt, 1)), 46);
	ldns_pkt_free(lp);

	/* The SRV target is written in full (RFC 2782), even though the same
	 * name follows later compressed. */
	uint8_t tgt[64];
	int tl = wire_name_from_str("x1.web.skydns.local.", tgt, sizeof tgt);
	CHECK(memmem(out, (size_t)n, tgt, (size_t)tl) != NULL);
}

TEST(encode_flags)
{
	struct pkt p; struct query q; struct wire_question wq; int hint;
	make_query(&p, "a.b.", T_ANY, 1, 1232);
	p.b[3] |= 0x10; /* CD */
	p.b[p.len - 4] = 0x80; /* DO */
	CHECK_INT(parse(&p, &q, &wq, &hint), 0);
	CHECK(q.do_bit);
	struct answer a = { .rcode = RCODE_REFUSED, .rd_clear = true };
	uint8_t out[512];
	int n = wire_encode(&q, &wq, &a, out, sizeof out, 512);
	CHECK_INT(n, (int)wq.question_end + 11);
	CHECK_INT(out[2], 0x80);        /* QR only: RD cleared, no AA */
	CHECK_INT(out[3], 0x10 | RCODE_REFUSED); /* CD copied */
	CHECK_INT(out[n - 4] & 0x80, 0); /* DO not set: not signed */

	struct answer s = { .aa = true, .ad = true, .sign = true };
	n = wire_encode(&q, &wq, &s, out, sizeof out, 512);
	CHECK_INT(out[2], 0x80 | 0x04 | 0x01);
	CHECK_INT(out[3], 0x20 | 0x10);
	CHECK_INT(out[n - 4] & 0x80, 0x80); /* DO echoed on signed answers */

	make_query(&p, "a.b.", T_A, 0, 0); /* no EDNS in the query: no OPT */
	CHECK_INT(parse(&p, &q, &wq, &hint), 0);
	n = wire_encode(&q, &wq, &s, out, sizeof out, 512);
	CHECK_INT(n, (int)wq.question_end);
	CHECK_INT(out[11], 0);
}

/* 40 SRV answers with a glue A each (the SkyDNS §14 example). */
static void big_answer(struct answer *a, struct rr *an, struct rr *ar, size_t count,
		       char (*names)[64])
{
	memset(a, 0, sizeof *a);
	a->aa = a->ra = true;
	for (size_t i = 0; i < count; i++) {
		snprintf(names[i], 64, "host-%02zu.service.skydns.local.", i);
		an[i] = rr_srv(NULL, names[i], (uint16_t)(8000 + i));
		ar[i] = rr_a(names[i], (uint8_t)i);
	}
	a->rrs[0] = an; a->n[0] = count;
	a->rrs[2] = ar; a->n[2] = count;
}

TEST(truncation)
{
	struct pkt p; struct query q; struct wire_question wq; int hint;
	static struct rr an[40], ar[40];
	static char names[40][64];
	struct answer a;
	uint8_t out[WIRE_MAX];
	big_answer(&a, an, ar, 40, names);

	make_query(&p, "service.skydns.local.", T_SRV, 0, 0);
	CHECK_INT(parse(&p, &q, &wq, &hint), 0);
	int n = wire_encode(&q, &wq, &a, out, sizeof out, q.udp_size);
	CHECK(n > 0 && n <= 512);
	ldns_pkt *lp = decode(out, n);
	CHECK(lp && ldns_pkt_tc(lp));
	CHECK(lp && ldns_pkt_ancount(lp) > 5 && ldns_pkt_ancount(lp) < 40);
	CHECK(lp && ldns_pkt_arcount(lp) == 0);
	ldns_pkt_free(lp);

	/* Answers alone fit 4096 but not with the glue: additional dropped, no TC. */
	make_query(&p, "service.skydns.local.", T_SRV, 1, 2200);
	CHECK_INT(parse(&p, &q, &wq, &hint), 0);
	n = wire_encode(&q, &wq, &a, out, sizeof out, q.udp_size);
	CHECK(n > 0 && n <= 2200);
	lp = decode(out, n);
	CHECK(lp && !ldns_pkt_tc(lp));
	CHECK(lp && ldns_pkt_ancount(lp) == 40);
	CHECK(lp && ldns_pkt_arcount(lp) == 0);
	CHECK(lp && ldns_pkt_edns(lp)); /* OPT kept */
	ldns_pkt_free(lp);

	/* Everything fits 4096. */
	make_query(&p, "service.skydns.local.", T_SRV, 1, 4096);
	CHECK_INT(parse(&p, &q, &wq, &hint), 0);
	n = wire_encode(&q, &wq, &a, out, sizeof out, q.udp_size);
	lp = decode(out, n);
	CHECK(lp && !ldns_pkt_tc(lp) && ldns_pkt_ancount(lp) == 40 && ldns_pkt_arcount(lp) == 40); /* ldns strips the OPT */
	ldns_pkt_free(lp);

	/* TCP: same query, 65535 limit, everything. */
	make_query(&p, "service.skydns.local.", T_SRV, 0, 0);
	CHECK_INT(parse(&p, &q, &wq, &hint), 0);
	q.tcp = true;
	n = wire_encode(&q, &wq, &a, out, sizeof out, WIRE_MAX);
	lp = decode(out, n);
	CHECK(lp && !ldns_pkt_tc(lp) && ldns_pkt_ancount(lp) == 40 && ldns_pkt_arcount(lp) == 40);
	ldns_pkt_free(lp);

	/* Exactly at the limit: fits without TC. */
	big_answer(&a, an, ar, 3, names);
	a.n[2] = 0;
	make_query(&p, "service.skydns.local.", T_SRV, 0, 0);
	CHECK_INT(parse(&p, &q, &wq, &hint), 0);
	int exact = wire_encode(&q, &wq, &a, out, sizeof out, 512);
	CHECK(exact > 0);
	n = wire_encode(&q, &wq, &a, out, sizeof out, (size_t)exact > 512 ? (size_t)exact : 512);
	CHECK_INT(n, exact);
	CHECK_INT(out[2] & 0x02, 0);
}

TEST(truncation_tcp_servfail)
{
	/* 300 TXT records of 255 bytes: > 64 KiB even without additional. */
	struct pkt p; struct query q; struct wire_question wq; int hint;
	static char text[255];
	static struct rr an[300];
	memset(text, 'z', sizeof text);
	for (int i = 0; i < 300; i++)
		an[i] = (struct rr){ .owner = NULL, .type = T_TXT, .rclass = C_IN, .ttl = 1,
				     .d.txt = { text, sizeof text } };
	struct answer a = { .aa = true };
	a.rrs[0] = an; a.n[0] = 300;
	static uint8_t out[WIRE_MAX];
	make_query(&p, "t.skydns.local.", T_TXT, 0, 0);
	CHECK_INT(parse(&p, &q, &wq, &hint), 0);
	q.tcp = true;
	CHECK_INT(wire_encode(&q, &wq, &a, out, sizeof out, WIRE_MAX), SKY_ERANGE);
	q.tcp = false; /* UDP: TC with a prefix */
	int n = wire_encode(&q, &wq, &a, out, sizeof out, 512);
	CHECK(n > 0 && n <= 512);
	CHECK(out[2] & 0x02);
	CHECK_INT(out[7], 1);
}

TEST(encode_escaped_names)
{
	/* A label holding a dot and a \DDD byte survives presentation -> wire
	 * -> presentation; compression does not merge "a\.b" with "a.b". */
	struct pkt p; struct query q; struct wire_question wq; int hint;
	make_query(&p, "x.skydns.local.", T_PTR, 0, 0);
	CHECK_INT(parse(&p, &q, &wq, &hint), 0);
	struct rr an[2] = {
		{ .owner = NULL, .type = T_PTR, .rclass = C_IN, .ttl = 1,
		  .d.name.target = "a\\.b\\001.skydns.local." },
		{ .owner = NULL, .type = T_PTR, .rclass = C_IN, .ttl = 1,
		  .d.name.target = "a.b.skydns.local." },
	};
	struct answer a = { 0 };
	a.rrs[0] = an; a.n[0] = 2;
	uint8_t out[512];
	int n = wire_encode(&q, &wq, &a, out, sizeof out, 512);
	ldns_pkt *lp = decode(out, n);
	CHECK(lp != NULL);
	check_rr(lp, LDNS_SECTION_ANSWER, 0, "x.skydns.local.\t1\tIN\tPTR\ta\\.b\\001.skydns.local.", __LINE__);
	check_rr(lp, LDNS_SECTION_ANSWER, 1, "x.skydns.local.\t1\tIN\tPTR\ta.b.skydns.local.", __LINE__);
	ldns_pkt_free(lp);
}

TEST(encode_bad_name)
{
	struct pkt p; struct query q; struct wire_question wq; int hint;
	make_query(&p, "a.b.", T_CNAME, 0, 0);
	CHECK_INT(parse(&p, &q, &wq, &hint), 0);
	struct rr an[1] = { { .owner = NULL, .type = T_CNAME, .rclass = C_IN, .ttl = 1,
			      .d.name.target = "bad..name." } };
	struct answer a = { 0 };
	a.rrs[0] = an; a.n[0] = 1;
	uint8_t out[512];
	CHECK_INT(wire_encode(&q, &wq, &a, out, sizeof out, 512), SKY_EPARSE);
}

/* ------------------------------------------------------------ fuzz-ish */

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
	return (uint32_t)rng;
}

/* Every packet either drops, FORMERRs or parses; whatever parses encodes a
 * reply that ldns can read back and that fits the client's size. */
static int fuzz_counts[3]; /* dropped, error reply, answered */

static void fuzz_one(const uint8_t *b, size_t len)
{
	struct query q; struct wire_question wq; int hint;
	static uint8_t out[WIRE_MAX];
	int rc = wire_parse_query(b, len, &q, &wq, &hint);
	if (rc == SKY_EINVAL) {
		fuzz_counts[0]++;
		return;
	}
	if (rc == SKY_EPARSE || hint) {
		fuzz_counts[1]++;
		int n = wire_encode_error(b, len, &wq, rc ? RCODE_FORMERR : hint, out, sizeof out);
		CHECK(n >= 12);
		return;
	}
	CHECK_INT(rc, 0);
	fuzz_counts[2]++;
	CHECK(q.udp_size >= 512);
	struct rr an[2] = { rr_a(NULL, 1), rr_a(q.name, 2) };
	struct answer a = { .aa = true };
	a.rrs[0] = an; a.n[0] = 2;
	int n = wire_encode(&q, &wq, &a, out, sizeof out, q.udp_size);
	CHECK(n > 0 && (size_t)n <= q.udp_size);
	ldns_pkt *lp = decode(out, n);
	CHECK(lp != NULL);
	ldns_pkt_free(lp);
}

TEST(fuzz)
{
	struct pkt base, p;
	make_query(&base, "fuzz.SkyDNS.local.", T_A, 1, 1232);
	for (int i = 0; i < 200000; i++) {
		if (i % 4 == 0) { /* pure noise with a plausible header */
			p.len = rnd() % 80;
			for (size_t k = 0; k < p.len; k++)
				p.b[k] = (uint8_t)rnd();
			if (p.len > 5)
				p.b[2] &= 0x7F, p.b[4] = 0, p.b[5] = 1;
		} else { /* a few byte flips of a good query */
			p = base;
			int flips = 1 + (int)(rnd() % 4);
			for (int k = 0; k < flips; k++)
				p.b[rnd() % p.len] = (uint8_t)rnd();
			if (rnd() % 8 == 0)
				p.len = rnd() % (base.len + 1);
		}
		fuzz_one(p.b, p.len);
		if (check_cur_failed) {
			printf("  fuzz input %d failed\n", i);
			return;
		}
	}
	printf("  fuzz: %d dropped, %d error replies, %d answered\n", fuzz_counts[0],
	       fuzz_counts[1], fuzz_counts[2]);
	CHECK(fuzz_counts[2] > 10000); /* the mutations still reach the encoder */
}

int main(void)
{
	RUN(parse_basic);
	RUN(parse_edns);
	RUN(parse_escapes);
	RUN(name_from_str);
	RUN(parse_drop);
	RUN(parse_formerr);
	RUN(parse_formerr_sections);
	RUN(parse_tolerant);
	RUN(notimp_and_badvers);
	RUN(encode_roundtrip);
	RUN(encode_flags);
	RUN(parse_formerr_as_nsd);
	RUN(truncation);
	RUN(truncation_tcp_servfail);
	RUN(encode_escaped_names);
	RUN(encode_bad_name);
	RUN(fuzz);
	return CHECK_DONE();
}
