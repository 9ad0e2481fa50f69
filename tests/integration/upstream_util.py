"""Upstream DNS servers for the forwarding tests, all on loopback high ports,
each started and stopped by PID (or joined, for the in-process one), every
wait bounded.

  Unbound(workdir, addr, local_data)  a real recursive server answering
                                      local-data (no internet needed); counts
                                      queries through unbound-control.
  Nsd(workdir, addr, zone, records)   a real authoritative server for a zone.
  Scripted(addr)                      a misbehaving server for the failure
                                      cases (servfail, slow, silent, wrong ID,
                                      wrong question, truncated). It runs in
                                      the test process because ldns-testns can
                                      only bind the wildcard address, and the
                                      tests must stay on loopback. It records
                                      every query it gets.
"""

import os
import shutil
import socket
import struct
import subprocess
import threading
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rrset

from conftest import free_port, stop_pid

UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"
UNBOUND_CONTROL = shutil.which("unbound-control") or "/usr/sbin/unbound-control"
NSD = shutil.which("nsd") or "/usr/sbin/nsd"


def _answers(addr, port, name, rdtype="SOA"):
    try:
        q = dns.message.make_query(name, rdtype)
        r = dns.query.udp(q, addr, port=port, timeout=0.5)
        return r.rcode() == 0
    except Exception:  # noqa: BLE001 - not up yet
        return False


def _wait_or_stop(server, ready, what, timeout=10.0):
    """Wait until ready() (bounded); on failure stop the process by PID
    before raising, so nothing outlives the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            server.stop()
            raise AssertionError(f"{what} exited at start; see {server.log_path}")
        if ready():
            return
        time.sleep(0.05)
    server.stop()
    raise AssertionError(f"{what} not answering after {timeout}s; see {server.log_path}")


class Unbound:
    """unbound with local zones only; `zones` maps zone -> list of RR texts."""

    def __init__(self, workdir, addr, zones, name="unbound"):
        self.addr, self.port = addr, free_port(host=addr)
        self.dir = os.path.join(workdir, f"{name}-{self.port}")
        os.makedirs(self.dir, exist_ok=True)
        self.conf = os.path.join(self.dir, "unbound.conf")
        self.ctl = os.path.join(self.dir, "control.sock")
        self.log_path = os.path.join(workdir, f"{name}-{self.port}.log")
        self.first_zone = next(iter(zones))
        lines = [
            "server:",
            f"  interface: {addr}@{self.port}",
            f"  port: {self.port}",
            "  do-daemonize: no", '  username: ""', '  chroot: ""',
            f'  directory: "{self.dir}"', '  pidfile: ""', "  use-syslog: no",
            f'  logfile: "{self.log_path}"', "  verbosity: 1", "  do-ip6: no",
            "  access-control: 127.0.0.0/8 allow", "  statistics-cumulative: yes",
            "  num-threads: 1", "  so-reuseport: no", '  module-config: "iterator"',
        ]
        for zone, rrs in zones.items():
            lines.append(f'  local-zone: "{zone}" static')
            lines += [f"  local-data: '{rr}'" if '"' in rr else f'  local-data: "{rr}"'
                      for rr in rrs]
        lines += ["remote-control:", "  control-enable: yes",
                  f'  control-interface: "{self.ctl}"', "  control-use-cert: no"]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None

    def start(self):
        self.out = open(self.log_path + ".out", "ab")
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c", self.conf], stdout=self.out,
                                     stderr=subprocess.STDOUT)
        _wait_or_stop(self, lambda: _answers(self.addr, self.port, self.first_zone), "unbound")
        return self

    def queries(self):
        """Queries unbound has received so far (cumulative statistics)."""
        out = subprocess.run([UNBOUND_CONTROL, "-c", self.conf, "stats_noreset"],
                             capture_output=True, text=True, timeout=10, check=True).stdout
        for line in out.splitlines():
            if line.startswith("total.num.queries="):
                return int(line.split("=")[1])
        raise AssertionError("no total.num.queries in unbound stats:\n" + out)

    @property
    def server(self):
        return f"{self.addr}:{self.port}"

    def stop(self):
        if self.proc:
            stop_pid(self.proc)
            self.out.close()
            self.proc = None


class Nsd:
    """nsd serving one zone given as RR texts (SOA first)."""

    def __init__(self, workdir, addr, zone, rrs):
        self.addr, self.port = addr, free_port(host=addr)
        self.zone = zone
        self.dir = os.path.join(workdir, f"nsd-{self.port}")
        os.makedirs(self.dir, exist_ok=True)
        self.conf = os.path.join(self.dir, "nsd.conf")
        self.log_path = os.path.join(workdir, f"nsd-{self.port}.log")
        with open(os.path.join(self.dir, "zone"), "w") as f:
            f.write(f"$ORIGIN {zone}\n" + "\n".join(rrs) + "\n")
        d = self.dir
        with open(self.conf, "w") as f:
            f.write(f"""server:
  ip-address: {addr}@{self.port}
  port: {self.port}
  username: ""
  chroot: ""
  zonesdir: "{d}"
  pidfile: "{d}/nsd.pid"
  database: ""
  zonelistfile: "{d}/zone.list"
  xfrdfile: "{d}/xfrd.state"
  logfile: "{self.log_path}"
  server-count: 1
  verbosity: 1
  do-ip6: no
remote-control:
  control-enable: no
zone:
  name: "{zone}"
  zonefile: "{d}/zone"
""")
        self.proc = None

    def start(self):
        self.out = open(self.log_path + ".out", "ab")
        self.proc = subprocess.Popen([NSD, "-d", "-c", self.conf], stdout=self.out,
                                     stderr=subprocess.STDOUT)
        _wait_or_stop(self, lambda: _answers(self.addr, self.port, self.zone), "nsd")
        return self

    @property
    def server(self):
        return f"{self.addr}:{self.port}"

    def stop(self):
        if self.proc:
            stop_pid(self.proc)
            self.out.close()
            self.proc = None


class Scripted:
    """A scripted upstream on addr (UDP and TCP, one thread each).

    mode: "ok" (A 192.0.2.77, TTL 300), "servfail", "silent", "slow" (answers
    after `delay` seconds), "wrongid", "wrongq", "truncate" (UDP: TC, empty;
    TCP: the answer). Every query is kept in .seen as (transport, message, (ip, port)).
    """

    def __init__(self, addr="127.0.0.1", mode="ok", delay=3.0):
        self.addr, self.mode, self.delay = addr, mode, delay
        self.seen = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        for _ in range(50):  # a free UDP port from the kernel, then TCP on the same
            self.udp = socket.socket(fam, socket.SOCK_DGRAM)
            self.udp.bind((addr, 0))
            self.port = self.udp.getsockname()[1]
            self.tcp = socket.socket(fam, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.tcp.bind((addr, self.port))
                break
            except OSError:
                self.udp.close()
                self.tcp.close()
        else:
            raise RuntimeError("no free port")
        self.udp.settimeout(0.1)
        self.tcp.listen(16)
        self.tcp.settimeout(0.1)
        self.threads = [threading.Thread(target=self._udp_loop, daemon=True),
                        threading.Thread(target=self._tcp_loop, daemon=True)]

    @property
    def server(self):
        return f"[{self.addr}]:{self.port}" if ":" in self.addr else f"{self.addr}:{self.port}"

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def count(self):
        with self.lock:
            return len(self.seen)

    def _reply(self, q, tcp):
        r = dns.message.make_response(q)
        r.flags |= dns.flags.RA
        mode = self.mode
        if mode == "servfail":
            r.set_rcode(dns.rcode.SERVFAIL)
            return r.to_wire()
        if mode == "truncate" and not tcp:
            r.flags |= dns.flags.TC
            return r.to_wire()
        name = q.question[0].name
        r.answer.append(dns.rrset.from_text(name, 300, "IN", "A", "192.0.2.77"))
        wire = bytearray(r.to_wire())
        if mode == "wrongid":
            wire[0:2] = struct.pack("!H", (q.id + 1) & 0xFFFF)
        if mode == "wrongq":
            other = dns.message.make_response(dns.message.make_query("other.example.", "A", id=q.id))
            other.answer.append(dns.rrset.from_text("other.example.", 300, "IN", "A", "192.0.2.78"))
            wire = bytearray(other.to_wire())
        return bytes(wire)

    def _handle(self, data, tcp, peer):
        try:
            q = dns.message.from_wire(data)
        except Exception:  # noqa: BLE001 - garbage: ignore like a server would
            return None
        with self.lock:
            self.seen.append(("tcp" if tcp else "udp", q, peer))
        if self.mode == "silent":
            return None
        if self.mode == "slow":
            self.stopping.wait(self.delay)
        return self._reply(q, tcp)

    def _udp_loop(self):
        while not self.stopping.is_set():
            try:
                data, peer = self.udp.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            out = self._handle(data, False, peer)
            if out:
                self.udp.sendto(out, peer)

    def _tcp_loop(self):
        while not self.stopping.is_set():
            try:
                c, peer = self.tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with c:
                c.settimeout(2)
                try:
                    hdr = c.recv(2, socket.MSG_WAITALL)
                    if len(hdr) < 2:
                        continue
                    data = c.recv(struct.unpack("!H", hdr)[0], socket.MSG_WAITALL)
                    out = self._handle(data, True, peer)
                    if out:
                        c.sendall(struct.pack("!H", len(out)) + out)
                except OSError:
                    continue

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(5)
        self.udp.close()
        self.tcp.close()


def dead_server(addr="127.0.0.1"):
    """addr:port where nothing listens (the port was free a moment ago)."""
    return f"{addr}:{free_port(host=addr)}"
