#!/usr/bin/env bash
# hack/bench/scale.sh - skydns at scale: start-up, memory, churn, put->answer
# (issue 11's measurement; not in ctest).
#
# For each N in NS (default "10000 100000"), on 127.0.0.1 high ports, with a
# fresh etcd each time (v3 API by default, ETCD3=0 for v2), hack/bench/scale.py
#   - loads N services /skydns/local/skydns/svc/ns<i%10>/svc<i> (v3: 1000-put
#     transactions through the JSON gateway; v2: PUTs on 8 connections) and
#     times etcd's own read of that range (`etcdctl get --prefix /skydns
#     --keys-only=false`, gRPC; v2: GET /v2/keys/skydns?recursive=true; best
#     of 3), and for v3 also through the JSON gateway skydns reads it with
#     (/v3/kv/range, one request / pages of 1000 keys as skydns pages it): the
#     floors for skydns's start-up;
#   - starts skydns and times exec -> the LAST loaded service answers its
#     address (polled every 5 ms, bounded START_BOUND s), then VmRSS;
#   - churns CHURN_SECS (10) s of CHURN_RATE (50) puts/s of existing services
#     with a new address and measures skydns's CPU (utime+stime from
#     /proc/<pid>/stat) from the first put until the last is answered, then
#     VmRSS again;
#   - times PUTS (40) fresh puts, one at a time, from just before the etcd
#     request until the new address is answered (polled every 1 ms, bounded
#     5 s): p50/p90/max.
# Each run prints its details (with spot checks that the answers are right:
# a wrong or stale answer fails the run), then one table row per N.
# etcd's data directory is on /dev/shm (ETCD_DATA_DIR to change) so etcd's
# fsync does not sit in the put->answer times; etcd's own ack time is printed
# beside them. Everything started is stopped by PID on exit.
#
#   hack/bench/scale.sh                       N = 10000 and 100000, etcd v3
#   NS=2000 hack/bench/scale.sh               a quick run
#   NS="10000 100000" ETCD3=0 hack/bench/scale.sh
#   SKYDNS_BIN=build/dns/skydns PUTS=100 hack/bench/scale.sh
#   NS=100000 CHURN_SECS=600 hack/bench/scale.sh   RSS after 10 minutes of churn
# A full NS="10000 100000" run takes about a minute with v3 (the v2 load of
# 100000 keys adds ~20 s).
#
# The poller and the churn writer are one Python process (Debian python3 +
# python3-dnspython) sharing the cores with skydns and etcd: run on a quiet
# machine. hack/bench/bench.sh is the query throughput comparison with NSD.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
NS=${NS:-10000 100000}
ETCD3=${ETCD3:-1}
CHURN_RATE=${CHURN_RATE:-50}
CHURN_SECS=${CHURN_SECS:-10}
PUTS=${PUTS:-40}
START_BOUND=${START_BOUND:-300}
ETCD_DATA_DIR=${ETCD_DATA_DIR:-/dev/shm}
[ -w "$ETCD_DATA_DIR" ] || ETCD_DATA_DIR=${TMPDIR:-/tmp}

if [ -z "${SKYDNS_BIN:-}" ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)" --target skydns >/dev/null
  SKYDNS_BIN=$ROOT/build/dns/skydns
fi
for tool in etcd etcdctl curl; do
  command -v "$tool" >/dev/null || { echo "scale.sh: $tool is missing (hack/deps.sh)" >&2; exit 1; }
done
/usr/bin/python3 -c 'import dns.message' 2>/dev/null ||
  { echo "scale.sh: /usr/bin/python3 lacks dnspython (python3-dnspython)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/skydns-scale.XXXXXX)
child=
cleanup() {
  # scale.py stops its etcd and skydns itself on SIGTERM
  if [ -n "$child" ]; then kill "$child" 2>/dev/null || true; wait "$child" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

api=v3; v2flag=()
[ "$ETCD3" = 1 ] || { api=v2; v2flag=(--v2); }
echo "== scale: N in $NS, etcd $api, $CHURN_RATE changes/s for $CHURN_SECS s, $PUTS fresh puts, $(nproc) cores"
t_all=$SECONDS
for n in $NS; do
  /usr/bin/python3 hack/bench/scale.py --skydns "$SKYDNS_BIN" --n "$n" "${v2flag[@]}" \
    --row "$WORK/rows" --work "$WORK" --data-dir "$ETCD_DATA_DIR" \
    --churn-rate "$CHURN_RATE" --churn-secs "$CHURN_SECS" --puts "$PUTS" \
    --start-bound "$START_BOUND" &
  child=$!
  rc=0; wait "$child" || rc=$?
  child=
  if [ "$rc" != 0 ]; then
    echo "scale.sh: the run for N=$n failed (exit $rc); skydns log, last 10 lines:" >&2
    tail -n 10 "$WORK/skydns-$n.log" 2>/dev/null >&2 || true
    exit 1
  fi
done

echo
echo "== skydns at scale (etcd $api; $((SECONDS - t_all)) s in all)"
{
  printf 'services\tapi\tload s\tetcd range s\tgateway 1 / paged s\tstart->last answers s\tRSS MB\tRSS after churn MB\tCPU %% at %s/s\tput->answer p50 / p90 / max ms\n' "$CHURN_RATE"
  cat "$WORK/rows"
} | column -t -s "$(printf '\t')"
