#include "upstream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "answer.h"
#include "err.h"
#include "netaddr.h"
#include "pktwalk.h"

enum state { ST_IDLE, ST_UDP_WAIT, ST_TCP_CONNECT, ST_TCP_READ };

/* epoll_event.data.ptr points at one of these three; the first byte says
 * which. */
enum tag { TAG_WAKE = 1, TAG_EXCH, TAG_LATE };

#define LATE_MAX 2

struct exch;

/* A UDP attempt that timed out but stays open: a slow server's answer
 * (a cold recursive lookup upstream) is still taken while later attempts
 * run, until the exchange ends. */
struct late {
	uint8_t tag;            /* TAG_LATE */
	struct exch *e;
	int fd, cur;
	uint16_t id;
};

struct exch {
	uint8_t tag;            /* TAG_EXCH */
	bool delivered;         /* done() ran; freed after the event batch */
	struct exch *prev, *next;
	uint8_t *q;             /* 2-byte TCP length prefix, then the query */
	size_t qlen;            /* query length without the prefix */
	bool tcp, edns_dropped, finished;
	char servers[UPSTREAM_MAX_SERVERS][64];
	int n, tried, max_tries;
	int cur;                /* index of the server being asked, -1 before */
	unsigned first;
	int timeout_ms, err;
	int64_t budget_end, attempt_end;
	int fd;
	enum state st;
	uint16_t id;
	size_t io_done;         /* TCP: bytes written, then bytes read */
	uint8_t lenbuf[2];
	uint8_t *rbuf;
	size_t rwant;
	struct late late[LATE_MAX];
	upstream_done_fn done;
	void *ctx;
};

struct upstream {
	int ep, wake_fd;
	struct exch *head;
	struct exch *graveyard;  /* delivered, freed at the end of upstream_poll */
	size_t n;
	void (*observe)(void *ctx, enum upstream_event ev, const char *server);
	void *observe_ctx;
	uint8_t buf[65536];
};

static void note(struct upstream *u, const struct exch *e, enum upstream_event ev)
{
	if (u->observe && e->cur >= 0)
		u->observe(u->observe_ctx, ev, e->servers[e->cur]);
}

void upstream_set_observer(struct upstream *u,
			   void (*fn)(void *ctx, enum upstream_event ev, const char *server),
			   void *ctx)
{
	u->observe = fn;
	u->observe_ctx = ctx;
}

static const uint8_t wake_tag = TAG_WAKE;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Query IDs must be unpredictable (RFC 5452 §4): from the kernel's CSPRNG. */
static uint16_t random_id(void)
{
	uint16_t id;
	if (getrandom(&id, sizeof id, GRND_NONBLOCK) == (ssize_t)sizeof id)
		return id;
	static uint64_t x = 0x9e3779b97f4a7c15ull;
	x ^= (uint64_t)now_ms() + (uint64_t)(uintptr_t)&id;
	x ^= x << 13, x ^= x >> 7, x ^= x << 17;
	return (uint16_t)x;
}

int upstream_new(int wake_fd, struct upstream **out)
{
	struct upstream *u = calloc(1, sizeof *u);
	if (!u)
		return SKY_ENOMEM;
	u->wake_fd = wake_fd;
	u->ep = epoll_create1(EPOLL_CLOEXEC);
	if (u->ep < 0) {
		free(u);
		return SKY_EIO;
	}
	if (wake_fd >= 0) {
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = (void *)&wake_tag};
		if (epoll_ctl(u->ep, EPOLL_CTL_ADD, wake_fd, &ev) < 0) {
			close(u->ep);
			free(u);
			return SKY_EIO;
		}
	}
	*out = u;
	return 0;
}

static void close_attempt(struct exch *e)
{
	if (e->fd >= 0)
		close(e->fd); /* also leaves the epoll set */
	e->fd = -1;
	free(e->rbuf);
	e->rbuf = NULL;
	e->st = ST_IDLE;
}

static void close_late(struct exch *e)
{
	for (int i = 0; i < LATE_MAX; i++) {
		if (e->late[i].fd >= 0)
			close(e->late[i].fd);
		e->late[i].fd = -1;
	}
}

/* Events for this exchange may still sit in the current epoll batch, so it
 * is only freed once the batch is done (graveyard). */
static void exch_finish(struct upstream *u, struct exch *e, int err, const uint8_t *r, size_t len)
{
	close_attempt(e);
	close_late(e);
	if (e->prev)
		e->prev->next = e->next;
	else
		u->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	u->n--;
	e->delivered = true;
	e->next = u->graveyard;
	u->graveyard = e;
	e->done(e->ctx, err, r, len);
}

static void bury(struct upstream *u)
{
	while (u->graveyard) {
		struct exch *e = u->graveyard;
		u->graveyard = e->next;
		free(e->q);
		free(e);
	}
}

static int open_attempt(struct upstream *u, struct exch *e, const char *srv, int64_t now)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	if (netaddr_parse(srv, NETADDR_PEER, &ss, &sslen) < 0)
		return SKY_EINVAL;
	int type = (e->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
	e->fd = socket(ss.ss_family, type, 0);
	if (e->fd < 0)
		return SKY_EIO;
	e->id = random_id();
	pkt_put16(e->q + 2, e->id);
	pkt_put16(e->q, (uint16_t)e->qlen);
	/* connect() on UDP too: the kernel then drops datagrams from any other
	 * address or port, and reports ICMP errors to us. */
	int r = connect(e->fd, (struct sockaddr *)&ss, sslen);
	struct epoll_event ev = {.data.ptr = e};
	if (e->tcp) {
		if (r < 0 && errno != EINPROGRESS)
			return SKY_EIO;
		e->st = ST_TCP_CONNECT;
		e->io_done = 0;
		ev.events = EPOLLOUT;
	} else {
		if (r < 0 || send(e->fd, e->q + 2, e->qlen, 0) != (ssize_t)e->qlen)
			return SKY_EIO;
		e->st = ST_UDP_WAIT;
		ev.events = EPOLLIN;
	}
	if (epoll_ctl(u->ep, EPOLL_CTL_ADD, e->fd, &ev) < 0)
		return SKY_EIO;
	e->attempt_end = now + e->timeout_ms;
	if (e->attempt_end > e->budget_end)
		e->attempt_end = e->budget_end;
	return 0;
}

/* Move on to the next server; when none is left the exchange is marked
 * finished and completed by the next timeout scan (so done() never runs
 * inside upstream_start). */
/* A UDP attempt that timed out keeps its socket in a late slot. */
static void keep_late(struct upstream *u, struct exch *e)
{
	for (int i = 0; i < LATE_MAX; i++) {
		struct late *l = &e->late[i];
		if (l->fd >= 0)
			continue;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = l};
		if (epoll_ctl(u->ep, EPOLL_CTL_MOD, e->fd, &ev) < 0)
			return;
		*l = (struct late){.tag = TAG_LATE, .e = e, .fd = e->fd, .cur = e->cur, .id = e->id};
		e->fd = -1;
		return;
	}
}

static void next_attempt(struct upstream *u, struct exch *e, int err)
{
	if (err == SKY_ETIMEDOUT && e->st == ST_UDP_WAIT && e->fd >= 0)
		keep_late(u, e);
	close_attempt(e);
	if (err)
		e->err = err;
	if (err == SKY_ETIMEDOUT)
		note(u, e, UPSTREAM_TIMEOUT);
	else if (err == SKY_EIO)
		note(u, e, UPSTREAM_NETWORK);
	int64_t now = now_ms();
	while (e->tried < e->max_tries && now < e->budget_end) {
		e->cur = (int)((e->first + (unsigned)e->tried) % (unsigned)e->n);
		e->tried++;
		int r = open_attempt(u, e, e->servers[e->cur], now);
		if (r == 0)
			return;
		close_attempt(e);
		e->err = r;
		note(u, e, UPSTREAM_NETWORK);
	}
	e->finished = true;
	e->attempt_end = now;
}

int upstream_start(struct upstream *u, const struct upstream_req *req)
{
	size_t qend;
	if (req->nservers <= 0 || req->len > 65535 ||
	    pktwalk_question(req->pkt, req->len, &qend, NULL, NULL) < 0)
		return SKY_EINVAL;
	struct exch *e = calloc(1, sizeof *e);
	if (!e)
		return SKY_ENOMEM;
	e->q = malloc(req->len + 2);
	if (!e->q) {
		free(e);
		return SKY_ENOMEM;
	}
	memcpy(e->q + 2, req->pkt, req->len);
	e->qlen = req->len;
	e->tcp = req->tcp;
	e->n = req->nservers > UPSTREAM_MAX_SERVERS ? UPSTREAM_MAX_SERVERS : req->nservers;
	for (int i = 0; i < e->n; i++)
		snprintf(e->servers[i], sizeof e->servers[i], "%s", req->servers[i]);
	e->max_tries = e->n + 1;
	e->first = req->first;
	e->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : 2000;
	e->budget_end = now_ms() + (req->budget_ms > 0 ? req->budget_ms : e->timeout_ms);
	e->err = SKY_ETIMEDOUT;
	e->tag = TAG_EXCH;
	e->fd = -1;
	e->cur = -1;
	for (int i = 0; i < LATE_MAX; i++)
		e->late[i].fd = -1;
	e->done = req->done;
	e->ctx = req->ctx;
	e->next = u->head;
	if (u->head)
		u->head->prev = e;
	u->head = e;
	u->n++;
	next_attempt(u, e, 0);
	return 0;
}

static bool reply_matches(const struct exch *e, uint16_t id, const uint8_t *r, size_t len)
{
	return len >= PKT_HDR && (r[2] & 0x80) && pkt_get16(r) == id &&
	       pktwalk_same_question(e->q + 2, e->qlen, r, len);
}

/* A matching reply: success, or a reason to try elsewhere. */
static void got_reply(struct upstream *u, struct exch *e, const uint8_t *r, size_t len)
{
	int rcode = r[3] & 0x0f;
	struct pkt_rr opt;
	if (rcode == RCODE_FORMERR && !e->edns_dropped && pktwalk_find_opt(r, len, &opt) == 0 &&
	    pktwalk_find_opt(e->q + 2, e->qlen, &opt) == 1) {
		/* RFC 6891 §7: a server that does not know EDNS answers FORMERR
		 * without an OPT; ask the same server again without ours. */
		size_t nl = pktwalk_strip_opt(e->q + 2, e->qlen);
		if (nl != e->qlen) {
			e->qlen = nl;
			e->edns_dropped = true;
			e->tried--;
			next_attempt(u, e, 0);
			return;
		}
	}
	if (rcode == RCODE_SERVFAIL) {
		note(u, e, UPSTREAM_SERVFAIL);
		next_attempt(u, e, SKY_EPROTO);
		return;
	}
	note(u, e, UPSTREAM_OK);
	exch_finish(u, e, 0, r, len);
}

static void on_udp(struct upstream *u, struct exch *e)
{
	for (int i = 0; i < 64 && e->st == ST_UDP_WAIT; i++) {
		ssize_t n = recv(e->fd, u->buf, sizeof u->buf, 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			next_attempt(u, e, SKY_EIO); /* ECONNREFUSED: nobody listens */
			return;
		}
		if (reply_matches(e, e->id, u->buf, (size_t)n)) {
			got_reply(u, e, u->buf, (size_t)n);
			return;
		}
		note(u, e, UPSTREAM_MISMATCH); /* spoofed or stale: keep waiting */
	}
}

static void on_tcp_write(struct upstream *u, struct exch *e)
{
	int soerr = 0;
	socklen_t sl = sizeof soerr;
	if (e->io_done == 0 &&
	    (getsockopt(e->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0)) {
		next_attempt(u, e, SKY_EIO);
		return;
	}
	size_t total = e->qlen + 2;
	ssize_t w = send(e->fd, e->q + e->io_done, total - e->io_done, MSG_NOSIGNAL);
	if (w < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			next_attempt(u, e, SKY_EIO);
		return;
	}
	e->io_done += (size_t)w;
	if (e->io_done < total)
		return;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = e};
	if (epoll_ctl(u->ep, EPOLL_CTL_MOD, e->fd, &ev) < 0) {
		next_attempt(u, e, SKY_EIO);
		return;
	}
	e->st = ST_TCP_READ;
	e->io_done = 0;
	e->rwant = 2;
}

static void on_tcp_read(struct upstream *u, struct exch *e)
{
	for (int i = 0; i < 64; i++) {
		uint8_t *dst = e->rbuf ? e->rbuf + e->io_done : e->lenbuf + e->io_done;
		ssize_t n = recv(e->fd, dst, e->rwant - e->io_done, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0) {
			next_attempt(u, e, SKY_EIO); /* reset or closed mid-message */
			return;
		}
		e->io_done += (size_t)n;
		if (e->io_done < e->rwant)
			continue;
		if (!e->rbuf) {
			e->rwant = pkt_get16(e->lenbuf);
			e->io_done = 0;
			e->rbuf = malloc(e->rwant ? e->rwant : 1);
			if (!e->rbuf || e->rwant < PKT_HDR) {
				next_attempt(u, e, e->rbuf ? SKY_EPROTO : SKY_ENOMEM);
				return;
			}
			continue;
		}
		if (!reply_matches(e, e->id, e->rbuf, e->rwant)) {
			note(u, e, UPSTREAM_MISMATCH);
			next_attempt(u, e, SKY_EPROTO); /* our own connection: no excuse */
			return;
		}
		uint8_t *r = e->rbuf;
		e->rbuf = NULL; /* got_reply may start a new attempt */
		got_reply(u, e, r, e->rwant);
		free(r);
		return;
	}
}

/* A reply on a timed-out attempt's socket: taken unless it is a SERVFAIL
 * (the current attempt carries on then). */
static void on_late(struct upstream *u, struct late *l)
{
	struct exch *e = l->e;
	for (int i = 0; i < 64 && l->fd >= 0; i++) {
		ssize_t n = recv(l->fd, u->buf, sizeof u->buf, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		bool ok = n >= 0 && reply_matches(e, l->id, u->buf, (size_t)n);
		if (n >= 0 && !ok) {
			note(u, e, UPSTREAM_MISMATCH);
			continue;
		}
		if (ok && (u->buf[3] & 0x0f) != RCODE_SERVFAIL) {
			e->cur = l->cur;
			note(u, e, UPSTREAM_OK);
			exch_finish(u, e, 0, u->buf, (size_t)n);
			return;
		}
		close(l->fd);
		l->fd = -1;
	}
}

static void expire(struct upstream *u)
{
	int64_t now = now_ms();
	struct exch *e = u->head;
	while (e) {
		struct exch *next = e->next;
		if (e->finished)
			exch_finish(u, e, e->err, NULL, 0);
		else if (now >= e->attempt_end)
			next_attempt(u, e, SKY_ETIMEDOUT);
		e = next;
	}
}

int upstream_poll(struct upstream *u, int max_ms)
{
	int64_t now = now_ms();
	int wait = max_ms;
	for (struct exch *e = u->head; e; e = e->next) {
		int64_t d = e->finished ? 0 : e->attempt_end - now;
		if (d < wait)
			wait = d < 0 ? 0 : (int)d;
	}
	struct epoll_event evs[64];
	int n = epoll_wait(u->ep, evs, 64, wait);
	int woke = 0;
	for (int i = 0; i < n; i++) {
		uint8_t tag = *(const uint8_t *)evs[i].data.ptr;
		if (tag == TAG_WAKE) {
			woke = 1;
			continue;
		}
		if (tag == TAG_LATE) {
			struct late *l = evs[i].data.ptr;
			if (!l->e->delivered && !l->e->finished)
				on_late(u, l);
			continue;
		}
		struct exch *e = evs[i].data.ptr;
		if (e->delivered || e->finished)
			continue;
		switch (e->st) {
		case ST_UDP_WAIT:
			on_udp(u, e);
			break;
		case ST_TCP_CONNECT:
			on_tcp_write(u, e);
			break;
		case ST_TCP_READ:
			on_tcp_read(u, e);
			break;
		case ST_IDLE:
			break;
		}
	}
	expire(u);
	bury(u);
	return woke;
}

size_t upstream_inflight(const struct upstream *u)
{
	return u->n;
}

void upstream_free(struct upstream *u)
{
	if (!u)
		return;
	while (u->head)
		exch_finish(u, u->head, SKY_ESTOPPED, NULL, 0);
	bury(u);
	close(u->ep);
	free(u);
}
