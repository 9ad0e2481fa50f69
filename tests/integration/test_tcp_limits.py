"""TCP under hostile clients (RFC 7766 section 6.2): more connections than the
pool holds, all sending (the eviction path that once freed a connection an
event still pointed at); a client that trickles one byte at a time
(slowloris); idle connections; one address opening many connections.

Transport does not depend on the etcd API version, so only v3 is used.
"""

import selectors
import socket
import time

import dns.message
import dns.rcode
import pytest

from conftest import free_port, query, wait_until
from test_ops import sample, scrape
from test_transport import assert_alive, put_web, tcp_frame, tcp_read_msg, wait_records

NAME = "web.east.skydns.local."
TCP_CLOSED = "skydns_skydns_tcp_connections_closed_total"


@pytest.fixture
def mode():
    return "v3"


def query_wire(qid=1):
    q = dns.message.make_query(NAME, "A")
    q.id = qid
    return q.to_wire()


def connect(srv, source="127.0.0.1", timeout=5):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect((srv.addr, srv.port))
    return s


def closed_by_server(s, within):
    """True when the server closes s (EOF or reset) within `within` seconds."""
    s.settimeout(within)
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def answered(s, qid=7):
    try:
        s.sendall(tcp_frame(query_wire(qid)))
        wire = tcp_read_msg(s)
    except (ConnectionResetError, BrokenPipeError, socket.timeout):
        return False
    if wire is None:
        return False
    m = dns.message.from_wire(wire)
    return m.id == qid and m.rcode() == dns.rcode.NOERROR and len(m.answer) == 1


def flood(srv, n_conns, seconds):
    """n_conns connections that each keep one query in flight, for `seconds`.
    Returns (replies read, connections the server closed)."""
    sel = selectors.DefaultSelector()
    frame = tcp_frame(query_wire())
    socks = []
    for i in range(n_conns):
        s = connect(srv, f"127.0.{1 + i // 250}.{1 + i % 250}")
        s.setblocking(False)
        s.send(frame)
        sel.register(s, selectors.EVENT_READ)
        socks.append(s)
    replies = closed = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end and sel.get_map():
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            try:
                data = s.recv(65535)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                closed += 1
                continue
            replies += 1
            try:
                s.send(frame)
            except OSError:
                pass
    for s in socks:
        s.close()
    sel.close()
    return replies, closed


def test_more_connections_than_the_pool_all_sending(kv, skydns):
    # 2 pool threads x 256: 700 busy connections force evictions in the
    # middle of epoll batches; under ASan a stale event is a crash.
    mport = free_port()
    srv = skydns(extra_args=["-metrics-addr", f"127.0.0.1:{mport}"])
    put_web(kv)
    wait_records(srv, NAME, "A", 2)
    replies, closed = flood(srv, 700, 8)
    assert srv.proc.poll() is None, f"skydns died under the flood:\n{srv.logs()}"
    assert replies > 700, (replies, closed)
    evicted = sample(scrape(mport), TCP_CLOSED, reason="evicted")
    assert evicted >= 100 and closed >= 100, (evicted, closed)
    assert_alive(srv)
    assert query(srv, NAME, "A", tcp=True).rcode() == dns.rcode.NOERROR


def test_slowloris_closed_at_the_message_deadline(kv, skydns):
    mport = free_port()
    srv = skydns(extra_args=["-tcp-timeout", "2s", "-metrics-addr", f"127.0.0.1:{mport}"])
    put_web(kv)
    wait_records(srv, NAME, "A", 2)
    slow = connect(srv)
    frame = tcp_frame(query_wire())
    t0 = time.monotonic()
    closed_at = None
    for b in frame:  # one byte every 0.3 s: a whole query would take ~10 s
        try:
            slow.send(bytes([b]))
        except OSError:
            closed_at = time.monotonic()
            break
        if closed_by_server(slow, 0.3):
            closed_at = time.monotonic()
            break
        good = connect(srv)  # others are served meanwhile
        assert answered(good), "a well-behaved client was not answered"
        good.close()
    assert closed_at is not None, "a byte-a-second client kept its connection"
    assert 1.5 <= closed_at - t0 <= 4.0, closed_at - t0
    assert sample(scrape(mport), TCP_CLOSED, reason="timeout") >= 1
    assert_alive(srv)


def test_idle_connection_closed_busy_one_kept(kv, skydns):
    srv = skydns(extra_args=["-tcp-idle-timeout", "2s"])
    put_web(kv)
    wait_records(srv, NAME, "A", 2)
    idle, busy = connect(srv), connect(srv)
    t0 = time.monotonic()
    for i in range(8):  # a query every 0.5 s for 4 s: twice the idle limit
        assert answered(busy, qid=100 + i), f"busy connection dropped after {i} queries"
        time.sleep(0.5)
    assert closed_by_server(idle, 0.1) or closed_by_server(idle, 1.0)
    assert time.monotonic() - t0 <= 5.5
    busy.close()


def test_one_address_capped(kv, skydns):
    mport = free_port()
    srv = skydns(extra_args=["-tcp-max-per-client", "4", "-metrics-addr", f"127.0.0.1:{mport}"])
    put_web(kv)
    wait_records(srv, NAME, "A", 2)
    held = [connect(srv, "127.0.0.2") for _ in range(4)]
    for i, s in enumerate(held):
        assert answered(s, qid=10 + i)
    extra = connect(srv, "127.0.0.2")
    assert not answered(extra), "a fifth connection from one address was served"
    assert closed_by_server(extra, 1.0)
    other = connect(srv, "127.0.0.3")
    assert answered(other), "another address was refused"
    assert sample(scrape(mport), TCP_CLOSED, reason="client_cap") >= 1
    for s in held:  # closing gives the address its slots back
        s.close()
    again = wait_until(lambda: (lambda s: answered(s) and s)(connect(srv, "127.0.0.2")),
                       timeout=5, what="slot freed after close")
    again.close()
    extra.close()
    other.close()
