/* etcd.c - the transport half of the etcd client: members and failover,
 * TLS, v2 basic auth and the v3 token, plain requests on one reused easy
 * handle, long (watch) requests on a multi handle so a stop flag is honoured
 * within ~100 ms, plus the base64/JSON helpers both APIs need. The API
 * specifics live in etcd_v2.c and etcd_v3.c.
 */
#include "etcd_int.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "err.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_ALL); }

static char *dup_opt(const char *s)
{
	return (s && *s) ? strdup(s) : NULL;
}

void etcd_free(struct etcd_client *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->nmachines; i++) {
		free(c->machines[i]);
		free(c->shown[i]);
	}
	free(c->machines);
	free(c->shown);
	free(c->ca_cert);
	free(c->tls_pem);
	free(c->tls_key);
	free(c->username);
	free(c->password);
	free(c->token);
	free(c->fence_key);
	if (c->easy)
		curl_easy_cleanup(c->easy);
	free(c);
}

/* One URL of the list: RFC 3986 §3.2.1, userinfo ends at the last '@'
 * before the path. */
static size_t redact_one(const char *url, size_t len, char *out, size_t cap)
{
	const char *end = url + len, *host = url;
	for (const char *p = url; p + 3 <= end; p++)
		if (memcmp(p, "://", 3) == 0) {
			host = p + 3;
			break;
		}
	const char *at = NULL;
	for (const char *p = host; p < end && !strchr("/?#", *p); p++)
		if (*p == '@')
			at = p;
	int n = at ? snprintf(out, cap, "%.*s***%.*s", (int)(host - url), url, (int)(end - at), at)
		   : snprintf(out, cap, "%.*s", (int)len, url);
	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

void etcd_url_redact(const char *url, char *out, size_t cap)
{
	size_t used = 0;
	if (cap == 0)
		return;
	out[0] = '\0';
	for (const char *p = url;;) {
		size_t len = strcspn(p, ",");
		used += redact_one(p, len, out + used, cap - used);
		if (!p[len] || used + 1 >= cap)
			break;
		out[used++] = ',';
		out[used] = '\0';
		p += len + 1;
	}
}

static bool url_ok(const char *u)
{
	return u && (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0) &&
	       strlen(u) > 8;
}

int etcd_new(const struct etcd_opts *opts, struct etcd_client **out)
{
	*out = NULL;
	if (!opts || opts->nmachines <= 0 || !opts->machines)
		return SKY_EINVAL;
	for (int i = 0; i < opts->nmachines; i++)
		if (!url_ok(opts->machines[i]))
			return SKY_EINVAL;
	pthread_once(&curl_once, curl_init_once);
	struct etcd_client *c = calloc(1, sizeof *c);
	if (!c)
		return SKY_ENOMEM;
	c->machines = calloc((size_t)opts->nmachines, sizeof *c->machines);
	c->shown = calloc((size_t)opts->nmachines, sizeof *c->shown);
	if (!c->machines || !c->shown)
		goto nomem;
	for (int i = 0; i < opts->nmachines; i++) {
		/* A trailing slash would double up with the paths we append. */
		size_t n = strlen(opts->machines[i]);
		while (n > 0 && opts->machines[i][n - 1] == '/')
			n--;
		c->machines[i] = strndup(opts->machines[i], n);
		char shown[512];
		etcd_url_redact(c->machines[i] ? c->machines[i] : "", shown, sizeof shown);
		c->shown[i] = strdup(shown);
		c->nmachines++;
		if (!c->machines[i] || !c->shown[i])
			goto nomem;
	}
	c->v3 = opts->v3;
	c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 5000;
	c->txn_limit = ETCD_TXN_OPS;
	c->ca_cert = dup_opt(opts->ca_cert);
	c->tls_pem = dup_opt(opts->tls_pem);
	c->tls_key = dup_opt(opts->tls_key);
	c->username = dup_opt(opts->username);
	c->password = dup_opt(opts->password);
	c->easy = curl_easy_init();
	if (!c->easy)
		goto nomem;
	*out = c;
	return 0;
nomem:
	etcd_free(c);
	return SKY_ENOMEM;
}

const char *etcd_last_error(const struct etcd_client *c)
{
	return c->err[0] ? c->err : "no error";
}

void etcd_set_error(struct etcd_client *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ buffers */

int etcd_buf_add(struct etcd_buf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (!d)
			return SKY_ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

void etcd_buf_free(struct etcd_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof *b);
}

void etcd_resp_free(struct etcd_resp *r)
{
	etcd_buf_free(&r->body);
	r->status = 0;
	r->index = 0;
}

/* ------------------------------------------------------------ curl glue */

struct xfer {
	struct etcd_resp *r;
	int64_t last_rx_ms;
	bool oom;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct xfer *x = arg;
	x->last_rx_ms = mono_ms();
	if (etcd_buf_add(&x->r->body, p, sz * n) != 0) {
		x->oom = true;
		return 0;
	}
	return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = sz * n;
	static const char name[] = "X-Etcd-Index:", cid[] = "X-Etcd-Cluster-Id:";
	x->last_rx_ms = mono_ms();
	bool is_index = len > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0;
	bool is_cid = len > sizeof cid - 1 && strncasecmp(p, cid, sizeof cid - 1) == 0;
	if (is_index || is_cid) {
		char tmp[32];
		size_t skip = is_index ? sizeof name - 1 : sizeof cid - 1, vl = len - skip;
		if (vl >= sizeof tmp)
			vl = sizeof tmp - 1;
		memcpy(tmp, p + skip, vl);
		tmp[vl] = '\0';
		if (is_index)
			x->r->index = strtoull(tmp, NULL, 10);
		else
			x->r->cluster_id = strtoull(tmp, NULL, 16);
	}
	return len;
}

/* Configure h for one request to the current member. */
static int setup_handle(struct etcd_client *c, CURL *h, const char *method, const char *path,
			const char *body, struct curl_slist **hdrs, struct xfer *x, char *errbuf)
{
	char url[2048];
	if ((size_t)snprintf(url, sizeof url, "%s%s", c->machines[c->cur], path) >= sizeof url)
		return SKY_ERANGE;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 10L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 5L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->timeout_ms < 3000 ? c->timeout_ms : 3000));
	if (strcmp(method, "GET") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	*hdrs = curl_slist_append(*hdrs, "Expect:");
	if (body)
		*hdrs = curl_slist_append(*hdrs, c->v3 ? "Content-Type: application/json"
						       : "Content-Type: application/x-www-form-urlencoded");
	if (c->v3 && c->token && !c->in_auth) {
		/* The gateway wants the raw token, no "Bearer " (reliability.md §4). */
		char auth[1024];
		snprintf(auth, sizeof auth, "Authorization: %s", c->token);
		*hdrs = curl_slist_append(*hdrs, auth);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
	if (!c->v3 && c->username) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, c->username);
		curl_easy_setopt(h, CURLOPT_PASSWORD, c->password ? c->password : "");
	}
	if (c->ca_cert)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_cert);
	if (c->tls_pem)
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->tls_pem);
	if (c->tls_key)
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->tls_key);
	return 0;
}

static int map_curl(struct etcd_client *c, CURLcode cc, const char *errbuf)
{
	etcd_set_error(c, "%s: %s%s%s", c->shown[c->cur], curl_easy_strerror(cc),
		       errbuf[0] ? ": " : "", errbuf);
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		return SKY_ETIMEDOUT;
	case CURLE_OUT_OF_MEMORY:
		return SKY_ENOMEM;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_USE_SSL_FAILED:
		return SKY_ETLS;
	default:
		return SKY_EIO;
	}
}

static int perform_once(struct etcd_client *c, const char *method, const char *path,
			const char *body, struct etcd_resp *r)
{
	etcd_resp_free(r);
	CURL *h = c->easy;
	curl_easy_reset(h);
	struct curl_slist *hdrs = NULL;
	struct xfer x = { .r = r };
	char errbuf[CURL_ERROR_SIZE] = "";
	int rc = setup_handle(c, h, method, path, body, &hdrs, &x, errbuf);
	if (rc == 0) {
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
		CURLcode cc = curl_easy_perform(h);
		if (x.oom)
			rc = SKY_ENOMEM;
		else if (cc != CURLE_OK)
			rc = map_curl(c, cc, errbuf);
		else
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	}
	curl_slist_free_all(hdrs);
	return rc;
}

static bool want_reauth(struct etcd_client *c, long status)
{
	return status == 401 && c->v3 && c->username && !c->in_auth;
}

int etcd_request(struct etcd_client *c, const char *method, const char *path,
		 const char *body, struct etcd_resp *r)
{
	if (c->v3 && c->username && !c->token && !c->in_auth && !c->auth_off) {
		int rc = etcd_v3_authenticate(c);
		if (rc != 0)
			return rc;
	}
	int rc = SKY_EIO;
	bool reauthed = false;
	for (int tries = 0; tries < c->nmachines;) {
		c->requests++;
		rc = perform_once(c, method, path, body, r);
		if (rc == SKY_ENOMEM || rc == SKY_ERANGE)
			return rc;
		if (rc == 0 && want_reauth(c, r->status) && !reauthed) {
			/* Simple tokens expire after ~5 min: get a new one, once. */
			reauthed = true;
			free(c->token);
			c->token = NULL;
			c->auth_off = false;
			rc = etcd_v3_authenticate(c);
			if (rc != 0)
				return rc;
			continue;
		}
		if (rc == 0 && r->status < 500)
			return 0;
		if (rc == 0) {
			etcd_set_error(c, "%s: HTTP %ld", c->shown[c->cur], r->status);
			rc = SKY_EIO;
		}
		c->cur = (c->cur + 1) % c->nmachines;
		tries++;
	}
	return rc;
}

/* ------------------------------------------------------------ streams */

/* Hand complete lines (HTTP 200 only) to the callback, drop them. */
static int feed_lines(const struct etcd_stream *s, struct etcd_resp *r, bool final)
{
	struct etcd_buf *b = &r->body;
	size_t off = 0;
	int rc = 0;
	while (rc == 0 && off < b->len) {
		char *nl = memchr(b->data + off, '\n', b->len - off);
		size_t end = nl ? (size_t)(nl - b->data) : (final ? b->len : off);
		if (end == off && !nl)
			break;
		size_t n = end - off;
		while (n > 0 && (b->data[off + n - 1] == '\r' || b->data[off + n - 1] == ' '))
			n--;
		if (n > 0)
			rc = s->line(s->arg, b->data + off, n);
		off = nl ? end + 1 : end;
	}
	if (off > 0) {
		memmove(b->data, b->data + off, b->len - off);
		b->len -= off;
		b->data[b->len] = '\0';
	}
	return rc;
}

static int stream_once(struct etcd_client *c, const struct etcd_stream *s, struct etcd_resp *r,
		       bool *got_bytes)
{
	etcd_resp_free(r);
	CURL *h = curl_easy_init();
	CURLM *m = curl_multi_init();
	struct curl_slist *hdrs = NULL;
	struct xfer x = { .r = r, .last_rx_ms = mono_ms() };
	char errbuf[CURL_ERROR_SIZE] = "";
	int rc = (h && m) ? setup_handle(c, h, s->method, s->path, s->body, &hdrs, &x, errbuf)
			  : SKY_ENOMEM;
	if (rc == 0 && curl_multi_add_handle(m, h) != CURLM_OK)
		rc = SKY_ENOMEM;
	int running = 1;
	while (rc == 0 && running) {
		if (s->stop && __atomic_load_n(s->stop, __ATOMIC_ACQUIRE)) {
			rc = SKY_ESTOPPED;
			break;
		}
		if (curl_multi_perform(m, &running) != CURLM_OK) {
			rc = SKY_EIO;
			break;
		}
		if (x.oom) {
			rc = SKY_ENOMEM;
			break;
		}
		long status = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		r->status = status;
		if (status != 0)
			*got_bytes = true;
		if (s->line && status == 200 && (rc = feed_lines(s, r, false)) != 0)
			break;
		if (!running)
			break;
		if (mono_ms() - x.last_rx_ms > s->idle_ms) {
			etcd_set_error(c, "%s: no data for %d ms", c->shown[c->cur], s->idle_ms);
			rc = SKY_ETIMEDOUT;
			break;
		}
		curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	if (rc == 0) {
		int left;
		CURLMsg *msg;
		while ((msg = curl_multi_info_read(m, &left)))
			if (msg->msg == CURLMSG_DONE && msg->data.result != CURLE_OK)
				rc = map_curl(c, msg->data.result, errbuf);
	}
	/* A last line without '\n' counts only if the response ended cleanly. */
	if (rc == 0 && s->line && r->status == 200)
		rc = feed_lines(s, r, true);
	if (m && h)
		curl_multi_remove_handle(m, h);
	if (h)
		curl_easy_cleanup(h);
	if (m)
		curl_multi_cleanup(m);
	curl_slist_free_all(hdrs);
	return rc;
}

int etcd_stream_run(struct etcd_client *c, const struct etcd_stream *s, struct etcd_resp *r)
{
	int rc = SKY_EIO;
	for (int tries = 0; tries < c->nmachines; tries++) {
		bool got = false;
		rc = stream_once(c, s, r, &got);
		if (rc == 0 && r->status >= 500) {
			etcd_set_error(c, "%s: HTTP %ld", c->shown[c->cur], r->status);
			rc = SKY_EIO;
			got = false;
		}
		if (rc == 0 || rc == SKY_ESTOPPED || rc == SKY_ENOMEM || got ||
		    (rc != SKY_EIO && rc != SKY_ETLS && rc != SKY_ETIMEDOUT)) {
			/* A stream that broke after answering: next time, try the
			 * next member. An idle one (ETIMEDOUT) answered; keep it. */
			if (rc == SKY_EIO)
				c->cur = (c->cur + 1) % c->nmachines;
			return rc;
		}
		/* Nothing came back from this member: try the next one now. */
		c->cur = (c->cur + 1) % c->nmachines;
	}
	return rc;
}

/* ------------------------------------------------------------ base64 */

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *etcd_b64_encode(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)u[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)u[i + 1] << 8;
		if (i + 2 < n)
			v |= u[i + 2];
		*o++ = b64chars[(v >> 18) & 63];
		*o++ = b64chars[(v >> 12) & 63];
		*o++ = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? b64chars[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

static int b64val(unsigned char ch)
{
	const char *p = ch ? strchr(b64chars, ch) : NULL;
	return p ? (int)(p - b64chars) : -1;
}

int etcd_b64_decode(const char *s, size_t n, char **out, size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	while (n > 0 && s[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return SKY_EPARSE;
	char *d = malloc(n / 4 * 3 + 3 + 1);
	if (!d)
		return SKY_ENOMEM;
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64val((unsigned char)s[i]);
		if (v < 0) {
			free(d);
			return SKY_EPARSE;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			d[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	d[o] = '\0';
	*out = d;
	*outlen = o;
	return 0;
}

/* ------------------------------------------------------------ JSON */

uint64_t etcd_cluster_id(const struct etcd_client *c)
{
	return c->cluster_id;
}

int64_t etcd_json_int(const cJSON *obj, const char *name, int64_t def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	/* A number outside int64 is no revision or TTL (and converting it would
	 * be undefined behaviour): treat it as absent, as an unparsable string. */
	if (cJSON_IsNumber(v))
		return v->valuedouble >= -0x1p63 && v->valuedouble < 0x1p63 ? (int64_t)v->valuedouble
									      : def;
	if (cJSON_IsString(v) && v->valuestring[0]) {
		char *end;
		errno = 0;
		long long n = strtoll(v->valuestring, &end, 10);
		if (*end == '\0' && errno == 0)
			return n;
	}
	return def;
}

const char *etcd_json_str(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool etcd_json_true(const cJSON *obj, const char *name)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, name));
}

/* ------------------------------------------------------------ dispatch */

/* "/skydns/" and "/skydns" name the same directory: copy without the
 * trailing slashes. */
static int trim_prefix(const char *prefix, char *out, size_t cap)
{
	size_t n = strlen(prefix);
	while (n > 0 && prefix[n - 1] == '/')
		n--;
	if (n >= cap)
		return SKY_ERANGE;
	memcpy(out, prefix, n);
	out[n] = '\0';
	return SKY_OK;
}

int etcd_get_prefix(struct etcd_client *c, const char *prefix, etcd_kv_cb cb, void *arg,
		    uint64_t *revision)
{
	char p[1024];
	if (trim_prefix(prefix, p, sizeof p) < 0)
		return SKY_ERANGE;
	return c->v3 ? etcd_v3_get_prefix(c, p, cb, arg, revision)
		     : etcd_v2_get_prefix(c, p, cb, arg, revision);
}

int etcd_get_kv(struct etcd_client *c, const char *key, etcd_kv_cb cb, void *arg)
{
	return c->v3 ? etcd_v3_get_kv(c, key, cb, arg) : etcd_v2_get_kv(c, key, cb, arg);
}

int etcd_get(struct etcd_client *c, const char *key, char **value, uint64_t *mod_revision)
{
	*value = NULL;
	return c->v3 ? etcd_v3_get(c, key, value, mod_revision)
		     : etcd_v2_get(c, key, value, mod_revision);
}

int etcd_put(struct etcd_client *c, const char *key, const char *value, unsigned ttl)
{
	return c->v3 ? etcd_v3_put(c, key, value, ttl) : etcd_v2_put(c, key, value, ttl);
}

int etcd_delete(struct etcd_client *c, const char *key)
{
	return c->v3 ? etcd_v3_delete(c, key) : etcd_v2_delete(c, key);
}

int etcd_batch(struct etcd_client *c, const struct etcd_op *ops, size_t n, size_t *done)
{
	*done = 0;
	for (size_t i = 0; i < n; i++)
		if (ops[i].below)
			return SKY_EINVAL; /* a range delete split over txns would not be one */
	if (c->v3)
		return etcd_v3_batch(c, ops, n, done);
	int rc = 0;
	for (*done = 0; *done < n && !rc; (*done) += !rc) {
		const struct etcd_op *op = &ops[*done];
		rc = op->value ? etcd_v2_put(c, op->key, op->value, 0) : etcd_v2_delete(c, op->key);
	}
	return rc;
}

int etcd_txn(struct etcd_client *c, const struct etcd_cmp *cmps, size_t ncmp,
	     const struct etcd_op *ops, size_t nops, uint64_t *revision)
{
	if (!c->v3) {
		/* v2 has compare-and-swap per key only (prevIndex/prevExist), never
		 * over several keys: no emulation that would pass for atomic. */
		etcd_set_error(c, "etcd v2 has no transactions");
		return SKY_ENOTSUP;
	}
	return etcd_v3_txn(c, cmps, ncmp, ops, nops, revision);
}

int etcd_set_fence(struct etcd_client *c, const char *key, uint64_t lease)
{
	if (!c->v3)
		return key ? SKY_ENOTSUP : 0;
	char *k = key ? strdup(key) : NULL;
	if (key && !k)
		return SKY_ENOMEM;
	free(c->fence_key);
	c->fence_key = k;
	c->fence_lease = key ? lease : 0;
	return 0;
}

int etcd_txn_limit(const struct etcd_client *c)
{
	return c->txn_limit;
}

unsigned long etcd_request_count(const struct etcd_client *c)
{
	return c->requests;
}

int etcd_delete_dir(struct etcd_client *c, const char *key, bool recursive)
{
	return c->v3 ? 0 : etcd_v2_delete_dir(c, key, recursive);
}

int etcd_watch(struct etcd_client *c, const char *prefix, uint64_t after_revision,
	       etcd_event_cb cb, void *arg, volatile bool *stop, uint64_t *last_revision)
{
	char p[1024];
	if (trim_prefix(prefix, p, sizeof p) < 0)
		return SKY_ERANGE;
	*last_revision = after_revision;
	return c->v3 ? etcd_v3_watch(c, p, after_revision, cb, arg, stop, last_revision)
		     : etcd_v2_watch(c, p, after_revision, cb, arg, stop, last_revision);
}
