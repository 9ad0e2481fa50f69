/* server.c - the query path and the UDP workers (recvmmsg/sendmmsg); the
 * TCP pool (RFC 7766) is tcp.c.
 *
 * Every query runs the same path: parse, snapstore_enter, resolve, encode,
 * snapstore_leave, send. Queries that need other servers go to the
 * forwarder with a reply channel (UDP: socket + client address; TCP: a
 * reference on the connection) and are answered from the forwarder thread.
 */
#include "server_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "acache.h"
#include "answer.h"
#include "cidr.h"
#include "config.h"
#include "dnssec.h"
#include "err.h"
#include "netaddr.h"
#include "forward.h"
#include "log.h"
#include "pktwalk.h"
#include "resolve.h"
#include "rrl.h"
#include "snapshot.h"
#include "snapstore.h"
#include "stats.h"
#include "wire.h"

#define UDP_BATCH 32
#define UDP_RX 4096      /* larger UDP queries are cut and answered FORMERR */

struct udp_worker {
	struct qctx q;
	int fd;
	pthread_t thread;
	bool started;
};

/* ------------------------------------------------------------ slots */

static size_t count_type(const int *fds, size_t nfds, int type)
{
	size_t n = 0;
	for (size_t i = 0; i < nfds; i++) {
		int t = 0;
		socklen_t tl = sizeof t;
		if (getsockopt(fds[i], SOL_SOCKET, SO_TYPE, &t, &tl) == 0 && t == type)
			n++;
	}
	return n;
}

size_t server_count_udp(const int *fds, size_t nfds) { return count_type(fds, nfds, SOCK_DGRAM); }

unsigned server_workers(const struct config *c, size_t n_udp_fds)
{
	long w = c->workers > 0 ? c->workers : sysconf(_SC_NPROCESSORS_ONLN);
	if (w < 1)
		w = 1;
	if (w > 64)
		w = 64;
	if ((size_t)w < n_udp_fds)
		w = (long)n_udp_fds;
	return (unsigned)w;
}

unsigned server_forwarder_slot(const struct config *c, size_t n_udp_fds)
{
	return server_workers(c, n_udp_fds) + SERVER_TCP_THREADS;
}

unsigned server_reader_slots(const struct config *c, size_t n_udp_fds)
{
	return server_forwarder_slot(c, n_udp_fds) + 1;
}

/* ------------------------------------------------------------ query path */

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

int qctx_init(struct qctx *q, struct server *s, unsigned reader, bool scratch)
{
	q->srv = s;
	q->reader = reader;
	answer_init(&q->ans);
	q->rand = ((uint64_t)time(NULL) << 20) ^ ((uint64_t)reader * 0x9E3779B97F4A7C15ull) ^ 1;
	/* NULL: answers uncached, not an error. TCP pools see far fewer queries. */
	unsigned slots = scratch ? (s->acache_slots + 15) / 16 : s->acache_slots;
	q->cache = slots ? acache_new(slots) : NULL;
	if (!scratch)
		return 0;
	q->scratch = malloc(WIRE_MAX + 2);
	return q->scratch ? 0 : SKY_ENOMEM;
}

void qctx_free(struct qctx *q)
{
	answer_free(&q->ans);
	acache_free(q->cache);
	q->cache = NULL;
	free(q->scratch);
	q->scratch = NULL;
}

static int servfail(const struct query *q, const struct wire_question *wq, uint8_t *out,
		    size_t cap)
{
	struct answer a = { .rcode = RCODE_SERVFAIL };
	return wire_encode(q, wq, &a, out, cap, q->edns ? q->udp_size : 512);
}

static struct fwd_reply *reply_new(const struct origin *o);

/* Hands the query to the forwarder; its reply then goes out through the
 * origin's channel. Returns 0 when accepted, else a SERVFAIL reply length. */
static int forward(struct qctx *x, const uint8_t *pkt, size_t len, const struct query *q,
		   const struct wire_question *wq, const struct origin *o, uint8_t *out,
		   size_t cap)
{
	struct fwd_reply *r = x->srv->fwd ? reply_new(o) : NULL;
	if (r && forwarder_submit(x->srv->fwd, pkt, len, q->tcp, r) == 0)
		return 0;
	if (r)
		r->send(r, NULL, 0); /* refused: release the channel unsent */
	return servfail(q, wq, out, cap);
}

/* The snapshot part of a query: resolve, sign, encode. Returns the reply
 * length, 0 when nothing is to be sent now (*forwarded says whether the
 * forwarder took it). */
static int answer_snapshot(struct qctx *x, const struct snapshot *snap, const uint8_t *pkt,
			   size_t len, const struct query *q, const struct wire_question *wq,
			   const struct origin *o, bool *forwarded, uint8_t *out, size_t cap)
{
	const struct config *cfg = snapshot_config(snap);
	const struct acache_key key = { .serial = snapshot_serial(snap),
					.udp_size = q->tcp ? 0 : q->udp_size, .tcp = q->tcp,
					.recursion_denied = q->recursion_denied };
	int hit = acache_get(x->cache, &key, q->now, pkt, len, out, cap);
	if (x->cache)
		stats_answer_cache(x->srv->stats, hit > 0);
	if (hit > 0)
		return hit;
	enum resolve_action act = resolve(q, snap, cfg, &x->ans);
	if (act == RESOLVE_DROP)
		return 0;
	if (x->ans.filtered || x->ans.fail_open)
		stats_health(x->srv->stats, x->ans.filtered, x->ans.fail_open);
	if (act != RESOLVE_ANSWER || x->ans.next > 0) {
		int n = forward(x, pkt, len, q, wq, o, out, cap);
		*forwarded = n == 0;
		return n;
	}
	if (!x->srv->dnssec)
		x->ans.sign = false;
	else if (dnssec_sign_answer(x->srv->dnssec, q, cfg, &x->ans) < 0)
		return servfail(q, wq, out, cap);
	int n = wire_encode(q, wq, &x->ans, out, cap, q->tcp ? WIRE_MAX : q->udp_size);
	if (n == SKY_ERANGE && q->tcp)
		return servfail(q, wq, out, cap); /* SkyDNS §14: > 64 KiB after trimming */
	if (n < 0) {
		log_warn("server", "cannot encode answer name=%s error=%s", q->name, err_str(n));
		return servfail(q, wq, out, cap);
	}
	if (x->ans.sign) /* signature times: to the second, to be safe */
		answer_time_unit(&x->ans, 1);
	uint32_t unit = x->ans.time_unit;
	int64_t from = unit ? q->now - q->now % unit : INT64_MIN;
	int64_t to = unit ? from + unit - 1 : INT64_MAX;
	if (!x->ans.varies)
		acache_put(x->cache, &key, from, to, pkt, len, out, (size_t)n);
	return n;
}

static bool is_reverse(const char *name)
{
	size_t l = strlen(name);
	return (l >= 14 && strcmp(name + l - 14, ".in-addr.arpa.") == 0) ||
	       (l >= 10 && strcmp(name + l - 10, ".ip6.arpa.") == 0);
}

static void account(struct qctx *x, const struct query *q, const struct timespec *t0,
		    const uint8_t *out, int n)
{
	if (!x->srv->stats || n < 12)
		return;
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
	int rcode = out[3] & 0x0F;
	bool empty = out[6] == 0 && out[7] == 0;
	stats_reply(x->srv->stats, q && is_reverse(q->name) ? SYS_REVERSE : SYS_AUTH, secs,
		    (size_t)n, rcode, (out[2] & 0x02) != 0, empty);
}

/* What the server's policy makes of this client's query: the UDP reply
 * size is capped whatever the client's EDNS buffer (amplification; DNS Flag
 * Day 2020), and recursion is for allow_recursion's prefixes only. */
static void apply_client_policy(struct query *q, const struct config *cfg,
				const struct origin *o)
{
	if (q->udp_size > cfg->max_udp_size)
		q->udp_size = (uint16_t)cfg->max_udp_size;
	q->recursion_denied = !cidr_match(cfg->allow_recursion, cfg->nallow_recursion,
					  (const struct sockaddr *)o->addr);
	const struct sockaddr *sa = (const struct sockaddr *)o->addr;
	q->client_fam = 0;
	if (sa && sa->sa_family == AF_INET) {
		memcpy(q->client, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		q->client_fam = 4;
	} else if (sa && sa->sa_family == AF_INET6) {
		memcpy(q->client, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		q->client_fam = 6;
	}
}

/* ------------------------------------------------------------ rate limiting */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The RRL table, made on first use: most servers (in-cluster) never turn
 * rrl_rate on and need not hold its memory. NULL on ENOMEM (fail open). */
static struct rrl *server_rrl(struct server *s, const struct config *cfg)
{
	struct rrl *r = atomic_load_explicit(&s->rrl, memory_order_acquire);
	if (r)
		return r;
	uint64_t seed;
	if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
		seed = (uint64_t)now_ms() * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)s;
	struct rrl *made = rrl_new(s->rrl_table_size, seed);
	if (!made)
		return NULL;
	if (!atomic_compare_exchange_strong(&s->rrl, &r, made)) {
		rrl_free(made); /* another worker was first */
		return r;
	}
	log_info("server", "response-rate limiting on rate=%d slip=%d log_only=%d buckets=%zu",
		 cfg->rrl_rate, cfg->rrl_slip, cfg->rrl_log_only, rrl_buckets(made));
	return made;
}

/* A slipped reply: header and question only, TC=1, so a real client asks
 * again over TCP and a spoofed victim gets no more bytes than the query. */
static int slip_reply(uint8_t *out, int n)
{
	size_t end;
	uint16_t qtype, qclass;
	if (pktwalk_question(out, (size_t)n, &end, &qtype, &qclass) < 0) {
		end = PKT_HDR;
		pkt_put16(out + 4, 0);
	}
	out[2] |= 0x02;
	pkt_put16(out + 6, 0);
	pkt_put16(out + 8, 0);
	pkt_put16(out + 10, 0);
	return (int)end;
}

static const char *const rrl_class_names[] = { "answer", "nxdomain", "error" };

/* Response-rate limiting (rrl.h) of the direct UDP reply out[n]: the
 * length to send, 0 to drop it. Forwarded replies are not limited: only
 * allow_recursion's clients get them. */
static int rate_limit(struct server *s, const struct config *cfg, const struct origin *o,
		      uint8_t *out, int n)
{
	if (cfg->rrl_rate <= 0)
		return n;
	struct rrl *r = server_rrl(s, cfg);
	const struct rrl_params p = { .rate = cfg->rrl_rate, .slip = cfg->rrl_slip,
				      .log_only = cfg->rrl_log_only,
				      .ipv4_prefix = cfg->rrl_ipv4_prefix,
				      .ipv6_prefix = cfg->rrl_ipv6_prefix };
	int rcode = out[3] & 0x0F;
	enum rrl_class cls = rcode == RCODE_NOERROR ? RRL_ANSWER
			     : rcode == RCODE_NXDOMAIN ? RRL_NXDOMAIN : RRL_ERROR;
	bool log;
	const struct sockaddr *sa = (const struct sockaddr *)o->addr;
	enum rrl_verdict v = rrl_check(r, &p, sa, cls, now_ms(), &log);
	if (log) {
		char prefix[INET6_ADDRSTRLEN + 8];
		rrl_prefix_str(&p, sa, prefix, sizeof prefix);
		log_warn("server", "rate limiting responses prefix=%s kind=%s rate=%d slip=%d "
			 "log_only=%d", prefix, rrl_class_names[cls], p.rate, p.slip, p.log_only);
	}
	switch (v) {
	case RRL_SEND:
		return n;
	case RRL_LOGGED:
		stats_rrl(s->stats, RATE_LOGGED);
		return n;
	case RRL_SLIP:
		stats_rrl(s->stats, RATE_SLIPPED);
		return slip_reply(out, n);
	case RRL_DROP:
		break;
	}
	stats_rrl(s->stats, RATE_DROPPED);
	return 0;
}

/* One query against snap (NULL: nothing published yet). */
/* Names for the -verbose query log (RFC 1035, 3596, 2782, 4034, 9460). */
static const char *qtype_name(unsigned t, char *buf, size_t cap)
{
	static const struct { unsigned t; const char *n; } names[] = {
		{ 1, "A" }, { 2, "NS" }, { 5, "CNAME" }, { 6, "SOA" }, { 12, "PTR" }, { 13, "HINFO" },
		{ 15, "MX" }, { 16, "TXT" }, { 28, "AAAA" }, { 33, "SRV" }, { 35, "NAPTR" },
		{ 39, "DNAME" }, { 41, "OPT" }, { 43, "DS" }, { 46, "RRSIG" }, { 47, "NSEC" },
		{ 48, "DNSKEY" }, { 50, "NSEC3" }, { 51, "NSEC3PARAM" }, { 52, "TLSA" },
		{ 64, "SVCB" }, { 65, "HTTPS" }, { 251, "IXFR" }, { 252, "AXFR" }, { 255, "ANY" },
		{ 257, "CAA" },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].t == t)
			return names[i].n;
	snprintf(buf, cap, "TYPE%u", t); /* RFC 3597 */
	return buf;
}

static const char *rcode_name(int rc, char *buf, size_t cap)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					     "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
					     "NXRRSET", "NOTAUTH", "NOTZONE" };
	if (rc >= 0 && rc < (int)(sizeof names / sizeof names[0]))
		return names[rc];
	snprintf(buf, cap, "RCODE%d", rc);
	return buf;
}

static int answer_packet(struct qctx *x, const struct snapshot *snap, const uint8_t *pkt,
			 size_t len, const struct origin *o, bool *forwarded, uint8_t *out,
			 size_t cap)
{
	bool tcp = o->tcp;
	const char *client = o->client;
	struct query q;
	struct wire_question wq;
	int hint;
	struct timespec t0;
	if (x->srv->stats)
		clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = wire_parse_query(pkt, len, &q, &wq, &hint);
	if (rc == SKY_EINVAL)
		return -1;
	if (rc < 0 || hint) {
		int rcode = rc < 0 ? RCODE_FORMERR : hint;
		int n = wire_encode_error(pkt, len, &wq, rcode, out, cap);
		char rb[16];
		log_debug("server", "query error client=%s rcode=%s tcp=%d", client,
			  rcode_name(rcode, rb, sizeof rb), tcp);
		account(x, NULL, &t0, out, n);
		return n < 0 ? -1 : n;
	}
	q.tcp = tcp;
	q.now = time(NULL);
	q.rand = next_rand(&x->rand);

	if (snap)
		apply_client_policy(&q, snapshot_config(snap), o);
	answer_reset(&x->ans);
	int n = snap ? answer_snapshot(x, snap, pkt, len, &q, &wq, o, forwarded, out, cap)
		     : servfail(&q, &wq, out, cap); /* nothing published yet */
	if (x->srv->verbose) {
		/* A forwarded query's reply comes from the forwarder thread;
		 * under no-rec that reply is always REFUSED (forward.c). */
		char tb[16], rb[16];
		bool refused = snap && *forwarded && snapshot_config(snap)->no_rec;
		const char *rcode = refused ? "REFUSED"
				    : n > 3 ? rcode_name(out[3] & 0x0F, rb, sizeof rb)
				    : *forwarded ? "(from the forwarder)" : "(none: dropped)";
		log_debug("server", "query client=%s name=%s type=%s tcp=%d %s rcode=%s len=%d",
			  client, q.name, qtype_name(q.qtype, tb, sizeof tb), tcp,
			  !snap ? "not-ready" : refused ? "refused (no-rec)"
				: *forwarded ? "forwarded" : "answered",
			  rcode, n);
	}
	if (n > 0)
		account(x, &q, &t0, out, n);
	return n < 0 ? -1 : n;
}

int answer_query(struct qctx *x, const uint8_t *pkt, size_t len, const struct origin *o,
		 bool *forwarded, uint8_t *out, size_t cap)
{
	*forwarded = false;
	const struct snapshot *snap = snapstore_enter(x->srv->st, x->reader);
	int n = answer_packet(x, snap, pkt, len, o, forwarded, out, cap);
	if (n > 0 && !o->tcp && snap)
		n = rate_limit(x->srv, snapshot_config(snap), o, out, n);
	snapstore_leave(x->srv->st, x->reader);
	return n;
}

void addr_str(const struct sockaddr_storage *a, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (a->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)a)->sin_addr, ip, sizeof ip);
	else if (a->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)a)->sin6_addr, ip, sizeof ip);
	snprintf(out, cap, a->ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, netaddr_port(a));
}

/* ------------------------------------------------------------ UDP */

/* A forwarded UDP query: the forwarder thread sends the reply on the same
 * socket the query came in on. */
struct udp_reply {
	struct fwd_reply base;
	int fd;
	struct sockaddr_storage addr;
	socklen_t alen;
};

static void udp_reply_send(struct fwd_reply *r, const uint8_t *pkt, size_t len)
{
	struct udp_reply *u = (struct udp_reply *)r;
	if (len > 0 && sendto(u->fd, pkt, len, MSG_DONTWAIT | MSG_NOSIGNAL,
			      (struct sockaddr *)&u->addr, u->alen) < 0)
		log_debug("server", "udp forward reply: %s", strerror(errno));
	free(u);
}

static struct fwd_reply *reply_new(const struct origin *o)
{
	if (o->tcp)
		return tcp_reply_new(o->c);
	struct udp_reply *u = malloc(sizeof *u);
	if (!u)
		return NULL;
	u->base.send = udp_reply_send;
	u->fd = o->fd;
	memcpy(&u->addr, o->addr, sizeof u->addr);
	u->alen = o->alen;
	return &u->base;
}

struct udp_batch {
	struct mmsghdr rx[UDP_BATCH], tx[UDP_BATCH];
	struct iovec rxv[UDP_BATCH], txv[UDP_BATCH];
	struct sockaddr_storage addr[UDP_BATCH];
	uint8_t in[UDP_BATCH][UDP_RX];
	uint8_t *out; /* UDP_BATCH * WIRE_MAX */
};

static int udp_one(struct udp_worker *w, struct udp_batch *b, int i, uint8_t *out)
{
	char client[64] = "";
	if (w->q.srv->verbose)
		addr_str(&b->addr[i], client, sizeof client);
	struct origin o = { .tcp = false, .fd = w->fd, .addr = &b->addr[i],
			    .alen = b->rx[i].msg_hdr.msg_namelen, .client = client };
	bool forwarded;
	return answer_query(&w->q, b->in[i], b->rx[i].msg_len, &o, &forwarded, out, WIRE_MAX);
}

static void udp_batch_run(struct udp_worker *w, struct udp_batch *b)
{
	for (int i = 0; i < UDP_BATCH; i++) {
		b->rxv[i] = (struct iovec){ b->in[i], UDP_RX };
		b->rx[i].msg_hdr = (struct msghdr){ .msg_name = &b->addr[i],
						    .msg_namelen = sizeof b->addr[i],
						    .msg_iov = &b->rxv[i], .msg_iovlen = 1 };
	}
	int got = recvmmsg(w->fd, b->rx, UDP_BATCH, MSG_DONTWAIT, NULL);
	if (got <= 0)
		return;
	int nt = 0;
	for (int i = 0; i < got; i++) {
		uint8_t *out = b->out + (size_t)nt * WIRE_MAX;
		int n = udp_one(w, b, i, out);
		if (n <= 0)
			continue;
		b->txv[nt] = (struct iovec){ out, (size_t)n };
		b->tx[nt].msg_hdr = (struct msghdr){ .msg_name = &b->addr[i],
						     .msg_namelen = b->rx[i].msg_hdr.msg_namelen,
						     .msg_iov = &b->txv[nt], .msg_iovlen = 1 };
		nt++;
	}
	for (int sent = 0; sent < nt;) {
		int k = sendmmsg(w->fd, b->tx + sent, (unsigned)(nt - sent), MSG_DONTWAIT);
		if (k <= 0) {
			sent++; /* skip the one that failed (e.g. unreachable client) */
			continue;
		}
		sent += k;
	}
}

static void *udp_main(void *arg)
{
	struct udp_worker *w = arg;
	struct server *s = w->q.srv;
	struct udp_batch *b = calloc(1, sizeof *b);
	if (b)
		b->out = malloc((size_t)UDP_BATCH * WIRE_MAX);
	if (!b || !b->out) {
		log_error("server", "udp worker: out of memory");
		if (b)
			free(b);
		return NULL;
	}
	struct pollfd pfd[2] = { { w->fd, POLLIN, 0 }, { s->stopfd, POLLIN, 0 } };
	while (!atomic_load(&s->stopping)) {
		int pr = poll(pfd, 2, POLL_MS);
		if (pr < 0 && errno != EINTR) {
			log_error("server", "udp poll: %s", strerror(errno));
			break;
		}
		if (pr > 0 && (pfd[0].revents & POLLIN))
			udp_batch_run(w, b);
	}
	free(b->out);
	free(b);
	return NULL;
}

/* ------------------------------------------------------------ sockets */

/* SO_REUSEPORT only for the UDP worker group; TCP gets SO_REUSEADDR
 * (TIME_WAIT) only, so a second listener on the port fails to bind. */
static int open_socket(const struct sockaddr_storage *a, socklen_t alen, int type,
		       bool reuseport)
{
	int fd = socket(a->ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
	if (a->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (type == SOCK_DGRAM) {
		int buf = 4 << 20; /* absorbs bursts; the kernel caps it at rmem_max */
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
	}
	if (bind(fd, (const struct sockaddr *)a, alen) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 1024) < 0)) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* The UDP group: one SO_REUSEPORT socket per worker (the kernel spreads
 * clients over them). SO_REUSEPORT would also let a second skydns (same
 * uid) join the group and silently take half the traffic, so the port is
 * first bound once without it: that fails with EADDRINUSE if anyone holds
 * it, and a later skydns fails the same way against our group. */
static int open_udp_group(struct server *s, const struct sockaddr_storage *a, socklen_t alen,
			  unsigned workers)
{
	int probe = open_socket(a, alen, SOCK_DGRAM, false);
	if (probe < 0)
		return -1;
	close(probe);
	for (unsigned i = 0; i < workers && i < MAX_FDS; i++) {
		int fd = open_socket(a, alen, SOCK_DGRAM, true);
		if (fd < 0)
			return -1;
		s->udp_fds[s->n_udp++] = fd;
	}
	return 0;
}

/* Linux may autobind a same-user client socket that sets SO_REUSEPORT (dig
 * does) to a port our UDP group holds; a connected client then receives its
 * own query. Ports outside the ephemeral range are never autobound. */
static void warn_ephemeral(const struct sockaddr_storage *a)
{
	unsigned port = netaddr_port(a);
	unsigned lo = 0, hi = 0;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	if (!f)
		return;
	int got = fscanf(f, "%u %u", &lo, &hi);
	fclose(f);
	if (got == 2 && port >= lo && port <= hi)
		log_warn("server", "listen port is in the kernel's ephemeral range; clients of the same "
			 "user that set SO_REUSEPORT (dig) may be given it and see their own queries "
			 "port=%u range=%u-%u", port, lo, hi);
}

static int open_listeners(struct server *s, const char *dns_addr, unsigned workers)
{
	struct sockaddr_storage a;
	socklen_t alen;
	if (netaddr_parse(dns_addr, NETADDR_LISTEN, &a, &alen) < 0)
		return SKY_EINVAL;
	/* TCP first: it fixes a port of 0 for the UDP group too. */
	int fd = open_socket(&a, alen, SOCK_STREAM, false);
	if (fd < 0) {
		log_error("server", "cannot bind tcp addr=%s: %s", dns_addr, strerror(errno));
		return SKY_EIO;
	}
	s->tcp_fds[s->n_tcp++] = fd;
	getsockname(fd, (struct sockaddr *)&a, &alen);
	if (open_udp_group(s, &a, alen, workers) < 0) {
		log_error("server", "cannot bind udp addr=%s: %s", dns_addr, strerror(errno));
		return SKY_EIO;
	}
	warn_ephemeral(&a);
	return 0;
}

static int take_fds(struct server *s, const int *fds, size_t nfds)
{
	for (size_t i = 0; i < nfds; i++) {
		int t = 0;
		socklen_t tl = sizeof t;
		if (getsockopt(fds[i], SOL_SOCKET, SO_TYPE, &t, &tl) < 0)
			return SKY_EINVAL;
		int fl = fcntl(fds[i], F_GETFL);
		if (fl >= 0)
			fcntl(fds[i], F_SETFL, fl | O_NONBLOCK);
		if (t == SOCK_DGRAM && s->n_udp < MAX_FDS)
			s->udp_fds[s->n_udp++] = fds[i];
		else if (t == SOCK_STREAM && s->n_tcp < MAX_FDS)
			s->tcp_fds[s->n_tcp++] = fds[i];
		else
			return SKY_EINVAL;
	}
	return s->n_udp + s->n_tcp > 0 ? 0 : SKY_EINVAL;
}

/* ------------------------------------------------------------ lifecycle */

static int start_threads(struct server *s)
{
	for (unsigned i = 0; i < s->n_workers; i++) {
		struct udp_worker *w = &s->workers[i];
		if (qctx_init(&w->q, s, i, false) < 0)
			return SKY_ENOMEM;
		w->fd = s->udp_fds[i % s->n_udp];
		if (pthread_create(&w->thread, NULL, udp_main, w) != 0)
			return SKY_ENOMEM;
		w->started = true;
	}
	return s->n_tcp > 0 ? tcp_start(s) : 0;
}

int server_new(const struct config *c, const struct server_opts *o, struct server **out)
{
	*out = NULL;
	struct server *s = calloc(1, sizeof *s);
	if (!s)
		return SKY_ENOMEM;
	s->st = o->store;
	s->fwd = o->fwd;
	s->dnssec = o->dnssec;
	s->stats = o->stats;
	s->verbose = c->verbose;
	s->rrl_table_size = (size_t)c->rrl_table_size;
	s->acache_slots = (unsigned)c->answer_cache;
	s->tcp_limits = (struct tcp_limits){ .timeout_ms = c->tcp_timeout_ms,
					     .idle_ms = c->tcp_idle_timeout_ms,
					     .max_per_client = c->tcp_max_per_client };
	s->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	size_t n_udp_fds = o->nfds ? server_count_udp(o->fds, o->nfds) : 0;
	s->n_workers = server_workers(c, n_udp_fds);
	s->workers = calloc(s->n_workers, sizeof *s->workers);
	int rc = (!s->workers || s->stopfd < 0) ? SKY_ENOMEM : 0;
	if (rc == 0)
		rc = o->nfds ? take_fds(s, o->fds, o->nfds)
			     : open_listeners(s, c->dns_addr, s->n_workers);
	if (rc == 0 && s->n_udp == 0)
		s->n_workers = 0; /* TCP only (socket activation with a stream socket) */
	if (rc == 0)
		rc = start_threads(s);
	if (rc < 0) {
		server_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void server_stop(struct server *s)
{
	if (!s || s->stopped)
		return;
	s->stopped = true;
	atomic_store(&s->stopping, true);
	uint64_t one = 1;
	if (s->stopfd >= 0 && write(s->stopfd, &one, sizeof one) < 0)
		log_warn("server", "stop signal: %s", strerror(errno));
	for (unsigned i = 0; s->workers && i < s->n_workers; i++)
		if (s->workers[i].started)
			pthread_join(s->workers[i].thread, NULL);
	tcp_join(s);
}

void server_free(struct server *s)
{
	if (!s)
		return;
	server_stop(s);
	for (unsigned i = 0; s->workers && i < s->n_workers; i++)
		if (s->workers[i].q.srv)
			qctx_free(&s->workers[i].q);
	tcp_free(s);
	rrl_free(atomic_load(&s->rrl));
	for (size_t i = 0; i < s->n_udp; i++)
		close(s->udp_fds[i]);
	for (size_t i = 0; i < s->n_tcp; i++)
		close(s->tcp_fds[i]);
	if (s->stopfd >= 0)
		close(s->stopfd);
	free(s->workers);
	free(s);
}
