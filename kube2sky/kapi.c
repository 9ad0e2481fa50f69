#include "kapi.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "kubeconfig.h"
#include "pemfile.h"

#define LIST_BODY_MAX (256u << 20)
#define WATCH_LINE_MAX (16u << 20) /* an object is at most ~1.5 MiB (etcd's request limit) */

struct kapi {
	struct kapi_config cfg;
};

static char *xdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static char *xmemdup(const char *s, size_t n)
{
	if (!s)
		return NULL;
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

void kapi_config_clear(struct kapi_config *c)
{
	char **strs[] = {&c->server, &c->ca_file, &c->ca_pem, &c->cert_file, &c->key_file,
			 &c->cert_pem, &c->key_pem, &c->token, &c->token_file, &c->tls_server_name};
	for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
		free(*strs[i]);
	*c = (struct kapi_config){0};
}

/* $VAR and ${VAR}, as kube2sky expanded its --kube-master-url. */
static int expand_env(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	for (const char *p = in; *p;) {
		if (*p != '$') {
			if (o + 1 >= cap)
				return SKY_ERANGE;
			out[o++] = *p++;
			continue;
		}
		p++;
		bool brace = *p == '{';
		p += brace;
		char name[128];
		size_t n = 0;
		while (*p && (isalnum((unsigned char)*p) || *p == '_') && n + 1 < sizeof name)
			name[n++] = *p++;
		name[n] = '\0';
		if (brace && *p++ != '}')
			return SKY_EINVAL;
		const char *v = getenv(name);
		size_t vl = v ? strlen(v) : 0;
		if (o + vl >= cap)
			return SKY_ERANGE;
		memcpy(out + o, v ? v : "", vl);
		o += vl;
	}
	out[o] = '\0';
	return 0;
}

static int check_url(const char *url, const char *what, char *err, size_t errcap)
{
	const char *host = NULL;
	if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	if (!host || !*host || *host == '/' || *host == ':') {
		snprintf(err, errcap, "%s: API server URL \"%s\" must be http(s)://host[:port]", what, url);
		return SKY_EINVAL;
	}
	return 0;
}

static int check_file(const char *path, const char *setting, const char *src, char *err, size_t errcap)
{
	if (!path)
		return 0;
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errcap, "%s: %s %s: %s", src, setting, path, strerror(errno));
		return errno == ENOENT ? SKY_ENOTFOUND : SKY_EIO;
	}
	fclose(f);
	return 0;
}

/* A TLS file or kubeconfig *-data that does not parse would fail every
 * handshake and keep the informers retrying for ever: refuse it at start. */
static int check_pem(const char *path, const char *data, size_t len, enum pem_kind kind,
		     const char *setting, const char *src, char *err, size_t errcap)
{
	char why[768];
	int rc = 0;
	if (path)
		rc = pem_check_file(path, kind, why, sizeof why);
	else if (data)
		rc = pem_check_data(data, len, kind, setting, why, sizeof why);
	if (rc)
		snprintf(err, errcap, "%s: %s%s%s", src, path ? setting : "", path ? " " : "", why);
	return rc;
}

static int check_tls(const struct kapi_config *c, char *err, size_t errcap)
{
	const struct {
		const char *path, *data;
		size_t len;
		enum pem_kind kind;
		const char *file_name, *data_name;
	} files[] = {
		{c->ca_file, c->ca_pem, c->ca_pem_len, PEM_CERTS, "certificate authority",
		 "certificate-authority-data"},
		{c->cert_file, c->cert_pem, c->cert_pem_len, PEM_CERTS, "client certificate",
		 "client-certificate-data"},
		{c->key_file, c->key_pem, c->key_pem_len, PEM_KEY, "client key", "client-key-data"},
	};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		const char *name = files[i].path ? files[i].file_name : files[i].data_name;
		int rc = check_pem(files[i].path, files[i].data, files[i].len, files[i].kind, name,
				   c->source, err, errcap);
		if (rc)
			return rc;
	}
	bool has_cert = c->cert_file || c->cert_pem, has_key = c->key_file || c->key_pem;
	if (has_cert && has_key) {
		struct pem_src cert = { c->cert_file, c->cert_pem, c->cert_pem_len,
					"client-certificate-data" };
		struct pem_src key = { c->key_file, c->key_pem, c->key_pem_len, "client-key-data" };
		char why[768];
		int rc = pem_check_pair_src(&cert, &key, why, sizeof why);
		if (rc)
			snprintf(err, errcap, "%s: %s", c->source, why);
		return rc;
	}
	return 0;
}

static int from_kubeconfig(const char *path, struct kapi_config *c, char *err, size_t errcap)
{
	struct kubeconfig kc;
	int rc = kubeconfig_load(path, &kc, err, errcap);
	if (rc)
		return rc;
	snprintf(c->source, sizeof c->source, "kubeconfig %s (context %s)", path, kc.context);
	/* Take ownership of the strings instead of copying them. */
	c->server = kc.server;
	c->ca_file = kc.ca_file;
	c->ca_pem = kc.ca_data;
	c->ca_pem_len = kc.ca_data_len;
	c->cert_file = kc.cert_file;
	c->key_file = kc.key_file;
	c->cert_pem = kc.cert_data;
	c->cert_pem_len = kc.cert_data_len;
	c->key_pem = kc.key_data;
	c->key_pem_len = kc.key_data_len;
	c->token = kc.token;
	c->token_file = kc.token_file;
	c->insecure = kc.insecure;
	c->tls_server_name = kc.tls_server_name;
	free(kc.context);
	return 0;
}

static int in_cluster(const char *sa_dir, struct kapi_config *c, char *err, size_t errcap)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
	snprintf(c->source, sizeof c->source, "in-cluster config");
	if (!host || !*host || !port || !*port) {
		snprintf(err, errcap, "no API server configured: give --kube-master-url or --kubecfg-file, "
			 "or run in a pod (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set)");
		return SKY_EINVAL;
	}
	char url[512], path[1024];
	bool v6 = strchr(host, ':') != NULL;
	snprintf(url, sizeof url, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
	c->server = strdup(url);
	snprintf(path, sizeof path, "%s/token", sa_dir);
	c->token_file = strdup(path);
	snprintf(path, sizeof path, "%s/ca.crt", sa_dir);
	c->ca_file = strdup(path);
	return c->server && c->token_file && c->ca_file ? 0 : SKY_ENOMEM;
}

int kapi_config_resolve(const char *master_url, const char *kubecfg, const char *sa_dir,
			struct kapi_config *c, char *err, size_t errcap)
{
	*c = (struct kapi_config){0};
	char url[1024] = "";
	int rc = 0;
	if (master_url && *master_url && (rc = expand_env(master_url, url, sizeof url))) {
		snprintf(err, errcap, "--kube-master-url \"%s\": bad environment reference", master_url);
		return rc;
	}
	if (kubecfg && *kubecfg)
		rc = from_kubeconfig(kubecfg, c, err, errcap);
	else if (*url)
		snprintf(c->source, sizeof c->source, "--kube-master-url");
	else
		rc = in_cluster(sa_dir, c, err, errcap);
	if (!rc && *url) {
		free(c->server);
		rc = (c->server = strdup(url)) ? 0 : SKY_ENOMEM;
	}
	if (!rc)
		rc = check_url(c->server, *url ? "--kube-master-url" : c->source, err, errcap);
	if (!rc)
		rc = check_tls(c, err, errcap);
	if (!rc)
		rc = check_file(c->token_file, "token file", c->source, err, errcap);
	if (!rc) {
		size_t l = strlen(c->server);
		while (l > 0 && c->server[l - 1] == '/')
			c->server[--l] = '\0';
	}
	if (rc)
		kapi_config_clear(c);
	return rc;
}

int kapi_new(const struct kapi_config *cfg, struct kapi **out)
{
	struct kapi *k = calloc(1, sizeof *k);
	if (!k)
		return SKY_ENOMEM;
	struct kapi_config *c = &k->cfg;
	*c = *cfg;
	c->server = xdup(cfg->server);
	c->ca_file = xdup(cfg->ca_file);
	c->ca_pem = xmemdup(cfg->ca_pem, cfg->ca_pem_len);
	c->cert_file = xdup(cfg->cert_file);
	c->key_file = xdup(cfg->key_file);
	c->cert_pem = xmemdup(cfg->cert_pem, cfg->cert_pem_len);
	c->key_pem = xmemdup(cfg->key_pem, cfg->key_pem_len);
	c->token = xdup(cfg->token);
	c->token_file = xdup(cfg->token_file);
	c->tls_server_name = xdup(cfg->tls_server_name);
	if (!c->server) {
		kapi_config_clear(c);
		free(k);
		return SKY_ENOMEM;
	}
	*out = k;
	return 0;
}

void kapi_free(struct kapi *k)
{
	if (!k)
		return;
	kapi_config_clear(&k->cfg);
	free(k);
}

/* The bearer token: the file wins (it rotates), trailing whitespace cut. */
static int read_token(const struct kapi *k, char *tok, size_t cap, char *err, size_t errcap)
{
	tok[0] = '\0';
	if (!k->cfg.token_file) {
		if (k->cfg.token)
			snprintf(tok, cap, "%s", k->cfg.token);
		return 0;
	}
	FILE *f = fopen(k->cfg.token_file, "rb");
	if (!f) {
		snprintf(err, errcap, "%s: token file %s: %s", k->cfg.source, k->cfg.token_file, strerror(errno));
		return SKY_EAUTH;
	}
	size_t n = fread(tok, 1, cap - 1, f);
	fclose(f);
	tok[n] = '\0';
	while (n > 0 && isspace((unsigned char)tok[n - 1]))
		tok[--n] = '\0';
	return 0;
}

struct req {
	CURL *h;
	struct curl_slist *hdrs, *connect_to;
	char *url; /* the URL rewritten for tls-server-name, else NULL */
	char errbuf[CURL_ERROR_SIZE];
};

static void req_done(struct req *r)
{
	if (r->h)
		curl_easy_cleanup(r->h);
	curl_slist_free_all(r->hdrs);
	curl_slist_free_all(r->connect_to);
	curl_free(r->url);
}

/* kubeconfig tls-server-name: verify the certificate (and send SNI) for
 * that name while connecting to the server's own address. curl checks the
 * URL's host, so the URL names tls-server-name and CONNECT_TO maps it back
 * to the real host. */
static int server_name_override(struct req *r, const char *url, const char *name)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, map[1024];
	int rc = SKY_EINVAL;
	if (u && !curl_url_set(u, CURLUPART_URL, url, 0) && !curl_url_get(u, CURLUPART_HOST, &host, 0) &&
	    !curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) &&
	    !curl_url_set(u, CURLUPART_HOST, name, 0) && !curl_url_get(u, CURLUPART_URL, &r->url, 0)) {
		int w = snprintf(map, sizeof map, "%s:%s:%s:%s", name, port, host, port);
		if (w > 0 && (size_t)w < sizeof map && (r->connect_to = curl_slist_append(NULL, map))) {
			curl_easy_setopt(r->h, CURLOPT_URL, r->url);
			curl_easy_setopt(r->h, CURLOPT_CONNECT_TO, r->connect_to);
			rc = 0;
		}
	}
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

static void set_blob(CURL *h, CURLoption opt, const char *data, size_t len)
{
	struct curl_blob b = {.data = (void *)data, .len = len, .flags = CURL_BLOB_COPY};
	curl_easy_setopt(h, opt, &b);
}

static int req_init(struct kapi *k, struct req *r, const char *url, char *err, size_t errcap)
{
	*r = (struct req){0};
	char tok[8192], auth[8300];
	int rc = read_token(k, tok, sizeof tok, err, errcap);
	if (rc)
		return rc;
	if (!(r->h = curl_easy_init()))
		return SKY_ENOMEM;
	const struct kapi_config *c = &k->cfg;
	r->hdrs = curl_slist_append(NULL, "Accept: application/json");
	if (*tok) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok);
		r->hdrs = curl_slist_append(r->hdrs, auth);
	}
	CURL *h = r->h;
	if (c->tls_server_name && (rc = server_name_override(r, url, c->tls_server_name)))
		return rc;
	if (!r->url)
		curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "kube2sky/0.1");
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	if (c->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	if (c->ca_pem)
		set_blob(h, CURLOPT_CAINFO_BLOB, c->ca_pem, c->ca_pem_len);
	if (c->cert_file)
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file);
	if (c->cert_pem)
		set_blob(h, CURLOPT_SSLCERT_BLOB, c->cert_pem, c->cert_pem_len);
	if (c->key_file)
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file);
	if (c->key_pem)
		set_blob(h, CURLOPT_SSLKEY_BLOB, c->key_pem, c->key_pem_len);
	if (c->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	return r->hdrs ? 0 : SKY_ENOMEM;
}

/* Map a transfer failure to an error code and one line naming what failed. */
static int curl_fail(const struct kapi *k, const struct req *r, CURLcode cc, char *err, size_t errcap)
{
	const char *detail = r->errbuf[0] ? r->errbuf : curl_easy_strerror(cc);
	switch (cc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_CIPHER:
		snprintf(err, errcap, "API %s: TLS: %s (CA %s, from %s)", k->cfg.server, detail,
			 k->cfg.ca_file ? k->cfg.ca_file : k->cfg.ca_pem ? "certificate-authority-data" : "system store",
			 k->cfg.source);
		return SKY_ETLS;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(err, errcap, "API %s: %s", k->cfg.server, detail);
		return SKY_ETIMEDOUT;
	default:
		snprintf(err, errcap, "API %s: %s", k->cfg.server, detail);
		return SKY_EIO;
	}
}

static int http_fail(const struct kapi *k, long status, const char *path, const char *body,
		     char *err, size_t errcap)
{
	char msg[256] = "";
	cJSON *st = body ? cJSON_Parse(body) : NULL;
	const char *m = cJSON_GetStringValue(cJSON_GetObjectItem(st, "message"));
	snprintf(msg, sizeof msg, "%s", m ? m : "");
	cJSON_Delete(st);
	if (status == 401 || status == 403) {
		snprintf(err, errcap, "API %s%s: HTTP %ld %s: credentials from %s %s%s", k->cfg.server, path, status,
			 status == 401 ? "Unauthorized" : "Forbidden", k->cfg.source,
			 status == 401 ? "were refused" : "lack permission", *msg ? "" : "");
		return SKY_EAUTH;
	}
	snprintf(err, errcap, "API %s%s: HTTP %ld%s%s", k->cfg.server, path, status, *msg ? ": " : "", msg);
	return status == 404 ? SKY_ENOTFOUND : status == 410 ? SKY_ECOMPACTED : SKY_EPROTO;
}

struct body {
	char *buf;
	size_t len, cap;
	bool overflow;
};

static size_t body_write(char *data, size_t sz, size_t n, void *arg)
{
	struct body *b = arg;
	size_t len = sz * n;
	if (b->len + len + 1 > LIST_BODY_MAX) {
		b->overflow = true;
		return 0;
	}
	if (b->len + len + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 65536;
		while (ncap < b->len + len + 1)
			ncap *= 2;
		char *nb = realloc(b->buf, ncap);
		if (!nb)
			return 0;
		b->buf = nb;
		b->cap = ncap;
	}
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = '\0';
	return len;
}

static int list_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	return atomic_load((const atomic_bool *)arg) ? 1 : 0;
}

/* One page: items to cb, *cont gets metadata.continue (malloc'd or NULL). */
static int list_page(struct kapi *k, const char *path, const char *query, kapi_item_cb cb, void *arg,
		     char *rv, size_t rvcap, char **cont, long *status, const atomic_bool *stop,
		     char *err, size_t errcap)
{
	char url[8192];
	int w = snprintf(url, sizeof url, "%s%s?%s", k->cfg.server, path, query);
	if (w < 0 || (size_t)w >= sizeof url)
		return SKY_ERANGE;
	struct req r;
	struct body b = {0};
	int rc = req_init(k, &r, url, err, errcap);
	if (rc) {
		req_done(&r);
		return rc;
	}
	curl_easy_setopt(r.h, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(r.h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(r.h, CURLOPT_TIMEOUT_MS, 60000L);
	if (stop) {
		/* A LIST from a slow API server must not hold up a shutdown. */
		curl_easy_setopt(r.h, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(r.h, CURLOPT_XFERINFOFUNCTION, list_progress);
		curl_easy_setopt(r.h, CURLOPT_XFERINFODATA, (void *)stop);
	}
	CURLcode cc = curl_easy_perform(r.h);
	*status = 0;
	curl_easy_getinfo(r.h, CURLINFO_RESPONSE_CODE, status);
	if (cc == CURLE_ABORTED_BY_CALLBACK && stop && atomic_load(stop))
		rc = SKY_ESTOPPED;
	else if (cc != CURLE_OK)
		rc = curl_fail(k, &r, cc, err, errcap);
	else if (*status != 200)
		rc = http_fail(k, *status, path, b.buf, err, errcap);
	req_done(&r);
	cJSON *doc = rc ? NULL : cJSON_ParseWithLength(b.buf ? b.buf : "", b.len);
	free(b.buf);
	if (rc)
		return rc;
	const cJSON *md = cJSON_GetObjectItem(doc, "metadata");
	const cJSON *items = cJSON_GetObjectItem(doc, "items"), *it;
	const char *lrv = cJSON_GetStringValue(cJSON_GetObjectItem(md, "resourceVersion"));
	if (!doc || !lrv || !(cJSON_IsArray(items) || cJSON_IsNull(items))) {
		snprintf(err, errcap, "API %s%s: LIST answer is not a list (no metadata.resourceVersion or items)",
			 k->cfg.server, path);
		cJSON_Delete(doc);
		return SKY_EPROTO;
	}
	snprintf(rv, rvcap, "%s", lrv);
	const char *c = cJSON_GetStringValue(cJSON_GetObjectItem(md, "continue"));
	*cont = c && *c ? strdup(c) : NULL;
	cJSON_ArrayForEach(it, items) {
		if ((rc = cb(arg, it)))
			break;
	}
	cJSON_Delete(doc);
	return rc;
}

int kapi_list(struct kapi *k, const char *path, int limit, kapi_item_cb cb, void *arg,
	      char *rv, size_t rvcap, long *status, const atomic_bool *stop, char *err, size_t errcap)
{
	char *cont = NULL, query[4096];
	long st_local;
	int rc;
	if (!status)
		status = &st_local;
	snprintf(query, sizeof query, "limit=%d", limit);
	for (int page = 0;; page++) {
		rc = list_page(k, path, query, cb, arg, rv, rvcap, &cont, status, stop, err, errcap);
		if (rc || !cont)
			break;
		char *esc = curl_easy_escape(NULL, cont, 0);
		free(cont);
		cont = NULL;
		if (!esc)
			return SKY_ENOMEM;
		snprintf(query, sizeof query, "limit=%d&continue=%s", limit, esc);
		curl_free(esc);
	}
	free(cont);
	return rc;
}

struct wctx {
	struct watchbuf wb;
	kapi_event_cb cb;
	void *arg;
	int rc;                 /* why the transfer was aborted */
	int *garbage;
	char *err;
	size_t errcap;
	const atomic_bool *stop;
	long status;
	CURL *h;
	struct body errbody;    /* non-200 answers are kept for the message */
	long idle_ms;           /* progress deadline */
	long last_byte_ms;      /* monotonic time of the last byte received (or of the request) */
};

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int watch_line(struct wctx *w, const char *line, size_t len)
{
	struct watch_event ev;
	const char *why = NULL;
	int rc = watchline_parse(line, len, &ev, &why);
	if (rc == SKY_ENOTFOUND)
		return 0;
	if (rc) {
		(*w->garbage)++;
		return 0;
	}
	if (ev.type == WATCH_ERROR) {
		snprintf(w->err, w->errcap, "watch ERROR %d: %s", ev.code, ev.reason);
		rc = ev.code == 410 ? SKY_ECOMPACTED : SKY_EPROTO;
	} else {
		rc = w->cb(w->arg, &ev);
	}
	watch_event_clear(&ev);
	return rc;
}

static size_t watch_write(char *data, size_t sz, size_t n, void *arg)
{
	struct wctx *w = arg;
	size_t len = sz * n;
	w->last_byte_ms = now_ms();
	if (!w->status)
		curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &w->status);
	if (w->status != 200)
		return body_write(data, sz, n, &w->errbody);
	int rc = watchbuf_feed(&w->wb, data, len);
	if (rc) {
		snprintf(w->err, w->errcap, "watch: an event line exceeds %u bytes", WATCH_LINE_MAX);
		w->rc = rc;
		return 0;
	}
	const char *line;
	size_t ll;
	while ((rc = watchbuf_next(&w->wb, &line, &ll)) == 1) {
		if ((rc = watch_line(w, line, ll))) {
			w->rc = rc;
			return 0;
		}
	}
	return len;
}

/* libcurl calls this about once a second even when no byte arrives. The
 * deadline counts every byte, so events, BOOKMARKs (the API server sends one
 * about every minute when asked) and heartbeat whitespace all prove the
 * stream alive; LOW_SPEED_* would average over a window instead. */
static int watch_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	struct wctx *w = arg;
	if (atomic_load(w->stop)) {
		w->rc = SKY_ESTOPPED;
		return 1;
	}
	if (now_ms() - w->last_byte_ms >= w->idle_ms) {
		w->rc = SKY_ETIMEDOUT;
		return 1;
	}
	return 0;
}

int kapi_watch(struct kapi *k, const char *path, const char *rv, int timeout_s, int idle_s,
	       kapi_event_cb cb, void *arg, const atomic_bool *stop, int *garbage, char *err,
	       size_t errcap)
{
	char url[4096];
	char *erv = curl_easy_escape(NULL, rv, 0);
	if (!erv)
		return SKY_ENOMEM;
	int n = snprintf(url, sizeof url, "%s%s?watch=1&resourceVersion=%s&allowWatchBookmarks=true&timeoutSeconds=%d",
		 k->cfg.server, path, erv, timeout_s);
	curl_free(erv);
	if (n < 0 || (size_t)n >= sizeof url)
		return SKY_ERANGE;
	struct req r;
	int rc = req_init(k, &r, url, err, errcap);
	if (rc) {
		req_done(&r);
		return rc;
	}
	struct wctx w = {.cb = cb, .arg = arg, .garbage = garbage, .err = err, .errcap = errcap,
			 .stop = stop, .h = r.h, .idle_ms = (long)idle_s * 1000, .last_byte_ms = now_ms()};
	watchbuf_init(&w.wb, WATCH_LINE_MAX);
	curl_easy_setopt(r.h, CURLOPT_WRITEFUNCTION, watch_write);
	curl_easy_setopt(r.h, CURLOPT_WRITEDATA, &w);
	curl_easy_setopt(r.h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(r.h, CURLOPT_XFERINFOFUNCTION, watch_progress);
	curl_easy_setopt(r.h, CURLOPT_XFERINFODATA, &w);
	CURLcode cc = curl_easy_perform(r.h);
	if (!w.status)
		curl_easy_getinfo(r.h, CURLINFO_RESPONSE_CODE, &w.status);
	if (w.rc == SKY_ETIMEDOUT)
		snprintf(err, errcap, "API %s%s: no byte for %ds", k->cfg.server, path, idle_s);
	if (w.rc) {
		rc = w.rc;
	} else if (cc != CURLE_OK) {
		rc = curl_fail(k, &r, cc, err, errcap);
		/* A connect timeout is a connection failure: SKY_ETIMEDOUT
		 * means a stalled stream only. */
		if (rc == SKY_ETIMEDOUT)
			rc = SKY_EIO;
	} else if (w.status != 200) {
		rc = http_fail(k, w.status, path, w.errbody.buf, err, errcap);
	}
	req_done(&r);
	watchbuf_free(&w.wb);
	free(w.errbody.buf);
	return rc;
}
