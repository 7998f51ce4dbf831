#!/usr/bin/env node
// Writes the build record, data.policy_kernel.build: what `opa deps` proves about the Rego modules,
// which the kernel uses only after checking it was computed from exactly the modules the bundle
// holds (the SHA-256 of the modules as `opa build` stored them: it reformats them).
// build-bundle.sh runs this between a first build (whose modules it hashes) and the final one.
//
// The record holds what the kernel may skip or send less of, each part independent of the others:
// - input_paths: for each built entrypoint that does not read the whole input, the input paths it
//   can read; the kernel sends the Wasm only those (parsing the input JSON is the largest fixed
//   cost of a Wasm evaluation).
// - whole_input: the built entrypoints that read the whole input (present only when some do), so
//   an input binding can be checked against every entrypoint the record names.
// - split: when the generated aggregate's (kernel/violations) config half (kernel/config_violations)
//   reads no input; the kernel then evaluates that half once per engine, not once per decision.
// - policy_paths: with the split, each listed policy's own paths, recorded only when every policy
//   has some and together they cover the input half's (kernel/policy_violations); the aggregate
//   skips a policy data.policy_kernel.disabled switches off, so a kernel running some of the
//   policies sends only what those read.
// - prepare: the policies' `prepare` entrypoints that read no input, which the kernel evaluates
//   once, at load.
//
//   node scripts/build-record.mjs --opa OPA --src rego --entrypoint E [--entrypoint E...] \
//        --modules DIR --data-in rego/data.json --data-out OUT/data.json
//     E: each entrypoint the bundle is built with; DIR: the first build unpacked (its .rego
//     files are hashed as the kernel hashes them). Without --data-in (a folder of your own Rego
//     with no data.json), the record is the only data written.
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
      entrypoint: { type: "string", multiple: true },
      modules: { type: "string" },
      "data-in": { type: "string" },
      "data-out": { type: "string" },
    },
  });
  for (const name of ["opa", "src", "entrypoint", "modules", "data-out"]) {
    if (!values[name]) fail(`--${name} is required`);
  }
  // Each answer once: an entrypoint is asked whether it is a rule and what it reads (about 80 ms an opa process).
  const answers = new Map();
  const rawDeps = (query) => {
    if (answers.has(query)) return answers.get(query);
    try {
      const answer = JSON.parse(execFileSync(values.opa, ["deps", "--format", "json", "--ignore", "*_test.rego", "-d", values.src, query], { encoding: "utf8" }));
      answers.set(query, answer);
      return answer;
    } catch (error) {
      fail(`opa deps ${query} failed: ${error.message}`);
    }
  };
  const depsOf = (query) => inputPathsFromDeps(rawDeps(query));
  const data = values["data-in"] ? JSON.parse(readFileSync(values["data-in"], "utf8")) : {};
  const kernel = (data.policy_kernel ??= {});
  let record;
  try {
    record = buildRecord({ entrypoints: values.entrypoint, policies: kernel.policies, modulesSha256: modulesSha256(values.modules), rawDeps, depsOf });
  } catch (error) {
    fail(error.message);
  }
  delete kernel.input_projection; // the record of builds before data.policy_kernel.build
  kernel.build = record;
  const out = values["data-out"];
  writeFileSync(`${out}.tmp`, `${JSON.stringify(data, null, 2)}\n`);
  renameSync(`${out}.tmp`, out);
  for (const entrypoint of values.entrypoint) {
    const paths = record.input_paths[entrypoint];
    const shown = paths === undefined ? "the whole input" : paths.length === 0 ? "no input" : paths.map((path) => ["input", ...path].join(".")).join(", ");
    console.error(`build-record: ${entrypoint} reads ${shown}`);
  }
  const perPolicy = record.policy_paths ? `input paths for each of ${Object.keys(record.policy_paths).length} policies` : "no per-policy input paths";
  const split = record.split ? `${SPLIT.config} reads no input (split)` : "no split";
  console.error(`build-record: ${perPolicy}; ${split}; ${record.prepare?.length ?? 0} prepare entrypoints read no input`);
}

/**
 * The record for modules hashed `modulesSha256`, built with `entrypoints`, listing `policies`
 * (data.policy_kernel.policies). `rawDeps(query)` is `opa deps --format json` of a reference,
 * `depsOf(query)` its input paths (null: the whole input).
 */
export function buildRecord({ entrypoints, policies, modulesSha256, rawDeps, depsOf }) {
  const record = { modules_sha256: modulesSha256, input_paths: {} };
  for (const entrypoint of [...entrypoints].sort()) {
    // A name that is no rule would read "nothing" and be recorded as reading no input.
    if (!isRule(rawDeps(queryOf(entrypoint)), entrypoint)) throw new Error(`entrypoint ${entrypoint} is not a rule of the modules`);
    const paths = depsOf(queryOf(entrypoint));
    if (paths !== null) record.input_paths[entrypoint] = paths;
    else (record.whole_input ??= []).push(entrypoint);
  }
  const built = (entrypoint) => entrypoints.includes(entrypoint);
  if (built(SPLIT.aggregate) && built(SPLIT.policies) && built(SPLIT.config) && isDataOnlyRule(rawDeps(queryOf(SPLIT.config)), SPLIT.config)) {
    record.split = SPLIT;
    // Only with the split: the per-policy paths are used for the input half (and the aggregate,
    // which adds only the config half, reading no input), whose every path they must cover.
    const inputHalfPaths = record.input_paths[SPLIT.policies];
    const perPolicy = inputHalfPaths ? perPolicyPaths(policies, depsOf) : null;
    if (perPolicy && coversPaths(Object.values(perPolicy).flat(), inputHalfPaths)) record.policy_paths = perPolicy;
  }
  const prepare = dataOnlyPrepares(policies, (entrypoint) => rawDeps(queryOf(entrypoint)));
  if (prepare.length > 0) record.prepare = prepare;
  return record;
}

/** The reference an entrypoint names: kernel/violations is data.kernel.violations. */
function queryOf(entrypoint) {
  return `data.${entrypoint.split("/").join(".")}`;
}

/**
 * The generated aggregate (kernel.rego, from scripts/gen-kernel-rego.mjs) and its two halves:
 * the kernel evaluates the data-only one once per engine and the other per decision. Recorded
 * only when the bundle is built with all three and the config half reads no input.
 */
const SPLIT = { aggregate: "kernel/violations", policies: "kernel/policy_violations", config: "kernel/config_violations" };

/** True when `opa deps` shows `entrypoint` is a rule (not an absent base document) that reads no input at all. */
export function isDataOnlyRule(deps, entrypoint) {
  const readsInput = (deps.base ?? []).some((terms) => terms[0]?.type === "var" && terms[0]?.value === "input");
  return !readsInput && isRule(deps, entrypoint);
}

/** True when `opa deps` shows `entrypoint` is a rule: a virtual document, not an absent base one. */
function isRule(deps, entrypoint) {
  const ref = ["data", ...entrypoint.split("/")];
  const same = (terms) => terms.length === ref.length && groundPath(terms).join("/") === ref.join("/");
  return (deps.virtual ?? []).some(same);
}

/**
 * The listed policies' `prepare` entrypoints (docs/rego-internals.md: "Prepared values") that `opa deps` shows
 * read no input: the kernel evaluates only these once, at load, without input. A `prepare` that
 * read the input would be evaluated against none and its value baked into every decision.
 * `rawDepsOfEntrypoint(entrypoint)` is `opa deps --format json` of the entrypoint's reference.
 */
export function dataOnlyPrepares(names, rawDepsOfEntrypoint) {
  if (!Array.isArray(names)) return [];
  const entrypoints = [...names].sort().map((name) => `policies/${name}/prepare`);
  return entrypoints.filter((entrypoint) => isDataOnlyRule(rawDepsOfEntrypoint(entrypoint), entrypoint));
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
  console.error(`build-record: ${message}`);
  process.exit(1);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
