/* scache.c - set-associative signature cache (see scache.h).
 *
 * Buckets of SCACHE_WAYS slots: lookup touches one bucket (one or two cache
 * lines of keys), memory is bounded by the capacity, and eviction prefers the
 * entry whose signature expires first, i.e. the one that would need
 * re-signing soonest anyway.
 */
#include "scache.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

#define SCACHE_WAYS 4

struct slot {
	uint8_t key[SCACHE_KEY];
	int64_t expire;
	uint8_t *val;    /* NULL = empty slot */
	size_t len;
};

struct scache {
	struct slot *slots;
	size_t nbuckets;
	struct scache_stats st;
};

struct scache *scache_new(size_t capacity)
{
	if (capacity == 0)
		return NULL;
	struct scache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->nbuckets = (capacity + SCACHE_WAYS - 1) / SCACHE_WAYS;
	c->slots = calloc(c->nbuckets * SCACHE_WAYS, sizeof(struct slot));
	if (!c->slots) {
		free(c);
		return NULL;
	}
	c->st.capacity = c->nbuckets * SCACHE_WAYS;
	return c;
}

void scache_free(struct scache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nbuckets * SCACHE_WAYS; i++)
		free(c->slots[i].val);
	free(c->slots);
	free(c);
}

static struct slot *bucket_of(const struct scache *c, const uint8_t key[SCACHE_KEY])
{
	/* The key is a cryptographic digest: any 8 bytes of it are uniform. */
	uint64_t h;
	memcpy(&h, key, sizeof(h));
	return &c->slots[(h % c->nbuckets) * SCACHE_WAYS];
}

const uint8_t *scache_get(struct scache *c, const uint8_t key[SCACHE_KEY], size_t *len,
			  int64_t *expire)
{
	struct slot *b = bucket_of(c, key);
	for (int i = 0; i < SCACHE_WAYS; i++) {
		if (b[i].val && memcmp(b[i].key, key, SCACHE_KEY) == 0) {
			c->st.hits++;
			*len = b[i].len;
			*expire = b[i].expire;
			return b[i].val;
		}
	}
	c->st.misses++;
	return NULL;
}

int scache_put(struct scache *c, const uint8_t key[SCACHE_KEY], const uint8_t *val, size_t len,
	       int64_t expire)
{
	struct slot *b = bucket_of(c, key), *victim = NULL;
	for (int i = 0; i < SCACHE_WAYS && !victim; i++)
		if (b[i].val && memcmp(b[i].key, key, SCACHE_KEY) == 0)
			victim = &b[i];
	for (int i = 0; i < SCACHE_WAYS && !victim; i++)
		if (!b[i].val)
			victim = &b[i];
	if (!victim) {
		victim = &b[0];
		for (int i = 1; i < SCACHE_WAYS; i++)
			if (b[i].expire < victim->expire)
				victim = &b[i];
		c->st.evictions++;
	}
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return SKY_ENOMEM;
	memcpy(copy, val, len);
	if (!victim->val)
		c->st.entries++;
	free(victim->val);
	memcpy(victim->key, key, SCACHE_KEY);
	victim->val = copy;
	victim->len = len;
	victim->expire = expire;
	c->st.inserts++;
	return 0;
}

void scache_stats(const struct scache *c, struct scache_stats *out)
{
	if (!c) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = c->st;
}
