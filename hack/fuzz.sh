#!/usr/bin/env bash
# hack/fuzz.sh - build the libFuzzer targets (tests/fuzz, clang) in
# build-fuzz/ and run each for a while.
#   hack/fuzz.sh                 every target, 60 s each
#   hack/fuzz.sh 30              every target, 30 s each (what CI runs)
#   hack/fuzz.sh 600 query answer
# Each target runs on a copy of its committed corpus (tests/fuzz/corpus/<t>,
# never grown by this script), so a run leaves the tree as it was, with
# tests/fuzz/dict/<t>.dict (field names, keywords) when there is one. Exits 1
# if any target crashed, leaked, hung or broke a property; the reproducer is
# printed (re-run it with build-fuzz/tests/fuzz/fuzz_<t> <file>). To keep a
# reproducer as a regression input, copy it to tests/fuzz/corpus/<t>/regress-<what>.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL=(query answer service etcd_v2 etcd_v3 k2s_watch k2s_object kubeconfig)
declare -A MAXLEN=([query]=1500 [answer]=8192 [service]=2048 [etcd_v2]=8192 [etcd_v3]=8192
                   [k2s_watch]=8192 [k2s_object]=16384 [kubeconfig]=8192)

secs=${1:-60}
if [ $# -gt 0 ]; then shift; fi
case "$secs" in ''|*[!0-9]*) echo "usage: hack/fuzz.sh [seconds-per-target] [target...]" >&2; exit 2 ;; esac
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${ALL[@]}")
for t in "${targets[@]}"; do
  [ -n "${MAXLEN[$t]:-}" ] || { echo "hack/fuzz.sh: no target '$t' (have: ${ALL[*]})" >&2; exit 2; }
done

command -v clang >/dev/null 2>&1 || hack/deps.sh
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DSKYDNS_FUZZ=ON -DSKYDNS_WERROR=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_all

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp"
failed=()
for t in "${targets[@]}"; do
  run="build-fuzz/fuzz-run/$t"
  rm -rf "$run"
  mkdir -p "$run/corpus" "$run/artifacts"
  cp -R "tests/fuzz/corpus/$t/." "$run/corpus/"
  echo "== fuzz_$t: ${secs}s (corpus $(find "$run/corpus" -type f | wc -l) files, max_len ${MAXLEN[$t]})"
  dict=()
  [ -f "tests/fuzz/dict/$t.dict" ] && dict=(-dict="tests/fuzz/dict/$t.dict")
  rc=0
  # -max_total_time ends the run; timeout(1) is the backstop should the
  # fuzzer itself hang (one input may take up to -timeout seconds).
  timeout -k 10 $((secs + 60)) "build-fuzz/tests/fuzz/fuzz_$t" \
    -max_total_time="$secs" -max_len="${MAXLEN[$t]}" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$run/artifacts/" "${dict[@]}" "$run/corpus" \
    >"$run/log" 2>&1 || rc=$?
  grep -m1 -E '^stat::number_of_executed_units' "$run/log" || true
  crash=$(find "$run/artifacts" -type f | head -1)
  if [ "$rc" -ne 0 ] || [ -n "$crash" ]; then
    failed+=("$t")
    echo "!! fuzz_$t failed (exit $rc); log $run/log:"
    grep -m5 -E 'ERROR|property failed|SUMMARY|runtime error' "$run/log" || tail -20 "$run/log"
    if [ -n "$crash" ]; then
      echo "!! reproducer: $crash (run: build-fuzz/tests/fuzz/fuzz_$t $crash)"
    fi
  fi
done

echo "fuzz: $((${#targets[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
if [ ${#failed[@]} -gt 0 ]; then
  echo "hack/fuzz.sh: failed: ${failed[*]}"
  exit 1
fi
