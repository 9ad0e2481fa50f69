#!/usr/bin/env bash
# hack/deps.sh - install (apt) whatever the build, the run script and the
# tests need and is not there yet. Idempotent; a no-op when all is present.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config
  # hack/fuzz.sh: libFuzzer needs clang and its runtime (only Recommended by clang)
  clang libclang-rt-dev
  libcurl4-openssl-dev libcjson-dev libldns-dev libyaml-dev libssl-dev libsystemd-dev libmicrohttpd-dev
  etcd-server etcd-client
  dnsutils knot-dnsutils ldnsutils bind9-utils dnsperf
  unbound nsd systemd
  python3 python3-dnspython python3-pytest python3-prometheus-client python3-yaml
  curl iproute2 procps util-linux valgrind
  # cmake/install.cmake and it_package: cpack's Depends (dpkg-shlibdeps), gzip'd man pages read back
  dpkg-dev gzip groff-base man-db
  # deploy tests: hack/helm-render (Go text/template + sprig, as helm) and its schema check
  golang-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev golang-github-xeipuuv-gojsonschema-dev shellcheck
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "hack/deps.sh: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# deploy tests: node + npm (kubernetes-models validation). A nodejs from
# another source already ships npm; only pull Debian's when npm is absent.
if ! command -v npm >/dev/null 2>&1; then
  echo "hack/deps.sh: installing nodejs npm" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
