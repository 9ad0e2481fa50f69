/* health.c - DOWN addresses as a sorted array (see health.h). A cluster
 * marks a handful of addresses down at a time; a binary search over 17-byte
 * keys costs less per answer than hashing would, and the set is rebuilt only
 * when a status changes. */
#include "health.h"

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "msg.h"

struct health {
	_Atomic unsigned refs;
	size_t n;
	struct health_addr v[];
};

int health_parse_status(const char *value, size_t len, bool *down, const char **why)
{
	cJSON *j = cJSON_ParseWithLength(value ? value : "", len);
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
	int rc = SKY_EINVAL;
	if (!cJSON_IsObject(j))
		*why = "not a JSON object";
	else if (!cJSON_IsString(st))
		*why = "no \"status\" string";
	else if (strcasecmp(st->valuestring, "DOWN") == 0)
		rc = 0, *down = true;
	else if (strcasecmp(st->valuestring, "UP") == 0)
		rc = 0, *down = false;
	else
		*why = "\"status\" is neither \"UP\" nor \"DOWN\"";
	cJSON_Delete(j);
	return rc;
}

int health_key_addr(const char *path, struct health_addr *out)
{
	const char *slash = strrchr(path, '/');
	const char *ip = slash ? slash + 1 : path;
	memset(out, 0, sizeof *out);
	int fam = msg_parse_ip(ip, out->ip);
	if (fam != 4 && fam != 6)
		return SKY_EINVAL;
	out->fam = (uint8_t)fam;
	return 0;
}

static int addr_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct health_addr));
}

struct health *health_new(const struct health_addr *down, size_t n)
{
	struct health *h = malloc(sizeof *h + n * sizeof h->v[0]);
	if (!h)
		return NULL;
	atomic_init(&h->refs, 1);
	h->n = n;
	if (n) {
		memcpy(h->v, down, n * sizeof h->v[0]);
		qsort(h->v, n, sizeof h->v[0], addr_cmp);
	}
	return h;
}

void health_ref(const struct health *h)
{
	if (h)
		atomic_fetch_add_explicit(&((struct health *)h)->refs, 1, memory_order_relaxed);
}

void health_unref(const struct health *h)
{
	if (h && atomic_fetch_sub_explicit(&((struct health *)h)->refs, 1, memory_order_acq_rel) == 1)
		free((struct health *)h);
}

size_t health_count(const struct health *h) { return h ? h->n : 0; }

bool health_is_down(const struct health *h, int fam, const uint8_t ip[16])
{
	if (!h || !h->n || (fam != 4 && fam != 6))
		return false;
	struct health_addr k = { .fam = (uint8_t)fam };
	memcpy(k.ip, ip, fam == 4 ? 4 : 16);
	return bsearch(&k, h->v, h->n, sizeof h->v[0], addr_cmp) != NULL;
}
