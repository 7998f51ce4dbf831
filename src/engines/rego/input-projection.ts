import { isPlainObject } from "../../values.js";
import { kernelSection } from "./bundle.js";
import type { BuildRecord } from "./build-record.js";
import { compileProjectedJson, compileProjection, type InputPaths } from "./projection-tree.js";

// The input paths the build record proves an entrypoint can read: parsing JSON inside the Wasm
// is the largest fixed cost of an evaluation, so the kernel sends only these (about 40% fewer
// bytes on the bench corpus).

/** Sends only what the policies read; a missing path stays missing, so the policies see the same. */
export interface InputProjection {
  readonly paths: InputPaths;
  readonly project: (input: unknown) => unknown;
  /** `JSON.stringify(project(input))` ("" for a falsy input), written without the projected copy. */
  readonly projectedJson: (input: unknown) => string;
}

function projectionOf(paths: InputPaths): InputProjection {
  return { paths, project: compileProjection(paths), projectedJson: compileProjectedJson(paths) };
}

/** The paths of some of the generated aggregate's policies, as the data the Wasm evaluates with leaves them on. */
export interface PolicyPaths {
  /** The paths of those of `names` that `disabled` leaves on; undefined when one has no recorded paths. */
  readonly of: (names: readonly string[]) => InputPaths | undefined;
  /**
   * The paths of every policy left on, for an entrypoint running them all that records `paths`;
   * undefined when the policies' paths (disabled or not) do not cover those.
   */
  readonly ofEveryPolicy: (paths: InputPaths) => InputPaths | undefined;
}

/**
 * The record's per-policy paths, read with `data` (what the Wasm evaluates with: the policies
 * `data.policy_kernel.disabled` switches off read nothing, since the aggregate skips them).
 * Undefined without a split, or when they do not cover every path of its input half: the
 * entrypoints they stand in for (the input half, the aggregate, the per-type ones) skip disabled
 * policies and read the input only through the policies, which the build proved for the input
 * half; a record failing that is not one the build script wrote.
 */
export function readPolicyPaths(record: BuildRecord, data: unknown): PolicyPaths | undefined {
  const { policyPaths, split } = record;
  const inputHalfPaths = split && pathsRecordedFor(record, split.policies);
  const all = policyPaths ? Object.values(policyPaths).flat() : [];
  if (!policyPaths || !inputHalfPaths || !coversPaths(all, inputHalfPaths)) return undefined;
  const disabled = isPlainObject(data) ? kernelSection(data)["disabled"] : undefined;
  const of = (names: readonly string[]) => enabledPaths(policyPaths, names, disabled);
  return { of, ofEveryPolicy: (paths) => (coversPaths(all, paths) ? of(Object.keys(policyPaths)) : undefined) };
}

/**
 * The projection for evaluating `entrypoint`, or null to send the whole input: the paths the
 * record holds for it, and for the split aggregate or its input half only those of the policies
 * `policyPaths` leaves on (when they cover the entrypoint's paths).
 */
export function inputProjectionFor(record: BuildRecord, entrypoint: string, policyPaths: PolicyPaths | undefined): InputProjection | null {
  const recorded = pathsRecordedFor(record, entrypoint);
  if (!recorded) return null;
  const { split } = record;
  const runsEveryPolicy = split !== undefined && (entrypoint === split.aggregate || entrypoint === split.policies);
  return projectionOf((runsEveryPolicy ? policyPaths?.ofEveryPolicy(recorded) : undefined) ?? recorded);
}

function pathsRecordedFor(record: BuildRecord, entrypoint: string): InputPaths | undefined {
  return Object.hasOwn(record.inputPaths, entrypoint) ? record.inputPaths[entrypoint] : undefined;
}

/** True when every path of `needed` is one of `paths` or lies under one of them. */
function coversPaths(paths: InputPaths, needed: InputPaths): boolean {
  return needed.every((path) => paths.some((have) => have.length <= path.length && have.every((part, i) => part === path[i])));
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
