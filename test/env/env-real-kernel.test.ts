import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkEnv, DEFAULT_CHECK_ACTIONS } from "../../src/env/check-env.js";
import { GovernedEnvironment, createGovernedEnv } from "../../src/env/environment.js";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import type { PolicyKernel } from "../../src/kernel/types.js";

// The real kernel with the shipped default bundle and rules: no fake decisions here.
let kernel: PolicyKernel;
beforeAll(async () => {
  kernel = await createPolicyKernel();
});
afterAll(() => kernel?.close());

const TABLES = ["users", "orders", "invoices"] as const;
const newEnv = () =>
  new GovernedEnvironment(kernel, {
    agentId: "sql-agent",
    taskGenerator: (rng) => ({ table: rng.pick(TABLES), id: rng.int(1000) }),
    executor: (state) => ({ result: { rows: 1 }, observation: { ...state, id: state.id + 1 } }),
  });

describe("GovernedEnvironment on the real default kernel", () => {
  it("passes checkEnv", async () => {
    const report = await checkEnv(newEnv(), { seed: 2026 });
    expect(report.passed).toContain("seed_determinism");
    expect(report.passed).toContain("unseeded_reset_continues_stream");
    expect(report.trajectoryLength).toBe(DEFAULT_CHECK_ACTIONS.length);
  });

  it("also passes checkEnv on an episode ended by a critical violation", async () => {
    const report = await checkEnv(newEnv(), { seed: 1, actions: [DEFAULT_CHECK_ACTIONS[0]!, { type: "sql", sql: "DROP TABLE users" }] });
    expect(report.passed).toContain("step_after_end");
  });

  it("runs a short episode: clean SELECTs earn the bonus, DROP TABLE is critical and terminates", async () => {
    const env = newEnv();
    const [state, info] = env.reset({ seed: 7 });
    expect(info.kernelPolicies).toEqual(kernel.policyNames);
    expect(info.kernelPolicies.length).toBeGreaterThan(0);

    const [, reward, terminated, truncated, clean] = await env.step({ type: "sql", sql: `SELECT * FROM ${state.table} WHERE id = ${state.id}` });
    expect(clean.violations).toEqual([]);
    expect([terminated, truncated, clean.blocked]).toEqual([false, false, false]);
    expect(reward).toBeCloseTo(1 - 0.1 + 10, 10);

    const [, dropReward, dropTerminated, dropTruncated, dropped] = await env.step({ type: "sql", sql: "DROP TABLE users" });
    expect(dropped.blocked).toBe(true);
    expect(dropped.violations.some((v) => v.severity === "critical" && v.policy === "sql")).toBe(true);
    expect([dropTerminated, dropTruncated]).toEqual([true, false]);
    expect(dropReward).toBeLessThanOrEqual(-0.1 - 100);
    expect(dropped.totalReward).toBeCloseTo(reward + dropReward, 10);
    await expect(env.step({ type: "sql", sql: "SELECT 1" })).rejects.toMatchObject({ name: "ResetNeeded" });
    expect(env.getMetrics()).toMatchObject({ totalEpisodes: 1, finishedEpisodes: 1, successfulEpisodes: 0, successRate: 0 });
  });

  it("feeds the env-tracked spend to the cost policy", async () => {
    // The price is the trainer's: costFn, never a field of the agent's action.
    const env = createGovernedEnv(kernel, { maxSteps: 5, costFn: () => 60 });
    env.reset({ seed: 3 });
    const costly = { type: "sql", sql: "SELECT 1 FROM users WHERE id = 1" };
    const [, , , , first] = await env.step(costly);
    expect(first.blocked).toBe(false);
    // 60 already spent + 60 > max_cost_usd 100: the kernel sees spentUsd only because the env tracks it.
    const [, , , , second] = await env.step(costly);
    expect(second.action.context.spentUsd).toBe(60);
    expect(second.violations.map((v) => v.policy)).toContain("cost");
  });

  it("puts business-hours policies on the logical clock, not the wall clock", async () => {
    const env = createGovernedEnv(kernel, { startTime: "2026-01-05T02:00:00Z" });
    env.reset({ seed: 1 });
    const [, , , , night] = await env.step({ type: "transaction", amountUsd: 20, recipient: "acme" });
    const day = createGovernedEnv(kernel);
    day.reset({ seed: 1 });
    const [, , , , office] = await day.step({ type: "transaction", amountUsd: 20, recipient: "acme" });
    expect(night.violations.map((v) => v.policy)).toContain("business_hours");
    expect(office.violations.map((v) => v.policy)).not.toContain("business_hours");
  });
});
