#!/usr/bin/env node
// Records which input paths a bundle's entrypoint can read, so the kernel sends the Wasm only
// those (parsing the input JSON is the largest fixed cost of a Wasm evaluation).
//
// The paths come from `opa deps`; they are written to data.policy_kernel.input_projection with
// the entrypoint and the SHA-256 of the Rego modules as `opa build` stored them (it reformats
// them), which the kernel checks before it trusts the paths. build-bundle.sh runs this between
// a first build (whose modules it hashes) and the final one.
//
// For the generated aggregate (kernel/violations), whose rules skip a policy that
// data.policy_kernel.disabled switches off, it also records each policy's own paths, so a
// kernel running some of the policies sends only what those read. They are recorded only when
// together they cover every path of the entrypoint (kernel.rego itself reads no input). And it
// records `split` when the aggregate's config half (kernel/config_violations) reads no input:
// the kernel then evaluates that half once per engine, not once per decision. And `prepare`: the
// policies' `prepare` entrypoints that read no input, which the kernel evaluates once, at load.
//
//   node scripts/input-projection.mjs --opa OPA --src rego --entrypoint kernel/violations \
//        --modules DIR --data-in rego/data.json --data-out OUT/data.json
//     DIR: the first build unpacked (its .rego files are hashed as the kernel hashes them)
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { groundPath } from "./action-scopes.mjs";

/**
 * Input paths from `opa deps --format json` output: each base reference into `input`, cut at
 * its first non-string term (input.facts[x] reads all of input.facts); paths covered by a
 * shorter one are dropped. Null when the whole input is read (a bare `input`).
 */
export function inputPathsFromDeps(deps) {
  const refs = (deps.base ?? []).filter((ref) => ref[0]?.type === "var" && ref[0]?.value === "input");
  const paths = [];
  for (const ref of refs) {
    const path = groundPath(ref).slice(1); // after `input`
    if (path.length === 0) return null;
    paths.push(path);
  }
  const byKey = new Map(paths.map((path) => [JSON.stringify(path), path]));
  const sorted = [...byKey.keys()].sort().map((key) => byKey.get(key));
  return sorted.filter((path) => !sorted.some((other) => other.length < path.length && coversPaths([other], [path])));
}

/** True when every path of `needed` is one of `paths` or lies under one of them. */
export function coversPaths(paths, needed) {
  return needed.every((path) => paths.some((have) => have.length <= path.length && have.every((part, i) => part === path[i])));
}

/** hashFiles of src/engines/rego/bundle.ts over the `.rego` files of an unpacked bundle. */
export function modulesSha256(dir) {
  const files = [];
  const walk = (folder) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = join(folder, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && entry.name.endsWith(".rego")) files.push({ path: `/${relative(dir, full).split(sep).join("/")}`, bytes: readFileSync(full) });
    }
  };
  walk(dir);
  if (files.length === 0) throw new Error(`${dir}: no .rego modules`);
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const hash = createHash("sha256");
  for (const file of files) hash.update(`${file.path}\0${file.bytes.length}\0`).update(file.bytes);
  return hash.digest("hex");
}

function main() {
  const { values } = parseArgs({
    options: {
      opa: { type: "string" },
      src: { type: "string" },
      entrypoint: { type: "string" },
      modules: { type: "string" },
      "data-in": { type: "string" },
      "data-out": { type: "string" },
    },
  });
  for (const name of ["opa", "src", "entrypoint", "modules", "data-in", "data-out"]) {
    if (!values[name]) fail(`--${name} is required`);
  }
  const rawDeps = (query) => {
    try {
      return JSON.parse(execFileSync(values.opa, ["deps", "--format", "json", "--ignore", "*_test.rego", "-d", values.src, query], { encoding: "utf8" }));
    } catch (error) {
      fail(`opa deps ${query} failed: ${error.message}`);
    }
  };
  const depsOf = (query) => inputPathsFromDeps(rawDeps(query));
  const query = queryOf(values.entrypoint);
  const paths = depsOf(query);
  const data = JSON.parse(readFileSync(values["data-in"], "utf8"));
  const kernel = (data.policy_kernel ??= {});
  if (paths === null) delete kernel.input_projection; // the whole input is read: nothing to record
  else {
    kernel.input_projection = { entrypoint: values.entrypoint, modules_sha256: modulesSha256(values.modules), paths };
    const policies = values.entrypoint === AGGREGATE_ENTRYPOINT ? perPolicyPaths(kernel.policies, depsOf) : null;
    if (policies && coversPaths(Object.values(policies).flat(), paths)) kernel.input_projection.policies = policies;
    if (values.entrypoint === AGGREGATE_ENTRYPOINT && isDataOnlyRule(rawDeps(queryOf(SPLIT.config)), SPLIT.config)) {
      kernel.input_projection.split = SPLIT;
    }
    const prepare = dataOnlyPrepares(kernel.policies, (entrypoint) => rawDeps(queryOf(entrypoint)));
    if (prepare.length > 0) kernel.input_projection.prepare = prepare;
  }
  const out = values["data-out"];
  writeFileSync(`${out}.tmp`, `${JSON.stringify(data, null, 2)}\n`);
  renameSync(`${out}.tmp`, out);
  const shown = paths === null ? "the whole input" : paths.map((path) => ["input", ...path].join(".")).join(", ");
  const perPolicy = kernel.input_projection?.policies ? `; per policy for ${Object.keys(kernel.input_projection.policies).length} policies` : "";
  const split = kernel.input_projection?.split ? `; ${SPLIT.config} reads no input` : "";
  const prepared = kernel.input_projection?.prepare ? `; ${kernel.input_projection.prepare.length} prepare entrypoints read no input` : "";
  console.error(`input-projection: ${query} reads ${shown}${perPolicy}${split}${prepared}`);
}

/** The reference an entrypoint names: kernel/violations is data.kernel.violations. */
function queryOf(entrypoint) {
  return `data.${entrypoint.split("/").join(".")}`;
}

/** The generated aggregate: kernel.rego, from scripts/gen-kernel-rego.mjs. */
const AGGREGATE_ENTRYPOINT = "kernel/violations";

/**
 * The aggregate's two halves (kernel.rego): the kernel evaluates the data-only one once per
 * engine and the other per decision. Recorded only when the config half reads no input.
 */
const SPLIT = { policies: "kernel/policy_violations", config: "kernel/config_violations" };

/** True when `opa deps` shows `entrypoint` is a rule (not an absent base document) that reads no input at all. */
export function isDataOnlyRule(deps, entrypoint) {
  const ref = ["data", ...entrypoint.split("/")];
  const same = (terms) => terms.length === ref.length && groundPath(terms).join("/") === ref.join("/");
  const readsInput = (deps.base ?? []).some((terms) => terms[0]?.type === "var" && terms[0]?.value === "input");
  return !readsInput && (deps.virtual ?? []).some(same);
}

/**
 * The listed policies' `prepare` entrypoints (README: "Prepared values") that `opa deps` shows
 * read no input: the kernel evaluates only these once, at load, without input. A `prepare` that
 * read the input would be evaluated against none and its value baked into every decision.
 */
export function dataOnlyPrepares(names, depsOf) {
  if (!Array.isArray(names)) return [];
  const entrypoints = [...names].sort().map((name) => `policies/${name}/prepare`);
  return entrypoints.filter((entrypoint) => isDataOnlyRule(depsOf(entrypoint), entrypoint));
}

/** {name: paths} for each listed policy's violations; null when one reads the whole input or names are missing. */
function perPolicyPaths(names, depsOf) {
  if (!Array.isArray(names) || names.length === 0) return null;
  const policies = {};
  for (const name of [...names].sort()) {
    const paths = depsOf(`data.policies.${name}.violations`);
    if (paths === null) return null;
    policies[name] = paths;
  }
  return policies;
}

function fail(message) {
  console.error(`input-projection: ${message}`);
  process.exit(1);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
