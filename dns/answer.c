/* answer.c - growable RR sections and a chunked string arena.
 *
 * The arena is a list of chunks; answer_reset() keeps only the first (largest
 * retained) chunk so a worker that reuses one struct answer per query does
 * not allocate in the steady state. Chunks never move, so pointers returned
 * by answer_strdup() stay valid until reset/free even as the arena grows.
 */
#include "answer.h"

#include "err.h"

#include <stdlib.h>
#include <string.h>

struct answer_chunk {
	struct answer_chunk *next;
	size_t used, cap;
	max_align_t data[]; /* aligned so answer_alloc() can hold any object */
};

enum { CHUNK_MIN = 4096, RR_MIN = 8, EXT_MIN = 4 };

void answer_init(struct answer *a)
{
	memset(a, 0, sizeof(*a));
}

void answer_reset(struct answer *a)
{
	for (int s = 0; s < SEC_COUNT; s++)
		a->n[s] = 0;
	a->next = 0;
	a->rcode = RCODE_NOERROR;
	a->aa = a->ra = a->ad = a->tc = a->rd_clear = a->sign = a->varies = false;
	a->filtered = a->fail_open = false;
	a->time_unit = 0;
	struct answer_chunk *keep = a->arena;
	if (keep) {
		struct answer_chunk *c = keep->next;
		while (c) {
			struct answer_chunk *nx = c->next;
			free(c);
			c = nx;
		}
		keep->next = NULL;
		keep->used = 0;
	}
}

void answer_free(struct answer *a)
{
	for (int s = 0; s < SEC_COUNT; s++)
		free(a->rrs[s]);
	free(a->ext);
	struct answer_chunk *c = a->arena;
	while (c) {
		struct answer_chunk *nx = c->next;
		free(c);
		c = nx;
	}
	memset(a, 0, sizeof(*a));
}

/* Grow an array to hold at least one more element of size `sz`. */
static int grow(void **arr, size_t *cap, size_t n, size_t sz, size_t min)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : min;
	if (ncap < *cap || ncap > SIZE_MAX / sz)
		return -1;
	void *p = realloc(*arr, ncap * sz);
	if (!p)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

struct rr *answer_add(struct answer *a, int section, const struct rr *rr)
{
	if (section < 0 || section >= SEC_COUNT)
		return NULL;
	void *arr = a->rrs[section];
	if (grow(&arr, &a->cap[section], a->n[section], sizeof(struct rr), RR_MIN) != 0)
		return NULL;
	a->rrs[section] = arr;
	struct rr *dst = &a->rrs[section][a->n[section]++];
	*dst = *rr;
	return dst;
}

int answer_add_ext(struct answer *a, const char *name, uint16_t qtype, int section)
{
	if (section < 0 || section >= SEC_COUNT || !name)
		return SKY_EINVAL;
	void *arr = a->ext;
	if (grow(&arr, &a->capext, a->next, sizeof(struct ext_lookup), EXT_MIN) != 0)
		return SKY_ENOMEM;
	a->ext = arr;
	a->ext[a->next++] = (struct ext_lookup){ .name = name, .qtype = qtype,
						 .section = (uint8_t)section };
	return 0;
}

void *answer_alloc(struct answer *a, size_t len)
{
	const size_t align = sizeof(max_align_t);
	size_t need = (len + align - 1) / align * align;
	if (need < len)
		return NULL;
	struct answer_chunk *c = a->arena;
	/* Only the head chunk has room: older chunks were filled before it. */
	if (!c || c->cap - c->used < need) {
		size_t cap = need > CHUNK_MIN ? need : CHUNK_MIN;
		if (c && c->cap * 2 > cap && c->cap * 2 >= c->cap)
			cap = c->cap * 2;
		if (cap > SIZE_MAX - sizeof(*c))
			return NULL;
		struct answer_chunk *nc = malloc(sizeof(*nc) + cap);
		if (!nc)
			return NULL;
		nc->used = 0;
		nc->cap = cap;
		/* The newest (largest) chunk becomes the head, so reset keeps it. */
		nc->next = c;
		a->arena = nc;
		c = nc;
	}
	void *p = (char *)c->data + c->used;
	c->used += need;
	return p;
}

char *answer_strndup(struct answer *a, const char *s, size_t len)
{
	if (len == SIZE_MAX)
		return NULL;
	char *p = answer_alloc(a, len + 1);
	if (!p)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *answer_strdup(struct answer *a, const char *s)
{
	return answer_strndup(a, s, strlen(s));
}

void answer_time_unit(struct answer *a, uint32_t unit)
{
	if (!a->time_unit || unit < a->time_unit)
		a->time_unit = unit;
}
