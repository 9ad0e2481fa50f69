/* test_resolve_pipeline.c - resolve()'s request pipeline and epilogue: ANY,
 * stub zones, local.dns, reverse, forwarding, CHAOS, TTL rules, expiry,
 * hidden `_` subtrees, round robin, de-duplication, header bits, DNSSEC.
 */
#include "resolve_fixture.h"

#define S(...) ((struct service){__VA_ARGS__})

TEST(any_refused)
{
	fx_begin();
	fx_put("a.skydns.local.", S(.host = "10.0.0.1"));
	cfg.stubzones = true;
	fx_put("ns1.example.com.stub.dns.skydns.local.", S(.host = "10.0.0.53"));
	const char *names[] = {"a.skydns.local.", "www.example.org.", "www.example.com."};
	for (int i = 0; i < 3; i++) {
		fx_ask(names[i], T_ANY);
		CHECK_REPLY(RCODE_REFUSED, 0, "", "", "");
		CHECK(!ans.ra);
		CHECK(ans.rd_clear);
		CHECK(!ans.sign);
	}
	fx_end();
}

TEST(refused_as_nsd)
{
	fx_begin();
	fx_put("a.skydns.local.", S(.host = "10.0.0.1"));
	const uint16_t types[] = {T_AXFR, T_IXFR};
	for (int i = 0; i < 2; i++) {
		fx_ask("skydns.local.", types[i]);
		CHECK_REPLY(RCODE_REFUSED, 0, "", "", "");
	}
	const uint16_t classes[] = {0, 2, 4, 254, 1000}; /* reserved, CS, HS, NONE, unknown */
	for (int i = 0; i < 5; i++) {
		fx_ask_full("a.skydns.local.", T_A, classes[i], 1);
		CHECK_REPLY(RCODE_REFUSED, 0, "", "", "");
	}
	fx_ask_full("a.skydns.local.", T_A, C_ANY, 1); /* QCLASS * still reads class IN data */
	CHECK_STR(sec_text[SEC_ANSWER], "@ 3600 A 10.0.0.1");
	fx_end();
}

/* A client outside allow_recursion: names outside the domain (and PTRs we do
 * not hold) are REFUSED, names inside it are answered as for anyone. */
TEST(recursion_denied)
{
	fx_begin();
	fx_put("a.skydns.local.", S(.host = "10.0.0.1"));
	fx_freeze();
	const char *outside[] = {"www.example.org.", "9.9.9.9.in-addr.arpa."};
	const uint16_t qt[] = {T_A, T_PTR};
	for (int i = 0; i < 2; i++) {
		struct query q = {.qtype = qt[i], .qclass = C_IN, .rd = true, .udp_size = 512,
				  .now = NOW, .recursion_denied = true};
		snprintf(q.name, sizeof q.name, "%s", outside[i]);
		answer_reset(&ans);
		CHECK_INT(resolve(&q, snap, &cfg, &ans), RESOLVE_ANSWER);
		CHECK_INT(ans.rcode, RCODE_REFUSED);
		CHECK(!ans.aa && !ans.ra);
		CHECK_INT(ans.n[SEC_ANSWER] + ans.n[SEC_AUTHORITY] + ans.n[SEC_ADDITIONAL], 0);
		q.recursion_denied = false;
		answer_reset(&ans);
		CHECK_INT(resolve(&q, snap, &cfg, &ans), RESOLVE_FORWARD);
	}
	struct query q = {.qtype = T_A, .qclass = C_IN, .rd = true, .udp_size = 512, .now = NOW,
			  .recursion_denied = true};
	snprintf(q.name, sizeof q.name, "a.skydns.local.");
	answer_reset(&ans);
	CHECK_INT(resolve(&q, snap, &cfg, &ans), RESOLVE_ANSWER);
	CHECK_INT(ans.rcode, RCODE_NOERROR);
	CHECK_INT(ans.n[SEC_ANSWER], 1);
	fx_end();
}

TEST(forward_outside_domain)
{
	fx_begin();
	snprintf(cfg.domain, sizeof cfg.domain, "ndocode.com.");
	fx_put("a.ndocode.com.", S(.host = "10.0.0.1"));
	CHECK_INT(fx_ask("www.example.org.", T_A), RESOLVE_FORWARD);
	CHECK_INT(ans.n[SEC_ANSWER] + ans.n[SEC_AUTHORITY], 0);
	CHECK_INT(fx_ask("endocode.com.", T_A), RESOLVE_FORWARD); /* SkyDNS #263 */
	CHECK_INT(fx_ask("a.ndocode.com.", T_A), RESOLVE_ANSWER);
	CHECK_STR(sec_text[SEC_ANSWER], "@ 3600 A 10.0.0.1");
	CHECK_INT(fx_ask("ndocode.com.", T_SOA), RESOLVE_ANSWER);
	CHECK_INT(fx_ask("1.0.0.10.in-addr.arpa.", T_A), RESOLVE_FORWARD);
	fx_end();
}

TEST(header_ra)
{
	fx_begin();
	fx_put("a.skydns.local.", S(.host = "10.0.0.1"));
	fx_ask("a.skydns.local.", T_A);
	CHECK(ans.aa && ans.ra);
	fx_ask("b.skydns.local.", T_A);
	CHECK(ans.aa && ans.ra); /* NXDOMAIN: AA=1 (master had AA=0) */
	cfg.no_rec = true;
	fx_ask("b.skydns.local.", T_A);
	CHECK(ans.aa && !ans.ra);
	cfg.no_rec = false;
	cfg.nnameservers = 0;
	fx_ask("a.skydns.local.", T_A);
	CHECK(ans.aa && !ans.ra);
	fx_end();
}

TEST(dnssec_sign_flag)
{
	fx_begin();
	fx_put("a.skydns.local.", S(.host = "10.0.0.1"));
	fx_put("1.0.0.10.in-addr.arpa.", S(.host = "a.skydns.local"));
	qry.do_bit = true;
	fx_ask("a.skydns.local.", T_A);
	CHECK(!ans.sign); /* fx_ask clears DO */
	struct query q = {.qtype = T_A, .qclass = C_IN, .do_bit = true, .now = NOW};
	snprintf(q.name, sizeof q.name, "a.skydns.local.");
	answer_reset(&ans);
	CHECK_INT(resolve(&q, snap, &cfg, &ans), RESOLVE_ANSWER);
	CHECK(ans.sign);
	snprintf(q.name, sizeof q.name, "nope.skydns.local."); /* NXDOMAIN is signed too */
	answer_reset(&ans);
	resolve(&q, snap, &cfg, &ans);
	CHECK(ans.sign);
	CHECK_INT(ans.rcode, RCODE_NXDOMAIN);
	snprintf(q.name, sizeof q.name, "1.0.0.10.in-addr.arpa."); /* PTR: never */
	q.qtype = T_PTR;
	answer_reset(&ans);
	CHECK_INT(resolve(&q, snap, &cfg, &ans), RESOLVE_ANSWER);
	CHECK(!ans.sign);
	q.qtype = T_ANY;
	answer_reset(&ans);
	resolve(&q, snap, &cfg, &ans);
	CHECK(!ans.sign);
	fx_end();
}

TEST(chaos)
{
	fx_begin();
	fx_ask_full("version.bind.", T_TXT, C_CH, 1);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 0 CH TXT \"2.5.3a\"", "", "");
	fx_ask_full("version.server.", T_TXT, C_CH, 1);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 0 CH TXT \"2.5.3a\"", "", "");
	fx_ask_full("hostname.bind.", T_TXT, C_CH, 1);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 0 CH TXT \"localhost\"", "", "");
	fx_ask_full("id.server.", T_TXT, C_CH, 1);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 0 CH TXT \"localhost\"", "", "");
	fx_ask_full("whatever.bind.", T_TXT, C_CH, 1); /* NSD: REFUSED; SkyDNS: SERVFAIL */
	CHECK_REPLY(RCODE_REFUSED, 0, "", "", "");
	fx_ask_full("version.bind.", T_A, C_CH, 1);
	CHECK_REPLY(RCODE_REFUSED, 0, "", "", "");
	fx_ask_full("x.skydns.local.", T_TXT, C_CH, 1);
	CHECK_REPLY(RCODE_REFUSED, 0, "", "", "");
	fx_ask_full("skydns.local.", T_SOA, C_CH, 1); /* apex SOA: as class IN */
	CHECK_INT(ans.rcode, RCODE_NOERROR);
	CHECK_INT(ans.n[SEC_ANSWER], 1);
	const char *seen_first[4] = {0};
	int distinct = 0;
	for (uint64_t seed = 1; seed < 40; seed++) {
		const char *name = seed % 2 ? "authors.bind." : "skydns.local.";
		fx_ask_full(name, T_TXT, C_CH, seed);
		CHECK_INT(ans.rcode, RCODE_NOERROR);
		CHECK_INT(ans.n[SEC_ANSWER], 4);
		const char *want[] = {"Erik St. Martin", "Brian Ketelsen", "Miek Gieben",
				      "Michael Crosby"};
		for (int w = 0; w < 4; w++) {
			int found = 0;
			for (size_t i = 0; i < ans.n[SEC_ANSWER]; i++)
				found += strcmp(ans.rrs[SEC_ANSWER][i].d.txt.text, want[w]) == 0 &&
					 ans.rrs[SEC_ANSWER][i].rclass == C_CH &&
					 ans.rrs[SEC_ANSWER][i].ttl == 0;
			CHECK_INT(found, 1);
		}
		const char *f = ans.rrs[SEC_ANSWER][0].d.txt.text;
		int k = 0;
		while (k < distinct && seen_first[k] != f)
			k++;
		if (k == distinct && distinct < 4)
			seen_first[distinct++] = f;
	}
	CHECK(distinct > 1); /* shuffled */
	fx_end();
}

static void stub_data(void)
{
	fx_begin();
	cfg.stubzones = true;
	fx_put("ns1.skydns.com.stub.dns.skydns.local.", S(.host = "172.16.1.1", .port = 54));
	fx_put("ns2.skydns.com.stub.dns.skydns.local.", S(.host = "10.10.244.1"));
	fx_put("ns1.sub.skydns.com.stub.dns.skydns.local.", S(.host = "2001:db8::1", .port = 5300));
	fx_put("ns1.other.org.stub.dns.skydns.local.", S(.host = "ns.example.com")); /* names: unused */
	fx_put("ns1.sub.skydns.local.stub.dns.skydns.local.", S(.host = "10.0.0.9"));
	fx_put("ns1.old.net.stub.dns.skydns.local.", S(.host = "10.0.0.10"));
	fx_put("ns1.local.dns.skydns.local.stub.dns.skydns.local.", S(.host = "10.0.0.11"));
	fx_put("a.sub.skydns.local.", S(.host = "10.1.1.1"));
}

static int stub_servers(char (*out)[64])
{
	return resolve_stub_servers(&qry, snap, &cfg, out, 8);
}

TEST(stub_zones)
{
	char srv[8][64];
	stub_data();
	CHECK_INT(fx_ask("www.skydns.com.", T_A), RESOLVE_STUB);
	CHECK_INT(stub_servers(srv), 2);
	CHECK_STR(srv[0], "172.16.1.1:54");
	CHECK_STR(srv[1], "10.10.244.1:53");
	CHECK_INT(fx_ask("skydns.com.", T_SOA), RESOLVE_STUB);
	CHECK_INT(stub_servers(srv), 2);
	CHECK_INT(fx_ask("a.b.sub.skydns.com.", T_A), RESOLVE_STUB); /* longest zone */
	CHECK_INT(stub_servers(srv), 1);
	CHECK_STR(srv[0], "[2001:db8::1]:5300");
	CHECK_INT(fx_ask("xskydns.com.", T_A), RESOLVE_FORWARD);
	CHECK_INT(fx_ask("www.other.org.", T_A), RESOLVE_FORWARD);
	CHECK_INT(fx_ask("a.sub.skydns.local.", T_A), RESOLVE_STUB); /* wins over local data */
	CHECK_INT(stub_servers(srv), 1);
	CHECK_STR(srv[0], "10.0.0.9:53");
	CHECK_INT(fx_ask("local.dns.skydns.local.", T_A), RESOLVE_ANSWER); /* ignored zone */
	CHECK_INT(fx_ask("www.skydns.com.", T_ANY), RESOLVE_ANSWER);
	CHECK_INT(ans.rcode, RCODE_REFUSED);
	fx_end();
}

TEST(stub_marker_drop_and_off)
{
	char srv[8][64];
	stub_data();
	fx_freeze();
	struct query q = {.qtype = T_A, .qclass = C_IN, .stub_marker = true, .now = NOW};
	snprintf(q.name, sizeof q.name, "www.skydns.com.");
	answer_reset(&ans);
	CHECK_INT(resolve(&q, snap, &cfg, &ans), RESOLVE_DROP);
	snprintf(q.name, sizeof q.name, "www.example.org."); /* marker on a non-stub name */
	CHECK_INT(resolve(&q, snap, &cfg, &ans), RESOLVE_FORWARD);
	cfg.stubzones = false;
	CHECK_INT(fx_ask("www.skydns.com.", T_A), RESOLVE_FORWARD);
	CHECK_INT(stub_servers(srv), 0);
	CHECK_INT(fx_ask("a.sub.skydns.local.", T_A), RESOLVE_ANSWER);
	CHECK_STR(sec_text[SEC_ANSWER], "@ 3600 A 10.1.1.1");
	fx_end();
}

TEST(stub_expired_server)
{
	char srv[8][64];
	fx_begin();
	cfg.stubzones = true;
	fx_put_exp("ns1.gone.com.stub.dns.skydns.local.", S(.host = "10.0.0.1"), NOW);
	fx_put_exp("ns1.half.com.stub.dns.skydns.local.", S(.host = "10.0.0.2"), NOW - 5);
	fx_put_exp("ns2.half.com.stub.dns.skydns.local.", S(.host = "10.0.0.3"), NOW + 5);
	CHECK_INT(fx_ask("www.gone.com.", T_A), RESOLVE_FORWARD);
	CHECK_INT(fx_ask("www.half.com.", T_A), RESOLVE_STUB);
	CHECK_INT(stub_servers(srv), 1);
	CHECK_STR(srv[0], "10.0.0.3:53");
	fx_end();
}

TEST(reverse_ptr)
{
	fx_begin();
	fx_put("125.1.0.10.in-addr.arpa.", S(.host = "4.rails.staging.east.skydns.local"));
	fx_put("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
	       S(.host = "v6.skydns.local.", .ttl = 300));
	fx_put("1.2.0.10.in-addr.arpa.", S(.host = "a.skydns.local"));
	fx_put("x.1.2.0.10.in-addr.arpa.", S(.host = "b.skydns.local"));
	fx_put("7.7.7.10.in-addr.arpa.", S(.host = "10.7.7.7"));
	fx_put_exp("8.7.7.10.in-addr.arpa.", S(.host = "gone.skydns.local"), NOW);
	fx_put("h1.9.7.7.10.in-addr.arpa.", S(.host = "x.skydns.local", .ttl = 30));
	fx_put("h2.9.7.7.10.in-addr.arpa.", S(.host = "y.skydns.local"));
	fx_put("deep.h3.9.7.7.10.in-addr.arpa.", S(.host = "z.skydns.local"));
	fx_ask("125.1.0.10.in-addr.arpa.", T_PTR);
	CHECK_REPLY(RCODE_NOERROR, 0, "@ 3600 PTR 4.rails.staging.east.skydns.local.", "", "");
	CHECK(ans.ra);
	fx_ask("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", T_PTR);
	CHECK_REPLY(RCODE_NOERROR, 0, "@ 300 PTR v6.skydns.local.", "", "");
	/* fix: other qtypes on ip6.arpa are not answered with the PTR */
	CHECK_INT(fx_ask("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
			 T_A), RESOLVE_FORWARD);
	CHECK_INT(fx_ask("126.1.0.10.in-addr.arpa.", T_PTR), RESOLVE_FORWARD); /* not found */
	fx_ask("1.2.0.10.in-addr.arpa.", T_PTR); /* an address: its leaf and leaves below */
	CHECK_REPLY(RCODE_NOERROR, 0, "@ 3600 PTR a.skydns.local.\n@ 3600 PTR b.skydns.local.", "",
		    "");
	CHECK_INT(fx_ask("1.0.10.in-addr.arpa.", T_PTR), RESOLVE_FORWARD); /* a network */
	CHECK_INT(fx_ask("2.0.10.in-addr.arpa.", T_PTR), RESOLVE_FORWARD);
	CHECK_INT(fx_ask("7.7.7.10.in-addr.arpa.", T_PTR), RESOLVE_FORWARD);   /* IP host */
	CHECK_INT(fx_ask("8.7.7.10.in-addr.arpa.", T_PTR), RESOLVE_FORWARD);   /* expired */
	fx_ask("9.7.7.10.in-addr.arpa.", T_PTR); /* several names, TTLs levelled */
	CHECK_REPLY(RCODE_NOERROR, 0, "@ 30 PTR x.skydns.local.\n@ 30 PTR y.skydns.local.", "", "");
	fx_end();
}

TEST(local_dns)
{
	fx_begin();
	snprintf(cfg.local, sizeof cfg.local, "public.addresses.skydns.local.");
	fx_put("public.addresses.skydns.local.", S(.host = "192.0.2.1"));
	fx_ask("local.dns.skydns.local.", T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 A 192.0.2.1", "", "");
	fx_ask("local.dns.skydns.local.", T_AAAA);
	CHECK_NODATA();
	snprintf(cfg.local, sizeof cfg.local, "host.example.org.");
	fx_ask("local.dns.skydns.local.", T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 CNAME host.example.org.", "", "");
	CHECK_STR(ext_text, "host.example.org. A answer");
	fx_ask("local.dns.skydns.local.", T_TXT);
	CHECK_NODATA();
	cfg.local[0] = '\0';
	fx_ask("local.dns.skydns.local.", T_A);
	CHECK_NXDOMAIN();
	fx_end();
}

TEST(ttl_rules)
{
	fx_begin();
	fx_put("long.skydns.local.", S(.host = "10.0.0.1", .ttl = 7200));
	fx_put_exp("etcd.skydns.local.", S(.host = "10.0.0.2"), NOW + 100);
	fx_put_exp("json.skydns.local.", S(.host = "10.0.0.3", .ttl = 30), NOW + 100);
	fx_put_exp("both.skydns.local.", S(.host = "10.0.0.4", .ttl = 300), NOW + 100);
	fx_put("a.multi.skydns.local.", S(.host = "10.0.1.1", .ttl = 7200));
	fx_put("b.multi.skydns.local.", S(.host = "10.0.1.2"));
	fx_put("a.low.skydns.local.", S(.host = "10.0.2.1", .ttl = 30));
	fx_put("b.low.skydns.local.", S(.host = "10.0.2.2"));
	fx_ask("long.skydns.local.", T_A); /* one RR keeps its TTL */
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 7200 A 10.0.0.1", "", "");
	fx_ask("etcd.skydns.local.", T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 100 A 10.0.0.2", "", "");
	fx_ask("json.skydns.local.", T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 30 A 10.0.0.3", "", "");
	fx_ask("both.skydns.local.", T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 100 A 10.0.0.4", "", "");
	fx_ask("multi.skydns.local.", T_A); /* several: min(config ttl, all) */
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 A 10.0.1.1\n@ 3600 A 10.0.1.2", "", "");
	fx_ask("low.skydns.local.", T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 30 A 10.0.2.1\n@ 30 A 10.0.2.2", "", "");
	fx_ask("low.skydns.local.", T_SRV); /* additional TTLs are left alone */
	CHECK_REPLY(RCODE_NOERROR, 1,
		    "@ 30 SRV 10 50 0 a.low.skydns.local.\n@ 30 SRV 10 50 0 b.low.skydns.local.", "",
		    "a.low.skydns.local. 30 A 10.0.2.1\nb.low.skydns.local. 3600 A 10.0.2.2");
	fx_end();
}

TEST(expired_records_are_absent)
{
	fx_begin();
	fx_put_exp("gone.skydns.local.", S(.host = "10.0.0.1", .ttl = 60), NOW);
	fx_put_exp("a.dir.skydns.local.", S(.host = "10.0.0.2"), NOW - 1);
	fx_put("b.dir.skydns.local.", S(.host = "10.0.0.3"));
	fx_put_exp("a.edir.skydns.local.", S(.host = "10.0.0.4"), NOW - 1);
	fx_ask("gone.skydns.local.", T_A); /* SkyDNS #244 served it with TTL 3600 */
	CHECK_NXDOMAIN();
	fx_ask("dir.skydns.local.", T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 A 10.0.0.3", "", "");
	fx_ask("edir.skydns.local.", T_A);
	CHECK_NXDOMAIN();
	fx_end();
}

TEST(hidden_underscore_subtrees)
{
	fx_begin();
	fx_put("abc.x.svc.skydns.local.", S(.host = "10.0.0.1"));
	fx_put("abc._http._tcp.x.svc.skydns.local.", S(.host = "10.0.0.1", .port = 80));
	fx_put("r._dns._udp.y.svc.skydns.local.", S(.host = "10.0.0.2", .port = 53));
	fx_ask("x.svc.skydns.local.", T_SRV);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 SRV 10 100 0 abc.x.svc.skydns.local.", "",
		    "abc.x.svc.skydns.local. 3600 A 10.0.0.1");
	fx_ask("_http._tcp.x.svc.skydns.local.", T_SRV); /* a direct query works */
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 SRV 10 100 80 abc._http._tcp.x.svc.skydns.local.", "",
		    "abc._http._tcp.x.svc.skydns.local. 3600 A 10.0.0.1");
	fx_ask("_tcp.x.svc.skydns.local.", T_SRV); /* `_http` is hidden below `_tcp` */
	CHECK_NODATA();
	fx_ask("y.svc.skydns.local.", T_A); /* only hidden data below: exists, empty */
	CHECK_NODATA();
	fx_ask("svc.skydns.local.", T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 A 10.0.0.1", "", "");
	fx_ask("*.svc.skydns.local.", T_SRV);
	CHECK_STR(sec_text[SEC_ANSWER], "@ 3600 SRV 10 100 0 abc.x.svc.skydns.local.");
	fx_ask("_dns._udp.*.svc.skydns.local.", T_SRV); /* named literally: found */
	CHECK_STR(sec_text[SEC_ANSWER], "@ 3600 SRV 10 100 53 r._dns._udp.y.svc.skydns.local.");
	fx_end();
}

TEST(round_robin)
{
	fx_begin();
	cfg.round_robin = true;
	for (int i = 1; i <= 5; i++) {
		char name[64], host[32];
		snprintf(name, sizeof name, "h%d.pool.skydns.local.", i);
		snprintf(host, sizeof host, "10.0.0.%d", i);
		fx_put(name, S(.host = host));
	}
	fx_put("a.mix.skydns.local.", S(.host = "10.0.1.1"));
	fx_put("b.mix.skydns.local.", S(.host = "10.0.1.2"));
	fx_put("c.mix.skydns.local.", S(.host = "t.skydns.local"));
	fx_put("t.skydns.local.", S(.host = "10.0.1.3"));
	fx_put("c1.skydns.local.", S(.host = "c2.skydns.local"));
	fx_put("c2.skydns.local.", S(.host = "pool.skydns.local"));
	fx_put("alias.skydns.local.", S(.host = "pool.skydns.local"));
	static char first[8192];
	int orders = 0;
	for (uint64_t seed = 1; seed <= 30; seed++) {
		fx_ask_full("pool.skydns.local.", T_A, C_IN, seed);
		CHECK_INT(ans.n[SEC_ANSWER], 5);
		unsigned mask = 0;
		for (size_t i = 0; i < ans.n[SEC_ANSWER]; i++)
			mask |= 1u << ans.rrs[SEC_ANSWER][i].d.a[3];
		CHECK_INT(mask, 0x3e);
		if (seed == 1)
			snprintf(first, sizeof first, "%s", sec_text[SEC_ANSWER]);
		else
			orders += strcmp(first, sec_text[SEC_ANSWER]) != 0;
		fx_ask_full("mix.skydns.local.", T_A, C_IN, seed); /* RFC 1034 3.6.2: no CNAME beside A */
		CHECK_INT(ans.n[SEC_ANSWER], 2);
		CHECK_INT(ans.rrs[SEC_ANSWER][0].type, T_A);
		CHECK_INT(ans.rrs[SEC_ANSWER][1].type, T_A);
		fx_ask_full("alias.skydns.local.", T_A, C_IN, seed); /* fix #217: CNAME first */
		CHECK_INT(ans.n[SEC_ANSWER], 6);
		CHECK_INT(ans.rrs[SEC_ANSWER][0].type, T_CNAME);
		fx_ask_full("c1.skydns.local.", T_A, C_IN, seed); /* 2 CNAMEs: untouched */
		CHECK_STR(sec_text[SEC_ANSWER], "@ 3600 CNAME c2.skydns.local.\n"
						"c2.skydns.local. 3600 CNAME pool.skydns.local.\n"
						"pool.skydns.local. 3600 A 10.0.0.1\n"
						"pool.skydns.local. 3600 A 10.0.0.2\n"
						"pool.skydns.local. 3600 A 10.0.0.3\n"
						"pool.skydns.local. 3600 A 10.0.0.4\n"
						"pool.skydns.local. 3600 A 10.0.0.5");
	}
	CHECK(orders > 0);
	fx_ask_full("pool.skydns.local.", T_SRV, C_IN, 7); /* SRV is not shuffled */
	CHECK_STR(sec_text[SEC_ANSWER], "@ 3600 SRV 10 20 0 h1.pool.skydns.local.\n"
					"@ 3600 SRV 10 20 0 h2.pool.skydns.local.\n"
					"@ 3600 SRV 10 20 0 h3.pool.skydns.local.\n"
					"@ 3600 SRV 10 20 0 h4.pool.skydns.local.\n"
					"@ 3600 SRV 10 20 0 h5.pool.skydns.local.");
	fx_end();
}

TEST(dedup)
{
	fx_begin();
	fx_put("a.dup.skydns.local.", S(.host = "10.0.0.1"));
	fx_put("b.dup.skydns.local.", S(.host = "10.0.0.1", .ttl = 20));
	fx_put("c.dup.skydns.local.", S(.host = "10.0.0.2"));
	fx_put("a.two.skydns.local.", S(.host = "t1.skydns.local"));
	fx_put("b.two.skydns.local.", S(.host = "t2.skydns.local"));
	fx_put("t1.skydns.local.", S(.host = "10.0.1.1"));
	fx_put("t2.skydns.local.", S(.host = "10.0.1.2"));
	fx_ask("dup.skydns.local.", T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 A 10.0.0.1\n@ 3600 A 10.0.0.2", "", "");
	fx_ask("dup.skydns.local.", T_SRV); /* same target name twice: one glue each */
	CHECK_STR(sec_text[SEC_ADDITIONAL], "a.dup.skydns.local. 3600 A 10.0.0.1\n"
					    "b.dup.skydns.local. 20 A 10.0.0.1\n"
					    "c.dup.skydns.local. 3600 A 10.0.0.2");
	fx_ask("two.skydns.local.", T_A); /* one CNAME per owner: the last wins */
	CHECK_REPLY(RCODE_NOERROR, 1,
		    "@ 3600 CNAME t2.skydns.local.\n"
		    "t1.skydns.local. 3600 A 10.0.1.1\n"
		    "t2.skydns.local. 3600 A 10.0.1.2",
		    "", "");
	fx_end();
}

TEST(other_types)
{
	fx_begin();
	fx_put("a.skydns.local.", S(.host = "www.example.com", .port = 80));
	fx_ask("a.skydns.local.", T_HINFO);
	CHECK_NODATA();
	CHECK_STR(ext_text, ""); /* fix: no forwarder lookups for a NODATA */
	fx_ask("b.skydns.local.", T_NAPTR);
	CHECK_NXDOMAIN();
	fx_ask("skydns.local.", T_DNSKEY);
	CHECK_NODATA();
	fx_ask("a.skydns.local.", T_PTR);
	CHECK_NODATA();
	fx_ask("a.skydns.local.", T_DS);
	CHECK_NODATA();
	fx_end();
}

TEST(query_name_case_and_owner)
{
	fx_begin();
	fx_put("web.skydns.local.", S(.host = "10.0.0.1"));
	fx_put("UPPER.skydns.local.", S(.host = "10.0.0.2")); /* keys are lower-cased */
	fx_ask("web.skydns.local.", T_A);
	CHECK(ans.n[SEC_ANSWER] == 1 && ans.rrs[SEC_ANSWER][0].owner == NULL);
	fx_ask("upper.skydns.local.", T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 A 10.0.0.2", "", "");
	fx_end();
}

TEST(large_directory)
{
	fx_begin();
	for (int i = 0; i < 3000; i++) { /* 1500 addresses, each under two keys */
		char name[64], host[32];
		snprintf(name, sizeof name, "h%04d.big.skydns.local.", i);
		snprintf(host, sizeof host, "10.%d.%d.%d", (i % 1500) / 256 / 256, (i % 1500) / 256 % 256,
			 (i % 1500) % 256);
		fx_put(name, S(.host = host, .ttl = (uint32_t)(100 + i)));
	}
	fx_ask("big.skydns.local.", T_A);
	CHECK_INT(ans.rcode, RCODE_NOERROR);
	CHECK_INT(ans.n[SEC_ANSWER], 1500);
	unsigned seen[1500] = {0};
	for (size_t i = 0; i < ans.n[SEC_ANSWER]; i++) {
		const struct rr *r = &ans.rrs[SEC_ANSWER][i];
		unsigned idx = (unsigned)r->d.a[2] * 256u + r->d.a[3];
		CHECK(idx < 1500 && r->ttl == 100);
		if (idx < 1500)
			seen[idx]++;
	}
	for (int i = 0; i < 1500; i++)
		CHECK_INT(seen[i], 1);
	fx_ask("skydns.local.", T_SRV); /* the apex reads everything */
	CHECK_INT(ans.n[SEC_ANSWER], 3000);
	CHECK_INT(ans.n[SEC_ADDITIONAL], 3000);
	fx_end();
}

int main(void)
{
	RUN(any_refused);
	RUN(refused_as_nsd);
	RUN(recursion_denied);
	RUN(forward_outside_domain);
	RUN(header_ra);
	RUN(dnssec_sign_flag);
	RUN(chaos);
	RUN(stub_zones);
	RUN(stub_marker_drop_and_off);
	RUN(stub_expired_server);
	RUN(reverse_ptr);
	RUN(local_dns);
	RUN(ttl_rules);
	RUN(expired_records_are_absent);
	RUN(hidden_underscore_subtrees);
	RUN(round_robin);
	RUN(dedup);
	RUN(large_directory);
	RUN(other_types);
	RUN(query_name_case_and_owner);
	answer_free(&ans);
	return CHECK_DONE();
}
