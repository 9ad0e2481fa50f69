/* api_main.c - skydns-api: flags, auth, and the libmicrohttpd server.
 *
 * skydns-api [-addr 127.0.0.1:9001] [-machines URL,...] [-etcd3]
 *            [-ca-cert F -tls-pem F -tls-key F] [-username U -password P]
 *            [-domain skydns.local.] [-path-prefix skydns]
 *            [-token-file F] [-https-cert F -https-key F]
 *            [-ip-monitor-path /<prefix>/monitor/status/]
 *
 * The etcd flags are skydns's (same names, same ETCD_* environment); the
 * HTTPS certificate is -https-cert/-https-key (-tls-key is already the etcd
 * client key in skydns's flag set). Token: -token-file or SKYDNS_API_TOKEN;
 * "Authorization: Bearer <token>" or the seed's "?token=<token>" (which ends
 * up in access logs and shell history: prefer the header). Without a token
 * the daemon only listens on a loopback address.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api.h"
#include "err.h"
#include "manpage.h"
#include "msg.h"

#ifndef MHD_RESULT_T
#if MHD_VERSION >= 0x00097002
#define MHD_RESULT_T enum MHD_Result
#else
#define MHD_RESULT_T int
#endif
#endif

static char *token;
static size_t token_len;
static struct api A;
static volatile sig_atomic_t stop_flag;

static void on_signal(int s)
{
	(void)s;
	stop_flag = 1;
}

static bool token_ok(const char *got)
{
	if (!got)
		return false;
	size_t n = strlen(got);
	/* constant time in the token's length: compare every byte either way */
	unsigned char diff = (unsigned char)(n != token_len);
	for (size_t i = 0; i < token_len; i++)
		diff |= (unsigned char)(token[i] ^ (i < n ? got[i] : 0));
	return diff == 0;
}

struct req {
	char *body;
	size_t len;
	bool too_big;
};

static MHD_RESULT_T send_reply(struct MHD_Connection *c, unsigned status, const char *ctype,
			       char *body)
{
	const char *b = body ? body : "";
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(b), (void *)b,
								    MHD_RESPMEM_MUST_COPY);
	free(body);
	MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_RESULT_T ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static MHD_RESULT_T handler(void *cls, struct MHD_Connection *c, const char *url,
			    const char *method, const char *version, const char *upload,
			    size_t *upload_size, void **con_cls)
{
	struct req *rq = *con_cls;
	if (!rq) {
		rq = calloc(1, sizeof *rq);
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!rq->too_big && rq->len + *upload_size <= API_BODY_MAX) {
			char *nb = realloc(rq->body, rq->len + *upload_size + 1);
			if (!nb)
				return MHD_NO;
			rq->body = nb;
			memcpy(rq->body + rq->len, upload, *upload_size);
			rq->len += *upload_size;
			rq->body[rq->len] = 0;
		} else {
			rq->too_big = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	bool seed = strncmp(url, "/skydns/api", 11) == 0;
	if (strcmp(url, "/health") == 0)
		return send_reply(c, 200, "text/plain", strdup("ok\n"));
	if (token) {
		const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
		const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
		bool ok = false;
		if (auth && strncasecmp(auth, "Bearer ", 7) == 0)
			ok = token_ok(auth + 7);
		if (!ok && q)
			ok = token_ok(q);
		if (!ok) {
			if (seed)
				return send_reply(c, 401, "text/plain", strdup("No authorized\n"));
			return send_reply(c, 401, "application/json",
					  strdup("{\"error\":\"missing or wrong token\"}"));
		}
	}
	if (rq->too_big) {
		char *m = NULL;
		if (asprintf(&m, "{\"error\":\"body over %d bytes\",\"field\":\"body\"}", API_BODY_MAX) < 0)
			m = NULL;
		return send_reply(c, 400, "application/json", m);
	}
	api_if_match = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-Match");
	const char *prefix = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
							 strncmp(url, "/v1/explain/", 12) ? "prefix" : "type");
	struct api_reply r;
	api_handle(&A, method, url, prefix, rq->body ? rq->body : "", rq->len, &r);
	fprintf(stderr, "skydns-api: %s %s -> %u\n", method, url, r.status);
	return send_reply(c, r.status, r.ctype, r.body);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;
	if (rq) {
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t got = fread(buf + n, 1, 4096, f);
		n += got;
		if (got < 4096)
			break;
	}
	fclose(f);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

static const char USAGE[] =
	"usage: skydns-api [-addr 127.0.0.1:9001] [-machines http://127.0.0.1:2379,...] [-etcd3]\n"
	"                  [-ca-cert F] [-tls-pem F] [-tls-key F] [-username U] [-password P]\n"
	"                  [-domain skydns.local.] [-path-prefix skydns]\n"
	"                  [-token-file F] [-https-cert F -https-key F]\n"
	"                  [-ip-monitor-path /skydns/monitor/status/]\n"
	"  token: -token-file or SKYDNS_API_TOKEN; without one only loopback -addr is allowed\n";

static void usage(void)
{
	fputs(USAGE, stderr);
}

/* The -h text as a man page (hidden -help-man, run by the build). */
static void usage_man(void)
{
	man_head(stdout, "skydns-api", "HTTP API for the records skydns serves", "[-flag value ...]");
	man_section(stdout, "DESCRIPTION");
	man_text(stdout, "skydns-api reads and writes SkyDNS records in etcd over HTTP (/v1/records); "
			 "skydnsctl is its command line client.");
	man_section(stdout, "OPTIONS");
	man_verbatim(stdout, USAGE);
	man_tail(stdout, "skydnsctl(1), skydns(1)");
}

static const char *envor(const char *name, const char *dflt)
{
	const char *v = getenv(name);
	return v && *v ? v : dflt;
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1:9001";
	const char *machines = envor("ETCD_MACHINES", "http://127.0.0.1:4001,http://127.0.0.1:2379");
	const char *domain = envor("SKYDNS_DOMAIN", "skydns.local.");
	const char *prefix = envor("SKYDNS_PATH_PREFIX", "skydns");
	const char *ca = envor("ETCD_CACERT", ""), *pem = envor("ETCD_TLSPEM", "");
	const char *key = envor("ETCD_TLSKEY", ""), *user = envor("ETCD_USERNAME", "");
	const char *pass = envor("ETCD_PASSWORD", "");
	const char *token_file = NULL, *https_cert = NULL, *https_key = NULL;
	const char *monitor = "";
	bool v3 = false;
	for (int i = 1; i < argc; i++) {
		const char *f = argv[i];
		if (f[0] != '-') {
			usage();
			return 2;
		}
		f += (f[1] == '-') ? 2 : 1;
		char fname[64];
		const char *val = NULL;
		const char *eq = strchr(f, '=');
		if (eq) {
			snprintf(fname, sizeof fname, "%.*s", (int)(eq - f), f);
			val = eq + 1;
		} else {
			snprintf(fname, sizeof fname, "%s", f);
		}
		if (strcmp(fname, "etcd3") == 0) {
			v3 = !val || strcmp(val, "true") == 0 || strcmp(val, "1") == 0;
			continue;
		}
		if (strcmp(fname, "h") == 0 || strcmp(fname, "help") == 0) {
			usage();
			return 0;
		}
		if (strcmp(fname, "help-man") == 0) {
			usage_man();
			return 0;
		}
		if (!val) {
			if (i + 1 >= argc) {
				fprintf(stderr, "skydns-api: flag -%s needs a value\n", fname);
				return 2;
			}
			val = argv[++i];
		}
		if (strcmp(fname, "addr") == 0) addr = val;
		else if (strcmp(fname, "machines") == 0) machines = val;
		else if (strcmp(fname, "domain") == 0) domain = val;
		else if (strcmp(fname, "path-prefix") == 0) prefix = val;
		else if (strcmp(fname, "ca-cert") == 0) ca = val;
		else if (strcmp(fname, "tls-pem") == 0) pem = val;
		else if (strcmp(fname, "tls-key") == 0) key = val;
		else if (strcmp(fname, "username") == 0) user = val;
		else if (strcmp(fname, "password") == 0) pass = val;
		else if (strcmp(fname, "token-file") == 0) token_file = val;
		else if (strcmp(fname, "https-cert") == 0 || strcmp(fname, "tls-cert") == 0) https_cert = val;
		else if (strcmp(fname, "https-key") == 0) https_key = val;
		else if (strcmp(fname, "ip-monitor-path") == 0) monitor = val;
		else {
			fprintf(stderr, "skydns-api: unknown flag -%s\n", fname);
			usage();
			return 2;
		}
	}

	/* token */
	if (token_file) {
		size_t n = 0;
		token = read_file(token_file, &n);
		if (!token) {
			fprintf(stderr, "skydns-api: -token-file %s: %s\n", token_file, strerror(errno));
			return 1;
		}
		while (n && (token[n - 1] == '\n' || token[n - 1] == '\r' || token[n - 1] == ' '))
			token[--n] = 0;
	} else if (getenv("SKYDNS_API_TOKEN") && *getenv("SKYDNS_API_TOKEN")) {
		token = strdup(getenv("SKYDNS_API_TOKEN"));
	}
	if (token && !*token) {
		fprintf(stderr, "skydns-api: the token is empty\n");
		return 1;
	}
	token_len = token ? strlen(token) : 0;

	/* listen address */
	char host[256];
	const char *colon = strrchr(addr, ':');
	if (!colon || colon == addr || !colon[1]) {
		fprintf(stderr, "skydns-api: -addr %s: want host:port\n", addr);
		return 2;
	}
	snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof host, "127.0.0.1");
	int port = atoi(colon + 1);
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	bool loopback, six = false;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		loopback = (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		six = true;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		loopback = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
	} else {
		fprintf(stderr, "skydns-api: -addr %s: the host must be an IP address\n", addr);
		return 2;
	}
	if (port <= 0 || port > 65535) {
		fprintf(stderr, "skydns-api: -addr %s: bad port\n", addr);
		return 2;
	}
	if (!token && !loopback) {
		fprintf(stderr,
			"skydns-api: refusing to listen on %s without a token: set -token-file or "
			"SKYDNS_API_TOKEN, or listen on a loopback address\n", addr);
		return 1;
	}

	/* domain and prefix */
	size_t dl = strlen(domain);
	if (dl == 0 || dl > 250) {
		fprintf(stderr, "skydns-api: bad -domain\n");
		return 2;
	}
	for (size_t i = 0; i < dl; i++)
		A.domain[i] = (char)((domain[i] >= 'A' && domain[i] <= 'Z') ? domain[i] + 32 : domain[i]);
	if (A.domain[dl - 1] != '.')
		A.domain[dl++] = '.';
	A.domain[dl] = 0;
	size_t pl;
	const char *p = msg_prefix_trim(prefix, &pl);
	snprintf(A.prefix, sizeof A.prefix, "%.*s", (int)pl, p);
	/* skydns's ip_monitor_path: "" = /<prefix>/monitor/status/ */
	if (*monitor)
		snprintf(A.monitor, sizeof A.monitor, "%s%s", monitor[0] == '/' ? "" : "/", monitor);
	else
		snprintf(A.monitor, sizeof A.monitor, "/%s/monitor/status", A.prefix);
	for (size_t ml = strlen(A.monitor); ml > 1 && A.monitor[ml - 1] == '/';)
		A.monitor[--ml] = 0;

	A.v3 = v3;
	/* etcd */
	char *mcopy = strdup(machines);
	const char *ms[16];
	int nm = 0;
	for (char *sv, *t = strtok_r(mcopy, ",", &sv); t && nm < 16; t = strtok_r(NULL, ",", &sv))
		ms[nm++] = t;
	struct etcd_opts eo = { .machines = ms, .nmachines = nm, .v3 = v3, .ca_cert = ca,
				.tls_pem = pem, .tls_key = key, .username = user, .password = pass,
				.timeout_ms = 5000 };
	int rc = etcd_new(&eo, &A.etcd);
	if (rc != 0) {
		fprintf(stderr, "skydns-api: etcd: %s\n", err_str(rc));
		return 1;
	}

	char *cert = NULL, *ckey = NULL;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (six)
		flags |= MHD_USE_IPv6;
	if (https_cert || https_key) {
		if (!https_cert || !https_key) {
			fprintf(stderr, "skydns-api: HTTPS needs both -https-cert (or -tls-cert) and "
					"-https-key (-tls-key is the etcd client key, as in skydns)\n");
			return 2;
		}
		if (!(cert = read_file(https_cert, NULL)) || !(ckey = read_file(https_key, NULL))) {
			fprintf(stderr, "skydns-api: reading the HTTPS certificate or key: %s\n",
				strerror(errno));
			return 1;
		}
		flags |= MHD_USE_TLS;
	}
	struct MHD_Daemon *d;
	if (cert)
		d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handler, NULL,
				     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				     MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
				     MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_MEM_KEY, ckey,
				     MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
	else
		d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handler, NULL,
				     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				     MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
				     MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "skydns-api: cannot listen on %s%s\n", addr,
			cert ? " (HTTPS: is libmicrohttpd built with TLS?)" : "");
		return 1;
	}
	fprintf(stderr, "skydns-api: listening on %s%s (domain %s, prefix /%s, etcd %s%s)%s\n", addr,
		cert ? " (https)" : "", A.domain, A.prefix, v3 ? "v3 " : "v2 ", machines,
		token ? "" : ", no token: loopback only");
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	while (!stop_flag)
		pause();
	MHD_stop_daemon(d);
	etcd_free(A.etcd);
	free(mcopy);
	free(token);
	free(cert);
	free(ckey);
	return 0;
}
