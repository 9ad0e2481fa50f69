"""kube2sky end to end: a fake Kubernetes API server (tests/fakeapi, the real
LIST/WATCH protocol, TLS, bearer tokens) -> kube2sky -> a real etcd -> skydns
answering dnspython queries.

Every process is started on 127.0.0.1 high ports and stopped by PID; every
wait is bounded (wait_until).
"""

import base64
import json
import os
import shutil
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import dns.rcode
import pytest

import conftest
from conftest import _http, b64, free_port, query, rdatas, stop_pid, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fakeapi"))
import fakeapi  # noqa: E402

KUBE2SKY_BIN = os.environ.get("KUBE2SKY_BIN") or os.path.join(
    os.environ.get("SKYDNS_BUILD", "build"), "kube2sky", "kube2sky")
ZONE = "cluster.local."
NXDOMAIN = dns.rcode.NXDOMAIN

ALL_FIXTURES = ["service-clusterip.json", "service-dualstack.json", "service-headless.json",
                "service-externalname.json", "endpointslice-headless.json"]


@pytest.fixture
def mode():
    """Most tests run against the v3 API; the main one runs on both."""
    return "v3"


# ---------------------------------------------------------------- helpers


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2", "-subj", f"/CN={name}",
            cwd=d)


def make_cert(d, ca, name, san):
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
    with open(os.path.join(d, f"{name}.ext"), "w") as f:
        f.write(f"subjectAltName={san}\n" if san else "extendedKeyUsage=clientAuth\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext", cwd=d)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A test CA, a server certificate for 127.0.0.1, a client certificate,
    and an unrelated CA (for the wrong-CA case)."""
    d = str(tmp_path_factory.mktemp("pki"))
    make_ca(d, "ca")
    make_ca(d, "other-ca")
    make_cert(d, "ca", "apiserver", "IP:127.0.0.1,DNS:kubernetes")
    make_cert(d, "ca", "admin", None)
    return d


def write_kubeconfig(path, server, ca=None, token=None, ca_data=None, cert_data=None,
                     key_data=None, extra_user="", tls_server_name=None):
    lines = ["apiVersion: v1", "kind: Config", "current-context: test",
             "clusters:", "- name: other", "  cluster: {server: 'https://192.0.2.1:6443'}",
             "- name: fake", "  cluster:", f"    server: {server}"]
    if ca:
        lines.append(f"    certificate-authority: {ca}")
    if ca_data:
        lines.append(f"    certificate-authority-data: {ca_data}")
    if tls_server_name:
        lines.append(f"    tls-server-name: {tls_server_name}")
    lines += ["contexts:", "- name: test", "  context: {cluster: fake, user: u, namespace: kube-system}",
              "users:", "- name: u", "  user:"]
    if token:
        lines.append(f"    token: {token}")
    if cert_data:
        lines.append(f"    client-certificate-data: {cert_data}")
        lines.append(f"    client-key-data: {key_data}")
    if extra_user:
        lines.append(extra_user)
    if not (token or cert_data or extra_user):
        lines[-1] = "  user: {}"
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def b64file(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


class Kube2Sky(conftest.Daemon):
    def __init__(self, workdir, args, env=None):
        self.health_port = free_port()
        super().__init__(os.path.join(workdir, f"kube2sky-{self.health_port}.log"),
                         [KUBE2SKY_BIN, "--health-addr", f"127.0.0.1:{self.health_port}",
                          "--backoff-max", "1500", *args], env)
        self.exit_codes = []

    def start(self):
        return self.spawn()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def health(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}{path}", timeout=1) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except (urllib.error.URLError, OSError) as e:
            return None, str(e)

    def wait_ready(self, timeout=20):
        def ready():
            if not self.alive():
                raise AssertionError(f"kube2sky exited with {self.proc.returncode}:\n{self.logs()}")
            return self.health("/readyz")[0] == 200
        wait_until(ready, timeout, what="kube2sky /readyz")

    def stop(self):
        if self.proc is None:
            return self.exit_codes[-1] if self.exit_codes else None
        rc = super().stop()
        self.exit_codes.append(rc)
        return rc


@pytest.fixture
def api():
    servers = []

    def make(fixtures=ALL_FIXTURES, **kw):
        a = fakeapi.FakeAPI(**kw)
        a.state.bookmark_interval = 0.5
        for name in fixtures:
            a.state.apply(fakeapi.load_fixture(name))
        servers.append(a)
        return a.start()

    yield make
    for a in servers:
        a.stop()


@pytest.fixture
def kube2sky(workdir, etcd, mode):
    started = []

    def make(extra_args=(), env=None, start=True, etcd_url=None):
        args = ["--domain", "cluster.local", "--etcd-server", etcd_url or etcd.url,
                "--watch-timeout", "30", *extra_args]
        if mode == "v3":
            args.append("--etcd3")
        k = Kube2Sky(workdir, args, env)
        started.append(k)
        return k.start() if start else k

    yield make
    for k in started:
        k.stop()
    # SIGTERM is a clean shutdown (exit 0; under ASan also no leak or error)
    for k in started:
        assert all(rc == 0 for rc in k.exit_codes), (k.exit_codes, k.logs()[-3000:])


def etcd_keys(etcd, prefix="/skydns/"):
    """Every key/value under prefix, read through the v3 gateway (v2 keys are
    v3 keys too in etcd 3.4, under the same names)."""
    st, body = _http("POST", etcd.url + "/v3/kv/range",
                     {"key": b64(prefix), "range_end": b64(prefix[:-1] + chr(ord(prefix[-1]) + 1))})
    assert st == 200, body
    out = {}
    for kv in body.get("kvs", []):
        key = base64.b64decode(kv["key"]).decode()
        if key.startswith("/skydns/kube2sky/") and key.endswith("/leader"):
            continue  # the v3 writer election's key (test_kube2sky_elect), not a record
        out[key] = (base64.b64decode(kv.get("value", "")).decode(), int(kv["mod_revision"]))
    return out


def etcd_keys_v2(etcd, prefix="/skydns"):
    st, body = _http("GET", etcd.url + "/v2/keys" + prefix + "?recursive=true")
    out = {}

    def walk(n):
        if n.get("dir"):
            for c in n.get("nodes", []):
                walk(c)
        else:
            out[n["key"]] = n.get("value")
    if st == 200:
        walk(body["node"])
    return out



class EtcdPrefixWatch:
    """Record every etcd v3 event under a prefix (the JSON gateway's streaming
    /v3/watch), so a test can replay the key set after each single write."""

    def __init__(self, etcd, prefix):
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        st, body = _http("POST", etcd.url + "/v3/kv/range", {"key": b64(prefix), "range_end": b64(end)})
        assert st == 200, body
        self.initial = {base64.b64decode(kv["key"]).decode() for kv in body.get("kvs", [])}
        rev = int(body["header"]["revision"])
        req = json.dumps({"create_request": {"key": b64(prefix), "range_end": b64(end),
                                             "start_revision": str(rev + 1)}}).encode()
        self.resp = urllib.request.urlopen(urllib.request.Request(
            etcd.url + "/v3/watch", data=req, method="POST"), timeout=1)
        self.events, self.stop = [], threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        deadline = time.monotonic() + 120
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                line = self.resp.readline()
            except OSError:  # read timeout: check stop and go on
                continue
            if not line:
                return
            for ev in json.loads(line).get("result", {}).get("events", []):
                self.events.append((ev.get("type", "PUT"), base64.b64decode(ev["kv"]["key"]).decode()))

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.resp.close()

    def empty_moments(self, is_address_key):
        """How many times the set of address keys became empty after a write."""
        live = {k for k in self.initial if is_address_key(k)}
        empties = 0
        for typ, key in self.events:
            if not is_address_key(key):
                continue
            if typ == "DELETE":
                live.discard(key)
                empties += not live
            else:
                live.add(key)
        return empties

@pytest.fixture
def skydns(skydns):
    """conftest's skydns with -no-rec: the tests stay on loopback, and a
    reverse name kube2sky did not write (forwarded by skydns) is REFUSED
    at once instead of asking the machine's resolvers."""
    def make(extra_args=(), **kw):
        return skydns(["-no-rec", *extra_args], **kw)
    return make


def absent_rcode(name):
    """What skydns -no-rec answers for a name it has no data for: NXDOMAIN
    inside the cluster domain; REFUSED for reverse names (a reverse miss is
    forwarded, and forwarding is off)."""
    return dns.rcode.REFUSED if name.rstrip(".").endswith(".arpa") else NXDOMAIN


def answers(server, name, rdtype):
    r = query(server, name, rdtype)
    return r.rcode(), rdatas(r, rdtype)


def wait_answer(server, name, rdtype, want, timeout=15):
    """Wait until the sorted rdata texts of name/rdtype equal want (a list,
    or NXDOMAIN)."""
    def check():
        rc, got = answers(server, name, rdtype)
        if want == NXDOMAIN:
            return rc == absent_rcode(name)
        return rc == 0 and got == sorted(want)
    try:
        wait_until(check, timeout, what=f"{name} {rdtype} == {want}")
    except AssertionError:
        raise AssertionError(f"{name} {rdtype}: got {answers(server, name, rdtype)}, want {want}")


def svc_obj(name, ns="default", ip="10.96.1.1", ports=(("http", 80),), **spec):
    o = fakeapi.load_fixture("service-clusterip.json")
    o["metadata"].update({"name": name, "namespace": ns, "uid": f"uid-{ns}-{name}"})
    o["spec"].update({"clusterIP": ip, "clusterIPs": [ip],
                      "ports": [{"name": n, "protocol": "TCP", "port": p, "targetPort": p}
                                for n, p in ports]})
    o["spec"].update(spec)
    return o


def slice_obj(svc, ns, endpoints, name=None, port=("sql", 5433), family="IPv4"):
    """endpoints: list of (ip, hostname or None, ready)."""
    o = fakeapi.load_fixture("endpointslice-headless.json")
    o["metadata"].update({"name": name or f"{svc}-abcde", "namespace": ns})
    o["metadata"]["labels"]["kubernetes.io/service-name"] = svc
    o["addressType"] = family
    o["endpoints"] = []
    for ip, host, ready in endpoints:
        e = {"addresses": [ip], "conditions": {"ready": ready, "serving": ready, "terminating": False},
             "nodeName": "node-1"}
        if host:
            e["hostname"] = host
        o["endpoints"].append(e)
    o["ports"] = [{"name": port[0], "protocol": "TCP", "port": port[1]}]
    return o


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("mode", ["v2", "v3"])
def test_spec_records_served(workdir, etcd, mode, api, kube2sky, skydns, pki):
    """Every record type of the DNS spec 1.1.0 checklist, through TLS + a
    bearer token from a kubeconfig with a relative CA path."""
    a = api(token="s3cret", certfile=os.path.join(pki, "apiserver.crt"),
            keyfile=os.path.join(pki, "apiserver.key"))
    a.state.apply(slice_obj("empty", "db", [("10.244.9.9", "e-0", False)]))
    empty = fakeapi.load_fixture("service-headless.json")
    empty["metadata"]["name"] = "empty"
    a.state.apply(empty)
    os.symlink(os.path.join(pki, "ca.crt"), os.path.join(workdir, "ca.crt"))
    kc = write_kubeconfig(os.path.join(workdir, "kubeconfig"), a.url, ca="ca.crt", token="s3cret")
    k = kube2sky(["--kubecfg-file", kc])
    k.wait_ready()
    s = skydns(domain=ZONE)
    fq = "web.default.svc.cluster.local."
    # schema version
    wait_answer(s, "dns-version.cluster.local.", "TXT", ['"1.1.0"'])
    # ClusterIP A, no AAAA (NODATA, not NXDOMAIN), SRV per named port with the service port
    wait_answer(s, fq, "A", ["10.96.0.50"])
    assert answers(s, fq, "AAAA") == (0, [])
    if mode == "v3":
        wait_answer(s, "_http._tcp." + fq, "SRV", [f"10 100 80 {fq}"])
        wait_answer(s, "_https._tcp." + fq, "SRV", [f"10 100 8443 {fq}"])
        wait_answer(s, "_dns._udp." + fq, "SRV", [f"10 100 53 {fq}"])
        assert answers(s, "_dns._tcp." + fq, "SRV")[0] == NXDOMAIN
    else:
        # etcd v2 hides keys below "_" labels from recursive reads and watches,
        # so a mirroring server cannot see SRV records there (README, "etcd v2
        # or v3"); check that kube2sky wrote them where SkyDNS looks them up,
        # and that skydns answers NXDOMAIN for them, not sometimes the record.
        st, body = _http("GET", etcd.url + "/v2/keys/skydns/local/cluster/svc/default/web/_tcp/_http")
        assert st == 200 and len(body["node"]["nodes"]) == 1, body
        assert json.loads(body["node"]["nodes"][0]["value"])["port"] == 80
        assert answers(s, "_http._tcp." + fq, "SRV") == (NXDOMAIN, [])
    wait_answer(s, "50.0.96.10.in-addr.arpa.", "PTR", [fq])
    # dual stack: A and AAAA, PTR in ip6.arpa
    api_fq = "api.prod.svc.cluster.local."
    wait_answer(s, api_fq, "A", ["10.96.0.60"])
    wait_answer(s, api_fq, "AAAA", ["fd00:10:96::60"])
    wait_answer(s, "0.6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa.", "PTR",
                [api_fq])
    # headless: ready endpoints only, per-hostname names, stable labels, N x M SRV, PTR
    wait_answer(s, "pg.db.svc.cluster.local.", "A", ["10.244.1.5", "10.244.2.6"])
    wait_answer(s, "pg-0.pg.db.svc.cluster.local.", "A", ["10.244.1.5"])
    wait_answer(s, "10-244-2-6.pg.db.svc.cluster.local.", "A", ["10.244.2.6"])
    assert answers(s, "pg-2.pg.db.svc.cluster.local.", "A")[0] == NXDOMAIN  # not ready
    if mode == "v3":
        wait_answer(s, "_sql._tcp.pg.db.svc.cluster.local.", "SRV",
                    ["10 50 5433 10-244-2-6.pg.db.svc.cluster.local.",
                     "10 50 5433 pg-0.pg.db.svc.cluster.local."])
    wait_answer(s, "5.1.244.10.in-addr.arpa.", "PTR", ["pg-0.pg.db.svc.cluster.local."])
    wait_answer(s, "6.2.244.10.in-addr.arpa.", "PTR", ["10-244-2-6.pg.db.svc.cluster.local."])
    assert answers(s, "7.3.244.10.in-addr.arpa.", "PTR")[0] == absent_rcode("7.3.244.10.in-addr.arpa.")
    # headless with no ready endpoint: NXDOMAIN
    assert answers(s, "empty.db.svc.cluster.local.", "A")[0] == NXDOMAIN
    # ExternalName: CNAME to the lower-cased external name
    wait_answer(s, "mail.default.svc.cluster.local.", "CNAME", ["mail.example.org."])
    # what kube2sky wrote is exactly what translate promises, nothing else
    # (v2 listings leave out the 6 SRV records below "_" labels)
    # (v2 listings leave out the 6 SRV records below "_" labels), and the marker
    keys = etcd_keys(etcd) if mode == "v3" else etcd_keys_v2(etcd)
    assert len(keys) == (19 if mode == "v3" else 13), sorted(keys)
    assert MARKER_KEY in keys
    assert a.auth_failures == 0


def test_pod_records(workdir, etcd, mode, api, kube2sky, skydns):
    """Kubernetes DNS spec's pod records, <a-b-c-d>.<ns>.pod.<zone>, with
    -pod-records (the chart's podRecords value; CoreDNS "pods insecure"):
    answered from the name in the zone kube2sky manages; off by default."""
    a = api(fixtures=[])
    a.state.apply(svc_obj("web", ip="10.96.0.50"))
    k = kube2sky(["--kube-master-url", a.url])
    k.wait_ready()
    on = skydns(["-pod-records"], domain=ZONE)
    off = skydns(domain=ZONE)
    wait_answer(on, "web.default.svc.cluster.local.", "A", ["10.96.0.50"])  # the zone is managed
    assert answers(on, "10-244-1-5.default.pod.cluster.local.", "A") == (0, ["10.244.1.5"])
    assert answers(on, "fd00-10-244--5.default.pod.cluster.local.", "AAAA") == (0, ["fd00:10:244::5"])
    assert answers(on, "10-244-1-5.default.pod.cluster.local.", "AAAA") == (0, [])
    assert answers(on, "nope.default.pod.cluster.local.", "A")[0] == NXDOMAIN
    assert answers(off, "10-244-1-5.default.pod.cluster.local.", "A")[0] == NXDOMAIN


MARKER_KEY = "/skydns/kube2sky/cluster.local"


def read_marker(etcd, mode):
    """kube2sky's zone marker as a dict, or None."""
    if mode == "v2":
        st, body = _http("GET", etcd.url + "/v2/keys" + MARKER_KEY)
        return json.loads(body["node"]["value"]) if st == 200 else None
    got = etcd_keys(etcd, "/skydns/kube2sky/")
    return json.loads(got[MARKER_KEY][0]) if MARKER_KEY in got else None


def nodata_soa(server, name, rdtype):
    """The name exists but has no rdtype: NOERROR, no answer, the zone's SOA
    alone in authority."""
    r = query(server, name, rdtype)
    return (r.rcode() == 0 and not r.answer and
            [(str(x.name), dns.rdatatype.to_text(x.rdtype)) for x in r.authority] == [(ZONE, "SOA")])


@pytest.mark.parametrize("mode", ["v2", "v3"])
def test_scope_stops_at_spec_names(workdir, etcd, mode, kv, api, kube2sky, skydns):
    """Issue 12: above a service (namespace, svc, apex) a zone kube2sky
    manages answers NODATA or NXDOMAIN as CoreDNS does, not with every
    address of a namespace or of the cluster; the spec's names still answer.
    Deleting kube2sky's marker gives SkyDNS's directory answers back."""
    t0 = int(time.time())
    a = api()
    k = kube2sky(["--kube-master-url", a.url])
    k.wait_ready()
    wait_until(lambda: read_marker(etcd, mode) is not None, 10, what="zone marker written")
    m = read_marker(etcd, mode)
    assert m["zone"] == ZONE and m["schema"] == "1.1.0", m
    assert t0 - 1 <= m["synced"] <= time.time() + 1, m
    assert len(m["id"]) == 16 and int(m["id"], 16) >= 0, m
    s = skydns(domain=ZONE)
    wait_until(lambda: nodata_soa(s, "prod.svc.cluster.local.", "A"), 15,
               what="A prod.svc.cluster.local. NODATA")
    for name, rdtype in [("prod.svc.cluster.local.", "AAAA"), ("default.svc.cluster.local.", "A"),
                         ("svc.cluster.local.", "A"), ("svc.cluster.local.", "SRV"),
                         ("cluster.local.", "A"), ("cluster.local.", "AAAA"),
                         ("cluster.local.", "SRV"), ("cluster.local.", "TXT"),
                         # a pod in default resolving "db" through its search list
                         ("db.svc.cluster.local.", "A"), ("db.svc.cluster.local.", "SRV")]:
        assert nodata_soa(s, name, rdtype), (name, rdtype, query(s, name, rdtype))
    assert answers(s, "db.default.svc.cluster.local.", "A")[0] == NXDOMAIN
    assert answers(s, "nosuchns.svc.cluster.local.", "A")[0] == NXDOMAIN
    assert answers(s, "*.default.svc.cluster.local.", "A")[0] == NXDOMAIN
    # the spec's names are unchanged
    assert answers(s, "cluster.local.", "SOA")[0] == 0 and answers(s, "cluster.local.", "SOA")[1]
    assert answers(s, "dns-version.cluster.local.", "TXT") == (0, ['"1.1.0"'])
    assert answers(s, "web.default.svc.cluster.local.", "A") == (0, ["10.96.0.50"])
    assert answers(s, "api.prod.svc.cluster.local.", "AAAA") == (0, ["fd00:10:96::60"])
    assert answers(s, "pg.db.svc.cluster.local.", "A") == (0, ["10.244.1.5", "10.244.2.6"])
    assert answers(s, "pg-0.pg.db.svc.cluster.local.", "A") == (0, ["10.244.1.5"])
    assert answers(s, "mail.default.svc.cluster.local.", "CNAME") == (0, ["mail.example.org."])
    assert answers(s, "50.0.96.10.in-addr.arpa.", "PTR") == (0, ["web.default.svc.cluster.local."])
    if mode == "v3":  # v2 hides keys below "_" labels from a mirroring server
        assert answers(s, "_http._tcp.web.default.svc.cluster.local.", "SRV") == \
            (0, ["10 100 80 web.default.svc.cluster.local."])
        assert answers(s, "_sql._tcp.pg.db.svc.cluster.local.", "SRV") == \
            (0, ["10 50 5433 10-244-2-6.pg.db.svc.cluster.local.",
                 "10 50 5433 pg-0.pg.db.svc.cluster.local."])
    assert "zone managed by kube2sky" in s.logs()
    # without the marker the zone is a SkyDNS zone again: directory answers
    kv.delete(MARKER_KEY)
    wait_answer(s, "prod.svc.cluster.local.", "A", ["10.96.0.60"])
    wait_answer(s, "db.svc.cluster.local.", "A", ["10.244.1.5", "10.244.2.6"])
    assert "zone marker gone" in s.logs()


def test_marker_rewritten_and_bad_marker_ignored(workdir, etcd, kv, api, kube2sky, skydns):
    """The marker comes back with a newer sync time at every resync; a
    marker skydns cannot parse is logged and ignored; neither is read as a
    record."""
    a = api(fixtures=["service-clusterip.json", "service-dualstack.json"])
    kv.put("/skydns/kube2sky/other.local", "{not json")
    k = kube2sky(["--kube-master-url", a.url, "--resync-period", "1"])
    k.wait_ready()
    wait_until(lambda: read_marker(etcd, "v3") is not None, 10, what="zone marker written")
    first = read_marker(etcd, "v3")
    wait_until(lambda: read_marker(etcd, "v3")["synced"] > first["synced"], 10,
               what="marker rewritten by a resync")
    assert read_marker(etcd, "v3")["id"] == first["id"]  # the same process
    s = skydns(domain=ZONE)
    wait_until(lambda: nodata_soa(s, "prod.svc.cluster.local.", "A"), 15, what="scoped")
    wait_until(lambda: "ignoring zone marker key=/skydns/kube2sky/other.local" in s.logs(), 5,
               what="bad marker logged")
    assert "skipping key=/skydns/kube2sky" not in s.logs()  # never read as a record


def test_update_has_no_nxdomain_window(workdir, etcd, api, kube2sky, skydns):
    """Query continuously while a service changes IP and ports, and while a
    headless service's endpoints churn: never an NXDOMAIN or empty answer."""
    a = api()
    k = kube2sky(["--kube-master-url", a.url])
    k.wait_ready()
    s = skydns(domain=ZONE)
    fq = "web.default.svc.cluster.local."
    wait_answer(s, fq, "A", ["10.96.0.50"])
    wait_answer(s, "pg.db.svc.cluster.local.", "A", ["10.244.1.5", "10.244.2.6"])
    bad, seen, stop = [], set(), threading.Event()

    def hammer(name):
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                rc, got = answers(s, name, "A")
            except Exception as e:  # noqa: BLE001 - a timeout is a failure too
                bad.append((name, repr(e)))
                continue
            if rc != 0 or not got:
                bad.append((name, rc, got))
            seen.add((name, tuple(got)))
    threads = [threading.Thread(target=hammer, args=(n,)) for n in (fq, "pg.db.svc.cluster.local.")]
    for t in threads:
        t.start()
    web_dir, pg_dir = "/skydns/local/cluster/svc/default/web/", "/skydns/local/cluster/svc/db/pg/"
    watch = EtcdPrefixWatch(etcd, "/skydns/local/cluster/svc/")
    try:
        for i in range(1, 6):
            o = svc_obj("web", ip=f"10.96.0.{50 + i}", ports=(("http", 80 + i), ("extra", 9000)))
            a.state.apply(o)
            wait_answer(s, fq, "A", [f"10.96.0.{50 + i}"])
            wait_answer(s, "_http._tcp." + fq, "SRV", [f"10 100 {80 + i} {fq}"])
            # headless: swap one endpoint for another, keep pg-0 throughout
            eps = [("10.244.1.5", "pg-0", True), (f"10.244.5.{i}", None, True)]
            a.state.apply(slice_obj("pg", "db", eps, name="pg-7xk2p"))
            wait_answer(s, "pg.db.svc.cluster.local.", "A", ["10.244.1.5", f"10.244.5.{i}"])
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        watch.close()
    assert not bad, bad[:10]
    assert (fq, ("10.96.0.55",)) in seen
    # Replay every single etcd write: the names never lost their last address.
    assert len(watch.events) >= 20, watch.events
    assert watch.empty_moments(lambda k: k.startswith(web_dir) and "/" not in k[len(web_dir):]) == 0
    assert watch.empty_moments(lambda k: k.startswith(pg_dir) and "/_" not in k[len(pg_dir) - 1:]) == 0


def test_minimal_diff_keeps_unchanged_keys(workdir, etcd, api, kube2sky):
    """An update rewrites only what changed: the A record's key keeps its
    mod_revision when only a port changes; the old SRV key goes away."""
    a = api(fixtures=["service-clusterip.json"])
    k = kube2sky(["--kube-master-url", a.url])
    k.wait_ready()
    before = etcd_keys(etcd, "/skydns/local/cluster/svc/default/web/")
    a_keys = [key for key, (v, _) in before.items() if '"10.96.0.50"' in v]
    assert len(a_keys) == 1
    o = fakeapi.load_fixture("service-clusterip.json")
    o["spec"]["ports"][0]["port"] = 8081
    a.state.apply(o)
    wait_until(lambda: any('"port":8081' in v for v, _ in
                           etcd_keys(etcd, "/skydns/local/cluster/svc/default/web/").values()),
               10, what="new SRV written")
    after = etcd_keys(etcd, "/skydns/local/cluster/svc/default/web/")
    assert after[a_keys[0]] == before[a_keys[0]]  # same value, same mod_revision
    assert not any('"port":80,' in v for v, _ in after.values())
    assert len(after) == len(before)


def test_endpoints_ready_unready_and_delete(workdir, etcd, api, kube2sky, skydns):
    a = api()
    k = kube2sky(["--kube-master-url", a.url])
    k.wait_ready()
    s = skydns(domain=ZONE)
    hl = "pg.db.svc.cluster.local."
    wait_answer(s, hl, "A", ["10.244.1.5", "10.244.2.6"])
    # pg-2 becomes ready
    a.state.apply(slice_obj("pg", "db", [("10.244.1.5", "pg-0", True), ("10.244.2.6", None, True),
                                         ("10.244.3.7", "pg-2", True)], name="pg-7xk2p"))
    wait_answer(s, "pg-2.pg.db.svc.cluster.local.", "A", ["10.244.3.7"])
    wait_answer(s, hl, "A", ["10.244.1.5", "10.244.2.6", "10.244.3.7"])
    assert len(answers(s, "_sql._tcp." + hl, "SRV")[1]) == 3
    # everything unready: the name disappears (NXDOMAIN), as do the PTRs
    a.state.apply(slice_obj("pg", "db", [("10.244.1.5", "pg-0", False), ("10.244.2.6", None, False),
                                         ("10.244.3.7", "pg-2", False)], name="pg-7xk2p"))
    wait_answer(s, hl, "A", NXDOMAIN)
    wait_answer(s, "5.1.244.10.in-addr.arpa.", "PTR", NXDOMAIN)
    # ready again through a second slice (IPv6 family): AAAA appears
    a.state.apply(slice_obj("pg", "db", [("fd00::5", "pg-0", True)], name="pg-v6", family="IPv6"))
    wait_answer(s, "pg-0.pg.db.svc.cluster.local.", "AAAA", ["fd00::5"])
    # service deleted: every record of it goes, the slices' too
    a.state.delete("Service", "db", "pg")
    wait_answer(s, "pg-0.pg.db.svc.cluster.local.", "AAAA", NXDOMAIN)
    wait_until(lambda: not etcd_keys(etcd, "/skydns/local/cluster/svc/db/"), 10,
               what="db records removed")
    # ClusterIP service deleted: A, SRV and PTR go
    a.state.delete("Service", "default", "web")
    wait_answer(s, "web.default.svc.cluster.local.", "A", NXDOMAIN)
    wait_answer(s, "_http._tcp.web.default.svc.cluster.local.", "SRV", NXDOMAIN)
    wait_answer(s, "50.0.96.10.in-addr.arpa.", "PTR", NXDOMAIN)
    assert k.alive()


def test_watch_expired_relist_deletes_vanished(workdir, etcd, api, kube2sky, skydns):
    """A watch that expires (ERROR 410 inside the 200 stream) while a service
    was deleted and another added unseen: the relist notices both."""
    a = api()
    k = kube2sky(["--kube-master-url", a.url])
    k.wait_ready()
    s = skydns(domain=ZONE)
    wait_answer(s, "web.default.svc.cluster.local.", "A", ["10.96.0.50"])

    def hidden():
        a.state.delete("Service", "default", "web")
        a.state.apply(svc_obj("fresh", ip="10.96.3.3"))
        a.state.delete("EndpointSlice", "db", "pg-7xk2p")
    a.state.expire(hidden)
    wait_answer(s, "web.default.svc.cluster.local.", "A", NXDOMAIN)
    wait_answer(s, "fresh.default.svc.cluster.local.", "A", ["10.96.3.3"])
    wait_answer(s, "pg.db.svc.cluster.local.", "A", NXDOMAIN)
    wait_answer(s, "50.0.96.10.in-addr.arpa.", "PTR", NXDOMAIN)
    assert "watch expired, relisting" in k.logs()
    # and watching goes on after the relist
    a.state.apply(svc_obj("later", ip="10.96.3.4"))
    wait_answer(s, "later.default.svc.cluster.local.", "A", ["10.96.3.4"])


def test_api_server_restart(workdir, etcd, api, kube2sky, skydns):
    a = api()
    k = kube2sky(["--kube-master-url", a.url])
    k.wait_ready()
    s = skydns(domain=ZONE)
    wait_answer(s, "web.default.svc.cluster.local.", "A", ["10.96.0.50"])
    a.stop()
    # ready stays ready (the first sync is done, answers are served); the
    # outage shows in the body and the log
    wait_until(lambda: "api" in k.health("/readyz")[1], 15, what="/readyz reports the API down")
    for _ in range(6):
        status, body = k.health("/readyz")
        assert status == 200, (status, body)
        time.sleep(0.25)
    assert k.health("/healthz")[0] == 200
    # records stay served while the API is away
    assert answers(s, "web.default.svc.cluster.local.", "A") == (0, ["10.96.0.50"])
    a.state.apply(svc_obj("while-down", ip="10.96.4.4"))
    a.state.delete("Service", "prod", "api")
    time.sleep(1.0)
    assert k.alive()
    a.restart(lose_history=True)  # same port; the new server's history starts now
    k.wait_ready(30)
    wait_answer(s, "while-down.default.svc.cluster.local.", "A", ["10.96.4.4"], timeout=30)
    wait_answer(s, "api.prod.svc.cluster.local.", "A", NXDOMAIN)
    # a plain restart where old resourceVersions still work
    a.stop()
    a.state.apply(svc_obj("second", ip="10.96.4.5"))
    a.start()
    wait_answer(s, "second.default.svc.cluster.local.", "A", ["10.96.4.5"], timeout=30)
    assert "comp=api" in k.logs() and "failed, retrying" in k.logs(), k.logs()[-2000:]


def test_etcd_restart(workdir, etcd, api, kube2sky, skydns):
    a = api()
    k = kube2sky(["--kube-master-url", a.url])
    k.wait_ready()
    s = skydns(domain=ZONE)
    wait_answer(s, "web.default.svc.cluster.local.", "A", ["10.96.0.50"])
    etcd.stop()
    a.state.apply(svc_obj("during", ip="10.96.5.5"))
    a.state.delete("Service", "default", "mail")
    wait_until(lambda: "etcd" in k.health("/readyz")[1], 15, what="/readyz reports etcd down")
    for _ in range(6):
        status, body = k.health("/readyz")
        assert status == 200, (status, body)
        time.sleep(0.25)
    assert k.alive(), k.logs()
    # the outage shows in the metric, not in readiness (issue 12 item 2)
    assert "\nkube2sky_etcd_connected 0\n" in k.health("/metrics")[1]
    etcd.start()
    k.wait_ready(30)
    wait_until(lambda: "\nkube2sky_etcd_connected 1\n" in k.health("/metrics")[1], 20,
               what="kube2sky_etcd_connected back to 1")
    keys = lambda: etcd_keys(etcd, "/skydns/local/cluster/svc/default/")  # noqa: E731
    wait_until(lambda: any("10.96.5.5" in v for v, _ in keys().values()), 20, what="written after etcd came back")
    wait_until(lambda: not any(k_.startswith("/skydns/local/cluster/svc/default/mail/") for k_ in keys()),
               20, what="delete applied after etcd came back")
    wait_answer(s, "during.default.svc.cluster.local.", "A", ["10.96.5.5"], timeout=30)
    wait_answer(s, "mail.default.svc.cluster.local.", "CNAME", NXDOMAIN, timeout=30)
    assert "cannot use etcd" in k.logs()


def test_etcd_credentials_redacted(workdir, etcd, api, kube2sky):
    """Issue 13 item 6: credentials in --etcd-server URLs appear nowhere: not
    in the log (a dead member with them is tried first), not in /readyz's
    text while etcd is down, not in /metrics."""
    a = api()
    dead = f"http://alice:s3cret@127.0.0.1:{free_port()}"
    k = kube2sky(["--kube-master-url", a.url],
                 etcd_url=f"{dead},{etcd.url}")
    k.wait_ready()
    etcd.stop()
    a.state.apply(svc_obj("during", ip="10.96.5.5"))  # a write to fail
    wait_until(lambda: "etcd" in k.health("/readyz")[1], 15, what="/readyz reports etcd down")
    texts = [k.health("/readyz")[1], k.health("/metrics")[1], k.logs()]
    etcd.start()
    for t in texts:
        assert "s3cret" not in t and "alice" not in t, t
    assert "http://***@127.0.0.1:" in k.logs(), k.logs()


def test_restart_removes_stale_keys(workdir, etcd, kv, api, kube2sky, skydns):
    """kube2sky restarted with stale keys in etcd: keys of services that no
    longer exist go, damaged keys are repaired, other people's keys stay."""
    a = api()
    k = kube2sky(["--kube-master-url", a.url])
    k.wait_ready()
    k.stop()
    a.state.delete("Service", "default", "web")  # while kube2sky is down
    kv.put("/skydns/local/cluster/svc/old/gone/1234abcd", {"host": "10.1.1.1", "ttl": 30})
    kv.put("/skydns/local/cluster/svc/old/gone/_tcp/_http/99", {"host": "gone.old.svc.cluster.local.", "port": 80})
    kv.put("/skydns/arpa/in-addr/10/1/1/1", {"host": "gone.old.svc.cluster.local."})
    kv.put("/skydns/arpa/in-addr/192/0/2/1", {"host": "router.example.org"})  # not kube2sky's
    kv.put("/skydns/local/cluster/ops/bastion", {"host": "192.0.2.10"})       # not kube2sky's
    api_keys = [key for key in etcd_keys(etcd, "/skydns/local/cluster/svc/prod/api/") if "_" not in key]
    kv.put(api_keys[0], {"host": "10.6.6.6"})                                  # damaged
    kv.delete(etcd_keys(etcd, "/skydns/arpa/in-addr/10/96/0/60").popitem()[0])  # lost
    k2 = kube2sky(["--kube-master-url", a.url])
    k2.wait_ready()
    s = skydns(domain=ZONE)
    for name, t in [("gone.old.svc.cluster.local.", "A"), ("web.default.svc.cluster.local.", "A"),
                    ("_http._tcp.gone.old.svc.cluster.local.", "SRV"), ("1.1.1.10.in-addr.arpa.", "PTR"),
                    ("50.0.96.10.in-addr.arpa.", "PTR")]:
        wait_answer(s, name, t, NXDOMAIN)
    wait_answer(s, "api.prod.svc.cluster.local.", "A", ["10.96.0.60"])
    wait_answer(s, "60.0.96.10.in-addr.arpa.", "PTR", ["api.prod.svc.cluster.local."])
    wait_answer(s, "1.2.0.192.in-addr.arpa.", "PTR", ["router.example.org."])
    wait_answer(s, "bastion.ops.cluster.local.", "A", ["192.0.2.10"])
    assert "no longer exists service=old/gone" in k2.logs()


@pytest.mark.parametrize("slices", [False, "forbidden"])
def test_endpoints_v1_fallback(workdir, etcd, api, kube2sky, skydns, slices):
    """An API without discovery.k8s.io/v1 (404), or RBAC without
    endpointslices (403): kube2sky reads v1 Endpoints."""
    a = api(fixtures=["service-headless.json", "endpoints-headless.json"])
    a.state.serve_slices = slices
    k = kube2sky(["--kube-master-url", a.url])
    k.wait_ready()
    s = skydns(domain=ZONE)
    wait_answer(s, "pg.db.svc.cluster.local.", "A", ["10.244.1.5", "10.244.2.6"])
    wait_answer(s, "pg-0.pg.db.svc.cluster.local.", "A", ["10.244.1.5"])
    assert answers(s, "pg-2.pg.db.svc.cluster.local.", "A")[0] == NXDOMAIN  # notReadyAddresses
    ep = fakeapi.load_fixture("endpoints-headless.json")
    ep["subsets"][0]["addresses"].append(ep["subsets"][0].pop("notReadyAddresses")[0])
    a.state.apply(ep)
    wait_answer(s, "pg-2.pg.db.svc.cluster.local.", "A", ["10.244.3.7"])
    assert "watching v1 Endpoints instead" in k.logs()


def test_paginated_list(workdir, etcd, api, kube2sky, skydns):
    a = api(fixtures=[])
    a.state.page_cap = 3
    for i in range(20):
        a.state.apply(svc_obj(f"s{i}", ip=f"10.96.7.{i + 1}"))
    k = kube2sky(["--kube-master-url", a.url])
    k.wait_ready()
    s = skydns(domain=ZONE)
    for i in range(20):
        wait_answer(s, f"s{i}.default.svc.cluster.local.", "A", [f"10.96.7.{i + 1}"])
    assert any("continue=" in p for p in a.requests)
    assert any("allowWatchBookmarks=true" in p for p in a.requests)


def test_client_certificate_and_ca_data(workdir, etcd, api, kube2sky, pki):
    """kubeconfig with certificate-authority-data and client-certificate/key-data;
    the API server requires a client certificate."""
    a = api(fixtures=["service-clusterip.json"], certfile=os.path.join(pki, "apiserver.crt"),
            keyfile=os.path.join(pki, "apiserver.key"), client_ca=os.path.join(pki, "ca.crt"))
    kc = write_kubeconfig(os.path.join(workdir, "kc"), a.url, ca_data=b64file(os.path.join(pki, "ca.crt")),
                          cert_data=b64file(os.path.join(pki, "admin.crt")),
                          key_data=b64file(os.path.join(pki, "admin.key")))
    k = kube2sky(["--kubecfg-file", kc])
    k.wait_ready()
    assert any('"10.96.0.50"' in v for v, _ in etcd_keys(etcd).values())


def test_in_cluster_token_rotation(workdir, etcd, api, kube2sky, pki):
    """In-cluster config: KUBERNETES_SERVICE_HOST/PORT, the token file and
    ca.crt; a rotated token is read again."""
    a = api(fixtures=["service-clusterip.json"], token="token-1",
            certfile=os.path.join(pki, "apiserver.crt"), keyfile=os.path.join(pki, "apiserver.key"))
    sa = os.path.join(workdir, "sa")
    os.makedirs(sa)
    with open(os.path.join(sa, "token"), "w") as f:
        f.write("token-1\n")
    with open(os.path.join(pki, "ca.crt")) as src, open(os.path.join(sa, "ca.crt"), "w") as dst:
        dst.write(src.read())
    env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(a.port)}
    k = kube2sky(["--serviceaccount-dir", sa], env=env)
    k.wait_ready()
    # the kubelet rotates the token; the API server now only accepts the new one
    with open(os.path.join(sa, "token.tmp"), "w") as f:
        f.write("token-2")
    os.rename(os.path.join(sa, "token.tmp"), os.path.join(sa, "token"))
    a.token = "token-2"
    a.state.expire()  # every open watch ends: the next requests carry the new token
    a.state.apply(svc_obj("rotated", ip="10.96.8.8"))
    wait_until(lambda: any('"10.96.8.8"' in v for v, _ in etcd_keys(etcd).values()), 20,
               what="service seen with the rotated token")
    # each watch reconnects on its own backoff; all of them make it with the new token
    wait_until(lambda: k.health("/readyz")[0] == 200, 20, what="ready with the rotated token")


def run_once(args, env=None, timeout=10):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([KUBE2SKY_BIN, "--health-addr", "", *args], capture_output=True, text=True,
                       timeout=timeout, env=e)
    return p.returncode, p.stderr.strip()


def test_config_errors_are_one_clear_line(workdir, pki):
    cases = []
    rc, err = run_once(["--kubecfg-file", os.path.join(workdir, "missing")])
    cases.append((rc, err, ["kubeconfig", os.path.join(workdir, "missing"), "No such file"]))
    kc = write_kubeconfig(os.path.join(workdir, "kc1"), "https://127.0.0.1:1", ca="nope/ca.crt", token="t")
    rc, err = run_once(["--kubecfg-file", kc])
    cases.append((rc, err, ["certificate authority", os.path.join(workdir, "nope/ca.crt"), kc]))
    kc = write_kubeconfig(os.path.join(workdir, "kc2"), "https://127.0.0.1:1",
                          extra_user="    exec: {command: aws, apiVersion: client.authentication.k8s.io/v1}")
    rc, err = run_once(["--kubecfg-file", kc])
    cases.append((rc, err, ["users[u].user", "exec", kc]))
    rc, err = run_once(["--kube-master-url", "localhost:8080"])
    cases.append((rc, err, ["--kube-master-url", "localhost:8080"]))
    sa = os.path.join(workdir, "sa-empty")
    os.makedirs(sa)
    shutil.copy(os.path.join(pki, "ca.crt"), os.path.join(sa, "ca.crt"))
    rc, err = run_once(["--serviceaccount-dir", sa],
                       env={"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": "1"})
    cases.append((rc, err, ["in-cluster", os.path.join(sa, "token")]))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
    p = subprocess.run([KUBE2SKY_BIN, "--health-addr", ""], capture_output=True, text=True, timeout=10,
                       env=env)
    cases.append((p.returncode, p.stderr.strip(), ["KUBERNETES_SERVICE_HOST"]))
    for rc, err, words in cases:
        assert rc == 2, (rc, err)
        assert len(err.splitlines()) == 1, err
        for w in words:
            assert w in err, (w, err)


def test_runtime_credential_errors_reported(workdir, etcd, api, kube2sky, pki):
    """A wrong CA or a refused token: kube2sky keeps running, logs one line
    saying which, and /readyz is 503 with the reason."""
    a = api(fixtures=["service-clusterip.json"], token="right",
            certfile=os.path.join(pki, "apiserver.crt"), keyfile=os.path.join(pki, "apiserver.key"))
    kc = write_kubeconfig(os.path.join(workdir, "kc-ca"), a.url,
                          ca=os.path.join(pki, "other-ca.crt"), token="right")
    k = kube2sky(["--kubecfg-file", kc])
    wait_until(lambda: "TLS" in k.logs(), 15, what="TLS error logged")
    line = next(ln for ln in k.logs().splitlines() if "TLS" in ln)
    assert os.path.join(pki, "other-ca.crt") in line and a.url in line, line
    status, body = k.health("/readyz")
    assert status == 503 and "TLS" in body, body
    assert k.alive()
    k.stop()
    kc = write_kubeconfig(os.path.join(workdir, "kc-tok"), a.url, ca=os.path.join(pki, "ca.crt"),
                          token="wrong")
    k = kube2sky(["--kubecfg-file", kc])
    wait_until(lambda: "HTTP 401" in k.logs(), 15, what="401 logged")
    line = next(ln for ln in k.logs().splitlines() if "HTTP 401" in ln)
    assert kc in line and "refused" in line, line
    assert k.health("/readyz")[0] == 503
    assert k.alive()


def test_unwritable_service_retried_alone(workdir, api, kube2sky, monkeypatch):
    """etcd refuses one service's record (request too large); that service is
    retried with backoff while the others, even ones added later, are written."""
    monkeypatch.setenv("ETCD_MAX_REQUEST_BYTES", "320")
    small = conftest.Etcd(os.path.join(workdir, "small"))
    os.makedirs(small.dir.rsplit("/", 1)[0], exist_ok=True)
    small.start()
    try:
        a = api(fixtures=["service-clusterip.json"])
        huge = fakeapi.load_fixture("service-externalname.json")
        # large but a valid name (247 bytes on the wire; over 255 it would be skipped)
        huge["spec"]["externalName"] = ("a" * 60 + ".") * 3 + "a" * 50 + ".example.org"
        a.state.apply(huge)
        # a dead first member too: requests move on to the next one
        k = kube2sky(["--kube-master-url", a.url],
                     etcd_url=f"http://127.0.0.1:{free_port()},{small.url}")
        k.wait_ready()
        a.state.apply(svc_obj("later", ip="10.96.9.9"))
        wait_until(lambda: any('"10.96.9.9"' in v for v, _ in etcd_keys(small).values()), 10,
                   what="later written while mail keeps failing")
        wait_until(lambda: k.logs().count("service=default/mail") >= 3, 15, what="mail retried")
        assert "request is too large" in k.logs()
        assert not etcd_keys(small, "/skydns/local/cluster/svc/default/mail/")
        # once the service becomes writable it is written
        a.state.apply(fakeapi.load_fixture("service-externalname.json"))
        wait_until(lambda: etcd_keys(small, "/skydns/local/cluster/svc/default/mail/"), 10,
                   what="mail written after the fix")
        assert k.health("/readyz")[0] == 200
    finally:
        small.stop()


def test_address_shared_by_two_headless_services(workdir, etcd, api, kube2sky, skydns):
    """A pod behind two headless services: one PTR for its address, taken
    over by the other service when the first goes, removed with the last."""
    a = api(fixtures=["service-headless.json"])
    alias = fakeapi.load_fixture("service-headless.json")
    alias["metadata"]["name"] = "pg-alias"
    a.state.apply(alias)
    a.state.apply(slice_obj("pg", "db", [("10.244.1.5", "pg-0", True)], name="pg-1"))
    a.state.apply(slice_obj("pg-alias", "db", [("10.244.1.5", "pg-0", True)], name="pg-alias-1"))
    k = kube2sky(["--kube-master-url", a.url])
    k.wait_ready()
    s = skydns(domain=ZONE)
    names = {"pg-0.pg.db.svc.cluster.local.", "pg-0.pg-alias.db.svc.cluster.local."}
    ptr = "5.1.244.10.in-addr.arpa."
    wait_until(lambda: answers(s, ptr, "PTR")[1] and answers(s, ptr, "PTR")[1][0] in names, 10,
               what="PTR for the shared address")
    first = answers(s, ptr, "PTR")[1]
    assert len(first) == 1
    gone_svc = first[0].split(".")[1]
    a.state.delete("Service", "db", gone_svc)
    wait_answer(s, ptr, "PTR", list(names - set(first)))
    wait_answer(s, f"pg-0.{gone_svc}.db.svc.cluster.local.", "A", NXDOMAIN)
    other = ({"pg", "pg-alias"} - {gone_svc}).pop()
    a.state.delete("Service", "db", other)
    wait_answer(s, ptr, "PTR", NXDOMAIN)
    wait_until(lambda: sorted(etcd_keys(etcd, "/skydns/")) == [MARKER_KEY, "/skydns/local/cluster/dns-version"],
               10, what="only the marker and dns-version left")


class TlsEtcd:
    """etcd serving https with client-certificate authentication."""

    def __init__(self, workdir, pki):
        self.dir = os.path.join(workdir, "etcd-tls")
        self.port, self.peer = free_port(), free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.pki = pki
        self.log_path = os.path.join(workdir, "etcd-tls.log")

    def start(self):
        p = self.pki
        peer = f"http://127.0.0.1:{self.peer}"
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [conftest.ETCD_BIN, "--name", "t", "--data-dir", self.dir,
             "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--initial-cluster", f"t={peer}", "--log-level", "warn",
             "--cert-file", os.path.join(p, "apiserver.crt"), "--key-file", os.path.join(p, "apiserver.key"),
             "--client-cert-auth", "--trusted-ca-file", os.path.join(p, "ca.crt")],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(lambda: self.call("/v3/kv/range", {"key": b64("/")})[0] == 200, 15, what="etcd (TLS) up")
        return self

    def call(self, path, body, token=None):
        ctx = ssl.create_default_context(cafile=os.path.join(self.pki, "ca.crt"))
        ctx.load_cert_chain(os.path.join(self.pki, "admin.crt"), os.path.join(self.pki, "admin.key"))
        hdrs = {"Content-Type": "application/json"}
        if token:
            hdrs["Authorization"] = token
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), headers=hdrs, method="POST")
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=2) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, {"error": e.read().decode(errors="replace")}
        except (urllib.error.URLError, OSError):
            return None, {}

    def keys(self, token=None):
        st, body = self.call("/v3/kv/range", {"key": b64("/skydns/"), "range_end": b64("/skydns0")}, token)
        assert st == 200, st
        return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv["value"]).decode()
                for kv in body.get("kvs", [])}

    def stop(self):
        stop_pid(self.proc)
        self.log.close()


def test_etcd_tls_client_certificate(workdir, api, kube2sky, pki):
    """etcd over TLS requiring a client certificate: the etcd TLS options
    skydns has, given to kube2sky."""
    e = TlsEtcd(workdir, pki).start()
    try:
        a = api(fixtures=["service-clusterip.json"])
        tls = ["--kube-master-url", a.url, "--etcd-cafile", os.path.join(pki, "ca.crt"),
               "--etcd-certfile", os.path.join(pki, "admin.crt"), "--etcd-keyfile", os.path.join(pki, "admin.key")]
        k = kube2sky(tls, etcd_url=e.url)
        k.wait_ready()
        assert any('"10.96.0.50"' in v for v in e.keys().values())
        k.stop()
        # without the client certificate etcd refuses the connection: reported, not fatal
        k = kube2sky(["--kube-master-url", a.url, "--etcd-cafile", os.path.join(pki, "ca.crt")], etcd_url=e.url)
        wait_until(lambda: "cannot use etcd" in k.logs(), 15, what="TLS refusal reported")
        assert k.health("/readyz")[0] == 503 and k.alive()
    finally:
        e.stop()


def test_etcd_v3_auth(workdir, etcd, api, kube2sky):
    """etcd v3 with auth enabled: --etcd-username/--etcd-password (or the
    ETCD_USERNAME/ETCD_PASSWORD environment) get a token."""
    for path, body in [("/v3/auth/user/add", {"name": "root", "password": "pw"}),
                       ("/v3/auth/role/add", {"name": "root"}),
                       ("/v3/auth/user/grant", {"user": "root", "role": "root"}),
                       ("/v3/auth/enable", {})]:
        st, resp = _http("POST", etcd.url + path, body)
        assert st == 200, (path, st, resp)
    st, tok = _http("POST", etcd.url + "/v3/auth/authenticate", {"name": "root", "password": "pw"})
    assert st == 200 and tok.get("token"), (st, tok)
    assert _http("POST", etcd.url + "/v3/kv/range", {"key": b64("/")})[0] != 200  # auth is on
    a = api(fixtures=["service-clusterip.json"])
    k = kube2sky(["--kube-master-url", a.url], env={"ETCD_USERNAME": "root", "ETCD_PASSWORD": "wrong"})
    wait_until(lambda: "cannot use etcd" in k.logs(), 15, what="auth failure reported")
    assert k.health("/readyz")[0] == 503 and k.alive()
    k.stop()
    k = kube2sky(["--kube-master-url", a.url, "--etcd-username", "root", "--etcd-password", "pw"])
    k.wait_ready()
    st, body = _http("POST", etcd.url + "/v3/kv/range", {"key": b64("/skydns/"), "range_end": b64("/skydns0")},
                     headers={"Authorization": tok["token"]})
    assert st == 200, body
    assert any(base64.b64decode(kv["value"]).decode().find('"10.96.0.50"') >= 0 for kv in body.get("kvs", []))


def test_resync_repairs_lost_keys(workdir, etcd, kv, api, kube2sky, skydns):
    """etcd loses kube2sky's keys behind its back (a wiped data dir, a stray
    delete): the periodic resync writes them again."""
    a = api(fixtures=["service-clusterip.json", "service-dualstack.json"])
    k = kube2sky(["--kube-master-url", a.url, "--resync-period", "1"])
    k.wait_ready()
    wait_until(lambda: MARKER_KEY in etcd_keys(etcd), 10, what="zone marker written")
    before = etcd_keys(etcd)
    assert len(before) == 12, sorted(before)  # 5 + 5 + dns-version + the zone marker
    kv.delete("/skydns/", recursive=True)
    assert not etcd_keys(etcd)
    # the marker's value changes at every sync (its time): compare keys only for it
    records = lambda keys: {key: v for key, (v, _) in keys.items() if key != MARKER_KEY}  # noqa: E731
    wait_until(lambda: records(etcd_keys(etcd)) == records(before) and MARKER_KEY in etcd_keys(etcd),
               15, what="keys written again")
    s = skydns(domain=ZONE)
    wait_answer(s, "api.prod.svc.cluster.local.", "AAAA", ["fd00:10:96::60"])


def test_kubeconfig_tls_server_name(workdir, etcd, api, kube2sky, pki):
    """The server is reached as "localhost", which the certificate does not
    name; tls-server-name says which name to verify ("kubernetes")."""
    a = api(fixtures=["service-clusterip.json"], certfile=os.path.join(pki, "apiserver.crt"),
            keyfile=os.path.join(pki, "apiserver.key"))
    url = f"https://localhost:{a.port}"
    kc = write_kubeconfig(os.path.join(workdir, "kc-plain"), url, ca=os.path.join(pki, "ca.crt"))
    k = kube2sky(["--kubecfg-file", kc])
    wait_until(lambda: "TLS" in k.logs(), 15, what="name mismatch reported")
    assert k.health("/readyz")[0] == 503
    k.stop()
    kc = write_kubeconfig(os.path.join(workdir, "kc-sni"), url, ca=os.path.join(pki, "ca.crt"),
                          tls_server_name="kubernetes")
    k = kube2sky(["--kubecfg-file", kc])
    k.wait_ready()
    assert any('"10.96.0.50"' in v for v, _ in etcd_keys(etcd).values())


def test_tls_files_checked_at_start(workdir, pki):
    """A CA, certificate or key that is missing, not PEM, or not a pair is a
    start-up error with one line naming the setting and the file (exit 2),
    for kube2sky's etcd and API flags and for skydns's etcd flags."""
    from conftest import SKYDNS_BIN
    junk = os.path.join(workdir, "junk.pem")
    with open(junk, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    missing = os.path.join(workdir, "missing.pem")
    crt, key = os.path.join(pki, "admin.crt"), os.path.join(pki, "admin.key")
    other_key = os.path.join(pki, "apiserver.key")
    api = ["--kube-master-url", "http://127.0.0.1:1"]
    k2s_cases = [
        (["--etcd-cafile", missing], ["--etcd-cafile", missing]),
        (["--etcd-cafile", junk], ["--etcd-cafile", junk]),
        (["--etcd-certfile", crt, "--etcd-keyfile", other_key], [crt, other_key]),
        (["--etcd-keyfile", key], ["--etcd-keyfile"]),
        (["--etcd-certfile", key, "--etcd-keyfile", key], ["--etcd-certfile", key]),
    ]
    for args, words in k2s_cases:
        rc, err = run_once(api + args)
        assert rc == 2, (args, rc, err)
        assert len(err.splitlines()) == 1, (args, err)
        for w in words:
            assert w in err, (w, err)
    kc = write_kubeconfig(os.path.join(workdir, "kc-bad-data"), "https://127.0.0.1:1",
                          ca_data=b64("not a certificate"), token="t")
    rc, err = run_once(["--kubecfg-file", kc])
    assert rc == 2 and len(err.splitlines()) == 1 and "certificate-authority-data" in err, err
    kc = write_kubeconfig(os.path.join(workdir, "kc-mismatch"), "https://127.0.0.1:1",
                          ca=os.path.join(pki, "ca.crt"), cert_data=b64file(crt),
                          key_data=b64file(other_key))
    rc, err = run_once(["--kubecfg-file", kc])
    assert rc == 2 and len(err.splitlines()) == 1 and kc in err, err
    sky_cases = [
        (["-ca-cert", missing], ["-ca-cert", missing]),
        (["-ca-cert", junk], ["-ca-cert", junk]),
        (["-tls-pem", crt, "-tls-key", other_key], [crt, other_key]),
        (["-tls-key", key], ["-tls-key"]),
    ]
    for args, words in sky_cases:
        p = subprocess.run([SKYDNS_BIN, "-addr", "127.0.0.1:0", "-machines", "https://127.0.0.1:1",
                            *args], capture_output=True, text=True, timeout=10)
        err = p.stderr.strip()
        assert p.returncode == 2, (args, p.returncode, err)
        assert len(err.splitlines()) == 1, (args, err)
        for w in words:
            assert w in err, (w, err)
    # the good files pass the check: both daemons keep running
    good = [
        [SKYDNS_BIN, "-addr", f"127.0.0.1:{free_port()}", "-machines", "https://127.0.0.1:1",
         "-ca-cert", os.path.join(pki, "ca.crt"), "-tls-pem", crt, "-tls-key", key],
        [KUBE2SKY_BIN, "--health-addr", "", *api, "--etcd-server", "https://127.0.0.1:1",
         "--etcd-cafile", os.path.join(pki, "ca.crt"), "--etcd-certfile", crt,
         "--etcd-keyfile", key],
    ]
    for argv in good:
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(1.5)
            assert p.poll() is None, (argv, p.returncode, p.stderr.read())
        finally:
            stop_pid(p)


def test_invalid_names_skipped_alone(workdir, etcd, kv, api, kube2sky, skydns):
    """Issue 12: kube2sky wrote an ExternalName with a 74-character label and
    SkyDNS answered SERVFAIL up to the apex. Now such a record is not
    written: one log line naming ns/name (not repeated by resyncs), counted
    in kube2sky_records_skipped_total; the other Services resolve."""
    a = api(fixtures=["service-clusterip.json", "service-externalname.json"])
    bad = fakeapi.load_fixture("service-externalname.json")
    bad["metadata"].update({"name": "badext", "uid": "uid-default-badext"})
    bad["spec"]["externalName"] = "e" * 74 + ".example.com"
    a.state.apply(bad)
    a.state.apply(svc_obj("web2", ip="10.96.7.7", ports=(("http", 80), ("my_port", 81))))
    k = kube2sky(["--kube-master-url", a.url, "--resync-period", "1"])
    k.wait_ready()
    s = skydns(domain=ZONE)
    wait_answer(s, "mail.default.svc.cluster.local.", "CNAME", ["mail.example.org."])
    wait_answer(s, "web2.default.svc.cluster.local.", "A", ["10.96.7.7"])
    wait_answer(s, "_http._tcp.web2.default.svc.cluster.local.", "SRV",
                ["10 100 80 web2.default.svc.cluster.local."])
    assert query(s, "badext.default.svc.cluster.local.", "CNAME").rcode() == NXDOMAIN
    # names above a service answer NODATA in a zone kube2sky manages (issue
    # 12.1): NOERROR with the SOA, never the SERVFAIL a bad record once caused
    for apex in ("default.svc.cluster.local.", "svc.cluster.local.", ZONE):
        r = query(s, apex, "SRV")
        assert r.rcode() == dns.rcode.NOERROR and not r.answer and r.authority, (apex, r)
    assert not [key for key in etcd_keys(etcd) if "/badext/" in key or "_my_port" in key]

    # a resync (proved by a lost key written again) translates everything
    # again but does not log or count the skips again
    web2 = [key for key in etcd_keys(etcd) if "/svc/default/web2/" in key and "/_" not in key]
    assert len(web2) == 1, web2
    kv.delete(web2[0])
    wait_until(lambda: web2[0] in etcd_keys(etcd), 15, what="lost key written again")
    logs = k.logs()
    assert len([l for l in logs.splitlines() if "skip default/badext: externalName" in l]) == 1, logs
    assert len([l for l in logs.splitlines() if "skip default/web2: port name \"my_port\"" in l]) == 1, logs
    assert "label over 63 bytes" in logs
    with urllib.request.urlopen(f"http://127.0.0.1:{k.health_port}/metrics", timeout=2) as r:
        metrics = r.read().decode()
    assert "\nkube2sky_records_skipped_total 2\n" in metrics, metrics


@pytest.mark.parametrize("mode", ["v2", "v3"])
def test_etcd_wiped_no_nxdomain(workdir, etcd, mode, api, kube2sky, skydns):
    """etcd restarted empty (issue 12.4): kube2sky sees its zone marker gone
    and rewrites everything; skydns keeps answering from its last snapshot
    until the marker is back. A query loop through it all gets 0 NXDOMAIN."""
    a = api()
    names = {"web.default.svc.cluster.local.": "10.96.0.50"}
    for i in range(30):
        a.state.apply(svc_obj(f"w{i}", ip=f"10.96.7.{i}"))
        names[f"w{i}.default.svc.cluster.local."] = f"10.96.7.{i}"
    k = kube2sky(["--kube-master-url", a.url])
    k.wait_ready()
    s = skydns(domain=ZONE)
    for name, ip in names.items():
        wait_answer(s, name, "A", [ip])
    wait_until(lambda: read_marker(etcd, mode), 10, what="zone marker")
    counts = {"n": 0, "nx": 0, "wrong": []}
    stop = threading.Event()

    def loop():
        end = time.monotonic() + 90
        while not stop.is_set() and time.monotonic() < end:
            for name, ip in names.items():
                try:
                    rc, got = answers(s, name, "A")
                except Exception:  # noqa: BLE001 - a timeout is no NXDOMAIN
                    continue
                counts["n"] += 1
                counts["nx"] += rc == NXDOMAIN
                if rc == 0 and got != [ip]:
                    counts["wrong"].append((name, got))

    t = threading.Thread(target=loop)
    t.start()
    try:
        etcd.stop()
        shutil.rmtree(etcd.dir)
        etcd.start()
        wait_until(lambda: "is gone: etcd lost kube2sky's records" in k.logs(), 20,
                   what="kube2sky notices the wiped store")
        wait_until(lambda: "new etcd store filled" in s.logs(), 30, what="skydns publishes the refilled store")
        a.state.apply(svc_obj("after", ip="10.96.8.1"))
        wait_answer(s, "after.default.svc.cluster.local.", "A", ["10.96.8.1"])
        time.sleep(0.5)
    finally:
        stop.set()
        t.join()
    assert counts["n"] > 100 and counts["nx"] == 0 and not counts["wrong"], counts
    assert "is a new store" in s.logs()
    status, body = k.health("/metrics")
    assert "kube2sky_etcd_store_lost_total 1" in body, body


V2_NAMES = [  # (name below .svc.cluster.local., type) sampled after every phase
    ("web.default", "A"), ("_http._tcp.web.default", "SRV"), ("_dns._udp.web.default", "SRV"),
    ("pg.db", "A"), ("_sql._tcp.pg.db", "SRV"),
    ("web.prod", "A"), ("_http._tcp.web.prod", "SRV"), ("_p9._tcp.web.prod", "SRV"),
    ("cache.prod", "A"), ("_redis._tcp.cache.prod", "SRV"), ("_p3._tcp.cache.prod", "SRV"),
    ("later.default", "A"), ("_http._tcp.later.default", "SRV"),
]


def v2_status(etcd, path):
    st, _ = _http("GET", etcd.url + "/v2/keys/skydns/local/cluster/svc/" + path)
    return st


def run_v2_phases(etcd, api, kube2sky, skydns):
    """The spec suite's four watch phases on etcd v2, from a fresh etcd:
    start, services added while watching, a service deleted while watching,
    a service vanishing during a 410 relist. After each phase, once kube2sky
    is done writing and skydns has seen everything before a barrier key, the
    answers for V2_NAMES: {phase: {name type: (rcode, rdatas)}}."""
    etcd.stop()
    shutil.rmtree(etcd.dir, ignore_errors=True)
    etcd.start()
    a = api()
    k = kube2sky(["--kube-master-url", a.url])
    k.wait_ready()
    s = skydns(domain=ZONE)
    out = {}
    many = [(f"p{i}", 9000 + i) for i in range(10)]

    def settle(phase, written):
        # kube2sky is done when etcd (exact v2 reads see "_" keys) holds what
        # the phase wrote; then a barrier key orders skydns after all of it.
        wait_until(written, 20, what=f"kube2sky wrote phase {phase}")
        conftest.EtcdKV(etcd.url, "v2").put(f"/skydns/local/cluster/barrier-{phase}",
                                            {"host": f"192.0.2.{len(out) + 1}"})
        wait_answer(s, f"barrier-{phase}.cluster.local.", "A", [f"192.0.2.{len(out) + 1}"])
        out[phase] = {f"{n} {t}": answers(s, f"{n}.svc.cluster.local.", t) for n, t in V2_NAMES}

    wait_answer(s, "web.default.svc.cluster.local.", "A", ["10.96.0.50"])
    settle("start", lambda: v2_status(etcd, "default/web/_tcp/_http") == 200)
    a.state.apply(svc_obj("web", ns="prod", ip="10.96.5.1", ports=[("http", 80)] + many))
    a.state.apply(svc_obj("cache", ns="prod", ip="10.96.5.2", ports=[("redis", 6379)] + many[:4]))
    wait_answer(s, "cache.prod.svc.cluster.local.", "A", ["10.96.5.2"])
    settle("added", lambda: v2_status(etcd, "prod/web/_tcp/_p9") == 200
           and v2_status(etcd, "prod/cache/_tcp/_p3") == 200)
    a.state.delete("Service", "prod", "web")
    # kube2sky also removes the directories the delete emptied, "_" ones too
    settle("deleted", lambda: v2_status(etcd, "prod/web") == 404)

    def hidden():
        a.state.delete("Service", "prod", "cache")
        a.state.apply(svc_obj("later", ip="10.96.3.4"))
    a.state.expire(hidden)
    settle("relisted", lambda: v2_status(etcd, "prod/cache") == 404
           and v2_status(etcd, "default/later/_tcp/_http") == 200)
    s.stop()
    k.stop()
    return out


@pytest.mark.parametrize("mode", ["v2"])
def test_v2_phases_repeatable(workdir, etcd, mode, api, kube2sky, skydns):
    """Issue 20: on etcd v2 the same cluster gives the same answers on every
    run. Names below "_" labels are hidden by v2 (NXDOMAIN, as the README
    says) whatever the timing; a deleted Service's names are NXDOMAIN, not
    NODATA left over from a hidden key the mirror saw written."""
    runs = [run_v2_phases(etcd, api, kube2sky, skydns) for _ in range(3)]
    res = runs[0]
    for phase, got in res.items():
        for name, (rc, _) in got.items():
            if name.startswith("_"):
                assert rc == NXDOMAIN, (phase, name, got[name])
    for phase in ("deleted", "relisted"):
        assert res[phase]["web.prod A"] == (NXDOMAIN, [])
    assert res["relisted"]["cache.prod A"] == (NXDOMAIN, [])
    assert res["added"]["web.prod A"] == (0, ["10.96.5.1"])
    assert res["relisted"]["later.default A"] == (0, ["10.96.3.4"])
    for i, other in enumerate(runs[1:], 2):
        assert other == res, f"run {i} differs from run 1"


@pytest.mark.parametrize("mode", ["v2"])
def test_v2_restart_removes_hidden_stale_keys(workdir, etcd, kv, mode, api, kube2sky, skydns):
    """etcd v2 lists no "_" keys, so a kube2sky restarted after Services went
    cannot see their SRV keys: it removes each gone service's directory
    whole, leaving neither hidden keys nor directories behind."""
    a = api()
    k = kube2sky(["--kube-master-url", a.url])
    k.wait_ready()
    k.stop()
    assert v2_status(etcd, "default/web/_tcp/_http") == 200
    a.state.delete("Service", "default", "web")  # while kube2sky is down
    kv.put("/skydns/local/cluster/svc/old/gone/1234abcd", {"host": "10.1.1.1"})
    kv.put("/skydns/local/cluster/svc/old/gone/_tcp/_http/99", {"host": "gone.old.svc.cluster.local.", "port": 80})
    k2 = kube2sky(["--kube-master-url", a.url])
    k2.wait_ready()
    wait_until(lambda: v2_status(etcd, "default/web") == 404 and v2_status(etcd, "old") == 404, 10,
               what="gone services' directories removed")
    assert v2_status(etcd, "default/mail") == 200  # a live service in the same namespace stays
    s = skydns(domain=ZONE)
    wait_answer(s, "mail.default.svc.cluster.local.", "CNAME", ["mail.example.org."])
    for name in ("web.default.svc.cluster.local.", "gone.old.svc.cluster.local."):
        wait_answer(s, name, "A", NXDOMAIN)
