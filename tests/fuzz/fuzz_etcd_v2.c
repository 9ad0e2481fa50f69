/* fuzz_etcd_v2.c - an etcd v2 keys API body as the mirror reads it: a
 * recursive GET (etcd_parse_v2_node) and a wait=true watch event
 * (etcd_parse_v2_watch). Every kv handed to the callback must be usable as
 * the mirror uses it (key and value NUL-terminated, value_len right).
 * Seeds: tests/fuzz/corpus/etcd_v2 (shapes of reliability.md §4).
 */
#include "err.h"
#include "etcd.h"
#include "fuzz.h"

#define NOW 1700000000

static void check_kv(const struct etcd_kv *kv, bool deleted)
{
	FUZZ_ASSERT(kv->key != NULL);
	(void)strlen(kv->key);
	if (deleted)
		return;
	FUZZ_ASSERT(kv->value != NULL && strlen(kv->value) == kv->value_len);
}

static int on_kv(void *arg, const struct etcd_kv *kv)
{
	++*(int *)arg;
	check_kv(kv, false);
	return 0;
}

static int on_event(void *arg, const struct etcd_event *ev, bool last)
{
	++*(int *)arg;
	FUZZ_ASSERT(last);
	check_kv(&ev->kv, ev->type == ETCD_EV_DELETE);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	int n = 0;
	int rc = etcd_parse_v2_node(body, size, on_kv, &n, NOW);
	FUZZ_ASSERT(rc <= 0);
	n = 0;
	uint64_t index = 5;
	rc = etcd_parse_v2_watch(body, size, on_event, &n, &index, NOW);
	FUZZ_ASSERT(rc <= 0 && n <= 1 && index >= 5);
	return 0;
}
