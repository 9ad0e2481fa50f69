/* mirror.c - etcd -> snapshots. Two threads share one table of records:
 *
 *  watcher    reads the whole /<prefix>/ (etcd_get_prefix), then follows
 *             etcd_watch, applying events to the table; on compaction, a
 *             broken stream or etcd going away it re-reads (after a jittered
 *             backoff), so the table is always a faithful copy of etcd.
 *  publisher  publishes the table's record tree as a snapshot: after every
 *             watch batch (a publish shares the tree, O(1); a change to the
 *             tree copies O(log n) nodes, see rtree.h), when the earliest
 *             TTL/lease passes, and on reload. It also owns the live config
 *             (/<prefix>/config).
 *
 * The watcher is blocked inside etcd_watch most of the time, which is why
 * timers live in a thread of their own.
 */
#include "mirror.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "dname.h"
#include "err.h"
#include "etcd.h"
#include "health.h"
#include "log.h"
#include "marker.h"
#include "mirror_int.h"
#include "msg.h"
#include "record.h"
#include "rtree.h"
#include "snapshot.h"
#include "snapstore.h"
#include "stats.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define QUICK_RETRY_MS 5000

/* ------------------------------------------------------------ state */

enum link_state { LINK_START, LINK_UP, LINK_DOWN };

struct mirror {
	struct config base;
	struct snapstore *store;
	struct stats *stats;         /* may be NULL */
	char prefix[CONFIG_STR + 1]; /* "/skydns" */
	char status_rel[CONFIG_STR + 1]; /* "monitor/status/": status keys' path; "" = none */
	struct health *health;       /* the DOWN set the snapshots share; NULL = none */
	const char *rel_prefix;      /* "skydns" */
	unsigned prefix_depth;
	pthread_t watcher, publisher;
	volatile bool stop;

	pthread_mutex_t mu; /* guards everything below */
	pthread_cond_t cv;  /* CLOCK_MONOTONIC */
	struct table tab;   /* shape changed by the watcher only; the publisher
			     * updates expiry fields; every write under mu */
	struct marks marks; /* kube2sky's zone markers; written by the watcher only */
	char *cfg_json;     /* value of /<prefix>/config, NULL if absent */
	bool cfg_dirty;
	struct config eff;  /* effective config: base + last good cfg_json */
	uint64_t revision;
	bool dirty, reload, ready;

	/* The store the table mirrors, to tell a new one (wiped, restored,
	 * recreated) from the same one coming back. */
	uint64_t cluster_id; /* 0 = not known */
	bool have_store;     /* a full read succeeded before */
	bool hold;           /* a new store is filling: keep the old snapshot */
	int64_t hold_until_ms;

	atomic_bool connected;
	_Atomic int64_t last_contact;
	_Atomic uint64_t new_stores;
};


/* The stop flag is a volatile bool because etcd_watch() takes one; access it
 * atomically all the same. */
static bool stopping(struct mirror *m)
{
	return __atomic_load_n(&m->stop, __ATOMIC_ACQUIRE);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void mark_dirty(struct mirror *m)
{
	m->dirty = true;
	pthread_cond_broadcast(&m->cv);
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Record the config value (NULL = deleted); caller holds mu. */
static int set_config_json(struct mirror *m, const char *v, size_t len)
{
	char *copy = NULL;
	if (v && !(copy = strndup(v, len)))
		return SKY_ENOMEM;
	if (same_str(copy, m->cfg_json)) {
		free(copy);
		return 0;
	}
	free(m->cfg_json);
	m->cfg_json = copy;
	m->cfg_dirty = true;
	return 0;
}

/* The name a record's path stands for must be a DNS name, or every answer
 * that would carry it (SRV of its directories up to the apex) fails to
 * encode. A "//", leading or trailing '/' (possible in v3 keys) is an empty
 * label too, one that msg_path_to_name() would silently drop. */
static int check_path(const char *path, const char **why)
{
	size_t n = strlen(path);
	char name[MSG_NAME_MAX];
	if (path[0] == '/' || path[n - 1] == '/' || strstr(path, "//")) {
		*why = "empty label";
		return SKY_EPARSE;
	}
	if (msg_path_to_name(path, n, name, sizeof name) < 0) {
		*why = "name over 255 bytes";
		return SKY_EPARSE;
	}
	return dname_check(name, why);
}

/* Why an entry cannot be published, or -1 when it can. */
static int check_entry(const char *path, const struct etcd_kv *kv, struct service *svc,
		       const char **why, char *unknown, size_t cap)
{
	if (check_path(path, why) != 0)
		return SKIP_BAD_NAME;
	if (msg_service_parse_ex(kv->value ? kv->value : "", kv->value_len, svc, why, unknown,
				 cap) != 0) {
		if (!*why)
			*why = "not a service";
		return SKIP_BAD_JSON;
	}
	if (svc->host && svc->host[0] && dname_check_host(svc->host, why) != 0)
		return SKIP_BAD_HOST;
	return -1;
}

static bool is_status(const struct mirror *m, const char *path)
{
	size_t n = strlen(m->status_rel);
	return n && strncmp(path, m->status_rel, n) == 0 && path[n] && !strchr(path + n, '/');
}

/* A status key: {"status":"DOWN"|"UP"} for the address its path names. A
 * bad one is skipped like a bad record (the address stays up). */
static struct entry *make_status(struct mirror *m, struct entry *e, const char *path,
				 const struct etcd_kv *kv, const struct entry *old)
{
	struct health_addr a;
	const char *why = NULL;
	int bad = health_key_addr(path, &a) != 0 ? SKIP_BAD_NAME :
		  health_parse_status(kv->value, kv->value_len, &e->down, &why) != 0 ? SKIP_BAD_JSON : -1;
	if (!(e->own_path = strdup(path))) {
		free(e);
		return NULL;
	}
	e->path = e->own_path;
	if (bad < 0) {
		e->status = true;
		return e;
	}
	e->bad = true;
	e->down = false;
	if (!(old && old->bad && old->mod_revision == kv->mod_revision && kv->mod_revision)) {
		log_warn("mirror", "skipping key=%s: %s: %s", kv->key,
			 stats_skip_name((enum stat_skip)bad), why ? why : "not an IP address");
		stats_key_skipped(m->stats, (enum stat_skip)bad);
	}
	return e;
}

/* Parse a value into a new entry. A key that cannot be published becomes a
 * `bad` entry, logged and counted once per modification (`old` is the entry
 * it replaces): relists and rebuilds stay quiet. */
static struct entry *make_entry(struct mirror *m, const char *path, const struct etcd_kv *kv,
				const struct entry *old)
{
	struct entry *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->expires = kv->expires;
	e->mod_revision = kv->mod_revision;
	const char *why = NULL;
	if (is_status(m, path))
		return make_status(m, e, path, kv, old);
	struct service svc = { 0 };
	char unknown[64];
	int reason = check_entry(path, kv, &svc, &why, unknown, sizeof unknown);
	if (reason < 0) {
		/* SkyDNS ignored unknown fields ("hots"): served, but said once per
		 * modification. */
		if (unknown[0] && !(old && old->mod_revision == kv->mod_revision && kv->mod_revision))
			log_warn("mirror", "key=%s: unknown field \"%s\" ignored", kv->key, unknown);
		e->rec = record_new(path, strlen(path), &svc, kv->expires, m->prefix_depth);
		msg_service_clear(&svc);
		if (!e->rec) {
			free(e);
			return NULL;
		}
		e->path = e->rec->path;
		return e;
	}
	msg_service_clear(&svc);
	e->bad = true;
	if (!(e->own_path = strdup(path))) {
		free(e);
		return NULL;
	}
	e->path = e->own_path;
	if (!(old && old->bad && old->mod_revision == kv->mod_revision && kv->mod_revision)) {
		log_warn("mirror", "skipping key=%s: %s: %s", kv->key,
			 stats_skip_name((enum stat_skip)reason), why);
		stats_key_skipped(m->stats, (enum stat_skip)reason);
	}
	return e;
}

/* ------------------------------------------------------------ watcher */

struct load {
	struct mirror *m;
	struct table tab;
	struct marks marks;
	char *cfg;
	bool has_cfg;
};

static int load_kv(void *arg, const struct etcd_kv *kv)
{
	struct load *ld = arg;
	const char *path = msg_key_to_path(ld->m->rel_prefix, kv->key);
	if (!path || !*path)
		return 0;
	if (strcmp(path, "config") == 0) {
		free(ld->cfg);
		ld->cfg = strndup(kv->value ? kv->value : "", kv->value_len);
		ld->has_cfg = true;
		return ld->cfg ? 0 : SKY_ENOMEM;
	}
	/* The live table and marks are only written by this thread: reading
	 * them unlocked here is safe, and lets a relist not re-log bad keys. */
	if (marker_is_path(path) && !marker_is_key(path))
		return 0; /* kube2sky's own (its leader key) */
	if (marker_is_path(path)) {
		struct mark mk;
		if (mark_make(path, kv, marks_get(&ld->m->marks, path), &mk) != 0)
			return SKY_ENOMEM;
		return marks_put(&ld->marks, &mk, false);
	}
	struct entry *e = make_entry(ld->m, path, kv, table_get(&ld->m->tab, path));
	return e ? table_put(&ld->tab, e) : SKY_ENOMEM;
}

static int on_event(void *arg, const struct etcd_event *ev, bool last)
{
	struct mirror *m = arg;
	const char *path = msg_key_to_path(m->rel_prefix, ev->kv.key);
	int rc = 0;
	atomic_store(&m->last_contact, (int64_t)time(NULL));
	struct entry *e = NULL;
	struct mark mk;
	bool put = ev->type == ETCD_EV_PUT;
	bool is_cfg = path && strcmp(path, "config") == 0;
	bool is_mark = path && marker_is_path(path);
	bool is_own = is_mark && !marker_is_key(path); /* kube2sky's leader key */
	if (is_mark && !is_own && put && mark_make(path, &ev->kv, marks_get(&m->marks, path), &mk) != 0)
		return SKY_ENOMEM;
	if (path && put && *path && !is_cfg && !is_mark &&
	    !(e = make_entry(m, path, &ev->kv, table_get(&m->tab, path))))
		return SKY_ENOMEM;
	pthread_mutex_lock(&m->mu);
	if (!path) {
		/* outside the prefix: cannot happen with a prefix watch */
	} else if (is_cfg) {
		rc = set_config_json(m, put ? ev->kv.value : NULL, ev->kv.value_len);
	} else if (is_own) {
		/* neither a record nor a marker */
	} else if (put && is_mark) {
		bool valid = !mk.bad;
		rc = marks_put(&m->marks, &mk, true);
		if (valid && m->hold) {
			m->hold = false;
			log_info("mirror", "new etcd store filled (kube2sky marker key=%s): publishing it",
				 ev->kv.key);
		}
	} else if (put) {
		if (e)
			rc = table_put(&m->tab, e);
	} else if (!m->base.etcd3) {
		/* v2 deletes directories in one event; a v2 leaf has no children,
		 * so removing the subtree is right for leaves too. */
		rc = table_del_tree(&m->tab, path);
		marks_del(&m->marks, path, true);
		if (!*path && rc == 0) /* the whole /<prefix> directory, config included */
			rc = set_config_json(m, NULL, 0);
	} else if (is_mark) {
		marks_del(&m->marks, path, false);
	} else {
		rc = table_del(&m->tab, path);
	}
	if (ev->kv.mod_revision > m->revision)
		m->revision = ev->kv.mod_revision;
	if (last)
		mark_dirty(m);
	pthread_mutex_unlock(&m->mu);
	return rc;
}

/* A store whose revision went backwards, whose cluster ID changed, or that
 * lost kube2sky's sync marker is not the store the table mirrors: it was
 * wiped, recreated or restored. Its keys are coming (kube2sky rewrites
 * them), so the old snapshot stays published until kube2sky marks the new
 * store synced, or new_store_grace passes. Caller holds mu. */
static void check_new_store(struct mirror *m, const struct load *ld, uint64_t rev, uint64_t cid)
{
	bool cid_changed = cid && m->cluster_id && cid != m->cluster_id;
	bool had = marks_valid(&m->marks), has = marks_valid(&ld->marks);
	bool backwards = rev < m->revision, lost_marker = had && !has;
	if (!m->have_store || !(cid_changed || backwards || lost_marker))
		return;
	atomic_fetch_add(&m->new_stores, 1);
	char why[160];
	snprintf(why, sizeof why, "%s%s%s", cid_changed ? "cluster ID changed, " : "",
		 backwards ? "revision went backwards, " : "",
		 lost_marker ? "kube2sky's sync marker is gone, " : "");
	why[strlen(why) - 2] = '\0';
	if (has) {
		log_warn("mirror", "etcd prefix=%s is a new store (%s; revision %llu -> %llu); it "
			 "holds a kube2sky sync marker: serving it", m->prefix, why,
			 (unsigned long long)m->revision, (unsigned long long)rev);
		return;
	}
	int ms = m->eff.new_store_grace_ms;
	log_warn("mirror", "etcd prefix=%s is a new store (%s; revision %llu -> %llu): serving "
		 "the last snapshot until kube2sky marks it synced or %d ms pass", m->prefix, why,
		 (unsigned long long)m->revision, (unsigned long long)rev, ms);
	if (ms > 0) {
		m->hold = true;
		m->hold_until_ms = mono_ms() + ms;
	}
}

/* Read everything; on success swap it in and ask for an immediate publish. */
static int full_read(struct mirror *m, struct etcd_client *c, uint64_t *rev)
{
	struct load ld = { .m = m };
	int rc = etcd_get_prefix(c, m->prefix, load_kv, &ld, rev);
	if (rc != 0) {
		table_free(&ld.tab);
		marks_free(&ld.marks);
		free(ld.cfg);
		return rc;
	}
	marks_log_changes(&m->marks, &ld.marks);
	uint64_t cid = etcd_cluster_id(c);
	pthread_mutex_lock(&m->mu);
	check_new_store(m, &ld, *rev, cid);
	m->have_store = true;
	if (cid)
		m->cluster_id = cid;
	table_free(&m->tab);
	m->tab = ld.tab;
	m->tab.health_changed = true; /* statuses the old table held may be gone */
	marks_free(&m->marks);
	m->marks = ld.marks;
	rc = set_config_json(m, ld.has_cfg ? ld.cfg : NULL, ld.cfg ? strlen(ld.cfg) : 0);
	m->revision = *rev;
	mark_dirty(m);
	size_t n = m->tab.count;
	pthread_mutex_unlock(&m->mu);
	free(ld.cfg);
	/* The read's transient peak (the response body, its JSON tree, the old
	 * table) is freed now but stays in the heap: give it back, or a relist
	 * at 100k keys leaves RSS tens of MB above what the records need. */
	malloc_trim(0);
	log_debug("mirror", "read prefix=%s keys=%zu revision=%llu", m->prefix, n,
		  (unsigned long long)*rev);
	return rc;
}

static void sleep_ms_interruptible(struct mirror *m, int ms)
{
	int64_t end = mono_ms() + ms;
	while (!stopping(m) && mono_ms() < end)
		usleep(20000);
}

static void link_change(struct mirror *m, enum link_state *st, enum link_state to,
			struct etcd_client *c, int rc)
{
	if (*st == to)
		return;
	if (to == LINK_UP) {
		atomic_store(&m->connected, true);
		pthread_mutex_lock(&m->mu);
		size_t n = m->tab.count;
		uint64_t rev = m->revision;
		pthread_mutex_unlock(&m->mu);
		log_info("mirror", "%s etcd prefix=%s keys=%zu revision=%llu",
			 *st == LINK_START ? "connected to" : "reconnected to", m->prefix, n,
			 (unsigned long long)rev);
	} else {
		atomic_store(&m->connected, false);
		log_warn("mirror", "etcd unavailable, %s: %s (%s); retrying with backoff",
			 *st == LINK_START ? "nothing to serve yet" : "serving the last snapshot",
			 etcd_last_error(c), err_str(rc));
	}
	*st = to;
}

static void *watcher_main(void *arg)
{
	struct mirror *m = arg;
	const char *machines[CONFIG_MAX_MACHINES];
	for (int i = 0; i < m->base.nmachines; i++)
		machines[i] = m->base.machines[i];
	struct etcd_opts o = {
		.machines = machines, .nmachines = m->base.nmachines, .v3 = m->base.etcd3,
		.ca_cert = m->base.ca_cert, .tls_pem = m->base.tls_pem, .tls_key = m->base.tls_key,
		.username = m->base.username, .password = m->base.password,
	};
	struct etcd_client *c = NULL;
	int rc = etcd_new(&o, &c);
	if (rc != 0) {
		log_error("mirror", "cannot create the etcd client: %s", err_str(rc));
		return NULL;
	}
	enum link_state st = LINK_START;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)m;
	int backoff = BACKOFF_MIN_MS;
	int64_t last_quick = -QUICK_RETRY_MS;
	while (!stopping(m)) {
		uint64_t rev = 0;
		rc = full_read(m, c, &rev);
		if (rc == 0) {
			link_change(m, &st, LINK_UP, c, 0);
			atomic_store(&m->last_contact, (int64_t)time(NULL));
			backoff = BACKOFF_MIN_MS;
			uint64_t last = rev;
			rc = etcd_watch(c, m->prefix, rev, on_event, m, &m->stop, &last);
			if (rc == SKY_ESTOPPED)
				break;
			if (rc == SKY_ECOMPACTED) {
				log_info("mirror", "watch history gone (%s), re-reading prefix=%s",
					 etcd_last_error(c), m->prefix);
				continue;
			}
			atomic_store(&m->last_contact, (int64_t)time(NULL));
			/* A broken stream (a member restarting, the client moving on
			 * to the next member) is re-read at once and quietly, at most
			 * every few seconds; only a failing read means etcd is down. */
			if (!stopping(m) && mono_ms() - last_quick >= QUICK_RETRY_MS) {
				last_quick = mono_ms();
				log_debug("mirror", "watch ended (%s: %s), re-reading", err_str(rc),
					  etcd_last_error(c));
				continue;
			}
		}
		if (stopping(m))
			break;
		link_change(m, &st, LINK_DOWN, c, rc);
		/* Full jitter in [backoff/2, backoff] keeps restarts of many
		 * replicas from hitting etcd in step. */
		int ms = backoff / 2 + (int)(rand_r(&seed) % (unsigned)(backoff / 2 + 1));
		sleep_ms_interruptible(m, ms);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	etcd_free(c);
	return NULL;
}

/* ------------------------------------------------------------ publisher */

/* Re-apply /<prefix>/config on top of the base; caller holds mu. */
static void apply_config(struct mirror *m)
{
	struct config nc = m->base;
	if (m->cfg_json) {
		char why[256] = "";
		if (config_apply_json(&nc, m->cfg_json, strlen(m->cfg_json), why, sizeof why) != 0) {
			log_warn("mirror", "bad config key=%s/config: %s; keeping the previous config",
				 m->prefix, why[0] ? why : "rejected");
			return;
		}
		config_finish(&nc);
	}
	char diff[512] = "";
	config_diff_restart(&m->eff, &nc, diff, sizeof diff);
	if (diff[0] && m->ready) /* before the first snapshot, main can still use it */
		log_warn("mirror", "config key=%s/config changed keys that need a restart: %s",
			 m->prefix, diff);
	log_info("mirror", "config applied key=%s/config%s", m->prefix,
		 m->cfg_json ? "" : " (deleted: flags and defaults only)");
	m->eff = nc;
}

/* A snapshot of the table as it is: its tree is shared, not copied, so
 * this is O(1) in the number of records. Caller holds mu. */
static struct snapshot *build(struct mirror *m)
{
	struct config *cfg = malloc(sizeof *cfg);
	struct marker *mk = m->marks.n ? calloc(m->marks.n, sizeof *mk) : NULL;
	size_t n = 0;
	if (!cfg || (m->marks.n && !mk)) {
		free(cfg);
		free(mk);
		return NULL;
	}
	*cfg = m->eff;
	for (size_t i = 0; i < m->marks.n; i++) {
		if (m->marks.v[i].bad)
			continue;
		size_t j = 0; /* one zone, one marker: the later wins */
		while (j < n && strcmp(mk[j].zone, m->marks.v[i].m.zone) != 0)
			j++;
		mk[j] = m->marks.v[i].m;
		n += j == n;
	}
	bool changed;
	struct health *h = table_health(&m->tab, &changed);
	if (changed) {
		health_unref(m->health);
		m->health = h;
	}
	struct snapshot *s = snapshot_new(rtree_share(m->tab.tree), cfg, m->revision, mk, n);
	free(mk);
	if (s)
		snapshot_set_health(s, m->health);
	return s;
}

/* The publisher's own client (clients are per thread), made on first use. */
static bool publisher_client(struct mirror *m, struct etcd_client **pc)
{
	if (!*pc) {
		const char *machines[CONFIG_MAX_MACHINES];
		for (int i = 0; i < m->base.nmachines; i++)
			machines[i] = m->base.machines[i];
		struct etcd_opts o = {
			.machines = machines, .nmachines = m->base.nmachines, .v3 = m->base.etcd3,
			.ca_cert = m->base.ca_cert, .tls_pem = m->base.tls_pem,
			.tls_key = m->base.tls_key, .username = m->base.username,
			.password = m->base.password, .timeout_ms = 2000,
		};
		if (etcd_new(&o, pc) != 0)
			return false;
	}
	return true;
}

#define VERIFY_MAX 256

struct expired {
	char *path;
	uint64_t mod_revision;
};

static int capture_expires(void *arg, const struct etcd_kv *kv)
{
	*(int64_t *)arg = kv->expires;
	return 0;
}

/* A record's expiry passed. Leases kept alive (v3) and v2 TTLs refreshed
 * with refresh=true produce no watch event, so ask etcd before letting the
 * record go; a key that is really gone is dropped now, and etcd's delete
 * event follows. Caller holds mu; it is dropped during the requests. */
static void verify_expired(struct mirror *m, struct etcd_client **pc, int64_t now)
{
	struct expired *x = calloc(VERIFY_MAX, sizeof *x);
	size_t n = 0;
	for (size_t i = 0; x && i < m->tab.nb; i++)
		for (struct entry *e = m->tab.b[i]; e; e = e->next) {
			if (!e->rec || e->exp_checked || !e->expires || e->expires > now)
				continue;
			e->exp_checked = true;
			if (n < VERIFY_MAX && (x[n].path = strdup(e->path)))
				x[n++].mod_revision = e->mod_revision;
		}
	pthread_mutex_unlock(&m->mu);
	bool up = n > 0 && publisher_client(m, pc);
	for (size_t i = 0; i < n; i++) {
		char key[CONFIG_STR + MSG_NAME_MAX];
		int64_t exp = -1;
		snprintf(key, sizeof key, "%s/%s", m->prefix, x[i].path);
		int rc = up ? etcd_get_kv(*pc, key, capture_expires, &exp) : SKY_EIO;
		if ((rc != 0 && rc != SKY_ENOTFOUND) || stopping(m))
			up = false; /* etcd is away: let TTLs run out as they are */
		if (rc == 0 && (exp == 0 || exp > now)) {
			pthread_mutex_lock(&m->mu);
			struct entry **pp = table_slot(&m->tab, x[i].path);
			if (pp && *pp && (*pp)->mod_revision == x[i].mod_revision &&
			    table_set_expires(&m->tab, *pp, exp) == 0)
				(*pp)->exp_checked = false;
			pthread_mutex_unlock(&m->mu);
		}
		free(x[i].path);
	}
	free(x);
	pthread_mutex_lock(&m->mu);
}

/* SIGHUP: fetch the config key directly, outside the lock. */
static void do_reload(struct mirror *m, struct etcd_client **pc)
{
	if (!publisher_client(m, pc))
		return;
	char key[CONFIG_STR + 16], *v = NULL;
	snprintf(key, sizeof key, "%s/config", m->prefix);
	int rc = etcd_get(*pc, key, &v, NULL);
	if (rc != 0 && rc != SKY_ENOTFOUND) {
		log_warn("mirror", "reload: cannot read key=%s: %s", key, etcd_last_error(*pc));
		return;
	}
	log_info("mirror", "reload: re-reading key=%s", key);
	pthread_mutex_lock(&m->mu);
	set_config_json(m, v, v ? strlen(v) : 0);
	m->cfg_dirty = true;
	mark_dirty(m);
	pthread_mutex_unlock(&m->mu);
	free(v);
}

/* When the next publish is due (ms, monotonic), or -1 if not dirty. A
 * publish shares the tree instead of rebuilding it, so there is nothing to
 * gain by waiting: every watch batch is published as soon as it is applied
 * (the old 50/200 ms coalescing window is gone). */
static int64_t publish_due(const struct mirror *m)
{
	return m->dirty ? 0 : -1;
}

static void wait_until_ms(struct mirror *m, int64_t deadline)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t ms = deadline - mono_ms();
	if (ms <= 0)
		return;
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&m->cv, &m->mu, &ts);
}

static void *publisher_main(void *arg)
{
	struct mirror *m = arg;
	struct etcd_client *c = NULL;
	pthread_mutex_lock(&m->mu);
	while (!stopping(m)) {
		if (m->reload) {
			m->reload = false;
			pthread_mutex_unlock(&m->mu);
			do_reload(m, &c);
			pthread_mutex_lock(&m->mu);
			continue;
		}
		struct timespec rt;
		clock_gettime(CLOCK_REALTIME, &rt);
		int64_t now_s = rt.tv_sec;
		int64_t now_rms = (int64_t)rt.tv_sec * 1000 + rt.tv_nsec / 1000000;
		int64_t next_expiry = m->tab.next_expiry;
		if (next_expiry && now_s + 1 >= next_expiry) {
			/* A TTL is about to run out: ask etcd a second early whether
			 * it was refreshed without an event (queries check expiry
			 * themselves, so a refresh learnt late would show a gap). */
			verify_expired(m, &c, now_s + 1);
			table_scan_expiry(&m->tab, now_s + 1);
			mark_dirty(m);
			continue;
		}
		int64_t due = publish_due(m), now = mono_ms();
		if (m->hold && now >= m->hold_until_ms) {
			m->hold = false;
			log_warn("mirror", "new etcd store prefix=%s not marked synced in time: "
				 "publishing the %zu keys it holds", m->prefix, m->tab.count);
		}
		if (m->hold && due >= 0) {
			wait_until_ms(m, m->hold_until_ms < now + 1000 ? m->hold_until_ms : now + 1000);
			continue;
		}
		if (due >= 0 && due <= now) {
			if (m->cfg_dirty) {
				m->cfg_dirty = false;
				apply_config(m);
			}
			struct snapshot *s = build(m);
			if (!s) {
				log_error("mirror", "out of memory building a snapshot; retrying in 1 s");
				wait_until_ms(m, now + 1000);
				continue;
			}
			m->dirty = false;
			/* Publishing may free old snapshots: not while holding up
			 * the watcher. Only this thread publishes. */
			pthread_mutex_unlock(&m->mu);
			snapstore_publish(m->store, s);
			pthread_mutex_lock(&m->mu);
			m->ready = true;
			pthread_cond_broadcast(&m->cv);
			continue;
		}
		/* Sleep until the publish is due, the next expiry (checked at
		 * least once a second), or a signal. */
		int64_t deadline = now + 1000;
		if (due >= 0 && due < deadline)
			deadline = due;
		if (next_expiry && next_expiry * 1000 - now_rms < deadline - now)
			deadline = now + (next_expiry * 1000 - now_rms);
		wait_until_ms(m, deadline);
	}
	pthread_mutex_unlock(&m->mu);
	etcd_free(c);
	return NULL;
}

/* The seed's ip_monitor_path, relative to the prefix the mirror follows
 * ("" in the config: /<prefix>/monitor/status/). A path outside the prefix
 * is not watched: say so once. */
static void status_path(struct mirror *m, const char *cfg)
{
	char def[CONFIG_STR + 32];
	if (!cfg[0]) {
		snprintf(def, sizeof def, "%s/monitor/status/", m->prefix);
		cfg = def;
	}
	size_t n = strlen(m->prefix);
	if (strncmp(cfg, m->prefix, n) != 0 || cfg[n] != '/' || !cfg[n + 1]) {
		log_warn("mirror", "ip_monitor_path=%s is outside prefix=%s: address statuses not followed",
			 cfg, m->prefix);
		return;
	}
	snprintf(m->status_rel, sizeof m->status_rel, "%s%s", cfg + n + 1,
		 cfg[strlen(cfg) - 1] == '/' ? "" : "/");
}


/* ------------------------------------------------------------ API */

int mirror_start(const struct config *base, struct snapstore *store, struct stats *stats,
		 struct mirror **out)
{
	*out = NULL;
	if (!base || !store || base->nmachines <= 0)
		return SKY_EINVAL;
	struct mirror *m = calloc(1, sizeof *m);
	if (!m)
		return SKY_ENOMEM;
	m->base = *base;
	m->eff = *base;
	m->store = store;
	m->stats = stats;
	const char *p = base->path_prefix;
	while (*p == '/')
		p++;
	size_t n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		n--;
	snprintf(m->prefix, sizeof m->prefix, "/%.*s", (int)n, p);
	m->rel_prefix = m->prefix + 1;
	status_path(m, base->ip_monitor_path);
	for (const char *q = m->prefix; *q; q++)
		m->prefix_depth += *q == '/';
	pthread_mutex_init(&m->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&m->publisher, NULL, publisher_main, m) != 0) {
		free(m);
		return SKY_ENOMEM;
	}
	if (pthread_create(&m->watcher, NULL, watcher_main, m) != 0) {
		__atomic_store_n(&m->stop, true, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&m->cv);
		pthread_join(m->publisher, NULL);
		free(m);
		return SKY_ENOMEM;
	}
	*out = m;
	return 0;
}

bool mirror_wait_ready(struct mirror *m, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	pthread_mutex_lock(&m->mu);
	while (!m->ready && mono_ms() < deadline)
		wait_until_ms(m, deadline);
	bool ready = m->ready;
	pthread_mutex_unlock(&m->mu);
	return ready;
}

bool mirror_connected(const struct mirror *m)
{
	return atomic_load(&((struct mirror *)m)->connected);
}

uint64_t mirror_new_stores(const struct mirror *m)
{
	return atomic_load(&((struct mirror *)m)->new_stores);
}

int64_t mirror_last_contact(const struct mirror *m)
{
	struct mirror *mm = (struct mirror *)m;
	/* While the watch stream is up we are in contact right now. */
	return atomic_load(&mm->connected) ? (int64_t)time(NULL) : atomic_load(&mm->last_contact);
}

void mirror_reload(struct mirror *m)
{
	pthread_mutex_lock(&m->mu);
	m->reload = true;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

void mirror_stop(struct mirror *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	__atomic_store_n(&m->stop, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	pthread_join(m->watcher, NULL);
	pthread_join(m->publisher, NULL);
	table_free(&m->tab);
	health_unref(m->health);
	marks_free(&m->marks);
	free(m->cfg_json);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
	free(m);
}
