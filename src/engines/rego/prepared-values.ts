/**
 * Prepared values (docs/rego-internals.md: "Prepared values"). OPA's Wasm keeps nothing between evaluations, so
 * a value a policy derives from data alone (a normalized deny list, a formatted time window) is
 * rebuilt on every decision. A policy `policies.<name>` may declare such values in an entrypoint
 * `policies/<name>/prepare`: the engine evaluates it once, at load, with no input, and hands the
 * result back at `data.policy_kernel.prepared.<name>`, which the policy reads in place of
 * computing it (elsewhere, opa eval or opa test, nothing is there and it computes it itself).
 */
import type { WasmPolicy } from "./wasm-instance.js";
import { PolicyKernelError, errorMessage, type ErrorLocation } from "../../errors.js";
import { isPlainObject } from "../../values.js";
import { kernelSection } from "./bundle.js";
import { entrypointIdOf, evaluateWithoutInput } from "./wasm-eval.js";

const PREPARE_ENTRYPOINT = /^policies\/([^/]+)\/prepare$/;

/** The data the policies see, and what preparing it found. */
export interface PreparedData {
  readonly data: Record<string, unknown>;
  /** Sorted names of the policies whose `prepare` gave a value. */
  readonly policies: readonly string[];
  /** A `prepare` that failed at load: its policy computes the values on every decision instead. */
  readonly problems: readonly string[];
}

/**
 * `data.policy_kernel.prepared` is the engine's to fill: a value put there by hand would be read
 * by the kernel's policies but not by the same bundle elsewhere, so the same data would decide
 * differently depending on who evaluates it.
 */
export function assertNoPreparedValues(data: Readonly<Record<string, unknown>>, location: Omit<ErrorLocation, "expected">): void {
  if (!Object.hasOwn(kernelSection(data), "prepared")) return;
  throw new PolicyKernelError("invalid_config", "data.policy_kernel.prepared is reserved: the engine puts the values of the policies' prepare entrypoints there", {
    ...location,
    expected: "data without policy_kernel.prepared",
  });
}

/**
 * Loads `data` into the policy, evaluates the `prepare` entrypoints named in `prepare` (those the
 * build proved read no input), and loads the data again with their values when there are any.
 * A `prepare` that is undefined gives no value; one that fails is reported in `problems`. Either
 * way its policy computes the values on every decision, as without a kernel (and meets the same
 * failure there, which the kernel denies). Data without a `policy_kernel` object is loaded as is.
 */
export function loadPreparedData(
  policy: WasmPolicy,
  entrypoints: Readonly<Record<string, number>>,
  prepare: readonly string[],
  data: Record<string, unknown>,
): PreparedData {
  policy.setData(data);
  const section = data["policy_kernel"];
  if (!isPlainObject(section)) return { data, policies: [], problems: [] };
  // No prototype: a policy named __proto__ gets its value like any other.
  const values: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const problems: string[] = [];
  for (const entrypoint of prepare) {
    const name = PREPARE_ENTRYPOINT.exec(entrypoint)?.[1];
    const id = entrypointIdOf(entrypoints, entrypoint);
    if (name === undefined || id === undefined) continue;
    try {
      const resultSet = evaluateWithoutInput(policy, id);
      if (Array.isArray(resultSet) && resultSet.length === 1) values[name] = (resultSet[0] as { result?: unknown }).result;
    } catch (error) {
      problems.push(`${entrypoint} failed at load (${errorMessage(error)}); policy ${name} computes those values on every decision`);
    }
  }
  const policies = Object.keys(values).sort();
  if (policies.length === 0) return { data, policies, problems };
  const prepared = { ...data, policy_kernel: { ...section, prepared: values } };
  policy.setData(prepared);
  return { data: prepared, policies, problems };
}
