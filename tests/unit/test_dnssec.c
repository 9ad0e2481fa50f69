/* test_dnssec.c - online signing: NSEC3 hashes of SkyDNS's §15 example,
 * signatures checked by ldns (a second implementation) for every algorithm,
 * on packets made by the real wire encoder, white-lie denials checked with
 * ldns_dnssec_verify_denial_nsec3, the signature cache, and key loading
 * errors. Keys are made here with dnssec-keygen (bind9-utils).
 */
#include <ldns/ldns.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "answer.h"
#include "check.h"
#include "config.h"
#include "dnssec.h"
#include "err.h"
#include "wire.h"

#define ZONE "skydns.test."

static char tmpdir[256];

/* dnssec-keygen in tmpdir; the basename (dir/Kzone+alg+tag) into out. */
static int keygen(const char *alg, const char *zone, char *out, size_t cap)
{
	char cmd[512], name[200] = "";
	snprintf(cmd, sizeof(cmd), "dnssec-keygen -q -K %s -a %s %s -n ZONE %s 2>/dev/null", tmpdir, alg,
		 strncmp(alg, "RSA", 3) == 0 ? "-b 2048" : "", zone);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	if (!fgets(name, sizeof(name), p))
		name[0] = 0;
	int st = pclose(p);
	name[strcspn(name, "\r\n")] = 0;
	if (st != 0 || name[0] != 'K') {
		printf("  dnssec-keygen %s failed: %s\n", alg, name);
		return -1;
	}
	return snprintf(out, cap, "%s/%s", tmpdir, name) < (int)cap ? 0 : -1;
}

static void test_config(struct config *c)
{
	config_defaults(c);
	strcpy(c->domain, ZONE);
	strcpy(c->hostmaster, "hostmaster." ZONE);
}

/* A query packet through the real parser, so wire_encode gets a real
 * wire_question. */
struct qbox {
	uint8_t pkt[512];
	struct query q;
	struct wire_question wq;
};

static int make_query(struct qbox *b, const char *name, uint16_t qtype, bool do_bit, int64_t now)
{
	ldns_pkt *p = NULL;
	ldns_rdf *dn = ldns_dname_new_frm_str(name);
	if (ldns_pkt_query_new_frm_str(&p, name, qtype, LDNS_RR_CLASS_IN, LDNS_RD) != LDNS_STATUS_OK)
		return -1;
	ldns_rdf_deep_free(dn);
	ldns_pkt_set_edns_udp_size(p, 4096);
	ldns_pkt_set_edns_do(p, do_bit);
	ldns_pkt_set_edns_version(p, 0);
	ldns_pkt_set_edns_data(p, ldns_rdf_new_frm_str(LDNS_RDF_TYPE_HEX, "")); /* force OPT */
	uint8_t *w = NULL;
	size_t len = 0;
	ldns_status st = ldns_pkt2wire(&w, p, &len);
	ldns_pkt_free(p);
	if (st != LDNS_STATUS_OK || len > sizeof(b->pkt)) {
		free(w);
		return -1;
	}
	memcpy(b->pkt, w, len);
	free(w);
	int hint = 0;
	if (wire_parse_query(b->pkt, len, &b->q, &b->wq, &hint) != 0)
		return -1;
	b->q.now = now;
	return 0;
}

/* Encode with the real encoder and parse back with ldns. */
static ldns_pkt *encode(struct qbox *b, const struct answer *a)
{
	static _Thread_local uint8_t out[65535];
	int n = wire_encode(&b->q, &b->wq, a, out, sizeof(out), 65535);
	if (n < 0) {
		printf("  wire_encode: %s\n", err_str(n));
		return NULL;
	}
	ldns_pkt *p = NULL;
	if (ldns_wire2pkt(&p, out, (size_t)n) != LDNS_STATUS_OK)
		return NULL;
	return p;
}

static ldns_rr_list *key_list(const char *base)
{
	char path[512], line[4096];
	snprintf(path, sizeof(path), "%s.key", base);
	FILE *f = fopen(path, "r");
	ldns_rr_list *l = ldns_rr_list_new();
	while (f && fgets(line, sizeof(line), f)) {
		ldns_rr *rr = NULL;
		if (line[0] != ';' && ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL) == LDNS_STATUS_OK)
			ldns_rr_list_push_rr(l, rr);
	}
	if (f)
		fclose(f);
	return l;
}

/* Every RRset of a section that is in the zone must have a valid RRSIG from
 * keys; returns how many RRsets were verified, -1 on any failure. */
static int verify_section(ldns_pkt *p, ldns_pkt_section sec, ldns_rr_list *keys)
{
	ldns_rr_list *all = ldns_pkt_get_section_clone(p, sec);
	ldns_rdf *zone = ldns_dname_new_frm_str(ZONE);
	int verified = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(all) && verified >= 0; i++) {
		ldns_rr *rr = ldns_rr_list_rr(all, i);
		ldns_rr_type t = ldns_rr_get_type(rr);
		bool inzone = ldns_dname_is_subdomain(ldns_rr_owner(rr), zone) ||
			      ldns_dname_compare(ldns_rr_owner(rr), zone) == 0;
		if (t == LDNS_RR_TYPE_RRSIG || !inzone)
			continue;
		ldns_rr_list *set = ldns_pkt_rr_list_by_name_and_type(p, ldns_rr_owner(rr), t, sec);
		ldns_rr_list *sigs = ldns_pkt_rr_list_by_name_and_type(p, ldns_rr_owner(rr),
								      LDNS_RR_TYPE_RRSIG, sec);
		bool ok = false;
		for (size_t j = 0; sigs && j < ldns_rr_list_rr_count(sigs); j++) {
			ldns_rr *s = ldns_rr_list_rr(sigs, j);
			if (ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(s)) != t)
				continue;
			ldns_rr_list *good = ldns_rr_list_new();
			ok = ldns_verify_rrsig_keylist(set, s, keys, good) == LDNS_STATUS_OK;
			ldns_rr_list_free(good);
		}
		if (!ok) {
			char *o = ldns_rdf2str(ldns_rr_owner(rr));
			printf("  no valid RRSIG for %s type %d\n", o, t);
			free(o);
			verified = -1;
		} else {
			verified++;
		}
		ldns_rr_list_deep_free(set);
		ldns_rr_list_deep_free(sigs);
	}
	ldns_rr_list_deep_free(all);
	ldns_rdf_deep_free(zone);
	return verified;
}

static size_t count_type(ldns_pkt *p, ldns_pkt_section sec, ldns_rr_type t)
{
	ldns_rr_list *l = ldns_pkt_rr_list_by_type(p, t, sec);
	size_t n = l ? ldns_rr_list_rr_count(l) : 0;
	ldns_rr_list_deep_free(l);
	return n;
}

static struct rr mk(const char *owner, uint16_t type, uint32_t ttl)
{
	struct rr r;
	memset(&r, 0, sizeof(r));
	r.owner = owner;
	r.type = type;
	r.rclass = C_IN;
	r.ttl = ttl;
	return r;
}

static struct rr soa_rr(uint32_t ttl)
{
	struct rr r = mk(ZONE, T_SOA, ttl);
	r.d.soa.mname = "ns.dns." ZONE;
	r.d.soa.rname = "hostmaster." ZONE;
	r.d.soa.serial = 1700000000;
	r.d.soa.refresh = 28800;
	r.d.soa.retry = 7200;
	r.d.soa.expire = 604800;
	r.d.soa.minimum = 60;
	return r;
}

/* A positive answer of most kinds: A x2 (one owner NULL = the question),
 * TXT over 255 bytes, SRV + glue, MX, CNAME. */
static void fill_positive(struct answer *a, const char *txt)
{
	struct rr r = mk(NULL, T_A, 300);
	memcpy(r.d.a, (uint8_t[]){10, 0, 0, 1}, 4);
	answer_add(a, SEC_ANSWER, &r);
	memcpy(r.d.a, (uint8_t[]){10, 0, 0, 2}, 4);
	r.ttl = 100;   /* RRset TTL becomes 100 for both */
	answer_add(a, SEC_ANSWER, &r);
	r = mk("Web.SkyDNS.test.", T_TXT, 3600);
	r.d.txt.text = txt;
	r.d.txt.len = strlen(txt);
	answer_add(a, SEC_ANSWER, &r);
	r = mk("_http._tcp.web." ZONE, T_SRV, 60);
	r.d.srv.priority = 10;
	r.d.srv.weight = 100;
	r.d.srv.port = 8080;
	r.d.srv.target = "Host1.web." ZONE;
	answer_add(a, SEC_ANSWER, &r);
	r = mk("mail." ZONE, T_MX, 60);
	r.d.mx.preference = 10;
	r.d.mx.exchange = "mx1.mail." ZONE;
	answer_add(a, SEC_ANSWER, &r);
	r = mk("alias." ZONE, T_CNAME, 60);
	r.d.name.target = "web." ZONE;
	answer_add(a, SEC_ANSWER, &r);
	r = mk("host1.web." ZONE, T_AAAA, 60);
	memset(r.d.aaaa, 0, 16);
	r.d.aaaa[15] = 1;
	answer_add(a, SEC_ADDITIONAL, &r);
	r = mk("ext.example.org.", T_A, 60);   /* outside the zone: unsigned */
	answer_add(a, SEC_ADDITIONAL, &r);
	a->aa = true;
	a->sign = true;
}

TEST(nsec3_hash_skydns_example)
{
	static const struct {
		const char *name, *hash;
	} cases[] = {
		{"skydns.test.", "ah4v7g5qoiri26armrb3bldqi1sng6a2"},
		{"*.skydns.test.", "lksd858f4cldl7emdord75k5jeks49p9"},
		{"doesnotexist.skydns.test.", "44ohaq2njb0idnvolt9ggthvsk1e1uv9"},
		{"DoesNotExist.SkyDNS.test", "44ohaq2njb0idnvolt9ggthvsk1e1uv9"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t h[DNSSEC_NSEC3_HASH];
		char text[40];
		CHECK_INT(dnssec_nsec3_hash(cases[i].name, h), 0);
		CHECK_INT(dnssec_base32hex(h, text, sizeof(text)), 32);
		CHECK_STR(text, cases[i].hash);
	}
	uint8_t h[DNSSEC_NSEC3_HASH];
	CHECK_INT(dnssec_nsec3_hash("a..b.", h), SKY_EPARSE);
}

/* owner -> next of the NSEC3s in the authority section, as text */
static int nsec3_pairs(ldns_pkt *p, char pairs[][100], int max)
{
	ldns_rr_list *l = ldns_pkt_rr_list_by_type(p, LDNS_RR_TYPE_NSEC3, LDNS_SECTION_AUTHORITY);
	int n = 0;
	for (size_t i = 0; l && i < ldns_rr_list_rr_count(l) && n < max; i++, n++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		char *o = ldns_rdf2str(ldns_rr_owner(rr));
		char *nx = ldns_rdf2str(ldns_nsec3_next_owner(rr));
		for (char *c = nx; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		snprintf(pairs[n], 100, "%.60s %.32s", o, nx);
		free(o);
		free(nx);
	}
	ldns_rr_list_deep_free(l);
	return n;
}

struct keycase {
	const char *alg;
	int num;
	char base[256];
};
static struct keycase keys[] = {
	{"RSASHA256", 8, ""}, {"ECDSAP256SHA256", 13, ""}, {"ED25519", 15, ""},
	{"RSASHA1", 5, ""}, {"NSEC3RSASHA1", 7, ""},
};

static struct dnssec *load(struct keycase *k)
{
	struct dnssec *d = NULL;
	char why[512];
	int rc = dnssec_load(k->base, ZONE, &d, why, sizeof(why));
	if (rc)
		printf("  load %s: %s (%s)\n", k->alg, why, err_str(rc));
	return d;
}

TEST(keys_load)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		CHECK_INT(keygen(keys[i].alg, ZONE, keys[i].base, sizeof(keys[i].base)), 0);
		struct dnssec *d = load(&keys[i]);
		CHECK(d != NULL);
		if (!d)
			continue;
		CHECK_INT(dnssec_algorithm(d), keys[i].num);
		/* the tag is in the file name dnssec-keygen chose: K<zone>+AAA+TTTTT */
		CHECK_INT(dnssec_key_tag(d), atoi(strrchr(keys[i].base, '+') + 1));
		CHECK_STR(dnssec_domain(d), ZONE);
		dnssec_free(d);
	}
}

TEST(positive_answers_verify)
{
	char longtxt[600];
	memset(longtxt, 'x', sizeof(longtxt) - 1);
	longtxt[sizeof(longtxt) - 1] = 0;
	longtxt[255] = 'y';
	struct config c;
	test_config(&c);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct dnssec *d = load(&keys[i]);
		if (!d) {
			CHECK(d != NULL);
			continue;
		}
		ldns_rr_list *kl = key_list(keys[i].base);
		struct qbox b;
		CHECK_INT(make_query(&b, "web." ZONE, T_A, true, time(NULL)), 0);
		struct answer a;
		answer_init(&a);
		fill_positive(&a, longtxt);
		CHECK_INT(dnssec_sign_answer(d, &b.q, &c, &a), 0);
		CHECK(a.ad);
		ldns_pkt *p = encode(&b, &a);
		CHECK(p != NULL);
		if (p) {
			/* A, TXT, SRV, MX, CNAME in answer; AAAA in additional */
			CHECK_INT(verify_section(p, LDNS_SECTION_ANSWER, kl), 6); /* RRs */
			CHECK_INT(verify_section(p, LDNS_SECTION_ADDITIONAL, kl), 1);
			CHECK_INT(count_type(p, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_RRSIG), 5);
			CHECK_INT(count_type(p, LDNS_SECTION_ADDITIONAL, LDNS_RR_TYPE_RRSIG), 1);
			CHECK(ldns_pkt_ad(p));
			CHECK(ldns_pkt_edns_do(p));
			/* RRSIG original TTL = RRset TTL (SkyDNS used config ttl) */
			ldns_rr_list *s = ldns_pkt_rr_list_by_type(p, LDNS_RR_TYPE_RRSIG,
								   LDNS_SECTION_ANSWER);
			for (size_t j = 0; s && j < ldns_rr_list_rr_count(s); j++) {
				ldns_rr *r = ldns_rr_list_rr(s, j);
				uint32_t ottl = ldns_rdf2native_int32(ldns_rr_rrsig_origttl(r));
				CHECK_INT(ottl, ldns_rr_ttl(r));
				if (ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(r)) == LDNS_RR_TYPE_A)
					CHECK_INT(ottl, 100);
			}
			ldns_rr_list_deep_free(s);
			ldns_pkt_free(p);
		}
		answer_free(&a);
		ldns_rr_list_deep_free(kl);
		dnssec_free(d);
	}
}

TEST(nxdomain_white_lies)
{
	struct config c;
	test_config(&c);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct dnssec *d = load(&keys[i]);
		if (!d) {
			CHECK(d != NULL);
			continue;
		}
		ldns_rr_list *kl = key_list(keys[i].base);
		struct qbox b;
		CHECK_INT(make_query(&b, "DoesNotExist." ZONE, T_A, true, time(NULL)), 0);
		struct answer a;
		answer_init(&a);
		struct rr soa = soa_rr(60);
		answer_add(&a, SEC_AUTHORITY, &soa);
		a.rcode = RCODE_NXDOMAIN;
		a.aa = a.sign = true;
		CHECK_INT(dnssec_sign_answer(d, &b.q, &c, &a), 0);
		ldns_pkt *p = encode(&b, &a);
		CHECK(p != NULL);
		if (p) {
			CHECK_INT(count_type(p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_NSEC3), 3);
			CHECK_INT(verify_section(p, LDNS_SECTION_AUTHORITY, kl), 4); /* SOA + 3 */
			char pairs[3][100];
			CHECK_INT(nsec3_pairs(p, pairs, 3), 3);
			CHECK_STR(pairs[0], "ah4v7g5qoiri26armrb3bldqi1sng6a2.skydns.test. "
					    "ah4v7g5qoiri26armrb3bldqi1sng6a3");
			CHECK_STR(pairs[1], "lksd858f4cldl7emdord75k5jeks49p8.skydns.test. "
					    "lksd858f4cldl7emdord75k5jeks49pa");
			CHECK_STR(pairs[2], "44ohaq2njb0idnvolt9ggthvsk1e1uv8.skydns.test. "
					    "44ohaq2njb0idnvolt9ggthvsk1e1uva");
			ldns_rr_list *n3 = ldns_pkt_rr_list_by_type(p, LDNS_RR_TYPE_NSEC3,
								    LDNS_SECTION_AUTHORITY);
			ldns_rr_list *sg = ldns_pkt_rr_list_by_type(p, LDNS_RR_TYPE_RRSIG,
								    LDNS_SECTION_AUTHORITY);
			ldns_rr *qrr = ldns_rr_new_frm_type(LDNS_RR_TYPE_A);
			ldns_rr_set_owner(qrr, ldns_dname_new_frm_str("doesnotexist." ZONE));
			CHECK_INT(ldns_dnssec_verify_denial_nsec3(qrr, n3, sg, LDNS_RCODE_NXDOMAIN,
								  LDNS_RR_TYPE_A, false),
				  LDNS_STATUS_OK);
			ldns_rr_free(qrr);
			ldns_rr_list_deep_free(n3);
			ldns_rr_list_deep_free(sg);
			CHECK_INT(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
			ldns_pkt_free(p);
		}
		answer_free(&a);
		ldns_rr_list_deep_free(kl);
		dnssec_free(d);
	}
}

/* NODATA for each type SkyDNS put in its bitmap: the qtype must be absent
 * (SkyDNS listed A AAAA SRV always, so those NODATAs did not validate). */
TEST(nodata_white_lie)
{
	struct config c;
	test_config(&c);
	struct dnssec *d = load(&keys[1]);
	if (!d) {
		CHECK(d != NULL);
		return;
	}
	ldns_rr_list *kl = key_list(keys[1].base);
	static const uint16_t types[] = {T_A, T_AAAA, T_SRV, T_TXT, T_MX};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct qbox b;
		CHECK_INT(make_query(&b, "web." ZONE, types[i], true, time(NULL)), 0);
		struct answer a;
		answer_init(&a);
		struct rr soa = soa_rr(60);
		answer_add(&a, SEC_AUTHORITY, &soa);
		a.aa = a.sign = true;
		CHECK_INT(dnssec_sign_answer(d, &b.q, &c, &a), 0);
		ldns_pkt *p = encode(&b, &a);
		if (!p) {
			CHECK(p != NULL);
			answer_free(&a);
			continue;
		}
		CHECK_INT(count_type(p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_NSEC3), 1);
		CHECK_INT(verify_section(p, LDNS_SECTION_AUTHORITY, kl), 2);
		ldns_rr_list *n3 = ldns_pkt_rr_list_by_type(p, LDNS_RR_TYPE_NSEC3,
							    LDNS_SECTION_AUTHORITY);
		ldns_rr_list *sg = ldns_pkt_rr_list_by_type(p, LDNS_RR_TYPE_RRSIG,
							    LDNS_SECTION_AUTHORITY);
		ldns_rr *qrr = ldns_rr_new_frm_type((ldns_rr_type)types[i]);
		ldns_rr_set_owner(qrr, ldns_dname_new_frm_str("web." ZONE));
		CHECK_INT(ldns_dnssec_verify_denial_nsec3(qrr, n3, sg, LDNS_RCODE_NOERROR,
							  (ldns_rr_type)types[i], true),
			  LDNS_STATUS_OK);
		ldns_rr_free(qrr);
		ldns_rr_list_deep_free(n3);
		ldns_rr_list_deep_free(sg);
		ldns_pkt_free(p);
		answer_free(&a);
	}
	ldns_rr_list_deep_free(kl);
	dnssec_free(d);
}

TEST(dnskey_and_no_do)
{
	struct config c;
	test_config(&c);
	struct dnssec *d = load(&keys[2]);
	if (!d) {
		CHECK(d != NULL);
		return;
	}
	ldns_rr_list *kl = key_list(keys[2].base);
	for (int do_bit = 0; do_bit <= 1; do_bit++) {
		struct qbox b;
		CHECK_INT(make_query(&b, ZONE, T_DNSKEY, do_bit, time(NULL)), 0);
		struct answer a;
		answer_init(&a);
		struct rr soa = soa_rr(60);   /* what the resolver gives: NODATA */
		answer_add(&a, SEC_AUTHORITY, &soa);
		a.aa = true;
		a.sign = true;   /* even if the resolver says so, DO=0 means unsigned */
		CHECK_INT(dnssec_sign_answer(d, &b.q, &c, &a), 0);
		ldns_pkt *p = encode(&b, &a);
		if (!p) {
			CHECK(p != NULL);
			answer_free(&a);
			continue;
		}
		CHECK_INT(count_type(p, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_DNSKEY), 1);
		CHECK_INT(ldns_pkt_nscount(p), (size_t)0);
		CHECK_INT(count_type(p, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_RRSIG), do_bit);
		CHECK_INT(ldns_pkt_ad(p), do_bit);
		if (do_bit)
			CHECK_INT(verify_section(p, LDNS_SECTION_ANSWER, kl), 1);
		ldns_rr_list *dk = ldns_pkt_rr_list_by_type(p, LDNS_RR_TYPE_DNSKEY,
							    LDNS_SECTION_ANSWER);
		if (dk && ldns_rr_list_rr_count(dk) == 1) {
			CHECK_INT(ldns_rr_ttl(ldns_rr_list_rr(dk, 0)), c.ttl);
			CHECK(ldns_rr_compare(ldns_rr_list_rr(dk, 0), ldns_rr_list_rr(kl, 0)) == 0);
		}
		ldns_rr_list_deep_free(dk);
		ldns_pkt_free(p);
		answer_free(&a);
	}
	/* a positive answer without DO: nothing added */
	struct qbox b;
	CHECK_INT(make_query(&b, "web." ZONE, T_A, false, time(NULL)), 0);
	struct answer a;
	answer_init(&a);
	fill_positive(&a, "hello");
	size_t n0 = a.n[SEC_ANSWER];
	CHECK_INT(dnssec_sign_answer(d, &b.q, &c, &a), 0);
	CHECK_INT(a.n[SEC_ANSWER], n0);
	CHECK(!a.ad && !a.sign);
	answer_free(&a);
	/* no key loaded: the resolver's sign flag is cleared */
	answer_init(&a);
	a.sign = true;
	CHECK_INT(dnssec_sign_answer(NULL, &b.q, &c, &a), 0);
	CHECK(!a.sign);
	answer_free(&a);
	ldns_rr_list_deep_free(kl);
	dnssec_free(d);
}

/* The RRSIG over the answer's TXT RRset, as raw rdata. */
static const struct rr *txt_sig(const struct answer *a)
{
	for (size_t i = 0; i < a->n[SEC_ANSWER]; i++) {
		const struct rr *r = &a->rrs[SEC_ANSWER][i];
		if (r->type == T_RRSIG && r->d.raw.len > 2 &&
		    (r->d.raw.data[0] << 8 | r->d.raw.data[1]) == T_TXT)
			return r;
	}
	return NULL;
}

static uint32_t sig_expiration(const struct rr *r)
{
	const uint8_t *p = r->d.raw.data + 8;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Sign a TXT answer with text txt at time now; returns the RRSIG's
 * expiration and whether the ldns check passed. */
static uint32_t sign_txt(struct dnssec *d, const struct config *c, ldns_rr_list *kl,
			 const char *txt, int64_t now, bool *ok)
{
	struct qbox b;
	*ok = false;
	if (make_query(&b, "web." ZONE, T_TXT, true, now) != 0)
		return 0;
	struct answer a;
	answer_init(&a);
	struct rr r = mk(NULL, T_TXT, 300);
	r.d.txt.text = txt;
	r.d.txt.len = strlen(txt);
	answer_add(&a, SEC_ANSWER, &r);
	a.aa = a.sign = true;
	uint32_t exp = 0;
	if (dnssec_sign_answer(d, &b.q, c, &a) == 0 && txt_sig(&a)) {
		exp = sig_expiration(txt_sig(&a));
		ldns_pkt *p = encode(&b, &a);
		/* ldns checks times against the real clock: only for "now" */
		*ok = p && (now != (int64_t)time(NULL) ||
			    verify_section(p, LDNS_SECTION_ANSWER, kl) == 1);
		ldns_pkt_free(p);
	}
	answer_free(&a);
	return exp;
}

TEST(signature_cache)
{
	struct config c;
	test_config(&c);
	struct dnssec *d = load(&keys[1]);
	if (!d) {
		CHECK(d != NULL);
		return;
	}
	ldns_rr_list *kl = key_list(keys[1].base);
	int64_t now = time(NULL);
	bool ok;
	uint64_t h0, m0, h, m;
	dnssec_cache_counters(d, &h0, &m0);
	uint32_t e1 = sign_txt(d, &c, kl, "v=1", now, &ok);
	CHECK(ok);
	CHECK_INT(e1, (uint32_t)(now + 7 * 86400));
	dnssec_cache_counters(d, &h, &m);
	CHECK_INT(m - m0, 1);
	/* same content an hour later: the cached signature (same expiration) */
	CHECK_INT(sign_txt(d, &c, kl, "v=1", now + 3600, &ok), e1);
	dnssec_cache_counters(d, &h, &m);
	CHECK_INT(h - h0, 1);
	/* changed text: a new signature that validates (SkyDNS reused the old) */
	uint32_t e2 = sign_txt(d, &c, kl, "v=2", now, &ok);
	CHECK(ok);
	dnssec_cache_counters(d, &h, &m);
	CHECK_INT(m - m0, 2);
	CHECK_INT(e2, e1);
	/* ...and v=1 again still hits its own entry */
	CHECK_INT(sign_txt(d, &c, kl, "v=1", now, &ok), e1);
	CHECK(ok);
	/* less than 48h before expiration: re-signed with a new expiration */
	int64_t later = now + 5 * 86400 + 3600;
	CHECK_INT(sign_txt(d, &c, kl, "v=1", later, &ok), (uint32_t)(later + 7 * 86400));
	/* scache 0: never cached */
	c.scache = 0;
	dnssec_cache_counters(d, &h0, &m0);
	sign_txt(d, &c, kl, "v=1", now + 60, &ok);
	dnssec_cache_counters(d, &h, &m);
	CHECK_INT(h - h0 + m - m0, 0);
	ldns_rr_list_deep_free(kl);
	dnssec_free(d);
}

struct thr {
	struct dnssec *d;
	ldns_rr_list *kl;
	int good;
};

static void *thr_main(void *arg)
{
	struct thr *t = arg;
	struct config c;
	test_config(&c);
	for (int i = 0; i < 50; i++) {
		char txt[32];
		bool ok;
		snprintf(txt, sizeof(txt), "t%d", i % 7);
		sign_txt(t->d, &c, t->kl, txt, time(NULL), &ok);
		t->good += ok;
	}
	return NULL;
}

TEST(threads_sign_concurrently)
{
	struct dnssec *d = load(&keys[2]);
	if (!d) {
		CHECK(d != NULL);
		return;
	}
	struct thr t[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		t[i] = (struct thr){d, key_list(keys[2].base), 0};
		CHECK_INT(pthread_create(&th[i], NULL, thr_main, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT(t[i].good, 50);
		ldns_rr_list_deep_free(t[i].kl);
	}
	dnssec_free(d);
}

static int load_err(const char *base, const char *domain, char *why, size_t cap)
{
	struct dnssec *d = NULL;
	int rc = dnssec_load(base, domain, &d, why, cap);
	CHECK(rc != 0 ? d == NULL : d != NULL);
	dnssec_free(d);
	return rc;
}

static void copy_file(const char *from, const char *to)
{
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	CHECK_INT(system(cmd), 0);
}

TEST(load_errors)
{
	char why[512], path[512], path2[512], base[300];
	CHECK_INT(load_err("/nonexistent/Kx", ZONE, why, sizeof(why)), SKY_ENOTFOUND);
	CHECK(strstr(why, "/nonexistent/Kx.key") != NULL);
	/* the zone must be the key's owner */
	CHECK_INT(load_err(keys[1].base, "other.test.", why, sizeof(why)), SKY_EINVAL);
	CHECK(strstr(why, "not the domain") != NULL);
	/* .key and .private from two different key pairs */
	char other[256];
	CHECK_INT(keygen("ECDSAP256SHA256", ZONE, other, sizeof(other)), 0);
	snprintf(base, sizeof(base), "%s/Kmix", tmpdir);
	snprintf(path, sizeof(path), "%s.key", keys[1].base);
	snprintf(path2, sizeof(path2), "%s.key", base);
	copy_file(path, path2);
	snprintf(path, sizeof(path), "%s.private", other);
	snprintf(path2, sizeof(path2), "%s.private", base);
	copy_file(path, path2);
	CHECK_INT(load_err(base, ZONE, why, sizeof(why)), SKY_EINVAL);
	CHECK(strstr(why, "mismatched") != NULL);
	/* .private of another algorithm */
	snprintf(path, sizeof(path), "%s.private", keys[2].base);
	copy_file(path, path2);
	CHECK_INT(load_err(base, ZONE, why, sizeof(why)), SKY_EINVAL);
	/* a .private that is not a key */
	FILE *f = fopen(path2, "w");
	if (f) {
		fputs("hello\n", f);
		fclose(f);
	}
	CHECK_INT(load_err(base, ZONE, why, sizeof(why)), SKY_EPARSE);
	/* .private missing */
	unlink(path2);
	CHECK_INT(load_err(base, ZONE, why, sizeof(why)), SKY_ENOTFOUND);
	CHECK(strstr(why, ".private") != NULL);
	/* .key unreadable (a directory) */
	snprintf(path2, sizeof(path2), "%s/Kdir.key", tmpdir);
	mkdir(path2, 0700);
	snprintf(base, sizeof(base), "%s/Kdir", tmpdir);
	CHECK_INT(load_err(base, ZONE, why, sizeof(why)), SKY_EIO);
	/* .key that is not a DNSKEY */
	snprintf(base, sizeof(base), "%s/Kbad", tmpdir);
	snprintf(path2, sizeof(path2), "%s.key", base);
	f = fopen(path2, "w");
	if (f) {
		fputs("; comment\nskydns.test. IN A 10.0.0.1\n", f);
		fclose(f);
	}
	CHECK_INT(load_err(base, ZONE, why, sizeof(why)), SKY_EPARSE);
	/* RSASHA1 and NSEC3RSASHA1 (SkyDNS README's keys): loaded, flagged deprecated */
	static const char *const sha1_algs[] = { "RSASHA1", "NSEC3RSASHA1" };
	for (size_t i = 0; i < 2; i++) {
		char sha1[256];
		if (keygen(sha1_algs[i], ZONE, sha1, sizeof(sha1)) != 0)
			continue;
		struct dnssec *d = NULL;
		CHECK_INT(dnssec_load(sha1, ZONE, &d, why, sizeof(why)), 0);
		if (d) {
			CHECK_INT(dnssec_algorithm(d), i == 0 ? 5 : 7);
			CHECK(dnssec_deprecated(d));
			dnssec_free(d);
		}
	}
	struct dnssec *d13 = NULL;
	if (dnssec_load(keys[0].base, ZONE, &d13, why, sizeof(why)) == 0) {
		CHECK(!dnssec_deprecated(d13));
		dnssec_free(d13);
	}
	/* basename given with .key, and with '+' turned into ' ' */
	snprintf(base, sizeof(base), "%s.key", keys[0].base);
	CHECK_INT(load_err(base, ZONE, why, sizeof(why)), 0);
	snprintf(base, sizeof(base), "%s", keys[0].base);
	for (char *p = base; *p; p++)
		if (*p == '+')
			*p = ' ';
	CHECK_INT(load_err(base, ZONE, why, sizeof(why)), 0);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_dnssec.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(nsec3_hash_skydns_example);
	RUN(keys_load);
	RUN(positive_answers_verify);
	RUN(nxdomain_white_lies);
	RUN(nodata_white_lie);
	RUN(dnskey_and_no_do);
	RUN(signature_cache);
	RUN(threads_sign_concurrently);
	RUN(load_errors);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("could not remove %s\n", tmpdir);
	return CHECK_DONE();
}
