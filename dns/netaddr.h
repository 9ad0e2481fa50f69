/* netaddr.h - the one parser of "IP:port" text, for every listen address
 * (-addr, -metrics-addr, -health-addr, kube2sky's --health-addr) and every
 * forwarder ("nameservers"). Pure, no name lookups.
 */
#ifndef SKYDNS_NETADDR_H
#define SKYDNS_NETADDR_H

#include <stdint.h>
#include <sys/socket.h>

enum netaddr_kind {
	/* "127.0.0.1:53", "[::1]:53", ":53" (every IPv4 address); port 0 =
	 * any free port. */
	NETADDR_LISTEN,
	/* "10.0.0.1:53", "[fd00::1]:53", "10.0.0.1", "fd00::1", "[fd00::1]"
	 * (port 53 when none); port 1..65535. */
	NETADDR_PEER,
};

/* Returns 0 with *ss and *len set, or SKY_EINVAL. */
int netaddr_parse(const char *s, enum netaddr_kind kind, struct sockaddr_storage *ss,
		  socklen_t *len);

/* The port of an AF_INET or AF_INET6 address, host order; 0 for other families. */
unsigned netaddr_port(const struct sockaddr_storage *ss);

#endif
