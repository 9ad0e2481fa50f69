#!/usr/bin/env bash
# hack/bench/k2s.sh - kube2sky at scale (issue 19; not in ctest): N generated
# Services through the fake API server into etcd v3, answered by skydns.
# See hack/bench/k2s.py for what is measured.
#
#   hack/bench/k2s.sh                        N=1000, 100 events/s for 20 s
#   N=10000 RATE=100 SECS=60 hack/bench/k2s.sh
#   N=10000 RATE=500 SECS=20 hack/bench/k2s.sh
#   N=10000 RATE=100 SECS=600 hack/bench/k2s.sh   10 minutes of churn, RSS every RSS_EVERY (60) s
# BUILD (default build/) must hold dns/skydns and kube2sky/kube2sky.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 hack/bench/k2s.py --build "${BUILD:-build}" --n "${N:-1000}" \
	--rate "${RATE:-100}" --secs "${SECS:-20}" --rss-every "${RSS_EVERY:-60}"
