/* health.h - the addresses a checker marked DOWN, as the read path sees
 * them (the ipdcode seed's `/<prefix>/monitor/status/<ip>` keys).
 *
 * A health set is immutable once made and shared by reference between
 * snapshots until the statuses change; counts are atomic. An address
 * without a status key, or with {"status":"UP"}, is up.
 */
#ifndef SKYDNS_HEALTH_H
#define SKYDNS_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct health;

/* One address: family 4 or 6 and msg_parse_ip()'s bytes. */
struct health_addr {
	uint8_t fam;
	uint8_t ip[16];
};

/* A status value: {"status":"DOWN"} -> *down = true, {"status":"UP"} -> false
 * (case-insensitive, other fields ignored). SKY_EINVAL for anything else,
 * with *why saying what. */
int health_parse_status(const char *value, size_t len, bool *down, const char **why);

/* The address a status key names: the last element of its path, an IPv4
 * or IPv6 literal. SKY_EINVAL if it is neither. */
int health_key_addr(const char *path, struct health_addr *out);

/* A set of the n DOWN addresses (copied); one reference to the caller.
 * NULL on ENOMEM. n may be 0. */
struct health *health_new(const struct health_addr *down, size_t n);
void health_ref(const struct health *h);
void health_unref(const struct health *h); /* NULL: no-op */

size_t health_count(const struct health *h); /* NULL: 0 */
/* Whether fam/ip (as msg_parse_ip gives them) is DOWN. NULL: never. */
bool health_is_down(const struct health *h, int fam, const uint8_t ip[16]);

#endif
