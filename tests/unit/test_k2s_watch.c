/* The WATCH stream: line splitting across arbitrary chunk boundaries and the
 * decoding of each event type, plus garbage. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "kobj.h"
#include "watchline.h"

static const char *ADDED =
	"{\"type\":\"ADDED\",\"object\":{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"web\","
	"\"namespace\":\"default\",\"uid\":\"6f1c\",\"resourceVersion\":\"1042\",\"creationTimestamp\":\"2026-11-22T04:00:00Z\"},"
	"\"spec\":{\"clusterIP\":\"10.0.0.11\",\"ports\":[{\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}]},\"status\":{\"loadBalancer\":{}}}}";

TEST(each_event_type)
{
	struct watch_event ev;
	const char *why = NULL;
	CHECK_INT(watchline_parse(ADDED, strlen(ADDED), &ev, &why), 0);
	CHECK_INT(ev.type, WATCH_ADDED);
	CHECK_STR(ev.rv, "1042");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(ev.object, "metadata"), "name")), "web");
	watch_event_clear(&ev);

	const char *mod = "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\",\"namespace\":\"b\",\"resourceVersion\":\"7\"}}}\r\n";
	CHECK_INT(watchline_parse(mod, strlen(mod), &ev, &why), 0);
	CHECK_INT(ev.type, WATCH_MODIFIED);
	CHECK_STR(ev.rv, "7");
	watch_event_clear(&ev);

	const char *del = "{\"type\":\"DELETED\",\"object\":{\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"a-x\",\"namespace\":\"b\",\"resourceVersion\":\"9\"}}}";
	CHECK_INT(watchline_parse(del, strlen(del), &ev, &why), 0);
	CHECK_INT(ev.type, WATCH_DELETED);
	watch_event_clear(&ev);

	const char *bm = "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"12345\","
		"\"creationTimestamp\":null,\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}},\"spec\":{},\"status\":{}}}";
	CHECK_INT(watchline_parse(bm, strlen(bm), &ev, &why), 0);
	CHECK_INT(ev.type, WATCH_BOOKMARK);
	CHECK_STR(ev.rv, "12345");
	watch_event_clear(&ev);

	const char *err = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
		"\"message\":\"too old resource version: 100 (2000)\",\"reason\":\"Expired\",\"code\":410}}";
	CHECK_INT(watchline_parse(err, strlen(err), &ev, &why), 0);
	CHECK_INT(ev.type, WATCH_ERROR);
	CHECK_INT(ev.code, 410);
	CHECK_STR(ev.reason, "too old resource version: 100 (2000)");
	watch_event_clear(&ev);
}

TEST(garbage_lines)
{
	struct watch_event ev;
	const char *why = NULL;
	static const char *bad[] = {
		"not json", "{\"type\":\"ADDED\"", "[1,2]", "{\"type\":\"EXPLODED\",\"object\":{}}",
		"{\"object\":{\"metadata\":{\"resourceVersion\":\"1\"}}}", "{\"type\":\"ADDED\",\"object\":5}",
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":{}}}", "{\"type\":7,\"object\":{}}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		why = NULL;
		CHECK_INT(watchline_parse(bad[i], strlen(bad[i]), &ev, &why), SKY_EPARSE);
		CHECK(why != NULL);
		CHECK(ev.object == NULL);
	}
	CHECK_INT(watchline_parse("  \r", 3, &ev, &why), SKY_ENOTFOUND);
	CHECK_INT(watchline_parse("", 0, &ev, &why), SKY_ENOTFOUND);
}

/* Feed a stream in every chunk size from 1 to 64 bytes; the same events come
 * out each time. */
TEST(partial_lines_any_chunking)
{
	char stream[4096];
	snprintf(stream, sizeof stream, "%s\n{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"2000\"}}}\n"
		 "\n%s\n{\"type\":\"DEL", ADDED, ADDED);
	size_t total = strlen(stream);
	for (size_t chunk = 1; chunk <= 64; chunk++) {
		struct watchbuf wb;
		watchbuf_init(&wb, 1 << 20);
		int events = 0, blanks = 0;
		for (size_t off = 0; off < total; off += chunk) {
			size_t n = total - off < chunk ? total - off : chunk;
			CHECK_INT(watchbuf_feed(&wb, stream + off, n), 0);
			const char *line;
			size_t len;
			while (watchbuf_next(&wb, &line, &len) == 1) {
				struct watch_event ev;
				const char *why;
				int rc = watchline_parse(line, len, &ev, &why);
				if (rc == SKY_ENOTFOUND) {
					blanks++;
					continue;
				}
				CHECK_INT(rc, 0);
				events++;
				watch_event_clear(&ev);
			}
		}
		CHECK_INT(events, 3);
		CHECK_INT(blanks, 1);
		CHECK_INT(watchbuf_pending(&wb), strlen("{\"type\":\"DEL"));
		watchbuf_free(&wb);
	}
}

TEST(line_too_long)
{
	struct watchbuf wb;
	watchbuf_init(&wb, 16);
	CHECK_INT(watchbuf_feed(&wb, "0123456789", 10), 0);
	CHECK_INT(watchbuf_feed(&wb, "0123456789", 10), SKY_ERANGE);
	watchbuf_free(&wb);
	watchbuf_init(&wb, 16);
	/* Many short lines in one feed are fine even when the feed is big. */
	CHECK_INT(watchbuf_feed(&wb, "aaaa\nbbbb\ncccc\ndddd\neeee\nff", 27), 0);
	const char *l;
	size_t n;
	int lines = 0;
	while (watchbuf_next(&wb, &l, &n) == 1)
		lines++;
	CHECK_INT(lines, 5);
	watchbuf_free(&wb);
}

/* Deterministic mutation fuzzing: flipped bytes, truncations and splices of
 * real event lines give 0, SKY_EPARSE or SKY_ENOTFOUND, never a crash; the
 * objects that do parse go through the object decoders too. */
TEST(mutated_lines_never_crash)
{
	static const char *seeds[] = {
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"pg\",\"namespace\":\"db\",\"resourceVersion\":\"5\"},"
		"\"spec\":{\"clusterIP\":\"None\",\"clusterIPs\":[\"None\"],\"ports\":[{\"name\":\"sql\",\"port\":5432}],"
		"\"type\":\"ExternalName\",\"externalName\":\"x.example\"}}}",
		"{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"pg-1\",\"namespace\":\"db\",\"resourceVersion\":\"6\","
		"\"labels\":{\"kubernetes.io/service-name\":\"pg\"}},\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":"
		"[\"10.0.0.1\"],\"conditions\":{\"ready\":true},\"hostname\":\"a\"}],\"ports\":[{\"name\":\"x\",\"port\":1}],"
		"\"subsets\":[{\"addresses\":[{\"ip\":\"10.0.0.2\"}],\"ports\":[{\"port\":2}]}]}}",
		"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"message\":\"too old\"}}",
	};
	static const char alphabet[] = "{}[]\":,0123456789aZ-. \\\n\x01\xff";
	unsigned seed = 12345;
	int parsed = 0, rejected = 0;
	for (int iter = 0; iter < 30000; iter++) {
		const char *src = seeds[iter % 3];
		char buf[1024];
		size_t n = strlen(src);
		memcpy(buf, src, n);
		int edits = 1 + (int)(rand_r(&seed) % 4);
		for (int e = 0; e < edits; e++) {
			size_t at = (size_t)rand_r(&seed) % n;
			switch (rand_r(&seed) % 3) {
			case 0: buf[at] = alphabet[rand_r(&seed) % (sizeof alphabet - 1)]; break;
			case 1: n = at + 1; break;
			default: memmove(buf + at, buf + at + 1, n - at - 1); n = n > 1 ? n - 1 : 1; break;
			}
		}
		struct watch_event ev;
		const char *why = NULL;
		int rc = watchline_parse(buf, n, &ev, &why);
		CHECK(rc == 0 || rc == SKY_EPARSE || rc == SKY_ENOTFOUND);
		if (rc == SKY_EPARSE)
			CHECK(why != NULL);
		if (rc != 0) {
			rejected++;
			continue;
		}
		parsed++;
		CHECK(ev.object != NULL);
		struct ksvc *s = NULL;
		struct keps *k1 = NULL, *k2 = NULL;
		ksvc_from_json(ev.object, &s, &why);
		keps_from_slice_json(ev.object, &k1, &why);
		keps_from_endpoints_json(ev.object, &k2, &why);
		ksvc_free(s);
		keps_free(k1);
		keps_free(k2);
		watch_event_clear(&ev);
	}
	CHECK(parsed > 100);
	CHECK(rejected > 100);
}

int main(void)
{
	RUN(each_event_type);
	RUN(garbage_lines);
	RUN(partial_lines_any_chunking);
	RUN(line_too_long);
	RUN(mutated_lines_never_crash);
	return CHECK_DONE();
}
