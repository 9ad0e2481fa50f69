/* opts.h - kube2sky's command line: one flag table drives parsing, --help
 * and the man page (--help-man, written by the build). The strings in a
 * parsed struct opts point into argv, the environment or the table's
 * defaults; nothing is allocated.
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

/* Defaults, then ETCD_MACHINES/ETCD_USERNAME/ETCD_PASSWORD, then argv
 * (-x, --x, --x=v, --x v; '_' and '-' alike). 0, or SKY_EINVAL with one line
 * on stderr. --help-man prints the man page and exits 0. */
int opts_parse(struct opts *o, int argc, char **argv);

/* --help: every flag with its default, in the layout of skydns -h. */
void opts_usage(FILE *out);

#endif
