/* snapstore.c - publish snapshots to lock-free readers, reclaim by
 * quiescent state on a global generation counter.
 *
 * Protocol (all atomics seq_cst where the order matters):
 *   reader enter:  slot[r] = G; s = current      (store before load)
 *   reader leave:  slot[r] = 0
 *   publish:       old = exchange(current, new); g = G++; retire(old, g)
 *   reclaim:       free every retired (s, g) with min{slot != 0} > g
 *
 * Why that is safe: a reader that obtained `old` loaded `current` before the
 * exchange, so (total order) it also loaded G before the increment, i.e. it
 * announced a value <= g, and its announcement precedes the writer's slot
 * scan. It stays visible until leave. A reader that announced a value > g
 * loaded G after the increment and therefore `current` after the exchange,
 * so it cannot hold `old`. A reader between "load G" and "store slot" has
 * not loaded `current` yet; whatever it loads then is current, and its
 * announced value is no larger than that snapshot's future retire tag.
 */
#include "snapstore.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "snapshot.h"

struct slot {
	_Atomic uint64_t gen; /* 0 = not reading */
	char pad[64 - sizeof(uint64_t)]; /* one cache line per reader */
};

struct retired {
	struct snapshot *snap;
	uint64_t gen;
	struct retired *next;
};

struct snapstore {
	_Atomic(struct snapshot *) cur;
	_Atomic uint64_t gen;
	unsigned nreaders;
	struct slot *slots;
	struct retired *retired; /* writer only */
	_Atomic uint64_t info_rev;
	_Atomic int64_t info_created;
	_Atomic size_t info_count;
	_Atomic size_t info_down;
};

struct snapstore *snapstore_new(unsigned nreaders)
{
	struct snapstore *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	size_t n = nreaders ? nreaders : 1;
	st->slots = aligned_alloc(64, n * sizeof(struct slot));
	if (!st->slots) {
		free(st);
		return NULL;
	}
	memset(st->slots, 0, n * sizeof(struct slot));
	st->nreaders = nreaders;
	atomic_init(&st->cur, NULL);
	atomic_init(&st->gen, 1);
	return st;
}

/* Smallest generation any reader announced; UINT64_MAX when all are idle. */
static uint64_t min_active(struct snapstore *st)
{
	uint64_t m = UINT64_MAX;
	for (unsigned i = 0; i < st->nreaders; i++) {
		uint64_t g = atomic_load(&st->slots[i].gen);
		if (g != 0 && g < m)
			m = g;
	}
	return m;
}

static void reclaim(struct snapstore *st)
{
	uint64_t m = min_active(st);
	struct retired **pp = &st->retired;
	while (*pp) {
		struct retired *r = *pp;
		if (r->gen < m) {
			*pp = r->next;
			snapshot_free(r->snap);
			free(r);
		} else {
			pp = &r->next;
		}
	}
}

void snapstore_publish(struct snapstore *st, struct snapshot *snap)
{
	if (snap) {
		atomic_store(&st->info_rev, snapshot_revision(snap));
		atomic_store(&st->info_created, snapshot_created(snap));
		atomic_store(&st->info_count, snapshot_count(snap));
		atomic_store(&st->info_down, health_count(snapshot_health(snap)));
	} else {
		atomic_store(&st->info_rev, 0);
		atomic_store(&st->info_created, 0);
		atomic_store(&st->info_count, 0);
		atomic_store(&st->info_down, 0);
	}
	struct snapshot *old = atomic_exchange(&st->cur, snap);
	uint64_t g = atomic_fetch_add(&st->gen, 1);
	if (old) {
		struct retired *r = malloc(sizeof(*r));
		if (r) {
			*r = (struct retired){ .snap = old, .gen = g, .next = st->retired };
			st->retired = r;
		} else {
			/* No memory to defer: wait for the readers of `old` to leave,
			 * which takes one query at most. */
			while (min_active(st) <= g)
				sched_yield();
			snapshot_free(old);
		}
	}
	reclaim(st);
}

const struct snapshot *snapstore_enter(struct snapstore *st, unsigned reader)
{
	if (reader >= st->nreaders)
		return NULL;
	uint64_t g = atomic_load(&st->gen);
	atomic_store(&st->slots[reader].gen, g);
	return atomic_load(&st->cur);
}

void snapstore_leave(struct snapstore *st, unsigned reader)
{
	if (reader >= st->nreaders)
		return;
	atomic_store_explicit(&st->slots[reader].gen, 0, memory_order_release);
}

void snapstore_info(struct snapstore *st, uint64_t *revision, int64_t *created, size_t *count)
{
	if (revision)
		*revision = atomic_load(&st->info_rev);
	if (created)
		*created = atomic_load(&st->info_created);
	if (count)
		*count = atomic_load(&st->info_count);
}

size_t snapstore_down(struct snapstore *st) { return atomic_load(&st->info_down); }

void snapstore_free(struct snapstore *st)
{
	if (!st)
		return;
	snapshot_free(atomic_load(&st->cur));
	while (st->retired) {
		struct retired *r = st->retired;
		st->retired = r->next;
		snapshot_free(r->snap);
		free(r);
	}
	free(st->slots);
	free(st);
}
