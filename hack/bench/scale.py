#!/usr/bin/python3
"""hack/bench/scale.py - one scale run of skydns for N services (not in ctest).

Driven by hack/bench/scale.sh (which builds, loops over N and prints the
table); usable alone:

  scale.py --skydns build/dns/skydns --n 10000 [--v2] [--row FILE]

For one N, on 127.0.0.1 high ports, everything started stopped by PID on exit:
  1. a fresh etcd (data dir on tmpfs unless --data-dir), the v3 API unless --v2;
  2. N services in the layout /skydns/local/skydns/svc/ns<i%10>/svc<i>
     (svc<i>.ns<i%10>.svc.skydns.local. A 10.<i>>16>.<i>>8&255>.<i&255>),
     v3 in transactions of --txn-ops puts through the JSON gateway
     (/v3/kv/txn), v2 as PUTs over 8 keep-alive connections; then etcd's own
     time to hand the whole range out (best of 3): `etcdctl get --prefix
     /skydns --keys-only=false` (v3, gRPC) or a recursive GET of
     /v2/keys/skydns (v2); for v3 also through the JSON gateway skydns uses
     (/v3/kv/range), in one request and in pages of --page (1000) keys at one
     revision as skydns reads it (etcd counts the rest of the range for every
     page, so the paged read costs more than the single one);
  3. skydns started; the time from exec until the LAST loaded service answers
     with its address (polled every 5 ms, bounded), its CPU seconds by then,
     VmRSS, and a spot check that 200 random services answer their address;
  4. churn: --churn-secs s of --churn-rate puts/s of existing services with a
     new address (on an absolute schedule), skydns CPU (utime+stime of
     /proc/<pid>/stat) from the first put until the last one is answered, and
     the busiest 1 s sample; VmRSS (and VmHWM) after; a check that the last
     50 changed services answer their latest address;
  5. --puts fresh services (new keys), one at a time, each timed from just
     before the etcd request until skydns answers the new address (polled
     every 1 ms, bounded 5 s): p50/p90/max ms; etcd's own ack time beside.
The poller is one UDP socket with dnspython parsing, so its own CPU stays low
(a few % of a core at 1 poll/ms).
"""

import argparse
import base64
import http.client
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

import dns.message
import dns.rdatatype

DOMAIN = "skydns.local."
HZ = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(msg, flush=True)


def die(msg):
    raise SystemExit(f"scale.py: {msg}")


# ------------------------------------------------------------------ data

def svc_name(i):
    return f"svc{i}.ns{i % 10}.svc.{DOMAIN}"


def svc_key(i):
    return f"/skydns/local/skydns/svc/ns{i % 10}/svc{i}"


def load_ip(i):
    return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


def churn_ip(c):
    # 172.16.0.0/12: never one of the loaded addresses
    return f"172.{16 + ((c >> 16) & 15)}.{(c >> 8) & 255}.{c & 255}"


def fresh_ip(k):
    return f"192.168.{(k >> 8) & 255}.{k & 255}"


def svc_value(ip):
    return json.dumps({"host": ip, "port": 8080})


# ------------------------------------------------------------------ procs

def free_port():
    """A port free for TCP and UDP on 127.0.0.1, below the ephemeral range."""
    for _ in range(200):
        p = random.randrange(20000, 32000)
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", p))
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.bind(("127.0.0.1", p))
            return p
        except OSError:
            continue
    die("no free port")


class Procs:
    def __init__(self):
        self.procs = []

    def start(self, name, argv, logpath, env=None):
        f = open(logpath, "wb")
        p = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, env=env,
                             stdin=subprocess.DEVNULL)
        f.close()
        self.procs.append((name, p))
        return p

    def stop(self, p, timeout=10):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)

    def stop_all(self):
        for _, p in reversed(self.procs):
            self.stop(p)
        self.procs = []


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        st = f.read().rsplit(")", 1)[1].split()
    return int(st[11]) + int(st[12])  # utime, stime (fields 14, 15)


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


# ------------------------------------------------------------------ etcd

class Etcd:
    def __init__(self, url, v3):
        self.url, self.v3 = url, v3
        host, port = url.split("//")[1].split(":")
        self.host, self.port = host, int(port)
        self.conn = None

    def connect(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=30)

    def _req(self, conn, method, path, body, ctype):
        conn.request(method, path, body, {"Content-Type": ctype})
        r = conn.getresponse()
        data = r.read()
        if r.status not in (200, 201):
            die(f"etcd {method} {path}: HTTP {r.status} {data[:200]!r}")
        return data

    def put(self, key, value):
        if self.conn is None:
            self.conn = self.connect()
        try:
            self._put(self.conn, key, value)
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = self.connect()
            self._put(self.conn, key, value)

    def _put(self, conn, key, value):
        if self.v3:
            body = json.dumps({"key": b64(key), "value": b64(value)})
            self._req(conn, "POST", "/v3/kv/put", body, "application/json")
        else:
            body = "value=" + urllib_quote(value)
            self._req(conn, "PUT", "/v2/keys" + key, body, "application/x-www-form-urlencoded")

    def txn(self, conn, items):
        ops = [{"requestPut": {"key": b64(k), "value": b64(v)}} for k, v in items]
        self._req(conn, "POST", "/v3/kv/txn", json.dumps({"success": ops}), "application/json")


def b64(s):
    return base64.b64encode(s.encode()).decode()


def urllib_quote(s):
    import urllib.parse
    return urllib.parse.quote(s, safe="")


def bulk_load(etcd, n, txn_ops):
    items = [(svc_key(i), svc_value(load_ip(i))) for i in range(n)]
    errors = []

    def worker(chunks):
        try:
            c = etcd.connect()
            for chunk in chunks:
                if etcd.v3:
                    etcd.txn(c, chunk)
                else:
                    for k, v in chunk:
                        etcd._put(c, k, v)
            c.close()
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    size = txn_ops if etcd.v3 else 256
    chunks = [items[s:s + size] for s in range(0, n, size)]
    nthreads = 4 if etcd.v3 else 8
    threads = [threading.Thread(target=worker, args=(chunks[k::nthreads],)) for k in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        die(f"load: {errors[0]}")


def gateway_range_time(etcd, n, page):
    """Best of 3: etcd's time to hand out the /skydns range through the v3
    JSON gateway (as skydns reads it), in pages of `page` keys (0: one
    request) at one revision; only the time waiting for etcd counts, not
    this script's JSON decoding."""
    best = None
    for _ in range(3):
        c = etcd.connect()
        start, rev, got, wait = "/skydns/", 0, 0, 0.0
        while True:
            req = {"key": b64(start), "range_end": b64("/skydns0")}
            if page:
                req["limit"] = page
            if rev:
                req["revision"] = rev
            t0 = time.monotonic()
            data = etcd._req(c, "POST", "/v3/kv/range", json.dumps(req), "application/json")
            wait += time.monotonic() - t0
            j = json.loads(data)
            rev = int(j["header"]["revision"])
            kvs = j.get("kvs", [])
            got += len(kvs)
            if not page or not j.get("more") or not kvs:
                break
            start = base64.b64decode(kvs[-1]["key"]).decode() + "\0"
        c.close()
        if got < n:
            die(f"gateway range read returned {got} of {n} services")
        best = wait if best is None else min(best, wait)
    return best


def etcd_range_time(etcd, etcdctl, n):
    """Best of 3 wall times for etcd to hand out the whole /skydns range."""
    best = None
    for _ in range(3):
        t0 = time.monotonic()
        if etcd.v3:
            out = subprocess.run([etcdctl, "--endpoints", etcd.url, "--command-timeout=60s",
                                  "get", "--prefix", "/skydns", "--keys-only=false"],
                                 env=dict(os.environ, ETCDCTL_API="3"), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, timeout=120)
            got = out.stdout.count(b"\n/skydns/") + out.stdout.startswith(b"/skydns/")
        else:
            out = subprocess.run(["curl", "-sf", "--max-time", "60",
                                  etcd.url + "/v2/keys/skydns?recursive=true"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
            got = out.stdout.count(b'"key":"/skydns/local/skydns/svc/ns') - 10
        dt = time.monotonic() - t0
        if out.returncode != 0:
            die(f"etcd range read failed: {out.stderr[:200]!r}")
        if got < n:
            die(f"etcd range read returned {got} of {n} services")
        best = dt if best is None else min(best, dt)
    return best


# ------------------------------------------------------------------ DNS

class Poller:
    def __init__(self, port):
        self.addr = ("127.0.0.1", port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect(self.addr)
        self.qname, self.qwire, self.qid = None, None, random.randrange(1 << 16)

    def ask(self, name, timeout=0.2):
        """The A addresses of name (empty for NXDOMAIN/NODATA), or None on timeout."""
        if self.qname != name:  # one query per name, only the ID changes
            q = dns.message.make_query(name, dns.rdatatype.A)
            q.flags = 0
            self.qname, self.qwire = name, bytearray(q.to_wire())
        self.qid = (self.qid + 1) & 0xFFFF
        self.qwire[0:2] = self.qid.to_bytes(2, "big")
        wire = bytes(self.qwire)
        try:
            self.sock.send(wire)
        except ConnectionRefusedError:  # an earlier poll's port unreachable
            self.sock.send(wire)
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                return None
            except ConnectionRefusedError:  # nothing listening yet
                time.sleep(min(left, 0.005))
                return None
            if len(data) < 12 or data[:2] != wire[:2]:
                continue  # a late reply to an earlier poll
            if data[7] == 0 and data[6] == 0:  # no answer records (NXDOMAIN, NODATA)
                return set()
            r = dns.message.from_wire(data)
            return {rd.address for rrset in r.answer if rrset.rdtype == dns.rdatatype.A
                    for rd in rrset}

    def wait_for(self, name, ip, bound, every, ask_timeout=0.2):
        """Poll until name answers ip; returns the monotonic time of that reply or None."""
        end = time.monotonic() + bound
        nxt = time.monotonic()
        while True:
            got = self.ask(name, ask_timeout)
            now = time.monotonic()
            if got and ip in got:
                return now
            if now >= end:
                return None
            nxt += every
            if nxt > now:
                time.sleep(nxt - now)
            else:
                nxt = now


def own_cpu():
    t = os.times()
    return t.user + t.system


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, int(len(sorted_vals) * p))
    return sorted_vals[k]


# ------------------------------------------------------------------ run

def run(a, procs, work):
    n = a.n
    v3 = not a.v2
    api = "v3" if v3 else "v2"

    etcd_port, peer_port, dns_port = free_port(), free_port(), free_port()
    while peer_port == etcd_port:
        peer_port = free_port()
    while dns_port in (etcd_port, peer_port):
        dns_port = free_port()
    url = f"http://127.0.0.1:{etcd_port}"
    data_dir = tempfile.mkdtemp(prefix="skydns-scale-etcd.", dir=a.data_dir)
    try:
        etcd_p = procs.start("etcd", [
            a.etcd_bin, "--name", "scale", "--data-dir", data_dir, "--enable-v2=true",
            "--log-level", "warn", "--max-txn-ops", str(max(128, a.txn_ops)),
            "--max-request-bytes", str(16 << 20), "--quota-backend-bytes", str(8 << 30),
            "--listen-client-urls", url, "--advertise-client-urls", url,
            "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-cluster", f"scale=http://127.0.0.1:{peer_port}"],
            os.path.join(work, f"etcd-{n}.log"))
        etcd = Etcd(url, v3)
        end = time.monotonic() + 20
        while True:
            try:
                c = etcd.connect()
                c.request("GET", "/health")
                r = c.getresponse()
                ok = r.status == 200 and b"true" in r.read()
                c.close()
                if ok:
                    break
            except OSError:
                pass
            if etcd_p.poll() is not None or time.monotonic() > end:
                die(f"etcd did not come up (log: {work}/etcd-{n}.log)")
            time.sleep(0.1)

        log(f"== N={n} services, etcd {api}")
        t0 = time.monotonic()
        bulk_load(etcd, n, a.txn_ops)
        load_s = time.monotonic() - t0
        range_s = etcd_range_time(etcd, a.etcdctl, n)
        log(f"load: {n} services in {load_s:.1f} s; etcd hands out the range in {range_s:.2f} s "
            f"({'etcdctl get --prefix /skydns, gRPC' if v3 else 'GET /v2/keys/skydns?recursive=true'}, best of 3)")
        gw_s = gw_paged_s = None
        if v3:
            gw_s = gateway_range_time(etcd, n, 0)
            gw_paged_s = gateway_range_time(etcd, n, a.page)
            log(f"      through the JSON gateway (/v3/kv/range, etcd's time, best of 3): "
                f"{gw_s:.2f} s in one request, {gw_paged_s:.2f} s in pages of {a.page} "
                f"(as skydns reads it)")

        argv = [a.skydns, "-addr", f"127.0.0.1:{dns_port}", "-machines", url, "-domain", DOMAIN,
                "-lameduck", "0s"]
        if v3:
            argv.append("-etcd3")
        poller = Poller(dns_port)
        last = n - 1
        t_exec = time.monotonic()
        sky = procs.start("skydns", argv, os.path.join(work, f"skydns-{n}.log"))
        t_ans = poller.wait_for(svc_name(last), load_ip(last), a.start_bound, 0.005, 0.05)
        if t_ans is None:
            die(f"{svc_name(last)} not answered {a.start_bound} s after start "
                f"(log: {work}/skydns-{n}.log)")
        start_s = t_ans - t_exec
        start_cpu = cpu_ticks(sky.pid) / HZ
        rng = random.Random(n)
        sample = rng.sample(range(n), min(200, n))
        bad = [i for i in sample if load_ip(i) not in (poller.ask(svc_name(i), 1.0) or ())]
        # RSS once the start-up read's transient memory is handed back (the
        # peak is VmHWM)
        time.sleep(1.0)
        rss0 = status_kb(sky.pid, "VmRSS")
        hwm0 = status_kb(sky.pid, "VmHWM")
        log(f"skydns: last service answered {start_s:.2f} s after exec ({start_cpu:.2f} CPU-s), "
            f"VmRSS 1 s later {rss0 / 1024:.1f} MB (start-up peak {hwm0 / 1024:.1f} MB); spot check {len(sample) - len(bad)}/{len(sample)} services "
            f"answer their address")
        if bad:
            die(f"{len(bad)} loaded services answer wrong, e.g. {svc_name(bad[0])}")

        # churn
        nchanges = int(a.churn_rate * a.churn_secs)
        latest = {}
        c0 = cpu_ticks(sky.pid)
        t0 = time.monotonic()
        own0 = own_cpu()
        samples, s_t, s_c = [], t0, c0
        late = 0
        rss_t = t0  # a long churn logs VmRSS each minute: growth shows as a trend
        for k in range(nchanges):
            due = t0 + k / a.churn_rate
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            elif now - due > 0.1:
                late += 1
            i = rng.randrange(n)
            ip = churn_ip(k)
            etcd.put(svc_key(i), svc_value(ip))
            latest[i] = (ip, k)
            now = time.monotonic()
            if now - s_t >= 1.0:
                c = cpu_ticks(sky.pid)
                samples.append((c - s_c) / HZ / (now - s_t))
                s_t, s_c = now, c
            if now - rss_t >= 60.0:
                rss_t = now
                log(f"churn: {now - t0:.0f} s, {k + 1} puts, VmRSS "
                    f"{status_kb(sky.pid, 'VmRSS') / 1024:.1f} MB")
        put_end = time.monotonic()
        li = max(latest, key=lambda i: latest[i][1])
        t_last = poller.wait_for(svc_name(li), latest[li][0], 10, 0.001)
        c1 = cpu_ticks(sky.pid)
        if t_last is None:
            die(f"the last churn put ({svc_name(li)} -> {latest[li][0]}) not answered 10 s later")
        churn_wall = t_last - t0
        own_pct = 100 * (own_cpu() - own0) / (time.monotonic() - t0)
        churn_cpu = (c1 - c0) / HZ
        cpu_pct = 100 * churn_cpu / churn_wall
        peak = 100 * max(samples) if samples else cpu_pct
        rss1 = status_kb(sky.pid, "VmRSS")
        hwm = status_kb(sky.pid, "VmHWM")
        recent = sorted(latest, key=lambda i: latest[i][1])[-50:]
        stale = [i for i in recent if latest[i][0] not in (poller.ask(svc_name(i), 1.0) or ())]
        log(f"churn: {nchanges} puts of existing services in {put_end - t0:.1f} s "
            f"({a.churn_rate:g}/s{f', {late} sent >100 ms late' if late else ''}), last answered "
            f"{1000 * (t_last - put_end):.0f} ms after the last put; skydns {churn_cpu:.2f} CPU-s = "
            f"{cpu_pct:.1f} % of a core (busiest 1 s: {peak:.0f} %); VmRSS {rss1 / 1024:.1f} MB "
            f"(peak {hwm / 1024:.1f} MB); {len(recent) - len(stale)}/{len(recent)} last changed "
            f"answer their new address; this writer used {own_pct:.1f} % of a core")
        if stale:
            die(f"{len(stale)} changed services answer an old address, e.g. {svc_name(stale[0])}")

        # fresh puts
        lat, acks = [], []
        own0, w0 = own_cpu(), time.monotonic()
        for k in range(a.puts):
            time.sleep(rng.uniform(0.02, 0.12))  # no lock-step with a timer in skydns
            i = n + k
            name, ip = svc_name(i), fresh_ip(k)
            t0 = time.monotonic()
            etcd.put(svc_key(i), svc_value(ip))
            t_ack = time.monotonic()
            t_ok = poller.wait_for(name, ip, 5, 0.001)
            if t_ok is None:
                die(f"fresh put {name} -> {ip} not answered within 5 s")
            lat.append(1000 * (t_ok - t0))
            acks.append(1000 * (t_ack - t0))
        own_pct = 100 * (own_cpu() - own0) / (time.monotonic() - w0)
        lat.sort()
        acks.sort()
        p50, p90, pmax = pct(lat, .5), pct(lat, .9), lat[-1]
        log(f"put->answer over {a.puts} fresh puts: p50 {p50:.1f} ms, p90 {p90:.1f} ms, "
            f"max {pmax:.1f} ms (etcd's own ack: p50 {pct(acks, .5):.1f} ms, max {acks[-1]:.1f} ms; "
            f"this poller used {own_pct:.1f} % of a core)")

        if sky.poll() is not None:
            die(f"skydns exited ({sky.returncode}) during the run (log: {work}/skydns-{n}.log)")
        gw = f"{gw_s:.2f} / {gw_paged_s:.2f}" if v3 else "-"
        row = (f"{n}\t{api}\t{load_s:.1f}\t{range_s:.2f}\t{gw}\t{start_s:.2f}\t{rss0 / 1024:.1f}\t"
               f"{rss1 / 1024:.1f}\t{cpu_pct:.1f}\t{p50:.1f} / {p90:.1f} / {pmax:.1f}\n")
        if a.row:
            with open(a.row, "a") as f:
                f.write(row)
        poller.sock.close()
    finally:
        procs.stop_all()
        shutil.rmtree(data_dir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--skydns", required=True)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--v2", action="store_true", help="etcd v2 API (default v3)")
    ap.add_argument("--row", help="append the result row (TSV) to this file")
    ap.add_argument("--work", help="directory for logs (default: a temporary one)")
    ap.add_argument("--data-dir", default="/dev/shm" if os.access("/dev/shm", os.W_OK) else None,
                    help="where etcd's data directory is made (default /dev/shm)")
    ap.add_argument("--etcd-bin", default="etcd")
    ap.add_argument("--etcdctl", default="etcdctl")
    ap.add_argument("--txn-ops", type=int, default=1000, help="puts per v3 load transaction")
    ap.add_argument("--page", type=int, default=1000,
                    help="keys per gateway page for the paged range time (skydns's V3_PAGE)")
    ap.add_argument("--churn-rate", type=float, default=50)
    ap.add_argument("--churn-secs", type=float, default=10)
    ap.add_argument("--puts", type=int, default=40)
    ap.add_argument("--start-bound", type=float, default=300,
                    help="seconds to wait for the last service to answer")
    a = ap.parse_args()
    if a.puts < 1 or a.n < 1:
        die("--n and --puts must be >= 1")

    def on_signal(sig, _frame):
        raise SystemExit(128 + sig)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    own_work = a.work is None
    work = a.work or tempfile.mkdtemp(prefix="skydns-scale.")
    procs = Procs()
    try:
        run(a, procs, work)
    finally:
        procs.stop_all()
        if own_work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
