/* load_main.c - skydns-load: keeps the records and settings of a directory
 * (a mounted ConfigMap; load.h lists the files) in etcd, so custom records,
 * stub zones and forwarders survive a restart of the pod's private etcd.
 *
 * Each pass plans the directory (load_plan_*), reads the planned keys from
 * etcd, writes those that are missing or differ, and deletes the keys an
 * earlier pass wrote that the directory no longer holds. What it wrote is
 * remembered at /skydns-load/<prefix>/keys (outside the record prefix, so
 * skydns never reads it): keys written by hand or by kube2sky are never
 * touched. One pass, or with -watch one every -interval (a wiped etcd is
 * refilled within one interval; kubelet updates a ConfigMap volume within
 * about a minute). Exit: 0 done, 1 etcd failed (one pass), 2 bad usage.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "dname.h"
#include "err.h"
#include "etcd.h"
#include "flags.h"
#include "load.h"
#include "log.h"
#include "msg.h"

#define COMP "load"
#define FILE_MAX (4u << 20) /* a ConfigMap holds at most 1 MiB */

static struct {
	struct flags_etcd etcd;
	const char *domain, *prefix, *dir;
	bool watch, verbose;
	double interval;
} O = {
	.etcd = FLAGS_ETCD_DEFAULTS, .domain = "skydns.local.", .prefix = "skydns", .dir = "",
	.interval = 10,
};

static const struct flag FLAGS[] = {
	FLAGS_ETCD(O.etcd, "use the etcd v3 API"),
	{ "domain", "SKYDNS_DOMAIN", FLAG_STR, &O.domain, "domain the records' names are under" },
	{ "path-prefix", "SKYDNS_PATH_PREFIX", FLAG_STR, &O.prefix, "etcd path prefix" },
	{ "dir", "SKYDNS_LOAD_DIR", FLAG_STR, &O.dir,
	  "directory with records.json, hosts, stubDomains, upstreamNameservers, config.json" },
	{ "watch", NULL, FLAG_BOOL, &O.watch, "keep running: a pass every -interval" },
	{ "interval", NULL, FLAG_SECS, &O.interval, "seconds between passes with -watch" },
	{ "verbose", NULL, FLAG_BOOL, &O.verbose, "log every key written or deleted" },
};
#define NFLAGS (sizeof FLAGS / sizeof FLAGS[0])

static const struct flags_doc DOC = {
	"keeps a directory's records and settings (a ConfigMap) in skydns's etcd",
	"-dir DIR [-watch] [-flag value ...]",
	"skydns-load writes the records of records.json and hosts, the stub zones of stubDomains "
	"and the settings of upstreamNameservers and config.json into etcd in SkyDNS's layout, "
	"writes only what is missing or differs, and removes what it wrote earlier once the "
	"directory no longer holds it.",
	"skydns(1), skydnsctl(1)",
};

static volatile sig_atomic_t g_stop;
static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static char g_state_key[512];

/* ------------------------------------------------------------ plan */

static char *read_file(const char *path, size_t *len, bool *absent)
{
	*absent = false;
	FILE *f = fopen(path, "rb");
	if (!f) {
		*absent = errno == ENOENT;
		return NULL;
	}
	char *buf = malloc(FILE_MAX + 1);
	size_t n = buf ? fread(buf, 1, FILE_MAX + 1, f) : 0;
	bool bad = ferror(f) || n > FILE_MAX;
	fclose(f);
	if (!buf || bad) {
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

/* The directory's plan; warnings are logged when *last differs (a pass
 * whose files did not change says nothing new). */
static int make_plan(const struct load_opts *lo, struct load_plan *p, unsigned long *sig)
{
	unsigned long h = 5381;
	for (int i = 0; load_files[i]; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", O.dir, load_files[i]);
		size_t len = 0;
		bool absent;
		char *text = read_file(path, &len, &absent);
		if (!text) {
			if (absent)
				continue;
			log_warn(COMP, "%s: cannot read it (%s): left as it was", path, strerror(errno));
			return SKY_EIO;
		}
		for (size_t j = 0; j < len; j++)
			h = h * 33 + (unsigned char)text[j];
		h = h * 33 + (unsigned long)i;
		int rc = load_plan_file(p, lo, load_files[i], text, len);
		free(text);
		if (rc)
			return rc;
	}
	int rc = load_plan_finish(p, lo);
	if (!rc && h != *sig) {
		for (size_t i = 0; i < p->nwarn; i++)
			log_warn(COMP, "%s (left out)", p->warn[i]);
		log_info(COMP, "%s: %zu keys planned, %zu entries left out", O.dir, p->n, p->nwarn);
		*sig = h;
	}
	return rc;
}

/* ------------------------------------------------------------ apply */

struct ops {
	struct etcd_op *op;
	size_t n, cap;
};

static int ops_add(struct ops *o, const char *key, const char *value)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 64;
		struct etcd_op *n = realloc(o->op, cap * sizeof *n);
		if (!n)
			return SKY_ENOMEM;
		o->op = n;
		o->cap = cap;
	}
	o->op[o->n++] = (struct etcd_op){ .key = key, .value = value };
	return 0;
}

/* The keys an earlier pass wrote (a JSON list at g_state_key). */
static int read_owned(struct etcd_client *c, cJSON **owned)
{
	char *v = NULL;
	int rc = etcd_get(c, g_state_key, &v, NULL);
	*owned = NULL;
	if (rc == SKY_ENOTFOUND)
		rc = 0;
	else if (!rc && !cJSON_IsArray(*owned = cJSON_Parse(v))) {
		log_warn(COMP, "%s: not a JSON list: what earlier passes wrote is forgotten", g_state_key);
		cJSON_Delete(*owned);
		*owned = NULL;
	}
	free(v);
	return rc;
}

static int apply(struct etcd_client *c, const struct load_plan *p)
{
	cJSON *owned = NULL, *now = cJSON_CreateArray();
	struct ops ops = { 0 };
	char **held = calloc(p->n + 1, sizeof *held);
	int rc = now && held ? read_owned(c, &owned) : SKY_ENOMEM;
	size_t puts = 0, dels = 0;
	for (size_t i = 0; i < p->n && !rc; i++) {
		int g = etcd_get(c, p->kv[i].key, &held[i], NULL);
		if (g && g != SKY_ENOTFOUND)
			rc = g;
		else if (!held[i] || strcmp(held[i], p->kv[i].value) != 0)
			rc = ops_add(&ops, p->kv[i].key, p->kv[i].value), puts++;
		if (!rc && !cJSON_AddItemToArray(now, cJSON_CreateString(p->kv[i].key)))
			rc = SKY_ENOMEM;
	}
	for (const cJSON *k = owned ? owned->child : NULL; k && !rc; k = k->next)
		if (cJSON_IsString(k) && !load_plan_get(p, k->valuestring))
			rc = ops_add(&ops, k->valuestring, NULL), dels++;
	char *state = rc ? NULL : cJSON_PrintUnformatted(now);
	if (!rc && !state)
		rc = SKY_ENOMEM;
	if (!rc && (puts || dels || !owned))
		rc = ops_add(&ops, g_state_key, state);
	size_t done = 0;
	if (!rc && ops.n && (rc = etcd_batch(c, ops.op, ops.n, &done)) != 0)
		log_warn(COMP, "etcd: %s (%zu of %zu writes done)", etcd_last_error(c), done, ops.n);
	if (!rc && (puts || dels))
		log_info(COMP, "applied: %zu keys, %zu written, %zu deleted", p->n, puts, dels);
	for (size_t i = 0; O.verbose && !rc && i < ops.n; i++)
		log_info(COMP, "%s %s", ops.op[i].value ? "put" : "delete", ops.op[i].key);
	for (size_t i = 0; held && i < p->n; i++)
		free(held[i]);
	free(held);
	free(ops.op);
	cJSON_free(state);
	cJSON_Delete(owned);
	cJSON_Delete(now);
	return rc;
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	if (flags_parse("skydns-load", FLAGS, NFLAGS, &DOC, argc, argv) != 0)
		return 2;
	static char domain[300];
	size_t dl = strlen(O.domain);
	for (size_t i = 0; i < dl && i < sizeof domain - 2; i++)
		domain[i] = (char)tolower((unsigned char)O.domain[i]);
	if (dl && dl < sizeof domain - 2 && domain[dl - 1] != '.')
		domain[dl++] = '.';
	const char *why = NULL;
	if (!*O.dir || dl < 2 || dl >= sizeof domain - 2 || dname_check(domain, &why) != 0 ||
	    O.interval <= 0) {
		fprintf(stderr, "skydns-load: want -dir DIR, a -domain (\"skydns.local.\"%s%s) and "
				"-interval > 0\n", why ? ": " : "", why ? why : "");
		return 2;
	}
	O.domain = domain;
	if (access(O.dir, R_OK | X_OK) != 0 && !O.watch) {
		fprintf(stderr, "skydns-load: -dir %s: %s\n", O.dir, strerror(errno));
		return 2;
	}
	struct etcd_opts eo;
	struct etcd_client *c;
	if (flags_etcd_opts(&O.etcd, &eo) != 0 || etcd_new(&eo, &c) != 0) {
		fprintf(stderr, "skydns-load: bad -machines %s (want http[s]://host:port,...)\n",
			O.etcd.machines);
		return 2;
	}
	size_t pl;
	const char *pre = msg_prefix_trim(O.prefix, &pl);
	snprintf(g_state_key, sizeof g_state_key, "/skydns-load/%.*s/keys", (int)pl, pre);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	struct load_opts lo = { O.domain, O.prefix };
	unsigned long sig = 0;
	int rc;
	do {
		struct load_plan p = { 0 };
		rc = make_plan(&lo, &p, &sig);
		if (!rc)
			rc = apply(c, &p);
		load_plan_clear(&p);
		for (int ms = 0; O.watch && !g_stop && ms < (int)(O.interval * 1000); ms += 100)
			usleep(100 * 1000);
	} while (O.watch && !g_stop);
	etcd_free(c);
	return rc ? 1 : 0;
}
