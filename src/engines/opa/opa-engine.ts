import { canonicalJson, sha256Hex } from "../../canonical-json.js";
import { PolicyKernelError, errorMessage, fromZodError } from "../../errors.js";
import type { PolicyFinding, PolicyInput } from "../../schemas.js";
import type { PolicyEngine } from "../engine.js";
import type { PolicyBundle } from "../rego/bundle.js";
import { hostBuiltins } from "../rego/builtins/registry.js";
import { EvaluationClock, assertBuiltinsImplemented } from "../rego/builtins/check.js";
import { createWasmEvaluate, entrypointIdOf, REGO_VALUE_RESULT } from "../rego/wasm-eval.js";
import { instantiatePolicy, type WasmPolicy } from "../rego/wasm-instance.js";
import { findingsOf, lastSegment, packageOf, type Convention, type FindingStamp } from "./conventions.js";
import { manifestAnnotations, metadataFor, parseAnnotations } from "./metadata.js";
import { entrypointName, OpaEntrypointConfigSchema, type OpaEntrypointConfig } from "./source.js";

/** Options of `createOpaEngine`: a bundle someone else wrote and the entrypoints of it that decide. */
export interface OpaEngineOptions {
  readonly bundle: PolicyBundle;
  readonly entrypoints: readonly (string | OpaEntrypointConfig)[];
  /** Where the entrypoints were given, for load errors (`createPolicyKernel.opa[0]`, `--entrypoint`). */
  readonly field?: string;
  /** The data its policies see; default: the bundle's. */
  readonly data?: Readonly<Record<string, unknown>>;
}

/** One entrypoint as evaluated: its name in the module, its convention and what stamps its findings. */
export interface OpaEntrypointPlan {
  readonly entrypoint: string;
  readonly convention: Convention | undefined;
  readonly stamp: FindingStamp;
}

/** An engine over any OPA bundle: every entrypoint evaluated on the same input, all findings returned. */
export interface OpaEngine extends PolicyEngine {
  /** What each entrypoint is read as, in the order given. */
  readonly plans: readonly OpaEntrypointPlan[];
  /** SHA-256 of the canonical JSON of the data its policies see. */
  readonly dataSha256: string;
  /**
   * The findings for `input` given to the policies as it is (`input` in Rego), not a PolicyInput;
   * `now` (ISO 8601) is what `time.now_ns()` returns, none: a policy calling it fails closed.
   */
  evaluateValue(input: unknown, now?: unknown): PolicyFinding[];
}

/**
 * Loads `bundle`'s Wasm once and checks, at load, what would otherwise deny every action: an
 * entrypoint the module lacks, a builtin the host lacks, METADATA it cannot use. Each is a
 * PolicyKernelError ("invalid_config" or "invalid_bundle") naming the bundle.
 */
export async function createOpaEngine(options: OpaEngineOptions): Promise<OpaEngine> {
  const { bundle } = options;
  const field = options.field ?? "entrypoints";
  // The host's builtins give OPA's answers; time.now_ns reads this clock, set per evaluation.
  const clock = new EvaluationClock();
  // This host's own instantiation: builtins get Rego values (sets, exact numbers), not JSON.
  const policy: WasmPolicy = instantiatePolicy(bundle.module as WebAssembly.Module, hostBuiltins(clock), bundle.location);
  const ids = (policy.entrypoints ?? {}) as Record<string, number>;
  const configs = options.entrypoints.map((given, index) => {
    const parsed = OpaEntrypointConfigSchema.safeParse(typeof given === "string" ? { path: given } : given);
    if (!parsed.success) throw fromZodError("invalid_config", parsed.error, { root: `${field}[${index}]` });
    return parsed.data;
  });
  for (const config of configs) {
    if (entrypointIdOf(ids, entrypointName(config.path)) !== undefined) continue;
    const known = Object.keys(ids).sort().join(", ") || "none";
    throw new PolicyKernelError("invalid_config", `entrypoint "${config.path}" is not in the bundle (it has: ${known})`, {
      file: bundle.location,
      field,
      expected: "an entrypoint the bundle was built with (opa build -t wasm -e PACKAGE/RULE)",
    });
  }
  assertBuiltinsImplemented(policy, bundle.location);
  const data = options.data ?? bundle.data;
  try {
    policy.setData(data);
  } catch (error) {
    throw new PolicyKernelError("invalid_bundle", `data could not be loaded into the policy: ${errorMessage(error)}`, { file: bundle.location });
  }
  const annotations = parseAnnotations(bundle.regoModules ?? []);
  const evaluators = configs.map((config) => {
    const entrypoint = entrypointName(config.path);
    const id = entrypointIdOf(ids, entrypoint)!;
    const pkg = packageOf(entrypoint);
    const rule = lastSegment(entrypoint);
    const meta = metadataFor([...manifestAnnotations(bundle.manifest.wasm, entrypoint, pkg, rule), ...annotations], pkg, rule);
    const severity = config.severity ?? meta.severity;
    const effect = config.effect ?? meta.effect;
    const penalty = config.penalty ?? meta.penalty;
    const stamp: FindingStamp = {
      policy: config.policy ?? pkg,
      rule: config.rule ?? rule,
      ...(severity === undefined ? {} : { severity }),
      ...(effect === undefined ? {} : { effect }),
      ...(penalty === undefined ? {} : { penalty }),
    };
    const plan: OpaEntrypointPlan = { entrypoint, convention: config.convention, stamp };
    const evaluate = createWasmEvaluate(policy, id, undefined, REGO_VALUE_RESULT) ?? ((input: unknown): unknown => policy.evaluate(input, id));
    return { plan, evaluate };
  });
  let closed = false;
  const evaluateValue = (input: unknown, now?: unknown): PolicyFinding[] => {
    if (closed) throw new PolicyKernelError("engine_error", "the OPA engine is closed");
    clock.set(now);
    const findings: PolicyFinding[] = [];
    for (const { plan, evaluate } of evaluators) {
      let resultSet: unknown;
      try {
        resultSet = evaluate(input);
      } catch (error) {
        throw new PolicyKernelError("engine_error", `Wasm evaluation of ${plan.entrypoint} failed: ${errorMessage(error)}`);
      }
      findings.push(...findingsOf(plan.entrypoint, resultSet, plan.convention, plan.stamp));
    }
    return findings;
  };
  return {
    source: "rego",
    policyNames: [...new Set(evaluators.map(({ plan }) => plan.stamp.policy))].sort(),
    provenance: { bundleRevision: bundle.manifest.revision || null, bundleSha256: bundle.sha256 },
    plans: evaluators.map(({ plan }) => plan),
    dataSha256: sha256Hex(canonicalJson(data)),
    evaluateValue,
    evaluate: (input: PolicyInput) => evaluateValue(input, input.context?.now),
    close() {
      closed = true;
    },
  };
}
