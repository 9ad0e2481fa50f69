#include "rcache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "pktwalk.h"

struct entry {
	struct entry *hnext;           /* bucket chain */
	struct entry *newer, *older;   /* LRU list */
	uint64_t hash;
	int64_t stored_ms, expires_ms;
	size_t klen, len;
	uint8_t *reply;
	char key[];
};

struct rcache {
	pthread_mutex_t mu;
	struct entry **buckets;
	size_t nbuckets, count;
	struct entry *newest, *oldest;
};

static uint64_t hash_key(const char *k, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)k[i]) * 0x100000001b3ull;
	return h;
}

struct rcache *rcache_new(void)
{
	struct rcache *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->nbuckets = 64;
	c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
	if (!c->buckets) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->mu, NULL);
	return c;
}

static void lru_unlink(struct rcache *c, struct entry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void lru_push(struct rcache *c, struct entry *e)
{
	e->older = c->newest;
	e->newer = NULL;
	if (c->newest)
		c->newest->newer = e;
	c->newest = e;
	if (!c->oldest)
		c->oldest = e;
}

static void entry_remove(struct rcache *c, struct entry *e)
{
	struct entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];
	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	lru_unlink(c, e);
	c->count--;
	free(e->reply);
	free(e);
}

static struct entry *entry_find(struct rcache *c, const char *key, size_t klen, uint64_t h)
{
	for (struct entry *e = c->buckets[h & (c->nbuckets - 1)]; e; e = e->hnext)
		if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
			return e;
	return NULL;
}

/* Double the table when it gets crowded; on ENOMEM keep the old one
 * (longer chains, still correct). */
static void maybe_grow(struct rcache *c)
{
	if (c->count < c->nbuckets)
		return;
	size_t n = c->nbuckets * 2;
	struct entry **nb = calloc(n, sizeof *nb);
	if (!nb)
		return;
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct entry *e = c->buckets[i];
		while (e) {
			struct entry *next = e->hnext;
			e->hnext = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
			e = next;
		}
	}
	free(c->buckets);
	c->buckets = nb;
	c->nbuckets = n;
}

void rcache_free(struct rcache *c)
{
	if (!c)
		return;
	while (c->oldest)
		entry_remove(c, c->oldest);
	free(c->buckets);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

int rcache_key(char *out, size_t cap, const char *name, uint16_t qtype, uint16_t qclass,
	       bool do_bit, bool cd, bool edns, bool tcp, char kind)
{
	int n = snprintf(out, cap, "%c%c%c%c%c %u %u ", kind, do_bit ? 'D' : '-', cd ? 'C' : '-',
			 edns ? 'E' : '-', tcp ? 'T' : 'U', qtype, qclass);
	if (n < 0 || (size_t)n >= cap)
		return SKY_ERANGE;
	size_t i = (size_t)n;
	for (const char *s = name; *s; s++) {
		if (i + 1 >= cap)
			return SKY_ERANGE;
		char ch = *s;
		out[i++] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
	}
	out[i] = 0;
	return (int)i;
}

int rcache_put(struct rcache *c, const char *key, size_t klen, const uint8_t *reply, size_t len,
	       uint32_t ttl, int64_t now_ms, size_t capacity)
{
	pthread_mutex_lock(&c->mu);
	uint64_t h = hash_key(key, klen);
	struct entry *old = entry_find(c, key, klen, h);
	if (old)
		entry_remove(c, old);
	while (c->count > 0 && c->count >= capacity)
		entry_remove(c, c->oldest);
	int rc = 0;
	if (capacity == 0 || ttl == 0)
		goto out;
	struct entry *e = malloc(sizeof *e + klen);
	uint8_t *copy = malloc(len ? len : 1);
	if (!e || !copy) {
		free(e);
		free(copy);
		rc = SKY_ENOMEM;
		goto out;
	}
	memcpy(e->key, key, klen);
	memcpy(copy, reply, len);
	e->klen = klen;
	e->reply = copy;
	e->len = len;
	e->hash = h;
	e->stored_ms = now_ms;
	e->expires_ms = now_ms + (int64_t)ttl * 1000;
	maybe_grow(c);
	struct entry **b = &c->buckets[h & (c->nbuckets - 1)];
	e->hnext = *b;
	*b = e;
	e->newer = e->older = NULL;
	lru_push(c, e);
	c->count++;
out:
	pthread_mutex_unlock(&c->mu);
	return rc;
}

int rcache_get(struct rcache *c, const char *key, size_t klen, int64_t now_ms, uint8_t *out,
	       size_t cap)
{
	pthread_mutex_lock(&c->mu);
	int rc = 0;
	struct entry *e = entry_find(c, key, klen, hash_key(key, klen));
	if (!e)
		goto out;
	if (now_ms >= e->expires_ms) {
		entry_remove(c, e);
		goto out;
	}
	if (e->len > cap) {
		rc = SKY_ERANGE;
		goto out;
	}
	memcpy(out, e->reply, e->len);
	lru_unlink(c, e);
	lru_push(c, e);
	rc = (int)e->len;
	int64_t age = (now_ms - e->stored_ms) / 1000;
	pthread_mutex_unlock(&c->mu);
	pktwalk_age(out, (size_t)rc, (uint32_t)age);
	return rc;
out:
	pthread_mutex_unlock(&c->mu);
	return rc;
}

void rcache_trim(struct rcache *c, size_t capacity)
{
	pthread_mutex_lock(&c->mu);
	while (c->count > capacity)
		entry_remove(c, c->oldest);
	pthread_mutex_unlock(&c->mu);
}

size_t rcache_count(struct rcache *c)
{
	pthread_mutex_lock(&c->mu);
	size_t n = c->count;
	pthread_mutex_unlock(&c->mu);
	return n;
}
