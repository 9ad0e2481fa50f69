/* acache.c - per-worker reply cache (see acache.h).
 *
 * Four-way set associative: a query hashes (without the snapshot serial) to
 * one bucket of four ways, each with a 32-bit tag of the hash kept in the
 * bucket, so a lookup touches one cache line and dereferences only a way
 * whose tag matches. The serial is left out of the hash so that, after a
 * publish, the same query lands on its stale entry and overwrites it in
 * place. A full bucket evicts a way not hit since it was stored (NRU, with a
 * hand to rotate among them), so a stream of one-off names (random NXDOMAIN
 * queries, a cache-busting client) replaces itself and not the hot replies.
 * Entries are one allocation (key bytes, then reply bytes), reused in place
 * when the new one fits.
 */
#include "acache.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define WAYS 4

struct entry {
	struct acache_key k;
	int64_t from, to; /* valid in these unix seconds */
	uint32_t qlen, rlen, cap; /* query bytes after the ID, reply bytes, room */
	uint8_t data[];           /* qlen query bytes, then rlen reply bytes */
};

struct bucket {
	uint32_t tag[WAYS]; /* 0: the way is empty */
	uint8_t ref;        /* bit i: way i hit since the hand passed it */
	uint8_t hand;
	struct entry *e[WAYS];
} __attribute__((aligned(64)));

struct acache {
	struct bucket *b;
	size_t mask; /* buckets - 1 */
	/* Written by the owning thread only; read by metrics scrapes. */
	_Atomic uint64_t hits, misses;
};

struct acache *acache_new(unsigned slots)
{
	size_t n = 1;
	while (n * WAYS < slots)
		n <<= 1;
	struct acache *c = calloc(1, sizeof *c);
	if (!c || !(c->b = aligned_alloc(64, n * sizeof *c->b))) {
		free(c);
		return NULL;
	}
	memset(c->b, 0, n * sizeof *c->b);
	c->mask = n - 1;
	return c;
}

void acache_free(struct acache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i <= c->mask; i++)
		for (int w = 0; w < WAYS; w++)
			free(c->b[i].e[w]);
	free(c->b);
	free(c);
}

/* Word at a time (queries are ~30-60 bytes and hashed on every query). */
static uint64_t key_hash(const struct acache_key *k, const uint8_t *q, size_t qlen)
{
	uint64_t h = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)k->udp_size << 40) ^ ((uint64_t)k->tcp << 58) ^
		     ((uint64_t)k->recursion_denied << 59) ^ qlen;
	size_t i = 0;
	for (; i + 8 <= qlen; i += 8) {
		uint64_t w;
		memcpy(&w, q + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	uint64_t w = 0;
	memcpy(&w, q + i, qlen - i);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 29);
}

static uint32_t tag_of(uint64_t h) { return (uint32_t)(h >> 32) | 1; }

/* The same question from the same kind of client (any serial, any time). */
static bool same_query(const struct entry *e, const struct acache_key *k, const uint8_t *q,
		       size_t qlen)
{
	return e->qlen == qlen && e->k.udp_size == k->udp_size && e->k.tcp == k->tcp &&
	       e->k.recursion_denied == k->recursion_denied && memcmp(e->data, q, qlen) == 0;
}

static void count(_Atomic uint64_t *n)
{
	atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

int acache_get(struct acache *c, const struct acache_key *k, int64_t now, const uint8_t *pkt,
	       size_t len, uint8_t *out, size_t cap)
{
	if (!c || len <= 2)
		return 0;
	uint64_t h = key_hash(k, pkt + 2, len - 2);
	struct bucket *b = &c->b[h & c->mask];
	uint32_t tag = tag_of(h);
	for (int w = 0; w < WAYS; w++) {
		const struct entry *e = b->e[w];
		if (b->tag[w] != tag || !same_query(e, k, pkt + 2, len - 2))
			continue;
		if (e->k.serial != k->serial || now < e->from || now > e->to || e->rlen > cap)
			break;
		b->ref |= (uint8_t)(1u << w);
		count(&c->hits);
		memcpy(out, e->data + e->qlen, e->rlen);
		out[0] = pkt[0]; /* the asker's ID */
		out[1] = pkt[1];
		return (int)e->rlen;
	}
	count(&c->misses);
	return 0;
}

/* The way to store the query in: its own (stale) entry, an empty way, or
 * a way not hit since it was stored (from the hand on); when every way was
 * hit, the hand's way goes. Clearing every mark then would be textbook NRU,
 * but it lets the next newcomer evict another hot reply, whose return evicts
 * a third (a simulated hot set lost 9 % of its asks that way, 4 % without). */
static int pick_way(struct bucket *b, uint32_t tag, const struct acache_key *k, const uint8_t *q,
		    size_t qlen)
{
	for (int w = 0; w < WAYS; w++)
		if (b->tag[w] == tag && same_query(b->e[w], k, q, qlen))
			return w;
	for (int w = 0; w < WAYS; w++)
		if (!b->tag[w])
			return w;
	int w = b->hand;
	for (int i = 0; i < WAYS && (b->ref & (1u << w)); i++)
		w = (w + 1) % WAYS;
	b->hand = (uint8_t)((w + 1) % WAYS);
	return w;
}

void acache_put(struct acache *c, const struct acache_key *k, int64_t from, int64_t to,
		const uint8_t *pkt, size_t len, const uint8_t *reply, size_t n)
{
	if (!c || len <= 2 || n < 12 || n > ACACHE_MAX_REPLY || len > ACACHE_MAX_REPLY)
		return;
	size_t qlen = len - 2;
	uint64_t h = key_hash(k, pkt + 2, qlen);
	struct bucket *b = &c->b[h & c->mask];
	uint32_t tag = tag_of(h);
	int w = pick_way(b, tag, k, pkt + 2, qlen);
	struct entry *e = b->e[w];
	b->ref &= (uint8_t) ~(1u << w);
	if (!e || e->cap < qlen + n) {
		free(e);
		b->e[w] = e = malloc(sizeof *e + qlen + n);
		if (!e) {
			b->tag[w] = 0;
			return;
		}
		e->cap = (uint32_t)(qlen + n);
	}
	b->tag[w] = tag;
	e->k = *k;
	e->from = from;
	e->to = to;
	e->qlen = (uint32_t)qlen;
	e->rlen = (uint32_t)n;
	memcpy(e->data, pkt + 2, qlen);
	memcpy(e->data + qlen, reply, n);
}

void acache_counts(const struct acache *c, uint64_t *hits, uint64_t *misses)
{
	*hits = c ? atomic_load_explicit(&((struct acache *)c)->hits, memory_order_relaxed) : 0;
	*misses = c ? atomic_load_explicit(&((struct acache *)c)->misses, memory_order_relaxed) : 0;
}
