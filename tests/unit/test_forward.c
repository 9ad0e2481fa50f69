/* test_forward.c - the forwarder end to end without the server: a real
 * snapstore with hand-built snapshots, the real resolver and wire code, and
 * the scripted upstream of fakedns.h on 127.0.0.1. Covers proxying (UDP and
 * TCP), the no_rec / no-nameserver / ndots policy and its RA bit, SERVFAIL
 * when every upstream fails, the response cache (count upstream queries,
 * 0x20 echo, new ID), stub zones with the 65011 marker and loop drop, and
 * external-name lookups appended to a local CNAME. Every wait is bounded. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "answer.h"
#include "check.h"
#include "config.h"
#include "err.h"
#include "fakedns.h"
#include "forward.h"
#include "msg.h"
#include "pktwalk.h"
#include "snapshot.h"
#include "snapstore.h"
#include "metrics.h"
#include "stats.h"

struct sink {
	struct fwd_reply r;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool got;
	uint8_t pkt[65536];
	size_t len;
};

static void sink_send(struct fwd_reply *r, const uint8_t *pkt, size_t len)
{
	struct sink *s = (struct sink *)r;
	pthread_mutex_lock(&s->mu);
	if (len)
		memcpy(s->pkt, pkt, len);
	s->len = len;
	s->got = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static struct fake up;
static struct snapstore *store;
static struct forwarder *fwd;
static uint64_t rev = 1;

struct rec {
	const char *path;
	const char *host;
	uint16_t port;
};

/* Publish a snapshot with these records and a config tweaked by `tweak`. */
static void publish(const struct rec *recs, size_t n, void (*tweak)(struct config *))
{
	struct snapshot_builder *b = snapshot_builder_new();
	for (size_t i = 0; i < n; i++) {
		struct service svc = {.host = (char *)recs[i].host, .port = recs[i].port};
		CHECK_INT(snapshot_builder_add(b, recs[i].path, strlen(recs[i].path), &svc, 0), 0);
	}
	struct config *c = calloc(1, sizeof *c);
	config_defaults(c);
	snprintf(c->domain, sizeof c->domain, "skydns.local.");
	c->nnameservers = 1;
	snprintf(c->nameservers[0], 64, "127.0.0.1:%u", up.port);
	c->read_timeout_ms = 300;
	c->rcache = 0;
	if (tweak)
		tweak(c);
	struct snapshot *s = snapshot_builder_finish(b, c, rev++, 1);
	CHECK(s != NULL);
	snapstore_publish(store, s);
}

static size_t make_query(uint8_t *p, uint16_t id, const char *name, uint16_t qtype, bool marker)
{
	memset(p, 0, PKT_HDR);
	pkt_put16(p, id);
	p[2] = 0x01;
	pkt_put16(p + 4, 1);
	size_t n = PKT_HDR;
	const char *s = name;
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		p[n++] = (uint8_t)l;
		memcpy(p + n, s, l);
		n += l;
		s += l + (dot ? 1 : 0);
	}
	p[n++] = 0;
	pkt_put16(p + n, qtype);
	pkt_put16(p + n + 2, C_IN);
	n += 4;
	if (marker) {
		pkt_put16(p + 10, 1);
		uint8_t opt[] = {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 5, 0xfd, 0xf3, 0, 1, 1};
		memcpy(p + n, opt, sizeof opt);
		n += sizeof opt;
	}
	return n;
}

/* Submit and wait (bounded) for the one send(). Returns false on timeout. */
static bool exchange(const uint8_t *q, size_t ql, bool tcp, struct sink *s)
{
	memset(s, 0, sizeof *s);
	s->r.send = sink_send;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	CHECK_INT(forwarder_submit(fwd, q, ql, tcp, &s->r), 0);
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 10;
	pthread_mutex_lock(&s->mu);
	while (!s->got && pthread_cond_timedwait(&s->cv, &s->mu, &dl) == 0)
		;
	bool got = s->got;
	pthread_mutex_unlock(&s->mu);
	return got;
}

static int rcode(const struct sink *s) { return s->pkt[3] & 0x0f; }
static bool ra(const struct sink *s) { return s->pkt[3] & 0x80; }

TEST(forward_udp_and_tcp)
{
	publish(NULL, 0, NULL);
	uint8_t q[512];
	struct sink s;
	int before = atomic_load(&up.queries);
	size_t ql = make_query(q, 0x1234, "Ok.Example.COM", T_A, false);
	CHECK(exchange(q, ql, false, &s));
	CHECK_INT(pkt_get16(s.pkt), 0x1234);
	CHECK_INT(rcode(&s), 0);
	CHECK_INT(pkt_get16(s.pkt + 6), 1);
	CHECK_INT(s.pkt[s.len - 1], 1); /* UDP answer from the fake */
	CHECK(memcmp(s.pkt + PKT_HDR, q + PKT_HDR, ql - PKT_HDR) == 0); /* 0x20 kept */
	CHECK_INT(atomic_load(&up.queries) - before, 1);
	CHECK(exchange(q, ql, true, &s));
	CHECK_INT(s.pkt[s.len - 1], 2); /* TCP stays TCP */
	ql = make_query(q, 7, "tc.example.com", T_A, false);
	CHECK(exchange(q, ql, false, &s));
	CHECK(s.pkt[2] & 0x02); /* truncated reply relayed with TC */
	ql = make_query(q, 8, "huge.example.com", T_A, false);
	CHECK(exchange(q, ql, false, &s));
	CHECK(s.len <= 512 && (s.pkt[2] & 0x02) && pkt_get16(s.pkt + 6) == 0); /* fits the client */
	CHECK(exchange(q, ql, true, &s));
	CHECK_INT(pkt_get16(s.pkt + 6), 40);
}

static void no_rec(struct config *c) { c->no_rec = true; }
static void no_ns(struct config *c) { c->nnameservers = 0; }
static void dead_ns(struct config *c)
{
	c->nnameservers = 2;
	unsigned dp = dead_port();
	snprintf(c->nameservers[0], 64, "127.0.0.1:%u", dp);
	snprintf(c->nameservers[1], 64, "127.0.0.1:%u", dp);
}

TEST(policy_and_failures)
{
	uint8_t q[512];
	struct sink s;
	size_t ql = make_query(q, 99, "ok.example.com", T_A, false);
	publish(NULL, 0, no_rec);
	CHECK(exchange(q, ql, false, &s));
	CHECK_INT(rcode(&s), RCODE_REFUSED);
	CHECK(!ra(&s));
	publish(NULL, 0, no_ns);
	CHECK(exchange(q, ql, false, &s));
	CHECK_INT(rcode(&s), RCODE_SERVFAIL);
	CHECK(!ra(&s));
	publish(NULL, 0, NULL);
	size_t ql1 = make_query(q, 98, "com", T_A, false); /* 1 label < ndots 2 */
	CHECK(exchange(q, ql1, false, &s));
	CHECK_INT(rcode(&s), RCODE_SERVFAIL);
	CHECK(ra(&s));
	ql = make_query(q, 97, "servfail.example.com", T_A, false);
	CHECK(exchange(q, ql, false, &s));
	CHECK_INT(rcode(&s), RCODE_SERVFAIL);
	CHECK_INT(pkt_get16(s.pkt), 97);
	ql = make_query(q, 96, "silent.example.com", T_A, false);
	CHECK(exchange(q, ql, false, &s)); /* SERVFAIL after the budget, not silence */
	CHECK_INT(rcode(&s), RCODE_SERVFAIL);
	ql = make_query(q, 95, "wrongid.example.com", T_A, false);
	CHECK(exchange(q, ql, false, &s));
	CHECK_INT(rcode(&s), 0);
	CHECK_INT(pkt_get16(s.pkt), 95);
	publish(NULL, 0, dead_ns);
	ql = make_query(q, 94, "ok.example.com", T_A, false);
	CHECK(exchange(q, ql, false, &s));
	CHECK_INT(rcode(&s), RCODE_SERVFAIL);
}

static unsigned hole_port;
static void hole_first(struct config *c)
{
	c->nnameservers = 2;
	snprintf(c->nameservers[0], 64, "127.0.0.1:%u", hole_port);
	snprintf(c->nameservers[1], 64, "127.0.0.1:%u", up.port);
}

/* A server that swallows queries (no ICMP): after its first timeout it is
 * asked last, so later clients do not wait for it. */
TEST(blackholed_server_avoided)
{
	int hole = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	CHECK(bind(hole, (struct sockaddr *)&a, sizeof a) == 0);
	getsockname(hole, (struct sockaddr *)&a, &al);
	hole_port = ntohs(a.sin_port);
	publish(NULL, 0, hole_first);
	uint8_t q[512];
	struct sink s;
	for (int i = 0; i < 6; i++) {
		size_t ql = make_query(q, (uint16_t)(200 + i), "ok.example.com", T_A, false);
		CHECK(exchange(q, ql, false, &s));
		CHECK_INT(rcode(&s), 0);
	}
	int swallowed = 0;
	uint8_t buf[512];
	while (recv(hole, buf, sizeof buf, MSG_DONTWAIT) > 0)
		swallowed++;
	CHECK_INT(swallowed, 1);
	close(hole);
}

static void cache_on(struct config *c) { c->rcache = 100; c->rcache_ttl = 60; }

TEST(cache_counts_upstream)
{
	publish(NULL, 0, cache_on);
	uint8_t q[512];
	struct sink s;
	int before = atomic_load(&up.queries);
	size_t ql = make_query(q, 1, "cached.example.com", T_A, false);
	CHECK(exchange(q, ql, false, &s));
	CHECK_INT(rcode(&s), 0);
	ql = make_query(q, 2, "CACHED.example.com", T_A, false);
	CHECK(exchange(q, ql, false, &s));
	CHECK_INT(rcode(&s), 0);
	CHECK_INT(pkt_get16(s.pkt), 2);
	CHECK(memcmp(s.pkt + PKT_HDR, q + PKT_HDR, ql - PKT_HDR) == 0); /* client's spelling */
	CHECK_INT(pkt_get16(s.pkt + 6), 1);
	CHECK_INT(atomic_load(&up.queries) - before, 1); /* second one from the cache */
	CHECK(exchange(q, ql, true, &s)); /* TCP is its own cache entry */
	CHECK_INT(atomic_load(&up.queries) - before, 2);
	ql = make_query(q, 3, "servfail.example.com", T_A, false);
	CHECK(exchange(q, ql, false, &s));
	CHECK(exchange(q, ql, false, &s));
	CHECK_INT(atomic_load(&up.queries) - before, 2 + 4); /* SERVFAIL is not cached */
}

static void stubs_on(struct config *c) { c->stubzones = true; }

TEST(stub_zone_marker_and_drop)
{
	char path[128];
	snprintf(path, sizeof path, "local/skydns/dns/stub/org/example/ns1");
	struct rec recs[] = {{path, "127.0.0.1", (uint16_t)up.port}};
	publish(recs, 1, stubs_on);
	uint8_t q[512];
	struct sink s;
	size_t ql = make_query(q, 11, "www.example.org", T_A, false);
	CHECK(exchange(q, ql, false, &s));
	CHECK_INT(rcode(&s), 0);
	CHECK_INT(pkt_get16(s.pkt + 10), 0); /* our added OPT is not relayed */
	pthread_mutex_lock(&up.mu);
	struct pkt_rr opt;
	CHECK_INT(pktwalk_find_opt(up.last, up.last_len, &opt), 1);
	CHECK(opt.rdlen == 5 && pkt_get16(up.last + opt.rdata) == 65011 &&
	      up.last[opt.rdata + 4] == 1);
	pthread_mutex_unlock(&up.mu);
	ql = make_query(q, 12, "www.example.org", T_A, true);
	CHECK(exchange(q, ql, false, &s));
	CHECK_INT(s.len, 0); /* loop: dropped */
}

static void stubs_cached(struct config *c)
{
	c->stubzones = true;
	c->rcache = 100;
}

/* A cached stub answer is keyed by the zone's servers: once etcd points
 * the zone elsewhere, the cache no longer answers for it. */
TEST(stub_cache_follows_etcd)
{
	char path[] = "local/skydns/dns/stub/org/example/ns1";
	struct rec recs[] = {{path, "127.0.0.1", (uint16_t)up.port}};
	publish(recs, 1, stubs_cached);
	uint8_t q[512];
	struct sink s;
	size_t ql = make_query(q, 31, "cachedstub.example.org", T_A, false);
	int before = atomic_load(&up.queries);
	CHECK(exchange(q, ql, false, &s));
	CHECK(exchange(q, ql, false, &s));
	CHECK_INT(rcode(&s), 0);
	CHECK_INT(atomic_load(&up.queries) - before, 1);
	struct rec moved[] = {{path, "127.0.0.1", (uint16_t)dead_port()}};
	publish(moved, 1, stubs_cached);
	CHECK(exchange(q, ql, false, &s));
	CHECK_INT(rcode(&s), RCODE_SERVFAIL); /* asked the new (dead) server */
	publish(recs, 1, stubs_cached);
	CHECK(exchange(q, ql, false, &s));
	CHECK_INT(rcode(&s), 0);
	CHECK_INT(atomic_load(&up.queries) - before, 1); /* back: cached again */
}

TEST(external_name_lookup)
{
	struct rec recs[] = {{"local/skydns/ext", "ok.example.com", 0},
			     {"local/skydns/srv/a", "ok.example.net", 80},
			     {"local/skydns/bad", "poison.example.com", 0}};
	publish(recs, 3, NULL);
	uint8_t q[512];
	struct sink s;
	size_t ql = make_query(q, 21, "ext.skydns.local", T_A, false);
	CHECK(exchange(q, ql, false, &s));
	CHECK_INT(rcode(&s), 0);
	CHECK_INT(pkt_get16(s.pkt + 6), 2); /* CNAME + A from upstream */
	struct pkt_iter it;
	struct pkt_rr rr;
	int types = 0;
	CHECK_INT(pktwalk_begin(&it, s.pkt, s.len), 0);
	while (pktwalk_next(&it, &rr) == 1) {
		types |= (rr.type == T_CNAME) | (rr.type == T_A) << 1;
		if (rr.section == SEC_ANSWER)
			CHECK_INT(rr.ttl, 300); /* §12.2: the CNAME takes the upstream's 300 */
	}
	CHECK_INT(types, 3);
	ql = make_query(q, 23, "bad.skydns.local", T_A, false);
	CHECK(exchange(q, ql, false, &s));
	CHECK_INT(pkt_get16(s.pkt + 6), 2); /* CNAME + the target's A, not evil.'s */
	ql = make_query(q, 22, "srv.skydns.local", T_SRV, false);
	CHECK(exchange(q, ql, false, &s));
	CHECK_INT(rcode(&s), 0);
	CHECK_INT(pkt_get16(s.pkt + 6), 1);
	CHECK_INT(pkt_get16(s.pkt + 10), 2); /* A and AAAA of the target */
}

static struct stats *stats;

/* The value of the first rendered series line starting with `prefix`. */
static double metric(const char *prefix)
{
	size_t len;
	char *txt = metrics_render(stats_registry(stats), &len);
	double v = -1;
	for (char *l = txt; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, prefix, strlen(prefix)) == 0) {
			v = strtod(strchr(l, ' ') + 1, NULL);
			break;
		}
	}
	free(txt);
	return v;
}

TEST(metrics_counted)
{
	CHECK(metric("skydns_skydns_dns_request_count_total{system=\"recursive\"}") >= 5);
	CHECK(metric("skydns_skydns_dns_request_count_total{system=\"cache\"}") >= 1);
	CHECK(metric("skydns_skydns_dns_request_count_total{system=\"stub\"}") >= 1);
	CHECK(metric("skydns_skydns_dns_cachemiss_count_total{cache=\"response\"}") >= 1);
	CHECK(metric("skydns_skydns_forward_error_count_total{cause=\"servfail\"}") >= 2);
	CHECK(metric("skydns_skydns_forward_error_count_total{cause=\"timeout\"}") >= 2);
	CHECK(metric("skydns_skydns_forward_error_count_total{cause=\"mismatch\"}") >= 1);
}

int main(void)
{
	if (fake_start(&up) != 0)
		return 1;
	store = snapstore_new(1);
	CHECK_INT(forwarder_new(store, 0, &fwd), 0);
	stats = stats_new("skydns", "skydns");
	forwarder_set_stats(fwd, stats);
	RUN(forward_udp_and_tcp);
	RUN(policy_and_failures);
	RUN(blackholed_server_avoided);
	RUN(cache_counts_upstream);
	RUN(stub_zone_marker_and_drop);
	RUN(stub_cache_follows_etcd);
	RUN(external_name_lookup);
	RUN(metrics_counted);
	forwarder_free(fwd);
	stats_free(stats);
	snapstore_free(store);
	fake_stop(&up);
	return CHECK_DONE();
}
