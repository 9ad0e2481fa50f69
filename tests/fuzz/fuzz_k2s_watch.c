/* fuzz_k2s_watch.c - a Kubernetes WATCH response body as kube2sky reads it:
 * fed to a watchbuf in chunks (sizes drawn from the first input byte, as
 * curl hands them over at arbitrary boundaries), each complete line decoded
 * with watchline_parse() and, for DELETED, kobj_key(). The bytes that come
 * out as lines plus the pending tail are exactly the bytes fed in.
 * Seeds: tests/fuzz/corpus/k2s_watch.
 */
#include <cjson/cJSON.h>

#include "err.h"
#include "fuzz.h"
#include "kobj.h"
#include "watchline.h"

#define LINE_MAX_BYTES 4096

static void decode(const char *line, size_t len)
{
	struct watch_event ev;
	const char *why = NULL;
	int rc = watchline_parse(line, len, &ev, &why);
	if (rc != 0) {
		FUZZ_ASSERT(rc == SKY_ENOTFOUND || (rc == SKY_EPARSE && why));
		FUZZ_ASSERT(ev.object == NULL);
		return;
	}
	FUZZ_ASSERT(ev.object && ev.rv && ev.reason);
	FUZZ_ASSERT(ev.type == WATCH_ERROR || ev.rv[0]);
	if (ev.type == WATCH_DELETED) {
		char key[512];
		if (kobj_key(ev.object, key, sizeof key) == 0)
			FUZZ_ASSERT(strchr(key, '/'));
	}
	watch_event_clear(&ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned chunk = 1u + data[0] % 64;
	const char *s = (const char *)data + 1;
	size_t n = size - 1, off = 0, out = 0;
	struct watchbuf wb;
	watchbuf_init(&wb, LINE_MAX_BYTES);
	while (off < n) {
		size_t k = n - off < chunk ? n - off : chunk;
		int rc = watchbuf_feed(&wb, s + off, k);
		if (rc == SKY_ERANGE)
			break; /* a line over the limit: the stream is abandoned */
		FUZZ_ASSERT(rc == 0);
		off += k;
		const char *line;
		size_t len;
		while ((rc = watchbuf_next(&wb, &line, &len)) == 1) {
			FUZZ_ASSERT(len <= LINE_MAX_BYTES && !memchr(line, '\n', len));
			FUZZ_ASSERT(memcmp(line, s + out, len) == 0 && s[out + len] == '\n');
			out += len + 1;
			decode(line, len);
		}
		FUZZ_ASSERT(rc == 0);
		FUZZ_ASSERT(out + watchbuf_pending(&wb) == off);
		chunk = 1u + (chunk * 7u + (unsigned)k) % 64;
	}
	watchbuf_free(&wb);
	return 0;
}
