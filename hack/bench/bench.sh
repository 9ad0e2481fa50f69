#!/usr/bin/env bash
# hack/bench/bench.sh - skydns throughput and latency on loopback (not in ctest).
#
# Starts etcd and skydns on free high ports of 127.0.0.1, loads N services
# (hack/bench/load.py), then runs dnsperf twice against the same query mix
# (60 % A of a service, 30 % SRV, 10 % NXDOMAIN; see load.py):
#   1. throughput: as fast as dnsperf can send, CLIENTS clients, DURATION s;
#   2. latency: a fixed RATE qps with per-query timings -> p50/p90/p99/p99.9.
# With COMPARE=1 (default) NSD serves the same data from a zone file and gets
# the same two runs, in the same sitting; the answers of both to the first
# CHECK queries are compared first (same records, TTLs aside), then the ratio
# is printed. Everything started is stopped by PID on exit.
#
# PIN=1 (default when nproc >= 2): the server under test (skydns with
# WORKERS=1 UDP worker, then NSD with server-count 1) runs pinned with taskset
# to CPU SERVER_CPU (0), dnsperf and etcd to CLIENT_CPU (1). The server's CPU
# time over the throughput run (utime+stime from /proc/<pid>/stat, the
# process and its children, all threads) gives
#   qps per busy core = queries answered / server CPU seconds
# for both servers and the ratio skydns/nsd: the figure that does not depend
# on how much of its core dnsperf leaves free. PIN=0: nothing pinned, skydns
# one worker per CPU, NSD server-count = nproc (the old behaviour); the CPU
# time and qps per busy core are printed too but the cores are shared.
#
#   hack/bench/bench.sh                       10000 services, v2, 10 s runs
#   N=1000 ETCD3=1 hack/bench/bench.sh        issue 11's pinned comparison
#   N=50000 DURATION=20 ETCD3=1 hack/bench/bench.sh
#   SKYDNS_BIN=build/dns/skydns COMPARE=0 hack/bench/bench.sh
#   TRANSPORT=tcp hack/bench/bench.sh         dnsperf over TCP (-m tcp)
#   SRV=ns hack/bench/bench.sh                SRV queries of namespaces
#                                             (directory answers) instead
#
# Note: unpinned, dnsperf shares the machine's cores with the server, so
# absolute qps is a floor; compare servers within one run.
# hack/bench/scale.sh is the scale run (start-up, RSS, churn, put->answer).
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
SRV=${SRV:-svc}
CHECK=${CHECK:-200}
if [ -z "${PIN:-}" ]; then
  if [ "$(nproc)" -ge 2 ]; then PIN=1; else PIN=0; fi
fi
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
server_pin=(); client_pin=()
if [ "$PIN" = 1 ]; then
  command -v taskset >/dev/null || { echo "bench.sh: PIN=1 needs taskset (util-linux)" >&2; exit 1; }
  server_pin=(taskset -c "$SERVER_CPU"); client_pin=(taskset -c "$CLIENT_CPU")
  WORKERS=${WORKERS:-1}
fi
WORKERS=${WORKERS:-0}
HZ=$(getconf CLK_TCK)

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

# free_port: a port free for TCP and UDP on 127.0.0.1, below the kernel's
# ephemeral range (so no client socket is given it meanwhile)
free_port() {
  /usr/bin/python3 -c 'import random, socket
for _ in range(200):
    p = random.randrange(20000, 32000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); s.close()
    except OSError:
        s.close(); continue
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
"${client_pin[@]}" etcd --name bench --data-dir "$WORK/etcd" --enable-v2=true --log-level warn \
  --listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
  --listen-peer-urls "http://127.0.0.1:$PEER_PORT" \
  --initial-advertise-peer-urls "http://127.0.0.1:$PEER_PORT" \
  --initial-cluster "bench=http://127.0.0.1:$PEER_PORT" >"$WORK/etcd.log" 2>&1 &
pids+=($!)
wait_for 20 "etcd" curl -sf "$ETCD_URL/health"

t0=$SECONDS
v3flag=(); [ "$ETCD3" = 1 ] && v3flag=(--v3)
"${client_pin[@]}" /usr/bin/python3 hack/bench/load.py --etcd "$ETCD_URL" --n "$N" "${v3flag[@]}" \
  --srv "$SRV" --queries "$WORK/queries.txt" --zone "$WORK/skydns.local.zone"
echo "load: $N services in $((SECONDS - t0)) s"

skyflags=(-addr "127.0.0.1:$DNS_PORT" -machines "$ETCD_URL" -domain skydns.local. -lameduck 0s
  -workers "$WORKERS")
[ "$ETCD3" = 1 ] && skyflags+=(-etcd3)
t0=$SECONDS
"${server_pin[@]}" "$SKYDNS_BIN" "${skyflags[@]}" >"$WORK/skydns.log" 2>&1 &
pids+=($!)
SKYDNS_PID=$!
last="svc-$((N - 1)).ns-$(((N - 1) % 100)).skydns.local."
wait_for 120 "skydns to serve $last" \
  sh -c "dig +short +time=1 +tries=1 -p $DNS_PORT @127.0.0.1 $last A | grep -q ."
echo "skydns: serving all $N services $((SECONDS - t0)) s after start (rss $(ps -o rss= -p "${pids[-1]}") KiB)"

# cpu_ticks <pid>: utime+stime (clock ticks, all threads) of the process and
# its descendants now alive (NSD's server children and xfrd).
cpu_ticks() {
  local all=$1 frontier=$1 kids
  while [ -n "$frontier" ]; do
    kids=$(ps -o pid= --ppid "$(tr ' ' , <<<"$frontier" | sed 's/,,*/,/g; s/^,//; s/,$//')" 2>/dev/null | tr -s ' \n' ' ' || true)
    kids=${kids# }; kids=${kids% }
    all="$all $kids"; frontier=$kids
  done
  for p in $all; do cat "/proc/$p/stat" 2>/dev/null || true; done |
    awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'
}

# run_perf <label> <port> <pid>: prints the result lines and sets QPS_<label>
# (max qps) and PERCORE_<label> (queries answered per server CPU second)
run_perf() {
  local label=$1 port=$2 pid=$3 out qps avg lost c0 c1 done_q cpu_s percore
  c0=$(cpu_ticks "$pid")
  out=$("${client_pin[@]}" dnsperf -m "$TRANSPORT" -s 127.0.0.1 -p "$port" -d "$WORK/queries.txt" -l "$DURATION" -c "$CLIENTS" -q 500 2>&1)
  c1=$(cpu_ticks "$pid")
  qps=$(awk '/Queries per second/ {printf "%.0f", $4}' <<<"$out")
  done_q=$(awk '/Queries completed/ {print $3}' <<<"$out")
  cpu_s=$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" 'BEGIN {printf "%.2f", (b - a) / hz}')
  percore=$(awk -v q="${done_q:-0}" -v c="$cpu_s" 'BEGIN {if (c > 0) printf "%.0f", q / c; else print 0}')
  avg=$(awk '/^ *Average Latency/ && !n++ {printf "%.3f", $4 * 1000}' <<<"$out")
  lost=$(awk '/Queries lost/ {print $3, $4}' <<<"$out")
  local codes
  codes=$(awk -F': *' '/Response codes/ {print $2}' <<<"$out")
  # latency at a fixed rate, from dnsperf's per-query lines ("> RCODE name type seconds")
  local pct
  pct=$("${client_pin[@]}" dnsperf -m "$TRANSPORT" -s 127.0.0.1 -p "$port" -d "$WORK/queries.txt" -l "$DURATION" -Q "$RATE" -v 2>/dev/null |
    awk '$1 == ">" {print $NF * 1000}' | sort -n |
    awk '{v[NR] = $1} END {
      if (NR == 0) { print "no samples"; exit }
      printf "p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms (%d samples)",
        v[int(NR * .50) + 1], v[int(NR * .90) + 1], v[int(NR * .99) + 1], v[int(NR * .999) + 1], NR }')
  printf '%-7s max %8s qps  avg %s ms  lost %s\n' "$label" "$qps" "$avg" "$lost"
  printf '        server CPU %s s in the %s s run (%s %% of a core): %s queries answered per busy core-second\n' \
    "$cpu_s" "$DURATION" "$(awk -v c="$cpu_s" -v d="$DURATION" 'BEGIN {printf "%.0f", 100 * c / d}')" "$percore"
  printf '        at %s qps: %s\n        rcodes: %s\n' "$RATE" "$pct" "$codes"
  printf -v "QPS_$label" '%s' "$qps"
  printf -v "PERCORE_$label" '%s' "$percore"
}

# answers <port> <name> <type>: rcode and the records of a reply, sorted, TTLs
# and the SOA's fields cut (serial and timers are each server's own)
answers() {
  dig +norec +nocmd +nostats +time=1 +tries=2 -p "$1" @127.0.0.1 "$2" "$3" |
    awk '/->>HEADER<<-/ { print "rcode", $6; next }
      $1 !~ /^;/ && NF >= 5 { $2 = ""; if ($4 == "SOA") NF = 4; print }' | sort
}

if [ "$PIN" = 1 ]; then
  echo "== dnsperf over $TRANSPORT: $DURATION s per run, $CLIENTS clients; server pinned to CPU $SERVER_CPU" \
    "(skydns -workers $WORKERS, NSD server-count 1), dnsperf and etcd to CPU $CLIENT_CPU"
else
  echo "== dnsperf over $TRANSPORT: $DURATION s per run, $CLIENTS clients, $(nproc) cores shared with dnsperf"
fi
run_perf skydns "$DNS_PORT" "$SKYDNS_PID"

if grep -qv 'level=info' "$WORK/skydns.log"; then
  echo "skydns log (warnings and errors, first 10):"
  grep -v 'level=info' "$WORK/skydns.log" | head -10
fi

if [ "$COMPARE" = 1 ] && command -v nsd >/dev/null; then
  NSD_PORT=$(free_port)
  nsd_count=$(nproc); [ "$PIN" = 1 ] && nsd_count=1
  mkdir -p "$WORK/nsd"
  cat >"$WORK/nsd/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1@$NSD_PORT
  port: $NSD_PORT
  server-count: $nsd_count
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
  "${server_pin[@]}" nsd -d -c "$WORK/nsd/nsd.conf" >"$WORK/nsd/stdout.log" 2>&1 &
  pids+=($!)
  NSD_PID=$!
  wait_for 60 "nsd" sh -c "dig +short +time=1 +tries=1 -p $NSD_PORT @127.0.0.1 $last A | grep -q ."
  # same data: the first CHECK queries of the mix answered alike by both
  same=0; differ=0
  while read -r qname qtype; do
    if [ "$(answers "$DNS_PORT" "$qname" "$qtype")" = "$(answers "$NSD_PORT" "$qname" "$qtype")" ]; then
      same=$((same + 1))
    else
      differ=$((differ + 1))
      if [ "$differ" -le 3 ]; then
        echo "answers differ for $qname $qtype:"
        diff <(answers "$DNS_PORT" "$qname" "$qtype") <(answers "$NSD_PORT" "$qname" "$qtype") | sed 's/^/  /' || true
      fi
    fi
  done < <(head -n "$CHECK" "$WORK/queries.txt")
  echo "same data: $same of $((same + differ)) queries answered alike by skydns and NSD (TTLs aside)"
  [ "$differ" = 0 ] || echo "WARNING: the servers answer differently, so the ratios below compare different work"
  run_perf nsd "$NSD_PORT" "$NSD_PID"
  if [ -n "${QPS_nsd:-}" ] && [ "${QPS_nsd:-0}" != 0 ]; then
    awk -v a="$QPS_skydns" -v b="$QPS_nsd" 'BEGIN {printf "ratio   skydns/nsd max qps = %.2f\n", a / b}'
  fi
  if [ "${PERCORE_nsd:-0}" != 0 ]; then
    awk -v a="$PERCORE_skydns" -v b="$PERCORE_nsd" -v p="$PIN" 'BEGIN {
      printf "ratio   skydns/nsd qps per busy core = %.2f (%d vs %d)%s\n", a / b, a, b,
        p == 1 ? "" : " -- unpinned, cores shared with dnsperf" }'
  fi
fi
