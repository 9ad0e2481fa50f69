// Helpers for the deploy tests: render deploy/ (hack/render-manifests.sh) and
// charts/skydns (hack/helm-render), parse the YAML as the API server's YAML
// 1.1 reader would, validate every object against the Kubernetes OpenAPI
// schemas (kubernetes-models), and check the addon's wiring.
import { spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { ServiceAccount, Service, ConfigMap } from "kubernetes-models/v1";
import { Deployment, DaemonSet } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { ClusterRole, ClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ServiceMonitor, PodMonitor, PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";

export const ROOT = process.env.SKYDNS_SRC || resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const CHART = resolve(ROOT, "charts/skydns");
export const SCRIPT = resolve(ROOT, "hack/render-manifests.sh");
export const RENDERER = process.env.HELM_RENDER;
const TIMEOUT_MS = 60_000;

// Run the render script with only PATH and the given variables in its
// environment (no DNS_* leaking in from the caller).
export function runScript(args = [], env = {}) {
  const r = spawnSync("bash", [SCRIPT, ...args], {
    env: { PATH: process.env.PATH, ...env }, encoding: "utf8", timeout: TIMEOUT_MS,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function runChart(args = [], { namespace = "kube-system", release = "skydns" } = {}) {
  if (!RENDERER) throw new Error("HELM_RENDER is not set (tests/deploy/run.sh builds it)");
  const r = spawnSync(RENDERER, ["--namespace", namespace, "--release", release, ...args, CHART], {
    encoding: "utf8", timeout: TIMEOUT_MS,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Render or fail with the renderer's own message.
export function mustRender(r, what) {
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.stderr}`);
  return parseDocs(r.stdout, what);
}

export function parseDocs(text, what = "manifests") {
  const out = [];
  for (const doc of YAML.parseAllDocuments(text, { version: "1.1", uniqueKeys: true })) {
    if (doc.errors.length) throw new Error(`${what}: YAML error: ${doc.errors[0].message}`);
    const obj = doc.toJS();
    if (obj !== null && obj !== undefined) out.push(obj);
  }
  return out;
}

const MODELS = {
  "v1/ServiceAccount": ServiceAccount,
  "v1/Service": Service,
  "v1/ConfigMap": ConfigMap,
  "apps/v1/Deployment": Deployment,
  "apps/v1/DaemonSet": DaemonSet,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "rbac.authorization.k8s.io/v1/ClusterRole": ClusterRole,
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": ClusterRoleBinding,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule,
  "monitoring.coreos.com/v1/PodMonitor": PodMonitor,
};

// Wrap obj so every own property the schema validator reads is recorded:
// a field it never reads is one the schema does not define (a typo such
// as "readinesProbe"), which the API server would drop or reject.
function track(obj, path, seen) {
  if (obj === null || typeof obj !== "object") return obj;
  return new Proxy(obj, {
    get(t, k, r) {
      const v = Reflect.get(t, k, r);
      if (typeof k === "string" && Object.prototype.hasOwnProperty.call(t, k)) {
        seen.add(path + "/" + k);
        return track(v, path + "/" + k, seen);
      }
      return v;
    },
  });
}

function unknownFields(obj, path, seen, out) {
  if (obj === null || typeof obj !== "object") return;
  for (const k of Object.keys(obj)) {
    const p = path + "/" + k;
    if (!Array.isArray(obj) && !seen.has(p)) {
      out.push(p); // its children are unknown too: report the top only
      continue;
    }
    unknownFields(obj[k], p, seen, out);
  }
}

// Errors (strings) for one object: schema violations and unknown fields.
export function validateObject(obj) {
  const id = `${obj.kind}/${obj.metadata?.name}`;
  const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
  if (!Model) return [`${id}: no schema for ${obj.apiVersion} ${obj.kind}`];
  const copy = structuredClone(obj);
  const seen = new Set();
  try {
    track(new Model(copy), "", seen).validate();
  } catch (e) {
    return [`${id}: ${e.message}`];
  }
  const extra = [];
  unknownFields(copy, "", seen, extra);
  return extra.map((p) => `${id}: unknown field ${p}`);
}

export function validateAll(objs) {
  return objs.flatMap(validateObject);
}

export const key = (o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;

export function byKind(objs, kind) {
  const found = objs.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0];
}

// The two labels only helm adds (deploy/ carries every other label).
const HELM_ONLY = ["helm.sh/chart", "app.kubernetes.io/managed-by"];

export function withoutHelmLabels(obj) {
  const o = structuredClone(obj);
  for (const m of [o.metadata, o.spec?.template?.metadata]) {
    if (!m?.labels) continue;
    for (const l of HELM_ONLY) delete m.labels[l];
  }
  return o;
}

export function argValue(args, flag) {
  const hits = args.filter((a) => a === flag || a.startsWith(flag + "="));
  if (hits.length > 1) throw new Error(`${flag} given ${hits.length} times`);
  if (!hits.length) return undefined;
  return hits[0] === flag ? true : hits[0].slice(flag.length + 1);
}

export function container(dep, name) {
  const c = dep.spec.template.spec.containers.find((x) => x.name === name);
  if (!c) throw new Error(`Deployment has no container ${name}`);
  return c;
}

export const portOf = (addr) => Number(/:(\d+)$/.exec(addr)?.[1]);
