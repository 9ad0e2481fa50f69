"""skydns-load (issue 16): custom records, stub zones and forwarders from a
directory (a mounted ConfigMap) kept in the pod's etcd, so they survive a
restart of the pod's processes and a wiped etcd.

Real etcd (v2 and v3), real skydns, real upstreams on loopback: unbound
answers example.org (the upstreamNameservers forwarder), nsd is
authoritative for example.net (a stubDomains zone). The directory holds the
files a ConfigMap would: records.json, hosts, stubDomains,
upstreamNameservers, config.json.
"""
import json
import os
import shutil
import subprocess

import pytest

from conftest import Daemon, EtcdKV, _http, b64, query, rdatas, wait_until
from upstream_util import Nsd, Unbound

LOAD_BIN = os.path.join(os.environ.get("SKYDNS_BUILD", "build"), "dns", "load", "skydns-load")
STATE = "/skydns-load/skydns/keys"
ORG = {"example.org.": [
    "example.org. 300 IN SOA ns.example.org. h.example.org. 1 3600 600 86400 120",
    "www.example.org. 300 IN A 192.0.2.10"]}
NET = ["@ 300 IN SOA ns.example.net. h.example.net. 1 3600 600 86400 120",
       "@ 300 IN NS ns.example.net.",
       "ns 300 IN A 192.0.2.53",
       "www 300 IN A 198.51.100.20"]


@pytest.fixture
def upstreams(workdir):
    u = Unbound(workdir, "127.0.0.1", ORG).start()
    n = Nsd(workdir, "127.0.0.2", "example.net.", NET).start()
    yield u, n
    n.stop()
    u.stop()


def write_dir(d, files):
    os.makedirs(d, exist_ok=True)
    for name in os.listdir(d):
        os.remove(os.path.join(d, name))
    for name, body in files.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(body if isinstance(body, str) else json.dumps(body))


def load_args(etcd, mode, d, *extra):
    args = [LOAD_BIN, "-machines", etcd.url, "-dir", d, *extra]
    return args + (["-etcd3"] if mode == "v3" else [])


def run_load(etcd, mode, d, *extra):
    p = subprocess.run(load_args(etcd, mode, d, *extra), capture_output=True, text=True,
                       timeout=30)
    return p.returncode, p.stderr


def etcd_get(etcd, mode, key):
    if mode == "v2":
        st, body = _http("GET", etcd.url + "/v2/keys" + key)
        return body["node"]["value"] if st == 200 else None
    st, body = _http("POST", etcd.url + "/v3/kv/range", {"key": b64(key)})
    assert st == 200, body
    kvs = body.get("kvs") or []
    import base64
    return base64.b64decode(kvs[0]["value"]).decode() if kvs else None


def files(unbound, nsd):
    return {
        "records.json": {
            "db": {"host": "10.0.0.5"},
            "web.skydns.local.": [{"host": "10.0.0.6"}, {"host": "10.0.0.7"}],
            "ext": {"host": "www.example.org"},
            "outside.example.com.": {"host": "10.9.9.9"},  # not in the domain: left out
            "badport": {"host": "10.0.0.8", "port": "eighty"},  # wrong type: left out
        },
        "hosts": "# a comment\n10.1.0.1 h1 h1-alias.skydns.local.\n"
                 "fd00::1 h6\nnot-an-ip h9\n",
        "stubDomains": {"example.net": [nsd.server]},
        "upstreamNameservers": [unbound.server],
        "config.json": {"ttl": 60},
    }


def test_configmap_served(workdir, etcd, mode, skydns, upstreams):
    """One pass before skydns starts: the records, hosts names, the stub
    zone and the forwarder (from /skydns/config) all answer; each bad entry
    is left out with one line naming it, and everything else is served."""
    unbound, nsd = upstreams
    d = os.path.join(workdir, "cm")
    write_dir(d, files(unbound, nsd))
    rc, err = run_load(etcd, mode, d)
    assert rc == 0, err
    assert "outside.example.com." in err and "outside the domain" in err
    assert "badport" in err and "not-an-ip" in err
    s = skydns(["-stubzones", "-rtimeout", "500ms"])
    assert rdatas(query(s, "db.skydns.local.", "A"), "A") == ["10.0.0.5"]
    r = query(s, "db.skydns.local.", "A")
    assert r.answer[0].ttl == 60  # config.json's ttl
    assert sorted(rdatas(query(s, "web.skydns.local.", "A"), "A")) == ["10.0.0.6", "10.0.0.7"]
    assert rdatas(query(s, "h1.skydns.local.", "A"), "A") == ["10.1.0.1"]
    assert rdatas(query(s, "h1-alias.skydns.local.", "A"), "A") == ["10.1.0.1"]
    assert rdatas(query(s, "h6.skydns.local.", "AAAA"), "AAAA") == ["fd00::1"]
    assert query(s, "badport.skydns.local.", "A").rcode() == 3  # NXDOMAIN
    assert rdatas(query(s, "ext.skydns.local.", "A"), "A") == ["192.0.2.10"]  # via unbound
    assert rdatas(query(s, "www.example.org.", "A"), "A") == ["192.0.2.10"]  # forwarder
    assert rdatas(query(s, "www.example.net.", "A"), "A") == ["198.51.100.20"]  # stub zone
    # a second pass writes nothing: the revision does not move (v3)
    if mode == "v3":
        rev = EtcdKV(etcd.url, mode).revision()
        assert run_load(etcd, mode, d)[0] == 0
        assert EtcdKV(etcd.url, mode).revision() == rev


def test_watch_follows_changes_and_leaves_other_keys(workdir, etcd, mode, kv, skydns, upstreams):
    """-watch: an edited address is answered, a removed name goes
    (NXDOMAIN), a key written by someone else is never touched."""
    unbound, nsd = upstreams
    d = os.path.join(workdir, "cm")
    f = files(unbound, nsd)
    write_dir(d, f)
    kv.put("/skydns/local/skydns/byhand", {"host": "10.5.5.5"})
    w = Daemon(os.path.join(workdir, "load.log"),
               load_args(etcd, mode, d, "-watch", "-interval", "300ms")).spawn()
    try:
        s = skydns(["-stubzones", "-rtimeout", "500ms"])
        wait_until(lambda: rdatas(query(s, "db.skydns.local.", "A"), "A") == ["10.0.0.5"], 10,
                   what="db from the first pass")
        f["records.json"]["db"] = {"host": "10.0.0.55"}
        del f["records.json"]["web.skydns.local."]
        f["hosts"] = "10.1.0.2 h1\n"
        write_dir(d, f)
        wait_until(lambda: rdatas(query(s, "db.skydns.local.", "A"), "A") == ["10.0.0.55"], 10,
                   what="the edited address")
        wait_until(lambda: query(s, "web.skydns.local.", "A").rcode() == 3, 10,
                   what="the removed name gone")
        wait_until(lambda: rdatas(query(s, "h1.skydns.local.", "A"), "A") == ["10.1.0.2"], 10,
                   what="the edited hosts line")
        assert query(s, "h6.skydns.local.", "AAAA").rcode() == 3
        assert query(s, "h1-alias.skydns.local.", "A").rcode() == 3
        assert rdatas(query(s, "byhand.skydns.local.", "A"), "A") == ["10.5.5.5"]
        owned = json.loads(etcd_get(etcd, mode, STATE))
        assert "/skydns/local/skydns/byhand" not in owned
        assert "/skydns/local/skydns/db" in owned
        assert w.proc.poll() is None, w.logs()
    finally:
        w.stop()


def test_refilled_after_the_pods_etcd_is_wiped(workdir, etcd, mode, skydns, upstreams):
    """The pod's processes restart with an empty etcd (emptyDir): the
    running loader writes everything again within an interval, and a fresh
    skydns then answers as before."""
    unbound, nsd = upstreams
    d = os.path.join(workdir, "cm")
    write_dir(d, files(unbound, nsd))
    w = Daemon(os.path.join(workdir, "load.log"),
               load_args(etcd, mode, d, "-watch", "-interval", "300ms")).spawn()
    try:
        wait_until(lambda: etcd_get(etcd, mode, "/skydns/local/skydns/db") is not None, 10,
                   what="the first pass")
        etcd.stop()
        shutil.rmtree(etcd.dir)
        etcd.start()
        wait_until(lambda: etcd_get(etcd, mode, "/skydns/local/skydns/db") is not None, 15,
                   what="the records written again")
        wait_until(lambda: etcd_get(etcd, mode, "/skydns/config") is not None, 5,
                   what="the settings written again")
        s = skydns(["-stubzones", "-rtimeout", "500ms"])
        assert rdatas(query(s, "db.skydns.local.", "A"), "A") == ["10.0.0.5"]
        assert rdatas(query(s, "www.example.org.", "A"), "A") == ["192.0.2.10"]
        assert rdatas(query(s, "www.example.net.", "A"), "A") == ["198.51.100.20"]
        assert w.proc.poll() is None, w.logs()
    finally:
        w.stop()


@pytest.mark.parametrize("args, says", [
    ([], "-dir"),
    (["-dir", "/nonexistent-skydns-load"], "nonexistent"),
    (["-dir", "/tmp", "-domain", "a..b"], "empty label"),
    (["-dir", "/tmp", "-machines", "127.0.0.1:2379"], "-machines"),
])
def test_bad_usage_exits_2(args, says):
    p = subprocess.run([LOAD_BIN, *args], capture_output=True, text=True, timeout=10)
    assert p.returncode == 2 and says in p.stderr, p.stderr
