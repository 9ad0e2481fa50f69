/* test_acache.c - the reply cache: a hit is the stored reply with the
 * asker's ID; any key part that differs misses. */
#include "acache.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>

static const uint8_t query[] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
				 3, 'w', 'e', 'b', 0, 0, 1, 0, 1 };

static void reply_for(uint8_t *r, size_t n)
{
	memset(r, 0xab, n);
	r[0] = 0x12;
	r[1] = 0x34;
}

TEST(hit_takes_the_askers_id)
{
	struct acache *c = acache_new(100);
	CHECK(c != NULL);
	struct acache_key k = { .serial = 7, .udp_size = 1232 };
	uint8_t r[64], out[64], q2[sizeof query];
	reply_for(r, sizeof r);
	CHECK_INT(acache_get(c, &k, 1000, query, sizeof query, out, sizeof out), 0);
	acache_put(c, &k, 1000, 1000, query, sizeof query, r, sizeof r);
	memcpy(q2, query, sizeof q2);
	q2[0] = 0xbe;
	q2[1] = 0xef;
	CHECK_INT(acache_get(c, &k, 1000, q2, sizeof q2, out, sizeof out), 64);
	CHECK(out[0] == 0xbe && out[1] == 0xef);
	CHECK(memcmp(out + 2, r + 2, 62) == 0);
	CHECK_INT(acache_get(c, &k, 1000, q2, sizeof q2, out, 63), 0); /* does not fit */
	uint64_t hits, misses;
	acache_counts(c, &hits, &misses);
	CHECK_INT((int)hits, 1);
	CHECK_INT((int)misses, 2);
	acache_free(c);
}

TEST(every_key_part_counts)
{
	struct acache *c = acache_new(1024);
	struct acache_key k = { .serial = 7, .udp_size = 1232 };
	uint8_t r[40], out[64], q2[sizeof query];
	reply_for(r, sizeof r);
	acache_put(c, &k, 1000, 1000, query, sizeof query, r, sizeof r);
	struct acache_key v[] = {
		{ .serial = 8, .udp_size = 1232 }, /* a publish */
		{ .serial = 7, .udp_size = 512 },
		{ .serial = 7, .udp_size = 1232, .tcp = true },
		{ .serial = 7, .udp_size = 1232, .recursion_denied = true },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		CHECK_INT(acache_get(c, &v[i], 1000, query, sizeof query, out, sizeof out), 0);
	memcpy(q2, query, sizeof q2);
	q2[13] = 'W'; /* the question's case is echoed: another key */
	CHECK_INT(acache_get(c, &k, 1000, q2, sizeof q2, out, sizeof out), 0);
	memcpy(q2, query, sizeof q2);
	q2[2] = 0x00; /* RD off */
	CHECK_INT(acache_get(c, &k, 1000, q2, sizeof q2, out, sizeof out), 0);
	CHECK_INT(acache_get(c, &k, 1000, query, sizeof query - 1, out, sizeof out), 0);
	CHECK_INT(acache_get(c, &k, 999, query, sizeof query, out, sizeof out), 0);
	CHECK_INT(acache_get(c, &k, 1001, query, sizeof query, out, sizeof out), 0); /* next second */
	CHECK_INT(acache_get(c, &k, 1000, query, sizeof query, out, sizeof out), 40);
	/* a newer reply for the same key replaces the old */
	uint8_t r2[20];
	reply_for(r2, sizeof r2);
	acache_put(c, &k, 1000, 1000, query, sizeof query, r2, sizeof r2);
	CHECK_INT(acache_get(c, &k, 1000, query, sizeof query, out, sizeof out), 20);
	acache_free(c);
}

TEST(oversize_and_null)
{
	struct acache *c = acache_new(16);
	struct acache_key k = { .serial = 1 };
	uint8_t *big = calloc(1, ACACHE_MAX_REPLY + 1), out[16];
	acache_put(c, &k, 1000, 1000, query, sizeof query, big, ACACHE_MAX_REPLY + 1);
	CHECK_INT(acache_get(c, &k, 1000, query, sizeof query, big, ACACHE_MAX_REPLY + 1), 0);
	CHECK_INT(acache_get(NULL, &k, 1000, query, sizeof query, out, sizeof out), 0);
	acache_put(NULL, &k, 1000, 1000, query, sizeof query, out, sizeof out);
	free(big);
	acache_free(c);
	acache_free(NULL);
}

TEST(time_windows)
{
	struct acache *c = acache_new(64);
	struct acache_key k = { .serial = 3, .udp_size = 512 };
	uint8_t r[30], out[64];
	reply_for(r, sizeof r);
	acache_put(c, &k, 3600, 7199, query, sizeof query, r, sizeof r); /* an SOA's hour */
	CHECK_INT(acache_get(c, &k, 3600, query, sizeof query, out, sizeof out), 30);
	CHECK_INT(acache_get(c, &k, 7199, query, sizeof query, out, sizeof out), 30);
	CHECK_INT(acache_get(c, &k, 7200, query, sizeof query, out, sizeof out), 0);
	acache_put(c, &k, INT64_MIN, INT64_MAX, query, sizeof query, r, sizeof r);
	CHECK_INT(acache_get(c, &k, 1, query, sizeof query, out, sizeof out), 30);
	CHECK_INT(acache_get(c, &k, 4000000000, query, sizeof query, out, sizeof out), 30);
	acache_free(c);
}

/* A query for name i (distinct bytes, same shape). */
static size_t query_n(uint8_t *q, unsigned i)
{
	memcpy(q, query, sizeof query);
	q[13] = (uint8_t)('a' + i % 26);
	q[14] = (uint8_t)('a' + i / 26 % 26);
	q[15] = (uint8_t)('a' + i / 676 % 26);
	return sizeof query;
}

/* Hot replies (asked again and again) survive a flood of one-off names, as
 * random NXDOMAIN queries or a cache-busting client send. */
TEST(one_off_names_do_not_evict_hot_replies)
{
	enum { HOT = 128, FLOOD = 17000, ROUNDS = FLOOD / 50 };
	struct acache *c = acache_new(512); /* room for 4x the hot set */
	struct acache_key k = { .serial = 1, .udp_size = 1232 };
	uint8_t q[sizeof query], r[48], out[64];
	reply_for(r, sizeof r);
	for (unsigned i = 0; i < HOT; i++) {
		size_t n = query_n(q, i);
		acache_put(c, &k, 0, INT64_MAX, q, n, r, sizeof r);
		CHECK_INT(acache_get(c, &k, 5, q, n, out, sizeof out), 48);
	}
	int lost = 0;
	for (unsigned f = 0; f < FLOOD; f++) {
		size_t n = query_n(q, HOT + f);
		if (acache_get(c, &k, 5, q, n, out, sizeof out) == 0)
			acache_put(c, &k, 0, INT64_MAX, q, n, r, sizeof r);
		if (f % 50 == 49) /* the hot set is asked between the one-offs */
			for (unsigned i = 0; i < HOT; i++) {
				size_t m = query_n(q, i);
				if (acache_get(c, &k, 5, q, m, out, sizeof out) == 0) {
					lost++;
					acache_put(c, &k, 0, INT64_MAX, q, m, r, sizeof r);
				}
			}
	}
	/* A direct-mapped cache of the same size loses a hot reply to each one-off
	 * landing on it and to hot neighbours: 40 % of the hot asks here; four
	 * ways lose only where more than four hot names share a bucket (4 %). */
	if (lost >= HOT * ROUNDS / 16)
		fprintf(stderr, "  lost %d of %d hot asks\n", lost, HOT * ROUNDS);
	CHECK(lost < HOT * ROUNDS / 16);
	acache_free(c);
}

/* After a publish the same query overwrites its stale reply in place: a
 * bucket full of stale entries does not push out live ones. */
TEST(publish_reuses_the_stale_way)
{
	struct acache *c = acache_new(4); /* one bucket */
	uint8_t q[sizeof query], r[32], out[64];
	reply_for(r, sizeof r);
	for (uint64_t serial = 1; serial < 50; serial++) {
		struct acache_key k = { .serial = serial, .udp_size = 1232 };
		for (unsigned i = 0; i < 4; i++) {
			size_t n = query_n(q, i);
			CHECK_INT(acache_get(c, &k, 5, q, n, out, sizeof out), 0);
			acache_put(c, &k, 0, INT64_MAX, q, n, r, sizeof r);
		}
		for (unsigned i = 0; i < 4; i++) {
			size_t n = query_n(q, i);
			CHECK_INT(acache_get(c, &k, 5, q, n, out, sizeof out), 32);
		}
	}
	acache_free(c);
}

int main(void)
{
	RUN(hit_takes_the_askers_id);
	RUN(every_key_part_counts);
	RUN(oversize_and_null);
	RUN(time_windows);
	RUN(one_off_names_do_not_evict_hot_replies);
	RUN(publish_reuses_the_stale_way);
	return CHECK_DONE();
}
