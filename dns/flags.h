/* flags.h - the command line of the small daemons (skydns-check,
 * skydns-load): a table of flags, each with an optional environment
 * variable, parsed in skydns's style (-flag value, -flag=value, --flag;
 * booleans bare or =true/=false). skydns itself has its config table
 * (config.h), which also reads etcd's /skydns/config.
 */
#ifndef SKYDNS_FLAGS_H
#define SKYDNS_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct etcd_opts;

enum flag_type {
	FLAG_STR,  /* const char * (points into argv or the environment) */
	FLAG_BOOL, /* bool */
	FLAG_SECS, /* double seconds: "5", "1.5s", "500ms", "2m" */
	FLAG_INT,  /* int, 1 .. 1000000 */
};

struct flag {
	const char *name; /* without the dash */
	const char *env;  /* NULL: none */
	enum flag_type type;
	void *dst;
	const char *help;
};

/* What the man page says besides the flags. */
struct flags_doc {
	const char *summary;     /* NAME line: "prog \- summary" */
	const char *synopsis;    /* after the program name */
	const char *description; /* one paragraph */
	const char *see_also;    /* "skydns(1), kube2sky(1)" */
};

/* Set every flag from its environment variable, then from argv. -h/-help
 * prints the usage to stdout and exits 0; -version prints
 * "<prog> <project version>" and exits 0; the hidden -help-man (run by the
 * build, cmake/manpage.cmake) prints the man page from the same table, with
 * the defaults as they are before the environment is read, and exits 0.
 * Returns 0, or -1 after one line on stderr naming the flag or variable
 * (and the usage for an unknown flag). */
int flags_parse(const char *prog, const struct flag *t, size_t n, const struct flags_doc *doc,
		int argc, char **argv);

/* The man page (manpage.h) of prog's flag table. */
void flags_man(FILE *f, const char *prog, const struct flag *t, size_t n,
	       const struct flags_doc *doc);

/* "usage: <prog> [flags]" and one line per flag. */
void flags_usage(FILE *f, const char *prog, const struct flag *t, size_t n);

/* The etcd client flags, spelt as skydns's (-machines, -etcd3, the TLS and
 * auth ones), for a daemon's table: FLAGS_ETCD(o.etcd, "<-etcd3 help>") in
 * its struct flag array, FLAGS_ETCD_DEFAULTS in its options' initialiser. */
struct flags_etcd {
	const char *machines, *ca_cert, *tls_pem, *tls_key, *username, *password;
	bool etcd3;
	char buf[2048];    /* machines split by flags_etcd_opts */
	const char *mv[32];
};
#define FLAGS_ETCD_DEFAULTS                                                                 \
	{ .machines = "http://127.0.0.1:2379", .ca_cert = "", .tls_pem = "", .tls_key = "", \
	  .username = "", .password = "" }
#define FLAGS_ETCD(e, etcd3_help)                                                                   \
	{ "machines", "ETCD_MACHINES", FLAG_STR, &(e).machines, "comma-separated etcd members" },   \
	{ "etcd3", NULL, FLAG_BOOL, &(e).etcd3, etcd3_help },                                        \
	{ "ca-cert", "ETCD_CACERT", FLAG_STR, &(e).ca_cert, "etcd CA certificate (PEM)" },          \
	{ "tls-pem", "ETCD_TLSPEM", FLAG_STR, &(e).tls_pem, "etcd client certificate (PEM)" },      \
	{ "tls-key", "ETCD_TLSKEY", FLAG_STR, &(e).tls_key, "etcd client key (PEM)" },              \
	{ "username", "ETCD_USERNAME", FLAG_STR, &(e).username, "etcd user" },                      \
	{ "password", "ETCD_PASSWORD", FLAG_STR, &(e).password, "etcd password" }

/* etcd_new's options from the flags; they point into e, which must outlive
 * them. SKY_EINVAL when -machines names no member. */
int flags_etcd_opts(struct flags_etcd *e, struct etcd_opts *out);

/* "5", "1.5s", "500ms", "2m" -> seconds; false when it does not parse. */
int flags_parse_secs(const char *s, double *out);

#endif
