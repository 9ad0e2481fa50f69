/* stats.h - skydns's metrics: SkyDNS's names and labels (master) plus what
 * an operator of this design needs (etcd state, snapshot, forwarders).
 *
 *   <ns>_<sub>_dns_request_count_total{system}          counter
 *   <ns>_<sub>_dns_request_duration_seconds{system}     histogram
 *   <ns>_<sub>_dns_response_size_bytes{system}          histogram
 *   <ns>_<sub>_dns_error_count_total{system,cause}      counter
 *   <ns>_<sub>_dns_cachemiss_count_total{cache}         counter
 *   <ns>_<sub>_forward_error_count_total{cause}         counter
 *   <ns>_<sub>_tcp_connections_closed_total{reason}     counter (by the server's limits)
 *   <ns>_<sub>_rrl_responses_total{action}              counter (UDP replies over rrl_rate:
 *                                                       dropped, slipped = sent TC, logged =
 *                                                       sent in log-only mode)
 *   <ns>_<sub>_mirror_skipped_keys_total{reason}        counter (etcd keys left out)
 *   <ns>_<sub>_health_answers_total{outcome}            counter (answers that left DOWN
 *                                                       addresses out: filtered; that served
 *                                                       them as every one was DOWN: fail_open)
 *   <ns>_<sub>_answer_cache_lookups_total{result}       counter (finished replies reused:
 *                                                       hit, miss; queries that reach the
 *                                                       snapshot, not forwarded ones)
 *   <ns>_<sub>_etcd_connected, _snapshot_revision, _snapshot_age_seconds,
 *   _records_loaded, _health_down_addresses              gauges (from callbacks)
 *
 * All updates are lock-free; a NULL struct stats * is accepted everywhere
 * (metrics off).
 */
#ifndef SKYDNS_STATS_H
#define SKYDNS_STATS_H

#include <stdbool.h>
#include <stddef.h>

struct metrics;

enum stat_system { SYS_AUTH, SYS_CACHE, SYS_RECURSIVE, SYS_REVERSE, SYS_STUB, SYS_COUNT };
enum stat_cause {
	CAUSE_TRUNCATED, CAUSE_OVERFLOW, CAUSE_SERVFAIL, CAUSE_REFUSED, CAUSE_NXDOMAIN,
	CAUSE_NODATA, CAUSE_FORMERR, CAUSE_COUNT
};
enum stat_cache { CACHE_RESPONSE, CACHE_SIGNATURE, CACHE_COUNT };
enum stat_fwd { FWD_TIMEOUT, FWD_SERVFAIL, FWD_MISMATCH, FWD_NETWORK, FWD_ALLFAILED, FWD_COUNT };
/* Why the server closed or refused a TCP connection (RFC 7766 §6.2 limits). */
enum stat_tcp { TCP_TIMEOUT, TCP_IDLE, TCP_EVICTED, TCP_CLIENT_CAP, TCP_FULL, TCP_COUNT };
/* What response-rate limiting did with a reply over the rate (rrl.h). */
enum stat_rate { RATE_DROPPED, RATE_SLIPPED, RATE_LOGGED, RATE_COUNT };
/* Why the mirror left an etcd key out of the snapshot: its value is not
 * service JSON, its key is not a DNS name, its host is neither an address
 * nor a name. */
enum stat_skip { SKIP_BAD_JSON, SKIP_BAD_NAME, SKIP_BAD_HOST, SKIP_COUNT };

struct stats;

/* ns/sub: PROMETHEUS_NAMESPACE / PROMETHEUS_SUBSYSTEM. NULL on ENOMEM. */
struct stats *stats_new(const char *ns, const char *sub);
void stats_free(struct stats *st);
struct metrics *stats_registry(struct stats *st);

/* One reply sent: its system, duration, size, rcode, whether TC was set and
 * whether it had no answer records (NODATA when rcode is NOERROR). */
void stats_reply(struct stats *st, enum stat_system sys, double seconds, size_t size, int rcode,
		 bool truncated, bool empty);
void stats_cache_miss(struct stats *st, enum stat_cache which);
void stats_forward_error(struct stats *st, enum stat_fwd cause);
void stats_tcp_closed(struct stats *st, enum stat_tcp reason);
void stats_rrl(struct stats *st, enum stat_rate action);
/* A computed answer (not a cached reply) that health marks shaped. */
void stats_health(struct stats *st, bool filtered, bool fail_open);
/* A query looked up in its worker's reply cache (acache.h). */
void stats_answer_cache(struct stats *st, bool hit);
/* A key skipped (counted once per version of the key, when first seen). */
void stats_key_skipped(struct stats *st, enum stat_skip reason);
/* "bad_json", "bad_name", "bad_host" (the metric's label values). */
const char *stats_skip_name(enum stat_skip reason);

#endif
