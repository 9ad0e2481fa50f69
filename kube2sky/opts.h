/* opts.h - kube2sky's command line: the flags (dashed names as the
 * kube2sky/pflag builds spell them, Go-flag underscores accepted), their
 * defaults, the environment they also read, and -help. Owned by main.c.
 */
#ifndef K2S_OPTS_H
#define K2S_OPTS_H

#include <stdbool.h>
#include <stdio.h>

struct opts {
	char *domain, *etcd_server, *etcd_cafile, *etcd_certfile, *etcd_keyfile;
	char *etcd_username, *etcd_password, *kube_master_url, *kubecfg_file;
	char *health_addr, *path_prefix, *sa_dir;
	char *metrics_addr, *metrics_path, *metrics_ns, *metrics_sub;
	bool etcd3, verbose, log_journal, help, version, etcd_from_env;
	int ttl, leader_ttl_s, resync_s, watch_timeout_s, progress_timeout_s, backoff_max_ms, shutdown_s;
};

/* Defaults, then ETCD_MACHINES / ETCD_USERNAME / ETCD_PASSWORD, then argv.
 * String fields point into argv or the environment. SKY_EINVAL (already
 * reported on stderr) for a bad flag or value. */
int opts_parse(struct opts *o, int argc, char **argv);

/* The layout of skydns -h (Go's flag.PrintDefaults). */
void opts_usage(FILE *out);

#endif
