#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

static _Atomic int min_level = LOG_LVL_INFO;
static _Atomic bool to_journal;

static const char *const level_names[] = { "debug", "info", "warn", "error" };
static const int journal_prio[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR };

void log_set_level(enum log_level min) { min_level = min; }
void log_set_journal(bool on) { to_journal = on; }
bool log_enabled(enum log_level lvl) { return (int)lvl >= min_level; }

bool log_stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_write(enum log_level lvl, const char *comp, const char *fmt, ...)
{
	if (!log_enabled(lvl))
		return;
	char body[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(body, sizeof body, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;

	if (to_journal) {
		sd_journal_send("MESSAGE=%s: %s", comp, body, "PRIORITY=%d", journal_prio[lvl],
				"SYSLOG_IDENTIFIER=%s", comp, NULL);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char line[2300];
	int len = snprintf(line, sizeof line,
			   "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s comp=%s %s\n",
			   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			   tm.tm_sec, ts.tv_nsec / 1000000, level_names[lvl], comp, body);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof line) {
		len = sizeof line - 1;
		line[len - 1] = '\n';
	}
	ssize_t w = write(STDERR_FILENO, line, (size_t)len);
	(void)w;
}
