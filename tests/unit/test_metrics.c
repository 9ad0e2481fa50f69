#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "check.h"
#include "err.h"
#include "httpd.h"
#include "metrics.h"

static double forty_two(void *arg) { return *(double *)arg; }

TEST(counters_histograms_gauges_render)
{
	struct metrics *r = metrics_new("skydns", "skydns");
	struct metric *req = metrics_add(r, METRIC_COUNTER, "dns_request_count_total", "Requests.", NULL, 0);
	static const double b[] = { 0.001, 0.01, 0.1 };
	struct metric *dur = metrics_add(r, METRIC_HISTOGRAM, "dns_request_duration_seconds", "Latency.", b, 3);
	double v = 42;
	CHECK_INT(metrics_add_gauge_fn(r, "records", "Records loaded.", forty_two, &v), 0);
	struct series *auth = metrics_series(req, "system=\"auth\"");
	CHECK(auth == metrics_series(req, "system=\"auth\""));
	series_add(auth, 3);
	series_observe(metrics_series(dur, "system=\"auth\""), 0.005);
	series_observe(metrics_series(dur, "system=\"auth\""), 0.5);
	size_t len;
	char *text = metrics_render(r, &len);
	CHECK(text != NULL);
	CHECK(strstr(text, "# TYPE skydns_skydns_dns_request_count_total counter\n") != NULL);
	CHECK(strstr(text, "skydns_skydns_dns_request_count_total{system=\"auth\"} 3\n") != NULL);
	CHECK(strstr(text, "skydns_skydns_dns_request_duration_seconds_bucket{system=\"auth\",le=\"0.001\"} 0\n") != NULL);
	CHECK(strstr(text, "skydns_skydns_dns_request_duration_seconds_bucket{system=\"auth\",le=\"0.01\"} 1\n") != NULL);
	CHECK(strstr(text, "skydns_skydns_dns_request_duration_seconds_bucket{system=\"auth\",le=\"+Inf\"} 2\n") != NULL);
	CHECK(strstr(text, "skydns_skydns_dns_request_duration_seconds_count{system=\"auth\"} 2\n") != NULL);
	CHECK(strstr(text, "skydns_skydns_records 42\n") != NULL);
	CHECK_INT(strlen(text), len);
	free(text);
	metrics_free(r);
}

static int hello(void *arg, char **body, size_t *len, const char **ctype)
{
	*body = strdup("hello\n");
	*len = 6;
	return *(int *)arg;
}

/* A connection to 127.0.0.1:port from the address src (127.0.0.x). */
static int dial(const char *src, unsigned port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in me = { .sin_family = AF_INET };
	inet_pton(AF_INET, src, &me.sin_addr);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	struct timeval tv = { .tv_sec = 10 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (bind(fd, (struct sockaddr *)&me, sizeof me) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static char *fetch_from(const char *src, unsigned port, const char *req)
{
	int fd = dial(src, port);
	if (fd < 0)
		return NULL;
	send(fd, req, strlen(req), 0);
	static char buf[4096];
	size_t len = 0;
	ssize_t n;
	while (len < sizeof buf - 1 && (n = recv(fd, buf + len, sizeof buf - 1 - len, 0)) > 0)
		len += (size_t)n;
	buf[len] = 0;
	close(fd);
	return buf;
}

static char *fetch(unsigned port, const char *req)
{
	return fetch_from("127.0.0.1", port, req);
}

TEST(httpd_routes_and_errors)
{
	int ok = 200, down = 503;
	struct httpd_route routes[] = { { "/healthz", hello, &ok }, { "/readyz", hello, &down } };
	struct httpd *h = NULL;
	CHECK_INT(httpd_start("127.0.0.1:0", routes, 2, &h), 0);
	if (!h)
		return;
	unsigned port = httpd_port(h);
	CHECK(port > 0);
	char *r = fetch(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK(r && strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0 && strstr(r, "\r\n\r\nhello\n"));
	r = fetch(port, "GET /readyz?verbose HTTP/1.1\r\n\r\n");
	CHECK(r && strncmp(r, "HTTP/1.1 503 ", 13) == 0);
	r = fetch(port, "GET /nope HTTP/1.1\r\n\r\n");
	CHECK(r && strncmp(r, "HTTP/1.1 404 ", 13) == 0);
	r = fetch(port, "POST /healthz HTTP/1.1\r\n\r\n");
	CHECK(r && strncmp(r, "HTTP/1.1 405 ", 13) == 0);
	/* a request line without a version is 400; one that is no request line at
	 * all is not answered (libmicrohttpd closes the connection) */
	r = fetch(port, "GET /healthz\r\n\r\n");
	CHECK(r && strncmp(r, "HTTP/1.1 400 ", 13) == 0);
	r = fetch(port, "garbage\r\n\r\n");
	CHECK(r && (r[0] == 0 || strncmp(r, "HTTP/1.1 400 ", 13) == 0));
	/* HEAD: the headers of GET, no body */
	r = fetch(port, "HEAD /healthz HTTP/1.0\r\n\r\n");
	CHECK(r && strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0 && strstr(r, "Content-Length: 6\r\n") &&
	      strstr(r, "\r\n\r\n")[4] == 0);
	/* one request per connection */
	CHECK(r && strstr(r, "Connection: close\r\n"));
	/* a body is refused before it is read */
	r = fetch(port, "PUT /healthz HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde");
	CHECK(r && strncmp(r, "HTTP/1.1 405 ", 13) == 0 && !strstr(r, "hello"));
	/* headers over the per-connection pool are refused */
	static char big[20100];
	int n = snprintf(big, sizeof big, "GET /healthz HTTP/1.1\r\nX-Big: ");
	memset(big + n, 'a', 20000);
	memcpy(big + n + 20000, "\r\n\r\n", 5);
	r = fetch(port, big);
	CHECK(r && strncmp(r, "HTTP/1.1 431 ", 13) == 0);
	httpd_stop(h);
	/* stopped: nothing listens on the port any more */
	CHECK(fetch(port, "GET /healthz HTTP/1.1\r\n\r\n") == NULL);
	CHECK_INT(httpd_start("not-an-addr", routes, 2, &h), SKY_EINVAL);
	CHECK_INT(httpd_start("127.0.0.1:99999", routes, 2, &h), SKY_EINVAL);
}

/* A hostile client cannot hold the endpoint: connections from one address are
 * capped (others are still served), and idle ones are closed after the
 * timeout. */
TEST(httpd_limits)
{
	int ok = 200;
	struct httpd_route routes[] = { { "/healthz", hello, &ok } };
	struct httpd *h = NULL;
	CHECK_INT(httpd_start("127.0.0.1:0", routes, 1, &h), 0);
	if (!h)
		return;
	unsigned port = httpd_port(h);
	int idle[24];
	int nidle = 0;
	for (int i = 0; i < 24; i++) /* more than one address may hold */
		if ((idle[nidle] = dial("127.0.0.2", port)) >= 0)
			nidle++;
	CHECK_INT(nidle, 24);
	usleep(300 * 1000);
	/* the ones over the per-address limit were closed at once */
	int closed = 0;
	for (int i = 0; i < nidle; i++) {
		struct timeval tv = { .tv_usec = 200 * 1000 };
		setsockopt(idle[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		char c;
		if (recv(idle[i], &c, 1, 0) == 0)
			closed++;
	}
	CHECK_INT(closed, 24 - 16);
	/* another client is still served */
	char *r = fetch_from("127.0.0.3", port, "GET /healthz HTTP/1.1\r\n\r\n");
	CHECK(r && strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
	/* the idle ones are closed within the timeout (5 s) */
	int left = 0;
	for (int i = 0; i < nidle; i++) {
		struct timeval tv = { .tv_sec = 8 };
		setsockopt(idle[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		char c;
		if (recv(idle[i], &c, 1, 0) != 0)
			left++;
		close(idle[i]);
	}
	CHECK_INT(left, 0);
	httpd_stop(h);
}

int main(void)
{
	RUN(counters_histograms_gauges_render);
	RUN(httpd_routes_and_errors);
	RUN(httpd_limits);
	return CHECK_DONE();
}
