import { isPlainObject } from "../../values.js";
import { kernelSection, type PolicyBundle } from "./bundle.js";
import { compileProjectedJson, compileProjection, type InputPaths } from "./projection-tree.js";

/**
 * What `scripts/build-bundle.sh` records at `data.policy_kernel.input_projection`: the input
 * paths the entrypoint can read, from `opa deps`, and the modules they were computed from.
 * Parsing JSON inside the Wasm is the largest fixed cost of an evaluation, so the kernel sends
 * only these paths (about 40% fewer bytes on the bench corpus).
 */
interface ProjectionRecord {
  readonly entrypoint: string;
  readonly modulesSha256: string;
  readonly paths: InputPaths;
  /** Each policy's own paths (the generated aggregate only): together they cover `paths`. */
  readonly policies: Readonly<Record<string, InputPaths>> | undefined;
  /** The aggregate's halves, when its config half reads no input (the generated aggregate only). */
  readonly split: AggregateSplit | undefined;
  /** The policies' `prepare` entrypoints that `opa deps` showed read no input (README: "Prepared values"). */
  readonly prepare: readonly string[] | undefined;
}

/**
 * The generated aggregate is the union of these two entrypoints, and `config` depends on data
 * alone: the engine evaluates it once, when it loads the data, and `policies` per decision.
 */
export interface AggregateSplit {
  readonly policies: string;
  readonly config: string;
}


/** `{entrypoint, modules_sha256, paths, policies?, split?, prepare?}` and nothing else, or undefined. (By hand: zod's first parse costs a cold start about 1 ms.) */
function readRecord(raw: unknown): ProjectionRecord | undefined {
  if (!isPlainObject(raw)) return undefined;
  const { entrypoint, modules_sha256: modulesSha256, paths, policies, split, prepare, ...rest } = raw;
  if (Object.keys(rest).length > 0) return undefined;
  if (typeof entrypoint !== "string" || entrypoint.length === 0) return undefined;
  if (typeof modulesSha256 !== "string" || !/^[0-9a-f]{64}$/.test(modulesSha256)) return undefined;
  if (!isPathList(paths)) return undefined;
  if (policies !== undefined && !(isPlainObject(policies) && Object.values(policies).every(isPathList))) return undefined;
  if (split !== undefined && !isSplit(split)) return undefined;
  if (prepare !== undefined && !(Array.isArray(prepare) && prepare.every((name) => typeof name === "string" && name.length > 0))) return undefined;
  return { entrypoint, modulesSha256, paths, policies: policies as Record<string, InputPaths> | undefined, split, prepare };
}

function isSplit(value: unknown): value is AggregateSplit {
  if (!isPlainObject(value)) return false;
  const { policies, config, ...rest } = value;
  return Object.keys(rest).length === 0 && typeof policies === "string" && policies.length > 0 && typeof config === "string" && config.length > 0;
}

function isPathList(value: unknown): value is InputPaths {
  return Array.isArray(value) && value.every((path) => Array.isArray(path) && path.length > 0 && path.every((part) => typeof part === "string"));
}

/** True when every path of `needed` is one of `paths` or lies under one of them. */
function coversPaths(paths: InputPaths, needed: InputPaths): boolean {
  return needed.every((path) => paths.some((have) => have.length <= path.length && have.every((part, i) => part === path[i])));
}

/** Sends only what the policies read; a missing path stays missing, so the policies see the same. */
export interface InputProjection {
  readonly paths: InputPaths;
  readonly project: (input: unknown) => unknown;
  /** `JSON.stringify(project(input))` ("" for a falsy input), written without the projected copy. */
  readonly projectedJson: (input: unknown) => string;
  /**
   * The paths some of the policies read, for an entrypoint that evaluates only those (the
   * generated aggregate's per-action-type ones); `paths` when the bundle records no per-policy
   * paths or names a policy it has none for. Policies switched off by `disabled` read nothing.
   */
  readonly pathsOf: (names: readonly string[]) => InputPaths;
}

export type ProjectionResult =
  | { readonly projection: InputProjection; readonly note?: undefined; readonly split?: AggregateSplit; readonly prepare?: readonly string[] }
  | { readonly projection: null; readonly note?: string; readonly split?: undefined; readonly prepare?: undefined };

/**
 * The bundle's recorded projection, trusted only when it was computed for this entrypoint from
 * exactly the Rego modules the bundle holds. A bundle rebuilt around a copied data.json, with a
 * policy added, fails that check and gets the whole input: a stale projection would hide input
 * from the new policy and let actions through.
 *
 * With per-policy paths (the generated aggregate, which skips a policy whose
 * `data.policy_kernel.disabled[name]` is true), `data` is what the Wasm evaluates with: the
 * policies it switches off are dropped, and only the paths of the others are sent.
 */
export function readInputProjection(bundle: PolicyBundle, entrypoint: string, data: unknown = bundle.data): ProjectionResult {
  const raw = kernelSection(bundle.data)["input_projection"];
  if (raw === undefined) return { projection: null };
  const record = readRecord(raw);
  if (!record) {
    return { projection: null, note: "data.policy_kernel.input_projection is malformed (expected {entrypoint, modules_sha256, paths, policies?, split?, prepare?}); the whole input is sent" };
  }
  const { entrypoint: recordedFor, modulesSha256, paths } = record;
  if (recordedFor !== entrypoint) {
    return { projection: null, note: `the input projection was computed for ${recordedFor}, not ${entrypoint}; the whole input is sent` };
  }
  if (modulesSha256 !== bundle.modulesSha256) {
    return { projection: null, note: "the input projection was computed from other Rego modules than the bundle holds; the whole input is sent" };
  }
  const disabled = isPlainObject(data) ? kernelSection(data)["disabled"] : undefined;
  // A record whose policies do not account for every path is not one the build script wrote: trust only `paths`.
  const policies = record.policies && coversPaths(Object.values(record.policies).flat(), paths) ? record.policies : undefined;
  const pathsOf = policies ? (names: readonly string[]) => enabledPaths(policies, names, disabled) ?? paths : () => paths;
  const sent = policies ? pathsOf(Object.keys(policies)) : paths;
  const projection = { paths: sent, project: compileProjection(sent), projectedJson: compileProjectedJson(sent), pathsOf };
  return { projection, ...(record.split ? { split: record.split } : {}), ...(record.prepare ? { prepare: record.prepare } : {}) };
}

/** The paths of those of `names` that `disabled` leaves on; undefined when one has no recorded paths. */
function enabledPaths(policies: Readonly<Record<string, InputPaths>>, names: readonly string[], disabled: unknown): InputPaths | undefined {
  if (!names.every((name) => Object.hasOwn(policies, name))) return undefined;
  // kernel.rego's test is `disabled[name] == true`: anything else leaves the policy on.
  const off = (name: string): boolean => isPlainObject(disabled) && Object.hasOwn(disabled, name) && disabled[name] === true;
  return minimalPaths(names.flatMap((name) => (off(name) ? [] : policies[name]!)));
}

/** Sorted, each once, none lying under another: the form the build script records. */
function minimalPaths(paths: InputPaths): InputPaths {
  const byKey = new Map(paths.map((path) => [JSON.stringify(path), path]));
  const sorted = [...byKey.keys()].sort().map((key) => byKey.get(key)!);
  return sorted.filter((path) => !sorted.some((other) => other.length < path.length && coversPaths([other], [path])));
}
