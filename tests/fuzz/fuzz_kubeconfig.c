/* fuzz_kubeconfig.c - a kubeconfig file as kube2sky -kubecfg-file reads it
 * (kubeconfig_parse(), libyaml underneath), and the base64 decoder of its
 * *-data fields. A failed parse says why and leaves nothing allocated; a
 * good one has a server and absolute paths (relative ones are resolved
 * against the file's directory).
 * Seeds: tests/fuzz/corpus/kubeconfig.
 */
#include "err.h"
#include "fuzz.h"
#include "kubeconfig.h"

static void check_abs(const char *path)
{
	FUZZ_ASSERT(!path || path[0] == '/');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kubeconfig kc;
	char err[256] = "";
	memset(&kc, 0, sizeof kc);
	int rc = kubeconfig_parse((const char *)data, size, "/etc/kube2sky", &kc, err, sizeof err);
	if (rc != 0) {
		FUZZ_ASSERT(rc == SKY_EPARSE || rc == SKY_ENOMEM);
		FUZZ_ASSERT(err[0] != '\0');
	} else {
		FUZZ_ASSERT(kc.context && kc.server && kc.server[0]);
		check_abs(kc.ca_file);
		check_abs(kc.cert_file);
		check_abs(kc.key_file);
		check_abs(kc.token_file);
	}
	kubeconfig_clear(&kc);

	if (size < 8192) {
		char *s = fuzz_strndup(data, size);
		size_t n = 0;
		char *dec = s ? kubeconfig_b64decode(s, &n) : NULL;
		FUZZ_ASSERT(!dec || (n <= size && dec[n] == '\0'));
		free(dec);
		free(s);
	}
	return 0;
}
