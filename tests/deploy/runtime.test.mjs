// The manifests' command lines, run for real: etcd (Debian's 3.4) with the
// etcd container's args, skydns with the skydns container's args, and
// kube2sky's flags checked against its --help. Only ports (free high ports on
// 127.0.0.1) and the data dir are rewritten; every flag is as deployed.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { createSocket } from "node:dgram";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runScript, runChart, mustRender, byKind, container, argValue } from "./lib.mjs";

const DOMAIN = "cluster.local";
const objs = mustRender(runScript([], { DNS_DOMAIN: DOMAIN, DNS_SERVER_IP: "10.96.0.10", DNS_REPLICAS: "2" }), "deploy");
const dep = byKind(objs, "Deployment");
const procs = [];
const tmp = mkdtempSync(join(tmpdir(), "skydns-deploy-"));

after(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  rmSync(tmp, { recursive: true, force: true });
});

// A port free for both TCP and UDP on 127.0.0.1.
async function freePort() {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise((res, rej) => {
      const s = createServer().once("error", rej).listen(0, "127.0.0.1", () => {
        const p = s.address().port;
        s.close(() => res(p));
      });
    });
    const udpFree = await new Promise((res) => {
      const u = createSocket("udp4");
      u.once("error", () => res(false));
      u.bind(port, "127.0.0.1", () => u.close(() => res(true)));
    });
    if (udpFree) return port;
  }
  throw new Error("no free port");
}

function start(bin, args, name) {
  const p = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  p.log = "";
  p.stdout.on("data", (d) => (p.log += d));
  p.stderr.on("data", (d) => (p.log += d));
  p.name = name;
  procs.push(p);
  return p;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitHTTP(proc, url, okBody, seconds = 20) {
  const deadline = Date.now() + seconds * 1000;
  let last = "";
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${proc.name} exited ${proc.exitCode}:\n${proc.log.slice(-2000)}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      last = `${r.status} ${await r.text()}`;
      if (r.ok && (!okBody || okBody.test(last))) return last;
    } catch (e) {
      last = e.message;
    }
    await sleep(200);
  }
  throw new Error(`${url} not ready after ${seconds}s (last: ${last})\n${proc.name} log:\n${proc.log.slice(-2000)}`);
}

// Rewrite "host:port" listeners in one container's args to 127.0.0.1 + free ports.
function rewrite(args, map) {
  return args.map((a) => {
    for (const [from, to] of map) a = a.split(from).join(to);
    return a;
  });
}

const b64 = (s) => Buffer.from(s).toString("base64");
let etcdURL, skyPort;

test("etcd runs with the manifest's args: healthy, v3 API on the loopback client URL", async () => {
  const c = container(dep, "etcd");
  const [client, peer, metrics] = [await freePort(), await freePort(), await freePort()];
  const args = rewrite(c.args, [
    ["127.0.0.1:2379", `127.0.0.1:${client}`], ["127.0.0.1:2380", `127.0.0.1:${peer}`],
    ["0.0.0.0:2381", `127.0.0.1:${metrics}`], ["/var/lib/etcd/data", join(tmp, "etcd")],
  ]);
  assert.equal(args.filter((a, i) => a !== c.args[i]).length, 7, "rewrote the 6 URL flags and the data dir only");
  const etcd = start("/usr/bin/etcd", args, "etcd");
  await waitHTTP(etcd, `http://127.0.0.1:${metrics}/health`, /"health":"true"/);
  etcdURL = argValue(args, "--listen-client-urls");
  const put = await fetch(`${etcdURL}/v3/kv/put`, {
    method: "POST", body: JSON.stringify({ key: b64("/skydns/local/cluster/svc/default/web/a1"), value: b64('{"host":"10.0.0.7"}') }),
    signal: AbortSignal.timeout(5000),
  });
  assert.equal(put.status, 200, "v3 put through the JSON gateway");
});

test("skydns runs with the manifest's args against that etcd and answers from it", async (t) => {
  const bin = process.env.SKYDNS_BIN;
  assert.ok(bin && existsSync(bin), `skydns binary (SKYDNS_BIN=${bin}) is built`);
  assert.ok(etcdURL, "etcd is up (previous test)");
  const c = container(dep, "skydns");
  const [dns, metrics, health] = [await freePort(), await freePort(), await freePort()];
  const args = rewrite(c.args, [
    ["0.0.0.0:53", `127.0.0.1:${dns}`], ["0.0.0.0:9153", `127.0.0.1:${metrics}`],
    ["0.0.0.0:8081", `127.0.0.1:${health}`], ["http://127.0.0.1:2379", etcdURL],
  ]);
  assert.deepEqual(args.filter((a) => /0\.0\.0\.0|:2379\b/.test(a)), [], "every listener and the etcd URL moved to test ports");
  const sky = start(bin, args, "skydns");
  skyPort = dns;
  await waitHTTP(sky, `http://127.0.0.1:${health}/readyz`);
  await waitHTTP(sky, `http://127.0.0.1:${health}/healthz`);
  await waitHTTP(sky, `http://127.0.0.1:${metrics}/metrics`);
  let answer = "";
  for (let i = 0; i < 25 && answer !== "10.0.0.7"; i++) {
    const r = spawnSync("dig", ["+short", "+time=1", "+tries=1", "-p", String(dns), "@127.0.0.1",
      `web.default.svc.${DOMAIN}.`, "A"], { encoding: "utf8", timeout: 5000 });
    answer = (r.stdout ?? "").trim();
    if (answer !== "10.0.0.7") await sleep(200);
  }
  assert.equal(answer, "10.0.0.7", `A web.default.svc.${DOMAIN} from the record in etcd\nskydns log:\n${sky.log.slice(-2000)}`);
  const help = spawnSync(bin, ["-h"], { encoding: "utf8", timeout: 5000 });
  assert.match(help.stdout + help.stderr, /-nameservers\b/, "skydns has the -nameservers flag the manifests use for forwarders");
});

async function dig(name, want) {
  let answer = "";
  for (let i = 0; i < 50 && answer !== want; i++) {
    const r = spawnSync("dig", ["+short", "+time=1", "+tries=1", "-p", String(skyPort), "@127.0.0.1",
      name, "A"], { encoding: "utf8", timeout: 5000 });
    answer = (r.stdout ?? "").trim();
    if (answer !== want) await sleep(200);
  }
  return answer;
}

test("skydns-load runs with the manifest's args: the records ConfigMap's files are answered", async () => {
  const bin = join(process.env.SKYDNS_BUILD ?? "build", "dns", "load", "skydns-load");
  assert.ok(existsSync(bin), `skydns-load binary (${bin}) is built`);
  assert.ok(etcdURL && skyPort, "etcd and skydns are up (previous tests)");
  const c = container(dep, "load");
  const dir = join(tmp, "records");
  spawnSync("mkdir", ["-p", dir]);
  writeFileSync(join(dir, "records.json"), JSON.stringify({ db: { host: "10.0.0.9" } }));
  writeFileSync(join(dir, "hosts"), "10.0.0.10 printer\n");
  const args = rewrite(c.args, [["http://127.0.0.1:2379", etcdURL], ["/etc/skydns/records", dir]]);
  assert.equal(args.filter((a, i) => a !== c.args[i]).length, 2, "rewrote the etcd URL and the directory only");
  const load = start(bin, args, "skydns-load");
  assert.equal(await dig(`db.${DOMAIN}.`, "10.0.0.9"), "10.0.0.9", `records.json\n${load.log}`);
  assert.equal(await dig(`printer.${DOMAIN}.`, "10.0.0.10"), "10.0.0.10", `hosts\n${load.log}`);
  assert.equal(load.exitCode, null, "-watch keeps it running");
});

test("kube2sky knows every flag the manifests pass", () => {
  const bin = process.env.KUBE2SKY_BIN;
  assert.ok(bin && existsSync(bin), `kube2sky binary (KUBE2SKY_BIN=${bin}) is built`);
  const r = spawnSync(bin, ["--help"], { encoding: "utf8", timeout: 5000 });
  const help = r.stdout + r.stderr;
  for (const a of container(dep, "kube2sky").args) {
    const flag = a.split("=")[0];
    // help shows one dash (skydns's layout); kube2sky takes one dash or two
    const name = flag.replace(/^--?/, "");
    assert.match(help, new RegExp(`(^|\\s)--?${name}\\b`, "m"), `kube2sky --help lists ${flag}`);
  }
});

// The chart's optional skydns-check (issue 14), with the chart's flags
// against the real etcd: a closed port's address is marked DOWN in etcd,
// an open one's is not, and /healthz (its probes) turns 200. Its own path
// prefix keeps it off the records above (their addresses are not loopback).
test("skydns-check runs with the chart's checker args: probes pass, a closed address is marked DOWN", async () => {
  const bin = process.env.SKYDNS_CHECK_BIN;
  assert.ok(bin && existsSync(bin), `skydns-check binary (SKYDNS_CHECK_BIN=${bin}) is built`);
  assert.ok(etcdURL, "etcd is up (first test)");
  const open = createServer((s) => s.destroy());
  await new Promise((res) => open.listen(0, "127.0.0.1", res));
  const port = open.address().port;
  try {
    const vals = join(tmp, "checker.yaml");
    writeFileSync(vals, `checker:\n  enabled: true\n  etcdEndpoints: ["http://etcd:2379"]\n  scanPorts: [${port}]\n` +
      "  interval: 1\n  timeout: 1\n  rise: 1\n  fall: 2\n  extraArgs: [\"-path-prefix=chk\"]\n");
    const objs = mustRender(runChart(["-f", vals]), "chart (checker)");
    const c = objs.find((o) => o.kind === "Deployment" && o.metadata.name.endsWith("-check")).spec.template.spec.containers[0];
    const metrics = await freePort();
    const args = rewrite(c.args, [["http://etcd:2379", etcdURL], ["0.0.0.0:9154", `127.0.0.1:${metrics}`]]);
    assert.deepEqual(args.filter((a) => /0\.0\.0\.0|etcd:2379/.test(a)), [], "listener and etcd moved to test addresses");
    for (const [k, host] of [["up", "127.0.0.1"], ["down", "127.0.0.2"]]) {
      const put = await fetch(`${etcdURL}/v3/kv/put`, {
        method: "POST", body: JSON.stringify({ key: b64(`/chk/local/cluster/svc/default/chk/${k}`), value: b64(`{"host":"${host}"}`) }),
        signal: AbortSignal.timeout(5000),
      });
      assert.equal(put.status, 200);
    }
    const chk = start(bin, args, "skydns-check");
    await waitHTTP(chk, `http://127.0.0.1:${metrics}/healthz`, /ok/, 20);
    const status = async (ip) => {
      const r = await fetch(`${etcdURL}/v3/kv/range`, {
        method: "POST", body: JSON.stringify({ key: b64(`/chk/monitor/status/${ip}`) }), signal: AbortSignal.timeout(5000),
      });
      const kv = (await r.json()).kvs?.[0];
      return kv ? JSON.parse(Buffer.from(kv.value, "base64").toString()).status : undefined;
    };
    let down;
    for (let i = 0; i < 50 && down !== "DOWN"; i++) {
      down = await status("127.0.0.2");
      if (down !== "DOWN") await sleep(200);
    }
    assert.equal(down, "DOWN", `127.0.0.2 (port ${port} closed) marked DOWN\n${chk.log.slice(-2000)}`);
    assert.notEqual(await status("127.0.0.1"), "DOWN", "127.0.0.1 (port open) not DOWN");
    const m = await (await fetch(`http://127.0.0.1:${metrics}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    assert.match(m, /^skydns_check_addresses 2$/m, "both addresses found");
    chk.kill("SIGTERM");
  } finally {
    open.close();
  }
});
