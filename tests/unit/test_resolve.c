/* test_resolve.c - resolve() per qtype on hand-built snapshots: the SkyDNS
 * README examples, SRV weights and targetstrip, CNAME chains, MX, TXT, NS,
 * SOA, wildcards and groups. Pipeline rules are in test_resolve_pipeline.c.
 */
#include "resolve_fixture.h"

#define S(...) ((struct service){__VA_ARGS__})

/* The README's "Service Discovery via the DNS" data set. */
static void readme_data(void)
{
	fx_begin();
	fx_put("1.rails.production.east.skydns.local.", S(.host = "service1.example.com", .port = 8080));
	fx_put("2.rails.production.west.skydns.local.", S(.host = "service2.example.com", .port = 8080));
	fx_put("4.rails.staging.east.skydns.local.", S(.host = "10.0.1.125", .port = 8080));
	fx_put("6.rails.staging.east.skydns.local.", S(.host = "2003::8:1", .port = 8080));
}

TEST(readme_srv_leaf_external_target)
{
	readme_data();
	fx_ask("1.rails.production.east.skydns.local.", T_SRV);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 SRV 10 100 8080 service1.example.com.", "", "");
	CHECK_STR(ext_text, "service1.example.com. A additional\n"
			    "service1.example.com. AAAA additional");
	CHECK(ans.ra);
	CHECK(!ans.sign);
	fx_end();
}

TEST(readme_srv_directory_east)
{
	readme_data();
	fx_ask("east.skydns.local.", T_SRV);
	CHECK_REPLY(RCODE_NOERROR, 1,
		    "@ 3600 SRV 10 33 8080 service1.example.com.\n"
		    "@ 3600 SRV 10 33 8080 4.rails.staging.east.skydns.local.\n"
		    "@ 3600 SRV 10 33 8080 6.rails.staging.east.skydns.local.",
		    "",
		    "4.rails.staging.east.skydns.local. 3600 A 10.0.1.125\n"
		    "6.rails.staging.east.skydns.local. 3600 AAAA 2003::8:1");
	fx_end();
}

TEST(readme_srv_staging_and_addresses)
{
	readme_data();
	fx_ask("staging.east.skydns.local.", T_SRV);
	CHECK_REPLY(RCODE_NOERROR, 1,
		    "@ 3600 SRV 10 50 8080 4.rails.staging.east.skydns.local.\n"
		    "@ 3600 SRV 10 50 8080 6.rails.staging.east.skydns.local.",
		    "",
		    "4.rails.staging.east.skydns.local. 3600 A 10.0.1.125\n"
		    "6.rails.staging.east.skydns.local. 3600 AAAA 2003::8:1");
	fx_ask("staging.east.skydns.local.", T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 A 10.0.1.125", "", "");
	fx_ask("staging.east.skydns.local.", T_AAAA);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 AAAA 2003::8:1", "", "");
	fx_ask("4.rails.staging.east.skydns.local.", T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 A 10.0.1.125", "", "");
	fx_ask("4.rails.staging.east.skydns.local.", T_SRV);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 SRV 10 100 8080 4.rails.staging.east.skydns.local.", "",
		    "4.rails.staging.east.skydns.local. 3600 A 10.0.1.125");
	CHECK_STR(ext_text, "");
	fx_end();
}

TEST(readme_a_external_cname)
{
	readme_data();
	fx_ask("1.rails.production.east.skydns.local.", T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 CNAME service1.example.com.", "", "");
	CHECK_STR(ext_text, "service1.example.com. A answer");
	fx_ask("1.rails.production.east.skydns.local.", T_AAAA);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 CNAME service1.example.com.", "", "");
	CHECK_STR(ext_text, "service1.example.com. AAAA answer");
	fx_end();
}

TEST(nxdomain_vs_nodata)
{
	readme_data();
	fx_ask("4.rails.staging.east.skydns.local.", T_AAAA); /* v4-only name */
	CHECK_NODATA();
	fx_ask("rails.staging.east.skydns.local.", T_TXT); /* exists, no TXT */
	CHECK_NODATA();
	fx_ask("5.rails.staging.east.skydns.local.", T_A);
	CHECK_NXDOMAIN();
	CHECK(ans.ra);
	fx_ask("production.skydns.local.", T_A); /* it is east/production */
	CHECK_NXDOMAIN();
	fx_ask("ails.staging.east.skydns.local.", T_A); /* no string-prefix match */
	CHECK_NXDOMAIN();
	fx_ask("skydns.local.", T_TXT); /* the apex always exists */
	CHECK_NODATA();
	fx_end();
}

TEST(targetstrip)
{
	fx_begin();
	fx_put("4.rails.staging.east.skydns.local.",
	       S(.host = "10.0.1.125", .port = 8080, .targetstrip = 2));
	fx_put("9.rails.staging.east.skydns.local.", /* stripping everything keeps the name */
	       S(.host = "10.0.1.129", .port = 8080, .targetstrip = 9));
	fx_ask("4.rails.staging.east.skydns.local.", T_SRV);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 SRV 10 100 8080 staging.east.skydns.local.", "",
		    "staging.east.skydns.local. 3600 A 10.0.1.125");
	fx_ask("9.rails.staging.east.skydns.local.", T_SRV);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 SRV 10 100 8080 9.rails.staging.east.skydns.local.", "",
		    "9.rails.staging.east.skydns.local. 3600 A 10.0.1.129");
	fx_end();
}

/* README "How I Do Create Multiple SRV Records For the Same Name". */
TEST(readme_bar_targetstrip_dedup)
{
	fx_begin();
	fx_put("x1.bar.skydns.local.", S(.host = "192.168.0.1", .port = 80, .targetstrip = 1));
	fx_put("x2.bar.skydns.local.", S(.host = "bar.skydns.local", .port = 443));
	fx_ask("bar.skydns.local.", T_SRV);
	CHECK_REPLY(RCODE_NOERROR, 1,
		    "@ 3600 SRV 10 50 80 bar.skydns.local.\n"
		    "@ 3600 SRV 10 50 443 bar.skydns.local.",
		    "", "bar.skydns.local. 3600 A 192.168.0.1");
	CHECK_STR(ext_text, "");
	fx_end();
}

TEST(srv_weights)
{
	fx_begin();
	fx_put("a.w.skydns.local.", S(.host = "10.0.0.1", .weight = 130));
	fx_put("b.w.skydns.local.", S(.host = "10.0.0.2", .weight = 80));
	fx_put("c.w.skydns.local.", S(.host = "10.0.0.3", .weight = 150));
	fx_put("a.r.skydns.local.", S(.host = "10.0.1.1", .weight = 120));
	fx_put("b.r.skydns.local.", S(.host = "10.0.1.2", .weight = 100));
	fx_put("c.r.skydns.local.", S(.host = "10.0.1.3", .weight = 130));
	fx_put("a.p.skydns.local.", S(.host = "10.0.2.1"));
	fx_put("b.p.skydns.local.", S(.host = "10.0.2.2", .priority = 20, .port = 1));
	fx_put("c.p.skydns.local.", S(.host = "10.0.2.3", .priority = 20, .weight = 300));
	fx_ask("w.skydns.local.", T_SRV);
	CHECK_STR(sec_text[SEC_ANSWER], "@ 3600 SRV 10 36 0 a.w.skydns.local.\n"
					"@ 3600 SRV 10 22 0 b.w.skydns.local.\n"
					"@ 3600 SRV 10 41 0 c.w.skydns.local.");
	fx_ask("r.skydns.local.", T_SRV); /* the README's 120/100/130 table */
	CHECK_STR(sec_text[SEC_ANSWER], "@ 3600 SRV 10 34 0 a.r.skydns.local.\n"
					"@ 3600 SRV 10 28 0 b.r.skydns.local.\n"
					"@ 3600 SRV 10 37 0 c.r.skydns.local.");
	fx_ask("p.skydns.local.", T_SRV); /* sums per priority; 0 counts as 100 */
	CHECK_STR(sec_text[SEC_ANSWER], "@ 3600 SRV 10 100 0 a.p.skydns.local.\n"
					"@ 3600 SRV 20 25 1 b.p.skydns.local.\n"
					"@ 3600 SRV 20 75 0 c.p.skydns.local.");
	fx_end();
}

/* SRV targets: internal ones get A and AAAA (CNAME chains included) in
 * additional; external ones become forwarder lookups, once per target;
 * names with fewer labels than ndots are never looked up. */
TEST(srv_targets_internal_external)
{
	fx_begin();
	fx_put("a.s.skydns.local.", S(.host = "web.skydns.local", .port = 80));
	fx_put("b.s.skydns.local.", S(.host = "web.skydns.local", .port = 81));
	fx_put("c.s.skydns.local.", S(.host = "api.example.com", .port = 443));
	fx_put("d.s.skydns.local.", S(.host = "API.example.com.", .port = 444));
	fx_put("e.s.skydns.local.", S(.host = "short", .port = 1));
	fx_put("web.skydns.local.", S(.host = "alias.skydns.local"));
	fx_put("ext.alias.skydns.local.", S(.host = "cdn.example.net"));
	fx_put("v4.alias.skydns.local.", S(.host = "10.0.0.1"));
	fx_put("v6.alias.skydns.local.", S(.host = "2001:db8::1"));
	fx_ask("s.skydns.local.", T_SRV);
	CHECK_REPLY(RCODE_NOERROR, 1,
		    "@ 3600 SRV 10 20 80 web.skydns.local.\n"
		    "@ 3600 SRV 10 20 81 web.skydns.local.\n"
		    "@ 3600 SRV 10 20 443 api.example.com.\n"
		    "@ 3600 SRV 10 20 444 api.example.com.\n"
		    "@ 3600 SRV 10 20 1 short.",
		    "",
		    "web.skydns.local. 3600 CNAME alias.skydns.local.\n"
		    "alias.skydns.local. 3600 CNAME cdn.example.net.\n"
		    "alias.skydns.local. 3600 A 10.0.0.1\n"
		    "alias.skydns.local. 3600 AAAA 2001:db8::1");
	CHECK_STR(ext_text, "cdn.example.net. A additional\n"
			    "cdn.example.net. AAAA additional\n"
			    "api.example.com. A additional\n"
			    "api.example.com. AAAA additional");
	fx_ask("s.skydns.local.", T_HINFO); /* other types: NODATA, no lookups */
	CHECK_NODATA();
	CHECK_STR(ext_text, "");
	fx_end();
}

static void cname_data(void)
{
	fx_begin();
	fx_put("104.server1.development.region1.skydns.local.", S(.host = "10.0.0.1"));
	fx_put("1.cname.skydns.local.", S(.host = "104.server1.development.region1.skydns.local"));
	fx_put("100.server1.development.region1.skydns.local.", S(.host = "server1"));
	fx_put("2.cname.skydns.local.", S(.host = "100.server1.development.region1.skydns.local"));
	fx_put("3.cname.skydns.local.", S(.host = "4.cname.skydns.local"));
	fx_put("4.cname.skydns.local.", S(.host = "3.cname.skydns.local"));
	fx_put("self.skydns.local.", S(.host = "Self.skydns.local."));
	fx_put("ext.skydns.local.", S(.host = "www.miek.nl"));
	fx_put("toext.skydns.local.", S(.host = "ext.skydns.local"));
	fx_put("short.skydns.local.", S(.host = "localhost"));
}

TEST(cname_chains)
{
	cname_data();
	fx_ask("1.cname.skydns.local.", T_A);
	CHECK_REPLY(RCODE_NOERROR, 1,
		    "@ 3600 CNAME 104.server1.development.region1.skydns.local.\n"
		    "104.server1.development.region1.skydns.local. 3600 A 10.0.0.1",
		    "", "");
	fx_ask("1.cname.skydns.local.", T_AAAA); /* chain produced nothing */
	CHECK_NODATA();
	fx_ask("2.cname.skydns.local.", T_A); /* ends at "server1.", < ndots */
	CHECK_NODATA();
	CHECK_STR(ext_text, "");
	fx_ask("3.cname.skydns.local.", T_A); /* loop */
	CHECK_NODATA();
	fx_ask("self.skydns.local.", T_A);
	CHECK_NODATA();
	fx_ask("short.skydns.local.", T_A);
	CHECK_NODATA();
	CHECK_STR(ext_text, "");
	fx_end();
}

TEST(cname_external)
{
	cname_data();
	fx_ask("toext.skydns.local.", T_A);
	CHECK_REPLY(RCODE_NOERROR, 1,
		    "@ 3600 CNAME ext.skydns.local.\n"
		    "ext.skydns.local. 3600 CNAME www.miek.nl.",
		    "", "");
	CHECK_STR(ext_text, "www.miek.nl. A answer");
	fx_end();
}

TEST(cname_beside_addresses_dropped)
{
	/* kube2sky's namespace directory: a ClusterIP service and an
	 * ExternalName service side by side. */
	fx_begin();
	fx_put("h1.web.ns.svc.skydns.local.", (struct service){.host = "10.0.0.7"});
	fx_put("h2.ext.ns.svc.skydns.local.", (struct service){.host = "www.example.com"});
	fx_put("h3.int.ns.svc.skydns.local.", (struct service){.host = "web.ns.svc.skydns.local"});
	fx_freeze();
	fx_ask("ns.svc.skydns.local.", T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 A 10.0.0.7", "", "");
	CHECK_STR(ext_text, "");
	fx_ask("ext.ns.svc.skydns.local.", T_A); /* a CNAME alone stays */
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 CNAME www.example.com.", "", "");
	CHECK_STR(ext_text, "www.example.com. A answer");
	fx_end();
}

TEST(cname_chain_limit)
{
	char name[64], host[64];
	fx_begin();
	for (int i = 0; i < 9; i++) {
		snprintf(name, sizeof name, "c%d.chain.skydns.local.", i);
		snprintf(host, sizeof host, "c%d.chain.skydns.local", i + 1);
		fx_put(name, S(.host = host));
	}
	fx_put("c9.chain.skydns.local.", S(.host = "10.9.9.9"));
	fx_ask("c1.chain.skydns.local.", T_A); /* 8 CNAMEs: allowed */
	CHECK_INT(ans.rcode, RCODE_NOERROR);
	CHECK_INT(ans.n[SEC_ANSWER], 9);
	CHECK_STR(sec_text[SEC_ANSWER],
		  "@ 3600 CNAME c2.chain.skydns.local.\n"
		  "c2.chain.skydns.local. 3600 CNAME c3.chain.skydns.local.\n"
		  "c3.chain.skydns.local. 3600 CNAME c4.chain.skydns.local.\n"
		  "c4.chain.skydns.local. 3600 CNAME c5.chain.skydns.local.\n"
		  "c5.chain.skydns.local. 3600 CNAME c6.chain.skydns.local.\n"
		  "c6.chain.skydns.local. 3600 CNAME c7.chain.skydns.local.\n"
		  "c7.chain.skydns.local. 3600 CNAME c8.chain.skydns.local.\n"
		  "c8.chain.skydns.local. 3600 CNAME c9.chain.skydns.local.\n"
		  "c9.chain.skydns.local. 3600 A 10.9.9.9");
	fx_ask("c0.chain.skydns.local.", T_A); /* 9 CNAMEs: cut */
	CHECK_NODATA();
	fx_end();
}

TEST(cname_qtype)
{
	cname_data();
	fx_put("a.dir.skydns.local.", S(.host = "www.example.com"));
	fx_ask("1.cname.skydns.local.", T_CNAME);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 CNAME 104.server1.development.region1.skydns.local.",
		    "", "");
	CHECK_STR(ext_text, "");
	fx_ask("104.server1.development.region1.skydns.local.", T_CNAME); /* IP host */
	CHECK_NODATA();
	fx_ask("dir.skydns.local.", T_CNAME); /* a directory with one name host */
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 CNAME www.example.com.", "", "");
	fx_ask("cname.skydns.local.", T_CNAME); /* several services: nothing */
	CHECK_NODATA();
	fx_ask("nope.skydns.local.", T_CNAME);
	CHECK_NXDOMAIN();
	fx_end();
}

TEST(mx)
{
	fx_begin();
	fx_put("a.mail.skydns.local.", S(.host = "mx.example.com", .mail = true));
	fx_put("b.mail.skydns.local.", S(.host = "10.0.0.5", .mail = true, .priority = 20, .group = "g1"));
	fx_put("c.mail.skydns.local.", S(.host = "10.0.0.6", .group = "g2")); /* not mail */
	fx_put("in.mail.skydns.local.", S(.host = "a.mx.skydns.local", .mail = true));
	fx_put("a.mx.skydns.local.", S(.host = "10.0.0.7"));
	fx_put("www.skydns.local.", S(.host = "10.0.0.8"));
	fx_ask("mail.skydns.local.", T_MX); /* groups are not applied to MX */
	CHECK_REPLY(RCODE_NOERROR, 1,
		    "@ 3600 MX 10 mx.example.com.\n"
		    "@ 3600 MX 20 b.mail.skydns.local.\n"
		    "@ 3600 MX 10 a.mx.skydns.local.",
		    "",
		    "b.mail.skydns.local. 3600 A 10.0.0.5\n"
		    "a.mx.skydns.local. 3600 A 10.0.0.7");
	CHECK_STR(ext_text, "mx.example.com. A additional\nmx.example.com. AAAA additional");
	fx_ask("www.skydns.local.", T_MX);
	CHECK_NODATA();
	fx_end();
}

TEST(txt)
{
	fx_begin();
	fx_put("a.t.skydns.local.", S(.host = "10.0.0.1", .text = "hello world"));
	fx_put("b.t.skydns.local.", S(.host = "10.0.0.2"));
	fx_put("c.t.skydns.local.", S(.text = "second", .ttl = 20));
	fx_ask("t.skydns.local.", T_TXT); /* two RRs: TTLs levelled to the minimum */
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 20 TXT \"hello world\"\n@ 20 TXT \"second\"", "", "");
	fx_ask("b.t.skydns.local.", T_TXT);
	CHECK_NODATA();
	fx_ask("c.t.skydns.local.", T_A); /* TXT-only service: no address, no CNAME */
	CHECK_NODATA();
	fx_ask("c.t.skydns.local.", T_SRV);
	CHECK_NODATA();
	fx_end();
}

TEST(ns_apex_with_glue)
{
	fx_begin();
	fx_put("ns1.ns.dns.skydns.local.", S(.host = "172.16.0.1"));
	fx_put("ns2.ns.dns.skydns.local.", S(.host = "2001:db8::53"));
	fx_ask("skydns.local.", T_NS);
	CHECK_REPLY(RCODE_NOERROR, 1,
		    "@ 3600 NS ns1.ns.dns.skydns.local.\n"
		    "@ 3600 NS ns2.ns.dns.skydns.local.",
		    "",
		    "ns1.ns.dns.skydns.local. 3600 A 172.16.0.1\n"
		    "ns2.ns.dns.skydns.local. 3600 AAAA 2001:db8::53");
	fx_ask("ns1.ns.dns.skydns.local.", T_A); /* the glue name resolves too */
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 A 172.16.0.1", "", "");
	fx_ask("ns.dns.skydns.local.", T_NS); /* not the apex */
	CHECK_NODATA();
	fx_ask("nope.skydns.local.", T_NS);
	CHECK_NXDOMAIN();
	fx_end();

	fx_begin(); /* one name host spoils the whole NS answer (SkyDNS) */
	fx_put("ns1.ns.dns.skydns.local.", S(.host = "172.16.0.1"));
	fx_put("ns2.ns.dns.skydns.local.", S(.host = "ns.example.com"));
	fx_ask("skydns.local.", T_NS);
	CHECK_NODATA();
	fx_end();

	fx_begin(); /* no NS at all: the apex still exists */
	fx_ask("skydns.local.", T_NS);
	CHECK_NODATA();
	fx_end();
}

TEST(soa)
{
	fx_begin();
	fx_put("a.skydns.local.", S(.host = "10.0.0.1"));
	fx_ask("skydns.local.", T_SOA);
	CHECK_REPLY(RCODE_NOERROR, 1,
		    "skydns.local. 3600 SOA ns.dns.skydns.local. hostmaster.skydns.local. "
		    "1700002800 28800 7200 604800 60",
		    "", "");
	fx_ask("a.skydns.local.", T_SOA);
	CHECK_NODATA();
	fx_ask("b.skydns.local.", T_SOA);
	CHECK_NXDOMAIN();
	cfg.min_ttl = 30;
	snprintf(cfg.hostmaster, sizeof cfg.hostmaster, "dns.example.org.");
	fx_ask("b.skydns.local.", T_A);
	CHECK_STR(sec_text[SEC_AUTHORITY], "skydns.local. 30 SOA ns.dns.skydns.local. "
					   "dns.example.org. 1700002800 28800 7200 604800 30");
	fx_end();
}

TEST(wildcards)
{
	readme_data();
	fx_ask("*.east.skydns.local.", T_SRV);
	CHECK_STR(sec_text[SEC_ANSWER], "@ 3600 SRV 10 33 8080 service1.example.com.\n"
					"@ 3600 SRV 10 33 8080 4.rails.staging.east.skydns.local.\n"
					"@ 3600 SRV 10 33 8080 6.rails.staging.east.skydns.local.");
	fx_ask("staging.*.skydns.local.", T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 A 10.0.1.125", "", "");
	fx_ask("staging.any.skydns.local.", T_AAAA);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 AAAA 2003::8:1", "", "");
	fx_ask("rails.*.*.skydns.local.", T_SRV); /* several wildcards */
	CHECK_STR(sec_text[SEC_ANSWER], "@ 3600 SRV 10 25 8080 service1.example.com.\n"
					"@ 3600 SRV 10 25 8080 4.rails.staging.east.skydns.local.\n"
					"@ 3600 SRV 10 25 8080 6.rails.staging.east.skydns.local.\n"
					"@ 3600 SRV 10 25 8080 service2.example.com.");
	fx_ask("4.*.staging.east.skydns.local.", T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 A 10.0.1.125", "", "");
	fx_ask("*.north.skydns.local.", T_A); /* prefix missing */
	CHECK_NXDOMAIN();
	fx_ask("qa.*.skydns.local.", T_A); /* prefix exists, nothing matches */
	CHECK_NODATA();
	fx_ask("*.4.rails.staging.east.skydns.local.", T_A); /* keys shorter than the query */
	CHECK_NODATA();
	fx_end();
}

TEST(groups_feature_data)
{
	fx_begin();
	fx_put("a.dom.skydns.local.", S(.host = "127.0.0.1", .group = "g1"));
	fx_put("b.sub.dom.skydns.local.", S(.host = "127.0.0.2", .group = "g1"));
	fx_put("a.dom2.skydns.local.", S(.host = "127.0.0.1", .group = "g1"));
	fx_put("b.sub.dom2.skydns.local.", S(.host = "127.0.0.2"));
	fx_put("a.dom1.skydns.local.", S(.host = "127.0.0.1", .group = "g1"));
	fx_put("b.sub.dom1.skydns.local.", S(.host = "127.0.0.2", .group = "g2"));
	fx_put("x1.dis.skydns.local.", S(.host = "127.0.0.1", .group = "g1"));
	fx_put("x2.dis.skydns.local.", S(.host = "127.0.0.2", .group = "g2"));
	fx_ask("dom.skydns.local.", T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 A 127.0.0.1\n@ 3600 A 127.0.0.2", "", "");
	fx_ask("dom2.skydns.local.", T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 A 127.0.0.1\n@ 3600 A 127.0.0.2", "", "");
	fx_ask("dom1.skydns.local.", T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 A 127.0.0.1", "", "");
	fx_ask("dom1.skydns.local.", T_SRV);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 SRV 10 100 0 a.dom1.skydns.local.", "",
		    "a.dom1.skydns.local. 3600 A 127.0.0.1");
	fx_ask("dis.skydns.local.", T_A); /* disagreement at the top: no grouping */
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 A 127.0.0.1\n@ 3600 A 127.0.0.2", "", "");
	fx_end();
}

TEST(groups_readme)
{
	fx_begin();
	fx_put("a.domain.skydns.local.", S(.host = "127.0.0.1", .group = "g1", .text = "ta"));
	fx_put("b.domain.skydns.local.", S(.host = "127.0.0.2", .group = "g1"));
	fx_put("c.subdom.domain.skydns.local.", S(.host = "127.0.0.3", .group = "g2", .text = "tc"));
	fx_put("d.subdom.domain.skydns.local.", S(.host = "127.0.0.4", .group = "g2"));
	fx_ask("domain.skydns.local.", T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 A 127.0.0.1\n@ 3600 A 127.0.0.2", "", "");
	fx_ask("subdom.domain.skydns.local.", T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 A 127.0.0.3\n@ 3600 A 127.0.0.4", "", "");
	fx_ask("domain.skydns.local.", T_TXT);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 TXT \"ta\"", "", "");
	fx_end();
}

/* Names that cannot be encoded (a 74-byte label in the key, a host with a
 * 64-byte label or an empty label) are dropped from the answer, not allowed
 * to turn SRV of every directory above them into SERVFAIL (issue 12). */
#define L74 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define L64 "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"

static void poison_data(void)
{
	fx_begin();
	fx_put("1.web.poison.skydns.local.", S(.host = "10.0.0.1", .port = 80));
	fx_put(L74 ".web.poison.skydns.local.", S(.host = "10.0.0.2", .port = 80));
	fx_put("3.web.poison.skydns.local.", S(.host = L64 ".example.com", .port = 80));
	fx_put("4.web.poison.skydns.local.", S(.host = "db..example.com", .port = 80));
}

TEST(unencodable_names_dropped)
{
	poison_data();
	static const char *const dirs[] = { "web.poison.skydns.local.", "poison.skydns.local.",
					    "skydns.local." };
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		fx_ask(dirs[i], T_SRV);
		CHECK_INT(ans.rcode, RCODE_NOERROR);
		CHECK_INT(ans.n[SEC_ANSWER], 1);
		CHECK(strstr(sec_text[SEC_ANSWER], " 80 1.web.poison.skydns.local.") != NULL);
		CHECK_STR(sec_text[SEC_ADDITIONAL], "1.web.poison.skydns.local. 3600 A 10.0.0.1");
		CHECK_STR(ext_text, "");
	}
	fx_ask("1.web.poison.skydns.local.", T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 A 10.0.0.1", "", "");
	fx_ask("web.poison.skydns.local.", T_A); /* the bad key's address has a good owner */
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 A 10.0.0.1\n@ 3600 A 10.0.0.2", "", "");
	fx_ask("3.web.poison.skydns.local.", T_A); /* CNAME to a host that is no name */
	CHECK_NODATA();
	CHECK_STR(ext_text, "");
	fx_end();
}

int main(void)
{
	RUN(readme_srv_leaf_external_target);
	RUN(readme_srv_directory_east);
	RUN(readme_srv_staging_and_addresses);
	RUN(readme_a_external_cname);
	RUN(nxdomain_vs_nodata);
	RUN(targetstrip);
	RUN(readme_bar_targetstrip_dedup);
	RUN(srv_weights);
	RUN(srv_targets_internal_external);
	RUN(cname_chains);
	RUN(cname_external);
	RUN(cname_beside_addresses_dropped);
	RUN(cname_chain_limit);
	RUN(cname_qtype);
	RUN(mx);
	RUN(txt);
	RUN(ns_apex_with_glue);
	RUN(soa);
	RUN(wildcards);
	RUN(groups_feature_data);
	RUN(groups_readme);
	RUN(unencodable_names_dropped);
	answer_free(&ans);
	return CHECK_DONE();
}
