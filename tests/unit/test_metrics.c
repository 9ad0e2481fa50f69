#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
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

static char *fetch(unsigned port, const char *req)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return NULL;
	}
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
	r = fetch(port, "garbage\r\n\r\n");
	CHECK(r && strncmp(r, "HTTP/1.1 400 ", 13) == 0);
	httpd_stop(h);
	CHECK_INT(httpd_start("not-an-addr", routes, 2, &h), SKY_EINVAL);
	CHECK_INT(httpd_start("127.0.0.1:99999", routes, 2, &h), SKY_EINVAL);
}

int main(void)
{
	RUN(counters_histograms_gauges_render);
	RUN(httpd_routes_and_errors);
	return CHECK_DONE();
}
