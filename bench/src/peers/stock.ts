import { loadPolicy, type LoadedPolicy } from "@open-policy-agent/opa-wasm";
import { Engine } from "json-rules-engine";
import type { PolicyInput } from "../../../src/schemas.js";
import type { RuleSet } from "../../../src/engines/json/rule-set.js";
import { entrypointIdOf } from "../../../src/engines/rego/wasm-eval.js";

/** The stock opa-wasm SDK on the same policy.wasm and data: `LoadedPolicy.evaluate(input, entrypoint)`. */
export async function stockOpaWasm(wasm: Uint8Array, data: Record<string, unknown>, entrypoint: string): Promise<(input: PolicyInput) => unknown> {
  const { policy, idOf } = await loadStock(wasm, data);
  const id = idOf(entrypoint);
  return (input) => policy.evaluate(input, id);
}

/**
 * The same, on the entrypoint the kernel's Rego engine picks for the action's type
 * (`entrypoints[type]`, else `entrypoints["*"]`): what is left of the Rego path's lead over the
 * stock SDK once both leave out the policies that cannot fire.
 */
export async function stockOpaWasmByType(
  wasm: Uint8Array,
  data: Record<string, unknown>,
  entrypoints: Readonly<Record<string, string>>,
): Promise<(input: PolicyInput) => unknown> {
  const { policy, idOf } = await loadStock(wasm, data);
  const ids = new Map(Object.entries(entrypoints).map(([type, entrypoint]) => [type, idOf(entrypoint)]));
  const other = ids.get("*");
  if (other === undefined) throw new Error('no entrypoint for "*" (every other action type)');
  return (input) => policy.evaluate(input, ids.get(input.action.type) ?? other);
}

/** One SDK instance with the data set, and the id of an entrypoint it must have. */
async function loadStock(wasm: Uint8Array, data: Record<string, unknown>): Promise<{ policy: LoadedPolicy; idOf: (entrypoint: string) => number }> {
  const policy = await loadPolicy(wasm);
  policy.setData(data);
  const known = policy.entrypoints as Record<string, number>;
  const idOf = (entrypoint: string): number => {
    const id = entrypointIdOf(known, entrypoint);
    if (id === undefined) throw new Error(`entrypoint ${entrypoint} not in policy.wasm`);
    return id;
  };
  return { policy, idOf };
}

/**
 * Plain json-rules-engine: one Engine with the rule sets' rules as written (named conditions left
 * for the engine to resolve), its default path resolver, the facts the adapter supplies.
 * `run()` per input; the rules have no shared state, so one Engine serves sequential runs.
 */
export function plainJsonRulesEngine(ruleSets: readonly RuleSet[], config: Record<string, unknown>): (input: PolicyInput) => Promise<string[]> {
  const engine = new Engine([], { allowUndefinedFacts: true });
  for (const set of ruleSets) {
    for (const [name, condition] of Object.entries(set.conditions ?? {})) engine.setCondition(name, condition as never);
    for (const rule of set.rules) engine.addRule({ name: `${set.name}/${rule.name}`, priority: rule.priority ?? 1, conditions: rule.conditions as never, event: rule.event });
  }
  engine.addFact("config", config);
  return async (input) => {
    const { events } = await engine.run({ agentId: input.agentId, action: input.action, context: input.context, facts: input.facts });
    return events.map((event) => `${String(event.params?.["policy"])}/${String(event.params?.["rule"])}`);
  };
}
