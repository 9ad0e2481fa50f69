/* config.c - one table of configuration keys drives compiled defaults,
 * environment, flags, etcd JSON, -h and the restart diff.
 *
 * SkyDNS compatibility notes (server/config.go, main.go):
 *  - flags are Go `flag` style: single dash, "-x value" or "-x=value",
 *    booleans only as "-x" or "-x=bool"; env values act as flag defaults.
 *  - the JSON at /<prefix>/config is decoded by encoding/json, so key names
 *    match case-insensitively and null leaves a value alone. SkyDNS ignored
 *    unknown keys, which hid the README's "no-rec"/"rcache-ttl" typos
 *    (issues #204, #208); we accept those spellings, and the README's
 *    "path-prefix" without effect (is_prefix_key), and reject the rest.
 *  - read_timeout in JSON is a Go time.Duration, i.e. nanoseconds.
 *  - SetDefaults() turns zero values back into defaults (config_finish).
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "log.h"
#include "manpage.h"
#include "msg.h"
#include "netaddr.h"


enum ctype {
	CT_STR,      /* plain string */
	CT_ADDR,     /* "IP:port" or "[v6]:port" */
	CT_LISTEN,   /* like CT_ADDR, plus "port" and ":port" meaning 0.0.0.0:port */
	CT_URLPATH,  /* HTTP path, must start with '/' */
	CT_BOOL,
	CT_INT,      /* int, range min..max */
	CT_U32,      /* uint32_t, range min..max */
	CT_DURATION, /* int milliseconds; text is a Go duration, JSON nanoseconds */
	CT_NSLIST,   /* nameservers: comma list / JSON array of IP:port */
	CT_MACHINES, /* etcd URLs: comma list */
	CT_CIDRS,    /* address prefixes: comma list / JSON array of "IP/len" */
	CT_HELP,     /* -h: print usage */
	CT_VERSION,  /* -version: print the version */
};

enum {
	K_RESTART = 1,  /* cannot change while running */
	K_LENIENT = 2,  /* a bad env value is ignored with a warning */
	K_ENVPORT = 4,  /* env value must be a bare port (PROMETHEUS_PORT) */
	K_SECRET = 8,   /* never print the value (usage shows no default) */
};

struct key {
	const char *json, *json_alias; /* NULL: not settable in etcd JSON */
	const char *flag;              /* without the dash; NULL: no flag */
	const char *env;
	enum ctype type;
	size_t off, size;
	double min, max;               /* CT_INT / CT_U32 */
	const char *def;               /* default as text, parsed like a flag */
	const char *help;
	unsigned flags;
};

/* Loopback and the private ranges a pod network uses: RFC 1918, RFC 6598
 * (shared address space), link-local, ULA. A node or LoadBalancer that
 * exposes port 53 to the internet is then no open resolver. */
#define ALLOW_RECURSION_DEFAULT                                                       \
	"127.0.0.0/8,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,169.254.0.0/16," \
	"::1/128,fc00::/7,fe80::/10"

#define F(m) offsetof(struct config, m), sizeof(((struct config *)0)->m)
#define NOF 0, 0

static const struct key keys[] = {
	{ "dns_addr", NULL, "addr", "SKYDNS_ADDR", CT_ADDR, F(dns_addr), 0, 0, "127.0.0.1:53",
	  "IP:port to serve DNS on (UDP and TCP)", K_RESTART },
	{ "domain", NULL, "domain", "SKYDNS_DOMAIN", CT_STR, F(domain), 0, 0, "skydns.local.",
	  "domain to anchor requests to", 0 },
	{ "hostmaster", NULL, "hostmaster", NULL, CT_STR, F(hostmaster), 0, 0,
	  "hostmaster@skydns.local.", "hostmaster email address to use in the SOA", 0 },
	{ "local", NULL, "local", NULL, CT_STR, F(local), 0, 0, "",
	  "optional unique value for this skydns instance (answers local.dns.<domain>)", 0 },
	{ "dnssec", NULL, "dnssec", NULL, CT_STR, F(dnssec), 0, 0, "",
	  "DNSSEC signing key basename (K<zone>+<alg>+<tag>), empty: no DNSSEC", 0 },
	{ "round_robin", NULL, "round-robin", NULL, CT_BOOL, F(round_robin), 0, 0, "true",
	  "round robin A/AAAA replies", 0 },
	{ "ns_rotate", NULL, "ns-rotate", NULL, CT_BOOL, F(ns_rotate), 0, 0, "true",
	  "spread queries over the forwarders", 0 },
	{ "nameservers", NULL, "nameservers", "SKYDNS_NAMESERVERS", CT_NSLIST, F(nameservers), 0,
	  0, "", "comma-separated forwarders IP:port (default: /etc/resolv.conf)", 0 },
	{ "no_rec", "no-rec", "no-rec", NULL, CT_BOOL, F(no_rec), 0, 0, "false",
	  "do not provide a recursive service (no forwarding)", 0 },
	{ "allow_recursion", NULL, "allow-recursion", "SKYDNS_ALLOW_RECURSION", CT_CIDRS,
	  F(allow_recursion), 0, 0, ALLOW_RECURSION_DEFAULT,
	  "comma-separated client prefixes whose queries for outside names are forwarded "
	  "(others: REFUSED)", 0 },
	{ "max_udp_size", NULL, "max-udp-size", NULL, CT_INT, F(max_udp_size), 512, 65535, "1232",
	  "largest UDP reply, whatever the client's EDNS buffer size (larger: TC)", 0 },
	{ "rrl_rate", NULL, "rrl-rate", "SKYDNS_RRL_RATE", CT_INT, F(rrl_rate), 0, 1000000, "0",
	  "response-rate limit: UDP replies per second to one client prefix, per kind "
	  "(answer, NXDOMAIN, error); over it replies are dropped or slipped (0: off)", 0 },
	{ "rrl_slip", NULL, "rrl-slip", "SKYDNS_RRL_SLIP", CT_INT, F(rrl_slip), 0, 100, "2",
	  "every Nth reply over rrl-rate is sent truncated (TC, the client retries over TCP), "
	  "the others dropped (0: drop all, 1: truncate all)", 0 },
	{ "rrl_log_only", NULL, "rrl-log-only", "SKYDNS_RRL_LOG_ONLY", CT_BOOL, F(rrl_log_only),
	  0, 0, "false", "only log and count replies over rrl-rate, send them all", 0 },
	{ "rrl_ipv4_prefix", NULL, "rrl-ipv4-prefix", NULL, CT_INT, F(rrl_ipv4_prefix), 8, 32,
	  "24", "IPv4 clients share an rrl-rate bucket per prefix of this length", 0 },
	{ "rrl_ipv6_prefix", NULL, "rrl-ipv6-prefix", NULL, CT_INT, F(rrl_ipv6_prefix), 16, 128,
	  "56", "IPv6 clients share an rrl-rate bucket per prefix of this length", 0 },
	{ "rrl_table_size", NULL, "rrl-table-size", NULL, CT_INT, F(rrl_table_size), 1, 16777216,
	  "65536", "rrl-rate buckets (prefixes that hash alike share one; memory is fixed)",
	  K_RESTART },
	{ "tcp_timeout", NULL, "tcp-timeout", NULL, CT_DURATION, F(tcp_timeout_ms), 0, 0, "2s",
	  "time a TCP client has to send a whole query from its first byte, and to take a "
	  "reply (JSON: nanoseconds)", K_RESTART },
	{ "tcp_idle_timeout", NULL, "tcp-idle-timeout", NULL, CT_DURATION,
	  F(tcp_idle_timeout_ms), 0, 0, "10s",
	  "a TCP connection without a whole query for this long is closed (JSON: nanoseconds)",
	  K_RESTART },
	{ "tcp_max_per_client", NULL, "tcp-max-per-client", NULL, CT_INT, F(tcp_max_per_client),
	  0, 65535, "128", "most TCP connections from one client address (0: no cap)", K_RESTART },
	{ "read_timeout", NULL, "rtimeout", NULL, CT_DURATION, F(read_timeout_ms), 0, 0, "2s",
	  "read timeout towards forwarders (JSON: nanoseconds)", 0 },
	{ "priority", NULL, NULL, NULL, CT_U32, F(priority), 0, 65535, "10",
	  "default SRV/MX priority when a service has none", 0 },
	{ "ttl", NULL, NULL, NULL, CT_U32, F(ttl), 0, UINT32_MAX, "3600",
	  "default TTL of records", 0 },
	{ "min_ttl", NULL, NULL, NULL, CT_U32, F(min_ttl), 0, UINT32_MAX, "60",
	  "minimum TTL (SOA minimum, negative answers)", 0 },
	{ "scache", NULL, "scache", NULL, CT_INT, F(scache), INT32_MIN, INT32_MAX, "10000",
	  "capacity of the DNSSEC signature cache", 0 },
	{ "rcache", NULL, "rcache", NULL, CT_INT, F(rcache), INT32_MIN, INT32_MAX, "0",
	  "capacity of the response cache (0: off)", 0 },
	{ "answer_cache", NULL, "answer-cache", NULL, CT_INT, F(answer_cache), 0, 1048576,
	  "32768", "finished replies each UDP worker keeps for the current snapshot (0: off; "
	  "TCP threads keep 1/16)", K_RESTART },
	{ "rcache_ttl", "rcache-ttl", "rcache-ttl", NULL, CT_U32, F(rcache_ttl), 0, INT32_MAX,
	  "60", "TTL of the response cache entries", 0 },
	{ "ndot", "ndots", "ndots", "SKYDNS_NDOTS", CT_INT, F(ndots), INT32_MIN, INT32_MAX, "2",
	  "labels a name needs before it is forwarded", 0 },
	{ "systemd", NULL, "systemd", "SKYDNS_SYSTEMD", CT_BOOL, F(systemd), 0, 0, "false",
	  "bind to sockets activated by systemd (ignores -addr)", K_RESTART },
	{ "etcd3", NULL, "etcd3", NULL, CT_BOOL, F(etcd3), 0, 0, "false",
	  "use the etcd v3 API", K_RESTART },
	{ NULL, NULL, "stubzones", NULL, CT_BOOL, F(stubzones), 0, 0, "false",
	  "support stub zones (stub.dns.<domain>)", 0 },
	{ "pod_records", NULL, "pod-records", "SKYDNS_POD_RECORDS", CT_BOOL, F(pod_records), 0, 0,
	  "false", "answer a-b-c-d.<namespace>.pod.<domain> with the address its name spells, "
	  "unchecked (Kubernetes pod records, CoreDNS's \"pods insecure\")", 0 },
	{ NULL, NULL, "verbose", NULL, CT_BOOL, F(verbose), 0, 0, "false",
	  "log every query", 0 },
	{ NULL, NULL, "log-journal", "SKYDNS_LOG_JOURNAL", CT_BOOL, F(log_journal), 0, 0, "false",
	  "log to the systemd journal (default: stderr, or the journal when stderr is one)", 0 },
	{ NULL, NULL, "path-prefix", "SKYDNS_PATH_PREFIX", CT_STR, F(path_prefix), 0, 0, "skydns",
	  "etcd path prefix (/<prefix>/...)", K_RESTART },
	{ "random_one", NULL, "random-one", NULL, CT_BOOL, F(random_one), 0, 0, "false",
	  "A/AAAA answers carry one (healthy) address, picked at random (the ipdcode seed)", 0 },
	{ "host_one", "hone_one", "host-one", NULL, CT_BOOL, F(host_one), 0, 0, "false",
	  "A/AAAA answers carry one (healthy) address chosen from the client's address, stable "
	  "while it stays up (rendezvous hashing; the seed's hone_one)", 0 },
	{ "ip_monitor_path", NULL, "ip-monitor-path", NULL, CT_STR, F(ip_monitor_path), 0, 0, "",
	  "etcd prefix of address status keys (<ip> = {\"status\":\"DOWN\"} leaves it out of "
	  "answers; empty: /<path-prefix>/monitor/status/)", K_RESTART },
	{ NULL, NULL, "machines", "ETCD_MACHINES", CT_MACHINES, F(machines), 0, 0,
	  "http://127.0.0.1:2379", "comma-separated etcd endpoints", K_RESTART },
	{ NULL, NULL, "ca-cert", "ETCD_CACERT", CT_STR, F(ca_cert), 0, 0, "",
	  "CA certificate for etcd TLS", K_RESTART },
	{ NULL, NULL, "tls-pem", "ETCD_TLSPEM", CT_STR, F(tls_pem), 0, 0, "",
	  "client certificate for etcd TLS", K_RESTART },
	{ NULL, NULL, "tls-key", "ETCD_TLSKEY", CT_STR, F(tls_key), 0, 0, "",
	  "client key for etcd TLS", K_RESTART },
	{ NULL, NULL, "username", "ETCD_USERNAME", CT_STR, F(username), 0, 0, "",
	  "etcd user name (basic auth)", K_RESTART },
	{ NULL, NULL, "password", "ETCD_PASSWORD", CT_STR, F(password), 0, 0, "",
	  "etcd password (basic auth)", K_RESTART | K_SECRET },
	{ NULL, NULL, "metrics-addr", "PROMETHEUS_PORT", CT_LISTEN, F(metrics_addr), 0, 0, "",
	  "Prometheus listener IP:port or port (env: a bare port)",
	  K_RESTART | K_LENIENT | K_ENVPORT },
	{ NULL, NULL, "metrics-path", "PROMETHEUS_PATH", CT_URLPATH, F(metrics_path), 0, 0,
	  "/metrics", "HTTP path of the metrics", K_RESTART },
	{ NULL, NULL, NULL, "PROMETHEUS_NAMESPACE", CT_STR, F(metrics_namespace), 0, 0, "skydns",
	  "metric name namespace", K_RESTART },
	{ NULL, NULL, NULL, "PROMETHEUS_SUBSYSTEM", CT_STR, F(metrics_subsystem), 0, 0, "skydns",
	  "metric name subsystem", K_RESTART },
	{ NULL, NULL, "health-addr", NULL, CT_LISTEN, F(health_addr), 0, 0, "",
	  "listener for /healthz and /readyz (default: the metrics listener)", K_RESTART },
	{ NULL, NULL, "ready-max-age", NULL, CT_INT, F(ready_max_age), 0, INT32_MAX, "0",
	  "seconds the data may be stale while etcd is unreachable before /readyz fails "
	  "(0: never, once the first snapshot is served)", 0 },
	{ "new_store_grace", NULL, "new-store-grace", "SKYDNS_NEW_STORE_GRACE", CT_DURATION,
	  F(new_store_grace_ms), 0, 0, "120s",
	  "etcd wiped or replaced: keep answering from the last snapshot until kube2sky marks the "
	  "new store synced, for at most this long (0: publish it at once; JSON: nanoseconds)", 0 },
	{ "lameduck", NULL, "lameduck", "SKYDNS_LAMEDUCK", CT_DURATION, F(lameduck_ms), 0, 0, "5s",
	  "after SIGTERM, fail /readyz but keep answering this long before exiting "
	  "(JSON: nanoseconds)", 0 },
	{ NULL, NULL, "user", NULL, CT_STR, F(user), 0, 0, "",
	  "drop privileges to this user after binding", K_RESTART },
	{ NULL, NULL, "workers", NULL, CT_INT, F(workers), 0, 1024, "0",
	  "UDP worker threads (0: one per CPU)", K_RESTART },
	{ NULL, NULL, "version", NULL, CT_VERSION, NOF, 0, 0, NULL, "print version and exit", 0 },
	{ NULL, NULL, "h", NULL, CT_HELP, NOF, 0, 0, NULL, "print this help and exit", 0 },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static void *field(struct config *c, const struct key *k)
{
	return (char *)c + k->off;
}

static const void *cfield(const struct config *c, const struct key *k)
{
	return (const char *)c + k->off;
}

/* Go's strconv.ParseBool. */
static int parse_bool(const char *s, bool *out)
{
	static const char *const t[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const f[] = { "0", "f", "F", "FALSE", "false", "False" };
	for (size_t i = 0; i < 6; i++) {
		if (strcmp(s, t[i]) == 0)
			return *out = true, 0;
		if (strcmp(s, f[i]) == 0)
			return *out = false, 0;
	}
	return SKY_EINVAL;
}

/* Go's time.ParseDuration, to milliseconds: "2s", "1m30s", "500ms", "0". */
static int parse_duration(const char *s, int *ms)
{
	static const struct { const char *u; double ms; } units[] = {
		{ "ns", 1e-6 }, { "us", 1e-3 }, { "\xc2\xb5s", 1e-3 }, { "\xce\xbcs", 1e-3 },
		{ "ms", 1 }, { "s", 1e3 }, { "m", 60e3 }, { "h", 3600e3 },
	};
	if (strcmp(s, "0") == 0)
		return *ms = 0, 0;
	double total = 0;
	if (!*s)
		return SKY_EINVAL;
	while (*s) {
		char num[32];
		size_t nl = strspn(s, "0123456789.");
		if (nl == 0 || nl >= sizeof(num))
			return SKY_EINVAL;
		memcpy(num, s, nl);
		num[nl] = '\0';
		char *end;
		double v = strtod(num, &end);
		if (*end)
			return SKY_EINVAL;
		s += nl;
		size_t best = 0, bestlen = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t ul = strlen(units[i].u);
			if (ul > bestlen && strncmp(s, units[i].u, ul) == 0)
				best = i, bestlen = ul;
		}
		if (bestlen == 0)
			return SKY_EINVAL;
		total += v * units[best].ms;
		s += bestlen;
	}
	if (total > INT32_MAX)
		return SKY_ERANGE;
	*ms = (int)total;
	return 0;
}

int config_parse_duration(const char *s, int *ms)
{
	return parse_duration(s, ms);
}

static int parse_port(const char *s, unsigned *port)
{
	if (!*s || strlen(s) > 5)
		return SKY_EINVAL;
	unsigned v = 0;
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return SKY_EINVAL;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (v < 1 || v > 65535)
		return SKY_EINVAL;
	*port = v;
	return 0;
}

/* SkyDNS's "IP:port" form: the port is required and IPv6 goes in brackets
 * ("::1:53" would be ambiguous); netaddr_parse checks the rest. */
static int parse_hostport(const char *s, enum netaddr_kind kind, char *out, size_t cap)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char *colon = strrchr(s, ':');
	bool port_given = colon && (s[0] == '[' ? colon > s && colon[-1] == ']'
						: strchr(s, ':') == colon);
	if (!port_given || netaddr_parse(s, kind, &ss, &len) < 0)
		return SKY_EINVAL;
	if (s[0] == '[' && ss.ss_family != AF_INET6)
		return SKY_EINVAL; /* brackets are for IPv6 only */
	if ((size_t)snprintf(out, cap, "%s", s) >= cap)
		return SKY_ERANGE;
	return 0;
}

/* Metrics/health listeners: "", "9090", ":9090", "IP:port". */
static int parse_listen(const char *s, char *out, size_t cap)
{
	unsigned port;
	if (!*s)
		return out[0] = '\0', 0;
	if (parse_port(s[0] == ':' ? s + 1 : s, &port) == 0) {
		snprintf(out, cap, "0.0.0.0:%u", port);
		return 0;
	}
	return parse_hostport(s, NETADDR_LISTEN, out, cap);
}

static int copy_str(char *dst, size_t cap, const char *s, const char **why)
{
	if (strlen(s) >= cap)
		return *why = "too long", SKY_ERANGE;
	strcpy(dst, s);
	return 0;
}

/* Split a comma list into a fixed array of entries; every entry validated
 * with parse_hostport when `addr`. Empty entries are skipped. */
static int set_list(char *arr, size_t esize, int max, int *count, const char *s, bool addr,
		    const char **why)
{
	int n = 0;
	for (const char *p = s; *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char item[CONFIG_STR + 1];
		while (len > 0 && isspace((unsigned char)*p))
			p++, len--;
		while (len > 0 && isspace((unsigned char)p[len - 1]))
			len--;
		if (len >= esize || len >= sizeof(item))
			return *why = "entry too long", SKY_ERANGE;
		memcpy(item, p, len);
		item[len] = '\0';
		if (len > 0) {
			if (n >= max)
				return *why = "too many entries", SKY_ERANGE;
			if (addr && parse_hostport(item, NETADDR_PEER, arr + (size_t)n * esize,
						   esize) != 0)
				return *why = "not IP:port ([IPv6]:port)", SKY_EINVAL;
			if (!addr)
				strcpy(arr + (size_t)n * esize, item);
			n++;
		}
		if (!e)
			break;
		p = e + 1;
	}
	*count = n;
	return 0;
}

static int set_cidrs(struct config *c, const char *s, const char **why)
{
	char item[64];
	int n = 0;
	for (const char *p = s; *p;) {
		size_t len = strcspn(p, ",");
		size_t b = 0, e = len;
		while (b < e && isspace((unsigned char)p[b]))
			b++;
		while (e > b && isspace((unsigned char)p[e - 1]))
			e--;
		if (e - b >= sizeof item)
			return *why = "entry too long", SKY_ERANGE;
		memcpy(item, p + b, e - b);
		item[e - b] = '\0';
		if (item[0]) {
			if (n >= CONFIG_MAX_CIDR)
				return *why = "too many entries", SKY_ERANGE;
			if (cidr_parse(item, &c->allow_recursion[n]) != 0)
				return *why = "not an address prefix like 10.0.0.0/8 or fd00::/8",
				       SKY_EINVAL;
			n++;
		}
		p += len + (p[len] == ',');
	}
	c->nallow_recursion = n;
	return 0;
}

static int set_number(struct config *c, const struct key *k, double v, const char **why)
{
	if (v != floor(v))
		return *why = "not an integer", SKY_EINVAL;
	if (v < k->min || v > k->max)
		return *why = "out of range", SKY_ERANGE;
	if (k->type == CT_U32)
		*(uint32_t *)field(c, k) = (uint32_t)v;
	else
		*(int *)field(c, k) = (int)v;
	return 0;
}

/* A domain as a person types it: "" and empty labels ("foo..bar", ".foo")
 * are mistakes, not requests for the default. */
static const char *check_domain(const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return "empty (give a domain such as cluster.local)";
	if (strcmp(s, ".") == 0)
		return "the root zone cannot be served";
	if (n > 254 || (n == 254 && s[n - 1] != '.'))
		return "longer than 253 characters";
	size_t label = 0;
	for (const char *p = s; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return "has an empty label (\"..\" or a leading dot)";
			label = 0;
		} else if (++label > 63) {
			return "has a label longer than 63 characters";
		} else if (isspace((unsigned char)*p) || *p == '/' || *p == '\\') {
			return "has a character not allowed in a domain name";
		}
	}
	return NULL;
}

/* etcd endpoints: "http://host:port" or "https://..."; libcurl would take
 * "127.0.0.1:2379" and fail later with only "invalid argument". */
static const char *check_machines(const char *s)
{
	int n = 0;
	for (const char *p = s; *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		while (len > 0 && isspace((unsigned char)*p))
			p++, len--;
		if (len > 0) {
			size_t skip = strncasecmp(p, "http://", 7) == 0 ? 7
				      : strncasecmp(p, "https://", 8) == 0 ? 8 : 0;
			if (skip == 0)
				return "an endpoint without http:// or https:// (like http://127.0.0.1:2379)";
			if (len == skip || p[skip] == '/' || p[skip] == ':')
				return "an endpoint without a host";
			n++;
		}
		p += len + (p[len] == ',');
	}
	return n ? NULL : "empty (give an endpoint like http://127.0.0.1:2379)";
}

/* Checks a start-up value (env or flag) gets beyond its type's parse. */
static const char *check_startup(const struct key *k, const char *s)
{
	if (k->off == offsetof(struct config, domain) && k->type == CT_STR)
		return check_domain(s);
	if (k->type == CT_MACHINES)
		return check_machines(s);
	if (k->off == offsetof(struct config, hostmaster) && k->type == CT_STR) {
		char rname[CONFIG_STR];
		if (!*s)
			return "empty (give an address such as hostmaster@example.org)";
		snprintf(rname, sizeof rname, "%s", s);
		char *at = strchr(rname, '@');
		if (at)
			*at = '.';
		return check_domain(rname);
	}
	if ((k->off == offsetof(struct config, metrics_namespace) ||
	     k->off == offsetof(struct config, metrics_subsystem)) && k->type == CT_STR) {
		for (const char *p = s; *p; p++)
			if (!(isalpha((unsigned char)*p) || *p == '_' ||
			      (p > s && isdigit((unsigned char)*p))))
				return "not a Prometheus name part (letters, digits, '_'; "
				       "no leading digit)";
	}
	if (k->off == offsetof(struct config, local) && k->type == CT_STR && *s)
		return check_domain(s);
	if (k->off == offsetof(struct config, path_prefix) && k->type == CT_STR) {
		if (!*s)
			return "empty (the default is skydns)";
		size_t n = strlen(s);
		if (strpbrk(s, " \t\n") || s[0] == '/' || s[n - 1] == '/' || strstr(s, "//"))
			return "an etcd path without spaces or leading, trailing or doubled '/' "
			       "(like skydns)";
	}
	return NULL;
}

/* Set one key from text (default, env or flag). *why explains a failure. */
static int set_text(struct config *c, const struct key *k, const char *s, const char **why)
{
	char *p = field(c, k);
	switch (k->type) {
	case CT_STR:
		return copy_str(p, k->size, s, why);
	case CT_URLPATH:
		if (s[0] != '/')
			return *why = "must start with '/'", SKY_EINVAL;
		return copy_str(p, k->size, s, why);
	case CT_ADDR:
		if (parse_hostport(s, NETADDR_LISTEN, p, k->size) != 0)
			return *why = "not IP:port ([IPv6]:port)", SKY_EINVAL;
		return 0;
	case CT_LISTEN:
		if (parse_listen(s, p, k->size) != 0)
			return *why = "not a port, :port or IP:port", SKY_EINVAL;
		return 0;
	case CT_BOOL:
		if (parse_bool(s, (bool *)p) != 0)
			return *why = "not a boolean", SKY_EINVAL;
		return 0;
	case CT_INT:
	case CT_U32: {
		char *end;
		errno = 0;
		double v = strtod(s, &end);
		if (!*s || *end || errno || isspace((unsigned char)*s) ||
		    strpbrk(s, "xXeEpP.nNiI"))
			return *why = "not an integer", SKY_EINVAL;
		return set_number(c, k, v, why);
	}
	case CT_DURATION:
		if (parse_duration(s, (int *)p) != 0)
			return *why = "not a duration (like 2s or 500ms)", SKY_EINVAL;
		return 0;
	case CT_NSLIST:
		return set_list(p, sizeof(c->nameservers[0]), CONFIG_MAX_NS, &c->nnameservers, s,
				true, why);
	case CT_MACHINES:
		return set_list(p, sizeof(c->machines[0]), CONFIG_MAX_MACHINES, &c->nmachines, s,
				false, why);
	case CT_CIDRS:
		return set_cidrs(c, s, why);
	case CT_HELP:
	case CT_VERSION:
		break;
	}
	return 0;
}

/* Lower-case and make absolute (dns.Fqdn); "" stays "". */
static void fqdn_lower(char *s, size_t cap, bool lower)
{
	size_t n = strlen(s);
	if (lower)
		for (size_t i = 0; i < n; i++)
			s[i] = (char)tolower((unsigned char)s[i]);
	if (n > 0 && s[n - 1] != '.' && n + 1 < cap) {
		s[n] = '.';
		s[n + 1] = '\0';
	}
}

/* The parts of config_finish that need no I/O (SkyDNS SetDefaults). */
static void normalize(struct config *c)
{
	if (!c->dns_addr[0])
		strcpy(c->dns_addr, "127.0.0.1:53");
	if (!c->domain[0])
		strcpy(c->domain, "skydns.local.");
	if (!c->hostmaster[0])
		strcpy(c->hostmaster, "hostmaster@skydns.local.");
	for (char *p = c->hostmaster; *p; p++)
		if (*p == '@')
			*p = '.'; /* an SOA rname has no '@' */
	fqdn_lower(c->domain, sizeof(c->domain), true);
	fqdn_lower(c->local, sizeof(c->local), true);
	fqdn_lower(c->hostmaster, sizeof(c->hostmaster), false);
	if (c->read_timeout_ms <= 0)
		c->read_timeout_ms = 2000;
	if (c->tcp_timeout_ms <= 0)
		c->tcp_timeout_ms = 2000;
	if (c->tcp_idle_timeout_ms <= 0)
		c->tcp_idle_timeout_ms = 10000;
	if (c->min_ttl == 0)
		c->min_ttl = 60;
	if (c->ttl == 0)
		c->ttl = 3600;
	if (c->priority == 0)
		c->priority = 10;
	if (c->rcache < 0)
		c->rcache = 0;
	if (c->scache < 0)
		c->scache = 0;
	if (c->rcache_ttl == 0)
		c->rcache_ttl = 60;
	if (c->ndots <= 0)
		c->ndots = 2;
}

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NKEYS; i++) {
		const char *why;
		if (keys[i].def)
			set_text(c, &keys[i], keys[i].def, &why);
	}
	normalize(c);
}

/* Environment: SkyDNS reads env vars as flag defaults, so they go first. */
static int apply_env(struct config *c, FILE *err)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		const char *v = k->env ? getenv(k->env) : NULL;
		const char *why = NULL;
		unsigned port;
		if (!v || !*v)
			continue;
		if ((k->flags & K_ENVPORT) && parse_port(v, &port) != 0)
			why = "not a port number";
		if (!why)
			why = check_startup(k, v);
		if (!why && set_text(c, k, v, &why) == 0)
			continue;
		if (!why)
			why = "invalid";
		if (k->flags & K_LENIENT) {
			/* Kubernetes injects PROMETHEUS_PORT=tcp://IP:port for a
			 * Service named "prometheus" (kubernetes #25573). */
			fprintf(err, "skydns: warning: ignoring %s=\"%s\": %s\n", k->env, v, why);
			continue;
		}
		fprintf(err, "skydns: invalid value \"%s\" for %s: %s\n", v, k->env, why);
		return SKY_EINVAL;
	}
	return 0;
}

static const struct key *find_flag(const char *name, size_t len)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].flag && strlen(keys[i].flag) == len &&
		    strncmp(keys[i].flag, name, len) == 0)
			return &keys[i];
	if (len == 4 && strncmp(name, "help", 4) == 0)
		return find_flag("h", 1);
	return NULL;
}

/* One flag at argv[*i]; advances *i past a separate value. Returns 0, 1 for
 * -h/-version handled, or SKY_EINVAL. */
static int apply_flag(struct config *c, int argc, char **argv, int *i, FILE *err)
{
	const char *a = argv[*i] + 1;
	if (*a == '-')
		a++; /* --flag works too, as in Go */
	const char *eq = strchr(a, '=');
	size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
	const struct key *k = find_flag(a, nlen);
	if (!k) {
		fprintf(err, "skydns: flag provided but not defined: -%.*s (see -h)\n", (int)nlen, a);
		return SKY_EINVAL;
	}
	if (k->type == CT_HELP) {
		config_usage(err);
		return 1;
	}
	if (k->type == CT_VERSION) {
		printf("skydns %s (CHAOS version.bind answers SkyDNS's %s)\n", SKY_PROJECT_VERSION,
		       SKYDNS_VERSION);
		return 1;
	}
	const char *v = eq ? eq + 1 : NULL;
	if (!v && k->type == CT_BOOL)
		v = "true";
	if (!v) {
		if (*i + 1 >= argc) {
			fprintf(err, "skydns: flag needs an argument: -%s\n", k->flag);
			return SKY_EINVAL;
		}
		v = argv[++*i];
	}
	const char *why = check_startup(k, v);
	if (why || set_text(c, k, v, &why) != 0) {
		if (!why)
			why = "invalid";
		fprintf(err, "skydns: invalid value \"%s\" for flag -%s: %s\n", v, k->flag, why);
		return SKY_EINVAL;
	}
	return 0;
}

int config_from_args(struct config *c, int argc, char **argv, FILE *err)
{
	/* hidden, before the environment can fail: the build writes skydns.1 */
	if (argc == 2 && (!strcmp(argv[1], "-help-man") || !strcmp(argv[1], "--help-man"))) {
		config_man(stdout);
		return 1;
	}
	int rc = apply_env(c, err);
	for (int i = 1; rc == 0 && i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0 && i + 1 == argc)
			break;
		if (a[0] != '-' || a[1] == '\0' || strcmp(a, "--") == 0) {
			fprintf(err, "skydns: unexpected argument \"%s\" (see -h)\n",
				strcmp(a, "--") == 0 ? argv[i + 1] : a);
			return SKY_EINVAL;
		}
		rc = apply_flag(c, argc, argv, &i, err);
	}
	return rc;
}

static const struct key *find_json(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		if ((k->json && strcasecmp(name, k->json) == 0) ||
		    (k->json_alias && strcasecmp(name, k->json_alias) == 0))
			return k;
	}
	return NULL;
}

/* The SkyDNS README lists "path-prefix" among the /skydns/config parameters,
 * but SkyDNS takes it from the flag only (the document itself lives under the
 * prefix) and encoding/json dropped the unknown key. It is accepted, so the
 * README's document applies, and never changes the prefix. */
static bool is_prefix_key(const char *name)
{
	return strcasecmp(name, "path-prefix") == 0 || strcasecmp(name, "path_prefix") == 0;
}

/* allow_recursion as a JSON array of "IP/len" strings. */
static int json_cidrs(struct config *c, const cJSON *v, const char **why)
{
	int n = 0;
	for (const cJSON *e = v->child; e; e = e->next, n++) {
		if (!cJSON_IsString(e))
			return *why = "not an array of \"IP/len\" strings", SKY_EPARSE;
		if (n >= CONFIG_MAX_CIDR)
			return *why = "too many entries", SKY_EPARSE;
		if (cidr_parse(e->valuestring, &c->allow_recursion[n]) != 0)
			return *why = "entry not an address prefix like 10.0.0.0/8", SKY_EPARSE;
	}
	c->nallow_recursion = n;
	return 0;
}

/* One JSON member onto c; *why (static text) on failure. */
static int apply_json_value(struct config *c, const struct key *k, const cJSON *v,
			    const char **why)
{
	if (cJSON_IsNull(v))
		return 0; /* encoding/json: null leaves the field alone */
	switch (k->type) {
	case CT_BOOL:
		if (!cJSON_IsBool(v))
			return *why = "not a boolean", SKY_EPARSE;
		*(bool *)field(c, k) = cJSON_IsTrue(v);
		return 0;
	case CT_INT:
	case CT_U32:
		if (!cJSON_IsNumber(v))
			return *why = "not a number", SKY_EPARSE;
		return set_number(c, k, v->valuedouble, why) ? SKY_EPARSE : 0;
	case CT_DURATION: /* time.Duration: integer nanoseconds */
		if (!cJSON_IsNumber(v))
			return *why = "not a number (nanoseconds)", SKY_EPARSE;
		if (v->valuedouble != floor(v->valuedouble) || v->valuedouble < 0 ||
		    v->valuedouble / 1e6 > INT32_MAX)
			return *why = "out of range (nanoseconds)", SKY_EPARSE;
		*(int *)field(c, k) = (int)(v->valuedouble / 1e6);
		return 0;
	case CT_CIDRS:
		if (cJSON_IsArray(v))
			return json_cidrs(c, v, why);
		if (!cJSON_IsString(v))
			return *why = "not an array of \"IP/len\" strings", SKY_EPARSE;
		return set_cidrs(c, v->valuestring, why) ? SKY_EPARSE : 0;
	case CT_NSLIST: {
		if (!cJSON_IsArray(v))
			return *why = "not an array of \"IP:port\" strings", SKY_EPARSE;
		int n = 0;
		for (const cJSON *e = v->child; e; e = e->next, n++) {
			if (!cJSON_IsString(e))
				return *why = "not an array of \"IP:port\" strings", SKY_EPARSE;
			if (n >= CONFIG_MAX_NS)
				return *why = "too many entries", SKY_EPARSE;
			if (parse_hostport(e->valuestring, NETADDR_PEER, c->nameservers[n],
					   sizeof(c->nameservers[n])) != 0)
				return *why = "entry not IP:port ([IPv6]:port)", SKY_EPARSE;
		}
		c->nnameservers = n;
		return 0;
	}
	default:
		if (!cJSON_IsString(v))
			return *why = "not a string", SKY_EPARSE;
		return set_text(c, k, v->valuestring, why) ? SKY_EPARSE : 0;
	}
}

int config_apply_json(struct config *c, const char *json, size_t len, char *why, size_t whycap)
{
	char dummy[1];
	if (!why || whycap == 0)
		why = dummy, whycap = sizeof(dummy);
	why[0] = '\0';
	cJSON *root = cJSON_ParseWithLength(json, len);
	if (!root) {
		snprintf(why, whycap, "config is not valid JSON");
		return SKY_EPARSE;
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		snprintf(why, whycap, "config is not a JSON object");
		return SKY_EPARSE;
	}
	/* Work on a copy so a bad key leaves c untouched. */
	struct config *tmp = malloc(sizeof(*tmp));
	if (!tmp) {
		cJSON_Delete(root);
		snprintf(why, whycap, "out of memory");
		return SKY_ENOMEM;
	}
	*tmp = *c;
	int rc = 0;
	for (const cJSON *m = root->child; m && rc == 0; m = m->next) {
		const struct key *k = find_json(m->string);
		const char *reason = NULL;
		if (!k && is_prefix_key(m->string)) {
			if (!cJSON_IsString(m)) {
				snprintf(why, whycap, "key \"%s\": not a string", m->string);
				rc = SKY_EPARSE;
			} else if (strcmp(m->valuestring, tmp->path_prefix) != 0) {
				log_warn("config", "key \"%s\" (\"%s\") in /%s/config has no effect: the "
					 "document is read from under the prefix; set -path-prefix or "
					 "SKYDNS_PATH_PREFIX", m->string, m->valuestring, tmp->path_prefix);
			}
			continue;
		}
		if (!k) {
			snprintf(why, whycap, "key \"%s\": unknown key", m->string);
			rc = SKY_EPARSE;
		} else if (apply_json_value(tmp, k, m, &reason) != 0) {
			snprintf(why, whycap, "key \"%s\": %s", m->string, reason);
			rc = SKY_EPARSE;
		}
	}
	if (rc == 0)
		*c = *tmp;
	free(tmp);
	cJSON_Delete(root);
	return rc;
}

/* Nameservers from resolv.conf, port 53 (SkyDNS uses the file's port, which
 * is always 53 for glibc's format). */
static void nameservers_from_resolv(struct config *c, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char line[512];
	while (c->nnameservers < CONFIG_MAX_NS && fgets(line, sizeof(line), f)) {
		char ip[128];
		uint8_t bin[16];
		if (sscanf(line, " nameserver %127s", ip) != 1)
			continue;
		int fam = msg_parse_ip(ip, bin);
		if (fam == 0)
			continue; /* zone-scoped (fe80::1%eth0) or junk */
		snprintf(c->nameservers[c->nnameservers++], sizeof(c->nameservers[0]),
			 strchr(ip, ':') ? "[%s]:53" : "%s:53", ip);
	}
	fclose(f);
}

void config_finish(struct config *c)
{
	normalize(c);
	if (c->nnameservers == 0)
		nameservers_from_resolv(c, "/etc/resolv.conf");
}

static bool key_equal(const struct config *a, const struct config *b, const struct key *k)
{
	switch (k->type) {
	case CT_NSLIST:
		if (a->nnameservers != b->nnameservers)
			return false;
		for (int i = 0; i < a->nnameservers; i++)
			if (strcmp(a->nameservers[i], b->nameservers[i]) != 0)
				return false;
		return true;
	case CT_MACHINES:
		if (a->nmachines != b->nmachines)
			return false;
		for (int i = 0; i < a->nmachines; i++)
			if (strcmp(a->machines[i], b->machines[i]) != 0)
				return false;
		return true;
	case CT_STR:
	case CT_ADDR:
	case CT_LISTEN:
	case CT_URLPATH:
		return strcmp(cfield(a, k), cfield(b, k)) == 0;
	default:
		return memcmp(cfield(a, k), cfield(b, k), k->size) == 0;
	}
}

void config_diff_restart(const struct config *old, const struct config *new_, char *out,
			 size_t cap)
{
	size_t pos = 0;
	if (cap == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		if (!(k->flags & K_RESTART) || k->size == 0 || key_equal(old, new_, k))
			continue;
		const char *name = k->json ? k->json : k->flag ? k->flag : k->env;
		int n = snprintf(out + pos, cap - pos, "%s%s", pos ? "," : "", name);
		if (n < 0 || (size_t)n >= cap - pos)
			break;
		pos += (size_t)n;
	}
}

static const char *type_word(enum ctype t)
{
	switch (t) {
	case CT_BOOL: case CT_HELP: case CT_VERSION: return "";
	case CT_INT: case CT_U32: return " int";
	case CT_DURATION: return " duration";
	case CT_NSLIST: case CT_MACHINES: return " list";
	default: return " string";
	}
}

/* One key in the style of Go's flag.PrintDefaults, plus env and JSON names. */
static void usage_key(FILE *out, const struct key *k)
{
	if (k->flag)
		fprintf(out, "  -%s%s\n", k->flag, type_word(k->type));
	else
		fprintf(out, "  $%s%s\n", k->env, type_word(k->type));
	fprintf(out, "    \t%s", k->help);
	bool quoted = strcmp(type_word(k->type), " string") == 0;
	if (k->def && *k->def && !(k->flags & K_SECRET))
		fprintf(out, quoted ? " (default \"%s\")" : " (default %s)", k->def);
	if (k->flag && k->env)
		fprintf(out, " [env %s]", k->env);
	if (k->json)
		fprintf(out, " [etcd JSON \"%s\"]", k->json);
	if (k->flags & K_RESTART)
		fprintf(out, " [restart]");
	fputc('\n', out);
}

#define USAGE_RULES                                                                    \
	"Precedence: defaults < environment < flags < JSON at /<prefix>/config in etcd.\n" \
	"Flags take one dash or two; values as -flag value or -flag=value;\n"              \
	"durations as 2s, 500ms, 1m30s.\n"

void config_usage(FILE *out)
{
	fprintf(out, "Usage of skydns (version %s):\n" USAGE_RULES, SKY_PROJECT_VERSION);
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].flag)
			usage_key(out, &keys[i]);
	fprintf(out, "Environment only:\n");
	for (size_t i = 0; i < NKEYS; i++)
		if (!keys[i].flag && !keys[i].json)
			usage_key(out, &keys[i]);
	fprintf(out, "etcd JSON only (/<prefix>/config):\n");
	for (size_t i = 0; i < NKEYS; i++)
		if (!keys[i].flag && keys[i].json)
			fprintf(out, "  \"%s\" int\n    \t%s (default %s)\n", keys[i].json,
				keys[i].help, keys[i].def);
}

/* The -h table as a man page (hidden -help-man; see manpage.h). */
static void man_key(FILE *out, const struct key *k)
{
	char note[128];
	const char *j = k->flag || k->env ? k->json : NULL; /* else it is the label */
	snprintf(note, sizeof note, "%s%s%s%s", j ? "etcd JSON key \"" : "", j ? j : "", j ? "\"" : "",
		 k->flags & K_RESTART ? (j ? "; a change needs a restart" : "A change needs a restart") : "");
	const char *w = type_word(k->type);
	struct man_opt o = { k->flag, *w ? w + 1 : NULL, k->env, k->json,
			     k->flags & K_SECRET ? NULL : k->def, k->help, *note ? note : NULL };
	man_option(out, &o);
}

void config_man(FILE *out)
{
	man_head(out, "skydns", "DNS service discovery from etcd", "[-flag value ...]");
	man_section(out, "DESCRIPTION");
	man_text(out, "skydns answers DNS queries from records stored in etcd (SkyDNS's format), "
		      "and forwards the rest.");
	man_verbatim(out, USAGE_RULES);
	man_section(out, "OPTIONS");
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].flag)
			man_key(out, &keys[i]);
	man_section(out, "ENVIRONMENT");
	man_text(out, "Each flag's environment variable is named under it; these have no flag:");
	for (size_t i = 0; i < NKEYS; i++)
		if (!keys[i].flag && !keys[i].json)
			man_key(out, &keys[i]);
	man_section(out, "ETCD CONFIGURATION");
	man_text(out, "JSON at /<prefix>/config in etcd overrides flags; these keys are set only there:");
	for (size_t i = 0; i < NKEYS; i++)
		if (!keys[i].flag && keys[i].json)
			man_key(out, &keys[i]);
	man_tail(out, "kube2sky(1), skydns-check(1), skydns-api(1), skydnsctl(1), systemd.socket(5)");
}
