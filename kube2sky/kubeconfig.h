/* kubeconfig.h - the subset of a kubeconfig kube2sky needs: the current
 * context's cluster (server, CA, TLS options) and user (token or client
 * certificate). Parsed with libyaml.
 *
 * kubeconfig_parse() is pure (text in, struct out). Relative file paths are
 * resolved against `dir` (the kubeconfig's directory), as kubectl does;
 * files are not opened here. *-data fields are base64-decoded PEM.
 */
#ifndef K2S_KUBECONFIG_H
#define K2S_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct kubeconfig {
	char *context;              /* current-context */
	char *server;               /* clusters[].cluster.server */
	char *ca_file;              /* certificate-authority (absolute) */
	char *ca_data;              /* certificate-authority-data, decoded */
	size_t ca_data_len;
	bool insecure;              /* insecure-skip-tls-verify */
	char *tls_server_name;
	char *cert_file, *key_file; /* client-certificate / client-key (absolute) */
	char *cert_data, *key_data; /* *-data, decoded */
	size_t cert_data_len, key_data_len;
	char *token;                /* users[].user.token */
	char *token_file;           /* users[].user.tokenFile (absolute) */
};

/* Parse `len` bytes of YAML. On error returns SKY_EPARSE (or SKY_ENOMEM)
 * and writes one line to err saying what and where, e.g.
 * "current-context \"prod\" not found in contexts" or
 * "line 7: mapping values are not allowed in this context". */
int kubeconfig_parse(const char *yaml, size_t len, const char *dir, struct kubeconfig *out,
		     char *err, size_t errcap);

/* Read and parse a file (the I/O edge). SKY_EIO/SKY_ENOTFOUND with
 * "<path>: No such file or directory" in err. */
int kubeconfig_load(const char *path, struct kubeconfig *out, char *err, size_t errcap);

void kubeconfig_clear(struct kubeconfig *kc);

/* Standard base64 (padding optional, whitespace ignored). Returns a malloc'd
 * buffer (NUL-terminated for convenience) and its length, or NULL if the
 * text is not base64. */
char *kubeconfig_b64decode(const char *in, size_t *outlen);

#endif
