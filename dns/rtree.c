/* rtree.c - persistent B+tree of records (see rtree.h).
 *
 * Copy-on-write by reference count, as Rust's Arc::make_mut or Clojure's
 * persistent vectors: a node whose count is 1 is reachable only from the
 * writer's root through nodes that are themselves private, so the writer may
 * change it in place; any other node is copied first (its children gain a
 * reference, the writer drops its reference to the original). Published
 * versions therefore never see a change, and a change copies at most one
 * node per level. Counts only ever rise on the writer's thread; they may
 * fall on any thread (a retired snapshot), which can only turn a "shared"
 * verdict stale in the safe direction (one needless copy).
 *
 * Inserts split full nodes on the way down (CLRS top-down), so an
 * allocation failure leaves a valid tree with the old contents. Deletes merge
 * an underfull node into a neighbour when both fit in one node; a merge that
 * cannot allocate is skipped (underfull is allowed, never empty).
 *
 * Inner nodes keep each child's first record as its separator (`lo`), so a
 * search reads one node per level. Leaves are allocated at the inner size
 * (half unused): under 2 MB at 100k records, for simpler code.
 */
#include "rtree.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define FAN 64
#define MIN_FILL (FAN / 4)

struct rnode {
	atomic_uint ref;
	uint16_t n;
	bool leaf;
	size_t count; /* records in this subtree */
	union {
		const struct record *rec[FAN];
		struct {
			const struct record *lo[FAN];
			struct rnode *kid[FAN];
		} in;
	} u;
};

static struct rnode *node_alloc(bool leaf)
{
	struct rnode *n = malloc(sizeof(struct rnode));
	if (!n)
		return NULL;
	atomic_init(&n->ref, 1);
	n->n = 0;
	n->leaf = leaf;
	n->count = 0;
	return n;
}

static const struct record *node_first(const struct rnode *n)
{
	return n->leaf ? n->u.rec[0] : n->u.in.lo[0];
}

static void node_unref(struct rnode *n)
{
	if (!n || atomic_fetch_sub_explicit(&n->ref, 1, memory_order_acq_rel) != 1)
		return;
	for (unsigned i = 0; i < n->n; i++) {
		if (n->leaf)
			record_unref(n->u.rec[i]);
		else
			node_unref(n->u.in.kid[i]);
	}
	free(n);
}

/* Give the child or record at slot i of n one more holder. */
static void item_ref(const struct rnode *n, unsigned i)
{
	if (n->leaf)
		record_ref(n->u.rec[i]);
	else
		atomic_fetch_add_explicit(&n->u.in.kid[i]->ref, 1, memory_order_relaxed);
}

/* Make *pn private to the writer (copy it if shared). NULL on ENOMEM, and
 * then *pn is untouched. */
static struct rnode *make_mut(struct rnode **pn)
{
	struct rnode *n = *pn;
	if (atomic_load_explicit(&n->ref, memory_order_acquire) == 1)
		return n;
	struct rnode *c = malloc(sizeof(struct rnode));
	if (!c)
		return NULL;
	memcpy(c, n, sizeof(struct rnode));
	atomic_init(&c->ref, 1);
	for (unsigned i = 0; i < n->n; i++)
		item_ref(n, i);
	*pn = c;
	node_unref(n);
	return c;
}

/* ------------------------------------------------------------ search */

static int key_cmp(const struct record *r, const char *p, size_t plen)
{
	return record_path_cmp(r->path, r->pathlen, p, plen);
}

/* Leaf: first slot whose record is >= path. */
static unsigned leaf_lower(const struct rnode *n, const char *p, size_t plen)
{
	unsigned lo = 0, hi = n->n;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (key_cmp(n->u.rec[mid], p, plen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Inner: the child whose range holds path (last separator <= path). */
static unsigned inner_child(const struct rnode *n, const char *p, size_t plen)
{
	unsigned lo = 1, hi = n->n;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (key_cmp(n->u.in.lo[mid], p, plen) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - 1;
}

const struct record *rtree_get(const struct rnode *root, const char *path, size_t pathlen)
{
	const struct rnode *n = root;
	if (!n)
		return NULL;
	while (!n->leaf)
		n = n->u.in.kid[inner_child(n, path, pathlen)];
	unsigned i = leaf_lower(n, path, pathlen);
	return i < n->n && key_cmp(n->u.rec[i], path, pathlen) == 0 ? n->u.rec[i] : NULL;
}

size_t rtree_count(const struct rnode *root)
{
	return root ? root->count : 0;
}

/* ------------------------------------------------------------ insert */

static size_t kids_count(const struct rnode *n, unsigned from, unsigned to)
{
	size_t c = 0;
	for (unsigned i = from; i < to; i++)
		c += n->u.in.kid[i]->count;
	return c;
}

/* Split the full private node x: its upper half moves to a new node. */
static struct rnode *split(struct rnode *x)
{
	struct rnode *s = node_alloc(x->leaf);
	if (!s)
		return NULL;
	unsigned keep = FAN / 2, move = x->n - keep;
	if (x->leaf) {
		memcpy(s->u.rec, x->u.rec + keep, move * sizeof s->u.rec[0]);
		s->count = move;
	} else {
		memcpy(s->u.in.lo, x->u.in.lo + keep, move * sizeof s->u.in.lo[0]);
		memcpy(s->u.in.kid, x->u.in.kid + keep, move * sizeof s->u.in.kid[0]);
		s->n = (uint16_t)move;
		s->count = kids_count(s, 0, move);
	}
	s->n = (uint16_t)move;
	x->n = (uint16_t)keep;
	x->count -= s->count;
	return s;
}

/* Put kid (with its separator) into private inner node p at slot i. */
static void inner_insert(struct rnode *p, unsigned i, struct rnode *kid)
{
	memmove(p->u.in.lo + i + 1, p->u.in.lo + i, (p->n - i) * sizeof p->u.in.lo[0]);
	memmove(p->u.in.kid + i + 1, p->u.in.kid + i, (p->n - i) * sizeof p->u.in.kid[0]);
	p->u.in.lo[i] = node_first(kid);
	p->u.in.kid[i] = kid;
	p->n++;
}

/* Split the full root under a new root. */
static int grow_root(struct rnode **root)
{
	struct rnode *x = make_mut(root);
	struct rnode *top = x ? node_alloc(false) : NULL;
	struct rnode *s = top ? split(x) : NULL;
	if (!s) {
		free(top);
		return SKY_ENOMEM;
	}
	top->u.in.lo[0] = node_first(x);
	top->u.in.kid[0] = x;
	top->u.in.lo[1] = node_first(s);
	top->u.in.kid[1] = s;
	top->n = 2;
	top->count = x->count + s->count;
	*root = top;
	return 0;
}

int rtree_put(struct rnode **root, const struct record *r)
{
	bool add = rtree_get(*root, r->path, r->pathlen) == NULL;
	if (!*root && !(*root = node_alloc(true)))
		return SKY_ENOMEM;
	if (add && (*root)->n == FAN && grow_root(root) != 0)
		return SKY_ENOMEM;
	/* Splits on the way down keep the tree valid; nothing else changes
	 * until every node on the path is private, so ENOMEM loses nothing. */
	struct rnode **pn = root, *path[RTREE_MAX_HEIGHT];
	unsigned idx[RTREE_MAX_HEIGHT];
	int h = 0;
	for (;;) {
		struct rnode *n = h < RTREE_MAX_HEIGHT ? make_mut(pn) : NULL;
		if (!n)
			return SKY_ENOMEM;
		path[h] = n;
		if (n->leaf)
			break;
		unsigned i = inner_child(n, r->path, r->pathlen);
		if (add && n->u.in.kid[i]->n == FAN) {
			struct rnode *k = make_mut(&n->u.in.kid[i]);
			struct rnode *s = k ? split(k) : NULL;
			if (!s)
				return SKY_ENOMEM;
			inner_insert(n, i + 1, s);
			if (key_cmp(node_first(s), r->path, r->pathlen) <= 0)
				i++;
		}
		idx[h++] = i;
		pn = &n->u.in.kid[i];
	}
	struct rnode *leaf = path[h];
	unsigned i = leaf_lower(leaf, r->path, r->pathlen);
	record_ref(r);
	if (!add) {
		record_unref(leaf->u.rec[i]);
		leaf->u.rec[i] = r;
	} else {
		memmove(leaf->u.rec + i + 1, leaf->u.rec + i, (leaf->n - i) * sizeof leaf->u.rec[0]);
		leaf->u.rec[i] = r;
		leaf->n++;
		leaf->count++;
	}
	/* Separators: r may now be the first record of a subtree (and a
	 * replaced record must not stay referenced). */
	for (int d = h - 1; d >= 0; d--) {
		path[d]->u.in.lo[idx[d]] = node_first(path[d]->u.in.kid[idx[d]]);
		if (add)
			path[d]->count++;
	}
	return 0;
}

/* ------------------------------------------------------------ delete */

static void slot_remove(struct rnode *p, unsigned i)
{
	if (p->leaf) {
		memmove(p->u.rec + i, p->u.rec + i + 1, (p->n - i - 1) * sizeof p->u.rec[0]);
	} else {
		memmove(p->u.in.lo + i, p->u.in.lo + i + 1, (p->n - i - 1) * sizeof p->u.in.lo[0]);
		memmove(p->u.in.kid + i, p->u.in.kid + i + 1, (p->n - i - 1) * sizeof p->u.in.kid[0]);
	}
	p->n--;
}

/* Child i of private inner node p is underfull: fold it into a neighbour
 * when both fit in one node. Best effort: skipped if a copy cannot be made. */
static void merge_kid(struct rnode *p, unsigned i)
{
	if (p->n < 2)
		return;
	unsigned j = i + 1 < p->n ? i : i - 1;
	struct rnode *r = p->u.in.kid[j + 1];
	if (p->u.in.kid[j]->n + r->n > FAN)
		return;
	struct rnode *l = make_mut(&p->u.in.kid[j]);
	if (!l)
		return;
	for (unsigned k = 0; k < r->n; k++) {
		item_ref(r, k);
		if (l->leaf) {
			l->u.rec[l->n + k] = r->u.rec[k];
		} else {
			l->u.in.lo[l->n + k] = r->u.in.lo[k];
			l->u.in.kid[l->n + k] = r->u.in.kid[k];
		}
	}
	l->n = (uint16_t)(l->n + r->n);
	l->count += r->count;
	slot_remove(p, j + 1);
	node_unref(r);
}

/* Remove path (known to be present) below private node n. */
static int del_in(struct rnode *n, const char *path, size_t plen)
{
	if (n->leaf) {
		unsigned i = leaf_lower(n, path, plen);
		const struct record *old = n->u.rec[i];
		slot_remove(n, i);
		n->count--;
		record_unref(old);
		return 0;
	}
	unsigned i = inner_child(n, path, plen);
	struct rnode *k = make_mut(&n->u.in.kid[i]);
	if (!k)
		return SKY_ENOMEM;
	int rc = del_in(k, path, plen);
	if (rc != 0)
		return rc;
	n->count--;
	if (k->n == 0) {
		slot_remove(n, i);
		node_unref(k);
		return 0;
	}
	n->u.in.lo[i] = node_first(k);
	if (k->n < MIN_FILL)
		merge_kid(n, i);
	return 0;
}

int rtree_del(struct rnode **root, const char *path, size_t pathlen)
{
	if (!rtree_get(*root, path, pathlen))
		return SKY_ENOTFOUND;
	struct rnode *n = make_mut(root);
	if (!n)
		return SKY_ENOMEM;
	int rc = del_in(n, path, pathlen);
	if (rc != 0)
		return rc;
	if (n->n == 0) {
		*root = NULL;
		node_unref(n);
	} else if (!n->leaf && n->n == 1) {
		*root = n->u.in.kid[0];
		n->n = 0; /* the child's reference moves to *root */
		node_unref(n);
	}
	return 0;
}

/* ------------------------------------------------------------ versions */

struct rnode *rtree_share(struct rnode *root)
{
	if (root)
		atomic_fetch_add_explicit(&root->ref, 1, memory_order_relaxed);
	return root;
}

void rtree_release(struct rnode *root)
{
	node_unref(root);
}

/* ------------------------------------------------------------ walks */

/* Inner: the child that holds the first record at or after the subtree
 * (the last separator before it; the walk steps right if that child ends
 * before the subtree starts). */
static unsigned inner_range_child(const struct rnode *n, const char *p, size_t plen)
{
	unsigned lo = 1, hi = n->n;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (record_subtree_cmp(n->u.in.lo[mid], p, plen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - 1;
}

void rtree_range(const struct rnode *root, const char *path, size_t pathlen,
		 struct rtree_iter *it)
{
	it->path = path;
	it->pathlen = pathlen;
	it->height = 0;
	const struct rnode *n = root;
	if (!n || n->n == 0)
		return;
	for (int h = 0;; h++) {
		it->node[h] = n;
		if (n->leaf) {
			unsigned lo = 0, hi = n->n;
			while (lo < hi) {
				unsigned mid = (lo + hi) / 2;
				if (record_subtree_cmp(n->u.rec[mid], path, pathlen) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			it->idx[h] = (uint16_t)lo;
			it->height = h + 1;
			return;
		}
		unsigned i = inner_range_child(n, path, pathlen);
		it->idx[h] = (uint16_t)i;
		n = n->u.in.kid[i];
	}
}

/* Move to the first record of the next leaf; false at the tree's end. */
static bool next_leaf(struct rtree_iter *it)
{
	int d = it->height - 2;
	while (d >= 0 && it->idx[d] + 1u >= it->node[d]->n)
		d--;
	if (d < 0)
		return false;
	it->idx[d]++;
	const struct rnode *n = it->node[d]->u.in.kid[it->idx[d]];
	for (d++; d < it->height; d++) {
		it->node[d] = n;
		it->idx[d] = 0;
		if (!n->leaf)
			n = n->u.in.kid[0];
	}
	return true;
}

const struct record *rtree_next(struct rtree_iter *it)
{
	while (it->height > 0) {
		const struct rnode *leaf = it->node[it->height - 1];
		uint16_t *i = &it->idx[it->height - 1];
		if (*i < leaf->n) {
			const struct record *r = leaf->u.rec[*i];
			if (record_subtree_cmp(r, it->path, it->pathlen) != 0)
				break;
			(*i)++;
			return r;
		}
		if (!next_leaf(it))
			break;
	}
	it->height = 0;
	return NULL;
}

/* ------------------------------------------------------------ checks */

static int check_node(const struct rnode *n, bool is_root, int depth, int *leaf_depth,
		      const struct record **prev)
{
	if (n->n > FAN || (n->n == 0 && !is_root) || atomic_load(&n->ref) == 0)
		return SKY_EINVAL;
	if (n->leaf) {
		if (*leaf_depth >= 0 && *leaf_depth != depth)
			return SKY_EINVAL;
		*leaf_depth = depth;
		for (unsigned i = 0; i < n->n; i++) {
			const struct record *r = n->u.rec[i];
			if (*prev && key_cmp(*prev, r->path, r->pathlen) >= 0)
				return SKY_EINVAL;
			*prev = r;
		}
		return n->count == n->n ? 0 : SKY_EINVAL;
	}
	if (n->n < (is_root ? 2 : 1))
		return SKY_EINVAL;
	size_t c = 0;
	for (unsigned i = 0; i < n->n; i++) {
		const struct rnode *k = n->u.in.kid[i];
		if (n->u.in.lo[i] != node_first(k) ||
		    check_node(k, false, depth + 1, leaf_depth, prev) != 0)
			return SKY_EINVAL;
		c += k->count;
	}
	return c == n->count ? 0 : SKY_EINVAL;
}

int rtree_check(const struct rnode *root)
{
	int leaf_depth = -1;
	const struct record *prev = NULL;
	return root ? check_node(root, true, 0, &leaf_depth, &prev) : 0;
}
