/* record.c - refcounted immutable records (see record.h). */
#include "record.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct record_box {
	atomic_uint ref;
	struct record r;
	char data[]; /* path, host, text, group: NUL-terminated, in that order */
};

static struct record_box *box_of(const struct record *r)
{
	return (struct record_box *)(void *)((char *)(uintptr_t)r - offsetof(struct record_box, r));
}

static size_t slen(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static char *put(char **pos, const char *s, size_t len)
{
	char *d = *pos;
	memcpy(d, s, len);
	d[len] = '\0';
	*pos += len + 1;
	return d;
}

static char *put_str(char **pos, const char *s)
{
	return s ? put(pos, s, strlen(s)) : NULL;
}

static uint32_t path_depth(const char *p, size_t len, unsigned prefix_depth)
{
	if (len == 0)
		return prefix_depth;
	uint32_t d = prefix_depth + 1;
	for (size_t i = 0; i < len; i++)
		d += p[i] == '/';
	return d;
}

struct record *record_new(const char *path, size_t pathlen, const struct service *svc,
			  int64_t expires, unsigned prefix_depth)
{
	if (pathlen > UINT32_MAX)
		return NULL;
	size_t size = pathlen + 1 + slen(svc->host) + slen(svc->text) + slen(svc->group);
	struct record_box *b = malloc(sizeof *b + size);
	if (!b)
		return NULL;
	atomic_init(&b->ref, 1);
	char *pos = b->data;
	struct record *r = &b->r;
	r->path = put(&pos, path, pathlen);
	r->pathlen = (uint32_t)pathlen;
	r->depth = path_depth(path, pathlen, prefix_depth);
	r->expires = expires;
	r->svc = *svc;
	r->svc.host = put_str(&pos, svc->host);
	r->svc.text = put_str(&pos, svc->text);
	r->svc.group = put_str(&pos, svc->group);
	return r;
}

struct record *record_with_expires(const struct record *r, int64_t expires)
{
	struct record *n = record_new(r->path, r->pathlen, &r->svc, expires, 0);
	if (n)
		n->depth = r->depth;
	return n;
}

void record_ref(const struct record *r)
{
	atomic_fetch_add_explicit(&box_of(r)->ref, 1, memory_order_relaxed);
}

void record_unref(const struct record *r)
{
	if (!r)
		return;
	struct record_box *b = box_of(r);
	if (atomic_fetch_sub_explicit(&b->ref, 1, memory_order_acq_rel) == 1)
		free(b);
}

static inline unsigned key_byte(unsigned char c)
{
	return c == '/' ? 0u : (unsigned)c + 1u;
}

int record_path_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	for (size_t i = 0; i < n; i++) {
		unsigned x = key_byte((unsigned char)a[i]), y = key_byte((unsigned char)b[i]);
		if (x != y)
			return x < y ? -1 : 1;
	}
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

int record_subtree_cmp(const struct record *r, const char *p, size_t plen)
{
	if (plen == 0)
		return 0;
	if (r->pathlen < plen)
		return record_path_cmp(r->path, r->pathlen, p, plen) < 0 ? -1 : 1;
	int c = record_path_cmp(r->path, plen, p, plen);
	if (c != 0)
		return c;
	return r->pathlen == plen || r->path[plen] == '/' ? 0 : 1;
}
