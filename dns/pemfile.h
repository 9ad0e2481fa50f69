/* pemfile.h - start-up checks of the TLS files both daemons hand to libcurl
 * (etcd's CA/cert/key, the API server's CA/client cert/key).
 *
 * libcurl reads these files at every handshake and reports a bad one as a
 * failed connection, so without a check a typo in a path becomes an endless
 * retry loop. These functions read the file once at start and say what is
 * wrong in one line; callers (main) print it and exit 2.
 *
 * `why` receives "<path>: <reason>" (or "<what>: <reason>" for in-memory data),
 * NUL-terminated, truncated to cap. Nothing is kept after a call.
 */
#ifndef SKYDNS_PEMFILE_H
#define SKYDNS_PEMFILE_H

#include <stddef.h>

enum pem_kind {
	PEM_CERTS, /* one or more X.509 certificates (a CA bundle, a client cert) */
	PEM_KEY,   /* an unencrypted private key */
};

/* 0 if `path` is readable and holds what `kind` names in PEM form;
 * SKY_ENOTFOUND (missing), SKY_EIO (unreadable), SKY_EPARSE (not PEM of
 * that kind, or an encrypted key: nothing can pass it a passphrase). */
int pem_check_file(const char *path, enum pem_kind kind, char *why, size_t cap);

/* The same for data in memory (kubeconfig's *-data fields); `what` names it. */
int pem_check_data(const void *data, size_t len, enum pem_kind kind, const char *what,
		   char *why, size_t cap);

/* 0 if the private key in `key_path` belongs to the first certificate in
 * `cert_path` (both already checked); SKY_EINVAL if it does not. */
int pem_check_pair(const char *cert_path, const char *key_path, char *why, size_t cap);

/* A certificate or key: a file (path), or data in memory named `name`. */
struct pem_src {
	const char *path;
	const void *data;
	size_t len;
	const char *name;
};

/* pem_check_pair for files or data, in any mix. */
int pem_check_pair_src(const struct pem_src *cert, const struct pem_src *key, char *why,
		       size_t cap);

/* Checks each non-empty path of a (CA, client cert, key) triple, then the
 * pair; `flags` names the three settings for the message ("-ca-cert", ...).
 * A key without a certificate, or the reverse with no key inside the
 * certificate file, is SKY_EINVAL. */
int pem_check_tls(const char *ca, const char *cert, const char *key,
		  const char *const flags[3], char *why, size_t cap);

#endif
