"""skydns under valgrind: a steady state of every kind of traffic and etcd
churn leaks nothing and touches no invalid memory, and SIGTERM exits 0."""

import os
import shutil
import signal
import subprocess
import types

import dns.rcode
import pytest

from conftest import SKYDNS_BIN, free_port, query, wait_until

VALGRIND = shutil.which("valgrind") or "/usr/bin/valgrind"


@pytest.fixture(params=["v2", "v3"])
def mode(request):
    return request.param


def test_steady_state_has_no_leaks_or_memory_errors(workdir, etcd, kv, mode):
    base = "/skydns/local/skydns"
    kv.put(f"{base}/east/staging/rails/4", {"host": "10.0.1.125", "port": 8080})
    kv.put(f"{base}/east/staging/rails/6", {"host": "2003::8:1", "port": 8080})
    kv.put(f"{base}/svc/web", {"host": "service1.skydns.local", "port": 80})
    kv.put(f"{base}/service1", {"host": "10.0.2.15"})
    kv.put(f"{base}/mail/mx1", {"host": "10.0.3.1", "mail": True})
    kv.put(f"{base}/info", {"text": "x" * 600})
    kv.put(f"{base}/dns/ns/ns1", {"host": "172.16.0.1"})
    kv.put(f"{base}/bad", "{not json")
    kv.put("/skydns/arpa/in-addr/10/0/1/125", {"host": "4.rails.staging.east.skydns.local"})

    port, mport = free_port(), free_port()
    log = os.path.join(workdir, "valgrind.log")
    args = [VALGRIND, "--leak-check=full", "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=3",
            f"--log-file={log}",
            SKYDNS_BIN, "-addr", f"127.0.0.1:{port}", "-machines", etcd.url,
            "-metrics-addr", f"127.0.0.1:{mport}", "-no-rec", "-rcache", "100"]
    if mode == "v3":
        args.append("-etcd3")
    out = open(os.path.join(workdir, "skydns-valgrind.log"), "wb")
    p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    try:
        at = types.SimpleNamespace(addr="127.0.0.1", port=port)
        wait_until(lambda: query(at, "4.rails.staging.east.skydns.local", "A", timeout=2).answer,
                   60, what="skydns under valgrind answering")
        asks = [("4.rails.staging.east.skydns.local", "A"), ("staging.east.skydns.local", "SRV"),
                ("web.svc.skydns.local", "A"), ("mail.skydns.local", "MX"),
                ("info.skydns.local", "TXT"), ("skydns.local", "NS"), ("skydns.local", "SOA"),
                ("nothere.skydns.local", "A"), ("*.staging.east.skydns.local", "AAAA"),
                ("125.1.0.10.in-addr.arpa", "PTR"), ("example.com", "A")]
        for round_ in range(3):
            for name, t in asks:
                query(at, name, t, timeout=5)
                query(at, name, t, tcp=True, timeout=5)
            # churn: every round replaces, adds and deletes records and the config
            kv.put(f"{base}/east/staging/rails/4", {"host": f"10.0.1.{round_ + 1}", "port": 8080})
            kv.put(f"{base}/churn/c{round_}", {"host": "10.9.9.9"})
            kv.delete(f"{base}/churn/c{round_}")
            kv.put("/skydns/config", {"ttl": 100 + round_})
        # each change is published as soon as it is applied: wait for the
        # last record and the last config (ttl) to both show
        def last_churn():
            a = query(at, "4.rails.staging.east.skydns.local", "A", timeout=2).answer[0]
            return a[0].to_text() == "10.0.1.3" and a.ttl == 102
        wait_until(last_churn, 20, what="last churn visible")
        assert query(at, "example.com", "A", timeout=5).rcode() == dns.rcode.REFUSED
        p.send_signal(signal.SIGTERM)
        rc = p.wait(60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
        out.close()
    report = open(log).read()
    assert rc == 0, f"exit {rc}\n{report[-6000:]}"
    assert "ERROR SUMMARY: 0 errors" in report, report[-6000:]
    assert "definitely lost: 0 bytes" in report or "All heap blocks were freed" in report, report[-6000:]
