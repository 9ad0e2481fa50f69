/* resolve_fixture.h - shared by test_resolve*.c: hand-built snapshots, a
 * query helper, and a text rendering of answer sections so a test asserts a
 * whole section with one CHECK_STR.
 */
#ifndef SKYDNS_RESOLVE_FIXTURE_H
#define SKYDNS_RESOLVE_FIXTURE_H

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "check.h"
#include "config.h"
#include "msg.h"
#include "resolve.h"
#include "snapshot.h"

#define NOW 1700003000 /* 2023-11-14 23:03:20 UTC; the hour starts at 1700002800 */

static struct config cfg;
static struct snapshot_builder *bld;
static struct snapshot *snap;
static struct answer ans;
static struct query qry;
static enum resolve_action act;
static char sec_text[3][8192];
static char ext_text[2048];

/* Fresh config (domain skydns.local., one nameserver, no round robin) and
 * an empty builder. */
static void fx_begin(void)
{
	config_defaults(&cfg);
	snprintf(cfg.domain, sizeof cfg.domain, "skydns.local.");
	snprintf(cfg.hostmaster, sizeof cfg.hostmaster, "hostmaster.skydns.local.");
	cfg.ttl = 3600;
	cfg.min_ttl = 60;
	cfg.priority = 10;
	cfg.ndots = 2;
	cfg.round_robin = false;
	cfg.no_rec = false;
	cfg.stubzones = false;
	cfg.local[0] = '\0';
	cfg.nnameservers = 1;
	snprintf(cfg.nameservers[0], sizeof cfg.nameservers[0], "127.0.0.1:53");
	if (snap)
		snapshot_free(snap);
	snap = NULL;
	if (bld)
		snapshot_builder_free(bld);
	bld = snapshot_builder_new();
}

/* Add a service at a DNS name, with an etcd expiry (0 = none). */
static void fx_put_exp(const char *name, struct service svc, int64_t expires)
{
	char path[MSG_NAME_MAX];
	int n = msg_name_to_path(name, path, sizeof path);
	CHECK(n > 0);
	CHECK_INT(snapshot_builder_add(bld, path, (size_t)n, &svc, expires), 0);
}

static void fx_put(const char *name, struct service svc)
{
	fx_put_exp(name, svc, 0);
}

static void fx_freeze(void)
{
	snap = snapshot_builder_finish(bld, NULL, 1, 1);
	bld = NULL;
	CHECK(snap != NULL);
}

static void rr_text(const struct rr *r, char *out, size_t cap)
{
	char a[INET6_ADDRSTRLEN];
	const char *owner = r->owner ? r->owner : "@";
	int n = snprintf(out, cap, "%s %u %s", owner, (unsigned)r->ttl, r->rclass == C_CH ? "CH " : "");
	out += n;
	cap -= (size_t)n;
	switch (r->type) {
	case T_A:
		snprintf(out, cap, "A %s", inet_ntop(AF_INET, r->d.a, a, sizeof a));
		break;
	case T_AAAA:
		snprintf(out, cap, "AAAA %s", inet_ntop(AF_INET6, r->d.aaaa, a, sizeof a));
		break;
	case T_CNAME:
		snprintf(out, cap, "CNAME %s", r->d.name.target);
		break;
	case T_NS:
		snprintf(out, cap, "NS %s", r->d.name.target);
		break;
	case T_PTR:
		snprintf(out, cap, "PTR %s", r->d.name.target);
		break;
	case T_SRV:
		snprintf(out, cap, "SRV %u %u %u %s", r->d.srv.priority, r->d.srv.weight,
			 r->d.srv.port, r->d.srv.target);
		break;
	case T_MX:
		snprintf(out, cap, "MX %u %s", r->d.mx.preference, r->d.mx.exchange);
		break;
	case T_TXT:
		snprintf(out, cap, "TXT \"%.*s\"", (int)r->d.txt.len, r->d.txt.text);
		break;
	case T_SOA:
		snprintf(out, cap, "SOA %s %s %u %u %u %u %u", r->d.soa.mname, r->d.soa.rname,
			 r->d.soa.serial, r->d.soa.refresh, r->d.soa.retry, r->d.soa.expire,
			 r->d.soa.minimum);
		break;
	default:
		snprintf(out, cap, "TYPE%u", r->type);
	}
}

static const char *type_name(uint16_t t)
{
	return t == T_A ? "A" : t == T_AAAA ? "AAAA" : "?";
}

/* Render the answer: one line per RR ("@" = the question name as sent). */
static void fx_render(void)
{
	for (int s = 0; s < SEC_COUNT; s++) {
		char *p = sec_text[s];
		size_t left = sizeof sec_text[s];
		p[0] = '\0';
		for (size_t i = 0; i < ans.n[s]; i++) {
			char line[1024];
			rr_text(&ans.rrs[s][i], line, sizeof line);
			int n = snprintf(p, left, "%s%s", i ? "\n" : "", line);
			if (n < 0 || (size_t)n >= left)
				break; /* truncated: large answers are checked by count */
			p += n;
			left -= (size_t)n;
		}
	}
	char *p = ext_text;
	size_t left = sizeof ext_text;
	ext_text[0] = '\0';
	for (size_t i = 0; i < ans.next; i++) {
		int n = snprintf(p, left, "%s%s %s %s", i ? "\n" : "", ans.ext[i].name,
				 type_name(ans.ext[i].qtype),
				 ans.ext[i].section == SEC_ANSWER ? "answer" : "additional");
		if (n < 0 || (size_t)n >= left)
			break;
		p += n;
		left -= (size_t)n;
	}
}

static enum resolve_action fx_ask_full(const char *name, uint16_t qtype, uint16_t qclass,
				       uint64_t seed)
{
	if (!snap)
		fx_freeze();
	memset(&qry, 0, sizeof qry);
	snprintf(qry.name, sizeof qry.name, "%s", name);
	qry.qtype = qtype;
	qry.qclass = qclass;
	qry.rd = true;
	qry.udp_size = 512;
	qry.now = NOW;
	qry.rand = seed;
	answer_reset(&ans);
	act = resolve(&qry, snap, &cfg, &ans);
	fx_render();
	return act;
}

static enum resolve_action fx_ask(const char *name, uint16_t qtype)
{
	return fx_ask_full(name, qtype, C_IN, 42);
}

#define SOA_NEG "skydns.local. 60 SOA ns.dns.skydns.local. hostmaster.skydns.local. 1700002800 28800 7200 604800 60"

/* Assert a whole reply: action, rcode, AA, RA and the three sections. */
#define CHECK_REPLY(rc, aa_, an, au, ad)                                                   \
	do {                                                                               \
		CHECK_INT(act, RESOLVE_ANSWER);                                            \
		CHECK_INT(ans.rcode, rc);                                                  \
		CHECK_INT(ans.aa, aa_);                                                    \
		CHECK_STR(sec_text[SEC_ANSWER], an);                                       \
		CHECK_STR(sec_text[SEC_AUTHORITY], au);                                    \
		CHECK_STR(sec_text[SEC_ADDITIONAL], ad);                                   \
	} while (0)

#define CHECK_NXDOMAIN() CHECK_REPLY(RCODE_NXDOMAIN, 1, "", SOA_NEG, "")
#define CHECK_NODATA() CHECK_REPLY(RCODE_NOERROR, 1, "", SOA_NEG, "")

static void fx_end(void)
{
	if (snap)
		snapshot_free(snap);
	snap = NULL;
	if (bld)
		snapshot_builder_free(bld);
	bld = NULL;
}

#endif
