"""Operating skydns: metrics, health, live config, signals, systemd socket
activation and readiness notification. Real etcd, real skydns, real clients."""

import os
import pwd
import signal
import socket
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.request

import types

import dns.exception
import dns.message
import dns.query
import dns.rcode
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import SKYDNS_BIN, free_port, query, stop_pid, wait_until

EXAMPLE = "/skydns/local/skydns/east/staging/rails/4"


def http_get(url, timeout=2):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def scrape(port):
    status, text = http_get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    samples = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            samples[key] = s.value
    return samples


def sample(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(params=["v2"])
def mode(request):
    """Ops features do not depend on the etcd API; v2/v3 parity is tested elsewhere."""
    return request.param


def test_metrics_scrape_parses_and_counters_move(kv, skydns):
    kv.put(EXAMPLE, {"host": "10.0.1.125", "port": 8080})
    mport = free_port()
    s = skydns(["-metrics-addr", f"127.0.0.1:{mport}"])
    wait_until(lambda: query(s, "4.rails.staging.east.skydns.local", "A").answer, 5)
    before = scrape(mport)
    for _ in range(5):
        assert query(s, "4.rails.staging.east.skydns.local", "A").answer
    for _ in range(3):
        assert query(s, "nothere.skydns.local", "A").rcode() == dns.rcode.NXDOMAIN
    after = scrape(mport)
    name = "skydns_skydns_dns_request_count_total"
    assert sample(after, name, system="auth") - sample(before, name, system="auth") == 8
    err = "skydns_skydns_dns_error_count_total"
    assert sample(after, err, system="auth", cause="nxdomain") - \
        sample(before, err, system="auth", cause="nxdomain") == 3
    hist = "skydns_skydns_dns_request_duration_seconds_count"
    assert sample(after, hist, system="auth") >= 8
    assert sample(after, "skydns_skydns_records_loaded") >= 1
    assert sample(after, "skydns_skydns_etcd_connected") == 1
    # the same questions again reuse finished replies: at most one miss per
    # name and UDP worker
    ac = "skydns_skydns_answer_cache_lookups_total"
    hits = sample(after, ac, result="hit") - sample(before, ac, result="hit")
    misses = sample(after, ac, result="miss") - sample(before, ac, result="miss")
    assert hits + misses == 8 and hits >= 4, (hits, misses)


def test_prometheus_env_vars_and_k8s_service_link_value(kv, skydns):
    # The listener on loopback (-metrics-addr): a bare PROMETHEUS_PORT binds
    # every address (SkyDNS's ":port"), which tests must not do; that
    # PROMETHEUS_PORT=9090 means "0.0.0.0:9090" is checked by unit_config.
    mport = free_port()
    s = skydns(["-metrics-addr", f"127.0.0.1:{mport}"],
               env={"PROMETHEUS_PATH": "/m", "PROMETHEUS_NAMESPACE": "ns",
                    "PROMETHEUS_SUBSYSTEM": "sub"})
    query(s, "skydns.local", "SOA")
    status, text = http_get(f"http://127.0.0.1:{mport}/m")
    assert status == 200 and "ns_sub_dns_request_count_total" in text
    # Kubernetes injects PROMETHEUS_PORT=tcp://... for a Service named
    # "prometheus": never fatal, just ignored with a warning.
    s2 = skydns(env={"PROMETHEUS_PORT": "tcp://10.0.0.1:9090"})
    assert query(s2, "skydns.local", "SOA").answer
    assert "PROMETHEUS_PORT" in s2.logs()


def test_health_and_readiness_follow_etcd(etcd, kv, skydns):
    kv.put(EXAMPLE, {"host": "10.0.1.125"})
    hport = free_port()
    s = skydns(["-health-addr", f"127.0.0.1:{hport}", "-ready-max-age", "1"])
    assert http_get(f"http://127.0.0.1:{hport}/healthz")[0] == 200
    wait_until(lambda: http_get(f"http://127.0.0.1:{hport}/readyz")[0] == 200, 5, what="ready")
    etcd.stop()
    # Not ready once the snapshot is older than the bound with etcd away...
    wait_until(lambda: http_get(f"http://127.0.0.1:{hport}/readyz")[0] == 503, 10,
               what="readyz 503 with etcd down")
    # ...while alive, and still answering what it knew.
    assert http_get(f"http://127.0.0.1:{hport}/healthz")[0] == 200
    assert [r.to_text() for r in query(s, "4.rails.staging.east.skydns.local", "A").answer[0]] == ["10.0.1.125"]
    etcd.start()
    wait_until(lambda: http_get(f"http://127.0.0.1:{hport}/readyz")[0] == 200, 15,
               what="ready again after etcd restart")


def test_ready_through_an_etcd_outage_by_default(etcd, kv, skydns):
    """After the first snapshot, etcd going away shows in etcd_connected and
    the /readyz body, never in its status: every replica would leave the
    Service at once."""
    kv.put(EXAMPLE, {"host": "10.0.1.125"})
    hport = free_port()
    s = skydns(["-metrics-addr", f"127.0.0.1:{hport}"])  # health next to the metrics
    wait_until(lambda: http_get(f"http://127.0.0.1:{hport}/readyz")[0] == 200, 5, what="ready")
    etcd.stop()
    wait_until(lambda: sample(scrape(hport), "skydns_skydns_etcd_connected") == 0, 10,
               what="etcd_connected 0")
    for _ in range(8):
        status, body = http_get(f"http://127.0.0.1:{hport}/readyz")
        assert status == 200 and "etcd unreachable" in body, (status, body)
        assert [r.to_text() for r in query(s, "4.rails.staging.east.skydns.local", "A").answer[0]] == \
            ["10.0.1.125"]
        time.sleep(0.25)
    etcd.start()
    wait_until(lambda: sample(scrape(hport), "skydns_skydns_etcd_connected") == 1, 15,
               what="etcd_connected 1 again")
    assert http_get(f"http://127.0.0.1:{hport}/readyz") == (200, "ready\n")


def query_loop(s, stop, results):
    """UDP queries back to back until stop is set; results gets (time, ok)."""
    while not stop.is_set():
        try:
            r = query(s, "4.rails.staging.east.skydns.local", "A", timeout=0.5)
            ok = r.rcode() == 0 and [x.to_text() for x in r.answer[0]] == ["10.0.1.125"]
        except Exception:  # noqa: BLE001 - a timeout is a lost query
            ok = False
        results.append((time.monotonic(), ok))
        time.sleep(0.01)


def test_sigterm_lame_duck_keeps_answering(kv, skydns):
    kv.put(EXAMPLE, {"host": "10.0.1.125"})
    hport = free_port()
    s = skydns(["-health-addr", f"127.0.0.1:{hport}", "-lameduck", "2s"])
    wait_until(lambda: http_get(f"http://127.0.0.1:{hport}/readyz")[0] == 200, 5, what="ready")
    stop, results = threading.Event(), []
    t = threading.Thread(target=query_loop, args=(s, stop, results))
    t.start()
    try:
        time.sleep(0.3)
        t0 = time.monotonic()
        s.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: http_get(f"http://127.0.0.1:{hport}/readyz")[0] == 503, 1,
                   what="/readyz 503 at once")
        rc = s.proc.wait(10)
        t_exit = time.monotonic()
    finally:
        stop.set()
        t.join(5)
    assert rc == 0
    assert 1.8 <= t_exit - t0 <= 4.0, t_exit - t0
    during = [ok for when, ok in results if t0 <= when <= t0 + 1.8]
    assert len(during) >= 20 and all(during), f"{during.count(False)} of {len(during)} lost"
    assert "lame duck" in s.logs()
    s.proc = None


def test_second_sigterm_ends_the_lame_duck(kv, skydns):
    kv.put(EXAMPLE, {"host": "10.0.1.125"})
    s = skydns(["-lameduck", "30s"])
    s.proc.send_signal(signal.SIGTERM)
    wait_until(lambda: "lame duck for" in s.logs(), 5, what="lame duck started")
    assert query(s, "4.rails.staging.east.skydns.local", "A").answer
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(5) == 0
    s.proc = None


def test_live_config_change_and_bad_config_kept_out(kv, skydns):
    kv.put(EXAMPLE, {"host": "10.0.1.125"})
    s = skydns()

    def ttl():
        return query(s, "4.rails.staging.east.skydns.local", "A").answer[0].ttl

    assert ttl() == 3600
    kv.put("/skydns/config", {"ttl": 30, "min_ttl": 20})
    wait_until(lambda: ttl() == 30, 5, what="ttl 30 from live config")
    neg = query(s, "nothere.skydns.local", "A")
    assert neg.authority[0].ttl == 20
    kv.put("/skydns/config", {"ttl": "ten"})
    wait_until(lambda: "ttl" in s.logs() and "config" in s.logs(), 5, what="config error logged")
    time.sleep(0.5)
    assert ttl() == 30, "a config that does not parse must leave the previous one in force"
    s.proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    assert s.proc.poll() is None and ttl() == 30


def test_sigterm_finishes_inflight_tcp_and_exits_zero(kv, skydns):
    kv.put(EXAMPLE, {"host": "10.0.1.125"})
    s = skydns()
    q = dns.message.make_query("4.rails.staging.east.skydns.local", "A")
    wire = q.to_wire()
    conns = []
    for _ in range(20):
        c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        conns.append(c)
    # Send a burst of queries on every connection, then SIGTERM before reading.
    for c in conns:
        c.sendall(b"".join(struct.pack("!H", len(wire)) + wire for _ in range(5)))
    time.sleep(0.2)
    s.proc.send_signal(signal.SIGTERM)
    answered = 0
    for c in conns:
        buf = b""
        while True:
            try:
                chunk = c.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
        while len(buf) >= 2:
            n = struct.unpack("!H", buf[:2])[0]
            if len(buf) < 2 + n:
                break
            m = dns.message.from_wire(buf[2:2 + n])
            assert m.answer[0][0].to_text() == "10.0.1.125"
            answered += 1
            buf = buf[2 + n:]
        c.close()
    assert answered == 100, f"{answered} of 100 in-flight TCP queries answered"
    assert s.proc.wait(10) == 0
    s.proc = None


SOCKET_ACTIVATE = "/usr/bin/systemd-socket-activate"


def test_systemd_socket_activation_udp_and_tcp(etcd, kv, workdir):
    kv.put(EXAMPLE, {"host": "10.0.1.125"})
    port = free_port()
    log = open(os.path.join(workdir, "activated.log"), "wb")
    # UDP and TCP at once need two nested activators; the inner one names both fds.
    args = [SOCKET_ACTIVATE, "-d", "-l", f"127.0.0.1:{port}", "--",
            SOCKET_ACTIVATE, "-l", f"127.0.0.1:{port}", "--fdname=dns-udp:dns-tcp", "--",
            SKYDNS_BIN, "-systemd", "-addr", "127.0.0.1:1", "-machines", etcd.url]
    p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    try:
        at = types.SimpleNamespace(addr="127.0.0.1", port=port)
        # The first UDP packet starts skydns; poll until answers are right.
        m = wait_until(lambda: query(at, "4.rails.staging.east.skydns.local", "A", timeout=1).answer,
                       20, what="socket-activated UDP answer")
        assert m[0][0].to_text() == "10.0.1.125"
        t = query(at, "4.rails.staging.east.skydns.local", "A", tcp=True)
        assert t.answer[0][0].to_text() == "10.0.1.125"
    finally:
        stop_pid(p)
        log.close()


LAUNCHER = r"""
import os, socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", int(sys.argv[1])))
os.dup2(u.fileno(), 3)
os.set_inheritable(3, True)
os.environ["LISTEN_FDS"] = "1"
os.environ["LISTEN_PID"] = sys.argv[2] if sys.argv[2] != "self" else str(os.getpid())
os.execv(sys.argv[3], sys.argv[3:])
"""


def test_wrong_listen_pid_is_ignored(etcd, kv, workdir):
    kv.put(EXAMPLE, {"host": "10.0.1.125"})
    inherited, own = free_port(), free_port()
    log = open(os.path.join(workdir, "launcher.log"), "wb")
    p = subprocess.Popen(["/usr/bin/python3", "-c", LAUNCHER, str(inherited), "1",
                          SKYDNS_BIN, "-systemd", "-addr", f"127.0.0.1:{own}", "-machines", etcd.url],
                         stdout=log, stderr=subprocess.STDOUT)
    try:
        at = types.SimpleNamespace(addr="127.0.0.1", port=own)
        # Falls back to its own -addr ...
        wait_until(lambda: query(at, "4.rails.staging.east.skydns.local", "A", timeout=0.5).answer,
                   10, what="fallback to -addr")
        # ... and does not serve the socket meant for another process.
        at.port = inherited
        with pytest.raises(dns.exception.Timeout):
            query(at, "4.rails.staging.east.skydns.local", "A", timeout=1)
    finally:
        stop_pid(p)
        log.close()


def test_sd_notify_ready_after_first_snapshot_and_stopping(kv, skydns, workdir):
    kv.put(EXAMPLE, {"host": "10.0.1.125"})
    path = os.path.join(workdir, "notify.sock")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(path)
    ns.settimeout(10)
    s = skydns(env={"NOTIFY_SOCKET": path}, start=False).start(wait=False)
    msg = ns.recv(4096).decode()
    assert "READY=1" in msg
    # READY means answers are right already.
    assert query(s, "4.rails.staging.east.skydns.local", "A").answer[0][0].to_text() == "10.0.1.125"
    s.proc.send_signal(signal.SIGTERM)
    assert "STOPPING=1" in ns.recv(4096).decode()
    assert s.proc.wait(10) == 0
    s.proc = None
    ns.close()


JOURNAL_SOCKET = "/run/systemd/journal/socket"


def test_log_journal_sends_native_entries_with_levels(kv, skydns, workdir):
    """-log-journal: entries go to the journal's native socket with a
    PRIORITY and our message, not to stderr. Where no journald runs (CI),
    the test listens on the socket path itself; where one runs, it asks
    journalctl."""
    own = not os.path.exists(JOURNAL_SOCKET)
    if own:
        os.makedirs(os.path.dirname(JOURNAL_SOCKET), exist_ok=True)
        js = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        js.bind(JOURNAL_SOCKET)
        js.settimeout(10)
    try:
        kv.put("/skydns/local/skydns/bad", "{not json")
        s = skydns(["-log-journal"])
        assert "level=" not in s.logs(), "with -log-journal nothing is logged to stderr"
        if own:
            entries = []
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not any("bad" in e for e in entries):
                entries.append(js.recv(65536).decode(errors="replace"))
            warn = [e for e in entries if "/skydns/local/skydns/bad" in e]
            assert warn, entries
            assert "PRIORITY=4" in warn[0] and "MESSAGE=" in warn[0], warn[0]
        else:
            out = subprocess.run(["journalctl", "--no-pager", "-o", "cat", "-p", "warning",
                                  "_PID=" + str(s.proc.pid)], capture_output=True, text=True,
                                 timeout=20).stdout
            assert "/skydns/local/skydns/bad" in out
    finally:
        if own:
            js.close()
            os.unlink(JOURNAL_SOCKET)


def test_drops_root_to_the_given_user(kv, skydns):
    kv.put(EXAMPLE, {"host": "10.0.1.125"})
    if os.geteuid() != 0:
        pytest.fail("this test needs to run as root (it checks dropping root)")
    s = skydns(["-user", "nobody"])
    assert query(s, "4.rails.staging.east.skydns.local", "A").answer[0][0].to_text() == "10.0.1.125"
    with open(f"/proc/{s.proc.pid}/status") as f:
        status = f.read()
    uid_line = [line for line in status.splitlines() if line.startswith("Uid:")][0].split()
    nobody = pwd.getpwnam("nobody").pw_uid
    assert uid_line[1:] == [str(nobody)] * 4, uid_line
    assert query(s, "4.rails.staging.east.skydns.local", "A", tcp=True).answer


LAUNCHER_MANY = r"""
import os, socket, sys
v4, v6 = int(sys.argv[1]), int(sys.argv[2])
socks = []
for fam, host, port in ((socket.AF_INET, "127.0.0.1", v4), (socket.AF_INET6, "::1", v6)):
    u = socket.socket(fam, socket.SOCK_DGRAM); u.bind((host, port)); socks.append(u)
    t = socket.socket(fam, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind((host, port)); t.listen(16)
    socks.append(t)
for i, s in enumerate(socks):
    os.dup2(s.fileno(), 3 + i)
    os.set_inheritable(3 + i, True)
os.environ["LISTEN_FDS"] = str(len(socks))
os.environ["LISTEN_FDNAMES"] = "udp4:tcp4:udp6:tcp6"
os.environ["LISTEN_PID"] = str(os.getpid())  # exec keeps the pid
os.execv(sys.argv[3], sys.argv[3:])
"""


def test_socket_activation_several_sockets_ipv4_and_ipv6(etcd, kv, workdir):
    kv.put(EXAMPLE, {"host": "10.0.1.125"})
    v4, v6 = free_port(), free_port()
    log = open(os.path.join(workdir, "launcher-many.log"), "wb")
    p = subprocess.Popen(["/usr/bin/python3", "-c", LAUNCHER_MANY, str(v4), str(v6),
                          SKYDNS_BIN, "-systemd", "-addr", "127.0.0.1:1", "-machines", etcd.url],
                         stdout=log, stderr=subprocess.STDOUT)
    try:
        for addr, port in (("127.0.0.1", v4), ("::1", v6)):
            at = types.SimpleNamespace(addr=addr, port=port)
            m = wait_until(lambda a=at: query(a, "4.rails.staging.east.skydns.local", "A",
                                              timeout=1).answer, 15, what=f"UDP on {addr}")
            assert m[0][0].to_text() == "10.0.1.125"
            t = query(at, "4.rails.staging.east.skydns.local", "A", tcp=True)
            assert t.answer[0][0].to_text() == "10.0.1.125"
    finally:
        stop_pid(p)
        log.close()
