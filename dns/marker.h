/* marker.h - the zone marker kube2sky leaves in etcd so skydns knows which
 * zone follows the Kubernetes DNS specification rather than SkyDNS's
 * directory semantics. Pure: no I/O, no clock.
 *
 * Key   /<prefix>/kube2sky/<zone without the trailing dot>
 *       e.g. /skydns/kube2sky/cluster.local
 * Value {"zone":"cluster.local.","schema":"1.1.0","synced":<unix seconds of
 *       the last full sync>,"id":"<16 hex chars, one per kube2sky process>"}
 *
 * kube2sky writes it after its first full sync and after every later one,
 * and never deletes it. skydns's mirror keeps every key under kube2sky/ out
 * of the record table (like config) and gives the parsed markers to the
 * snapshot as managed zones.
 */
#ifndef SKYDNS_MARKER_H
#define SKYDNS_MARKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"

#define MARKER_DIR "kube2sky"    /* relative path of the markers' directory */
#define MARKER_ID_LEN 16

struct marker {
	char zone[MSG_NAME_MAX];     /* absolute, lower-case: "cluster.local." */
	char schema[16];             /* "1.1.0"; "" when the value has none */
	int64_t synced;              /* unix seconds; 0 when absent */
	char id[MARKER_ID_LEN + 1];  /* "" when absent */
};

/* The etcd key of zone's marker into out: "/skydns/kube2sky/cluster.local".
 * Returns its length, SKY_EINVAL for a zone that is not a domain name, or
 * SKY_ERANGE when cap is too small. */
int marker_key(const char *prefix, const char *zone, char *out, size_t cap);

/* The JSON value for m into out (NUL-terminated). Returns its length,
 * SKY_EINVAL (zone not a domain name, id not hex) or SKY_ERANGE. */
int marker_format(const struct marker *m, char *out, size_t cap);

/* Parse the marker at relative path `path` ("kube2sky/cluster.local") with
 * value json. The zone must be a domain name and agree with the path; the
 * other fields are optional but must have the right type. 0, or SKY_EPARSE
 * with *why set to a static reason. */
int marker_parse(const char *path, const char *json, size_t len, struct marker *out,
		 const char **why);

/* Is path a marker's ("kube2sky" or below)? Such keys are never records. */
bool marker_is_path(const char *path);

/* Is path a marker itself ("kube2sky/<zone>", one component)? Keys below
 * one ("kube2sky/cluster.local/leader", kube2sky's election) are
 * kube2sky's own: neither records nor markers, the mirror skips them. */
bool marker_is_key(const char *path);

/* The etcd key kube2sky replicas elect their writer on, next to the
 * zone's marker: "/skydns/kube2sky/cluster.local/leader". Returns its
 * length, SKY_EINVAL or SKY_ERANGE as marker_key. */
int marker_leader_key(const char *prefix, const char *zone, char *out, size_t cap);

#endif
