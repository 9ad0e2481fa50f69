/* upstream.h - asking other DNS servers without blocking: one epoll loop
 * with any number of exchanges in flight, so a dead or slow server never
 * holds up the others.
 *
 * An exchange sends one query to a list of servers in turn. Each attempt
 * uses a fresh socket (a new random source port from the kernel) and a fresh
 * random query ID (getrandom). UDP sockets are connect()ed, so the kernel
 * only delivers datagrams from the server's address and port; a reply is
 * accepted only when its ID and question (name case-insensitive, type,
 * class) match too, anything else is discarded and the attempt keeps
 * waiting. An attempt fails on timeout, network error (ICMP refused arrives
 * at once on loopback), a broken TCP stream, or a SERVFAIL reply; the next
 * server is then tried, until every server was tried once more than the
 * list is long (SkyDNS: n+1) or the total budget is spent. A UDP attempt
 * that timed out keeps its socket (two at most) until the exchange ends, so
 * a slow server's late answer is still taken. A truncated UDP reply is a
 * success (the caller relays it with TC). TCP queries carry the RFC 1035
 * §4.2.2 length prefix.
 *
 * Single-threaded: every call, and every callback, runs on the thread that
 * calls upstream_poll(). Not thread-safe.
 */
#ifndef SKYDNS_UPSTREAM_H
#define SKYDNS_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UPSTREAM_MAX_SERVERS 16

struct upstream;

/* err 0: reply[len] is the matching response (ID as we sent it; the caller
 * sets its own). Otherwise SKY_ETIMEDOUT / SKY_EIO / SKY_EPROTO (every server
 * failed; SKY_EPROTO when the last one answered SERVFAIL) or SKY_ESTOPPED
 * (upstream_free). The reply buffer is valid only during the call. */
typedef void (*upstream_done_fn)(void *ctx, int err, const uint8_t *reply, size_t len);

struct upstream_req {
	const uint8_t *pkt;         /* the query to send (copied) */
	size_t len;
	bool tcp;
	const char (*servers)[64];  /* "IP:port", "[v6]:port" or "IP" (port 53) */
	int nservers;
	unsigned first;             /* rotation: start at servers[first % n] */
	int timeout_ms;             /* per attempt */
	int budget_ms;              /* whole exchange */
	upstream_done_fn done;
	void *ctx;
};

/* wake_fd: a descriptor (eventfd) the loop also watches, or -1.
 * SKY_ENOMEM / SKY_EIO or 0. */
int upstream_new(int wake_fd, struct upstream **out);

/* Finish every exchange in flight with SKY_ESTOPPED, then free. */
void upstream_free(struct upstream *u);

/* Start an exchange; done() is called exactly once, later, from
 * upstream_poll() (never from inside upstream_start). 0 or SKY_EINVAL (no
 * servers, not a query with one question) / SKY_ENOMEM: then done() is not
 * called. */
int upstream_start(struct upstream *u, const struct upstream_req *req);

/* Wait up to max_ms for network events and timeouts, run callbacks.
 * Returns 1 when wake_fd is readable (the caller drains it), 0 otherwise. */
int upstream_poll(struct upstream *u, int max_ms);

/* Attempt outcomes, reported as they happen with the server concerned (for
 * metrics and server health). A discarded reply (wrong ID or question) is
 * UPSTREAM_MISMATCH even if the attempt then succeeds with the right one. */
enum upstream_event {
	UPSTREAM_TIMEOUT, UPSTREAM_SERVFAIL, UPSTREAM_MISMATCH, UPSTREAM_NETWORK, UPSTREAM_OK,
};
void upstream_set_observer(struct upstream *u,
			   void (*fn)(void *ctx, enum upstream_event ev, const char *server),
			   void *ctx);

/* Exchanges in flight. */
size_t upstream_inflight(const struct upstream *u);

#endif
