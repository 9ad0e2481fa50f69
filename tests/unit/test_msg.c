/* test_msg.c - service JSON decoding/encoding, name <-> path <-> key, IPs. */
#include "msg.h"
#include "err.h"
#include "check.h"

#include <stdlib.h>

static int parse(const char *json, struct service *s, const char **why)
{
	return msg_service_parse(json, strlen(json), s, why);
}

TEST(parse_all_fields)
{
	struct service s;
	const char *why = NULL;
	CHECK_INT(parse("{\"host\":\"10.0.0.1\",\"port\":8080,\"priority\":20,\"weight\":30,"
			"\"text\":\"hello\",\"mail\":true,\"ttl\":4294967295,\"targetstrip\":2,"
			"\"group\":\"g1\",\"unknown\":[1,2,{}]}", &s, &why), 0);
	CHECK_STR(s.host, "10.0.0.1");
	CHECK_INT(s.port, 8080);
	CHECK_INT(s.priority, 20);
	CHECK_INT(s.weight, 30);
	CHECK_STR(s.text, "hello");
	CHECK(s.mail);
	CHECK_INT(s.ttl, 4294967295u);
	CHECK_INT(s.targetstrip, 2);
	CHECK_STR(s.group, "g1");
	msg_service_clear(&s);
	CHECK(s.host == NULL);

	CHECK_INT(parse("{}", &s, NULL), 0);
	CHECK(s.host == NULL && s.port == 0 && s.ttl == 0);
	CHECK_INT(parse("{\"host\":\"\",\"text\":\"only txt\",\"port\":null}", &s, NULL), 0);
	CHECK_STR(s.host, "");
	CHECK_INT(s.port, 0);
	msg_service_clear(&s);
}

TEST(parse_case_insensitive)
{
	struct service s;
	CHECK_INT(parse("{\"Host\":\"a.example\",\"PORT\":53,\"TTL\":30,\"Mail\":false,"
			"\"TargetStrip\":1,\"GROUP\":\"x\"}", &s, NULL), 0);
	CHECK_STR(s.host, "a.example");
	CHECK_INT(s.port, 53);
	CHECK_INT(s.ttl, 30);
	CHECK_INT(s.targetstrip, 1);
	CHECK_STR(s.group, "x");
	msg_service_clear(&s);
	/* later key wins, as in Go */
	CHECK_INT(parse("{\"host\":\"one\",\"HOST\":\"two\"}", &s, NULL), 0);
	CHECK_STR(s.host, "two");
	msg_service_clear(&s);
}

TEST(parse_errors)
{
	static const struct { const char *json, *why_has; } bad[] = {
		{ "{\"host\":\"1.2.3.4\",\"ttl\":\"30\"}", "\"ttl\"" },
		{ "{\"port\":\"8080\"}", "\"port\"" },
		{ "{\"port\":70000}", "\"port\"" },
		{ "{\"port\":-1}", "\"port\"" },
		{ "{\"port\":1.5}", "\"port\"" },
		{ "{\"ttl\":-5}", "\"ttl\"" },
		{ "{\"host\":5}", "\"host\"" },
		{ "{\"text\":[\"a\"]}", "\"text\"" },
		{ "{\"mail\":\"true\"}", "\"mail\"" },
		{ "{\"priority\":\"1\"}", "\"priority\"" },
		{ "{\"weight\":{}}", "\"weight\"" },
		{ "{\"targetstrip\":true}", "\"targetstrip\"" },
		{ "{\"group\":1}", "\"group\"" },
		{ "{\"priority\":99999999999}", "\"priority\"" },
		{ "[1,2]", "object" },
		{ "\"host\"", "object" },
		{ "42", "object" },
		{ "{\"host\":", "JSON" },
		{ "garbage", "JSON" },
		{ "", "JSON" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct service s;
		const char *why = NULL;
		int rc = parse(bad[i].json, &s, &why);
		if (rc != SKY_EPARSE || !why || !strstr(why, bad[i].why_has))
			printf("  case %zu (%s): rc=%d why=%s\n", i, bad[i].json, rc, why ? why : "-");
		CHECK_INT(rc, SKY_EPARSE);
		CHECK(why && strstr(why, bad[i].why_has));
		CHECK(s.host == NULL && s.port == 0 && s.text == NULL && s.group == NULL);
	}
	/* error after a string field was set: nothing leaks, out zeroed */
	struct service s;
	CHECK_INT(parse("{\"host\":\"x\",\"group\":\"g\",\"ttl\":\"1\"}", &s, NULL), SKY_EPARSE);
	CHECK(s.host == NULL && s.group == NULL);
	/* length respected: parse only the first bytes */
	CHECK_INT(msg_service_parse("{\"port\":1}trailing", 10, &s, NULL), 0);
	CHECK_INT(s.port, 1);
	msg_service_clear(&s);
}

TEST(json_round_trip)
{
	struct service a = { 0 }, b;
	a.host = "10.1.2.3";
	a.priority = 10;
	a.weight = 10;
	a.ttl = 30;
	char *j = msg_service_json(&a);
	CHECK_STR(j, "{\"host\":\"10.1.2.3\",\"priority\":10,\"weight\":10,\"ttl\":30}");
	free(j);

	struct service full = { .host = "svc.example", .port = 443, .priority = 5, .weight = 7,
				.text = "t \"quoted\"", .mail = true, .ttl = 4294967295u,
				.targetstrip = 1, .group = "g" };
	j = msg_service_json(&full);
	CHECK(j != NULL);
	CHECK_INT(msg_service_parse(j, strlen(j), &b, NULL), 0);
	CHECK(msg_service_equal(&full, &b));
	free(j);
	msg_service_clear(&b);

	struct service empty = { 0 };
	j = msg_service_json(&empty);
	CHECK_STR(j, "{\"host\":\"\"}");
	free(j);

	struct service c;
	CHECK_INT(msg_service_copy(&c, &full), 0);
	CHECK(msg_service_equal(&c, &full));
	CHECK(c.host != full.host);
	c.port = 1;
	CHECK(!msg_service_equal(&c, &full));
	msg_service_clear(&c);
}

TEST(name_path)
{
	char buf[MSG_NAME_MAX];
	CHECK_INT(msg_name_to_path("1.rails.east.skydns.local.", buf, sizeof buf), 25);
	CHECK_STR(buf, "local/skydns/east/rails/1");
	msg_name_to_path("1.rails.east.skydns.local", buf, sizeof buf);
	CHECK_STR(buf, "local/skydns/east/rails/1");
	msg_name_to_path("1.Rails.EAST.SkyDNS.Local.", buf, sizeof buf);
	CHECK_STR(buf, "local/skydns/east/rails/1");
	CHECK_INT(msg_name_to_path(".", buf, sizeof buf), 0);
	CHECK_STR(buf, "");
	CHECK_INT(msg_name_to_path("", buf, sizeof buf), 0);
	msg_name_to_path("1.0.0.10.in-addr.arpa.", buf, sizeof buf);
	CHECK_STR(buf, "arpa/in-addr/10/0/0/1");
	msg_name_to_path("a\\.b.skydns.local.", buf, sizeof buf);
	CHECK_STR(buf, "local/skydns/a\\.b");
	msg_name_to_path("x\\065y.local.", buf, sizeof buf);
	CHECK_STR(buf, "local/x\\065y");
	msg_name_to_path("a/b.local.", buf, sizeof buf);
	CHECK_STR(buf, "local/a/b");
	msg_name_to_path("a..b.", buf, sizeof buf);
	CHECK_STR(buf, "b/a");
	msg_name_to_path("_http._tcp.x.skydns.local.", buf, sizeof buf);
	CHECK_STR(buf, "local/skydns/x/_tcp/_http");
	msg_name_to_path("b.a\\.", buf, sizeof buf); /* escaped final dot stays */
	CHECK_STR(buf, "a\\./b");
	char longname[MSG_NAME_MAX + 8];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	CHECK_INT(msg_name_to_path(longname, buf, sizeof buf), SKY_ERANGE);
	for (size_t i = 1; i < 600; i += 2)
		longname[i] = '.'; /* 300 labels */
	longname[600] = '\0';
	CHECK_INT(msg_name_to_path(longname, buf, sizeof buf), SKY_ERANGE);
	CHECK_INT(msg_name_to_path("abc.def.", buf, 7), SKY_ERANGE);
	CHECK_INT(msg_name_to_path("abc.def.", buf, 8), 7);

	const char *p = "local/skydns/east/rails/1";
	CHECK_INT(msg_path_to_name(p, strlen(p), buf, sizeof buf), 26);
	CHECK_STR(buf, "1.rails.east.skydns.local.");
	CHECK_INT(msg_path_to_name("", 0, buf, sizeof buf), 1);
	CHECK_STR(buf, ".");
	msg_path_to_name("local/skydns/a\\.b", 17, buf, sizeof buf);
	CHECK_STR(buf, "a\\.b.skydns.local.");
	/* only pathlen bytes are read */
	msg_path_to_name("local/skydns/xxx", 12, buf, sizeof buf);
	CHECK_STR(buf, "skydns.local.");
	CHECK_INT(msg_path_to_name(p, strlen(p), buf, 10), SKY_ERANGE);
}

TEST(name_key)
{
	char buf[MSG_NAME_MAX];
	CHECK_INT(msg_name_to_key("skydns", "1.rails.east.skydns.local.", buf, sizeof buf), 33);
	CHECK_STR(buf, "/skydns/local/skydns/east/rails/1");
	msg_name_to_key("/app1/skydns/", "a.local.", buf, sizeof buf);
	CHECK_STR(buf, "/app1/skydns/local/a");
	msg_name_to_key("skydns", ".", buf, sizeof buf);
	CHECK_STR(buf, "/skydns");
	CHECK_INT(msg_name_to_key("skydns", "a.local.", buf, 8), SKY_ERANGE);

	CHECK_STR(msg_key_to_path("skydns", "/skydns/local/skydns/a"), "local/skydns/a");
	CHECK_STR(msg_key_to_path("skydns", "/skydns"), "");
	CHECK_STR(msg_key_to_path("skydns", "/skydns/"), "");
	CHECK_STR(msg_key_to_path("skydns", "/skydns/config"), "config");
	CHECK(msg_key_to_path("skydns", "/skydnsx/a") == NULL);
	CHECK(msg_key_to_path("skydns", "/other/a") == NULL);
	CHECK(msg_key_to_path("skydns", "/sky") == NULL);
	CHECK_STR(msg_key_to_path("app1/skydns", "/app1/skydns/local/a"), "local/a");
	CHECK(msg_key_to_path("app1/skydns", "/app1/skydns2/local/a") == NULL);
}

TEST(parse_ip)
{
	uint8_t ip[16];
	CHECK_INT(msg_parse_ip("10.0.0.1", ip), 4);
	CHECK(ip[0] == 10 && ip[3] == 1);
	CHECK_INT(msg_parse_ip("255.255.255.255", ip), 4);
	CHECK_INT(msg_parse_ip("::ffff:192.168.1.2", ip), 4);
	CHECK(ip[0] == 192 && ip[1] == 168 && ip[2] == 1 && ip[3] == 2);
	CHECK_INT(msg_parse_ip("::FFFF:c0a8:0102", ip), 4);
	CHECK(ip[0] == 192 && ip[3] == 2);
	CHECK_INT(msg_parse_ip("2001:db8::1", ip), 6);
	CHECK(ip[0] == 0x20 && ip[1] == 0x01 && ip[15] == 1);
	CHECK_INT(msg_parse_ip("::1", ip), 6);
	CHECK_INT(msg_parse_ip("::", ip), 6);
	CHECK_INT(msg_parse_ip("::1.2.3.4", ip), 6);
	static const char *bad[] = { "", "256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.4 ",
				     "a.example", "fe80::1%eth0", "1.2.3.-4", "::g", "1..2.3",
				     "10.0.0.1.", NULL };
	for (int i = 0; bad[i]; i++) {
		if (msg_parse_ip(bad[i], ip) != 0)
			printf("  accepted %s\n", bad[i]);
		CHECK_INT(msg_parse_ip(bad[i], ip), 0);
	}
	CHECK_INT(msg_parse_ip(NULL, ip), 0);
}

TEST(parse_reports_unknown_field)
{
	struct service s;
	char unknown[16];
	const char *j = "{\"hots\":\"10.0.0.1\",\"HOST\":\"10.0.0.2\",\"prot\":1}";
	CHECK_INT(msg_service_parse_ex(j, strlen(j), &s, NULL, unknown, sizeof unknown), 0);
	CHECK_STR(s.host, "10.0.0.2"); /* the rest is served */
	CHECK_STR(unknown, "hots");    /* the first unknown member */
	msg_service_clear(&s);
	j = "{\"host\":\"a.example\",\"Port\":53}";
	CHECK_INT(msg_service_parse_ex(j, strlen(j), &s, NULL, unknown, sizeof unknown), 0);
	CHECK_STR(unknown, "");
	msg_service_clear(&s);
	j = "{\"averyveryverylongfieldname\":1}";
	CHECK_INT(msg_service_parse_ex(j, strlen(j), &s, NULL, unknown, sizeof unknown), 0);
	CHECK_STR(unknown, "averyveryverylo"); /* cut to the buffer */
	msg_service_clear(&s);
}

int main(void)
{
	RUN(parse_reports_unknown_field);
	RUN(parse_all_fields);
	RUN(parse_case_insensitive);
	RUN(parse_errors);
	RUN(json_round_trip);
	RUN(name_path);
	RUN(name_key);
	RUN(parse_ip);
	return CHECK_DONE();
}
