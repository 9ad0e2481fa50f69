"""DNSSEC online signing (issue 8): real etcd, real skydns started with a key
made here by dnssec-keygen, answers checked by three independent validators:
delv (BIND) and drill -S (ldns) with the key as trust anchor, and dnspython's
dns.dnssec plus an RFC 5155 NSEC3 denial check written here.

delv exits 0 even when validation fails, so its text is checked
("; fully validated" / "; negative response, fully validated"); drill -S
prints ";; Chase successful" and exits non-zero when the chase fails.
"""

import base64
import os
import subprocess

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from conftest import SKYDNS_BIN, free_port, query, stop_pid, wait_until

ZONE = "skydns.test."
BASE = "/skydns/test/skydns"
ALGS = ["RSASHA256", "ECDSAP256SHA256", "ED25519"]


@pytest.fixture(params=["v2"])
def mode(request):
    """Signing happens after resolve(): the etcd API does not matter here."""
    return request.param


# ---------------------------------------------------------------- keys


class Key:
    """A dnssec-keygen key pair for ZONE in dir, with anchor files."""

    def __init__(self, workdir, alg, tag="", readme=False):
        d = os.path.join(workdir, f"keys-{alg}{tag}")
        os.makedirs(d, exist_ok=True)
        # readme: the SkyDNS README's `dnssec-keygen <domain>`, plus the -a
        # Debian 12's dnssec-keygen needs (and -K: where to write)
        extra = [] if readme else ["-b", "2048"] if alg.startswith("RSA") else []
        extra += [] if readme else ["-n", "ZONE"]
        out = subprocess.run(["dnssec-keygen", "-q", "-K", d, "-a", alg, *extra,
                              ZONE.rstrip(".") if readme else ZONE],
                             capture_output=True, text=True, timeout=60, check=True)
        self.base = os.path.join(d, out.stdout.strip().splitlines()[-1])
        with open(self.base + ".key") as f:
            self.rr_line = next(l.strip() for l in f if l.strip() and not l.startswith(";"))
        # "skydns.test. IN DNSKEY 256 3 13 <b64...>"
        fields = self.rr_line.split()
        i = fields.index("DNSKEY")
        self.flags, self.proto, self.alg = fields[i + 1], fields[i + 2], fields[i + 3]
        self.b64 = "".join(fields[i + 4:])
        self.rrset = dns.rrset.from_text(ZONE, 3600, "IN", "DNSKEY",
                                         f"{self.flags} {self.proto} {self.alg} {self.b64}")
        self.anchor = os.path.join(d, "anchor.conf")
        with open(self.anchor, "w") as f:
            f.write(f'trust-anchors {{ "{ZONE}" static-key {self.flags} {self.proto} '
                    f'{self.alg} "{self.b64}"; }};\n')
        self.drill_key = os.path.join(d, "drill.key")
        with open(self.drill_key, "w") as f:
            f.write(self.rr_line + "\n")


@pytest.fixture(params=ALGS)
def key(request, workdir):
    return Key(workdir, request.param)


# ---------------------------------------------------------------- data


def put_data(kv):
    kv.put(f"{BASE}/web/a", {"host": "10.0.0.1"})
    kv.put(f"{BASE}/web/b", {"host": "10.0.0.2"})
    kv.put(f"{BASE}/v6", {"host": "2001:db8::1"})
    kv.put(f"{BASE}/svc", {"host": "10.0.0.3", "port": 8080})
    kv.put(f"{BASE}/txt", {"text": "hello signed world"})
    kv.put(f"{BASE}/mail", {"host": "10.0.0.4", "mail": True, "priority": 20})
    kv.put(f"{BASE}/alias", {"host": "web.skydns.test"})
    kv.put(f"{BASE}/dns/ns/ns1", {"host": "10.0.0.53"})
    kv.put("/skydns/arpa/in-addr/10/0/0/1", {"host": "web.skydns.test"})


POSITIVE = [
    ("web.skydns.test.", "A"),
    ("v6.skydns.test.", "AAAA"),
    ("svc.skydns.test.", "SRV"),
    ("txt.skydns.test.", "TXT"),
    ("mail.skydns.test.", "MX"),
    ("alias.skydns.test.", "A"),       # CNAME chain: CNAME + A
    ("alias.skydns.test.", "CNAME"),
    ("skydns.test.", "NS"),
    ("skydns.test.", "SOA"),
    ("skydns.test.", "DNSKEY"),
]
NXDOMAIN = [("nope.skydns.test.", "A"), ("a.b.nope.skydns.test.", "TXT")]
NODATA = [("web.skydns.test.", "AAAA"), ("web.skydns.test.", "TXT"), ("v6.skydns.test.", "A"),
          ("skydns.test.", "HINFO"), ("txt.skydns.test.", "SRV")]


def start(skydns, kv, key_base):
    put_data(kv)
    s = skydns(["-dnssec", key_base], domain=ZONE)
    wait_until(lambda: query(s, "web.skydns.test.", "A").answer, 10, what="data loaded")
    return s


# ---------------------------------------------------------------- validators


def delv(server, key, name, rdtype):
    out = subprocess.run(["delv", "@127.0.0.1", "-p", str(server.port), "-a", key.anchor,
                          f"+root={ZONE.rstrip('.')}", "+tcp", name, rdtype],
                         capture_output=True, text=True, timeout=30)
    return out.stdout + out.stderr


def delv_ok(server, key, name, rdtype, negative=False):
    text = delv(server, key, name, rdtype)
    want = "; negative response, fully validated" if negative else "; fully validated"
    assert want in text, f"delv {name} {rdtype}:\n{text}"
    return text


def drill(server, key, name, rdtype):
    # -t: TCP, as delv +tcp; drill -S does not retry a truncated (TC) UDP reply
    out = subprocess.run(["drill", "-t", "-S", "-k", key.drill_key, "-p", str(server.port), "@127.0.0.1",
                          name, rdtype], capture_output=True, text=True, timeout=30)
    return out.returncode, out.stdout + out.stderr


def drill_ok(server, key, name, rdtype):
    rc, text = drill(server, key, name, rdtype)
    assert rc == 0 and ";; Chase successful" in text, f"drill -S {name} {rdtype} rc={rc}:\n{text}"


def ask(server, name, rdtype, want_dnssec=True):
    """DO query without RD (an authoritative question); TCP when truncated."""
    q = dns.message.make_query(name, rdtype, want_dnssec=want_dnssec, use_edns=0, payload=4096)
    q.flags &= ~dns.flags.RD
    r = dns.query.udp(q, "127.0.0.1", port=server.port, timeout=3)
    if r.flags & dns.flags.TC:
        r = dns.query.tcp(q, "127.0.0.1", port=server.port, timeout=3)
    return r


def _b32hex(text):
    return base64.b32hexdecode(text.upper() + "=" * (-len(text) % 8))


def nsec3_hash(name):
    return int.from_bytes(_b32hex(dns.dnssec.nsec3_hash(name, None, 0, 1)), "big")


def covers(owner, nxt, h):
    return owner < h < nxt if owner < nxt else (h > owner or h < nxt)


def check_denial(msg, qname, qtype):
    """RFC 5155 §8.4 (NXDOMAIN) / §8.5 (NODATA) with the NSEC3s in msg."""
    zone = dns.name.from_text(ZONE)
    n3 = []
    for rrset in msg.authority:
        if rrset.rdtype == dns.rdatatype.NSEC3:
            for rd in rrset:
                assert rd.algorithm == 1 and rd.iterations == 0 and rd.salt == b"" and rd.flags == 0
                own = int.from_bytes(_b32hex(rrset.name.labels[0].decode()), "big")
                n3.append((own, int.from_bytes(rd.next, "big"), rd))
    assert n3, f"no NSEC3 in {msg}"

    def matching(name):
        h = nsec3_hash(name)
        return next((rd for own, _, rd in n3 if own == h), None)

    def covered(name):
        h = nsec3_hash(name)
        return any(covers(own, nxt, h) for own, nxt, _ in n3)

    name = dns.name.from_text(qname)
    if msg.rcode() == dns.rcode.NOERROR:
        rd = matching(name)
        assert rd is not None, "no NSEC3 matches the NODATA name"
        types = set()
        for window, bitmap in rd.windows:
            for i, byte in enumerate(bitmap):
                for b in range(8):
                    if byte & (0x80 >> b):
                        types.add(window * 256 + i * 8 + b)
        t = dns.rdatatype.from_text(qtype)
        assert t not in types and dns.rdatatype.CNAME not in types, types
        return
    assert msg.rcode() == dns.rcode.NXDOMAIN
    ce, nextcloser = name, None
    while ce != zone.parent() and matching(ce) is None:
        nextcloser, ce = ce, ce.parent()
    assert ce.is_subdomain(zone) and nextcloser is not None, "no closest encloser proof"
    assert covered(nextcloser), "next closer name not covered"
    assert covered(dns.name.Name((b"*",) + ce.labels)), "wildcard not covered"


def dnspython_ok(server, key, name, rdtype, negative=False):
    """Every in-zone RRset of answer+authority validated with the pinned key."""
    r = ask(server, name, rdtype)
    zone = dns.name.from_text(ZONE)
    keys = {zone: key.rrset}
    assert r.flags & dns.flags.AD
    assert r.ednsflags & dns.flags.DO
    checked = 0
    for section in (r.answer, r.authority):
        for rrset in section:
            if rrset.rdtype == dns.rdatatype.RRSIG or not rrset.name.is_subdomain(zone):
                continue
            sigs = [s for s in section if s.rdtype == dns.rdatatype.RRSIG and
                    s.name == rrset.name and s.covers == rrset.rdtype]
            assert sigs, f"no RRSIG for {rrset.name} {dns.rdatatype.to_text(rrset.rdtype)}"
            dns.dnssec.validate(rrset, sigs[0], keys)   # raises ValidationFailure
            for sig in sigs[0]:
                assert sig.original_ttl == rrset.ttl, "original TTL must be the RRset TTL"
            checked += 1
    assert checked > 0
    if negative:
        check_denial(r, name, rdtype)
    else:
        assert r.answer, f"no answer for {name} {rdtype}"
    return r


# ---------------------------------------------------------------- tests


def test_positive_answers_validate(key, kv, skydns):
    s = start(skydns, kv, key.base)
    for name, rdtype in POSITIVE:
        dnspython_ok(s, key, name, rdtype)
        delv_ok(s, key, name, rdtype)
        drill_ok(s, key, name, rdtype)
    r = dnspython_ok(s, key, "alias.skydns.test.", "A")
    assert {rr.rdtype for rr in r.answer} >= {dns.rdatatype.CNAME, dns.rdatatype.A,
                                              dns.rdatatype.RRSIG}


def test_denials_validate(key, kv, skydns):
    s = start(skydns, kv, key.base)
    for name, rdtype in NXDOMAIN + NODATA:
        r = dnspython_ok(s, key, name, rdtype, negative=True)
        n3 = [x for x in r.authority if x.rdtype == dns.rdatatype.NSEC3]
        assert len(n3) == (3 if r.rcode() == dns.rcode.NXDOMAIN else 1)
        assert all(x.ttl == 60 for x in n3), "NSEC3 TTL = min_ttl"
        delv_ok(s, key, name, rdtype, negative=True)
        drill_ok(s, key, name, rdtype)
    assert ask(s, "nope.skydns.test.", "A").rcode() == dns.rcode.NXDOMAIN


def test_nxdomain_layout_matches_skydns(kv, skydns, workdir):
    """§15's example: owners and next hashes of the three white lies."""
    k = Key(workdir, "ECDSAP256SHA256")
    s = start(skydns, kv, k.base)
    r = ask(s, "doesnotexist.skydns.test.", "A")
    got = sorted((x.name.to_text(), rd.to_text().split()[4].lower())
                 for x in r.authority if x.rdtype == dns.rdatatype.NSEC3 for rd in x)
    assert got == sorted([
        ("ah4v7g5qoiri26armrb3bldqi1sng6a2.skydns.test.", "ah4v7g5qoiri26armrb3bldqi1sng6a3"),
        ("lksd858f4cldl7emdord75k5jeks49p8.skydns.test.", "lksd858f4cldl7emdord75k5jeks49pa"),
        ("44ohaq2njb0idnvolt9ggthvsk1e1uv8.skydns.test.", "44ohaq2njb0idnvolt9ggthvsk1e1uva"),
    ])


def test_without_do_no_dnssec_records(kv, skydns, workdir):
    k = Key(workdir, "ED25519")
    s = start(skydns, kv, k.base)
    for name, rdtype in POSITIVE + NXDOMAIN + NODATA:
        for edns in (None, 0):
            q = dns.message.make_query(name, rdtype, use_edns=edns)
            r = dns.query.udp(q, "127.0.0.1", port=s.port, timeout=3)
            types = {x.rdtype for x in r.answer + r.authority + r.additional}
            assert not types & {dns.rdatatype.RRSIG, dns.rdatatype.NSEC3}, (name, rdtype, r)
            assert not r.flags & dns.flags.AD
            assert not r.ednsflags & dns.flags.DO
    # DNSKEY at the apex is answered without DO too (SkyDNS)
    r = query(s, ZONE, "DNSKEY")
    assert [rd.to_text() for rd in r.answer[0]] == [k.rrset[0].to_text()]


def test_changed_record_validates_with_new_data(kv, skydns, workdir):
    k = Key(workdir, "ECDSAP256SHA256")
    s = start(skydns, kv, k.base)
    # SkyDNS keyed its signature cache on too little: TXT, MX, CNAME changes
    # and SRV port changes kept the old signature.
    checks = [
        ("txt.skydns.test.", "TXT", f"{BASE}/txt", {"text": "second version"}, '"second version"'),
        ("svc.skydns.test.", "SRV", f"{BASE}/svc", {"host": "10.0.0.3", "port": 9090}, " 9090 "),
        ("alias.skydns.test.", "CNAME", f"{BASE}/alias", {"host": "v6.skydns.test"}, "v6.skydns.test."),
        ("mail.skydns.test.", "MX", f"{BASE}/mail", {"host": "10.0.0.4", "mail": True, "priority": 30},
         "30 "),
    ]
    for name, rdtype, _, _, _ in checks:
        dnspython_ok(s, k, name, rdtype)   # fill the signature cache
    for name, rdtype, path, value, marker in checks:
        kv.put(path, value)
        wait_until(lambda: marker in ask(s, name, rdtype).answer[0].to_text() + " ", 10,
                   what=f"{name} updated")
        r = dnspython_ok(s, k, name, rdtype)
        assert marker in r.answer[0].to_text() + " "
        text = delv_ok(s, k, name, rdtype)
        assert marker.strip() in text
        drill_ok(s, k, name, rdtype)


def test_wrong_key_fails_validation(kv, skydns, workdir):
    k = Key(workdir, "ECDSAP256SHA256")
    forged = Key(workdir, "ECDSAP256SHA256", tag="-forged")
    s = start(skydns, kv, k.base)
    for name, rdtype in [("web.skydns.test.", "A"), ("nope.skydns.test.", "A")]:
        text = delv(s, forged, name, rdtype)
        assert "fully validated" not in text, text
        rc, out = drill(s, forged, name, rdtype)
        assert rc != 0 and ";; Chase successful" not in out, out
        with pytest.raises(dns.dnssec.ValidationFailure):
            dnspython_ok(s, forged, name, rdtype, negative=name.startswith("nope"))
    # and the right key still validates on the same server
    delv_ok(s, k, "web.skydns.test.", "A")


def test_ptr_and_forwarded_not_signed(kv, skydns, workdir):
    k = Key(workdir, "ED25519")
    kv.put("/skydns/org/example/www", {"host": "10.9.9.9"})
    up = skydns(domain="example.org.")
    put_data(kv)
    s = skydns(["-dnssec", k.base, "-nameservers", f"127.0.0.1:{up.port}"], domain=ZONE)
    wait_until(lambda: query(s, "web.skydns.test.", "A").answer, 10, what="data loaded")
    r = ask(s, "1.0.0.10.in-addr.arpa.", "PTR")
    assert r.answer and r.answer[0].rdtype == dns.rdatatype.PTR, r
    assert not [x for x in r.answer if x.rdtype == dns.rdatatype.RRSIG]
    assert not r.flags & dns.flags.AD
    q = dns.message.make_query("www.example.org.", "A", want_dnssec=True, use_edns=0)
    r = dns.query.udp(q, "127.0.0.1", port=s.port, timeout=3)
    assert [rd.to_text() for x in r.answer for rd in x] == ["10.9.9.9"], r
    assert not r.flags & dns.flags.AD


def test_case_and_wildcard_queries_validate(kv, skydns, workdir):
    """0x20-style mixed case owners (signed over the canonical lower case),
    and SkyDNS's literal '*' queries (RRSIG labels without the '*')."""
    k = Key(workdir, "ECDSAP256SHA256")
    s = start(skydns, kv, k.base)
    r = dnspython_ok(s, k, "WeB.SkyDns.TEST.", "A")
    assert r.answer[0].name.to_text() == "WeB.SkyDns.TEST."
    r = dnspython_ok(s, k, "*.web.skydns.test.", "A")
    assert sorted(rd.to_text() for rd in r.answer[0]) == ["10.0.0.1", "10.0.0.2"]
    sig = [x for x in r.answer if x.rdtype == dns.rdatatype.RRSIG][0]
    assert sig[0].labels == 3
    delv_ok(s, k, "*.web.skydns.test.", "A")
    drill_ok(s, k, "*.web.skydns.test.", "A")


def test_signed_answer_truncates_over_udp(kv, skydns, workdir):
    k = Key(workdir, "RSASHA256")
    for i in range(30):
        kv.put(f"{BASE}/big/h{i}", {"host": f"10.1.0.{i + 1}"})
    put_data(kv)
    s = skydns(["-dnssec", k.base], domain=ZONE)
    wait_until(lambda: len(query(s, "big.skydns.test.", "A", tcp=True).answer[0]) == 30, 10)
    q = dns.message.make_query("big.skydns.test.", "A", want_dnssec=True, use_edns=0, payload=512)
    r = dns.query.udp(q, "127.0.0.1", port=s.port, timeout=3)
    assert r.flags & dns.flags.TC
    r = dns.query.tcp(q, "127.0.0.1", port=s.port, timeout=3)
    assert not r.flags & dns.flags.TC
    sig = [x for x in r.answer if x.rdtype == dns.rdatatype.RRSIG]
    a = [x for x in r.answer if x.rdtype == dns.rdatatype.A]
    assert len(a[0]) == 30 and sig
    dns.dnssec.validate(a[0], sig[0], {dns.name.from_text(ZONE): k.rrset})
    delv_ok(s, k, "big.skydns.test.", "A")


@pytest.mark.parametrize("problem", ["missing", "mismatch", "owner", "garbage"])
def test_bad_key_is_a_startup_error(problem, etcd, workdir):
    k = Key(workdir, "ECDSAP256SHA256")
    other = Key(workdir, "ECDSAP256SHA256", tag="-other")
    base = os.path.join(workdir, "Kbad")
    expect = {"missing": "No such file", "mismatch": "mismatched", "owner": "not the domain",
              "garbage": "not a BIND private key"}[problem]
    domain = ZONE
    if problem == "missing":
        base = os.path.join(workdir, "Knothere")
    elif problem == "owner":
        base, domain = k.base, "other.test."
    else:
        with open(k.base + ".key") as f, open(base + ".key", "w") as g:
            g.write(f.read())
        with open(other.base + ".private") as f, open(base + ".private", "w") as g:
            g.write(f.read() if problem == "mismatch" else "Private-key-format: v1.3\nbogus\n")
    port = free_port()
    log = os.path.join(workdir, "bad.log")
    with open(log, "wb") as lf:
        p = subprocess.Popen([SKYDNS_BIN, "-addr", f"127.0.0.1:{port}", "-machines", etcd.url,
                              "-domain", domain, "-dnssec", base], stdout=lf, stderr=subprocess.STDOUT)
        try:
            rc = p.wait(15)
        except subprocess.TimeoutExpired:
            stop_pid(p)
            raise AssertionError("skydns kept running with a bad key")
    text = open(log).read()
    assert rc != 0
    assert expect in text, text


@pytest.mark.parametrize("mode", ["v3"])
def test_etcd3_mode_signs_too(mode, kv, skydns, workdir):
    """Same signing on top of the etcd v3 backend (whatever rcode it gives
    for a missing name, the denial must validate)."""
    k = Key(workdir, "ED25519")
    s = start(skydns, kv, k.base)
    for name, rdtype in [("web.skydns.test.", "A"), ("txt.skydns.test.", "TXT"), ("skydns.test.", "SOA")]:
        dnspython_ok(s, k, name, rdtype)
        delv_ok(s, k, name, rdtype)
    for name, rdtype in [("web.skydns.test.", "AAAA"), ("nope.skydns.test.", "A")]:
        dnspython_ok(s, k, name, rdtype, negative=True)
        delv_ok(s, k, name, rdtype, negative=True)


def test_managed_zone_denials_validate(kv, skydns, workdir):
    """A zone kube2sky manages (its marker in etcd): names above a service
    are NODATA/NXDOMAIN (issue 12), and those denials are signed and prove
    what they say like any other."""
    key = Key(workdir, "ECDSAP256SHA256")
    kv.put("/skydns/kube2sky/skydns.test", {"zone": ZONE, "schema": "1.1.0", "synced": 1, "id": "00ff"})
    kv.put(f"{BASE}/svc/prod/api/1", {"host": "10.0.0.60"})
    kv.put(f"{BASE}/dns/ns/ns1", {"host": "10.0.0.53"})
    s = skydns(["-dnssec", key.base], domain=ZONE)
    wait_until(lambda: query(s, "api.prod.svc.skydns.test.", "A").answer and
               not query(s, "prod.svc.skydns.test.", "A").answer, 10, what="scoped data loaded")
    dnspython_ok(s, key, "api.prod.svc.skydns.test.", "A")
    for name, rdtype in [("prod.svc.skydns.test.", "A"), ("svc.skydns.test.", "SRV"),
                         ("skydns.test.", "A"), ("nosuch.svc.skydns.test.", "A")]:
        r = dnspython_ok(s, key, name, rdtype, negative=True)
        assert r.rcode() == (dns.rcode.NXDOMAIN if name.startswith("nosuch") else dns.rcode.NOERROR)
        delv_ok(s, key, name, rdtype, negative=True)


# ---------------------------------------------------------------- the README's flow


@pytest.mark.parametrize("alg", ["RSASHA1", "NSEC3RSASHA1", "ECDSAP256SHA256"])
def test_readme_flow_config_only_in_etcd(alg, kv, etcd, workdir):
    """Issue 17 item 1, the SkyDNS README verbatim: the key made by
    `dnssec-keygen -a ALG skydns.test`, then domain, dns_addr and the key only
    in /skydns/config, no -domain/-addr/-dnssec flag. skydns starts, signs
    for the domain from etcd, warns once about RSASHA1, and delv and drill -S
    validate its answers."""
    k = Key(workdir, alg, readme=True)
    assert k.alg == {"RSASHA1": "5", "NSEC3RSASHA1": "7", "ECDSAP256SHA256": "13"}[alg]
    put_data(kv)
    port = free_port()
    kv.put("/skydns/config", {"dns_addr": f"127.0.0.1:{port}", "domain": ZONE,
                              "dnssec": os.path.basename(k.base)})
    log = os.path.join(workdir, f"readme-{alg}.log")
    with open(log, "wb") as lf:
        # the README runs skydns next to the key files: a relative basename
        p = subprocess.Popen([SKYDNS_BIN, "-machines", etcd.url], cwd=os.path.dirname(k.base),
                             stdout=lf, stderr=subprocess.STDOUT)
    try:
        Srv = type("Srv", (), {"addr": "127.0.0.1", "port": port, "domain": ZONE})

        def up():
            assert p.poll() is None, open(log).read()
            return query(Srv, "web.skydns.test.", "A", timeout=0.5).answer
        wait_until(up, 15, what="skydns on dns_addr from etcd")
        for name, rdtype in [("web.skydns.test.", "A"), ("alias.skydns.test.", "A"),
                             ("skydns.test.", "DNSKEY"), ("svc.skydns.test.", "SRV")]:
            delv_ok(Srv, k, name, rdtype)
            drill_ok(Srv, k, name, rdtype)
        # NSEC3 white lies under algorithm 5 too: RFC 5155 §2 wants 7 for
        # NSEC3 zones, yet delv and drill validate them (as SkyDNS's did)
        for name, rdtype in NXDOMAIN[:1] + NODATA[:1]:
            delv_ok(Srv, k, name, rdtype, negative=True)
            drill_ok(Srv, k, name, rdtype)
        with open(log) as f:
            text = f.read()
        warned = "NOT RECOMMENDED" in text and "dnssec-keygen -a ECDSAP256SHA256" in text
        assert warned == (alg != "ECDSAP256SHA256"), text
        assert "domain=skydns.test." in text, text
    finally:
        stop_pid(p)
