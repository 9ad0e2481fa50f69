#!/usr/bin/env bash
# hack/run.sh - the main job: install what is missing, build, start a local
# etcd on loopback (data under .run/), load the SkyDNS README's example
# records, start skydns on 127.0.0.1:5354 and print dig queries to try.
# Ctrl-C stops everything it started.
#
#   hack/run.sh            interactive: runs until Ctrl-C
#   hack/run.sh --smoke    runs the example queries, checks them, stops (used by the tests)
#   ETCD3=1 hack/run.sh    the same through etcd's v3 API
#   SKYDNS_ARGS="-verbose" hack/run.sh   extra skydns flags
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SMOKE=0
[ "${1:-}" = "--smoke" ] && SMOKE=1

DNS_PORT=${DNS_PORT:-5354}
ETCD_PORT=${ETCD_PORT:-23790}
PEER_PORT=${PEER_PORT:-23800}
ETCD_URL="http://127.0.0.1:$ETCD_PORT"
RUNDIR=${RUNDIR:-$ROOT/.run}

if [ -z "${SKYDNS_BIN:-}" ]; then
  hack/deps.sh
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)" --target skydns >/dev/null
  SKYDNS_BIN=$ROOT/build/dns/skydns
fi

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$RUNDIR"
rm -rf "$RUNDIR/etcd"
etcd --name run --data-dir "$RUNDIR/etcd" --enable-v2=true --log-level warn \
  --listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
  --listen-peer-urls "http://127.0.0.1:$PEER_PORT" \
  --initial-advertise-peer-urls "http://127.0.0.1:$PEER_PORT" \
  --initial-cluster "run=http://127.0.0.1:$PEER_PORT" >"$RUNDIR/etcd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  curl -fsS "$ETCD_URL/health" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$ETCD_URL/health" >/dev/null || { echo "etcd did not start; see $RUNDIR/etcd.log" >&2; exit 1; }

put() { # key json  (the SkyDNS README's own curl form, v2 keys API)
  curl -fsS -XPUT "$ETCD_URL/v2/keys/skydns/$1" --data-urlencode "value=$2" >/dev/null
}
# The SkyDNS README's examples
put local/skydns/east/production/rails/1 '{"host":"service1.example.com","port":8080}'
put local/skydns/west/production/rails/2 '{"host":"service2.example.com","port":8080}'
put local/skydns/east/staging/rails/4 '{"host":"10.0.1.125","port":8080}'
put local/skydns/east/staging/rails/6 '{"host":"2003::8:1","port":8080}'
put local/skydns/dns/ns/ns1 '{"host":"172.16.0.1"}'
put local/skydns/service1 '{"host":"10.0.2.15","port":8080}'
put local/skydns/east/production/web/1 '{"host":"service1.skydns.local","port":8080}'
put local/skydns/mail/mx1 '{"host":"10.0.3.1","mail":true,"priority":10}'
put local/skydns/info '{"text":"hello from skydns"}'
put arpa/in-addr/10/0/1/125 '{"host":"4.rails.staging.east.skydns.local"}'

args=(-addr "127.0.0.1:$DNS_PORT" -machines "$ETCD_URL" -domain skydns.local.)
[ "${ETCD3:-0}" = 1 ] && args+=(-etcd3)
# The smoke run stays on loopback: no forwarding to the machine's resolvers.
[ "$SMOKE" = 1 ] && args+=(-no-rec)
# shellcheck disable=SC2206 # extra flags, split on purpose
args+=(${SKYDNS_ARGS:-})
"$SKYDNS_BIN" "${args[@]}" 2>"$RUNDIR/skydns.log" &
pids+=($!)

examples=(
  "SRV 1.rails.production.east.skydns.local"
  "SRV east.skydns.local"
  "A 4.rails.staging.east.skydns.local"
  "SRV staging.east.skydns.local"
  "A staging.east.skydns.local"
  "A web.production.east.skydns.local"
  "MX mail.skydns.local"
  "TXT info.skydns.local"
  "NS skydns.local"
  "SRV staging.*.skydns.local"
  "PTR 125.1.0.10.in-addr.arpa"
  "A nothere.skydns.local"
)
for _ in $(seq 100); do
  dig +short +time=1 +tries=1 @127.0.0.1 -p "$DNS_PORT" SOA skydns.local 2>/dev/null | grep -q . && break
  sleep 0.1
done

if [ "$SMOKE" = 1 ]; then
  fail=0
  expect() { # type name grep-pattern
    out=$(dig +noall +answer +additional +time=6 +tries=1 @127.0.0.1 -p "$DNS_PORT" "$1" "$2")
    if grep -q -- "$3" <<<"$out"; then echo "ok   $1 $2"; else echo "FAIL $1 $2: $out"; fail=1; fi
  }
  expect SRV 1.rails.production.east.skydns.local "SRV.*10 100 8080 service1.example.com."
  expect SRV east.skydns.local "4.rails.staging.east.skydns.local. .*A.*10.0.1.125"
  expect A 4.rails.staging.east.skydns.local "A.*10.0.1.125"
  expect SRV staging.east.skydns.local "SRV.*10 50 8080 6.rails.staging.east.skydns.local."
  expect A web.production.east.skydns.local "CNAME.*service1.skydns.local."
  expect NS skydns.local "ns1.ns.dns.skydns.local."
  expect TXT info.skydns.local "hello from skydns"
  expect PTR 125.1.0.10.in-addr.arpa "4.rails.staging.east.skydns.local."
  if [ "$fail" = 0 ]; then echo "1 passed, 0 failed"; exit 0; fi
  echo "0 passed, 1 failed"
  exit 1
fi

cat <<MSG

skydns is answering on 127.0.0.1:$DNS_PORT for skydns.local. (etcd at $ETCD_URL, logs in $RUNDIR/).
Try:
MSG
for e in "${examples[@]}"; do
  # shellcheck disable=SC2086 # "TYPE NAME" split on purpose
  set -- $e
  echo "  dig @127.0.0.1 -p $DNS_PORT $1 $2"
done
cat <<MSG

Add a record and query it right away (no restart):
  curl -XPUT $ETCD_URL/v2/keys/skydns/local/skydns/new/a -d value='{"host":"10.9.9.9"}'
  dig @127.0.0.1 -p $DNS_PORT A a.new.skydns.local

Ctrl-C stops skydns and etcd.
MSG
wait "${pids[1]}"
