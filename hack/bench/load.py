#!/usr/bin/python3
"""hack/bench/load.py - write N SkyDNS services into etcd and the matching
dnsperf query file and zone file (for comparing with a zone-file server).

  load.py --etcd URL --n 10000 [--v3] --queries FILE --zone FILE [--domain skydns.local.]
          [--srv svc|ns]

Services: svc-<i>.ns-<i % 100>.<domain>, host 10.<i>>16&255>.<i>>8&255>.<i&255>,
port 8000 + i % 1000. v2 writes one PUT per key over a few keep-alive
connections; v3 batches 128 puts per transaction (etcd's --max-txn-ops).
Queries (issue 11's mix): 60% A of an existing service, 30% SRV of an
existing service (--srv svc, the default: one SRV plus its A in the additional
section, as a client of one service asks) or of a namespace (--srv ns: all
its services, a directory walk), 10% A of a name that does not exist
(NXDOMAIN). The zone holds the SRV records of both kinds, so NSD can answer
either mix the way skydns does.
"""

import argparse
import base64
import http.client
import json
import random
import sys
import threading
import urllib.parse


def service(i, domain):
    ns = f"ns-{i % 100}"
    name = f"svc-{i}.{ns}.{domain}"
    host = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
    key = "/skydns/" + "/".join(reversed(name.rstrip(".").split(".")))
    return name, key, host, 8000 + i % 1000


def conn_for(url):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)


def put_v2(url, items):
    c = conn_for(url)
    for key, value in items:
        body = urllib.parse.urlencode({"value": value})
        c.request("PUT", "/v2/keys" + key, body,
                  {"Content-Type": "application/x-www-form-urlencoded"})
        r = c.getresponse()
        r.read()
        if r.status not in (200, 201):
            sys.exit(f"load.py: PUT {key}: HTTP {r.status}")
    c.close()


def b64(s):
    return base64.b64encode(s.encode()).decode()


def put_v3(url, items):
    c = conn_for(url)
    for start in range(0, len(items), 128):
        ops = [{"requestPut": {"key": b64(k), "value": b64(v)}} for k, v in items[start:start + 128]]
        c.request("POST", "/v3/kv/txn", json.dumps({"success": ops}),
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        if r.status != 200:
            sys.exit(f"load.py: txn at {start}: HTTP {r.status}")
    c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--etcd", required=True)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--v3", action="store_true")
    ap.add_argument("--queries", required=True)
    ap.add_argument("--zone", required=True)
    ap.add_argument("--domain", default="skydns.local.")
    ap.add_argument("--nqueries", type=int, default=100000)
    ap.add_argument("--srv", choices=("svc", "ns"), default="svc")
    a = ap.parse_args()

    svcs = [service(i, a.domain) for i in range(a.n)]
    items = [(key, json.dumps({"host": host, "port": port})) for _, key, host, port in svcs]
    if a.v3:
        put_v3(a.etcd, items)
    else:
        threads = [threading.Thread(target=put_v2, args=(a.etcd, items[k::4])) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    rng = random.Random(42)
    nns = min(100, a.n)
    with open(a.queries, "w") as f:
        for _ in range(a.nqueries):
            x = rng.random()
            if x < 0.6:
                f.write(f"{svcs[rng.randrange(a.n)][0]} A\n")
            elif x < 0.9 and a.srv == "svc":
                f.write(f"{svcs[rng.randrange(a.n)][0]} SRV\n")
            elif x < 0.9:
                f.write(f"ns-{rng.randrange(nns)}.{a.domain} SRV\n")
            else:
                f.write(f"nothere-{rng.randrange(1 << 30)}.ns-1.{a.domain} A\n")

    # The same data as a zone for NSD & co: A and SRV per service (the SRV
    # target is the service's own name, its address in the additional
    # section), SRV per namespace pointing at the services (as SkyDNS
    # synthesizes them).
    with open(a.zone, "w") as f:
        f.write(f"$ORIGIN {a.domain}\n$TTL 3600\n")
        f.write(f"@ IN SOA ns.dns.{a.domain} hostmaster.{a.domain} 1 28800 7200 604800 60\n")
        # No NS at the apex: skydns puts none in its replies, and NSD would
        # add it (and its glue) to every answer, making its replies larger.
        f.write("ns.dns IN A 127.0.0.1\n")
        for name, _, host, port in svcs:
            f.write(f"{name} IN A {host}\n")
            f.write(f"{name} IN SRV 10 100 {port} {name}\n")
        for name, _, host, port in svcs:
            ns = name.split(".", 1)[1]
            f.write(f"{ns} IN SRV 10 {100 // max(1, a.n // nns)} {port} {name}\n")
    print(f"load.py: {a.n} services written ({'v3' if a.v3 else 'v2'}), "
          f"{a.nqueries} queries -> {a.queries}, zone -> {a.zone}")


if __name__ == "__main__":
    main()
