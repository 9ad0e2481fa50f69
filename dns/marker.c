/* marker.c - build and parse kube2sky's zone marker (see marker.h).
 *
 * Both ends link this file, so the format lives in one place. The zone is
 * checked as a host name (letters, digits, '-', '_' in 1-63 byte labels):
 * kube2sky's --domain is one, and skydns must not take a stray key for a
 * zone it then answers differently in.
 */
#include "marker.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "msg.h"

/* Length of zone without its trailing dot if it is an absolute host name,
 * else 0. Upper case is allowed here; callers lower-case. */
static size_t zone_len(const char *zone)
{
	size_t n = strlen(zone), label = 0;
	if (n < 2 || n >= MSG_NAME_MAX || zone[n - 1] != '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)zone[i];
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return n - 1;
}

static bool is_hex_id(const char *id)
{
	size_t n = strlen(id);
	if (n > MARKER_ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)id[i]))
			return false;
	return true;
}

int marker_key(const char *prefix, const char *zone, char *out, size_t cap)
{
	size_t plen, zl = zone_len(zone);
	if (!zl)
		return SKY_EINVAL;
	prefix = msg_prefix_trim(prefix, &plen);
	int n = snprintf(out, cap, "/%.*s/%s/", (int)plen, prefix, MARKER_DIR);
	if (n < 0 || (size_t)n + zl >= cap)
		return SKY_ERANGE;
	for (size_t i = 0; i < zl; i++)
		out[n + (int)i] = (char)tolower((unsigned char)zone[i]);
	out[n + (int)zl] = '\0';
	return n + (int)zl;
}

int marker_format(const struct marker *m, char *out, size_t cap)
{
	char zone[MSG_NAME_MAX];
	size_t zl = zone_len(m->zone);
	if (!zl || !is_hex_id(m->id))
		return SKY_EINVAL;
	for (size_t i = 0; i <= zl; i++)
		zone[i] = (char)tolower((unsigned char)m->zone[i]);
	zone[zl + 1] = '\0';
	if (strpbrk(m->schema, "\"\\"))
		return SKY_EINVAL;
	/* zone, id and schema hold no quote or backslash: nothing to escape */
	int n = snprintf(out, cap, "{\"zone\":\"%s\",\"schema\":\"%s\",\"synced\":%lld,\"id\":\"%s\"}",
			 zone, m->schema, (long long)m->synced, m->id);
	return n < 0 || (size_t)n >= cap ? SKY_ERANGE : n;
}

bool marker_is_path(const char *path)
{
	size_t n = strlen(MARKER_DIR);
	return strncmp(path, MARKER_DIR, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

bool marker_is_key(const char *path)
{
	size_t n = strlen(MARKER_DIR);
	return marker_is_path(path) && path[n] == '/' && path[n + 1] &&
	       !strchr(path + n + 1, '/');
}

int marker_leader_key(const char *prefix, const char *zone, char *out, size_t cap)
{
	int n = marker_key(prefix, zone, out, cap);
	if (n < 0)
		return n;
	if ((size_t)n + sizeof "/leader" > cap)
		return SKY_ERANGE;
	memcpy(out + n, "/leader", sizeof "/leader");
	return n + (int)sizeof "/leader" - 1;
}

/* Copy a string member into dst (cap bytes); absent is "". */
static int member_str(const cJSON *root, const char *name, char *dst, size_t cap)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);
	dst[0] = '\0';
	if (!v)
		return 0;
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap)
		return SKY_EPARSE;
	memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

static int fail(const char **why, const char *reason)
{
	*why = reason;
	return SKY_EPARSE;
}

static int parse_fields(const cJSON *root, const char *want, struct marker *out,
			const char **why)
{
	if (!cJSON_IsObject(root))
		return fail(why, "not a JSON object");
	if (member_str(root, "zone", out->zone, sizeof out->zone) || !zone_len(out->zone))
		return fail(why, "\"zone\" is not a domain name");
	for (char *p = out->zone; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	size_t zl = strlen(out->zone) - 1;
	if (strlen(want) != zl || strncmp(out->zone, want, zl) != 0)
		return fail(why, "\"zone\" does not match the key");
	if (member_str(root, "schema", out->schema, sizeof out->schema))
		return fail(why, "\"schema\" is not a short string");
	if (member_str(root, "id", out->id, sizeof out->id) || !is_hex_id(out->id))
		return fail(why, "\"id\" is not up to 16 hex digits");
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "synced");
	if (s && (!cJSON_IsNumber(s) || s->valuedouble < 0 || s->valuedouble > 9.0e15))
		return fail(why, "\"synced\" is not unix seconds");
	out->synced = s ? (int64_t)s->valuedouble : 0;
	return 0;
}

int marker_parse(const char *path, const char *json, size_t len, struct marker *out,
		 const char **why)
{
	char want[MSG_NAME_MAX];
	size_t dl = strlen(MARKER_DIR);
	memset(out, 0, sizeof *out);
	*why = NULL;
	if (!marker_is_path(path) || path[dl] != '/' || strlen(path + dl + 1) >= sizeof want ||
	    strchr(path + dl + 1, '/'))
		return fail(why, "not a marker key (kube2sky/<zone>)");
	size_t i = 0;
	for (const char *p = path + dl + 1; *p; p++)
		want[i++] = (char)tolower((unsigned char)*p);
	want[i] = '\0';
	cJSON *root = cJSON_ParseWithLength(json ? json : "", len);
	if (!root)
		return fail(why, "not JSON");
	int rc = parse_fields(root, want, out, why);
	cJSON_Delete(root);
	if (rc)
		memset(out, 0, sizeof *out);
	return rc;
}
