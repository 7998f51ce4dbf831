import { canonicalJson } from "../../src/canonical-json.js";
import type { PolicyBundle } from "../../src/engines/rego/bundle.js";
import { DEFAULT_ENTRYPOINT } from "../../src/engines/rego/rego-engine.js";
import { stockOpaWasm } from "../../bench/src/peers/stock.js";
import type { PolicyInput } from "../../src/schemas.js";

/**
 * kernel/violations (or `entrypoint`) as the stock SDK evaluates it, whole input, one call: the
 * oracle the Rego engine's shortcuts (split aggregate, projection, per-type entrypoints, prepared
 * values) are held to.
 */
export async function stockEvaluate(bundle: PolicyBundle, data: Record<string, unknown>, entrypoint = DEFAULT_ENTRYPOINT): Promise<(input: unknown) => unknown[]> {
  // The bench's stock row: the same loader and entrypoint lookup.
  const evaluate = await stockOpaWasm(bundle.wasm, data, entrypoint);
  return (input) => (evaluate(input as PolicyInput) as Array<{ result: unknown[] }>)[0]!.result;
}

/** stockEvaluate's findings as sorted canonical JSON. */
export async function stockAggregate(bundle: PolicyBundle, data: Record<string, unknown>, entrypoint = DEFAULT_ENTRYPOINT): Promise<(input: unknown) => string[]> {
  const evaluate = await stockEvaluate(bundle, data, entrypoint);
  return (input) => (evaluate(input).map(canonicalJson) as string[]).sort();
}

/** The bundle's data with some policies' config replaced (undefined: removed) and some policies switched off. */
export function bundleDataVariant(bundle: PolicyBundle, config: Record<string, unknown>, disabled: readonly string[]): Record<string, unknown> {
  const kernel = bundle.data["policy_kernel"] as Record<string, unknown> & { config: Record<string, unknown> };
  const merged: Record<string, unknown> = { ...kernel.config };
  for (const [name, value] of Object.entries(config)) {
    if (value === undefined) delete merged[name];
    else merged[name] = value;
  }
  return { ...bundle.data, policy_kernel: { ...kernel, config: merged, disabled: Object.fromEntries(disabled.map((name) => [name, true])) } };
}
