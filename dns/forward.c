/* forward.c - the forwarder thread: proxying (§10.1), stub zones (§9),
 * external-name lookups (§10.2) and the response cache (§16).
 *
 * Submitted queries are queued to one thread that owns an upstream event
 * loop (upstream.c), so every exchange is in flight at once and a dead
 * server costs only its own clients a timeout. The thread re-resolves each
 * query against the current snapshot under its own reader slot, so what it
 * does (forward, stub, lookups) always follows the latest etcd data, and
 * leaves the snapshot before any network wait (the answer is copied).
 *
 * Choices (differences from SkyDNS noted):
 *  - no_rec: REFUSED, RA=0 (SkyDNS: SERVFAIL). No nameservers: SERVFAIL,
 *    RA=0. Fewer than ndots labels: SERVFAIL, RA=1 (only that name is not
 *    forwarded). Every forwarder failed: SERVFAIL with RA=1 after at most
 *    2 x read_timeout (SkyDNS master sent nothing).
 *  - Upstream SERVFAIL, timeout or network error: the next server (SkyDNS
 *    re-asked the same one); a server that timed out or refused is asked
 *    last for BAD_MS.
 *  - External-name records keep the upstream's TTLs (SkyDNS forced
 *    rcache_ttl), then SkyDNS's multi-RR rule (§12.2) runs again over the
 *    answer section; only records on the CNAME chain of the asked name are
 *    taken.
 *  - Cache: forwarded/stub/lookup replies only, for min(rcache_ttl, record
 *    TTLs; RFC 2308 negative TTL), TTLs aged when served; never SERVFAIL or
 *    truncated replies (SkyDNS cached everything for rcache_ttl, own
 *    answers included, which hid etcd changes).
 */
#include "forward.h"

#include <ldns/ldns.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "answer.h"
#include "config.h"
#include "dnssec.h"
#include "err.h"
#include "log.h"
#include "pktwalk.h"
#include "rcache.h"
#include "resolve.h"
#include "snapshot.h"
#include "snapstore.h"
#include "stats.h"
#include "upstream.h"
#include "wire.h"

#define QUEUE_MAX 4096
#define STUB_OPTION 65011 /* EDNS0LOCALSTART + 10 (SkyDNS) */
#define LOOKUP_UDP_SIZE 1232
/* Exchanges in flight at once: each holds up to 3 sockets, and a blackholed
 * upstream at high query rates must not eat the process's descriptors
 * (the listeners need them too). Beyond this, SERVFAIL at once. */
#define MAX_INFLIGHT 256
/* A server that timed out or refused is asked last for this long, so a
 * blackholed forwarder costs one client a timeout, not every other one
 * (kubernetes#14394 was SkyDNS rotating onto a dead server). */
#define BAD_MS 5000
#define HEALTH_SLOTS 32

enum kind { K_FORWARD = 'F', K_STUB = 'S', K_LOOKUP = 'L' };

struct job {
	struct job *next;
	struct forwarder *f;
	struct fwd_reply *r;
	uint8_t *pkt;
	size_t len;
	bool tcp;
	struct query q;
	struct wire_question wq;
	enum kind kind;
	bool cached;              /* served from the response cache */
	int64_t t0_ns;            /* submit time, for the duration metric */
	int klen;
	char key[RCACHE_KEY_MAX];
	uint32_t cache_ttl;       /* config rcache_ttl (cap) */
	uint32_t cfg_ttl;         /* config ttl, for the multi-RR TTL rule */
	size_t cache_cap;         /* config rcache (entries); 0 = off */
	struct answer ans;        /* ext lookups: the answer being completed */
	size_t pending;
	bool ext_nxdomain;        /* an answer-section ext target got NXDOMAIN */
};

/* One ext lookup in flight for a job. */
struct lookup {
	struct job *j;
	size_t idx;
	int klen;
	char key[RCACHE_KEY_MAX];
};

/* The config values a job needs, copied while the snapshot is held. */
struct fcfg {
	bool no_rec, ns_rotate;
	int ndots, timeout_ms, rcache;
	uint32_t rcache_ttl, ttl;
	int nservers;
	char servers[UPSTREAM_MAX_SERVERS][64];
};

struct health {
	char server[64];
	int64_t bad_until;        /* monotonic ms; 0 = fine */
};

struct forwarder {
	struct snapstore *st;
	unsigned slot;
	int efd;
	pthread_t thread;
	atomic_bool stop;
	pthread_mutex_t mu;
	struct job *queue;        /* LIFO under mu; reversed when drained */
	size_t queued;
	struct upstream *up;
	struct rcache *cache;
	_Atomic(struct dnssec *) dnssec;
	_Atomic(struct stats *) stats;
	unsigned rotor;
	struct health health[HEALTH_SLOTS]; /* forwarder thread only */
	unsigned health_next;
	int64_t last_log_ms;      /* rate limit for per-query failure logs */
	unsigned unlogged;
	uint8_t out[WIRE_MAX + 64];
};

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t mono_ms(void)
{
	return mono_ns() / 1000000;
}

static uint64_t rand64(void)
{
	uint64_t v = 0;
	if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
		v = (uint64_t)mono_ms() * 0x9e3779b97f4a7c15ull;
	return v;
}

/* At most one failure line per 10 s: a dead upstream fails every query. */
static bool log_allowed(struct forwarder *f, unsigned *suppressed)
{
	int64_t now = mono_ms();
	if (f->last_log_ms && now - f->last_log_ms < 10000) {
		f->unlogged++;
		return false;
	}
	f->last_log_ms = now;
	*suppressed = f->unlogged;
	f->unlogged = 0;
	return true;
}

static size_t client_limit(const struct job *j)
{
	if (j->tcp)
		return WIRE_MAX;
	return j->q.udp_size < 512 ? 512 : j->q.udp_size;
}

static void job_free(struct job *j)
{
	answer_free(&j->ans);
	free(j->pkt);
	free(j);
}

static void job_account(struct job *j, const uint8_t *pkt, size_t len)
{
	struct stats *st = atomic_load(&j->f->stats);
	if (!st || len < PKT_HDR)
		return;
	enum stat_system sys = j->cached		? SYS_CACHE
			       : j->kind == K_STUB	? SYS_STUB
			       : j->kind == K_FORWARD ? SYS_RECURSIVE
						      : SYS_AUTH;
	double secs = (double)(mono_ns() - j->t0_ns) / 1e9;
	stats_reply(st, sys, secs, len, pkt[3] & 0x0f, (pkt[2] & 0x02) != 0,
		    pkt_get16(pkt + 6) == 0);
}

static void job_send(struct job *j, const uint8_t *pkt, size_t len)
{
	job_account(j, pkt, len);
	j->r->send(j->r, pkt, len);
	job_free(j);
}

/* Header and question only; the client's ID, opcode, RD and CD are kept. */
static void job_error(struct job *j, int rcode, bool ra)
{
	uint8_t *o = j->f->out;
	size_t qend = j->wq.question_end;
	if (qend < PKT_HDR || qend > j->len)
		qend = PKT_HDR;
	memcpy(o, j->pkt, qend);
	o[2] = (uint8_t)(0x80 | (j->pkt[2] & 0x79));       /* QR, opcode, RD */
	o[3] = (uint8_t)((ra ? 0x80 : 0) | (j->pkt[3] & 0x10) | (rcode & 0x0f)); /* RA, CD */
	pkt_put16(o + 4, qend > PKT_HDR ? 1 : 0);
	pkt_put16(o + 6, 0);
	pkt_put16(o + 8, 0);
	pkt_put16(o + 10, 0);
	job_send(j, o, qend);
}

/* A reply from upstream or the cache, made the client's: its ID, its
 * spelling of the question (0x20), no OPT when it sent none. */
static void job_relay(struct job *j, const uint8_t *reply, size_t len)
{
	uint8_t *o = j->f->out;
	memcpy(o, reply, len);
	pkt_put16(o, j->wq.id);
	if (j->wq.question_end <= len && pktwalk_same_question(o, len, j->pkt, j->len))
		memcpy(o + PKT_HDR, j->pkt + PKT_HDR, j->wq.question_end - PKT_HDR);
	if (!j->q.edns)
		len = pktwalk_strip_opt(o, len);
	if (len > client_limit(j) && j->wq.question_end >= PKT_HDR && j->wq.question_end <= len) {
		/* an upstream that ignored the client's buffer size (SkyDNS
		 * relayed it anyway, quirk 14): header and question with TC, so
		 * the client retries over TCP */
		len = j->wq.question_end;
		o[2] |= 0x02;
		memset(o + 6, 0, 6);
	}
	job_send(j, o, len);
}

/* ------------------------------------------------------------ server health */

static struct health *health_find(struct forwarder *f, const char *server, bool create)
{
	for (int i = 0; i < HEALTH_SLOTS; i++)
		if (strcmp(f->health[i].server, server) == 0)
			return &f->health[i];
	if (!create)
		return NULL;
	struct health *h = &f->health[f->health_next++ % HEALTH_SLOTS];
	snprintf(h->server, sizeof h->server, "%s", server);
	h->bad_until = 0;
	return h;
}

/* Where an exchange starts: the next server in rotation (or the first
 * without ns_rotate) that is not known bad; if all are, rotation as is. */
static unsigned pick_first(struct forwarder *f, const char (*servers)[64], int n, bool rotate)
{
	unsigned start = rotate ? f->rotor++ : 0;
	int64_t now = mono_ms();
	for (int k = 0; k < n; k++) {
		unsigned i = (start + (unsigned)k) % (unsigned)n;
		const struct health *h = health_find(f, servers[i], false);
		if (!h || h->bad_until <= now)
			return i;
	}
	return start % (unsigned)n;
}

/* ------------------------------------------------------------ forwarding */

static void cache_store(struct job *j, const uint8_t *reply, size_t len)
{
	if (j->klen <= 0 || j->cache_cap == 0)
		return;
	int64_t ttl = pktwalk_cache_ttl(reply, len, j->cache_ttl);
	if (ttl > 0)
		rcache_put(j->f->cache, j->key, (size_t)j->klen, reply, len, (uint32_t)ttl, mono_ms(),
			   j->cache_cap);
}

static void forward_done(void *ctx, int err, const uint8_t *reply, size_t len)
{
	struct job *j = ctx;
	if (err) {
		unsigned more;
		if (err != SKY_ESTOPPED)
			stats_forward_error(atomic_load(&j->f->stats), FWD_ALLFAILED);
		if (err != SKY_ESTOPPED && log_allowed(j->f, &more))
			log_warn("forward", "no upstream answered name=%s type=%u err=%s (+%u since last)",
				 j->q.name, j->q.qtype, err_str(err), more);
		/* fix: SkyDNS master sent nothing here; the client gets SERVFAIL
		 * promptly so its resolver moves on */
		job_error(j, RCODE_SERVFAIL, true);
		return;
	}
	cache_store(j, reply, len);
	job_relay(j, reply, len);
}

/* Serve from the cache; false on a miss or when the entry is too big for
 * this UDP client (then the upstream is asked, with the client's size). */
static bool serve_cached(struct job *j)
{
	uint8_t buf[WIRE_MAX];
	int n = rcache_get(j->f->cache, j->key, (size_t)j->klen, mono_ms(), buf, sizeof buf);
	if (n <= 0 || (size_t)n > client_limit(j)) {
		stats_cache_miss(atomic_load(&j->f->stats), CACHE_RESPONSE);
		return false;
	}
	j->cached = true;
	job_relay(j, buf, (size_t)n);
	return true;
}

static void forward_start(struct job *j, const struct fcfg *fc, const char (*servers)[64], int n)
{
	struct forwarder *f = j->f;
	if (fc->rcache > 0) {
		j->klen = rcache_key(j->key, sizeof j->key, j->q.name, j->q.qtype, j->q.qclass,
				     j->q.do_bit, j->q.cd, j->q.edns, j->tcp, (char)j->kind);
		j->cache_cap = (size_t)fc->rcache;
		j->cache_ttl = fc->rcache_ttl;
		/* stub answers are keyed by their servers too, so a stub zone
		 * changed or removed in etcd is not answered from the cache */
		for (int i = 0; j->kind == K_STUB && j->klen > 0 && i < n; i++) {
			int w = snprintf(j->key + j->klen, sizeof j->key - (size_t)j->klen, " %s",
					 servers[i]);
			j->klen = (w < 0 || (size_t)w >= sizeof j->key - (size_t)j->klen) ? -1
											 : j->klen + w;
		}
		if (j->klen > 0 && serve_cached(j))
			return;
	}
	if (upstream_inflight(f->up) >= MAX_INFLIGHT) {
		job_error(j, RCODE_SERVFAIL, true);
		return;
	}
	const uint8_t *pkt = j->pkt;
	size_t len = j->len;
	uint8_t marked[WIRE_MAX];
	if (j->kind == K_STUB) {
		/* §9: mark the query so a skydns upstream that is itself a stub
		 * for this zone drops it instead of looping. */
		static const uint8_t one = 1;
		int ml = pktwalk_add_option(j->pkt, j->len, STUB_OPTION, &one, 1, 512, marked,
					    sizeof marked);
		if (ml < 0) {
			job_error(j, RCODE_SERVFAIL, true);
			return;
		}
		pkt = marked;
		len = (size_t)ml;
	}
	struct upstream_req req = {
		.pkt = pkt, .len = len, .tcp = j->tcp, .servers = servers, .nservers = n,
		.first = pick_first(f, servers, n, fc->ns_rotate), .timeout_ms = fc->timeout_ms,
		.budget_ms = 2 * fc->timeout_ms, .done = forward_done, .ctx = j,
	};
	if (upstream_start(f->up, &req) < 0)
		job_error(j, RCODE_SERVFAIL, true);
}

/* §10.1 policy for names outside the domain. RA tells whether this server
 * recurses: no_rec and "no nameservers" say RA=0; the ndots gate refuses
 * one name only, so RA stays 1 (as resolve() sets it on local answers). */
static void forward_policy(struct job *j, const struct fcfg *fc)
{
	if (fc->no_rec) {
		job_error(j, RCODE_REFUSED, false); /* RFC 1034 §4.3.1: we do not recurse */
		return;
	}
	if (fc->nservers == 0) {
		job_error(j, RCODE_SERVFAIL, false);
		return;
	}
	int labels = 0;
	for (const char *s = j->q.name; *s; s++)
		if (*s == '.' && s[1])
			labels++;
	if (j->q.name[0] && strcmp(j->q.name, ".") != 0)
		labels++;
	if (labels < fc->ndots) {
		job_error(j, RCODE_SERVFAIL, true);
		return;
	}
	forward_start(j, fc, fc->servers, fc->nservers);
}

/* ------------------------------------------------------------ ext lookups */

/* Sign like the server does for its own answers (dnssec.h: after the
 * external lookups, before encoding). */
static int lookup_sign(struct job *j)
{
	struct forwarder *f = j->f;
	struct dnssec *d = atomic_load(&f->dnssec);
	if (!d) {
		j->ans.sign = false;
		return 0;
	}
	const struct snapshot *s = snapstore_enter(f->st, f->slot);
	int rc = s ? dnssec_sign_answer(d, &j->q, snapshot_config(s), &j->ans) : SKY_EINVAL;
	snapstore_leave(f->st, f->slot);
	return rc;
}

/* §12.2 again, now that upstream records joined the answer section: with
 * more than one RR, all share min(config ttl, every answer TTL). */
static void lookup_ttls(struct job *j)
{
	size_t n = j->ans.n[SEC_ANSWER];
	struct rr *rr = j->ans.rrs[SEC_ANSWER];
	if (n < 2)
		return;
	uint32_t min = j->cfg_ttl;
	for (size_t i = 0; i < n; i++)
		if (rr[i].ttl < min)
			min = rr[i].ttl;
	for (size_t i = 0; i < n; i++)
		rr[i].ttl = min;
}

static bool answer_only_cnames(const struct answer *a)
{
	if (a->n[SEC_ANSWER] == 0)
		return false;
	for (size_t i = 0; i < a->n[SEC_ANSWER]; i++)
		if (a->rrs[SEC_ANSWER][i].type != T_CNAME)
			return false;
	return true;
}

static void lookup_finish(struct job *j)
{
	uint8_t *o = j->f->out;
	lookup_ttls(j);
	if (lookup_sign(j) < 0) {
		job_error(j, RCODE_SERVFAIL, true);
		return;
	}
	/* RFC 6604 §2 / RFC 1034 §4.3.2: the rcode is the last name's in the
	 * chain, so a CNAME whose external target does not exist comes with
	 * NXDOMAIN (BIND, Unbound, CoreDNS; SkyDNS answered NODATA). Set after
	 * signing: the CNAME is ours and signed, the denial is not ours to prove. */
	if (j->ext_nxdomain && answer_only_cnames(&j->ans))
		j->ans.rcode = RCODE_NXDOMAIN;
	int n = wire_encode(&j->q, &j->wq, &j->ans, o, WIRE_MAX, client_limit(j));
	if (n < 0) {
		log_warn("forward", "encode failed name=%s err=%s", j->q.name, err_str(n));
		job_error(j, RCODE_SERVFAIL, true);
		return;
	}
	job_send(j, o, (size_t)n);
}

static bool rr_present(const struct answer *a, int sec, const struct rr *rr)
{
	for (size_t i = 0; i < a->n[sec]; i++) {
		const struct rr *x = &a->rrs[sec][i];
		if (x->type != rr->type || !x->owner || strcasecmp(x->owner, rr->owner) != 0)
			continue;
		if (rr->type == T_A && memcmp(x->d.a, rr->d.a, 4) == 0)
			return true;
		if (rr->type == T_AAAA && memcmp(x->d.aaaa, rr->d.aaaa, 16) == 0)
			return true;
		if (rr->type == T_CNAME && strcasecmp(x->d.name.target, rr->d.name.target) == 0)
			return true;
	}
	return false;
}

/* Append the answer-section A/AAAA/CNAME records of an upstream reply
 * (§10.2). TTLs are kept as received (SkyDNS forced rcache_ttl; the
 * upstream's TTL is the truth about how long the address may be cached).
 * For additional-section AAAA lookups CNAMEs are skipped, as SkyDNS did:
 * the A lookup for the same target already brought them. Only records on
 * the chain from the asked name are taken (owner = the name or the target
 * of a CNAME taken before, RFC 1034 §3.6.2 order), of the asked type or
 * CNAME: an upstream cannot slip in data about other names. */
static void lookup_merge(struct job *j, const struct ext_lookup *x, const uint8_t *reply,
			 size_t len)
{
	ldns_pkt *p = NULL;
	if (ldns_wire2pkt(&p, reply, len) != LDNS_STATUS_OK)
		return;
	ldns_rr_list *an = ldns_pkt_answer(p);
	ldns_rdf *want = NULL;
	if (ldns_str2rdf_dname(&want, x->name) != LDNS_STATUS_OK) {
		ldns_pkt_free(p);
		return;
	}
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *lr = ldns_rr_list_rr(an, i);
		uint16_t t = (uint16_t)ldns_rr_get_type(lr);
		ldns_rdf *rd = ldns_rr_rdf(lr, 0);
		if (!rd || (t != x->qtype && t != T_CNAME) || ldns_rr_get_class(lr) != LDNS_RR_CLASS_IN ||
		    ldns_dname_compare(ldns_rr_owner(lr), want) != 0)
			continue;
		if (t == T_CNAME) {
			ldns_rdf_deep_free(want);
			want = ldns_rdf_clone(rd);
			if (!want)
				break;
		}
		if (t == T_CNAME && x->section == SEC_ADDITIONAL && x->qtype == T_AAAA)
			continue;
		struct rr rr = {.type = t, .rclass = C_IN, .ttl = ldns_rr_ttl(lr)};
		char *owner = ldns_rdf2str(ldns_rr_owner(lr));
		char *target = t == T_CNAME ? ldns_rdf2str(rd) : NULL;
		rr.owner = owner ? answer_strdup(&j->ans, owner) : NULL;
		if (t == T_CNAME)
			rr.d.name.target = target ? answer_strdup(&j->ans, target) : NULL;
		else if (ldns_rdf_size(rd) == (t == T_A ? 4u : 16u))
			memcpy(t == T_A ? rr.d.a : rr.d.aaaa, ldns_rdf_data(rd), ldns_rdf_size(rd));
		else
			rr.owner = NULL;
		free(owner);
		free(target);
		if (!rr.owner || (t == T_CNAME && !rr.d.name.target))
			continue;
		if (!rr_present(&j->ans, x->section, &rr))
			answer_add(&j->ans, x->section, &rr);
	}
	ldns_rdf_deep_free(want);
	ldns_pkt_free(p);
}

static void lookup_done(void *ctx, int err, const uint8_t *reply, size_t len)
{
	struct lookup *l = ctx;
	struct job *j = l->j;
	const struct ext_lookup *x = &j->ans.ext[l->idx];
	if (!err && (reply[3] & 0x0f) == RCODE_NOERROR) {
		if (l->klen > 0 && j->cache_cap > 0) {
			int64_t ttl = pktwalk_cache_ttl(reply, len, j->cache_ttl);
			if (ttl > 0)
				rcache_put(j->f->cache, l->key, (size_t)l->klen, reply, len,
					   (uint32_t)ttl, mono_ms(), j->cache_cap);
		}
		lookup_merge(j, x, reply, len);
	} else if (!err && (reply[3] & 0x0f) == RCODE_NXDOMAIN && x->section == SEC_ANSWER) {
		j->ext_nxdomain = true;
	} else if (err != SKY_ESTOPPED) {
		log_debug("forward", "lookup failed name=%s type=%u err=%s", x->name, x->qtype,
			  err ? err_str(err) : "rcode");
	}
	free(l);
	if (--j->pending == 0)
		lookup_finish(j);
}

/* A fresh query for an ext lookup: random ID (set by upstream), RD, one
 * OPT (no DO: the records are not ours to vouch for). */
static int lookup_query(const struct ext_lookup *x, uint8_t *out, size_t cap)
{
	if (cap < PKT_HDR + 4 + 11)
		return SKY_ERANGE;
	memset(out, 0, PKT_HDR);
	out[2] = 0x01;
	pkt_put16(out + 4, 1);
	pkt_put16(out + 10, 1);
	int nl = wire_name_from_str(x->name, out + PKT_HDR, cap - PKT_HDR - 4 - 11);
	if (nl < 0)
		return nl;
	uint8_t *o = out + PKT_HDR + nl;
	pkt_put16(o, x->qtype);
	pkt_put16(o + 2, C_IN);
	o += 4;
	*o++ = 0;
	pkt_put16(o, T_OPT);
	pkt_put16(o + 2, LOOKUP_UDP_SIZE);
	pkt_put32(o + 4, 0);
	pkt_put16(o + 8, 0);
	return (int)(o + 10 - out);
}

static void lookup_one(struct job *j, const struct fcfg *fc, size_t idx)
{
	const struct ext_lookup *x = &j->ans.ext[idx];
	uint8_t q[PKT_HDR + 300];
	struct lookup *l = calloc(1, sizeof *l);
	int ql = lookup_query(x, q, sizeof q);
	if (!l || ql < 0 || upstream_inflight(j->f->up) >= MAX_INFLIGHT)
		goto fail;
	l->j = j;
	l->idx = idx;
	if (fc->rcache > 0) {
		uint8_t buf[WIRE_MAX];
		l->klen = rcache_key(l->key, sizeof l->key, x->name, x->qtype, C_IN, false, false,
				     true, false, K_LOOKUP);
		int n = l->klen > 0 ? rcache_get(j->f->cache, l->key, (size_t)l->klen, mono_ms(),
						 buf, sizeof buf)
				    : 0;
		if (n > 0) {
			lookup_merge(j, x, buf, (size_t)n);
			goto fail; /* not a failure: nothing in flight */
		}
	}
	struct upstream_req req = {
		.pkt = q, .len = (size_t)ql, .tcp = false, .servers = fc->servers,
		.nservers = fc->nservers,
		.first = pick_first(j->f, fc->servers, fc->nservers, fc->ns_rotate),
		.timeout_ms = fc->timeout_ms, .budget_ms = 2 * fc->timeout_ms,
		.done = lookup_done, .ctx = l,
	};
	if (upstream_start(j->f->up, &req) == 0)
		return;
fail:
	free(l);
	j->pending--;
}

/* §10.2: resolve every ext target through the forwarders, then encode. */
static void lookups_start(struct job *j, const struct fcfg *fc)
{
	j->cache_cap = fc->rcache > 0 ? (size_t)fc->rcache : 0;
	j->cache_ttl = fc->rcache_ttl;
	j->cfg_ttl = fc->ttl;
	size_t n = (fc->no_rec || fc->nservers == 0) ? 0 : j->ans.next;
	j->pending = n + 1; /* +1 holds the job until every lookup is started */
	for (size_t i = 0; i < n; i++)
		lookup_one(j, fc, i);
	if (--j->pending == 0)
		lookup_finish(j);
}

/* ------------------------------------------------------------ jobs */

static const char *clone_str(struct answer *dst, const char *s, bool *ok)
{
	if (!s)
		return NULL;
	const char *c = answer_strdup(dst, s);
	if (!c)
		*ok = false;
	return c;
}

/* Deep copy, so the answer survives snapstore_leave() while the lookups
 * are in flight (its strings may point into the snapshot). */
static int answer_clone(struct answer *dst, const struct answer *src)
{
	bool ok = true;
	dst->rcode = src->rcode;
	dst->aa = src->aa, dst->ra = src->ra, dst->ad = src->ad, dst->tc = src->tc;
	dst->rd_clear = src->rd_clear;
	dst->sign = src->sign;
	for (int sec = 0; sec < SEC_COUNT; sec++) {
		for (size_t i = 0; i < src->n[sec] && ok; i++) {
			struct rr rr = src->rrs[sec][i];
			rr.owner = clone_str(dst, rr.owner, &ok);
			switch (rr.type) {
			case T_A: case T_AAAA:
				break;
			case T_CNAME: case T_NS: case T_PTR:
				rr.d.name.target = clone_str(dst, rr.d.name.target, &ok);
				break;
			case T_SRV:
				rr.d.srv.target = clone_str(dst, rr.d.srv.target, &ok);
				break;
			case T_MX:
				rr.d.mx.exchange = clone_str(dst, rr.d.mx.exchange, &ok);
				break;
			case T_TXT:
				if (rr.d.txt.text && !(rr.d.txt.text = answer_strndup(
							       dst, rr.d.txt.text, rr.d.txt.len)))
					ok = false;
				break;
			case T_SOA:
				rr.d.soa.mname = clone_str(dst, rr.d.soa.mname, &ok);
				rr.d.soa.rname = clone_str(dst, rr.d.soa.rname, &ok);
				break;
			default: {
				uint8_t *d = rr.d.raw.len ? answer_alloc(dst, rr.d.raw.len) : NULL;
				if (rr.d.raw.len && !d)
					ok = false;
				else if (d)
					memcpy(d, rr.d.raw.data, rr.d.raw.len);
				rr.d.raw.data = d;
			}
			}
			if (ok && !answer_add(dst, sec, &rr))
				ok = false;
		}
	}
	for (size_t i = 0; i < src->next && ok; i++) {
		const char *name = clone_str(dst, src->ext[i].name, &ok); /* add_ext keeps the pointer */
		if (ok && answer_add_ext(dst, name, src->ext[i].qtype, src->ext[i].section) < 0)
			ok = false;
	}
	return ok ? 0 : SKY_ENOMEM;
}

static void fcfg_from(struct fcfg *fc, const struct config *c)
{
	fc->no_rec = c->no_rec;
	fc->ns_rotate = c->ns_rotate;
	fc->ndots = c->ndots;
	fc->timeout_ms = c->read_timeout_ms > 0 ? c->read_timeout_ms : 2000;
	fc->rcache = c->rcache;
	fc->rcache_ttl = c->rcache_ttl;
	fc->ttl = c->ttl;
	fc->nservers = c->nnameservers < UPSTREAM_MAX_SERVERS ? c->nnameservers
							       : UPSTREAM_MAX_SERVERS;
	for (int i = 0; i < fc->nservers; i++)
		memcpy(fc->servers[i], c->nameservers[i], sizeof fc->servers[i]);
}

/* Re-resolve under the forwarder's reader slot; everything needed later is
 * copied out before leaving. Returns the action, or -1 (SERVFAIL sent). */
static int job_resolve(struct job *j, struct fcfg *fc, char (*stub)[64], int *nstub)
{
	struct forwarder *f = j->f;
	const struct snapshot *s = snapstore_enter(f->st, f->slot);
	if (!s) {
		snapstore_leave(f->st, f->slot);
		job_error(j, RCODE_SERVFAIL, false);
		return -1;
	}
	const struct config *c = snapshot_config(s);
	fcfg_from(fc, c);
	if (j->q.udp_size > c->max_udp_size)
		j->q.udp_size = (uint16_t)c->max_udp_size; /* as the server capped it */
	struct answer tmp;
	answer_init(&tmp);
	enum resolve_action act = resolve(&j->q, s, c, &tmp);
	int rc = 0;
	if (act == RESOLVE_STUB)
		*nstub = resolve_stub_servers(&j->q, s, c, stub, UPSTREAM_MAX_SERVERS);
	else if (act == RESOLVE_ANSWER)
		rc = answer_clone(&j->ans, &tmp);
	answer_free(&tmp);
	snapstore_leave(f->st, f->slot);
	if (rc < 0) {
		job_error(j, RCODE_SERVFAIL, false);
		return -1;
	}
	return (int)act;
}

static void job_start(struct job *j)
{
	int hint = 0;
	if (wire_parse_query(j->pkt, j->len, &j->q, &j->wq, &hint) < 0 || hint) {
		/* the server parsed it already; a packet it could not parse is
		 * never handed over, so this is a caller bug: answer, don't hang */
		j->wq.id = j->len >= 2 ? pkt_get16(j->pkt) : 0;
		j->wq.question_end = 0;
		job_error(j, hint ? hint : RCODE_FORMERR, false);
		return;
	}
	j->q.tcp = j->tcp;
	j->q.now = time(NULL);
	j->q.rand = rand64();
	struct fcfg fc;
	char stub[UPSTREAM_MAX_SERVERS][64];
	int nstub = 0;
	int act = job_resolve(j, &fc, stub, &nstub);
	if (act >= 0 && fc.rcache <= 0)
		rcache_trim(j->f->cache, 0); /* switched off live: free the memory */
	switch (act) {
	case RESOLVE_FORWARD:
		j->kind = K_FORWARD;
		forward_policy(j, &fc);
		break;
	case RESOLVE_STUB:
		j->kind = K_STUB;
		if (nstub <= 0)
			job_error(j, RCODE_SERVFAIL, true);
		else
			forward_start(j, &fc, (const char (*)[64])stub, nstub);
		break;
	case RESOLVE_DROP: {
		unsigned more;
		if (log_allowed(j->f, &more))
			log_info("forward", "dropped query carrying the stub marker name=%s (+%u since last)",
				 j->q.name, more);
		job_send(j, NULL, 0);
		break;
	}
	case RESOLVE_ANSWER:
		lookups_start(j, &fc);
		break;
	default:
		break; /* -1: already answered */
	}
}

/* ------------------------------------------------------------ thread */

static struct job *queue_take(struct forwarder *f)
{
	pthread_mutex_lock(&f->mu);
	struct job *l = f->queue, *fifo = NULL;
	f->queue = NULL;
	f->queued = 0;
	pthread_mutex_unlock(&f->mu);
	while (l) {
		struct job *n = l->next;
		l->next = fifo;
		fifo = l;
		l = n;
	}
	return fifo;
}

static void *forwarder_main(void *arg)
{
	struct forwarder *f = arg;
	while (!atomic_load(&f->stop)) {
		if (upstream_poll(f->up, 1000) == 1) {
			uint64_t v;
			ssize_t r = read(f->efd, &v, sizeof v);
			(void)r;
		}
		for (struct job *j = queue_take(f), *n; j; j = n) {
			n = j->next;
			job_start(j);
		}
	}
	return NULL;
}

static void observe_upstream(void *ctx, enum upstream_event ev, const char *server)
{
	static const enum stat_fwd cause[] = {
		[UPSTREAM_TIMEOUT] = FWD_TIMEOUT, [UPSTREAM_SERVFAIL] = FWD_SERVFAIL,
		[UPSTREAM_MISMATCH] = FWD_MISMATCH, [UPSTREAM_NETWORK] = FWD_NETWORK,
	};
	struct forwarder *f = ctx;
	if (ev != UPSTREAM_OK)
		stats_forward_error(atomic_load(&f->stats), cause[ev]);
	if (ev == UPSTREAM_TIMEOUT || ev == UPSTREAM_NETWORK) {
		struct health *h = health_find(f, server, true);
		h->bad_until = mono_ms() + BAD_MS;
	} else if (ev == UPSTREAM_OK) {
		struct health *h = health_find(f, server, false);
		if (h)
			h->bad_until = 0;
	}
}

void forwarder_set_stats(struct forwarder *f, struct stats *st)
{
	if (f)
		atomic_store(&f->stats, st);
}

void forwarder_set_dnssec(struct forwarder *f, struct dnssec *d)
{
	if (f)
		atomic_store(&f->dnssec, d);
}

int forwarder_new(struct snapstore *st, unsigned reader_slot, struct forwarder **out)
{
	struct forwarder *f = calloc(1, sizeof *f);
	if (!f)
		return SKY_ENOMEM;
	f->st = st;
	f->slot = reader_slot;
	f->rotor = (unsigned)rand64();
	f->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	f->cache = rcache_new();
	int rc = f->efd < 0 ? SKY_EIO : !f->cache ? SKY_ENOMEM : upstream_new(f->efd, &f->up);
	if (rc < 0)
		goto fail;
	upstream_set_observer(f->up, observe_upstream, f);
	pthread_mutex_init(&f->mu, NULL);
	if (pthread_create(&f->thread, NULL, forwarder_main, f) != 0) {
		pthread_mutex_destroy(&f->mu);
		rc = SKY_ENOMEM;
		goto fail;
	}
	*out = f;
	return 0;
fail:
	upstream_free(f->up);
	rcache_free(f->cache);
	if (f->efd >= 0)
		close(f->efd);
	free(f);
	return rc;
}

void forwarder_free(struct forwarder *f)
{
	if (!f)
		return;
	atomic_store(&f->stop, true);
	uint64_t one = 1;
	ssize_t w = write(f->efd, &one, sizeof one);
	(void)w;
	pthread_join(f->thread, NULL);
	/* every accepted submit still gets its one send(): SERVFAIL */
	upstream_free(f->up);
	for (struct job *j = queue_take(f), *n; j; j = n) {
		n = j->next;
		j->wq.id = pkt_get16(j->pkt);
		j->wq.question_end = 0;
		job_error(j, RCODE_SERVFAIL, false);
	}
	rcache_free(f->cache);
	pthread_mutex_destroy(&f->mu);
	close(f->efd);
	free(f);
}

int forwarder_submit(struct forwarder *f, const uint8_t *pkt, size_t len, bool tcp,
		     struct fwd_reply *r)
{
	if (!f || len < PKT_HDR || len > WIRE_MAX)
		return SKY_EINVAL;
	struct job *j = calloc(1, sizeof *j);
	if (!j || !(j->pkt = malloc(len))) {
		free(j);
		return SKY_ENOMEM;
	}
	memcpy(j->pkt, pkt, len);
	j->len = len;
	j->tcp = tcp;
	j->r = r;
	j->f = f;
	j->t0_ns = mono_ns();
	answer_init(&j->ans);
	pthread_mutex_lock(&f->mu);
	if (f->queued >= QUEUE_MAX || atomic_load(&f->stop)) {
		pthread_mutex_unlock(&f->mu);
		job_free(j);
		return SKY_ERANGE;
	}
	j->next = f->queue;
	f->queue = j;
	f->queued++;
	pthread_mutex_unlock(&f->mu);
	uint64_t one = 1;
	ssize_t w = write(f->efd, &one, sizeof one);
	(void)w;
	return 0;
}
