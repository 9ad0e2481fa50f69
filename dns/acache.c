/* acache.c - per-worker reply cache (see acache.h).
 *
 * Direct-mapped: a slot holds one entry; a colliding store replaces it.
 * Entries are one allocation (key bytes, then reply bytes), reused in place
 * when the new one fits. Stale entries (older serial or second) are never
 * swept: they miss and are overwritten.
 */
#include "acache.h"

#include <stdlib.h>
#include <string.h>

struct entry {
	struct acache_key k;
	int64_t from, to; /* valid in these unix seconds */
	uint64_t hash;
	uint32_t qlen, rlen, cap; /* query bytes after the ID, reply bytes, room */
	uint8_t data[];           /* qlen query bytes, then rlen reply bytes */
};

struct acache {
	struct entry **slot;
	size_t mask;
	uint64_t hits, misses;
};

struct acache *acache_new(unsigned slots)
{
	size_t n = 1;
	while (n < slots)
		n <<= 1;
	struct acache *c = calloc(1, sizeof *c);
	if (!c || !(c->slot = calloc(n, sizeof *c->slot))) {
		free(c);
		return NULL;
	}
	c->mask = n - 1;
	return c;
}

void acache_free(struct acache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i <= c->mask; i++)
		free(c->slot[i]);
	free(c->slot);
	free(c);
}

/* Word at a time (queries are ~30-60 bytes and hashed on every query). */
static uint64_t key_hash(const struct acache_key *k, const uint8_t *q, size_t qlen)
{
	uint64_t h = 0x9E3779B97F4A7C15ULL ^ k->serial ^ ((uint64_t)k->udp_size << 40) ^ ((uint64_t)k->tcp << 58) ^
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

static bool same_key(const struct entry *e, const struct acache_key *k, uint64_t h,
		     const uint8_t *q, size_t qlen)
{
	return e->hash == h && e->qlen == qlen && e->k.serial == k->serial &&
	       e->k.udp_size == k->udp_size && e->k.tcp == k->tcp &&
	       e->k.recursion_denied == k->recursion_denied && memcmp(e->data, q, qlen) == 0;
}

int acache_get(struct acache *c, const struct acache_key *k, int64_t now, const uint8_t *pkt,
	       size_t len, uint8_t *out, size_t cap)
{
	if (!c || len <= 2)
		return 0;
	uint64_t h = key_hash(k, pkt + 2, len - 2);
	const struct entry *e = c->slot[h & c->mask];
	if (!e || !same_key(e, k, h, pkt + 2, len - 2) || now < e->from || now > e->to ||
	    e->rlen > cap) {
		c->misses++;
		return 0;
	}
	c->hits++;
	memcpy(out, e->data + e->qlen, e->rlen);
	out[0] = pkt[0]; /* the asker's ID */
	out[1] = pkt[1];
	return (int)e->rlen;
}

void acache_put(struct acache *c, const struct acache_key *k, int64_t from, int64_t to,
		const uint8_t *pkt, size_t len, const uint8_t *reply, size_t n)
{
	if (!c || len <= 2 || n < 12 || n > ACACHE_MAX_REPLY || len > ACACHE_MAX_REPLY)
		return;
	size_t qlen = len - 2;
	uint64_t h = key_hash(k, pkt + 2, qlen);
	struct entry **pe = &c->slot[h & c->mask], *e = *pe;
	if (!e || e->cap < qlen + n) {
		free(e);
		*pe = e = malloc(sizeof *e + qlen + n);
		if (!e)
			return;
		e->cap = (uint32_t)(qlen + n);
	}
	e->k = *k;
	e->from = from;
	e->to = to;
	e->hash = h;
	e->qlen = (uint32_t)qlen;
	e->rlen = (uint32_t)n;
	memcpy(e->data, pkt + 2, qlen);
	memcpy(e->data + qlen, reply, n);
}

void acache_counts(const struct acache *c, uint64_t *hits, uint64_t *misses)
{
	*hits = c ? c->hits : 0;
	*misses = c ? c->misses : 0;
}
