/* test_upstream.c - the upstream exchange engine against a scripted DNS
 * server on 127.0.0.1 (a thread in this process, UDP and TCP on one port):
 * answers, SERVFAIL retry, TC relay, wrong ID / wrong question discarded,
 * silence (timeout), a closed port (ICMP refused), rotation, TCP framing,
 * fresh ID and source port per attempt. Every wait is bounded. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "answer.h"
#include "check.h"
#include "fakedns.h"
#include "err.h"
#include "pktwalk.h"
#include "upstream.h"

/* ---------------------------------------------------------------- client */

struct result {
	bool done;
	int err;
	uint8_t reply[4096];
	size_t len;
};

static void on_done(void *ctx, int err, const uint8_t *reply, size_t len)
{
	struct result *r = ctx;
	r->done = true;
	r->err = err;
	r->len = len <= sizeof r->reply ? len : 0;
	if (reply && r->len)
		memcpy(r->reply, reply, r->len);
}

static size_t make_query(uint8_t *p, const char *first)
{
	memset(p, 0, PKT_HDR);
	p[2] = 0x01;
	pkt_put16(p + 4, 1);
	size_t n = PKT_HDR, l = strlen(first);
	p[n++] = (uint8_t)l;
	memcpy(p + n, first, l);
	n += l;
	memcpy(p + n, "\7example\3com\0", 13);
	n += 13;
	pkt_put16(p + n, T_A);
	pkt_put16(p + n + 2, C_IN);
	return n + 4;
}

static int64_t ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run one exchange to completion (bounded at 10 s). */
static void ask(const char *first, bool tcp, char (*servers)[64], int n, int timeout_ms,
		struct result *r)
{
	struct upstream *u;
	memset(r, 0, sizeof *r);
	CHECK_INT(upstream_new(-1, &u), 0);
	uint8_t q[512];
	size_t ql = make_query(q, first);
	struct upstream_req req = {.pkt = q, .len = ql, .tcp = tcp, .servers = (const char (*)[64])servers,
				   .nservers = n, .first = 0, .timeout_ms = timeout_ms,
				   .budget_ms = 2 * timeout_ms, .done = on_done, .ctx = r};
	CHECK_INT(upstream_start(u, &req), 0);
	CHECK(!r->done); /* never inside start */
	int64_t end = ms_now() + 10000;
	while (!r->done && ms_now() < end)
		upstream_poll(u, 100);
	CHECK(r->done);
	CHECK_INT(upstream_inflight(u), 0);
	upstream_free(u);
}

static struct fake srv;
static char one[1][64], two_dead_first[2][64], dead[2][64];

TEST(udp_answer)
{
	struct result r;
	int before = atomic_load(&srv.queries);
	ask("ok", false, one, 1, 1000, &r);
	CHECK_INT(r.err, 0);
	CHECK(r.len > PKT_HDR && pkt_get16(r.reply + 6) == 1);
	CHECK_INT(r.reply[r.len - 1], 1); /* the UDP answer */
	CHECK_INT(atomic_load(&srv.queries) - before, 1);
}

TEST(tcp_answer_reassembled)
{
	struct result r;
	ask("ok", true, one, 1, 1000, &r);
	CHECK_INT(r.err, 0);
	CHECK_INT(r.reply[r.len - 1], 2); /* the TCP answer */
}

TEST(truncated_udp_relayed)
{
	struct result r;
	ask("tc", false, one, 1, 1000, &r);
	CHECK_INT(r.err, 0);
	CHECK(r.reply[2] & 0x02);
	ask("tc", true, one, 1, 1000, &r);
	CHECK_INT(r.err, 0);
	CHECK(!(r.reply[2] & 0x02));
}

TEST(servfail_retried_then_failed)
{
	struct result r;
	int before = atomic_load(&srv.queries);
	ask("servfail", false, one, 1, 1000, &r);
	CHECK_INT(r.err, SKY_EPROTO);
	CHECK_INT(atomic_load(&srv.queries) - before, 2); /* n+1 attempts */
}

TEST(wrong_id_discarded)
{
	struct result r;
	ask("wrongid", false, one, 1, 1000, &r); /* bad copy first, good one next */
	CHECK_INT(r.err, 0);
	ask("garbage", false, one, 1, 1000, &r);
	CHECK_INT(r.err, 0);
	CHECK(r.len > PKT_HDR && (r.reply[2] & 0x80));
	ask("onlywrongid", false, one, 1, 300, &r);
	CHECK_INT(r.err, SKY_ETIMEDOUT);
	ask("wrongq", false, one, 1, 300, &r);
	CHECK_INT(r.err, SKY_ETIMEDOUT);
}

TEST(silent_times_out)
{
	struct result r;
	int before = atomic_load(&srv.queries);
	ask("silent", false, one, 1, 300, &r);
	CHECK_INT(r.err, SKY_ETIMEDOUT);
	int sent = atomic_load(&srv.queries) - before;
	CHECK_INT(sent, 2);
	/* a fresh ID and source port per attempt */
	if (sent == 2 && before + 1 < 64) {
		CHECK(srv.ids[before] != srv.ids[before + 1] || srv.ports[before] != srv.ports[before + 1]);
		CHECK(srv.ports[before] != srv.ports[before + 1]);
	}
}

TEST(dead_server_skipped)
{
	struct result r;
	/* ICMP refused moves on at once: with a 30 s timeout the exchange
	 * still completes inside ask()'s 10 s bound */
	ask("ok", false, two_dead_first, 2, 30000, &r);
	CHECK_INT(r.err, 0);
	ask("ok", true, two_dead_first, 2, 30000, &r);
	CHECK_INT(r.err, 0);
	/* every server dead: an error, SKY_EIO from the ICMP refusals, or
	 * SKY_ETIMEDOUT when the kernel rate-limited them (seen once in CI) */
	ask("ok", false, dead, 2, 2000, &r);
	CHECK(r.err == SKY_EIO || r.err == SKY_ETIMEDOUT);
}

TEST(many_in_flight)
{
	struct upstream *u;
	CHECK_INT(upstream_new(-1, &u), 0);
	struct result r[40];
	uint8_t q[512];
	memset(r, 0, sizeof r);
	for (int i = 0; i < 40; i++) {
		size_t ql = make_query(q, i % 2 ? "silent" : "ok");
		struct upstream_req req = {.pkt = q, .len = ql, .servers = (const char (*)[64])one,
					   .nservers = 1, .timeout_ms = 500, .budget_ms = 500,
					   .done = on_done, .ctx = &r[i]};
		CHECK_INT(upstream_start(u, &req), 0);
	}
	int64_t end = ms_now() + 10000;
	while (upstream_inflight(u) > 0 && ms_now() < end)
		upstream_poll(u, 100);
	int ok = 0, tmo = 0;
	for (int i = 0; i < 40; i++) {
		ok += r[i].done && r[i].err == 0;
		tmo += r[i].done && r[i].err == SKY_ETIMEDOUT;
	}
	CHECK_INT(ok, 20);
	CHECK_INT(tmo, 20);
	upstream_free(u);
}

TEST(formerr_edns_retried_without)
{
	struct upstream *u;
	struct result r;
	memset(&r, 0, sizeof r);
	CHECK_INT(upstream_new(-1, &u), 0);
	uint8_t q[512];
	size_t ql = make_query(q, "noedns");
	pkt_put16(q + 10, 1);
	memcpy(q + ql, "\0\0\51\20\0\0\0\0\0\0\0", 11);
	ql += 11;
	struct upstream_req req = {.pkt = q, .len = ql, .servers = (const char (*)[64])one,
				   .nservers = 1, .timeout_ms = 1000, .budget_ms = 2000,
				   .done = on_done, .ctx = &r};
	int before = atomic_load(&srv.queries);
	CHECK_INT(upstream_start(u, &req), 0);
	int64_t end = ms_now() + 10000;
	while (!r.done && ms_now() < end)
		upstream_poll(u, 100);
	CHECK_INT(r.err, 0);
	CHECK_INT(r.reply[3] & 0x0f, 0);
	CHECK_INT(pkt_get16(r.reply + 6), 1);
	CHECK_INT(atomic_load(&srv.queries) - before, 2);
	upstream_free(u);
}

/* The first attempt times out at 500 ms, the second is sent, and the
 * first one's answer (700 ms) is still taken from the kept socket. */
TEST(late_reply_taken)
{
	struct result r;
	int before = atomic_load(&srv.queries);
	ask("late", false, one, 1, 500, &r);
	CHECK_INT(r.err, 0);
	CHECK_INT(pkt_get16(r.reply + 6), 1);
	/* The fake answers one query at a time: it reads the second only after
	 * sending the late first reply, which may be after we have it. */
	for (int64_t end = ms_now() + 3000;
	     atomic_load(&srv.queries) - before < 2 && ms_now() < end;)
		usleep(10000);
	CHECK_INT(atomic_load(&srv.queries) - before, 2);
	usleep(800000); /* let the fake finish sleeping on the second query */
}

TEST(bad_input)
{
	struct upstream *u;
	CHECK_INT(upstream_new(-1, &u), 0);
	uint8_t q[8] = {0};
	struct upstream_req req = {.pkt = q, .len = sizeof q, .servers = (const char (*)[64])one,
				   .nservers = 1, .done = on_done};
	CHECK_INT(upstream_start(u, &req), SKY_EINVAL);
	upstream_free(u);
}

int main(void)
{
	if (fake_start(&srv) != 0) {
		printf("cannot start the fake server\n");
		return 1;
	}
	snprintf(one[0], 64, "127.0.0.1:%u", srv.port);
	unsigned dp = dead_port();
	snprintf(two_dead_first[0], 64, "127.0.0.1:%u", dp);
	snprintf(two_dead_first[1], 64, "127.0.0.1:%u", srv.port);
	snprintf(dead[0], 64, "127.0.0.1:%u", dp);
	snprintf(dead[1], 64, "127.0.0.1:%u", dp);
	RUN(udp_answer);
	RUN(tcp_answer_reassembled);
	RUN(truncated_udp_relayed);
	RUN(servfail_retried_then_failed);
	RUN(wrong_id_discarded);
	RUN(silent_times_out);
	RUN(dead_server_skipped);
	RUN(many_in_flight);
	RUN(late_reply_taken);
	RUN(formerr_edns_retried_without);
	RUN(bad_input);
	fake_stop(&srv);
	return CHECK_DONE();
}
