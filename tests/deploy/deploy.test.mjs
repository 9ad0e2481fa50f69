// The addon bundle: deploy/ templates through hack/render-manifests.sh and
// charts/skydns through hack/helm-render, validated against the Kubernetes
// API schemas, checked for their wiring, and compared with each other.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import YAML from "yaml";
import {
  ROOT, runScript, runChart, mustRender, validateAll, withoutHelmLabels, key, byKind,
  container, argValue,
} from "./lib.mjs";
import { checkAddon } from "./addon.mjs";

const FULL = resolve(ROOT, "tests/deploy/values-full.yaml");
const BASE = { DNS_DOMAIN: "cluster.local", DNS_SERVER_IP: "10.96.0.10", DNS_REPLICAS: "2" };
const DEFAULTS = { domain: "cluster.local", ip: "10.96.0.10", replicas: 2, k8sApp: "kube-dns" };

function assertValid(objs, what) {
  const errs = validateAll(objs);
  assert.deepEqual(errs, [], `${what}: objects fail the Kubernetes schemas:\n${errs.join("\n")}`);
}

test("deploy: sample values render to schema-valid, correctly wired objects", () => {
  const objs = mustRender(runScript([], BASE), "render-manifests.sh");
  assert.deepEqual(objs.map((o) => o.kind).sort(),
    ["ClusterRole", "ClusterRoleBinding", "Deployment", "PodDisruptionBudget", "Service", "ServiceAccount"]);
  assertValid(objs, "deploy/");
  checkAddon(objs, DEFAULTS);
});

test("deploy: flags override env; IPv6 service IP, trailing-dot domain, forwarders, images", () => {
  const args = ["--domain", "example.org.", "--server-ip", "fd00:10:96::a", "--replicas", "5",
    "--nameservers", "192.0.2.1:53,[2001:db8::1]:53", "--skydns-image", "reg.example:5000/dns/skydns:1.2",
    "--kube2sky-image=reg.example:5000/dns/kube2sky:1.2", "--etcd-image", "reg.example:5000/dns/etcd:3.4.23"];
  const objs = mustRender(runScript(args, BASE), "render-manifests.sh");
  assertValid(objs, "deploy/");
  checkAddon(objs, {
    domain: "example.org", ip: "fd00:10:96::a", replicas: 5, k8sApp: "kube-dns",
    forwarders: ["192.0.2.1:53", "[2001:db8::1]:53"],
    images: { skydns: "reg.example:5000/dns/skydns:1.2", kube2sky: "reg.example:5000/dns/kube2sky:1.2",
      etcd: "reg.example:5000/dns/etcd:3.4.23" },
  });
});

const BAD = [
  // [what, env overrides (null = unset), extra args, stderr must match]
  ["missing domain", { DNS_DOMAIN: null }, [], /DNS_DOMAIN is empty/],
  ["missing IP", { DNS_SERVER_IP: null }, [], /DNS_SERVER_IP is empty/],
  ["missing replicas", { DNS_REPLICAS: null }, [], /DNS_REPLICAS is empty/],
  ["IP not an IP", { DNS_SERVER_IP: "10.0.0.300" }, [], /DNS_SERVER_IP '10\.0\.0\.300' is not an IPv4 or IPv6/],
  ["IP is a name", { DNS_SERVER_IP: "kube-dns" }, [], /is not an IPv4 or IPv6/],
  ["IP with two ::", {}, ["--server-ip", "fd00::1::2"], /is not an IPv4 or IPv6/],
  ["IP unspecified", { DNS_SERVER_IP: "0.0.0.0" }, [], /unspecified address/],
  ["replicas not a number", { DNS_REPLICAS: "two" }, [], /DNS_REPLICAS 'two' is not a number/],
  ["replicas zero", {}, ["--replicas", "0"], /between 1 and 100/],
  ["replicas negative", { DNS_REPLICAS: "-1" }, [], /is not a number/],
  ["domain bad label", { DNS_DOMAIN: "cluster_local" }, [], /bad label 'cluster_local'/],
  ["domain label starts with -", { DNS_DOMAIN: "-bad.local" }, [], /bad label '-bad'/],
  ["domain empty label", { DNS_DOMAIN: "cluster..local" }, [], /empty label/],
  ["domain label too long", { DNS_DOMAIN: "a".repeat(64) + ".local" }, [], /longer than 63/],
  ["domain upper case", { DNS_DOMAIN: "Cluster.Local" }, [], /lower case/],
  ["domain with a slash", { DNS_DOMAIN: "cluster.local/x" }, [], /bad label/],
  ["nameserver without port", { DNS_NAMESERVERS: "8.8.8.8" }, [], /'8\.8\.8\.8' is not IPv4:port/],
  ["nameserver bad port", {}, ["--nameservers", "8.8.8.8:99999"], /is not IPv4:port/],
  ["bad image", { SKYDNS_IMAGE: "Not An Image" }, [], /SKYDNS_IMAGE .* is not an image reference/],
  ["unknown flag", {}, ["--dommain", "x"], /unknown argument '--dommain'/],
  ["flag without value", {}, ["--replicas"], /--replicas needs a value/],
];

for (const [what, over, args, msg] of BAD) {
  test(`deploy: bad input stops the script: ${what}`, () => {
    const env = { ...BASE };
    for (const [k, v] of Object.entries(over)) v === null ? delete env[k] : (env[k] = v);
    const r = runScript(args, env);
    assert.notEqual(r.status, 0, "exit status");
    assert.equal(r.stdout, "", "nothing half-rendered on stdout");
    assert.match(r.stderr, msg);
  });
}

test("deploy: --help prints usage and renders nothing", () => {
  const r = runScript(["--help"]);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /--server-ip IP\s+DNS_SERVER_IP/);
});

test("chart: default values render to schema-valid, correctly wired objects", () => {
  const objs = mustRender(runChart(), "chart (defaults)");
  assertValid(objs, "chart");
  checkAddon(objs, DEFAULTS);
  for (const o of objs) assert.equal(o.metadata.labels["app.kubernetes.io/managed-by"], "Helm", `${o.kind} managed-by`);
});

test("chart: a values file setting everything renders valid objects and every value lands", () => {
  const objs = mustRender(runChart(["-f", FULL]), "chart (values-full.yaml)");
  assertValid(objs, "chart (full)");
  assert.ok(objs.some((o) => o.kind === "ServiceMonitor"), "ServiceMonitor rendered when enabled");
  checkAddon(objs.filter((o) => o.kind !== "ServiceMonitor"), {
    domain: "corp.example.org", ip: "10.100.0.53", replicas: 3, k8sApp: "cluster-dns",
    antiAffinity: "custom", priorityClassName: "system-node-critical",
    forwarders: ["192.0.2.53:53", "[2001:db8::53]:5353"], cache: { size: "1000", ttl: "10" },
    images: { skydns: "registry.example.com:5000/dns/skydns:0.1.0-test",
      kube2sky: "registry.example.com:5000/dns/kube2sky:0.1.0-test", etcd: "registry.example.com:5000/dns/etcd:3.4.23" },
  });
  const dep = byKind(objs, "Deployment");
  const spec = dep.spec.template.spec;
  const etcd = container(dep, "etcd"), k2s = container(dep, "kube2sky"), dns = container(dep, "skydns");
  assert.equal(dep.metadata.name, "dns-sky", "fullnameOverride");
  assert.equal(spec.serviceAccountName, "dns-bridge");
  assert.equal(byKind(objs, "ServiceAccount").metadata.annotations["example.com/owner"], "dns-team");
  assert.equal(argValue(dns.args, "-machines"), "http://127.0.0.1:12379", "etcd.clientPort reaches skydns");
  assert.ok(dns.args.includes("-ndots=3") && k2s.args.includes("--resync-period=600")
    && etcd.args.includes("--snapshot-count=5000"), "extraArgs");
  assert.equal(argValue(etcd.args, "--quota-backend-bytes"), "268435456", "big integers print as integers");
  assert.equal(argValue(etcd.args, "--listen-peer-urls"), "http://127.0.0.1:12380");
  assert.deepEqual(spec.volumes.find((v) => v.name === "etcd-data").emptyDir, { medium: "Memory", sizeLimit: "128Mi" });
  // customRecords: a ConfigMap with each file, mounted for the load container
  const load = container(dep, "load");
  const cm = objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === "dns-sky-records");
  assert.ok(cm, "the records ConfigMap is made from the values");
  assert.equal(spec.volumes.find((v) => v.name === "records").configMap.name, cm.metadata.name);
  assert.deepEqual(JSON.parse(cm.data["records.json"]), { db: { host: "10.0.0.5" }, web: [{ host: "10.0.0.6" }, { host: "10.0.0.7" }] });
  assert.equal(cm.data.hosts, "10.1.0.1 h1 h1-alias\n");
  assert.deepEqual(JSON.parse(cm.data.stubDomains), { "acme.local": ["10.2.0.1", "10.2.0.2:5353"] });
  assert.deepEqual(JSON.parse(cm.data.upstreamNameservers), ["192.0.2.1"]);
  assert.deepEqual(JSON.parse(cm.data["config.json"]), { ttl: 60 });
  assert.equal(argValue(load.args, "-interval"), "30s");
  assert.equal(load.resources.limits.memory, "40Mi");
  assert.equal(argValue(dns.args, "-pod-records"), true, "skydns.podRecords");
  assert.equal(argValue(etcd.args, "--auto-compaction-retention"), "10m");
  assert.equal(dns.resources.limits.cpu, "1");
  assert.equal(spec.imagePullSecrets[0].name, "regcred");
  assert.ok(spec.containers.every((c) => c.imagePullPolicy === "Always"));
  assert.equal(spec.terminationGracePeriodSeconds, 45);
  assert.equal(spec.securityContext.runAsUser, 10001);
  assert.ok(spec.affinity.nodeAffinity, "affinity replaces the anti-affinity preset");
  assert.equal(spec.topologySpreadConstraints[0].topologyKey, "topology.kubernetes.io/zone");
  assert.equal(spec.nodeSelector["node.example.com/pool"], "system");
  assert.ok(spec.tolerations.some((t) => t.key === "dedicated" && t.effect === "NoExecute"));
  assert.equal(dep.spec.template.metadata.annotations["example.com/scrape"], "yes");
  assert.equal(dep.spec.template.metadata.labels.team, "dns");
  assert.deepEqual(dep.spec.strategy.rollingUpdate, { maxUnavailable: 1, maxSurge: "25%" });
  assert.equal(k2s.livenessProbe.periodSeconds, 15);
  assert.equal(dns.readinessProbe.timeoutSeconds, 2);
  assert.equal(byKind(objs, "PodDisruptionBudget").spec.maxUnavailable, 2);
  const svc = byKind(objs, "Service");
  assert.equal(svc.metadata.annotations["example.com/team"], "dns");
  assert.equal(svc.metadata.annotations["prometheus.io/port"], "19153");
  assert.equal(svc.spec.ports.find((p) => p.name === "metrics").port, 19153);
  const sm = byKind(objs, "ServiceMonitor");
  assert.equal(sm.metadata.namespace, "monitoring");
  assert.equal(sm.metadata.labels.release, "prometheus");
  assert.deepEqual(sm.spec.namespaceSelector.matchNames, ["kube-system"]);
  assert.deepEqual(sm.spec.selector.matchLabels, dep.spec.selector.matchLabels);
  assert.deepEqual(sm.spec.endpoints, [{ port: "metrics", path: "/metrics", interval: "15s" }]);
});

test("chart: customRecords reads an existing ConfigMap, or is off (no loader, no -stubzones)", () => {
  const ex = mustRender(runChart(["--set", "customRecords.existingConfigMap=my-records",
    "--set", "customRecords.hosts=10.0.0.1 a"]), "chart (existing)");
  assert.equal(ex.filter((o) => o.kind === "ConfigMap").length, 0, "no ConfigMap made");
  const spec = byKind(ex, "Deployment").spec.template.spec;
  assert.equal(spec.volumes.find((v) => v.name === "records").configMap.name, "my-records");
  // the defaults hold no records: nothing to make, the loader reads an absent (optional) ConfigMap
  assert.equal(mustRender(runChart(), "chart").filter((o) => o.kind === "ConfigMap").length, 0);
  const off = mustRender(runChart(["--set", "customRecords.enabled=false"]), "chart (off)");
  assertValid(off, "chart (customRecords off)");
  checkAddon(off, { ...DEFAULTS, load: false });
  const dns = container(byKind(off, "Deployment"), "skydns");
  assert.equal(argValue(dns.args, "-stubzones"), undefined);
  assert.equal(argValue(dns.args, "-pod-records"), undefined, "pod records off by default");
});

test("chart: switches (rbac, serviceAccount, PDB, anti-affinity) turn their objects off", () => {
  const objs = mustRender(runChart(["--set", "rbac.create=false", "--set", "serviceAccount.create=false",
    "--set", "serviceAccount.name=existing", "--set", "podDisruptionBudget.enabled=false",
    "--set", "podAntiAffinity=none"]), "chart (switches off)");
  assert.deepEqual(objs.map((o) => o.kind).sort(), ["Deployment", "Service"]);
  assertValid(objs, "chart (switches off)");
  const spec = byKind(objs, "Deployment").spec.template.spec;
  assert.equal(spec.serviceAccountName, "existing");
  assert.equal(spec.affinity, undefined);
  const hard = byKind(mustRender(runChart(["--set", "podAntiAffinity=hard"]), "chart (hard)"), "Deployment");
  assert.ok(hard.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution);
});

test("chart: skydns.cache.size=0 turns the forwarded-answer cache off", () => {
  const dep = byKind(mustRender(runChart(["--set", "skydns.cache.size=0"]), "chart (no cache)"), "Deployment");
  const dns = container(dep, "skydns");
  assert.equal(argValue(dns.args, "-rcache"), undefined);
  assert.equal(argValue(dns.args, "-rcache-ttl"), undefined);
});

const BAD_VALUES = [
  ["clusterIP not an IP", ["--set", "service.clusterIP=10.0.0.300"], /service\.clusterIP/],
  ["clusterIP unspecified", ["--set", "service.clusterIP=0.0.0.0"], /service\.clusterIP/],
  ["replicas a string", ["--set", "replicaCount=two"], /replicaCount: Invalid type/],
  ["replicas zero", ["--set", "replicaCount=0"], /replicaCount/],
  ["domain bad label", ["--set", "clusterDomain=cluster_local"], /clusterDomain/],
  ["domain empty label", ["--set", "clusterDomain=a..b"], /clusterDomain/],
  ["forwarders not a list", ["--set", "skydns.forwarders=8.8.8.8:53"], /skydns\.forwarders: Invalid type/],
  ["forwarder without port", ["-f", "values-bad-forwarder.yaml"], /skydns\.forwarders\.0: Does not match pattern/],
  ["forwarder port too big", ["-f", "values-bad-port.yaml"], /skydns\.forwarders\.0: Does not match pattern/],
  ["unknown key (typo)", ["--set", "replicas=3"], /replicas/],
  ["bad pull policy", ["--set", "image.skydns.pullPolicy=Sometimes"], /pullPolicy/],
  ["serviceAccount without name", ["--set", "serviceAccount.create=false"], /serviceAccount\.name is required/],
];

for (const [what, args, msg] of BAD_VALUES) {
  test(`chart: bad value rejected before rendering: ${what}`, () => {
    const r = runChart(args.map((a) => (a.endsWith(".yaml") ? resolve(ROOT, "tests/deploy", a) : a)));
    assert.notEqual(r.status, 0, "exit status");
    assert.equal(r.stdout, "", "nothing rendered");
    assert.match(r.stderr, msg);
  });
}

// The chart and deploy/ describe the same objects: with equal values they
// render the same Kubernetes objects, except the two labels only helm adds.
function assertSameObjects(chartObjs, deployObjs) {
  const c = new Map(chartObjs.map((o) => [key(o), withoutHelmLabels(o)]));
  const d = new Map(deployObjs.map((o) => [key(o), o]));
  assert.deepEqual([...c.keys()].sort(), [...d.keys()].sort(), "same set of objects");
  for (const [k, obj] of d) assert.deepEqual(c.get(k), obj, `${k} differs between chart and deploy/`);
}

test("chart = deploy/: default values", () => {
  const chart = mustRender(runChart(), "chart");
  const deploy = mustRender(runScript([], BASE), "render-manifests.sh");
  assertSameObjects(chart, deploy);
});

test("chart = deploy/: custom domain, IPv6 IP, replicas, forwarders, images", () => {
  const chart = mustRender(runChart([
    "--set", "clusterDomain=dns.example.net", "--set", "service.clusterIP=fd00:10:96::53",
    "--set", "replicaCount=4", "-f", resolve(ROOT, "tests/deploy/values-equiv.yaml")]), "chart");
  const deploy = mustRender(runScript(["--domain", "dns.example.net", "--server-ip", "fd00:10:96::53",
    "--replicas", "4", "--nameservers", "192.0.2.10:53,[2001:db8::10]:53",
    "--skydns-image", "registry.example.com/dns/skydns:0.2.0",
    "--kube2sky-image", "registry.example.com/dns/kube2sky:0.2.0",
    "--etcd-image", "registry.example.com/dns/skydns-etcd:3.4.23"]), "render-manifests.sh");
  assertSameObjects(chart, deploy);
});

test("chart NOTES.txt tells how to point the kubelet at the service", () => {
  const r = runChart(["--notes", "--set", "service.clusterIP=10.32.0.10", "--set", "clusterDomain=k8s.example."]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /--cluster-dns=10\.32\.0\.10\b/);
  assert.match(r.stdout, /--cluster-domain=k8s\.example\n/);
  assert.match(r.stdout, /clusterDNS: \["10\.32\.0\.10"\]/);
});

test("chart: values.yaml lists (with a default) every value the schema allows, and documents each", () => {
  const schema = JSON.parse(readFileSync(resolve(ROOT, "charts/skydns/values.schema.json"), "utf8"));
  const text = readFileSync(resolve(ROOT, "charts/skydns/values.yaml"), "utf8");
  const values = YAML.parse(text);
  const missing = [];
  (function walk(s, v, path) {
    for (const [k, sub] of Object.entries(s.properties ?? {})) {
      if (!(k in (v ?? {}))) missing.push(path + k);
      else if (sub.properties) walk(sub, v[k], `${path}${k}.`);
    }
  })(schema, values, "");
  assert.deepEqual(missing, [], "values.yaml lacks these schema keys");
  // Each top-level key has a comment right above it or in its block.
  const lines = text.split("\n");
  const undocumented = [];
  lines.forEach((l, i) => {
    const m = /^([A-Za-z]\w*):/.exec(l);
    if (!m) return;
    let j = i + 1;
    while (j < lines.length && (lines[j].startsWith(" ") || lines[j] === "")) j++;
    const block = [lines[i - 1] ?? "", ...lines.slice(i + 1, j)].join("\n");
    if (!/^\s*#/m.test(block)) undocumented.push(m[1]);
  });
  assert.deepEqual(undocumented, [], "values without a comment");
});

test("chart: release name and namespace flow into names, namespaces and the binding", () => {
  const objs = mustRender(runChart([], { namespace: "dns-system", release: "corp" }), "chart (corp)");
  assertValid(objs, "chart (corp)");
  checkAddon(objs, { ...DEFAULTS, namespace: "dns-system" });
  assert.equal(byKind(objs, "Deployment").metadata.name, "corp-skydns");
  assert.equal(byKind(objs, "ClusterRole").metadata.name, "system:corp-skydns");
  assert.equal(byKind(objs, "Deployment").spec.selector.matchLabels["app.kubernetes.io/instance"], "corp");
});

test("scripts and the renderer are lint-clean (shellcheck, gofmt, go vet) and the renderer passes go test", () => {
  const run = (cmd, args, env = {}) => spawnSync(cmd, args, {
    cwd: ROOT, encoding: "utf8", timeout: 120_000, env: { ...process.env, ...env },
  });
  const sc = run("shellcheck", ["hack/render-manifests.sh", "tests/deploy/run.sh"]);
  assert.equal(sc.status, 0, `shellcheck:\n${sc.stdout}${sc.stderr}`);
  const fmt = run("gofmt", ["-l", "hack/helm-render"]);
  assert.equal(fmt.status, 0, fmt.stderr);
  assert.equal(fmt.stdout, "", "gofmt -l lists unformatted files");
  const vet = run("go", ["vet", "./hack/helm-render"], {
    GO111MODULE: "off", GOPATH: "/usr/share/gocode", GOFLAGS: "",
    GOCACHE: process.env.GOCACHE || resolve(process.env.SKYDNS_BUILD || "/tmp", "deploy-test/gocache"),
  });
  assert.equal(vet.status, 0, `go vet:\n${vet.stderr}`);
  const unit = run("go", ["test", "./hack/helm-render"], {
    GO111MODULE: "off", GOPATH: "/usr/share/gocode", GOFLAGS: "",
    GOCACHE: process.env.GOCACHE || resolve(process.env.SKYDNS_BUILD || "/tmp", "deploy-test/gocache"),
  });
  assert.equal(unit.status, 0, `go test ./hack/helm-render (the renderer's own helm-semantics tests):\n${unit.stdout}${unit.stderr}`);
});

test("chart: values.schema.json holds under a second validator (ajv, draft-07 with formats)", async () => {
  const { default: Ajv } = await import("ajv");
  const { default: addFormats } = await import("ajv-formats");
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  const check = ajv.compile(JSON.parse(readFileSync(resolve(ROOT, "charts/skydns/values.schema.json"), "utf8")));
  const defaults = YAML.parse(readFileSync(resolve(ROOT, "charts/skydns/values.yaml"), "utf8"));
  assert.ok(check(defaults), `values.yaml: ${ajv.errorsText(check.errors)}`);
  const merge = (a, b) => {
    for (const [k, v] of Object.entries(b)) {
      a[k] = v && typeof v === "object" && !Array.isArray(v) && a[k] && typeof a[k] === "object" ? merge(a[k], v) : v;
    }
    return a;
  };
  const full = merge(structuredClone(defaults), YAML.parse(readFileSync(FULL, "utf8")));
  assert.ok(check(full), `values-full.yaml: ${ajv.errorsText(check.errors)}`);
  for (const bad of [{ service: { clusterIP: "10.0.0.300" } }, { replicaCount: "2" }, { clusterDomain: "a_b.local" },
    { skydns: { forwarders: ["8.8.8.8"] } }, { replicas: 2 }]) {
    assert.equal(check(merge(structuredClone(defaults), bad)), false, `ajv accepts ${JSON.stringify(bad)}`);
  }
});

test("deploy: a template placeholder the script does not know stops it, printing nothing", () => {
  const dir = mkdtempSync(join(tmpdir(), "skydns-tpl-"));
  try {
    for (const f of readdirSync(resolve(ROOT, "deploy")).filter((f) => f.endsWith(".yaml.in"))) {
      copyFileSync(resolve(ROOT, "deploy", f), join(dir, f));
    }
    writeFileSync(join(dir, "07-extra.yaml.in"), "apiVersion: v1\nkind: ConfigMap\ndata:\n  x: {DNS_UNKNOWN}\n");
    const r = runScript([], { ...BASE, SKYDNS_DEPLOY_DIR: dir });
    assert.notEqual(r.status, 0);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /placeholder \{DNS_UNKNOWN\} has no value/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// skydns-check (issue 14): an optional Deployment, off by default.
// helm-render's --set takes no lists: list values go through a values file.
const tmpValues = mkdtempSync(join(tmpdir(), "skydns-values-"));
let nValues = 0;
function valuesFile(obj) {
  const f = join(tmpValues, `v${nValues++}.yaml`);
  writeFileSync(f, YAML.stringify(obj));
  return ["-f", f];
}
process.on("exit", () => rmSync(tmpValues, { recursive: true, force: true }));
const CHECKER_ON = valuesFile({ checker: { enabled: true, etcdEndpoints: ["http://etcd-0.etcd:2379", "http://etcd-1.etcd:2379"] } });
const checkerOf = (objs) => objs.find((o) => o.kind === "Deployment" && o.metadata.name.endsWith("-check"));

test("chart: checker off by default renders no skydns-check", () => {
  const objs = mustRender(runChart(), "chart (defaults)");
  assert.equal(checkerOf(objs), undefined);
  assert.equal(objs.filter((o) => o.kind === "Deployment").length, 1);
  assert.ok(!JSON.stringify(objs).includes("skydns-check"));
});

test("chart: checker.enabled renders a valid skydns-check Deployment with the values' flags", () => {
  const objs = mustRender(runChart([...CHECKER_ON, ...valuesFile({ checker: { scanPorts: [22, 8080] } }),
    "--set", "checker.interval=10", "--set", "checker.timeout=3", "--set", "checker.rise=4", "--set", "checker.fall=5",
    "--set", "checker.leaseTTL=15", "--set", "checker.metricsPort=19154"]), "chart (checker)");
  assertValid(objs, "chart (checker)");
  const chk = checkerOf(objs);
  assert.ok(chk, "a -check Deployment");
  assert.equal(chk.spec.replicas, 2, "two checkers by default: they share the work");
  const c = chk.spec.template.spec.containers[0];
  const dns = container(objs.find((o) => o.kind === "Deployment" && o !== chk), "skydns");
  assert.equal(c.image, dns.image, "the skydns image carries skydns-check");
  assert.deepEqual(c.command, ["/usr/bin/skydns-check"]);
  assert.equal(argValue(c.args, "-etcd3"), true);
  assert.equal(argValue(c.args, "-machines"), "http://etcd-0.etcd:2379,http://etcd-1.etcd:2379");
  assert.equal(argValue(c.args, "-domain"), "cluster.local.");
  assert.equal(argValue(c.args, "-scan-ports"), "22,8080");
  assert.equal(argValue(c.args, "-check-interval"), "10");
  assert.equal(argValue(c.args, "-check-timeout"), "3");
  assert.equal(argValue(c.args, "-rise"), "4");
  assert.equal(argValue(c.args, "-fall"), "5");
  assert.equal(argValue(c.args, "-lease-ttl"), "15");
  assert.equal(argValue(c.args, "-enable-icmp"), undefined);
  assert.equal(argValue(c.args, "-metrics-addr"), "0.0.0.0:19154");
  assert.equal(c.ports[0].containerPort, 19154);
  for (const p of [c.livenessProbe, c.readinessProbe]) {
    assert.deepEqual(p.httpGet, { path: "/healthz", port: "check-metrics" });
  }
  assert.equal(c.env.find((e) => e.name === "SKYDNS_CHECKER_ID").valueFrom.fieldRef.fieldPath, "metadata.name",
    "each checker's lease id is its pod name");
  assert.deepEqual(c.securityContext.capabilities, { drop: ["ALL"] }, "no capability without ICMP");
  assert.equal(chk.spec.template.spec.securityContext.sysctls, undefined);
  // The kube-dns Service must not select the checker's pods, nor the checker the DNS pods.
  const svc = byKind(objs, "Service");
  const podLabels = chk.spec.template.metadata.labels;
  assert.ok(Object.entries(svc.spec.selector).some(([k, v]) => podLabels[k] !== v), "Service does not select checkers");
  const dep = objs.find((o) => o.kind === "Deployment" && o !== chk);
  const sel = chk.spec.selector.matchLabels;
  assert.ok(Object.entries(sel).some(([k, v]) => dep.spec.template.metadata.labels[k] !== v), "checker selector misses DNS pods");
});

test("chart: checker.enableIcmp adds -enable-icmp and the ping_group_range sysctl, no capability", () => {
  const objs = mustRender(runChart([...CHECKER_ON, "--set", "checker.enableIcmp=true",
    ...valuesFile({ checker: { scanPorts: [] } })]),
    "chart (checker icmp)");
  assertValid(objs, "chart (checker icmp)");
  const chk = checkerOf(objs);
  const c = chk.spec.template.spec.containers[0];
  assert.equal(argValue(c.args, "-enable-icmp"), true);
  assert.equal(argValue(c.args, "-scan-ports"), "");
  assert.deepEqual(chk.spec.template.spec.securityContext.sysctls,
    [{ name: "net.ipv4.ping_group_range", value: "0 2147483647" }]);
  assert.equal(c.securityContext.capabilities.add, undefined);
});

const BAD_CHECKER = [
  ["without etcd endpoints", ["--set", "checker.enabled=true"], /checker\.enabled needs checker\.etcdEndpoints.*127\.0\.0\.1/],
  ["with nothing to check", [...CHECKER_ON, ...valuesFile({ checker: { scanPorts: [] } })], /checker\.scanPorts or checker\.enableIcmp/],
  ["timeout above interval", [...CHECKER_ON, "--set", "checker.timeout=9", "--set", "checker.interval=5"], /checker\.timeout/],
  ["endpoint without scheme", valuesFile({ checker: { enabled: true, etcdEndpoints: ["etcd:2379"] } }), /checker\.etcdEndpoints\.0/],
  ["port out of range", [...CHECKER_ON, ...valuesFile({ checker: { scanPorts: [70000] } })], /checker\.scanPorts\.0/],
];
for (const [what, args, msg] of BAD_CHECKER) {
  test(`chart: checker refused ${what}, naming the value`, () => {
    const r = runChart(args);
    assert.notEqual(r.status, 0, "exit status");
    assert.equal(r.stdout, "", "nothing rendered");
    assert.match(r.stderr, msg);
  });
}

// Issue 16: the options operators use in CoreDNS's chart.
test("chart: autoscaler.enabled renders an autoscaling/v2 HPA on the Deployment, which then has no replicas", () => {
  const objs = mustRender(runChart(["--set", "autoscaler.enabled=true", "--set", "autoscaler.minReplicas=3",
    "--set", "autoscaler.maxReplicas=12", "--set", "autoscaler.targetCPUUtilizationPercentage=60"]), "chart (hpa)");
  assertValid(objs, "chart (hpa)");
  const dep = byKind(objs, "Deployment");
  const hpa = byKind(objs, "HorizontalPodAutoscaler");
  assert.equal(dep.spec.replicas, undefined, "the HPA owns the replica count");
  assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: dep.metadata.name });
  assert.equal(hpa.spec.minReplicas, 3);
  assert.equal(hpa.spec.maxReplicas, 12);
  assert.deepEqual(hpa.spec.metrics, [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 60 } } }]);
  assert.equal(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds, 300);
  assert.ok(dep.spec.template.spec.containers.every((c) => c.resources.requests.cpu), "CPU requests set: utilization needs them");
  assert.equal(objs.some((o) => o.kind === "HorizontalPodAutoscaler"), true);
  assert.equal(mustRender(runChart(), "chart").some((o) => o.kind === "HorizontalPodAutoscaler"), false, "off by default");
});

test("chart: kind=DaemonSet renders a valid DaemonSet with the same pod, no replicas, PDB or anti-affinity preset", () => {
  const objs = mustRender(runChart(["--set", "kind=DaemonSet"]), "chart (daemonset)");
  assertValid(objs, "chart (daemonset)");
  assert.deepEqual(objs.map((o) => o.kind).sort(), ["ClusterRole", "ClusterRoleBinding", "DaemonSet", "Service", "ServiceAccount"]);
  const ds = byKind(objs, "DaemonSet");
  const dep = byKind(mustRender(runChart(), "chart"), "Deployment");
  assert.equal(ds.spec.replicas, undefined);
  assert.deepEqual(ds.spec.updateStrategy, dep.spec.strategy, "same rolling update");
  assert.equal(ds.spec.template.spec.affinity, undefined);
  const strip = (t) => { const c = structuredClone(t); delete c.spec.affinity; return c; };
  assert.deepEqual(strip(ds.spec.template), strip(dep.spec.template), "the same pod as the Deployment's");
  assert.deepEqual(byKind(objs, "Service").spec.selector, ds.spec.selector.matchLabels);
  const notes = runChart(["--notes", "--set", "kind=DaemonSet"]);
  assert.equal(notes.status, 0, notes.stderr);
  assert.match(notes.stdout, /rollout status daemonset\/skydns\b/, "NOTES: the rollout command for a DaemonSet");
  assert.match(notes.stdout, /one per node/);
});

test("chart: service.type LoadBalancer/NodePort, customLabels on every object and the pods", () => {
  for (const type of ["LoadBalancer", "NodePort"]) {
    const objs = mustRender(runChart(["--set", `service.type=${type}`]), `chart (${type})`);
    assertValid(objs, `chart (${type})`);
    const svc = byKind(objs, "Service");
    assert.equal(svc.spec.type, type);
    assert.equal(svc.spec.clusterIP, "10.96.0.10", "the cluster DNS IP is kept");
  }
  assert.equal(byKind(mustRender(runChart(), "chart"), "Service").spec.type, "ClusterIP", "ClusterIP by default");
  const objs = mustRender(runChart(["--set", "customLabels.team=dns", "--set", "customLabels.cost-center=infra",
    "--set", "metrics.serviceMonitor.enabled=true", "--set", "autoscaler.enabled=true", "--set", "checker.enabled=true",
    "-f", resolve(ROOT, "tests/deploy/values-checker.yaml")]), "chart (customLabels)");
  assertValid(objs, "chart (customLabels)");
  for (const o of objs) {
    assert.equal(o.metadata.labels.team, "dns", `${o.kind}/${o.metadata.name} carries customLabels`);
    assert.equal(o.metadata.labels["cost-center"], "infra");
  }
  for (const o of objs.filter((x) => x.kind === "Deployment")) {
    assert.equal(o.spec.template.metadata.labels.team, "dns", `${o.metadata.name} pods carry customLabels`);
    assert.equal(o.spec.selector.matchLabels.team, undefined, "selectors stay as they were (immutable)");
  }
});

test("chart: podLabels, podAnnotations, service.annotations and topologySpreadConstraints land (with defaults unchanged)", () => {
  const objs = mustRender(runChart(["--set", "podLabels.tier=dns", "--set", "podAnnotations.owner=dns-team",
    "--set", "service.annotations.lb=internal"]), "chart (pod meta)");
  const dep = byKind(objs, "Deployment");
  assert.equal(dep.spec.template.metadata.labels.tier, "dns");
  assert.equal(dep.spec.template.metadata.annotations.owner, "dns-team");
  assert.equal(byKind(objs, "Service").metadata.annotations.lb, "internal");
  assert.equal(byKind(objs, "Service").metadata.annotations["prometheus.io/scrape"], "true", "scrape annotations kept");
  const full = byKind(mustRender(runChart(["-f", FULL]), "chart (full)"), "Deployment");
  assert.equal(full.spec.template.spec.topologySpreadConstraints[0].topologyKey, "topology.kubernetes.io/zone");
});

const BAD_OPTIONS = [
  ["DaemonSet with the autoscaler", ["--set", "kind=DaemonSet", "--set", "autoscaler.enabled=true"], /autoscaler\.enabled needs kind: Deployment/],
  ["unknown kind", ["--set", "kind=StatefulSet"], /kind/],
  ["unknown service type", ["--set", "service.type=ExternalName"], /service\.type/],
  ["autoscaler min above max", ["--set", "autoscaler.enabled=true", "--set", "autoscaler.minReplicas=5", "--set", "autoscaler.maxReplicas=3"],
    /autoscaler\.minReplicas must not exceed autoscaler\.maxReplicas/],
];
for (const [what, args, msg] of BAD_OPTIONS) {
  test(`chart: refused: ${what}`, () => {
    const r = runChart(args);
    assert.notEqual(r.status, 0, "exit status");
    assert.equal(r.stdout, "", "nothing rendered");
    assert.match(r.stderr, msg);
  });
}

// Issue 16: alert rules and the Grafana dashboard, in the chart and deploy/.
test("chart: prometheusRule and grafanaDashboard off by default; on, they carry deploy/'s rules and dashboard", () => {
  const none = mustRender(runChart(), "chart");
  assert.ok(!none.some((o) => o.kind === "PrometheusRule" || o.kind === "ConfigMap"));
  const objs = mustRender(runChart(["--set", "prometheusRule.enabled=true", "--set", "prometheusRule.labels.release=prom",
    "--set", "grafanaDashboard.enabled=true", "--set", "grafanaDashboard.namespace=monitoring"]), "chart (monitoring)");
  assertValid(objs, "chart (monitoring)");
  const rule = byKind(objs, "PrometheusRule");
  assert.equal(rule.metadata.labels.release, "prom");
  assert.equal(rule.metadata.namespace, "kube-system");
  const plain = YAML.parse(readFileSync(resolve(ROOT, "deploy/prometheus/skydns-rules.yaml"), "utf8"));
  assert.deepEqual(rule.spec.groups, plain.groups,
    "the chart's rules are deploy/prometheus/skydns-rules.yaml's (run hack/monitoring-to-chart.py)");
  const alerts = plain.groups.flatMap((g) => g.rules.map((r) => r.alert));
  for (const a of ["SkyDNSNoSnapshot", "SkyDNSEtcdDisconnected", "KubeToSkyAPIDisconnected", "KubeToSkyEtcdDisconnected",
    "SkyDNSServfailRate", "SkyDNSForwarderErrors"]) assert.ok(alerts.includes(a), `alert ${a}`);
  for (const r of plain.groups.flatMap((g) => g.rules)) {
    assert.ok(r.expr && r.for && r.labels?.severity && r.annotations?.summary, `${r.alert}: expr, for, severity, summary`);
    assert.match(r.annotations.summary, /\{\{ \$labels\.pod \}\}/, `${r.alert}: summary names the pod (template braces survive helm)`);
  }
  const cm = byKind(objs, "ConfigMap");
  assert.equal(cm.metadata.namespace, "monitoring");
  assert.equal(cm.metadata.labels.grafana_dashboard, "1", "the Grafana sidecar's default label");
  const file = readFileSync(resolve(ROOT, "deploy/grafana/skydns.json"), "utf8");
  assert.equal(cm.data["skydns.json"], file, "the chart's dashboard is deploy/grafana/skydns.json (run hack/monitoring-to-chart.py)");
  const dash = JSON.parse(file);
  assert.ok(dash.panels.length >= 8 && dash.panels.every((p) => p.targets.every((t) => t.expr)), "panels with queries");
  assert.ok(dash.panels.some((p) => p.targets.some((t) => t.legendFormat === "{{cause}}")), "legend braces survive helm");
});

test("chart: metrics.podMonitor scrapes kube2sky's and etcd's container ports (the KubeToSky alerts need them)", () => {
  assert.ok(!mustRender(runChart(), "chart").some((o) => o.kind === "PodMonitor"), "off by default");
  const objs = mustRender(runChart(["--set", "metrics.podMonitor.enabled=true", "--set", "metrics.serviceMonitor.labels.release=prom"]),
    "chart (podMonitor)");
  assertValid(objs, "chart (podMonitor)");
  const pm = byKind(objs, "PodMonitor");
  const dep = byKind(objs, "Deployment");
  assert.deepEqual(pm.spec.selector.matchLabels, dep.spec.selector.matchLabels);
  assert.equal(pm.metadata.labels.release, "prom");
  const ports = dep.spec.template.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => p.name));
  for (const e of pm.spec.podMetricsEndpoints) {
    assert.ok(ports.includes(e.port), `PodMonitor port ${e.port} is a container port`);
    assert.equal(e.path, "/metrics");
  }
  assert.deepEqual(pm.spec.podMetricsEndpoints.map((e) => e.port), ["k2s-health", "etcd-metrics"]);
});
