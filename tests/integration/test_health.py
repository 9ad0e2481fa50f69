"""Health-aware answers (issue 14, the ipdcode seed): addresses a checker
marked DOWN under /skydns/monitor/status/<ip> are left out of every answer
that would carry them, unless all of them are DOWN (fail open). Real etcd
(v2 and v3), the real skydns, dnspython. Waits are bounded."""

import urllib.request

import dns.rcode

from conftest import query, rdatas, wait_until

DOM = "skydns.local."
BASE = "/skydns/local/skydns"
STATUS = "/skydns/monitor/status/"
NO_FORWARD = ["-nameservers", "127.0.0.1:9"]
CCTV = ["192.168.10.1", "192.168.10.2", "192.168.10.3"]


def a_of(sky, name, rdtype="A"):
    r = query(sky, name, rdtype)
    return r.rcode(), rdatas(r, rdtype)


def answers(sky, name, want, rdtype="A"):
    return wait_until(lambda: a_of(sky, name, rdtype) == (dns.rcode.NOERROR, sorted(want)),
                      timeout=5, what=f"{name} {rdtype} -> {want}")


def seed_cctv2(kv):
    # the seed's API lays a name's addresses out as hash-labelled children
    for i, ip in enumerate(CCTV):
        kv.put(f"{BASE}/cctv2/{i:08x}", {"host": ip})


def metric(port, name, **labels):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
        text = r.read().decode()
    want = name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else "")
    for line in text.splitlines():
        if line.startswith(want + " "):
            return float(line.split()[-1])
    return 0.0


def test_seed_example_down_then_up(kv, skydns):
    seed_cctv2(kv)
    sky = skydns(NO_FORWARD)
    answers(sky, "cctv2." + DOM, CCTV)
    kv.put(STATUS + "192.168.10.2", {"status": "DOWN"})
    answers(sky, "cctv2." + DOM, ["192.168.10.1", "192.168.10.3"])
    kv.put(STATUS + "192.168.10.2", {"status": "UP"})
    answers(sky, "cctv2." + DOM, CCTV)
    kv.put(STATUS + "192.168.10.3", '{"status":"down"}')  # case does not matter
    answers(sky, "cctv2." + DOM, ["192.168.10.1", "192.168.10.2"])
    kv.delete(STATUS + "192.168.10.3")  # no key: up
    answers(sky, "cctv2." + DOM, CCTV)


def test_all_down_fails_open_and_is_counted(kv, skydns):
    from conftest import free_port
    seed_cctv2(kv)
    mport = free_port()
    sky = skydns(NO_FORWARD + ["-metrics-addr", f"127.0.0.1:{mport}"])
    answers(sky, "cctv2." + DOM, CCTV)
    for ip in CCTV[:2]:
        kv.put(STATUS + ip, {"status": "DOWN"})
    answers(sky, "cctv2." + DOM, CCTV[2:])
    wait_until(lambda: metric(mport, "skydns_skydns_health_down_addresses") == 2, 5)
    assert metric(mport, "skydns_skydns_health_answers_total", outcome="filtered") >= 1
    kv.put(STATUS + CCTV[2], {"status": "DOWN"})
    answers(sky, "cctv2." + DOM, CCTV)  # every one DOWN: all served, not NXDOMAIN
    wait_until(lambda: metric(mport, "skydns_skydns_health_answers_total",
                              outcome="fail_open") >= 1, 5)


def test_every_path_leaves_a_down_address_out(kv, skydns):
    kv.put(BASE + "/east/web/a", {"host": "10.1.0.1", "port": 80})
    kv.put(BASE + "/east/web/b", {"host": "10.1.0.2", "port": 80})
    kv.put(BASE + "/east/db", {"host": "10.1.0.3", "port": 5432})
    kv.put(BASE + "/alias", {"host": "web.east.skydns.local"})  # CNAME inside the domain
    sky = skydns(NO_FORWARD)
    answers(sky, "web.east." + DOM, ["10.1.0.1", "10.1.0.2"])
    kv.put(STATUS + "10.1.0.2", {"status": "DOWN"})
    answers(sky, "web.east." + DOM, ["10.1.0.1"])
    answers(sky, "east." + DOM, ["10.1.0.1", "10.1.0.3"])  # a directory answer
    answers(sky, "*.web.east." + DOM, ["10.1.0.1"])       # a wildcard
    r = query(sky, "alias." + DOM, "A")
    assert sorted(rdatas(r, "A")) == ["10.1.0.1"], r
    r = query(sky, "web.east." + DOM, "SRV")
    assert r.rcode() == dns.rcode.NOERROR and len(rdatas(r, "SRV")) == 1, r
    assert "10.1.0.2" not in str(r) and "10.1.0.1" in " ".join(rdatas(r, "A", "additional")), r
    # another address stays untouched by a status for a different address
    answers(sky, "db.east." + DOM, ["10.1.0.3"])


def test_ipv6_status_and_bad_status_keys(kv, skydns):
    kv.put(BASE + "/six/a", {"host": "2001:db8::1"})
    kv.put(BASE + "/six/b", {"host": "2001:db8::2"})
    sky = skydns(NO_FORWARD)
    answers(sky, "six." + DOM, ["2001:db8::1", "2001:db8::2"], "AAAA")
    kv.put(STATUS + "2001:0db8:0:0:0:0:0:2", {"status": "DOWN"})  # another spelling
    answers(sky, "six." + DOM, ["2001:db8::1"], "AAAA")
    kv.put(STATUS + "2001:db8::1", {"status": "sick"})  # not a status: skipped
    kv.put(STATUS + "not-an-ip", {"status": "DOWN"})
    wait_until(lambda: "not-an-ip" in sky.logs() and sum("skipping key=" + STATUS in l for l in sky.logs().splitlines()) >= 2, 5,
               what="both bad status keys logged")
    answers(sky, "six." + DOM, ["2001:db8::1"], "AAAA")


def ask_from(sky, name, source, tcp=False):
    import dns.message
    import dns.query
    q = dns.message.make_query(name, "A")
    if tcp:
        r = dns.query.tcp(q, sky.addr, port=sky.port, timeout=2, source=source)
    else:
        r = dns.query.udp(q, sky.addr, port=sky.port, timeout=2, source=source)
    return rdatas(r, "A")


def test_random_one_is_one_healthy_address(kv, skydns):
    seed_cctv2(kv)
    kv.put(STATUS + "192.168.10.3", {"status": "DOWN"})
    sky = skydns(NO_FORWARD + ["-random-one"])
    wait_until(lambda: a_of(sky, "cctv2." + DOM)[1] in (["192.168.10.1"], ["192.168.10.2"]), 5)
    seen = set()
    for _ in range(80):
        rc, ips = a_of(sky, "cctv2." + DOM)
        assert rc == dns.rcode.NOERROR and len(ips) == 1, ips
        seen.add(ips[0])
    assert seen == {"192.168.10.1", "192.168.10.2"}  # every healthy one, never the DOWN one


def test_host_one_is_stable_per_client_and_only_a_downed_addresses_clients_move(kv, skydns):
    ips = [f"10.9.0.{i}" for i in range(1, 6)]
    for i, ip in enumerate(ips):
        kv.put(f"{BASE}/pool/{i:08x}", {"host": ip})
    sky = skydns(NO_FORWARD + ["-host-one"])
    wait_until(lambda: len(a_of(sky, "pool." + DOM)[1]) == 1, 5)
    clients = [f"127.0.0.{i}" for i in range(2, 42)]
    first = {}
    for c in clients:
        got = {tuple(ask_from(sky, "pool." + DOM, c)) for _ in range(3)}
        got.add(tuple(ask_from(sky, "pool." + DOM, c, tcp=True)))
        assert len(got) == 1 and len(next(iter(got))) == 1, (c, got)  # stable, one address
        first[c] = next(iter(got))[0]
    assert len(set(first.values())) >= 3  # the clients are spread over the pool
    victim = max(set(first.values()), key=list(first.values()).count)
    kv.put(STATUS + victim, {"status": "DOWN"})
    wait_until(lambda: all(ask_from(sky, "pool." + DOM, c) != [victim]
                           for c in clients if first[c] == victim), 5, what="victim's clients moved")
    for c in clients:
        now = ask_from(sky, "pool." + DOM, c)
        if first[c] == victim:
            assert now != [victim] and len(now) == 1
        else:
            assert now == [first[c]], (c, first[c], now)  # the others did not move
