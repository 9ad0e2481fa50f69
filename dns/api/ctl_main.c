/* ctl_main.c - skydnsctl: the command line for skydns-api.
 *
 *   skydnsctl [-addr HOST:PORT|URL] [-token T] [-o json] COMMAND
 *     list [PREFIX]                    every name under PREFIX (default: the domain)
 *     show NAME                        one name
 *     add NAME A|AAAA ADDR...          add records to a name (keeps what is there)
 *     add NAME CNAME TARGET
 *     add NAME SRV HOST PORT [PRIORITY WEIGHT]
 *     add NAME TXT TEXT
 *     set NAME TYPE ARGS...            as add, replacing the name's records
 *     delete NAME
 *     explain NAME [TYPE]              the keys behind a name: used, skipped (why),
 *                                      addresses a status key marks DOWN
 *   The seed's spellings: -list, -show NAME, and -method create|delete|update
 *   -domain NAME [-ips "a;b" | -alias X | -updates "ips:old->new;..." |
 *   "alias:old->new"] (its /skydns/api calls).
 *   SKYDNS_API_ADDR (default 127.0.0.1:9001) and SKYDNS_API_TOKEN as the seed.
 *
 * Exit codes: 0 done; 1 usage; 2 API unreachable; 3 token refused (401);
 * 4 no such name (404); 5 bad input (400; 413: more records than one etcd
 * transaction takes); 6 conflict (409/412);
 * 7 any other failure (etcd down behind the API: 502).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "manpage.h"
#include "msg.h"

static const char *api_base;
static const char *token;
static bool json_out;

struct buf {
	char *p;
	size_t n;
};

static size_t on_data(char *d, size_t sz, size_t nm, void *arg)
{
	struct buf *b = arg;
	size_t n = sz * nm;
	char *np = realloc(b->p, b->n + n + 1);
	if (!np)
		return 0;
	b->p = np;
	memcpy(b->p + b->n, d, n);
	b->n += n;
	b->p[b->n] = 0;
	return n;
}

/* One request; returns the HTTP status (0 = unreachable; *body malloc'd). */
static long request(const char *method, const char *path, const char *body, const char *if_match,
		    char **out)
{
	char url[4096];
	snprintf(url, sizeof url, "%s%s", api_base, path);
	CURL *c = curl_easy_init();
	struct buf b = { 0 };
	struct curl_slist *h = NULL;
	char hdr[1024];
	if (token && *token) {
		snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", token);
		h = curl_slist_append(h, hdr);
	}
	if (if_match) {
		snprintf(hdr, sizeof hdr, "If-Match: %s", if_match);
		h = curl_slist_append(h, hdr);
	}
	if (body)
		h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 15L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	if (getenv("SKYDNS_API_CACERT"))
		curl_easy_setopt(c, CURLOPT_CAINFO, getenv("SKYDNS_API_CACERT"));
	long status = 0;
	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		fprintf(stderr, "skydnsctl: cannot reach the API at %s: %s\n", api_base,
			curl_easy_strerror(rc));
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	*out = b.p ? b.p : strdup("");
	return status;
}

/* Exit code for a non-2xx status, after saying why. */
static int fail(long status, const char *body)
{
	if (status == 0)
		return 2;
	cJSON *j = cJSON_Parse(body);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	const char *msg = cJSON_IsString(e) ? e->valuestring : body;
	switch (status) {
	case 401:
		fprintf(stderr, "skydnsctl: the API refused the token (401): set SKYDNS_API_TOKEN or -token\n");
		cJSON_Delete(j);
		return 3;
	case 404:
		fprintf(stderr, "skydnsctl: not found: %s\n", msg);
		cJSON_Delete(j);
		return 4;
	case 400:
	case 413:
		fprintf(stderr, "skydnsctl: bad input: %s\n", msg);
		cJSON_Delete(j);
		return 5;
	case 409:
	case 412:
		fprintf(stderr, "skydnsctl: conflict (%ld): %s\n", status, msg);
		cJSON_Delete(j);
		return 6;
	default:
		fprintf(stderr, "skydnsctl: the API answered %ld: %s\n", status, msg);
		cJSON_Delete(j);
		return 7;
	}
}

static void url_escape(const char *in, char *out, size_t cap)
{
	char *e = curl_easy_escape(NULL, in, 0);
	snprintf(out, cap, "%s", e ? e : "");
	curl_free(e);
}

static int by_name(const void *x, const void *y)
{
	const cJSON *const *a = x, *const *b = y;
	return strcmp((*a)->string, (*b)->string);
}

/* The seed's listing: one line per name,
 * "domain: <name right-aligned in 56>       val: { type:A  ips:[a b] }". */
static void print_seed(const cJSON *records)
{
	/* names in order of first appearance */
	cJSON *names = cJSON_CreateObject();
	const cJSON *r;
	cJSON_ArrayForEach(r, records) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(r, "name");
		if (!cJSON_IsString(n))
			continue;
		char nm[MSG_NAME_MAX];
		snprintf(nm, sizeof nm, "%s", n->valuestring);
		size_t l = strlen(nm);
		if (l > 1 && nm[l - 1] == '.')
			nm[l - 1] = 0;
		cJSON *g = cJSON_GetObjectItemCaseSensitive(names, nm);
		if (!g)
			g = cJSON_AddArrayToObject(names, nm);
		cJSON_AddItemReferenceToArray(g, (cJSON *)r);
	}
	/* sorted by name: etcd v2 lists a directory in no fixed order */
	int ng = cJSON_GetArraySize(names);
	const cJSON **gs = calloc((size_t)ng + 1, sizeof *gs);
	int k = 0;
	const cJSON *g;
	cJSON_ArrayForEach(g, names)
		gs[k++] = g;
	qsort(gs, (size_t)ng, sizeof *gs, by_name);
	for (k = 0; k < ng; k++) {
		g = gs[k];
		char val[8192] = "";
		size_t off = 0;
		char ips[4096] = "", *ip = ips;
		const char *alias = NULL;
		char extra[4096] = "";
		size_t eo = 0;
		cJSON_ArrayForEach(r, g) {
			const cJSON *h = cJSON_GetObjectItemCaseSensitive(r, "host");
			const cJSON *p = cJSON_GetObjectItemCaseSensitive(r, "port");
			const cJSON *t = cJSON_GetObjectItemCaseSensitive(r, "text");
			uint8_t b[16];
			const char *host = cJSON_IsString(h) ? h->valuestring : "";
			if (cJSON_IsString(t))
				eo += (size_t)snprintf(extra + eo, eo < sizeof extra ? sizeof extra - eo : 0,
						       " type:TXT  text:%s", t->valuestring);
			else if (cJSON_IsNumber(p) && p->valueint > 0)
				eo += (size_t)snprintf(extra + eo, eo < sizeof extra ? sizeof extra - eo : 0,
						       " type:SRV  host:%s port:%d", host, p->valueint);
			else if (msg_parse_ip(host, b))
				ip += snprintf(ip, (size_t)(ips + sizeof ips - ip), "%s%s",
					       ip == ips ? "" : " ", host);
			else if (*host)
				alias = host;
			if (ip >= ips + sizeof ips)
				ip = ips + sizeof ips - 1;
			if (eo >= sizeof extra)
				eo = sizeof extra - 1;
		}
		if (*ips)
			off += (size_t)snprintf(val + off, sizeof val - off, " type:A  ips:[%s]", ips);
		if (alias && off < sizeof val)
			off += (size_t)snprintf(val + off, sizeof val - off, " type:Cname  alias:%s", alias);
		if (*extra && off < sizeof val)
			snprintf(val + off, sizeof val - off, "%s", extra);
		printf("domain: %56s       val: {%s }\n", g->string, val);
	}
	free(gs);
	cJSON_Delete(names);
}

static int cmd_list(const char *prefix, bool one)
{
	char path[2048], esc[1536];
	url_escape(prefix ? prefix : "", esc, sizeof esc);
	if (one)
		snprintf(path, sizeof path, "/v1/records/%s", esc);
	else
		snprintf(path, sizeof path, "/v1/records?prefix=%s", esc);
	char *body;
	long st = request("GET", path, NULL, NULL, &body);
	if (st != 200) {
		int rc = fail(st, body);
		free(body);
		return rc;
	}
	if (json_out) {
		printf("%s\n", body);
		free(body);
		return 0;
	}
	cJSON *j = cJSON_Parse(body);
	free(body);
	const cJSON *recs = cJSON_GetObjectItemCaseSensitive(j, "records");
	if (one) { /* show: only the name's own records, not names below it */
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "name");
		cJSON *mine = cJSON_CreateArray();
		const cJSON *r;
		cJSON_ArrayForEach(r, recs) {
			const cJSON *rn = cJSON_GetObjectItemCaseSensitive(r, "name");
			if (cJSON_IsString(n) && cJSON_IsString(rn) &&
			    strcmp(rn->valuestring, n->valuestring) == 0)
				cJSON_AddItemReferenceToArray(mine, (cJSON *)r);
		}
		print_seed(cJSON_GetArraySize(mine) ? mine : recs);
		cJSON_Delete(mine);
	} else {
		print_seed(recs);
	}
	cJSON_Delete(j);
	return 0;
}

/* Records from "TYPE ARGS..." into arr; 0 or 1 (usage). */
static int build(cJSON *arr, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	const char *t = argv[0];
	if (!strcasecmp(t, "A") || !strcasecmp(t, "AAAA")) {
		int want = strcasecmp(t, "A") == 0 ? 4 : 6;
		for (int i = 1; i < argc; i++) {
			uint8_t b[16];
			if (msg_parse_ip(argv[i], b) != want) {
				fprintf(stderr, "skydnsctl: %s is not an IPv%d address\n", argv[i], want);
				return 1;
			}
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "host", argv[i]);
			cJSON_AddItemToArray(arr, o);
		}
	} else if (!strcasecmp(t, "CNAME") && argc == 2) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "host", argv[1]);
		cJSON_AddItemToArray(arr, o);
	} else if (!strcasecmp(t, "SRV") && (argc == 3 || argc == 5)) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "host", argv[1]);
		cJSON_AddNumberToObject(o, "port", atoi(argv[2]));
		if (argc == 5) {
			cJSON_AddNumberToObject(o, "priority", atoi(argv[3]));
			cJSON_AddNumberToObject(o, "weight", atoi(argv[4]));
		}
		cJSON_AddItemToArray(arr, o);
	} else if (!strcasecmp(t, "TXT") && argc == 2) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "host", "");
		cJSON_AddStringToObject(o, "text", argv[1]);
		cJSON_AddItemToArray(arr, o);
	} else {
		fprintf(stderr, "skydnsctl: want A|AAAA ADDR..., CNAME TARGET, SRV HOST PORT [PRIORITY WEIGHT] or TXT TEXT\n");
		return 1;
	}
	return 0;
}

static int cmd_write(const char *name, bool keep, int argc, char **argv)
{
	char path[2048], esc[1536];
	url_escape(name, esc, sizeof esc);
	snprintf(path, sizeof path, "/v1/records/%s", esc);
	cJSON *arr = cJSON_CreateArray();
	char rev[32] = "0";
	if (keep) { /* add: what is there + the new ones, if nobody changed it meanwhile */
		char *body;
		long st = request("GET", path, NULL, NULL, &body);
		if (st == 200) {
			cJSON *j = cJSON_Parse(body);
			const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "name");
			const cJSON *rv = cJSON_GetObjectItemCaseSensitive(j, "revision");
			if (cJSON_IsNumber(rv))
				snprintf(rev, sizeof rev, "%.0f", rv->valuedouble);
			const cJSON *r;
			cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(j, "records")) {
				const cJSON *rn = cJSON_GetObjectItemCaseSensitive(r, "name");
				if (!cJSON_IsString(rn) || !cJSON_IsString(n) ||
				    strcmp(rn->valuestring, n->valuestring) != 0)
					continue; /* a name below this one: left alone? PUT replaces the tree */
				cJSON *c = cJSON_Duplicate(r, 1);
				cJSON_DeleteItemFromObject(c, "key");
				cJSON_DeleteItemFromObject(c, "name");
				cJSON_DeleteItemFromObject(c, "revision");
				cJSON_AddItemToArray(arr, c);
			}
			cJSON_Delete(j);
		} else if (st != 404) {
			int rc = fail(st, body);
			free(body);
			cJSON_Delete(arr);
			return rc;
		}
		free(body);
	}
	if (build(arr, argc, argv) != 0) {
		cJSON_Delete(arr);
		return 1;
	}
	char *js = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	char *body;
	long st = request("PUT", path, js, keep ? rev : NULL, &body);
	free(js);
	int rc = 0;
	if (st != 200)
		rc = fail(st, body);
	else if (json_out)
		printf("%s\n", body);
	else
		printf("OK\n");
	free(body);
	return rc;
}

static int cmd_delete(const char *name)
{
	char path[2048], esc[1536];
	url_escape(name, esc, sizeof esc);
	snprintf(path, sizeof path, "/v1/records/%s", esc);
	char *body;
	long st = request("DELETE", path, NULL, NULL, &body);
	int rc = 0;
	if (st != 200)
		rc = fail(st, body);
	else if (json_out)
		printf("%s\n", body);
	else
		printf("OK\n");
	free(body);
	return rc;
}

/* explain NAME [TYPE]: which keys make up the answer, which were skipped and why */
static int cmd_explain(const char *name, const char *type)
{
	char path[2048], esc[1536], tesc[64] = "";
	url_escape(name, esc, sizeof esc);
	if (type)
		url_escape(type, tesc, sizeof tesc);
	snprintf(path, sizeof path, "/v1/explain/%s%s%s", esc, type ? "?type=" : "", tesc);
	char *body;
	long st = request("GET", path, NULL, NULL, &body);
	if (st != 200) {
		int rc = fail(st, body);
		free(body);
		return rc;
	}
	if (json_out) {
		printf("%s\n", body);
		free(body);
		return 0;
	}
	cJSON *j = cJSON_Parse(body);
	free(body);
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "name");
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "key");
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "etcd");
	printf("name %s (etcd %s key %s)\n", cJSON_GetStringValue(n), cJSON_GetStringValue(e),
	       cJSON_GetStringValue(k));
	const cJSON *r;
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(j, "keys")) {
		const cJSON *used = cJSON_GetObjectItemCaseSensitive(r, "used");
		const char *kk = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "key"));
		const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "value"));
		const char *health = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "health"));
		if (cJSON_IsTrue(used))
			printf("  used     %s %s -> %s\n", kk, v,
			       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "gives")));
		if (cJSON_IsTrue(used) && health)
			printf("    health %s\n", health);
		else if (!cJSON_IsTrue(used))
			printf("  skipped  %s %s: %s\n", kk, v,
			       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "skipped")));
	}
	printf("answer%s%s%s:", type ? " (" : "", type ? type : "", type ? ")" : "");
	const cJSON *a;
	int na = 0;
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(j, "answers")) {
		printf("%s %s", na ? "," : "", a->valuestring);
		na++;
	}
	printf("%s\n", na ? "" : " none");
	printf("%s\n", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "verdict")));
	cJSON_Delete(j);
	return 0;
}

/* One of the seed's calls: the reply "OK" printed, else the exit code. */
static int seed_call(const char *method, const char *name, cJSON *doc)
{
	char path[2048], esc[1536];
	url_escape(name, esc, sizeof esc);
	snprintf(path, sizeof path, "/skydns/api/%s", esc);
	char *js = doc ? cJSON_PrintUnformatted(doc) : NULL, *body;
	cJSON_Delete(doc);
	long st = request(method, path, js, NULL, &body);
	free(js);
	int rc = st == 200 ? 0 : fail(st, body);
	if (!rc)
		printf("%s\n", body);
	free(body);
	return rc;
}

/* "a;b;c" as a JSON array of strings (empty items skipped). */
static cJSON *seed_list_split(const char *s)
{
	cJSON *arr = cJSON_CreateArray();
	char *dup = strdup(s), *save = NULL;
	for (char *t = dup ? strtok_r(dup, ";", &save) : NULL; t; t = strtok_r(NULL, ";", &save))
		if (*t)
			cJSON_AddItemToArray(arr, cJSON_CreateString(t));
	free(dup);
	return arr;
}

/* The seed's -method create|delete|update -domain N [-ips "a;b" | -alias X
 * | -updates "ips:old->new;..." | "alias:old->new"]: create and delete are
 * one call; an update is one PUT per pair (the API takes one pair a call). */
static int cmd_seed(const char *method, const char *domain, const char *ips, const char *alias,
		    const char *updates)
{
	uint8_t b[16];
	if (!domain || !*domain) {
		fprintf(stderr, "skydnsctl: -method needs -domain NAME\n");
		return 1;
	}
	if (!strcmp(method, "create") && (ips || alias)) {
		cJSON *doc = cJSON_CreateObject();
		if (ips) {
			cJSON *arr = seed_list_split(ips);
			const cJSON *f = cJSON_GetArrayItem(arr, 0);
			bool v6 = f && msg_parse_ip(f->valuestring, b) == 6;
			cJSON_AddStringToObject(doc, "type", v6 ? "AAAA" : "A");
			cJSON_AddItemToObject(doc, "ips", arr);
		} else {
			cJSON_AddStringToObject(doc, "type", "cname");
			cJSON_AddStringToObject(doc, "alias", alias);
		}
		return seed_call("POST", domain, doc);
	}
	if (!strcmp(method, "delete")) {
		cJSON *doc = NULL;
		if (ips) {
			doc = cJSON_CreateObject();
			cJSON_AddStringToObject(doc, "type", "A");
			cJSON_AddItemToObject(doc, "ips", seed_list_split(ips));
		}
		return seed_call("DELETE", domain, doc);
	}
	bool isip = updates && !strncmp(updates, "ips:", 4);
	bool isalias = updates && !strncmp(updates, "alias:", 6);
	if (strcmp(method, "update") != 0 || (!isip && !isalias)) {
		fprintf(stderr, "skydnsctl: -method create -ips|-alias, delete [-ips], or update "
				"-updates \"ips:old->new;...\"|\"alias:old->new\"\n");
		return 1;
	}
	cJSON *pairs = seed_list_split(updates + (isip ? 4 : 6));
	int rc = cJSON_GetArraySize(pairs) ? 0 : 1;
	for (const cJSON *p = pairs->child; p && !rc; p = p->next) {
		char *arrow = strstr(p->valuestring, "->");
		if (!arrow || arrow == p->valuestring || !arrow[2]) {
			fprintf(stderr, "skydnsctl: -updates: %s is not old->new\n", p->valuestring);
			rc = 1;
			break;
		}
		*arrow = 0;
		cJSON *doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "type", isip ? "A" : "CNAME");
		cJSON_AddStringToObject(cJSON_AddObjectToObject(doc, "update"), p->valuestring, arrow + 2);
		rc = seed_call("PUT", domain, doc);
	}
	cJSON_Delete(pairs);
	return rc;
}

static const char USAGE[] =
		"usage: skydnsctl [-addr HOST:PORT|URL] [-token T] [-o json] COMMAND\n"
		"  list [PREFIX] | -list\n"
		"  show NAME | -show NAME\n"
		"  add NAME A|AAAA ADDR... | add NAME CNAME TARGET | add NAME SRV HOST PORT [PRIORITY WEIGHT]\n"
		"  add NAME TXT TEXT\n"
		"  set NAME TYPE ARGS...   (as add, replacing the name's records)\n"
		"  delete NAME\n"
		"  explain NAME [TYPE]     which etcd keys make the answer, which are skipped and why\n"
		"  -method create|delete|update -domain NAME [-ips \"a;b\" | -alias X |\n"
		"          -updates \"ips:old->new;...\" | \"alias:old->new\"]   (the seed's calls)\n"
		"env: SKYDNS_API_ADDR (default 127.0.0.1:9001), SKYDNS_API_TOKEN\n"
		"exit: 0 ok, 1 usage, 2 API unreachable, 3 token refused, 4 not found, 5 bad input,\n"
		"      6 conflict, 7 other API failure\n";

static int usage(void)
{
	fputs(USAGE, stderr);
	return 1;
}

/* The -h text as a man page (hidden -help-man, run by the build). */
static int usage_man(void)
{
	man_head(stdout, "skydnsctl", "list, add and explain skydns records through skydns-api",
		 "[-addr HOST:PORT|URL] [-token T] [-o json] COMMAND");
	man_section(stdout, "COMMANDS");
	man_verbatim(stdout, USAGE);
	man_tail(stdout, "skydns-api(1), skydns(1)");
	return 0;
}

int main(int argc, char **argv)
{
	const char *addr = getenv("SKYDNS_API_ADDR");
	token = getenv("SKYDNS_API_TOKEN");
	const char *seed_show = NULL;
	bool seed_list = false;
	const char *method = NULL, *domain = NULL, *ips = NULL, *alias = NULL, *updates = NULL;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *f = argv[i] + (argv[i][1] == '-' ? 2 : 1);
		if (!strcmp(f, "list")) {
			seed_list = true;
		} else if (i + 1 < argc && !strcmp(f, "show")) {
			seed_show = argv[++i];
		} else if (i + 1 < argc && !strcmp(f, "method")) {
			method = argv[++i];
		} else if (i + 1 < argc && !strcmp(f, "domain")) {
			domain = argv[++i];
		} else if (i + 1 < argc && !strcmp(f, "ips")) {
			ips = argv[++i];
		} else if (i + 1 < argc && !strcmp(f, "alias")) {
			alias = argv[++i];
		} else if (i + 1 < argc && !strcmp(f, "updates")) {
			updates = argv[++i];
		} else if (i + 1 < argc && !strcmp(f, "addr")) {
			addr = argv[++i];
		} else if (i + 1 < argc && !strcmp(f, "token")) {
			token = argv[++i];
		} else if (i + 1 < argc && !strcmp(f, "o")) {
			json_out = strcmp(argv[++i], "json") == 0;
		} else if (!strcmp(f, "h") || !strcmp(f, "help")) {
			usage();
			return 0;
		} else if (!strcmp(f, "help-man")) {
			return usage_man();
		} else {
			return usage();
		}
	}
	if (!addr || !*addr)
		addr = "127.0.0.1:9001";
	char base[1024];
	if (strstr(addr, "://"))
		snprintf(base, sizeof base, "%s", addr);
	else
		snprintf(base, sizeof base, "http://%s", addr);
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		base[--bl] = 0;
	api_base = base;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc;
	if (method)
		rc = cmd_seed(method, domain, ips, alias, updates);
	else if (seed_list)
		rc = cmd_list(NULL, false);
	else if (seed_show)
		rc = cmd_list(seed_show, true);
	else if (i >= argc)
		rc = usage();
	else if (!strcmp(argv[i], "list") && argc - i <= 2)
		rc = cmd_list(i + 1 < argc ? argv[i + 1] : NULL, false);
	else if (!strcmp(argv[i], "show") && argc - i == 2)
		rc = cmd_list(argv[i + 1], true);
	else if ((!strcmp(argv[i], "add") || !strcmp(argv[i], "set")) && argc - i >= 4)
		rc = cmd_write(argv[i + 1], !strcmp(argv[i], "add"), argc - i - 2, argv + i + 2);
	else if (!strcmp(argv[i], "explain") && (argc - i == 2 || argc - i == 3))
		rc = cmd_explain(argv[i + 1], argc - i == 3 ? argv[i + 2] : NULL);
	else if (!strcmp(argv[i], "delete") && argc - i == 2)
		rc = cmd_delete(argv[i + 1]);
	else
		rc = usage();
	curl_global_cleanup();
	return rc;
}
