import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RewardRolloutSchema, checkRollout, isRewardRollout } from "../../src/reward/rollout.js";

const almostViolation = fc.record(
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
    extra: fc.anything(),
  },
  { requiredKeys: ["type", "policy", "rule", "severity", "description", "blocked", "penalty", "source"] },
);

const almostRollout = fc.record(
  {
    success: fc.oneof(fc.boolean(), fc.anything()),
    violations: fc.oneof(fc.array(fc.oneof(almostViolation, almostViolation, fc.anything()), { maxLength: 3 }), fc.anything()),
    extra: fc.anything(),
  },
  { requiredKeys: ["success", "violations"] },
);

describe("isRewardRollout: RewardRolloutSchema's acceptance without zod", () => {
  it("accepts exactly what the schema accepts", () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(almostRollout, almostRollout, fc.anything()), (value) => {
        const zod = RewardRolloutSchema.safeParse(value).success;
        expect(isRewardRollout(value)).toBe(zod);
        if (zod) accepted++;
      }),
      { numRuns: 50_000, seed: 11 },
    );
    expect(accepted).toBeGreaterThan(100); // the generator reaches valid rollouts, not only garbage
  });

  it("still names the field when a rollout is rejected", () => {
    const error = checkRollout({ success: true, violations: [{ severity: "severe" }] });
    expect(error?.message).toMatch(/rollout\.violations\[0\]/);
    expect(checkRollout({ success: true, violations: [] })).toBeUndefined();
  });
});
