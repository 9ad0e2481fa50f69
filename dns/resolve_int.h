/* resolve_int.h - private to resolve*.c: the per-query context, the record
 * lists read from a snapshot, and the helpers the qtype handlers share.
 *
 * resolve.c        pipeline (ANY, stub zones, local, reverse, forward), CHAOS,
 *                  the epilogue (de-duplication, TTLs, header bits)
 * resolve_lookup.c names, snapshot reads (wildcards, hidden `_` subtrees,
 *                  expiry), groups, TTLs, vectors
 * resolve_types.c  A/AAAA with CNAME chains, SRV, MX, TXT, CNAME, NS, SOA
 *
 * Nothing here allocates outside the answer's arena except the two vectors,
 * which the caller frees before resolve() returns.
 */
#ifndef SKYDNS_RESOLVE_INT_H
#define SKYDNS_RESOLVE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "answer.h"
#include "resolve.h"

struct snapshot;
struct config;
struct record;

#define RESOLVE_MAX_CNAMES 8 /* SkyDNS: chains longer than 8 CNAMEs are cut */

struct rctx {
	const struct query *q;
	const struct snapshot *s;
	const struct config *c;
	struct answer *out;
	uint64_t rng;
	int err; /* sticky SKY_ENOMEM: the query ends in SERVFAIL */
};

/* Records read for one name, in snapshot (path) order. */
struct rlist {
	const struct record **v;
	size_t n, cap;
};

/* RRs being collected before they go into an answer section. */
struct rrvec {
	struct rr *v;
	size_t n, cap;
};

/* --- resolve_lookup.c --- */
uint64_t rctx_rand(struct rctx *x);
bool rname_in(const char *name, const char *zone); /* name == zone or under ".zone" */
bool rname_ends(const char *name, const char *suffix); /* plain suffix after a '.' */
int rname_labels(const char *name);
const char *rname_strip(const char *name, int n);
/* host -> absolute lower-case name in the arena; NULL on ENOMEM (x->err set). */
char *rname_fqdn(struct rctx *x, const char *host);
/* The DNS name of a record's path, `targetstrip` applied; NULL on error. */
char *rname_of_record(struct rctx *x, const struct record *r, int strip);

bool rrec_live(const struct rctx *x, const struct record *r);
uint32_t rrec_ttl(const struct rctx *x, const struct record *r);
uint32_t rrec_priority(const struct rctx *x, const struct record *r);
/* 4, 6 or 0 (a name, or empty host). */
int rrec_ip(const struct record *r, uint8_t ip[16]);

/* Read `name` (absolute, lower-case) with SkyDNS's directory and wildcard
 * semantics, or in a zone kube2sky manages with the Kubernetes DNS spec's
 * (no wildcards; above a service only the record at the name itself, see
 * resolve_lookup.c); `exact` keeps only records at the name itself.
 * *exists tells NXDOMAIN from NODATA. Returns 0 or SKY_ENOMEM (also stored
 * in x->err). */
int rlookup(struct rctx *x, const char *name, bool exact, struct rlist *out, bool *exists);
void rlist_free(struct rlist *l);
void rgroups(struct rlist *l);

int rrvec_push(struct rctx *x, struct rrvec *v, const struct rr *rr);
void rrvec_free(struct rrvec *v);
/* Drop the RRs carrying a name that would not encode (dname.h). The
 * mirror already skips such keys; this keeps one that slipped through from
 * turning a whole answer into SERVFAIL. */
void rrvec_keep_encodable(struct rrvec *v);
int rrvec_flush(struct rctx *x, struct rrvec *v, int section);
void rext_add(struct rctx *x, const char *name, uint16_t qtype, int section);

/* --- resolve_types.c --- */
/* Each fills the answer/additional vectors; *exists as for rlookup. */
void rt_address(struct rctx *x, const char *name, uint16_t qtype, struct rrvec *ans, bool *exists);
void rt_address_of(struct rctx *x, const char *target, uint16_t qtype, int extsec,
		   struct rrvec *out);
void rt_srv(struct rctx *x, const char *name, struct rrvec *ans, struct rrvec *add, bool *exists);
void rt_mx(struct rctx *x, const char *name, struct rrvec *ans, struct rrvec *add, bool *exists);
void rt_txt(struct rctx *x, const char *name, struct rrvec *ans, bool *exists);
void rt_cname(struct rctx *x, const char *name, struct rrvec *ans, bool *exists);
/* config pod_records: a name under pod.<domain> answered from the name
 * itself; false when name is not under it (look it up as usual). */
bool rt_pod(struct rctx *x, const char *name, struct rrvec *ans, bool *exists);
void rt_ns(struct rctx *x, struct rrvec *ans, struct rrvec *add);
struct rr rt_soa(struct rctx *x, uint32_t ttl);
void rt_shuffle_addresses(struct rctx *x, struct rrvec *ans);

#endif
