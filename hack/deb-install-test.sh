#!/usr/bin/env bash
# hack/deb-install-test.sh - the Debian package installed for real (issue 16):
# build, `cpack -G DEB`, `apt-get install -y ./build/skydns_*.deb`, run the
# installed /usr/bin/skydns -version and the package tests against it
# (SKYDNS_TEST_DEB_INSTALL=1), then `dpkg -r skydns`.
# Changes the machine: for CI's throwaway machine, as root. Not run by
# hack/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "hack/deb-install-test.sh: run as root (it installs a package)" >&2; exit 2; }
hack/deps.sh
cmake -S . -B build -DSKYDNS_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
rm -f build/skydns_*.deb
(cd build && cpack -G DEB)
debs=(build/skydns_*.deb)
[ "${#debs[@]}" -eq 1 ] || { echo "hack/deb-install-test.sh: want one .deb, got ${debs[*]}" >&2; exit 1; }
trap 'dpkg -r skydns >/dev/null 2>&1 || true' EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y "./${debs[0]}"
/usr/bin/skydns -version
/usr/bin/kube2sky -version
dpkg -r skydns
(cd build && SKYDNS_TEST_DEB_INSTALL=1 ctest -R '^it_package$' --output-on-failure)
