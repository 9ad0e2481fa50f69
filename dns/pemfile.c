/* pemfile.c - see pemfile.h. OpenSSL's PEM readers are the same parsers
 * libcurl's OpenSSL backend uses for CURLOPT_CAINFO/SSLCERT/SSLKEY (PEM is
 * libcurl's default type for all three), so a file that passes here is one
 * curl can load. */
#include "pemfile.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "err.h"

/* Refuse any passphrase prompt: curl is not given one either, and OpenSSL's
 * default callback would read the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

static int check_bio(BIO *b, enum pem_kind kind, const char *name, char *why, size_t cap)
{
	int n = 0;
	if (kind == PEM_CERTS) {
		X509 *x;
		while ((x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL))) {
			X509_free(x);
			n++;
		}
	} else {
		EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
		n = k != NULL;
		EVP_PKEY_free(k);
	}
	ERR_clear_error(); /* the reader that ended the loop left "no start line" */
	if (n > 0)
		return 0;
	snprintf(why, cap, "%s: %s", name,
		 kind == PEM_CERTS ? "no PEM certificate in it"
				   : "not a PEM private key (or an encrypted one; give an unencrypted key)");
	return SKY_EPARSE;
}

int pem_check_file(const char *path, enum pem_kind kind, char *why, size_t cap)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		int e = errno;
		snprintf(why, cap, "%s: %s", path, strerror(e));
		return e == ENOENT ? SKY_ENOTFOUND : SKY_EIO;
	}
	BIO *b = BIO_new_fp(f, BIO_CLOSE);
	if (!b) {
		fclose(f);
		snprintf(why, cap, "%s: %s", path, err_str(SKY_ENOMEM));
		return SKY_ENOMEM;
	}
	int rc = check_bio(b, kind, path, why, cap);
	BIO_free(b);
	return rc;
}

int pem_check_data(const void *data, size_t len, enum pem_kind kind, const char *what,
		   char *why, size_t cap)
{
	if (len > (size_t)0x7fffffff) {
		snprintf(why, cap, "%s: too large", what);
		return SKY_ERANGE;
	}
	BIO *b = BIO_new_mem_buf(data, (int)len);
	if (!b) {
		snprintf(why, cap, "%s: %s", what, err_str(SKY_ENOMEM));
		return SKY_ENOMEM;
	}
	int rc = check_bio(b, kind, what, why, cap);
	BIO_free(b);
	return rc;
}

static BIO *src_bio(const struct pem_src *src)
{
	if (src->path)
		return BIO_new_file(src->path, "rb");
	if (src->len > (size_t)0x7fffffff)
		return NULL;
	return BIO_new_mem_buf(src->data, (int)src->len);
}

static void *read_pem(const struct pem_src *src, bool key)
{
	BIO *b = src_bio(src);
	if (!b)
		return NULL;
	void *p = key ? (void *)PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL)
		      : (void *)PEM_read_bio_X509(b, NULL, no_passphrase, NULL);
	BIO_free(b);
	ERR_clear_error();
	return p;
}

static const char *src_name(const struct pem_src *src)
{
	return src->path ? src->path : src->name ? src->name : "key";
}

int pem_check_pair_src(const struct pem_src *cert, const struct pem_src *key, char *why,
		       size_t cap)
{
	X509 *x = read_pem(cert, false);
	EVP_PKEY *k = read_pem(key, true);
	int ok = x && k && X509_check_private_key(x, k) == 1;
	ERR_clear_error();
	X509_free(x);
	EVP_PKEY_free(k);
	if (ok)
		return 0;
	snprintf(why, cap, "%s: the key does not belong to the certificate in %s", src_name(key),
		 src_name(cert));
	return SKY_EINVAL;
}

int pem_check_pair(const char *cert_path, const char *key_path, char *why, size_t cap)
{
	struct pem_src c = { .path = cert_path }, k = { .path = key_path };
	return pem_check_pair_src(&c, &k, why, cap);
}

static int with_flag(int rc, const char *flag, char *why, size_t cap)
{
	if (rc) {
		char tmp[768];
		snprintf(tmp, sizeof tmp, "%s", why);
		snprintf(why, cap, "%s %s", flag, tmp);
	}
	return rc;
}

int pem_check_tls(const char *ca, const char *cert, const char *key,
		  const char *const flags[3], char *why, size_t cap)
{
	bool has_ca = ca && *ca, has_cert = cert && *cert, has_key = key && *key;
	int rc = 0;
	if (has_ca)
		rc = with_flag(pem_check_file(ca, PEM_CERTS, why, cap), flags[0], why, cap);
	if (!rc && has_cert)
		rc = with_flag(pem_check_file(cert, PEM_CERTS, why, cap), flags[1], why, cap);
	if (!rc && has_key)
		rc = with_flag(pem_check_file(key, PEM_KEY, why, cap), flags[2], why, cap);
	if (rc)
		return rc;
	if (has_key && !has_cert) {
		snprintf(why, cap, "%s %s: a client key needs a client certificate (%s)", flags[2],
			 key, flags[1]);
		return SKY_EINVAL;
	}
	if (has_cert && !has_key) {
		/* curl also accepts the key inside the certificate file. */
		char tmp[8];
		if (pem_check_file(cert, PEM_KEY, tmp, sizeof tmp)) {
			snprintf(why, cap, "%s %s: a client certificate needs its key (%s)",
				 flags[1], cert, flags[2]);
			return SKY_EINVAL;
		}
		key = cert;
		has_key = true;
	}
	if (has_cert && has_key)
		rc = with_flag(pem_check_pair(cert, key, why, cap), flags[2], why, cap);
	return rc;
}
