"""The two binaries as one product (issue 16): one version, the same etcd
default and ETCD_MACHINES, bad settings refused at start with one line and
exit 2, unknown record fields logged, -verbose query logs with names.

Nothing here binds or writes to 127.0.0.1:2379: the shared default is read
from -h, and the shared etcd is a test etcd given through ETCD_MACHINES.
"""

import os
import re
import subprocess
import time

import dns.rcode
import pytest

import conftest
from conftest import SKYDNS_BIN, free_port, query, rdatas, wait_until
from test_kube2sky import KUBE2SKY_BIN, api  # noqa: F401 - fixture

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("SKYDNS_SRC", os.path.join(HERE, "..", ".."))


def project_version():
    with open(os.path.join(SRC, "CMakeLists.txt")) as f:
        m = re.search(r"project\(\s*skydns\s+VERSION\s+([0-9][0-9.]*)", f.read())
    assert m, "project(skydns VERSION x.y.z) not found in CMakeLists.txt"
    return m.group(1)


def run(args, env=None, timeout=10):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=e)


SMALL_BINS = {"skydns-check": os.path.join("dns", "check", "skydns-check"),
              "skydns-load": os.path.join("dns", "load", "skydns-load")}


@pytest.mark.parametrize("binary", ["skydns", "kube2sky", *SMALL_BINS])
@pytest.mark.parametrize("flag", ["-version", "--version"])
def test_version_is_the_project_version(binary, flag):
    exe = {"skydns": SKYDNS_BIN, "kube2sky": KUBE2SKY_BIN}.get(binary) or os.path.join(
        os.environ.get("SKYDNS_BUILD", "build"), SMALL_BINS[binary])
    r = run([exe, flag])
    assert r.returncode == 0, r
    first = r.stdout.splitlines()[0]
    assert first.startswith(f"{binary} {project_version()}"), first
    if binary == "skydns":  # and it says what CHAOS version.bind answers
        assert "2.5.3a" in first


def flag_default(help_text, flag):
    """The default shown by -h for one flag (Go's PrintDefaults layout)."""
    lines = help_text.splitlines()
    for i, line in enumerate(lines):
        if re.match(rf"^  -{re.escape(flag)}( |$)", line):
            m = re.search(r'\(default "?([^")]*)"?\)', lines[i + 1])
            return m and m.group(1)
    raise AssertionError(f"-{flag} not in help:\n{help_text}")


def test_help_same_layout_and_etcd_default():
    sk = run([SKYDNS_BIN, "-h"])
    k2 = run([KUBE2SKY_BIN, "--help"])
    assert sk.returncode == 0 and k2.returncode == 0
    sk_text, k2_text = sk.stdout + sk.stderr, k2.stdout + k2.stderr
    assert flag_default(sk_text, "machines") == "http://127.0.0.1:2379"
    assert flag_default(k2_text, "etcd-server") == "http://127.0.0.1:2379"
    assert "ETCD_MACHINES" in sk_text and "ETCD_MACHINES" in k2_text
    for text, name in ((sk_text, "skydns"), (k2_text, "kube2sky")):
        assert text.startswith(f"Usage of {name} (version {project_version()}):"), text[:200]
        assert "Flags take one dash or two" in text


def test_durations_in_go_units_on_both():
    """Both -h say "duration" and show Go durations; kube2sky takes 1m30s
    where it took seconds (a bare number still works)."""
    sk, k2 = run([SKYDNS_BIN, "-h"]), run([KUBE2SKY_BIN, "-h"])
    assert re.search(r"^  -rtimeout duration$", sk.stdout + sk.stderr, re.M)
    k2_text = k2.stdout
    assert re.search(r"^  -resync-period duration$", k2_text, re.M), k2_text
    assert flag_default(k2_text, "resync-period") == "5m"
    assert flag_default(k2_text, "backoff-max") == "30s"
    assert "durations as 2s, 500ms, 1m30s" in k2_text and "durations as 2s, 500ms, 1m30s" in sk.stdout + sk.stderr


def test_defaults_share_one_etcd_via_env(workdir, etcd, api, skydns):  # noqa: F811
    """kube2sky and skydns given only ETCD_MACHINES (no etcd flag) meet in
    the same etcd: a Service kube2sky publishes is answered by skydns."""
    a = api()
    env = {"ETCD_MACHINES": etcd.url}
    health = free_port()
    k = conftest.Daemon(os.path.join(workdir, "k2s-env.log"),
                        [KUBE2SKY_BIN, "-domain", "cluster.local", "-kube-master-url", a.url,
                         "-health-addr", f"127.0.0.1:{health}", "-resync-period", "1m30s",
                         "-backoff-max", "1.5s"], env).spawn()
    try:
        s = conftest.SkyDNS(workdir, etcd.url, "v2", domain="cluster.local.", env=env)
        s.args.remove("-machines")
        s.args.remove(etcd.url)
        s.start()
        try:
            def served():
                r = query(s, "web.default.svc.cluster.local.", "A")
                return r.rcode() == 0 and rdatas(r, "A")
            assert wait_until(served, 20, what="service published by kube2sky") == ["10.96.0.50"]
            assert f"etcd={etcd.url}" in s.logs()
            assert f"etcd={etcd.url}" in k.logs()
        finally:
            s.stop()
    finally:
        assert k.stop() == 0, k.logs()[-2000:]


BAD_SKYDNS = [
    (["-machines", "127.0.0.1:2379"], {}, "-machines", "http://"),
    ([], {"ETCD_MACHINES": "127.0.0.1:2379"}, "ETCD_MACHINES", "http://"),
    (["-machines", "http://"], {}, "-machines", "without a host"),
    (["-domain", "foo..bar"], {}, "-domain", "empty label"),
    (["-domain", ""], {}, "-domain", "empty"),
    (["-domain="], {}, "-domain", "empty"),
    (["-addr", "127.0.0.1"], {}, "-addr", "IP:port"),
    (["-rtimeout", "5"], {}, "-rtimeout", "duration"),
    (["-nameservers", "8.8.8.8"], {}, "-nameservers", ""),
    (["-workers", "-1"], {}, "-workers", "range"),
    (["-metrics-path", "metrics"], {}, "-metrics-path", "/"),
    (["-allow-recursion", "10.0.0.0/33"], {}, "-allow-recursion", "prefix"),
    (["-no-such-flag"], {}, "-no-such-flag", "not defined"),
    (["-hostmaster="], {}, "-hostmaster", "empty"),
    (["-hostmaster", "me@example..org"], {}, "-hostmaster", "empty label"),
    (["-local", "a..b"], {}, "-local", "empty label"),
    (["-path-prefix="], {}, "-path-prefix", "empty"),
    (["-path-prefix", "/skydns/"], {}, "-path-prefix", "'/'"),
    ([], {"SKYDNS_PATH_PREFIX": "a b"}, "SKYDNS_PATH_PREFIX", "spaces"),
    (["-dnssec", "/nonexistent/Kexample.+013+1"], {}, "-dnssec", "cannot read"),
    (["-user", "no-such-user-skydns-test"], {}, "-user", "no such user"),
    (["-max-udp-size", "100"], {}, "-max-udp-size", "range"),
    (["-lameduck=-1s"], {}, "-lameduck", "duration"),
    (["-health-addr", "x:y"], {}, "-health-addr", "port"),
    ([], {"PROMETHEUS_NAMESPACE": "my-dns"}, "PROMETHEUS_NAMESPACE", "Prometheus name"),
]


@pytest.mark.parametrize("args,env,names,says", BAD_SKYDNS,
                         ids=[" ".join(a) or next(iter(e)) for a, e, _, _ in BAD_SKYDNS])
def test_skydns_bad_setting_refused(args, env, names, says):
    port = free_port()
    r = run([SKYDNS_BIN, "-addr", f"127.0.0.1:{port}", *args], env)
    assert r.returncode == 2, r
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    assert names in lines[0] and says in lines[0], lines[0]


BAD_KUBE2SKY = [
    (["--etcd-server", "127.0.0.1:2379"], {}, "-etcd-server", "http://"),
    ([], {"ETCD_MACHINES": "127.0.0.1:2379"}, "ETCD_MACHINES", "http://"),
    (["-domain", "foo..bar"], {}, "-domain", "not a domain"),
    (["--domain="], {}, "-domain", "empty"),
    (["--health-addr", "nohost"], {}, "-health-addr", "host:port"),
    (["--metrics-path", "m"], {}, "-metrics-path", "/"),
    (["--ttl", "x"], {}, "-ttl", "x"),
    (["--kube-master-url", "api:443"], {}, "-kube-master-url", "http"),
    (["--no-such-flag"], {}, "no-such-flag", "unknown"),
    (["--resync-period", "5x"], {}, "-resync-period", "duration"),
    (["--resync-period", "1500ms"], {}, "-resync-period", "whole seconds"),
    (["--etcd3=maybe"], {}, "-etcd3", "boolean"),
    (["--path-prefix="], {}, "-path-prefix", "empty"),
    (["--path-prefix", "/skydns/"], {}, "-path-prefix", "'/'"),
    (["--metrics-namespace", "my-dns"], {}, "-metrics-namespace", "Prometheus name"),
    (["--kubecfg-file", "/nonexistent/kubeconfig"], {}, "/nonexistent/kubeconfig", "No such file"),
    (["--etcd-cafile", "/nonexistent/ca.crt"], {}, "-etcd-cafile", "No such file"),
]


@pytest.mark.parametrize("args,env,names,says", BAD_KUBE2SKY,
                         ids=[" ".join(a) or next(iter(e)) for a, e, _, _ in BAD_KUBE2SKY])
def test_kube2sky_bad_setting_refused(args, env, names, says):
    r = run([KUBE2SKY_BIN, "--health-addr", f"127.0.0.1:{free_port()}", *args], env)
    assert r.returncode == 2, r
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    assert names in lines[0] and says in lines[0], lines[0]


def test_unknown_field_logged_once_per_modification(kv, skydns):
    s = skydns()
    kv.put("/skydns/local/skydns/typo", {"host": "10.0.0.2", "hots": "10.0.0.1"})

    def served(name, want):
        r = query(s, name, "A")
        return r.rcode() == 0 and rdatas(r, "A") == want
    wait_until(lambda: served("typo.skydns.local.", ["10.0.0.2"]), 10, what="typo served")
    line = 'key=/skydns/local/skydns/typo: unknown field "hots" ignored'
    wait_until(lambda: line in s.logs(), 5, what="unknown-field line")
    # another key's change does not repeat it
    kv.put("/skydns/local/skydns/other", {"host": "10.0.0.3"})
    wait_until(lambda: served("other.skydns.local.", ["10.0.0.3"]), 10, what="other served")
    assert s.logs().count(line) == 1, s.logs()
    # a new modification of the key says it again
    kv.put("/skydns/local/skydns/typo", {"host": "10.0.0.4", "hots": "10.0.0.1"})
    wait_until(lambda: served("typo.skydns.local.", ["10.0.0.4"]), 10, what="typo updated")
    wait_until(lambda: s.logs().count(line) == 2, 5, what="second unknown-field line")


def test_verbose_logs_names_and_refused(kv, skydns):
    s = skydns(["-verbose", "-no-rec"])
    kv.put("/skydns/local/skydns/web", {"host": "10.0.0.9"})
    wait_until(lambda: rdatas(query(s, "web.skydns.local.", "A"), "A") == ["10.0.0.9"], 10,
               what="web served")
    assert query(s, "nope.skydns.local.", "AAAA").rcode() == dns.rcode.NXDOMAIN
    assert query(s, "www.example.com.", "A").rcode() == dns.rcode.REFUSED

    def logged(pattern):
        return lambda: re.search(pattern, s.logs())
    wait_until(logged(r"name=web\.skydns\.local\. type=A .*answered rcode=NOERROR"), 5,
               what="A NOERROR line")
    wait_until(logged(r"name=nope\.skydns\.local\. type=AAAA .*rcode=NXDOMAIN"), 5,
               what="AAAA NXDOMAIN line")
    wait_until(logged(r"name=www\.example\.com\. type=A .*refused \(no-rec\) rcode=REFUSED"), 5,
               what="refused line")
    assert "rcode=-1" not in s.logs()
    assert not re.search(r"type=\d", s.logs())


# ---------------------------------------------------------------- docs


def read_doc(*path):
    with open(os.path.join(SRC, *path)) as f:
        return f.read()


def metric_names(text, prefix):
    return set(re.findall(rf"\b({prefix}[a-z0-9_]+[a-z0-9])\b", text))


def scrape(url):
    with conftest.urllib.request.urlopen(url, timeout=5) as r:
        body = r.read().decode()
    return {ln.split()[2] for ln in body.splitlines() if ln.startswith("# TYPE ")}


def test_docs_metric_names_are_real(workdir, etcd, api, skydns):  # noqa: F811
    """Every skydns_skydns_* and kube2sky_* name in README.md and
    docs/troubleshooting.md is a series skydns or kube2sky exports."""
    readme, trouble = read_doc("README.md"), read_doc("docs", "troubleshooting.md")
    assert "(docs/troubleshooting.md)" in readme
    for title in ("## A name does not resolve", "## Answers are stale",
                  "## Pods cannot resolve outside names"):
        assert title in trouble
    mport = free_port()
    s = skydns(["-metrics-addr", f"127.0.0.1:{mport}"])
    have = scrape(f"http://127.0.0.1:{mport}/metrics")
    want = metric_names(readme + trouble, "skydns_skydns_")
    assert len(want) >= 14, want
    assert not want - have, sorted(want - have)
    a = api()
    health = free_port()
    k = conftest.Daemon(os.path.join(workdir, "k2s-metrics.log"),
                        [KUBE2SKY_BIN, "-domain", "cluster.local", "-kube-master-url", a.url,
                         "-etcd-server", etcd.url, "-health-addr", f"127.0.0.1:{health}"]).spawn()
    try:
        k_have = wait_until(lambda: _try_scrape(f"http://127.0.0.1:{health}/metrics"), 10,
                            what="kube2sky metrics")
        k_want = metric_names(trouble, "kube2sky_")
        assert len(k_want) >= 5, k_want
        assert not k_want - k_have, sorted(k_want - k_have)
    finally:
        assert k.stop() == 0, k.logs()[-2000:]
    s.stop()


def _try_scrape(url):
    try:
        return scrape(url)
    except OSError:
        return None


def test_readme_v3_example_works_as_written(workdir, etcd):
    """The README's etcdctl put, against a skydns started as ETCD3=1
    hack/run.sh starts it (-etcd3), answers; only the endpoint differs."""
    readme = read_doc("README.md")
    m = re.search(r"^(ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:23790 put (\S+) '(.*)')$",
                  readme, re.M)
    assert m, "v3 example not found in README.md"
    assert "ETCD3=1 hack/run.sh" in readme
    cmd = m.group(1).replace("http://127.0.0.1:23790", etcd.url)
    s = conftest.SkyDNS(workdir, etcd.url, "v3").start()
    try:
        r = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20)
        assert r.returncode == 0, r
        key = m.group(2)  # /skydns/local/skydns/east/staging/rails/4
        name = ".".join(reversed(key.strip("/").split("/")[1:])) + "."
        want = [json_host(m.group(3))]
        wait_until(lambda: rdatas(query(s, name, "A"), "A") == want, 10, what=f"{name} answered")
    finally:
        s.stop()


def json_host(text):
    import json
    return json.loads(text)["host"]
