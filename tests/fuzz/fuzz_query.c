/* fuzz_query.c - raw bytes as a DNS message from the network:
 *  - as a client's query: wire_parse_query(), then the reply skydns would
 *    send (wire_encode_error() for a bad one, wire_encode() of a small
 *    answer naming the question for a good one), which must re-parse with
 *    ldns, echo the ID, carry QR, and fit the client's size limit;
 *  - as an upstream's reply: the pktwalk functions the forwarder and its
 *    cache run on it (TTL, aging, OPT find/strip/add).
 * Seeds: tests/fuzz/corpus/query (tests/fuzz/gen_corpus.py).
 */
#include <ldns/ldns.h>

#include "answer.h"
#include "err.h"
#include "fuzz.h"
#include "pktwalk.h"
#include "resolve.h"
#include "wire.h"

static uint8_t out[WIRE_MAX + 2];

static void check_reply(const uint8_t *query, const uint8_t *r, int n)
{
	ldns_pkt *pkt = NULL;
	FUZZ_ASSERT(n >= 12);
	FUZZ_ASSERT(ldns_wire2pkt(&pkt, r, (size_t)n) == LDNS_STATUS_OK);
	FUZZ_ASSERT(ldns_pkt_qr(pkt));
	FUZZ_ASSERT(memcmp(r, query, 2) == 0);
	ldns_pkt_free(pkt);
}

/* The question name as parsed goes back to the same wire bytes (ASCII case
 * folded): the encoder writes owners from q->name. */
static void check_name_roundtrip(const struct query *q, const struct wire_question *wq)
{
	uint8_t w[256];
	int wl = wire_name_from_str(q->name, w, sizeof w);
	FUZZ_ASSERT(wl == (int)wq->qname_len);
	for (int i = 0; i < wl; i++) {
		uint8_t c = wq->qname[i];
		FUZZ_ASSERT(w[i] == ((c >= 'A' && c <= 'Z') ? c + 32 : c));
	}
}

static void as_query(const uint8_t *data, size_t size)
{
	struct query q;
	struct wire_question wq;
	int hint;
	int rc = wire_parse_query(data, size, &q, &wq, &hint);
	if (rc == SKY_EINVAL)
		return;
	if (rc < 0 || hint) {
		int n = wire_encode_error(data, size, &wq, rc < 0 ? RCODE_FORMERR : hint, out,
					  sizeof out);
		check_reply(data, out, n);
		return;
	}
	check_name_roundtrip(&q, &wq);

	struct answer a;
	answer_init(&a);
	a.rcode = RCODE_NXDOMAIN;
	a.aa = true;
	struct rr cname = { .owner = NULL, .type = T_CNAME, .rclass = C_IN, .ttl = 60 };
	cname.d.name.target = q.name;
	struct rr soa = { .owner = q.name, .type = T_SOA, .rclass = C_IN, .ttl = 60 };
	soa.d.soa.mname = "ns.dns.skydns.local.";
	soa.d.soa.rname = q.name;
	soa.d.soa.serial = 1;
	FUZZ_ASSERT(answer_add(&a, SEC_ANSWER, &cname) && answer_add(&a, SEC_AUTHORITY, &soa));
	size_t limit = q.edns ? q.udp_size : 512;
	int n = wire_encode(&q, &wq, &a, out, sizeof out, limit);
	FUZZ_ASSERT(n > 0 && (size_t)n <= limit);
	check_reply(data, out, n);
	answer_free(&a);
}

/* Does the whole message walk (question, every counted RR)? Returns the RR
 * count, or -1. */
static int walk(const uint8_t *p, size_t len)
{
	struct pkt_iter it;
	struct pkt_rr rr;
	if (pktwalk_begin(&it, p, len) < 0)
		return -1;
	int n = 0, r;
	while ((r = pktwalk_next(&it, &rr)) == 1)
		n++;
	return r < 0 ? -1 : n;
}

static void as_reply(const uint8_t *data, size_t size)
{
	(void)pktwalk_cache_ttl(data, size, 3600);
	(void)pktwalk_same_question(data, size, data, size);
	int nrr = walk(data, size);

	uint8_t *copy = malloc(size ? size : 1);
	FUZZ_ASSERT(copy);
	memcpy(copy, data, size);
	pktwalk_age(copy, size, 7);
	size_t stripped = pktwalk_strip_opt(copy, size);
	FUZZ_ASSERT(stripped <= size);
	struct pkt_rr opt;
	if (stripped < size)
		FUZZ_ASSERT(pktwalk_find_opt(copy, stripped, &opt) == 0);
	free(copy);

	/* The forwarder marks queries to stub servers with option 65011. A
	 * message that walks still walks afterwards, with the option last in
	 * its (one) OPT RR. */
	static const uint8_t mark = 0x01;
	int n = pktwalk_add_option(data, size, 65011, &mark, 1, 1232, out, sizeof out);
	if (nrr < 0 || n < 0)
		return;
	int had = pktwalk_find_opt(data, size, &opt);
	FUZZ_ASSERT(walk(out, (size_t)n) == nrr + (had ? 0 : 1));
	FUZZ_ASSERT(pktwalk_find_opt(out, (size_t)n, &opt) == 1);
	FUZZ_ASSERT(opt.rdlen >= 5 && out[opt.end - 5] == 0xFD && out[opt.end - 4] == 0xF3 &&
		    out[opt.end - 1] == mark);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	as_query(data, size);
	as_reply(data, size);
	return 0;
}
