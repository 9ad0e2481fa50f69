// checkAddon: the wiring a cluster operator relies on, asserted on a set of
// rendered objects (deploy/ or the chart). Throws AssertionError naming the
// object and field that is wrong.
import assert from "node:assert/strict";
import { argValue, byKind, container, portOf } from "./lib.mjs";

const SUBSET = (small, big, what) => {
  for (const [k, v] of Object.entries(small)) assert.equal(big?.[k], v, `${what}: label ${k}`);
};

// expect: { domain, ip, replicas, namespace, k8sApp, forwarders?, images?, antiAffinity? }
export function checkAddon(objs, expect) {
  const ns = expect.namespace ?? "kube-system";
  const sa = byKind(objs, "ServiceAccount");
  const role = byKind(objs, "ClusterRole");
  const binding = byKind(objs, "ClusterRoleBinding");
  const dep = byKind(objs, "Deployment");
  const svc = byKind(objs, "Service");
  const pdb = byKind(objs, "PodDisruptionBudget");
  for (const o of [sa, dep, svc, pdb]) assert.equal(o.metadata.namespace, ns, `${o.kind} namespace`);
  for (const o of objs) assert.equal(o.metadata.labels?.["k8s-app"], expect.k8sApp, `${o.kind} label k8s-app`);

  checkRBAC(role, binding, sa, ns);
  const pod = dep.spec.template;
  const sel = dep.spec.selector.matchLabels;
  SUBSET(sel, pod.metadata.labels, "Deployment selector vs pod labels");
  assert.equal(sel["k8s-app"], expect.k8sApp, "selector k8s-app");
  assert.equal(dep.spec.replicas, expect.replicas, "Deployment replicas");
  assert.equal(pod.spec.serviceAccountName, sa.metadata.name, "pod serviceAccountName");
  checkPodPolicy(pod.spec, sel, expect);
  checkContainers(pod.spec, expect);
  checkService(svc, sel, pod.metadata.labels, container(dep, "skydns"), expect);
  assert.deepEqual(pdb.spec.selector.matchLabels, sel, "PDB selector = Deployment selector");
  assert.ok(pdb.spec.maxUnavailable !== undefined || pdb.spec.minAvailable !== undefined, "PDB sets a budget");
}

function checkRBAC(role, binding, sa, ns) {
  const got = {};
  for (const r of role.rules) {
    assert.deepEqual([...r.verbs].sort(), ["list", "watch"], `ClusterRole verbs for ${r.resources}`);
    for (const g of r.apiGroups) for (const res of r.resources) (got[g] ??= []).push(res);
    assert.equal(r.resourceNames, undefined, "no resourceNames");
  }
  for (const g in got) got[g].sort();
  assert.deepEqual(got, { "": ["endpoints", "services"], "discovery.k8s.io": ["endpointslices"] },
    "ClusterRole: list/watch on services, endpoints, endpointslices only");
  assert.deepEqual(binding.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name });
  assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: sa.metadata.name, namespace: ns }]);
}

function checkPodPolicy(spec, sel, expect) {
  assert.equal(spec.dnsPolicy, "Default", "dnsPolicy Default: upstreams are the node's resolv.conf");
  assert.equal(spec.priorityClassName, expect.priorityClassName ?? "system-cluster-critical");
  assert.ok(spec.tolerations?.some((t) => t.key === "CriticalAddonsOnly" && t.operator === "Exists"),
    "CriticalAddonsOnly toleration");
  assert.equal(spec.securityContext.runAsNonRoot, true, "pod runAsNonRoot");
  assert.ok(spec.securityContext.runAsUser > 0, "pod runAsUser is not root");
  if ((expect.antiAffinity ?? "soft") === "soft") {
    const pref = spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution;
    assert.ok(pref?.length, "preferred pod anti-affinity");
    assert.equal(pref[0].podAffinityTerm.topologyKey, "kubernetes.io/hostname");
    assert.deepEqual(pref[0].podAffinityTerm.labelSelector.matchLabels, sel, "anti-affinity selects our pods");
    assert.equal(spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution, undefined);
  }
}

function checkSecurity(c) {
  const sc = c.securityContext ?? {};
  assert.equal(sc.allowPrivilegeEscalation, false, `${c.name}: allowPrivilegeEscalation`);
  assert.equal(sc.readOnlyRootFilesystem, true, `${c.name}: readOnlyRootFilesystem`);
  assert.deepEqual(sc.capabilities?.drop, ["ALL"], `${c.name}: drop ALL`);
  const add = sc.capabilities?.add ?? [];
  assert.deepEqual(add, c.name === "skydns" ? ["NET_BIND_SERVICE"] : [], `${c.name}: added capabilities`);
  assert.notEqual(sc.runAsUser, 0, `${c.name}: runAsUser`);
  assert.notEqual(sc.privileged, true, `${c.name}: privileged`);
}

function checkProbes(c, paths) {
  const names = new Set((c.ports ?? []).map((p) => p.name));
  for (const [kind, path] of [["livenessProbe", paths[0]], ["readinessProbe", paths[1]]]) {
    const p = c[kind];
    assert.ok(p?.httpGet, `${c.name}: ${kind} httpGet`);
    assert.equal(p.httpGet.path, path, `${c.name}: ${kind} path`);
    assert.ok(names.has(p.httpGet.port), `${c.name}: ${kind} port ${p.httpGet.port} is a declared port`);
  }
}

function checkResources(c) {
  assert.ok(c.resources?.requests?.cpu && c.resources?.requests?.memory, `${c.name}: cpu+memory requests`);
  assert.ok(c.resources?.limits?.memory, `${c.name}: memory limit`);
}

const port = (c, name) => c.ports.find((p) => p.name === name)?.containerPort;

function checkContainers(spec, expect) {
  const names = spec.containers.map((c) => c.name).sort();
  const want = expect.load === false ? ["etcd", "kube2sky", "skydns"] : ["etcd", "kube2sky", "load", "skydns"];
  assert.deepEqual(names, want, "one etcd, kube2sky, skydns (and the ConfigMap loader) per pod");
  const etcd = spec.containers.find((c) => c.name === "etcd");
  const k2s = spec.containers.find((c) => c.name === "kube2sky");
  const dns = spec.containers.find((c) => c.name === "skydns");
  const load = spec.containers.find((c) => c.name === "load");
  for (const c of spec.containers) {
    checkSecurity(c);
    checkResources(c);
    if (c !== load) assert.equal(c.command, undefined, `${c.name}: the image's ENTRYPOINT runs (args only)`);
  }
  if (load) {
    // skydns-load from the skydns image, on the pod's etcd, reading the
    // records ConfigMap (optional: a pod starts without one) where -dir says.
    assert.deepEqual(load.command, ["/usr/bin/skydns-load"], "load runs skydns-load");
    assert.equal(load.image, dns.image, "load uses the skydns image");
    assert.equal(argValue(load.args, "-machines"), argValue(etcd.args, "--listen-client-urls"), "load -machines = etcd");
    assert.equal(argValue(load.args, "-etcd3"), true);
    assert.equal(argValue(load.args, "-watch"), true, "load keeps watching (refills a wiped etcd)");
    assert.equal(argValue(load.args, "-domain"), expect.domain + ".", "load -domain");
    const m = load.volumeMounts.find((v) => v.mountPath === argValue(load.args, "-dir"));
    assert.ok(m && m.readOnly, "the -dir is a read-only mount");
    const vol = spec.volumes.find((v) => v.name === m.name);
    assert.ok(vol?.configMap?.name && vol.configMap.optional === true, "from an optional ConfigMap");
    assert.equal(argValue(dns.args, "-stubzones"), true, "skydns serves the ConfigMap's stubDomains");
  }
  checkProbes(etcd, ["/health", "/health"]);
  checkProbes(k2s, ["/healthz", "/readyz"]);
  checkProbes(dns, ["/healthz", "/readyz"]);

  // The domain on both command lines; skydns wants it absolute.
  assert.equal(argValue(k2s.args, "--domain"), expect.domain, "kube2sky --domain");
  assert.equal(argValue(dns.args, "-domain"), expect.domain + ".", "skydns -domain");

  // One etcd address everywhere, loopback only, v3 on both sides.
  const url = argValue(etcd.args, "--listen-client-urls");
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/, "etcd listens on 127.0.0.1 only");
  assert.equal(argValue(etcd.args, "--advertise-client-urls"), url, "etcd advertise URL");
  assert.equal(argValue(k2s.args, "--etcd-server"), url, "kube2sky --etcd-server = etcd client URL");
  assert.equal(argValue(dns.args, "-machines"), url, "skydns -machines = etcd client URL");
  assert.equal(argValue(k2s.args, "--etcd3"), true, "kube2sky uses etcd v3");
  assert.equal(argValue(dns.args, "-etcd3"), true, "skydns uses etcd v3");
  const cache = expect.cache ?? { size: "10000", ttl: "30" };
  assert.equal(argValue(dns.args, "-rcache"), cache.size ?? undefined,
    "forwarded answers cached (CoreDNS cache 30)");
  assert.equal(argValue(dns.args, "-rcache-ttl"), cache.ttl ?? undefined, "cache TTL cap");
  assert.equal(argValue(etcd.args, "--enable-v2"), undefined, "etcd stays v3-only");
  assert.match(argValue(etcd.args, "--listen-peer-urls"), /^http:\/\/127\.0\.0\.1:/, "etcd peer on loopback");

  // Data in an emptyDir, mounted where --data-dir points.
  const dataDir = argValue(etcd.args, "--data-dir");
  const mount = etcd.volumeMounts.find((m) => dataDir.startsWith(m.mountPath + "/"));
  assert.ok(mount, "etcd --data-dir is on a mounted volume");
  assert.ok(spec.volumes.find((v) => v.name === mount.name)?.emptyDir, "etcd data volume is an emptyDir");

  // Every listener is where the ports and probes say.
  const any = expect.ip.includes(":") ? "[::]" : "0.0.0.0";
  assert.equal(argValue(dns.args, "-addr"), `${any}:53`, "skydns -addr");
  assert.equal(port(dns, "dns"), 53);
  assert.equal(port(dns, "dns-tcp"), 53);
  assert.equal(portOf(argValue(dns.args, "-metrics-addr")), port(dns, "metrics"), "skydns metrics port");
  assert.equal(portOf(argValue(dns.args, "-health-addr")), port(dns, "health"), "skydns health port");
  assert.equal(portOf(argValue(k2s.args, "--health-addr")), port(k2s, "k2s-health"), "kube2sky health port");
  assert.equal(portOf(argValue(etcd.args, "--listen-metrics-urls")), port(etcd, "etcd-metrics"), "etcd metrics port");
  for (const a of [argValue(dns.args, "-metrics-addr"), argValue(dns.args, "-health-addr"), argValue(k2s.args, "--health-addr")]) {
    assert.ok(a.startsWith(any + ":"), `${a} listens on ${any}`);
  }

  const ns = argValue(dns.args, "-nameservers");
  assert.equal(ns, expect.forwarders?.length ? expect.forwarders.join(",") : undefined, "skydns -nameservers");
  if (expect.images) {
    for (const c of spec.containers) if (c !== load) assert.equal(c.image, expect.images[c.name], `${c.name} image`);
  }
}

function checkService(svc, sel, podLabels, dns, expect) {
  assert.equal(svc.metadata.name, "kube-dns", "Service name");
  assert.equal(svc.spec.clusterIP, expect.ip, "Service clusterIP = DNS server IP");
  assert.deepEqual(svc.spec.selector, sel, "Service selector = Deployment selector");
  SUBSET(svc.spec.selector, podLabels, "Service selector vs pod labels");
  const ports = svc.spec.ports.map((p) => `${p.port}/${p.protocol}`).sort();
  assert.deepEqual(ports.filter((p) => p.startsWith("53/")), ["53/TCP", "53/UDP"], "53/UDP and 53/TCP");
  const metrics = svc.spec.ports.find((p) => p.name === "metrics");
  assert.ok(metrics, "Service has a metrics port");
  for (const p of svc.spec.ports) {
    const cp = dns.ports.find((x) => x.name === p.targetPort);
    assert.ok(cp, `Service port ${p.name}: targetPort ${p.targetPort} is a skydns port`);
    assert.equal(cp.protocol, p.protocol, `Service port ${p.name} protocol`);
  }
}
