import { describe, expect, it } from "vitest";
import { CompositeReward } from "../../src/reward/composite-reward.js";
import { policyPenalty } from "../../src/reward/policy-penalty.js";
import { PolicyReward } from "../../src/reward/policy-reward.js";
import type { RewardRollout } from "../../src/reward/rollout.js";
import { DEFAULT_SEVERITY_PENALTY, type Severity, type Violation } from "../../src/schemas.js";

function violation(severity: Severity): Violation {
  return {
    type: "warned",
    policy: "p",
    rule: "r",
    severity,
    description: "",
    blocked: false,
    penalty: DEFAULT_SEVERITY_PENALTY[severity],
    source: "json",
  };
}
const rollout = (success: boolean, severities: Severity[] = []): RewardRollout => ({ success, violations: severities.map(violation) });

describe("policyPenalty", () => {
  it("sums default per-severity penalties (<= 0)", () => {
    expect(policyPenalty([])).toBe(0);
    expect(Object.is(policyPenalty([]), 0)).toBe(true);
    expect(policyPenalty(rollout(true, ["critical", "high", "medium", "low", "low"]).violations)).toBe(-162);
  });

  it("uses given penalties and defaults for omitted ones", () => {
    const v = rollout(true, ["critical", "high", "medium", "low"]).violations;
    expect(policyPenalty(v, { criticalPenalty: -200, highPenalty: -80, mediumPenalty: -15, lowPenalty: -2 })).toBe(-297);
    expect(policyPenalty(v, { criticalPenalty: -200 })).toBe(-200 - 50 - 10 - 1);
  });

  it("rejects positive penalties, unknown options and non-violations", () => {
    expect(() => policyPenalty([], { lowPenalty: 2 })).toThrow(/options\.lowPenalty: must be <= 0/);
    expect(() => policyPenalty([], { critical_penalty: -1 } as never)).toThrow(/unknown option 'critical_penalty'/);
    expect(() => policyPenalty([{ severity: "urgent" }] as never)).toThrow(/violations/);
  });
});

describe("CompositeReward", () => {
  const accuracy = (r: RewardRollout) => (r.success ? 0.8 : 0);
  const efficiency = () => 1;

  it("is the weighted sum of its components (functions or rewarders)", () => {
    const policy = new PolicyReward(null);
    const composite = new CompositeReward({
      components: [
        [accuracy, 1],
        [policy, 0.5],
        [efficiency, 0.3],
      ],
    });
    expect(composite.reward(rollout(true))).toBeCloseTo(0.8 + 0.5 * 6 + 0.3);
    expect(composite.reward(rollout(true, ["high"]))).toBeCloseTo(0.8 + 0.5 * -49 + 0.3);
    expect(composite.weights).toEqual([1, 0.5, 0.3]);
    expect(policy.getStats().totalRewards).toBe(2);
  });

  it("normalize rescales weights to sum to 1", () => {
    const composite = new CompositeReward({
      components: [
        [accuracy, 3],
        [efficiency, 1],
      ],
      normalize: true,
    });
    expect(composite.weights).toEqual([0.75, 0.25]);
    expect(composite.reward(rollout(true))).toBeCloseTo(0.75 * 0.8 + 0.25);
    expect(composite.toFunction()(rollout(false))).toBeCloseTo(0.25);
  });

  it("rejects empty components, non-finite weights, zero-sum normalize and unknown options", () => {
    expect(() => new CompositeReward({ components: [] })).toThrow(/options\.components: needs at least one/);
    expect(() => new CompositeReward({ components: [[accuracy, Number.NaN]] })).toThrow(/options\.components\[0\]\[1\]: a finite number/);
    expect(() => new CompositeReward({ components: [[accuracy, Number.POSITIVE_INFINITY]] })).toThrow(/components\[0\]\[1\]/);
    expect(
      () =>
        new CompositeReward({
          components: [
            [accuracy, 1],
            [efficiency, -1],
          ],
          normalize: true,
        }),
    ).toThrow(/weights sum to 0/);
    // Without normalize a zero sum is just a weighted sum.
    expect(
      new CompositeReward({
        components: [
          [accuracy, 1],
          [efficiency, -1],
        ],
      }).reward(rollout(true)),
    ).toBeCloseTo(-0.2);
    expect(() => new CompositeReward({ components: [[accuracy, 1]], normalise: true } as never)).toThrow(/unknown option 'normalise'/);
    expect(() => new CompositeReward({ components: [["nope", 1]] } as never)).toThrow(/components\[0\]\[0\]/);
  });

  it("names a component that returns a non-finite value", () => {
    const composite = new CompositeReward({
      components: [
        [accuracy, 1],
        [() => Number.NaN, 1],
      ],
    });
    expect(() => composite.reward(rollout(true))).toThrow(/components\[1\]: reward component returned NaN/);
  });
});
