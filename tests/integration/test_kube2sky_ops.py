"""Operating kube2sky (issue 7): Prometheus metrics on the health listener
(or a separate one), the one log format, --verbose event logs,
--log-journal, and a bounded clean shutdown on SIGTERM.

Reuses test_kube2sky's fake API server, kube2sky and etcd fixtures; the
metrics are parsed with Debian's python3-prometheus-client parser.
"""

import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse

import pytest
from prometheus_client.parser import text_string_to_metric_families

import test_kube2sky as k2s
from conftest import free_port, wait_until
from test_kube2sky import api, kube2sky, mode, svc_obj  # noqa: F401 - pytest fixtures

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=(debug|info|warn|error) "
                      r"comp=[a-z0-9]+ \S")


def scrape(k, path="/metrics", port=None):
    """{(sample name, frozenset(labels)): value} from one scrape."""
    port = port or k.health_port
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = r.read().decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def val(m, name, **labels):
    return m.get((name, frozenset(labels.items())))


def wait_metric(k, cond, what, timeout=15):
    """Scrape until cond(metrics) holds; returns the last scrape."""
    box = {}

    def check():
        box["m"] = scrape(k)
        return cond(box["m"])
    try:
        wait_until(check, timeout, what=what)
    except AssertionError:
        raise AssertionError(f"{what}: last scrape {sorted(box.get('m', {}).items())}\n{k.logs()[-3000:]}")
    return box["m"]


def owned_keys(etcd):
    # nothing but kube2sky writes below /skydns/ here; its zone marker is no record
    return {k: v for k, v in k2s.etcd_keys(etcd).items() if not k.startswith("/skydns/kube2sky/")}


def test_metrics_follow_events(workdir, etcd, api, kube2sky):
    t0 = time.time()
    a = api()
    k = kube2sky(["--kube-master-url", a.url])
    k.wait_ready()
    n_svc = len(a.state.objects["services"])
    m = wait_metric(k, lambda m: val(m, "kube2sky_keys_owned") == len(owned_keys(etcd)),
                    "keys_owned == keys in etcd")
    assert val(m, "kube2sky_objects_watched", resource="services") == n_svc
    assert val(m, "kube2sky_objects_watched", resource="endpointslices") == 1
    assert val(m, "kube2sky_relists_total", resource="services", reason="start") == 1
    assert val(m, "kube2sky_relists_total", resource="endpointslices", reason="start") == 1
    assert val(m, "kube2sky_relists_total", resource="services", reason="expired") == 0
    assert val(m, "kube2sky_etcd_writes_total", op="put") == len(owned_keys(etcd))
    assert val(m, "kube2sky_etcd_write_failures_total", op="put") == 0
    assert t0 - 1 <= val(m, "kube2sky_last_sync_timestamp_seconds") <= time.time() + 1
    puts, hist = val(m, "kube2sky_etcd_writes_total", op="put"), val(m, "kube2sky_event_to_write_seconds_count")

    # A new service: its A, SRV and PTR keys are written and timed.
    a.state.apply(svc_obj("fresh", ip="10.96.3.3"))
    m = wait_metric(k, lambda m: val(m, "kube2sky_objects_watched", resource="services") == n_svc + 1 and
                    val(m, "kube2sky_etcd_writes_total", op="put") >= puts + 3 and
                    val(m, "kube2sky_event_to_write_seconds_count") >= hist + 1,
                    "a service added moves objects, puts and the histogram")
    assert val(m, "kube2sky_keys_owned") == len(owned_keys(etcd))
    assert val(m, "kube2sky_event_to_write_seconds_bucket", le="+Inf") == \
        val(m, "kube2sky_event_to_write_seconds_count")
    assert val(m, "kube2sky_event_to_write_seconds_sum") > 0

    # Deleted: its keys are deleted and counted.
    a.state.delete("Service", "default", "fresh")
    m = wait_metric(k, lambda m: val(m, "kube2sky_etcd_writes_total", op="delete") >= 3 and
                    val(m, "kube2sky_objects_watched", resource="services") == n_svc,
                    "a service deleted moves deletes and objects")
    assert val(m, "kube2sky_keys_owned") == len(owned_keys(etcd))

    # An ERROR 410 inside the watch stream: both resources relist as "expired".
    a.state.expire()
    m = wait_metric(k, lambda m: val(m, "kube2sky_relists_total", resource="services", reason="expired") == 1
                    and val(m, "kube2sky_relists_total", resource="endpointslices", reason="expired") == 1,
                    "410 counted as expired relists")
    assert val(m, "kube2sky_relists_total", resource="services", reason="start") == 1
    assert val(m, "kube2sky_relists_total", resource="services", reason="error") == 0


def test_api_down_counts_errors_and_restarts(workdir, etcd, api, kube2sky):
    a = api()
    k = kube2sky(["--kube-master-url", a.url])
    k.wait_ready()
    a.stop()  # every watch is cut, new requests are refused
    m = wait_metric(k, lambda m: val(m, "kube2sky_api_errors_total", resource="services", op="watch") >= 1
                    and val(m, "kube2sky_api_connected") == 0,
                    "watch errors counted and api_connected 0 while the API is down")
    assert val(m, "kube2sky_etcd_connected") == 1
    # the first sync is done: an API outage shows in the metric, not in readiness
    status, body = k.health("/readyz")
    assert status == 200 and "api" in body, (status, body)
    a.start()
    k.wait_ready()
    wait_metric(k, lambda m: val(m, "kube2sky_api_connected") == 1, "api_connected 1 again")
    m = wait_metric(k, lambda m: sum(val(m, "kube2sky_watch_restarts_total", resource="services", reason=r)
                                     for r in ("closed", "error")) >= 1, "watch restarts counted")
    assert val(m, "kube2sky_relists_total", resource="services", reason="expired") == 0
    # and the next event is still published
    a.state.apply(svc_obj("after", ip="10.96.3.9"))
    wait_metric(k, lambda m: val(m, "kube2sky_objects_watched", resource="services") ==
                len(a.state.objects["services"]), "events after the outage")


SVC_PATH = "/api/v1/services"


def requests_to(a, path, watch):
    """The query strings (as dicts) of the fake API's requests to path: its
    WATCHes (watch=True) or its LIST pages."""
    out = []
    for raw in list(a.requests):
        u = urllib.parse.urlsplit(raw)
        q = dict(urllib.parse.parse_qsl(u.query))
        if u.path == path and (q.get("watch") in ("1", "true")) == watch:
            out.append(q)
    return out


def open_watch(a, res, stalled=False):
    """The fake API's open watch handler for res (stalled ones if asked)."""
    hs = [h for h in list(a.watchers) if getattr(h, "res", None) == res and h.stalled == stalled]
    return hs[0] if hs else None


def test_stalled_watch_resumes_from_last_rv(workdir, etcd, api, kube2sky):
    """A watch that goes silent mid-stream (a hung proxy, a half-open
    connection) is given up after --watch-progress-timeout and resumed from
    the last resourceVersion it delivered: no relist, no rewrite of the
    records already in etcd, and the change made meanwhile is published."""
    a = api()
    k = kube2sky(["--kube-master-url", a.url, "--watch-progress-timeout", "2"])
    k.wait_ready()
    wait_metric(k, lambda m: val(m, "kube2sky_keys_owned") == len(owned_keys(etcd)), "first sync written")
    before = owned_keys(etcd)
    lists, watches = len(requests_to(a, SVC_PATH, False)), len(requests_to(a, SVC_PATH, True))
    a.state.stall("services")
    wait_until(lambda: open_watch(a, "services", stalled=True), 5, what="services watch stalled")
    last_rv = open_watch(a, "services", stalled=True).last_rv
    a.state.apply(svc_obj("after-stall", ip="10.96.7.7"))

    def published():
        return any(key.startswith("/skydns/local/cluster/svc/default/after-stall/")
                   for key in owned_keys(etcd))
    # 2 s of silence plus about a second to notice it; 15 s is generous
    m = wait_metric(k, lambda m: val(m, "kube2sky_watch_restarts_total", resource="services",
                                     reason="stalled") >= 1 and published(),
                    "stalled watch restarted and the change published", timeout=15)
    assert "level=warn comp=api watch services: no progress for 2s, reconnecting" in k.logs(), \
        k.logs()[-2000:]
    assert a.stalled_dropped >= 1, "kube2sky closed the stalled connection"
    rewatch = requests_to(a, SVC_PATH, True)[watches:]
    assert rewatch and rewatch[0]["resourceVersion"] == last_rv, (rewatch, last_rv)
    # resumed, not relisted; the other resource's watch had bookmarks: untouched
    assert len(requests_to(a, SVC_PATH, False)) == lists
    assert val(m, "kube2sky_relists_total", resource="services", reason="start") == 1
    assert val(m, "kube2sky_relists_total", resource="services", reason="expired") == 0
    assert val(m, "kube2sky_relists_total", resource="services", reason="error") == 0
    assert val(m, "kube2sky_watch_restarts_total", resource="endpointslices", reason="stalled") == 0
    after = owned_keys(etcd)
    assert {key: after.get(key) for key in before} == before  # same values, same mod_revisions


def test_bookmarks_keep_a_quiet_watch(workdir, etcd, api, kube2sky):
    """No events for several progress deadlines, but a BOOKMARK every
    second: the watch is healthy and stays open."""
    a = api()
    a.state.bookmark_interval = 1.0
    k = kube2sky(["--kube-master-url", a.url, "--watch-progress-timeout", "3"])
    k.wait_ready()
    wait_until(lambda: open_watch(a, "services"), 5, what="services watch open")
    h = open_watch(a, "services")
    watches, events = len(requests_to(a, SVC_PATH, True)), dict(h.sent)
    end = time.monotonic() + 8  # more than two deadlines of no event at all
    while time.monotonic() < end:
        m = scrape(k)
        assert not any(val(m, "kube2sky_watch_restarts_total", resource=r, reason="stalled")
                       for r in ("services", "endpointslices")), k.logs()[-2000:]
        time.sleep(0.5)
    assert h.sent.get("BOOKMARK", 0) - events.get("BOOKMARK", 0) >= 4, h.sent
    assert {t: n for t, n in h.sent.items() if t != "BOOKMARK"} == \
        {t: n for t, n in events.items() if t != "BOOKMARK"}, "the window had no event"
    assert len(requests_to(a, SVC_PATH, True)) == watches and open_watch(a, "services") is h
    assert "no progress" not in k.logs()


def test_separate_metrics_listener_and_prefix(workdir, etcd, api, kube2sky):
    a = api()
    port = free_port()
    k = kube2sky(["--kube-master-url", a.url, "--metrics-addr", f"127.0.0.1:{port}",
                  "--metrics-path", "/prom", "--metrics-namespace", "ops", "--metrics-subsystem", "k2s"])
    k.wait_ready()
    m = scrape(k, "/prom", port)
    assert val(m, "ops_k2s_relists_total", resource="services", reason="start") == 1
    assert not any(name.startswith("kube2sky_") for name, _ in m)
    assert k.health("/prom")[0] == 404          # not on the health listener
    assert k.health("/metrics")[0] == 404
    assert k.health("/healthz")[0] == 200


def test_bad_metrics_flags(workdir, etcd):
    def run(*args):
        return subprocess.run([k2s.KUBE2SKY_BIN, "--kube-master-url", "http://127.0.0.1:1",
                               "--etcd-server", etcd.url, "--health-addr", f"127.0.0.1:{free_port()}", *args],
                              capture_output=True, text=True, timeout=15)
    # A bad setting: one line naming it, status 2.
    for args, want in ((["--metrics-path", "prom"], '--metrics-path "prom" must start with /'),
                       (["--metrics-addr", "127.0.0.1:notaport"], '--metrics-addr "127.0.0.1:notaport"'),
                       (["--health-addr", "nohost"], '--health-addr "nohost"')):
        p = run(*args)
        assert p.returncode == 2, p.stderr
        assert p.stderr.count("\n") == 1 and want in p.stderr, p.stderr
    # A port already taken: said so, status 1 (after a clean stop).
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        p = run("--metrics-addr", f"127.0.0.1:{busy.getsockname()[1]}")
    assert p.returncode == 1, p.stderr
    assert "cannot listen for metrics metrics-addr=127.0.0.1:" in p.stderr, p.stderr


def test_one_log_format_and_verbose_events(workdir, etcd, api, kube2sky):
    a = api()
    k = kube2sky(["--kube-master-url", a.url, "--verbose"])
    k.wait_ready()
    a.state.apply(svc_obj("loud", ip="10.96.4.4"))
    wait_until(lambda: "service synced service=default/loud" in k.logs(), 15, what="writer debug line")
    logs = k.logs()
    assert "level=debug comp=api watch event type=ADDED resource=services object=default/loud" in logs
    k.stop()
    lines = [l for l in k.logs().splitlines() if l.strip()]
    bad = [l for l in lines if not LOG_LINE.match(l)]
    assert not bad, bad
    assert "level=info comp=kube2sky stopped" in lines[-1]


def test_log_journal_keeps_stderr_quiet(workdir, etcd, api, kube2sky):
    a = api()
    k = kube2sky(["--kube-master-url", a.url, "--log-journal"])
    k.wait_ready()
    assert "level=" not in k.logs()


class Tarpit:
    """A TCP listener that accepts and never answers (a hung API server or
    etcd member). Bounded: it closes everything after `life` seconds."""

    def __init__(self, life=30):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.conns, self.stop_ev = [], threading.Event()
        self.deadline = time.monotonic() + life
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop_ev.is_set() and time.monotonic() < self.deadline:
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except OSError:
                continue

    def close(self):
        self.stop_ev.set()
        self.thread.join(5)
        for c in self.conns:
            c.close()
        self.sock.close()


def sigterm(k, bound=10):
    """SIGTERM; the exit code, which must come within `bound` seconds."""
    k.proc.send_signal(signal.SIGTERM)
    try:
        rc = k.proc.wait(bound)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"kube2sky still running {bound}s after SIGTERM:\n{k.logs()[-3000:]}")
    k.proc = None
    k.log.close()
    return rc


def burst_keys(etcd, n):
    """Per burst service: how many of its 3 keys (A, SRV, PTR) are in etcd."""
    keys = owned_keys(etcd)
    out = []
    for i in range(n):
        own = sum(1 for key in keys if key.startswith(f"/skydns/local/cluster/svc/default/burst{i}/"))
        ptr = f"/skydns/arpa/in-addr/10/96/{5 + i // 200}/{i % 200 + 1}"
        out.append(own + (ptr in keys))
    return out


def test_sigterm_during_writes_exits_0(workdir, etcd, api, kube2sky):
    a = api()
    k = kube2sky(["--kube-master-url", a.url])
    k.wait_ready()
    n = 150
    puts = wait_metric(k, lambda m: val(m, "kube2sky_last_sync_timestamp_seconds") > 0, "first sync")
    puts = val(puts, "kube2sky_etcd_writes_total", op="put")
    for i in range(n):
        a.state.apply(svc_obj(f"burst{i}", ip=f"10.96.{5 + i // 200}.{i % 200 + 1}"))
    wait_until(lambda: val(scrape(k), "kube2sky_etcd_writes_total", op="put") > puts + 12, 10,
               interval=0.01, what="burst writes started")
    assert sigterm(k) == 0
    assert "stopped" in k.logs()
    # The writer stops between services, never inside one: each service has
    # all its records or none.
    counts = burst_keys(etcd, n)
    assert set(counts) <= {0, 3}, counts
    # and a restart completes the rest.
    k2 = kube2sky(["--kube-master-url", a.url])
    k2.wait_ready()
    wait_until(lambda: burst_keys(etcd, n) == [3] * n, 20, what="all burst records after restart")


def test_sigterm_while_api_hangs_exits_0(workdir, etcd, kube2sky):
    pit = Tarpit()
    try:
        k = kube2sky(["--kube-master-url", f"http://127.0.0.1:{pit.port}"])
        wait_until(lambda: len(pit.conns) >= 2, 10, what="both LISTs sent")
        assert sigterm(k, 5) == 0
    finally:
        pit.close()


def test_sigterm_while_etcd_hangs_is_bounded(workdir, api, kube2sky):
    a = api()
    pit = Tarpit()
    try:
        # The etcd request in flight (5 s timeout) is waited for: exit 0.
        k = kube2sky(["--kube-master-url", a.url], etcd_url=f"http://127.0.0.1:{pit.port}")
        wait_until(lambda: len(pit.conns) >= 1, 10, what="etcd request sent")
        assert sigterm(k, 10) == 0
        # A shutdown bound shorter than that request: exit 1, and said so.
        n = len(pit.conns)
        k = kube2sky(["--kube-master-url", a.url, "--shutdown-timeout", "1"],
                     etcd_url=f"http://127.0.0.1:{pit.port}")
        wait_until(lambda: len(pit.conns) > n, 10, what="etcd request sent")
        assert sigterm(k, 4) == 1
        assert "shutdown did not finish in time" in k.logs()
    finally:
        pit.close()


def test_default_health_addr_is_the_manifests_and_not_skydns():
    """Run side by side with the defaults, kube2sky's health listener must not
    take the port skydns's uses: kube2sky defaults to the manifests' 8082."""
    src = os.environ.get("SKYDNS_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
    with open(os.path.join(src, "deploy", "05-deployment.yaml.in")) as f:
        manifest = f.read()
    k2s_port = re.search(r"- --health-addr=\{LISTEN_HOST\}:(\d+)", manifest).group(1)
    sky_port = re.search(r"- -health-addr=\{LISTEN_HOST\}:(\d+)", manifest).group(1)
    p = subprocess.run([k2s.KUBE2SKY_BIN, "-h"], capture_output=True, text=True, timeout=10)
    lines = (p.stdout + p.stderr).splitlines()  # skydns's layout: "  -flag type", then help
    line = lines[lines.index("  -health-addr string") + 1]
    assert f'(default ":{k2s_port}")' in line and k2s_port != sky_port, (line, k2s_port, sky_port)
