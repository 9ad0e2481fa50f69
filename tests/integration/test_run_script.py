"""The README's first command, hack/run.sh: it loads the SkyDNS examples and
serves them, and Ctrl-C stops everything it started."""

import os
import signal
import subprocess
import time
import types

import dns.rcode

from conftest import SKYDNS_BIN, free_port, query, wait_until

SRC = os.environ.get("SKYDNS_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))


def run_env(workdir):
    env = dict(os.environ)
    env.update(SKYDNS_BIN=SKYDNS_BIN, DNS_PORT=str(free_port()), ETCD_PORT=str(free_port()),
               PEER_PORT=str(free_port()), RUNDIR=os.path.join(workdir, "run"),
               SKYDNS_ARGS="-no-rec")  # tests stay on loopback: no forwarding
    return env


def test_smoke_answers_the_skydns_readme_examples(workdir):
    r = subprocess.run([os.path.join(SRC, "hack", "run.sh"), "--smoke"], env=run_env(workdir),
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 passed, 0 failed" in r.stdout
    assert "FAIL" not in r.stdout


def children_of(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split()[2] != "Z"


def test_interactive_prints_queries_and_ctrl_c_stops_everything(workdir):
    env = run_env(workdir)
    p = subprocess.Popen([os.path.join(SRC, "hack", "run.sh")], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C stops" in line:
                break
        text = "".join(lines)
        assert f"dig @127.0.0.1 -p {env['DNS_PORT']} SRV east.skydns.local" in text, text
        at = types.SimpleNamespace(addr="127.0.0.1", port=int(env["DNS_PORT"]))
        r = query(at, "4.rails.staging.east.skydns.local", "A")
        assert r.rcode() == dns.rcode.NOERROR and r.answer[0][0].to_text() == "10.0.1.125"
        kids = children_of(p.pid)
        assert len(kids) >= 2, kids  # etcd and skydns
        os.killpg(p.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        p.wait(20)
        wait_until(lambda: not any(alive(k) for k in kids), 10, what="etcd and skydns stopped")
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)
