/* main.c - the skydns daemon: configuration, then the snapshot store, the
 * etcd mirror, the forwarder and the DNS server, then signals.
 *
 *   SIGINT/SIGTERM  clean shutdown, exit 0
 *   SIGHUP          re-read the config key in etcd (mirror_reload)
 *
 * Exit codes: 0 normal (also -h/-version), 1 start-up failure, 2 bad flags.
 */
#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "activation.h"
#include "config.h"
#include "dnssec.h"
#include "err.h"
#include "etcd.h"
#include "forward.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "mirror.h"
#include "pemfile.h"
#include "server.h"
#include "snapshot.h"
#include "snapstore.h"
#include "stats.h"

struct daemon {
	struct config cfg;
	struct activated act;
	struct snapstore *store;
	struct mirror *mirror;
	struct forwarder *fwd;
	struct dnssec *dnssec;
	struct stats *stats;
	struct httpd *httpd, *health;
	struct server *server;
	atomic_bool lameduck; /* SIGTERM seen: /readyz fails, answers go on */
};

/* ------------------------------------------------------------ http */

static int http_text(char **body, size_t *len, const char **ctype, int status, const char *text)
{
	*body = strdup(text);
	*len = *body ? strlen(*body) : 0;
	*ctype = "text/plain; charset=utf-8";
	return *body ? status : 500;
}

static int http_metrics(void *arg, char **body, size_t *len, const char **ctype)
{
	struct daemon *d = arg;
	*body = metrics_render(stats_registry(d->stats), len);
	*ctype = "text/plain; version=0.0.4; charset=utf-8";
	return *body ? 200 : 500;
}

static int http_healthz(void *arg, char **body, size_t *len, const char **ctype)
{
	(void)arg;
	return http_text(body, len, ctype, 200, "ok\n");
}

/* Ready: a snapshot is published and no lame duck period has begun. etcd
 * going away after that does not count (the snapshot is still served, and
 * every replica would drop out of the Service at once), unless
 * ready_max_age asks for it: then etcd must have been reached within that
 * many seconds. */
static int http_readyz(void *arg, char **body, size_t *len, const char **ctype)
{
	struct daemon *d = arg;
	uint64_t rev;
	int64_t created;
	size_t count;
	if (atomic_load(&d->lameduck))
		return http_text(body, len, ctype, 503, "shutting down\n");
	snapstore_info(d->store, &rev, &created, &count);
	if (created == 0)
		return http_text(body, len, ctype, 503, "no snapshot yet\n");
	int64_t age = (int64_t)time(NULL) - mirror_last_contact(d->mirror);
	bool connected = mirror_connected(d->mirror);
	if (!connected && d->cfg.ready_max_age > 0 && age > d->cfg.ready_max_age)
		return http_text(body, len, ctype, 503, "etcd unreachable\n");
	return http_text(body, len, ctype, 200,
			 connected ? "ready\n" : "ready, serving the last snapshot; etcd unreachable\n");
}

static double gauge_connected(void *arg)
{
	struct daemon *d = arg;
	return mirror_connected(d->mirror) ? 1 : 0;
}

static double counter_new_stores(void *arg)
{
	struct daemon *d = arg;
	return d->mirror ? (double)mirror_new_stores(d->mirror) : 0;
}

static double gauge_snapshot(void *arg, int which)
{
	struct daemon *d = arg;
	uint64_t rev;
	int64_t created;
	size_t count;
	snapstore_info(d->store, &rev, &created, &count);
	if (which == 0)
		return (double)rev;
	if (which == 1)
		return created ? (double)(time(NULL) - created) : 0;
	return (double)count;
}

static double gauge_revision(void *arg) { return gauge_snapshot(arg, 0); }
static double gauge_age(void *arg) { return gauge_snapshot(arg, 1); }
static double gauge_records(void *arg) { return gauge_snapshot(arg, 2); }
static double gauge_down(void *arg) { return (double)snapstore_down(((struct daemon *)arg)->store); }

static void register_gauges(struct daemon *d)
{
	struct metrics *reg = stats_registry(d->stats);
	metrics_add_gauge_fn(reg, "etcd_connected", "1 while the etcd watch is connected.",
			     gauge_connected, d);
	metrics_add_gauge_fn(reg, "snapshot_revision", "etcd revision of the served snapshot.",
			     gauge_revision, d);
	metrics_add_gauge_fn(reg, "snapshot_age_seconds", "Seconds since the snapshot was built.",
			     gauge_age, d);
	metrics_add_gauge_fn(reg, "records_loaded", "Records in the served snapshot.",
			     gauge_records, d);
	metrics_add_gauge_fn(reg, "health_down_addresses",
			     "Addresses marked DOWN by status keys in the served snapshot.",
			     gauge_down, d);
	metrics_add_counter_fn(reg, "etcd_new_store_total",
			       "Times etcd turned out to be a new store (wiped, recreated, restored).",
			       counter_new_stores, d);
}

static int serve_http(const char *addr, const struct httpd_route *routes, int n,
		      struct httpd **out, const char *what)
{
	int rc = httpd_start(addr, routes, n, out);
	if (rc < 0)
		log_error("main", "cannot serve %s addr=%s error=%s", what, addr, err_str(rc));
	else
		log_info("main", "%s enabled addr=%s", what, addr);
	return rc;
}

/* /metrics on metrics_addr; /healthz and /readyz on health_addr, or next to
 * the metrics when health_addr is empty. Started last: the handlers read
 * the mirror. */
static int start_http(struct daemon *d)
{
	const struct config *c = &d->cfg;
	const struct httpd_route health[] = {
		{ "/healthz", http_healthz, d },
		{ "/readyz", http_readyz, d },
	};
	if (c->metrics_addr[0]) {
		const struct httpd_route routes[] = { { c->metrics_path, http_metrics, d }, health[0],
						      health[1] };
		int rc = serve_http(c->metrics_addr, routes, c->health_addr[0] ? 1 : 3, &d->httpd,
				    "metrics");
		if (rc < 0)
			return rc;
	}
	if (c->health_addr[0])
		return serve_http(c->health_addr, health, 2, &d->health, "health");
	return 0;
}

/* ------------------------------------------------------------ start/stop */

static int start_sockets(struct daemon *d)
{
	if (!d->cfg.systemd)
		return 0;
	char why[256] = "";
	int n = activation_sockets(&d->act, why, sizeof why);
	if (n < 0) {
		log_error("main", "socket activation failed: %s", why);
		return n;
	}
	if (n == 0) {
		/* SkyDNS refused to start here; binding -addr instead keeps a
		 * unit that lost its .socket (or a manual run) working. */
		log_warn("main", "-systemd given but no sockets were passed to this process; "
			 "binding addr=%s", d->cfg.dns_addr);
		return 0;
	}
	log_info("main", "socket activation sockets=%d", n);
	return 0;
}

/* SkyDNS reads /<prefix>/config once before it listens, so every key of it
 * (dns_addr, domain, hostmaster, local, the DNSSEC key, ...) wins over flags
 * before anything uses them: the whole effective config (flags + etcd JSON,
 * normalized by the mirror) replaces the flags' one. Wait that long for the
 * first snapshot; with etcd down, carry on with the flags (SkyDNS:
 * "unreadable config -> continue") and answer SERVFAIL until data arrives. */
#define STARTUP_CONFIG_WAIT_MS 3000

static void apply_startup_config(struct daemon *d)
{
	if (!mirror_wait_ready(d->mirror, STARTUP_CONFIG_WAIT_MS)) {
		log_warn("main", "no snapshot from etcd yet, using flags for dns_addr=%s domain=%s",
			 d->cfg.dns_addr, d->cfg.domain);
		return;
	}
	/* Reader slot 0 belongs to the first UDP worker, which does not run yet. */
	const struct snapshot *snap = snapstore_enter(d->store, 0);
	if (snap) {
		const struct config *eff = snapshot_config(snap);
		if (strcmp(eff->dns_addr, d->cfg.dns_addr) != 0)
			log_info("main", "dns_addr from etcd config: %s", eff->dns_addr);
		if (strcmp(eff->domain, d->cfg.domain) != 0)
			log_info("main", "domain from etcd config: %s", eff->domain);
		d->cfg = *eff;
	}
	snapstore_leave(d->store, 0);
}

static int load_dnssec(struct daemon *d)
{
	if (!d->cfg.dnssec[0])
		return 0;
	char why[256] = "";
	int rc = dnssec_load(d->cfg.dnssec, d->cfg.domain, &d->dnssec, why, sizeof why);
	if (rc < 0) {
		log_error("main", "cannot load DNSSEC key basename=%s: %s", d->cfg.dnssec, why);
		return rc;
	}
	if (dnssec_deprecated(d->dnssec))
		log_warn("main", "DNSSEC key basename=%s uses algorithm %u (RSASHA1), NOT RECOMMENDED "
			 "for signing (RFC 8624); use ECDSAP256SHA256 (13): "
			 "dnssec-keygen -a ECDSAP256SHA256 %s",
			 d->cfg.dnssec, dnssec_algorithm(d->dnssec), d->cfg.domain);
	return 0;
}

static int start(struct daemon *d)
{
	struct config *c = &d->cfg;
	int rc = start_sockets(d);
	if (rc < 0)
		return rc;
	if (c->metrics_addr[0]) {
		d->stats = stats_new(c->metrics_namespace, c->metrics_subsystem);
		if (!d->stats)
			return SKY_ENOMEM;
		register_gauges(d);
	}
	size_t n_udp = server_count_udp(d->act.fds, (size_t)d->act.nfds);
	d->store = snapstore_new(server_reader_slots(c, n_udp));
	if (!d->store)
		return SKY_ENOMEM;
	rc = mirror_start(c, d->store, d->stats, &d->mirror);
	if (rc < 0) {
		log_error("main", "cannot start the etcd mirror: %s", err_str(rc));
		return rc;
	}
	apply_startup_config(d);
	if ((rc = load_dnssec(d)) < 0)
		return rc;
	rc = forwarder_new(d->store, server_forwarder_slot(c, n_udp), &d->fwd);
	if (rc < 0) {
		log_warn("main", "no forwarder, names outside the domain get SERVFAIL: %s", err_str(rc));
		d->fwd = NULL;
	} else {
		forwarder_set_dnssec(d->fwd, d->dnssec);
		forwarder_set_stats(d->fwd, d->stats);
	}
	struct server_opts o = { .store = d->store, .fwd = d->fwd, .dnssec = d->dnssec,
				 .stats = d->stats, .fds = d->act.fds, .nfds = (size_t)d->act.nfds };
	rc = server_new(c, &o, &d->server);
	if (rc < 0) {
		log_error("main", "cannot start the DNS server addr=%s: %s", c->dns_addr, err_str(rc));
		return rc;
	}
	if ((rc = start_http(d)) < 0)
		return rc;
	rc = activation_drop_privileges(c->user);
	if (rc < 0) {
		log_error("main", "cannot drop privileges user=%s: %s", c->user, err_str(rc));
		return rc;
	}
	return 0;
}

/* Reverse order; the forwarder goes after the server has stopped (no new
 * submits) and before its sockets close (late replies still have them). */
static void stop(struct daemon *d)
{
	server_stop(d->server);
	if (d->mirror)
		mirror_stop(d->mirror);
	if (d->fwd)
		forwarder_free(d->fwd);
	server_free(d->server);
	if (d->httpd)
		httpd_stop(d->httpd);
	if (d->health)
		httpd_stop(d->health);
	stats_free(d->stats);
	if (d->dnssec)
		dnssec_free(d->dnssec);
	if (d->store)
		snapstore_free(d->store);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* SIGTERM/SIGINT: first a lame duck period (CoreDNS's health lameduck):
 * /readyz fails at once so the endpoint leaves the Service, queries are
 * still answered while clients and kube-proxy catch up; a second signal
 * ends it early. */
static void lame_duck(struct daemon *d, const sigset_t *set, int sig)
{
	int ms = d->cfg.lameduck_ms;
	const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";
	if (ms <= 0) {
		log_info("main", "signal %s: shutting down", name);
		return;
	}
	atomic_store(&d->lameduck, true);
	log_info("main", "signal %s: lame duck for %d ms (not ready, still answering)", name, ms);
	int64_t end = mono_ms() + ms;
	for (int64_t left; (left = end - mono_ms()) > 0;) {
		struct timespec tick = { (time_t)(left / 1000), (long)(left % 1000) * 1000000L };
		int again = sigtimedwait(set, NULL, &tick);
		if (again == SIGINT || again == SIGTERM) {
			log_info("main", "second signal: lame duck cut short");
			break;
		}
	}
	log_info("main", "lame duck over: shutting down");
}

/* Serve until SIGINT/SIGTERM. READY=1 goes to systemd once the first
 * snapshot is published, so a unit ordered after skydns sees real answers. */
static void wait_signals(struct daemon *d, const sigset_t *set)
{
	bool ready = false;
	for (;;) {
		if (!ready && mirror_wait_ready(d->mirror, 0)) {
			ready = true;
			activation_ready("serving");
			log_info("main", "first snapshot published");
		}
		struct timespec tick = { 0, ready ? 500000000L : 50000000L };
		int sig = sigtimedwait(set, NULL, &tick);
		if (sig < 0)
			continue;
		if (sig == SIGHUP) {
			log_info("main", "SIGHUP: reloading the config from etcd");
			mirror_reload(d->mirror);
			continue;
		}
		lame_duck(d, set, sig);
		return;
	}
}

/* Settings naming things on this machine, checked before anything starts:
 * found out later they would stop skydns only after etcd answered. */
static int check_files(const struct config *c)
{
	if (c->dnssec[0]) {
		static const char *const ext[2] = { ".key", ".private" };
		char base[sizeof c->dnssec];
		snprintf(base, sizeof base, "%s", c->dnssec);
		for (char *p = base; *p; p++)
			if (*p == ' ')
				*p = '+'; /* as dnssec_load: etcd form-encoding's '+' */
		for (int i = 0; i < 2; i++) {
			size_t bl = strlen(base), sl = strlen(ext[i]);
			if (bl > sl && strcmp(base + bl - sl, ext[i]) == 0)
				base[bl - sl] = '\0';
		}
		for (int i = 0; i < 2; i++) {
			char path[sizeof c->dnssec + 16];
			snprintf(path, sizeof path, "%s%s", base, ext[i]);
			if (access(path, R_OK) != 0) {
				fprintf(stderr, "skydns: invalid value \"%s\" for flag -dnssec: cannot read "
						"%s: %s\n", c->dnssec, path, strerror(errno));
				return SKY_EINVAL;
			}
		}
	}
	if (c->user[0] && !getpwnam(c->user)) {
		fprintf(stderr, "skydns: invalid value \"%s\" for flag -user: no such user\n", c->user);
		return SKY_EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct daemon d;
	config_defaults(&d.cfg);
	int rc = config_from_args(&d.cfg, argc, argv, stderr);
	if (rc == 1)
		return 0;
	if (rc < 0)
		return 2;
	config_finish(&d.cfg);
	char why[1024];
	static const char *const tls_flags[3] = { "-ca-cert", "-tls-pem", "-tls-key" };
	if (pem_check_tls(d.cfg.ca_cert, d.cfg.tls_pem, d.cfg.tls_key, tls_flags, why, sizeof why)) {
		fprintf(stderr, "skydns: %s\n", why);
		return 2;
	}
	if (check_files(&d.cfg) < 0)
		return 2;
	log_set_level(d.cfg.verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	log_set_journal(d.cfg.log_journal || log_stderr_is_journal());

	/* Every thread inherits this mask: only wait_signals() sees them. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (start(&d) < 0) {
		stop(&d);
		return 1;
	}
	char etcd_shown[CONFIG_STR];
	etcd_url_redact(d.cfg.machines[0], etcd_shown, sizeof etcd_shown);
	log_info("main", "serving addr=%s domain=%s etcd=%s%s",
		 d.act.nfds > 0 ? "(systemd)" : d.cfg.dns_addr, d.cfg.domain, etcd_shown,
		 d.cfg.etcd3 ? " (v3)" : "");
	wait_signals(&d, &set);
	activation_stopping();
	stop(&d);
	log_info("main", "stopped");
	return 0;
}
