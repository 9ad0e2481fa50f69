/* server.h - the DNS listeners: UDP workers and a TCP connection pool that
 * answer queries from the current snapshot, and hand what is not ours to the
 * forwarder.
 *
 * Threads and snapstore reader slots (fixed indices, see snapstore.h):
 *   UDP workers   0 .. W-1      (W = config.workers, 0 = one per core; at least
 *                               one per pre-opened UDP socket)
 *   TCP pool      W .. W+T-1    (T = SERVER_TCP_THREADS)
 *   forwarder     W+T           (server_forwarder_slot())
 * The store must be created with server_reader_slots() readers.
 *
 * UDP: each worker owns a SO_REUSEPORT socket on config.dns_addr and reads
 * and writes in batches (recvmmsg/sendmmsg). Pre-opened sockets (systemd
 * socket activation) are shared by the workers instead.
 * TCP (RFC 7766, tcp.c): length-prefixed messages, many per connection,
 * pipelining. A message must arrive whole within config.tcp_timeout of its
 * first byte; a connection with no whole message for config.tcp_idle_timeout
 * is closed; one client address holds at most config.tcp_max_per_client
 * connections; a pool thread holds at most SERVER_TCP_MAX_CONN (the least
 * recently active idle one is closed to make room, and when all are waiting
 * for forwarded answers the new connection is refused).
 *
 * Response-rate limiting (config rrl_*, rrl.h): with rrl_rate > 0 the UDP
 * replies the server makes itself are limited per client prefix, over the
 * rate dropped or slipped (sent TC=1 with the question only), read live from
 * the snapshot's config. TCP and forwarded replies are never limited.
 *
 * Before the first snapshot is published every query is answered SERVFAIL
 * (a resolver then tries another server, which REFUSED would discourage).
 *
 * Ownership: the server borrows the store, forwarder, dnssec key and stats
 * (all must outlive server_free()); it owns the sockets it opened and the
 * pre-opened ones handed to it (closed in server_free()). Shutdown order:
 * server_stop(), then forwarder_free() (late forwarder replies still find
 * their sockets), then server_free().
 */
#ifndef SKYDNS_SERVER_H
#define SKYDNS_SERVER_H

#include <stddef.h>

struct config;
struct snapstore;
struct forwarder;
struct dnssec;
struct stats;
struct server;

#define SERVER_TCP_THREADS 2
#define SERVER_TCP_MAX_CONN 256
#define SERVER_TCP_IO_MS 2000 /* forwarded replies' write; the drain at stop */

/* How many UDP workers `c` asks for (config.workers, 0 = number of cores). */
unsigned server_workers(const struct config *c, size_t n_udp_fds);

/* Reader slots the snapstore needs for a server built from `c` with
 * n_udp_fds pre-opened UDP sockets (0 when binding itself), forwarder
 * included; and the forwarder's slot index. */
unsigned server_reader_slots(const struct config *c, size_t n_udp_fds);
unsigned server_forwarder_slot(const struct config *c, size_t n_udp_fds);

/* What the server borrows; all but `store` may be NULL/0. */
struct server_opts {
	struct snapstore *store;
	struct forwarder *fwd;     /* NULL: forwarding answers SERVFAIL */
	struct dnssec *dnssec;     /* NULL: no signing (dnssec_sign_answer after resolve) */
	struct stats *stats;       /* NULL: no metrics (stats_reply per direct reply) */
	const int *fds;            /* pre-opened sockets: UDP or listening TCP */
	size_t nfds;               /* 0 = bind config.dns_addr for UDP and TCP */
};

/* Open the listeners (or take o->fds, told apart with SO_TYPE) and start the
 * threads. Returns SKY_EIO when a socket cannot be opened or bound,
 * SKY_EINVAL for a bad dns_addr or a pre-opened fd that is not a socket,
 * SKY_ENOMEM. */
int server_new(const struct config *c, const struct server_opts *o, struct server **out);

/* Count UDP sockets among pre-opened fds (for the slot functions above). */
size_t server_count_udp(const int *fds, size_t nfds);

/* Stop accepting, let in-flight TCP answers (forwarded ones) finish for up
 * to SERVER_TCP_IO_MS, close connections and join every thread. Sockets
 * stay open until server_free(), so late forwarder replies are harmless. */
void server_stop(struct server *s);

/* server_stop() if needed, then close the sockets and free. */
void server_free(struct server *s);

#endif
