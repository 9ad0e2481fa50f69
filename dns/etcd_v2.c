/* etcd_v2.c - the etcd v2 keys API (/v2/keys): recursive GET flattened to
 * leaves, one-event-per-request long-poll watches, put and delete.
 * Shapes: reliability.md §4 (etcd 3.4 with --enable-v2).
 */
#include "etcd_int.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"

/* A v2 wait sends its headers at once and then nothing until an event:
 * re-issue it after this long so a silently dead member is noticed. */
#define V2_WATCH_IDLE_MS 60000
#define V2_MAX_DEPTH 64

/* "/v2/keys" + key with every byte outside the URL-safe set %-escaped. */
static int v2_path(const char *key, const char *query, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = (size_t)snprintf(out, cap, "/v2/keys");
	if (key[0] != '/' && o + 1 < cap)
		out[o++] = '/';
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		if (o + 4 >= cap)
			return SKY_ERANGE;
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~/", *p)) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if ((size_t)snprintf(out + o, cap - o, "%s", query ? query : "") >= cap - o)
		return SKY_ERANGE;
	return 0;
}

/* RFC 3339 ("2026-11-22T04:50:00.123456789Z", or with +hh:mm) -> unix
 * seconds, rounded down so a record never outlives its key. 0 if bad. */
static int64_t parse_rfc3339(const char *s)
{
	struct tm tm = { 0 };
	int n = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	int64_t t = (int64_t)timegm(&tm);
	const char *p = s + n;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	int oh, om;
	if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &oh, &om) == 2)
		t -= (*p == '+' ? 1 : -1) * (int64_t)(oh * 3600 + om * 60);
	else if (*p != 'Z' && *p != 'z')
		return 0;
	return t;
}

static int64_t node_expires(const cJSON *node, int64_t now)
{
	const char *exp = etcd_json_str(node, "expiration");
	int64_t t = exp ? parse_rfc3339(exp) : 0;
	if (t > 0)
		return t;
	int64_t ttl = etcd_json_int(node, "ttl", 0);
	return ttl > 0 ? now + ttl : 0;
}

/* Leaves of a (possibly nested) node. A directory's TTL bounds its
 * children's: they vanish with it. */
static int flatten(const cJSON *node, int64_t inherited, etcd_kv_cb cb, void *arg, int64_t now,
		   int depth)
{
	if (!cJSON_IsObject(node) || depth > V2_MAX_DEPTH)
		return SKY_EPARSE;
	int64_t exp = node_expires(node, now);
	if (inherited && (!exp || inherited < exp))
		exp = inherited;
	if (etcd_json_true(node, "dir")) {
		const cJSON *child;
		cJSON_ArrayForEach(child, cJSON_GetObjectItemCaseSensitive(node, "nodes"))
		{
			int rc = flatten(child, exp, cb, arg, now, depth + 1);
			if (rc != 0)
				return rc;
		}
		return 0;
	}
	const char *key = etcd_json_str(node, "key");
	const char *value = etcd_json_str(node, "value");
	if (!key)
		return SKY_EPARSE;
	if (!value)
		value = "";
	struct etcd_kv kv = {
		.key = key,
		.value = value,
		.value_len = strlen(value),
		.expires = exp,
		.mod_revision = (uint64_t)etcd_json_int(node, "modifiedIndex", 0),
	};
	return cb(arg, &kv);
}

static int v2_error_code(const cJSON *root)
{
	int64_t code = etcd_json_int(root, "errorCode", 0);
	if (code == 100)
		return SKY_ENOTFOUND;
	if (code == 401)
		return SKY_ECOMPACTED; /* "The event in requested index is outdated and cleared" */
	if (code == 110)
		return SKY_EAUTH;
	return code ? SKY_EPROTO : 0;
}

int etcd_parse_v2_node(const char *body, size_t len, etcd_kv_cb cb, void *arg, int64_t now)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return SKY_EPARSE;
	}
	int rc = v2_error_code(root);
	if (rc == 0) {
		const cJSON *node = cJSON_GetObjectItemCaseSensitive(root, "node");
		rc = flatten(node ? node : root, 0, cb, arg, now, 0);
	}
	cJSON_Delete(root);
	return rc;
}

static bool is_delete_action(const char *a)
{
	static const char *const dels[] = { "delete", "expire", "compareAndDelete" };
	for (size_t i = 0; i < sizeof dels / sizeof dels[0]; i++)
		if (strcmp(a, dels[i]) == 0)
			return true;
	return false;
}

int etcd_parse_v2_watch(const char *body, size_t len, etcd_event_cb cb, void *arg,
			uint64_t *index, int64_t now)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return SKY_EPARSE;
	}
	int rc = v2_error_code(root);
	const char *action = etcd_json_str(root, "action");
	const cJSON *node = cJSON_GetObjectItemCaseSensitive(root, "node");
	const char *key = etcd_json_str(node, "key");
	if (rc == 0 && (!action || !key))
		rc = SKY_EPARSE;
	if (rc != 0)
		goto out;
	uint64_t mi = (uint64_t)etcd_json_int(node, "modifiedIndex", 0);
	if (mi > *index)
		*index = mi;
	struct etcd_event ev = { .kv = { .key = key, .mod_revision = mi } };
	if (is_delete_action(action)) {
		/* For a directory this means everything below it is gone. */
		ev.type = ETCD_EV_DELETE;
		rc = cb(arg, &ev, true);
	} else if (!etcd_json_true(node, "dir")) {
		const char *value = etcd_json_str(node, "value");
		ev.type = ETCD_EV_PUT;
		ev.kv.value = value ? value : "";
		ev.kv.value_len = strlen(ev.kv.value);
		ev.kv.expires = node_expires(node, now);
		rc = cb(arg, &ev, true);
	}
out:
	cJSON_Delete(root);
	return rc;
}

bool etcd_v2_hidden(const char *prefix, const char *key)
{
	size_t n = strlen(prefix);
	while (n > 0 && prefix[n - 1] == '/')
		n--;
	if (strncmp(key, prefix, n) != 0 || (key[n] != '/' && key[n] != '\0'))
		return false; /* not below prefix: etcd shows it (a parent's delete) */
	return strstr(key + n, "/_") != NULL;
}

/* What etcd v2 shows of `prefix` depends on how it is asked: a recursive GET
 * and a watch waiting for the next event both leave out hidden keys, but a
 * watch whose waitIndex is already in etcd's event history replays every
 * event, hidden ones included (v2store's notify checks isHidden, its history
 * scan does not). A mirror watching one event per request is sometimes
 * waiting and sometimes catching up, so it would see a hidden put and miss
 * its delete, or the reverse. Drop hidden keys on both paths so the answer is
 * the same whatever the timing. */
struct v2_visible {
	const char *prefix;
	void *arg;
	etcd_kv_cb kv_cb;
	etcd_event_cb ev_cb;
};

static int visible_kv(void *arg, const struct etcd_kv *kv)
{
	const struct v2_visible *v = arg;
	return etcd_v2_hidden(v->prefix, kv->key) ? 0 : v->kv_cb(v->arg, kv);
}

static int visible_event(void *arg, const struct etcd_event *ev, bool last)
{
	const struct v2_visible *v = arg;
	return etcd_v2_hidden(v->prefix, ev->kv.key) ? 0 : v->ev_cb(v->arg, ev, last);
}

static int v2_fail(struct etcd_client *c, const struct etcd_resp *r, const char *what)
{
	cJSON *root = cJSON_ParseWithLength(r->body.data ? r->body.data : "", r->body.len);
	const char *msg = etcd_json_str(root, "message");
	int rc = root ? v2_error_code(root) : 0;
	etcd_set_error(c, "%s %s: HTTP %ld%s%s", c->shown[c->cur], what, r->status,
		       msg ? ": " : "", msg ? msg : "");
	cJSON_Delete(root);
	if (rc == 0)
		rc = (r->status == 401 || r->status == 403) ? SKY_EAUTH : SKY_EPROTO;
	return rc;
}

int etcd_v2_get_prefix(struct etcd_client *c, const char *prefix, etcd_kv_cb cb, void *arg,
		       uint64_t *revision)
{
	char path[2048];
	int rc = v2_path(prefix, "?recursive=true", path, sizeof path);
	struct etcd_resp r = { 0 };
	if (rc == 0)
		rc = etcd_request(c, "GET", path, NULL, &r);
	if (rc != 0)
		goto out;
	*revision = r.index;
	if (r.cluster_id)
		c->cluster_id = r.cluster_id;
	if (r.status == 200) {
		struct v2_visible v = { .prefix = prefix, .arg = arg, .kv_cb = cb };
		rc = etcd_parse_v2_node(r.body.data ? r.body.data : "", r.body.len, visible_kv, &v,
					(int64_t)time(NULL));
		if (rc == SKY_EPARSE)
			etcd_set_error(c, "%s: unparsable v2 GET body", c->shown[c->cur]);
	} else {
		rc = v2_fail(c, &r, prefix);
		if (rc == SKY_ENOTFOUND)
			rc = 0; /* an empty tree */
		if (rc == 0 && !*revision) { /* no header: the error body has it */
			cJSON *root = cJSON_ParseWithLength(r.body.data, r.body.len);
			*revision = (uint64_t)etcd_json_int(root, "index", 0);
			cJSON_Delete(root);
		}
	}
out:
	etcd_resp_free(&r);
	return rc;
}

int etcd_v2_get_kv(struct etcd_client *c, const char *key, etcd_kv_cb cb, void *arg)
{
	char path[2048];
	int rc = v2_path(key, "?recursive=true", path, sizeof path);
	struct etcd_resp r = { 0 };
	if (rc == 0)
		rc = etcd_request(c, "GET", path, NULL, &r);
	if (rc == 0 && r.status != 200)
		rc = v2_fail(c, &r, key);
	if (rc == 0)
		rc = etcd_parse_v2_node(r.body.data ? r.body.data : "", r.body.len, cb, arg,
					(int64_t)time(NULL));
	etcd_resp_free(&r);
	return rc;
}

int etcd_v2_get(struct etcd_client *c, const char *key, char **value, uint64_t *mod_revision)
{
	char path[2048];
	int rc = v2_path(key, NULL, path, sizeof path);
	struct etcd_resp r = { 0 };
	if (rc == 0)
		rc = etcd_request(c, "GET", path, NULL, &r);
	if (rc == 0 && r.status != 200)
		rc = v2_fail(c, &r, key);
	if (rc == 0) {
		cJSON *root = cJSON_ParseWithLength(r.body.data, r.body.len);
		const cJSON *node = cJSON_GetObjectItemCaseSensitive(root, "node");
		const char *v = etcd_json_str(node, "value");
		if (!v)
			rc = etcd_json_true(node, "dir") ? SKY_EINVAL : SKY_EPARSE;
		else if (!(*value = strdup(v)))
			rc = SKY_ENOMEM;
		if (rc == 0 && mod_revision)
			*mod_revision = (uint64_t)etcd_json_int(node, "modifiedIndex", 0);
		cJSON_Delete(root);
	}
	etcd_resp_free(&r);
	return rc;
}

int etcd_v2_put(struct etcd_client *c, const char *key, const char *value, unsigned ttl)
{
	char path[2048];
	int rc = v2_path(key, NULL, path, sizeof path);
	if (rc != 0)
		return rc;
	char *esc = curl_easy_escape(c->easy, value, 0);
	if (!esc)
		return SKY_ENOMEM;
	char *body = NULL;
	int n = ttl ? asprintf(&body, "value=%s&ttl=%u", esc, ttl) : asprintf(&body, "value=%s", esc);
	curl_free(esc);
	if (n < 0)
		return SKY_ENOMEM;
	struct etcd_resp r = { 0 };
	rc = etcd_request(c, "PUT", path, body, &r);
	if (rc == 0 && r.status != 200 && r.status != 201)
		rc = v2_fail(c, &r, key);
	free(body);
	etcd_resp_free(&r);
	return rc;
}

int etcd_v2_delete(struct etcd_client *c, const char *key)
{
	char path[2048];
	int rc = v2_path(key, NULL, path, sizeof path);
	struct etcd_resp r = { 0 };
	if (rc == 0)
		rc = etcd_request(c, "DELETE", path, NULL, &r);
	if (rc == 0 && r.status == 403 && strstr(r.body.data ? r.body.data : "", "\"errorCode\":102")) {
		/* "Not a file": the key is a directory; remove it whole. */
		rc = v2_path(key, "?recursive=true", path, sizeof path);
		if (rc == 0)
			rc = etcd_request(c, "DELETE", path, NULL, &r);
	}
	if (rc == 0 && r.status != 200 && r.status != 202) {
		rc = v2_fail(c, &r, key);
		if (rc == SKY_ENOTFOUND)
			rc = 0;
	}
	etcd_resp_free(&r);
	return rc;
}

int etcd_v2_delete_dir(struct etcd_client *c, const char *key, bool recursive)
{
	char path[2048];
	int rc = v2_path(key, recursive ? "?dir=true&recursive=true" : "?dir=true", path, sizeof path);
	struct etcd_resp r = { 0 };
	if (rc == 0)
		rc = etcd_request(c, "DELETE", path, NULL, &r);
	if (rc == 0 && r.status != 200 && r.status != 202) {
		rc = v2_fail(c, &r, key);
		/* 100 key not found, 108 directory not empty: nothing to tidy. */
		cJSON *root = cJSON_ParseWithLength(r.body.data ? r.body.data : "", r.body.len);
		int64_t code = etcd_json_int(root, "errorCode", 0);
		cJSON_Delete(root);
		if (code == 100 || code == 108)
			rc = 0;
	}
	etcd_resp_free(&r);
	return rc;
}

int etcd_v2_watch(struct etcd_client *c, const char *prefix, uint64_t after, etcd_event_cb cb,
		  void *arg, volatile bool *stop, uint64_t *last)
{
	struct etcd_resp r = { 0 };
	int rc = 0;
	(void)after;
	while (rc == 0) {
		char q[96], path[2048];
		snprintf(q, sizeof q, "?wait=true&recursive=true&waitIndex=%" PRIu64, *last + 1);
		if ((rc = v2_path(prefix, q, path, sizeof path)) != 0)
			break;
		struct etcd_stream s = {
			.method = "GET", .path = path, .stop = stop, .idle_ms = V2_WATCH_IDLE_MS,
		};
		rc = etcd_stream_run(c, &s, &r);
		if (rc == SKY_ETIMEDOUT && r.status == 200) {
			/* The wait was registered at X-Etcd-Index and saw no event up to
			 * now, so nothing under prefix changed in (last, index]: resume
			 * after it, which keeps us inside v2's 1000-event window. */
			if (r.index > *last)
				*last = r.index;
			rc = 0;
			continue;
		}
		if (rc != 0)
			break;
		if (r.status == 200 && r.body.len == 0) {
			etcd_set_error(c, "%s: watch ended without an event", c->shown[c->cur]);
			rc = SKY_EIO;
		} else if (r.status == 200) {
			struct v2_visible v = { .prefix = prefix, .arg = arg, .ev_cb = cb };
			rc = etcd_parse_v2_watch(r.body.data, r.body.len, visible_event, &v, last,
						 (int64_t)time(NULL));
			if (rc == SKY_EPARSE)
				etcd_set_error(c, "%s: unparsable v2 watch event", c->shown[c->cur]);
		} else {
			rc = v2_fail(c, &r, "watch");
		}
	}
	etcd_resp_free(&r);
	return rc;
}
