import type { PolicyFinding, PolicyInput, Provenance } from "../schemas.js";
import type { FactsRead, FactsReadByActionType } from "./facts-read.js";

/** Where a finding came from; the kernel stamps it on each violation. */
export type EngineSource = "rego" | "json";

/**
 * One policy language behind the kernel. Prepared once (loading Wasm, compiling rules),
 * then `evaluate` is called for every action. It throws when it cannot evaluate; the
 * kernel turns that into a denied decision (fail closed), so engines never swallow errors.
 */
export interface PolicyEngine {
  readonly source: EngineSource;
  /** Names of the policies this engine can report (for `kernel.policies`). */
  readonly policyNames: readonly string[];
  /** The provenance fields this engine owns (bundle fields for Rego, rules hash for JSON). */
  readonly provenance: Partial<Provenance>;
  /** Findings for one enriched input, in any order (the kernel sorts). */
  evaluate(input: PolicyInput): readonly PolicyFinding[] | Promise<readonly PolicyFinding[]>;
  /**
   * Optional fast path: the same findings synchronously, or undefined when this input needs
   * `evaluate`. Throws where `evaluate` would throw or reject.
   */
  evaluateSync?(input: PolicyInput): readonly PolicyFinding[] | undefined;
  /** The enrichment facts its policies can read; absent means all of them. */
  readonly factsRead?: FactsRead;
  /** The same by action type, each within `factsRead`, when the engine can tell. */
  readonly factsReadByActionType?: FactsReadByActionType;
  /** Releases what the engine holds; calling it twice is fine. */
  close(): void;
}
