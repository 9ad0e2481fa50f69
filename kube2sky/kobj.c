#include "kobj.h"

#include <ctype.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static char *lower_dup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (d)
		for (char *p = d; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	return d;
}

static const char *str_field(const cJSON *obj, const char *name)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, name);
	return cJSON_IsString(f) ? f->valuestring : NULL;
}

/* metadata.{namespace,name,resourceVersion}; namespace and name are required. */
static int meta(const cJSON *obj, char **ns, char **name, char **rv, const char **why)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const char *n = str_field(md, "name"), *s = str_field(md, "namespace");
	if (!cJSON_IsObject(md) || !n || !*n || !s || !*s) {
		*why = "metadata.name or metadata.namespace missing";
		return SKY_EPARSE;
	}
	const char *r = str_field(md, "resourceVersion");
	*ns = lower_dup(s);
	*name = lower_dup(n);
	*rv = strdup(r ? r : "");
	return (*ns && *name && *rv) ? 0 : SKY_ENOMEM;
}

int kobj_key(const cJSON *obj, char *buf, unsigned cap)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const char *n = str_field(md, "name"), *s = str_field(md, "namespace");
	if (!n || !s || !*n || !*s)
		return SKY_EPARSE;
	int w = snprintf(buf, cap, "%s/%s", s, n);
	if (w < 0 || (unsigned)w >= cap)
		return SKY_ERANGE;
	for (char *p = buf; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return 0;
}

static void ports_free(struct kport *p, int n)
{
	for (int i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].proto);
	}
	free(p);
}

/* Service ports and slice/endpoints ports have the same shape; a missing
 * protocol means TCP (API default). A port outside 1..65535 (or null, a
 * slice's "all ports") decodes as 0 and never gets an SRV record. */
static int ports_from_json(const cJSON *arr, struct kport **out, int *n, const char **why)
{
	*out = NULL;
	*n = 0;
	if (!arr || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr)) {
		*why = "ports is not a list";
		return SKY_EPARSE;
	}
	int cnt = cJSON_GetArraySize(arr);
	struct kport *p = calloc((size_t)cnt + 1, sizeof *p);
	if (!p)
		return SKY_ENOMEM;
	const cJSON *it;
	int i = 0;
	cJSON_ArrayForEach(it, arr) {
		const cJSON *port = cJSON_GetObjectItemCaseSensitive(it, "port");
		const char *proto = str_field(it, "protocol");
		p[i].name = lower_dup(str_field(it, "name"));
		p[i].proto = lower_dup(proto ? proto : "TCP");
		if (cJSON_IsNumber(port) && port->valuedouble >= 1 && port->valuedouble <= 65535)
			p[i].port = (uint16_t)port->valuedouble;
		i++;
		if (!p[i - 1].name || !p[i - 1].proto) {
			ports_free(p, i);
			return SKY_ENOMEM;
		}
	}
	*out = p;
	*n = i;
	return 0;
}

void ksvc_free(struct ksvc *s)
{
	if (!s)
		return;
	free(s->ns);
	free(s->name);
	free(s->rv);
	free(s->external_name);
	for (int i = 0; i < s->ncluster_ips; i++)
		free(s->cluster_ips[i]);
	free(s->cluster_ips);
	ports_free(s->ports, s->nports);
	free(s);
}

static int add_cluster_ip(struct ksvc *s, const char *ip)
{
	if (!ip || !*ip || strcmp(ip, "None") == 0)
		return 0;
	for (int i = 0; i < s->ncluster_ips; i++)
		if (strcmp(s->cluster_ips[i], ip) == 0)
			return 0;
	char **n = realloc(s->cluster_ips, sizeof *n * (size_t)(s->ncluster_ips + 1));
	if (!n)
		return SKY_ENOMEM;
	s->cluster_ips = n;
	if (!(n[s->ncluster_ips] = strdup(ip)))
		return SKY_ENOMEM;
	s->ncluster_ips++;
	return 0;
}

static int svc_spec(struct ksvc *s, const cJSON *spec, const char **why)
{
	const char *type = str_field(spec, "type");
	const char *cip = str_field(spec, "clusterIP");
	const cJSON *pnr = cJSON_GetObjectItemCaseSensitive(spec, "publishNotReadyAddresses");
	s->publish_not_ready = cJSON_IsTrue(pnr);
	if (type && strcmp(type, "ExternalName") == 0) {
		const char *en = str_field(spec, "externalName");
		if (!en || !*en) {
			*why = "spec.externalName missing for type ExternalName";
			return SKY_EPARSE;
		}
		s->external = true;
		if (!(s->external_name = lower_dup(en)))
			return SKY_ENOMEM;
		size_t l = strlen(s->external_name);
		if (l > 1 && s->external_name[l - 1] == '.')
			s->external_name[l - 1] = '\0';
		return 0;
	}
	s->headless = cip && strcmp(cip, "None") == 0;
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(spec, "clusterIPs"), *it;
	int rc = 0;
	if (cJSON_IsArray(ips)) {
		cJSON_ArrayForEach(it, ips) {
			if (cJSON_IsString(it) && (rc = add_cluster_ip(s, it->valuestring)))
				return rc;
			if (cJSON_IsString(it) && strcmp(it->valuestring, "None") == 0)
				s->headless = true;
		}
	}
	if ((rc = add_cluster_ip(s, cip)))
		return rc;
	return ports_from_json(cJSON_GetObjectItemCaseSensitive(spec, "ports"), &s->ports,
			       &s->nports, why);
}

int ksvc_from_json(const cJSON *obj, struct ksvc **out, const char **why)
{
	*out = NULL;
	struct ksvc *s = calloc(1, sizeof *s);
	if (!s)
		return SKY_ENOMEM;
	int rc = meta(obj, &s->ns, &s->name, &s->rv, why);
	if (!rc) {
		const cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
		if (!cJSON_IsObject(spec)) {
			*why = "spec missing";
			rc = SKY_EPARSE;
		} else {
			rc = svc_spec(s, spec, why);
		}
	}
	if (rc) {
		ksvc_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void keps_free(struct keps *e)
{
	if (!e)
		return;
	for (int i = 0; i < e->nsubsets; i++) {
		struct ksubset *ss = &e->subsets[i];
		for (int j = 0; j < ss->neps; j++) {
			free(ss->eps[j].ip);
			free(ss->eps[j].hostname);
		}
		free(ss->eps);
		ports_free(ss->ports, ss->nports);
	}
	free(e->subsets);
	free(e->ns);
	free(e->name);
	free(e->service);
	free(e->rv);
	free(e);
}

static int add_ep(struct ksubset *ss, const char *ip, const char *hostname, bool ready)
{
	struct kendpoint *n = realloc(ss->eps, sizeof *n * (size_t)(ss->neps + 1));
	if (!n)
		return SKY_ENOMEM;
	ss->eps = n;
	struct kendpoint *ep = &n[ss->neps++];
	ep->ip = strdup(ip);
	ep->hostname = hostname && *hostname ? lower_dup(hostname) : NULL;
	ep->ready = ready;
	return ep->ip && (ep->hostname || !hostname || !*hostname) ? 0 : SKY_ENOMEM;
}

static struct keps *keps_start(const cJSON *obj, int nsubsets, const char **why, int *rc)
{
	struct keps *e = calloc(1, sizeof *e);
	if (!e) {
		*rc = SKY_ENOMEM;
		return NULL;
	}
	*rc = meta(obj, &e->ns, &e->name, &e->rv, why);
	if (!*rc && nsubsets > 0 && !(e->subsets = calloc((size_t)nsubsets, sizeof *e->subsets)))
		*rc = SKY_ENOMEM;
	if (*rc) {
		keps_free(e);
		return NULL;
	}
	return e;
}

/* One slice endpoint: every address shares hostname and readiness. */
static int slice_endpoint(struct ksubset *ss, const cJSON *ep)
{
	const cJSON *cond = cJSON_GetObjectItemCaseSensitive(ep, "conditions");
	const cJSON *ready = cJSON_GetObjectItemCaseSensitive(cond, "ready");
	bool r = !cJSON_IsFalse(ready); /* nil = unknown = ready (coredns endpointsliceReady) */
	const char *host = str_field(ep, "hostname");
	const cJSON *addrs = cJSON_GetObjectItemCaseSensitive(ep, "addresses"), *a;
	int rc = 0;
	cJSON_ArrayForEach(a, addrs) {
		if (cJSON_IsString(a) && (rc = add_ep(ss, a->valuestring, host, r)))
			return rc;
	}
	return 0;
}

int keps_from_slice_json(const cJSON *obj, struct keps **out, const char **why)
{
	*out = NULL;
	int rc;
	struct keps *e = keps_start(obj, 1, why, &rc);
	if (!e)
		return rc;
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const char *svc = str_field(cJSON_GetObjectItemCaseSensitive(md, "labels"),
				    "kubernetes.io/service-name");
	const char *atype = str_field(obj, "addressType");
	e->nsubsets = 1;
	if (!(e->service = lower_dup(svc))) {
		keps_free(e);
		return SKY_ENOMEM;
	}
	struct ksubset *ss = &e->subsets[0];
	const cJSON *eps = cJSON_GetObjectItemCaseSensitive(obj, "endpoints"), *ep;
	/* FQDN slices (deprecated) carry names, not addresses: nothing to publish. */
	if (!atype || strcmp(atype, "FQDN") != 0) {
		cJSON_ArrayForEach(ep, eps) {
			if ((rc = slice_endpoint(ss, ep)))
				break;
		}
	}
	if (!rc)
		rc = ports_from_json(cJSON_GetObjectItemCaseSensitive(obj, "ports"), &ss->ports,
				     &ss->nports, why);
	if (rc) {
		keps_free(e);
		return rc;
	}
	*out = e;
	return 0;
}

static int v1_addresses(struct ksubset *ss, const cJSON *arr, bool ready)
{
	const cJSON *a;
	cJSON_ArrayForEach(a, arr) {
		const char *ip = str_field(a, "ip");
		int rc;
		if (ip && (rc = add_ep(ss, ip, str_field(a, "hostname"), ready)))
			return rc;
	}
	return 0;
}

int keps_from_endpoints_json(const cJSON *obj, struct keps **out, const char **why)
{
	*out = NULL;
	const cJSON *subsets = cJSON_GetObjectItemCaseSensitive(obj, "subsets"), *sub;
	int n = cJSON_IsArray(subsets) ? cJSON_GetArraySize(subsets) : 0, rc;
	struct keps *e = keps_start(obj, n, why, &rc);
	if (!e)
		return rc;
	if (!(e->service = strdup(e->name))) {
		keps_free(e);
		return SKY_ENOMEM;
	}
	const cJSON *list = n ? subsets : NULL;
	cJSON_ArrayForEach(sub, list) {
		struct ksubset *ss = &e->subsets[e->nsubsets++];
		rc = v1_addresses(ss, cJSON_GetObjectItemCaseSensitive(sub, "addresses"), true);
		if (!rc)
			rc = v1_addresses(ss, cJSON_GetObjectItemCaseSensitive(sub, "notReadyAddresses"),
					  false);
		if (!rc)
			rc = ports_from_json(cJSON_GetObjectItemCaseSensitive(sub, "ports"), &ss->ports,
					     &ss->nports, why);
		if (rc) {
			keps_free(e);
			return rc;
		}
	}
	*out = e;
	return 0;
}
