/* test_marker.c - kube2sky's zone marker: the key, the JSON kube2sky
 * writes, and what skydns's mirror accepts (marker.h). */
#include <string.h>

#include "check.h"
#include "err.h"
#include "marker.h"

TEST(key_names_the_zone_without_its_dot)
{
	char k[128];
	CHECK_INT(marker_key("skydns", "cluster.local.", k, sizeof k), 30);
	CHECK_STR(k, "/skydns/kube2sky/cluster.local");
	CHECK(marker_key("/skydns/", "Cluster.Local.", k, sizeof k) > 0);
	CHECK_STR(k, "/skydns/kube2sky/cluster.local");
	CHECK_INT(marker_key("skydns", "cluster.local", k, sizeof k), SKY_EINVAL); /* not absolute */
	CHECK_INT(marker_key("skydns", "a..b.", k, sizeof k), SKY_EINVAL);
	CHECK_INT(marker_key("skydns", "cluster.local.", k, 10), SKY_ERANGE);
}

TEST(format_is_the_fixed_contract)
{
	struct marker m = {.zone = "cluster.local.", .schema = "1.1.0", .synced = 1764770000,
			   .id = "0123456789abcdef"};
	char v[256];
	int n = marker_format(&m, v, sizeof v);
	CHECK_STR(v, "{\"zone\":\"cluster.local.\",\"schema\":\"1.1.0\",\"synced\":1764770000,"
		     "\"id\":\"0123456789abcdef\"}");
	CHECK_INT(n, (int)strlen(v));
	CHECK_INT(marker_format(&m, v, 20), SKY_ERANGE);
	snprintf(m.id, sizeof m.id, "not-hex");
	CHECK_INT(marker_format(&m, v, sizeof v), SKY_EINVAL);
	snprintf(m.id, sizeof m.id, "ab");
	snprintf(m.zone, sizeof m.zone, "bad\"zone.");
	CHECK_INT(marker_format(&m, v, sizeof v), SKY_EINVAL);
}

TEST(parse_round_trip)
{
	struct marker m = {.zone = "cluster.local.", .schema = "1.1.0", .synced = 1764770000,
			   .id = "00ff00ff00ff00ff"}, got;
	char v[256];
	const char *why = "x";
	CHECK(marker_format(&m, v, sizeof v) > 0);
	CHECK_INT(marker_parse("kube2sky/cluster.local", v, strlen(v), &got, &why), 0);
	CHECK_STR(got.zone, "cluster.local.");
	CHECK_STR(got.schema, "1.1.0");
	CHECK_STR(got.id, "00ff00ff00ff00ff");
	CHECK(got.synced == 1764770000);
	CHECK(why == NULL);
	/* case is folded; only the zone is required */
	const char *min = "{\"zone\":\"Cluster.Local.\"}";
	CHECK_INT(marker_parse("kube2sky/cluster.local", min, strlen(min), &got, &why), 0);
	CHECK_STR(got.zone, "cluster.local.");
	CHECK(got.synced == 0 && got.id[0] == '\0');
}

TEST(parse_rejects_what_is_not_a_marker)
{
	static const struct { const char *path, *json, *why; } bad[] = {
		{"kube2sky/cluster.local", "nope", "not JSON"},
		{"kube2sky/cluster.local", "[1]", "not a JSON object"},
		{"kube2sky/cluster.local", "{}", "\"zone\" is not a domain name"},
		{"kube2sky/cluster.local", "{\"zone\":\"cluster.local\"}", "\"zone\" is not a domain name"},
		{"kube2sky/cluster.local", "{\"zone\":\"other.local.\"}", "\"zone\" does not match the key"},
		{"kube2sky/cluster.local", "{\"zone\":\"cluster.local.\",\"synced\":\"now\"}",
		 "\"synced\" is not unix seconds"},
		{"kube2sky/cluster.local", "{\"zone\":\"cluster.local.\",\"id\":\"xyz\"}",
		 "\"id\" is not up to 16 hex digits"},
		{"kube2sky/cluster.local", "{\"zone\":\"cluster.local.\",\"schema\":1}",
		 "\"schema\" is not a short string"},
		{"kube2sky", "{\"zone\":\"cluster.local.\"}", "not a marker key (kube2sky/<zone>)"},
		{"kube2sky/a/b", "{\"zone\":\"cluster.local.\"}", "not a marker key (kube2sky/<zone>)"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct marker got;
		const char *why = NULL;
		CHECK_INT(marker_parse(bad[i].path, bad[i].json, strlen(bad[i].json), &got, &why),
			  SKY_EPARSE);
		CHECK_STR(why ? why : "(null)", bad[i].why);
		CHECK_STR(got.zone, "");
	}
}

TEST(marker_paths)
{
	CHECK(marker_is_path("kube2sky"));
	CHECK(marker_is_path("kube2sky/cluster.local"));
	CHECK(!marker_is_path("kube2skyx/a"));
	CHECK(marker_is_key("kube2sky/cluster.local"));
	CHECK(!marker_is_key("kube2sky/cluster.local/leader"));
	CHECK(!marker_is_key("kube2sky"));
	CHECK(!marker_is_key("kube2sky/"));
	char lk[64];
	CHECK_INT(marker_leader_key("skydns", "cluster.local.", lk, sizeof lk),
		  (int)strlen("/skydns/kube2sky/cluster.local/leader"));
	CHECK(strcmp(lk, "/skydns/kube2sky/cluster.local/leader") == 0);
	CHECK_INT(marker_leader_key("skydns", "cluster.local.", lk, 30), SKY_ERANGE);
	CHECK(!marker_is_path("local/cluster/svc"));
	CHECK(!marker_is_path("config"));
}

int main(void)
{
	RUN(key_names_the_zone_without_its_dot);
	RUN(format_is_the_fixed_contract);
	RUN(parse_round_trip);
	RUN(parse_rejects_what_is_not_a_marker);
	RUN(marker_paths);
	return CHECK_DONE();
}
