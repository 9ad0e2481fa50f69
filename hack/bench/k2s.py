#!/usr/bin/python3
"""hack/bench/k2s.py - kube2sky at scale (issue 19; not in ctest).

Driven by hack/bench/k2s.sh; usable alone:

  k2s.py --build build --n 1000 [--rate 100] [--secs 20]

On 127.0.0.1 high ports, everything started stopped by PID on exit:
  1. a fresh etcd (v3, one member, fsync on: data dir under --data-dir),
     the fake API server (tests/fakeapi, in this process) holding N
     Services: 30 % headless with 3 ready endpoints, the rest ClusterIP
     with 2 named ports; skydns (-etcd3) on the zone;
  2. kube2sky started; sync time = exec -> /readyz 200, and exec -> every
     one of the N names answering its addresses (a sweep of all N names
     repeated until none is missing or wrong; the time includes the last
     sweep); etcd requests (kube2sky_etcd_requests_total and etcd's
     revision delta, one per write request) and keys written;
  3. load: --rate endpoint events/s for --secs s (one endpoint address of a
     headless Service changes, on an absolute schedule), while a sampler
     changes one more Service at a time and times event -> skydns answers
     the new address (polled every 2 ms, bounded 10 s): p50/p90/p99 over the
     samples taken while the load runs (>= 50 wanted); then the time until
     kube2sky's queue_length is 0 after the load stops;
  4. CPU seconds (utime+stime) of kube2sky, skydns and etcd for the sync and
     for the load phase; kube2sky VmRSS after the sync and after the load.
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import dns.message
import dns.rdatatype

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "fakeapi"))
import fakeapi  # noqa: E402

ZONE = "cluster.local."
HZ = os.sysconf("SC_CLK_TCK")
NS = "load"


def log(msg):
    print(msg, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def http_get(url, timeout=2):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return None, str(e)


def http_post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def wait_until(cond, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise SystemExit(f"timed out after {timeout} s: {what}")


# ------------------------------------------------------------ the cluster


def ip(base, i, gen):
    return f"10.{base + gen % 50}.{i // 250}.{i % 250 + 1}"


def headless(i):
    return i % 10 < 3


def svc_obj(i):
    name = f"s{i}"
    o = fakeapi.load_fixture("service-clusterip.json")
    o["metadata"].update({"name": name, "namespace": NS, "uid": f"uid-{i}"})
    a = "None" if headless(i) else ip(96, i, 0)
    ports = [("http", 80), ("metrics", 9100)] if not headless(i) else [("sql", 5432)]
    o["spec"].update({"clusterIP": a, "clusterIPs": [a],
                      "ports": [{"name": n, "protocol": "TCP", "port": p, "targetPort": p}
                                for n, p in ports]})
    return o


def slice_obj(i, gen):
    """Service i's EndpointSlice: 3 ready endpoints, the first shifted by gen."""
    o = fakeapi.load_fixture("endpointslice-headless.json")
    o["metadata"].update({"name": f"s{i}-x", "namespace": NS})
    o["metadata"]["labels"]["kubernetes.io/service-name"] = f"s{i}"
    o["endpoints"] = [{"addresses": [a], "conditions": {"ready": True, "serving": True,
                                                         "terminating": False},
                       "nodeName": "node-1"}
                      for a in (ip(100, i, gen), ip(160, i, 0), ip(170, i, 0))]
    o["ports"] = [{"name": "sql", "protocol": "TCP", "port": 5432}]
    return o


def want(i, gen=0):
    if headless(i):
        return sorted([ip(100, i, gen), ip(160, i, 0), ip(170, i, 0)])
    return [ip(96, i, 0)]


# ------------------------------------------------------------ DNS


class Resolver:
    """One UDP socket; a sweep pipelines queries in windows of 256."""

    def __init__(self, port):
        self.addr = ("127.0.0.1", port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(0.5)

    def ask(self, name):
        q = dns.message.make_query(name, "A")
        self.sock.sendto(q.to_wire(), self.addr)
        while True:
            data = self.sock.recv(4096)
            r = dns.message.from_wire(data)
            if r.id == q.id:
                return r

    def addrs(self, name):
        try:
            r = self.ask(name)
        except (socket.timeout, OSError):
            return None
        return sorted(rd.address for rr in r.answer if rr.rdtype == dns.rdatatype.A for rd in rr)

    def sweep(self, idx, gens, exact=True):
        """Indices in idx whose name does not answer want(i, gens[i]) yet.
        exact=False only checks NOERROR with the right number of answers
        (header bytes, no parse: a sweep of 10,000 names stays well under a
        second; the addresses are checked by exact sweeps)."""
        bad = []
        for s in range(0, len(idx), 256):
            win = idx[s:s + 256]
            wires = {}
            for n, i in enumerate(win):
                q = dns.message.make_query(f"s{i}.{NS}.svc.{ZONE}", "A")
                q.id = n
                wires[n] = q.to_wire()
                self.sock.sendto(wires[n], self.addr)
            got = {}
            try:
                while len(got) < len(win):
                    data = self.sock.recv(4096)
                    n = int.from_bytes(data[:2], "big")
                    if n >= len(win) or n in got:
                        continue
                    i = win[n]
                    if exact:
                        r = dns.message.from_wire(data)
                        got[n] = sorted(rd.address for rr in r.answer
                                        if rr.rdtype == dns.rdatatype.A for rd in rr)
                        got[n] = got[n] == want(i, gens.get(i, 0))
                    else:
                        got[n] = (data[3] & 15) == 0 and int.from_bytes(data[6:8], "big") == len(want(i))
            except socket.timeout:
                pass
            bad += [i for n, i in enumerate(win) if not got.get(n)]
        return bad


# ------------------------------------------------------------ processes


class Procs:
    def __init__(self, work):
        self.work, self.procs = work, []

    def start(self, name, args):
        f = open(os.path.join(self.work, f"{name}.log"), "wb")
        p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def stop_all(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def start_etcd(procs, data_dir):
    cport, pport = free_port(), free_port()
    url = f"http://127.0.0.1:{cport}"
    peer = f"http://127.0.0.1:{pport}"
    p = procs.start("etcd", [shutil.which("etcd") or "/usr/bin/etcd", "--name", "b",
                             "--data-dir", data_dir, "--listen-client-urls", url,
                             "--advertise-client-urls", url, "--listen-peer-urls", peer,
                             "--initial-advertise-peer-urls", peer, "--initial-cluster",
                             f"b={peer}", "--log-level", "warn"])
    wait_until(lambda: http_get(url + "/health")[0] == 200, 20, "etcd health")
    return p, url


def revision(url):
    return int(http_post(url + "/v3/kv/range", {"key": "eA=="})["header"]["revision"])


def metric(port, name):
    st, body = http_get(f"http://127.0.0.1:{port}/metrics")
    for line in body.splitlines() if st == 200 else []:
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")


# ------------------------------------------------------------ phases


def sync_phase(a, args, procs, etcd_url, dns_port, res):
    hport = free_port()
    rev0 = revision(etcd_url)
    t0 = time.monotonic()
    k = procs.start("kube2sky", [os.path.join(args.build, "kube2sky", "kube2sky"), "--domain",
                                 "cluster.local", "--etcd-server", etcd_url, "--etcd3",
                                 "--kube-master-url", a.url, "--health-addr",
                                 f"127.0.0.1:{hport}"])
    wait_until(lambda: http_get(f"http://127.0.0.1:{hport}/readyz")[0] == 200, 600,
               "kube2sky /readyz")
    ready = time.monotonic() - t0
    with open(os.path.join(procs.work, "kube2sky.log")) as f:
        for line in f:
            if "listed " in line or "initial sync" in line or "starting" in line:
                log("  kube2sky: " + line.strip())
    idx = list(range(args.n))
    end = time.monotonic() + 600
    sweeps, last = 0, 0.0
    while idx and time.monotonic() < end:
        last = time.monotonic() - t0
        idx = res.sweep(idx, {}, exact=False)
        sweeps += 1
    if idx:
        raise SystemExit(f"{len(idx)} names never answered, e.g. s{idx[0]}")
    answered = time.monotonic() - t0
    wrong = res.sweep(list(range(args.n)), {})
    if wrong:
        raise SystemExit(f"{len(wrong)} names answer wrong addresses, e.g. s{wrong[0]}")
    reqs = metric(hport, "kube2sky_etcd_requests_total")
    puts = metric(hport, 'kube2sky_etcd_writes_total{op="put"}')
    log(f"sync: N={args.n} readyz {ready:.2f} s, every name answers {answered:.2f} s "
        f"({sweeps} sweeps of the missing names, the last one began at {last:.2f} s); "
        f"etcd writes {puts:.0f} in {reqs:.0f} kube2sky requests, etcd revisions "
        f"{revision(etcd_url) - rev0}")
    return k, hport, {"ready": ready, "answered": answered, "requests": reqs, "puts": puts}


def load_phase(a, args, res, gens, stop):
    """Background endpoint events at args.rate/s on an absolute schedule."""
    pool = [i for i in range(args.n) if i % 10 in (1, 2)]
    rnd = random.Random(1)
    t0, k = time.monotonic(), 0
    while not stop.is_set():
        due = t0 + k / args.rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        i = rnd.choice(pool)
        gens[i] = gens.get(i, 0) + 1
        a.state.apply(slice_obj(i, gens[i]))
        k += 1
    return k


def sample(a, args, res, gens, stop, out):
    pool = [i for i in range(args.n) if i % 10 == 0]
    rnd = random.Random(2)
    sres = Resolver(res.addr[1])
    while not stop.is_set():
        i = rnd.choice(pool)
        gens[i] = gens.get(i, 0) + 1
        w = want(i, gens[i])
        name = f"s{i}.{NS}.svc.{ZONE}"
        t0 = time.monotonic()
        a.state.apply(slice_obj(i, gens[i]))
        while time.monotonic() - t0 < 10 and sres.addrs(name) != w:
            time.sleep(0.002)
        out.append((time.monotonic() - t0) * 1000)
        time.sleep(0.02)


def run(args):
    work = tempfile.mkdtemp(prefix="k2s-bench-", dir=args.data_dir)
    procs = Procs(work)
    try:
        etcd, etcd_url = start_etcd(procs, os.path.join(work, "etcd"))
        a = fakeapi.FakeAPI()
        for i in range(args.n):
            a.state.apply(svc_obj(i))
            if headless(i):
                a.state.apply(slice_obj(i, 0))
        a.start()
        dns_port = free_port()
        sky = procs.start("skydns", [os.path.join(args.build, "dns", "skydns"), "-addr",
                                     f"127.0.0.1:{dns_port}", "-machines", etcd_url, "-etcd3",
                                     "-domain", ZONE, "-no-rec"])
        res = Resolver(dns_port)
        wait_until(lambda: res.addrs(f"dns-version.{ZONE}") is not None, 20, "skydns answers")
        pids = {"kube2sky": None, "skydns": sky.pid, "etcd": etcd.pid}
        c0 = {n: cpu(p) for n, p in pids.items() if p}
        k, hport, sync = sync_phase(a, args, procs, etcd_url, dns_port, res)
        pids["kube2sky"] = k.pid
        c1 = {n: cpu(p) for n, p in pids.items()}
        rss1 = rss_mb(k.pid)
        log("sync CPU s: " + ", ".join(f"{n} {c1[n] - c0.get(n, 0):.2f}" for n in pids)
            + f"; kube2sky RSS {rss1:.1f} MB ({rss1 * 1024 / args.n:.1f} KB/Service)")
        log("RSS after the sync (the pod's three containers, for its requests/limits): "
            + ", ".join(f"{n} {rss_mb(p):.1f} MB" for n, p in pids.items()))
        if args.secs <= 0:
            return
        gens, stop, lat, n_ev = {}, threading.Event(), [], [0]
        th = [threading.Thread(target=lambda: n_ev.__setitem__(0, load_phase(a, args, res, gens, stop))),
              threading.Thread(target=sample, args=(a, args, res, gens, stop, lat))]
        tl = time.monotonic()
        for t in th:
            t.start()
        # kube2sky's RSS through the load, to show it does not grow with churn
        rss_series, end = [(0.0, rss1)], tl + args.secs
        while time.monotonic() < end:
            time.sleep(max(0.0, min(args.rss_every, end - time.monotonic())))
            rss_series.append((time.monotonic() - tl, rss_mb(k.pid)))
        stop.set()
        for t in th:
            t.join(30)
        t_stop = time.monotonic()
        wait_until(lambda: metric(hport, "kube2sky_queue_length") == 0, 60, "queue drained")
        drain = time.monotonic() - t_stop
        c2 = {n: cpu(p) for n, p in pids.items()}
        rss2 = rss_mb(k.pid)
        idx = [i for i in gens]
        end = time.monotonic() + 30
        while idx and time.monotonic() < end:
            idx = res.sweep(idx, gens)
        log(f"load: {n_ev[0]} endpoint events in {t_stop - tl:.1f} s ({n_ev[0] / (t_stop - tl):.0f}/s); "
            f"event->answer over {len(lat)} samples: p50 {pct(lat, 50):.1f} ms, p90 "
            f"{pct(lat, 90):.1f} ms, p99 {pct(lat, 99):.1f} ms, max {max(lat or [0]):.1f} ms; "
            f"queue empty {drain:.2f} s after the load; {len(idx)} names wrong after it")
        log("load CPU s: " + ", ".join(f"{n} {c2[n] - c1[n]:.2f}" for n in pids)
            + f"; kube2sky RSS {rss2:.1f} MB")
        log("RSS after the load: " + ", ".join(f"{n} {rss_mb(p):.1f} MB" for n, p in pids.items()))
        log("kube2sky RSS during the load (s: MB): "
            + ", ".join(f"{t:.0f}: {m:.1f}" for t, m in rss_series))
        log(f"etcd requests by kube2sky in total: {metric(hport, 'kube2sky_etcd_requests_total'):.0f}")
    finally:
        procs.stop_all()
        if 'a' in locals():
            a.stop()
        shutil.rmtree(work, ignore_errors=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--rate", type=float, default=100)
    p.add_argument("--rss-every", type=float, default=60,
                   help="seconds between kube2sky RSS samples during the load")
    p.add_argument("--secs", type=float, default=20)
    p.add_argument("--data-dir", default=os.environ.get("TMPDIR", "/tmp"))
    run(p.parse_args())


if __name__ == "__main__":
    main()
