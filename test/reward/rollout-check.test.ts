import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RewardRolloutSchema, checkRollout, isRewardRollout } from "../../src/reward/rollout.js";
import { almostViolation } from "../generators/violations.js";
import { expectSameAcceptance } from "../helpers/zod-parity.js";

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
    expectSameAcceptance(fc.oneof(almostRollout, almostRollout, fc.anything()), RewardRolloutSchema, isRewardRollout, { numRuns: 50_000, seed: 11, minAccepted: 100 });
  });

  it("still names the field when a rollout is rejected", () => {
    const error = checkRollout({ success: true, violations: [{ severity: "severe" }] });
    expect(error?.message).toMatch(/rollout\.violations\[0\]/);
    expect(checkRollout({ success: true, violations: [] })).toBeUndefined();
  });
});
