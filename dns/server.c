/* server.c - UDP workers (recvmmsg/sendmmsg) and a TCP pool (RFC 7766).
 *
 * Every query runs the same path: parse, snapstore_enter, resolve, encode,
 * snapstore_leave, send. Queries that need other servers go to the
 * forwarder with a reply channel (UDP: socket + client address; TCP: a
 * reference on the connection) and are answered from the forwarder thread.
 */
#include "server.h"

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
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "answer.h"
#include "cidr.h"
#include "config.h"
#include "dnssec.h"
#include "err.h"
#include "netaddr.h"
#include "forward.h"
#include "log.h"
#include "resolve.h"
#include "snapshot.h"
#include "snapstore.h"
#include "stats.h"
#include "wire.h"

#define UDP_BATCH 32
#define UDP_RX 4096      /* larger UDP queries are cut and answered FORMERR */
#define MAX_FDS 16
#define POLL_MS 500

struct server;

/* What the query path needs, per thread. */
struct qctx {
	struct server *srv;
	unsigned reader;
	struct answer ans;
	uint64_t rand;
	uint8_t *scratch; /* TCP: the reply buffer, WIRE_MAX + 2 */
};

struct udp_worker {
	struct qctx q;
	int fd;
	pthread_t thread;
	bool started;
};

struct tcp_pool;

struct server {
	struct snapstore *st;
	struct forwarder *fwd;
	struct dnssec *dnssec;
	struct stats *stats;
	bool verbose;
	int stopfd;              /* eventfd: readable once stopping */
	atomic_bool stopping;
	int udp_fds[MAX_FDS], tcp_fds[MAX_FDS];
	size_t n_udp, n_tcp;
	struct udp_worker *workers;
	unsigned n_workers;
	struct tcp_pool *pools;
	bool stopped;
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

static int qctx_init(struct qctx *q, struct server *s, unsigned reader, bool scratch)
{
	q->srv = s;
	q->reader = reader;
	answer_init(&q->ans);
	q->rand = ((uint64_t)time(NULL) << 20) ^ ((uint64_t)reader * 0x9E3779B97F4A7C15ull) ^ 1;
	if (!scratch)
		return 0;
	q->scratch = malloc(WIRE_MAX + 2);
	return q->scratch ? 0 : SKY_ENOMEM;
}

static void qctx_free(struct qctx *q)
{
	answer_free(&q->ans);
	free(q->scratch);
	q->scratch = NULL;
}

static int servfail(const struct query *q, const struct wire_question *wq, uint8_t *out,
		    size_t cap)
{
	struct answer a = { .rcode = RCODE_SERVFAIL };
	return wire_encode(q, wq, &a, out, cap, q->edns ? q->udp_size : 512);
}

/* Where a query came from: enough to build the forwarder's reply channel,
 * which is only allocated when a query is actually forwarded. */
struct conn;
struct origin {
	bool tcp;
	int fd;                              /* UDP: the socket it came in on */
	const struct sockaddr_storage *addr; /* the client */
	socklen_t alen;
	struct conn *c;                      /* TCP: the connection */
	const char *client;                  /* for logs ("" unless verbose for UDP) */
};

static struct fwd_reply *reply_new(const struct origin *o);
static void reply_drop(struct fwd_reply *r);

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
		reply_drop(r);
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
	enum resolve_action act = resolve(q, snap, cfg, &x->ans);
	if (act == RESOLVE_DROP)
		return 0;
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
}

/* Answer one query into out[cap]. Returns the reply length, 0 for "nothing
 * to send now" (dropped or handed to the forwarder: *forwarded says which),
 * or -1 for a packet that must be dropped (TCP closes the connection). */
static int answer_query(struct qctx *x, const uint8_t *pkt, size_t len, const struct origin *o,
			bool *forwarded, uint8_t *out, size_t cap)
{
	bool tcp = o->tcp;
	const char *client = o->client;
	struct query q;
	struct wire_question wq;
	int hint;
	struct timespec t0;
	*forwarded = false;
	if (x->srv->stats)
		clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = wire_parse_query(pkt, len, &q, &wq, &hint);
	if (rc == SKY_EINVAL)
		return -1;
	if (rc < 0 || hint) {
		int rcode = rc < 0 ? RCODE_FORMERR : hint;
		int n = wire_encode_error(pkt, len, &wq, rcode, out, cap);
		log_debug("server", "query error client=%s rcode=%d tcp=%d", client, rcode, tcp);
		account(x, NULL, &t0, out, n);
		return n < 0 ? -1 : n;
	}
	q.tcp = tcp;
	q.now = time(NULL);
	q.rand = next_rand(&x->rand);

	const struct snapshot *snap = snapstore_enter(x->srv->st, x->reader);
	if (snap)
		apply_client_policy(&q, snapshot_config(snap), o);
	answer_reset(&x->ans);
	int n = snap ? answer_snapshot(x, snap, pkt, len, &q, &wq, o, forwarded, out, cap)
		     : servfail(&q, &wq, out, cap); /* nothing published yet */
	snapstore_leave(x->srv->st, x->reader);
	if (x->srv->verbose)
		log_debug("server", "query client=%s name=%s type=%u tcp=%d %s rcode=%d len=%d",
			  client, q.name, q.qtype, tcp,
			  !snap ? "not-ready" : *forwarded ? "forwarded" : "answered",
			  n > 3 ? out[3] & 0x0F : -1, n);
	if (n > 0)
		account(x, &q, &t0, out, n);
	return n < 0 ? -1 : n;
}

static void addr_str(const struct sockaddr_storage *a, char *out, size_t cap)
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

/* ------------------------------------------------------------ TCP */

/* A client connection. The pool thread that accepted it reads and answers;
 * the forwarder may write a reply from its own thread, so writes take wlock
 * and the struct lives until the last reference (pool + one per forwarded
 * query) is dropped. The fd is closed with the last reference so it cannot
 * be reused under a late forwarder reply. */
struct conn {
	int fd;
	bool listener;
	atomic_int refs;
	atomic_int inflight;
	pthread_mutex_t wlock;
	bool closed, broken;    /* under wlock */
	bool eof;               /* pool thread only: peer half-closed */
	int64_t last_ms;        /* pool thread only */
	size_t have;
	uint8_t *rbuf;          /* 2 + WIRE_MAX */
	struct sockaddr_storage peer;
	char client[64];
};

struct tcp_reply {
	struct fwd_reply base;
	struct conn *c;
};

struct tcp_pool {
	struct qctx q;
	int ep;
	pthread_t thread;
	bool started;
	struct conn *conns[SERVER_TCP_MAX_CONN];
	size_t nconn;
	struct conn listeners[MAX_FDS];
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void conn_unref(struct conn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	close(c->fd);
	pthread_mutex_destroy(&c->wlock);
	free(c->rbuf);
	free(c);
}

/* Length prefix and message in one writev (RFC 7766 §8); a client that does
 * not read gets SERVER_TCP_IO_MS, then the connection is shut down. */
static void conn_write(struct conn *c, const uint8_t *pkt, size_t len)
{
	uint8_t pre[2] = { (uint8_t)(len >> 8), (uint8_t)len };
	pthread_mutex_lock(&c->wlock);
	if (c->closed || c->broken) {
		pthread_mutex_unlock(&c->wlock);
		return;
	}
	struct iovec iov[2] = { { pre, 2 }, { (void *)pkt, len } };
	size_t left = len + 2;
	int64_t deadline = now_ms() + SERVER_TCP_IO_MS;
	while (left > 0) {
		ssize_t w = writev(c->fd, iov, 2);
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			break;
		if (w > 0) {
			left -= (size_t)w;
			for (int i = 0; i < 2 && w > 0; i++) {
				size_t k = (size_t)w < iov[i].iov_len ? (size_t)w : iov[i].iov_len;
				iov[i].iov_base = (uint8_t *)iov[i].iov_base + k;
				iov[i].iov_len -= k;
				w -= (ssize_t)k;
			}
			continue;
		}
		int64_t wait = deadline - now_ms();
		struct pollfd p = { c->fd, POLLOUT, 0 };
		if (wait <= 0 || poll(&p, 1, (int)wait) < 0)
			break;
	}
	if (left > 0) {
		c->broken = true;
		shutdown(c->fd, SHUT_RDWR); /* the pool thread sees HUP and closes */
	}
	pthread_mutex_unlock(&c->wlock);
}

static void tcp_reply_send(struct fwd_reply *r, const uint8_t *pkt, size_t len)
{
	struct tcp_reply *t = (struct tcp_reply *)r;
	if (len > 0)
		conn_write(t->c, pkt, len);
	atomic_fetch_sub(&t->c->inflight, 1);
	conn_unref(t->c);
	free(t);
}

static struct fwd_reply *reply_new(const struct origin *o)
{
	if (o->tcp) {
		struct tcp_reply *t = malloc(sizeof *t);
		if (!t)
			return NULL;
		t->base.send = tcp_reply_send;
		t->c = o->c;
		atomic_fetch_add(&o->c->refs, 1);
		atomic_fetch_add(&o->c->inflight, 1);
		return &t->base;
	}
	struct udp_reply *u = malloc(sizeof *u);
	if (!u)
		return NULL;
	u->base.send = udp_reply_send;
	u->fd = o->fd;
	memcpy(&u->addr, o->addr, sizeof u->addr);
	u->alen = o->alen;
	return &u->base;
}

/* A channel the forwarder refused: release it without sending. */
static void reply_drop(struct fwd_reply *r)
{
	if (r->send == tcp_reply_send) {
		struct tcp_reply *t = (struct tcp_reply *)r;
		atomic_fetch_sub(&t->c->inflight, 1);
		conn_unref(t->c);
	}
	free(r);
}

static void pool_close(struct tcp_pool *p, size_t i)
{
	struct conn *c = p->conns[i];
	epoll_ctl(p->ep, EPOLL_CTL_DEL, c->fd, NULL);
	pthread_mutex_lock(&c->wlock);
	c->closed = true;
	pthread_mutex_unlock(&c->wlock);
	p->conns[i] = p->conns[--p->nconn];
	conn_unref(c);
}

static void pool_accept(struct tcp_pool *p, int lfd)
{
	struct sockaddr_storage a;
	socklen_t al = sizeof a;
	int fd = accept4(lfd, (struct sockaddr *)&a, &al, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return; /* another pool thread won, or the client went away */
	if (p->nconn == SERVER_TCP_MAX_CONN) {
		size_t oldest = 0; /* evict the least recently active (NSD does too) */
		for (size_t i = 1; i < p->nconn; i++)
			if (atomic_load(&p->conns[i]->inflight) == 0 &&
			    p->conns[i]->last_ms < p->conns[oldest]->last_ms)
				oldest = i;
		pool_close(p, oldest);
	}
	struct conn *c = calloc(1, sizeof *c);
	if (c)
		c->rbuf = malloc(2 + WIRE_MAX);
	if (!c || !c->rbuf) {
		free(c);
		close(fd);
		return;
	}
	c->fd = fd;
	atomic_init(&c->refs, 1);
	atomic_init(&c->inflight, 0);
	pthread_mutex_init(&c->wlock, NULL);
	c->last_ms = now_ms();
	c->peer = a;
	addr_str(&a, c->client, sizeof c->client);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
	if (epoll_ctl(p->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		conn_unref(c);
		return;
	}
	p->conns[p->nconn++] = c;
}

/* One complete message. Returns false when the connection must close. */
static bool tcp_message(struct tcp_pool *p, struct conn *c, const uint8_t *msg, size_t len)
{
	struct origin o = { .tcp = true, .fd = -1, .addr = &c->peer, .c = c, .client = c->client };
	bool forwarded;
	int n = answer_query(&p->q, msg, len, &o, &forwarded, p->q.scratch, WIRE_MAX + 2);
	if (n < 0)
		return false; /* a response or no header: RFC 7766 lets us close */
	if (n > 0)
		conn_write(c, p->q.scratch, (size_t)n);
	return true;
}

/* Read what is there and answer every complete message (pipelining). */
static bool tcp_readable(struct tcp_pool *p, struct conn *c)
{
	ssize_t r = read(c->fd, c->rbuf + c->have, 2 + WIRE_MAX - c->have);
	if (r == 0 && atomic_load(&c->inflight) > 0) {
		/* Half-closed with forwarded answers pending: stop reading and
		 * close once they are written (pool_expire). */
		struct epoll_event ev = { .events = 0, .data.ptr = c };
		epoll_ctl(p->ep, EPOLL_CTL_MOD, c->fd, &ev);
		c->eof = true;
		return true;
	}
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
		return false;
	if (r < 0)
		return true;
	c->have += (size_t)r;
	c->last_ms = now_ms();
	size_t off = 0;
	while (c->have - off >= 2) {
		size_t mlen = (size_t)c->rbuf[off] << 8 | c->rbuf[off + 1];
		if (mlen == 0)
			return false;
		if (c->have - off < 2 + mlen)
			break;
		if (!tcp_message(p, c, c->rbuf + off + 2, mlen))
			return false;
		off += 2 + mlen;
	}
	memmove(c->rbuf, c->rbuf + off, c->have - off);
	c->have -= off;
	return !c->broken;
}

static void pool_expire(struct tcp_pool *p, bool all)
{
	int64_t now = now_ms();
	for (size_t i = p->nconn; i-- > 0;) {
		struct conn *c = p->conns[i];
		int64_t limit = c->have ? SERVER_TCP_IO_MS : SERVER_TCP_IDLE_MS;
		bool busy = atomic_load(&c->inflight) > 0;
		if (all || c->broken || (!busy && (c->eof || now - c->last_ms > limit)))
			pool_close(p, i);
	}
}

static void pool_event(struct tcp_pool *p, struct epoll_event *ev)
{
	struct conn *c = ev->data.ptr;
	if (c == NULL)
		return; /* the stop eventfd */
	if (c->listener) {
		pool_accept(p, c->fd);
		return;
	}
	bool keep = (ev->events & EPOLLIN) ? tcp_readable(p, c) : false;
	if (keep && (ev->events & (EPOLLERR | EPOLLHUP)))
		keep = false;
	if (!keep) {
		for (size_t i = 0; i < p->nconn; i++)
			if (p->conns[i] == c) {
				pool_close(p, i);
				break;
			}
	}
}

/* Stop: no new connections or queries; forwarded answers still in flight
 * get SERVER_TCP_IO_MS to arrive. */
static void pool_drain(struct tcp_pool *p, size_t n_listeners)
{
	for (size_t i = 0; i < n_listeners; i++)
		epoll_ctl(p->ep, EPOLL_CTL_DEL, p->listeners[i].fd, NULL);
	int64_t deadline = now_ms() + SERVER_TCP_IO_MS;
	for (;;) {
		bool busy = false;
		for (size_t i = 0; i < p->nconn; i++)
			busy |= atomic_load(&p->conns[i]->inflight) > 0;
		if (!busy || now_ms() >= deadline)
			break;
		struct timespec ts = { 0, 20 * 1000000 };
		nanosleep(&ts, NULL);
	}
	pool_expire(p, true);
}

static void *tcp_main(void *arg)
{
	struct tcp_pool *p = arg;
	struct server *s = p->q.srv;
	struct epoll_event evs[64];
	while (!atomic_load(&s->stopping)) {
		int n = epoll_wait(p->ep, evs, 64, POLL_MS);
		if (n < 0 && errno != EINTR) {
			log_error("server", "tcp epoll: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n && !atomic_load(&s->stopping); i++)
			pool_event(p, &evs[i]);
		pool_expire(p, false);
	}
	pool_drain(p, s->n_tcp);
	return NULL;
}

static int pool_init(struct tcp_pool *p, struct server *s, unsigned reader)
{
	int rc = qctx_init(&p->q, s, reader, true);
	p->ep = epoll_create1(EPOLL_CLOEXEC);
	if (rc < 0 || p->ep < 0)
		return rc < 0 ? rc : SKY_EIO;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	if (epoll_ctl(p->ep, EPOLL_CTL_ADD, s->stopfd, &ev) < 0)
		return SKY_EIO;
	for (size_t i = 0; i < s->n_tcp; i++) {
		p->listeners[i].fd = s->tcp_fds[i];
		p->listeners[i].listener = true;
		/* every pool thread waits on every listener; EXCLUSIVE wakes one */
		ev = (struct epoll_event){ .events = EPOLLIN | EPOLLEXCLUSIVE,
					   .data.ptr = &p->listeners[i] };
		if (epoll_ctl(p->ep, EPOLL_CTL_ADD, s->tcp_fds[i], &ev) < 0)
			return SKY_EIO;
	}
	return 0;
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
	for (unsigned i = 0; s->n_tcp > 0 && i < SERVER_TCP_THREADS; i++) {
		struct tcp_pool *p = &s->pools[i];
		int rc = pool_init(p, s, s->n_workers + i);
		if (rc < 0)
			return rc;
		if (pthread_create(&p->thread, NULL, tcp_main, p) != 0)
			return SKY_ENOMEM;
		p->started = true;
	}
	return 0;
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
	s->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	size_t n_udp_fds = o->nfds ? server_count_udp(o->fds, o->nfds) : 0;
	s->n_workers = server_workers(c, n_udp_fds);
	s->workers = calloc(s->n_workers, sizeof *s->workers);
	s->pools = calloc(SERVER_TCP_THREADS, sizeof *s->pools);
	int rc = (!s->workers || !s->pools || s->stopfd < 0) ? SKY_ENOMEM : 0;
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
	for (unsigned i = 0; s->pools && i < SERVER_TCP_THREADS; i++)
		if (s->pools[i].started)
			pthread_join(s->pools[i].thread, NULL);
}

void server_free(struct server *s)
{
	if (!s)
		return;
	server_stop(s);
	for (unsigned i = 0; s->workers && i < s->n_workers; i++)
		if (s->workers[i].q.srv)
			qctx_free(&s->workers[i].q);
	for (unsigned i = 0; s->pools && i < SERVER_TCP_THREADS; i++) {
		if (s->pools[i].q.srv)
			qctx_free(&s->pools[i].q);
		if (s->pools[i].ep > 0)
			close(s->pools[i].ep);
	}
	for (size_t i = 0; i < s->n_udp; i++)
		close(s->udp_fds[i]);
	for (size_t i = 0; i < s->n_tcp; i++)
		close(s->tcp_fds[i]);
	if (s->stopfd >= 0)
		close(s->stopfd);
	free(s->workers);
	free(s->pools);
	free(s);
}
