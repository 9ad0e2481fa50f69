/* check_main.c - skydns-check: checks the addresses behind the records and
 * writes /<prefix>/monitor/status/<ip> = {"status":"DOWN"|"UP"} (issue 14).
 *
 * Several checkers share the work without a coordinator. Each holds an etcd
 * v3 lease (kept alive by a thread every TTL/3) and the key
 * /<prefix>/monitor/checkers/<id> on it. Every round it reads the live
 * checkers, the records and the statuses; an address belongs to the checker
 * that rendezvous hashing over the live ids picks (check_ring.c). The owner
 * writes the address's status with its own lease, only on a change (after
 * -fall failures or -rise successes in a row) or to take over a key another
 * checker's lease holds. When a checker dies, its checker key and its DOWN
 * marks go when its lease runs out (fail open) and the survivors take its
 * addresses at their next round after that.
 */
#include <cjson/cJSON.h>
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checker.h"
#include "err.h"
#include "etcd.h"
#include "flags.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "msg.h"

#define COMP "check"
#define MAX_PORTS 64

/* ------------------------------------------------------------ flags */

struct opts {
	struct flags_etcd etcd;
	bool icmp, verbose;
	const char *domain, *prefix, *ports, *id, *metrics_addr, *icmp_socket;
	double interval, timeout; /* seconds */
	int rise, fall, lease_ttl;
};

static enum check_icmp icmp_mode = CHECK_ICMP_OFF; /* set once at start-up */

static struct opts O = {
	.etcd = FLAGS_ETCD_DEFAULTS,
	.domain = "skydns.local.",
	.prefix = "skydns",
	.ports = "80",
	.icmp_socket = "auto",
	.interval = 5,
	.timeout = 2,
	.rise = 2,
	.fall = 3,
	.lease_ttl = 10,
	.id = "", .metrics_addr = "",
};

static const struct flag FLAGS[] = {
	FLAGS_ETCD(O.etcd, "use the etcd v3 API (required: leases)"),
	{ "domain", "SKYDNS_DOMAIN", FLAG_STR, &O.domain, "domain whose records are checked" },
	{ "path-prefix", "SKYDNS_PATH_PREFIX", FLAG_STR, &O.prefix, "etcd path prefix" },
	{ "scan-ports", "SKYDNS_CHECK_PORTS", FLAG_STR, &O.ports,
	  "TCP ports to connect to, comma-separated (any one open = up; \"\" = none)" },
	{ "enable-icmp", NULL, FLAG_BOOL, &O.icmp, "also send an ICMP echo (a reply = up)" },
	{ "icmp-socket", NULL, FLAG_STR, &O.icmp_socket,
	  "auto (unprivileged if ping_group_range allows, else raw), dgram or raw (CAP_NET_RAW)" },
	{ "check-interval", NULL, FLAG_SECS, &O.interval, "seconds between rounds (\"5\", \"500ms\")" },
	{ "check-timeout", NULL, FLAG_SECS, &O.timeout, "seconds a round waits for answers" },
	{ "rise", NULL, FLAG_INT, &O.rise, "successes in a row to go UP" },
	{ "fall", NULL, FLAG_INT, &O.fall, "failures in a row to go DOWN" },
	{ "lease-ttl", NULL, FLAG_INT, &O.lease_ttl, "seconds of this checker's etcd lease" },
	{ "checker-id", "SKYDNS_CHECKER_ID", FLAG_STR, &O.id, "this checker's id (default: hostname)" },
	{ "metrics-addr", "PROMETHEUS_PORT", FLAG_STR, &O.metrics_addr,
	  "serve /metrics and /healthz on this address (\"127.0.0.1:9154\")" },
	{ "verbose", NULL, FLAG_BOOL, &O.verbose, "log every status change and round" },
};
#define NFLAGS (sizeof FLAGS / sizeof FLAGS[0])

static const struct flags_doc DOC = {
	"health checks for the addresses behind skydns's records", "-etcd3 [-flag value ...]",
	"skydns-check connects to the addresses of the records under the domain and writes "
	"/<prefix>/monitor/status/<ip> in etcd; skydns leaves DOWN addresses out of its answers. "
	"Several checkers share the addresses between them.",
	"skydns(1), kube2sky(1)",
};

static int parse_flags(int argc, char **argv)
{
	return flags_parse("skydns-check", FLAGS, NFLAGS, &DOC, argc, argv);
}

/* ------------------------------------------------------------ state */

static volatile sig_atomic_t g_stop;
static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static char g_checkers_dir[512], g_status_dir[512], g_records_dir[1100], g_self_key[1024];
static char g_self_value[512];
static _Atomic uint64_t g_lease;
static _Atomic int64_t g_last_ok; /* unix seconds of the last complete round */
static struct etcd_opts g_eopts;

static struct metrics *g_m;
static struct series *m_addrs, *m_owned, *m_down, *m_checkers, *m_up_checks, *m_down_checks,
	*m_w_up, *m_w_down, *m_etcd_err, *m_round, *m_lease_lost;

struct addr {
	char ip[64];
	uint8_t raw[16];
	int family;
	bool owned;
	bool has_state;
	struct check_state st;
	/* the status key as read this round */
	bool key;
	bool key_down;
	uint64_t key_lease;
	char *key_value;
};

struct round {
	struct addr *a;
	size_t n, cap;
	char **ids;
	int nids, capids;
};

static int addr_cmp(const void *x, const void *y)
{
	return strcmp(((const struct addr *)x)->ip, ((const struct addr *)y)->ip);
}

/* States survive rounds: kept sorted by ip. */
static struct addr *g_state;
static size_t g_nstate;

static struct addr *find(struct addr *v, size_t n, const char *ip)
{
	if (n == 0)
		return NULL;
	struct addr k;
	snprintf(k.ip, sizeof k.ip, "%s", ip);
	return bsearch(&k, v, n, sizeof *v, addr_cmp);
}

static int add_addr(struct round *r, const char *ip, const uint8_t raw[16], int family)
{
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 64;
		struct addr *na = realloc(r->a, nc * sizeof *na);
		if (!na)
			return SKY_ENOMEM;
		r->a = na;
		r->cap = nc;
	}
	struct addr *a = &r->a[r->n++];
	memset(a, 0, sizeof *a);
	snprintf(a->ip, sizeof a->ip, "%s", ip);
	memcpy(a->raw, raw, 16);
	a->family = family;
	return 0;
}

static int record_kv(void *arg, const struct etcd_kv *kv)
{
	struct round *r = arg;
	struct service svc;
	if (msg_service_parse(kv->value, kv->value_len, &svc, NULL) != 0)
		return 0;
	uint8_t raw[16];
	int fam = svc.host ? msg_parse_ip(svc.host, raw) : 0;
	int rc = 0;
	if (fam) {
		char txt[64];
		inet_ntop(fam == 4 ? AF_INET : AF_INET6, raw, txt, sizeof txt);
		rc = add_addr(r, txt, raw, fam);
	}
	msg_service_clear(&svc);
	return rc;
}

static int checker_kv(void *arg, const struct etcd_kv *kv)
{
	struct round *r = arg;
	const char *id = kv->key + strlen(g_checkers_dir) + 1;
	if (!*id || strchr(id, '/'))
		return 0;
	if (r->nids == r->capids) {
		int nc = r->capids ? r->capids * 2 : 8;
		char **ni = realloc(r->ids, (size_t)nc * sizeof *ni);
		if (!ni)
			return SKY_ENOMEM;
		r->ids = ni;
		r->capids = nc;
	}
	r->ids[r->nids] = strdup(id);
	return r->ids[r->nids++] ? 0 : SKY_ENOMEM;
}

struct status_read {
	struct round *r;
	char **stale; /* my keys for addresses no longer in the records */
	size_t nstale, capstale;
};

static int status_kv(void *arg, const struct etcd_kv *kv)
{
	struct status_read *sr = arg;
	const char *ip = kv->key + strlen(g_status_dir) + 1;
	struct addr *a = find(sr->r->a, sr->r->n, ip);
	if (!a) {
		if (kv->lease && kv->lease == atomic_load(&g_lease)) {
			if (sr->nstale == sr->capstale) {
				size_t nc = sr->capstale ? sr->capstale * 2 : 8;
				char **ns = realloc(sr->stale, nc * sizeof *ns);
				if (!ns)
					return SKY_ENOMEM;
				sr->stale = ns;
				sr->capstale = nc;
			}
			sr->stale[sr->nstale] = strdup(kv->key);
			if (!sr->stale[sr->nstale++])
				return SKY_ENOMEM;
		}
		return 0;
	}
	cJSON *root = cJSON_ParseWithLength(kv->value, kv->value_len);
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "status");
	a->key = true;
	a->key_down = cJSON_IsString(st) && strcasecmp(st->valuestring, "DOWN") == 0;
	a->key_lease = kv->lease;
	free(a->key_value);
	a->key_value = root ? strdup(kv->value) : NULL;
	cJSON_Delete(root);
	return 0;
}

/* The new value: the old one with "status" replaced (other fields, such as
 * the seed's "ports", kept). */
static char *status_value(const struct addr *a, bool down)
{
	cJSON *root = a->key_value ? cJSON_Parse(a->key_value) : NULL;
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		root = cJSON_CreateObject();
	}
	if (!root)
		return NULL;
	cJSON_DeleteItemFromObjectCaseSensitive(root, "status");
	cJSON_AddStringToObject(root, "status", down ? "DOWN" : "UP");
	char *s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return s;
}

static void round_free(struct round *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->a[i].key_value);
	free(r->a);
	for (int i = 0; i < r->nids; i++)
		free(r->ids[i]);
	free(r->ids);
	memset(r, 0, sizeof *r);
}

static void dedup(struct round *r)
{
	if (r->n == 0)
		return;
	qsort(r->a, r->n, sizeof *r->a, addr_cmp);
	size_t w = 1;
	for (size_t i = 1; i < r->n; i++)
		if (strcmp(r->a[i].ip, r->a[w - 1].ip) != 0)
			r->a[w++] = r->a[i];
	r->n = w;
}

static int register_self(struct etcd_client *c, uint64_t lease)
{
	return etcd_put_lease(c, g_self_key, g_self_value, lease);
}

/* One round: read, pick, check, write. */
static int do_round(struct etcd_client *c, const uint16_t *ports, int nports)
{
	struct round r = { 0 };
	struct status_read sr = { .r = &r };
	uint64_t rev;
	int rc = etcd_get_prefix(c, g_checkers_dir, checker_kv, &r, &rev);
	if (rc == 0) {
		rc = etcd_get_prefix(c, g_records_dir, record_kv, &r, &rev);
		if (rc == SKY_ENOTFOUND)
			rc = 0;
	}
	if (rc == 0) {
		dedup(&r);
		rc = etcd_get_prefix(c, g_status_dir, status_kv, &sr, &rev);
		if (rc == SKY_ENOTFOUND)
			rc = 0;
	}
	if (rc != 0) {
		log_warn(COMP, "reading etcd: %s", etcd_last_error(c));
		series_add(m_etcd_err, 1);
		goto out;
	}
	uint64_t lease = atomic_load(&g_lease);
	bool self_live = false;
	for (int i = 0; i < r.nids; i++)
		self_live |= strcmp(r.ids[i], O.id) == 0;
	if (!self_live && lease) { /* deleted by hand, or the lease was renewed meanwhile */
		if (register_self(c, lease) == 0)
			rc = checker_kv(&r, &(struct etcd_kv){ .key = g_self_key });
		if (rc != 0)
			goto out;
	}

	/* Which addresses are mine; carry their states over. */
	size_t nown = 0;
	for (size_t i = 0; i < r.n; i++) {
		int o = check_owner((const char *const *)r.ids, r.nids, r.a[i].ip);
		struct addr *a = &r.a[i];
		a->owned = o >= 0 && strcmp(r.ids[o], O.id) == 0;
		if (!a->owned)
			continue;
		nown++;
		struct addr *old = find(g_state, g_nstate, a->ip);
		if (old && old->has_state) {
			a->st = old->st;
		} else {
			/* New to this checker: start from what etcd says. */
			a->st.down = a->key && a->key_down;
			a->st.streak = 0;
		}
		a->has_state = true;
	}
	struct check_target *t = calloc(nown ? nown : 1, sizeof *t);
	if (!t) {
		rc = SKY_ENOMEM;
		goto out;
	}
	size_t k = 0;
	for (size_t i = 0; i < r.n; i++) {
		if (!r.a[i].owned)
			continue;
		snprintf(t[k].ip, sizeof t[k].ip, "%s", r.a[i].ip);
		memcpy(t[k].addr, r.a[i].raw, 16);
		t[k].family = r.a[i].family;
		k++;
	}
	rc = check_run(t, nown, ports, nports, icmp_mode, (int)(O.timeout * 1000));
	if (rc != 0) {
		free(t);
		goto out;
	}
	size_t ndown = 0;
	k = 0;
	for (size_t i = 0; i < r.n && !g_stop; i++) {
		struct addr *a = &r.a[i];
		if (!a->owned)
			continue;
		bool ok = t[k++].ok;
		series_add(ok ? m_up_checks : m_down_checks, 1);
		bool changed = check_feed(&a->st, ok, O.rise, O.fall);
		if (changed)
			log_info(COMP, "%s is %s", a->ip, a->st.down ? "DOWN" : "UP");
		bool mine = a->key && a->key_lease == lease;
		bool same = a->key ? a->key_down == a->st.down : !a->st.down;
		/* Write on a change of status, or to hold a key another lease
		 * (a dead or former owner) holds; nothing for an UP address
		 * without a key (no key = UP). */
		bool write = !same || (a->key && !mine);
		if (a->st.down)
			ndown++;
		if (!write)
			continue;
		char key[1200];
		snprintf(key, sizeof key, "%s/%s", g_status_dir, a->ip);
		char *v = status_value(a, a->st.down);
		int wrc = v ? etcd_put_lease(c, key, v, lease) : SKY_ENOMEM;
		if (wrc == 0) {
			series_add(a->st.down ? m_w_down : m_w_up, 1);
			log_debug(COMP, "wrote %s = %s", key, v);
		} else {
			log_warn(COMP, "writing %s: %s", key, etcd_last_error(c));
			series_add(m_etcd_err, 1);
			rc = wrc;
		}
		free(v);
	}
	free(t);
	for (size_t i = 0; i < sr.nstale && !g_stop; i++) {
		if (etcd_delete(c, sr.stale[i]) == 0)
			log_info(COMP, "removed %s (no record holds that address)", sr.stale[i]);
	}

	/* Keep the states of the addresses owned now. */
	struct addr *ns = calloc(nown ? nown : 1, sizeof *ns);
	if (ns) {
		size_t w = 0;
		for (size_t i = 0; i < r.n; i++)
			if (r.a[i].owned) {
				ns[w] = r.a[i];
				ns[w].key_value = NULL;
				w++;
			}
		free(g_state);
		g_state = ns;
		g_nstate = w;
	}
	series_set(m_addrs, (double)r.n);
	series_set(m_owned, (double)nown);
	series_set(m_down, (double)ndown);
	series_set(m_checkers, (double)r.nids);
	if (O.verbose)
		log_info(COMP, "round: %zu addresses, %zu mine, %zu down, %d checkers", r.n, nown,
			 ndown, r.nids);
out:
	for (size_t i = 0; i < sr.nstale; i++)
		free(sr.stale[i]);
	free(sr.stale);
	round_free(&r);
	return rc;
}

/* ------------------------------------------------------------ lease thread */

static void *keepalive_main(void *arg)
{
	(void)arg;
	struct etcd_client *c;
	if (etcd_new(&g_eopts, &c) != 0)
		return NULL;
	int period_ms = O.lease_ttl * 1000 / 3;
	while (!g_stop) {
		for (int slept = 0; slept < period_ms && !g_stop; slept += 100)
			usleep(100 * 1000);
		if (g_stop)
			break;
		int64_t ttl = 0;
		uint64_t id = atomic_load(&g_lease);
		int rc = etcd_lease_keepalive(c, id, &ttl);
		if (rc == SKY_ENOTFOUND) {
			/* Expired (etcd unreachable for longer than the TTL, say):
			 * a new lease; the next round re-registers and takes its
			 * keys back. */
			uint64_t nid;
			series_add(m_lease_lost, 1);
			if (etcd_lease_grant(c, (unsigned)O.lease_ttl, &nid) == 0 &&
			    register_self(c, nid) == 0) {
				atomic_store(&g_lease, nid);
				log_warn(COMP, "lease %" PRIx64 " was gone; now %" PRIx64, id, nid);
			} else {
				log_warn(COMP, "new lease: %s", etcd_last_error(c));
			}
		} else if (rc != 0) {
			series_add(m_etcd_err, 1);
			log_warn(COMP, "lease keepalive: %s", etcd_last_error(c));
		}
	}
	etcd_free(c);
	return NULL;
}

/* ------------------------------------------------------------ http */

static int http_metrics(void *arg, char **body, size_t *len, const char **ctype)
{
	(void)arg;
	*body = metrics_render(g_m, len);
	*ctype = "text/plain; version=0.0.4";
	return *body ? 200 : 500;
}

static int http_healthz(void *arg, char **body, size_t *len, const char **ctype)
{
	(void)arg;
	int64_t age = (int64_t)time(NULL) - atomic_load(&g_last_ok);
	double max = 3 * O.interval + O.timeout + O.lease_ttl;
	bool ok = atomic_load(&g_last_ok) && age <= (int64_t)max + 1;
	*body = strdup(ok ? "ok\n" : "no complete round lately\n");
	*len = *body ? strlen(*body) : 0;
	*ctype = "text/plain";
	return ok ? 200 : 503;
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	if (parse_flags(argc, argv) != 0)
		return 2;
	if (O.verbose)
		log_set_level(LOG_LVL_DEBUG);
	if (!O.etcd.etcd3) {
		fprintf(stderr, "skydns-check: etcd v3 is needed (statuses live on a lease); run with -etcd3\n");
		return 2;
	}
	uint16_t ports[MAX_PORTS];
	int nports = check_parse_ports(O.ports, ports, MAX_PORTS);
	if (nports < 0) {
		fprintf(stderr, "skydns-check: bad -scan-ports %s (want \"22,80,8080\")\n", O.ports);
		return 2;
	}
	if (nports == 0 && !O.icmp) {
		fprintf(stderr, "skydns-check: nothing to check with: give -scan-ports or -enable-icmp\n");
		return 2;
	}
	const char *why = NULL;
	if (O.icmp && check_icmp_pick(O.icmp_socket, &icmp_mode, &why) != 0) {
		fprintf(stderr, "skydns-check: -enable-icmp -icmp-socket %s: %s\n", O.icmp_socket, why);
		return 2;
	}
	if (O.interval <= 0 || O.timeout <= 0 || O.timeout > O.interval) {
		fprintf(stderr, "skydns-check: want 0 < -check-timeout <= -check-interval\n");
		return 2;
	}
	if (O.lease_ttl < 2) {
		fprintf(stderr, "skydns-check: -lease-ttl must be at least 2 seconds\n");
		return 2;
	}
	char host[256] = "";
	if (!*O.id) {
		if (gethostname(host, sizeof host - 1) != 0 || !*host)
			snprintf(host, sizeof host, "checker-%d", (int)getpid());
		O.id = host;
	}
	if (strchr(O.id, '/')) {
		fprintf(stderr, "skydns-check: -checker-id must not contain '/'\n");
		return 2;
	}
	size_t plen;
	const char *pfx = msg_prefix_trim(O.prefix, &plen);
	char path[MSG_NAME_MAX];
	if (msg_name_to_path(O.domain, path, sizeof path) < 0) {
		fprintf(stderr, "skydns-check: bad -domain %s\n", O.domain);
		return 2;
	}
	snprintf(g_checkers_dir, sizeof g_checkers_dir, "/%.*s/monitor/checkers", (int)plen, pfx);
	snprintf(g_status_dir, sizeof g_status_dir, "/%.*s/monitor/status", (int)plen, pfx);
	snprintf(g_records_dir, sizeof g_records_dir, "/%.*s/%s", (int)plen, pfx, path);
	snprintf(g_self_key, sizeof g_self_key, "%s/%s", g_checkers_dir, O.id);
	snprintf(g_self_value, sizeof g_self_value, "{\"id\":\"%s\",\"pid\":%d,\"started\":%lld}",
		 O.id, (int)getpid(), (long long)time(NULL));

	/* etcd client options (the same flags as skydns's) */
	if (flags_etcd_opts(&O.etcd, &g_eopts) != 0) {
		fprintf(stderr, "skydns-check: bad -machines %s\n", O.etcd.machines);
		return 2;
	}
	struct etcd_client *c;
	if (etcd_new(&g_eopts, &c) != 0) {
		fprintf(stderr, "skydns-check: bad -machines %s\n", O.etcd.machines);
		return 2;
	}

	g_m = metrics_new("skydns", "check");
	struct metric *mg = metrics_add(g_m, METRIC_GAUGE, "addresses", "addresses found in the records", NULL, 0);
	m_addrs = metrics_series(mg, "");
	mg = metrics_add(g_m, METRIC_GAUGE, "addresses_owned", "addresses this checker checks", NULL, 0);
	m_owned = metrics_series(mg, "");
	mg = metrics_add(g_m, METRIC_GAUGE, "addresses_down", "addresses this checker holds DOWN", NULL, 0);
	m_down = metrics_series(mg, "");
	mg = metrics_add(g_m, METRIC_GAUGE, "checkers", "live checkers seen in etcd", NULL, 0);
	m_checkers = metrics_series(mg, "");
	mg = metrics_add(g_m, METRIC_COUNTER, "checks_total", "checks by result", NULL, 0);
	m_up_checks = metrics_series(mg, "result=\"up\"");
	m_down_checks = metrics_series(mg, "result=\"down\"");
	mg = metrics_add(g_m, METRIC_COUNTER, "status_writes_total", "status keys written", NULL, 0);
	m_w_up = metrics_series(mg, "status=\"UP\"");
	m_w_down = metrics_series(mg, "status=\"DOWN\"");
	mg = metrics_add(g_m, METRIC_COUNTER, "etcd_errors_total", "failed etcd requests", NULL, 0);
	m_etcd_err = metrics_series(mg, "");
	mg = metrics_add(g_m, METRIC_COUNTER, "lease_lost_total", "times the lease had expired", NULL, 0);
	m_lease_lost = metrics_series(mg, "");
	mg = metrics_add(g_m, METRIC_GAUGE, "round_seconds", "duration of the last round", NULL, 0);
	m_round = metrics_series(mg, "");

	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct httpd *h = NULL;
	if (*O.metrics_addr) {
		const struct httpd_route routes[] = { { "/metrics", http_metrics, NULL },
						      { "/healthz", http_healthz, NULL } };
		if (httpd_start(O.metrics_addr, routes, 2, &h) != 0) {
			fprintf(stderr, "skydns-check: cannot serve on -metrics-addr %s\n", O.metrics_addr);
			return 2;
		}
	}

	/* The lease and our checker key; an id another live checker holds is
	 * refused (two checkers with one id would both claim its addresses). */
	char *cur = NULL;
	int64_t gone_by = (int64_t)time(NULL) + O.lease_ttl + 2; /* a crashed self's key expires */
	while (etcd_get(c, g_self_key, &cur, NULL) == 0) {
		if ((int64_t)time(NULL) > gone_by || g_stop) {
			fprintf(stderr, "skydns-check: checker id %s is in use (%s holds %s); set -checker-id\n",
				O.id, cur, g_self_key);
			free(cur);
			return 2;
		}
		free(cur);
		cur = NULL;
		sleep(1);
	}
	uint64_t lease = 0;
	int64_t deadline = (int64_t)time(NULL) + 30;
	int rc;
	while ((rc = etcd_lease_grant(c, (unsigned)O.lease_ttl, &lease)) != 0 ||
	       (rc = register_self(c, lease)) != 0) {
		log_warn(COMP, "etcd: %s", etcd_last_error(c));
		if (rc == SKY_EAUTH || g_stop || (int64_t)time(NULL) > deadline) {
			fprintf(stderr, "skydns-check: etcd: %s\n", etcd_last_error(c));
			return 1;
		}
		sleep(1);
	}
	atomic_store(&g_lease, lease);
	log_info(COMP, "checker %s: lease %" PRIx64 " (%ds), checking %s every %.3gs (ports %s, icmp %s)",
		 O.id, lease, O.lease_ttl, g_records_dir, O.interval, O.ports,
		 check_icmp_name(icmp_mode));
	pthread_t ka;
	pthread_create(&ka, NULL, keepalive_main, NULL);

	while (!g_stop) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (do_round(c, ports, nports) == 0)
			atomic_store(&g_last_ok, (int64_t)time(NULL));
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		series_set(m_round, took);
		for (double left = O.interval - took; left > 0 && !g_stop; left -= 0.05)
			usleep((useconds_t)(left < 0.05 ? left * 1e6 : 50000));
	}

	/* Leaving: the checker key goes now (the others take the addresses at
	 * their next round); the statuses stay on the lease until it runs out,
	 * so DOWN marks hold while the others take over. */
	pthread_join(ka, NULL);
	etcd_delete(c, g_self_key);
	log_info(COMP, "stopped");
	if (h)
		httpd_stop(h);
	etcd_free(c);
	metrics_free(g_m);
	for (size_t i = 0; i < g_nstate; i++)
		free(g_state[i].key_value);
	free(g_state);
	return 0;
}
