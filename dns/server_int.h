/* server_int.h - what the query path and UDP workers (server.c) share with
 * the TCP pool (tcp.c). No other module includes it.
 */
#ifndef SKYDNS_SERVER_INT_H
#define SKYDNS_SERVER_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "answer.h"
#include "server.h"

#define MAX_FDS 16
#define POLL_MS 500

struct fwd_reply;
struct tcp;
struct conn;

/* What the query path needs, per thread. */
struct qctx {
	struct server *srv;
	unsigned reader;
	struct answer ans;
	uint64_t rand;
	uint8_t *scratch; /* TCP: the reply buffer, WIRE_MAX + 2 */
	struct acache *cache; /* this thread's finished replies (NULL: none) */
};

/* The TCP limits (config tcp_timeout, tcp_idle_timeout, tcp_max_per_client),
 * fixed at server_new(). */
struct tcp_limits {
	int timeout_ms;     /* a whole message from its first byte; a reply's write */
	int idle_ms;        /* no complete message for this long */
	int max_per_client; /* connections per client address, 0: no cap */
};

struct udp_worker;
struct rrl;

struct server {
	struct snapstore *st;
	struct forwarder *fwd;
	struct dnssec *dnssec;
	struct stats *stats;
	bool verbose;
	struct tcp_limits tcp_limits;
	int stopfd;              /* eventfd: readable once stopping */
	atomic_bool stopping;
	int udp_fds[MAX_FDS], tcp_fds[MAX_FDS];
	size_t n_udp, n_tcp;
	struct udp_worker *workers;
	unsigned n_workers;
	struct tcp *tcp;         /* NULL without TCP listeners */
	_Atomic(struct rrl *) rrl; /* response-rate limiting, made on first use */
	size_t rrl_table_size;   /* config rrl_table_size, fixed at server_new() */
	unsigned acache_slots;   /* config answer_cache, fixed at server_new() */
	bool stopped;
};

/* Where a query came from: enough to build the forwarder's reply channel,
 * which is only allocated when a query is actually forwarded. */
struct origin {
	bool tcp;
	int fd;                              /* UDP: the socket it came in on */
	const struct sockaddr_storage *addr; /* the client */
	socklen_t alen;
	struct conn *c;                      /* TCP: the connection */
	const char *client;                  /* for logs ("" unless verbose for UDP) */
};

/* A thread's query context; scratch: allocate the TCP reply buffer. */
int qctx_init(struct qctx *q, struct server *s, unsigned reader, bool scratch);
void qctx_free(struct qctx *q);

/* Answer one query into out[cap]. Returns the reply length, 0 for "nothing
 * to send now" (dropped or handed to the forwarder: *forwarded says which),
 * or -1 for a packet that must be dropped (TCP closes the connection). */
int answer_query(struct qctx *x, const uint8_t *pkt, size_t len, const struct origin *o,
		 bool *forwarded, uint8_t *out, size_t cap);

/* "ip:port" or "[ip6]:port" for logs. */
void addr_str(const struct sockaddr_storage *a, char *out, size_t cap);

/* tcp.c. tcp_start: one pool thread per SERVER_TCP_THREADS on s->tcp_fds,
 * reader slots s->n_workers.. (s->tcp owns them). tcp_join: after
 * s->stopping is set, wait for the threads (they drain in-flight answers).
 * tcp_free: close what is left. */
int tcp_start(struct server *s);
void tcp_join(struct server *s);
void tcp_free(struct server *s);

/* The forwarder's reply channel for a query that came in on c (takes a
 * reference on c; the channel's send drops it). NULL on ENOMEM. */
struct fwd_reply *tcp_reply_new(struct conn *c);

#endif
