/* config.h - skydns configuration: one table of keys (JSON name, flag, env
 * var, type, default, help) drives defaults, env, flags, etcd JSON and -h.
 *
 * Precedence (SkyDNS's): compiled defaults < env < flags < JSON at
 * /<prefix>/config in etcd. The mirror re-applies the etcd JSON on every
 * change of that key (live config); keys that cannot change live (dns_addr,
 * systemd, etcd connection) are reported by config_diff_restart().
 *
 * A struct config is a plain value: copy it with config_copy(), no hidden
 * pointers except the nameserver list which is inline.
 */
#ifndef SKYDNS_CONFIG_H
#define SKYDNS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cidr.h"

/* The version CHAOS version.bind answers: SkyDNS's, since clients and
 * scripts compare it; SkyDNS master still reports 2.5.3a. -version prints
 * the project's version, SKY_PROJECT_VERSION (CMake's project(VERSION)). */
#ifndef SKY_PROJECT_VERSION
#define SKY_PROJECT_VERSION "unknown"
#endif
#define SKYDNS_VERSION "2.5.3a"

#define CONFIG_MAX_NS 16
#define CONFIG_MAX_MACHINES 16
#define CONFIG_MAX_CIDR 32
#define CONFIG_STR 256
#define CONFIG_PATH 1024

struct config {
	/* DNS */
	char dns_addr[CONFIG_STR];      /* "127.0.0.1:53" or "[::1]:53" */
	char domain[CONFIG_STR];        /* lower-case, absolute: "skydns.local." */
	char hostmaster[CONFIG_STR];    /* rname form, absolute: "hostmaster.skydns.local." */
	char local[CONFIG_STR];         /* absolute name or "" */
	char dnssec[CONFIG_PATH];       /* key basename or "" */
	bool round_robin;
	bool ns_rotate;
	bool no_rec;
	bool stubzones;
	bool systemd;
	bool verbose;
	bool log_journal;             /* log to the systemd journal instead of stderr */
	uint32_t ttl;                   /* 3600 */
	uint32_t min_ttl;               /* 60 */
	uint32_t priority;              /* 10 */
	int ndots;                      /* 2 */
	int read_timeout_ms;            /* 2000 */
	int rcache;                     /* 0 = off */
	int answer_cache;               /* replies kept per UDP worker, 0 = off (restart) */
	uint32_t rcache_ttl;            /* 60 */
	int scache;                     /* 10000 */
	int nnameservers;
	char nameservers[CONFIG_MAX_NS][64]; /* "IP:port" / "[v6]:port" */
	int tcp_timeout_ms;             /* 2000: a whole TCP message from its first byte, a reply's write */
	int tcp_idle_timeout_ms;        /* 10000: a TCP connection without a whole message */
	int tcp_max_per_client;         /* 128: TCP connections per client address, 0: no cap */
	int max_udp_size;               /* 1232: cap on a UDP reply, whatever the client's EDNS size */
	int rrl_rate;                   /* 0 = off: UDP responses per second per client prefix and class */
	int rrl_slip;                   /* 2: every rrl_slip-th limited reply is sent TC, 0: drop all */
	bool rrl_log_only;              /* count and log limited replies but send them */
	int rrl_ipv4_prefix;            /* 24 */
	int rrl_ipv6_prefix;            /* 56 */
	int rrl_table_size;             /* 65536 buckets (restart) */
	int nallow_recursion;           /* clients that may have names outside the domain forwarded */
	struct cidr allow_recursion[CONFIG_MAX_CIDR];

	/* etcd connection */
	bool etcd3;
	char path_prefix[CONFIG_STR];   /* "skydns" */
	char ip_monitor_path[CONFIG_STR]; /* "" = /<path_prefix>/monitor/status/ */
	bool random_one, host_one;      /* A/AAAA: one healthy address, at random / by client */
	bool pod_records;               /* a-b-c-d.<ns>.pod.<domain> answered from the name (CoreDNS "pods insecure") */
	int nmachines;
	char machines[CONFIG_MAX_MACHINES][CONFIG_STR];
	char ca_cert[CONFIG_PATH], tls_pem[CONFIG_PATH], tls_key[CONFIG_PATH];
	char username[CONFIG_STR], password[CONFIG_STR];

	/* operations */
	char metrics_addr[CONFIG_STR];  /* "" = off; from PROMETHEUS_PORT or -metrics-addr */
	char metrics_path[CONFIG_STR];  /* "/metrics" */
	char metrics_namespace[64];     /* "skydns" */
	char metrics_subsystem[64];     /* "skydns" */
	char health_addr[CONFIG_STR];   /* "" = on the metrics listener */
	int ready_max_age;              /* 0; >0: seconds a snapshot may be stale while etcd is down, for /readyz */
	int lameduck_ms;                /* 5000: after SIGTERM, not ready but answering for this long */
	int new_store_grace_ms;         /* 120000: a new etcd store may fill this long unpublished */
	char user[64];                  /* drop privileges to this user after binding */
	int workers;                    /* UDP workers; 0 = one per core */
};

/* Fill compiled defaults (domain skydns.local., machines http://127.0.0.1:2379, ...). */
void config_defaults(struct config *c);

/* Apply environment variables (SKYDNS_*, ETCD_*, PROMETHEUS_*), then argv
 * flags. Returns 0, 1 when -h/-version was handled (caller exits 0), or
 * SKY_EINVAL with a message already written to `err` (stderr normally).
 * A PROMETHEUS_PORT that is not a port is ignored with a warning on `err`. */
int config_from_args(struct config *c, int argc, char **argv, FILE *err);

/* Apply SkyDNS JSON config (etcd /<prefix>/config) on top of c. On any bad
 * key the whole document is rejected: returns SKY_EPARSE and writes
 * "key \"ttl\": not a number"-style text to why[whycap]; c is unchanged. */
int config_apply_json(struct config *c, const char *json, size_t len, char *why, size_t whycap);

/* Normalize: lower-case and make absolute domain/local, turn hostmaster's
 * '@' into '.', default nameservers from /etc/resolv.conf when none. */
void config_finish(struct config *c);

/* Names of keys whose change needs a restart, between two configs,
 * comma-separated into out ("" when none). */
void config_diff_restart(const struct config *old, const struct config *new_,
			 char *out, size_t cap);

/* Print -h text: every flag with its env var and default. */
void config_usage(FILE *out);

/* The same table as a man(7) page (skydns -help-man, run by the build). */
void config_man(FILE *out);

/* A Go duration ("2s", "1m30s", "500ms", "0") to milliseconds; 0 or
 * SKY_EINVAL/SKY_ERANGE. kube2sky parses its durations with it too. */
int config_parse_duration(const char *s, int *ms);

#endif
