/* resolve.h - the pure core: (query, snapshot, config) -> answer. No I/O, no
 * clock, no global state: time and randomness come in the query. Unit-tested
 * on hand-built snapshots.
 */
#ifndef SKYDNS_RESOLVE_H
#define SKYDNS_RESOLVE_H

#include <stdbool.h>
#include <stdint.h>

#include "answer.h"
#include "msg.h"

struct snapshot;
struct config;

struct query {
	char name[MSG_NAME_MAX];  /* presentation, lower-cased, absolute */
	uint16_t qtype;
	uint16_t qclass;
	bool rd;
	bool cd;
	bool edns;                /* query carried an OPT RR */
	bool do_bit;
	uint16_t udp_size;        /* client's EDNS buffer size (512 without EDNS) */
	bool stub_marker;         /* EDNS option 65011 = 0x01 present (stub loop prevention) */
	bool tcp;
	bool recursion_denied;    /* client outside allow_recursion: REFUSED for outside names */
	int64_t now;              /* unix seconds */
	uint8_t client_fam;       /* 4, 6, or 0 (unknown): the asker's address, for host_one */
	uint8_t client[16];
	uint64_t rand;            /* seed for round robin / shuffles */
};

enum resolve_action {
	RESOLVE_ANSWER = 0,  /* `out` holds the reply to encode */
	RESOLVE_FORWARD,     /* not ours: proxy to the nameservers (or SERVFAIL/REFUSED per config) */
	RESOLVE_STUB,        /* proxy to the stub zone's nameservers; see resolve_stub_servers() */
	RESOLVE_DROP,        /* send nothing (stub loop) */
};

/* Fill `out` (reset by the caller) for q. Returns a resolve_action.
 * `out` may also carry ext lookups the caller must perform. */
enum resolve_action resolve(const struct query *q, const struct snapshot *s,
			    const struct config *c, struct answer *out);

/* For RESOLVE_STUB: the nameservers ("IP:port") of the stub zone that
 * matched q->name, longest zone match. Returns how many were written (<= max). */
int resolve_stub_servers(const struct query *q, const struct snapshot *s,
			 const struct config *c, char (*out)[64], int max);

#endif
