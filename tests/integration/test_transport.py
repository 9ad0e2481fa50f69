"""Transport: UDP and TCP answers, several queries per TCP connection, 0x20
case echo, EDNS buffer sizes and truncation, malformed packets (each must be
followed by a good query that is still answered), signals.

Transport does not depend on the etcd API version, so only v2 is used.
"""

import os
import random
import signal
import socket
import struct
import subprocess
import time

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from conftest import ephemeral_range, port_is_free, query, rdatas, wait_until


@pytest.fixture
def mode():
    return "v2"


def put_web(kv, n=2):
    for i in range(1, n + 1):
        kv.put(f"/skydns/local/skydns/east/web/{i}", {"host": f"10.0.0.{i}", "port": 8000 + i})


def wait_records(srv, name, rdtype, count):
    return wait_until(lambda: len(rdatas(query(srv, name, rdtype))) == count and
                      query(srv, name, rdtype), timeout=10, what=f"{count} {rdtype} for {name}")


def raw_udp(srv, pkt, timeout=0.5):
    """Send raw bytes; the reply bytes or None when nothing came back."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(pkt, (srv.addr, srv.port))
        try:
            return s.recv(65535)
        except socket.timeout:
            return None


def tcp_frame(wire):
    return struct.pack("!H", len(wire)) + wire


def tcp_read_msg(sock):
    """One length-prefixed message, or None when the server closed."""
    hdr = b""
    while len(hdr) < 2:
        chunk = sock.recv(2 - len(hdr))
        if not chunk:
            return None
        hdr += chunk
    (n,) = struct.unpack("!H", hdr)
    body = b""
    while len(body) < n:
        chunk = sock.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return body


def assert_alive(srv):
    assert srv.proc.poll() is None, f"skydns died:\n{srv.logs()}"
    r = query(srv, "web.east.skydns.local.", "A")
    assert r.rcode() == dns.rcode.NOERROR
    assert rdatas(r) == ["10.0.0.1", "10.0.0.2"]


def test_udp_and_tcp_answers(kv, skydns):
    srv = skydns()
    put_web(kv)
    udp = wait_records(srv, "web.east.skydns.local.", "A", 2)
    tcp = query(srv, "web.east.skydns.local.", "A", tcp=True)
    assert rdatas(udp) == rdatas(tcp) == ["10.0.0.1", "10.0.0.2"]
    assert tcp.flags & dns.flags.AA

    out = subprocess.run(["dig", "+tcp", "+short", "-p", str(srv.port), "@" + srv.addr,
                          "web.east.skydns.local.", "SRV"],
                         capture_output=True, text=True, timeout=10)
    assert sorted(out.stdout.split("\n")[:2]) == [
        "10 50 8001 1.web.east.skydns.local.", "10 50 8002 2.web.east.skydns.local."]

    # SIGHUP re-reads the config; the server keeps answering.
    srv.proc.send_signal(signal.SIGHUP)
    time.sleep(0.2)
    assert_alive(srv)
    assert srv.stop() == 0, "SIGTERM must give a clean exit 0"


def test_several_queries_on_one_tcp_connection(kv, skydns):
    srv = skydns()
    put_web(kv)
    wait_records(srv, "web.east.skydns.local.", "A", 2)
    names = [("web.east.skydns.local.", "A"), ("web.east.skydns.local.", "SRV"),
             ("skydns.local.", "SOA"), ("nothere.skydns.local.", "A")]
    with socket.create_connection((srv.addr, srv.port), timeout=5) as s:
        # pipelined: all four in one write (RFC 7766 §6.2.1.1)
        qs = []
        for i, (n, t) in enumerate(names):
            q = dns.message.make_query(n, t)
            q.id = 1000 + i
            qs.append(q)
        s.sendall(b"".join(tcp_frame(q.to_wire()) for q in qs))
        got = {}
        for _ in qs:
            wire = tcp_read_msg(s)
            assert wire is not None, "server closed the connection early"
            m = dns.message.from_wire(wire)
            got[m.id] = m
        assert sorted(got) == [1000, 1001, 1002, 1003]
        assert rdatas(got[1000]) == ["10.0.0.1", "10.0.0.2"]
        assert len(got[1001].answer[0]) == 2
        assert got[1002].answer[0].rdtype == dns.rdatatype.SOA
        assert got[1003].rcode() == dns.rcode.NXDOMAIN
        # ... and one more, later, on the same connection
        q = dns.message.make_query("web.east.skydns.local.", "A")
        s.sendall(tcp_frame(q.to_wire()))
        m = dns.message.from_wire(tcp_read_msg(s))
        assert m.id == q.id and rdatas(m) == ["10.0.0.1", "10.0.0.2"]

    out = subprocess.run(["kdig", "+tcp", "+keepopen", "+short", "-p", str(srv.port), "@" + srv.addr,
                          "web.east.skydns.local.", "A", "web.east.skydns.local.", "SRV"],
                         capture_output=True, text=True, timeout=10)
    lines = [l for l in out.stdout.splitlines() if l.strip()]
    assert sorted(lines) == sorted(["10.0.0.1", "10.0.0.2", "10 50 8001 1.web.east.skydns.local.",
                                    "10 50 8002 2.web.east.skydns.local."]), out.stdout + out.stderr


def test_0x20_case_echo(kv, skydns):
    srv = skydns()
    put_web(kv)
    wait_records(srv, "web.east.skydns.local.", "A", 2)
    mixed = "WeB.EaSt.SkYdNs.LoCaL."
    for tcp in (False, True):
        q = dns.message.make_query(mixed, "A")
        wire = q.to_wire()
        if tcp:
            with socket.create_connection((srv.addr, srv.port), timeout=5) as s:
                s.sendall(tcp_frame(wire))
                reply = tcp_read_msg(s)
        else:
            reply = raw_udp(srv, wire, timeout=2)
        assert reply is not None
        qlen = len(wire) - 12
        assert reply[12:12 + qlen] == wire[12:], "question must be echoed byte for byte"
        m = dns.message.from_wire(reply)
        assert m.answer[0].name.to_text() == mixed, "owner keeps the query's case"
        assert sorted(r.to_text() for r in m.answer[0]) == ["10.0.0.1", "10.0.0.2"]


def put_many_srv(kv, n=40):
    for i in range(n):
        kv.put(f"/skydns/local/skydns/big/svc/host-with-a-rather-long-name-{i:02d}",
               {"host": f"10.1.0.{i + 1}", "port": 9000 + i})


def raw_tcp(srv, wire):
    with socket.create_connection((srv.addr, srv.port), timeout=5) as s:
        s.sendall(tcp_frame(wire))
        return tcp_read_msg(s)


def test_edns_buffer_and_truncation(kv, skydns):
    # the client's EDNS size rules, without the server's own cap (test_hostile)
    srv = skydns(extra_args=["-max-udp-size", "65535"])
    put_many_srv(kv)
    name = "svc.big.skydns.local."
    wait_until(lambda: (lambda m: len(m.answer) and len(m.answer[0]) == 40)(
        query(srv, name, "SRV", tcp=True)), timeout=15, what="40 SRV over TCP")
    # TCP: everything, glue included
    full_wire = raw_tcp(srv, dns.message.make_query(name, "SRV").to_wire())
    full = dns.message.from_wire(full_wire)
    assert not full.flags & dns.flags.TC
    assert sum(len(r) for r in full.answer) == 40
    assert sum(len(r) for r in full.additional) == 40
    assert len(full_wire) > 1232

    def udp(payload):
        if payload:
            q = dns.message.make_query(name, "SRV", use_edns=0, payload=payload)
        else:
            q = dns.message.make_query(name, "SRV")
        wire = raw_udp(srv, q.to_wire(), timeout=2)
        assert wire is not None, f"no UDP reply for payload {payload}"
        assert len(wire) <= max(payload or 512, 512)
        m = dns.message.from_wire(wire)
        assert (m.edns == 0) == bool(payload), "OPT in the reply iff OPT in the query"
        return m

    # no EDNS: 512 bytes, TC, a prefix of the answers, no additional
    m = udp(None)
    assert m.flags & dns.flags.TC
    assert 0 < sum(len(r) for r in m.answer) < 40
    assert not m.additional
    # EDNS 1232: TC (40 SRV do not fit)
    m = udp(1232)
    assert m.flags & dns.flags.TC and 0 < sum(len(r) for r in m.answer) < 40
    # a buffer that holds everything (+ 11 bytes of OPT): the full answer
    m = udp(len(full_wire) + 11)
    assert not m.flags & dns.flags.TC
    assert sum(len(r) for r in m.answer) == 40 and sum(len(r) for r in m.additional) == 40
    # one that holds the answers but not the glue: SkyDNS §14 drops the whole
    # additional section and sends the rest without TC
    m = udp(len(full_wire))
    assert not m.flags & dns.flags.TC
    assert sum(len(r) for r in m.answer) == 40 and not m.additional

    # dnspython's own fallback: UDP (TC) then TCP gets all 40
    r, used_tcp = dns.query.udp_with_fallback(dns.message.make_query(name, "SRV"), srv.addr,
                                              port=srv.port, timeout=3)
    assert used_tcp and len(r.answer[0]) == 40
    assert_alive_many(srv)


def assert_alive_many(srv):
    assert srv.proc.poll() is None, f"skydns died:\n{srv.logs()}"


def hdr(id_=0x1234, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!6H", id_, flags, qd, an, ns, ar)


QUESTION = dns.name.from_text("web.east.skydns.local.").to_wire() + struct.pack("!HH", 1, 1)
OPT = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
OPT_V1 = b"\x00" + struct.pack("!HHIH", 41, 1232, 1 << 16, 0)

# (label, packet, expected): expected is None (no reply), or an rcode.
MALFORMED = [
    ("empty", b"", None),
    ("5-byte header", b"\x12\x34\x01\x00\x00", None),
    ("response (QR=1)", hdr(flags=0x8100) + QUESTION, None),
    ("QDCOUNT 0", hdr(qd=0), dns.rcode.FORMERR),
    ("QDCOUNT 2", hdr(qd=2) + QUESTION + QUESTION, dns.rcode.FORMERR),
    ("truncated question", hdr() + QUESTION[:7], dns.rcode.FORMERR),
    ("no type/class", hdr() + QUESTION[:-4], dns.rcode.FORMERR),
    ("pointer to itself", hdr() + b"\xc0\x0c" + b"\x00\x01\x00\x01", dns.rcode.FORMERR),
    ("compression loop", hdr() + b"\x01a\xc0\x0e\x00\x01\x00\x01", dns.rcode.FORMERR),
    ("label type 0x40", hdr() + b"\x41a\x00\x00\x01\x00\x01", dns.rcode.FORMERR),
    ("64-byte label", hdr() + b"\x40" + b"x" * 64 + b"\x00\x00\x01\x00\x01", dns.rcode.FORMERR),
    ("256-octet name", hdr() + (b"\x3f" + b"x" * 63) * 4 + b"\x00\x00\x01\x00\x01", dns.rcode.FORMERR),
    ("ARCOUNT beyond data", hdr(ar=3) + QUESTION, dns.rcode.FORMERR),
    ("two OPT", hdr(ar=2) + QUESTION + OPT + OPT, dns.rcode.FORMERR),
    ("opcode STATUS", hdr(flags=2 << 11) + QUESTION, dns.rcode.NOTIMP),
    ("EDNS version 1", hdr(ar=1) + QUESTION + OPT_V1, dns.rcode.BADVERS),
]


def reply_rcode(wire):
    m = dns.message.from_wire(wire)
    return m.rcode(), m


def test_malformed_udp_then_good_query(kv, skydns):
    srv = skydns()
    put_web(kv)
    wait_records(srv, "web.east.skydns.local.", "A", 2)
    for label, pkt, want in MALFORMED:
        reply = raw_udp(srv, pkt, timeout=0.3 if want is None else 2)
        if want is None:
            assert reply is None, f"{label}: expected no reply"
        else:
            assert reply is not None, f"{label}: expected {dns.rcode.to_text(want)}"
            assert reply[:2] == b"\x12\x34", label
            rcode, m = reply_rcode(reply)
            assert rcode == want, f"{label}: got {dns.rcode.to_text(rcode)}"
            if want == dns.rcode.BADVERS:
                assert m.edns == 0, "BADVERS carries an OPT with version 0"
            if want == dns.rcode.NOTIMP:
                assert not m.flags & (dns.flags.AA | dns.flags.RA | dns.flags.RD)
        assert_alive(srv)

    rng = random.Random(1234)
    for _ in range(300):
        junk = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 120)))
        raw_udp(srv, junk, timeout=0.01)
    good = dns.message.make_query("web.east.skydns.local.", "A").to_wire()
    for _ in range(300):
        b = bytearray(good)
        for _ in range(rng.randrange(1, 4)):
            b[rng.randrange(len(b))] = rng.getrandbits(8)
        raw_udp(srv, bytes(b), timeout=0.01)
    assert_alive(srv)


def test_malformed_tcp_then_good_query(kv, skydns):
    srv = skydns()
    put_web(kv)
    wait_records(srv, "web.east.skydns.local.", "A", 2)
    for label, pkt, want in MALFORMED:
        if not pkt:
            continue
        with socket.create_connection((srv.addr, srv.port), timeout=3) as s:
            s.sendall(tcp_frame(pkt))
            try:
                reply = tcp_read_msg(s)
            except (ConnectionResetError, socket.timeout):
                reply = None
            if want is None:
                assert reply is None, f"{label}: expected the connection closed"
            else:
                assert reply is not None, label
                assert reply_rcode(reply)[0] == want, label
        assert_alive(srv)

    # length 0 closes; a partial message then close is harmless
    with socket.create_connection((srv.addr, srv.port), timeout=3) as s:
        s.sendall(b"\x00\x00")
        assert tcp_read_msg(s) is None
    with socket.create_connection((srv.addr, srv.port), timeout=3) as s:
        s.sendall(b"\x00\x40\x12\x34\x01")
    # a 65535-byte message of garbage with a valid header and question
    big = hdr() + QUESTION
    big += b"\x00" * (65535 - len(big))
    with socket.create_connection((srv.addr, srv.port), timeout=3) as s:
        s.sendall(tcp_frame(big))
        reply = tcp_read_msg(s)
        assert reply is not None and reply[:2] == b"\x12\x34"
    assert_alive(srv)


def test_tcp_connections_do_not_stall_udp(kv, skydns):
    """More idle TCP clients than the pool keeps (2 x 256): UDP keeps working
    and a new TCP client is still answered (the least active one goes)."""
    srv = skydns()
    put_web(kv)
    wait_records(srv, "web.east.skydns.local.", "A", 2)
    idle = []
    try:
        for i in range(600):  # from 600 addresses: one address holds at most 128
            source = (f"127.0.{3 + i // 250}.{i % 250 + 1}", 0)
            idle.append(socket.create_connection((srv.addr, srv.port), timeout=3,
                                                 source_address=source))
        assert_alive(srv)
        r = query(srv, "web.east.skydns.local.", "A", tcp=True)
        assert rdatas(r) == ["10.0.0.1", "10.0.0.2"]
        # the server closed idle ones to stay within its bound (600 - 512)

        def closed():
            n = 0
            for s in idle:
                s.setblocking(False)
                try:
                    n += s.recv(1) == b""
                except BlockingIOError:
                    pass
            return n >= 600 - 2 * 256 and n

        wait_until(closed, timeout=10, what="idle connections evicted")
    finally:
        for s in idle:
            s.close()


def test_idle_and_half_sent_tcp_connections_are_closed(kv, skydns):
    """RFC 7766 §6.2.3: the server closes idle connections (~10 s) and ones
    stuck inside a message (~2 s, slowloris); a bound, not a timing test."""
    srv = skydns()
    put_web(kv)
    wait_records(srv, "web.east.skydns.local.", "A", 2)
    idle = socket.create_connection((srv.addr, srv.port), timeout=25)
    partial = socket.create_connection((srv.addr, srv.port), timeout=25)
    used = socket.create_connection((srv.addr, srv.port), timeout=25)
    try:
        partial.sendall(b"\x00\x40\x12\x34")  # 4 of 66 bytes
        q = dns.message.make_query("web.east.skydns.local.", "A")
        used.sendall(tcp_frame(q.to_wire()))
        assert rdatas(dns.message.from_wire(tcp_read_msg(used))) == ["10.0.0.1", "10.0.0.2"]
        t0 = time.monotonic()
        assert partial.recv(1) == b"", "half-sent message: connection closed"
        assert idle.recv(1) == b"", "idle connection closed"
        assert used.recv(1) == b"", "idle after a query: closed"
        assert time.monotonic() - t0 < 25
    finally:
        for s in (idle, partial, used):
            s.close()
    assert_alive(srv)


def test_second_instance_on_the_same_port_fails(kv, skydns):
    """SO_REUSEPORT must not let a second skydns share (and split) the port."""
    srv = skydns()
    put_web(kv)
    wait_records(srv, "web.east.skydns.local.", "A", 2)
    second = skydns(port=srv.port, start=False)
    second.start(wait=False)
    rc = second.proc.wait(10)
    assert rc != 0
    assert "already in use" in second.logs()
    second.proc = None
    second.log.close()
    for _ in range(20):  # every answer still comes from the first one
        assert_alive(srv)


def test_listen_port_in_ephemeral_range_warned(kv, skydns):
    """A port the kernel may autobind for clients (dig sets SO_REUSEPORT and
    would then see its own query) gets a startup warning; others do not."""
    lo, hi = ephemeral_range()
    quiet = skydns()
    assert "ephemeral range" not in quiet.logs()
    port = next(p for p in (random.randint(lo, hi) for _ in range(50)) if port_is_free(p))
    srv = skydns(port=port)
    line = next(ln for ln in srv.logs().splitlines() if "ephemeral range" in ln)
    assert f"port={port}" in line and f"range={lo}-{hi}" in line and "level=warn" in line, line
    put_web(kv)
    wait_records(srv, "web.east.skydns.local.", "A", 2)  # a warning, not a refusal


def test_ipv6_listener_and_verbose_query_log(kv, skydns):
    """-addr [::1]:port serves UDP and TCP; -verbose logs every query."""
    srv = skydns(extra_args=["-verbose"], addr="::1", start=False)
    srv.args[srv.args.index("-addr") + 1] = f"[::1]:{srv.port}"
    srv.start()
    put_web(kv)
    wait_records(srv, "web.east.skydns.local.", "A", 2)
    assert rdatas(query(srv, "web.east.skydns.local.", "A", tcp=True)) == ["10.0.0.1", "10.0.0.2"]
    wait_until(lambda: "name=web.east.skydns.local. type=A tcp=1" in srv.logs(), 5,
               what="per-query debug line")
    assert "client=[::1]:" in srv.logs()


def test_not_ready_without_etcd_answers_servfail(etcd, workdir, skydns):
    """Before the first snapshot (etcd down) queries get SERVFAIL, not silence."""
    etcd.stop()
    srv = skydns(start=False)
    srv.start(wait=False)
    try:
        r = wait_until(lambda: query(srv, "web.east.skydns.local.", "A", timeout=0.5),
                       timeout=10, what="any reply")
        assert r.rcode() == dns.rcode.SERVFAIL
        assert srv.proc.poll() is None
    finally:
        etcd.start()


NSD_CONF = """server:
  ip-address: 127.0.0.1@{port}
  port: {port}
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "{dir}"
  database: ""
  zonelistfile: "{dir}/zone.list"
  pidfile: "{dir}/nsd.pid"
  xfrdfile: "{dir}/xfrd.state"
  xfrdir: "{dir}"
  logfile: "{dir}/nsd.log"
  rrl-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: example.org.
  zonefile: "{dir}/example.org.zone"
"""

EXAMPLE_ZONE = """$ORIGIN example.org.
$TTL 300
@ IN SOA ns.example.org. h.example.org. 1 3600 600 86400 60
@ IN NS ns.example.org.
ns IN A 127.0.0.1
www IN A 192.0.2.7
"""


@pytest.fixture
def upstream(workdir):
    """NSD serving example.org. on a loopback high port."""
    from conftest import free_port, stop_pid
    d = os.path.join(workdir, "nsd")
    os.makedirs(d)
    port = free_port()
    with open(os.path.join(d, "nsd.conf"), "w") as f:
        f.write(NSD_CONF.format(port=port, dir=d))
    with open(os.path.join(d, "example.org.zone"), "w") as f:
        f.write(EXAMPLE_ZONE)
    log = open(os.path.join(workdir, "nsd.log"), "ab")
    proc = subprocess.Popen(["nsd", "-d", "-c", os.path.join(d, "nsd.conf")],
                            stdout=log, stderr=subprocess.STDOUT)

    class Up:
        addr, pid = "127.0.0.1", proc.pid
    Up.port = port
    try:
        wait_until(lambda: query(Up, "www.example.org.", "A", timeout=0.5).answer,
                   timeout=15, what="nsd")
        yield Up
    finally:
        stop_pid(proc)
        log.close()


def test_forwarded_reply_over_udp_and_tcp(kv, skydns, upstream):
    """Names outside the domain go through the forwarder and come back on the
    client's own transport (the server's UDP and TCP reply channels)."""
    srv = skydns(extra_args=["-nameservers", f"{upstream.addr}:{upstream.port}"])
    put_web(kv)
    wait_records(srv, "web.east.skydns.local.", "A", 2)
    for tcp in (False, True):
        r = query(srv, "www.example.org.", "A", tcp=tcp, timeout=5)
        assert r.rcode() == dns.rcode.NOERROR, f"tcp={tcp}"
        assert rdatas(r) == ["192.0.2.7"], f"tcp={tcp}"
    # a forwarded and a local query pipelined on one connection: both answered
    with socket.create_connection((srv.addr, srv.port), timeout=5) as s:
        q1 = dns.message.make_query("www.example.org.", "A")
        q2 = dns.message.make_query("web.east.skydns.local.", "A")
        s.sendall(tcp_frame(q1.to_wire()) + tcp_frame(q2.to_wire()))
        got = {m.id: m for m in (dns.message.from_wire(tcp_read_msg(s)) for _ in range(2))}
    assert rdatas(got[q1.id]) == ["192.0.2.7"]
    assert rdatas(got[q2.id]) == ["10.0.0.1", "10.0.0.2"]
    # a client that half-closes after its query still gets the forwarded answer
    for name, want in (("www.example.org.", ["192.0.2.7"]),
                       ("web.east.skydns.local.", ["10.0.0.1", "10.0.0.2"])):
        with socket.create_connection((srv.addr, srv.port), timeout=5) as s:
            q = dns.message.make_query(name, "A")
            s.sendall(tcp_frame(q.to_wire()))
            s.shutdown(socket.SHUT_WR)
            wire = tcp_read_msg(s)
            assert wire is not None, f"{name}: no answer after half-close"
            assert rdatas(dns.message.from_wire(wire)) == want
            assert tcp_read_msg(s) is None, "then the server closes"
    assert_alive(srv)
