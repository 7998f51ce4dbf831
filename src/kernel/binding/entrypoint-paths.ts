import { spawnSync } from "node:child_process";
import { PolicyKernelError } from "../../errors.js";
import type { PolicyBundle } from "../../engines/rego/bundle.js";
import { readBuildRecord } from "../../engines/rego/build-record.js";
import type { InputPaths } from "../../engines/rego/projection-tree.js";
import { isPlainObject } from "../../values.js";

/**
 * The input paths `entrypoint` (such as httpapi/authz/allow) reads, from the bundle's build record
 * (data.policy_kernel.build, written by scripts/build-record.mjs when the bundle is built with that
 * entrypoint, and trusted only when computed from the modules the bundle holds): null when it
 * reads the whole input, undefined when the record does not list it (no record, another entrypoint).
 */
export function inputPathsOfEntrypoint(bundle: PolicyBundle, entrypoint: string): InputPaths | null | undefined {
  const { record } = readBuildRecord(bundle);
  if (!record) return undefined;
  if (record.wholeInput.includes(entrypoint)) return null;
  return Object.hasOwn(record.inputPaths, entrypoint) ? record.inputPaths[entrypoint] : undefined;
}

/** Where to find what entrypoints read when the bundle's record does not say. */
export interface EntrypointPathsOptions {
  /** The pinned OPA binary (scripts/ensure-opa.sh prints its path). */
  readonly opa?: string;
  /** The Rego sources the bundle was built from (folders or files), for `opa deps`. */
  readonly sources?: readonly string[];
}

/**
 * What each entrypoint reads (`null`: the whole input), for checkBinding: from the bundle's build
 * record, else from `opa deps` of the sources when `opa` and `sources` are given. A Wasm bundle's own
 * modules cannot answer (opa build moves the compiled rules into policy.wasm), so without both this
 * refuses, saying how to build the bundle so the check can run.
 */
export function entrypointInputPaths(bundle: PolicyBundle, entrypoints: readonly string[], options: EntrypointPathsOptions = {}): Record<string, InputPaths | null> {
  const out: Record<string, InputPaths | null> = {};
  for (const entrypoint of [...entrypoints].sort()) {
    const recorded = inputPathsOfEntrypoint(bundle, entrypoint);
    if (recorded !== undefined) out[entrypoint] = recorded;
    else if (options.opa !== undefined && options.sources !== undefined && options.sources.length > 0) out[entrypoint] = inputPathsWithOpa(options.opa, options.sources, entrypoint);
    else {
      throw new PolicyKernelError("invalid_config", `the bundle records no input paths for entrypoint ${entrypoint}, so an input binding cannot be checked against it`, {
        file: bundle.location,
        expected: `a bundle built with \`policy-kernel build DIR --out BUNDLE --entrypoint ${entrypoint}\` (its build record lists what ${entrypoint} reads), or the Rego sources and the pinned OPA to run \`opa deps\``,
      });
    }
  }
  return out;
}

/** What `entrypoint` reads according to `opa deps` over `sources`; null when it reads the whole input. */
export function inputPathsWithOpa(opa: string, sources: readonly string[], entrypoint: string): InputPaths | null {
  const query = `data.${entrypoint.split("/").join(".")}`;
  const run = spawnSync(opa, ["deps", "--format", "json", "--ignore", "*_test.rego", ...sources.flatMap((source) => ["-d", source]), query], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (run.error || run.status !== 0) {
    throw new PolicyKernelError("opa_unavailable", `opa deps ${query} failed (${run.error?.message ?? run.stderr.trim().split("\n")[0] ?? `exit ${run.status}`})`, {
      file: sources.join(", "),
      expected: "the pinned OPA (scripts/ensure-opa.sh) and Rego sources it can read",
    });
  }
  const deps: unknown = JSON.parse(run.stdout);
  const ref = ["data", ...entrypoint.split("/")];
  if (!refs(deps, "virtual").some((terms) => groundPath(terms).join("/") === ref.join("/") && terms.length === ref.length)) {
    throw new PolicyKernelError("invalid_config", `entrypoint ${entrypoint} is not a rule of the sources`, { file: sources.join(", "), expected: "an entrypoint PKG/RULE that names a rule, such as httpapi/authz/allow" });
  }
  return inputPathsFromDeps(deps);
}

interface Term {
  readonly type: string;
  readonly value: unknown;
}

/**
 * Input paths from `opa deps --format json` output, as scripts/build-record.mjs computes them: each
 * reference into `input` cut at its first non-string term; paths under a shorter one dropped; null
 * when the whole input is read.
 */
export function inputPathsFromDeps(deps: unknown): InputPaths | null {
  const paths = new Map<string, string[]>();
  for (const terms of refs(deps, "base")) {
    if (terms[0]?.type !== "var" || terms[0].value !== "input") continue;
    const path = groundPath(terms).slice(1);
    if (path.length === 0) return null;
    paths.set(JSON.stringify(path), path);
  }
  const sorted = [...paths.keys()].sort().map((key) => paths.get(key)!);
  return sorted.filter((path) => !sorted.some((other) => other.length < path.length && other.every((part, i) => part === path[i])));
}

function refs(deps: unknown, kind: "base" | "virtual"): Term[][] {
  const list = isPlainObject(deps) ? deps[kind] : undefined;
  return Array.isArray(list) ? list.filter((terms): terms is Term[] => Array.isArray(terms)) : [];
}

/** The leading string terms of a reference after its head variable (kept as a string). */
function groundPath(terms: readonly Term[]): string[] {
  const path: string[] = [];
  for (const [index, term] of terms.entries()) {
    if (index === 0 ? term.type !== "var" : term.type !== "string") break;
    path.push(String(term.value));
  }
  return path;
}
