"""The SkyDNS README, walked in its own order against skydns and a real etcd.

Every example's write step is done the README's way: its `curl -XPUT
.../v2/keys/...` line run as written (only the etcd address changed) for the
etcd v2 API, and the equivalent `ETCDCTL_API=3 etcdctl put` for the v3 API
(skydns -etcd3). Every dig step runs the real `dig` against skydns and its
sections are compared line by line; dnspython checks the header and the
authority section too.

Where the README's sample output is not what SkyDNS (2.5.3a and master)
actually sends, the expected value follows SkyDNS and the test says why
("README:"). Addresses the README points at outside loopback (8.8.8.8,
172.16.1.1:54) are replaced by real servers on loopback.

One etcd, one upstream (nsd serving miek.nl) and the skydns servers are
shared by the module; each test starts from an empty /skydns tree.
"""

import json
import os
import shlex
import subprocess

import dns.dnssec
import dns.exception
import dns.flags
import dns.rcode
import dns.rdatatype
import pytest

from conftest import Etcd, EtcdKV, SkyDNS, free_port, query, wait_until
from records_util import Stack, check_negative, check_positive, lines
from upstream_util import Nsd

MIEK = ["@ 3600 IN SOA ns.miek.nl. miek.miek.nl. 1 3600 600 86400 120",
        "@ 3600 IN NS ns.miek.nl.",
        "ns 3600 IN A 176.58.119.53",
        "www 3600 IN CNAME a.miek.nl.",
        "a 3600 IN A 176.58.119.54"]


@pytest.fixture(scope="module")
def rst():
    s = Stack(upstream=lambda wd: Nsd(wd, "127.0.0.1", "miek.nl.", MIEK))
    yield s
    s.close()


# ---------------------------------------------------------------- the walk


def norm(line):
    return " ".join(line.split())


def parse_dig(out):
    """dig's output -> {"flags": set, "status": str, "answer": [...], ...}."""
    res = {"flags": set(), "status": None, "question": [], "answer": [], "authority": [],
           "additional": []}
    sec = None
    names = {"QUESTION": "question", "ANSWER": "answer", "AUTHORITY": "authority",
             "ADDITIONAL": "additional"}
    for raw in out.splitlines():
        line = raw.strip()
        if line.startswith(";; ->>HEADER<<-"):
            res["status"] = line.split("status:")[1].split(",")[0].strip()
        elif line.startswith(";; flags:"):
            res["flags"] = set(line.split(":")[1].split(";")[0].split())
        elif line.startswith(";; ") and line.endswith("SECTION:"):
            sec = names.get(line[3:].split()[0])
        elif not line:
            sec = None if res["status"] else sec
        elif line.startswith(";"):
            if sec == "question":
                res["question"].append(norm(line[1:]))
        elif sec:
            res[sec].append(norm(line))
        else:
            res["answer"].append(norm(line))  # +noall +answer output
    return res


class Walk:
    """One test's README steps in one etcd mode; starts from an empty tree."""

    def __init__(self, rst, mode, etcd=None):
        self.rst, self.mode = rst, mode
        self.url = (etcd or rst.etcd).url
        self.kv = EtcdKV(self.url, mode)
        self.kv.delete("/skydns" if mode == "v2" else "/skydns/", recursive=True)

    def server(self, extra=(), domain="skydns.local."):
        return self.rst.server(self.mode, extra, domain)

    def curl(self, text):
        """A README `curl -XPUT .../v2/keys/<key> -d value='<json>'` step:
        run as written for v2, as `etcdctl put <key> <json>` for v3."""
        text = text.replace("http://127.0.0.1:4001", self.url)
        if self.mode == "v2":
            out = subprocess.run(["bash", "-c", text], capture_output=True, text=True,
                                 timeout=30, check=True).stdout
            assert json.loads(out).get("action") == "set", out
            return
        argv = shlex.split(text.replace("\\\n", " "))
        key = argv[argv.index("-XPUT") + 1].split("/v2/keys", 1)[1]
        value = argv[argv.index("-d") + 1].split("=", 1)[1]
        self.etcdctl("put", key, value)

    def etcdctl(self, *args):
        env = dict(os.environ, ETCDCTL_API="3" if self.mode == "v3" else "2")
        out = subprocess.run(["etcdctl", "--endpoints", self.url, *args], capture_output=True,
                             text=True, timeout=30, env=env)
        assert out.returncode == 0, out.stderr
        return out.stdout

    def put(self, key, value):
        """Keys the README lists without a command (groups, weights)."""
        self.kv.put(key, value)

    def sync(self, server=None):
        self.rst.sync(self.mode, server or self.server())

    def dig(self, server, *args):
        out = subprocess.run(["dig", f"@{server.addr}", "-p", str(server.port), "+tries=1",
                              "+time=3", *args], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stdout + out.stderr
        return parse_dig(out.stdout)


@pytest.fixture
def walk(rst, mode):
    return Walk(rst, mode)


def relayed_is(res, answer, status="NOERROR"):
    """A reply skydns relays from another server: its status and answer."""
    assert res["status"] == status, res
    assert sorted(res["answer"]) == sorted(norm(x) for x in answer), res


def dig_is(res, answer, additional=(), status="NOERROR", aa=True):
    assert res["status"] == status, res
    assert ("aa" in res["flags"]) == aa, res["flags"]
    got = (sorted(res["answer"]), sorted(res["authority"]), sorted(res["additional"]))
    want = (sorted(norm(x) for x in answer), [], sorted(norm(x) for x in additional))
    assert got == want, f"\n got: {got}\nwant: {want}"


# ------------------------------------------------------ Setup / Install


def test_setup_environment_and_nameserver(walk, rst):
    """`export ETCD_MACHINES=...; ./skydns`, then the recommended nameserver."""
    s = SkyDNS(rst.workdir, rst.etcd.url, walk.mode, rst.base_args())
    i = s.args.index("-machines")
    del s.args[i:i + 2]
    s.env["ETCD_MACHINES"] = rst.etcd.url
    s.start()
    try:
        walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/dns/ns/ns1 \\
    -d value='{"host":"192.168.0.1"}'""")
        walk.sync(s)
        dig_is(walk.dig(s, "NS", "skydns.local"),
               ["skydns.local. 3600 IN NS ns1.ns.dns.skydns.local."],
               ["ns1.ns.dns.skydns.local. 3600 IN A 192.168.0.1"])
    finally:
        s.stop()


# ------------------------------------------------------ Configuration


def test_configuration_in_etcd_wins_over_flags(walk, rst, workdir):
    """The README's /skydns/config example: dns_addr, ttl and nameservers from
    etcd take precedence over the command line (8.8.8.8 -> nsd on loopback)."""
    etcd = Etcd(workdir).start()
    s = None
    try:
        w = Walk(rst, walk.mode, etcd)
        port = free_port()
        w.curl(f"""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/config \\
    -d value='{{"dns_addr":"127.0.0.1:{port}","ttl":3600, "nameservers": ["{rst.upstream.server}"]}}'""")
        # flags that the config must override (the flag's forwarder is a
        # closed loopback port, so nothing leaves loopback either way)
        s = SkyDNS(workdir, etcd.url, walk.mode, ["-nameservers", f"127.0.0.1:{free_port()}"])
        flag_port = s.port
        s.start(wait=False)
        s.port = port
        wait_until(s.ready, 8, what="skydns on the configured dns_addr")
        # nameservers from the config: a name outside the domain is forwarded
        relayed_is(w.dig(s, "A", "a.miek.nl"), ["a.miek.nl. 3600 IN A 176.58.119.54"])
        with pytest.raises(dns.exception.Timeout):
            query(s, "skydns.local.", "SOA", timeout=0.5, port=flag_port)
    finally:
        if s:
            s.stop()
        etcd.stop()


def test_local_flag_dockerhosts(walk):
    s = walk.server(["-local", "e2016c14-fbba-11e3-ae08-10604b7efbe2.dockerhosts.skydns.local"])
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/dockerhosts/e2016c14-fbba-11e3-ae08-10604b7efbe2 \\
        -d value='{"host":"10.1.1.16"}'""")
    walk.sync(s)
    dig_is(walk.dig(s, "A", "local.dns.skydns.local."), ["local.dns.skydns.local. 3600 IN A 10.1.1.16"])


def test_environment_variables(walk, rst):
    """The README's environment variables, with no flags at all: ETCD_MACHINES,
    SKYDNS_ADDR, SKYDNS_DOMAIN, SKYDNS_NAMESERVERS, SKYDNS_PATH_PREFIX (and
    the config object then lives at /<prefix>/config)."""
    s = SkyDNS(rst.workdir, rst.etcd.url, walk.mode, domain="env.test.")
    s.args = [s.args[0]] + (["-etcd3"] if walk.mode == "v3" else [])
    s.env.update(ETCD_MACHINES=rst.etcd.url, SKYDNS_ADDR=f"127.0.0.1:{s.port}",
                 SKYDNS_DOMAIN="env.test", SKYDNS_NAMESERVERS=rst.upstream.server,
                 SKYDNS_PATH_PREFIX="mydns")
    walk.kv.put("/mydns/config", {"ttl": 600})
    walk.kv.put("/mydns/test/env/x", {"host": "10.20.0.1"})
    s.start()
    try:
        walk.rst.sync(walk.mode, s, prefix="mydns")
        dig_is(walk.dig(s, "A", "x.env.test"), ["x.env.test. 600 IN A 10.20.0.1"])
        relayed_is(walk.dig(s, "A", "a.miek.nl"), ["a.miek.nl. 3600 IN A 176.58.119.54"])
        # the default prefix is not read
        walk.kv.put("/skydns/test/env/y", {"host": "10.20.0.2"})
        walk.rst.sync(walk.mode, s, prefix="mydns")
        check_negative(query(s, "y.env.test.", "A"), dns.rcode.NXDOMAIN, domain="env.test.")
    finally:
        s.stop()
        walk.kv.delete("/mydns" if walk.mode == "v2" else "/mydns/", recursive=True)


# ------------------------------------------------------ Service Announcements


RAILS = """curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/east/production/rails \\
    -d value='{"host":"service5.example.com","priority":20}'"""


@pytest.mark.parametrize("how", ["curl", "etcdctl"])
def test_service_announcement(walk, how):
    if how == "curl":
        walk.curl(RAILS)
    else:
        verb = "set" if walk.mode == "v2" else "put"
        walk.etcdctl(verb, "/skydns/local/skydns/east/production/rails",
                     '{"host":"service5.example.com","priority":20}')
    walk.sync()
    s = walk.server()
    # service5.example.com is looked up through the forwarder (nsd knows only
    # miek.nl: REFUSED), so nothing goes to additional
    res = walk.dig(s, "SRV", "rails.production.east.skydns.local")
    dig_is(res, ["rails.production.east.skydns.local. 3600 IN SRV 20 100 0 service5.example.com."])
    check_positive(query(s, "rails.production.east.skydns.local.", "SRV"), res["answer"])


def test_weight_tables(walk):
    for svc, w in (("a", 100), ("b", 100), ("c", 100)):
        walk.put(f"/skydns/local/skydns/tbl1/{svc}", {"host": f"{svc}.example.com", "weight": w})
    for svc, w in (("a", 120), ("b", 100), ("c", 130)):
        walk.put(f"/skydns/local/skydns/tbl2/{svc}", {"host": f"{svc}.example.com", "weight": w})
    walk.sync()
    s = walk.server()
    dig_is(walk.dig(s, "SRV", "tbl1.skydns.local"),
           [f"tbl1.skydns.local. 3600 IN SRV 10 33 0 {x}.example.com." for x in "abc"])
    dig_is(walk.dig(s, "SRV", "tbl2.skydns.local"),
           ["tbl2.skydns.local. 3600 IN SRV 10 34 0 a.example.com.",
            "tbl2.skydns.local. 3600 IN SRV 10 28 0 b.example.com.",
            "tbl2.skydns.local. 3600 IN SRV 10 37 0 c.example.com."])


# ------------------------------------------------------ Service Discovery via the DNS

FOUR = [
    """curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/east/production/rails/1 \\
    -d value='{"host":"service1.example.com","port":8080}'""",
    """curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/west/production/rails/2 \\
    -d value='{"host":"service2.example.com","port":8080}'""",
    """curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/east/staging/rails/4 \\
    -d value='{"host":"10.0.1.125","port":8080}'""",
    """curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/east/staging/rails/6 \\
    -d value='{"host":"2003::8:1","port":8080}'""",
]
R4, R6 = "4.rails.staging.east.skydns.local.", "6.rails.staging.east.skydns.local."
GLUE = [f"{R4} 3600 IN A 10.0.1.125", f"{R6} 3600 IN AAAA 2003::8:1"]


def add_four(walk):
    for c in FOUR:
        walk.curl(c)
    walk.sync()
    return walk.server()


def test_service_discovery_srv(walk):
    s = add_four(walk)
    # README: "10 0 8080"; a lone service's weight is 100 in SkyDNS 2.5 (§5.3)
    dig_is(walk.dig(s, "SRV", "1.rails.production.east.skydns.local"),
           ["1.rails.production.east.skydns.local. 3600 IN SRV 10 100 8080 service1.example.com."])


def test_wildcards(walk):
    s = add_four(walk)
    # README: weight 20 each (an older weight formula); 2.5 gives 100/3 -> 33
    east = [f"{{}} 3600 IN SRV 10 33 8080 {t}"
            for t in ("service1.example.com.", R4, R6)]
    for q in ("east.skydns.local.", "*.east.skydns.local.", "any.east.skydns.local."):
        res = walk.dig(s, "SRV", q)
        dig_is(res, [e.format(q) for e in east], GLUE)
        check_positive(query(s, q, "SRV"), res["answer"], res["additional"])
    res = walk.dig(s, "+noall", "+answer", "A", R4)
    assert res["answer"] == [f"{R4} 3600 IN A 10.0.1.125"], res
    for q in ("staging.*.skydns.local.", "staging.any.skydns.local."):
        dig_is(walk.dig(s, "SRV", q), [f"{q} 3600 IN SRV 10 50 8080 {R4}",
                                       f"{q} 3600 IN SRV 10 50 8080 {R6}"], GLUE)
    # several wildcards in one name
    q = "rails.*.*.skydns.local."
    dig_is(walk.dig(s, "SRV", q), [f"{q} 3600 IN SRV 10 25 8080 {t}" for t in
                                   ("service1.example.com.", "service2.example.com.", R4, R6)], GLUE)


def test_srv_records_and_targetstrip(walk):
    s = add_four(walk)
    q = "staging.east.skydns.local."
    res = walk.dig(s, q, "SRV")
    dig_is(res, [f"{q} 3600 IN SRV 10 50 8080 {R4}", f"{q} 3600 IN SRV 10 50 8080 {R6}"], GLUE)
    check_positive(query(s, q, "SRV"), res["answer"], res["additional"])
    # an IP host: the target is synthesized from the key, the address is glue
    dig_is(walk.dig(s, R4.rstrip("."), "SRV"), [f"{R4} 3600 IN SRV 10 100 8080 {R4}"], [GLUE[0]])
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/east/staging/rails/4 \\
    -d value='{"host":"10.0.1.125","port":8080,"targetstrip":2}'""")
    walk.sync()
    dig_is(walk.dig(s, R4.rstrip("."), "SRV"), [f"{R4} 3600 IN SRV 10 100 8080 {q}"],
           [f"{q} 3600 IN A 10.0.1.125"])


def test_a_aaaa_records(walk):
    s = add_four(walk)
    q = "staging.east.skydns.local."
    dig_is(walk.dig(s, q, "A"), [f"{q} 3600 IN A 10.0.1.125"])
    dig_is(walk.dig(s, q, "AAAA"), [f"{q} 3600 IN AAAA 2003::8:1"])


def test_mx_records(walk):
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/east/mail/mx1 \\
    -d value='{"host":"10.0.3.25","priority":5,"mail":true}'""")
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/east/mail/web \\
    -d value='{"host":"10.0.3.80"}'""")
    walk.sync()
    s = walk.server()
    q = "mail.east.skydns.local."
    dig_is(walk.dig(s, q, "MX"), [f"{q} 3600 IN MX 5 mx1.{q}"], [f"mx1.{q} 3600 IN A 10.0.3.25"])


def test_cname_records(walk):
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/east/production/rails/1 \\
    -d value='{"host":"service1.skydns.local","port":8080}'""")
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/service1 \\
    -d value='{"host":"10.0.2.15","port":8080}'""")
    walk.sync()
    s = walk.server()
    q = "1.rails.production.east.skydns.local."
    res = walk.dig(s, "A", q)
    dig_is(res, [f"{q} 3600 IN CNAME service1.skydns.local.",
                 "service1.skydns.local. 3600 IN A 10.0.2.15"])
    assert res["answer"][0].split()[3] == "CNAME", res["answer"]


def test_external_names(walk):
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/east/production/rails/1 \\
    -d value='{"host":"www.miek.nl","port":8080}'""")
    walk.sync()
    s = walk.server()
    q = "1.rails.production.east.skydns.local."
    res = walk.dig(s, "A", q)
    # fix: the forwarder's TTLs are kept (SkyDNS forced rcache_ttl, 60);
    # here they are 3600, as the README shows
    dig_is(res, [f"{q} 3600 IN CNAME www.miek.nl.",
                 "www.miek.nl. 3600 IN CNAME a.miek.nl.",
                 "a.miek.nl. 3600 IN A 176.58.119.54"])
    assert [x.split()[3] for x in res["answer"]] == ["CNAME", "CNAME", "A"], res["answer"]


def test_txt_records(walk):
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/east/production/txt1 \\
    -d value='{"text":"v=spf1 -all"}'""")
    walk.sync()
    q = "txt1.production.east.skydns.local."
    dig_is(walk.dig(walk.server(), q, "TXT"), [f'{q} 3600 IN TXT "v=spf1 -all"'])


def test_ns_records(walk):
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/dns/ns/ns1 \\
    -d value='{"host":"172.16.0.1"}'""")
    walk.sync()
    s = walk.server()
    res = walk.dig(s, "NS", "skydns.local")
    # README: the glue is shown as "n1.ns.dns..." (typo); it is ns1
    dig_is(res, ["skydns.local. 3600 IN NS ns1.ns.dns.skydns.local."],
           ["ns1.ns.dns.skydns.local. 3600 IN A 172.16.0.1"])
    check_positive(query(s, "skydns.local.", "NS"), res["answer"], res["additional"])
    # "Note these services MUST use IP address, using names will not work":
    # one name among them and SkyDNS gives no NS at all (NODATA)
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/dns/ns/ns2 \\
    -d value='{"host":"ns.example.com"}'""")
    walk.sync()
    check_negative(query(s, "skydns.local.", "NS"), dns.rcode.NOERROR)


def test_ptr_records(walk):
    s = walk.server()
    # The README's `dig -x ... +question` only shows the reverse name; asked
    # of skydns (not the machine's resolver) so the test stays on loopback.
    out = subprocess.run(["dig", "@127.0.0.1", "-p", str(s.port), "-x", "10.0.1.125", "+noall",
                          "+question"], capture_output=True, text=True, timeout=30,
                         check=True).stdout
    assert norm(out) == ";125.1.0.10.in-addr.arpa. IN PTR", out
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/arpa/in-addr/10/0/1/125 \\
    -d value='{"host":"4.rails.staging.east.skydns.local"}'""")
    # "This also works for IPv6 addresses, except that the reverse path is quite long."
    v6 = "/".join(reversed("1.0.0.0.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.2".split(".")))
    walk.curl(f"""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/arpa/ip6/{v6} \\
    -d value='{{"host":"6.rails.staging.east.skydns.local"}}'""")
    walk.sync()
    # replies with the AA bit off
    dig_is(walk.dig(s, "-x", "10.0.1.125"), ["125.1.0.10.in-addr.arpa. 3600 IN PTR " + R4], aa=False)
    v6name = "1.0.0.0.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.2.ip6.arpa."
    dig_is(walk.dig(s, "-x", "2003::8:1"), [f"{v6name} 3600 IN PTR {R6}"], aa=False)
    # "If nothing is found locally the query is forwarded to the local
    # recursor (if so configured), otherwise SERVFAIL is returned."
    relayed_is(walk.dig(s, "-x", "10.0.1.126"), [], status="REFUSED")  # nsd: not its zone
    # fix: with -no-rec the answer is REFUSED (RFC 1034 4.3.1: recursion
    # not offered), where SkyDNS said SERVFAIL
    norec = walk.server(["-no-rec"])
    walk.sync(norec)
    res = walk.dig(norec, "-x", "10.0.1.126")
    assert res["status"] == "REFUSED" and res["answer"] == [], res


# ------------------------------------------------------ DNS Forwarding


def test_dns_forwarding(walk):
    s = walk.server()
    res = walk.dig(s, "A", "www.miek.nl")
    relayed_is(res, ["www.miek.nl. 3600 IN CNAME a.miek.nl.", "a.miek.nl. 3600 IN A 176.58.119.54"])


# ------------------------------------------------------ DNSSEC


def test_dnssec(walk, rst, workdir):
    keydir = os.path.join(workdir, "keys")
    os.makedirs(keydir)
    # README: `dnssec-keygen skydns.local` (RSASHA1 then); BIND 9.18 wants -a
    out = subprocess.run(["dnssec-keygen", "-q", "-K", keydir, "-a", "RSASHA1",
                          "skydns.local"], capture_output=True, text=True, timeout=120, check=True)
    base = out.stdout.strip().splitlines()[-1]
    tag = int(base.rsplit("+", 1)[1])
    etcd = Etcd(workdir).start()
    s = None
    try:
        w = Walk(rst, walk.mode, etcd)
        port = free_port()
        # the README's curl sends the basename's '+' unencoded: etcd stores
        # spaces, which SkyDNS turns back into '+'
        w.curl(f"""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/config -d \\
    value='{{"dns_addr":"127.0.0.1:{port}","dnssec":"{keydir}/{base}"}}'""")
        w.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/east/staging/rails/4 \\
    -d value='{"host":"10.0.1.125","port":8080}'""")
        s = SkyDNS(workdir, etcd.url, walk.mode, ["-no-rec"])
        s.start(wait=False)
        s.port = port
        wait_until(s.ready, 8, what="skydns with DNSSEC on the configured dns_addr")
        wait_until(lambda: query(s, R4, "A").answer, 10, what="the record in the mirror")
        res = walk.dig(s, "+dnssec", "A", R4)
        assert res["status"] == "NOERROR" and "ad" in res["flags"], res
        types = [x.split()[3] for x in res["answer"]]
        assert sorted(types) == ["A", "RRSIG"], res["answer"]
        sig = next(x.split() for x in res["answer"] if x.split()[3] == "RRSIG")
        # RRSIG A 8 <labels> <orig ttl> <exp> <inc> <tag> <signer>
        assert sig[4] == "A" and sig[5] == "5" and int(sig[10]) == tag and sig[11] == "skydns.local.", sig
        r = query(s, "skydns.local.", "DNSKEY", want_dnssec=True)
        keys = [rr for rr in r.answer if rr.rdtype == dns.rdatatype.DNSKEY]
        assert keys and dns.dnssec.key_id(keys[0][0]) == tag
        # authenticated denial: NSEC3 records with the negative answer
        r = query(s, "nothing.skydns.local.", "A", want_dnssec=True, tcp=True)
        assert r.rcode() == dns.rcode.NXDOMAIN
        assert any(rr.rdtype == dns.rdatatype.NSEC3 for rr in r.authority), lines(r, "authority")
    finally:
        if s:
            s.stop()
        etcd.stop()


# ------------------------------------------------------ Host Local Values


def test_host_local_values(walk):
    s = walk.server(["-local", "public.addresses.skydns.local"])
    # README: the key it writes, local/skydns/local/addresses/public, is the
    # name public.addresses.local.skydns.local, not the -local value, so
    # SkyDNS answers NXDOMAIN to the dig that follows; skydns does the same
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/local/addresses/public \\
    -d value='{"host":"192.0.2.1"}'""")
    walk.sync(s)
    check_negative(query(s, "local.dns.skydns.local.", "A"), dns.rcode.NXDOMAIN)
    # the key of the -local value: local.dns.<domain> answers with it
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/addresses/public \\
    -d value='{"host":"192.0.2.1"}'""")
    walk.sync(s)
    res = walk.dig(s, "local.dns.skydns.local.", "A")
    dig_is(res, ["local.dns.skydns.local. 3600 IN A 192.0.2.1"])


# ------------------------------------------------------ Groups


def test_groups(walk):
    s = walk.server(domain="domain.local.")
    walk.put("/skydns/local/domain/a", {"host": "127.0.0.1", "group": "g1"})
    walk.put("/skydns/local/domain/b", {"host": "127.0.0.2", "group": "g1"})
    walk.put("/skydns/local/domain/subdom/c", {"host": "127.0.0.3", "group": "g2"})
    walk.put("/skydns/local/domain/subdom/d", {"host": "127.0.0.4", "group": "g2"})
    walk.sync(s)
    dig_is(walk.dig(s, "A", "domain.local"),
           ["domain.local. 3600 IN A 127.0.0.1", "domain.local. 3600 IN A 127.0.0.2"])
    dig_is(walk.dig(s, "A", "subdom.domain.local"),
           ["subdom.domain.local. 3600 IN A 127.0.0.3", "subdom.domain.local. 3600 IN A 127.0.0.4"])
    # "If a service is found without a group it is always included."
    walk.put("/skydns/local/domain/subdom/e", {"host": "127.0.0.5"})
    walk.sync(s)
    dig_is(walk.dig(s, "A", "subdom.domain.local"),
           [f"subdom.domain.local. 3600 IN A 127.0.0.{i}" for i in (3, 4, 5)])


# ------------------------------------------------------ Stub Zones


def test_stub_zones(walk, rst, workdir):
    com = Nsd(workdir, "127.0.0.1", "skydns.com.",
              ["@ 3600 IN SOA ns.skydns.com. h.skydns.com. 1 3600 600 86400 120",
               "@ 3600 IN NS ns.skydns.com.", "ns 3600 IN A 127.0.0.1",
               "www 3600 IN A 198.51.100.80"]).start()
    try:
        s = walk.server(["-stubzones", "-rtimeout", "1s"])
        dead = free_port()
        # 172.16.1.1:54 -> a closed loopback port, 10.10.244.1:53 -> nsd
        walk.curl(f"""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/dns/stub/com/skydns/ns1 \\
    -d value='{{"host":"127.0.0.1", "port":{dead}}}'""")
        walk.curl(f"""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/dns/stub/com/skydns/ns2 \\
    -d value='{{"host":"127.0.0.1", "port":{com.port}}}'""")
        walk.sync(s)
        res = walk.dig(s, "A", "www.skydns.com")
        relayed_is(res, ["www.skydns.com. 3600 IN A 198.51.100.80"])
        # the apex of the stub zone goes there too, not to the recursor
        res = walk.dig(s, "SOA", "skydns.com")
        assert [x.split()[3] for x in res["answer"]] == ["SOA"], res
    finally:
        com.stop()


# ------------------------------------------------------ How Do I ...


def test_address_pool_round_robin(walk):
    # the README's x2/x3 lines have odd quoting ('...'}); the shell still
    # hands etcd valid JSON, so they are run as written
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/db/x1 -d \\
    value='{"host":"127.0.0.1"}'""")
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/db/x2 -d \\
    value='{"host": "127.0.0.2"'}""")
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/db/x3 -d \\
    value='{"host": "127.0.0.3"'}""")
    walk.sync()
    s = walk.server()
    want = [f"db.skydns.local. 3600 IN A 127.0.0.{i}" for i in (1, 2, 3)]
    orders = set()
    for _ in range(20):
        res = walk.dig(s, "db.skydns.local", "A", "+noall", "+answer")
        assert sorted(res["answer"]) == want, res
        orders.add(tuple(res["answer"]))
    assert len(orders) > 1, "round robin is on by default"
    fixed = walk.server(["-round-robin=false"])
    walk.sync(fixed)
    orders = set()
    for _ in range(10):
        res = walk.dig(fixed, "db.skydns.local", "A", "+noall", "+answer")
        assert sorted(res["answer"]) == want, res
        orders.add(tuple(res["answer"]))
    assert len(orders) == 1, orders


def test_multiple_srv_records_for_one_name(walk):
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/bar/x1 -d \\
    value='{"host":"192.168.0.1","port":80}'""")
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/bar/x2 -d \\
    value='{"host": "bar.skydns.local","port":443}'""")
    walk.sync()
    s = walk.server()
    b = "bar.skydns.local."
    # README's first output omits bar's own A in additional; SkyDNS adds the
    # addresses of every in-domain target (bar. has x1's address)
    dig_is(walk.dig(s, "bar.skydns.local.", "SRV"),
           [f"{b} 3600 IN SRV 10 50 80 x1.{b}", f"{b} 3600 IN SRV 10 50 443 {b}"],
           [f"x1.{b} 3600 IN A 192.168.0.1", f"{b} 3600 IN A 192.168.0.1"])
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/bar/x1 -d \\
    value='{"host":"192.168.0.1","port":80,"targetstrip":1}'""")
    walk.sync()
    res = walk.dig(s, "bar.skydns.local.", "SRV")
    dig_is(res, [f"{b} 3600 IN SRV 10 50 80 {b}", f"{b} 3600 IN SRV 10 50 443 {b}"],
           [f"{b} 3600 IN A 192.168.0.1"])
    check_positive(query(s, b, "SRV"), res["answer"], res["additional"])
    check_negative(query(s, "nope.bar.skydns.local.", "SRV"), dns.rcode.NXDOMAIN)

