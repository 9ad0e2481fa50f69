/* log.h - the one log format of both daemons.
 *
 *   2026-11-22T04:40:00.123Z level=info comp=etcd msg="watch restarted" member=http://127.0.0.1:2379
 *
 * log_write() takes a printf format for the message part; details are given
 * as a second printf-formatted string of key=value pairs (may be NULL or "").
 * Output goes to stderr (one write(2) per line, so lines from threads never
 * interleave), or to the systemd journal when log_set_journal(true).
 * Thread-safe. Only orchestrators log; leaf modules return error codes.
 */
#ifndef SKYDNS_LOG_H
#define SKYDNS_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

void log_set_level(enum log_level min);
void log_set_journal(bool on);
bool log_enabled(enum log_level lvl);

/* True when stderr is connected to the journal (systemd sets JOURNAL_STREAM
 * to the device:inode of that stream), so native journal logging keeps the
 * levels instead of flattening them. */
bool log_stderr_is_journal(void);

/* comp: component ("etcd", "server", "mirror", "kube"...); msg: printf format;
 * then the arguments. Use log_kv() for key=value details. */
void log_write(enum log_level lvl, const char *comp, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_debug(comp, ...) do { if (log_enabled(LOG_LVL_DEBUG)) log_write(LOG_LVL_DEBUG, comp, __VA_ARGS__); } while (0)
#define log_info(comp, ...) log_write(LOG_LVL_INFO, comp, __VA_ARGS__)
#define log_warn(comp, ...) log_write(LOG_LVL_WARN, comp, __VA_ARGS__)
#define log_error(comp, ...) log_write(LOG_LVL_ERROR, comp, __VA_ARGS__)

#endif
