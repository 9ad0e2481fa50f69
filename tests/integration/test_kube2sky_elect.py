"""kube2sky replicas on a shared etcd v3 cluster elect one writer (issue 18).

A 3-member etcd cluster on 127.0.0.1 (distinct high peer and client ports,
one data dir each), kube2sky and skydns given all three members, the fake
API server of test_kube2sky. Leader TTL 3 s. Every process is stopped by
PID; every wait is bounded.
"""

import base64
import os
import re
import signal
import subprocess
import threading
import time

import dns.rcode
import pytest

import conftest
from conftest import _http, b64, free_port, stop_pid, wait_until
from test_kube2sky import Kube2Sky, answers, fakeapi, svc_obj, wait_answer

ZONE = "cluster.local."
TTL = 3
LEADER_KEY = "/skydns/kube2sky/cluster.local/leader"
WEB = "web.default.svc.cluster.local."
FIXTURES = ["service-clusterip.json", "service-headless.json", "endpointslice-headless.json"]


class Cluster:
    """Three etcd members on loopback, stopped by PID."""

    def __init__(self, workdir, n=3):
        self.workdir = workdir
        self.members = [{"name": f"m{i}", "client": free_port(), "peer": free_port(),
                         "proc": None} for i in range(n)]
        self.urls = [f"http://127.0.0.1:{m['client']}" for m in self.members]
        self.url = ",".join(self.urls)
        self.initial = ",".join(f"{m['name']}=http://127.0.0.1:{m['peer']}" for m in self.members)
        self.logs = []

    def start(self):
        for m, url in zip(self.members, self.urls):
            peer = f"http://127.0.0.1:{m['peer']}"
            log = open(os.path.join(self.workdir, f"etcd-{m['name']}.log"), "ab")
            self.logs.append(log)
            m["proc"] = subprocess.Popen(
                [conftest.ETCD_BIN, "--name", m["name"],
                 "--data-dir", os.path.join(self.workdir, f"etcd-{m['name']}"),
                 "--listen-client-urls", url, "--advertise-client-urls", url,
                 "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                 "--initial-cluster", self.initial, "--initial-cluster-state", "new",
                 "--initial-cluster-token", f"elect-{self.members[0]['client']}", "--log-level", "warn"],
                stdout=log, stderr=subprocess.STDOUT)
        try:
            for url in self.urls:
                wait_until(lambda u=url: self.healthy(u), 20, what=f"etcd {url} health")
        except AssertionError:
            self.stop()
            raise
        return self

    @staticmethod
    def healthy(url):
        try:
            st, body = _http("GET", url + "/health", timeout=1)
            return st == 200 and body.get("health") == "true"
        except OSError:
            return False

    def kill(self, i):
        stop_pid(self.members[i]["proc"])
        self.members[i]["proc"] = None

    def stop(self):
        for m in self.members:
            if m["proc"]:
                stop_pid(m["proc"])
                m["proc"] = None
        for log in self.logs:
            log.close()

    def get(self, key, url=None):
        """(value, lease) of key through any live member, or None."""
        for u in ([url] if url else self.urls):
            try:
                st, body = _http("POST", u + "/v3/kv/range", {"key": b64(key)}, timeout=2)
            except OSError:
                continue
            if st == 200:
                kvs = body.get("kvs", [])
                if not kvs:
                    return None
                return base64.b64decode(kvs[0].get("value", "")).decode(), kvs[0].get("lease")
        raise AssertionError("no etcd member answered")


def metric(k, name):
    """Sum of every series of kube2sky_<name> on k's /metrics (None if down)."""
    st, body = k.health("/metrics")
    if st != 200:
        return None
    vals = [float(v) for v in re.findall(rf"^kube2sky_{name}(?:{{[^}}]*}})? (\S+)$", body, re.M)]
    return sum(vals) if vals else None


def start_k2s(workdir, cluster, api_url):
    return Kube2Sky(workdir, ["--domain", "cluster.local", "--etcd-server", cluster.url, "--etcd3",
                              "--watch-timeout", "30", "--leader-ttl", f"{TTL}s",
                              "--kube-master-url", api_url]).start()


def leaders(ks):
    return [k for k in ks if k.alive() and metric(k, "leader") == 1]


def wait_one_leader(ks, timeout):
    wait_until(lambda: len(leaders(ks)) == 1, timeout, what="exactly one leader")
    return leaders(ks)[0]


class Env:
    def __init__(self, workdir):
        self.workdir = workdir
        self.cluster = Cluster(workdir).start()
        self.api = fakeapi.FakeAPI()
        self.api.state.bookmark_interval = 0.5
        for name in FIXTURES:
            self.api.state.apply(fakeapi.load_fixture(name))
        self.api_url = self.api.start().url
        self.ks, self.skydns = [], []

    def k2s(self):
        k = start_k2s(self.workdir, self.cluster, self.api_url)
        self.ks.append(k)
        return k

    def dns(self):
        s = conftest.SkyDNS(self.workdir, self.cluster.url, "v3", ["-no-rec"], domain=ZONE).start()
        self.skydns.append(s)
        return s

    def close(self):
        for k in self.ks:
            if k.proc is not None and k.proc.poll() is None:
                os.kill(k.proc.pid, signal.SIGCONT)
            k.stop()
        for s in self.skydns:
            s.stop()
        self.api.stop()
        self.cluster.stop()


@pytest.fixture
def env(workdir):
    e = Env(workdir)
    yield e
    e.close()


class Hammer:
    """Queries names in a loop from a thread; records every failure."""

    def __init__(self, server, names):
        self.server, self.names, self.bad, self.stop = server, names, [], threading.Event()
        self.n = 0
        self.t = threading.Thread(target=self.run)
        self.t.start()

    def run(self):
        deadline = time.monotonic() + 90
        while not self.stop.is_set() and time.monotonic() < deadline:
            for name in self.names:
                try:
                    rc, got = answers(self.server, name, "A")
                except Exception as e:  # noqa: BLE001 - a timeout is a failure too
                    self.bad.append((name, repr(e)))
                    continue
                self.n += 1
                if rc != 0 or not got:
                    self.bad.append((name, dns.rcode.to_text(rc), got))
            time.sleep(0.02)

    def close(self):
        self.stop.set()
        self.t.join(10)


def test_lone_kube2sky_leads_at_once(env):
    k = env.k2s()
    k.wait_ready()
    wait_until(lambda: metric(k, "leader") == 1, 5, what="leader gauge 1")
    assert "became leader" in k.logs()
    value, lease = env.cluster.get(LEADER_KEY)
    assert re.fullmatch(r"[0-9a-f]{16}", value) and lease
    s = env.dns()
    wait_answer(s, WEB, "A", ["10.96.0.50"])
    # the leader key is kube2sky's own: not a record, not a (bad) marker
    assert "ignoring zone marker" not in s.logs()
    assert answers(s, "leader.cluster.local.", "A")[0] == dns.rcode.NXDOMAIN


def test_two_kube2sky_one_leader_follower_writes_nothing(env):
    a, b = env.k2s(), env.k2s()
    a.wait_ready()
    b.wait_ready()  # the follower is ready once its caches synced
    leader = wait_one_leader([a, b], 10)
    follower = b if leader is a else a
    assert metric(follower, "leader") == 0
    assert "following " in follower.logs()
    # a change: the leader writes it, the follower does not
    env.api.state.apply(svc_obj("extra", ip="10.96.3.3"))
    s = env.dns()
    wait_answer(s, "extra.default.svc.cluster.local.", "A", ["10.96.3.3"])
    time.sleep(1)
    assert metric(leader, "etcd_writes_total") > 0
    assert metric(follower, "etcd_writes_total") == 0
    assert metric(follower, "leader") == 0 and metric(leader, "leader") == 1


def test_sigkill_leader_follower_takes_over(env):
    a, b = env.k2s(), env.k2s()
    a.wait_ready()
    b.wait_ready()
    leader = wait_one_leader([a, b], 10)
    other = b if leader is a else a
    s = env.dns()
    wait_answer(s, WEB, "A", ["10.96.0.50"])
    h = Hammer(s, [WEB, "pg.db.svc.cluster.local."])
    try:
        t0 = time.monotonic()
        leader.proc.kill()  # SIGKILL: no revoke, the lease has to run out
        leader.proc.wait(5)
        wait_until(lambda: metric(other, "leader") == 1, TTL + 4, what="the other leads")
        took = time.monotonic() - t0
        env.api.state.apply(svc_obj("after", ip="10.96.4.4"))
        wait_answer(s, "after.default.svc.cluster.local.", "A", ["10.96.4.4"], timeout=10)
    finally:
        h.close()
    assert h.n > 20 and not h.bad, h.bad[:10]
    assert took <= TTL + 4, took
    print(f"failover after SIGKILL: {took:.1f} s (TTL {TTL} s)")


def test_sigstop_old_leader_resumes_and_steps_down(env):
    a, b = env.k2s(), env.k2s()
    a.wait_ready()
    b.wait_ready()
    old = wait_one_leader([a, b], 10)
    new = b if old is a else a
    s = env.dns()
    wait_answer(s, WEB, "A", ["10.96.0.50"])
    os.kill(old.proc.pid, signal.SIGSTOP)
    try:
        wait_until(lambda: metric(new, "leader") == 1, TTL + 4, what="the other leads")
        env.api.state.apply(svc_obj("web", ip="10.96.0.99"))
        wait_answer(s, WEB, "A", ["10.96.0.99"], timeout=10)
        env.api.state.apply(svc_obj("web", ip="10.96.0.98"))
        wait_answer(s, WEB, "A", ["10.96.0.98"], timeout=10)
    finally:
        os.kill(old.proc.pid, signal.SIGCONT)
    wait_until(lambda: metric(old, "leader") == 0, 10, what="the old leader's gauge 0")
    wait_until(lambda: "stepped down" in old.logs() or "fenced write was refused" in old.logs(),
               10, what="the old leader logs its step-down")
    value, _ = env.cluster.get(LEADER_KEY)
    assert f"id={value}" in new.logs()  # the new leader still holds the key
    for _ in range(10):  # the old one's pending writes failed the fence
        assert answers(s, WEB, "A") == (0, ["10.96.0.98"])
        time.sleep(0.2)
    assert metric(new, "leader") == 1 and metric(old, "leader") == 0


def test_etcd_member_killed_during_updates(env):
    k = env.k2s()
    k.wait_ready()
    wait_until(lambda: metric(k, "leader") == 1, 5, what="leader gauge 1")
    s = env.dns()
    wait_answer(s, WEB, "A", ["10.96.0.50"])
    env.cluster.kill(0)  # the first member: both clients are talking to it
    for i in range(1, 4):
        env.api.state.apply(svc_obj("web", ip=f"10.96.0.{60 + i}"))
        wait_answer(s, WEB, "A", [f"10.96.0.{60 + i}"], timeout=20)
    env.api.state.apply(svc_obj("late", ip="10.96.5.5"))
    wait_answer(s, "late.default.svc.cluster.local.", "A", ["10.96.5.5"], timeout=20)
    assert metric(k, "leader") == 1


def test_sigterm_leader_hands_over_at_once(env):
    """SIGTERM: the leader finishes its writes, exits 0 and revokes its lease,
    so the follower leads after one poll, well before the TTL runs out."""
    a, b = env.k2s(), env.k2s()
    a.wait_ready()
    b.wait_ready()
    leader = wait_one_leader([a, b], 10)
    other = b if leader is a else a
    t0 = time.monotonic()
    assert leader.stop() == 0
    wait_until(lambda: metric(other, "leader") == 1, TTL + 4, interval=0.05, what="the other leads")
    took = time.monotonic() - t0
    assert "leader lease revoked for a fast hand-over" in leader.logs()
    assert took < TTL - 0.5, took
    print(f"hand-over after SIGTERM: {took:.1f} s (TTL {TTL} s)")
