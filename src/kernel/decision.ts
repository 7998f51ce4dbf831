import { canonicalJson } from "../canonical-json.js";
import {
  DEFAULT_SEVERITY_PENALTY,
  SEVERITIES,
  type Decision,
  type PolicyFinding,
  type Provenance,
  type Severity,
  type Violation,
  type ViolationSource,
  type ViolationType,
} from "../schemas.js";
import { compareCodeUnits } from "../values.js";

const TYPE_OF_EFFECT: Record<PolicyFinding["effect"], ViolationType> = {
  block: "blocked",
  warn: "warned",
  modify: "modified",
  signal: "signal_sent",
};

/** A signal holds or stops the agent, so the action it concerns does not run. */
const EFFECT_BLOCKS: Record<PolicyFinding["effect"], boolean> = { block: true, signal: true, warn: false, modify: false };

const SEVERITY_RANK: Record<Severity, number> = Object.fromEntries(SEVERITIES.map((s, i) => [s, i])) as Record<Severity, number>;

/** Types a policy finding: penalty from severity unless the policy set one. */
export function toViolation(finding: PolicyFinding, source: ViolationSource): Violation {
  const violation: Violation = {
    type: TYPE_OF_EFFECT[finding.effect],
    policy: finding.policy,
    rule: finding.rule,
    severity: finding.severity,
    description: finding.description,
    blocked: EFFECT_BLOCKS[finding.effect],
    penalty: finding.penalty ?? DEFAULT_SEVERITY_PENALTY[finding.severity],
    source,
  };
  if (finding.signal !== undefined) violation.signal = finding.signal;
  if (finding.details !== undefined) violation.details = finding.details;
  return violation;
}

/** The critical violation that stands for "could not evaluate": denied unless failing open was chosen. */
export function kernelViolation(rule: string, description: string, source: ViolationSource, failOpen: boolean): Violation {
  return {
    type: failOpen ? "warned" : "blocked",
    policy: "kernel",
    rule,
    severity: "critical",
    description,
    blocked: !failOpen,
    penalty: DEFAULT_SEVERITY_PENALTY.critical,
    source,
  };
}

/** Most severe first, then by name, so equal inputs always give byte-identical JSON. */
export function compareViolations(a: Violation, b: Violation): number {
  return (
    SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
    compareCodeUnits(a.policy, b.policy) ||
    compareCodeUnits(a.rule, b.rule) ||
    compareCodeUnits(a.source, b.source) ||
    compareCodeUnits(a.description, b.description) ||
    compareCodeUnits(a.signal ?? "", b.signal ?? "") ||
    compareDetails(a, b)
  );
}

// Reached only on a tie of everything else: two Gatekeeper findings with one message.
function compareDetails(a: Violation, b: Violation): number {
  if (a.details === b.details) return 0;
  return compareCodeUnits(a.details === undefined ? "" : canonicalJson(a.details), b.details === undefined ? "" : canonicalJson(b.details));
}

/** Deny-overrides: one blocking violation denies; signals are the distinct signals raised, sorted. */
export function buildDecision(violations: Violation[], provenance: Provenance): Decision {
  violations.sort(compareViolations);
  const signals = [...new Set(violations.flatMap((v) => (v.signal === undefined ? [] : [v.signal])))].sort();
  return { allowed: !violations.some((v) => v.blocked), violations, signals, provenance };
}
