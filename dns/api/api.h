/* api.h - skydns-api: the records API daemon (issue 15). api_main.c parses
 * flags, checks the token and runs libmicrohttpd; api_routes.c (with
 * api_seed.c, api_explain.c; api_int.h) turns requests into etcd reads and
 * writes through dns/etcd.h, using dns/msg.h for the
 * SkyDNS record JSON and the name <-> key mapping. */
#ifndef SKYDNS_API_H
#define SKYDNS_API_H

#include <stddef.h>

#include "etcd.h"

#define API_BODY_MAX (64 * 1024) /* request bodies above this are refused (400) */

struct api {
	struct etcd_client *etcd;
	char domain[256];     /* absolute, lower-case: "skydns.local." */
	char prefix[256];     /* etcd path prefix without slashes: "skydns" */
	int v3;               /* etcd v3 (else v2, which hides "_" keys) */
	char monitor[512];    /* status keys' etcd path, no trailing slash:
	                       * "/skydns/monitor/status" (skydns's ip_monitor_path) */
};

struct api_reply {
	unsigned status;
	char *body;           /* malloc'd */
	const char *ctype;    /* "application/json" or "text/plain" */
};

/* The request's If-Match header (NULL if none), set by api_main.c before
 * api_handle(); requests are handled one at a time. */
extern const char *api_if_match;

/* Handle one request; method "GET"/"PUT"/"POST"/"DELETE", url the decoded path,
 * `query_prefix` the ?prefix= argument (NULL if absent). Fills *r. */
void api_handle(struct api *a, const char *method, const char *url, const char *query_prefix,
		const char *body, size_t body_len, struct api_reply *r);

#endif
