/* metrics.h - a small Prometheus registry (text exposition format 0.0.4).
 *
 * Metrics and their label sets are registered up front (or lazily, under a
 * mutex, off the hot path); the hot path only does relaxed atomic adds on a
 * `struct series *`, so workers never lock. Names are built as
 * <namespace>_<subsystem>_<name> like SkyDNS's (either part may be "").
 *
 * Ownership: the registry owns every metric and series; handles stay valid
 * until metrics_free().
 */
#ifndef SKYDNS_METRICS_H
#define SKYDNS_METRICS_H

#include <stddef.h>
#include <stdint.h>

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metrics;
struct metric;
struct series;

struct metrics *metrics_new(const char *ns, const char *subsystem);
void metrics_free(struct metrics *r);

/* Register a metric. buckets/nbuckets only for histograms (upper bounds,
 * ascending; +Inf is implicit). NULL on ENOMEM. */
struct metric *metrics_add(struct metrics *r, enum metric_type type, const char *name,
			   const char *help, const double *buckets, size_t nbuckets);

/* The series of `m` with this label text (`system="auth",cause="nxdomain"`,
 * "" for none): created on first use. Thread-safe; cache the result. */
struct series *metrics_series(struct metric *m, const char *labels);

void series_add(struct series *s, uint64_t n);      /* counter */
void series_set(struct series *s, double v);        /* gauge */
void series_observe(struct series *s, double v);    /* histogram */

/* A gauge computed at scrape time: fn(arg) is called while rendering. */
int metrics_add_gauge_fn(struct metrics *r, const char *name, const char *help,
			 double (*fn)(void *arg), void *arg);
/* The same for a counter kept elsewhere (fn must never go down). */
int metrics_add_counter_fn(struct metrics *r, const char *name, const char *help,
			   double (*fn)(void *arg), void *arg);

/* Render everything into a malloc'd NUL-terminated buffer (*len set);
 * NULL on ENOMEM. */
char *metrics_render(struct metrics *r, size_t *len);

/* Current value of a counter/gauge series (tests, health). */
double series_value(const struct series *s);

#endif
