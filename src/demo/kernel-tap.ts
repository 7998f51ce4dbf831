import type { EvaluateOptions, PolicyKernel } from "../kernel/types.js";
import type { ActionInput, Decision } from "../schemas.js";

/** How an arm uses the kernel: `enforce` blocks and penalises, `observe` only records. */
export type Enforcement = "enforce" | "observe";

/**
 * Wraps a kernel so the demo can read the kernel's real verdict on every action. In `observe`
 * mode the environment is told "allowed, no violations": nothing is blocked or penalised, but
 * the real decision is still evaluated, recorded in the audit trail and counted.
 */
export class KernelTap implements PolicyKernel {
  #last: Decision | undefined;
  readonly #revisions: (string | null)[] = [];

  /** Taps `inner`; `mode` decides what the environment sees. */
  constructor(
    private readonly inner: PolicyKernel,
    readonly mode: Enforcement,
  ) {}

  get policyNames(): readonly string[] {
    return this.inner.policyNames;
  }

  get provenance(): PolicyKernel["provenance"] {
    return this.inner.provenance;
  }

  /** The inner kernel's input limit, so the environment copies up to what it analyses. */
  get maxActionBytes(): number | undefined {
    return this.inner.maxActionBytes;
  }

  /** The bundle revisions that decided, in the order they first did: more than one when a served bundle was hot-swapped. */
  get revisions(): readonly (string | null)[] {
    return this.#revisions;
  }

  /** The kernel's real decision on the last evaluated action. */
  get lastDecision(): Decision {
    if (!this.#last) throw new Error("no action evaluated yet");
    return this.#last;
  }

  /** Evaluates with the real kernel; in observe mode hands back an allow with no violations. */
  evaluate(action: ActionInput, options?: EvaluateOptions): Promise<Decision> {
    return this.evaluateUntrusted(action, options);
  }

  /** As `evaluate`, for input nobody typed (the runner hands over the agent's proposal). */
  async evaluateUntrusted(action: unknown, options?: EvaluateOptions): Promise<Decision> {
    const decision = await this.inner.evaluateUntrusted(action, options);
    this.#last = decision;
    const revision = decision.provenance.bundleRevision;
    if (!this.#revisions.includes(revision)) this.#revisions.push(revision);
    if (this.mode === "enforce") return decision;
    return { allowed: true, violations: [], signals: [], provenance: decision.provenance };
  }

  /** The tap does not own the kernel: closing is the creator's job. */
  close(): void {}
}
