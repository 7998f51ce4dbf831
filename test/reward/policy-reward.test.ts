import fc from "fast-check";
import { describe, expect, expectTypeOf, it } from "vitest";
import { isPolicyKernelError, PolicyKernelError } from "../../src/errors.js";
import type { Decision } from "../../src/schemas.js";
import type { PolicyKernel } from "../../src/kernel/types.js";
import {
  conservativeRewardConfig,
  DEFAULT_REWARD_CONFIG,
  defaultRewardConfig,
  lenientRewardConfig,
  RewardConfigSchema,
  unboundedRewardConfig,
} from "../../src/reward/config.js";
import { createPolicyReward, PolicyReward, successReward } from "../../src/reward/policy-reward.js";
import type { RewardRollout } from "../../src/reward/rollout.js";
import type { GovernedRollout } from "../../src/runner/rollout.js";
import { DEFAULT_SEVERITY_PENALTY, SEVERITIES, type Severity, type Violation } from "../../src/schemas.js";

// A fake kernel: PolicyReward never evaluates, it only keeps the reference.
const kernel: PolicyKernel = {
  policyNames: [],
  provenance: { bundleRevision: null, bundleSha256: null, dataSha256: null, rulesSha256: null },
  close() {},
  evaluate: async (): Promise<Decision> => {
    throw new Error("PolicyReward must not call evaluate");
  },
  evaluateUntrusted: async (): Promise<Decision> => {
    throw new Error("PolicyReward must not call evaluateUntrusted");
  },
};

function violation(severity: Severity, blocked = severity === "critical"): Violation {
  return {
    type: blocked ? "blocked" : "warned",
    policy: "p",
    rule: `r_${severity}`,
    severity,
    description: severity,
    blocked,
    penalty: DEFAULT_SEVERITY_PENALTY[severity],
    source: "rego",
  };
}

type Scored = RewardRollout & { taskOutput?: { accuracy: number } };
const rollout = (success: boolean, severities: Severity[] = [], accuracy?: number): Scored => ({
  success,
  violations: severities.map((s) => violation(s)),
  ...(accuracy === undefined ? {} : { taskOutput: { accuracy } }),
});

function thrown(fn: () => unknown): PolicyKernelError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PolicyKernelError) return err;
    throw err;
  }
  throw new Error("expected a PolicyKernelError");
}

describe("RewardConfig", () => {
  it("has the tutorial's defaults", () => {
    expect(RewardConfigSchema.parse({})).toEqual({
      criticalPenalty: -100,
      highPenalty: -50,
      mediumPenalty: -10,
      lowPenalty: -1,
      cleanBonus: 5,
      multiplicative: false,
      multiplicativeFactor: 0.5,
      minReward: -100,
      maxReward: 100,
    });
    expect(defaultRewardConfig).toEqual(DEFAULT_REWARD_CONFIG);
    expect(new PolicyReward(kernel).config).toEqual(DEFAULT_REWARD_CONFIG);
  });

  it("ships the presets by name", () => {
    expect(conservativeRewardConfig).toMatchObject({ criticalPenalty: -200, highPenalty: -100, mediumPenalty: -30, lowPenalty: -5, cleanBonus: 10 });
    expect(lenientRewardConfig).toMatchObject({ criticalPenalty: -50, highPenalty: -20, mediumPenalty: -5, lowPenalty: -0.5, cleanBonus: 2 });
    expect(unboundedRewardConfig).toMatchObject({ minReward: null, maxReward: null, criticalPenalty: -100 });
    expect(Object.isFrozen(conservativeRewardConfig)).toBe(true);
  });

  it.each([
    [{ criticalPenalty: 100 }, /config\.criticalPenalty: must be <= 0/],
    [{ lowPenalty: 0.5 }, /config\.lowPenalty: must be <= 0/],
    [{ cleanBonus: -1 }, /config\.cleanBonus: must be >= 0/],
    [{ minReward: 10, maxReward: 5 }, /config\.minReward: must be <= maxReward \(10 > 5\)/],
    [{ multiplicativeFactor: 1.5 }, /config\.multiplicativeFactor: must be in \[0, 1\]/],
    [{ multiplicativeFactor: -0.1 }, /config\.multiplicativeFactor: must be in \[0, 1\]/],
    [{ highPenalty: Number.NaN }, /config\.highPenalty/],
    [{ maxReward: Number.POSITIVE_INFINITY }, /config\.maxReward/],
    [{ critcalPenalty: -5 }, /config\.critcalPenalty: unknown option 'critcalPenalty' \(expected one of criticalPenalty/],
  ])("rejects %o with a message naming the field", (config, message) => {
    const error = thrown(() => new PolicyReward(kernel, { config: config as never }));
    expect(isPolicyKernelError(error, "invalid_config")).toBe(true);
    expect(error.message).toMatch(message);
  });

  it("accepts min == max and null bounds", () => {
    expect(() => RewardConfigSchema.parse({ minReward: 1, maxReward: 1 })).not.toThrow();
    expect(() => RewardConfigSchema.parse({ minReward: null, maxReward: -500 })).not.toThrow();
  });

  it("rejects unknown PolicyReward options", () => {
    expect(() => new PolicyReward(kernel, { baseReward: successReward } as never)).toThrow(/options\.baseReward: unknown option/);
    expect(() => new PolicyReward(kernel, { baseRewardFn: 1 } as never)).toThrow(/options\.baseRewardFn: a function/);
  });
});

describe("PolicyReward.reward", () => {
  const reward = new PolicyReward(kernel);

  it("defaults: base 1 on success, 0 on failure; +5 clean bonus on a successful clean rollout", () => {
    expect(reward.reward(rollout(true))).toBe(6);
    expect(reward.reward(rollout(false))).toBe(0);
  });

  it("charges every default severity penalty", () => {
    expect(reward.reward(rollout(true, ["critical"]))).toBe(1 - 100);
    expect(reward.reward(rollout(true, ["high"]))).toBe(1 - 50);
    expect(reward.reward(rollout(true, ["medium"]))).toBe(1 - 10);
    expect(reward.reward(rollout(true, ["low"]))).toBe(1 - 1);
    expect(reward.reward(rollout(true, ["low", "medium", "low"]))).toBe(1 - 12);
  });

  it("uses the config's severity penalties, not violation.penalty", () => {
    const conservative = new PolicyReward(kernel, { config: conservativeRewardConfig });
    expect(conservative.reward(rollout(true, ["medium"]))).toBe(1 - 30);
  });

  it("pays the clean bonus only to a successful rollout: failed-clean never out-scores successful-with-low", () => {
    for (const config of [defaultRewardConfig, lenientRewardConfig, unboundedRewardConfig]) {
      const r = new PolicyReward(kernel, { config });
      const failedClean = r.reward(rollout(false));
      const successfulLow = r.reward(rollout(true, ["low"]));
      expect(failedClean).toBe(0);
      expect(failedClean).toBeLessThanOrEqual(successfulLow);
    }
    // The reference paid 0 + 5 to the failed clean rollout and 1 - 1 to the successful one.
    const lenient = new PolicyReward(kernel, { config: lenientRewardConfig });
    expect(lenient.reward(rollout(false))).toBeLessThan(lenient.reward(rollout(true, ["low"])));
  });

  it("orders base, penalty, bonus, then clamp", () => {
    const accuracy = new PolicyReward<Scored>(kernel, { baseRewardFn: (r) => (r.success ? (r.taskOutput?.accuracy ?? 0) : 0) });
    expect(accuracy.explain(rollout(true, [], 0.85))).toEqual({ base: 0.85, penalty: 0, bonus: 5, unclamped: 5.85, reward: 5.85, violations: 0 });
    expect(accuracy.explain(rollout(true, ["high"], 0.85))).toEqual({
      base: 0.85,
      penalty: -50,
      bonus: 0,
      unclamped: 0.85 - 50,
      reward: 0.85 - 50,
      violations: 1,
    });
    // Clamping comes last: the bonus is added to 98 before the ceiling cuts it to 100.
    const big = new PolicyReward(kernel, { baseRewardFn: () => 98 });
    expect(big.explain(rollout(true))).toMatchObject({ unclamped: 103, reward: 100 });
    expect(big.explain(rollout(true, ["critical", "critical", "critical"]))).toMatchObject({ unclamped: -202, reward: -100 });
  });

  it("null bounds disable clamping", () => {
    const unbounded = new PolicyReward(kernel, { config: unboundedRewardConfig });
    expect(unbounded.reward(rollout(true, ["critical", "critical"]))).toBe(-199);
    const floorOnly = new PolicyReward(kernel, { config: { maxReward: null }, baseRewardFn: () => 1000 });
    expect(floorOnly.reward(rollout(true))).toBe(1005);
    expect(floorOnly.reward(rollout(true, ["critical", "critical", "critical", "critical", "critical", "critical", "critical", "critical", "critical", "critical", "critical"]))).toBe(-100);
  });

  it("multiplicative mode scales the base once on any violation", () => {
    const mult = new PolicyReward(kernel, { config: { ...unboundedRewardConfig, multiplicative: true }, baseRewardFn: () => 0.9 });
    expect(mult.reward(rollout(true, ["critical", "low"]))).toBeCloseTo(0.45);
    expect(mult.reward(rollout(true))).toBeCloseTo(5.9);
    const negative = new PolicyReward(kernel, { config: { multiplicative: true }, baseRewardFn: () => -10 });
    expect(negative.reward(rollout(false, ["low"]))).toBe(-15);
    const zero = new PolicyReward(kernel, { config: { multiplicative: true, multiplicativeFactor: 0 }, baseRewardFn: (r) => (r.success ? 4 : -4) });
    expect(zero.reward(rollout(true, ["low"]))).toBe(0);
    expect(zero.reward(rollout(false, ["low"]))).toBe(-8);
    const one = new PolicyReward(kernel, { config: { multiplicative: true, multiplicativeFactor: 1 }, baseRewardFn: () => -3 });
    expect(one.reward(rollout(true, ["critical"]))).toBe(-3);
  });

  it("multiplicative mode never raises a reward and is monotone in the base (property)", () => {
    const base = fc.double({ min: -1e6, max: 1e6, noNaN: true });
    const severities = fc.array(fc.constantFrom(...SEVERITIES), { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(base, base, severities, fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean(), (b1, b2, sevs, factor, success) => {
        const make = (b: number) =>
          new PolicyReward(kernel, { config: { ...unboundedRewardConfig, multiplicative: true, multiplicativeFactor: factor }, baseRewardFn: () => b });
        const r1 = make(b1).reward(rollout(success, sevs));
        const r2 = make(b2).reward(rollout(success, sevs));
        expect(r1).toBeLessThanOrEqual(b1);
        expect(r2).toBeLessThanOrEqual(b2);
        if (b1 <= b2) expect(r1).toBeLessThanOrEqual(r2);
        // A violation never beats the same base without one.
        expect(r1).toBeLessThanOrEqual(make(b1).reward(rollout(success)));
      }),
      { numRuns: 500 },
    );
  });

  it("additive mode never raises a reward either (property)", () => {
    fc.assert(
      fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.array(fc.constantFrom(...SEVERITIES), { minLength: 1 }), (b, sevs) => {
        const r = new PolicyReward(kernel, { config: unboundedRewardConfig, baseRewardFn: () => b });
        expect(r.reward(rollout(true, sevs))).toBeLessThan(b);
      }),
    );
  });

  it("rejects a non-finite or non-number base reward and a malformed rollout", () => {
    for (const [value, text] of [
      [Number.NaN, "NaN"],
      [Number.POSITIVE_INFINITY, "Infinity"],
      ["1", "a string"],
      [Promise.resolve(1), "a Promise"],
    ] as const) {
      const r = new PolicyReward(kernel, { baseRewardFn: () => value as unknown as number });
      const error = thrown(() => r.reward(rollout(true)));
      expect(error.code).toBe("invalid_input");
      expect(error.message).toContain(`baseRewardFn: baseRewardFn returned ${text}`);
    }
    expect(() => reward.reward({ success: true } as never)).toThrow(/rollout\.violations/);
    expect(() => reward.reward({ success: true, violations: [{ severity: "huge" }] } as never)).toThrow(/rollout\.violations\[0\]/);
  });

  it("tracks stats and resets them", () => {
    const r = new PolicyReward(kernel);
    expect(r.getStats()).toEqual({ totalRewards: 0, totalPenalties: 0, avgPenalty: 0, violationRate: 0, cleanRate: 0, meanReward: 0 });
    r.reward(rollout(true)); // 6
    r.reward(rollout(true, ["high"])); // -49
    r.reward(rollout(false, ["low", "low"])); // -2
    r.reward(rollout(false)); // 0
    r.explain(rollout(true, ["critical"])); // not counted
    expect(r.getStats()).toEqual({ totalRewards: 4, totalPenalties: -52, avgPenalty: -13, violationRate: 0.5, cleanRate: 0.5, meanReward: -45 / 4 });
    r.resetStats();
    expect(r.getStats().totalRewards).toBe(0);
  });

  it("toFunction gives a plain callable that records stats", () => {
    const r = new PolicyReward(kernel);
    const fn = r.toFunction();
    expect([rollout(true), rollout(false)].map(fn)).toEqual([6, 0]);
    expect(r.getStats().totalRewards).toBe(2);
  });

  it("accepts a runner's GovernedRollout as is", () => {
    expectTypeOf<GovernedRollout<string, number>>().toExtend<RewardRollout>();
    const r = new PolicyReward<GovernedRollout<string, { accuracy: number }>>(kernel, {
      baseRewardFn: (ro) => ro.taskOutput?.accuracy ?? 0,
    });
    const governed: GovernedRollout<string, { accuracy: number }> = {
      taskId: null,
      agentId: "a",
      workerId: null,
      mode: "train",
      taskInput: "SELECT 1",
      taskOutput: { accuracy: 0.5 },
      completed: true,
      success: true,
      error: null,
      violations: [],
      signalsSent: [],
      totalPenalty: 0,
      decisions: [],
      blockedActions: 0,
      executedActions: 1,
      executionTimeMs: 1,
    };
    expect(r.reward(governed)).toBe(5.5);
  });
});

describe("createPolicyReward", () => {
  it("accepts every RewardConfig field and severityPenalties", () => {
    const r = createPolicyReward(kernel, {
      baseRewardFn: () => 0.5,
      severityPenalties: { critical: -200, high: -80, medium: -15, low: -2 },
      cleanBonus: 10,
      multiplicative: false,
      multiplicativeFactor: 0.25,
      minReward: -1000,
      maxReward: 1000,
    });
    expect(r.config).toEqual({
      criticalPenalty: -200,
      highPenalty: -80,
      mediumPenalty: -15,
      lowPenalty: -2,
      cleanBonus: 10,
      multiplicative: false,
      multiplicativeFactor: 0.25,
      minReward: -1000,
      maxReward: 1000,
    });
    expect(r.reward(rollout(true, ["critical", "low"]))).toBe(0.5 - 202);
    expect(createPolicyReward(kernel, { lowPenalty: -3 }).config.lowPenalty).toBe(-3);
    expect(createPolicyReward(null).config).toEqual(DEFAULT_REWARD_CONFIG);
  });

  it("rejects unknown options instead of dropping them", () => {
    expect(() => createPolicyReward(kernel, { clean_bonus: 10 } as never)).toThrow(/options\.clean_bonus: unknown option 'clean_bonus'/);
    expect(() => createPolicyReward(kernel, { severityPenalties: { severe: -1 } } as never)).toThrow(
      "options.severityPenalties.severe: unknown option 'severe' (expected one of critical, high, medium, low)",
    );
  });

  it("rejects invalid values, conflicting severities, and min > max with top-level field names", () => {
    expect(() => createPolicyReward(kernel, { severityPenalties: { high: 5 } })).toThrow(/options\.severityPenalties\.high: must be <= 0/);
    expect(() => createPolicyReward(kernel, { highPenalty: -10, severityPenalties: { high: -20 } })).toThrow(
      /options\.severityPenalties\.high: severityPenalties\.high \(-20\) contradicts highPenalty \(-10\)/,
    );
    expect(() => createPolicyReward(kernel, { highPenalty: -10, severityPenalties: { high: -10 } })).not.toThrow();
    expect(() => createPolicyReward(kernel, { minReward: 1, maxReward: 0 })).toThrow(/options\.minReward: must be <= maxReward/);
  });
});
