// Decisions and clocks shared by the audit tests.
import { DecisionSchema, type Decision, type Violation } from "../../src/schemas.js";

/** A blocking critical violation of `policy`, with any field overridden. */
export function violation(policy: string, overrides: Partial<Violation> = {}): Violation {
  return {
    type: "blocked",
    policy,
    rule: "deny_drop",
    severity: "critical",
    description: `${policy} says no`,
    blocked: true,
    penalty: 100,
    source: "rego",
    ...overrides,
  };
}

/** A Decision for these violations; parsed, so it is one the kernel could really return. */
export function decision(violations: Violation[] = [], bundleRevision: string | null = "rev-7"): Decision {
  return DecisionSchema.parse({
    allowed: !violations.some((v) => v.blocked),
    violations,
    signals: violations.flatMap((v) => (v.signal ? [v.signal] : [])),
    provenance: { bundleRevision, bundleSha256: "a".repeat(64), dataSha256: "b".repeat(64), rulesSha256: null },
  });
}

/** A clock that starts at `start` and advances `stepMs` per call, for replayable timestamps. */
export function fakeClock(start = "2026-01-01T00:00:00.000Z", stepMs = 1000): () => Date {
  let t = Date.parse(start);
  return () => {
    const d = new Date(t);
    t += stepMs;
    return d;
  };
}
