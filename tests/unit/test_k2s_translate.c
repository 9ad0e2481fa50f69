/* translate(): every row of the DNS spec 1.1.0 checklist that kube2sky writes
 * (k8s-dns.md section b), fed with objects shaped like the real API's JSON. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "kobj.h"
#include "translate.h"

static const struct translate_opts OPTS = {
	.prefix = "skydns", .zone = "cluster.local.", .ttl = 30, .priority = 10, .weight = 10,
};

static struct ksvc *svc_json(const char *json)
{
	cJSON *o = cJSON_Parse(json);
	struct ksvc *s = NULL;
	const char *why = NULL;
	int rc = o ? ksvc_from_json(o, &s, &why) : SKY_EPARSE;
	cJSON_Delete(o);
	if (rc)
		printf("  service did not decode: %s\n", why ? why : "bad JSON");
	return s;
}

static struct keps *slice_json(const char *json, bool v1)
{
	cJSON *o = cJSON_Parse(json);
	struct keps *e = NULL;
	const char *why = NULL;
	int rc = !o ? SKY_EPARSE : v1 ? keps_from_endpoints_json(o, &e, &why) : keps_from_slice_json(o, &e, &why);
	cJSON_Delete(o);
	if (rc)
		printf("  endpoints did not decode: %s\n", why ? why : "bad JSON");
	return e;
}

/* Records directly or indirectly under dir (a key prefix ending in '/'). */
static int count_under(const struct k2s_recset *rs, const char *dir)
{
	int n = 0;
	for (int i = 0; i < rs->n; i++)
		n += strncmp(rs->recs[i].key, dir, strlen(dir)) == 0;
	return n;
}

/* Is there a record under dir (not deeper than one extra level when
 * leaf_only) with this host and port? */
static bool has_rec(const struct k2s_recset *rs, const char *dir, const char *host, int port)
{
	for (int i = 0; i < rs->n; i++) {
		if (strncmp(rs->recs[i].key, dir, strlen(dir)) != 0)
			continue;
		cJSON *v = cJSON_Parse(rs->recs[i].value);
		const cJSON *h = cJSON_GetObjectItem(v, "host"), *p = cJSON_GetObjectItem(v, "port");
		bool ok = cJSON_IsString(h) && strcmp(h->valuestring, host) == 0 &&
			  (port ? cJSON_IsNumber(p) && p->valueint == port : !cJSON_IsNumber(p) || p->valueint == 0);
		cJSON_Delete(v);
		if (ok)
			return true;
	}
	return false;
}

static void dump(const struct k2s_recset *rs)
{
	for (int i = 0; i < rs->n; i++)
		printf("    %s = %s\n", rs->recs[i].key, rs->recs[i].value);
}

#define SVC_HEAD(ns, name) "{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"" ns "\",\"uid\":\"u1\",\"resourceVersion\":\"100\"},"

TEST(dns_version_txt)
{
	struct k2s_recset rs = {0};
	CHECK_INT(translate_global(&OPTS, &rs), 0);
	CHECK_INT(rs.n, 1);
	if (rs.n == 1) {
		CHECK_STR(rs.recs[0].key, "/skydns/local/cluster/dns-version");
		cJSON *v = cJSON_Parse(rs.recs[0].value);
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(v, "text")), "1.1.0");
		cJSON_Delete(v);
	}
	recset_clear(&rs);
}

TEST(clusterip_a_and_ptr_one_unnamed_port)
{
	struct ksvc *s = svc_json(SVC_HEAD("default", "web")
		"\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"10.0.0.11\",\"clusterIPs\":[\"10.0.0.11\"],"
		"\"ports\":[{\"protocol\":\"TCP\",\"port\":80,\"targetPort\":8080}],\"ipFamilies\":[\"IPv4\"]}}");
	struct k2s_recset rs = {0};
	CHECK(s != NULL);
	CHECK_INT(translate_service(&OPTS, s, NULL, 0, &rs), 0);
	CHECK_INT(rs.n, 2); /* A + PTR, no SRV for an unnamed port */
	CHECK_INT(count_under(&rs, "/skydns/local/cluster/svc/default/web/"), 1);
	CHECK(has_rec(&rs, "/skydns/local/cluster/svc/default/web/", "10.0.0.11", 0));
	CHECK(has_rec(&rs, "/skydns/arpa/in-addr/10/0/0/11", "web.default.svc.cluster.local.", 0));
	/* The leaf is the FNV-32a of the value, as kube2sky named it. */
	for (int i = 0; i < rs.n; i++) {
		if (strncmp(rs.recs[i].key, "/skydns/local/", 14) != 0)
			continue;
		char want[256];
		snprintf(want, sizeof want, "/skydns/local/cluster/svc/default/web/%x",
			 translate_fnv32a(rs.recs[i].value));
		CHECK_STR(rs.recs[i].key, want);
		cJSON *v = cJSON_Parse(rs.recs[i].value);
		CHECK_INT(cJSON_GetObjectItem(v, "ttl")->valueint, 30);
		cJSON_Delete(v);
	}
	recset_clear(&rs);
	ksvc_free(s);
}

TEST(dual_stack_a_aaaa_and_ip6_ptr)
{
	struct ksvc *s = svc_json(SVC_HEAD("prod", "api")
		"\"spec\":{\"clusterIP\":\"10.96.0.20\",\"clusterIPs\":[\"10.96.0.20\",\"FD00:10:96::20\"],"
		"\"ipFamilyPolicy\":\"PreferDualStack\",\"ports\":[{\"name\":\"grpc\",\"port\":9000}]}}");
	struct k2s_recset rs = {0};
	CHECK_INT(translate_service(&OPTS, s, NULL, 0, &rs), 0);
	const char *svcdir = "/skydns/local/cluster/svc/prod/api/";
	CHECK(has_rec(&rs, svcdir, "10.96.0.20", 0));
	CHECK(has_rec(&rs, svcdir, "fd00:10:96::20", 0)); /* canonical, lower-case */
	CHECK(has_rec(&rs, "/skydns/arpa/in-addr/10/96/0/20", "api.prod.svc.cluster.local.", 0));
	CHECK(has_rec(&rs, "/skydns/arpa/ip6/f/d/0/0/0/0/1/0/0/0/9/6/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/2/0",
		      "api.prod.svc.cluster.local.", 0));
	/* One SRV for the named port, pointing at the service name with the service port. */
	CHECK_INT(count_under(&rs, "/skydns/local/cluster/svc/prod/api/_tcp/_grpc/"), 1);
	CHECK(has_rec(&rs, "/skydns/local/cluster/svc/prod/api/_tcp/_grpc/", "api.prod.svc.cluster.local.", 9000));
	CHECK_INT(rs.n, 5);
	recset_clear(&rs);
	ksvc_free(s);
}

TEST(named_and_unnamed_ports_protocols)
{
	struct ksvc *s = svc_json(SVC_HEAD("kube-system", "kube-dns")
		"\"spec\":{\"clusterIP\":\"10.0.0.10\",\"ports\":[{\"name\":\"dns\",\"protocol\":\"UDP\",\"port\":53,\"targetPort\":53},"
		"{\"name\":\"dns-tcp\",\"protocol\":\"TCP\",\"port\":53},{\"name\":\"metrics\",\"port\":9153},"
		"{\"protocol\":\"TCP\",\"port\":1234},{\"name\":\"Bad_Name\",\"port\":5}]}}");
	struct k2s_recset rs = {0};
	CHECK_INT(translate_service(&OPTS, s, NULL, 0, &rs), 0);
	const char *fq = "kube-dns.kube-system.svc.cluster.local.";
	CHECK(has_rec(&rs, "/skydns/local/cluster/svc/kube-system/kube-dns/_udp/_dns/", fq, 53));
	CHECK(has_rec(&rs, "/skydns/local/cluster/svc/kube-system/kube-dns/_tcp/_dns-tcp/", fq, 53));
	CHECK(has_rec(&rs, "/skydns/local/cluster/svc/kube-system/kube-dns/_tcp/_metrics/", fq, 9153));
	CHECK_INT(count_under(&rs, "/skydns/local/cluster/svc/kube-system/kube-dns/_"), 3);
	CHECK_INT(rs.n, 5); /* A + PTR + 3 SRV; the unnamed and the invalid name get none */
	recset_clear(&rs);
	ksvc_free(s);
}

static const char *HEADLESS = SVC_HEAD("db", "pg")
	"\"spec\":{\"clusterIP\":\"None\",\"clusterIPs\":[\"None\"],\"ports\":[{\"name\":\"sql\",\"port\":5432}]}}";

TEST(headless_with_hostnames)
{
	struct ksvc *s = svc_json(HEADLESS);
	struct keps *e = slice_json("{\"kind\":\"EndpointSlice\",\"apiVersion\":\"discovery.k8s.io/v1\","
		"\"metadata\":{\"name\":\"pg-abc12\",\"namespace\":\"db\",\"resourceVersion\":\"7\","
		"\"labels\":{\"kubernetes.io/service-name\":\"pg\",\"endpointslice.kubernetes.io/managed-by\":\"endpointslice-controller.k8s.io\"}},"
		"\"addressType\":\"IPv4\",\"endpoints\":["
		"{\"addresses\":[\"10.244.1.5\"],\"conditions\":{\"ready\":true,\"serving\":true,\"terminating\":false},\"hostname\":\"pg-0\",\"nodeName\":\"n1\"},"
		"{\"addresses\":[\"10.244.2.6\"],\"conditions\":{\"ready\":true},\"hostname\":\"PG-1\"}],"
		"\"ports\":[{\"name\":\"sql\",\"protocol\":\"TCP\",\"port\":5433}]}", false);
	const struct keps *eps[] = {e};
	struct k2s_recset rs = {0};
	CHECK_INT(translate_service(&OPTS, s, eps, 1, &rs), 0);
	CHECK(has_rec(&rs, "/skydns/local/cluster/svc/db/pg/pg-0/", "10.244.1.5", 0));
	CHECK(has_rec(&rs, "/skydns/local/cluster/svc/db/pg/pg-1/", "10.244.2.6", 0));
	/* SRV per ready endpoint x named port, with the endpoint port. */
	CHECK_INT(count_under(&rs, "/skydns/local/cluster/svc/db/pg/_tcp/_sql/"), 2);
	CHECK(has_rec(&rs, "/skydns/local/cluster/svc/db/pg/_tcp/_sql/", "pg-0.pg.db.svc.cluster.local.", 5433));
	CHECK(has_rec(&rs, "/skydns/local/cluster/svc/db/pg/_tcp/_sql/", "pg-1.pg.db.svc.cluster.local.", 5433));
	CHECK(has_rec(&rs, "/skydns/arpa/in-addr/10/244/1/5", "pg-0.pg.db.svc.cluster.local.", 0));
	CHECK_INT(rs.n, 6);
	recset_clear(&rs);
	keps_free(e);
	ksvc_free(s);
}

TEST(headless_without_hostnames_dual_stack)
{
	struct ksvc *s = svc_json(HEADLESS);
	struct keps *v4 = slice_json("{\"metadata\":{\"name\":\"pg-v4\",\"namespace\":\"db\",\"resourceVersion\":\"8\","
		"\"labels\":{\"kubernetes.io/service-name\":\"pg\"}},\"addressType\":\"IPv4\","
		"\"endpoints\":[{\"addresses\":[\"10.244.1.5\"],\"conditions\":{}}],\"ports\":[{\"name\":\"sql\",\"port\":5432,\"protocol\":\"TCP\"}]}", false);
	struct keps *v6 = slice_json("{\"metadata\":{\"name\":\"pg-v6\",\"namespace\":\"db\",\"resourceVersion\":\"9\","
		"\"labels\":{\"kubernetes.io/service-name\":\"pg\"}},\"addressType\":\"IPv6\","
		"\"endpoints\":[{\"addresses\":[\"fd00::1:5\"],\"conditions\":{\"ready\":true}}],\"ports\":[{\"name\":\"sql\",\"port\":5432,\"protocol\":\"TCP\"}]}", false);
	const struct keps *eps[] = {v4, v6};
	struct k2s_recset rs = {0};
	CHECK_INT(translate_service(&OPTS, s, eps, 2, &rs), 0);
	/* conditions.ready absent = ready; label = dashed IP, resolvable itself. */
	CHECK(has_rec(&rs, "/skydns/local/cluster/svc/db/pg/10-244-1-5/", "10.244.1.5", 0));
	CHECK(has_rec(&rs, "/skydns/local/cluster/svc/db/pg/fd00--1-5/", "fd00::1:5", 0));
	CHECK(has_rec(&rs, "/skydns/local/cluster/svc/db/pg/_tcp/_sql/", "10-244-1-5.pg.db.svc.cluster.local.", 5432));
	CHECK(has_rec(&rs, "/skydns/local/cluster/svc/db/pg/_tcp/_sql/", "fd00--1-5.pg.db.svc.cluster.local.", 5432));
	CHECK(has_rec(&rs, "/skydns/arpa/ip6/f/d/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/1/0/0/0/5",
		      "fd00--1-5.pg.db.svc.cluster.local.", 0));
	CHECK_INT(rs.n, 6);
	recset_clear(&rs);
	keps_free(v4);
	keps_free(v6);
	ksvc_free(s);
}

static const char *PG_SLICE_MIXED = "{\"metadata\":{\"name\":\"pg-x\",\"namespace\":\"db\",\"resourceVersion\":\"10\","
	"\"labels\":{\"kubernetes.io/service-name\":\"pg\"}},\"addressType\":\"IPv4\",\"endpoints\":["
	"{\"addresses\":[\"10.0.1.1\"],\"conditions\":{\"ready\":false,\"serving\":false}},"
	"{\"addresses\":[\"10.0.1.2\"],\"conditions\":{\"ready\":false,\"serving\":true,\"terminating\":true}}],"
	"\"ports\":[{\"name\":\"sql\",\"port\":5432}]}";

TEST(headless_not_ready_gives_nothing)
{
	struct ksvc *s = svc_json(HEADLESS);
	struct keps *e = slice_json(PG_SLICE_MIXED, false);
	const struct keps *eps[] = {e};
	struct k2s_recset rs = {0};
	CHECK_INT(translate_service(&OPTS, s, eps, 1, &rs), 0);
	CHECK_INT(rs.n, 0); /* no ready endpoint: no records at all, so NXDOMAIN */
	recset_clear(&rs);
	/* Headless with no endpoints object yet: nothing either. */
	CHECK_INT(translate_service(&OPTS, s, NULL, 0, &rs), 0);
	CHECK_INT(rs.n, 0);
	recset_clear(&rs);
	keps_free(e);
	ksvc_free(s);
}

TEST(publish_not_ready_addresses)
{
	struct ksvc *s = svc_json(SVC_HEAD("db", "pg")
		"\"spec\":{\"clusterIP\":\"None\",\"publishNotReadyAddresses\":true}}");
	struct keps *e = slice_json(PG_SLICE_MIXED, false);
	const struct keps *eps[] = {e};
	struct k2s_recset rs = {0};
	CHECK_INT(translate_service(&OPTS, s, eps, 1, &rs), 0);
	CHECK(has_rec(&rs, "/skydns/local/cluster/svc/db/pg/10-0-1-1/", "10.0.1.1", 0));
	CHECK(has_rec(&rs, "/skydns/local/cluster/svc/db/pg/10-0-1-2/", "10.0.1.2", 0));
	CHECK_INT(count_under(&rs, "/skydns/local/cluster/svc/db/pg/_tcp/_sql/"), 2);
	recset_clear(&rs);
	keps_free(e);
	ksvc_free(s);
}

TEST(v1_endpoints_n_by_m_srv)
{
	/* kube2sky_test.go's case: subset 1 with http1/http2 and two IPs, subset 2
	 * with https and two IPs: 4 A + 6 SRV (+ 4 PTR here). */
	struct ksvc *s = svc_json(SVC_HEAD("ns", "hl") "\"spec\":{\"clusterIP\":\"None\"}}");
	struct keps *e = slice_json("{\"metadata\":{\"name\":\"hl\",\"namespace\":\"ns\",\"resourceVersion\":\"3\"},\"subsets\":["
		"{\"addresses\":[{\"ip\":\"10.1.0.1\",\"hostname\":\"a\"},{\"ip\":\"10.1.0.2\"}],"
		" \"notReadyAddresses\":[{\"ip\":\"10.1.0.9\"}],"
		" \"ports\":[{\"name\":\"http1\",\"port\":81,\"protocol\":\"TCP\"},{\"name\":\"http2\",\"port\":82,\"protocol\":\"TCP\"}]},"
		"{\"addresses\":[{\"ip\":\"10.2.0.1\"},{\"ip\":\"10.2.0.2\"}],\"ports\":[{\"name\":\"https\",\"port\":443,\"protocol\":\"TCP\"}]}]}", true);
	const struct keps *eps[] = {e};
	struct k2s_recset rs = {0};
	CHECK_INT(translate_service(&OPTS, s, eps, 1, &rs), 0);
	CHECK_INT(count_under(&rs, "/skydns/local/cluster/svc/ns/hl/_tcp/_http1/"), 2);
	CHECK_INT(count_under(&rs, "/skydns/local/cluster/svc/ns/hl/_tcp/_http2/"), 2);
	CHECK_INT(count_under(&rs, "/skydns/local/cluster/svc/ns/hl/_tcp/_https/"), 2);
	CHECK(has_rec(&rs, "/skydns/local/cluster/svc/ns/hl/_tcp/_http1/", "a.hl.ns.svc.cluster.local.", 81));
	CHECK(has_rec(&rs, "/skydns/local/cluster/svc/ns/hl/_tcp/_https/", "10-2-0-2.hl.ns.svc.cluster.local.", 443));
	CHECK_INT(count_under(&rs, "/skydns/local/cluster/svc/ns/hl/"), 10);
	CHECK_INT(count_under(&rs, "/skydns/arpa/in-addr/"), 4);
	CHECK(!has_rec(&rs, "/skydns/", "10.1.0.9", 0)); /* notReadyAddresses */
	recset_clear(&rs);
	keps_free(e);
	ksvc_free(s);
}

TEST(slices_of_other_services_ignored_and_duplicates_merged)
{
	struct ksvc *s = svc_json(HEADLESS);
	const char *a = "{\"metadata\":{\"name\":\"pg-a\",\"namespace\":\"db\",\"resourceVersion\":\"1\","
		"\"labels\":{\"kubernetes.io/service-name\":\"pg\"}},\"addressType\":\"IPv4\","
		"\"endpoints\":[{\"addresses\":[\"10.9.9.9\"],\"conditions\":{\"ready\":true}}],\"ports\":[]}";
	const char *other = "{\"metadata\":{\"name\":\"x-a\",\"namespace\":\"db\",\"resourceVersion\":\"1\","
		"\"labels\":{\"kubernetes.io/service-name\":\"x\"}},\"addressType\":\"IPv4\","
		"\"endpoints\":[{\"addresses\":[\"10.8.8.8\"]}]}";
	struct keps *e1 = slice_json(a, false), *e2 = slice_json(a, false), *e3 = slice_json(other, false);
	const struct keps *eps[] = {e1, e2, e3};
	struct k2s_recset rs = {0};
	CHECK_INT(translate_service(&OPTS, s, eps, 3, &rs), 0);
	CHECK_INT(rs.n, 2); /* one A + one PTR, though listed twice; 10.8.8.8 is another service's */
	CHECK(recset_find(&rs, "/skydns/arpa/in-addr/10/9/9/9") != NULL);
	recset_clear(&rs);
	keps_free(e1);
	keps_free(e2);
	keps_free(e3);
	ksvc_free(s);
}

TEST(external_name_cname)
{
	struct ksvc *s = svc_json(SVC_HEAD("default", "ext")
		"\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"Mail.Example.COM.\",\"ports\":[{\"name\":\"smtp\",\"port\":25}]}}");
	struct k2s_recset rs = {0};
	CHECK_INT(translate_service(&OPTS, s, NULL, 0, &rs), 0);
	CHECK_INT(rs.n, 1);
	CHECK(has_rec(&rs, "/skydns/local/cluster/svc/default/ext/", "mail.example.com", 0));
	recset_clear(&rs);
	ksvc_free(s);
}

TEST(upper_case_lowered_and_bad_names_refused)
{
	struct ksvc *s = svc_json(SVC_HEAD("Default", "MyWeb") "\"spec\":{\"clusterIP\":\"10.0.0.12\"}}");
	struct k2s_recset rs = {0};
	CHECK_INT(translate_service(&OPTS, s, NULL, 0, &rs), 0);
	CHECK(has_rec(&rs, "/skydns/local/cluster/svc/default/myweb/", "10.0.0.12", 0));
	CHECK(has_rec(&rs, "/skydns/arpa/in-addr/10/0/0/12", "myweb.default.svc.cluster.local.", 0));
	recset_clear(&rs);
	ksvc_free(s);
	s = svc_json(SVC_HEAD("default", "a.b") "\"spec\":{\"clusterIP\":\"10.0.0.13\"}}");
	CHECK_INT(translate_service(&OPTS, s, NULL, 0, &rs), 0);
	CHECK_INT(rs.n, 0);
	CHECK_INT(rs.nskips, 1);
	CHECK_STR(rs.nskips ? rs.skips[0] : NULL, "name is not a DNS label: no records");
	recset_clear(&rs);
	ksvc_free(s);
	/* A clusterIP that is not an address (pending allocation, garbage): no records. */
	s = svc_json(SVC_HEAD("default", "x") "\"spec\":{\"clusterIP\":\"\",\"ports\":[{\"name\":\"h\",\"port\":1}]}}");
	CHECK_INT(translate_service(&OPTS, s, NULL, 0, &rs), 0);
	CHECK_INT(rs.n, 0);
	ksvc_free(s);
}

#define L74 "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
#define L63 "ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"

/* The skip reasons of a translation, one per line, for one CHECK_STR. */
static const char *skips_text(const struct k2s_recset *rs)
{
	static char buf[4096];
	buf[0] = '\0';
	for (int i = 0; i < rs->nskips; i++)
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? "\n" : "", rs->skips[i]);
	return buf;
}

/* Issue 12: kube2sky wrote an ExternalName with a 74-character label, and
 * SkyDNS answered SERVFAIL for SRV up to the apex. Now it is not written. */
TEST(external_name_invalid_skipped)
{
	struct ksvc *s = svc_json(SVC_HEAD("default", "ext")
		"\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"" L74 ".example.com\"}}");
	struct k2s_recset rs = {0};
	CHECK_INT(translate_service(&OPTS, s, NULL, 0, &rs), 0);
	CHECK_INT(rs.n, 0);
	CHECK_STR(skips_text(&rs), "externalName \"" L74 ".example.com\": label over 63 bytes");
	recset_clear(&rs);
	ksvc_free(s);
	s = svc_json(SVC_HEAD("default", "ext2")
		"\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"db..example.com\"}}");
	CHECK_INT(translate_service(&OPTS, s, NULL, 0, &rs), 0);
	CHECK_INT(rs.n, 0);
	CHECK_STR(skips_text(&rs), "externalName \"db..example.com\": empty label");
	recset_clear(&rs);
	ksvc_free(s);
}

/* A bad port name loses its SRV only; the address records stay. */
TEST(bad_port_names_and_ips_skipped_alone)
{
	struct ksvc *s = svc_json(SVC_HEAD("default", "web")
		"\"spec\":{\"clusterIPs\":[\"10.0.0.11\",\"10.0.0\"],\"ports\":["
		"{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":80},"
		"{\"name\":\"my_port\",\"protocol\":\"TCP\",\"port\":81},"
		"{\"name\":\"" L63 "\",\"protocol\":\"TCP\",\"port\":82}]}}");
	struct k2s_recset rs = {0};
	CHECK_INT(translate_service(&OPTS, s, NULL, 0, &rs), 0);
	CHECK(has_rec(&rs, "/skydns/local/cluster/svc/default/web/", "10.0.0.11", 0));
	CHECK(has_rec(&rs, "/skydns/arpa/in-addr/10/0/0/11", "web.default.svc.cluster.local.", 0));
	CHECK_INT(count_under(&rs, "/skydns/local/cluster/svc/default/web/_tcp/_http/"), 1);
	CHECK_INT(count_under(&rs, "/skydns/local/cluster/svc/default/web/_tcp/"), 1);
	CHECK_INT(rs.n, 3);
	CHECK_STR(skips_text(&rs), "clusterIP \"10.0.0\": not an IP address\n"
				   "port name \"my_port\": not a DNS label\n"
				   "port name \"" L63 "\": not a DNS label");
	recset_clear(&rs);
	ksvc_free(s);

	/* headless: an endpoint whose IP does not parse is skipped, once */
	s = svc_json(HEADLESS);
	struct keps *e = slice_json("{\"kind\":\"EndpointSlice\",\"apiVersion\":\"discovery.k8s.io/v1\","
		"\"metadata\":{\"name\":\"pg-abc12\",\"namespace\":\"db\",\"resourceVersion\":\"7\","
		"\"labels\":{\"kubernetes.io/service-name\":\"pg\"}},"
		"\"addressType\":\"IPv4\",\"endpoints\":["
		"{\"addresses\":[\"10.244.1.5\"],\"conditions\":{\"ready\":true},\"hostname\":\"pg-0\"},"
		"{\"addresses\":[\"10.244.1.300\"],\"conditions\":{\"ready\":true},\"hostname\":\"pg-1\"}],"
		"\"ports\":[{\"name\":\"sql\",\"protocol\":\"TCP\",\"port\":5433}]}", false);
	const struct keps *eps[] = {e};
	CHECK_INT(translate_service(&OPTS, s, eps, 1, &rs), 0);
	CHECK(has_rec(&rs, "/skydns/local/cluster/svc/db/pg/pg-0/", "10.244.1.5", 0));
	CHECK_INT(count_under(&rs, "/skydns/local/cluster/svc/db/pg/pg-1/"), 0);
	CHECK_INT(count_under(&rs, "/skydns/local/cluster/svc/db/pg/_tcp/_sql/"), 1);
	CHECK_STR(skips_text(&rs), "endpoint IP \"10.244.1.300\": not an IP address");
	recset_clear(&rs);
	keps_free(e);
	ksvc_free(s);
}

/* Names are checked whole: with a long zone, a 63-byte hostname makes an
 * endpoint name over 255 bytes; a short one next to it is written. */
TEST(names_over_255_skipped)
{
	struct translate_opts o = OPTS;
	o.zone = "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz.yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy."
		 "xxxxxxxxxxxxxxxxxxxx.local.";
	struct ksvc *s = svc_json(SVC_HEAD("db", "pg") "\"spec\":{\"clusterIP\":\"None\"}}");
	struct keps *e = slice_json("{\"kind\":\"EndpointSlice\",\"apiVersion\":\"discovery.k8s.io/v1\","
		"\"metadata\":{\"name\":\"pg-abc12\",\"namespace\":\"db\",\"resourceVersion\":\"7\","
		"\"labels\":{\"kubernetes.io/service-name\":\"pg\"}},"
		"\"addressType\":\"IPv4\",\"endpoints\":["
		"{\"addresses\":[\"10.244.1.5\"],\"conditions\":{\"ready\":true},\"hostname\":\"a\"},"
		"{\"addresses\":[\"10.244.1.6\"],\"conditions\":{\"ready\":true},\"hostname\":\""
		L63 L63 "\"}]}", false);
	const struct keps *eps[] = {e};
	struct k2s_recset rs = {0};
	CHECK(s && e);
	/* the 126-byte hostname is no label: the dashed IP stands in, and fits */
	CHECK_INT(translate_service(&o, s, eps, 1, &rs), 0);
	CHECK_INT(rs.nskips, 0);
	recset_clear(&rs);
	keps_free(e);
	e = slice_json("{\"kind\":\"EndpointSlice\",\"apiVersion\":\"discovery.k8s.io/v1\","
		"\"metadata\":{\"name\":\"pg-abc12\",\"namespace\":\"db\",\"resourceVersion\":\"7\","
		"\"labels\":{\"kubernetes.io/service-name\":\"pg\"}},"
		"\"addressType\":\"IPv4\",\"endpoints\":["
		"{\"addresses\":[\"10.244.1.5\"],\"conditions\":{\"ready\":true},\"hostname\":\"a\"},"
		"{\"addresses\":[\"10.244.1.6\"],\"conditions\":{\"ready\":true},\"hostname\":\"" L63 "\"}]}", false);
	eps[0] = e;
	ksvc_free(s);
	s = svc_json(SVC_HEAD("db", L63) "\"spec\":{\"clusterIP\":\"None\"}}");
	/* the slice names service pg; make it name the long one */
	free(e->service);
	e->service = strdup(L63);
	CHECK_INT(translate_service(&o, s, eps, 1, &rs), 0);
	bool short_one = false;
	for (int i = 0; i < rs.n; i++)
		short_one |= strstr(rs.recs[i].key, "/" L63 "/a/") != NULL;
	CHECK(short_one);
	CHECK_INT(count_under(&rs, "/skydns/arpa/in-addr/10/244/1/6"), 0);
	CHECK_INT(rs.nskips, 1);
	CHECK(rs.nskips == 1 && strstr(rs.skips[0], "name over 255 bytes") &&
	      strncmp(rs.skips[0], "name \"" L63 "." L63 ".db.svc.", strlen("name \"" L63 "." L63 ".db.svc.")) == 0);
	if (rs.nskips != 1)
		printf("  skips: %s\n", skips_text(&rs));
	recset_clear(&rs);
	keps_free(e);
	ksvc_free(s);
}

TEST(decode_errors)
{
	const char *why = NULL;
	struct ksvc *s = NULL;
	cJSON *o = cJSON_Parse("{\"metadata\":{\"name\":\"x\"},\"spec\":{}}");
	CHECK_INT(ksvc_from_json(o, &s, &why), SKY_EPARSE);
	CHECK(why && strstr(why, "namespace"));
	CHECK(s == NULL);
	cJSON_Delete(o);
	o = cJSON_Parse("{\"metadata\":{\"name\":\"x\",\"namespace\":\"y\"},\"spec\":{\"type\":\"ExternalName\"}}");
	CHECK_INT(ksvc_from_json(o, &s, &why), SKY_EPARSE);
	cJSON_Delete(o);
	o = cJSON_Parse("{\"metadata\":{\"name\":\"x\",\"namespace\":\"y\"},\"spec\":{\"ports\":\"80\"}}");
	CHECK_INT(ksvc_from_json(o, &s, &why), SKY_EPARSE);
	cJSON_Delete(o);
}

TEST(owner_of_keys)
{
	char owner[512];
	CHECK_INT(translate_owner(&OPTS, "/skydns/local/cluster/svc/db/pg/_tcp/_sql/abc", "{}", owner, sizeof owner), 0);
	CHECK_STR(owner, "db/pg");
	CHECK_INT(translate_owner(&OPTS, "/skydns/local/cluster/svc/db/pg/1234", "{}", owner, sizeof owner), 0);
	CHECK_STR(owner, "db/pg");
	CHECK_INT(translate_owner(&OPTS, "/skydns/local/cluster/dns-version", "{}", owner, sizeof owner), 0);
	CHECK_STR(owner, "");
	CHECK_INT(translate_owner(&OPTS, "/skydns/arpa/in-addr/10/0/0/1", "{\"host\":\"pg-0.pg.db.svc.cluster.local.\"}", owner, sizeof owner), 0);
	CHECK_STR(owner, "db/pg");
	CHECK_INT(translate_owner(&OPTS, "/skydns/arpa/in-addr/10/0/0/2", "{\"host\":\"web.default.svc.cluster.local\"}", owner, sizeof owner), 0);
	CHECK_STR(owner, "default/web");
	/* Somebody else's PTR and keys outside kube2sky's trees are not ours. */
	CHECK_INT(translate_owner(&OPTS, "/skydns/arpa/in-addr/10/0/0/3", "{\"host\":\"router.example.org\"}", owner, sizeof owner), SKY_ENOTFOUND);
	CHECK_INT(translate_owner(&OPTS, "/skydns/local/cluster/other/x", "{}", owner, sizeof owner), SKY_ENOTFOUND);
	CHECK_INT(translate_owner(&OPTS, "/skydns/local/cluster/svc/x", "{}", owner, sizeof owner), SKY_ENOTFOUND);
	char pre[3][512];
	CHECK_INT(translate_owned_prefixes(&OPTS, pre, 3), 3);
	CHECK_STR(pre[0], "/skydns/local/cluster/svc/");
	CHECK_STR(pre[1], "/skydns/arpa/in-addr/");
	CHECK_STR(pre[2], "/skydns/arpa/ip6/");
}

TEST(reverse_names)
{
	char b[256];
	CHECK_INT(translate_reverse_name("192.0.2.1", b, sizeof b), 0);
	CHECK_STR(b, "1.2.0.192.in-addr.arpa.");
	CHECK_INT(translate_reverse_name("2001:db8::1", b, sizeof b), 0);
	CHECK_STR(b, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.");
	CHECK_INT(translate_reverse_name("10.0.0", b, sizeof b), SKY_EINVAL);
	CHECK_INT(translate_dashed_ip("2001:DB8::1", b, sizeof b), 0);
	CHECK_STR(b, "2001-db8--1");
}

int main(void)
{
	RUN(dns_version_txt);
	RUN(clusterip_a_and_ptr_one_unnamed_port);
	RUN(dual_stack_a_aaaa_and_ip6_ptr);
	RUN(named_and_unnamed_ports_protocols);
	RUN(headless_with_hostnames);
	RUN(headless_without_hostnames_dual_stack);
	RUN(headless_not_ready_gives_nothing);
	RUN(publish_not_ready_addresses);
	RUN(v1_endpoints_n_by_m_srv);
	RUN(slices_of_other_services_ignored_and_duplicates_merged);
	RUN(external_name_cname);
	RUN(external_name_invalid_skipped);
	RUN(bad_port_names_and_ips_skipped_alone);
	RUN(names_over_255_skipped);
	RUN(upper_case_lowered_and_bad_names_refused);
	RUN(decode_errors);
	RUN(owner_of_keys);
	RUN(reverse_names);
	if (getenv("K2S_DUMP")) {
		struct ksvc *s = svc_json(HEADLESS);
		struct keps *e = slice_json(PG_SLICE_MIXED, false);
		const struct keps *eps[] = {e};
		struct k2s_recset rs = {0};
		s->publish_not_ready = true;
		translate_service(&OPTS, s, eps, 1, &rs);
		dump(&rs);
		translate_global(&OPTS, &rs);
		dump(&rs);
		recset_clear(&rs);
		keps_free(e);
		ksvc_free(s);
	}
	return CHECK_DONE();
}
