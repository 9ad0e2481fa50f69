#include "watchline.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static const struct {
	const char *name;
	enum watch_type type;
} watch_types[] = {
	{"ADDED", WATCH_ADDED},       {"MODIFIED", WATCH_MODIFIED}, {"DELETED", WATCH_DELETED},
	{"BOOKMARK", WATCH_BOOKMARK}, {"ERROR", WATCH_ERROR},
};

void watch_event_clear(struct watch_event *ev)
{
	cJSON_Delete(ev->object);
	*ev = (struct watch_event){0};
}

static const char *str_or_empty(const cJSON *o, const char *name)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(f) ? f->valuestring : "";
}

int watchline_parse(const char *line, size_t len, struct watch_event *ev, const char **why)
{
	*ev = (struct watch_event){.rv = "", .reason = ""};
	size_t i = 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n'))
		i++;
	if (i == len)
		return SKY_ENOTFOUND;
	cJSON *doc = cJSON_ParseWithLength(line, len);
	if (!doc || !cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		*why = "not a JSON object";
		return SKY_EPARSE;
	}
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(doc, "type");
	size_t t = 0;
	for (; cJSON_IsString(type) && t < sizeof watch_types / sizeof *watch_types; t++)
		if (strcmp(type->valuestring, watch_types[t].name) == 0)
			break;
	if (!cJSON_IsString(type) || t == sizeof watch_types / sizeof *watch_types) {
		cJSON_Delete(doc);
		*why = "missing or unknown event type";
		return SKY_EPARSE;
	}
	cJSON *obj = cJSON_DetachItemFromObjectCaseSensitive(doc, "object");
	cJSON_Delete(doc);
	if (!cJSON_IsObject(obj)) {
		cJSON_Delete(obj);
		*why = "event object missing";
		return SKY_EPARSE;
	}
	ev->type = watch_types[t].type;
	ev->object = obj;
	ev->rv = str_or_empty(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "resourceVersion");
	if (ev->type == WATCH_ERROR) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(obj, "code");
		ev->code = cJSON_IsNumber(code) ? code->valueint : 0;
		ev->reason = str_or_empty(obj, "message");
		if (!*ev->reason)
			ev->reason = str_or_empty(obj, "reason");
	} else if (!*ev->rv) {
		watch_event_clear(ev);
		*why = "object.metadata.resourceVersion missing";
		return SKY_EPARSE;
	}
	return 0;
}

void watchbuf_init(struct watchbuf *wb, size_t max)
{
	*wb = (struct watchbuf){.max = max};
}

void watchbuf_free(struct watchbuf *wb)
{
	free(wb->buf);
	*wb = (struct watchbuf){0};
}

/* The line handed out by watchbuf_next() stays valid until the next call:
 * consumed bytes are only removed here. */
static void compact(struct watchbuf *wb)
{
	if (wb->skip) {
		memmove(wb->buf, wb->buf + wb->skip, wb->len);
		wb->skip = 0;
	}
}

int watchbuf_feed(struct watchbuf *wb, const char *data, size_t len)
{
	compact(wb);
	/* Complete lines are consumed before the next feed, so the buffer only
	 * holds one partial line: its length is the limit that matters. */
	const char *nl = len ? memrchr(data, '\n', len) : NULL;
	size_t partial = nl ? (size_t)(data + len - nl - 1) : wb->len + len;
	if (partial > wb->max)
		return SKY_ERANGE;
	if (wb->len + len + 1 > wb->cap) {
		size_t ncap = wb->cap ? wb->cap : 4096;
		while (ncap < wb->len + len + 1)
			ncap *= 2;
		char *n = realloc(wb->buf, ncap);
		if (!n)
			return SKY_ENOMEM;
		wb->buf = n;
		wb->cap = ncap;
	}
	memcpy(wb->buf + wb->len, data, len);
	wb->len += len;
	return 0;
}

int watchbuf_next(struct watchbuf *wb, const char **line, size_t *len)
{
	if (!wb->buf || !wb->len)
		return 0;
	char *start = wb->buf + wb->skip;
	char *nl = memchr(start, '\n', wb->len);
	if (!nl) {
		compact(wb);
		return 0;
	}
	size_t l = (size_t)(nl - start);
	if (l > wb->max)
		return SKY_ERANGE;
	*nl = '\0';
	*line = start;
	*len = l;
	wb->skip += l + 1;
	wb->len -= l + 1;
	return 1;
}

size_t watchbuf_pending(const struct watchbuf *wb)
{
	return wb->len;
}
