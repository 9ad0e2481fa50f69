#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

struct slot {
	char *key;     /* NULL = empty */
	void *val;
	bool tomb;     /* deleted: keeps probe chains intact */
};

struct strmap {
	struct slot *slots;
	size_t cap, len, used; /* used = live + tombstones */
	void (*free_val)(void *);
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a 64 */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

struct strmap *strmap_new(void (*free_val)(void *))
{
	struct strmap *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->cap = 16;
	m->slots = calloc(m->cap, sizeof *m->slots);
	if (!m->slots) {
		free(m);
		return NULL;
	}
	m->free_val = free_val;
	return m;
}

void strmap_free(struct strmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->cap; i++) {
		if (m->slots[i].key) {
			if (m->free_val)
				m->free_val(m->slots[i].val);
			free(m->slots[i].key);
		}
	}
	free(m->slots);
	free(m);
}

static struct slot *find(const struct strmap *m, const char *key)
{
	size_t i = hash_str(key) & (m->cap - 1);
	for (size_t n = 0; n < m->cap; n++, i = (i + 1) & (m->cap - 1)) {
		struct slot *s = &m->slots[i];
		if (!s->key && !s->tomb)
			return NULL;
		if (s->key && strcmp(s->key, key) == 0)
			return s;
	}
	return NULL;
}

static int grow(struct strmap *m)
{
	size_t ncap = m->len * 4 > m->cap ? m->cap * 2 : m->cap; /* rehash drops tombstones */
	struct slot *ns = calloc(ncap, sizeof *ns);
	if (!ns)
		return SKY_ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->slots[i].key)
			continue;
		size_t j = hash_str(m->slots[i].key) & (ncap - 1);
		while (ns[j].key)
			j = (j + 1) & (ncap - 1);
		ns[j] = m->slots[i];
	}
	free(m->slots);
	m->slots = ns;
	m->cap = ncap;
	m->used = m->len;
	return 0;
}

int strmap_put(struct strmap *m, const char *key, void *val)
{
	struct slot *s = find(m, key);
	if (s) {
		if (m->free_val && s->val != val)
			m->free_val(s->val);
		s->val = val;
		return 0;
	}
	if ((m->used + 1) * 4 > m->cap * 3) {
		int rc = grow(m);
		if (rc)
			return rc;
	}
	char *k = strdup(key);
	if (!k)
		return SKY_ENOMEM;
	size_t i = hash_str(key) & (m->cap - 1);
	while (m->slots[i].key)
		i = (i + 1) & (m->cap - 1);
	if (!m->slots[i].tomb)
		m->used++;
	m->slots[i] = (struct slot){.key = k, .val = val};
	m->len++;
	return 0;
}

void *strmap_get(const struct strmap *m, const char *key)
{
	struct slot *s = find(m, key);
	return s ? s->val : NULL;
}

bool strmap_has(const struct strmap *m, const char *key)
{
	return find(m, key) != NULL;
}

const char *strmap_key(const struct strmap *m, const char *key)
{
	struct slot *s = find(m, key);
	return s ? s->key : NULL;
}

void *strmap_take(struct strmap *m, const char *key)
{
	struct slot *s = find(m, key);
	if (!s)
		return NULL;
	void *v = s->val;
	free(s->key);
	*s = (struct slot){.tomb = true};
	m->len--;
	return v;
}

void strmap_del(struct strmap *m, const char *key)
{
	struct slot *s = find(m, key);
	if (!s)
		return;
	void *v = strmap_take(m, key);
	if (m->free_val)
		m->free_val(v);
}

void strmap_clear(struct strmap *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		if (m->slots[i].key) {
			if (m->free_val)
				m->free_val(m->slots[i].val);
			free(m->slots[i].key);
		}
		m->slots[i] = (struct slot){0};
	}
	m->len = m->used = 0;
}

size_t strmap_len(const struct strmap *m)
{
	return m->len;
}

bool strmap_next(const struct strmap *m, size_t *it, const char **key, void **val)
{
	for (; *it < m->cap; (*it)++) {
		if (m->slots[*it].key) {
			if (key)
				*key = m->slots[*it].key;
			if (val)
				*val = m->slots[*it].val;
			(*it)++;
			return true;
		}
	}
	return false;
}
