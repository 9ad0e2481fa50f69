"""The etcd mirror, end to end: a real etcd 3.4 (v2 keys API and v3 JSON
gateway), the real skydns binary, dnspython queries.

Every test that can be is parametrized over v2 and v3 (`mode`). Waits are
bounded (wait_until); nothing here measures speed.
"""

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

import dns.rcode

from conftest import (ETCD_BIN, Etcd, EtcdKV, SkyDNS, _http, b64, free_port, query, rdatas,
                      rrset_texts, stop_pid, wait_until)

DOM = "skydns.local."
BASE = "/skydns/local/skydns"
NO_FORWARD = ["-nameservers", "127.0.0.1:9"]  # nothing outside the domain is asked


def a_of(sky, name):
    r = query(sky, name, "A")
    return r.rcode(), rdatas(r, "A")


def answers(sky, name, want):
    """Poll until `name` A resolves to exactly `want` (sorted list)."""
    return wait_until(lambda: a_of(sky, name) == (dns.rcode.NOERROR, sorted(want)),
                      timeout=5, what=f"{name} -> {want}")


def gone(sky, name):
    return wait_until(lambda: query(sky, name, "A").rcode() == dns.rcode.NXDOMAIN,
                      timeout=5, what=f"{name} NXDOMAIN")


def log_lines(sky, needle):
    return [l for l in sky.logs().splitlines() if needle in l]


def test_initial_load(kv, skydns):
    kv.put(BASE + "/east/a", {"host": "10.0.0.1"})
    kv.put(BASE + "/east/b", {"host": "10.0.0.2", "ttl": 77})
    sky = skydns(NO_FORWARD)
    assert a_of(sky, "a.east." + DOM) == (dns.rcode.NOERROR, ["10.0.0.1"])
    r = query(sky, "b.east." + DOM, "A")
    assert rdatas(r) == ["10.0.0.2"] and r.answer[0].ttl == 77
    assert rdatas(query(sky, "east." + DOM, "A")) == ["10.0.0.1", "10.0.0.2"]


def test_update_and_delete_without_restart(kv, skydns):
    kv.put(BASE + "/a", {"host": "10.0.0.1"})
    sky = skydns(NO_FORWARD)
    kv.put(BASE + "/new", {"host": "10.0.0.9"})
    answers(sky, "new." + DOM, ["10.0.0.9"])
    kv.put(BASE + "/new", {"host": "10.0.0.10"})
    answers(sky, "new." + DOM, ["10.0.0.10"])
    kv.delete(BASE + "/new")
    gone(sky, "new." + DOM)
    # a whole directory at once (v2: one event for the dir; v3: one per key)
    kv.put(BASE + "/dir/x/1", {"host": "10.0.1.1"})
    kv.put(BASE + "/dir/y", {"host": "10.0.1.2"})
    answers(sky, "dir." + DOM, ["10.0.1.1", "10.0.1.2"])
    kv.delete(BASE + "/dir", recursive=True)
    gone(sky, "1.x.dir." + DOM)
    gone(sky, "y.dir." + DOM)
    assert a_of(sky, "a." + DOM) == (dns.rcode.NOERROR, ["10.0.0.1"])


def test_cached_reply_never_outlives_a_publish(kv, skydns):
    """Each worker caches finished replies for the current snapshot and the
    current second. A change must show at once, not at the next second:
    each round starts just after a second begins, asks until the reply is
    cached, changes the record, and needs the new address well before the
    second is over (a cache keyed on time alone would answer the old one
    until then)."""
    kv.put(BASE + "/hot", {"host": "10.0.7.0"})
    sky = skydns(NO_FORWARD)
    answers(sky, "hot." + DOM, ["10.0.7.0"])
    for i in range(1, 4):
        wait_until(lambda: time.time() % 1.0 < 0.05, timeout=2, interval=0.005,
                   what="the start of a second")
        for _ in range(20):
            assert a_of(sky, "hot." + DOM)[1] == [f"10.0.7.{i - 1}"]
        kv.put(BASE + "/hot", {"host": f"10.0.7.{i}"})
        t0 = time.time()
        wait_until(lambda: a_of(sky, "hot." + DOM)[1] == [f"10.0.7.{i}"], timeout=5,
                   interval=0.002, what=f"hot -> 10.0.7.{i}")
        took, frac = time.time() - t0, t0 % 1.0
        assert took < 0.5 and frac + took < 0.95, (took, frac)


def test_whole_prefix_deleted(kv, skydns):
    kv.put("/skydns/config", {"ttl": 120})
    kv.put(BASE + "/a", {"host": "10.0.0.1"})
    kv.put(BASE + "/x/y", {"host": "10.0.0.2"})
    sky = skydns(NO_FORWARD)
    assert query(sky, "a." + DOM, "A").answer[0].ttl == 120
    kv.delete("/skydns", recursive=True)
    gone(sky, "a." + DOM)
    gone(sky, "y.x." + DOM)
    kv.put(BASE + "/b", {"host": "10.0.0.3"})
    answers(sky, "b." + DOM, ["10.0.0.3"])
    assert query(sky, "b." + DOM, "A").answer[0].ttl == 3600  # the config went too


def test_malformed_value_skipped_once(kv, skydns):
    kv.put(BASE + "/svc/good", {"host": "10.0.0.1"})
    kv.put(BASE + "/svc/bad", '{"host":"10.0.0.2","port":"8080"}')  # port as a string
    sky = skydns(NO_FORWARD)
    assert a_of(sky, "good.svc." + DOM) == (dns.rcode.NOERROR, ["10.0.0.1"])
    assert rdatas(query(sky, "svc." + DOM, "A")) == ["10.0.0.1"]
    assert query(sky, "bad.svc." + DOM, "A").rcode() == dns.rcode.NXDOMAIN
    # a bad value arriving through the watch is skipped the same way
    kv.put(BASE + "/svc/bad2", "not json at all")
    kv.put(BASE + "/svc/later", {"host": "10.0.0.3"})
    answers(sky, "later.svc." + DOM, ["10.0.0.3"])
    assert len(log_lines(sky, f"key={BASE}/svc/bad:")) == 1, sky.logs()
    assert len(log_lines(sky, f"key={BASE}/svc/bad2:")) == 1, sky.logs()
    assert not log_lines(sky, f"key={BASE}/svc/good")
    # fixing the value brings it back
    kv.put(BASE + "/svc/bad", {"host": "10.0.0.2", "port": 8080})
    answers(sky, "bad.svc." + DOM, ["10.0.0.2"])


def scrape_skipped(port):
    """skydns_skydns_mirror_skipped_keys_total by reason, from /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("skydns_skydns_mirror_skipped_keys_total{"):
            reason = line.split('reason="', 1)[1].split('"', 1)[0]
            out[reason] = float(line.rsplit(" ", 1)[1])
    return out


def srv_targets(sky, name):
    r = query(sky, name, "SRV")
    return r.rcode(), sorted(t.split()[-1] for t in rrset_texts(r) if " SRV " in t)


def test_poison_keys_skipped_alone(kv, skydns, mode):
    """Issue 12: a key whose name is not a DNS name, or whose host is neither
    an address nor a name, is skipped with one log line and counted; A, SRV
    of its directory and SRV of the apex still answer with the good data."""
    web = BASE + "/web"
    kv.put(web + "/1", {"host": "10.0.0.1", "port": 80})
    kv.put(web + "/2", {"host": "10.0.0.2", "port": 8080})
    kv.put(BASE + "/other/3", {"host": "10.0.0.3", "port": 53})
    poison = {
        web + "/" + "x" * 74: ("bad_name", {"host": "10.0.0.9", "port": 80}),  # label > 63
        web + "/a..b": ("bad_name", {"host": "10.0.0.8", "port": 80}),  # empty label
        web + "/" + "/".join(["n" * 50] * 5): ("bad_name", {"host": "10.0.0.7", "port": 80}),  # > 255
        web + "/longhost": ("bad_host", {"host": "h" * 64 + ".example.com", "port": 80}),
        web + "/dothost": ("bad_host", {"host": "db..example.com", "port": 80}),
        web + "/badjson": ("bad_json", "not json at all"),
    }
    if mode == "v3":  # v2 cleans "//" out of a key; a v3 key keeps the empty element
        poison[web + "//c"] = ("bad_name", {"host": "10.0.0.6", "port": 80})
    for key, (_, value) in poison.items():
        kv.put(key, value)
    mport = free_port()
    sky = skydns(NO_FORWARD + ["-metrics-addr", f"127.0.0.1:{mport}"])

    # one more of each kind of name through the watch, then a good key after it
    late = {web + "/" + "y" * 64: ("bad_name", {"host": "10.0.0.5", "port": 80}),
            web + "/latehost": ("bad_host", {"host": "a" * 70, "port": 80})}
    for key, (_, value) in late.items():
        kv.put(key, value)
    poison.update(late)
    kv.put(web + "/4", {"host": "10.0.0.4", "port": 80})
    answers(sky, "4.web." + DOM, ["10.0.0.4"])

    good_web = ["1.web." + DOM, "2.web." + DOM, "4.web." + DOM]
    assert a_of(sky, "1.web." + DOM) == (dns.rcode.NOERROR, ["10.0.0.1"])
    assert a_of(sky, "web." + DOM) == (dns.rcode.NOERROR, ["10.0.0.1", "10.0.0.2", "10.0.0.4"])
    assert srv_targets(sky, "web." + DOM) == (dns.rcode.NOERROR, good_web)
    assert srv_targets(sky, DOM) == (dns.rcode.NOERROR, sorted(good_web + ["3.other." + DOM]))
    assert query(sky, "longhost.web." + DOM, "A").rcode() == dns.rcode.NXDOMAIN

    for key in poison:
        assert len(log_lines(sky, f"skipping key={key}:")) == 1, (key, sky.logs())
    assert not log_lines(sky, f"key={web}/1:")
    want = {}
    for reason, _ in poison.values():
        want[reason] = want.get(reason, 0) + 1
    assert scrape_skipped(mport) == want

    # rebuilds (a good change) and a fixed key do not log or count again
    kv.put(web + "/longhost", {"host": "10.0.0.10", "port": 80})
    answers(sky, "longhost.web." + DOM, ["10.0.0.10"])
    for key in poison:
        assert len(log_lines(sky, f"skipping key={key}:")) == 1, (key, sky.logs())
    assert scrape_skipped(mport) == want


def test_etcd_restart_keeps_serving(etcd, kv, skydns):
    kv.put(BASE + "/a", {"host": "10.0.0.1"})
    sky = skydns(NO_FORWARD)
    etcd.stop()
    # served from the last snapshot while etcd is gone (several retries' worth)
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        assert a_of(sky, "a." + DOM) == (dns.rcode.NOERROR, ["10.0.0.1"])
        time.sleep(0.25)
    down = log_lines(sky, "etcd unavailable")
    assert len(down) == 1, sky.logs()  # one line per state change, not per retry
    etcd.start()
    kv.put(BASE + "/b", {"host": "10.0.0.2"})
    answers(sky, "b." + DOM, ["10.0.0.2"])
    assert a_of(sky, "a." + DOM) == (dns.rcode.NOERROR, ["10.0.0.1"])
    wait_until(lambda: log_lines(sky, "reconnected to etcd"), timeout=5, what="reconnect log")
    assert sky.proc.poll() is None


def test_etcd_down_at_start(etcd, kv, skydns):
    kv.put(BASE + "/a", {"host": "10.0.0.1"})
    etcd.stop()
    sky = skydns(NO_FORWARD, start=False)
    sky.start(wait=False)
    wait_until(lambda: log_lines(sky, "etcd unavailable"), timeout=5, what="down log")
    etcd.start()
    answers(sky, "a." + DOM, ["10.0.0.1"])


def test_ttl_key_expires(kv, skydns):
    sky = skydns(NO_FORWARD)
    t0 = time.monotonic()
    kv.put(BASE + "/tmp", {"host": "10.0.0.5"}, ttl=4)
    answers(sky, "tmp." + DOM, ["10.0.0.5"])
    r = query(sky, "tmp." + DOM, "A")
    # bounded by the key's lifetime, not the default 3600 (and for v3 not
    # the lease ID, SkyDNS's bug); it counts down
    assert 0 < r.answer[0].ttl <= 4, r.answer[0].ttl
    time.sleep(1.1)
    later = query(sky, "tmp." + DOM, "A")
    if later.answer:
        assert later.answer[0].ttl < r.answer[0].ttl
    gone(sky, "tmp." + DOM)
    # etcd reports whole seconds, so the record may go a little early
    assert time.monotonic() - t0 >= 2.0


def test_ttl_refreshed_without_event(etcd, kv, skydns, mode):
    """v3 lease keepalive and v2 refresh=true emit no watch event; the record
    must outlive its first expiry as long as etcd keeps the key."""
    sky = skydns(NO_FORWARD)
    key = BASE + "/kept"
    if mode == "v3":
        st, lease = _http("POST", etcd.url + "/v3/lease/grant", {"TTL": 3})
        kv_req = {"key": b64(key), "value": b64('{"host":"10.0.7.1"}'), "lease": lease["ID"]}
        assert _http("POST", etcd.url + "/v3/kv/put", kv_req)[0] == 200

        def refresh():
            st, _ = _http("POST", etcd.url + "/v3/lease/keepalive", {"ID": lease["ID"]})
            assert st == 200
    else:
        kv.put(key, {"host": "10.0.7.1"}, ttl=3)

        def refresh():
            st, body = _http("PUT", etcd.url + "/v2/keys" + key,
                             "ttl=3&refresh=true&prevExist=true")
            assert st == 200, body
    answers(sky, "kept." + DOM, ["10.0.7.1"])
    end = time.monotonic() + 7  # more than two lifetimes
    while time.monotonic() < end:
        refresh()
        assert a_of(sky, "kept." + DOM) == (dns.rcode.NOERROR, ["10.0.7.1"])
        time.sleep(0.5)
    gone(sky, "kept." + DOM)  # no more refreshes: it goes


def test_v3_compaction_while_running(workdir, etcd):
    kv = EtcdKV(etcd.url, "v3")
    sky = SkyDNS(workdir, etcd.url, "v3", NO_FORWARD).start()
    try:
        for i in range(20):
            kv.put(BASE + "/c/k", {"host": f"10.0.2.{i}"})
        answers(sky, "k.c." + DOM, ["10.0.2.19"])
        kv.compact()
        kv.put(BASE + "/c/after", {"host": "10.0.2.100"})
        answers(sky, "after.c." + DOM, ["10.0.2.100"])
    finally:
        sky.stop()


def test_history_lost_while_stopped(kv, skydns):
    """v2: >1000 events while skydns is SIGSTOPped => 'index cleared'; v3:
    many events then a compaction. Either way the mirror converges."""
    kv.put(BASE + "/h/a", {"host": "10.0.3.1"})
    sky = skydns(NO_FORWARD)
    answers(sky, "a.h." + DOM, ["10.0.3.1"])
    os.kill(sky.proc.pid, signal.SIGSTOP)
    try:
        pad = "x" * 512
        for i in range(1100):
            kv.put(BASE + "/h/churn", {"host": "10.0.4.1", "text": f"{i}{pad}"})
        kv.delete(BASE + "/h/a")
        kv.put(BASE + "/h/b", {"host": "10.0.3.2"})
        if kv.mode == "v3":
            kv.compact()
    finally:
        os.kill(sky.proc.pid, signal.SIGCONT)
    gone(sky, "a.h." + DOM)
    answers(sky, "b.h." + DOM, ["10.0.3.2"])
    kv.put(BASE + "/h/c", {"host": "10.0.3.3"})
    answers(sky, "c.h." + DOM, ["10.0.3.3"])
    if kv.mode == "v2":
        assert log_lines(sky, "re-reading prefix"), sky.logs()


def test_bad_config_keeps_previous(kv, skydns):
    kv.put(BASE + "/a", {"host": "10.0.0.1"})
    kv.put("/skydns/config", {"ttl": 120})
    sky = skydns(NO_FORWARD)
    wait_until(lambda: query(sky, "a." + DOM, "A").answer[0].ttl == 120, timeout=5,
               what="ttl from /skydns/config")
    kv.put("/skydns/config", '{"ttl":"not a number"}')
    wait_until(lambda: log_lines(sky, "key=/skydns/config"), timeout=5, what="bad config log")
    kv.put(BASE + "/b", {"host": "10.0.0.2"})
    answers(sky, "b." + DOM, ["10.0.0.2"])  # the bad config did not stop the mirror
    assert query(sky, "b." + DOM, "A").answer[0].ttl == 120
    assert query(sky, "a." + DOM, "A").answer[0].ttl == 120
    kv.put("/skydns/config", {"ttl": 90})
    wait_until(lambda: query(sky, "a." + DOM, "A").answer[0].ttl == 90, timeout=5,
               what="good config applied again")
    kv.delete("/skydns/config")
    wait_until(lambda: query(sky, "a." + DOM, "A").answer[0].ttl == 3600, timeout=5,
               what="config deleted: default ttl")
    # a key that cannot change live is named in the log; the server keeps going
    kv.put("/skydns/config", {"dns_addr": "127.0.0.1:1", "ttl": 100})
    wait_until(lambda: query(sky, "a." + DOM, "A").answer[0].ttl == 100, timeout=5,
               what="config with dns_addr applied")
    restart = log_lines(sky, "need a restart")
    assert len(restart) == 1 and "dns_addr" in restart[0], sky.logs()


def test_sighup_reload(kv, skydns):
    kv.put(BASE + "/a", {"host": "10.0.0.1"})
    sky = skydns(NO_FORWARD)
    os.kill(sky.proc.pid, signal.SIGHUP)
    wait_until(lambda: log_lines(sky, "reload: re-reading key=/skydns/config"), timeout=5,
               what="reload log")
    assert a_of(sky, "a." + DOM) == (dns.rcode.NOERROR, ["10.0.0.1"])


DATA = {
    "/east/a": {"host": "10.0.0.1"},
    "/east/b": {"host": "10.0.0.2", "port": 80, "priority": 20, "weight": 30},
    "/east/c": {"host": "2001:db8::1", "ttl": 60},
    "/east/web": {"host": "www.example.net", "port": 443},
    "/east/mail": {"host": "10.0.0.3", "mail": True, "priority": 5},
    "/east/txt": {"text": "hello world"},
    "/west/x/1": {"host": "10.1.0.1", "group": "g"},
}
QUESTIONS = [("a.east", "A"), ("east", "A"), ("east", "SRV"), ("c.east", "AAAA"),
             ("east", "MX"), ("txt.east", "TXT"), ("web.east", "CNAME"), ("west", "A"),
             ("nope.east", "A"), ("b.east", "SRV")]


def test_v2_and_v3_answer_alike(workdir, etcd):
    skies = []
    try:
        for mode in ("v2", "v3"):
            kv = EtcdKV(etcd.url, mode)
            for k, v in DATA.items():
                kv.put(BASE + k, v)
            skies.append(SkyDNS(workdir, etcd.url, mode, NO_FORWARD).start())
        for name, qtype in QUESTIONS:
            r2, r3 = (query(s, f"{name}.{DOM}", qtype) for s in skies)
            assert r2.rcode() == r3.rcode(), (name, qtype)
            for section in ("answer", "authority", "additional"):
                assert rrset_texts(r2, section) == rrset_texts(r3, section), (name, qtype, section)
        assert rdatas(query(skies[1], f"a.east.{DOM}", "A")) == ["10.0.0.1"]
    finally:
        for s in skies:
            s.stop()


# ---------------------------------------------------------------- the etcd client itself
# (dns/etcd.c through tests/tools/etcd_tool, the same code kube2sky links)

TOOL = os.path.join(os.environ.get("SKYDNS_BUILD", "build"), "tests", "etcd_tool")


def tool(mode, urls, *args, auth=None, tls=None, timeout=20):
    cmd = [TOOL] + (["-3"] if mode == "v3" else [])
    if auth:
        cmd += ["-u", auth[0], "-p", auth[1]]
    if tls:
        cmd += ["-c", tls["ca"], "-C", tls["cert"], "-K", tls["key"]]
    cmd += ["-m", ",".join(urls) if isinstance(urls, (list, tuple)) else urls]
    cmd += [str(a) for a in args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def listing(mode, url, prefix, **kw):
    rc, out, err = tool(mode, url, "list", prefix, **kw)
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[-1].startswith("revision ")
    return {l.split("\t")[0]: (int(l.split("\t")[1]), l.split("\t", 2)[2]) for l in lines[:-1]}


def test_client_put_get_list_delete(etcd, mode):
    u = etcd.url
    odd = 'v=1&x y/"q" é'
    assert tool(mode, u, "put", "/t/a/b", odd)[0] == 0
    assert tool(mode, u, "put", "/t/c", "2", 30)[0] == 0
    assert tool(mode, u, "put", "/tx/d", "sibling")[0] == 0  # not under /t
    rc, out, _ = tool(mode, u, "get", "/t/a/b")
    assert (rc, out) == (0, odd + "\n")
    got = listing(mode, u, "/t")
    assert sorted(got) == ["/t/a/b", "/t/c"]
    assert got["/t/a/b"] == (0, odd)
    assert time.time() + 25 < got["/t/c"][0] <= time.time() + 31  # TTL -> expires
    assert tool(mode, u, "del", "/t/a/b")[0] == 0
    assert tool(mode, u, "del", "/t/a/b")[0] == 0  # missing is not an error
    rc, _, err = tool(mode, u, "get", "/t/a/b")
    assert rc == 1 and "not found" in err
    assert sorted(listing(mode, u, "/t")) == ["/t/c"]
    assert listing(mode, u, "/nothing/here") == {}


def test_client_member_failover(etcd, mode):
    dead = f"http://127.0.0.1:{free_port()}"
    assert tool(mode, [dead, etcd.url], "put", "/f/a", "1")[0] == 0
    assert listing(mode, [dead, etcd.url], "/f") == {"/f/a": (0, "1")}
    rc, _, err = tool(mode, [dead], "list", "/f")
    assert rc == 1 and dead in err and "I/O error" in err


def test_skydns_member_failover(workdir, etcd, kv, mode):
    kv.put(BASE + "/a", {"host": "10.0.9.1"})
    dead = f"http://127.0.0.1:{free_port()}"
    sky = SkyDNS(workdir, f"{dead},{etcd.url}", mode, NO_FORWARD).start()
    try:
        assert a_of(sky, "a." + DOM) == (dns.rcode.NOERROR, ["10.0.9.1"])
        kv.put(BASE + "/b", {"host": "10.0.9.2"})
        answers(sky, "b." + DOM, ["10.0.9.2"])
        assert not log_lines(sky, "etcd unavailable"), sky.logs()
    finally:
        sky.stop()


def test_client_watch_events_and_stop(etcd, kv, mode):
    kv.put("/w/before", "0")
    rc, out, _ = tool(mode, etcd.url, "list", "/w")
    rev = int(out.splitlines()[-1].split()[1])

    p = subprocess.Popen([TOOL] + (["-3"] if mode == "v3" else []) +
                         ["-m", etcd.url, "watch", "/w", str(rev), "2500"],
                         stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        kv.put("/w/a", "1")
        kv.put("/wx/other", "not mine")
        kv.delete("/w/a")
        out, _ = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    lines = out.splitlines()
    assert lines[:2] == ["PUT /w/a 1", "DELETE /w/a"], out
    end = lines[-1]
    assert end.startswith("end rc=stopped"), out
    # the stop flag is honoured promptly (contract: within 500 ms)
    assert int(end.rsplit("stop_ms=", 1)[1]) < 2000, out
    assert p.returncode == 0


def test_client_watch_history_gone(etcd, kv, mode):
    """v3 compaction / v2 'outdated and cleared' is reported, not hidden."""
    kv.put("/g/a", "1")
    kv.put("/g/a", "2")
    if mode == "v3":
        kv.compact()
    else:
        for i in range(1010):
            kv.put("/other/k", str(i))
    rc, out, _ = tool(mode, etcd.url, "watch", "/g", "1", "3000")
    assert "end rc=history compacted" in out, out


def test_client_v3_paginates(etcd):
    kv = EtcdKV(etcd.url, "v3")
    n = 2100  # more than two pages of 1000
    for i in range(n):
        kv.put(f"/p/k{i:05d}", str(i))
    kv.put("/p0", "boundary")  # "/p0" is the range end, outside /p/
    got = listing("v3", etcd.url, "/p")
    assert len(got) == n
    assert got["/p/k02099"] == (0, "2099")


class CustomEtcd(Etcd):
    """conftest's Etcd with extra flags (auth token TTL, TLS)."""


def test_cluster_member_dies(workdir, mode):
    """A 3-member cluster; the member skydns watches dies; the next one
    takes over without the mirror reporting etcd as down."""
    n = 3
    client = [free_port() for _ in range(n)]
    peer = [free_port() for _ in range(n)]
    cluster = ",".join(f"m{i}=http://127.0.0.1:{peer[i]}" for i in range(n))
    procs, logs = [], []
    try:
        for i in range(n):
            url = f"http://127.0.0.1:{client[i]}"
            logs.append(open(os.path.join(workdir, f"etcd-m{i}.log"), "ab"))
            procs.append(subprocess.Popen(
                [ETCD_BIN, "--name", f"m{i}", "--data-dir", os.path.join(workdir, f"m{i}"),
                 "--listen-client-urls", url, "--advertise-client-urls", url,
                 "--listen-peer-urls", f"http://127.0.0.1:{peer[i]}",
                 "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer[i]}",
                 "--initial-cluster", cluster, "--initial-cluster-state", "new",
                 "--enable-v2=true", "--log-level", "warn"],
                stdout=logs[-1], stderr=subprocess.STDOUT))
        urls = [f"http://127.0.0.1:{p}" for p in client]
        for u in urls:
            wait_until(lambda u=u: _http("GET", u + "/health")[1].get("health") == "true",
                       timeout=20, what=f"member {u} healthy")
        EtcdKV(urls[1], mode).put(BASE + "/a", {"host": "10.0.10.1"})
        sky = SkyDNS(workdir, ",".join(urls), mode, NO_FORWARD).start()
        try:
            assert a_of(sky, "a." + DOM) == (dns.rcode.NOERROR, ["10.0.10.1"])
            procs[0].kill()  # the first member, which the watch is on
            procs[0].wait(10)
            # writes may time out while the survivors elect a new leader
            wait_until(lambda: EtcdKV(urls[1], mode).put(BASE + "/b", {"host": "10.0.10.2"}),
                       timeout=30, what="write after the member died")
            answers(sky, "b." + DOM, ["10.0.10.2"])
            wait_until(lambda: EtcdKV(urls[2], mode).delete(BASE + "/a") is not None,
                       timeout=30, what="delete after the member died")
            gone(sky, "a." + DOM)
            assert not log_lines(sky, "etcd unavailable"), sky.logs()
        finally:
            sky.stop()
    finally:
        for p in procs:
            stop_pid(p)
        for f in logs:
            f.close()


def post(url, path, body, token=None):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": token} if token else {})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.load(r)


def test_v3_auth_and_token_expiry(workdir):
    e = CustomEtcd(workdir, ["--auth-token-ttl", "2"]).start()
    sky = None
    try:
        # credentials given while auth is off: used as soon as it is on
        rc, _, err = tool("v3", e.url, "put", "/pre", "1", auth=("root", "pw"))
        assert rc == 0, err
        post(e.url, "/v3/auth/user/add", {"name": "root", "password": "pw"})
        post(e.url, "/v3/auth/role/add", {"name": "root"})
        post(e.url, "/v3/auth/user/grant", {"user": "root", "role": "root"})
        # skydns runs as a user that may only read /skydns/ (the range it uses)
        post(e.url, "/v3/auth/user/add", {"name": "dns", "password": "pw2"})
        post(e.url, "/v3/auth/role/add", {"name": "dns-read"})
        post(e.url, "/v3/auth/role/grant", {"name": "dns-read", "perm": {
            "key": b64("/skydns/"), "range_end": b64("/skydns0"), "permType": "READ"}})
        post(e.url, "/v3/auth/user/grant", {"user": "dns", "role": "dns-read"})
        post(e.url, "/v3/auth/enable", {})

        def put(key, value, lease=None):
            tok = post(e.url, "/v3/auth/authenticate", {"name": "root", "password": "pw"})["token"]
            req = {"key": b64(key), "value": b64(json.dumps(value))}
            if lease:
                req["lease"] = post(e.url, "/v3/lease/grant", {"TTL": lease}, tok)["ID"]
            post(e.url, "/v3/kv/put", req, tok)

        put(BASE + "/a", {"host": "10.0.5.1"})
        rc, _, err = tool("v3", e.url, "list", "/skydns", auth=("root", "wrong"))
        assert rc == 1 and "authentication failed" in err
        rc, _, err = tool("v3", e.url, "list", "/skydns")
        assert rc == 1, "auth is on: no token, no data"
        assert BASE + "/a" in listing("v3", e.url, "/skydns", auth=("root", "pw"))

        rc, _, err = tool("v3", e.url, "put", BASE + "/x", "{}", auth=("dns", "pw2"))
        assert rc == 1 and "authentication failed" in err  # read-only
        sky = SkyDNS(workdir, e.url, "v3", NO_FORWARD + ["-username", "dns", "-password", "pw2"])
        sky.start()
        assert a_of(sky, "a." + DOM) == (dns.rcode.NOERROR, ["10.0.5.1"])
        time.sleep(3)  # skydns's token has expired now
        put(BASE + "/b", {"host": "10.0.5.2"})
        answers(sky, "b." + DOM, ["10.0.5.2"])
        put(BASE + "/c", {"host": "10.0.5.3"}, lease=60)  # needs a lease lookup: 401 -> re-auth
        answers(sky, "c." + DOM, ["10.0.5.3"])
        assert 0 < query(sky, "c." + DOM, "A").answer[0].ttl <= 60
        e.restart()  # a new watch and a full read with a fresh token
        put(BASE + "/d", {"host": "10.0.5.4"})
        answers(sky, "d." + DOM, ["10.0.5.4"])
    finally:
        if sky:
            sky.stop()
        e.stop()


def test_v2_basic_auth(etcd):
    u, auth = etcd.url, {"Authorization": "Basic " + b64("root:pw")}
    assert _http("PUT", u + "/v2/auth/users/root", {"user": "root", "password": "pw"})[0] in (200, 201)
    assert _http("PUT", u + "/v2/auth/enable")[0] in (200, 201)
    st, body = _http("PUT", u + "/v2/auth/roles/guest",
                     {"role": "guest", "revoke": {"kv": {"read": ["/*"], "write": ["/*"]}}}, auth)
    assert st == 200, body
    rc, _, err = tool("v2", u, "put", BASE + "/a", '{"host":"10.0.8.1"}')
    assert rc == 1 and "authentication failed" in err
    rc, _, err = tool("v2", u, "put", BASE + "/a", '{"host":"10.0.8.1"}', auth=("root", "bad"))
    assert rc == 1 and "authentication failed" in err
    assert tool("v2", u, "put", BASE + "/a", '{"host":"10.0.8.1"}', auth=("root", "pw"))[0] == 0
    sky = SkyDNS(os.path.dirname(etcd.dir), u, "v2",
                 NO_FORWARD + ["-username", "root", "-password", "pw"]).start()
    try:
        assert a_of(sky, "a." + DOM) == (dns.rcode.NOERROR, ["10.0.8.1"])
        tool("v2", u, "put", BASE + "/b", '{"host":"10.0.8.2"}', auth=("root", "pw"))
        answers(sky, "b." + DOM, ["10.0.8.2"])  # the watch authenticates too
    finally:
        sky.stop()


def make_certs(d):
    """A throwaway CA, a server cert for 127.0.0.1 and a client cert."""
    def ossl(*args, ext=None):
        cmd = ["openssl"] + list(args)
        if ext:
            path = os.path.join(d, "ext.cnf")
            with open(path, "w") as f:
                f.write(ext + "\n")
            cmd += ["-extfile", path]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)

    p = {n: os.path.join(d, n) for n in ("ca.key", "ca.crt", "srv.key", "srv.csr", "srv.crt",
                                         "cli.key", "cli.csr", "cli.crt")}
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", p["ca.key"], "-out",
         p["ca.crt"], "-subj", "/CN=skydns-test-ca", "-days", "2")
    # the v3 gateway dials etcd's own gRPC port with the server cert: clientAuth too
    for who, ext in (("srv", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth"),
                     ("cli", "extendedKeyUsage=clientAuth")):
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", p[who + ".key"], "-out",
             p[who + ".csr"], "-subj", f"/CN={who}")
        ossl("x509", "-req", "-in", p[who + ".csr"], "-CA", p["ca.crt"], "-CAkey", p["ca.key"],
             "-CAcreateserial", "-out", p[who + ".crt"], "-days", "2", ext=ext)
    return p


def test_tls_client_certs(workdir, mode):
    import ssl
    c = make_certs(workdir)
    ctx = ssl.create_default_context(cafile=c["ca.crt"])
    ctx.load_cert_chain(c["cli.crt"], c["cli.key"])
    e = CustomEtcd(workdir, ["--cert-file", c["srv.crt"], "--key-file", c["srv.key"],
                             "--trusted-ca-file", c["ca.crt"], "--client-cert-auth"],
                   scheme="https", ssl_ctx=ctx).start()
    tls = {"ca": c["ca.crt"], "cert": c["cli.crt"], "key": c["cli.key"]}
    sky = None
    try:
        rc, _, err = tool(mode, e.url, "put", BASE + "/s", '{"host":"10.0.6.1"}', tls=tls)
        assert rc == 0, err
        assert BASE + "/s" in listing(mode, e.url, "/skydns", tls=tls)
        rc, _, err = tool(mode, e.url, "list", "/skydns", tls=dict(tls, ca=c["cli.crt"]))
        assert rc == 1 and "TLS" in err, err  # server not signed by the given CA
        rc, _, err = tool(mode, e.url, "list", "/skydns")
        assert rc == 1, "no client cert must not get data"
        sky = SkyDNS(workdir, e.url, mode, NO_FORWARD + [
            "-ca-cert", c["ca.crt"], "-tls-pem", c["cli.crt"], "-tls-key", c["cli.key"]]).start()
        assert a_of(sky, "s." + DOM) == (dns.rcode.NOERROR, ["10.0.6.1"])
        tool(mode, e.url, "put", BASE + "/t", '{"host":"10.0.6.2"}', tls=tls)
        answers(sky, "t." + DOM, ["10.0.6.2"])
    finally:
        if sky:
            sky.stop()
        e.stop()


MARKER = "/skydns/kube2sky/skydns.local"


def wipe_and_restart(etcd):
    import shutil
    etcd.stop()
    shutil.rmtree(etcd.dir)
    etcd.start()


def count_nxdomain(sky, names, seconds):
    """Query every name in turn for `seconds`; (queries, NXDOMAINs, bad answers)."""
    n = nx = bad = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for name, want in names.items():
            r = query(sky, name, "A")
            n += 1
            nx += r.rcode() == dns.rcode.NXDOMAIN
            bad += r.rcode() == dns.rcode.NOERROR and rdatas(r, "A") != [want]
    return n, nx, bad


def new_stores(port):
    """skydns_skydns_etcd_new_store_total from /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("skydns_skydns_etcd_new_store_total "):
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError("no skydns_skydns_etcd_new_store_total")


def test_other_cluster_is_a_new_store(workdir, etcd, kv, mode):
    """Failing over to a member of another etcd cluster (its cluster ID differs,
    its revision is ahead): a new store, not a stream of deletes. The last
    snapshot is served until kube2sky marks the new store synced."""
    other_dir = os.path.join(workdir, "other")
    os.makedirs(other_dir)
    other = Etcd(other_dir).start()
    okv = EtcdKV(other.url, mode)
    sky = None
    try:
        names = {f"c{i}.{DOM}": f"10.0.4.{i}" for i in range(10)}
        for i in range(10):
            kv.put(f"{BASE}/c{i}", {"host": f"10.0.4.{i}"})
        for i in range(60):  # the other store's revision is well ahead
            okv.put(f"{BASE}/filler", {"host": f"10.0.9.{i % 250}"})
        okv.put(f"{BASE}/c1", {"host": "10.0.5.1"})
        mport = free_port()
        sky = SkyDNS(workdir, f"{etcd.url},{other.url}", mode,
                     NO_FORWARD + ["-new-store-grace", "60s", "-metrics-addr", f"127.0.0.1:{mport}"])
        sky.start()
        answers(sky, "c9." + DOM, ["10.0.4.9"])
        etcd.stop()
        wait_until(lambda: log_lines(sky, "is a new store"), timeout=20, what="new store log")
        assert log_lines(sky, "cluster ID changed"), sky.logs()
        assert new_stores(mport) == 1
        n, nx, bad = count_nxdomain(sky, names, 1.5)
        assert n > 10 and nx == 0 and bad == 0, (n, nx, bad)
        okv.put(MARKER, {"zone": DOM, "schema": "1.1.0", "synced": 1, "id": "c1"})
        answers(sky, "c1." + DOM, ["10.0.5.1"])
        gone(sky, "c2." + DOM)
    finally:
        if sky:
            sky.stop()
        other.stop()


def test_etcd_wiped_keeps_serving_until_marked_synced(etcd, kv, skydns):
    """etcd restarted empty (issue 12.4): the last snapshot is served until
    the new store carries kube2sky's sync marker again; 0 NXDOMAIN."""
    names = {f"w{i}.{DOM}": f"10.0.1.{i}" for i in range(20)}
    for i in range(20):
        kv.put(f"{BASE}/w{i}", {"host": f"10.0.1.{i}"})
    kv.put(MARKER, {"zone": DOM, "schema": "1.1.0", "synced": 1, "id": "a"})
    mport = free_port()
    sky = skydns(NO_FORWARD + ["-new-store-grace", "60s", "-metrics-addr", f"127.0.0.1:{mport}"])
    answers(sky, "w19." + DOM, ["10.0.1.19"])
    assert new_stores(mport) == 0
    wipe_and_restart(etcd)
    wait_until(lambda: log_lines(sky, "is a new store"), timeout=10, what="new store log")
    # the store is empty and being refilled: the old answers stay
    n, nx, bad = count_nxdomain(sky, names, 1.5)
    assert n > 20 and nx == 0 and bad == 0, (n, nx, bad)
    for i in range(20):
        kv.put(f"{BASE}/w{i}", {"host": f"10.0.2.{i}"})
    n, nx, bad = count_nxdomain(sky, names, 1.0)
    assert nx == 0 and bad == 0, "published before the marker"
    kv.put(MARKER, {"zone": DOM, "schema": "1.1.0", "synced": 2, "id": "b"})
    answers(sky, "w7." + DOM, ["10.0.2.7"])
    assert len(log_lines(sky, "is a new store")) == 1, sky.logs()
    assert log_lines(sky, "new etcd store filled"), sky.logs()
    assert new_stores(mport) == 1  # "count it"
    # in the same store, a delete takes effect at once again
    kv.delete(f"{BASE}/w3")
    gone(sky, "w3." + DOM)


def test_etcd_wiped_published_after_grace(etcd, kv, skydns):
    """No kube2sky marker ever comes: the new store is published once the
    grace period passes, with a log line."""
    kv.put(BASE + "/g", {"host": "10.0.3.1"})
    sky = skydns(NO_FORWARD + ["-new-store-grace", "2s"])
    answers(sky, "g." + DOM, ["10.0.3.1"])
    wipe_and_restart(etcd)
    wait_until(lambda: log_lines(sky, "is a new store"), timeout=10, what="new store log")
    assert a_of(sky, "g." + DOM) == (dns.rcode.NOERROR, ["10.0.3.1"])
    wait_until(lambda: query(sky, "g." + DOM, "A").rcode() == dns.rcode.NXDOMAIN,
               timeout=8, what="empty store published after the grace period")
    assert log_lines(sky, "not marked synced in time"), sky.logs()
