/* check_ring.c - rendezvous hashing over the live checkers, and rise/fall. */
#include "checker.h"

#include <string.h>

static uint64_t mix64(uint64_t x)
{
	/* splitmix64's finalizer: FNV alone clusters on similar inputs. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

uint64_t check_weight(const char *checker, const char *addr)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const unsigned char *p = (const unsigned char *)checker; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	h = (h ^ 0xff) * 0x100000001b3ULL; /* separator no id or address byte holds */
	for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return mix64(h);
}

int check_owner(const char *const *ids, int n, const char *addr)
{
	int best = -1;
	uint64_t bw = 0;
	for (int i = 0; i < n; i++) {
		uint64_t w = check_weight(ids[i], addr);
		if (best < 0 || w > bw || (w == bw && strcmp(ids[i], ids[best]) < 0)) {
			best = i;
			bw = w;
		}
	}
	return best;
}

bool check_feed(struct check_state *s, bool ok, int rise, int fall)
{
	bool against = s->down ? ok : !ok;
	if (!against) {
		s->streak = 0;
		return false;
	}
	s->streak++;
	if (s->streak >= (s->down ? rise : fall)) {
		s->down = !s->down;
		s->streak = 0;
		return true;
	}
	return false;
}
