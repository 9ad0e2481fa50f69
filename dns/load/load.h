/* load.h - skydns-load's plan: the records and settings of a directory (a
 * mounted ConfigMap) as the etcd keys and values they stand for (issue 16:
 * custom records, stub zones and forwarders that survive pod restarts,
 * equivalent to CoreDNS's `hosts`, `stubDomains` and `forward`). Pure: no
 * I/O; load_main.c reads the files and writes etcd.
 *
 * Files (ConfigMap keys), each optional:
 *   records.json         {"<name>": {SkyDNS record} | [{record}, ...], ...}
 *                        names relative to the domain or absolute inside it;
 *                        a list puts each record at <name>/<hash label>
 *   hosts                "<address> <name> [<name>...]" lines (# comments), as
 *                        /etc/hosts and CoreDNS's hosts plugin
 *   stubDomains          kube-dns's key: {"<zone>": ["<ip>[:<port>]", ...]} ->
 *                        SkyDNS stub zones (stub.dns.<domain>; skydns needs
 *                        -stubzones)
 *   upstreamNameservers  kube-dns's key: ["<ip>[:<port>]", ...] -> the
 *                        "nameservers" of /skydns/config
 *   config.json          a SkyDNS /skydns/config object (upstreamNameservers,
 *                        when given, replaces its "nameservers")
 * A bad entry is left out with one warning naming the file and the entry;
 * everything else is planned.
 */
#ifndef SKYDNS_LOAD_H
#define SKYDNS_LOAD_H

#include <stddef.h>

struct load_kv {
	char *key;   /* full etcd key */
	char *value; /* JSON */
	size_t ord;  /* order planned in (the first of a key planned twice wins) */
};

/* Owned by the caller; zero-initialise, release with load_plan_clear. */
struct load_plan {
	struct load_kv *kv;
	size_t n, cap;
	char **warn; /* one line each */
	size_t nwarn;
	char *config_ns;   /* upstreamNameservers as a JSON array, or NULL */
	char *config_json; /* config.json as given, or NULL */
};

struct load_opts {
	const char *domain; /* "skydns.local." */
	const char *prefix; /* "skydns" */
};

/* The file names load_plan_file understands, NULL-terminated. */
extern const char *const load_files[];

/* Add what `file` (one of load_files) holding text[0..len) stands for.
 * 0, or SKY_ENOMEM; bad content is a warning, not an error. */
int load_plan_file(struct load_plan *p, const struct load_opts *o, const char *file,
		   const char *text, size_t len);

/* Finish: merge config.json and upstreamNameservers into one /<prefix>/config
 * entry, sort by key, and drop a key planned twice (warning; the first one
 * in load_files order wins). 0 or SKY_ENOMEM. */
int load_plan_finish(struct load_plan *p, const struct load_opts *o);

/* The planned value of key, or NULL (after load_plan_finish). */
const char *load_plan_get(const struct load_plan *p, const char *key);

void load_plan_clear(struct load_plan *p);

#endif
