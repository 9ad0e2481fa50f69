/* rrl.c - response-rate limiting: seeded hash of (prefix, class) onto a
 * fixed table of token buckets.
 *
 * Credit is kept in thousandths of a response so that a refill computed
 * every few milliseconds at a low rate is not rounded away (20/s refills
 * 0.02 responses per ms). A bucket untouched for a second or more is full,
 * which also means a bucket's stale state from another prefix that hashed
 * there earlier does no lasting harm.
 *
 * The slip counter is per bucket, as in BIND: "every slip-th limited
 * response" counts the responses that bucket limited, so the ratio is exact
 * for one flooding prefix whatever other clients do.
 */
#include "rrl.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STRIPES 64
#define MILLI 1000

struct bucket {
	int64_t refilled_ms; /* when credit was last brought up to date */
	int64_t logged_ms;   /* last "limiting" log line */
	int64_t credit;      /* thousandths of a response */
	uint32_t limited;    /* responses limited, for the slip ratio */
	bool used, logged;
};

struct rrl {
	struct bucket *b;
	size_t mask;
	uint64_t seed;
	pthread_mutex_t lock[STRIPES];
	_Atomic int64_t log_window; /* now_ms / RRL_LOG_INTERVAL_MS of log_lines */
	atomic_int log_lines;
};

struct rrl *rrl_new(size_t buckets, uint64_t seed)
{
	size_t n = 1;
	while (n < buckets && n < ((size_t)1 << 30))
		n <<= 1;
	struct rrl *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->b = calloc(n, sizeof *r->b);
	if (!r->b) {
		free(r);
		return NULL;
	}
	r->mask = n - 1;
	r->seed = seed;
	atomic_init(&r->log_window, -1);
	atomic_init(&r->log_lines, 0);
	for (int i = 0; i < STRIPES; i++)
		pthread_mutex_init(&r->lock[i], NULL);
	return r;
}

void rrl_free(struct rrl *r)
{
	if (!r)
		return;
	for (int i = 0; i < STRIPES; i++)
		pthread_mutex_destroy(&r->lock[i]);
	free(r->b);
	free(r);
}

size_t rrl_buckets(const struct rrl *r) { return r->mask + 1; }

/* The client's address cut to its prefix: 4 or 16 bytes in out, the
 * address family as the return value (0: not limited). */
static int client_prefix(const struct rrl_params *p, const struct sockaddr *sa, uint8_t out[16],
			 int *bits)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	int fam, len;
	memset(out, 0, 16);
	if (sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		fam = AF_INET, len = 4, *bits = p->ipv4_prefix;
	} else if (sa->sa_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		if (memcmp(a, mapped, 12) == 0) {
			memcpy(out, a + 12, 4);
			fam = AF_INET, len = 4, *bits = p->ipv4_prefix;
		} else {
			memcpy(out, a, 16);
			fam = AF_INET6, len = 16, *bits = p->ipv6_prefix;
		}
	} else {
		return 0;
	}
	if (*bits < 0)
		*bits = 0;
	if (*bits > len * 8)
		*bits = len * 8;
	for (int i = 0; i < len; i++) {
		int keep = *bits - i * 8;
		out[i] &= keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
	}
	return fam;
}

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static size_t bucket_index(const struct rrl *r, int fam, const uint8_t a[16], int bits,
			   enum rrl_class cls)
{
	uint64_t w0, w1;
	memcpy(&w0, a, 8);
	memcpy(&w1, a + 8, 8);
	uint64_t h = mix(r->seed ^ ((uint64_t)fam << 40 | (uint64_t)bits << 8 | (uint64_t)cls));
	h = mix(h ^ w0);
	h = mix(h ^ w1);
	return (size_t)h & r->mask;
}

/* Bring b's credit up to now and take one response from it: true when
 * there was credit for it. */
static bool bucket_take(struct bucket *b, int64_t rate, int64_t now_ms)
{
	int64_t burst = rate * MILLI;
	int64_t elapsed = now_ms - b->refilled_ms;
	if (!b->used || elapsed >= MILLI || elapsed < 0) {
		b->credit = burst; /* new, idle for a second, or a clock step back */
		b->used = true;
	} else {
		b->credit += elapsed * rate;
	}
	if (b->credit > burst)
		b->credit = burst; /* also after the rate was lowered live */
	b->refilled_ms = now_ms;
	if (b->credit >= MILLI) {
		b->credit -= MILLI;
		return true;
	}
	return false;
}

static enum rrl_verdict bucket_limit(struct bucket *b, const struct rrl_params *p, int64_t now_ms,
				     bool *log)
{
	if (!b->logged || now_ms - b->logged_ms >= RRL_LOG_INTERVAL_MS || now_ms < b->logged_ms) {
		b->logged = true;
		b->logged_ms = now_ms;
		*log = true;
	}
	if (p->log_only)
		return RRL_LOGGED;
	b->limited++;
	if (p->slip > 0 && b->limited % (uint32_t)p->slip == 0)
		return RRL_SLIP;
	return RRL_DROP;
}

/* The table-wide log budget; approximate under races, which is enough for
 * a bound on log volume. */
static bool log_budget(struct rrl *r, int64_t now_ms)
{
	int64_t w = now_ms / RRL_LOG_INTERVAL_MS;
	int64_t cur = atomic_load(&r->log_window);
	if (cur != w && atomic_compare_exchange_strong(&r->log_window, &cur, w))
		atomic_store(&r->log_lines, 0);
	return atomic_fetch_add(&r->log_lines, 1) < RRL_LOG_MAX_LINES;
}

enum rrl_verdict rrl_check(struct rrl *r, const struct rrl_params *p, const struct sockaddr *sa,
			   enum rrl_class cls, int64_t now_ms, bool *log)
{
	*log = false;
	if (!r || p->rate <= 0)
		return RRL_SEND;
	uint8_t a[16];
	int bits;
	int fam = client_prefix(p, sa, a, &bits);
	if (!fam)
		return RRL_SEND;
	size_t i = bucket_index(r, fam, a, bits, cls);
	pthread_mutex_t *m = &r->lock[i % STRIPES];
	pthread_mutex_lock(m);
	struct bucket *b = &r->b[i];
	enum rrl_verdict v = bucket_take(b, p->rate, now_ms) ? RRL_SEND
							      : bucket_limit(b, p, now_ms, log);
	pthread_mutex_unlock(m);
	if (*log && !log_budget(r, now_ms))
		*log = false;
	return v;
}

void rrl_prefix_str(const struct rrl_params *p, const struct sockaddr *sa, char *out,
		    size_t cap)
{
	uint8_t a[16];
	int bits;
	char ip[INET6_ADDRSTRLEN] = "";
	int fam = client_prefix(p, sa, a, &bits);
	if (!fam || !inet_ntop(fam, a, ip, sizeof ip)) {
		if (cap)
			out[0] = '\0';
		return;
	}
	snprintf(out, cap, "%s/%d", ip, bits);
}
