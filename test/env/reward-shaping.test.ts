import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GovernedEnvironment, createGovernedEnv } from "../../src/env/environment.js";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import type { PolicyKernel } from "../../src/kernel/types.js";
import { PolicyReward } from "../../src/reward/policy-reward.js";
import type { StepRewardShaper } from "../../src/env/step-reward.js";

// One way to price a violation: the environment's severity penalties, or a `reward` shaper such
// as PolicyReward — never both. Real kernel, real default policies.
let kernel: PolicyKernel;
beforeAll(async () => {
  kernel = await createPolicyKernel();
});
afterAll(() => kernel?.close());

const DELETE_ALL = { type: "sql", sql: "DELETE FROM users" };
const SELECT_ONE = { type: "sql", sql: "SELECT name FROM users WHERE id = 1" };

describe("reward shaping in GovernedEnvironment", () => {
  it("charges a critical DELETE once when PolicyReward is the environment's reward (the issue's -200.1 case)", async () => {
    const reward = new PolicyReward(kernel, { config: { minReward: null, maxReward: null } });
    const env = new GovernedEnvironment(kernel, { reward });
    env.reset({ seed: 1 });
    const [, total, terminated, , info] = await env.step(DELETE_ALL);
    const critical = info.violations.filter((v) => v.severity === "critical");
    expect(critical.length).toBeGreaterThan(0);
    expect(terminated).toBe(true);
    // Blocked: task reward 0; every violation priced once by PolicyReward; then the step penalty.
    const priced = info.violations.reduce((sum, v) => sum + reward.config[`${v.severity}Penalty` as const], 0);
    expect(info.reward).toEqual({ base: 0, step: -0.1, violations: priced, bonus: 0, total: priced - 0.1 });
    expect(total).toBe(priced - 0.1);
    expect(reward.getStats()).toMatchObject({ totalRewards: 1, totalPenalties: priced, violationRate: 1 });
  });

  it("pays PolicyReward's clean bonus on the task reward of a clean step", async () => {
    const reward = new PolicyReward(kernel, { config: { cleanBonus: 3 } });
    const env = createGovernedEnv(kernel, { reward, rewardFn: () => 2, stepPenalty: -0.5 });
    env.reset({ seed: 1 });
    const [, total, , , info] = await env.step(SELECT_ONE);
    expect(info.violations).toEqual([]);
    expect(info.reward).toEqual({ base: 2, step: -0.5, violations: 0, bonus: 3, total: 4.5 });
    expect(total).toBe(4.5);
  });

  it("keeps the environment's severity penalties when no reward shaper is given", async () => {
    const env = new GovernedEnvironment(kernel, { config: { violationPenalty: -10 } });
    env.reset({ seed: 1 });
    const [, , , , info] = await env.step(DELETE_ALL);
    expect(info.reward.violations).toBeLessThanOrEqual(-100);
  });

  it.each([
    ["config.violationPenalty", { config: { violationPenalty: -10 } }],
    ["config.successBonus", { config: { successBonus: 5 } }],
  ])("refuses a reward shaper together with %s, saying how to choose", (field, options) => {
    const make = () => new GovernedEnvironment(kernel, { reward: new PolicyReward(kernel), ...options });
    expect(make).toThrow(expect.objectContaining({ code: "invalid_config", field }));
    expect(make).toThrow(/count twice.*either drop .* or drop the reward option/);
  });

  it("refuses the same stacking through createGovernedEnv's flat options, naming the flat option", () => {
    const make = () => createGovernedEnv(kernel, { reward: new PolicyReward(kernel), violationPenalty: -1 });
    expect(make).toThrow(expect.objectContaining({ code: "invalid_config", field: "violationPenalty" }));
  });

  it("allows the environment's penalties written as 0 beside a shaper (nothing is priced twice)", () => {
    expect(() => new GovernedEnvironment(kernel, { reward: new PolicyReward(kernel), config: { violationPenalty: 0, successBonus: 0 } })).not.toThrow();
  });

  it("refuses a PolicyReward whose baseRewardFn the environment would silently ignore", () => {
    const reward = new PolicyReward(kernel, { baseRewardFn: () => 1 });
    expect(() => new GovernedEnvironment(kernel, { reward })).toThrow(/baseRewardFn.*move the base reward there/);
  });

  it("gives rewardFn the task outcome only, and a PolicyReward called on it says where it belongs", async () => {
    const reward = new PolicyReward(kernel);
    const seen: string[][] = [];
    const env = new GovernedEnvironment(kernel, {
      rewardFn: (_state, _action, outcome) => {
        seen.push(Object.keys(outcome));
        return reward.reward(outcome as never);
      },
    });
    env.reset({ seed: 1 });
    await expect(env.step(DELETE_ALL)).rejects.toThrow(/pass it as the environment's reward option/);
    expect(seen).toEqual([["executed", "blocked", "result", "success", "done"]]);
    // The throwing callback left the episode as it was.
    expect(env.stepCount).toBe(0);
  });

  it("takes any object with shapeStep, and rejects one that answers nonsense", async () => {
    const halve: StepRewardShaper = {
      shapeStep: ({ base, violations }) => ({ penalty: -violations.length, bonus: 0, reward: base / 2 - violations.length }),
    };
    const env = new GovernedEnvironment(kernel, { reward: halve, rewardFn: () => 4, config: { stepPenalty: 0 } });
    env.reset({ seed: 1 });
    const [, total] = await env.step(SELECT_ONE);
    expect(total).toBe(2);

    const broken = new GovernedEnvironment(kernel, { reward: { shapeStep: () => ({ penalty: Number.NaN, bonus: 0, reward: 0 }) } });
    broken.reset({ seed: 1 });
    await expect(broken.step(SELECT_ONE)).rejects.toThrow(/shapeStep must return finite numbers/);
    expect(() => new GovernedEnvironment(kernel, { reward: (() => 1) as never })).toThrow(/shapeStep/);
  });
});
