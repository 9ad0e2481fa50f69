/* resolve_types.c - the answer for each qtype, built from snapshot records
 * the way SkyDNS 2.5 (master) builds it from etcd (skydns-features.md §5).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "err.h"
#include "resolve_int.h"
#include "snapshot.h"

/* The names already on the current CNAME chain (index 0: where it started). */
struct chain {
	const char *names[RESOLVE_MAX_CNAMES + 1];
	int n;
};

static void address_level(struct rctx *x, const char *name, const char *owner, uint16_t qtype,
			  struct chain *ch, int extsec, struct rrvec *out, bool *exists);

static void push_ip(struct rctx *x, struct rrvec *out, const char *owner, uint32_t ttl, int fam,
		    const uint8_t ip[16])
{
	struct rr rr = {.owner = owner, .rclass = C_IN, .ttl = ttl};
	if (fam == 4) {
		rr.type = T_A;
		memcpy(rr.d.a, ip, 4);
	} else {
		rr.type = T_AAAA;
		memcpy(rr.d.aaaa, ip, 16);
	}
	rrvec_push(x, out, &rr);
}

/* A host that is a name: CNAME to it, then the rest of the chain (§5.1).
 * The CNAME is kept only if the chain produced something; an external
 * target is left to the forwarder through an ext lookup. */
static void follow_cname(struct rctx *x, const char *name, const char *owner, uint16_t qtype,
			 const struct record *r, struct chain *ch, int extsec, struct rrvec *out)
{
	char *target = rname_fqdn(x, r->svc.host);
	if (!target || strcmp(target, name) == 0)
		return; /* x CNAME x */
	if (ch->n > RESOLVE_MAX_CNAMES)
		return;
	for (int i = 0; i < ch->n; i++)
		if (strcmp(ch->names[i], target) == 0)
			return; /* loop */
	struct rr cn = {.owner = owner, .type = T_CNAME, .rclass = C_IN, .ttl = rrec_ttl(x, r)};
	cn.d.name.target = target;
	if (!rname_in(target, x->c->domain)) {
		if (rname_labels(target) < x->c->ndots)
			return; /* SkyDNS never looks those up */
		rrvec_push(x, out, &cn);
		rext_add(x, target, qtype, extsec);
		return;
	}
	size_t mark = out->n;
	bool exists;
	if (rrvec_push(x, out, &cn) < 0)
		return;
	ch->names[ch->n++] = target;
	address_level(x, target, target, qtype, ch, extsec, out, &exists);
	ch->n--;
	if (out->n == mark + 1)
		out->n = mark; /* dead end: drop the CNAME too */
}

static void address_level(struct rctx *x, const char *name, const char *owner, uint16_t qtype,
			  struct chain *ch, int extsec, struct rrvec *out, bool *exists)
{
	struct rlist l = {0};
	if (rlookup(x, name, false, &l, exists) < 0)
		goto out;
	rgroups(&l);
	for (size_t i = 0; i < l.n && !x->err; i++) {
		const struct record *r = l.v[i];
		uint8_t ip[16];
		int fam = rrec_ip(r, ip);
		if ((fam == 4 && qtype == T_A) || (fam == 6 && qtype == T_AAAA))
			push_ip(x, out, owner, rrec_ttl(x, r), fam, ip);
		else if (fam == 0 && r->svc.host && r->svc.host[0])
			follow_cname(x, name, owner, qtype, r, ch, extsec, out);
	}
out:
	rlist_free(&l);
}

/* RFC 1034 §3.6.2: a name with a CNAME has no other data. A directory that
 * holds both address services and name services (kube2sky's <ns>.svc parent
 * of a ClusterIP and an ExternalName service) would give one owner CNAMEs
 * next to addresses; the addresses win, the CNAME chains (and their ext
 * lookups) go. SkyDNS sent both. */
static void drop_cnames_beside_data(struct rctx *x, struct rrvec *ans, size_t ext_mark)
{
	bool data = false, cname = false;
	for (size_t i = 0; i < ans->n; i++) {
		if (ans->v[i].owner)
			continue;
		data |= ans->v[i].type != T_CNAME;
		cname |= ans->v[i].type == T_CNAME;
	}
	if (!data || !cname)
		return;
	size_t k = 0;
	bool in_chain = false;
	for (size_t i = 0; i < ans->n; i++) {
		const struct rr *r = &ans->v[i];
		if (!r->owner)
			in_chain = r->type == T_CNAME;
		if (!in_chain)
			ans->v[k++] = *r;
	}
	ans->n = k;
	x->out->next = ext_mark;
}

static uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

/* Rendezvous score of an address for the asking client: the highest wins,
 * so a client keeps its address while it stays up, and when it goes DOWN
 * only that address's clients move (modulo hashing would move most). */
static uint64_t host_score(const struct query *q, const uint8_t *ip, size_t len)
{
	uint64_t h = 0x9E3779B97F4A7C15ULL ^ q->client_fam;
	for (size_t i = 0; i < 16; i += 8) {
		uint64_t w = 0;
		memcpy(&w, q->client + i, 8);
		h = mix64(h ^ w);
	}
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = 0;
		memcpy(&w, ip + i, len - i < 8 ? len - i : 8);
		h = mix64(h ^ w);
	}
	return h;
}

/* The seed's random-one and hone-one (host-one): one address of the
 * answer's (healthy) addresses, at random or by the client's address; the
 * CNAMEs in front stay. Either way the reply differs by asker or by chance,
 * so it is not kept in the reply cache (`varies`). */
static void keep_one_address(struct rctx *x, struct rrvec *ans, uint16_t qtype)
{
	size_t n = 0, pick = 0, k = 0;
	uint64_t best = 0;
	for (size_t i = 0; i < ans->n; i++) {
		const struct rr *r = &ans->v[i];
		if (r->type != qtype)
			continue;
		const uint8_t *ip = qtype == T_A ? r->d.a : r->d.aaaa;
		uint64_t score = x->c->host_one ? host_score(x->q, ip, qtype == T_A ? 4 : 16) : 0;
		if (n == 0 || score > best)
			best = score, pick = n;
		n++;
	}
	if (n < 2)
		return;
	x->out->varies = true;
	if (!x->c->host_one)
		pick = (size_t)(rctx_rand(x) % n);
	for (size_t i = 0, j = 0; i < ans->n; i++) {
		if (ans->v[i].type == qtype && j++ != pick)
			continue;
		ans->v[k++] = ans->v[i];
	}
	ans->n = k;
}

void rt_address(struct rctx *x, const char *name, uint16_t qtype, struct rrvec *ans, bool *exists)
{
	struct chain ch = {.names = {name}, .n = 1};
	size_t ext_mark = x->out->next;
	address_level(x, name, NULL, qtype, &ch, SEC_ANSWER, ans, exists);
	drop_cnames_beside_data(x, ans, ext_mark);
	if (x->c->random_one || x->c->host_one)
		keep_one_address(x, ans, qtype);
	else if (x->c->round_robin)
		rt_shuffle_addresses(x, ans);
}

void rt_address_of(struct rctx *x, const char *target, uint16_t qtype, int extsec,
		   struct rrvec *out)
{
	struct chain ch = {.names = {target}, .n = 1};
	bool exists;
	address_level(x, target, target, qtype, &ch, extsec, out, &exists);
}

/* Round robin (§13) with CoreDNS's fix for SkyDNS #217: CNAMEs stay in
 * front of the addresses; more than one CNAME is left alone (#128). */
void rt_shuffle_addresses(struct rctx *x, struct rrvec *ans)
{
	size_t ncname = 0, k = 0;
	for (size_t i = 0; i < ans->n; i++)
		ncname += ans->v[i].type == T_CNAME;
	if (ncname > 1)
		return;
	if (ncname == 1) {
		for (size_t i = 0; i < ans->n; i++) {
			if (ans->v[i].type == T_CNAME) {
				struct rr cn = ans->v[i];
				memmove(&ans->v[1], &ans->v[0], i * sizeof cn);
				ans->v[0] = cn;
				break;
			}
		}
		k = 1;
	}
	for (size_t i = ans->n; i > k + 1; i--) {
		size_t j = k + (size_t)(rctx_rand(x) % (i - k));
		struct rr t = ans->v[i - 1];
		ans->v[i - 1] = ans->v[j];
		ans->v[j] = t;
	}
}

/* Additional records for an SRV/MX target name, once per target (§5.3). */
static void target_extra(struct rctx *x, const char *target, const char **seen, size_t *nseen,
			 struct rrvec *add)
{
	for (size_t i = 0; i < *nseen; i++)
		if (strcmp(seen[i], target) == 0)
			return;
	seen[(*nseen)++] = target;
	if (!rname_in(target, x->c->domain)) {
		if (rname_labels(target) >= x->c->ndots) {
			rext_add(x, target, T_A, SEC_ADDITIONAL);
			rext_add(x, target, T_AAAA, SEC_ADDITIONAL);
		}
		return;
	}
	rt_address_of(x, target, T_A, SEC_ADDITIONAL, add);
	rt_address_of(x, target, T_AAAA, SEC_ADDITIONAL, add);
}

/* The target of an SRV or MX: the host name, or for an IP host a name made
 * from the record's key (its glue goes to additional); targetstrip applies
 * to both. NULL when the record has no host. */
static const char *service_target(struct rctx *x, const struct record *r, struct rrvec *add,
				  const char **seen, size_t *nseen)
{
	uint8_t ip[16];
	int fam = rrec_ip(r, ip);
	if (fam) {
		const char *t = rname_of_record(x, r, r->svc.targetstrip);
		if (t)
			push_ip(x, add, t, rrec_ttl(x, r), fam, ip);
		return t;
	}
	if (!r->svc.host || !r->svc.host[0])
		return NULL;
	const char *h = rname_fqdn(x, r->svc.host);
	if (!h)
		return NULL;
	h = rname_strip(h, r->svc.targetstrip);
	target_extra(x, h, seen, nseen, add);
	return h;
}

struct prio_sum {
	uint32_t prio;
	double sum;
};

static double weight_of(const struct record *r)
{
	return r->svc.weight == 0 ? 100.0 : (double)r->svc.weight;
}

/* SkyDNS §5.3 weights: floor(100/sum(priority) * weight) in doubles. */
static uint16_t srv_weight(const struct prio_sum *ps, size_t nps, uint32_t prio,
			   const struct record *r)
{
	for (size_t i = 0; i < nps; i++) {
		if (ps[i].prio != prio)
			continue;
		if (ps[i].sum <= 0)
			return 0;
		double w = floor(100.0 / ps[i].sum * weight_of(r));
		return w < 0 ? 0 : w > 65535 ? 65535 : (uint16_t)w;
	}
	return 0;
}

static size_t prio_sums(struct rctx *x, const struct rlist *l, struct prio_sum *ps)
{
	size_t nps = 0;
	for (size_t i = 0; i < l->n; i++) {
		uint32_t p = rrec_priority(x, l->v[i]);
		size_t j = 0;
		while (j < nps && ps[j].prio != p)
			j++;
		if (j == nps)
			ps[nps++] = (struct prio_sum){.prio = p};
		ps[j].sum += weight_of(l->v[i]);
	}
	return nps;
}

void rt_srv(struct rctx *x, const char *name, struct rrvec *ans, struct rrvec *add, bool *exists)
{
	struct rlist l = {0};
	struct prio_sum *ps = NULL;
	const char **seen = NULL;
	size_t nseen = 0;
	if (rlookup(x, name, false, &l, exists) < 0 || l.n == 0)
		goto out;
	rgroups(&l);
	ps = malloc(l.n * sizeof *ps);
	seen = malloc(l.n * sizeof *seen);
	if (!ps || !seen) {
		x->err = SKY_ENOMEM;
		goto out;
	}
	size_t nps = prio_sums(x, &l, ps);
	for (size_t i = 0; i < l.n && !x->err; i++) {
		const struct record *r = l.v[i];
		const char *t = service_target(x, r, add, seen, &nseen);
		if (!t)
			continue;
		uint32_t prio = rrec_priority(x, r);
		struct rr rr = {.type = T_SRV, .rclass = C_IN, .ttl = rrec_ttl(x, r)};
		rr.d.srv.priority = (uint16_t)prio;
		rr.d.srv.weight = srv_weight(ps, nps, prio, r);
		rr.d.srv.port = r->svc.port;
		rr.d.srv.target = t;
		rrvec_push(x, ans, &rr);
	}
out:
	free(ps);
	free(seen);
	rlist_free(&l);
}

/* §5.4: mail services only; groups are not applied (as SkyDNS). */
void rt_mx(struct rctx *x, const char *name, struct rrvec *ans, struct rrvec *add, bool *exists)
{
	struct rlist l = {0};
	const char **seen = NULL;
	size_t nseen = 0;
	if (rlookup(x, name, false, &l, exists) < 0 || l.n == 0)
		goto out;
	seen = malloc(l.n * sizeof *seen);
	if (!seen) {
		x->err = SKY_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < l.n && !x->err; i++) {
		const struct record *r = l.v[i];
		if (!r->svc.mail)
			continue;
		const char *t = service_target(x, r, add, seen, &nseen);
		if (!t)
			continue;
		struct rr rr = {.type = T_MX, .rclass = C_IN, .ttl = rrec_ttl(x, r)};
		rr.d.mx.preference = (uint16_t)rrec_priority(x, r);
		rr.d.mx.exchange = t;
		rrvec_push(x, ans, &rr);
	}
out:
	free(seen);
	rlist_free(&l);
}

void rt_txt(struct rctx *x, const char *name, struct rrvec *ans, bool *exists)
{
	struct rlist l = {0};
	if (rlookup(x, name, false, &l, exists) == 0) {
		rgroups(&l);
		for (size_t i = 0; i < l.n; i++) {
			const struct record *r = l.v[i];
			if (!r->svc.text || !r->svc.text[0])
				continue;
			struct rr rr = {.type = T_TXT, .rclass = C_IN, .ttl = rrec_ttl(x, r)};
			rr.d.txt.text = r->svc.text;
			rr.d.txt.len = strlen(r->svc.text);
			rrvec_push(x, ans, &rr);
		}
	}
	rlist_free(&l);
}

static void cname_first(struct rctx *x, const struct rlist *l, struct rrvec *ans)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct record *r = l->v[i];
		uint8_t ip[16];
		if (rrec_ip(r, ip) || !r->svc.host || !r->svc.host[0])
			continue;
		struct rr rr = {.type = T_CNAME, .rclass = C_IN, .ttl = rrec_ttl(x, r)};
		rr.d.name.target = rname_fqdn(x, r->svc.host);
		if (rr.d.name.target)
			rrvec_push(x, ans, &rr);
		return;
	}
}

/* §5.2: an exact read, the first name host. Extension: a name that is a
 * directory holding exactly one service, a name host, answers with that
 * CNAME too - kube2sky-style writers put an ExternalName's target in a
 * leaf below the service name, and the Kubernetes DNS spec wants
 * "<svc>.<ns>.svc.<zone>. CNAME <extname>." (SkyDNS gave NODATA). */
void rt_cname(struct rctx *x, const char *name, struct rrvec *ans, bool *exists)
{
	struct rlist l = {0};
	if (rlookup(x, name, true, &l, exists) == 0) {
		rgroups(&l);
		cname_first(x, &l, ans);
		if (l.n == 0 && *exists) {
			bool dir;
			if (rlookup(x, name, false, &l, &dir) == 0) {
				rgroups(&l);
				if (l.n == 1)
					cname_first(x, &l, ans);
			}
		}
	}
	rlist_free(&l);
}

/* §5.6: NS at the apex from ns.dns.<domain>; every host must be an IP (one
 * name makes the whole answer empty, as SkyDNS). */
void rt_ns(struct rctx *x, struct rrvec *ans, struct rrvec *add)
{
	struct rlist l = {0};
	char name[MSG_NAME_MAX];
	bool exists;
	size_t amark = ans->n, xmark = add->n;
	snprintf(name, sizeof name, "ns.dns.%s", x->c->domain);
	if (rlookup(x, name, false, &l, &exists) < 0)
		goto out;
	rgroups(&l);
	for (size_t i = 0; i < l.n && !x->err; i++) {
		const struct record *r = l.v[i];
		uint8_t ip[16];
		int fam = rrec_ip(r, ip);
		if (!fam) {
			ans->n = amark;
			add->n = xmark;
			break;
		}
		const char *t = rname_of_record(x, r, 0);
		if (!t)
			break;
		struct rr rr = {.type = T_NS, .rclass = C_IN, .ttl = rrec_ttl(x, r)};
		rr.d.name.target = t;
		rrvec_push(x, ans, &rr);
		push_ip(x, add, t, rrec_ttl(x, r), fam, ip);
	}
out:
	rlist_free(&l);
}

/* §5.7: serial is the current hour, so every instance agrees on it. */
struct rr rt_soa(struct rctx *x, uint32_t ttl)
{
	const struct config *c = x->c;
	char buf[MSG_NAME_MAX];
	struct rr rr = {.owner = c->domain, .type = T_SOA, .rclass = C_IN, .ttl = ttl};
	int64_t now = x->q->now;
	snprintf(buf, sizeof buf, "ns.dns.%s", c->domain);
	rr.d.soa.mname = answer_strdup(x->out, buf);
	if (c->hostmaster[0]) {
		rr.d.soa.rname = c->hostmaster;
	} else {
		snprintf(buf, sizeof buf, "hostmaster.%s", c->domain);
		rr.d.soa.rname = answer_strdup(x->out, buf);
	}
	if (!rr.d.soa.mname || !rr.d.soa.rname)
		x->err = SKY_ENOMEM;
	rr.d.soa.serial = (uint32_t)(now - now % 3600);
	answer_time_unit(x->out, 3600);
	rr.d.soa.refresh = 28800;
	rr.d.soa.retry = 7200;
	rr.d.soa.expire = 604800;
	rr.d.soa.minimum = c->min_ttl;
	return rr;
}

/* Kubernetes pod records (DNS spec: <a-b-c-d>.<namespace>.pod.<zone>),
 * answered from the name alone as kube-dns did and CoreDNS's "pods
 * insecure" does: no pod is looked up. IPv4 spells its dots as dashes,
 * IPv6 its colons ("fd00--1" is fd00::1). pod.<domain> and
 * <ns>.pod.<domain> exist (NODATA: every address is below them); a first
 * label that spells no address, or more labels, is NXDOMAIN. */
bool rt_pod(struct rctx *x, const char *name, struct rrvec *ans, bool *exists)
{
	char zone[MSG_NAME_MAX];
	snprintf(zone, sizeof zone, "pod.%s", x->c->domain);
	if (!rname_in(name, zone))
		return false;
	size_t nl = strlen(name), zl = strlen(zone);
	if (nl == zl) {
		*exists = true;
		return true;
	}
	char rest[MSG_NAME_MAX]; /* "<ip>.<ns>" or "<ns>" */
	snprintf(rest, sizeof rest, "%.*s", (int)(nl - zl - 1), name);
	char *dot = strchr(rest, '.');
	if (!dot) {
		*exists = true;
		return true;
	}
	*dot = 0;
	*exists = false;
	if (strchr(dot + 1, '.') || strlen(rest) >= 64)
		return true;
	int dashes = 0;
	bool digits = true;
	for (char *c = rest; *c; c++) {
		dashes += *c == '-';
		digits &= (*c >= '0' && *c <= '9') || *c == '-';
	}
	for (char *c = rest; *c; c++)
		if (*c == '-')
			*c = dashes == 3 && digits ? '.' : ':';
	uint8_t ip[16];
	int fam = msg_parse_ip(rest, ip);
	if (!fam)
		return true;
	*exists = true;
	if ((fam == 4 && x->q->qtype == T_A) || (fam == 6 && x->q->qtype == T_AAAA))
		push_ip(x, ans, NULL, x->c->ttl, fam, ip);
	return true;
}

