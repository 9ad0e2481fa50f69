/* test_health.c - status values, status key addresses, the DOWN set. */
#include "health.h"
#include "check.h"
#include "err.h"
#include "msg.h"

#include <string.h>

static bool down_of(const char *v, int *rc)
{
	bool d = false;
	const char *why = NULL;
	*rc = health_parse_status(v, strlen(v), &d, &why);
	return d;
}

TEST(status_values)
{
	int rc;
	CHECK(down_of("{\"status\":\"DOWN\"}", &rc) && rc == 0);
	CHECK(down_of("{\"status\":\"down\",\"checker\":\"a\"}", &rc) && rc == 0);
	CHECK(!down_of("{\"status\":\"UP\"}", &rc) && rc == 0);
	const char *bad[] = { "", "DOWN", "{}", "{\"status\":1}", "{\"status\":\"sick\"}", "[1]" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		down_of(bad[i], &rc);
		CHECK_INT(rc, SKY_EINVAL);
	}
}

TEST(key_addresses_and_the_set)
{
	struct health_addr a[3];
	CHECK_INT(health_key_addr("monitor/status/10.0.0.2", &a[0]), 0);
	CHECK_INT(health_key_addr("monitor/status/2001:0db8::0:1", &a[1]), 0);
	CHECK_INT(health_key_addr("monitor/status/::ffff:10.0.0.9", &a[2]), 0); /* mapped: v4 */
	CHECK_INT(a[2].fam, 4);
	struct health_addr x;
	CHECK_INT(health_key_addr("monitor/status/host.example", &x), SKY_EINVAL);
	CHECK_INT(health_key_addr("monitor/status/", &x), SKY_EINVAL);
	struct health *h = health_new(a, 3);
	CHECK(h != NULL);
	CHECK_INT((int)health_count(h), 3);
	uint8_t ip[16];
	memset(ip, 0xee, sizeof ip); /* bytes after a v4 address are not looked at */
	CHECK_INT(msg_parse_ip("10.0.0.2", ip), 4);
	CHECK(health_is_down(h, 4, ip));
	CHECK_INT(msg_parse_ip("10.0.0.9", ip), 4);
	CHECK(health_is_down(h, 4, ip));
	CHECK_INT(msg_parse_ip("10.0.0.3", ip), 4);
	CHECK(!health_is_down(h, 4, ip));
	CHECK_INT(msg_parse_ip("2001:db8::1", ip), 6);
	CHECK(health_is_down(h, 6, ip));
	CHECK(!health_is_down(h, 0, ip));
	CHECK(!health_is_down(NULL, 6, ip));
	health_ref(h);
	health_unref(h);
	health_unref(h);
	struct health *e = health_new(NULL, 0);
	CHECK_INT((int)health_count(e), 0);
	CHECK(!health_is_down(e, 6, ip));
	health_unref(e);
	health_unref(NULL);
}

int main(void)
{
	RUN(status_values);
	RUN(key_addresses_and_the_set);
	return CHECK_DONE();
}
