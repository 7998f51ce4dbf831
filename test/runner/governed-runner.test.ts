import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it, vi } from "vitest";
import { isPolicyKernelError, PolicyKernelError } from "../../src/errors.js";
import type { KernelAuditEvent } from "../../src/kernel/audit-sink.js";
import type { EvaluateOptions, PolicyKernel } from "../../src/kernel/types.js";
import { actionAgent, type AgentStepContext } from "../../src/runner/agent.js";
import { ActionBlockedError, PolicyViolationError } from "../../src/runner/errors.js";
import { GovernedRunner, type ActionExecutor } from "../../src/runner/governed-runner.js";
import { InMemoryTaskStore } from "../../src/runner/in-memory-store.js";
import { GovernedRolloutSchema } from "../../src/runner/rollout.js";
import type { Task, TaskStore } from "../../src/runner/task-store.js";
import { DEFAULT_SEVERITY_PENALTY, type ActionBody, type ActionInput, type Decision, type Severity, type Violation } from "../../src/schemas.js";

// ---------------------------------------------------------------- a small fake kernel (unit tests only)

const PROVENANCE = { bundleRevision: "test", bundleSha256: null, dataSha256: null, rulesSha256: null };

function violation(rule: string, severity: Severity, blocked: boolean, description = rule, signal?: string): Violation {
  const v: Violation = {
    type: signal ? "signal_sent" : blocked ? "blocked" : "warned",
    policy: "fake",
    rule,
    severity,
    description,
    blocked,
    penalty: DEFAULT_SEVERITY_PENALTY[severity],
    source: "json",
  };
  if (signal) v.signal = signal;
  return v;
}

/**
 * SQL containing DROP is blocked (critical); each `warn:<tag>` token is one low warning
 * described by its tag; a tool call named "approve" raises SIGSTOP (medium, allowed).
 */
function decide(action: ActionBody): Decision {
  const violations: Violation[] = [];
  const signals: string[] = [];
  if (action.type === "sql" && typeof action.sql === "string") {
    if (/\bDROP\b/i.test(action.sql)) violations.push(violation("no_drop", "critical", true, `drop in ${action.sql}`));
    for (const match of action.sql.matchAll(/warn:(\S+)/g)) violations.push(violation("warned", "low", false, match[1]));
  }
  if (action.type === "tool_call" && action.tool === "approve") {
    violations.push(violation("needs_approval", "medium", false, "approval", "SIGSTOP"));
    signals.push("SIGSTOP");
  }
  return { allowed: !violations.some((v) => v.blocked), violations, signals, provenance: PROVENANCE };
}

interface FakeKernel extends PolicyKernel {
  readonly calls: { action: unknown; options: EvaluateOptions | undefined }[];
}

function fakeKernel(opts: { delay?: (action: ActionBody) => number; override?: (action: ActionBody) => unknown } = {}): FakeKernel {
  const calls: FakeKernel["calls"] = [];
  return {
    calls,
    policyNames: ["fake"],
    provenance: PROVENANCE,
    close() {},
    evaluate(request: ActionInput, options?: EvaluateOptions): Promise<Decision> {
      return this.evaluateUntrusted(request, options);
    },
    async evaluateUntrusted(request: unknown, options?: EvaluateOptions): Promise<Decision> {
      calls.push({ action: request, options });
      const { action } = request as { action: ActionBody };
      const ms = opts.delay?.(action) ?? 0;
      if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
      if (opts.override) return opts.override(action) as Decision;
      return decide(action);
    },
  };
}

function countingExecutor(): ActionExecutor & { calls: ActionBody[] } {
  const calls: ActionBody[] = [];
  const fn: ActionExecutor = (action) => {
    calls.push(action);
    return { ran: action.type };
  };
  return Object.assign(fn, { calls });
}

/** An agent that proposes each SQL text in order and returns the outcomes' allowed flags. */
function sqlAgent(id = "sql-agent") {
  return {
    agentId: id,
    async run(statements: string[], ctx: AgentStepContext): Promise<boolean[]> {
      const out: boolean[] = [];
      for (const sql of statements) out.push((await ctx.act({ type: "sql", sql })).allowed);
      return out;
    },
  };
}

/** A pino logger writing into an array of parsed JSON lines. */
function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: "debug", base: undefined }, sink), lines };
}

// ---------------------------------------------------------------- tests

describe("GovernedRunner: construction", () => {
  it("refuses to exist without a kernel (never runs ungoverned)", () => {
    for (const bad of [undefined, null, {}, { evaluate: "yes" }, 42]) {
      const make = () => new GovernedRunner(bad as unknown as PolicyKernel);
      expect(make).toThrow(PolicyKernelError);
      expect(make).toThrow(/never runs an agent ungoverned/);
      try {
        make();
      } catch (err) {
        expect(isPolicyKernelError(err, "invalid_config")).toBe(true);
        expect((err as PolicyKernelError).field).toBe("kernel");
      }
    }
  });

  it("rejects unknown and mistyped options with the field named", () => {
    const kernel = fakeKernel();
    expect(() => new GovernedRunner(kernel, { failOnViolaton: true } as never)).toThrow(
      /options\.failOnViolaton: unknown option 'failOnViolaton' \(expected one of failOnViolation, logViolations/,
    );
    expect(() => new GovernedRunner(kernel, { logViolations: "yes" } as never)).toThrow(/options\.logViolations/);
    expect(() => new GovernedRunner(kernel, { executor: 3 } as never)).toThrow(/options\.executor: a function/);
    expect(() => new GovernedRunner(kernel, { logger: {} } as never)).toThrow(/options\.logger: a pino Logger/);
  });

  it("rejects an agent without run and a store without its methods", () => {
    const runner = new GovernedRunner(fakeKernel());
    expect(() => runner.init({} as never)).toThrow(/init needs an agent/);
    expect(() => runner.initWorker(0, { dequeueTask() {} } as never)).toThrow(/initWorker needs a task store/);
  });
});

describe("GovernedRunner: step", () => {
  it("runs the quick start without init: a string is one SQL action", async () => {
    const kernel = fakeKernel();
    const executor = countingExecutor();
    const runner = new GovernedRunner(kernel, { executor });
    const rollout = await runner.step("SELECT name FROM users WHERE id = 42");
    expect(rollout).toMatchObject({
      agentId: "action-agent",
      mode: "train",
      success: true,
      completed: true,
      violations: [],
      totalPenalty: 0,
      taskOutput: { ran: "sql" },
      blockedActions: 0,
      executedActions: 1,
    });
    expect(executor.calls).toEqual([{ type: "sql", sql: "SELECT name FROM users WHERE id = 42" }]);
    expect(kernel.calls[0]?.action).toEqual({
      agentId: "action-agent",
      action: { type: "sql", sql: "SELECT name FROM users WHERE id = 42" },
      // The runner's own counters; nothing else without a step context.
      context: { actionsInWindow: 0, spentUsd: 0 },
    });
    expect(() => GovernedRolloutSchema.parse(JSON.parse(JSON.stringify(rollout)))).not.toThrow();
  });

  it("the default action agent takes action bodies and refuses other inputs", async () => {
    const executor = countingExecutor();
    const runner = new GovernedRunner(fakeKernel(), { executor });
    const ok = await runner.step({ type: "tool_call", tool: "search", args: { q: "x" } });
    expect(ok.success).toBe(true);
    expect(executor.calls).toEqual([{ type: "tool_call", tool: "search", args: { q: "x" } }]);
    const bad = await runner.step(42 as never);
    expect(bad).toMatchObject({ completed: false, success: false, error: { name: "PolicyKernelError" } });
    expect(actionAgent.agentId).toBe("action-agent");
  });

  it("a blocked action never reaches the executor", async () => {
    const kernel = fakeKernel();
    const executor = countingExecutor();
    const runner = new GovernedRunner(kernel, { executor });
    const rollout = await runner.step("DROP TABLE users");
    expect(kernel.calls).toHaveLength(1);
    expect(executor.calls).toHaveLength(0);
    expect(rollout).toMatchObject({ completed: true, success: false, blockedActions: 1, executedActions: 0, totalPenalty: 100 });
    expect(rollout.violations.map((v) => v.rule)).toEqual(["no_drop"]);
    expect(rollout.taskOutput).toBeUndefined();
  });

  it("collects violations of several actions in proposal order and sums penalties", async () => {
    const executor = countingExecutor();
    const runner = new GovernedRunner(fakeKernel(), { executor }).init(sqlAgent());
    const rollout = await runner.step(["SELECT 1", "SELECT 2 warn:a warn:b", "DROP TABLE t", "SELECT 3 warn:c"]);
    expect(rollout.taskOutput).toEqual([true, true, false, true]);
    expect(rollout.violations.map((v) => v.description)).toEqual(["a", "b", "drop in DROP TABLE t", "c"]);
    expect(rollout.totalPenalty).toBe(1 + 1 + 100 + 1);
    expect(rollout.decisions).toHaveLength(4);
    expect(rollout.success).toBe(false);
    expect(executor.calls.map((a) => (a as { sql: string }).sql)).toEqual(["SELECT 1", "SELECT 2 warn:a warn:b", "SELECT 3 warn:c"]);
  });

  it("keeps proposal order when one step's actions are evaluated concurrently", async () => {
    // The first action is the slowest, so evaluations finish in reverse order.
    const kernel = fakeKernel({ delay: (a) => (a.type === "sql" && String(a.sql).includes("warn:1") ? 20 : 1) });
    const runner = new GovernedRunner(kernel).init(async (_input: null, ctx) => {
      await Promise.all(["warn:1", "warn:2", "warn:3"].map((sql) => ctx.act({ type: "sql", sql })));
    });
    const rollout = await runner.step(null);
    expect(rollout.violations.map((v) => v.description)).toEqual(["1", "2", "3"]);
  });

  it("1,000 concurrent steps never mix their violations", async () => {
    // Random delays interleave evaluations of different steps; each step's violations carry its own tag.
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const kernel = fakeKernel({ delay: () => Math.floor(random() * 4) });
    const executor = countingExecutor();
    const runner = new GovernedRunner(kernel, { executor }).init(sqlAgent());
    const inputs = Array.from({ length: 1000 }, (_, i) => {
      const statements = Array.from({ length: i % 4 }, (_, k) => `SELECT ${i} warn:s${i}-k${k}`);
      if (i % 5 === 0) statements.push(`DROP TABLE t${i}`);
      return statements;
    });
    const rollouts = await Promise.all(inputs.map((input, i) => runner.step(input, { workerId: i % 8, agentId: `agent-${i}` })));
    let expectedViolations = 0;
    rollouts.forEach((rollout, i) => {
      const warns = Array.from({ length: i % 4 }, (_, k) => `s${i}-k${k}`);
      const expected = i % 5 === 0 ? [...warns, `drop in DROP TABLE t${i}`] : warns;
      expect(rollout.agentId).toBe(`agent-${i}`);
      expect(rollout.taskInput).toBe(inputs[i]);
      expect(rollout.violations.map((v) => v.description)).toEqual(expected);
      expect(rollout.totalPenalty).toBe(warns.length + (i % 5 === 0 ? 100 : 0));
      expect(rollout.blockedActions).toBe(i % 5 === 0 ? 1 : 0);
      expect(rollout.success).toBe(i % 5 !== 0);
      expectedViolations += expected.length;
    });
    const stats = runner.getStats();
    expect(stats.totalRollouts).toBe(1000);
    expect(stats.totalViolations).toBe(expectedViolations);
    expect(stats.blockedActions).toBe(200);
    expect(executor.calls).toHaveLength(inputs.reduce((n, _, i) => n + (i % 4), 0));
  });

  it("an agent that throws yields a failed rollout that keeps earlier violations", async () => {
    const { logger, lines } = captureLogger();
    const runner = new GovernedRunner(fakeKernel(), { logger }).init(async (_input: null, ctx) => {
      await ctx.act({ type: "sql", sql: "SELECT 1 warn:x" });
      throw new Error("model crashed");
    });
    const rollout = await runner.step(null);
    expect(rollout).toMatchObject({ completed: false, success: false, error: { name: "Error", message: "model crashed" }, totalPenalty: 1 });
    expect(lines.some((l) => l.level === 50 && l.msg === "agent run failed")).toBe(true);
  });

  it("waits for actions the agent did not await, and refuses acts after the step finished", async () => {
    let saved: AgentStepContext | undefined;
    const kernel = fakeKernel({ delay: () => 10 });
    const runner = new GovernedRunner(kernel).init((_input: null, ctx) => {
      saved = ctx;
      void ctx.act({ type: "sql", sql: "SELECT 1 warn:late" });
      return "done";
    });
    const rollout = await runner.step(null);
    expect(rollout.violations.map((v) => v.description)).toEqual(["late"]);
    await expect(saved!.act({ type: "sql", sql: "DROP TABLE t" })).rejects.toThrow(/after its step finished/);
    expect(kernel.calls).toHaveLength(1);
  });

  it("fails closed when the kernel throws or returns a malformed decision", async () => {
    for (const override of [
      () => {
        throw new Error("wasm trap");
      },
      () => ({ allowed: "yes" }),
      () => undefined,
    ]) {
      const executor = countingExecutor();
      const runner = new GovernedRunner(fakeKernel({ override }), { executor });
      const rollout = await runner.step("SELECT 1");
      expect(executor.calls).toHaveLength(0);
      expect(rollout.blockedActions).toBe(1);
      expect(rollout.violations[0]).toMatchObject({ policy: "kernel", severity: "critical", blocked: true, source: "kernel", penalty: 100 });
    }
  });

  it("deny overrides: allowed=true with a blocking violation is a block; a bare deny gets a reason", async () => {
    const executor = countingExecutor();
    const inconsistent = () => ({ ...decide({ type: "sql", sql: "DROP x" }), allowed: true });
    let runner = new GovernedRunner(fakeKernel({ override: inconsistent }), { executor });
    expect((await runner.step("SELECT 1")).blockedActions).toBe(1);
    const bare = () => ({ allowed: false, violations: [], signals: [], provenance: PROVENANCE });
    runner = new GovernedRunner(fakeKernel({ override: bare }), { executor });
    const rollout = await runner.step("SELECT 1");
    expect(rollout.violations[0]?.rule).toBe("deny_without_reason");
    expect(executor.calls).toHaveLength(0);
  });

  it("passes logical time and the trainer's context with the step's counters to the kernel and the executor", async () => {
    const kernel = fakeKernel();
    const executor = vi.fn();
    const runner = new GovernedRunner(kernel, { executor }).init(async (_input: null, ctx) => {
      await ctx.act({ type: "sql", sql: "SELECT 1" });
    });
    await runner.step(null, { now: "2026-11-21T10:00:00Z", context: { role: "admin", readOnly: true }, mode: "eval", workerId: 3 });
    const context = { role: "admin", readOnly: true, actionsInWindow: 0, spentUsd: 0 };
    expect(kernel.calls[0]).toEqual({
      action: { agentId: "agent", action: { type: "sql", sql: "SELECT 1" }, context },
      options: { now: "2026-11-21T10:00:00Z" },
    });
    expect(executor).toHaveBeenCalledWith({ type: "sql", sql: "SELECT 1" }, expect.objectContaining({ agentId: "agent", mode: "eval", workerId: 3, context }));
  });

  it("does not run an action held by SIGSTOP or SIGKILL, even when the decision allows it (as GovernedEnvironment)", async () => {
    const executor = vi.fn();
    const runner = new GovernedRunner(fakeKernel(), { executor });
    const held = await runner.step({ type: "tool_call", tool: "approve" });
    expect(held.decisions[0]).toMatchObject({ allowed: true, signals: ["SIGSTOP"] });
    expect(executor).not.toHaveBeenCalled();
    expect(held).toMatchObject({ blockedActions: 1, executedActions: 0, signalsSent: ["SIGSTOP"] });

    const strict = new GovernedRunner(fakeKernel(), { executor, failOnViolation: true });
    const error = await strict.step({ type: "tool_call", tool: "approve" }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(PolicyViolationError);
    expect((error as PolicyViolationError).cause).toBeInstanceOf(ActionBlockedError);
    // The violation that raised the signal is the one named.
    expect((error as PolicyViolationError).violation).toMatchObject({ rule: "needs_approval", signal: "SIGSTOP", blocked: false });
    expect(executor).not.toHaveBeenCalled();
  });

  it("collects signals; the recorder gets each executed action, never a blocked one", async () => {
    const events: KernelAuditEvent[] = [];
    const runner = new GovernedRunner(fakeKernel(), { recorder: { record: (e) => events.push(e) }, executor: () => "done" });
    const rollout = await runner.step({ type: "tool_call", tool: "approve" }, { now: "2026-11-21T10:00:00Z" });
    expect(rollout.signalsSent).toEqual(["SIGSTOP"]);
    expect(events).toHaveLength(rollout.executedActions);
    events.length = 0;
    const blocked = await runner.step("DROP TABLE users");
    expect(blocked.blockedActions).toBe(1);
    expect(events).toEqual([]);
    await runner.step("SELECT 1", { now: "2026-11-21T10:00:00Z", mode: "eval" });
    expect(events).toEqual([
      expect.objectContaining({ type: "tool_call", action: { type: "sql", sql: "SELECT 1" }, result: "done", now: "2026-11-21T10:00:00Z", metadata: { mode: "eval" } }),
    ]);
  });

  it("rejects unknown step options", async () => {
    const runner = new GovernedRunner(fakeKernel());
    await expect(runner.step("SELECT 1", { mdoe: "eval" } as never)).rejects.toThrow(/stepOptions\.mdoe: unknown option/);
    await expect(runner.step("SELECT 1", { mode: "test" } as never)).rejects.toThrow(/stepOptions\.mode/);
  });
});

describe("GovernedRunner: failOnViolation", () => {
  it("rejects with PolicyViolationError carrying the first blocking violation and the full rollout", async () => {
    const executor = countingExecutor();
    const runner = new GovernedRunner(fakeKernel(), { executor, failOnViolation: true }).init(sqlAgent());
    const error = await runner.step(["SELECT 1 warn:a", "DROP TABLE users", "SELECT 2"]).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(PolicyViolationError);
    const pve = error as PolicyViolationError<string[], boolean[]>;
    expect(pve.name).toBe("PolicyViolationError");
    expect(pve.violation.rule).toBe("no_drop");
    expect(pve.violations.map((v) => v.rule)).toEqual(["warned", "no_drop"]);
    expect(pve.cause).toBeInstanceOf(ActionBlockedError);
    // The agent was halted at the block: the third action was never proposed.
    expect(pve.rollout).toMatchObject({ completed: false, success: false, blockedActions: 1, executedActions: 1, totalPenalty: 101 });
    expect(pve.rollout.taskInput).toEqual(["SELECT 1 warn:a", "DROP TABLE users", "SELECT 2"]);
    expect(executor.calls).toHaveLength(1);
    expect(runner.getStats()).toMatchObject({ totalRollouts: 1, totalViolations: 2, rolloutsWithViolations: 1, blockedActions: 1 });
  });

  it("an agent that swallows the block cannot act again in that step, and the step still rejects", async () => {
    const kernel = fakeKernel();
    const executor = countingExecutor();
    const runner = new GovernedRunner(kernel, { executor, failOnViolation: true }).init(async (_input: null, ctx) => {
      await ctx.act({ type: "sql", sql: "DROP TABLE a" }).catch(() => undefined);
      await ctx.act({ type: "sql", sql: "SELECT 1" }).catch(() => undefined);
      return "swallowed";
    });
    await expect(runner.step(null)).rejects.toBeInstanceOf(PolicyViolationError);
    expect(kernel.calls).toHaveLength(1);
    expect(executor.calls).toHaveLength(0);
  });

  it("does not reject for warnings", async () => {
    const runner = new GovernedRunner(fakeKernel(), { failOnViolation: true });
    const rollout = await runner.step("SELECT 1 warn:a");
    expect(rollout).toMatchObject({ success: true, totalPenalty: 1 });
  });
});

describe("GovernedRunner: onViolation and logging", () => {
  it("calls onViolation per violation with context; a throwing callback does not break the step", async () => {
    const { logger, lines } = captureLogger();
    const seen: string[] = [];
    const runner = new GovernedRunner(fakeKernel(), {
      logger,
      onViolation: (v, info) => {
        seen.push(`${v.description}@${info.agentId}/${info.mode}`);
        throw new Error("callback bug");
      },
    });
    const rollout = await runner.step("SELECT 1 warn:a warn:b", { mode: "eval", agentId: "a1" });
    expect(rollout.success).toBe(true);
    expect(seen).toEqual(["a@a1/eval", "b@a1/eval"]);
    const failures = lines.filter((l) => l.msg === "onViolation callback failed");
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatchObject({ level: 50, agentId: "a1", mode: "eval", err: { message: "callback bug" } });
  });

  it("logs a rejected async onViolation instead of leaving an unhandled rejection", async () => {
    const { logger, lines } = captureLogger();
    const runner = new GovernedRunner(fakeKernel(), { logger, onViolation: async () => Promise.reject(new Error("async bug")) });
    const rollout = await runner.step("SELECT 1 warn:a");
    await new Promise((resolve) => setImmediate(resolve));
    expect(rollout.success).toBe(true);
    expect(lines.some((l) => l.msg === "onViolation callback failed" && (l.err as { message: string }).message === "async bug")).toBe(true);
  });

  it("logs each violation at warn as pino JSON with agentId, workerId and mode bindings", async () => {
    const { logger, lines } = captureLogger();
    const runner = new GovernedRunner(fakeKernel(), { logger }).init(sqlAgent("writer"));
    await runner.step(["SELECT 1 warn:a", "DROP TABLE t"], { workerId: 2, mode: "train" });
    const warns = lines.filter((l) => l.msg === "policy violation");
    expect(warns).toHaveLength(2);
    for (const line of warns) {
      expect(line).toMatchObject({ level: 40, agentId: "writer", workerId: 2, mode: "train", component: "governed-runner", actionType: "sql" });
    }
    expect(warns.map((l) => (l.violation as Violation).rule)).toEqual(["warned", "no_drop"]);
  });

  it("logViolations: false writes no violation lines", async () => {
    const { logger, lines } = captureLogger();
    const runner = new GovernedRunner(fakeKernel(), { logger, logViolations: false });
    await runner.step("DROP TABLE t");
    expect(lines.filter((l) => l.msg === "policy violation")).toHaveLength(0);
  });
});

describe("GovernedRunner: stats", () => {
  it("violationRate is violations per rollout; rolloutViolationRate is the fraction of rollouts with one", async () => {
    const runner = new GovernedRunner(fakeKernel());
    expect(runner.getStats()).toEqual({
      totalRollouts: 0,
      successfulRollouts: 0,
      totalViolations: 0,
      violationRate: 0,
      rolloutsWithViolations: 0,
      rolloutViolationRate: 0,
      blockedActions: 0,
    });
    for (const sql of ["SELECT 1", "SELECT 1 warn:a", "SELECT 1 warn:a warn:b warn:c", "DROP TABLE t"]) await runner.step(sql);
    expect(runner.getStats()).toEqual({
      totalRollouts: 4,
      successfulRollouts: 3,
      totalViolations: 5,
      violationRate: 1.25,
      rolloutsWithViolations: 3,
      rolloutViolationRate: 0.75,
      blockedActions: 1,
    });
    expect(runner.getViolationRate()).toBe(1.25);
  });

  it("counts rejected (failOnViolation) and failed rollouts", async () => {
    const runner = new GovernedRunner(fakeKernel(), { failOnViolation: true });
    await runner.step("SELECT 1");
    await expect(runner.step("DROP TABLE t")).rejects.toBeInstanceOf(PolicyViolationError);
    await runner.step(17 as never);
    expect(runner.getStats()).toMatchObject({ totalRollouts: 3, successfulRollouts: 1, totalViolations: 1, rolloutViolationRate: 1 / 3 });
  });
});

describe("GovernedRunner: lifecycle and iter", () => {
  /** A store whose methods are async and slow (submit slower than dequeue), logging when each call starts and ends. */
  class SlowStore implements TaskStore<string> {
    readonly submitted: string[] = [];
    readonly events: string[] = [];
    constructor(private readonly tasks: string[]) {}
    async dequeueTask(): Promise<Task<string> | undefined> {
      this.events.push("dequeue");
      await new Promise((resolve) => setTimeout(resolve, 1));
      const input = this.tasks.shift();
      return input === undefined ? undefined : { taskId: `t-${input}`, input };
    }
    async submitRollout(rollout: { taskId: string | null }): Promise<void> {
      this.events.push("submit:start");
      await new Promise((resolve) => setTimeout(resolve, 8));
      this.submitted.push(String(rollout.taskId));
      this.events.push("submit:end");
    }
  }

  it("iter awaits async store methods and submits every rollout", async () => {
    const inputs = Array.from({ length: 20 }, (_, i) => (i % 4 === 0 ? `DROP TABLE t${i}` : `SELECT ${i}`));
    const store = new SlowStore([...inputs]);
    const runner = new GovernedRunner(fakeKernel());
    runner.initWorker(0, store);
    const summary = await runner.iter();
    expect(summary).toEqual({ rollouts: 20, violations: 5, stoppedBy: "empty" });
    // Every submission finished before iter resolved, and none overlapped the next dequeue.
    expect(store.submitted).toEqual(inputs.map((i) => `t-${i}`));
    expect(store.events).toEqual([...inputs.flatMap(() => ["dequeue", "submit:start", "submit:end"]), "dequeue"]);
    expect(runner.getStats().totalRollouts).toBe(20);
  });

  it("iter propagates a failing async submitRollout instead of leaving it unhandled", async () => {
    const runner = new GovernedRunner(fakeKernel());
    runner.initWorker(0, {
      dequeueTask: async () => ({ input: "SELECT 1" }),
      submitRollout: async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        throw new Error("store offline");
      },
    });
    await expect(runner.iter()).rejects.toThrow("store offline");
  });

  it("abort stops iter after the step in flight is submitted", async () => {
    const controller = new AbortController();
    let submitted = 0;
    const endless: TaskStore<string> = {
      dequeueTask: async () => ({ input: "SELECT 1" }),
      submitRollout: async () => {
        submitted += 1;
        if (submitted === 3) controller.abort();
      },
    };
    const runner = new GovernedRunner(fakeKernel());
    runner.initWorker("w", endless);
    const summary = await runner.iter({ signal: controller.signal });
    expect(summary).toEqual({ rollouts: 3, violations: 0, stoppedBy: "abort" });
    expect(submitted).toBe(3);
  });

  it("an abort from a timer stops iter even when the store and the kernel never wait on anything", async () => {
    const controller = new AbortController();
    // A synchronous store and an immediate kernel: every await in iter is an already-resolved
    // promise, so without event-loop turns the timer below would never fire. The store runs dry
    // after many tasks, so that failure ends as "empty" instead of hanging the suite.
    let submitted = 0;
    const endless: TaskStore<string> = {
      dequeueTask: () => (submitted < 200_000 ? { input: "SELECT 1" } : undefined),
      submitRollout: () => {
        submitted += 1;
      },
    };
    const runner = new GovernedRunner(fakeKernel());
    runner.initWorker("w", endless);
    setTimeout(() => controller.abort(), 30);
    const summary = await runner.iter({ signal: controller.signal });
    expect(summary.stoppedBy).toBe("abort");
    expect(summary.rollouts).toBeGreaterThan(0);
    expect(submitted).toBe(summary.rollouts);
  });

  it("iter with InMemoryTaskStore uses task modes and ids; failOnViolation submits the rollout then rejects", async () => {
    const store = new InMemoryTaskStore<string>(["SELECT 1"]);
    store.enqueueTask("SELECT 2", { mode: "eval", taskId: "custom" });
    store.enqueueTask("DROP TABLE t");
    store.enqueueTask("SELECT 3");
    const runner = new GovernedRunner(fakeKernel(), { failOnViolation: true });
    runner.initWorker(1, store);
    await expect(runner.iter()).rejects.toBeInstanceOf(PolicyViolationError);
    expect(store.rollouts.map((r) => [r.taskId, r.mode, r.workerId, r.success])).toEqual([
      ["task-1", "train", 1, true],
      ["custom", "eval", 1, true],
      ["task-2", "train", 1, false],
    ]);
    expect(store.pendingTasks).toBe(1);
  });

  it("iter needs a worker, picks the only one, and needs a workerId among several", async () => {
    const runner = new GovernedRunner(fakeKernel());
    await expect(runner.iter()).rejects.toThrow(/no worker; call initWorker/);
    runner.initWorker(0, new InMemoryTaskStore<string>());
    expect(await runner.iter()).toEqual({ rollouts: 0, violations: 0, stoppedBy: "empty" });
    runner.initWorker(1, new InMemoryTaskStore<string>(["SELECT 1"]));
    await expect(runner.iter()).rejects.toThrow(/several workers/);
    expect((await runner.iter({ workerId: 1 })).rollouts).toBe(1);
    runner.teardownWorker(1);
    runner.teardownWorker(1);
    await expect(runner.iter({ workerId: 1 })).rejects.toThrow(/no worker '1'/);
  });

  it("a malformed task from the store is a clear error", async () => {
    const runner = new GovernedRunner(fakeKernel());
    runner.initWorker(0, { dequeueTask: () => ({ input: "x", mode: "test" }) as never, submitRollout: () => {} });
    await expect(runner.iter()).rejects.toThrow(/task\.mode/);
  });

  it("teardown is idempotent and later steps are refused", async () => {
    const kernel = fakeKernel();
    const close = vi.spyOn(kernel, "close");
    const runner = new GovernedRunner(kernel);
    runner.teardown();
    runner.teardown();
    await expect(runner.step("SELECT 1")).rejects.toThrow(/torn down/);
    expect(kernel.calls).toHaveLength(0);
    expect(close).not.toHaveBeenCalled();
  });
});
