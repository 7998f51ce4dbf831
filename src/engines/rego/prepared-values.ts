import type { LoadedPolicy } from "@open-policy-agent/opa-wasm";
import { isPlainObject } from "../../values.js";
import { evaluateWithoutInput } from "./wasm-eval.js";

/**
 * Prepared values (README: "Prepared values"). OPA's Wasm keeps nothing between evaluations, so
 * a value a policy derives from data alone (a normalized deny list, a formatted time window) is
 * rebuilt on every decision. When policy `policies.<name>` has the entrypoint
 * `policies/<name>/prepare`, the engine evaluates it once, at load, with no input, and hands the
 * result back at `data.policy_kernel.prepared.<name>`; the policy reads it there and computes it
 * itself only where nobody prepared it (opa eval, opa test, another host).
 */
const PREPARE_ENTRYPOINT = /^policies\/([^/]+)\/prepare$/;

/** The data to evaluate with, and the policies whose values it carries. */
export interface PreparedData {
  readonly data: Record<string, unknown>;
  /** Sorted names of the policies whose `prepare` gave a value. */
  readonly policies: readonly string[];
}

/**
 * Loads `data` into the policy, evaluates every `prepare` entrypoint, and loads the data again
 * with their values when there are any. `data.policy_kernel.prepared` belongs to the engine:
 * whatever the caller's data holds there is dropped first, so a policy never reads a value its
 * own `prepare` did not make. A `prepare` that fails or is undefined is left out; its policy then
 * computes the value on every decision, as without a kernel (and meets the same failure there,
 * which the kernel denies). Data without a `policy_kernel` object is loaded as it is.
 */
export function loadPreparedData(policy: LoadedPolicy, entrypoints: Readonly<Record<string, number>>, data: Record<string, unknown>): PreparedData {
  const section = data["policy_kernel"];
  if (!isPlainObject(section)) {
    policy.setData(data);
    return { data, policies: [] };
  }
  const base = Object.hasOwn(section, "prepared") ? withPrepared(data, section, undefined) : data;
  policy.setData(base);
  const values: Record<string, unknown> = {};
  for (const [entrypoint, id] of Object.entries(entrypoints)) {
    const name = PREPARE_ENTRYPOINT.exec(entrypoint)?.[1];
    if (name === undefined) continue;
    const value = evaluatePrepare(policy, id);
    if (value !== undefined) values[name] = value;
  }
  const policies = Object.keys(values).sort();
  if (policies.length === 0) return { data: base, policies };
  const prepared = withPrepared(base, section, values);
  policy.setData(prepared);
  return { data: prepared, policies };
}

/** The value of one `prepare` entrypoint, or undefined when it is undefined or fails. */
function evaluatePrepare(policy: LoadedPolicy, id: number): unknown {
  try {
    const resultSet = evaluateWithoutInput(policy, id);
    return Array.isArray(resultSet) && resultSet.length === 1 ? (resultSet[0] as { result?: unknown }).result : undefined;
  } catch {
    return undefined;
  }
}

/** `data` with `policy_kernel.prepared` set to `values`, or removed when undefined. */
function withPrepared(data: Record<string, unknown>, section: Record<string, unknown>, values: Record<string, unknown> | undefined): Record<string, unknown> {
  const { prepared: _dropped, ...rest } = section;
  return { ...data, policy_kernel: values === undefined ? rest : { ...rest, prepared: values } };
}
