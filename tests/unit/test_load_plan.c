/* test_load_plan.c - skydns-load's plan: each file kind to its etcd keys,
 * bad entries left out with a warning naming them, duplicates, config. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "load.h"

static const struct load_opts O = { "skydns.local.", "skydns" };

static int plan(struct load_plan *p, const char *file, const char *text)
{
	int rc = load_plan_file(p, &O, file, text, strlen(text));
	return rc ? rc : load_plan_finish(p, &O);
}

static int warned(const struct load_plan *p, const char *needle)
{
	for (size_t i = 0; i < p->nwarn; i++)
		if (strstr(p->warn[i], needle))
			return 1;
	return 0;
}

TEST(records_single_and_list)
{
	struct load_plan p = { 0 };
	CHECK_INT(plan(&p, "records.json",
		       "{\"db\":{\"host\":\"10.0.0.5\",\"ttl\":30},"
		       "\"Web.skydns.local.\":[{\"host\":\"10.0.0.6\"},{\"host\":\"10.0.0.7\"}]}"), 0);
	CHECK_INT(p.n, 3);
	CHECK_INT(p.nwarn, 0);
	const char *db = load_plan_get(&p, "/skydns/local/skydns/db");
	CHECK(db && strstr(db, "\"10.0.0.5\"") && strstr(db, "\"ttl\":30"));
	int web = 0;
	for (size_t i = 0; i < p.n; i++)
		web += strncmp(p.kv[i].key, "/skydns/local/skydns/web/", 25) == 0;
	CHECK_INT(web, 2); /* lower-cased, each under its own hash label */
	load_plan_clear(&p);
}

TEST(records_bad_entries_left_out)
{
	struct load_plan p = { 0 };
	CHECK_INT(plan(&p, "records.json",
		       "{\"ok\":{\"host\":\"10.0.0.1\"},\"x.example.com.\":{\"host\":\"10.0.0.2\"},"
		       "\"p\":{\"host\":\"10.0.0.3\",\"port\":\"80\"},\"n\":{\"port\":80},"
		       "\"a..b\":{\"host\":\"10.0.0.4\"},\"s\":\"10.0.0.5\"}"), 0);
	CHECK_INT(p.n, 1);
	CHECK(load_plan_get(&p, "/skydns/local/skydns/ok") != NULL);
	CHECK(warned(&p, "x.example.com.: outside the domain"));
	CHECK(warned(&p, "records.json: p:"));
	CHECK(warned(&p, "records.json: n: no \"host\""));
	CHECK(warned(&p, "a..b: empty label"));
	CHECK(warned(&p, "records.json: s: not a JSON object"));
	load_plan_clear(&p);
	CHECK_INT(plan(&p, "records.json", "[1,2]"), 0);
	CHECK_INT(p.n, 0);
	CHECK(warned(&p, "not a JSON object"));
	load_plan_clear(&p);
}

TEST(hosts_lines)
{
	struct load_plan p = { 0 };
	CHECK_INT(plan(&p, "hosts", "# c\n10.1.0.1 h1 h2 # trailing\n\n  fd00::1\th6\r\n"
				    "bogus h9\n10.1.0.3\n"), 0);
	CHECK_INT(p.n, 3);
	CHECK_INT(p.nwarn, 2);
	CHECK(warned(&p, "hosts line 5: bogus is not an address"));
	CHECK(warned(&p, "hosts line 6: 10.1.0.3 has no name"));
	int h6 = 0;
	for (size_t i = 0; i < p.n; i++)
		h6 += strncmp(p.kv[i].key, "/skydns/local/skydns/h6/", 24) == 0 &&
		      strstr(p.kv[i].value, "fd00::1") != NULL;
	CHECK_INT(h6, 1);
	load_plan_clear(&p);
}

TEST(stub_domains_and_upstream)
{
	struct load_plan p = { 0 };
	const char *stub = "{\"acme.local\":[\"10.2.0.1\",\"10.2.0.2:5353\",\"nope\"],"
			   "\"bad..zone\":[\"10.2.0.3\"]}";
	CHECK_INT(load_plan_file(&p, &O, "stubDomains", stub, strlen(stub)), 0);
	const char *up = "[\"8.8.8.8\",\"[2001:db8::1]:5300\",\"1.1.1.1:53\",\"x:1\"]";
	CHECK_INT(load_plan_file(&p, &O, "upstreamNameservers", up, strlen(up)), 0);
	const char *cfg = "{\"ttl\":60,\"nameservers\":[\"9.9.9.9:53\"]}";
	CHECK_INT(load_plan_file(&p, &O, "config.json", cfg, strlen(cfg)), 0);
	CHECK_INT(load_plan_finish(&p, &O), 0);
	const char *n1 = load_plan_get(&p, "/skydns/local/skydns/dns/stub/local/acme/ns1");
	const char *n2 = load_plan_get(&p, "/skydns/local/skydns/dns/stub/local/acme/ns2");
	CHECK(n1 && strstr(n1, "\"10.2.0.1\"") && strstr(n1, "\"port\":53"));
	CHECK(n2 && strstr(n2, "\"port\":5353"));
	CHECK(warned(&p, "acme.local: server 3"));
	CHECK(warned(&p, "bad..zone"));
	CHECK(warned(&p, "upstreamNameservers: server 4"));
	const char *c = load_plan_get(&p, "/skydns/config");
	CHECK(c && strstr(c, "\"ttl\":60"));
	CHECK(c && strstr(c, "\"8.8.8.8:53\"") && strstr(c, "\"[2001:db8::1]:5300\""));
	CHECK(c && !strstr(c, "9.9.9.9")); /* upstreamNameservers replaces config.json's */
	load_plan_clear(&p);
}

TEST(bad_config_left_out)
{
	struct load_plan p = { 0 };
	CHECK_INT(plan(&p, "config.json", "{\"ttl\":\"sixty\"}"), 0);
	CHECK(load_plan_get(&p, "/skydns/config") == NULL);
	CHECK(warned(&p, "config.json:"));
	load_plan_clear(&p);
}

TEST(key_planned_twice_first_wins)
{
	struct load_plan p = { 0 };
	const char *a = "{\"db\":{\"host\":\"10.0.0.1\"}}", *b = "{\"db\":{\"host\":\"10.0.0.2\"}}";
	CHECK_INT(load_plan_file(&p, &O, "records.json", a, strlen(a)), 0);
	CHECK_INT(load_plan_file(&p, &O, "records.json", b, strlen(b)), 0);
	CHECK_INT(load_plan_finish(&p, &O), 0);
	CHECK_INT(p.n, 1);
	CHECK(strstr(load_plan_get(&p, "/skydns/local/skydns/db"), "10.0.0.1") != NULL);
	CHECK(warned(&p, "planned twice"));
	load_plan_clear(&p);
}

int main(void)
{
	RUN(records_single_and_list);
	RUN(records_bad_entries_left_out);
	RUN(hosts_lines);
	RUN(stub_domains_and_upstream);
	RUN(bad_config_left_out);
	RUN(key_planned_twice_first_wins);
	return CHECK_DONE();
}
