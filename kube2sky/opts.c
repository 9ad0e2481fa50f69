/* opts.c - kube2sky's flag table, its parser, --help and --help-man
 * (see opts.h). Split from main.c, which keeps the checks of the values
 * that need more than a type (addresses, URLs, TLS files, the domain).
 */
#include "opts.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "manpage.h"

enum ftype { F_STR, F_BOOL, F_INT, F_DUR };

/* Flag names as the dashed kube2sky/pflag builds spell them; the Go-flag
 * spellings with underscores (--kube_master_url) are accepted too. */
static const struct flag {
	const char *name, *alias; /* alias: skydns's name for the same etcd option */
	enum ftype type;
	size_t off;
	const char *def, *help;
	int unit_ms; /* F_DUR: the field's unit, also the unit of a bare number */
} flags[] = {
	{"domain", NULL, F_STR, offsetof(struct opts, domain), "cluster.local", "cluster domain (a trailing dot is added)", 0},
	{"etcd-server", "machines", F_STR, offsetof(struct opts, etcd_server), "http://127.0.0.1:2379", "etcd endpoints, comma-separated; env ETCD_MACHINES (as skydns)", 0},
	{"etcd3", NULL, F_BOOL, offsetof(struct opts, etcd3), "false", "use the etcd v3 API (JSON gateway)", 0},
	{"etcd-cafile", "ca-cert", F_STR, offsetof(struct opts, etcd_cafile), "", "CA bundle for etcd TLS", 0},
	{"etcd-certfile", "tls-pem", F_STR, offsetof(struct opts, etcd_certfile), "", "client certificate for etcd", 0},
	{"etcd-keyfile", "tls-key", F_STR, offsetof(struct opts, etcd_keyfile), "", "client key for etcd", 0},
	{"etcd-username", "username", F_STR, offsetof(struct opts, etcd_username), "", "etcd user (v2 basic auth / v3 token); env ETCD_USERNAME", 0},
	{"etcd-password", "password", F_STR, offsetof(struct opts, etcd_password), "", "etcd password; env ETCD_PASSWORD", 0},
	{"kube-master-url", NULL, F_STR, offsetof(struct opts, kube_master_url), "", "API server URL ($VARS expanded); overrides the kubeconfig server", 0},
	{"kubecfg-file", NULL, F_STR, offsetof(struct opts, kubecfg_file), "", "kubeconfig file", 0},
	{"serviceaccount-dir", NULL, F_STR, offsetof(struct opts, sa_dir), "/var/run/secrets/kubernetes.io/serviceaccount", "in-cluster token and ca.crt directory", 0},
	{"health-addr", NULL, F_STR, offsetof(struct opts, health_addr), ":8082", "address for /healthz, /readyz and the metrics (\"\" = off)", 0},
	{"metrics-addr", NULL, F_STR, offsetof(struct opts, metrics_addr), "", "separate address for the metrics (\"\" = on --health-addr)", 0},
	{"metrics-path", NULL, F_STR, offsetof(struct opts, metrics_path), "/metrics", "path of the Prometheus metrics", 0},
	{"metrics-namespace", NULL, F_STR, offsetof(struct opts, metrics_ns), "kube2sky", "metric name prefix (namespace)", 0},
	{"metrics-subsystem", NULL, F_STR, offsetof(struct opts, metrics_sub), "", "metric name prefix after the namespace", 0},
	{"path-prefix", NULL, F_STR, offsetof(struct opts, path_prefix), "skydns", "etcd key prefix (SkyDNS's path prefix)", 0},
	{"ttl", NULL, F_INT, offsetof(struct opts, ttl), "30", "record TTL in seconds", 0},
	{"leader-ttl", NULL, F_DUR, offsetof(struct opts, leader_ttl_s), "10s", "etcd v3: lease TTL of the elected writer; a follower takes over within about this long after the leader dies (a bare number: seconds)", 1000},
	{"resync-period", NULL, F_DUR, offsetof(struct opts, resync_s), "5m", "time between full re-reads of etcd (repairs lost keys; a bare number: seconds)", 1000},
	{"watch-timeout", NULL, F_DUR, offsetof(struct opts, watch_timeout_s), "5m", "watch timeoutSeconds, randomised up to twice this (a bare number: seconds)", 1000},
	{"watch-progress-timeout", NULL, F_DUR, offsetof(struct opts, progress_timeout_s), "2m", "time without a byte (event or bookmark) after which a watch is reconnected (0: off; a bare number: seconds)", 1000},
	{"backoff-max", NULL, F_DUR, offsetof(struct opts, backoff_max_ms), "30s", "longest retry delay (a bare number: milliseconds)", 1},
	{"shutdown-timeout", NULL, F_DUR, offsetof(struct opts, shutdown_s), "10s", "time after SIGTERM before giving up on a clean exit (a bare number: seconds)", 1000},
	{"v", "verbose", F_BOOL, offsetof(struct opts, verbose), "false", "debug logging (one line per watch event and etcd write)", 0},
	{"log-journal", NULL, F_BOOL, offsetof(struct opts, log_journal), "false", "log to the systemd journal instead of stderr", 0},
	{"version", NULL, F_BOOL, offsetof(struct opts, version), "false", "print version and exit", 0},
	{"help", NULL, F_BOOL, offsetof(struct opts, help), "false", "show this help", 0},
};
#define NFLAGS (sizeof flags / sizeof *flags)

static int set_flag(struct opts *o, const struct flag *f, const char *val)
{
	void *p = (char *)o + f->off;
	switch (f->type) {
	case F_STR:
		*(char **)p = (char *)val;
		return 0;
	case F_BOOL:
		if (!strcmp(val, "true") || !strcmp(val, "1"))
			*(bool *)p = true;
		else if (!strcmp(val, "false") || !strcmp(val, "0"))
			*(bool *)p = false;
		else
			return SKY_EINVAL;
		return 0;
	case F_DUR: {
		char *end;
		long v = strtol(val, &end, 10);
		int ms;
		if (end != val && !*end && v >= 0 && v <= 100000000) {
			*(int *)p = (int)v; /* the old spelling: a number in the field's unit */
			return 0;
		}
		if (config_parse_duration(val, &ms) || ms < 0)
			return SKY_EINVAL;
		if (ms % f->unit_ms)
			return SKY_ERANGE;
		*(int *)p = ms / f->unit_ms;
		return 0;
	}
	case F_INT: {
		char *end;
		long v = strtol(val, &end, 10);
		if (*end || end == val || v < 0 || v > 100000000)
			return SKY_EINVAL;
		*(int *)p = (int)v;
		return 0;
	}
	}
	return SKY_EINVAL;
}

static const char *const words[] = { [F_STR] = " string", [F_BOOL] = "", [F_INT] = " int",
				     [F_DUR] = " duration" };
#define USAGE_RULES                                                       \
	"Precedence: defaults < environment < flags.\n"                   \
	"Flags take one dash or two; values as -flag value or -flag=value;\n" \
	"durations as 2s, 500ms, 1m30s.\n"

/* The layout of skydns -h (Go's flag.PrintDefaults). */
void opts_usage(FILE *out)
{
	fprintf(out, "Usage of kube2sky (version %s):\n" USAGE_RULES, SKY_PROJECT_VERSION);
	for (size_t i = 0; i < NFLAGS; i++) {
		const struct flag *f = &flags[i];
		fprintf(out, "  -%s%s\n    \t%s", f->name, words[f->type], f->help);
		if (f->type == F_STR && *f->def)
			fprintf(out, " (default \"%s\")", f->def);
		else if (f->type != F_STR && strcmp(f->def, "false") != 0)
			fprintf(out, " (default %s)", f->def);
		if (f->alias)
			fprintf(out, " [also -%s]", f->alias);
		fputc('\n', out);
	}
}

/* The same table as a man page (hidden --help-man, run by the build). */
static void usage_man(FILE *out)
{
	man_head(out, "kube2sky", "publish Kubernetes Services as SkyDNS records in etcd",
		 "[--flag value ...]");
	man_section(out, "DESCRIPTION");
	man_text(out, "kube2sky watches the Kubernetes API for Services and their endpoints and "
		      "writes them to etcd as SkyDNS records, for skydns to serve.");
	man_verbatim(out, USAGE_RULES);
	man_section(out, "OPTIONS");
	for (size_t i = 0; i < NFLAGS; i++) {
		const struct flag *f = &flags[i];
		char also[64] = "";
		if (f->alias)
			snprintf(also, sizeof also, "Also -%s", f->alias);
		struct man_opt m = { f->name, f->type == F_BOOL ? NULL : words[f->type] + 1, NULL, NULL,
				     strcmp(f->def, "false") ? f->def : NULL, f->help, *also ? also : NULL };
		man_option(out, &m);
	}
	man_tail(out, "skydns(1), skydns-check(1)");
}

/* -x, --x, --x=v, --x v; '_' and '-' are the same in names. */
int opts_parse(struct opts *o, int argc, char **argv)
{
	for (size_t i = 0; i < NFLAGS; i++)
		set_flag(o, &flags[i], flags[i].def);
	/* Credentials from the environment (as skydns reads them), so they
	 * need not appear in the process list; flags still win. */
	if (getenv("ETCD_MACHINES") && *getenv("ETCD_MACHINES"))
		o->etcd_server = getenv("ETCD_MACHINES"), o->etcd_from_env = true;
	if (getenv("ETCD_USERNAME"))
		o->etcd_username = getenv("ETCD_USERNAME");
	if (getenv("ETCD_PASSWORD"))
		o->etcd_password = getenv("ETCD_PASSWORD");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-') {
			fprintf(stderr, "kube2sky: unexpected argument \"%s\"\n", a);
			return SKY_EINVAL;
		}
		a += a[1] == '-' ? 2 : 1;
		char name[64];
		size_t n = 0;
		for (; a[n] && a[n] != '=' && n + 1 < sizeof name; n++)
			name[n] = a[n] == '_' ? '-' : a[n];
		name[n] = '\0';
		const char *val = a[n] == '=' ? a + n + 1 : NULL;
		if (!strcmp(name, "help-man")) {
			usage_man(stdout);
			exit(0);
		}
		const struct flag *f = NULL;
		for (size_t j = 0; j < NFLAGS && !f; j++)
			if (!strcmp(flags[j].name, name) || (flags[j].alias && !strcmp(flags[j].alias, name)) ||
			    (!strcmp(name, "h") && !strcmp(flags[j].name, "help")))
				f = &flags[j];
		if (!f) {
			fprintf(stderr, "kube2sky: unknown flag \"%s\" (see --help)\n", argv[i]);
			return SKY_EINVAL;
		}
		if (!val)
			val = f->type == F_BOOL ? "true" : (i + 1 < argc ? argv[++i] : NULL);
		if (f->off == offsetof(struct opts, etcd_server))
			o->etcd_from_env = false;
		int bad = val ? set_flag(o, f, val) : 0;
		if (!val || bad) {
			if (!val)
				fprintf(stderr, "kube2sky: flag needs an argument: -%s\n", f->name);
			else
				fprintf(stderr, "kube2sky: invalid value \"%s\" for flag -%s: %s\n", val,
					f->name, bad == SKY_ERANGE ? "not whole seconds"
					: f->type == F_DUR ? "not a duration (like 30s or 5m)"
					: f->type == F_INT ? "not a whole number" : "not a boolean");
			return SKY_EINVAL;
		}
	}
	return 0;
}
