/* rrl.h - response-rate limiting for UDP replies (config rrl_*), as NSD,
 * Knot and BIND do it: a reflected flood that spoofs a victim's address
 * is cut down to a trickle, while a real client behind that address still
 * gets through (a slipped reply has TC=1, so it retries over TCP, which
 * cannot be spoofed).
 *
 * Each client prefix (IPv4 /24, IPv6 /56 by default) and response class
 * (answer, NXDOMAIN, error) has a token bucket: `rate` responses per
 * second, burst = rate. A response that finds its bucket empty is limited:
 * every `slip`-th one is sent truncated, the others are dropped (slip 0:
 * drop all, slip 1: truncate all). In log-only mode a limited response is
 * still sent, only counted and logged.
 *
 * Memory is bounded whatever the clients send: the table has a fixed number
 * of buckets (rounded up to a power of two) and prefixes that hash to the
 * same bucket share it. The hash is seeded, so an attacker cannot aim at a
 * victim's bucket.
 *
 * Pure and thread-safe: time is passed in (a monotonic clock in ms), and
 * buckets are guarded by a small set of striped locks.
 */
#ifndef SKYDNS_RRL_H
#define SKYDNS_RRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* At most one "limiting" log line per bucket per interval, and at most
 * RRL_LOG_MAX_LINES over all buckets (a flood spoofing many prefixes must
 * not become a log flood). */
#define RRL_LOG_INTERVAL_MS 10000
#define RRL_LOG_MAX_LINES 50

struct rrl;

/* What a reply is, for its bucket (BIND's responses / nxdomains / errors). */
enum rrl_class { RRL_ANSWER, RRL_NXDOMAIN, RRL_ERROR };

enum rrl_verdict {
	RRL_SEND,   /* within the rate */
	RRL_DROP,   /* over the rate: send nothing */
	RRL_SLIP,   /* over the rate: send it truncated (TC=1, no records) */
	RRL_LOGGED, /* over the rate in log-only mode: send it anyway */
};

/* The live settings (config rrl_rate, rrl_slip, rrl_log_only,
 * rrl_ipv4_prefix, rrl_ipv6_prefix); read on every call, so they may change
 * between calls. rate 0 means off: every call returns RRL_SEND. */
struct rrl_params {
	int rate;        /* responses per second per prefix and class */
	int slip;        /* every slip-th limited response is truncated; 0: none */
	bool log_only;
	int ipv4_prefix; /* 0..32 */
	int ipv6_prefix; /* 0..128 */
};

/* A table of at least `buckets` buckets (rounded up to a power of two,
 * at least 1); seed keys the hash. NULL on ENOMEM. */
struct rrl *rrl_new(size_t buckets, uint64_t seed);
void rrl_free(struct rrl *r);

/* How many buckets the table holds (fixed at rrl_new). */
size_t rrl_buckets(const struct rrl *r);

/* Account one response of class `cls` to client `sa` (AF_INET or AF_INET6;
 * IPv4-mapped IPv6 counts as IPv4; other families are never limited) at
 * now_ms. *log is set true when the response is limited, its bucket has
 * not been logged for RRL_LOG_INTERVAL_MS (one line per prefix per
 * interval) and fewer than RRL_LOG_MAX_LINES were asked for in this
 * interval over the whole table; else false. */
enum rrl_verdict rrl_check(struct rrl *r, const struct rrl_params *p, const struct sockaddr *sa,
			   enum rrl_class cls, int64_t now_ms, bool *log);

/* The client's prefix as text ("10.0.0.0/24", "2001:db8::/56") for logs.
 * Writes "" for other families. */
void rrl_prefix_str(const struct rrl_params *p, const struct sockaddr *sa, char *out,
		    size_t cap);

#endif
