/* resolve.c - the request pipeline of SkyDNS 2.5 (skydns-features.md §1) as
 * a pure function: ANY, stub zones, local.dns, reverse, forwarding, then the
 * authoritative answer and its epilogue (§11-§13). CHAOS (§5.12) is here too.
 *
 * Deliberate differences from SkyDNS master are marked "fix:" where they are
 * made; they are listed in the project README.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "err.h"
#include "resolve.h"
#include "resolve_int.h"
#include "snapshot.h"

/* What SkyDNS answers to version.bind; clients and probes compare it. */

static const char *const chaos_authors[] = {
	"Erik St. Martin", "Brian Ketelsen", "Miek Gieben", "Michael Crosby",
};

/* RA on our own answers says whether this server would recurse for the
 * client (fix: SkyDNS set RA=1, or 0 on master's NXDOMAIN, regardless). */
static bool can_recurse(const struct config *c)
{
	return c->nnameservers > 0 && !c->no_rec;
}

/* ---- stub zones (§9) ---- */

struct stub_scan {
	char base[MSG_NAME_MAX]; /* the stub base path (walks point into it) */
	struct rtree_iter start; /* a walk over everything below it */
	size_t baselen;
	char zone[MSG_NAME_MAX]; /* best zone path below the stub base */
	size_t zonelen, namelen;
};

/* The zone path of a stub record ("<zone reversed>/<nsname>"), or 0. */
static size_t stub_zone_path(const struct stub_scan *st, const struct record *r, const char **zp)
{
	if (r->pathlen <= st->baselen + 1)
		return 0;
	const char *z = r->path + st->baselen + 1;
	const char *last = memrchr(z, '/', (size_t)(r->path + r->pathlen - z));
	if (!last)
		return 0;
	*zp = z;
	return (size_t)(last - z);
}

/* Longest matching zone (fix: SkyDNS picked one of the matching zones at
 * random, Go map order). Only zones with at least one IP nameserver count. */
static bool stub_find(const struct query *q, const struct snapshot *s, const struct config *c,
		      struct stub_scan *st)
{
	char base[MSG_NAME_MAX], local[MSG_NAME_MAX], name[MSG_NAME_MAX];
	struct rctx x = {.q = q, .s = s, .c = c};
	snprintf(base, sizeof base, "stub.dns.%s", c->domain);
	snprintf(local, sizeof local, "local.dns.%s", c->domain);
	int blen = msg_name_to_path(base, st->base, sizeof st->base);
	st->zonelen = st->namelen = 0;
	if (blen <= 0)
		return false;
	st->baselen = (size_t)blen;
	snapshot_range(s, st->base, st->baselen, &st->start);
	struct rtree_iter it = st->start;
	for (const struct record *r; (r = snapshot_next(&it));) {
		const char *zp;
		uint8_t ip[16];
		size_t zl = stub_zone_path(st, r, &zp);
		if (!zl || !rrec_live(&x, r) || !rrec_ip(r, ip))
			continue;
		int nl = msg_path_to_name(zp, zl, name, sizeof name);
		if (nl <= 0 || (size_t)nl <= st->namelen || strcmp(name, local) == 0 ||
		    !rname_in(q->name, name))
			continue;
		memcpy(st->zone, zp, zl);
		st->zonelen = zl;
		st->namelen = (size_t)nl;
	}
	return st->zonelen > 0;
}

int resolve_stub_servers(const struct query *q, const struct snapshot *s,
			 const struct config *c, char (*out)[64], int max)
{
	struct stub_scan st;
	struct rctx x = {.q = q, .s = s, .c = c};
	int n = 0;
	if (!c->stubzones || !stub_find(q, s, c, &st))
		return 0;
	struct rtree_iter it = st.start;
	for (const struct record *r; n < max && (r = snapshot_next(&it));) {
		const char *zp;
		uint8_t ip[16];
		char txt[INET6_ADDRSTRLEN];
		size_t zl = stub_zone_path(&st, r, &zp);
		if (zl != st.zonelen || memcmp(zp, st.zone, zl) != 0 || !rrec_live(&x, r))
			continue;
		int fam = rrec_ip(r, ip);
		if (!fam || !inet_ntop(fam == 4 ? AF_INET : AF_INET6, ip, txt, sizeof txt))
			continue;
		unsigned port = r->svc.port ? r->svc.port : 53;
		snprintf(out[n++], 64, fam == 4 ? "%s:%u" : "[%s]:%u", txt, port);
	}
	return n;
}

/* ---- epilogue: de-duplication, TTLs, header (§11-§13) ---- */

static bool owner_eq(const struct rctx *x, const struct rr *a, const struct rr *b)
{
	return strcasecmp(a->owner ? a->owner : x->q->name, b->owner ? b->owner : x->q->name) == 0;
}

static bool rdata_eq(const struct rr *a, const struct rr *b)
{
	switch (a->type) {
	case T_A:
		return memcmp(a->d.a, b->d.a, 4) == 0;
	case T_AAAA:
		return memcmp(a->d.aaaa, b->d.aaaa, 16) == 0;
	case T_CNAME: case T_NS: case T_PTR:
		return strcasecmp(a->d.name.target, b->d.name.target) == 0;
	case T_SRV:
		return a->d.srv.priority == b->d.srv.priority && a->d.srv.weight == b->d.srv.weight &&
		       a->d.srv.port == b->d.srv.port &&
		       strcasecmp(a->d.srv.target, b->d.srv.target) == 0;
	case T_MX:
		return a->d.mx.preference == b->d.mx.preference &&
		       strcasecmp(a->d.mx.exchange, b->d.mx.exchange) == 0;
	case T_TXT:
		return a->d.txt.len == b->d.txt.len &&
		       memcmp(a->d.txt.text, b->d.txt.text, a->d.txt.len) == 0;
	default:
		return false;
	}
}

static uint64_t fnv(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t fnv_name(uint64_t h, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
		h = (h ^ c) * 0x100000001b3ULL;
	}
	return h;
}

/* Hash of what makes two RRs "the same" for dedup: owner, type, class and,
 * except for CNAME (one per owner), the rdata. */
static uint64_t rr_hash(const struct rctx *x, const struct rr *r)
{
	uint64_t h = fnv_name(0xcbf29ce484222325ULL, r->owner ? r->owner : x->q->name);
	h = fnv(h, &r->type, sizeof r->type);
	h = fnv(h, &r->rclass, sizeof r->rclass);
	switch (r->type) {
	case T_A:
		return fnv(h, r->d.a, 4);
	case T_AAAA:
		return fnv(h, r->d.aaaa, 16);
	case T_NS: case T_PTR:
		return fnv_name(h, r->d.name.target);
	case T_SRV:
		return fnv_name(fnv(h, &r->d.srv.port, 2), r->d.srv.target);
	case T_MX:
		return fnv_name(h, r->d.mx.exchange);
	case T_TXT:
		return fnv(h, r->d.txt.text, r->d.txt.len);
	default:
		return h;
	}
}

static bool rr_same(const struct rctx *x, const struct rr *a, const struct rr *b)
{
	return a->type == b->type && a->rclass == b->rclass && owner_eq(x, a, b) &&
	       (a->type == T_CNAME || rdata_eq(a, b));
}

/* §13: identical RRs collapse, the first is kept; one CNAME per owner, the
 * last one seen wins but takes the first one's place, so a CNAME stays in
 * front of what it points to (fix: SkyDNS rebuilt the section in random
 * order whenever it removed something). Hashed: apex and wildcard answers
 * can hold every record of the domain. */
static void dedup(struct rctx *x, struct rrvec *v)
{
	size_t cap = 16, k = 0;
	while (cap < v->n * 2)
		cap *= 2;
	size_t *slot = v->n > 1 ? malloc(cap * sizeof *slot) : NULL;
	if (!slot) {
		if (v->n > 1)
			x->err = SKY_ENOMEM;
		return;
	}
	memset(slot, 0xff, cap * sizeof *slot); /* SIZE_MAX: empty */
	for (size_t i = 0; i < v->n; i++) {
		const struct rr *a = &v->v[i];
		size_t h = (size_t)rr_hash(x, a) & (cap - 1);
		while (slot[h] != SIZE_MAX && !rr_same(x, a, &v->v[slot[h]]))
			h = (h + 1) & (cap - 1);
		if (slot[h] == SIZE_MAX) {
			slot[h] = k;
			v->v[k++] = *a;
		} else if (a->type == T_CNAME) {
			v->v[slot[h]] = *a;
		}
	}
	v->n = k;
	free(slot);
}

/* §12.2: several answer RRs all get the smallest TTL, capped at `ttl`. */
static void answer_ttls(struct rctx *x, struct rrvec *v)
{
	if (v->n < 2)
		return;
	uint32_t m = x->c->ttl;
	for (size_t i = 0; i < v->n; i++)
		if (v->v[i].ttl < m)
			m = v->v[i].ttl;
	for (size_t i = 0; i < v->n; i++)
		v->v[i].ttl = m;
}

static void servfail(struct rctx *x, bool aa)
{
	struct answer *a = x->out;
	for (int s = 0; s < SEC_COUNT; s++)
		a->n[s] = 0;
	a->next = 0;
	a->rcode = RCODE_SERVFAIL;
	a->aa = aa;
	a->ra = can_recurse(x->c);
	a->sign = false;
}

/* Fill the answer from collected RRs; an empty answer is NXDOMAIN or
 * NODATA with the SOA (TTL min_ttl) in authority. */
static void finish(struct rctx *x, struct rrvec *ans, struct rrvec *add, bool exists)
{
	struct answer *a = x->out;
	rrvec_keep_encodable(ans);
	rrvec_keep_encodable(add);
	dedup(x, ans);
	dedup(x, add);
	answer_ttls(x, ans);
	a->rcode = RCODE_NOERROR;
	if (ans->n == 0) {
		struct rr soa = rt_soa(x, x->c->min_ttl);
		if (!exists)
			a->rcode = RCODE_NXDOMAIN; /* fix: AA=1 as 2.5.3a (master sent AA=0) */
		if (!answer_add(a, SEC_AUTHORITY, &soa))
			x->err = SKY_ENOMEM;
	}
	rrvec_flush(x, ans, SEC_ANSWER);
	rrvec_flush(x, add, SEC_ADDITIONAL);
	a->aa = true;
	a->ra = can_recurse(x->c);
	a->sign = x->q->do_bit;
	if (x->err)
		servfail(x, false);
}

/* ---- special names ---- */

static void refused(struct answer *out)
{
	out->rcode = RCODE_REFUSED;
	out->aa = out->ra = false;
	out->rd_clear = true;
}

static void chaos(struct rctx *x, const char *name, struct rrvec *ans)
{
	struct rr rr = {.type = T_TXT, .rclass = C_CH, .ttl = 0};
	const char *one = NULL;
	if (x->q->qtype != T_TXT)
		return;
	if (strcmp(name, "authors.bind.") == 0 || strcmp(name, x->c->domain) == 0) {
		size_t n = sizeof chaos_authors / sizeof chaos_authors[0], order[4] = {0, 1, 2, 3};
		for (size_t i = n; i > 1; i--) {
			size_t j = (size_t)(rctx_rand(x) % i), t = order[i - 1];
			order[i - 1] = order[j];
			order[j] = t;
		}
		for (size_t i = 0; i < n; i++) {
			rr.d.txt.text = chaos_authors[order[i]];
			rr.d.txt.len = strlen(rr.d.txt.text);
			rrvec_push(x, ans, &rr);
		}
		return;
	}
	if (strcmp(name, "version.bind.") == 0 || strcmp(name, "version.server.") == 0)
		one = SKYDNS_VERSION;
	else if (strcmp(name, "hostname.bind.") == 0 || strcmp(name, "id.server.") == 0)
		one = "localhost";
	if (one) {
		rr.d.txt.text = one;
		rr.d.txt.len = strlen(one);
		rrvec_push(x, ans, &rr);
	}
}

/* A PTR source for `path`: the leaf itself, or, when the name is a full
 * address (4 labels under in-addr.arpa, 32 under ip6.arpa), a leaf right
 * below it, so a writer can keep several names per address as
 * ".../<ip>/<label>" (SkyDNS accepted only one leaf and forwarded the rest). */
static bool ptr_source(const struct rctx *x, const struct record *r, size_t plen, bool full)
{
	uint8_t ip[16];
	if (!rrec_live(x, r) || !r->svc.host || !r->svc.host[0] || rrec_ip(r, ip))
		return false;
	if (r->pathlen == plen)
		return true;
	return full && !memchr(r->path + plen + 1, '/', r->pathlen - plen - 1);
}

/* §5.10: PTR from the arpa name's leaf, AA=0; nothing found: forwarded.
 * fix: only PTR queries (SkyDNS sent every ip6.arpa qtype here). */
static enum resolve_action reverse(struct rctx *x, const char *name)
{
	char path[MSG_NAME_MAX];
	struct rrvec ans = {0}, none = {0};
	int plen = msg_name_to_path(name, path, sizeof path);
	if (plen <= 0)
		return RESOLVE_FORWARD;
	int labels = rname_labels(name);
	bool full = rname_ends(name, ".in-addr.arpa.") ? labels == 6 : labels == 34;
	struct rtree_iter it;
	snapshot_range(x->s, path, (size_t)plen, &it);
	for (const struct record *r; !x->err && (r = snapshot_next(&it));) {
		if (!ptr_source(x, r, (size_t)plen, full))
			continue;
		struct rr rr = {.type = T_PTR, .rclass = C_IN, .ttl = rrec_ttl(x, r)};
		rr.d.name.target = rname_fqdn(x, r->svc.host);
		if (rr.d.name.target)
			rrvec_push(x, &ans, &rr);
	}
	if (ans.n == 0 && !x->err) {
		rrvec_free(&ans);
		return RESOLVE_FORWARD;
	}
	finish(x, &ans, &none, true);
	rrvec_free(&ans);
	x->out->aa = false; /* SkyDNS: reverse answers are not authoritative */
	x->out->sign = false; /* and never signed */
	return RESOLVE_ANSWER;
}

/* local.dns.<domain> standing for a name outside the domain: CNAME to it
 * and let the forwarder resolve it (SkyDNS would proxy the question itself
 * upstream, which asks the wrong name). */
static void local_external(struct rctx *x, const char *target, struct rrvec *ans)
{
	uint16_t qt = x->q->qtype;
	if (qt != T_A && qt != T_AAAA && qt != T_CNAME)
		return;
	struct rr cn = {.type = T_CNAME, .rclass = C_IN, .ttl = x->c->ttl};
	cn.d.name.target = answer_strdup(x->out, target);
	if (!cn.d.name.target) {
		x->err = SKY_ENOMEM;
		return;
	}
	rrvec_push(x, ans, &cn);
	if (qt != T_CNAME && rname_labels(target) >= x->c->ndots)
		rext_add(x, cn.d.name.target, qt, SEC_ANSWER);
}

static bool name_exists(struct rctx *x, const char *name)
{
	struct rlist l = {0};
	bool exists = false;
	rlookup(x, name, false, &l, &exists);
	rlist_free(&l);
	return exists;
}

/* §1 step 9: by qtype. Unsupported types only tell NXDOMAIN from NODATA
 * (fix: SkyDNS ran the whole SRV path first, forwarder lookups included). */
static void by_type(struct rctx *x, const char *name, bool apex, struct rrvec *ans,
		    struct rrvec *add, bool *exists)
{
	switch (x->q->qtype) {
	case T_A:
	case T_AAAA:
		rt_address(x, name, x->q->qtype, ans, exists);
		break;
	case T_SRV:
		rt_srv(x, name, ans, add, exists);
		break;
	case T_MX:
		rt_mx(x, name, ans, add, exists);
		break;
	case T_TXT:
		rt_txt(x, name, ans, exists);
		break;
	case T_CNAME:
		rt_cname(x, name, ans, exists);
		break;
	case T_NS:
		if (apex)
			rt_ns(x, ans, add);
		*exists = apex || name_exists(x, name);
		break;
	default:
		*exists = name_exists(x, name);
		break;
	}
}

static void authoritative(struct rctx *x, const char *name)
{
	const struct config *c = x->c;
	uint16_t qt = x->q->qtype;
	struct rrvec ans = {0}, add = {0};
	bool apex = strcmp(name, c->domain) == 0, exists = false;
	if (apex && qt == T_SOA) {
		struct rr soa = rt_soa(x, c->ttl);
		rrvec_push(x, &ans, &soa);
	} else if (apex && qt == T_DNSKEY) {
		/* the dnssec module adds the key; without one this is NODATA */
	} else if (x->q->qclass == C_CH) {
		chaos(x, name, &ans);
		if (ans.n == 0) {
			refused(x->out); /* NSD; SkyDNS answered SERVFAIL */
			goto out;
		}
	} else if (!rname_in(name, c->domain)) {
		local_external(x, name, &ans);
		exists = true;
	} else if (!(c->pod_records && rt_pod(x, name, &ans, &exists))) {
		by_type(x, name, apex, &ans, &add, &exists);
	}
	finish(x, &ans, &add, exists || apex);
out:
	rrvec_free(&ans);
	rrvec_free(&add);
}

/* What we refuse outright, as NSD does: ANY (RFC 8482 lets us; SkyDNS
 * refused it too), zone transfers (we have no zone to transfer), and the
 * classes we hold no data for (NONE, HS, unknown). */
static bool refused_outright(const struct query *q)
{
	if (q->qtype == T_ANY || q->qtype == T_AXFR || q->qtype == T_IXFR)
		return true;
	return q->qclass != C_IN && q->qclass != C_CH && q->qclass != C_ANY;
}

static enum resolve_action resolve_name(const struct query *q, const struct snapshot *s,
					const struct config *c, struct answer *out)
{
	struct rctx x = {.q = q, .s = s, .c = c, .out = out, .rng = q->rand};
	char local[MSG_NAME_MAX];
	const char *name = q->name;
	bool substituted = false;

	if (c->stubzones) {
		struct stub_scan st;
		if (stub_find(q, s, c, &st))
			return q->stub_marker ? RESOLVE_DROP : RESOLVE_STUB;
	}
	snprintf(local, sizeof local, "local.dns.%s", c->domain);
	if (c->local[0] && strcmp(name, local) == 0) {
		name = c->local;
		substituted = true;
	}
	if (q->qtype == T_PTR &&
	    (rname_ends(name, ".in-addr.arpa.") || rname_ends(name, ".ip6.arpa.")))
		return reverse(&x, name);
	if (q->qclass != C_CH && !substituted && !rname_in(name, c->domain))
		return RESOLVE_FORWARD;
	authoritative(&x, name);
	return RESOLVE_ANSWER;
}

enum resolve_action resolve(const struct query *q, const struct snapshot *s,
			    const struct config *c, struct answer *out)
{
	if (refused_outright(q)) {
		refused(out);
		return RESOLVE_ANSWER;
	}
	enum resolve_action act = resolve_name(q, s, c, out);
	if (act == RESOLVE_FORWARD && q->recursion_denied) {
		answer_reset(out);
		refused(out);
		return RESOLVE_ANSWER;
	}
	return act;
}
