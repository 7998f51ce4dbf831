import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { Writable } from "node:stream";
import { pino } from "pino";
import {
  GovernedEnvironment,
  createGovernedEnv,
  type Executor,
} from "../../src/env/environment.js";
import type { KernelAuditEvent, ToolCallEvent } from "../../src/kernel/audit-sink.js";
import { EnvClosed, ResetNeeded, isEnvError, isResetNeeded } from "../../src/env/errors.js";
import { EnvironmentConfigSchema, SEVERITY_SCALE, parseEnvironmentConfig } from "../../src/env/config.js";
import { stepReward } from "../../src/env/step-reward.js";
import type { Rng } from "../../src/env/rng.js";
import { isPolicyKernelError } from "../../src/errors.js";
import type { PolicyKernel } from "../../src/kernel/types.js";
import { ActionSchema, type Action, type Decision, type Severity, type Violation } from "../../src/schemas.js";

// ---------------------------------------------------------------- a small fake kernel (unit tests only)

const PROVENANCE = { bundleRevision: null, bundleSha256: null, dataSha256: null, rulesSha256: null };

function violation(severity: Severity, rule: string, blocked: boolean, signal?: string): Violation {
  return {
    type: signal ? "signal_sent" : blocked ? "blocked" : "warned",
    policy: "fake",
    rule,
    severity,
    description: rule,
    blocked,
    penalty: { critical: 100, high: 50, medium: 10, low: 1 }[severity],
    source: "json",
    ...(signal ? { signal } : {}),
  };
}

/**
 * Rules keyed by content: DROP → critical block, DELETE → high block, tool "web" → medium warn,
 * message → low warn, tool "kill" → SIGKILL (high, not blocking), tool "hold" → SIGSTOP,
 * costUsd + spentUsd > 100 → high block. Malformed actions are denied critical (fail closed).
 */
function fakeKernel(): PolicyKernel & { calls: { action: Action; now: string | undefined }[] } {
  const calls: { action: Action; now: string | undefined }[] = [];
  return {
    calls,
    policyNames: ["fake"],
    provenance: PROVENANCE,
    close() {},
    evaluate(input, options): Promise<Decision> {
      return this.evaluateUntrusted(input, options);
    },
    async evaluateUntrusted(input, options): Promise<Decision> {
      const parsed = ActionSchema.safeParse(input);
      if (!parsed.success) {
        return { allowed: false, violations: [violation("critical", "invalid_action", true)], signals: [], provenance: PROVENANCE };
      }
      const action = parsed.data;
      calls.push({ action, now: options?.now === undefined ? undefined : String(options.now) });
      const body = action.action as Record<string, unknown>;
      const found: Violation[] = [];
      if (body.type === "sql" && /\bDROP\b/i.test(String(body.sql))) found.push(violation("critical", "no_drop", true));
      if (body.type === "sql" && /\bDELETE\b/i.test(String(body.sql))) found.push(violation("high", "no_delete", true));
      if (body.type === "tool_call" && body.tool === "web") found.push(violation("medium", "web_use", false));
      if (body.type === "message") found.push(violation("low", "message_logged", false));
      if (body.type === "tool_call" && body.tool === "kill") found.push(violation("high", "kill", false, "SIGKILL"));
      if (body.type === "tool_call" && body.tool === "hold") found.push(violation("medium", "hold", false, "SIGSTOP"));
      if ((action.context.costUsd ?? 0) + (action.context.spentUsd ?? 0) > 100) found.push(violation("high", "budget", true));
      const signals = found.flatMap((v) => (v.signal ? [v.signal] : []));
      return { allowed: !found.some((v) => v.blocked), violations: found, signals, provenance: PROVENANCE };
    },
  };
}

const SELECT = { type: "sql", sql: "SELECT 1" } as const;
const DROP = { type: "sql", sql: "DROP TABLE users" } as const;
const DELETE = { type: "sql", sql: "DELETE FROM users" } as const;

/** A counting task: the observation is a number; `{type: "tool_call", tool: "finish"}` completes it. */
function countingEnv(config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  const kernel = fakeKernel();
  const executed: Action[] = [];
  const executor: Executor<number, string> = (state, action) => {
    executed.push(action);
    const body = action.action as { tool?: unknown };
    return { result: "ok", observation: state + 1, done: body.tool === "finish" };
  };
  const env = new GovernedEnvironment<number, string>(kernel, {
    taskGenerator: (rng) => rng.int(1000),
    executor,
    config,
    ...extra,
  });
  return { env, kernel, executed };
}

async function expectRejects(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

// ---------------------------------------------------------------- shapes

describe("GovernedEnvironment: Gymnasium shapes", () => {
  it("reset returns [observation, info] with episode, seed and kernel policies", () => {
    const { env } = countingEnv();
    const result = env.reset({ seed: 42 });
    expect(result).toHaveLength(2);
    const [observation, info] = result;
    expect(typeof observation).toBe("number");
    expect(info).toEqual({ episode: 1, seed: 42, reseeded: true, kernelPolicies: ["fake"] });
  });

  it("step returns [observation, reward, terminated, truncated, info]", async () => {
    const { env } = countingEnv();
    const [start] = env.reset({ seed: 1 });
    const result = await env.step(SELECT);
    expect(result).toHaveLength(5);
    const [observation, reward, terminated, truncated, info] = result;
    expect(observation).toBe(start + 1);
    expect(Number.isFinite(reward)).toBe(true);
    expect([terminated, truncated]).toEqual([false, false]);
    expect(info).toMatchObject({ step: 1, episode: 1, violations: [], blocked: false, success: true, done: false });
    expect(info.decision.allowed).toBe(true);
    // base 1 + step -0.1 + bonus 10
    expect(reward).toBeCloseTo(10.9, 10);
    expect(info.totalReward).toBe(reward);
  });
});

// ---------------------------------------------------------------- seeding

describe("GovernedEnvironment: seeding", () => {
  const episode = async (env: GovernedEnvironment<number, string>, seed?: number) => {
    const [obs] = env.reset(seed === undefined ? {} : { seed });
    const trail: unknown[] = [obs];
    for (const action of [SELECT, SELECT]) trail.push((await env.step(action))[0]);
    return trail;
  };

  it("same seed, same episode; different seeds differ", async () => {
    const a = await episode(countingEnv().env, 7);
    const b = await episode(countingEnv().env, 7);
    expect(a).toEqual(b);
    const observations = new Set<number>();
    for (let seed = 0; seed < 20; seed += 1) observations.add(countingEnv().env.reset({ seed })[0]);
    expect(observations.size).toBeGreaterThan(15);
  });

  it("the seed is not ignored (the reference's reset ignored it)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e9 }), (seed) => {
        const one = countingEnv().env;
        const two = countingEnv().env;
        one.reset({ seed });
        two.reset({ seed });
        expect(one.rng.state()).toEqual(two.rng.state());
        two.reset({ seed: seed + 1 });
        one.reset({ seed: seed + 1 });
        expect(one.rng.state()).toEqual(two.rng.state());
        const three = countingEnv().env;
        three.reset({ seed: seed + 2 });
        expect(three.rng.state()).not.toEqual(one.rng.state());
      }),
      { numRuns: 50 },
    );
  });

  it("reset() without a seed continues the stream; the first unseeded reset is deterministic", () => {
    const { env } = countingEnv();
    const first = env.reset()[0];
    expect(countingEnv().env.reset()[0]).toBe(first);
    expect(env.reset()[1]).toMatchObject({ seed: 0, reseeded: false });

    const seeded = countingEnv().env;
    const [, info] = seeded.reset({ seed: 5 });
    expect(info.reseeded).toBe(true);
    const afterSeed = seeded.rng.clone();
    const [next, nextInfo] = seeded.reset();
    expect(nextInfo).toMatchObject({ seed: 5, reseeded: false });
    // The unseeded reset drew the next value of the same stream, not a fresh stream.
    expect(next).toBe(afterSeed.int(1000));
  });

  it("taskGenerator and executor see the env's rng, the episode number and reset options", async () => {
    const seen: { episode: number; options: unknown }[] = [];
    const rngs: Rng[] = [];
    const env = new GovernedEnvironment(fakeKernel(), {
      taskGenerator: (rng, info) => {
        rngs.push(rng);
        seen.push(info);
        return "task";
      },
      executor: (_state, _action, { rng, step, episode }) => {
        rngs.push(rng);
        return { result: { step, episode } };
      },
    });
    env.reset({ options: { level: 2 } });
    const [, , , , info] = await env.step(SELECT);
    expect(seen).toEqual([{ episode: 1, options: { level: 2 } }]);
    expect(rngs[0]).toBe(env.rng);
    expect(rngs[1]).toBe(env.rng);
    expect(info.step).toBe(1);
  });
});

// ---------------------------------------------------------------- governance

describe("GovernedEnvironment: the kernel decides before execution", () => {
  it("a blocked action never reaches the executor", async () => {
    const { env, executed, kernel } = countingEnv({ terminateOnCritical: false });
    const [start] = env.reset({ seed: 3 });
    const [obs, , terminated, , info] = await env.step(DELETE);
    expect(info.blocked).toBe(true);
    expect(info.success).toBe(false);
    expect(executed).toHaveLength(0);
    expect(obs).toBe(start);
    expect(terminated).toBe(false);
    await env.step(DROP);
    expect(executed).toHaveLength(0);
    await env.step(SELECT);
    expect(executed).toHaveLength(1);
    expect(kernel.calls).toHaveLength(3);
  });

  it("a SIGSTOP-held action does not run either, but the episode goes on", async () => {
    const { env, executed } = countingEnv();
    env.reset();
    const [, , terminated, , info] = await env.step({ type: "tool_call", tool: "hold" });
    expect(info.decision.allowed).toBe(true);
    expect(info.blocked).toBe(true);
    expect(executed).toHaveLength(0);
    expect(terminated).toBe(false);
  });

  it("wraps a body with the environment's agentId and the trainer's context; a full action from the agent is denied", async () => {
    const kernel = fakeKernel();
    const env = new GovernedEnvironment(kernel, {
      agentId: "sql-agent",
      contextFn: (_state, { step }) => ({ role: "analyst", costUsd: step, readOnly: undefined }),
    });
    env.reset();
    await env.step(SELECT);
    const [, , , , forged] = await env.step({ agentId: "other", action: SELECT, context: { now: "2026-01-10T02:00:00Z" } } as never);
    expect(kernel.calls[0]?.action).toEqual({
      agentId: "sql-agent",
      action: SELECT,
      context: { now: "2026-01-05T10:00:00.000Z", actionsInWindow: 0, spentUsd: 0, role: "analyst", costUsd: 1 },
    });
    expect(kernel.calls[0]?.now).toBe("2026-01-05T10:00:00.000Z");
    // The agent's agentId and context are not used: the trainer's are, and the step is denied.
    expect(kernel.calls[1]?.action).toEqual({
      agentId: "sql-agent",
      action: SELECT,
      context: { now: "2026-01-05T10:01:00.000Z", actionsInWindow: 1, spentUsd: 1, role: "analyst", costUsd: 2 },
    });
    expect(forged.blocked).toBe(true);
    expect(forged.violations.map((v) => `${v.policy}/${v.rule}`)).toContain("kernel/agent_context");
  });

  it("a malformed action is denied by the kernel (fail closed) and never executed", async () => {
    const { env, executed } = countingEnv();
    env.reset();
    const [, , terminated, , info] = await env.step({ type: "sql" } as never);
    expect(info.blocked).toBe(true);
    expect(terminated).toBe(true);
    expect(executed).toHaveLength(0);
    await expect(env.step(42 as never)).rejects.toBeInstanceOf(ResetNeeded);
    env.reset();
    const error = await expectRejects(env.step(42 as never));
    expect(isEnvError(error, "invalid_step")).toBe(true);
  });

  it("reports each executed action (never a blocked one) to the audit sink", async () => {
    const records: ToolCallEvent[] = [];
    const recorder = {
      record(event: KernelAuditEvent) {
        if (event.type === "tool_call") records.push(event);
      },
    };
    const { env } = countingEnv({ terminateOnCritical: false }, { recorder });
    env.reset();
    await env.step(SELECT);
    await env.step(DROP);
    await env.step({ type: "tool_call", tool: "web" });
    expect(records.map((r) => [r.metadata?.["step"], r.action.type, r.result, r.now])).toEqual([
      [1, "sql", "ok", "2026-01-05T10:00:00.000Z"],
      [3, "tool_call", "ok", "2026-01-05T10:02:00.000Z"],
    ]);
    expect(records[0]).toMatchObject({ type: "tool_call", agentId: "agent", metadata: { episode: 1, success: true } });
  });

  it("logs JSON lines with episode, step and agentId bindings", async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, callback) {
        for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
        callback();
      },
    });
    const logger = pino({ level: "debug" }, sink);
    const { env } = countingEnv({ maxSteps: 1 }, { logger });
    env.reset({ seed: 1 });
    await env.step(SELECT);
    const step = lines.find((line) => line.msg === "step");
    expect(step).toMatchObject({ component: "env", agentId: "agent", episode: 1, step: 1, executed: true });
    expect(lines.find((line) => line.msg === "episode finished")).toMatchObject({ level: 30, episode: 1, steps: 1 });
  });
});

// ---------------------------------------------------------------- reward

describe("GovernedEnvironment: reward", () => {
  const config = EnvironmentConfigSchema.parse({});

  it("scales violationPenalty by severity, and low costs less than medium (the reference made them equal)", () => {
    const cost = (severity: Severity) => stepReward(config, { base: 0, violations: [{ severity }], success: false }).violations;
    expect(cost("critical")).toBe(-100);
    expect(cost("high")).toBe(-50);
    expect(cost("medium")).toBe(-10);
    expect(cost("low")).toBe(-1);
    expect(cost("low")).toBeGreaterThan(cost("medium"));
    expect(SEVERITY_SCALE.low).toBeLessThan(SEVERITY_SCALE.medium);
  });

  it("applies the severity scale in step(): low > medium > high > critical rewards", async () => {
    const rewardFor = async (action: object) => {
      const { env } = countingEnv({ terminateOnCritical: false });
      env.reset();
      return (await env.step(action as never))[1];
    };
    const low = await rewardFor({ type: "message", to: "ops", text: "hi" });
    const medium = await rewardFor({ type: "tool_call", tool: "web" });
    const high = await rewardFor(DELETE);
    const critical = await rewardFor(DROP);
    // Executed with a violation: base 1, step -0.1, no bonus.
    expect(low).toBeCloseTo(1 - 0.1 - 1, 10);
    expect(medium).toBeCloseTo(1 - 0.1 - 10, 10);
    // Blocked: base 0.
    expect(high).toBeCloseTo(-0.1 - 50, 10);
    expect(critical).toBeCloseTo(-0.1 - 100, 10);
    expect(low).toBeGreaterThan(medium);
    expect(medium).toBeGreaterThan(high);
    expect(high).toBeGreaterThan(critical);
  });

  it("info.totalReward is the running episode total, bonuses included (the reference left them out)", async () => {
    const { env } = countingEnv();
    env.reset();
    let sum = 0;
    for (const action of [SELECT, { type: "message", to: "a", text: "b" }, SELECT]) {
      const [, reward, , , info] = await env.step(action as never);
      sum += reward;
      expect(info.totalReward).toBeCloseTo(sum, 10);
    }
    // Two clean successful steps earn the bonus twice: 2 x 10.9 + (1 - 0.1 - 1).
    expect(sum).toBeCloseTo(2 * 10.9 - 0.1, 10);
  });

  it("uses a custom rewardFn as the base and rejects a non-finite one", async () => {
    const rewardFn = vi.fn(() => 3);
    const { env } = countingEnv({ successBonus: 0, stepPenalty: 0 }, { rewardFn });
    env.reset();
    const [, reward] = await env.step(SELECT);
    expect(reward).toBe(3);
    expect(rewardFn).toHaveBeenCalledWith(expect.any(Number), expect.objectContaining({ agentId: "agent" }), expect.objectContaining({ executed: true, result: "ok" }));
    const bad = countingEnv({}, { rewardFn: () => Number.NaN }).env;
    bad.reset();
    const error = await expectRejects(bad.step(SELECT));
    expect(isEnvError(error, "invalid_step")).toBe(true);
    // The failed step changed nothing: the episode is still at step 0.
    expect(bad.stepCount).toBe(0);
  });

  it("step reward is never above base + successBonus and violations only lower it", () => {
    fc.assert(
      fc.property(
        fc.double({ min: -100, max: 100, noNaN: true }),
        fc.array(fc.constantFrom<Severity>("critical", "high", "medium", "low"), { maxLength: 5 }),
        fc.boolean(),
        (base, severities, success) => {
          const parts = stepReward(config, { base, violations: severities.map((severity) => ({ severity })), success });
          expect(parts.violations).toBeLessThanOrEqual(0);
          expect(parts.total).toBeLessThanOrEqual(base + config.successBonus);
          if (severities.length > 0) expect(parts.bonus).toBe(0);
        },
      ),
    );
  });
});

// ---------------------------------------------------------------- episode end

describe("GovernedEnvironment: termination and truncation", () => {
  it("a critical violation terminates (terminateOnCritical), or not when disabled", async () => {
    const { env } = countingEnv();
    env.reset();
    const [, , terminated, truncated] = await env.step(DROP);
    expect([terminated, truncated]).toEqual([true, false]);
    expect(env.terminated).toBe(true);
    expect(env.done).toBe(true);

    const lenient = countingEnv({ terminateOnCritical: false }).env;
    lenient.reset();
    expect((await lenient.step(DROP))[2]).toBe(false);
  });

  it("a SIGKILL signal terminates even without a critical violation, and the action does not run", async () => {
    const { env, executed } = countingEnv();
    env.reset();
    const [, , terminated, , info] = await env.step({ type: "tool_call", tool: "kill" });
    expect(info.violations.map((v) => v.severity)).toEqual(["high"]);
    expect(terminated).toBe(true);
    expect(executed).toHaveLength(0);
  });

  it("maxSteps truncates; terminated wins when both happen on the last step", async () => {
    const { env } = countingEnv({ maxSteps: 3 });
    env.reset();
    const flags: [boolean, boolean][] = [];
    for (let i = 0; i < 3; i += 1) {
      const [, , terminated, truncated] = await env.step(SELECT);
      flags.push([terminated, truncated]);
    }
    expect(flags).toEqual([
      [false, false],
      [false, false],
      [false, true],
    ]);
    expect(env.truncated).toBe(true);
    expect(env.terminated).toBe(false);

    env.reset();
    await env.step(SELECT);
    await env.step(SELECT);
    const [, , terminated, truncated] = await env.step(DROP);
    expect([terminated, truncated]).toEqual([true, false]);
  });

  it("executor done terminates", async () => {
    const { env } = countingEnv();
    env.reset();
    const [, , terminated, , info] = await env.step({ type: "tool_call", tool: "finish" });
    expect(terminated).toBe(true);
    expect(info.done).toBe(true);
  });

  it("step before reset, after termination, after truncation raises ResetNeeded; after close EnvClosed", async () => {
    const { env } = countingEnv({ maxSteps: 1 });
    const before = await expectRejects(env.step(SELECT));
    expect(before).toBeInstanceOf(ResetNeeded);
    expect(before).toMatchObject({ name: "ResetNeeded", code: "reset_needed" });
    expect(isResetNeeded(before)).toBe(true);

    env.reset();
    await env.step(SELECT);
    expect(String(await expectRejects(env.step(SELECT)))).toMatch(/truncated.*reset\(\)/);

    env.reset();
    await env.step(DROP);
    expect(String(await expectRejects(env.step(SELECT)))).toMatch(/terminated/);

    env.close();
    env.close();
    expect(await expectRejects(env.step(SELECT))).toBeInstanceOf(EnvClosed);
    expect(() => env.reset()).toThrow(EnvClosed);
  });

  it("refuses overlapping steps (each step must be awaited)", async () => {
    const { env } = countingEnv();
    env.reset();
    const first = env.step(SELECT);
    const error = await expectRejects(env.step(SELECT));
    expect(isEnvError(error, "step_in_progress")).toBe(true);
    await first;
  });
});

// ---------------------------------------------------------------- tracked context

describe("GovernedEnvironment: logical clock, actionsInWindow, spentUsd", () => {
  // The price is the trainer's (costFn), read here from the SQL text the test proposes.
  const costly = (costUsd: number) => ({ type: "sql", sql: `SELECT ${costUsd}` });
  const costFn = (action: { type: string; sql?: unknown }): number => Number(/\d+/.exec(String(action.sql))?.[0] ?? 0);

  it("tracks attempts and executed spend, and resets them with resetKernelState", async () => {
    const { env, kernel } = countingEnv({ terminateOnCritical: false, secondsPerStep: 30 }, { costFn });
    env.reset();
    await env.step(costly(40));
    await env.step({ type: "sql", sql: "DELETE FROM users WHERE id = 5" }); // blocked: no spend
    await env.step(costly(50));
    const [, , , , info] = await env.step(costly(20)); // 90 + 20 > 100: blocked by budget
    expect(info.violations.map((v) => v.rule)).toEqual(["budget"]);
    const contexts = kernel.calls.map((c) => c.action.context);
    expect(contexts.map((c) => [c.actionsInWindow, c.spentUsd, c.now])).toEqual([
      [0, 0, "2026-01-05T10:00:00.000Z"],
      [1, 40, "2026-01-05T10:00:30.000Z"],
      [2, 40, "2026-01-05T10:01:00.000Z"],
      [3, 90, "2026-01-05T10:01:30.000Z"],
    ]);

    env.reset();
    await env.step(SELECT);
    expect(kernel.calls.at(-1)?.action.context).toMatchObject({ actionsInWindow: 0, spentUsd: 0, now: "2026-01-05T10:00:00.000Z" });
  });

  it("carries them across episodes when resetKernelState is false", async () => {
    const { env, kernel } = countingEnv({ resetKernelState: false }, { costFn });
    env.reset();
    await env.step(costly(60));
    env.reset();
    const [, , , , info] = await env.step(costly(60));
    expect(kernel.calls.at(-1)?.action.context).toMatchObject({ actionsInWindow: 1, spentUsd: 60, now: "2026-01-05T10:01:00.000Z" });
    expect(info.blocked).toBe(true);
  });
});

// ---------------------------------------------------------------- metrics

describe("GovernedEnvironment: metrics", () => {
  it("success rate counts episodes, stays within [0, 1] with many successful steps per episode", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.constantFrom("select", "finish", "drop", "message"), { minLength: 1, maxLength: 8 }), {
          minLength: 1,
          maxLength: 12,
        }),
        async (episodes) => {
          const { env } = countingEnv({ maxSteps: 5 });
          let expectedSuccess = 0;
          let finished = 0;
          for (const plan of episodes) {
            env.reset();
            for (const kind of plan) {
              const action =
                kind === "select" ? SELECT : kind === "drop" ? DROP : kind === "finish" ? { type: "tool_call", tool: "finish" } : { type: "message", to: "a", text: "b" };
              const [, , terminated, truncated] = await env.step(action as never);
              if (terminated || truncated) {
                finished += 1;
                if (kind === "finish") expectedSuccess += 1;
                break;
              }
            }
          }
          const metrics = env.getMetrics();
          expect(metrics.successRate).toBeGreaterThanOrEqual(0);
          expect(metrics.successRate).toBeLessThanOrEqual(1);
          expect(metrics.successfulEpisodes).toBe(expectedSuccess);
          expect(metrics.finishedEpisodes).toBe(finished);
          expect(metrics.totalEpisodes).toBe(episodes.length);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("reports the aggregates over 3 episodes", async () => {
    const { env } = countingEnv({ maxSteps: 4 });
    // Episode 1: three clean successful steps then finish → successful.
    env.reset();
    for (const action of [SELECT, SELECT, SELECT, { type: "tool_call", tool: "finish" }]) await env.step(action as never);
    // Episode 2: critical → terminated, not successful.
    env.reset();
    await env.step(DROP);
    // Episode 3: truncated after 4 steps with one low violation.
    env.reset();
    for (const action of [SELECT, { type: "message", to: "a", text: "b" }, SELECT, SELECT]) await env.step(action as never);
    const metrics = env.getMetrics();
    expect(metrics).toMatchObject({
      totalEpisodes: 3,
      finishedEpisodes: 3,
      totalSteps: 9,
      totalViolations: 2,
      successfulEpisodes: 1,
      successRate: 1 / 3,
      violationsPerEpisode: 2 / 3,
      stepsPerEpisode: 3,
    });
    expect(metrics.meanEpisodeReward).toBeCloseTo((4 * 10.9 + -100.1 + (3 * 10.9 - 0.1)) / 3, 10);
  });

  it("is all zeros before any episode", () => {
    const { env } = countingEnv();
    expect(env.getMetrics()).toEqual({
      totalEpisodes: 0,
      finishedEpisodes: 0,
      totalSteps: 0,
      totalViolations: 0,
      successfulEpisodes: 0,
      successRate: 0,
      violationsPerEpisode: 0,
      stepsPerEpisode: 0,
      meanEpisodeReward: 0,
    });
  });
});

// ---------------------------------------------------------------- config and factory

describe("EnvironmentConfig", () => {
  it("has the documented defaults", () => {
    expect(parseEnvironmentConfig()).toEqual({
      maxSteps: 100,
      violationPenalty: -10,
      terminateOnCritical: true,
      stepPenalty: -0.1,
      successBonus: 10,
      resetKernelState: true,
      startTime: "2026-01-05T10:00:00Z",
      secondsPerStep: 60,
    });
  });

  it.each([
    [{ maxSteps: 0 }, "config.maxSteps"],
    [{ maxSteps: 2.5 }, "config.maxSteps"],
    [{ violationPenalty: 10 }, "config.violationPenalty"],
    [{ stepPenalty: 0.1 }, "config.stepPenalty"],
    [{ successBonus: -1 }, "config.successBonus"],
    [{ startTime: "yesterday" }, "config.startTime"],
    [{ secondsPerStep: -1 }, "config.secondsPerStep"],
    [{ terminateOnCritical: "yes" }, "config.terminateOnCritical"],
    [{ maxStep: 10 }, "config"],
  ])("rejects %j naming %s", (config, field) => {
    let caught: unknown;
    try {
      new GovernedEnvironment(fakeKernel(), { config: config as never });
    } catch (error) {
      caught = error;
    }
    expect(isPolicyKernelError(caught, "invalid_config")).toBe(true);
    expect((caught as { field?: string }).field).toBe(field);
    expect(String(caught)).toContain(field);
  });

  it("explains the sign convention for a positive penalty", () => {
    expect(() => parseEnvironmentConfig({ violationPenalty: 10 })).toThrow(/<= 0/);
  });

  it("rejects unknown constructor options and bad callbacks", () => {
    expect(() => new GovernedEnvironment(fakeKernel(), { maxSteps: 5 } as never)).toThrow(/unknown option 'maxSteps'/);
    expect(() => new GovernedEnvironment(fakeKernel(), { executor: 3 } as never)).toThrow(/executor must be a function/);
    expect(() => new GovernedEnvironment(fakeKernel(), { recorder: {} } as never)).toThrow(/record\(event\)/);
  });
});

describe("createGovernedEnv", () => {
  it("forwards every option and every config field", async () => {
    const records: KernelAuditEvent[] = [];
    const kernel = fakeKernel();
    const env = createGovernedEnv<string, number>(kernel, {
      taskGenerator: () => "task",
      rewardFn: () => 2,
      executor: () => ({ result: 5, success: true }),
      agentId: "flat",
      contextFn: () => ({ role: "ops" }),
      logger: pino({ level: "silent" }),
      recorder: { record: (event) => void records.push(event) },
      maxSteps: 7,
      violationPenalty: -3,
      terminateOnCritical: false,
      stepPenalty: -0.5,
      successBonus: 4,
      resetKernelState: false,
      startTime: "2026-02-02T08:00:00Z",
      secondsPerStep: 10,
    });
    expect(env.config).toEqual({
      maxSteps: 7,
      violationPenalty: -3,
      terminateOnCritical: false,
      stepPenalty: -0.5,
      successBonus: 4,
      resetKernelState: false,
      startTime: "2026-02-02T08:00:00Z",
      secondsPerStep: 10,
    });
    expect(env.agentId).toBe("flat");
    expect(env.reset()[0]).toBe("task");
    const [, reward] = await env.step(SELECT);
    expect(reward).toBe(2 - 0.5 + 4);
    expect(records).toHaveLength(1);
    expect(kernel.calls[0]?.action.context).toMatchObject({ role: "ops", now: "2026-02-02T08:00:00.000Z" });
  });

  it("rejects unknown options (the reference silently dropped them)", () => {
    const options = { maxSteps: 5, includePolicyChecks: true, trace_id_prefix: "x" };
    let caught: unknown;
    try {
      createGovernedEnv(fakeKernel(), options as never);
    } catch (error) {
      caught = error;
    }
    expect(isPolicyKernelError(caught, "invalid_config")).toBe(true);
    expect(String(caught)).toMatch(/createGovernedEnv options: unknown options 'includePolicyChecks', 'trace_id_prefix'/);
    expect(String(caught)).toMatch(/expected one of .*maxSteps/);
  });

  it("names the flat field of a bad config value", () => {
    expect(() => createGovernedEnv(fakeKernel(), { maxSteps: -1 })).toThrow(/^maxSteps: /);
  });
});

describe("a kernel or recorder that misbehaves", () => {
  it("fails closed when the kernel throws or answers something that is not a Decision", async () => {
    for (const evaluate of [
      async () => {
        throw new Error("wasm trap");
      },
      async () => ({}) as Decision,
      async () => ({ allowed: true, violations: [violation("critical", "x", true)], signals: [], provenance: PROVENANCE }),
    ]) {
      const executed: Action[] = [];
      const kernel: PolicyKernel = { ...fakeKernel(), evaluate, evaluateUntrusted: evaluate };
      const env = new GovernedEnvironment<number, string>(kernel, { taskGenerator: () => 0, executor: (s, a) => (executed.push(a), { result: "ok", observation: s }) });
      env.reset({ seed: 1 });
      const [, , , , info] = await env.step(SELECT);
      expect(info.blocked).toBe(true);
      expect(info.decision.allowed).toBe(false);
      expect(info.decision.violations.some((v) => v.blocked && v.severity === "critical")).toBe(true);
      expect(executed).toEqual([]);
    }
  });

  it("keeps stepping when the audit sink throws", async () => {
    const env = new GovernedEnvironment<number, string>(fakeKernel(), {
      taskGenerator: () => 0,
      executor: (s) => ({ result: "ok", observation: s + 1 }),
      recorder: {
        record() {
          throw new Error("disk full");
        },
      },
    });
    env.reset({ seed: 1 });
    const [observation, , , , info] = await env.step(SELECT);
    expect(info.blocked).toBe(false);
    expect(observation).toBe(1);
  });
});
