/* load_plan.c - load.h's plan: directory files -> etcd keys and values. */
#include "load.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "dname.h"
#include "err.h"
#include "msg.h"

const char *const load_files[] = { "records.json", "hosts", "stubDomains", "upstreamNameservers",
				   "config.json", NULL };

static int warn(struct load_plan *p, const char *fmt, ...)
{
	char buf[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	char **n = realloc(p->warn, (p->nwarn + 1) * sizeof *n);
	if (!n)
		return SKY_ENOMEM;
	p->warn = n;
	if (!(n[p->nwarn] = strdup(buf)))
		return SKY_ENOMEM;
	p->nwarn++;
	return 0;
}

static int add(struct load_plan *p, const char *key, const char *value)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;
		struct load_kv *n = realloc(p->kv, cap * sizeof *n);
		if (!n)
			return SKY_ENOMEM;
		p->kv = n;
		p->cap = cap;
	}
	char *k = strdup(key), *v = strdup(value);
	if (!k || !v) {
		free(k);
		free(v);
		return SKY_ENOMEM;
	}
	p->kv[p->n] = (struct load_kv){ k, v, p->n };
	p->n++;
	return 0;
}

static int name_abs(const struct load_opts *o, const char *in, char *out, const char **why)
{
	return dname_in_domain(o->domain, in, out, MSG_NAME_MAX, why) != 0 ? -1 : 0;
}

/* A record JSON that skydns will serve: parses, has a host or text that can
 * be answered. *why on failure. */
static bool record_ok(const char *json, const char **why)
{
	struct service s;
	if (msg_service_parse(json, strlen(json), &s, why) != 0)
		return false;
	bool ok = true;
	if (s.host && *s.host)
		ok = dname_check_host(s.host, why) == 0;
	else if (!s.text) {
		*why = "no \"host\" (or \"text\")";
		ok = false;
	}
	msg_service_clear(&s);
	return ok;
}

static int add_record(struct load_plan *p, const struct load_opts *o, const char *file,
		      const char *name, const cJSON *rec, bool child)
{
	char abs[MSG_NAME_MAX], key[MSG_NAME_MAX + 64];
	const char *why = NULL;
	if (name_abs(o, name, abs, &why) != 0)
		return warn(p, "%s: %s: %s", file, name, why);
	char *json = cJSON_PrintUnformatted(rec);
	if (!json)
		return SKY_ENOMEM;
	int rc = 0;
	if (!cJSON_IsObject(rec) || !record_ok(json, &why))
		rc = warn(p, "%s: %s: %s", file, name, cJSON_IsObject(rec) ? why : "not a JSON object");
	else if (msg_name_to_key(o->prefix, abs, key, MSG_NAME_MAX) < 0)
		rc = warn(p, "%s: %s: name too long", file, name);
	else {
		if (child)
			snprintf(key + strlen(key), 64, "/%x", msg_label_hash(json));
		rc = add(p, key, json);
	}
	cJSON_free(json);
	return rc;
}

static int plan_records(struct load_plan *p, const struct load_opts *o, const char *text,
			size_t len)
{
	cJSON *doc = cJSON_ParseWithLength(text, len);
	int rc = 0;
	if (!cJSON_IsObject(doc))
		rc = warn(p, "records.json: not a JSON object of name -> record(s)");
	for (const cJSON *e = doc ? doc->child : NULL; e && !rc && cJSON_IsObject(doc); e = e->next) {
		if (cJSON_IsArray(e)) {
			for (const cJSON *r = e->child; r && !rc; r = r->next)
				rc = add_record(p, o, "records.json", e->string, r, true);
		} else {
			rc = add_record(p, o, "records.json", e->string, e, false);
		}
	}
	cJSON_Delete(doc);
	return rc;
}

static int plan_hosts(struct load_plan *p, const struct load_opts *o, const char *text, size_t len)
{
	int rc = 0, lineno = 0;
	for (size_t at = 0; at < len && !rc;) {
		size_t end = at;
		while (end < len && text[end] != '\n')
			end++;
		char line[1024];
		size_t ll = end - at < sizeof line - 1 ? end - at : sizeof line - 1;
		memcpy(line, text + at, ll);
		line[ll] = 0;
		at = end + 1;
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		char *save = NULL, *addr = strtok_r(line, " \t\r", &save);
		if (!addr)
			continue;
		uint8_t ip[16];
		if (!msg_parse_ip(addr, ip)) {
			rc = warn(p, "hosts line %d: %s is not an address", lineno, addr);
			continue;
		}
		cJSON *rec = cJSON_CreateObject();
		if (!rec || !cJSON_AddStringToObject(rec, "host", addr)) {
			cJSON_Delete(rec);
			return SKY_ENOMEM;
		}
		int names = 0;
		for (char *nm; !rc && (nm = strtok_r(NULL, " \t\r", &save)); names++)
			rc = add_record(p, o, "hosts", nm, rec, true);
		cJSON_Delete(rec);
		if (!rc && !names)
			rc = warn(p, "hosts line %d: %s has no name", lineno, addr);
	}
	return rc;
}

/* "ip" or "ip:port" / "[ip6]:port" -> the address text and port (53). */
static bool parse_server(const char *s, char *ip, size_t cap, unsigned *port)
{
	uint8_t raw[16];
	*port = 53;
	if (msg_parse_ip(s, raw)) {
		snprintf(ip, cap, "%s", s);
		return true;
	}
	const char *colon = strrchr(s, ':');
	if (!colon || !colon[1])
		return false;
	size_t hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	char *e;
	long pv = strtol(colon + 1, &e, 10);
	if (*e || pv < 1 || pv > 65535 || hl >= cap)
		return false;
	memcpy(ip, s, hl);
	ip[hl] = 0;
	*port = (unsigned)pv;
	return msg_parse_ip(ip, raw) != 0;
}

static int plan_stubs(struct load_plan *p, const struct load_opts *o, const char *text, size_t len)
{
	cJSON *doc = cJSON_ParseWithLength(text, len);
	int rc = cJSON_IsObject(doc) ? 0 : warn(p, "stubDomains: not a JSON object of zone -> servers");
	for (const cJSON *z = cJSON_IsObject(doc) ? doc->child : NULL; z && !rc; z = z->next) {
		const char *why = NULL;
		if (dname_check(z->string, &why) != 0 || !cJSON_IsArray(z)) {
			rc = warn(p, "stubDomains: %s: %s", z->string, why ? why : "want a list of servers");
			continue;
		}
		int i = 0;
		for (const cJSON *s = z->child; s && !rc; s = s->next, i++) {
			char ip[64], name[MSG_NAME_MAX];
			unsigned port;
			if (!cJSON_IsString(s) || !parse_server(s->valuestring, ip, sizeof ip, &port)) {
				rc = warn(p, "stubDomains: %s: server %d is not ip[:port]", z->string, i + 1);
				continue;
			}
			size_t zl = strlen(z->string);
			bool dot = zl && z->string[zl - 1] == '.';
			snprintf(name, sizeof name, "ns%d.%.*s.stub.dns", i + 1, (int)(zl - dot), z->string);
			cJSON *rec = cJSON_CreateObject();
			if (!rec || !cJSON_AddStringToObject(rec, "host", ip) ||
			    !cJSON_AddNumberToObject(rec, "port", port)) {
				cJSON_Delete(rec);
				rc = SKY_ENOMEM;
				break;
			}
			rc = add_record(p, o, "stubDomains", name, rec, false);
			cJSON_Delete(rec);
		}
	}
	cJSON_Delete(doc);
	return rc;
}

static int plan_upstream(struct load_plan *p, const char *text, size_t len)
{
	cJSON *doc = cJSON_ParseWithLength(text, len), *out = cJSON_CreateArray();
	int rc = out ? 0 : SKY_ENOMEM;
	if (!rc && !cJSON_IsArray(doc))
		rc = warn(p, "upstreamNameservers: not a JSON list of servers");
	int i = 0;
	for (const cJSON *s = cJSON_IsArray(doc) ? doc->child : NULL; s && !rc; s = s->next, i++) {
		char ip[64], hp[80];
		unsigned port;
		if (!cJSON_IsString(s) || !parse_server(s->valuestring, ip, sizeof ip, &port)) {
			rc = warn(p, "upstreamNameservers: server %d is not ip[:port]", i + 1);
			continue;
		}
		snprintf(hp, sizeof hp, strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip, port);
		if (!cJSON_AddItemToArray(out, cJSON_CreateString(hp)))
			rc = SKY_ENOMEM;
	}
	if (!rc && cJSON_GetArraySize(out) > 0 && !(p->config_ns = cJSON_PrintUnformatted(out)))
		rc = SKY_ENOMEM;
	cJSON_Delete(out);
	cJSON_Delete(doc);
	return rc;
}

int load_plan_file(struct load_plan *p, const struct load_opts *o, const char *file,
		   const char *text, size_t len)
{
	if (!strcmp(file, "records.json"))
		return plan_records(p, o, text, len);
	if (!strcmp(file, "hosts"))
		return plan_hosts(p, o, text, len);
	if (!strcmp(file, "stubDomains"))
		return plan_stubs(p, o, text, len);
	if (!strcmp(file, "upstreamNameservers"))
		return plan_upstream(p, text, len);
	if (!strcmp(file, "config.json")) {
		free(p->config_json);
		p->config_json = strndup(text, len);
		return p->config_json ? 0 : SKY_ENOMEM;
	}
	return SKY_EINVAL;
}

/* config.json with upstreamNameservers as its "nameservers", checked as
 * skydns would read it. */
static int plan_config(struct load_plan *p, const struct load_opts *o)
{
	if (!p->config_json && !p->config_ns)
		return 0;
	cJSON *doc = p->config_json ? cJSON_Parse(p->config_json) : cJSON_CreateObject();
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		return warn(p, "config.json: not a JSON object (left out)");
	}
	if (p->config_ns) {
		cJSON_DeleteItemFromObjectCaseSensitive(doc, "nameservers");
		cJSON_AddItemToObject(doc, "nameservers", cJSON_Parse(p->config_ns));
	}
	char *json = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	if (!json)
		return SKY_ENOMEM;
	struct config c;
	char why[256], key[256];
	config_defaults(&c);
	int rc;
	if (config_apply_json(&c, json, strlen(json), why, sizeof why) != 0) {
		rc = warn(p, "%s: %s (left out)", p->config_json ? "config.json" : "upstreamNameservers",
			  why);
	} else {
		size_t pl;
		const char *pre = msg_prefix_trim(o->prefix, &pl);
		snprintf(key, sizeof key, "/%.*s/config", (int)pl, pre);
		rc = add(p, key, json);
	}
	cJSON_free(json);
	return rc;
}

static int kv_cmp(const void *a, const void *b)
{
	const struct load_kv *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : x->ord < y->ord ? -1 : x->ord > y->ord;
}

int load_plan_finish(struct load_plan *p, const struct load_opts *o)
{
	int rc = plan_config(p, o);
	if (rc)
		return rc;
	if (p->n)
		qsort(p->kv, p->n, sizeof *p->kv, kv_cmp);
	size_t w = 0;
	for (size_t i = 0; i < p->n; i++) {
		if (w && !strcmp(p->kv[w - 1].key, p->kv[i].key)) {
			if (strcmp(p->kv[w - 1].value, p->kv[i].value)) /* ENOMEM loses the line only */
				(void)warn(p, "%s planned twice with different values: the first kept",
					   p->kv[i].key);
			free(p->kv[i].key);
			free(p->kv[i].value);
			continue;
		}
		p->kv[w++] = p->kv[i];
	}
	p->n = w;
	return 0;
}

const char *load_plan_get(const struct load_plan *p, const char *key)
{
	size_t lo = 0, hi = p->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(p->kv[mid].key, key);
		if (!c)
			return p->kv[mid].value;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void load_plan_clear(struct load_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->kv[i].key);
		free(p->kv[i].value);
	}
	for (size_t i = 0; i < p->nwarn; i++)
		free(p->warn[i]);
	free(p->kv);
	free(p->warn);
	free(p->config_ns);
	free(p->config_json);
	*p = (struct load_plan){ 0 };
}
