/* checker.h - skydns-check, the health checker: pieces shared by its files and
 * its unit tests.
 *
 * check_ring.c  rendezvous (highest random weight) hashing: which live
 *               checker checks an address. Pure.
 * check_scan.c  one round of checks: TCP connects to every port of every
 *               address at once (non-blocking, one poll loop, bounded by the
 *               timeout), optionally ICMP echo over unprivileged sockets;
 *               rise/fall hysteresis (pure).
 * check_main.c  flags, the etcd lease and loop, metrics and /healthz.
 */
#ifndef SKYDNS_CHECKER_H
#define SKYDNS_CHECKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- rendezvous hashing */

/* The weight of (checker id, address): a 64-bit hash of both. */
uint64_t check_weight(const char *checker, const char *addr);

/* Index into ids[0..n) of the checker that owns `addr`: the highest weight
 * (ties: the smaller id by strcmp, so every checker agrees). -1 if n == 0.
 * When a checker leaves, only the addresses it owned move; when one joins,
 * it takes about 1/n of them from the others. */
int check_owner(const char *const *ids, int n, const char *addr);

/* ---- hysteresis */

struct check_state {
	bool down;      /* the status this checker holds for the address */
	int streak;     /* consecutive results against `down` */
};

/* Feed one result (ok = reachable). Goes DOWN after `fall` failures in a row
 * while UP, UP after `rise` successes in a row while DOWN. Returns true when
 * the status changed. */
bool check_feed(struct check_state *s, bool ok, int rise, int fall);

/* ---- scanning */

struct check_target {
	char ip[64];       /* text form, as the status key names it */
	uint8_t addr[16];
	int family;        /* 4 or 6 */
	bool ok;           /* result of the last check_run */
};

/* How ICMP echoes are sent: not at all, over a datagram ICMP socket
 * (unprivileged, where net.ipv4.ping_group_range allows the group), or over
 * a raw socket (CAP_NET_RAW). */
enum check_icmp { CHECK_ICMP_OFF, CHECK_ICMP_DGRAM, CHECK_ICMP_RAW };

/* Check every target once: up if any of ports[0..nports) accepts a TCP
 * connection or (icmp not OFF) an echo reply comes back, within timeout_ms
 * for the whole round. Sets targets[i].ok. Returns 0 or SKY_E* (resources). */
int check_run(struct check_target *t, size_t n, const uint16_t *ports, int nports,
	      enum check_icmp icmp, int timeout_ms);

/* Pick the ICMP socket for want ("auto": datagram if allowed, else raw;
 * "dgram"; "raw") by opening one. 0 and *mode set, or SKY_EINVAL (bad
 * want) / SKY_EAUTH with *why set to a message naming the sysctl or the
 * capability to grant. */
int check_icmp_pick(const char *want, enum check_icmp *mode, const char **why);

/* "off", "dgram" or "raw". */
const char *check_icmp_name(enum check_icmp mode);

/* Parse "22,80,8080" into ports (up to cap). Returns the count or -1. */
int check_parse_ports(const char *s, uint16_t *ports, int cap);

#endif
