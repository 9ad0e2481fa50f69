/* dnssec_int.h - internals shared by dnssec.c (signing) and dnssec_key.c
 * (reading dnssec-keygen's files with ldns). Not a contract for other modules.
 */
#ifndef SKYDNS_DNSSEC_INT_H
#define SKYDNS_DNSSEC_INT_H

#include <stddef.h>
#include <stdint.h>

struct dnssec_alg {
	uint8_t alg;      /* DNSSEC algorithm number */
	const char *name;
	const char *md;   /* digest for EVP_DigestSign; NULL = EdDSA (no pre-hash) */
	int ecdsa_half;   /* ECDSA: size of r and s in the DNS form (RFC 6605); else 0 */
};

/* One key pair as loaded; the buffers are owned (dnssec_key_clear). */
struct dnssec_keydata {
	const struct dnssec_alg *alg;
	uint16_t tag;
	uint8_t *dnskey;          /* DNSKEY rdata (wire) */
	size_t dnskey_len;
	unsigned char *der;       /* private key, DER, for per-thread copies */
	size_t der_len;
};

/* Read <base>.key (a DNSKEY owned by `domain`, a zone key of a supported
 * algorithm) and <base>.private (its BIND private half). Errors as
 * dnssec_load() documents, with the text in why[cap]. */
int dnssec_key_read(const char *base, const char *domain, struct dnssec_keydata *k, char *why,
		    size_t cap);

/* Free k's buffers (the private key is wiped). */
void dnssec_key_clear(struct dnssec_keydata *k);

#endif
