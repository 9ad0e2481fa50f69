/* dname.c - name rules. The length rules are RFC 1035's (labels of 63
 * bytes, names of 255 on the wire); escapes are decoded as wire.c does so
 * that a name accepted here always encodes there. */
#include "dname.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "msg.h"

static int fail(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return SKY_EPARSE;
}

/* Bytes taken by the escape after a backslash at s (the byte, or \DDD
 * with DDD <= 255); 0 when malformed. */
static size_t escape_len(const char *s)
{
	if (s[0] >= '0' && s[0] <= '9') {
		if (!(s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9'))
			return 0;
		int v = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
		return v > 255 ? 0 : 3;
	}
	return s[0] ? 1 : 0;
}

int dname_check(const char *name, const char **why)
{
	if (!name || !*name)
		return fail(why, "empty name");
	if (strcmp(name, ".") == 0)
		return 0;
	size_t wire = 1; /* the root label */
	const char *s = name;
	while (*s) {
		size_t l = 0;
		while (*s && *s != '.') {
			if (*s == '\\') {
				size_t n = escape_len(s + 1);
				if (!n)
					return fail(why, "bad escape");
				s += 1 + n;
			} else {
				s++;
			}
			l++;
		}
		if (l == 0)
			return fail(why, "empty label");
		if (l > DNAME_LABEL_MAX)
			return fail(why, "label over 63 bytes");
		wire += 1 + l;
		if (wire > DNAME_WIRE_MAX)
			return fail(why, "name over 255 bytes");
		if (*s == '.')
			s++;
	}
	return 0;
}

int dname_check_host(const char *host, const char **why)
{
	uint8_t ip[16];
	if (host && msg_parse_ip(host, ip))
		return 0;
	return dname_check(host, why);
}

int dname_in_domain(const char *domain, const char *in, char *out, size_t cap, const char **why)
{
	char tmp[1024];
	size_t n = strlen(in), dl = strlen(domain) - 1; /* domain without its dot */
	if (n == 0)
		return fail(why, "empty name");
	if (n >= sizeof tmp - 1)
		return fail(why, "name over 255 bytes");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c <= ' ' || c >= 0x7f || c == '/' || c == '"')
			return fail(why, "name has a character that is not allowed (space, control, "
					 "'/', '\"' or non-ASCII)");
		tmp[i] = (char)tolower(c);
	}
	tmp[n] = 0;
	bool absolute = tmp[n - 1] == '.';
	size_t m = n - absolute;
	bool inside = (m == dl && memcmp(tmp, domain, dl) == 0) ||
		      (m > dl && tmp[m - dl - 1] == '.' && memcmp(tmp + m - dl, domain, dl) == 0);
	if (absolute && !inside && n != 1)
		return fail(why, "outside the domain");
	tmp[m] = 0;
	int w = inside ? snprintf(out, cap, "%s.", tmp) : snprintf(out, cap, "%s.%s", tmp, domain);
	if (w < 0 || (size_t)w >= cap)
		return fail(why, "name over 255 bytes");
	return dname_check(out, why);
}

