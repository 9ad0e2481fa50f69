"""Response-rate limiting (issue 13 item 3): a UDP flood from one /24 is cut
down to the rate, part of the excess slipped back truncated (TC=1, so a real
client retries over TCP) and the rest dropped, while another /24 is answered
in full and TCP from the flooded source is never limited. Log-only mode
answers everything and counts; the settings apply live from etcd.

127.0.0.0/8 is all loopback on Linux, so 127.0.0.1 and 127.0.1.1 are two
clients in different /24s. Transport does not depend on the etcd API
version, so only v3 is used.
"""

import socket
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from conftest import free_port, query, rdatas, wait_until
from test_ops import sample, scrape
from test_transport import put_web

NAME = "web.east.skydns.local."
RRL = "skydns_skydns_rrl_responses_total"
FLOODER, OTHER = "127.0.0.1", "127.0.1.1"


@pytest.fixture
def mode():
    return "v3"


def wait_web_tcp(srv, ttl=None):
    """Wait for the records over TCP (never rate limited), optionally with
    a given TTL (a marker that a config change is live)."""
    def ok():
        r = query(srv, NAME, "A", tcp=True)
        if rdatas(r) != ["10.0.0.1", "10.0.0.2"]:
            return False
        return ttl is None or r.answer[0].ttl == ttl
    wait_until(ok, timeout=15, what=f"web records over TCP (ttl {ttl})")


def udp_socket(source):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    s.setblocking(False)
    return s


def wire(qid):
    q = dns.message.make_query(NAME, "A")
    q.id = qid
    return q.to_wire()


class Tally:
    def __init__(self):
        self.full, self.slipped, self.other = set(), set(), 0

    def take(self, s):
        """Read what s has now; return how many messages."""
        n = 0
        while True:
            try:
                data = s.recv(65535)
            except (BlockingIOError, InterruptedError):
                return n
            n += 1
            m = dns.message.from_wire(data)
            if m.flags & dns.flags.TC:
                # a slip: the question echoed, no records at all
                assert not m.answer and not m.authority and not m.additional, m
                assert m.question[0].name.to_text() == NAME
                self.slipped.add(m.id)
            elif m.rcode() == dns.rcode.NOERROR and len(m.answer) == 1:
                self.full.add(m.id)
            else:
                self.other += 1


def drain(socks_tallies, quiet=0.5, limit=5.0):
    """Read until no socket has had anything for `quiet` seconds (bounded)."""
    end = time.monotonic() + limit
    last = time.monotonic()
    while time.monotonic() < end and time.monotonic() - last < quiet:
        got = sum(t.take(s) for s, t in socks_tallies)
        if got:
            last = time.monotonic()
        else:
            time.sleep(0.01)


def flood(srv, n, other_every=0, other_max=0):
    """n UDP queries from FLOODER in a tight loop, reading replies as they
    come; every other_every-th step one query from OTHER (at most other_max).
    Returns (flooder tally, other tally, queries OTHER sent)."""
    f, o = udp_socket(FLOODER), udp_socket(OTHER)
    tf, to = Tally(), Tally()
    sent_other = 0
    try:
        for i in range(n):
            f.sendto(wire(i), (srv.addr, srv.port))
            if other_every and i % other_every == 0 and sent_other < other_max:
                o.sendto(wire(10000 + sent_other), (srv.addr, srv.port))
                sent_other += 1
            tf.take(f)
            to.take(o)
        drain([(f, tf), (o, to)])
    finally:
        f.close()
        o.close()
    return tf, to, sent_other


def stop_clean(srv):
    """The daemon survived the floods and exits cleanly (under ASan: no
    report, no leak)."""
    assert srv.proc.poll() is None, srv.logs()[-3000:]
    logs = srv.logs()
    assert srv.stop() == 0, logs[-3000:]
    assert "Sanitizer" not in srv.logs(), srv.logs()[-3000:]


def test_flood_slipped_other_source_answered(kv, skydns):
    mport = free_port()
    srv = skydns(extra_args=["-rrl-rate", "20", "-rrl-slip", "2",
                             "-metrics-addr", f"127.0.0.1:{mport}"])
    put_web(kv)
    wait_web_tcp(srv)
    time.sleep(1.1)  # the flooder's bucket refills after the readiness probes
    tf, to, sent_other = flood(srv, 500, other_every=50, other_max=10)

    # the flooder: about the burst of 20 answered, far fewer than it sent
    assert 20 <= len(tf.full) <= 100, (len(tf.full), len(tf.slipped))
    assert tf.other == 0
    limited = 500 - len(tf.full)
    # slip 2: every second limited reply comes back truncated, the rest is
    # silence (a spoofed victim gets no more than it would from the query)
    assert abs(len(tf.slipped) - limited / 2) <= 3, (len(tf.slipped), limited)
    # the other /24 was answered in full throughout
    assert sent_other == 10 and len(to.full) == 10 and not to.slipped, \
        (sent_other, len(to.full), len(to.slipped))

    # TCP from the flooded source is never limited
    r = dns.query.tcp(dns.message.make_query(NAME, "A"), srv.addr, port=srv.port,
                      timeout=5, source=FLOODER)
    assert rdatas(r) == ["10.0.0.1", "10.0.0.2"]

    m = scrape(mport)
    assert sample(m, RRL, action="slipped") >= len(tf.slipped)
    assert sample(m, RRL, action="dropped") >= limited - len(tf.slipped) - 3
    assert sample(m, RRL, action="logged") == 0
    # one log line for the prefix, not one per reply
    lines = [ln for ln in srv.logs().splitlines() if "rate limiting responses" in ln]
    assert any("prefix=127.0.0.0/24" in ln for ln in lines), srv.logs()[-2000:]
    assert len(lines) <= 3, lines
    stop_clean(srv)


def test_log_only_answers_everything(kv, skydns):
    mport = free_port()
    srv = skydns(extra_args=["-rrl-rate", "5", "-rrl-log-only",
                             "-metrics-addr", f"127.0.0.1:{mport}"])
    put_web(kv)
    wait_web_tcp(srv)
    tf, _, _ = flood(srv, 200)
    assert len(tf.full) == 200 and not tf.slipped, (len(tf.full), len(tf.slipped))
    m = scrape(mport)
    assert sample(m, RRL, action="logged") >= 150
    assert sample(m, RRL, action="dropped") == 0 and sample(m, RRL, action="slipped") == 0
    assert "rate limiting responses prefix=127.0.0.0/24" in srv.logs()
    stop_clean(srv)


def test_off_by_default_and_live_from_etcd(kv, skydns):
    srv = skydns()
    put_web(kv)
    wait_web_tcp(srv)
    tf, _, _ = flood(srv, 300)
    assert len(tf.full) == 300, "no limit unless configured"

    kv.put("/skydns/config", {"rrl_rate": 10, "rrl_slip": 1, "ttl": 123})
    wait_web_tcp(srv, ttl=123)
    time.sleep(1.1)
    tf, _, _ = flood(srv, 300)
    # slip 1: every limited reply is truncated, none dropped
    assert len(tf.full) <= 80 and len(tf.full) + len(tf.slipped) == 300, \
        (len(tf.full), len(tf.slipped))
    # a slipped reply is what makes a real client behind the prefix switch to
    # TCP: empty the bucket, then ask as a stub resolver does. The bucket
    # refills a token every 100 ms, so on a loaded machine the question may
    # find one: a few tries, each emptying the bucket first.
    tries = []
    for _ in range(5):
        s, t = udp_socket(FLOODER), Tally()
        for i in range(30):
            s.sendto(wire(i), (srv.addr, srv.port))
        # slip 1: all 30 come back; once they have, the bucket is empty
        end = time.monotonic() + 5
        while len(t.full) + len(t.slipped) < 30 and time.monotonic() < end:
            t.take(s)
            time.sleep(0.001)
        s.close()
        assert t.slipped, "the bucket was emptied"
        r, used_tcp = dns.query.udp_with_fallback(dns.message.make_query(NAME, "A"), srv.addr,
                                                  port=srv.port, timeout=3, source=FLOODER)
        assert rdatas(r) == ["10.0.0.1", "10.0.0.2"]
        tries.append(used_tcp)
        if used_tcp:
            break
    assert any(tries), tries

    kv.put("/skydns/config", {"rrl_rate": 0, "ttl": 124})
    wait_web_tcp(srv, ttl=124)
    tf, _, _ = flood(srv, 300)
    assert len(tf.full) == 300
    stop_clean(srv)
