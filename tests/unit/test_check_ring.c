/* test_check_ring.c - skydns-check's pure parts: rendezvous selection
 * (agreement, balance, minimal movement), rise/fall, -scan-ports. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "checker.h"

#define NADDR 3000

static void addr_name(int i, char *out, size_t cap)
{
	snprintf(out, cap, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
}

TEST(owner_empty_and_single)
{
	CHECK_INT(check_owner(NULL, 0, "10.0.0.1"), -1);
	const char *one[] = { "a" };
	CHECK_INT(check_owner(one, 1, "10.0.0.1"), 0);
}

TEST(owner_independent_of_order)
{
	const char *ids[] = { "alpha", "beta", "gamma" };
	const char *rev[] = { "gamma", "beta", "alpha" };
	char a[32];
	for (int i = 0; i < NADDR; i++) {
		addr_name(i, a, sizeof a);
		CHECK_STR(ids[check_owner(ids, 3, a)], rev[check_owner(rev, 3, a)]);
	}
}

TEST(owner_balanced)
{
	const char *ids[] = { "node-1", "node-2", "node-3" };
	int count[3] = { 0 };
	char a[32];
	for (int i = 0; i < NADDR; i++) {
		addr_name(i, a, sizeof a);
		count[check_owner(ids, 3, a)]++;
	}
	/* each gets a third, within 15% of it */
	for (int k = 0; k < 3; k++)
		CHECK(count[k] > NADDR / 3 * 85 / 100 && count[k] < NADDR / 3 * 115 / 100);
	printf("  shares %d %d %d\n", count[0], count[1], count[2]);
}

TEST(only_the_leavers_addresses_move)
{
	const char *three[] = { "node-1", "node-2", "node-3" };
	const char *two[] = { "node-1", "node-3" }; /* node-2 died */
	char a[32];
	int moved = 0, owned2 = 0;
	for (int i = 0; i < NADDR; i++) {
		addr_name(i, a, sizeof a);
		const char *before = three[check_owner(three, 3, a)];
		const char *after = two[check_owner(two, 2, a)];
		if (strcmp(before, "node-2") == 0) {
			owned2++;
			CHECK(strcmp(after, "node-2") != 0);
		} else {
			CHECK_STR(after, before); /* survivors keep theirs */
		}
		moved += strcmp(before, after) != 0;
	}
	CHECK_INT(moved, owned2);
}

TEST(joiner_takes_only_from_others)
{
	const char *two[] = { "a", "b" };
	const char *three[] = { "a", "b", "c" };
	char x[32];
	int taken = 0;
	for (int i = 0; i < NADDR; i++) {
		addr_name(i, x, sizeof x);
		const char *before = two[check_owner(two, 2, x)];
		const char *after = three[check_owner(three, 3, x)];
		if (strcmp(before, after) != 0) {
			CHECK_STR(after, "c");
			taken++;
		}
	}
	CHECK(taken > NADDR / 4 && taken < NADDR * 5 / 12);
}

TEST(weight_depends_on_both)
{
	CHECK(check_weight("a", "10.0.0.1") != check_weight("a", "10.0.0.2"));
	CHECK(check_weight("a", "10.0.0.1") != check_weight("b", "10.0.0.1"));
	/* the separator keeps "ab"+"c" apart from "a"+"bc" */
	CHECK(check_weight("ab", "c") != check_weight("a", "bc"));
	CHECK(check_weight("x", "y") == check_weight("x", "y"));
}

TEST(rise_fall)
{
	struct check_state s = { 0 };
	/* fall 3: two failures keep it UP, a success resets the streak */
	CHECK(!check_feed(&s, false, 2, 3));
	CHECK(!check_feed(&s, false, 2, 3));
	CHECK(!check_feed(&s, true, 2, 3));
	CHECK(!check_feed(&s, false, 2, 3));
	CHECK(!check_feed(&s, false, 2, 3));
	CHECK(!s.down);
	CHECK(check_feed(&s, false, 2, 3));
	CHECK(s.down);
	CHECK(!check_feed(&s, false, 2, 3)); /* stays DOWN, no change */
	/* rise 2 */
	CHECK(!check_feed(&s, true, 2, 3));
	CHECK(!check_feed(&s, false, 2, 3));
	CHECK(!check_feed(&s, true, 2, 3));
	CHECK(s.down);
	CHECK(check_feed(&s, true, 2, 3));
	CHECK(!s.down);
	/* rise/fall 1 flips on every differing result */
	CHECK(check_feed(&s, false, 1, 1));
	CHECK(check_feed(&s, true, 1, 1));
}

TEST(ports)
{
	uint16_t p[8];
	CHECK_INT(check_parse_ports("22,80,8080", p, 8), 3);
	CHECK_INT(p[0], 22);
	CHECK_INT(p[2], 8080);
	CHECK_INT(check_parse_ports("", p, 8), 0);
	CHECK_INT(check_parse_ports("80", p, 8), 1);
	CHECK_INT(check_parse_ports("0", p, 8), -1);
	CHECK_INT(check_parse_ports("65536", p, 8), -1);
	CHECK_INT(check_parse_ports("22, 80", p, 8), -1);
	CHECK_INT(check_parse_ports("22,", p, 8), -1);
	CHECK_INT(check_parse_ports("a", p, 8), -1);
	CHECK_INT(check_parse_ports("1,2,3", p, 2), -1);
}

int main(void)
{
	RUN(owner_empty_and_single);
	RUN(owner_independent_of_order);
	RUN(owner_balanced);
	RUN(only_the_leavers_addresses_move);
	RUN(joiner_takes_only_from_others);
	RUN(weight_depends_on_both);
	RUN(rise_fall);
	RUN(ports);
	return CHECK_DONE();
}
