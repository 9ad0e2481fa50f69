"""Shared fixtures for skydns integration tests.

Everything here starts real processes on loopback high ports and stops them
by PID; every wait is bounded in time.

Fixtures
  etcd          a fresh etcd 3.4 (v2 API enabled, v3 JSON gateway) per test
  mode          parametrizes a test over "v2" and "v3"
  kv            an EtcdKV for `mode` against `etcd` (put/delete/compact)
  skydns        a factory: skydns(extra_args=[...], env={...}) -> SkyDNS
Helpers
  query(server, name, rdtype, ...) -> dns.message.Message (dnspython)
  wait_until(fn, timeout) -> the first truthy value of fn() or AssertionError
"""

import base64
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import dns.flags
import dns.message
import dns.query
import dns.rdatatype
import pytest

SKYDNS_BIN = os.environ.get("SKYDNS_BIN", os.path.join(
    os.environ.get("SKYDNS_BUILD", "build"), "dns", "skydns"))
ETCD_BIN = shutil.which("etcd") or "/usr/bin/etcd"
# skydns's 5 s lame duck after SIGTERM would slow every stop; the tests of it
# set -lameduck themselves (a flag beats the environment).
os.environ.setdefault("SKYDNS_LAMEDUCK", "0s")

# Tests stay on loopback: unless a test names its own forwarders, no skydns
# started from these tests may fall back to the machine's /etc/resolv.conf.
os.environ.setdefault("SKYDNS_NAMESERVERS", "127.0.0.1:9")


def ephemeral_range():
    """The kernel's (low, high) range for autobound client ports."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
        return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


_handed_out = set()


def port_is_free(port, host="127.0.0.1"):
    """Whether port can be bound on host for both TCP and UDP right now."""
    try:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            with socket.socket(socket.AF_INET, kind) as s:
                s.bind((host, port))
    except OSError:
        return False
    return True


def free_port(host="127.0.0.1"):
    """A port free for both TCP and UDP on host, outside the kernel's
    ephemeral range, and not handed out before in this process.

    Why not let the kernel pick (bind to port 0): dig binds its client socket
    with SO_REUSEPORT, and Linux may autobind such a socket to a port that a
    same-user SO_REUSEPORT socket holds on a specific address -- skydns's UDP
    worker group. dig's socket is connected, so its query to that port comes
    straight back to dig itself (a "reply" without QR). Ports below the
    ephemeral range are never autobound."""
    lo, hi = ephemeral_range()
    spans = [(a, b) for a, b in ((10000, lo - 1), (hi + 1, 65535)) if b - a > 1000] or [(10000, 65535)]
    for _ in range(200):
        a, b = random.choice(spans)
        port = random.randint(a, b)
        if port not in _handed_out and port_is_free(port, host):
            _handed_out.add(port)
            return port
    raise RuntimeError("no free port")


def wait_until(fn, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def stop_pid(proc, timeout=5.0):
    """SIGTERM, then SIGKILL after timeout; returns the exit code."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(5)


# ---------------------------------------------------------------- etcd


class Etcd:
    """A single-member etcd on 127.0.0.1 with its data in a temp dir;
    `extra` flags (auth, TLS) with the matching scheme and ssl_ctx."""

    def __init__(self, workdir, extra=(), scheme="http", ssl_ctx=None):
        self.dir = os.path.join(workdir, "etcd-data")
        self.client_port = free_port()
        self.peer_port = free_port()
        self.url = f"{scheme}://127.0.0.1:{self.client_port}"
        self.extra, self.ssl_ctx = list(extra), ssl_ctx
        self.proc = None
        self.log_path = os.path.join(workdir, "etcd.log")

    def start(self, timeout=15.0):
        peer = f"http://127.0.0.1:{self.peer_port}"
        args = [
            ETCD_BIN, "--name", "t", "--data-dir", self.dir,
            "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"t={peer}", "--enable-v2=true",
            "--experimental-watch-progress-notify-interval", "2s",
            "--log-level", "warn", *self.extra,
        ]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(self.healthy, timeout, what="etcd health")
        return self

    def healthy(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"etcd exited with {self.proc.returncode}")
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=1,
                                        context=self.ssl_ctx) as r:
                return json.load(r).get("health") == "true"
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def stop(self):
        if self.proc:
            stop_pid(self.proc)
            self.log.close()
            self.proc = None

    def restart(self):
        self.stop()
        return self.start()


def _http(method, url, body=None, headers=None, timeout=5):
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        else:
            data = body if isinstance(body, bytes) else body.encode()
            hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw.strip() else {})
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, {"raw": raw.decode(errors="replace")}


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


class EtcdKV:
    """Writes keys through the v2 keys API or the v3 JSON gateway."""

    def __init__(self, url, mode):
        assert mode in ("v2", "v3")
        self.url, self.mode = url, mode

    def put(self, key, value, ttl=None):
        if not isinstance(value, str):
            value = json.dumps(value)
        if self.mode == "v2":
            form = {"value": value}
            if ttl:
                form["ttl"] = str(ttl)
            st, body = _http("PUT", self.url + "/v2/keys" + key, urllib.parse.urlencode(form))
            assert st in (200, 201), (st, body)
            return body
        req = {"key": b64(key), "value": b64(value)}
        if ttl:
            st, lease = _http("POST", self.url + "/v3/lease/grant", {"TTL": int(ttl)})
            assert st == 200, (st, lease)
            req["lease"] = lease["ID"]
        st, body = _http("POST", self.url + "/v3/kv/put", req)
        assert st == 200, (st, body)
        return body

    def delete(self, key, recursive=False):
        if self.mode == "v2":
            q = "?recursive=true" if recursive else ""
            st, body = _http("DELETE", self.url + "/v2/keys" + key + q)
            assert st in (200, 404), (st, body)
            return body
        req = {"key": b64(key)}
        if recursive:
            end = key.rstrip("/") + "0"  # everything under key/ ... plus key itself below
            req = {"key": b64(key), "range_end": b64(end)}
        st, body = _http("POST", self.url + "/v3/kv/deleterange", req)
        assert st == 200, (st, body)
        return body

    def revision(self):
        st, body = _http("POST", self.url + "/v3/kv/range", {"key": b64("/"), "count_only": True})
        assert st == 200, (st, body)
        return int(body["header"]["revision"])

    def compact(self):
        """v3: compact the whole history up to the current revision."""
        rev = self.revision()
        st, body = _http("POST", self.url + "/v3/kv/compaction", {"revision": str(rev), "physical": True})
        assert st == 200, (st, body)
        return rev


# ---------------------------------------------------------------- skydns


class Daemon:
    """A process a test runs: args, env on top of ours, output in log_path;
    stop() stops it by PID and returns its exit code."""

    def __init__(self, log_path, args, env=None):
        self.log_path, self.args = log_path, list(args)
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.proc = None

    def spawn(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=self.env)
        return self

    def logs(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc is None:
            return None
        rc = stop_pid(self.proc)
        self.log.close()
        self.proc = None
        return rc


class SkyDNS(Daemon):
    def __init__(self, workdir, etcd_url, mode, extra_args=(), env=None, domain="skydns.local.",
                 port=None, addr="127.0.0.1"):
        self.port = port or free_port()
        self.addr = addr
        self.domain = domain
        args = [SKYDNS_BIN, "-addr", f"{addr}:{self.port}", "-machines", etcd_url,
                "-domain", domain]
        if mode == "v3":
            args.append("-etcd3")
        super().__init__(os.path.join(workdir, f"skydns-{self.port}.log"),
                         args + list(extra_args), env)

    def start(self, wait=True, timeout=15.0):
        self.spawn()
        if wait:
            wait_until(self.ready, timeout, what="skydns answering")
        return self

    def ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"skydns exited with {self.proc.returncode}:\n{self.logs()}")
        try:
            r = query(self, self.domain, "SOA", timeout=0.5)
            return r.rcode() == 0 and len(r.answer) > 0
        except Exception:  # noqa: BLE001 - not up yet
            return False


def query(server, name, rdtype="A", tcp=False, timeout=2.0, want_dnssec=False, payload=None,
          rdclass="IN", port=None, addr=None):
    """Ask `server` (a SkyDNS, or anything with .addr/.port) one question."""
    q = dns.message.make_query(name, rdtype, rdclass=rdclass, want_dnssec=want_dnssec,
                               payload=payload, use_edns=(0 if (want_dnssec or payload) else None))
    where = addr or server.addr
    p = port or server.port
    if tcp:
        return dns.query.tcp(q, where, port=p, timeout=timeout)
    return dns.query.udp(q, where, port=p, timeout=timeout, ignore_trailing=False)


def rrset_texts(msg, section="answer"):
    """Sorted 'name ttl class type rdata' strings of a section, TTLs kept."""
    out = []
    for rrset in getattr(msg, section):
        for line in rrset.to_text().splitlines():
            out.append(line)
    return sorted(out)


def rdatas(msg, rdtype=None, section="answer"):
    """Sorted rdata texts in a section (optionally of one type)."""
    out = []
    for rrset in getattr(msg, section):
        if rdtype and rrset.rdtype != dns.rdatatype.from_text(rdtype):
            continue
        out += [r.to_text() for r in rrset]
    return sorted(out)


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="skydns-it-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def etcd(workdir):
    e = Etcd(workdir).start()
    yield e
    e.stop()


@pytest.fixture(params=["v2", "v3"])
def mode(request):
    return request.param


@pytest.fixture
def kv(etcd, mode):
    return EtcdKV(etcd.url, mode)


@pytest.fixture
def skydns(workdir, etcd, mode):
    """Factory: skydns(extra_args=[...], env={...}, start=True) -> SkyDNS."""
    started = []

    def make(extra_args=(), env=None, start=True, **kw):
        s = SkyDNS(workdir, etcd.url, mode, extra_args, env, **kw)
        started.append(s)
        if start:
            s.start()
        return s

    yield make
    for s in started:
        s.stop()


def pytest_runtest_makereport(item, call):
    """On failure, attach skydns and etcd logs to the report."""
    if call.when != "call" or call.excinfo is None:
        return
    wd = item.funcargs.get("workdir") if hasattr(item, "funcargs") else None
    if not wd or not os.path.isdir(wd):
        return
    for name in sorted(os.listdir(wd)):
        if name.endswith(".log"):
            with open(os.path.join(wd, name), "rb") as f:
                tail = f.read()[-4000:].decode(errors="replace")
            print(f"\n----- {name} (tail) -----\n{tail}")
