import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkFinding } from "../../src/engines/finding-check.js";
import { PolicyFindingSchema } from "../../src/schemas.js";

const almost = fc.record(
  {
    policy: fc.oneof(fc.constantFrom("sql", "", "cost"), fc.anything()),
    rule: fc.oneof(fc.constantFrom("r", ""), fc.anything()),
    severity: fc.oneof(fc.constantFrom("critical", "high", "medium", "low", "severe", "HIGH"), fc.anything()),
    effect: fc.oneof(fc.constantFrom("block", "warn", "modify", "signal", "deny"), fc.anything()),
    description: fc.oneof(fc.string(), fc.anything()),
    signal: fc.oneof(fc.constantFrom("SIGSTOP", "SIGKILL", "SIG", "sigstop", "SIGSTOP1", undefined), fc.anything()),
    penalty: fc.oneof(fc.constantFrom(0, -0, 1.5, -1, Number.NaN, Number.POSITIVE_INFINITY, undefined, "5"), fc.double()),
    details: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constant(undefined), fc.constant({ big: "x".repeat(9000) }), fc.anything()),
    extra: fc.anything(),
  },
  { requiredKeys: [] },
);

describe("checkFinding: PolicyFindingSchema's acceptance without zod", () => {
  it("accepts exactly what the schema accepts, with the same output", () => {
    fc.assert(
      fc.property(fc.oneof(almost, fc.anything()), (value) => {
        const zod = PolicyFindingSchema.safeParse(value);
        const fast = checkFinding(value);
        expect(fast !== undefined).toBe(zod.success);
        if (zod.success) expect(fast).toEqual(zod.data);
      }),
      { numRuns: 50_000, seed: 5 },
    );
  });

  it("keeps the schema's key order and drops unknown keys", () => {
    const value = { signal: "SIGSTOP", effect: "signal", extra: 1, description: "d", severity: "medium", rule: "r", policy: "p" };
    expect(JSON.stringify(checkFinding(value))).toBe(JSON.stringify(PolicyFindingSchema.parse(value)));
  });
});
