/* cidr.c - see cidr.h. */
#include "cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int cidr_parse(const char *s, struct cidr *out)
{
	char ip[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	if (len == 0 || len >= sizeof ip)
		return SKY_EINVAL;
	memcpy(ip, s, len);
	ip[len] = '\0';
	memset(out, 0, sizeof *out);
	unsigned max;
	struct in_addr a4;
	if (inet_pton(AF_INET, ip, &a4) == 1) {
		memcpy(out->addr, v4mapped, sizeof v4mapped);
		memcpy(out->addr + 12, &a4, 4);
		max = 32;
	} else if (inet_pton(AF_INET6, ip, out->addr) == 1) {
		max = 128;
	} else {
		return SKY_EINVAL;
	}
	unsigned long bits = max;
	if (slash) {
		char *end;
		if (slash[1] < '0' || slash[1] > '9')
			return SKY_EINVAL;
		bits = strtoul(slash + 1, &end, 10);
		if (*end || bits > max)
			return SKY_EINVAL;
	}
	out->bits = (uint8_t)(bits + (128 - max));
	for (unsigned i = out->bits; i < 128; i++)
		if (out->addr[i / 8] & (0x80 >> (i % 8)))
			return SKY_EINVAL;
	return 0;
}

static bool prefix_eq(const uint8_t a[16], const uint8_t b[16], unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xFF << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

bool cidr_match(const struct cidr *list, int n, const struct sockaddr *sa)
{
	uint8_t a[16];
	if (sa->sa_family == AF_INET) {
		memcpy(a, v4mapped, sizeof v4mapped);
		memcpy(a + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(a, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
	} else {
		return false;
	}
	for (int i = 0; i < n; i++)
		if (prefix_eq(a, list[i].addr, list[i].bits))
			return true;
	return false;
}
