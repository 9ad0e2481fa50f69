#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define MAX_BUCKETS 32

struct series {
	struct series *next;
	const struct metric *metric;
	char *labels;
	_Atomic uint64_t count;            /* counter value, histogram count */
	_Atomic uint64_t gauge_bits;       /* gauge: a double's bits */
	_Atomic uint64_t sum_micros;       /* histogram sum, in millionths */
	_Atomic uint64_t buckets[MAX_BUCKETS];
};

struct metric {
	struct metric *next;
	struct metrics *reg;
	enum metric_type type;
	char *name, *help;
	double bounds[MAX_BUCKETS];
	size_t nbounds;
	double (*fn)(void *);
	void *arg;
	struct series *_Atomic head;
};

struct metrics {
	pthread_mutex_t lock; /* registration only; never on the hot path */
	char prefix[160];
	struct metric *head, **tail;
};

struct metrics *metrics_new(const char *ns, const char *subsystem)
{
	struct metrics *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	r->tail = &r->head;
	const char *parts[2] = { ns ? ns : "", subsystem ? subsystem : "" };
	for (int i = 0; i < 2; i++) {
		if (!parts[i][0])
			continue;
		size_t n = strlen(r->prefix);
		snprintf(r->prefix + n, sizeof r->prefix - n, "%s_", parts[i]);
	}
	return r;
}

void metrics_free(struct metrics *r)
{
	if (!r)
		return;
	for (struct metric *m = r->head, *mn; m; m = mn) {
		mn = m->next;
		for (struct series *s = m->head, *sn; s; s = sn) {
			sn = s->next;
			free(s->labels);
			free(s);
		}
		free(m->name);
		free(m->help);
		free(m);
	}
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static struct metric *metric_new(struct metrics *r, enum metric_type type, const char *name,
				 const char *help)
{
	struct metric *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	size_t len = strlen(r->prefix) + strlen(name) + 1;
	m->name = malloc(len);
	m->help = strdup(help ? help : "");
	if (!m->name || !m->help) {
		free(m->name);
		free(m->help);
		free(m);
		return NULL;
	}
	snprintf(m->name, len, "%s%s", r->prefix, name);
	m->reg = r;
	m->type = type;
	pthread_mutex_lock(&r->lock);
	*r->tail = m;
	r->tail = &m->next;
	pthread_mutex_unlock(&r->lock);
	return m;
}

struct metric *metrics_add(struct metrics *r, enum metric_type type, const char *name,
			   const char *help, const double *buckets, size_t nbuckets)
{
	if (nbuckets > MAX_BUCKETS)
		nbuckets = MAX_BUCKETS;
	struct metric *m = metric_new(r, type, name, help);
	if (m && type == METRIC_HISTOGRAM) {
		memcpy(m->bounds, buckets, nbuckets * sizeof *buckets);
		m->nbounds = nbuckets;
	}
	return m;
}

static int add_fn(struct metrics *r, enum metric_type type, const char *name, const char *help,
		  double (*fn)(void *arg), void *arg)
{
	struct metric *m = metric_new(r, type, name, help);
	if (!m)
		return SKY_ENOMEM;
	m->fn = fn;
	m->arg = arg;
	return SKY_OK;
}

int metrics_add_gauge_fn(struct metrics *r, const char *name, const char *help,
			 double (*fn)(void *arg), void *arg)
{
	return add_fn(r, METRIC_GAUGE, name, help, fn, arg);
}

int metrics_add_counter_fn(struct metrics *r, const char *name, const char *help,
			   double (*fn)(void *arg), void *arg)
{
	return add_fn(r, METRIC_COUNTER, name, help, fn, arg);
}

struct series *metrics_series(struct metric *m, const char *labels)
{
	if (!m)
		return NULL;
	labels = labels ? labels : "";
	for (struct series *s = atomic_load(&m->head); s; s = s->next)
		if (strcmp(s->labels, labels) == 0)
			return s;
	pthread_mutex_lock(&m->reg->lock);
	struct series *s;
	for (s = atomic_load(&m->head); s; s = s->next)
		if (strcmp(s->labels, labels) == 0)
			break;
	if (!s) {
		s = calloc(1, sizeof *s);
		if (s && !(s->labels = strdup(labels))) {
			free(s);
			s = NULL;
		}
		if (s) {
			s->metric = m;
			s->next = atomic_load(&m->head);
			atomic_store(&m->head, s); /* publish after init (seq_cst) */
		}
	}
	pthread_mutex_unlock(&m->reg->lock);
	return s;
}

void series_add(struct series *s, uint64_t n)
{
	if (s)
		atomic_fetch_add_explicit(&s->count, n, memory_order_relaxed);
}

void series_set(struct series *s, double v)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof bits);
	if (s)
		atomic_store_explicit(&s->gauge_bits, bits, memory_order_relaxed);
}

void series_observe(struct series *s, double v)
{
	if (!s)
		return;
	const struct metric *m = s->metric;
	size_t i = 0;
	while (i < m->nbounds && v > m->bounds[i])
		i++;
	if (i < m->nbounds)
		atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
	if (v > 0)
		atomic_fetch_add_explicit(&s->sum_micros, (uint64_t)llround(v * 1e6),
					  memory_order_relaxed);
}

double series_value(const struct series *s)
{
	if (!s)
		return 0;
	uint64_t bits = atomic_load_explicit(&((struct series *)s)->gauge_bits, memory_order_relaxed);
	if (bits) {
		double d;
		memcpy(&d, &bits, sizeof d);
		return d;
	}
	return (double)atomic_load_explicit(&((struct series *)s)->count, memory_order_relaxed);
}

/* A growable output buffer for rendering. */
struct out {
	char *buf;
	size_t len, cap;
	int err;
};

static void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(struct out *o, const char *fmt, ...)
{
	for (;;) {
		if (o->err)
			return;
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->err = SKY_EINVAL;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = (o->cap + (size_t)n + 1) * 2;
		char *nb = realloc(o->buf, cap);
		if (!nb) {
			o->err = SKY_ENOMEM;
			return;
		}
		o->buf = nb;
		o->cap = cap;
	}
}

/* Label text for a histogram line: the series labels plus le="...". */
static void bucket_line(struct out *o, const struct metric *m, const struct series *s,
			const char *le, uint64_t v)
{
	out_printf(o, "%s_bucket{%s%sle=\"%s\"} %llu\n", m->name, s->labels,
		   s->labels[0] ? "," : "", le, (unsigned long long)v);
}

static void render_histogram(struct out *o, const struct metric *m, const struct series *s)
{
	uint64_t cum = 0;
	for (size_t i = 0; i < m->nbounds; i++) {
		char le[32];
		snprintf(le, sizeof le, "%g", m->bounds[i]);
		cum += atomic_load_explicit(&((struct series *)s)->buckets[i], memory_order_relaxed);
		bucket_line(o, m, s, le, cum);
	}
	uint64_t count = atomic_load_explicit(&((struct series *)s)->count, memory_order_relaxed);
	bucket_line(o, m, s, "+Inf", count);
	double sum = (double)atomic_load_explicit(&((struct series *)s)->sum_micros,
						  memory_order_relaxed) / 1e6;
	const char *open = s->labels[0] ? "{" : "", *close = s->labels[0] ? "}" : "";
	out_printf(o, "%s_sum%s%s%s %.6f\n", m->name, open, s->labels, close, sum);
	out_printf(o, "%s_count%s%s%s %llu\n", m->name, open, s->labels, close,
		   (unsigned long long)count);
}

static const char *const type_names[] = { "counter", "gauge", "histogram" };

char *metrics_render(struct metrics *r, size_t *len)
{
	struct out o = { 0 };
	pthread_mutex_lock(&r->lock);
	for (const struct metric *m = r->head; m; m = m->next) {
		out_printf(&o, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name,
			   type_names[m->type]);
		if (m->fn) {
			out_printf(&o, "%s %.17g\n", m->name, m->fn(m->arg));
			continue;
		}
		for (const struct series *s = atomic_load(&((struct metric *)m)->head); s; s = s->next) {
			const char *open = s->labels[0] ? "{" : "", *close = s->labels[0] ? "}" : "";
			if (m->type == METRIC_HISTOGRAM)
				render_histogram(&o, m, s);
			else if (m->type == METRIC_GAUGE)
				out_printf(&o, "%s%s%s%s %.17g\n", m->name, open, s->labels, close,
					   series_value(s));
			else
				out_printf(&o, "%s%s%s%s %llu\n", m->name, open, s->labels, close,
					   (unsigned long long)atomic_load_explicit(
						   &((struct series *)s)->count, memory_order_relaxed));
		}
	}
	pthread_mutex_unlock(&r->lock);
	if (o.err || !o.buf) {
		free(o.buf);
		if (!o.err && (o.buf = strdup(""))) {
			*len = 0;
			return o.buf;
		}
		return NULL;
	}
	*len = o.len;
	return o.buf;
}
