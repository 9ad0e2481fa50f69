/* test_rrl.c - response-rate limiting with a fake clock: the rate and its
 * refill, the exact slip ratio, /24 and /56 grouping, classes kept apart,
 * log-only, rate-limited logging, a bounded table, thread safety. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>

#include "check.h"
#include "rrl.h"

#define T0 100000 /* fake clock start, ms */

static struct sockaddr_storage addr(const char *ip)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &a->sin6_addr);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &a->sin_addr);
	}
	return ss;
}

static struct rrl_params params(int rate, int slip)
{
	return (struct rrl_params){ .rate = rate, .slip = slip, .ipv4_prefix = 24,
				    .ipv6_prefix = 56 };
}

static enum rrl_verdict check(struct rrl *r, const struct rrl_params *p, const char *ip,
			      enum rrl_class cls, int64_t now)
{
	struct sockaddr_storage ss = addr(ip);
	bool log;
	return rrl_check(r, p, (const struct sockaddr *)&ss, cls, now, &log);
}

/* How many of n responses at `now` are sent in full. */
static int sent(struct rrl *r, const struct rrl_params *p, const char *ip, int n, int64_t now)
{
	int k = 0;
	for (int i = 0; i < n; i++)
		k += check(r, p, ip, RRL_ANSWER, now) == RRL_SEND;
	return k;
}

TEST(off_sends_everything)
{
	struct rrl *r = rrl_new(64, 1);
	struct rrl_params p = params(0, 2);
	CHECK_INT(sent(r, &p, "10.0.0.1", 1000, T0), 1000);
	rrl_free(r);
}

TEST(rate_is_the_burst_then_limited)
{
	struct rrl *r = rrl_new(1024, 1);
	struct rrl_params p = params(5, 0);
	CHECK_INT(sent(r, &p, "10.0.0.1", 20, T0), 5);
	CHECK_INT(check(r, &p, "10.0.0.1", RRL_ANSWER, T0), RRL_DROP);
	rrl_free(r);
}

TEST(refill_after_time_passes)
{
	struct rrl *r = rrl_new(1024, 1);
	struct rrl_params p = params(5, 0);
	CHECK_INT(sent(r, &p, "10.0.0.1", 5, T0), 5);
	CHECK_INT(sent(r, &p, "10.0.0.1", 5, T0 + 199), 0); /* 0.995 of a response */
	CHECK_INT(sent(r, &p, "10.0.0.1", 5, T0 + 200), 1); /* 200 ms at 5/s: one */
	CHECK_INT(sent(r, &p, "10.0.0.1", 10, T0 + 1200), 5); /* a second: the whole burst */
	/* steady 100 queries/s at 20/s for 10 s: the burst plus 20 per second,
	 * no refill lost to rounding */
	p.rate = 20;
	int k = 0;
	for (int i = 0; i < 1000; i++)
		k += sent(r, &p, "10.9.9.9", 1, T0 + 10 * i);
	CHECK_INT(k, 20 + 999 * 20 / 100);
	rrl_free(r);
}

TEST(slip_ratio_exact)
{
	struct rrl *r = rrl_new(1024, 1);
	int slipped[4] = { 0 }, dropped[4] = { 0 };
	const int slips[4] = { 0, 1, 2, 3 };
	for (int s = 0; s < 4; s++) {
		struct rrl_params p = params(1, slips[s]);
		char ip[32];
		snprintf(ip, sizeof ip, "10.0.%d.1", s);
		CHECK_INT(check(r, &p, ip, RRL_ANSWER, T0), RRL_SEND);
		for (int i = 1; i <= 30; i++) {
			enum rrl_verdict v = check(r, &p, ip, RRL_ANSWER, T0);
			slipped[s] += v == RRL_SLIP;
			dropped[s] += v == RRL_DROP;
			if (slips[s] == 3)
				CHECK_INT(v, i % 3 == 0 ? RRL_SLIP : RRL_DROP);
		}
	}
	CHECK_INT(slipped[0], 0);
	CHECK_INT(dropped[0], 30);
	CHECK_INT(slipped[1], 30);
	CHECK_INT(dropped[1], 0);
	CHECK_INT(slipped[2], 15);
	CHECK_INT(dropped[2], 15);
	CHECK_INT(slipped[3], 10);
	CHECK_INT(dropped[3], 20);
	rrl_free(r);
}

TEST(ipv4_slash24_shared)
{
	struct rrl *r = rrl_new(65536, 7);
	struct rrl_params p = params(3, 0);
	CHECK_INT(sent(r, &p, "10.0.0.1", 3, T0), 3);
	CHECK_INT(sent(r, &p, "10.0.0.200", 3, T0), 0); /* same /24 */
	CHECK_INT(sent(r, &p, "10.0.1.1", 3, T0), 3);   /* the next /24 is its own */
	/* IPv4-mapped IPv6 (a dual-stack socket) is the same IPv4 client */
	CHECK_INT(sent(r, &p, "::ffff:10.0.1.99", 3, T0), 0);
	/* a /32 prefix length keeps every address apart */
	p.ipv4_prefix = 32;
	CHECK_INT(sent(r, &p, "10.0.0.7", 3, T0), 3);
	CHECK_INT(sent(r, &p, "10.0.0.8", 3, T0), 3);
	rrl_free(r);
}

TEST(ipv6_slash56_shared)
{
	struct rrl *r = rrl_new(65536, 7);
	struct rrl_params p = params(3, 0);
	CHECK_INT(sent(r, &p, "2001:db8:0:100::1", 3, T0), 3);
	CHECK_INT(sent(r, &p, "2001:db8:0:1ff:ffff::2", 3, T0), 0); /* same /56 */
	CHECK_INT(sent(r, &p, "2001:db8:0:200::1", 3, T0), 3);      /* next /56 */
	char s[64];
	struct sockaddr_storage a = addr("2001:db8:0:1ff:ffff::2");
	rrl_prefix_str(&p, (struct sockaddr *)&a, s, sizeof s);
	CHECK_STR(s, "2001:db8:0:100::/56");
	a = addr("10.0.0.200");
	rrl_prefix_str(&p, (struct sockaddr *)&a, s, sizeof s);
	CHECK_STR(s, "10.0.0.0/24");
	rrl_free(r);
}

TEST(classes_have_their_own_buckets)
{
	struct rrl *r = rrl_new(65536, 7);
	struct rrl_params p = params(2, 0);
	for (int i = 0; i < 50; i++)
		check(r, &p, "10.0.0.1", RRL_NXDOMAIN, T0);
	CHECK_INT(check(r, &p, "10.0.0.1", RRL_NXDOMAIN, T0), RRL_DROP);
	CHECK_INT(sent(r, &p, "10.0.0.1", 2, T0), 2); /* answers still flow */
	CHECK_INT(check(r, &p, "10.0.0.1", RRL_ERROR, T0), RRL_SEND);
	rrl_free(r);
}

TEST(log_only_sends_all_and_logs_once_per_interval)
{
	struct rrl *r = rrl_new(1024, 1);
	struct rrl_params p = params(2, 2);
	p.log_only = true;
	struct sockaddr_storage a = addr("10.0.0.1");
	int logs = 0, logged = 0, other = 0;
	for (int i = 0; i < 100; i++) {
		bool log;
		enum rrl_verdict v = rrl_check(r, &p, (struct sockaddr *)&a, RRL_ANSWER, T0, &log);
		logs += log;
		logged += v == RRL_LOGGED;
		other += v == RRL_DROP || v == RRL_SLIP;
	}
	CHECK_INT(logged, 98);
	CHECK_INT(other, 0);
	CHECK_INT(logs, 1);
	/* limited again within the interval: no new line; after it: one */
	const int64_t at[2] = { T0 + RRL_LOG_INTERVAL_MS / 2, T0 + RRL_LOG_INTERVAL_MS };
	for (int k = 0; k < 2; k++) {
		bool log = false;
		enum rrl_verdict v = RRL_SEND;
		for (int i = 0; i < 3; i++) /* refilled: two sent, the third over */
			v = rrl_check(r, &p, (struct sockaddr *)&a, RRL_ANSWER, at[k], &log);
		CHECK_INT(v, RRL_LOGGED);
		CHECK_INT(log, k == 1);
	}
	rrl_free(r);
}

TEST(log_lines_capped_over_the_table)
{
	struct rrl *r = rrl_new(65536, 1);
	struct rrl_params p = params(1, 0);
	int logs = 0;
	for (int i = 0; i < 200; i++) {
		char ip[32];
		snprintf(ip, sizeof ip, "10.%d.%d.1", i / 250, i % 250);
		struct sockaddr_storage a = addr(ip);
		bool log;
		for (int k = 0; k < 2; k++) {
			rrl_check(r, &p, (struct sockaddr *)&a, RRL_ANSWER, T0, &log);
			logs += log;
		}
	}
	CHECK_INT(logs, RRL_LOG_MAX_LINES);
	rrl_free(r);
}

TEST(table_bounded_collisions_share)
{
	struct rrl *r = rrl_new(10, 1);
	CHECK_INT(rrl_buckets(r), 16);
	struct rrl_params p = params(1000000, 0);
	for (int i = 0; i < 100000; i++) {
		char ip[32];
		snprintf(ip, sizeof ip, "%d.%d.%d.1", 1 + i / 65536, (i / 256) % 256, i % 256);
		check(r, &p, ip, RRL_ANSWER, T0);
	}
	CHECK_INT(rrl_buckets(r), 16);
	rrl_free(r);
	/* one bucket: unrelated prefixes share it */
	r = rrl_new(0, 1);
	CHECK_INT(rrl_buckets(r), 1);
	p = params(2, 0);
	CHECK_INT(sent(r, &p, "10.0.0.1", 2, T0), 2);
	CHECK_INT(sent(r, &p, "192.168.7.1", 1, T0), 0);
	rrl_free(r);
}

TEST(rate_lowered_live_clamps_the_burst)
{
	struct rrl *r = rrl_new(64, 1);
	struct rrl_params p = params(100, 0);
	CHECK_INT(sent(r, &p, "10.0.0.1", 1, T0), 1); /* 99 left */
	p.rate = 3;
	CHECK_INT(sent(r, &p, "10.0.0.1", 10, T0 + 1), 3);
	rrl_free(r);
}

struct hammer {
	struct rrl *r;
	int sent;
};

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	struct rrl_params p = params(100, 0);
	h->sent = sent(h->r, &p, "10.0.0.1", 20000, T0);
	return NULL;
}

TEST(threads_share_a_bucket_exactly)
{
	struct rrl *r = rrl_new(64, 1);
	struct hammer h[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		h[i] = (struct hammer){ .r = r };
		pthread_create(&t[i], NULL, hammer_main, &h[i]);
	}
	int total = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		total += h[i].sent;
	}
	CHECK_INT(total, 100);
	rrl_free(r);
}

int main(void)
{
	RUN(off_sends_everything);
	RUN(rate_is_the_burst_then_limited);
	RUN(refill_after_time_passes);
	RUN(slip_ratio_exact);
	RUN(ipv4_slash24_shared);
	RUN(ipv6_slash56_shared);
	RUN(classes_have_their_own_buckets);
	RUN(log_only_sends_all_and_logs_once_per_interval);
	RUN(log_lines_capped_over_the_table);
	RUN(table_bounded_collisions_share);
	RUN(rate_lowered_live_clamps_the_burst);
	RUN(threads_share_a_bucket_exactly);
	return CHECK_DONE();
}
