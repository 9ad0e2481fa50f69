/* httpd.c - httpd.h's endpoint on libmicrohttpd, the project's one HTTP
 * server library (skydns-api uses it too).
 *
 * The listening socket is made here (SO_REUSEADDR; an IPv6 address also
 * takes IPv4, as before) so a bad or busy address is reported by
 * httpd_start itself; libmicrohttpd then serves it from one internal polling
 * thread (epoll on Linux), so the route handlers never run concurrently.
 * Limits for a hostile network: at most HTTPD_CONN_MAX connections
 * (HTTPD_CONN_PER_IP from one address), HTTPD_TIMEOUT_S of idleness per
 * connection, a small per-connection memory pool (headers of a few KiB),
 * GET/HEAD only: anything else is 405 before a request body is read, and
 * every reply says "Connection: close", so no connection lingers between
 * scrapes or probes.
 */
#include "httpd.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "err.h"
#include "netaddr.h"

#if MHD_VERSION >= 0x00097002
#define MHD_RESULT_T enum MHD_Result
#else
#define MHD_RESULT_T int
#endif

#define MAX_ROUTES 8
#define HTTPD_CONN_MAX 64u      /* connections at once */
#define HTTPD_CONN_PER_IP 16u   /* of them from one address */
#define HTTPD_TIMEOUT_S 5u      /* idle seconds before a connection is closed */
#define HTTPD_POOL_BYTES 16384u /* per connection: request line and headers */

struct httpd {
	int fd;
	struct MHD_Daemon *d;
	struct httpd_route routes[MAX_ROUTES];
	int nroutes;
};

static MHD_RESULT_T reply(struct MHD_Connection *c, unsigned status, const char *ctype,
			  char *body, size_t len)
{
	struct MHD_Response *r;
	if (body)
		r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	else
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	if (status == 405)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	MHD_RESULT_T ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static MHD_RESULT_T answer(void *cls, struct MHD_Connection *c, const char *url,
			   const char *method, const char *version, const char *upload,
			   size_t *upload_size, void **con_cls)
{
	struct httpd *h = cls;
	/* answered on the first call, before any body is read (none is wanted);
	 * libmicrohttpd passes the path without the query string */
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply(c, 405, "text/plain", strdup("method not allowed\n"), 19);
	for (int i = 0; i < h->nroutes; i++) {
		if (strcmp(h->routes[i].path, url) != 0)
			continue;
		char *body = NULL;
		size_t len = 0;
		const char *ctype = "text/plain; charset=utf-8";
		int status = h->routes[i].fn(h->routes[i].arg, &body, &len, &ctype);
		return reply(c, (unsigned)status, ctype, body, body ? len : 0);
	}
	return reply(c, 404, "text/plain", strdup("not found\n"), 10);
}

int httpd_start(const char *addr, const struct httpd_route *routes, int nroutes,
		struct httpd **out)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	if (netaddr_parse(addr, NETADDR_LISTEN, &ss, &sslen) < 0 || nroutes < 0 ||
	    nroutes > MAX_ROUTES)
		return SKY_EINVAL;
	struct httpd *h = calloc(1, sizeof *h);
	if (!h)
		return SKY_ENOMEM;
	memcpy(h->routes, routes, (size_t)nroutes * sizeof *routes);
	h->nroutes = nroutes;
	h->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1, zero = 0;
	if (h->fd >= 0) {
		setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (ss.ss_family == AF_INET6)
			setsockopt(h->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
	}
	if (h->fd < 0 || bind(h->fd, (struct sockaddr *)&ss, sslen) < 0 || listen(h->fd, 64) < 0) {
		if (h->fd >= 0)
			close(h->fd);
		free(h);
		return SKY_EIO;
	}
	/* libmicrohttpd closes the socket it serves when it stops; it gets a
	 * duplicate, so h->fd (httpd_port) is ours to close whatever it does
	 * on a failed start */
	int mfd = fcntl(h->fd, F_DUPFD_CLOEXEC, 0);
	if (mfd < 0) {
		close(h->fd);
		free(h);
		return SKY_EIO;
	}
	h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
				answer, h,
				MHD_OPTION_LISTEN_SOCKET, (MHD_socket)mfd,
				MHD_OPTION_CONNECTION_LIMIT, HTTPD_CONN_MAX,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, HTTPD_CONN_PER_IP,
				MHD_OPTION_CONNECTION_TIMEOUT, HTTPD_TIMEOUT_S,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTPD_POOL_BYTES,
				MHD_OPTION_END);
	if (!h->d) {
		close(h->fd);
		free(h);
		return SKY_EIO;
	}
	*out = h;
	return SKY_OK;
}

void httpd_stop(struct httpd *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d); /* ends the thread, closes its copy of the socket */
	close(h->fd);
	free(h);
}

unsigned httpd_port(const struct httpd *h)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	if (getsockname(h->fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	return netaddr_port(&ss);
}
