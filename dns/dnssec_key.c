/* dnssec_key.c - dnssec-keygen's key files (see dnssec_int.h). ldns reads
 * BIND's private-key format for every algorithm we sign with; the key then
 * leaves as DER so the signing side needs OpenSSL only.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "dnssec_int.h"
#include "err.h"

/* RSASHA1 (5) and RSASHA1-NSEC3-SHA1 (7) are accepted although RFC 8624
 * makes them NOT RECOMMENDED for signing: validators still MUST validate
 * them and SkyDNS's README makes such keys (main.c warns). DSA (3, 6) and
 * GOST (12) are refused: validators MAY no longer support them (RFC 8624 §3.1). */
static const struct dnssec_alg algs[] = {
	{5, "RSASHA1", "SHA1", 0},
	{7, "NSEC3RSASHA1", "SHA1", 0},
	{8, "RSASHA256", "SHA256", 0},
	{10, "RSASHA512", "SHA512", 0},
	{13, "ECDSAP256SHA256", "SHA256", 32},
	{14, "ECDSAP384SHA384", "SHA384", 48},
	{15, "ED25519", NULL, 0},
	{16, "ED448", NULL, 0},
};

static const struct dnssec_alg *alg_find(int alg)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].alg == alg)
			return &algs[i];
	return NULL;
}

static int open_key_file(const char *path, FILE **fp, char *why, size_t cap)
{
	*fp = fopen(path, "r");
	if (*fp)
		return 0;
	int e = errno;
	snprintf(why, cap, "dnssec key file %s: %s", path, strerror(e));
	return e == ENOENT ? SKY_ENOTFOUND : SKY_EIO;
}

/* The first RR line of a .key file (dnssec-keygen writes ';' comments, then
 * one DNSKEY on one line). */
static int read_dnskey(const char *path, ldns_rr **rr, char *why, size_t cap)
{
	FILE *f;
	int rc = open_key_file(path, &f, why, cap);
	if (rc)
		return rc;
	char line[8192];
	rc = SKY_EPARSE;
	snprintf(why, cap, "dnssec key file %s: no DNSKEY record in it", path);
	while (fgets(line, sizeof(line), f)) {
		size_t i = strspn(line, " \t\r\n");
		if (!line[i] || line[i] == ';')
			continue;
		ldns_status st = ldns_rr_new_frm_str(rr, line, 0, NULL, NULL);
		if (st != LDNS_STATUS_OK) {
			snprintf(why, cap, "dnssec key file %s: not a DNSKEY record: %s", path,
				 ldns_get_errorstr_by_id(st));
		} else if (ldns_rr_get_type(*rr) != LDNS_RR_TYPE_DNSKEY ||
			   ldns_rr_rd_count(*rr) != 4) {
			snprintf(why, cap, "dnssec key file %s: record is not a DNSKEY", path);
			ldns_rr_free(*rr);
			*rr = NULL;
		} else {
			rc = 0;
		}
		break;
	}
	if (ferror(f)) {
		snprintf(why, cap, "dnssec key file %s: read error: %s", path, strerror(errno));
		rc = SKY_EIO;
	}
	fclose(f);
	return rc;
}

/* Owner, flags, protocol, algorithm; fills k->alg, k->dnskey, k->tag. */
static int check_dnskey(struct dnssec_keydata *k, ldns_rr *rr, const char *domain,
			const char *path, char *why, size_t cap)
{
	ldns_rdf *zone = ldns_dname_new_frm_str(domain);
	bool same = zone && ldns_dname_compare(zone, ldns_rr_owner(rr)) == 0;
	ldns_rdf_deep_free(zone);
	if (!same) {
		char *owner = ldns_rdf2str(ldns_rr_owner(rr));
		snprintf(why, cap, "dnssec key file %s: key owner %s is not the domain %s", path,
			 owner ? owner : "?", domain);
		free(owner);
		return SKY_EINVAL;
	}
	uint16_t flags = ldns_rdf2native_int16(ldns_rr_rdf(rr, 0));
	uint8_t proto = ldns_rdf2native_int8(ldns_rr_rdf(rr, 1));
	uint8_t alg = ldns_rdf2native_int8(ldns_rr_rdf(rr, 2));
	if (!(flags & 0x0100) || (flags & 0x0080) || proto != 3) {
		snprintf(why, cap, "dnssec key file %s: not a usable zone key (flags %u protocol %u)",
			 path, flags, proto);
		return SKY_EINVAL;
	}
	k->alg = alg_find(alg);
	if (!k->alg) {
		snprintf(why, cap,
			 "dnssec key file %s: algorithm %u is not supported "
			 "(use RSASHA1, NSEC3RSASHA1, RSASHA256, RSASHA512, ECDSAP256SHA256, ECDSAP384SHA384, ED25519, ED448)",
			 path, alg);
		return SKY_ERANGE;
	}
	ldns_buffer *b = ldns_buffer_new(512);
	if (!b || ldns_rr_rdata2buffer_wire(b, rr) != LDNS_STATUS_OK) {
		ldns_buffer_free(b);
		return SKY_ENOMEM;
	}
	k->dnskey_len = ldns_buffer_position(b);
	k->dnskey = malloc(k->dnskey_len);
	if (k->dnskey)
		memcpy(k->dnskey, ldns_buffer_begin(b), k->dnskey_len);
	ldns_buffer_free(b);
	if (!k->dnskey)
		return SKY_ENOMEM;
	k->tag = ldns_calc_keytag(rr);
	return 0;
}

/* Read the BIND private key, check it is the .key's pair, keep it as DER. */
static int read_private(struct dnssec_keydata *k, ldns_rr *pub, const char *path, char *why,
			size_t cap)
{
	FILE *f;
	int rc = open_key_file(path, &f, why, cap);
	if (rc)
		return rc;
	ldns_key *lk = NULL;
	int line = 0;
	ldns_status st = ldns_key_new_frm_fp_l(&lk, f, &line);
	fclose(f);
	if (st != LDNS_STATUS_OK) {
		snprintf(why, cap, "dnssec key file %s: not a BIND private key (line %d: %s)", path,
			 line, ldns_get_errorstr_by_id(st));
		return SKY_EPARSE;
	}
	rc = SKY_EINVAL;
	ldns_rr *mine = ldns_key2rr(lk);
	EVP_PKEY *pk = ldns_key_evp_key(lk);
	if ((int)ldns_key_algorithm(lk) != k->alg->alg) {
		snprintf(why, cap, "dnssec key files %s and .key disagree: algorithm %d vs %u",
			 path, (int)ldns_key_algorithm(lk), k->alg->alg);
	} else if (!mine || !pk ||
		   ldns_rdf_compare(ldns_rr_rdf(mine, 3), ldns_rr_rdf(pub, 3)) != 0) {
		snprintf(why, cap, "dnssec key file %s does not hold the private half of the "
			 ".key's public key (mismatched key pair)", path);
	} else {
		int n = i2d_PrivateKey(pk, &k->der);
		if (n <= 0) {
			snprintf(why, cap, "dnssec key file %s: cannot export the key", path);
			rc = SKY_EPARSE;
		} else {
			k->der_len = (size_t)n;
			rc = 0;
		}
	}
	ldns_rr_free(mine);
	ldns_key_deep_free(lk);
	return rc;
}

int dnssec_key_read(const char *base, const char *domain, struct dnssec_keydata *k, char *why,
		    size_t cap)
{
	char path[4096];
	ldns_rr *pub = NULL;
	snprintf(path, sizeof(path), "%s.key", base);
	int rc = read_dnskey(path, &pub, why, cap);
	if (!rc)
		rc = check_dnskey(k, pub, domain, path, why, cap);
	if (!rc) {
		snprintf(path, sizeof(path), "%s.private", base);
		rc = read_private(k, pub, path, why, cap);
	}
	ldns_rr_free(pub);
	if (rc)
		dnssec_key_clear(k);
	return rc;
}

void dnssec_key_clear(struct dnssec_keydata *k)
{
	free(k->dnskey);
	OPENSSL_clear_free(k->der, k->der_len);
	memset(k, 0, sizeof(*k));
}
