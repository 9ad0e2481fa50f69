"""Every SkyDNS record type and naming rule, against a real etcd, through the
etcd v2 keys API and the etcd v3 API (skydns -etcd3), asserting the whole
answer, authority and additional sections (skydns-features.md §5-§13).

Where SkyDNS had a bug the project fixes, the test shows the right
behaviour and says so ("fix:"): v3 NXDOMAIN, v3 sibling prefixes, v3 lease
TTLs, CNAME first under round robin, `_` names hidden on both APIs.

One etcd, one upstream (unbound, for external targets) and one skydns per
etcd mode serve the whole module; each test writes under its own subtree.
"""

import time

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.reversename
import pytest

from conftest import query
from records_util import (DEFAULT_TTL, Stack, check_negative, check_positive,
                          check_soa, lines)
from upstream_util import Unbound

D = "skydns.local."
LOCAL = "e2016c14-fbba-11e3.hostlocal.skydns.local."
SERVER_ARGS = ["-local", LOCAL]
EXT = {"ext.example.": ["ext.example. 300 IN SOA ns.ext.example. h.ext.example. 1 3600 600 86400 120",
                        "www.ext.example. 300 IN A 192.0.2.10",
                        "mx.ext.example. 300 IN A 192.0.2.25"]}
LOOKUP_TTL = 300  # fix: forwarder records keep their TTL (SkyDNS forced rcache_ttl, 60)


@pytest.fixture(scope="module")
def st():
    s = Stack(upstream=lambda wd: Unbound(wd, "127.0.0.1", EXT))
    yield s
    s.close()


def key_of(name):
    return "/skydns/" + "/".join(reversed(name.rstrip(".").split(".")))


class Env:
    """One test's view: its mode's writer and server."""

    def __init__(self, st, mode):
        self.st, self.mode = st, mode
        self.s = st.server(mode, SERVER_ARGS)
        self.kv = st.kv[mode]

    def put(self, name, value, ttl=None):
        self.kv.put(key_of(name), value, ttl=ttl)

    def sync(self):
        self.st.sync(self.mode, self.s)

    def q(self, name, rdtype="A", **kw):
        return query(self.s, name, rdtype, **kw)


@pytest.fixture
def workdir(st):
    """The module's directory: conftest attaches its *.log files to failures."""
    return st.workdir


@pytest.fixture
def env(st, mode, workdir):
    return Env(st, mode)


def n(*labels):
    return ".".join(labels) + "." + D


# ------------------------------------------------------------ A / AAAA


def test_a_aaaa_and_nodata_for_the_other_family(env):
    env.put(n("x1", "addr"), {"host": "10.0.0.1"})
    env.put(n("x2", "addr"), {"host": "2001:db8::1"})
    env.sync()
    check_positive(env.q(n("x1", "addr"), "A"), [f"{n('x1', 'addr')} 3600 IN A 10.0.0.1"])
    check_positive(env.q(n("x2", "addr"), "AAAA"), [f"{n('x2', 'addr')} 3600 IN AAAA 2001:db8::1"])
    # the directory: every service below it, of the asked family only
    check_positive(env.q(n("addr"), "A"), [f"{n('addr')} 3600 IN A 10.0.0.1"])
    check_positive(env.q(n("addr"), "AAAA"), [f"{n('addr')} 3600 IN AAAA 2001:db8::1"])
    # AAAA on a v4-only name (and A on a v6-only one): NODATA, not NXDOMAIN
    check_negative(env.q(n("x1", "addr"), "AAAA"), dns.rcode.NOERROR)
    check_negative(env.q(n("x2", "addr"), "A"), dns.rcode.NOERROR)


def test_owner_keeps_the_query_case(env):
    env.put(n("web", "case"), {"host": "10.0.9.1"})
    env.sync()
    r = env.q("WeB.CaSe.SkyDNS.local.", "A")
    check_positive(r, ["WeB.CaSe.SkyDNS.local. 3600 IN A 10.0.9.1"])


# ------------------------------------------------------------ SRV


def test_srv_weights_per_priority(env):
    env.put(n("a", "w"), {"host": "10.1.0.1", "port": 80, "weight": 120})
    env.put(n("b", "w"), {"host": "10.1.0.2", "port": 80, "weight": 100})
    env.put(n("c", "w"), {"host": "10.1.0.3", "port": 80, "weight": 130})
    env.put(n("d", "w"), {"host": "10.1.0.4", "port": 81, "priority": 20})  # alone: 100
    env.put(n("x", "eq"), {"host": "10.1.1.1", "port": 1})
    env.put(n("y", "eq"), {"host": "10.1.1.2", "port": 2, "weight": 0})  # 0 counts as 100
    env.put(n("z", "eq"), {"host": "10.1.1.3", "port": 3})
    env.sync()
    w = n("w")
    check_positive(env.q(w, "SRV"), [
        f"{w} 3600 IN SRV 10 34 80 {n('a', 'w')}",
        f"{w} 3600 IN SRV 10 28 80 {n('b', 'w')}",
        f"{w} 3600 IN SRV 10 37 80 {n('c', 'w')}",
        f"{w} 3600 IN SRV 20 100 81 {n('d', 'w')}",
    ], [
        f"{n('a', 'w')} 3600 IN A 10.1.0.1", f"{n('b', 'w')} 3600 IN A 10.1.0.2",
        f"{n('c', 'w')} 3600 IN A 10.1.0.3", f"{n('d', 'w')} 3600 IN A 10.1.0.4",
    ])
    eq = n("eq")
    check_positive(env.q(eq, "SRV"), [
        f"{eq} 3600 IN SRV 10 33 1 {n('x', 'eq')}",
        f"{eq} 3600 IN SRV 10 33 2 {n('y', 'eq')}",
        f"{eq} 3600 IN SRV 10 33 3 {n('z', 'eq')}",
    ], [f"{n('x', 'eq')} 3600 IN A 10.1.1.1", f"{n('y', 'eq')} 3600 IN A 10.1.1.2",
        f"{n('z', 'eq')} 3600 IN A 10.1.1.3"])


def test_srv_targetstrip(env):
    env.put(n("x1", "bar", "ts"), {"host": "192.168.0.1", "port": 80, "targetstrip": 1})
    env.put(n("4", "rails", "st", "ts"), {"host": "2001:db8::4", "port": 8080, "targetstrip": 2})
    env.put(n("9", "big", "ts"), {"host": "10.1.2.9", "port": 1, "targetstrip": 99})
    env.sync()
    bar = n("bar", "ts")
    check_positive(env.q(bar, "SRV"), [f"{bar} 3600 IN SRV 10 100 80 {bar}"],
                   [f"{bar} 3600 IN A 192.168.0.1"])
    r4 = n("4", "rails", "st", "ts")
    check_positive(env.q(r4, "SRV"), [f"{r4} 3600 IN SRV 10 100 8080 {n('st', 'ts')}"],
                   [f"{n('st', 'ts')} 3600 IN AAAA 2001:db8::4"])
    # stripping more labels than the name has keeps the whole name
    b9 = n("9", "big", "ts")
    check_positive(env.q(b9, "SRV"), [f"{b9} 3600 IN SRV 10 100 1 {b9}"],
                   [f"{b9} 3600 IN A 10.1.2.9"])


def test_srv_additional_for_named_targets(env):
    # an in-domain target: its A and AAAA, CNAME chain included, in additional
    env.put(n("web", "sa"), {"host": "alias.sb.skydns.local", "port": 443})
    env.put(n("alias", "sb"), {"host": "real.sc.skydns.local"})
    env.put(n("v4", "real", "sc"), {"host": "10.2.2.4"})
    env.put(n("v6", "real", "sc"), {"host": "2001:db8::24"})
    # an external target: the forwarder's answer, TTL rcache_ttl
    env.put(n("ext", "sd"), {"host": "www.ext.example", "port": 80})
    env.sync()
    web = n("web", "sa")
    alias, real = n("alias", "sb"), n("real", "sc")
    check_positive(env.q(web, "SRV"), [f"{web} 3600 IN SRV 10 100 443 {alias}"], [
        f"{alias} 3600 IN CNAME {real}", f"{real} 3600 IN A 10.2.2.4",
        f"{real} 3600 IN AAAA 2001:db8::24"])
    ext = n("ext", "sd")
    check_positive(env.q(ext, "SRV"), [f"{ext} 3600 IN SRV 10 100 80 www.ext.example."],
                   [f"www.ext.example. {LOOKUP_TTL} IN A 192.0.2.10"])


# ------------------------------------------------------------ CNAME


def test_cname_chain_to_an_address(env):
    env.put(n("c1", "ch"), {"host": "c2.ch.skydns.local"})
    env.put(n("c2", "ch"), {"host": "c3.ch2.skydns.local"})
    env.put(n("c3", "ch2"), {"host": "10.3.0.3"})
    env.sync()
    r = env.q(n("c1", "ch"), "A")
    want = [f"{n('c1', 'ch')} 3600 IN CNAME {n('c2', 'ch')}",
            f"{n('c2', 'ch')} 3600 IN CNAME {n('c3', 'ch2')}",
            f"{n('c3', 'ch2')} 3600 IN A 10.3.0.3"]
    check_positive(r, want)
    # several CNAMEs are never reordered (SkyDNS #128): chain order on the wire
    assert [rr.to_text() for rr in r.answer] == want
    # the chain gives nothing for AAAA, so neither CNAME is sent: NODATA
    check_negative(env.q(n("c1", "ch"), "AAAA"), dns.rcode.NOERROR)
    # qtype CNAME: the one CNAME of the name itself
    check_positive(env.q(n("c1", "ch"), "CNAME"), [want[0]])
    # qtype CNAME on an address name: NODATA
    check_negative(env.q(n("c3", "ch2"), "CNAME"), dns.rcode.NOERROR)


def test_cname_loop_and_dead_end_are_cut(env):
    env.put(n("l1", "loop"), {"host": "l2.loop2.skydns.local"})
    env.put(n("l2", "loop2"), {"host": "l1.loop.skydns.local"})
    env.put(n("self", "loop3"), {"host": "self.loop3.skydns.local"})
    env.put(n("d1", "dead"), {"host": "nothing.dead2.skydns.local"})
    env.sync()
    for name in (n("l1", "loop"), n("self", "loop3"), n("d1", "dead")):
        check_negative(env.q(name, "A"), dns.rcode.NOERROR)


def chain(env, tag, length):
    """n0 -> n1 -> ... -> n<length> -> 10.4.0.<length>: `length` CNAMEs."""
    for i in range(length):
        env.put(n(f"n{i}", tag), {"host": f"n{i + 1}.{tag}.skydns.local"})
    env.put(n(f"n{length}", tag), {"host": f"10.4.0.{length}"})


def test_cname_chain_max_length_8(env):
    chain(env, "len8", 8)
    chain(env, "len9", 9)
    env.sync()
    r = env.q(n("n0", "len8"), "A")
    want = [f"{n(f'n{i}', 'len8')} 3600 IN CNAME {n(f'n{i + 1}', 'len8')}" for i in range(8)]
    want.append(f"{n('n8', 'len8')} 3600 IN A 10.4.0.8")
    check_positive(r, want)
    assert [rr.to_text() for rr in r.answer] == want
    # nine CNAMEs: the chain is cut, nothing resolved, NODATA
    check_negative(env.q(n("n0", "len9"), "A"), dns.rcode.NOERROR)
    # one step shorter it fits again
    r = env.q(n("n1", "len9"), "A")
    assert len(r.answer) == 9 and r.answer[-1].to_text() == f"{n('n9', 'len9')} 3600 IN A 10.4.0.9"


def test_cname_to_an_external_name(env):
    env.put(n("www", "xc"), {"host": "www.ext.example"})
    env.sync()
    r = env.q(n("www", "xc"), "A")
    # several answer RRs share the smallest TTL, the forwarder's included
    check_positive(r, [f"{n('www', 'xc')} {LOOKUP_TTL} IN CNAME www.ext.example.",
                       f"www.ext.example. {LOOKUP_TTL} IN A 192.0.2.10"])
    assert r.answer[0].rdtype == dns.rdatatype.CNAME


# ------------------------------------------------------------ MX, TXT


def test_mx_with_glue(env):
    env.put(n("m1", "mail"), {"host": "10.5.0.1", "mail": True, "priority": 5})
    env.put(n("m2", "mail"), {"host": "mx.mailhost.skydns.local", "mail": True})
    env.put(n("web", "mail"), {"host": "10.5.0.9"})  # not a mail service
    env.put(n("mx", "mailhost"), {"host": "2001:db8::25"})
    env.put(n("m3", "mailx"), {"host": "mx.ext.example", "mail": True, "priority": 30})
    env.sync()
    m = n("mail")
    check_positive(env.q(m, "MX"), [f"{m} 3600 IN MX 5 {n('m1', 'mail')}",
                                    f"{m} 3600 IN MX 10 {n('mx', 'mailhost')}"],
                   [f"{n('m1', 'mail')} 3600 IN A 10.5.0.1",
                    f"{n('mx', 'mailhost')} 3600 IN AAAA 2001:db8::25"])
    check_positive(env.q(n("mailx"), "MX"), [f"{n('mailx')} 3600 IN MX 30 mx.ext.example."],
                   [f"mx.ext.example. {LOOKUP_TTL} IN A 192.0.2.25"])
    # a name without mail services: NODATA
    check_negative(env.q(n("web", "mail"), "MX"), dns.rcode.NOERROR)


def test_txt_and_255_byte_strings(env):
    long = "".join(chr(ord("a") + i % 26) for i in range(300))
    exact = "x" * 255
    env.put(n("t1", "txt"), {"text": "hello world"})
    env.put(n("t2", "txtl"), {"text": long})
    env.put(n("t3", "txte"), {"text": exact})
    env.put(n("t4", "txtn"), {"host": "10.6.0.1"})
    env.sync()
    check_positive(env.q(n("t1", "txt"), "TXT"), [f'{n("t1", "txt")} 3600 IN TXT "hello world"'])
    r = env.q(n("t2", "txtl"), "TXT")
    check_positive(r, [f'{n("t2", "txtl")} 3600 IN TXT "{long[:255]}" "{long[255:]}"'])
    assert [len(s) for s in r.answer[0][0].strings] == [255, 45]
    # fix: SkyDNS added an empty string after exactly 255 bytes
    r = env.q(n("t3", "txte"), "TXT")
    check_positive(r, [f'{n("t3", "txte")} 3600 IN TXT "{exact}"'])
    assert [len(s) for s in r.answer[0][0].strings] == [255]
    # no text: NODATA
    check_negative(env.q(n("t4", "txtn"), "TXT"), dns.rcode.NOERROR)


# ------------------------------------------------------------ apex: NS, SOA


def test_ns_with_glue_at_the_apex(env):
    env.put("ns1.ns.dns." + D, {"host": "172.16.0.1"})
    env.put("ns2.ns.dns." + D, {"host": "2001:db8::53"})
    env.sync()
    check_positive(env.q(D, "NS"), [f"{D} 3600 IN NS ns1.ns.dns.{D}", f"{D} 3600 IN NS ns2.ns.dns.{D}"],
                   [f"ns1.ns.dns.{D} 3600 IN A 172.16.0.1", f"ns2.ns.dns.{D} 3600 IN AAAA 2001:db8::53"])
    # NS below the apex: NODATA
    check_negative(env.q("ns.dns." + D, "NS"), dns.rcode.NOERROR)


def test_soa_fields(env):
    t0 = time.time()
    r = env.q(D, "SOA")
    t1 = time.time()
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    check_soa(r, "answer", DEFAULT_TTL, t0=t0, t1=t1)
    assert r.authority == [] and r.additional == []
    env.put(n("x", "soa"), {"host": "10.7.0.1"})
    env.sync()
    # SOA below the apex: NODATA if the name exists, NXDOMAIN if not
    check_negative(env.q(n("x", "soa"), "SOA"), dns.rcode.NOERROR)
    check_negative(env.q(n("y", "soa"), "SOA"), dns.rcode.NXDOMAIN)


# ------------------------------------------------------------ PTR


def test_ptr_v4_and_v6_not_authoritative(env):
    v4 = dns.reversename.from_address("10.0.1.125").to_text()
    v6 = dns.reversename.from_address("2001:db8::8:1").to_text()
    env.put(v4, {"host": "4.rails.staging.east.skydns.local"})
    env.put(v6, {"host": "6.rails.staging.east.skydns.local.", "ttl": 300})
    # fix (v3): a reverse read by string prefix saw 10.0.1.12 and .125 as two
    # services for 10.0.1.12 and gave up
    v4b = dns.reversename.from_address("10.0.1.12").to_text()
    env.put(v4b, {"host": "twelve.skydns.local"})
    env.sync()
    check_positive(env.q(v4, "PTR"), [f"{v4} 3600 IN PTR 4.rails.staging.east.{D}"], aa=False)
    check_positive(env.q(v4b, "PTR"), [f"{v4b} 3600 IN PTR twelve.{D}"], aa=False)
    check_positive(env.q(v6, "PTR"), [f"{v6} 300 IN PTR 6.rails.staging.east.{D}"], aa=False)
    # fix: only PTR goes to the reverse handler (SkyDNS sent every ip6.arpa
    # qtype there); an A query for the name is forwarded like any other
    # name outside the domain (unbound knows nothing of it: NXDOMAIN)
    r = env.q(v6, "A")
    assert r.rcode() == dns.rcode.NXDOMAIN and r.answer == [], lines(r)


# ------------------------------------------------------------ wildcards


def test_wildcards_star_and_any(env):
    env.put(n("a", "prod", "east", "wc"), {"host": "10.8.0.1"})
    env.put(n("b", "prod", "west", "wc"), {"host": "10.8.0.2"})
    env.put(n("c", "staging", "east", "wc"), {"host": "10.8.0.3"})
    env.sync()

    def a(name, *ips):
        check_positive(env.q(name, "A"), [f"{name} 3600 IN A {ip}" for ip in ips])
    a(n("prod", "*", "wc"), "10.8.0.1", "10.8.0.2")
    a(n("prod", "any", "wc"), "10.8.0.1", "10.8.0.2")
    a(n("*", "east", "wc"), "10.8.0.1", "10.8.0.3")
    a(n("*", "*", "wc"), "10.8.0.1", "10.8.0.2", "10.8.0.3")
    a(n("a", "any", "*", "wc"), "10.8.0.1")
    a(n("*", "staging", "any", "wc"), "10.8.0.3")
    # wildcard SRV: targets synthesized from the keys, the owner is the query
    q = n("staging", "*", "wc")
    check_positive(env.q(q, "SRV"), [f"{q} 3600 IN SRV 10 100 0 {n('c', 'staging', 'east', 'wc')}"],
                   [f"{n('c', 'staging', 'east', 'wc')} 3600 IN A 10.8.0.3"])
    # the path before the wildcard exists but nothing matches: NODATA
    check_negative(env.q(n("nope", "*", "wc"), "A"), dns.rcode.NOERROR)
    # the path before the wildcard does not exist: NXDOMAIN
    check_negative(env.q(n("prod", "*", "nowc"), "A"), dns.rcode.NXDOMAIN)


# ------------------------------------------------------------ groups


def test_groups(env):
    # skydns-features.md §7 test data
    env.put(n("a", "dom", "grp"), {"host": "10.9.0.1", "group": "g1"})
    env.put(n("b", "sub", "dom", "grp"), {"host": "10.9.0.2", "group": "g1"})
    env.put(n("a", "dom2", "grp"), {"host": "10.9.2.1", "group": "g1"})
    env.put(n("b", "sub", "dom2", "grp"), {"host": "10.9.2.2"})
    env.put(n("a", "dom1", "grp"), {"host": "10.9.1.1", "group": "g1"})
    env.put(n("b", "sub", "dom1", "grp"), {"host": "10.9.1.2", "group": "g2"})
    env.sync()

    def a(name, *ips):
        check_positive(env.q(name, "A"), [f"{name} 3600 IN A {ip}" for ip in ips])
    a(n("dom", "grp"), "10.9.0.1", "10.9.0.2")
    a(n("dom2", "grp"), "10.9.2.1", "10.9.2.2")
    a(n("dom1", "grp"), "10.9.1.1")
    a(n("sub", "dom1", "grp"), "10.9.1.2")
    # groups apply to SRV too
    q = n("dom1", "grp")
    check_positive(env.q(q, "SRV"), [f"{q} 3600 IN SRV 10 100 0 {n('a', 'dom1', 'grp')}"],
                   [f"{n('a', 'dom1', 'grp')} 3600 IN A 10.9.1.1"])


# ------------------------------------------------------------ host-local


def test_host_local_value(env):
    env.put(LOCAL, {"host": "10.10.0.16"})
    env.sync()
    ld = "local.dns." + D
    check_positive(env.q(ld, "A"), [f"{ld} 3600 IN A 10.10.0.16"])
    check_negative(env.q(ld, "AAAA"), dns.rcode.NOERROR)
    # the name it stands for answers as itself
    check_positive(env.q(LOCAL, "A"), [f"{LOCAL} 3600 IN A 10.10.0.16"])
    # "it can also be an external name, which will be resolved"
    ext = env.st.server(env.mode, ["-local", "www.ext.example."])
    r = query(ext, ld, "A")
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    # (TTLs of answers completed by the forwarder: test_cname_to_an_external_name)
    assert [(rr.to_text().split()[0], *rr.to_text().split()[2:]) for rr in r.answer] == [
        (ld, "IN", "CNAME", "www.ext.example."), ("www.ext.example.", "IN", "A", "192.0.2.10")]
    assert r.authority == [] and r.additional == []


# ------------------------------------------------------------ TTLs


def ttl_of(msg):
    assert msg.rcode() == dns.rcode.NOERROR and msg.answer, lines(msg)
    return {rr.ttl for rr in msg.answer}


def test_ttl_service_and_multi_record_rules(env):
    env.put(n("x", "ttl1"), {"host": "10.11.0.1", "ttl": 7200})
    env.put(n("x", "ttl2"), {"host": "10.11.1.1", "ttl": 7200})
    env.put(n("y", "ttl2"), {"host": "10.11.1.2", "ttl": 100})
    env.put(n("x", "ttl3"), {"host": "10.11.2.1", "ttl": 7200})
    env.put(n("y", "ttl3"), {"host": "10.11.2.2", "ttl": 7200})
    env.put(n("x", "ttl4"), {"host": "10.11.3.1", "ttl": 30})
    env.sync()
    # a single record keeps its own TTL, even above the default
    check_positive(env.q(n("x", "ttl1"), "A"), [f"{n('x', 'ttl1')} 7200 IN A 10.11.0.1"])
    check_positive(env.q(n("x", "ttl4"), "A"), [f"{n('x', 'ttl4')} 30 IN A 10.11.3.1"])
    # several records: all get the smallest TTL, and never above the default
    q = n("ttl2")
    check_positive(env.q(q, "A"), [f"{q} 100 IN A 10.11.1.1", f"{q} 100 IN A 10.11.1.2"])
    q = n("ttl3")
    check_positive(env.q(q, "A"), [f"{q} 3600 IN A 10.11.2.1", f"{q} 3600 IN A 10.11.2.2"])
    # SRV: the additional section keeps each record's own TTL
    check_positive(env.q(q, "SRV"), [f"{q} 3600 IN SRV 10 50 0 {n('x', 'ttl3')}",
                                     f"{q} 3600 IN SRV 10 50 0 {n('y', 'ttl3')}"],
                   [f"{n('x', 'ttl3')} 7200 IN A 10.11.2.1", f"{n('y', 'ttl3')} 7200 IN A 10.11.2.2"])


def test_ttl_etcd_ttl_versus_service_ttl(env):
    # fix (v3): the lease's remaining time, not the lease ID, as the etcd TTL
    env.put(n("e", "ettl1"), {"host": "10.12.0.1"}, ttl=500)
    env.put(n("e", "ettl2"), {"host": "10.12.1.1", "ttl": 50}, ttl=500)
    env.put(n("e", "ettl3"), {"host": "10.12.2.1", "ttl": 1000}, ttl=500)
    env.sync()
    (t,) = ttl_of(env.q(n("e", "ettl1"), "A"))
    assert 440 <= t <= 500, t
    assert ttl_of(env.q(n("e", "ettl2"), "A")) == {50}
    (t,) = ttl_of(env.q(n("e", "ettl3"), "A"))
    assert 440 <= t <= 500, t


# ------------------------------------------------------------ negative answers


def test_nxdomain_vs_nodata_same_on_both_apis(env):
    env.put(n("leaf", "neg"), {"host": "10.13.0.1"})
    env.sync()
    # fix (v3): SkyDNS's v3 backend never said NXDOMAIN
    check_negative(env.q(n("missing", "neg"), "A"), dns.rcode.NXDOMAIN)
    check_negative(env.q(n("below", "leaf", "neg"), "A"), dns.rcode.NXDOMAIN)
    check_negative(env.q(n("nothing-here"), "SRV"), dns.rcode.NXDOMAIN)
    # exists, no data of that type (also for types SkyDNS has no data for)
    check_negative(env.q(n("leaf", "neg"), "TXT"), dns.rcode.NOERROR)
    check_negative(env.q(n("leaf", "neg"), "HINFO"), dns.rcode.NOERROR)
    check_negative(env.q(n("missing", "neg"), "HINFO"), dns.rcode.NXDOMAIN)
    # an empty non-terminal: it exists
    check_negative(env.q(n("neg"), "MX"), dns.rcode.NOERROR)


# ------------------------------------------------------------ round robin


def test_round_robin_changes_order_cname_first(env):
    for i in range(1, 6):
        env.put(n(f"x{i}", "rr"), {"host": f"10.14.0.{i}"})
    env.put(n("c", "rrc"), {"host": "t.rrdst.skydns.local"})
    for i in range(1, 5):
        env.put(n(f"a{i}", "t", "rrdst"), {"host": f"10.14.2.{i}"})
    env.sync()
    orders = set()
    q = n("rr")
    want = sorted(f"{q} 3600 IN A 10.14.0.{i}" for i in range(1, 6))
    for _ in range(30):
        r = env.q(q, "A")
        check_positive(r, want)
        orders.add(tuple(rd.to_text() for rd in r.answer[0]))
    assert len(orders) > 1, "round robin never changed the order"
    q, t = n("rrc"), n("t", "rrdst")
    want = [f"{q} 3600 IN CNAME {t}"] + [f"{t} 3600 IN A 10.14.2.{i}" for i in range(1, 5)]
    orders = set()
    for _ in range(30):
        r = env.q(q, "A")
        check_positive(r, want)
        # fix (SkyDNS #217): the CNAME stays first; the addresses rotate
        assert r.answer[0].rdtype == dns.rdatatype.CNAME, [x.to_text() for x in r.answer]
        orders.add(tuple(rd.to_text() for rd in r.answer[1]))
    assert len(orders) > 1, "round robin never changed the order behind the CNAME"


def test_cname_beside_addresses_is_dropped(env):
    # fix (RFC 1034 3.6.2): a name with addresses has no CNAME; SkyDNS sent
    # "x CNAME t" next to "x A ..." when a directory mixed both kinds
    env.put(n("x1", "mix"), {"host": "10.14.3.1"})
    env.put(n("c", "mix"), {"host": "t.mixdst.skydns.local"})
    env.put(n("t", "mixdst"), {"host": "10.14.4.9"})
    env.sync()
    q = n("mix")
    check_positive(env.q(q, "A"), [f"{q} 3600 IN A 10.14.3.1"])
    # the CNAME service alone still answers with its chain
    c = n("c", "mix")
    check_positive(env.q(c, "A"), [f"{c} 3600 IN CNAME {n('t', 'mixdst')}",
                                   f"{n('t', 'mixdst')} 3600 IN A 10.14.4.9"])


# ------------------------------------------------------------ hidden `_` names


def test_underscore_names_not_in_parent_answers(env):
    env.put(n("_http", "_tcp", "us"), {"host": "10.15.0.1", "port": 80})
    env.put(n("plain", "us"), {"host": "10.15.0.2"})
    env.sync()
    us = n("us")
    check_positive(env.q(us, "A"), [f"{us} 3600 IN A 10.15.0.2"])
    check_positive(env.q(us, "SRV"), [f"{us} 3600 IN SRV 10 100 0 {n('plain', 'us')}"],
                   [f"{n('plain', 'us')} 3600 IN A 10.15.0.2"])


def test_underscore_names_answer_when_asked(env):
    env.put(n("_http", "_tcp", "us2"), {"host": "10.15.1.1", "port": 80})
    env.put(n("plain", "us2"), {"host": "10.15.1.2"})
    env.sync()
    h = n("_http", "_tcp", "us2")
    if env.mode == "v2":
        # Documented limitation (README, "etcd v2 and `_` names"): etcd v2
        # leaves `_` keys out of recursive reads AND recursive watches, so a
        # mirror of etcd cannot see them; SkyDNS saw them only because it read
        # etcd on every query. The answer is a clean NXDOMAIN, never stale data.
        check_negative(env.q(h, "SRV"), dns.rcode.NXDOMAIN)
        return
    check_positive(env.q(h, "SRV"), [f"{h} 3600 IN SRV 10 100 80 {h}"], [f"{h} 3600 IN A 10.15.1.1"])
    check_positive(env.q(h, "A"), [f"{h} 3600 IN A 10.15.1.1"])


# ------------------------------------------------------------ v3 sibling prefixes


def test_sibling_prefix_never_matches(env):
    # fix (v3, SkyDNS #349): "dom" read as a string prefix also gave dom1, domx
    env.put(n("a", "dom", "sib"), {"host": "10.16.0.1"})
    env.put(n("b", "dom1", "sib"), {"host": "10.16.0.2"})
    env.put(n("domx", "sib"), {"host": "10.16.0.3"})
    env.sync()
    q = n("dom", "sib")
    check_positive(env.q(q, "A"), [f"{q} 3600 IN A 10.16.0.1"])
    check_positive(env.q(q, "SRV"), [f"{q} 3600 IN SRV 10 100 0 {n('a', 'dom', 'sib')}"],
                   [f"{n('a', 'dom', 'sib')} 3600 IN A 10.16.0.1"])
    check_negative(env.q(n("do", "sib"), "A"), dns.rcode.NXDOMAIN)


# ------------------------------------------------------------ CHAOS, ANY


def test_chaos(env):
    for name, text in (("version.bind.", "2.5.3a"), ("version.server.", "2.5.3a"),
                       ("hostname.bind.", "localhost"), ("id.server.", "localhost")):
        r = env.q(name, "TXT", rdclass="CH")
        assert r.rcode() == dns.rcode.NOERROR
        assert lines(r) == [f'{name} 0 CH TXT "{text}"']
        assert r.authority == [] and r.additional == []
    authors = ['"Brian Ketelsen"', '"Erik St. Martin"', '"Michael Crosby"', '"Miek Gieben"']
    orders = set()
    for _ in range(10):
        r = env.q("authors.bind.", "TXT", rdclass="CH")
        assert r.rcode() == dns.rcode.NOERROR
        assert sorted(rd.to_text() for rd in r.answer[0]) == authors
        assert r.answer[0].ttl == 0 and r.answer[0].rdclass == dns.rdataclass.CH
        orders.add(tuple(rd.to_text() for rd in r.answer[0]))
    assert len(orders) > 1, "authors.bind is shuffled every time"
    for name, t in (("version.bind.", "A"), ("foo.bar.", "TXT"), (n("x", "addr"), "TXT")):
        r = env.q(name, t, rdclass="CH")
        assert r.rcode() == dns.rcode.REFUSED, (name, t, dns.rcode.to_text(r.rcode()))  # NSD; SkyDNS: SERVFAIL
        assert r.answer == [] and r.authority == []


def test_any_is_refused(env):
    env.put(n("x", "any1"), {"host": "10.17.0.1"})
    env.sync()
    for name in (n("x", "any1"), D, "example.org."):
        r = env.q(name, "ANY")
        assert r.rcode() == dns.rcode.REFUSED, dns.rcode.to_text(r.rcode())
        assert not r.flags & dns.flags.AA and not r.flags & dns.flags.RD
        assert r.answer == [] and r.authority == [] and r.additional == []

