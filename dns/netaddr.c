#include "netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* Split s into host and port text; port is NULL when s has none. A bare
 * IPv6 literal (two colons, no brackets) is all host. */
static int split(const char *s, char *host, size_t cap, const char **port)
{
	size_t hl;
	*port = NULL;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || (rb[1] != '\0' && rb[1] != ':'))
			return SKY_EINVAL;
		hl = (size_t)(rb - s - 1);
		s++;
		if (rb[1] == ':')
			*port = rb + 2;
	} else {
		const char *colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL;
		hl = colon ? (size_t)(colon - s) : strlen(s);
		if (colon)
			*port = colon + 1;
	}
	if (hl >= cap)
		return SKY_EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	return SKY_OK;
}

int netaddr_parse(const char *s, enum netaddr_kind kind, struct sockaddr_storage *ss,
		  socklen_t *len)
{
	char host[64];
	const char *port;
	if (!s || split(s, host, sizeof host, &port) < 0)
		return SKY_EINVAL;
	long p = 53;
	if (port) {
		char *end;
		p = strtol(port, &end, 10);
		if (*port == '\0' || *end != '\0' || p < 0 || p > 65535)
			return SKY_EINVAL;
	}
	if (kind == NETADDR_LISTEN && !port)
		return SKY_EINVAL;
	if (kind == NETADDR_PEER && (p == 0 || host[0] == '\0'))
		return SKY_EINVAL;
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	if (host[0] == '\0' || inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET; /* "" leaves INADDR_ANY */
		v4->sin_port = htons((uint16_t)p);
		*len = sizeof *v4;
		return SKY_OK;
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)p);
		*len = sizeof *v6;
		return SKY_OK;
	}
	return SKY_EINVAL;
}

unsigned netaddr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}
