/* tcp.c - the TCP connection pool (RFC 7766): SERVER_TCP_THREADS threads,
 * each with its own epoll set, its own connections and a share of the
 * listeners (EPOLLEXCLUSIVE wakes one thread per new connection).
 *
 * Lifetimes. A connection is referenced by its pool (from accept to close)
 * and by every forwarded query still in flight (tcp_reply_new). A pool
 * thread handles a batch of up to 64 epoll events holding raw pointers, so a
 * connection closed during a batch (evicted by an accept, a read error, a
 * bad message) may still have an event later in the same batch: closing
 * marks it dead and unlinks it from epoll and conns[], and the pool's
 * reference is dropped only after the batch (pool_reap). The fd is closed
 * with the last reference, so it cannot be reused under a late forwarder
 * reply.
 *
 * Limits (RFC 7766 §6.2; NSD tcp-timeout, Knot tcp-io-timeout): a message
 * must arrive whole within timeout_ms of its first byte, and a reply be
 * written within timeout_ms; a connection with no complete message for
 * idle_ms is closed (bytes trickling in do not count as activity); one
 * client address holds at most max_per_client connections across all pool
 * threads.
 */
#include "server_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "forward.h"
#include "log.h"
#include "stats.h"
#include "wire.h"

#define BATCH 64
#define MAX_CLIENTS (2 * SERVER_TCP_THREADS * SERVER_TCP_MAX_CONN) /* room for accepts in progress */

/* A client connection. The pool thread that accepted it reads and answers;
 * the forwarder may write a reply from its own thread, so writes take wlock. */
struct conn {
	int fd;
	bool listener;
	atomic_int refs;
	atomic_int inflight;
	pthread_mutex_t wlock;
	bool closed;            /* under wlock */
	atomic_bool broken;     /* set under wlock; the pool thread reads it without */
	bool eof;               /* pool thread only: peer half-closed */
	bool dead;              /* pool thread only: closed in this batch */
	bool counted;           /* holds a slot in tcp.clients */
	size_t slot;            /* pool thread only: index in conns[] */
	int64_t active_ms;      /* pool thread only: accept or last whole message */
	int64_t msg_ms;         /* pool thread only: first byte of the partial message */
	size_t have;
	uint8_t *rbuf;          /* 2 + WIRE_MAX */
	struct sockaddr_storage peer;
	char client[64];
	struct conn *next_dead;
};

struct tcp_reply {
	struct fwd_reply base;
	struct conn *c;
};

struct tcp_pool {
	struct qctx q;
	struct tcp *t;
	int ep;
	pthread_t thread;
	bool started;
	struct conn *conns[SERVER_TCP_MAX_CONN];
	size_t nconn;
	struct conn *dead; /* closed in this batch; the pool's reference goes after it */
	struct conn listeners[MAX_FDS];
};

/* Connections per client address, over all pools. Taken on accept and
 * close only, never on the query path. */
struct client_count {
	struct in6_addr addr;
	unsigned n;
};

struct tcp {
	struct server *s;
	struct tcp_pool pools[SERVER_TCP_THREADS];
	pthread_mutex_t lock;
	struct client_count clients[MAX_CLIENTS];
	size_t nclients;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ clients */

static struct in6_addr client_key(const struct sockaddr_storage *a)
{
	struct in6_addr k = { 0 };
	if (a->ss_family == AF_INET6) {
		k = ((const struct sockaddr_in6 *)a)->sin6_addr;
	} else if (a->ss_family == AF_INET) { /* as ::ffff:a.b.c.d */
		k.s6_addr[10] = k.s6_addr[11] = 0xff;
		memcpy(&k.s6_addr[12], &((const struct sockaddr_in *)a)->sin_addr, 4);
	}
	return k;
}

static struct client_count *client_find(struct tcp *t, const struct in6_addr *k)
{
	for (size_t i = 0; i < t->nclients; i++)
		if (memcmp(&t->clients[i].addr, k, sizeof *k) == 0)
			return &t->clients[i];
	return NULL;
}

/* false when the address already holds max_per_client connections */
static bool client_take(struct tcp *t, const struct sockaddr_storage *a)
{
	int cap = t->s->tcp_limits.max_per_client;
	if (cap <= 0)
		return true;
	struct in6_addr k = client_key(a);
	bool ok = true;
	pthread_mutex_lock(&t->lock);
	struct client_count *cc = client_find(t, &k);
	if (!cc && t->nclients < MAX_CLIENTS) {
		cc = &t->clients[t->nclients++];
		*cc = (struct client_count){ .addr = k, .n = 0 };
	}
	if (!cc || cc->n >= (unsigned)cap)
		ok = false;
	else
		cc->n++;
	pthread_mutex_unlock(&t->lock);
	return ok;
}

static void client_put(struct tcp *t, const struct sockaddr_storage *a)
{
	struct in6_addr k = client_key(a);
	pthread_mutex_lock(&t->lock);
	struct client_count *cc = client_find(t, &k);
	if (cc && --cc->n == 0)
		*cc = t->clients[--t->nclients];
	pthread_mutex_unlock(&t->lock);
}

/* ------------------------------------------------------------ connections */

static void conn_unref(struct conn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	close(c->fd);
	pthread_mutex_destroy(&c->wlock);
	free(c->rbuf);
	free(c);
}

static void iov_advance(struct iovec *iov, size_t n, size_t w)
{
	for (size_t i = 0; i < n && w > 0; i++) {
		size_t k = w < iov[i].iov_len ? w : iov[i].iov_len;
		iov[i].iov_base = (uint8_t *)iov[i].iov_base + k;
		iov[i].iov_len -= k;
		w -= k;
	}
}

/* Length prefix and message in one writev (RFC 7766 §8); a client that does
 * not read gets timeout_ms, then the connection is shut down. */
static void conn_write(struct conn *c, const uint8_t *pkt, size_t len, int timeout_ms)
{
	uint8_t pre[2] = { (uint8_t)(len >> 8), (uint8_t)len };
	pthread_mutex_lock(&c->wlock);
	if (c->closed || atomic_load(&c->broken)) {
		pthread_mutex_unlock(&c->wlock);
		return;
	}
	struct iovec iov[2] = { { pre, 2 }, { (void *)pkt, len } };
	size_t left = len + 2;
	int64_t deadline = now_ms() + timeout_ms;
	while (left > 0) {
		ssize_t w = writev(c->fd, iov, 2);
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			break;
		if (w > 0) {
			left -= (size_t)w;
			iov_advance(iov, 2, (size_t)w);
			continue;
		}
		int64_t wait = deadline - now_ms();
		struct pollfd p = { c->fd, POLLOUT, 0 };
		if (wait <= 0 || poll(&p, 1, (int)wait) < 0)
			break;
	}
	if (left > 0) {
		atomic_store(&c->broken, true);
		shutdown(c->fd, SHUT_RDWR); /* the pool thread sees HUP and closes */
	}
	pthread_mutex_unlock(&c->wlock);
}

static void tcp_reply_send(struct fwd_reply *r, const uint8_t *pkt, size_t len)
{
	struct tcp_reply *t = (struct tcp_reply *)r;
	if (len > 0)
		conn_write(t->c, pkt, len, SERVER_TCP_IO_MS);
	atomic_fetch_sub(&t->c->inflight, 1);
	conn_unref(t->c);
	free(t);
}

struct fwd_reply *tcp_reply_new(struct conn *c)
{
	struct tcp_reply *t = malloc(sizeof *t);
	if (!t)
		return NULL;
	t->base.send = tcp_reply_send;
	t->c = c;
	atomic_fetch_add(&c->refs, 1);
	atomic_fetch_add(&c->inflight, 1);
	return &t->base;
}

/* ------------------------------------------------------------ pool */

/* Unlink c from the pool; its memory stays until pool_reap (an event for
 * it may still wait in this batch). */
static void pool_close(struct tcp_pool *p, struct conn *c, int reason)
{
	if (c->dead)
		return;
	c->dead = true;
	epoll_ctl(p->ep, EPOLL_CTL_DEL, c->fd, NULL);
	pthread_mutex_lock(&c->wlock);
	c->closed = true;
	pthread_mutex_unlock(&c->wlock);
	struct conn *last = p->conns[--p->nconn];
	p->conns[c->slot] = last;
	last->slot = c->slot;
	if (c->counted)
		client_put(p->t, &c->peer);
	if (reason >= 0)
		stats_tcp_closed(p->t->s->stats, (enum stat_tcp)reason);
	c->next_dead = p->dead;
	p->dead = c;
}

static void pool_reap(struct tcp_pool *p)
{
	while (p->dead) {
		struct conn *c = p->dead;
		p->dead = c->next_dead;
		conn_unref(c);
	}
}

/* The least recently active connection with nothing in flight (NSD evicts
 * so too), or NULL when every one waits for a forwarded answer. */
static struct conn *pool_victim(struct tcp_pool *p)
{
	struct conn *v = NULL;
	for (size_t i = 0; i < p->nconn; i++) {
		struct conn *c = p->conns[i];
		if (atomic_load(&c->inflight) == 0 && (!v || c->active_ms < v->active_ms))
			v = c;
	}
	return v;
}

static struct conn *conn_new(int fd, const struct sockaddr_storage *a)
{
	struct conn *c = calloc(1, sizeof *c);
	if (c)
		c->rbuf = malloc(2 + WIRE_MAX);
	if (!c || !c->rbuf) {
		free(c);
		return NULL;
	}
	c->fd = fd;
	atomic_init(&c->refs, 1);
	atomic_init(&c->inflight, 0);
	pthread_mutex_init(&c->wlock, NULL);
	c->active_ms = now_ms();
	c->peer = *a;
	addr_str(a, c->client, sizeof c->client);
	return c;
}

static void pool_accept(struct tcp_pool *p, int lfd)
{
	struct sockaddr_storage a;
	socklen_t al = sizeof a;
	int fd = accept4(lfd, (struct sockaddr *)&a, &al, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return; /* another pool thread won, or the client went away */
	/* Each reply is one writev: without NODELAY, Nagle holds a reply back
	 * while the previous one waits for the client's delayed ACK (40 ms on
	 * Linux), the p99.9 of pipelined clients (RFC 7766 §6.2.1). */
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct stats *st = p->t->s->stats;
	if (!client_take(p->t, &a)) {
		stats_tcp_closed(st, TCP_CLIENT_CAP);
		close(fd);
		return;
	}
	struct conn *victim = p->nconn == SERVER_TCP_MAX_CONN ? pool_victim(p) : NULL;
	struct conn *c = p->nconn < SERVER_TCP_MAX_CONN || victim ? conn_new(fd, &a) : NULL;
	if (!c) {
		stats_tcp_closed(st, TCP_FULL);
		client_put(p->t, &a);
		close(fd);
		return;
	}
	c->counted = p->t->s->tcp_limits.max_per_client > 0;
	if (victim)
		pool_close(p, victim, TCP_EVICTED);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
	if (epoll_ctl(p->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		if (c->counted)
			client_put(p->t, &a);
		conn_unref(c);
		return;
	}
	c->slot = p->nconn;
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
		conn_write(c, p->q.scratch, (size_t)n, p->t->s->tcp_limits.timeout_ms);
	return true;
}

/* Answer every complete message in rbuf (pipelining); keep the rest. */
static bool tcp_messages(struct tcp_pool *p, struct conn *c, int64_t now)
{
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
		c->active_ms = now;
		c->msg_ms = now; /* what follows is the start of the next message */
	}
	memmove(c->rbuf, c->rbuf + off, c->have - off);
	c->have -= off;
	return true;
}

/* Read what is there and answer it. Returns false when c must close. */
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
	int64_t now = now_ms();
	if (c->have == 0)
		c->msg_ms = now;
	c->have += (size_t)r;
	return tcp_messages(p, c, now) && !atomic_load(&c->broken);
}

/* Which limit c has run into at `now`, or -1. A connection waiting for a
 * forwarded answer is not idle, but its next message still has a deadline. */
static int conn_expired(const struct tcp_limits *l, const struct conn *c, int64_t now)
{
	if (c->have > 0 && now - c->msg_ms > l->timeout_ms)
		return TCP_TIMEOUT;
	if (atomic_load(&c->inflight) > 0 || c->have > 0)
		return -1;
	if (c->eof)
		return TCP_COUNT; /* closed by the peer: not the server's limit */
	return now - c->active_ms > l->idle_ms ? TCP_IDLE : -1;
}

static void pool_expire(struct tcp_pool *p, bool all)
{
	int64_t now = now_ms();
	for (size_t i = p->nconn; i-- > 0;) {
		struct conn *c = p->conns[i];
		int why = all || atomic_load(&c->broken) ? TCP_COUNT
							  : conn_expired(&p->t->s->tcp_limits, c, now);
		if (why >= 0)
			pool_close(p, c, why == TCP_COUNT ? -1 : why);
	}
}

static void pool_event(struct tcp_pool *p, struct epoll_event *ev)
{
	struct conn *c = ev->data.ptr;
	if (c == NULL || c->dead)
		return; /* the stop eventfd, or closed earlier in this batch */
	if (c->listener) {
		pool_accept(p, c->fd);
		return;
	}
	bool keep = (ev->events & EPOLLIN) ? tcp_readable(p, c) : false;
	if (keep && (ev->events & (EPOLLERR | EPOLLHUP)))
		keep = false;
	if (!keep)
		pool_close(p, c, -1);
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
	pool_reap(p);
}

static void *pool_main(void *arg)
{
	struct tcp_pool *p = arg;
	struct server *s = p->q.srv;
	struct epoll_event evs[BATCH];
	while (!atomic_load(&s->stopping)) {
		int n = epoll_wait(p->ep, evs, BATCH, POLL_MS);
		if (n < 0 && errno != EINTR) {
			log_error("server", "tcp epoll: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n && !atomic_load(&s->stopping); i++)
			pool_event(p, &evs[i]);
		pool_expire(p, false);
		pool_reap(p); /* no event of this batch is looked at any more */
	}
	pool_drain(p, s->n_tcp);
	return NULL;
}

static int pool_init(struct tcp_pool *p, struct tcp *t, unsigned reader)
{
	struct server *s = t->s;
	p->t = t;
	p->ep = -1;
	int rc = qctx_init(&p->q, s, reader, true);
	if (rc < 0)
		return rc;
	p->ep = epoll_create1(EPOLL_CLOEXEC);
	if (p->ep < 0)
		return SKY_EIO;
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

/* ------------------------------------------------------------ lifecycle */

int tcp_start(struct server *s)
{
	struct tcp *t = calloc(1, sizeof *t);
	if (!t)
		return SKY_ENOMEM;
	t->s = s;
	pthread_mutex_init(&t->lock, NULL);
	s->tcp = t;
	for (unsigned i = 0; i < SERVER_TCP_THREADS; i++)
		t->pools[i].ep = -1;
	for (unsigned i = 0; i < SERVER_TCP_THREADS; i++) {
		struct tcp_pool *p = &t->pools[i];
		int rc = pool_init(p, t, s->n_workers + i);
		if (rc < 0)
			return rc;
		if (pthread_create(&p->thread, NULL, pool_main, p) != 0)
			return SKY_ENOMEM;
		p->started = true;
	}
	return 0;
}

void tcp_join(struct server *s)
{
	for (unsigned i = 0; s->tcp && i < SERVER_TCP_THREADS; i++)
		if (s->tcp->pools[i].started) {
			pthread_join(s->tcp->pools[i].thread, NULL);
			s->tcp->pools[i].started = false;
		}
}

void tcp_free(struct server *s)
{
	struct tcp *t = s->tcp;
	if (!t)
		return;
	for (unsigned i = 0; i < SERVER_TCP_THREADS; i++) {
		if (t->pools[i].q.srv)
			qctx_free(&t->pools[i].q);
		if (t->pools[i].ep >= 0)
			close(t->pools[i].ep);
	}
	pthread_mutex_destroy(&t->lock);
	free(t);
	s->tcp = NULL;
}
