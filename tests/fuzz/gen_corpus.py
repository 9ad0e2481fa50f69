#!/usr/bin/python3
"""Write the seed corpus of the fuzz targets into tests/fuzz/corpus/<target>/.

The files are committed; run this again only to change the seeds
(`/usr/bin/python3 tests/fuzz/gen_corpus.py`). DNS messages are built with
dnspython, etcd bodies follow the shapes recorded from etcd 3.4.23
(shared reference reliability.md section 4), Kubernetes objects are the fake API
server's fixtures (tests/fakeapi/fixtures). Files named regress-* are inputs
that once found a bug: this script never deletes them.
"""
import base64
import json
import os
import sys

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import dns.rrset

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(ROOT, "tests", "fakeapi", "fixtures")


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def b64(s):
    return base64.b64encode(s.encode()).decode()


def query_seeds():
    def q(name, rdtype, **kw):
        m = dns.message.make_query(name, rdtype, **kw)
        m.id = 0x1234
        return m

    seeds = {
        "a": q("web.default.svc.cluster.local.", "A"),
        "aaaa-edns": q("1.rails.east.skydns.local.", "AAAA", use_edns=0, payload=4096),
        "srv-do": q("_http._tcp.web.default.svc.cluster.local.", "SRV", want_dnssec=True),
        "ptr": q("4.3.2.1.in-addr.arpa.", "PTR"),
        "txt-ch": q("version.bind.", "TXT", rdclass="CH"),
        "any": q("skydns.local.", "ANY"),
        "mx-0x20": q("MaIl.SkyDNS.Local.", "MX"),
        "escaped": q("a\\.b\\000c.skydns.local.", "A"),
        "badvers": q("skydns.local.", "SOA", use_edns=1),
        "stub-marker": q("x.example.org.", "A", use_edns=0,
                         options=[dns.edns.GenericOption(65011, b"\x01")]),
        "cookie": q("skydns.local.", "NS", use_edns=0,
                    options=[dns.edns.GenericOption(10, b"\x01\x02\x03\x04\x05\x06\x07\x08")]),
    }
    for name, m in seeds.items():
        write("query", name, m.to_wire())
    notify = q("skydns.local.", "SOA")
    notify.set_opcode(dns.opcode.NOTIFY)
    write("query", "notify", notify.to_wire())
    # Malformed: no question, pointer in the question, counts past the end.
    write("query", "qdcount0", bytes.fromhex("12340100000000000000000000"))
    write("query", "qname-pointer", bytes.fromhex("123401000001000000000000c00c00010001"))
    w = q("a.skydns.local.", "A").to_wire()
    write("query", "arcount-lies", w[:10] + b"\x00\x05" + w[12:])
    # Upstream replies, for the pktwalk half.
    r = dns.message.make_response(q("www.example.org.", "A", use_edns=0))
    r.answer.append(dns.rrset.from_text("www.example.org.", 300, "IN", "A", "192.0.2.1", "192.0.2.2"))
    write("query", "reply-a-edns", r.to_wire())
    r = dns.message.make_response(q("nope.example.org.", "A"))
    r.set_rcode(dns.rcode.NXDOMAIN)
    r.authority.append(dns.rrset.from_text(
        "example.org.", 900, "IN", "SOA", "ns.example.org. host.example.org. 1 7200 3600 1209600 300"))
    write("query", "reply-nxdomain", r.to_wire())
    r = dns.message.make_response(q("alias.example.org.", "A"))
    r.answer.append(dns.rrset.from_text("alias.example.org.", 60, "IN", "CNAME", "www.example.org."))
    r.answer.append(dns.rrset.from_text("www.example.org.", 60, "IN", "A", "192.0.2.7"))
    write("query", "reply-cname", r.to_wire())


def answer_seeds():
    seeds = {
        "a": "e 1 web.skydns.local.\n"
             'web.skydns.local. {"host":"10.0.0.1"}\n'
             'web.skydns.local. {"host":"10.0.0.2","ttl":30}\n',
        "srv-group": "- 33 rails.east.skydns.local.\n"
                     'x1.rails.east.skydns.local. {"host":"10.0.1.1","port":8080,"priority":10,"weight":20}\n'
                     'x2.rails.east.skydns.local. {"host":"db.skydns.local","port":5432,"group":"g1"}\n'
                     'db.skydns.local. {"host":"10.0.9.9"}\n'
                     'x3.rails.east.skydns.local. {"host":"ext.example.org","port":443,"targetstrip":1}\n',
        "mx": "r 15 skydns.local.\n"
              'mail.skydns.local. {"host":"10.0.0.25","mail":true,"priority":5}\n'
              'mx2.skydns.local. {"host":"mx.example.org","mail":true}\n',
        "txt": "d 16 t.skydns.local.\n"
               't.skydns.local. {"host":"","text":"' + "x" * 300 + '"}\n',
        "cname-chain": "e 1 a.skydns.local.\n"
                       'a.skydns.local. {"host":"b.skydns.local"}\n'
                       'b.skydns.local. {"host":"c.skydns.local"}\n'
                       'c.skydns.local. {"host":"a.skydns.local"}\n',
        "wildcard": "- 1 x.svc.skydns.local.\n"
                    'a.svc.skydns.local. {"host":"10.1.0.1"}\n'
                    'b.svc.skydns.local. {"host":"10.1.0.2"}\n',
        "ptr": "- 12 1.0.0.10.in-addr.arpa.\n"
               '/skydns/arpa/in-addr/10/0/0/1 {"host":"web.skydns.local."}\n',
        "stub": "s 1 www.example.com.\n"
                '/skydns/local/skydns/dns/stub/com/example/ns1 {"host":"127.0.0.1","port":5353}\n',
        "expired": "- 1 gone.skydns.local.\n"
                   'gone.skydns.local.@-5 {"host":"10.0.0.5"}\n'
                   'gone.skydns.local.@3600 {"host":"10.0.0.6"}\n',
        "apex-ns-soa": "- 2 skydns.local.\n"
                       '/skydns/local/skydns/dns/ns/ns1 {"host":"10.0.0.53"}\n',
        "local": "l 1 local.dns.skydns.local.\n"
                 'local.skydns.local. {"host":"10.0.0.1"}\n'
                 '1.local.skydns.local. {"host":"10.0.0.9"}\n',
        "chaos": "c 16 version.bind.\n",
        "big-udp": "- 1 many.skydns.local.\n" + "".join(
            'h%d.many.skydns.local. {"host":"10.2.%d.%d"}\n' % (i, i // 250, i % 250) for i in range(120)),
        "tcp": "t 28 v6.skydns.local.\n"
               'v6.skydns.local. {"host":"2001:db8::1"}\n'
               'v6.skydns.local. {"host":"::ffff:10.0.0.1"}\n',
        "forward-denied": "x 1 www.example.org.\n",
    }
    for name, text in seeds.items():
        write("answer", name, text)


def service_seeds():
    seeds = {
        "host": {"host": "10.0.0.1"},
        "full": {"host": "db.skydns.local", "port": 5432, "priority": 10, "weight": 20,
                 "text": "hello", "mail": True, "ttl": 30, "targetstrip": 1, "group": "g"},
        "v6": {"host": "2001:db8::1", "port": 53},
        "nulls": {"host": None, "port": None, "Text": "case"},
        "unknown": {"host": "a", "extra": [1, {"x": 2}], "PORT": 80},
    }
    for name, v in seeds.items():
        write("service", name, json.dumps(v))
    write("service", "bad-port", '{"host":"a","port":70000}')
    write("service", "bad-type", '{"host":5}')
    write("service", "float", '{"host":"a","ttl":1.5}')
    write("service", "escapes", '{"host":"a\\u0000b","text":"\\ud83d\\ude00"}')
    # The same target feeds its input to the live config (/skydns/config).
    write("service", "config", json.dumps({"domain": "skydns.local.", "ttl": 60, "nameservers": ["8.8.8.8:53"],
                                           "round_robin": False, "allow_recursion": ["10.0.0.0/8"],
                                           "rcache": 100, "tcp_timeout": "2s"}))
    write("service", "config-bad", '{"dns_addr":"127.0.0.1:53","ttl":"x"}')


def etcd_seeds():
    node = lambda k, v, i, **kw: dict(key=k, value=v, modifiedIndex=i, createdIndex=i, **kw)
    get = {"action": "get", "node": {"key": "/skydns", "dir": True, "nodes": [
        {"key": "/skydns/local", "dir": True, "expiration": "2026-11-22T04:50:00.123456789Z", "ttl": 60,
         "nodes": [node("/skydns/local/x", json.dumps({"host": "10.0.0.1"}), 5),
                   node("/skydns/local/y", "{}", 6, expiration="2026-11-22T04:50:00+02:00", ttl=30)]}]}}
    write("etcd_v2", "get-nested", json.dumps(get))
    write("etcd_v2", "set", json.dumps({"action": "set", "node": node("/skydns/local/a", '{"host":"1.2.3.4"}', 7),
                                        "prevNode": node("/skydns/local/a", "{}", 3)}))
    write("etcd_v2", "expire", json.dumps({"action": "expire", "node": {"key": "/skydns/local/t", "modifiedIndex": 9},
                                           "prevNode": node("/skydns/local/t", "{}", 8)}))
    write("etcd_v2", "delete-dir", json.dumps({"action": "delete", "node": {"key": "/skydns/local", "dir": True,
                                                                            "modifiedIndex": 10}}))
    write("etcd_v2", "not-found", '{"errorCode":100,"message":"Key not found","cause":"/nope","index":6}')
    write("etcd_v2", "cleared", '{"errorCode":401,"message":"The event in requested index is outdated and cleared",'
                                '"cause":"the requested history has been cleared [19/8]","index":1018}')

    hdr = {"cluster_id": "324952591200643719", "member_id": "3319814642761637952", "revision": "9", "raft_term": "2"}
    kv = lambda k, v, rev, **kw: dict(key=b64(k), create_revision=rev, mod_revision=rev, version="1",
                                      value=b64(v), **kw)
    lines = {
        "created": {"result": {"header": hdr, "created": True}},
        "put": {"result": {"header": hdr, "events": [{"kv": kv("/skydns/local/a", '{"host":"10.0.0.1"}', "9")}]}},
        "put-lease": {"result": {"header": hdr, "events": [
            {"kv": kv("/skydns/local/a", "{}", "10", lease="2324035533476629263")},
            {"kv": kv("/skydns/local/b", "{}", "10")}]}},
        "delete": {"result": {"header": hdr, "events": [
            {"type": "DELETE", "kv": {"key": b64("/skydns/local/a"), "mod_revision": "11"}}]}},
        "progress": {"result": {"header": hdr}},
        "compacted": {"result": {"header": {"cluster_id": "1", "member_id": "2", "raft_term": "2"},
                                 "canceled": True, "compact_revision": "10"}},
        "denied": {"result": {"header": hdr, "watch_id": "-1", "created": True, "canceled": True,
                              "cancel_reason": "rpc error: code = PermissionDenied desc = etcdserver: permission denied"}},
        "shutdown": {"error": {"grpc_code": 14, "http_code": 503, "message": "transport is closing",
                               "http_status": "Service Unavailable"}},
        "range": {"header": hdr, "kvs": [kv("/skydns/local/a", '{"host":"10.0.0.1"}', "4"),
                                         kv("/skydns/local/b", "", "5", lease="7")], "count": "2", "more": True},
        "range-empty": {"header": hdr},
    }
    for name, v in lines.items():
        write("etcd_v3", name, json.dumps(v))
    write("etcd_v3", "bad-b64", '{"result":{"header":{"revision":"3"},"events":[{"kv":{"key":"!!!"}}]}}')


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


def k2s_seeds():
    names = sorted(os.listdir(FIXTURES))
    objs = {n[:-5]: fixture(n) for n in names if n.endswith(".json")}
    for name, o in objs.items():
        write("k2s_object", name, json.dumps(o))
    write("k2s_object", "headless-slice",
          json.dumps([objs["service-headless"], objs["endpointslice-headless"]]))
    write("k2s_object", "headless-v1",
          json.dumps([objs["service-headless"], objs["endpoints-headless"]]))
    write("k2s_object", "clusterip", json.dumps([objs["service-clusterip"]]))
    write("k2s_object", "dualstack", json.dumps([objs["service-dualstack"]]))
    write("k2s_object", "external", json.dumps([objs["service-externalname"]]))

    def stream(chunk, events):
        return bytes([chunk]) + "".join(json.dumps(e) + "\n" for e in events).encode()

    svc = objs["service-clusterip"]
    svc = dict(svc, metadata=dict(svc["metadata"], resourceVersion="1042"))
    bookmark = {"type": "BOOKMARK", "object": {"kind": "Service", "apiVersion": "v1",
                                               "metadata": {"resourceVersion": "2000",
                                                            "annotations": {"k8s.io/initial-events-end": "true"}}}}
    gone = {"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                        "message": "too old resource version: 100 (2000)", "reason": "Expired",
                                        "code": 410}}
    write("k2s_watch", "added-modified", stream(7, [{"type": "ADDED", "object": svc},
                                                    {"type": "MODIFIED", "object": svc}]))
    write("k2s_watch", "deleted", stream(1, [{"type": "DELETED", "object": svc}, bookmark]))
    write("k2s_watch", "expired", stream(63, [gone]))
    write("k2s_watch", "crlf-blank", bytes([5]) + b"\r\n\n" + json.dumps(bookmark).encode() + b"\r\n{\"type\":\"ADD")


KUBECONFIG = """apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: dev
  cluster:
    server: https://dev.example:6443
    insecure-skip-tls-verify: true
- name: prod-cluster
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: pki/ca.crt
    tls-server-name: kubernetes
contexts:
- name: dev
  context: {cluster: dev, user: dev}
- name: prod
  context:
    cluster: prod-cluster
    user: admin
    namespace: kube-system
users:
- name: dev
  user:
    token: devtoken
- name: admin
  user:
    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
    client-key: /etc/k/admin.key
    token: "abc.def"
"""


def kubeconfig_seeds():
    write("kubeconfig", "full", KUBECONFIG)
    write("kubeconfig", "dev", KUBECONFIG.replace("current-context: prod", "current-context: dev"))
    write("kubeconfig", "ca-data", "current-context: c\nclusters:\n- name: k\n  cluster:\n"
          "    server: https://10.0.0.1\n    certificate-authority-data: " + b64("-----BEGIN CERTIFICATE-----\n")
          + "\ncontexts:\n- name: c\n  context:\n    cluster: k\n    user: u\n"
          "users:\n- name: u\n  user:\n    tokenFile: token\n")
    write("kubeconfig", "exec", "current-context: c\nclusters: [{name: k, cluster: {server: 'https://x'}}]\n"
          "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
          "users: [{name: u, user: {exec: {command: aws}}}]\n")
    write("kubeconfig", "anchors", "base: &b {server: 'https://a'}\ncurrent-context: c\n"
          "clusters: [{name: k, cluster: *b}]\ncontexts: [{name: c, context: {cluster: k}}]\n")
    write("kubeconfig", "broken", "current-context: [\n")


def main():
    query_seeds()
    answer_seeds()
    service_seeds()
    etcd_seeds()
    k2s_seeds()
    kubeconfig_seeds()
    return 0


if __name__ == "__main__":
    sys.exit(main())
