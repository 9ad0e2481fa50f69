"""A hostile network: replies too large for UDP are capped (no amplifier),
recursion only for allowed clients (no open resolver), and NSD's answers to
queries we do not serve (classes, zone transfers, CHAOS names, rcodes in a
query, compression loops).

Transport does not depend on the etcd API version, so only v3 is used.
"""

import socket
import struct

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from conftest import query, rdatas, wait_until
from test_transport import (QUESTION, hdr, put_many_srv, put_web, raw_tcp, raw_udp,  # noqa: F401
                            upstream, wait_records)

BIG = "svc.big.skydns.local."


@pytest.fixture
def mode():
    return "v3"


def wait_big(srv):
    wait_until(lambda: (lambda m: len(m.answer) and len(m.answer[0]) == 40)(
        query(srv, BIG, "SRV", tcp=True)), timeout=15, what="40 SRV over TCP")


def udp_srv(srv, payload):
    q = dns.message.make_query(BIG, "SRV", use_edns=0, payload=payload)
    wire = raw_udp(srv, q.to_wire(), timeout=2)
    assert wire is not None, f"no UDP reply for payload {payload}"
    return wire, dns.message.from_wire(wire)


def test_udp_reply_capped_whatever_the_client_asks(kv, skydns):
    srv = skydns()
    put_many_srv(kv)
    wait_big(srv)
    full = raw_tcp(srv, dns.message.make_query(BIG, "SRV").to_wire())
    assert len(full) > 3000, "the directory answer is large"
    for payload in (1232, 4096, 65535):
        wire, m = udp_srv(srv, payload)
        assert len(wire) <= 1232, (payload, len(wire))
        assert m.flags & dns.flags.TC, "the rest is for TCP"
        assert 0 < sum(len(r) for r in m.answer) < 40
    # a small buffer is still honoured below the cap
    wire, m = udp_srv(srv, 700)
    assert len(wire) <= 700 and m.flags & dns.flags.TC
    # TCP gets it all, and dnspython's fallback finds it
    r, used_tcp = dns.query.udp_with_fallback(
        dns.message.make_query(BIG, "SRV", use_edns=0, payload=4096), srv.addr,
        port=srv.port, timeout=3)
    assert used_tcp and len(r.answer[0]) == 40


def test_udp_cap_is_configurable(kv, skydns):
    srv = skydns(extra_args=["-max-udp-size", "2048"])
    put_many_srv(kv)
    wait_big(srv)
    wire, m = udp_srv(srv, 4096)
    assert 1232 < len(wire) <= 2048 and m.flags & dns.flags.TC


def test_bad_cap_refused_at_start(skydns):
    srv = skydns(extra_args=["-max-udp-size", "100"], start=False)
    srv.spawn()
    assert srv.proc.wait(timeout=10) == 2
    assert "max-udp-size" in srv.logs()


def ask(srv, name, rdtype="A", tcp=False, source=None, rdclass="IN"):
    q = dns.message.make_query(name, rdtype, rdclass=rdclass)
    if tcp:
        return dns.query.tcp(q, srv.addr, port=srv.port, timeout=5, source=source)
    return dns.query.udp(q, srv.addr, port=srv.port, timeout=5, source=source)


def test_recursion_only_for_allowed_clients(kv, skydns, upstream):
    fwd = f"{upstream.addr}:{upstream.port}"
    # loopback is not in the list: every outside name is REFUSED, ours answered
    srv = skydns(extra_args=["-nameservers", fwd, "-allow-recursion", "10.0.0.0/8,fd00::/8"])
    put_web(kv)
    wait_records(srv, "web.east.skydns.local.", "A", 2)
    for tcp in (False, True):
        for name, t in (("www.example.org.", "A"), ("9.9.9.9.in-addr.arpa.", "PTR")):
            r = ask(srv, name, t, tcp=tcp)
            assert r.rcode() == dns.rcode.REFUSED, (name, tcp, dns.rcode.to_text(r.rcode()))
            assert not r.answer and not r.flags & dns.flags.RA
        assert rdatas(ask(srv, "web.east.skydns.local.", tcp=tcp)) == ["10.0.0.1", "10.0.0.2"]
    srv.stop()
    # one allowed source address: it is served, its neighbour is refused
    srv = skydns(extra_args=["-nameservers", fwd, "-allow-recursion", "127.0.0.2/32"])
    for tcp in (False, True):
        r = ask(srv, "www.example.org.", tcp=tcp, source="127.0.0.2")
        assert r.rcode() == dns.rcode.NOERROR and rdatas(r) == ["192.0.2.7"], tcp
        r = ask(srv, "www.example.org.", tcp=tcp, source="127.0.0.1")
        assert r.rcode() == dns.rcode.REFUSED, tcp


def test_recursion_default_allows_loopback(kv, skydns, upstream):
    srv = skydns(extra_args=["-nameservers", f"{upstream.addr}:{upstream.port}"])
    r = ask(srv, "www.example.org.")
    assert r.rcode() == dns.rcode.NOERROR and rdatas(r) == ["192.0.2.7"]


def rcode_of(wire):
    assert wire is not None, "no reply"
    return dns.message.from_wire(wire).rcode()


def test_answers_as_nsd(kv, skydns):
    srv = skydns()
    put_web(kv)
    wait_records(srv, "web.east.skydns.local.", "A", 2)
    name = "web.east.skydns.local."
    for rdclass in ("NONE", "HS", "CLASS1000"):
        r = ask(srv, name, rdclass=rdclass)
        assert r.rcode() == dns.rcode.REFUSED and not r.answer, rdclass
    r = ask(srv, name, "TXT", rdclass="CH")  # CHAOS for a name of ours
    assert r.rcode() == dns.rcode.REFUSED
    r = ask(srv, name, rdclass="ANY")  # QCLASS * reads the class-IN data
    assert rdatas(r) == ["10.0.0.1", "10.0.0.2"]
    for t, tcp in (("AXFR", True), ("IXFR", False), ("IXFR", True)):
        r = ask(srv, "skydns.local.", t, tcp=tcp)
        assert r.rcode() == dns.rcode.REFUSED and not r.answer, (t, tcp)
    # a query that carries an rcode
    assert rcode_of(raw_udp(srv, hdr(flags=0x0105) + QUESTION)) == dns.rcode.FORMERR
    # an additional-section owner whose pointer points at itself / forward
    rr = struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
    at = 12 + len(QUESTION)
    for ptr in (at, at + 2, 0x3FFF):
        pkt = hdr(ar=1) + QUESTION + struct.pack("!H", 0xC000 | ptr) + rr
        assert rcode_of(raw_udp(srv, pkt)) == dns.rcode.FORMERR, ptr
    # a good backward pointer is fine
    pkt = hdr(ar=1) + QUESTION + struct.pack("!H", 0xC00C) + rr
    assert rcode_of(raw_udp(srv, pkt)) == dns.rcode.NOERROR
    assert srv.proc.poll() is None
    assert rdatas(ask(srv, name)) == ["10.0.0.1", "10.0.0.2"]


def test_etcd_credentials_never_logged(etcd, kv, skydns):
    from conftest import free_port
    dead = f"http://alice:s3cret@127.0.0.1:{free_port()}"
    srv = skydns(extra_args=["-machines", f"{dead},{etcd.url}", "-verbose"])
    put_web(kv)
    wait_records(srv, "web.east.skydns.local.", "A", 2)
    logs = srv.logs()
    assert "s3cret" not in logs and "alice" not in logs, logs
    assert "http://***@127.0.0.1:" in logs, logs
