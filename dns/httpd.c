#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "netaddr.h"

#define MAX_ROUTES 8
#define REQ_MAX 8192
#define IO_TIMEOUT_MS 2000

struct httpd {
	int fd;
	int stop_pipe[2];
	pthread_t thread;
	struct httpd_route routes[MAX_ROUTES];
	int nroutes;
};

static void send_all(int fd, const char *p, size_t len)
{
	while (len) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		if (poll(&pfd, 1, IO_TIMEOUT_MS) <= 0)
			return;
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static void respond(int fd, int status, const char *ctype, const char *body, size_t len,
		    int head_only)
{
	const char *reason = status == 200 ? "OK" : status == 404 ? "Not Found"
		: status == 405 ? "Method Not Allowed" : status == 400 ? "Bad Request"
		: status == 503 ? "Service Unavailable" : "Error";
	char hdr[256];
	int n = snprintf(hdr, sizeof hdr,
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n", status, reason, ctype, len);
	send_all(fd, hdr, (size_t)n);
	if (!head_only)
		send_all(fd, body, len);
}

/* Read until the end of the headers, bounded in size and time. */
static ssize_t read_request(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	while (len < cap - 1) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, IO_TIMEOUT_MS) <= 0)
			return -1;
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = 0;
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return (ssize_t)len;
	}
	return -1;
}

static void serve(struct httpd *h, int fd)
{
	char req[REQ_MAX];
	if (read_request(fd, req, sizeof req) < 0)
		return;
	char method[8], path[512];
	if (sscanf(req, "%7s %511s", method, path) != 2) {
		respond(fd, 400, "text/plain", "bad request\n", 12, 0);
		return;
	}
	int head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0) {
		respond(fd, 405, "text/plain", "method not allowed\n", 19, 0);
		return;
	}
	char *q = strchr(path, '?');
	if (q)
		*q = 0;
	for (int i = 0; i < h->nroutes; i++) {
		if (strcmp(h->routes[i].path, path) != 0)
			continue;
		char *body = NULL;
		size_t len = 0;
		const char *ctype = "text/plain; charset=utf-8";
		int status = h->routes[i].fn(h->routes[i].arg, &body, &len, &ctype);
		respond(fd, status, ctype, body ? body : "", body ? len : 0, head);
		free(body);
		return;
	}
	respond(fd, 404, "text/plain", "not found\n", 10, head);
}

static void *httpd_main(void *arg)
{
	struct httpd *h = arg;
	for (;;) {
		struct pollfd pfd[2] = { { .fd = h->fd, .events = POLLIN },
					 { .fd = h->stop_pipe[0], .events = POLLIN } };
		int n = poll(pfd, 2, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || pfd[1].revents)
			break;
		int c = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		serve(h, c);
		close(c);
	}
	return NULL;
}

int httpd_start(const char *addr, const struct httpd_route *routes, int nroutes,
		struct httpd **out)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	if (netaddr_parse(addr, NETADDR_LISTEN, &ss, &sslen) < 0 || nroutes > MAX_ROUTES)
		return SKY_EINVAL;
	struct httpd *h = calloc(1, sizeof *h);
	if (!h)
		return SKY_ENOMEM;
	memcpy(h->routes, routes, (size_t)nroutes * sizeof *routes);
	h->nroutes = nroutes;
	h->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1, zero = 0;
	if (h->fd >= 0) {
		setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (ss.ss_family == AF_INET6)
			setsockopt(h->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
	}
	if (h->fd < 0 || bind(h->fd, (struct sockaddr *)&ss, sslen) < 0 || listen(h->fd, 64) < 0 ||
	    pipe2(h->stop_pipe, O_CLOEXEC) < 0) {
		if (h->fd >= 0)
			close(h->fd);
		free(h);
		return SKY_EIO;
	}
	if (pthread_create(&h->thread, NULL, httpd_main, h) != 0) {
		close(h->fd);
		close(h->stop_pipe[0]);
		close(h->stop_pipe[1]);
		free(h);
		return SKY_ENOMEM;
	}
	*out = h;
	return SKY_OK;
}

void httpd_stop(struct httpd *h)
{
	if (!h)
		return;
	ssize_t w = write(h->stop_pipe[1], "x", 1);
	(void)w;
	pthread_join(h->thread, NULL);
	close(h->fd);
	close(h->stop_pipe[0]);
	close(h->stop_pipe[1]);
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
