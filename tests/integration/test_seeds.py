"""The seed documents' examples that test_readme.py does not walk (issue 17 item 3).

Seeds (/work/shared/seeds):
  000  SkyDNS README 2.5.3a (GitHub). test_readme.py walks its examples in
       order; this file adds what that walk leaves out: the "Configuration"
       list as a document in /skydns/config, the cache and timeout keys, the
       "SSL Usage" environment variables, SKYDNS_NDOTS, lower-cased lookups
       and the -discover flag.
  001  SkyDNS README 2.0.0g (Docker Hub). The scrape lost every URL and
       address; the commands are restored from 2.5.3a, which has the same
       ones. Walked where it differs from 2.5.3a: the nameserver written at
       key dns/ns (named ns.dns.<domain>, the SOA's mname), "Host" with a
       capital H, "rcache-ttl", and the question lines its dig outputs show.
  002  ipdcode/skydns README: another program (an INI config file, a REST
       API, skydns-kubeapi/-scanner/-schedule, one random address per
       answer). skydns does not implement it; nothing to walk.
  003  The kube2sky notes (Kubernetes' cluster/addons/dns README, 2014):
       their variables rendered into our manifests, the manifests' own
       kube2sky and skydns arguments run against the fake API server, the
       names a container with `--dns`/`--dns-search` resolves, and how the
       master is found in-cluster.

Where skydns differs on purpose, the test asserts skydns's behaviour and
README.md's "Compatibility with SkyDNS" table has the row
(test_compat_table_has_the_rows). Everything runs on loopback high ports,
is stopped by PID, and every wait is bounded.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time

import dns.exception
import dns.flags
import dns.name
import dns.rcode
import dns.resolver
import pytest
import yaml

from conftest import SKYDNS_BIN, Etcd, EtcdKV, SkyDNS, free_port, query, stop_pid, wait_until
from records_util import Stack, check_negative, lines
from test_readme import FOUR, GLUE, MIEK, R4, R6, Walk, dig_is, relayed_is
from upstream_util import Nsd

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("SKYDNS_SRC") or os.path.join(HERE, "..", "..")


@pytest.fixture(scope="module")
def rst():
    s = Stack(upstream=lambda wd: Nsd(wd, "127.0.0.1", "miek.nl.", MIEK))
    yield s
    s.close()


@pytest.fixture
def walk(rst, mode):
    return Walk(rst, mode)


def start_on(s, port, domain=None, timeout=10):
    """A SkyDNS whose listen address (and domain) come from /skydns/config."""
    s.start(wait=False)
    s.port = port
    if domain:
        s.domain = domain
    wait_until(s.ready, timeout, what="skydns on the configured dns_addr")
    return s


class Blackhole:
    """A UDP socket that takes queries and never answers (a dead forwarder)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", free_port()))
        self.server = "127.0.0.1:%d" % self.sock.getsockname()[1]

    def close(self):
        self.sock.close()


# ============================================ SkyDNS README 2.5.3a (seed 000)


def test_configuration_list_as_a_config_document(walk, rst, workdir):
    """Every parameter of the README's "Configuration" list, spelled as it
    lists them, in one /skydns/config document; each one that shows in an
    answer is checked there. The flags given contradict it: the document wins."""
    etcd = Etcd(workdir).start()
    s = None
    bh = Blackhole()
    try:
        w = Walk(rst, walk.mode, etcd)
        port = free_port()
        doc = {"dns_addr": f"127.0.0.1:{port}", "domain": "seeds.test.",
               "hostmaster": "dns-admin@seeds.test", "local": "me.hosts.seeds.test.",
               "round_robin": False, "nameservers": [rst.upstream.server], "no_rec": False,
               "read_timeout": 2000000000, "ttl": 120, "min_ttl": 15, "scache": 100,
               "rcache": 0, "rcache_ttl": 60, "ndots": 2, "systemd": False,
               "path-prefix": "skydns", "etcd3": walk.mode == "v3"}
        w.curl(f"""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/config \\
    -d value='{json.dumps(doc)}'""")
        for i in (1, 2, 3):
            w.put(f"/skydns/test/seeds/db/x{i}", {"host": f"127.0.0.{i}"})
        w.put("/skydns/test/seeds/hosts/me", {"host": "192.0.2.7"})
        s = SkyDNS(workdir, etcd.url, walk.mode,
                   ["-no-rec", "-round-robin=true", "-hostmaster", "flag@example.org"])
        flag_port = s.port
        start_on(s, port, "seeds.test.")
        assert "bad config" not in s.logs(), s.logs()
        # domain, hostmaster (the @ becomes a dot), min_ttl as the SOA minimum
        r = query(s, "seeds.test.", "SOA")
        assert lines(r) == ["seeds.test. 120 IN SOA ns.dns.seeds.test. dns-admin.seeds.test. "
                            f"{r.answer[0][0].serial} 28800 7200 604800 15"], lines(r)
        # min_ttl: the negative answer's SOA
        r = query(s, "nothing.seeds.test.", "A")
        assert r.rcode() == dns.rcode.NXDOMAIN and [x.ttl for x in r.authority] == [15]
        # ttl, and round_robin false: one order every time
        want = [f"db.seeds.test. 120 IN A 127.0.0.{i}" for i in (1, 2, 3)]
        orders = set()
        for _ in range(10):
            res = w.dig(s, "+noall", "+answer", "A", "db.seeds.test.")
            assert sorted(res["answer"]) == want, res
            orders.add(tuple(res["answer"]))
        assert len(orders) == 1, orders
        # local: local.dns.<domain> is the service named by "local"
        dig_is(w.dig(s, "A", "local.dns.seeds.test."), ["local.dns.seeds.test. 120 IN A 192.0.2.7"])
        # nameservers and no_rec false (the flag said -no-rec): forwarded
        relayed_is(w.dig(s, "A", "a.miek.nl"), ["a.miek.nl. 3600 IN A 176.58.119.54"])
        # dns_addr: the flag's address is not served
        with pytest.raises(dns.exception.Timeout):
            query(s, "seeds.test.", "SOA", timeout=0.5, port=flag_port)

        # The README: "SkyDNS needs to be restarted for configuration changes
        # to take effect"; skydns applies them live (compatibility table).
        def put(**changes):
            w.kv.put("/skydns/config", dict(doc, **changes))
        # path-prefix: listed, but the document lives under the prefix; a
        # different value changes nothing and says so
        put(**{"path-prefix": "mydns", "ttl": 121})
        wait_until(lambda: query(s, "db.seeds.test.", "A").answer[0].ttl == 121, 10,
                   what="the document with path-prefix applied")
        assert 'key "path-prefix" ("mydns") in /skydns/config has no effect' in s.logs()
        # ndots 4: a.miek.nl has 3 labels, too few to be forwarded
        put(ndots=4)
        wait_until(lambda: query(s, "a.miek.nl.", "A").rcode() == dns.rcode.SERVFAIL, 10,
                   what="ndots 4 applied")
        # no_rec true: REFUSED, RA off
        put(no_rec=True)
        wait_until(lambda: query(s, "a.miek.nl.", "A").rcode() == dns.rcode.REFUSED, 10,
                   what="no_rec applied")
        assert not query(s, "a.miek.nl.", "A").flags & dns.flags.RA
        # read_timeout (nanoseconds, a Go time.Duration): a forwarder that
        # never answers gives SERVFAIL within 2 x read_timeout
        put(nameservers=[bh.server], read_timeout=300000000)

        def servfail_fast():
            t0 = time.monotonic()
            r = query(s, "b.miek.nl.", "A", timeout=3)
            return r.rcode() == dns.rcode.SERVFAIL and time.monotonic() - t0 < 1.2
        wait_until(servfail_fast, 10, what="read_timeout 300 ms applied")
    finally:
        bh.close()
        if s:
            s.stop()
        etcd.stop()


@pytest.mark.parametrize("mode,spelling", [("v2", "rcache-ttl"), ("v3", "rcache_ttl")])
def test_response_cache_keys(rst, workdir, mode, spelling):
    """rcache and rcache_ttl (2.0.0g spells it "rcache-ttl"): a forwarded
    answer is served from the cache after the upstream died, until the
    cache's TTL ran out; read_timeout bounds the wait after that."""
    up = Nsd(workdir, "127.0.0.1", "miek.nl.", MIEK).start()
    etcd = Etcd(workdir).start()
    s = None
    try:
        port = free_port()
        EtcdKV(etcd.url, mode).put("/skydns/config", {
            "dns_addr": f"127.0.0.1:{port}", "nameservers": [up.server], "rcache": 10,
            spelling: 2, "read_timeout": 300000000})
        s = start_on(SkyDNS(workdir, etcd.url, mode), port)
        r = query(s, "a.miek.nl.", "A")
        assert lines(r) == ["a.miek.nl. 3600 IN A 176.58.119.54"], lines(r)
        up.stop()
        t0 = time.monotonic()
        r = query(s, "a.miek.nl.", "A")
        assert [x.to_text().split()[-1] for x in r.answer] == ["176.58.119.54"], lines(r)
        # (with the upstream's TTL: the compatibility table's rcache row)
        time.sleep(max(0.0, 3.1 - (time.monotonic() - t0)))
        r = query(s, "a.miek.nl.", "A", timeout=3)
        assert r.rcode() == dns.rcode.SERVFAIL, lines(r)
    finally:
        if s:
            s.stop()
        etcd.stop()
        if up.proc:
            up.stop()


def make_certs(workdir):
    from test_mirror import make_certs as mc
    return mc(workdir)


def test_ssl_environment_variables(walk, rst, workdir):
    """"SSL Usage and Authentication with Client Certificates": an etcd that
    wants client certificates, reached with ETCD_CACERT, ETCD_TLSKEY and
    ETCD_TLSPEM only (no flags)."""
    import ssl
    c = make_certs(workdir)
    ctx = ssl.create_default_context(cafile=c["ca.crt"])
    ctx.load_cert_chain(c["cli.crt"], c["cli.key"])
    e = Etcd(workdir, ["--cert-file", c["srv.crt"], "--key-file", c["srv.key"],
                       "--trusted-ca-file", c["ca.crt"], "--client-cert-auth"],
             scheme="https", ssl_ctx=ctx).start()
    s = None
    try:
        tls = ["--cacert", c["ca.crt"], "--cert", c["cli.crt"], "--key", c["cli.key"]]
        # the README's curl, with the certificates the etcd asks for
        cmd = ["curl", "-sS", *tls, "-XPUT", e.url + "/v2/keys/skydns/local/skydns/tls/x1",
               "-d", 'value={"host":"10.0.6.1"}']
        if walk.mode == "v3":
            cmd = ["etcdctl", "--endpoints", e.url, "--cacert", c["ca.crt"], "--cert", c["cli.crt"],
                   "--key", c["cli.key"], "put", "/skydns/local/skydns/tls/x1", '{"host":"10.0.6.1"}']
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                             env=dict(os.environ, ETCDCTL_API="3"))
        assert out.returncode == 0, out.stderr
        s = SkyDNS(workdir, e.url, walk.mode, ["-no-rec"],
                   env={"ETCD_CACERT": c["ca.crt"], "ETCD_TLSKEY": c["cli.key"],
                        "ETCD_TLSPEM": c["cli.crt"]})
        s.start()
        r = wait_until(lambda: (lambda r: r if r.answer else None)(query(s, "x1.tls.skydns.local.")),
                       10, what="the record over TLS")
        assert lines(r) == ["x1.tls.skydns.local. 3600 IN A 10.0.6.1"]
        # without ETCD_TLSPEM/ETCD_TLSKEY the etcd refuses us: no data, SERVFAIL
        s2 = SkyDNS(workdir, e.url, walk.mode, ["-no-rec"], env={"ETCD_CACERT": c["ca.crt"]})
        s2.start(wait=False)
        try:
            wait_until(lambda: query(s2, "x1.tls.skydns.local.", timeout=0.5).rcode()
                       == dns.rcode.SERVFAIL, 10, what="SERVFAIL without client certificates")
        finally:
            s2.stop()
    finally:
        if s:
            s.stop()
        e.stop()


def test_etcd_basic_auth_environment(walk, rst, workdir):
    """ETCD_USERNAME / ETCD_PASSWORD ("username used for basic auth"): an
    etcd with auth on, skydns given the credentials by the environment only."""
    from conftest import _http, b64
    e = Etcd(workdir).start()
    s = None
    try:
        u = e.url
        env = dict(os.environ, ETCDCTL_API="3")
        if walk.mode == "v2":
            auth = {"Authorization": "Basic " + b64("root:pw")}
            assert _http("PUT", u + "/v2/auth/users/root", {"user": "root", "password": "pw"})[0] in (200, 201)
            assert _http("PUT", u + "/v2/auth/enable")[0] in (200, 201)
            st, body = _http("PUT", u + "/v2/auth/roles/guest",  # no anonymous access
                             {"role": "guest", "revoke": {"kv": {"read": ["/*"], "write": ["/*"]}}}, auth)
            assert st == 200, body
            cmd = ["curl", "-sS", "-u", "root:pw", "-XPUT", u + "/v2/keys/skydns/local/skydns/auth/x1",
                   "-d", 'value={"host":"10.0.8.1"}']
        else:
            for args in (["user", "add", "root:pw"], ["auth", "enable"]):
                p = subprocess.run(["etcdctl", "--endpoints", u, *args], capture_output=True,
                                   text=True, timeout=30, env=env)
                assert p.returncode == 0, p.stderr
            cmd = ["etcdctl", "--endpoints", u, "--user", "root:pw", "put",
                   "/skydns/local/skydns/auth/x1", '{"host":"10.0.8.1"}']
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=env)
        assert p.returncode == 0 and "error" not in p.stdout.lower(), (p.stdout, p.stderr)
        s = SkyDNS(workdir, u, walk.mode, ["-no-rec"],
                   env={"ETCD_USERNAME": "root", "ETCD_PASSWORD": "pw"}).start()
        r = query(s, "x1.auth.skydns.local.")
        assert lines(r) == ["x1.auth.skydns.local. 3600 IN A 10.0.8.1"], lines(r)
        assert "pw" not in " ".join(s.args)  # nothing in the process list
    finally:
        if s:
            s.stop()
        e.stop()


def test_skydns_ndots_environment(walk, rst):
    """SKYDNS_NDOTS: "how many labels a name should have before we allow
    forwarding"; a.miek.nl has 3."""
    for ndots, want in (("3", dns.rcode.NOERROR), ("4", dns.rcode.SERVFAIL)):
        s = SkyDNS(rst.workdir, rst.etcd.url, walk.mode, rst.base_args(),
                   env={"SKYDNS_NDOTS": ndots})
        s.start()
        try:
            assert query(s, "a.miek.nl.", "A").rcode() == want, ndots
        finally:
            s.stop()


def test_prometheus_counters_with_the_default_names(walk, rst):
    """The 2.5.3a README's "Current counters" appear under the default
    namespace and subsystem (`skydns_skydns_`, see the compatibility row on
    PROMETHEUS_NAMESPACE) at the default path /metrics. The listener is put on
    loopback with -metrics-addr (PROMETHEUS_PORT alone binds every address)."""
    import urllib.request
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/east/staging/rails/4 \\
    -d value='{"host":"10.0.1.125","port":8080}'""")
    mport = free_port()
    s = SkyDNS(rst.workdir, rst.etcd.url, walk.mode, rst.base_args() + ["-metrics-addr", f"127.0.0.1:{mport}"])
    s.start()
    try:
        wait_until(lambda: query(s, R4, "A").answer, 10, what="the record")
        assert query(s, "nothere.skydns.local.", "A").rcode() == dns.rcode.NXDOMAIN
        with urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=2) as r:
            text = r.read().decode()
        names = {ln.split("{")[0].split(" ")[0] for ln in text.splitlines() if ln and ln[0] != "#"}
        for counter in ("dns_request_count_total", "dns_request_duration_seconds_count",
                        "dns_response_size_bytes_count", "dns_error_count_total",
                        "dns_cachemiss_count_total"):
            assert "skydns_skydns_" + counter in names, (counter, sorted(names))
    finally:
        s.stop()


def test_skydns_systemd_environment(walk, rst, workdir):
    """SKYDNS_SYSTEMD=true: "bind to socket(s) activated by systemd (ignores
    SKYDNS_ADDR)"; the socket comes from systemd-socket-activate."""
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/east/staging/rails/4 \\
    -d value='{"host":"10.0.1.125","port":8080}'""")
    port = free_port()
    log = open(os.path.join(workdir, "activated.log"), "wb")
    addr_port = free_port()
    # systemd-socket-activate passes only the variables named with -E
    args = ["/usr/bin/systemd-socket-activate", "-d", "-l", f"127.0.0.1:{port}",
            "-E", "SKYDNS_SYSTEMD=true", "-E", f"SKYDNS_ADDR=127.0.0.1:{addr_port}",
            "-E", "SKYDNS_LAMEDUCK=0s", "--",
            SKYDNS_BIN, "-no-rec", "-machines", rst.etcd.url] + (["-etcd3"] if walk.mode == "v3" else [])
    p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    try:
        class At:
            addr = "127.0.0.1"
        At.port = port
        r = wait_until(lambda: query(At, R4, "A", timeout=1).answer and query(At, R4, "A"), 20,
                       what="socket-activated answer")
        assert lines(r) == [f"{R4} 3600 IN A 10.0.1.125"]
        with pytest.raises(dns.exception.Timeout):  # SKYDNS_ADDR is ignored
            query(At, R4, "A", timeout=0.5, port=addr_port)
    finally:
        stop_pid(p)
        log.close()


def test_lookups_use_a_lower_cased_path(walk):
    """"The lookups into Etcd will be done with a lower cased path name": any
    spelling of the name finds a lower-case key (the owner keeps the
    query's spelling); a key written with capitals is never found."""
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/east/case/web \\
    -d value='{"host":"10.0.7.1"}'""")
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/east/case/Upper \\
    -d value='{"host":"10.0.7.2"}'""")
    walk.sync()
    s = walk.server()
    dig_is(walk.dig(s, "A", "WEB.Case.EAST.skydns.local"), ["WEB.Case.EAST.skydns.local. 3600 IN A 10.0.7.1"])
    # the capital key has no name of its own (the lookup of upper.case...
    # reads .../case/upper); SkyDNS's recursive read of the directory still
    # returned it, and so does skydns
    check_negative(query(s, "upper.case.east.skydns.local.", "A"), dns.rcode.NXDOMAIN)
    check_negative(query(s, "Upper.case.east.skydns.local.", "A"), dns.rcode.NXDOMAIN)
    dig_is(walk.dig(s, "A", "case.east.skydns.local"),
           ["case.east.skydns.local. 3600 IN A 10.0.7.1", "case.east.skydns.local. 3600 IN A 10.0.7.2"])


def test_discover_flag_is_not_a_flag(rst):
    """The README: "Auto-discovering new machines ... by enabling the flag
    -discover". SkyDNS dropped the flag (commit 6589e1d, the new etcd client)
    and refuses it; so does skydns, in one line, before touching etcd."""
    p = subprocess.run([SKYDNS_BIN, "-machines", rst.etcd.url, "-discover"], capture_output=True,
                       text=True, timeout=10)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert p.stderr.strip().splitlines() == ["skydns: flag provided but not defined: -discover (see -h)"]


def test_min_ttl_default(walk):
    """The README's list says min_ttl "defaults to 30"; SkyDNS's code (and
    skydns) use 60: the negative answers' SOA TTL and minimum."""
    s = walk.server()
    r = query(s, "nothing.skydns.local.", "A")
    check_negative(r, dns.rcode.NXDOMAIN)  # asserts TTL and minimum 60
    assert r.authority[0].ttl == 60 and r.authority[0][0].minimum == 60


# ============================================ SkyDNS README 2.0.0g (seed 001)


def test_2_0_nameserver_at_dns_ns(walk):
    """2.0.0g: the nameserver lives at key local/skydns/dns/... and "Registers
    ns.dns.skydns.local as a nameserver"; "The first nameserver should have
    the hostname ns (as this is used in the SOA record)". The key restored:
    local/skydns/dns/ns, the leaf named ns.dns.skydns.local."""
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/dns/ns \\
    -d value='{"host":"172.16.0.1"}'""")
    walk.sync()
    s = walk.server()
    res = walk.dig(s, "NS", "skydns.local")
    assert res["question"] == ["skydns.local. IN NS"], res
    dig_is(res, ["skydns.local. 3600 IN NS ns.dns.skydns.local."],
           ["ns.dns.skydns.local. 3600 IN A 172.16.0.1"])
    soa = query(s, "skydns.local.", "SOA").answer[0][0]
    assert soa.mname.to_text() == "ns.dns.skydns.local."
    dig_is(walk.dig(s, "A", "ns.dns.skydns.local"), ["ns.dns.skydns.local. 3600 IN A 172.16.0.1"])


def test_2_0_address_pool_with_capital_host(walk):
    """2.0.0g's pool writes value='{"Host": "..."'}: Go's encoding/json matched
    "Host" to host, and so does skydns."""
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/db/x1 -d \\
    value='{"host":"127.0.0.1"}'""")
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/db/x2 -d \\
    value='{"Host": "127.0.0.2"'}""")
    walk.curl("""curl -XPUT http://127.0.0.1:4001/v2/keys/skydns/local/skydns/db/x3 -d \\
    value='{"Host": "127.0.0.3"'}""")
    walk.sync()
    res = walk.dig(walk.server(), "db.skydns.local", "A")
    dig_is(res, [f"db.skydns.local. 3600 IN A 127.0.0.{i}" for i in (1, 2, 3)])


def test_2_0_dig_outputs_with_their_questions(walk):
    """2.0.0g's dig outputs show the question line too; each is checked with
    the answer names and types (the weights are 2.5's, see test_readme)."""
    for c in FOUR:
        walk.curl(c)
    walk.sync()
    s = walk.server()
    q1 = "1.rails.production.east.skydns.local."
    cases = [
        (["SRV", q1], f"{q1} IN SRV", [f"{q1} 3600 IN SRV 10 100 8080 service1.example.com."], []),
        (["SRV", "east.skydns.local"], "east.skydns.local. IN SRV",
         [f"east.skydns.local. 3600 IN SRV 10 33 8080 {t}" for t in ("service1.example.com.", R4, R6)],
         GLUE),
        (["staging.east.skydns.local.", "SRV"], "staging.east.skydns.local. IN SRV",
         [f"staging.east.skydns.local. 3600 IN SRV 10 50 8080 {t}" for t in (R4, R6)], GLUE),
        (["staging.east.skydns.local.", "A"], "staging.east.skydns.local. IN A",
         ["staging.east.skydns.local. 3600 IN A 10.0.1.125"], []),
    ]
    for args, question, answer, additional in cases:
        res = walk.dig(s, *args)
        assert res["question"] == [question], res
        dig_is(res, answer, additional)
    # "% dig @localhost -p 5354 +noall +answer A 4.rails.staging.east.skydns.local."
    res = walk.dig(s, "+noall", "+answer", "A", R4)
    assert res["answer"] == [f"{R4} 3600 IN A 10.0.1.125"], res


# ============================================ the kube2sky notes (seed 003)

sys.path.insert(0, os.path.join(HERE, "..", "fakeapi"))
import fakeapi  # noqa: E402
from test_kube2sky import Kube2Sky, pki, run_once, svc_obj  # noqa: E402,F401 (pki: a fixture)

# "DNS_SERVER_IP=10.0.0.10 DNS_DOMAIN=kubernetes.local DNS_REPLICAS=2"
NOTES = {"DNS_SERVER_IP": "10.0.0.10", "DNS_DOMAIN": "kubernetes.local", "DNS_REPLICAS": "2"}
KZONE = "kubernetes.local."


def render():
    """The notes' variables through hack/render-manifests.sh: the objects."""
    p = subprocess.run([os.path.join(SRC, "hack", "render-manifests.sh")], capture_output=True,
                       text=True, timeout=60, env=dict(os.environ, **NOTES))
    assert p.returncode == 0, p.stderr
    assert not re.search(r"\{[A-Z_]+\}", p.stdout), "a placeholder was left"
    return [d for d in yaml.safe_load_all(p.stdout) if d]


def obj(docs, kind, name):
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, [(d["kind"], d["metadata"]["name"]) for d in docs]
    return found[0]


def containers(docs):
    spec = obj(docs, "Deployment", "skydns")["spec"]["template"]["spec"]
    return {c["name"]: c for c in spec["containers"]}


def test_notes_variables_fill_the_addon():
    """"substitute the variables into the configuration ... feed the result
    into kubectl": the Service gets the static IP, the pods the replicas, and
    etcd, kube2sky and SkyDNS run together in one pod, etcd not linked
    across replicas."""
    docs = render()
    svc = obj(docs, "Service", "kube-dns")
    assert svc["metadata"]["namespace"] == "kube-system"
    assert svc["spec"]["clusterIP"] == "10.0.0.10"
    assert {(p["port"], p["protocol"]) for p in svc["spec"]["ports"] if p["port"] == 53} == \
        {(53, "UDP"), (53, "TCP")}
    dep = obj(docs, "Deployment", "skydns")
    assert dep["spec"]["replicas"] == 2
    c = containers(docs)
    # the seed's three, and the loader of the optional records ConfigMap
    # (issue 16) on the same etcd
    assert set(c) == {"etcd", "kube2sky", "skydns", "load"}
    assert "-machines=http://127.0.0.1:2379" in c["load"]["args"]
    etcd_args = c["etcd"]["args"]
    assert "--listen-client-urls=http://127.0.0.1:2379" in etcd_args
    assert "--initial-cluster=skydns=http://127.0.0.1:2380" in etcd_args  # itself only
    assert "--domain=kubernetes.local" in c["kube2sky"]["args"]
    assert "--etcd-server=http://127.0.0.1:2379" in c["kube2sky"]["args"]
    assert "-domain=kubernetes.local." in c["skydns"]["args"]
    assert "-machines=http://127.0.0.1:2379" in c["skydns"]["args"]
    # The notes' own sed of the three variables is not enough for our
    # templates (images, listen host, forwarders are placeholders too):
    # compatibility table, "sed ... skydns-rc.yaml.in".
    p = subprocess.run(["sed", "-e", "s/{DNS_DOMAIN}/kubernetes.local/g", "-e", "s/{DNS_REPLICAS}/2/g",
                        os.path.join(SRC, "deploy", "05-deployment.yaml.in")],
                       capture_output=True, text=True, timeout=10, check=True)
    assert "{KUBE2SKY_IMAGE}" in p.stdout and "{LISTEN_HOST}" in p.stdout


def swap(args, prefix, value):
    """args with the one argument starting with prefix replaced (or dropped
    when value is None)."""
    hits = [a for a in args if a.startswith(prefix)]
    assert len(hits) == 1, (prefix, args)
    out = [a for a in args if not a.startswith(prefix)]
    return out + ([prefix + value] if value is not None else [])


def service_account(workdir, pki, token):
    sa = os.path.join(workdir, "sa")
    os.makedirs(sa, exist_ok=True)
    with open(os.path.join(sa, "token"), "w") as f:
        f.write(token + "\n")
    with open(os.path.join(pki, "ca.crt")) as src, open(os.path.join(sa, "ca.crt"), "w") as dst:
        dst.write(src.read())
    return sa


@pytest.fixture
def notes_api(pki):
    a = fakeapi.FakeAPI(token="sa-token", certfile=os.path.join(pki, "apiserver.crt"),
                        keyfile=os.path.join(pki, "apiserver.key"))
    a.state.bookmark_interval = 0.5
    a.state.apply(svc_obj("web", ip="10.0.0.50"))
    a.state.apply(svc_obj("kubernetes", ip="10.0.0.1", ports=(("https", 443),)))
    a.start()
    yield a
    a.stop()


def test_notes_pod_gives_services_names(workdir, etcd, mode, pki, notes_api):
    """The rendered pod's own kube2sky and skydns arguments (listeners and
    the etcd URL moved to loopback test ports; v2: without --etcd3/-etcd3),
    in-cluster against the fake API server: every Service gets a name in
    DNS_DOMAIN, and a container whose resolver is the DNS Service
    (`--dns 10.0.0.10 --dns-search ...`) finds services by short names."""
    c = containers(render())
    sa = service_account(workdir, pki, "sa-token")
    k2s = swap(c["kube2sky"]["args"], "--etcd-server=", etcd.url)
    k2s = swap(k2s, "--health-addr=", None)  # Kube2Sky gives it a test port
    sky = swap(c["skydns"]["args"], "-machines=", etcd.url)
    if mode == "v2":
        k2s, sky = [a for a in k2s if a != "--etcd3"], [a for a in sky if a != "-etcd3"]
    env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(notes_api.port)}
    k = Kube2Sky(workdir, k2s + ["--serviceaccount-dir", sa], env=env).start()
    s = SkyDNS(workdir, etcd.url, mode, domain=KZONE)
    s.args = [s.args[0]] + swap(swap(swap(sky, "-addr=", f"127.0.0.1:{s.port}"),
                                     "-metrics-addr=", f"127.0.0.1:{free_port()}"),
                                "-health-addr=", f"127.0.0.1:{free_port()}")
    try:
        k.wait_ready()
        s.start()
        fq = "web.default.svc.kubernetes.local."
        wait_until(lambda: query(s, fq, "A").answer, 15, what="the service's name")
        assert lines(query(s, fq, "A")) == [f"{fq} 30 IN A 10.0.0.50"]
        assert lines(query(s, "kubernetes.default.svc.kubernetes.local.", "A")) == \
            ["kubernetes.default.svc.kubernetes.local. 30 IN A 10.0.0.1"]
        # "The only objects to which we are assigning DNS names are Services":
        # no pod names; and no 2014-style <svc>.<ns>.<domain> name
        # (compatibility table)
        for name in ("10-244-1-5.default.pod.kubernetes.local.", "web.default.kubernetes.local."):
            check_negative(query(s, name, "A"), dns.rcode.NXDOMAIN, domain=KZONE)
        # a container resolving through the DNS Service with the search path
        # the kubelet (then: docker --dns-search) gives a pod in "default"
        res = dns.resolver.Resolver(configure=False)
        res.nameservers, res.port = ["127.0.0.1"], s.port
        res.search = [dns.name.from_text(x) for x in
                      ("default.svc.kubernetes.local.", "svc.kubernetes.local.", "kubernetes.local.")]
        res.ndots, res.use_search_by_default, res.lifetime = 5, True, 5
        for short in ("web", "web.default", "web.default.svc", "kubernetes.default"):
            got = res.resolve(short, "A")
            want = "10.0.0.1" if short.startswith("kubernetes") else "10.0.0.50"
            assert [r.to_text() for r in got] == [want], short
            assert got.qname.to_text() == ("kubernetes" if want == "10.0.0.1" else "web") + \
                ".default.svc.kubernetes.local."
    finally:
        s.stop()
        k.stop()
    assert k.exit_codes == [0], k.logs()[-2000:]


def test_notes_master_found_in_cluster_not_through_kubernetes_ro(workdir, pki):
    """"It finds the Kubernetes master through the kubernetes-ro service":
    that service (KUBERNETES_RO_SERVICE_HOST/PORT in every pod) went away in
    Kubernetes 1.0. kube2sky finds the master through the kubernetes Service's
    KUBERNETES_SERVICE_HOST/PORT (with the pod's service-account token); with
    only the kubernetes-ro variables it says so and exits 2 (compatibility
    table)."""
    sa = service_account(workdir, pki, "sa-token")
    env = {k: "" for k in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")}
    env.update(KUBERNETES_RO_SERVICE_HOST="127.0.0.1", KUBERNETES_RO_SERVICE_PORT="7080")
    rc, err = run_once(["--domain", "kubernetes.local", "--serviceaccount-dir", sa], env=env)
    assert rc == 2 and "KUBERNETES_SERVICE_HOST" in err and len(err.splitlines()) == 1, (rc, err)


# ============================================ the compatibility table


def test_compat_table_has_the_rows():
    """Each on-purpose difference this file asserts has its row in README.md's
    "Compatibility with SkyDNS" table."""
    with open(os.path.join(SRC, "README.md")) as f:
        text = f.read()
    section = text.split("## Compatibility with SkyDNS", 1)[1].split("\n## ", 1)[0]
    rows = [r for r in section.splitlines() if r.startswith("| ")]
    assert len(rows) > 30, rows
    for needle in ("`path-prefix`", "`min_ttl` \"defaults to 30\"", "`-discover`",
                   "config read once at start",         # applied live
                   "records from forwarder lookups",    # cached answers keep the upstream's TTL
                   "`http://127.0.0.1:2379`",           # ETCD_MACHINES default
                   "`skydns-rc.yaml.in`", "`kubernetes-ro`", "`<svc>.<ns>.<domain>`",
                   "`PROMETHEUS_NAMESPACE`", "`server.Backend`"):
        assert any(needle in r for r in rows), needle
