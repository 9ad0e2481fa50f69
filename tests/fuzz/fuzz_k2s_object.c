/* fuzz_k2s_object.c - Kubernetes objects as kube2sky decodes them (kobj.c)
 * and the records it writes for them (translate.c).
 *
 * Input: JSON. An object is tried as a Service, an EndpointSlice and a v1
 * Endpoints. An array is [service, endpoints...] (an element with
 * "kind":"Endpoints" is v1, any other a slice) and goes through
 * translate_service(); every record then has a key under the prefix, a
 * value skydns parses, and translate_owner() gives back the service's
 * "ns/name" (the writer deletes records by owner: a wrong one leaks or
 * deletes records of another service).
 * Seeds: tests/fuzz/corpus/k2s_object (tests/fakeapi/fixtures).
 */
#include <cjson/cJSON.h>

#include "err.h"
#include "fuzz.h"
#include "kobj.h"
#include "msg.h"
#include "translate.h"

#define MAX_EPS 16

static const struct translate_opts OPTS = {
	.prefix = "skydns", .zone = "cluster.local.", .ttl = 30, .priority = 10, .weight = 10,
};

static struct keps *decode_eps(const cJSON *o)
{
	struct keps *e = NULL;
	const char *why = NULL;
	const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "kind"));
	int rc = kind && strcmp(kind, "Endpoints") == 0 ? keps_from_endpoints_json(o, &e, &why)
							 : keps_from_slice_json(o, &e, &why);
	FUZZ_ASSERT(rc == 0 ? e != NULL : (e == NULL && why != NULL));
	return e;
}

static void check_records(const struct ksvc *svc, const struct k2s_recset *rs)
{
	char want[600], owner[512];
	snprintf(want, sizeof want, "%s/%s", svc->ns, svc->name);
	for (int i = 0; i < rs->n; i++) {
		const struct k2s_rec *r = &rs->recs[i];
		FUZZ_ASSERT(strncmp(r->key, "/skydns/", 8) == 0);
		FUZZ_ASSERT(i == 0 || strcmp(rs->recs[i - 1].key, r->key) < 0);
		struct service s;
		FUZZ_ASSERT(msg_service_parse(r->value, strlen(r->value), &s, NULL) == 0);
		msg_service_clear(&s);
		FUZZ_ASSERT(translate_owner(&OPTS, r->key, r->value, owner, sizeof owner) == 0);
		if (strcmp(owner, want) != 0) {
			fprintf(stderr, "record %s = %s: owner \"%s\", want \"%s\"\n", r->key,
				r->value, owner, want);
			abort();
		}
		FUZZ_ASSERT(recset_find(rs, r->key) == r);
	}
}

static void service_with_endpoints(const cJSON *arr)
{
	struct ksvc *svc = NULL;
	const char *why = NULL;
	if (ksvc_from_json(cJSON_GetArrayItem(arr, 0), &svc, &why) != 0)
		return;
	struct keps *eps[MAX_EPS];
	int n = 0;
	const cJSON *o;
	int i = 0;
	cJSON_ArrayForEach(o, arr)
	{
		if (i++ == 0 || n == MAX_EPS)
			continue;
		struct keps *e = decode_eps(o);
		if (e)
			eps[n++] = e;
	}
	struct k2s_recset rs = { 0 };
	int rc = translate_service(&OPTS, svc, (const struct keps *const *)eps, n, &rs);
	FUZZ_ASSERT(rc == 0 || rc == SKY_EINVAL || rc == SKY_ERANGE);
	if (rc == 0)
		check_records(svc, &rs);
	else
		FUZZ_ASSERT(rs.n == 0);
	recset_clear(&rs);
	for (int k = 0; k < n; k++)
		keps_free(eps[k]);
	ksvc_free(svc);
}

static void one_object(const cJSON *o)
{
	struct ksvc *svc = NULL;
	struct keps *e = NULL;
	const char *why = NULL;
	char key[512];
	if (ksvc_from_json(o, &svc, &why) == 0)
		ksvc_free(svc);
	if (keps_from_slice_json(o, &e, &why) == 0)
		keps_free(e);
	if (keps_from_endpoints_json(o, &e, &why) == 0)
		keps_free(e);
	(void)kobj_key(o, key, sizeof key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *doc = cJSON_ParseWithLength((const char *)data, size);
	if (cJSON_IsArray(doc))
		service_with_endpoints(doc);
	else if (cJSON_IsObject(doc))
		one_object(doc);
	cJSON_Delete(doc);
	return 0;
}
