"""A module-wide stack for the record and README tests (test_records.py,
test_readme.py): one real etcd holding both stores (the v2 keys API and the
v3 store are separate in etcd 3.4), one real upstream, and skydns servers
started on demand per (etcd mode, extra flags), all reused by every test of a
module. Tests write their own keys under their own subtree, then call
sync(mode) so that everything written before is in skydns's mirror.

Everything runs on loopback high ports, is stopped by PID, and every wait is
bounded (conftest.wait_until).
"""

import shutil
import tempfile
import time

import dns.flags
import dns.rcode
import dns.rdatatype

from conftest import Etcd, EtcdKV, SkyDNS, query, wait_until

DOMAIN = "skydns.local."
DEFAULT_TTL = 3600
MIN_TTL = 60
# The sync key: a PTR outside every test's subtree, rewritten with a new
# target each time; the mirror applies etcd's events in revision order, so
# once the new target is served every earlier write is visible too.
SYNC_KEY = "/skydns/arpa/in-addr/127/255/255/254"
SYNC_NAME = "254.255.255.127.in-addr.arpa."


class Stack:
    def __init__(self, upstream=None):
        self.workdir = tempfile.mkdtemp(prefix="skydns-h9-")
        self.etcd = Etcd(self.workdir)
        self.servers = {}
        self.upstream = None
        self.nsync = 0
        try:
            self.etcd.start()
            self.kv = {m: EtcdKV(self.etcd.url, m) for m in ("v2", "v3")}
            if upstream:
                self.upstream = upstream(self.workdir)
                self.upstream.start()
        except BaseException:
            self.close()
            raise

    def base_args(self):
        if self.upstream:
            return ["-nameservers", self.upstream.server]
        return ["-no-rec"]

    def server(self, mode, extra=(), domain=DOMAIN, cwd=None):
        """The skydns for (mode, extra flags, domain), started on first use."""
        key = (mode, tuple(extra), domain)
        s = self.servers.get(key)
        if s is None:
            s = SkyDNS(self.workdir, self.etcd.url, mode, self.base_args() + list(extra),
                       domain=domain)
            s.start()
            self.servers[key] = s
        return s

    def sync(self, mode, server=None, prefix="skydns"):
        """Wait until `server` (default: the plain one for mode) has seen every
        write made so far in that mode's store (under /<prefix>)."""
        s = server or self.server(mode)
        self.nsync += 1
        target = f"sync-{self.nsync}.test."
        self.kv[mode].put(SYNC_KEY.replace("/skydns/", f"/{prefix}/", 1), {"host": target})

        def seen():
            r = query(s, SYNC_NAME, "PTR", timeout=0.5)
            return any(rd.to_text() == target for rrset in r.answer for rd in rrset)
        wait_until(seen, 10, what=f"skydns ({mode}) mirror to catch up")

    def close(self):
        for s in self.servers.values():
            s.stop()
        if self.upstream and getattr(self.upstream, "proc", None):
            self.upstream.stop()
        self.etcd.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


# ---------------------------------------------------------------- asserting


def lines(msg, section="answer"):
    """Sorted 'owner ttl class type rdata' lines of a section (owner as sent)."""
    out = []
    for rrset in getattr(msg, section):
        out += rrset.to_text().splitlines()
    return sorted(out)


def hour_serials(t0, t1):
    return {int(t0) // 3600 * 3600, int(t1) // 3600 * 3600}


def check_soa(msg, section, ttl, domain=DOMAIN, t0=None, t1=None):
    """Exactly one SOA in `section`, with SkyDNS's fields; serial = the hour."""
    rrs = getattr(msg, section)
    assert len(rrs) == 1 and rrs[0].rdtype == dns.rdatatype.SOA, lines(msg, section)
    rr = rrs[0]
    assert rr.name.to_text() == domain and rr.ttl == ttl, rr.to_text()
    soa = rr[0]
    assert soa.mname.to_text() == f"ns.dns.{domain}"
    assert soa.rname.to_text() == "hostmaster.skydns.local."
    assert (soa.refresh, soa.retry, soa.expire, soa.minimum) == (28800, 7200, 604800, MIN_TTL)
    now = time.time()
    assert soa.serial in hour_serials(t0 or now - 5, t1 or now), soa.serial
    assert soa.serial % 3600 == 0


def check_negative(msg, rcode, domain=DOMAIN):
    """NXDOMAIN or NODATA the SkyDNS way: AA, empty answer and additional,
    the SOA (TTL min_ttl) alone in authority."""
    assert msg.rcode() == rcode, (dns.rcode.to_text(msg.rcode()), lines(msg))
    assert msg.flags & dns.flags.AA, "negative answers are authoritative"
    assert msg.answer == [], lines(msg)
    assert msg.additional == [], lines(msg, "additional")
    check_soa(msg, "authority", MIN_TTL, domain)


def check_positive(msg, answer, additional=(), aa=True):
    """NOERROR with exactly these answer and additional lines, no authority."""
    assert msg.rcode() == dns.rcode.NOERROR, (dns.rcode.to_text(msg.rcode()), lines(msg))
    assert bool(msg.flags & dns.flags.AA) == aa, dns.flags.to_text(msg.flags)
    got = {sec: lines(msg, sec) for sec in ("answer", "authority", "additional")}
    want = {"answer": sorted(answer), "authority": [], "additional": sorted(additional)}
    assert got == want, f"\n got: {got}\nwant: {want}"
