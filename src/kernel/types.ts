import type { ActionInput, Decision, Provenance } from "../schemas.js";
import type { BundleStatus } from "../bundle-service/config.js";
import type { DecisionLog } from "../decision-log/decision-log.js";

/** Per-call options, separate from how the kernel was built (OPA's EvalTime idea). */
export interface EvaluateOptions {
  /**
   * Logical time of this decision. Overrides `context.now` of the action; policies never
   * read the wall clock, so without either, time-based rules (business hours) do not fire.
   */
  readonly now?: string | Date;
  /**
   * The caller (GovernedRunner, GovernedEnvironment) refused the action at the trust boundary:
   * the kernel still evaluates and records it, with a critical `kernel/<rule>` violation that
   * denies it, so the trail shows the attempt (an agent-supplied context, for one).
   */
  readonly refusal?: { readonly rule: string; readonly description: string };
}

/**
 * A prepared policy kernel: engines loaded once, `evaluate` called before every action.
 * Neither method throws: a malformed action or an engine failure yields a denied
 * Decision with a critical `kernel` violation (fail closed).
 */
export interface PolicyKernel {
  /** Decides on a typed action; a TypeScript caller cannot pass a misspelt field (it is still validated at run time). */
  evaluate(action: ActionInput, options?: EvaluateOptions): Promise<Decision>;
  /** Decides on input nobody typed (a file, the network, an agent's output): malformed input is a denied Decision naming the field. */
  evaluateUntrusted(raw: unknown, options?: EvaluateOptions): Promise<Decision>;
  /**
   * Decides on `input` given to the OPA policies as their `input`, as it is (a kernel built with
   * `rawInput: true` only; rejects otherwise). Malformed or too large input is a denied Decision.
   */
  evaluateInput?(input: unknown): Promise<Decision>;
  /** Names of the active policies, sorted. */
  readonly policyNames: readonly string[];
  /** Which bundle, data and rules make this kernel's decisions. */
  readonly provenance: Provenance;
  /** Largest action it analyses (compact JSON bytes); runners and environments copy up to this. */
  readonly maxActionBytes?: number;
  /**
   * The status of each bundle served by URL (OPA's status fields: active revision, last request,
   * download and activation, last error); only on a kernel whose bundle is a URL.
   */
  bundleStatus?(): readonly BundleStatus[];
  /** Polls every bundle served by URL now, once, resolving when any new revision is active or refused (OPA's manual trigger). */
  refreshBundles?(): Promise<readonly BundleStatus[]>;
  /**
   * The decision log (kernel option `decisionLog`), when there is one. `close()` starts delivering
   * what is left of a log the kernel made; `await kernel.decisionLog.close()` waits and reports.
   */
  readonly decisionLog?: DecisionLog | undefined;
  /** Releases engines; calling it twice is fine. */
  close(): void;
}
