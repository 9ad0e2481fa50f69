/* msg.h - SkyDNS's record format: the service JSON value and the mapping
 * between DNS names and etcd keys. Shared by skydns and kube2sky (as kube2sky
 * once imported SkyDNS's `msg` package). Pure: no I/O.
 *
 * Paths. An etcd key is "/<prefix>/<labels reversed>", e.g. with prefix
 * "skydns", 1.rails.east.skydns.local. <-> /skydns/local/skydns/east/rails/1.
 * Inside skydns, records are addressed by the *relative path* (the key with
 * "/<prefix>/" removed): "local/skydns/east/rails/1". Relative paths make
 * multi-element prefixes work (SkyDNS issue #285).
 *
 * Names are presentation-format strings, lower-cased ASCII, absolute (with
 * the trailing dot), escapes (\. \DDD) kept as text as SkyDNS does.
 */
#ifndef SKYDNS_MSG_H
#define SKYDNS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MSG_NAME_MAX 1024 /* presentation name incl. escapes and NUL */

/* One SkyDNS service value. Strings are owned by the struct (heap) after
 * msg_service_parse(); release with msg_service_clear(). Absent strings are
 * NULL. */
struct service {
	char *host;        /* IPv4/IPv6 literal, or a DNS name (no trailing dot needed) */
	uint16_t port;
	int32_t priority;  /* 0 = "use config priority" */
	int32_t weight;    /* 0 = counts as 100 */
	char *text;        /* TXT data */
	bool mail;         /* also an MX */
	uint32_t ttl;      /* 0 = not set */
	int32_t targetstrip;
	char *group;
};

/* Parse a SkyDNS JSON value (field names case-insensitive, unknown fields
 * ignored, as Go's encoding/json). A field of the wrong JSON type, a port
 * outside 0..65535, a negative ttl, or a value that is not a JSON object is
 * SKY_EPARSE; *why (if non-NULL) then points at a static description such as
 * "field \"port\": not a number". On success *out is filled (caller clears).
 * On error *out is left zeroed. */
int msg_service_parse(const char *json, size_t len, struct service *out, const char **why);

/* msg_service_parse, and the first member name that is not a SkyDNS field
 * copied to unknown (cap bytes; "" when every member is known). */
int msg_service_parse_ex(const char *json, size_t len, struct service *out, const char **why,
			 char *unknown, size_t cap);

/* Serialize to SkyDNS JSON (only non-default fields, "host" always). Returns
 * a malloc'd NUL-terminated string or NULL on ENOMEM. Used by kube2sky. */
char *msg_service_json(const struct service *svc);

/* Deep copy; SKY_ENOMEM on failure (dst zeroed). */
int msg_service_copy(struct service *dst, const struct service *src);

/* Free the strings and zero the struct. */
void msg_service_clear(struct service *svc);

/* True when two services are equal field by field. */
bool msg_service_equal(const struct service *a, const struct service *b);

/* Name -> relative path: lower-case, drop the trailing dot, reverse labels,
 * join with '/'. "1.rails.east.skydns.local." -> "local/skydns/east/rails/1".
 * The root "." gives "". Returns length or SKY_ERANGE if cap is too small. */
int msg_name_to_path(const char *name, char *out, size_t cap);

/* Relative path -> absolute name: "local/skydns/east/rails/1" ->
 * "1.rails.east.skydns.local.". Returns length or SKY_ERANGE. */
int msg_path_to_name(const char *path, size_t pathlen, char *out, size_t cap);

/* The etcd prefix without surrounding slashes ("/skydns/" -> "skydns",
 * *len = 6); points into `prefix`, not NUL-terminated at *len. */
const char *msg_prefix_trim(const char *prefix, size_t *len);

/* Full etcd key for a name: "/<prefix>/<path>". Returns length or SKY_ERANGE. */
int msg_name_to_key(const char *prefix, const char *name, char *out, size_t cap);

/* Strip "/<prefix>/" from an etcd key; returns a pointer into key, or NULL if
 * the key is not under the prefix ("/skydnsx/..." is not under "skydns"). */
const char *msg_key_to_path(const char *prefix, const char *key);

/* The hex label ("%x") under a name for one of its several records, as
 * skydns-api and skydns-load write them: FNV-1a 32 of what the record holds. */
uint32_t msg_label_hash(const char *s);

/* Parse an IP literal as Go's net.ParseIP does (IPv4-mapped IPv6 counts as
 * IPv4). Returns 4 (out[0..3] set), 6 (out[0..15] set) or 0 (not an IP). */
int msg_parse_ip(const char *s, uint8_t out[16]);

#endif
