import type { Decision, Provenance } from "../schemas.js";

/** Per-call options, separate from how the kernel was built (OPA's EvalTime idea). */
export interface EvaluateOptions {
  /**
   * Logical time of this decision. Overrides `context.now` of the action; policies never
   * read the wall clock, so without either, time-based rules (business hours) do not fire.
   */
  readonly now?: string | Date;
}

/**
 * A prepared policy kernel: engines loaded once, `evaluate` called before every action.
 * `evaluate` never throws: a malformed action or an engine failure yields a denied
 * Decision with a critical `kernel` violation (fail closed).
 */
export interface PolicyKernel {
  evaluate(action: unknown, options?: EvaluateOptions): Promise<Decision>;
  /** Names of the active policies, sorted. */
  readonly policyNames: readonly string[];
  /** Which bundle, data and rules make this kernel's decisions. */
  readonly provenance: Provenance;
  /** Releases engines; calling it twice is fine. */
  close(): void;
}
