#!/usr/bin/env bash
# tests/deploy/run.sh TEST_FILE... - ctest entry for the deploy tests.
# Installs the npm packages into tests/deploy/node_modules (npm ci from
# package-lock.json: the only step that may use the network), builds
# hack/helm-render offline against Debian's Go packages, then runs the given
# node:test files. Every step is bounded in time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${SKYDNS_BUILD:-$root/build}/deploy-test
mkdir -p "$work"

fail() { echo "tests/deploy/run.sh: $*" >&2; exit 1; }
for tool in node npm go; do
	command -v "$tool" >/dev/null || fail "$tool not found: run hack/deps.sh"
done

(
	# Two ctest entries may set up at once: one at a time.
	flock -w 600 9 || fail "timed out waiting for the setup lock"
	if [ ! -f "$here/node_modules/.package-lock.json" ] ||
		[ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
		timeout 300 npm ci --prefix "$here" --no-audit --no-fund --loglevel=error ||
			fail "npm ci failed (the npm registry must be reachable for the first run)"
	fi
	cd "$root"
	GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS='' GOCACHE="$work/gocache" \
		timeout 300 go build -o "$work/helm-render.new" ./hack/helm-render ||
		fail "building hack/helm-render failed (Debian packages golang-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev golang-github-xeipuuv-gojsonschema-dev)"
	mv -f "$work/helm-render.new" "$work/helm-render"
) 9<"$here/package.json"

export HELM_RENDER="$work/helm-render" SKYDNS_SRC="$root"
cd "$here"
exec timeout 600 node --test "$@"
