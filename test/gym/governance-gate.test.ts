// GovernanceGate against the real kernel: decisions, the trust boundary, the trail and the penalty.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FlightRecorder } from "../../src/audit/flight-recorder.js";
import { isEnvError } from "../../src/env/errors.js";
import { createEnvTrail } from "../../src/gym/env-trail.js";
import { GovernanceGate } from "../../src/gym/governance-gate.js";
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import { AGENT_CONTEXT_RULE } from "../../src/kernel/proposal.js";
import type { PolicyKernel } from "../../src/kernel/types.js";
import { PolicyReward } from "../../src/reward/policy-reward.js";
import { conservativeRewardConfig } from "../../src/reward/config.js";

let kernel: PolicyKernel;
let trail: FlightRecorder;
beforeAll(async () => {
  trail = createEnvTrail({}, "gate-test");
  kernel = await createPolicyKernel({ recorder: trail });
});
afterAll(() => kernel.close());

/** A gate on the shared kernel and trail (each test reads only the entries it adds). */
function gate(options: Partial<ConstructorParameters<typeof GovernanceGate>[0]> = {}): GovernanceGate {
  return new GovernanceGate({ kernel, trail, ...options });
}

const SAFE = { type: "sql", sql: "SELECT name FROM users WHERE id = 42" };
const DROP = { type: "sql", sql: "DROP TABLE users" };

describe("GovernanceGate", () => {
  it("a denied action never runs, cannot be recorded, and terminates on a critical violation", async () => {
    const g = gate();
    const before = trail.size;
    const check = await g.check(DROP);
    expect([check.runs, check.decision.allowed, check.terminate]).toEqual([false, false, true]);
    expect(check.violations).toEqual(check.decision.violations);
    let thrown: unknown;
    try {
      g.record({});
    } catch (error) {
      thrown = error;
    }
    expect(isEnvError(thrown, "invalid_step")).toBe(true);
    expect(trail.entries().slice(before).map((e) => e.type)).toEqual(["policy_check"]);
  });

  it("an allowed action runs; record writes its tool_call after the decision, once", async () => {
    const g = gate();
    const before = trail.size;
    const check = await g.check(SAFE, { role: "analyst" });
    expect([check.runs, check.terminate, check.penalty]).toEqual([true, false, 0]);
    g.record({ result: { rows: 1 }, success: true });
    expect(() => g.record({})).toThrow(/already recorded/);
    const added = trail.entries().slice(before);
    expect(added.map((e) => e.type)).toEqual(["policy_check", "tool_call"]);
    expect(added[1]).toMatchObject({ type: "tool_call", agentId: "agent", result: { rows: 1 }, metadata: { episode: 1, step: 1, success: true } });
  });

  it("refuses an action carrying agentId or context (kernel/agent_context), as env.step does", async () => {
    const g = gate();
    const check = await g.check({ agentId: "me", action: SAFE, context: { role: "admin" } });
    expect(check.runs).toBe(false);
    expect(check.violations.some((v) => v.policy === "kernel" && v.rule === AGENT_CONTEXT_RULE && v.blocked)).toBe(true);
  });

  it("prices violations exactly as PolicyReward does with the same config", async () => {
    const g = gate({ rewardConfig: conservativeRewardConfig });
    const check = await g.check({ type: "message", to: "partner@example.com", text: "SSN 123-45-6789 of Ada Lovelace" });
    expect(check.violations.length).toBeGreaterThan(0);
    const expected = new PolicyReward(null, { config: conservativeRewardConfig }).shapeStep({ base: 0, success: false, violations: check.violations });
    expect(check.penalty).toBe(expected.penalty);
    expect(check.reward).toEqual({ base: 0, step: 0, violations: expected.penalty, bonus: expected.bonus, total: expected.reward });
    expect(check.penalty).toBeLessThan(0);
  });

  it("builds the context over its own clock and counters; the trainer's context wins; reset restarts them", async () => {
    const g = gate({ startTime: "2026-01-05T10:00:00Z", secondsPerStep: 30 });
    const before = trail.size;
    await g.check(SAFE);
    g.record({ costUsd: 2 });
    await g.check(SAFE, { role: "analyst" });
    await g.check(SAFE, { now: "2026-01-06T09:00:00Z" });
    g.reset();
    await g.check(SAFE);
    const inputs = trail
      .entries()
      .slice(before)
      .filter((e) => e.type === "policy_check")
      .map((e) => (e as { input?: { context?: Record<string, unknown> } }).input?.context);
    expect(inputs.map((c) => [c?.["now"], c?.["actionsInWindow"], c?.["spentUsd"]])).toEqual([
      ["2026-01-05T10:00:00.000Z", 0, 0],
      ["2026-01-05T10:00:30.000Z", 1, 2],
      ["2026-01-06T09:00:00Z", 2, 2],
      ["2026-01-05T10:00:00.000Z", 0, 0],
    ]);
    expect(inputs[1]?.["role"]).toBe("analyst");
  });

  it("refuses a malformed trainer context with an error naming the field, and a non-object action", async () => {
    const g = gate();
    await expect(g.check(SAFE, { costUsd: -1 })).rejects.toThrow(/context\.costUsd/);
    await expect(g.check("DROP TABLE users")).rejects.toSatisfy((e) => isEnvError(e, "invalid_step"));
  });

  it("a check that throws leaves nothing to record: an earlier allowed check is not recorded as this one", async () => {
    const g = gate();
    expect((await g.check(SAFE)).runs).toBe(true);
    await expect(g.check(SAFE, { costUsd: -1 })).rejects.toThrow(/context\.costUsd/);
    expect(() => g.record({})).toThrow(/invalid|nothing|no check/i);
  });

  it("after close: env_closed, and the trail verifies", async () => {
    const own = createEnvTrail({}, "gate-close");
    const k = await createPolicyKernel({ recorder: own });
    try {
      const g = new GovernanceGate({ kernel: k, trail: own });
      await g.check(SAFE);
      g.record({});
      const report = await g.close();
      expect(report).toMatchObject({ entries: 2, verified: true, path: null });
      await expect(g.check(SAFE)).rejects.toSatisfy((e) => isEnvError(e, "env_closed"));
    } finally {
      k.close();
    }
  });
});
