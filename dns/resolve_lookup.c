/* resolve_lookup.c - how the resolver reads a snapshot: names and paths,
 * SkyDNS's directory and wildcard semantics (and where they stop in a zone
 * kube2sky manages), expiry, groups and TTLs.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "dname.h"
#include "err.h"
#include "health.h"
#include "marker.h"
#include "msg.h"
#include "resolve_int.h"
#include "snapshot.h"

#define MAX_ELEMS 256 /* a '/' inside a label adds a path level, so > 127 */

/* splitmix64: small, seedable, good enough for shuffles. */
uint64_t rctx_rand(struct rctx *x)
{
	if (x->out)
		x->out->varies = true; /* not a reply to cache (acache.h) */
	uint64_t z = (x->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* True when the '.' at name[i] is a label separator, not "\." inside a label. */
static bool is_separator(const char *name, size_t i)
{
	size_t bs = 0;
	while (i > bs && name[i - bs - 1] == '\\')
		bs++;
	return name[i] == '.' && bs % 2 == 0;
}

/* SkyDNS master: equal, or a suffix "." + zone. 2.5.3a used a plain string
 * suffix, so "endocode.com." matched "ndocode.com." (issue #263). */
bool rname_in(const char *name, const char *zone)
{
	size_t nl = strlen(name), zl = strlen(zone);
	if (zl == 1 && zone[0] == '.')
		return true;
	if (nl == zl)
		return strcasecmp(name, zone) == 0;
	if (nl < zl + 1)
		return false;
	return is_separator(name, nl - zl - 1) && strcasecmp(name + nl - zl, zone) == 0;
}

bool rname_ends(const char *name, const char *suffix)
{
	size_t nl = strlen(name), sl = strlen(suffix);
	return nl > sl && strcasecmp(name + nl - sl, suffix) == 0 &&
	       (suffix[0] != '.' || is_separator(name, nl - sl));
}

int rname_labels(const char *name)
{
	int n = 0;
	size_t len = strlen(name);
	if (len == 0 || (len == 1 && name[0] == '.'))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (is_separator(name, i))
			n++;
	if (!is_separator(name, len - 1))
		n++; /* relative name: last label has no dot */
	return n;
}

/* SkyDNS targetStrip: drop n leftmost labels; stripping the whole name
 * keeps the original (its NextLabel loop "overshot"). */
const char *rname_strip(const char *name, int n)
{
	size_t len = strlen(name), i = 0;
	if (n <= 0)
		return name;
	for (int k = 0; k < n; k++) {
		while (i < len && !is_separator(name, i))
			i++;
		if (i >= len - 1)
			return name;
		i++;
	}
	return name + i;
}

char *rname_fqdn(struct rctx *x, const char *host)
{
	size_t len = strlen(host);
	bool dot = len > 0 && is_separator(host, len - 1);
	char *s = answer_alloc(x->out, len + 2);
	if (!s) {
		x->err = SKY_ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < len; i++)
		s[i] = (host[i] >= 'A' && host[i] <= 'Z') ? (char)(host[i] + 32) : host[i];
	if (!dot)
		s[len++] = '.';
	s[len] = '\0';
	return s;
}

char *rname_of_record(struct rctx *x, const struct record *r, int strip)
{
	char buf[MSG_NAME_MAX];
	if (msg_path_to_name(r->path, r->pathlen, buf, sizeof buf) < 0)
		return NULL;
	char *s = answer_strdup(x->out, rname_strip(buf, strip));
	if (!s)
		x->err = SKY_ENOMEM;
	return s;
}

/* A key whose etcd TTL ran out is gone, even if the watch has not told us
 * yet (SkyDNS served it with the default TTL, issue #244). */
bool rrec_live(const struct rctx *x, const struct record *r)
{
	if (r->expires == 0)
		return true;
	if (x->out) /* this record's TTL counts down and it will go */
		answer_time_unit(x->out, 1);
	return r->expires > x->q->now;
}

/* SkyDNS §12: the smaller of the JSON ttl and the remaining etcd TTL, the
 * one that is set, or the configured default. */
uint32_t rrec_ttl(const struct rctx *x, const struct record *r)
{
	uint32_t t = r->svc.ttl;
	if (r->expires != 0 && x->out)
		answer_time_unit(x->out, 1);
	if (r->expires != 0) {
		int64_t rem = r->expires - x->q->now;
		if (rem > 0) {
			uint32_t ur = rem > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)rem;
			if (t == 0 || ur < t)
				t = ur;
		}
	}
	return t ? t : x->c->ttl;
}

/* Priority 0 means "use the configured priority" (SkyDNS issue #108). */
uint32_t rrec_priority(const struct rctx *x, const struct record *r)
{
	int32_t p = r->svc.priority;
	if (p == 0)
		return x->c->priority > 65535 ? 65535 : x->c->priority;
	if (p < 0)
		return 0;
	return p > 65535 ? 65535 : (uint32_t)p;
}

int rrec_ip(const struct record *r, uint8_t ip[16])
{
	if (!r->svc.host || !r->svc.host[0])
		return 0;
	return msg_parse_ip(r->svc.host, ip);
}

struct elem {
	const char *p;
	size_t len;
	bool wild;
};

/* Position-wise match of a record path against the query path (§6). A
 * `_`-prefixed element the query did not name literally is hidden: etcd v2
 * left such keys out of directory listings, so SkyDNS never returned them
 * from a directory or wildcard read; we hide them in both etcd modes. */
static bool path_match(const struct record *r, const struct elem *el, size_t nel, bool exact)
{
	const char *p = r->path, *end = r->path + r->pathlen;
	size_t i = 0;
	for (;;) {
		const char *e = memchr(p, '/', (size_t)(end - p));
		if (!e)
			e = end;
		size_t len = (size_t)(e - p);
		bool hidden = len > 0 && p[0] == '_';
		if (i < nel && !el[i].wild) {
			if (len != el[i].len || memcmp(p, el[i].p, len) != 0)
				return false;
		} else if (hidden || (i >= nel && exact)) {
			return false;
		}
		i++;
		if (e == end)
			break;
		p = e + 1;
	}
	return i >= nel; /* keys shorter than the query never match */
}

static int rlist_push(struct rctx *x, struct rlist *l, const struct record *r)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		const struct record **v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return x->err = SKY_ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = r;
	return 0;
}

void rlist_free(struct rlist *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* Split a path into elements; returns the count, or -1 when too deep. The
 * prefix before the first wildcard is what SkyDNS read from etcd; with
 * `literal`, "*" and "any" are plain labels. */
static int split_path(const char *path, size_t plen, bool literal, struct elem *el,
		      size_t *prefix)
{
	size_t n = 0, i = 0;
	*prefix = plen;
	while (i <= plen) {
		const char *e = memchr(path + i, '/', plen - i);
		size_t j = e ? (size_t)(e - path) : plen;
		if (n == MAX_ELEMS)
			return -1;
		el[n].p = path + i;
		el[n].len = j - i;
		el[n].wild = !literal && ((j - i == 1 && path[i] == '*') ||
					  (j - i == 3 && memcmp(path + i, "any", 3) == 0));
		if (el[n].wild && *prefix == plen)
			*prefix = i > 0 ? i - 1 : 0;
		n++;
		i = j + 1;
	}
	return (int)n;
}

/* How a name may be read. fix (issue 12): in a zone kube2sky manages (it left a
 * marker, see marker.h) SkyDNS's directory answers would hand out other
 * namespaces' data: "prod.svc.<zone>" every address of a namespace, the apex
 * every address of the cluster, and a search-path try "db.svc.<zone>" the
 * pods of namespace db. There, as in CoreDNS, only the names the Kubernetes
 * DNS spec (schema 1.1.0) defines aggregate what lies below them: a service
 * "<svc>.<ns>.svc.<zone>" (a headless one's endpoints) and the names below
 * it (endpoint hostnames, "_<port>._<proto>" SRV). Above a service a name
 * answers only with a record stored at exactly that name (dns-version, a
 * user's own key), else NODATA when something lies below it (an empty
 * non-terminal, RFC 8020) or NXDOMAIN. The spec has no wildcards, so "*" and
 * "any" are plain labels in such a zone. SkyDNS's own names below
 * dns.<domain> (ns.dns for NS) and unmanaged zones keep SkyDNS's reads. */
enum scope {
	SCOPE_SKYDNS,     /* directory and wildcard reads */
	SCOPE_SPEC_DIR,   /* a service or below: directory reads, no wildcards */
	SCOPE_SPEC_EXACT, /* above a service: the record at the name only */
};

static enum scope name_scope(const struct rctx *x, const char *name, const char *path,
			     size_t plen)
{
	const char *zone = NULL;
	for (size_t i = 0; i < snapshot_managed_count(x->s); i++) {
		const char *z = snapshot_managed_at(x->s, i)->zone;
		if (rname_in(name, z) && (!zone || strlen(z) > strlen(zone)))
			zone = z;
	}
	if (!zone)
		return SCOPE_SKYDNS;
	char own[MSG_NAME_MAX];
	snprintf(own, sizeof own, "dns.%s", x->c->domain);
	if (rname_in(name, own) && strcmp(name, own) != 0)
		return SCOPE_SKYDNS;
	char zpath[MSG_NAME_MAX];
	int zl = msg_name_to_path(zone, zpath, sizeof zpath);
	if (zl < 0 || (size_t)zl + 4 > plen)
		return SCOPE_SPEC_EXACT;
	/* below the zone: "svc/<ns>/<svc>[/...]" */
	const char *rel = path + (zl ? zl + 1 : 0);
	size_t rlen = plen - (size_t)(rel - path);
	if (rlen < 4 || memcmp(rel, "svc/", 4) != 0)
		return SCOPE_SPEC_EXACT;
	const char *ns_end = memchr(rel + 4, '/', rlen - 4);
	if (!ns_end || ns_end == rel + 4 || ns_end + 1 >= rel + rlen)
		return SCOPE_SPEC_EXACT;
	return SCOPE_SPEC_DIR;
}

/* Above a service in a managed zone: whether anything live lies at or below
 * path, and the live record at exactly path. Two binary searches, so the
 * apex of a large cluster costs no more than a leaf. */
static int lookup_exact(struct rctx *x, const char *path, size_t plen, struct rlist *out,
			bool *exists)
{
	struct rtree_iter it;
	snapshot_range(x->s, path, plen, &it);
	for (const struct record *r; !*exists && (r = snapshot_next(&it));)
		*exists = rrec_live(x, r);
	const struct record *r = snapshot_get(x->s, path, plen);
	if (r && rrec_live(x, r) && rlist_push(x, out, r) < 0)
		return SKY_ENOMEM;
	return 0;
}

/* The ipdcode seed's health marks: services whose address a checker marked
 * DOWN are left out, unless every address of that family is DOWN (fail
 * open: an unhealthy answer beats NXDOMAIN, as PowerDNS's ifportup() users
 * ask). Services with a name for host (CNAMEs, SRV targets) are kept: their
 * addresses are judged where they are looked up. */
static void rhealth(struct rctx *x, struct rlist *l)
{
	const struct health *h = snapshot_health(x->s);
	size_t ips[2] = { 0, 0 }, down[2] = { 0, 0 };
	for (size_t i = 0; i < l->n; i++) {
		uint8_t ip[16];
		int fam = rrec_ip(l->v[i], ip);
		if (fam == 4 || fam == 6) {
			ips[fam == 6]++;
			down[fam == 6] += health_is_down(h, fam, ip);
		}
	}
	if (down[0] + down[1] == 0)
		return;
	size_t k = 0;
	for (size_t i = 0; i < l->n; i++) {
		uint8_t ip[16];
		int fam = rrec_ip(l->v[i], ip);
		bool out = health_is_down(h, fam, ip) && down[fam == 6] < ips[fam == 6];
		if (!out)
			l->v[k++] = l->v[i];
	}
	if (x->out) {
		x->out->filtered |= k < l->n;
		x->out->fail_open |= (down[0] && down[0] == ips[0]) || (down[1] && down[1] == ips[1]);
	}
	l->n = k;
}

static int rlookup_all(struct rctx *x, const char *name, bool exact, struct rlist *out,
		       bool *exists);

int rlookup(struct rctx *x, const char *name, bool exact, struct rlist *out, bool *exists)
{
	int rc = rlookup_all(x, name, exact, out, exists);
	if (rc == 0 && out->n && health_count(snapshot_health(x->s)))
		rhealth(x, out);
	return rc;
}

static int rlookup_all(struct rctx *x, const char *name, bool exact, struct rlist *out,
		       bool *exists)
{
	char path[MSG_NAME_MAX];
	struct elem el[MAX_ELEMS];
	size_t prefix;
	*exists = false;
	int plen = msg_name_to_path(name, path, sizeof path);
	if (plen <= 0)
		return 0;
	enum scope sc = name_scope(x, name, path, (size_t)plen);
	if (sc == SCOPE_SPEC_EXACT)
		return lookup_exact(x, path, (size_t)plen, out, exists);
	int nel = split_path(path, (size_t)plen, sc != SCOPE_SKYDNS, el, &prefix);
	if (nel < 0)
		return 0;
	struct rtree_iter it;
	snapshot_range(x->s, path, prefix, &it); /* 0: everything */
	for (const struct record *r; (r = snapshot_next(&it));) {
		if (!rrec_live(x, r))
			continue;
		*exists = true;
		if (path_match(r, el, (size_t)nel, exact) && rlist_push(x, out, r) < 0)
			return SKY_ENOMEM;
	}
	return 0;
}

static bool no_group(const struct record *r)
{
	return !r->svc.group || !r->svc.group[0];
}

static bool same_group(const struct record *r, const char *g)
{
	return !no_group(r) && strcmp(r->svc.group, g) == 0;
}

/* SkyDNS §7, step for step: the shallowest grouped key chooses the group;
 * group-less services always pass; disagreement at that depth cancels. */
void rgroups(struct rlist *l)
{
	if (l->n == 0)
		return;
	const char *group = l->v[0]->svc.group;
	uint32_t d = l->v[0]->depth;
	size_t stop = l->n; /* depths after `stop` stay unrecorded (0) */
	for (size_t i = 0; i < l->n; i++) {
		const struct record *r = l->v[i];
		if (r->depth < d) {
			if (no_group(r)) {
				stop = i;
				break;
			}
			d = r->depth;
			group = r->svc.group;
		}
	}
	if (!group || !group[0])
		return;
	for (size_t i = 0; i < l->n; i++) {
		const struct record *r = l->v[i];
		uint32_t depth = i <= stop ? r->depth : 0;
		if (!no_group(r) && depth == d && !same_group(r, group))
			return;
	}
	size_t k = 0;
	for (size_t i = 0; i < l->n; i++)
		if (no_group(l->v[i]) || same_group(l->v[i], group))
			l->v[k++] = l->v[i];
	l->n = k;
}

int rrvec_push(struct rctx *x, struct rrvec *v, const struct rr *rr)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		struct rr *nv = realloc(v->v, cap * sizeof *nv);
		if (!nv)
			return x->err = SKY_ENOMEM;
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = *rr;
	return 0;
}

void rrvec_free(struct rrvec *v)
{
	free(v->v);
	v->v = NULL;
	v->n = v->cap = 0;
}

static bool name_ok(const char *name)
{
	return !name || dname_check(name, NULL) == 0;
}

/* Every name an RR carries; NULL owner is the question name (it parsed). */
static bool rr_names_ok(const struct rr *r)
{
	if (!name_ok(r->owner))
		return false;
	switch (r->type) {
	case T_CNAME: case T_NS: case T_PTR: return name_ok(r->d.name.target);
	case T_SRV: return name_ok(r->d.srv.target);
	case T_MX: return name_ok(r->d.mx.exchange);
	case T_SOA: return name_ok(r->d.soa.mname) && name_ok(r->d.soa.rname);
	default: return true;
	}
}

void rrvec_keep_encodable(struct rrvec *v)
{
	size_t k = 0;
	for (size_t i = 0; i < v->n; i++)
		if (rr_names_ok(&v->v[i]))
			v->v[k++] = v->v[i];
	v->n = k;
}

int rrvec_flush(struct rctx *x, struct rrvec *v, int section)
{
	for (size_t i = 0; i < v->n; i++)
		if (!answer_add(x->out, section, &v->v[i]))
			return x->err = SKY_ENOMEM;
	return 0;
}

void rext_add(struct rctx *x, const char *name, uint16_t qtype, int section)
{
	struct answer *a = x->out;
	if (!name_ok(name))
		return; /* not a name: nothing to look up (see rrvec_keep_encodable) */
	for (size_t i = 0; i < a->next; i++)
		if (a->ext[i].qtype == qtype && a->ext[i].section == section &&
		    strcasecmp(a->ext[i].name, name) == 0)
			return;
	if (answer_add_ext(a, name, qtype, section) < 0)
		x->err = SKY_ENOMEM;
}
