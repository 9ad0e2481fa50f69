/* fuzz_etcd_v3.c - etcd v3 JSON gateway bodies as the mirror reads them:
 * one watch stream line (etcd_parse_v3_watch_line) and one /v3/kv/range
 * reply (etcd_v3_parse_range), plus the base64 codec they use. Every kv
 * handed out must be usable (key NUL-terminated, value_len right, no value
 * on DELETE); the watched revision never goes back.
 * Seeds: tests/fuzz/corpus/etcd_v3 (shapes of reliability.md §4).
 */
#include "err.h"
#include "etcd.h"
#include "etcd_int.h"
#include "fuzz.h"

#define NOW 1700000000

static int on_kv(void *arg, const struct etcd_kv *kv)
{
	++*(int *)arg;
	FUZZ_ASSERT(kv->key && kv->value);
	FUZZ_ASSERT(kv->value[kv->value_len] == '\0');
	return 0;
}

static int on_event(void *arg, const struct etcd_event *ev, bool last)
{
	(void)last;
	if (ev->type == ETCD_EV_DELETE) {
		FUZZ_ASSERT(ev->kv.key && !ev->kv.value && ev->kv.value_len == 0);
		++*(int *)arg;
		return 0;
	}
	return on_kv(arg, &ev->kv);
}

static void check_b64(const uint8_t *data, size_t size)
{
	char *dec = NULL;
	size_t declen = 0;
	if (etcd_b64_decode((const char *)data, size, &dec, &declen) == 0) {
		FUZZ_ASSERT(dec && dec[declen] == '\0');
		free(dec);
	}
	char *enc = etcd_b64_encode((const char *)data, size);
	FUZZ_ASSERT(enc);
	FUZZ_ASSERT(etcd_b64_decode(enc, strlen(enc), &dec, &declen) == 0);
	FUZZ_ASSERT(declen == size && memcmp(dec, data, size) == 0);
	free(dec);
	free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	int n = 0;
	uint64_t rev = 7;
	int rc = etcd_parse_v3_watch_line(body, size, on_event, &n, &rev, NOW);
	FUZZ_ASSERT(rc <= 0 && rev >= 7);

	struct etcd_v3_page pg = { 0 };
	n = 0;
	rc = etcd_v3_parse_range(body, size, on_kv, &n, &pg);
	FUZZ_ASSERT(rc <= 0 && (n == 0 || pg.last));
	free(pg.last);

	if (size < 4096)
		check_b64(data, size);
	return 0;
}
