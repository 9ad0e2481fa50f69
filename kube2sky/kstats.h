/* kstats.h - kube2sky's Prometheus metrics (issue 7).
 *
 *   <ns>_<sub>_objects_watched{resource}                 gauge
 *   <ns>_<sub>_relists_total{resource,reason}            counter  reason: start|expired|error
 *   <ns>_<sub>_watch_restarts_total{resource,reason}     counter  reason: closed|error|stalled
 *   <ns>_<sub>_api_errors_total{resource,op}             counter  op: list|watch
 *   <ns>_<sub>_etcd_writes_total{op}                     counter  op: put|delete
 *   <ns>_<sub>_etcd_write_failures_total{op}             counter
 *   <ns>_<sub>_keys_owned                                gauge
 *   <ns>_<sub>_last_sync_timestamp_seconds               gauge (Unix time)
 *   <ns>_<sub>_event_to_write_seconds                    histogram
 *   <ns>_<sub>_records_skipped_total                     counter (invalid names/ports/IPs)
 *   <ns>_<sub>_etcd_store_lost_total                     counter (zone marker gone: rewrote all)
 *   <ns>_<sub>_etcd_requests_total                       counter (HTTP requests; v3: a txn = many writes)
 *   <ns>_<sub>_queue_length                              gauge (services waiting to be written)
 *   <ns>_<sub>_queue_wait_seconds                        histogram (changed -> taken by the writer)
 *
 * resource is one of "services", "endpointslices", "endpoints" (the
 * informer's names); any other name is ignored. Every series is created by
 * kstats_new(), so updates are lock-free atomic adds; a NULL struct kstats *
 * is accepted everywhere (metrics off). The default prefix is "kube2sky_"
 * (ns "kube2sky", sub "").
 */
#ifndef K2S_KSTATS_H
#define K2S_KSTATS_H

#include <stddef.h>

struct metrics;

enum kstats_relist { KRELIST_START, KRELIST_EXPIRED, KRELIST_ERROR, KRELIST_COUNT };
enum kstats_rewatch { KREWATCH_CLOSED, KREWATCH_ERROR, KREWATCH_STALLED, KREWATCH_COUNT };
enum kstats_api_op { KAPI_LIST, KAPI_WATCH, KAPI_COUNT };
enum kstats_etcd_op { KETCD_PUT, KETCD_DELETE, KETCD_COUNT };

struct kstats;

/* NULL on ENOMEM. */
struct kstats *kstats_new(const char *ns, const char *sub);
void kstats_free(struct kstats *st);
/* The registry to render (owned by st). */
struct metrics *kstats_registry(struct kstats *st);

void kstats_objects(struct kstats *st, const char *resource, size_t n);
void kstats_relist(struct kstats *st, const char *resource, enum kstats_relist why);
void kstats_rewatch(struct kstats *st, const char *resource, enum kstats_rewatch why);
void kstats_api_error(struct kstats *st, const char *resource, enum kstats_api_op op);
/* n writes done / n failed with op. */
void kstats_etcd(struct kstats *st, enum kstats_etcd_op op, unsigned long done, unsigned long failed);
void kstats_keys(struct kstats *st, size_t n);
void kstats_synced(struct kstats *st, double unix_time);
void kstats_event_to_write(struct kstats *st, double seconds);
/* n records skipped (each counted when first seen, not on every resync). */
void kstats_skipped(struct kstats *st, unsigned long n);
void kstats_store_lost(struct kstats *st);
void kstats_etcd_requests(struct kstats *st, unsigned long n);
void kstats_queue(struct kstats *st, size_t len);
void kstats_queue_wait(struct kstats *st, double seconds);

#endif
