/* test_resolve_scope.c - issue 12 item 1: in a zone kube2sky manages (its
 * marker is in the snapshot) directory answers stop at the names the
 * Kubernetes DNS spec defines; the same data in an unmanaged zone keeps
 * SkyDNS's directory answers. Zone skydns.local. (the fixture's domain),
 * records laid out as kube2sky/translate.c writes them.
 */
#include "marker.h"
#include "resolve_fixture.h"

#define S(...) ((struct service){__VA_ARGS__})
#define Z "skydns.local."
#define WEB "web.default.svc." Z

/* kube2sky's keys for: ClusterIP web (default, port http), dual-stack api
 * (prod), headless pg (db, two ready endpoints, port sql), ExternalName mail
 * (default), dns-version, a PTR; plus SkyDNS's own NS record. */
static void cluster_data(bool managed, const char *zone)
{
	fx_begin();
	fx_put("1a." WEB, S(.host = "10.96.0.50", .ttl = 30));
	fx_put("2b._http._tcp." WEB, S(.host = WEB, .port = 80, .ttl = 30));
	fx_put("3c.api.prod.svc." Z, S(.host = "10.96.0.60", .ttl = 30));
	fx_put("4d.api.prod.svc." Z, S(.host = "fd00:10:96::60", .ttl = 30));
	fx_put("5e.pg-0.pg.db.svc." Z, S(.host = "10.244.1.5", .ttl = 30));
	fx_put("6f.10-244-2-6.pg.db.svc." Z, S(.host = "10.244.2.6", .ttl = 30));
	fx_put("7a._sql._tcp.pg.db.svc." Z, S(.host = "pg-0.pg.db.svc." Z, .port = 5433, .ttl = 30));
	fx_put("7b._sql._tcp.pg.db.svc." Z,
	       S(.host = "10-244-2-6.pg.db.svc." Z, .port = 5433, .ttl = 30));
	fx_put("8c.mail.default.svc." Z, S(.host = "mail.example.org", .ttl = 30));
	fx_put("dns-version." Z, S(.text = "1.1.0", .ttl = 30));
	fx_put("50.0.96.10.in-addr.arpa.", S(.host = WEB, .ttl = 30));
	fx_put("ns1.ns.dns." Z, S(.host = "10.0.0.53"));
	if (managed) {
		struct marker m = {.synced = NOW - 5, .id = "0123456789abcdef"};
		snprintf(m.zone, sizeof m.zone, "%s", zone);
		CHECK_INT(snapshot_builder_add_managed(bld, &m), 0);
	}
}

static void managed(void)
{
	cluster_data(true, Z);
}

TEST(namespace_is_nodata)
{
	static const uint16_t types[] = {T_A, T_AAAA, T_SRV, T_TXT, T_MX, T_CNAME};
	managed();
	for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
		fx_ask("prod.svc." Z, types[i]);
		CHECK_NODATA();
		fx_ask("default.svc." Z, types[i]); /* a ClusterIP and an ExternalName below */
		CHECK_NODATA();
		CHECK_STR(ext_text, "");
	}
	fx_end();
}

TEST(search_path_short_name_is_nodata)
{
	/* a pod in default resolving "db": db.default.svc. is NXDOMAIN, then
	 * db.svc. must not hand out the pods of namespace db */
	managed();
	fx_ask("db.default.svc." Z, T_A);
	CHECK_NXDOMAIN();
	fx_ask("db.svc." Z, T_A);
	CHECK_NODATA();
	fx_ask("db.svc." Z, T_SRV);
	CHECK_NODATA();
	fx_end();
}

TEST(svc_and_apex_are_nodata)
{
	managed();
	fx_ask("svc." Z, T_A);
	CHECK_NODATA();
	fx_ask("svc." Z, T_SRV);
	CHECK_NODATA();
	fx_ask("svc." Z, T_TXT);
	CHECK_NODATA();
	fx_ask(Z, T_A);
	CHECK_NODATA();
	fx_ask(Z, T_AAAA);
	CHECK_NODATA();
	fx_ask(Z, T_SRV);
	CHECK_NODATA();
	fx_ask(Z, T_TXT);
	CHECK_NODATA();
	/* SOA and NS at the apex still answer (NS from ns.dns, a SkyDNS read) */
	fx_ask(Z, T_SOA);
	CHECK_REPLY(RCODE_NOERROR, 1,
		    "skydns.local. 3600 SOA ns.dns.skydns.local. hostmaster.skydns.local. "
		    "1700002800 28800 7200 604800 60", "", "");
	fx_ask(Z, T_NS);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 NS ns1.ns.dns.skydns.local.", "",
		    "ns1.ns.dns.skydns.local. 3600 A 10.0.0.53");
	fx_end();
}

TEST(absent_names_are_nxdomain)
{
	managed();
	fx_ask("nosuchns.svc." Z, T_A);
	CHECK_NXDOMAIN();
	fx_ask("nosuch.default.svc." Z, T_A);
	CHECK_NXDOMAIN();
	fx_ask("pod." Z, T_A);
	CHECK_NXDOMAIN();
	fx_ask("10-244-1-5.db.pod." Z, T_A);
	CHECK_NXDOMAIN();
	fx_end();
}

TEST(wildcards_are_plain_labels)
{
	managed();
	fx_ask("*.default.svc." Z, T_A); /* would be every service of default */
	CHECK_NXDOMAIN();
	fx_ask("web.*.svc." Z, T_A); /* would be web of every namespace */
	CHECK_NXDOMAIN();
	fx_ask("any.any.svc." Z, T_A);
	CHECK_NXDOMAIN();
	fx_ask("*.pg.db.svc." Z, T_A);
	CHECK_NXDOMAIN();
	fx_end();
}

TEST(spec_names_still_answer)
{
	managed();
	fx_ask(WEB, T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 30 A 10.96.0.50", "", "");
	fx_ask(WEB, T_AAAA);
	CHECK_NODATA();
	fx_ask("_http._tcp." WEB, T_SRV);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 30 SRV 10 100 80 " WEB, "", WEB " 30 A 10.96.0.50");
	fx_ask("api.prod.svc." Z, T_AAAA);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 30 AAAA fd00:10:96::60", "", "");
	fx_ask("pg.db.svc." Z, T_A); /* headless: the endpoints below the service */
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 30 A 10.244.2.6\n@ 30 A 10.244.1.5", "", "");
	fx_ask("pg-0.pg.db.svc." Z, T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 30 A 10.244.1.5", "", "");
	fx_ask("_sql._tcp.pg.db.svc." Z, T_SRV);
	CHECK_REPLY(RCODE_NOERROR, 1,
		    "@ 30 SRV 10 50 5433 pg-0.pg.db.svc.skydns.local.\n"
		    "@ 30 SRV 10 50 5433 10-244-2-6.pg.db.svc.skydns.local.", "",
		    "pg-0.pg.db.svc.skydns.local. 30 A 10.244.1.5\n"
		    "10-244-2-6.pg.db.svc.skydns.local. 30 A 10.244.2.6");
	fx_ask("mail.default.svc." Z, T_CNAME);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 30 CNAME mail.example.org.", "", "");
	fx_ask("dns-version." Z, T_TXT);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 30 TXT \"1.1.0\"", "", "");
	fx_ask("50.0.96.10.in-addr.arpa.", T_PTR);
	CHECK_INT(ans.rcode, RCODE_NOERROR);
	CHECK_STR(sec_text[SEC_ANSWER], "@ 30 PTR " WEB);
	fx_end();
}

TEST(record_at_a_name_above_a_service)
{
	/* A key stored at exactly such a name is that name's own data, not an
	 * aggregate of other namespaces': it is served; what lies below is not. */
	managed();
	fx_put("x.svc." Z, S(.host = "10.1.2.3", .ttl = 30));
	fx_put("1.y.x.svc." Z, S(.host = "10.9.9.9", .ttl = 30));
	fx_put(Z, S(.host = "10.0.0.1", .ttl = 30));
	fx_ask("x.svc." Z, T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 30 A 10.1.2.3", "", "");
	fx_ask(Z, T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 30 A 10.0.0.1", "", "");
	fx_ask("svc." Z, T_A);
	CHECK_NODATA();
	fx_end();
}

TEST(do_bit_still_signs_denials)
{
	managed();
	fx_freeze();
	memset(&qry, 0, sizeof qry);
	snprintf(qry.name, sizeof qry.name, "prod.svc." Z);
	qry.qtype = T_A;
	qry.qclass = C_IN;
	qry.do_bit = qry.edns = true;
	qry.now = NOW;
	answer_reset(&ans);
	act = resolve(&qry, snap, &cfg, &ans);
	CHECK_INT(act, RESOLVE_ANSWER);
	CHECK_INT(ans.rcode, RCODE_NOERROR);
	CHECK_INT(ans.n[SEC_ANSWER], 0);
	CHECK(ans.sign);
	fx_end();
}

/* The same questions where no marker is present, or the marker names
 * another zone: SkyDNS's directory answers, unchanged. */
static void unmanaged_answers(void)
{
	fx_ask("prod.svc." Z, T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 30 A 10.96.0.60", "", "");
	fx_ask("db.svc." Z, T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 30 A 10.244.2.6\n@ 30 A 10.244.1.5", "", "");
	fx_ask("svc." Z, T_A);
	CHECK_REPLY(RCODE_NOERROR, 1,
		    "@ 30 A 10.244.2.6\n@ 30 A 10.244.1.5\n@ 30 A 10.96.0.50\n@ 30 A 10.96.0.60",
		    "", "");
	fx_ask(Z, T_A);
	CHECK_INT(ans.rcode, RCODE_NOERROR);
	CHECK(ans.n[SEC_ANSWER] >= 4);
	fx_ask("svc." Z, T_SRV);
	CHECK_INT(ans.rcode, RCODE_NOERROR);
	CHECK(ans.n[SEC_ANSWER] >= 4);
	fx_ask("*.default.svc." Z, T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 30 A 10.96.0.50", "", "");
	fx_ask(WEB, T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 30 A 10.96.0.50", "", "");
	fx_ask("nosuchns.svc." Z, T_A);
	CHECK_NXDOMAIN();
}

TEST(unmanaged_zone_keeps_directory_answers)
{
	cluster_data(false, NULL);
	unmanaged_answers();
	fx_end();
}

TEST(marker_for_another_zone_changes_nothing_here)
{
	cluster_data(true, "other.local.");
	unmanaged_answers();
	fx_end();
	/* a marker for a zone below the domain scopes that zone only */
	cluster_data(true, "svc." Z);
	fx_ask("prod.svc." Z, T_A);
	CHECK_NODATA();
	fx_ask("ns1.ns.dns." Z, T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 A 10.0.0.53", "", "");
	fx_ask("dns." Z, T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 A 10.0.0.53", "", "");
	fx_end();
}

/* Kubernetes pod records (-pod-records, CoreDNS "pods insecure"). */
TEST(pod_records_from_the_name)
{
	fx_begin();
	cfg.pod_records = true;
	fx_ask("10-244-1-5.default.pod." Z, T_A);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 A 10.244.1.5", "", ""); /* @: the question name */
	fx_ask("10-244-1-5.default.pod." Z, T_AAAA);
	CHECK_NODATA();
	fx_ask("fd00-10-244--5.prod.pod." Z, T_AAAA);
	CHECK_REPLY(RCODE_NOERROR, 1, "@ 3600 AAAA fd00:10:244::5", "",
		    "");
	fx_ask("fd00-10-244--5.prod.pod." Z, T_A);
	CHECK_NODATA();
	fx_ask("10-244-1-5.default.pod." Z, T_TXT);
	CHECK_NODATA();
	fx_ask("default.pod." Z, T_A); /* every address is below: empty non-terminals */
	CHECK_NODATA();
	fx_ask("pod." Z, T_A);
	CHECK_NODATA();
	fx_ask("10-244-1-500.default.pod." Z, T_A);
	CHECK_NXDOMAIN();
	fx_ask("web.default.pod." Z, T_A);
	CHECK_NXDOMAIN();
	fx_ask("x.10-244-1-5.default.pod." Z, T_A);
	CHECK_NXDOMAIN();
	cfg.pod_records = false; /* off (the default): looked up like any name */
	fx_ask("10-244-1-5.default.pod." Z, T_A);
	CHECK_NXDOMAIN();
	fx_end();
}

int main(void)
{
	RUN(namespace_is_nodata);
	RUN(search_path_short_name_is_nodata);
	RUN(svc_and_apex_are_nodata);
	RUN(absent_names_are_nxdomain);
	RUN(wildcards_are_plain_labels);
	RUN(spec_names_still_answer);
	RUN(record_at_a_name_above_a_service);
	RUN(do_bit_still_signs_denials);
	RUN(unmanaged_zone_keeps_directory_answers);
	RUN(marker_for_another_zone_changes_nothing_here);
	RUN(pod_records_from_the_name);
	answer_free(&ans);
	return CHECK_DONE();
}
