/* kubeconfig parsing: the current context's cluster and user, base64 data
 * fields, relative paths, and one clear error line for each broken input. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "kubeconfig.h"

static const char *KC =
	"apiVersion: v1\n"
	"kind: Config\n"
	"preferences: {}\n"
	"current-context: prod\n"
	"clusters:\n"
	"- name: dev\n"
	"  cluster:\n"
	"    server: https://dev.example:6443\n"
	"- name: prod-cluster\n"
	"  cluster:\n"
	"    server: https://127.0.0.1:6443\n"
	"    certificate-authority: pki/ca.crt\n"
	"    tls-server-name: kubernetes\n"
	"contexts:\n"
	"- name: dev\n"
	"  context: {cluster: dev, user: dev}\n"
	"- name: prod\n"
	"  context:\n"
	"    cluster: prod-cluster\n"
	"    user: admin\n"
	"    namespace: kube-system\n"
	"users:\n"
	"- name: dev\n"
	"  user:\n"
	"    token: devtoken\n"
	"- name: admin\n"
	"  user:\n"
	"    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\n"
	"    client-key: /etc/k/admin.key\n"
	"    token: \"abc.def\"\n";

TEST(current_context)
{
	struct kubeconfig kc;
	char err[512] = "";
	CHECK_INT(kubeconfig_parse(KC, strlen(KC), "/etc/k", &kc, err, sizeof err), 0);
	CHECK_STR(kc.context, "prod");
	CHECK_STR(kc.server, "https://127.0.0.1:6443");
	CHECK_STR(kc.ca_file, "/etc/k/pki/ca.crt");
	CHECK_STR(kc.tls_server_name, "kubernetes");
	CHECK(!kc.insecure);
	CHECK_STR(kc.cert_data, "-----BEGIN CERTIFICATE-----\n");
	CHECK_INT(kc.cert_data_len, 28);
	CHECK_STR(kc.key_file, "/etc/k/admin.key");
	CHECK_STR(kc.token, "abc.def");
	CHECK(kc.ca_data == NULL && kc.cert_file == NULL);
	kubeconfig_clear(&kc);
}

TEST(ca_data_and_insecure)
{
	const char *y = "current-context: c\n"
		"contexts: [{name: c, context: {cluster: k, user: u}}]\n"
		"clusters: [{name: k, cluster: {server: 'https://[::1]:8443', certificate-authority-data: 'aGVsbG8=', insecure-skip-tls-verify: true}}]\n"
		"users: [{name: u, user: {tokenFile: tok}}]\n";
	struct kubeconfig kc;
	char err[512] = "";
	CHECK_INT(kubeconfig_parse(y, strlen(y), "/d", &kc, err, sizeof err), 0);
	CHECK_STR(kc.server, "https://[::1]:8443");
	CHECK_STR(kc.ca_data, "hello");
	CHECK_INT(kc.ca_data_len, 5);
	CHECK(kc.insecure);
	CHECK_STR(kc.token_file, "/d/tok");
	kubeconfig_clear(&kc);
}

static void expect_error(const char *yaml, const char *want)
{
	struct kubeconfig kc;
	char err[512] = "";
	int rc = kubeconfig_parse(yaml, strlen(yaml), "/d", &kc, err, sizeof err);
	CHECK_INT(rc, SKY_EPARSE);
	if (!strstr(err, want)) {
		printf("  error \"%s\" does not mention \"%s\"\n", err, want);
		check_cur_failed = 1;
	}
	CHECK(kc.server == NULL);
}

TEST(errors_say_what_and_where)
{
	expect_error("current-context: x\ncontexts: []\n", "current-context \"x\" not found");
	expect_error("contexts: []\n", "current-context is not set");
	expect_error("current-context: c\ncontexts: [{name: c, context: {cluster: nope}}]\nclusters: []\n",
		     "cluster \"nope\"");
	expect_error("current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\nclusters: [{name: k, cluster: {}}]\n",
		     "clusters[k].cluster.server missing");
	expect_error("current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
		     "clusters: [{name: k, cluster: {server: 'https://x', certificate-authority-data: '!!notbase64'}}]\n",
		     "clusters[k].cluster.certificate-authority-data: not valid base64");
	expect_error("current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
		     "clusters: [{name: k, cluster: {server: 'https://x'}}]\nusers: [{name: u, user: {exec: {command: aws}}}]\n",
		     "users[u].user: exec/auth-provider");
	expect_error("current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
		     "clusters: [{name: k, cluster: {server: 'https://x'}}]\nusers: [{name: u, user: {client-certificate: a.crt}}]\n",
		     "needs both the certificate and the key");
	expect_error("a: b\n  c: : d\n", "line ");
	expect_error("- just\n- a list\n", "top level is not a mapping");
	expect_error("", "top level");
}

TEST(load_missing_file)
{
	struct kubeconfig kc;
	char err[512] = "";
	CHECK_INT(kubeconfig_load("/nonexistent/kubeconfig", &kc, err, sizeof err), SKY_ENOTFOUND);
	CHECK(strstr(err, "/nonexistent/kubeconfig") && strstr(err, "No such file"));
}

TEST(base64)
{
	size_t n;
	char *d = kubeconfig_b64decode("Zm9v\nYmFy", &n);
	CHECK_STR(d, "foobar");
	CHECK_INT(n, 6);
	free(d);
	CHECK(kubeconfig_b64decode("Zm9v*", &n) == NULL);
	CHECK(kubeconfig_b64decode("Zg==Zg", &n) == NULL);
}

/* Mutated kubeconfigs: parsed or refused with a message, never a crash. */
TEST(mutated_yaml_never_crashes)
{
	static const char alphabet[] = "-:[]{}'\"# \n\tab0=&*!|>%@";
	unsigned seed = 777;
	int ok = 0, refused = 0;
	size_t len = strlen(KC);
	for (int iter = 0; iter < 5000; iter++) {
		char buf[4096];
		size_t n = len;
		memcpy(buf, KC, n);
		int edits = 1 + (int)(rand_r(&seed) % 3);
		for (int e = 0; e < edits; e++) {
			size_t at = (size_t)rand_r(&seed) % n;
			if (rand_r(&seed) % 4 == 0)
				n = at + 1;
			else
				buf[at] = alphabet[rand_r(&seed) % (sizeof alphabet - 1)];
		}
		struct kubeconfig kc;
		char err[512] = "";
		int rc = kubeconfig_parse(buf, n, "/d", &kc, err, sizeof err);
		CHECK(rc == 0 || rc == SKY_EPARSE);
		if (rc == 0) {
			ok++;
			CHECK(kc.server != NULL);
			kubeconfig_clear(&kc);
		} else {
			refused++;
			CHECK(err[0] != '\0');
		}
	}
	CHECK(ok > 50);
	CHECK(refused > 50);
}

int main(void)
{
	RUN(current_context);
	RUN(ca_data_and_insecure);
	RUN(errors_say_what_and_where);
	RUN(load_missing_file);
	RUN(base64);
	RUN(mutated_yaml_never_crashes);
	return CHECK_DONE();
}
