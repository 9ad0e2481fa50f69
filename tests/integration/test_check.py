"""skydns-check, the health checker (issue 14, "The checker").

Real TCP listeners on loopback addresses (127.0.0.x, one port) come and go;
the checkers run against a real etcd (v3) and the test reads what they
write: /skydns/monitor/status/<ip> = {"status":"DOWN"|"UP"}, each on its
writer's lease, and /skydns/monitor/checkers/<id>. Timings are bounded from
both sides where the user would notice (rise/fall respected, take-over
within the lease TTL). Loopback only; everything is stopped by PID.
"""

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request

import pytest

from conftest import Daemon, EtcdKV, _http, b64, free_port, wait_until

CHECK_BIN = os.path.join(os.environ.get("SKYDNS_BUILD", "build"), "dns", "check", "skydns-check")
STATUS = "/skydns/monitor/status/"
CHECKERS = "/skydns/monitor/checkers/"
INTERVAL = 0.3
TIMEOUT = 0.2
TTL = 3


class Listener:
    """A TCP listener on ip:port that accepts and closes; stop() makes the
    address refuse connections again."""

    def __init__(self, ip, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, port))
        self.sock.listen(512)
        self.sock.settimeout(0.1)
        self.running = True
        self.t = threading.Thread(target=self._loop, daemon=True)
        self.t.start()

    def _loop(self):
        while self.running:
            try:
                c, _ = self.sock.accept()
                c.close()
            except (socket.timeout, OSError):
                pass

    def stop(self):
        self.running = False
        self.t.join(2)
        self.sock.close()


class Checker(Daemon):
    def __init__(self, workdir, etcd_url, cid, port, extra=()):
        self.cid = cid
        self.maddr = f"127.0.0.1:{free_port()}"
        args = [CHECK_BIN, "-machines", etcd_url, "-etcd3", "-scan-ports", str(port),
                "-check-interval", str(INTERVAL), "-check-timeout", str(TIMEOUT),
                "-rise", "2", "-fall", "3", "-lease-ttl", str(TTL), "-checker-id", cid,
                "-metrics-addr", self.maddr, *extra]
        super().__init__(os.path.join(workdir, f"check-{cid}.log"), args)

    def start(self):
        self.spawn()
        wait_until(lambda: self.get("/healthz")[0] == 200, 10, what=f"{self.cid} healthy")
        return self

    def get(self, path):
        try:
            with urllib.request.urlopen(f"http://{self.maddr}{path}", timeout=1) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.cid} exited {self.proc.returncode}: {self.logs()}")
            return 0, ""

    def metric(self, name):
        _, body = self.get("/metrics")
        for line in body.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(5)
        self.log.close()
        self.proc = None


def v3_range(url, prefix):
    end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    st, body = _http("POST", url + "/v3/kv/range", {"key": b64(prefix), "range_end": b64(end)})
    assert st == 200, (st, body)
    import base64
    out = {}
    for kv in body.get("kvs", []):
        k = base64.b64decode(kv["key"]).decode()[len(prefix):]
        out[k] = {"value": json.loads(base64.b64decode(kv["value"])),
                  "lease": int(kv.get("lease", 0)), "mod": int(kv.get("mod_revision", 0))}
    return out


def statuses(url):
    return v3_range(url, STATUS)


def down_set(url):
    return {ip for ip, v in statuses(url).items() if v["value"].get("status") == "DOWN"}


def checker_leases(url):
    return {cid: v["lease"] for cid, v in v3_range(url, CHECKERS).items()}


@pytest.fixture
def stack(workdir, etcd):
    """put records, open/close listeners, start checkers; cleaned up after."""
    kv = EtcdKV(etcd.url, "v3")
    port = free_port()
    listeners, checkers = {}, []

    class S:
        url = etcd.url

        def record(self, name, ip):
            kv.put(f"/skydns/local/skydns/{name}", {"host": ip, "port": port})

        def up(self, ip):
            listeners[ip] = Listener(ip, port)

        def down(self, ip):
            listeners.pop(ip).stop()

        def checker(self, cid, extra=()):
            c = Checker(workdir, etcd.url, cid, port, extra)
            checkers.append(c)
            return c.start()

    yield S()
    codes = {}
    for c in checkers:
        if c.proc is not None:
            codes[c.cid] = (c.stop(), c.logs()[-3000:])
    for lst in listeners.values():
        lst.stop()
    # SIGTERM is a clean exit (and, in a sanitizer build, no report)
    assert all(rc == 0 for rc, _ in codes.values()), codes


def wait_for(fn, timeout, what):
    """Poll fn() until truthy; return the seconds it took."""
    t0 = time.monotonic()
    wait_until(fn, timeout, interval=0.05, what=what)
    return time.monotonic() - t0


def test_needs_v3(workdir, etcd):
    p = subprocess.run([CHECK_BIN, "-machines", etcd.url], capture_output=True, text=True, timeout=10)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "v3" in lines[0] and "-etcd3" in lines[0]


def test_bad_flags_are_refused(workdir, etcd):
    for args in (["-scan-ports", "22, 80"], ["-scan-ports", "", ], ["-check-interval", "x"],
                 ["-fall", "0"], ["-no-such-flag"]):
        p = subprocess.run([CHECK_BIN, "-machines", etcd.url, "-etcd3", *args],
                           capture_output=True, text=True, timeout=10)
        assert p.returncode == 2, (args, p.stderr)
        assert p.stderr.strip(), args


def _can(kind):
    """Whether this process may open an ICMP socket of that kind."""
    try:
        socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP).close()
        return True
    except PermissionError:
        return False


def _icmp_args(etcd, mode, cid):
    return [CHECK_BIN, "-machines", etcd.url, "-etcd3", "-enable-icmp", "-icmp-socket", mode,
            "-scan-ports", "", "-check-interval", "0.3", "-check-timeout", "0.2", "-fall", "1",
            "-lease-ttl", "3", "-checker-id", cid, "-verbose"]


@pytest.mark.parametrize("mode", ["auto", "dgram", "raw"])
def test_enable_icmp_works_or_says_why(workdir, etcd, mode):
    """-enable-icmp alone (no ports) keeps loopback addresses, IPv4 and IPv6,
    up by their echo replies (fall 1: one missed reply would mark them DOWN)
    over the socket asked for: dgram where net.ipv4.ping_group_range allows
    our group, raw with CAP_NET_RAW (the test runs as root in CI), auto the
    first that opens. When the socket cannot be opened it exits 2 naming
    what to grant."""
    dgram, raw = _can(socket.SOCK_DGRAM), _can(socket.SOCK_RAW)
    works = {"auto": dgram or raw, "dgram": dgram, "raw": raw}[mode]
    args = _icmp_args(etcd, mode, "icmp-" + mode)
    if not works:
        p = subprocess.run(args, capture_output=True, text=True, timeout=10)
        assert p.returncode == 2, p.stderr
        says = {"auto": ["ping_group_range", "CAP_NET_RAW"], "dgram": ["ping_group_range"],
                "raw": ["CAP_NET_RAW"]}[mode]
        assert all(w in p.stderr for w in says), p.stderr
        return
    kv = EtcdKV(etcd.url, "v3")
    kv.put("/skydns/local/skydns/icmp4", {"host": "127.0.0.9"})
    kv.put("/skydns/local/skydns/icmp6", {"host": "::1"})
    d = Daemon(os.path.join(workdir, f"check-icmp-{mode}.log"), args).spawn()
    try:
        used = "dgram" if mode == "dgram" or (mode == "auto" and dgram) else "raw"
        wait_until(lambda: f"icmp {used})" in d.logs(), 10, what="start-up line naming the socket")
        # both addresses are checked (the round line counts them) and stay up
        wait_until(lambda: "round: 2 addresses" in d.logs(), 10, what="a round over both")
        time.sleep(2)
        assert d.proc.poll() is None, d.logs()
        assert down_set(etcd.url) & {"127.0.0.9", "::1"} == set(), d.logs()
    finally:
        d.stop()


def test_icmp_socket_bad_value(etcd):
    p = subprocess.run(_icmp_args(etcd, "ping", "x"), capture_output=True, text=True, timeout=10)
    assert p.returncode == 2 and "auto, dgram or raw" in p.stderr


def test_one_checker_rise_fall(stack):
    ips = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    for i, ip in enumerate(ips):
        stack.record(f"web/{i}", ip)
    stack.up(ips[0])
    stack.up(ips[1])
    c = stack.checker("solo")
    # the closed address goes DOWN; the open ones get no key (no key = UP)
    wait_for(lambda: down_set(stack.url) == {ips[2]}, 10, "127.0.0.4 DOWN")
    assert set(statuses(stack.url)) == {ips[2]}
    leases = checker_leases(stack.url)
    assert statuses(stack.url)[ips[2]]["lease"] == leases["solo"]

    # written only on a change: the key stays untouched over many rounds
    mod = statuses(stack.url)[ips[2]]["mod"]
    time.sleep(6 * INTERVAL)
    assert statuses(stack.url)[ips[2]]["mod"] == mod

    # fall 3: DOWN no sooner than two intervals after the listener goes
    stack.down(ips[0])
    took = wait_for(lambda: ips[0] in down_set(stack.url), 10, "127.0.0.2 DOWN")
    assert 2 * INTERVAL - 0.1 <= took <= 4 * INTERVAL + TIMEOUT + 2.0, took

    # rise 2: UP no sooner than one interval after it is back
    stack.up(ips[0])
    took = wait_for(lambda: statuses(stack.url)[ips[0]]["value"]["status"] == "UP", 10,
                    "127.0.0.2 UP")
    assert INTERVAL - 0.1 <= took <= 3 * INTERVAL + TIMEOUT + 2.0, took
    assert down_set(stack.url) == {ips[2]}

    # a flap shorter than fall never shows
    stack.down(ips[1])
    time.sleep(INTERVAL * 1.2)
    stack.up(ips[1])
    time.sleep(INTERVAL * 5)
    assert ips[1] not in statuses(stack.url)

    # metrics and health
    assert c.metric("skydns_check_addresses") == 3
    assert c.metric("skydns_check_addresses_owned") == 3
    assert c.metric("skydns_check_addresses_down") == 1
    assert c.metric("skydns_check_checkers") == 1
    assert c.metric('skydns_check_status_writes_total{status="DOWN"}') == 2
    assert c.get("/healthz")[0] == 200

    # a record removed: its status key goes with it
    _http("POST", stack.url + "/v3/kv/deleterange", {"key": b64("/skydns/local/skydns/web/2")})
    wait_for(lambda: ips[2] not in statuses(stack.url), 5, "stale status removed")


def test_healthz_fails_without_etcd(workdir, etcd, stack):
    stack.record("a", "127.0.0.2")
    c = stack.checker("lonely")
    assert c.get("/healthz")[0] == 200
    etcd.stop()
    try:
        wait_for(lambda: c.get("/healthz")[0] == 503, 3 * INTERVAL + TIMEOUT + TTL + 10,
                 "healthz 503")
    finally:
        etcd.start()


N_ADDR = 30


def owners_by_lease(url):
    """ip -> checker id for every status key, from the keys' leases."""
    inv = {lease: cid for cid, lease in checker_leases(url).items()}
    return {ip: inv.get(v["lease"]) for ip, v in statuses(url).items()}


@pytest.mark.parametrize("n", [2, 3])
def test_checkers_share_and_take_over(stack, n):
    ips = [f"127.0.0.{10 + i}" for i in range(N_ADDR)]
    down = set(ips[1::3] + ips[2::3])  # 20 closed, 10 open
    for i, ip in enumerate(ips):
        stack.record(f"pool/{i}", ip)
        if ip not in down:
            stack.up(ip)
    cs = [stack.checker(f"c{k}") for k in range(n)]
    wait_for(lambda: down_set(stack.url) == down, 15, "every closed address DOWN")
    wait_for(lambda: all(c.metric("skydns_check_checkers") == n for c in cs), 5, "all see all")

    # every address is checked by exactly one checker, and each has some
    owned = [c.metric("skydns_check_addresses_owned") for c in cs]
    assert sum(owned) == N_ADDR and all(o > 0 for o in owned), owned
    by = owners_by_lease(stack.url)
    assert set(by.values()) == {c.cid for c in cs}, by
    # and nobody fights over a key: it stays as written
    mods = {ip: v["mod"] for ip, v in statuses(stack.url).items()}
    time.sleep(6 * INTERVAL)
    assert {ip: v["mod"] for ip, v in statuses(stack.url).items()} == mods

    # kill the checker holding the most DOWN marks; bring one of them back up
    victim = max(cs, key=lambda c: sum(1 for o in by.values() if o == c.cid))
    mine = sorted(ip for ip, o in by.items() if o == victim.cid)
    revived = mine[0]
    victim_lease = checker_leases(stack.url)[victim.cid]
    victim.kill()
    stack.up(revived)
    t0 = time.monotonic()

    # its lease runs out within the TTL: its checker key and its marks go
    wait_until(lambda: victim_lease not in {v["lease"] for v in statuses(stack.url).values()}
               and victim.cid not in checker_leases(stack.url), TTL + 2.0,
               what="victim's lease expired")
    assert time.monotonic() - t0 <= TTL + 2.0
    # the survivors take its addresses: the still-closed ones are DOWN again
    # on a survivor's lease, the revived one is not DOWN
    survivors = {c.cid for c in cs if c is not victim}

    def taken_over():
        by = owners_by_lease(stack.url)
        return all(by.get(ip) in survivors for ip in mine if ip != revived) and \
            revived not in down_set(stack.url)
    wait_until(taken_over, TTL + (3 + 1) * INTERVAL + TIMEOUT + 3.0, what="take-over")
    assert down_set(stack.url) == down - {revived}
    rest = [c for c in cs if c is not victim]
    wait_for(lambda: sum(c.metric("skydns_check_addresses_owned") for c in rest) == N_ADDR, 5,
             "survivors own everything")


def test_sigterm_hands_over_without_dropping_marks(stack):
    """A checker stopped with SIGTERM removes its checker key at once; its
    DOWN marks stay (its lease runs on) until the survivor holds them."""
    ips = [f"127.0.0.{50 + i}" for i in range(12)]
    for i, ip in enumerate(ips):
        stack.record(f"term/{i}", ip)  # all closed: all DOWN
    a, b = stack.checker("ta"), stack.checker("tb")
    wait_for(lambda: down_set(stack.url) == set(ips), 15, "all DOWN")
    wait_for(lambda: set(owners_by_lease(stack.url).values()) == {"ta", "tb"}, 5, "both write")
    t0 = time.monotonic()
    a.proc.send_signal(signal.SIGTERM)
    assert a.proc.wait(5) == 0
    a.log.close()
    a.proc = None
    assert "ta" not in checker_leases(stack.url)
    # the marks never drop while b takes over, and end up on b's lease
    while time.monotonic() - t0 < TTL + 1.5:
        assert down_set(stack.url) == set(ips)
        time.sleep(0.05)
    assert set(owners_by_lease(stack.url).values()) == {"tb"}
    assert b.metric("skydns_check_addresses_owned") == len(ips)


def test_skydns_answers_follow_the_checker(workdir, etcd, stack):
    """The whole loop as the seed shows it: a checker marks a closed address
    DOWN and skydns stops answering it; it comes back when the address does;
    when every address is closed, all are answered (fail open)."""
    from conftest import SkyDNS, query, rdatas
    ips = ["127.0.0.20", "127.0.0.21", "127.0.0.22"]
    for i, ip in enumerate(ips):
        stack.record(f"cctv2/{i:08x}", ip)
        stack.up(ip)
    sky = SkyDNS(workdir, etcd.url, "v3", ["-nameservers", "127.0.0.1:9"]).start()
    try:
        def a():
            return sorted(rdatas(query(sky, "cctv2.skydns.local.", "A"), "A"))
        assert a() == ips
        stack.checker("e2e")
        stack.down(ips[1])
        wait_for(lambda: a() == [ips[0], ips[2]], 10, "the closed address left out")
        stack.up(ips[1])
        wait_for(lambda: a() == ips, 10, "the reopened address back")
        for ip in ips:
            stack.down(ip)
        wait_for(lambda: down_set(stack.url) == set(ips), 10, "all DOWN")
        assert a() == ips  # fail open
    finally:
        sky.stop()
