/* answer.h - a DNS answer as the resolver builds it, before wire encoding.
 *
 * The project's own representation: no ldns types. Names are presentation
 * strings (absolute, "a.b.c."); an owner of NULL means "the question name as
 * the client sent it" (the wire module then points at the question, so 0x20
 * case is echoed and the name is compressed).
 *
 * Ownership: an answer owns its RR arrays and an arena for strings made while
 * resolving (answer_strdup). Strings may also point into the snapshot the
 * answer was built from, so an answer must not outlive that snapshot's
 * snapstore_leave(). answer_reset() keeps capacity for reuse by a worker.
 */
#ifndef SKYDNS_ANSWER_H
#define SKYDNS_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { SEC_ANSWER = 0, SEC_AUTHORITY = 1, SEC_ADDITIONAL = 2, SEC_COUNT = 3 };

enum {
	T_A = 1, T_NS = 2, T_CNAME = 5, T_SOA = 6, T_PTR = 12, T_HINFO = 13, T_MX = 15,
	T_TXT = 16, T_AAAA = 28, T_SRV = 33, T_NAPTR = 35, T_DS = 43, T_RRSIG = 46,
	T_NSEC = 47, T_DNSKEY = 48, T_NSEC3 = 50, T_NSEC3PARAM = 51, T_OPT = 41,
	T_IXFR = 251, T_AXFR = 252, T_ANY = 255,
};
enum { C_IN = 1, C_CH = 3, C_ANY = 255 };
enum {
	RCODE_NOERROR = 0, RCODE_FORMERR = 1, RCODE_SERVFAIL = 2, RCODE_NXDOMAIN = 3,
	RCODE_NOTIMP = 4, RCODE_REFUSED = 5, RCODE_BADVERS = 16,
};

struct rr {
	const char *owner;  /* NULL = question name as received */
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	union {
		uint8_t a[4];
		uint8_t aaaa[16];
		struct { const char *target; } name;   /* CNAME, NS, PTR */
		struct { uint16_t priority, weight, port; const char *target; } srv;
		struct { uint16_t preference; const char *exchange; } mx;
		struct { const char *text; size_t len; } txt; /* wire splits into 255-byte strings */
		struct {
			const char *mname, *rname;
			uint32_t serial, refresh, retry, expire, minimum;
		} soa;
		struct { const uint8_t *data; uint16_t len; } raw; /* any other type: wire rdata,
								      names uncompressed */
	} d;
};

/* A name the resolver could not answer from etcd: the server resolves it
 * through the forwarders and appends what it finds (issue: external names). */
struct ext_lookup {
	const char *name;   /* absolute target name */
	uint16_t qtype;     /* T_A or T_AAAA */
	uint8_t section;    /* where the records go */
};

struct answer {
	uint8_t rcode;
	bool aa, ra, ad, tc;
	bool rd_clear;          /* ANY: RD cleared in the reply (SkyDNS) */
	bool sign;              /* DNSSEC: DO was set and the answer is ours to sign */
	bool varies;            /* chance shaped it (a shuffle): another ask may differ */
	bool filtered;          /* DOWN addresses were left out (health.h) */
	bool fail_open;         /* every address of a family was DOWN: all served */
	uint32_t time_unit;     /* 0: the same at any time; else the same only within
				 * the aligned window of this many seconds around
				 * the query's time (answer_time_unit) */
	struct rr *rrs[SEC_COUNT];
	size_t n[SEC_COUNT], cap[SEC_COUNT];
	struct ext_lookup *ext;
	size_t next, capext;
	struct answer_chunk *arena; /* private */
};

void answer_init(struct answer *a);
void answer_reset(struct answer *a);   /* empty, keep capacity */
void answer_free(struct answer *a);
/* The answer depends on the clock at this granularity (1: the second,
 * e.g. a TTL counting down; 3600: the hour, the SOA serial). Units divide
 * one another, so the finest wins. */
void answer_time_unit(struct answer *a, uint32_t unit);

/* Append an RR (copied by value) to a section; returns a pointer to the
 * stored copy or NULL on ENOMEM. */
struct rr *answer_add(struct answer *a, int section, const struct rr *rr);
int answer_add_ext(struct answer *a, const char *name, uint16_t qtype, int section);

/* Copy len bytes (+NUL) into the answer's arena; NULL on ENOMEM. */
char *answer_strndup(struct answer *a, const char *s, size_t len);
char *answer_strdup(struct answer *a, const char *s);
void *answer_alloc(struct answer *a, size_t len);

#endif
