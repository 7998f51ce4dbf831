import { freezeProvenance, readDecision } from "../decision-check.js";
import { errorMessage } from "../errors.js";
import { DecisionSchema, ProvenanceSchema, type Decision, type Provenance, type Violation } from "../schemas.js";
import { buildDecision, kernelViolation } from "./decision.js";
import type { EvaluateOptions, PolicyKernel } from "./types.js";

// Shared by every fail-closed decision without a valid kernel provenance: frozen, so no caller can change the others'.
const NULL_PROVENANCE: Provenance = freezeProvenance({ bundleRevision: null, bundleSha256: null, dataSha256: null, rulesSha256: null });

/**
 * Asks any PolicyKernel, conservatively, for callers that take kernels they did not build (the
 * runner, the environment): a throw or a malformed decision is a deny with a critical kernel
 * violation (fail closed), a decision that says allowed while carrying a blocking violation is a
 * deny (deny overrides), and a deny without a blocking violation gets one naming that.
 */
export async function evaluateFailClosed(kernel: PolicyKernel, action: unknown, options?: EvaluateOptions): Promise<Decision> {
  let raw: unknown;
  try {
    raw = await kernel.evaluateUntrusted(action, options);
  } catch (thrown) {
    return failClosed(kernel, "evaluate_threw", `kernel.evaluate threw: ${errorMessage(thrown)}`);
  }
  let decision = readDecision(raw);
  if (!decision) {
    // Rejected: the schema says what is wrong.
    const parsed = DecisionSchema.safeParse(raw);
    if (parsed.success) decision = parsed.data;
    else return failClosed(kernel, "bad_decision", `kernel.evaluate returned no valid Decision: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  }
  const blocking = decision.violations.some((v) => v.blocked);
  if (decision.allowed && blocking) return { ...decision, allowed: false };
  if (!decision.allowed && !blocking) {
    const reason = kernelViolation("deny_without_reason", "the kernel denied the action without a blocking violation", "kernel", false);
    return { ...decision, violations: [...decision.violations, reason] };
  }
  return decision;
}

// SIGKILL stops the agent, SIGSTOP holds the action for an approval no training loop gives: neither runs.
const HOLDING_SIGNALS: readonly string[] = ["SIGKILL", "SIGSTOP"];

/**
 * Whether a governed loop (GovernedRunner, GovernedEnvironment) runs an action with this decision:
 * allowed, and not held by SIGKILL or SIGSTOP (which a policy may raise with a non-blocking effect).
 */
export function runsAction(decision: Pick<Decision, "allowed" | "signals">): boolean {
  return decision.allowed && !decision.signals.some((signal) => HOLDING_SIGNALS.includes(signal));
}

/** The violation that keeps an action from running: the first blocking one, else the one raising the holding signal. */
export function stoppingViolation(decision: Decision): Violation {
  return (
    decision.violations.find((v) => v.blocked) ??
    decision.violations.find((v) => v.signal !== undefined && HOLDING_SIGNALS.includes(v.signal)) ??
    // Only a foreign kernel lists a signal no violation raised.
    kernelViolation("held_by_signal", `the decision holds the action (${decision.signals.join(", ")})`, "kernel", false)
  );
}

function failClosed(kernel: PolicyKernel, rule: string, description: string): Decision {
  return buildDecision([kernelViolation(rule, description, "kernel", false)], safeProvenance(kernel));
}

/** The kernel's provenance when it has a valid one (reading it may throw too). */
function safeProvenance(kernel: PolicyKernel): Provenance {
  try {
    const parsed = ProvenanceSchema.safeParse(kernel.provenance);
    return parsed.success ? parsed.data : NULL_PROVENANCE;
  } catch {
    return NULL_PROVENANCE;
  }
}
