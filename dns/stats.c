#include "stats.h"

#include <stdio.h>
#include <stdlib.h>

#include "answer.h"
#include "metrics.h"

static const char *const system_names[SYS_COUNT] = { "auth", "cache", "recursive", "reverse", "stub" };
static const char *const cause_names[CAUSE_COUNT] = {
	"truncated", "overflow", "servfail", "refused", "nxdomain", "nodata", "formerr"
};
static const char *const cache_names[CACHE_COUNT] = { "response", "signature" };
static const char *const fwd_names[FWD_COUNT] = { "timeout", "servfail", "mismatch", "network", "allfailed" };
static const char *const tcp_names[TCP_COUNT] = { "timeout", "idle", "evicted", "client_cap", "full" };
static const char *const rate_names[RATE_COUNT] = { "dropped", "slipped", "logged" };
static const char *const skip_names[SKIP_COUNT] = { "bad_json", "bad_name", "bad_host" };

/* SkyDNS's buckets: .001 and .003 ahead of Prometheus's defaults; sizes 0,
 * 512, 1024, 1500, 2048, 4096 then 4 KiB steps up to 64 KiB. */
static const double duration_buckets[] = { .001, .003, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10 };
static const double size_buckets[] = { 0, 512, 1024, 1500, 2048, 4096, 8192, 12288, 16384, 20480,
	24576, 28672, 32768, 36864, 40960, 45056, 49152, 53248, 57344, 61440, 65536 };

struct stats {
	struct metrics *reg;
	struct series *requests[SYS_COUNT], *duration[SYS_COUNT], *size[SYS_COUNT];
	struct series *errors[SYS_COUNT][CAUSE_COUNT];
	struct series *cachemiss[CACHE_COUNT];
	struct series *fwd[FWD_COUNT];
	struct series *tcp[TCP_COUNT];
	struct series *rate[RATE_COUNT];
	struct series *skipped[SKIP_COUNT];
	struct series *acache[2]; /* miss, hit */
	struct series *health[2]; /* filtered, fail_open */
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct stats *stats_new(const char *ns, const char *sub)
{
	struct stats *st = calloc(1, sizeof *st);
	if (!st || !(st->reg = metrics_new(ns, sub))) {
		free(st);
		return NULL;
	}
	struct metric *req = metrics_add(st->reg, METRIC_COUNTER, "dns_request_count_total",
					 "Counter of DNS requests made per system.", NULL, 0);
	struct metric *dur = metrics_add(st->reg, METRIC_HISTOGRAM, "dns_request_duration_seconds",
					 "Histogram of the time (in seconds) each request took to resolve.",
					 duration_buckets, N(duration_buckets));
	struct metric *size = metrics_add(st->reg, METRIC_HISTOGRAM, "dns_response_size_bytes",
					  "Size of the returned response in bytes.", size_buckets,
					  N(size_buckets));
	struct metric *err = metrics_add(st->reg, METRIC_COUNTER, "dns_error_count_total",
					 "Counter of DNS requests resulting in an error.", NULL, 0);
	struct metric *miss = metrics_add(st->reg, METRIC_COUNTER, "dns_cachemiss_count_total",
					  "Counter of DNS requests that result in a cache miss.", NULL, 0);
	struct metric *fwd = metrics_add(st->reg, METRIC_COUNTER, "forward_error_count_total",
					 "Counter of failed upstream queries by cause.", NULL, 0);
	struct metric *tcp = metrics_add(st->reg, METRIC_COUNTER, "tcp_connections_closed_total",
					 "TCP connections closed or refused by the server's limits, by reason.",
					 NULL, 0);
	struct metric *rate = metrics_add(st->reg, METRIC_COUNTER, "rrl_responses_total",
					  "UDP replies over the response rate limit, by what was done with them.",
					  NULL, 0);
	struct metric *skip = metrics_add(st->reg, METRIC_COUNTER, "mirror_skipped_keys_total",
					  "etcd keys left out of the records, by reason.", NULL, 0);
	struct metric *ac = metrics_add(st->reg, METRIC_COUNTER, "answer_cache_lookups_total",
					"Queries looked up in the cache of finished replies, by result.",
					NULL, 0);
	st->acache[0] = metrics_series(ac, "result=\"miss\"");
	st->acache[1] = metrics_series(ac, "result=\"hit\"");
	struct metric *ha = metrics_add(st->reg, METRIC_COUNTER, "health_answers_total",
					"Answers that health marks shaped: DOWN addresses left out "
					"(filtered), or all DOWN and served (fail_open).", NULL, 0);
	st->health[0] = metrics_series(ha, "outcome=\"filtered\"");
	st->health[1] = metrics_series(ha, "outcome=\"fail_open\"");
	char label[96];
	for (int s = 0; s < SYS_COUNT; s++) {
		snprintf(label, sizeof label, "system=\"%s\"", system_names[s]);
		st->requests[s] = metrics_series(req, label);
		st->duration[s] = metrics_series(dur, label);
		st->size[s] = metrics_series(size, label);
		for (int c = 0; c < CAUSE_COUNT; c++) {
			snprintf(label, sizeof label, "system=\"%s\",cause=\"%s\"", system_names[s],
				 cause_names[c]);
			st->errors[s][c] = metrics_series(err, label);
		}
	}
	for (int c = 0; c < CACHE_COUNT; c++) {
		snprintf(label, sizeof label, "cache=\"%s\"", cache_names[c]);
		st->cachemiss[c] = metrics_series(miss, label);
	}
	for (int c = 0; c < FWD_COUNT; c++) {
		snprintf(label, sizeof label, "cause=\"%s\"", fwd_names[c]);
		st->fwd[c] = metrics_series(fwd, label);
	}
	for (int r = 0; r < TCP_COUNT; r++) {
		snprintf(label, sizeof label, "reason=\"%s\"", tcp_names[r]);
		st->tcp[r] = metrics_series(tcp, label);
	}
	for (int a = 0; a < RATE_COUNT; a++) {
		snprintf(label, sizeof label, "action=\"%s\"", rate_names[a]);
		st->rate[a] = metrics_series(rate, label);
	}
	for (int r = 0; r < SKIP_COUNT; r++) {
		snprintf(label, sizeof label, "reason=\"%s\"", skip_names[r]);
		st->skipped[r] = metrics_series(skip, label);
	}
	return st;
}

void stats_free(struct stats *st)
{
	if (!st)
		return;
	metrics_free(st->reg);
	free(st);
}

struct metrics *stats_registry(struct stats *st) { return st ? st->reg : NULL; }

void stats_reply(struct stats *st, enum stat_system sys, double seconds, size_t size, int rcode,
		 bool truncated, bool empty)
{
	if (!st || sys >= SYS_COUNT)
		return;
	series_add(st->requests[sys], 1);
	series_observe(st->duration[sys], seconds);
	series_observe(st->size[sys], (double)size);
	int cause = -1;
	switch (rcode) {
	case RCODE_SERVFAIL: cause = CAUSE_SERVFAIL; break;
	case RCODE_REFUSED: cause = CAUSE_REFUSED; break;
	case RCODE_NXDOMAIN: cause = CAUSE_NXDOMAIN; break;
	case RCODE_FORMERR: cause = CAUSE_FORMERR; break;
	case RCODE_NOERROR: cause = empty ? CAUSE_NODATA : -1; break;
	}
	if (cause >= 0)
		series_add(st->errors[sys][cause], 1);
	if (truncated)
		series_add(st->errors[sys][CAUSE_TRUNCATED], 1);
}

void stats_health(struct stats *st, bool filtered, bool fail_open)
{
	if (st && filtered)
		series_add(st->health[0], 1);
	if (st && fail_open)
		series_add(st->health[1], 1);
}

void stats_answer_cache(struct stats *st, bool hit)
{
	if (st)
		series_add(st->acache[hit], 1);
}

void stats_cache_miss(struct stats *st, enum stat_cache which)
{
	if (st && which < CACHE_COUNT)
		series_add(st->cachemiss[which], 1);
}

void stats_forward_error(struct stats *st, enum stat_fwd cause)
{
	if (st && cause < FWD_COUNT)
		series_add(st->fwd[cause], 1);
}

void stats_tcp_closed(struct stats *st, enum stat_tcp reason)
{
	if (st && reason < TCP_COUNT)
		series_add(st->tcp[reason], 1);
}

void stats_rrl(struct stats *st, enum stat_rate action)
{
	if (st && action < RATE_COUNT)
		series_add(st->rate[action], 1);
}

void stats_key_skipped(struct stats *st, enum stat_skip reason)
{
	if (st && reason < SKIP_COUNT)
		series_add(st->skipped[reason], 1);
}

const char *stats_skip_name(enum stat_skip reason)
{
	return reason < SKIP_COUNT ? skip_names[reason] : "unknown";
}
