"""skydns as a container's only nameserver: inside a network and mount
namespace of the test's own (so port 53 and /etc/resolv.conf are ours alone),
glibc's resolver, configured as kubelet configures a pod, resolves cluster
names from etcd (short names through the search list) and outside names
through skydns's forwarder."""

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"

POD_RESOLV_CONF = """\
nameserver 127.0.0.1
search default.svc.cluster.local svc.cluster.local cluster.local
options ndots:5 timeout:2 attempts:1
"""


def test_pod_resolves_cluster_and_outside_names_through_skydns():
    assert os.geteuid() == 0, "needs root for its own network and mount namespace"
    workdir = tempfile.mkdtemp(prefix="skydns-ns-")
    try:
        r = subprocess.run([UNSHARE, "--net", "--mount", "--fork", sys.executable, __file__,
                            workdir], capture_output=True, text=True, timeout=180)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "all names resolved" in r.stdout, r.stdout
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def getent(name):
    r = subprocess.run(["getent", "ahostsv4", name], capture_output=True, text=True, timeout=20)
    return sorted({line.split()[0] for line in r.stdout.splitlines() if line.strip()})


def inside(workdir):
    """Runs in the new namespaces: its loopback, its /etc/resolv.conf."""
    sys.path.insert(0, HERE)
    from conftest import Etcd, EtcdKV, SkyDNS, wait_until  # noqa: E402
    from upstream_util import Unbound  # noqa: E402

    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    # A pod has an interface besides lo; without one, getaddrinfo's
    # AI_ADDRCONFIG decides there is no IPv4 and asks no one. Nothing is
    # sent to this address: it only exists.
    for cmd in (["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"],
                ["ip", "addr", "add", "192.0.2.1/24", "dev", "eth0"],
                ["ip", "link", "set", "eth0", "up"]):
        subprocess.run(cmd, check=True)
    conf = os.path.join(workdir, "resolv.conf")
    with open(conf, "w") as f:
        f.write(POD_RESOLV_CONF)
    subprocess.run(["mount", "--bind", conf, "/etc/resolv.conf"], check=True)

    etcd = Etcd(workdir).start()
    up = Unbound(workdir, "127.0.0.2", {"example.org.": [
        "example.org. 300 IN SOA ns.example.org. h.example.org. 1 3600 600 86400 300",
        "www.example.org. 300 IN A 192.0.2.10"]}).start()
    sky = SkyDNS(workdir, etcd.url, "v3", ["-nameservers", up.server], domain="cluster.local.",
                 port=53)
    try:
        kv = EtcdKV(etcd.url, "v3")
        kv.put("/skydns/local/cluster/svc/default/web/a1", {"host": "10.96.0.10"})
        kv.put("/skydns/local/cluster/svc/kube-system/kube-dns/b2", {"host": "10.96.0.53"})
        sky.start()
        checks = {
            "web.default.svc.cluster.local": ["10.96.0.10"],  # fully qualified
            "web": ["10.96.0.10"],                            # search list: default.svc
            "kube-dns.kube-system": ["10.96.0.53"],           # search list: svc
            "www.example.org": ["192.0.2.10"],                # forwarded
        }
        for name, want in checks.items():
            got = wait_until(lambda n=name: getent(n), 10, what=f"getent {name}")
            assert got == want, (name, got, want)
        assert getent("nothere.default.svc.cluster.local") == []
        # a change in etcd is what the pod sees next, no restart
        kv.put("/skydns/local/cluster/svc/default/web/a1", {"host": "10.96.0.11"})
        wait_until(lambda: getent("web") == ["10.96.0.11"], 10, what="updated record via glibc")
        print("all names resolved")
    finally:
        sky.stop()
        up.stop()
        etcd.stop()


if __name__ == "__main__":
    inside(sys.argv[1])
