/* dnssec.c - online signing with NSEC3 white lies (see dnssec.h).
 *
 * Concurrency: every thread that signs gets a `struct worker` (pthread TLS,
 * one key per struct dnssec) holding its own copy of the private key, its
 * digest contexts, scratch buffers and signature cache. The query path thus
 * shares nothing mutable: no lock, no contended cache line, and RSA blinding
 * state is per thread too. The price is that each worker signs a given RRset
 * once per refresh period (~5 days) instead of once per process, and keeps
 * its own `scache` entries; with one worker per core that is a few signatures
 * and a few MB, against a lock taken on every signed answer.
 *
 * ldns is used only to read the key files (dnssec_key.c); the canonical form
 * (RFC 4034 §6) is built here from struct rr directly and signed with
 * OpenSSL EVP, so nothing has to round-trip through ldns_rr.
 */
#include "dnssec.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "config.h"
#include "dnssec_int.h"
#include "err.h"
#include "scache.h"

#define INCEPTION_SKEW (3 * 3600)        /* SkyDNS: inception now - 3h */
#define VALIDITY (7 * 86400)             /* expiration now + 7d */
#define REFRESH_MARGIN (48 * 3600)       /* re-sign when less than 48h left */
#define SIG_MAX 1024                     /* RSA up to 8192 bits */
#define RDATA_MAX 65535
#define NAME_WIRE_MAX 255

struct worker {
	struct dnssec *d;
	EVP_PKEY *pkey;
	EVP_MD_CTX *mdctx;
	EVP_MD *sign_md, *sha256, *sha1;
	struct scache *cache;
	bool use_cache;           /* config scache > 0 for the current answer */
	uint8_t *buf;             /* canonical RRset being signed */
	size_t bufcap;
	uint8_t *rd;              /* members' canonical rdata, concatenated */
	size_t rdcap;
	size_t *off, *len, *order, *members;
	size_t ncap;
	unsigned char *done;      /* per section: RR already in a signed RRset */
	size_t donecap;
	uint8_t sig[18 + NAME_WIRE_MAX + SIG_MAX]; /* a fresh RRSIG rdata */
	struct worker *prev, *next;
};

struct dnssec {
	char domain[NAME_WIRE_MAX * 4 + 2];
	uint8_t domain_wire[NAME_WIRE_MAX];
	size_t domain_wire_len;
	struct dnssec_keydata key;
	pthread_key_t tls;
	pthread_mutex_t lock;     /* the worker list only; never on the hit path */
	struct worker *workers;
};

/* ------------------------------------------------------------------ names */

static uint8_t lower(uint8_t ch)
{
	return (ch >= 'A' && ch <= 'Z') ? (uint8_t)(ch + 32) : ch;
}

/* Presentation -> canonical wire (RFC 4034 §6.2: lower-case). A name without
 * the final dot is taken as absolute. Returns the wire length or an error. */
static int canon_name(const char *s, uint8_t *out, size_t cap)
{
	if (!s || !*s || cap < 1)
		return SKY_EPARSE;
	size_t o = 1, lab = 0;
	out[0] = 0;
	if (strcmp(s, ".") == 0)
		return 1;
	for (const char *p = s; *p; p++) {
		int ch = (unsigned char)*p;
		if (ch == '.') {
			if (o - lab - 1 == 0)
				return SKY_EPARSE;
			out[lab] = (uint8_t)(o - lab - 1);
			if (o >= cap)
				return SKY_ERANGE;
			lab = o;
			out[o++] = 0;
			continue;
		}
		if (ch == '\\') {
			if (p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' &&
			    p[3] >= '0' && p[3] <= '9') {
				ch = (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
				if (ch > 255)
					return SKY_EPARSE;
				p += 3;
			} else if (p[1]) {
				ch = (unsigned char)*++p;
			} else {
				return SKY_EPARSE;
			}
		}
		if (o >= cap || o > NAME_WIRE_MAX)
			return SKY_ERANGE;
		if (o - lab - 1 >= 63)
			return SKY_EPARSE;
		out[o++] = lower((uint8_t)ch);
	}
	if (o - lab - 1 > 0) {
		out[lab] = (uint8_t)(o - lab - 1);
		if (o >= cap)
			return SKY_ERANGE;
		out[o++] = 0;
	}
	return o > NAME_WIRE_MAX ? SKY_ERANGE : (int)o;
}

/* RRSIG labels field (RFC 4034 §3.1.3): root and a leading '*' not counted. */
static uint8_t wire_labels(const uint8_t *w)
{
	uint8_t n = 0;
	bool star = w[0] == 1 && w[1] == '*';
	for (size_t i = 0; w[i]; i += (size_t)w[i] + 1)
		n++;
	return (uint8_t)(star ? n - 1 : n);
}

/* owner is the zone or below it: compare at every label boundary. */
static bool wire_in_domain(const struct dnssec *d, const uint8_t *w, size_t len)
{
	for (size_t i = 0; i < len; i += (size_t)w[i] + 1) {
		if (len - i == d->domain_wire_len && memcmp(w + i, d->domain_wire, len - i) == 0)
			return true;
		if (!w[i])
			break;
	}
	return false;
}

/* ------------------------------------------------------------------ rdata */

struct out {
	uint8_t *p;
	size_t n, cap;
	int err;
};

static void put(struct out *o, const void *v, size_t len)
{
	if (o->err)
		return;
	if (o->n + len > o->cap) {
		o->err = SKY_ERANGE;
		return;
	}
	memcpy(o->p + o->n, v, len);
	o->n += len;
}

static void put8(struct out *o, uint8_t v)
{
	put(o, &v, 1);
}

static void put16(struct out *o, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(o, b, 2);
}

static void put32(struct out *o, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	put(o, b, 4);
}

static void put_name(struct out *o, const char *name)
{
	uint8_t w[NAME_WIRE_MAX];
	int n = canon_name(name, w, sizeof(w));
	if (n < 0) {
		if (!o->err)
			o->err = n;
		return;
	}
	put(o, w, (size_t)n);
}

/* TXT character-strings exactly as wire.c splits them: one empty string
 * for empty text, else 255-byte pieces (no extra empty string at exactly 255
 * bytes: wire.c does not copy that SkyDNS quirk). Must stay in step with
 * wire.c's put_txt, or TXT signatures stop validating. */
static void put_txt(struct out *o, const char *t, size_t len)
{
	size_t i = 0;
	do {
		size_t k = len - i > 255 ? 255 : len - i;
		put8(o, (uint8_t)k);
		put(o, t + i, k);
		i += k;
	} while (i < len);
}

/* The RDATA of rr in canonical form: names uncompressed and lower-case
 * (RFC 4034 §6.2 lists NS, CNAME, SOA, PTR, MX, SRV among ours). */
static int canon_rdata(const struct rr *rr, uint8_t *buf, size_t cap)
{
	struct out o = {buf, 0, cap, 0};
	switch (rr->type) {
	case T_A:
		put(&o, rr->d.a, 4);
		break;
	case T_AAAA:
		put(&o, rr->d.aaaa, 16);
		break;
	case T_CNAME:
	case T_NS:
	case T_PTR:
		put_name(&o, rr->d.name.target);
		break;
	case T_MX:
		put16(&o, rr->d.mx.preference);
		put_name(&o, rr->d.mx.exchange);
		break;
	case T_SRV:
		put16(&o, rr->d.srv.priority);
		put16(&o, rr->d.srv.weight);
		put16(&o, rr->d.srv.port);
		put_name(&o, rr->d.srv.target);
		break;
	case T_TXT:
		put_txt(&o, rr->d.txt.text, rr->d.txt.len);
		break;
	case T_SOA:
		put_name(&o, rr->d.soa.mname);
		put_name(&o, rr->d.soa.rname);
		put32(&o, rr->d.soa.serial);
		put32(&o, rr->d.soa.refresh);
		put32(&o, rr->d.soa.retry);
		put32(&o, rr->d.soa.expire);
		put32(&o, rr->d.soa.minimum);
		break;
	default:
		put(&o, rr->d.raw.data, rr->d.raw.len);
		break;
	}
	return o.err ? o.err : (int)o.n;
}

/* ------------------------------------------------------------------ NSEC3 */

/* md: SHA-1, fetched once per worker so the query path does not go through
 * OpenSSL's (locked) implicit algorithm fetch. */
static int nsec3_hash(const EVP_MD *md, const char *name, uint8_t out[DNSSEC_NSEC3_HASH])
{
	uint8_t w[NAME_WIRE_MAX];
	int n = canon_name(name, w, sizeof(w));
	if (n < 0)
		return SKY_EPARSE;
	/* RFC 5155 §5: IH(salt, x, 0) = H(x || salt); no iterations, no salt
	 * (RFC 9276). */
	unsigned int len = 0;
	if (!EVP_Digest(w, (size_t)n, out, &len, md, NULL) || len != DNSSEC_NSEC3_HASH)
		return SKY_EIO;
	return 0;
}

int dnssec_nsec3_hash(const char *name, uint8_t out[DNSSEC_NSEC3_HASH])
{
	return nsec3_hash(EVP_sha1(), name, out);
}

int dnssec_base32hex(const uint8_t hash[DNSSEC_NSEC3_HASH], char *out, size_t cap)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuv";
	if (cap < DNSSEC_NSEC3_HASH * 8 / 5 + 1)
		return SKY_ERANGE;
	size_t o = 0;
	for (size_t bit = 0; bit < DNSSEC_NSEC3_HASH * 8; bit += 5) {
		size_t byte = bit / 8, shift = bit % 8;
		unsigned v = (unsigned)hash[byte] << 8;
		if (byte + 1 < DNSSEC_NSEC3_HASH)
			v |= hash[byte + 1];
		out[o++] = digits[(v >> (11 - shift)) & 31];
	}
	out[o] = 0;
	return (int)o;
}

/* hash +/- 1 on the 20 raw bytes, big-endian, wrapping (SkyDNS §15). */
static void hash_step(uint8_t h[DNSSEC_NSEC3_HASH], int dir)
{
	for (int i = DNSSEC_NSEC3_HASH - 1; i >= 0; i--) {
		uint8_t old = h[i];
		h[i] = (uint8_t)(h[i] + dir);
		if ((dir > 0 && old != 0xff) || (dir < 0 && old != 0x00))
			break;
	}
}


static void worker_destroy(struct worker *w)
{
	if (!w)
		return;
	EVP_PKEY_free(w->pkey);
	EVP_MD_CTX_free(w->mdctx);
	EVP_MD_free(w->sign_md);
	EVP_MD_free(w->sha256);
	EVP_MD_free(w->sha1);
	scache_free(w->cache);
	free(w->buf);
	free(w->rd);
	free(w->off);
	free(w->len);
	free(w->order);
	free(w->members);
	free(w->done);
	free(w);
}

/* pthread TLS destructor: a worker thread ended. */
static void worker_exit(void *p)
{
	struct worker *w = p;
	struct dnssec *d = w->d;
	pthread_mutex_lock(&d->lock);
	if (w->prev)
		w->prev->next = w->next;
	else
		d->workers = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&d->lock);
	worker_destroy(w);
}

static struct worker *worker_new(struct dnssec *d)
{
	struct worker *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->d = d;
	const unsigned char *p = d->key.der;
	w->pkey = d2i_AutoPrivateKey(NULL, &p, (long)d->key.der_len);
	w->mdctx = EVP_MD_CTX_new();
	w->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	w->sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	if (d->key.alg->md)
		w->sign_md = EVP_MD_fetch(NULL, d->key.alg->md, NULL);
	if (!w->pkey || !w->mdctx || !w->sha256 || !w->sha1 || (d->key.alg->md && !w->sign_md)) {
		worker_destroy(w);
		return NULL;
	}
	return w;
}

/* The calling thread's worker; created (and registered) on first use. */
static struct worker *worker_get(struct dnssec *d)
{
	struct worker *w = pthread_getspecific(d->tls);
	if (w)
		return w;
	w = worker_new(d);
	if (!w)
		return NULL;
	if (pthread_setspecific(d->tls, w) != 0) {
		worker_destroy(w);
		return NULL;
	}
	pthread_mutex_lock(&d->lock);
	w->next = d->workers;
	if (d->workers)
		d->workers->prev = w;
	d->workers = w;
	pthread_mutex_unlock(&d->lock);
	return w;
}

static int sign_bytes(struct worker *w, const uint8_t *data, size_t len, uint8_t *sig,
		      size_t *siglen);

/* Sign something once at load time: a key OpenSSL cannot use is a start-up
 * error, not signatures silently missing (SkyDNS's behaviour). */
static int trial_sign(struct dnssec *d, char *why, size_t cap)
{
	struct worker *w = worker_new(d);
	uint8_t sig[SIG_MAX];
	size_t n = sizeof(sig);
	int rc = w ? sign_bytes(w, (const uint8_t *)"skydns", 6, sig, &n) : SKY_ENOMEM;
	worker_destroy(w);
	if (rc)
		snprintf(why, cap, "dnssec: cannot sign with the %s key: %s", d->key.alg->name,
			 err_str(rc));
	return rc;
}

int dnssec_load(const char *basename, const char *domain, struct dnssec **out, char *why,
		size_t cap)
{
	*out = NULL;
	if (cap)
		why[0] = 0;
	size_t bl = basename ? strlen(basename) : 0;
	if (bl == 0 || bl > 4000 || !domain) {
		snprintf(why, cap, "dnssec: empty or too long key basename");
		return SKY_EINVAL;
	}
	char base[4096];
	memcpy(base, basename, bl + 1);
	for (char *p = base; *p; p++)
		if (*p == ' ')
			*p = '+';   /* etcd form-encoding turned '+' into ' ' (SkyDNS) */
	static const char *const suffixes[] = {".key", ".private"};
	for (size_t i = 0; i < 2; i++) {
		size_t sl = strlen(suffixes[i]);
		if (bl > sl && strcmp(base + bl - sl, suffixes[i]) == 0)
			base[bl - sl] = 0;
	}
	struct dnssec *d = calloc(1, sizeof(*d));
	if (!d)
		return SKY_ENOMEM;
	int n = canon_name(domain, d->domain_wire, sizeof(d->domain_wire));
	if (n < 0 || strlen(domain) >= sizeof(d->domain)) {
		snprintf(why, cap, "dnssec: bad domain %s", domain);
		free(d);
		return SKY_EINVAL;
	}
	d->domain_wire_len = (size_t)n;
	snprintf(d->domain, sizeof(d->domain), "%s", domain);
	if (domain[strlen(domain) - 1] != '.')
		strncat(d->domain, ".", sizeof(d->domain) - strlen(d->domain) - 1);
	for (char *p = d->domain; *p; p++)
		*p = (char)lower((uint8_t)*p);
	int rc = dnssec_key_read(base, d->domain, &d->key, why, cap);
	if (!rc)
		rc = trial_sign(d, why, cap);
	if (!rc && (pthread_key_create(&d->tls, worker_exit) != 0 ||
		    pthread_mutex_init(&d->lock, NULL) != 0))
		rc = SKY_ENOMEM;
	if (rc) {
		dnssec_key_clear(&d->key);
		free(d);
		return rc;
	}
	*out = d;
	return 0;
}

void dnssec_free(struct dnssec *d)
{
	if (!d)
		return;
	pthread_key_delete(d->tls);
	for (struct worker *w = d->workers, *nx; w; w = nx) {
		nx = w->next;
		worker_destroy(w);
	}
	pthread_mutex_destroy(&d->lock);
	dnssec_key_clear(&d->key);
	free(d);
}

uint8_t dnssec_algorithm(const struct dnssec *d)
{
	return d->key.alg->alg;
}

bool dnssec_deprecated(const struct dnssec *d)
{
	return d->key.alg->alg == 5 || d->key.alg->alg == 7;
}

uint16_t dnssec_key_tag(const struct dnssec *d)
{
	return d->key.tag;
}

const char *dnssec_domain(const struct dnssec *d)
{
	return d->domain;
}

void dnssec_cache_counters(struct dnssec *d, uint64_t *hits, uint64_t *misses)
{
	struct worker *w = pthread_getspecific(d->tls);
	struct scache_stats st;
	scache_stats(w ? w->cache : NULL, &st);
	*hits = st.hits;
	*misses = st.misses;
}

/* --------------------------------------------------------------- signing */

static int sign_bytes(struct worker *w, const uint8_t *data, size_t len, uint8_t *sig,
		      size_t *siglen)
{
	const struct dnssec_alg *ai = w->d->key.alg;
	uint8_t raw[SIG_MAX];
	size_t n = sizeof(raw);
	EVP_MD_CTX_reset(w->mdctx);
	if (EVP_DigestSignInit(w->mdctx, NULL, w->sign_md, NULL, w->pkey) != 1 ||
	    EVP_DigestSign(w->mdctx, raw, &n, data, len) != 1)
		return SKY_EIO;
	if (!ai->ecdsa_half) {
		if (n > *siglen)
			return SKY_ERANGE;
		memcpy(sig, raw, n);
		*siglen = n;
		return 0;
	}
	/* OpenSSL gives DER; DNSSEC wants r || s, each padded (RFC 6605 §4). */
	const unsigned char *p = raw;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)n);
	if (!es)
		return SKY_EIO;
	const BIGNUM *r, *s;
	ECDSA_SIG_get0(es, &r, &s);
	size_t half = (size_t)ai->ecdsa_half;
	int ok = 2 * half <= *siglen && BN_bn2binpad(r, sig, (int)half) == (int)half &&
		 BN_bn2binpad(s, sig + half, (int)half) == (int)half;
	ECDSA_SIG_free(es);
	if (!ok)
		return SKY_EIO;
	*siglen = 2 * half;
	return 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 64;
	while (nc < need)
		nc *= 2;
	void *np = realloc(*p, nc * elem);
	if (!np)
		return SKY_ENOMEM;
	*p = np;
	*cap = nc;
	return 0;
}

static int grow_members(struct worker *w, size_t n)
{
	if (n <= w->ncap)
		return 0;
	size_t nc = w->ncap ? w->ncap : 16;
	while (nc < n)
		nc *= 2;
	size_t **arrs[] = {&w->off, &w->len, &w->order, &w->members};
	for (size_t i = 0; i < sizeof(arrs) / sizeof(arrs[0]); i++) {
		size_t *np = realloc(*arrs[i], nc * sizeof(size_t));
		if (!np)
			return SKY_ENOMEM;
		*arrs[i] = np;
	}
	w->ncap = nc;
	return 0;
}

static int rdata_cmp(const struct worker *w, size_t a, size_t b)
{
	size_t la = w->len[a], lb = w->len[b];
	int c = memcmp(w->rd + w->off[a], w->rd + w->off[b], la < lb ? la : lb);
	return c ? c : (la > lb) - (la < lb);
}

/* Encode the members' canonical rdata and sort them (RFC 4034 §6.3). */
static int canon_members(struct worker *w, const struct rr *rrs, size_t nm, size_t *total)
{
	size_t used = 0;
	for (size_t i = 0; i < nm; i++) {
		if (grow((void **)&w->rd, &w->rdcap, used + RDATA_MAX, 1))
			return SKY_ENOMEM;
		int k = canon_rdata(&rrs[w->members[i]], w->rd + used, RDATA_MAX);
		if (k < 0)
			return k;
		w->off[i] = used;
		w->len[i] = (size_t)k;
		used += (size_t)k;
		size_t j = i;
		for (; j > 0 && rdata_cmp(w, w->order[j - 1], i) > 0; j--)
			w->order[j] = w->order[j - 1];
		w->order[j] = i;
	}
	*total = used;
	return 0;
}

/* The RRSIG rdata for the to-be-signed data w->buf[0..len) (its first
 * `prefix` bytes: the RRSIG fields with zero times): from the cache while
 * the cached signature has more than 48h left, else freshly signed. *out
 * points into the cache or w->sig, valid until the next call. */
static int rrsig_rdata(struct worker *w, int64_t now, size_t len, size_t prefix,
		       const uint8_t **out, size_t *outlen)
{
	uint8_t key[SCACHE_KEY];
	if (!EVP_Digest(w->buf, len, key, NULL, w->sha256, NULL))
		return SKY_EIO;
	struct scache *cache = w->use_cache ? w->cache : NULL;
	int64_t exp = 0;
	const uint8_t *hit = cache ? scache_get(cache, key, outlen, &exp) : NULL;
	if (hit && exp - now > REFRESH_MARGIN) {
		*out = hit;
		return 0;
	}
	exp = now + VALIDITY;
	struct out t = {w->buf + 8, 0, 8, 0};
	put32(&t, (uint32_t)exp);   /* RFC 4034 §3.1.5: serial arithmetic */
	put32(&t, (uint32_t)(now - INCEPTION_SKEW));
	size_t siglen = SIG_MAX;
	int rc = sign_bytes(w, w->buf, len, w->sig + prefix, &siglen);
	if (rc)
		return rc;
	memcpy(w->sig, w->buf, prefix);
	*out = w->sig;
	*outlen = prefix + siglen;
	if (cache)
		(void)scache_put(cache, key, w->sig, *outlen, exp); /* ENOMEM: just uncached */
	return 0;
}

/* One RRSIG over the RRset rrs[members[0..nm)] of section sec, whose owner
 * in canonical wire form is ow[on]. */
static int sign_rrset(struct worker *w, const struct query *q, struct answer *a, int sec,
		      size_t nm, const uint8_t *ow, size_t on)
{
	struct dnssec *d = w->d;
	struct rr *rrs = a->rrs[sec];
	uint32_t ttl = rrs[w->members[0]].ttl;
	for (size_t i = 1; i < nm; i++)
		if (rrs[w->members[i]].ttl < ttl)
			ttl = rrs[w->members[i]].ttl;
	for (size_t i = 0; i < nm; i++)   /* RFC 2181 §5.2: one TTL per RRset */
		rrs[w->members[i]].ttl = ttl;
	size_t rdtotal;
	int rc = canon_members(w, rrs, nm, &rdtotal);
	if (rc)
		return rc;
	const struct rr *first = &rrs[w->members[0]];
	size_t need = 18 + d->domain_wire_len + nm * (on + 10) + rdtotal;
	if (grow((void **)&w->buf, &w->bufcap, need, 1))
		return SKY_ENOMEM;
	/* RFC 4034 §3.1.8.1: RRSIG rdata minus the signature, then the RRs.
	 * Times stay zero while the cache key is computed: the key is the
	 * whole content, the times are the cached value's business. */
	struct out o = {w->buf, 0, w->bufcap, 0};
	put16(&o, first->type);
	put8(&o, d->key.alg->alg);
	put8(&o, wire_labels(ow));
	put32(&o, ttl);
	put32(&o, 0);
	put32(&o, 0);
	put16(&o, d->key.tag);
	put(&o, d->domain_wire, d->domain_wire_len);
	size_t prefix = o.n;
	for (size_t k = 0; k < nm; k++) {
		size_t i = w->order[k];
		if (k > 0 && rdata_cmp(w, w->order[k - 1], i) == 0)
			continue;   /* §6.3: duplicates removed */
		put(&o, ow, on);
		put16(&o, first->type);
		put16(&o, first->rclass);
		put32(&o, ttl);
		put16(&o, (uint16_t)w->len[i]);
		put(&o, w->rd + w->off[i], w->len[i]);
	}
	if (o.err)
		return o.err;
	const uint8_t *rdata;
	size_t rdlen;
	rc = rrsig_rdata(w, q->now, o.n, prefix, &rdata, &rdlen);
	if (rc)
		return rc;
	uint8_t *rs = answer_alloc(a, rdlen);
	if (!rs)
		return SKY_ENOMEM;
	memcpy(rs, rdata, rdlen);
	struct rr sig = {.owner = first->owner, .type = T_RRSIG, .rclass = first->rclass, .ttl = ttl};
	sig.d.raw.data = rs;
	sig.d.raw.len = (uint16_t)rdlen;
	return answer_add(a, sec, &sig) ? 0 : SKY_ENOMEM;
}

static const char *owner_of(const struct query *q, const struct rr *r)
{
	return r->owner ? r->owner : q->name;
}

/* Group section sec into RRsets (owner, type, class) and sign those inside
 * the zone. RRSIGs go to the end of the section, as in SkyDNS. */
static int sign_section(struct worker *w, const struct query *q, struct answer *a, int sec)
{
	size_t n0 = a->n[sec];
	if (n0 == 0)
		return 0;
	if (grow((void **)&w->done, &w->donecap, n0, 1) || grow_members(w, n0))
		return SKY_ENOMEM;
	memset(w->done, 0, n0);
	for (size_t i = 0; i < n0; i++) {
		if (w->done[i])
			continue;
		w->done[i] = 1;
		const struct rr *r = &a->rrs[sec][i];
		if (r->type == T_RRSIG || r->type == T_OPT)
			continue;
		uint8_t ow[NAME_WIRE_MAX];
		int on = canon_name(owner_of(q, r), ow, sizeof(ow));
		if (on < 0)
			return on;
		if (!wire_in_domain(w->d, ow, (size_t)on))
			continue;
		size_t nm = 0;
		w->members[nm++] = i;
		for (size_t j = i + 1; j < n0; j++) {
			const struct rr *s = &a->rrs[sec][j];
			if (!w->done[j] && s->type == r->type && s->rclass == r->rclass &&
			    strcasecmp(owner_of(q, s), owner_of(q, r)) == 0) {
				w->members[nm++] = j;
				w->done[j] = 1;
			}
		}
		int rc = sign_rrset(w, q, a, sec, nm, ow, (size_t)on);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---------------------------------------------------------------- denial */

/* Types claimed at a white-lie name: SkyDNS's A AAAA SRV RRSIG, plus the
 * apex's own types at the apex (so an apex NSEC3 is not mistaken for a
 * delegation, RFC 5155 §8.3), minus the type being denied (SkyDNS listed it
 * even there, so its NODATA for A/AAAA/SRV did not validate). */
static const uint16_t lie_types[] = {T_A, T_AAAA, T_SRV, T_RRSIG};
static const uint16_t apex_types[] = {T_NS, T_SOA, T_DNSKEY};

static void set_type(uint8_t bm[32], int *top, uint16_t t)
{
	bm[t / 8] |= (uint8_t)(0x80 >> (t % 8));
	if (t / 8 > *top)
		*top = t / 8;
}

static int add_nsec3(struct answer *a, const struct dnssec *d, const struct config *c,
		     const uint8_t owner[DNSSEC_NSEC3_HASH], const uint8_t next[DNSSEC_NSEC3_HASH],
		     bool types, bool apex, uint16_t exclude)
{
	uint8_t rd[6 + DNSSEC_NSEC3_HASH + 2 + 32];
	struct out o = {rd, 0, sizeof(rd), 0};
	put8(&o, 1);   /* SHA-1 */
	put8(&o, 0);   /* flags: no opt-out */
	put16(&o, 0);  /* iterations */
	put8(&o, 0);   /* salt length */
	put8(&o, DNSSEC_NSEC3_HASH);
	put(&o, next, DNSSEC_NSEC3_HASH);
	if (types) {
		uint8_t bm[32] = {0};
		int top = -1;
		for (size_t i = 0; i < sizeof(lie_types) / sizeof(lie_types[0]); i++)
			if (lie_types[i] != exclude)
				set_type(bm, &top, lie_types[i]);
		for (size_t i = 0; apex && i < sizeof(apex_types) / sizeof(apex_types[0]); i++)
			if (apex_types[i] != exclude)
				set_type(bm, &top, apex_types[i]);
		if (top >= 0) {
			put8(&o, 0);   /* window 0: all our types are < 256 */
			put8(&o, (uint8_t)(top + 1));
			put(&o, bm, (size_t)top + 1);
		}
	}
	char label[40];
	dnssec_base32hex(owner, label, sizeof(label));
	size_t olen = strlen(label) + 1 + strlen(d->domain) + 1;
	char *name = answer_alloc(a, olen);
	uint8_t *raw = answer_alloc(a, o.n);
	if (!name || !raw)
		return SKY_ENOMEM;
	snprintf(name, olen, "%s.%s", label, d->domain);
	memcpy(raw, rd, o.n);
	struct rr r = {.owner = name, .type = T_NSEC3, .rclass = C_IN, .ttl = c->min_ttl};
	r.d.raw.data = raw;
	r.d.raw.len = (uint16_t)o.n;
	return answer_add(a, SEC_AUTHORITY, &r) ? 0 : SKY_ENOMEM;
}

/* A white lie covering exactly `name`: owner hash-1, next hash+1. */
static int add_cover(struct answer *a, const struct worker *w, const struct config *c,
		     const char *name)
{
	uint8_t lo[DNSSEC_NSEC3_HASH], hi[DNSSEC_NSEC3_HASH];
	int rc = nsec3_hash(w->sha1, name, lo);
	if (rc)
		return rc;
	memcpy(hi, lo, sizeof(hi));
	hash_step(lo, -1);
	hash_step(hi, +1);
	return add_nsec3(a, w->d, c, lo, hi, false, false, 0);
}

/* A white lie matching `name`: owner hash, next hash+1. */
static int add_match(struct answer *a, const struct worker *w, const struct config *c,
		     const char *name, uint16_t exclude)
{
	uint8_t h[DNSSEC_NSEC3_HASH], hi[DNSSEC_NSEC3_HASH];
	int rc = nsec3_hash(w->sha1, name, h);
	if (rc)
		return rc;
	memcpy(hi, h, sizeof(hi));
	hash_step(hi, +1);
	return add_nsec3(a, w->d, c, h, hi, true, strcasecmp(name, w->d->domain) == 0, exclude);
}

static bool has_soa(const struct answer *a)
{
	for (size_t i = 0; i < a->n[SEC_AUTHORITY]; i++)
		if (a->rrs[SEC_AUTHORITY][i].type == T_SOA)
			return true;
	return false;
}

/* RFC 7129 App. B / SkyDNS §15: NXDOMAIN proves the closest encloser (the
 * qname minus one label), covers the qname and the wildcard below the
 * encloser; NODATA matches the qname with a bitmap lacking qtype and CNAME. */
static int add_denial(const struct worker *w, const struct query *q, const struct config *c,
		      struct answer *a)
{
	const struct dnssec *d = w->d;
	bool nodata = a->rcode == RCODE_NOERROR && a->n[SEC_ANSWER] == 0 && has_soa(a);
	if (a->rcode != RCODE_NXDOMAIN && !nodata)
		return 0;
	uint8_t qw[NAME_WIRE_MAX];
	int n = canon_name(q->name, qw, sizeof(qw));
	if (n < 0 || !wire_in_domain(d, qw, (size_t)n))
		return 0;
	if (nodata)
		return add_match(a, w, c, q->name, q->qtype);
	if ((size_t)n == d->domain_wire_len)
		return 0;   /* the apex exists: no NXDOMAIN to prove */
	const char *ce = q->name;
	while (*ce && *ce != '.')
		ce += (*ce == '\\' && ce[1]) ? 2 : 1;
	ce = *ce ? ce + 1 : ce;
	char wild[MSG_NAME_MAX + 3];
	snprintf(wild, sizeof(wild), "*.%s", ce);
	int rc = add_match(a, w, c, ce, 0);
	if (!rc)
		rc = add_cover(a, w, c, wild);
	if (!rc)
		rc = add_cover(a, w, c, q->name);
	return rc;
}

/* ------------------------------------------------------------ the answer */

static int add_dnskey(const struct dnssec *d, const struct config *c, struct answer *a)
{
	for (int s = 0; s < SEC_COUNT; s++)
		a->n[s] = 0;
	a->rcode = RCODE_NOERROR;
	a->aa = true;
	struct rr r = {.owner = NULL, .type = T_DNSKEY, .rclass = C_IN, .ttl = c->ttl};
	r.d.raw.data = d->key.dnskey;
	r.d.raw.len = (uint16_t)d->key.dnskey_len;
	return answer_add(a, SEC_ANSWER, &r) ? 0 : SKY_ENOMEM;
}

int dnssec_sign_answer(struct dnssec *d, const struct query *q, const struct config *c,
		       struct answer *a)
{
	if (!d || !q->do_bit)
		a->sign = false;   /* no DNSSEC records without DO, whatever the resolver said */
	if (!d)
		return 0;
	if (q->qtype == T_DNSKEY && (q->qclass == C_IN || q->qclass == C_CH) &&
	    strcasecmp(q->name, d->domain) == 0) {
		int rc = add_dnskey(d, c, a);
		if (rc)
			return rc;
	}
	if (!a->sign)
		return 0;
	struct worker *w = worker_get(d);
	if (!w)
		return SKY_ENOMEM;
	if (c->scache > 0 && !w->cache)
		w->cache = scache_new((size_t)c->scache);   /* NULL: sign uncached */
	w->use_cache = c->scache > 0;
	a->ad = true;
	int rc = add_denial(w, q, c, a);
	for (int s = 0; s < SEC_COUNT && !rc; s++)
		rc = sign_section(w, q, a, s);
	return rc;
}
