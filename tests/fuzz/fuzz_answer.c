/* fuzz_answer.c - the read path end to end on a random snapshot: records in,
 * query in, resolve(), wire_encode(), and the reply must re-parse (ldns),
 * carry the question, and fit the client's limit.
 *
 * Input: text lines.
 *   line 1:  "<opts> <qtype> <qname>"; opts letters: r round robin,
 *            s stub zones, n no_rec, l local (local.dns -> "1.local.skydns.local."),
 *            e EDNS, d DO bit, t TCP, c class CH, x recursion denied,
 *            0 no nameservers, digit 1-9 ndots.
 *   others:  "<name|/skydns/key>[@<expires - now>] <service JSON>".
 * Seeds: tests/fuzz/corpus/answer.
 */
#include <ldns/ldns.h>

#include "answer.h"
#include "config.h"
#include "err.h"
#include "fuzz.h"
#include "msg.h"
#include "resolve.h"
#include "snapshot.h"
#include "wire.h"

#define NOW 1700003000
#define MAX_RECORDS 256

static uint8_t pkt[600], out[WIRE_MAX + 2];

struct opts {
	bool edns, do_bit, tcp, chaos, denied;
};

static void set_opts(const char *s, size_t n, struct config *c, struct opts *o)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case 'r': c->round_robin = true; break;
		case 's': c->stubzones = true; break;
		case 'n': c->no_rec = true; break;
		case 'l': snprintf(c->local, sizeof c->local, "1.local.skydns.local."); break;
		case 'e': o->edns = true; break;
		case 'd': o->do_bit = o->edns = true; break;
		case 't': o->tcp = true; break;
		case 'c': o->chaos = true; break;
		case 'x': o->denied = true; break;
		case '0': c->nnameservers = 0; break;
		default:
			if (s[i] >= '1' && s[i] <= '9')
				c->ndots = s[i] - '0';
		}
	}
}

static void config_for_fuzz(struct config *c)
{
	config_defaults(c);
	snprintf(c->domain, sizeof c->domain, "skydns.local.");
	snprintf(c->hostmaster, sizeof c->hostmaster, "hostmaster.skydns.local.");
	c->ttl = 3600;
	c->min_ttl = 60;
	c->priority = 10;
	c->ndots = 2;
	c->round_robin = false;
	c->local[0] = '\0';
	c->nnameservers = 1;
	snprintf(c->nameservers[0], sizeof c->nameservers[0], "127.0.0.1:53");
}

/* "<name or key>[@<secs>] <json>" -> builder. Bad lines are skipped: the
 * mirror drops what does not parse, and so do we. */
static void add_record(struct snapshot_builder *b, const char *line, size_t len)
{
	const char *sp = memchr(line, ' ', len);
	if (!sp)
		return;
	char name[MSG_NAME_MAX], path[MSG_NAME_MAX];
	size_t nl = (size_t)(sp - line);
	if (nl >= sizeof name)
		return;
	memcpy(name, line, nl);
	name[nl] = '\0';
	int64_t expires = 0;
	char *at = strrchr(name, '@');
	if (at) {
		*at = '\0';
		long off = strtol(at + 1, NULL, 10);
		expires = NOW + (off < -NOW ? -NOW : off > NOW ? NOW : off);
	}
	int pl;
	if (name[0] == '/') {
		const char *rel = msg_key_to_path("skydns", name);
		if (!rel)
			return;
		pl = snprintf(path, sizeof path, "%s", rel);
	} else {
		pl = msg_name_to_path(name, path, sizeof path);
	}
	struct service svc;
	if (pl < 0 || msg_service_parse(sp + 1, len - nl - 1, &svc, NULL) != 0)
		return;
	FUZZ_ASSERT(snapshot_builder_add(b, path, (size_t)pl, &svc, expires) == 0);
	msg_service_clear(&svc);
}

/* The query packet a client would send. Returns its length or 0. */
static size_t make_query(const char *qname, uint16_t qtype, const struct opts *o)
{
	int nl = wire_name_from_str(qname, pkt + 12, 256);
	if (nl < 0)
		return 0;
	memset(pkt, 0, 12);
	pkt[0] = 0xBE, pkt[1] = 0xEF, pkt[2] = 0x01 /* RD */, pkt[5] = 1;
	size_t n = 12 + (size_t)nl;
	pkt[n++] = (uint8_t)(qtype >> 8), pkt[n++] = (uint8_t)qtype;
	pkt[n++] = 0, pkt[n++] = o->chaos ? C_CH : C_IN;
	if (o->edns) {
		static const uint8_t opt[11] = { 0, 0, 41, 0x04, 0xD0 /* 1232 */ };
		memcpy(pkt + n, opt, sizeof opt);
		if (o->do_bit)
			pkt[n + 7] = 0x80;
		n += sizeof opt;
		pkt[11] = 1;
	}
	return n;
}

static void check_reply(const uint8_t *r, size_t n, size_t limit, const struct answer *a)
{
	ldns_pkt *p = NULL;
	FUZZ_ASSERT(n >= 12 && n <= limit);
	FUZZ_ASSERT(ldns_wire2pkt(&p, r, n) == LDNS_STATUS_OK);
	FUZZ_ASSERT(ldns_pkt_qr(p) && ldns_pkt_qdcount(p) == 1);
	FUZZ_ASSERT(ldns_pkt_get_rcode(p) == (a->rcode & 0x0F));
	if (!ldns_pkt_tc(p))
		FUZZ_ASSERT(ldns_pkt_ancount(p) == a->n[SEC_ANSWER]);
	ldns_pkt_free(p);
}

static bool bad_name(const char *name)
{
	uint8_t w[256];
	return name && wire_name_from_str(name, w, sizeof w) < 0;
}

/* Does the answer hold a name the encoder cannot write? */
static bool has_bad_name(const struct answer *a)
{
	for (int sec = 0; sec < SEC_COUNT; sec++) {
		for (size_t i = 0; i < a->n[sec]; i++) {
			const struct rr *r = &a->rrs[sec][i];
			const char *n1 = NULL, *n2 = NULL;
			switch (r->type) {
			case T_CNAME: case T_NS: case T_PTR: n1 = r->d.name.target; break;
			case T_MX: n1 = r->d.mx.exchange; break;
			case T_SRV: n1 = r->d.srv.target; break;
			case T_SOA: n1 = r->d.soa.mname, n2 = r->d.soa.rname; break;
			}
			if (bad_name(r->owner) || bad_name(n1) || bad_name(n2))
				return true;
		}
	}
	return false;
}

static void ask(const struct snapshot *s, const struct config *c, const char *qname,
		uint16_t qtype, const struct opts *o)
{
	size_t len = make_query(qname, qtype, o);
	struct query q;
	struct wire_question wq;
	int hint;
	if (!len || wire_parse_query(pkt, len, &q, &wq, &hint) != 0 || hint)
		return;
	q.tcp = o->tcp;
	q.recursion_denied = o->denied;
	q.now = NOW;
	q.rand = 42;
	struct answer a;
	answer_init(&a);
	enum resolve_action act = resolve(&q, s, c, &a);
	if (act == RESOLVE_STUB) {
		char ns[8][64];
		FUZZ_ASSERT(resolve_stub_servers(&q, s, c, ns, 8) > 0);
	} else if (act == RESOLVE_ANSWER) {
		size_t limit = o->tcp ? WIRE_MAX : q.udp_size;
		int n = wire_encode(&q, &wq, &a, out, sizeof out, limit);
		/* resolve() drops records whose names would not encode (issue 12
		 * item 3), so only a TCP reply over 64 KiB may fail: SKY_ERANGE
		 * (SERVFAIL, SkyDNS §14). Any other failure is a bug. */
		FUZZ_ASSERT(n > 0 || (o->tcp && n == SKY_ERANGE));
		FUZZ_ASSERT(n <= 0 || !has_bad_name(&a));
		if (n > 0)
			check_reply(out, (size_t)n, limit, &a);
	}
	answer_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	if (!text)
		return 0;
	struct config *c = malloc(sizeof *c);
	struct snapshot_builder *b = snapshot_builder_new();
	FUZZ_ASSERT(c && b);
	config_for_fuzz(c);
	struct opts o = { 0 };
	char qname[300] = "";
	unsigned qtype = 0;

	char *line = text, *end = text + size;
	for (int i = 0; line < end && i <= MAX_RECORDS; i++) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line);
		if (i == 0) {
			char optstr[16] = "";
			line[len] = '\0';
			if (sscanf(line, "%15s %u %299s", optstr, &qtype, qname) != 3)
				break;
			set_opts(optstr, strlen(optstr), c, &o);
		} else {
			add_record(b, line, len);
		}
		line += len + 1;
	}
	struct snapshot *s = snapshot_builder_finish(b, c, 1, 1);
	FUZZ_ASSERT(s);
	if (qname[0])
		ask(s, snapshot_config(s), qname, (uint16_t)qtype, &o);
	snapshot_free(s);
	free(text);
	return 0;
}
