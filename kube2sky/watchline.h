/* watchline.h - the Kubernetes WATCH stream, one JSON document per line.
 * Pure: no I/O.
 *
 * A watch body is chunked; chunk and read boundaries do not line up with
 * events, so bytes are fed to a struct watchbuf that hands back complete
 * lines, and each line is decoded with watchline_parse().
 */
#ifndef K2S_WATCHLINE_H
#define K2S_WATCHLINE_H

#include <stddef.h>

struct cJSON;

enum watch_type { WATCH_ADDED, WATCH_MODIFIED, WATCH_DELETED, WATCH_BOOKMARK, WATCH_ERROR };

struct watch_event {
	enum watch_type type;
	struct cJSON *object; /* owned by the event (free with watch_event_clear) */
	const char *rv;       /* object.metadata.resourceVersion, points into object; "" if absent */
	int code;             /* ERROR: Status.code (410 = expired), else 0 */
	const char *reason;   /* ERROR: Status.reason / message, "" if absent */
};

/* Decode one line (without or with its trailing newline). SKY_EPARSE with a
 * static *why ("not JSON", "unknown type \"X\"", "object missing") for garbage.
 * An empty or all-blank line is SKY_ENOTFOUND (skip it). */
int watchline_parse(const char *line, size_t len, struct watch_event *ev, const char **why);
void watch_event_clear(struct watch_event *ev);

/* Line splitter. max = the largest line accepted (bytes); a longer line is
 * an error (SKY_ERANGE) since the stream cannot be resynchronised. */
struct watchbuf {
	char *buf;
	size_t skip;          /* consumed bytes at the front, dropped lazily */
	size_t len, cap, max; /* len counts bytes after skip */
};

void watchbuf_init(struct watchbuf *wb, size_t max);
void watchbuf_free(struct watchbuf *wb);
/* Append bytes. SKY_ENOMEM, SKY_ERANGE (line too long). */
int watchbuf_feed(struct watchbuf *wb, const char *data, size_t len);
/* Next complete line: *line points into the buffer (valid until the next
 * feed/next call), *len excludes the '\n'. Returns 1 when a line was
 * produced, 0 when none is complete. */
int watchbuf_next(struct watchbuf *wb, const char **line, size_t *len);
/* Bytes of an incomplete trailing line. */
size_t watchbuf_pending(const struct watchbuf *wb);

#endif
