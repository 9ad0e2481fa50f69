#include "translate.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dname.h"
#include "err.h"
#include "msg.h"

#define NAME_CAP 1024

void recset_clear(struct k2s_recset *rs)
{
	for (int i = 0; i < rs->n; i++) {
		free(rs->recs[i].key);
		free(rs->recs[i].value);
	}
	free(rs->recs);
	for (int i = 0; i < rs->nskips; i++)
		free(rs->skips[i]);
	free(rs->skips);
	*rs = (struct k2s_recset){0};
}

static int rec_cmp(const void *a, const void *b)
{
	const struct k2s_rec *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : strcmp(x->value, y->value);
}

/* Sort and keep one record per key: the smallest value, so a key claimed
 * twice (an address listed in two slices under two labels) is stable. */
static void recset_finish(struct k2s_recset *rs)
{
	if (rs->n < 2)
		return;
	qsort(rs->recs, (size_t)rs->n, sizeof *rs->recs, rec_cmp);
	int w = 1;
	for (int i = 1; i < rs->n; i++) {
		if (strcmp(rs->recs[i].key, rs->recs[w - 1].key) == 0) {
			free(rs->recs[i].key);
			free(rs->recs[i].value);
			continue;
		}
		rs->recs[w++] = rs->recs[i];
	}
	rs->n = w;
}

const struct k2s_rec *recset_find(const struct k2s_recset *rs, const char *key)
{
	int lo = 0, hi = rs->n - 1;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2, c = strcmp(rs->recs[mid].key, key);
		if (c == 0)
			return &rs->recs[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

uint32_t translate_fnv32a(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63. */
static bool is_label(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

/* Port names are IANA service names (letters, digits, '-'), protocols are
 * words; anything else could escape its key segment, so it gets no SRV.
 * With its '_' the label must still fit in 63 bytes. */
static bool is_port_label(const char *s)
{
	if (!*s || strlen(s) > DNAME_LABEL_MAX - 1)
		return false;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '-'))
			return false;
	return true;
}

/* Canonical text and family of an IP: 4 or 6, 0 if not an address. */
static int canon_ip(const char *ip, char *out, unsigned cap, uint8_t raw[16])
{
	if (inet_pton(AF_INET, ip, raw) == 1)
		return inet_ntop(AF_INET, raw, out, cap) ? 4 : 0;
	if (inet_pton(AF_INET6, ip, raw) == 1)
		return inet_ntop(AF_INET6, raw, out, cap) ? 6 : 0;
	return 0;
}

int translate_reverse_name(const char *ip, char *out, unsigned cap)
{
	uint8_t a[16];
	char txt[INET6_ADDRSTRLEN];
	int fam = canon_ip(ip, txt, sizeof txt, a), w;
	if (fam == 4) {
		w = snprintf(out, cap, "%u.%u.%u.%u.in-addr.arpa.", a[3], a[2], a[1], a[0]);
	} else if (fam == 6) {
		static const char hex[] = "0123456789abcdef";
		if (cap < 64 + sizeof "ip6.arpa.")
			return SKY_ERANGE;
		char *p = out;
		for (int i = 15; i >= 0; i--) {
			*p++ = hex[a[i] & 0xf];
			*p++ = '.';
			*p++ = hex[a[i] >> 4];
			*p++ = '.';
		}
		w = snprintf(p, cap - 64, "ip6.arpa.");
	} else {
		return SKY_EINVAL;
	}
	return (w < 0 || (unsigned)w >= cap) ? SKY_ERANGE : 0;
}

int translate_dashed_ip(const char *ip, char *out, unsigned cap)
{
	uint8_t a[16];
	if (!canon_ip(ip, out, cap, a))
		return SKY_EINVAL;
	for (char *p = out; *p; p++)
		if (*p == '.' || *p == ':')
			*p = '-';
	return 0;
}

/* Context for one service's translation. */
struct tctx {
	const struct translate_opts *o;
	const struct ksvc *svc;
	char fqdn[NAME_CAP]; /* "<svc>.<ns>.svc.<zone>" absolute */
	struct k2s_recset *out;
};

/* Note why a record is not written; the same text once per translation (an
 * invalid port name is met once per endpoint). */
static int skip(struct tctx *t, const char *fmt, ...)
{
	char buf[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	struct k2s_recset *rs = t->out;
	for (int i = 0; i < rs->nskips; i++)
		if (strcmp(rs->skips[i], buf) == 0)
			return 0;
	char **v = realloc(rs->skips, sizeof *v * (size_t)(rs->nskips + 1));
	if (!v)
		return SKY_ENOMEM;
	rs->skips = v;
	if (!(v[rs->nskips] = strdup(buf)))
		return SKY_ENOMEM;
	rs->nskips++;
	return 0;
}

static int rs_push(struct k2s_recset *rs, char *key, char *value)
{
	if (!key || !value) {
		free(key);
		free(value);
		return SKY_ENOMEM;
	}
	if (rs->n == rs->cap) {
		int ncap = rs->cap ? rs->cap * 2 : 16;
		struct k2s_rec *n = realloc(rs->recs, sizeof *n * (size_t)ncap);
		if (!n) {
			free(key);
			free(value);
			return SKY_ENOMEM;
		}
		rs->recs = n;
		rs->cap = ncap;
	}
	rs->recs[rs->n++] = (struct k2s_rec){key, value};
	return 0;
}

/* Add a record at `name`, or, when hashed, at "<fnv(value)>.<name>". A
 * name or host SkyDNS could not put on the wire (dname.h) is skipped: it
 * would make SRV of every directory above it fail. */
static int add_rec(struct tctx *t, const char *name, bool hashed, const char *host, uint16_t port,
		   const char *text)
{
	const char *why = NULL;
	if (host && dname_check_host(host, &why) != 0)
		return skip(t, "name \"%s\": %s", host, why);
	struct service s = {
		.host = (char *)host, .port = port, .text = (char *)text, .ttl = t->o->ttl,
		.priority = host ? t->o->priority : 0, .weight = host ? t->o->weight : 0,
	};
	char *value = msg_service_json(&s);
	if (!value)
		return SKY_ENOMEM;
	char full[NAME_CAP], key[NAME_CAP + 256];
	int w = hashed ? snprintf(full, sizeof full, "%x.%s", translate_fnv32a(value), name)
		       : snprintf(full, sizeof full, "%s", name);
	if (w < 0 || (size_t)w >= sizeof full || msg_name_to_key(t->o->prefix, full, key, sizeof key) < 0) {
		free(value);
		return SKY_ERANGE;
	}
	if (dname_check(full, &why) != 0) {
		free(value);
		return skip(t, "name \"%s\": %s", full, why);
	}
	return rs_push(t->out, strdup(key), value);
}

static int add_ptr(struct tctx *t, const char *ip, const char *target)
{
	char rev[NAME_CAP];
	int rc = translate_reverse_name(ip, rev, sizeof rev);
	return rc ? rc : add_rec(t, rev, false, target, 0, NULL);
}

/* SRV of a port at "_<port>._<proto>.<fqdn>" pointing at target (the
 * service's fqdn or an endpoint's name). An unnamed port or port 0 gets
 * none; an invalid name or protocol is a skip. */
static int add_srv(struct tctx *t, const struct kport *p, const char *target)
{
	if (!p->port || !*p->name)
		return 0;
	if (!is_port_label(p->name))
		return skip(t, "port name \"%s\": not a DNS label", p->name);
	if (!is_port_label(p->proto))
		return skip(t, "port protocol \"%s\": not a DNS label", p->proto);
	char name[NAME_CAP];
	int w = snprintf(name, sizeof name, "_%s._%s.%s", p->name, p->proto, t->fqdn);
	if (w < 0 || (size_t)w >= sizeof name)
		return skip(t, "SRV name of port \"%s\": name over 255 bytes", p->name);
	return add_rec(t, name, true, target, p->port, NULL);
}

static int cluster_records(struct tctx *t)
{
	const struct ksvc *s = t->svc;
	int rc = 0, nip = 0;
	for (int i = 0; i < s->ncluster_ips && !rc; i++) {
		char ip[INET6_ADDRSTRLEN];
		uint8_t raw[16];
		if (!canon_ip(s->cluster_ips[i], ip, sizeof ip, raw)) {
			rc = skip(t, "clusterIP \"%s\": not an IP address", s->cluster_ips[i]);
			continue;
		}
		nip++;
		rc = add_rec(t, t->fqdn, true, ip, 0, NULL);
		if (!rc)
			rc = add_ptr(t, ip, t->fqdn);
	}
	for (int i = 0; i < s->nports && !rc && nip; i++)
		rc = add_srv(t, &s->ports[i], t->fqdn);
	return rc;
}

static int endpoint_records(struct tctx *t, const struct ksubset *ss, const struct kendpoint *ep)
{
	char ip[INET6_ADDRSTRLEN], label[64], owner[NAME_CAP];
	uint8_t raw[16];
	if (!canon_ip(ep->ip, ip, sizeof ip, raw))
		return skip(t, "endpoint IP \"%s\": not an IP address", ep->ip);
	if (ep->hostname && is_label(ep->hostname))
		snprintf(label, sizeof label, "%s", ep->hostname);
	else
		translate_dashed_ip(ip, label, sizeof label);
	int w = snprintf(owner, sizeof owner, "%s.%s", label, t->fqdn);
	if (w < 0 || (size_t)w >= sizeof owner)
		return SKY_ERANGE;
	const char *why = NULL;
	if (dname_check(owner, &why) != 0) /* one skip for its A, PTR and SRV */
		return skip(t, "name \"%s\": %s", owner, why);
	int rc = add_rec(t, owner, true, ip, 0, NULL);
	if (!rc)
		rc = add_ptr(t, ip, owner);
	for (int i = 0; i < ss->nports && !rc; i++)
		rc = add_srv(t, &ss->ports[i], owner);
	return rc;
}

static int headless_records(struct tctx *t, const struct keps *const *eps, int neps)
{
	int rc = 0;
	for (int e = 0; e < neps && !rc; e++) {
		if (strcmp(eps[e]->ns, t->svc->ns) != 0 || strcmp(eps[e]->service, t->svc->name) != 0)
			continue;
		for (int s = 0; s < eps[e]->nsubsets && !rc; s++) {
			const struct ksubset *ss = &eps[e]->subsets[s];
			for (int i = 0; i < ss->neps && !rc; i++)
				if (ss->eps[i].ready || t->svc->publish_not_ready)
					rc = endpoint_records(t, ss, &ss->eps[i]);
		}
	}
	return rc;
}

int translate_service(const struct translate_opts *o, const struct ksvc *svc,
		      const struct keps *const *eps, int neps, struct k2s_recset *out)
{
	struct tctx t = {.o = o, .svc = svc, .out = out};
	if (!is_label(svc->ns) || !is_label(svc->name))
		return skip(&t, "%s is not a DNS label: no records", !is_label(svc->ns) ? "namespace" : "name");
	int w = snprintf(t.fqdn, sizeof t.fqdn, "%s.%s.svc.%s", svc->name, svc->ns, o->zone);
	if (w < 0 || (size_t)w >= sizeof t.fqdn)
		return SKY_ERANGE;
	int rc;
	const char *why = NULL;
	if (svc->external && svc->external_name[0] && dname_check_host(svc->external_name, &why) != 0)
		rc = skip(&t, "externalName \"%s\": %s", svc->external_name, why);
	else if (svc->external)
		rc = svc->external_name[0] ? add_rec(&t, t.fqdn, true, svc->external_name, 0, NULL) : 0;
	else if (svc->headless)
		rc = headless_records(&t, eps, neps);
	else
		rc = cluster_records(&t);
	if (rc) {
		recset_clear(out);
		return rc;
	}
	recset_finish(out);
	return 0;
}

int translate_global(const struct translate_opts *o, struct k2s_recset *out)
{
	struct tctx t = {.o = o, .out = out};
	char name[NAME_CAP];
	int w = snprintf(name, sizeof name, "dns-version.%s", o->zone);
	if (w < 0 || (size_t)w >= sizeof name)
		return SKY_ERANGE;
	int rc = add_rec(&t, name, false, NULL, 0, K2S_SCHEMA_VERSION);
	if (!rc)
		recset_finish(out);
	return rc;
}

int translate_owned_prefixes(const struct translate_opts *o, char out[][512], int max)
{
	static const char *const names[] = {"svc.", "in-addr.arpa.", "ip6.arpa."};
	if (max < 3)
		return SKY_ERANGE;
	for (int i = 0; i < 3; i++) {
		char name[NAME_CAP];
		int w = snprintf(name, sizeof name, "%s%s", names[i], i == 0 ? o->zone : "");
		int l = w > 0 && (size_t)w < sizeof name ? msg_name_to_key(o->prefix, name, out[i], 511) : -1;
		if (l < 0)
			return SKY_ERANGE;
		out[i][l] = '/';
		out[i][l + 1] = '\0';
	}
	return 3;
}

/* "<...>.<svc>.<ns>.svc.<zone>" -> "ns/svc"; SKY_ENOTFOUND if not below. */
static int owner_from_name(const struct translate_opts *o, const char *host, char *owner,
			   unsigned cap)
{
	char h[NAME_CAP], suffix[NAME_CAP];
	snprintf(h, sizeof h, "%s", host);
	size_t hl = strlen(h);
	if (hl && h[hl - 1] != '.' && hl + 1 < sizeof h)
		strcat(h, ".");
	int w = snprintf(suffix, sizeof suffix, ".svc.%s", o->zone);
	hl = strlen(h);
	if (w < 0 || (size_t)w >= hl || strcasecmp(h + hl - (size_t)w, suffix) != 0)
		return SKY_ENOTFOUND;
	h[hl - (size_t)w] = '\0';
	char *ns = strrchr(h, '.');
	if (!ns)
		return SKY_ENOTFOUND;
	*ns++ = '\0';
	char *svc = strrchr(h, '.');
	svc = svc ? svc + 1 : h;
	w = snprintf(owner, cap, "%s/%s", ns, svc);
	return (w > 0 && (unsigned)w < cap && *svc) ? 0 : SKY_ENOTFOUND;
}

int translate_owner(const struct translate_opts *o, const char *key, const char *value,
		    char *owner, unsigned cap)
{
	char pre[3][512], ver[NAME_CAP], vkey[NAME_CAP + 64];
	if (translate_owned_prefixes(o, pre, 3) < 0)
		return SKY_ERANGE;
	snprintf(ver, sizeof ver, "dns-version.%s", o->zone);
	if (msg_name_to_key(o->prefix, ver, vkey, sizeof vkey) >= 0 && strcmp(key, vkey) == 0) {
		*owner = '\0';
		return 0;
	}
	size_t pl = strlen(pre[0]);
	if (strncmp(key, pre[0], pl) == 0) {
		const char *ns = key + pl, *slash = strchr(ns, '/');
		if (!slash)
			return SKY_ENOTFOUND;
		const char *svc = slash + 1, *end = strchr(svc, '/');
		size_t sl = end ? (size_t)(end - svc) : strlen(svc);
		int w = snprintf(owner, cap, "%.*s/%.*s", (int)(slash - ns), ns, (int)sl, svc);
		return (w > 0 && (unsigned)w < cap && sl) ? 0 : SKY_ENOTFOUND;
	}
	if (strncmp(key, pre[1], strlen(pre[1])) != 0 && strncmp(key, pre[2], strlen(pre[2])) != 0)
		return SKY_ENOTFOUND;
	struct service s;
	if (!value || msg_service_parse(value, strlen(value), &s, NULL) != 0)
		return SKY_ENOTFOUND;
	int rc = s.host ? owner_from_name(o, s.host, owner, cap) : SKY_ENOTFOUND;
	msg_service_clear(&s);
	return rc;
}
