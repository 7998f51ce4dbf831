import { PolicyFindingSchema, type PolicyFinding, type PolicyInput } from "../../schemas.js";
import { checkFinding } from "../finding-check.js";
import { PolicyKernelError, errorMessage, issuePath } from "../../errors.js";
import type { PolicyEngine } from "../engine.js";
import type { PolicyBundle } from "./bundle.js";
import { inputProjectionFor, readPolicyPaths } from "./input-projection.js";
import { readBuildRecord, type AggregateSplit } from "./build-record.js";
import { compileProjectedJson, wholeJson, type InputPaths } from "./projection-tree.js";
import { createScopedEvaluate } from "./action-scopes.js";
import { canonicalJson } from "../../canonical-json.js";
import { factsReadByPaths } from "../facts-read.js";
import { createWasmEvaluate, entrypointIdOf, evaluateWithoutInput } from "./wasm-eval.js";
import { assertNoPreparedValues, loadPreparedData, type PreparedData } from "./prepared-values.js";
import { shapeOf } from "../../values.js";
import { hostBuiltins } from "./builtins/registry.js";
import { instantiatePolicy, type WasmPolicy } from "./wasm-instance.js";
import { EvaluationClock, assertBuiltinsImplemented, builtinProblems, importedBuiltins } from "./builtins/check.js";

/** The aggregate entrypoint of the default library: every violation in ONE Wasm call. */
export const DEFAULT_ENTRYPOINT = "kernel/violations";

/** Options of `createRegoEngine`: the bundle, the data it sees and the entrypoint to evaluate. */
export interface RegoEngineOptions {
  readonly bundle: PolicyBundle;
  /** Data the policies see (bundle data merged with overrides); defaults to the bundle's. */
  readonly data?: Record<string, unknown>;
  readonly entrypoint?: string;
  /** Policy names to report in `policyNames` (the Wasm module does not list packages). */
  readonly policyNames?: readonly string[];
}

/** A Rego engine whose problems found at load are kept, and reported on every evaluation. */
export interface RegoEngine extends PolicyEngine {
  /** Problems found while preparing that still let it decide (a `prepare` that failed); a missing entrypoint or builtin throws instead. */
  readonly diagnostics: readonly string[];
  /** The input paths sent to the Wasm (the bundle's verified input projection; with per-type entrypoints, each gets those of its policies); null: the whole input. */
  readonly inputPaths: InputPaths | null;
  /** Why the bundle's build record (input projection, split, prepare list) is not used; undefined when there is nothing to say. */
  readonly buildRecordNote: string | undefined;
  /** The entrypoint evaluated per decision: `entrypoint`, or the input half of a split aggregate. */
  readonly decisionEntrypoint: string;
  /**
   * When the decision entrypoint is the generated aggregate's input half and the module has its
   * per-action-type entrypoints: the one evaluated for each type (`*`: any other type) in place
   * of `decisionEntrypoint`, which they add up to. Else null, also when the data holds a
   * `policies` document or the module predates ABI 1.2 (see createScopedEvaluate).
   */
  readonly actionTypeEntrypoints: Readonly<Record<string, string>> | null;
  /** The data-only half's findings, evaluated at load and part of every result (a missing config). */
  readonly configFindings: readonly PolicyFinding[];
  /** Policies whose `prepare` entrypoint was evaluated at load (docs/rego-internals.md: "Prepared values"), sorted. */
  readonly preparedPolicies: readonly string[];
}

/** Loads the bundle's Wasm once and returns an engine that evaluates the aggregate entrypoint. */
export async function createRegoEngine(options: RegoEngineOptions): Promise<RegoEngine> {
  const { bundle } = options;
  const entrypoint = options.entrypoint ?? DEFAULT_ENTRYPOINT;
  // time.now_ns reads the evaluation's logical time (context.now), set before each evaluation.
  const clock = new EvaluationClock();
  // This host's own instantiation: builtins get Rego values (sets, exact numbers), not JSON.
  const policy: WasmPolicy = instantiatePolicy(bundle.module as WebAssembly.Module, hostBuiltins(clock), bundle.location);
  assertBuiltinsImplemented(policy, bundle.location);
  const entrypoints = (policy.entrypoints ?? {}) as Record<string, number>;
  assertNoPreparedValues(bundle.data, { file: bundle.location, field: "data.policy_kernel.prepared" });
  if (options.data) assertNoPreparedValues(options.data, { field: "data.policy_kernel.prepared" });
  const given = options.data ?? bundle.data;
  // Each part of the build record stands alone: the prepare list holds whatever the entrypoint, the
  // split when the aggregate is asked for, the per-type entrypoints when its input half is
  // evaluated, and the input paths for the entrypoint they were computed for.
  const { record, note: buildRecordNote } = readBuildRecord(bundle);
  let prepared: PreparedData;
  try {
    prepared = loadPreparedData(policy, entrypoints, record?.prepare ?? [], given);
  } catch (error) {
    throw new PolicyKernelError("invalid_bundle", `data could not be loaded into the policy: ${errorMessage(error)}`, { file: bundle.location });
  }
  // What the policies see: the data, with the values their `prepare` entrypoints made at load.
  const data = prepared.data;
  const entrypointId = entrypointIdOf(entrypoints, entrypoint);
  if (entrypointId === undefined) {
    // Misconfiguration, not a policy answer: every decision would be denied, so refuse at load.
    const known = Object.keys(entrypoints).sort().join(", ") || "none";
    throw new PolicyKernelError("invalid_config", `entrypoint "${entrypoint}" is not in ${bundle.location} (it has: ${known})`, {
      file: bundle.location,
      field: "entrypoint",
      expected: "an entrypoint the bundle was built with (opa build -t wasm -e PACKAGE/RULE)",
    });
  }
  const diagnostics: string[] = [...prepared.problems];

  // The generated aggregate's data-only half is evaluated now, once: the data is fixed for this
  // engine's life. Each decision then evaluates only the half that reads the input.
  const split = record?.split?.aggregate === entrypoint ? record.split : undefined;
  const configHalf = !split ? undefined : evaluateConfigHalf(policy, entrypoints, split);
  // What each decision evaluates: the input half when split, else the entrypoint asked for.
  const perDecision = configHalf?.policies ?? { name: entrypoint, id: entrypointId };
  // Of the data, the per-policy paths read only `disabled`, which preparing leaves as it is.
  const policyPaths = record ? readPolicyPaths(record, given) : undefined;
  const projection = record ? inputProjectionFor(record, perDecision.name, policyPaths) : null;
  // Best, when the input half of the generated aggregate is evaluated (split, or asked for), its
  // entrypoint for the action's type, with only the policies that can fire for it, each sent only
  // the paths those read (undefined before ABI 1.2, like `direct`).
  const runsInputHalf = perDecision.id !== undefined && record?.split?.policies === perDecision.name;
  // What an entrypoint evaluating only some policies is sent: their recorded paths, else what the
  // projection sends, else the whole input (null). The facts the kernel computes follow it.
  const pathsFor = (names: readonly string[]): InputPaths | null => policyPaths?.of(names) ?? projection?.paths ?? null;
  const scoped = runsInputHalf
    ? createScopedEvaluate(policy, entrypoints, data, (names) => {
        const paths = pathsFor(names);
        return paths === null ? wholeJson : paths === projection?.paths ? projection.projectedJson : compileProjectedJson(paths);
      })
    : undefined;
  // Else the direct ABI call when the module supports it (ABI >= 1.2), else the SDK's evaluate;
  // either gets only the input paths the bundle says its policies read.
  const direct = scoped || perDecision.id === undefined ? undefined : createWasmEvaluate(policy, perDecision.id, projection?.projectedJson);
  const viaSdk = (input: unknown): unknown => policy.evaluate(input, perDecision.id);
  const project = projection?.project;
  const evaluateWasm = scoped?.evaluate ?? direct ?? (project ? (input: PolicyInput) => viaSdk(project(input)) : viaSdk);
  const factsRead = factsReadByPaths(projection?.paths ?? null);
  // With per-type entrypoints, each type needs only the facts of the paths its policies are sent.
  const factsReadByActionType = scoped && {
    types: Object.fromEntries(Object.entries(scoped.scopes.types).map(([type, names]) => [type, factsReadByPaths(pathsFor(names))])),
    other: factsReadByPaths(pathsFor(scoped.scopes.other)),
  };
  const configFindings = configHalf?.findings ?? [];
  const keyedConfigFindings = configFindings.map((finding) => ({ finding, key: canonicalJson(finding) }));
  let closed = false;
  return {
    source: "rego",
    policyNames: [...(options.policyNames ?? [])].sort(),
    provenance: { bundleRevision: bundle.manifest.revision || null, bundleSha256: bundle.sha256 },
    diagnostics,
    decisionEntrypoint: perDecision.name,
    actionTypeEntrypoints: scoped?.entrypoints ?? null,
    configFindings,
    preparedPolicies: prepared.policies,
    inputPaths: projection?.paths ?? null,
    factsRead,
    ...(factsReadByActionType ? { factsReadByActionType } : {}),
    buildRecordNote,
    evaluate(input: PolicyInput): PolicyFinding[] {
      if (closed) throw new PolicyKernelError("engine_error", "the Rego engine is closed");
      let resultSet: unknown;
      try {
        // A raw input (no context) has no logical time; time.now_ns then fails the evaluation.
        clock.set((input as { context?: { now?: unknown } }).context?.now);
        resultSet = evaluateWasm(input);
      } catch (error) {
        throw new PolicyKernelError("engine_error", `Wasm evaluation failed: ${errorMessage(error)}`);
      }
      let findings: PolicyFinding[];
      try {
        findings = readFindings(resultSet, perDecision.name);
      } catch (error) {
        // Per-type dispatch evaluated another entrypoint: name it, on this rare path only.
        if (scoped) readFindings(resultSet, scoped.entrypointOf(input));
        throw error;
      }
      return keyedConfigFindings.length === 0 ? findings : unionFindings(findings, keyedConfigFindings);
    },
    close() {
      closed = true;
    },
  };
}

/**
 * The split aggregate's data-only half evaluated with no input, or undefined to evaluate the
 * whole aggregate per decision instead: when either half is missing from the module or this
 * evaluation fails (then every decision meets the failure, and fails closed).
 */
function evaluateConfigHalf(
  policy: WasmPolicy,
  entrypoints: Record<string, number>,
  split: AggregateSplit,
): { policies: { name: string; id: number }; findings: PolicyFinding[] } | undefined {
  const policiesId = entrypointIdOf(entrypoints, split.policies);
  const configId = entrypointIdOf(entrypoints, split.config);
  if (policiesId === undefined || configId === undefined) return undefined;
  try {
    return { policies: { name: split.policies, id: policiesId }, findings: readFindings(evaluateWithoutInput(policy, configId), split.config) };
  } catch {
    return undefined;
  }
}

/** Both halves' findings as the aggregate's set has them: each value once. `more` comes with its findings' canonical JSON, computed once at load. */
function unionFindings(findings: PolicyFinding[], more: readonly { finding: PolicyFinding; key: string }[]): PolicyFinding[] {
  const seen = new Set(findings.map(canonicalJson));
  for (const { finding, key } of more) if (!seen.has(key)) findings.push(finding);
  return findings;
}

/** Checks the result set is `[{result: [finding...]}]` and every finding has the contract's shape. */
export function readFindings(resultSet: unknown, entrypoint: string): PolicyFinding[] {
  if (!Array.isArray(resultSet) || resultSet.length !== 1) {
    throw new PolicyKernelError("engine_error", `unexpected result shape from ${entrypoint}: expected one result, got ${shapeOf(resultSet)}`);
  }
  const result = (resultSet[0] as { result?: unknown } | undefined)?.result;
  if (!Array.isArray(result)) {
    throw new PolicyKernelError("engine_error", `unexpected result shape from ${entrypoint}: expected a set of violations, got ${shapeOf(result)}`);
  }
  const findings: PolicyFinding[] = [];
  for (let index = 0; index < result.length; index++) {
    const checked = checkFinding(result[index]);
    if (checked) {
      findings.push(checked);
      continue;
    }
    // Invalid: the schema says why, in the words the error has always used.
    const parsed = PolicyFindingSchema.safeParse(result[index]);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issuePath(issue?.path ?? [], `violations[${index}]`);
      throw new PolicyKernelError("engine_error", `unexpected result shape from ${entrypoint}: ${field}: ${issue?.message ?? "invalid"}`);
    }
    findings.push(parsed.data);
  }
  return findings;
}

/** Builtins the module imports that this host will not run (non-deterministic, or implemented by no one), sorted. */
export function missingBuiltins(policy: WasmPolicy): string[] {
  return builtinProblems(importedBuiltins(policy)).map((problem) => problem.builtin);
}
