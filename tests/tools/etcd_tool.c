/* etcd_tool - drive dns/etcd.h from the command line, for the integration
 * tests of the etcd client (tests/integration/test_mirror.py).
 *
 *   etcd_tool [-3] [-u USER -p PASS] [-c CA -C CERT -K KEY] -m URL[,URL..] CMD ...
 *     get KEY                  print the value
 *     put KEY VALUE [TTL]
 *     del KEY
 *     list PREFIX              "key<TAB>expires<TAB>value" lines, then "revision N"
 *     watch PREFIX AFTER MS    events as "PUT key value" / "DELETE key" until
 *                              MS ms pass (then the stop flag is raised), then
 *                              "end rc=<err> last=N stop_ms=<ms from stop to return>"
 * Exit 0 on success; 1 with "error: ..." on stderr.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "etcd.h"

static volatile bool stop_flag;
static int64_t stop_at_ms;

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *stopper(void *arg)
{
	usleep((useconds_t)(*(int *)arg) * 1000);
	stop_at_ms = mono_ms();
	__atomic_store_n(&stop_flag, true, __ATOMIC_RELEASE);
	return NULL;
}

static int print_kv(void *arg, const struct etcd_kv *kv)
{
	(void)arg;
	printf("%s\t%" PRId64 "\t%s\n", kv->key, kv->expires, kv->value);
	return 0;
}

static int print_ev(void *arg, const struct etcd_event *ev, bool last)
{
	(void)arg;
	if (ev->type == ETCD_EV_PUT)
		printf("PUT %s %s%s\n", ev->kv.key, ev->kv.value, last ? "" : " (batch)");
	else
		printf("DELETE %s\n", ev->kv.key);
	fflush(stdout);
	return 0;
}

static int fail(struct etcd_client *c, int rc)
{
	fprintf(stderr, "error: %s: %s\n", err_str(rc), c ? etcd_last_error(c) : "");
	return 1;
}

int main(int argc, char **argv)
{
	struct etcd_opts o = { 0 };
	const char *machines[16];
	int opt;
	char *mlist = NULL;
	while ((opt = getopt(argc, argv, "3u:p:c:C:K:m:")) != -1) {
		switch (opt) {
		case '3': o.v3 = true; break;
		case 'u': o.username = optarg; break;
		case 'p': o.password = optarg; break;
		case 'c': o.ca_cert = optarg; break;
		case 'C': o.tls_pem = optarg; break;
		case 'K': o.tls_key = optarg; break;
		case 'm': mlist = optarg; break;
		default: return 2;
		}
	}
	if (!mlist || optind >= argc)
		return 2;
	for (char *t = strtok(mlist, ","); t && o.nmachines < 16; t = strtok(NULL, ","))
		machines[o.nmachines++] = t;
	o.machines = machines;
	struct etcd_client *c = NULL;
	int rc = etcd_new(&o, &c);
	if (rc != 0)
		return fail(NULL, rc);
	const char *cmd = argv[optind];
	char **a = argv + optind + 1;
	int na = argc - optind - 1;
	if (strcmp(cmd, "get") == 0 && na == 1) {
		char *v = NULL;
		uint64_t rev = 0;
		rc = etcd_get(c, a[0], &v, &rev);
		if (rc == 0)
			printf("%s\n", v);
		free(v);
	} else if (strcmp(cmd, "put") == 0 && (na == 2 || na == 3)) {
		rc = etcd_put(c, a[0], a[1], na == 3 ? (unsigned)atoi(a[2]) : 0);
	} else if (strcmp(cmd, "del") == 0 && na == 1) {
		rc = etcd_delete(c, a[0]);
	} else if (strcmp(cmd, "list") == 0 && na == 1) {
		uint64_t rev = 0;
		rc = etcd_get_prefix(c, a[0], print_kv, NULL, &rev);
		if (rc == 0)
			printf("revision %" PRIu64 "\n", rev);
	} else if (strcmp(cmd, "watch") == 0 && na == 3) {
		int ms = atoi(a[2]);
		pthread_t th;
		pthread_create(&th, NULL, stopper, &ms);
		uint64_t last = 0;
		rc = etcd_watch(c, a[0], strtoull(a[1], NULL, 10), print_ev, NULL, &stop_flag, &last);
		int64_t took = __atomic_load_n(&stop_flag, __ATOMIC_ACQUIRE) ? mono_ms() - stop_at_ms : -1;
		pthread_join(th, NULL);
		printf("end rc=%s last=%" PRIu64 " stop_ms=%" PRId64 "\n", err_str(rc), last, took);
		if (rc == SKY_ESTOPPED)
			rc = 0;
		else if (rc == 0)
			rc = SKY_EPROTO;
	} else {
		fprintf(stderr, "usage: see tests/tools/etcd_tool.c\n");
		etcd_free(c);
		return 2;
	}
	if (rc != 0) {
		int r = fail(c, rc);
		etcd_free(c);
		return r;
	}
	etcd_free(c);
	return 0;
}
