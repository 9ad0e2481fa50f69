"""kube2sky at scale (issue 19): on etcd v3 the writes of many Services go
in few /v3/kv/txn requests, the txn size adapts to etcd's --max-txn-ops, a
Service changed many times while queued is written once with its latest
state, and a batch of updates never leaves an existing name without an
answer.

Reuses test_kube2sky's fake API server, kube2sky, etcd and skydns fixtures.
"""

import base64
import json
import os
import signal
import threading
import time
import urllib.request

import conftest
import test_kube2sky as k2s
from conftest import _http, b64, wait_until
from test_kube2sky import api, kube2sky, mode, skydns, svc_obj, slice_obj  # noqa: F401
from test_kube2sky_ops import scrape, val

SVC_DIR = "/skydns/local/cluster/svc/"


def gen_services(n, ns="load", gen=0):
    """n Services: every third-ish (30 %) headless with 3 ready endpoints,
    the rest ClusterIP with 2 named ports; gen shifts addresses and ports
    (an update of every Service)."""
    objs = []
    for i in range(n):
        name = f"s{i}"
        if i % 10 < 3:
            objs.append(svc_obj(name, ns=ns, ip="None", ports=(("sql", 5432),)))
            eps = [(f"10.{100 + gen}.{i // 250}.{(i % 250) + 1}", None, True),
                   (f"10.{110 + gen}.{i // 250}.{(i % 250) + 1}", None, True),
                   (f"10.{120 + gen}.{i // 250}.{(i % 250) + 1}", None, True)]
            objs.append(slice_obj(name, ns, eps, name=f"{name}-x"))
        else:
            objs.append(svc_obj(name, ns=ns, ip=f"10.{96 + gen}.{i // 250}.{(i % 250) + 1}",
                                ports=(("http", 80 + gen), ("metrics", 9100 + gen))))
    return objs


def want_a(i, ns="load", gen=0):
    """The A answer of Service i of gen_services."""
    if i % 10 < 3:
        return sorted(f"10.{b + gen}.{i // 250}.{(i % 250) + 1}" for b in (100, 110, 120))
    return [f"10.{96 + gen}.{i // 250}.{(i % 250) + 1}"]


def revision(etcd):
    st, body = _http("POST", etcd.url + "/v3/kv/range", {"key": b64("/nothing-here")})
    assert st == 200, body
    return int(body["header"]["revision"])


def load_api(api, n, gen=0):
    a = api(fixtures=[])
    for o in gen_services(n, gen=gen):
        a.state.apply(o)
    return a


def wait_all_written(etcd, n, gen=0, timeout=30):
    """Every Service's A record in etcd carries gen's address."""
    def done():
        vals = " ".join(v for v, _ in k2s.etcd_keys(etcd, SVC_DIR + "load/").values())
        return all(all(f'"{ip}"' in vals for ip in want_a(i, gen=gen)) for i in range(n))
    wait_until(done, timeout, what=f"all {n} services written (gen {gen})")


def test_batch_lands_in_few_requests(workdir, etcd, api, kube2sky, skydns):
    """400 Services (1,560 keys) take far fewer etcd requests than
    keys: etcd's revision (one per write request) and kube2sky's own
    request counter both stay a fraction of the key count."""
    n = 400
    a = load_api(api, n)
    rev0 = revision(etcd)
    k = kube2sky(["--kube-master-url", a.url])
    k.wait_ready(timeout=60)
    wait_all_written(etcd, n)
    keys = len(k2s.etcd_keys(etcd, SVC_DIR + "load/"))
    assert keys >= 3 * n, keys
    m = scrape(k)
    puts = val(m, "kube2sky_etcd_writes_total", op="put")
    requests = val(m, "kube2sky_etcd_requests_total")
    assert puts >= keys, (puts, keys)
    # write txns + kube2sky's reads (the start-up range reads, the marker)
    assert requests * 10 < keys, (requests, keys)
    assert revision(etcd) - rev0 < keys / 10, (revision(etcd) - rev0, keys)
    s = skydns(domain=k2s.ZONE)
    for i in (0, 1, 5, n - 1):
        k2s.wait_answer(s, f"s{i}.load.svc.cluster.local.", "A", want_a(i))
    assert val(m, "kube2sky_queue_length") == 0
    assert val(m, "kube2sky_queue_wait_seconds_count") >= n


def test_txn_limit_fallback(workdir, api, kube2sky):
    """etcd started with --max-txn-ops 8 refuses kube2sky's first 128-op
    transactions: kube2sky halves down to 8, writes everything, still far
    fewer requests than keys."""
    small = conftest.Etcd(os.path.join(workdir, "small"), extra=["--max-txn-ops", "8"])
    os.makedirs(small.dir.rsplit("/", 1)[0], exist_ok=True)
    small.start()
    try:
        n = 120
        a = load_api(api, n)
        k = kube2sky(["--kube-master-url", a.url], etcd_url=small.url)
        k.wait_ready(timeout=60)
        wait_all_written(small, n)
        keys = len(k2s.etcd_keys(small, SVC_DIR + "load/"))
        requests = val(scrape(k), "kube2sky_etcd_requests_total")
        assert requests < keys / 3, (requests, keys)
        assert requests > keys / 8 - 1, (requests, keys)  # no txn above the limit landed
        assert k.health("/readyz")[0] == 200
        assert "etcd: " not in k.health("/readyz")[1]
    finally:
        small.stop()


def history(etcd, prefix, after, upto):
    """(type, key) of every etcd event under prefix in revisions
    (after, upto], replayed by a v3 watch from after + 1."""
    end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    req = json.dumps({"create_request": {"key": b64(prefix), "range_end": b64(end),
                                         "start_revision": str(after + 1),
                                         "progress_notify": True}}).encode()
    out, deadline = [], time.monotonic() + 10
    with urllib.request.urlopen(urllib.request.Request(etcd.url + "/v3/watch", data=req,
                                                       method="POST"), timeout=5) as r:
        while time.monotonic() < deadline:
            res = json.loads(r.readline()).get("result", {})
            for ev in res.get("events", []):
                out.append((ev.get("type", "PUT"), base64.b64decode(ev["kv"]["key"]).decode()))
            if int(res.get("header", {}).get("revision", 0)) >= upto and not res.get("created"):
                return out
    raise AssertionError(f"history up to {upto} not replayed: {out}")


def a_key_puts(events, svc_dir):
    """PUT events of a ClusterIP service's address key (not its _port SRVs)."""
    return [key for typ, key in events
            if typ == "PUT" and key.startswith(svc_dir) and "/_" not in key[len(svc_dir) - 1:]]


def test_service_changed_while_queued_written_once(workdir, etcd, api, kube2sky, skydns):
    """While etcd hangs (SIGSTOP) one Service changes 20 times: kube2sky
    queues it once and, when etcd is back, writes only its latest state."""
    a = api(fixtures=[])
    a.state.apply(svc_obj("churn", ip="10.96.7.1"))
    a.state.apply(svc_obj("other", ip="10.96.8.1"))
    k = kube2sky(["--kube-master-url", a.url])
    k.wait_ready()
    s = skydns(domain=k2s.ZONE)
    k2s.wait_answer(s, "churn.default.svc.cluster.local.", "A", ["10.96.7.1"])
    d = SVC_DIR + "default/churn/"
    rev0 = revision(etcd)
    etcd.proc.send_signal(signal.SIGSTOP)
    try:
        for i in range(2, 22):
            a.state.apply(svc_obj("churn", ip=f"10.96.7.{i}"))
        time.sleep(1)  # the informer has seen them; the writer waits on etcd
    finally:
        etcd.proc.send_signal(signal.SIGCONT)
    k2s.wait_answer(s, "churn.default.svc.cluster.local.", "A", ["10.96.7.21"], timeout=30)
    vals = [v for v, _ in k2s.etcd_keys(etcd, d).values() if '"host"' in v and "10.96.7." in v]
    assert vals == [v for v in vals if '"10.96.7.21"' in v] and len(vals) == 1, vals
    events = history(etcd, d, rev0, revision(etcd))
    puts = a_key_puts(events, d)
    assert 1 <= len(puts) <= 2, events  # not 20
    k2s.wait_answer(s, "other.default.svc.cluster.local.", "A", ["10.96.8.1"])


def test_batch_update_no_nxdomain(workdir, etcd, api, kube2sky, skydns):
    """Every one of 200 Services changes address and ports at once (batches
    of puts and deletes): names queried throughout never go NXDOMAIN or
    empty, and no service's address key set is ever empty in etcd."""
    n = 200
    a = load_api(api, n)
    k = kube2sky(["--kube-master-url", a.url])
    k.wait_ready(timeout=60)
    s = skydns(domain=k2s.ZONE)
    probe = [0, 3, 4, 57, 150, 199]
    for i in probe:
        k2s.wait_answer(s, f"s{i}.load.svc.cluster.local.", "A", want_a(i))
    bad, stop = [], threading.Event()

    def hammer(name, rdtype):
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                rc, got = k2s.answers(s, name, rdtype)
            except Exception as e:  # noqa: BLE001 - a timeout is a failure too
                bad.append((name, repr(e)))
                continue
            if rc != 0 or not got:
                bad.append((name, rdtype, rc, got))
    names = [(f"s{i}.load.svc.cluster.local.", "A") for i in probe]
    names.append(("_http._tcp.s4.load.svc.cluster.local.", "SRV"))
    threads = [threading.Thread(target=hammer, args=nt) for nt in names]
    watch = k2s.EtcdPrefixWatch(etcd, SVC_DIR + "load/")
    for t in threads:
        t.start()
    try:
        for gen in (1, 2):
            for o in gen_services(n, gen=gen):
                a.state.apply(o)
            wait_all_written(etcd, n, gen=gen, timeout=40)
            for i in probe:
                k2s.wait_answer(s, f"s{i}.load.svc.cluster.local.", "A", want_a(i, gen=gen))
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        watch.close()
    assert not bad, bad[:10]
    assert len(watch.events) >= 2 * n, len(watch.events)
    for i in probe + [10, 11]:
        d = f"{SVC_DIR}load/s{i}/"
        assert watch.empty_moments(lambda key: key.startswith(d) and "/_" not in key[len(d) - 1:]) == 0, i


def test_sync_gauge_waits_for_the_relist(workdir, etcd, api, kube2sky):
    """After a 410 the relist takes 4 s (the fake API server delays every
    LIST page): kube2sky_last_sync_timestamp_seconds stays at its value from
    before the relist until the relist has landed, then moves on."""
    a = api(fixtures=["service-clusterip.json"])
    k = kube2sky(["--kube-master-url", a.url])
    k.wait_ready()
    time.sleep(1.2)  # the gauge (whole seconds) is past the start
    a.state.list_delay = 4.0
    t_exp = time.time()
    a.state.expire()
    time.sleep(2.5)  # inside the relist
    g = val(scrape(k), "kube2sky_last_sync_timestamp_seconds")
    assert g <= t_exp + 1, (g, t_exp)
    a.state.list_delay = 0.0
    wait_until(lambda: val(scrape(k), "kube2sky_last_sync_timestamp_seconds") >= t_exp + 3, 20,
               what="gauge moves after the relist")
    assert "listed services" in k.logs()


def test_address_moves_between_services_in_one_batch(workdir, etcd, api, kube2sky, skydns):
    """A pod address leaves headless Service a and joins headless b while
    both wait in the queue (etcd hung while writing c): one batch deletes a's PTR key and
    puts b's, the same key, which etcd refuses twice in one txn; kube2sky
    splits the txn there, and the PTR names b."""
    a = api(fixtures=[])
    for n in ("a", "b"):
        a.state.apply(svc_obj(n, ns="db", ip="None", ports=(("sql", 5432),)))
    a.state.apply(slice_obj("a", "db", [("10.244.9.9", None, True), ("10.244.9.1", None, True)],
                            name="a-1"))
    a.state.apply(slice_obj("b", "db", [("10.244.9.2", None, True)], name="b-1"))
    a.state.apply(svc_obj("c", ns="db", ip="10.96.9.1"))
    k = kube2sky(["--kube-master-url", a.url])
    k.wait_ready()
    s = skydns(domain=k2s.ZONE)
    ptr = "9.9.244.10.in-addr.arpa."
    k2s.wait_answer(s, ptr, "PTR", ["10-244-9-9.a.db.svc.cluster.local."])
    etcd.proc.send_signal(signal.SIGSTOP)
    try:
        # c's write hangs on etcd, so a and b wait together, a first
        a.state.apply(svc_obj("c", ns="db", ip="10.96.9.2"))
        time.sleep(0.5)
        a.state.apply(slice_obj("a", "db", [("10.244.9.1", None, True)], name="a-1"))
        a.state.apply(slice_obj("b", "db", [("10.244.9.2", None, True), ("10.244.9.9", None, True)],
                                name="b-1"))
        time.sleep(1)
    finally:
        etcd.proc.send_signal(signal.SIGCONT)
    k2s.wait_answer(s, ptr, "PTR", ["10-244-9-9.b.db.svc.cluster.local."], timeout=30)
    k2s.wait_answer(s, "b.db.svc.cluster.local.", "A", ["10.244.9.2", "10.244.9.9"])
    k2s.wait_answer(s, "a.db.svc.cluster.local.", "A", ["10.244.9.1"])
    assert "duplicate key" not in k.logs()
