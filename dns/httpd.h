/* httpd.h - the HTTP endpoint for /metrics, /healthz and /readyz (on libmicrohttpd).
 *
 * One libmicrohttpd polling thread per listener (handlers never run at
 * once), one request per connection (Connection: close), GET/HEAD only (405
 * otherwise, no request body read), at most 64 connections (16 per client
 * address), 5 s idle timeout, a 16 KiB per-connection pool for the request
 * line and headers. Enough for Prometheus scrapes and kubelet probes; not a
 * general web server.
 */
#ifndef SKYDNS_HTTPD_H
#define SKYDNS_HTTPD_H

#include <stddef.h>

/* A route handler: fill *body (malloc'd, freed by httpd) and *ctype, return
 * the HTTP status. Called from the listener's thread. */
typedef int (*httpd_handler)(void *arg, char **body, size_t *len, const char **ctype);

struct httpd_route {
	const char *path;
	httpd_handler fn;
	void *arg;
};

struct httpd;

/* Listen on addr ("127.0.0.1:9153", "[::]:8081", ":8081" = all IPv4; see netaddr.h)
 * and serve the routes (copied; at most 8). SKY_EIO if the address cannot be
 * bound, SKY_EINVAL if it does not parse. */
int httpd_start(const char *addr, const struct httpd_route *routes, int nroutes,
		struct httpd **out);
void httpd_stop(struct httpd *h);

/* The bound port (useful after listening on port 0). */
unsigned httpd_port(const struct httpd *h);

#endif
