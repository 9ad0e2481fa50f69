/* msg.c - SkyDNS service JSON and the name <-> etcd key mapping.
 *
 * Decoding follows Go's encoding/json as SkyDNS used it (msg/service.go):
 * object keys match struct fields case-insensitively, unknown keys are
 * ignored, a JSON null leaves the field alone, and a value of the wrong JSON
 * type fails the whole value (SkyDNS issues #172, #204). We are stricter than
 * Go only where the struct cannot hold the value: a port outside 0..65535 or
 * a number that does not fit the field.
 */
#include "msg.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"

enum fkind { F_STR, F_BOOL, F_INT };

/* One table drives decoding, encoding and the error texts. */
struct field {
	const char *name;
	enum fkind kind;
	size_t off;
	double min, max;     /* F_INT: accepted range */
	const char *why_type;
	const char *why_range;
};

#define WHY_T(n, t) "field \"" n "\": not a " t
#define WHY_R(n, r) "field \"" n "\": out of range " r

static const struct field fields[] = {
	{ "host", F_STR, offsetof(struct service, host), 0, 0, WHY_T("host", "string"), NULL },
	{ "port", F_INT, offsetof(struct service, port), 0, 65535, WHY_T("port", "number"),
	  WHY_R("port", "0..65535") },
	{ "priority", F_INT, offsetof(struct service, priority), INT32_MIN, INT32_MAX,
	  WHY_T("priority", "number"), WHY_R("priority", "(32-bit integer)") },
	{ "weight", F_INT, offsetof(struct service, weight), INT32_MIN, INT32_MAX,
	  WHY_T("weight", "number"), WHY_R("weight", "(32-bit integer)") },
	{ "text", F_STR, offsetof(struct service, text), 0, 0, WHY_T("text", "string"), NULL },
	{ "mail", F_BOOL, offsetof(struct service, mail), 0, 0, WHY_T("mail", "boolean"), NULL },
	{ "ttl", F_INT, offsetof(struct service, ttl), 0, UINT32_MAX, WHY_T("ttl", "number"),
	  WHY_R("ttl", "0..4294967295") },
	{ "targetstrip", F_INT, offsetof(struct service, targetstrip), INT32_MIN, INT32_MAX,
	  WHY_T("targetstrip", "number"), WHY_R("targetstrip", "(32-bit integer)") },
	{ "group", F_STR, offsetof(struct service, group), 0, 0, WHY_T("group", "string"), NULL },
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static void set_int(struct service *s, const struct field *f, double v)
{
	void *p = (char *)s + f->off;
	if (f->off == offsetof(struct service, port))
		*(uint16_t *)p = (uint16_t)v;
	else if (f->off == offsetof(struct service, ttl))
		*(uint32_t *)p = (uint32_t)v;
	else
		*(int32_t *)p = (int32_t)v;
}

static int64_t get_int(const struct service *s, const struct field *f)
{
	const void *p = (const char *)s + f->off;
	if (f->off == offsetof(struct service, port))
		return *(const uint16_t *)p;
	if (f->off == offsetof(struct service, ttl))
		return *(const uint32_t *)p;
	return *(const int32_t *)p;
}

/* Store one JSON member into its field; *why set on error. */
static int decode_field(struct service *s, const struct field *f, const cJSON *v,
			const char **why)
{
	if (cJSON_IsNull(v))
		return 0; /* Go: null into a non-pointer field is a no-op */
	switch (f->kind) {
	case F_STR: {
		if (!cJSON_IsString(v)) {
			*why = f->why_type;
			return SKY_EPARSE;
		}
		char *dup = strdup(v->valuestring);
		if (!dup) {
			*why = "out of memory";
			return SKY_ENOMEM;
		}
		char **slot = (char **)((char *)s + f->off);
		free(*slot);
		*slot = dup;
		return 0;
	}
	case F_BOOL:
		if (!cJSON_IsBool(v)) {
			*why = f->why_type;
			return SKY_EPARSE;
		}
		*(bool *)((char *)s + f->off) = cJSON_IsTrue(v);
		return 0;
	case F_INT:
		if (!cJSON_IsNumber(v)) {
			*why = f->why_type;
			return SKY_EPARSE;
		}
		/* Go refuses 1.5 for an int field ("cannot unmarshal number"). */
		if (v->valuedouble != floor(v->valuedouble) || v->valuedouble < f->min ||
		    v->valuedouble > f->max) {
			*why = f->why_range;
			return SKY_EPARSE;
		}
		set_int(s, f, v->valuedouble);
		return 0;
	}
	return SKY_EINVAL;
}

int msg_service_parse(const char *json, size_t len, struct service *out, const char **why)
{
	return msg_service_parse_ex(json, len, out, why, NULL, 0);
}

int msg_service_parse_ex(const char *json, size_t len, struct service *out, const char **why,
			 char *unknown, size_t cap)
{
	const char *dummy;
	if (unknown && cap)
		unknown[0] = '\0';
	if (!why)
		why = &dummy;
	memset(out, 0, sizeof(*out));
	cJSON *root = cJSON_ParseWithLength(json, len);
	if (!root) {
		*why = "invalid JSON";
		return SKY_EPARSE;
	}
	int rc = 0;
	if (!cJSON_IsObject(root)) {
		*why = "not a JSON object";
		rc = SKY_EPARSE;
	}
	for (const cJSON *m = root->child; rc == 0 && m && cJSON_IsObject(root); m = m->next) {
		size_t i = 0;
		for (; i < NFIELDS; i++) {
			if (m->string && strcasecmp(m->string, fields[i].name) == 0) {
				rc = decode_field(out, &fields[i], m, why);
				break;
			}
		}
		if (i == NFIELDS && unknown && cap && !unknown[0] && m->string)
			snprintf(unknown, cap, "%s", m->string);
	}
	cJSON_Delete(root);
	if (rc != 0)
		msg_service_clear(out);
	return rc;
}

char *msg_service_json(const struct service *svc)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	bool ok = true;
	for (size_t i = 0; i < NFIELDS && ok; i++) {
		const struct field *f = &fields[i];
		const void *p = (const char *)svc + f->off;
		switch (f->kind) {
		case F_STR: {
			const char *str = *(char *const *)p;
			/* SkyDNS tags are omitempty; host is kept so the value is never "{}". */
			if ((str && *str) || i == 0)
				ok = cJSON_AddStringToObject(o, f->name, str ? str : "") != NULL;
			break;
		}
		case F_BOOL:
			if (*(const bool *)p)
				ok = cJSON_AddTrueToObject(o, f->name) != NULL;
			break;
		case F_INT: {
			int64_t v = get_int(svc, f);
			if (v != 0)
				ok = cJSON_AddNumberToObject(o, f->name, (double)v) != NULL;
			break;
		}
		}
	}
	char *s = ok ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	if (!s)
		return NULL;
	/* cJSON allocates with its hooks (malloc by default); hand back a
	 * malloc'd copy so callers can free() it whatever the hooks are. */
	char *copy = strdup(s);
	cJSON_free(s);
	return copy;
}

int msg_service_copy(struct service *dst, const struct service *src)
{
	*dst = *src;
	dst->host = dst->text = dst->group = NULL;
	if ((src->host && !(dst->host = strdup(src->host))) ||
	    (src->text && !(dst->text = strdup(src->text))) ||
	    (src->group && !(dst->group = strdup(src->group)))) {
		msg_service_clear(dst);
		return SKY_ENOMEM;
	}
	return 0;
}

void msg_service_clear(struct service *svc)
{
	free(svc->host);
	free(svc->text);
	free(svc->group);
	memset(svc, 0, sizeof(*svc));
}

static bool str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

bool msg_service_equal(const struct service *a, const struct service *b)
{
	return str_eq(a->host, b->host) && a->port == b->port && a->priority == b->priority &&
	       a->weight == b->weight && str_eq(a->text, b->text) && a->mail == b->mail &&
	       a->ttl == b->ttl && a->targetstrip == b->targetstrip && str_eq(a->group, b->group);
}

/* Length of the label starting at s (stops at an unescaped '.'; "\." and
 * "\DDD" stay inside the label as text, as in miekg/dns presentation). */
static size_t label_len(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && s[i] != '.') {
		if (s[i] == '\\' && i + 1 < n)
			i++;
		i++;
	}
	return i;
}

/* Append src to out with Go's path.Join cleaning: no empty elements, so a
 * '/' inside a label adds a level and "//" collapses. */
static int path_append(char *out, size_t cap, size_t *pos, const char *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = src[i];
		if (c == '/' && (*pos == 0 || out[*pos - 1] == '/'))
			continue;
		if (*pos + 1 >= cap)
			return SKY_ERANGE;
		out[(*pos)++] = (char)tolower((unsigned char)c);
	}
	return 0;
}

int msg_name_to_path(const char *name, char *out, size_t cap)
{
	/* A wire name has at most 127 labels; presentation text may hold more
	 * empty ones ("a..b"), which are dropped like path.Join drops them. */
	enum { MAXLABELS = 256 };
	uint16_t start[MAXLABELS], len[MAXLABELS];
	size_t n = strlen(name), nl = 0;
	if (cap == 0 || n >= MSG_NAME_MAX)
		return SKY_ERANGE;
	for (size_t i = 0; i < n;) {
		size_t l = label_len(name + i, n - i);
		if (l > 0) {
			if (nl == MAXLABELS)
				return SKY_ERANGE;
			start[nl] = (uint16_t)i;
			len[nl++] = (uint16_t)l;
		}
		i += l + 1; /* the trailing dot ends the last label */
	}
	size_t pos = 0;
	for (size_t k = nl; k-- > 0;) {
		if (pos > 0 && out[pos - 1] != '/') {
			if (pos + 1 >= cap)
				return SKY_ERANGE;
			out[pos++] = '/';
		}
		if (path_append(out, cap, &pos, name + start[k], len[k]) != 0)
			return SKY_ERANGE;
	}
	while (pos > 0 && out[pos - 1] == '/')
		pos--;
	out[pos] = '\0';
	return (int)pos;
}

int msg_path_to_name(const char *path, size_t pathlen, char *out, size_t cap)
{
	size_t pos = 0;
	size_t end = pathlen;
	while (end > 0) {
		size_t start = end;
		while (start > 0 && path[start - 1] != '/')
			start--;
		size_t llen = end - start;
		if (llen > 0) {
			if (pos + llen + 1 >= cap)
				return SKY_ERANGE;
			memcpy(out + pos, path + start, llen);
			pos += llen;
			out[pos++] = '.';
		}
		end = start > 0 ? start - 1 : 0;
	}
	if (pos == 0) {
		if (cap < 2)
			return SKY_ERANGE;
		out[pos++] = '.';
	}
	out[pos] = '\0';
	return (int)pos;
}

const char *msg_prefix_trim(const char *prefix, size_t *len)
{
	while (*prefix == '/')
		prefix++;
	size_t n = strlen(prefix);
	while (n > 0 && prefix[n - 1] == '/')
		n--;
	*len = n;
	return prefix;
}

int msg_name_to_key(const char *prefix, const char *name, char *out, size_t cap)
{
	size_t plen;
	prefix = msg_prefix_trim(prefix, &plen);
	if (plen + 2 >= cap)
		return SKY_ERANGE;
	out[0] = '/';
	memcpy(out + 1, prefix, plen);
	size_t pos = plen + 1;
	out[pos] = '\0';
	int n = msg_name_to_path(name, out + pos + 1, cap - pos - 1);
	if (n < 0)
		return n;
	if (n == 0)
		return (int)pos; /* the root: "/skydns" as path.Join gives */
	out[pos] = '/';
	return (int)pos + 1 + n;
}

const char *msg_key_to_path(const char *prefix, const char *key)
{
	size_t plen;
	prefix = msg_prefix_trim(prefix, &plen);
	while (*key == '/')
		key++;
	if (strncmp(key, prefix, plen) != 0)
		return NULL;
	key += plen;
	if (*key == '\0')
		return key;
	if (*key != '/' && plen > 0)
		return NULL; /* "/skydnsx/a" is not under "skydns" */
	while (*key == '/')
		key++;
	return key;
}

/* Dotted-quad as Go's net.ParseIP (since Go 1.17): exactly four decimal
 * fields 0..255, no leading zeros. */
static bool parse_v4(const char *s, uint8_t out[4])
{
	for (int i = 0; i < 4; i++) {
		if (i > 0 && *s++ != '.')
			return false;
		if (!isdigit((unsigned char)*s))
			return false;
		unsigned v = 0;
		int digits = 0;
		const char *start = s;
		while (isdigit((unsigned char)*s)) {
			v = v * 10 + (unsigned)(*s++ - '0');
			if (++digits > 3)
				return false;
		}
		if (v > 255 || (digits > 1 && *start == '0'))
			return false;
		out[i] = (uint8_t)v;
	}
	return *s == '\0';
}

int msg_parse_ip(const char *s, uint8_t out[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	uint8_t buf[16];
	if (!s)
		return 0;
	if (parse_v4(s, buf)) {
		memcpy(out, buf, 4);
		return 4;
	}
	if (!strchr(s, ':') || inet_pton(AF_INET6, s, buf) != 1)
		return 0;
	if (memcmp(buf, mapped, sizeof(mapped)) == 0) {
		memcpy(out, buf + 12, 4);
		return 4;
	}
	memcpy(out, buf, 16);
	return 6;
}

uint32_t msg_label_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

