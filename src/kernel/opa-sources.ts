import { canonicalJson, sha256Hex } from "../canonical-json.js";
import { PolicyKernelError } from "../errors.js";
import type { BundleLimits } from "../engines/rego/bundle.js";
import { readVerifiedBundle, type BundleReader } from "../engines/rego/verified-bundle.js";
import { createOpaEngine, type OpaEngine } from "../engines/opa/opa-engine.js";
import { mergeData } from "./merge.js";
import type { OpaSource } from "../engines/opa/source.js";
import type { PolicyFinding, PolicyInput, Provenance } from "../schemas.js";
import { bindInput } from "./binding/bind.js";
import { loadCheckedBinding } from "./binding/checked-binding.js";
import type { InputBinding } from "./binding/schema.js";

/** Loads each OPA bundle of the kernel option `opa` and its engine; every problem is a load error naming `createPolicyKernel.opa[i]`. */
export async function loadOpaEngines(
  sources: readonly OpaSource[],
  limits: BundleLimits | undefined,
  data: Record<string, unknown> | undefined,
  read: BundleReader = readVerifiedBundle,
): Promise<OpaEngine[]> {
  const engines: OpaEngine[] = [];
  for (const [index, source] of sources.entries()) {
    const bundle = await read(source.bundle, { limits, verification: source.verification });
    const engine = await createOpaEngine({ bundle, entrypoints: source.entrypoints, field: `createPolicyKernel.opa[${index}].entrypoints`, ...(data ? { data: mergeData(bundle.data, data) } : {}) });
    if (source.binding === undefined) engines.push(engine);
    else {
      const binding = loadCheckedBinding(source.binding, bundle, engine.plans.map((plan) => plan.entrypoint));
      engines.push(boundEngine(engine, binding));
    }
  }
  return engines;
}

/**
 * The engine deciding on the input the binding builds from each action and its trusted context;
 * an action the binding cannot bind is one critical kernel finding, so it is denied, never allowed.
 */
function boundEngine(engine: OpaEngine, binding: InputBinding): OpaEngine {
  const decide = (input: PolicyInput): PolicyFinding[] => {
    const bound = bindInput(binding, input.action, { context: input.context, agentId: input.agentId });
    if (bound.bound) return engine.evaluateValue(bound.input, input.context?.now);
    return [{ policy: "kernel", rule: bound.rule, severity: "critical", effect: "block", description: bound.description }];
  };
  return { ...engine, evaluate: decide, close: () => engine.close() };
}

/**
 * The kernel options that cannot go together with `opa` and `rawInput`: raw input is the
 * policies' `input` as it is, which the default library and JSON rules (written for actions)
 * cannot read.
 */
export function checkOpaOptions(options: { opa?: readonly unknown[] | undefined; rawInput?: boolean | undefined; bundle?: unknown; rules?: unknown }): void {
  if (!options.rawInput) return;
  const bound = (options.opa ?? []).findIndex((source) => typeof source === "object" && source !== null && "binding" in source && source.binding !== undefined);
  if (bound >= 0) {
    throw new PolicyKernelError("invalid_config", "a binding builds the policies' input from an action; with rawInput the input is given as it is: choose one", { field: `createPolicyKernel.opa[${bound}].binding` });
  }
  if (!options.opa || options.opa.length === 0) {
    throw new PolicyKernelError("invalid_config", "rawInput needs OPA entrypoints to evaluate", { field: "createPolicyKernel.rawInput", expected: "opa: [{bundle, entrypoints}] beside rawInput: true" });
  }
  for (const key of ["bundle", "rules"] as const) {
    if (typeof options[key] === "string" || Array.isArray(options[key])) {
      throw new PolicyKernelError("invalid_config", `${key} reads agent actions, not a raw input; leave it out with rawInput: true`, { field: `createPolicyKernel.${key}` });
    }
  }
}

/**
 * One provenance for several bundles: one bundle keeps its own revision and SHA-256; several are
 * named together, revisions joined by "+" in the order loaded, and the SHA-256 of their SHA-256s.
 */
export function bundlesProvenance(parts: readonly Partial<Provenance>[]): Pick<Provenance, "bundleRevision" | "bundleSha256"> | undefined {
  const bundles = parts.filter((part) => typeof part.bundleSha256 === "string");
  if (bundles.length <= 1) return undefined;
  return {
    bundleRevision: bundles.map((part) => part.bundleRevision ?? "").join("+"),
    bundleSha256: sha256Hex(canonicalJson(bundles.map((part) => part.bundleSha256))),
  };
}
