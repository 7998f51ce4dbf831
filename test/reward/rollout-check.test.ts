import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RewardRolloutSchema, checkRollout, isRewardRollout } from "../../src/reward/rollout.js";
import { almostViolation } from "../generators/violations.js";

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
