"""skydns-api and skydnsctl (issue 15) against a real etcd (v2 keys API and
v3) and a real skydns: the seed's curl calls, the /v1/records resource API,
the token, the loopback rule without a token, bad input (400 and nothing
written), If-Match (412), one etcd txn per write on v3 (revision +1, two
daemons racing: one wins) and the CLI's round trips and exit codes.
"""

import json
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import dns.rcode
import pytest

from conftest import Daemon, free_port, query, rdatas, wait_until

BUILD = os.environ.get("SKYDNS_BUILD", "build")
API_BIN = os.path.join(BUILD, "dns", "api", "skydns-api")
CTL_BIN = os.path.join(BUILD, "dns", "api", "skydnsctl")
TOKEN = "123456789"
D = "skydns.local."


class Api(Daemon):
    def __init__(self, workdir, etcd_url, mode, extra=(), env=None, addr=None):
        self.port = free_port()
        self.addr = addr or f"127.0.0.1:{self.port}"
        args = [API_BIN, "-addr", self.addr, "-machines", etcd_url, "-domain", D]
        if mode == "v3":
            args.append("-etcd3")
        super().__init__(os.path.join(workdir, f"api-{self.port}.log"), args + list(extra), env)
        self.base = f"http://{self.addr}"

    def start(self):
        self.spawn()

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"skydns-api exited {self.proc.returncode}:\n{self.logs()}")
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=1) as r:
                    return r.status == 200
            except (urllib.error.URLError, OSError):
                return False

        wait_until(up, 10, what="skydns-api listening")
        return self


def http(method, url, body=None, token=TOKEN, headers=None):
    """(status, text) of one request; token as a Bearer header (None: none)."""
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def etcd_dump(etcd, mode):
    """Every key under /skydns with its value: what the API wrote."""
    if mode == "v3":
        import base64
        body = json.dumps({"key": base64.b64encode(b"/skydns").decode(),
                           "range_end": base64.b64encode(b"/skydnt").decode()}).encode()
        req = urllib.request.Request(etcd.url + "/v3/kv/range", data=body, method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            kvs = json.load(r).get("kvs", [])
        return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv.get("value", "")).decode()
                for kv in kvs}
    out = {}
    try:
        with urllib.request.urlopen(etcd.url + "/v2/keys/skydns?recursive=true", timeout=5) as r:
            node = json.load(r)["node"]
    except urllib.error.HTTPError as e:
        assert e.code == 404
        return out

    def walk(n):
        if n.get("dir"):
            for c in n.get("nodes", []):
                walk(c)
        else:
            out[n["key"]] = n.get("value")

    walk(node)
    return out


@pytest.fixture
def api(workdir, etcd, mode):
    started = []

    def make(extra=(), env=None, token=TOKEN, **kw):
        e = dict(env or {})
        if token:
            e["SKYDNS_API_TOKEN"] = token
        a = Api(workdir, etcd.url, mode, extra, e, **kw)
        started.append(a)
        return a.start()

    yield make
    for a in started:
        # a clean exit on SIGTERM (under ASan: no leak, no memory error)
        rc = a.stop()
        assert rc == 0, f"skydns-api exited {rc}:\n{a.logs()[-3000:]}"


def resolves(server, name, rdtype, want):
    """Wait until skydns answers `name` with exactly the rdatas `want`."""
    got = []

    def ok():
        r = query(server, name, rdtype)
        got[:] = rdatas(r, rdtype)
        return got == sorted(want)

    try:
        wait_until(ok, 10, what=f"{name} {rdtype}")
    except AssertionError:
        raise AssertionError(f"{name} {rdtype}: {got}, want {sorted(want)}")


def nxdomain(server, name):
    wait_until(lambda: query(server, name, "A").rcode() == dns.rcode.NXDOMAIN, 10,
               what=f"{name} NXDOMAIN")


def ctl(a, *args, token=TOKEN, env=None):
    e = dict(os.environ)
    e.pop("SKYDNS_API_TOKEN", None)
    e["SKYDNS_API_ADDR"] = a.addr
    if token:
        e["SKYDNS_API_TOKEN"] = token
    e.update(env or {})
    p = subprocess.run([CTL_BIN, *args], env=e, capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


# ------------------------------------------------------------ the seed's calls


def test_seed_calls_verbatim(api, skydns, etcd, mode):
    s = skydns()
    a = api()
    # the seed's README, byte for byte but for the port
    st, body = http("POST", a.base + f"/skydns/api/cctv2?token={TOKEN}",
                    '{"type":"A","ips":["192.168.10.1","192.168.10.2","192.168.10.3"]}',
                    token=None, headers={"Content-Type": "application/json;charset=UTF-8"})
    assert (st, body) == (200, "OK")
    resolves(s, "cctv2.skydns.local.", "A", ["192.168.10.1", "192.168.10.2", "192.168.10.3"])
    # the seed's key layout: FNV-1a-32 of the address under the name
    keys = etcd_dump(etcd, mode)
    assert keys["/skydns/local/skydns/cctv2/4af19cb2"] == '{"host":"192.168.10.1","ttl":30}'

    st, body = http("POST", a.base + f"/skydns/api/cctv2.skydns.local?token={TOKEN}",
                    '{"type":"cname","alias":"tv1"}', token=None)
    assert (st, body) == (200, "OK")
    r = query(s, "tv1.skydns.local.", "A")
    wait_until(lambda: rdatas(query(s, "tv1.skydns.local.", "A"), "CNAME")
               == ["cctv2.skydns.local."], 10, what="tv1 CNAME")
    r = query(s, "tv1.skydns.local.", "A")
    assert rdatas(r, "A") == ["192.168.10.1", "192.168.10.2", "192.168.10.3"]

    # the seed's listing
    st, body = http("GET", a.base + f"/skydns/api?token={TOKEN}", token=None)
    assert st == 200
    listing = json.loads(body)
    assert sorted(listing["cctv2.skydns.local"]["ips"]) == ["192.168.10.1", "192.168.10.2",
                                                           "192.168.10.3"]
    assert listing["tv1.skydns.local"] == {"type": "CNAME", "alias-domain": "cctv2.skydns.local"}

    # a second POST on an existing name is refused and changes nothing
    before = etcd_dump(etcd, mode)
    st, body = http("POST", a.base + "/skydns/api/cctv2", '{"type":"A","ips":["10.9.9.9"]}')
    assert st == 409 and "exists" in body
    assert etcd_dump(etcd, mode) == before

    st, body = http("DELETE", a.base + "/skydns/api/cctv2")
    assert (st, body) == (200, "OK")
    nxdomain(s, "cctv2.skydns.local.")


# ------------------------------------------------------------ /v1/records


def test_v1_put_get_delete(api, skydns, etcd, mode):
    s = skydns()
    a = api()
    recs = [{"host": "10.1.0.1"}, {"host": "10.1.0.2"}, {"host": "10.1.0.3", "port": 8080,
                                                       "priority": 10, "weight": 5}]
    st, body = http("PUT", a.base + "/v1/records/web.prod", json.dumps(recs))
    assert st == 200, body
    put = json.loads(body)
    assert put["name"] == "web.prod.skydns.local." and put["revision"] > 0
    resolves(s, "web.prod.skydns.local.", "A", ["10.1.0.1", "10.1.0.2", "10.1.0.3"])
    r = query(s, "web.prod.skydns.local.", "SRV")
    assert any("8080" in x for x in rdatas(r, "SRV")), rdatas(r, "SRV")

    st, body = http("GET", a.base + "/v1/records/web.prod.skydns.local.")
    assert st == 200
    got = json.loads(body)
    hosts = sorted(x["host"] for x in got["records"])
    assert hosts == ["10.1.0.1", "10.1.0.2", "10.1.0.3"]
    assert got["revision"] > 0

    # PUT replaces: now one address
    st, body = http("PUT", a.base + "/v1/records/web.prod", json.dumps([{"host": "10.1.0.9"}]))
    assert st == 200, body
    resolves(s, "web.prod.skydns.local.", "A", ["10.1.0.9"])

    # list with a prefix
    http("PUT", a.base + "/v1/records/other", json.dumps([{"host": "10.2.0.1"}]))
    st, body = http("GET", a.base + "/v1/records?prefix=prod.skydns.local")
    assert st == 200
    names = {x["name"] for x in json.loads(body)["records"]}
    assert names == {"web.prod.skydns.local."}

    st, body = http("DELETE", a.base + "/v1/records/web.prod")
    assert st == 200 and json.loads(body)["deleted"] == 1
    nxdomain(s, "web.prod.skydns.local.")
    assert not [k for k in etcd_dump(etcd, mode) if "/prod" in k]
    st, _ = http("GET", a.base + "/v1/records/web.prod")
    assert st == 404


def test_v1_if_match(api, etcd, mode):
    a = api()
    st, body = http("PUT", a.base + "/v1/records/cas", json.dumps([{"host": "10.3.0.1"}]))
    assert st == 200
    rev = json.loads(http("GET", a.base + "/v1/records/cas")[1])["revision"]
    # writer 1 wins with the revision it read
    st, body = http("PUT", a.base + "/v1/records/cas", json.dumps([{"host": "10.3.0.2"}]),
                    headers={"If-Match": str(rev)})
    assert st == 200, body
    # writer 2 read the same revision: 412, nothing written
    before = etcd_dump(etcd, mode)
    st, body = http("PUT", a.base + "/v1/records/cas", json.dumps([{"host": "10.3.0.3"}]),
                    headers={"If-Match": str(rev)})
    assert st == 412, body
    assert etcd_dump(etcd, mode) == before
    assert [r["host"] for r in json.loads(http("GET", a.base + "/v1/records/cas")[1])["records"]] \
        == ["10.3.0.2"]


# ------------------------------------------------------------ auth


def test_token_refused(api, etcd, mode):
    a = api()
    body = json.dumps([{"host": "10.4.0.1"}])
    seed = '{"type":"A","ips":["10.4.0.2"]}'
    for tok in (None, "wrong", TOKEN + "0", TOKEN[:-1]):
        st, _ = http("PUT", a.base + "/v1/records/sneaky", body, token=tok)
        assert st == 401, tok
        q = "" if tok is None else "?token=" + urllib.parse.quote(tok)
        st, text = http("POST", a.base + "/skydns/api/sneaky2" + q, seed, token=None)
        assert st == 401 and "No authorized" in text, tok
        st, _ = http("GET", a.base + "/v1/records", token=tok)
        assert st == 401
    assert etcd_dump(etcd, mode) == {}
    # the right token, in either form, works
    assert http("PUT", a.base + "/v1/records/ok1", body)[0] == 200
    assert http("POST", a.base + f"/skydns/api/ok2?token={TOKEN}", seed, token=None) == (200, "OK")


def test_token_file(api, workdir, etcd, mode):
    path = os.path.join(workdir, "token")
    with open(path, "w") as f:
        f.write("s3cret\n")
    a = api(extra=["-token-file", path], token=None)
    assert http("GET", a.base + "/v1/records", token="s3cret")[0] == 200
    assert http("GET", a.base + "/v1/records", token=TOKEN)[0] == 401


def test_no_token_loopback_only(workdir, etcd, mode):
    env = {"SKYDNS_API_TOKEN": ""}
    for addr in ("0.0.0.0", "[::]", "192.0.2.1"):
        a = Api(workdir, etcd.url, mode, env=env, addr=f"{addr}:{free_port()}")
        a.spawn()
        try:
            rc = a.proc.wait(timeout=10)
        finally:
            a.stop()
        assert rc != 0, addr
        assert "refusing to listen" in a.logs() and "token" in a.logs()
    # loopback without a token: serves (no auth)
    a = Api(workdir, etcd.url, mode, env=env).start()
    try:
        assert http("GET", a.base + "/v1/records", token=None)[0] == 200
    finally:
        a.stop()


# ------------------------------------------------------------ bad input


BAD_V1 = [
    ("a" * 64, [{"host": "10.0.0.1"}], "name"),                  # label over 63 bytes
    ("bad..name", [{"host": "10.0.0.1"}], "name"),               # empty label
    ("ok", [{"host": "1.2.3.999"}], "records[0].host"),          # address does not parse
    ("ok", [{"host": "10.0.0.1"}, {"host": "fe80::zz"}], "records[1].host"),
    ("ok", [{"host": "10.0.0.1", "port": "x"}], "records[0]"),   # wrong type
    ("ok", [{"host": "10.0.0.1", "port": 70000}], "records[0]"),  # port out of range
    ("ok", [{"host": "10.0.0.1", "colour": "red"}], "records[0].colour"),  # unknown field
    ("ok", [{"port": 80}], "records[0].host"),                   # no host
    ("ok", {"host": "10.0.0.1"}, "records"),                     # not a list
    ("ok", [], "records"),
    ("ok", "not json", "records"),
]


def test_bad_input_400_nothing_written(api, etcd, mode):
    a = api()
    for name, body, field in BAD_V1:
        raw = body if isinstance(body, str) else json.dumps(body)
        st, text = http("PUT", a.base + "/v1/records/" + urllib.parse.quote(name), raw)
        assert st == 400, (name, body, st, text)
        err = json.loads(text)
        assert err["field"] == field, (name, body, err)
        assert err["error"]
    # a body over the limit
    big = json.dumps([{"host": "10.0.0.1", "text": "x" * 70000}])
    st, text = http("PUT", a.base + "/v1/records/big", big)
    assert st == 400 and json.loads(text)["field"] == "body"
    # the seed's API: unknown type, a bad address, no ips
    for body in ('{"type":"MX2","ips":["10.0.0.1"]}', '{"type":"A","ips":["10.0.0.300"]}',
                 '{"type":"A","ips":[]}', '{"ips":["10.0.0.1"]}', "{"):
        st, text = http("POST", a.base + "/skydns/api/seedbad", body)
        assert st == 400 and text.startswith("ERR"), (body, st, text)
    assert etcd_dump(etcd, mode) == {}


# ------------------------------------------------------------ skydnsctl


def test_ctl_round_trip(api, skydns, etcd, mode):
    s = skydns()
    a = api()
    assert ctl(a, "add", "cctv2", "A", "192.168.10.1", "192.168.10.2")[0] == 0
    assert ctl(a, "add", "cctv2", "A", "192.168.10.3")[0] == 0  # add keeps what is there
    resolves(s, "cctv2.skydns.local.", "A", ["192.168.10.1", "192.168.10.2", "192.168.10.3"])
    assert ctl(a, "add", "tv1", "CNAME", "cctv2.skydns.local")[0] == 0
    srv = ctl(a, "add", "_http._tcp.svc", "SRV", "cctv2.skydns.local", "8080", "10", "20")
    if mode == "v2":
        # etcd v2 hides "_" keys from skydns's reads: refused, not silently lost
        assert srv[0] == 5 and "etcd v2 hides" in srv[2], srv
        srv = ctl(a, "add", "http.tcp.svc", "SRV", "cctv2.skydns.local", "8080", "10", "20")
    assert srv[0] == 0, srv
    srvname = ("http.tcp" if mode == "v2" else "_http._tcp") + ".svc.skydns.local."
    assert ctl(a, "add", "note", "TXT", "hello world")[0] == 0
    wait_until(lambda: rdatas(query(s, "tv1.skydns.local.", "A"), "CNAME")
               == ["cctv2.skydns.local."], 10, what="tv1 CNAME")
    # skydns shares weight out within a priority as SkyDNS does: the only record gets 100
    resolves(s, srvname, "SRV", ["10 100 8080 cctv2.skydns.local."])
    rc, out, _ = ctl(a, "-o", "json", "show", srvname)
    assert rc == 0 and [(r["port"], r["priority"], r["weight"]) for r in json.loads(out)["records"]] \
        == [(8080, 10, 20)]
    resolves(s, "note.skydns.local.", "TXT", ['"hello world"'])

    # the seed's listing format, both spellings
    rc, out, err = ctl(a, "-list")
    assert rc == 0, err
    assert ctl(a, "list")[1] == out
    lines = out.splitlines()
    line = [x for x in lines if x.split("val:")[0].split() == ["domain:", "cctv2.skydns.local"]][0]
    assert line.startswith("domain: ") and line.split("val: ")[1].startswith("{ type:A  ips:[")
    assert sorted(line.split("ips:[")[1].split("]")[0].split()) == [
        "192.168.10.1", "192.168.10.2", "192.168.10.3"]
    assert "domain: " + "tv1.skydns.local".rjust(56) + "       val: { type:Cname  alias:cctv2.skydns.local }" in lines
    # aligned: every "val:" in the same column
    assert len({x.index("val:") for x in lines}) == 1

    rc, out, _ = ctl(a, "-show", "cctv2")
    assert rc == 0 and len(out.splitlines()) == 1 and "cctv2.skydns.local" in out
    assert ctl(a, "show", "cctv2")[1] == out
    rc, out, _ = ctl(a, "-o", "json", "show", "cctv2")
    assert rc == 0 and sorted(r["host"] for r in json.loads(out)["records"]) == [
        "192.168.10.1", "192.168.10.2", "192.168.10.3"]

    # set replaces
    assert ctl(a, "set", "cctv2", "A", "192.168.10.9")[0] == 0
    resolves(s, "cctv2.skydns.local.", "A", ["192.168.10.9"])

    assert ctl(a, "delete", "cctv2")[0] == 0
    nxdomain(s, "cctv2.skydns.local.")
    rc, _, err = ctl(a, "show", "cctv2")
    assert rc == 4 and "not found" in err


def test_ctl_errors(api, workdir, etcd, mode):
    a = api()
    before = etcd_dump(etcd, mode)
    rc, _, err = ctl(a, "add", "x", "A", "10.0.0.1", token="wrong")
    assert rc == 3 and "401" in err
    rc, _, err = ctl(a, "list", token=None)
    assert rc == 3
    rc, _, err = ctl(a, "add", "x", "SRV", "1.2.3.999", "80")
    assert rc == 5 and "bad input" in err and "host" in err
    rc, _, err = ctl(a, "add", "x", "A", "not-an-ip")
    assert rc == 1
    assert etcd_dump(etcd, mode) == before
    rc, _, err = ctl(a, "list", env={"SKYDNS_API_ADDR": f"127.0.0.1:{free_port()}"})
    assert rc == 2 and "cannot reach" in err


# ------------------------------------------------------------ kube2sky's zones, HTTPS


def test_kube2sky_zone_read_only(api, kv, etcd, mode):
    kv.put("/skydns/kube2sky/k8s.skydns.local",
           {"zone": "k8s.skydns.local.", "schema": "1.1.0", "synced": 1, "id": "0123456789abcdef"})
    a = api()
    before = etcd_dump(etcd, mode)
    for name in ("web.default.svc.k8s", "k8s.skydns.local."):
        st, text = http("PUT", a.base + "/v1/records/" + name, json.dumps([{"host": "10.5.0.1"}]))
        assert st == 409 and "kube2sky" in json.loads(text)["error"], (name, st, text)
        assert http("DELETE", a.base + "/v1/records/" + name)[0] == 409
    st, text = http("POST", a.base + "/skydns/api/x.k8s", '{"type":"A","ips":["10.5.0.2"]}')
    assert st == 409 and "kube2sky" in text
    st, text = http("POST", a.base + "/skydns/api/target.skydns.local",
                    '{"type":"cname","alias":"alias.k8s"}')
    assert st == 409 and "kube2sky" in text
    assert etcd_dump(etcd, mode) == before
    # a sibling zone's name is still writable ("xk8s" is not under "k8s")
    assert http("PUT", a.base + "/v1/records/a.xk8s", json.dumps([{"host": "10.5.0.3"}]))[0] == 200


def test_https(api, workdir, etcd, mode):
    import ssl
    cert, key = os.path.join(workdir, "api.crt"), os.path.join(workdir, "api.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
    port = free_port()
    a = Api(workdir, etcd.url, mode, ["-https-cert", cert, "-https-key", key],
            {"SKYDNS_API_TOKEN": TOKEN}, addr=f"127.0.0.1:{port}")
    a.spawn()
    ctx = ssl.create_default_context(cafile=cert)
    base = f"https://127.0.0.1:{port}"

    def up():
        assert a.proc.poll() is None, a.logs()
        try:
            with urllib.request.urlopen(base + "/health", timeout=1, context=ctx) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    try:
        wait_until(up, 10, what="skydns-api over HTTPS")
        req = urllib.request.Request(base + "/v1/records/tls", method="PUT",
                                     data=json.dumps([{"host": "10.6.0.1"}]).encode(),
                                     headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(req, timeout=5, context=ctx) as r:
            assert r.status == 200
        # plain HTTP on the HTTPS port gets no API answer
        with pytest.raises((urllib.error.URLError, OSError, ConnectionError)):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/records", timeout=3).read()
        # skydnsctl over HTTPS with the CA
        e = dict(os.environ, SKYDNS_API_TOKEN=TOKEN, SKYDNS_API_CACERT=cert)
        p = subprocess.run([CTL_BIN, "-addr", base, "show", "tls"], env=e, capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 0 and "10.6.0.1" in p.stdout, (p.stdout, p.stderr)
    finally:
        a.stop()


# ------------------------------------------------------------ explain


def test_explain(api, skydns, kv, etcd, mode):
    s = skydns()
    a = api()
    assert ctl(a, "add", "good", "A", "10.7.0.1")[0] == 0
    kv.put("/skydns/local/skydns/good/broken", "{not json")
    kv.put("/skydns/local/skydns/good/badport", '{"host":"10.7.0.2","port":"eighty"}')
    resolves(s, "good.skydns.local.", "A", ["10.7.0.1"])
    rc, out, err = ctl(a, "explain", "good", "A")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("name good.skydns.local. (etcd " + mode)
    used = [x for x in lines if x.lstrip().startswith("used")]
    skipped = [x for x in lines if x.lstrip().startswith("skipped")]
    assert len(used) == 1 and "-> A 10.7.0.1" in used[0]
    assert any("/good/broken" in x and "bad JSON" in x for x in skipped), skipped
    assert any("/good/badport" in x and "port" in x for x in skipped), skipped
    assert "answer (A): A 10.7.0.1" in lines
    # JSON form for scripts
    rc, out, _ = ctl(a, "-o", "json", "explain", "good")
    j = json.loads(out)
    assert sorted(k["used"] for k in j["keys"]) == [False, False, True]
    # a name with nothing: says so
    rc, out, _ = ctl(a, "explain", "nothing")
    assert rc == 0 and "NXDOMAIN" in out and "answer: none" in out
    assert query(s, "nothing.skydns.local.", "A").rcode() == dns.rcode.NXDOMAIN
    # an absolute name outside the domain is refused, relative names join it
    rc, _, err = ctl(a, "explain", "www.example.com.")
    assert rc == 5 and "outside the domain" in err
    if mode == "v2":
        kv.put("/skydns/local/skydns/_hid", '{"host":"10.7.0.9"}')
        rc, out, _ = ctl(a, "explain", "_hid")
        assert rc == 0 and "etcd v2 hides" in out and "skipped" in out


def test_concurrent_writers_one_wins(api, etcd, mode):
    import threading
    a = api()
    assert http("PUT", a.base + "/v1/records/race", json.dumps([{"host": "10.8.0.1"}]))[0] == 200
    for round_ in range(5):
        rev = json.loads(http("GET", a.base + "/v1/records/race")[1])["revision"]
        results = {}
        go = threading.Barrier(2)

        def writer(i):
            go.wait()
            results[i] = http("PUT", a.base + "/v1/records/race",
                              json.dumps([{"host": f"10.8.{round_ + 1}.{i}"}]),
                              headers={"If-Match": str(rev)})

        ts = [threading.Thread(target=writer, args=(i,)) for i in (1, 2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(20)
        codes = sorted(results[i][0] for i in (1, 2))
        assert codes == [200, 412], results
        winner = [i for i in (1, 2) if results[i][0] == 200][0]
        hosts = [r["host"] for r in json.loads(http("GET", a.base + "/v1/records/race")[1])["records"]]
        assert hosts == [f"10.8.{round_ + 1}.{winner}"]


def test_v1_names_below_left_alone(api, skydns, etcd, mode):
    s = skydns()
    a = api()
    assert http("PUT", a.base + "/v1/records/db.prod", json.dumps([{"host": "10.9.0.2"}]))[0] == 200
    assert http("PUT", a.base + "/v1/records/prod", json.dumps([{"host": "10.9.0.1"}]))[0] == 200
    # SkyDNS answers a name with everything below it
    resolves(s, "prod.skydns.local.", "A", ["10.9.0.1", "10.9.0.2"])
    got = json.loads(http("GET", a.base + "/v1/records/prod")[1])
    assert [r["host"] for r in got["records"]] == ["10.9.0.1"]
    # replacing and deleting prod's own records leaves db.prod alone
    assert http("PUT", a.base + "/v1/records/prod", json.dumps([{"host": "10.9.0.3"}]))[0] == 200
    resolves(s, "prod.skydns.local.", "A", ["10.9.0.2", "10.9.0.3"])
    assert http("DELETE", a.base + "/v1/records/prod")[0] == 200
    resolves(s, "prod.skydns.local.", "A", ["10.9.0.2"])
    resolves(s, "db.prod.skydns.local.", "A", ["10.9.0.2"])
    st, text = http("PUT", a.base + "/v1/records/prod", json.dumps([{"host": "db.prod.skydns.local"}]))
    if mode == "v2":
        assert st == 409 and "directory" in text
    else:
        assert st == 200
        wait_until(lambda: rdatas(query(s, "prod.skydns.local.", "CNAME"), "CNAME")
                   == ["db.prod.skydns.local."], 10, what="prod CNAME")
    resolves(s, "db.prod.skydns.local.", "A", ["10.9.0.2"])


# ------------------------------------------------------------ etcd TLS, etcd down


def test_etcd_tls_flags_as_skydns(workdir, mode):
    import ssl
    from conftest import Etcd, SkyDNS
    from test_mirror import make_certs
    c = make_certs(workdir)
    ctx = ssl.create_default_context(cafile=c["ca.crt"])
    ctx.load_cert_chain(c["cli.crt"], c["cli.key"])
    e = Etcd(workdir, ["--cert-file", c["srv.crt"], "--key-file", c["srv.key"],
                       "--trusted-ca-file", c["ca.crt"], "--client-cert-auth"],
             scheme="https", ssl_ctx=ctx).start()
    tls = ["-ca-cert", c["ca.crt"], "-tls-pem", c["cli.crt"], "-tls-key", c["cli.key"]]
    a = sky = None
    try:
        a = Api(workdir, e.url, mode, tls, {"SKYDNS_API_TOKEN": TOKEN}).start()
        sky = SkyDNS(workdir, e.url, mode, tls).start()
        st, body = http("PUT", a.base + "/v1/records/secure", json.dumps([{"host": "10.10.0.1"}]))
        assert st == 200, body
        resolves(sky, "secure.skydns.local.", "A", ["10.10.0.1"])
        # without the client certificate etcd refuses: 502, and the CLI says so (exit 7)
        b = Api(workdir, e.url, mode, ["-ca-cert", c["ca.crt"]], {"SKYDNS_API_TOKEN": TOKEN}).start()
        try:
            st, body = http("GET", b.base + "/v1/records/secure")
            assert st == 502 and "etcd" in json.loads(body)["error"]
        finally:
            b.stop()
    finally:
        for d in (a, sky):
            if d:
                d.stop()
        e.stop()


def test_etcd_down(api, etcd, mode):
    a = api()
    assert ctl(a, "add", "up", "A", "10.11.0.1")[0] == 0
    etcd.stop()
    rc, _, err = ctl(a, "show", "up")
    assert rc == 7 and "502" in err and "etcd" in err, err
    st, text = http("POST", a.base + "/skydns/api/down", '{"type":"A","ips":["10.11.0.2"]}')
    assert st == 502 and text.startswith("ERR, etcd")
    etcd.start()
    assert ctl(a, "show", "up")[0] == 0


def test_explain_down_status(api, skydns, kv, etcd, mode):
    """explain names the status key of a DOWN address and says skydns leaves it
    out -- or serves it because every address of its family is DOWN."""
    s = skydns()
    a = api()
    assert ctl(a, "add", "hc", "A", "10.8.0.1", "10.8.0.2")[0] == 0
    resolves(s, "hc.skydns.local.", "A", ["10.8.0.1", "10.8.0.2"])
    kv.put("/skydns/monitor/status/10.8.0.2", '{"status":"DOWN"}')
    resolves(s, "hc.skydns.local.", "A", ["10.8.0.1"])
    rc, out, err = ctl(a, "explain", "hc", "A")
    assert rc == 0, err
    lines = out.splitlines()
    down = [i for i, x in enumerate(lines) if x.lstrip().startswith("health")]
    assert len(down) == 1, out
    assert "-> A 10.8.0.2" in lines[down[0] - 1], out
    assert "/skydns/monitor/status/10.8.0.2" in lines[down[0]] and "leaves this address out" in lines[down[0]]
    assert "answer (A): A 10.8.0.1" in lines, out
    assert "leaving out 1 DOWN address" in out
    j = json.loads(ctl(a, "-o", "json", "explain", "hc")[1])
    marked = [k for k in j["keys"] if k.get("status") == "DOWN"]
    assert [k["status_key"] for k in marked] == ["/skydns/monitor/status/10.8.0.2"]
    assert marked[0]["answered"] is False
    assert j["answers"] == ["A 10.8.0.1"]
    # a status UP (or a value that is no status) leaves the address in
    kv.put("/skydns/monitor/status/10.8.0.2", '{"status":"UP"}')
    resolves(s, "hc.skydns.local.", "A", ["10.8.0.1", "10.8.0.2"])
    rc, out, _ = ctl(a, "explain", "hc", "A")
    assert rc == 0 and "health" not in out and "answer (A): A 10.8.0.1, A 10.8.0.2" in out, out
    # every address DOWN: skydns serves them all, and explain says why
    kv.put("/skydns/monitor/status/10.8.0.1", '{"status":"DOWN"}')
    resolves(s, "hc.skydns.local.", "A", ["10.8.0.2"])
    kv.put("/skydns/monitor/status/10.8.0.2", '{"status":"down"}')
    resolves(s, "hc.skydns.local.", "A", ["10.8.0.1", "10.8.0.2"])
    rc, out, _ = ctl(a, "explain", "hc", "A")
    health = [x for x in out.splitlines() if x.lstrip().startswith("health")]
    assert len(health) == 2 and all("fail open" in x and "every IPv4 address" in x for x in health), out
    assert "answer (A): A 10.8.0.1, A 10.8.0.2" in out and "fail open" in out.splitlines()[-1], out
    # IPv6 in another spelling matches, as in skydns
    assert ctl(a, "add", "hc6", "AAAA", "2001:db8::1", "2001:db8::2")[0] == 0
    kv.put("/skydns/monitor/status/2001:0db8:0:0:0:0:0:2", '{"status":"DOWN"}')
    resolves(s, "hc6.skydns.local.", "AAAA", ["2001:db8::1"])
    j = json.loads(ctl(a, "-o", "json", "explain", "hc6", "AAAA")[1])
    assert j["answers"] == ["AAAA 2001:db8::1"], j
    assert [k["status_key"] for k in j["keys"] if k.get("status") == "DOWN"] == \
        ["/skydns/monitor/status/2001:0db8:0:0:0:0:0:2"]


# ------------------------------------------------------------ one etcd txn per write (v3)

V2_NO_TXN = "etcd v2 has no transactions: skydns-api writes key by key there (README, API)"


def etcd_revision(etcd, mode):
    """The store's revision now: v3 header.revision of a range, v2 X-Etcd-Index."""
    if mode == "v3":
        import base64
        body = json.dumps({"key": base64.b64encode(b"/skydns").decode(), "count_only": True})
        req = urllib.request.Request(etcd.url + "/v3/kv/range", data=body.encode(), method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            return int(json.load(r)["header"]["revision"])
    with urllib.request.urlopen(etcd.url + "/v2/keys/", timeout=5) as r:
        return int(r.headers["X-Etcd-Index"])


def name_keys(etcd, mode, path):
    """The keys (with values) at and below one name's etcd path."""
    return {k: v for k, v in etcd_dump(etcd, mode).items() if k == path or k.startswith(path + "/")}


def test_v1_write_advances_revision_by_one(api, etcd, mode):
    if mode == "v2":
        pytest.skip(V2_NO_TXN)
    a = api()
    url = a.base + "/v1/records/three"
    three = [{"host": "10.12.0.1"}, {"host": "10.12.0.2"}, {"host": "10.12.0.3"}]
    before = etcd_revision(etcd, mode)
    st, body = http("PUT", url, json.dumps(three))
    assert st == 200, body
    after = etcd_revision(etcd, mode)
    assert after == before + 1
    assert json.loads(body)["revision"] == after
    assert len(name_keys(etcd, mode, "/skydns/local/skydns/three")) == 3
    # replacing two of the three (two deletes, three puts) and deleting: +1 each
    st, body = http("PUT", url, json.dumps([three[0], {"host": "10.12.0.4"}, {"host": "10.12.0.5"}]),
                    headers={"If-Match": str(after)})
    assert st == 200, body
    assert etcd_revision(etcd, mode) == after + 1 == json.loads(body)["revision"]
    got = json.loads(http("GET", url)[1])
    assert sorted(r["host"] for r in got["records"]) == ["10.12.0.1", "10.12.0.4", "10.12.0.5"]
    assert got["revision"] == after + 1
    st, body = http("DELETE", url)
    assert st == 200, body
    assert etcd_revision(etcd, mode) == after + 2 == json.loads(body)["revision"]
    assert name_keys(etcd, mode, "/skydns/local/skydns/three") == {}
    # the seed's POST of three addresses and its DELETE: one revision each
    rev = etcd_revision(etcd, mode)
    st, text = http("POST", a.base + "/skydns/api/cctv3",
                    '{"type":"A","ips":["10.12.1.1","10.12.1.2","10.12.1.3"]}')
    assert (st, text) == (200, "OK")
    assert etcd_revision(etcd, mode) == rev + 1
    assert len(name_keys(etcd, mode, "/skydns/local/skydns/cctv3")) == 3
    assert http("DELETE", a.base + "/skydns/api/cctv3")[0] == 200
    assert etcd_revision(etcd, mode) == rev + 2
    assert name_keys(etcd, mode, "/skydns/local/skydns/cctv3") == {}


def test_stale_if_match_412_revision_unmoved(api, etcd, mode):
    a = api()
    url = a.base + "/v1/records/stale"
    st, body = http("PUT", url, json.dumps([{"host": "10.13.0.1"}]))
    assert st == 200, body
    old = json.loads(body)["revision"]
    assert http("PUT", url, json.dumps([{"host": "10.13.0.2"}]))[0] == 200
    before, dump = etcd_revision(etcd, mode), etcd_dump(etcd, mode)
    for method, body in (("PUT", json.dumps([{"host": "10.13.0.3"}, {"host": "10.13.0.4"}])),
                         ("DELETE", None)):
        st, text = http(method, url, body, headers={"If-Match": str(old)})
        assert st == 412, text
        assert json.loads(text)["field"] == "If-Match"
        assert etcd_revision(etcd, mode) == before
        assert etcd_dump(etcd, mode) == dump


def test_v1_over_txn_limit_413_nothing_written(api, etcd, mode):
    if mode == "v2":
        pytest.skip(V2_NO_TXN + "; there is no size limit to hit")
    a = api()
    many = [{"host": f"10.14.{i // 200}.{i % 200 + 1}"} for i in range(129)]  # etcd's default 128
    before = etcd_revision(etcd, mode)
    st, text = http("PUT", a.base + "/v1/records/many", json.dumps(many))
    assert st == 413, text
    assert "128" in json.loads(text)["error"] and "--max-txn-ops" in json.loads(text)["error"]
    assert etcd_revision(etcd, mode) == before
    # skydnsctl says so and exits 5 (bad input), as documented
    rc, _, err = ctl(a, "add", "many", "A", *[r["host"] for r in many])
    assert rc == 5 and "--max-txn-ops" in err, err
    assert etcd_revision(etcd, mode) == before
    assert http("PUT", a.base + "/v1/records/many", json.dumps(many[:128]))[0] == 200
    assert len(name_keys(etcd, mode, "/skydns/local/skydns/many")) == 128


def race(urls, make_req, deadline):
    """Send make_req(i, url) from one thread per url at once; {i: (status, text)}."""
    import threading
    results = {}
    go = threading.Barrier(len(urls))

    def run(i, url):
        go.wait(10)
        results[i] = make_req(i, url)

    ts = [threading.Thread(target=run, args=(i, u)) for i, u in enumerate(urls)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(max(0.1, deadline - time.monotonic()))
    assert len(results) == len(urls), f"writers did not finish: {results}"
    return results


def test_two_daemons_same_if_match_one_wins(api, etcd, mode):
    """Two skydns-api processes on one etcd, both PUT a name with the If-Match
    they read: one 200, one 412, and etcd holds exactly the winner's records --
    on a name with records and on a new one (If-Match: 0)."""
    if mode == "v2":
        pytest.skip(V2_NO_TXN + ": two daemons can interleave")
    a, b = api(), api()
    deadline = time.monotonic() + 60
    path = "/skydns/local/skydns/duel"
    assert http("PUT", a.base + "/v1/records/duel", json.dumps([{"host": "10.15.0.1"}]))[0] == 200
    for rnd in range(20):
        assert time.monotonic() < deadline, f"round {rnd}: out of time"
        fresh = rnd % 2 == 1  # odd rounds: a name nobody has written yet
        name = f"new{rnd}" if fresh else "duel"
        rev = 0 if fresh else json.loads(http("GET", a.base + "/v1/records/duel")[1])["revision"]
        sets = {i: [{"host": f"10.15.{rnd + 1}.{10 * i + k}"} for k in (1, 2, 3)] for i in (0, 1)}
        res = race([a.base, b.base],
                   lambda i, base: http("PUT", f"{base}/v1/records/{name}", json.dumps(sets[i]),
                                        headers={"If-Match": str(rev)}), deadline)
        codes = sorted(s for s, _ in res.values())
        assert codes == [200, 412], (rnd, res)
        win = [i for i in res if res[i][0] == 200][0]
        stored = name_keys(etcd, mode, f"/skydns/local/skydns/{name}" if fresh else path)
        assert sorted(json.loads(v)["host"] for v in stored.values()) \
            == sorted(r["host"] for r in sets[win]), (rnd, res, stored)
        assert json.loads(res[win][1])["revision"] == etcd_revision(etcd, mode)


def test_two_daemons_seed_post_one_wins(api, etcd, mode):
    """The seed's POST creates a name: from two daemons at once, one OK and one
    409 "exists", and only the winner's addresses are in etcd."""
    if mode == "v2":
        pytest.skip(V2_NO_TXN + ": two daemons can interleave")
    a, b = api(), api()
    deadline = time.monotonic() + 60
    for rnd in range(10):
        ips = {i: [f"10.16.{rnd}.{10 * i + k}" for k in (1, 2)] for i in (0, 1)}
        res = race([a.base, b.base],
                   lambda i, base: http("POST", f"{base}/skydns/api/seed{rnd}",
                                        json.dumps({"type": "A", "ips": ips[i]})), deadline)
        assert sorted(s for s, _ in res.values()) == [200, 409], (rnd, res)
        win = [i for i in res if res[i][0] == 200][0]
        lost = res[1 - win][1]
        assert lost.startswith("ERR") and "exists" in lost, lost
        stored = name_keys(etcd, mode, f"/skydns/local/skydns/seed{rnd}")
        assert sorted(json.loads(v)["host"] for v in stored.values()) == sorted(ips[win])


# ------------------------------------------------------------ the seed's other calls (SRV, NS, MX, TXT, PUT, typed DELETE)


def seed(a, method, name, body=None):
    return http(method, a.base + f"/skydns/api/{name}", None if body is None else json.dumps(body))


def srv_of(server, name):
    """Sorted (port, target) of an SRV answer."""
    r = query(server, name, "SRV")
    return sorted((rd.port, rd.target.to_text()) for rs in r.answer
                  if rs.rdtype == dns.rdatatype.SRV for rd in rs)


def test_seed_post_srv(api, skydns, etcd, mode):
    s = skydns()
    a = api()
    assert seed(a, "POST", "svc1", {"type": "SRV", "ips": ["10.20.0.1", "10.20.0.2"],
                                    "ports": [8080]}) == (400, "ERR, ips and ports not match \n")
    assert seed(a, "POST", "svc1", {"type": "SRV", "ips": ["10.20.0.1"], "ports": [0]})[0] == 400
    assert name_keys(etcd, mode, "/skydns/local/skydns/svc1") == {}
    assert seed(a, "POST", "svc1", {"type": "SRV", "ips": ["10.20.0.1", "10.20.0.2"],
                                    "ports": [8080, "9090"]}) == (200, "OK")
    got = []

    def ok():
        got[:] = srv_of(s, "svc1.skydns.local.")
        return len(got) == 2

    wait_until(ok, 10, what="svc1 SRV")
    assert [p for p, _ in got] == [8080, 9090]
    # each target is a name skydns answers with the address (additional section too)
    r = query(s, "svc1.skydns.local.", "SRV")
    glue = rdatas(r, "A", section="additional")
    assert glue == ["10.20.0.1", "10.20.0.2"]
    for port, target in got:
        want = "10.20.0.1" if port == 8080 else "10.20.0.2"
        assert rdatas(query(s, target, "A"), "A") == [want]
    listing = json.loads(seed(a, "GET", "svc1")[1])
    assert listing["svc1.skydns.local"]["type"] == "SRV"
    assert sorted(listing["svc1.skydns.local"]["ports"]) == [8080, 9090]


def test_seed_post_ns_mx_txt(api, skydns, etcd, mode):
    s = skydns()
    a = api()
    assert seed(a, "POST", "ns1", {"type": "NS", "nsHost": "10.21.0.53"}) == (200, "OK")
    assert seed(a, "POST", "ns1", {"type": "NS", "nsHost": "10.21.0.54"})[0] == 409
    assert seed(a, "POST", "a.b", {"type": "NS", "nsHost": "10.21.0.54"}) == \
        (400, "ERR,  domain name cant not contain dot \n")
    assert seed(a, "POST", "ns2", {"type": "NS", "nsHost": "ns.example"})[0] == 400
    resolves(s, "skydns.local.", "NS", ["ns1.ns.dns.skydns.local."])
    r = query(s, "skydns.local.", "NS")
    assert rdatas(r, "A", section="additional") == ["10.21.0.53"]

    assert seed(a, "POST", "shop", {"type": "MX", "mailHost": "mx1.example.org",
                                    "mailPriority": 20}) == (200, "OK")
    assert seed(a, "POST", "shop", {"type": "MX", "mailHost": "mx2.example.org"}) == (200, "OK")
    assert seed(a, "POST", "shop", {"type": "MX", "mailHost": "mx2.example.org"})[0] == 409
    resolves(s, "shop.skydns.local.", "MX", ["10 mx2.example.org.", "20 mx1.example.org."])

    assert seed(a, "POST", "info", {"type": "TXT", "text": "v=spf1 -all"}) == (200, "OK")
    assert seed(a, "POST", "info", {"type": "TXT"}) == (400, "ERR, no text \n")
    resolves(s, "info.skydns.local.", "TXT", ['"v=spf1 -all"'])

    # the seed's listing, whole and by type (its GET body)
    listing = json.loads(http("GET", a.base + "/skydns/api")[1])
    assert listing["ns1.ns.dns.skydns.local"] == {"type": "NS", "nsHost": "10.21.0.53"}
    assert listing["info.skydns.local"] == {"type": "TXT", "text": "v=spf1 -all"}
    assert listing["shop.skydns.local"]["type"] == "MX"
    assert listing["shop.skydns.local"]["mailHost"] in ("mx1.example.org", "mx2.example.org")
    for t, names in (("NS", ["ns1.ns.dns.skydns.local"]), ("MX", ["shop.skydns.local"]),
                     ("TXT", ["info.skydns.local"])):
        st, body = http("GET", a.base + "/skydns/api", json.dumps({"type": t}))
        assert st == 200 and sorted(json.loads(body)) == names, (t, body)
    # typed DELETEs take only their records
    assert seed(a, "DELETE", "shop", {"type": "TXT"}) == (404, "ERR, no find  domain name \n")
    assert seed(a, "DELETE", "shop", {"type": "MX"}) == (200, "OK")
    wait_until(lambda: rdatas(query(s, "shop.skydns.local.", "MX"), "MX") == [], 10,
               what="shop MX gone")
    assert seed(a, "DELETE", "info", {"type": "TXT"}) == (200, "OK")
    assert seed(a, "DELETE", "ns1", {"type": "NS"}) == (200, "OK")
    wait_until(lambda: rdatas(query(s, "skydns.local.", "NS"), "NS") == [], 10, what="NS gone")
    assert [k for k in etcd_dump(etcd, mode) if k.startswith("/skydns/local/skydns/")] == []


def test_seed_put_a(api, skydns, etcd, mode):
    s = skydns()
    a = api()
    assert seed(a, "POST", "web", {"type": "A", "ips": ["10.22.0.1", "10.22.0.2"]}) == (200, "OK")
    resolves(s, "web.skydns.local.", "A", ["10.22.0.1", "10.22.0.2"])
    rev = etcd_revision(etcd, mode)
    before = etcd_dump(etcd, mode)
    errors = [
        ({"type": "A"}, 400, "ERR, no body update \n"),
        ({"update": {"10.22.0.1": "10.22.0.9"}}, 400, "ERR,type not support \n"),
        ({"type": "A", "update": {"10.22.0.1": "10.22.0.9", "10.22.0.2": "10.22.0.8"}}, 400,
         "ERR, put just support  one update one time\n"),
        ({"type": "A", "update": {"10.22.0.1": "10.22.0.2"}}, 409, "ERR, ip 10.22.0.2 exists \n"),
        ({"type": "A", "update": {"10.22.0.7": "10.22.0.9"}}, 404, "ERR, no find ip 10.22.0.7 \n"),
        ({"type": "A", "update": {"10.22.0.1": "nope"}}, 400, "ERR, it is not  IP addr nope\n"),
    ]
    for body, st, text in errors:
        assert seed(a, "PUT", "web", body) == (st, text), body
    assert seed(a, "PUT", "nosuch", {"type": "A", "update": {"10.22.0.1": "10.22.0.9"}}) == \
        (404, "ERR, no find  domain name \n")
    assert etcd_dump(etcd, mode) == before
    if mode == "v3":
        assert etcd_revision(etcd, mode) == rev
    assert seed(a, "PUT", "web", {"type": "A", "update": {"10.22.0.1": "10.22.0.9"}}) == (200, "OK")
    if mode == "v3":
        assert etcd_revision(etcd, mode) == rev + 1
    resolves(s, "web.skydns.local.", "A", ["10.22.0.2", "10.22.0.9"])
    keys = name_keys(etcd, mode, "/skydns/local/skydns/web")
    assert len(keys) == 2 and '{"host":"10.22.0.9","ttl":30}' in keys.values()


def test_seed_put_cname(api, skydns, etcd, mode):
    s = skydns()
    a = api()
    assert seed(a, "POST", "cctv5", {"type": "A", "ips": ["10.23.0.1"]}) == (200, "OK")
    assert seed(a, "POST", "other", {"type": "A", "ips": ["10.23.0.2"]}) == (200, "OK")
    assert seed(a, "POST", "cctv5.skydns.local", {"type": "cname", "alias": "tv5"}) == (200, "OK")
    wait_until(lambda: rdatas(query(s, "tv5.skydns.local.", "A"), "CNAME")
               == ["cctv5.skydns.local."], 10, what="tv5 CNAME")
    rev = etcd_revision(etcd, mode)
    before = etcd_dump(etcd, mode)
    assert seed(a, "PUT", "cctv5.skydns.local", {"type": "CNAME", "update": {"tv9": "tv6"}}) == \
        (404, "ERR, no find alias tv9 \n")
    assert seed(a, "PUT", "cctv5.skydns.local", {"type": "CNAME", "update": {"tv5": "other"}}) == \
        (409, "ERR, set domain name error  alias exists \n")
    assert seed(a, "PUT", "other.skydns.local", {"type": "CNAME", "update": {"tv5": "tv6"}})[0] == 409
    assert etcd_dump(etcd, mode) == before
    if mode == "v3":
        assert etcd_revision(etcd, mode) == rev
    assert seed(a, "PUT", "cctv5.skydns.local", {"type": "CNAME", "update": {"tv5": "tv6"}}) == \
        (200, "OK")
    if mode == "v3":
        assert etcd_revision(etcd, mode) == rev + 1
    wait_until(lambda: rdatas(query(s, "tv6.skydns.local.", "A"), "CNAME")
               == ["cctv5.skydns.local."], 10, what="tv6 CNAME")
    nxdomain(s, "tv5.skydns.local.")
    # a typed DELETE of the alias
    assert seed(a, "DELETE", "cctv5", {"type": "CNAME"}) == (404, "ERR, no find  alias \n")
    assert seed(a, "DELETE", "tv6", {"type": "CNAME"}) == (200, "OK")
    nxdomain(s, "tv6.skydns.local.")
    resolves(s, "cctv5.skydns.local.", "A", ["10.23.0.1"])


def test_seed_delete_some_ips(api, skydns, etcd, mode):
    s = skydns()
    a = api()
    ips = ["10.24.0.1", "10.24.0.2", "10.24.0.3"]
    assert seed(a, "POST", "pool", {"type": "A", "ips": ips}) == (200, "OK")
    resolves(s, "pool.skydns.local.", "A", ips)
    rev = etcd_revision(etcd, mode)
    assert seed(a, "DELETE", "pool", {"type": "A", "ips": ["10.24.0.1", "10.24.0.9"]}) == \
        (404, "ERR, no find ip 10.24.0.9 \n")
    if mode == "v3":
        assert etcd_revision(etcd, mode) == rev
    assert seed(a, "DELETE", "pool", {"type": "A", "ips": ["10.24.0.1", "10.24.0.3"]}) == (200, "OK")
    if mode == "v3":
        assert etcd_revision(etcd, mode) == rev + 1
    resolves(s, "pool.skydns.local.", "A", ["10.24.0.2"])
    assert seed(a, "DELETE", "pool", {"type": "A", "ips": ["10.24.0.2"]}) == (200, "OK")
    nxdomain(s, "pool.skydns.local.")
    assert name_keys(etcd, mode, "/skydns/local/skydns/pool") == {}
    # SRV by address; no ips: everything
    assert seed(a, "POST", "srvp", {"type": "SRV", "ips": ["10.24.1.1", "10.24.1.2"],
                                    "ports": [80, 81]}) == (200, "OK")
    assert seed(a, "DELETE", "srvp", {"type": "SRV", "ips": ["10.24.1.1"]}) == (200, "OK")
    wait_until(lambda: [p for p, _ in srv_of(s, "srvp.skydns.local.")] == [81], 10,
               what="srvp SRV 81 only")
    assert seed(a, "DELETE", "srvp", {"type": "SRV"}) == (200, "OK")
    nxdomain(s, "srvp.skydns.local.")


def test_ctl_seed_methods(api, skydns, etcd, mode):
    s = skydns()
    a = api()
    rc, out, err = ctl(a, "-method", "create", "-domain", "cctv7", "-ips", "10.25.0.1;10.25.0.2")
    assert (rc, out) == (0, "OK\n"), err
    resolves(s, "cctv7.skydns.local.", "A", ["10.25.0.1", "10.25.0.2"])
    rc, out, err = ctl(a, "-method", "create", "-domain", "cctv7", "-ips", "10.25.0.3")
    assert rc == 6 and "domain exists" in err
    rc, out, err = ctl(a, "-method", "create", "-domain", "cctv7.skydns.local", "-alias", "tv7")
    assert (rc, out) == (0, "OK\n"), err
    wait_until(lambda: rdatas(query(s, "tv7.skydns.local.", "A"), "CNAME")
               == ["cctv7.skydns.local."], 10, what="tv7 CNAME")
    rc, out, err = ctl(a, "-method", "update", "-domain", "cctv7",
                       "-updates", "ips:10.25.0.1->10.25.0.8;10.25.0.2->10.25.0.9")
    assert (rc, out) == (0, "OK\nOK\n"), err
    resolves(s, "cctv7.skydns.local.", "A", ["10.25.0.8", "10.25.0.9"])
    rc, out, err = ctl(a, "-method", "update", "-domain", "cctv7", "-updates", "ips:10.25.0.1->10.25.0.7")
    assert rc == 4 and "no find ip 10.25.0.1" in err
    rc, out, err = ctl(a, "-method", "update", "-domain", "cctv7.skydns.local",
                       "-updates", "alias:tv7->tv8")
    assert (rc, out) == (0, "OK\n"), err
    wait_until(lambda: rdatas(query(s, "tv8.skydns.local.", "A"), "CNAME")
               == ["cctv7.skydns.local."], 10, what="tv8 CNAME")
    assert ctl(a, "-method", "update", "-domain", "cctv7", "-updates", "ips:nonsense")[0] == 1
    rc, out, err = ctl(a, "-method", "delete", "-domain", "cctv7", "-ips", "10.25.0.8")
    assert (rc, out) == (0, "OK\n"), err
    resolves(s, "cctv7.skydns.local.", "A", ["10.25.0.9"])
    rc, out, err = ctl(a, "-method", "delete", "-domain", "cctv7")
    assert (rc, out) == (0, "OK\n"), err
    nxdomain(s, "cctv7.skydns.local.")


def test_seed_edit_v1_records_and_v6_spelling(api, skydns, etcd, mode):
    s = skydns()
    a = api()
    # a name written through /v1/records: the seed's PUT and DELETE find its addresses
    st, body = http("PUT", a.base + "/v1/records/v1name", json.dumps([{"host": "10.26.0.1"}]))
    assert st == 200, body
    assert seed(a, "PUT", "v1name", {"type": "A", "update": {"10.26.0.1": "10.26.0.2"}}) == (200, "OK")
    resolves(s, "v1name.skydns.local.", "A", ["10.26.0.2"])
    # IPv6: any spelling of the address names the record
    assert seed(a, "POST", "six", {"type": "AAAA", "ips": ["fd00::1", "fd00::2"]}) == (200, "OK")
    resolves(s, "six.skydns.local.", "AAAA", ["fd00::1", "fd00::2"])
    assert seed(a, "PUT", "six", {"type": "AAAA", "update": {"fd00:0:0::1": "fd00::2"}}) == \
        (409, "ERR, ip fd00::2 exists \n")
    assert seed(a, "DELETE", "six", {"type": "A", "ips": ["FD00:0::1"]}) == (200, "OK")
    resolves(s, "six.skydns.local.", "AAAA", ["fd00::2"])
    # an address that is an MX host is not one of the name's addresses
    assert seed(a, "POST", "mxip", {"type": "MX", "mailHost": "10.26.1.1"}) == (200, "OK")
    assert seed(a, "DELETE", "mxip", {"type": "A", "ips": ["10.26.1.1"]}) == \
        (404, "ERR, no find ip 10.26.1.1 \n")
    assert seed(a, "DELETE", "mxip", {"type": "A", "ips": ["cctv2.skydns.local"]})[0] == 404


def test_two_daemons_seed_put_one_wins(api, etcd, mode):
    """The seed's PUT A from two daemons at once, each moving the same old
    address to its own new one: one OK, the other refused (the old address
    gone: 404, or the txn's guard: 409), and etcd holds the winner's address
    and nothing of the loser's."""
    if mode == "v2":
        pytest.skip(V2_NO_TXN + ": two daemons can interleave")
    a, b = api(), api()
    deadline = time.monotonic() + 60
    for rnd in range(10):
        name = f"mv{rnd}"
        assert seed(a, "POST", name, {"type": "A", "ips": ["10.27.0.1", "10.27.0.2"]}) == (200, "OK")
        new = {i: f"10.27.{rnd + 1}.{i + 1}" for i in (0, 1)}
        res = race([a.base, b.base],
                   lambda i, base: http("PUT", f"{base}/skydns/api/{name}",
                                        json.dumps({"type": "A", "update": {"10.27.0.1": new[i]}})),
                   deadline)
        codes = sorted(s for s, _ in res.values())
        assert codes in ([200, 404], [200, 409]), (rnd, res)
        win = [i for i in res if res[i][0] == 200][0]
        stored = name_keys(etcd, mode, f"/skydns/local/skydns/{name}")
        assert sorted(json.loads(v)["host"] for v in stored.values()) \
            == sorted(["10.27.0.2", new[win]]), (rnd, res, stored)
