// deploy/docker/Dockerfile cannot be built here (no container engine), so it
// is linted (dockerfile-utils, dockerfilelint) and checked against what the
// build really needs: the sources it copies, the -dev packages behind
// CMake's pkg-config modules, the runtime packages behind the binaries'
// DT_NEEDED libraries, the paths CMake writes the binaries to, and the
// user, ports and capability the manifests assume.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { relative, resolve } from "node:path";
import { validate as dfuValidate } from "dockerfile-utils";
import { ROOT, runChart, mustRender, byKind, container } from "./lib.mjs";

const require = createRequire(import.meta.url);
const DOCKERFILE = resolve(ROOT, "deploy/docker/Dockerfile");
const TEXT = readFileSync(DOCKERFILE, "utf8");
const TARGETS = { skydns: "/usr/bin/skydns", kube2sky: "/usr/bin/kube2sky", etcd: "/usr/bin/etcd" };
const BASES = new Set(["debian:bookworm", "debian:bookworm-slim"]);

// Instructions with continuation lines joined and comments dropped.
function parse(text) {
  const out = [];
  let cur = "", line0 = 0;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!cur && (line === "" || line.startsWith("#"))) return;
    if (cur && line.startsWith("#")) return;
    if (!cur) line0 = i + 1;
    cur += (cur ? " " : "") + line.replace(/\\$/, "").trim();
    if (!line.endsWith("\\")) {
      const m = /^(\S+)\s*(.*)$/.exec(cur);
      out.push({ line: line0, op: m[1].toUpperCase(), args: m[2] });
      cur = "";
    }
  });
  return out;
}

function stages() {
  const args = {};
  const list = [];
  for (const ins of parse(TEXT)) {
    if (ins.op === "ARG" && !list.length) {
      const [k, v] = ins.args.split("=");
      args[k] = v;
    } else if (ins.op === "FROM") {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      const image = m[1].replace(/^\$\{?(\w+)\}?$/, (_, a) => args[a] ?? `<unset ARG ${a}>`);
      list.push({ name: m[2], image, ins: [] });
    } else {
      list.at(-1).ins.push(ins);
    }
  }
  return list;
}

const STAGES = stages();
const stage = (n) => STAGES.find((s) => s.name === n);

// Every package one stage installs with apt-get, and the stage it builds on.
function aptPackages(st) {
  const pkgs = new Set();
  for (const ins of st.ins.filter((i) => i.op === "RUN")) {
    for (const m of ins.args.matchAll(/apt-get install ((?:\s*-\S+)*)((?:\s+[a-z0-9][a-z0-9.+-]+)+)/g)) {
      for (const p of m[2].trim().split(/\s+/)) pkgs.add(p);
    }
  }
  const parent = stage(st.image);
  if (parent) for (const p of aptPackages(parent)) pkgs.add(p);
  return pkgs;
}

const sh = (cmd, args) => execFileSync(cmd, args, { encoding: "utf8", timeout: 30_000 });
// dpkg knows a file by the path its package ships; with merged /usr, ldd may
// report /lib/... for a file shipped as /usr/lib/... (or the reverse).
function dpkgOwner(file) {
  const real = realpathSync(file);
  const tries = [...new Set([file, real, ...[file, real].map((f) => (f.startsWith("/usr/") ? f.slice(4) : "/usr" + f))])];
  for (const f of tries) {
    const r = spawnSync("dpkg", ["-S", f], { encoding: "utf8", timeout: 30_000 });
    if (r.status === 0) return r.stdout.split(":")[0].trim();
  }
  throw new Error(`no Debian package owns ${file}`);
}

test("Dockerfile: dockerfile-utils finds no error or warning", () => {
  const diags = dfuValidate(TEXT);
  assert.deepEqual(diags.map((d) => `line ${d.range.start.line + 1}: ${d.message}`), []);
});

test("Dockerfile: dockerfilelint finds nothing but its known stage-name false positive", () => {
  const stageNames = new Set(STAGES.map((s) => s.name));
  const items = require("dockerfilelint").run(DOCKERFILE, TEXT);
  const lines = TEXT.split("\n");
  const real = items.filter((it) => {
    // dockerfilelint 1.8 predates multi-stage builds and build ARGs in FROM:
    // "FROM <stage>" and "FROM ${ARG}" (whose default is tagged) look untagged to it.
    if (it.title !== "Base Image Missing Tag") return true;
    const from = /^FROM\s+(\S+)/i.exec(lines[it.line - 1])?.[1] ?? "";
    return !(stageNames.has(from) || /^\$\{?\w+\}?$/.test(from));
  });
  assert.deepEqual(real.map((it) => `line ${it.line}: ${it.title}: ${it.description}`), []);
});

test("Dockerfile: Debian bookworm bases, one target per binary, non-root, exec-form entrypoint", () => {
  const names = new Set();
  for (const st of STAGES) {
    assert.ok(BASES.has(st.image) || names.has(st.image), `stage ${st.name}: base ${st.image} is bookworm or an earlier stage`);
    names.add(st.name);
  }
  for (const [target, bin] of Object.entries(TARGETS)) {
    const st = stage(target);
    assert.ok(st, `target ${target}`);
    const users = st.ins.filter((i) => i.op === "USER");
    assert.equal(users.at(-1)?.args, "65532:65532", `${target}: runs as 65532`);
    const ep = st.ins.filter((i) => i.op === "ENTRYPOINT").at(-1);
    assert.deepEqual(JSON.parse(ep.args), [bin], `${target}: ENTRYPOINT exec form`);
    const copy = st.ins.find((i) => i.op === "COPY" && i.args.includes(bin.split("/").pop()));
    const from = /--from=(\S+)/.exec(copy?.args ?? "")?.[1];
    assert.ok(from && STAGES.findIndex((s) => s.name === from) < STAGES.indexOf(st), `${target}: binary copied from an earlier stage`);
    assert.equal(st.ins.some((i) => i.op === "RUN" && /\bapt-get install\b.*(-dev|build-essential|cmake)\b/.test(i.args)), false,
      `${target}: no build tools in the runtime image`);
  }
  assert.match(stage("build").ins.map((i) => i.args).join("\n"), /setcap cap_net_bind_service=\+ep \/out\/skydns/);
});

test("Dockerfile: apt-get hygiene (update in the same RUN, -y, no recommends, lists removed)", () => {
  for (const st of STAGES) {
    for (const ins of st.ins.filter((i) => i.op === "RUN" && /apt-get install/.test(i.args))) {
      const where = `stage ${st.name}, line ${ins.line}`;
      assert.match(ins.args, /apt-get update\s+&&/, `${where}: apt-get update first`);
      assert.match(ins.args, /apt-get install -y --no-install-recommends/, `${where}: -y --no-install-recommends`);
      assert.match(ins.args, /rm -rf \/var\/lib\/apt\/lists\/\*\s*$/, `${where}: apt lists removed`);
    }
  }
});

test("Dockerfile: the build stage copies sources that exist and are not .dockerignored", () => {
  const ignore = readFileSync(resolve(ROOT, "deploy/docker/Dockerfile.dockerignore"), "utf8");
  const allowed = ignore.split("\n").filter((l) => l.startsWith("!")).map((l) => l.slice(1).replace(/\/$/, ""));
  for (const ins of stage("build").ins.filter((i) => i.op === "COPY")) {
    const src = ins.args.split(/\s+/)[0].replace(/\/$/, "");
    assert.ok(existsSync(resolve(ROOT, src)), `COPY ${src}: exists`);
    assert.ok(allowed.some((a) => a === src || a.startsWith(src + "/")), `COPY ${src}: allowed by Dockerfile.dockerignore`);
  }
  // Every subdirectory CMake adds must be in the build context.
  const cmake = readFileSync(resolve(ROOT, "CMakeLists.txt"), "utf8");
  for (const m of cmake.matchAll(/add_subdirectory\((\S+)\)/g)) {
    assert.ok(stage("build").ins.some((i) => i.op === "COPY" && i.args.startsWith(m[1] + "/")), `COPY ${m[1]}/ (add_subdirectory)`);
  }
  // ... and every file it include()s from the tree (cmake/install.cmake).
  for (const m of cmake.matchAll(/include\(([\w./-]+\.cmake)\)/g)) {
    const dir = m[1].split("/")[0];
    assert.ok(stage("build").ins.some((i) => i.op === "COPY" && i.args.startsWith(dir + "/")), `COPY ${dir}/ (include ${m[1]})`);
  }
});

test("Dockerfile: the build stage installs the -dev package of every pkg-config module CMake needs", () => {
  const cmake = readFileSync(resolve(ROOT, "CMakeLists.txt"), "utf8");
  const pkgs = aptPackages(stage("build"));
  const mods = [...cmake.matchAll(/pkg_check_modules\(\w+ REQUIRED IMPORTED_TARGET ([\w.+-]+)\)/g)].map((m) => m[1]);
  assert.ok(mods.length >= 5, "found CMake's pkg-config modules");
  for (const mod of mods) {
    const owner = dpkgOwner(sh("pkg-config", ["--path", mod]).trim());
    assert.ok(pkgs.has(owner), `pkg-config ${mod} comes from ${owner}, not installed in the build stage`);
  }
});

// ctest passes the built binaries; the Dockerfile must copy them from the
// same place in its own build tree and ship the libraries they link.
const BINS = { skydns: process.env.SKYDNS_BIN, kube2sky: process.env.KUBE2SKY_BIN };
for (const [target, bin] of Object.entries(BINS)) {
  test(`Dockerfile: ${target} runtime image ships every library the built ${target} links`, () => {
    assert.ok(bin && existsSync(bin), `${target} binary (env ${target.toUpperCase()}_BIN=${bin}) is built`);
    const rel = relative(process.env.SKYDNS_BUILD, bin);
    assert.match(stage("build").ins.map((i) => i.args).join("\n"), new RegExp(`install .* build/${rel} /out/${target}\\b`),
      `Dockerfile installs build/${rel} (where CMake puts ${target})`);
    const needed = [...sh("objdump", ["-p", bin]).matchAll(/NEEDED\s+(\S+)/g)].map((m) => m[1]);
    const ldd = sh("ldd", [bin]);
    const pkgs = aptPackages(stage(target));
    for (const so of needed) {
      if (/^lib(asan|ubsan)\.so/.test(so)) continue; // sanitizer builds only
      const path = new RegExp(`\\b${so.replace(/[.+]/g, "\\$&")} => (\\S+)`).exec(ldd)?.[1];
      assert.ok(path, `${so} resolved by ldd`);
      const owner = dpkgOwner(path);
      assert.ok(pkgs.has(owner), `${target} needs ${so} from ${owner}: not installed in its runtime stage`);
    }
  });
}

// skydns-check (issue 14) ships in the skydns image: the chart's checker
// Deployment runs /usr/bin/skydns-check from it.
test("Dockerfile: the skydns image carries skydns-check and every library it links", () => {
  const bin = process.env.SKYDNS_CHECK_BIN;
  assert.ok(bin && existsSync(bin), `skydns-check binary (env SKYDNS_CHECK_BIN=${bin}) is built`);
  const rel = relative(process.env.SKYDNS_BUILD, bin);
  const build = stage("build").ins.map((i) => i.args).join("\n");
  assert.match(build, /--target [^&]*\bskydns-check\b/, "the build stage builds the skydns-check target");
  assert.match(build, new RegExp(`install .* build/${rel} /out/skydns-check\\b`), `installs build/${rel}`);
  assert.ok(stage("skydns").ins.some((i) => i.op === "COPY" && /--from=build \/out\/skydns-check \/usr\/bin\/skydns-check$/.test(i.args)),
    "skydns stage copies /usr/bin/skydns-check");
  const needed = [...sh("objdump", ["-p", bin]).matchAll(/NEEDED\s+(\S+)/g)].map((m) => m[1]);
  const ldd = sh("ldd", [bin]);
  const pkgs = aptPackages(stage("skydns"));
  for (const so of needed) {
    if (/^lib(asan|ubsan)\.so/.test(so)) continue;
    const path = new RegExp(`\\b${so.replace(/[.+]/g, "\\$&")} => (\\S+)`).exec(ldd)?.[1];
    assert.ok(path, `${so} resolved by ldd`);
    assert.ok(pkgs.has(dpkgOwner(path)), `skydns-check needs ${so} from ${dpkgOwner(path)}: not in the skydns image`);
  }
  const values = mustRender(runChart(["--set", "checker.enabled=true", "-f", resolve(ROOT, "tests/deploy/values-checker.yaml")]), "chart");
  const chk = values.find((o) => o.kind === "Deployment" && o.metadata.name.endsWith("-check"));
  assert.deepEqual(chk.spec.template.spec.containers[0].command, ["/usr/bin/skydns-check"]);
});

// skydns-load (issue 16) ships in the skydns image too: the pod's loader
// container runs /usr/bin/skydns-load (its libraries are a subset of skydns's).
test("Dockerfile: the skydns image carries skydns-load for the pod's loader container", () => {
  const build = stage("build").ins.map((i) => i.args).join("\n");
  assert.match(build, /--target [^&]*\bskydns-load\b/, "the build stage builds the skydns-load target");
  assert.match(build, /install .* build\/dns\/load\/skydns-load \/out\/skydns-load\b/);
  assert.ok(stage("skydns").ins.some((i) => i.op === "COPY" && /--from=build \/out\/skydns-load \/usr\/bin\/skydns-load$/.test(i.args)),
    "skydns stage copies /usr/bin/skydns-load");
  const load = container(byKind(mustRender(runChart(), "chart"), "Deployment"), "load");
  assert.deepEqual(load.command, ["/usr/bin/skydns-load"]);
});

test("Dockerfile and manifests agree: user, ports, binary, capability", () => {
  const dep = byKind(mustRender(runChart(), "chart"), "Deployment");
  const spec = dep.spec.template.spec;
  assert.equal(spec.securityContext.runAsUser, 65532, "manifests run as the images' nonroot user");
  for (const target of Object.keys(TARGETS)) {
    const exposed = stage(target).ins.filter((i) => i.op === "EXPOSE").flatMap((i) => i.args.split(/\s+/)).sort();
    const ports = container(dep, target).ports.map((p) => `${p.containerPort}/${p.protocol.toLowerCase()}`).sort();
    assert.deepEqual(exposed, ports, `${target}: EXPOSE = container ports`);
  }
  assert.deepEqual(container(dep, "skydns").securityContext.capabilities.add, ["NET_BIND_SERVICE"]);
});
