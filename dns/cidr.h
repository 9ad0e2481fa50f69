/* cidr.h - address prefixes ("10.0.0.0/8", "fd00::/8", "127.0.0.1") and
 * matching a client's address against a list of them, for allow_recursion.
 * Pure, no allocation: a list is a caller-owned array.
 */
#ifndef SKYDNS_CIDR_H
#define SKYDNS_CIDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* IPv4 prefixes are held in their IPv4-mapped IPv6 form (::ffff:a.b.c.d,
 * bits + 96), so that an IPv4 client on a dual-stack socket matches them. */
struct cidr {
	uint8_t addr[16];
	uint8_t bits; /* 0..128 */
};

/* Parse "IP/len" or a bare "IP" (a host prefix). Bits past the prefix must
 * be zero ("10.0.0.1/8" is refused: it is probably a typo). Returns 0 or
 * SKY_EINVAL. */
int cidr_parse(const char *s, struct cidr *out);

/* Whether the AF_INET or AF_INET6 address `sa` lies in any of list[0..n). */
bool cidr_match(const struct cidr *list, int n, const struct sockaddr *sa);

#endif
