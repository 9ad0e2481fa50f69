#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "check.h"
#include "cidr.h"
#include "config.h"
#include "err.h"

static struct sockaddr_storage v4(const char *ip)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *s = (struct sockaddr_in *)&ss;
	s->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &s->sin_addr);
	return ss;
}

static struct sockaddr_storage v6(const char *ip)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
	s->sin6_family = AF_INET6;
	inet_pton(AF_INET6, ip, &s->sin6_addr);
	return ss;
}

static bool in(const struct cidr *l, int n, struct sockaddr_storage ss)
{
	return cidr_match(l, n, (struct sockaddr *)&ss);
}

TEST(parse)
{
	struct cidr c;
	CHECK_INT(cidr_parse("10.0.0.0/8", &c), 0);
	CHECK_INT(c.bits, 104);
	CHECK_INT(cidr_parse("10.1.2.3", &c), 0);
	CHECK_INT(c.bits, 128);
	CHECK_INT(cidr_parse("fd00::/8", &c), 0);
	CHECK_INT(c.bits, 8);
	CHECK_INT(cidr_parse("0.0.0.0/0", &c), 0);
	CHECK_INT(cidr_parse("::/0", &c), 0);
	CHECK_INT(cidr_parse("10.0.0.1/8", &c), SKY_EINVAL); /* host bits set: a typo */
	CHECK_INT(cidr_parse("10.0.0.0/33", &c), SKY_EINVAL);
	CHECK_INT(cidr_parse("10.0.0.0/", &c), SKY_EINVAL);
	CHECK_INT(cidr_parse("10.0.0.0/-1", &c), SKY_EINVAL);
	CHECK_INT(cidr_parse("10.0.0.0/8x", &c), SKY_EINVAL);
	CHECK_INT(cidr_parse("fd00::/129", &c), SKY_EINVAL);
	CHECK_INT(cidr_parse("example.com/8", &c), SKY_EINVAL);
	CHECK_INT(cidr_parse("", &c), SKY_EINVAL);
}

TEST(match)
{
	struct cidr l[3];
	CHECK_INT(cidr_parse("10.0.0.0/8", &l[0]), 0);
	CHECK_INT(cidr_parse("192.168.1.128/25", &l[1]), 0);
	CHECK_INT(cidr_parse("fd00::/8", &l[2]), 0);
	CHECK(in(l, 3, v4("10.255.0.1")));
	CHECK(!in(l, 3, v4("11.0.0.1")));
	CHECK(in(l, 3, v4("192.168.1.200")));
	CHECK(!in(l, 3, v4("192.168.1.127")));
	CHECK(in(l, 3, v6("fd12::1")));
	CHECK(!in(l, 3, v6("fe80::1")));
	CHECK(in(l, 3, v6("::ffff:10.1.1.1"))); /* IPv4 on a dual-stack socket */
	CHECK(!in(l, 3, v6("::10.1.1.1")));
	CHECK(!in(l, 0, v4("10.0.0.1")));
}

TEST(config_keys)
{
	struct config c;
	config_defaults(&c);
	CHECK_INT(c.max_udp_size, 1232);
	const char *inside[] = {"127.0.0.1", "127.9.9.9", "10.96.0.10", "172.31.255.1",
				"192.168.0.1", "100.64.0.1", "169.254.1.1"};
	for (size_t i = 0; i < sizeof inside / sizeof inside[0]; i++)
		CHECK(in(c.allow_recursion, c.nallow_recursion, v4(inside[i])));
	const char *outside[] = {"8.8.8.8", "172.32.0.1", "100.128.0.1", "192.169.0.1"};
	for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++)
		CHECK(!in(c.allow_recursion, c.nallow_recursion, v4(outside[i])));
	CHECK(in(c.allow_recursion, c.nallow_recursion, v6("::1")));
	CHECK(in(c.allow_recursion, c.nallow_recursion, v6("fd00:10::1")));
	CHECK(in(c.allow_recursion, c.nallow_recursion, v6("fe80::1")));
	CHECK(!in(c.allow_recursion, c.nallow_recursion, v6("2001:db8::1")));

	char *argv[] = {"skydns", "-allow-recursion", " 10.0.0.0/8 , 2001:db8::/32", NULL};
	CHECK_INT(config_from_args(&c, 3, argv, stderr), 0);
	CHECK_INT(c.nallow_recursion, 2);
	CHECK(!in(c.allow_recursion, c.nallow_recursion, v4("127.0.0.1")));
	CHECK(in(c.allow_recursion, c.nallow_recursion, v6("2001:db8::1")));
	char *none[] = {"skydns", "-allow-recursion", "", NULL};
	CHECK_INT(config_from_args(&c, 3, none, stderr), 0);
	CHECK_INT(c.nallow_recursion, 0);

	char why[256];
	const char *js = "{\"allow_recursion\":[\"192.168.0.0/16\"],\"max_udp_size\":4096}";
	CHECK_INT(config_apply_json(&c, js, strlen(js), why, sizeof why), 0);
	CHECK_INT(c.nallow_recursion, 1);
	CHECK_INT(c.max_udp_size, 4096);
	js = "{\"allow_recursion\":[\"192.168.0.1/16\"]}";
	CHECK_INT(config_apply_json(&c, js, strlen(js), why, sizeof why), SKY_EPARSE);
	CHECK(strstr(why, "allow_recursion") != NULL);
	js = "{\"max_udp_size\":100}";
	CHECK_INT(config_apply_json(&c, js, strlen(js), why, sizeof why), SKY_EPARSE);
	CHECK_INT(c.max_udp_size, 4096);
}

int main(void)
{
	RUN(parse);
	RUN(match);
	RUN(config_keys);
	return CHECK_DONE();
}
