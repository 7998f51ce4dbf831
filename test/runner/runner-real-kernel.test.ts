import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import type { PolicyKernel } from "../../src/kernel/types.js";
import { PolicyReward } from "../../src/reward/policy-reward.js";
import { GovernedRunner } from "../../src/runner/governed-runner.js";
import type { ActionBody } from "../../src/schemas.js";

describe("GovernedRunner + PolicyReward on the real kernel (default policies)", () => {
  let kernel: PolicyKernel;
  beforeAll(async () => {
    kernel = await createPolicyKernel();
  });
  afterAll(() => kernel.close());

  function setup() {
    const executed: ActionBody[] = [];
    const runner = new GovernedRunner(kernel, {
      executor: (action) => {
        executed.push(action);
        return { rows: 1 };
      },
    });
    return { runner, executed, reward: new PolicyReward(kernel) };
  }

  it("reports the kernel's own frozen provenance object in every decision", async () => {
    const { runner } = setup();
    const rollout = await runner.step("SELECT name FROM users WHERE id = 1");
    expect(rollout.decisions[0]?.provenance).toBe(kernel.provenance);
    expect(Object.isFrozen(rollout.decisions[0]?.provenance)).toBe(true);
  });

  it("blocks DROP TABLE before it executes and scores it -100", async () => {
    const { runner, executed, reward } = setup();
    const rollout = await runner.step("DROP TABLE users");
    expect(executed).toEqual([]);
    expect(rollout).toMatchObject({ success: false, blockedActions: 1, executedActions: 0 });
    expect(rollout.violations).toContainEqual(
      expect.objectContaining({ policy: "sql", severity: "critical", blocked: true, source: "rego", penalty: 100 }),
    );
    expect(rollout.totalPenalty).toBe(rollout.violations.reduce((sum, v) => sum + v.penalty, 0));
    // Failed (base 0), critical -100, no clean bonus, floor -100.
    expect(reward.reward(rollout)).toBe(-100);
  });

  it("allows a clean SELECT, executes it once, and rewards base + clean bonus", async () => {
    const { runner, executed, reward } = setup();
    const rollout = await runner.step("SELECT name FROM users WHERE id = 42", { now: "2026-11-18T10:00:00Z" });
    expect(rollout).toMatchObject({ success: true, violations: [], totalPenalty: 0, taskOutput: { rows: 1 } });
    expect(executed).toEqual([{ type: "sql", sql: "SELECT name FROM users WHERE id = 42" }]);
    expect(reward.reward(rollout)).toBe(1 + 5);
  });
});
