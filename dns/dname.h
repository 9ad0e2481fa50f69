/* dname.h - the structural rules a DNS name must obey before it can go on
 * the wire (RFC 1035 §2.3.4, §3.1): what skydns accepts from etcd and what
 * kube2sky writes. Pure: no I/O, no allocation.
 *
 * Names are presentation strings as in msg.h: labels separated by '.',
 * "\." and "\DDD" escapes count as one byte, a trailing dot is optional
 * (relative names are measured as if absolute), "." is the root.
 */
#ifndef SKYDNS_DNAME_H
#define SKYDNS_DNAME_H

#include <stddef.h>

#define DNAME_LABEL_MAX 63  /* bytes in one label */
#define DNAME_WIRE_MAX 255  /* bytes of the whole name on the wire */

/* 0 when `name` is a valid name: every label 1..63 bytes (no empty label
 * from "a..b" or a leading '.', except the root "." itself), escapes well
 * formed, wire length <= 255. Else SKY_EPARSE, and *why (if non-NULL) points
 * at a static reason: "empty label", "label over 63 bytes", "name over 255
 * bytes", "bad escape", "empty name". */
int dname_check(const char *name, const char **why);

/* 0 when `host` (a SkyDNS "host" value) can be answered: an IP address
 * (msg_parse_ip) or a valid name per dname_check(). An empty host is not a
 * host: SKY_EPARSE with *why "empty name"; callers treat "no host" first. */
int dname_check_host(const char *host, const char **why);

/* `in`, relative to `domain` (absolute, lower-case: "skydns.local.") or
 * absolute inside it (trailing dot optional for relative), as the absolute
 * lower-case name in out[cap]; the input may not hold spaces, controls,
 * '/', '"' or non-ASCII bytes. 0, or SKY_EPARSE with *why ("outside the
 * domain", "empty label", ...). skydns-api's and skydns-load's names. */
int dname_in_domain(const char *domain, const char *in, char *out, size_t cap, const char **why);

#endif
