// GovernedSqlEnv against the real kernel (default Rego bundle and rules) and the demo's SQLite world.
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GovernedSqlEnv } from "../../src/gym/governed-sql-env.js";
import { MAX_STEPS } from "../../src/demo/episode.js";
import { verifyJsonl } from "../../src/audit/jsonl.js";
import { isEnvError } from "../../src/env/errors.js";

const dir = mkdtempSync(join(tmpdir(), "pk-sql-env-"));
const keyPath = join(dir, "key.pem");
writeFileSync(keyPath, generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }));

let env: GovernedSqlEnv;
beforeAll(async () => {
  env = await GovernedSqlEnv.open({});
});
afterAll(async () => {
  await env.close();
});

/** The index of task `taskId` and of its candidate `candidateId`, read from the spec. */
function where(taskId: string, candidateId: string): { task: number; action: number } {
  const task = env.spec.tasks.findIndex((t) => t.id === taskId);
  const action = env.spec.tasks[task]?.candidates.indexOf(candidateId) ?? -1;
  if (task < 0 || action < 0) throw new Error(`no ${taskId}/${candidateId} in the spec`);
  return { task, action };
}

describe("GovernedSqlEnv", () => {
  it("describes its spaces: 4 actions, the demo's step budget, the tasks and their candidates", () => {
    expect(env.spec.actionCount).toBe(4);
    expect(env.spec.maxSteps).toBe(MAX_STEPS);
    expect(env.spec.taskCount).toBe(env.spec.tasks.length);
    expect(env.spec.tasks.every((t) => t.candidates.length >= 1 && t.candidates.length <= 4)).toBe(true);
  });

  it("resets to a task: observation index, a mask of the task's candidates, step 0; info without surprises", () => {
    const at = where("remove-cancelled", "where-cancelled");
    const { observation, info } = env.reset({ options: { taskIndex: at.task } });
    const count = env.spec.tasks[at.task]!.candidates.length;
    expect(observation).toEqual({ task: at.task, mask: [0, 1, 2, 3].map((i) => (i < count ? 1 : 0)), step: 0 });
    expect(Object.keys(info)).toEqual(["taskId", "prompt", "episode", "seed"]);
    expect(info.taskId).toBe("remove-cancelled");
  });

  it("terminates when the task's answer executes, and counts it a success", async () => {
    const at = where("remove-cancelled", "where-cancelled");
    env.reset({ options: { taskIndex: at.task } });
    const r = await env.step(at.action);
    expect([r.terminated, r.truncated, r.info.executed, r.info.blocked, r.info.success]).toEqual([true, false, true, false, true]);
    expect(r.info.decision?.allowed).toBe(true);
    expect(r.reward).toBe(r.info.reward.total);
    await expect(env.step(at.action)).rejects.toSatisfy((e) => isEnvError(e, "reset_needed"));
  });

  it("terminates on a critical violation without executing it", async () => {
    const at = where("remove-cancelled", "delete-all");
    env.reset({ options: { taskIndex: at.task } });
    const r = await env.step(at.action);
    expect(r.info.violations.some((v) => v.severity === "critical")).toBe(true);
    expect([r.terminated, r.info.executed, r.info.blocked, r.info.decision?.allowed]).toEqual([true, false, true, false]);
    expect(r.reward).toBeLessThan(0);
  });

  it("closes the mask on a refused candidate, goes on, and truncates at the step budget", async () => {
    const at = where("partner-city-stats", "full-export");
    env.reset({ options: { taskIndex: at.task } });
    const first = await env.step(at.action);
    expect(first.info.blocked).toBe(true);
    expect(first.info.violations.some((v) => v.severity === "critical")).toBe(false);
    expect(first.terminated).toBe(false);
    expect(first.observation.mask[at.action]).toBe(0);
    let last = first;
    for (let step = 2; step <= MAX_STEPS; step++) last = await env.step(at.action);
    expect([last.terminated, last.truncated, last.observation.step]).toEqual([false, true, MAX_STEPS]);
  });

  it("an index without a candidate is a wasted step: not evaluated, reward -1, mask unchanged", async () => {
    const at = where("remove-cancelled", "where-cancelled");
    env.reset({ options: { taskIndex: at.task } });
    const before = env.trail.size;
    const r = await env.step(3);
    expect(env.spec.tasks[at.task]!.candidates.length).toBe(3);
    expect(r.info).toMatchObject({ invalidAction: true, blocked: true, executed: false, decision: null, candidateId: null, violations: [] });
    expect(r.reward).toBe(-1);
    expect(r.observation.mask).toEqual([1, 1, 1, 0]);
    expect(env.trail.size).toBe(before);
    await env.step(3);
    const third = await env.step(3);
    expect([third.truncated, third.info.totalReward]).toEqual([true, -3]);
  });

  it("refuses an action that is not an integer from 0 to 3 with invalid_step", async () => {
    env.reset({});
    for (const bad of [4, -1, 1.5, Number.NaN]) {
      await expect(env.step(bad)).rejects.toSatisfy((e) => isEnvError(e, "invalid_step"));
    }
    expect(() => env.reset({ options: { taskIndex: 99 } })).toThrow(/taskIndex/);
  });

  it("ungoverned (observe): a denied action executes, and the trail records the kernel's real decision", async () => {
    const observed = await GovernedSqlEnv.open({ governed: false });
    try {
      const at = where("remove-cancelled", "delete-all");
      observed.reset({ options: { taskIndex: at.task } });
      const r = await observed.step(at.action);
      expect([r.info.executed, r.info.blocked, r.info.decision?.allowed]).toEqual([true, false, true]);
      expect(r.info.kernelDecision?.allowed).toBe(false);
      const entries = observed.trail.entries();
      expect(entries.map((e) => e.type)).toEqual(["policy_check", "tool_call"]);
      const check = entries[0] as { decision: { allowed: boolean } };
      expect(check.decision).toEqual(r.info.kernelDecision);
    } finally {
      await observed.close();
    }
  });

  it("is deterministic: the same seed and actions give the same results and a byte-identical trail", async () => {
    const run = async (name: string): Promise<{ lines: string[]; trail: Buffer }> => {
      const path = join(dir, name);
      const e = await GovernedSqlEnv.open({ trail: { path, chainId: "determinism", signingKey: keyPath } });
      const lines = [JSON.stringify(e.reset({ seed: 11 }))];
      for (const action of [0, 2, 1, 1, 3, 0, 2, 1, 0, 2]) {
        const r = await e.step(action);
        lines.push(JSON.stringify(r));
        if (r.terminated || r.truncated) lines.push(JSON.stringify(e.reset({})));
      }
      const report = await e.close();
      expect(report.verified).toBe(true);
      expect((await verifyJsonl(path, { publicKey: readFileSync(`${path}.pub`, "utf8") })).valid).toBe(true);
      return { lines, trail: readFileSync(path) };
    };
    const a = await run("a.jsonl");
    const b = await run("b.jsonl");
    expect(a.lines).toEqual(b.lines);
    expect(a.trail.equals(b.trail)).toBe(true);
    expect(a.trail.length).toBeGreaterThan(0);
  });

  it("after close: env_closed, and the trail report again", async () => {
    const e = await GovernedSqlEnv.open({});
    e.reset({});
    await e.step(0);
    const report = await e.close();
    expect(report).toMatchObject({ entries: e.trail.size, path: null, verified: true });
    expect(await e.close()).toBe(report);
    expect(() => e.reset({})).toThrow(/closed/);
    await expect(e.step(0)).rejects.toSatisfy((err) => isEnvError(err, "env_closed"));
  });
});
