import { isEffect, isSeverity, isSignalName, type PolicyFinding } from "../schemas.js";
import { boundedDetails, isViolationDetails } from "../violation-details.js";

/**
 * PolicyFindingSchema's acceptance, hand-written for the hot path: the same checks, and the same
 * output (known keys only, in the schema's order). Undefined when the value is not a valid
 * finding; callers then run the schema for its error message. A property test holds the two equal.
 */
export function checkFinding(value: unknown): PolicyFinding | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const { policy, rule, severity, effect, description, signal, penalty, details } = v;
  if (typeof policy !== "string" || policy.length === 0) return undefined;
  if (typeof rule !== "string" || rule.length === 0) return undefined;
  if (!isSeverity(severity)) return undefined;
  if (!isEffect(effect)) return undefined;
  if (typeof description !== "string") return undefined;
  if (signal !== undefined && !isSignalName(signal)) return undefined;
  if (penalty !== undefined && (typeof penalty !== "number" || !Number.isFinite(penalty) || penalty < 0)) return undefined;
  if (effect === "signal" && signal === undefined) return undefined;
  if (details !== undefined && !isViolationDetails(details)) return undefined;
  const finding: PolicyFinding = { policy, rule, severity, effect, description };
  if (signal !== undefined) finding.signal = signal;
  if (penalty !== undefined) finding.penalty = penalty;
  if (details !== undefined) finding.details = boundedDetails(details);
  return finding;
}
