#!/usr/bin/env bash
# hack/test.sh - install what is missing, build, and run every test with ctest.
#   hack/test.sh            normal build (build/), all tests
#   SANITIZE=1 hack/test.sh  ASan+UBSan build (build-asan/), all tests
#   TSAN=1 hack/test.sh -L unit   ThreadSanitizer build (build-tsan/)
set -euo pipefail
cd "$(dirname "$0")/.."
hack/deps.sh

if [ "${SANITIZE:-0}" = 1 ]; then
  dir=build-asan; extra=(-DSKYDNS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:fast_unwind_on_malloc=0"
elif [ "${TSAN:-0}" = 1 ]; then
  dir=build-tsan; extra=(-DSKYDNS_TSAN=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
  export TSAN_OPTIONS=halt_on_error=1:abort_on_error=1:second_deadlock_stack=1
else
  dir=build; extra=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
fi
cmake -S . -B "$dir" -DSKYDNS_WERROR=ON "${extra[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)"
cd "$dir"
ctest --output-on-failure "$@"
