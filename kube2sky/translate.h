/* translate.h - Kubernetes objects -> the SkyDNS records kube2sky owns.
 * Pure: no I/O, no clock, no globals.
 *
 * Layout (zone cluster.local., prefix skydns), following the old kube2sky so
 * SkyDNS directory semantics give the schema 1.1.0 answers:
 *   ClusterIP A/AAAA  /skydns/local/cluster/svc/<ns>/<svc>/<h>            {"host":"<ip>"}
 *   named port SRV    /skydns/local/cluster/svc/<ns>/<svc>/_<proto>/_<port>/<h>
 *                                                     {"host":"<svc>.<ns>.svc.<zone>.","port":<svc port>}
 *   headless endpoint /skydns/local/cluster/svc/<ns>/<svc>/<label>/<h>    {"host":"<ep ip>"}
 *                     label = the endpoint hostname when it is a DNS-1123 label, else the
 *                     dashed IP (10-0-0-1, fd00--1), so it is stable and resolvable
 *   headless SRV      .../<svc>/_<proto>/_<port>/<h>  {"host":"<label>.<svc>.<ns>.svc.<zone>.","port":<ep port>}
 *   PTR               /skydns/arpa/in-addr/<a>/<b>/<c>/<d> and /skydns/arpa/ip6/<32 nibbles>
 *                                                     {"host":"<fqdn the address belongs to>"}
 *   ExternalName      /skydns/local/cluster/svc/<ns>/<svc>/<h>            {"host":"<external name>"}
 *   schema version    /skydns/local/cluster/dns-version                   {"text":"1.1.0"}
 * <h> is the FNV-32a hash (hex) of the JSON value, as kube2sky did, so every
 * record has its own leaf. Headless services with no ready endpoint get no
 * records at all (NXDOMAIN, spec 2.4.1).
 */
#ifndef K2S_TRANSLATE_H
#define K2S_TRANSLATE_H

#include <stdint.h>

#include "kobj.h"

#define K2S_SCHEMA_VERSION "1.1.0"

struct translate_opts {
	const char *prefix;  /* "skydns" */
	const char *zone;    /* "cluster.local." (lower-case, absolute) */
	uint32_t ttl;        /* record TTL (kube2sky: 30) */
	int32_t priority;    /* 10 */
	int32_t weight;      /* 10 */
};

struct k2s_rec {
	char *key;    /* full etcd key */
	char *value;  /* SkyDNS JSON */
};

/* A set of records, sorted by key with unique keys after translate_*(),
 * and why some were not written: skips[i] is a reason such as
 * "externalName \"<name>\": label over 63 bytes" (each text once; the
 * caller logs them with the object's namespace/name). Owns its strings.
 * Zero-initialise before first use. */
struct k2s_recset {
	struct k2s_rec *recs;
	int n, cap;
	char **skips;
	int nskips;
};

void recset_clear(struct k2s_recset *rs);
/* Binary search; NULL when absent. */
const struct k2s_rec *recset_find(const struct k2s_recset *rs, const char *key);

/* The records of one service given its endpoint objects (slices or the v1
 * Endpoints; only those whose `service` matches are expected). Appends to a
 * cleared `out` and sorts it. What cannot be written is left out and noted
 * in out->skips, the rest is written: a namespace or name that is not a
 * DNS label (no records at all), an ExternalName that is not a valid name,
 * a clusterIP or endpoint IP that is not an address, a port name or
 * protocol that is not a label, a name over 255 bytes. 0 or SKY_ENOMEM /
 * SKY_ERANGE. */
int translate_service(const struct translate_opts *o, const struct ksvc *svc,
		      const struct keps *const *eps, int neps, struct k2s_recset *out);

/* Records that belong to no service (dns-version). */
int translate_global(const struct translate_opts *o, struct k2s_recset *out);

/* Key prefixes (with trailing '/') under which kube2sky owns records:
 * the zone's svc/ directory and the two reverse trees. out[i] are
 * written into bufs of cap bytes each. Returns the count (3) or SKY_ERANGE. */
int translate_owned_prefixes(const struct translate_opts *o, char out[][512], int max);

/* Which service a key/value found in etcd belongs to: writes "ns/name" into
 * owner (cap >= 512), or "" for global records. SKY_ENOTFOUND when the record
 * is not kube2sky's (a PTR whose host is outside <zone>'s svc tree, a key
 * outside the owned prefixes). */
int translate_owner(const struct translate_opts *o, const char *key, const char *value,
		    char *owner, unsigned cap);

/* Helpers exposed for tests. */
uint32_t translate_fnv32a(const char *s);
/* Reverse name of an IP ("4.3.2.1.in-addr.arpa.", nibbles for v6) and its
 * dashed label. Return 0 or SKY_EINVAL (not an IP). */
int translate_reverse_name(const char *ip, char *out, unsigned cap);
int translate_dashed_ip(const char *ip, char *out, unsigned cap);

#endif
