"""Installation outside Kubernetes (issue 16): what `cmake --install` puts in
place (binaries, systemd units, man pages, README) and the Debian package
`cpack -G DEB` builds, checked the way an operator would look at them.

The install goes to a temporary prefix and the package to a temporary
directory; nothing on the machine changes. The real `apt-get install` of the
.deb changes the machine, so it runs only with SKYDNS_TEST_DEB_INSTALL=1 (as
root: CI's throwaway machine, hack/deb-install-test.sh).
"""

import gzip
import os
import re
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("SKYDNS_SRC", os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("SKYDNS_BUILD", os.path.join(SRC, "build"))
BINARIES = ["skydns", "kube2sky", "skydns-check", "skydns-load", "skydns-api", "skydnsctl"]
UNITS = ["skydns.service", "skydns.socket", "skydns-check.service"]
# Not from the environment: what the build or the test's own tools print.
# Sanitizer settings pass (hack/test.sh's SANITIZE=1 build packages ASan binaries).
CLEAN_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "MANWIDTH": "100",
             "MAN_DISABLE_SECCOMP": "1"}
CLEAN_ENV.update({k: v for k, v in os.environ.items() if k.endswith("SAN_OPTIONS")})


def run(args, timeout=30, cwd=None, check=True):
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                       env=CLEAN_ENV)
    if check:
        assert r.returncode == 0, f"{args}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


def project_version():
    with open(os.path.join(SRC, "CMakeLists.txt")) as f:
        m = re.search(r"project\(\s*skydns\s+VERSION\s+([0-9][0-9.]*)", f.read())
    assert m, "project(skydns VERSION x.y.z) not found in CMakeLists.txt"
    return m.group(1)


def version_of(binary):
    """The project version from `<binary> -version` ("skydns 0.1.0 (...)")."""
    out = run([binary, "-version"], timeout=10).stdout
    m = re.match(r"\S+ ([0-9][0-9.]*)\b", out)
    assert m, f"{binary} -version printed {out!r}"
    return m.group(1)


def help_flags(binary):
    """Flag names in `<binary> -h` (stdout or stderr: skydns prints it like Go's flag)."""
    r = run([binary, "-h"], timeout=10)
    flags = re.findall(r"^  -([A-Za-z0-9][\w-]*)", r.stdout + r.stderr, re.M)
    assert flags, f"{binary} -h lists no flags"
    return flags


def render(page):
    """The page (gzip, as Debian wants) as man shows it (ASCII), after groff
    found nothing to warn about."""
    with gzip.open(page, "rt") as f:
        roff = f.read()
    r = subprocess.run(["groff", "-man", "-Tascii", "-ww", "-z"], input=roff, capture_output=True,
                       text=True, timeout=30, env=CLEAN_ENV)
    assert r.returncode == 0 and r.stderr == "", f"groff warns about {page}:\n{r.stderr}"
    return run(["man", "-l", page]).stdout


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    p = str(tmp_path_factory.mktemp("prefix"))
    run(["cmake", "--install", BUILD, "--prefix", p], timeout=60)
    return p


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("cpack"))
    run(["cpack", "-G", "DEB", "-B", out, "--config", os.path.join(BUILD, "CPackConfig.cmake")],
        timeout=180, cwd=BUILD)
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    path = os.path.join(out, f"skydns_{project_version()}_{arch}.deb")
    assert os.path.isfile(path), f"cpack wrote {os.listdir(out)}, not {os.path.basename(path)}"
    yield path
    shutil.rmtree(os.path.join(out, "_CPack_Packages"), ignore_errors=True)


def test_install_puts_binaries_units_and_docs_under_the_prefix(prefix):
    for b in BINARIES:
        path = os.path.join(prefix, "bin", b)
        assert os.access(path, os.X_OK), f"{path} not installed"
    assert version_of(os.path.join(prefix, "bin", "skydns")) == project_version()
    for u in UNITS:
        assert os.path.isfile(os.path.join(prefix, "lib/systemd/system", u)), u
    for u in ["skydns.service", "skydns-check.service"]:
        with open(os.path.join(prefix, "lib/systemd/system", u)) as f:
            execs = re.findall(r"^ExecStart=(\S+)", f.read(), re.M)
        # The unit starts the binary just installed, not /usr/local/bin's.
        assert execs and all(e.startswith(prefix + "/bin/") and os.access(e, os.X_OK)
                             for e in execs), (u, execs)
    assert os.path.isfile(os.path.join(prefix, "share/doc/skydns/README.md"))


def test_installed_units_pass_systemd_analyze_verify(prefix):
    """systemd's own check: the units parse, and ExecStart is an executable
    (--man=no: man:skydns(1) is under the temporary prefix, not in man's path)."""
    units = [os.path.join(prefix, "lib/systemd/system", u) for u in UNITS]
    r = run(["systemd-analyze", "verify", "--man=no"] + units, timeout=30, check=False)
    assert r.returncode == 0 and r.stderr == "", r.stderr


@pytest.mark.parametrize("binary", ["skydns", "kube2sky", "skydns-check", "skydns-load"])
def test_man_page_lists_every_flag_of_dash_h(prefix, binary):
    text = render(os.path.join(prefix, "share/man/man1", binary + ".1.gz"))
    assert re.search(rf"^NAME\n\s+{binary} - \S", text, re.M), text[:300]
    assert f"skydns {project_version()}" in text  # the footer: the project's version
    shown = set(re.findall(r"^\s+-([A-Za-z0-9][\w-]*)", text, re.M))
    missing = [f for f in help_flags(os.path.join(prefix, "bin", binary)) if f not in shown]
    assert not missing, f"{binary}.1 lacks flags that -h prints: {missing}"


@pytest.mark.parametrize("binary", ["skydns-api", "skydnsctl"])
def test_man_page_holds_the_usage_text(prefix, binary):
    """These two print a usage message, not a table: the page carries it whole."""
    text = render(os.path.join(prefix, "share/man/man1", binary + ".1.gz"))
    r = run([os.path.join(prefix, "bin", binary), "-h"], timeout=10)
    usage = [ln.strip() for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    assert usage
    page = [ln.strip() for ln in text.splitlines()]
    assert [ln for ln in usage if ln not in page] == []


def test_skydns_man_page_names_env_and_defaults(prefix):
    text = " ".join(render(os.path.join(prefix, "share/man/man1/skydns.1.gz")).split())
    assert "-machines list comma-separated etcd endpoints (default http://127.0.0.1:2379)." \
        " Environment: ETCD_MACHINES." in text
    assert "$PROMETHEUS_NAMESPACE string" in text


def test_deb_fields(deb):
    f = run(["dpkg-deb", "-f", deb, "Package", "Version", "Architecture", "Maintainer",
             "Depends"]).stdout
    fields = dict(ln.split(": ", 1) for ln in f.splitlines() if ": " in ln)
    assert fields["Package"] == "skydns"
    assert fields["Version"] == project_version() == version_of(os.path.join(BUILD, "dns/skydns"))
    assert fields["Architecture"] == run(["dpkg", "--print-architecture"]).stdout.strip()
    assert "@" in fields["Maintainer"]
    # dpkg-shlibdeps: the libraries the binaries link, not a hand-kept list
    deps = fields.get("Depends", "")
    for lib in ["libc6", "libldns", "libcurl", "libmicrohttpd", "libsystemd0"]:
        assert lib in deps, f"Depends {deps!r} lacks {lib}"


def test_deb_contents(deb):
    listing = run(["dpkg-deb", "-c", deb]).stdout
    names = {ln.split()[-1] for ln in listing.splitlines()}
    want = [f"./usr/bin/{b}" for b in BINARIES] + \
        [f"./usr/lib/systemd/system/{u}" for u in UNITS] + \
        [f"./usr/share/man/man1/{b}.1.gz" for b in BINARIES] + ["./usr/share/doc/skydns/README.md"]
    assert [w for w in want if w not in names] == []
    assert not [n for n in names if "test_" in n or "etcd_tool" in n], "test binaries packaged"


def test_deb_extracted_runs(deb, tmp_path):
    run(["dpkg-deb", "-x", deb, str(tmp_path)])
    assert version_of(str(tmp_path / "usr/bin/skydns")) == project_version()
    assert version_of(str(tmp_path / "usr/bin/kube2sky")) == project_version()
    with open(tmp_path / "usr/lib/systemd/system/skydns.service") as f:
        assert re.search(r"^ExecStart=/usr/bin/skydns -systemd$", f.read(), re.M)
    render(str(tmp_path / "usr/share/man/man1/skydns.1.gz"))


def test_apt_accepts_the_deb(deb):
    """apt's own check of `apt install ./skydns_*.deb` (simulated: -s changes nothing):
    the dependencies resolve from the archive and it would install skydns."""
    r = run(["apt-get", "install", "-s", "-o", "Debug::NoLocking=1", deb], timeout=60)
    if "skydns is already the newest version" in r.stdout:
        return  # this very version is installed (SKYDNS_TEST_DEB_INSTALL left it?)
    assert re.search(rf"^Inst skydns \({re.escape(project_version())} ", r.stdout, re.M), r.stdout
    assert re.search(r"^Conf skydns ", r.stdout, re.M), r.stdout


@pytest.mark.skipif(os.environ.get("SKYDNS_TEST_DEB_INSTALL") != "1",
                    reason="installs the package on this machine: SKYDNS_TEST_DEB_INSTALL=1 (CI, root)")
def test_deb_apt_install(deb):
    env = dict(CLEAN_ENV, DEBIAN_FRONTEND="noninteractive")
    r = subprocess.run(["apt-get", "install", "-y", deb], capture_output=True, text=True,
                       timeout=300, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        assert version_of("/usr/bin/skydns") == project_version()
        assert run(["man", "-w", "skydns"]).stdout.strip().startswith("/usr/share/man/man1/")
        r = run(["systemd-analyze", "verify"] +
                [f"/usr/lib/systemd/system/{u}" for u in UNITS], timeout=30, check=False)
        assert r.returncode == 0 and r.stderr == "", r.stderr  # man:skydns(1) found too
    finally:
        subprocess.run(["dpkg", "-r", "skydns"], capture_output=True, timeout=120, env=env)
