/* test_config.c - defaults, env < flags < etcd JSON, validation, -h. */
#include "config.h"
#include "err.h"
#include "check.h"

#include <stdarg.h>
#include <stdlib.h>

static const char *const envs[] = {
	"SKYDNS_ADDR", "SKYDNS_DOMAIN", "SKYDNS_NAMESERVERS", "SKYDNS_PATH_PREFIX", "SKYDNS_NDOTS",
	"SKYDNS_SYSTEMD", "ETCD_MACHINES", "ETCD_CACERT", "ETCD_TLSPEM", "ETCD_TLSKEY",
	"ETCD_USERNAME", "ETCD_PASSWORD", "PROMETHEUS_PORT", "PROMETHEUS_PATH",
	"PROMETHEUS_NAMESPACE", "PROMETHEUS_SUBSYSTEM", NULL,
};

static void clear_env(void)
{
	for (int i = 0; envs[i]; i++)
		unsetenv(envs[i]);
}

/* Run config_from_args on a NULL-terminated flag list; stderr text in errbuf. */
static int args(struct config *c, char *errbuf, size_t cap, ...)
{
	char *argv[80] = { "skydns" };
	int argc = 1;
	va_list ap;
	va_start(ap, cap);
	for (char *a; argc < 79 && (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	FILE *err = tmpfile();
	int rc = config_from_args(c, argc, argv, err);
	rewind(err);
	size_t n = fread(errbuf, 1, cap - 1, err);
	errbuf[n] = '\0';
	fclose(err);
	return rc;
}

static int json(struct config *c, const char *j, char *why, size_t cap)
{
	return config_apply_json(c, j, strlen(j), why, cap);
}

TEST(defaults)
{
	struct config c;
	config_defaults(&c);
	CHECK_STR(c.dns_addr, "127.0.0.1:53");
	CHECK_STR(c.domain, "skydns.local.");
	CHECK_STR(c.hostmaster, "hostmaster.skydns.local.");
	CHECK_STR(c.local, "");
	CHECK(c.round_robin && c.ns_rotate && !c.no_rec && !c.systemd && !c.etcd3);
	CHECK_INT(c.ttl, 3600);
	CHECK_INT(c.min_ttl, 60);
	CHECK_INT(c.priority, 10);
	CHECK_INT(c.ndots, 2);
	CHECK_INT(c.read_timeout_ms, 2000);
	CHECK_INT(c.rcache, 0);
	CHECK_INT(c.rcache_ttl, 60);
	CHECK_INT(c.scache, 10000);
	CHECK_INT(c.nnameservers, 0);
	CHECK_STR(c.path_prefix, "skydns");
	CHECK_INT(c.nmachines, 1);
	CHECK_STR(c.machines[0], "http://127.0.0.1:2379");
	CHECK_STR(c.metrics_addr, "");
	CHECK_STR(c.metrics_path, "/metrics");
	CHECK_STR(c.metrics_namespace, "skydns");
	CHECK_STR(c.metrics_subsystem, "skydns");
	CHECK_INT(c.ready_max_age, 0);
	CHECK_INT(c.lameduck_ms, 5000);
	CHECK_INT(c.workers, 0);
}

TEST(precedence)
{
	char e[4096], why[256];
	struct config c;
	clear_env();
	setenv("SKYDNS_DOMAIN", "env.example.", 1);
	setenv("SKYDNS_NDOTS", "4", 1);
	setenv("ETCD_MACHINES", "http://127.0.0.1:1111,http://127.0.0.1:2222", 1);
	setenv("SKYDNS_SYSTEMD", "true", 1);
	config_defaults(&c);
	CHECK_INT(args(&c, e, sizeof e, "-domain", "flag.example.", NULL), 0);
	CHECK_STR(c.domain, "flag.example."); /* flag beats env */
	CHECK_INT(c.ndots, 4);                /* env beats default */
	CHECK(c.systemd);
	CHECK_INT(c.nmachines, 2);
	CHECK_STR(c.machines[1], "http://127.0.0.1:2222");
	CHECK_INT(json(&c, "{\"domain\":\"json.example.\",\"ndot\":5}", why, sizeof why), 0);
	CHECK_STR(c.domain, "json.example."); /* JSON beats flag */
	CHECK_INT(c.ndots, 5);

	config_defaults(&c);
	CHECK_INT(args(&c, e, sizeof e, "-systemd=false", NULL), 0);
	CHECK_STR(c.domain, "env.example.");
	CHECK(!c.systemd);

	/* a bad env value is an error naming the variable */
	setenv("SKYDNS_NDOTS", "many", 1);
	config_defaults(&c);
	CHECK_INT(args(&c, e, sizeof e, NULL), SKY_EINVAL);
	CHECK(strstr(e, "SKYDNS_NDOTS") != NULL);
	clear_env();
}

TEST(flag_forms)
{
	char e[4096];
	struct config c;
	clear_env();
	config_defaults(&c);
	CHECK_INT(args(&c, e, sizeof e, "-addr", "127.0.0.1:5353", "--domain=Cluster.Local",
		       "-no-rec", "-round-robin=false", "--ns-rotate=0", "-rtimeout", "1m30s",
		       "-nameservers", "8.8.8.8:53, [2001:db8::1]:5353", "-machines=http://a:1",
		       "-path-prefix", "app1/skydns", "-rcache", "100", "-rcache-ttl=30",
		       "-scache", "5", "-ndots", "3", "-etcd3", "-stubzones", "-verbose",
		       "-local", "x.y", "-hostmaster", "me@example.org", "-dnssec", "Kfoo",
		       "-ca-cert", "/ca", "-tls-pem", "/pem", "-tls-key", "/key", "-username",
		       "u", "-password", "p", "-metrics-addr", ":9153", "-metrics-path", "/m",
		       "-health-addr", "127.0.0.1:8080", "-ready-max-age", "60", "-user",
		       "nobody", "-workers", "4", "-systemd", NULL), 0);
	CHECK_STR(e, "");
	CHECK_STR(c.dns_addr, "127.0.0.1:5353");
	CHECK(c.no_rec && !c.round_robin && !c.ns_rotate && c.etcd3 && c.stubzones && c.verbose);
	CHECK(c.systemd);
	CHECK_INT(c.read_timeout_ms, 90000);
	CHECK_INT(c.nnameservers, 2);
	CHECK_STR(c.nameservers[0], "8.8.8.8:53");
	CHECK_STR(c.nameservers[1], "[2001:db8::1]:5353");
	CHECK_INT(c.nmachines, 1);
	CHECK_STR(c.machines[0], "http://a:1");
	CHECK_STR(c.path_prefix, "app1/skydns");
	CHECK_INT(c.rcache, 100);
	CHECK_INT(c.rcache_ttl, 30);
	CHECK_INT(c.scache, 5);
	CHECK_INT(c.ndots, 3);
	CHECK_STR(c.dnssec, "Kfoo");
	CHECK_STR(c.ca_cert, "/ca");
	CHECK_STR(c.tls_pem, "/pem");
	CHECK_STR(c.tls_key, "/key");
	CHECK_STR(c.username, "u");
	CHECK_STR(c.password, "p");
	CHECK_STR(c.metrics_addr, "0.0.0.0:9153");
	CHECK_STR(c.metrics_path, "/m");
	CHECK_STR(c.health_addr, "127.0.0.1:8080");
	CHECK_INT(c.ready_max_age, 60);
	CHECK_STR(c.user, "nobody");
	CHECK_INT(c.workers, 4);
	config_finish(&c);
	CHECK_STR(c.domain, "cluster.local.");
	CHECK_STR(c.local, "x.y.");
	CHECK_STR(c.hostmaster, "me.example.org.");
	CHECK_INT(c.nnameservers, 2); /* explicit: resolv.conf not consulted */

	CHECK_INT(args(&c, e, sizeof e, "-rtimeout=250ms", "-addr=[::1]:53", NULL), 0);
	CHECK_INT(c.read_timeout_ms, 250);
	CHECK_STR(c.dns_addr, "[::1]:53");
}

TEST(flag_errors)
{
	static const char *const bad[][3] = {
		{ "-addr", "localhost", "-addr" }, { "-addr", "1.2.3.4:70000", "-addr" },
		{ "-addr", "::1:53", "-addr" },    { "-addr", "1.2.3.4", "-addr" },
		{ "-ndots", "x", "-ndots" },       { "-ndots", "1.5", "-ndots" },
		{ "-rtimeout", "2", "-rtimeout" }, { "-rtimeout", "-1s", "-rtimeout" },
		{ "-rcache-ttl", "-1", "-rcache-ttl" },
		{ "-nameservers", "8.8.8.8", "-nameservers" },
		{ "-no-rec=maybe", NULL, "-no-rec" },
		{ "-metrics-addr", "tcp://1.2.3.4:9", "-metrics-addr" },
		{ "-metrics-path", "metrics", "-metrics-path" },
		{ "-workers", "100000", "-workers" },
		{ "-bogus", NULL, "-bogus" },
		{ "-domain", NULL, "-domain" }, /* missing value */
		{ "stray", NULL, "stray" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char e[4096];
		struct config c;
		clear_env();
		config_defaults(&c);
		int rc = args(&c, e, sizeof e, bad[i][0], bad[i][1], NULL);
		if (rc != SKY_EINVAL || !strstr(e, bad[i][2]))
			printf("  case %s %s: rc=%d err=%s\n", bad[i][0],
			       bad[i][1] ? bad[i][1] : "", rc, e);
		CHECK_INT(rc, SKY_EINVAL);
		CHECK(strstr(e, bad[i][2]) != NULL);
	}
}

TEST(prometheus_env)
{
	char e[4096];
	struct config c;
	clear_env();
	setenv("PROMETHEUS_PORT", "tcp://10.0.0.1:9090", 1);
	setenv("PROMETHEUS_PATH", "/prom", 1);
	setenv("PROMETHEUS_NAMESPACE", "ns", 1);
	setenv("PROMETHEUS_SUBSYSTEM", "sub", 1);
	config_defaults(&c);
	CHECK_INT(args(&c, e, sizeof e, NULL), 0); /* not fatal */
	CHECK_STR(c.metrics_addr, "");
	CHECK(strstr(e, "PROMETHEUS_PORT") && strstr(e, "ignoring"));
	CHECK_STR(c.metrics_path, "/prom");
	CHECK_STR(c.metrics_namespace, "ns");
	CHECK_STR(c.metrics_subsystem, "sub");
	setenv("PROMETHEUS_PORT", "127.0.0.1:9090", 1); /* env takes a port only */
	config_defaults(&c);
	CHECK_INT(args(&c, e, sizeof e, NULL), 0);
	CHECK_STR(c.metrics_addr, "");
	setenv("PROMETHEUS_PORT", "9090", 1);
	config_defaults(&c);
	CHECK_INT(args(&c, e, sizeof e, NULL), 0);
	CHECK_STR(c.metrics_addr, "0.0.0.0:9090");
	CHECK_STR(e, "");
	/* the flag still wins over the env */
	CHECK_INT(args(&c, e, sizeof e, "-metrics-addr", "127.0.0.1:9999", NULL), 0);
	CHECK_STR(c.metrics_addr, "127.0.0.1:9999");
	clear_env();
}

TEST(help_and_version)
{
	static const char *const flags[] = {
		"-addr", "-domain", "-machines", "-etcd3", "-path-prefix", "-nameservers",
		"-no-rec", "-round-robin", "-ns-rotate", "-rtimeout", "-rcache", "-rcache-ttl",
		"-scache", "-ndots", "-dnssec", "-hostmaster", "-local", "-systemd", "-stubzones",
		"-verbose", "-ca-cert", "-tls-pem", "-tls-key", "-username", "-password",
		"-version", "-h", "-metrics-addr", "-metrics-path", "-health-addr",
		"-ready-max-age", "-lameduck", "-tcp-timeout", "-tcp-idle-timeout",
		"-tcp-max-per-client", "SKYDNS_LAMEDUCK", "-user", "-workers", "SKYDNS_ADDR", "SKYDNS_DOMAIN",
		"SKYDNS_NAMESERVERS", "SKYDNS_PATH_PREFIX", "SKYDNS_NDOTS", "SKYDNS_SYSTEMD",
		"ETCD_MACHINES", "ETCD_CACERT", "ETCD_TLSPEM", "ETCD_TLSKEY", "ETCD_USERNAME",
		"ETCD_PASSWORD", "PROMETHEUS_PORT", "PROMETHEUS_PATH", "PROMETHEUS_NAMESPACE",
		"PROMETHEUS_SUBSYSTEM", "127.0.0.1:53", "http://127.0.0.1:2379",
		"hostmaster@skydns.local.", "\"ttl\"", "\"min_ttl\"", "\"priority\"", NULL,
	};
	static char e[16384];
	struct config c;
	clear_env();
	config_defaults(&c);
	CHECK_INT(args(&c, e, sizeof e, "-h", NULL), 1);
	for (int i = 0; flags[i]; i++) {
		char want[64];
		snprintf(want, sizeof want, "%s%s", flags[i], flags[i][0] == '-' ? "\n" : "");
		char want2[64];
		snprintf(want2, sizeof want2, "%s ", flags[i]);
		if (!strstr(e, want) && !strstr(e, want2)) {
			printf("  -h lacks %s\n", flags[i]);
			CHECK(0);
		}
	}
	CHECK_INT(args(&c, e, sizeof e, "--help", NULL), 1);
	CHECK(strstr(e, "-addr") != NULL);
	CHECK_INT(args(&c, e, sizeof e, "-version", NULL), 1);
}

TEST(json_all_keys)
{
	char why[256];
	struct config c;
	config_defaults(&c);
	const char *j = "{\"dns_addr\":\"127.0.0.1:1053\",\"domain\":\"Example.ORG\","
			"\"hostmaster\":\"root@example.org\",\"local\":\"n1.example.org\","
			"\"dnssec\":\"Kexample.org.+008+1234\",\"round_robin\":false,"
			"\"ns_rotate\":false,\"nameservers\":[\"1.1.1.1:53\",\"[::1]:53\"],"
			"\"no_rec\":true,\"read_timeout\":500000000,\"priority\":20,\"ttl\":30,"
			"\"min_ttl\":5,\"scache\":7,\"rcache\":8,\"rcache_ttl\":9,\"ndot\":1,"
			"\"systemd\":true,\"etcd3\":true}";
	CHECK_INT(json(&c, j, why, sizeof why), 0);
	CHECK_STR(why, "");
	CHECK_STR(c.dns_addr, "127.0.0.1:1053");
	CHECK(!c.round_robin && !c.ns_rotate && c.no_rec && c.systemd && c.etcd3);
	CHECK_INT(c.nnameservers, 2);
	CHECK_STR(c.nameservers[1], "[::1]:53");
	CHECK_INT(c.read_timeout_ms, 500);
	CHECK_INT(c.priority, 20);
	CHECK_INT(c.ttl, 30);
	CHECK_INT(c.min_ttl, 5);
	CHECK_INT(c.scache, 7);
	CHECK_INT(c.rcache, 8);
	CHECK_INT(c.rcache_ttl, 9);
	CHECK_INT(c.ndots, 1);
	config_finish(&c);
	CHECK_STR(c.domain, "example.org.");
	CHECK_STR(c.hostmaster, "root.example.org.");
	CHECK_STR(c.local, "n1.example.org.");

	/* aliases from the SkyDNS README, case-insensitive names, null */
	config_defaults(&c);
	CHECK_INT(json(&c, "{\"no-rec\":true,\"rcache-ttl\":11,\"ndots\":6,\"TTL\":77,"
			   "\"Domain\":\"a.b.\",\"local\":null}", why, sizeof why), 0);
	CHECK(c.no_rec);
	CHECK_INT(c.rcache_ttl, 11);
	CHECK_INT(c.ndots, 6);
	CHECK_INT(c.ttl, 77);
	CHECK_STR(c.domain, "a.b.");
	CHECK_INT(json(&c, "{}", why, sizeof why), 0);
	/* the README's "path-prefix" is accepted and never moves the prefix */
	CHECK_INT(json(&c, "{\"path-prefix\":\"mydns\",\"ttl\":78}", why, sizeof why), 0);
	CHECK_INT(c.ttl, 78);
	CHECK_STR(c.path_prefix, "skydns");
	CHECK_INT(json(&c, "{\"path_prefix\":\"skydns\"}", why, sizeof why), 0);
	CHECK_STR(c.path_prefix, "skydns");

	/* SetDefaults: zero values come back as defaults */
	CHECK_INT(json(&c, "{\"ttl\":0,\"min_ttl\":0,\"rcache\":-3,\"read_timeout\":0}", why,
		       sizeof why), 0);
	config_finish(&c);
	CHECK_INT(c.ttl, 3600);
	CHECK_INT(c.min_ttl, 60);
	CHECK_INT(c.rcache, 0);
	CHECK_INT(c.read_timeout_ms, 2000);
}

TEST(json_errors_leave_config)
{
	static const char *const bad[][2] = {
		{ "{\"ttl\":\"30\"}", "\"ttl\"" },
		{ "{\"domain\":\"ok.\",\"ttl\":\"30\"}", "\"ttl\"" },
		{ "{\"ttl\":-1}", "\"ttl\"" },
		{ "{\"ttl\":1.5}", "\"ttl\"" },
		{ "{\"priority\":70000}", "\"priority\"" },
		{ "{\"dns_addr\":8080}", "\"dns_addr\"" },
		{ "{\"dns_addr\":\"127.0.0.1:70000\"}", "\"dns_addr\"" },
		{ "{\"dns_addr\":\"127.0.0.1\"}", "\"dns_addr\"" },
		{ "{\"nameservers\":\"8.8.8.8:53\"}", "\"nameservers\"" },
		{ "{\"nameservers\":[\"8.8.8.8\"]}", "\"nameservers\"" },
		{ "{\"nameservers\":[53]}", "\"nameservers\"" },
		{ "{\"no_rec\":\"true\"}", "\"no_rec\"" },
		{ "{\"read_timeout\":\"2s\"}", "\"read_timeout\"" },
		{ "{\"ndot\":[]}", "\"ndot\"" },
		{ "{\"port\":\"8080\"}", "\"port\"" },
		{ "{\"rcache-ttl\":\"x\"}", "\"rcache-ttl\"" },
		{ "{\"nsrotate\":true}", "\"nsrotate\"" },
		{ "{\"machines\":\"http://x\"}", "\"machines\"" },
		{ "{\"path-prefix\":1}", "\"path-prefix\"" },
		{ "[1]", "object" },
		{ "\"str\"", "object" },
		{ "{\"ttl\":", "JSON" },
		{ "garbage", "JSON" },
		{ "", "JSON" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct config c, before;
		char why[256];
		config_defaults(&c);
		strcpy(c.domain, "before.example.");
		before = c;
		int rc = json(&c, bad[i][0], why, sizeof why);
		if (rc != SKY_EPARSE || !strstr(why, bad[i][1]))
			printf("  case %s: rc=%d why=%s\n", bad[i][0], rc, why);
		CHECK_INT(rc, SKY_EPARSE);
		CHECK(strstr(why, bad[i][1]) != NULL);
		CHECK(memcmp(&c, &before, sizeof c) == 0);
	}
}

TEST(finish_and_diff)
{
	struct config a, b;
	char out[512];
	config_defaults(&a);
	config_finish(&a);
	/* /etc/resolv.conf nameservers when none were given */
	FILE *f = fopen("/etc/resolv.conf", "r");
	int want = 0;
	if (f) {
		char line[512], ip[128];
		while (fgets(line, sizeof line, f))
			if (sscanf(line, " nameserver %127s", ip) == 1 && !strchr(ip, '%'))
				want++;
		fclose(f);
	}
	CHECK_INT(a.nnameservers, want > CONFIG_MAX_NS ? CONFIG_MAX_NS : want);
	for (int i = 0; i < a.nnameservers; i++)
		CHECK(strstr(a.nameservers[i], ":53") != NULL);

	b = a;
	config_diff_restart(&a, &b, out, sizeof out);
	CHECK_STR(out, "");
	b.ttl = 1;
	strcpy(b.domain, "other.");
	b.no_rec = true;
	config_diff_restart(&a, &b, out, sizeof out);
	CHECK_STR(out, ""); /* live keys */
	strcpy(b.dns_addr, "127.0.0.1:5353");
	b.systemd = true;
	b.etcd3 = true;
	b.nmachines = 2;
	strcpy(b.path_prefix, "x");
	strcpy(b.tls_key, "/k");
	strcpy(b.password, "pw");
	strcpy(b.metrics_addr, "0.0.0.0:1");
	strcpy(b.health_addr, "0.0.0.0:2");
	config_diff_restart(&a, &b, out, sizeof out);
	static const char *const names[] = { "dns_addr", "systemd", "etcd3", "machines",
					     "path-prefix", "tls-key", "password",
					     "metrics-addr", "health-addr", NULL };
	for (int i = 0; names[i]; i++) {
		if (!strstr(out, names[i]))
			printf("  diff lacks %s: %s\n", names[i], out);
		CHECK(strstr(out, names[i]) != NULL);
	}
	char small[10];
	config_diff_restart(&a, &b, small, sizeof small);
	CHECK(strlen(small) < sizeof small);
}

TEST(rrl_keys)
{
	char e[4096], why[256];
	struct config c;
	config_defaults(&c);
	/* off by default (in-cluster), Knot-like slip and BIND/NSD prefixes */
	CHECK_INT(c.rrl_rate, 0);
	CHECK_INT(c.rrl_slip, 2);
	CHECK(!c.rrl_log_only);
	CHECK_INT(c.rrl_ipv4_prefix, 24);
	CHECK_INT(c.rrl_ipv6_prefix, 56);
	CHECK_INT(c.rrl_table_size, 65536);
	setenv("SKYDNS_RRL_RATE", "5", 1);
	CHECK_INT(args(&c, e, sizeof e, "-rrl-slip", "0", "-rrl-log-only", "-rrl-ipv4-prefix",
		       "32", "-rrl-table-size", "16", NULL), 0);
	unsetenv("SKYDNS_RRL_RATE");
	CHECK_INT(c.rrl_rate, 5);
	CHECK_INT(c.rrl_slip, 0);
	CHECK(c.rrl_log_only);
	CHECK_INT(c.rrl_ipv4_prefix, 32);
	CHECK_INT(c.rrl_table_size, 16);
	CHECK_INT(json(&c, "{\"rrl_rate\":20,\"rrl_slip\":3,\"rrl_log_only\":false,"
			   "\"rrl_ipv6_prefix\":64}", why, sizeof why), 0);
	CHECK_INT(c.rrl_rate, 20);
	CHECK_INT(c.rrl_slip, 3);
	CHECK(!c.rrl_log_only);
	CHECK_INT(c.rrl_ipv6_prefix, 64);
	CHECK_INT(args(&c, e, sizeof e, "-rrl-slip", "101", NULL), SKY_EINVAL);
	CHECK(strstr(e, "rrl-slip") != NULL);
	CHECK_INT(args(&c, e, sizeof e, "-rrl-rate", "-1", NULL), SKY_EINVAL);
	CHECK_INT(json(&c, "{\"rrl_ipv4_prefix\":33}", why, sizeof why), SKY_EPARSE);
	CHECK(strstr(why, "rrl_ipv4_prefix") != NULL);
	/* the table is sized once; the rest applies live */
	struct config b = c;
	b.rrl_rate = 1;
	b.rrl_slip = 1;
	b.rrl_log_only = true;
	char out[256];
	config_diff_restart(&c, &b, out, sizeof out);
	CHECK_STR(out, "");
	b.rrl_table_size = 1024;
	config_diff_restart(&c, &b, out, sizeof out);
	CHECK_STR(out, "rrl_table_size");
}

int main(void)
{
	RUN(defaults);
	RUN(precedence);
	RUN(flag_forms);
	RUN(flag_errors);
	RUN(prometheus_env);
	RUN(help_and_version);
	RUN(json_all_keys);
	RUN(json_errors_leave_config);
	RUN(finish_and_diff);
	RUN(rrl_keys);
	return CHECK_DONE();
}
