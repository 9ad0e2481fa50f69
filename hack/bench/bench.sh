#!/usr/bin/env bash
# hack/bench/bench.sh - skydns throughput and latency on loopback (not in ctest).
#
# Starts etcd and skydns on free high ports of 127.0.0.1, loads N services
# (hack/bench/load.py), then runs dnsperf twice against the same query mix:
#   1. throughput: as fast as dnsperf can send, CLIENTS clients, DURATION s;
#   2. latency: a fixed RATE qps with per-query timings -> p50/p90/p99/p99.9.
# With COMPARE=1 (default) NSD serves the same data from a zone file and gets
# the same two runs; the ratio is printed. Everything started is stopped by
# PID on exit.
#
#   hack/bench/bench.sh                       10000 services, v2, 10 s runs
#   N=50000 DURATION=20 ETCD3=1 hack/bench/bench.sh
#   SKYDNS_BIN=build/dns/skydns COMPARE=0 hack/bench/bench.sh
#   TRANSPORT=tcp hack/bench/bench.sh         dnsperf over TCP (-m tcp)
#
# Note: dnsperf shares the machine's cores with the server, so absolute qps
# is a floor; compare servers within one run.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
N=${N:-10000}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-4}
RATE=${RATE:-20000}
ETCD3=${ETCD3:-0}
COMPARE=${COMPARE:-1}
TRANSPORT=${TRANSPORT:-udp}

if [ -z "${SKYDNS_BIN:-}" ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)" --target skydns >/dev/null
  SKYDNS_BIN=$ROOT/build/dns/skydns
fi
for tool in etcd dnsperf dig curl; do
  command -v "$tool" >/dev/null || { echo "bench.sh: $tool is missing (hack/deps.sh)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/skydns-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  /usr/bin/python3 -c 'import socket
for _ in range(50):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p)); u.close(); print(p); break
    except OSError:
        u.close()'
}

# wait_for <seconds> <what> <command...>: bounded polling
wait_for() {
  local secs=$1 what=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= end)); then echo "bench.sh: timed out waiting for $what" >&2; exit 1; fi
    sleep 0.2
  done
}

ETCD_PORT=$(free_port); PEER_PORT=$(free_port); DNS_PORT=$(free_port)
ETCD_URL="http://127.0.0.1:$ETCD_PORT"
etcd --name bench --data-dir "$WORK/etcd" --enable-v2=true --log-level warn \
  --listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
  --listen-peer-urls "http://127.0.0.1:$PEER_PORT" \
  --initial-advertise-peer-urls "http://127.0.0.1:$PEER_PORT" \
  --initial-cluster "bench=http://127.0.0.1:$PEER_PORT" >"$WORK/etcd.log" 2>&1 &
pids+=($!)
wait_for 20 "etcd" curl -sf "$ETCD_URL/health"

t0=$SECONDS
v3flag=(); [ "$ETCD3" = 1 ] && v3flag=(--v3)
/usr/bin/python3 hack/bench/load.py --etcd "$ETCD_URL" --n "$N" "${v3flag[@]}" \
  --queries "$WORK/queries.txt" --zone "$WORK/skydns.local.zone"
echo "load: $N services in $((SECONDS - t0)) s"

skyflags=(-addr "127.0.0.1:$DNS_PORT" -machines "$ETCD_URL" -domain skydns.local.)
[ "$ETCD3" = 1 ] && skyflags+=(-etcd3)
t0=$SECONDS
"$SKYDNS_BIN" "${skyflags[@]}" >"$WORK/skydns.log" 2>&1 &
pids+=($!)
last="svc-$((N - 1)).ns-$(((N - 1) % 100)).skydns.local."
wait_for 120 "skydns to serve $last" \
  sh -c "dig +short +time=1 +tries=1 -p $DNS_PORT @127.0.0.1 $last A | grep -q ."
echo "skydns: serving all $N services $((SECONDS - t0)) s after start (rss $(ps -o rss= -p "${pids[-1]}") KiB)"

# run_perf <label> <port>: prints one result line and sets QPS_<label>
run_perf() {
  local label=$1 port=$2 out qps avg lost
  out=$(dnsperf -m "$TRANSPORT" -s 127.0.0.1 -p "$port" -d "$WORK/queries.txt" -l "$DURATION" -c "$CLIENTS" -q 500 2>&1)
  qps=$(awk '/Queries per second/ {printf "%.0f", $4}' <<<"$out")
  avg=$(awk '/^ *Average Latency/ && !n++ {printf "%.3f", $4 * 1000}' <<<"$out")
  lost=$(awk '/Queries lost/ {print $3, $4}' <<<"$out")
  local codes
  codes=$(awk -F': *' '/Response codes/ {print $2}' <<<"$out")
  # latency at a fixed rate, from dnsperf's per-query lines ("> RCODE name type seconds")
  local pct
  pct=$(dnsperf -m "$TRANSPORT" -s 127.0.0.1 -p "$port" -d "$WORK/queries.txt" -l "$DURATION" -Q "$RATE" -v 2>/dev/null |
    awk '$1 == ">" {print $NF * 1000}' | sort -n |
    awk '{v[NR] = $1} END {
      if (NR == 0) { print "no samples"; exit }
      printf "p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms (%d samples)",
        v[int(NR * .50) + 1], v[int(NR * .90) + 1], v[int(NR * .99) + 1], v[int(NR * .999) + 1], NR }')
  printf '%-7s max %8s qps  avg %s ms  lost %s\n        at %s qps: %s\n        rcodes: %s\n' \
    "$label" "$qps" "$avg" "$lost" "$RATE" "$pct" "$codes"
  printf -v "QPS_$label" '%s' "$qps"
}

echo "== dnsperf over $TRANSPORT: $DURATION s per run, $CLIENTS clients, $(nproc) cores shared with dnsperf"
run_perf skydns "$DNS_PORT"

if grep -qv 'level=info' "$WORK/skydns.log"; then
  echo "skydns log (warnings and errors, first 10):"
  grep -v 'level=info' "$WORK/skydns.log" | head -10
fi

if [ "$COMPARE" = 1 ] && command -v nsd >/dev/null; then
  NSD_PORT=$(free_port)
  mkdir -p "$WORK/nsd"
  cat >"$WORK/nsd/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1@$NSD_PORT
  port: $NSD_PORT
  server-count: $(nproc)
  username: ""
  chroot: ""
  zonesdir: "$WORK"
  database: ""
  zonelistfile: "$WORK/nsd/zone.list"
  pidfile: "$WORK/nsd/nsd.pid"
  xfrdfile: "$WORK/nsd/xfrd.state"
  xfrdir: "$WORK/nsd"
  logfile: "$WORK/nsd/nsd.log"
  rrl-ratelimit: 0
  verbosity: 0
remote-control:
  control-enable: no
zone:
  name: skydns.local.
  zonefile: "$WORK/skydns.local.zone"
EOF
  nsd -d -c "$WORK/nsd/nsd.conf" >"$WORK/nsd/stdout.log" 2>&1 &
  pids+=($!)
  wait_for 60 "nsd" sh -c "dig +short +time=1 +tries=1 -p $NSD_PORT @127.0.0.1 $last A | grep -q ."
  run_perf nsd "$NSD_PORT"
  if [ -n "${QPS_nsd:-}" ] && [ "${QPS_nsd:-0}" != 0 ]; then
    awk -v a="$QPS_skydns" -v b="$QPS_nsd" 'BEGIN {printf "ratio   skydns/nsd max qps = %.2f\n", a / b}'
  fi
fi
