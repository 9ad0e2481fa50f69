"""Forwarding (issue 4): skydns as a container's only resolver.

Real etcd, real skydns, real upstreams on loopback high ports: unbound (a
recursive server answering local data, query counts via unbound-control),
nsd (authoritative for a stub zone) and a scripted misbehaving server (see
upstream_util.py). Pure forwarding tests run in etcd v2 mode only; the ones
whose data lives in etcd (external names, stub zones, cache vs. etcd) run in
both modes.
"""

import os
import subprocess
import urllib.request

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from conftest import free_port, query, rdatas, wait_until
from upstream_util import Nsd, Scripted, Unbound, dead_server

ORG = {
    "example.org.": [
        "example.org. 300 IN SOA ns.example.org. h.example.org. 1 3600 600 86400 120",
        "www.example.org. 300 IN A 192.0.2.10",
        "www.example.org. 300 IN AAAA 2001:db8::10",
    ] + [f'big.example.org. 300 IN TXT "{"x" * 200} {i}"' for i in range(8)],
    "2.0.192.in-addr.arpa.": [
        "2.0.192.in-addr.arpa. 300 IN SOA ns.example.org. h.example.org. 1 3600 600 86400 120",
        "10.2.0.192.in-addr.arpa. 300 IN PTR www.example.org.",
    ],
}

NET = ["@ 300 IN SOA ns.example.net. h.example.net. 1 3600 600 86400 120",
       "@ 300 IN NS ns.example.net.",
       "ns 300 IN A 192.0.2.53",
       "www 300 IN A 198.51.100.20"]


@pytest.fixture
def unbound(workdir):
    u = Unbound(workdir, "127.0.0.1", ORG).start()
    yield u
    u.stop()


@pytest.fixture
def scripted():
    started = []

    def make(mode="ok", addr="127.0.0.1", delay=3.0):
        s = Scripted(addr, mode, delay).start()
        started.append(s)
        return s
    yield make
    for s in started:
        s.stop()


def ns_args(*servers, timeout="500ms"):
    return ["-nameservers", ",".join(servers), "-rtimeout", timeout]


def marked_query(name):
    return dns.message.make_query(name, "A", use_edns=0,
                                  options=[dns.edns.GenericOption(65011, b"\x01")])


# ------------------------------------------------------------ plain forwarding


@pytest.mark.parametrize("mode", ["v2"])
def test_forward_udp_tcp_truncation(skydns, unbound):
    s = skydns(ns_args(unbound.server))
    r = query(s, "www.example.org.", "A")
    assert rdatas(r, "A") == ["192.0.2.10"]
    assert r.flags & dns.flags.RA
    r = query(s, "WwW.ExAmPlE.oRg.", "AAAA", tcp=True)
    assert rdatas(r, "AAAA") == ["2001:db8::10"]
    assert r.question[0].name.to_text() == "WwW.ExAmPlE.oRg."  # 0x20 echoed
    # no EDNS: unbound truncates at 512 bytes; the TC reply is relayed and
    # the client's TCP retry gets everything
    r = query(s, "big.example.org.", "TXT")
    assert r.flags & dns.flags.TC
    q = dns.message.make_query("big.example.org.", "TXT")
    r, used_tcp = dns.query.udp_with_fallback(q, s.addr, port=s.port, timeout=3)
    assert used_tcp and len(rdatas(r, "TXT")) == 8
    # names in the domain are still ours, with RA=1 (we do recurse)
    r = query(s, s.domain, "SOA")
    assert r.rcode() == 0 and r.flags & dns.flags.RA
    # PTR not in etcd: forwarded
    r = query(s, "10.2.0.192.in-addr.arpa.", "PTR")
    assert rdatas(r, "PTR") == ["www.example.org."]


@pytest.mark.parametrize("mode", ["v2"])
def test_failover_one_forwarder_down(skydns, unbound):
    s = skydns(ns_args(dead_server(), unbound.server, timeout="5s"))
    # rotation puts the dead one first for about half of these; ICMP
    # refused moves on at once (the 5 s timeout would exceed the client's)
    for i in range(6):
        r = query(s, "www.example.org.", "A", timeout=4, tcp=bool(i % 2))
        assert rdatas(r, "A") == ["192.0.2.10"]


@pytest.mark.parametrize("mode", ["v2"])
def test_upstream_servfail_slow_silent(skydns, unbound, scripted):
    bad = scripted("servfail")
    s = skydns(ns_args(bad.server, unbound.server, timeout="1s"))
    for _ in range(4):
        r = query(s, "www.example.org.", "A", timeout=5)
        assert rdatas(r, "A") == ["192.0.2.10"]  # SERVFAIL: next server
    slow = scripted("slow", addr="127.0.0.2", delay=3.0)
    s2 = skydns(ns_args(slow.server, unbound.server, timeout="1s"))
    for _ in range(3):
        r = query(s2, "www.example.org.", "A", timeout=5)
        assert rdatas(r, "A") == ["192.0.2.10"]  # timeout: next server
    # one server slower than the timeout: its answer to the first attempt
    # still counts while the retry is out
    slow_only = scripted("slow", addr="127.0.0.5", delay=1.5)  # mid-way in the 1 s..2 s window
    s5 = skydns(ns_args(slow_only.server, timeout="1s"))
    r = query(s5, "www.example.org.", "A", timeout=5)
    assert rdatas(r, "A") == ["192.0.2.77"]
    silent = scripted("silent", addr="127.0.0.3")
    s3 = skydns(ns_args(silent.server, timeout="500ms"))
    r = query(s3, "www.example.org.", "A", timeout=5)
    assert r.rcode() == dns.rcode.SERVFAIL  # never silence
    assert silent.count() >= 2  # retried before giving up
    only_bad = scripted("servfail", addr="127.0.0.4")
    s4 = skydns(ns_args(only_bad.server))
    r = query(s4, "www.example.org.", "A", tcp=True, timeout=5)
    assert r.rcode() == dns.rcode.SERVFAIL


@pytest.mark.parametrize("mode", ["v2"])
def test_spoofed_replies_discarded(skydns, unbound, scripted):
    for kind in ("wrongid", "wrongq"):
        bad = scripted(kind)
        s = skydns(ns_args(bad.server, timeout="500ms"))
        r = query(s, "www.example.org.", "A", timeout=5)
        assert r.rcode() == dns.rcode.SERVFAIL, kind  # the bad reply was never relayed
        assert "192.0.2.77" not in rdatas(r, "A") and "192.0.2.78" not in rdatas(r, "A")
        s2 = skydns(ns_args(bad.server, unbound.server, timeout="500ms"))
        for _ in range(3):
            r = query(s2, "www.example.org.", "A", timeout=5)
            assert rdatas(r, "A") == ["192.0.2.10"], kind
        bad.stop()


@pytest.mark.parametrize("mode", ["v2"])
def test_random_id_and_port_truncated_relay(skydns, scripted):
    up = scripted("truncate")
    s = skydns(ns_args(up.server))
    ids = set()
    for i in range(6):
        q = dns.message.make_query(f"n{i}.example.com.", "A", id=4242)
        r = dns.query.udp(q, s.addr, port=s.port, timeout=3)
        assert r.id == 4242 and r.flags & dns.flags.TC  # TC relayed as is
        r = dns.query.tcp(q, s.addr, port=s.port, timeout=3)
        assert rdatas(r, "A") == ["192.0.2.77"]  # TCP client, TCP upstream
    with up.lock:
        seen = list(up.seen)
    udp = [(m.id, peer[1]) for t, m, peer in seen if t == "udp"]
    assert len(udp) == 6 and len([1 for t, _, _ in seen if t == "tcp"]) == 6
    ids = {i for i, _ in udp}
    ports = {p for _, p in udp}
    assert 4242 not in ids and len(ids) >= 5  # fresh random IDs
    assert len(ports) >= 5  # fresh source ports


@pytest.mark.parametrize("mode", ["v2"])
def test_no_rec_refused_and_ndots(skydns, unbound, kv):
    s = skydns(["-no-rec"] + ns_args(unbound.server))
    r = query(s, "www.example.org.", "A")
    assert r.rcode() == dns.rcode.REFUSED
    assert not r.flags & dns.flags.RA
    r = query(s, s.domain, "SOA")
    assert r.rcode() == 0 and not r.flags & dns.flags.RA  # RA tells the truth
    s2 = skydns(env={"SKYDNS_NAMESERVERS": unbound.server})
    assert rdatas(query(s2, "www.example.org.", "A"), "A") == ["192.0.2.10"]
    r = query(s2, "org.", "SOA")  # one label < ndots 2: never forwarded
    assert r.rcode() == dns.rcode.SERVFAIL
    assert r.flags & dns.flags.RA  # we do recurse, just not for this name


@pytest.mark.parametrize("mode", ["v2"])
def test_ipv6_upstream_and_live_nameservers(skydns, kv, scripted, unbound):
    up6 = scripted("ok", addr="::1")
    s = skydns(ns_args(up6.server))
    assert rdatas(query(s, "a.example.com.", "A"), "A") == ["192.0.2.77"]
    assert rdatas(query(s, "a.example.com.", "A", tcp=True), "A") == ["192.0.2.77"]
    assert {t for t, _, _ in up6.seen} == {"udp", "tcp"}
    # nameservers changed live through the etcd config document
    kv.put("/skydns/config", {"nameservers": [unbound.server], "domain": "skydns.local."})
    wait_until(lambda: rdatas(query(s, "www.example.org.", "A"), "A") == ["192.0.2.10"], 10,
               what="forwarding to the new nameserver")


# ------------------------------------------------------------ data from etcd


def test_external_names(skydns, kv, unbound):
    s = skydns(ns_args(unbound.server))
    kv.put("/skydns/local/skydns/ext", {"host": "www.example.org"})
    kv.put("/skydns/local/skydns/svc/a", {"host": "www.example.org", "port": 8080})
    r = wait_until(lambda: (lambda m: m if rdatas(m, "A") else None)(
        query(s, "ext.skydns.local.", "A")), 10, what="external CNAME answer")
    assert rdatas(r, "CNAME") == ["www.example.org."]
    assert rdatas(r, "A") == ["192.0.2.10"]
    r = wait_until(lambda: (lambda m: m if rdatas(m, "SRV") else None)(
        query(s, "svc.skydns.local.", "SRV")), 10, what="SRV answer")
    assert [x.split()[-1] for x in rdatas(r, "SRV")] == ["www.example.org."]
    assert rdatas(r, "A", section="additional") == ["192.0.2.10"]
    assert rdatas(r, "AAAA", section="additional") == ["2001:db8::10"]


def test_stub_zones(skydns, kv, unbound, workdir, scripted):
    nsd = Nsd(workdir, "127.0.0.2", "example.net.", NET).start()
    try:
        default = scripted("ok", addr="127.0.0.3")
        marker_probe = scripted("ok", addr="127.0.0.4")
        s = skydns(["-stubzones"] + ns_args(default.server))
        stub = "/skydns/local/skydns/dns/stub"
        kv.put(f"{stub}/org/example/ns1", {"host": "127.0.0.1", "port": unbound.port})
        kv.put(f"{stub}/net/example/ns1", {"host": "127.0.0.2", "port": nsd.port})
        kv.put(f"{stub}/com/probe/ns1", {"host": "127.0.0.4", "port": marker_probe.port})
        wait_until(lambda: rdatas(query(s, "www.example.net.", "A"), "A") == ["198.51.100.20"],
                   10, what="stub zone to nsd")
        wait_until(lambda: rdatas(query(s, "x.probe.com.", "A"), "A") == ["192.0.2.77"]
                   and marker_probe.count() > 0, 10, what="stub zone to the probe")
        before = default.count()  # (queries sent before the stubs were loaded)
        assert rdatas(query(s, "www.example.org.", "A", tcp=True), "A") == ["192.0.2.10"]
        assert rdatas(query(s, "www.example.net.", "A"), "A") == ["198.51.100.20"]
        assert default.count() == before  # stub zones never reach the default forwarder
        # the forwarded query carries SkyDNS's marker (option 65011 = 0x01)
        assert rdatas(query(s, "x.probe.com.", "A"), "A") == ["192.0.2.77"]
        with marker_probe.lock:
            _, m, _ = marker_probe.seen[-1]
        assert any(o.otype == 65011 and o.to_wire() == b"\x01" for o in m.options)
        # a query that already carries the marker is dropped (loop prevention)
        n = marker_probe.count()
        with pytest.raises(dns.exception.Timeout):
            dns.query.udp(marked_query("y.probe.com."), s.addr, port=s.port, timeout=1.5)
        assert marker_probe.count() == n
        # a stub zone inside the domain wins over local records (§9)
        kv.put("/skydns/local/skydns/sub/www", {"host": "10.1.1.1"})
        wait_until(lambda: rdatas(query(s, "www.sub.skydns.local.", "A"), "A") == ["10.1.1.1"],
                   10, what="local record")
        kv.put(f"{stub}/local/skydns/sub/ns1", {"host": "127.0.0.4", "port": marker_probe.port})
        wait_until(lambda: rdatas(query(s, "www.sub.skydns.local.", "A"), "A") == ["192.0.2.77"],
                   10, what="stub ahead of local data")
        # a stub zone served by this very skydns: the marked query it sends
        # itself is dropped, so the client gets SERVFAIL instead of a loop
        kv.put(f"{stub}/test/loop/ns1", {"host": "127.0.0.1", "port": s.port})
        wait_until(lambda: query(s, "a.loop.test.", "A", timeout=5).rcode() == dns.rcode.SERVFAIL,
                   15, what="self-stub answered SERVFAIL")
        # live change: the example.net stub goes away, the default forwarder takes over
        kv.delete(f"{stub}/net/example/ns1")
        wait_until(lambda: rdatas(query(s, "www.example.net.", "A"), "A") == ["192.0.2.77"],
                   10, what="stub removed live")
    finally:
        nsd.stop()


def metric(port, prefix):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(prefix):
                return float(line.split()[-1])
    return None


def test_cache_counts_upstream_and_etcd_is_live(skydns, kv, unbound):
    mport = free_port()
    s = skydns(["-rcache", "100", "-rcache-ttl", "60", "-metrics-addr", f"127.0.0.1:{mport}"]
               + ns_args(unbound.server))
    n0 = unbound.queries()
    assert rdatas(query(s, "www.example.org.", "A"), "A") == ["192.0.2.10"]
    n1 = unbound.queries()
    assert n1 == n0 + 1
    r = query(s, "WWW.example.org.", "A")
    assert rdatas(r, "A") == ["192.0.2.10"]
    assert r.question[0].name.to_text() == "WWW.example.org."
    assert r.answer[0].ttl <= 300
    assert unbound.queries() == n1  # served from the cache
    # negative answers too (RFC 2308: the SOA minimum, 120 here)
    r = query(s, "nope.example.org.", "A")
    assert r.rcode() == dns.rcode.NXDOMAIN
    n2 = unbound.queries()
    assert query(s, "nope.example.org.", "A").rcode() == dns.rcode.NXDOMAIN
    assert unbound.queries() == n2
    assert metric(mport, 'skydns_skydns_dns_request_count_total{system="cache"}') == 2
    assert metric(mport, 'skydns_skydns_dns_request_count_total{system="recursive"}') == 2
    assert metric(mport, 'skydns_skydns_dns_cachemiss_count_total{cache="response"}') == 2
    # local answers are never cached: an etcd change shows at once
    kv.put("/skydns/local/skydns/web", {"host": "10.0.0.1"})
    wait_until(lambda: rdatas(query(s, "web.skydns.local.", "A"), "A") == ["10.0.0.1"], 10,
               what="first value")
    kv.put("/skydns/local/skydns/web", {"host": "10.0.0.2"})
    # 10 s bound, far inside rcache_ttl 60: it did not come from a cache
    wait_until(lambda: rdatas(query(s, "web.skydns.local.", "A"), "A") == ["10.0.0.2"], 10,
               what="changed value despite rcache_ttl 60")


@pytest.mark.parametrize("mode", ["v2"])
def test_external_name_answer_signed(skydns, kv, unbound, workdir):
    """With -dnssec and DO=1, the CNAME that is ours is signed after the
    forwarder completed the answer; the upstream's A is not ours to sign."""
    d = os.path.join(workdir, "keys")
    os.makedirs(d)
    out = subprocess.run(["dnssec-keygen", "-q", "-K", d, "-a", "ED25519", "-n", "ZONE",
                          "skydns.local."], capture_output=True, text=True, timeout=60, check=True)
    base = os.path.join(d, out.stdout.strip().splitlines()[-1])
    s = skydns(["-dnssec", base] + ns_args(unbound.server))
    kv.put("/skydns/local/skydns/ext", {"host": "www.example.org"})
    q = dns.message.make_query("ext.skydns.local.", "A", want_dnssec=True, use_edns=0)
    r = wait_until(lambda: (lambda m: m if rdatas(m, "A") else None)(
        dns.query.udp(q, s.addr, port=s.port, timeout=3)), 10, what="external answer")
    assert rdatas(r, "CNAME") == ["www.example.org."]
    assert rdatas(r, "A") == ["192.0.2.10"]
    sigs = [rs for rs in r.answer if rs.rdtype == dns.rdatatype.RRSIG]
    assert [rd.type_covered for rs in sigs for rd in rs] == [dns.rdatatype.CNAME]
    assert r.flags & dns.flags.AD


def test_dangling_external_cname_is_nxdomain(skydns, kv, unbound):
    """Issue 17 item 2: a CNAME to an external name the upstream says does
    not exist comes back with that final rcode, NXDOMAIN, and the CNAME
    (RFC 1034 §4.3.2, RFC 6604 §2; as BIND, Unbound, CoreDNS). SkyDNS
    answered NODATA; a target that resolves stays NOERROR."""
    s = skydns(ns_args(unbound.server))
    kv.put("/skydns/local/skydns/gone", {"host": "nothere.example.org"})
    kv.put("/skydns/local/skydns/ext", {"host": "www.example.org"})
    r = wait_until(lambda: (lambda m: m if rdatas(m, "CNAME") else None)(
        query(s, "gone.skydns.local.", "A")), 10, what="dangling CNAME answer")
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert rdatas(r, "CNAME") == ["nothere.example.org."]
    assert rdatas(r, "A") == []
    r = query(s, "gone.skydns.local.", "AAAA", tcp=True)
    assert r.rcode() == dns.rcode.NXDOMAIN and rdatas(r, "CNAME") == ["nothere.example.org."]
    # The two puts may reach the mirror in two publishes: wait for "ext" too.
    r = wait_until(lambda: (lambda m: m if rdatas(m, "CNAME") else None)(
        query(s, "ext.skydns.local.", "A")), 10, what="external CNAME answer")
    assert r.rcode() == dns.rcode.NOERROR and rdatas(r, "A") == ["192.0.2.10"]
    assert rdatas(r, "CNAME") == ["www.example.org."]
