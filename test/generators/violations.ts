import fc from "fast-check";

/** Violations that are valid, or wrong in one or more fields (for schema-equivalence properties). */
export const almostViolation = fc.record(
  {
    type: fc.oneof(fc.constantFrom("blocked", "modified", "warned", "signal_sent", "denied"), fc.anything()),
    policy: fc.oneof(fc.constantFrom("sql", ""), fc.anything()),
    rule: fc.oneof(fc.constantFrom("r", ""), fc.anything()),
    severity: fc.oneof(fc.constantFrom("critical", "high", "medium", "low", "severe"), fc.anything()),
    description: fc.oneof(fc.string(), fc.anything()),
    blocked: fc.oneof(fc.boolean(), fc.anything()),
    penalty: fc.oneof(fc.constantFrom(0, -0, 10, -1, Number.NaN, Number.POSITIVE_INFINITY, "5"), fc.double()),
    source: fc.oneof(fc.constantFrom("rego", "json", "kernel", "opa"), fc.anything()),
    signal: fc.oneof(fc.constantFrom("SIGSTOP", "SIG", "sigstop", undefined), fc.anything()),
    details: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constant({ ["__proto__"]: 1 }), fc.constant({ big: "x".repeat(9000) }), fc.anything()),
    extra: fc.anything(),
  },
  { requiredKeys: ["type", "policy", "rule", "severity", "description", "blocked", "penalty", "source"] },
);
