/* kobj.h - the parts of Kubernetes objects kube2sky uses, decoded from the
 * API's JSON (cJSON trees). Pure: no I/O.
 *
 * A Service becomes a struct ksvc. Both discovery.k8s.io/v1 EndpointSlice and
 * v1 Endpoints become a struct keps: a list of subsets, each a set of
 * endpoints sharing a port list (a slice is one subset; an Endpoints object
 * has one per entry of `subsets`). Every string is heap-owned by its object;
 * free with ksvc_free()/keps_free().
 */
#ifndef K2S_KOBJ_H
#define K2S_KOBJ_H

#include <stdbool.h>
#include <stdint.h>

struct cJSON;

struct kport {
	char *name;      /* "" = unnamed (no SRV) */
	char *proto;     /* lower-case: "tcp", "udp", "sctp" */
	uint16_t port;   /* 0 = "all ports" (EndpointSlice nil port): no SRV */
};

struct ksvc {
	char *ns, *name;       /* lower-cased */
	char *rv;              /* metadata.resourceVersion ("" if absent) */
	bool headless;         /* spec.clusterIP == "None" */
	bool external;         /* spec.type == ExternalName */
	char *external_name;   /* lower-cased, no trailing dot; NULL unless external */
	bool publish_not_ready;
	char **cluster_ips;    /* spec.clusterIPs (or clusterIP), "None"/"" dropped */
	int ncluster_ips;
	struct kport *ports;
	int nports;
};

struct kendpoint {
	char *ip;        /* as given; translate() validates it */
	char *hostname;  /* NULL when absent */
	bool ready;      /* v1: listed in addresses; slice: conditions.ready (nil = ready) */
};

struct ksubset {
	struct kendpoint *eps;
	int neps;
	struct kport *ports;
	int nports;
};

struct keps {
	char *ns, *name;  /* the object's own name (a slice's name differs from the service's) */
	char *service;    /* owning service: v1 = name; slice = label kubernetes.io/service-name ("" if none) */
	char *rv;
	struct ksubset *subsets;
	int nsubsets;
};

/* Decode; SKY_EPARSE (with *why set to a static text such as
 * "metadata.name missing") when required fields are missing or of the wrong
 * type, SKY_ENOMEM. *out is NULL on error. */
int ksvc_from_json(const struct cJSON *obj, struct ksvc **out, const char **why);
int keps_from_slice_json(const struct cJSON *obj, struct keps **out, const char **why);
int keps_from_endpoints_json(const struct cJSON *obj, struct keps **out, const char **why);

void ksvc_free(struct ksvc *s);
void keps_free(struct keps *e);

/* metadata.namespace + "/" + metadata.name of any object into buf (cap >= 512);
 * SKY_EPARSE when either is missing. Used for DELETED events. */
int kobj_key(const struct cJSON *obj, char *buf, unsigned cap);

#endif
